/* model_forward.c: the classifiers' batched forward: inputs checked, embeddings, encoder layers
 * (the last for the first token alone when nothing else is asked), the head, and what it keeps. */
#include <math.h>
#include <string.h>

#include "model_internal.h"

/* Rebuild the weight copy if params may have changed since it was made. It costs memory (the
 * encoder's matrices twice) for speed on short sequences: tiled products read compact panels, and
 * whole products the (IN, OUT) layout, which OpenBLAS packs faster (DESIGN.md). */
static void refresh_wt(faith_model *m)
{
    if (!m->wt_stale && m->wt) return;
    if (!m->wt) m->wt = faith_xmalloc(sizeof(float) * m->n_wt);
    int C = m->cfg.d_model, F = m->cfg.d_ffn;
    for (int l = 0; l < m->cfg.n_layers; l++) {
        const layer_off *o = &m->lo[l];
        faith_linear_copy(m->wt + o->tqkv, m->params + o->wqkv, C, 3 * C, m->tiles);
        faith_linear_copy(m->wt + o->to, m->params + o->wo, C, C, m->tiles);
        faith_linear_copy(m->wt + o->t1, m->params + o->w1, C, F, m->tiles);
        faith_linear_copy(m->wt + o->t2, m->params + o->w2, F, C, m->tiles);
    }
    m->wt_stale = 0;
}

/* One of the encoder's forward products, always from the weight copy, whether or not the forward
 * keeps activations for a backward (which reads params, the faster layout for dout @ w).
 * Some OpenBLAS kernels (the AVX-512 ones) sum the two layouts in different orders, so reading one
 * layout in every forward is what keeps a logits-only forward's bits those of a full one. */
static void enc_linear(const faith_model *m, float *out, const float *inp, size_t w, size_t wt,
                       const float *bias, const faith_rows *rows, int IN, int OUT)
{
    faith_linear_forward_t(out, inp, m->params + w, m->wt + wt, bias, rows, IN, OUT);
}

/* Check the batch and fill the model's copies of ids, positions, token types and lengths. row0 is the
 * batch row of b's first row, for messages (b may be a chunk of a larger batch). */
static int prepare_inputs(faith_model *m, const faith_batch *b, int row0, faith_err *err)
{
    const faith_model_config *c = &m->cfg;
    int B = b->B, T = b->T, rob = c->arch == FAITH_ARCH_ROBERTA;
    int tv = c->arch == FAITH_ARCH_DISTILBERT ? 1 : c->type_vocab_size;
    for (int r = 0; r < B; r++) {
        int L = b->len[r];
        if (L < 1 || L > T)
            return faith_err_set(err, FAITH_ERR_RANGE, "batch row %d: length %d, expected 1..%d (T)", row0 + r, L,
                                 T);
        m->len[r] = L;
        int32_t cum = 0;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            if (t >= L) {
                m->ids[i] = m->pos[i] = m->types[i] = 0;
                continue;
            }
            int32_t id = b->ids[i], ty = b->type_ids ? b->type_ids[i] : 0;
            if (id < 0 || id >= c->vocab_size)
                return faith_err_set(err, FAITH_ERR_RANGE,
                                     "token id %d at row %d position %d out of range: expected 0 <= id < %d "
                                     "(vocab_size)", id, row0 + r, t, c->vocab_size);
            if (c->arch == FAITH_ARCH_DISTILBERT) ty = 0;
            if (ty < 0 || ty >= tv)
                return faith_err_set(err, FAITH_ERR_RANGE,
                                     "token type id %d at row %d position %d out of range: expected 0 <= id < %d "
                                     "(type_vocab_size)", ty, row0 + r, t, tv);
            /* RoBERTa (create_position_ids_from_input_ids): padding_idx + running count of non-pad
             * tokens; pad tokens themselves sit at padding_idx. */
            int32_t p = t;
            if (rob) {
                cum += id != c->pad_token_id;
                p = id != c->pad_token_id ? c->pad_token_id + cum : c->pad_token_id;
            }
            if (p >= c->max_pos)
                return faith_err_set(err, FAITH_ERR_RANGE,
                                     "row %d: %d tokens need position %d, but max_position_embeddings is %d "
                                     "(expected at most %d tokens)", row0 + r, L, p, c->max_pos,
                                     faith_model_cfg_max_tokens(c));
            m->ids[i] = id;
            m->types[i] = ty;
            m->pos[i] = p;
        }
    }
    return FAITH_OK;
}

/* s = w + p (+ ty): the output never overlaps the inputs, which lets it vectorise. */
static void embed_sum(float *restrict s, const float *restrict w, const float *restrict p,
                      const float *restrict ty, int C)
{
    if (ty) {
#pragma omp simd
        for (int k = 0; k < C; k++) s[k] = (w[k] + p[k]) + ty[k];
    } else {
#pragma omp simd
        for (int k = 0; k < C; k++) s[k] = w[k] + p[k];
    }
}

static void embed_forward(faith_model *m, const faith_batch *b)
{
    const faith_model_config *c = &m->cfg;
    int C = c->d_model, N = b->B * b->T;
    const float *P = m->params;
    for (int r = 0; r < b->B; r++)
        for (int t = 0; t < b->T; t++) {
            size_t i = (size_t)r * b->T + t;
            float *s = m->emb_sum + i * C;
            if (t >= m->len[r]) {
                memset(s, 0, sizeof(float) * C);
                continue;
            }
            const float *w = b->word_embeds ? b->word_embeds + i * C : P + m->wte + (size_t)m->ids[i] * C;
            const float *p = P + m->wpe + (size_t)m->pos[i] * C;
            embed_sum(s, w, p, m->wtt != FAITH_NO_PARAM ? P + m->wtt + (size_t)m->types[i] * C : NULL, C);
        }
    float *x0 = m->la[0].in;
    faith_residual_layernorm_forward(x0, m->emb_sum, m->emb_m, m->emb_r, m->emb_sum, NULL, NULL,
                                     P + m->lneg, P + m->lneb, N, C, layer_eps(m));
    if (m->flags & FAITH_FWD_DROPOUT) faith_dropout_apply(x0, (size_t)N * C, p_hidden(m), drop_key(m, -1, "emb"));
}

/* The layer from the attention output projection on: h1 = LN1(x + ctx Wo + bo), out = LN2(h1 +
 * FFN(h1)), over N rows (B * T, or B for a first-token layer) whose residual input is x. */
static void layer_tail_forward(faith_model *m, int l, const float *x, int N, const faith_rows *rows)
{
    const faith_model_config *c = &m->cfg;
    const layer_off *o = &m->lo[l];
    layer_acts *a = &m->la[l];
    const float *P = m->params;
    int C = c->d_model, F = c->d_ffn;
    int drop = (m->flags & FAITH_FWD_DROPOUT) != 0, db = c->arch == FAITH_ARCH_DISTILBERT;
    /* DistilBERT has no dropout after its attention output projection; BERT/RoBERTa do. */
    if (drop && !db) {
        enc_linear(m, m->y, a->ctx, o->wo, o->to, P + o->bo, rows, C, C);
        drop_rows(m, m->y, N, rows, p_hidden(m), drop_key(m, l, "attout"));
        faith_residual_layernorm_forward(a->h1, a->res1, a->m1, a->r1, x, m->y, NULL, P + o->ln1g, P + o->ln1b,
                                         N, C, layer_eps(m));
    } else {
        enc_linear(m, m->y, a->ctx, o->wo, o->to, NULL, rows, C, C);
        faith_residual_layernorm_forward(a->h1, a->res1, a->m1, a->r1, x, m->y, P + o->bo, P + o->ln1g,
                                         P + o->ln1b, N, C, layer_eps(m));
    }
    enc_linear(m, a->pre, a->h1, o->w1, o->t1, NULL, rows, C, F);
    faith_bias_gelu_forward(a->act, a->pre, P + o->b1, N, F);
    if (drop) {
        enc_linear(m, m->y, a->act, o->w2, o->t2, P + o->b2, rows, F, C);
        drop_rows(m, m->y, N, rows, p_hidden(m), drop_key(m, l, "ffnout"));
        faith_residual_layernorm_forward(a->out, a->res2, a->m2, a->r2, a->h1, m->y, NULL, P + o->ln2g,
                                         P + o->ln2b, N, C, layer_eps(m));
    } else {
        enc_linear(m, m->y, a->act, o->w2, o->t2, NULL, rows, F, C);
        faith_residual_layernorm_forward(a->out, a->res2, a->m2, a->r2, a->h1, m->y, P + o->b2, P + o->ln2g,
                                         P + o->ln2b, N, C, layer_eps(m));
    }
}

/* The last layer for each sequence's first token: its query, then attention with the key and value
 * projections folded into the query side (layers.h), so no token but the first is projected. */
static void layer_first_forward(faith_model *m, int l)
{
    const faith_model_config *c = &m->cfg;
    const layer_off *o = &m->lo[l];
    layer_acts *a = &m->la[l];
    const float *P = m->params, *wk = P + o->wqkv + (size_t)c->d_model * c->d_model, *wv = wk + (size_t)c->d_model * c->d_model;
    int B = m->B, T = m->T, C = c->d_model, NH = c->n_heads;
    faith_rows rows1 = {B, 1, NULL, !m->batched, m->tiles};
    for (int b = 0; b < B; b++) memcpy(m->x1 + (size_t)b * C, a->in + (size_t)b * T * C, sizeof(float) * C);
    faith_linear_forward(m->q1, m->x1, P + o->wqkv, P + o->bqkv, &rows1, C, C);
    faith_attention_folded_probs(a->att, m->fu, m->q1, a->in, wk, m->len, B, T, C, NH);
    const float *attv = a->att;
    if (m->flags & FAITH_FWD_DROPOUT) { /* row 0 of each (T, T) block of the whole layer's masks */
        size_t R = (size_t)B * NH;
        memcpy(a->attd, a->att, sizeof(float) * R * T);
        faith_dropout_apply_rows(a->attd, R, (size_t)T, (size_t)T * T, c->attn_dropout, drop_key(m, l, "att"));
        attv = a->attd;
    }
    faith_attention_folded_context(a->ctx, m->xbar, attv, a->in, wv, P + o->bqkv + 2 * C, m->len, B, T, C, NH);
    layer_tail_forward(m, l, m->x1, B, &rows1);
}

static void layer_forward(faith_model *m, int l)
{
    const faith_model_config *c = &m->cfg;
    const layer_off *o = &m->lo[l];
    layer_acts *a = &m->la[l];
    const float *P = m->params;
    int B = m->B, T = m->T, C = c->d_model, NH = c->n_heads;
    faith_rows rows = {B, T, m->len, !m->batched, m->tiles};
    enc_linear(m, a->qkv, a->in, o->wqkv, o->tqkv, P + o->bqkv, &rows, C, 3 * C);
    faith_attention_probs(a->att, a->qkv, m->len, B, T, C, NH);
    const float *attv = a->att;
    if (m->flags & FAITH_FWD_DROPOUT) {
        size_t A = (size_t)B * NH * T * T;
        memcpy(a->attd, a->att, sizeof(float) * A);
        faith_dropout_apply(a->attd, A, c->attn_dropout, drop_key(m, l, "att"));
        attv = a->attd;
    }
    faith_attention_context(a->ctx, attv, a->qkv, m->len, B, T, C, NH);
    layer_tail_forward(m, l, a->in, B * T, &rows);
}

/* Classification head on token 0: BERT pooler(tanh) -> classifier; RoBERTa dropout -> dense(tanh)
 * -> dropout -> out_proj; DistilBERT pre_classifier(ReLU) -> dropout -> classifier. */
static void head_forward(faith_model *m, float *logits)
{
    const faith_model_config *c = &m->cfg;
    const float *P = m->params;
    int B = m->B, C = c->d_model, K = c->n_classes, drop = (m->flags & FAITH_FWD_DROPOUT) != 0;
    faith_rows rows = {B, 1, NULL, !m->batched, m->tiles};
    const float *xl = m->la[c->n_layers - 1].out;
    size_t stride = m->first_only ? (size_t)C : (size_t)m->T * C;
    for (int r = 0; r < B; r++) memcpy(m->cls + (size_t)r * C, xl + r * stride, sizeof(float) * C);
    if (drop && c->arch == FAITH_ARCH_ROBERTA)
        faith_dropout_apply(m->cls, (size_t)B * C, p_head(m), drop_key(m, -2, "cls_in"));
    faith_linear_forward(m->hpre, m->cls, P + m->hw1, P + m->hb1, &rows, C, C);
    if (c->arch == FAITH_ARCH_DISTILBERT) faith_relu_forward(m->hact, m->hpre, (size_t)B * C);
    else faith_tanh_forward(m->hact, m->hpre, (size_t)B * C);
    memcpy(m->hdrop, m->hact, sizeof(float) * B * C);
    if (drop) faith_dropout_apply(m->hdrop, (size_t)B * C, p_head(m), drop_key(m, -2, "cls_hidden"));
    faith_linear_forward(logits, m->hdrop, P + m->hw2, P + m->hb2, &rows, C, K);
}

static int forward_once(faith_model *m, const faith_batch *b, int row0, unsigned flags, float *logits,
                        faith_err *err)
{
    FAITH_TRY(faith_model_grow_workspace(m, b->B, b->T, flags, err));
    m->B = b->B;
    m->T = b->T;
    m->flags = flags;
    m->first_only = faith_model_runs_first_only(flags);
    FAITH_TRY(prepare_inputs(m, b, row0, err));
    refresh_wt(m);
    m->used_embeds = b->word_embeds != NULL;
    embed_forward(m, b);
    int L = m->cfg.n_layers;
    for (int l = 0; l < L; l++) {
        if (m->first_only && l == L - 1) layer_first_forward(m, l);
        else layer_forward(m, l);
    }
    head_forward(m, logits);
    return FAITH_OK;
}

/* Tokens per thread in one chunk of a logits-only forward. Between two matrix products every
 * elementwise pass (bias, GELU, residual, LayerNorm, softmax) sweeps the whole batch's activations;
 * at about 512 tokens per thread a small model's activations stay in cache between passes, which
 * measured 10-16 % faster than one pass over 4096-8192 tokens (2 x 128 model, one thread). */
#define FAITH_CHUNK_TOKENS 512

int faith_model_forward(faith_model *m, const faith_batch *b, unsigned flags, float *logits,
                        faith_err *err)
{
    m->have_acts = 0;
    if (b->B < 1 || b->T < 1 || !b->ids || !b->len)
        return faith_err_set(err, FAITH_ERR_ARG, "model forward: expected B >= 1, T >= 1, ids and len (got B=%d, T=%d)",
                             b->B, b->T);
    /* With per-sequence products a sequence's logits do not depend on its batch-mates, so a forward
     * that keeps nothing can run in chunks of sequences with the same bits. At least two sequences
     * per thread keep every thread busy. */
    int th = faith_get_threads(), per = FAITH_CHUNK_TOKENS * th / b->T;
    per = per < 2 * th ? 2 * th : per;
    if (m->batched || (flags & ~FAITH_FWD_EVERY_TOKEN) != 0 || per >= b->B) FAITH_TRY(forward_once(m, b, 0, flags, logits, err));
    else {
        int K = m->cfg.n_classes, C = m->cfg.d_model;
        for (int b0 = 0; b0 < b->B; b0 += per) {
            size_t o = (size_t)b0 * b->T;
            faith_batch sub = {b->B - b0 < per ? b->B - b0 : per, b->T, b->ids + o,
                               b->type_ids ? b->type_ids + o : NULL, b->len + b0,
                               b->word_embeds ? b->word_embeds + o * C : NULL};
            FAITH_TRY(forward_once(m, &sub, b0, flags, logits + (size_t)b0 * K, err));
        }
    }
    /* Finite weights can still overflow float (a diverged run, a corrupt checkpoint): a NaN or
     * infinite logit is an error here, not a number printed or averaged downstream. */
    for (size_t i = 0; i < (size_t)b->B * (size_t)m->cfg.n_classes; i++)
        if (!isfinite(logits[i]))
            return faith_err_set(err, FAITH_ERR_RANGE, "model forward: sequence %d has a non-finite logit (%g): "
                                 "the weights overflow float (a diverged or corrupt model?)",
                                 (int)(i / (size_t)m->cfg.n_classes), (double)logits[i]);
    m->have_acts = (flags & FAITH_FWD_KEEP_ACTS) != 0;
    return FAITH_OK;
}

const float *faith_model_hidden(const faith_model *m, int layer)
{
    if (!(m->flags & (FAITH_FWD_HIDDEN | FAITH_FWD_KEEP_ACTS)) || layer < 0 || layer > m->cfg.n_layers || !m->ws)
        return NULL;
    if (m->first_only && layer == m->cfg.n_layers) return NULL; /* one row per sequence only */
    return layer == 0 ? m->la[0].in : m->la[layer - 1].out;
}

const float *faith_model_attention(const faith_model *m, int layer)
{
    if (!(m->flags & (FAITH_FWD_ATTN | FAITH_FWD_KEEP_ACTS)) || layer < 0 || layer >= m->cfg.n_layers || !m->ws)
        return NULL;
    if (m->first_only && layer == m->cfg.n_layers - 1) return NULL; /* first token's row only */
    return m->la[layer].att;
}

const float *faith_model_attention_grad(const faith_model *m, int layer)
{
    unsigned need = FAITH_FWD_ATTN | FAITH_FWD_KEEP_ACTS;
    if ((m->flags & need) != need || layer < 0 || layer >= m->cfg.n_layers || !m->ws) return NULL;
    return m->la[layer].datt;
}
