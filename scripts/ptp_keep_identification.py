"""What a lender's history shows of ``behaviour.ptp_keep`` (docs/data.md, "What is fitted"): the
kept rate of promises (the fit statistic ``promises_kept``) and the engine's own kept flags, for
three values of ptp_keep, on the same default book (N accounts × 90 days, the seed champion)
and seed.

    .venv/bin/python scripts/ptp_keep_identification.py [N]    # N: 50,000 by default
"""

from __future__ import annotations

import sys

from collectsim.experiments.calibrate.statistics import history_statistics
from collectsim.experiments.files import experiment_from_dict
from collectsim.experiments.synth import simulate_history
from collectsim.model import CollectionsModel
from collectsim.policies import prepare_policy


def main(n: int) -> None:
    for keep in (0.3, 0.6, 0.99):
        exp = experiment_from_dict({"portfolio": {"accounts": n, "horizon_days": 90},
                                    "behaviour": {"ptp_keep": keep}}, name="ptp-keep")
        st = history_statistics(simulate_history(exp, policy="seed-champion", seed=3))["promises_kept"]
        row = st[st["channel"] == "all"].iloc[0]
        flags = [0, 0]

        def watch(o, flags=flags):
            flags[0] += len(o.promise_kept)
            flags[1] += len(o.promise_broken)

        sc = exp.scenario
        CollectionsModel(sc, prepare_policy("seed-champion", sc), seed=3, log_contacts=False, observer=watch).run_for(90)
        print(f"ptp_keep {keep}: the lender's kept rate {int(row.kept)}/{int(row.due)} = {row.kept_rate:.3f}; "
              f"the engine's kept flags {flags[0]}/{sum(flags)}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
