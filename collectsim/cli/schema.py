"""``collectsim schema [TABLE]``: the experiment-file schema — every table, or one table's
fields with their types, defaults, bounds and descriptions (the text of ``docs/scenario.md``)."""

from __future__ import annotations

import argparse

from collectsim.experiments import schema_text

__all__ = ["COMMANDS"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``collectsim schema``."""
    p.add_argument(
        "table",
        nargs="?",
        help="a table: portfolio, segments, channels.NAME, teams, rules, rules.extra, policy, policy.cells, "
        "optimize.params, ... (default: list the tables)",
    )


def run_schema(args: argparse.Namespace) -> int:
    """Handler: print the list of tables, or the fields of ``args.table`` (exit 2 for an unknown table)."""
    print(schema_text(args.table), end="")
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "schema": ("print the experiment-file schema: tables, or one table's fields, types, defaults and bounds",
               add_arguments, run_schema),
}
