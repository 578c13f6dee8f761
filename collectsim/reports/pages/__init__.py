"""One page builder per result-folder kind: a run, a comparison, an optimization."""
