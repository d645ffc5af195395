"""The families pages of the documentation: every python block of each page
runs, in order, in one namespace, and the numbers the prose states are
checked against statsmodels' fits of the same data in the same test."""

import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from glm_reference import assert_matches, reference_fit

DOCS = Path(__file__).resolve().parent.parent / "docs"
SM_LINKS = sm.families.links
STATISTICS = ("llf", "llnull", "deviance", "null_deviance", "pearson_chi2", "aic", "bic",
              "scale", "df_model", "df_resid", "nobs")
BLOCK = re.compile(r"^\.\. code-block:: python\n\n((?:(?: {4}.*)?\n)+)", re.MULTILINE)


def run_page(name):
    """Execute the page's python blocks in one namespace and return it."""
    text = (DOCS / name).read_text()
    blocks = [textwrap.dedent(block) for block in BLOCK.findall(text)]
    assert blocks, f"{name} has no python block"
    namespace = {}
    for block in blocks:
        exec(compile(block, f"docs/{name}", "exec"), namespace)
    return namespace


def statsmodels_fit(formula, frame, family, **fit_options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reference_fit(sm.GLM.from_formula(formula, frame, family=family), **fit_options)


def test_the_overview_links_every_family_page():
    text = (DOCS / "families.rst").read_text()
    for page in ["families_binary", "families_counts", "families_positive",
                 "families_tweedie"]:
        assert f"   {page}\n" in text


def test_the_binary_page_runs_and_matches_statsmodels(capsys):
    namespace = run_page("families_binary.rst")
    assert "Generalized Linear Model Regression Results" in capsys.readouterr().out
    star98 = sm.datasets.star98.load_pandas().data
    grouped_reference = statsmodels_fit(namespace["formula"], star98, sm.families.Binomial())
    assert_matches(namespace["grouped"], grouped_reference, scalars=("llf", "deviance"))
    dispersed = namespace["dispersed"]
    expected_scale = grouped_reference.pearson_chi2 / grouped_reference.df_resid
    np.testing.assert_allclose(dispersed.scale, expected_scale, rtol=1e-8)
    assert round(expected_scale, 1) == 14.7
    assert round(np.sqrt(expected_scale), 2) == 3.83
    np.testing.assert_allclose(dispersed.bse, grouped_reference.bse * np.sqrt(expected_scale),
                               rtol=1e-5)

    spector = sm.datasets.spector.load_pandas().data
    by_link = namespace["by_link"]
    sm_links = {"logit": SM_LINKS.Logit(), "probit": SM_LINKS.Probit(),
                "cloglog": SM_LINKS.CLogLog()}
    for name, sm_link in sm_links.items():
        reference = statsmodels_fit("GRADE ~ GPA + TUCE + PSI", spector,
                                    sm.families.Binomial(sm_link))
        assert_matches(by_link[name], reference, scalars=("llf", "aic"))
    probit = sm.Probit.from_formula("GRADE ~ GPA + TUCE + PSI", spector).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(by_link["probit"].params, probit.params, rtol=1e-6)
    relative = np.abs(by_link["probit"].bse / probit.bse - 1)    # expected vs observed information
    assert 1e-3 < relative.max() < 0.035
    assert [round(by_link[name].llf, 2) for name in sm_links] == [-12.89, -12.82, -13.01]
    ratio = by_link["probit"].params / by_link["logit"].params
    assert (round(ratio.min(), 2), round(ratio.max(), 2)) == (0.54, 0.60)


def test_the_counts_page_runs_and_matches_statsmodels(capsys):
    namespace = run_page("families_counts.rst")
    assert "Generalized Linear Model Regression Results" in capsys.readouterr().out
    randhie = sm.datasets.randhie.load_pandas().data
    formula = namespace["formula"]
    poisson_reference = statsmodels_fit(formula, randhie, sm.families.Poisson())
    poisson = namespace["poisson"]
    assert_matches(poisson, poisson_reference, scalars=("llf", "aic", "pearson_chi2"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb2 = sm.NegativeBinomial.from_formula(formula, randhie, loglike_method="nb2").fit(
            method="newton", maxiter=100, disp=0, tol=1e-12)
    negbin = namespace["negbin"]
    np.testing.assert_allclose(negbin.params, nb2.params.iloc[:-1], rtol=1e-6)
    np.testing.assert_allclose(negbin.bse, nb2.bse.iloc[:-1], rtol=1e-5)
    np.testing.assert_allclose(negbin.alpha, nb2.params["alpha"], rtol=1e-6)
    np.testing.assert_allclose(negbin.bse_alpha, nb2.bse["alpha"], rtol=1e-5)
    np.testing.assert_allclose(negbin.llf, nb2.llf, rtol=1e-9)
    # the numbers of the prose
    assert round(poisson.pearson_chi2 / poisson.df_resid, 1) == 6.3
    assert (round(negbin.alpha, 3), round(negbin.bse_alpha, 3)) == (1.293, 0.019)
    assert (round(negbin.llf), round(poisson.llf)) == (-43384, -62420)
    assert (round(poisson.aic), round(negbin.aic)) == (124859, 86789)
    ratio = negbin.bse / poisson.bse
    assert (round(ratio.min(), 1), round(ratio.max(), 1)) == (2.1, 2.8)


def test_the_positive_page_runs_and_matches_statsmodels(capsys):
    namespace = run_page("families_positive.rst")
    assert "Generalized Linear Model Regression Results" in capsys.readouterr().out
    scotland = sm.datasets.scotland.load_pandas().data
    formula = namespace["formula"]
    for fit, sm_family, fit_options in [
            (namespace["res"], sm.families.Gamma(), {}),
            (namespace["by_deviance"], sm.families.Gamma(), {"scale": "dev"}),
            (namespace["log_fit"], sm.families.Gamma(SM_LINKS.Log()), {}),
            (namespace["inverse_gaussian"], sm.families.InverseGaussian(), {}),
            (namespace["ig_log"], sm.families.InverseGaussian(SM_LINKS.Log()), {})]:
        reference = statsmodels_fit(formula, scotland, sm_family, **fit_options)
        assert_matches(fit, reference, scalars=STATISTICS)
    gamma, inverse_gaussian = namespace["res"], namespace["inverse_gaussian"]
    assert (round(gamma.llf, 2), round(inverse_gaussian.llf, 2)) == (-83.02, -83.66)
    assert namespace["log_fit"].llf > namespace["ig_log"].llf


def test_the_tweedie_page_runs_and_matches_statsmodels(capsys):
    namespace = run_page("families_tweedie.rst")
    assert "Generalized Linear Model Regression Results" in capsys.readouterr().out
    fair = sm.datasets.fair.load_pandas().data
    formula = namespace["formula"]
    assert round((fair["affairs"] == 0).mean(), 2) == 0.68        # "two thirds"
    reference = statsmodels_fit(formula, fair, sm.families.Tweedie(var_power=1.5))
    assert_matches(namespace["res"], reference, scalars=("llf", "deviance", "scale"))

    profile = namespace["profile"]
    references = [statsmodels_fit(formula, fair, sm.families.Tweedie(var_power=power)).llf
                  for power in profile.powers]
    np.testing.assert_allclose(profile.llf, references, rtol=1e-6)
    assert profile.var_power == profile.powers[int(np.argmax(references))] == 1.6
    assert (round(profile.llf[4]), round(profile.llf[3])) == (-7541, -7709)
    np.testing.assert_allclose(namespace["best"].params,
                               statsmodels_fit(formula, fair,
                                               sm.families.Tweedie(var_power=1.6)).params,
                               rtol=1e-6)

    quasi = namespace["quasi"]
    np.testing.assert_allclose(quasi.params, reference.params, rtol=1e-6)
    with np.errstate(divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quasi_reference = statsmodels_fit(formula, fair,
                                          sm.families.Tweedie(var_power=1.5, eql=True))
        assert quasi.llf == quasi_reference.llf == np.inf


@pytest.mark.parametrize("factor", [1e-6, 1e6])
def test_newton_does_not_depend_on_the_units_of_y(factor):
    """The overview's claim about the stopping rule: the Gamma identity-link
    Scotland fit gives the same coefficients with YES rescaled."""
    import dask.dataframe as dd

    import daskglm

    scotland = sm.datasets.scotland.load_pandas().data
    formula = "YES ~ COUTAX + UNEMPF + MOR + ACT + GDP + AGE + COUTAX_FEMALEUNEMP"
    family = daskglm.Gamma(link="identity")
    fit = daskglm.glm(formula, dd.from_pandas(scotland, npartitions=3), family=family).fit()
    rescaled = scotland.assign(YES=scotland["YES"] * factor)
    scaled_fit = daskglm.glm(formula, dd.from_pandas(rescaled, npartitions=3),
                             family=family).fit()
    assert fit.converged and scaled_fit.converged
    np.testing.assert_allclose(scaled_fit.params / factor, fit.params, rtol=1e-8)
