"""``import daskglm`` is cheap: heavy libraries load when a name needs them.

Each check runs in a fresh interpreter, since this test session has long
since imported everything.
"""

import json
import subprocess
import sys
import textwrap

import pytest

import daskglm

#: Libraries that ``import daskglm`` must leave unloaded.
HEAVY = ("sklearn", "statsmodels", "matplotlib", "dask", "numpy", "scipy", "numba",
         "pandas", "patsy")


def loaded_after(code):
    """The top-level packages of ``HEAVY`` that are in ``sys.modules`` after ``code``
    runs in a new interpreter."""
    report = (f"import json, sys\nprint(json.dumps(sorted(set({HEAVY!r})"
              " & {name.partition('.')[0] for name in sys.modules})))")
    script = f"{code}\n{report}\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_import_daskglm_loads_none_of_the_heavy_libraries():
    assert loaded_after("import daskglm") == set()


@pytest.mark.parametrize("code", [
    "import daskglm; daskglm.glm; daskglm.GLM; daskglm.GLMResults",
    "import daskglm.solvers; daskglm.solvers.newton",
    "from daskglm import L1, Poisson; from daskglm.links import Logit",
])
def test_models_solvers_and_math_load_neither_sklearn_nor_statsmodels(code):
    loaded = loaded_after(code)
    assert "numpy" in loaded          # the code did reach the math
    assert not loaded & {"sklearn", "statsmodels", "matplotlib"}


@pytest.mark.parametrize("argv", [["--help"], ["fit", "--help"], ["predict", "--help"]])
def test_command_line_help_loads_neither_sklearn_nor_statsmodels(argv):
    code = textwrap.dedent(f"""
        import contextlib, importlib, io
        cli = importlib.import_module("daskglm.cli.main")
        with contextlib.redirect_stdout(io.StringIO()) as shown:
            try:
                cli.main({argv!r})
            except SystemExit as stop:
                assert stop.code == 0, stop.code
        assert "usage: daskglm" in shown.getvalue()
    """)
    assert not loaded_after(code) & {"sklearn", "statsmodels", "matplotlib"}


def test_warning_classes_load_with_the_exceptions_module():
    loaded = loaded_after("import daskglm; daskglm.ConvergenceWarning")
    assert {"sklearn", "statsmodels"} <= loaded


def test_convergence_warning_is_both_libraries_warning():
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning as StatsmodelsConvergenceWarning,
    )

    assert issubclass(daskglm.ConvergenceWarning, SklearnConvergenceWarning)
    assert issubclass(daskglm.ConvergenceWarning, StatsmodelsConvergenceWarning)
    assert issubclass(daskglm.PerfectSeparationWarning, daskglm.ConvergenceWarning)
    assert daskglm.ConvergenceWarning is daskglm.exceptions.ConvergenceWarning


@pytest.mark.parametrize("module", ["sklearn.exceptions", "statsmodels.tools.sm_exceptions"])
def test_a_filter_set_before_the_warning_class_loads_still_catches_it(module):
    # statsmodels' import puts "always" filters first; loading it at the
    # first warning must not override the filter the user set before
    code = textwrap.dedent(f"""
        import warnings
        from {module} import ConvergenceWarning
        warnings.simplefilter("error", ConvergenceWarning)
        import numpy as np
        from daskglm.solvers import newton
        X = np.column_stack([np.ones(50), np.linspace(-1, 1, 50)])
        y = (X[:, 1] > 0.3).astype(float)
        y[::7] = 1.0 - y[::7]
        try:
            newton(X, y, max_iter=1)
        except ConvergenceWarning as caught:
            print(type(caught).__module__, type(caught).__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == ["daskglm.exceptions", "ConvergenceWarning"]


def test_loading_the_warnings_keeps_statsmodels_filters_behind_the_users():
    code = textwrap.dedent("""
        import warnings
        warnings.simplefilter("ignore")
        import daskglm.exceptions
        from statsmodels.tools.sm_exceptions import ConvergenceWarning
        users = warnings.filters.index(("ignore", None, Warning, None, 0))
        statsmodels = warnings.filters.index(("always", None, ConvergenceWarning, None, 0))
        print(users < statsmodels)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.split() == ["True"]


def test_every_public_name_resolves():
    for name in daskglm.__all__:
        assert getattr(daskglm, name) is not None, name
    assert set(daskglm.__all__) <= set(dir(daskglm))
    assert daskglm.solvers.newton is daskglm.solvers.SOLVERS["newton"]
    assert daskglm.links.Logit().__class__.__name__ == "Logit"
    assert daskglm.estimators.LogisticRegression().get_params()["fit_intercept"] is True
    from daskglm import L1, glm  # noqa: F401  (the from-import form)


def test_families_and_penalties_of_the_math_layer_are_public():
    # every family class is a top-level name; the registry helpers stay in daskglm.families
    public_families = {name for name in daskglm.families.__all__
                       if isinstance(getattr(daskglm.families, name), type)}
    public_penalties = {name for name in daskglm.regularizers.__all__
                        if isinstance(getattr(daskglm.regularizers, name), type)} - {"Regularizer"}
    for name in public_families | public_penalties:
        assert getattr(daskglm, name) is getattr(daskglm.families if name in public_families
                                                 else daskglm.regularizers, name)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        daskglm.no_such_name  # noqa: B018


def test_version_has_one_source():
    from importlib.metadata import version

    from daskglm._version import __version__

    assert daskglm.__version__ == __version__
    assert version("daskglm") == __version__
