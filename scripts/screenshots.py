"""Regenerate the screenshots of the docs (``docs/img/``) in headless Chromium.

``app.png``: ``collectsim app`` after a comparison, driven as a manager drives it (the real
server, the real page: ``tests/app/driver.py``). ``report-run.png``, ``report-compare.png``
and ``report-optimize.png``: the top of the ``report.html`` of small run, compare and
optimize folders made here through the public API.

    .venv/bin/python scripts/screenshots.py              # everything (a few minutes on 2 cores)
    .venv/bin/python scripts/screenshots.py app          # only the app
    .venv/bin/python scripts/screenshots.py reports      # only the reports
"""

from __future__ import annotations

import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import collectsim  # noqa: E402
from tests.app import driver  # noqa: E402

IMG = ROOT / "docs" / "img"
EXPERIMENTS = ROOT / "experiments"


def _say(msg: str) -> None:
    print(f"screenshots: {msg}", file=sys.stderr, flush=True)


def app_screenshot(browser, out: Path) -> None:
    """The app after a comparison of the four policies of ``experiments/compare.toml``."""
    with driver.AppServer(cwd=ROOT) as srv:
        ctx = browser.new_context(viewport={"width": 1440, "height": 1850}, device_scale_factor=1)
        page = ctx.new_page()
        page.set_default_timeout(300_000)
        driver.open_app(page, srv.url)
        driver.configure(
            page,
            experiment="compare.toml",
            policies=["seed-champion", "sms-only", "max-legal", "digital-first — policies/challenger.toml"],
            accounts=5000, days=90, reps=4, seed=42,
        )
        driver.run_and_wait(page)
        page.locator(".collectsim-kpis").first.wait_for()
        page.screenshot(path=str(out), full_page=False)
        ctx.close()


def _optimize_experiment() -> collectsim.Experiment:
    """``experiments/optimize.toml``, small: 2,000 accounts × 60 days, 12 trials, few seeds."""
    data = tomllib.loads((EXPERIMENTS / "optimize.toml").read_text(encoding="utf-8"))
    data["optimize"].update(trials=12, reps=2, validation_reps=4, validate_top=2, prune=False)
    return collectsim.experiment_from_dict(data, source=str(EXPERIMENTS / "optimize.toml"), name="optimize-example",
                                           accounts=2000, days=60, base_dir=EXPERIMENTS)


def report_folders(tmp: Path) -> dict[str, Path]:
    """Small run, compare and optimize folders, each with its report.html."""
    _say("run folder")
    run, _ = collectsim.run_experiment(EXPERIMENTS / "quickstart.toml", accounts=5000, days=90, out=tmp / "run")
    _say("compare folder")
    cmp, _ = collectsim.compare_experiment(EXPERIMENTS / "compare.toml", accounts=3000, days=60, reps=4,
                                           out=tmp / "compare", jobs=2)
    _say("optimize folder")
    opt = collectsim.optimize(_optimize_experiment(), jobs=2, out=tmp / "optimize").out
    return {"run": run, "compare": cmp, "optimize": opt}


def report_screenshot(browser, html: Path, out: Path) -> None:
    """The top of a report as a 1280-pixel-wide browser shows it, every image loaded."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1700})
    page = ctx.new_page()
    page.goto(html.resolve().as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(out), full_page=False)
    ctx.close()


def main(argv: list[str]) -> int:
    """Write the screenshots named in ``argv`` (``app``, ``reports``; default both)."""
    from playwright.sync_api import sync_playwright

    which = set(argv) or {"app", "reports"}
    IMG.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with sync_playwright() as p:
        browser = driver.launch(p)
        if "app" in which:
            _say("the app (a comparison on the page)")
            app_screenshot(browser, IMG / "app.png")
            _say(f"wrote {IMG / 'app.png'}")
        if "reports" in which:
            with tempfile.TemporaryDirectory(prefix="collectsim-screenshots-") as tmp:
                for kind, folder in report_folders(Path(tmp)).items():
                    out = IMG / f"report-{kind}.png"
                    report_screenshot(browser, folder / "report.html", out)
                    _say(f"wrote {out}")
        browser.close()
    _say(f"done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
