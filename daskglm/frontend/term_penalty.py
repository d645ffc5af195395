"""A penalty strength per formula term (or per named coefficient).

``fit_regularized("l2", alpha={"C(zone)": 1.0, "C(region)": 0.1})`` is a
ridge on the levels of each named categorical, the credibility-style
shrinkage of insurance pricing: every column of the term ``C(zone)`` gets
``alpha = 1.0``, every column of ``C(region)`` 0.1, and the columns of
terms not named none. A key may also name one coefficient
(``"C(zone)[T.z017]"``, or ``"x1"`` in an array model). The result is an
``alpha`` with one value per coefficient in ``exog_names`` order, which
:class:`daskglm.regularizers.ElasticNet` and its subclasses take as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..messages import listing
from .formula_blocks import all_levels_terms

__all__ = ["alpha_by_coefficient", "term_columns", "check_all_levels"]


def term_columns(design_info) -> dict:
    """``{term name: slice of its columns}`` of a patsy ``DesignInfo`` (None: {})."""
    if design_info is None:
        return {}
    return {term.name(): columns for term, columns in design_info.term_slices.items()}


def alpha_by_coefficient(alpha, exog_names, design_info=None, intercept=None):
    """One ``alpha`` per coefficient from a mapping of term or coefficient names.

    Parameters
    ----------
    alpha : dict or pandas Series
        Term names (``"C(zone)"``) or coefficient names -> alpha >= 0.
    exog_names : list of str
        The coefficients' names, in the model's order.
    design_info : patsy.DesignInfo, optional
        The formula's design info (its terms); None for an array model.
    intercept : int, optional
        The intercept's column, which no penalty touches.

    Returns
    -------
    numpy array of shape (len(exog_names),)
    """
    if isinstance(alpha, pd.Series):
        alpha = alpha.to_dict()
    if not isinstance(alpha, Mapping):
        raise TypeError(f"alpha by name must be a dict or a pandas Series, got "
                        f"{type(alpha).__name__}")
    terms = term_columns(design_info)
    positions = {name: i for i, name in enumerate(exog_names)}
    values = np.zeros(len(exog_names))
    for key, strength in alpha.items():
        if key in terms:
            columns = np.arange(len(exog_names))[terms[key]]
        elif key in positions:
            columns = np.array([positions[key]])
        else:
            raise ValueError(f"alpha names {key!r}, which is neither a term "
                             f"({listing(terms)}) nor a coefficient "
                             f"({listing(exog_names, hint='see model.exog_names')})")
        if intercept is not None and intercept in columns:
            raise ValueError(f"alpha names {key!r}, the intercept, which is never penalized")
        if not np.isscalar(strength) or not np.isfinite(strength) or strength < 0:
            raise ValueError(f"alpha[{key!r}] must be a finite number >= 0, got {strength!r}")
        values[columns] = float(strength)
    return values


def check_all_levels(design_info, penalty):
    """Refuse a fit of a design that keeps every level of a categorical
    (``drop=None``) unless ``penalty`` has an L2 part on every column of each
    such term (None: an unpenalized fit, always refused)."""
    terms = all_levels_terms(design_info) if design_info is not None else []
    if not terms:
        return
    slices = term_columns(design_info)
    interactions = [t.name() for t in design_info.terms
                    if t.name() in terms and len(t.factors) > 1]
    if interactions:
        raise ValueError(f"drop=None keeps every level of categorical main effects only; "
                         f"{listing(interactions)} interact(s) categoricals: fit them with "
                         "drop='first'")
    n = len(design_info.column_names)
    l2 = np.zeros(n) if penalty is None else np.broadcast_to(np.asarray(penalty.l2, float), (n,))
    bare = [name for name in terms if not (l2[slices[name]] > 0).all()]
    if bare:
        how = "an unpenalized fit" if penalty is None else f"the penalty {penalty!r}"
        raise ValueError(
            f"drop=None keeps every level of {listing(bare)}, so {how} is not identifiable: "
            "fit_regularized with an L2 part on every column of the term, e.g. "
            f"fit_regularized('l2', alpha={{{bare[0]!r}: 1.0}})")
