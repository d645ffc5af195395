"""Solvers: each minimises DESIGN.md's objective over chunked data::

    sum_i w_i nll_i / sum_i w_i + alpha * (l1_ratio |b|_1 + (1 - l1_ratio)/2 |b|_2^2)

All share the signature ``solver(X, y, family, regularizer, *, max_iter,
tol, offset, weights, unpenalized, init, callback, <own options>)`` and
return a :class:`SolverResult`. They are registered by name in
:data:`SOLVERS`.
"""

# ruff: noqa: I001  (import order is registration order: SOLVERS lists newton first)
from ._registry import SOLVERS, get_solver, register_solver, solvers_for
from .result import SolverResult
from .newton import newton
from .lbfgs import lbfgs
from .gradient_descent import gradient_descent
from .proximal_grad import proximal_grad
from .admm import admm
from .saga import saga
from .path import RegularizationPath, path

__all__ = [
    "SOLVERS",
    "SolverResult",
    "get_solver",
    "register_solver",
    "solvers_for",
    "newton",
    "lbfgs",
    "gradient_descent",
    "proximal_grad",
    "admm",
    "saga",
    "path",
    "RegularizationPath",
]
