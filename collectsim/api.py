"""The whole jobs, as the command line runs them: each writes a complete result folder.

:func:`run_experiment`, :func:`compare_experiment` and :func:`optimize` write the same
folder ``collectsim run``, ``collectsim compare`` and ``collectsim optimize`` write — data
files, plots and report — so a notebook user gets what a command-line user gets. A run or
comparison folder is written into a temporary folder and appears (renamed into place) only
when complete; an optimizer folder grows as the study runs (it holds the study's journal,
so a killed study can be resumed) and gets its report when the study ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from collectsim.errors import InputError
from collectsim.experiments import Experiment, default_out_dir, load_experiment, plan_run, result_folder, write_run
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.folders import write_json, write_toml
from collectsim.experiments.progress import ProgressBars
from collectsim.experiments.provenance import provenance
from collectsim.experiments.run import resolved_config
from collectsim.reports import build_report
from collectsim.results import SimulationResult

if TYPE_CHECKING:  # each job's machinery is imported when the job runs (a run needs no optimizer)
    from collectsim.experiments.compare import Comparison
    from collectsim.experiments.facts import Scorecard
    from collectsim.experiments.optimize import OptimizeResult
    from collectsim.experiments.sweep import SweepResult

__all__ = ["run_experiment", "compare_experiment", "optimize", "stylized_facts", "sweep_experiment", "synthesize_history",
           "calibrate_history",
           "dashboard_app", "serve_dashboard"]


def _experiment(experiment: str | Path | Experiment, accounts: int | None, days: int | None) -> Experiment:
    if isinstance(experiment, Experiment):
        if accounts is not None or days is not None:
            raise InputError("accounts/days overrides need an experiment file path, not a loaded Experiment")
        return experiment
    return load_experiment(experiment, accounts=accounts, days=days)


def run_experiment(
    experiment: str | Path | Experiment,
    *,
    policy: str | None = None,
    seed: int | None = None,
    days: int | None = None,
    accounts: int | None = None,
    out: str | Path | None = None,
    log_contacts: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, SimulationResult]:
    """Run an experiment once and write its complete result folder; return (folder, result).

    Parameters
    ----------
    experiment:
        An experiment file path or a loaded :class:`~collectsim.experiments.Experiment`.
    policy, seed:
        Override the file's ``[run]`` policy (built-in name or policy file) and seed.
    days:
        Days to simulate (default: the scenario's horizon; for a file, the horizon is overridden).
    accounts:
        Override the portfolio size (file paths only).
    out:
        The folder to create (default ``results/run-NAME-TIME-seedN``); it must not exist
        or be empty.
    log_contacts:
        Also write ``contacts.parquet`` (default: the file's ``[run]`` setting).
    progress:
        Optional callback ``progress(day_done, days)``.
    """
    if isinstance(experiment, Experiment):  # a loaded experiment: days only shortens the run
        exp, run_days = _experiment(experiment, accounts, None), days
    else:  # a file: the overrides become part of its configuration
        exp, run_days = _experiment(experiment, accounts, days), None
    plan = plan_run(exp, policy=policy, seed=seed, days=run_days, log_contacts=log_contacts)
    out_dir = Path(out) if out is not None else default_out_dir("run", exp.name, plan.seed)
    with result_folder(out_dir) as tmp:
        result = write_run(plan, tmp, progress=progress)
        build_report(tmp)
    return out_dir, result


def synthesize_history(
    experiment: str | Path,
    *,
    out: str | Path,
    policy: str | None = None,
    seed: int | None = None,
    accounts: int | None = None,
    days: int | None = None,
    fmt: str = "csv",
) -> tuple[Path, dict]:
    """Write a collections history simulated from an experiment (``collectsim synth``).

    The folder ``out`` (new or empty) appears complete: the four tables of
    :data:`collectsim.history.TABLES` (``fmt``: ``csv`` or ``parquet``), ``history.toml``,
    ``truth.json`` (the parameters that made it, by dotted name) and ``config.toml``; see
    :func:`collectsim.experiments.synthesize` and ``docs/data.md``. ``policy`` and ``seed``
    override the file's ``[run]``; ``accounts`` and ``days`` its portfolio. Returns (folder,
    rows per table).
    """
    from collectsim.experiments.synth import FORMATS, synthesize  # lazy: start-up time

    if fmt not in FORMATS:
        raise InputError(f"format = {fmt!r}: must be one of {', '.join(FORMATS)}")
    exp = _experiment(experiment, accounts, days)
    plan = plan_run(exp, policy=policy, seed=seed)  # the policy loads and fits, the seed is valid
    out_dir = Path(out)
    with result_folder(out_dir) as tmp:
        rows = synthesize(exp, tmp, policy=plan.policy_name, seed=plan.seed, fmt=fmt)
    return out_dir, rows


def calibrate_history(
    data: str | Path,
    *,
    out: str | Path | None = None,
    base: str | Path | Experiment | None = None,
    ignore_extra_columns: bool = False,
    reps: int = 8,
    seed: int = 0,
    jobs: int = 1,
    moment_accounts: int = 20_000,
    check_accounts: int = 200_000,
    intensity_accounts: int = 10_000,
) -> tuple[Path, dict]:
    """Fit the simulator to a collections history and write the complete folder
    (``collectsim calibrate``, docs/data.md): ``experiment.toml`` (runs as it is),
    ``fit.json`` (every parameter: estimate, se, ci95, method, identified, prior),
    ``observed_policy.toml``, the fit checks and backtest, ``report.html`` and ``report.md``.
    ``base`` is the experiment whose other parameters the fit keeps (default: the default
    book); ``moment_accounts`` the size of the books the simulated moments run;
    ``intensity_accounts`` the largest sample of accounts the repayment intensity's
    likelihood runs on (a larger history is sampled, seeded); ``check_accounts`` the largest book the fit checks and the backtest simulate (a larger
    history's bands come from a smaller copy of the fitted book, rescaled). Bad input (a
    history ``read_history`` refuses) is an :class:`InputError` and nothing is written.
    Returns (folder, ``fit.json``'s content)."""
    from collectsim.experiments.calibrate.calibrate import calibrate  # lazy: start-up time
    from collectsim.history import read_history  # lazy: start-up time

    history = read_history(data, ignore_extra_columns=ignore_extra_columns)  # refuse bad input before anything is made
    if base is None:
        base_exp = experiment_from_dict({}, name="default")
    else:
        base_exp = _experiment(base, None, None)
    if reps < 2:
        raise InputError(f"reps = {reps}: must be at least 2 (the bands need replications)")
    if moment_accounts < 1000:
        raise InputError(f"moment accounts = {moment_accounts}: must be at least 1000 (the simulated moments need "
                         "books large enough to see promises and plans)")
    if intensity_accounts < 100:
        raise InputError(f"intensity accounts = {intensity_accounts}: must be at least 100 (the repayment "
                         "likelihood's sample)")
    if check_accounts < 1000:
        raise InputError(f"check accounts = {check_accounts}: must be at least 1000 (the fit checks' books must "
                         "be large enough to show every channel and outcome)")
    out_dir = Path(out) if out is not None else default_out_dir("calibrate", Path(data).name)
    with result_folder(out_dir) as tmp:
        fit = calibrate(data, tmp, base=base_exp, ignore_extra_columns=ignore_extra_columns, reps=reps, seed=seed,
                        jobs=jobs, moment_accounts=moment_accounts, check_accounts=check_accounts,
                        intensity_accounts=intensity_accounts, history=history)
        build_report(tmp)
    return out_dir, fit


def compare_experiment(
    experiment: str | Path | Experiment,
    *,
    out: str | Path | None = None,
    accounts: int | None = None,
    days: int | None = None,
    **options,
) -> tuple[Path, Comparison]:
    """Compare a champion with challengers and write the complete comparison folder.

    ``options`` are those of :func:`collectsim.compare` (``champion``, ``challengers``,
    ``reps``, ``jobs``, ``variants``, ``target_ci``, ``max_reps``, ``seed``, ``progress``, ...).
    ``out`` defaults to ``results/compare-NAME-TIME``. Returns (folder, comparison).
    A policy listed twice, or two policies with one name, is refused (``distinct``).
    """
    from collectsim.experiments.compare import compare  # lazy: start-up time
    options.setdefault("distinct", True)
    exp = _experiment(experiment, accounts, days)
    out_dir = Path(out) if out is not None else default_out_dir("compare", exp.name)
    say = options.get("progress") or (lambda msg: None)
    with result_folder(out_dir) as tmp:
        result = compare(exp, **options)
        say("writing files, plots and report")
        result.save(tmp)
        build_report(tmp, progress=options.get("progress"))
    return out_dir, result


def optimize(
    experiment: str | Path | Experiment,
    *,
    accounts: int | None = None,
    days: int | None = None,
    **options,
) -> OptimizeResult:
    """Run (or resume) an optimization study and write its complete folder, report included.

    ``options`` are those of :func:`collectsim.experiments.optimize` (``trials``, ``jobs``,
    ``reps``, ``storage``, ``resume``, ``backend``, ``scheduler``, ``out``, ``batch``,
    ``progress``); ``accounts`` and ``days`` override the file's portfolio size and horizon.
    """
    from collectsim.experiments.optimize import optimize as run_study  # lazy: start-up time
    exp = _experiment(experiment, accounts, days)
    result = run_study(exp, **options)
    with ProgressBars(enabled=options.get("progress") is True) as bars:
        build_report(result.out, progress=bars)
    return result


def stylized_facts(
    experiment: str | Path | Experiment | None = None,
    *,
    accounts: int | None = 20_000,
    reps: int = 4,
    seed: int | None = None,
    policy: str | None = None,
    jobs: int = 1,
    out: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, Scorecard]:
    """Score an experiment's book against the stylized facts and write the scorecard folder.

    The folder holds ``facts.json`` (every row with its per-replication values),
    ``facts.md`` (the table, definitions and sources) and ``config.toml`` (the resolved
    experiment). Returns (folder, scorecard); ``scorecard.passed`` says whether every fact
    is in its range.

    Parameters
    ----------
    experiment:
        An experiment file, a loaded experiment, or None for the default scenario (every
        field at its documented default, the seed-champion policy).
    accounts:
        Portfolio size of the runs (default 20,000; None: the experiment's own size).
    reps, seed, policy, jobs, progress:
        As :func:`collectsim.experiments.facts.scorecard` (in ``scoring.py``).
    out:
        The folder to create (default ``results/facts-NAME-TIME``).
    """
    from collectsim.experiments.facts import facts_settings, scorecard  # lazy: start-up time
    if experiment is None:
        exp = experiment_from_dict({} if accounts is None else {"portfolio": {"accounts": accounts}},
                                   name="default")
    elif isinstance(experiment, Experiment):
        exp = experiment
    else:
        exp = load_experiment(experiment, accounts=accounts)
    out_dir = Path(out) if out is not None else default_out_dir("facts", exp.name)
    with result_folder(out_dir) as tmp:
        card = scorecard(exp, reps=reps, seed=seed, policy=policy, jobs=jobs, progress=progress)
        data = card.to_dict()
        data["meta"] = provenance(experiment=exp.name, source=exp.source, accounts=exp.scenario.portfolio.accounts,
                                  seeds=card.seeds)
        data["settings"] = facts_settings()
        write_json(tmp / "facts.json", data)
        (tmp / "facts.md").write_text(card.markdown() + "\n")
        write_toml(tmp / "config.toml", resolved_config(exp, card.policy, card.seeds[0],
                                                          exp.scenario.portfolio.horizon_days))
    return out_dir, card


def sweep_experiment(
    experiment: str | Path | Experiment,
    *,
    accounts: int | None = None,
    days: int | None = None,
    reps: int | None = None,
    seed: int | None = None,
    jobs: int = 1,
    out: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Path, SweepResult]:
    """Run an experiment's ``[sweep]`` grid and write the complete sweep folder, report included.

    The folder holds ``sweep_runs.csv`` (every run's KPIs), ``sweep_summary.csv`` (mean and
    95 % interval at every point), ``sweep_versus_best.csv`` (paired differences from the
    best point), ``sweep.json`` (settings, shape of the response, provenance),
    ``config.toml``, one ``sweep_<kpi>.png`` per KPI and ``report.html``/``report.md``.
    ``out`` defaults to ``results/sweep-NAME-TIME``. Returns (folder, result).
    """
    from collectsim.experiments.sweep import run_sweep  # lazy: start-up time
    exp = _experiment(experiment, accounts, days)
    out_dir = Path(out) if out is not None else default_out_dir("sweep", exp.name)
    with result_folder(out_dir) as tmp:
        result = run_sweep(exp, reps=reps, seed=seed, jobs=jobs, progress=progress)
        result.save(tmp)
        write_toml(tmp / "config.toml", resolved_config(exp, result.meta["base_policy"], result.meta["seeds"][0],
                                                          exp.scenario.portfolio.horizon_days))
        build_report(tmp)
    return out_dir, result


def _optuna_dashboard():
    try:
        import optuna_dashboard  # lazy: an optional extra, and start-up time
    except ImportError:
        raise InputError("collectsim dashboard needs optuna-dashboard: pip install -e '.[dashboard]'") from None
    return optuna_dashboard


def dashboard_app(folder: str | Path):
    """optuna-dashboard's WSGI application on the study of an optimizer result folder.

    The study is read from the folder's ``experiment.json`` (its embedded journal, or the
    storage URL it records). Raises :class:`~collectsim.errors.InputError` when ``folder`` is
    not an optimizer folder or optuna-dashboard is not installed.
    """
    from collectsim.experiments.optimize import folder_study  # lazy: start-up time
    storage, _ = folder_study(folder)
    return _optuna_dashboard().wsgi(storage)


def serve_dashboard(folder: str | Path, host: str = "127.0.0.1", port: int = 8080,
                    announce: Callable[[str], None] | None = None) -> None:
    """Serve optuna-dashboard on the study of an optimizer result folder until interrupted.

    Listens on ``host`` (default 127.0.0.1: this machine only) and ``port``; ``announce`` is
    called with the URL and the study name before serving.
    """
    from collectsim.experiments.optimize import folder_study  # lazy: start-up time
    storage, name = folder_study(folder)
    od = _optuna_dashboard()
    if announce is not None:
        announce(f"http://{host}:{port}/dashboard/studies (study {name!r})")
    od.run_server(storage, host=host, port=port)

