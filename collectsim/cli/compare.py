"""``collectsim compare`` and ``collectsim report`` (thin shells over the API).

``collectsim compare EXPERIMENT.toml [--policy P ...] [--reps N] [--jobs N] [--target-ci X] [--out DIR]``
runs :func:`collectsim.compare_experiment`: a result folder with the data files, the plots
and the report; ``collectsim report DIR`` rebuilds the report of any
run, compare, sweep, optimize or calibrate folder (:func:`collectsim.build_report`).
"""

from __future__ import annotations

import argparse

import collectsim
from collectsim.cli.args import JOBS, SEED, int_arg, policy_arg, positive_float

__all__ = ["COMMANDS"]

_reps = int_arg("reps", 2, note=" (an interval needs two replications)")


def _compare_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file with a [compare] table (see experiments/compare.toml)")
    p.add_argument(
        "--policy",
        action="append",
        type=policy_arg(),
        metavar="POLICY",
        help=("a challenger (built-in name or policy file); repeat for several; replaces [compare].challengers "
              "(and drops the [compare].also_against references that were among them)"),
    )
    p.add_argument("--champion", type=policy_arg("champion"), help="the champion policy (default: [compare].champion, else [run].policy)")
    p.add_argument("--reps", type=_reps, help="replications per policy, >= 2 (default: [compare].reps)")
    p.add_argument("--jobs", type=JOBS, default=1, help="parallel worker processes (default 1; -1: all cores)")
    p.add_argument(
        "--target-ci",
        type=positive_float("target-ci"),
        metavar="HALFWIDTH",
        help="add replications until the headline difference's 95%% CI half-width is at most this "
        "(headline unit, e.g. currency per 1,000 accounts) or --max-reps is reached",
    )
    p.add_argument("--max-reps", type=_reps, help="cap on replications with --target-ci (default: [compare].max_reps)")
    p.add_argument("--seed", type=SEED, help="first seed (default: [compare].seed, else [run].seed)")
    p.add_argument("--accounts", type=int_arg("accounts"), help="override portfolio.accounts")
    p.add_argument("--days", type=int_arg("days"), help="override portfolio.horizon_days")
    p.add_argument("--no-variants", action="store_true", help="skip the stress variants")
    p.add_argument("--out", help="result folder to create (default: results/compare-NAME-TIME)")
    p.add_argument("--quiet", action="store_true", help="no progress messages or bars (replications, stress variants, report plots)")


def _compare(args: argparse.Namespace) -> int:
    from collectsim.experiments import ProgressBars  # lazy: start-up time
    from collectsim.reports import contrast_sentences, headline_sentences  # lazy: start-up time

    with ProgressBars("collectsim compare: ", enabled=not args.quiet) as bars:
        out, result = _compare_run(args, bars)
    summary = result.summary()
    print(f"wrote {out}")
    for line in headline_sentences(result.table, summary):
        print(f"  {line}")
    for line in contrast_sentences(result.contrasts, summary):
        print(f"  {line}")
    st = result.stopping
    tail = ""
    if st["target_ci"] is not None:
        tail = (
            f" (target half-width {st['target_ci']:g}: {st['reason']}; "
            f"achieved {st['achieved_halfwidth']:,.4g} {st['unit']})"
        )
    print(
        f"  {st['reps']} replications per policy{tail}; "
        f"{result.meta['simulations']} simulations in {result.meta['wall_seconds']:.1f} s"
    )
    print(f"  report: {out / 'report.html'}")
    return 0


def _compare_run(args: argparse.Namespace, bars):
    return collectsim.compare_experiment(
        args.experiment,
        accounts=args.accounts,
        days=args.days,
        out=args.out,
        champion=args.champion,
        challengers=args.policy,
        reps=args.reps,
        jobs=args.jobs,
        variants=[] if args.no_variants else None,
        target_ci=args.target_ci,
        max_reps=args.max_reps,
        seed=args.seed,
        progress=bars,
    )


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="a result folder of collectsim run, compare, sweep, optimize or calibrate")


def _report(args: argparse.Namespace) -> int:
    files = collectsim.build_report(args.folder)
    print(f"wrote {files[0]}")
    print(f"wrote {files[1]}")
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "compare": ("run a champion against challengers on the same seeds, with stress variants and a report",
                _compare_args, _compare),
    "report": ("rebuild report.html and report.md of a run, compare, sweep, optimize or calibrate result folder", _report_args,
               _report),
}
