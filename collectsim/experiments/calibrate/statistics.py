"""The statistics a fit is judged by, for a history and for histories simulated from a fit.

:func:`history_statistics` turns one :class:`~collectsim.history.History` into tables, each
computed from its definition (``docs/data.md``, "Judging a fit"); :func:`simulated_statistics`
computes the same tables on histories simulated from an experiment (replications in
parallel with joblib, as :mod:`collectsim.experiments.replicate` runs them);
:func:`compare_statistics` puts the observed value of every statistic beside the simulated
mean and the band the replications span; :func:`write_fit_checks` writes the comparison and
a backtest (:mod:`collectsim.experiments.calibrate.backtest`) as the CSV files the fit
report reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.experiments.calibrate.books import prediction_band
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.folders import write_atomic
from collectsim.experiments.synth import simulate_history
from collectsim.history import History

__all__ = ["Statistic", "STATISTICS", "RPC_OUTCOMES", "PROMISE_DAYS", "history_statistics", "simulated_statistics",
           "compare_statistics", "write_fit_checks", "read_fit_checks", "FIT_CHECK_PREFIX", "BACKTEST_FILE",
           "COMPARISON_COLUMNS"]

#: Contact outcomes that are a right-party contact (the debtor themself): an RPC and every
#: outcome that goes further.
RPC_OUTCOMES: tuple[str, ...] = ("rpc", "promise", "plan", "settlement")
#: Days a promise runs when the history gives no ``promise_day``: the engine's default
#: ``behaviour.ptp_days_max`` (promise dates are 1..7 days ahead).
PROMISE_DAYS = 7
#: File name prefix of a statistic's comparison in a calibration folder (``fit_check_<name>.csv``).
FIT_CHECK_PREFIX = "fit_check_"
#: File name of the backtest table in a calibration folder.
BACKTEST_FILE = "backtest.csv"
#: The columns of a comparison table after the statistic's key columns.
COMPARISON_COLUMNS: tuple[str, ...] = ("measure", "observed", "n", "simulated_mean", "sd", "lo", "hi", "q_lo",
                                       "q_hi", "replications", "inside")


@dataclass(frozen=True)
class Statistic:
    """One statistic table: its key columns (what a row is of), the measures compared between
    data and simulation, the column counting what a row's measures are shares of (``n`` in a
    comparison), and its definition in words."""

    name: str
    keys: tuple[str, ...]
    measures: tuple[str, ...]
    count: str | None
    definition: str


#: The statistics :func:`history_statistics` computes, by name, in the order it returns them.
STATISTICS: dict[str, Statistic] = {s.name: s for s in (
    Statistic("recovery_curve", ("day",), ("recovery_rate",), None,
              "recovery_rate at day d = Σ payments of days 0..d / Σ balance at entry of every account in the history"),
    Statistic("contact_rates", ("channel", "hour"), ("contact_rate", "rpc_rate"), "attempts",
              "per channel × hour with attempts: attempts = contacts made; contact_rate = connects (outcome other "
              "than no_answer) / attempts; rpc_rate = right-party contacts (rpc, promise, plan or settlement) / "
              "attempts"),
    Statistic("channel_rates", ("channel",), ("contact_rate", "rpc_rate"), "attempts",
              "contact_rates summed over the hours, per channel"),
    Statistic("conversations", ("channel",), ("promise_rate", "plan_rate", "settlement_rate"), "rpcs",
              "per channel with right-party contacts (and all channels): promise_rate = promises / right-party "
              "contacts, plan_rate = plans / right-party contacts, settlement_rate = settlements / right-party "
              "contacts"),
    Statistic("promises_kept", ("channel",), ("kept_rate",), "due",
              "per channel with promises due (and all channels): a promise made on day d is due on its promise_day, "
              f"or, when the history has none, on day d + {PROMISE_DAYS} (behaviour.ptp_days_max); it counts when "
              "its due day lies inside the history window (due ≤ days − 1); it is kept when a payment of the account "
              "arrives on a day in d..due; kept_rate = kept / due"),
    Statistic("complaints", ("channel",), ("complaints_per_1k", "opt_outs_per_1k"), "contacts",
              "per channel with contacts (and all channels): complaints × 1,000 / contacts made, opt-outs × 1,000 / "
              "contacts made"),
    Statistic("outcomes", ("status",), ("share",), "book",
              "per status (cured, paid, settled, charged_off, and in_collections: no outcome row): share = accounts "
              "that left collections in that status / accounts in the history (book)"),
)}


def _rows_by(df: pd.DataFrame, key: str, with_all: bool) -> Iterable[tuple[str, pd.DataFrame]]:
    for k, g in df.groupby(key, sort=True, observed=True):
        yield str(k), g
    if with_all:
        yield "all", df


def _recovery_curve(h: History) -> pd.DataFrame:
    paid = np.bincount(h.payments["day"].to_numpy(np.int64), weights=h.payments["amount"].to_numpy(np.float64),
                       minlength=h.days)[: h.days]
    total = float(h.accounts["balance"].sum())
    cum = np.cumsum(paid)
    return pd.DataFrame({"day": np.arange(h.days, dtype=np.int64), "collected": paid, "collected_cum": cum,
                         "recovery_rate": cum / total if total > 0 else np.full(h.days, np.nan)})


def _contact_rates(c: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    t = c.assign(connect=c["outcome"] != "no_answer", rpc=c["outcome"].isin(RPC_OUTCOMES))
    g = t.groupby(keys, sort=True, observed=True).agg(attempts=("outcome", "size"), connects=("connect", "sum"),
                                                       rpcs=("rpc", "sum")).reset_index()
    g["channel"] = g["channel"].astype(str)
    g = g.astype({"attempts": np.int64, "connects": np.int64, "rpcs": np.int64})
    g["contact_rate"] = g["connects"] / g["attempts"]
    g["rpc_rate"] = g["rpcs"] / g["attempts"]
    return g


def _conversations(c: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ch, g in _rows_by(c, "channel", True):
        o = g["outcome"]
        rpcs = int(o.isin(RPC_OUTCOMES).sum())
        if rpcs == 0:
            continue
        n = {k: int((o == k).sum()) for k in ("promise", "plan", "settlement")}
        rows.append({"channel": ch, "rpcs": rpcs, "promises": n["promise"], "plans": n["plan"],
                     "settlements": n["settlement"], "promise_rate": n["promise"] / rpcs,
                     "plan_rate": n["plan"] / rpcs, "settlement_rate": n["settlement"] / rpcs})
    return pd.DataFrame(rows, columns=["channel", "rpcs", "promises", "plans", "settlements", "promise_rate",
                                       "plan_rate", "settlement_rate"])


def _promises_kept(h: History, promise_days: int) -> pd.DataFrame:
    c = h.contacts
    pr = c[c["outcome"] == "promise"]
    made = pr["day"].to_numpy(np.int64)
    if "promise_day" in pr and (pr["promise_day"].to_numpy() >= 0).any():
        given = pr["promise_day"].to_numpy(np.int64)
        due = np.where(given >= 0, given, made + promise_days)
    else:
        due = made + promise_days
    acc = pr["account"].to_numpy(np.int64)
    # kept: a payment of the account on a day in made..due; payments sorted by (account, day)
    pay = h.payments.sort_values(["account", "day"], kind="stable")
    pa, pd_ = pay["account"].to_numpy(np.int64), pay["day"].to_numpy(np.int64)
    lo = np.searchsorted(_pairs(pa, pd_), _pairs(acc, made), side="left")
    hi = np.searchsorted(_pairs(pa, pd_), _pairs(acc, due), side="right")
    kept = hi > lo
    counted = due <= h.days - 1
    t = pd.DataFrame({"channel": pr["channel"].astype(str).to_numpy(), "counted": counted, "kept": kept & counted})
    rows = []
    for ch, g in _rows_by(t, "channel", True):
        n_due = int(g["counted"].sum())
        if n_due == 0:
            continue
        k = int(g["kept"].sum())
        rows.append({"channel": ch, "promises": len(g), "due": n_due, "kept": k, "kept_rate": k / n_due})
    return pd.DataFrame(rows, columns=["channel", "promises", "due", "kept", "kept_rate"])


def _pairs(account: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(account, day) as one sortable integer (days < 2^20)."""
    return account.astype(np.int64) * (1 << 20) + day.astype(np.int64)


def _complaints(c: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for ch, g in _rows_by(c, "channel", True):
        n = len(g)
        if n == 0:
            continue
        k, o = int(g["complaint"].sum()), int(g["opt_out"].sum())
        rows.append({"channel": ch, "contacts": n, "complaints": k, "opt_outs": o, "complaints_per_1k": 1000 * k / n,
                     "opt_outs_per_1k": 1000 * o / n})
    return pd.DataFrame(rows, columns=["channel", "contacts", "complaints", "opt_outs", "complaints_per_1k",
                                       "opt_outs_per_1k"])


def _outcomes(h: History) -> pd.DataFrame:
    n = len(h.accounts)
    status = h.outcomes["status"].astype(str) if len(h.outcomes) else pd.Series([], dtype=str)
    counts = {s: int((status == s).sum()) for s in ("cured", "paid", "settled", "charged_off")}
    counts["in_collections"] = n - sum(counts.values())
    return pd.DataFrame({"status": list(counts), "accounts": np.array(list(counts.values()), dtype=np.int64),
                         "book": np.full(len(counts), n, dtype=np.int64),
                         "share": [v / n if n else np.nan for v in counts.values()]})


def history_statistics(h: History, *, roll_rates: pd.DataFrame | None = None,
                       promise_days: int = PROMISE_DAYS) -> dict[str, pd.DataFrame]:
    """The statistics of ``h`` a fit is judged by: one table per :data:`STATISTICS` entry.

    Each is computed from its definition (:attr:`Statistic.definition`, ``docs/data.md``):
    ``recovery_curve`` (day, collected, collected_cum, recovery_rate = cumulative payments /
    total entry balance), ``contact_rates`` (channel × hour: attempts, connects, rpcs,
    contact_rate = connects / attempts, rpc_rate = right-party contacts / attempts),
    ``channel_rates`` (the same per channel), ``conversations`` (per channel and ``all``:
    promise, plan and settlement rates per right-party contact), ``promises_kept`` (per
    channel and ``all``: a promise is kept when a payment arrives on a day from the
    promise's day to its due day — its ``promise_day``, else ``promise_days`` later,
    behaviour.ptp_days_max — counting only promises due inside the window),
    ``complaints`` (per channel and ``all``: complaints and opt-outs per 1,000 contacts) and
    ``outcomes`` (accounts, book and share: the share of the book's accounts cured, paid,
    settled, charged off and still in collections). Rows without a denominator are left out.

    ``roll_rates``, when given, is included as it is under ``"roll_rates"``: the roll rates
    by DPD bucket the history's replayed state gives (``state.roll_rates(h)``); its text and
    ``bucket``/``from``/``to`` columns are its keys and its float columns its measures.
    """
    c = h.contacts
    out = {
        "recovery_curve": _recovery_curve(h),
        "contact_rates": _contact_rates(c, ["channel", "hour"]),
        "channel_rates": _contact_rates(c, ["channel"]),
        "conversations": _conversations(c),
        "promises_kept": _promises_kept(h, promise_days),
        "complaints": _complaints(c),
        "outcomes": _outcomes(h),
    }
    if roll_rates is not None:
        out["roll_rates"] = roll_rates.reset_index(drop=True)
    return out


# ------------------------------------------------------------------ simulated --------------
def _simulated(exp: Experiment, policy: str, seed: int, roll_rates, promise_days: int) -> dict[str, pd.DataFrame]:
    h = simulate_history(exp, policy=policy, seed=seed)
    return history_statistics(h, roll_rates=roll_rates(h) if roll_rates is not None else None,
                              promise_days=promise_days)


def simulated_statistics(exp: Experiment, policy: str, seeds: Iterable[int], jobs: int = 1, *,
                         roll_rates: Callable[[History], pd.DataFrame] | None = None,
                         promise_days: int = PROMISE_DAYS) -> list[dict[str, pd.DataFrame]]:
    """:func:`history_statistics` of the histories :func:`~collectsim.experiments.synth.simulate_history`
    simulates from ``exp`` under ``policy``, one per seed, in seed order; ``jobs`` ≠ 1 runs
    them in that many joblib (loky) processes. ``roll_rates``, a picklable function of a
    history (``state.roll_rates``), adds each replication's roll rates."""
    seeds = list(seeds)
    if jobs == 1:
        return [_simulated(exp, policy, s, roll_rates, promise_days) for s in seeds]
    par = joblib.Parallel(n_jobs=jobs)
    return list(par(joblib.delayed(_simulated)(exp, policy, s, roll_rates, promise_days) for s in seeds))


# ------------------------------------------------------------------ comparison -------------
def _spec(name: str, df: pd.DataFrame) -> Statistic:
    """The known statistic, or one read from a table's columns (text and bucket/from/to
    columns are keys, float columns measures, an integer column the count)."""
    if name in STATISTICS:
        return STATISTICS[name]
    keys = tuple(c for c in df.columns if c in ("bucket", "from", "to", "channel", "tier", "day", "hour")
                 or not (pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c])))
    measures = tuple(c for c in df.columns if c not in keys and pd.api.types.is_float_dtype(df[c]))
    counts = [c for c in df.columns if c not in keys and pd.api.types.is_integer_dtype(df[c])]
    return Statistic(name, keys, measures, counts[0] if counts else None, "as given")


def _long(df: pd.DataFrame, spec: Statistic) -> pd.DataFrame:
    keys = list(spec.keys)
    parts = []
    for m in spec.measures:
        part = df[keys].copy()
        part["measure"] = m
        part["value"] = df[m].to_numpy(np.float64)
        part["n"] = df[spec.count].to_numpy(np.float64) if spec.count else np.nan
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*keys, "measure", "value", "n"])


def compare_statistics(observed: dict[str, pd.DataFrame], simulated: list[dict[str, pd.DataFrame]], *,
                       level: float = 0.95, scale: float = 1.0) -> dict[str, pd.DataFrame]:
    """Every observed statistic beside its simulated replications.

    One long table per statistic of ``observed`` (:func:`history_statistics`): its key
    columns, then ``measure``, ``observed`` (the data's value), ``n`` (the data's count the
    measure is a share of, NaN if none), ``simulated_mean`` and ``sd`` (over the
    replications of ``simulated`` that have the row, the sd that of a history of the data's
    size), ``lo`` and ``hi`` (the prediction band at ``level`` of one more history of the
    data's size: :func:`~collectsim.experiments.calibrate.books.prediction_band`, mean ± t ·
    sd · √(1 + scale/R)), ``q_lo`` and ``q_hi`` (the replications' own quantiles, moved to
    that size), ``replications`` (R, how many had the row) and ``inside`` (lo ≤ observed ≤
    hi; False when fewer than two replications had the row). ``scale``: the data's book
    over the simulated books (:func:`~collectsim.experiments.calibrate.books.scaled_book`;
    every measure here is a rate or share, so its sd shrinks by √scale). The rows are the
    observed ones.
    """

    if not 0 < level < 1:
        raise InputError(f"level = {level!r}: must be a number in (0, 1)")
    out: dict[str, pd.DataFrame] = {}
    for name, df in observed.items():
        spec = _spec(name, df)
        keys = list(spec.keys)
        obs = _long(df, spec).rename(columns={"value": "observed"})
        sims = [_long(s[name], spec).assign(rep=i) for i, s in enumerate(simulated) if name in s and len(s[name])]
        rows = []
        by = keys + ["measure"]
        groups = {}
        if sims:
            allsim = pd.concat(sims, ignore_index=True)
            allsim[keys] = allsim[keys].astype(obs[keys].dtypes.to_dict()) if keys else allsim[keys]
            groups = {k if isinstance(k, tuple) else (k,): g["value"].to_numpy()
                      for k, g in allsim.groupby(by, sort=False, observed=True)}
        for r in obs.itertuples(index=False):
            key = tuple(getattr(r, k) for k in by)
            v = groups.get(key, np.zeros(0))
            mean, sd, lo, hi, q_lo, q_hi = prediction_band(v, scale=scale, level=level)
            finite = int(np.isfinite(np.asarray(v, dtype=np.float64)).sum())
            rows.append({"simulated_mean": mean, "sd": sd, "lo": lo, "hi": hi, "q_lo": q_lo, "q_hi": q_hi,
                         "replications": finite, "inside": bool(finite > 1 and lo <= r.observed <= hi)})
        extra = pd.DataFrame(rows, columns=["simulated_mean", "sd", "lo", "hi", "q_lo", "q_hi", "replications",
                                            "inside"])
        out[name] = pd.concat([obs.reset_index(drop=True), extra], axis=1)[[*keys, *COMPARISON_COLUMNS]]
    return out


# ------------------------------------------------------------------ files ------------------
def write_fit_checks(folder: str | Path, comparison: dict[str, pd.DataFrame], backtest: pd.DataFrame | None) -> list[str]:
    """Write a calibration folder's checks: ``fit_check_<name>.csv`` per statistic of
    ``comparison`` (:func:`compare_statistics`) and ``backtest.csv``
    (:func:`~collectsim.experiments.calibrate.backtest.backtest`, when given); return the
    file names. Each file appears whole (written to a temporary name, then renamed)."""
    folder = Path(folder)
    names = []
    for name, df in comparison.items():
        fn = f"{FIT_CHECK_PREFIX}{name}.csv"
        write_atomic(folder / fn, lambda q, df=df: df.to_csv(q, index=False, float_format="%.10g"))
        names.append(fn)
    if backtest is not None:
        write_atomic(folder / BACKTEST_FILE, lambda q: backtest.to_csv(q, index=False, float_format="%.10g"))
        names.append(BACKTEST_FILE)
    return names


def read_fit_checks(folder: str | Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | None]:
    """The comparison tables and the backtest table :func:`write_fit_checks` wrote into
    ``folder`` (statistics in :data:`STATISTICS` order, then the others by name)."""
    folder = Path(folder)
    found = {p.name[len(FIT_CHECK_PREFIX):-4]: p for p in folder.glob(f"{FIT_CHECK_PREFIX}*.csv")}
    order = [n for n in STATISTICS if n in found] + sorted(n for n in found if n not in STATISTICS)
    comparison = {n: pd.read_csv(found[n], keep_default_na=False, na_values=[""]) for n in order}
    bt = folder / BACKTEST_FILE
    return comparison, (pd.read_csv(bt) if bt.is_file() else None)
