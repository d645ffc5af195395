"""The math of a GLM on one in-memory chunk: links, families, penalties.

Nothing here knows about dask. Everything above (passes, solvers,
inference, front ends) takes what it needs from these objects.
"""
