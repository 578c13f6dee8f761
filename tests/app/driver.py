"""Driving ``collectsim app`` as a manager does: the real server in a subprocess, the real page
in headless Chromium (Playwright). Shared by ``tests/app/test_app.py`` and
``scripts/screenshots.py``.

Every wait is explicit (an element, a text, a state); nothing sleeps to synchronise.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: headless Debian Chromium: no sandbox (root in CI), no GPU, no network besides the page
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
#: the longest a whole comparison may take in the page (a cold numba cache compiles first)
RUN_TIMEOUT_MS = 300_000
_URL = re.compile(r"serving on (http://\S+)")


def chromium() -> str | None:
    """The Chromium binary (Debian's ``/usr/bin/chromium`` first), or None."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class AppServer:
    """``python -m collectsim app --port 0`` in a subprocess; :attr:`url` once it listens.

    Use as a context manager: the server is interrupted (Ctrl-C) and waited for on exit,
    killed if it does not stop.
    """

    cwd: Path = ROOT
    timeout: float = 120.0
    process: subprocess.Popen | None = None
    url: str = ""

    def start(self) -> AppServer:
        """Start the server (returns at once; :meth:`wait` for its URL)."""
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "collectsim", "app", "--host", "127.0.0.1", "--port", "0"],
            cwd=self.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []

        def read() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        return self

    def wait(self) -> str:
        """Wait until the server announces its URL (it then accepts connections); return the URL."""
        while not self.url:
            try:
                line = self._lines.get(timeout=self.timeout)
            except queue.Empty:
                self.__exit__(None, None, None)
                raise RuntimeError(f"collectsim app did not announce its URL in {self.timeout:.0f} s") from None
            if line is None:
                raise RuntimeError("collectsim app exited before serving:\n" + "".join(self.output))
            m = _URL.search(line)
            if m:
                self.url = m.group(1)
        return self.url

    def __enter__(self) -> AppServer:
        if self.process is None:
            self.start()
        self.wait()
        return self

    def __exit__(self, *exc) -> None:
        p = self.process
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)


def launch(playwright):
    """Headless Debian Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)


# ------------------------------------------------------------------ the page -------------
def open_app(page, url: str) -> None:
    """Load the page and wait until the controls are there (a ready experiment chosen)."""
    page.goto(url)
    page.locator(".collectsim-plan").wait_for(timeout=60_000)


def select(page, label: str, option: str) -> None:
    """Choose ``option`` in the select labelled ``label`` and wait until it shows."""
    field = page.locator(".v-select", has=page.locator("label", has_text=re.compile(f"^{re.escape(label)}$")))
    field.locator(".v-select__slot").click()
    page.locator(".menuable__content__active .v-list-item__title").get_by_text(option, exact=True).click()
    field.locator(".v-select__selection", has_text=option).wait_for()


def fill(page, label: str, value) -> None:
    """Type ``value`` into the text field labelled ``label`` and commit it (Enter)."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def upload(page, kind: str, path: Path) -> None:
    """Upload ``path`` through the page's ``experiment`` or ``policy`` upload button."""
    page.set_input_files(f'input[data-upload="{kind}"]', str(path))


def error_line(page, where: str, changed_from: str | None = None, timeout: float = 60_000) -> str:
    """The one-line error shown for ``where`` (``experiment``, ``policy``, ``run`` or ``job``);
    with ``changed_from``, wait until the line says something else (a new error)."""
    loc = page.locator(f".collectsim-error-{where}")
    if changed_from is None:
        loc.wait_for(timeout=timeout)
    else:
        loc.filter(has_not_text=re.compile(f"^{re.escape(changed_from)}$")).wait_for(timeout=timeout)
    return loc.inner_text()


def configure(page, *, experiment: str, policies: list[str], accounts: int, days: int, reps: int, seed: int,
              levers: dict[str, float] | None = None) -> None:
    """Set every input, then wait until the page's plan line says exactly that."""
    select(page, "experiment", experiment)
    page.locator(".collectsim-plan", has_text=re.compile(r"^Run: ")).wait_for()
    for i, name in enumerate(policies):
        select(page, "champion" if i == 0 else f"challenger {i}", name)
    for i in range(len(policies), 4):
        if i >= 2:
            select(page, f"challenger {i}", "—")
    fill(page, "accounts", accounts)
    fill(page, "days", days)
    fill(page, "first seed", seed)
    fill(page, "replications", reps)
    for label, value in (levers or {}).items():
        fill(page, label, value)
    plan = (f"Run: {' vs '.join(policies)}; {accounts:,} accounts × {days} days; "
            f"{reps} replications on seeds {seed}–{seed + reps - 1}.")
    page.locator(".collectsim-plan").get_by_text(plan, exact=True).wait_for()


def run_and_wait(page, timeout: float = RUN_TIMEOUT_MS) -> None:
    """Press Run; wait for the live charts, then for the comparison to finish."""
    page.locator(".collectsim-run").click()
    page.locator(".collectsim-phase-live, .collectsim-phase-replications, .collectsim-phase-done").first.wait_for(
        timeout=timeout)
    page.locator(".collectsim-charts img").wait_for(timeout=timeout)
    page.locator(".collectsim-phase-done, .collectsim-error-job").first.wait_for(timeout=timeout)


def cell(page, table: str, policy: str, css: str, kpi: str | None = None) -> str:
    """The text of one table cell: ``table`` is ``kpis`` or ``live``."""
    row = f'.collectsim-{table} tr[data-policy="{policy}"]' + (f'[data-kpi="{kpi}"]' if kpi else "")
    return page.locator(f"{row} {css}").first.inner_text().strip()
