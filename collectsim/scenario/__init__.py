"""The scenario: a validated, documented description of a delinquent book and its world.

:class:`Scenario` (``schema.py``) holds the portfolio, latent segments, ability regimes and
shocks, the score and its tiers, behaviour parameters, channels (``channels.py``), collector
teams, the contact rule set with its presets (``rules.py``) and costs. Every field has a
default, bounds, a description and, where it comes from evidence, its source.
"""

from collectsim.scenario.channels import ChannelSpec, ChannelTable, default_channels
from collectsim.scenario.rules import PRESETS, Rule, RuleSet, resolve_rules
from collectsim.scenario.schema import (
    PRODUCT_CHARGEOFF_DPD,
    Behaviour,
    Costs,
    Portfolio,
    Regimes,
    Scenario,
    Scoring,
    Segment,
    Shock,
    Team,
    Valuation,
    config_hash,
)

__all__ = [
    "Scenario", "Portfolio", "Segment", "Regimes", "Shock", "Scoring", "Behaviour", "Costs", "Valuation", "Team",
    "ChannelSpec", "ChannelTable", "default_channels", "Rule", "RuleSet", "PRESETS", "resolve_rules",
    "PRODUCT_CHARGEOFF_DPD", "config_hash",
]
