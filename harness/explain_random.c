/* explain_random.c: the `random` baseline explainer: uniform [0, 1) scores from the example's own
 * random stream, no model calls; the floor every faithfulness metric should beat. */
#include <math.h>
#include <stdlib.h>

#include "explainer.h"
#include "rng.h"

static int random_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                          faith_explain_extra *extra, faith_err *err)
{
    (void)state;
    (void)err;
    faith_rng rng;
    faith_rng_init(&rng, env->seed, it->id, "random");
    for (int32_t t = 0; t < it->n; t++) scores[t] = (float)faith_rng_uniform(&rng);
    /* rounding a value just below 1 to float can give exactly 1; keep the half-open range */
    for (int32_t t = 0; t < it->n; t++)
        if (scores[t] >= 1.0f) scores[t] = nextafterf(1.0f, 0.0f);
    if (extra) extra->completeness_gap = extra->delta_f = NAN;
    return FAITH_OK;
}

const faith_explainer_ops faith_explainer_random = {
    .name = "random",
    .version = "1",
    .summary = "uniform random token scores (seeded per example; no model calls)",
    .explain = random_explain,
};
