"""Warnings and errors daskglm raises.

:class:`ConvergenceWarning` subclasses both scikit-learn's and statsmodels'
``ConvergenceWarning``, so a warnings filter written for either library
catches daskglm's too. Python's warning filters match with ``issubclass``
against the filter's class, whose ``__subclasscheck__`` we cannot extend, so
the two bases must be real base classes, and defining the class imports
scikit-learn and statsmodels (about a second and a hundred MB).

That cost is paid only when this module is loaded, and it is loaded only
where it is needed:

- ``import daskglm`` does not load it: ``daskglm.ConvergenceWarning`` and
  ``daskglm.PerfectSeparationWarning`` are resolved on first access by the
  package's lazy ``__getattr__``;
- the places that warn (the solvers' ``Trace.result``, newton's separation
  check, the model's KKT check at the answer, the command line's warning
  filter) import it inside the function, at the moment a warning is issued
  or a filter is set, never at module import;
- a user's filter (``warnings.filterwarnings("error",
  category=daskglm.ConvergenceWarning)``, or pytest's
  ``filterwarnings = ["error::daskglm.exceptions.ConvergenceWarning"]``)
  loads it when the filter is made, and every later warning site finds the
  same class in ``sys.modules``, so the filter matches.

Loading late has one catch: importing statsmodels puts ``"always"`` filters
for its warnings, ConvergenceWarning among them, at the front of the filter
list. Loaded at the first warning, that would override a filter the user set
after ``import daskglm`` (``simplefilter("error", ConvergenceWarning)``
would stop raising). So the bases are imported inside
:func:`_filters_added_go_last`, which moves the filters the import
adds behind those already there: the user's filters keep precedence, and
statsmodels' still apply where none of the user's matches.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, cast

__all__ = ["ConvergenceWarning", "PerfectSeparationWarning"]


@contextlib.contextmanager
def _filters_added_go_last() -> Iterator[None]:
    """Move the warning filters that the block adds behind those already set."""
    # the filter list is a plain list at run time (typeshed calls it a Sequence)
    filters = cast("list[Any]", warnings.filters)
    filters_before = list(filters)
    yield
    added = [entry for entry in filters if entry not in filters_before]
    for entry in added:
        filters.remove(entry)
        action, message, category, module, lineno = entry
        # filterwarnings takes the patterns as text; it also marks the list as changed
        warnings.filterwarnings(action, message.pattern if message else "", category,
                                module.pattern if module else "", lineno, append=True)


with _filters_added_go_last():
    from sklearn.exceptions import ConvergenceWarning as _SklearnConvergenceWarning
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning as _StatsmodelsConvergenceWarning,
    )
    from statsmodels.tools.sm_exceptions import (
        PerfectSeparationWarning as _StatsmodelsPerfectSeparationWarning,
    )


class ConvergenceWarning(_SklearnConvergenceWarning, _StatsmodelsConvergenceWarning):
    """A solver stopped before meeting its stopping rule.

    It is both scikit-learn's and statsmodels' ``ConvergenceWarning``, so a
    warnings filter written for either library catches it.
    """


class PerfectSeparationWarning(ConvergenceWarning, _StatsmodelsPerfectSeparationWarning):
    """The response is (quasi-)perfectly separated, or a single class: the MLE
    does not exist. Also statsmodels' ``PerfectSeparationWarning``."""
