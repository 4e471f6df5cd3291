/* loo.c: the leave-one-out cache: an example's n single-token perturbations go through the model
 * once per rank, whichever of occlusion and tau_loo asks first; the runner asks in example order. */
#include "loo.h"

#include <stdlib.h>
#include <string.h>

/* One entry: the runner measures every explainer and metric of an example before the next example,
 * so the last example is the only one asked for again. Single-threaded by design (one pool: BLAS). */
static struct {
    int valid;
    int64_t id, budget;
    uint64_t model; /* faith_model_serial: the model-randomisation check asks again on another model */
    int32_t target, n, d;
    faith_output output;
    faith_replace replace;
    int32_t *ids;
    double *drops;
} cache;

static int hit(const faith_env *env, const faith_item *it, const faith_replace *r)
{
    return cache.valid && cache.model == faith_model_serial(env->model) && cache.id == it->id &&
           cache.target == it->target && cache.n == it->n &&
           cache.output == env->output && cache.budget == env->token_budget &&
           cache.replace.kind == r->kind && cache.replace.id == r->id &&
           memcmp(cache.ids, it->ids, sizeof(int32_t) * (size_t)it->n) == 0;
}

int faith_loo_drops(const faith_env *env, const faith_item *it, const faith_replace *r,
                    const double **drops, int32_t *d, faith_err *err)
{
    if (hit(env, it, r)) {
        *drops = cache.d ? cache.drops : NULL;
        *d = cache.d;
        return FAITH_OK;
    }
    cache.valid = 0;
    int32_t *feat = faith_xmalloc((size_t)(it->n > 0 ? it->n : 1) * sizeof *feat);
    int32_t nd = faith_coalition_features(it, feat);
    /* row 0: the input itself; row 1 + j: feature j removed */
    int64_t rows = (int64_t)nd + 1;
    uint8_t *masks = faith_xmalloc((size_t)rows * (size_t)(nd > 0 ? nd : 1));
    double *v = faith_xmalloc((size_t)rows * sizeof *v);
    memset(masks, 1, (size_t)rows * (size_t)nd);
    for (int32_t j = 0; j < nd; j++) masks[(size_t)(1 + j) * nd + j] = 0;
    int rc = FAITH_OK;
    if (nd > 0) rc = faith_coalition_values(env, it, r, nd, feat, rows, masks, v, err);
    if (rc == FAITH_OK) {
        cache.ids = faith_xrealloc(cache.ids, sizeof(int32_t) * (size_t)(it->n > 0 ? it->n : 1));
        cache.drops = faith_xrealloc(cache.drops, sizeof(double) * (size_t)(nd > 0 ? nd : 1));
        memcpy(cache.ids, it->ids, sizeof(int32_t) * (size_t)it->n);
        for (int32_t j = 0; j < nd; j++) cache.drops[j] = v[0] - v[1 + j];
        cache.id = it->id, cache.budget = env->token_budget, cache.target = it->target;
        cache.model = faith_model_serial(env->model);
        cache.n = it->n, cache.d = nd, cache.output = env->output, cache.replace = *r;
        cache.valid = 1;
        *drops = nd ? cache.drops : NULL;
        *d = nd;
    }
    free(v);
    free(masks);
    free(feat);
    return rc;
}
