/* tau_loo.c: ferret's tau-LOO: Kendall tau-b between an explanation's token scores and the
 * drop in target probability when each non-special token alone is removed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static int tl_measure(void *state, const faith_env *env, const faith_item *it, const float *scores,
                      const float *word_scores, double *record, faith_err *err)
{
    (void)word_scores;
    const tau_loo *s = state;
    record[0] = NAN;
    int32_t d = faith_item_n_plain(it);
    if (d < 2) return FAITH_OK;
    int32_t K = faith_model_cfg(env->model)->n_classes;
    double *drop = faith_xmalloc(sizeof *drop * (size_t)d);
    double *sc = faith_xmalloc(sizeof *sc * (size_t)d);
    uint8_t *remove = faith_xcalloc((size_t)it->n, 1);
    faith_pset ps;
    faith_pset_init(&ps, it->n);
    int rc = FAITH_OK;
    for (int32_t t = 0, j = 0; t < it->n && rc == FAITH_OK; t++) {
        if (it->special[t]) continue;
        sc[j++] = scores[t];
        remove[t] = 1;
        rc = faith_pset_add(&ps, s->op, &env->special, it, remove, err);
        remove[t] = 0;
    }
    if (rc == FAITH_OK) rc = faith_pset_run(&ps, env, it->target, drop, NULL, err);
    if (rc == FAITH_OK) {
        double p_full = faith_prob_of(it->logits, K, it->target);
        for (int32_t j = 0; j < d; j++) drop[j] = p_full - drop[j];
        record[0] = faith_stats_kendall_tau_b(sc, drop, d);
    }
    faith_pset_free(&ps);
    free(remove);
    free(sc);
    free(drop);
    return rc;
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
};
