"""The ``collectsim`` command line: a thin shell over the Python API.

Exit codes: 0 success, 2 bad input (one line on stderr naming the field, the value and what
is allowed; nothing half-written), 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import json
import sys

from collectsim.errors import InputError

__all__ = ["main", "build_parser", "COMMANDS", "command", "int_arg"]

#: sub-command name -> (help, add_arguments, handler); other layers register here
COMMANDS: dict[str, tuple] = {}


def command(name: str, help: str):
    """Decorator registering ``handler(args) -> int`` for sub-command ``name``."""

    def wrap(add_args):
        def deco(handler):
            COMMANDS[name] = (help, add_args, handler)
            return handler

        return deco

    return wrap


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def int_arg(name: str, minimum: int = 1, *, also: int | None = None, note: str = ""):
    """An argparse type: a whole number >= ``minimum`` (or exactly ``also``), with a one-line error."""

    def conv(v: str) -> int:
        try:
            x = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} = {v!r}: must be a whole number >= {minimum}{note}") from None
        if x < minimum and x != also:
            raise argparse.ArgumentTypeError(f"{name} = {v!r}: must be >= {minimum}{note}")
        return x

    return conv


_seed = int_arg("seed", 0)


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file (see experiments/)")
    p.add_argument("--policy", help="built-in policy name or a policy TOML file (default: the file's [run].policy)")
    p.add_argument("--seed", type=_seed, help="replication seed (default: the file's [run].seed)")
    p.add_argument("--accounts", type=int_arg("accounts"), help="override portfolio.accounts")
    p.add_argument("--days", type=int_arg("days"), help="override portfolio.horizon_days")
    p.add_argument("--out", help="result folder to create (default: results/run-NAME-TIME-seedN)")
    p.add_argument("--log-contacts", action="store_true", help="also write contacts.parquet")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@command("run", "simulate an experiment once and write a result folder")(_run_args)
def _run(args: argparse.Namespace) -> int:
    from collectsim.experiments.config import load_experiment
    from collectsim.experiments.run import run_experiment

    exp = load_experiment(args.experiment, accounts=args.accounts, days=args.days)
    bar = None

    def progress(done: int, total: int) -> None:  # the bar appears once the run has started
        nonlocal bar
        if args.quiet:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="day", desc=exp.name, file=sys.stderr, leave=False)
        bar.update(1)

    try:
        out, result = run_experiment(
            exp, policy=args.policy, seed=args.seed, out=args.out, log_contacts=args.log_contacts or None, progress=progress
        )
    finally:
        if bar is not None:
            bar.close()
    k = result.kpis
    print(f"wrote {out}")
    print(
        f"policy {result.meta['policy']}, seed {result.meta['seed']}, {result.meta['accounts']:,} accounts x "
        f"{result.meta['days']} days in {result.meta['wall_seconds']:.1f} s"
    )
    rows = [
        ("recovery_rate", f"{100 * k['recovery_rate']:.2f} %"),
        ("collected", f"{k['collected']:,.0f}"),
        ("net_recovery", f"{k['net_recovery']:,.0f}"),
        ("cure_rate", f"{100 * k['cure_rate']:.1f} %"),
        ("chargeoff_rate", f"{100 * k['chargeoff_rate']:.2f} %"),
        ("rpc_rate", "-" if k["rpc_rate"] is None else f"{100 * k['rpc_rate']:.1f} %"),
        ("kept_rate", "-" if k["kept_rate"] is None else f"{100 * k['kept_rate']:.1f} %"),
        ("complaints_per_1k", f"{k['complaints_per_1k']:.2f}"),
        ("churn_rate", "-" if k["churn_rate"] is None else f"{100 * k['churn_rate']:.1f} %"),
        ("lost_clv", f"{k['lost_clv']:,.0f}"),
        ("violations", str(k.get("violations_total", "-"))),
    ]
    if "discounted_collected" in k:
        rows.insert(2, ("discounted_collected", f"{k['discounted_collected']:,.2f}"))
    for name, val in rows:
        print(f"  {name:<22}{val:>16}")
    return 0


def _check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", help="experiment TOML file")
    p.add_argument("--policy", help="also check this policy name or file")
    p.add_argument("--json", action="store_true", help="print the resolved configuration as JSON instead of TOML")


@command("check", "validate an experiment file and print its resolved configuration")(_check_args)
def _check(args: argparse.Namespace) -> int:
    import tomli_w

    from collectsim.experiments.config import load_experiment
    from collectsim.experiments.run import resolved_config
    from collectsim.experiments.simulate import prepare_policy

    exp = load_experiment(args.experiment)
    pol = args.policy or exp.run.policy
    prepare_policy(exp.resolve_path(pol) if pol.endswith(".toml") else pol, exp.scenario)
    cfg = resolved_config(exp, pol, exp.run.seed, exp.scenario.portfolio.horizon_days)
    for key, sec in exp.sections.items():
        cfg[key] = sec.model_dump(mode="json", exclude_none=True)
    print(json.dumps(cfg, indent=2) if args.json else tomli_w.dumps(cfg), end="")
    print(f"# {args.experiment}: OK", file=sys.stderr)
    return 0


def _load_plugins() -> None:
    """Import the modules that register further sub-commands (optimize, compare, report)."""
    import importlib

    for mod in ("collectsim.experiments.optimize_cli", "collectsim.experiments.compare_cli"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered sub-command."""
    from collectsim import __version__

    _load_plugins()
    parser = _Parser(prog="collectsim", description="Simulate, optimize and compare debt-collection strategies.")
    parser.add_argument("--version", action="version", version=f"collectsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (help_text, add_args, _) in COMMANDS.items():
        add_args(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``collectsim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = COMMANDS[args.command][2]
    try:
        return handler(args)
    except InputError as e:
        print(f"collectsim: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("collectsim: interrupted; no partial result folder was left", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
