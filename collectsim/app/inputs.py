"""What a manager chooses on the page, turned into what the API runs.

The ready experiments and policy files of a folder (:func:`ready_experiments`,
:func:`ready_policies`); uploaded files, kept in a per-session temporary folder and checked
by the same loaders the command line uses, so that a bad file gives the very line the CLI
prints (:class:`Uploads`); the headline levers — collectors per team, contacts per week for
one tier, the settlement discount — applied to a scenario and to the rule-table policies
(:class:`Levers`); and :func:`build_spec`, which checks everything before anything runs and
returns the :class:`RunSpec` the runner executes.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

import collectsim
from collectsim.errors import InputError, from_pydantic
from collectsim.experiments import Experiment
from collectsim.experiments.compare.settings import CompareSettings
from collectsim.policies import BUILTIN, Policy, RuleTablePolicy, RuleTableSpec
from collectsim.policies.rule_table import cells_for_tier, updated_cell
from collectsim.scenario import Scenario

__all__ = [
    "PolicyChoice",
    "ready_experiments",
    "ready_policies",
    "builtin_choices",
    "describe",
    "Uploads",
    "Levers",
    "team_density",
    "apply_to_scenario",
    "apply_to_policy",
    "RunSpec",
    "build_spec",
    "EDITED",
    "HEADLINE",
]

#: the headline KPI of the app's comparison: what a strategy is worth to the lender
HEADLINE = "net_value"
#: appended to the name of a policy that a lever changed (its table goes into the report)
EDITED = "-edited"


@dataclass(frozen=True)
class PolicyChoice:
    """A policy a manager can pick: the label shown, the reference the API resolves, its origin."""

    label: str
    ref: str
    source: str  # "built-in", "file" or "upload"


def ready_experiments(folder: Path) -> dict[str, Path]:
    """The experiment files of ``folder`` (``*.toml``, not the policy files below it), by file name."""
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.glob("*.toml"))}


def builtin_choices() -> list[PolicyChoice]:
    """The built-in policies (``collectsim.BUILTIN_POLICIES``) as choices."""
    return [PolicyChoice(name, name, "built-in") for name in collectsim.BUILTIN_POLICIES]


def ready_policies(folder: Path) -> list[PolicyChoice]:
    """The policy files of ``folder`` (``*.toml``), labelled "name — policies/file.toml".

    A file that does not load is still listed (by its file name): choosing it shows its error.
    """
    out = []
    if not folder.is_dir():
        return out
    for p in sorted(folder.glob("*.toml")):
        try:
            name = collectsim.get_policy(str(p)).name
        except InputError:
            name = p.stem
        out.append(PolicyChoice(f"{name} — {folder.name}/{p.name}", str(p), "file"))
    return out


def describe(path: Path) -> str:
    """The leading comment of a TOML file (what the file says about itself), as one paragraph."""
    lines = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    for line in text.splitlines():
        s = line.strip()
        if not s.startswith("#"):
            break
        body = s.lstrip("#").strip()
        if body.startswith(("collectsim ", "python ", ".venv")):  # command examples
            continue
        lines.append(body)
    return " ".join(x for x in lines if x)


# ------------------------------------------------------------------ uploads -------------
class Uploads:
    """Uploaded files of one page session, each in its own folder under a temporary root.

    Files are checked by the command line's own loaders; :meth:`message` turns their error
    into the line the command line prints for the same file name (without the temporary
    folder), e.g. ``bad.toml: not valid TOML: Expected '=' after a key ... (at line 1, column 5)``.
    """

    _lock = threading.Lock()

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="collectsim-app-"))
        self._n = 0

    def save(self, name: str, data: bytes) -> Path:
        """Write an upload under its own (sanitised) file name; return its path."""
        safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", Path(name or "upload.toml").name) or "upload.toml"
        with self._lock:
            self._n += 1
            folder = self.root / f"u{self._n}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / safe
        path.write_bytes(data)
        return path

    def message(self, error: InputError, path: Path) -> str:
        """The error's one line as the command line prints it for the bare file name."""
        return str(error).replace(str(path.parent) + os.sep, "")

    def experiment(self, name: str, data: bytes) -> tuple[Path, Experiment]:
        """Save and load an uploaded experiment file; raise :class:`InputError` with the CLI's line."""
        path = self.save(name, data)
        try:
            return path, collectsim.load_experiment(path)
        except InputError as e:
            raise InputError(self.message(e, path)) from None

    def policy(self, name: str, data: bytes, scenario: Scenario | None = None) -> tuple[Path, Policy]:
        """Save and load an uploaded policy file (checked against ``scenario`` if given)."""
        path = self.save(name, data)
        try:
            pol = collectsim.get_policy(str(path))
            if scenario is not None:
                collectsim.prepare_policy(pol, scenario)
            return path, pol
        except InputError as e:
            raise InputError(self.message(e, path)) from None

    def close(self) -> None:
        """Remove the uploaded files."""
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------ levers --------------
def team_density(scenario: Scenario, team: str, accounts: int | None = None) -> float | None:
    """Collectors per 100,000 accounts of ``team`` (a fixed headcount is converted at ``accounts``,
    default the scenario's), or ``None`` when the scenario has no such team."""
    for t in scenario.teams:
        if t.name == team:
            if t.headcount is not None:
                n = accounts or scenario.portfolio.accounts
                return t.headcount * 100_000 / n
            return float(t.headcount_per_100k)
    return None


@dataclass(frozen=True)
class Levers:
    """The headline levers of the page; ``None`` leaves a setting as the files say.

    Attributes
    ----------
    headcount_per_100k:
        Collectors per 100,000 accounts by team name (``phone``, ``field``): the team then
        scales with the portfolio (its fixed ``headcount``, if any, is dropped).
    tier, contacts_per_week, channel:
        Contacts per week on ``channel`` (a rule-table frequency field, default calls)
        for the accounts of risk tier ``tier``, in every rule-table policy chosen.
    settlement_discount:
        The share of the balance forgiven, in every rule-table cell that offers a settlement.
    """

    headcount_per_100k: dict[str, float] = field(default_factory=dict)
    tier: str | None = None
    contacts_per_week: float | None = None
    channel: str = "call_per_week"
    settlement_discount: float | None = None

    @property
    def touch_policies(self) -> bool:
        """Whether any lever changes the rule tables."""
        return self.settlement_discount is not None or (self.tier is not None and self.contacts_per_week is not None)


def apply_to_scenario(scenario: Scenario, levers: Levers) -> Scenario:
    """The scenario with the team levers applied (validated like a file; errors are one line)."""
    if not levers.headcount_per_100k:
        return scenario
    names = {t.name for t in scenario.teams}
    for team in levers.headcount_per_100k:
        if team not in names:
            raise InputError(f"teams: no team {team!r} in this experiment; teams: {', '.join(sorted(names)) or '(none)'}")
    data = scenario.model_dump()
    for t in data["teams"]:
        if t["name"] in levers.headcount_per_100k:
            t["headcount"] = None
            t["headcount_per_100k"] = levers.headcount_per_100k[t["name"]]
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise from_pydantic(e) from None


def apply_to_policy(policy: Policy, levers: Levers) -> Policy:
    """``policy`` with the rule-table levers applied, renamed ``NAME-edited`` when they change it.

    A policy that is not a rule table (``no-contact``, ``max-legal``, a Python policy) is
    returned as it is.
    """
    if not isinstance(policy, RuleTablePolicy) or not levers.touch_policies:
        return policy
    spec = policy.table
    cells = list(spec.cells)
    if levers.settlement_discount is not None:
        cells = [
            updated_cell(c, settlement_discount=levers.settlement_discount) if c.offer == "settlement" else c
            for c in cells
        ]
    if levers.tier is not None and levers.contacts_per_week is not None:
        cells = cells_for_tier(cells, levers.tier, **{levers.channel: levers.contacts_per_week})
    if cells == list(spec.cells):
        return policy
    data = spec.model_dump()
    data["cells"] = [c.model_dump() for c in cells]
    data["name"] = spec.name if spec.name.endswith(EDITED) else spec.name + EDITED
    return RuleTablePolicy(RuleTableSpec.model_validate(data))


# ------------------------------------------------------------------ the run -------------
@dataclass
class RunSpec:
    """Everything one press of *Run* does, checked: the experiment (levers applied), the
    prepared policies (champion first), the first seed, the replications and the settings."""

    experiment: Experiment
    policies: list[Policy]
    seed: int
    reps: int
    settings: CompareSettings
    jobs: int = 1

    @property
    def scenario(self) -> Scenario:
        """The scenario every policy runs on."""
        return self.experiment.scenario

    @property
    def days(self) -> int:
        """Days simulated."""
        return self.scenario.portfolio.horizon_days


def _int(name: str, value, minimum: int) -> int:
    if value is None or isinstance(value, bool) or not float(value).is_integer():
        raise InputError(f"{name} = {value!r}: must be a whole number >= {minimum}")
    if int(value) < minimum:
        raise InputError(f"{name} = {int(value)!r}: must be >= {minimum}")
    return int(value)


def _finite(name: str, value: float | None) -> float | None:
    if value is not None and not math.isfinite(float(value)):
        raise InputError(f"{name} = {value!r}: must be a finite number")
    return None if value is None else float(value)


def build_spec(
    experiment: Path,
    policies: list[str],
    *,
    accounts: int,
    days: int,
    seed: int,
    reps: int,
    levers: Levers,
    jobs: int = 1,
) -> RunSpec:
    """Check the page's inputs and return the :class:`RunSpec`; raise :class:`InputError` before anything runs.

    ``policies`` are references the API resolves (built-in names or policy files), champion first.
    """
    if not 2 <= len(policies) <= 4:
        raise InputError(f"policies: {len(policies)} chosen; choose two to four (the first is the champion)")
    accounts = _int("accounts", accounts, 1)
    days = _int("days", days, 1)
    seed = _int("seed", seed, 0)
    reps = _int("replications", reps, 2)
    for team, v in levers.headcount_per_100k.items():
        _finite(f"teams.{team}.headcount_per_100k", v)
    _finite("contacts per week", levers.contacts_per_week)
    _finite("settlement discount", levers.settlement_discount)
    exp = collectsim.load_experiment(experiment, accounts=accounts, days=days)
    scenario = apply_to_scenario(exp.scenario, levers)
    if levers.tier is not None and levers.tier not in scenario.scoring.tier_names:
        raise InputError(f"tier = {levers.tier!r}: unknown tier; allowed: {', '.join(scenario.scoring.tier_names)}")
    exp = dataclasses.replace(exp, scenario=scenario)
    prepared = []
    for ref in policies:
        pol = collectsim.get_policy(exp.policy_ref(ref) if ref not in BUILTIN else ref)
        pol = apply_to_policy(pol, levers)
        prepared.append(collectsim.prepare_policy(pol, scenario))
    base = exp.sections.get("compare") or CompareSettings()
    data = base.model_dump()
    kpis = [HEADLINE, *[k for k in data["kpis"] if k != HEADLINE]]
    data.update(headline=HEADLINE, kpis=kpis, reps=reps, seed=seed, variants=[], target_ci=None,
                max_reps=None, champion=None, challengers=[])
    try:
        settings = CompareSettings.model_validate(data)
    except ValidationError as e:
        raise from_pydantic(e, prefix="compare") from None
    return RunSpec(experiment=exp, policies=prepared, seed=seed, reps=reps, settings=settings, jobs=jobs)
