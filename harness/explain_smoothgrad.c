/* explain_smoothgrad.c: SmoothGrad (Smilkov et al. 2017): gradients averaged over Gaussian noise added
 * to the word embeddings of non-special tokens, all noisy copies in one batched call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "embed_points.h"
#include "explainer.h"
#include "params.h"
#include "rng.h"

#define OWNER "explainers.smoothgrad"

typedef struct smoothgrad {
    int64_t samples;
    double stdev;     /* noise level as a fraction of the example's embedding value range */
    int multiply;     /* 0: L2 norm of the mean gradient; 1: dot(mean gradient, embedding) */
} smoothgrad;

static int sg_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const KEYS[] = {"samples", "stdev", "multiply"};
    FAITH_TRY(faith_params_check(OWNER, params, KEYS, 3, err));
    smoothgrad *s = faith_xcalloc(1, sizeof *s);
    int rc = FAITH_OK;
    FAITH_CHECK(faith_params_int(OWNER, params, "samples", 20, 1, 100000, &s->samples, err));
    FAITH_CHECK(faith_params_double(OWNER, params, "stdev", 0.15, 0.0, 1e6, &s->stdev, err));
    FAITH_CHECK(faith_params_bool(OWNER, params, "multiply", 0, &s->multiply, err));
    *state = s;
    return FAITH_OK;
cleanup:
    free(s);
    return rc;
}

static void sg_destroy(void *state) { free(state); }

static cJSON *sg_params(const void *state)
{
    const smoothgrad *s = state;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "samples", (double)s->samples);
    cJSON_AddNumberToObject(j, "stdev", s->stdev);
    cJSON_AddBoolToObject(j, "multiply", s->multiply);
    return j;
}

static int sg_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                      faith_explain_extra *extra, faith_err *err)
{
    (void)extra;
    const smoothgrad *s = state;
    int32_t n = it->n, C = faith_model_cfg(env->model)->d_model, S = (int32_t)s->samples;
    size_t nc = (size_t)n * C;
    faith_embed_points pts;
    FAITH_TRY(faith_embed_points_init(&pts, env, it, S, err));
    const float *x = pts.x;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < nc; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    double sigma = s->stdev * ((double)hi - lo);
    /* Draws in (sample, token, dim) order from the example's own stream: batching cannot change them. */
    faith_rng rng;
    faith_rng_init(&rng, env->seed, it->id, "smoothgrad");
    for (int32_t k = 0; k < S; k++) {
        float *e = faith_embed_point(&pts, k);
        memcpy(e, x, nc * sizeof(float));
        for (int32_t t = 0; t < n; t++) {
            if (it->special && it->special[t]) continue;
            for (int32_t c = 0; c < C; c++)
                e[(size_t)t * C + c] = (float)(e[(size_t)t * C + c] + sigma * faith_rng_normal(&rng));
        }
    }
    int rc = faith_embed_points_run(&pts, env, it, faith_grad_budget(env->token_budget), err);
    if (rc == FAITH_OK) {
        double *mean = faith_xcalloc(nc, sizeof *mean);
        for (int32_t k = 0; k < S; k++) {
            const float *g = faith_embed_grad(&pts, k);
            for (size_t i = 0; i < nc; i++) mean[i] += g[i];
        }
        for (int32_t t = 0; t < n; t++) {
            double acc = 0;
            for (int32_t c = 0; c < C; c++) {
                double g = mean[(size_t)t * C + c] / S;
                acc += s->multiply ? g * x[(size_t)t * C + c] : g * g;
            }
            scores[t] = (float)(s->multiply ? acc : sqrt(acc));
        }
        free(mean);
    }
    faith_embed_points_free(&pts);
    return rc;
}

const faith_explainer_ops faith_explainer_smoothgrad = {
    .name = "smoothgrad",
    .version = "1",
    .summary = "gradient averaged over Gaussian noise on the word embeddings (norm, or x input)",
    .create = sg_create,
    .destroy = sg_destroy,
    .params_json = sg_params,
    .explain = sg_explain,
};
