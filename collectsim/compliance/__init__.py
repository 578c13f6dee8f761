"""Compliance: the rule engine that enforces a scenario's contact rules as a hard filter.

The rules themselves are data (:mod:`collectsim.scenario.rules`); the independent audit of
what got through is :mod:`collectsim.validation.audit`.
"""

from collectsim.compliance.engine import RuleEngine

__all__ = ["RuleEngine"]
