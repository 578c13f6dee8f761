"""A lender's collections history: its schema and its reader (``docs/data.md``).

A history is a folder of four tables — ``accounts``, ``payments``, ``contacts`` and the
optional ``outcomes`` — in CSV or Parquet, plus ``history.toml`` (the window it covers).
:data:`TABLES` is the schema (one home: the reader, the writer of synthetic histories and
``docs/data.md`` read it); :func:`read_history` reads and validates a folder into a
:class:`History`, refusing bad input with one line naming the table, column and row.
"""

from collectsim.history.read import History, read_history
from collectsim.history.schema import (
           CONTACT_OUTCOMES,
           PERSONAL_DATA,
           STATUSES,
           TABLES,
           Column,
           Table,
           looks_personal,
           schema_markdown,
)

__all__ = ["History", "read_history", "TABLES", "Table", "Column", "CONTACT_OUTCOMES", "STATUSES", "PERSONAL_DATA",
           "looks_personal", "schema_markdown"]
