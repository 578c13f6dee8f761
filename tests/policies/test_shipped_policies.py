"""Every policy file shipped in experiments/policies loads, fits the default tiers, and the
seed-failure parts differ from the champion where their comments say and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectsim.policies import get_policy
from collectsim.policies.baselines import seed_champion
from collectsim.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "experiments" / "policies").rglob("*.toml"))
TIERS = tuple(Scenario().scoring.tier_names)


def test_there_are_policy_files():
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_shipped_policy_file_loads_and_fits_the_default_tiers(path):
    pol = get_policy(str(path))
    pol.prepare(TIERS)
    assert pol.name


def _by_tier(cells) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for c in cells:
        d = c.model_dump()
        buckets = d.pop("buckets")
        d["buckets"] = "*" if buckets in ("*", ["M1", "M2", "M3", "M4", "M5", "M6"]) else tuple(buckets)
        for t in d.pop("tiers"):
            out.setdefault(t, []).append(d)
    return out


@pytest.mark.parametrize(("name", "changed"), [("H-high", {"high"}), ("H-medium", {"medium"}), ("H-low", {"low"}),
                                                ("med-instalment", {"medium"}), ("med-more", {"medium"})])
def test_each_seed_failure_part_changes_one_tier_of_the_champion(name, changed):
    part = _by_tier(get_policy(str(ROOT / "experiments" / "policies" / "seed-failure-parts" / f"{name}.toml")).table.cells)
    champ = _by_tier(seed_champion().table.cells)
    assert set(part) == set(champ) == set(TIERS)
    assert {t for t in TIERS if part[t] != champ[t]} == changed
