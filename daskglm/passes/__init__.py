"""Passes over chunked data: one sweep of the chunks per evaluation.

Chunked data and its checks (:mod:`.chunked`), the compiled per-chunk
kernels (:mod:`.kernels`), the solvers' objective (:mod:`.objective`), and the
statistics pass at the solution that the results read (:mod:`.statistics`).
"""
