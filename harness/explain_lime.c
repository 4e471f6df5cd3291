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
    faith_sampling_params sp; /* samples: random removals per example */
    double kernel_width, alpha;
} lime_state;

static int lime_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const known[] = {"samples", "kernel_width", "alpha", "mask_token"};
    static const char *const owner = "explainers.lime";
    FAITH_TRY(faith_params_check(owner, params, known, 4, err));
    lime_state s;
    FAITH_TRY(faith_sampling_params_parse(owner, params, 1000, 100000000, 0, &s.sp, err));
    FAITH_TRY(faith_params_double(owner, params, "kernel_width", 0.25, 1e-6, 1e6, &s.kernel_width,
                                  err));
    FAITH_TRY(faith_params_double(owner, params, "alpha", 1.0, 0.0, 1e12, &s.alpha, err));
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
    faith_sampling_params_json(&s->sp, o);
    cJSON_AddNumberToObject(o, "kernel_width", s->kernel_width);
    cJSON_AddNumberToObject(o, "alpha", s->alpha);
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
    int64_t n = s->sp.samples;
    uint8_t *masks = faith_xmalloc((size_t)n * (size_t)d);
    double *y = faith_xmalloc((size_t)n * sizeof *y), *w = faith_xmalloc((size_t)n * sizeof *w);
    double *coef = faith_xmalloc((size_t)d * sizeof *coef), b0;
    faith_lime_masks(d, n, &rng, masks);
    faith_lime_weights(d, n, masks, s->kernel_width, w);
    int rc = faith_coalition_values(env, it, &s->sp.mask_token, d, feat, n, masks, y, err);
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

static int lime_check(const void *state, const faith_env *env, faith_err *err)
{
    const lime_state *s = state;
    return faith_replace_check("explainers.lime", "mask_token", &s->sp.mask_token, env, err);
}

const faith_explainer_ops faith_explainer_lime = {
    .name = "lime",
    .version = "1",
    .summary = "LIME: weighted ridge surrogate on random token removals (Ribeiro et al. 2016)",
    .create = lime_create,
    .destroy = lime_destroy,
    .params_json = lime_params_json,
    .explain = lime_explain,
    .check = lime_check,
};
