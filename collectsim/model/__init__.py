"""The model: the Mesa model that wires borrowers, collectors, the policy and the rule engine
and runs the day (``model.py``), its contact pipeline (``contacts.py``), the daily series
(``daily.py``) and the contact log (``contact_log.py``)."""

from collectsim.model.contact_log import LOG_COLUMNS, ContactLog
from collectsim.model.daily import CUMULATIVE_COLUMNS, DAILY_COLUMNS
from collectsim.model.model import CollectionsModel

__all__ = ["CollectionsModel", "ContactLog", "LOG_COLUMNS", "DAILY_COLUMNS", "CUMULATIVE_COLUMNS"]
