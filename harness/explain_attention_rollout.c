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
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t L = cfg->n_layers, NH = cfg->n_heads, T = it->n;
    size_t tt = (size_t)T * T;
    FAITH_TRY(faith_attn_run(env, it, 0, err));
    double *A = faith_xmalloc((size_t)L * tt * sizeof(double)), *R = faith_xmalloc(tt * sizeof(double));
    int rc = FAITH_OK;
    for (int32_t l = 0; l < L; l++) {
        const float *attn = faith_model_attention(env->model, l);
        if (!attn) {
            rc = faith_err_set(err, FAITH_ERR_INTERNAL, "model kept no attention for layer %d", (int)l);
            goto cleanup;
        }
        faith_attn_head_mean(attn, NH, T, NULL, 0, A + (size_t)l * tt);
    }
    faith_attn_rollout(A, L, T, R);
    for (int32_t t = 0; t < T; t++) scores[t] = (float)R[t];
cleanup:
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
