"""The backtest: fit on the first part of a history, simulate the rest, compare with what happened.

:func:`truncate` cuts a history at a day (what was known then); :func:`backtest` fits on
that part with the caller's fit, simulates the whole window from the fitted experiment
under the policy the fit returns (replications in parallel), and sets the held-out period's
KPIs (:func:`heldout_kpis`) of the data beside the simulated ones, each with the band a
history made by the fitted model would fall in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import joblib
import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.experiments.calibrate.books import prediction_band
from collectsim.experiments.calibrate.statistics import RPC_OUTCOMES
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.memory import release_memory
from collectsim.experiments.synth import simulate_history
from collectsim.history import History
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["truncate", "heldout_kpis", "backtest", "HELDOUT_KPIS", "BACKTEST_COLUMNS"]

#: The held-out KPIs of a backtest, with their definitions (days split … days − 1).
HELDOUT_KPIS: dict[str, str] = {
    "collected_per_day": "Σ payments of the held-out days / held-out days",
    "contacts": "contacts made in the held-out days",
    "rpcs": "right-party contacts (rpc, promise, plan or settlement) in the held-out days",
    "promises": "contacts with outcome promise in the held-out days",
    "contacts.<channel>": "contacts made on the channel in the held-out days (each channel the history used)",
    "rpcs.<channel>": "right-party contacts on the channel in the held-out days",
    "complaints": "contacts that drew a complaint in the held-out days",
    "cures": "accounts cured in the held-out days (outcomes status cured)",
    "charge_offs": "accounts charged off in the held-out days (outcomes status charged_off)",
}
#: The columns of a backtest table.
BACKTEST_COLUMNS: tuple[str, ...] = ("kpi", "observed", "simulated_mean", "sd", "lo", "hi", "q_lo", "q_hi",
                                     "replications", "inside")


def truncate(h: History, day: int) -> History:
    """The history as it was known at the start of ``day``: accounts that entered before it,
    their payments, contacts and outcomes of days before it, and the window days 0 … day − 1."""
    if not isinstance(day, (int, np.integer)) or isinstance(day, bool) or not 1 <= day <= h.days:
        raise InputError(f"split day = {day!r}: must be a whole number in 1..{h.days} (the history's days)")
    day = int(day)

    def before(df: pd.DataFrame, col: str) -> pd.DataFrame:
        return df[df[col].to_numpy() < day].reset_index(drop=True) if len(df) else df

    return replace(h, accounts=before(h.accounts, "entry_day"), payments=before(h.payments, "day"),
                   contacts=before(h.contacts, "day"), outcomes=before(h.outcomes, "day"), days=day,
                   meta={**h.meta, "days": day})


def heldout_kpis(h: History, split_day: int) -> dict[str, float]:
    """The KPIs of :data:`HELDOUT_KPIS` over days ``split_day`` … ``h.days − 1`` of ``h``
    (``contacts.<channel>`` and ``rpcs.<channel>`` for each channel of ``h.contacts``)."""
    held = h.days - split_day
    pay, c, o = h.payments, h.contacts, h.outcomes
    pay = pay[pay["day"].to_numpy() >= split_day]
    c = c[c["day"].to_numpy() >= split_day]
    o = o[o["day"].to_numpy() >= split_day] if len(o) else o
    status = o["status"].astype(str) if len(o) else pd.Series([], dtype=str)
    rpc = c["outcome"].isin(RPC_OUTCOMES).to_numpy()
    channel = c["channel"].astype(str).to_numpy()
    used = sorted(set(h.contacts["channel"].astype(str)), key=_channel_order)
    return {
        "collected_per_day": float(pay["amount"].sum()) / held,
        "contacts": float(len(c)),
        "rpcs": float(rpc.sum()),
        **{f"contacts.{ch}": float((channel == ch).sum()) for ch in used},
        **{f"rpcs.{ch}": float((rpc & (channel == ch)).sum()) for ch in used},
        "promises": float((c["outcome"] == "promise").sum()),
        "complaints": float(c["complaint"].sum()),
        "cures": float((status == "cured").sum()),
        "charge_offs": float((status == "charged_off").sum()),
    }


def _channel_order(ch: str) -> int:
    return CHANNELS.index(ch) if ch in CHANNELS else len(CHANNELS)


def _simulated_kpis(exp: Experiment, policy: str, seed: int, split_day: int, days: int) -> dict[str, float]:
    h = simulate_history(exp, policy=policy, seed=seed)
    return heldout_kpis(truncate(h, days) if h.days > days else h, split_day)


def backtest(h: History, fit: Callable[[History], tuple[Experiment, str]], split_day: int, *, reps: int = 20,
             seed: int = 1, jobs: int = 1, level: float = 0.95) -> pd.DataFrame:
    """Fit on days 0 … ``split_day − 1`` of ``h``, simulate, and compare the held-out days.

    ``fit(truncate(h, split_day))`` returns ``(experiment, policy)`` or ``(experiment,
    policy, scale)``: the experiment to simulate (its book and a horizon of at least
    ``h.days``), the policy to simulate it under (a name or file, as ``collectsim run
    --policy`` takes; the lender's observed policy in a calibration), and, when the
    experiment's book is a smaller copy of the fitted one
    (:func:`~collectsim.experiments.calibrate.books.scaled_book`), the fitted book's accounts
    over the copy's (default 1). The whole window is simulated ``reps`` times (seeds
    ``seed`` … ``seed + reps − 1``, ``jobs`` processes), and each KPI of
    :data:`HELDOUT_KPIS` over days ``split_day`` … ``h.days − 1`` is compared: one row per
    KPI with ``observed`` (the data's), ``simulated_mean`` and ``sd`` (over the
    replications, at the fitted book's size: a count's mean × scale, its sd × √scale),
    ``lo`` and ``hi`` — the prediction band at ``level`` of one more history made by the
    fitted model, mean ± t · sd · √(1 + scale/reps) with t the Student quantile at
    (1 + level)/2 on reps − 1 degrees of freedom, never below 0
    (:func:`~collectsim.experiments.calibrate.books.prediction_band`) — ``q_lo`` and ``q_hi``
    (the replications' own (1 ∓ level)/2 quantiles at that size), ``replications`` and
    ``inside`` (lo ≤ observed ≤ hi).
    """
    if not isinstance(split_day, (int, np.integer)) or isinstance(split_day, bool) or not 1 <= split_day < h.days:
        raise InputError(f"split day = {split_day!r}: must be a whole number in 1..{h.days - 1} (a held-out part "
                         "must remain)")
    if not isinstance(reps, int) or isinstance(reps, bool) or reps < 2:
        raise InputError(f"reps = {reps!r}: must be a whole number >= 2 (a band needs replications)")
    if not 0 < level < 1:
        raise InputError(f"level = {level!r}: must be in (0, 1)")
    fitted = fit(truncate(h, split_day))
    release_memory()  # the truncated copy is gone: its pages back to the system (collectsim.experiments.memory)
    exp, policy = fitted[:2]
    scale = float(fitted[2]) if len(fitted) > 2 else 1.0
    horizon = exp.scenario.portfolio.horizon_days
    if horizon < h.days:
        raise InputError(f"portfolio.horizon_days = {horizon} of the fitted experiment: must be at least the "
                         f"history's {h.days} days")
    seeds = list(range(seed, seed + reps))
    if jobs == 1:
        sims = [_simulated_kpis(exp, policy, s, split_day, h.days) for s in seeds]
    else:
        par = joblib.Parallel(n_jobs=jobs)
        sims = list(par(joblib.delayed(_simulated_kpis)(exp, policy, s, split_day, h.days) for s in seeds))
    observed = heldout_kpis(h, split_day)
    names = list(observed) + [k for s in sims for k in s if k not in observed]
    names = list(dict.fromkeys(names))  # a channel a replication used and the data did not, too
    observed = {k: observed.get(k, 0.0) for k in names}  # a count absent from a history is 0
    rows = []
    for k, obs in observed.items():
        v = np.array([s.get(k, 0.0) for s in sims], dtype=np.float64)
        # every held-out KPI is a count or an amount: extensive in the book's size
        mean, sd, lo, hi, q_lo, q_hi = prediction_band(v, scale=scale, extensive=True, level=level)
        rows.append({"kpi": k, "observed": obs, "simulated_mean": mean, "sd": sd, "lo": lo, "hi": hi, "q_lo": q_lo,
                     "q_hi": q_hi, "replications": len(v), "inside": bool(lo <= obs <= hi)})
    out = pd.DataFrame(rows, columns=list(BACKTEST_COLUMNS))
    out.attrs.update({"split_day": split_day, "days": h.days, "level": level, "seeds": seeds, "policy": policy,
                      "scale": scale})
    return out
