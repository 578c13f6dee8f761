"""What the optimize report decides, as plain data: the pilot size, the policy changes in words.

The optimize page (:mod:`collectsim.reports.pages.optimize`) reads an optimizer folder and
shows these; each function here takes plain data (the folder's ``validation.json`` parts and
rule tables), so every number the page shows can be recomputed from the folder.

* :func:`pilot_size` — replications per arm a live champion/challenger test needs to confirm
  a gain: ``n = ((z_(1−α/2) + z_power) · sd_diff / gain)²``, rounded up.
* :func:`paired_sd` — the standard deviation of per-seed differences (the ``sd_diff`` above).
* :func:`policy_changes` — what a rule table changes from another, per risk tier × DPD bucket,
  in plain words ("call attempts a week 4 → 5").
* :func:`bucket_range` — "M1–M3", "all buckets".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from collectsim.experiments.optimize.space import expand_grid
from collectsim.policies.rule_table import Cell, RuleTableSpec
from collectsim.reports.format import format_number
from collectsim.vocabulary.accounts import BUCKETS

__all__ = ["pilot_size", "paired_sd", "policy_changes", "bucket_range", "FIELD_WORDS", "OFFER_WORDS"]

#: each rule-table field in words, as the "what changes" table names it
FIELD_WORDS: dict[str, str] = {
    "sms_per_week": "SMS a week",
    "email_per_week": "e-mails a week",
    "ivr_per_week": "automated voice calls a week",
    "call_per_week": "call attempts a week",
    "visit_per_week": "field visits a week",
    "letter_per_week": "letters a week",
    "visit_from_dpd": "visits from day past due",
    "call_hour": "first call at hour",
    "message_hour": "messages at hour",
    "visit_hour": "visits at hour",
    "offer": "offer",
    "plan_months": "instalment plan, months",
    "settlement_discount": "settlement discount",
    "priority": "collectors' queue order",
    "pause_on_promise": "pause while a promise runs",
    "respect_opt_out": "respect opt-outs",
}
#: the values of ``offer`` and ``priority`` in words
OFFER_WORDS: dict[str, str] = {
    "none": "none",
    "ptp": "promise to pay",
    "instalment": "instalment plan",
    "settlement": "settlement",
    "expected_value": "expected value (balance × score)",
    "balance": "balance",
    "dpd": "days past due",
    "score": "score",
    "risk": "risk (1 − score)",
}


def pilot_size(gain: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8) -> dict[str, float] | None:
    """Replications per arm a two-sided test at level ``alpha`` needs to detect ``gain`` with ``power``.

    ``n = ((z_(1−alpha/2) + z_power) · sd_diff / gain)²``, rounded up (the normal
    approximation of a paired comparison whose per-replication differences have standard
    deviation ``sd_diff``).

    Returns
    -------
    dict or None
        ``n`` (rounded up, at least 1), ``n_exact``, ``z_alpha``, ``z_power``, ``gain``,
        ``sd_diff``, ``alpha``, ``power``; None when there is no positive gain or no finite
        spread to size a test for.
    """
    if not (gain is not None and sd_diff is not None and math.isfinite(gain) and math.isfinite(sd_diff)):
        return None
    if gain <= 0 or sd_diff < 0:
        return None
    z_a = float(stats.norm.ppf(1 - alpha / 2))
    z_b = float(stats.norm.ppf(power))
    exact = ((z_a + z_b) * sd_diff / gain) ** 2
    return {
        "n": max(1, math.ceil(exact - 1e-9)),
        "n_exact": exact,
        "z_alpha": z_a,
        "z_power": z_b,
        "gain": float(gain),
        "sd_diff": float(sd_diff),
        "alpha": alpha,
        "power": power,
    }


def paired_sd(a: Sequence[float], b: Sequence[float]) -> float:
    """Sample standard deviation (ddof 1) of the per-seed differences ``a − b`` (NaN pairs dropped)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    d = x[ok] - y[ok]
    return float(d.std(ddof=1)) if len(d) > 1 else float("nan")


def bucket_range(buckets: Sequence[str]) -> str:
    """DPD buckets in words: "all buckets", "M1–M3" (a run) or "M1, M4"."""
    idx = sorted(BUCKETS.index(b) for b in buckets)
    if len(idx) == len(BUCKETS):
        return "all buckets"
    if idx == list(range(idx[0], idx[-1] + 1)) and len(idx) > 1:
        return f"{BUCKETS[idx[0]]}–{BUCKETS[idx[-1]]}"
    return ", ".join(BUCKETS[i] for i in idx)


def _word(field: str, v: Any) -> str:
    if v is None:
        return "–"
    if field in ("offer", "priority"):
        return OFFER_WORDS.get(str(v), str(v))
    if field == "settlement_discount":
        return f"{100 * float(v):.0f} %"
    if field.endswith("_hour"):
        return f"{int(v):02d}:00"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return format_number(float(v))


def _cell_dict(cell: Cell | None) -> dict[str, Any] | None:
    return None if cell is None else cell.model_dump(mode="json", exclude={"tiers", "buckets"})


def _cell_changes(old: dict | None, new: dict | None) -> list[str]:
    if old is None and new is None:
        return []
    if old is None or new is None:
        shown = new if old is None else old
        active = [f"{FIELD_WORDS[k]} {_word(k, v)}" for k, v in shown.items() if k.endswith("_per_week") and v]
        what = ", ".join(active) or "no contact"
        return [f"not contacted → {what}"] if old is None else [f"{what} → not contacted"]
    out = []
    for k, v in new.items():
        if old.get(k) != v:
            out.append(f"{FIELD_WORDS.get(k, k)} {_word(k, old.get(k))} → {_word(k, v)}")
    return out


def policy_changes(champion: RuleTableSpec, recommended: RuleTableSpec, tier_names: Sequence[str]) -> list[dict]:
    """What ``recommended`` changes from ``champion``, per risk tier and DPD buckets, in words.

    Each rule table is expanded to its grid (the cell each tier × bucket pair gets, first
    match wins); pairs of a tier with the same changes are grouped.

    Returns
    -------
    list of dict
        ``tier`` ("all tiers" for table-level fields), ``buckets`` (see :func:`bucket_range`),
        ``changes`` (list of "what old → new" strings); unchanged pairs are left out.
    """
    rows: list[dict] = []
    table_changes = [
        f"{FIELD_WORDS[k]} {_word(k, getattr(champion, k))} → {_word(k, getattr(recommended, k))}"
        for k in ("priority", "pause_on_promise", "respect_opt_out")
        if getattr(champion, k) != getattr(recommended, k)
    ]
    if table_changes:
        rows.append({"tier": "all tiers", "buckets": "all buckets", "changes": table_changes})
    g_old, g_new = expand_grid(champion, tier_names), expand_grid(recommended, tier_names)
    for t, tier in enumerate(tier_names):
        groups: dict[tuple[str, ...], list[str]] = {}
        for b, bucket in enumerate(BUCKETS):
            ch = tuple(_cell_changes(_cell_dict(g_old[t][b]), _cell_dict(g_new[t][b])))
            if ch:
                groups.setdefault(ch, []).append(bucket)
        for ch, buckets in groups.items():
            rows.append({"tier": tier, "buckets": bucket_range(buckets), "changes": list(ch)})
    return rows
