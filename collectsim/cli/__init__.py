"""The ``collectsim`` command line: a thin shell over the public Python API.

Each command module (``run.py``: run, check; ``compare.py``: compare, report;
``optimize.py``; ``sweep.py``: dose-response sweeps; ``facts.py``: the stylized-facts
scorecard; ``schema.py``: the file schema; ``app.py``: the interactive page; ``dashboard.py``:
optuna-dashboard on a study) declares its
sub-commands in a ``COMMANDS`` table; this module assembles the parser. Exit codes: 0
success, 2 bad input (one line on stderr naming the field, the value and what is allowed;
nothing half-written), 1 a check that failed (``facts``: a fact out of its range) or an
unexpected internal error.
"""

from __future__ import annotations

import argparse
import sys

import collectsim
from collectsim.cli import app, calibrate, compare, dashboard, facts, optimize, run, schema, sweep, synth
from collectsim.cli.args import Parser

__all__ = ["main", "build_parser", "COMMANDS"]

#: sub-command name -> (help, add_arguments, handler), in the order ``--help`` lists them
COMMANDS: dict[str, tuple] = {**run.COMMANDS, **optimize.COMMANDS, **compare.COMMANDS, **sweep.COMMANDS, **synth.COMMANDS, **calibrate.COMMANDS, **facts.COMMANDS,
                              **schema.COMMANDS, **app.COMMANDS, **dashboard.COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = Parser(prog="collectsim", description="Simulate, optimize and compare debt-collection strategies.")
    parser.add_argument("--version", action="version", version=f"collectsim {collectsim.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``collectsim`` console script."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # a bad option (one line printed, code 2), --help or --version
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    handler = COMMANDS[args.command][2]
    try:
        return handler(args)
    except collectsim.InputError as e:
        print(f"collectsim: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"collectsim: error: {args.command}: out of memory; nothing was written (no partial result folder); "
            "try fewer --accounts, fewer --days or fewer --jobs",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("collectsim: interrupted; no partial result folder was left", file=sys.stderr)
        return 130
    except Exception as e:
        if type(e).__name__ != "TerminatedWorkerError":  # joblib: a worker process was killed
            raise
        print(
            f"collectsim: error: {args.command}: a worker process was killed (out of memory?); nothing was written; "
            "try fewer --jobs or fewer --accounts",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
