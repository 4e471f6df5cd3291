/* erasure.c: ERASER's comprehensiveness and sufficiency (DeYoung et al. 2020) from one
 * implementation; the two differ only in which side of the top-k split is kept. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "mparams.h"
#include "params.h"
#include "perturb.h"

/* Conventions.
 * eraser (default): bins 1,5,10,20,50 % of the non-special tokens, k = ceil; every bin counts,
 *   even when only_positive leaves fewer than k tokens (the rationale is then what is left).
 * ferret: bins 10..100 %, k = floor (ferret's int(p * d)), only_positive on; a bin is skipped
 *   (NaN column, left out of the AOPC) when its rationale is empty or equals the previous kept
 *   bin's; when every bin is skipped the AOPC is ferret's fallback: 0 for comprehensiveness and
 *   1 for sufficiency. Explicit keys override either convention's defaults.
 * normalize "l1" divides scores by their L1 norm over the rankable tokens: a positive scale,
 *   so neither the ranking nor the signs (only_positive) change; it is accepted so configs
 *   written for tools that normalise state it explicitly, and it is recorded.
 * exclude_special false ranks [CLS]/[SEP] with the rest and counts them in d, but they are
 *   never removed: a special in the top k takes a slot of the rationale without perturbing. */

enum { CONV_ERASER = 0, CONV_FERRET = 1 };
enum { NORM_NONE = 0, NORM_L1 = 1 };
static const char *const CONV_NAMES[] = {"eraser", "ferret"};
static const char *const NORM_NAMES[] = {"none", "l1"};
static const double ERASER_BINS[] = {1, 5, 10, 20, 50};
static const double FERRET_BINS[] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

typedef struct erasure {
    int keep; /* 0: comprehensiveness (remove the top k), 1: sufficiency (keep only the top k) */
    int convention, only_positive, exclude_special, normalize;
    faith_perturb_op op;
    int32_t n_bins;
    double bins[FAITH_MAX_BINS];
    char names[FAITH_MAX_BINS][24];
} erasure;

static const char *const KEYS[] = {"convention", "bins", "operator", "only_positive",
                                   "exclude_special", "normalize"};

static int erasure_create(int keep, const cJSON *params, void **state, faith_err *err)
{
    const char *owner = keep ? "metrics.sufficiency" : "metrics.comprehensiveness";
    erasure s = {.keep = keep};
    FAITH_TRY(faith_params_check(owner, params, KEYS, sizeof KEYS / sizeof KEYS[0], err));
    FAITH_TRY(faith_params_choice(owner, params, "convention", CONV_NAMES, 2, CONV_ERASER,
                                  &s.convention, err));
    int ferret = s.convention == CONV_FERRET;
    FAITH_TRY(faith_mparams_bins(owner, params, "bins", ferret ? FERRET_BINS : ERASER_BINS,
                                 ferret ? 10 : 5, s.bins, &s.n_bins, err));
    FAITH_TRY(faith_mparams_op(owner, params, "operator", FAITH_OP_DELETE, &s.op, err));
    FAITH_TRY(faith_params_bool(owner, params, "only_positive", ferret, &s.only_positive, err));
    FAITH_TRY(faith_params_bool(owner, params, "exclude_special", 1, &s.exclude_special, err));
    FAITH_TRY(faith_params_choice(owner, params, "normalize", NORM_NAMES, 2, NORM_NONE,
                                  &s.normalize, err));
    for (int32_t b = 0; b < s.n_bins; b++)
        faith_mparams_bin_name(s.bins[b], s.names[b], sizeof s.names[b]);
    erasure *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static int comp_create(const cJSON *params, void **state, faith_err *err)
{
    return erasure_create(0, params, state, err);
}

static int suff_create(const cJSON *params, void **state, faith_err *err)
{
    return erasure_create(1, params, state, err);
}

static void erasure_destroy(void *state)
{
    free(state);
}

static cJSON *erasure_params_json(const void *state)
{
    const erasure *s = state;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "convention", CONV_NAMES[s->convention]);
    cJSON_AddItemToObject(o, "bins", faith_mparams_array(s->bins, s->n_bins));
    cJSON_AddStringToObject(o, "operator", FAITH_PERTURB_OP_NAMES[s->op]);
    cJSON_AddBoolToObject(o, "only_positive", s->only_positive);
    cJSON_AddBoolToObject(o, "exclude_special", s->exclude_special);
    cJSON_AddStringToObject(o, "normalize", NORM_NAMES[s->normalize]);
    return o;
}

static void erasure_layout(const void *state, faith_metric_layout *out)
{
    const erasure *s = state;
    memset(out, 0, sizeof *out);
    out->n_cols = 1 + s->n_bins;
    out->cols[0] = "aopc";
    for (int32_t b = 0; b < s->n_bins; b++) out->cols[1 + b] = s->names[b];
    /* comprehensiveness: a bigger drop when the rationale goes is better; sufficiency: a smaller
     * drop when only the rationale stays is better. */
    for (int32_t c = 0; c < out->n_cols; c++) out->higher_is_better[c] = s->keep ? 0 : 1;
}

/* Rationale size of each bin after the convention's rounding, capped by the ranked tokens; -1 when
 * ferret skips the bin. */
static void bin_sizes(const erasure *s, int32_t d, int32_t ranked, int32_t *k)
{
    int32_t last = -1;
    for (int32_t b = 0; b < s->n_bins; b++) {
        int32_t kb = s->convention == CONV_FERRET ? faith_perturb_topk_floor(d, s->bins[b])
                                                  : faith_perturb_topk_ceil(d, s->bins[b]);
        if (kb > ranked) kb = ranked;
        k[b] = kb;
        if (s->convention != CONV_FERRET) continue;
        /* ranked prefixes of one order: equal sets exactly when equal sizes */
        if (kb == 0 || kb == last) k[b] = -1;
        else last = kb;
    }
}

static int erasure_measure(void *state, const faith_env *env, const faith_item *it,
                           const float *scores, const float *word_scores, double *record,
                           faith_err *err)
{
    (void)word_scores;
    const erasure *s = state;
    for (int32_t c = 0; c <= s->n_bins; c++) record[c] = NAN;
    int32_t K = faith_model_cfg(env->model)->n_classes;
    int32_t d = s->exclude_special ? faith_item_n_plain(it) : it->n;
    if (d == 0) return FAITH_OK;

    size_t n = (size_t)(it->n > 0 ? it->n : 1);
    float *sc = faith_xmalloc(sizeof *sc * n);
    int32_t *order = faith_xmalloc(sizeof *order * n);
    memcpy(sc, scores, sizeof *sc * (size_t)it->n);
    if (s->normalize == NORM_L1) {
        double l1 = 0;
        for (int32_t t = 0; t < it->n; t++)
            if (!(s->exclude_special && it->special[t])) l1 += fabs((double)sc[t]);
        if (l1 > 0)
            for (int32_t t = 0; t < it->n; t++) sc[t] = (float)(sc[t] / l1);
    }
    int32_t ranked = faith_perturb_rank(sc, it->special, it->n, s->exclude_special,
                                        s->only_positive, order);
    int32_t k[FAITH_MAX_BINS];
    double probs[FAITH_MAX_BINS];
    bin_sizes(s, d, ranked, k);

    faith_pset ps;
    faith_pset_init(&ps, it->n);
    int rc = FAITH_OK;
    for (int32_t b = 0; b < s->n_bins && rc == FAITH_OK; b++)
        if (k[b] >= 0) rc = faith_pset_add_topk(&ps, s->op, &env->special, it, order, k[b], s->keep, err);
    if (rc == FAITH_OK) rc = faith_pset_run(&ps, env, it->target, probs, NULL, err);
    if (rc == FAITH_OK) {
        double p_full = faith_prob_of(it->logits, K, it->target), sum = 0;
        int32_t used = 0;
        for (int32_t b = 0, j = 0; b < s->n_bins; b++) {
            if (k[b] < 0) continue;
            record[1 + b] = p_full - probs[j++];
            sum += record[1 + b];
            used++;
        }
        record[0] = used ? sum / used : (s->keep ? 1.0 : 0.0);
    }
    faith_pset_free(&ps);
    free(order);
    free(sc);
    return rc;
}

static int erasure_check(const void *state, const faith_env *env, faith_err *err)
{
    return faith_perturb_op_check(((const erasure *)state)->op, &env->special, err);
}

const faith_metric_ops faith_metric_comprehensiveness = {
    .name = "comprehensiveness",
    .version = "1",
    .summary = "drop in target probability when the top-k% tokens are removed (ERASER AOPC)",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = comp_create,
    .destroy = erasure_destroy,
    .params_json = erasure_params_json,
    .layout = erasure_layout,
    .measure = erasure_measure,
    .check = erasure_check,
};

const faith_metric_ops faith_metric_sufficiency = {
    .name = "sufficiency",
    .version = "1",
    .summary = "drop in target probability when only the top-k% tokens are kept (ERASER AOPC)",
    .family = FAITH_FAMILY_FAITHFULNESS,
    .create = suff_create,
    .destroy = erasure_destroy,
    .params_json = erasure_params_json,
    .layout = erasure_layout,
    .measure = erasure_measure,
    .check = erasure_check,
};
