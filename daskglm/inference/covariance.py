"""Covariance types of the estimates: the one place that knows them.

Each type says what it is called (statsmodels' spelling), which
``cov_kwds`` it takes, which optional sums the statistics pass must make for
it (:meth:`CovarianceType.request`), and how its matrix is made from those
sums (:meth:`CovarianceType.matrix`). The model validates ``cov_type`` and
``cov_kwds`` here, the results take their matrix and description from here,
and the command line its choices.

To add a type (HC2, HC3, HAC, ...): write its class below and add it to
:data:`COV_TYPES`; if it needs a sum the pass does not make yet, add a field
to :class:`daskglm.passes.statistics.StatisticsRequest`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..passes.block_hessian import BlockHessian
from ..passes.statistics import FitStatistics, StatisticsRequest, leverage_meat_pass

__all__ = ["COV_TYPES", "CodedCovariance", "CovarianceType", "DENSE_COVARIANCE_LIMIT",
           "canonical_name", "check_coded_design", "check_cov_type", "complete_statistics",
           "covariance_matrix", "statistics_request"]

#: A fit with coded categorical terms builds a dense covariance matrix (its
#: ``cov_params()``, a robust sandwich) only up to this many coefficients; its
#: nonrobust standard errors and predictions come from the blocks at any size.
DENSE_COVARIANCE_LIMIT = 5000


def _inverse(matrix) -> np.ndarray:
    """The dense inverse of a dense matrix or of a BlockHessian (moderate sizes)."""
    return matrix.inverse() if isinstance(matrix, BlockHessian) else np.linalg.inv(matrix)


def _dense(matrix) -> np.ndarray:
    return matrix.dense_matrix() if isinstance(matrix, BlockHessian) else matrix


class CovarianceType:
    """A covariance of the estimates (base class).

    Attributes
    ----------
    name : str
        statsmodels' spelling (``"nonrobust"``, ``"HC0"``, ...).
    description : str
        The sentence statsmodels prints under the summary.
    options, required : frozenset
        The ``cov_kwds`` keys it takes, and those it needs.
    defaults : dict
        Values of the optional keys when not given.
    """

    name = ""
    description = ""
    options: frozenset = frozenset()
    required: frozenset = frozenset()
    defaults: dict = {}

    def check_options(self, cov_kwds) -> dict:
        """A copy of ``cov_kwds`` (a dict or None) with the defaults filled in,
        refusing keys this type does not take and missing required ones."""
        if cov_kwds is not None and not isinstance(cov_kwds, dict):
            raise TypeError(f"cov_kwds must be a dict or None, got {type(cov_kwds).__name__}")
        options = dict(cov_kwds or {})
        if not self.options:
            if options:
                raise ValueError(f"cov_type={self.name!r} takes no cov_kwds, got {sorted(options)}")
            return options
        if set(options) - self.options or not self.required <= set(options):
            needed = ", ".join(f"{key!r}: ..." for key in sorted(self.required))
            optional = ", ".join(repr(k) for k in sorted(self.options - self.required))
            raise ValueError(f"cov_type={self.name!r} needs cov_kwds={{{needed}}} (and "
                             f"optionally {optional}); got {sorted(options)}")
        return {**self.defaults, **options}

    def request(self, family, n_groups=0) -> StatisticsRequest:
        """The optional sums the statistics pass must make for this type (every
        type: the observed information of a non-canonical link, which the hat
        matrix and influence measures use)."""
        return StatisticsRequest(observed_information=not family.is_canonical)

    def matrix(self, statistics: FitStatistics, *, scale, nobs, options) -> np.ndarray:
        """The covariance matrix of the estimates from the pass's sums."""
        raise NotImplementedError


class Nonrobust(CovarianceType):
    """The inverse Fisher information times the scale."""

    name = "nonrobust"
    description = ("Standard Errors assume that the covariance matrix of the errors is "
                   "correctly specified.")

    def matrix(self, statistics, *, scale, nobs, options):
        return scale * _inverse(statistics.information)


class Sandwich(CovarianceType):
    """``bread @ meat @ bread`` with the observed information's inverse as bread
    (as statsmodels; it is the Fisher information for a canonical link)."""

    def request(self, family, n_groups=0):
        return StatisticsRequest(observed_information=not family.is_canonical)

    def matrix(self, statistics, *, scale, nobs, options):
        bread = _inverse(statistics.observed_information)
        return bread @ self.meat(statistics, nobs=nobs, options=options) @ bread

    def meat(self, statistics, *, nobs, options) -> np.ndarray:
        raise NotImplementedError


class HeteroscedasticityRobust(Sandwich):
    """White's HC0 (``HC1`` alike: statsmodels' GLM applies no small-sample factor)."""

    def __init__(self, name):
        self.name = name
        self.description = f"Standard Errors are heteroscedasticity robust ({name})"

    def request(self, family, n_groups=0):
        return StatisticsRequest(meat=True, observed_information=not family.is_canonical)

    def meat(self, statistics, *, nobs, options):
        return _dense(statistics.meat)


class LeverageRobust(Sandwich):
    """MacKinnon and White's HC2 and HC3: each row's squared score divided by
    ``(1 - h_i)`` or ``(1 - h_i)^2``, ``h_i`` the row's leverage (the hat
    matrix's diagonal under the Fisher information, as R's ``sandwich``
    does for a GLM). It costs one pass after the statistics pass, which must
    know the information first (:func:`complete_statistics`).

    statsmodels' GLM accepts these names but returns HC0's matrix; for the
    Normal family with identity link this is statsmodels' OLS HC2/HC3.
    """

    def __init__(self, name, power):
        self.name = name
        self.power = power
        self.description = f"Standard Errors are heteroscedasticity robust ({name})"

    def meat(self, statistics, *, nobs, options):
        if statistics.leverage_meat is None:
            raise ValueError(f"cov_type={self.name!r} needs the leverage pass "
                             "(covariance.complete_statistics) after the statistics pass")
        return statistics.leverage_meat


class ClusterRobust(Sandwich):
    """One-way cluster-robust, with statsmodels' small-sample correction by default."""

    name = "cluster"
    description = "Standard Errors are robust to cluster correlation (cluster)"
    options = frozenset({"groups", "use_correction"})
    required = frozenset({"groups"})
    defaults = {"use_correction": True}

    def request(self, family, n_groups=0):
        return StatisticsRequest(observed_information=not family.is_canonical,
                                 n_groups=n_groups)

    def meat(self, statistics, *, nobs, options):
        scores = statistics.group_scores
        meat = scores.T @ scores
        if options["use_correction"]:
            n_groups, k = scores.shape
            meat = meat * (n_groups / (n_groups - 1.0) * (nobs - 1.0) / (nobs - k))
        return meat


#: The known covariance types, by statsmodels' name.
COV_TYPES = {cov.name: cov for cov in (Nonrobust(), HeteroscedasticityRobust("HC0"),
                                       HeteroscedasticityRobust("HC1"), ClusterRobust(),
                                       LeverageRobust("HC2", 1), LeverageRobust("HC3", 2))}


def canonical_name(cov_type) -> str:
    """statsmodels' spelling of ``cov_type`` (``HC...`` upper case, others lower case);
    unknown names are returned as spelled, for :func:`check_cov_type` to refuse."""
    if not isinstance(cov_type, str):
        raise TypeError(f"cov_type must be a string, got {cov_type!r}")
    return cov_type.upper() if cov_type.upper().startswith("HC") else cov_type.lower()


def check_cov_type(cov_type, cov_kwds=None):
    """``(name, options)``: the type in statsmodels' spelling and a copy of ``cov_kwds``.

    Raises
    ------
    TypeError
        For a ``cov_type`` that is not a string, or ``cov_kwds`` not a dict.
    ValueError
        For an unknown type, or ``cov_kwds`` the type does not take or lacks.
    """
    name = canonical_name(cov_type)
    if name not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {', '.join(COV_TYPES)}; got {cov_type!r}")
    return name, COV_TYPES[name].check_options(cov_kwds)


def check_coded_design(cov_type, n_features):
    """Refuse, before any pass, a ``cov_type`` (a checked name) that a design with
    coded categorical terms of ``n_features`` coefficients cannot have: HC2 and
    HC3 (their leverage pass reads dense rows), and a sandwich above
    :data:`DENSE_COVARIANCE_LIMIT` coefficients (its ``p x p`` bread and meat)."""
    if isinstance(COV_TYPES[cov_type], LeverageRobust):
        raise ValueError(f"cov_type={cov_type!r} is not available for a design with coded "
                         "categorical terms (its leverage pass needs dense rows); use "
                         "'HC0', 'HC1', 'cluster' or 'nonrobust'")
    if cov_type != "nonrobust" and n_features > DENSE_COVARIANCE_LIMIT:
        raise ValueError(
            f"cov_type={cov_type!r} builds a dense {n_features} x {n_features} sandwich for "
            f"this design with coded categorical terms; above {DENSE_COVARIANCE_LIMIT} "
            "coefficients only cov_type='nonrobust' is available (its standard errors and "
            "predictions come from the information's blocks)")


def statistics_request(cov_type, family, n_groups=0) -> StatisticsRequest:
    """What the statistics pass must sum for ``cov_type`` (a checked name)."""
    return COV_TYPES[cov_type].request(family, n_groups)


def complete_statistics(cov_type, design, family, coef, statistics) -> FitStatistics:
    """``statistics`` with what ``cov_type`` needs beyond the statistics pass:
    for HC2 and HC3 the leverage-weighted meat (one more pass); else unchanged."""
    kind = COV_TYPES[cov_type]
    if not isinstance(kind, LeverageRobust):
        return statistics
    meat = leverage_meat_pass(design, family, coef, statistics.information, kind.power)
    return replace(statistics, leverage_meat=meat)


def covariance_matrix(cov_type, statistics, *, scale, nobs, options=None) -> np.ndarray:
    """The covariance of the estimates of type ``cov_type`` (a checked name)."""
    return COV_TYPES[cov_type].matrix(statistics, scale=scale, nobs=nobs,
                                      options=dict(options or {}))


class CodedCovariance:
    """The covariance of a coded fit's estimates, as prediction needs it: each
    row's variance ``x' C x`` of its linear predictor, from the row's dense
    values and codes (no dummy columns), in the fit's layout
    ``[dense..., coded terms...]``.

    Parameters
    ----------
    information : BlockHessian, optional
        With ``scale``: ``C = scale * information^-1``, never formed (any size).
    scale : float
    matrix : array of shape (p, p), optional
        ``C`` itself, dense, in the fit's layout (a sandwich, a saved matrix).

    Without either, ``C`` is unknown (a penalized fit) and every variance NaN.
    """

    def __init__(self, information=None, scale=1.0, matrix=None):
        if information is not None and matrix is not None:
            raise ValueError("give the information or the matrix, not both")
        if information is not None:
            information.factor()         # once, here, not per chunk
        self.information = information
        self.scale = float(scale)
        self.matrix = None if matrix is None else np.asarray(matrix, dtype=float)

    def row_variance(self, coded) -> np.ndarray:
        """``x_i' C x_i`` for every row of ``coded`` (an in-memory CodedMatrix)."""
        if self.information is not None:
            return self.scale * self.information.inverse_row_forms(coded)
        if self.matrix is not None:
            return coded.row_quadratic_forms(self.matrix)
        return np.full(coded.shape[0], np.nan)
