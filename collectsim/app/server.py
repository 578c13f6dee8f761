"""The web server ``collectsim app`` starts: Solara's Starlette app under uvicorn, on 127.0.0.1 by default.

:func:`serve` binds the socket itself (so ``--port 0`` picks a free port and a port in use
is a one-line error), announces the URL once the socket listens, and runs until Ctrl-C.
Solara's browser files come from the ``solara-assets`` package: nothing is fetched from the
internet, and Solara's telemetry is switched off.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import warnings
from collections.abc import Callable
from pathlib import Path

from collectsim.app import config
from collectsim.errors import InputError

__all__ = ["serve", "bind", "url_of"]

#: the module Solara serves as the page
PAGE = "collectsim.app.page"


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port); :class:`InputError` if impossible."""
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as e:
        raise InputError(f"host = {host!r}: not an address this machine can listen on ({e.strerror})") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
        sock.listen(128)
    except OSError as e:
        sock.close()
        raise InputError(f"port = {port}: cannot listen on {host}:{port} ({e.strerror}); choose another with --port") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    """The URL of the page served on ``sock``."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    experiments: str | Path | None = None,
    jobs: int = 1,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the app on ``host``:``port`` until interrupted; ``announce(url)`` once it listens.

    Parameters
    ----------
    host, port:
        Where to listen (default 127.0.0.1:8765; port 0 picks a free one).
    experiments:
        The folder of ready experiment files (default ``./experiments``; its ``policies/``
        subfolder holds the ready policy files).
    jobs:
        Worker processes of the replications (1: in the server's process).
    announce:
        Called with the URL once the server accepts connections.
    """
    folder = Path(experiments) if experiments is not None else config.default_experiments()
    if not folder.is_dir():
        raise InputError(f"experiments = {str(folder)!r}: no such folder")
    missing = [m for m in ("solara", "uvicorn", "solara_assets") if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(f"the app needs its optional dependencies ({', '.join(missing)} missing): "
                         "pip install 'collectsim[app]'")
    config.configure(experiments=folder, jobs=jobs)
    sock = bind(host, port)
    url = url_of(sock)
    # read by Solara when its server module is imported: the page, no telemetry, headless plots
    os.environ.update(
        SOLARA_APP=PAGE,
        SOLARA_TELEMETRY_MIXPANEL_ENABLE="False",
        SOLARA_MODE="production",
        SERVER_NAME=str(sock.getsockname()[0]),
        SERVER_PORT=str(sock.getsockname()[1]),
        MPLBACKEND="Agg",
    )
    warnings.filterwarnings("ignore", message="Cookies with samesite=none")
    import uvicorn  # lazy: start-up time

    importlib.import_module(PAGE)  # load the page (Solara, the model, matplotlib) before the first visitor

    server = uvicorn.Server(
        uvicorn.Config("solara.server.starlette:app", log_level="warning", access_log=False, lifespan="on")
    )
    announce(url)
    server.run(sockets=[sock])
