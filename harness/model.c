/* model.c: the BERT / DistilBERT / RoBERTa sequence classifiers: parameters in one allocation,
 * batched forward and backward over one reusable workspace, outputs and thread control. */
#include "model.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layers.h"
#include "model_internal.h"
#include "rng.h"

#define NONE ((size_t)-1)

/* Serials of models made in this process; models are made and randomised by one thread. */
static uint64_t last_serial;

typedef struct layer_off {
    size_t wqkv, bqkv, wo, bo, ln1g, ln1b, w1, b1, w2, b2, ln2g, ln2b;
    size_t tqkv, to, t1, t2; /* the same matrices' copies (faith_linear_copy), into faith_model.wt */
} layer_off;

/* Activations of one encoder layer inside the workspace. */
typedef struct layer_acts {
    float *in, *qkv, *att, *attd, *ctx, *res1, *m1, *r1, *h1, *pre, *act, *res2, *m2, *r2, *out;
    float *datt; /* gradient wrt att, kept when FAITH_FWD_ATTN */
} layer_acts;
/* A last layer run for the first token only (m->first_only) uses the same fields with other shapes:
 * qkv holds [K | V] of every token (B, T, 2C) then the first token's query (B, C); att (B, NH, T);
 * ctx, res1, h1, res2, out (B, C); pre, act (B, F); m1, r1, m2, r2 (B). */

struct faith_model {
    faith_model_config cfg;
    float *params, *grads;
    size_t n_params;
    faith_param_view *views;
    size_t n_views;
    size_t wte, wpe, wtt, lneg, lneb, hw1, hb1, hw2, hb2;
    layer_off *lo;
    /* workspace: one allocation grown when a bigger batch arrives */
    float *ws;
    size_t ws_cap;
    int32_t *ibuf; /* ids, positions, types, len of the last forward */
    size_t ibuf_cap;
    /* the last forward */
    int B, T, have_acts, used_embeds;
    unsigned flags;
    int first_only; /* the last layer ran for each sequence's first token only */
    int32_t *ids, *pos, *types, *len;
    float *emb_sum, *emb_m, *emb_r, *cls, *hpre, *hact, *hdrop, *y;
    /* first_only: the last layer's input at the first token x1 (B, C), its query q1 (B, C), the
     * folded attention's u and xbar (B, NH, C); their gradients and the scratch dsc (B, NH, T) */
    float *x1, *q1, *fu, *xbar, *dq1, *dfu, *dxbar, *dsc;
    layer_acts *la;
    float *dA, *dB, *dC, *dqkv, *dF, *dS, *dh1, *dh2;
    uint64_t drop_seed;
    int batched; /* FAITH_PRODUCTS_BATCHED: one product per group of sequences */
    int tiles;   /* tiled products (faith_blas_small_kernels), and wt laid out for them */
    /* The encoder's matrices laid out for every forward's products of several rows
     * (faith_linear_copy: transposed, or in panels for tiled products): derived from params,
     * rebuilt before a forward once params may have changed (wt_stale). */
    float *wt;
    size_t n_wt;
    int wt_stale;
    uint64_t serial; /* faith_model_serial() */
    int frozen;  /* backward stops at the classification head */
};

/* ---- names and architecture ---- */

/* The names of Faith's small enums: each enum's values are its table's indices. */
static const char *const ARCH_NAMES[] = {"bert", "distilbert", "roberta"};
static const char *const OUTPUT_NAMES[] = {"prob", "logit", "logprob"};
static const char *const PRODUCTS_NAMES[] = {"per_sequence", "batched"};
#define N_NAMES(t) ((int)(sizeof t / sizeof t[0]))

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "unknown";
}

/* Index of s in names, or -1. */
static int index_of(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (s && strcmp(s, names[i]) == 0) return i;
    return -1;
}

const char *faith_arch_name(faith_arch a) { return name_of(ARCH_NAMES, N_NAMES(ARCH_NAMES), (int)a); }

int faith_arch_parse(const char *name, faith_arch *out)
{
    int i = index_of(ARCH_NAMES, N_NAMES(ARCH_NAMES), name);
    if (i >= 0) *out = (faith_arch)i;
    return i >= 0 ? FAITH_OK : FAITH_ERR_ARG;
}

int faith_model_config_check(const faith_model_config *c, const char *what, faith_err *err)
{
    if (c->arch < FAITH_ARCH_BERT || c->arch > FAITH_ARCH_ROBERTA)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: unknown architecture %d", what, (int)c->arch);
    if (c->n_layers < 1 || c->n_heads < 1 || c->d_model < 1 || c->d_ffn < 1 || c->vocab_size < 1 ||
        c->max_pos < 1)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s: expected positive layers, heads, hidden size, ffn size, vocab size and "
                             "max positions (got %d, %d, %d, %d, %d, %d)",
                             what, c->n_layers, c->n_heads, c->d_model, c->d_ffn, c->vocab_size, c->max_pos);
    if (c->d_model % c->n_heads != 0)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: hidden size %d is not a multiple of %d heads", what,
                             c->d_model, c->n_heads);
    if (c->n_classes < 1 || c->n_classes > FAITH_MAX_CLASSES)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: expected 1..%d labels, got %d", what,
                             FAITH_MAX_CLASSES, c->n_classes);
    if (c->arch != FAITH_ARCH_DISTILBERT && c->type_vocab_size < 1)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: expected type_vocab_size >= 1, got %d", what,
                             c->type_vocab_size);
    if (c->arch == FAITH_ARCH_ROBERTA && (c->pad_token_id < 0 || c->pad_token_id + 1 >= c->max_pos))
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s: roberta needs 0 <= pad_token_id < max_position_embeddings - 1 (got %d, %d)",
                             what, c->pad_token_id, c->max_pos);
    if (!(c->ln_eps > 0) || !isfinite(c->ln_eps))
        return faith_err_set(err, FAITH_ERR_ARG, "%s: expected layer_norm_eps > 0", what);
    /* in double so that no product of int sizes can wrap; the bound keeps every byte count of the
     * parameters (and their gradients and AdamW moments) far inside size_t */
    double C = c->d_model, per_layer = 4.0 * C * C + 2.0 * C * c->d_ffn + 9.0 * C + c->d_ffn;
    double total = ((double)c->vocab_size + c->max_pos + c->type_vocab_size + 2.0) * C +
                   (double)c->n_layers * per_layer + (C + 1.0) * (C + c->n_classes);
    if (total > FAITH_MODEL_MAX_PARAMS)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s: sizes need %.3g parameters, more than the %.3g supported (layers %d, hidden %d, "
                             "ffn %d, vocab %d, max positions %d)",
                             what, total, FAITH_MODEL_MAX_PARAMS, c->n_layers, c->d_model, c->d_ffn, c->vocab_size,
                             c->max_pos);
    return FAITH_OK;
}

/* ---- parameter layout ---- */

static size_t add_view(faith_model *m, const char *name, int64_t d0, int64_t d1, int enc, int layer)
{
    m->views = faith_xrealloc(m->views, sizeof *m->views * (m->n_views + 1));
    faith_param_view *v = &m->views[m->n_views++];
    v->name = faith_xstrdup(name);
    v->offset = m->n_params;
    v->ndim = d1 ? 2 : 1;
    v->shape[0] = d0;
    v->shape[1] = d1;
    v->is_encoder = enc;
    v->layer = layer;
    m->n_params += (size_t)d0 * (size_t)(d1 ? d1 : 1);
    return v->offset;
}

static void build_layout(faith_model *m)
{
    const faith_model_config *c = &m->cfg;
    int64_t C = c->d_model, F = c->d_ffn, K = c->n_classes;
    char n[256];
    int db = c->arch == FAITH_ARCH_DISTILBERT;
    const char *pre = faith_arch_name(c->arch);
#define V2(fmt, d0, d1, enc, l, ...) (snprintf(n, sizeof n, fmt, __VA_ARGS__), add_view(m, n, d0, d1, enc, l))
    m->wte = V2("%s.embeddings.word_embeddings.weight", c->vocab_size, C, 1, -1, pre);
    m->wpe = V2("%s.embeddings.position_embeddings.weight", c->max_pos, C, 1, -1, pre);
    m->wtt = db ? NONE : V2("%s.embeddings.token_type_embeddings.weight", c->type_vocab_size, C, 1, -1, pre);
    m->lneg = V2("%s.embeddings.LayerNorm.weight", C, 0, 1, -1, pre);
    m->lneb = V2("%s.embeddings.LayerNorm.bias", C, 0, 1, -1, pre);
    m->lo = faith_xcalloc((size_t)c->n_layers, sizeof *m->lo);
    for (int l = 0; l < c->n_layers; l++) {
        layer_off *o = &m->lo[l];
        /* query, key, value weights are adjacent so they form one (3C, C) matrix: one sgemm. */
        if (db) {
            const char *p = "distilbert.transformer.layer";
            o->wqkv = V2("%s.%d.attention.q_lin.weight", C, C, 1, l, p, l);
            V2("%s.%d.attention.k_lin.weight", C, C, 1, l, p, l);
            V2("%s.%d.attention.v_lin.weight", C, C, 1, l, p, l);
            o->bqkv = V2("%s.%d.attention.q_lin.bias", C, 0, 1, l, p, l);
            V2("%s.%d.attention.k_lin.bias", C, 0, 1, l, p, l);
            V2("%s.%d.attention.v_lin.bias", C, 0, 1, l, p, l);
            o->wo = V2("%s.%d.attention.out_lin.weight", C, C, 1, l, p, l);
            o->bo = V2("%s.%d.attention.out_lin.bias", C, 0, 1, l, p, l);
            o->ln1g = V2("%s.%d.sa_layer_norm.weight", C, 0, 1, l, p, l);
            o->ln1b = V2("%s.%d.sa_layer_norm.bias", C, 0, 1, l, p, l);
            o->w1 = V2("%s.%d.ffn.lin1.weight", F, C, 1, l, p, l);
            o->b1 = V2("%s.%d.ffn.lin1.bias", F, 0, 1, l, p, l);
            o->w2 = V2("%s.%d.ffn.lin2.weight", C, F, 1, l, p, l);
            o->b2 = V2("%s.%d.ffn.lin2.bias", C, 0, 1, l, p, l);
            o->ln2g = V2("%s.%d.output_layer_norm.weight", C, 0, 1, l, p, l);
            o->ln2b = V2("%s.%d.output_layer_norm.bias", C, 0, 1, l, p, l);
        } else {
            o->wqkv = V2("%s.encoder.layer.%d.attention.self.query.weight", C, C, 1, l, pre, l);
            V2("%s.encoder.layer.%d.attention.self.key.weight", C, C, 1, l, pre, l);
            V2("%s.encoder.layer.%d.attention.self.value.weight", C, C, 1, l, pre, l);
            o->bqkv = V2("%s.encoder.layer.%d.attention.self.query.bias", C, 0, 1, l, pre, l);
            V2("%s.encoder.layer.%d.attention.self.key.bias", C, 0, 1, l, pre, l);
            V2("%s.encoder.layer.%d.attention.self.value.bias", C, 0, 1, l, pre, l);
            o->wo = V2("%s.encoder.layer.%d.attention.output.dense.weight", C, C, 1, l, pre, l);
            o->bo = V2("%s.encoder.layer.%d.attention.output.dense.bias", C, 0, 1, l, pre, l);
            o->ln1g = V2("%s.encoder.layer.%d.attention.output.LayerNorm.weight", C, 0, 1, l, pre, l);
            o->ln1b = V2("%s.encoder.layer.%d.attention.output.LayerNorm.bias", C, 0, 1, l, pre, l);
            o->w1 = V2("%s.encoder.layer.%d.intermediate.dense.weight", F, C, 1, l, pre, l);
            o->b1 = V2("%s.encoder.layer.%d.intermediate.dense.bias", F, 0, 1, l, pre, l);
            o->w2 = V2("%s.encoder.layer.%d.output.dense.weight", C, F, 1, l, pre, l);
            o->b2 = V2("%s.encoder.layer.%d.output.dense.bias", C, 0, 1, l, pre, l);
            o->ln2g = V2("%s.encoder.layer.%d.output.LayerNorm.weight", C, 0, 1, l, pre, l);
            o->ln2b = V2("%s.encoder.layer.%d.output.LayerNorm.bias", C, 0, 1, l, pre, l);
        }
        size_t CC = (size_t)C * C, CF = (size_t)C * F;
        o->tqkv = m->n_wt;
        o->to = o->tqkv + 3 * CC;
        o->t1 = o->to + CC;
        o->t2 = o->t1 + CF;
        m->n_wt = o->t2 + CF;
    }
    switch (c->arch) {
    case FAITH_ARCH_BERT:
        m->hw1 = V2("%s.pooler.dense.weight", C, C, 0, -1, pre);
        m->hb1 = V2("%s.pooler.dense.bias", C, 0, 0, -1, pre);
        m->hw2 = V2("%s.weight", K, C, 0, -1, "classifier");
        m->hb2 = V2("%s.bias", K, 0, 0, -1, "classifier");
        break;
    case FAITH_ARCH_DISTILBERT:
        m->hw1 = V2("%s.weight", C, C, 0, -1, "pre_classifier");
        m->hb1 = V2("%s.bias", C, 0, 0, -1, "pre_classifier");
        m->hw2 = V2("%s.weight", K, C, 0, -1, "classifier");
        m->hb2 = V2("%s.bias", K, 0, 0, -1, "classifier");
        break;
    case FAITH_ARCH_ROBERTA:
        m->hw1 = V2("%s.dense.weight", C, C, 0, -1, "classifier");
        m->hb1 = V2("%s.dense.bias", C, 0, 0, -1, "classifier");
        m->hw2 = V2("%s.out_proj.weight", K, C, 0, -1, "classifier");
        m->hb2 = V2("%s.out_proj.bias", K, 0, 0, -1, "classifier");
        break;
    }
#undef V2
}

int faith_model_layout(const faith_model_config *cfg, faith_model **out, faith_err *err)
{
    *out = NULL;
    FAITH_TRY(faith_model_config_check(cfg, "config", err));
    faith_model *m = faith_xcalloc(1, sizeof *m);
    m->cfg = *cfg;
    m->serial = ++last_serial;
    m->tiles = faith_blas_small_kernels();
    for (int k = 0; k < cfg->n_classes; k++)
        if (!m->cfg.labels[k][0]) snprintf(m->cfg.labels[k], FAITH_LABEL_MAX, "LABEL_%d", k);
    build_layout(m);
    m->la = faith_xcalloc((size_t)cfg->n_layers, sizeof *m->la);
    *out = m;
    return FAITH_OK;
}

void faith_model_alloc_params(faith_model *m)
{
    if (!m->params) m->params = faith_xcalloc(m->n_params, sizeof(float));
    m->wt_stale = 1;
}

int faith_model_alloc(const faith_model_config *cfg, faith_model **out, faith_err *err)
{
    FAITH_TRY(faith_model_layout(cfg, out, err));
    faith_model_alloc_params(*out);
    return FAITH_OK;
}

/* Hugging Face's _init_weights for one tensor: N(0, 0.02) for matrices (embeddings' padding rows
 * zero), 0 for biases, 1 for LayerNorm weights. */
static void init_view(faith_model *m, size_t i, uint64_t seed)
{
    const faith_param_view *v = &m->views[i];
    float *p = m->params + v->offset;
    size_t n = (size_t)v->shape[0] * (size_t)(v->ndim == 2 ? v->shape[1] : 1);
    if (v->ndim == 1) {
        int ln = strstr(v->name, "LayerNorm.weight") || strstr(v->name, "layer_norm.weight");
        for (size_t k = 0; k < n; k++) p[k] = ln ? 1.0f : 0.0f;
        return;
    }
    faith_rng r;
    faith_rng_init(&r, seed, (int64_t)i, v->name);
    for (size_t k = 0; k < n; k++) p[k] = (float)(0.02 * faith_rng_normal(&r));
    int pad = m->cfg.pad_token_id;
    int64_t C = v->shape[1];
    int zero_row = (v->offset == m->wte) || (v->offset == m->wpe && m->cfg.arch == FAITH_ARCH_ROBERTA);
    if (zero_row && pad >= 0 && pad < v->shape[0]) memset(p + (size_t)pad * C, 0, sizeof(float) * C);
}

int faith_model_create_random(const faith_model_config *cfg, uint64_t seed, faith_model **out,
                              faith_err *err)
{
    FAITH_TRY(faith_model_alloc(cfg, out, err));
    for (size_t i = 0; i < (*out)->n_views; i++) init_view(*out, i, seed);
    return FAITH_OK;
}

void faith_model_randomize_top(faith_model *m, int n_layers, uint64_t seed)
{
    int first = m->cfg.n_layers - n_layers;
    m->serial = ++last_serial;
    m->wt_stale = 1;
    for (size_t i = 0; i < m->n_views; i++) {
        const faith_param_view *v = &m->views[i];
        if (!v->is_encoder || (v->layer >= 0 && v->layer >= first)) init_view(m, i, seed);
    }
}

void faith_model_free(faith_model *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_views; i++) free((char *)m->views[i].name);
    free(m->views);
    free(m->lo);
    free(m->la);
    free(m->params);
    free(m->wt);
    free(m->grads);
    free(m->ws);
    free(m->ibuf);
    free(m);
}

const faith_model_config *faith_model_cfg(const faith_model *m) { return &m->cfg; }

int32_t faith_model_cfg_max_tokens(const faith_model_config *c)
{
    return c->arch == FAITH_ARCH_ROBERTA ? c->max_pos - c->pad_token_id - 1 : c->max_pos;
}

uint64_t faith_model_serial(const faith_model *m) { return m->serial; }

float *faith_model_params(faith_model *m, size_t *n)
{
    if (n) *n = m->n_params;
    m->wt_stale = 1; /* the caller may write through the pointer before the next forward */
    return m->params;
}

void faith_model_params_changed(faith_model *m)
{
    m->serial = ++last_serial;
    m->wt_stale = 1;
}

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

size_t faith_model_param_count(const faith_model *m) { return m->n_views; }

const faith_param_view *faith_model_param_at(const faith_model *m, size_t i)
{
    return i < m->n_views ? &m->views[i] : NULL;
}

const float *faith_model_word_embeddings(const faith_model *m) { return m->params + m->wte; }

int faith_model_enable_grads(faith_model *m, int on, faith_err *err)
{
    (void)err;
    if (on && !m->grads) m->grads = faith_xcalloc(m->n_params, sizeof(float));
    if (!on) {
        free(m->grads);
        m->grads = NULL;
    }
    return FAITH_OK;
}

float *faith_model_grads(faith_model *m) { return m->grads; }

void faith_model_zero_grads(faith_model *m)
{
    if (m->grads) memset(m->grads, 0, sizeof(float) * m->n_params);
}

void faith_model_set_dropout_seed(faith_model *m, uint64_t seed) { m->drop_seed = seed; }

void faith_model_set_products(faith_model *m, faith_products p) { m->batched = p == FAITH_PRODUCTS_BATCHED; }

void faith_model_set_tiles(faith_model *m, int on)
{
    if ((on != 0) != m->tiles) m->wt_stale = 1;
    m->tiles = on != 0;
}

int faith_model_tiles(const faith_model *m) { return m->tiles; }

void faith_model_freeze_encoder(faith_model *m, int on) { m->frozen = on != 0; }

faith_products faith_model_products(const faith_model *m)
{
    return m->batched ? FAITH_PRODUCTS_BATCHED : FAITH_PRODUCTS_PER_SEQUENCE;
}

const char *faith_products_name(faith_products p)
{
    return name_of(PRODUCTS_NAMES, N_NAMES(PRODUCTS_NAMES), (int)p);
}

int faith_products_parse(const char *name, faith_products *out)
{
    int i = index_of(PRODUCTS_NAMES, N_NAMES(PRODUCTS_NAMES), name);
    if (i >= 0) *out = (faith_products)i;
    return i >= 0 ? FAITH_OK : FAITH_ERR_ARG;
}

/* ---- workspace ---- */

/* Bump allocator over the workspace: a sizing pass (base NULL) then an assigning pass. */
typedef struct carve {
    float *base;
    size_t used;
} carve;

static float *take(carve *c, size_t n)
{
    float *p = c->base ? c->base + c->used : NULL;
    c->used += (n + 15) & ~(size_t)15; /* 64-byte aligned slices */
    return p;
}

/* The head reads only the first token of the last layer's output, and only through that token's
 * query does the last layer mix the others in. Unless a forward must show every token's hidden
 * state or attention, the last layer runs for that token alone: its query, attention row, output
 * projection and FFN shrink from B*T rows to B, and the other tokens enter only through scores and
 * weighted sums of their inputs, with the key and value projections folded into the first token's
 * side (layers.h). On a two-layer model that removes about half of the work. Dropout draws the masks the whole
 * layer would draw for those rows (faith_dropout_apply_rows), so training sees the same masks. */
static int runs_first_only(unsigned flags)
{
    return !(flags & (FAITH_FWD_HIDDEN | FAITH_FWD_ATTN | FAITH_FWD_EVERY_TOKEN));
}

/* One layer's own buffers for rows rows: [Q | K | V] (nqkv floats), the dropped-out attention copy
 * (natt) in training, and the rest of the layer. */
static void take_layer(carve *c, layer_acts *a, size_t rows, size_t nqkv, size_t natt, size_t C, size_t F, int drop)
{
    a->qkv = take(c, nqkv);
    a->ctx = take(c, rows * C);
    a->res1 = take(c, rows * C);
    a->m1 = take(c, rows);
    a->r1 = take(c, rows);
    a->h1 = take(c, rows * C);
    a->pre = take(c, rows * F);
    a->act = take(c, rows * F);
    a->res2 = take(c, rows * C);
    a->m2 = take(c, rows);
    a->r2 = take(c, rows);
    a->attd = drop ? take(c, natt) : NULL;
}

/* Lay out the activations for (B, T, flags). Without KEEP_ACTS one layer's buffers serve every layer
 * and the layer outputs ping-pong between two buffers; HIDDEN and ATTN keep their parts per layer. */
static void plan(faith_model *m, carve *c, int B, int T, unsigned flags)
{
    const faith_model_config *cf = &m->cfg;
    size_t N = (size_t)B * T, C = (size_t)cf->d_model, F = (size_t)cf->d_ffn, L = (size_t)cf->n_layers;
    size_t A = (size_t)B * cf->n_heads * T * T;
    int keep = (flags & FAITH_FWD_KEEP_ACTS) != 0, drop = (flags & FAITH_FWD_DROPOUT) != 0;
    int hid = keep || (flags & FAITH_FWD_HIDDEN), attk = keep || (flags & FAITH_FWD_ATTN);
    m->emb_sum = take(c, N * C);
    m->emb_m = take(c, N);
    m->emb_r = take(c, N);
    m->y = take(c, N * C);
    float *ping[2] = {take(c, N * C), hid ? NULL : take(c, N * C)};
    int first = runs_first_only(flags);
    size_t BC = (size_t)B * C, BHC = BC * (size_t)cf->n_heads, A1 = (size_t)B * cf->n_heads * T;
    m->x1 = take(c, BC);
    m->q1 = take(c, first ? BC : 0);
    m->fu = take(c, first ? BHC : 0);
    m->xbar = take(c, first ? BHC : 0);
    for (size_t l = 0; l < L; l++) {
        layer_acts *a = &m->la[l];
        /* A first-token layer keeping its activations has buffers of B rows (and no Q, K, V). */
        int one = keep && first && l == L - 1;
        if (one) take_layer(c, a, B, 0, A1, C, F, drop);
        else if (l == 0 || keep) take_layer(c, a, N, N * 3 * C, A, C, F, drop);
        else {
            float *att = a->att;
            *a = m->la[0];
            a->att = att;
        }
        a->att = one ? take(c, A1) : (l == 0 || attk) ? take(c, A) : m->la[0].att;
        a->in = l == 0 ? ping[0] : m->la[l - 1].out;
        a->out = one ? take(c, (size_t)B * C) : hid ? take(c, N * C) : ping[(l + 1) % 2];
        a->datt = (keep && (flags & FAITH_FWD_ATTN)) ? take(c, A) : NULL;
    }
    m->cls = take(c, (size_t)B * C);
    m->hpre = take(c, (size_t)B * C);
    m->hact = take(c, (size_t)B * C);
    m->hdrop = take(c, (size_t)B * C);
    if (keep) {
        m->dA = take(c, N * C);
        m->dB = take(c, N * C);
        m->dC = take(c, N * C);
        m->dqkv = take(c, N * 3 * C);
        m->dF = take(c, N * F);
        m->dS = take(c, (size_t)B * T * T);
        m->dh1 = take(c, (size_t)B * C);
        m->dh2 = take(c, (size_t)B * C);
        m->dq1 = take(c, first ? BC : 0);
        m->dfu = take(c, first ? BHC : 0);
        m->dxbar = take(c, first ? BHC : 0);
        m->dsc = take(c, first ? A1 : 0);
        if (!(flags & FAITH_FWD_ATTN)) { /* one scratch for dP shared by every layer */
            float *shared = take(c, A);
            for (size_t l = 0; l < L; l++) m->la[l].datt = shared;
        }
    }
}

size_t faith_model_workspace_bytes(faith_model *m, int B, int T, unsigned flags)
{
    carve c = {NULL, 0};
    plan(m, &c, B, T, flags);
    return c.used * sizeof(float);
}

/* A workspace larger than the machine's memory is refused with a message instead of an abort in
 * the allocator (or the OOM killer). */
static int grow_workspace(faith_model *m, int B, int T, unsigned flags, faith_err *err)
{
    carve c = {NULL, 0};
    plan(m, &c, B, T, flags);
    if (c.used > m->ws_cap) {
        /* Asked only when growing: sysconf here is a system call, too dear for every forward. */
        long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGE_SIZE);
        double have = pages > 0 && psize > 0 ? (double)pages * (double)psize : 0;
        if (have > 0 && (double)c.used * sizeof(float) > have)
            return faith_err_set(err, FAITH_ERR_NOMEM,
                                 "model forward: a batch of %d x %d tokens needs %.1f GB of activations, more "
                                 "than this machine's %.1f GB (a smaller batch or token budget)",
                                 B, T, (double)c.used * sizeof(float) / 1e9, have / 1e9);
        free(m->ws);
        m->ws = faith_xmalloc(sizeof(float) * c.used);
        m->ws_cap = c.used;
    }
    c.base = m->ws;
    c.used = 0;
    plan(m, &c, B, T, flags);
    size_t ni = (size_t)B * T * 3 + (size_t)B;
    if (ni > m->ibuf_cap) {
        free(m->ibuf);
        m->ibuf = faith_xmalloc(sizeof(int32_t) * ni);
        m->ibuf_cap = ni;
    }
    size_t N = (size_t)B * T;
    m->ids = m->ibuf;
    m->pos = m->ibuf + N;
    m->types = m->ibuf + 2 * N;
    m->len = m->ibuf + 3 * N;
    return FAITH_OK;
}

/* ---- forward ---- */

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

static uint64_t drop_key(const faith_model *m, int layer, const char *site)
{
    faith_rng r;
    faith_rng_init(&r, m->drop_seed, layer, site);
    return r.key;
}

/* Dropout probabilities of each site, as Hugging Face wires them per architecture. */
static float p_hidden(const faith_model *m) { return m->cfg.hidden_dropout; }
static float p_head(const faith_model *m)
{
    return m->cfg.classifier_dropout >= 0 ? m->cfg.classifier_dropout : m->cfg.hidden_dropout;
}

static float layer_eps(const faith_model *m)
{
    /* DistilBERT's eps is a constant 1e-12 in Hugging Face; config loading puts it in ln_eps. */
    return m->cfg.ln_eps;
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
            embed_sum(s, w, p, m->wtt != NONE ? P + m->wtt + (size_t)m->types[i] * C : NULL, C);
        }
    float *x0 = m->la[0].in;
    faith_residual_layernorm_forward(x0, m->emb_sum, m->emb_m, m->emb_r, m->emb_sum, NULL, NULL,
                                     P + m->lneg, P + m->lneb, N, C, layer_eps(m));
    if (m->flags & FAITH_FWD_DROPOUT) faith_dropout_apply(x0, (size_t)N * C, p_hidden(m), drop_key(m, -1, "emb"));
}


/* Dropout on the n rows of C a layer covers. Rows of one per sequence (a first-token layer) stand
 * for every T-th row of the whole layer and draw its masks; with T = 1 the two layouts coincide. */
static void drop_rows(faith_model *m, float *x, int n, const faith_rows *rows, float p, uint64_t key)
{
    size_t C = (size_t)m->cfg.d_model;
    faith_dropout_apply_rows(x, (size_t)n, C, rows->T == 1 ? (size_t)m->T * C : C, p, key);
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
    FAITH_TRY(grow_workspace(m, b->B, b->T, flags, err));
    m->B = b->B;
    m->T = b->T;
    m->flags = flags;
    m->first_only = runs_first_only(flags);
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

/* ---- backward ---- */

#define G(off) (m->grads ? m->grads + (off) : NULL)

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
    faith_linear_backward(m->dF, G(o->w2), G(o->b2), dy, a->act, P + o->w2, rows, F, C, 0);
    faith_gelu_backward(m->dF, m->dF, a->pre, (size_t)N * F);
    /* dB becomes d h1: the residual path plus the FFN input path. */
    faith_linear_backward(m->dB, G(o->w1), G(o->b1), m->dF, a->h1, P + o->w1, rows, C, F, 1);
    /* h1 = LN1(x + Wo ctx + bo) */
    faith_layernorm_backward(m->dA, G(o->ln1g), G(o->ln1b), m->dB, a->res1, a->m1, a->r1, P + o->ln1g, N, C);
    dy = m->dA;
    if (drop && !db) {
        memcpy(m->dC, m->dA, sizeof(float) * NC);
        drop_rows(m, m->dC, N, rows, p_hidden(m), drop_key(m, l, "attout"));
        dy = m->dC;
    }
    faith_linear_backward(m->dB, G(o->wo), G(o->bo), dy, a->ctx, P + o->wo, rows, C, C, 0);
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
    faith_linear_backward(m->dA, G(o->wqkv), G(o->bqkv), m->dqkv, a->in, P + o->wqkv, &rows, C, 3 * C, 1);
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
            float *gt = m->wtt != NONE ? m->grads + m->wtt + (size_t)m->types[i] * C : NULL;
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
    int L = m->cfg.n_layers;
    for (int l = L - 1; l >= 0; l--) {
        if (m->first_only && l == L - 1) layer_first_backward(m, l);
        else layer_backward(m, l);
    }
    embed_backward(m, d_word_embeds);
    return FAITH_OK;
}

/* ---- outputs and threads ---- */

const char *faith_output_name(faith_output o) { return name_of(OUTPUT_NAMES, N_NAMES(OUTPUT_NAMES), (int)o); }

int faith_output_parse(const char *s, faith_output *out)
{
    int i = index_of(OUTPUT_NAMES, N_NAMES(OUTPUT_NAMES), s);
    if (i >= 0) *out = (faith_output)i;
    return i >= 0 ? FAITH_OK : FAITH_ERR_ARG;
}

void faith_softmax_row(const float *logits, int K, double *probs)
{
    double mx = logits[0], s = 0;
    for (int k = 1; k < K; k++) mx = logits[k] > mx ? logits[k] : mx;
    for (int k = 0; k < K; k++) s += (probs[k] = exp((double)logits[k] - mx));
    for (int k = 0; k < K; k++) probs[k] /= s;
}

double faith_output_value(faith_output o, const float *logits, int K, int target, float *dlogits)
{
    double p[FAITH_MAX_CLASSES];
    faith_softmax_row(logits, K, p);
    double v;
    if (o == FAITH_OUT_LOGIT) {
        v = logits[target];
        if (dlogits)
            for (int k = 0; k < K; k++) dlogits[k] = k == target ? 1.0f : 0.0f;
    } else if (o == FAITH_OUT_PROB) {
        v = p[target];
        if (dlogits)
            for (int k = 0; k < K; k++) dlogits[k] = (float)(p[target] * ((k == target) - p[k]));
    } else {
        double mx = logits[0], s = 0;
        for (int k = 1; k < K; k++) mx = logits[k] > mx ? logits[k] : mx;
        for (int k = 0; k < K; k++) s += exp((double)logits[k] - mx);
        v = (double)logits[target] - mx - log(s);
        if (dlogits)
            for (int k = 0; k < K; k++) dlogits[k] = (float)((k == target) - p[k]);
    }
    return v;
}

void faith_set_threads(int n)
{
    /* OpenBLAS's OpenMP build sizes its pool from OpenMP's: both are set so they agree. */
    if (n > 0) {
        omp_set_num_threads(n);
        openblas_set_num_threads(n);
    }
}

int faith_get_threads(void) { return omp_get_max_threads(); }

int faith_serial_begin(void)
{
    int n = faith_get_threads();
    faith_set_threads(1);
    return n;
}

void faith_serial_end(int saved) { faith_set_threads(saved); }
