/* explain_integrated_gradients.c: Integrated Gradients (Sundararajan et al. 2017) on the word
 * embeddings, by Gauss-Legendre or Riemann quadrature, every point of an example in one batched call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "embed_points.h"
#include "explainer.h"
#include "params.h"

#define OWNER "explainers.integrated_gradients"

enum { M_GL = 0, M_LEFT, M_RIGHT, M_MIDDLE, M_TRAPEZOID };
static const char *const METHODS[] = {"gausslegendre", "riemann_left", "riemann_right",
                                      "riemann_middle", "riemann_trapezoid"};
enum { B_PAD = 0, B_MASK, B_ZERO };
static const char *const BASELINES[] = {"pad", "mask", "zero"};

typedef struct ig {
    int64_t steps, internal_batch; /* internal_batch 0: all points in one call (budget permitting) */
    int method, baseline;
    double *alpha, *weight;        /* (steps) quadrature nodes on [0, 1] and weights */
} ig;

/* Gauss-Legendre nodes and weights on [-1, 1] by Newton's method on P_m, using the three-term
 * recurrence; then mapped to [0, 1], ascending. */
static void gauss_legendre(int64_t m, double *a, double *w)
{
    for (int64_t i = 0; i < (m + 1) / 2; i++) {
        double z = cos(M_PI * ((double)i + 0.75) / ((double)m + 0.5)), p1 = 0, dp = 1;
        for (int iter = 0; iter < 100; iter++) {
            double p0 = 1.0;
            p1 = z;
            for (int64_t k = 2; k <= m; k++) {
                double p2 = ((2.0 * k - 1.0) * z * p1 - (k - 1.0) * p0) / (double)k;
                p0 = p1;
                p1 = p2;
            }
            dp = (double)m * (z * p1 - p0) / (z * z - 1.0);
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        double wi = 2.0 / ((1.0 - z * z) * dp * dp);
        a[i] = 0.5 * (1.0 - z);
        a[m - 1 - i] = 0.5 * (1.0 + z);
        w[i] = w[m - 1 - i] = 0.5 * wi;
    }
}

static void quadrature(int method, int64_t m, double *a, double *w)
{
    if (method == M_GL) {
        gauss_legendre(m, a, w);
        return;
    }
    for (int64_t k = 0; k < m; k++) {
        double off = method == M_LEFT ? 0.0 : method == M_RIGHT ? 1.0 : 0.5;
        if (method == M_TRAPEZOID) {
            a[k] = (double)k / (double)(m - 1);
            w[k] = (k == 0 || k == m - 1 ? 0.5 : 1.0) / (double)(m - 1);
        } else {
            a[k] = ((double)k + off) / (double)m;
            w[k] = 1.0 / (double)m;
        }
    }
}

static void ig_destroy(void *state)
{
    ig *s = state;
    if (!s) return;
    free(s->alpha);
    free(s->weight);
    free(s);
}

static int ig_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const KEYS[] = {"steps", "method", "baseline", "internal_batch"};
    FAITH_TRY(faith_params_check(OWNER, params, KEYS, 4, err));
    ig *s = faith_xcalloc(1, sizeof *s);
    int rc = FAITH_OK;
    FAITH_CHECK(faith_params_int(OWNER, params, "steps", 50, 1, 100000, &s->steps, err));
    FAITH_CHECK(faith_params_choice(OWNER, params, "method", METHODS, 5, M_GL, &s->method, err));
    FAITH_CHECK(faith_params_choice(OWNER, params, "baseline", BASELINES, 3, B_PAD, &s->baseline, err));
    FAITH_CHECK(faith_params_int(OWNER, params, "internal_batch", 0, 1, 1000000, &s->internal_batch,
                                 err));
    /* the nodes come from Newton's method on P_m, O(m^2): 10^4 points take a fraction of a second,
     * 10^5 a minute, far past where the rule stops gaining accuracy */
    if (s->method == M_GL && s->steps > 10000) {
        rc = faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.steps: %lld Gauss-Legendre points, expected at most "
                           "10000 (a riemann method takes up to 100000)", (long long)s->steps);
        goto cleanup;
    }
    if (s->method == M_TRAPEZOID && s->steps < 2) {
        rc = faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.steps: riemann_trapezoid needs at least 2");
        goto cleanup;
    }
    s->alpha = faith_xmalloc((size_t)s->steps * sizeof(double));
    s->weight = faith_xmalloc((size_t)s->steps * sizeof(double));
    quadrature(s->method, s->steps, s->alpha, s->weight);
    *state = s;
    return FAITH_OK;
cleanup:
    ig_destroy(s);
    return rc;
}

static cJSON *ig_params(const void *state)
{
    const ig *s = state;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "steps", (double)s->steps);
    cJSON_AddStringToObject(j, "method", METHODS[s->method]);
    cJSON_AddStringToObject(j, "baseline", BASELINES[s->baseline]);
    if (s->internal_batch > 0) cJSON_AddNumberToObject(j, "internal_batch", (double)s->internal_batch);
    else cJSON_AddStringToObject(j, "internal_batch", "all");
    return j;
}

/* The token whose embedding is the baseline (0, unused, for the zero baseline). */
static int baseline_id(const ig *s, const faith_env *env, int32_t *ref, faith_err *err)
{
    int32_t V = faith_model_cfg(env->model)->vocab_size;
    *ref = s->baseline == B_PAD ? env->special.pad : s->baseline == B_MASK ? env->special.mask : 0;
    if (s->baseline != B_ZERO && (*ref < 0 || *ref >= V))
        return faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.baseline: \"%s\" needs a %s token, "
                             "the tokenizer has none", BASELINES[s->baseline],
                             s->baseline == B_PAD ? "padding" : "mask");
    return FAITH_OK;
}

static int ig_check(const void *state, const faith_env *env, faith_err *err)
{
    int32_t ref;
    return baseline_id(state, env, &ref, err);
}

/* xb (n, C): the baseline for the example whose embeddings are x; it keeps special tokens. */
static int make_baseline(const ig *s, const faith_env *env, const faith_item *it, const float *x, float *xb,
                         faith_err *err)
{
    int32_t C = faith_model_cfg(env->model)->d_model, ref;
    const float *E = faith_model_word_embeddings(env->model);
    FAITH_TRY(baseline_id(s, env, &ref, err));
    for (int32_t t = 0; t < it->n; t++) {
        const float *xt = x + (size_t)t * C;
        float *bt = xb + (size_t)t * C;
        if (it->special && it->special[t]) memcpy(bt, xt, (size_t)C * sizeof(float));
        else if (s->baseline == B_ZERO) memset(bt, 0, (size_t)C * sizeof(float));
        else memcpy(bt, E + (size_t)ref * C, (size_t)C * sizeof(float));
    }
    return FAITH_OK;
}

static int ig_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                      faith_explain_extra *extra, faith_err *err)
{
    const ig *s = state;
    int32_t n = it->n, C = faith_model_cfg(env->model)->d_model;
    int32_t P = (int32_t)s->steps, S = P + 2; /* points, then x, then the baseline */
    size_t nc = (size_t)n * C;
    faith_embed_points pts;
    FAITH_TRY(faith_embed_points_init(&pts, env, it, S, err));
    const float *x = pts.x;
    float *xb = faith_xmalloc(nc * sizeof(float));
    double *acc = faith_xcalloc(nc, sizeof *acc);
    int rc = FAITH_OK;
    FAITH_CHECK(make_baseline(s, env, it, x, xb, err));
    for (int32_t k = 0; k < S; k++) {
        double a = k < P ? s->alpha[k] : k == P ? 1.0 : 0.0;
        float *e = faith_embed_point(&pts, k);
        if (k == P) memcpy(e, x, nc * sizeof(float));
        else if (k == P + 1) memcpy(e, xb, nc * sizeof(float));
        else
            for (size_t i = 0; i < nc; i++) e[i] = (float)(xb[i] + a * ((double)x[i] - xb[i]));
    }
    int64_t budget = faith_grad_budget(env->token_budget);
    if (s->internal_batch > 0 && s->internal_batch * n < budget) budget = s->internal_batch * n;
    FAITH_CHECK(faith_embed_points_run(&pts, env, it, budget, err));
    /* Weighted sum of the gradients over points in a fixed order: the same bits for any batching. */
    for (int32_t k = 0; k < P; k++) {
        const float *g = faith_embed_grad(&pts, k);
        for (size_t i = 0; i < nc; i++) acc[i] += s->weight[k] * g[i];
    }
    double total = 0;
    for (int32_t t = 0; t < n; t++) {
        double d = 0;
        for (int32_t c = 0; c < C; c++) {
            size_t i = (size_t)t * C + c;
            d += ((double)x[i] - xb[i]) * acc[i];
        }
        scores[t] = (float)d;
        total += d;
    }
    extra->delta_f = pts.values[P] - pts.values[P + 1];
    extra->completeness_gap = fabs(total - extra->delta_f);
cleanup:
    free(xb);
    free(acc);
    faith_embed_points_free(&pts);
    return rc;
}

const faith_explainer_ops faith_explainer_integrated_gradients = {
    .name = "integrated_gradients",
    .version = "1",
    .summary = "Integrated Gradients on the word embeddings from a [PAD], [MASK] or zero baseline",
    .create = ig_create,
    .destroy = ig_destroy,
    .params_json = ig_params,
    .explain = ig_explain,
    .check = ig_check,
};
