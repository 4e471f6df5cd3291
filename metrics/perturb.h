/* perturb.h: what every removal-based metric shares: ranking tokens by score, top-k by percent,
 * and building perturbed token-id sequences (delete / mask / pad), batched through the model. */
#ifndef FAITH_PERTURB_H
#define FAITH_PERTURB_H

#include <stdint.h>

#include "item.h"

typedef enum faith_perturb_op {
    FAITH_OP_DELETE = 0,  /* drop the token (the sequence gets shorter) */
    FAITH_OP_MASK,        /* replace by the tokenizer's mask token */
    FAITH_OP_PAD          /* replace by the pad token (still attended to: it is an ordinary input) */
} faith_perturb_op;

extern const char *const FAITH_PERTURB_OP_NAMES[3]; /* "delete", "mask", "pad" */

/* Token positions ranked by score, highest first; equal scores keep the lower position first.
 * Specials are left out when exclude_special; with only_positive, positions whose score is not
 * > 0 are left out. order has room for n; returns how many positions were ranked. NaN scores rank
 * last (below every number), so a broken explainer cannot reorder the rest. */
int32_t faith_perturb_rank(const float *scores, const uint8_t *special, int32_t n,
                           int exclude_special, int only_positive, int32_t *order);

/* Number of tokens in the top percent of d tokens, rounded up: ceil(percent * d / 100), in
 * [0, d]. Computed on integers when percent is a whole number so 10% of 30 is exactly 3. */
int32_t faith_perturb_topk_ceil(int32_t d, double percent);
/* The same rounded down (ferret's int(fraction * d)). */
int32_t faith_perturb_topk_floor(int32_t d, double percent);

/* FAITH_ERR_ARG when op needs a mask / pad id the tokenizer lacks (sp's id is -1). */
int faith_perturb_op_check(faith_perturb_op op, const faith_special_ids *sp, faith_err *err);

/* Build one perturbed sequence: positions with remove[t] != 0 are removed by op; specials are
 * never removed (their remove flag is ignored). out_ids / out_types have room for n; returns the
 * new length. FAITH_ERR_ARG (negative) when op needs a mask / pad id the tokenizer lacks. */
int32_t faith_perturb_apply(faith_perturb_op op, const faith_special_ids *sp, const int32_t *ids,
                            const int32_t *type_ids, const uint8_t *special, int32_t n,
                            const uint8_t *remove, int32_t *out_ids, int32_t *out_types,
                            faith_err *err);

/* Many perturbed variants of one item, run through the model in a single faith_run_logits call. */
typedef struct faith_pset {
    int32_t count, cap, n;      /* variants, capacity, tokens of the source item */
    int32_t *ids, *types;       /* (cap, n) flat; variant i starts at i * n */
    int32_t *len;               /* (cap) */
} faith_pset;

void faith_pset_init(faith_pset *s, int32_t n);
void faith_pset_free(faith_pset *s);
void faith_pset_clear(faith_pset *s);
/* Add the item with the positions flagged in remove removed by op. */
int faith_pset_add(faith_pset *s, faith_perturb_op op, const faith_special_ids *sp,
                   const faith_item *it, const uint8_t *remove, faith_err *err);
/* Add the item with its first k ranked positions order[0..k) removed (keep = 0), or with only
 * those kept (keep = 1: every non-special position outside order[0..k) is removed). */
int faith_pset_add_topk(faith_pset *s, faith_perturb_op op, const faith_special_ids *sp,
                        const faith_item *it, const int32_t *order, int32_t k, int keep,
                        faith_err *err);
/* Run every variant; probs[i] = softmax probability of class target for variant i; when argmax is
 * not NULL it gets each variant's predicted class. */
int faith_pset_run(const faith_pset *s, const faith_env *env, int32_t target, double *probs,
                   int32_t *argmax, faith_err *err);

/* Softmax probability of class target from a row of K logits (double). */
double faith_prob_of(const float *logits, int32_t K, int32_t target);
/* Index of the largest logit (lowest index on ties). */
int32_t faith_argmax(const float *logits, int32_t K);
/* Number of non-special tokens of an item. */
int32_t faith_item_n_plain(const faith_item *it);

#endif
