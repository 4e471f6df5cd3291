/* coalition.h: perturbation plumbing shared by the perturbation explainers: sets of binary masks
 * over an example's features, replacement tokens, and the values v(S) of many coalitions computed
 * with ONE batched model call. */
#ifndef FAITH_COALITION_H
#define FAITH_COALITION_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "explainer.h"
#include "item.h"
#include "rng.h"

/* ---- sets of masks (a mask is d bytes, 1 = feature present) ---- */

/* A hash set of distinct masks of one width d, numbered in insertion order; it owns copies. */
typedef struct faith_mask_set faith_mask_set;

faith_mask_set *faith_mask_set_create(int32_t d);
void faith_mask_set_free(faith_mask_set *s); /* NULL is a no-op */
/* Number of mask, inserting it (number = previous size) when absent; *added (may be NULL) says
 * which happened. */
int64_t faith_mask_set_add(faith_mask_set *s, const uint8_t *mask, int *added);
/* Number of mask, or -1 when absent. */
int64_t faith_mask_set_find(const faith_mask_set *s, const uint8_t *mask);
int64_t faith_mask_set_size(const faith_mask_set *s);
/* The masks in insertion order, (size, d); valid until the next add. */
const uint8_t *faith_mask_set_data(const faith_mask_set *s);

/* Set mask (d) to have exactly k features present (or, when present == 0, exactly k absent),
 * chosen uniformly without replacement by a partial Fisher-Yates shuffle of perm (d), which must
 * hold a permutation of 0..d-1 and is left holding another one. */
void faith_mask_random_subset(int32_t d, int32_t k, int present, faith_rng *rng, int32_t *perm,
                              uint8_t *mask);

/* ---- replacement of removed tokens ---- */

typedef enum faith_replace_kind {
    FAITH_REPLACE_MASK = 0, /* the tokenizer's mask token ([MASK], <mask>) */
    FAITH_REPLACE_PAD,
    FAITH_REPLACE_UNK,
    FAITH_REPLACE_ID,       /* a fixed token id */
    FAITH_REPLACE_DELETE    /* drop the token: the sequence gets shorter */
} faith_replace_kind;

typedef struct faith_replace {
    faith_replace_kind kind;
    int32_t id; /* FAITH_REPLACE_ID only */
} faith_replace;

/* Parse params[key]: "mask" | "pad" | "unk" | "delete" | a token id (integral JSON number >= 0);
 * absent gives def. Errors name "<owner>.params.<key>" (owner e.g. "explainers.lime"). */
int faith_replace_parse(const char *owner, const cJSON *params, const char *key, faith_replace def,
                        faith_replace *out, faith_err *err);
/* The resolved parameter as JSON: the name string, or the id as a number. */
cJSON *faith_replace_json(const faith_replace *r);
/* The replacement token id for env's vocabulary (-1 for delete); FAITH_ERR_ARG when the tokenizer
 * has no such special token or the id is outside the model's vocabulary. */
int faith_replace_resolve(const faith_replace *r, const faith_env *env, int32_t *id, faith_err *err);
/* faith_replace_resolve with the id dropped and errors prefixed "<owner>.params.<key>: ": an
 * explainer's check of its replacement against the run's model and tokenizer. */
int faith_replace_check(const char *owner, const char *key, const faith_replace *r, const faith_env *env,
                        faith_err *err);

/* The parameters every sampling explainer takes: how many samples (coalitions or permutations)
 * and what a removed token becomes. */
typedef struct faith_sampling_params {
    int64_t samples;          /* 0 means "auto" where the explainer allows it */
    faith_replace mask_token; /* default: the tokenizer's mask token */
} faith_sampling_params;

/* Parse params.samples (an integer in [1, max], absent gives def; with auto_ok the string "auto"
 * gives 0, as does absence when def is 0) and params.mask_token. Errors name "<owner>.params.<key>". */
int faith_sampling_params_parse(const char *owner, const cJSON *params, int64_t def, int64_t max, int auto_ok,
                                faith_sampling_params *out, faith_err *err);
/* Add the resolved parameters to the JSON object o. */
void faith_sampling_params_json(const faith_sampling_params *p, cJSON *o);

/* ---- the token-level perturbation builder (explainers here, metrics in metrics/perturb.c) ---- */

/* The sequence (ids, type_ids, special; n tokens) with every position flagged in remove replaced by
 * fill, or dropped when fill < 0 (deletion); special tokens are never removed, whatever their flag.
 * out_ids / out_types have room for n; returns the new length. Token ids are perturbed directly:
 * text is never re-tokenised. */
int32_t faith_perturb_tokens(int32_t n, const int32_t *ids, const int32_t *type_ids, const uint8_t *special,
                             const uint8_t *remove, int32_t fill, int32_t *out_ids, int32_t *out_types);

/* ---- features and coalition values ---- */

/* The start every perturbation explainer shares: scores (it->n) zeroed, extra's completeness gap
 * and delta_f NaN (an explainer with an efficiency property fills them), and the item's features in
 * a new array *feat (free it). Returns their count d; when d is 0 there is nothing to perturb and
 * *feat is NULL. */
int32_t faith_coalition_begin(const faith_item *it, float *scores, faith_explain_extra *extra, int32_t **feat);

/* The end every Shapley explainer shares: scores of the d features feat from their values phi, and
 * with extra the efficiency check, delta_f = delta = v(all) - v(none) and the gap between it and the
 * scores' sum. d may be 0 (nothing to share out: delta 0, gap 0). */
void faith_coalition_shapley_scores(int32_t d, const int32_t *feat, const double *phi, double delta,
                                    float *scores, faith_explain_extra *extra);

/* Positions of the non-special tokens of it into feat (it->n entries of room); returns their
 * count d. Special tokens are never removed. */
int32_t faith_coalition_features(const faith_item *it, int32_t *feat);

/* The scalar env->output of class it->target from one row of logits (checks the target). */
int faith_coalition_value_of(const faith_env *env, const faith_item *it, const float *logits,
                             double *value, faith_err *err);

/* values[i] = v(S_i) for n coalitions over the d features feat: masks (n, d), 1 = keep the token,
 * 0 = replace (or delete) it per r. Every distinct mask is evaluated once, all in ONE
 * faith_run_logits call (batches cut by env->token_budget, cost added to env->cost); the all-ones
 * mask is taken from it->logits when that is set. */
int faith_coalition_values(const faith_env *env, const faith_item *it, const faith_replace *r,
                           int32_t d, const int32_t *feat, int64_t n, const uint8_t *masks,
                           double *values, faith_err *err);

#endif
