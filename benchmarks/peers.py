"""Every library and solver the benchmark runs, configured to one objective.

The objective is DESIGN.md's: ``mean_i nll_i + alpha * |b[penalized]|_1``
(``alpha = 0`` for the unpenalized problems), intercept never penalized.
How each peer is mapped onto it:

===================  ===========================================================
statsmodels          ``GLM(y, [1, X], family).fit(method="IRLS", tol)``; tol is
                     an absolute tolerance on the change in deviance (a *sum*).
scikit-learn         ``LogisticRegression(C=inf)`` unpenalized; with L1,
                     ``l1_ratio=1, C = 1 / (alpha * n)`` (sklearn minimises
                     ``C * sum nll + |w|_1``). ``PoissonRegressor(alpha=0)``
                     (its objective is the mean half deviance = mean nll + c).
                     ``Lasso(alpha)`` minimises ``|y - Xw|^2 / (2n) + alpha
                     |w|_1``: our Normal objective exactly. ``Ridge(alpha=0)``
                     and ``LinearRegression`` solve the unpenalized Normal one.
glum                 ``GeneralizedLinearRegressor(alpha, l1_ratio=1 or 0)``: it
                     minimises ``deviance / (2 sum w) + penalty``, and half the
                     deviance is the nll up to a constant, so alpha carries over.
dask-glm             ``algorithms.newton/lbfgs/admm`` on the design ``[1, X]`` as
                     a persisted dask array. Its losses are *sums*, so lbfgs's
                     ``pgtol`` is ``tol * n``; admm runs with ``lamduh = 0``.
                     It penalizes every column (the intercept too) and by
                     default standardizes X first, so it cannot minimise the L1
                     objectives here: skipped there, with that reason.
dask-ml              ``LogisticRegression / PoissonRegression / LinearRegression``
                     with ``fit_intercept`` on the persisted dask features; a thin
                     layer over dask-glm (the same limits for L1).
daskglm (ours)       ``solvers.<name>(design, y, family, L1(alpha) or None,
                     unpenalized=[0])`` on numpy input and on the persisted dask
                     design; tol is the KKT residual of the mean objective.
===================  ===========================================================

Each fitter has a ladder of tolerances, loose to tight; the harness stops at
the first that reaches the accuracy asked for, so no peer is charged for a
tolerance tighter than it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Fit", "Fitter", "FITTERS", "available", "fitter_names"]


@dataclass
class Fit:
    """A fitter's answer, coefficients in the common order (intercept first)."""

    coef: np.ndarray
    n_iter: int | None = None
    n_passes: int | None = None
    converged: bool | None = None


@dataclass(frozen=True)
class Fitter:
    """One library + solver + input kind.

    Attributes
    ----------
    name : str
        e.g. ``"glum irls-cd"``, ``"daskglm newton"``.
    library : str
        The module that must import (``"glum"``, ``"dask_glm"`` ...).
    order : int
        2 for Newton-type solvers (judged by max |Δcoef|), 1 for first-order
        (judged by the relative objective gap).
    run : callable
        ``run(data, tol, chunk_rows) -> Fit``.
    tolerances : tuple
        Ladder of ``tol`` values, loose to tight (``(None,)``: direct solvers).
    supports : callable
        ``supports(problem) -> None`` or the reason it is skipped.
    input : {"numpy", "dask"}
    memory_factor : float
        Rough extra memory in units of the design's size, to skip fits that
        cannot fit in this machine's memory.
    blas_threads : int or None
        BLAS/OpenMP threads during the fit (None: every core). dask peers get
        1, as dask recommends (``OMP_NUM_THREADS=1``), since dask's worker
        threads already use every core and each of them would otherwise start
        a BLAS pool of its own on the same cores; daskglm does this itself
        inside its tasks.
    optional : bool
        Run only when ``--fitters`` names it exactly (slow duplicates).
    """

    name: str
    library: str
    order: int
    run: Callable
    tolerances: tuple
    supports: Callable
    input: str = "numpy"
    memory_factor: float = 1.0
    blas_threads: int | None = None
    optional: bool = False
    ours: bool = False
    notes: str = ""
    solver: str = field(default="")


def available(library) -> str | None:
    """None when ``library`` imports beside the current dask; else why not."""
    try:
        importlib.import_module(library)
    except Exception as error:  # an import failure of a peer is a reason to skip it
        return f"{library} does not import: {type(error).__name__}: {error}"
    return None


def _family_needed(*families):
    def supports(problem):
        if problem.family not in families:
            return f"no {problem.family} family in this solver"
        return None
    return supports


def _smooth_only(*families):
    base = _family_needed(*families)

    def supports(problem):
        if problem.l1:
            return "cannot minimise an L1 penalty"
        return base(problem)
    return supports


def _l1_only(*families):
    base = _family_needed(*families)

    def supports(problem):
        if not problem.l1:
            return "only run on the L1 problems"
        return base(problem)
    return supports


def _dask_glm_supports(*families):
    base = _smooth_only(*families)

    def supports(problem):
        if problem.l1:
            return ("penalizes every column, the intercept included, and standardizes X "
                    "first: it cannot minimise this objective")
        return base(problem)
    return supports


def _with_intercept(problem, intercept, coef):
    coef = np.ravel(coef)
    return np.concatenate([[float(intercept)], coef]) if problem.intercept else coef


# -- daskglm (ours) ------------------------------------------------------------------
def _ours(solver_name, dask_input, max_iter):
    def run(data, tol, chunk_rows):
        import daskglm
        from daskglm import solvers

        problem = data.problem
        family = {"logistic": daskglm.Logistic, "poisson": daskglm.Poisson,
                  "normal": daskglm.Normal}[problem.family]()
        regularizer = daskglm.L1(problem.l1) if problem.l1 else None
        X, y = data.dask_arrays(chunk_rows) if dask_input else (data.design, data.y)
        result = solvers.get_solver(solver_name)(
            X, y, family, regularizer, tol=tol, max_iter=max_iter,
            unpenalized=[0] if problem.intercept else None,
        )
        return Fit(result.coef, result.n_iter, result.n_passes, result.converged)
    return run


def _ours_supports(solver_name):
    def supports(problem):
        from daskglm.solvers import SOLVERS

        if solver_name not in SOLVERS:
            return f"daskglm has no solver {solver_name!r} yet"
        solver = SOLVERS[solver_name]
        if problem.l1 and not getattr(solver, "handles_nonsmooth", True):
            return "cannot minimise an L1 penalty"
        if solver_name in _L1_ONLY and not problem.l1:
            return "run on the L1 problems only (newton and lbfgs cover the smooth ones)"
        return None
    return supports


_L1_ONLY = ("proximal_grad",)
_OURS = {  # solver: (order, tolerances, max_iter, memory factor)
    "newton": (2, (1e-6, 1e-8, 1e-10), 100, 1.2),
    "lbfgs": (1, (1e-6, 1e-8, 1e-10), 2000, 1.2),
    "proximal_grad": (1, (1e-5, 1e-6, 1e-8), 1000, 1.2),
    "admm": (1, (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-8), 500, 1.5),
    "saga": (1, (1e-4, 1e-5, 1e-6, 1e-8), 200, 1.2),
}


def _our_fitters():
    fitters = []
    for solver_name, (order, tolerances, max_iter, factor) in _OURS.items():
        for dask_input in (False, True):
            fitters.append(Fitter(
                name=f"daskglm {solver_name}", library="daskglm", order=order,
                run=_ours(solver_name, dask_input, max_iter), tolerances=tolerances,
                supports=_ours_supports(solver_name), input="dask" if dask_input else "numpy",
                memory_factor=factor, ours=True, solver=solver_name,
            ))
    return fitters


# -- statsmodels ---------------------------------------------------------------------
def _statsmodels_run(data, tol, chunk_rows):
    import statsmodels.api as sm

    family = {"logistic": sm.families.Binomial, "poisson": sm.families.Poisson,
              "normal": sm.families.Gaussian}[data.problem.family]()
    result = sm.GLM(data.y, data.design, family=family).fit(method="IRLS", tol=tol, maxiter=100)
    n_iter = result.fit_history.get("iteration") if hasattr(result, "fit_history") else None
    return Fit(np.asarray(result.params), n_iter, None, bool(result.converged))


# -- scikit-learn --------------------------------------------------------------------
def _sklearn_logistic(solver, max_iter):
    def run(data, tol, chunk_rows):
        from sklearn.linear_model import LogisticRegression

        problem = data.problem
        if problem.l1:
            options = dict(C=1.0 / (problem.l1 * problem.n_rows), l1_ratio=1.0)
        else:
            options = dict(C=np.inf)
        model = LogisticRegression(solver=solver, tol=tol, max_iter=max_iter,
                                   fit_intercept=problem.intercept, **options)
        model.fit(data.X, data.y)
        coef = _with_intercept(problem, model.intercept_[0] if problem.intercept else 0.0,
                               model.coef_)
        return Fit(coef, int(np.max(model.n_iter_)), None, None)
    return run


def _sklearn_poisson(solver):
    def run(data, tol, chunk_rows):
        from sklearn.linear_model import PoissonRegressor

        problem = data.problem
        model = PoissonRegressor(alpha=0.0, solver=solver, tol=tol, max_iter=1000,
                                 fit_intercept=problem.intercept)
        model.fit(data.X, data.y)
        return Fit(_with_intercept(problem, model.intercept_, model.coef_), int(model.n_iter_))
    return run


def _sklearn_normal(kind):
    def run(data, tol, chunk_rows):
        from sklearn import linear_model

        problem = data.problem
        if kind == "Lasso":
            model = linear_model.Lasso(alpha=problem.l1, tol=tol, max_iter=10_000,
                                       fit_intercept=problem.intercept)
        elif kind == "Ridge":  # alpha=0: the normal equations, by Cholesky
            model = linear_model.Ridge(alpha=0.0, solver="cholesky",
                                       fit_intercept=problem.intercept)
        else:
            model = linear_model.LinearRegression(fit_intercept=problem.intercept)
        model.fit(data.X, data.y)
        n_iter = getattr(model, "n_iter_", None)
        return Fit(_with_intercept(problem, model.intercept_, model.coef_),
                   None if n_iter is None else int(np.max(n_iter)))
    return run


# -- glum ----------------------------------------------------------------------------
def _glum(solver):
    def run(data, tol, chunk_rows):
        from glum import GeneralizedLinearRegressor

        problem = data.problem
        family = {"logistic": "binomial", "poisson": "poisson", "normal": "normal"}[problem.family]
        model = GeneralizedLinearRegressor(
            family=family, alpha=problem.l1, l1_ratio=1.0 if problem.l1 else 0.0,
            fit_intercept=problem.intercept, solver=solver, gradient_tol=tol, max_iter=100,
        )
        model.fit(data.X, data.y)
        return Fit(_with_intercept(problem, model.intercept_, model.coef_), int(model.n_iter_))
    return run


# -- dask-glm and dask-ml -----------------------------------------------------------
def _dask_glm(algorithm):
    def run(data, tol, chunk_rows):
        from dask_glm import algorithms, families

        problem = data.problem
        family = {"logistic": families.Logistic, "poisson": families.Poisson,
                  "normal": families.Normal}[problem.family]
        X, y = data.dask_arrays(chunk_rows)
        if algorithm == "newton":
            coef = algorithms.newton(X, y, tol=tol, max_iter=100, family=family)
        elif algorithm == "lbfgs":
            coef = algorithms.lbfgs(X, y, regularizer="l2", lamduh=0.0, tol=tol * problem.n_rows,
                                    max_iter=1000, family=family)
        else:
            abstol, reltol = tol
            coef = algorithms.admm(X, y, regularizer="l2", lamduh=0.0, abstol=abstol,
                                   reltol=reltol, max_iter=_ADMM_MAX_ITER, family=family)
        return Fit(np.asarray(coef))
    return run


def _dask_ml(solver):
    def run(data, tol, chunk_rows):
        from dask_ml import linear_model

        problem = data.problem
        estimator = {"logistic": linear_model.LogisticRegression,
                     "poisson": linear_model.PoissonRegression,
                     "normal": linear_model.LinearRegression}[problem.family]
        X, y = data.dask_arrays(chunk_rows, features=True)
        options = dict(solver=solver, C=np.inf,
                       max_iter=100 if solver == "newton" else _ADMM_MAX_ITER,
                       fit_intercept=problem.intercept)
        if solver == "admm":
            options["solver_kwargs"] = dict(abstol=tol[0], reltol=tol[1])
        else:
            options["tol"] = tol
        model = estimator(**options).fit(X, y)
        return Fit(_with_intercept(problem, model.intercept_, model.coef_))
    return run


_ADMM_TOLS = ((1e-4, 1e-2), (1e-6, 1e-4))  # dask-glm's defaults, then tighter
_ADMM_MAX_ITER = 100  # dask-glm's default is 250; at ~0.1-1 s an iteration that is minutes


def _peer_fitters():
    logistic_poisson = ("logistic", "poisson")
    every = ("logistic", "poisson", "normal")
    return [
        Fitter("statsmodels IRLS", "statsmodels", 2, _statsmodels_run, (1e-8, 1e-12),
               _smooth_only(*every), memory_factor=3.0),
        Fitter("sklearn lbfgs", "sklearn", 1, None, (1e-6, 1e-8, 1e-10),
               _smooth_only(*logistic_poisson), memory_factor=0.5),
        Fitter("sklearn newton-cholesky", "sklearn", 2, None, (1e-6, 1e-8, 1e-10),
               _smooth_only(*logistic_poisson), memory_factor=1.2),
        Fitter("sklearn saga", "sklearn", 1, _sklearn_logistic("saga", 200), (1e-4, 1e-6),
               _family_needed("logistic"), memory_factor=0.5),
        Fitter("sklearn LinearRegression", "sklearn", 2, _sklearn_normal("LinearRegression"),
               (None,), _smooth_only("normal"), memory_factor=3.0),
        Fitter("sklearn Ridge(alpha=0)", "sklearn", 2, _sklearn_normal("Ridge"), (None,),
               _smooth_only("normal"), memory_factor=1.5),
        Fitter("sklearn Lasso", "sklearn", 1, _sklearn_normal("Lasso"), (1e-4, 1e-6, 1e-8),
               _l1_only("normal"), memory_factor=2.5),
        Fitter("glum irls-ls", "glum", 2, _glum("irls-ls"), (1e-6, 1e-8, 1e-10),
               _smooth_only(*every), memory_factor=1.5),
        Fitter("glum irls-cd", "glum", 2, _glum("irls-cd"), (1e-6, 1e-8, 1e-10),
               _l1_only(*every), memory_factor=1.5),
        Fitter("dask-glm newton", "dask_glm", 2, _dask_glm("newton"), (1e-6, 1e-8),
               _dask_glm_supports(*every), input="dask", memory_factor=1.0, blas_threads=1),
        Fitter("dask-glm lbfgs", "dask_glm", 1, _dask_glm("lbfgs"), (1e-6, 1e-8, 1e-10),
               _dask_glm_supports(*every), input="dask", memory_factor=1.0, blas_threads=1),
        Fitter("dask-glm admm", "dask_glm", 1, _dask_glm("admm"), _ADMM_TOLS,
               _dask_glm_supports(*every), input="dask", memory_factor=1.0, blas_threads=1),
        Fitter("dask-ml newton", "dask_ml", 2, _dask_ml("newton"), (1e-6, 1e-8),
               _dask_glm_supports(*every), input="dask", memory_factor=1.5, blas_threads=1),
        Fitter("dask-ml admm", "dask_ml", 1, _dask_ml("admm"), _ADMM_TOLS,
               _dask_glm_supports(*every), input="dask", memory_factor=1.5, blas_threads=1,
               optional=True, notes="dask-glm's admm behind an estimator"),
    ]


def _sklearn_glm(solver):
    """LogisticRegression or PoissonRegressor with the same solver name."""
    logistic = _sklearn_logistic(solver, 1000)
    poisson = _sklearn_poisson(solver)

    def run(data, tol, chunk_rows):
        return (poisson if data.problem.family == "poisson" else logistic)(data, tol, chunk_rows)
    return run


def _build():
    fitters = []
    for fitter in _peer_fitters():
        if fitter.run is None:  # sklearn lbfgs / newton-cholesky dispatch on the family
            solver = fitter.name.split()[-1]
            fitter = Fitter(**{**fitter.__dict__, "run": _sklearn_glm(solver)})
        fitters.append(fitter)
    return _our_fitters() + fitters


#: Every fitter, ours first.
FITTERS = _build()


def fitter_names():
    """Distinct fitter names, in order."""
    seen = []
    for fitter in FITTERS:
        if fitter.name not in seen:
            seen.append(fitter.name)
    return seen
