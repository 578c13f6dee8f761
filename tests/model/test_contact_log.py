"""The contact log: days joined into one frame once, every row and value kept."""

import numpy as np
import pytest

from collectsim.model.contact_log import LOG_COLUMNS, ContactLog


def _day(rng, n):
    return dict(account=rng.integers(0, 1000, n), hour=rng.integers(8, 21, n), seq=rng.integers(0, 5, n),
                channel=rng.integers(0, 6, n), connected=rng.random(n) < 0.5, reached=rng.random(n) < 0.2,
                outcome=rng.integers(0, 3, n), complaint=rng.random(n) < 0.01, opted_out=rng.random(n) < 0.01)


def test_the_frame_is_the_days_in_order_built_once_and_then_frozen():
    rng = np.random.default_rng(3)
    log, days = ContactLog(), []
    for d, n in enumerate([5, 0, 7, 3]):
        day = _day(rng, n)
        days.append((d, {k: v.copy() for k, v in day.items()}))
        log.append(day=d, **day)
    df = log.frame()
    assert list(df.columns) == list(LOG_COLUMNS) and len(df) == 15
    assert df["day"].tolist() == [d for d, day in days for _ in range(len(day["account"]))]
    for c in ("account", "hour", "seq", "connected", "reached", "complaint", "opted_out"):
        assert df[c].tolist() == [x for _, day in days for x in day[c].tolist()], c
    assert df["channel"].cat.codes.tolist() == [x for _, day in days for x in day["channel"].tolist()]
    assert log.frame() is df  # built once
    with pytest.raises(RuntimeError, match="already"):
        log.append(day=4, **_day(rng, 2))
