"""The calibration job: a history in, a fitted experiment and the evidence for it out.

:func:`fit_history` estimates what the history identifies and returns the fitted
experiment's configuration with one :class:`~collectsim.experiments.calibrate.likelihood.Estimate`
per parameter; :func:`calibrate` writes the folder (``docs/data.md``, "Calibration").

What is estimated, and how:

- the **book** (moments of the accounts table): its size (the opening stock, and for an open
  book the daily inflow of the accounts that entered later), the window, the product, the
  monthly due fraction (instalment / balance), the opening stock's shares by DPD bucket,
  and a common scale of the segments' mean balances (the segments are not observed: their
  ratios keep the base's values);
- **contacts** (maximum likelihood, :mod:`~collectsim.experiments.calibrate.likelihood`):
  reach by channel and hour and its spread between accounts, right-party contact and
  answer fatigue, opt-outs and their growth with irritation, complaints;
- the **repayment level, promise and plan acceptance, the charge-off level** (simulated
  moments, jointly, :mod:`~collectsim.experiments.calibrate.moments`): a common scale of the
  segments' λ∞, ``ptp_accept``, ``plan_accept`` and a common scale of the regimes'
  bankruptcy hazards, matching the shares of the opening stock cured or paid and charged
  off and the promises and plans per conversation, the engine run under the observed policy
  (in :func:`calibrate`, which has the policy);
- everything else keeps the base experiment's value and is listed in ``fit.json`` as not
  identified by this version, with the reason: the intensity's heterogeneity, the ability
  regimes and the segments' shares have no tractable likelihood in a history (the regime
  and the segment are latent); the keeping of promises and plans and the acceptance of
  settlements.
"""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from collectsim.errors import InputError
from collectsim.experiments.calibrate.books import CHECK_ACCOUNTS, scaled_book
from collectsim.experiments.calibrate.intensity import INTENSITY_ACCOUNTS
from collectsim.experiments.calibrate.likelihood import _Z, Estimate, fit_contacts
from collectsim.experiments.experiment import Experiment
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.memory import release_memory
from collectsim.experiments.run import resolved_config
from collectsim.history.read import History
from collectsim.vocabulary.accounts import BUCKETS, dpd_buckets

__all__ = ["calibrate", "with_intensity", "with_simulated_moments", "roll_rate_table", "fit_history", "set_dotted", "NOT_ESTIMATED", "fitted_experiment"]

#: Parameters this version does not estimate (they keep the base's value), with the reason.
NOT_ESTIMATED: dict[str, str] = {
    "lambda_sigma": "the intensity's spread between accounts: needs simulated moments",
    "p_full_payment": "the share of repayments that clear the arrears: depends on the latent segment",
    "willingness_mean": "latent: only its product with the acceptance probabilities would be identified",
    "share": "the segments' shares: the segment is latent (needs a mixture fit)",
}
_BEHAVIOUR_NOT_ESTIMATED = {
    "ptp_keep": "not identified by a history here: a promise shows as kept when the account pays within its days, "
                "which the repayment intensity does as well; in the default book ptp_keep 0.3 -> 0.99 moves the "
                "kept rate 0.474 -> 0.476 (scripts/ptp_keep_identification.py, docs/data.md)",
    "plan_keep": "keeping depends on the latent ability (needs simulated moments)",
    "settle_accept": "a settlement depends on the offer made, which the contact table does not record",
}


def set_dotted(config: dict, name: str, value) -> None:
    """Set ``config``'s field at a dotted path (``segments.0.delta2``; list items by index)."""
    parts = name.split(".")
    node = config
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _get_dotted(config: dict, name: str):
    node = config
    for p in name.split("."):
        node = node[int(p)] if isinstance(node, list) else node[p]
    return node


def _book(h: History, base: Experiment) -> list[Estimate]:
    """The book's size, window, product, due fraction, entry buckets and balance scale."""
    a = h.accounts
    sc = base.scenario
    entry = a["entry_day"].to_numpy()
    n_stock, n_later = int((entry == 0).sum()), int((entry > 0).sum())
    out = [
        Estimate("portfolio.accounts", n_stock if n_later else int(len(a)), None, None,
                 "count of the accounts table's opening stock (entry day 0)" if n_later else
                 "count of the accounts table", True, sc.portfolio.accounts),
        Estimate("portfolio.horizon_days", int(h.days), None, None, "the history's window", True,
                 sc.portfolio.horizon_days),
    ]
    if n_later and h.days > 1:  # an open book: accounts entering after day 0, a Poisson count per day
        rate = n_later / (h.days - 1)
        se = math.sqrt(n_later) / (h.days - 1)
        out.append(Estimate("portfolio.inflow_per_day", rate, se, (max(rate - _Z * se, 0.0), rate + _Z * se),
                            "accounts entering after day 0 / (days − 1)", True,
                            sc.portfolio.inflow_per_day if sc.portfolio.inflow_per_day is not None else 0.0))
        later = np.asarray(dpd_buckets(a.loc[entry > 0, "dpd"].to_numpy(np.int64)))
        prior_in = sc.portfolio.inflow_entry_buckets or {}
        for i, name in enumerate(BUCKETS):
            k = int((later == i).sum())
            if k == 0 and not prior_in.get(name):
                continue
            p = k / n_later
            se_p = math.sqrt(max(p * (1 - p), 1e-12) / n_later)
            out.append(Estimate(f"portfolio.inflow_entry_buckets.{name}", p, se_p,
                                (max(p - _Z * se_p, 0.0), min(p + _Z * se_p, 1.0)),
                                "share of the accounts entering after day 0 in the bucket (binomial)", True,
                                float(prior_in.get(name, 0.0))))
    products = a["product"].astype(str).value_counts()
    out.append(Estimate("portfolio.product", products.index[0], None, None,
                        "the most frequent product of the accounts table", True, sc.portfolio.product,
                        "" if len(products) == 1 else f"{len(products)} products in the data; one book has one"))
    bal = a["balance"].to_numpy(float)
    inst = a["instalment"].to_numpy(float)
    ok = bal > 0
    if products.index[0] != "recovery" and ok.sum() >= 2:
        ratio = inst[ok] / bal[ok]
        est, se = float(ratio.mean()), float(ratio.std(ddof=1) / math.sqrt(ok.sum()))
        out.append(Estimate("portfolio.monthly_due_fraction", est, se, (est - _Z * se, est + _Z * se),
                            "mean of instalment / balance at entry", True, sc.portfolio.monthly_due_fraction))
    stock = a[a["entry_day"].to_numpy() == 0]
    if len(stock):
        b = np.asarray(dpd_buckets(stock["dpd"].to_numpy(np.int64)))
        n = len(stock)
        for i, name in enumerate(BUCKETS):
            k = int((b == i).sum())
            prior = sc.portfolio.entry_buckets.get(name, 0.0)
            if k == 0 and prior == 0:
                continue
            p = k / n
            se = math.sqrt(max(p * (1 - p), 1e-12) / n)
            out.append(Estimate(f"portfolio.entry_buckets.{name}", p, se, (max(p - _Z * se, 0.0), min(p + _Z * se, 1.0)),
                                "share of the opening stock in the bucket (binomial)", True, prior))
    if ok.sum() >= 2:
        stock_bal = bal[entry == 0] if n_stock >= 2 else bal  # the drawn book is an opening stock: compare like with like
        out += _balance_scale(stock_bal, base, {e.name: e.estimate for e in out if e.name.startswith("portfolio.entry_buckets.")})
    return out


def _balance_scale(bal: np.ndarray, base: Experiment, buckets: dict) -> list[Estimate]:
    """A common scale of the segments' mean balances, by simulated moments: the mean entry
    balance of the data over that of a book drawn from the base (with the fitted entry
    buckets: survivor selection changes the segments' mix by DPD), 20,000 accounts or the
    data's size if larger; its standard error counts both samples."""
    from collectsim.model import CollectionsModel  # lazy: start-up time
    from collectsim.policies import prepare_policy  # lazy: start-up time

    cfg = base.scenario.resolved()
    n_sim = max(20_000, len(bal))
    cfg["portfolio"]["accounts"] = n_sim
    if buckets:
        cfg["portfolio"]["entry_buckets"] = {k.rsplit(".", 1)[1]: v for k, v in buckets.items() if v > 0}
    sim = experiment_from_dict(cfg, name="balance-moment").scenario
    drawn = CollectionsModel(sim, prepare_policy("no-contact", sim), seed=0, log_contacts=False).borrowers.balance0 / 100.0
    sim_mean = float(drawn.mean())
    scale = float(bal.mean()) / sim_mean
    rel = math.sqrt((bal.std(ddof=1) / bal.mean()) ** 2 / len(bal) + (drawn.std(ddof=1) / sim_mean) ** 2 / n_sim)
    out = []
    for i, s in enumerate(base.scenario.segments):
        est, se = s.balance_mean * scale, s.balance_mean * scale * rel
        out.append(Estimate(f"segments.{i}.balance_mean", est, se, (est - _Z * se, est + _Z * se),
                            "simulated moments: a common scale of the base's segment means, matching the mean entry "
                            "balance of a book drawn from the base (the segments' ratios keep the base's values: "
                            "segments are not observed)", True, s.balance_mean))
    return out


def _not_estimated(base: Experiment) -> list[Estimate]:
    sc = base.scenario
    out = []
    for i, s in enumerate(sc.segments):
        for field, why in NOT_ESTIMATED.items():
            v = getattr(s, field)
            out.append(Estimate(f"segments.{i}.{field}", float(v), None, None, "not estimated (prior)", False,
                                float(v), why))
    for field, why in _BEHAVIOUR_NOT_ESTIMATED.items():
        v = getattr(sc.behaviour, field)
        out.append(Estimate(f"behaviour.{field}", float(v), None, None, "not estimated (prior)", False, float(v), why))
    for j, v in enumerate(sc.regimes.ability):
        out.append(Estimate(f"regimes.ability.{j}", float(v), None, None, "not estimated (prior)", False, float(v),
                            "the ability regimes are latent (needs simulated moments)"))
    return out


def _field_bounds(name: str) -> tuple[float, float] | None:
    """The closed bounds the scenario schema gives the field at dotted path ``name``
    (:func:`collectsim.scenario.base.bounds_at`)."""
    from collectsim.scenario import Scenario  # lazy: start-up time
    from collectsim.scenario.base import bounds_at  # lazy: start-up time

    return bounds_at(Scenario, name)


def _clip_to_bounds(name: str, value):
    """The value as the experiment file accepts it: inside the field's closed bounds as the
    scenario schema states them (:func:`_field_bounds`); an hourly connect multiplier inside
    [0, 10] (the list's validator's bounds, which the schema's metadata does not carry)."""
    if not isinstance(value, float):
        return value
    if name.startswith("channels.") and ".connect_by_hour." in name:
        return float(min(max(value, 0.0), 10.0))
    bounds = _field_bounds(name)
    if bounds is None:
        return value
    return float(min(max(value, bounds[0]), bounds[1]))


def fit_history(h: History, base: Experiment) -> tuple[dict, list[Estimate]]:
    """The fitted experiment's configuration (``base``'s, with every identified estimate in
    place, inside its bounds) and the estimates, book first, then contacts, then what this
    version does not estimate."""
    if len(h.accounts) == 0:
        raise InputError("accounts: the history has no accounts")
    estimates = _book(h, base) + fit_contacts(h.contacts, base.scenario) + _not_estimated(base)
    config = resolved_config(base, base.run.policy or "seed-champion", base.run.seed, h.days)
    pf = config["portfolio"]
    if any(e.name == "portfolio.inflow_per_day" for e in estimates):  # an open book: its inflow as counted
        pf.pop("inflow_rate_per_day", None)
        pf["inflow_entry_buckets"] = {}
    for e in estimates:
        if e.identified:
            if e.name.startswith("portfolio.inflow_entry_buckets.") and e.estimate == 0:
                continue
            set_dotted(config, e.name, _clip_to_bounds(e.name, e.estimate))
    return config, estimates


def fitted_experiment(config: dict, *, name: str, base_dir: Path | None = None) -> Experiment:
    """The fitted configuration as an :class:`Experiment` (validated as ``collectsim run`` would)."""
    return experiment_from_dict(dict(config), name=name, base_dir=base_dir)


def _merge(config: dict, estimates: list[Estimate], fitted: list[Estimate]) -> tuple[dict, list[Estimate]]:
    """``estimates`` with ``fitted`` in place of the entries of the same name (the new ones
    appended), and every identified one of ``fitted`` set into ``config`` inside its bounds."""
    new = {e.name: e for e in fitted}
    have = {e.name for e in estimates}
    out = [new.get(e.name, e) for e in estimates] + [e for name, e in new.items() if name not in have]
    for e in new.values():
        if e.identified:
            set_dotted(config, e.name, _clip_to_bounds(e.name, e.estimate))
    return config, out


def with_intensity(h: History, config: dict, estimates: list[Estimate], *, base_dir: Path | None = None,
                   seed: int = 0, accounts: int | None = None) -> tuple[dict, list[Estimate]]:
    """``config`` and ``estimates`` with the repayment intensity — common scales of the
    segments' ``lambda_inf_per_year``, ``delta2``, ``delta10``/``delta11`` and
    ``kappa_per_year``, and of the regimes' ``bankruptcy_per_year`` — fitted by maximum simulated likelihood on a sample of at most
    ``accounts`` accounts (default :data:`~collectsim.experiments.calibrate.intensity.INTENSITY_ACCOUNTS`),
    conditional on ``config``'s other values
    (:func:`~collectsim.experiments.calibrate.intensity.fit_intensity`)."""
    from collectsim.experiments.calibrate.intensity import fit_intensity  # lazy: start-up time

    sc = experiment_from_dict(dict(config), name="intensity", base_dir=base_dir).scenario
    fitted = fit_intensity(h, sc, accounts=accounts or INTENSITY_ACCOUNTS, seed=seed)
    return _merge(config, estimates, fitted)


def with_simulated_moments(h: History, config: dict, estimates: list[Estimate], policy: str, *,
                           base_dir: Path | None = None, seed: int = 0, accounts: int = 20_000
                           ) -> tuple[dict, list[Estimate]]:
    """``config`` and ``estimates`` with ``behaviour.ptp_accept`` and ``behaviour.plan_accept``
    — and the repayment level (the segments' ``lambda_inf_per_year``) and the regimes'
    ``bankruptcy_per_year`` when the repayment likelihood (:func:`with_intensity`) left them
    unidentified — fitted jointly by simulated moments under the observed ``policy`` file,
    in books of ``accounts``
    (:func:`~collectsim.experiments.calibrate.moments.fit_simulated_moments`)."""
    from collectsim.experiments.calibrate.moments import fit_simulated_moments  # lazy: start-up time

    by_name = {e.name: e for e in estimates}

    def known(names: list[str]) -> bool:  # every one fitted by the repayment likelihood
        return bool(names) and all(n in by_name and by_name[n].identified for n in names)

    hazards = config["regimes"]["bankruptcy_per_year"]
    fixed = tuple(key for key, names in (
        ("level", [f"segments.{k}.lambda_inf_per_year" for k in range(len(config["segments"]))]),
        ("chargeoff", [f"regimes.bankruptcy_per_year.{g}" for g, v in enumerate(hazards) if v > 0])) if known(names))
    fitted = fit_simulated_moments(h, config, policy, base_dir=base_dir, seed=seed, n_sim=accounts, fixed=fixed)
    return _merge(config, estimates, fitted)


def roll_rate_table(h: History, tier_names: tuple[str, ...]) -> pd.DataFrame:
    """The history's roll rates (:func:`~collectsim.experiments.calibrate.state.roll_rates`)
    as the fit checks compare them: ``tier``, ``bucket`` (the starting one), ``accounts``,
    ``rolled``, ``rate``."""
    from collectsim.experiments.calibrate.state import roll_rates  # lazy: start-up time

    r = roll_rates(h, tier_names=tier_names)
    return r.rename(columns={"from": "bucket"}).drop(columns=["to"])[["tier", "bucket", "accounts", "rolled", "rate"]]


def _fit_into(h: History, base: Experiment, folder: Path, *, seed: int, moment_accounts: int,
              intensity_accounts: int | None = None):
    """One fit of ``h`` into ``folder``: the likelihood and book fits, the repayment
    intensity's likelihood, the observed policy written as ``observed_policy.toml`` (the
    fitted ``[run]`` policy), then the simulated moments under it. Returns (configuration, estimates, observed policy)."""
    from collectsim.experiments.calibrate.observed import (  # lazy: start-up time
        estimate_observed_policy,
        write_observed_policy,
    )
    from collectsim.experiments.calibrate.requested import requested_policy  # lazy: start-up time

    config, estimates = fit_history(h, base)
    release_memory()  # (each large step's freed pages back to the system: collectsim.experiments.memory)
    config, estimates = with_intensity(h, config, estimates, base_dir=folder, seed=seed, accounts=intensity_accounts)
    release_memory()
    executed = estimate_observed_policy(h, base.scenario)
    release_memory()
    observed = requested_policy(executed, config, n_sim=moment_accounts, seeds=(seed * 1000 + 11,), base_dir=folder)
    write_observed_policy(observed, folder / "observed_policy.toml")
    config["run"].update({"policy": "observed_policy.toml", "seed": seed})
    config, estimates = with_simulated_moments(h, config, estimates, str(folder / "observed_policy.toml"),
                                               base_dir=folder, seed=seed, accounts=moment_accounts)
    release_memory()
    return config, estimates, observed


def calibrate(data: str | Path, folder: str | Path, *, base: Experiment, ignore_extra_columns: bool = False,
              reps: int = 8, seed: int = 0, jobs: int = 1, split: float = 2 / 3,
              moment_accounts: int = 20_000, check_accounts: int | None = None,
              intensity_accounts: int | None = None, history: History | None = None) -> dict:
    """Fit ``base`` to the history in ``data`` and write into the existing ``folder``:
    ``experiment.toml`` (the fitted experiment, its ``[run]`` policy the observed one, that
    ``collectsim run`` accepts as it is), ``observed_policy.toml`` (with its assumptions as
    comments) and ``observed_frequencies.csv``, ``fit.json`` and the checks the fit report
    shows: every statistic of the data against ``reps`` histories simulated from the fitted
    experiment under the observed policy (``fit_check_*.csv``), and the backtest — fit on
    the first ``split`` of the window, simulate the whole window, compare the rest
    (``backtest.csv``). The repayment intensity's likelihood runs on a sample of at most
    ``intensity_accounts`` accounts (default
    :data:`~collectsim.experiments.calibrate.intensity.INTENSITY_ACCOUNTS`). The simulated
    moments run books of ``moment_accounts``; the fit
    checks and the backtest books of ``check_accounts`` (default
    :data:`~collectsim.experiments.calibrate.books.CHECK_ACCOUNTS`), smaller copies of the
    fitted book when the history is larger, their bands rescaled to the history's size
    (:mod:`~collectsim.experiments.calibrate.books`). ``history``:
    the history already read from ``data`` (else it is read here). Returns ``fit.json``'s
    content."""
    from collectsim.experiments.calibrate.backtest import backtest  # lazy: start-up time
    from collectsim.experiments.calibrate.statistics import (  # lazy: start-up time
        compare_statistics,
        history_statistics,
        simulated_statistics,
        write_fit_checks,
    )
    from collectsim.experiments.folders import write_json, write_toml  # lazy: start-up time
    from collectsim.experiments.provenance import provenance  # lazy: start-up time
    from collectsim.history.read import read_history  # lazy: start-up time

    folder = Path(folder)
    h = history if history is not None else read_history(data, ignore_extra_columns=ignore_extra_columns)
    if h.days < 2:
        raise InputError(f"history.toml days = {h.days}: a calibration needs at least 2 days (one to fit, one to "
                         "hold out)")
    config, estimates, observed = _fit_into(h, base, folder, seed=seed, moment_accounts=moment_accounts,
                                           intensity_accounts=intensity_accounts)
    observed.frequencies.to_csv(folder / "observed_frequencies.csv", index=False)
    config["run"]["name"] = f"calibrated-{Path(data).name}"
    write_toml(folder / "experiment.toml", config)
    exp = fitted_experiment(config, name=config["run"]["name"], base_dir=folder)
    check_accounts = CHECK_ACCOUNTS if check_accounts is None else check_accounts
    check_config, scale = scaled_book(config, check_accounts)
    check_exp = fitted_experiment(check_config, name=exp.name, base_dir=folder)
    policy_path = str(folder / "observed_policy.toml")
    rolls = partial(roll_rate_table, tier_names=tuple(base.scenario.scoring.tier_names))
    seeds = [seed + 1 + r for r in range(reps)]
    data_stats = history_statistics(h, roll_rates=rolls(h))
    release_memory()
    comparison = compare_statistics(data_stats, simulated_statistics(check_exp, policy_path, seeds, jobs,
                                                                     roll_rates=rolls), scale=scale)
    release_memory()

    split_day = min(max(1, int(round(h.days * split))), h.days - 1)
    scratch = folder / "backtest-fit"
    scratch.mkdir(exist_ok=True)

    def refit(part: History):
        release_memory()  # (the truncated copy's temporaries)
        cfg, _, _ = _fit_into(part, base, scratch, seed=seed, moment_accounts=moment_accounts,
                                intensity_accounts=intensity_accounts)
        cfg["portfolio"]["horizon_days"] = h.days  # simulate the whole window
        write_toml(scratch / "experiment.toml", cfg)
        small, bt_scale = scaled_book(cfg, check_accounts)
        return (fitted_experiment(small, name="backtest", base_dir=scratch), str(scratch / "observed_policy.toml"),
                bt_scale)

    bt = backtest(h, refit, split_day, reps=reps, seed=seed + 1000, jobs=jobs)
    write_fit_checks(folder, comparison, bt)
    fit = {"parameters": {e.name: e.to_dict() for e in estimates},
           "history": {"folder": str(data), "accounts": int(len(h.accounts)), "contacts": int(len(h.contacts)),
                       "payments": int(len(h.payments)), "days": int(h.days)},
           "checks": {"replications": reps, "seeds": seeds, "check_accounts": int(check_accounts),
                      "scale": scale, "backtest_scale": float(bt.attrs["scale"]), "backtest_split_day": split_day,
                      "backtest_fit": "backtest-fit/experiment.toml"},
           "settings": {"moment_accounts": int(moment_accounts),
                        "intensity_accounts": int(intensity_accounts or INTENSITY_ACCOUNTS)},
           "observed_policy": {"identified": observed.identified, "notes": list(observed.notes)},
           "meta": provenance(experiment=exp.name, source=str(data), seed=seed, reps=reps, base=base.source)}
    write_json(folder / "fit.json", fit)
    return fit
