"""``collectsim dashboard RESULT_DIR``: optuna-dashboard on an optimizer folder's study.

``collectsim dashboard RESULT_DIR [--host H] [--port N]`` serves optuna-dashboard (the
optional ``dashboard`` extra) on the study that ``collectsim optimize`` kept in the folder
(its embedded journal, or the storage URL its ``experiment.json`` records), on 127.0.0.1
unless ``--host`` says otherwise. A thin shell over :func:`collectsim.serve_dashboard`.
"""

from __future__ import annotations

import argparse
import sys

import collectsim
from collectsim.cli.app import _port

__all__ = ["COMMANDS"]


def _dashboard_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", help="an optimizer result folder (written by collectsim optimize)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=_port, default=8080, help="port to listen on (default 8080)")


def _dashboard(args: argparse.Namespace) -> int:
    def announce(url: str) -> None:
        print(f"collectsim dashboard: serving {url} (Ctrl-C to stop)", flush=True)

    try:
        collectsim.serve_dashboard(args.folder, host=args.host, port=args.port, announce=announce)
    except KeyboardInterrupt:
        pass
    print("collectsim dashboard: stopped", file=sys.stderr)
    return 0


#: sub-command name -> (help, add_arguments, handler)
COMMANDS = {
    "dashboard": ("open optuna-dashboard on an optimizer folder's study (needs the [dashboard] extra)",
                  _dashboard_args, _dashboard),
}
