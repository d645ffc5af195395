"""A coded design (dense block + categorical codes) against its one-hot expansion."""

import dask.array as da
import numpy as np
import pytest

import daskglm
from daskglm.passes.block_hessian import BlockHessian, SingularHessianError
from daskglm.passes.coded import CodedMatrix
from daskglm.passes.objective import Objective

FAMILIES = {
    "poisson": daskglm.Poisson(),
    "binomial": daskglm.Binomial(),
    "gaussian": daskglm.Normal(),
}


def _problem(family_name, n=3000, levels=(40, 7), seed=0):
    rng = np.random.default_rng(seed)
    dense = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    codes = np.column_stack([rng.integers(-1, n_levels, n) for n_levels in levels])
    coded = CodedMatrix(dense, codes.astype(np.int32), levels)
    X = coded.toarray()
    coef = np.concatenate([[0.2, 0.3, -0.2], rng.normal(0, 0.3, X.shape[1] - 3)])
    eta = X @ coef
    if family_name == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family_name == "binomial":
        y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    else:
        y = eta + rng.normal(size=n)
    offset = rng.normal(0, 0.1, n)
    weights = rng.uniform(0.5, 2.0, n)
    return coded, X, y, offset, weights


def _chunked(coded, y, offset, weights, chunks=1000):
    dense = da.from_array(coded.dense, chunks=(chunks, -1))
    codes = da.from_array(coded.codes, chunks=(chunks, -1))
    return (CodedMatrix(dense, codes, coded.n_levels), da.from_array(y, chunks=chunks),
            da.from_array(offset, chunks=chunks), da.from_array(weights, chunks=chunks))


@pytest.mark.parametrize("family_name", sorted(FAMILIES))
def test_pass_matches_one_hot(family_name):
    family = FAMILIES[family_name]
    coded, X, y, offset, weights = _problem(family_name)
    coded_d, y_d, offset_d, weights_d = _chunked(coded, y, offset, weights)
    rng = np.random.default_rng(1)
    points = rng.normal(0, 0.1, (X.shape[1], 2))
    ours = Objective(coded_d, y_d, family, offset=offset_d, weights=weights_d, persist=False)
    dense = Objective(X, y, family, offset=offset, weights=weights)
    got = ours.evaluate(points[:, 0], hessian=True)
    want = dense.evaluate(points[:, 0], hessian=True)
    assert ours.data.row_chunks == (1000, 1000, 1000)
    np.testing.assert_allclose(got.value, want.value, rtol=1e-12)
    np.testing.assert_allclose(got.gradient, want.gradient, rtol=1e-10, atol=1e-14)
    assert isinstance(got.hessian, BlockHessian)
    np.testing.assert_allclose(got.hessian.dense_matrix(), want.hessian, rtol=1e-10,
                               atol=1e-14)
    assert got.n_boundary == want.n_boundary
    # several points, no Hessian: the codes' products
    got = ours.evaluate(points, n_gradients=1)
    want = dense.evaluate(points, n_gradients=1)
    np.testing.assert_allclose(got.values, want.values, rtol=1e-12)
    np.testing.assert_allclose(got.gradients, want.gradients, rtol=1e-10, atol=1e-14)
    # the IRLS start
    got, want = ours.irls_start(), dense.irls_start()
    got_h, got_rhs, want_h, want_rhs = got.hessian, got.rhs, want.hessian, want.rhs
    for name in ("eta_rhs", "constant_rhs"):
        np.testing.assert_allclose(getattr(got, name), getattr(want, name), rtol=1e-10,
                                   atol=1e-14)
    np.testing.assert_allclose(got_h.dense_matrix(), want_h, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got_rhs, want_rhs, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ours.column_mean_squares, dense.column_mean_squares,
                               rtol=1e-12)


@pytest.mark.parametrize("family_name", sorted(FAMILIES))
def test_newton_matches_one_hot(family_name):
    family = FAMILIES[family_name]
    coded, X, y, offset, weights = _problem(family_name, seed=2)
    coded_d, y_d, offset_d, weights_d = _chunked(coded, y, offset, weights)
    ours = daskglm.solvers.newton(coded_d, y_d, family, offset=offset_d, weights=weights_d,
                                  tol=1e-10)
    want = daskglm.solvers.newton(X, y, family, offset=offset, weights=weights, tol=1e-10)
    assert ours.converged and want.converged
    np.testing.assert_allclose(ours.coef, want.coef, rtol=1e-7, atol=1e-8)
    # ridge: alpha on the diagonal of the blocks
    ridge = daskglm.L2(0.01)
    ours = daskglm.solvers.newton(coded, y, family, ridge, offset=offset, weights=weights,
                                  tol=1e-10, unpenalized=[0])
    want = daskglm.solvers.newton(X, y, family, ridge, offset=offset, weights=weights,
                                  tol=1e-10, unpenalized=[0])
    np.testing.assert_allclose(ours.coef, want.coef, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("solver", ["lbfgs", "gradient_descent", "proximal_grad"])
def test_first_order_solvers_on_codes(solver):
    family = FAMILIES["poisson"]
    coded, X, y, offset, weights = _problem("poisson", n=2000, levels=(35,), seed=3)
    options = {"max_iter": 5000, "tol": 1e-6} if solver != "lbfgs" else {"tol": 1e-8}
    ours = daskglm.solvers.get_solver(solver)(coded, y, family, daskglm.L2(0.01),
                                              offset=offset, **options)
    want = daskglm.solvers.newton(X, y, family, daskglm.L2(0.01), offset=offset, tol=1e-10)
    np.testing.assert_allclose(ours.coef, want.coef, atol=1e-4)


def test_block_hessian_solve_and_inverse_diagonal():
    coded, X, y, offset, weights = _problem("gaussian", levels=(30, 12, 5), seed=4)
    h = np.random.default_rng(5).uniform(0.5, 2.0, len(y))
    from daskglm.passes.coded_kernels import coded_gram_and_moment

    _, flat = coded_gram_and_moment(coded, h, np.zeros(len(y)))
    hessian = BlockHessian.from_flat(flat, coded.n_dense, coded.n_levels)
    full = X.T @ (X * h[:, None])
    np.testing.assert_allclose(hessian.dense_matrix(), full, rtol=1e-12, atol=1e-12)
    rhs = np.random.default_rng(6).normal(size=X.shape[1])
    np.testing.assert_allclose(hessian.solve(rhs), np.linalg.solve(full, rhs), rtol=1e-9)
    inverse = np.linalg.inv(full)
    np.testing.assert_allclose(hessian.inverse_diagonal(), np.diag(inverse), rtol=1e-9)
    np.testing.assert_allclose(hessian.inverse(), inverse, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(rhs @ hessian, full @ rhs, rtol=1e-12)


def test_empty_level_is_reported_at_the_first_iteration():
    coded, X, y, offset, weights = _problem("poisson", levels=(20,), seed=7)
    codes = coded.codes.copy()
    codes[codes[:, 0] == 4, 0] = 5            # level 4 loses its rows
    with pytest.raises(SingularHessianError, match="no row with positive weight") as info:
        daskglm.solvers.newton(CodedMatrix(coded.dense, codes, coded.n_levels), y,
                               FAMILIES["poisson"])
    assert info.value.positions == (coded.n_dense + 4,)


def test_bad_codes_and_solvers_are_refused():
    coded, X, y, offset, weights = _problem("poisson", levels=(20,), seed=8)
    codes = coded.codes.copy()
    codes[3, 0] = 20
    with pytest.raises(ValueError, match=r"codes outside \[-1, levels\)"):
        daskglm.solvers.newton(CodedMatrix(coded.dense, codes, coded.n_levels), y,
                               FAMILIES["poisson"])
    with pytest.raises(ValueError, match="proximal_grad"):
        daskglm.solvers.newton(coded, y, FAMILIES["poisson"], daskglm.L1(0.1))
    with pytest.raises(ValueError, match="needs the design's rows as dense columns"):
        daskglm.solvers.get_solver("saga")(coded, y, FAMILIES["poisson"])
    with pytest.raises(TypeError, match="codes must be integers"):
        CodedMatrix(coded.dense, coded.codes.astype(float), coded.n_levels)


def test_row_variances_from_codes_match_the_dummy_columns():
    """x' H^-1 x from the Schur factor and x' C x from gathers, against one-hot rows."""
    from daskglm.passes.coded_kernels import coded_gram_and_moment

    coded, X, _, _, weights = _problem("gaussian", n=4000, levels=(40, 7, 12), seed=9)
    blocks = BlockHessian.from_flat(coded_gram_and_moment(coded, weights, weights)[1],
                                    coded.n_dense, coded.n_levels)
    inverse = np.linalg.inv(X.T @ (X * weights[:, None]))
    np.testing.assert_allclose(blocks.inverse_row_forms(coded),
                               np.einsum("ij,ij->i", X @ inverse, X), rtol=1e-10)
    rng = np.random.default_rng(10)
    matrix = rng.normal(size=inverse.shape)
    matrix = matrix + matrix.T
    np.testing.assert_allclose(coded.row_quadratic_forms(matrix),
                               np.einsum("ij,ij->i", X @ matrix, X), rtol=1e-10, atol=1e-10)
