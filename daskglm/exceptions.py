"""Warnings and errors daskglm raises."""

from __future__ import annotations

from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
from statsmodels.tools.sm_exceptions import ConvergenceWarning as _StatsmodelsConvergenceWarning

__all__ = ["ConvergenceWarning", "PerfectSeparationWarning"]


class ConvergenceWarning(_SklearnConvergenceWarning, _StatsmodelsConvergenceWarning):
    """A solver stopped before meeting its stopping rule.

    It is both scikit-learn's and statsmodels' ``ConvergenceWarning``, so a
    warnings filter written for either library catches it.
    """


class PerfectSeparationWarning(ConvergenceWarning):
    """The response is (quasi-)perfectly separated: the MLE does not exist."""
