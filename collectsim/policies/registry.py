"""Finding a policy by name or file: the built-ins, policy files, and the check against a scenario."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from collectsim.errors import InputError, from_pydantic
from collectsim.policies.adaptive import load_adaptive
from collectsim.policies.base import Policy
from collectsim.policies.baselines import MaxLegal, NoContact, seed_champion, sms_only
from collectsim.policies.cgw import cgw_threshold, load_cgw_threshold
from collectsim.policies.rule_table import RuleTablePolicy, RuleTableSpec
from collectsim.scenario import Scenario
from collectsim.userfiles import read_toml

__all__ = ["BUILTIN", "get_policy", "load_policy_file", "prepare_policy"]

#: Built-in policy names and their factories.
BUILTIN = {
    "no-contact": NoContact,
    "sms-only": sms_only,
    "max-legal": MaxLegal,
    "seed-champion": seed_champion,
    "cgw-threshold": cgw_threshold,
}


def load_policy_file(path: str | Path) -> Policy:
    """Load a policy from a TOML file with a ``[policy]`` table: a rule table, or an
    adaptive policy (``kind = "adaptive"``, :mod:`collectsim.policies.adaptive`), or the
    Chehrazi–Glynn–Weber threshold policy (``kind = "cgw-threshold"``, :mod:`collectsim.policies.cgw`)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"policy = {str(path)!r}: no such file (and not a built-in: {', '.join(BUILTIN)})")
    data = read_toml(p, "policy")
    extra = set(data) - {"policy"}
    if extra:
        raise InputError(f"{p}: unknown key '{sorted(extra)[0]}' (a typo?); a policy file holds one [policy] table")
    if "policy" not in data:
        raise InputError(f"{p}: policy: missing required table [policy]")
    if isinstance(data["policy"], dict) and data["policy"].get("kind") == "adaptive":
        return load_adaptive(data["policy"], str(p))
    if isinstance(data["policy"], dict) and data["policy"].get("kind") == "cgw-threshold":
        return load_cgw_threshold(data["policy"], str(p))
    try:
        return RuleTablePolicy(RuleTableSpec.model_validate(data["policy"]))
    except ValidationError as e:
        raise from_pydantic(e, str(p), prefix="policy") from None


def get_policy(name_or_path: str | Path | Policy) -> Policy:
    """A policy from a built-in name, a policy file path, or a :class:`Policy` (returned as is)."""
    if not isinstance(name_or_path, (str, Path)):
        if isinstance(name_or_path, Policy):
            return name_or_path
        raise InputError(
            f"policy = {name_or_path!r}: not a policy name, file or Policy object (subclass collectsim.Policy)"
        )
    key = str(name_or_path)
    if not key.strip():
        raise InputError(f"policy = {key!r}: empty; allowed: {', '.join(BUILTIN)} or a .toml policy file")
    if key in BUILTIN:
        return BUILTIN[key]()
    if key.endswith(".toml") or Path(key).exists():
        return load_policy_file(key)
    raise InputError(f"policy = {key!r}: unknown policy; allowed: {', '.join(BUILTIN)} or a .toml policy file")


def prepare_policy(policy: str | Path | Policy, scenario: Scenario) -> Policy:
    """Resolve a policy name/file/object and check it against ``scenario`` (its risk tiers).

    Raises :class:`~collectsim.errors.InputError` before anything runs when the policy does
    not load or does not fit (e.g. a rule table naming an unknown tier).
    """
    pol = get_policy(policy)
    pol.prepare(tuple(scenario.scoring.tier_names))
    return pol
