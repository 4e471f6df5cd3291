/* test_model.c: the engine against an independent float64 reference of the Hugging Face modules
 * (naive loops, written here from the HF definitions): logits, hidden states, attention, gradients. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rng.h"
#include "testmodel.h"

/* ---- float64 reference ---- */

typedef struct ref {
    const faith_model *m;
    faith_model_config c;
    double *p;                   /* parameters in double, same layout as the model's */
    int pl, ph, pi, pj;          /* attention probability to perturb (layer -1: none) */
    double pdelta;
    double *hidden;              /* (L+1, n, C) when not NULL */
    double *att;                 /* (L, NH, n, n) when not NULL */
} ref;

static const double *W(const ref *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const double *W(const ref *r, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < faith_model_param_count(r->m); i++) {
        const faith_param_view *v = faith_model_param_at(r->m, i);
        if (strcmp(v->name, name) == 0) return r->p + v->offset;
    }
    fail_msg("no tensor %s", name);
    return NULL;
}

static void ref_init(ref *r, faith_model *m)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->c = *faith_model_cfg(m);
    size_t n;
    float *p = faith_model_params(m, &n);
    r->p = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) r->p[i] = p[i];
    r->pl = -1;
}

/* y (n, out) = x (n, in) W^T + b */
static void lin(double *y, const double *x, const double *w, const double *b, int n, int in, int out)
{
    for (int t = 0; t < n; t++)
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int k = 0; k < in; k++) s += x[t * in + k] * w[o * in + k];
            y[t * out + o] = s;
        }
}

static void ln(double *x, const double *g, const double *b, int n, int C, double eps)
{
    for (int t = 0; t < n; t++) {
        double *r = x + t * C, mu = 0, var = 0;
        for (int k = 0; k < C; k++) mu += r[k];
        mu /= C;
        for (int k = 0; k < C; k++) var += (r[k] - mu) * (r[k] - mu);
        var /= C;
        for (int k = 0; k < C; k++) r[k] = (r[k] - mu) / sqrt(var + eps) * g[k] + b[k];
    }
}

/* Logits (K) of one sequence; emb (n, C) replaces the word-embedding lookup when not NULL. */
static void ref_forward(ref *r, int n, const int32_t *ids, const int32_t *types, const double *emb,
                        double *logits)
{
    const faith_model_config *c = &r->c;
    int C = c->d_model, F = c->d_ffn, NH = c->n_heads, hd = C / NH, K = c->n_classes;
    int db = c->arch == FAITH_ARCH_DISTILBERT, rob = c->arch == FAITH_ARCH_ROBERTA;
    const char *pre = faith_arch_name(c->arch);
    double eps = c->ln_eps;
    double *x = calloc((size_t)n * C, sizeof(double)), *q = calloc((size_t)n * C, sizeof(double));
    double *k = calloc((size_t)n * C, sizeof(double)), *v = calloc((size_t)n * C, sizeof(double));
    double *ctx = calloc((size_t)n * C, sizeof(double)), *a = calloc((size_t)n * C, sizeof(double));
    double *f = calloc((size_t)n * F, sizeof(double)), *pr = calloc((size_t)n, sizeof(double));
    const double *E = W(r, "%s.embeddings.word_embeddings.weight", pre);
    const double *P = W(r, "%s.embeddings.position_embeddings.weight", pre);
    int cnt = 0;
    for (int t = 0; t < n; t++) {
        int pos = t;
        if (rob) { /* HF: mask = ids != pad; pos = cumsum(mask) * mask + pad */
            int m = ids[t] != c->pad_token_id;
            cnt += m;
            pos = cnt * m + c->pad_token_id;
        }
        for (int d = 0; d < C; d++) {
            double e = emb ? emb[t * C + d] : E[ids[t] * C + d];
            x[t * C + d] = e + P[pos * C + d];
            if (!db) x[t * C + d] += W(r, "%s.embeddings.token_type_embeddings.weight", pre)[(types ? types[t] : 0) * C + d];
        }
    }
    ln(x, W(r, "%s.embeddings.LayerNorm.weight", pre), W(r, "%s.embeddings.LayerNorm.bias", pre), n, C, eps);
    if (r->hidden) memcpy(r->hidden, x, sizeof(double) * n * C);
    for (int l = 0; l < c->n_layers; l++) {
        char L[128];
        if (db) snprintf(L, sizeof L, "distilbert.transformer.layer.%d", l);
        else snprintf(L, sizeof L, "%s.encoder.layer.%d", pre, l);
        const char *qn = db ? "attention.q_lin" : "attention.self.query";
        const char *kn = db ? "attention.k_lin" : "attention.self.key";
        const char *vn = db ? "attention.v_lin" : "attention.self.value";
        const char *on = db ? "attention.out_lin" : "attention.output.dense";
        const char *l1 = db ? "sa_layer_norm" : "attention.output.LayerNorm";
        const char *f1 = db ? "ffn.lin1" : "intermediate.dense";
        const char *f2 = db ? "ffn.lin2" : "output.dense";
        const char *l2 = db ? "output_layer_norm" : "output.LayerNorm";
        lin(q, x, W(r, "%s.%s.weight", L, qn), W(r, "%s.%s.bias", L, qn), n, C, C);
        lin(k, x, W(r, "%s.%s.weight", L, kn), W(r, "%s.%s.bias", L, kn), n, C, C);
        lin(v, x, W(r, "%s.%s.weight", L, vn), W(r, "%s.%s.bias", L, vn), n, C, C);
        for (int h = 0; h < NH; h++)
            for (int i = 0; i < n; i++) {
                double mx = -1e300, s = 0;
                for (int j = 0; j < n; j++) {
                    double d = 0;
                    for (int e = 0; e < hd; e++) d += q[i * C + h * hd + e] * k[j * C + h * hd + e];
                    pr[j] = d / sqrt((double)hd);
                    mx = pr[j] > mx ? pr[j] : mx;
                }
                for (int j = 0; j < n; j++) s += (pr[j] = exp(pr[j] - mx));
                for (int j = 0; j < n; j++) pr[j] /= s;
                if (r->pl == l && r->ph == h && r->pi == i) pr[r->pj] += r->pdelta;
                if (r->att)
                    for (int j = 0; j < n; j++) r->att[(((size_t)l * NH + h) * n + i) * n + j] = pr[j];
                for (int e = 0; e < hd; e++) {
                    double acc = 0;
                    for (int j = 0; j < n; j++) acc += pr[j] * v[j * C + h * hd + e];
                    ctx[i * C + h * hd + e] = acc;
                }
            }
        lin(a, ctx, W(r, "%s.%s.weight", L, on), W(r, "%s.%s.bias", L, on), n, C, C);
        for (int i = 0; i < n * C; i++) x[i] += a[i];
        ln(x, W(r, "%s.%s.weight", L, l1), W(r, "%s.%s.bias", L, l1), n, C, eps);
        lin(f, x, W(r, "%s.%s.weight", L, f1), W(r, "%s.%s.bias", L, f1), n, C, F);
        for (int i = 0; i < n * F; i++) f[i] = 0.5 * f[i] * (1.0 + erf(f[i] / sqrt(2.0)));
        lin(a, f, W(r, "%s.%s.weight", L, f2), W(r, "%s.%s.bias", L, f2), n, F, C);
        for (int i = 0; i < n * C; i++) x[i] += a[i];
        ln(x, W(r, "%s.%s.weight", L, l2), W(r, "%s.%s.bias", L, l2), n, C, eps);
        if (r->hidden) memcpy(r->hidden + (size_t)(l + 1) * n * C, x, sizeof(double) * n * C);
    }
    double hbuf[256];
    if (c->arch == FAITH_ARCH_BERT) {
        lin(hbuf, x, W(r, "bert.pooler.dense.weight"), W(r, "bert.pooler.dense.bias"), 1, C, C);
        for (int d = 0; d < C; d++) hbuf[d] = tanh(hbuf[d]);
        lin(logits, hbuf, W(r, "classifier.weight"), W(r, "classifier.bias"), 1, C, K);
    } else if (db) {
        lin(hbuf, x, W(r, "pre_classifier.weight"), W(r, "pre_classifier.bias"), 1, C, C);
        for (int d = 0; d < C; d++) hbuf[d] = hbuf[d] > 0 ? hbuf[d] : 0;
        lin(logits, hbuf, W(r, "classifier.weight"), W(r, "classifier.bias"), 1, C, K);
    } else {
        lin(hbuf, x, W(r, "classifier.dense.weight"), W(r, "classifier.dense.bias"), 1, C, C);
        for (int d = 0; d < C; d++) hbuf[d] = tanh(hbuf[d]);
        lin(logits, hbuf, W(r, "classifier.out_proj.weight"), W(r, "classifier.out_proj.bias"), 1, C, K);
    }
    free(x); free(q); free(k); free(v); free(ctx); free(a); free(f); free(pr);
}

/* ---- fixtures ---- */

static faith_model_config small_cfg(faith_arch arch)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = arch;
    c.n_layers = 2;
    c.n_heads = 4;
    c.d_model = 16;
    c.d_ffn = 24;
    c.vocab_size = 40;
    c.max_pos = 20;
    c.type_vocab_size = arch == FAITH_ARCH_BERT ? 2 : arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.n_classes = 3;
    c.pad_token_id = arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.ln_eps = arch == FAITH_ARCH_DISTILBERT ? 1e-12f : 1e-5f;
    c.classifier_dropout = -1;
    return c;
}

/* A small model with weights large enough that every nonlinearity is exercised (HF's 0.02 would
 * leave the network nearly linear), LayerNorm weights and biases random too. */
static double weight_sd = 0.35;
static faith_model *small_model(faith_arch arch, uint64_t seed)
{
    faith_model_config c = small_cfg(arch);
    faith_model *m;
    faith_err err;
    assert_int_equal(faith_model_create_random(&c, seed, &m, &err), 0);
    size_t n;
    float *p = faith_model_params(m, &n);
    faith_rng r;
    faith_rng_init(&r, seed, 1, "test");
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        size_t cnt = (size_t)v->shape[0] * (size_t)(v->ndim == 2 ? v->shape[1] : 1);
        int lnw = strstr(v->name, "LayerNorm.weight") || strstr(v->name, "layer_norm.weight");
        double sd = v->ndim == 2 ? weight_sd : 0.2;
        for (size_t k = 0; k < cnt; k++) p[v->offset + k] = (float)((lnw ? 1.0 : 0.0) + sd * faith_rng_normal(&r));
    }
    return m;
}

/* Three rows of lengths 5, 8, 3 in a (3, 8) batch with arbitrary ids in the padding. */
#define TB 3
#define TT 8
static const int32_t LEN[TB] = {5, 8, 3};
static void make_batch(faith_arch arch, int32_t *ids, int32_t *types)
{
    faith_rng r;
    faith_rng_init(&r, 5, 0, "ids");
    for (int i = 0; i < TB * TT; i++) {
        ids[i] = 2 + (int32_t)faith_rng_below(&r, 38);
        types[i] = arch == FAITH_ARCH_BERT ? (int32_t)faith_rng_below(&r, 2) : 0;
    }
    if (arch == FAITH_ARCH_ROBERTA) ids[1 * TT + 4] = 1; /* a pad id inside a sequence: HF's rule */
}

static void check_forward_tiles(faith_arch arch, int tiles)
{
    faith_model *m = small_model(arch, 11);
    faith_model_set_tiles(m, tiles);
    int32_t ids[TB * TT], types[TB * TT];
    make_batch(arch, ids, types);
    faith_batch b = {TB, TT, ids, types, LEN, NULL};
    float logits[TB * 3];
    faith_err err;
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_HIDDEN | FAITH_FWD_ATTN, logits, &err), 0);
    ref r;
    ref_init(&r, m);
    const faith_model_config *c = faith_model_cfg(m);
    int C = c->d_model, L = c->n_layers, NH = c->n_heads;
    double spread = 0;
    for (int row = 0; row < TB; row++) {
        int n = LEN[row];
        double lg[3];
        r.hidden = calloc((size_t)(L + 1) * n * C, sizeof(double));
        r.att = calloc((size_t)L * NH * n * n, sizeof(double));
        ref_forward(&r, n, ids + row * TT, types + row * TT, NULL, lg);
        for (int k = 0; k < 3; k++) {
            assert_true(fabs(lg[k] - logits[row * 3 + k]) < 1e-4);
            spread += fabs(lg[k] - lg[0]);
        }
        for (int l = 0; l <= L; l++) {
            const float *h = faith_model_hidden(m, l);
            assert_non_null(h);
            for (int t = 0; t < n; t++)
                for (int d = 0; d < C; d++)
                    assert_true(fabs(h[((size_t)row * TT + t) * C + d] - r.hidden[((size_t)l * n + t) * C + d]) < 1e-4);
        }
        for (int l = 0; l < L; l++) {
            const float *a = faith_model_attention(m, l);
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < TT; i++)
                    for (int j = 0; j < TT; j++) {
                        float got = a[(((size_t)row * NH + h) * TT + i) * TT + j];
                        double want = (i < n && j < n) ? r.att[(((size_t)l * NH + h) * n + i) * n + j] : 0.0;
                        assert_true(fabs(got - want) < 1e-5);
                    }
        }
        free(r.hidden);
        free(r.att);
        r.hidden = r.att = NULL;
    }
    assert_true(spread > 0.1); /* the logits are not all alike: the comparison means something */
    free(r.p);
    faith_model_free(m);
}

/* Both product layouts: tiled (panels, small tiles) and whole products. */
static void check_forward(faith_arch arch)
{
    check_forward_tiles(arch, 0);
    check_forward_tiles(arch, 1);
}

static void test_forward_bert(void **s) { (void)s; check_forward(FAITH_ARCH_BERT); }
static void test_forward_distilbert(void **s) { (void)s; check_forward(FAITH_ARCH_DISTILBERT); }
static void test_forward_roberta(void **s) { (void)s; check_forward(FAITH_ARCH_ROBERTA); }

/* Outputs of one forward + backward of a batch, copied per sequence (valid rows only). */
#define PB 12
#define PC 128
typedef struct seq_out {
    float logits[PB][3];
    float hidden[PB][40 * PC];
    float grad[PB][40 * PC];
} seq_out;

/* Runs the sequences order[0..n) as one (n, T) batch and scatters the results to seq_out by
 * sequence index. */
static void run_rows(faith_model *m, const int32_t *ids, const int32_t *len, const int *order, int n,
                     int T, seq_out *o)
{
    int32_t *bids = calloc((size_t)n * T, sizeof *bids), blen[PB];
    for (int r = 0; r < n; r++) {
        int i = order[r];
        blen[r] = len[i];
        for (int t = 0; t < T; t++) bids[r * T + t] = t < len[i] ? ids[i * 40 + t] : 7; /* padding ids are arbitrary */
    }
    faith_batch b = {n, T, bids, NULL, blen, NULL};
    float logits[PB * 3], dl[PB * 3], *dwe = malloc(sizeof(float) * (size_t)n * T * PC);
    faith_err err;
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS, logits, &err), 0);
    /* The last layer ran for the first token only: its hidden states are not there to compare. */
    int L = faith_model_cfg(m)->n_layers;
    assert_null(faith_model_hidden(m, L));
    const float *h = faith_model_hidden(m, L - 1);
    assert_non_null(h);
    for (int r = 0; r < n; r++) {
        int i = order[r];
        memcpy(o->logits[i], logits + r * 3, sizeof(float) * 3);
        memcpy(o->hidden[i], h + (size_t)r * T * PC, sizeof(float) * (size_t)len[i] * PC);
        for (int k = 0; k < 3; k++) dl[r * 3 + k] = k == 1 ? 1.0f : 0.0f;
    }
    assert_int_equal(faith_model_backward(m, dl, dwe, &err), 0);
    for (int r = 0; r < n; r++)
        memcpy(o->grad[order[r]], dwe + (size_t)r * T * PC, sizeof(float) * (size_t)len[order[r]] * PC);
    free(bids);
    free(dwe);
}

/* A logits-only forward of order[0..n) as one (n, T) batch: with n * T above the engine's chunk
 * size it runs in chunks of sequences, whose logits must be those of the whole batch. */
static void check_logits_only(faith_model *m, const int32_t *ids, const int32_t *len, const int *order, int n,
                              int T, const seq_out *want, const char *what)
{
    int32_t *bids = calloc((size_t)n * T, sizeof *bids), blen[PB];
    for (int r = 0; r < n; r++) {
        blen[r] = len[order[r]];
        for (int t = 0; t < T; t++) bids[r * T + t] = t < blen[r] ? ids[order[r] * 40 + t] : 7;
    }
    faith_batch b = {n, T, bids, NULL, blen, NULL};
    float logits[PB * 3];
    faith_err err;
    assert_int_equal(faith_model_forward(m, &b, 0, logits, &err), 0);
    for (int r = 0; r < n; r++)
        if (memcmp(logits + r * 3, want->logits[order[r]], sizeof want->logits[0]))
            fail_msg("%s: sequence %d has other logits", what, order[r]);
    free(bids);
}

static void assert_seq_out_equal(const seq_out *a, const seq_out *b, const int32_t *len, const char *what)
{
    for (int i = 0; i < PB; i++) {
        size_t n = (size_t)len[i] * PC * sizeof(float);
        if (memcmp(a->logits[i], b->logits[i], sizeof a->logits[i]) || memcmp(a->hidden[i], b->hidden[i], n) ||
            memcmp(a->grad[i], b->grad[i], n))
            fail_msg("%s: sequence %d (length %d) has other bits", what, i, (int)len[i]);
    }
}

/* Per-sequence products (the default): a sequence's logits, hidden states and input gradients have
 * the same bits alone, among other batch-mates in another order, with more padding and on 2
 * threads. The shapes are big enough for OpenBLAS to round rows by position and to split products
 * over threads, so the check can fail. Batched products agree to rounding, and bit for bit across
 * thread counts for the same batch. */
static void test_rows_bitwise_invariant(void **s)
{
    (void)s;
    for (int at = 0; at < 6; at++) {
        int a = at % 3, tiles = at / 3; /* both product layouts */
        faith_model_config c = small_cfg((faith_arch)a);
        c.d_model = PC;
        c.d_ffn = 4 * PC;
        c.max_pos = 64;
        faith_model *m;
        faith_err err;
        assert_int_equal(faith_model_create_random(&c, 31 + a, &m, &err), 0);
        assert_int_equal(faith_model_products(m), FAITH_PRODUCTS_PER_SEQUENCE);
        faith_model_set_tiles(m, tiles);
        int32_t ids[PB * 40], len[PB];
        faith_rng r;
        faith_rng_init(&r, 17, (uint64_t)a, "rows");
        for (int i = 0; i < PB * 40; i++) ids[i] = 2 + (int32_t)faith_rng_below(&r, 38);
        for (int i = 0; i < PB; i++) len[i] = 1 + (int32_t)faith_rng_below(&r, 40);
        len[3] = 40;
        int fwd[PB], rev[PB];
        for (int i = 0; i < PB; i++) fwd[i] = i, rev[i] = PB - 1 - i;
        seq_out *base = malloc(sizeof *base), *other = malloc(sizeof *other);
        int threads = faith_get_threads();
        faith_set_threads(1);
        run_rows(m, ids, len, fwd, PB, 40, base);
        for (int i = 0; i < PB; i++) run_rows(m, ids, len, &fwd[i], 1, len[i], other);
        assert_seq_out_equal(base, other, len, "alone");
        faith_set_threads(2);
        run_rows(m, ids, len, rev, PB, 56, other);
        assert_seq_out_equal(base, other, len, "reversed, padded to 56, 2 threads");
        check_logits_only(m, ids, len, rev, PB, 64, base, "logits only, 2 threads");
        faith_set_threads(1);
        check_logits_only(m, ids, len, rev, PB, 56, base, "logits only, in chunks, 1 thread");
        faith_set_threads(2);
        for (int i = 0; i < PB; i++) run_rows(m, ids, len, &fwd[i], 1, len[i], other);
        assert_seq_out_equal(base, other, len, "alone, 2 threads");
        faith_model_set_products(m, FAITH_PRODUCTS_BATCHED);
        run_rows(m, ids, len, rev, PB, 56, other);
        /* Batched products: other bits than per-sequence ones, but the same on 1 and 2 threads. */
        seq_out *one = malloc(sizeof *one);
        faith_set_threads(1);
        run_rows(m, ids, len, rev, PB, 56, one);
        assert_seq_out_equal(other, one, len, "batched, 1 vs 2 threads");
        free(one);
        faith_set_threads(threads);
        int differ = 0;
        for (int i = 0; i < PB; i++) {
            size_t n = (size_t)len[i] * PC;
            double g = 0;
            for (size_t k = 0; k < n; k++) g = fmax(g, fabs(base->grad[i][k]));
            double dlog = faith_test_max_abs_diff(base->logits[i], other->logits[i], 3);
            double dgrad = faith_test_max_abs_diff(base->grad[i], other->grad[i], n) / fmax(g, 1e-12);
            if (dlog > 1e-5 || dgrad > 1e-4)
                fail_msg("arch %d tiles %d sequence %d: batched products differ by %g (logits), %g (relative grads)",
                         a, tiles, i, dlog, dgrad);
            differ += memcmp(base->grad[i], other->grad[i], (size_t)len[i] * PC * sizeof(float)) != 0;
        }
        print_message("arch %d tiles %d: batched products changed the bits of %d of %d sequences\n", a, tiles, differ,
                      PB);
        free(base);
        free(other);
        faith_model_free(m);
    }
}

/* A frozen encoder: backward computes exactly the head's gradients of a full backward and nothing
 * below it (encoder gradients stay zero, embedding gradients are refused). */
static void test_frozen_encoder_backward(void **s)
{
    (void)s;
    faith_model *m = small_model(FAITH_ARCH_BERT, 5);
    int32_t ids[TB * TT], types[TB * TT];
    make_batch(FAITH_ARCH_BERT, ids, types);
    faith_batch b = {TB, TT, ids, types, LEN, NULL};
    float logits[TB * 3], dl[TB * 3] = {1, -1, 0.5f, 0, 2, -1, 0.25f, 0, 1}, dwe[TB * TT * 16];
    faith_err err;
    assert_int_equal(faith_model_enable_grads(m, 1, &err), 0);
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS, logits, &err), 0);
    assert_int_equal(faith_model_backward(m, dl, NULL, &err), 0);
    size_t n;
    faith_model_params(m, &n);
    float *full = malloc(sizeof(float) * n);
    memcpy(full, faith_model_grads(m), sizeof(float) * n);
    faith_model_zero_grads(m);
    faith_model_freeze_encoder(m, 1);
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS, logits, &err), 0);
    assert_int_equal(faith_model_backward(m, dl, NULL, &err), 0);
    const float *g = faith_model_grads(m);
    int head = 0;
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        size_t cnt = (size_t)v->shape[0] * (size_t)(v->ndim == 2 ? v->shape[1] : 1);
        for (size_t k = 0; k < cnt; k++) {
            float want = v->is_encoder ? 0.0f : full[v->offset + k];
            if (memcmp(&g[v->offset + k], &want, sizeof want)) fail_msg("%s[%zu]: %g, want %g", v->name, k, g[v->offset + k], want);
            head += !v->is_encoder && want != 0.0f;
        }
    }
    assert_true(head > 0);
    assert_int_equal(faith_model_backward(m, dl, dwe, &err), FAITH_ERR_ARG);
    free(full);
    faith_model_free(m);
}

static void test_linear_model_formula(void **s)
{
    (void)s;
    float value[10];
    for (int v = 0; v < 10; v++) value[v] = (float)(v - 4) * 0.37f;
    faith_model *m;
    assert_int_equal(faith_test_linear_model(10, value, 0.25f, 16, &m), 0);
    int32_t ids[2 * 6] = {1, 3, 9, 9, 0, 2, 7, 5, 4, 0, 0, 0}, len[2] = {6, 2};
    faith_batch b = {2, 6, ids, NULL, len, NULL};
    float logits[4];
    faith_err err;
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS, logits, &err), 0);
    for (int r = 0; r < 2; r++) {
        double want = 0.25;
        for (int t = 0; t < len[r]; t++) want += value[ids[r * 6 + t]] / len[r];
        assert_true(fabs(logits[r * 2]) < 1e-6);
        if (fabs(logits[r * 2 + 1] - want) > 1e-5 * fmax(1.0, fabs(want))) fail_msg("row %d: %g vs %g", r, logits[r * 2 + 1], want);
    }
    /* d logit1 / d e_t = u / n with u = (1, -1, 0, ...) */
    float dl[4] = {0, 1, 0, 1}, g[2 * 6 * 8];
    assert_int_equal(faith_model_backward(m, dl, g, &err), 0);
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < 6; t++)
            for (int d = 0; d < 8; d++) {
                double want = t >= len[r] ? 0 : d == 0 ? 1.0 / len[r] : d == 1 ? -1.0 / len[r] : 0;
                assert_true(fabs(g[(r * 6 + t) * 8 + d] - want) < 1e-5);
            }
    faith_model_free(m);
}

/* ---- gradients against central differences of the float64 reference ---- */

static double ref_objective(ref *r, const int32_t *ids, const int32_t *types, const float *dl, int row_only,
                            const double *emb)
{
    double J = 0, lg[3];
    for (int row = 0; row < TB; row++) {
        if (row_only >= 0 && row != row_only) continue;
        ref_forward(r, LEN[row], ids + row * TT, types + row * TT, row_only >= 0 ? emb : NULL, lg);
        for (int k = 0; k < 3; k++) J += dl[row * 3 + k] * lg[k];
    }
    return J;
}

static void random_dlogits(float *dl, int n, uint64_t seed)
{
    faith_rng r;
    faith_rng_init(&r, seed, 0, "dl");
    for (int i = 0; i < n; i++) dl[i] = (float)faith_rng_normal(&r);
}

static int close_enough(double got, double want) { return fabs(got - want) <= 2e-3 * fabs(want) + 2e-4; }

/* extra: 0 (the last layer for the first token only) or FAITH_FWD_EVERY_TOKEN. */
static void check_embedding_grad(faith_arch arch, unsigned extra, int tiles)
{
    faith_model *m = small_model(arch, 21);
    faith_model_set_tiles(m, tiles);
    const faith_model_config *c = faith_model_cfg(m);
    int C = c->d_model;
    int32_t ids[TB * TT], types[TB * TT];
    make_batch(arch, ids, types);
    faith_batch b = {TB, TT, ids, types, LEN, NULL};
    float logits[TB * 3], dl[TB * 3];
    random_dlogits(dl, TB * 3, 1);
    float *g = malloc(sizeof(float) * TB * TT * C);
    faith_err err;
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS | extra, logits, &err), 0);
    assert_int_equal(faith_model_backward(m, dl, g, &err), 0);
    ref r;
    ref_init(&r, m);
    const float *E = faith_model_word_embeddings(m);
    for (int row = 0; row < TB; row++) {
        int n = LEN[row];
        double *emb = malloc(sizeof(double) * n * C);
        for (int t = 0; t < n; t++)
            for (int d = 0; d < C; d++) emb[t * C + d] = E[ids[row * TT + t] * C + d];
        for (int t = 0; t < TT; t++)
            for (int d = 0; d < C; d += 3) {
                float got = g[((size_t)row * TT + t) * C + d];
                if (t >= n) {
                    assert_true(got == 0.0f);
                    continue;
                }
                double h = 1e-5, keep = emb[t * C + d];
                emb[t * C + d] = keep + h;
                double jp = ref_objective(&r, ids, types, dl, row, emb);
                emb[t * C + d] = keep - h;
                double jm = ref_objective(&r, ids, types, dl, row, emb);
                emb[t * C + d] = keep;
                double want = (jp - jm) / (2 * h);
                if (!close_enough(got, want)) fail_msg("row %d t %d d %d: %g vs %g", row, t, d, got, want);
            }
        free(emb);
    }
    /* The same gradient when the embeddings are passed in instead of looked up. */
    float *we = malloc(sizeof(float) * TB * TT * C), *g2 = malloc(sizeof(float) * TB * TT * C);
    for (int i = 0; i < TB * TT; i++) memcpy(we + (size_t)i * C, E + (size_t)ids[i] * C, sizeof(float) * C);
    faith_batch b2 = {TB, TT, ids, types, LEN, we};
    float logits2[TB * 3];
    assert_int_equal(faith_model_forward(m, &b2, FAITH_FWD_KEEP_ACTS | extra, logits2, &err), 0);
    assert_int_equal(faith_model_backward(m, dl, g2, &err), 0);
    assert_true(faith_test_max_abs_diff(logits, logits2, TB * 3) == 0.0);
    assert_true(faith_test_max_abs_diff(g, g2, (size_t)TB * TT * C) == 0.0);
    free(we);
    free(g2);
    free(g);
    free(r.p);
    faith_model_free(m);
}

static void check_embedding_grads(faith_arch arch)
{
    for (int tiles = 0; tiles < 2; tiles++) {
        check_embedding_grad(arch, 0, tiles);
        check_embedding_grad(arch, FAITH_FWD_EVERY_TOKEN, tiles);
    }
}
static void test_embedding_grad_bert(void **s) { (void)s; check_embedding_grads(FAITH_ARCH_BERT); }
static void test_embedding_grad_distilbert(void **s) { (void)s; check_embedding_grads(FAITH_ARCH_DISTILBERT); }
static void test_embedding_grad_roberta(void **s) { (void)s; check_embedding_grads(FAITH_ARCH_ROBERTA); }

/* Gradient wrt the attention probabilities: perturb one probability in the reference. */
static void test_attention_grad(void **s)
{
    (void)s;
    for (int a = 0; a < 3; a++) {
        faith_model *m = small_model((faith_arch)a, 31);
        int32_t ids[TB * TT], types[TB * TT];
        make_batch((faith_arch)a, ids, types);
        faith_batch b = {TB, TT, ids, types, LEN, NULL};
        float logits[TB * 3], dl[TB * 3];
        random_dlogits(dl, TB * 3, 2);
        faith_err err;
        assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS | FAITH_FWD_ATTN, logits, &err), 0);
        assert_int_equal(faith_model_backward(m, dl, NULL, &err), 0);
        ref r;
        ref_init(&r, m);
        int NH = faith_model_cfg(m)->n_heads;
        for (int l = 0; l < 2; l++) {
            const float *ga = faith_model_attention_grad(m, l);
            assert_non_null(ga);
            for (int row = 0; row < TB; row++)
                for (int h = 0; h < NH; h += 3)
                    for (int i = 0; i < LEN[row]; i += 2)
                        for (int j = 0; j < LEN[row]; j++) {
                            r.pl = l, r.ph = h, r.pi = i, r.pj = j, r.pdelta = 1e-5;
                            double jp = ref_objective(&r, ids, types, dl, row, NULL);
                            r.pdelta = -1e-5;
                            double jm = ref_objective(&r, ids, types, dl, row, NULL);
                            double want = (jp - jm) / 2e-5;
                            float got = ga[(((size_t)row * NH + h) * TT + i) * TT + j];
                            if (!close_enough(got, want)) fail_msg("arch %d l %d: %g vs %g", a, l, got, want);
                        }
        }
        r.pl = -1;
        free(r.p);
        faith_model_free(m);
    }
}

/* Weight gradients of every parameter tensor (a few entries each, including used embedding rows). */
static void check_weight_grad(faith_arch arch, unsigned extra)
{
    faith_model *m = small_model(arch, 41);
    int32_t ids[TB * TT], types[TB * TT];
    make_batch(arch, ids, types);
    faith_batch b = {TB, TT, ids, types, LEN, NULL};
    float logits[TB * 3], dl[TB * 3];
    random_dlogits(dl, TB * 3, 3);
    faith_err err;
    assert_int_equal(faith_model_enable_grads(m, 1, &err), 0);
    faith_model_zero_grads(m);
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS | extra, logits, &err), 0);
    assert_int_equal(faith_model_backward(m, dl, NULL, &err), 0);
    const float *G = faith_model_grads(m);
    ref r;
    ref_init(&r, m);
    faith_rng rng;
    faith_rng_init(&rng, 9, 0, "pick");
    int checked = 0;
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        int64_t cols = v->ndim == 2 ? v->shape[1] : 1;
        for (int e = 0; e < 3; e++) {
            int64_t row = (int64_t)faith_rng_below(&rng, (uint64_t)v->shape[0]);
            if (strstr(v->name, "word_embeddings")) row = ids[e * TT + 1];
            if (strstr(v->name, "position_embeddings")) row = arch == FAITH_ARCH_ROBERTA ? 2 + e : e;
            if (strstr(v->name, "token_type_embeddings")) row = types[e];
            size_t idx = v->offset + (size_t)row * cols + faith_rng_below(&rng, (uint64_t)cols);
            double keep = r.p[idx], h = 1e-5;
            r.p[idx] = keep + h;
            double jp = ref_objective(&r, ids, types, dl, -1, NULL);
            r.p[idx] = keep - h;
            double jm = ref_objective(&r, ids, types, dl, -1, NULL);
            r.p[idx] = keep;
            double want = (jp - jm) / (2 * h);
            if (!close_enough(G[idx], want)) fail_msg("%s[%zu]: %g vs %g", v->name, idx - v->offset, G[idx], want);
            checked += fabs(want) > 1e-3;
        }
    }
    assert_true(checked > (int)faith_model_param_count(m)); /* most checks saw a non-trivial gradient */
    free(r.p);
    faith_model_free(m);
}

static void check_weight_grads(faith_arch arch)
{
    check_weight_grad(arch, 0);
    check_weight_grad(arch, FAITH_FWD_EVERY_TOKEN);
}
static void test_weight_grads_bert(void **s) { (void)s; check_weight_grads(FAITH_ARCH_BERT); }
static void test_weight_grads_distilbert(void **s) { (void)s; check_weight_grads(FAITH_ARCH_DISTILBERT); }
static void test_weight_grads_roberta(void **s) { (void)s; check_weight_grads(FAITH_ARCH_ROBERTA); }

/* Training mode: masks are deterministic per seed, change the output, and backward follows them
 * (checked against central differences of the float model itself with the same masks). */
static void test_dropout_grads(void **s)
{
    (void)s;
    for (int a = 0; a < 3; a++) {
        faith_model *m = small_model((faith_arch)a, 51);
        faith_model_config *c = (faith_model_config *)faith_model_cfg(m);
        c->hidden_dropout = c->attn_dropout = 0.3f;
        c->classifier_dropout = 0.2f;
        int C = c->d_model;
        int32_t ids[TB * TT], types[TB * TT];
        make_batch((faith_arch)a, ids, types);
        const float *E = faith_model_word_embeddings(m);
        float *we = malloc(sizeof(float) * TB * TT * C), *g = malloc(sizeof(float) * TB * TT * C);
        for (int i = 0; i < TB * TT; i++) memcpy(we + (size_t)i * C, E + (size_t)ids[i] * C, sizeof(float) * C);
        faith_batch b = {TB, TT, ids, types, LEN, we};
        float eval[TB * 3], l1[TB * 3], l2[TB * 3], dl[TB * 3];
        random_dlogits(dl, TB * 3, 4);
        faith_err err;
        unsigned tr = FAITH_FWD_DROPOUT | FAITH_FWD_KEEP_ACTS;
        assert_int_equal(faith_model_forward(m, &b, 0, eval, &err), 0);
        faith_model_set_dropout_seed(m, 9);
        assert_int_equal(faith_model_forward(m, &b, tr, l1, &err), 0);
        assert_int_equal(faith_model_backward(m, dl, g, &err), 0);
        assert_int_equal(faith_model_forward(m, &b, tr, l2, &err), 0);
        assert_true(faith_test_max_abs_diff(l1, l2, TB * 3) == 0.0);
        assert_true(faith_test_max_abs_diff(l1, eval, TB * 3) > 1e-3);
        for (int i = 0; i < TB * TT * C; i += 7) {
            int row = i / (TT * C), t = (i / C) % TT;
            if (t >= LEN[row]) continue;
            float keep = we[i], h = 1e-2f;
            double jp = 0, jm = 0;
            we[i] = keep + h;
            assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_DROPOUT, l2, &err), 0);
            for (int k = 0; k < TB * 3; k++) jp += (double)dl[k] * l2[k];
            we[i] = keep - h;
            assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_DROPOUT, l2, &err), 0);
            for (int k = 0; k < TB * 3; k++) jm += (double)dl[k] * l2[k];
            we[i] = keep;
            double fd = (jp - jm) / (2.0 * h);
            if (fabs(fd - g[i]) > 5e-3 + 2e-2 * fabs(fd)) fail_msg("arch %d entry %d: %g vs %g", a, i, g[i], fd);
        }
        free(we);
        free(g);
        faith_model_free(m);
    }
}

/* The last layer run for the first token only (the default without HIDDEN or ATTN) gives the
 * logits, input gradients and weight gradients of the whole layer to rounding, with one and two
 * layers, both kinds of products, in training mode too (the same dropout masks), and a smaller
 * workspace. */
static void test_first_token_layer(void **s)
{
    (void)s;
    for (int a = 0; a < 3; a++)
        for (int v = 0; v < 8; v++) {
            int layers = 1 + (v & 1), batched = (v >> 1) & 1, drop = (v >> 2) & 1;
            faith_model *m = small_model((faith_arch)a, 61 + a);
            faith_model_config *c = (faith_model_config *)faith_model_cfg(m);
            c->n_layers = layers; /* the first layers of the 2-layer model: same offsets */
            if (drop) {
                c->hidden_dropout = c->attn_dropout = 0.3f;
                c->classifier_dropout = 0.2f;
                faith_model_set_dropout_seed(m, 5);
            }
            unsigned df = drop ? FAITH_FWD_DROPOUT : 0u;
            faith_model_set_products(m, batched ? FAITH_PRODUCTS_BATCHED : FAITH_PRODUCTS_PER_SEQUENCE);
            int C = c->d_model;
            int32_t ids[TB * TT], types[TB * TT];
            make_batch((faith_arch)a, ids, types);
            faith_batch b = {TB, TT, ids, types, LEN, NULL};
            float lg[2][TB * 3], dl[TB * 3], *g[2], *w[2];
            size_t n;
            faith_model_params(m, &n);
            random_dlogits(dl, TB * 3, 7);
            faith_err err;
            assert_int_equal(faith_model_enable_grads(m, 1, &err), 0);
            for (int k = 0; k < 2; k++) {
                unsigned f = FAITH_FWD_KEEP_ACTS | df | (k ? FAITH_FWD_EVERY_TOKEN : 0u);
                g[k] = malloc(sizeof(float) * TB * TT * C);
                w[k] = malloc(sizeof(float) * n);
                faith_model_zero_grads(m);
                assert_int_equal(faith_model_forward(m, &b, f, lg[k], &err), 0);
                assert_int_equal(faith_model_backward(m, dl, g[k], &err), 0);
                memcpy(w[k], faith_model_grads(m), sizeof(float) * n);
            }
            double gs = 0, ws = 0;
            for (int i = 0; i < TB * TT * C; i++) gs = fmax(gs, fabs(g[1][i]));
            for (size_t i = 0; i < n; i++) ws = fmax(ws, fabs(w[1][i]));
            double dlog = faith_test_max_abs_diff(lg[0], lg[1], TB * 3);
            double dg = faith_test_max_abs_diff(g[0], g[1], (size_t)TB * TT * C) / gs;
            double dw = faith_test_max_abs_diff(w[0], w[1], n) / ws;
            if (dlog > 1e-5 || dg > 1e-5 || dw > 1e-5 || gs < 1e-3)
                fail_msg("arch %d, %d layers, batched %d, dropout %d: first-token layer differs by %g (logits), "
                         "%g (input grads), %g (weight grads)", a, layers, batched, drop, dlog, dg, dw);
            /* A forward that keeps nothing agrees too; kept activations need less workspace. */
            float lo[TB * 3];
            assert_int_equal(faith_model_forward(m, &b, df, lo, &err), 0);
            assert_true(faith_test_max_abs_diff(lo, lg[0], TB * 3) == 0.0);
            if (drop) { /* and the masks matter: without them the logits move */
                assert_int_equal(faith_model_forward(m, &b, 0, lo, &err), 0);
                assert_true(faith_test_max_abs_diff(lo, lg[0], TB * 3) > 1e-3);
            }
            assert_true(faith_model_workspace_bytes(m, TB, TT, FAITH_FWD_KEEP_ACTS) <
                        faith_model_workspace_bytes(m, TB, TT, FAITH_FWD_KEEP_ACTS | FAITH_FWD_EVERY_TOKEN));
            for (int k = 0; k < 2; k++) free(g[k]), free(w[k]);
            c->n_layers = 2;
            faith_model_free(m);
        }
}

static void test_randomize_top(void **s)
{
    (void)s;
    faith_model *m = small_model(FAITH_ARCH_BERT, 61);
    size_t n;
    float *p = faith_model_params(m, &n), *before = malloc(sizeof(float) * n);
    memcpy(before, p, sizeof(float) * n);
    faith_model_randomize_top(m, 1, 5);
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        size_t cnt = (size_t)v->shape[0] * (size_t)(v->ndim == 2 ? v->shape[1] : 1);
        int changed = memcmp(p + v->offset, before + v->offset, sizeof(float) * cnt) != 0;
        int should = !v->is_encoder || v->layer == 1;
        if (changed != should) fail_msg("%s: changed %d, expected %d", v->name, changed, should);
        if (should && v->ndim == 2) { /* re-drawn from N(0, 0.02) */
            double ss = 0;
            for (size_t k = 0; k < cnt; k++) ss += (double)p[v->offset + k] * p[v->offset + k];
            assert_true(sqrt(ss / cnt) < 0.03 && sqrt(ss / cnt) > 0.01);
        }
    }
    free(before);
    faith_model_free(m);
}

/* The weight copies follow params: after a write through a kept pointer plus
 * faith_model_params_changed, and after randomize_top, logits and the word-embedding gradients are
 * bit for bit those of a fresh model holding the same params (a stale copy would give the old
 * values). Tiles are on, so the backward reads its column panels, made by the first backward. */
static void forward_backward(faith_model *m, float *logits, float *dwe)
{
    int32_t ids[2 * 9] = {2, 9, 14, 3, 7, 22, 5, 11, 8, 2, 30, 6, 17, 4, 9, 0, 0, 0}, len[2] = {9, 6};
    faith_batch b = {2, 9, ids, NULL, len, NULL};
    faith_err err;
    float dl[2 * FAITH_MAX_CLASSES] = {0};
    dl[0] = dl[faith_model_cfg(m)->n_classes] = 1.0f;
    faith_model_set_tiles(m, 1);
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS, logits, &err), 0);
    assert_int_equal(faith_model_backward(m, dl, dwe, &err), 0);
}

/* p, n: m's params, taken once (faith_model_params would itself mark the copies stale). */
static void assert_like_fresh_copy(faith_model *m, const float *p, size_t n, const float *logits, const float *dwe)
{
    faith_model *m2;
    faith_err err;
    assert_int_equal(faith_model_create_random(faith_model_cfg(m), 1, &m2, &err), 0);
    memcpy(faith_model_params(m2, NULL), p, sizeof(float) * n);
    size_t nd = (size_t)2 * 9 * faith_model_cfg(m)->d_model;
    float l2[2 * FAITH_MAX_CLASSES], *d2 = malloc(sizeof(float) * nd);
    forward_backward(m2, l2, d2);
    assert_memory_equal(logits, l2, sizeof(float) * 2 * faith_model_cfg(m)->n_classes);
    assert_memory_equal(dwe, d2, sizeof(float) * nd);
    free(d2);
    faith_model_free(m2);
}

static void test_params_changed(void **s)
{
    (void)s;
    for (int a = 0; a < 3; a++) {
        faith_model *m = small_model((faith_arch)a, 71);
        size_t n, nd = (size_t)2 * 9 * faith_model_cfg(m)->d_model;
        float *p = faith_model_params(m, &n);
        float l0[2 * FAITH_MAX_CLASSES], l1[2 * FAITH_MAX_CLASSES];
        float *d0 = malloc(sizeof(float) * nd), *d1 = malloc(sizeof(float) * nd);
        int K = faith_model_cfg(m)->n_classes;
        forward_backward(m, l0, d0);
        assert_like_fresh_copy(m, p, n, l0, d0);
        uint64_t serial = faith_model_serial(m);
        for (size_t i = 0; i < faith_model_param_count(m); i++) { /* every encoder matrix of layer 0 */
            const faith_param_view *v = faith_model_param_at(m, i);
            if (v->is_encoder && v->layer == 0 && v->ndim == 2)
                for (int64_t k = 0; k < v->shape[0] * v->shape[1]; k += 3) p[v->offset + (size_t)k] *= -1.5f;
        }
        faith_model_params_changed(m);
        assert_true(faith_model_serial(m) != serial);
        forward_backward(m, l1, d1);
        assert_true(faith_test_max_abs_diff(l0, l1, 2 * K) > 1e-3);
        assert_true(faith_test_max_abs_diff(d0, d1, nd) > 1e-4);
        assert_like_fresh_copy(m, p, n, l1, d1);
        faith_model_randomize_top(m, 1, 9);
        forward_backward(m, l1, d1);
        assert_like_fresh_copy(m, p, n, l1, d1);
        free(d0);
        free(d1);
        faith_model_free(m);
    }
}

static void test_bad_inputs(void **s)
{
    (void)s;
    faith_model *m = small_model(FAITH_ARCH_ROBERTA, 1);
    int32_t ids[25], len = 25;
    for (int i = 0; i < 25; i++) ids[i] = 5;
    faith_batch b = {1, 25, ids, NULL, &len, NULL};
    float lg[3];
    faith_err err = {0};
    /* roberta: 25 tokens need positions up to 26 but max_position_embeddings is 20 */
    assert_int_equal(faith_model_forward(m, &b, 0, lg, &err), FAITH_ERR_RANGE);
    assert_non_null(strstr(err.msg, "max_position_embeddings"));
    len = 4;
    ids[2] = 40;
    assert_int_equal(faith_model_forward(m, &b, 0, lg, &err), FAITH_ERR_RANGE);
    assert_non_null(strstr(err.msg, "token id 40"));
    assert_int_equal(faith_model_backward(m, lg, NULL, &err), FAITH_ERR_ARG);
    /* A logits-only forward of many rows runs in chunks; an error still names the batch's row. */
    enum { R = 300 };
    int32_t *many = malloc(sizeof(int32_t) * R * 4), lens[R];
    float lgs[R * 3];
    for (int i = 0; i < R * 4; i++) many[i] = 5;
    for (int r = 0; r < R; r++) lens[r] = 4;
    many[250 * 4 + 2] = 40;
    faith_batch bm = {R, 4, many, NULL, lens, NULL};
    assert_int_equal(faith_model_forward(m, &bm, 0, lgs, &err), FAITH_ERR_RANGE);
    assert_non_null(strstr(err.msg, "at row 250 position 2"));
    free(many);
    /* finite weights whose products overflow float: an error, not NaN logits */
    size_t np, nv = faith_model_param_count(m);
    float *P = faith_model_params(m, &np);
    for (size_t v = nv - 2; v < nv; v++) {
        const faith_param_view *pv = faith_model_param_at(m, v);
        size_t numel = (size_t)pv->shape[0] * (pv->ndim == 2 ? (size_t)pv->shape[1] : 1);
        for (size_t k = 0; k < numel; k++) P[pv->offset + k] = 3e38f;
    }
    faith_model_params_changed(m);
    ids[2] = 5;
    assert_int_equal(faith_model_forward(m, &b, 0, lg, &err), FAITH_ERR_RANGE);
    assert_non_null(strstr(err.msg, "non-finite logit"));
    faith_model_free(m);
}

static void test_outputs(void **s)
{
    (void)s;
    float lg[3] = {0.5f, -1.0f, 2.0f}, d[3];
    double p[3];
    faith_softmax_row(lg, 3, p);
    double z = exp(0.5) + exp(-1.0) + exp(2.0);
    assert_true(fabs(p[2] - exp(2.0) / z) < 1e-12);
    for (int o = 0; o < 3; o++) {
        /* gradient of each output against central differences in the logits */
        double v = faith_output_value((faith_output)o, lg, 3, 1, d);
        if (o == FAITH_OUT_PROB) assert_true(fabs(v - exp(-1.0) / z) < 1e-9);
        if (o == FAITH_OUT_LOGPROB) assert_true(fabs(v - (-1.0 - log(z))) < 1e-9);
        for (int k = 0; k < 3; k++) {
            float a[3], b2[3];
            memcpy(a, lg, sizeof a);
            memcpy(b2, lg, sizeof b2);
            a[k] += 1e-3f;
            b2[k] -= 1e-3f;
            double fd = (faith_output_value((faith_output)o, a, 3, 1, NULL) -
                         faith_output_value((faith_output)o, b2, 3, 1, NULL)) / ((double)a[k] - b2[k]);
            assert_true(fabs(fd - d[k]) < 1e-5);
        }
        faith_output back;
        assert_int_equal(faith_output_parse(faith_output_name((faith_output)o), &back), 0);
        assert_int_equal((int)back, o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_bert),
        cmocka_unit_test(test_forward_distilbert),
        cmocka_unit_test(test_forward_roberta),
        cmocka_unit_test(test_rows_bitwise_invariant),
        cmocka_unit_test(test_linear_model_formula),
        cmocka_unit_test(test_frozen_encoder_backward),
        cmocka_unit_test(test_embedding_grad_bert),
        cmocka_unit_test(test_embedding_grad_distilbert),
        cmocka_unit_test(test_embedding_grad_roberta),
        cmocka_unit_test(test_attention_grad),
        cmocka_unit_test(test_weight_grads_bert),
        cmocka_unit_test(test_weight_grads_distilbert),
        cmocka_unit_test(test_weight_grads_roberta),
        cmocka_unit_test(test_dropout_grads),
        cmocka_unit_test(test_first_token_layer),
        cmocka_unit_test(test_randomize_top),
        cmocka_unit_test(test_params_changed),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
