"""The page of ``collectsim app``: pick an experiment and two to four policies, set the size
and a few levers, press *Run*, watch the policies side by side, read the paired comparison.

The sidebar holds the inputs (ready files or uploads, checked by the command line's own
loaders: a bad file shows the line the CLI prints). *Run* checks everything
(:func:`~collectsim.app.inputs.build_spec`) and starts a :class:`~collectsim.app.runner.Job`
in a thread of its own; the job publishes immutable snapshots into a reactive variable,
and every publication re-renders the progress, the live charts (cumulative recovery rate,
complaints, customers lost; every policy on the first replication's seed) and, at the end,
the comparison table with 95 % intervals and the report download. Numbers are formatted
by :mod:`collectsim.reports.format`, exactly as the reports show them.

Solara scopes module-level reactive variables to each browser session: two managers on one
server do not see each other's inputs or runs.
"""

from __future__ import annotations

import base64
import html
import itertools
from dataclasses import replace
from pathlib import Path

import solara
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

import collectsim
from collectsim.app import config
from collectsim.app.inputs import (
    HEADLINE,
    Levers,
    PolicyChoice,
    Uploads,
    build_spec,
    builtin_choices,
    describe,
    ready_experiments,
    ready_policies,
    team_density,
)
from collectsim.app.runner import LIVE_METRICS, Job, Relay, Snapshot
from collectsim.errors import InputError
from collectsim.reports import (
    format_diff,
    format_interval,
    format_number,
    format_p,
    format_value,
    headline_sentences,
)
from collectsim.reports.pages.compare import sig_class
from collectsim.results import KPIS
from collectsim.vocabulary.channels import CHANNELS

__all__ = ["Page", "Upload", "live_figure", "live_table_html", "kpi_table_html", "main_kpis", "select_experiment",
           "start_run", "cancel_run", "on_experiment_upload", "on_policy_upload"]

#: the empty choice of an optional policy slot
NONE = "—"
#: the size a ready experiment opens with at most (the file's own size is shown beside it)
DEFAULT_ACCOUNTS, DEFAULT_DAYS, DEFAULT_REPS = 20_000, 180, 3
#: the largest file an upload may be
MAX_UPLOAD = 1_000_000
#: the live charts
CHARTS = ("recovery_rate", "complaints", "churned")
COLORS = ("#1f4e79", "#d9822b", "#2e8b57", "#8e44ad")
TEAMS = ("phone", "field")

CSS = """
.collectsim-table { border-collapse: collapse; font-size: 13px; width: 100%; }
.collectsim-table th { text-align: left; border-bottom: 2px solid #1f4e79; padding: 4px 8px; }
.collectsim-table td { border-bottom: 1px solid #e0e0e0; padding: 3px 8px; }
.collectsim-table td.num { white-space: nowrap; }
.collectsim-scroll { overflow-x: auto; max-width: 100%; }
.collectsim-charts img { max-width: 100%; height: auto; }
.collectsim-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.collectsim-table tr.collectsim-headline td { background: #eef4fb; font-weight: 600; }
.collectsim-table td.good { color: #1b7a3a; } .collectsim-table td.bad { color: #b3261e; }
.collectsim-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; }
.collectsim-lead { font-size: 15px; line-height: 1.45; margin: 4px 0; }
.collectsim-caption { font-size: 12px; color: #555; line-height: 1.35; }
.collectsim-status { font-size: 14px; }
"""

# ------------------------------------------------------------------ per-session state ---
experiment_key = solara.reactive("")
loaded = solara.reactive(None)  # the chosen Experiment (file values: defaults, tiers, teams)
uploaded_experiments = solara.reactive({})  # label -> path
experiment_error = solara.reactive(None)
uploaded_policies = solara.reactive(())  # PolicyChoice, in upload order
policy_error = solara.reactive(None)
slots = tuple(solara.reactive(NONE) for _ in range(4))
accounts = solara.reactive(DEFAULT_ACCOUNTS)
days = solara.reactive(DEFAULT_DAYS)
seed = solara.reactive(0)
reps = solara.reactive(DEFAULT_REPS)
lever_defaults = solara.reactive({})  # team -> collectors per 100,000 accounts in the file
headcount = {team: solara.reactive(None) for team in TEAMS}
tier = solara.reactive("")
channel = solara.reactive("call")
calls = solara.reactive(None)
discount_pct = solara.reactive(None)
run_error = solara.reactive(None)
status = solara.reactive(None)  # the newest Snapshot: progress line
live = solara.reactive(None)  # the newest Snapshot with a new day: charts and live table
result = solara.reactive(None)  # the Snapshot with the comparison (and then the report)
running = solara.reactive(False)
current_job = solara.reactive(None)
uploads_store = solara.reactive(None)

_run_ids = itertools.count(1)


# ------------------------------------------------------------------ the upload widget ---
@solara.component_vue("upload.vue")
def Upload(label: str, kind: str = "file", accept: str = ".toml", event_upload=None):
    """A button that reads one file in the browser and sends ``{name, size, data}`` (base64) to ``event_upload``."""


Upload.__doc__ = "A button that reads one file in the browser and sends ``{name, size, data}`` (base64) to ``event_upload``."


def _uploads() -> Uploads:
    if uploads_store.value is None:
        uploads_store.set(Uploads())
    return uploads_store.value


def _decode(d: dict) -> tuple[str, bytes]:
    name = str(d.get("name") or "upload.toml")
    if int(d.get("size") or 0) > MAX_UPLOAD:
        raise InputError(f"{name}: {int(d['size']):,} bytes; an experiment or policy file is at most {MAX_UPLOAD:,}")
    return name, base64.b64decode(d.get("data") or "")


# ------------------------------------------------------------------ choices -------------
def _experiment_options() -> dict[str, Path]:
    return {**ready_experiments(config.current().experiments), **uploaded_experiments.value}


def _policy_choices() -> list[PolicyChoice]:
    return [*builtin_choices(), *ready_policies(config.current().policies), *uploaded_policies.value]


def _default_policies(exp, choices: list[PolicyChoice]) -> list[str]:
    """The experiment's own champion and challengers (``[compare]``), else its ``[run]`` policy
    and the first ready policy file that can run on its book: labels of ``choices``, two to four."""
    cmp = exp.sections.get("compare")
    refs = [cmp.champion or exp.run.policy, *cmp.challengers] if cmp is not None and cmp.challengers else [exp.run.policy]
    by_ref = {}
    for c in choices:
        by_ref.setdefault(c.ref if c.source == "built-in" else str(Path(c.ref).resolve()), c.label)
    out: list[str] = []
    for r in refs:
        key = r if r in by_ref else str(Path(exp.policy_ref(r)).resolve())
        if key in by_ref and by_ref[key] not in out:
            out.append(by_ref[key])
    for c in [c for c in choices if c.source == "file"] + choices:
        if len(out) >= 2:
            break
        if c.label not in out and _fits(c, exp):
            out.append(c.label)
    return out[:4]


def _fits(choice: PolicyChoice, exp) -> bool:
    """Whether a policy can run on the experiment's book as it is (it loads, fits the scenario,
    and, if it applies direct effort, the scenario prices effort)."""
    try:
        pol = collectsim.prepare_policy(choice.ref, exp.scenario)
    except InputError:
        return False
    return not pol.applies_effort or exp.scenario.costs.effort_cost_per_unit is not None


def select_experiment(key: str) -> None:
    """Choose an experiment: load it and set every input to what it says (sizes capped for a quick look)."""
    path = _experiment_options().get(key)
    if path is None:
        return
    try:
        exp = collectsim.load_experiment(path)
    except InputError as e:
        experiment_error.set(str(e))
        return
    experiment_error.set(None)
    run_error.set(None)
    experiment_key.set(key)
    loaded.set(exp)
    scen = exp.scenario
    accounts.set(min(scen.portfolio.accounts, DEFAULT_ACCOUNTS))
    days.set(min(scen.portfolio.horizon_days, DEFAULT_DAYS))
    cmp = exp.sections.get("compare")
    seed.set(cmp.seed if cmp is not None and cmp.seed is not None else exp.run.seed)
    reps.set(DEFAULT_REPS)
    defaults = {}
    for team in TEAMS:
        v = team_density(scen, team)
        defaults[team] = None if v is None else round(v, 2)
        headcount[team].set(defaults[team])
    lever_defaults.set(defaults)
    names = list(scen.scoring.tier_names)
    tier.set("high" if "high" in names else names[0])
    channel.set("call")
    calls.set(None)
    discount_pct.set(None)
    chosen = _default_policies(exp, _policy_choices())
    for i, slot in enumerate(slots):
        slot.set(chosen[i] if i < len(chosen) else NONE)


def on_experiment_upload(d: dict) -> None:
    """An experiment file arrived from the browser: check it like ``collectsim check`` and choose it."""
    try:
        name, data = _decode(d)
        path, _ = _uploads().experiment(name, data)
    except InputError as e:
        experiment_error.set(str(e))
        return
    label = f"{path.name} (uploaded)"
    k = 2
    while label in _experiment_options():
        label, k = f"{path.name} (uploaded {k})", k + 1
    uploaded_experiments.set({**uploaded_experiments.value, label: path})
    select_experiment(label)


def on_policy_upload(d: dict) -> None:
    """A policy file arrived: check it (and that it fits the chosen experiment) and put it in the first free slot."""
    exp = loaded.value
    try:
        name, data = _decode(d)
        path, pol = _uploads().policy(name, data, exp.scenario if exp is not None else None)
    except InputError as e:
        policy_error.set(str(e))
        return
    policy_error.set(None)
    label = f"{pol.name} — uploaded {path.name}"
    k = 2
    while label in {c.label for c in _policy_choices()}:
        label, k = f"{pol.name} — uploaded {path.name} ({k})", k + 1
    uploaded_policies.set((*uploaded_policies.value, PolicyChoice(label, str(path), "upload")))
    for slot in slots:
        if slot.value == NONE:
            slot.set(label)
            break


def _levers() -> Levers:
    defaults = lever_defaults.value
    changed = {}
    for team in TEAMS:
        v, d = headcount[team].value, defaults.get(team)
        if v is not None and d is not None and abs(float(v) - float(d)) > 1e-9:
            changed[team] = float(v)
    return Levers(
        headcount_per_100k=changed,
        tier=tier.value or None,
        contacts_per_week=None if calls.value is None else float(calls.value),
        channel=f"{channel.value}_per_week",
        settlement_discount=None if discount_pct.value is None else float(discount_pct.value) / 100.0,
    )


def start_run() -> None:
    """*Run*: check every input, then start the job (a bad input is one line under the button)."""
    run_error.set(None)
    path = _experiment_options().get(experiment_key.value)
    by_label = {c.label: c.ref for c in _policy_choices()}
    refs = [by_label[s.value] for s in slots if s.value != NONE and s.value in by_label]
    try:
        if path is None:
            raise InputError("experiment: none chosen")
        spec = build_spec(
            path, refs, accounts=accounts.value, days=days.value, seed=seed.value, reps=reps.value,
            levers=_levers(), jobs=config.current().jobs,
        )
    except InputError as e:
        run_error.set(str(e))
        return
    run_id = next(_run_ids)

    def deliver(s: Snapshot) -> None:  # in the relay's thread: re-renders only what changed
        if current_job.value is not job:
            return
        if s.series is not None and (live.value is None or live.value.series is not s.series):
            live.set(s)
        if s.comparison is not None and (result.value is None or result.value.report_html is not s.report_html
                                         or result.value.comparison is not s.comparison):
            result.set(s)
        running.set(s.running)
        status.set(s)  # last: once the page says "done", everything else is there
        if not s.running:
            relay.close()

    relay = Relay(deliver)
    job = Job(spec, relay.put)
    job.snapshot = replace(job.snapshot, run_id=run_id, seed=spec.seed)
    current_job.set(job)
    status.set(job.snapshot)
    live.set(None)
    result.set(None)
    running.set(True)
    job.start()


def cancel_run() -> None:
    """*Cancel*: stop the live run at the next day; replications already under way finish unseen.

    The "cancelled" snapshot goes through the job's relay like every other, so no update of
    the run that was being delivered at that moment can overwrite it.
    """
    job = current_job.value
    if job is None or not job.snapshot.running:
        return
    job.cancel()
    job.publish(replace(job.snapshot, phase="cancelled", message="cancelled"))


# ------------------------------------------------------------------ rendering helpers ---
def live_figure(series, labels: tuple[str, ...], days: int, metrics: tuple[str, ...] = CHARTS) -> Figure:
    """The live charts side by side: each metric of every policy by day (the champion drawn thicker)."""
    fig = Figure(figsize=(3.4 * len(metrics), 2.8), dpi=100, layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics, strict=True):
        for i, label in enumerate(labels):
            ax.plot(series["day"], series[f"{metric}|{label}"], color=COLORS[i % len(COLORS)],
                    lw=2.6 if i == 0 else 1.6, label=label)
        ax.set_xlim(0, max(days, 1))
        ax.set_xlabel("day")
        ax.set_title(LIVE_METRICS[metric][0], fontsize=10)
        if LIVE_METRICS[metric][1] == "share":
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_number(100 * v) + " %"))
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v)))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left", frameon=False)
    return fig


def _swatch(i: int) -> str:
    return f'<span class="collectsim-swatch" style="background:{COLORS[i % len(COLORS)]}"></span>'


def live_table_html(series, labels: tuple[str, ...]) -> str:
    """The latest day of the live run per policy, as an HTML table (``data-policy``/``data-metric`` cells)."""
    last = series.iloc[-1]
    head = "".join(f"<th>{html.escape(LIVE_METRICS[m][0])}</th>" for m in LIVE_METRICS)
    rows = []
    for i, label in enumerate(labels):
        cells = []
        for m, (_, unit) in LIVE_METRICS.items():
            v = float(last[f"{m}|{label}"])
            shown = format_value("recovery_rate", v) if unit == "share" else format_number(v)
            cells.append(f'<td class="num" data-metric="{m}">{shown}</td>')
        role = "champion" if i == 0 else "challenger"
        rows.append(f'<tr data-policy="{html.escape(label)}"><td>{_swatch(i)}{html.escape(label)}</td>'
                    f"<td>{role}</td>{''.join(cells)}</tr>")
    return (f'<table class="collectsim-table collectsim-live"><tr><th>policy</th><th>role</th>{head}</tr>'
            + "".join(rows) + "</table>")


def main_kpis(settings) -> list[str]:
    """The KPIs of the main table: the headline, its side effects, recovery, cash and cure."""
    wanted = [settings.headline, *settings.headline_also, "recovery_rate", "collected", "cure_rate"]
    return [k for k in dict.fromkeys(wanted) if k in settings.kpis]


def kpi_table_html(table, kpis: list[str], policies: list[str], headline: str = HEADLINE) -> str:
    """The comparison table as the report shows it: mean [95% CI], Δ vs champion [95% CI], p, P(better).

    Rows carry ``data-kpi`` and ``data-policy``; cells ``mean``, ``diff``, ``p`` and ``pbetter``.
    """
    base = table[(table["variant"] == "base") & (table["scope"] == "all")]
    out = ['<table class="collectsim-table collectsim-kpis"><tr><th>KPI</th><th>policy</th><th>mean [95% CI]</th>'
           "<th>Δ vs champion [95% CI]</th><th>p (adj.)</th><th>P(better)</th></tr>"]
    for kpi in kpis:
        sub = base[base["kpi"] == kpi].set_index("policy")
        first = True
        for i, p in enumerate(policies):
            if p not in sub.index:
                continue
            r = sub.loc[p]
            unit = "" if str(r["unit"]) in KPIS[kpi].label else f" ({r['unit']})"
            label = html.escape(f"{KPIS[kpi].label}{unit}") if first else ""
            first = False
            mean = f"{format_value(kpi, r['mean'])} {format_interval(kpi, r['ci_low'], r['ci_high'])}"
            if r["role"] == "champion":
                diff, cls, p_s, pb = "", "", "", ""
            else:
                diff = f"{format_diff(kpi, r['diff'])} {format_interval(kpi, r['diff_ci_low'], r['diff_ci_high'], diff=True)}"
                cls = sig_class(kpi, r["diff_ci_low"], r["diff_ci_high"])
                p_s = format_p(r["p_adjusted"])
                pb = f"{100 * r['p_better']:.0f}%" if r["p_better"] == r["p_better"] else "–"
            row_cls = "collectsim-headline" if kpi == headline else ""
            out.append(
                f'<tr class="{row_cls}" data-kpi="{kpi}" data-policy="{html.escape(p)}"><td>{label}</td>'
                f"<td>{_swatch(i)}{html.escape(p)}</td><td class=\"num mean\">{mean}</td>"
                f'<td class="num diff {cls}">{diff}</td><td class="num p">{p_s}</td>'
                f'<td class="num pbetter">{pb}</td></tr>'
            )
    out.append("</table>")
    return "".join(out)


# ------------------------------------------------------------------ components ----------
@solara.component
def ErrorLine(message: str | None, where: str):
    """A one-line error (the :class:`~collectsim.InputError` message, nothing else)."""
    if message:
        with solara.Error(icon=True, dense=True):
            solara.Text(message, classes=["collectsim-error", f"collectsim-error-{where}"])


@solara.component
def Controls():
    """The sidebar: experiment, policies, size, levers, Run."""
    exp = loaded.value
    options = _experiment_options()
    choices = [c.label for c in _policy_choices()]
    busy = running.value

    with solara.Card("Experiment", margin=0):
        solara.Select("experiment", values=list(options), value=experiment_key.value, on_value=select_experiment)
        Upload(label="upload an experiment", kind="experiment", event_upload=on_experiment_upload)
        ErrorLine(experiment_error.value, "experiment")
        if exp is not None and experiment_key.value in options:
            text = describe(options[experiment_key.value])
            if text:
                solara.Text(text[:320] + ("…" if len(text) > 320 else ""), classes=["collectsim-caption"])

    with solara.Card("Policies", subtitle="two to four; the first is the champion", margin=0):
        for i, slot in enumerate(slots):
            label = "champion" if i == 0 else f"challenger {i}"
            values = choices if i < 2 else [NONE, *choices]
            solara.Select(label, values=values, value=slot.value if slot.value in values else values[0],
                          on_value=slot.set)
        Upload(label="upload a policy", kind="policy", event_upload=on_policy_upload)
        ErrorLine(policy_error.value, "policy")

    with solara.Card("Size", margin=0):
        with solara.Row():
            solara.InputInt("accounts", value=accounts, style="flex: 1")
            solara.InputInt("days", value=days, style="flex: 1")
        with solara.Row():
            solara.InputInt("first seed", value=seed, style="flex: 1")
            solara.InputInt("replications", value=reps, style="flex: 1")
        if exp is not None:
            p = exp.scenario.portfolio
            solara.Text(f"The file: {p.accounts:,} accounts × {p.horizon_days} days. Replication i runs on seed "
                        f"{seed.value} + i; the live run is the first.", classes=["collectsim-caption"])

    with solara.Card("Levers", margin=0):
        defaults = lever_defaults.value
        for team in TEAMS:
            d = defaults.get(team)
            solara.InputFloat(f"{team} collectors per 100,000 accounts", value=headcount[team], disabled=d is None)
        tiers = list(exp.scenario.scoring.tier_names) if exp is not None else []
        with solara.Row():
            solara.Select("tier", values=tiers, value=tier.value if tier.value in tiers else None,
                          on_value=tier.set, style="flex: 1")
            solara.Select("channel", values=list(CHANNELS), value=channel, style="flex: 1")
        solara.InputFloat(f"{channel.value} contacts per week for the {tier.value or '?'} tier", value=calls,
                          optional=True, placeholder="as each policy says")
        solara.InputFloat("settlement discount, % of the balance", value=discount_pct, optional=True,
                          placeholder="as each policy says")
        solara.Text("Collectors change the scenario. Contacts per week (for the tier, on the channel) and the "
                    "discount (in cells that offer a settlement) change every rule-table policy chosen, renamed "
                    "NAME-edited; no-contact and max-legal are not rule tables.", classes=["collectsim-caption"])

    chosen = [s.value for s in slots if s.value != NONE]
    solara.Text(_plan(chosen), classes=["collectsim-caption", "collectsim-plan"])
    with solara.Row():
        solara.Button("Run", color="primary", on_click=start_run, disabled=busy, icon_name="mdi-play",
                      classes=["collectsim-run"])
        solara.Button("Cancel", on_click=cancel_run, disabled=not busy, outlined=True)
    ErrorLine(run_error.value, "run")


def _plan(chosen: list[str]) -> str:
    """What *Run* will do, in one line (the inputs as the server has them)."""
    try:
        first, n = int(seed.value), int(reps.value)
        return (f"Run: {' vs '.join(chosen)}; {int(accounts.value):,} accounts × {int(days.value)} days; "
                f"{n} replications on seeds {first}–{first + n - 1}.")
    except (TypeError, ValueError):
        return "Run: set the size first."


@solara.component
def Status():
    """What the job is doing, with a progress bar."""
    s = status.value
    if s is None:
        return
    phase_s = max(0.0, s.elapsed - (s.phase_started - s.started))
    if s.phase == "live":
        solara.Text(f"Live run: day {s.day} of {s.days}, every policy on seed {s.seed} (the first replication).",
                    classes=["collectsim-status", "collectsim-phase-live"])
        solara.ProgressLinear(100.0 * s.day / max(s.days, 1))
    elif s.phase == "replications":
        solara.Text(f"Replications: {s.message} — {phase_s:.0f} s", classes=["collectsim-status",
                                                                            "collectsim-phase-replications"])
        solara.ProgressLinear(True)
    elif s.phase == "report":
        solara.Text("Writing the report…", classes=["collectsim-status", "collectsim-phase-report"])
        solara.ProgressLinear(True)
    elif s.phase == "done":
        n = s.comparison.meta.get("simulations", s.simulations) if s.comparison is not None else s.simulations
        solara.Success(f"Done in {s.elapsed:.0f} s: the live run and {n} simulations for the comparison.",
                       dense=True, classes=["collectsim-phase-done"])
    elif s.phase == "error":
        ErrorLine(s.error, "job")
    elif s.phase == "cancelled":
        solara.Info("Cancelled.", dense=True)


@solara.component
def Live():
    """The live charts and the latest day's figures."""
    s = live.value
    if s is not None and s.series is not None and not s.series.empty:
        LiveView(s)


@solara.component
def LiveView(s: Snapshot):
    """The charts and the table of one snapshot (the figure is drawn once per new day)."""
    day = int(s.series["day"].iloc[-1])
    fig = solara.use_memo(lambda: live_figure(s.series, s.labels, s.days), [s.run_id, day])
    with solara.Column(classes=["collectsim-charts"], gap="4px"):
        solara.FigureMatplotlib(fig, format="png", dependencies=[s.run_id, day])
    solara.Text(f"Day {day} of {s.days}, seed {s.seed}; per 1,000 accounts of the book where it says so.",
                classes=["collectsim-caption", "collectsim-live-day"])
    solara.HTML(unsafe_innerHTML=live_table_html(s.series, s.labels))


@solara.component
def Results():
    """The paired comparison: headline sentences, the KPI table, downloads."""
    s = result.value
    if s is None or s.comparison is None:
        return
    c = s.comparison
    summary = c.summary()
    lv = int(round(100 * c.settings.level))
    solara.HTML(tag="h3", unsafe_innerHTML=f"Champion versus challengers: {len(c.seeds)} paired replications "
                f"(seeds {c.seeds[0]}–{c.seeds[-1]})")
    for line in headline_sentences(c.table, summary):
        solara.Text(line, classes=["collectsim-lead", "collectsim-headline-sentence"])
    solara.Text(f"Mean over replications with its {lv}% t interval; Δ is challenger − {c.champion} on the same "
                f"seeds with a paired {lv}% interval; p is a paired test, Holm-adjusted across challengers; P(better) "
                "is the share of replications the challenger did better in. Money and counts per "
                f"{c.settings.per_accounts:,} accounts. Green: clearly better, red: clearly worse.",
                classes=["collectsim-caption"])
    main = main_kpis(c.settings)
    solara.HTML(unsafe_innerHTML=kpi_table_html(c.table, main, c.policies, c.settings.headline),
                classes=["collectsim-scroll"])
    rest = [k for k in c.settings.kpis if k not in main]
    if rest:
        with solara.Details(f"All {len(c.settings.kpis)} KPIs"):
            solara.HTML(unsafe_innerHTML=kpi_table_html(c.table, list(c.settings.kpis), c.policies,
                                                        c.settings.headline), classes=["collectsim-scroll"])
    if s.report_html is not None:
        with solara.Row():
            solara.FileDownload(s.report_html, filename="report.html", label="Download report.html",
                                mime_type="text/html")
            solara.FileDownload(s.comparison_csv, filename="comparison.csv", label="Download comparison.csv",
                                mime_type="text/csv")


@solara.component
def Main():
    """The main area: a word on what to do, then the run's progress, live charts and results."""
    if status.value is None:
        solara.Text("Pick an experiment and two to four policies, set the size and the levers, press Run: "
                    "the policies run side by side on the same seed, day by day, then on a few more seeds "
                    "for the paired comparison (champion = the first policy) and its report.",
                    classes=["collectsim-lead"])
        return
    Status()
    Live()
    Results()


@solara.component
def Page():
    """The whole page."""
    solara.Title("collectsim app")
    solara.Style(CSS)

    def first_experiment():
        if not experiment_key.value:
            options = _experiment_options()
            if options:
                select_experiment("quickstart.toml" if "quickstart.toml" in options else next(iter(options)))

    solara.use_effect(first_experiment, [])

    def cleanup():
        def close():
            job = current_job.value
            if job is not None:
                job.cancel()
            if uploads_store.value is not None:
                uploads_store.value.close()
        return close

    solara.use_effect(cleanup, [])

    with solara.AppBarTitle():
        solara.Text("collectsim — champion versus challengers")
    with solara.Sidebar():
        with solara.Column(gap="10px"):
            Controls()
    with solara.Column(gap="10px", classes=["collectsim-main"]):
        Main()
