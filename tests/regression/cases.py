"""The behaviour lock: fixed simulation cases whose outputs are recorded in ``golden.json``.

Each case is an experiment (scenario data), a policy and a seed, simulated through the public
API with the contact log kept. Its *fingerprint* is every scalar KPI (portfolio-wide and per
risk tier, exact values), one hash per daily-series column and one per contact-log column.
``tests/regression/test_regression.py`` re-simulates every case and checks each recorded
column is unchanged to the bit and each scalar KPI to 12 significant digits (the libraries'
kernels move the last bits of a sum: ``test_regression.py``); new KPIs or columns may appear
without breaking the lock.

A change that is *meant* to change behaviour re-records the file, and says why in its commit:

    .venv/bin/python -m tests.regression.record
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden.json")

_BOOK = {"accounts": 4000, "horizon_days": 60}
PRESETS = ("us-reg-f", "us-ma", "cn-gbt-45251", "none")
POLICIES = ("no-contact", "sms-only", "max-legal", "seed-champion")


def _case(name: str, policy: str, seed: int = 7, **data) -> dict:
    data.setdefault("portfolio", dict(_BOOK))
    return {"name": name, "policy": policy, "seed": seed, "data": data}


def cases() -> list[dict]:
    """Every case of the lock (each preset × built-in policy, and the special books)."""
    out = [
        _case(f"{preset}/{policy}", policy, rules={"preset": preset}) for preset in PRESETS for policy in POLICIES
    ]
    inst = {"accounts": 4000, "horizon_days": 90, "product": "instalment"}
    out += [
        _case("instalment/seed-champion", "seed-champion", portfolio=inst, rules={"preset": "us-reg-f"}),
        _case("instalment/max-legal/cn", "max-legal", portfolio=dict(inst), rules={"preset": "cn-gbt-45251"}),
        _case(
            "shock/seed-champion",
            "seed-champion",
            portfolio={"accounts": 4000, "horizon_days": 90},
            shock={"start_day": 20, "duration_days": 40, "stress_multiplier": 4.0},
        ),
        _case(
            "rule-table-file/challenger",
            str(ROOT / "experiments" / "policies" / "challenger.toml"),
            rules={"preset": "us-reg-f"},
        ),
        _case(
            "extra-rule/max-legal",
            "max-legal",
            rules={
                "preset": "us-ma",
                "extra": [
                    {"kind": "quiet_hours", "name": "lunch", "channels": ["call"], "start_hour": 9, "end_hour": 20},
                    {"kind": "max_connects", "name": "two-rpc-in-3", "channels": ["call", "visit"],
                     "max_count": 2, "window_days": 3},
                ],
            },
        ),
        _case(
            "discounted/late-book",
            "seed-champion",
            seed=11,
            portfolio={"accounts": 4000, "horizon_days": 200, "entry_buckets": {"M3": 0.4, "M4": 0.3, "M5": 0.3}},
            valuation={"discount_rate_per_year": 0.08},
        ),
        _case(
            "cgw/no-contact",
            "no-contact",
            seed=2019,
            **_cgw(),
        ),
    ]
    return out


def _cgw() -> dict:
    import tomllib

    data = tomllib.loads((ROOT / "experiments" / "cgw-2019.toml").read_text())
    data.pop("run", None)
    data["portfolio"] = dict(data["portfolio"], accounts=4000, horizon_days=400)
    return data


def _num(x) -> object:
    """A JSON-safe exact form of a scalar (floats as their repr: identical bits compare equal)."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, str):
        return x
    f = float(x)
    return "nan" if math.isnan(f) else repr(f)


def _flat(d: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps([_num(x) for x in v])
        else:
            out[key] = _num(v)
    return out


def _column_hash(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(str)
    a = s.to_numpy()
    if a.dtype == object:
        blob = "\x1f".join(map(str, a)).encode()
    else:
        blob = str(a.dtype).encode() + np.ascontiguousarray(a).tobytes()
    return hashlib.sha256(blob).hexdigest()[:20]


def simulate_case(case: dict, audit: bool = True):
    """Simulate ``case`` (contact log kept); returns the result and the scenario."""
    import collectsim

    scenario = collectsim.Scenario.model_validate(case["data"])
    return collectsim.simulate(scenario, case["policy"], seed=case["seed"], log_contacts=True, audit=audit), scenario


def fingerprint(case: dict) -> dict:
    """Simulate ``case`` and return its fingerprint (see the module docstring)."""
    return fingerprint_of(simulate_case(case)[0])


def fingerprint_of(r) -> dict:
    """The fingerprint of a simulated case."""
    tiers = getattr(r, "tiers", None)
    if tiers is None:  # (the name before the architecture change)
        tiers = r.segments
    return {
        "kpis": _flat(r.kpis),
        "tiers": _flat(tiers),
        "daily": {c: _column_hash(r.daily[c]) for c in r.daily.columns},
        "daily_rows": len(r.daily),
        "contacts": {c: _column_hash(r.contacts[c]) for c in r.contacts.columns},
        "contact_rows": len(r.contacts),
    }
