"""The fitted experiment stays inside the schema: every estimate ``fit_history`` writes is
clipped to the bounds the scenario schema states, read from the schema (no list by hand).

The oracle is the schema's own validation: a value pushed beyond a bound and clipped must give
an experiment ``experiment_from_dict`` accepts, and the clipped value must sit on the bound the
schema's error names when the unclipped one is refused."""

from __future__ import annotations

import copy
import math

import pytest

from collectsim.errors import InputError
from collectsim.experiments.calibrate.calibrate import _clip_to_bounds, _field_bounds, fit_history, set_dotted
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.run import resolved_config
from collectsim.experiments.synth import simulate_history


@pytest.fixture(scope="module")
def fitted_names():
    base = experiment_from_dict({"portfolio": {"accounts": 1500, "horizon_days": 30}}, name="b")
    h = simulate_history(base, policy="seed-champion", seed=4)
    _, est = fit_history(h, base)
    cfg = resolved_config(base, "seed-champion", 0, 30)
    return base, cfg, [e.name for e in est if e.identified and isinstance(e.estimate, float)]


def test_every_fitted_float_is_clipped_into_what_the_schema_accepts(fitted_names):
    base, cfg, names = fitted_names
    assert len(names) >= 15
    checked = 0
    for name in names:
        bounds = _field_bounds(name)
        if bounds is None:
            continue
        for side, beyond in ((0, bounds[0] - 0.5), (1, bounds[1] + 0.5)):
            if not math.isfinite(bounds[side]):
                continue
            trial = copy.deepcopy(cfg)
            set_dotted(trial, name, beyond)
            with pytest.raises(InputError):  # the schema refuses the value beyond its bound
                experiment_from_dict(trial, name="t")
            clipped = _clip_to_bounds(name, beyond)
            assert clipped == bounds[side], (name, clipped)
            set_dotted(trial, name, clipped)
            experiment_from_dict(trial, name="t")  # and accepts the value clipped onto it
            checked += 1
    assert checked >= 20, checked


def test_bounds_come_from_the_schema_and_lists_keep_their_validators():
    assert _field_bounds("channels.sms.connect") == (0.0, 1.0)
    assert _field_bounds("segments.2.reachability_sigma") == (0.0, 3.0)
    assert _field_bounds("behaviour.complaint_out_of_hours")[0] == 1.0
    assert _field_bounds("channels.call.connect_by_hour.18") is None  # an item: the validator's [0, 10]
    assert _clip_to_bounds("channels.call.connect_by_hour.18", 12.0) == 10.0
    assert _field_bounds("behaviour.no_such_field") is None
    assert _clip_to_bounds("portfolio.accounts", 1500) == 1500  # not a float: as it is
