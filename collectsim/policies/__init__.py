"""Policies: what to ask for each day, from what a collections department can see.

:class:`Policy` is the protocol (``base.py``: :class:`Observation` in, :class:`Requests`
out); ``rule_table.py`` is the parametric strategy per risk tier × DPD bucket;
``baselines.py`` the built-in policies; ``adaptive.py`` the policy that learns during the run
(Thompson sampling over rule-table arms); ``cgw.py`` the Chehrazi–Glynn–Weber threshold
policy (direct effort holding the intensity at λ*(w)); ``registry.py`` resolves a built-in name or a policy
file (:func:`get_policy`) and checks it against a scenario (:func:`prepare_policy`).
"""

from __future__ import annotations

from collectsim.policies.adaptive import AdaptivePolicy, AdaptiveSpec, ArmSpec
from collectsim.policies.base import Effort, Observation, Outcomes, Policy, Requests
from collectsim.policies.baselines import MaxLegal, NoContact, seed_champion, sms_only
from collectsim.policies.cgw import CGWThresholdPolicy, CGWThresholdSpec
from collectsim.policies.registry import BUILTIN, get_policy, load_policy_file, prepare_policy
from collectsim.policies.rule_table import Cell, RuleTablePolicy, RuleTableSpec

__all__ = [
    "BUILTIN",
    "get_policy",
    "load_policy_file",
    "prepare_policy",
    "Policy",
    "Observation",
    "Outcomes",
    "Requests",
    "Effort",
    "CGWThresholdPolicy",
    "CGWThresholdSpec",
    "RuleTablePolicy",
    "RuleTableSpec",
    "Cell",
    "AdaptivePolicy",
    "AdaptiveSpec",
    "ArmSpec",
    "NoContact",
    "MaxLegal",
    "seed_champion",
    "sms_only",
]
