"""``collectsim sweep``: a dose-response sweep of one tier's contact levers.

``collectsim sweep EXPERIMENT [--reps R] [--seed S] [--jobs J] [--accounts N] [--days D] [--out DIR]``
runs :func:`collectsim.sweep_experiment` on the file's ``[sweep]`` table (see
``experiments/dose-response.toml``) and prints where the best value of the first KPI lies.
"""

from __future__ import annotations

import argparse
import sys

import collectsim
from collectsim.cli.args import JOBS, SEED, int_arg

__all__ = ["COMMANDS"]


def _sweep_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file with a [sweep] table (see experiments/dose-response.toml)")
    p.add_argument("--reps", type=int_arg("reps", 2, note=" (an interval needs two replications)"),
                   help="replications per grid point, >= 2 (default: [sweep].reps)")
    p.add_argument("--seed", type=SEED, help="first seed (default: [sweep].seed, else [run].seed)")
    p.add_argument("--jobs", type=JOBS, default=1, help="parallel worker processes (default 1; -1: all cores)")
    p.add_argument("--accounts", type=int_arg("accounts"), help="override portfolio.accounts")
    p.add_argument("--days", type=int_arg("days"), help="override portfolio.horizon_days")
    p.add_argument("--out", help="folder to create (default: results/sweep-NAME-TIME)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")


def _sweep(args: argparse.Namespace) -> int:
    from collectsim.reports import shape_sentences  # lazy: start-up time

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"collectsim sweep: {msg}", file=sys.stderr, flush=True)

    out, result = collectsim.sweep_experiment(
        args.experiment, accounts=args.accounts, days=args.days, reps=args.reps, seed=args.seed, jobs=args.jobs,
        out=args.out, progress=say,
    )
    print(f"wrote {out}")
    info = {"settings": result.settings.model_dump(mode="json"), "kpi": result.kpi, "shape": result.shape}
    for line in shape_sentences(info):
        print(f"  {line}")
    print(f"  report: {out / 'report.html'}")
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "sweep": ("sweep one tier's contacts per week over a grid (dose-response, paired replications, 95%% bands)",
              _sweep_args, _sweep),
}
