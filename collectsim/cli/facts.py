"""``collectsim facts``: the stylized-facts scorecard of an experiment's book.

``collectsim facts [EXPERIMENT] [--accounts N] [--reps R] [--seed S] [--policy P] [--jobs J] [--out DIR]``
runs :func:`collectsim.stylized_facts`, prints one row per fact (the model's value ± its
standard error, the reference range, pass or FAIL, the source) and writes ``facts.json`` and
``facts.md``. Exit code 0 when every fact is in its range, 1 when one is not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys

import collectsim
from collectsim.cli.args import JOBS, SEED, int_arg

__all__ = ["COMMANDS"]


def _facts_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", nargs="?", help="experiment TOML file (default: the default scenario, seed-champion)")
    p.add_argument("--accounts", type=int_arg("accounts"), default=20_000,
                   help="accounts of each run (default 20,000)")
    p.add_argument("--reps", type=int_arg("reps", 2, note=" (a standard error needs two replications)"), default=4,
                   help="replications (independent seeds), >= 2 (default 4)")
    p.add_argument("--seed", type=SEED, help="first seed (default: the file's [run].seed)")
    p.add_argument("--policy", help="policy of the book run (default: the file's [run].policy)")
    p.add_argument("--jobs", type=JOBS, default=1, help="parallel worker processes (default 1; -1: all cores)")
    p.add_argument("--out", help="folder to create (default: results/facts-NAME-TIME)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")


def _facts(args: argparse.Namespace) -> int:
    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"collectsim facts: run {done} of {total}", file=sys.stderr, flush=True)

    out, card = collectsim.stylized_facts(
        args.experiment, accounts=args.accounts, reps=args.reps, seed=args.seed, policy=args.policy,
        jobs=args.jobs, out=args.out, progress=progress,
    )
    print(card.table())
    n_pass = sum(r.passed for r in card.rows)
    print(f"{n_pass} of {len(card.rows)} facts in range ({card.accounts:,} accounts, {card.reps} replications, "
          f"policy {card.policy}); wrote {out}")
    return 0 if card.passed else 1


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "facts": ("score a book against the stylized facts of the evidence (roll rates, contact rates, effects, "
              "charge-offs, complaints)", _facts_args, _facts),
}
