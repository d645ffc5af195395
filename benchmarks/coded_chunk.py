"""One chunk's Hessian: our coded kernel against tabmat's sandwich product.

``python -m benchmarks.coded_chunk``: a chunk of 125,000 rows (a million rows
in 8 files) with 6 dense columns, a 40-level and a 1,000-level categorical,
as daskglm's coded fused pass sees it and as glum's ``tabmat.SplitMatrix``
holds it. Times ``X' diag(h) X`` (tabmat's ``sandwich``; our coded Gram
kernel, and the whole fused pass, which also makes the value and gradient),
best of 5, and checks that both give the same matrix.
"""

from __future__ import annotations

import time

import numpy as np


def _best(func, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n_rows=125_000, levels=(40, 1000), seed=0):
    import pandas as pd
    import tabmat

    import daskglm
    from daskglm.passes.block_hessian import BlockHessian
    from daskglm.passes.coded import CodedMatrix
    from daskglm.passes.coded_kernels import coded_fused_pass, coded_gram_and_moment

    rng = np.random.default_rng(seed)
    dense = np.column_stack([np.ones(n_rows), rng.normal(size=(n_rows, 5))])
    full_codes = np.column_stack([rng.integers(0, n, n_rows) for n in levels])
    codes = (full_codes - 1).astype(np.int32)          # level 0: the reference
    coded = CodedMatrix(dense, codes, [n - 1 for n in levels])
    h = rng.uniform(0.1, 1.0, n_rows)
    y = rng.poisson(1.0, n_rows).astype(float)
    coef = np.zeros(coded.shape[1])
    split = tabmat.SplitMatrix([tabmat.DenseMatrix(dense)] + [
        tabmat.CategoricalMatrix(pd.Categorical(full_codes[:, t]), drop_first=True)
        for t in range(len(levels))])
    ours = _best(lambda: coded_gram_and_moment(coded, h, h))
    fused = _best(lambda: coded_fused_pass(coded, y, None, None, coef, daskglm.Poisson()))
    theirs = _best(lambda: split.sandwich(h))
    blocks = BlockHessian.from_flat(coded_gram_and_moment(coded, h, h)[1], coded.n_dense,
                                    coded.n_levels)
    difference = np.max(np.abs(blocks.dense_matrix() - split.sandwich(h)))
    print(f"{n_rows} rows, 6 dense columns, categoricals of {levels} levels")
    print(f"tabmat SplitMatrix.sandwich: {theirs * 1e3:.1f} ms (a dense "
          f"{coded.shape[1]} x {coded.shape[1]} result)")
    print(f"daskglm coded Gram kernel:   {ours * 1e3:.1f} ms (blocks)")
    print(f"daskglm coded fused pass:    {fused * 1e3:.1f} ms (value, gradient, Hessian)")
    print(f"max |difference|: {difference:.2e}")


if __name__ == "__main__":
    main()
