/* attention_math.h: the matrix algebra behind the attention explainers (head averages, rollout,
 * gradient-weighted relevance) on small (T, T) double matrices, exposed for tests. */
#ifndef FAITH_ATTENTION_MATH_H
#define FAITH_ATTENTION_MATH_H

#include <stdint.h>

#include "item.h"

/* Mean over heads (heads[0..n_heads), or all NH when heads is NULL) of one layer's attention
 * probabilities attn (NH, T, T) into out (T, T). */
void faith_attn_head_mean(const float *attn, int32_t NH, int32_t T, const int32_t *heads,
                          int32_t n_heads, double *out);

/* Chefer et al.'s per-layer weight: out (T, T) = mean over heads of max(0, grad * attn),
 * attn and grad (NH, T, T). */
void faith_attn_grad_weighted(const float *attn, const float *grad, int32_t NH, int32_t T,
                              double *out);

/* Attention rollout (Abnar & Zuidema 2020): with A (L, T, T) head-averaged probabilities, first
 * layer first, each Ahat_l = 0.5 A_l + 0.5 I with rows renormalised; R (T, T) = Ahat_L ... Ahat_1. */
void faith_attn_rollout(const double *A, int32_t L, int32_t T, double *R);

/* Generic relevance propagation (Chefer et al. 2021): R = I, then R = R + Abar_l R for l = 1..L;
 * Abar (L, T, T), R (T, T). */
void faith_attn_relevance(const double *Abar, int32_t L, int32_t T, double *R);

/* Forward one example alone with FAITH_FWD_ATTN (and, when backward, FAITH_FWD_KEEP_ACTS plus a
 * backward of env->output for it->target), adding the work to env->cost; afterwards the model's
 * attention (and attention gradient) buffers hold (1, NH, n, n) per layer. */
int faith_attn_run(const faith_env *env, const faith_item *it, int backward, faith_err *err);

/* One (T, T) map per layer of example it into maps (L, T, T), first layer first, after
 * faith_attn_run: the head-averaged attention, or with grad_weighted Chefer et al.'s weight
 * (faith_attn_grad_weighted, which needs the backward). */
int faith_attn_layer_maps(const faith_env *env, const faith_item *it, int grad_weighted, double *maps,
                          faith_err *err);

#endif
