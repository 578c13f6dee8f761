"""The optimize report as a decision page: every number it shows, recomputed from the folder."""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import statistics
import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from collectsim import optimize  # noqa: E402
from collectsim.reports import build_report, format_diff, format_interval, format_number  # noqa: E402
from collectsim.reports.pages.decision import FIELD_WORDS, OFFER_WORDS, bucket_range, pilot_size  # noqa: E402
from collectsim.reports.plots.optimize import plot_history, plot_pareto_front  # noqa: E402

EXPERIMENT = """
[run]
name = "small"
[portfolio]
accounts = 2400
horizon_days = 30
[[teams]]
name = "phone"
headcount = 4
cost_per_day = 150
[[teams]]
name = "field"
headcount = 1
cost_per_day = 200
[optimize]
trials = 10
reps = 2
validation_reps = 6
validate_top = 3
seed = 5
batch = 4
[optimize.objective]
mode = "scalar"
lambda_churn = 0.5
lambda_complaint = 100
max_complaints_per_1k_worked = 12.0
[[optimize.params]]
name = "high.calls"
field = "call_per_week"
tiers = ["high"]
low = 0
high = 7
step = 1
[[optimize.params]]
name = "low.sms"
field = "sms_per_week"
tiers = ["low"]
low = 0
high = 6
step = 1
[[optimize.params]]
name = "medium.offer"
field = "offer"
tiers = ["medium"]
choices = ["ptp", "instalment"]
"""
#: parameter -> (field, tier) of EXPERIMENT, to say by hand what the report must say changes
PARAMS = {"high.calls": ("call_per_week", "high"), "low.sms": ("sms_per_week", "low"),
          "medium.offer": ("offer", "medium")}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("optreport")
    exp = tmp / "small.toml"
    exp.write_text(EXPERIMENT)
    res = optimize(exp, out=tmp / "run", jobs=1)
    assert res.validation["best"]["role"] == "candidate", "the fixture study should recommend a candidate"
    return res.out


def _v(folder: Path) -> dict:
    return json.loads((folder / "validation.json").read_text())


def _md(folder: Path) -> str:
    """report.md as the reader sees it: the Markdown escapes of its cells (a leading ``\\+``,
    ``&gt;``: see ``md_text``) undone."""
    text = (folder / "report.md").read_text()
    return html.unescape(re.sub(r"\\([\\`*_~+#=|\-\[\]!])", r"\1", text))


def _lead(md: str) -> str:
    return next(line for line in md.splitlines() if line.startswith("**")).strip("*")


def _copy(folder: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(folder, out)
    return out


def test_the_first_sentence_says_what_to_adopt_and_what_it_gains(folder):
    v = _v(folder)
    b = v["best"]
    lead = _lead(_md(folder))
    assert lead.startswith(f"Adopt trial {b['trial']} (best_policy.toml): on {v['replications']} held-out validation")
    assert f"by {format_number(b['improvement'], signed=True)} " in lead
    assert f"{100 * b['improvement_relative']:+.1f} %".replace("-", "\u2212") in lead
    assert f"95 % CI {format_interval('objective', *b['ci95'], diff=True)}" in lead
    assert "2,400 accounts" in lead and v["champion"]["name"] in lead


def test_no_raw_floats_anywhere(folder):
    for name in ("report.md", "report.html"):
        text = (folder / name).read_text()
        text = re.sub(r"data:image/png;base64,[^\"]+", "", text)
        assert not re.findall(r"\d\.\d{5,}", text), name
        assert not re.findall(r"\d{5,}\.\d", text), name  # 390933.75: money is 390,934


def test_pilot_size_is_the_hand_calculation_from_the_validation_seeds(folder):
    v = _v(folder)
    b = v["best"]
    cand = next(c for c in v["candidates"] if c["trial"] == b["trial"])
    a = cand["validation"]["per_seed_objective"]
    c = v["champion"]["validation"]["per_seed_objective"]
    d = [x - y for x, y in zip(a, c, strict=True)]
    gain, sd = statistics.mean(d), statistics.stdev(d)
    assert gain == pytest.approx(b["improvement"]) and sd == pytest.approx(cand["vs_champion"]["objective"]["sd"])
    z = statistics.NormalDist().inv_cdf
    n = math.ceil(((z(0.975) + z(0.8)) * sd / gain) ** 2)
    md = _md(folder)
    assert f"= (({z(0.975):.3f} + {z(0.8):.3f}) × {format_number(sd)} / {format_number(gain)})²" in md
    assert f"rounded up: {n} book(s) of 2,400 accounts followed 30 days per arm (about {n * 2400:,} accounts" in md
    assert f"pilot of {n} book(s) of 2,400 accounts per arm" in md
    assert f"| sd_diff: sd of the paired differences | {format_number(sd)} |" in md
    assert f"| n per arm (rounded up) | {n} |" in md


def test_pilot_size_formula():
    p = pilot_size(1.0, 1.0)
    assert p["n"] == 8 and p["n_exact"] == pytest.approx((1.959964 + 0.841621) ** 2, rel=1e-5)
    assert pilot_size(2.0, 1.0)["n"] == 2  # (2.80 / 2)² = 1.96
    assert pilot_size(0.0, 1.0) is None and pilot_size(-1.0, 1.0) is None and pilot_size(1.0, float("nan")) is None


def test_what_changes_is_said_per_tier_and_bucket(folder):
    v = _v(folder)
    assert (folder / "champion_policy.toml").is_file() and sorted(v["tier_names"]) == ["high", "low", "medium"]
    old = v["champion"]["params"]
    new = next(c for c in v["candidates"] if c["trial"] == v["best"]["trial"])["params"]
    md = _md(folder)
    section = md[md.index("## What changes from the champion"):md.index("## The trade-off")]
    changed = [k for k in PARAMS if old[k] != new[k]]
    assert changed
    for k in changed:
        field, tier = PARAMS[k]
        word = (lambda x: OFFER_WORDS[x]) if field == "offer" else (lambda x: format_number(float(x)))
        assert f"| {tier} | all buckets | {FIELD_WORDS[field]} {word(old[k])} → {word(new[k])}" in section, k
    for k in set(PARAMS) - set(changed):
        assert f"| {PARAMS[k][1]} |" not in section
    assert bucket_range(["M1", "M2", "M3"]) == "M1–M3" and bucket_range(["M1", "M4"]) == "M1, M4"


def test_the_trade_off_table_shows_the_stored_intervals(folder):
    v = _v(folder)
    cand = next(c for c in v["candidates"] if c["trial"] == v["best"]["trial"])
    md = _md(folder)
    section = md[md.index("## The trade-off"):md.index("## Next step")]
    for kpi in ("net_value", "complaints_per_1k_accounts", "churn_rate", "lost_clv", "treatment_cost", "unworked"):
        d = cand["vs_champion"][kpi]
        assert f"| {format_diff(kpi, d['mean_diff'])} {format_interval(kpi, *d['ci'], diff=True)} |" in section, kpi
    assert "| ≤ 12 |" in section  # the cap on complaints per 1,000 accounts worked
    lead = next(p for p in md.split("\n\n") if p.startswith("What it trades"))
    assert "churn rate" in lead and "requests left unworked" in lead


def test_caps_broken_are_marked_and_listed_last(folder, tmp_path):
    f = _copy(folder, tmp_path)
    v = _v(f)
    other = next(c for c in v["candidates"] if c["trial"] != v["best"]["trial"])
    other["feasible_on_validation"] = False
    other["validation"]["mean"]["complaints_per_1k_worked"] = 13.0
    (f / "validation.json").write_text(json.dumps(v))
    trials = pd.read_csv(f / "trials.csv")
    top = trials[(trials["role"] != "champion") & (trials["number"] != v["best"]["trial"])]["objective"].idxmax()
    broken = int(trials.loc[top, "number"])
    trials.loc[top, "feasible"] = False
    trials.loc[top, "constraint.max_complaints_per_1k_worked"] = 1.0
    trials.to_csv(f / "trials.csv", index=False)
    build_report(f)
    md = _md(f)
    cands = md[md.index("## Validated candidates"):md.index("## Trials")]
    lines = [ln for ln in cands.splitlines() if ln.startswith("| trial ")]
    assert lines[-1].startswith(f"| trial {other['trial']} | breaks a cap: complaints per 1,000 accounts worked 13 > 12")
    rows = [ln for ln in md[md.index("## Trials"):].splitlines() if re.match(r"\| \d+ \|", ln)]
    assert rows[-1].startswith(f"| {broken} | breaks a cap")
    assert all("breaks a cap" not in r for r in rows[:-1])


def test_the_champion_kept_and_an_older_folder(folder, tmp_path):
    f = _copy(folder, tmp_path)
    (f / "champion_policy.toml").unlink()
    build_report(f)
    md = _md(f)
    assert "cannot be compared one by one" in md and ("| high.calls |" in md or "| low.sms |" in md)
    v = _v(f)
    v["best"]["role"] = "champion"
    (f / "validation.json").write_text(json.dumps(v))
    build_report(f)
    lead = _lead(_md(f))
    assert lead.startswith(f"Keep the champion {v['champion']['name']}: none of the {len(v['candidates'])} validated")
    assert "Next step: none" in _md(f) and "## Next step: a live pilot" not in _md(f)


def test_the_recommended_trial_is_marked_on_the_plots(folder):
    trials = pd.read_csv(folder / "trials.csv")
    best = _v(folder)["best"]["trial"]
    for plot in (lambda ax: plot_history(trials, ax, best_trial=best),
                 lambda ax: plot_pareto_front(trials, ax, best_trial=best)):
        fig, ax = plt.subplots()
        plot(ax)
        labels = ax.get_legend_handles_labels()[1]
        assert any(lb.startswith("recommended") for lb in labels), labels
        assert ax.yaxis.get_offset_text().get_text() == ""
        assert "currency" in ax.get_ylabel() and "whole book" in ax.get_ylabel()
        plt.close(fig)
    md = _md(folder)
    for png in ("history.png", "pareto_front.png"):
        caption = re.search(rf"!\[([^\]]*)\]\({png}\)", md).group(1)
        assert "recommended trial" in caption
    assert tomllib.loads((folder / "best_policy.toml").read_text())["policy"]["name"] == "small-best"


def test_a_share_as_colour_reads_in_percent(folder):
    trials = pd.read_csv(folder / "trials.csv")
    fig, ax = plt.subplots()
    plot_pareto_front(trials, ax, churn="churn_rate")
    sc = ax.collections[0]
    done = trials[trials["state"] == "COMPLETE"]
    assert sc.get_array().max() == pytest.approx(100 * done["churn_rate"].max())
    assert "% of resolved customers" in fig.axes[-1].get_ylabel()
    plt.close(fig)
