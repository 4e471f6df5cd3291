/* batcher.h: runs many variable-length sequences through the model in batches cut by a token
 * budget, so perturbations and interpolation steps become few large GEMMs with bounded memory. */
#ifndef FAITH_BATCHER_H
#define FAITH_BATCHER_H

#include <stdint.h>

#include "cost.h"
#include "error.h"
#include "model.h"

/* Default budget: rows * padded length per forward. */
#define FAITH_DEFAULT_TOKEN_BUDGET 8192
/* Gradient batches use token_budget / FAITH_GRAD_BUDGET_DIVISOR: a backward keeps every layer's
 * activations, a forward does not. */
#define FAITH_GRAD_BUDGET_DIVISOR 4

/* Logits (n, K) of n sequences. Sequence i is ids[i] (len[i] ids), type_ids[i] (NULL array or
 * NULL entry = zeros). Sequences are batched in the given order; a batch ends when adding the next
 * sequence would make rows * max_len exceed token_budget (a single longer sequence still runs alone).
 * A sequence's logits do not depend on the batching. Adds to cost (may be NULL). */
int faith_run_logits(faith_model *m, int64_t token_budget, int32_t n, const int32_t *const *ids,
                     const int32_t *const *type_ids, const int32_t *len, float *logits,
                     faith_cost *cost, faith_err *err);

/* The budget gradient explainers pass to faith_run_grads for an environment's token_budget
 * (<= 0: the default): token_budget / FAITH_GRAD_BUDGET_DIVISOR, at least 1. */
int64_t faith_grad_budget(int64_t token_budget);

/* For each of n sequences, the value of output `out` for class target and its gradient with
 * respect to the word-embedding vectors: values (n), grads[i] (len[i], C). embeds[i] (len[i], C)
 * replaces the word-embedding lookup for sequence i (embeds NULL or entry NULL: lookup). Batched by
 * token budget like faith_run_logits. Adds to cost. */
int faith_run_grads(faith_model *m, int64_t token_budget, int32_t n, const int32_t *const *ids,
                    const int32_t *const *type_ids, const int32_t *len, const float *const *embeds,
                    int32_t target, faith_output out, double *values, float *const *grads,
                    faith_cost *cost, faith_err *err);

#endif
