"""The statistics pass: every sum the results need, in one pass at the solution.

It lives with the passes, not with inference, because it is a pass: one
sweep of the chunks that returns small arrays, reduced like the
objective's. It knows nothing of covariance types: the caller says which
optional sums to make (a :class:`StatisticsRequest`, built by
:mod:`daskglm.inference.covariance` from a ``cov_type``), and inference turns
the sums into statistics.

Each chunk returns one flat vector, the sums laid out by name
(:class:`FlatLayout`); the chunks' vectors are added, and the total is read
back by the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .block_hessian import BlockHessian
from .coded import CodedMatrix
from .coded_kernels import coded_gram_and_moment
from .objective import gram_and_moment, in_row_blocks, weighted_gram

__all__ = ["FitStatistics", "FlatLayout", "StatisticsRequest", "statistics_pass"]

#: The scalar sums, in the order of :class:`FitStatistics`'s first fields.
SCALARS = ("deviance", "pearson_chi2", "rss", "llf_unit_scale", "sum_freq_log_var",
           "null_deviance", "null_rss", "null_llf_unit_scale")


@dataclass(frozen=True)
class StatisticsRequest:
    """The optional sums of a statistics pass.

    Attributes
    ----------
    meat : bool
        ``sum_i score_i score_i'`` (the heteroscedasticity-robust meat).
    observed_information : bool
        ``X' diag(fw * vw * d2 nll / d eta2) X`` (a sandwich's bread for a
        non-canonical link; otherwise the Fisher information stands in).
    n_groups : int
        With groups: each cluster's summed scores (``n_groups x n_features``).
    """

    meat: bool = False
    observed_information: bool = False
    n_groups: int = 0


@dataclass(frozen=True)
class FlatLayout:
    """Named arrays laid end to end in one flat vector (what a pass reduces).

    ``fields`` is a tuple of ``(name, shape)``; :meth:`pack` and
    :meth:`unpack` are the only places that know the offsets.
    """

    fields: tuple

    @property
    def size(self) -> int:
        return sum(int(np.prod(shape)) for _, shape in self.fields)

    def pack(self, values: dict) -> np.ndarray:
        """One flat float vector of ``values[name]`` for every field, in order."""
        parts = []
        for name, shape in self.fields:
            value = np.asarray(values[name], dtype=float)
            if value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, the layout says {shape}")
            parts.append(value.ravel())
        return np.concatenate(parts) if parts else np.empty(0)

    def unpack(self, flat) -> dict:
        """``{name: array of its shape}`` (0-d fields as Python floats)."""
        flat = np.asarray(flat, dtype=float)
        if flat.shape != (self.size,):
            raise ValueError(f"expected a flat vector of {self.size} numbers, got {flat.shape}")
        values, start = {}, 0
        for name, shape in self.fields:
            size = int(np.prod(shape))
            part = flat[start:start + size]
            values[name] = float(part[0]) if shape == () else part.reshape(shape)
            start += size
        return values


def statistics_layout(n_features, request: StatisticsRequest, information_size=None
                      ) -> FlatLayout:
    """The fields one statistics pass sums, for ``n_features`` and ``request``
    (the information as a flat block Hessian of ``information_size`` numbers
    for a coded design)."""
    p = n_features
    fields = [(name, ()) for name in SCALARS]
    information = (p, p) if information_size is None else (information_size,)
    fields += [("score", (p,)), ("information", information)]
    if request.meat:
        fields.append(("meat", (p, p)))
    if request.observed_information:
        fields.append(("observed_information", (p, p)))
    if request.n_groups:
        fields.append(("group_scores", (request.n_groups, p)))
    return FlatLayout(tuple(fields))


@dataclass(frozen=True)
class FitStatistics:
    """The sums one pass at the solution returns."""

    deviance: float
    pearson_chi2: float
    rss: float                    # sum of weighted squared response residuals
    llf_unit_scale: float         # sum fw * loglike_obs(y, mu, vw, scale=1)
    sum_freq_log_var: float       # sum fw * log(vw)
    null_deviance: float
    null_rss: float
    null_llf_unit_scale: float
    information: object           # X' diag(fw * vw * Fisher weight) X (BlockHessian if coded)
    score: np.ndarray             # X' (fw * vw * -d nll / d eta): the summed scores
    meat: np.ndarray | None = None          # sum over rows of score_i score_i', if asked
    observed_information: np.ndarray | None = None  # if asked; else the Fisher information
    group_scores: np.ndarray | None = None  # per cluster, the sum of its rows' scores

    def __post_init__(self):
        if self.observed_information is None:
            object.__setattr__(self, "observed_information", self.information)


def _statistics_chunk(X_aug, *args):
    if isinstance(X_aug, CodedMatrix):     # one sweep: a block Hessian per row block is big
        return _statistics_rows(X_aug, *args)
    return in_row_blocks(_statistics_rows, X_aug, *args)


def _scalar_sums(family, y, mu, null_mu, iw, fw, vw):
    """The scalar fields of :data:`SCALARS`, by name."""
    resid = y - mu
    return {
        "deviance": iw @ family.unit_deviance(y, mu),
        "pearson_chi2": iw @ (np.square(resid) / family.variance(mu)),
        "rss": iw @ np.square(resid),
        "llf_unit_scale": fw @ family.loglike_obs(y, mu, vw, 1.0),
        "sum_freq_log_var": fw @ np.log(vw),
        "null_deviance": iw @ family.unit_deviance(y, null_mu),
        "null_rss": iw @ np.square(y - null_mu),
        "null_llf_unit_scale": fw @ family.loglike_obs(y, null_mu, vw, 1.0),
    }


def _statistics_rows(X_aug, y, offset, weights, side, family, coef, null_coef, null_mean,
                     layout, request):
    X, fw, vw = side.split(X_aug)
    n = X.shape[0]
    iw = np.ones(n) if weights is None else weights
    fw = np.ones(n) if fw is None else fw
    vw = np.ones(n) if vw is None else vw
    eta = X.matvec(coef) if isinstance(X, CodedMatrix) else np.asarray(X @ coef)
    null_eta = None if null_coef is None else np.full(n, null_coef)
    if offset is not None:
        eta = eta + offset
        null_eta = None if null_eta is None else null_eta + offset
    with np.errstate(all="ignore"):
        mu = family.mean(eta)
        _, grad, fisher = family.derivatives(y, eta, hessian=True)
        score = -grad * iw
        null_mu = np.full(n, null_mean) if null_eta is None else family.mean(null_eta)
        sums = _scalar_sums(family, y, mu, null_mu, iw, fw, vw)
    if isinstance(X, CodedMatrix):
        sums["score"], sums["information"] = coded_gram_and_moment(X, iw * fisher, score)
    else:
        sums["information"], sums["score"] = gram_and_moment(X, iw * fisher, score)
    if request.meat:
        sums["meat"] = weighted_gram(X, np.divide(np.square(score), fw, out=np.zeros(n),
                                                  where=fw > 0))
    if request.observed_information:  # not a Gram matrix: its weights may be negative
        sums["observed_information"] = X.T @ (X * (iw * family.observed_weights(y, eta))[:, None])
    if request.n_groups:
        group_scores = np.zeros((request.n_groups, X.shape[1]))
        np.add.at(group_scores, side.group_codes(X_aug), X * score[:, None])
        sums["group_scores"] = group_scores
    return layout.pack(sums)


def statistics_pass(design, family, coef, *, null_coef=None, null_mean=None, groups=None,
                    request=StatisticsRequest()) -> FitStatistics:
    """One pass over ``design`` at ``coef``: every sum the results need.

    Parameters
    ----------
    design : daskglm.frontend.design.Design
        The rows of the fit (its ``augmented`` matrix carries the weights and
        group codes to the chunks).
    family : Family
    coef : array of shape (n_features,)
    null_coef, null_mean : float, optional
        The null model: ``mu = null_mean`` in every row, or, with an offset,
        ``mu = g^{-1}(null_coef + offset)``.
    groups : tuple, optional
        ``(codes, n_groups)`` from :func:`daskglm.frontend.design.group_codes`;
        needed when ``request.n_groups`` is set.
    request : StatisticsRequest
        The optional sums (see :func:`daskglm.inference.covariance.statistics_request`).

    Returns
    -------
    FitStatistics
    """
    codes, n_groups = (None, 0) if groups is None else groups
    if request.n_groups != n_groups:
        raise ValueError(f"the request asks for {request.n_groups} groups' scores but "
                         f"{n_groups} groups were given")
    X_aug, side = design.augmented(codes)
    coded = X_aug if isinstance(X_aug, CodedMatrix) else None
    size = None
    if coded is not None:
        if request.meat or request.observed_information or request.n_groups:
            raise ValueError("robust covariances (HC0, HC1, cluster) and the observed "
                             "information of a non-canonical link are not available yet "
                             "for a design with coded categorical terms; use "
                             "cov_type='nonrobust'")
        n_dense = coded.n_dense - (X_aug.shape[1] - design.n_features)   # side columns out
        size = BlockHessian.flat_size(n_dense, coded.n_levels)
    layout = statistics_layout(design.n_features, request, size)
    flat = design.chunked(X_aug).map_reduce(
        _statistics_chunk, side, family, np.asarray(coef, dtype=float), null_coef, null_mean,
        layout, request)
    values = layout.unpack(flat)
    if coded is not None:
        values["information"] = BlockHessian.from_flat(values["information"], n_dense,
                                                       coded.n_levels)
    return FitStatistics(**values)
