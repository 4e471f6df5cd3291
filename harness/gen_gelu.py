#!/usr/bin/env python3
# gen_gelu.py: writes harness/gelu_table.h, the piecewise polynomials gelu.c evaluates for the normal
# tail Q(a) = P(X > a); run by hand (needs mpmath), never by the build.
"""Usage: python3 harness/gen_gelu.py > harness/gelu_table.h

Q(a) = erfc(a / sqrt 2) / 2 on 0 <= a < 7.5 is cut into 15 pieces of width 1/2. On piece i, with
centre c_i = i / 2 + 1/4, Q(c_i + u) for |u| <= 1/4 is the degree-8 polynomial in u that fits it
in least squares over 64 Chebyshev points, solved in 50-digit arithmetic. Its error is below 2e-12
absolute, far under the rounding of a float evaluation. Piece 15 (a >= 7.5, Q < 3.2e-14) is zero.
Coefficients are printed to 9 significant digits, which a float reads back exactly.
"""
import mpmath as mp

DEG, PIECES, WIDTH, POINTS = 8, 16, mp.mpf(1) / 2, 64
mp.mp.dps = 50


def q(a):
    return mp.erfc(a / mp.sqrt(2)) / 2


def fit(centre):
    us = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / POINTS) * WIDTH / 2 for k in range(POINTS)]
    a = mp.matrix([[u ** k for k in range(DEG + 1)] for u in us])
    b = mp.matrix([q(centre + u) for u in us])
    x = mp.lu_solve(a.T * a, a.T * b)
    worst = max(abs(sum(x[k] * u ** k for k in range(DEG + 1)) - q(centre + u))
                for u in [WIDTH * (j / mp.mpf(400) - mp.mpf(1) / 2) for j in range(401)])
    assert worst < 2e-12, (centre, worst)
    return [float(x[k]) for k in range(DEG + 1)]


def main():
    coef = [fit(i * WIDTH + WIDTH / 2) for i in range(PIECES - 1)] + [[0.0] * (DEG + 1)]
    print("/* gelu_table.h: written by harness/gen_gelu.py (do not edit). Row k holds the coefficient of u^k")
    print(" * of each piece's polynomial for Q(c_i + u), c_i = i / 2 + 1/4; piece 15 is zero. */")
    print("#define FAITH_GELU_DEG %d" % DEG)
    print("static const float faith_gelu_q[%d][%d] __attribute__((aligned(64))) = {" % (DEG + 1, PIECES))
    for k in range(DEG + 1):
        vals = ["%.9g" % coef[i][k] for i in range(PIECES)]
        print("    {" + ",\n     ".join(", ".join(vals[j:j + 4]) for j in range(0, PIECES, 4)) + "},")
    print("};")


if __name__ == "__main__":
    main()
