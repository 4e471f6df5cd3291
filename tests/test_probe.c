/* test_probe.c: probe features (exact on the linear test model), text-derived labels, and the
 * softmax-regression probe: near-perfect on a linearly encoded property, near the majority rate
 * on shuffled labels, and bit-for-bit repeatable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "rng.h"
#include "testmodel.h"

#define assert_near(a, b, eps)                                                         \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (eps))) {                                               \
            print_error("%.17g != %.17g (eps %g)\n", a_, b_, (double)(eps));          \
            fail();                                                                    \
        }                                                                              \
    } while (0)

static void test_text_labels(void **state)
{
    (void)state;
    assert_int_equal(faith_probe_has_word("This isn't good", NULL, FAITH_PROBE_NEGATIONS,
                                          FAITH_PROBE_N_NEGATIONS), 1);
    assert_int_equal(faith_probe_has_word("\"Not\" bad.", NULL, FAITH_PROBE_NEGATIONS,
                                          FAITH_PROBE_N_NEGATIONS), 1);
    assert_int_equal(faith_probe_has_word("a good movie", "nothing here", FAITH_PROBE_NEGATIONS,
                                          FAITH_PROBE_N_NEGATIONS), 1);
    assert_int_equal(faith_probe_has_word("a good movie", NULL, FAITH_PROBE_NEGATIONS,
                                          FAITH_PROBE_N_NEGATIONS), 0);
    assert_int_equal(faith_probe_has_word("knot notable", NULL, FAITH_PROBE_NEGATIONS,
                                          FAITH_PROBE_N_NEGATIONS), 0);
    const char *list[] = {"great"};
    assert_int_equal(faith_probe_has_word("Great!", NULL, list, 1), 1);
    /* words end at Unicode spaces as they do for rationales and the tokenizer */
    assert_int_equal(faith_probe_has_word("movie was\xc2\xa0great", NULL, list, 1), 1);
    assert_int_equal(faith_probe_has_word("a\xe3\x80\x80" "not\xe3\x80\x80" "bad", NULL, FAITH_PROBE_NEGATIONS,
                                          FAITH_PROBE_N_NEGATIONS), 1);
    assert_int_equal(faith_probe_has_word("\xc2\xa0 \xc2\xa0", NULL, list, 1), 0);

    /* control labels depend only on the first word's type */
    int32_t a = faith_probe_control_label("Movie was fine", 5, 3);
    assert_int_equal(faith_probe_control_label("movie, really", 5, 3), a);
    assert_true(a >= 0 && a < 3);
    int seen[3] = {0};
    const char *w[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"};
    for (int i = 0; i < 12; i++) seen[faith_probe_control_label(w[i], 5, 3)]++;
    assert_true(seen[0] && seen[1] && seen[2]);

    int32_t n[] = {9, 1, 5, 3, 7, 2, 8, 4, 6}, cuts[2];
    faith_probe_length_cuts(n, 9, cuts);
    assert_int_equal(cuts[0], 3);
    assert_int_equal(cuts[1], 6);
    assert_int_equal(faith_probe_length_bin(3, cuts), 0);
    assert_int_equal(faith_probe_length_bin(4, cuts), 1);
    assert_int_equal(faith_probe_length_bin(7, cuts), 2);
}

/* Gaussian features, label = [x3 + 0.5 x7 > 0]: linearly separable. */
static void synth(int64_t n, int32_t D, uint64_t seed, float *x, int32_t *y, int64_t *ids, int shuffled)
{
    faith_rng r;
    faith_rng_init(&r, seed, 0, "synth");
    for (int64_t i = 0; i < n; i++) {
        for (int32_t c = 0; c < D; c++) x[i * D + c] = (float)faith_rng_normal(&r);
        y[i] = x[i * D + 3] + 0.5f * x[i * D + 7] > 0;
        if (shuffled) y[i] = faith_rng_uniform(&r) < 0.6; /* independent of x, majority 60% */
        ids[i] = i;
    }
}

static void test_probe_separable_and_shuffled(void **state)
{
    (void)state;
    enum { NT = 400, NE = 300, D = 10 };
    static float xt[NT * D], xe[NE * D];
    int32_t yt[NT], ye[NE];
    int64_t it[NT], ie[NE];
    faith_probe_opts o = {.seed = 9};
    faith_probe_fit f, f2;
    faith_err err = {0};
    synth(NT, D, 1, xt, yt, it, 0);
    synth(NE, D, 2, xe, ye, ie, 0);
    assert_int_equal(faith_probe_fit_eval(D, 2, D, NT, xt, it, yt, NE, xe, ye, &o, &f, &err), 0);
    assert_true(f.accuracy >= 0.95);
    assert_int_equal(faith_probe_fit_eval(D, 2, D, NT, xt, it, yt, NE, xe, ye, &o, &f2, &err), 0);
    assert_true(f.accuracy == f2.accuracy && f.lambda == f2.lambda);

    synth(NT, D, 3, xt, yt, it, 1);
    synth(NE, D, 4, xe, ye, ie, 1);
    assert_int_equal(faith_probe_fit_eval(D, 2, D, NT, xt, it, yt, NE, xe, ye, &o, &f, &err), 0);
    assert_true(fabs(f.majority - 0.6) < 0.08);
    assert_true(fabs(f.accuracy - f.majority) < 0.08);
}

/* Linear test model: layer-0 hidden state of token v is (v/2, -v/2, 0, ...) exactly (the
 * embedding LayerNorm only centres), so the mean-pooled layer-0 feature 0 is mean(value) / 2. */
#define V 16
#define X_TOKEN 10

static void test_probe_on_model(void **state)
{
    (void)state;
    float value[V] = {0};
    faith_rng r;
    faith_rng_init(&r, 11, 0, "values");
    for (int v = 4; v < V; v++) value[v] = (float)(faith_rng_uniform(&r) - 0.5) * 0.2f;
    value[X_TOKEN] = 8.0f;
    faith_model *m = NULL;
    assert_int_equal(faith_test_linear_model(V, value, 0.0f, 32, &m), 0);
    const faith_model_config *cfg = faith_model_cfg(m);
    int64_t W = faith_probe_feature_width(cfg);
    assert_int_equal(W, (int64_t)(cfg->n_layers + 1) * 2 * cfg->d_model);

    enum { N = 240 };
    static int32_t ids[N][12];
    int32_t len[N], y[N], ys[N], ctrl[N];
    int64_t eid[N];
    const int32_t *rows[N];
    for (int i = 0; i < N; i++) {
        len[i] = 6 + (int32_t)faith_rng_below(&r, 5);
        ids[i][0] = 1;
        for (int t = 1; t < len[i] - 1; t++) {
            int32_t v;
            do v = 4 + (int32_t)faith_rng_below(&r, V - 4);
            while (v == X_TOKEN);
            ids[i][t] = v;
        }
        ids[i][len[i] - 1] = 2;
        y[i] = faith_rng_uniform(&r) < 0.5;
        if (y[i]) ids[i][1 + faith_rng_below(&r, (uint64_t)len[i] - 2)] = X_TOKEN;
        ys[i] = faith_rng_uniform(&r) < 0.65;
        ctrl[i] = (int32_t)faith_rng_below(&r, 2);
        eid[i] = i;
        rows[i] = ids[i];
    }
    float *feats = malloc(sizeof(float) * N * (size_t)W);
    float *feats2 = malloc(sizeof(float) * N * (size_t)W);
    faith_cost cost = {0};
    faith_err err = {0};
    assert_int_equal(faith_probe_features(m, 4096, N, rows, NULL, len, feats, &cost, &err), 0);
    assert_int_equal(faith_probe_features(m, 30, N, rows, NULL, len, feats2, &cost, &err), 0);
    assert_true(faith_test_max_abs_diff(feats, feats2, (size_t)N * (size_t)W) == 0);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int t = 0; t < len[i]; t++) s += value[ids[i][t]];
        float *mean0 = feats + (size_t)i * W + cfg->d_model; /* layer 0, pool "mean" */
        assert_near(mean0[0], 0.5 * s / len[i], 1e-5);
        assert_near(feats[(size_t)i * W + 0], 0.5 * value[1], 1e-6); /* [CLS] alone */
    }
    assert_true(cost.sequences == 2 * N);

    /* train on the first 160 (in id order), evaluate on the rest */
    faith_probe_data tr = {.n = 160, .ids = eid, .feats = feats, .labels = y, .control = ctrl};
    faith_probe_data ev = {.n = N - 160, .ids = eid + 160, .feats = feats + (size_t)160 * W,
                           .labels = y + 160, .control = ctrl + 160};
    faith_probe_opts o = {.seed = 3};
    cJSON *out = NULL;
    assert_int_equal(faith_probe_run(cfg, "wordlist", 2, &tr, &ev, &o, &out, &err), 0);
    cJSON *layers = cJSON_GetObjectItem(out, "layers");
    assert_int_equal(cJSON_GetArraySize(layers), 2 * (cfg->n_layers + 1));
    cJSON *l0mean = cJSON_GetArrayItem(layers, 1);
    assert_string_equal(cJSON_GetObjectItem(l0mean, "pool")->valuestring, "mean");
    double acc = cJSON_GetObjectItem(l0mean, "accuracy")->valuedouble;
    double ctl = cJSON_GetObjectItem(l0mean, "control_accuracy")->valuedouble;
    assert_true(acc >= 0.97);
    assert_near(cJSON_GetObjectItem(l0mean, "selectivity")->valuedouble, acc - ctl, 1e-12);
    assert_true(ctl < 0.75);
    cJSON_Delete(out);

    /* the same features with labels unrelated to them: near the majority rate */
    tr.labels = ys;
    ev.labels = ys + 160;
    assert_int_equal(faith_probe_run(cfg, "label", 2, &tr, &ev, &o, &out, &err), 0);
    l0mean = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "layers"), 1);
    acc = cJSON_GetObjectItem(l0mean, "accuracy")->valuedouble;
    double maj = cJSON_GetObjectItem(l0mean, "majority")->valuedouble;
    assert_true(fabs(acc - maj) < 0.12);
    cJSON_Delete(out);
    free(feats);
    free(feats2);
    faith_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_labels),
        cmocka_unit_test(test_probe_separable_and_shuffled),
        cmocka_unit_test(test_probe_on_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
