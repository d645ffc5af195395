"""Automatic row chunks when data are persisted (daskglm.passes.chunked.balance_row_chunks)."""

import os

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import daskglm
from daskglm.passes.chunked import ChunkedData, _balanced_rows
from daskglm.solvers import newton

THREADS = os.cpu_count() or 1


def _computed(n_rows, n_cols, chunk_rows, seed=0):
    """X, y as dask arrays still to be computed (not in memory)."""
    X = da.random.default_rng(seed).normal(size=(n_rows, n_cols), chunks=(chunk_rows, n_cols))
    eta = X[:, 0] * 0.5 - X[:, 1] * 0.25
    y = (da.random.default_rng(seed + 1).uniform(size=n_rows, chunks=chunk_rows)
         < 1 / (1 + da.exp(-eta))).astype(float)
    return X, y


def test_one_big_chunk_is_split_for_every_core():
    X, y = _computed(400_000, 8, 400_000)
    data = ChunkedData(X, y, persist=True)
    assert data.X.numblocks[0] % THREADS == 0 and data.X.numblocks[0] >= THREADS
    assert data.y.chunks[0] == data.X.chunks[0]


def test_many_tiny_chunks_are_merged():
    X, y = _computed(400_000, 8, 500)  # 800 chunks of 32 KiB
    data = ChunkedData(X, y, persist=True)
    assert data.X.numblocks[0] == THREADS  # 25 MiB in all: one chunk per core


def test_chunks_already_fine_or_in_memory_are_kept():
    X, y = _computed(4_000_000, 8, 1_000_000)  # 4 chunks of 61 MiB
    assert _balanced_rows(X, 2) is None
    in_memory = da.from_array(np.ones((300_000, 4)), chunks=(300_000, 4))
    data = ChunkedData(in_memory, da.from_array(np.ones(300_000), chunks=300_000), persist=True)
    assert data.X.numblocks[0] == 1  # rechunking would copy data the user holds


def test_streamed_data_and_the_config_switch_keep_chunks():
    X, y = _computed(400_000, 8, 400_000)
    assert ChunkedData(X, y, persist=False).X.numblocks[0] == 1
    with dask.config.set({"daskglm.rechunk": False}):
        assert ChunkedData(X, y, persist=True).X.numblocks[0] == 1


def test_rebalanced_fit_equals_the_in_memory_fit():
    X, y = _computed(200_000, 6, 200_000, seed=4)
    X_np, y_np = dask.compute(X, y)
    fit = newton(X, y, tol=1e-10, persist=True)
    reference = newton(X_np, y_np, tol=1e-10)
    np.testing.assert_allclose(fit.coef, reference.coef, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("npartitions", [1, 64])
def test_formula_designs_are_rebalanced(npartitions):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"a": rng.normal(size=50_000), "b": rng.normal(size=50_000)})
    frame["y"] = rng.poisson(np.exp(0.3 * frame.a)).astype(float)
    model = daskglm.glm("y ~ a + b", dd.from_pandas(frame, npartitions=npartitions),
                        family=daskglm.Poisson())
    design, _ = model._prepare(True)
    assert design.X.numblocks[0] == THREADS
    result = model.fit()
    assert result.converged


@pytest.mark.parametrize("client_sum_parts", [8, 1])
def test_a_pass_on_a_cluster_is_one_task_per_worker_thread(distributed_client, monkeypatch,
                                                             client_sum_parts):
    """Persisted data on the two one-thread workers: a pass sweeps each worker's
    chunks in one task pinned to it; the partial sums are added by the client
    (few) or by the workers in a tree (forced here with a limit of 1); either
    way the sum is the one numpy computes."""
    from daskglm.passes import chunked

    monkeypatch.setattr(chunked, "_CLIENT_SUM_PARTS", client_sum_parts)
    rng = np.random.default_rng(5)
    X_np, y_np = rng.normal(size=(8_000, 3)), rng.normal(size=8_000)
    data = ChunkedData(da.from_array(X_np, chunks=(1_000, 3)), da.from_array(y_np, chunks=1_000),
                       persist=True)
    groups = data._thread_groups()
    # one group per one-thread worker that holds chunks (the scheduler may have
    # put every chunk on one of them), every chunk in exactly one group
    workers = [worker for worker, _ in groups]
    assert 1 <= len(groups) <= 2 and len(set(workers)) == len(workers)
    assert set(workers) <= set(distributed_client.nthreads())
    assert sorted(k for _, chunk in groups for k in chunk) == list(range(8))
    moments = lambda X, y, offset, weights: np.concatenate([X.T @ y, [y.size]])  # noqa: E731
    data.map_reduce(moments)                       # the validating first pass
    np.testing.assert_allclose(data.map_reduce(moments),
                               np.concatenate([X_np.T @ y_np, [8_000]]), rtol=1e-12)
