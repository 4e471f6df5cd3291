/* decision_flip.c: the fraction of non-special tokens that must be removed, most important
 * first, before the model's predicted class changes (Chrysostomou & Aletras 2021). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "mparams.h"
#include "params.h"
#include "perturb.h"

/* Record: "fraction" = k / d at the first k whose argmax differs from the unperturbed prediction,
 * and "flipped" 1; an example that never flips gets fraction NaN and flipped 0, so the reduced
 * mean fraction is over flipping examples and the mean of "flipped" is the flip rate (counting a
 * never-flip as 1.0 would merge it with a flip at the very last token). Counts are tried in
 * chunks of `chunk` per model call, stopping at the first chunk that flips, so a flip after few
 * tokens costs few sequences. */

typedef struct flip {
    faith_perturb_op op;
    int32_t chunk;
} flip;

static const char *const KEYS[] = {"operator", "chunk"};

static int df_create(const cJSON *params, void **state, faith_err *err)
{
    const char *owner = "metrics.decision_flip";
    flip s;
    int64_t chunk;
    FAITH_TRY(faith_params_check(owner, params, KEYS, sizeof KEYS / sizeof KEYS[0], err));
    FAITH_TRY(faith_mparams_op(owner, params, "operator", FAITH_OP_MASK, &s.op, err));
    FAITH_TRY(faith_params_int(owner, params, "chunk", 16, 1, 4096, &chunk, err));
    s.chunk = (int32_t)chunk;
    flip *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static void df_destroy(void *state)
{
    free(state);
}

static cJSON *df_params_json(const void *state)
{
    const flip *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "operator", FAITH_PERTURB_OP_NAMES[s->op]);
    cJSON_AddNumberToObject(o, "chunk", s->chunk);
    return o;
}

static void df_layout(const void *state, faith_metric_layout *out)
{
    (void)state;
    memset(out, 0, sizeof *out);
    out->n_cols = 2;
    out->cols[0] = "fraction";
    out->cols[1] = "flipped";
    out->higher_is_better[0] = 0;
    out->higher_is_better[1] = 1;
}

static int df_measure(void *state, const faith_env *env, const faith_item *it, const float *scores,
                      const float *word_scores, double *record, faith_err *err)
{
    (void)word_scores;
    const flip *s = state;
    record[0] = NAN;
    record[1] = NAN;
    int32_t d = faith_item_n_plain(it);
    if (d == 0) return FAITH_OK;
    int32_t K = faith_model_cfg(env->model)->n_classes;
    int32_t pred = faith_argmax(it->logits, K);
    int32_t *order = faith_xmalloc(sizeof *order * (size_t)it->n);
    double *prob = faith_xmalloc(sizeof *prob * (size_t)s->chunk);
    int32_t *amax = faith_xmalloc(sizeof *amax * (size_t)s->chunk);
    faith_perturb_rank(scores, it->special, it->n, 1, 0, order);
    faith_pset ps;
    faith_pset_init(&ps, it->n);
    int rc = FAITH_OK;
    record[1] = 0;
    for (int32_t k0 = 1; k0 <= d && rc == FAITH_OK && record[1] == 0; k0 += s->chunk) {
        faith_pset_clear(&ps);
        int32_t k1 = k0 + s->chunk - 1 < d ? k0 + s->chunk - 1 : d;
        for (int32_t k = k0; k <= k1 && rc == FAITH_OK; k++)
            rc = faith_pset_add_topk(&ps, s->op, &env->special, it, order, k, 0, err);
        if (rc == FAITH_OK) rc = faith_pset_run(&ps, env, it->target, prob, amax, err);
        for (int32_t k = k0; k <= k1 && rc == FAITH_OK; k++)
            if (amax[k - k0] >= 0 && amax[k - k0] != pred) {
                record[0] = (double)k / d;
                record[1] = 1;
                break;
            }
    }
    if (rc != FAITH_OK) record[1] = NAN;
    faith_pset_free(&ps);
    free(order);
    free(prob);
    free(amax);
    return rc;
}

static int df_check(const void *state, const faith_env *env, faith_err *err)
{
    return faith_perturb_op_check(((const flip *)state)->op, &env->special, err);
}

const faith_metric_ops faith_metric_decision_flip = {
    .name = "decision_flip",
    .version = "1",
    .summary = "fraction of tokens removed most-important-first before the prediction flips",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = df_create,
    .destroy = df_destroy,
    .params_json = df_params_json,
    .layout = df_layout,
    .measure = df_measure,
    .check = df_check,
};
