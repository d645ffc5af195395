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

The few statistics that need the information matrix before they can sweep
the rows get one more pass each, here too: the log-likelihood at a given
scale (:func:`loglike_pass`), the leverage-weighted meat of HC2/HC3
(:func:`leverage_meat_pass`) and the score and information of a model
extended by candidate columns (:func:`score_pass`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .block_hessian import BlockHessian
from .coded import CodedMatrix, level_starts
from .coded_kernels import coded_gram_and_moment
from .objective import gram_and_moment, in_row_blocks, weighted_gram

__all__ = ["FitStatistics", "FlatLayout", "StatisticsRequest", "leverage", "leverage_meat_pass",
           "loglike_pass", "null_means", "row_weights", "score_pass", "statistics_pass"]

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


#: The fields of a coded design's pass that hold a flat block Hessian.
BLOCK_FIELDS = ("information", "meat", "observed_information")


def statistics_layout(n_features, request: StatisticsRequest, information_size=None
                      ) -> FlatLayout:
    """The fields one statistics pass sums, for ``n_features`` and ``request``
    (the ``p x p`` matrices of :data:`BLOCK_FIELDS` as flat block Hessians of
    ``information_size`` numbers for a coded design)."""
    p = n_features
    fields = [(name, ()) for name in SCALARS]
    matrix = (p, p) if information_size is None else (information_size,)
    fields += [("score", (p,)), ("information", matrix)]
    if request.meat:
        fields.append(("meat", matrix))
    if request.observed_information:
        fields.append(("observed_information", matrix))
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
    # the p x p matrices are BlockHessians for a coded design
    information: object           # X' diag(fw * vw * Fisher weight) X
    score: np.ndarray             # X' (fw * vw * -d nll / d eta): the summed scores
    meat: object = None           # sum over rows of score_i score_i', if asked
    observed_information: object = None  # if asked; else the Fisher information
    group_scores: np.ndarray | None = None  # per cluster, the sum of its rows' scores
    #: sum of score_i score_i' / (fw_i (1 - h_i)^power), from :func:`leverage_meat_pass`
    leverage_meat: np.ndarray | None = None
    #: the null model the null sums were taken at (see :func:`statistics_pass`)
    null_coef: float | None = None
    null_mean: float | None = None

    def __post_init__(self):
        if self.observed_information is None:
            object.__setattr__(self, "observed_information", self.information)


def _statistics_chunk(X_aug, *args):
    if isinstance(X_aug, CodedMatrix):     # one sweep: a block Hessian per row block is big
        return _statistics_rows(X_aug, *args)
    return in_row_blocks(_statistics_rows, X_aug, *args)


def _loglike(family, y, mu, fw, vw, trials, scale):
    """``sum fw * loglike_obs``: with binomial trials (``vw`` then holds
    ``var_weights * trials``), the binomial log-likelihood of the counts."""
    if trials is None:
        return fw @ family.loglike_obs(y, mu, vw, scale)
    return fw @ family.loglike_obs(y, mu, vw / trials, scale, n_trials=trials)


def _scalar_sums(family, y, mu, null_mu, iw, fw, vw, trials):
    """The scalar fields of :data:`SCALARS`, by name."""
    resid = y - mu
    return {
        "deviance": iw @ family.unit_deviance(y, mu),
        "pearson_chi2": iw @ (np.square(resid) / family.variance(mu)),
        "rss": iw @ np.square(resid),
        "llf_unit_scale": _loglike(family, y, mu, fw, vw, trials, 1.0),
        "sum_freq_log_var": fw @ np.log(vw),
        "null_deviance": iw @ family.unit_deviance(y, null_mu),
        "null_rss": iw @ np.square(y - null_mu),
        "null_llf_unit_scale": _loglike(family, y, null_mu, fw, vw, trials, 1.0),
    }


def row_weights(X_aug, offset, weights, side, coef):
    """``(X, iw, fw, vw, eta)`` of one chunk of the augmented design: the
    regressors, the solver's, frequency and variance weights (ones where
    absent; the variance weights include a binomial response's trials) and
    the linear predictor at ``coef`` (offset included)."""
    X, fw, vw = side.split(X_aug)
    n = X.shape[0]
    iw = np.ones(n) if weights is None else weights
    fw = np.ones(n) if fw is None else fw
    vw = np.ones(n) if vw is None else vw
    eta = X.matvec(coef) if isinstance(X, CodedMatrix) else np.asarray(X @ coef)
    if offset is not None:
        eta = eta + offset
    return X, iw, fw, vw, eta


def null_means(family, n, offset, null_coef, null_mean):
    """The null model's mean in each of ``n`` rows: ``null_mean``, or with an
    offset ``g^{-1}(null_coef + offset)``."""
    if null_coef is None:
        return np.full(n, null_mean)
    null_eta = np.full(n, null_coef)
    if offset is not None:
        null_eta = null_eta + offset
    return family.mean(null_eta)


def _statistics_rows(X_aug, y, offset, weights, side, family, coef, null_coef, null_mean,
                     layout, request):
    X, iw, fw, vw, eta = row_weights(X_aug, offset, weights, side, coef)
    n = X.shape[0]
    with np.errstate(all="ignore"):
        mu = family.mean(eta)
        _, grad, fisher = family.derivatives(y, eta, hessian=True)
        score = -grad * iw
        null_mu = null_means(family, n, offset, null_coef, null_mean)
        sums = _scalar_sums(family, y, mu, null_mu, iw, fw, vw, side.trials(X_aug))
    if isinstance(X, CodedMatrix):
        sums["score"], sums["information"] = coded_gram_and_moment(X, iw * fisher, score)
    else:
        sums["information"], sums["score"] = gram_and_moment(X, iw * fisher, score)
    if request.meat:
        sums["meat"] = _gram(X, np.divide(np.square(score), fw, out=np.zeros(n), where=fw > 0))
    if request.observed_information:  # not a Gram matrix: its weights may be negative
        sums["observed_information"] = _gram(X, iw * family.observed_weights(y, eta))
    if request.n_groups:
        sums["group_scores"] = _group_scores(X, score, side.group_codes(X_aug), request.n_groups)
    return layout.pack(sums)


def _gram(X, weights):
    """``X' diag(weights) X`` of a chunk: dense, or a flat block Hessian for a coded chunk
    (any sign of weights)."""
    if isinstance(X, CodedMatrix):
        return coded_gram_and_moment(X, weights, np.zeros(X.shape[0]))[1]
    return X.T @ (X * weights[:, None])


def _group_scores(X, score, groups, n_groups):
    """``(n_groups, p)``: the sum of ``score_i x_i`` over each group's rows (a coded
    chunk's levels are binned by code, never expanded)."""
    if not isinstance(X, CodedMatrix):
        out = np.zeros((n_groups, X.shape[1]))
        np.add.at(out, groups, X * score[:, None])
        return out
    p = X.shape[1]
    dense = np.asarray(X.dense, dtype=float)
    out = np.zeros((n_groups, p))
    np.add.at(out[:, :X.n_dense], groups, dense * score[:, None])
    columns = X.n_dense + level_starts(X.n_levels)
    for t in range(len(X.n_levels)):
        codes = np.asarray(X.codes[:, t])
        present = codes >= 0
        cells = groups[present] * p + columns[t] + codes[present]
        out += np.bincount(cells, weights=score[present], minlength=n_groups * p
                           ).reshape(n_groups, p)
    return out


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
        n_dense = coded.n_dense - (X_aug.shape[1] - design.n_features)   # side columns out
        size = BlockHessian.flat_size(n_dense, coded.n_levels)
    layout = statistics_layout(design.n_features, request, size)
    flat = design.chunked(X_aug).map_reduce(
        _statistics_chunk, side, family, np.asarray(coef, dtype=float), null_coef, null_mean,
        layout, request)
    values = layout.unpack(flat)
    values.update(null_coef=null_coef, null_mean=null_mean)
    if coded is not None:
        for name in BLOCK_FIELDS:
            if name in values:
                values[name] = BlockHessian.from_flat(values[name], n_dense, coded.n_levels)
    return FitStatistics(**values)


def _loglike_chunk(X_aug, y, offset, weights, side, family, coef, scale, null_model):
    def rows(X_aug, y, offset, weights):
        X, _, fw, vw, eta = row_weights(X_aug, offset, weights, side, coef)
        with np.errstate(all="ignore"):
            trials = side.trials(X_aug)
            sums = [_loglike(family, y, family.mean(eta), fw, vw, trials, scale)]
            if null_model is not None:
                null_mu = null_means(family, eta.shape[0], offset, *null_model)
                sums.append(_loglike(family, y, null_mu, fw, vw, trials, scale))
        return np.array(sums)
    return in_row_blocks(rows, X_aug, y, offset, weights)


def loglike_pass(design, family, coef, scale, *, null_coef=None, null_mean=None):
    """One pass: the log-likelihood ``sum fw * loglike_obs(y, mu, vw, scale)`` at ``coef``.

    With ``null_coef`` or ``null_mean`` (as for :func:`statistics_pass`) the
    same pass also gives the null model's: the pair ``(llf, llnull)`` is
    returned; else the float ``llf``.
    """
    X_aug, side = design.augmented()
    with_null = null_coef is not None or null_mean is not None
    flat = design.chunked(X_aug).map_reduce(
        _loglike_chunk, side, family, np.asarray(coef, dtype=float), float(scale),
        (null_coef, null_mean) if with_null else None)
    return (float(flat[0]), float(flat[1])) if with_null else float(flat[0])


def leverage(X, weight, information_inverse):
    """The hat matrix's diagonal ``h_i = w_i x_i' I^{-1} x_i`` for the rows of ``X``
    (a chunk), with ``w`` the rows' information weights."""
    return weight * np.einsum("ij,ij->i", X @ information_inverse, X)


def _leverage_meat_chunk(X_aug, y, offset, weights, side, family, coef, information_inverse,
                         power):
    def rows(X_aug, y, offset, weights):
        X, iw, fw, _, eta = row_weights(X_aug, offset, weights, side, coef)
        with np.errstate(all="ignore"):
            _, grad, fisher = family.derivatives(y, eta, hessian=True)
        hat = leverage(X, iw * fisher, information_inverse)
        factor = np.divide(np.square(grad * iw), fw * (1.0 - hat) ** power,
                           out=np.zeros(X.shape[0]), where=fw > 0)
        return weighted_gram(X, factor).ravel()
    return in_row_blocks(rows, X_aug, y, offset, weights)


def leverage_meat_pass(design, family, coef, information, power) -> np.ndarray:
    """One pass: ``sum_i score_i score_i' / (fw_i (1 - h_i)^power)``, the meat of
    MacKinnon and White's HC2 (``power=1``) and HC3 (``power=2``) sandwiches,
    with ``h_i`` the leverage under the Fisher ``information`` (known from the
    statistics pass)."""
    X_aug, side = design.augmented()
    p = design.n_features
    flat = design.chunked(X_aug).map_reduce(
        _leverage_meat_chunk, side, family, np.asarray(coef, dtype=float),
        np.linalg.inv(information), float(power))
    return flat.reshape(p, p)


def _score_chunk(X_aug, y, offset, weights, side, family, coef, n_extra, observed, layout):
    def rows(X_aug, y, offset, weights):
        _, iw, _, _, eta = row_weights(X_aug, offset, weights, side, coef)
        X = side.split(X_aug)[0]
        if n_extra:
            X = np.concatenate([X, X_aug[:, X_aug.shape[1] - n_extra:]], axis=1)
        with np.errstate(all="ignore"):
            _, grad, fisher = family.derivatives(y, eta, hessian=True)
            weight = family.observed_weights(y, eta) if observed else fisher
        score_factor = -grad * iw
        sums = {"score": X.T @ score_factor,
                "information": X.T @ (X * (iw * weight)[:, None]),
                "outer": weighted_gram(X, np.square(score_factor))}
        return layout.pack(sums)
    return in_row_blocks(rows, X_aug, y, offset, weights)


def score_pass(design, family, coef, *, exog_extra=None, observed=True) -> dict:
    """One pass at ``coef``: the score, information and outer product of the
    scores of the model extended by the columns ``exog_extra``.

    Parameters
    ----------
    design : Design
    family : Family
    coef : array of shape (n_features,)
        The (restricted) estimate; the extra columns' coefficients are 0.
    exog_extra : array of shape (n_rows, k), optional
        Chunked as the design's rows (dask) or in memory, as the design.
    observed : bool
        The observed information's weights (else Fisher's).

    Returns
    -------
    dict
        ``score`` (q,), ``information`` (q, q) and ``outer`` (q, q), the sum of
        the rows' score outer products, with ``q = n_features + k``, at unit scale.
    """
    X_aug, side = design.augmented()
    n_extra = 0 if exog_extra is None else exog_extra.shape[1]
    if n_extra:
        stack = np.concatenate if isinstance(X_aug, np.ndarray) else _dask_concatenate
        X_aug = stack([X_aug, exog_extra], axis=1)
    q = design.n_features + n_extra
    layout = FlatLayout((("score", (q,)), ("information", (q, q)), ("outer", (q, q))))
    flat = design.chunked(X_aug).map_reduce(
        _score_chunk, side, family, np.asarray(coef, dtype=float), n_extra, bool(observed),
        layout)
    return layout.unpack(flat)


def _dask_concatenate(arrays, axis):
    import dask.array as da

    return da.concatenate(arrays, axis=axis).rechunk({1: -1})
