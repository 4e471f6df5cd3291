/* test_metrics.c: ranking and perturbation helpers, plausibility on hand examples, parameter
 * validation, and every faithfulness metric on the closed-form linear test model
 * (logit1 = bias + mean of token values), against values recomputed here from that formula. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batcher.h"
#include "explainer.h"
#include "metric.h"
#include "perturb.h"
#include "plausibility.h"
#include "randomization.h"
#include "rng.h"
#include "stats.h"
#include "testmodel.h"

#define assert_near(a, b, eps)                                                         \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (eps))) {                                               \
            print_error("%.17g != %.17g (eps %g)\n", a_, b_, (double)(eps));          \
            fail();                                                                    \
        }                                                                              \
    } while (0)

/* ---- pure helpers ---- */

static void test_rank_ties_special_positive(void **state)
{
    (void)state;
    float s[] = {0.5f, 0.2f, 0.9f, 0.2f, -0.1f, 0.9f};
    uint8_t sp[] = {1, 0, 0, 0, 0, 1};
    int32_t o[6];
    assert_int_equal(faith_perturb_rank(s, sp, 6, 1, 0, o), 4);
    int32_t e1[] = {2, 1, 3, 4}; /* 0.2 tie: position 1 before 3 */
    assert_memory_equal(o, e1, sizeof e1);
    assert_int_equal(faith_perturb_rank(s, sp, 6, 1, 1, o), 3);
    int32_t e2[] = {2, 1, 3};
    assert_memory_equal(o, e2, sizeof e2);
    assert_int_equal(faith_perturb_rank(s, sp, 6, 0, 0, o), 6);
    int32_t e3[] = {2, 5, 0, 1, 3, 4};
    assert_memory_equal(o, e3, sizeof e3);
    float z[] = {0, 0, 0};
    assert_int_equal(faith_perturb_rank(z, NULL, 3, 1, 1, o), 0);
    float nan_first[] = {NAN, 1.0f, 2.0f};
    assert_int_equal(faith_perturb_rank(nan_first, NULL, 3, 0, 0, o), 3);
    assert_int_equal(o[0], 2);
    assert_int_equal(o[2], 0);
}

static void test_topk_rounding(void **state)
{
    (void)state;
    assert_int_equal(faith_perturb_topk_ceil(10, 1), 1);
    assert_int_equal(faith_perturb_topk_ceil(10, 5), 1);
    assert_int_equal(faith_perturb_topk_ceil(10, 10), 1);
    assert_int_equal(faith_perturb_topk_ceil(10, 20), 2);
    assert_int_equal(faith_perturb_topk_ceil(7, 50), 4);
    assert_int_equal(faith_perturb_topk_ceil(30, 10), 3);
    assert_int_equal(faith_perturb_topk_ceil(3, 100), 3);
    assert_int_equal(faith_perturb_topk_ceil(0, 50), 0);
    assert_int_equal(faith_perturb_topk_ceil(10, 2.5), 1);
    assert_int_equal(faith_perturb_topk_floor(7, 50), 3);
    assert_int_equal(faith_perturb_topk_floor(9, 10), 0);
    assert_int_equal(faith_perturb_topk_floor(10, 30), 3);
}

static void test_apply_delete_mask_pad(void **state)
{
    (void)state;
    faith_special_ids sp = {.pad = 0, .unk = -1, .cls = 101, .sep = 102, .mask = 103};
    int32_t ids[] = {101, 5, 6, 7, 102}, types[] = {0, 0, 1, 1, 1}, o[5], ot[5];
    uint8_t special[] = {1, 0, 0, 0, 1};
    uint8_t rm[] = {1, 1, 0, 1, 0}; /* the flag on [CLS] is ignored */
    faith_err err = {0};
    assert_int_equal(faith_perturb_apply(FAITH_OP_DELETE, &sp, ids, types, special, 5, rm, o, ot, &err), 3);
    int32_t ed[] = {101, 6, 102}, edt[] = {0, 1, 1};
    assert_memory_equal(o, ed, sizeof ed);
    assert_memory_equal(ot, edt, sizeof edt);
    assert_int_equal(faith_perturb_apply(FAITH_OP_MASK, &sp, ids, types, special, 5, rm, o, ot, &err), 5);
    int32_t em[] = {101, 103, 6, 103, 102};
    assert_memory_equal(o, em, sizeof em);
    assert_memory_equal(ot, types, sizeof types);
    assert_int_equal(faith_perturb_apply(FAITH_OP_PAD, &sp, ids, types, special, 5, rm, o, ot, &err), 5);
    int32_t ep[] = {101, 0, 6, 0, 102};
    assert_memory_equal(o, ep, sizeof ep);
    sp.mask = -1;
    assert_int_equal(faith_perturb_apply(FAITH_OP_MASK, &sp, ids, types, special, 5, rm, o, ot, &err),
                     FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "mask"));
}

static void test_plausibility_hand(void **state)
{
    (void)state;
    /* top 3 = words 0, 2, 4; rationale 0, 3, 4: tp 2, P = R = 2/3 */
    float ws[] = {0.9f, 0.1f, 0.8f, 0.3f, 0.5f};
    uint8_t rat[] = {1, 0, 0, 1, 1};
    assert_near(faith_plaus_token_f1(ws, rat, 5, 3), 2.0 / 3.0, 1e-12);
    float tie[] = {0.5f, 0.5f, 0.5f};
    uint8_t r1[] = {1, 0, 0}, r2[] = {0, 1, 0}, none[] = {0, 0, 0};
    assert_near(faith_plaus_token_f1(tie, r1, 3, 1), 1.0, 1e-12); /* tie: lower index wins */
    assert_near(faith_plaus_token_f1(tie, r2, 3, 1), 0.0, 1e-12);
    assert_true(isnan(faith_plaus_token_f1(tie, none, 3, 1)));

    /* gold spans [2,6) and [8,9); predicted top 5 = {3,4,5,6} u {9}: [3,7) has IOU 3/5 with
     * [2,6) (a match), [9,10) none: P = 1/2, R = 1/2 */
    float w10[] = {0, 0, 0, .9f, .8f, .7f, .6f, 0, 0, .5f};
    uint8_t g10[] = {0, 0, 1, 1, 1, 1, 0, 0, 1, 0};
    assert_near(faith_plaus_iou_f1(w10, g10, 10, 5, 0.5), 0.5, 1e-12);
    /* predicted [4,8) overlaps [2,6) by 2 of 6: IOU 1/3, no match */
    float w10b[] = {0, 0, 0, 0, .9f, .8f, .7f, .6f, 0, 0};
    assert_near(faith_plaus_iou_f1(w10b, g10, 10, 4, 0.5), 0.0, 1e-12);
    /* exact spans: F1 1 */
    float w10c[] = {0, 0, .9f, .9f, .9f, .9f, 0, 0, .9f, 0};
    assert_near(faith_plaus_iou_f1(w10c, g10, 10, 5, 0.5), 1.0, 1e-12);

    /* AP: thresholds .9 (P 1, R .5), .8 (P .5), .7 (P 2/3, R 1): .5 + .5 * 2/3 */
    float a[] = {0.9f, 0.8f, 0.7f, 0.6f};
    uint8_t ra[] = {1, 0, 1, 0};
    assert_near(faith_plaus_auprc(a, ra, 4), 0.5 + 1.0 / 3.0, 1e-12);
    /* tied scores enter together: .9 (P 1, R .5), {.5,.5} (P 2/3, R 1) */
    float b[] = {0.9f, 0.5f, 0.5f, 0.1f};
    uint8_t rb[] = {1, 1, 0, 0};
    assert_near(faith_plaus_auprc(b, rb, 4), 0.5 + 1.0 / 3.0, 1e-12);
    float c[] = {0.1f, 0.2f, 0.3f, 0.4f};
    uint8_t rc[] = {0, 0, 1, 1};
    assert_near(faith_plaus_auprc(c, rc, 4), 1.0, 1e-12);
}

static void test_params_and_registry(void **state)
{
    (void)state;
    faith_metric *m = NULL;
    faith_err err = {0};
    cJSON *p = cJSON_Parse("{\"opertor\": \"mask\"}");
    assert_int_equal(faith_metric_create("comprehensiveness", p, &m, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "metrics.comprehensiveness.params.opertor"));
    assert_non_null(strstr(err.msg, "operator"));
    cJSON_Delete(p);
    assert_int_equal(faith_metric_create("comprehensivness", NULL, &m, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "did you mean 'comprehensiveness'"));
    p = cJSON_Parse("{\"bins\": [10, 5]}");
    assert_int_equal(faith_metric_create("sufficiency", p, &m, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "metrics.sufficiency.params.bins"));
    cJSON_Delete(p);
    p = cJSON_Parse("{\"k_value\": 0}");
    assert_int_equal(faith_metric_create("token_f1", p, &m, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "metrics.token_f1.params.k_value"));
    cJSON_Delete(p);
    p = cJSON_Parse("{\"k\": \"three\"}");
    assert_int_equal(faith_metric_create("iou_f1", p, &m, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "metrics.iou_f1.params.k"));
    cJSON_Delete(p);

    assert_int_equal(faith_metric_create("comprehensiveness", NULL, &m, &err), FAITH_OK);
    assert_int_equal(faith_metric_width(m), 6);
    assert_string_equal(m->layout.cols[0], "aopc");
    assert_string_equal(m->layout.cols[5], "k50");
    faith_metric_free(m);
    p = cJSON_Parse("{\"convention\": \"ferret\"}");
    assert_int_equal(faith_metric_create("comprehensiveness", p, &m, &err), FAITH_OK);
    assert_int_equal(faith_metric_width(m), 11);
    cJSON *pj = m->ops->params_json(m->state);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(pj, "only_positive")));
    cJSON_Delete(pj);
    cJSON_Delete(p);
    faith_metric_free(m);
    assert_int_equal(faith_metric_create("deletion_curve", NULL, &m, &err), FAITH_OK);
    assert_int_equal(faith_metric_width(m), 1 + 2 * 41);
    faith_metric_free(m);
    assert_true(faith_metric_count() >= 10);
}

/* ---- the linear test model ---- */

#define V 16
static float BIAS = -0.3f, MASK_VALUE = -0.5f;
static const faith_special_ids SP = {.pad = 0, .unk = -1, .cls = 1, .sep = 2, .mask = 3};
static float VALUE[V];
static faith_model *M;
static faith_cost COST;

typedef struct ex {
    int32_t n, ids[40], types[40], word[40];
    uint8_t special[40];
    float logits[2];
    faith_item it;
} ex;

static void set_values(const float *body_values, int32_t d)
{
    memset(VALUE, 0, sizeof VALUE);
    VALUE[0] = 0.25f;  /* pad */
    VALUE[3] = MASK_VALUE; /* -0.5 by default: masking differs from deletion on purpose */
    for (int32_t i = 0; i < d; i++) VALUE[4 + i] = body_values[i];
    faith_model_free(M);
    M = NULL;
    assert_int_equal(faith_test_linear_model(V, VALUE, BIAS, 64, &M), 0);
}

static double ref_p(const int32_t *ids, int32_t n)
{
    double s = 0;
    for (int32_t t = 0; t < n; t++) s += VALUE[ids[t]];
    return 1.0 / (1.0 + exp(-(BIAS + s / n)));
}

/* Reference removal, written apart from perturb.c: returns p(target 1) of the perturbed input. */
static double ref_removed(const ex *e, const uint8_t *remove, faith_perturb_op op)
{
    int32_t out[40], m = 0;
    for (int32_t t = 0; t < e->n; t++) {
        if (!remove[t] || e->special[t]) out[m++] = e->ids[t];
        else if (op == FAITH_OP_MASK) out[m++] = SP.mask;
        else if (op == FAITH_OP_PAD) out[m++] = SP.pad;
    }
    return ref_p(out, m);
}

/* [CLS] 4 5 ... [SEP], target 1, logits from the model itself. */
static void make_ex(ex *e, const int32_t *body, int32_t d)
{
    memset(e, 0, sizeof *e);
    e->n = d + 2;
    e->ids[0] = SP.cls;
    e->special[0] = 1;
    e->word[0] = -1;
    for (int32_t i = 0; i < d; i++) {
        e->ids[1 + i] = body[i];
        e->word[1 + i] = i;
    }
    e->ids[d + 1] = SP.sep;
    e->special[d + 1] = 1;
    e->word[d + 1] = -1;
    const int32_t *ids = e->ids;
    faith_err err = {0};
    assert_int_equal(faith_run_logits(M, 4096, 1, &ids, NULL, &e->n, e->logits, NULL, &err), 0);
    e->it = (faith_item){.id = 0, .n = e->n, .ids = e->ids, .type_ids = e->types, .special = e->special,
                         .word = e->word, .n_words = d, .label = 1, .target = 1, .logits = e->logits};
}

static faith_env env(void)
{
    return (faith_env){.model = M, .special = SP, .seed = 1, .token_budget = 4096,
                       .output = FAITH_OUT_PROB, .cost = &COST};
}

static void measure(const char *name, const char *params, const ex *e, const float *scores, double *rec)
{
    faith_metric *m = NULL;
    faith_err err = {0};
    cJSON *p = params ? cJSON_Parse(params) : NULL;
    assert_int_equal(faith_metric_create(name, p, &m, &err), FAITH_OK);
    faith_env en = env();
    int rc = m->ops->measure(m->state, &en, &e->it, scores, NULL, rec, &err);
    if (rc) print_error("%s\n", err.msg);
    assert_int_equal(rc, FAITH_OK);
    faith_metric_free(m);
    cJSON_Delete(p);
}

static const float BODY_V[6] = {2.0f, -1.0f, 0.5f, 1.5f, -0.5f, 1.0f};
static const int32_t BODY[6] = {4, 5, 6, 7, 8, 9};
/* explainer scores for [CLS] b0..b5 [SEP]: ranking b2, b4, b3, b0, b5, b1 */
static const float SCORES[8] = {5.0f, 0.3f, -0.2f, 0.9f, 0.4f, 0.5f, 0.1f, 5.0f};
static const int32_t RANKED[6] = {3, 5, 4, 1, 6, 2}; /* positions in the item */

static void test_comprehensiveness_sufficiency_by_hand(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    double p_full = ref_p(e.ids, e.n);
    assert_near(faith_prob_of(e.logits, 2, 1), p_full, 1e-5);
    const faith_perturb_op ops[] = {FAITH_OP_DELETE, FAITH_OP_MASK};
    const char *params[] = {"{\"operator\": \"delete\"}", "{\"operator\": \"mask\"}"};
    const int32_t k[5] = {1, 1, 1, 2, 3}; /* ceil of 1, 5, 10, 20, 50 % of 6 */
    for (int o = 0; o < 2; o++) {
        double comp[6], suff[6], csum = 0, ssum = 0;
        measure("comprehensiveness", params[o], &e, SCORES, comp);
        measure("sufficiency", params[o], &e, SCORES, suff);
        for (int b = 0; b < 5; b++) {
            uint8_t rm[40] = {0}, keep_rm[40] = {0};
            for (int32_t t = 0; t < e.n; t++) keep_rm[t] = 1;
            for (int32_t i = 0; i < k[b]; i++) {
                rm[RANKED[i]] = 1;
                keep_rm[RANKED[i]] = 0;
            }
            double ec = p_full - ref_removed(&e, rm, ops[o]);
            double es = p_full - ref_removed(&e, keep_rm, ops[o]);
            assert_near(comp[1 + b], ec, 2e-5);
            assert_near(suff[1 + b], es, 2e-5);
            csum += ec;
            ssum += es;
        }
        assert_near(comp[0], csum / 5, 2e-5);
        assert_near(suff[0], ssum / 5, 2e-5);
    }
}

static void test_ferret_convention_dedup_and_fallback(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    double p_full = ref_p(e.ids, e.n);
    /* two positive scores (b3 at position 4, then b0 at 1); floor(p * 6): 10% -> 0 (skip),
     * 20% -> 1, 30% -> 1 (same set: skip), 40% -> 2, 50%.. -> 3.. capped to 2 (skip) */
    float s[8] = {0, 0.5f, -0.1f, -0.2f, 0.9f, -0.3f, -0.4f, 0};
    double r[11];
    measure("comprehensiveness", "{\"convention\": \"ferret\"}", &e, s, r);
    uint8_t rm1[40] = {0}, rm2[40] = {0};
    rm1[4] = 1;
    rm2[4] = rm2[1] = 1;
    double c1 = p_full - ref_removed(&e, rm1, FAITH_OP_DELETE);
    double c2 = p_full - ref_removed(&e, rm2, FAITH_OP_DELETE);
    assert_true(isnan(r[1]));
    assert_near(r[2], c1, 2e-5);
    assert_true(isnan(r[3]));
    assert_near(r[4], c2, 2e-5);
    for (int b = 5; b <= 10; b++) assert_true(isnan(r[b]));
    assert_near(r[0], (c1 + c2) / 2, 2e-5);
    /* no positive score: every bin skipped, ferret's fallback values */
    float neg[8] = {0, -1, -1, -1, -1, -1, -1, 0};
    measure("comprehensiveness", "{\"convention\": \"ferret\"}", &e, neg, r);
    assert_near(r[0], 0.0, 0);
    measure("sufficiency", "{\"convention\": \"ferret\"}", &e, neg, r);
    assert_near(r[0], 1.0, 0);
    /* an explicit key overrides the convention: only_positive off ranks every token */
    measure("comprehensiveness", "{\"convention\": \"ferret\", \"only_positive\": false, \"bins\": [50]}",
            &e, neg, r);
    assert_false(isnan(r[1]));
}

/* An oracle (score = the token's value) removes the most positive evidence first; no ranking of
 * the six tokens reaches a higher AOPC comprehensiveness. */
static void test_oracle_maximises_comprehensiveness(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    float oracle[8] = {0};
    for (int i = 0; i < 6; i++) oracle[1 + i] = BODY_V[i];
    double ro[6], r[6], best = -INFINITY;
    measure("comprehensiveness", "{\"operator\": \"mask\"}", &e, oracle, ro);
    int perm[6] = {0, 1, 2, 3, 4, 5};
    /* all 720 rankings via Heap's algorithm; a ranking is given as descending scores */
    int c[6] = {0}, i = 0, count = 0;
    for (;;) {
        float s[8] = {0};
        for (int j = 0; j < 6; j++) s[1 + perm[j]] = (float)(6 - j);
        measure("comprehensiveness", "{\"operator\": \"mask\"}", &e, s, r);
        if (r[0] > best) best = r[0];
        count++;
        while (i < 6 && c[i] >= i) c[i++] = 0;
        if (i == 6) break;
        int sw = i % 2 ? c[i] : 0, t = perm[sw];
        perm[sw] = perm[i];
        perm[i] = t;
        c[i]++;
        i = 0;
    }
    assert_int_equal(count, 720);
    assert_near(ro[0], best, 1e-6);
}

/* With token values symmetric about 0 (pairs +v, -v), zero bias and a zero-valued mask, a random
 * ranking's comprehensiveness is 0 in expectation: negating every value maps p to 1 - p and the
 * drop to minus itself, and both signs are equally likely. */
static void test_random_explainer_near_zero(void **state)
{
    (void)state;
    faith_rng r;
    faith_rng_init(&r, 3, 0, "values");
    float vals[12];
    for (int i = 0; i < 6; i++) {
        vals[i] = (float)faith_rng_uniform(&r) * 3.0f;
        vals[6 + i] = -vals[i];
    }
    BIAS = 0.0f;
    MASK_VALUE = 0.0f;
    set_values(vals, 12);
    enum { N = 300 };
    double rnd[N], orc[N];
    for (int n = 0; n < N; n++) {
        /* every second example is the previous one with each token swapped for its negative
         * twin, scored by the same random ranking: the two drops cancel exactly */
        static int32_t body[8];
        static float s[10];
        if (n % 2 == 0) {
            for (int i = 0; i < 8; i++) body[i] = 4 + (int32_t)faith_rng_below(&r, 12);
            for (int i = 0; i < 8; i++) s[1 + i] = (float)faith_rng_uniform(&r);
        } else {
            for (int i = 0; i < 8; i++) body[i] = body[i] < 10 ? body[i] + 6 : body[i] - 6;
        }
        ex e;
        make_ex(&e, body, 8);
        float o[10] = {0};
        for (int i = 0; i < 8; i++) o[1 + i] = VALUE[body[i]];
        double rec[6];
        measure("comprehensiveness", "{\"operator\": \"mask\"}", &e, s, rec);
        rnd[n] = rec[0];
        measure("comprehensiveness", "{\"operator\": \"mask\"}", &e, o, rec);
        orc[n] = rec[0];
        if (n % 2) assert_near(rnd[n] + rnd[n - 1], 0.0, 1e-5);
    }
    double m = faith_stats_mean(rnd, N), se = faith_stats_stderr(rnd, N);
    BIAS = -0.3f;
    MASK_VALUE = -0.5f;
    assert_true(fabs(m) < 1e-5 && se > 1e-3); /* zero by symmetry, not by every drop being zero */
    assert_true(faith_stats_mean(orc, N) > 10 * faith_stats_stderr(orc, N));
}

static void test_log_odds_by_hand(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    double r[1];
    measure("log_odds", NULL, &e, SCORES, r);
    uint8_t rm[40] = {0};
    rm[RANKED[0]] = rm[RANKED[1]] = 1; /* ceil(0.2 * 6) = 2 */
    assert_near(r[0], log(ref_removed(&e, rm, FAITH_OP_MASK)) - log(ref_p(e.ids, e.n)), 1e-4);
}

static void test_curves_by_hand(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    double del[83], ins[83];
    measure("deletion_curve", NULL, &e, SCORES, del);
    measure("insertion_curve", NULL, &e, SCORES, ins);
    double fr[7], dv[7], iv[7];
    for (int k = 0; k <= 6; k++) {
        uint8_t rm[40] = {0}, keep[40] = {0};
        for (int32_t t = 0; t < e.n; t++) keep[t] = 1;
        for (int i = 0; i < k; i++) rm[RANKED[i]] = 1, keep[RANKED[i]] = 0;
        fr[k] = k / 6.0;
        dv[k] = ref_removed(&e, rm, FAITH_OP_MASK);
        iv[k] = ref_removed(&e, keep, FAITH_OP_MASK);
        assert_near(del[1 + 2 * k], fr[k], 1e-12);
        assert_near(del[2 + 2 * k], dv[k], 2e-5);
        assert_near(ins[2 + 2 * k], iv[k], 2e-5);
    }
    assert_true(isnan(del[1 + 2 * 7])); /* d = 6: only 7 points, the rest NaN */
    double ad = 0, ai = 0;
    for (int k = 1; k <= 6; k++) {
        ad += (dv[k] + dv[k - 1]) / 12.0;
        ai += (iv[k] + iv[k - 1]) / 12.0;
    }
    assert_near(del[0], ad, 2e-5);
    assert_near(ins[0], ai, 2e-5);

    /* all values positive: the oracle's deletion curve never rises */
    const float pos[6] = {0.5f, 2.0f, 1.0f, 0.1f, 3.0f, 0.7f};
    set_values(pos, 6);
    make_ex(&e, BODY, 6);
    float oracle[8] = {0};
    for (int i = 0; i < 6; i++) oracle[1 + i] = pos[i];
    measure("deletion_curve", NULL, &e, oracle, del);
    for (int k = 1; k <= 6; k++) assert_true(del[2 + 2 * k] <= del[2 * k] + 1e-7);
    assert_true(del[2 + 12] < del[2] - 0.1);
}

static void test_curve_steps_long_input(void **state)
{
    (void)state;
    float vals[12];
    for (int i = 0; i < 12; i++) vals[i] = 0.1f * (float)i;
    set_values(vals, 12);
    int32_t body[30];
    for (int i = 0; i < 30; i++) body[i] = 4 + i % 12;
    ex e;
    make_ex(&e, body, 30);
    float s[32] = {0};
    for (int i = 0; i < 30; i++) s[1 + i] = (float)(30 - i);
    double rec[83];
    measure("deletion_curve", NULL, &e, s, rec);
    /* counts 0..20, then ceil(j * 30 / 20) above 20: 21, 23, 24, 26, 27, 29, 30 */
    const int extra[] = {21, 23, 24, 26, 27, 29, 30};
    for (int k = 0; k <= 20; k++) assert_near(rec[1 + 2 * k], k / 30.0, 1e-12);
    for (int j = 0; j < 7; j++) assert_near(rec[1 + 2 * (21 + j)], extra[j] / 30.0, 1e-12);
    assert_true(isnan(rec[1 + 2 * 28]));
}

static void test_decision_flip_by_hand(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    /* logit = -0.3 + 3.5 / 8 > 0: predicted class 1 */
    assert_true(e.logits[1] > e.logits[0]);
    double r[2];
    measure("decision_flip", NULL, &e, SCORES, r);
    int flip_k = -1;
    uint8_t rm[40] = {0};
    for (int k = 1; k <= 6 && flip_k < 0; k++) {
        rm[RANKED[k - 1]] = 1;
        if (ref_removed(&e, rm, FAITH_OP_MASK) < 0.5) flip_k = k;
    }
    assert_true(flip_k > 0);
    assert_near(r[0], flip_k / 6.0, 1e-12);
    assert_near(r[1], 1.0, 0);
    /* an oracle flips after one token (2.0 masked to -0.5: logit -0.175) */
    float oracle[8] = {0};
    for (int i = 0; i < 6; i++) oracle[1 + i] = BODY_V[i];
    measure("decision_flip", "{\"chunk\": 2}", &e, oracle, r);
    assert_near(r[0], 1.0 / 6.0, 1e-12);
    /* values all negative except a large bias: never flips */
    const float neg[6] = {-0.1f, -0.1f, -0.1f, -0.1f, -0.1f, -0.1f};
    set_values(neg, 6);
    make_ex(&e, BODY, 6);
    measure("decision_flip", "{\"chunk\": 4}", &e, oracle, r);
    assert_true(isnan(r[0]));
    assert_near(r[1], 0.0, 0);
}

/* The runner measures every explainer of an example in a row: the leave-one-out passes run for the
 * first only, the others reuse them with identical results; a different example (or the same id
 * with other tokens) is recomputed; and an occlusion explainer with the same replacement and output
 * prob computes the very passes tau_loo then reuses. */
static void test_tau_loo_shares_passes_across_explainers(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    e.it.id = 9001; /* an id no other test measures: the shared cache starts cold */
    float oracle[8] = {0}, anti[8] = {0};
    for (int i = 0; i < 6; i++) {
        oracle[1 + i] = BODY_V[i];
        anti[1 + i] = -BODY_V[i];
    }
    faith_metric *m = NULL;
    faith_err err = {0};
    assert_int_equal(faith_metric_create("tau_loo", NULL, &m, &err), FAITH_OK);
    faith_env en = env();
    double r[1], fresh[1];
    int64_t before = COST.sequences;
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, oracle, NULL, r, &err), FAITH_OK);
    int64_t first = COST.sequences - before;
    assert_int_equal(first, 6);
    assert_near(r[0], 1.0, 1e-12);
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, anti, NULL, r, &err), FAITH_OK);
    assert_int_equal(COST.sequences - before, first); /* no new model work */
    measure("tau_loo", NULL, &e, anti, fresh);
    assert_true(r[0] == fresh[0]);
    /* same id, other tokens: recomputed, and matches a fresh state */
    static const int32_t OTHER[6] = {9, 8, 7, 6, 5, 4};
    ex e2;
    make_ex(&e2, OTHER, 6);
    e2.it.id = e.it.id;
    before = COST.sequences;
    assert_int_equal(m->ops->measure(m->state, &en, &e2.it, oracle, NULL, r, &err), FAITH_OK);
    assert_int_equal(COST.sequences - before, 6);
    measure("tau_loo", NULL, &e2, oracle, fresh);
    assert_true(r[0] == fresh[0]);
    /* occlusion (replace mask, output prob) on a new example, then tau_loo: no new model work, and
     * occlusion's scores are the drops, so tau of the oracle-ordered drops against them is 1 */
    ex e3;
    make_ex(&e3, BODY, 6);
    e3.it.id = 9002;
    faith_explainer *occ = NULL;
    assert_int_equal(faith_explainer_create("occlusion", NULL, &occ, &err), FAITH_OK);
    float occ_scores[8];
    before = COST.sequences;
    assert_int_equal(faith_explainer_explain(occ, &en, &e3.it, occ_scores, NULL, &err), FAITH_OK);
    assert_int_equal(COST.sequences - before, 6);
    assert_int_equal(m->ops->measure(m->state, &en, &e3.it, occ_scores, NULL, r, &err), FAITH_OK);
    assert_int_equal(COST.sequences - before, 6);
    assert_near(r[0], 1.0, 1e-12);
    /* The same example on another model (the model-randomisation check explains every example a
     * second time on a randomised copy): recomputed on that model, whose drops are its own. */
    float other_v[V], occ2[8];
    for (int i = 0; i < V; i++) other_v[i] = -VALUE[i];
    faith_model *M2 = NULL;
    assert_int_equal(faith_test_linear_model(V, other_v, BIAS, 64, &M2), 0);
    faith_env en2 = en;
    en2.model = M2;
    float logits2[2];
    const int32_t *ids3 = e3.ids;
    assert_int_equal(faith_run_logits(M2, 4096, 1, &ids3, NULL, &e3.n, logits2, NULL, &err), 0);
    faith_item it2 = e3.it;
    it2.logits = logits2; /* an item carries its model's logits, as the runner's sanity check passes it */
    before = COST.sequences;
    assert_int_equal(faith_explainer_explain(occ, &en2, &it2, occ2, NULL, &err), FAITH_OK);
    assert_int_equal(COST.sequences - before, 6); /* its 6 tokens removed, each once */
    int opposite = 0; /* negated values: opposite drops (token 8's value is the mask's: no drop) */
    for (int i = 1; i <= 6; i++) opposite += occ2[i] * occ_scores[i] < 0;
    assert_int_equal(opposite, 5);
    faith_model_randomize_top(M2, 1, 3); /* new parameters in place: recomputed again */
    before = COST.sequences;
    assert_int_equal(faith_explainer_explain(occ, &en2, &it2, occ2, NULL, &err), FAITH_OK);
    assert_int_equal(COST.sequences - before, 6);
    faith_model_free(M2);
    faith_explainer_free(occ);
    faith_metric_free(m);
}

static void test_tau_loo_oracle(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    /* masking token t changes the logit by (mask value - value t) / n: drops rank as values */
    float oracle[8] = {0}, anti[8] = {0};
    for (int i = 0; i < 6; i++) {
        oracle[1 + i] = BODY_V[i];
        anti[1 + i] = -BODY_V[i];
    }
    double r[1];
    measure("tau_loo", NULL, &e, oracle, r);
    assert_near(r[0], 1.0, 1e-12);
    measure("tau_loo", NULL, &e, anti, r);
    assert_near(r[0], -1.0, 1e-12);
    /* SCORES order b2 b4 b3 b0 b5 b1 vs values order b0 b3 b5 b2 b4 b1: Kendall by hand = 1/15 */
    measure("tau_loo", NULL, &e, SCORES, r);
    double sv[6], vv[6];
    for (int i = 0; i < 6; i++) {
        sv[i] = SCORES[1 + i];
        vv[i] = BODY_V[i];
    }
    assert_near(r[0], faith_stats_kendall_tau_b(sv, vv, 6), 1e-12);
}

static void test_plausibility_plugins(void **state)
{
    (void)state;
    set_values(BODY_V, 6);
    ex e;
    make_ex(&e, BODY, 6);
    float ws[6] = {0.9f, 0.1f, 0.8f, 0.3f, 0.5f, 0.0f};
    uint8_t rat[6] = {1, 0, 0, 1, 1, 0};
    faith_metric *m = NULL;
    faith_err err = {0};
    faith_env en = env();
    double r;
    /* k "mean" without k_value: each example's own rationale length (3) until the runner sets
     * the dataset mean; then k = round(1.4) = 1 picks word 0 only: P 1, R 1/3 */
    assert_int_equal(faith_metric_create("token_f1", NULL, &m, &err), FAITH_OK);
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, SCORES, ws, &r, &err), 0);
    assert_true(isnan(r)); /* no rationale */
    e.it.rationale = rat;
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, SCORES, ws, &r, &err), 0);
    assert_near(r, 2.0 / 3.0, 1e-12);
    assert_int_equal(faith_plaus_set_mean_k(m, 1.4), 1);
    assert_int_equal(faith_plaus_set_mean_k(m, 2.0), 0); /* already known */
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, SCORES, ws, &r, &err), 0);
    assert_near(r, 2 * (1.0 / 3.0) / (1 + 1.0 / 3.0), 1e-12);
    faith_metric_free(m);
    cJSON *p = cJSON_Parse("{\"k\": \"mean\", \"k_value\": 2.6}");
    assert_int_equal(faith_metric_create("token_f1", p, &m, &err), FAITH_OK);
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, SCORES, ws, &r, &err), 0);
    assert_near(r, 2.0 / 3.0, 1e-12); /* k = round(2.6) = 3 */
    faith_metric_free(m);
    cJSON_Delete(p);
    assert_int_equal(faith_metric_create("auprc", NULL, &m, &err), FAITH_OK);
    assert_int_equal(m->ops->measure(m->state, &en, &e.it, SCORES, ws, &r, &err), 0);
    /* .9 hit (P1 R1/3), .8 miss, .5 hit (P2/3 R2/3), .3 hit (P3/4 R1) */
    assert_near(r, (1.0 + 2.0 / 3.0 + 0.75) / 3.0, 1e-12);
    faith_metric_free(m);
}

static void test_model_randomization(void **state)
{
    (void)state;
    /* Spearman over non-special tokens only: the specials' huge scores are ignored */
    float a[] = {100, 1, 2, 3, 4, -100}, b[] = {-100, 10, 20, 40, 30, 100};
    uint8_t sp[] = {1, 0, 0, 0, 0, 1};
    assert_near(faith_randomization_spearman(a, b, sp, 6), 0.8, 1e-12); /* d^2 = 2: 1 - 6*2/60 */
    assert_true(isnan(faith_randomization_spearman(a, b, sp, 2)));
    double rho[] = {0.9, NAN, 0.7, 0.8};
    faith_randomization_summary s;
    faith_randomization_summarize(rho, 4, "lime", 1, FAITH_RANDOMIZATION_THRESHOLD, &s);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.n_nan, 1);
    assert_near(s.mean, 0.8, 1e-12);
    assert_int_equal(s.flagged, 1);
    faith_randomization_summarize(rho, 4, "lime", 1, 0.85, &s);
    assert_int_equal(s.flagged, 0);

    /* the randomised twin loads from disk and its head no longer computes the same logits */
    set_values(BODY_V, 6);
    char dir[256];
    faith_err err = {0};
    assert_int_equal(faith_test_tmpdir(dir, sizeof dir), 0);
    assert_int_equal(faith_model_save(M, dir, &err), 0);
    faith_model *twin = NULL;
    assert_int_equal(faith_randomization_load(dir, 2, 7, &twin, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "layers"));
    assert_int_equal(faith_randomization_load(dir, 1, 7, &twin, &err), 0);
    ex e;
    make_ex(&e, BODY, 6);
    float lt[2];
    const int32_t *ids = e.ids;
    assert_int_equal(faith_run_logits(twin, 4096, 1, &ids, NULL, &e.n, lt, NULL, &err), 0);
    assert_true(fabs(lt[1] - lt[0] - (e.logits[1] - e.logits[0])) > 1e-4);
    faith_model_free(twin);
    char path[300];
    const char *files[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

static int teardown(void **state)
{
    (void)state;
    faith_model_free(M);
    M = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_ties_special_positive),
        cmocka_unit_test(test_topk_rounding),
        cmocka_unit_test(test_apply_delete_mask_pad),
        cmocka_unit_test(test_plausibility_hand),
        cmocka_unit_test(test_params_and_registry),
        cmocka_unit_test(test_comprehensiveness_sufficiency_by_hand),
        cmocka_unit_test(test_ferret_convention_dedup_and_fallback),
        cmocka_unit_test(test_oracle_maximises_comprehensiveness),
        cmocka_unit_test(test_random_explainer_near_zero),
        cmocka_unit_test(test_log_odds_by_hand),
        cmocka_unit_test(test_curves_by_hand),
        cmocka_unit_test(test_curve_steps_long_input),
        cmocka_unit_test(test_decision_flip_by_hand),
        cmocka_unit_test(test_tau_loo_oracle),
        cmocka_unit_test(test_tau_loo_shares_passes_across_explainers),
        cmocka_unit_test(test_plausibility_plugins),
        cmocka_unit_test(test_model_randomization),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
