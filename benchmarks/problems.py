"""Seeded benchmark problems, and an objective evaluator that knows no solver.

Every problem is the objective of DESIGN.md,

    F(b) = mean_i nll_i(x_i' b) + alpha * |b[penalized]|_1,

on data generated here from ``np.random.default_rng(seed)``. Coefficients are
compared in one order everywhere: ``[intercept, features...]`` when the
problem has an intercept, the features alone otherwise.

:func:`objective_value`, :func:`gradient_and_hessian` and
:func:`reference_newton` are a few lines of plain numpy, written for the
harness alone: they judge every library (ours included) by the same yardstick
and polish the reference optimum.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Problem",
    "Dataset",
    "PROBLEMS",
    "SWEEPS",
    "make_problems",
    "objective_value",
    "gradient_and_hessian",
    "reference_newton",
    "compound_poisson_gamma",
]

_BLOCK_ROWS = 1 << 18  # rows per block when the harness evaluates F (bounds temporaries)


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: what to generate and what to minimise.

    Attributes
    ----------
    label : str
        What the problem is (``logistic``, ``historical``, ``rows`` ...); the
        name adds the size: ``logistic_1e6x20``.
    family : {"logistic", "poisson", "normal"}
    n_rows, n_features : int
        Rows and feature columns (the intercept column is not counted).
    intercept : bool
        Whether the design has an unpenalized column of ones in front.
    l1 : float
        ``alpha`` of the L1 penalty in DESIGN.md's scaling (0: unpenalized).
    features : {"normal", "uniform"}
        Standard normal features, or uniform on [0, 1) (the historical one).
    n_nonzero : int or None
        Only this many true coefficients differ from zero (None: all).
    coef_scale : float
        Spread of the true coefficients.
    seed : int
    group : str
        The table the problem belongs to ("main", "rows", "cols").
    """

    label: str
    family: str
    n_rows: int
    n_features: int
    intercept: bool = True
    l1: float = 0.0
    features: str = "normal"
    n_nonzero: int | None = None
    coef_scale: float = 0.5
    seed: int = 0
    group: str = "main"

    @property
    def name(self) -> str:
        return f"{self.label}_{_short(self.n_rows)}x{self.n_features}"

    @property
    def n_coef(self) -> int:
        return self.n_features + int(self.intercept)

    @property
    def penalized(self) -> np.ndarray:
        """Which coefficients (in the common order) the penalty touches."""
        mask = np.ones(self.n_coef, dtype=bool)
        if self.intercept:
            mask[0] = False
        return mask

    @property
    def design_nbytes(self) -> int:
        return 8 * self.n_rows * self.n_coef

    def scaled(self, **changes) -> Problem:
        """The same problem with some fields changed (a size, usually)."""
        return dataclasses.replace(self, **changes)

    def make(self) -> Dataset:
        """Generate the data (deterministic in ``seed``)."""
        return Dataset.generate(self)


def _short(n: int) -> str:
    """1000000 -> '1e6', 8000000 -> '8e6', 300000 -> '3e5', 20 -> '20'."""
    if n < 1000:
        return str(n)
    exponent = int(np.floor(np.log10(n)))
    return f"{n / 10 ** exponent:g}e{exponent}"


@dataclass
class Dataset:
    """A problem's data, in memory.

    Attributes
    ----------
    X : ndarray of shape (n_rows, n_features)
        The features, C-contiguous, no intercept column (for libraries that
        add their own intercept).
    y : ndarray of shape (n_rows,)
    design : ndarray of shape (n_rows, n_coef)
        ``[1, X]`` with an intercept, ``X`` itself without (for libraries that
        use the design as given).
    true_coef : ndarray of shape (n_coef,)
    """

    problem: Problem
    X: np.ndarray
    y: np.ndarray
    design: np.ndarray
    true_coef: np.ndarray
    _dask_cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def generate(cls, problem: Problem) -> Dataset:
        rng = np.random.default_rng(problem.seed)
        n, p = problem.n_rows, problem.n_features
        design = np.empty((n, problem.n_coef))
        features = design[:, 1:] if problem.intercept else design
        for start in range(0, n, _BLOCK_ROWS):  # fill in blocks: no (n, p) temporary
            rows = slice(start, min(n, start + _BLOCK_ROWS))
            shape = (rows.stop - rows.start, p)
            features[rows] = rng.random(shape) if problem.features == "uniform" \
                else rng.standard_normal(shape)
        if problem.intercept:
            design[:, 0] = 1.0
            X = np.ascontiguousarray(features)
        else:
            X = design
        true_coef = _true_coef(problem, rng)
        y = _draw_response(problem.family, design, true_coef, rng)
        return cls(problem, X, y, design, true_coef)

    def dask_arrays(self, chunk_rows, *, features=False):
        """``(X, y)`` as dask arrays already in memory (the design, or the features).

        Each chunk is a view of the in-memory array placed directly in the
        graph: what ``persist`` produces, without the copy that persisting a
        ``da.from_array`` makes. The same arrays go to every dask library.
        """
        key = (int(chunk_rows), bool(features))
        if key not in self._dask_cache:
            source = self.X if features else self.design
            self._dask_cache[key] = (_in_memory_dask(source, chunk_rows, "X"),
                                     _in_memory_dask(self.y, chunk_rows, "y"))
        return self._dask_cache[key]


def _in_memory_dask(array, chunk_rows, label):
    """A dask array whose chunks are row slices (views) of ``array``."""
    import dask.array as da
    from dask.base import tokenize

    n = array.shape[0]
    starts = range(0, n, int(chunk_rows))
    rows = tuple(min(n, start + int(chunk_rows)) - start for start in starts)
    name = f"bench-{label}-" + tokenize(id(array), array.shape, rows)
    if array.ndim == 2:
        graph = {(name, i, 0): array[start:start + size]
                 for i, (start, size) in enumerate(zip(starts, rows, strict=True))}
        chunks = (rows, (array.shape[1],))
    else:
        graph = {(name, i): array[start:start + size]
                 for i, (start, size) in enumerate(zip(starts, rows, strict=True))}
        chunks = (rows,)
    return da.Array(graph, name, chunks=chunks, dtype=array.dtype)


def _true_coef(problem, rng):
    p = problem.n_features
    if problem.features == "uniform":  # dask-glm's historical benchmark
        coef = (rng.random(p) - 0.5) * 3.0
    elif problem.n_nonzero is not None:
        coef = np.zeros(p)
        chosen = rng.choice(p, size=problem.n_nonzero, replace=False)
        signs = rng.choice([-1.0, 1.0], problem.n_nonzero)
        coef[chosen] = signs * rng.uniform(0.5, 1.5, problem.n_nonzero)
        coef *= problem.coef_scale
    else:
        coef = rng.normal(0.0, problem.coef_scale, p)
    if problem.intercept:
        coef = np.concatenate([[0.5], coef])
    return coef


def _draw_response(family, design, coef, rng):
    eta = design @ coef
    if family == "logistic":
        return (rng.random(eta.shape[0]) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    if family == "poisson":
        return rng.poisson(np.exp(eta)).astype(float)
    if family == "normal":
        return eta + rng.standard_normal(eta.shape[0])
    raise ValueError(f"unknown family {family!r}")


def compound_poisson_gamma(mu, var_power, dispersion, rng):
    """Tweedie draws with means ``mu``, variance ``dispersion * mu ** var_power``
    (1 < var_power < 2): a Poisson number of Gamma amounts, exact zeros where
    the number is 0.

    The count has mean ``mu^(2-p) / (phi (2-p))``, each amount shape
    ``(2-p) / (p-1)`` and scale ``phi (p-1) mu^(p-1)`` (Jorgensen's
    parametrization); a Gamma of shape ``k * shape`` is their sum.
    """
    p = var_power
    if not 1.0 < p < 2.0:
        raise ValueError(f"var_power must be in (1, 2), got {var_power!r}")
    mu = np.asarray(mu, dtype=float)
    counts = rng.poisson(np.power(mu, 2.0 - p) / (dispersion * (2.0 - p)))
    amount_scale = dispersion * (p - 1.0) * np.power(mu, p - 1.0)
    return rng.gamma(counts * (2.0 - p) / (p - 1.0), amount_scale)   # shape 0 draws 0


# -- the harness's own yardstick ----------------------------------------------------
def _blocks(n):
    for start in range(0, n, _BLOCK_ROWS):
        yield slice(start, min(n, start + _BLOCK_ROWS))


def _nll_sum(family, y, eta):
    if family == "logistic":
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta))
    if family == "poisson":
        return float(np.sum(np.exp(eta) - y * eta))
    return float(np.sum(np.square(y - eta)) / 2.0)


def objective_value(data: Dataset, coef) -> float:
    """F(coef): mean negative log-likelihood plus the L1 penalty, in numpy."""
    problem = data.problem
    coef = np.asarray(coef, dtype=float)
    total = 0.0
    for rows in _blocks(problem.n_rows):
        total += _nll_sum(problem.family, data.y[rows], data.design[rows] @ coef)
    penalty = problem.l1 * np.sum(np.abs(coef[problem.penalized]))
    return total / problem.n_rows + penalty


def gradient_and_hessian(data: Dataset, coef):
    """Gradient and (Fisher = observed, canonical links) Hessian of the mean nll."""
    problem = data.problem
    p = problem.n_coef
    gradient, hessian = np.zeros(p), np.zeros((p, p))
    for rows in _blocks(problem.n_rows):
        Xb, eta = data.design[rows], data.design[rows] @ coef
        if problem.family == "logistic":
            mu = 1.0 / (1.0 + np.exp(-eta))
            weight = mu * (1.0 - mu)
        elif problem.family == "poisson":
            mu = weight = np.exp(eta)
        else:
            mu, weight = eta, np.ones_like(eta)
        gradient += Xb.T @ (mu - data.y[rows])
        hessian += Xb.T @ (Xb * weight[:, None])
    return gradient / problem.n_rows, hessian / problem.n_rows


def reference_newton(data: Dataset, start=None, *, gtol=1e-12, max_iter=50):
    """Plain Newton on the unpenalized objective, from ``start`` (or zeros).

    Used to polish statsmodels' MLE (or to find the optimum where statsmodels
    is not run). Returns ``(coef, max |gradient|, iterations)``.
    """
    if data.problem.l1:
        raise ValueError("reference_newton handles unpenalized problems only")
    coef = np.zeros(data.problem.n_coef) if start is None else np.array(start, dtype=float)
    value = objective_value(data, coef)
    for iteration in range(max_iter):
        gradient, hessian = gradient_and_hessian(data, coef)
        gnorm = float(np.max(np.abs(gradient)))
        if gnorm <= gtol:
            return coef, gnorm, iteration
        step = np.linalg.solve(hessian, gradient)
        t = 1.0
        while t > 1e-10:  # step halving keeps the polish monotone from a far start
            trial = coef - t * step
            trial_value = objective_value(data, trial)
            if trial_value <= value + 1e-15 * abs(value):
                break
            t *= 0.5
        if t <= 1e-10:
            return coef, gnorm, iteration  # rounding: no further decrease to be had
        coef, value = trial, trial_value
    gradient, _ = gradient_and_hessian(data, coef)
    return coef, float(np.max(np.abs(gradient))), max_iter


# -- the problems of issue 6 -----------------------------------------------------------
PROBLEMS = {
    "logistic": Problem("logistic", "logistic", 1_000_000, 20, seed=1),
    "historical": Problem("historical", "logistic", 8_000_000, 15, intercept=False,
                          features="uniform", seed=2),
    "poisson": Problem("poisson", "poisson", 1_000_000, 20, coef_scale=0.1, seed=3),
    "normal": Problem("normal", "normal", 1_000_000, 20, coef_scale=1.0, seed=4),
    "l1_logistic": Problem("l1_logistic", "logistic", 1_000_000, 100, l1=2e-3,
                           n_nonzero=10, coef_scale=1.0, seed=5),
    "l1_normal": Problem("l1_normal", "normal", 1_000_000, 100, l1=2e-2,
                         n_nonzero=10, coef_scale=1.0, seed=6),
}

#: Sweeps: unpenalized logistic without intercept (so the design is X itself).
SWEEPS = {
    "rows": dict(sizes=[100_000, 300_000, 1_000_000, 3_000_000, 10_000_000, 20_000_000],
                 n_features=20),
    "cols": dict(sizes=[10, 20, 50, 100, 200, 500], n_rows=1_000_000),
}

_QUICK_DIVISOR = 10


def make_problems(names, *, quick=False, max_rows=10_000_000):
    """The list of problems to run, in order.

    ``names`` picks from :data:`PROBLEMS` plus ``"rows"`` and ``"cols"``.
    ``quick`` divides every row count by 10 (sweeps: by 100) so that the
    whole suite takes a few minutes (about 10 on a busy 2-core machine);
    ``max_rows`` caps the row sweep.
    """
    problems = []
    for name in names:
        if name in PROBLEMS:
            problem = PROBLEMS[name]
            if quick:
                problem = problem.scaled(n_rows=problem.n_rows // _QUICK_DIVISOR)
            problems.append(problem)
        elif name == "rows":
            sizes = [n for n in SWEEPS["rows"]["sizes"] if n <= max_rows]
            sizes = [n // 100 for n in sizes] if quick else sizes
            base = Problem("rows", "logistic", 1, SWEEPS["rows"]["n_features"],
                           intercept=False, seed=7, group="rows")
            problems += [base.scaled(n_rows=n) for n in sizes]
        elif name == "cols":
            n_rows = SWEEPS["cols"]["n_rows"] // (100 if quick else 1)
            base = Problem("cols", "logistic", n_rows, 1, intercept=False, seed=8,
                           group="cols", coef_scale=1.0)
            problems += [base.scaled(n_features=p, coef_scale=2.0 / np.sqrt(p))
                         for p in SWEEPS["cols"]["sizes"]]
        else:
            known = ", ".join([*PROBLEMS, "rows", "cols"])
            raise ValueError(f"unknown problem {name!r}; known: {known}")
    return problems
