"""Where a Newton pass spends its time, and what the alternatives cost.

``python -m benchmarks.pass_kernels [--rows N] [--features P]`` times, on the
logistic problem (1e6 x 21 by default), with BLAS limited to one thread so
that the numbers are per core:

1. the per-chunk kernel (``daskglm.passes.objective._evaluate_chunk``, which for
   the canonical families is the fused numba sweep of ``daskglm.passes.kernels``)
   against the numpy pieces it replaced: ``X @ b``, the family's
   derivatives, ``X' g``, and the weighted Gram matrix;
2. alternatives for ``X' diag(h) X``: the numba 4 x 4 tile kernel on
   transposed 128-row blocks (current), the ``X * sqrt(h)`` copy then
   ``Xw.T @ Xw`` (numpy dispatches it to ``syrk``; the previous kernel),
   scipy's ``dsyrk`` on the same copy, ``X.T @ (X * h)`` (``gemm``), the
   copy made in cache-sized row blocks, and older numba attempts;
3. a whole dask pass against the number of chunks (per-task overhead), and
   what ``chunked.single_threaded_blas`` costs per task;
4. the numpy-input path (one call) against the same data split in chunks;
5. two threads against one for the Gram matrix: OpenBLAS ``syrk`` on thin
   blocks against the numba kernel (the reason for the numba kernel);
6. inside the fused kernel: its sweep stopped after each of its steps
   (transpose, ``eta``, row math, gradient, Gram matrix), and the IRLS
   start's numba kernel against the numpy row math it replaced;
7. the fused pass per row for canonical and non-canonical links (logistic
   against probit on the logistic data, Poisson's log link against its
   identity link on positive data, and the log link of the families whose
   canonical link it is not: Tweedie(1.5) and, where daskglm has them,
   Gamma and InverseGaussian), one thread, the same chunks.

It only reads daskglm; it changes nothing. The numbers go to stdout.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from numba import njit, prange
from threadpoolctl import threadpool_limits

from daskglm.passes import kernels as _kernels

from .problems import PROBLEMS


def best_of(func, repeat=5):
    """Fastest of ``repeat`` calls, in seconds."""
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


# -- Hessian alternatives ------------------------------------------------------------------
def gram_sqrt_copy(X, h):
    Xw = X * np.sqrt(h)[:, None]
    return Xw.T @ Xw


def gram_dsyrk(X, h):
    from scipy.linalg.blas import dsyrk

    Xw = X * np.sqrt(h)[:, None]
    upper = dsyrk(1.0, Xw.T, trans=0)  # Xw.T is Fortran-ordered (p, n): no copy
    return np.triu(upper) + np.triu(upper, 1).T


def gram_gemm(X, h):
    return X.T @ (X * h[:, None])


def gram_blocked(X, h, block=8192):
    """The sqrt-weighted copy made block by block (stays in cache) then syrk."""
    p = X.shape[1]
    out = np.zeros((p, p))
    buffer = np.empty((block, p))
    for start in range(0, X.shape[0], block):
        stop = min(X.shape[0], start + block)
        Xw = buffer[: stop - start]
        np.multiply(X[start:stop], np.sqrt(h[start:stop])[:, None], out=Xw)
        out += Xw.T @ Xw
    return out


def fused_blocked_numpy(X, y, coef, block=8192):
    """Value, gradient and Hessian in one sweep over cache-sized row blocks (numpy + BLAS).

    Every temporary is ``block`` rows long, so it stays in cache between the
    steps; the Hessian is the syrk of the sqrt-weighted block.
    """
    n, p = X.shape
    value, grad, hess = 0.0, np.zeros(p), np.zeros((p, p))
    buffer = np.empty((block, p))
    for start in range(0, n, block):
        stop = min(n, start + block)
        Xb, yb = X[start:stop], y[start:stop]
        eta = Xb @ coef
        value += float(np.sum(np.logaddexp(0.0, eta) - yb * eta))
        mu = 0.5 * (1.0 + np.tanh(0.5 * eta))  # = 1 / (1 + exp(-eta)), without overflow
        grad += Xb.T @ (mu - yb)
        Xw = buffer[: stop - start]
        np.multiply(Xb, np.sqrt(mu * (1.0 - mu))[:, None], out=Xw)
        hess += Xw.T @ Xw
    return value, grad, hess


@njit(cache=True, nogil=True, fastmath=False)
def _fused_logistic(X, y, coef):
    """Value, gradient and upper-triangular X'WX of the logistic nll in one sweep."""
    n, p = X.shape
    value = 0.0
    grad = np.zeros(p)
    hess = np.zeros((p, p))
    for i in range(n):
        eta = 0.0
        for j in range(p):
            eta += X[i, j] * coef[j]
        if eta > 0:
            value += eta + np.log1p(np.exp(-eta)) - y[i] * eta
            mu = 1.0 / (1.0 + np.exp(-eta))
        else:
            e = np.exp(eta)
            value += np.log1p(e) - y[i] * eta
            mu = e / (1.0 + e)
        r = mu - y[i]
        w = mu * (1.0 - mu)
        for j in range(p):
            xij = X[i, j]
            grad[j] += r * xij
            wx = w * xij
            for k in range(j, p):
                hess[j, k] += wx * X[i, k]
    return value, grad, hess


@njit(cache=True, nogil=True)
def _fused_logistic_blocked(X, y, coef, block):
    """As ``_fused_logistic`` but the Hessian update of a row block goes through np.dot."""
    n, p = X.shape
    value = 0.0
    grad = np.zeros(p)
    hess = np.zeros((p, p))
    Xw = np.empty((block, p))
    for start in range(0, n, block):
        stop = min(n, start + block)
        m = stop - start
        for i in range(m):
            row = start + i
            eta = 0.0
            for j in range(p):
                eta += X[row, j] * coef[j]
            if eta > 0:
                value += eta + np.log1p(np.exp(-eta)) - y[row] * eta
                mu = 1.0 / (1.0 + np.exp(-eta))
            else:
                e = np.exp(eta)
                value += np.log1p(e) - y[row] * eta
                mu = e / (1.0 + e)
            r = mu - y[row]
            s = np.sqrt(mu * (1.0 - mu))
            for j in range(p):
                grad[j] += r * X[row, j]
                Xw[i, j] = s * X[row, j]
        part = Xw[:m]
        hess += np.dot(part.T, part)
    return value, grad, hess


@njit(parallel=True, cache=True)
def _fused_logistic_parallel(X, y, coef, n_parts):
    n, p = X.shape
    values = np.zeros(n_parts)
    grads = np.zeros((n_parts, p))
    hesses = np.zeros((n_parts, p, p))
    size = (n + n_parts - 1) // n_parts
    for part in prange(n_parts):
        lo, hi = part * size, min(n, (part + 1) * size)
        v, g, h = _fused_logistic(X[lo:hi], y[lo:hi], coef)
        values[part], grads[part], hesses[part] = v, g, h
    return values.sum(), grads.sum(axis=0), hesses.sum(axis=0)


# -- sections ---------------------------------------------------------------------------------
def kernel_pieces(X, y, coef):
    from daskglm import Logistic
    from daskglm.passes.objective import _evaluate_chunk, _weighted_gram

    family = Logistic()
    points = np.ascontiguousarray(coef[:, None])
    eta = X @ points
    nll, grad, fisher = family.derivatives(y[:, None], eta)
    h = fisher[:, 0]
    rows = [
        ("whole _evaluate_chunk (value, gradient, Hessian)",
         lambda: _evaluate_chunk(X, y, None, None, family, points, 1, True)),
        ("  X @ b", lambda: X @ points),
        ("  family.derivatives on (n, 1)", lambda: family.derivatives(y[:, None], eta)),
        ("  X.T @ grad", lambda: X.T @ grad),
        ("  _weighted_gram (numba tiles)", lambda: _weighted_gram(X, h)),
        ("  sqrt copy + Xw.T @ Xw (the numpy Gram it replaced)", lambda: gram_sqrt_copy(X, h)),
        ("  np.where(isfinite(h), h, 0)", lambda: np.where(np.isfinite(h), h, 0.0)),
    ]
    print("\n1. the current per-chunk kernel, one thread, whole data as one chunk")
    for name, func in rows:
        print(f"   {name:55s} {1e3 * best_of(func):8.1f} ms")
    return h


def gram_alternatives(X, y, coef, h):
    reference = gram_sqrt_copy(X, h)
    rows = [
        ("numba 4x4 tiles on transposed 128-row blocks [current]",
         lambda: _kernels.weighted_gram(X, h)),
        ("X * sqrt(h) copy, Xw.T @ Xw (numpy -> syrk)  [previous]", lambda: gram_sqrt_copy(X, h)),
        ("X * sqrt(h) copy, scipy dsyrk", lambda: gram_dsyrk(X, h)),
        ("X.T @ (X * h) (gemm)", lambda: gram_gemm(X, h)),
        ("sqrt copy in 8192-row blocks + syrk", lambda: gram_blocked(X, h)),
        ("sqrt copy in 2048-row blocks + syrk", lambda: gram_blocked(X, h, 2048)),
    ]
    print("\n2. X' diag(h) X alternatives (Hessian only), one thread")
    for name, func in rows:
        error = np.max(np.abs(func() - reference)) / np.max(np.abs(reference))
        print(f"   {name:55s} {1e3 * best_of(func):8.1f} ms   rel.err {error:.1e}")
    fused = [
        ("numpy, one sweep over 8192-row blocks (all in cache)",
         lambda: fused_blocked_numpy(X, y, coef)),
        ("numpy, one sweep over 32768-row blocks",
         lambda: fused_blocked_numpy(X, y, coef, 32768)),
        ("numba fused value+grad+Hessian, scalar rows", lambda: _fused_logistic(X, y, coef)),
        ("numba fused, 2048-row blocks, Hessian by np.dot",
         lambda: _fused_logistic_blocked(X, y, coef, 2048)),
    ]
    _fused_logistic(X[:100], y[:100], coef)
    _fused_logistic_blocked(X[:100], y[:100], coef, 64)
    print("   whole pass alternatives (value + gradient + Hessian):")
    for name, func in fused:
        hess = func()[2]
        error = np.max(np.abs(np.triu(hess) - np.triu(reference))) / np.max(np.abs(reference))
        print(f"   {name:55s} {1e3 * best_of(func):8.1f} ms   rel.err {error:.1e}")


def dask_passes(data, coef):
    import dask

    from daskglm import Logistic
    from daskglm.passes.objective import Objective

    print("\n3. one dask pass (value, gradient, Hessian) against the number of chunks, "
          "threaded scheduler, 2 workers")
    X, y = data.design, data.y
    numpy_objective = Objective(X, y, Logistic())
    numpy_objective.evaluate(coef, hessian=True)  # the validating first pass
    single = best_of(lambda: numpy_objective.evaluate(coef, hessian=True))
    print(f"   numpy input (one call, BLAS 2 threads)                   {1e3 * single:8.1f} ms")
    with threadpool_limits(1):
        one = best_of(lambda: numpy_objective.evaluate(coef, hessian=True))
    print(f"   numpy input (one call, BLAS 1 thread)                    {1e3 * one:8.1f} ms")
    for n_chunks in (1, 2, 4, 8, 16, 32, 64, 128):
        rows = -(-X.shape[0] // n_chunks)
        Xd, yd = data.dask_arrays(rows)
        objective = Objective(Xd, yd, Logistic())
        objective.evaluate(coef, hessian=True)
        seconds = best_of(lambda objective=objective: objective.evaluate(coef, hessian=True))
        print(f"   {n_chunks:4d} chunks of {rows:8,d} rows                            "
              f"{1e3 * seconds:8.1f} ms")
    del dask


def blas_limit_cost():
    from threadpoolctl import ThreadpoolController

    from daskglm.passes.chunked import single_threaded_blas

    with single_threaded_blas():
        pass
    count = 200
    start = time.perf_counter()
    for _ in range(count):
        with single_threaded_blas():
            pass
    per = (time.perf_counter() - start) / count
    controller = ThreadpoolController()
    start = time.perf_counter()
    for _ in range(count):
        controller.limit(limits=1, user_api="blas").restore_original_limits()
    raw = (time.perf_counter() - start) / count
    print("\n4. the BLAS limit around each task")
    print(f"   single_threaded_blas enter+exit (no other task inside) {1e6 * per:8.0f} µs")
    print(f"   ThreadpoolController.limit + restore                     {1e6 * raw:8.0f} µs")


def thread_scaling(X, h):
    """The Gram matrix of two halves on two threads against one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    halves = [(X[: len(X) // 2], h[: len(X) // 2]), (X[len(X) // 2:], h[len(X) // 2:])]
    print("\n5. X' diag(h) X over two halves: one thread after the other vs two threads")
    for name, func in (("numpy blocked syrk", gram_blocked),
                       ("numba tiles [current]", _kernels.weighted_gram)):
        with threadpool_limits(1):
            one = best_of(lambda func=func: [func(*half) for half in halves])
            with ThreadPoolExecutor(2) as pool:
                two = best_of(lambda func=func: list(pool.map(lambda half: func(*half), halves)))
        print(f"   {name:55s} {1e3 * one:8.1f} ms -> {1e3 * two:8.1f} ms")


def _kernel_steps_for(row):
    """The fused sweep of ``daskglm.passes.kernels`` around ``row``, stopped
    after ``steps`` steps."""
    @njit(nogil=True)
    def steps_kernel(X, y, coef, steps):
        n, p = X.shape
        XT, H = _kernels._buffers(p)
        eta = np.zeros(_kernels._BLOCK)
        r, h = np.zeros(_kernels._BLOCK), np.zeros(_kernels._BLOCK)
        grad = np.zeros(p)
        value = 0.0
        for start in range(0, n, _kernels._BLOCK):
            m = min(n, start + _kernels._BLOCK) - start
            _kernels._transpose(X, start, m, XT)
            if steps >= 2:
                _kernels._linear_predictor(XT, coef, m, p, eta)
            if steps >= 3:
                for i in range(m):
                    nll, gradient, fisher = row(y[start + i], eta[i])
                    value += nll
                    r[i] = gradient
                    h[i] = fisher
            if steps >= 4:
                _kernels._add_moment(XT, r, m, p, grad)
            if steps >= 5:
                _kernels._accumulate_gram(XT, h, m, p, H)
        return value + grad.sum() + H[0, 0] + XT[0, 0] + eta[0]
    return steps_kernel


def kernel_steps(X, y, coef):
    from daskglm import Logistic
    from daskglm.passes.objective import _in_row_blocks, _irls_start_arrays

    chunk = slice(0, min(len(y), 250_000))
    X, y = X[chunk], y[chunk]
    print(f"\n6. inside the fused kernel, one thread, one chunk of {len(y):,} rows")
    steps = ["transpose the block", "+ eta = X b", "+ row math (exp, log)",
             "+ gradient", "+ Gram matrix (the whole sweep)"]
    kernel = _kernel_steps_for(Logistic().row_math.row)
    for count, name in enumerate(steps, start=1):
        seconds = best_of(lambda count=count: kernel(X, y, coef, count))
        print(f"   {name:55s} {1e3 * seconds:8.2f} ms")
    numpy_start = best_of(lambda: _in_row_blocks(_irls_start_arrays, X, y, None, None, Logistic()))
    numba_start = best_of(lambda: _kernels.irls_start(X, y, None, None, Logistic()))
    label = "IRLS start: row loop, then the Gram matrix [sparse path]"
    print(f"   {label:55s} {1e3 * numpy_start:8.2f} ms")
    print(f"   {'IRLS start: one numba sweep [current]':55s} {1e3 * numba_start:8.2f} ms")


def _positive_counts(n_rows, n_features, seed=2):
    """Positive X (and an intercept) and positive coefficients, so that the
    identity link's mean is positive: one design for both Poisson links."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n_rows), rng.uniform(0.0, 1.0, (n_rows, n_features))])
    coef = np.full(n_features + 1, 1.0 / n_features)
    y = rng.poisson(X @ coef).astype(float)
    return X, y, coef


def _fused_pass_function(family):
    """One chunk's fused pass for ``family``."""
    return lambda X, y, coef: _kernels.fused_pass(X, y, None, None, coef, family)


def _log_link_cases(counts):
    """``(name, family, data)`` of the log link of the families it is not
    canonical for, on the positive counts (shifted by 1/2 where the family
    needs y > 0). Gamma and InverseGaussian are looked up by name and left
    out, with a printed line, where this daskglm does not have them."""
    from daskglm import Tweedie
    from daskglm.math.families import get_family

    X, y, coef = counts
    cases = [("Tweedie(var_power=1.5) (log)", Tweedie(var_power=1.5), counts)]
    for name in ("gamma", "inversegaussian"):
        try:
            family = get_family(name, link="log")
        except ValueError:
            print(f"   ({name}: not in this daskglm, skipped)")
            continue
        cases.append((f"{type(family).__name__} (log)", family, (X, y + 0.5, coef)))
    return cases


def family_passes(logistic_data, n_rows, n_chunks=4, rounds=5):
    """Section 7: the fused pass per row, canonical against non-canonical links."""
    from daskglm import Logistic, Poisson, links

    X_counts, y_counts, coef_counts = _positive_counts(n_rows, logistic_data[0].shape[1] - 1)
    counts = (X_counts, y_counts, coef_counts)
    cases = [
        ("Logistic (logit)", Logistic(), logistic_data),
        ("Logistic(link=Probit())", Logistic(link=links.Probit()), logistic_data),
        ("Poisson (log)", Poisson(), counts),
        ("Poisson(link=Identity())", Poisson(link=links.Identity()), counts),
        *_log_link_cases(counts),
    ]
    bounds = np.linspace(0, n_rows, n_chunks + 1).astype(int)
    print(f"\n7. the fused pass per row by family and link, one thread, {n_rows:,} x "
          f"{logistic_data[0].shape[1]} in {n_chunks} chunks (best of {rounds} "
          f"interleaved rounds)")
    timed = []
    for name, family, (X, y, coef) in cases:
        run = _fused_pass_function(family)
        chunks = [(X[a:b], y[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        for X_chunk, y_chunk in chunks[:1]:
            run(X_chunk[:256], y_chunk[:256], coef)          # compile outside the timing
        timed.append((name, run, chunks, coef))
    best = {name: np.inf for name, *_ in timed}
    for _ in range(rounds):       # interleaved: a busy neighbour slows every case alike
        for name, run, chunks, coef in timed:
            start = time.perf_counter()
            for X_chunk, y_chunk in chunks:
                run(X_chunk, y_chunk, coef)
            best[name] = min(best[name], time.perf_counter() - start)
    for name in best:
        print(f"   {name:30s} {1e9 * best[name] / n_rows:8.1f} ns per row")
    print(f"   probit / logit {best['Logistic(link=Probit())'] / best['Logistic (logit)']:.2f}, "
          f"identity / log {best['Poisson(link=Identity())'] / best['Poisson (log)']:.2f} "
          f"(issue 16's target: at most 1.5)")
    for name in best:
        if name.endswith("(log)") and name != "Poisson (log)":
            print(f"   {name} / Poisson (log) {best[name] / best['Poisson (log)']:.2f}")
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sections", default="1234567")
    args = parser.parse_args(argv)
    data = PROBLEMS["logistic"].scaled(n_rows=args.rows).make()
    X, y = data.design, data.y
    coef = data.true_coef * 0.9
    print(f"logistic {X.shape[0]:,} x {X.shape[1]}")
    with threadpool_limits(1):
        if "1" in args.sections:
            h = kernel_pieces(X, y, coef)
        else:
            h = (lambda mu: mu * (1 - mu))(1 / (1 + np.exp(-(X @ coef))))
        if "2" in args.sections:
            gram_alternatives(X, y, coef, h)
    if "3" in args.sections:
        dask_passes(data, coef)
    if "4" in args.sections:
        blas_limit_cost()
    if "5" in args.sections:
        thread_scaling(X, h)
    if "6" in args.sections:
        with threadpool_limits(1):
            kernel_steps(X, y, coef)
    if "7" in args.sections:
        with threadpool_limits(1):
            family_passes((X, y, coef), X.shape[0])


if __name__ == "__main__":
    main()
