"""Fit the table behind ``daskglm.math.special.erfcx`` and report its error.

erfcx(t) = exp(t^2) erfc(t) is smooth on [0, inf) and falls like
1 / (sqrt(pi) t). The module evaluates it from one table of polynomials of
degree ``DEGREE``, each on its own piece:

- ``[0, NEAR_END)``, where nearly all probit rows fall: ``NEAR_PIECES``
  equal pieces in t, polynomials in ``t - t_mid`` (the piece is found with a
  multiplication, no division);
- ``[NEAR_END, TABLE_END)``: ``FAR_PIECES`` equal pieces of
  ``y = SCALE / (SCALE + t)``, polynomials in ``y - y_mid`` (in y the slow
  1 / t decay is nearly linear).

Each polynomial is a least-squares Chebyshev fit on its piece (at 300
Chebyshev points, so close to the minimax fit) against
``scipy.special.erfcx``, converted to the power basis; the first piece's
constant is then nudged so that erfcx(0) comes out exactly 1. Beyond the table the
module sums the asymptotic series, whose coefficients are exact. Degree 7 is
what lets the module evaluate in Estrin's scheme (three levels of
multiply-adds, against seven in Horner's): the table's latency, not its
arithmetic, is what a probit row waits for.

    python -m benchmarks.fit_erfcx            # fit, and compare fit and module with scipy
    python -m benchmarks.fit_erfcx --table    # print the table as the module holds it

Run 2026-12-02: the largest relative error against scipy on 4 million points
of [0, 30] (and 10,000 down to 1e-300) was 1.8e-15, for the fit and for the
module (numba, double precision evaluation) alike, 1.4e-15 before the
pinning at zero; against an independent 60-digit evaluation (the erf Taylor
series with ``decimal``) at 3,000 random points of [0, 4], 8.9e-16,
where scipy's own error is 8.9e-16.
"""

from __future__ import annotations

import argparse

import numpy as np
from numpy.polynomial import chebyshev
from scipy import special

DEGREE = 7
NEAR_END = 4.0
NEAR_PIECES = 64
SCALE = 4.0
TABLE_END = 30.0
FAR_PIECES = 16
FIT_POINTS = 300


def _fit_piece(middle, half, function):
    """Power-basis coefficients in ``x - middle`` of the fit to ``function`` on
    ``[middle - half, middle + half]``."""
    nodes = np.cos(np.pi * (np.arange(FIT_POINTS) + 0.5) / FIT_POINTS)   # Chebyshev points
    fit = chebyshev.chebfit(nodes, function(middle + half * nodes), DEGREE)
    power = chebyshev.cheb2poly(fit)                          # in u = (x - middle) / half
    power = np.pad(power, (0, DEGREE + 1 - power.size))
    return power / half ** np.arange(DEGREE + 1)


def fit_table():
    """Rows ``[x_mid, c_0, ..., c_DEGREE]``, the near pieces (x = t) first,
    then the far ones (x = SCALE / (SCALE + t))."""
    near_half = 0.5 * NEAR_END / NEAR_PIECES
    y_end, y_start = SCALE / (SCALE + TABLE_END), SCALE / (SCALE + NEAR_END)
    far_half = 0.5 * (y_start - y_end) / FAR_PIECES
    rows = []
    for piece in range(NEAR_PIECES):
        t_mid = (2 * piece + 1) * near_half
        rows.append([t_mid, *_fit_piece(t_mid, near_half, special.erfcx)])
    _pin_at_zero(rows[0])
    for piece in range(FAR_PIECES):
        y_mid = y_end + (2 * piece + 1) * far_half
        rows.append([y_mid, *_fit_piece(y_mid, far_half,
                                        lambda y: special.erfcx(SCALE / y - SCALE))])
    return np.array(rows)


def _estrin(row, v):
    """The module's evaluation of one row's polynomial at ``v`` (same order of operations)."""
    v2 = v * v
    v4 = v2 * v2
    low = (row[1] + row[2] * v) + (row[3] + row[4] * v) * v2
    high = (row[5] + row[6] * v) + (row[7] + row[8] * v) * v2
    return low + high * v4


def _pin_at_zero(row):
    """Nudge the first piece's constant term (by a few ulp, within the fit's
    error) until the module's arithmetic gives erfcx(0) = 1 exactly, so that
    Phi(0) = 1/2 and the probit link maps 1/2 to 0."""
    for _ in range(20):
        miss = 1.0 - _estrin(row, 0.0 - row[0])
        if miss == 0.0:
            return
        row[1] += miss
    raise RuntimeError("could not pin erfcx(0) = 1")


def evaluate_table(table, t):
    """The table's polynomials at ``0 <= t < TABLE_END`` (numpy, the module's pieces)."""
    near = t < NEAR_END
    y_end, y_start = SCALE / (SCALE + TABLE_END), SCALE / (SCALE + NEAR_END)
    y = SCALE / (SCALE + t)
    far_piece = np.minimum(((y - y_end) * (FAR_PIECES / (y_start - y_end))).astype(int),
                           FAR_PIECES - 1)
    piece = np.where(near, (t * (NEAR_PIECES / NEAR_END)).astype(int), NEAR_PIECES + far_piece)
    return _estrin(table[piece].T, np.where(near, t, y) - table[piece, 0])


def test_points():
    rng = np.random.default_rng(0)
    return np.sort(np.concatenate([np.linspace(0.0, TABLE_END, 4_000_001)[:-1],
                                   np.geomspace(1e-300, 1.0, 10_001),
                                   rng.uniform(0.0, TABLE_END, 100_000)]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print the fitted table")
    args = parser.parse_args(argv)
    table = fit_table()
    if args.table:
        print("_ERFCX_TABLE = np.array([")
        for row in table:
            numbers = [repr(float(x)) for x in row]
            lines = [", ".join(numbers[i:i + 3]) for i in range(0, len(numbers), 3)]
            print("    [" + ",\n     ".join(lines) + "],")
        print("])")
        return
    from daskglm.math import special as module
    from daskglm.math.compiled import elementwise

    t = test_points()
    reference = special.erfcx(t)
    fit_error = np.abs(evaluate_table(table, t) / reference - 1.0)
    module_error = np.abs(elementwise(module.erfcx, t) / reference - 1.0)
    print(f"fit:    max relative error {fit_error.max():.3g} at t = {t[fit_error.argmax()]:.6g}")
    print(f"module: max relative error {module_error.max():.3g} at t = "
          f"{t[module_error.argmax()]:.6g}")
    print(f"table in the module equals a fresh fit: {np.array_equal(module._ERFCX_TABLE, table)}")


if __name__ == "__main__":
    main()
