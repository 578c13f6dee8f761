"""Figures read as a manager reads numbers: grouped tick labels, no 1e6 offset, labelled axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from collectsim.reports.plots.run import book_size, plot_contacts  # noqa: E402
from collectsim.reports.plots.style import GroupedFormatter, kpi_axis_label, share_denominator, tidy  # noqa: E402
from collectsim.vocabulary.accounts import STATUS_NAMES  # noqa: E402
from collectsim.vocabulary.channels import CHANNELS  # noqa: E402


def _labels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_money_ticks_have_separators_and_no_offset():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [7_100_000, 7_350_000])
    tidy(ax)
    fig.canvas.draw()
    labels = _labels(ax.yaxis)
    assert labels and all("," in s for s in labels if s not in ("0",)), labels
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert not any("e" in s for s in labels)
    for s in labels:  # each label is the tick's value
        assert any(abs(float(s.replace(",", "").replace("\u2212", "-")) - v) < 1e-6 for v in ax.get_yticks())
    plt.close(fig)


def test_formatter_decimals_follow_the_spacing():
    f = GroupedFormatter()
    f.set_locs([0.0, 0.5, 1.0])
    assert [f(v) for v in (0.0, 0.5, 1.0)] == ["0.0", "0.5", "1.0"]
    f.set_locs([-250_000.0, 0.0, 250_000.0])
    assert [f(v) for v in (-250_000.0, 0.0, 250_000.0)] == ["\u2212250,000", "0", "250,000"]


def test_axis_labels_say_unit_and_denominator():
    assert kpi_axis_label("net_value", "per 1,000 accounts") == "net value, currency per 1,000 accounts"
    assert share_denominator("churn_rate") in kpi_axis_label("churn_rate")
    assert kpi_axis_label("churn_rate").startswith("churn rate, % of ")


def test_contacts_plot_keeps_visits_readable_beside_sms():
    days = 10
    daily = pd.DataFrame({"day": range(days), "complaints": [1] * days})
    for s in STATUS_NAMES:
        daily[s] = 1000 if s == "active" else 0
    for c in CHANNELS:
        daily[f"contacts_{c}"] = 0
    daily["contacts_sms"] = 5000
    daily["contacts_visit"] = 3
    fig, ax = plt.subplots()
    plot_contacts(daily, ax=ax)
    assert ax.get_yscale() == "log"  # 3 visits a day are not flattened at the bottom of a linear 5,000 scale
    assert f"{book_size(daily):,}" in ax.get_ylabel() and "per day" in ax.get_ylabel()
    plt.close(fig)
