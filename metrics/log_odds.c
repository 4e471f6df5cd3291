/* log_odds.c: DIG's log-odds (Sanyal & Ren 2021): how far the target's log probability falls
 * when the top fraction of tokens is replaced by [MASK]; more negative is more faithful. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "mparams.h"
#include "params.h"
#include "perturb.h"

typedef struct log_odds {
    double fraction;
    faith_perturb_op op;
} log_odds;

static const char *const KEYS[] = {"fraction", "operator"};

static int lo_create(const cJSON *params, void **state, faith_err *err)
{
    const char *owner = "metrics.log_odds";
    log_odds s;
    FAITH_TRY(faith_params_check(owner, params, KEYS, sizeof KEYS / sizeof KEYS[0], err));
    FAITH_TRY(faith_params_double(owner, params, "fraction", 0.2, 0.0, 1.0, &s.fraction, err));
    FAITH_TRY(faith_mparams_op(owner, params, "operator", FAITH_OP_MASK, &s.op, err));
    log_odds *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static void lo_destroy(void *state)
{
    free(state);
}

static cJSON *lo_params_json(const void *state)
{
    const log_odds *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "fraction", s->fraction);
    cJSON_AddStringToObject(o, "operator", FAITH_PERTURB_OP_NAMES[s->op]);
    return o;
}

static void lo_layout(const void *state, faith_metric_layout *out)
{
    (void)state;
    memset(out, 0, sizeof *out);
    out->n_cols = 1;
    out->cols[0] = "log_odds";
    out->higher_is_better[0] = 0;
}

/* k = ceil(fraction * d) non-special tokens, as the percent bins of the other metrics. */
static int lo_measure(void *state, const faith_env *env, const faith_item *it, const float *scores,
                      const float *word_scores, double *record, faith_err *err)
{
    (void)word_scores;
    const log_odds *s = state;
    record[0] = NAN;
    int32_t d = faith_item_n_plain(it);
    if (d == 0) return FAITH_OK;
    int32_t K = faith_model_cfg(env->model)->n_classes;
    int32_t *order = faith_xmalloc(sizeof *order * (size_t)it->n);
    faith_perturb_rank(scores, it->special, it->n, 1, 0, order);
    int32_t k = faith_perturb_topk_ceil(d, s->fraction * 100.0);
    faith_pset ps;
    faith_pset_init(&ps, it->n);
    double p;
    int rc = faith_pset_add_topk(&ps, s->op, &env->special, it, order, k, 0, err);
    if (rc == FAITH_OK) rc = faith_pset_run(&ps, env, it->target, &p, NULL, err);
    if (rc == FAITH_OK) record[0] = log(p) - log(faith_prob_of(it->logits, K, it->target));
    faith_pset_free(&ps);
    free(order);
    return rc;
}

static int lo_check(const void *state, const faith_env *env, faith_err *err)
{
    return faith_perturb_op_check(((const log_odds *)state)->op, &env->special, err);
}

const faith_metric_ops faith_metric_log_odds = {
    .name = "log_odds",
    .version = "1",
    .summary = "log p(target | top-20% masked) - log p(target | input) (DIG; lower is better)",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = lo_create,
    .destroy = lo_destroy,
    .params_json = lo_params_json,
    .layout = lo_layout,
    .measure = lo_measure,
    .check = lo_check,
};
