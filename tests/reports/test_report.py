"""The manager's report: self-contained HTML that a real browser renders with every image loaded."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from collectsim import run_experiment
from collectsim.errors import InputError
from collectsim.experiments import experiment_from_dict
from collectsim.experiments.compare import compare
from collectsim.reports import build_report, folder_kind, format_diff, format_value, headline_sentences
from collectsim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compare_folder(tmp_path_factory) -> Path:
    scen = Scenario.model_validate({"portfolio": {"accounts": 1500, "horizon_days": 30}})
    c = compare(
        scen,
        "seed-champion",
        ["sms-only", str(ROOT / "experiments" / "policies" / "challenger.toml")],
        reps=3,
        variants=[
            {"name": "strict-rules", "description": "Massachusetts", "overrides": {"rules": {"preset": "us-ma"}}}
        ],
    )
    folder = tmp_path_factory.mktemp("report") / "cmp"
    folder.mkdir()
    c.save(folder)
    build_report(folder)
    return folder


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_chromium(binary: str, *args: str) -> subprocess.CompletedProcess:
    profile = tempfile.mkdtemp(prefix="collectsim-chromium-")
    try:
        return subprocess.run(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _image_states(binary: str, html: Path) -> tuple[int, int, int]:
    """(images, loaded, failed) as the page's own script marked them in the rendered DOM."""
    r = _run_chromium(binary, "--virtual-time-budget=10000", "--dump-dom", html.resolve().as_uri())
    dom = r.stdout
    assert "<body" in dom, r.stderr[-2000:]
    imgs = re.findall(r"<img\b[^>]*>", dom)
    return len(imgs), sum('data-loaded="1"' in i for i in imgs), sum("data-failed" in i for i in imgs)


def test_report_opens_in_headless_chromium_with_every_image_loaded(request, tmp_path):
    binary = _chromium()
    if binary is None:
        msg = "chromium not installed (bash scripts/ensure_chromium.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + "; CI must run the browser check")
        pytest.skip(msg)
    compare_folder = request.getfixturevalue("compare_folder")
    html = compare_folder / "report.html"
    n, loaded, failed = _image_states(binary, html)
    assert n >= 5 and loaded == n and failed == 0, (n, loaded, failed)

    shot = tmp_path / "report.png"
    r = _run_chromium(binary, f"--screenshot={shot}", "--window-size=1280,2000", html.resolve().as_uri())
    assert shot.is_file() and shot.stat().st_size > 50_000, r.stderr[-2000:]

    # the check is not vacuous: a corrupted image is reported as failed
    broken = tmp_path / "broken.html"
    text = html.read_text()
    start = text.index("data:image/png;base64,") + len("data:image/png;base64,")
    broken.write_text(text[:start] + base64.b64encode(b"not a png").decode() + text[text.index('"', start) :])
    n2, loaded2, failed2 = _image_states(binary, broken)
    assert n2 == n and failed2 == 1 and loaded2 == n - 1


def test_html_is_self_contained(compare_folder):
    text = (compare_folder / "report.html").read_text()
    srcs = re.findall(r'src="([^"]*)"', text)
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "http://" not in text and "https://" not in text
    for section in (
        "KPIs (base scenario",
        "Recovery curves",
        "DPD-bucket flow",
        "Complaints and churn",
        "By risk tier",
        "What-if stress",
        "Provenance",
    ):
        assert section in text, section
    assert "configuration hash" in text and "git commit" in text


def test_markdown_references_the_png_files(compare_folder):
    md = (compare_folder / "report.md").read_text()
    pngs = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert {"recovery_curves.png", "bucket_flow.png", "complaints_churn.png", "tiers.png", "stress.png"} <= set(pngs)
    assert all((compare_folder / p).is_file() for p in pngs)
    assert md.startswith("# Champion versus challengers")
    assert "| KPI | policy | mean [95% CI] |" in md


def test_headline_sentence_names_effect_interval_and_side_effects(compare_folder):
    table = pd.read_csv(compare_folder / "comparison.csv")
    summary = json.loads((compare_folder / "summary.json").read_text())
    lines = headline_sentences(table, summary)
    assert len(lines) == 2
    for line in lines:
        assert re.match(
            r"Challenger (sms-only|digital-first) is worth [\d,.]+ (more|less) per 1,000 accounts \(net value: .*\) "
            r"\(95% CI ",
            line,
        ), line
        assert "than seed-champion" in line and "complaints per 1,000 accounts" in line and "churn rate" in line
        assert "paired replications" in line and "Holm-adjusted p" in line


def test_number_formats():
    assert format_value("recovery_rate", 0.1234) == "12.3 %"
    assert format_diff("churn_rate", -0.0153) == "\u22121.53 pts"
    assert format_value("net_recovery", 178972.4) == "178,972"
    assert format_diff("net_recovery", 1168.2) == "+1,168"
    assert format_value("complaints", 10.0) == "10"
    assert format_value("net_recovery", float("nan")) == "–"


def test_report_of_a_run_folder(tmp_path):
    exp = experiment_from_dict({"portfolio": {"accounts": 800, "horizon_days": 10}}, name="tiny")
    out, _ = run_experiment(exp, out=tmp_path / "run")
    (out / "contacts.png").unlink()  # a missing plot is redrawn from daily.parquet
    assert folder_kind(out) == "run"
    files = build_report(out)
    text = (out / "report.html").read_text()
    assert "Run: tiny" in text and "By risk tier" in text and text.count("data:image/png;base64,") == 3
    assert all(f.is_file() for f in files)


def test_report_of_an_optimize_folder_uses_whatever_is_there(tmp_path):
    folder = tmp_path / "opt"
    folder.mkdir()
    (folder / "best_policy.toml").write_text((ROOT / "experiments" / "policies" / "challenger.toml").read_text())
    pd.DataFrame({"number": range(6), "value": [1.0, 3.0, 2.0, 5.0, 4.0, 6.0], "state": "COMPLETE"}).to_csv(
        folder / "trials.csv", index=False
    )
    (folder / "validation.json").write_text("{not json")
    assert folder_kind(folder) == "optimize"
    build_report(folder)
    text = (folder / "report.html").read_text()
    assert "Best policy" in text and "digital-first" in text
    assert "Optimization history" in text or "optimize_trials.png" in text
    assert "validation.json could not be read" in text
    assert (folder / "optimize_trials.png").is_file()


def test_not_a_result_folder(tmp_path):
    with pytest.raises(InputError, match="not a collectsim result folder"):
        build_report(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        build_report(tmp_path / "missing")


def test_an_a_a_comparison_says_the_results_are_identical_not_better_in_half():
    scen = Scenario.model_validate({"portfolio": {"accounts": 800, "horizon_days": 20}})
    c = compare(scen, "sms-only", ["sms-only"], reps=3)
    (line,) = headline_sentences(c.table, c.summary())
    assert "identical in all 3 paired replications" in line, line
    assert "better in" not in line
    row = c.table[(c.table["kpi"] == "net_value") & (c.table["role"] == "challenger") & (c.table["scope"] == "all")]
    assert int(row["n_tied"].iloc[0]) == 3 and int(row["n_better"].iloc[0]) == 0


def test_every_compare_figure_has_labelled_axes_without_an_offset(compare_folder):
    import matplotlib.pyplot as plt

    from collectsim.reports.plots.compare import plot_complaints_churn, plot_recovery_curves, plot_stress

    summary = json.loads((compare_folder / "summary.json").read_text())
    policies = [summary["champion"], *summary["challengers"]]
    daily = pd.read_parquet(compare_folder / "daily.parquet")
    stress = pd.read_csv(compare_folder / "stress.csv")
    table = pd.read_csv(compare_folder / "comparison.csv")
    figs = [plot_recovery_curves(daily, policies), plot_complaints_churn(daily, table, policies),
            plot_stress(stress, policies, summary["headline"], int(summary.get("per_accounts", 1000)))]
    for fig in figs:
        fig.canvas.draw()
        for ax in fig.axes:
            if not ax.get_visible() or not ax.has_data():
                continue
            assert ax.get_ylabel(), ax.get_title()
            assert ax.yaxis.get_offset_text().get_text() == "", ax.get_title()
            assert not any("e+" in t.get_text() for t in ax.get_yticklabels())
        plt.close(fig)
    stress_ax = figs[2].axes[0]
    assert "per 1,000 accounts" in stress_ax.get_ylabel() or "whole book" in stress_ax.get_ylabel()
