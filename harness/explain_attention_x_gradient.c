/* explain_attention_x_gradient.c: generic attention explainability (Chefer et al. 2021): attention
 * maps weighted by their gradients, positive part, head-averaged, propagated by R = R + Abar R. */
#include <stdlib.h>

#include "attention_math.h"
#include "explainer.h"

/* The score is row 0 of R as is: R starts from the identity, so the first token keeps its self
 * term (score[0] >= 1), as in the paper's relevance maps; the other tokens' scores are unaffected. */
static int axg_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                       faith_explain_extra *extra, faith_err *err)
{
    (void)state;
    (void)extra;
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t L = cfg->n_layers, NH = cfg->n_heads, T = it->n;
    size_t tt = (size_t)T * T;
    FAITH_TRY(faith_attn_run(env, it, 1, err));
    double *Abar = faith_xmalloc((size_t)L * tt * sizeof(double)), *R = faith_xmalloc(tt * sizeof(double));
    int rc = FAITH_OK;
    for (int32_t l = 0; l < L; l++) {
        const float *attn = faith_model_attention(env->model, l);
        const float *grad = faith_model_attention_grad(env->model, l);
        if (!attn || !grad) {
            rc = faith_err_set(err, FAITH_ERR_INTERNAL,
                               "model kept no attention or attention gradient for layer %d", (int)l);
            goto cleanup;
        }
        faith_attn_grad_weighted(attn, grad, NH, T, Abar + (size_t)l * tt);
    }
    faith_attn_relevance(Abar, L, T, R);
    for (int32_t t = 0; t < T; t++) scores[t] = (float)R[t];
cleanup:
    free(Abar);
    free(R);
    return rc;
}

const faith_explainer_ops faith_explainer_attention_x_gradient = {
    .name = "attention_x_gradient",
    .version = "1",
    .summary = "gradient-weighted attention relevance propagated through the layers (Chefer et al.)",
    .explain = axg_explain,
};
