"""The numba pass kernels against the same row math applied over arrays
(the path of sparse chunks and trial points) on the same chunk."""

import numpy as np
import pytest
from numba import njit

from daskglm import Logistic, Normal, Poisson
from daskglm.passes import kernels as _kernels
from daskglm.passes.objective import (_evaluate_arrays, _evaluate_chunk, _in_row_blocks,
                               _irls_start_arrays, _irls_start_chunk)


@pytest.mark.parametrize("n_cols", [1, 2, 3, 4, 5, 6, 21, 37])
@pytest.mark.parametrize("n_rows", [1, 127, 128, 129, 1000])
def test_weighted_gram_equals_numpy(n_rows, n_cols):
    rng = np.random.default_rng(n_rows * 100 + n_cols)
    X = rng.normal(size=(n_rows, n_cols))
    h = rng.uniform(0, 3, n_rows)
    expected = X.T @ (X * h[:, None])
    gram = _kernels.weighted_gram(X, h)
    np.testing.assert_allclose(gram, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    assert np.array_equal(gram, gram.T)


def test_weighted_gram_any_memory_order():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(700, 9))
    h = rng.uniform(0, 1, 700)
    gram = _kernels.weighted_gram(X, h)
    np.testing.assert_array_equal(_kernels.weighted_gram(np.asfortranarray(X), h), gram)
    wide = rng.normal(size=(700, 18))
    wide[:, ::2] = X
    np.testing.assert_array_equal(_kernels.weighted_gram(wide[:, ::2], h), gram)


def _numpy_pass(X, y, offset, weights, family, coef):
    with np.errstate(all="ignore"):
        return _in_row_blocks(_evaluate_arrays, X, y, offset, weights, family,
                              coef[:, None].copy(), 1, True)


def _data(family, rng, n=3001, p=6):
    X = rng.normal(size=(n, p))
    if isinstance(family, Logistic):
        y = rng.integers(0, 2, n).astype(float)
    elif isinstance(family, Poisson):
        y = rng.poisson(2.0, n).astype(float)
    else:
        y = rng.normal(size=n)
    return X, y


@pytest.mark.parametrize("family", [Logistic(), Poisson(), Normal()], ids=repr)
@pytest.mark.parametrize("with_offset_and_weights", [False, True])
def test_canonical_pass_equals_numpy(family, with_offset_and_weights):
    rng = np.random.default_rng(7)
    X, y = _data(family, rng)
    coef = rng.normal(size=X.shape[1]) * 0.3
    offset = weights = None
    if with_offset_and_weights:
        offset = rng.normal(size=len(y)) * 0.2
        weights = rng.uniform(0, 2, len(y))
        weights[:40] = 0.0
    fused = _evaluate_chunk(X, y, offset, weights, family, coef[:, None].copy(), 1, True)
    expected = _numpy_pass(X, y, offset, weights, family, coef)
    np.testing.assert_allclose(fused, expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


def test_canonical_pass_counts_boundary_rows_and_stays_finite():
    rng = np.random.default_rng(3)
    X, y = _data(Logistic(), rng)
    coef = rng.normal(size=X.shape[1]) * 1e4  # |eta| in the thousands
    fused = _evaluate_chunk(X, y, None, None, Logistic(), coef[:, None].copy(), 1, True)
    expected = _numpy_pass(X, y, None, None, Logistic(), coef)
    assert np.all(np.isfinite(fused))
    p = X.shape[1]
    assert fused[p + 1] == expected[p + 1] > 2900  # nearly every row on the boundary
    np.testing.assert_allclose(fused[0], expected[0], rtol=1e-12)


def test_logistic_loss_is_accurate_to_an_ulp_where_it_is_tiny():
    """The kernel's log1p(exp(-|eta|)) keeps full relative precision, also
    for rows fitted so well that their loss is far below machine epsilon."""
    eta = np.concatenate([-np.logspace(-8, np.log10(700), 400), np.logspace(-8, 1.5, 100)])
    for y in (0.0, 1.0):
        losses = np.array([
            _kernels.fused_pass(np.ones((1, 1)), np.array([y]), None, None,
                                np.array([e]), Logistic(), hessian=False)[0]
            for e in (eta if y == 0 else -eta)
        ])
        expected = np.logaddexp(0.0, eta)  # y = 1 at -eta has the same loss
        np.testing.assert_allclose(losses, expected, rtol=4e-16, atol=0)


@pytest.mark.parametrize("family", [Logistic(), Poisson(), Normal()], ids=repr)
@pytest.mark.parametrize("with_offset_and_weights", [False, True])
def test_irls_start_kernel_equals_numpy(family, with_offset_and_weights):
    rng = np.random.default_rng(11)
    X, y = _data(family, rng, n=2000, p=7)
    offset = weights = None
    if with_offset_and_weights:
        offset = rng.normal(size=len(y)) * 0.2
        weights = rng.uniform(0, 2, len(y))
        weights[:30] = 0.0
    fused = _irls_start_chunk(X, y, offset, weights, family)
    with np.errstate(all="ignore"):
        expected = _in_row_blocks(_irls_start_arrays, X, y, offset, weights, family)
    np.testing.assert_allclose(fused, expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


def test_irls_start_kernel_leaves_out_rows_it_cannot_use():
    """A row whose working response is not finite (an infinite offset) is
    counted, unless its weight is zero, and left out of both sums."""
    rng = np.random.default_rng(12)
    X, y = _data(Poisson(), rng, n=600, p=3)
    offset = np.zeros(len(y))
    offset[[5, 9, 40]] = np.inf
    weights = np.ones(len(y))
    weights[40] = 0.0
    fused = _irls_start_chunk(X, y, offset, weights, Poisson())
    keep = np.isfinite(offset)
    clean = _irls_start_chunk(X[keep], y[keep], offset[keep], weights[keep], Poisson())
    assert fused[0] == 2
    np.testing.assert_allclose(fused[1:], clean[1:], rtol=1e-13)


def test_poisson_overflow_gives_an_infinite_value():
    rng = np.random.default_rng(4)
    X, y = _data(Poisson(), rng)
    fused = _evaluate_chunk(X, y, None, None, Poisson(), np.full((X.shape[1], 1), 500.0), 1, True)
    assert fused[0] == np.inf


def test_a_subclass_gets_its_own_compiled_math():
    """Kernels are cached per family (class and parameters), so a subclass
    that changes the math is never served its parent's kernel."""

    class ShiftedNormal(Normal):
        def functions(self):
            base = Normal().scalars

            @njit
            def row(y, eta):
                return base.canonical_row(y + 1.0, eta)

            return {**Normal.functions(self), "canonical_row": row}

    rng = np.random.default_rng(2)
    X, y = _data(Normal(), rng, n=300, p=3)
    coef = np.zeros(3)
    value, grad, _, _ = _kernels.fused_pass(X, y, None, None, coef, ShiftedNormal())
    plain = _kernels.fused_pass(X, y + 1.0, None, None, coef, Normal())
    np.testing.assert_allclose(value, plain[0], rtol=1e-13)
    np.testing.assert_allclose(grad, plain[1], rtol=1e-13)
    assert ShiftedNormal() != Normal() and ShiftedNormal().row_math.row is not Normal().row_math.row
