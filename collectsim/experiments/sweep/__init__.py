"""Dose-response sweeps (``collectsim sweep``): the ``[sweep]`` table (``settings.py``) and the
paired grid of runs with its summary (``runner.py``)."""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "SweepSettings": "collectsim.experiments.sweep.settings",
    "LEVERS": "collectsim.experiments.sweep.settings",
    "SweepResult": "collectsim.experiments.sweep.runner",
    "run_sweep": "collectsim.experiments.sweep.runner",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
