"""A binomial response of two columns (successes, failures), as statsmodels' GLM
takes it: star98 against R's numbers and statsmodels', from numpy, from 3-chunk
dask arrays and through a formula on a 3-partition frame; proportions with
weights; predictions, saved fits and the command line; bad counts."""

import io
from functools import cache

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import daskglm

from glm_reference import SCALARS, assert_matches, reference_fit

STAR98_FORMULA = ("NABOVE + NBELOW ~ LOWINC + PERASIAN + PERBLACK + PERHISP + PCTCHRT"
                  " + PCTYRRND + PERMINTE * AVYRSEXP + np.log(AVSALK)")
RESIDUALS = ("resid_response", "resid_pearson", "resid_deviance", "resid_working",
             "resid_anscombe", "fittedvalues", "mu")


@cache
def _star98():
    data = sm.datasets.star98.load_pandas()
    return data.endog, sm.add_constant(data.exog, prepend=False)


@cache
def _star98_reference(link=None):
    endog, exog = _star98()
    family = sm.families.Binomial() if link is None else sm.families.Binomial(link=link)
    return reference_fit(sm.GLM(endog, exog, family=family))


def _star98_frame():
    return sm.datasets.star98.load_pandas().data


def _as_numpy(values):
    values = values.compute() if hasattr(values, "compute") else values
    return np.asarray(values)


def _assert_residuals_match(result, reference, rtol=1e-6):
    for name in RESIDUALS:
        got, expected = _as_numpy(getattr(result, name)), np.asarray(getattr(reference, name))
        scale = np.max(np.abs(expected))
        np.testing.assert_allclose(got, expected, rtol=0, atol=rtol * scale, err_msg=name)


def test_star98_equals_r_and_statsmodels():
    """R's numbers of the star98 fit (imported from statsmodels' own tests)."""
    results_glm = pytest.importorskip("statsmodels.genmod.tests.results.results_glm")
    r_fit = results_glm.Star98()
    endog, exog = _star98()
    result = daskglm.GLM(endog, exog, family=daskglm.Binomial()).fit()
    np.testing.assert_allclose(result.params, r_fit.params, rtol=1e-6)
    np.testing.assert_allclose(result.bse, r_fit.bse, rtol=1e-5)
    for name in ("deviance", "null_deviance", "llf", "pearson_chi2", "df_resid", "df_model"):
        np.testing.assert_allclose(getattr(result, name), getattr(r_fit, name), rtol=1e-6,
                                   err_msg=name)
    np.testing.assert_allclose(result.aic, r_fit.aic_R, rtol=1e-6)
    np.testing.assert_allclose(result.fittedvalues[:len(r_fit.fittedvalues)],
                               r_fit.fittedvalues, rtol=1e-5)
    assert result.model.endog_names == ["NABOVE", "NBELOW"]
    reference = _star98_reference()
    assert_matches(result, reference)
    _assert_residuals_match(result, reference)


@pytest.mark.parametrize("link", [None, sm.families.links.Probit()], ids=["logit", "probit"])
def test_star98_on_three_chunk_dask_arrays(link):
    endog, exog = _star98()
    endog_chunks = da.from_array(endog.to_numpy(), chunks=(101, 2))
    exog_chunks = da.from_array(exog.to_numpy(), chunks=(101, exog.shape[1]))
    family = daskglm.Binomial() if link is None else daskglm.Binomial(link="probit")
    # star98's columns run to the hundreds: tol in their units, tight enough for 1e-6
    result = daskglm.GLM(endog_chunks, exog_chunks, family=family).fit(tol=1e-10)
    reference = _star98_reference(link)
    assert isinstance(result.resid_response, da.Array)
    np.testing.assert_allclose(result.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5)
    for name in SCALARS:
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=1e-6,
                                   err_msg=name)
    _assert_residuals_match(result, reference)
    assert result.model.endog_names == ["y1", "y2"]        # statsmodels' names for arrays
    np.testing.assert_allclose(result.get_hat_matrix_diag(observed=False).compute(),
                               reference.get_hat_matrix_diag(observed=False), rtol=1e-6)


def test_trials_with_weights_and_offset_equal_statsmodels():
    """Two columns with freq_weights, var_weights and an offset (the null model
    is then an intercept-only fit with the offset)."""
    endog, exog = _star98()
    exog = exog[["LOWINC", "PERASIAN", "PCTCHRT", "const"]]
    rng = np.random.default_rng(3)
    fw = rng.integers(1, 4, len(endog)).astype(float)
    vw = rng.uniform(0.5, 2.0, len(endog))
    offset = rng.normal(0.0, 0.1, len(endog))
    reference = reference_fit(sm.GLM(endog, exog, family=sm.families.Binomial(),
                                     freq_weights=fw, var_weights=vw, offset=offset))
    chunks = dict(chunks=101)
    result = daskglm.GLM(da.from_array(endog.to_numpy(), chunks=(101, 2)),
                         da.from_array(exog.to_numpy(), chunks=(101, 4)),
                         family=daskglm.Binomial(), freq_weights=da.from_array(fw, **chunks),
                         var_weights=da.from_array(vw, **chunks), offset=offset).fit()
    np.testing.assert_allclose(result.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(result.bse, reference.bse, rtol=1e-5)
    for name in SCALARS:
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=1e-6,
                                   err_msg=name)
    _assert_residuals_match(result, reference)


def test_proportions_with_weights_equal_statsmodels_and_the_counts_fit():
    """The proportion with the trials as var_weights is the two-column fit
    but for the log-likelihood (the counts' binomial coefficients), as in
    statsmodels; with freq_weights too."""
    endog, exog = _star98()
    exog = exog[["LOWINC", "PERASIAN", "PCTCHRT", "const"]]
    trials = endog.sum(axis=1).to_numpy()
    proportion = endog["NABOVE"].to_numpy() / trials
    fw = np.random.default_rng(4).integers(1, 3, len(trials)).astype(float)
    reference = reference_fit(sm.GLM(proportion, exog, family=sm.families.Binomial(),
                                     var_weights=trials, freq_weights=fw))
    result = daskglm.GLM(proportion, exog, family=daskglm.Binomial(), var_weights=trials,
                         freq_weights=fw).fit()
    assert_matches(result, reference)
    _assert_residuals_match(result, reference)
    counts = daskglm.GLM(endog, exog, family=daskglm.Binomial(), freq_weights=fw).fit()
    np.testing.assert_allclose(counts.params, result.params, rtol=1e-8)
    np.testing.assert_allclose(counts.bse, result.bse, rtol=1e-8)
    for name in ("deviance", "pearson_chi2", "null_deviance"):
        np.testing.assert_allclose(getattr(counts, name), getattr(result, name), rtol=1e-10)
    assert counts.llf != pytest.approx(result.llf)


@pytest.fixture(scope="module")
def formula_fits():
    data = _star98_frame()
    reference = reference_fit(smf.glm(STAR98_FORMULA, data, family=sm.families.Binomial()))
    model = daskglm.glm(STAR98_FORMULA, dd.from_pandas(data, npartitions=3, sort=False),
                        family=daskglm.Binomial())
    return model.fit(), reference, data


def test_formula_with_two_columns_on_three_partitions(formula_fits):
    result, reference, data = formula_fits
    assert result.model.endog_names == ["NABOVE", "NBELOW"] == reference.model.endog_names
    assert_matches(result, reference)
    _assert_residuals_match(result, reference)
    new = data.iloc[::7]
    predicted = result.predict(dd.from_pandas(new, npartitions=2, sort=False)).compute()
    np.testing.assert_allclose(predicted, reference.predict(new), rtol=1e-6)
    frame = result.get_prediction(new).summary_frame()
    expected = reference.get_prediction(new).summary_frame()
    np.testing.assert_allclose(frame.to_numpy(), expected.to_numpy(), rtol=1e-5)
    assert "['NABOVE', 'NBELOW']" in result.summary().as_text()


def test_saved_two_column_fit_predicts(formula_fits, tmp_path):
    result, reference, data = formula_fits
    buffer = io.BytesIO()
    result.save(buffer)
    buffer.seek(0)
    loaded = daskglm.GLMResults.load(buffer)
    new = data.iloc[:40]
    np.testing.assert_allclose(loaded.predict(new), reference.predict(new), rtol=1e-6)


def test_command_line_fits_and_predicts_two_columns(tmp_path, capsys):
    from daskglm.cli.main import main
    from daskglm.frontend.saved import load_fit

    data = _star98_frame()
    formula = "NABOVE + NBELOW ~ LOWINC + PERASIAN + PCTCHRT"
    source, fit_path, out = tmp_path / "star98.csv", tmp_path / "fit.json", tmp_path / "p.csv"
    data.to_csv(source, index=False)
    status = main(["fit", formula, str(source), "--family", "binomial", "--save",
                   str(fit_path)])
    assert status == 0, capsys.readouterr().err
    status = main(["predict", str(fit_path), str(source), "--output", str(out)])
    assert status == 0, capsys.readouterr().err
    reference = reference_fit(smf.glm(formula, data, family=sm.families.Binomial()))
    np.testing.assert_allclose(pd.read_csv(out)["predicted"], reference.predict(data),
                               rtol=1e-6)
    np.testing.assert_allclose(load_fit(fit_path).params, reference.params, rtol=1e-6)


def test_missing_counts_are_dropped():
    endog, exog = _star98()
    endog = endog.to_numpy().copy()
    endog[[3, 50], 1] = np.nan
    keep = np.isfinite(endog).all(axis=1)
    result = daskglm.GLM(endog, exog, family=daskglm.Binomial(), missing="drop").fit()
    reference = reference_fit(sm.GLM(endog[keep], exog[keep], family=sm.families.Binomial()))
    np.testing.assert_allclose(result.params, reference.params, rtol=1e-6)
    np.testing.assert_allclose(result.llf, reference.llf, rtol=1e-8)


def _counts(successes, failures, chunks=None):
    endog = pd.DataFrame({"wins": successes, "losses": failures}, dtype=float)
    exog = np.column_stack([np.ones(len(endog)), np.arange(len(endog), dtype=float)])
    if chunks is None:
        return endog, exog
    return (dd.from_pandas(endog, npartitions=chunks, sort=False),
            da.from_array(exog, chunks=(len(endog) // chunks, 2)))


@pytest.mark.parametrize("chunks", [None, 3], ids=["numpy", "dask"])
@pytest.mark.parametrize("successes, failures, message", [
    ([1, 2, -1, 3, 0, 2], [1, 0, 2, 2, 1, 1], r"successes column 'wins' has negative counts, "
                                              r"in row\(s\) 2"),
    ([1, 2, 1, 3, 0, 2], [1, 0, 2, 2, 1, -4], r"failures column 'losses' has negative counts, "
                                              r"in row\(s\) 5"),
    ([1, 2, 1, 0, 0, 2], [1, 0, 2, 0, 1, 1], r"no trials \('wins' \+ 'losses' == 0\) in "
                                             r"row\(s\) 3"),
])
def test_bad_counts_are_refused_naming_the_column_and_row(chunks, successes, failures,
                                                          message):
    endog, exog = _counts(successes, failures, chunks)
    with pytest.raises(ValueError, match=message):
        daskglm.GLM(endog, exog, family=daskglm.Binomial()).fit()


def test_other_shapes_and_families_are_refused():
    endog, exog = _counts([1, 2, 1, 3], [1, 0, 2, 2])
    with pytest.raises(ValueError, match=r"endog has 3 columns \('wins', 'losses', 'draws'\)"):
        daskglm.GLM(endog.assign(draws=1.0), exog, family=daskglm.Binomial())
    with pytest.raises(ValueError, match="needs the Binomial family, not Poisson"):
        daskglm.GLM(endog, exog, family=daskglm.Poisson())
    frame = endog.assign(x=np.arange(4.0), draws=1.0)
    with pytest.raises(ValueError, match="must be one numeric column"):
        daskglm.glm("wins + losses + draws ~ x", frame, family=daskglm.Binomial())
    with pytest.raises(ValueError, match="needs the Binomial family"):
        daskglm.glm("wins + losses ~ x", frame, family=daskglm.Gaussian())


def _trials_frame(n_levels, n=1500, seed=1):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"g": rng.integers(0, n_levels, n).astype(str),
                          "x": rng.normal(size=n), "cluster": rng.integers(0, 30, n)})
    trials = rng.integers(1, 20, n)
    eta = 0.3 * frame["x"] + (frame["g"].astype(int) % 5 - 2) * 0.2
    frame["wins"] = rng.binomial(trials, 1.0 / (1.0 + np.exp(-eta))).astype(float)
    frame["losses"] = trials - frame["wins"]
    return frame


@pytest.mark.parametrize("n_levels, cov_type", [(40, "nonrobust"), (6, "HC0"),
                                                (6, "cluster")])
def test_coded_terms_and_robust_covariances_with_two_columns(n_levels, cov_type):
    """A categorical of more than 32 levels stays codes; robust covariances use the
    trials as statsmodels does (score rows times n)."""
    frame = _trials_frame(n_levels)
    formula = "wins + losses ~ x + C(g)"
    cov_kwds = {"groups": frame["cluster"].to_numpy()} if cov_type == "cluster" else None
    reference = reference_fit(smf.glm(formula, frame, family=sm.families.Binomial()),
                              cov_type=cov_type, cov_kwds=cov_kwds)
    model = daskglm.glm(formula, dd.from_pandas(frame, npartitions=3, sort=False),
                        family=daskglm.Binomial())
    result = model.fit(cov_type=cov_type, cov_kwds=cov_kwds)
    assert (result._design.coded is not None) == (n_levels > 32)
    assert_matches(result, reference)
