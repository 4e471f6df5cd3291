/* explain_grad_x_input.c: gradient x input (Shrikumar et al. 2016): per token, the dot product of
 * the output's gradient with respect to the word embedding and the word embedding itself. */
#include <stdlib.h>

#include "batcher.h"
#include "explainer.h"

static int gxi_explain(void *state, const faith_env *env, const faith_item *it, float *scores,
                       faith_explain_extra *extra, faith_err *err)
{
    (void)state;
    (void)extra;
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t C = cfg->d_model;
    float *g = faith_xmalloc((size_t)it->n * C * sizeof(float));
    double value;
    int rc = faith_run_grads(env->model, env->token_budget, 1, &it->ids, &it->type_ids, &it->n, NULL,
                             it->target, env->output, &value, &g, env->cost, err);
    if (rc == FAITH_OK) {
        /* The batcher has validated the ids, so the lookup rows below exist. */
        const float *E = faith_model_word_embeddings(env->model);
        for (int32_t t = 0; t < it->n; t++) {
            const float *e = E + (size_t)it->ids[t] * C, *gt = g + (size_t)t * C;
            double acc = 0;
            for (int32_t c = 0; c < C; c++) acc += (double)gt[c] * e[c];
            scores[t] = (float)acc;
        }
    }
    free(g);
    return rc;
}

const faith_explainer_ops faith_explainer_grad_x_input = {
    .name = "grad_x_input",
    .version = "1",
    .summary = "dot product of each token's word embedding and the output's gradient there",
    .explain = gxi_explain,
};
