/* embed_points.c: buffers for many points in word-embedding space around one example, and their
 * gradients in one faith_run_grads call (see embed_points.h). */
#include "embed_points.h"

#include <stdlib.h>
#include <string.h>

int faith_embed_points_init(faith_embed_points *p, const faith_env *env, const faith_item *it, int32_t S,
                            faith_err *err)
{
    memset(p, 0, sizeof *p);
    const faith_model_config *cfg = faith_model_cfg(env->model);
    for (int32_t t = 0; t < it->n; t++)
        if (it->ids[t] < 0 || it->ids[t] >= cfg->vocab_size)
            return faith_err_set(err, FAITH_ERR_RANGE, "token %d has id %d, vocabulary has %d", (int)t,
                                 (int)it->ids[t], (int)cfg->vocab_size);
    int32_t n = it->n, C = cfg->d_model;
    size_t nc = (size_t)n * C;
    p->S = S;
    p->n = n;
    p->C = C;
    p->x = faith_xmalloc(nc * sizeof(float));
    const float *E = faith_model_word_embeddings(env->model);
    for (int32_t t = 0; t < n; t++) memcpy(p->x + (size_t)t * C, E + (size_t)it->ids[t] * C, C * sizeof(float));
    p->values = faith_xmalloc((size_t)S * sizeof *p->values);
    p->emb = faith_xmalloc((size_t)S * nc * sizeof(float));
    p->grad = faith_xmalloc((size_t)S * nc * sizeof(float));
    p->ids = faith_xmalloc((size_t)S * sizeof *p->ids);
    p->types = faith_xmalloc((size_t)S * sizeof *p->types);
    p->embp = faith_xmalloc((size_t)S * sizeof *p->embp);
    p->gradp = faith_xmalloc((size_t)S * sizeof *p->gradp);
    p->len = faith_xmalloc((size_t)S * sizeof *p->len);
    for (int32_t k = 0; k < S; k++) {
        p->ids[k] = it->ids;
        p->types[k] = it->type_ids;
        p->embp[k] = p->emb + (size_t)k * nc;
        p->gradp[k] = p->grad + (size_t)k * nc;
        p->len[k] = n;
    }
    return FAITH_OK;
}

void faith_embed_points_free(faith_embed_points *p)
{
    free(p->x);
    free(p->values);
    free(p->emb);
    free(p->grad);
    free(p->ids);
    free(p->types);
    free(p->embp);
    free(p->gradp);
    free(p->len);
    memset(p, 0, sizeof *p);
}

int faith_embed_points_run(faith_embed_points *p, const faith_env *env, const faith_item *it, int64_t budget,
                           faith_err *err)
{
    return faith_run_grads(env->model, budget, p->S, p->ids, p->types, p->len, p->embp, it->target, env->output,
                           p->values, p->gradp, env->cost, err);
}
