/* explain_kernel_shap.c: the `kernel_shap` explainer (Lundberg & Lee 2017): Shapley values of the
 * non-special tokens from a Shapley-kernel weighted regression on coalitions, efficiency exact. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "coalition.h"
#include "explainer.h"
#include "params.h"
#include "shapley.h"

/* samples 0 ("auto"): 2d + 2048 coalitions per example, capped at 2^d - 2. */
static int kshap_create(const cJSON *params, void **state, faith_err *err)
{
    static const char *const known[] = {"samples", "mask_token"};
    static const char *const owner = "explainers.kernel_shap";
    FAITH_TRY(faith_params_check(owner, params, known, 2, err));
    faith_sampling_params s;
    FAITH_TRY(faith_sampling_params_parse(owner, params, 0, 100000000, 1, &s, err));
    faith_sampling_params *p = faith_xmalloc(sizeof *p);
    *p = s;
    *state = p;
    return FAITH_OK;
}

static void kshap_destroy(void *state) { free(state); }

static cJSON *kshap_params_json(const void *state)
{
    cJSON *o = cJSON_CreateObject();
    faith_sampling_params_json(state, o);
    return o;
}

static int kshap_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
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
    faith_rng_init(&rng, env->seed, it->id, "kernel_shap");
    /* one feature: no coalition besides the empty and the full one, and efficiency alone gives
     * its value F(x) - F(masked) */
    faith_kshap_plan plan = {0};
    int rc = FAITH_OK;
    if (d > 1) {
        int64_t samples = s->samples > 0 ? s->samples : faith_kernel_shap_default_samples(d);
        rc = faith_kernel_shap_plan(d, samples, &rng, &plan, err);
    }
    if (rc < 0) {
        free(feat);
        return rc;
    }
    /* rows: the plan's coalitions, then the empty and the full coalition */
    int64_t n = plan.n + 2;
    uint8_t *masks = faith_xmalloc((size_t)n * (size_t)d);
    double *v = faith_xmalloc((size_t)n * sizeof *v), *phi = faith_xmalloc((size_t)d * sizeof *phi);
    if (plan.n > 0) memcpy(masks, plan.masks, (size_t)plan.n * (size_t)d);
    memset(masks + (size_t)plan.n * d, 0, (size_t)d);
    memset(masks + (size_t)(plan.n + 1) * d, 1, (size_t)d);
    rc = faith_coalition_values(env, it, &s->mask_token, d, feat, n, masks, v, err);
    double v_empty = v[plan.n], v_full = v[plan.n + 1];
    if (rc == FAITH_OK && d == 1) phi[0] = v_full - v_empty;
    else if (rc == FAITH_OK)
        rc = faith_kernel_shap_solve(d, plan.n, plan.masks, plan.weights, v, v_empty, v_full, phi,
                                     err);
    if (rc == FAITH_OK) faith_coalition_shapley_scores(d, feat, phi, v_full - v_empty, scores, extra);
    else faith_err_prefix(err, "kernel_shap, example %lld: ", (long long)it->id);
    free(phi);
    free(v);
    free(masks);
    faith_kernel_shap_plan_free(&plan);
    free(feat);
    return rc;
}

static int kshap_check(const void *state, const faith_env *env, faith_err *err)
{
    const faith_sampling_params *s = state;
    return faith_replace_check("explainers.kernel_shap", "mask_token", &s->mask_token, env, err);
}

const faith_explainer_ops faith_explainer_kernel_shap = {
    .name = "kernel_shap",
    .version = "1",
    .summary = "kernel SHAP: Shapley-kernel weighted regression on coalitions (Lundberg & Lee 2017)",
    .create = kshap_create,
    .destroy = kshap_destroy,
    .params_json = kshap_params_json,
    .explain = kshap_explain,
    .check = kshap_check,
};
