"""The optimizer's two seed banks: the *search* bank every trial runs on (common random
numbers), and the disjoint *validation* bank the best trials are re-run on.

The default banks follow the one seed convention (:mod:`collectsim.experiments.seeds`).
"""

from __future__ import annotations

from collectsim.errors import InputError
from collectsim.experiments.optimize.settings import OptimizeSettings
from collectsim.experiments.seeds import bank_start, replication_seeds

__all__ = ["seed_banks"]


def seed_banks(settings: OptimizeSettings, reps: int | None = None, validation_reps: int | None = None) -> tuple[list[int], list[int]]:
    """The search and validation seed banks (disjoint).

    Defaults: search ``seed·100000 + 1 … + R``, validation ``seed·100000 + 50001 … + V``.
    Explicit ``search_seeds`` / ``validation_seeds`` lists are used as given (their first R
    or V seeds when ``reps`` / ``validation_reps`` asks for fewer).
    """
    r = settings.reps if reps is None else reps
    v = settings.validation_reps if validation_reps is None else validation_reps
    if settings.search_seeds is not None:
        if reps is not None and reps > len(settings.search_seeds):
            raise InputError(
                f"reps = {reps}: the file's optimize.search_seeds holds only {len(settings.search_seeds)} seeds"
            )
        search = list(settings.search_seeds[: (reps or len(settings.search_seeds))])
    else:
        search = replication_seeds(bank_start(settings.seed, "search"), r)
    if settings.validation_seeds is not None:
        validation = list(settings.validation_seeds[: (validation_reps or len(settings.validation_seeds))])
    else:
        validation = replication_seeds(bank_start(settings.seed, "validation"), v)
    common = set(search) & set(validation)
    if common:
        raise InputError(
            f"optimize.validation_seeds: seed {sorted(common)[0]} is also a search seed; the banks must be disjoint"
        )
    if r > 50_000 and settings.search_seeds is None:
        raise InputError(f"reps = {r}: at most 50000 with the default seed banks")
    return search, validation
