"""The collectors' queue order: priority descending, ties (and ±0) in queue order, NaN last."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from collectsim.agents.collectors import queue_order


def _expected(p: np.ndarray) -> np.ndarray:
    """The definition, by Python's stable sort: (NaN last, −priority), then queue position."""
    key = [(bool(np.isnan(x)), 0.0 if np.isnan(x) else -float(x), j) for j, x in enumerate(p)]
    return np.array([j for *_, j in sorted(key)], dtype=np.int64)


_special = st.sampled_from([np.nan, -np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-45, -1e-45, 3e38, -3e38, 1.0, -1.0])


@settings(max_examples=150, deadline=None)
@given(
    dtype=st.sampled_from([np.float32, np.float64]),
    data=st.data(),
)
def test_queue_order_matches_the_definition(dtype, data):
    values = st.one_of(_special, st.floats(-1e6, 1e6, width=32), st.integers(-3, 3).map(float))
    p = data.draw(arrays(dtype, st.integers(0, 400), elements=values))
    assert np.array_equal(queue_order(p), _expected(p))


def test_queue_order_on_a_large_queue_uses_every_digit():
    rng = np.random.default_rng(4)
    p = (rng.random(200_000) * 1e7).astype(np.float32)
    p[::7] = p[3]  # many ties
    order = queue_order(p)
    assert np.array_equal(order, np.argsort(-p, kind="stable"))
