"""The Tweedie family against statsmodels' GLM, R's numbers (as statsmodels
ships them), scikit-learn's TweedieRegressor and the KKT conditions, on
3-chunk dask arrays and a 3-partition dask dataframe."""

import warnings

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from sklearn.linear_model import TweedieRegressor
from statsmodels.genmod.tests.results import results_glm

import daskglm
from benchmarks.problems import compound_poisson_gamma
from daskglm import solvers
from daskglm.families import get_family
from daskglm.frontend.saved import load_fit, save_results
from daskglm.math.compiled import row_arrays

from glm_reference import reference_fit

N_ROWS, N_CHUNKS = 1800, 3
RESIDUALS = ("resid_response", "resid_pearson", "resid_deviance", "resid_working")
STATISTICS = ("deviance", "pearson_chi2", "scale", "llf", "llnull", "aic", "bic",
              "null_deviance")


@pytest.fixture(scope="module")
def sample():
    """A compound Poisson-Gamma sample (p = 1.5) with exact zeros, and side columns."""
    rng = np.random.default_rng(20)
    X = np.column_stack([np.ones(N_ROWS), rng.normal(size=(N_ROWS, 3))])
    offset = rng.normal(0.0, 0.2, N_ROWS)
    mu = np.exp(X @ np.array([0.4, 0.3, -0.25, 0.15]) + offset)
    y = compound_poisson_gamma(mu, 1.5, 1.3, rng)
    assert 0.05 < np.mean(y == 0) < 0.5
    side = {"offset": offset, "var_weights": rng.uniform(0.5, 2.0, N_ROWS),
            "freq_weights": rng.integers(1, 4, N_ROWS).astype(float)}
    return X, y, side


def _response(y, var_power, eql):
    """The sample where ``var_power`` takes it (zeros moved up for p >= 2 and for
    the extended quasi-likelihood, which is +inf at y = 0)."""
    return y + 0.2 if var_power >= 2 or eql else y


def _chunked(array):
    rows = -(-array.shape[0] // N_CHUNKS)
    return da.from_array(array, chunks=(rows,) + array.shape[1:])


def _assert_matches(result, reference, residuals=RESIDUALS):
    np.testing.assert_allclose(result.params, reference.params, rtol=1e-6, atol=0)
    np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5, atol=0)
    for name in STATISTICS:
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name),
                                   rtol=1e-6, atol=0, err_msg=name)
    for name in residuals:
        ours = np.asarray(da.compute(getattr(result, name))[0])
        np.testing.assert_allclose(ours, getattr(reference, name), rtol=1e-6, atol=1e-9,
                                   err_msg=name)


# -- statsmodels' GLM --------------------------------------------------------------------
CASES = [
    (1.2, False, ()), (1.5, False, ("offset", "var_weights")),
    (1.8, False, ("freq_weights",)), (2.5, False, ("var_weights",)),
    (1.5, True, ("var_weights",)), (1.0, False, ()), (2.0, True, ("offset",)),
]


@pytest.mark.parametrize("var_power, eql, roles", CASES, ids=str)
def test_dask_arrays_match_statsmodels(sample, var_power, eql, roles):
    X, y, side = sample
    y = _response(y, var_power, eql)
    arguments = {role: side[role] for role in roles}
    family = daskglm.Tweedie(var_power=var_power, eql=eql)
    reference = reference_fit(sm.GLM(y, X, family=sm.families.Tweedie(
        var_power=var_power, eql=eql), **arguments))
    result = daskglm.GLM(_chunked(y), _chunked(X), family=family,
                         **{k: _chunked(v) for k, v in arguments.items()}).fit(tol=1e-10)
    assert result.converged
    if var_power > 2 and not eql:
        # statsmodels does not compute the likelihood there (NaN), nor do we
        assert np.isnan(reference.llf) and np.isnan(result.llf)
        np.testing.assert_allclose(result.params, reference.params, rtol=1e-6)
        np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5)
        return
    _assert_matches(result, reference)
    anscombe = np.asarray(result.resid_anscombe_unscaled.compute())
    np.testing.assert_allclose(anscombe, reference.resid_anscombe_unscaled, rtol=1e-6)


def test_sandwich_covariance_matches_statsmodels(sample):
    """HC0's bread is the observed information, which differs from the Fisher
    information for the (non-canonical) log link."""
    X, y, _ = sample
    reference = reference_fit(sm.GLM(y, X, family=sm.families.Tweedie(var_power=1.8)),
                              cov_type="HC0")
    result = daskglm.GLM(_chunked(y), _chunked(X), family=daskglm.Tweedie(var_power=1.8)).fit(
        tol=1e-10, cov_type="HC0")
    np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-6)


def test_formula_on_a_dask_dataframe_matches_statsmodels(sample, tmp_path):
    X, y, side = sample
    frame = pd.DataFrame({"y": y, "x1": X[:, 1], "x2": X[:, 2], "vw": side["var_weights"],
                          "exposure": np.exp(side["offset"]) + 0.5,
                          "g": np.where(X[:, 3] > 0.3, "a", np.where(X[:, 3] > -0.5, "b", "c"))})
    frame = frame.sort_values("g", kind="stable").reset_index(drop=True)
    formula = "y ~ x1 + np.log(x2 + 5) + C(g)"
    reference = reference_fit(smf.glm(formula, frame, family=sm.families.Tweedie(var_power=1.6),
                                      var_weights=frame["vw"], exposure=frame["exposure"]))
    ddf = dd.from_pandas(frame, npartitions=3, sort=False)
    result = daskglm.glm(formula, ddf, family=daskglm.Tweedie(var_power=1.6),
                         var_weights="vw", exposure="exposure").fit(tol=1e-10)
    assert list(result.params.index) == list(reference.params.index)
    _assert_matches(result, reference)
    # a saved fit keeps the power and predicts as the fit does
    saved = load_fit(save_results(result, tmp_path / "tweedie.json"))
    assert saved.family == daskglm.Tweedie(var_power=1.6)
    np.testing.assert_allclose(saved.predict(frame, exposure=frame["exposure"]),
                               reference.predict(frame, exposure=frame["exposure"]), rtol=1e-6)


# -- R's numbers, as statsmodels ships them (genmod/tests/results/results_glm.py) ------
def _r_case(name):
    if name == "cpunish":
        data = sm.datasets.cpunish.load_pandas()
        return data.endog, data.exog[["INCOME", "SOUTH"]], 1.0, results_glm.CpunishTweedieLog1()
    data = sm.datasets.fair.load_pandas()
    return (data.endog, data.exog[["rate_marriage", "age", "yrs_married"]], 1.5,
            results_glm.FairTweedieLog15())


@pytest.mark.parametrize("name", ["cpunish", "fair"])
def test_real_data_match_r(name):
    endog, exog, var_power, r = _r_case(name)
    n_rows = len(endog)
    rows = -(-n_rows // N_CHUNKS)
    y = da.from_array(endog.to_numpy(dtype=float), chunks=rows)
    X = da.from_array(exog.to_numpy(dtype=float), chunks=(rows, exog.shape[1]))
    result = daskglm.GLM(y, X, family=daskglm.Tweedie(var_power=var_power)).fit(tol=1e-10)
    assert result.converged
    tight = reference_fit(sm.GLM(endog, exog, family=sm.families.Tweedie(var_power=var_power)))
    np.testing.assert_allclose(result.params, tight.params, rtol=1e-6)
    np.testing.assert_allclose(result.bse, tight.bse, rtol=1e-5)
    # R's glm stops on a relative deviance change of 1e-8 and keeps the weights
    # of the step before: its estimates (and, through the Pearson scale, its
    # standard errors) are that far from the optimum (statsmodels' own tests
    # compare at 1e-5 absolute for that reason)
    np.testing.assert_allclose(result.params, r.params, rtol=2e-5)
    np.testing.assert_allclose(result.bse, r.bse, rtol=1e-4)
    np.testing.assert_allclose(result.deviance, r.deviance, rtol=1e-6)
    assert (result.df_model, result.df_resid) == (r.df_model, r.df_resid)
    picked = np.r_[np.arange(17), n_rows - 1]
    for name in RESIDUALS:
        ours = np.asarray(getattr(result, name).compute())[picked]
        theirs = np.asarray(getattr(r, name))
        theirs = np.r_[theirs[:17], theirs[-1]]
        np.testing.assert_allclose(ours, np.asarray(getattr(tight, name))[picked], rtol=1e-6,
                                   atol=1e-9, err_msg=name)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6, err_msg=name)


# -- every solver, with penalties ---------------------------------------------------------
def _tweedie_gradient(X, y, coef, var_power, weights=None):
    """The mean nll's gradient, written out: X' mu^(1-p) (mu - y) / n."""
    mu = np.exp(X @ coef)
    weights = np.ones(len(y)) if weights is None else weights
    return X.T @ (weights * np.power(mu, 1.0 - var_power) * (mu - y)) / weights.sum()


def _kkt_residual(X, y, coef, var_power, alpha, l1_ratio):
    """max over coefficients of the distance of -gradient to alpha's subdifferential
    (the intercept, column 0, unpenalized)."""
    gradient = _tweedie_gradient(X, y, coef, var_power)
    gradient[1:] += alpha * (1.0 - l1_ratio) * coef[1:]
    l1 = alpha * l1_ratio
    residual = np.abs(gradient)
    nonzero = coef != 0
    residual[1:][nonzero[1:]] = np.abs(gradient[1:] + l1 * np.sign(coef[1:]))[nonzero[1:]]
    residual[1:][~nonzero[1:]] = np.maximum(np.abs(gradient[1:]) - l1, 0.0)[~nonzero[1:]]
    return float(np.max(residual))


SOLVER_TOLERANCE = {"newton": 1e-8, "lbfgs": 1e-6, "gradient_descent": 1e-6,
                    "proximal_grad": 1e-6, "admm": 1e-5, "saga": 1e-6}


@pytest.mark.parametrize("method", list(SOLVER_TOLERANCE))
def test_every_solver_reaches_statsmodels_optimum(sample, method):
    X, y, _ = sample
    reference = reference_fit(sm.GLM(y, X, family=sm.families.Tweedie(var_power=1.5)))
    result = getattr(solvers, method)(_chunked(X), _chunked(y),
                                      daskglm.Tweedie(var_power=1.5),
                                      tol=SOLVER_TOLERANCE[method], max_iter=3000)
    assert result.converged, result.message
    # the stopping rule bounds the gradient; the coefficients follow within its conditioning
    np.testing.assert_allclose(result.coef, reference.params, rtol=0,
                               atol=300 * SOLVER_TOLERANCE[method])


@pytest.mark.parametrize("var_power", [1.3, 1.7])
def test_ridge_matches_scikit_learn(sample, var_power):
    X, y, _ = sample
    alpha = 0.02
    reference = TweedieRegressor(power=var_power, alpha=alpha, link="log", solver="newton-cholesky",
                                 tol=1e-12, max_iter=1000).fit(X[:, 1:], y)
    expected = np.r_[reference.intercept_, reference.coef_]
    for method in ("newton", "lbfgs", "proximal_grad"):
        result = getattr(solvers, method)(
            _chunked(X), _chunked(y), daskglm.Tweedie(var_power=var_power), daskglm.L2(alpha),
            unpenalized=[0], tol=1e-8, max_iter=2000)
        assert result.converged, (method, result.message)
        np.testing.assert_allclose(result.coef, expected, rtol=1e-4, err_msg=method)


@pytest.mark.parametrize("method", ["newton", "proximal_grad", "admm", "saga"])
@pytest.mark.parametrize("penalty", [daskglm.L1(0.05), daskglm.ElasticNet(0.1, l1_ratio=0.5)],
                         ids=repr)
def test_l1_and_elastic_net_satisfy_kkt(sample, method, penalty):
    X, y, _ = sample
    X = np.column_stack([X, np.random.default_rng(5).normal(size=(N_ROWS, 3))])  # 3 idle columns
    result = getattr(solvers, method)(_chunked(X), _chunked(y), daskglm.Tweedie(var_power=1.4),
                                      penalty, unpenalized=[0], tol=1e-7, max_iter=3000)
    assert result.converged, result.message
    l1_ratio = getattr(penalty, "l1_ratio", 1.0)
    assert _kkt_residual(X, y, result.coef, 1.4, penalty.alpha, l1_ratio) < 1e-5
    assert np.sum(result.coef[4:] == 0) >= 1      # the lasso part zeroes idle columns


# -- the family's math --------------------------------------------------------------------
def test_log_row_is_continuous_through_powers_one_and_two():
    """The row of p = 1 + 1e-12 (and 2 - 1e-12) is the p = 1 (p = 2) limit, the nll
    up to a constant, with no cancellation."""
    y = np.array([0.0, 0.5, 3.0, 40.0])
    eta = np.array([-3.0, 0.1, 1.2, 3.5])
    for limit in (1.0, 2.0):
        near = daskglm.Tweedie(var_power=limit + (1e-12 if limit == 1.0 else -1e-12))
        at = daskglm.Tweedie(var_power=limit)
        (nll_near, d1_near, w_near), (nll_at, d1_at, w_at) = (
            row_arrays(family, y, eta) for family in (near, at))
        np.testing.assert_allclose(d1_near, d1_at, rtol=1e-10)
        np.testing.assert_allclose(w_near, w_at, rtol=1e-10)
        np.testing.assert_allclose(nll_near - nll_near[0], nll_at - nll_at[0], rtol=1e-9)


def test_power_one_log_row_is_poisson():
    y, eta = np.array([0.0, 1.0, 7.0]), np.array([-1.0, 0.3, 2.0])
    (nll, d1, fisher), (nll_poisson, d1_poisson, fisher_poisson) = (
        row_arrays(family, y, eta) for family in (daskglm.Tweedie(), daskglm.Poisson()))
    np.testing.assert_allclose(nll + 1.0, nll_poisson, rtol=1e-13)   # mu - 1 - y eta
    np.testing.assert_allclose(d1, d1_poisson, rtol=1e-13)
    np.testing.assert_allclose(fisher, fisher_poisson, rtol=1e-13)


def test_loglike_is_a_density_for_compound_poisson_gamma():
    """exp(loglike) integrates to 1 over y >= 0 (point mass at 0 plus density)."""
    family = daskglm.Tweedie(var_power=1.4)
    grid = np.linspace(1e-6, 60.0, 120_001)
    for mu, scale in ((2.0, 1.0), (0.7, 2.5)):
        density = np.exp(family.loglike_obs(grid, np.full_like(grid, mu), 1.0, scale))
        zero = np.exp(family.loglike_obs(np.array([0.0]), np.array([mu]), 1.0, scale))[0]
        total = zero + np.trapezoid(density, grid)
        mean = np.trapezoid(grid * density, grid)
        assert total == pytest.approx(1.0, abs=2e-4)
        assert mean == pytest.approx(mu, rel=2e-4)


def test_parameters_enter_equality_and_statsmodels_conversion():
    family = daskglm.Tweedie(var_power=1.7, eql=True)
    assert family == daskglm.Tweedie(var_power=1.7, eql=True)
    assert family != daskglm.Tweedie(var_power=1.6, eql=True)
    assert family != daskglm.Tweedie(var_power=1.7)
    assert len({family, daskglm.Tweedie(var_power=1.7, eql=True), daskglm.Tweedie()}) == 2
    assert get_family(sm.families.Tweedie(var_power=1.7, eql=True)) == family
    assert get_family("tweedie") == daskglm.Tweedie()
    assert daskglm.families.Tweedie is daskglm.Tweedie
    assert daskglm.Tweedie(var_power=1.5).with_link("log") == daskglm.Tweedie(var_power=1.5)
    # different powers compile different rows
    y, eta = np.array([2.0]), np.array([0.5])
    assert row_arrays(daskglm.Tweedie(var_power=1.2), y, eta)[1] != \
        row_arrays(daskglm.Tweedie(var_power=1.8), y, eta)[1]


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("var_power", [0.5, 0.999, -1.0, float("nan"), "1.5", True])
def test_var_power_without_a_distribution_is_refused(var_power):
    with pytest.raises(ValueError, match="var_power"):
        daskglm.Tweedie(var_power=var_power)


def test_eql_outside_one_to_two_is_refused():
    with pytest.raises(ValueError, match="eql"):
        daskglm.Tweedie(var_power=2.5, eql=True)


def test_links_statsmodels_refuses_are_refused():
    with pytest.raises(ValueError, match="allowed links: log, power"):
        daskglm.Tweedie(link="logit", var_power=1.5)
    # the power links (identity, sqrt, inverse power among them) as statsmodels
    assert isinstance(daskglm.Tweedie(link="identity", var_power=1.5).link,
                      daskglm.links.Identity)


@pytest.mark.parametrize("var_power, values, bad", [
    (1.5, [1.0, -0.5, 0.0, -2.0, 3.0], 2),
    (2.5, [1.0, 0.0, 2.0, 0.0, 0.0], 3),
    (1.0, [1.0, -1.0, 2.0, 3.0, 4.0], 1),
])
def test_response_outside_the_domain_is_refused(var_power, values, bad):
    frame = pd.DataFrame({"claims": np.tile(values, 4), "x": np.arange(20.0)})
    ddf = dd.from_pandas(frame, npartitions=2)
    model = daskglm.glm("claims ~ x", ddf, family=daskglm.Tweedie(var_power=var_power))
    with warnings.catch_warnings(), pytest.raises(ValueError) as caught:
        warnings.simplefilter("ignore")
        model.fit()
    message = str(caught.value)
    assert "claims" in message and "Tweedie" in message and f"{4 * bad} value" in message


# -- choosing the power ----------------------------------------------------------------------
def test_profile_picks_the_power_with_the_largest_statsmodels_llf(sample):
    X, y, _ = sample
    powers = [1.2, 1.4, 1.5, 1.6, 1.8]
    expected = [reference_fit(sm.GLM(y, X, family=sm.families.Tweedie(var_power=p))).llf
                for p in powers]
    model = daskglm.GLM(_chunked(y), _chunked(X), family=daskglm.Tweedie(var_power=1.5))
    profile = model.profile_tweedie_power(powers, tol=1e-10)
    np.testing.assert_allclose(profile.llf, expected, rtol=1e-8)
    assert profile.var_power == powers[int(np.argmax(expected))]
    assert profile.results.family == daskglm.Tweedie(var_power=profile.var_power)
    assert model.family == daskglm.Tweedie(var_power=1.5)     # the model is unchanged
    with pytest.raises(ValueError, match="strictly between 1 and 2"):
        model.profile_tweedie_power([1.5, 2.5])
    with pytest.raises(ValueError, match="must be Tweedie"):
        daskglm.GLM(y, X, family=daskglm.Poisson()).profile_tweedie_power([1.5])


@pytest.mark.parametrize("power", [0.5, 0.25])
def test_power_link_matches_statsmodels(sample, power):
    """statsmodels' Tweedie allows Log and Power links; the power link's fit
    (Fisher scoring) equals statsmodels' in params, bse and the statistics."""
    X, y, _ = sample
    link = daskglm.links.Power(power)
    reference = reference_fit(sm.GLM(y, X, family=sm.families.Tweedie(
        link=sm.families.links.Power(power), var_power=1.5)))
    result = daskglm.GLM(_chunked(y), _chunked(X), family=daskglm.Tweedie(
        link=link, var_power=1.5)).fit(tol=1e-10)
    assert result.converged and not result.family.is_canonical
    _assert_matches(result, reference, residuals=())
