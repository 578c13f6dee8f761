"""``collectsim synth``: a collections history written from a simulation (``docs/data.md``).

``collectsim synth EXPERIMENT [--policy P] [--seed S] [--accounts N] [--days N] [--format csv|parquet] --out DIR``
runs :func:`collectsim.synthesize_history` and prints the rows written per table.
"""

from __future__ import annotations

import argparse

import collectsim
from collectsim.cli.args import SEED, int_arg, policy_arg

__all__ = ["COMMANDS"]


def _synth_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file (the book, its world and its [run] policy)")
    p.add_argument("--policy", type=policy_arg(), help="the strategy the history records (default: [run].policy)")
    p.add_argument("--seed", type=SEED, help="seed (default: [run].seed)")
    p.add_argument("--accounts", type=int_arg("accounts"), help="override portfolio.accounts")
    p.add_argument("--days", type=int_arg("days"), help="override portfolio.horizon_days (the history's window)")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv", help="table files (default csv)")
    p.add_argument("--out", required=True, help="folder to create (new or empty)")


def _synth(args: argparse.Namespace) -> int:
    out, rows = collectsim.synthesize_history(args.experiment, out=args.out, policy=args.policy, seed=args.seed,
                                              accounts=args.accounts, days=args.days, fmt=args.format)
    print(f"wrote {out}")
    for name, n in rows.items():
        print(f"  {name:10s} {n:>12,} rows")
    print(f"  truth: {out / 'truth.json'}")
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "synth": ("write a collections history (accounts, payments, contacts, outcomes) simulated from an experiment, "
              "with the parameters that made it", _synth_args, _synth),
}
