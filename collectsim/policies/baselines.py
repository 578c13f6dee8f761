"""Built-in policies: the baselines every study is measured against.

``no-contact``
    asks for nothing: what the portfolio repays by itself (self-cure).
``sms-only``
    two SMS reminders a week to every account at 10:00, no calls, no offers.
``max-legal``
    asks for every contact it can think of, every day — calls every two hours from 07:00
    to 21:00, three SMS, an e-mail, two IVR calls, a visit from 31 DPD and a weekly letter,
    with a promise-to-pay ask on every conversation — and leaves it to the rule set to cut
    that down to what is allowed (and to the collectors' minutes to cut it further).
``seed-champion``
    the tiered strategy of the source document (``../shared/domain/seed.md``): automated
    reminders for low risk, calls for medium risk, calls plus visits and repayment plans
    for high risk; settlements for the late buckets.
"""

from __future__ import annotations

import numpy as np

from collectsim.policies.base import Observation, Policy, Requests
from collectsim.policies.rule_table import Cell, RuleTablePolicy, RuleTableSpec
from collectsim.vocabulary.channels import CALL, EMAIL, IVR, LETTER, SMS, VISIT
from collectsim.vocabulary.offers import PTP

__all__ = ["NoContact", "MaxLegal", "sms_only", "seed_champion"]


class NoContact(Policy):
    """Contact nobody: the self-cure baseline."""

    name = "no-contact"

    def decide(self, obs: Observation) -> Requests:
        """No requests."""
        return Requests()


class MaxLegal(Policy):
    """Ask for everything every day; the rule engine keeps what the rules allow."""

    name = "max-legal"
    #: (channel, hour) pairs requested per active account per day
    PLAN: tuple[tuple[int, int], ...] = (
        *((CALL, h) for h in range(7, 22, 2)),
        (SMS, 7),
        (SMS, 12),
        (SMS, 21),
        (EMAIL, 9),
        (IVR, 8),
        (IVR, 19),
    )

    def decide(self, obs: Observation) -> Requests:
        """Every contact of :attr:`PLAN`, plus visits from 31 DPD and a weekly letter."""
        acc = np.flatnonzero(obs.active)
        pairs = list(self.PLAN)
        parts = []
        for ch, hour in pairs:
            parts.append(self._block(obs, acc, ch, hour))
        parts.append(self._block(obs, acc[obs.dpd[acc] > 30], VISIT, 17))
        parts.append(self._block(obs, acc[(obs.account_number(acc) + obs.day) % 7 == 0], LETTER, 10))
        return Requests.concat(parts)

    @staticmethod
    def _block(obs: Observation, acc: np.ndarray, ch: int, hour: int) -> Requests:
        m = len(acc)
        return Requests(
            account=acc.astype(np.int64),
            channel=np.full(m, ch, dtype=np.int8),
            hour=np.full(m, hour, dtype=np.int8),
            offer=np.full(m, PTP, dtype=np.int8),
            discount=np.zeros(m, dtype=np.float32),
            plan_months=np.full(m, 6, dtype=np.int8),
            priority=(obs.balance[acc] * obs.score[acc].astype(float)).astype(np.float32),
        )


def sms_only() -> RuleTablePolicy:
    """Two SMS reminders a week to everyone, at 10:00; no calls and no offers."""
    return RuleTablePolicy(
        RuleTableSpec(name="sms-only", cells=[Cell(sms_per_week=2.0, message_hour=10, offer="none")])
    )


def seed_champion() -> RuleTablePolicy:
    """The source document's tiered strategy (seed.md steps 1–3), as a rule table.

    Tier names are those of the default scoring (high, medium, low risk); a scenario with
    other tier names needs its own table (``collectsim run --policy FILE``).
    """
    return RuleTablePolicy(
        RuleTableSpec(
            name="seed-champion",
            priority="expected_value",
            cells=[
                # high risk, late: calls, visits and a settlement
                Cell(
                    tiers=["high"], buckets=["M4", "M5", "M6"], sms_per_week=2, call_per_week=4,
                    visit_per_week=1, visit_from_dpd=91, offer="settlement", settlement_discount=0.3,
                ),
                # high risk: calls + visits from 60 DPD + instalment plans
                Cell(
                    tiers=["high"], sms_per_week=2, call_per_week=4, visit_per_week=1,
                    visit_from_dpd=60, offer="instalment", plan_months=6,
                ),
                # medium risk: calls and a reminder, promise to pay
                Cell(tiers=["medium"], sms_per_week=1, call_per_week=2, offer="ptp"),
                # low risk: automated reminders only
                Cell(tiers=["low"], sms_per_week=2, email_per_week=1, offer="none"),
            ],
        )
    )
