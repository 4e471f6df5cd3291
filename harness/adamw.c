/* adamw.c: AdamW (Loshchilov & Hutter) as PyTorch's torch.optim.AdamW computes it, the linear
 * warm-up/decay schedule and global-norm clipping, all over segments of flat float buffers. */
#include "adamw.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

struct faith_adamw {
    faith_adamw_config c;
    size_t n;
    float *m, *v; /* (n) first and second moments */
    int64_t t;    /* updates done */
};

double faith_adamw_lr(const faith_adamw_config *c, int64_t step)
{
    if (step < 0 || step >= c->total_steps) return 0.0;
    if (step < c->warmup_steps) return c->lr * (double)(step + 1) / (double)c->warmup_steps;
    int64_t decay = c->total_steps - c->warmup_steps;
    return c->lr * (double)(c->total_steps - step) / (double)decay;
}

faith_adamw *faith_adamw_create(const faith_adamw_config *c, size_t n)
{
    faith_adamw *o = faith_xcalloc(1, sizeof *o);
    o->c = *c;
    o->n = n;
    o->m = faith_xcalloc(n ? n : 1, sizeof(float));
    o->v = faith_xcalloc(n ? n : 1, sizeof(float));
    return o;
}

void faith_adamw_free(faith_adamw *o)
{
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o);
}

int64_t faith_adamw_steps(const faith_adamw *o)
{
    return o->t;
}

double faith_adamw_global_norm(const float *grads, const faith_adamw_seg *segs, size_t n_segs)
{
    double ss = 0.0;
    for (size_t s = 0; s < n_segs; s++) {
        const float *g = grads + segs[s].offset;
        for (size_t i = 0; i < segs[s].n; i++) ss += (double)g[i] * (double)g[i];
    }
    return sqrt(ss);
}

double faith_adamw_clip(float *grads, const faith_adamw_seg *segs, size_t n_segs, double max_norm)
{
    double norm = faith_adamw_global_norm(grads, segs, n_segs);
    if (max_norm <= 0.0 || !(norm > max_norm)) return norm;
    /* PyTorch's clip_grad_norm_ adds 1e-6 so a norm just above the limit never divides by ~0. */
    float scale = (float)(max_norm / (norm + 1e-6));
    for (size_t s = 0; s < n_segs; s++) {
        float *g = grads + segs[s].offset;
        for (size_t i = 0; i < segs[s].n; i++) g[i] *= scale;
    }
    return norm;
}

void faith_adamw_step(faith_adamw *o, float *params, const float *grads, const faith_adamw_seg *segs,
                      size_t n_segs)
{
    const faith_adamw_config *c = &o->c;
    double lr = faith_adamw_lr(c, o->t);
    int64_t t = ++o->t;
    double bc1 = 1.0 - pow(c->beta1, (double)t);
    double bc2_sqrt = sqrt(1.0 - pow(c->beta2, (double)t));
    double step_size = lr / bc1;
    for (size_t s = 0; s < n_segs; s++) {
        size_t off = segs[s].offset;
        double shrink = segs[s].decay ? 1.0 - lr * c->weight_decay : 1.0;
        float *p = params + off, *m = o->m + off, *v = o->v + off;
        const float *g = grads + off;
        for (size_t i = 0; i < segs[s].n; i++) {
            double gi = g[i];
            double mi = c->beta1 * m[i] + (1.0 - c->beta1) * gi;
            double vi = c->beta2 * v[i] + (1.0 - c->beta2) * gi * gi;
            m[i] = (float)mi;
            v[i] = (float)vi;
            double denom = sqrt(vi) / bc2_sqrt + c->eps;
            p[i] = (float)((double)p[i] * shrink - step_size * mi / denom);
        }
    }
}
