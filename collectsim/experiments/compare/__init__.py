"""Champion versus challengers: the ``[compare]`` settings (``settings.py``), stress variants
(``variants.py``), the statistics (``stats.py``), the comparison figures (``table.py``) and
the paired study itself (``comparison.py``: :func:`compare`, :class:`Comparison`)."""

from collectsim import lazy

#: public name -> module that defines it (imported on first use, for start-up time)
_EXPORTS = {
    "Comparison": "collectsim.experiments.compare.comparison",
    "compare": "collectsim.experiments.compare.comparison",
    "CompareSettings": "collectsim.experiments.compare.settings",
    "Variant": "collectsim.experiments.compare.settings",
    "TABLE_COLUMNS": "collectsim.experiments.compare.table",
    "CONTRAST_COLUMNS": "collectsim.experiments.compare.table",
    "contrast_table": "collectsim.experiments.compare.table",
    "comparison_table": "collectsim.experiments.compare.table",
    "normalised": "collectsim.experiments.compare.table",
    "stress_table": "collectsim.experiments.compare.table",
    "unit_of": "collectsim.experiments.compare.table",
    "build_variants": "collectsim.experiments.compare.variants",
    "deep_merge": "collectsim.experiments.compare.variants",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy.exports(__name__, _EXPORTS)
