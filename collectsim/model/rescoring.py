"""Behavioural re-scoring: the tier of an account updated from what the department observes.

A lender's behaviour score re-ranks its accounts on a schedule from how they behave in
collections. With ``[scoring] rescore_every_days = N`` (> 0), at the end of every N-th day
(days N − 1, 2N − 1, …) every account still in collections that has been there for at
least N days gets the score (docs/model.md §2)

    logit s = logit s₀ + w_paid·(2·paid − 1) − w_broken·broken + w_answered·answered_term

where ``s₀`` is its score at entry, ``paid`` = 1 if it made any payment in the last N days
(promise, instalment, settlement or self-payment) else 0, ``broken`` the promises it has
broken so far, and ``answered_term`` = 2·(answered / made) − 1 over every contact made to
it so far (0 if it was never contacted). Its tier is cut again from the new score at the
scenario's ``tier_cutoffs``. Every input is observable — the entry score, the last payment
day and the broken promises are in the policy's ``Observation``; the contacts made and
answered are the department's own log — never a latent trait. Re-scoring always starts from
the entry score, so the behaviour terms do not compound from one re-score to the next.

Migrations (accounts moving from tier i to tier j at a re-score) are reported in the daily
series (:func:`collectsim.model.daily.rescore_columns`). Everything is array arithmetic
over the active accounts; nothing is random, so the re-scoring changes no stream's draws.
"""

from __future__ import annotations

import numpy as np

from collectsim.scenario import Scoring

__all__ = ["behaviour_score", "Rescorer"]


def behaviour_score(entry_score: np.ndarray, paid: np.ndarray, broken: np.ndarray, made: np.ndarray,
                    answered: np.ndarray, scoring: Scoring) -> np.ndarray:
    """The behaviour score of the module docstring (float64), from the entry score, whether
    the account paid in the last period, its broken promises so far and the contacts made to
    it and answered so far."""
    s0 = np.clip(np.asarray(entry_score, dtype=np.float64), 1e-6, 1 - 1e-6)
    made = np.asarray(made, dtype=np.float64)
    share = np.divide(np.asarray(answered, dtype=np.float64), made, out=np.zeros_like(made), where=made > 0)
    x = np.log(s0 / (1 - s0))
    x += scoring.rescore_paid * (2.0 * np.asarray(paid, dtype=np.float64) - 1.0)
    x -= scoring.rescore_broken_promise * np.asarray(broken, dtype=np.float64)
    x += scoring.rescore_answered * np.where(made > 0, 2.0 * share - 1.0, 0.0)
    return 1.0 / (1.0 + np.exp(-x))


class Rescorer:
    """The re-scoring of one run: the entry scores and the contacts made and answered, by
    account number, and the re-score itself (:meth:`rescore`).

    Parameters
    ----------
    scoring:
        The scenario's :class:`~collectsim.scenario.schema.Scoring` (``rescore_every_days`` > 0).
    entry_score:
        The score of every account at entry, by account number.
    """

    def __init__(self, scoring: Scoring, entry_score: np.ndarray) -> None:
        self.scoring = scoring
        self.every = int(scoring.rescore_every_days)
        self.cutoffs = np.asarray(scoring.tier_cutoffs, dtype=np.float64)
        self.entry_score = np.asarray(entry_score, dtype=np.float32).copy()
        n = len(self.entry_score)
        #: contacts made to each account number so far, and of them answered (connected)
        self.made = np.zeros(n, dtype=np.int32)
        self.answered = np.zeros(n, dtype=np.int32)
        #: the last re-score's migration counts, [from tier, to tier] (accounts re-scored)
        self.last_moves = np.zeros((len(scoring.tier_names),) * 2, dtype=np.int64)

    def count_contacts(self, account_ids: np.ndarray, connected: np.ndarray) -> None:
        """Add the day's made contacts (by account number) and whether each was answered."""
        np.add.at(self.made, account_ids, 1)
        np.add.at(self.answered, account_ids, np.asarray(connected, dtype=np.int32))

    def due(self, day: int) -> bool:
        """Whether the re-score runs at the end of ``day``."""
        return (day + 1) % self.every == 0

    def rescore(self, day: int, pop) -> np.ndarray:
        """Re-score the active accounts of ``pop`` (a ``BorrowerPopulation``) in collections for
        at least ``every`` days at the end of ``day``: their ``score`` and ``tier`` in place.
        Returns the migration counts ``[from tier, to tier]`` (also :attr:`last_moves`)."""
        n_tiers = len(self.last_moves)
        slots = np.asarray(pop.active_idx, dtype=np.int64)
        since = day + 1 - self.every
        slots = slots[pop.entry_day[slots] <= since]
        ids = pop.account_id[slots]
        s = behaviour_score(self.entry_score[ids], pop.last_payment_day[slots] >= since, pop.broken_promises[slots],
                            self.made[ids], self.answered[ids], self.scoring).astype(np.float32)
        new = np.searchsorted(self.cutoffs, s, side="right").astype(np.int8)
        old = pop.tier[slots].astype(np.int64)
        pop.score[slots] = s
        pop.tier[slots] = new
        self.last_moves = np.bincount(old * n_tiers + new, minlength=n_tiers * n_tiers).reshape(n_tiers, n_tiers)
        return self.last_moves
