"""The figures of each result-folder kind (matplotlib, PNG files): ``run.py``, ``compare.py``, ``optimize.py``."""
