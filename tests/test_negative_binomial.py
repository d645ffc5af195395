"""NegativeBinomial: with a fixed alpha against statsmodels' GLM family, with an
estimated alpha against statsmodels' discrete NegativeBinomial(nb2), every
solver with penalties, and the refusals."""

import pickle
import warnings

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import scipy.optimize
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special, stats

import daskglm
from daskglm import links, solvers
from daskglm.families import get_family

from glm_reference import assert_matches, frame, partitioned, reference_fit

ALPHA = 0.8
RANDHIE = ("mdvis ~ C(lncoins) + idp + standardize(lpi) + center(fmde) + physlm"
           " + standardize(disea) + hlthg + hlthf + hlthp")
# the same regressors without stateful transforms, for statsmodels' discrete model
RANDHIE_PLAIN = "mdvis ~ C(lncoins) + idp + lpi + fmde + physlm + disea + hlthg + hlthf + hlthp"
FAIR = "affairs ~ rate_marriage + age + yrs_married + children + religious + educ"


def synthetic(n=6000, alpha=0.5, seed=4):
    """A seeded NB2 sample with an intercept and three regressors."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3)) * [1.0, 0.5, 2.0]])
    mu = np.exp(X @ [0.4, 0.3, -0.5, 0.1])
    y = rng.negative_binomial(1.0 / alpha, 1.0 / (1.0 + alpha * mu)).astype(float)
    return X, y


def three_chunks(*arrays):
    rows = -(-len(arrays[0]) // 3)
    return [da.from_array(a, chunks=(rows,) + a.shape[1:]) for a in arrays]


# -- alpha fixed: statsmodels' GLM family ----------------------------------------------
ROLES = {
    "plain": {},
    "offset-weights": {"offset": "offset", "freq_weights": "fw", "var_weights": "vw"},
    "exposure": {"exposure": "exposure"},
}


@pytest.mark.parametrize("roles", sorted(ROLES))
def test_formula_fit_with_fixed_alpha_matches_statsmodels_glm(roles):
    data = frame("poisson")
    arguments = ROLES[roles]
    reference = reference_fit(smf.glm(RANDHIE, data, family=sm.families.NegativeBinomial(
        alpha=ALPHA), **{role: data[column] for role, column in arguments.items()}))
    result = daskglm.glm(RANDHIE, partitioned(data, 3),
                         family=daskglm.NegativeBinomial(alpha=ALPHA), **arguments).fit()
    assert result.converged
    assert_matches(result, reference)
    # residuals of order one: near zero they are compared absolutely (the
    # means agree to about 1e-7 there, the coefficients to 1e-6 relative)
    for kind in ("response", "pearson", "deviance", "working", "anscombe"):
        np.testing.assert_allclose(np.asarray(getattr(result, f"resid_{kind}")),
                                   getattr(reference, f"resid_{kind}"), rtol=1e-6,
                                   atol=1e-6, err_msg=kind)


@pytest.mark.parametrize("link", [links.Log(), links.Identity(), links.CLogLog(),
                                  links.NegativeBinomial(alpha=1.3), links.Power(0.5)],
                         ids=repr)
def test_array_fit_with_each_link_matches_statsmodels_glm(link):
    X, y = synthetic(n=3000)
    if isinstance(link, links.Identity):     # means positive for every row
        X = np.column_stack([np.ones(len(y)), np.abs(X[:, 1:])])
        y = np.random.default_rng(5).negative_binomial(2.0, 2.0 / (2.0 + X @ [1.0, 0.5, 1, 0.2]))
    if isinstance(link, links.CLogLog):      # means in (0, 1): 0/1 counts
        y = np.minimum(y, 1.0)
    if isinstance(link, links.NegativeBinomial):  # small effects: eta stays below 0
        rng = np.random.default_rng(4)
        X = np.column_stack([np.ones(3000), rng.normal(size=(3000, 2)) * [0.3, 0.2]])
        mu = np.exp(X @ [0.4, 0.3, -0.5])
        y = rng.negative_binomial(1 / 1.3, 1 / (1 + 1.3 * mu)).astype(float)
    sm_link = getattr(sm.families.links, type(link).__name__)(
        **dict(zip(link.param_names, link.params)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # statsmodels' DomainWarning for these links
        sm_family = sm.families.NegativeBinomial(sm_link, alpha=1.3)
    reference = sm.GLM(y, X, family=sm_family).fit(tol=1e-12)
    X_dask, y_dask = three_chunks(X, y.astype(float))
    result = daskglm.GLM(y_dask, X_dask, family=daskglm.NegativeBinomial(link, alpha=1.3)).fit()
    assert result.converged
    np.testing.assert_allclose(result.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5)
    for name in ("llf", "deviance", "pearson_chi2", "aic", "bic", "null_deviance"):
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=1e-6,
                                   err_msg=name)
    np.testing.assert_allclose(np.asarray(result.resid_deviance), reference.resid_deviance,
                               rtol=1e-6, atol=1e-6)


def penalized_objective(coef, X, y, alpha, l1_ratio):
    """The mean NB negative log-likelihood plus the elastic net (intercept free),
    from statsmodels' family."""
    mu = np.exp(X @ coef)
    nll = -sm.families.NegativeBinomial(alpha=ALPHA).loglike_obs(y, mu).mean()
    b = coef[1:]
    return nll + alpha * (l1_ratio * np.abs(b).sum() + (1 - l1_ratio) / 2 * b @ b)


@pytest.fixture(scope="module")
def penalized_problem():
    X, y = synthetic(n=4000, seed=6)
    X = np.column_stack([X, np.random.default_rng(6).normal(size=(len(y), 2))])  # 2 null columns
    return X, y, three_chunks(X, y)


SOLVER_OPTIONS = {"newton": {}, "lbfgs": {}, "gradient_descent": {"max_iter": 20_000},
                  "proximal_grad": {"max_iter": 20_000}, "admm": {"max_iter": 2000},
                  "saga": {"max_iter": 2000}}


@pytest.mark.parametrize("solver", sorted(SOLVER_OPTIONS))
@pytest.mark.parametrize("penalty", [daskglm.L2(0.02), daskglm.ElasticNet(0.02, 0.7)], ids=repr)
def test_every_solver_with_penalties(penalized_problem, solver, penalty):
    X, y, (X_dask, y_dask) = penalized_problem
    family = daskglm.NegativeBinomial(alpha=ALPHA)
    fit_solver = solvers.get_solver(solver)
    if not penalty.is_smooth and not fit_solver.handles_nonsmooth:
        with pytest.raises(ValueError, match="cannot minimise a penalty with an L1"):
            fit_solver(X_dask, y_dask, family, penalty, unpenalized=[0])
        return
    tol = 1e-9 if solver in ("newton", "lbfgs") else 1e-7
    fit = fit_solver(X_dask, y_dask, family, penalty, unpenalized=[0], tol=tol,
                     **SOLVER_OPTIONS[solver])
    assert fit.converged, fit.message
    # the oracle: a direct minimisation of statsmodels' likelihood (smooth
    # penalty), or the KKT conditions from statsmodels' score (with an L1 part)
    score = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=ALPHA)).score(fit.coef)
    gradient = -score / len(y)
    if penalty.is_smooth:
        reference = scipy.optimize.minimize(
            penalized_objective, np.zeros(X.shape[1]), args=(X, y, penalty.alpha, 0.0),
            method="BFGS", options={"gtol": 1e-11}).x
        np.testing.assert_allclose(fit.coef, reference, rtol=1e-5, atol=1e-6)
    residual = gradient.copy()
    b = fit.coef[1:]
    l1, l2 = penalty.alpha * penalty.l1_ratio, penalty.alpha * (1 - penalty.l1_ratio)
    active = b != 0
    residual[1:][active] += l1 * np.sign(b[active]) + l2 * b[active]
    residual[1:][~active] = np.maximum(np.abs(gradient[1:][~active]) - l1, 0.0)
    assert np.max(np.abs(residual)) <= 1e-5
    if not penalty.is_smooth:
        assert not active.all(), "the L1 part should set a null column to zero"


# -- alpha estimated: statsmodels' discrete NegativeBinomial(nb2) --------------------------
def discrete_reference(model):
    """statsmodels' discrete NB2 fit, converged tightly: its default BFGS (in
    log alpha, from a Poisson fit) with a tight gradient tolerance, then Newton
    in alpha itself (from statsmodels' own start, Newton alone can diverge)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = model.fit(method="bfgs", maxiter=1000, gtol=1e-10, disp=0).params
        reference = model.fit(start_params=start, method="newton", maxiter=100, tol=1e-13,
                              disp=0)
    assert np.max(np.abs(model.score(np.asarray(reference.params)))) < 1e-6
    return reference


def assert_matches_discrete(result, reference, names):
    params = pd.concat([result.params, pd.Series({"alpha": result.alpha})])
    bse = pd.concat([result.bse, pd.Series({"alpha": result.bse_alpha})])
    assert list(params.index) == list(names) + ["alpha"]
    np.testing.assert_allclose(params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(bse, reference.bse, rtol=1e-5)
    np.testing.assert_allclose(result.cov_params_joint(), reference.cov_params(), rtol=1e-5,
                               atol=1e-5 * np.max(np.abs(np.asarray(reference.cov_params()))))
    for name in ("llf", "aic", "bic", "llnull", "df_model", "df_resid", "nobs"):
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=1e-6,
                                   err_msg=name)


@pytest.mark.parametrize("roles", ["plain", "exposure"])
def test_estimated_alpha_on_randhie_matches_statsmodels_discrete(roles):
    data = frame("poisson")
    arguments = {"exposure": "exposure"} if roles == "exposure" else {}
    reference = discrete_reference(smf.negativebinomial(
        RANDHIE_PLAIN, data, loglike_method="nb2",
        **{role: data[column] for role, column in arguments.items()}))
    result = daskglm.glm(RANDHIE_PLAIN, partitioned(data, 3),
                         family=daskglm.NegativeBinomial(alpha="estimate"), **arguments).fit()
    assert result.converged and result.solver_result.n_passes <= 12
    assert_matches_discrete(result, reference, reference.model.exog_names[:-1])
    assert result.family == daskglm.NegativeBinomial(alpha=result.alpha)


def test_estimated_alpha_on_fair_non_integer_counts_matches_statsmodels_discrete():
    """The fair data's affairs are not integers: statsmodels' likelihood (its
    gammaln terms) applies all the same, and so does ours (digamma, trigamma)."""
    data = frame("logistic")
    assert np.any(data["affairs"] != np.round(data["affairs"]))
    reference = discrete_reference(smf.negativebinomial(FAIR, data, loglike_method="nb2"))
    result = daskglm.glm(FAIR, partitioned(data, 3),
                         family=daskglm.NegativeBinomial(alpha="estimate")).fit()
    assert result.converged
    assert_matches_discrete(result, reference, reference.model.exog_names[:-1])


def test_estimated_alpha_on_synthetic_chunks_with_offset():
    X, y = synthetic()
    offset = np.random.default_rng(9).normal(0.0, 0.3, len(y))
    reference = discrete_reference(sm.NegativeBinomial(y, X, loglike_method="nb2",
                                                       offset=offset))
    X_dask, y_dask, offset_dask = three_chunks(X, y, offset)
    result = daskglm.GLM(y_dask, X_dask, offset=offset_dask,
                         family=daskglm.NegativeBinomial(alpha="estimate")).fit()
    assert result.converged
    assert_matches_discrete(result, reference, ["const", "x1", "x2", "x3"])
    # the summary lists alpha with its standard error, z and p-value
    table = result.summary().tables[1].data
    assert table[-1][0].strip() == "alpha"
    assert float(table[-1][1]) == pytest.approx(result.alpha, abs=1e-4)
    assert float(table[-1][2]) == pytest.approx(result.bse_alpha, abs=1e-3)


def test_estimated_alpha_frequency_weights_count_rows():
    """A frequency weight of 2 is a duplicated row, for alpha too."""
    X, y = synthetic(n=1500, seed=8)
    counts = np.random.default_rng(8).integers(1, 3, len(y)).astype(float)
    family = daskglm.NegativeBinomial(alpha="estimate")
    weighted = daskglm.GLM(y, X, family=family, freq_weights=counts).fit()
    repeated = daskglm.GLM(np.repeat(y, counts.astype(int)),
                           np.repeat(X, counts.astype(int), axis=0), family=family).fit()
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-8)
    np.testing.assert_allclose(weighted.alpha, repeated.alpha, rtol=1e-8)
    np.testing.assert_allclose(weighted.bse_alpha, repeated.bse_alpha, rtol=1e-7)
    np.testing.assert_allclose(weighted.llf, repeated.llf, rtol=1e-10)


def test_joint_row_derivatives_match_finite_differences_and_scipy():
    row = daskglm.NegativeBinomial(alpha="estimate").parameter_row()
    rng = np.random.default_rng(1)
    for y, eta, theta in zip(np.r_[0.0, 1.0, 7.5, 150.0, rng.integers(0, 80, 20)],
                             np.r_[-3.0, 0.2, 1.0, 4.0, rng.normal(1.0, 1.0, 20)],
                             np.r_[-4.0, -1.0, 0.3, 1.5, rng.normal(-0.5, 1.0, 20)]):
        at = lambda e, t, y=y: np.array(row(y, e, t))  # noqa: E731
        value = at(eta, theta)
        alpha, mu = np.exp(theta), np.exp(eta)
        if y == np.round(y):
            logpmf = stats.nbinom.logpmf(y, 1.0 / alpha, 1.0 / (1.0 + alpha * mu))
            np.testing.assert_allclose(value[0], -logpmf, rtol=1e-10)
        h = 1e-5
        d_eta = (at(eta + h, theta) - at(eta - h, theta)) / (2 * h)
        d_theta = (at(eta, theta + h) - at(eta, theta - h)) / (2 * h)
        expected = [d_eta[0], d_eta[1], d_theta[0], d_theta[3], d_theta[1]]
        np.testing.assert_allclose(value[1:], expected, rtol=2e-6, atol=1e-8)


def test_digamma_and_trigamma_match_scipy():
    from daskglm.math.special import digamma, trigamma

    x = np.r_[np.geomspace(1e-8, 1e9, 400), np.arange(1, 60) + 0.25]
    np.testing.assert_allclose([digamma(v) for v in x], special.digamma(x), rtol=4e-15,
                               atol=1e-15)
    np.testing.assert_allclose([trigamma(v) for v in x], special.polygamma(1, x), rtol=4e-15)
    assert np.isnan(digamma(0.0)) and np.isnan(trigamma(-1.0))


# -- identity, conversion, refusals ---------------------------------------------------------
def test_names_equality_and_conversion():
    assert daskglm.NegativeBinomial is daskglm.families.NegativeBinomial
    assert daskglm.NegativeBinomial is not daskglm.links.__dict__.get("NegativeBinomial", None)
    assert get_family("nb") == get_family("negative_binomial") == daskglm.NegativeBinomial()
    assert daskglm.NegativeBinomial(alpha=2.0) != daskglm.NegativeBinomial(alpha=1.0)
    assert hash(daskglm.NegativeBinomial(alpha=2.0)) == hash(daskglm.NegativeBinomial(alpha=2))
    assert repr(daskglm.NegativeBinomial(alpha=2.0)) == "NegativeBinomial(alpha=2.0)"
    assert repr(daskglm.NegativeBinomial(links.Identity(), alpha=1.5)) == \
        "NegativeBinomial(link=Identity(), alpha=1.5)"
    converted = get_family(sm.families.NegativeBinomial(alpha=2.5))
    assert converted == daskglm.NegativeBinomial(alpha=2.5)
    family = daskglm.NegativeBinomial(alpha="estimate")
    assert pickle.loads(pickle.dumps(family)) == family
    assert family.with_parameter(0.3) == daskglm.NegativeBinomial(alpha=0.3)


@pytest.mark.parametrize("alpha, error, message", [
    (0.0, ValueError, r"alpha must be finite and > 0"),
    (-1.0, ValueError, r"alpha must be finite and > 0"),
    (np.inf, ValueError, r"alpha must be finite and > 0"),
    ("mle", ValueError, r"alpha must be a number > 0 or 'estimate', got 'mle'"),
    (None, TypeError, r"alpha must be a number > 0 or 'estimate', got None"),
])
def test_bad_alpha_is_refused(alpha, error, message):
    with pytest.raises(error, match=message):
        daskglm.NegativeBinomial(alpha=alpha)


def test_link_checks():
    # canonical only as the negative binomial link with the family's own alpha
    assert daskglm.NegativeBinomial(links.NegativeBinomial(alpha=2.0), alpha=2.0).is_canonical
    assert not daskglm.NegativeBinomial(links.NegativeBinomial(alpha=1.0), alpha=2.0).is_canonical
    assert not daskglm.NegativeBinomial().is_canonical
    with pytest.raises(ValueError, match="link 'logit' is not allowed for the NegativeBinomial"):
        daskglm.NegativeBinomial(link="logit")
    with pytest.raises(ValueError, match=r"alpha='estimate'\) needs the log link"):
        daskglm.NegativeBinomial(links.Identity(), alpha="estimate")


def test_negative_counts_are_refused_naming_family_column_and_count():
    data = pd.DataFrame({"visits": [0.0, 2.0, -1.0, 3.0, -2.0, 1.0], "x": np.arange(6.0)})
    model = daskglm.glm("visits ~ x", partitioned(data, 2), family=daskglm.NegativeBinomial())
    with pytest.raises(ValueError, match=r"visits has 2 value\(s\) outside the NegativeBinomial "
                                         r"family's domain \(y >= 0\); first offending rows: 2, 4"):
        model.fit()


def test_estimated_alpha_refusals_come_before_any_pass():
    X, y = synthetic(n=200)
    model = daskglm.GLM(y, X, family=daskglm.NegativeBinomial(alpha="estimate"))
    with pytest.raises(ValueError, match=r"estimates alpha with the coefficients by "
                                         r"method='newton'; 'lbfgs' needs a fixed alpha"):
        model.fit(method="lbfgs")
    with pytest.raises(ValueError, match=r"cov_type='HC0' is not available when alpha is"):
        model.fit(cov_type="HC0")
    with pytest.raises(ValueError, match=r"a penalized fit needs a fixed alpha"):
        model.fit_regularized(daskglm.L2(0.1))
    assert model._prepared["facts"] is None           # no pass was made
    with pytest.raises(ValueError, match=r"solver 'saga' cannot estimate .*alpha"):
        solvers.saga(X, y, daskglm.NegativeBinomial(alpha="estimate"))
    with pytest.raises(ValueError, match=r"a penalty \(L2\(.*\)\) needs a fixed alpha"):
        solvers.newton(X, y, daskglm.NegativeBinomial(alpha="estimate"), daskglm.L2(0.1))
    with pytest.raises(ValueError, match=r"has no fixed alpha"):
        daskglm.NegativeBinomial(alpha="estimate").variance(np.ones(3))


def test_fixed_alpha_robust_covariance_uses_the_observed_information():
    """The log link is not the family's canonical link: HC0's bread is the
    observed information, as in statsmodels."""
    X, y = synthetic(n=2000, seed=12)
    reference = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=ALPHA)).fit(
        tol=1e-12, cov_type="HC0")
    X_dask, y_dask = three_chunks(X, y)
    result = daskglm.GLM(y_dask, X_dask, family=daskglm.NegativeBinomial(alpha=ALPHA)).fit(
        cov_type="HC0")
    assert not result.family.is_canonical
    np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5)


def test_estimated_fit_saves_and_loads_with_its_alpha(tmp_path):
    X, y = synthetic(n=1500, seed=13)
    result = daskglm.GLM(y, X, family=daskglm.NegativeBinomial(alpha="estimate")).fit()
    llnull = result.llnull
    path = tmp_path / "nb.pickle"
    result.save(path)
    loaded = daskglm.GLMResults.load(path)
    assert loaded.alpha == result.alpha and loaded.bse_alpha == result.bse_alpha
    assert loaded.llnull == llnull and loaded.family == daskglm.NegativeBinomial(alpha=result.alpha)
    np.testing.assert_allclose(np.asarray(loaded.predict(X[:5])), np.asarray(result.mu)[:5],
                               rtol=1e-12)
    fixed = daskglm.GLM(y, X, family=daskglm.NegativeBinomial(alpha=result.alpha)).fit()
    with pytest.raises(AttributeError, match="alpha was not estimated in this fit"):
        _ = fixed.bse_alpha
    np.testing.assert_allclose(fixed.params, result.params, rtol=1e-7)
