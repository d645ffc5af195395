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

from dataclasses import dataclass

import numpy as np

__all__ = ["CODED_MIN_COLUMNS", "PAIR_BUDGET", "CodedTerm", "CodedLayout", "coded_layout"]

#: A categorical main effect with more columns than this is coded (dense at or below).
CODED_MIN_COLUMNS = 32

#: The largest table (entries) between two coded terms that a pass accumulates
#: per chunk; a term whose table with a coded term would be larger stays dense.
PAIR_BUDGET = 4_000_000


@dataclass(frozen=True)
class CodedTerm:
    """One coded term: patsy's term name, its factor's code, its first column
    in patsy's order, and each level's column within the term (-1: none)."""

    name: str
    factor_code: str
    start: int
    code_map: np.ndarray

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
        code_map = _code_map(subterm.contrast_matrices[factor].matrix)
        if code_map is None:
            continue
        start = design_info.term_slices[term].start
        found.append(CodedTerm(term.name(), factor.code, start, code_map))
    return sorted(found, key=lambda t: -t.n_columns)


def coded_layout(design_info) -> CodedLayout | None:
    """The coded terms of a patsy ``DesignInfo`` (None when no term is coded).

    Terms are taken widest first; a term whose table with an already coded
    term would exceed :data:`PAIR_BUDGET` entries stays dense.
    """
    chosen = []
    for term in _candidates(design_info):
        if all(term.n_columns * other.n_columns <= PAIR_BUDGET for other in chosen):
            chosen.append(term)
    if not chosen:
        return None
    chosen.sort(key=lambda t: t.start)
    return CodedLayout(tuple(chosen), len(design_info.column_names))
