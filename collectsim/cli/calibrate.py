"""``collectsim calibrate``: fit the simulator to a collections history (``docs/data.md``).

``collectsim calibrate DATA [--base EXPERIMENT] [--reps N] [--seed S] [--jobs N] [--moment-accounts N] [--intensity-accounts N] [--check-accounts N] [--ignore-extra-columns] --out DIR``
runs :func:`collectsim.calibrate_history` and prints where the fitted experiment, the
parameter file and the report are, and how many parameters the data identified.
"""

from __future__ import annotations

import argparse

import collectsim
from collectsim.cli.args import SEED, int_arg

__all__ = ["COMMANDS"]


def _calibrate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="history folder (accounts, payments, contacts[, outcomes] as CSV or Parquet)")
    p.add_argument("--base", help="experiment whose other parameters the fit keeps (default: the default book)")
    p.add_argument("--reps", type=int_arg("reps"), default=8, help="simulated histories for the bands (default 8)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the simulated histories (default 0)")
    p.add_argument("--jobs", type=int_arg("jobs"), default=1, help="parallel workers (default 1)")
    p.add_argument("--moment-accounts", type=int_arg("moment accounts"), default=20_000,
                   help="accounts in each book the simulated moments run (default 20,000)")
    p.add_argument("--intensity-accounts", type=int_arg("intensity accounts"), default=10_000,
                   help="largest sample of accounts the repayment intensity's likelihood runs on (default 10,000)")
    p.add_argument("--check-accounts", type=int_arg("check accounts"), default=200_000,
                   help="largest book the fit checks and the backtest simulate; a larger history's bands are "
                        "rescaled from it (default 200,000)")
    p.add_argument("--ignore-extra-columns", action="store_true",
                   help="ignore columns outside the schema (personal-data columns are refused anyway)")
    p.add_argument("--out", help="folder to create (default results/calibrate-DATA-TIME)")


def _calibrate(args: argparse.Namespace) -> int:
    out, fit = collectsim.calibrate_history(args.data, out=args.out, base=args.base, reps=args.reps, seed=args.seed,
                                            jobs=args.jobs, ignore_extra_columns=args.ignore_extra_columns,
                                            moment_accounts=args.moment_accounts,
                                            intensity_accounts=args.intensity_accounts,
                                            check_accounts=args.check_accounts)
    params = fit["parameters"]
    ident = sum(1 for p in params.values() if p["identified"])
    print(f"wrote {out}")
    print(f"  {ident} of {len(params)} parameters identified by the data (fit.json)")
    print(f"  fitted experiment: {out / 'experiment.toml'}   (collectsim run {out / 'experiment.toml'})")
    print(f"  observed policy:   {out / 'observed_policy.toml'}")
    print(f"  report:            {out / 'report.html'}")
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "calibrate": ("fit the simulator to a collections history: fitted experiment, parameters with standard errors, "
                  "the observed policy, a fit report with a backtest", _calibrate_args, _calibrate),
}
