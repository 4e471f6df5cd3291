/* model_internal.h: the model's insides, shared by the engine's files (model.c, model_io.c,
 * model_workspace.c, model_forward.c, model_backward.c) and nothing else. Private to the engine. */
#ifndef FAITH_MODEL_INTERNAL_H
#define FAITH_MODEL_INTERNAL_H

#include <stdint.h>

#include "layers.h"
#include "model.h"
#include "rng.h"

/* The offset of a parameter the architecture lacks (DistilBERT's token type embeddings). */
#define FAITH_NO_PARAM ((size_t)-1)

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
    /* With tiled products, the same matrices' columns in panels for the input gradients
     * (faith_linear_copy_cols), at wt's offsets: made by the first backward after params may have
     * changed (wc_stale), so forward-only work never pays for it. */
    float *wc;
    int wc_stale;
    uint64_t serial; /* faith_model_serial() */
    int frozen;  /* backward stops at the classification head */
};


/* A model with the config's shapes, every parameter zero. */
int faith_model_alloc(const faith_model_config *cfg, faith_model **out, faith_err *err);

/* The config's parameter layout (views, sizes) without the parameters themselves, so that a
 * file's shapes can be checked before allocating what config.json asks for; then
 * faith_model_alloc_params allocates them (zeroed). */
int faith_model_layout(const faith_model_config *cfg, faith_model **out, faith_err *err);
void faith_model_alloc_params(faith_model *m);

/* Models above this many parameters are refused by faith_model_config_check (4 TiB of floats). */
#define FAITH_MODEL_MAX_PARAMS 1099511627776.0

/* Check a config's sizes are positive and consistent (d_model % n_heads == 0, ...). what names the
 * source in messages (a config.json path, or "config"). */
int faith_model_config_check(const faith_model_config *cfg, const char *what, faith_err *err);

/* ---- workspace (model_workspace.c) ---- */

/* Whether a forward with these flags runs the last layer for the first token alone. */
int faith_model_runs_first_only(unsigned flags);

/* Lay out the workspace for (B, T, flags), growing it if needed, and point m's buffers into it. */
int faith_model_grow_workspace(faith_model *m, int B, int T, unsigned flags, faith_err *err);

/* ---- shared by forward and backward ---- */

static inline uint64_t drop_key(const faith_model *m, int layer, const char *site)
{
    faith_rng r;
    faith_rng_init(&r, m->drop_seed, layer, site);
    return r.key;
}

/* Dropout probabilities of each site, as Hugging Face wires them per architecture. */
static inline float p_hidden(const faith_model *m) { return m->cfg.hidden_dropout; }
static inline float p_head(const faith_model *m)
{
    return m->cfg.classifier_dropout >= 0 ? m->cfg.classifier_dropout : m->cfg.hidden_dropout;
}

static inline float layer_eps(const faith_model *m)
{
    /* DistilBERT's eps is a constant 1e-12 in Hugging Face; config loading puts it in ln_eps. */
    return m->cfg.ln_eps;
}

/* Dropout on the n rows of C a layer covers. Rows of one per sequence (a first-token layer) stand
 * for every T-th row of the whole layer and draw its masks; with T = 1 the two layouts coincide. */
static inline void drop_rows(faith_model *m, float *x, int n, const faith_rows *rows, float p, uint64_t key)
{
    size_t C = (size_t)m->cfg.d_model;
    faith_dropout_apply_rows(x, (size_t)n, C, rows->T == 1 ? (size_t)m->T * C : C, p, key);
}

#endif
