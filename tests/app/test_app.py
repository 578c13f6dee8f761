"""``collectsim app`` in a real browser: the real server (a subprocess on a free loopback port)
driven through headless Debian Chromium with Playwright, as a manager uses it.

A small comparison run on the page must show exactly what :func:`collectsim.compare` gives
for the same scenario, policies and seeds (formatted as the reports format it); a bad upload
must show the one line the command line prints for the same file; the server stops after.
Without Chromium or Playwright the tests skip on a developer's machine and fail in CI.
"""

from __future__ import annotations

import dataclasses
import html
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import collectsim
from collectsim.cli import main as cli_main
from collectsim.reports import format_diff, format_interval, format_number, format_value, headline_sentences
from tests.app import driver

ROOT = driver.ROOT
QUICK = ROOT / "experiments" / "quickstart.toml"
POLICIES = ["seed-champion", "sms-only"]
ACCOUNTS, DAYS, REPS, SEED = 1500, 30, 3, 42
PHONE = 200.0  # phone collectors per 100,000 accounts (the file's default is 60)


def _need_browser():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing, sync_playwright = "playwright (pip install 'collectsim[test]')", None
    if missing is None and driver.chromium() is None:
        missing = "chromium (bash scripts/ensure_chromium.sh installs it)"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{missing} not installed; CI must run the browser test")
        pytest.skip(f"{missing} not installed")
    return sync_playwright


def test_playwright_and_chromium_are_there():
    """Skips on a developer's machine without them; fails in CI (the other tests then error in setup)."""
    _need_browser()
    assert Path(driver.chromium()).is_file()


@pytest.fixture(scope="module")
def app():
    """(server, browser): the server starts while the browser launches; both stop after the module."""
    sync_playwright = _need_browser()
    srv = driver.AppServer().start()
    try:
        with sync_playwright() as p:
            browser = driver.launch(p)
            with srv:
                assert srv.url.startswith("http://127.0.0.1:"), srv.url
                yield srv, browser
                browser.close()
    finally:
        srv.__exit__(None, None, None)
    assert srv.process.poll() is not None, "the server did not stop"


@pytest.fixture
def page(app):
    srv, browser = app
    ctx = browser.new_context(viewport={"width": 1400, "height": 1500}, accept_downloads=True)
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    driver.open_app(pg, srv.url)
    yield pg
    ctx.close()


def _cli_error(capsys, *args: str) -> str:
    """The one line the command line (its own entry point) prints on stderr for bad input, without
    its ``collectsim: error:`` prefix."""
    capsys.readouterr()
    assert cli_main(list(args)) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and line.startswith("collectsim: error: "), line
    return line.removeprefix("collectsim: error: ")


BAD_UPLOADS = [  # (upload button, file name, content): invalid TOML, an unknown key, a bad policy
    ("experiment", "broken.toml", "[portfolio]\naccounts = 1000\nhorizon_days =\n"),
    ("experiment", "typo.toml", "[portfolio]\naccount = 1000\n"),
    ("policy", "best_policy.toml", '[policy]\nname = "best"\ncolour = "red"\n'),
]


def test_a_bad_upload_shows_the_command_lines_one_line_error(page, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the command line is given the bare file names
    for kind, name, text in BAD_UPLOADS:
        (tmp_path / name).write_text(text)
        expected = _cli_error(capsys, *(("check", name) if kind == "experiment" else ("check", str(QUICK), "--policy",
                                                                                     name)))
        before = page.locator(f".collectsim-error-{kind}").all_inner_texts()
        driver.upload(page, kind, tmp_path / name)
        assert driver.error_line(page, kind, changed_from=before[0] if before else None) == expected
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and str(tmp_path) not in body
    # nothing bad was taken: the ready experiment is still chosen, no uploaded policy is offered
    assert page.locator(".collectsim-plan").inner_text().startswith("Run: seed-champion vs digital-first — policies/challenger.toml;")


def _api_comparison() -> collectsim.Comparison:
    """The same comparison through the API: the quickstart at 1,500 × 30 with 200 phone collectors per 100,000."""
    exp = collectsim.load_experiment(QUICK, accounts=ACCOUNTS, days=DAYS)
    data = exp.scenario.model_dump()
    for team in data["teams"]:
        if team["name"] == "phone":
            team["headcount"], team["headcount_per_100k"] = None, PHONE
    exp = dataclasses.replace(exp, scenario=collectsim.Scenario.model_validate(data))
    return collectsim.compare(exp, POLICIES[0], POLICIES[1:], reps=REPS, seed=SEED, variants=[])


def test_a_comparison_on_the_page_equals_the_api(page, tmp_path):
    driver.configure(page, experiment="quickstart.toml", policies=POLICIES, accounts=ACCOUNTS, days=DAYS, reps=REPS,
                     seed=SEED, levers={"phone collectors per 100,000 accounts": PHONE})
    with ThreadPoolExecutor(1) as pool:  # the API's run of the same comparison, while the page works
        api = pool.submit(_api_comparison)
        driver.run_and_wait(page)
        c = api.result()
    page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
    assert (tmp_path / "app.png").stat().st_size > 50_000
    assert page.locator(".collectsim-error-job").count() == 0, page.locator(".collectsim-error-job").inner_text()

    assert c.policies == POLICIES and c.seeds == [42, 43, 44]
    base = c.table[(c.table["variant"] == "base") & (c.table["scope"] == "all")].set_index(["kpi", "policy"])
    for kpi in ("net_value", "complaints_per_1k_accounts", "churn_rate", "recovery_rate"):
        for pol in POLICIES:
            r = base.loc[(kpi, pol)]
            mean = f"{format_value(kpi, r['mean'])} {format_interval(kpi, r['ci_low'], r['ci_high'])}"
            assert driver.cell(page, "kpis", pol, "td.mean", kpi) == mean, (kpi, pol)
            if pol != POLICIES[0]:
                diff = (f"{format_diff(kpi, r['diff'])} "
                        f"{format_interval(kpi, r['diff_ci_low'], r['diff_ci_high'], diff=True)}")
                assert driver.cell(page, "kpis", pol, "td.diff", kpi) == diff, (kpi, pol)

    sentences = headline_sentences(c.table, c.summary())
    shown = [s.strip() for s in page.locator(".collectsim-headline-sentence").all_inner_texts()]
    assert shown == sentences and sentences[0].startswith("Challenger sms-only is worth ")

    # the live run is the first replication, every policy on its seed, day by day
    assert page.locator(".collectsim-live-day").inner_text().startswith(f"Day {DAYS} of {DAYS}, seed {SEED}")
    daily = c.daily[(c.daily["variant"] == "base") & (c.daily["seed"] == SEED)]
    for pol in POLICIES:
        last = daily[daily["policy"] == pol].iloc[-1]
        assert driver.cell(page, "live", pol, 'td[data-metric="recovery_rate"]') == format_value(
            "recovery_rate", last["recovery_rate"])
        assert driver.cell(page, "live", pol, 'td[data-metric="collected"]') == format_number(
            last["collected_cum"] * 1000 / ACCOUNTS)

    with page.expect_download() as dl:
        page.get_by_text("Download report.html").click()
    report = Path(dl.value.path()).read_text(encoding="utf-8")
    assert dl.value.suggested_filename == "report.html"
    assert "Champion versus challengers" in report and html.escape(sentences[0]) in report
