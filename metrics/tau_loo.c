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

/* The leave-one-out drops depend on the example and target, not on the explainer, and the runner
 * measures every explainer of an example in a row: the last example's drops are kept and reused,
 * so an example's LOO passes run once per rank rather than once per explainer. */
typedef struct tau_loo {
    faith_perturb_op op;
    int64_t cached_id;      /* -1: nothing cached */
    int32_t cached_target, cached_n;
    int32_t *cached_ids;    /* (cached_n) the token ids the drops were computed for */
    double *cached_drop;    /* (non-special tokens) p(y|x) - p(y|x without the token) */
} tau_loo;

static const char *const KEYS[] = {"operator"};

static int tl_create(const cJSON *params, void **state, faith_err *err)
{
    const char *owner = "metrics.tau_loo";
    tau_loo s;
    FAITH_TRY(faith_params_check(owner, params, KEYS, sizeof KEYS / sizeof KEYS[0], err));
    FAITH_TRY(faith_mparams_op(owner, params, "operator", FAITH_OP_MASK, &s.op, err));
    s.cached_id = -1;
    s.cached_target = s.cached_n = 0;
    s.cached_ids = NULL;
    s.cached_drop = NULL;
    tau_loo *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static void tl_destroy(void *state)
{
    tau_loo *s = state;
    if (s) {
        free(s->cached_ids);
        free(s->cached_drop);
    }
    free(s);
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

static int cache_hit(const tau_loo *s, const faith_item *it)
{
    return s->cached_id == it->id && s->cached_target == it->target && s->cached_n == it->n &&
           memcmp(s->cached_ids, it->ids, sizeof(int32_t) * (size_t)it->n) == 0;
}

/* Fill s's cache with the drops of it (one batched model call over the d variants). */
static int compute_drops(tau_loo *s, const faith_env *env, const faith_item *it, int32_t d,
                         faith_err *err)
{
    int32_t K = faith_model_cfg(env->model)->n_classes;
    s->cached_id = -1;
    s->cached_ids = faith_xrealloc(s->cached_ids, sizeof(int32_t) * (size_t)it->n);
    s->cached_drop = faith_xrealloc(s->cached_drop, sizeof(double) * (size_t)d);
    uint8_t *remove = faith_xcalloc((size_t)it->n, 1);
    faith_pset ps;
    faith_pset_init(&ps, it->n);
    int rc = FAITH_OK;
    for (int32_t t = 0; t < it->n && rc == FAITH_OK; t++) {
        if (it->special[t]) continue;
        remove[t] = 1;
        rc = faith_pset_add(&ps, s->op, &env->special, it, remove, err);
        remove[t] = 0;
    }
    if (rc == FAITH_OK) rc = faith_pset_run(&ps, env, it->target, s->cached_drop, NULL, err);
    if (rc == FAITH_OK) {
        double p_full = faith_prob_of(it->logits, K, it->target);
        for (int32_t j = 0; j < d; j++) s->cached_drop[j] = p_full - s->cached_drop[j];
        memcpy(s->cached_ids, it->ids, sizeof(int32_t) * (size_t)it->n);
        s->cached_id = it->id, s->cached_target = it->target, s->cached_n = it->n;
    }
    faith_pset_free(&ps);
    free(remove);
    return rc;
}

static int tl_measure(void *state, const faith_env *env, const faith_item *it, const float *scores,
                      const float *word_scores, double *record, faith_err *err)
{
    (void)word_scores;
    tau_loo *s = state;
    record[0] = NAN;
    int32_t d = faith_item_n_plain(it);
    if (d < 2) return FAITH_OK;
    if (!cache_hit(s, it)) FAITH_TRY(compute_drops(s, env, it, d, err));
    double *sc = faith_xmalloc(sizeof *sc * (size_t)d);
    for (int32_t t = 0, j = 0; t < it->n; t++)
        if (!it->special[t]) sc[j++] = scores[t];
    record[0] = faith_stats_kendall_tau_b(sc, s->cached_drop, d);
    free(sc);
    return FAITH_OK;
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
