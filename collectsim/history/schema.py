"""The schema of a collections history (a CRM export), written once.

Every table is a :class:`Table` of :class:`Column` s; :data:`TABLES` lists them in the order
``docs/data.md`` documents them. Money is in currency units (two decimals), time in integer
days from the start of the history (day 0) or in ISO dates (``YYYY-MM-DD``, the reader turns
them into days from ``history.toml``'s ``start_date``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collectsim.vocabulary.channels import CHANNELS

__all__ = ["Column", "Table", "TABLES", "CONTACT_OUTCOMES", "STATUSES", "PRODUCTS", "PERSONAL_DATA", "looks_personal",
           "schema_markdown"]

#: What a contact led to, in the order of how far it went (the engine's outcome codes, with
#: the file's word for a settlement).
CONTACT_OUTCOMES: tuple[str, ...] = ("no_answer", "connect", "rpc", "promise", "plan", "settlement")
#: How an account left collections (``outcomes.status``).
STATUSES: tuple[str, ...] = ("cured", "paid", "settled", "charged_off")
#: Products (``accounts.product``): as ``portfolio.product`` of an experiment file.
PRODUCTS: tuple[str, ...] = ("card", "instalment", "recovery")


@dataclass(frozen=True)
class Column:
    """One column: ``kind`` is ``id`` (a non-negative integer account number), ``day``
    (integer day or ISO date), ``int``, ``money`` (≥ 0, currency units), ``float``, ``bool``
    or ``category`` (one of ``values``)."""

    name: str
    kind: str
    required: bool
    description: str
    values: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Table:
    """One table of a history: its file stem, whether a history must have it, and its columns."""

    name: str
    required: bool
    description: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        return next(c for c in self.columns if c.name == name)


TABLES: tuple[Table, ...] = (
    Table("accounts", True, "one row per account, as it entered collections", (
        Column("account", "id", True, "account number, unique"),
        Column("entry_day", "day", True, "the day it entered collections (0: in the opening stock)"),
        Column("balance", "money", True, "balance owed at entry"),
        Column("arrears", "money", True, "overdue amount at entry (at most the balance)"),
        Column("dpd", "int", True, "days past due at entry", low=0, high=3650),
        Column("product", "category", True, "card, instalment or recovery", values=PRODUCTS),
        Column("instalment", "money", True, "the monthly amount due"),
        Column("score", "float", False, "the lender's score at entry (collectsim's: the estimated chance of paying within 30 days; higher: safer)"),
        Column("tier", "int", False, "the risk tier the strategy used: an index into the experiment's scoring.tier_names (default 0 high, 1 medium, 2 low risk)", low=0, high=99),
    )),
    Table("payments", True, "one row per payment received", (
        Column("account", "id", True, "account number (in accounts)"),
        Column("day", "day", True, "the day it was received"),
        Column("amount", "money", True, "amount received, > 0"),
    )),
    Table("contacts", True, "one row per contact made (attempts included)", (
        Column("account", "id", True, "account number (in accounts)"),
        Column("day", "day", True, "the day it was made"),
        Column("hour", "int", True, "local hour it was made, 0-23", low=0, high=23),
        Column("channel", "category", True, "the channel", values=tuple(CHANNELS)),
        Column("outcome", "category", True, "what it led to (a promise, plan or settlement implies a right-party "
               "contact; rpc implies a connect)", values=CONTACT_OUTCOMES),
        Column("complaint", "bool", True, "the contact drew a complaint"),
        Column("opt_out", "bool", True, "the debtor asked not to be contacted on this channel again"),
        Column("promise_amount", "money", False, "the amount promised (outcome promise)"),
        Column("promise_day", "day", False, "the day the promised payment is due (outcome promise)"),
    )),
    Table("outcomes", False, "how accounts left collections (accounts still in collections have no row)", (
        Column("account", "id", True, "account number (in accounts), at most one row each"),
        Column("status", "category", True, "cured, paid, settled or charged_off", values=STATUSES),
        Column("day", "day", True, "the day it left collections"),
    )),
)

#: Column names that look like personal data, which collectsim never needs: refused by name.
PERSONAL_DATA: tuple[str, ...] = (
    "name", "first name", "last name", "surname", "full name", "phone", "mobile", "telephone", "cell",
    "email", "e-mail", "address", "street", "city", "zip", "postcode", "postal code", "ssn", "social security",
    "national id", "id card", "id number", "passport", "tax id", "birth", "dob", "iban", "card number",
)
_WORDS = re.compile(r"[^a-z0-9]+")


def looks_personal(column: str) -> bool:
    """Whether a column name looks like personal data (a :data:`PERSONAL_DATA` phrase as whole words)."""
    words = " " + " ".join(w for w in _WORDS.split(column.lower()) if w) + " "
    compact = words.replace(" ", "")
    return any(f" {p} " in words or (len(p) > 4 and p.replace(" ", "") in compact) for p in PERSONAL_DATA)


_KIND_TEXT = {"id": "integer ≥ 0", "day": "integer day ≥ 0 or date", "int": "integer", "money": "number ≥ 0",
              "float": "number", "bool": "true/false or 1/0", "category": "text"}


def schema_markdown() -> str:
    """The schema as the Markdown tables of ``docs/data.md`` (a test keeps the page current)."""
    lines = []
    for t in TABLES:
        lines += [f"### `{t.name}` ({'required' if t.required else 'optional'}): {t.description}", "",
                  "| column | type | required | meaning |", "| --- | --- | --- | --- |"]
        for c in t.columns:
            kind = _KIND_TEXT[c.kind]
            if c.values:
                kind += ": " + ", ".join(f"`{v}`" for v in c.values)
            elif c.low is not None or c.high is not None:
                kind += f" {c.low:g}–{c.high:g}" if c.low is not None and c.high is not None else ""
            lines.append(f"| `{c.name}` | {kind} | {'yes' if c.required else 'no'} | {c.description} |")
        lines.append("")
    return "\n".join(lines)
