/* explain_lime.c: the `lime` explainer (Ribeiro et al. 2016, text variant): a weighted ridge
 * surrogate fitted on random token removals; scores are its coefficients, specials score 0. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coalition.h"
#include "explainer.h"
#include "params.h"
#include "shapley.h"

typedef struct lime_state {
    int64_t samples;
    double kernel_width, alpha;
    faith_replace mask_token;
} lime_state;

static int lime_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const known[] = {"samples", "kernel_width", "alpha", "mask_token"};
    static const char *const owner = "explainers.lime";
    FAITH_TRY(faith_params_check(owner, params, known, 4, err));
    lime_state s;
    faith_replace def = {FAITH_REPLACE_MASK, -1};
    FAITH_TRY(faith_params_int(owner, params, "samples", 1000, 1, 100000000, &s.samples, err));
    FAITH_TRY(faith_params_double(owner, params, "kernel_width", 0.25, 1e-6, 1e6, &s.kernel_width,
                                  err));
    FAITH_TRY(faith_params_double(owner, params, "alpha", 1.0, 0.0, 1e12, &s.alpha, err));
    FAITH_TRY(faith_replace_parse(owner, params, "mask_token", def, &s.mask_token, err));
    lime_state *p = faith_xmalloc(sizeof *p);
    *p = s;
    *state = p;
    return FAITH_OK;
}

static void lime_destroy(void *state) { free(state); }

static cJSON *lime_params_json(const void *state)
{
    const lime_state *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "samples", (double)s->samples);
    cJSON_AddNumberToObject(o, "kernel_width", s->kernel_width);
    cJSON_AddNumberToObject(o, "alpha", s->alpha);
    cJSON_AddItemToObject(o, "mask_token", faith_replace_json(&s->mask_token));
    return o;
}

static int lime_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                        faith_explain_extra *extra, faith_err *err)
{
    const lime_state *s = state;
    int32_t *feat;
    int32_t d = faith_coalition_begin(it, scores, extra, &feat);
    if (d == 0) return FAITH_OK;
    faith_rng rng;
    faith_rng_init(&rng, env->seed, it->id, "lime");
    int64_t n = s->samples;
    uint8_t *masks = faith_xmalloc((size_t)n * (size_t)d);
    double *y = faith_xmalloc((size_t)n * sizeof *y), *w = faith_xmalloc((size_t)n * sizeof *w);
    double *coef = faith_xmalloc((size_t)d * sizeof *coef), b0;
    faith_lime_masks(d, n, &rng, masks);
    faith_lime_weights(d, n, masks, s->kernel_width, w);
    int rc = faith_coalition_values(env, it, &s->mask_token, d, feat, n, masks, y, err);
    if (rc == FAITH_OK) rc = faith_lime_fit(d, n, masks, y, w, s->alpha, coef, &b0, err);
    if (rc == FAITH_OK)
        for (int32_t j = 0; j < d; j++) scores[feat[j]] = (float)coef[j];
    if (rc < 0) faith_err_prefix(err, "lime, example %lld: ", (long long)it->id);
    free(coef);
    free(w);
    free(y);
    free(masks);
    free(feat);
    return rc;
}

const faith_explainer_ops faith_explainer_lime = {
    .name = "lime",
    .version = "1",
    .summary = "LIME: weighted ridge surrogate on random token removals (Ribeiro et al. 2016)",
    .create = lime_create,
    .destroy = lime_destroy,
    .params_json = lime_params_json,
    .explain = lime_explain,
};
