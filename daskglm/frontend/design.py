"""The rows a GLM is fitted on: design matrix, response, offset and weights.

:class:`Design` holds them aligned by rows (numpy, or dask arrays with the
same known row chunks), from arrays (statsmodels' ``GLM(endog, exog, ...)``)
or from a learned formula. It is persisted at most once and then shared by
the solver and the inference pass.

Two one-pass reductions read it before any solver runs (:func:`data_facts`):
the weighted Gram matrix ``X' W X`` (which finds a rank-deficient design
and names its collinear columns), the weighted mean of ``y`` (the null
model's mean without offset), the total frequency weight, and the column
variances that tell a constant column (the intercept) in an unnamed array.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd

from ..messages import listing
from ..passes.block_hessian import BlockHessian
from ..passes.chunked import (
    ChunkedData,
    ColumnScaleError,
    balance_row_chunks,
    column_scale_message,
    should_persist,
)
from ..passes.coded import CodedMatrix
from ..passes.coded_kernels import coded_gram_and_moment
from .prediction import log_exposure
from .recipe import complete_rows
from .trials import response_names, split_trials

__all__ = ["Design", "DataFacts", "array_design", "formula_design", "data_facts", "group_codes"]

ROLES = ("offset", "exposure", "freq_weights", "var_weights")


@dataclass(frozen=True)
class SideLayout:
    """Where the per-row side columns sit in the augmented matrix
    ``[X | freq_weights | variance weights | trials | group codes]`` (absent
    ones: None). The variance weights are ``var_weights`` times the binomial
    trials of a two-column response (:attr:`Design.variance_weights`)."""

    n_features: int
    freq_column: int | None = None
    var_column: int | None = None
    trials_column: int | None = None
    group_column: int | None = None

    def split(self, X_aug):
        """``(X, freq_weights, var_weights)`` of one chunk (None where absent)."""
        def column(index):
            return None if index is None else X_aug[:, index]

        if isinstance(X_aug, CodedMatrix):
            X = X_aug.with_parts(X_aug.dense[:, :self.n_features], X_aug.codes)
            X_aug = X_aug.dense
        else:
            X = X_aug[:, :self.n_features]
        return X, column(self.freq_column), column(self.var_column)

    def group_codes(self, X_aug):
        X_aug = X_aug.dense if isinstance(X_aug, CodedMatrix) else X_aug
        return X_aug[:, self.group_column].astype(np.intp)

    def trials(self, X_aug):
        """The binomial trials of one chunk's rows (None for a one-column response)."""
        if self.trials_column is None:
            return None
        X_aug = X_aug.dense if isinstance(X_aug, CodedMatrix) else X_aug
        return X_aug[:, self.trials_column]


@dataclass
class Design:
    """Row-aligned arrays of a model (all numpy, or all dask with equal row chunks).

    ``offset`` is the total offset (offset plus log exposure); ``has_offset``
    says whether either was given (statsmodels then fits the null model with
    it). ``exog_names`` and ``intercept`` are ``None`` for unnamed arrays
    until :func:`data_facts` has seen the columns.

    With coded terms (``coded``, a
    :class:`~daskglm.frontend.formula_blocks.CodedLayout`), ``X`` holds the
    dense columns and ``codes`` the terms' integer codes; the fit's
    coefficients are in the layout ``[dense..., coded terms...]``
    (``intercept`` is a position in it), while ``exog_names`` stay in patsy's
    order, in which the results are reported.

    A two-column binomial response (successes, failures) is held as the
    proportion ``y`` and its ``n_trials`` (statsmodels' ``n_trials``), with
    the columns' names in ``trials_names``.
    """

    X: object
    y: object
    offset: object = None
    freq_weights: object = None
    var_weights: object = None
    endog_name: str = "y"
    exog_names: list | None = None
    intercept: int | None = None
    has_offset: bool = False
    formula: object = None
    codes: object = None
    coded: object = None
    n_trials: object = None
    trials_names: tuple | None = None

    @property
    def is_dask(self) -> bool:
        return isinstance(self.X, da.Array)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        coded = 0 if self.coded is None else sum(self.coded.n_levels)
        return int(self.X.shape[1]) + coded

    @property
    def fit_X(self):
        """The design the solvers take: ``X``, or a CodedMatrix with the codes."""
        return self.X if self.coded is None else CodedMatrix(self.X, self.codes,
                                                             self.coded.n_levels)

    @property
    def fit_names(self) -> list:
        """``exog_names`` in the order of the fit's coefficients."""
        if self.coded is None:
            return list(self.exog_names)
        return [self.exog_names[i] for i in self.coded.order]

    def to_patsy(self, coef) -> np.ndarray:
        """The fit's coefficients in ``exog_names``' order."""
        return np.asarray(coef) if self.coded is None else self.coded.to_patsy(coef)

    @property
    def variance_weights(self):
        """Each row's variance weight: ``var_weights`` times the binomial trials
        (statsmodels divides a row's variance by both), None when neither."""
        return _product(self.var_weights, self.n_trials)

    @property
    def weights(self):
        """The solver's weights, ``freq_weights * variance_weights`` (None when neither)."""
        return _product(self.freq_weights, self.variance_weights)

    def augmented(self, group_codes=None):
        """``(X_aug, layout)``: X with the frequency and variance weights (and
        cluster codes, when given) appended, for kernels that need them apart
        (one matrix travels per chunk)."""
        p = int(self.X.shape[1])
        side, positions = [], {}
        for name, values in (("freq_column", self.freq_weights),
                             ("var_column", self.variance_weights),
                             ("trials_column", self.n_trials), ("group_column", group_codes)):
            if values is not None:
                positions[name] = p + len(side)
                side.append(values)
        layout = SideLayout(p, **positions)
        if not side:
            return self.fit_X, layout
        stack = da.concatenate if self.is_dask else np.concatenate
        X_aug = stack([self.X] + [values[:, None] for values in side], axis=1)
        X_aug = X_aug.rechunk({1: -1}) if self.is_dask else X_aug
        if self.coded is not None:
            X_aug = CodedMatrix(X_aug, self.codes, self.coded.n_levels)
        return X_aug, layout

    def persisted(self, persist="auto") -> Design:
        """The design with its dask arrays persisted (once), per ``persist``."""
        if not self.is_dask:
            return self
        names = ("X", "y", "offset", "freq_weights", "var_weights", "codes", "n_trials")
        arrays = [getattr(self, name) for name in names]
        if not should_persist(persist, arrays):
            return self
        present = balance_row_chunks([a for a in arrays if a is not None])
        done = iter(dask.persist(*present))
        values = {name: (None if a is None else next(done)) for name, a in zip(names, arrays)}
        return replace(self, **values)

    def chunked(self, X=None) -> ChunkedData:
        """A :class:`ChunkedData` over the (already persisted) arrays."""
        return ChunkedData(self.fit_X if X is None else X, self.y, self.offset, self.weights,
                           persist=False)


def _product(first, second):
    """``first * second``, or the one given, or None."""
    if first is None or second is None:
        return first if second is None else second
    return first * second


# -- arrays --------------------------------------------------------------------
def _as_array(values, name, *, two_d=False):
    """numpy/dask array from numpy, pandas, dask or lists; plus column names if any."""
    names = None
    if isinstance(values, dd.DataFrame):
        names = [str(c) for c in values.columns]
        values = values.to_dask_array(lengths=True)
    elif isinstance(values, dd.Series):
        values = values.to_dask_array(lengths=True)
    elif isinstance(values, pd.DataFrame):
        names = [str(c) for c in values.columns]
        values = values.to_numpy()
    elif isinstance(values, pd.Series):
        values = values.to_numpy()
    elif not isinstance(values, da.Array):
        values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {values.dtype}")
    values = values.astype(float)
    if isinstance(values, da.Array) and any(np.isnan(c) for c in values.chunks[0]):
        values = values.compute_chunk_sizes()
    if two_d and values.ndim == 1:
        values = values[:, None]
    if two_d and values.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional, got shape {values.shape}")
    if not two_d:
        if values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        if values.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {values.shape}")
    return values, names


def _align(arrays, n_rows):
    """All arrays dask with the row chunks of the first dask one (or all numpy)."""
    present = {k: v for k, v in arrays.items() if v is not None}
    for name, values in present.items():
        if values.shape[0] != n_rows:
            raise ValueError(f"{name} has {values.shape[0]} rows but exog has {n_rows}; "
                             "they must match")
    dask_ones = [v for v in present.values() if isinstance(v, da.Array)]
    if not dask_ones:
        return arrays
    rows = dask_ones[0].chunks[0]
    out = {}
    for name, values in arrays.items():
        if values is None:
            out[name] = None
        elif not isinstance(values, da.Array):
            chunks = (rows,) + ((-1,) if values.ndim == 2 else ())
            out[name] = da.from_array(values, chunks=chunks)
        else:
            chunks = (rows,) + ((-1,) if values.ndim == 2 else ())
            out[name] = values.rechunk(chunks)
    return out


def _drop_incomplete(arrays):
    """Keep the rows finite in every array (statsmodels' ``missing="drop"``)."""
    keep = None
    for values in arrays.values():
        if values is None:
            continue
        finite = np.isfinite(values)
        finite = finite.all(axis=1) if values.ndim == 2 else finite
        keep = finite if keep is None else keep & finite
    if not isinstance(keep, da.Array):
        return {k: (None if v is None else v[keep]) for k, v in arrays.items()}
    keep = keep.persist()
    counts = tuple(int(n) for n in keep.map_blocks(
        lambda block: np.array([block.sum()]), chunks=((1,) * keep.numblocks[0],)).compute())
    out = {}
    for name, values in arrays.items():
        if values is None:
            out[name] = None
        elif values.ndim == 1:
            out[name] = da.map_blocks(_take_rows, values, keep, chunks=(counts,), dtype=float)
        else:
            out[name] = da.map_blocks(_take_rows, values, keep[:, None],
                                      chunks=(counts, values.shape[1]), dtype=float)
    return out


def _take_rows(block, keep):
    return block[keep.reshape(-1)]


def _total_offset(offset, log_exposure):
    if offset is None:
        return log_exposure
    return offset if log_exposure is None else offset + log_exposure


def array_design(endog, exog, *, family, offset=None, exposure=None, freq_weights=None,
                 var_weights=None, missing="none") -> Design:
    """A :class:`Design` from arrays, statsmodels' ``GLM(endog, exog, ...)`` style.

    ``endog`` has one column, or two (successes, failures) for a family
    that ``takes_trials`` (:func:`daskglm.frontend.trials.split_trials`).
    ``missing="drop"`` drops rows with a NaN or infinite value in any of the
    arrays; ``"none"`` and ``"raise"`` leave them to be refused by the first
    pass over the data.
    """
    if missing not in ("none", "drop", "raise"):
        raise ValueError(f"missing must be 'none', 'drop' or 'raise', got {missing!r}")
    X, exog_names = _as_array(exog, "exog", two_d=True)
    y, endog_columns = _as_array(endog, "endog", two_d=True)
    endog_name = endog.name if isinstance(endog, (pd.Series, dd.Series)) and \
        endog.name is not None else "y"
    given = {"offset": offset, "exposure": exposure, "freq_weights": freq_weights,
             "var_weights": var_weights}
    arrays = {"X": X, "y": y}
    for role, values in given.items():
        arrays[role] = None if values is None else _as_array(values, role)[0]
    arrays = _align(arrays, X.shape[0])
    if missing == "drop":
        arrays = _drop_incomplete(arrays)
    logged = None if arrays["exposure"] is None else log_exposure(arrays["exposure"])
    names = response_names(endog_columns, int(y.shape[1]))
    y, n_trials = split_trials(arrays["y"], names, family)
    return Design(
        X=arrays["X"], y=y,
        offset=_total_offset(arrays["offset"], logged),
        freq_weights=arrays["freq_weights"], var_weights=arrays["var_weights"],
        endog_name=str(endog_name) if n_trials is None else str(names),
        exog_names=exog_names,
        has_offset=offset is not None or exposure is not None,
        n_trials=n_trials, trials_names=None if n_trials is None else tuple(names),
    )


def formula_design(formula_design_, family) -> Design:
    """A :class:`Design` from a learned formula (lazy, known chunks); a
    two-column left-hand side is a (successes, failures) response."""
    parts = formula_design_.design()
    log_exposure = parts.get("exposure")
    coded = formula_design_.coded
    intercept = formula_design_.intercept_index
    names = formula_design_.endog_names
    y, n_trials = split_trials(parts["y"], names, family)
    return Design(
        X=parts["X"], y=y, n_trials=n_trials,
        trials_names=None if n_trials is None else tuple(names),
        offset=_total_offset(parts.get("offset"), log_exposure),
        freq_weights=parts.get("freq_weights"), var_weights=parts.get("var_weights"),
        endog_name=formula_design_.endog_name, exog_names=list(formula_design_.exog_names),
        intercept=intercept if coded is None else coded.layout_index(intercept),
        has_offset="offset" in parts or "exposure" in parts,
        formula=formula_design_, codes=parts.get("codes"), coded=coded,
    )


# -- what one pass tells before fitting ----------------------------------------------
@dataclass(frozen=True)
class DataFacts:
    """What the pass before fitting learns (see :func:`data_facts`)."""

    n_rows: int
    sum_freq_weights: float       # statsmodels' wnobs
    sum_weights: float            # sum of freq_weights * var_weights
    weighted_mean_y: float        # the null model's mean without offset
    weighted_var_y: float         # y's weighted variance (the stopping rule's unit)
    gram: object                  # X' diag(freq * var weights) X (a BlockHessian if coded)
    constant: np.ndarray          # which columns hold one non-zero value in every row

    @property
    def intercept(self):
        """Index of the first constant column (statsmodels' ``const``), or None."""
        found = np.flatnonzero(self.constant)
        return int(found[0]) if found.size else None


def _facts_chunk(X_aug, y, offset, weights, layout):
    X, fw, vw = layout.split(X_aug)
    n = X.shape[0]
    w = np.ones(n) if weights is None else weights
    negative = sum(int(np.count_nonzero(v < 0)) for v in (fw, vw) if v is not None)
    if isinstance(X, CodedMatrix):
        gram = coded_gram_and_moment(X, w, np.zeros(n))[1]
        X = X.dense
    else:
        Xw = X * np.sqrt(w)[:, None]
        with np.errstate(over="ignore", invalid="ignore"):   # refused by the checks
            gram = (Xw.T @ Xw).ravel()
    with np.errstate(over="ignore"):
        squares = np.square(X).sum(axis=0)
    with np.errstate(over="ignore"):
        sum_wy2 = float(w @ (y * y))
    return np.concatenate([
        [float(n if fw is None else fw.sum()), float(w @ y), float(negative), sum_wy2],
        X.sum(axis=0), squares, gram,
    ])


def data_facts(design: Design, in_domain=None, domain_error=None) -> DataFacts:
    """One pass: validate the data and learn :class:`DataFacts`.

    Raises ``ValueError`` for NaN/inf values, negative weights, or a
    response outside the family's domain (``in_domain``).
    """
    X_aug, layout = design.augmented()
    data = ChunkedData(X_aug, design.y, design.offset, design.weights,
                       in_domain=in_domain, domain_error=domain_error, persist=False)
    try:
        flat = data.map_reduce(_facts_chunk, layout)
    except ColumnScaleError as error:
        if design.exog_names is None:
            raise
        raise ColumnScaleError(column_scale_message(_column_labels_of(design, error.positions)),
                               error.positions) from None
    p = int(design.X.shape[1])          # the dense columns
    sum_fw, sum_wy, negative, sum_wy2 = flat[:4]
    if negative:
        raise ValueError(f"freq_weights and var_weights must be >= 0; {int(negative)} "
                         "value(s) are negative")
    n = data.stats.n_rows
    mean = flat[4:4 + p] / n
    mean_square = flat[4 + p:4 + 2 * p] / n
    spread = mean_square - np.square(mean)
    sum_w = data.stats.sum_weights
    constant = (mean_square > 0) & (spread <= 1e-12 * mean_square)
    if design.coded is None:
        gram = flat[4 + 2 * p:].reshape(p, p)
    else:
        gram = BlockHessian.from_flat(flat[4 + 2 * p:], p, design.coded.n_levels)
        constant = np.concatenate([constant, np.zeros(design.n_features - p, dtype=bool)])
    return DataFacts(
        n_rows=n, sum_freq_weights=float(sum_fw), sum_weights=float(sum_w),
        weighted_mean_y=float(sum_wy / sum_w),
        weighted_var_y=float(max(sum_wy2 / sum_w - (sum_wy / sum_w) ** 2, 0.0)),
        gram=gram, constant=constant,
    )


def _column_labels_of(design, positions) -> list:
    """Names of the columns of :meth:`Design.augmented` at ``positions``: the
    design's (in the fit's order), then the weights appended after them."""
    names = design.fit_names
    n_dense = int(design.X.shape[1])
    side = [name for name, values in (("freq_weights", design.freq_weights),
                                      ("var_weights", design.var_weights))
            if values is not None]
    labels = []
    for position in positions:
        if position < n_dense:
            labels.append(names[position])
        elif position < n_dense + len(side):
            labels.append(side[position - n_dense])
        else:
            labels.append(names[position - len(side)])
    return labels


def group_codes(groups, design, data=None):
    """``(codes, n_groups)``: cluster labels aligned with the design's rows as
    integer codes (float, chunked like the rows), and how many clusters.

    ``groups`` holds one label per row the model uses (array, pandas or dask),
    or names a column of ``data``, the formula model's frame: then the rows
    the formula dropped (missing values) are dropped from the labels alike.
    A dask Series or column may be partitioned in any way (dask may fuse
    the partitions of a projection of the frame): the labels are cut from
    the partitions they are read from and realigned with the design's rows.
    """
    values, levels = groups, None
    if isinstance(values, str):
        values, levels = _column_labels(values, design, data)
    elif isinstance(values, dd.Series):
        values, levels = _labels_in_blocks(values.to_delayed(), _series_labels)
    elif isinstance(values, (pd.Series, pd.Index)):
        values = values.to_numpy()
    elif not isinstance(values, da.Array):
        values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != design.n_rows:
        raise ValueError(
            f"groups must hold one label per row the model uses ({design.n_rows}), got shape "
            f"{values.shape}; rows with missing values were dropped from the model")
    if isinstance(values, da.Array):
        if levels is None:
            levels = np.unique(da.unique(values).compute())
        values = values.rechunk((design.X.chunks[0],)) if design.is_dask else values.compute()
    else:
        levels = np.unique(values)
    if pd.isna(levels).any():
        raise ValueError("groups contain missing values")
    if isinstance(values, da.Array):
        codes = values.map_blocks(_codes_of, levels, dtype=float)
    else:
        codes = _codes_of(values, levels)
        if design.is_dask:
            codes = da.from_array(codes, chunks=(design.X.chunks[0],))
    return codes, len(levels)


def _column_labels(column, design, data):
    """The labels of ``data[column]`` in the rows the formula design keeps."""
    if design.formula is None or data is None:
        raise ValueError(f"groups={column!r} names a column, which needs a formula model "
                         "(daskglm.glm); pass the labels themselves")
    if column not in data.columns:
        raise ValueError(f"groups={column!r} is not a column of the model's data")
    recipe = design.formula.recipe
    used = recipe.referenced_columns() + list(recipe.extras.values())
    frame = data[list(dict.fromkeys(used + [column]))]
    return _labels_in_blocks(frame.to_delayed(), _complete_labels, recipe, column)


def _labels_in_blocks(parts, extract, *args):
    """``(labels, levels)``: a dask array of the labels ``extract(part, *args)``
    of the partitions ``parts`` (Delayed), with known chunks, and their
    sorted distinct values. One pass counts each partition's labels and
    finds its levels; the array is cut from the same partitions."""
    summaries = dask.compute(*[dask.delayed(_count_labels)(extract, part, *args)
                               for part in parts])
    blocks = [da.from_delayed(dask.delayed(extract)(part, *args), shape=(count,), dtype=object)
              for part, (count, _) in zip(parts, summaries)]
    labels = da.concatenate(blocks) if blocks else da.empty((0,), dtype=object)
    found = np.concatenate([levels for _, levels in summaries]) if summaries else \
        np.empty(0, dtype=object)
    if pd.isna(found).any():
        raise ValueError("groups contain missing values")
    return labels, np.unique(found)


def _count_labels(extract, part, *args):
    labels = extract(part, *args)
    return len(labels), pd.unique(labels)


def _series_labels(part):
    return part.to_numpy(dtype=object)


def _complete_labels(part, recipe, column):
    labels = part[column].to_numpy(dtype=object)
    return labels[complete_rows(recipe.prepare(part), recipe)]


def _codes_of(values, levels):
    return np.searchsorted(levels, values).astype(float)


def _check_block_rank(gram, names, tol):
    """:func:`check_rank` of a block Gram matrix (``names`` in its layout)."""
    empty = np.flatnonzero(~(gram.diagonal() > 0))
    if empty.size:
        listed = ", ".join(repr(names[i]) for i in empty[:20])
        more = f" and {empty.size - 20} more" if empty.size > 20 else ""
        raise ValueError(f"the design is singular: column(s) {listed}{more} are zero in every "
                         "row that carries weight (a level with no rows)")
    D, B, R = gram.schur_parts()
    rest = gram.rest_index()
    schur = R - B.T @ (B / D[:, None])
    if rest.size:
        try:
            check_rank(schur, [names[i] for i in rest], tol)
        except ValueError as error:
            eliminated = np.setdiff1d(np.arange(len(names)), rest)
            term = str(names[eliminated[0]]).split("[")[0]
            raise ValueError(
                f"{error}; the dependence holds together with the {eliminated.size} "
                f"columns of {term} (a coded categorical: e.g. as many levels as rows)"
            ) from None


def array_names(n_features, intercept):
    """statsmodels' names for unnamed columns: ``const`` and ``x1, x2, ...``."""
    names = [f"x{i}" for i in range(1, n_features + (0 if intercept is not None else 1))]
    if intercept is not None:
        names.insert(intercept, "const")
    return names


def check_rank(gram, names, tol=1e-10):
    """Raise ``ValueError`` naming the collinear columns when ``gram`` is singular.

    The Gram matrix is scaled to unit diagonal; eigenvectors of eigenvalues
    below ``tol`` (relative to the largest) span the null space, and the
    columns they load on are reported. A block Gram matrix (coded terms) is
    checked level by level for empty levels, and its Schur complement over
    the other columns as a dense Gram matrix.
    """
    if isinstance(gram, BlockHessian):
        return _check_block_rank(gram, names, tol)
    diag = np.diag(gram)
    zero = np.flatnonzero(diag <= 0)
    if zero.size:
        listed = listing([names[i] for i in zero], brackets=False)
        raise ValueError(f"the design is singular: column(s) {listed} are zero in every "
                         "row that carries weight")
    root = np.sqrt(diag)
    eigvals, eigvecs = np.linalg.eigh(gram / np.outer(root, root))
    null = eigvals <= tol * eigvals[-1]
    if not null.any():
        return
    groups = []
    for vector in eigvecs[:, null].T:
        involved = np.flatnonzero(np.abs(vector) > 1e-6 * np.abs(vector).max())
        groups.append("{" + listing([names[i] for i in involved], brackets=False, limit=10)
                      + "}")
    rank = int((~null).sum())
    raise ValueError(
        f"the design is rank deficient (rank {rank} of {len(names)} columns); these "
        f"columns are linearly dependent: "
        f"{listing(groups, str, sep='; ', brackets=False, item_chars=None)}. Drop one of each "
        "group (or fit with a penalty: fit_regularized)")
