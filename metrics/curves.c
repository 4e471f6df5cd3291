/* curves.c: RISE-style deletion and insertion curves (Petsiuk et al. 2018) from one
 * implementation: the target probability as tokens go (or come back) most-important-first. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "mparams.h"
#include "params.h"
#include "perturb.h"
#include "stats.h"

/* The removed state defaults to "mask": deleting every token would leave a [CLS] [SEP] input
 * whose length alone moves the model, so the insertion curve's start (and the deletion curve's
 * end) would measure the empty sequence rather than the absence of evidence. "delete" and "pad"
 * remain available. Steps: every count 0..min(dense, d), then ceil(j * d / steps) for
 * j = 1..steps, deduplicated; the record keeps at most dense + 1 + steps points. */

typedef struct curve {
    int insertion;
    faith_perturb_op op;
    int32_t dense, steps;
} curve;

static const char *const KEYS[] = {"operator", "dense", "steps"};

static int curve_create(int insertion, const cJSON *params, void **state, faith_err *err)
{
    const char *owner = insertion ? "metrics.insertion_curve" : "metrics.deletion_curve";
    curve s = {.insertion = insertion};
    int64_t dense, steps;
    FAITH_TRY(faith_params_check(owner, params, KEYS, sizeof KEYS / sizeof KEYS[0], err));
    FAITH_TRY(faith_mparams_op(owner, params, "operator", FAITH_OP_MASK, &s.op, err));
    FAITH_TRY(faith_params_int(owner, params, "dense", 20, 0, 512, &dense, err));
    FAITH_TRY(faith_params_int(owner, params, "steps", 20, 1, 512, &steps, err));
    s.dense = (int32_t)dense;
    s.steps = (int32_t)steps;
    curve *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static int del_create(const cJSON *params, void **state, faith_err *err)
{
    return curve_create(0, params, state, err);
}

static int ins_create(const cJSON *params, void **state, faith_err *err)
{
    return curve_create(1, params, state, err);
}

static void curve_destroy(void *state)
{
    free(state);
}

static cJSON *curve_params_json(const void *state)
{
    const curve *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "operator", FAITH_PERTURB_OP_NAMES[s->op]);
    cJSON_AddNumberToObject(o, "dense", s->dense);
    cJSON_AddNumberToObject(o, "steps", s->steps);
    return o;
}

static void curve_layout(const void *state, faith_metric_layout *out)
{
    const curve *s = state;
    memset(out, 0, sizeof *out);
    out->n_cols = 1;
    out->cols[0] = "auc";
    out->higher_is_better[0] = s->insertion ? 1 : 0;
    out->curve_len = s->dense + 1 + s->steps;
}

/* The token counts at which the curve is sampled, ascending; returns how many (<= cap). */
static int32_t curve_counts(int32_t d, int32_t dense, int32_t steps, int32_t *counts)
{
    uint8_t *on = faith_xcalloc((size_t)d + 1, 1);
    for (int32_t k = 0; k <= d && k <= dense; k++) on[k] = 1;
    for (int32_t j = 1; j <= steps; j++) on[((int64_t)j * d + steps - 1) / steps] = 1;
    int32_t m = 0;
    for (int32_t k = 0; k <= d; k++)
        if (on[k]) counts[m++] = k;
    free(on);
    return m;
}

static int curve_measure(void *state, const faith_env *env, const faith_item *it,
                         const float *scores, const float *word_scores, double *record,
                         faith_err *err)
{
    (void)word_scores;
    const curve *s = state;
    int32_t len = s->dense + 1 + s->steps;
    for (int32_t c = 0; c < 1 + 2 * len; c++) record[c] = NAN;
    int32_t d = faith_item_n_plain(it);
    if (d == 0) return FAITH_OK;

    int32_t *order = faith_xmalloc(sizeof *order * (size_t)it->n);
    int32_t *counts = faith_xmalloc(sizeof *counts * (size_t)len);
    double *frac = faith_xmalloc(sizeof *frac * (size_t)len);
    double *prob = faith_xmalloc(sizeof *prob * (size_t)len);
    faith_perturb_rank(scores, it->special, it->n, 1, 0, order);
    int32_t m = curve_counts(d, s->dense, s->steps, counts);

    faith_pset ps;
    faith_pset_init(&ps, it->n);
    int rc = FAITH_OK;
    /* deletion: remove the first k ranked; insertion: keep only the first k ranked */
    for (int32_t i = 0; i < m && rc == FAITH_OK; i++)
        rc = faith_pset_add_topk(&ps, s->op, &env->special, it, order, counts[i], s->insertion, err);
    if (rc == FAITH_OK) rc = faith_pset_run(&ps, env, it->target, prob, NULL, err);
    if (rc == FAITH_OK) {
        for (int32_t i = 0; i < m; i++) {
            frac[i] = (double)counts[i] / d;
            record[1 + 2 * i] = frac[i];
            record[2 + 2 * i] = prob[i];
        }
        /* fractions span [0, 1] exactly, so the trapezoid area is already normalised */
        record[0] = faith_stats_trapz(frac, prob, m);
    }
    faith_pset_free(&ps);
    free(order);
    free(counts);
    free(frac);
    free(prob);
    return rc;
}

static int curve_check(const void *state, const faith_env *env, faith_err *err)
{
    return faith_perturb_op_check(((const curve *)state)->op, &env->special, err);
}

const faith_metric_ops faith_metric_deletion_curve = {
    .name = "deletion_curve",
    .version = "1",
    .summary = "target probability as tokens are removed most-important-first; AUC (lower is better)",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = del_create,
    .destroy = curve_destroy,
    .params_json = curve_params_json,
    .layout = curve_layout,
    .measure = curve_measure,
    .check = curve_check,
};

const faith_metric_ops faith_metric_insertion_curve = {
    .name = "insertion_curve",
    .version = "1",
    .summary = "target probability as tokens are restored most-important-first; AUC (higher is better)",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = ins_create,
    .destroy = curve_destroy,
    .params_json = curve_params_json,
    .layout = curve_layout,
    .measure = curve_measure,
    .check = curve_check,
};
