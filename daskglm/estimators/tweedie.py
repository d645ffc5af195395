"""Gamma and Tweedie regression with scikit-learn's names: ``GammaRegressor``'s
and ``TweedieRegressor``'s parameters (``alpha``, ``power``, ``link``), on
numpy or dask data.

scikit-learn minimises ``1 / (2 sum s) sum_i s_i d_i + alpha / 2 |b|^2``,
with ``d_i`` the unit deviance. Half a unit deviance is the family's
negative log-likelihood at unit scale up to terms free of the coefficients,
so this is DESIGN.md's objective with an L2 penalty of the same ``alpha``
(no ``C``: these estimators take scikit-learn's parameters, not dask-ml's).

The family comes from the registry by name
(:func:`daskglm.math.families.get_family`): ``TweedieRegression(power=p)``
fits the Tweedie family with ``var_power=p``, and at the powers where that
distribution is a named one the named family (0: Normal, 1: Poisson,
2: Gamma), which has the same deviance and so the same fit.
"""

from __future__ import annotations

import numbers

from sklearn.base import RegressorMixin

from ..frontend.prediction import inverse_link
from ..math.families import get_family
from ..math.penalties import L2
from .base import GLMEstimator

__all__ = ["GammaRegression", "TweedieRegression"]

#: Tweedie powers at which the distribution is a family of its own.
_NAMED_POWERS = {0.0: "gaussian", 1.0: "poisson", 2.0: "gamma"}

_LINKS = ("auto", "identity", "log")

_PARAMETERS_DOC = """
    alpha : float >= 0, default=1.0
        Strength of the L2 penalty on the coefficients (never on the
        intercept), with scikit-learn's scaling (see the module's notes);
        0 is no penalty.
    fit_intercept : bool, default=True
        Add an (unpenalized) intercept.
    solver : str or callable, default='auto'
        A name registered in :data:`daskglm.solvers.SOLVERS` (``'newton'``,
        ``'lbfgs'``, ...) or a solver function; ``'auto'`` picks ``'newton'``
        up to 1000 coefficients, else ``'lbfgs'``.
    max_iter : int, default=100
        Most solver iterations.
    tol : float, default=1e-4
        The solver's tolerance on the largest optimality (KKT) residual of
        the mean objective.
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    verbose : int, default=0
        Above 0, print every solver iteration.
    solver_kwargs : dict, optional
        The solver's own keyword-only options.

    Attributes
    ----------
    coef_ : array of shape (n_features,)
    intercept_ : float
    n_iter_ : int
    n_features_in_ : int
    feature_names_in_ : array of str
        Column names, for dataframe input with string column names.
    result_ : SolverResult
"""


class _DevianceRegressor(RegressorMixin, GLMEstimator):
    """What Gamma and Tweedie regression share: scikit-learn's parameters of a
    ``_GeneralizedLinearRegressor`` over the fitting of :class:`GLMEstimator`."""

    def __init__(self, *, alpha=1.0, fit_intercept=True, solver="auto", max_iter=100,
                 tol=1e-4, warm_start=False, verbose=0, solver_kwargs=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.verbose = verbose
        self.solver_kwargs = solver_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        power = getattr(self, "power", 2.0)
        tags.target_tags.positive_only = isinstance(power, numbers.Real) and power > 0
        return tags

    def _power(self) -> float:
        raise NotImplementedError

    def _check_params(self):
        alpha = self.alpha
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool) or not alpha >= 0:
            raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
        self._check_solver_kwargs()
        self._family()                       # a bad power or link fails before any data pass
        shape = L2(1.0)
        self._check_solver_name(shape)
        return shape

    def _penalized(self) -> bool:
        return self.alpha > 0

    def _regularizer(self, shape, sum_weights):
        """``alpha`` as it is: scikit-learn's scaling is DESIGN.md's."""
        return L2(float(self.alpha)) if self._penalized() else None

    def _predict_from_eta(self, eta):
        return inverse_link(eta, self._family(), "mean")

    def predict(self, X):
        """The predicted means ``g^{-1}(X @ coef_ + intercept_)``."""
        return self._mean(X)

    def score(self, X, y, sample_weight=None):
        """D², the share of the deviance explained, as scikit-learn's ``score``
        (``d2_tweedie_score`` at the estimator's power)."""
        return self._deviance_score(X, y, sample_weight, power=self._power())


class GammaRegression(_DevianceRegressor):
    __doc__ = """Gamma regression (log link) on numpy or dask data.

    scikit-learn's ``GammaRegressor``: the same parameters and, for the same
    ``alpha``, the same coefficients. The response must be positive.

    Parameters
    ----------""" + _PARAMETERS_DOC

    def _power(self):
        return 2.0

    def _family(self):
        return get_family("gamma", link="log")


class TweedieRegression(_DevianceRegressor):
    __doc__ = """Tweedie regression on numpy or dask data.

    scikit-learn's ``TweedieRegressor``: the same parameters and, for the
    same ``power``, ``link`` and ``alpha``, the same coefficients.

    Parameters
    ----------
    power : float, default=0.0
        The Tweedie variance power: 0 Normal, 1 Poisson, between 1 and 2
        compound Poisson-Gamma, 2 Gamma, 3 inverse Gaussian (values between
        0 and 1 are refused, as by scikit-learn).
    link : {'auto', 'identity', 'log'}, default='auto'
        ``'auto'``: identity for ``power <= 0``, log otherwise.""" + _PARAMETERS_DOC

    def __init__(self, *, power=0.0, alpha=1.0, fit_intercept=True, link="auto",
                 solver="auto", max_iter=100, tol=1e-4, warm_start=False, verbose=0,
                 solver_kwargs=None):
        super().__init__(alpha=alpha, fit_intercept=fit_intercept, solver=solver,
                         max_iter=max_iter, tol=tol, warm_start=warm_start, verbose=verbose,
                         solver_kwargs=solver_kwargs)
        self.power = power
        self.link = link

    def _power(self):
        power = self.power
        if not isinstance(power, numbers.Real) or isinstance(power, bool) or \
                0 < power < 1 or power != power:
            raise ValueError(f"power must be a number <= 0 or >= 1 (no Tweedie distribution "
                             f"has 0 < power < 1), got {power!r}")
        return float(power)

    def _family(self):
        power = self._power()
        if self.link not in _LINKS:
            raise ValueError(f"link must be one of {', '.join(map(repr, _LINKS))}, "
                             f"got {self.link!r}")
        link = self.link if self.link != "auto" else ("identity" if power <= 0 else "log")
        if power in _NAMED_POWERS:
            return get_family(_NAMED_POWERS[power], link=link)
        tweedie = type(get_family("tweedie"))   # an unknown name: get_family lists the known
        return tweedie(var_power=power, link=link)
