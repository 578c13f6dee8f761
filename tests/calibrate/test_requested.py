"""The requested frequencies: re-run by the engine, the table contacts as the history did.

A history of the quickstart book under the seed-champion table, its collectors too few for
every request (the high tier, last in the priority order, is cut). The executed table (the
observed policy's frequencies) re-run under the same capacity is cut again: some main cell's
frequency falls more than 3 standard errors (``√(se_data² + se_sim²)``) below the data's.
The requested table re-run — on a seed other than the one it was fitted on, so the check is
not the fit's own — executes every main cell (200 contacts or more in the data) within 3
standard errors of the data's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import collectsim
from collectsim.experiments.calibrate.observed import estimate_observed_policy, write_observed_policy
from collectsim.experiments.calibrate.requested import executed_gaps, requested_policy, simulation_config
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.run import resolved_config
from collectsim.experiments.synth import simulate_history

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "quickstart.toml"
ACCOUNTS, DAYS, N_SIM, MAIN, Z = 3000, 60, 6000, 200, 3.0


def _rerun(cfg: dict, est, seed: int, tmp: Path):
    """The executed frequencies of ``est``'s table re-run in the simulated book (seed ``seed``)."""
    path = tmp / f"policy-{seed}.toml"
    write_observed_policy(est, path)
    exp = experiment_from_dict(cfg, name="rerun")
    return estimate_observed_policy(simulate_history(exp, policy=str(path), seed=seed), exp.scenario).frequencies


def test_requested_table_executes_the_data_frequencies(tmp_path):
    exp = collectsim.load_experiment(EXPERIMENT, accounts=ACCOUNTS, days=DAYS)
    config = resolved_config(exp, "seed-champion", 1, DAYS)
    h = simulate_history(exp, policy="seed-champion", seed=1)
    observed = estimate_observed_policy(h, exp.scenario)
    sim_cfg, _ = simulation_config(config, N_SIM)

    before = executed_gaps(observed.frequencies, _rerun(sim_cfg, observed, 7, tmp_path))
    main = before["contacts"] >= MAIN
    assert main.sum() >= 8
    assert before.loc[main, "z"].min() < -Z, before[main].to_string()  # the executed table is cut again

    req = requested_policy(observed, config, n_sim=N_SIM, seeds=(5,))
    freq = req.frequencies
    asked = freq.dropna(subset=["requested_per_week"])
    assert (asked["requested_per_week"] >= asked["per_week"] - 1e-9).sum() >= len(asked) // 2  # cut: ask for more
    after = executed_gaps(observed.frequencies, _rerun(sim_cfg, req, 7, tmp_path))
    assert np.abs(after.loc[main, "z"]).max() <= Z, after[main].to_string()
    assert any(n.startswith("frequencies: requested") for n in req.notes)
    # the table written is the requested one; the executed frequencies stay in per_week
    cells = {(c["tiers"][0], c["buckets"][0]): c for c in req.policy["policy"]["cells"]}
    r = asked.iloc[0]
    field = f"{r['channel']}_per_week"
    assert cells[(r["tier"], r["bucket"])][field] == round(r["requested_per_week"], 4)
    assert np.allclose(freq["per_week"], observed.frequencies["per_week"])
