/* metric.h: the per-example metric plug-in interface and registry. A metric measures one example on
 * the rank that owns it, into a fixed-width record of doubles; reducers see records in id order. */
#ifndef FAITH_METRIC_H
#define FAITH_METRIC_H

#include <cjson/cJSON.h>

#include "item.h"

#define FAITH_METRIC_MAX_COLS 32

typedef enum faith_metric_family {
    FAITH_FAMILY_FAITHFULNESS = 0,
    FAITH_FAMILY_PLAUSIBILITY,
    FAITH_FAMILY_SANITY
} faith_metric_family;

/* The shape of a metric's record: n_cols named scalars, then curve_len (fraction, value) pairs
 * (NAN-padded past the example's own curve length). Record width = n_cols + 2 * curve_len. */
typedef struct faith_metric_layout {
    int32_t n_cols;
    const char *cols[FAITH_METRIC_MAX_COLS];      /* column names, e.g. "aopc", "k1", "k5" */
    int higher_is_better[FAITH_METRIC_MAX_COLS];  /* 1 higher is better, 0 lower, -1 neither */
    int32_t curve_len;                            /* 0 when the metric keeps no curve */
} faith_metric_layout;

typedef struct faith_metric_ops {
    const char *name;
    const char *version;
    const char *summary;
    faith_metric_family family;
    int needs_rationale;        /* plausibility metrics: examples without rationale give NAN */
    int (*create)(const cJSON *params, void **state, faith_err *err);
    void (*destroy)(void *state);
    cJSON *(*params_json)(const void *state);
    void (*layout)(const void *state, faith_metric_layout *out);
    /* Measure one example: scores (it->n token scores) and word_scores (it->n_words) come from one
     * explainer; record has the layout's width. Model calls go through faith_run_logits with
     * env->token_budget and add to env->cost. */
    int (*measure)(void *state, const faith_env *env, const faith_item *it, const float *scores,
                   const float *word_scores, double *record, faith_err *err);
    /* Refuse, before any work, parameters this model and tokenizer cannot serve (an operator
     * needing a token the tokenizer lacks), naming the key. NULL: nothing to check. */
    int (*check)(const void *state, const faith_env *env, faith_err *err);
} faith_metric_ops;

const faith_metric_ops *faith_metric_find(const char *name);
size_t faith_metric_count(void);
const faith_metric_ops *faith_metric_at(size_t i);

/* A configured metric. */
typedef struct faith_metric {
    const faith_metric_ops *ops;
    void *state;
    faith_metric_layout layout;
} faith_metric;

int faith_metric_create(const char *name, const cJSON *params, faith_metric **out, faith_err *err);
void faith_metric_free(faith_metric *m);
int32_t faith_metric_width(const faith_metric *m);
/* ops->check when the metric has one. */
int faith_metric_check(const faith_metric *m, const faith_env *env, faith_err *err);

#endif
