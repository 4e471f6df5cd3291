/* model.c: the BERT / DistilBERT / RoBERTa sequence classifiers: the parameter layout in one
 * allocation, model lifecycle and settings, outputs and thread control (forward, backward and the
 * workspace live in model_forward.c, model_backward.c and model_workspace.c). */
#include "model.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_internal.h"

/* Serials of models made in this process; models are made and randomised by one thread. */
static uint64_t last_serial;

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
    m->wtt = db ? FAITH_NO_PARAM : V2("%s.embeddings.token_type_embeddings.weight", c->type_vocab_size, C, 1, -1, pre);
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
    m->wt_stale = m->wc_stale = 1;
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
    m->wt_stale = m->wc_stale = 1;
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
    free(m->wc);
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
    m->wt_stale = m->wc_stale = 1; /* the caller may write through the pointer before the next forward */
    return m->params;
}

void faith_model_params_changed(faith_model *m)
{
    m->serial = ++last_serial;
    m->wt_stale = m->wc_stale = 1;
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
    if ((on != 0) != m->tiles) m->wt_stale = m->wc_stale = 1;
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
