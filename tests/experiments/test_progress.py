"""Progress messages of long steps and the bars the command line draws from them."""

from __future__ import annotations

import io
import pickle

from collectsim.experiments import Progress, ProgressBars
from collectsim.experiments.progress import counter
from collectsim.experiments.replicate import Task, flat_kpis, run_tasks
from collectsim.scenario import Scenario


def test_a_progress_message_is_its_text_and_carries_its_parts():
    p = Progress("replications", 12, 40, "simulations")
    assert p == "replications: 12/40 simulations" and isinstance(p, str)
    assert (p.step, p.done, p.total, p.unit) == ("replications", 12, 40, "simulations")
    q = pickle.loads(pickle.dumps(p))
    assert q == p and (q.step, q.done, q.total) == ("replications", 12, 40)
    assert Progress("plots", 1, 3) == "plots: 1/3"


def test_counter_reports_zero_at_once_then_each_done():
    seen: list[str] = []
    done = counter(seen.append, "plots", 3, "plots")
    for k in (1, 2, 3):
        done(k)
    assert seen == ["plots: 0/3 plots", "plots: 1/3 plots", "plots: 2/3 plots", "plots: 3/3 plots"]
    assert counter(None, "plots", 3) is None


def test_bars_print_plain_messages_and_draw_counted_steps():
    out = io.StringIO()
    with ProgressBars("collectsim compare: ", file=out) as bars:
        bars("starting")
        bars(Progress("replications", 0, 3, "simulations"))
        assert bars._bar is not None and bars._bar.total == 3
        bars(Progress("replications", 2, 3, "simulations"))
        assert bars._bar.n == 2
        bars(Progress("replications", 3, 3, "simulations"))
        assert bars._bar is None  # a finished step's bar is closed
        bars("writing")
    text = out.getvalue()
    assert "collectsim compare: starting" in text and "collectsim compare: writing" in text
    assert "replications:   0%" in text and "0/3" in text
    quiet = io.StringIO()
    with ProgressBars(enabled=False, file=quiet) as bars:
        bars("starting")
        bars(Progress("plots", 1, 2))
    assert quiet.getvalue() == ""


def test_run_tasks_counts_the_simulations_it_finishes():
    scen = Scenario.model_validate({"portfolio": {"accounts": 200, "horizon_days": 5}})
    tasks = [Task(scen, "sms-only", s) for s in (1, 2, 3)]
    seen: list[int] = []
    results = run_tasks(tasks, on_done=seen.append)
    assert seen == [1, 2, 3] and len(results) == 3
    seen2: list[int] = []
    results2 = run_tasks(tasks, jobs=2, on_done=seen2.append)
    assert seen2 == [1, 2, 3]
    assert [flat_kpis(r)["net_value"] for r in results2] == [flat_kpis(r)["net_value"] for r in results]


def test_the_optimizer_shows_a_bar_for_its_validation(tmp_path, capsys):
    from collectsim import optimize

    exp = tmp_path / "tiny.toml"
    exp.write_text(
        '[run]\nname = "tiny"\n[portfolio]\naccounts = 300\nhorizon_days = 10\n'
        "[optimize]\ntrials = 3\nreps = 1\nvalidation_reps = 2\nvalidate_top = 1\nseed = 3\n"
        '[[optimize.params]]\nname = "low.sms"\nfield = "sms_per_week"\ntiers = ["low"]\nlow = 0\nhigh = 4\nstep = 1\n'
    )
    optimize(exp, out=tmp_path / "run", jobs=1, progress=True)
    err = capsys.readouterr().err
    assert "validating the best 1 trial(s) and the champion on 2 held-out seeds" in err
    assert "validation:" in err and "simulations" in err  # the bar of the validation's simulations
    assert "plots:" in err  # and of the report's plots
    optimize(exp, out=tmp_path / "quiet", jobs=1, progress=False)
    assert capsys.readouterr().err == ""
