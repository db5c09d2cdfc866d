"""Benchmarks: `python -m bench [probe|store|exposure|slack ...]` (all when none is named).

Each benchmark prints ratios measured side by side in one run, never absolute targets."""
