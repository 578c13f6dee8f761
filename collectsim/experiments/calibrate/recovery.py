"""Parameter recovery: does the calibration find parameters it did not choose?

:func:`recovery_study` draws parameters at random inside :data:`STUDY_RANGES` (not only
the defaults), writes a history from each draw with ``collectsim synth``'s own code, reads
it back with :func:`~collectsim.history.read_history` (the path a user's data takes), fits it
with :func:`~collectsim.experiments.calibrate.calibrate.fit_history` and compares every
identified estimate with the truth: the share of 95 % intervals that cover it and the mean
error against its standard error. ``python -m collectsim.experiments.calibrate.recovery``
prints the table of docs/data.md.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["STUDY_RANGES", "STUDY_SCALES", "draw_parameters", "recover_one", "recovery_study", "summarize", "main"]

#: The box the study draws each parameter from, uniformly (a sub-box of the schema's bounds
#: where the quickstart book's policy makes them observable). ``segments.*`` names are set
#: for every segment.
STUDY_RANGES: dict[str, tuple[float, float]] = {
    "channels.sms.connect": (0.40, 0.90),
    "channels.email.connect": (0.15, 0.50),
    "channels.call.connect": (0.12, 0.40),
    "channels.visit.connect": (0.30, 0.80),
    "channels.sms.right_party": (0.70, 0.95),
    "channels.email.right_party": (0.70, 0.95),
    "channels.call.right_party": (0.15, 0.50),
    "channels.visit.right_party": (0.50, 0.90),
    "behaviour.answer_fatigue": (0.05, 0.30),
    "channels.sms.optout_prob": (0.005, 0.03),
    "channels.email.optout_prob": (0.005, 0.03),
    "behaviour.optout_irritation": (0.10, 0.60),
    "segments.*.reachability_sigma": (0.30, 0.70),
    "behaviour.complaint_base": (0.0005, 0.002),
    "behaviour.complaint_irritation": (0.10, 0.50),
    "portfolio.monthly_due_fraction": (0.03, 0.08),
    "behaviour.ptp_accept": (0.40, 0.95),
    "behaviour.plan_accept": (0.25, 0.70),
}
#: Scales drawn for the study (uniform on the log scale): every segment's field × one factor.
STUDY_SCALES: dict[str, tuple[float, float]] = {
    "segments.*.lambda_inf_per_year": (0.5, 2.0),
    "segments.*.delta2": (0.5, 2.0),
    "segments.*.delta10,delta11": (0.5, 2.0),  # one scale of both (the fit's excitation scale)
    "segments.*.kappa_per_year": (0.5, 2.0),
    "regimes.bankruptcy_per_year": (0.5, 2.0),
}


def draw_parameters(rng: np.random.Generator) -> dict[str, float]:
    """One draw of every study parameter (uniform in its range) and scale (``scale:NAME``,
    log-uniform)."""
    out = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in STUDY_RANGES.items()}
    out |= {f"scale:{name}": float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
            for name, (lo, hi) in STUDY_SCALES.items()}
    return out


def _config(base_file: str, draw: dict, accounts: int, days: int) -> dict:
    from collectsim.experiments.calibrate.calibrate import set_dotted  # lazy: start-up time
    from collectsim.experiments.files import load_experiment  # lazy: start-up time
    from collectsim.experiments.run import resolved_config  # lazy: start-up time

    exp = load_experiment(base_file, accounts=accounts, days=days)
    cfg = resolved_config(exp, exp.run.policy, exp.run.seed, days)
    for name, v in draw.items():
        if name.startswith("scale:segments.*."):
            for field in name.split(".")[-1].split(","):
                for seg in cfg["segments"]:
                    seg[field] = seg[field] * v
        elif name.startswith("scale:"):  # a list field, every entry × the factor
            section, field = name[len("scale:"):].split(".")
            cfg[section][field] = [x * v for x in cfg[section][field]]
        elif name.startswith("segments.*."):
            for i in range(len(cfg["segments"])):
                set_dotted(cfg, name.replace("*", str(i)), v)
        else:
            set_dotted(cfg, name, v)
    return cfg


def recover_one(k: int, *, seed: int, accounts: int, days: int, base_file: str, simulated: bool = True) -> list[dict]:
    """History ``k`` of a study: draw, simulate, write, read, fit — the book and contact fits,
    and with ``simulated`` the repayment level by simulated moments under the history's
    observed policy, as ``collectsim calibrate`` fits it; one row per fitted parameter that
    has a truth (``name, truth, estimate, se, lo, hi, identified``)."""
    from collectsim.experiments.calibrate.calibrate import (  # lazy: start-up time
        fit_history,
        with_intensity,
        with_simulated_moments,
    )
    from collectsim.experiments.calibrate.observed import (  # lazy: start-up time
        estimate_observed_policy,
        write_observed_policy,
    )
    from collectsim.experiments.calibrate.requested import requested_policy  # lazy: start-up time
    from collectsim.experiments.files import experiment_from_dict  # lazy: start-up time
    from collectsim.experiments.synth import synthesize  # lazy: start-up time
    from collectsim.history import read_history  # lazy: start-up time

    rng = np.random.default_rng([seed, k])
    draw = draw_parameters(rng)
    cfg = _config(base_file, draw, accounts, days)
    exp = experiment_from_dict(cfg, name=f"recovery-{k}", base_dir=Path(base_file).parent)
    base = experiment_from_dict(_config(base_file, {}, accounts, days), name="base",
                                base_dir=Path(base_file).parent)
    with tempfile.TemporaryDirectory() as tmp:
        synthesize(exp, tmp, policy=cfg["run"]["policy"], seed=seed * 1000 + k)
        truth = json.loads((Path(tmp) / "truth.json").read_text())["parameters"]
        h = read_history(tmp)
        fitted, estimates = fit_history(h, base)
        fitted, estimates = with_intensity(h, fitted, estimates, seed=k)
        if simulated:
            policy = Path(tmp) / "observed_policy.toml"
            write_observed_policy(requested_policy(estimate_observed_policy(h, base.scenario), fitted,
                                                   seeds=(k * 1000 + 11,)), policy)
            _, estimates = with_simulated_moments(h, fitted, estimates, str(policy), seed=k)
    rows = []
    for e in estimates:
        if e.name not in truth or not isinstance(truth[e.name], (int, float)) or isinstance(truth[e.name], bool):
            continue
        rows.append({"history": k, "name": e.name, "truth": float(truth[e.name]), "estimate": float(e.estimate),
                     "se": e.se, "lo": e.ci95[0] if e.ci95 else None, "hi": e.ci95[1] if e.ci95 else None,
                     "identified": e.identified, "drawn": any(e.name == n or (n.startswith("segments.*.")
                                                             and e.name.split(".")[-1] in n.split(".")[-1].split(",")
                                                             and e.name.startswith("segments."))
                                                             or (not n.startswith("segments.")
                                                                 and e.name.startswith(n + "."))
                                                             for n in (*STUDY_RANGES, *STUDY_SCALES))})
    return rows


def recovery_study(n: int = 20, *, seed: int = 0, accounts: int = 4000, days: int = 90, jobs: int = 1,
                   base_file: str | None = None, simulated: bool = True) -> pd.DataFrame:
    """``n`` histories (see the module's docstring); one row per history × parameter."""
    from joblib import Parallel, delayed

    if base_file is None:
        base_file = str(Path(__file__).resolve().parents[3] / "experiments" / "quickstart.toml")
    out = Parallel(n_jobs=jobs)(delayed(recover_one)(k, seed=seed, accounts=accounts, days=days, base_file=base_file,
                                                    simulated=simulated)
                                for k in range(n))
    return pd.DataFrame([r for rows in out for r in rows])


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """Per identified, drawn parameter: histories where it was identified, coverage of the
    95 % intervals, the mean error, its standard error (sd of the errors / √n) and the mean
    reported standard error, and ``mean_z``: the reported z-scores' mean × √n (N(0, 1) when
    the estimates are unbiased and their standard errors right). What one factor sets counts
    once: the segments' σ and λ∞ (segment 0), the regimes' bankruptcy hazards (regime 1)."""
    d = df[df["identified"] & df["drawn"] & ~df["name"].str.match(r"segments\.[1-9]|regimes\.bankruptcy_per_year\.2")].copy()
    d["covered"] = (d["lo"] <= d["truth"]) & (d["truth"] <= d["hi"])
    d["error"] = d["estimate"] - d["truth"]
    d["z"] = d["error"] / d["se"]
    g = d.groupby("name")
    out = pd.DataFrame({
        "histories": g.size(),
        "coverage": g["covered"].mean(),
        "mean_error": g["error"].mean(),
        "se_of_mean": g["error"].std(ddof=1) / np.sqrt(g.size()),
        "mean_se": g["se"].mean(),
    })
    out["mean_error_z"] = out["mean_error"] / out["se_of_mean"]
    out["mean_z"] = g["z"].mean() * np.sqrt(g.size())  # the mean of the reported z-scores, × √n: N(0, 1)
    return out.reset_index()


def main(argv: list[str] | None = None) -> int:
    """Run the study and print its Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--histories", type=int, default=20)
    p.add_argument("--accounts", type=int, default=4000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1)
    a = p.parse_args(argv)
    s = summarize(recovery_study(a.histories, seed=a.seed, accounts=a.accounts, days=a.days, jobs=a.jobs))
    print(f"{a.histories} histories × {a.accounts:,} accounts × {a.days} days (seed {a.seed})\n")
    print("| parameter | histories identified | 95 % coverage | mean error | its s.e. | z | mean reported s.e. | "
          "mean z-score × √n |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in s.itertuples():
        print(f"| `{r.name}` | {r.histories} | {r.coverage:.0%} | {r.mean_error:+.4g} | {r.se_of_mean:.3g} | "
              f"{r.mean_error_z:+.1f} | {r.mean_se:.3g} | {r.mean_z:+.1f} |")
    ok = bool(((s["coverage"] >= 0.85) & (s["mean_error_z"].abs() <= 2)).all()) if len(s) else False
    print(f"\nall identified parameters: coverage ≥ 85 % and |mean error| ≤ 2 s.e.: {'yes' if ok else 'no'}")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
