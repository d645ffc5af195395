"""The solver registry: names to solver functions, filled by a decorator."""

from __future__ import annotations

__all__ = ["SOLVERS", "register_solver", "get_solver", "solvers_for"]

#: Registered solvers by name.
SOLVERS: dict = {}


def register_solver(name, *, nonsmooth=True):
    """Decorator: register a solver under ``name``.

    Parameters
    ----------
    name : str
        The name users pass as ``method=`` / ``solver=``.
    nonsmooth : bool
        Whether the solver handles penalties with an L1 part. Solvers
        registered with ``nonsmooth=False`` are refused such penalties by
        :func:`daskglm.solvers.check_penalty` with a message naming the
        solvers that can.

    Examples
    --------
    >>> from daskglm.solvers import register_solver, SOLVERS
    >>> @register_solver("my_solver", nonsmooth=False)
    ... def my_solver(X, y, family=None, regularizer=None, **options):
    ...     ...
    >>> "my_solver" in SOLVERS
    True
    >>> del SOLVERS["my_solver"]
    """

    if not isinstance(name, str) or not name:
        raise ValueError(f"a solver name must be a non-empty string, got {name!r}")

    def decorate(func):
        func.solver_name = name
        func.handles_nonsmooth = bool(nonsmooth)
        SOLVERS[name] = func
        return func

    return decorate


def get_solver(solver):
    """The solver function for a registered name (or a callable, returned as is)."""
    if callable(solver):
        return solver
    if solver not in SOLVERS:
        known = ", ".join(sorted(SOLVERS))
        raise ValueError(f"unknown solver {solver!r}; known solvers: {known}")
    return SOLVERS[solver]


def solvers_for(regularizer) -> list:
    """Names of the registered solvers that can minimise with ``regularizer``."""
    smooth = regularizer is None or regularizer.is_smooth
    return sorted(name for name, f in SOLVERS.items()
                  if smooth or getattr(f, "handles_nonsmooth", True))
