/* test_train.c: training: loss-level gradient check of every parameter tensor (three archs), AdamW,
 * schedule and clipping against hand values, bucketing, and tiny end-to-end runs (accuracy, bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "adamw.h"
#include "rng.h"
#include "testmodel.h"
#include "train.h"

/* ---- helpers ---- */

#define CHECK_OK(expr)                                                                   \
    do {                                                                                 \
        int rc_ = (expr);                                                                \
        if (rc_ != FAITH_OK) fail_msg("%s failed (%d): %s", #expr, rc_, err.msg);        \
    } while (0)

static faith_model_config tiny_config(faith_arch arch, int32_t vocab, int32_t d, int32_t layers,
                                      float dropout)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = arch;
    c.n_layers = layers;
    c.n_heads = 2;
    c.d_model = d;
    c.d_ffn = 2 * d;
    c.vocab_size = vocab;
    c.max_pos = 40;
    c.type_vocab_size = arch == FAITH_ARCH_BERT ? 2 : arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.n_classes = arch == FAITH_ARCH_DISTILBERT ? 2 : 3;
    c.pad_token_id = arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.ln_eps = 1e-5f;
    c.hidden_dropout = c.attn_dropout = c.classifier_dropout = dropout;
    for (int k = 0; k < c.n_classes; k++) snprintf(c.labels[k], FAITH_LABEL_MAX, "LABEL_%d", k);
    return c;
}

static double loss_of(faith_model *m, const faith_batch *b, const int32_t *y, unsigned flags)
{
    int32_t K = faith_model_cfg(m)->n_classes;
    float logits[8 * FAITH_MAX_CLASSES];
    faith_err err = {0};
    faith_model_set_dropout_seed(m, 1234); /* the same masks in every forward */
    CHECK_OK(faith_model_forward(m, b, flags, logits, &err));
    double loss = 0, p[FAITH_MAX_CLASSES];
    for (int32_t i = 0; i < b->B; i++) {
        faith_softmax_row(logits + i * K, K, p);
        loss -= log(p[y[i]]);
    }
    return loss / b->B;
}

/* ---- gradient check at the loss level ---- */

/* With dropout, every forward uses the same seed, so the masks are fixed and the loss is a smooth
 * function of the parameters whose gradient backward must give, masks included. */
static void gradcheck_arch(faith_arch arch, float dropout)
{
    unsigned drop = dropout > 0 ? FAITH_FWD_DROPOUT : 0;
    faith_model_config cfg = tiny_config(arch, 13, 8, 2, dropout);
    faith_model *m;
    faith_err err = {0};
    CHECK_OK(faith_model_create_random(&cfg, 11, &m, &err));
    size_t n;
    float *p = faith_model_params(m, &n);
    /* Weights far larger than N(0, 0.02), so every tensor's gradient stands well above the
     * finite-difference noise of a float32 forward. */
    faith_rng r;
    faith_rng_init(&r, 5, 0, "gradcheck");
    for (size_t i = 0; i < n; i++) p[i] += (float)(0.3 * faith_rng_normal(&r));

    enum { B = 3, T = 7 };
    int32_t ids[B * T], types[B * T], len[B] = {5, 7, 4}, y[B] = {0, 1, cfg.n_classes - 1};
    for (int i = 0; i < B * T; i++) {
        ids[i] = 2 + (int32_t)faith_rng_below(&r, 11);
        types[i] = (int32_t)faith_rng_below(&r, (uint64_t)(cfg.type_vocab_size ? cfg.type_vocab_size : 1));
    }
    faith_batch b = {B, T, ids, cfg.type_vocab_size ? types : NULL, len, NULL};

    CHECK_OK(faith_model_enable_grads(m, 1, &err));
    faith_model_zero_grads(m);
    float logits[B * FAITH_MAX_CLASSES], dl[B * FAITH_MAX_CLASSES];
    faith_model_set_dropout_seed(m, 1234);
    CHECK_OK(faith_model_forward(m, &b, FAITH_FWD_KEEP_ACTS | drop, logits, &err));
    int32_t K = cfg.n_classes;
    for (int i = 0; i < B; i++) {
        double pr[FAITH_MAX_CLASSES];
        faith_softmax_row(logits + i * K, K, pr);
        for (int k = 0; k < K; k++) dl[i * K + k] = (float)((pr[k] - (k == y[i])) / B);
    }
    CHECK_OK(faith_model_backward(m, dl, NULL, &err));
    if (drop) /* the masks are really there */
        assert_true(fabs(loss_of(m, &b, y, drop) - loss_of(m, &b, y, 0)) > 1e-4);
    float *g = malloc(sizeof(float) * n);
    memcpy(g, faith_model_grads(m), sizeof(float) * n);
    faith_model_enable_grads(m, 0, NULL);

    const double h = 2e-3;
    size_t nv = faith_model_param_count(m), checked = 0;
    assert_true(nv >= 10);
    for (size_t v = 0; v < nv; v++) {
        const faith_param_view *pv = faith_model_param_at(m, v);
        size_t numel = (size_t)pv->shape[0] * (size_t)(pv->ndim > 1 ? pv->shape[1] : 1);
        double max_fd = 0, max_err = 0;
        for (size_t j = 0; j < numel; j++) {
            float *x = p + pv->offset + j, x0 = *x;
            *x = (float)(x0 + h);
            faith_model_params_changed(m);
            double lp = loss_of(m, &b, y, drop);
            *x = (float)(x0 - h);
            faith_model_params_changed(m);
            double lm = loss_of(m, &b, y, drop);
            *x = x0;
            faith_model_params_changed(m);
            double fd = (lp - lm) / (2 * h), an = g[pv->offset + j];
            if (fabs(fd) > max_fd) max_fd = fabs(fd);
            double e = fabs(fd - an);
            if (e > max_err) max_err = e;
        }
        checked += numel;
        /* Every tensor but the key biases influences the loss of this batch; a zero gradient
         * would be a test that passes by not testing. A key bias adds q.b to every score of a
         * query's row, which softmax ignores: its true gradient is exactly 0. */
        int key_bias = strstr(pv->name, "key.bias") || strstr(pv->name, "k_lin.bias");
        if (key_bias && max_fd > 1e-4) fail_msg("%s: %s: key bias has gradient %g", faith_arch_name(arch),
                                                 pv->name, max_fd);
        if (!key_bias && max_fd < 1e-4) fail_msg("%s: %s: finite-difference gradient is ~0 (%g)",
                                    faith_arch_name(arch), pv->name, max_fd);
        if (max_err > 2e-3 + 2e-2 * max_fd)
            fail_msg("%s: %s: max |analytic - numeric| = %g (max |numeric| %g)", faith_arch_name(arch),
                     pv->name, max_err, max_fd);
    }
    assert_int_equal(checked, n);
    free(g);
    faith_model_free(m);
}

static void test_gradcheck_bert(void **s) { (void)s; gradcheck_arch(FAITH_ARCH_BERT, 0.0f); }
static void test_gradcheck_distilbert(void **s) { (void)s; gradcheck_arch(FAITH_ARCH_DISTILBERT, 0.0f); }
static void test_gradcheck_roberta(void **s) { (void)s; gradcheck_arch(FAITH_ARCH_ROBERTA, 0.0f); }
static void test_gradcheck_with_dropout(void **s)
{
    (void)s;
    gradcheck_arch(FAITH_ARCH_BERT, 0.2f);
    gradcheck_arch(FAITH_ARCH_DISTILBERT, 0.2f);
    gradcheck_arch(FAITH_ARCH_ROBERTA, 0.2f);
}

/* ---- optimizer ---- */

static void test_schedule_values(void **s)
{
    (void)s;
    faith_adamw_config c = {.lr = 1e-3, .total_steps = 100, .warmup_steps = 10};
    assert_float_equal(faith_adamw_lr(&c, 0), 1e-4, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 4), 5e-4, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 9), 1e-3, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 10), 1e-3, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 55), 5e-4, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 99), 1e-3 / 90, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 100), 0.0, 0.0);
    c.warmup_steps = 0;
    assert_float_equal(faith_adamw_lr(&c, 0), 1e-3, 1e-12);
    assert_float_equal(faith_adamw_lr(&c, 50), 5e-4, 1e-12);
}

static void test_adamw_matches_hand_computed_steps(void **s)
{
    (void)s;
    /* Decayed p and its twin without decay, plus an untouched p[2]; values worked by hand:
     * t=1, g=0.5:   p = 1*(1-0.1*0.01) - 0.1 * 0.5/(0.5+1e-8)          = 0.899000002
     * t=2, g=-0.25: m=0.02, v=3.1225e-4, m^=0.105263, v^=0.156203
     *               p = 0.899000002*0.999 - 0.1*0.105263/0.395225      = 0.871467299 */
    /* lr 0.1 at both steps: no warm-up and a schedule so long its decay is below 1e-9 */
    faith_adamw_config c = {0.1, 0.9, 0.999, 1e-8, 0.01, 1000000000, 0};
    float p[3] = {1.0f, 1.0f, 7.0f}, g[3];
    faith_adamw *o = faith_adamw_create(&c, 3);
    faith_adamw_seg segs[2] = {{0, 1, 1}, {1, 1, 0}};
    g[0] = g[1] = 0.5f;
    g[2] = 100.0f;
    faith_adamw_step(o, p, g, segs, 2);
    assert_float_equal(p[0], 0.899000002, 1e-6);
    assert_float_equal(p[1], 0.9, 1e-6); /* no decay: 1 - 0.1 * 1 */
    g[0] = g[1] = -0.25f;
    faith_adamw_step(o, p, g, segs, 2);
    assert_float_equal(p[0], 0.8714672987, 2e-6);
    assert_int_equal(faith_adamw_steps(o), 2);
    assert_true(p[2] == 7.0f); /* outside every segment: untouched */
    faith_adamw_free(o);
}

static void test_clip_scales_to_global_norm(void **s)
{
    (void)s;
    float g[4] = {3.0f, 99.0f, 0.0f, 4.0f};
    faith_adamw_seg segs[2] = {{0, 1, 1}, {2, 2, 1}}; /* g[1] is outside: not counted, not scaled */
    assert_float_equal(faith_adamw_global_norm(g, segs, 2), 5.0, 1e-12);
    assert_float_equal(faith_adamw_clip(g, segs, 2, 10.0), 5.0, 1e-12);
    assert_true(g[0] == 3.0f && g[3] == 4.0f);
    assert_float_equal(faith_adamw_clip(g, segs, 2, 1.0), 5.0, 1e-12);
    assert_float_equal(g[0], 0.6, 1e-6);
    assert_float_equal(g[3], 0.8, 1e-6);
    assert_true(g[1] == 99.0f);
    assert_float_equal(faith_adamw_global_norm(g, segs, 2), 1.0, 1e-6);
}

/* ---- synthetic separable task ---- */

/* Class = which of two signal tokens (4 or 5) a sequence holds, among random filler tokens 6..V-1;
 * [CLS]=2 first and [SEP]=3 last, lengths 4..12. */
static void make_data(faith_train_data *d, int64_t n, uint64_t seed, int32_t V)
{
    faith_rng r;
    faith_rng_init(&r, seed, 0, "synthetic");
    d->n = n;
    d->off = malloc(sizeof(int64_t) * (size_t)n);
    d->len = malloc(sizeof(int32_t) * (size_t)n);
    d->label = malloc(sizeof(int32_t) * (size_t)n);
    d->ids = malloc(sizeof(int32_t) * (size_t)n * 12);
    d->type_ids = calloc((size_t)n * 12, sizeof(int32_t));
    int64_t w = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t len = 4 + (int32_t)faith_rng_below(&r, 9), y = (int32_t)faith_rng_below(&r, 2);
        int32_t at = 1 + (int32_t)faith_rng_below(&r, (uint64_t)(len - 2));
        d->off[i] = w;
        d->len[i] = len;
        d->label[i] = y;
        for (int32_t t = 0; t < len; t++)
            d->ids[w + t] = t == 0 ? 2 : t == len - 1 ? 3 : t == at ? 4 + y
                                                                     : 6 + (int32_t)faith_rng_below(&r, (uint64_t)(V - 6));
        w += len;
    }
}

static void test_bucketing_covers_each_example_once_sorted(void **s)
{
    (void)s;
    faith_train_data d = {0};
    make_data(&d, 1003, 1, 30);
    int64_t *order = malloc(sizeof(int64_t) * 1003), *starts = malloc(sizeof(int64_t) * 70);
    int64_t *order2 = malloc(sizeof(int64_t) * 1003), *starts2 = malloc(sizeof(int64_t) * 70);
    faith_train_epoch_batches(&d, 16, 8, 9, 0, order, starts);
    int nb = (1003 + 15) / 16, short_batches = 0;
    assert_int_equal(starts[0], 0);
    assert_int_equal(starts[nb], 1003);
    char *seen = calloc(1003, 1);
    int64_t padded = 0, tokens = 0;
    for (int b = 0; b < nb; b++) {
        int64_t n = starts[b + 1] - starts[b];
        short_batches += n != 16;
        assert_true(n >= 1 && n <= 16);
        int32_t mx = 0;
        for (int64_t i = starts[b]; i < starts[b + 1]; i++) {
            assert_false(seen[order[i]]);
            seen[order[i]] = 1;
            if (i > starts[b]) assert_true(d.len[order[i]] >= d.len[order[i - 1]]);
            if (d.len[order[i]] > mx) mx = d.len[order[i]];
            tokens += d.len[order[i]];
        }
        padded += mx * n;
    }
    assert_int_equal(short_batches, 1);
    /* random batches of 16 over lengths 4..12 pad ~40%; pooled sorting must do far better */
    assert_true((double)padded / (double)tokens < 1.1);
    faith_train_epoch_batches(&d, 16, 8, 9, 0, order2, starts2);
    assert_memory_equal(order, order2, sizeof(int64_t) * 1003);
    faith_train_epoch_batches(&d, 16, 8, 9, 1, order2, starts2);
    assert_memory_not_equal(order, order2, sizeof(int64_t) * 1003);
    free(seen);
    free(order);
    free(starts);
    free(order2);
    free(starts2);
    faith_train_data_free(&d);
}

static faith_model *demo_model(faith_arch arch, float dropout)
{
    faith_model_config cfg = tiny_config(arch, 24, 16, 1, dropout);
    cfg.n_classes = 2;
    faith_model *m;
    faith_err err = {0};
    CHECK_OK(faith_model_create_random(&cfg, 3, &m, &err));
    return m;
}

static void small_opts(faith_train_opts *o, const char *out)
{
    faith_train_opts_default(o);
    o->epochs = 1;
    o->lr = 3e-3;
    o->warmup = 0.1;
    o->batch = 16;
    o->seed = 7;
    o->quiet = 1;
    o->out_dir = out;
}

static int read_all(const char *path, char **buf, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(*n + 1);
    size_t got = fread(*buf, 1, *n, f);
    fclose(f);
    (*buf)[got] = '\0';
    return got == *n ? 0 : -1;
}

/* Options no training makes sense with are refused before any step, each naming what is wrong;
 * the same options with a valid value do train (so the refusals are not a blanket failure). */
static void test_bad_options_refused(void **s)
{
    (void)s;
    faith_train_data tr = {0}, dev = {0};
    make_data(&tr, 32, 1, 24);
    make_data(&dev, 16, 2, 24);
    char dir[256];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    faith_model *m = demo_model(FAITH_ARCH_BERT, 0.0f);
    const char *want[] = {"weight decay", "clip", "clip", "epochs"};
    for (int k = 0; k < 5; k++) {
        faith_train_opts o;
        small_opts(&o, dir);
        o.epochs = 0.5;
        if (k == 0) o.weight_decay = -1.0;
        if (k == 1) o.clip = -0.5;
        if (k == 2) o.clip = NAN;
        if (k == 3) o.epochs = 0.0;
        faith_train_result res = {0};
        faith_err err = {0};
        int rc = faith_train_run(m, &tr, &dev, &o, &res, &err);
        if (k == 4) {
            CHECK_OK(rc);
        } else {
            assert_int_equal(rc, FAITH_ERR_ARG);
            if (!strstr(err.msg, want[k])) fail_msg("case %d: '%s' does not mention '%s'", k, err.msg, want[k]);
        }
        faith_train_result_free(&res);
    }
    faith_model_free(m);
    faith_train_data_free(&tr);
    faith_train_data_free(&dev);
}

static void test_tiny_run_learns_separable_task(void **s)
{
    (void)s;
    faith_train_data tr = {0}, dev = {0};
    make_data(&tr, 640, 1, 24);
    make_data(&dev, 200, 2, 24);
    char dir[256];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    faith_model *m = demo_model(FAITH_ARCH_BERT, 0.1f);
    faith_train_opts o;
    small_opts(&o, dir);
    o.epochs = 6;
    o.evals_per_epoch = 2;
    faith_train_result res;
    faith_err err = {0};
    CHECK_OK(faith_train_run(m, &tr, &dev, &o, &res, &err));
    assert_int_equal(res.steps, 6 * 40);
    assert_int_equal(res.n_evals, 13);
    /* chance before training (balanced labels), and the task learnt after */
    assert_true(res.evals[0].dev_acc > 0.35 && res.evals[0].dev_acc < 0.65);
    double best = res.evals[res.best].dev_acc;
    if (best <= 0.95) fail_msg("best dev accuracy %.3f, expected > 0.95", best);
    /* the model handed back is the best evaluation's */
    double acc, loss;
    CHECK_OK(faith_train_evaluate(m, &dev, &acc, &loss, &err));
    assert_float_equal(acc, best, 1e-12);

    /* train_log.json records every evaluation and the best */
    char path[512], *text;
    size_t n;
    snprintf(path, sizeof path, "%s/train_log.json", dir);
    assert_int_equal(read_all(path, &text, &n), 0);
    cJSON *log = cJSON_Parse(text);
    assert_non_null(log);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(log, "evals")), 13);
    cJSON *b = cJSON_GetObjectItem(log, "best");
    assert_float_equal(cJSON_GetObjectItem(b, "dev_accuracy")->valuedouble, best, 1e-9);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(log, "finished")));
    cJSON_Delete(log);
    free(text);

    /* the checkpoint on disk is the model handed back */
    faith_model *saved;
    CHECK_OK(faith_model_load(dir, &saved, &err));
    size_t n1, n2;
    float *p1 = faith_model_params(m, &n1), *p2 = faith_model_params(saved, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(p1, p2, sizeof(float) * n1);
    faith_model_free(saved);
    faith_train_result_free(&res);
    faith_model_free(m);
    faith_train_data_free(&tr);
    faith_train_data_free(&dev);
}

/* Train a fresh model into dir with the given seed; returns its model.safetensors bytes. */
static char *train_bytes(faith_arch arch, uint64_t seed, size_t *n, const faith_train_data *tr,
                         const faith_train_data *dev)
{
    char dir[256], path[512];
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    faith_model *m = demo_model(arch, 0.1f);
    faith_train_opts o;
    small_opts(&o, dir);
    o.seed = seed;
    faith_train_result res;
    faith_err err = {0};
    CHECK_OK(faith_train_run(m, tr, dev, &o, &res, &err));
    faith_train_result_free(&res);
    faith_model_free(m);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    char *buf;
    assert_int_equal(read_all(path, &buf, n), 0);
    return buf;
}

static void test_same_seed_same_bytes(void **s)
{
    (void)s;
    faith_train_data tr = {0}, dev = {0};
    make_data(&tr, 160, 1, 24);
    make_data(&dev, 40, 2, 24);
    faith_arch archs[2] = {FAITH_ARCH_BERT, FAITH_ARCH_ROBERTA};
    for (int a = 0; a < 2; a++) {
        size_t n1, n2, n3;
        char *b1 = train_bytes(archs[a], 7, &n1, &tr, &dev), *b2 = train_bytes(archs[a], 7, &n2, &tr, &dev);
        char *b3 = train_bytes(archs[a], 8, &n3, &tr, &dev);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        /* the seed matters (shuffle, dropout), so equality above is not vacuous */
        assert_true(n1 != n3 || memcmp(b1, b3, n1) != 0);
        free(b1);
        free(b2);
        free(b3);
    }
    faith_train_data_free(&tr);
    faith_train_data_free(&dev);
}

static void test_freeze_encoder_changes_head_only(void **s)
{
    (void)s;
    /* Realistic use: a trained encoder gets a fresh head, then only the head is trained (a head on
     * an untrained N(0, 0.02) encoder sees almost no signal and would not learn). */
    faith_train_data tr = {0}, dev = {0};
    make_data(&tr, 320, 1, 24);
    make_data(&dev, 100, 2, 24);
    faith_arch archs[3] = {FAITH_ARCH_BERT, FAITH_ARCH_DISTILBERT, FAITH_ARCH_ROBERTA};
    for (int a = 0; a < 3; a++) {
        faith_model *m = demo_model(archs[a], 0.1f);
        faith_train_opts o;
        small_opts(&o, NULL);
        o.epochs = 4;
        faith_train_result res;
        faith_err err = {0};
        CHECK_OK(faith_train_run(m, &tr, &dev, &o, &res, &err));
        faith_train_result_free(&res);
        faith_model_randomize_top(m, 0, 99);
        size_t n;
        float *p = faith_model_params(m, &n), *before = malloc(sizeof(float) * n);
        memcpy(before, p, sizeof(float) * n);
        o.freeze_encoder = 1;
        o.epochs = 3;
        o.lr = 1e-2;
        CHECK_OK(faith_train_run(m, &tr, &dev, &o, &res, &err));
        int head_changed = 0, n_head = 0;
        for (size_t v = 0; v < faith_model_param_count(m); v++) {
            const faith_param_view *pv = faith_model_param_at(m, v);
            size_t k = (size_t)pv->shape[0] * (size_t)(pv->ndim > 1 ? pv->shape[1] : 1);
            int same = memcmp(p + pv->offset, before + pv->offset, sizeof(float) * k) == 0;
            if (pv->is_encoder) {
                if (!same) fail_msg("%s: encoder tensor %s changed", faith_arch_name(archs[a]), pv->name);
            } else {
                n_head++;
                head_changed += !same;
            }
        }
        assert_true(n_head >= 2);
        /* the head learnt (so the returned model is not the untrained-head one) */
        double best = res.evals[res.best].dev_acc;
        if (best < 0.9) fail_msg("%s: head-only training reached %.3f", faith_arch_name(archs[a]), best);
        assert_true(res.best > 0 && head_changed >= 1);
        faith_train_result_free(&res);
        free(before);
        faith_model_free(m);
    }
    faith_train_data_free(&tr);
    faith_train_data_free(&dev);
}

static void test_lazy_embedding_rows(void **s)
{
    (void)s;
    /* Tokens 20..23 never occur (filler drawn from 6..19): with lazy rows their embeddings stay
     * bit-identical despite weight decay; dense AdamW decays them. */
    faith_train_data tr = {0}, dev = {0};
    make_data(&tr, 160, 1, 20);
    make_data(&dev, 40, 2, 20);
    for (int dense = 0; dense < 2; dense++) {
        faith_model *m = demo_model(FAITH_ARCH_BERT, 0.0f);
        const float *E = faith_model_word_embeddings(m);
        int32_t C = faith_model_cfg(m)->d_model;
        float before[4 * 64];
        memcpy(before, E + 20 * C, sizeof(float) * 4 * (size_t)C);
        float used_before = E[4 * C];
        faith_train_opts o;
        small_opts(&o, NULL);
        o.dense_embeddings = dense;
        o.weight_decay = 0.5;
        o.epochs = 4;
        o.evals_per_epoch = 1;
        faith_train_result res;
        faith_err err = {0};
        CHECK_OK(faith_train_run(m, &tr, &dev, &o, &res, &err));
        assert_true(res.best > 0); /* else the untrained model is handed back */
        int same = memcmp(before, E + 20 * C, sizeof(float) * 4 * (size_t)C) == 0;
        assert_int_equal(same, !dense);
        assert_true(E[4 * C] != used_before); /* a used row moved */
        faith_train_result_free(&res);
        faith_model_free(m);
    }
    faith_train_data_free(&tr);
    faith_train_data_free(&dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_values),
        cmocka_unit_test(test_adamw_matches_hand_computed_steps),
        cmocka_unit_test(test_clip_scales_to_global_norm),
        cmocka_unit_test(test_gradcheck_bert),
        cmocka_unit_test(test_gradcheck_distilbert),
        cmocka_unit_test(test_gradcheck_roberta),
        cmocka_unit_test(test_gradcheck_with_dropout),
        cmocka_unit_test(test_bucketing_covers_each_example_once_sorted),
        cmocka_unit_test(test_tiny_run_learns_separable_task),
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_freeze_encoder_changes_head_only),
        cmocka_unit_test(test_lazy_embedding_rows),
        cmocka_unit_test(test_bad_options_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
