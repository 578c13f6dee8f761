"""``collectsim optimize``: search rule-table policies for an experiment (``docs/optimize.md``);
a thin shell over :func:`collectsim.optimize`."""

from __future__ import annotations

import argparse
import sys

import collectsim
from collectsim.cli.args import int_arg

__all__ = ["COMMANDS"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``collectsim optimize``."""
    p.add_argument("experiment", help="experiment TOML file with an [optimize] table (see experiments/optimize.toml)")
    p.add_argument("--trials", type=int_arg("trials"), help="trials in the study when done (default: optimize.trials)")
    p.add_argument("--jobs", type=int_arg("jobs"), help="local worker processes (default: optimize.jobs)")
    p.add_argument("--reps", type=int_arg("reps"), help="replications per trial on the search seeds (default: optimize.reps)")
    p.add_argument("--batch", type=int_arg("batch"), help="trials simulated together (default: max(4, 2 x jobs))")
    p.add_argument(
        "--storage",
        help="Optuna storage URL shared by several drivers (postgresql://..., sqlite:///...) "
        "(default: study.journal in the run folder)",
    )
    p.add_argument("--resume", action="store_true", help="continue the study in --out DIR (or in --storage)")
    p.add_argument("--backend", choices=("loky", "dask"), default="loky", help="where simulations run (default: loky)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --backend dask)")
    p.add_argument("--accounts", type=int_arg("accounts"), help="override portfolio.accounts")
    p.add_argument("--days", type=int_arg("days"), help="override portfolio.horizon_days")
    p.add_argument("--out", help="run folder (default: results/optimize-NAME-TIME); with --resume, the run to continue")
    p.add_argument("--quiet", action="store_true", help="no progress bars (search trials, validation simulations, report plots)")


def _num(x: float | None, sign: bool = False) -> str:
    from collectsim.reports import format_number  # lazy: start-up time

    return "-" if x is None else format_number(x, signed=sign)


def _fmt_ci(ci) -> str:
    if not ci or ci[0] is None:
        return "-"
    return f"[{_num(ci[0], True)}, {_num(ci[1], True)}]"


def run_optimize(args: argparse.Namespace) -> int:
    """Handler: run (or resume) a study, then print where the results are and the headline."""
    try:
        res = collectsim.optimize(
            args.experiment,
            trials=args.trials,
            jobs=args.jobs,
            reps=args.reps,
            batch=args.batch,
            storage=args.storage,
            resume=args.resume,
            backend=args.backend,
            scheduler=args.scheduler,
            out=args.out,
            accounts=args.accounts,
            days=args.days,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        where = f" --out {args.out}" if args.out else ""
        print(
            "collectsim: interrupted; completed trials are saved in the study; continue with: "
            f"collectsim optimize {args.experiment} --resume{where}"
            + (f" --storage {args.storage}" if args.storage else ""),
            file=sys.stderr,
        )
        return 130
    validation = res.validation
    search = validation["search"]
    states = ", ".join(f"{count} {state.lower()}" for state, count in sorted(search["states"].items()))
    print(f"wrote {res.out}")
    print(f"study {res.study.study_name!r}: {search['trials']} trials ({states}); {search['simulations']} simulations "
          f"in {search['wall_seconds']:.0f} s")
    best_info = validation["best"]
    print(f"objective: {validation['objective']['scalar']}")
    print(f"validation on {validation['replications']} held-out seeds (mean; paired difference vs the champion, "
          "95% CI):")
    champion = res.champion.validation
    print(f"  champion {res.champion.name:<28} objective {champion['objective']['mean']:>16,.0f}")
    for cand in res.candidates:
        diff = cand.vs_champion["objective"]
        mark = "*" if res.best is cand else " "
        cap = "" if cand.feasible else "  (breaks a cap)"
        print(
            f" {mark}trial {cand.trial:<5} {'':<23} objective {cand.validation['objective']['mean']:>16,.0f}  "
            f"diff {diff['mean_diff']:+,.0f} {_fmt_ci(diff['ci'])}{cap}"
        )
    if best_info["role"] == "champion":
        print("no candidate beat the champion on the validation seeds; best_policy.toml holds the champion")
    else:
        best = res.best
        rel = best_info["improvement_relative"]
        sig = "CI excludes 0" if best_info["ci95_excludes_zero"] else "CI includes 0: not a significant improvement"
        print(
            f"best: trial {best_info['trial']} -> best_policy.toml: objective {best_info['improvement']:+,.0f} "
            f"({100 * rel:+.1f} %) vs champion, 95% CI {_fmt_ci(best_info['ci95'])} ({sig})"
        )
        for kpi in ("net_value", "discounted_collected", "cured_value", "residual_value", "discounted_treatment_cost",
                    "net_recovery", "complaints_per_1k_accounts", "lost_clv", "churn_rate"):
            diff = best.vs_champion[kpi]
            print(
                f"  {kpi:<20} {_num(best.validation['mean'][kpi]):>14}  diff {_num(diff['mean_diff'], True)} "
                f"{_fmt_ci(diff['ci'])}"
            )
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "optimize": ("search policy parameters with Optuna and validate the best on held-out seeds", add_arguments,
                 run_optimize),
}
