/* tau_loo.c: ferret's tau-LOO: Kendall tau-b between an explanation's token scores and the
 * drop in target probability when each non-special token alone is removed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loo.h"
#include "metric.h"
#include "mparams.h"
#include "params.h"
#include "perturb.h"
#include "stats.h"

/* ferret deletes the token (and re-tokenises the decoded text); the default here is "mask",
 * which keeps the length and positions of the rest fixed so each drop is one token's effect.
 * operator "delete" reproduces ferret's removal on ids. */

typedef struct tau_loo {
    faith_perturb_op op;
} tau_loo;

static const char *const KEYS[] = {"operator"};

static int tl_create(const cJSON *params, void **state, faith_err *err)
{
    const char *owner = "metrics.tau_loo";
    tau_loo s;
    FAITH_TRY(faith_params_check(owner, params, KEYS, sizeof KEYS / sizeof KEYS[0], err));
    FAITH_TRY(faith_mparams_op(owner, params, "operator", FAITH_OP_MASK, &s.op, err));
    tau_loo *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static void tl_destroy(void *state)
{
    free(state);
}

static cJSON *tl_params_json(const void *state)
{
    const tau_loo *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "operator", FAITH_PERTURB_OP_NAMES[s->op]);
    return o;
}

static void tl_layout(const void *state, faith_metric_layout *out)
{
    (void)state;
    memset(out, 0, sizeof *out);
    out->n_cols = 1;
    out->cols[0] = "tau";
    out->higher_is_better[0] = 1;
}

/* The drops depend on the example and target, not on the explainer: they come from the shared
 * leave-one-out cache, so an example's LOO passes run once for all its explainers, and not at all
 * when the occlusion explainer already ran with the same replacement and output prob. */
static int tl_measure(void *state, const faith_env *env, const faith_item *it, const float *scores,
                      const float *word_scores, double *record, faith_err *err)
{
    (void)word_scores;
    const tau_loo *s = state;
    record[0] = NAN;
    if (faith_item_n_plain(it) < 2) return FAITH_OK;
    static const faith_replace_kind KIND[] = {[FAITH_OP_DELETE] = FAITH_REPLACE_DELETE,
                                              [FAITH_OP_MASK] = FAITH_REPLACE_MASK,
                                              [FAITH_OP_PAD] = FAITH_REPLACE_PAD};
    faith_replace r = {KIND[s->op], -1};
    faith_env penv = *env;
    penv.output = FAITH_OUT_PROB;
    const double *drops;
    int32_t d;
    FAITH_TRY(faith_loo_drops(&penv, it, &r, &drops, &d, err));
    double *sc = faith_xmalloc(sizeof *sc * (size_t)d);
    for (int32_t t = 0, j = 0; t < it->n && j < d; t++)
        if (!(it->special && it->special[t])) sc[j++] = scores[t];
    record[0] = faith_stats_kendall_tau_b(sc, drops, d);
    free(sc);
    return FAITH_OK;
}

static int tl_check(const void *state, const faith_env *env, faith_err *err)
{
    return faith_perturb_op_check(((const tau_loo *)state)->op, &env->special, err);
}

const faith_metric_ops faith_metric_tau_loo = {
    .name = "tau_loo",
    .version = "1",
    .summary = "Kendall tau-b between token scores and leave-one-out probability drops (ferret)",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = tl_create,
    .destroy = tl_destroy,
    .params_json = tl_params_json,
    .layout = tl_layout,
    .measure = tl_measure,
    .check = tl_check,
};
