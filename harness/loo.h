/* loo.h: leave-one-out drops of one example, F(x) - F(x with token t replaced or deleted), computed
 * once and shared by everything that needs them (the occlusion explainer, the tau_loo metric). */
#ifndef FAITH_LOO_H
#define FAITH_LOO_H

#include "coalition.h"
#include "item.h"

/* Drops of env->output for class it->target over the d non-special tokens of it, in position order:
 * *drops points at d values owned by the cache, valid until the next call. The last example's drops
 * are kept, keyed by (model, id, target, tokens, replacement, output, token budget): a repeated request
 * costs no model call and returns the same bits as the first (the same sequences, batched the same
 * way). d = 0 gives *drops = NULL. */
int faith_loo_drops(const faith_env *env, const faith_item *it, const faith_replace *r,
                    const double **drops, int32_t *d, faith_err *err);

#endif
