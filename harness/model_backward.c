/* model_backward.c: the backward of a forward that kept its activations: from d logits through the
 * head and the encoder to the word embeddings, and into the parameter gradients when enabled. */
#include <string.h>

#include "model_internal.h"

#define G(off) (m->grads ? m->grads + (off) : NULL)

/* Rebuild the column panels if params may have changed since they were made; only matrices whose
 * input gradient is tiled (faith_linear_tile_rows(OUT) > 0) are copied and read. */
static void refresh_wc(faith_model *m)
{
    if (!m->tiles || (!m->wc_stale && m->wc)) return;
    if (!m->wc) m->wc = faith_xmalloc(sizeof(float) * m->n_wt);
    int C = m->cfg.d_model, F = m->cfg.d_ffn;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const layer_off *o = &m->lo[l];
        if (faith_linear_tile_rows(3 * C)) faith_linear_copy_cols(m->wc + o->tqkv, m->params + o->wqkv, C, 3 * C);
        if (faith_linear_tile_rows(C)) faith_linear_copy_cols(m->wc + o->to, m->params + o->wo, C, C);
        if (faith_linear_tile_rows(F)) faith_linear_copy_cols(m->wc + o->t1, m->params + o->w1, C, F);
        if (faith_linear_tile_rows(C)) faith_linear_copy_cols(m->wc + o->t2, m->params + o->w2, F, C);
    }
    m->wc_stale = 0;
}

/* The column panels of the matrix at wt offset t with OUT outputs, or NULL where they are not made. */
static const float *wc_at(const faith_model *m, size_t t, int OUT)
{
    return m->tiles && faith_linear_tile_rows(OUT) ? m->wc + t : NULL;
}

/* Head backward: fills dA (N, C) with the gradient wrt the last layer's output (token 0 rows only). */
static void head_backward(faith_model *m, const float *dlogits)
{
    const faith_model_config *c = &m->cfg;
    const float *P = m->params;
    int B = m->B, T = m->T, C = c->d_model, K = c->n_classes, drop = (m->flags & FAITH_FWD_DROPOUT) != 0;
    faith_rows rows = {B, 1, NULL, !m->batched, m->tiles};
    size_t BC = (size_t)B * C;
    faith_linear_backward(m->dh1, G(m->hw2), G(m->hb2), dlogits, m->hdrop, P + m->hw2, &rows, C, K, 0);
    if (drop) faith_dropout_apply(m->dh1, BC, p_head(m), drop_key(m, -2, "cls_hidden"));
    if (c->arch == FAITH_ARCH_DISTILBERT) faith_relu_backward(m->dh1, m->dh1, m->hpre, BC);
    else faith_tanh_backward(m->dh1, m->dh1, m->hact, BC);
    faith_linear_backward(m->dh2, G(m->hw1), G(m->hb1), m->dh1, m->cls, P + m->hw1, &rows, C, C, 0);
    if (drop && c->arch == FAITH_ARCH_ROBERTA)
        faith_dropout_apply(m->dh2, BC, p_head(m), drop_key(m, -2, "cls_in"));
    if (m->first_only) { /* the last layer's output has one row per sequence */
        memcpy(m->dA, m->dh2, sizeof(float) * BC);
        return;
    }
    memset(m->dA, 0, sizeof(float) * (size_t)B * T * C);
    for (int r = 0; r < B; r++) memcpy(m->dA + (size_t)r * T * C, m->dh2 + (size_t)r * C, sizeof(float) * C);
}

/* Backward of layer_tail_forward over N rows: dA holds d out on entry; on return dA holds the
 * residual part of d x (x: the layer's input rows) and dB holds d ctx. */
static void layer_tail_backward(faith_model *m, int l, int N, const faith_rows *rows)
{
    const faith_model_config *c = &m->cfg;
    const layer_off *o = &m->lo[l];
    layer_acts *a = &m->la[l];
    const float *P = m->params;
    int C = c->d_model, F = c->d_ffn;
    size_t NC = (size_t)N * C;
    int drop = (m->flags & FAITH_FWD_DROPOUT) != 0, db = c->arch == FAITH_ARCH_DISTILBERT;
    /* out = LN2(h1 + W2 act + b2) */
    faith_layernorm_backward(m->dB, G(o->ln2g), G(o->ln2b), m->dA, a->res2, a->m2, a->r2, P + o->ln2g, N, C);
    const float *dy = m->dB;
    if (drop) {
        memcpy(m->dC, m->dB, sizeof(float) * NC);
        drop_rows(m, m->dC, N, rows, p_hidden(m), drop_key(m, l, "ffnout"));
        dy = m->dC;
    }
    faith_linear_backward_t(m->dF, G(o->w2), G(o->b2), dy, a->act, P + o->w2, wc_at(m, o->t2, C), rows, F, C, 0);
    faith_gelu_backward(m->dF, m->dF, a->pre, (size_t)N * F);
    /* dB becomes d h1: the residual path plus the FFN input path. */
    faith_linear_backward_t(m->dB, G(o->w1), G(o->b1), m->dF, a->h1, P + o->w1, wc_at(m, o->t1, F), rows, C, F, 1);
    /* h1 = LN1(x + Wo ctx + bo) */
    faith_layernorm_backward(m->dA, G(o->ln1g), G(o->ln1b), m->dB, a->res1, a->m1, a->r1, P + o->ln1g, N, C);
    dy = m->dA;
    if (drop && !db) {
        memcpy(m->dC, m->dA, sizeof(float) * NC);
        drop_rows(m, m->dC, N, rows, p_hidden(m), drop_key(m, l, "attout"));
        dy = m->dC;
    }
    faith_linear_backward_t(m->dB, G(o->wo), G(o->bo), dy, a->ctx, P + o->wo, wc_at(m, o->to, C), rows, C, C, 0);
}

/* Backward of layer_first_forward: dA holds d out (B, C) on entry and d in (B, T, C) on return. */
static void layer_first_backward(faith_model *m, int l)
{
    const faith_model_config *c = &m->cfg;
    const layer_off *o = &m->lo[l];
    layer_acts *a = &m->la[l];
    size_t CC = (size_t)c->d_model * c->d_model;
    const float *P = m->params, *wk = P + o->wqkv + CC, *wv = wk + CC;
    int B = m->B, T = m->T, C = c->d_model, NH = c->n_heads, drop = (m->flags & FAITH_FWD_DROPOUT) != 0;
    faith_rows rows1 = {B, 1, NULL, !m->batched, m->tiles};
    layer_tail_backward(m, l, B, &rows1);
    /* dA now holds the residual part of d x1 (B, C): keep it aside, dA becomes d in (B, T, C). */
    memcpy(m->dh2, m->dA, sizeof(float) * (size_t)B * C);
    faith_attention_folded_context_backward(a->datt, m->dA, m->dxbar, G(o->wqkv + 2 * CC), G(o->bqkv + 2 * C), m->dB,
                                            drop ? a->attd : a->att, m->xbar, a->in, wv, P + o->bqkv + 2 * C, m->len,
                                            B, T, C, NH);
    if (drop)
        faith_dropout_apply_rows(a->datt, (size_t)B * NH, (size_t)T, (size_t)T * T, c->attn_dropout,
                                 drop_key(m, l, "att"));
    faith_attention_folded_probs_backward(m->dq1, m->dA, m->dfu, G(o->wqkv + CC), m->dsc, a->datt, a->att, m->fu,
                                          m->q1, a->in, wk, m->len, B, T, C, NH);
    /* d x1 = residual + query path, added on each first token */
    faith_linear_backward(m->dh2, G(o->wqkv), G(o->bqkv), m->dq1, m->x1, P + o->wqkv, &rows1, C, C, 1);
    for (int b = 0; b < B; b++) {
        float *d = m->dA + (size_t)b * T * C;
        const float *d1 = m->dh2 + (size_t)b * C;
        for (int k = 0; k < C; k++) d[k] += d1[k];
    }
}

/* dA holds d(out of layer l) on entry and d(in of layer l) on return. */
static void layer_backward(faith_model *m, int l)
{
    const faith_model_config *c = &m->cfg;
    const layer_off *o = &m->lo[l];
    layer_acts *a = &m->la[l];
    const float *P = m->params;
    int B = m->B, T = m->T, C = c->d_model, NH = c->n_heads;
    int drop = (m->flags & FAITH_FWD_DROPOUT) != 0;
    faith_rows rows = {B, T, m->len, !m->batched, m->tiles};
    layer_tail_backward(m, l, B * T, &rows);
    const float *attv = drop ? a->attd : a->att;
    faith_attention_context_backward(a->datt, m->dqkv, m->dB, attv, a->qkv, m->len, B, T, C, NH);
    if (drop)
        faith_dropout_apply(a->datt, (size_t)B * NH * T * T, c->attn_dropout, drop_key(m, l, "att"));
    faith_attention_probs_backward(m->dqkv, a->datt, a->att, a->qkv, m->dS, m->len, B, T, C, NH);
    /* d in = residual (dA) + QKV input path */
    faith_linear_backward_t(m->dA, G(o->wqkv), G(o->bqkv), m->dqkv, a->in, P + o->wqkv, wc_at(m, o->tqkv, 3 * C),
                            &rows, C, 3 * C, 1);
}

static void embed_backward(faith_model *m, float *d_word_embeds)
{
    const faith_model_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->d_model;
    size_t NC = (size_t)N * C;
    if (m->flags & FAITH_FWD_DROPOUT) faith_dropout_apply(m->dA, NC, p_hidden(m), drop_key(m, -1, "emb"));
    faith_layernorm_backward(m->dB, G(m->lneg), G(m->lneb), m->dA, m->emb_sum, m->emb_m, m->emb_r,
                             m->params + m->lneg, N, C);
    for (int r = 0; r < B; r++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            const float *d = m->dB + i * C;
            if (d_word_embeds) {
                if (t < m->len[r]) memcpy(d_word_embeds + i * C, d, sizeof(float) * C);
                else memset(d_word_embeds + i * C, 0, sizeof(float) * C);
            }
            if (!m->grads || t >= m->len[r]) continue;
            float *gw = m->used_embeds ? NULL : m->grads + m->wte + (size_t)m->ids[i] * C;
            float *gp = m->grads + m->wpe + (size_t)m->pos[i] * C;
            float *gt = m->wtt != FAITH_NO_PARAM ? m->grads + m->wtt + (size_t)m->types[i] * C : NULL;
            for (int k = 0; k < C; k++) {
                if (gw) gw[k] += d[k];
                gp[k] += d[k];
                if (gt) gt[k] += d[k];
            }
        }
}

int faith_model_backward(faith_model *m, const float *dlogits, float *d_word_embeds, faith_err *err)
{
    if (!m->have_acts)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "model backward: the last forward did not keep activations (FAITH_FWD_KEEP_ACTS)");
    if (m->frozen && d_word_embeds)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "model backward: the encoder is frozen, so there is no gradient for the embeddings");
    head_backward(m, dlogits);
    if (m->frozen) return FAITH_OK; /* nothing below the head is trained or asked for */
    refresh_wc(m);
    int L = m->cfg.n_layers;
    for (int l = L - 1; l >= 0; l--) {
        if (m->first_only && l == L - 1) layer_first_backward(m, l);
        else layer_backward(m, l);
    }
    embed_backward(m, d_word_embeds);
    return FAITH_OK;
}
