/* linalg.h: the small dense least-squares problems of the surrogate explainers (LIME's weighted
 * ridge, kernel SHAP's constrained weighted regression), solved by LAPACK from OpenBLAS. */
#ifndef FAITH_LINALG_H
#define FAITH_LINALG_H

#include <stdint.h>

#include "error.h"

/* Weighted ridge least squares:
 *     x = argmin  sum_i w[i] * (b[i] - A[i,:] x)^2  +  ridge * sum_{j >= ridge_from} x[j]^2
 * A (m, n) row-major, b (m), w (m) non-negative or NULL for all ones, x (n) out. Columns before
 * ridge_from (e.g. an intercept) are not penalised. Rank-deficient problems (ridge 0, fewer rows
 * than columns, repeated columns) get the minimum-norm solution. FAITH_ERR_ARG for bad sizes or
 * negative weights, FAITH_ERR_INTERNAL if LAPACK reports a failure. */
int faith_linalg_wls(int32_t m, int32_t n, const double *A, const double *b, const double *w,
                     double ridge, int32_t ridge_from, double *x, faith_err *err);

/* Weighted least squares under one linear equality constraint sum_j x[j] = total, solved exactly
 * by eliminating the last unknown (x[n-1] = total - sum_{j<n-1} x[j]) and calling
 * faith_linalg_wls on the remaining n-1 (no ridge). The constraint holds to rounding. n >= 1. */
int faith_linalg_wls_sum_constrained(int32_t m, int32_t n, const double *A, const double *b,
                                     const double *w, double total, double *x, faith_err *err);

#endif
