"""Running the optimizer's simulations: a cache of (policy, seed) results over ``run_tasks``,
and the connection to a Dask cluster when the study runs there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from collectsim.errors import InputError
from collectsim.experiments.optimize.objective import compact_kpis
from collectsim.experiments.optimize.plan import StudyPlan
from collectsim.experiments.optimize.space import spec_key
from collectsim.experiments.progress import counter
from collectsim.experiments.replicate import Task, run_tasks
from collectsim.policies import CGWThresholdPolicy, RuleTablePolicy

__all__ = ["SimulationRunner", "connect_backend"]


class SimulationRunner:
    """Runs (policy, seed) simulations through ``run_tasks`` with a result cache.

    Simulations are pure functions of (policy behaviour, seed), so a repeated (policy, seed)
    — a duplicate suggestion, the champion — is read from the cache, not re-simulated.
    """

    def __init__(self, plan: StudyPlan, jobs: int, backend: str | None) -> None:
        self.plan = plan
        self.jobs = jobs
        self.backend = backend
        self.cache: dict[tuple[str, int], dict[str, float]] = {}
        self.simulated = 0
        self.sim_seconds = 0.0  # summed wall time of the simulations (for utilization)

    def key(self, policy: Any) -> str:
        if isinstance(policy, RuleTablePolicy):
            return spec_key(policy.table, self.plan.space.tier_names)
        if isinstance(policy, CGWThresholdPolicy):  # what it does: its spec without the name
            return "cgw:" + json.dumps({k: v for k, v in policy.to_dict().items() if k != "name"}, sort_keys=True)
        return "policy:" + str(getattr(policy, "name", type(policy).__name__))

    def run(
        self, items: list[tuple[Any, str, int]], progress: Callable[[str], None] | None = None, step: str = "simulations"
    ) -> list[dict[str, float]]:
        """KPIs (compact) of each ``(policy, key, seed)``, in order.

        ``progress`` (optional) receives a :class:`~collectsim.experiments.progress.Progress`
        named ``step`` per finished simulation (pairs already in the cache are not re-run or counted).
        """
        todo: dict[tuple[str, int], Task] = {}
        for pol, key, seed in items:
            if (key, seed) not in self.cache and (key, seed) not in todo:
                todo[(key, seed)] = Task(self.plan.scenario, pol, seed, days=self.plan.days)
        if todo:
            tasks = list(todo.values())
            on_done = counter(progress, step, len(tasks), "simulations")
            if self.backend == "dask":
                results = run_tasks(tasks, backend="dask", on_done=on_done)
            else:
                results = run_tasks(tasks, jobs=min(self.jobs, len(tasks)) if self.jobs > 1 else 1, on_done=on_done)
            for k, r in zip(todo, results, strict=True):
                self.cache[k] = compact_kpis(r.kpis)
                self.sim_seconds += float(r.meta.get("wall_seconds") or 0.0)
            self.simulated += len(tasks)
        return [self.cache[(key, seed)] for _, key, seed in items]


@contextlib.contextmanager
def connect_backend(backend: str, scheduler: str | None) -> Iterator[int | None]:
    """Connect to a Dask scheduler for the duration (yields its thread count), or nothing."""
    if backend == "loky":
        if scheduler:
            raise InputError(f"scheduler = {scheduler!r}: only used with --backend dask")
        yield None
        return
    if backend != "dask":
        raise InputError(f"backend = {backend!r}: unknown; allowed: loky, dask")
    if not scheduler:
        raise InputError("backend = 'dask': needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        import distributed  # noqa: F401
        from distributed import Client
    except ImportError:
        raise InputError("backend = 'dask': needs the dask[distributed] package (pip install 'dask[distributed]')") from None
    try:
        client = Client(scheduler, timeout="15s", set_as_default=True)
    except (OSError, TimeoutError, ValueError) as e:
        raise InputError(f"scheduler = {scheduler!r}: cannot connect ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    try:
        threads = sum(client.nthreads().values()) or 1
        yield threads
    finally:
        client.close()
