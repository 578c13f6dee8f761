"""Experiments: loading experiment files, single runs, replications, and (in their modules) optimization and comparison."""
