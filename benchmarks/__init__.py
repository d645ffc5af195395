"""Benchmarks: daskglm against its peers, in one process, on the same data.

``python -m benchmarks.run`` (what ``make bench`` calls) runs the suite and
writes a markdown table, the raw records (JSON) and plots under
``benchmarks/results/``. See :mod:`benchmarks.run` for the options.
"""
