"""The requested frequencies: the rule table that, re-run by the engine, contacts as the lender did.

``collectsim calibrate`` (docs/data.md, "The observed policy"). The observed policy's
frequencies (:func:`~collectsim.experiments.calibrate.observed.estimate_observed_policy`) are
the contacts the lender *made*; its collectors' capacity and its contact rules had already
cut what its strategy asked for. A rule table with those frequencies, re-run under the same
capacity and rules, is cut again — most where the collectors are scarcest and the accounts
last in the priority order — so the simulated book contacts the accounts of those cells less
than the data did. :func:`requested_policy` finds the frequencies to *request* instead, by
indirect inference on the policy (a fixed point):

1. start from the executed table f₀ (the observed policy's frequencies);
2. simulate the fitted experiment under the current table as the simulated moments do (a
   book of ``n_sim`` accounts: :func:`simulation_config`), and estimate the executed table
   of the simulated history **with the same estimator** as the data's, so the estimator's own
   biases cancel;
3. per tier × bucket × channel the data contacted, f ← min(f · observed / simulated, the Cell
   field's upper bound); the same seeds every iteration (common random numbers);
4. stop when every such frequency's simulated value is within ``tolerance`` (3) standard
   errors of the data's, ``√(se_data² + se_sim²)``, or after ``iterations`` simulations; the
   table returned is the simulated one with the smallest largest gap (so it is always one
   that was checked).

Where the collectors are short, a cell's frequency over all its accounts hardly moves with
the request: what moves is *which* accounts are reached, the first in the queue before the
rest. So each frequency is fitted to the first half of its tier in the queue order at entry
(``top_per_week`` of the observed policy's frequencies: balance × score, the engine's
``expected_value`` order) where the data has at least ``_TOP_MIN`` of those contacts in the
cell, and to the whole cell's frequency elsewhere; the returned frequencies say which
(``fitted_to``) and give both re-run gaps (``simulated_z``, ``simulated_top_z``).

A frequency that cannot reach the data's is held instead of raised without end: when it is at
its field's upper bound, or when raising it by more than 10 % last time raised the simulated
value by less than one standard error (the capacity is exhausted, or the contact rules cap
it), it keeps its previous value and the policy's notes say so.

The simulated book (:func:`simulation_config`) has the data's capacity per account: each
team's headcount at the data's size (``headcount`` as given, else ``headcount_per_100k``
rounded as the engine rounds it), times ``n_sim`` / the data's accounts, rounded, at least
one collector, and the rounding compensated in ``minutes_per_day`` (so a team of one collector
for 3,000 accounts does not become one collector for 20,000). Like the simulated moments it is
an opening stock without inflow.
"""

from __future__ import annotations

import copy
import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.experiments.calibrate.books import scale_teams
from collectsim.experiments.calibrate.observed import (
    ObservedPolicy,
    _upper,
    estimate_observed_policy,
    write_observed_policy,
)
from collectsim.experiments.files import experiment_from_dict
from collectsim.policies.rule_table import FREQUENCY_FIELDS
from collectsim.vocabulary.accounts import BUCKETS
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["requested_policy", "simulation_config", "executed_gaps"]

_NOISE = 1.0  # a frequency within this many standard errors of the data's is left as it is
_STEP_MAX = 2.0  # one update multiplies a frequency by at most this (or divides by it)
_RAISE_MAX = 10.0  # a frequency raised to this multiple of the data's without reaching it is held
_TOP_MIN = 20  # contacts of the first half in the queue a cell needs to be fitted to them


def simulation_config(config: dict, n_sim: int) -> tuple[dict, list[str]]:
    """``config`` (a resolved experiment, its ``portfolio.accounts`` the data's size) as a book of
    ``n_sim`` accounts with the data's capacity per account (module docstring), without
    inflow; and one note per team whose capacity had to be adjusted."""
    cfg = copy.deepcopy(config)
    n_data = int(cfg["portfolio"]["accounts"])
    cfg["portfolio"]["accounts"] = int(n_sim)
    cfg["portfolio"].pop("inflow_per_day", None)
    cfg["portfolio"].pop("inflow_rate_per_day", None)
    notes = scale_teams(cfg.get("teams", []), n_data, int(n_sim))
    return cfg, notes


def _executed(cfg: dict, policy: dict, seeds: list[int], base_dir: Path | None, folder: Path) -> pd.DataFrame:
    """The executed frequencies (the estimator's ``frequencies``) of books simulated from
    ``cfg`` under the rule table ``policy``, one per seed, pooled by exposure."""
    from collectsim.experiments.synth import simulate_history  # lazy: start-up time

    path = folder / "requested_trial.toml"
    write_observed_policy(ObservedPolicy(policy, pd.DataFrame()), path)
    exp = experiment_from_dict(cfg, name="requested", base_dir=base_dir)
    parts = []
    for s in seeds:
        h = simulate_history(exp, policy=str(path), seed=s)
        parts.append(estimate_observed_policy(h, exp.scenario).frequencies)
    if len(parts) == 1:
        return parts[0]
    keys = ["tier", "bucket", "channel"]
    f = pd.concat(parts)
    g = f.groupby(keys, sort=False)
    out = g[["contacts", "account_days", "accounts", "top_contacts", "top_account_days"]].sum().reset_index()
    for pre in ("", "top_"):
        days = out[f"{pre}account_days"]
        out[f"{pre}per_week"] = np.divide(7.0 * out[f"{pre}contacts"], days, out=np.zeros(len(out)), where=days > 0)
        # independent books: the pooled error from each book's, weighted by its exposure
        w2 = (f[f"{pre}account_days"] * f[f"{pre}se_per_week"].fillna(0.0)) ** 2
        w = w2.groupby([f[k] for k in keys], sort=False).sum().to_numpy()
        out[f"{pre}se_per_week"] = np.where(days > 0, np.sqrt(w) / np.maximum(days, 1e-12), np.nan)
    return out


def executed_gaps(data: pd.DataFrame, sim: pd.DataFrame, of: str = "") -> pd.DataFrame:
    """Per tier × bucket × channel the data contacted in a cell of its table: the data's and a
    simulation's executed frequencies, and the gap in standard errors,
    ``(sim − data) / √(se_data² + se_sim²)`` (``z``); ``of = "top_"``: those of the first
    half of each tier in the queue order (``per_week`` then holds ``top_per_week``)."""
    keys = ["tier", "bucket", "channel"]
    d = data[data["in_policy"] & (data["contacts"] > 0)][keys + ["contacts", f"{of}per_week", f"{of}se_per_week"]]
    d = d.rename(columns={f"{of}per_week": "per_week", f"{of}se_per_week": "se_per_week"})
    s = sim[keys + [f"{of}per_week", f"{of}se_per_week"]].rename(columns={f"{of}per_week": "simulated_per_week",
                                                                          f"{of}se_per_week": "simulated_se_per_week"})
    out = d.merge(s, on=keys, how="left")
    out["simulated_per_week"] = out["simulated_per_week"].fillna(0.0)
    se = np.sqrt(out["se_per_week"].fillna(0.0) ** 2 + out["simulated_se_per_week"].fillna(0.0) ** 2)
    out["z"] = (out["simulated_per_week"] - out["per_week"]) / np.where(se > 0, se, np.inf)
    return out


def _table(policy: dict, freq: dict[tuple[str, str, str], float], seen: set[tuple[str, str]]) -> dict:
    """``policy`` with each cell's frequencies from ``freq`` (by tier, bucket, field); a cell of
    a tier × bucket not ``seen`` in the data takes its source bucket's (the tier's nearest seen
    bucket, as the estimator copied it)."""
    out = copy.deepcopy(policy)
    cells = out["policy"]["cells"]
    for c in cells:
        t, b = c["tiers"][0], c["buckets"][0]
        src = b
        if (t, b) not in seen:
            mine = [BUCKETS.index(x) for (tt, x) in seen if tt == t]
            if not mine:
                continue
            bi = BUCKETS.index(b)
            src = BUCKETS[min(mine, key=lambda x: (abs(x - bi), -x))]
        for f in FREQUENCY_FIELDS:
            if (t, src, f) in freq:
                c[f] = round(float(freq[(t, src, f)]), 4)
    return out


def requested_policy(observed: ObservedPolicy, config: dict, *, n_sim: int = 20_000, seeds: tuple[int, ...] = (11,),
                     iterations: int = 8, tolerance: float = 3.0, base_dir: Path | None = None) -> ObservedPolicy:
    """``observed`` with its table's frequencies replaced by the requested ones (module
    docstring), for the fitted experiment ``config`` (resolved, ``portfolio.accounts`` the
    data's size). Its ``frequencies`` gain ``requested_per_week`` (the table's frequency:
    for each tier × bucket × channel the data contacted), ``simulated_per_week`` and
    ``simulated_se_per_week`` (what the returned table executes in the simulated book) and
    ``simulated_z`` (the gap in standard errors); its ``notes`` say the method, whether the
    stop rule was met and which frequencies could not be reached."""
    cfg, notes = simulation_config(config, n_sim)
    data = observed.frequencies
    field_of = dict(zip(CHANNELS, FREQUENCY_FIELDS, strict=True))
    targets = data[data["in_policy"] & (data["contacts"] > 0)]
    key = [(r.tier, r.bucket, field_of[r.channel]) for r in targets.itertuples()]
    # the statistic each frequency is fitted to: the first half of the tier in the queue order
    # where the data has enough of its contacts (a cut cell's request: module docstring), else all
    use_top = (targets["top_contacts"] >= _TOP_MIN).to_numpy()

    def fitted(mean_gaps: pd.DataFrame, top_gaps: pd.DataFrame) -> pd.DataFrame:
        """Each cell's gaps on the statistic it is fitted to (rows in ``targets`` order)."""
        return top_gaps.where(pd.Series(use_top, index=top_gaps.index), mean_gaps, axis=0)
    f0 = {k: min(float(r.top_per_week if top else r.per_week), _upper(k[2]))
          for k, r, top in zip(key, targets.itertuples(), use_top, strict=True)}
    f = dict(f0)
    seen = set(zip(data.loc[data["in_policy"], "tier"], data.loc[data["in_policy"], "bucket"], strict=True))
    held: dict[tuple[str, str, str], str] = {}
    best = None
    trace = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(1, iterations)):
            table = _table(observed.policy, f, seen)
            sim = _executed(cfg, table, list(seeds), base_dir, Path(tmp))
            mean_gaps, top_gaps = executed_gaps(data, sim), executed_gaps(data, sim, "top_")
            gaps = fitted(mean_gaps, top_gaps)
            worst = float(np.nanmax(np.abs(gaps["z"]))) if len(gaps) else 0.0
            trace.append(worst)
            if best is None or worst < best[0]:
                best = (worst, table, dict(f), mean_gaps, top_gaps)
            if worst <= tolerance:
                break
            for k, r in zip(key, gaps.itertuples(), strict=True):
                if k in held or abs(r.z) <= _NOISE:
                    continue
                ratio = r.per_week / r.simulated_per_week if r.simulated_per_week > 0 else _STEP_MAX
                v = min(f[k] * min(max(ratio, 1 / _STEP_MAX), _STEP_MAX), _upper(k[2]))
                if r.z < -tolerance and (f[k] >= _upper(k[2]) or v >= _RAISE_MAX * f0[k]):
                    held[k] = (f"{k[0]} {k[1]} {k[2]}: capacity or the contact rules: at {f[k]:.3g} a week (the "
                               f"data executed {f0[k]:.3g}) it executed {r.simulated_per_week:.3g}; held there")
                    continue
                f[k] = v
    worst, table, f, mean_gaps, top_gaps = best
    gaps = fitted(mean_gaps, top_gaps)
    met = worst <= tolerance
    notes.insert(0, f"frequencies: requested, not executed: the table that, re-run by the engine in a book of "
                 f"{n_sim:,} accounts with the data's capacity per account, executes the data's frequencies "
                 f"(docs/data.md, 'The observed policy'); largest gap by simulation "
                 + ", ".join(f"{w:.2f}" for w in trace) + " s.e.; the table kept: largest gap "
                 + f"{worst:.2f} s.e. (" + ("within" if met else "NOT within") + f" the stop rule's {tolerance:g})")
    for i, k in enumerate(key):
        if gaps["z"].iloc[i] < -tolerance:
            notes.append(held.get(k, f"{k[0]} {k[1]} {k[2]}: not reached: requesting {f[k]:.3g} a week executed "
                                      f"{gaps['simulated_per_week'].iloc[i]:.3g} against the data's "
                                      f"{gaps['per_week'].iloc[i]:.3g}"))
    keys = ["tier", "bucket", "channel"]
    g = mean_gaps[keys + ["simulated_per_week", "simulated_se_per_week", "z"]].rename(columns={"z": "simulated_z"})
    g["simulated_top_per_week"] = top_gaps["simulated_per_week"].to_numpy()
    g["simulated_top_z"] = top_gaps["z"].to_numpy()
    g["fitted_to"] = np.where(use_top, "top_per_week", "per_week")
    g["requested_per_week"] = [f[k] for k in key]
    freq = data.merge(g, on=keys, how="left")
    return dataclasses.replace(observed, policy=table, frequencies=freq, notes=tuple(observed.notes) + tuple(notes))
