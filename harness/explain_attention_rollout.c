/* explain_attention_rollout.c: attention rollout (Abnar & Zuidema 2020): head-averaged attention plus
 * the residual identity, multiplied through the layers; the first token's row is the score. */
#include <stdlib.h>

#include "attention_math.h"
#include "explainer.h"

static int ro_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                      faith_explain_extra *extra, faith_err *err)
{
    (void)state;
    (void)extra;
    int32_t L = faith_model_cfg(env->model)->n_layers, T = it->n;
    size_t tt = (size_t)T * T;
    double *A = faith_xmalloc((size_t)L * tt * sizeof(double)), *R = faith_xmalloc(tt * sizeof(double));
    int rc = faith_attn_layer_maps(env, it, 0, A, err);
    if (rc == FAITH_OK) {
        faith_attn_rollout(A, L, T, R);
        for (int32_t t = 0; t < T; t++) scores[t] = (float)R[t];
    }
    free(A);
    free(R);
    return rc;
}

const faith_explainer_ops faith_explainer_attention_rollout = {
    .name = "attention_rollout",
    .version = "1",
    .summary = "attention rollout: head-averaged attention plus identity, multiplied over layers",
    .explain = ro_explain,
};
