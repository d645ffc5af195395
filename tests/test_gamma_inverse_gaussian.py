"""The Gamma and inverse Gaussian families: every allowed link against
statsmodels' GLM (arrays in 3 chunks and a formula on 3 partitions, with
weights, offsets and exposures), R's numbers shipped in statsmodels' own
tests, the ``scale`` option, the log-likelihood's extra pass, bad responses,
step halving at the edge of the mean space, and what every solver does."""

import warnings

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.genmod.tests.results import results_glm

import daskglm
from daskglm import links, solvers

from dask_counting import CountComputes
from glm_reference import assert_matches, partitioned, reference_fit

SM_LINKS = sm.families.links
SCOTLAND_TERMS = ["COUTAX", "UNEMPF", "MOR", "ACT", "GDP", "AGE", "COUTAX_FEMALEUNEMP"]
STATISTICS = ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "aic", "bic",
              "scale", "df_model", "df_resid", "nobs")
RESIDUALS = ("resid_response", "resid_pearson", "resid_deviance", "resid_working",
             "resid_anscombe_scaled", "resid_anscombe_unscaled")


def scotland():
    """statsmodels' Scotland data (32 council areas' 'yes' vote share), with
    seeded weights, an offset and an exposure."""
    data = sm.datasets.scotland.load_pandas().data
    rng = np.random.default_rng(17)
    data["fw"] = rng.integers(1, 4, len(data)).astype(float)
    data["vw"] = rng.uniform(0.5, 2.0, len(data))
    data["offset"] = rng.uniform(-0.1, 0.1, len(data))
    data["exposure"] = rng.uniform(0.5, 2.0, len(data))
    return data


def inverse_gaussian_data(link, n=600, seed=5):
    """Seeded inverse Gaussian responses whose mean follows ``link`` of a linear
    predictor that stays inside the link's mean space, with weights, an
    offset and an exposure."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(0.0, 1.0, n), rng.uniform(0.0, 1.0, n)
    low, high = {"inverse_squared": (0.2, 1.5), "inverse_power": (0.4, 1.5), "identity": (0.5, 3.0),
                 "log": (-0.5, 1.0)}[link.name]
    eta = low + (high - low) * (0.6 * x1 + 0.4 * x2)
    mu = link.inverse(eta)
    return pd.DataFrame({
        "y": rng.wald(mu, 4.0), "x1": x1, "x2": x2,
        "fw": rng.integers(1, 4, n).astype(float), "vw": rng.uniform(0.5, 2.0, n),
        "offset": rng.uniform(-0.02, 0.02, n), "exposure": rng.uniform(0.5, 2.0, n)})


# id: (our family, statsmodels', data, formula's right-hand side, roles -> columns)
CASES = {
    "gamma-inverse": (daskglm.Gamma(), sm.families.Gamma(), scotland, SCOTLAND_TERMS, {}),
    "gamma-log": (daskglm.Gamma(links.Log()), sm.families.Gamma(SM_LINKS.Log()), scotland,
                  SCOTLAND_TERMS, {"exposure": "exposure", "var_weights": "vw"}),
    "gamma-identity": (daskglm.Gamma(links.Identity()), sm.families.Gamma(SM_LINKS.Identity()),
                       scotland, SCOTLAND_TERMS, {"freq_weights": "fw", "offset": "offset"}),
    "ig-inverse_squared": (daskglm.InverseGaussian(), sm.families.InverseGaussian(),
                           lambda: inverse_gaussian_data(links.InverseSquared()), ["x1", "x2"],
                           {"var_weights": "vw", "freq_weights": "fw"}),
    "ig-inverse": (daskglm.InverseGaussian(links.Inverse()),
                   sm.families.InverseGaussian(SM_LINKS.InversePower()),
                   lambda: inverse_gaussian_data(links.Inverse()), ["x1", "x2"],
                   {"offset": "offset"}),
    "ig-identity": (daskglm.InverseGaussian(links.Identity()),
                    sm.families.InverseGaussian(SM_LINKS.Identity()),
                    lambda: inverse_gaussian_data(links.Identity()), ["x1", "x2"], {}),
    "ig-log": (daskglm.InverseGaussian(links.Log()), sm.families.InverseGaussian(SM_LINKS.Log()),
               lambda: inverse_gaussian_data(links.Log()), ["x1", "x2"],
               {"exposure": "exposure", "var_weights": "vw"}),
}
RESPONSE = {"gamma": "YES", "ig": "y"}


def _case_arrays(case):
    family, sm_family, make, terms, roles = CASES[case]
    data = make()
    y = data[RESPONSE[case.split("-")[0]]].to_numpy()
    X = sm.add_constant(data[terms].to_numpy())
    arrays = {role: data[column].to_numpy() for role, column in roles.items()}
    return family, sm_family, y, X, arrays


def _statsmodels(y, X, sm_family, roles, **fit_options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # a non-canonical link's DomainWarning
        return reference_fit(sm.GLM(y, X, family=sm_family, **roles), **fit_options)


def sm_link(link):
    """statsmodels' link of the same name."""
    return {"inverse_squared": SM_LINKS.InverseSquared(), "log": SM_LINKS.Log()}[link.name]


def _in_chunks(values, n_chunks=3):
    rows = -(-values.shape[0] // n_chunks)
    return da.from_array(values, chunks=(rows,) + values.shape[1:])


@pytest.mark.parametrize("case", sorted(CASES))
def test_arrays_in_three_chunks_match_statsmodels(case):
    family, sm_family, y, X, roles = _case_arrays(case)
    ours = daskglm.GLM(_in_chunks(y), _in_chunks(X), family=family,
                       **{role: _in_chunks(value) for role, value in roles.items()}).fit(tol=1e-10)
    reference = _statsmodels(y, X, sm_family, roles)
    assert ours.converged
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    for name in STATISTICS:
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=1e-6,
                                   err_msg=name)
    for name in RESIDUALS:
        residuals = getattr(ours, name)
        assert isinstance(residuals, da.Array)
        np.testing.assert_allclose(residuals.compute(), getattr(reference, name), rtol=1e-6,
                                   atol=1e-9, err_msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_formula_on_three_partitions_matches_statsmodels(case):
    family, sm_family, make, terms, roles = CASES[case]
    data = make()
    formula = f"{RESPONSE[case.split('-')[0]]} ~ {' + '.join(terms)}"
    ours = daskglm.glm(formula, partitioned(data, 3), family=family, **roles).fit(tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = reference_fit(sm.GLM.from_formula(
            formula, data, family=sm_family, **{role: data[column] for role, column in
                                                 roles.items()}))
    assert_matches(ours, reference, scalars=STATISTICS)


# -- R's numbers, as statsmodels' own tests hold them ---------------------------------
def test_scotland_gamma_matches_r():
    r = results_glm.Scotvote()
    data = sm.datasets.scotland.load()
    X = sm.add_constant(np.asarray(data.exog, dtype=float), prepend=False)
    ours = daskglm.GLM(_in_chunks(np.asarray(data.endog, dtype=float)), _in_chunks(X),
                       family=daskglm.Gamma()).fit()
    # R prints 7 significant digits
    np.testing.assert_allclose(ours.params, r.params, rtol=1e-6)
    np.testing.assert_allclose(ours.bse, r.bse, rtol=1e-6)
    np.testing.assert_allclose(ours.deviance, r.deviance, rtol=1e-9)
    np.testing.assert_allclose(ours.null_deviance, r.null_deviance, rtol=1e-6)
    np.testing.assert_allclose(ours.scale, r.scale, rtol=1e-6)
    np.testing.assert_allclose(ours.pearson_chi2, r.pearson_chi2, rtol=1e-6)
    assert (ours.df_resid, ours.df_model) == (r.df_resid, r.df_model)
    # Stata's log-likelihood is statsmodels' at scale 1 (R's aic counts the scale too)
    np.testing.assert_allclose(ours.llf_scaled(1.0), r.llf, rtol=1e-8)


@pytest.mark.parametrize("name, link, rtol", [
    ("InvGauss", links.InverseSquared(), 2e-6),
    # R stopped early on medpar's lengths of stay (statsmodels is as far from it)
    ("InvGaussLog", links.Log(), 1e-4)])
def test_inverse_gaussian_matches_r(name, link, rtol):
    r = getattr(results_glm, name)()
    y, X = np.asarray(r.endog, dtype=float), np.asarray(r.exog, dtype=float)
    ours = daskglm.GLM(_in_chunks(y), _in_chunks(X),
                       family=daskglm.InverseGaussian(link)).fit(tol=1e-10)
    np.testing.assert_allclose(ours.params, r.params, rtol=rtol)
    np.testing.assert_allclose(ours.bse, r.bse, rtol=rtol)
    reference = _statsmodels(y, X, sm.families.InverseGaussian(sm_link(link)), {})
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(ours.deviance, r.deviance, rtol=1e-8)
    np.testing.assert_allclose(ours.null_deviance, r.null_deviance, rtol=1e-8)
    np.testing.assert_allclose(ours.scale, r.scale, rtol=rtol)


# -- the scale option -----------------------------------------------------------------
def _scale_case(name):
    rng = np.random.default_rng(23)
    X = sm.add_constant(rng.normal(size=(300, 2)))
    eta = X @ np.array([0.5, 0.3, -0.2])
    if name == "poisson":
        return daskglm.Poisson(), sm.families.Poisson(), rng.poisson(np.exp(eta)) * 1.0, X
    if name == "gaussian":
        return daskglm.Gaussian(), sm.families.Gaussian(), eta + rng.normal(size=300), X
    _, _, y, X, _ = _case_arrays("gamma-log")
    return daskglm.Gamma(links.Log()), sm.families.Gamma(SM_LINKS.Log()), y, X


def _summary_cells(summary):
    """The top table's ``{label: value}`` (Date and Time left out)."""
    cells = {}
    for row in summary.tables[0].data:
        for label, value in zip(row[::2], row[1::2]):
            if label.strip() not in ("Date:", "Time:", "Link Function:", "Method:",
                                     "No. Iterations:", ""):
                cells[label.strip()] = value.strip()
    return cells


@pytest.mark.parametrize("scale", [None, "X2", "dev", 2.5])
@pytest.mark.parametrize("name", ["gamma", "gaussian", "poisson"])
def test_scale_option_matches_statsmodels(name, scale):
    family, sm_family, y, X = _scale_case(name)
    ours = daskglm.GLM(_in_chunks(y), _in_chunks(X), family=family).fit(tol=1e-10, scale=scale)
    reference = _statsmodels(y, X, sm_family, {}, scale=scale)
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(ours.bse, reference.bse, rtol=1e-5)
    for statistic in ("scale", "llf", "llnull", "aic", "bic"):
        np.testing.assert_allclose(getattr(ours, statistic), getattr(reference, statistic),
                                   rtol=1e-6, err_msg=statistic)
    np.testing.assert_allclose(ours.pseudo_rsquared(), reference.pseudo_rsquared(), rtol=1e-6)
    np.testing.assert_allclose(ours.cov_params(), reference.cov_params(), rtol=1e-5)
    ours_cells = _summary_cells(ours.summary())
    for label in ("Scale:", "Log-Likelihood:", "Deviance:", "Pearson chi2:"):
        assert ours_cells[label] == _summary_cells(reference.summary())[label], label


@pytest.mark.parametrize("scale", ["x3", 0.0, -1.0, float("nan"), True, [1.0]])
def test_a_bad_scale_is_refused_before_any_pass(scale):
    X = da.ones((10, 1), chunks=5)
    model = daskglm.GLM(da.ones(10, chunks=5), X, family=daskglm.Gamma(links.Log()))
    with CountComputes() as counter, pytest.raises(ValueError, match="scale must be None, 'X2'"):
        model.fit(scale=scale)
    assert counter.count == 0


@pytest.mark.parametrize("case, extra_passes", [("gamma-inverse", 0), ("gamma-log", 1)])
def test_log_likelihood_at_an_estimated_scale_costs_at_most_one_pass_made_once(case,
                                                                              extra_passes):
    """From the statistics pass's sums without variance weights; with them
    (log Gamma(var_weights / scale) per row) one more pass, made once."""
    family, sm_family, y, X, roles = _case_arrays(case)
    # no offset: its null model is a fit of its own (more passes, counted elsewhere)
    roles = {role: value for role, value in roles.items() if role == "var_weights"}
    model = daskglm.GLM(_in_chunks(y), _in_chunks(X), family=family,
                        **{role: _in_chunks(value) for role, value in roles.items()})
    model._prepare()                 # the validating pass, made once per model
    with CountComputes() as counter:
        result = model.fit()
    assert counter.count == result.solver_result.n_passes + 1   # + the statistics pass
    with CountComputes() as counter:
        values = [result.llf, result.llnull, result.aic, result.bic, result.pseudo_rsquared()]
        result.summary()
    assert counter.count == extra_passes
    reference = _statsmodels(y, X, sm_family, roles)
    np.testing.assert_allclose(values, [reference.llf, reference.llnull, reference.aic,
                                        reference.bic, reference.pseudo_rsquared()], rtol=1e-6)
    result.remove_data()             # the log-likelihoods were kept
    assert result.llf == values[0]


@pytest.mark.parametrize("family, sm_family", [
    (daskglm.Gamma(), sm.families.Gamma()),
    (daskglm.InverseGaussian(), sm.families.InverseGaussian()),
    (daskglm.Poisson(), sm.families.Poisson()),
    (daskglm.Binomial(), sm.families.Binomial())], ids=repr)
@pytest.mark.parametrize("weighted", [False, True])
def test_loglike_at_scale_from_sums_is_statsmodels_loglike(family, sm_family, weighted):
    rng = np.random.default_rng(31)
    mu = rng.uniform(0.2, 0.8, 200)
    y = rng.binomial(1, mu) * 1.0 if family.name == "Binomial" else rng.gamma(2.0, 2.0 * mu)
    if family.name == "Poisson":
        y = np.floor(y)
    var_weights = rng.uniform(0.5, 2.0, 200) if weighted else np.ones(200)
    freq_weights = rng.integers(1, 4, 200) * 1.0
    unit = freq_weights @ family.loglike_obs(y, mu, var_weights, 1.0)
    deviance = (freq_weights * var_weights) @ family.unit_deviance(y, mu)
    value = family.loglike_at_scale(unit, deviance, freq_weights.sum(), 1.7,
                                    var_weights=weighted)
    if value is None:                # Gamma with variance weights: from the rows
        assert weighted and family.name == "Gamma"
        return
    np.testing.assert_allclose(value, sm_family.loglike(y, mu, var_weights=var_weights,
                                                        freq_weights=freq_weights,
                                                        scale=1.7), rtol=1e-12)


def test_log_likelihood_is_kept_through_remove_data():
    family, _, y, X, _ = _case_arrays("ig-inverse_squared")
    result = daskglm.GLM(_in_chunks(y), _in_chunks(X), family=family).fit()
    reference = _statsmodels(y, X, sm.families.InverseGaussian(), {})
    result.remove_data()
    np.testing.assert_allclose([result.llf, result.llnull], [reference.llf, reference.llnull],
                               rtol=1e-6)


# -- predictions and the summary ----------------------------------------------------------
@pytest.mark.parametrize("case", ["gamma-log", "ig-inverse_squared"])
def test_get_prediction_and_summary_match_statsmodels(case):
    family, sm_family, y, X, _ = _case_arrays(case)
    ours = daskglm.GLM(_in_chunks(y), _in_chunks(X), family=family).fit(tol=1e-10)
    reference = _statsmodels(y, X, sm_family, {})
    new_X = X[:7] * 1.05
    frame = np.asarray(ours.get_prediction(new_X).summary_frame(alpha=0.1))
    with np.errstate(divide="ignore"):      # statsmodels' own inverse link at the far end
        expected = np.array(reference.get_prediction(new_X).summary_frame(alpha=0.1))
    # statsmodels maps the linear predictor's interval through a decreasing
    # link as it comes (lower above upper); ours are ordered
    expected[:, 2:] = np.sort(expected[:, 2:], axis=1)
    np.testing.assert_allclose(frame, expected, rtol=1e-5)
    cells = _summary_cells(ours.summary())
    assert cells == _summary_cells(reference.summary())
    assert cells["Model Family:"] == family.name


# -- bad responses ----------------------------------------------------------------------
@pytest.mark.parametrize("family", [daskglm.Gamma(), daskglm.InverseGaussian(links.Log())],
                         ids=repr)
def test_a_response_that_is_not_positive_is_refused_with_its_count(family):
    data = scotland()
    data.loc[[3, 20, 21], "YES"] = [0.0, -2.0, 0.0]
    with pytest.raises(ValueError, match=rf"YES has 3 value\(s\) outside the {family.name} "
                                         r"family's domain \(y > 0\); first offending rows: "
                                         "3, 20, 21"):
        daskglm.glm("YES ~ COUTAX", partitioned(data, 3), family=family).fit()
    X = _in_chunks(sm.add_constant(data["COUTAX"].to_numpy()))
    with pytest.raises(ValueError, match=rf"has 3 value\(s\) outside the {family.name}"):
        daskglm.GLM(_in_chunks(data["YES"].to_numpy()), X, family=family).fit()


# -- the edge of the mean space ------------------------------------------------------------
def _near_the_edge():
    """Gamma data whose means come close to 0: statsmodels' IRLS under the
    inverse link takes a step out of the mean space and reports a fit with
    negative means as converged."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, 400)
    X = np.column_stack([np.ones(400), x])
    rng.gamma(0.5, (0.02 + 2.0 * x) / 0.5)              # the identity case's draw, for the seed
    y = rng.gamma(0.5, 1.0 / (0.05 + 4.0 * x) / 0.5)
    return X, y


def _gradient_and_means(X, y, coef, sm_family):
    """The mean negative log-likelihood's gradient and the means, from statsmodels' family."""
    eta = X @ coef
    mu = sm_family.link.inverse(eta)
    per_row = (mu - y) / sm_family.variance(mu) / sm_family.link.deriv(mu)
    return X.T @ per_row / len(y), mu


def test_newton_halves_steps_that_leave_the_mean_space():
    X, y = _near_the_edge()
    sm_family = sm.families.Gamma()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = sm.GLM(y, X, family=sm_family).fit()
    assert np.min(X @ naive.params) < 0          # statsmodels' answer has negative means
    fit = solvers.newton(_in_chunks(X), _in_chunks(y), daskglm.Gamma(), tol=1e-10)
    gradient, mu = _gradient_and_means(X, y, fit.coef, sm_family)
    assert fit.converged and np.all(mu > 0) and np.all(np.isfinite(fit.coef))
    np.testing.assert_allclose(gradient, 0.0, atol=1e-9)
    # started at the answer, statsmodels' IRLS stays there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        careful = sm.GLM(y, X, family=sm_family).fit(start_params=fit.coef, tol=1e-12)
    np.testing.assert_allclose(fit.coef, careful.params, rtol=1e-7)


def test_identity_link_fit_halves_its_steps_and_matches_statsmodels():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 1.0, 400)
    X = np.column_stack([np.ones(400), x])
    y = rng.gamma(0.5, (0.02 + 2.0 * x) / 0.5)
    fit = solvers.newton(_in_chunks(X), _in_chunks(y), daskglm.Gamma(links.Identity()),
                         tol=1e-10)
    halved = [record["step"] for record in fit.history if 0 < record.get("step", 1) < 1]
    assert fit.converged and halved and np.all(np.isfinite(fit.coef))
    reference = _statsmodels(y, X, sm.families.Gamma(SM_LINKS.Identity()), {})
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-7)
    # lbfgs steps back inside where scipy's line search stops at the edge of
    # the mean space (infinite values), and restarts: it reaches the optimum
    lbfgs = solvers.lbfgs(_in_chunks(X), _in_chunks(y), daskglm.Gamma(links.Identity()),
                          tol=1e-10)
    assert lbfgs.converged
    np.testing.assert_allclose(lbfgs.coef, reference.params, rtol=1e-6)


# -- every solver ---------------------------------------------------------------------------
def _well_scaled(seed=11, n=400):
    """Centred uniform columns and Gamma responses with a log-linear mean:
    ``(X, y)`` in 3 chunks and in memory."""
    rng = np.random.default_rng(seed)
    X = sm.add_constant(rng.uniform(-0.5, 0.5, (n, 2)))
    y = rng.gamma(4.0, np.exp(X @ np.array([0.4, 0.5, -0.3])) / 4.0)
    return _in_chunks(X), _in_chunks(y), X, y


FIRST_ORDER = {"lbfgs": 1e-8, "gradient_descent": 1e-7, "proximal_grad": 1e-7, "admm": 1e-6}


@pytest.mark.parametrize("solver", ["newton", *FIRST_ORDER])
def test_every_solver_fits_the_gamma_log_link(solver):
    Xd, yd, X, y = _well_scaled()
    sm_family = sm.families.Gamma(SM_LINKS.Log())
    reference = _statsmodels(y, X, sm_family, {})
    tol = FIRST_ORDER.get(solver, 1e-10)
    fit = solvers.SOLVERS[solver](Xd, yd, daskglm.Gamma(links.Log()), tol=tol, max_iter=5000)
    assert fit.converged
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-4 if solver == "admm" else 1e-5)


PENALIZED = [(solver, penalty) for solver in ("newton", "proximal_grad", "admm")
             for penalty in (daskglm.L2(0.05), daskglm.L1(0.02))] + \
    [("lbfgs", daskglm.L2(0.05)), ("gradient_descent", daskglm.L2(0.05))]


@pytest.mark.parametrize("solver, penalty", PENALIZED, ids=repr)
def test_penalized_gamma_fits_meet_the_kkt_conditions(solver, penalty):
    Xd, yd, X, y = _well_scaled()
    fit = solvers.SOLVERS[solver](Xd, yd, daskglm.Gamma(links.Log()), penalty, tol=1e-8,
                                  max_iter=5000, unpenalized=[0])
    assert fit.converged
    gradient, _ = _gradient_and_means(X, y, fit.coef, sm.families.Gamma(SM_LINKS.Log()))
    coef = fit.coef[1:]
    l1, l2 = penalty.alpha * penalty.l1_ratio, penalty.alpha * (1 - penalty.l1_ratio)
    smooth = gradient[1:] + l2 * coef
    residual = np.where(coef != 0, smooth + l1 * np.sign(coef),
                        np.maximum(np.abs(smooth) - l1, 0.0))
    tol = 1e-5 if solver == "admm" else 1e-7
    assert abs(gradient[0]) < tol and np.max(np.abs(residual)) < tol


def test_saga_refuses_the_new_families_naming_the_solvers_that_fit_them():
    Xd, yd, _, _ = _well_scaled()
    for family in (daskglm.Gamma(links.Log()), daskglm.InverseGaussian()):
        with CountComputes() as counter, \
                pytest.raises(ValueError, match=r"saga cannot fit .*use newton, lbfgs"):
            solvers.saga(Xd, yd, family, seed=0)
        assert counter.count == 0


@pytest.mark.parametrize("solver", ["lbfgs", "gradient_descent", "proximal_grad"])
def test_a_non_convex_link_starts_first_order_solvers_at_the_irls_point(solver):
    """The inverse Gaussian's log link is not convex in eta: from zero the
    means ran off to infinity, where the gradient vanishes, and the fit
    reported convergence there. From the IRLS point it finds the optimum."""
    Xd, _, X, y = _well_scaled()
    y = y * 50.0                                  # far from mu = 1 at zero coefficients
    family = daskglm.InverseGaussian(links.Log())
    assert not family.convex
    fit = solvers.SOLVERS[solver](Xd, _in_chunks(y), family, tol=1e-8, max_iter=5000)
    reference = _statsmodels(y, X, sm.families.InverseGaussian(SM_LINKS.Log()), {})
    assert fit.converged
    np.testing.assert_allclose(fit.coef, reference.params, rtol=1e-4)


# -- names, statsmodels' instances and saved fits ------------------------------------------------
def test_names_defaults_and_statsmodels_families_convert():
    assert daskglm.Gamma().link == links.Inverse()
    assert daskglm.InverseGaussian().link == links.InverseSquared()
    assert daskglm.families.get_family("inverse_gaussian", link="log") == \
        daskglm.InverseGaussian(links.Log())
    assert daskglm.families.get_family(sm.families.Gamma(SM_LINKS.Identity())) == \
        daskglm.Gamma(links.Identity())
    assert daskglm.families.get_family(sm.families.InverseGaussian()) == daskglm.InverseGaussian()
    with pytest.raises(ValueError, match="link 'sqrt' is not allowed for the Gamma family; "
                                         "allowed links: log, identity, inverse_power"):
        daskglm.Gamma(link="sqrt")
    with pytest.raises(ValueError,
                       match="allowed links: inverse_squared, inverse_power, identity, log"):
        daskglm.InverseGaussian(link="logit")


def test_a_saved_inverse_gaussian_fit_predicts_as_the_fit(tmp_path):
    from daskglm.frontend.saved import load_fit, save_results

    family, _, make, terms, _ = CASES["ig-inverse_squared"]
    data = make()
    result = daskglm.glm("y ~ x1 + x2", partitioned(data, 3), family=family).fit()
    save_results(result, tmp_path / "fit.json")
    loaded = load_fit(tmp_path / "fit.json")
    assert loaded.family == family
    np.testing.assert_allclose(np.asarray(loaded.predict(data.iloc[:20])),
                               np.asarray(result.predict(data.iloc[:20])), rtol=1e-12)
