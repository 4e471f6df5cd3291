/* test_explainers_grad.c: the batcher, the explainer registry and shared options, and the gradient
 * and attention explainers against closed forms, finite differences and direct computations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention_math.h"
#include "batcher.h"
#include "rng.h"
#include "explainer.h"
#include "testmodel.h"

#define V 60
#define MAXN 16

/* ---- fixtures ---- */

static float *param(faith_model *m, const char *name, const faith_param_view **view)
{
    size_t np;
    float *p = faith_model_params(m, &np);
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        if (strcmp(v->name, name) == 0) {
            if (view) *view = v;
            return p + v->offset;
        }
    }
    return NULL;
}

/* A small random model whose weight matrices are scaled up from N(0, 0.02) so the output moves
 * visibly with the input (a fresh initialisation is nearly constant). DistilBERT's head has a
 * ReLU whose kinks along the IG path would make the integrand discontinuous (quadrature error
 * O(1/steps)); its units are kept in the linear range by a bias of +8, cancelled in the
 * classifier bias, so the model stays smooth like BERT's and RoBERTa's tanh heads. */
static faith_model *random_model(faith_arch arch, int32_t C, int32_t L, uint64_t seed)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = arch;
    c.n_layers = L;
    c.n_heads = 2;
    c.d_model = C;
    c.d_ffn = 2 * C;
    c.vocab_size = V;
    c.max_pos = 40;
    c.type_vocab_size = arch == FAITH_ARCH_DISTILBERT ? 0 : arch == FAITH_ARCH_ROBERTA ? 1 : 2;
    c.n_classes = 3;
    c.pad_token_id = arch == FAITH_ARCH_ROBERTA ? 1 : 0;
    c.ln_eps = arch == FAITH_ARCH_ROBERTA ? 1e-5f : 1e-12f;
    c.classifier_dropout = -1;
    faith_model *m = NULL;
    faith_err err = {0};
    if (faith_model_create_random(&c, seed, &m, &err) < 0) fail_msg("%s", err.msg);
    size_t np;
    float *p = faith_model_params(m, &np);
    for (size_t i = 0; i < faith_model_param_count(m); i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        if (v->ndim != 2) continue;
        for (int64_t k = 0; k < v->shape[0] * v->shape[1]; k++) p[v->offset + (size_t)k] *= 20.0f;
    }
    if (arch == FAITH_ARCH_DISTILBERT) {
        const faith_param_view *w2v;
        float *b1 = param(m, "pre_classifier.bias", NULL), *w2 = param(m, "classifier.weight", &w2v);
        float *b2 = param(m, "classifier.bias", NULL);
        for (int32_t i = 0; i < C; i++) b1[i] = 8.0f;
        for (int64_t k = 0; k < w2v->shape[0]; k++) {
            double row = 0;
            for (int32_t i = 0; i < C; i++) row += w2[k * C + i];
            b2[k] = (float)(-8.0 * row);
        }
    }
    return m;
}

static faith_special_ids specials(faith_arch arch)
{
    faith_special_ids bert = {0, 1, 2, 3, 4}, roberta = {1, 3, 0, 2, 4};
    return arch == FAITH_ARCH_ROBERTA ? roberta : bert;
}

/* One example: [CLS] w1 .. w_{n-2} [SEP], words one per token except the pair (1, 2). */
typedef struct example {
    int32_t ids[MAXN], word[MAXN];
    uint8_t special[MAXN];
    float logits[FAITH_MAX_CLASSES];
    faith_item it;
} example;

static void make_example(example *x, faith_special_ids sp, int32_t n, uint64_t seed, int32_t target)
{
    memset(x, 0, sizeof *x);
    for (int32_t t = 0; t < n; t++) {
        x->ids[t] = 5 + (int32_t)((seed * 7919u + (uint64_t)t * 104729u) % (V - 5));
        x->word[t] = t == 0 || t == n - 1 ? -1 : t >= 2 ? t - 2 : 0;
    }
    x->ids[0] = sp.cls;
    x->ids[n - 1] = sp.sep;
    x->special[0] = x->special[n - 1] = 1;
    x->it = (faith_item){.id = (int64_t)seed, .n = n, .ids = x->ids, .type_ids = NULL,
                         .special = x->special, .word = x->word, .n_words = n - 3, .label = -1,
                         .target = target, .logits = x->logits, .rationale = NULL};
}

static faith_explainer *make(const char *name, const char *json)
{
    cJSON *p = json ? cJSON_Parse(json) : NULL;
    if (json && !p) fail_msg("bad test json %s", json);
    faith_explainer *e = NULL;
    faith_err err = {0};
    if (faith_explainer_create(name, p, &e, &err) < 0) fail_msg("%s: %s", name, err.msg);
    cJSON_Delete(p);
    return e;
}

static void explain(const faith_explainer *e, faith_model *m, faith_special_ids sp, int64_t budget,
                    const faith_item *it, float *scores, faith_explain_extra *extra, faith_cost *cost)
{
    faith_cost local = {0};
    faith_env env = {m, sp, 1234, budget, e->output, cost ? cost : &local};
    faith_explain_extra ex;
    faith_err err = {0};
    if (faith_explainer_explain(e, &env, it, scores, extra ? extra : &ex, &err) < 0)
        fail_msg("%s", err.msg);
}

/* The model's output for one example with its word embeddings replaced by emb (n, C). */
static double output_at(faith_model *m, const faith_item *it, const float *emb, faith_output o)
{
    float logits[FAITH_MAX_CLASSES];
    faith_batch b = {1, it->n, it->ids, it->type_ids, &it->n, emb};
    faith_err err = {0};
    if (faith_model_forward(m, &b, 0, logits, &err) < 0) fail_msg("%s", err.msg);
    return faith_output_value(o, logits, faith_model_cfg(m)->n_classes, it->target, NULL);
}

static float *lookup(faith_model *m, const faith_item *it)
{
    int32_t C = faith_model_cfg(m)->d_model;
    const float *E = faith_model_word_embeddings(m);
    float *x = malloc((size_t)it->n * C * sizeof(float));
    for (int32_t t = 0; t < it->n; t++) memcpy(x + (size_t)t * C, E + (size_t)it->ids[t] * C, C * sizeof(float));
    return x;
}

/* Scores of one example: the same bits whatever the token budget and thread count (the engine's
 * per-sequence products make a sequence's gradients independent of its batch, test_model.c). */
static void assert_same_scores(const float *a, const float *b, size_t n)
{
    assert_memory_equal(a, b, n * sizeof(float));
}

/* ---- batcher ---- */

static void test_batcher_cuts_by_budget_and_keeps_rows_independent(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 16, 2, 1);
    int32_t a[3] = {2, 10, 3}, b[5] = {2, 11, 12, 13, 3}, c[2] = {2, 3}, d[4] = {2, 14, 15, 3};
    const int32_t *ids[4] = {a, b, c, d};
    int32_t len[4] = {3, 5, 2, 4};
    float together[12], alone[12];
    faith_cost cost = {0};
    faith_err err = {0};
    /* budget 10: {3,5} (2*5=10), then 2 would make 3*5=15; {2,4} (2*4=8) */
    assert_int_equal(faith_run_logits(m, 10, 4, ids, NULL, len, together, &cost, &err), 0);
    assert_int_equal(cost.forward, 2);
    assert_int_equal(cost.sequences, 4);
    assert_int_equal(cost.tokens, 14);
    for (int i = 0; i < 4; i++)
        assert_int_equal(faith_run_logits(m, 1, 1, &ids[i], NULL, &len[i], alone + 3 * i, NULL, &err), 0);
    assert_true(faith_test_max_abs_diff(together, alone, 12) < 1e-5);
    /* gradients: batched vs one at a time, and cost counts backward passes */
    float ga[4][5 * 16], gb[4][5 * 16];
    float *gpa[4] = {ga[0], ga[1], ga[2], ga[3]}, *gpb[4] = {gb[0], gb[1], gb[2], gb[3]};
    double va[4], vb[4];
    faith_cost gc = {0};
    assert_int_equal(faith_run_grads(m, 1000, 4, ids, NULL, len, NULL, 1, FAITH_OUT_PROB, va, gpa,
                                     &gc, &err), 0);
    assert_int_equal(gc.forward, 1);
    assert_int_equal(gc.backward, 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal(faith_run_grads(m, 1, 1, &ids[i], NULL, &len[i], NULL, 1, FAITH_OUT_PROB,
                                         &vb[i], &gpb[i], NULL, &err), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(faith_test_max_abs_diff(ga[i], gb[i], (size_t)len[i] * 16) < 1e-5);
        assert_true(fabs(va[i] - vb[i]) < 1e-6);
        /* the value is the softmax of the logits computed above */
        double p[3];
        faith_softmax_row(together + 3 * i, 3, p);
        assert_true(fabs(va[i] - p[1]) < 1e-6);
    }
    /* out-of-range id is an error naming the sequence, not a crash */
    int32_t bad[2] = {2, V + 5}, blen = 2;
    const int32_t *bp = bad;
    assert_int_equal(faith_run_logits(m, 100, 1, &bp, NULL, &blen, together, NULL, &err), FAITH_ERR_RANGE);
    faith_model_free(m);
}

/* ---- registry and shared options ---- */

static void test_registry_names_and_errors(void **state)
{
    (void)state;
    size_t n = faith_explainer_count();
    assert_true(n >= 7);
    for (size_t i = 0; i < n; i++) {
        const faith_explainer_ops *o = faith_explainer_at(i);
        assert_non_null(o->explain);
        assert_ptr_equal(faith_explainer_find(o->name), o);
        /* every explainer, with or without its own create, refuses a key it does not know */
        cJSON *bad = cJSON_Parse("{\"no_such_key\": 1}");
        faith_explainer *be = NULL;
        faith_err berr = {0};
        assert_int_equal(faith_explainer_create(o->name, bad, &be, &berr), FAITH_ERR_ARG);
        assert_null(be);
        assert_non_null(strstr(berr.msg, "no_such_key"));
        cJSON_Delete(bad);
        for (size_t j = i + 1; j < n; j++) assert_string_not_equal(o->name, faith_explainer_at(j)->name);
    }
    const char *grad[] = {"saliency", "grad_x_input", "integrated_gradients", "smoothgrad", "attention",
                          "attention_rollout", "attention_x_gradient"};
    for (int i = 0; i < 7; i++) assert_non_null(faith_explainer_find(grad[i]));
    faith_explainer *e = NULL;
    faith_err err = {0};
    assert_int_equal(faith_explainer_create("saliancy", NULL, &e, &err), FAITH_ERR_ARG);
    assert_null(e);
    assert_non_null(strstr(err.msg, "did you mean 'saliency'"));
    for (size_t i = 0; i < n; i++) assert_non_null(strstr(err.msg, faith_explainer_at(i)->name));
    cJSON *p = cJSON_Parse("{\"nrom\":\"l1\"}");
    assert_int_equal(faith_explainer_create("saliency", p, &e, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "explainers.saliency.params.nrom: unknown parameter (did you mean 'norm'?)"));
    cJSON_Delete(p);
    p = cJSON_Parse("{\"steps\":\"many\"}");
    assert_int_equal(faith_explainer_create("integrated_gradients", p, &e, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "explainers.integrated_gradients.params.steps: expected an integer"));
    cJSON_Delete(p);
    p = cJSON_Parse("{\"output\":\"probability\"}");
    assert_int_equal(faith_explainer_create("saliency", p, &e, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "params.output"));
    cJSON_Delete(p);
    p = cJSON_Parse("{\"multiply\":1}");
    assert_int_equal(faith_explainer_create("smoothgrad", p, &e, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "multiply: expected true or false"));
    cJSON_Delete(p);
    const char *list[] = {"steps", "method", "baseline"};
    assert_string_equal(faith_closest_name("step", list, 3), "steps");
    assert_string_equal(faith_closest_name("methdo", list, 3), "method");
    assert_null(faith_closest_name("zzzzzzzzzz", list, 3));
}

/* Weights whose forward stays finite (LayerNorm rescales) but whose gradients overflow float: the
 * explainer fails naming itself and the token, rather than returning NaN scores. */
static void test_non_finite_scores_are_errors(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 16, 1, 5);
    const faith_param_view *v;
    float *w = param(m, "bert.encoder.layer.0.attention.output.dense.weight", &v);
    assert_non_null(w);
    for (int64_t i = 0; i < v->shape[0] * v->shape[1]; i++) w[i] = i % 2 ? 1e30f : -1e30f;
    faith_model_params_changed(m);
    faith_special_ids sp = specials(FAITH_ARCH_BERT);
    example x;
    make_example(&x, sp, 7, 3, 0);
    int32_t len = 7;
    faith_batch b = {1, 7, x.ids, NULL, &len, NULL};
    faith_err err = {0};
    assert_int_equal(faith_model_forward(m, &b, 0, x.logits, &err), 0); /* the forward is finite */
    /* also where a max, a positive part or special=zero could have hidden the NaN */
    static const char *const cases[][2] = {{"saliency", NULL}, {"saliency", "{\"norm\":\"max\"}"},
                                           {"attention_x_gradient", NULL}, {"grad_x_input", "{\"special\":\"zero\"}"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        faith_explainer *e = make(cases[k][0], cases[k][1]);
        float scores[7];
        faith_cost cost = {0};
        faith_env env = {m, sp, 1, 0, e->output, &cost};
        int rc = faith_explainer_explain(e, &env, &x.it, scores, NULL, &err);
        if (rc != FAITH_ERR_RANGE || !strstr(err.msg, "score is not finite") || !strstr(err.msg, cases[k][0]))
            fail_msg("%s %s: rc %d, '%s'", cases[k][0], cases[k][1] ? cases[k][1] : "", rc, err.msg);
        faith_explainer_free(e);
    }
    /* word sums of finite scores can still overflow float */
    float big[3] = {3e38f, 3e38f, 1.0f}, ws[2];
    int32_t wid[3] = {0, 0, 1};
    assert_int_equal(faith_aggregate_words(FAITH_AGG_SUM, big, wid, 3, 2, ws, &err), FAITH_ERR_RANGE);
    assert_non_null(strstr(err.msg, "word 0's score"));
    assert_int_equal(faith_aggregate_words(FAITH_AGG_MEAN, big, wid, 3, 2, ws, &err), 0);
    faith_model_free(m);
}

static void test_shared_options_and_target(void **state)
{
    (void)state;
    faith_explainer *e = make("integrated_gradients", "{\"target\":\"gold\",\"output\":\"logit\","
                              "\"aggregate\":\"max\",\"special\":\"zero\",\"steps\":10}");
    assert_int_equal(e->target.kind, FAITH_TARGET_GOLD);
    assert_int_equal(e->output, FAITH_OUT_LOGIT);
    assert_int_equal(e->aggregate, FAITH_AGG_MAX);
    assert_int_equal(e->zero_special, 1);
    cJSON *j = faith_explainer_params_json(e);
    assert_int_equal(cJSON_GetObjectItem(j, "steps")->valueint, 10);
    assert_string_equal(cJSON_GetObjectItem(j, "target")->valuestring, "gold");
    assert_string_equal(cJSON_GetObjectItem(j, "output")->valuestring, "logit");
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "gausslegendre");
    cJSON_Delete(j);
    int32_t t = -1;
    faith_err err = {0};
    assert_int_equal(faith_explainer_target(e, 0, -1, 3, &t, &err), FAITH_ERR_ARG);
    assert_int_equal(faith_explainer_target(e, 0, 2, 3, &t, &err), 0);
    assert_int_equal(t, 2);
    faith_explainer_free(e);
    e = make("saliency", "{\"target\":1}");
    assert_int_equal(faith_explainer_target(e, 0, 2, 3, &t, &err), 0);
    assert_int_equal(t, 1);
    assert_int_equal(faith_explainer_target(e, 0, 2, 1, &t, &err), FAITH_ERR_ARG);
    assert_int_equal(e->output, FAITH_OUT_PROB);
    assert_int_equal(e->aggregate, FAITH_AGG_SUM);
    assert_int_equal(e->zero_special, 0);
    faith_explainer_free(e);
    e = make("saliency", NULL);
    assert_int_equal(faith_explainer_target(e, 2, 0, 3, &t, &err), 0);
    assert_int_equal(t, 2);
    faith_explainer_free(e);
}

static void test_word_aggregation(void **state)
{
    (void)state;
    const float s[6] = {9, 1, 2, -3, 4, 7};
    const int32_t w[6] = {-1, 0, 0, 1, 1, -1};
    float out[3];
    const float sum[3] = {3, 1, 0}, mean[3] = {1.5f, 0.5f, 0}, mx[3] = {2, 4, 0}, first[3] = {1, -3, 0};
    assert_int_equal(faith_aggregate_words(FAITH_AGG_SUM, s, w, 6, 3, out, NULL), 0);
    assert_memory_equal(out, sum, sizeof out);
    assert_int_equal(faith_aggregate_words(FAITH_AGG_MEAN, s, w, 6, 3, out, NULL), 0);
    assert_memory_equal(out, mean, sizeof out);
    assert_int_equal(faith_aggregate_words(FAITH_AGG_MAX, s, w, 6, 3, out, NULL), 0);
    assert_memory_equal(out, mx, sizeof out);
    assert_int_equal(faith_aggregate_words(FAITH_AGG_FIRST, s, w, 6, 3, out, NULL), 0);
    assert_memory_equal(out, first, sizeof out);
}

/* ---- gradient explainers on the linear test model (closed form) ---- */

static void test_linear_model_closed_forms(void **state)
{
    (void)state;
    float value[20];
    for (int v = 0; v < 20; v++) value[v] = (float)(0.37 * ((v * 7) % 11) - 1.5);
    faith_model *m = NULL;
    assert_int_equal(faith_test_linear_model(20, value, 0.3f, 32, &m), 0);
    faith_special_ids sp = {0, 1, 2, 3, 4};
    example x;
    make_example(&x, sp, 7, 3, 1);
    for (int t = 0; t < 7; t++) x.ids[t] = 5 + (t * 3) % 15;
    memset(x.special, 0, sizeof x.special); /* the linear model has no specials: every token counts */
    float gxi[7], ig[7];
    faith_explainer *e = make("grad_x_input", "{\"output\":\"logit\"}");
    explain(e, m, sp, 0, &x.it, gxi, NULL, NULL);
    faith_explainer_free(e);
    /* d logit1 / d e_t = u / n, so grad x input = dot(u, E[id]) / n = value[id] / n */
    for (int t = 0; t < 7; t++) assert_true(fabs(gxi[t] - value[x.ids[t]] / 7.0) < 1e-5);
    const char *methods[] = {"gausslegendre", "riemann_left", "riemann_right", "riemann_middle",
                             "riemann_trapezoid"};
    for (int k = 0; k < 5; k++)
        for (int steps = 4; steps <= 64; steps *= 4) {
            char js[160];
            snprintf(js, sizeof js, "{\"output\":\"logit\",\"baseline\":\"zero\",\"method\":\"%s\","
                     "\"steps\":%d}", methods[k], steps);
            e = make("integrated_gradients", js);
            faith_explain_extra ex;
            explain(e, m, sp, 0, &x.it, ig, &ex, NULL);
            faith_explainer_free(e);
            assert_true(faith_test_max_abs_diff(ig, gxi, 7) < 1e-5);
            assert_true(ex.completeness_gap < 1e-5);
        }
    faith_model_free(m);
}

/* ---- integrated gradients: completeness and convergence on random transformers ---- */

static void test_ig_completeness_random_models(void **state)
{
    (void)state;
    const faith_arch archs[3] = {FAITH_ARCH_BERT, FAITH_ARCH_DISTILBERT, FAITH_ARCH_ROBERTA};
    const char *outs[2] = {"prob", "logit"};
    for (int a = 0; a < 3; a++) {
        faith_model *m = random_model(archs[a], 16, 2, 10 + (uint64_t)a);
        faith_special_ids sp = specials(archs[a]);
        example x;
        make_example(&x, sp, 8, 5 + (uint64_t)a, 1);
        int32_t C = 16, n = 8;
        for (int o = 0; o < 2; o++) {
            char js[128];
            snprintf(js, sizeof js, "{\"output\":\"%s\",\"steps\":300}", outs[o]);
            faith_explainer *e = make("integrated_gradients", js);
            float scores[8];
            faith_explain_extra ex;
            explain(e, m, sp, 0, &x.it, scores, &ex, NULL);
            /* delta_f against two direct forwards: the input and the [PAD] baseline */
            float *emb = lookup(m, &x.it);
            double fx = output_at(m, &x.it, emb, e->output);
            const float *pad = faith_model_word_embeddings(m) + (size_t)sp.pad * C;
            for (int t = 1; t < n - 1; t++) memcpy(emb + (size_t)t * C, pad, C * sizeof(float));
            double fb = output_at(m, &x.it, emb, e->output);
            free(emb);
            double sum = 0;
            for (int t = 0; t < n; t++) sum += scores[t];
            assert_true(fabs(ex.delta_f - (fx - fb)) < 1e-5 * (fabs(fx) + fabs(fb) + 1e-3));
            assert_true(fabs(ex.delta_f) > 1e-2); /* the check below must not be vacuous */
            assert_true(ex.completeness_gap < 1e-3 * fabs(ex.delta_f));
            assert_true(fabs(ex.completeness_gap - fabs(sum - ex.delta_f)) < 1e-5 * fabs(ex.delta_f));
            assert_true(scores[0] == 0.0f && scores[n - 1] == 0.0f); /* specials keep x' = x */
            faith_explainer_free(e);
        }
        faith_model_free(m);
    }
}

static void test_ig_riemann_converges_to_gauss_legendre(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 16, 2, 21);
    faith_special_ids sp = specials(FAITH_ARCH_BERT);
    example x;
    make_example(&x, sp, 7, 9, 2);
    float ref[7], s[7];
    faith_explainer *e = make("integrated_gradients", "{\"output\":\"logit\",\"steps\":300}");
    explain(e, m, sp, 0, &x.it, ref, NULL, NULL);
    faith_explainer_free(e);
    const char *methods[] = {"riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid"};
    for (int k = 0; k < 4; k++) {
        double errs[3];
        int steps[3] = {4, 16, 64};
        for (int i = 0; i < 3; i++) {
            char js[128];
            snprintf(js, sizeof js, "{\"output\":\"logit\",\"method\":\"%s\",\"steps\":%d}", methods[k],
                     steps[i]);
            e = make("integrated_gradients", js);
            explain(e, m, sp, 0, &x.it, s, NULL, NULL);
            faith_explainer_free(e);
            errs[i] = faith_test_max_abs_diff(s, ref, 7);
        }
        assert_true(errs[1] < errs[0] && errs[2] < errs[1]);
        assert_true(errs[2] < 0.25 * errs[0]);
    }
    faith_model_free(m);
}

/* ---- gradient explainers against finite differences ---- */

/* Central difference of the output along direction dir (C) added to token t's word embedding. */
static double fd_along(faith_model *m, const faith_item *it, faith_output o, int32_t t, const double *dir,
                       double h)
{
    int32_t C = faith_model_cfg(m)->d_model;
    float *emb = lookup(m, it);
    float *row = emb + (size_t)t * C;
    float base[256];
    memcpy(base, row, C * sizeof(float));
    for (int32_t c = 0; c < C; c++) row[c] = (float)(base[c] + h * dir[c]);
    double up = output_at(m, it, emb, o);
    for (int32_t c = 0; c < C; c++) row[c] = (float)(base[c] - h * dir[c]);
    double down = output_at(m, it, emb, o);
    free(emb);
    return (up - down) / (2 * h);
}

static void test_gradients_match_finite_differences(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 16, 2, 31);
    faith_special_ids sp = specials(FAITH_ARCH_BERT);
    example x;
    make_example(&x, sp, 6, 13, 0);
    const int32_t n = 6, C = 16;
    const char *outs[2] = {"prob", "logit"};
    for (int o = 0; o < 2; o++) {
        char js[64];
        snprintf(js, sizeof js, "{\"output\":\"%s\"}", outs[o]);
        faith_explainer *gxi = make("grad_x_input", js);
        faith_output out = gxi->output;
        float s_gxi[6], s_l2[6], s_l1[6], s_max[6];
        explain(gxi, m, sp, 0, &x.it, s_gxi, NULL, NULL);
        faith_explainer_free(gxi);
        const char *norms[3] = {"l2", "l1", "max"};
        float *dst[3] = {s_l2, s_l1, s_max};
        for (int k = 0; k < 3; k++) {
            snprintf(js, sizeof js, "{\"output\":\"%s\",\"norm\":\"%s\"}", outs[o], norms[k]);
            faith_explainer *e = make("saliency", js);
            explain(e, m, sp, 0, &x.it, dst[k], NULL, NULL);
            faith_explainer_free(e);
        }
        /* The gradient itself, to pick the directions whose derivative is each norm. */
        float *g = malloc((size_t)n * C * sizeof(float));
        double v;
        faith_err err = {0};
        const int32_t *ip = x.it.ids;
        assert_int_equal(faith_run_grads(m, 0, 1, &ip, NULL, &n, NULL, 0, out, &v, &g, NULL, &err), 0);
        float *emb = lookup(m, &x.it);
        for (int32_t t = 0; t < n; t++) {
            double dir[3][16], l2 = 0, mx = 0;
            int arg = 0;
            const float *gt = g + (size_t)t * C;
            for (int c = 0; c < C; c++) l2 += (double)gt[c] * gt[c];
            l2 = sqrt(l2);
            for (int c = 0; c < C; c++) {
                dir[0][c] = gt[c] / l2;                       /* derivative = |g|_2 */
                dir[1][c] = gt[c] > 0 ? 1 : gt[c] < 0 ? -1 : 0; /* derivative = |g|_1 */
                dir[2][c] = 0;
                if (fabs(gt[c]) > mx) {
                    mx = fabs(gt[c]);
                    arg = c;
                }
            }
            dir[2][arg] = gt[arg] > 0 ? 1 : -1;               /* derivative = |g|_max */
            double edir[16];
            for (int c = 0; c < C; c++) edir[c] = emb[(size_t)t * C + c]; /* derivative = g . e */
            double h = 1e-2;
            double fd_gxi = fd_along(m, &x.it, out, t, edir, 2e-3);
            double fd_l2 = fd_along(m, &x.it, out, t, dir[0], h);
            double fd_l1 = fd_along(m, &x.it, out, t, dir[1], h / 4);
            double fd_max = fd_along(m, &x.it, out, t, dir[2], h);
            /* float32 forwards: about 1e-4 absolute noise in a difference quotient of scale |g|_1 */
            double noise = 5e-4 * fabs(s_l1[t]) + 1e-6;
            assert_true(fabs(fd_gxi - s_gxi[t]) < 5e-3 * fabs(s_gxi[t]) + noise);
            assert_true(fabs(fd_l2 - s_l2[t]) < 5e-3 * fabs(s_l2[t]) + noise);
            assert_true(fabs(fd_l1 - s_l1[t]) < 5e-3 * fabs(s_l1[t]) + noise);
            assert_true(fabs(fd_max - s_max[t]) < 5e-3 * fabs(s_max[t]) + noise);
        }
        free(emb);
        free(g);
    }
    faith_model_free(m);
}

/* smoothgrad without noise is saliency (L2) and, with multiply, grad x input, bit for bit. */
static void test_smoothgrad_limits_and_noise(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_ROBERTA, 16, 2, 41);
    faith_special_ids sp = specials(FAITH_ARCH_ROBERTA);
    example x;
    make_example(&x, sp, 7, 17, 1);
    float sal[7], gxi[7], sg[7], sgm[7], noisy[7], noisy2[7], other_seed[7];
    faith_explainer *e = make("saliency", NULL);
    explain(e, m, sp, 0, &x.it, sal, NULL, NULL);
    faith_explainer_free(e);
    e = make("grad_x_input", NULL);
    explain(e, m, sp, 0, &x.it, gxi, NULL, NULL);
    faith_explainer_free(e);
    e = make("smoothgrad", "{\"stdev\":0,\"samples\":4}");
    explain(e, m, sp, 0, &x.it, sg, NULL, NULL);
    faith_explainer_free(e);
    e = make("smoothgrad", "{\"stdev\":0,\"samples\":4,\"multiply\":true}");
    explain(e, m, sp, 0, &x.it, sgm, NULL, NULL);
    faith_explainer_free(e);
    assert_same_scores(sg, sal, 7); /* 4 identical rows in one batch vs 1 row */
    assert_same_scores(sgm, gxi, 7);
    e = make("smoothgrad", "{\"samples\":8}");
    faith_cost cost = {0};
    explain(e, m, sp, 0, &x.it, noisy, NULL, &cost);
    assert_int_equal(cost.sequences, 8);
    explain(e, m, sp, 3, &x.it, noisy2, NULL, NULL); /* token budget 3: one sample per batch */
    assert_same_scores(noisy, noisy2, 7);
    assert_true(faith_test_max_abs_diff(noisy, sal, 7) > 1e-6); /* noise did change the gradients */
    faith_item other = x.it;
    other.id += 1; /* another example id draws other noise */
    explain(e, m, sp, 0, &other, other_seed, NULL, NULL);
    assert_true(faith_test_max_abs_diff(noisy, other_seed, 7) > 1e-6);
    faith_explainer_free(e);
    /* The documented recipe by hand: sigma = stdev * (max - min) of the example's embedding values,
     * N(0, sigma^2) on non-special tokens from the (seed, id, "smoothgrad") stream, drawn in
     * (sample, token, dim) order; L2 norm of the mean gradient. */
    const int32_t n = 7, C = 16, S = 8;
    float *emb = lookup(m, &x.it), *noisy_emb = malloc((size_t)n * C * sizeof(float));
    float *g = malloc((size_t)n * C * sizeof(float));
    double lo = INFINITY, hi = -INFINITY, mean[7 * 16] = {0}, v;
    for (int i = 0; i < n * C; i++) lo = fmin(lo, emb[i]), hi = fmax(hi, emb[i]);
    faith_rng rng;
    faith_rng_init(&rng, 1234, x.it.id, "smoothgrad");
    faith_err err = {0};
    for (int k = 0; k < S; k++) {
        for (int t = 0; t < n; t++)
            for (int c = 0; c < C; c++)
                noisy_emb[t * C + c] = x.special[t] ? emb[t * C + c] :
                    (float)(emb[t * C + c] + 0.15 * (hi - lo) * faith_rng_normal(&rng));
        const int32_t *ip = x.ids;
        const float *ep = noisy_emb;
        assert_int_equal(faith_run_grads(m, 0, 1, &ip, NULL, &n, &ep, 1, FAITH_OUT_PROB, &v, &g, NULL,
                                         &err), 0);
        for (int i = 0; i < n * C; i++) mean[i] += g[i] / S;
    }
    for (int t = 0; t < n; t++) {
        double norm = 0;
        for (int c = 0; c < C; c++) norm += mean[t * C + c] * mean[t * C + c];
        assert_true(fabs(sqrt(norm) - noisy[t]) < 1e-5 * (noisy[t] + 1e-3));
    }
    free(emb);
    free(noisy_emb);
    free(g);
    faith_model_free(m);
}

/* ---- attention explainers ---- */

static void test_attention_math_by_hand(void **state)
{
    (void)state;
    /* Ahat1 = [[.8,.2],[.1,.9]], Ahat2 = [[.75,.25],[.15,.85]]; R = Ahat2 Ahat1 */
    const double A[8] = {0.6, 0.4, 0.2, 0.8, 0.5, 0.5, 0.3, 0.7};
    double R[4];
    faith_attn_rollout(A, 2, 2, R);
    const double want[4] = {0.625, 0.375, 0.12 + 0.085, 0.03 + 0.765};
    for (int i = 0; i < 4; i++) assert_true(fabs(R[i] - want[i]) < 1e-12);
    /* rows are renormalised: a row summing to 0.5 is scaled back to 1 */
    const double B[4] = {0.25, 0.25, 0.0, 1.0};
    faith_attn_rollout(B, 1, 2, R);
    assert_true(fabs(R[0] - 0.625 / 0.75) < 1e-12 && fabs(R[1] - 0.125 / 0.75) < 1e-12);
    /* relevance: R = I + A1; R = R + A2 R */
    const double Ab[8] = {0.1, 0.2, 0.0, 0.3, 0.5, 0.0, 0.4, 0.1};
    faith_attn_relevance(Ab, 2, 2, R);
    /* R1 = [[1.1,.2],[0,1.3]]; A2 R1 = [[.55,.1],[.44,.21]] */
    const double wr[4] = {1.65, 0.3, 0.44, 1.51};
    for (int i = 0; i < 4; i++) assert_true(fabs(R[i] - wr[i]) < 1e-12);
    /* grad-weighted head mean keeps only positive products */
    const float at[8] = {0.5f, 0.5f, 1, 0, 0.2f, 0.8f, 0.4f, 0.6f};
    const float gr[8] = {2, -1, 3, 5, -1, 1, 0.5f, 1};
    double o[4];
    faith_attn_grad_weighted(at, gr, 2, 2, o);
    const double wo[4] = {0.5, 0.4, 1.6, 0.3};
    for (int i = 0; i < 4; i++) assert_true(fabs(o[i] - wo[i]) < 1e-6);
}

static void test_attention_rollout_two_tokens(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 16, 2, 51);
    faith_special_ids sp = specials(FAITH_ARCH_BERT);
    int32_t ids[2] = {sp.cls, 17}, n = 2;
    uint8_t special[2] = {1, 0};
    int32_t word[2] = {-1, 0};
    faith_item it = {.id = 0, .n = 2, .ids = ids, .special = special, .word = word, .n_words = 1,
                     .label = -1, .target = 0};
    float scores[2], raw[2], rawh[2];
    faith_explainer *e = make("attention_rollout", NULL);
    explain(e, m, sp, 0, &it, scores, NULL, NULL);
    faith_explainer_free(e);
    e = make("attention", "{\"layer\":0}");
    explain(e, m, sp, 0, &it, raw, NULL, NULL);
    faith_explainer_free(e);
    e = make("attention", "{\"layer\":-2,\"heads\":[1]}");
    explain(e, m, sp, 0, &it, rawh, NULL, NULL);
    faith_explainer_free(e);
    float logits[3];
    faith_batch b = {1, 2, ids, NULL, &n, NULL};
    faith_err err = {0};
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_ATTN, logits, &err), 0);
    double a[2][2][2]; /* layer, row, col: mean of the 2 heads, then 0.5 A + 0.5 I */
    for (int l = 0; l < 2; l++) {
        const float *p = faith_model_attention(m, l);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++) {
                double mean = 0.5 * ((double)p[i * 2 + j] + p[4 + i * 2 + j]);
                a[l][i][j] = 0.5 * mean + (i == j ? 0.5 : 0.0);
                if (l == 0 && i == 0) assert_true(fabs(raw[j] - mean) < 1e-6);
                if (l == 0 && i == 0) assert_true(fabs(rawh[j] - p[4 + j]) < 1e-6);
            }
    }
    /* row 0 of a[1] a[0] */
    double r0 = a[1][0][0] * a[0][0][0] + a[1][0][1] * a[0][1][0];
    double r1 = a[1][0][0] * a[0][0][1] + a[1][0][1] * a[0][1][1];
    assert_true(fabs(scores[0] - r0) < 1e-6 && fabs(scores[1] - r1) < 1e-6);
    assert_true(fabs(r0 + r1 - 1.0) < 1e-6);
    faith_model_free(m);
}

static void test_attention_x_gradient_direct(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_DISTILBERT, 16, 3, 61);
    faith_special_ids sp = specials(FAITH_ARCH_DISTILBERT);
    example x;
    make_example(&x, sp, 5, 23, 2);
    const int32_t n = 5, NH = 2, L = 3;
    float scores[5];
    faith_explainer *e = make("attention_x_gradient", "{\"output\":\"logit\"}");
    faith_cost cost = {0};
    explain(e, m, sp, 0, &x.it, scores, NULL, &cost);
    faith_explainer_free(e);
    assert_int_equal(cost.forward, 1);
    assert_int_equal(cost.backward, 1);
    float logits[3], dl[3];
    faith_batch b = {1, n, x.ids, NULL, &n, NULL};
    faith_err err = {0};
    assert_int_equal(faith_model_forward(m, &b, FAITH_FWD_ATTN | FAITH_FWD_KEEP_ACTS, logits, &err), 0);
    faith_output_value(FAITH_OUT_LOGIT, logits, 3, 2, dl);
    assert_int_equal(faith_model_backward(m, dl, NULL, &err), 0);
    double R[5][5], Ab[5][5], T2[5][5];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) R[i][j] = i == j;
    for (int l = 0; l < L; l++) {
        const float *A = faith_model_attention(m, l), *G = faith_model_attention_grad(m, l);
        assert_non_null(G);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int h = 0; h < NH; h++) {
                    double v = (double)A[(h * n + i) * n + j] * G[(h * n + i) * n + j];
                    s += v > 0 ? v : 0;
                }
                Ab[i][j] = s / NH;
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                T2[i][j] = R[i][j];
                for (int k = 0; k < n; k++) T2[i][j] += Ab[i][k] * R[k][j];
            }
        memcpy(R, T2, sizeof R);
    }
    for (int j = 0; j < n; j++) assert_true(fabs(scores[j] - R[0][j]) < 1e-6 * fmax(1, fabs(R[0][j])));
    assert_true(scores[0] >= 1.0f); /* the first token's self term stays */
    faith_model_free(m);
}

/* ---- determinism and cost ---- */

static void run_all(faith_model *m, faith_special_ids sp, const faith_item *it, int64_t budget,
                    float out[][MAXN])
{
    const char *names[] = {"saliency", "grad_x_input", "integrated_gradients", "smoothgrad",
                           "attention_x_gradient"};
    const char *params[] = {NULL, NULL, "{\"steps\":20}", "{\"samples\":6}", NULL};
    for (int k = 0; k < 5; k++) {
        faith_explainer *e = make(names[k], params[k]);
        explain(e, m, sp, budget, it, out[k], NULL, NULL);
        faith_explainer_free(e);
    }
}

static void test_determinism_across_budgets_and_threads(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 64, 2, 71);
    faith_special_ids sp = specials(FAITH_ARCH_BERT);
    example x;
    make_example(&x, sp, 12, 29, 1);
    float a[5][MAXN], b[5][MAXN], c[5][MAXN], d[5][MAXN];
    int threads = faith_get_threads();
    faith_set_threads(1);
    run_all(m, sp, &x.it, 12, a);      /* one sequence per batch */
    run_all(m, sp, &x.it, 1 << 20, b); /* everything in one batch */
    faith_set_threads(2);
    run_all(m, sp, &x.it, 1 << 20, c);
    faith_set_threads(1);
    run_all(m, sp, &x.it, 12, d); /* a second run, same budget and threads: always the same bits */
    faith_set_threads(threads);
    for (int k = 0; k < 5; k++) {
        assert_memory_equal(a[k], d[k], 12 * sizeof(float));
        assert_same_scores(a[k], b[k], 12);
        assert_same_scores(a[k], c[k], 12);
    }
    faith_model_free(m);
}

static void test_ig_cost_and_internal_batch(void **state)
{
    (void)state;
    faith_model *m = random_model(FAITH_ARCH_BERT, 16, 2, 81);
    faith_special_ids sp = specials(FAITH_ARCH_BERT);
    example x;
    make_example(&x, sp, 6, 31, 0);
    faith_explainer *e = make("integrated_gradients", "{\"steps\":10,\"internal_batch\":4,"
                              "\"baseline\":\"mask\"}");
    faith_cost cost = {0};
    float s1[6], s2[6];
    explain(e, m, sp, 0, &x.it, s1, NULL, &cost);
    /* 10 points + input + baseline = 12 sequences in batches of 4 */
    assert_int_equal(cost.sequences, 12);
    assert_int_equal(cost.forward, 3);
    assert_int_equal(cost.backward, 3);
    assert_int_equal(cost.tokens, 12 * 6);
    faith_explainer_free(e);
    e = make("integrated_gradients", "{\"steps\":10,\"baseline\":\"mask\"}");
    explain(e, m, sp, 0, &x.it, s2, NULL, NULL);
    assert_same_scores(s1, s2, 6);
    faith_explainer_free(e);
    /* special=zero zeroes the [CLS]/[SEP] scores that special=keep reports */
    float keep[6], zero[6];
    e = make("saliency", NULL);
    explain(e, m, sp, 0, &x.it, keep, NULL, NULL);
    faith_explainer_free(e);
    e = make("saliency", "{\"special\":\"zero\"}");
    explain(e, m, sp, 0, &x.it, zero, NULL, NULL);
    faith_explainer_free(e);
    assert_true(keep[0] > 0 && keep[5] > 0 && zero[0] == 0 && zero[5] == 0);
    assert_memory_equal(keep + 1, zero + 1, 4 * sizeof(float));
    faith_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batcher_cuts_by_budget_and_keeps_rows_independent),
        cmocka_unit_test(test_registry_names_and_errors),
        cmocka_unit_test(test_non_finite_scores_are_errors),
        cmocka_unit_test(test_shared_options_and_target),
        cmocka_unit_test(test_word_aggregation),
        cmocka_unit_test(test_linear_model_closed_forms),
        cmocka_unit_test(test_ig_completeness_random_models),
        cmocka_unit_test(test_ig_riemann_converges_to_gauss_legendre),
        cmocka_unit_test(test_gradients_match_finite_differences),
        cmocka_unit_test(test_smoothgrad_limits_and_noise),
        cmocka_unit_test(test_attention_math_by_hand),
        cmocka_unit_test(test_attention_rollout_two_tokens),
        cmocka_unit_test(test_attention_x_gradient_direct),
        cmocka_unit_test(test_determinism_across_budgets_and_threads),
        cmocka_unit_test(test_ig_cost_and_internal_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
