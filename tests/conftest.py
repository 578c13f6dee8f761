"""Shared fixtures; ``--runslow`` (or COLLECTSIM_SLOW=1) also runs tests marked slow."""

from __future__ import annotations

import os

import pytest

from collectsim.scenario import Scenario


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow") or os.environ.get("COLLECTSIM_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_scenario() -> Scenario:
    """A 3,000-account default scenario, 60 days: every mechanism active, fast."""
    return Scenario.model_validate({"portfolio": {"accounts": 3000, "horizon_days": 60}})
