"""``collectsim run`` and ``collectsim check``."""

from __future__ import annotations

import argparse
import json
import sys

import collectsim
from collectsim.cli.args import SEED, int_arg, policy_arg

__all__ = ["COMMANDS"]


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file (see experiments/)")
    p.add_argument("--policy", type=policy_arg(), help="built-in policy name or a policy TOML file (default: the file's [run].policy)")
    p.add_argument("--seed", type=SEED, help="replication seed (default: the file's [run].seed)")
    p.add_argument("--accounts", type=int_arg("accounts"), help="override portfolio.accounts")
    p.add_argument("--days", type=int_arg("days"), help="override portfolio.horizon_days")
    p.add_argument("--out", help="result folder to create (default: results/run-NAME-TIME-seedN)")
    p.add_argument("--log-contacts", action="store_true", help="also write contacts.parquet")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _run(args: argparse.Namespace) -> int:
    from collectsim.reports import format_value  # lazy: start-up time
    from collectsim.results import RUN_SUMMARY  # lazy: start-up time

    exp = collectsim.load_experiment(args.experiment, accounts=args.accounts, days=args.days)
    bar = None

    def progress(done: int, total: int) -> None:  # the bar appears once the run has started
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            from tqdm import tqdm  # lazy: start-up time

            bar = tqdm(total=total, unit="day", desc=exp.name, file=sys.stderr, leave=False)
        bar.update(1)

    try:
        out, result = collectsim.run_experiment(
            exp, policy=args.policy, seed=args.seed, out=args.out, log_contacts=args.log_contacts or None,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    meta, kpis = result.meta, result.kpis
    print(f"wrote {out}")
    print(
        f"policy {meta['policy']}, seed {meta['seed']}, {meta['accounts']:,} accounts x "
        f"{meta['days']} days in {meta['wall_seconds']:.1f} s"
    )
    for name in RUN_SUMMARY:
        if name not in kpis:
            continue
        value = kpis[name]
        shown = "-" if value is None else format_value(name, value)
        print(f"  {name:<28}{shown:>16}")
    if "net_value" in kpis:
        parts = " ".join(
            f"{sign} {label} {format_value(name, kpis[name]).lstrip('−')}"
            for sign, label, name in (
                ("", "cash", "discounted_collected"), ("−", "cost", "discounted_treatment_cost"),
                ("+", "cured", "cured_value"), ("+", "debt sale", "debt_sale_value"), ("+", "residual", "residual_value"),
            )
        ).strip()
        print(f"  net value = {parts} (discounted; docs/model.md §10)")
    for team, share in (kpis.get("utilisation") or {}).items():
        used = "-" if share is None else format_value("recovery_rate", share)
        left = kpis.get("unworked_by_team", {}).get(team, 0)
        print(f"  team {team:<23}{used:>16} of its minutes used, {left:,} requested attempts left unworked")
    print(f"  report: {out / 'report.html'}")
    return 0


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file")
    p.add_argument("--policy", type=policy_arg(), help="also check this policy name or file")
    p.add_argument("--json", action="store_true", help="print the resolved configuration as JSON instead of TOML")


def _check(args: argparse.Namespace) -> int:
    import tomli_w  # lazy: start-up time

    from collectsim.experiments import plan_run  # lazy: start-up time

    exp = collectsim.load_experiment(args.experiment)
    cfg = plan_run(exp, policy=args.policy).config
    for key, section in exp.sections.items():
        cfg[key] = section.model_dump(mode="json", exclude_none=True)
    print(json.dumps(cfg, indent=2) if args.json else tomli_w.dumps(cfg), end="")
    print(f"# {args.experiment}: OK", file=sys.stderr)
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "run": ("simulate an experiment once and write a result folder (data, plots, report)", _run_args, _run),
    "check": ("validate an experiment file and print its resolved configuration", _check_args, _check),
}
