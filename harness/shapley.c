/* shapley.c: kernel SHAP planning (shap's size-enumeration plus paired sampling) and solve,
 * antithetic permutation sampling, and LIME's masks, kernel and ridge fit: no model anywhere. */
#include "shapley.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coalition.h"
#include "linalg.h"

/* ---- kernel SHAP ---- */

static double binom(int32_t n, int32_t k)
{
    if (k < 0 || k > n) return 0.0;
    if (k > n - k) k = n - k;
    double r = 1.0;
    for (int32_t i = 1; i <= k; i++) r = r * (double)(n - k + i) / (double)i;
    return r;
}

int64_t faith_kernel_shap_default_samples(int32_t d)
{
    int64_t s = 2 * (int64_t)d + 2048;
    if (d < 62) {
        int64_t all = ((int64_t)1 << d) - 2;
        if (all < s) s = all;
    }
    return s;
}

/* Growing list of (mask, weight) rows backed by a mask set, so repeats are found. */
typedef struct rows {
    faith_mask_set *set;
    double *w;
    int64_t cap;
} rows;

static void rows_bump(rows *r, const uint8_t *mask, double w, int may_add, int64_t *left)
{
    int64_t k = faith_mask_set_find(r->set, mask);
    if (k >= 0) {
        r->w[k] += w;
        return;
    }
    if (!may_add || (left && *left <= 0)) return;
    k = faith_mask_set_add(r->set, mask, NULL);
    if (k >= r->cap) {
        r->cap = r->cap ? 2 * r->cap : 64;
        r->w = faith_xrealloc(r->w, (size_t)r->cap * sizeof *r->w);
    }
    r->w[k] = w;
    if (left) (*left)--;
}

static void complement(int32_t d, const uint8_t *m, uint8_t *out)
{
    for (int32_t i = 0; i < d; i++) out[i] = (uint8_t)!m[i];
}

/* Every coalition of size s, with weight w, and its complement too when paired. */
static void enumerate_size(rows *r, int32_t d, int32_t s, double w, int paired, uint8_t *mask,
                           uint8_t *comp)
{
    int32_t *c = faith_xmalloc((size_t)(s > 0 ? s : 1) * sizeof *c);
    for (int32_t i = 0; i < s; i++) c[i] = i;
    for (;;) {
        memset(mask, 0, (size_t)d);
        for (int32_t i = 0; i < s; i++) mask[c[i]] = 1;
        rows_bump(r, mask, w, 1, NULL);
        if (paired) {
            complement(d, mask, comp);
            rows_bump(r, comp, w, 1, NULL);
        }
        int32_t i = s - 1;
        while (i >= 0 && c[i] == d - s + i) i--;
        if (i < 0) break;
        c[i]++;
        for (int32_t j = i + 1; j < s; j++) c[j] = c[j - 1] + 1;
    }
    free(c);
}

static void plan_exact(int32_t d, rows *r, uint8_t *mask)
{
    double total = 0.0;
    for (uint64_t bits = 1; bits + 1 < ((uint64_t)1 << d); bits++) {
        int32_t s = 0;
        for (int32_t i = 0; i < d; i++) {
            mask[i] = (uint8_t)((bits >> i) & 1u);
            s += mask[i];
        }
        double w = (double)(d - 1) / (binom(d, s) * (double)s * (double)(d - s));
        rows_bump(r, mask, w, 1, NULL);
        total += w;
    }
    for (int64_t k = 0; k < faith_mask_set_size(r->set); k++) r->w[k] /= total;
}

/* shap's KernelExplainer sampling: see faith_kernel_shap_plan. */
static void plan_sampled(int32_t d, int64_t samples, faith_rng *rng, rows *r, uint8_t *mask,
                         uint8_t *comp)
{
    int32_t n_sizes = d / 2, n_paired = (d - 1) / 2; /* ceil((d-1)/2), floor((d-1)/2) */
    double *wv = faith_xmalloc((size_t)n_sizes * sizeof *wv);
    double *rem = faith_xmalloc((size_t)n_sizes * sizeof *rem);
    double sum = 0.0;
    for (int32_t s = 1; s <= n_sizes; s++) {
        wv[s - 1] = (double)(d - 1) / ((double)s * (double)(d - s)) * (s <= n_paired ? 2.0 : 1.0);
        sum += wv[s - 1];
    }
    for (int32_t s = 0; s < n_sizes; s++) rem[s] = wv[s] /= sum;
    int64_t left = samples;
    int32_t n_full = 0;
    for (int32_t s = 1; s <= n_sizes; s++) {
        int paired = s <= n_paired;
        double n_sub = binom(d, s) * (paired ? 2.0 : 1.0);
        if (!((double)left * rem[s - 1] / n_sub >= 1.0 - 1e-8)) break;
        n_full++;
        left -= (int64_t)n_sub;
        if (rem[s - 1] < 1.0) {
            double scale = 1.0 - rem[s - 1];
            for (int32_t k = 0; k < n_sizes; k++) rem[k] /= scale;
        }
        enumerate_size(r, d, s, wv[s - 1] / n_sub, paired, mask, comp);
    }
    int64_t fixed = faith_mask_set_size(r->set);
    if (n_full < n_sizes && left > 0) {
        /* the remaining sizes, each paired draw counted once */
        int32_t m = n_sizes - n_full;
        double *cdf = faith_xmalloc((size_t)m * sizeof *cdf), acc = 0.0, weight_left = 0.0;
        for (int32_t k = 0; k < m; k++) {
            int32_t s = n_full + 1 + k;
            acc += wv[s - 1] / (s <= n_paired ? 2.0 : 1.0);
            cdf[k] = acc;
            weight_left += wv[s - 1];
        }
        int32_t *perm = faith_xmalloc((size_t)d * sizeof *perm);
        for (int32_t i = 0; i < d; i++) perm[i] = i;
        int64_t max_draws = 4 * left;
        for (int64_t draw = 0; draw < max_draws && left > 0; draw++) {
            double u = faith_rng_uniform(rng) * acc;
            int32_t k = 0;
            while (k < m - 1 && u >= cdf[k]) k++;
            int32_t s = n_full + 1 + k;
            faith_mask_random_subset(d, s, 1, rng, perm, mask);
            rows_bump(r, mask, 1.0, 1, &left);
            if (s <= n_paired) {
                complement(d, mask, comp);
                rows_bump(r, comp, 1.0, 1, &left);
            }
        }
        /* sampled rows share what is left of the kernel mass in proportion to their draws */
        double cnt = 0.0;
        int64_t n = faith_mask_set_size(r->set);
        for (int64_t k = fixed; k < n; k++) cnt += r->w[k];
        for (int64_t k = fixed; k < n; k++) r->w[k] *= weight_left / cnt;
        free(perm);
        free(cdf);
    }
    free(rem);
    free(wv);
}

int faith_kernel_shap_plan(int32_t d, int64_t samples, faith_rng *rng, faith_kshap_plan *plan,
                           faith_err *err)
{
    memset(plan, 0, sizeof *plan);
    plan->d = d;
    if (d < 0 || samples < 1)
        return faith_err_set(err, FAITH_ERR_ARG, "kernel_shap: need d >= 0 and samples >= 1 (got %d, %lld)",
                             (int)d, (long long)samples);
    int exact = d < 62 && ((int64_t)1 << d) - 2 <= samples;
    plan->exact = exact || d < 2;
    if (d < 2) return FAITH_OK; /* nothing to regress: phi = v_full - v_empty for d = 1 */
    rows r = {faith_mask_set_create(d), NULL, 0};
    uint8_t *mask = faith_xmalloc((size_t)d), *comp = faith_xmalloc((size_t)d);
    if (exact) plan_exact(d, &r, mask);
    else plan_sampled(d, samples, rng, &r, mask, comp);
    plan->n = faith_mask_set_size(r.set);
    plan->masks = faith_xmalloc((size_t)(plan->n > 0 ? plan->n : 1) * (size_t)d);
    memcpy(plan->masks, faith_mask_set_data(r.set), (size_t)plan->n * (size_t)d);
    plan->weights = faith_xmalloc((size_t)(plan->n > 0 ? plan->n : 1) * sizeof *plan->weights);
    if (plan->n > 0) memcpy(plan->weights, r.w, (size_t)plan->n * sizeof *plan->weights);
    free(comp);
    free(mask);
    free(r.w);
    faith_mask_set_free(r.set);
    return FAITH_OK;
}

void faith_kernel_shap_plan_free(faith_kshap_plan *plan)
{
    free(plan->masks);
    free(plan->weights);
    plan->masks = NULL;
    plan->weights = NULL;
    plan->n = 0;
}

int faith_kernel_shap_solve(int32_t d, int64_t n, const uint8_t *masks, const double *weights,
                            const double *values, double v_empty, double v_full, double *phi,
                            faith_err *err)
{
    if (d == 0) return FAITH_OK;
    if (n > INT32_MAX)
        return faith_err_set(err, FAITH_ERR_RANGE, "kernel_shap: %lld coalitions, max %d",
                             (long long)n, INT32_MAX);
    double *A = faith_xmalloc((size_t)(n > 0 ? n : 1) * (size_t)d * sizeof *A);
    double *b = faith_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    for (int64_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < d; j++) A[(size_t)i * d + j] = masks[(size_t)i * d + j];
        b[i] = values[i] - v_empty;
    }
    int rc = faith_linalg_wls_sum_constrained((int32_t)n, d, A, b, weights, v_full - v_empty, phi,
                                              err);
    free(b);
    free(A);
    return rc;
}

/* ---- permutation sampling ---- */

void faith_shapley_perm_plan(int32_t d, int32_t n_perm, faith_rng *rng, int32_t *perms)
{
    for (int32_t p = 0; p < n_perm; p++) {
        int32_t *row = perms + (size_t)p * d;
        if (p % 2 == 1) {
            const int32_t *prev = row - d;
            for (int32_t i = 0; i < d; i++) row[i] = prev[d - 1 - i];
            continue;
        }
        for (int32_t i = 0; i < d; i++) row[i] = i;
        for (int32_t i = d - 1; i > 0; i--) {
            int32_t j = (int32_t)faith_rng_below(rng, (uint64_t)i + 1);
            int32_t t = row[i];
            row[i] = row[j];
            row[j] = t;
        }
    }
}

void faith_shapley_perm_masks(int32_t d, int32_t n_perm, const int32_t *perms, uint8_t *masks)
{
    for (int32_t p = 0; p < n_perm; p++) {
        uint8_t *m = masks + (size_t)p * (size_t)(d + 1) * d;
        memset(m, 0, (size_t)d);
        for (int32_t k = 1; k <= d; k++) {
            memcpy(m + (size_t)k * d, m + (size_t)(k - 1) * d, (size_t)d);
            m[(size_t)k * d + perms[(size_t)p * d + k - 1]] = 1;
        }
    }
}

void faith_shapley_perm_estimate(int32_t d, int32_t n_perm, const int32_t *perms,
                                 const double *values, double *phi)
{
    for (int32_t j = 0; j < d; j++) phi[j] = 0.0;
    for (int32_t p = 0; p < n_perm; p++) {
        const double *v = values + (size_t)p * (d + 1);
        for (int32_t k = 0; k < d; k++) phi[perms[(size_t)p * d + k]] += v[k + 1] - v[k];
    }
    if (n_perm > 0)
        for (int32_t j = 0; j < d; j++) phi[j] /= n_perm;
}

/* ---- LIME ---- */

void faith_lime_masks(int32_t d, int64_t samples, faith_rng *rng, uint8_t *masks)
{
    if (samples <= 0 || d <= 0) return;
    memset(masks, 1, (size_t)d);
    int32_t *perm = faith_xmalloc((size_t)d * sizeof *perm);
    for (int32_t i = 0; i < d; i++) perm[i] = i;
    for (int64_t s = 1; s < samples; s++) {
        int32_t k = 1 + (int32_t)faith_rng_below(rng, (uint64_t)d);
        faith_mask_random_subset(d, k, 0, rng, perm, masks + (size_t)s * d);
    }
    free(perm);
}

void faith_lime_weights(int32_t d, int64_t samples, const uint8_t *masks, double width,
                        double *weights)
{
    for (int64_t s = 0; s < samples; s++) {
        int32_t kept = 0;
        for (int32_t j = 0; j < d; j++) kept += masks[(size_t)s * d + j] != 0;
        double dist = kept > 0 && d > 0 ? 1.0 - sqrt((double)kept / (double)d) : 1.0;
        if (dist < 0.0) dist = 0.0;
        weights[s] = sqrt(exp(-dist * dist / (width * width)));
    }
}

int faith_lime_fit(int32_t d, int64_t samples, const uint8_t *masks, const double *y,
                   const double *weights, double alpha, double *coef, double *intercept,
                   faith_err *err)
{
    if (samples > INT32_MAX)
        return faith_err_set(err, FAITH_ERR_RANGE, "lime: %lld samples, max %d", (long long)samples,
                             INT32_MAX);
    int32_t cols = d + 1;
    double *A = faith_xmalloc((size_t)(samples > 0 ? samples : 1) * (size_t)cols * sizeof *A);
    for (int64_t s = 0; s < samples; s++) {
        double *row = A + (size_t)s * cols;
        row[0] = 1.0;
        for (int32_t j = 0; j < d; j++) row[1 + j] = masks[(size_t)s * d + j];
    }
    double *x = faith_xmalloc((size_t)cols * sizeof *x);
    int rc = faith_linalg_wls((int32_t)samples, cols, A, y, weights, alpha, 1, x, err);
    if (rc == FAITH_OK) {
        *intercept = x[0];
        memcpy(coef, x + 1, (size_t)d * sizeof *coef);
    }
    free(x);
    free(A);
    return rc;
}
