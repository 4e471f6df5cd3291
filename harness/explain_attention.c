/* explain_attention.c: raw attention: the attention probabilities from the first token ([CLS] / <s>)
 * to every token in one layer, averaged over all or chosen heads. */
#include <stdlib.h>
#include <string.h>

#include "attention_math.h"
#include "explainer.h"
#include "params.h"

#define OWNER "explainers.attention"
#define MAX_HEADS 256

typedef struct attention {
    int64_t layer;               /* negative counts from the last layer */
    int32_t n_heads;             /* 0: all heads */
    int32_t heads[MAX_HEADS];
} attention;

static int parse_heads(const cJSON *params, attention *s, faith_err *err)
{
    const cJSON *h = params ? cJSON_GetObjectItemCaseSensitive(params, "heads") : NULL;
    if (!h || (cJSON_IsString(h) && strcmp(h->valuestring, "all") == 0)) return FAITH_OK;
    int n = cJSON_IsArray(h) ? cJSON_GetArraySize(h) : 0;
    if (n < 1 || n > MAX_HEADS)
        return faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.heads: expected \"all\" or a "
                             "non-empty list of head indices");
    for (int i = 0; i < n; i++) {
        const cJSON *v = cJSON_GetArrayItem(h, i);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble >= MAX_HEADS ||
            v->valuedouble != (double)(int32_t)v->valuedouble)
            return faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.heads[%d]: expected a head "
                                 "index (integer >= 0)", i);
        s->heads[i] = (int32_t)v->valuedouble;
    }
    s->n_heads = n;
    return FAITH_OK;
}

static int att_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const KEYS[] = {"layer", "heads"};
    FAITH_TRY(faith_params_check(OWNER, params, KEYS, 2, err));
    attention *s = faith_xcalloc(1, sizeof *s);
    int rc = FAITH_OK;
    FAITH_CHECK(faith_params_int(OWNER, params, "layer", -1, -1000, 999, &s->layer, err));
    FAITH_CHECK(parse_heads(params, s, err));
    *state = s;
    return FAITH_OK;
cleanup:
    free(s);
    return rc;
}

static void att_destroy(void *state) { free(state); }

static cJSON *att_params(const void *state)
{
    const attention *s = state;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "layer", (double)s->layer);
    if (s->n_heads == 0) cJSON_AddStringToObject(j, "heads", "all");
    else cJSON_AddItemToObject(j, "heads", cJSON_CreateIntArray((const int *)s->heads, s->n_heads));
    return j;
}

/* The layer index for env's model (a negative layer counts from the top); heads in range. */
static int att_layer(const attention *s, const faith_env *env, int64_t *layer, faith_err *err)
{
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t L = cfg->n_layers, NH = cfg->n_heads;
    *layer = s->layer < 0 ? L + s->layer : s->layer;
    if (*layer < 0 || *layer >= L)
        return faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.layer: %lld out of range for a "
                             "%d-layer model (use 0..%d or -%d..-1)", (long long)s->layer, (int)L,
                             (int)L - 1, (int)L);
    for (int32_t k = 0; k < s->n_heads; k++)
        if (s->heads[k] >= NH)
            return faith_err_set(err, FAITH_ERR_ARG, OWNER ".params.heads: head %d out of range "
                                 "for a model with %d heads", (int)s->heads[k], (int)NH);
    return FAITH_OK;
}

static int att_check(const void *state, const faith_env *env, faith_err *err)
{
    int64_t layer;
    return att_layer(state, env, &layer, err);
}

static int att_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                       faith_explain_extra *extra, faith_err *err)
{
    (void)extra;
    const attention *s = state;
    int32_t NH = faith_model_cfg(env->model)->n_heads, T = it->n;
    int64_t layer;
    FAITH_TRY(att_layer(s, env, &layer, err));
    FAITH_TRY(faith_attn_run(env, it, 0, err));
    const float *attn = faith_model_attention(env->model, (int)layer);
    if (!attn) return faith_err_set(err, FAITH_ERR_INTERNAL, "model kept no attention probabilities");
    double *mean = faith_xmalloc((size_t)T * T * sizeof(double));
    faith_attn_head_mean(attn, NH, T, s->n_heads ? s->heads : NULL, s->n_heads, mean);
    for (int32_t t = 0; t < T; t++) scores[t] = (float)mean[t]; /* row 0: from the first token */
    free(mean);
    return FAITH_OK;
}

const faith_explainer_ops faith_explainer_attention = {
    .name = "attention",
    .version = "1",
    .summary = "attention from the first token in one layer, averaged over heads",
    .create = att_create,
    .destroy = att_destroy,
    .params_json = att_params,
    .explain = att_explain,
    .check = att_check,
};
