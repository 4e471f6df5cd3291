/* explain_saliency.c: gradient saliency (Simonyan et al. 2014): per token, a norm of the gradient of
 * the explained output with respect to that token's word-embedding vector. */
#include <math.h>
#include <stdlib.h>

#include "batcher.h"
#include "explainer.h"
#include "params.h"

enum { NORM_L2 = 0, NORM_L1, NORM_MAX };
static const char *const NORMS[] = {"l2", "l1", "max"};

typedef struct saliency { int norm; } saliency;

static int sal_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const KEYS[] = {"norm"};
    FAITH_TRY(faith_params_check("explainers.saliency", params, KEYS, 1, err));
    saliency *s = faith_xcalloc(1, sizeof *s);
    int rc = faith_params_choice("explainers.saliency", params, "norm", NORMS, 3, NORM_L2, &s->norm, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    *state = s;
    return FAITH_OK;
}

static void sal_destroy(void *state) { free(state); }

static cJSON *sal_params(const void *state)
{
    const saliency *s = state;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "norm", NORMS[s->norm]);
    return j;
}

static double norm_of(int kind, const float *g, int32_t C)
{
    double acc = 0;
    for (int32_t c = 0; c < C; c++) {
        double v = g[c];
        if (kind == NORM_L2) acc += v * v;
        else if (kind == NORM_L1) acc += fabs(v);
        else if (!(fabs(v) <= acc)) acc = fabs(v); /* a NaN wins, so it is not hidden */
    }
    return kind == NORM_L2 ? sqrt(acc) : acc;
}

static int sal_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                       faith_explain_extra *extra, faith_err *err)
{
    (void)extra;
    const saliency *s = state;
    int32_t C = faith_model_cfg(env->model)->d_model;
    float *g = faith_xmalloc((size_t)it->n * C * sizeof(float));
    double value;
    int rc = faith_run_grads(env->model, env->token_budget, 1, &it->ids, &it->type_ids, &it->n, NULL,
                             it->target, env->output, &value, &g, env->cost, err);
    if (rc == FAITH_OK)
        for (int32_t t = 0; t < it->n; t++) scores[t] = (float)norm_of(s->norm, g + (size_t)t * C, C);
    free(g);
    return rc;
}

const faith_explainer_ops faith_explainer_saliency = {
    .name = "saliency",
    .version = "1",
    .summary = "norm of the output's gradient with respect to each token's word embedding",
    .create = sal_create,
    .destroy = sal_destroy,
    .params_json = sal_params,
    .explain = sal_explain,
};
