"""The fit report of a calibration folder: every number it shows is its source file's value.

The folder is written here: a ``fit.json`` by hand (two parameters, one identified, one
keeping its prior), the comparison and backtest of a small simulated history
(:func:`write_fit_checks`), an experiment and an observed policy. ``collectsim report``
builds the page; each table cell of ``report.md`` is parsed back and compared with the
value in ``fit.json`` or the CSV it came from, to the precision shown.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collectsim
from collectsim.cli import main
from collectsim.experiments.calibrate.backtest import backtest
from collectsim.experiments.calibrate.statistics import (
    compare_statistics,
    history_statistics,
    read_fit_checks,
    simulated_statistics,
    write_fit_checks,
)
from collectsim.experiments.synth import simulate_history
from collectsim.reports import folder_kind
from collectsim.reports.pages.calibration import RECOVERY_ROWS, SHARE_MEASURES, STATISTIC_TITLES

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "quickstart.toml"

FIT = {
    "parameters": {
        "channels.call.connect": {"estimate": 0.2812, "se": 0.0123, "ci95": [0.2571, 0.3053],
                                  "method": "maximum likelihood (binomial)", "identified": True, "prior": None},
        "segments.0.delta2": {"estimate": 0.15, "se": None, "ci95": None, "method": "prior",
                              "identified": False, "prior": {"distribution": "uniform", "low": 0.05, "high": 0.4}},
    },
    "provenance": {"experiment": "history-test", "seed": 3, "collectsim_version": "test"},
}


def _roll(rates):
    return pd.DataFrame({"bucket": ["M1", "M2", "M3"], "accounts": [300, 120, 40], "roll_rate": rates})


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    exp = collectsim.load_experiment(EXPERIMENT, accounts=400, days=30)
    h = simulate_history(exp, policy=exp.run.policy, seed=1)
    observed = history_statistics(h, roll_rates=_roll([0.31, 0.52, 0.7]))
    sims = simulated_statistics(exp, exp.run.policy, [2, 3, 4, 5, 6])
    rng = np.random.default_rng(0)
    for s in sims:
        s["roll_rates"] = _roll(list(np.array([0.3, 0.5, 0.8]) + rng.normal(0, 0.01, 3)))
    comparison = compare_statistics(observed, sims)
    bt = backtest(h, lambda part: (exp, exp.run.policy), 20, reps=4, seed=100)
    f = tmp_path_factory.mktemp("cal") / "fit"
    f.mkdir()
    write_fit_checks(f, comparison, bt)
    (f / "fit.json").write_text(json.dumps(FIT))
    shutil.copy(EXPERIMENT, f / "experiment.toml")
    shutil.copy(ROOT / "experiments" / "policies" / "challenger.toml", f / "observed_policy.toml")
    return f


def _sections(md: str) -> dict[str, list[list[list[str]]]]:
    """Each ``## heading``'s tables, as rows of cells (header first), text unescaped."""
    out: dict[str, list] = {}
    head = ""
    table: list | None = None
    for line in md.splitlines():
        if line.startswith("## "):
            head = _text(line[3:])
            out.setdefault(head, [])
            table = None
        elif line.startswith("|"):
            if line.startswith("|---"):
                continue
            cells = [_text(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if table is None:
                table = [cells]
                out.setdefault(head, []).append(table)
            else:
                table.append(cells)
        else:
            table = None
    return out


def _text(s: str) -> str:
    return html.unescape(re.sub(r"\\(.)", r"\1", s.strip()))


def _close(shown: str, value, scale: float = 1.0) -> bool:
    """Is the number ``shown`` (thousands separators, true minus, maybe %) ``value`` × ``scale``
    to the precision it is shown with? "–" stands for a missing value."""
    shown = shown.replace("%", "").strip()
    if shown == "–":
        return value is None or not np.isfinite(float(value))
    num = shown.replace(",", "").replace("\u2212", "-")
    decimals = len(num.split(".")[1]) if "." in num else 0
    return abs(float(num) - scale * float(value)) <= 0.5 * 10.0 ** (-decimals) + 1e-12


def _band(shown: str) -> tuple[str, str]:
    lo, hi = shown.strip("[]").split(", ")
    return lo, hi


def test_the_folder_is_a_calibration_and_collectsim_report_builds_it(folder):
    assert folder_kind(folder) == "calibrate"
    assert main(["report", str(folder)]) == 0
    assert (folder / "report.html").is_file() and (folder / "report.md").is_file()
    for png in ("fit_recovery.png", "fit_contact_rates.png", "fit_roll_rates.png"):
        assert (folder / png).stat().st_size > 1000
    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3


def test_every_parameter_shown_is_fit_json(folder):
    main(["report", str(folder)])
    (table,) = _sections((folder / "report.md").read_text())["Fitted parameters"]
    assert table[0] == ["parameter", "estimate", "se", "95 % interval", "prior", "method", "identified"]
    rows = {r[0]: r for r in table[1:]}
    assert set(rows) == set(FIT["parameters"])
    for name, p in FIT["parameters"].items():
        r = rows[name]
        assert _close(r[1], p["estimate"]) and _close(r[2], p["se"])
        if p["ci95"]:
            lo, hi = _band(r[3])
            assert _close(lo, p["ci95"][0]) and _close(hi, p["ci95"][1])
        else:
            assert r[3] == "–"
        assert r[5] == p["method"]
        assert r[6] == ("yes" if p["identified"] else "no: keeps its prior")
    assert rows["segments.0.delta2"][4] == "distribution = uniform, low = 0.05, high = 0.4"
    assert rows["channels.call.connect"][4] == "–"


def test_every_statistic_shown_is_its_csv(folder):
    main(["report", str(folder)])
    sections = _sections((folder / "report.md").read_text())
    comparison, _ = read_fit_checks(folder)
    assert set(comparison) == set(STATISTIC_TITLES)
    checked = 0
    for name, df in comparison.items():
        (table,) = sections[STATISTIC_TITLES[name]]
        keys = [c for c in df.columns if c not in ("measure", "observed", "n", "simulated_mean", "sd", "lo", "hi", "q_lo", "q_hi",
                                                    "replications", "inside")]
        assert table[0][: len(keys) + 1] == [*keys, "measure"]
        src = {tuple(str(int(r[k])) if k in ("day", "hour") else str(r[k]) for k in keys) + (r["measure"],): r
               for _, r in df.iterrows()}
        rows = table[1:]
        assert len(rows) == (RECOVERY_ROWS if name == "recovery_curve" else len(df))
        for cells in rows:
            r = src[tuple(cells[: len(keys) + 1])]
            scale = 100.0 if r["measure"] in SHARE_MEASURES or r["measure"].endswith("_rate") else 1.0
            data, n, mean, sd, band, reps, flag = cells[len(keys) + 1:]
            assert data.endswith("%") == (scale == 100.0)
            assert _close(data, r["observed"], scale) and _close(n, r["n"])
            assert _close(mean, r["simulated_mean"], scale) and _close(sd, r["sd"], scale)
            lo, hi = _band(band)
            assert _close(lo, r["lo"], scale) and _close(hi, r["hi"], scale)
            assert int(reps) == r["replications"] and flag == ("inside" if r["inside"] else "outside")
            checked += 1
    assert checked > 40
    # the lead counts the flags of the files
    total = sum(len(df) for df in comparison.values())
    inside = sum(int(df["inside"].sum()) for df in comparison.values())
    assert f"{inside} of {total} observed statistics lie inside" in (folder / "report.md").read_text()


def test_every_backtest_number_shown_is_backtest_csv(folder):
    main(["report", str(folder)])
    sections = _sections((folder / "report.md").read_text())
    _, bt = read_fit_checks(folder)
    head = next(h for h in sections if h.startswith("Backtest"))
    table, definitions = sections[head]
    assert table[0] == ["held-out KPI", "data", "simulated mean", "sd", "band", "replications", "data in band"]
    rows = {r[0]: r for r in table[1:]}
    assert list(rows) == bt["kpi"].tolist()
    for _, b in bt.iterrows():
        r = rows[b["kpi"]]
        assert _close(r[1], b["observed"]) and _close(r[2], b["simulated_mean"]) and _close(r[3], b["sd"])
        lo, hi = _band(r[4])
        assert _close(lo, b["lo"]) and _close(hi, b["hi"])
        assert int(r[5]) == b["replications"] and r[6] == ("inside" if b["inside"] else "outside")
    assert {d[0] for d in definitions[1:]} >= {"contacts", "rpcs.<channel>", "charge_offs"}
    md = (folder / "report.md").read_text()
    assert f"Backtest: {int(bt['inside'].sum())} of {len(bt)} held-out KPIs" in md


def test_the_html_shows_the_same_tables(folder):
    main(["report", str(folder)])
    md = (folder / "report.md").read_text()
    page = html.unescape((folder / "report.html").read_text())
    for tables in _sections(md).values():
        for table in tables:
            for row in table:
                for cell in row:
                    assert f">{cell}</t" in page, cell


def test_a_fit_json_without_parameters_is_not_a_calibration(tmp_path):
    (tmp_path / "fit.json").write_text(json.dumps({"estimates": {}}))
    with pytest.raises(collectsim.InputError, match="not a collectsim result folder"):
        folder_kind(tmp_path)
