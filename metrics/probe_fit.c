/* probe_fit.c: softmax regression for the probes: standardised double features, L2 on the
 * weights, L-BFGS from zero with a fixed iteration count, lambda chosen on a held-out split. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "rng.h"

static const double DEFAULT_LAMBDAS[] = {1e-4, 1e-3, 1e-2, 1e-1, 1.0};
#define LBFGS_M 10

void faith_probe_opts_default(faith_probe_opts *o)
{
    if (o->iters <= 0) o->iters = 100;
    if (o->n_lambdas <= 0 || !o->lambdas) {
        o->lambdas = DEFAULT_LAMBDAS;
        o->n_lambdas = sizeof DEFAULT_LAMBDAS / sizeof DEFAULT_LAMBDAS[0];
    }
    if (!(o->holdout > 0 && o->holdout < 1)) o->holdout = 0.2;
}

/* A design matrix: rows standardised with the statistics of the rows the probe is fit on. */
typedef struct design {
    int64_t N;
    int32_t D, K;
    double *X;        /* (N, D) */
    const int32_t *y; /* (N) */
} design;

/* Objective and gradient at theta = [W (D, K) row-major, b (K)]:
 *   f = mean_i CE(softmax(x_i W + b), y_i) + lambda / 2 * |W|^2 */
static double loss_grad(const design *d, double lambda, const double *theta, double *grad, double *Z)
{
    int64_t N = d->N;
    int32_t D = d->D, K = d->K;
    const double *W = theta, *b = theta + (size_t)D * K;
    for (int64_t i = 0; i < N; i++) memcpy(Z + i * K, b, sizeof *Z * (size_t)K);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, K, D, 1.0, d->X, D, W, K, 1.0, Z, K);
    double f = 0;
    double *gb = grad + (size_t)D * K;
    memset(gb, 0, sizeof *gb * (size_t)K);
    for (int64_t i = 0; i < N; i++) {
        double *z = Z + i * K, mx = z[0], s = 0;
        for (int32_t k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        for (int32_t k = 0; k < K; k++) s += exp(z[k] - mx);
        f += mx + log(s) - z[d->y[i]];
        for (int32_t k = 0; k < K; k++) z[k] = (exp(z[k] - mx) / s - (k == d->y[i])) / (double)N;
        for (int32_t k = 0; k < K; k++) gb[k] += z[k];
    }
    /* gW = X^T G + lambda W */
    memcpy(grad, W, sizeof *grad * (size_t)D * K);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, K, (int)N, 1.0, d->X, D, Z, K, lambda, grad, K);
    double w2 = 0;
    for (size_t j = 0; j < (size_t)D * K; j++) w2 += W[j] * W[j];
    return f / (double)N + 0.5 * lambda * w2;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* L-BFGS (two-loop recursion, memory LBFGS_M) with Armijo backtracking; theta starts at zero. */
static void fit(const design *d, double lambda, int32_t iters, double *theta)
{
    size_t P = (size_t)d->D * d->K + d->K;
    double *g = faith_xcalloc(P, sizeof *g), *g2 = faith_xmalloc(sizeof *g2 * P);
    double *dir = faith_xmalloc(sizeof *dir * P), *t2 = faith_xmalloc(sizeof *t2 * P);
    double *S = faith_xmalloc(sizeof *S * P * LBFGS_M), *Y = faith_xmalloc(sizeof *Y * P * LBFGS_M);
    double rho[LBFGS_M], alpha[LBFGS_M];
    double *Z = faith_xmalloc(sizeof *Z * (size_t)(d->N > 0 ? d->N : 1) * (size_t)d->K);
    memset(theta, 0, sizeof *theta * P);
    double f = loss_grad(d, lambda, theta, g, Z);
    int32_t stored = 0, head = 0;
    for (int32_t it = 0; it < iters; it++) {
        double gn = sqrt(dot(g, g, P));
        if (!(gn > 1e-10)) break;
        /* two-loop recursion: dir = -H g */
        for (size_t j = 0; j < P; j++) dir[j] = -g[j];
        for (int32_t m = 0; m < stored; m++) {
            int32_t s = (head - 1 - m + LBFGS_M) % LBFGS_M;
            alpha[s] = rho[s] * dot(S + s * P, dir, P);
            for (size_t j = 0; j < P; j++) dir[j] -= alpha[s] * Y[s * P + j];
        }
        double gamma = 1.0 / gn;
        if (stored > 0) {
            int32_t s = (head - 1 + LBFGS_M) % LBFGS_M;
            gamma = dot(S + s * P, Y + s * P, P) / dot(Y + s * P, Y + s * P, P);
        }
        for (size_t j = 0; j < P; j++) dir[j] *= gamma;
        for (int32_t m = stored - 1; m >= 0; m--) {
            int32_t s = (head - 1 - m + LBFGS_M) % LBFGS_M;
            double beta = rho[s] * dot(Y + s * P, dir, P);
            for (size_t j = 0; j < P; j++) dir[j] += S[s * P + j] * (alpha[s] - beta);
        }
        double slope = dot(g, dir, P);
        if (!(slope < 0)) { /* not a descent direction: restart from steepest descent */
            for (size_t j = 0; j < P; j++) dir[j] = -g[j] / gn;
            slope = -gn;
            stored = 0;
        }
        double step = 1.0, f2 = f;
        int ok = 0;
        for (int32_t ls = 0; ls < 40; ls++, step *= 0.5) {
            for (size_t j = 0; j < P; j++) t2[j] = theta[j] + step * dir[j];
            f2 = loss_grad(d, lambda, t2, g2, Z);
            if (f2 <= f + 1e-4 * step * slope) {
                ok = 1;
                break;
            }
        }
        if (!ok) break;
        double *s = S + head * P, *y = Y + head * P;
        for (size_t j = 0; j < P; j++) {
            s[j] = t2[j] - theta[j];
            y[j] = g2[j] - g[j];
        }
        double sy = dot(s, y, P);
        memcpy(theta, t2, sizeof *theta * P);
        memcpy(g, g2, sizeof *g * P);
        double df = f - f2;
        f = f2;
        if (sy > 1e-12) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % LBFGS_M;
            if (stored < LBFGS_M) stored++;
        }
        if (df <= 1e-12 * (fabs(f) + 1e-12)) break;
    }
    free(g);
    free(g2);
    free(dir);
    free(t2);
    free(S);
    free(Y);
    free(Z);
}

/* Accuracy of theta on standardised rows X (N, D). */
static double accuracy(const design *d, const double *theta)
{
    if (d->N == 0) return NAN;
    int32_t D = d->D, K = d->K;
    int64_t hit = 0;
    for (int64_t i = 0; i < d->N; i++) {
        int32_t best = 0;
        double bz = -INFINITY;
        for (int32_t k = 0; k < K; k++) {
            double z = theta[(size_t)D * K + k];
            for (int32_t c = 0; c < D; c++) z += d->X[i * D + c] * theta[(size_t)c * K + k];
            if (z > bz) {
                bz = z;
                best = k;
            }
        }
        hit += best == d->y[i];
    }
    return (double)hit / (double)d->N;
}

/* Rows of x (stride) selected by sel (or all labelled rows when sel is NULL), standardised with
 * mu / sd. */
static void build(design *d, int32_t D, int32_t K, int64_t stride, int64_t n, const float *x,
                  const int32_t *y, const uint8_t *sel, const double *mu, const double *sd,
                  int32_t *ybuf)
{
    d->D = D;
    d->K = K;
    d->N = 0;
    for (int64_t i = 0; i < n; i++) d->N += y[i] >= 0 && y[i] < K && (!sel || sel[i]);
    d->X = faith_xmalloc(sizeof *d->X * (size_t)(d->N > 0 ? d->N : 1) * (size_t)D);
    int64_t r = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(y[i] >= 0 && y[i] < K && (!sel || sel[i]))) continue;
        for (int32_t c = 0; c < D; c++) d->X[r * D + c] = ((double)x[i * stride + c] - mu[c]) / sd[c];
        ybuf[r++] = y[i];
    }
    d->y = ybuf;
}

static void moments(int32_t D, int32_t K, int64_t stride, int64_t n, const float *x, const int32_t *y,
                    const uint8_t *sel, double *mu, double *sd)
{
    int64_t m = 0;
    memset(mu, 0, sizeof *mu * (size_t)D);
    memset(sd, 0, sizeof *sd * (size_t)D);
    for (int64_t i = 0; i < n; i++) {
        if (!(y[i] >= 0 && y[i] < K && (!sel || sel[i]))) continue;
        m++;
        for (int32_t c = 0; c < D; c++) mu[c] += x[i * stride + c];
    }
    for (int32_t c = 0; c < D; c++) mu[c] = m ? mu[c] / (double)m : 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(y[i] >= 0 && y[i] < K && (!sel || sel[i]))) continue;
        for (int32_t c = 0; c < D; c++) sd[c] += (x[i * stride + c] - mu[c]) * (x[i * stride + c] - mu[c]);
    }
    /* constant features stay 0 after centring; dividing by 1 keeps them harmless */
    for (int32_t c = 0; c < D; c++) sd[c] = m > 1 && sd[c] > 0 ? sqrt(sd[c] / (double)(m - 1)) : 1.0;
}

/* Fit on the rows flagged in fit_sel (all labelled train rows when NULL), score on (n2, x2, y2). */
static double fit_score(int32_t D, int32_t K, int64_t stride, int64_t n, const float *x,
                        const int32_t *y, const uint8_t *fit_sel, int64_t n2, const float *x2,
                        const int32_t *y2, const uint8_t *score_sel, double lambda, int32_t iters)
{
    double *mu = faith_xmalloc(sizeof *mu * (size_t)D), *sd = faith_xmalloc(sizeof *sd * (size_t)D);
    int32_t *yb1 = faith_xmalloc(sizeof *yb1 * (size_t)(n > 0 ? n : 1));
    int32_t *yb2 = faith_xmalloc(sizeof *yb2 * (size_t)(n2 > 0 ? n2 : 1));
    double *theta = faith_xmalloc(sizeof *theta * ((size_t)D * K + K));
    moments(D, K, stride, n, x, y, fit_sel, mu, sd);
    design tr, ev;
    build(&tr, D, K, stride, n, x, y, fit_sel, mu, sd, yb1);
    build(&ev, D, K, stride, n2, x2, y2, score_sel, mu, sd, yb2);
    /* Single-threaded BLAS: a threaded dgemm would round the fit differently with the thread count. */
    int saved = faith_serial_begin();
    fit(&tr, lambda, iters, theta);
    faith_serial_end(saved);
    double acc = accuracy(&ev, theta);
    free(tr.X);
    free(ev.X);
    free(mu);
    free(sd);
    free(yb1);
    free(yb2);
    free(theta);
    return acc;
}

int faith_probe_fit_eval(int32_t D, int32_t K, int64_t stride, int64_t n_train, const float *x_train,
                         const int64_t *ids_train, const int32_t *y_train, int64_t n_eval,
                         const float *x_eval, const int32_t *y_eval, const faith_probe_opts *opts_in,
                         faith_probe_fit *out, faith_err *err)
{
    if (D < 1 || K < 2 || stride < D)
        return faith_err_set(err, FAITH_ERR_ARG, "probe: need D >= 1, K >= 2 and stride >= D (got %d, %d, %lld)",
                             D, K, (long long)stride);
    faith_probe_opts o = *opts_in;
    faith_probe_opts_default(&o);
    uint8_t *hold = faith_xcalloc((size_t)(n_train > 0 ? n_train : 1), 1);
    uint8_t *keep = faith_xcalloc((size_t)(n_train > 0 ? n_train : 1), 1);
    int64_t n_hold = 0, n_keep = 0;
    for (int64_t i = 0; i < n_train; i++) {
        faith_rng r;
        faith_rng_init(&r, o.seed, ids_train[i], "probe/holdout");
        hold[i] = faith_rng_uniform(&r) < o.holdout;
        keep[i] = !hold[i];
        int lab = y_train[i] >= 0 && y_train[i] < K;
        n_hold += hold[i] && lab;
        n_keep += keep[i] && lab;
    }
    /* without both sides of the split there is nothing to choose on: the middle of the grid */
    double lambda = o.lambdas[o.n_lambdas / 2];
    if (n_hold > 0 && n_keep > 0) {
        double best = -1;
        for (int32_t j = o.n_lambdas - 1; j >= 0; j--) {
            double acc = fit_score(D, K, stride, n_train, x_train, y_train, keep, n_train, x_train,
                                   y_train, hold, o.lambdas[j], o.iters);
            if (acc > best) {
                best = acc;
                lambda = o.lambdas[j];
            }
        }
    }
    /* the majority baseline: the share of the most frequent class among the eval rows */
    int64_t n_ev = 0, ev_count[FAITH_MAX_CLASSES] = {0}, top = 0;
    for (int64_t i = 0; i < n_eval; i++)
        if (y_eval[i] >= 0 && y_eval[i] < K && y_eval[i] < FAITH_MAX_CLASSES) {
            n_ev++;
            if (++ev_count[y_eval[i]] > top) top = ev_count[y_eval[i]];
        }
    out->lambda = lambda;
    out->majority = n_ev ? (double)top / (double)n_ev : NAN;
    out->accuracy = fit_score(D, K, stride, n_train, x_train, y_train, NULL, n_eval, x_eval, y_eval,
                              NULL, lambda, o.iters);
    free(hold);
    free(keep);
    return FAITH_OK;
}

int faith_probe_run(const faith_model_config *cfg, const char *property, int32_t K,
                    const faith_probe_data *train, const faith_probe_data *eval,
                    const faith_probe_opts *opts, cJSON **out, faith_err *err)
{
    *out = NULL;
    int32_t C = cfg->d_model;
    int64_t width = faith_probe_feature_width(cfg);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "property", property ? property : "");
    cJSON_AddNumberToObject(o, "classes", K);
    cJSON_AddNumberToObject(o, "n_train", (double)train->n);
    cJSON_AddNumberToObject(o, "n_eval", (double)eval->n);
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int32_t l = 0; l <= cfg->n_layers; l++)
        for (int pool = 0; pool < 2; pool++) {
            int64_t off = (int64_t)(l * 2 + pool) * C;
            faith_probe_fit fp, fc;
            int rc = faith_probe_fit_eval(C, K, width, train->n, train->feats + off, train->ids,
                                          train->labels, eval->n, eval->feats + off, eval->labels,
                                          opts, &fp, err);
            if (rc == FAITH_OK)
                rc = faith_probe_fit_eval(C, K, width, train->n, train->feats + off, train->ids,
                                          train->control, eval->n, eval->feats + off, eval->control,
                                          opts, &fc, err);
            if (rc != FAITH_OK) {
                cJSON_Delete(o);
                return faith_err_prefix(err, "probe layer %d %s: ", l, pool ? "mean" : "cls");
            }
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "layer", l);
            cJSON_AddStringToObject(e, "pool", pool ? "mean" : "cls");
            cJSON_AddNumberToObject(e, "accuracy", fp.accuracy);
            cJSON_AddNumberToObject(e, "control_accuracy", fc.accuracy);
            cJSON_AddNumberToObject(e, "selectivity", fp.accuracy - fc.accuracy);
            cJSON_AddNumberToObject(e, "lambda", fp.lambda);
            cJSON_AddNumberToObject(e, "control_lambda", fc.lambda);
            cJSON_AddNumberToObject(e, "majority", fp.majority);
            cJSON_AddItemToArray(layers, e);
        }
    *out = o;
    return FAITH_OK;
}
