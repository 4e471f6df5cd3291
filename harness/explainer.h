/* explainer.h: the explainer plug-in interface and registry. One file per explainer defines a
 * const faith_explainer_ops; adding one is that file plus one line in explainer_registry.c. */
#ifndef FAITH_EXPLAINER_H
#define FAITH_EXPLAINER_H

#include <cjson/cJSON.h>

#include "item.h"

/* Per-example by-products an explainer may report (NAN when not applicable). */
typedef struct faith_explain_extra {
    double completeness_gap;    /* IG: |sum(scores) - (F(x) - F(baseline))| */
    double delta_f;             /* IG / SHAP: F(x) - F(baseline) */
} faith_explain_extra;

typedef struct faith_explainer_ops {
    const char *name;           /* stable name used in configs and results */
    const char *version;        /* bumped when scores change for identical inputs */
    const char *summary;        /* one line for --help and listings */
    /* Build from the explainer's own parameters (params may be NULL: all defaults). Unknown keys
     * and wrong types are errors naming the key. The shared keys (target, output, aggregate,
     * special) are removed by the caller before this sees params. NULL: the explainer takes no
     * parameters of its own (any key is an error) and keeps no state (destroy and params_json
     * may then be NULL too). */
    int (*create)(const cJSON *params, void **state, faith_err *err);
    void (*destroy)(void *state);  /* NULL when there is no state */
    /* Resolved parameters, every key with its value (recorded in results and hashed); NULL: none. */
    cJSON *(*params_json)(const void *state);
    /* One score per token of it into scores (it->n), explaining env->output of class it->target.
     * Must add its model work to env->cost and take randomness only from
     * faith_rng_init(seed, it->id, name). */
    int (*explain)(void *state, const faith_env *env, const faith_item *it, float *scores,
                   faith_explain_extra *extra, faith_err *err);
    /* Refuse, before any work, parameters this model and tokenizer cannot serve (a replacement
     * token the tokenizer lacks, an id outside the vocabulary), naming the key: a run checks every
     * component once instead of failing on its first example mid-run. NULL: nothing to check. */
    int (*check)(const void *state, const faith_env *env, faith_err *err);
} faith_explainer_ops;

/* Registry lookups. */
const faith_explainer_ops *faith_explainer_find(const char *name);
size_t faith_explainer_count(void);
const faith_explainer_ops *faith_explainer_at(size_t i);

/* Word-level aggregation of token scores (shared option `aggregate`). */
typedef enum faith_aggregate { FAITH_AGG_SUM = 0, FAITH_AGG_MEAN, FAITH_AGG_MAX, FAITH_AGG_FIRST } faith_aggregate;

/* How the target class is chosen (shared option `target`): predicted, gold, or a fixed class. */
typedef struct faith_target_spec {
    enum { FAITH_TARGET_PRED = 0, FAITH_TARGET_GOLD, FAITH_TARGET_FIXED } kind;
    int32_t cls;
} faith_target_spec;

/* A configured explainer: ops + state + the shared options. */
typedef struct faith_explainer {
    const faith_explainer_ops *ops;
    void *state;
    faith_target_spec target;
    faith_output output;
    faith_aggregate aggregate;
    int zero_special;           /* shared option special: "keep" (0, default, flagged) or "zero" (1) */
} faith_explainer;

/* Create by name from a params object holding shared and specific keys. An unknown name fails
 * listing the known names (and the closest one). */
int faith_explainer_create(const char *name, const cJSON *params, faith_explainer **out,
                           faith_err *err);
void faith_explainer_free(faith_explainer *e);
/* Resolved parameters including the shared ones. */
cJSON *faith_explainer_params_json(const faith_explainer *e);

/* Explain one example with the configured explainer: runs ops->explain with env->output replaced
 * by e->output, fills extra (NAN when not reported) and zeroes special-token scores when
 * special=zero. Errors are prefixed with "explainers.<name>: ". */
int faith_explainer_explain(const faith_explainer *e, const faith_env *env, const faith_item *it,
                            float *scores, faith_explain_extra *extra, faith_err *err);

/* Check e against a model with n_classes classes and env's tokenizer: a fixed target class in
 * range, then ops->check. Errors are prefixed with "explainers.<name>: " where ops->check fails. */
int faith_explainer_check(const faith_explainer *e, const faith_env *env, int32_t n_classes, faith_err *err);

/* Resolve the target class from the spec, the prediction and the gold label (-1 if none).
 * FAITH_ERR_ARG when gold is asked for but missing, or the fixed class is out of range. */
int faith_explainer_target(const faith_explainer *e, int32_t pred, int32_t gold, int32_t n_classes,
                           int32_t *target, faith_err *err);

/* Aggregate token scores (n) to word scores (n_words) using word ids (-1 tokens skipped);
 * words with no token get 0. FAITH_ERR_RANGE when a word's sum overflows float. */
int faith_aggregate_words(faith_aggregate agg, const float *scores, const int32_t *word, int32_t n,
                          int32_t n_words, float *word_scores, faith_err *err);

/* Closest name in list to name by edit distance (for "did you mean"), or NULL when none is close. */
const char *faith_closest_name(const char *name, const char *const *list, size_t n);

#endif
