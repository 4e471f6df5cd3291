/* explain_shapley_sampling.c: the `shapley_sampling` explainer (Castro et al. 2009): Shapley values
 * as mean marginal contributions along random permutations, each paired with its reverse. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coalition.h"
#include "explainer.h"
#include "params.h"
#include "shapley.h"

/* samples: permutations, made even (each is paired with its reverse). */
static int perm_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const known[] = {"samples", "mask_token"};
    static const char *const owner = "explainers.shapley_sampling";
    FAITH_TRY(faith_params_check(owner, params, known, 2, err));
    faith_sampling_params s;
    FAITH_TRY(faith_sampling_params_parse(owner, params, 20, 1000000, 0, &s, err));
    s.samples += s.samples % 2; /* antithetic pairs */
    faith_sampling_params *p = faith_xmalloc(sizeof *p);
    *p = s;
    *state = p;
    return FAITH_OK;
}

static void perm_destroy(void *state) { free(state); }

static cJSON *perm_params_json(const void *state)
{
    cJSON *o = cJSON_CreateObject();
    faith_sampling_params_json(state, o);
    return o;
}

static int perm_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                        faith_explain_extra *extra, faith_err *err)
{
    const faith_sampling_params *s = state;
    int32_t *feat;
    int32_t d = faith_coalition_begin(it, scores, extra, &feat);
    if (d == 0) { /* efficiency holds trivially: nothing to share out */
        faith_coalition_shapley_scores(0, NULL, NULL, 0.0, scores, extra);
        return FAITH_OK;
    }
    faith_rng rng;
    faith_rng_init(&rng, env->seed, it->id, "shapley_sampling");
    int32_t P = (int32_t)s->samples;
    int64_t n = (int64_t)P * (d + 1); /* every prefix of every permutation; repeats run once */
    int32_t *perms = faith_xmalloc((size_t)P * (size_t)d * sizeof *perms);
    uint8_t *masks = faith_xmalloc((size_t)n * (size_t)d);
    double *v = faith_xmalloc((size_t)n * sizeof *v), *phi = faith_xmalloc((size_t)d * sizeof *phi);
    faith_shapley_perm_plan(d, P, &rng, perms);
    faith_shapley_perm_masks(d, P, perms, masks);
    int rc = faith_coalition_values(env, it, &s->mask_token, d, feat, n, masks, v, err);
    if (rc == FAITH_OK) {
        faith_shapley_perm_estimate(d, P, perms, v, phi);
        /* permutation 0's first and last prefixes: none and all of the features */
        faith_coalition_shapley_scores(d, feat, phi, v[d] - v[0], scores, extra);
    } else {
        faith_err_prefix(err, "shapley_sampling, example %lld: ", (long long)it->id);
    }
    free(phi);
    free(v);
    free(masks);
    free(perms);
    free(feat);
    return rc;
}

static int perm_check(const void *state, const faith_env *env, faith_err *err)
{
    const faith_sampling_params *s = state;
    return faith_replace_check("explainers.shapley_sampling", "mask_token", &s->mask_token, env, err);
}

const faith_explainer_ops faith_explainer_shapley_sampling = {
    .name = "shapley_sampling",
    .version = "1",
    .summary = "permutation-sampling Shapley values with antithetic pairs (Castro et al. 2009)",
    .create = perm_create,
    .destroy = perm_destroy,
    .params_json = perm_params_json,
    .explain = perm_explain,
    .check = perm_check,
};
