"""``collectsim synth``: a collections history written from a simulation, with its truth.

The history is what a department's CRM would hold about the simulated book — the accounts as
they entered collections, every payment, every contact made and what it led to, and how each
account left collections — in exactly the schema :func:`collectsim.history.read_history`
reads (``docs/data.md``). It is recorded from the day's
:class:`~collectsim.policies.base.Outcomes` (the model's ``observer``: what a learning policy
is entitled to see, never a latent trait), so a calibration fitted to it sees what it would
see in a lender's data. ``truth.json`` holds the parameters that made it: every field of the
resolved experiment under its dotted name (``segments.0.delta2``), the names ``fit.json``
uses, plus the policy and seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.experiments.experiment import Experiment
from collectsim.experiments.folders import write_atomic, write_json, write_toml
from collectsim.experiments.provenance import provenance
from collectsim.experiments.run import resolved_config
from collectsim.history import History
from collectsim.history.schema import CONTACT_OUTCOMES, TABLES
from collectsim.model import CollectionsModel
from collectsim.policies import Observation, Outcomes, Policy, prepare_policy
from collectsim.vocabulary.accounts import ACTIVE, STATUS_NAMES
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["synthesize", "simulate_history", "flatten", "FORMATS"]

#: File formats a history can be written in.
FORMATS: tuple[str, ...] = ("csv", "parquet")


def flatten(data, prefix: str = "") -> dict:
    """A nested configuration as ``{dotted.name: value}``: tables by key, lists by position
    (``segments.0.delta2``, ``regimes.ability.1``); an empty table or list stays a value."""
    if isinstance(data, dict) and data:
        items = data.items()
    elif isinstance(data, list) and data:
        items = enumerate(data)
    else:
        return {prefix: data}
    out: dict = {}
    for k, v in items:
        out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


class _Recorder:
    """Collects each day's observed outcomes into the contacts and payments tables."""

    def __init__(self) -> None:
        self.contacts: list[dict[str, np.ndarray]] = []
        self.payments: list[dict[str, np.ndarray]] = []

    def __call__(self, o: Outcomes) -> None:
        n = len(o.contact_account)
        if n:
            self.contacts.append({
                "account": o.contact_account, "day": np.full(n, o.day, dtype=np.int32), "hour": o.contact_hour,
                "channel": o.contact_channel, "outcome": o.contact_outcome, "complaint": o.contact_complaint,
                "opt_out": o.contact_opted_out,
            })
        k = len(o.payment_account)
        if k:
            self.payments.append({"account": o.payment_account, "day": np.full(k, o.day, dtype=np.int32),
                                  "amount": o.payment_amount})


class _Watched(Policy):
    """A policy that shows each morning's :class:`~collectsim.policies.base.Observation` to
    ``watch`` before it decides (the state the day's contacts see), otherwise the same policy."""

    def __init__(self, inner: Policy, watch) -> None:
        self.inner, self.watch = inner, watch
        self.name, self.learns, self.applies_effort = inner.name, inner.learns, inner.applies_effort

    def start(self, streams) -> None:
        """As the inner policy."""
        self.inner.start(streams)

    def observe(self, outcomes: Outcomes) -> None:
        """As the inner policy."""
        self.inner.observe(outcomes)

    def prepare(self, tier_names: tuple[str, ...]) -> None:
        """As the inner policy."""
        self.inner.prepare(tier_names)

    def decide(self, obs: Observation):
        """Show ``obs`` to the watcher, then decide as the inner policy."""
        self.watch(obs)
        return self.inner.decide(obs)

    def effort(self, obs: Observation):
        """As the inner policy."""
        return self.inner.effort(obs)

    def to_dict(self) -> dict | None:
        """As the inner policy."""
        return self.inner.to_dict()


def _join(parts: list[dict[str, np.ndarray]], columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Each column's days joined into one array."""
    return {c: np.concatenate([p[c] for p in parts]) if parts else np.zeros(0) for c in columns}


def _simulate(exp: Experiment, policy: str, seed: int, watch=None) -> tuple[dict[str, pd.DataFrame], int, int]:
    """Run ``exp`` under ``policy`` for its horizon, recording what a CRM would hold: the four
    tables in the engine's own dtypes (what :func:`synthesize` writes), the days and the
    number of accounts. ``watch``: see :func:`synthesize`."""
    sc = exp.scenario
    pol = prepare_policy(exp.policy_ref(policy), sc)
    if watch is not None:
        pol = _Watched(pol, watch)
    days = sc.portfolio.horizon_days
    rec = _Recorder()
    model = CollectionsModel(sc, pol, seed=seed, log_contacts=False, observer=rec)
    pop = model.borrowers
    accounts = pd.DataFrame({  # slot = account number before the first day
        "account": pop.account_id.copy(),
        "entry_day": pop.entry_day.astype(np.int32),
        "balance": pop.balance0 / 100.0,
        "arrears": pop.arrears0 / 100.0,
        "dpd": pop.dpd.astype(np.int32),
        "product": pd.Categorical([sc.portfolio.product] * pop.n),
        "instalment": pop.instalment / 100.0,
        "score": pop.score.astype(np.float64).round(6),
        "tier": pop.tier.astype(np.int32),
    })
    model.run_for(days)
    c = _join(rec.contacts, ("account", "day", "hour", "channel", "outcome", "complaint", "opt_out"))
    contacts = pd.DataFrame({
        "account": c["account"].astype(np.int64), "day": c["day"].astype(np.int32), "hour": c["hour"].astype(np.int32),
        "channel": pd.Categorical.from_codes(c["channel"].astype(np.int8), categories=list(CHANNELS)),
        "outcome": pd.Categorical.from_codes(c["outcome"].astype(np.int8), categories=list(CONTACT_OUTCOMES)),
        "complaint": c["complaint"].astype(bool), "opt_out": c["opt_out"].astype(bool),
    })
    p = _join(rec.payments, ("account", "day", "amount"))
    payments = pd.DataFrame({"account": p["account"].astype(np.int64), "day": p["day"].astype(np.int32),
                             "amount": p["amount"].astype(np.int64) / 100.0})
    order = np.argsort(pop.account_id, kind="stable")  # (the horizon put every account back in its slot)
    status = pop.status[order]
    left = status != ACTIVE
    outcomes = pd.DataFrame({
        "account": pop.account_id[order][left],
        "status": pd.Categorical.from_codes(status[left].astype(np.int8) - 1, categories=list(STATUS_NAMES[1:])),
        "day": pop.resolved_day[order][left].astype(np.int32),
    })
    tables = {"accounts": accounts, "payments": payments, "contacts": contacts, "outcomes": outcomes}
    ordered = {t.name: tables[t.name][[col.name for col in t.columns if col.name in tables[t.name]]]  # schema order
               for t in TABLES}
    return ordered, days, int(pop.n)


def _meta(exp: Experiment, policy: str, seed: int, days: int) -> dict:
    """``history.toml`` of a simulated history."""
    return {"days": days, "currency": "currency units of the experiment",
            "generated_by": f"collectsim synth {exp.name} --policy {policy} --seed {seed}"}


_READ_DTYPES = {"id": np.int64, "day": np.int64, "int": np.int64, "money": np.float64, "float": np.float64,
                "bool": bool}


def _as_read(df: pd.DataFrame, table) -> pd.DataFrame:
    """A table in the dtypes :func:`collectsim.history.read_history` gives (integers int64,
    numbers float64, categories as pandas Categoricals of the schema's values)."""
    out = {}
    for col in table.columns:
        if col.name not in df:
            continue
        v = df[col.name]
        if col.kind == "category":
            out[col.name] = pd.Categorical(np.asarray(v.astype(str), dtype=object), categories=list(col.values))
        else:
            out[col.name] = v.to_numpy().astype(_READ_DTYPES[col.kind])
    return pd.DataFrame(out)


def simulate_history(exp: Experiment, *, policy: str, seed: int, watch=None) -> History:
    """The history :func:`synthesize` would write for ``exp`` under ``policy`` and ``seed``,
    in memory: the same tables, rows and dtypes as :func:`collectsim.history.read_history`
    returns for the written folder (integers int64, money float64, categories as pandas Categoricals of the schema's values), with
    ``days`` the experiment's horizon and ``meta`` its ``history.toml``."""
    tables, days, _ = _simulate(exp, policy, seed, watch)
    frames = {t.name: _as_read(tables[t.name], t) for t in TABLES}
    return History(frames["accounts"], frames["payments"], frames["contacts"], frames["outcomes"], days,
                   _meta(exp, policy, seed, days))


def synthesize(exp: Experiment, folder: str | Path, *, policy: str, seed: int, fmt: str = "csv",
               watch=None) -> dict:
    """Simulate ``exp`` under ``policy`` (a name or file, resolved by the experiment) for its
    horizon and write the history into the existing ``folder``: ``accounts``, ``payments``,
    ``contacts``, ``outcomes`` (``.csv`` or ``.parquet``), ``history.toml`` and ``truth.json``.
    The tables are those of :func:`simulate_history`. Returns the rows written per table.

    ``watch``: optional callable given each morning's
    :class:`~collectsim.policies.base.Observation` (after the day's ageing, before the
    contacts), e.g. to check a state replayed from the history against the engine's own
    (``tests/calibrate/test_state.py``); it changes nothing the simulation does."""
    folder = Path(folder)
    tables, days, n = _simulate(exp, policy, seed, watch)
    for t in TABLES:
        df = tables[t.name]
        path = folder / f"{t.name}.{fmt}"
        if fmt == "csv":
            write_atomic(path, lambda q, df=df: df.to_csv(q, index=False, float_format="%.10g"))
        else:
            write_atomic(path, lambda q, df=df: df.to_parquet(q, index=False))
    write_toml(folder / "history.toml", _meta(exp, policy, seed, days))
    config = resolved_config(exp, policy, seed, days)
    write_json(folder / "truth.json", {
        "parameters": flatten({k: v for k, v in config.items() if k != "run"}),
        "policy": policy, "seed": seed, "days": days, "accounts": n,
        "provenance": provenance(experiment=exp.name, source=exp.source, seed=seed, policy=policy, days=days),
    })
    write_toml(folder / "config.toml", config)
    return {name: len(df) for name, df in tables.items()}
