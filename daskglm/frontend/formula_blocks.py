"""Which categorical terms of a formula are kept as codes, and where their columns go.

A categorical main effect (``C(zone)``, or a string column patsy treats as
one) with more than :data:`CODED_MIN_COLUMNS` columns is not expanded into
dummy columns: each row keeps the column its level maps to (an integer, -1
for the reference level, which has no column), and the fit works on a
:class:`~daskglm.passes.coded.CodedMatrix`. Below the threshold the dense
tiles are faster, and the term stays dense. Only contrasts whose every
level maps to at most one column with the value 1 (patsy's ``Treatment``
coding, with or without an intercept, any reference level) can be coded;
other contrasts stay dense.

The fit's coefficients are laid out ``[dense columns..., coded term 1...,
coded term 2...]``; :class:`CodedLayout` maps that layout to patsy's column
order, in which the results are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from patsy.contrasts import ContrastMatrix, Treatment

__all__ = ["CODED_MIN_COLUMNS", "PAIR_BUDGET", "LAZY_LEVELS", "DROPS", "CodedTerm",
           "CodedLayout", "CodedContrast", "CodedTreatment", "AllLevels", "all_levels_terms",
           "coded_layout"]

#: What a categorical's coding drops: its first (reference) level, or none.
DROPS = ("first", None)

#: A categorical main effect with more columns than this is coded (dense at or below).
CODED_MIN_COLUMNS = 32

#: The largest table (entries) between two coded terms that a pass accumulates
#: per chunk; a term whose table with a coded term would be larger stays dense.
PAIR_BUDGET = 4_000_000

#: From this many levels a Treatment-coded factor gets a :class:`CodedTreatment`
#: contrast: patsy's would be a dense ``levels x (levels - 1)`` identity
#: (3.2 GB at 20,000 levels), built wherever the formula's design is laid out.
LAZY_LEVELS = 2048


class CodedContrast(ContrastMatrix):
    """A Treatment contrast that only a coded term may use: its ``matrix`` is a
    read-only view of one zero (no memory), ``code_map`` gives each level's column."""

    def __init__(self, code_map, column_suffixes):
        self.code_map = np.asarray(code_map, dtype=np.int32)
        zeros = np.broadcast_to(np.float64(0.0), (len(self.code_map), len(column_suffixes)))
        super().__init__(zeros, column_suffixes)


class CodedTreatment:
    """patsy's ``Treatment`` coding, same columns and names, as a
    :class:`CodedContrast` (for factors of :data:`LAZY_LEVELS` levels or more)."""

    def __init__(self, reference=None):
        self.reference = reference

    def code_with_intercept(self, levels):
        return CodedContrast(np.arange(len(levels)), [f"[{_readable(v)}]" for v in levels])

    def code_without_intercept(self, levels):
        levels = list(levels)
        reference = _reference_index(levels, self.reference)
        code_map = np.arange(len(levels)) - (np.arange(len(levels)) > reference)
        code_map[reference] = -1
        names = [f"[T.{_readable(v)}]" for i, v in enumerate(levels) if i != reference]
        return CodedContrast(code_map, names)

    @classmethod
    def replacing(cls, contrast):
        """The coded equivalent of ``contrast`` (None or Treatment), else None."""
        if contrast is None or contrast is Treatment:
            return cls()
        if type(contrast) is Treatment:
            return cls(contrast.reference)
        return None


class AllLevels:
    """A Treatment-like coding that keeps every level: one indicator column per
    level, with or without an intercept (``glm(..., drop=None)``). With an
    intercept the design is rank deficient: only a penalty on the term makes
    the fit identifiable."""

    def __init__(self, lazy=False):
        self.lazy = lazy

    def code_with_intercept(self, levels):
        if self.lazy:           # no levels x levels identity: a coded term's code map
            contrast = CodedTreatment().code_with_intercept(levels)
        else:
            contrast = ContrastMatrix(np.eye(len(levels)), [f"[{_readable(v)}]" for v in levels])
        contrast.all_levels = True
        return contrast

    code_without_intercept = code_with_intercept

    @classmethod
    def replacing(cls, contrast, lazy=False):
        """All levels in place of ``contrast`` (None or a Treatment), else None."""
        if contrast is None or contrast is Treatment or type(contrast) in (Treatment,
                                                                          CodedTreatment):
            return cls(lazy)
        return None


def all_levels_terms(design_info) -> list:
    """Names of the terms coded with every level (:class:`AllLevels`)."""
    found = []
    for term, subterms in design_info.term_codings.items():
        for subterm in subterms:
            for contrast in subterm.contrast_matrices.values():
                if getattr(contrast, "all_levels", False):
                    found.append(term.name())
    return list(dict.fromkeys(found))


def _readable(level):
    """A level as patsy writes it in a column name."""
    if isinstance(level, str):
        return level
    if isinstance(level, bytes):
        try:
            return level.decode("utf-8")
        except UnicodeDecodeError:
            return repr(level)
    return repr(level)


def _reference_index(levels, reference):
    """The reference level's position, as patsy's Treatment finds it."""
    if reference is None:
        return 0
    if reference in levels:
        return levels.index(reference)
    if isinstance(reference, int) and -len(levels) <= reference < len(levels):
        return reference % len(levels)
    raise ValueError(f"the Treatment reference level {reference!r} is not among the levels")


@dataclass(frozen=True)
class CodedTerm:
    """One coded term: patsy's term name, its factor's code, its first column
    in patsy's order, and each level's column within the term (-1: none)."""

    name: str
    factor_code: str
    start: int
    code_map: np.ndarray = field(repr=False)

    @property
    def n_columns(self) -> int:
        return int(np.max(self.code_map, initial=-1)) + 1


@dataclass(frozen=True)
class CodedLayout:
    """The coded terms of a design and the map between the fit's layout and
    patsy's column order."""

    terms: tuple
    n_columns: int

    @property
    def term_names(self) -> frozenset:
        return frozenset(term.name for term in self.terms)

    @property
    def n_levels(self) -> tuple:
        return tuple(term.n_columns for term in self.terms)

    @property
    def dense_columns(self) -> np.ndarray:
        """patsy's indices of the columns kept dense, in patsy's order."""
        coded = np.zeros(self.n_columns, dtype=bool)
        for term in self.terms:
            coded[term.start:term.start + term.n_columns] = True
        return np.flatnonzero(~coded)

    @property
    def order(self) -> np.ndarray:
        """``order[j]``: patsy's index of the fit's coefficient ``j``."""
        ranges = [np.arange(t.start, t.start + t.n_columns) for t in self.terms]
        return np.concatenate([self.dense_columns, *ranges]).astype(int)

    def to_patsy(self, coef) -> np.ndarray:
        """Coefficients in the fit's layout -> patsy's order."""
        out = np.empty(self.n_columns)
        out[self.order] = coef
        return out

    def to_layout(self, params) -> np.ndarray:
        """Coefficients in patsy's order -> the fit's layout."""
        return np.asarray(params, dtype=float)[self.order]

    def layout_index(self, patsy_index):
        """The fit's position of patsy's column ``patsy_index`` (None stays None)."""
        if patsy_index is None:
            return None
        return int(np.flatnonzero(self.order == patsy_index)[0])


def _code_map(matrix):
    """Each level's column, when every row of the contrast ``matrix`` is zero or
    one 1 and every column is one level's; else None."""
    matrix = np.asarray(matrix)
    is_unit = (matrix == 0) | (matrix == 1)
    ones = (matrix == 1).sum(axis=1)
    if not is_unit.all() or (ones > 1).any() or ((matrix == 1).sum(axis=0) != 1).any():
        return None
    code_map = np.where(ones == 1, np.argmax(matrix, axis=1), -1)
    return code_map.astype(np.int32)


def _candidates(design_info):
    """The terms that may be coded, widest first."""
    found = []
    for term, subterms in design_info.term_codings.items():
        if len(term.factors) != 1 or len(subterms) != 1:
            continue
        factor, subterm = term.factors[0], subterms[0]
        if design_info.factor_infos[factor].type != "categorical" \
                or subterm.num_columns <= CODED_MIN_COLUMNS \
                or factor not in subterm.contrast_matrices:
            continue
        contrast = subterm.contrast_matrices[factor]
        code_map = contrast.code_map if isinstance(contrast, CodedContrast) else \
            _code_map(contrast.matrix)
        if code_map is None:
            continue
        start = design_info.term_slices[term].start
        found.append(CodedTerm(term.name(), factor.code, start, code_map))
    return sorted(found, key=lambda t: -t.n_columns)


def _must_code(design_info, term_name):
    term = next(t for t in design_info.terms if t.name() == term_name)
    return any(isinstance(c, CodedContrast) for sub in design_info.term_codings[term]
               for c in sub.contrast_matrices.values())


def coded_layout(design_info) -> CodedLayout | None:
    """The coded terms of a patsy ``DesignInfo`` (None when no term is coded).

    Terms are taken widest first; a term whose table with an already coded
    term would exceed :data:`PAIR_BUDGET` entries stays dense.
    """
    chosen = []
    for term in _candidates(design_info):
        if all(term.n_columns * other.n_columns <= PAIR_BUDGET for other in chosen):
            chosen.append(term)
        elif _must_code(design_info, term.name):
            raise ValueError(
                f"{term.name} has {term.n_columns} columns and cannot stay dense, but its "
                f"table with another coded term would exceed {PAIR_BUDGET} entries: two such "
                "large categoricals in one model are not supported yet")
    coded_names = {term.name for term in chosen}
    for term, subterms in design_info.term_codings.items():
        if term.name() not in coded_names and any(
                isinstance(c, CodedContrast) for sub in subterms
                for c in sub.contrast_matrices.values()):
            raise ValueError(
                f"the term {term.name()} uses a categorical of {LAZY_LEVELS} or more levels "
                "in an interaction (or with a contrast other than Treatment); only its main "
                "effect can be fitted at this size")
    if not chosen:
        return None
    chosen.sort(key=lambda t: t.start)
    return CodedLayout(tuple(chosen), len(design_info.column_names))
