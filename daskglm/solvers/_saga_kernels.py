"""SAGA's inner loop over the rows of one chunk, compiled with numba.

Every kernel minimises, over the rows it is given, in the order given,

    (1/n) sum_i c_i nll(y_i, x_i' b + offset_i) + P(b),
    P(b) = l1 |b|_1 + l2 / 2 |b|^2   (penalized coordinates only),

with SAGA's proximal step (Defazio, Bach & Lacoste-Julien, 2014): for row
i, with the stored scalar ``table[i]`` (its last ``c_i d nll / d eta``) and
the running average ``avg = (1/n) sum_i table[i] x_i``,

    s = c_i d nll/d eta (x_i' b + offset_i)
    b = prox_{step P}(b - step ((s - table[i]) x_i + avg))
    avg += (s - table[i]) x_i / n;  table[i] = s.

The arrays ``coef``, ``avg`` and ``table`` are updated in place. The dense
kernel touches all p coordinates per row; the CSR kernel touches only a
row's nonzeros and brings every other coordinate up to date "just in
time", when a row next touches it (or at the end of the chunk), applying
the steps it missed in closed form: between two touches ``avg_j`` is
constant, so coordinate j only sees repeated applications of the scalar
map ``x -> prox(x - step avg_j)``.

The kernels are compiled once per family around its row function
(:func:`daskglm.math.compiled.row_math`), so any family and link can be
fitted; nothing here knows which family it is.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..math.compiled import jit

__all__ = ["saga_kernels", "repeat_prox"]

_MAX_PHASES = 8


@jit(error_model="python")
def _prox(x, step, l1, l2):
    """Soft-threshold by step * l1, then shrink by 1 / (1 + step * l2)."""
    threshold = step * l1
    if x > threshold:
        x -= threshold
    elif x < -threshold:
        x += threshold
    else:
        return 0.0
    return x / (1.0 + step * l2)


@functools.cache
def saga_kernels(row):
    """``(dense, csr)``: the two SAGA kernels compiled around a family's
    ``row(y, eta) -> (nll, d nll / d eta, Fisher weight)`` (only the
    gradient is used; the compiler drops the rest)."""

    @jit(error_model="python")
    def dense(X, y, offset, row_scale, order, coef, avg, table, step, inv_n, l1, l2,
              penalized):
        """SAGA over the rows of a dense C-ordered chunk ``X``, in ``order``."""
        p = X.shape[1]
        for i in order:
            eta = offset[i]
            for j in range(p):
                eta += X[i, j] * coef[j]
            s = row_scale[i] * row(y[i], eta)[1]
            ds = s - table[i]
            table[i] = s
            for j in range(p):
                dx = ds * X[i, j]
                moved = coef[j] - step * (dx + avg[j])
                coef[j] = _prox(moved, step, l1, l2) if penalized[j] else moved
                avg[j] += dx * inv_n

    @jit(error_model="python")
    def csr(data, indices, indptr, y, offset, row_scale, order, coef, avg, table, step,
            inv_n, l1, l2, penalized):
        """SAGA over the rows of a CSR chunk, touching only nonzeros.

        ``last[j]`` counts the iterations already applied to ``coef[j]``; the
        missing ones are applied by :func:`repeat_prox` when row i next needs
        ``coef[j]`` and, for every coordinate, at the end of the chunk.
        """
        p = coef.shape[0]
        last = np.zeros(p, dtype=np.int64)
        t = 0
        for i in order:
            start, stop = indptr[i], indptr[i + 1]
            eta = offset[i]
            for k in range(start, stop):
                j = indices[k]
                if last[j] < t:
                    coef[j] = repeat_prox(coef[j], avg[j], t - last[j], step, l1, l2,
                                          penalized[j])
                    last[j] = t
                eta += data[k] * coef[j]
            s = row_scale[i] * row(y[i], eta)[1]
            ds = s - table[i]
            table[i] = s
            for k in range(start, stop):
                j = indices[k]
                dx = ds * data[k]
                moved = coef[j] - step * (dx + avg[j])
                coef[j] = _prox(moved, step, l1, l2) if penalized[j] else moved
                avg[j] += dx * inv_n
                last[j] = t + 1
            t += 1
        for j in range(p):
            if last[j] < t:
                coef[j] = repeat_prox(coef[j], avg[j], t - last[j], step, l1, l2,
                                      penalized[j])

    return dense, csr


@jit(error_model="python")
def repeat_prox(x, a, n_steps, step, l1, l2, penalized):
    """``n_steps`` applications of ``x -> prox_{step P}(x - step a)``.

    The map is ``q (x - c_plus)`` above ``c_plus = step (a + l1)``,
    ``q (x - c_minus)`` below ``c_minus = step (a - l1)`` and 0 in between
    (``q = 1 / (1 + step l2)``). It is monotone and moves x towards its
    fixed point without crossing it, so the iterates pass through at most
    three phases (affine, zero, affine), each applied in closed form.
    """
    if not penalized:
        return x - n_steps * step * a
    q = 1.0 / (1.0 + step * l2)
    c_plus = step * (a + l1)
    c_minus = step * (a - l1)
    remaining = n_steps
    for _ in range(_MAX_PHASES):
        if remaining == 0:
            return x
        if x > c_plus:
            m = _steps_above(x, c_plus, q, remaining)
            x = _affine_power(x, c_plus, q, m)
        elif x < c_minus:
            m = _steps_above(-x, -c_minus, q, remaining)
            x = -_affine_power(-x, -c_minus, q, m)
        else:
            m = 1
            x = 0.0
            if c_minus <= 0.0 <= c_plus:
                return 0.0  # zero is the fixed point
        remaining -= m
    for _ in range(remaining):  # rounding kept the phases from ending: step singly
        x = _prox(x - step * a, step, l1, l2)
    return x


@jit(error_model="python")
def _affine_power(x, c, q, m):
    """m applications of ``x -> q (x - c)``."""
    if q == 1.0:
        return x - m * c
    fixed = -q * c / (1.0 - q)
    return fixed + q ** m * (x - fixed)


@jit(error_model="python")
def _steps_above(x, c, q, limit):
    """How many applications of ``x -> q (x - c)`` start above ``c`` (x > c),
    at most ``limit``: the map is the prox step's only while above ``c``."""
    if c <= 0.0:
        return limit  # the affine map's fixed point is above c: it never leaves
    if q == 1.0:
        guess = math.ceil((x - c) / c)
    else:
        fixed = -q * c / (1.0 - q)
        guess = math.ceil(math.log((c - fixed) / (x - fixed)) / math.log(q))
    m = int(min(max(guess, 1.0), float(limit)))
    while m > 1 and _affine_power(x, c, q, m - 1) <= c:
        m -= 1
    while m < limit and _affine_power(x, c, q, m) > c:
        m += 1
    return m
