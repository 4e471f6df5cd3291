/* embed_points.h: points in word-embedding space around one example, for the explainers that take
 * gradients at many of them (Integrated Gradients, SmoothGrad): the buffers, and one batched run. */
#ifndef FAITH_EMBED_POINTS_H
#define FAITH_EMBED_POINTS_H

#include <stdint.h>

#include "batcher.h"
#include "error.h"
#include "explainer.h"
#include "item.h"

/* S points of the example's shape (n tokens, C dims). The caller fills each point's embeddings
 * (faith_embed_point); faith_embed_points_run then leaves the output's value at each point in
 * values and its gradient in faith_embed_grad. */
typedef struct faith_embed_points {
    int32_t S, n, C;
    float *x;       /* (n, C): the example's own word embeddings */
    double *values; /* (S) */
    float *emb, *grad;
    const int32_t **ids, **types;
    const float **embp;
    float **gradp;
    int32_t *len;
} faith_embed_points;

/* Buffers for S points of item it, x filled from the model's word embeddings. FAITH_ERR_RANGE when
 * a token id has no embedding; p is then left empty (freeing it is still fine). */
int faith_embed_points_init(faith_embed_points *p, const faith_env *env, const faith_item *it, int32_t S,
                            faith_err *err);
void faith_embed_points_free(faith_embed_points *p);

static inline float *faith_embed_point(faith_embed_points *p, int32_t k)
{
    return p->emb + (size_t)k * p->n * p->C;
}
static inline const float *faith_embed_grad(const faith_embed_points *p, int32_t k)
{
    return p->grad + (size_t)k * p->n * p->C;
}

/* Values and gradients of env's output for it->target at every point, batched by budget (tokens per
 * call, from faith_grad_budget), costs added to env->cost. Each point's result does not depend on
 * the budget. */
int faith_embed_points_run(faith_embed_points *p, const faith_env *env, const faith_item *it, int64_t budget,
                           faith_err *err);

#endif
