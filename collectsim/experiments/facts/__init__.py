"""The stylized-facts scorecard (``collectsim facts``): the facts a lender's book shows in
the published evidence (``facts.toml``, with sources), the runs that measure them on an
experiment (``measure.py``) and the scorecard (``scoring.py``)."""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "Fact": "collectsim.experiments.facts.scoring",
    "FactRow": "collectsim.experiments.facts.scoring",
    "Scorecard": "collectsim.experiments.facts.scoring",
    "load_facts": "collectsim.experiments.facts.scoring",
    "facts_settings": "collectsim.experiments.facts.scoring",
    "scorecard": "collectsim.experiments.facts.scoring",
    "format_fact": "collectsim.experiments.facts.scoring",
    "MEASURES": "collectsim.experiments.facts.measure",
    "RUNS": "collectsim.experiments.facts.measure",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
