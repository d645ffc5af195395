"""Shared pieces of the first-order solvers: the diagonal metric and the
ladder of trial steps evaluated together in one pass."""

from __future__ import annotations

import numpy as np

__all__ = ["diagonal_metric", "step_ladder"]


def diagonal_metric(problem) -> np.ndarray:
    """Per-coefficient curvature estimates ``D_j`` (a diagonal preconditioner).

    ``D_j = s * mean(w x_j^2) + l2_j``, with ``s`` the family's smoothness
    bound where it has one (1 otherwise: backtracking corrects it). Steps
    are taken as ``-t * gradient / D``, so that badly scaled columns do not
    slow first-order methods down.
    """
    family = problem.family
    smoothness = family.smoothness if family.is_canonical and np.isfinite(family.smoothness) else 1.0
    curvature = smoothness * problem.objective.column_mean_squares
    curvature = curvature + np.where(problem.penalized, problem.penalty.l2, 0.0)
    floor = 1e-12 * max(1.0, float(np.max(curvature)))
    return np.maximum(curvature, floor)


def step_ladder(step, n_steps) -> np.ndarray:
    """Trial steps ``2t, t, t/2, ...``: one larger than the last accepted step
    (so steps can grow again) and halvings below it."""
    return step * 2.0 ** (1 - np.arange(n_steps))

