/* explain_smoothgrad.c: SmoothGrad (Smilkov et al. 2017): gradients averaged over Gaussian noise added
 * to the word embeddings of non-special tokens, all noisy copies in one batched call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
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
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t n = it->n, C = cfg->d_model, S = (int32_t)s->samples;
    size_t nc = (size_t)n * C;
    for (int32_t t = 0; t < n; t++)
        if (it->ids[t] < 0 || it->ids[t] >= cfg->vocab_size)
            return faith_err_set(err, FAITH_ERR_RANGE, "token %d has id %d, vocabulary has %d",
                                 (int)t, (int)it->ids[t], (int)cfg->vocab_size);
    const float *E = faith_model_word_embeddings(env->model);
    float *x = faith_xmalloc(nc * sizeof(float));
    float lo = INFINITY, hi = -INFINITY;
    for (int32_t t = 0; t < n; t++) memcpy(x + (size_t)t * C, E + (size_t)it->ids[t] * C, C * sizeof(float));
    for (size_t i = 0; i < nc; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    double sigma = s->stdev * ((double)hi - lo);
    float *emb = faith_xmalloc((size_t)S * nc * sizeof(float));
    float *grad = faith_xmalloc((size_t)S * nc * sizeof(float));
    const int32_t **ids = faith_xmalloc((size_t)S * sizeof *ids);
    const int32_t **types = faith_xmalloc((size_t)S * sizeof *types);
    const float **embp = faith_xmalloc((size_t)S * sizeof *embp);
    float **gradp = faith_xmalloc((size_t)S * sizeof *gradp);
    int32_t *len = faith_xmalloc((size_t)S * sizeof *len);
    double *values = faith_xmalloc((size_t)S * sizeof *values);
    double *mean = faith_xcalloc(nc, sizeof *mean);
    /* Draws in (sample, token, dim) order from the example's own stream: batching cannot change them. */
    faith_rng rng;
    faith_rng_init(&rng, env->seed, it->id, "smoothgrad");
    for (int32_t k = 0; k < S; k++) {
        float *e = emb + (size_t)k * nc;
        memcpy(e, x, nc * sizeof(float));
        for (int32_t t = 0; t < n; t++) {
            if (it->special && it->special[t]) continue;
            for (int32_t c = 0; c < C; c++)
                e[(size_t)t * C + c] = (float)(e[(size_t)t * C + c] + sigma * faith_rng_normal(&rng));
        }
        ids[k] = it->ids;
        types[k] = it->type_ids;
        embp[k] = e;
        gradp[k] = grad + (size_t)k * nc;
        len[k] = n;
    }
    int rc = faith_run_grads(env->model, faith_grad_budget(env->token_budget), S, ids, types, len, embp, it->target,
                             env->output, values, gradp, env->cost, err);
    if (rc == FAITH_OK) {
        for (int32_t k = 0; k < S; k++)
            for (size_t i = 0; i < nc; i++) mean[i] += gradp[k][i];
        for (int32_t t = 0; t < n; t++) {
            double acc = 0;
            for (int32_t c = 0; c < C; c++) {
                double g = mean[(size_t)t * C + c] / S;
                acc += s->multiply ? g * x[(size_t)t * C + c] : g * g;
            }
            scores[t] = (float)(s->multiply ? acc : sqrt(acc));
        }
    }
    free(x);
    free(emb);
    free(grad);
    free(ids);
    free(types);
    free(embp);
    free(gradp);
    free(len);
    free(values);
    free(mean);
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
