/* item.h: one tokenised example as explainers and metrics see it, and the environment they may use
 * (the model, special ids, seeds, batch budget, cost counters). Plain data, all pointers borrowed. */
#ifndef FAITH_ITEM_H
#define FAITH_ITEM_H

#include <stdint.h>

#include "cost.h"
#include "model.h"
#include "tokenizer.h"

typedef struct faith_item {
    int64_t id;                 /* example id (stable index in the dataset) */
    int32_t n;                  /* tokens, special tokens included */
    const int32_t *ids;         /* (n) */
    const int32_t *type_ids;    /* (n) */
    const uint8_t *special;     /* (n) 1 for [CLS]/[SEP]/<s>/</s> */
    const int32_t *word;        /* (n) whitespace-word index, -1 for specials */
    int32_t n_words;
    int32_t label;              /* gold label or -1 */
    int32_t target;             /* class being explained / measured */
    const float *logits;        /* (K) logits of the unperturbed input */
    const uint8_t *rationale;   /* (n_words) 0/1 or NULL */
} faith_item;

typedef struct faith_env {
    faith_model *model;
    faith_special_ids special;
    uint64_t seed;              /* run seed; random streams are keyed by (seed, item id, name) */
    int64_t token_budget;       /* max rows * padded length per forward */
    faith_output output;        /* scalar explained: prob (default), logit or logprob */
    faith_cost *cost;           /* counters to add to (never NULL) */
} faith_env;

#endif
