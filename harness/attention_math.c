/* attention_math.c: head averaging, rollout and gradient-weighted relevance products for the
 * attention explainers, plus the single-example forward (and backward) they share. */
#include "attention_math.h"

#include <stdlib.h>
#include <string.h>

void faith_attn_head_mean(const float *attn, int32_t NH, int32_t T, const int32_t *heads,
                          int32_t n_heads, double *out)
{
    size_t tt = (size_t)T * T;
    int32_t H = heads ? n_heads : NH;
    memset(out, 0, tt * sizeof(double));
    for (int32_t k = 0; k < H; k++) {
        const float *a = attn + (size_t)(heads ? heads[k] : k) * tt;
        for (size_t i = 0; i < tt; i++) out[i] += a[i];
    }
    for (size_t i = 0; i < tt; i++) out[i] /= H;
}

void faith_attn_grad_weighted(const float *attn, const float *grad, int32_t NH, int32_t T,
                              double *out)
{
    size_t tt = (size_t)T * T;
    memset(out, 0, tt * sizeof(double));
    for (int32_t h = 0; h < NH; h++)
        for (size_t i = 0; i < tt; i++) {
            double v = (double)grad[h * tt + i] * attn[h * tt + i];
            if (!(v <= 0)) out[i] += v; /* positive part; a NaN passes to the finiteness check */
        }
    for (size_t i = 0; i < tt; i++) out[i] /= NH;
}

/* c (T, T) = a b; c must not alias a or b. */
static void matmul(const double *a, const double *b, int32_t T, double *c)
{
    for (int32_t i = 0; i < T; i++)
        for (int32_t j = 0; j < T; j++) {
            double s = 0;
            for (int32_t k = 0; k < T; k++) s += a[(size_t)i * T + k] * b[(size_t)k * T + j];
            c[(size_t)i * T + j] = s;
        }
}

static void identity(double *R, int32_t T)
{
    memset(R, 0, (size_t)T * T * sizeof(double));
    for (int32_t i = 0; i < T; i++) R[(size_t)i * T + i] = 1.0;
}

void faith_attn_rollout(const double *A, int32_t L, int32_t T, double *R)
{
    size_t tt = (size_t)T * T;
    double *ahat = faith_xmalloc(tt * sizeof(double)), *tmp = faith_xmalloc(tt * sizeof(double));
    identity(R, T);
    for (int32_t l = 0; l < L; l++) {
        for (int32_t i = 0; i < T; i++) {
            double row = 0;
            for (int32_t j = 0; j < T; j++) {
                double v = 0.5 * A[l * tt + (size_t)i * T + j] + (i == j ? 0.5 : 0.0);
                ahat[(size_t)i * T + j] = v;
                row += v;
            }
            for (int32_t j = 0; j < T; j++) ahat[(size_t)i * T + j] /= row;
        }
        matmul(ahat, R, T, tmp); /* later layers multiply from the left */
        memcpy(R, tmp, tt * sizeof(double));
    }
    free(ahat);
    free(tmp);
}

void faith_attn_relevance(const double *Abar, int32_t L, int32_t T, double *R)
{
    size_t tt = (size_t)T * T;
    double *tmp = faith_xmalloc(tt * sizeof(double));
    identity(R, T);
    for (int32_t l = 0; l < L; l++) {
        matmul(Abar + l * tt, R, T, tmp);
        for (size_t i = 0; i < tt; i++) R[i] += tmp[i];
    }
    free(tmp);
}

int faith_attn_run(const faith_env *env, const faith_item *it, int backward, faith_err *err)
{
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t K = cfg->n_classes, n = it->n;
    if (it->target < 0 || it->target >= K)
        return faith_err_set(err, FAITH_ERR_RANGE, "target class %d out of range [0, %d)",
                             (int)it->target, (int)K);
    float logits[FAITH_MAX_CLASSES], dlogits[FAITH_MAX_CLASSES];
    faith_batch b = {1, n, it->ids, it->type_ids, &n, NULL};
    unsigned flags = FAITH_FWD_ATTN | (backward ? FAITH_FWD_KEEP_ACTS : 0u);
    FAITH_TRY(faith_model_forward(env->model, &b, flags, logits, err));
    env->cost->forward++;
    env->cost->sequences++;
    env->cost->tokens += n;
    if (!backward) return FAITH_OK;
    faith_output_value(env->output, logits, K, it->target, dlogits);
    FAITH_TRY(faith_model_backward(env->model, dlogits, NULL, err));
    env->cost->backward++;
    return FAITH_OK;
}

int faith_attn_layer_maps(const faith_env *env, const faith_item *it, int grad_weighted, double *maps,
                          faith_err *err)
{
    const faith_model_config *cfg = faith_model_cfg(env->model);
    int32_t L = cfg->n_layers, NH = cfg->n_heads, T = it->n;
    size_t tt = (size_t)T * T;
    FAITH_TRY(faith_attn_run(env, it, grad_weighted, err));
    for (int32_t l = 0; l < L; l++) {
        const float *attn = faith_model_attention(env->model, l);
        const float *grad = grad_weighted ? faith_model_attention_grad(env->model, l) : NULL;
        if (!attn || (grad_weighted && !grad))
            return faith_err_set(err, FAITH_ERR_INTERNAL, "model kept no attention%s for layer %d",
                                 grad_weighted ? " or attention gradient" : "", (int)l);
        if (grad_weighted) faith_attn_grad_weighted(attn, grad, NH, T, maps + (size_t)l * tt);
        else faith_attn_head_mean(attn, NH, T, NULL, 0, maps + (size_t)l * tt);
    }
    return FAITH_OK;
}
