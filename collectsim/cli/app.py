"""``collectsim app``: serve the interactive page (a thin shell over :func:`collectsim.app.serve`)."""

from __future__ import annotations

import argparse
import sys

from collectsim.cli.args import JOBS

__all__ = ["COMMANDS"]


def _port(v: str) -> int:
    """port: a whole number 0..65535 (0: a free one)."""
    try:
        x = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port = {v!r}: must be a whole number 0..65535") from None
    if not 0 <= x <= 65535:
        raise argparse.ArgumentTypeError(f"port = {v!r}: must be in 0..65535 (0: a free one)")
    return x


def _app_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8765, help="port to listen on (default 8765; 0: a free one)")
    p.add_argument("--experiments", metavar="DIR",
                   help="folder of ready experiment files, with policy files in DIR/policies (default: ./experiments)")
    p.add_argument("--jobs", type=JOBS, default=1,
                   help="worker processes for the replications (default 1: in the server; -1: all cores)")


def _app(args: argparse.Namespace) -> int:
    from collectsim.app import serve  # lazy: start-up time

    def announce(url: str) -> None:
        print(f"collectsim app: serving on {url} (Ctrl-C to stop)", flush=True)

    try:
        serve(args.host, args.port, experiments=args.experiments, jobs=args.jobs, announce=announce)
    except KeyboardInterrupt:
        pass
    print("collectsim app: stopped", file=sys.stderr)
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "app": ("serve the interactive page: compare policies live in a browser (needs the [app] extra)", _app_args,
            _app),
}
