"""Shared pieces of the first-order solvers: the diagonal metric and the
ladder of trial steps evaluated together in one pass."""

from __future__ import annotations

import numpy as np

__all__ = ["diagonal_metric", "step_ladder"]


def diagonal_metric(problem) -> np.ndarray:
    """Per-coefficient curvature estimates ``D_j`` (a diagonal preconditioner).

    ``D_j = s * mean(w x_j^2) + l2_j``, with ``s`` the family's
    ``curvature_bound`` where it has one (1 otherwise: backtracking corrects it). Steps
    are taken as ``-t * gradient / D``, so that badly scaled columns do not
    slow first-order methods down.
    """
    bound = problem.family.curvature_bound
    curvature = (bound if np.isfinite(bound) else 1.0) * problem.objective.column_mean_squares
    curvature = curvature + np.where(problem.penalized, problem.penalty.l2, 0.0)
    floor = 1e-12 * max(1.0, float(np.max(curvature)))
    return np.maximum(curvature, floor)


def step_ladder(step, n_steps, grow=True) -> np.ndarray:
    """Trial steps evaluated together in one pass: ``2t, t, t/2, ...`` when
    ``grow`` (so that steps can grow again), else ``t, t/2, t/4, ...``."""
    first = 2.0 * step if grow and n_steps > 1 else step
    return first * 2.0 ** -np.arange(n_steps)
