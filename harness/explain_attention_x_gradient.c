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
    int32_t L = faith_model_cfg(env->model)->n_layers, T = it->n;
    size_t tt = (size_t)T * T;
    double *Abar = faith_xmalloc((size_t)L * tt * sizeof(double)), *R = faith_xmalloc(tt * sizeof(double));
    int rc = faith_attn_layer_maps(env, it, 1, Abar, err);
    if (rc == FAITH_OK) {
        faith_attn_relevance(Abar, L, T, R);
        for (int32_t t = 0; t < T; t++) scores[t] = (float)R[t];
    }
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
