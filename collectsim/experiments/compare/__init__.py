"""Champion versus challengers: the ``[compare]`` settings (``settings.py``), stress variants
(``variants.py``), the statistics (``stats.py``), the comparison figures (``table.py``) and
the paired study itself (``comparison.py``: :func:`compare`, :class:`Comparison`)."""

from collectsim.experiments.compare.comparison import Comparison, compare
from collectsim.experiments.compare.settings import CompareSettings, Variant
from collectsim.experiments.compare.table import TABLE_COLUMNS, comparison_table, normalised, stress_table, unit_of
from collectsim.experiments.compare.variants import build_variants, deep_merge

__all__ = [
    "Comparison", "compare", "CompareSettings", "Variant", "TABLE_COLUMNS", "comparison_table", "normalised",
    "stress_table", "unit_of", "build_variants", "deep_merge",
]
