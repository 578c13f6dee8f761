"""Agents: the borrower population (a struct of arrays in one Mesa agent), the collectors,
and the counters they fill as they act."""

from collectsim.agents.borrowers import BorrowerPopulation, daily_transition_matrix
from collectsim.agents.collectors import Collector, CollectorTeam
from collectsim.agents.counters import Tally

__all__ = ["BorrowerPopulation", "daily_transition_matrix", "Collector", "CollectorTeam", "Tally"]
