/* linalg.c: weighted (ridge) least squares by LAPACK's dgelsd (SVD, divide and conquer), and the
 * sum-constrained variant kernel SHAP needs, by elimination of one unknown. */
#include "linalg.h"
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK from libopenblas (32-bit integers). */
extern void dgelsd_(const int *m, const int *n, const int *nrhs, double *a, const int *lda,
                    double *b, const int *ldb, double *s, const double *rcond, int *rank,
                    double *work, const int *lwork, int *iwork, int *info);

/* Singular values below this fraction of the largest count as zero: far above double rounding
 * (so near-duplicate columns do not blow up) and far below any real signal in our designs. */
#define FAITH_LINALG_RCOND 1e-12

int faith_linalg_wls(int32_t m, int32_t n, const double *A, const double *b, const double *w,
                     double ridge, int32_t ridge_from, double *x, faith_err *err)
{
    if (m < 0 || n < 0 || ridge_from < 0 || !(ridge >= 0.0))
        return faith_err_set(err, FAITH_ERR_ARG,
                             "linalg: bad least-squares problem (m=%d, n=%d, ridge=%g from column %d)",
                             (int)m, (int)n, ridge, (int)ridge_from);
    if (n == 0) return FAITH_OK;
    int32_t n_pen = ridge > 0.0 && ridge_from < n ? n - ridge_from : 0;
    int rows = (int)m + (int)n_pen, cols = (int)n, nrhs = 1;
    int ldb = rows > cols ? rows : cols;
    if (rows == 0) {
        memset(x, 0, (size_t)n * sizeof *x);
        return FAITH_OK;
    }
    /* Column-major design scaled by sqrt(w), stacked over sqrt(ridge) * I for penalised columns:
     * the normal equations of this stack are exactly those of the weighted ridge problem, but
     * solving it by SVD never squares the condition number. */
    double *M = faith_xcalloc((size_t)rows * (size_t)cols, sizeof *M);
    double *B = faith_xcalloc((size_t)ldb, sizeof *B);
    for (int32_t i = 0; i < m; i++) {
        double wi = w ? w[i] : 1.0;
        if (!(wi >= 0.0) || isinf(wi)) {
            free(M);
            free(B);
            return faith_err_set(err, FAITH_ERR_ARG, "linalg: weight %d is %g, expected finite >= 0",
                                 (int)i, wi);
        }
        double s = sqrt(wi);
        for (int32_t j = 0; j < n; j++) M[i + (size_t)j * rows] = s * A[(size_t)i * n + j];
        B[i] = s * b[i];
    }
    double sr = sqrt(ridge);
    for (int32_t k = 0; k < n_pen; k++) M[(m + k) + (size_t)(ridge_from + k) * rows] = sr;

    int mn = rows < cols ? rows : cols, rank = 0, info = 0, lwork = -1, iwq = 0;
    double *sv = faith_xmalloc((size_t)mn * sizeof *sv);
    double rcond = FAITH_LINALG_RCOND, wq = 0.0;
    dgelsd_(&rows, &cols, &nrhs, M, &rows, B, &ldb, sv, &rcond, &rank, &wq, &lwork, &iwq, &info);
    int rc = FAITH_OK;
    if (info != 0) {
        rc = faith_err_set(err, FAITH_ERR_INTERNAL, "linalg: dgelsd workspace query failed (info %d)",
                           info);
        goto cleanup;
    }
    lwork = (int)wq + 1;
    double *work = faith_xmalloc((size_t)lwork * sizeof *work);
    int *iwork = faith_xmalloc((size_t)(iwq > 1 ? iwq : 1) * sizeof *iwork);
    /* Single-threaded: a threaded LAPACK would round differently with the thread count. */
    int saved = faith_serial_begin();
    dgelsd_(&rows, &cols, &nrhs, M, &rows, B, &ldb, sv, &rcond, &rank, work, &lwork, iwork, &info);
    faith_serial_end(saved);
    free(work);
    free(iwork);
    if (info != 0) {
        rc = faith_err_set(err, FAITH_ERR_INTERNAL,
                           "linalg: dgelsd failed on a %dx%d problem (info %d: SVD did not converge)",
                           rows, cols, info);
        goto cleanup;
    }
    for (int32_t j = 0; j < n; j++) {
        if (!isfinite(B[j])) {
            rc = faith_err_set(err, FAITH_ERR_RANGE,
                               "linalg: least-squares solution is not finite (non-finite inputs?)");
            goto cleanup;
        }
        x[j] = B[j];
    }
cleanup:
    free(sv);
    free(M);
    free(B);
    return rc;
}

int faith_linalg_wls_sum_constrained(int32_t m, int32_t n, const double *A, const double *b,
                                     const double *w, double total, double *x, faith_err *err)
{
    if (n < 1 || m < 0)
        return faith_err_set(err, FAITH_ERR_ARG, "linalg: constrained problem needs n >= 1 (got %d)",
                             (int)n);
    if (n == 1) {
        x[0] = total;
        return FAITH_OK;
    }
    /* Substituting x[n-1] = total - sum_{j<n-1} x[j]:
     *   b_i - A_i x  =  (b_i - A_{i,n-1} total) - sum_{j<n-1} (A_ij - A_{i,n-1}) x_j */
    int32_t n1 = n - 1;
    double *A1 = faith_xmalloc((size_t)m * (size_t)(n1 > 0 ? n1 : 1) * sizeof *A1);
    double *b1 = faith_xmalloc((size_t)(m > 0 ? m : 1) * sizeof *b1);
    for (int32_t i = 0; i < m; i++) {
        double last = A[(size_t)i * n + n1];
        for (int32_t j = 0; j < n1; j++) A1[(size_t)i * n1 + j] = A[(size_t)i * n + j] - last;
        b1[i] = b[i] - last * total;
    }
    int rc = faith_linalg_wls(m, n1, A1, b1, w, 0.0, 0, x, err);
    free(A1);
    free(b1);
    if (rc < 0) return rc;
    double s = 0.0;
    for (int32_t j = 0; j < n1; j++) s += x[j];
    x[n1] = total - s;
    return FAITH_OK;
}
