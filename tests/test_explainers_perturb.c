/* test_explainers_perturb.c: the perturbation explainers (random, occlusion, lime, kernel_shap,
 * shapley_sampling): their estimators against exact Shapley values and closed forms, and the
 * explainers against separate forward calls, linear models and exhaustive enumeration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalition.h"
#include "explainer.h"
#include "linalg.h"
#include "shapley.h"
#include "testmodel.h"

/* ---- a non-additive toy game with known Shapley values ---- */

#define GD 8
typedef struct game {
    int32_t d;
    double a[16], b[16][16], c; /* v(S) = sum a_i + sum_{i<j in S} b_ij + c [|S| >= 5] */
} game;

static void game_init(game *g, int32_t d, uint64_t seed)
{
    faith_rng r;
    faith_rng_init(&r, seed, 0, "toy game");
    memset(g, 0, sizeof *g);
    g->d = d;
    for (int i = 0; i < d; i++) g->a[i] = 2.0 * faith_rng_uniform(&r) - 1.0;
    for (int i = 0; i < d; i++)
        for (int j = i + 1; j < d; j++) g->b[i][j] = faith_rng_uniform(&r) - 0.5;
    g->c = 1.5;
}

static double game_value(const game *g, const uint8_t *m)
{
    double v = 0.0;
    int s = 0;
    for (int i = 0; i < g->d; i++) {
        if (!m[i]) continue;
        s++;
        v += g->a[i];
        for (int j = i + 1; j < g->d; j++)
            if (m[j]) v += g->b[i][j];
    }
    return v + (s >= 5 ? g->c : 0.0);
}

/* Closed form: a pair's surplus is split in two, the symmetric threshold term evenly. */
static void game_shapley(const game *g, double *phi)
{
    for (int i = 0; i < g->d; i++) {
        phi[i] = g->a[i] + g->c / g->d;
        for (int j = 0; j < g->d; j++)
            if (j != i) phi[i] += 0.5 * (i < j ? g->b[i][j] : g->b[j][i]);
    }
}

/* Shapley values by enumeration of all 2^d coalitions: v indexed by bitmask. */
static void enumerate_shapley(int d, const double *v, double *phi)
{
    double fact[20] = {1};
    for (int k = 1; k < 20; k++) fact[k] = fact[k - 1] * k;
    for (int i = 0; i < d; i++) {
        phi[i] = 0.0;
        for (uint32_t S = 0; S < (1u << d); S++) {
            if (S & (1u << i)) continue;
            int s = __builtin_popcount(S);
            phi[i] += fact[s] * fact[d - s - 1] / fact[d] * (v[S | (1u << i)] - v[S]);
        }
    }
}

static double max_err(const double *a, const double *b, int d)
{
    double e = 0.0;
    for (int i = 0; i < d; i++) e = fmax(e, fabs(a[i] - b[i]));
    return e;
}

static double sum(const double *a, int d)
{
    double s = 0.0;
    for (int i = 0; i < d; i++) s += a[i];
    return s;
}

/* kernel SHAP on the toy game: plan, values, solve. Returns the max error, *eff the |efficiency|. */
static double kshap_game(const game *g, int64_t samples, uint64_t seed, int *exact, double *eff)
{
    int32_t d = g->d;
    faith_rng r;
    faith_rng_init(&r, seed, 1, "kernel_shap");
    faith_kshap_plan plan;
    faith_err err = {0};
    assert_int_equal(faith_kernel_shap_plan(d, samples, &r, &plan, &err), 0);
    assert_true(plan.n <= samples);
    double *v = malloc((size_t)plan.n * sizeof *v), phi[16], ref[16];
    for (int64_t i = 0; i < plan.n; i++) v[i] = game_value(g, plan.masks + (size_t)i * d);
    uint8_t none[16] = {0}, all[16];
    memset(all, 1, sizeof all);
    double v0 = game_value(g, none), v1 = game_value(g, all);
    assert_int_equal(faith_kernel_shap_solve(d, plan.n, plan.masks, plan.weights, v, v0, v1, phi,
                                             &err), 0);
    game_shapley(g, ref);
    *eff = fabs(sum(phi, d) - (v1 - v0));
    if (exact) *exact = plan.exact;
    free(v);
    faith_kernel_shap_plan_free(&plan);
    return max_err(phi, ref, d);
}

static double perm_game(const game *g, int32_t P, uint64_t seed, double *eff)
{
    int32_t d = g->d;
    faith_rng r;
    faith_rng_init(&r, seed, 1, "shapley_sampling");
    int32_t *perms = malloc((size_t)P * d * sizeof *perms);
    uint8_t *masks = malloc((size_t)P * (d + 1) * d);
    double *v = malloc((size_t)P * (d + 1) * sizeof *v), phi[16], ref[16];
    faith_shapley_perm_plan(d, P, &r, perms);
    faith_shapley_perm_masks(d, P, perms, masks);
    for (int64_t i = 0; i < (int64_t)P * (d + 1); i++) v[i] = game_value(g, masks + (size_t)i * d);
    faith_shapley_perm_estimate(d, P, perms, v, phi);
    game_shapley(g, ref);
    uint8_t none[16] = {0}, all[16];
    memset(all, 1, sizeof all);
    *eff = fabs(sum(phi, d) - (game_value(g, all) - game_value(g, none)));
    free(v);
    free(masks);
    free(perms);
    return max_err(phi, ref, d);
}

/* ---- pure-function tests ---- */

static void test_toy_game_closed_form_matches_enumeration(void **state)
{
    (void)state;
    game g;
    game_init(&g, GD, 3);
    double v[1 << GD], phi[GD], ref[GD];
    for (uint32_t S = 0; S < (1u << GD); S++) {
        uint8_t m[GD];
        for (int i = 0; i < GD; i++) m[i] = (S >> i) & 1u;
        v[S] = game_value(&g, m);
    }
    enumerate_shapley(GD, v, phi);
    game_shapley(&g, ref);
    assert_true(max_err(phi, ref, GD) < 1e-12);
}

static void test_linalg_wls_stationarity(void **state)
{
    (void)state;
    enum { M = 30, N = 5 };
    double A[M * N], b[M], w[M], x[N];
    faith_rng r;
    faith_rng_init(&r, 1, 2, "wls");
    for (int i = 0; i < M * N; i++) A[i] = faith_rng_normal(&r);
    for (int i = 0; i < M; i++) {
        b[i] = faith_rng_normal(&r);
        w[i] = 0.1 + faith_rng_uniform(&r);
    }
    faith_err err = {0};
    const double ridge = 0.7;
    assert_int_equal(faith_linalg_wls(M, N, A, b, w, ridge, 1, x, &err), 0);
    /* gradient of the objective vanishes: A^T W (b - A x) = ridge * x on penalised columns */
    for (int j = 0; j < N; j++) {
        double g = 0.0;
        for (int i = 0; i < M; i++) {
            double res = b[i];
            for (int k = 0; k < N; k++) res -= A[i * N + k] * x[k];
            g += A[i * N + j] * w[i] * res;
        }
        assert_true(fabs(g - (j >= 1 ? ridge * x[j] : 0.0)) < 1e-9);
    }
    /* a consistent system is solved exactly; the constraint holds to rounding */
    double xt[N] = {0.5, -1, 2, 0.25, -0.75}, xs[N];
    for (int i = 0; i < M; i++) {
        b[i] = 0.0;
        for (int k = 0; k < N; k++) b[i] += A[i * N + k] * xt[k];
    }
    assert_int_equal(faith_linalg_wls(M, N, A, b, w, 0.0, 0, xs, &err), 0);
    for (int k = 0; k < N; k++) assert_true(fabs(xs[k] - xt[k]) < 1e-10);
    assert_int_equal(faith_linalg_wls_sum_constrained(M, N, A, b, w, 3.0, xs, &err), 0);
    assert_true(fabs(sum(xs, N) - 3.0) < 1e-12);
    assert_int_equal(faith_linalg_wls(M, N, A, b, w, -1.0, 0, xs, &err), FAITH_ERR_ARG);
}

static void test_lime_masks_weights_and_fit(void **state)
{
    (void)state;
    enum { D = 6, S = 400 };
    uint8_t masks[S * D];
    double y[S], w[S], coef[D], b0, c[D] = {0.9, -0.4, 0.0, 1.3, -2.0, 0.35};
    faith_rng r;
    faith_rng_init(&r, 5, 17, "lime");
    faith_lime_masks(D, S, &r, masks);
    int hist[D + 1] = {0};
    for (int s = 0; s < S; s++) {
        int removed = 0;
        for (int j = 0; j < D; j++) removed += !masks[s * D + j];
        if (s == 0) assert_int_equal(removed, 0);
        else assert_true(removed >= 1 && removed <= D);
        hist[removed]++;
    }
    for (int k = 1; k <= D; k++) assert_true(hist[k] > 30 && hist[k] < 110); /* ~66 each */
    faith_lime_weights(D, S, masks, 0.25, w);
    assert_true(fabs(w[0] - 1.0) < 1e-15);
    for (int s = 0; s < S; s++) {
        int kept = 0;
        for (int j = 0; j < D; j++) kept += masks[s * D + j];
        double dist = 1.0 - sqrt(kept / (double)D);
        assert_true(fabs(w[s] - exp(-dist * dist / (2 * 0.0625))) < 1e-12);
    }
    for (int s = 0; s < S; s++) {
        y[s] = 0.3;
        for (int j = 0; j < D; j++) y[s] += c[j] * masks[s * D + j];
    }
    faith_err err = {0};
    assert_int_equal(faith_lime_fit(D, S, masks, y, w, 0.0, coef, &b0, &err), 0);
    for (int j = 0; j < D; j++) assert_true(fabs(coef[j] - c[j]) < 1e-9);
    assert_true(fabs(b0 - 0.3) < 1e-9);
    /* ridge: the weighted residuals sum to zero (free intercept) and shrink toward zero */
    assert_int_equal(faith_lime_fit(D, S, masks, y, w, 1.0, coef, &b0, &err), 0);
    double rsum = 0.0, n_fit = 0.0, n_true = 0.0;
    for (int s = 0; s < S; s++) {
        double p = b0;
        for (int j = 0; j < D; j++) p += coef[j] * masks[s * D + j];
        rsum += w[s] * (y[s] - p);
    }
    for (int j = 0; j < D; j++) {
        n_fit += coef[j] * coef[j];
        n_true += c[j] * c[j];
    }
    assert_true(fabs(rsum) < 1e-9);
    assert_true(n_fit < n_true && n_fit > 0.5 * n_true);
}

static void test_kernel_shap_exact_when_enumerating(void **state)
{
    (void)state;
    game g;
    game_init(&g, GD, 11);
    int exact = 0;
    double eff;
    double e = kshap_game(&g, 254, 1, &exact, &eff);
    assert_true(exact);
    assert_true(e < 1e-9);
    assert_true(eff < 1e-9);
    /* shap's size enumeration reaches the same complete set without the shortcut */
    assert_int_equal(faith_kernel_shap_default_samples(GD), 254);
    assert_int_equal(faith_kernel_shap_default_samples(20), 2 * 20 + 2048);
}

static void test_kernel_shap_error_shrinks_with_samples(void **state)
{
    (void)state;
    const int64_t budgets[] = {40, 120, 250};
    double mean[3] = {0};
    for (int b = 0; b < 3; b++)
        for (uint64_t seed = 0; seed < 24; seed++) {
            game g;
            game_init(&g, GD, 100 + seed);
            double eff;
            int exact = 1;
            mean[b] += kshap_game(&g, budgets[b], seed, &exact, &eff) / 24;
            assert_false(exact);
            assert_true(eff < 1e-9);
        }
    print_message("kernel_shap d=8 mean max-error at 40/120/250 samples: %.4f %.4f %.4f\n", mean[0],
                  mean[1], mean[2]);
    assert_true(mean[0] > mean[1] && mean[1] > mean[2]);
    assert_true(mean[2] < 0.1);
    /* a longer input (4094 coalitions) only sampled */
    const int64_t big[] = {64, 512, 2048};
    double m12[3] = {0};
    for (int b = 0; b < 3; b++)
        for (uint64_t seed = 0; seed < 8; seed++) {
            game g;
            game_init(&g, 12, 200 + seed);
            double eff;
            m12[b] += kshap_game(&g, big[b], seed, NULL, &eff) / 8;
            assert_true(eff < 1e-9);
        }
    print_message("kernel_shap d=12 mean max-error at 64/512/2048 samples: %.4f %.4f %.4f\n", m12[0],
                  m12[1], m12[2]);
    assert_true(m12[0] > m12[1] && m12[1] > m12[2]);
}

static void test_kernel_shap_plan_is_paired_and_normalised(void **state)
{
    (void)state;
    const int32_t d = 11;
    faith_rng r;
    faith_rng_init(&r, 9, 4, "kernel_shap");
    faith_kshap_plan p;
    faith_err err = {0};
    assert_int_equal(faith_kernel_shap_plan(d, 300, &r, &p, &err), 0);
    assert_int_equal(p.n, 300);
    faith_mask_set *set = faith_mask_set_create(d);
    double wsum = 0.0;
    int unpaired = 0;
    for (int64_t i = 0; i < p.n; i++) {
        const uint8_t *m = p.masks + (size_t)i * d;
        int s = 0, added = 0;
        for (int j = 0; j < d; j++) s += m[j];
        assert_true(s >= 1 && s <= d - 1);
        faith_mask_set_add(set, m, &added);
        assert_true(added); /* no repeated rows */
        assert_true(p.weights[i] > 0);
        wsum += p.weights[i];
    }
    for (int64_t i = 0; i < p.n; i++) {
        uint8_t c[11];
        for (int j = 0; j < d; j++) c[j] = !p.masks[(size_t)i * d + j];
        unpaired += faith_mask_set_find(set, c) < 0;
    }
    assert_true(unpaired <= 1); /* only the very last draw may lack room for its complement */
    assert_true(fabs(wsum - 1.0) < 1e-12);
    faith_mask_set_free(set);
    faith_kernel_shap_plan_free(&p);
}

static void test_shapley_sampling_error_shrinks_and_efficiency_exact(void **state)
{
    (void)state;
    const int32_t Ps[] = {2, 8, 32, 128};
    double mean[4] = {0};
    for (int b = 0; b < 4; b++)
        for (uint64_t seed = 0; seed < 24; seed++) {
            game g;
            game_init(&g, GD, 300 + seed);
            double eff;
            mean[b] += perm_game(&g, Ps[b], seed, &eff) / 24;
            assert_true(eff < 1e-12);
        }
    print_message("shapley_sampling mean max-error at 2/8/32/128 permutations: %.4f %.4f %.4f %.4f\n",
                  mean[0], mean[1], mean[2], mean[3]);
    for (int b = 0; b < 3; b++) assert_true(mean[b] > mean[b + 1]);
    assert_true(mean[3] < 0.1);
    /* antithetic: odd permutations reverse the one before, and every row is a permutation */
    int32_t perms[4 * 9];
    faith_rng r;
    faith_rng_init(&r, 1, 1, "shapley_sampling");
    faith_shapley_perm_plan(9, 4, &r, perms);
    for (int p = 0; p < 4; p++) {
        int seen[9] = {0};
        for (int k = 0; k < 9; k++) seen[perms[p * 9 + k]]++;
        for (int k = 0; k < 9; k++) assert_int_equal(seen[k], 1);
    }
    for (int k = 0; k < 9; k++) assert_int_equal(perms[9 + k], perms[8 - k]);
}

/* ---- explainers on models ---- */

enum { VOCAB = 40, ID_PAD = 0, ID_UNK = 1, ID_CLS = 2, ID_SEP = 3, ID_MASK = 4 };

typedef struct fixture {
    int32_t n, ids[16], type_ids[16], word[16];
    uint8_t special[16];
    float logits[FAITH_MAX_CLASSES];
    faith_item it;
    faith_cost cost;
    faith_env env;
} fixture;

/* [CLS] t_1 .. t_k [SEP] with item id `id`; logits from a single forward. */
static void fixture_init(fixture *f, faith_model *m, int32_t k, const int32_t *toks, int64_t id,
                         faith_output out, int32_t target)
{
    memset(f, 0, sizeof *f);
    f->n = k + 2;
    f->ids[0] = ID_CLS;
    for (int i = 0; i < k; i++) f->ids[1 + i] = toks[i];
    f->ids[k + 1] = ID_SEP;
    f->special[0] = f->special[k + 1] = 1;
    for (int i = 0; i < f->n; i++) f->word[i] = f->special[i] ? -1 : i - 1;
    faith_batch b = {1, f->n, f->ids, NULL, &f->n, NULL};
    faith_err err = {0};
    assert_int_equal(faith_model_forward(m, &b, 0, f->logits, &err), 0);
    f->it = (faith_item){id, f->n, f->ids, f->type_ids, f->special, f->word, k, -1, target,
                         f->logits, NULL};
    f->env = (faith_env){m, {ID_PAD, ID_UNK, ID_CLS, ID_SEP, ID_MASK}, 1234, 8192, out, &f->cost};
}

static double forward_value(faith_model *m, const int32_t *ids, int32_t n, faith_output out,
                            int32_t target)
{
    float lg[FAITH_MAX_CLASSES];
    faith_batch b = {1, n, ids, NULL, &n, NULL};
    faith_err err = {0};
    assert_int_equal(faith_model_forward(m, &b, 0, lg, &err), 0);
    return faith_output_value(out, lg, faith_model_cfg(m)->n_classes, target, NULL);
}

static faith_explainer *make(const char *name, const char *json)
{
    cJSON *p = json ? cJSON_Parse(json) : NULL;
    faith_explainer *e = NULL;
    faith_err err = {0};
    int rc = faith_explainer_create(name, p, &e, &err);
    if (rc < 0) fail_msg("%s: %s", name, err.msg);
    cJSON_Delete(p);
    return e;
}

static void explain(const faith_explainer *e, fixture *f, float *scores, faith_explain_extra *ex)
{
    faith_err err = {0};
    faith_explain_extra tmp;
    int rc = e->ops->explain(e->state, &f->env, &f->it, scores, ex ? ex : &tmp, &err);
    if (rc < 0) fail_msg("%s: %s", e->ops->name, err.msg);
}

/* A small random DistilBERT with weights scaled up so outputs depend visibly on the tokens. */
static faith_model *random_distilbert(void)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    c.arch = FAITH_ARCH_DISTILBERT;
    c.n_layers = 2;
    c.n_heads = 2;
    c.d_model = 16;
    c.d_ffn = 32;
    c.vocab_size = VOCAB;
    c.max_pos = 32;
    c.n_classes = 3;
    c.ln_eps = 1e-12f;
    c.classifier_dropout = -1;
    faith_model *m = NULL;
    faith_err err = {0};
    if (faith_model_create_random(&c, 77, &m, &err) < 0) fail_msg("%s", err.msg);
    size_t np;
    float *p = faith_model_params(m, &np);
    for (size_t i = 0; i < np; i++) p[i] *= 8.0f;
    return m;
}

static const int32_t TOKS[8] = {7, 12, 19, 25, 7, 33, 5, 38};

static void test_occlusion_matches_separate_forwards(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    const char *cfgs[] = {"{\"replace\":\"mask\"}", "{\"replace\":\"unk\"}", "{\"replace\":17}",
                          "{\"replace\":\"delete\"}"};
    const int32_t repl[] = {ID_MASK, ID_UNK, 17, -1};
    for (int c = 0; c < 4; c++) {
        fixture f;
        fixture_init(&f, m, 8, TOKS, 3, FAITH_OUT_LOGIT, 1);
        faith_explainer *e = make("occlusion", cfgs[c]);
        float s[16];
        explain(e, &f, s, NULL);
        double full = forward_value(m, f.ids, f.n, FAITH_OUT_LOGIT, 1), biggest = 0.0;
        for (int t = 0; t < f.n; t++) {
            if (f.special[t]) {
                assert_true(s[t] == 0.0f);
                continue;
            }
            int32_t ids[16], n = 0;
            for (int u = 0; u < f.n; u++)
                if (u != t) ids[n++] = f.ids[u];
                else if (repl[c] >= 0) ids[n++] = repl[c];
            double ref = full - forward_value(m, ids, n, FAITH_OUT_LOGIT, 1);
            assert_true(fabs(s[t] - ref) < 1e-5);
            biggest = fmax(biggest, fabs(ref));
        }
        assert_true(biggest > 1e-2); /* the model does react to single tokens */
        assert_int_equal(f.cost.sequences, 8); /* one per token; the input reuses it->logits */
        faith_explainer_free(e);
    }
    faith_model_free(m);
}

static void test_linear_model_exact_shapley(void **state)
{
    (void)state;
    float value[VOCAB];
    for (int v = 0; v < VOCAB; v++) value[v] = 0.1f * (float)((v * 7) % 13) - 0.6f;
    value[ID_MASK] = 0.25f;
    faith_model *m = NULL;
    assert_int_equal(faith_test_linear_model(VOCAB, value, 0.3f, 32, &m), 0);
    fixture f;
    fixture_init(&f, m, 8, TOKS, 9, FAITH_OUT_LOGIT, 1);
    double ref[16] = {0};
    for (int t = 1; t <= 8; t++) ref[t] = ((double)value[f.ids[t]] - value[ID_MASK]) / f.n;
    const char *names[] = {"kernel_shap", "kernel_shap", "shapley_sampling", "lime", "occlusion"};
    const char *cfgs[] = {"{\"samples\":40}", NULL, "{\"samples\":4}", "{\"alpha\":0,\"samples\":200}",
                          NULL};
    for (int k = 0; k < 5; k++) {
        faith_explainer *e = make(names[k], cfgs[k]);
        float s[16];
        faith_explain_extra ex = {NAN, NAN};
        explain(e, &f, s, &ex);
        for (int t = 0; t < f.n; t++) assert_true(fabs(s[t] - ref[t]) < 1e-4);
        if (k < 3) assert_true(fabs(ex.delta_f - sum(ref, 16)) < 1e-4);
        faith_explainer_free(e);
    }
    /* delete-occlusion in closed form: the mean over n tokens becomes a mean over n - 1 */
    faith_explainer *e = make("occlusion", "{\"replace\":\"delete\"}");
    float s[16];
    explain(e, &f, s, NULL);
    double total = 0.0;
    for (int t = 0; t < f.n; t++) total += value[f.ids[t]];
    for (int t = 1; t <= 8; t++) {
        double r = total / f.n - (total - value[f.ids[t]]) / (f.n - 1);
        assert_true(fabs(s[t] - r) < 1e-5);
    }
    faith_explainer_free(e);
    faith_model_free(m);
}

/* Inputs with one or no non-special token: the one token gets F(x) - F(masked) (the only
 * coalitions are the empty and the full one), none gives all zeros. LIME without its ridge
 * penalty: with it the one coefficient is shrunk towards 0, as for any d. */
static void test_one_and_no_feature(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    const char *names[] = {"occlusion", "kernel_shap", "shapley_sampling", "lime"};
    const int32_t masked[3] = {ID_CLS, ID_MASK, ID_SEP};
    for (int k = 0; k < 4; k++) {
        faith_explainer *e = make(names[k], k == 3 ? "{\"alpha\":0}" : NULL);
        fixture f;
        float s[16];
        fixture_init(&f, m, 1, TOKS + 5, 4, FAITH_OUT_LOGIT, 1);
        explain(e, &f, s, NULL);
        double ref = forward_value(m, f.ids, f.n, FAITH_OUT_LOGIT, 1) - forward_value(m, masked, 3, FAITH_OUT_LOGIT, 1);
        assert_true(fabs(ref) > 1e-3);
        if (fabs(s[1] - ref) > 1e-4) fail_msg("%s: d = 1: got %g, expected %g", names[k], (double)s[1], ref);
        assert_true(s[0] == 0.0f && s[2] == 0.0f);
        fixture_init(&f, m, 0, TOKS, 5, FAITH_OUT_LOGIT, 1);
        s[0] = s[1] = 1.0f;
        explain(e, &f, s, NULL);
        assert_true(s[0] == 0.0f && s[1] == 0.0f);
        faith_explainer_free(e);
    }
    faith_model_free(m);
}

static void test_kernel_shap_matches_enumeration_on_distilbert(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    fixture f;
    fixture_init(&f, m, 8, TOKS, 21, FAITH_OUT_LOGIT, 2);
    /* reference: 256 single forward calls and the Shapley formula */
    double v[256], ref[8];
    for (uint32_t S = 0; S < 256; S++) {
        int32_t ids[16];
        memcpy(ids, f.ids, sizeof ids);
        for (int i = 0; i < 8; i++)
            if (!(S & (1u << i))) ids[1 + i] = ID_MASK;
        v[S] = forward_value(m, ids, f.n, FAITH_OUT_LOGIT, 2);
    }
    enumerate_shapley(8, v, ref);
    double scale = 0.0;
    for (int i = 0; i < 8; i++) scale = fmax(scale, fabs(ref[i]));
    assert_true(scale > 1e-2);
    const char *cfgs[] = {"{\"samples\":30}", "{\"samples\":100}", "{\"samples\":200}"};
    double mean[3] = {0};
    for (int b = 0; b < 3; b++) {
        faith_explainer *e = make("kernel_shap", cfgs[b]);
        for (int64_t id = 0; id < 6; id++) {
            f.it.id = id;
            float s[16];
            faith_explain_extra ex;
            explain(e, &f, s, &ex);
            double phi[8];
            for (int i = 0; i < 8; i++) phi[i] = s[1 + i];
            mean[b] += max_err(phi, ref, 8) / 6;
            assert_true(fabs(sum(phi, 8) - (v[255] - v[0])) < 1e-5 * fmax(1.0, fabs(v[255])));
            assert_true(fabs(ex.delta_f - (v[255] - v[0])) < 1e-5 * fmax(1.0, fabs(v[0])));
        }
        faith_explainer_free(e);
    }
    print_message("distilbert kernel_shap mean max-error/scale at 30/100/200: %.4f %.4f %.4f\n",
                  mean[0] / scale, mean[1] / scale, mean[2] / scale);
    assert_true(mean[0] > mean[1] && mean[1] > mean[2]);
    /* all 254 coalitions: exact up to float32 logits */
    faith_explainer *e = make("kernel_shap", NULL);
    memset(&f.cost, 0, sizeof f.cost);
    float s[16];
    explain(e, &f, s, NULL);
    for (int i = 0; i < 8; i++) assert_true(fabs(s[1 + i] - ref[i]) < 1e-4 * fmax(1.0, scale));
    assert_int_equal(f.cost.sequences, 255); /* 254 + the empty coalition; full from it->logits */
    faith_explainer_free(e);
    faith_model_free(m);
}

static const char *const DET_NAMES[] = {"occlusion", "lime", "kernel_shap", "shapley_sampling"};
static const char *const DET_CFGS[] = {NULL, "{\"samples\":60}", "{\"samples\":50}",
                                       "{\"samples\":6}"};

/* An input of special tokens only has nothing to perturb: zero scores and no model call; the Shapley
 * estimators report efficiency trivially (delta_f = gap = 0), LIME leaves them unset (NaN). */
static void test_no_features(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    for (int k = 1; k < 4; k++) {
        faith_explainer *e = make(DET_NAMES[k], DET_CFGS[k]);
        fixture f;
        fixture_init(&f, m, 0, TOKS, 42, FAITH_OUT_LOGIT, 0);
        float s[2] = {7.0f, -7.0f};
        faith_explain_extra ex;
        explain(e, &f, s, &ex);
        assert_true(s[0] == 0.0f && s[1] == 0.0f);
        assert_int_equal(f.cost.sequences, 0);
        if (k == 1) assert_true(isnan(ex.delta_f) && isnan(ex.completeness_gap));
        else assert_true(ex.delta_f == 0.0 && ex.completeness_gap == 0.0);
        faith_explainer_free(e);
    }
    faith_model_free(m);
}

/* Same seed and example id: identical bits whatever was explained before (another rank's order). */
static void test_rank_independence(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    for (int k = 0; k < 4; k++) {
        faith_explainer *e = make(DET_NAMES[k], DET_CFGS[k]);
        float first[16], s[16];
        fixture f, g;
        fixture_init(&f, m, 8, TOKS, 42, FAITH_OUT_LOGIT, 0);
        explain(e, &f, first, NULL);
        fixture_init(&g, m, 6, TOKS + 2, 43, FAITH_OUT_LOGIT, 0);
        explain(e, &g, s, NULL);
        fixture_init(&f, m, 8, TOKS, 42, FAITH_OUT_LOGIT, 0);
        explain(e, &f, s, NULL);
        assert_memory_equal(first, s, sizeof(float) * (size_t)f.n);
        if (k > 0) { /* another id gives another sample */
            f.it.id = 44;
            explain(e, &f, s, NULL);
            assert_memory_not_equal(first, s, sizeof(float) * (size_t)f.n);
        }
        faith_explainer_free(e);
    }
    faith_model_free(m);
}

/* Whatever the token budget and thread count, the same bits: perturbations are cut into batches by
 * the budget, and the engine's per-sequence products make each one's logits independent of its
 * batch-mates and of the thread split (test_model.c); least-squares solves run single-threaded. */
static void test_budget_and_thread_independence(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    const int64_t budgets[] = {8192, 10, 37, 8192};
    const int threads[] = {1, 1, 2, 2};
    int saved = faith_get_threads();
    for (int k = 0; k < 4; k++) {
        faith_explainer *e = make(DET_NAMES[k], DET_CFGS[k]);
        float first[16], s[16];
        for (int b = 0; b < 4; b++) {
            fixture f;
            faith_set_threads(threads[b]);
            fixture_init(&f, m, 8, TOKS, 42, FAITH_OUT_LOGIT, 0);
            f.env.token_budget = budgets[b];
            explain(e, &f, b == 0 ? first : s, NULL);
            if (b == 1) assert_true(f.cost.forward > 1); /* the small budget did cut batches */
            if (b == 0) continue;
            if (memcmp(first, s, sizeof(float) * (size_t)f.n))
                fail_msg("%s: budget %lld on %d threads changes the scores by %g", DET_NAMES[k],
                         (long long)budgets[b], threads[b], faith_test_max_abs_diff(first, s, (size_t)f.n));
        }
        faith_explainer_free(e);
    }
    faith_set_threads(saved);
    faith_model_free(m);
}

static void test_random_explainer_seeded_per_example(void **state)
{
    (void)state;
    faith_model *m = random_distilbert();
    faith_explainer *e = make("random", NULL);
    fixture f;
    fixture_init(&f, m, 8, TOKS, 5, FAITH_OUT_PROB, 0);
    float a[16], b[16], c[16];
    explain(e, &f, a, NULL);
    explain(e, &f, b, NULL);
    f.it.id = 6;
    explain(e, &f, c, NULL);
    assert_memory_equal(a, b, sizeof(float) * 10);
    assert_memory_not_equal(a, c, sizeof(float) * 10);
    for (int t = 0; t < 10; t++) assert_true(a[t] >= 0.0f && a[t] < 1.0f);
    faith_rng r;
    faith_rng_init(&r, 1234, 5, "random");
    assert_true(a[0] == (float)faith_rng_uniform(&r));
    assert_int_equal(f.cost.forward + f.cost.sequences, 0);
    faith_explainer_free(e);
    faith_model_free(m);
}

static void test_params_are_strict(void **state)
{
    (void)state;
    faith_explainer *e = NULL;
    faith_err err = {0};
    struct { const char *name, *json, *needle; } bad[] = {
        {"lime", "{\"sampels\":10}", "sampels"},
        {"lime", "{\"samples\":\"many\"}", "samples"},
        {"lime", "{\"kernel_width\":0}", "kernel_width"},
        {"kernel_shap", "{\"mask_token\":\"blank\"}", "mask_token"},
        {"occlusion", "{\"replace\":-3}", "replace"},
        {"shapley_sampling", "{\"samples\":1.5}", "samples"},
        {"shapley_sampling", "{\"samples\":\"auto\"}", "samples"}, /* "auto" is kernel_shap's alone */
        {"lime", "{\"samples\":\"auto\"}", "samples"},
        {"kernel_shap", "{\"samples\":0}", "samples"},
        {"random", "{\"seed\":1}", "seed"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *p = cJSON_Parse(bad[i].json);
        assert_int_equal(faith_explainer_create(bad[i].name, p, &e, &err), FAITH_ERR_ARG);
        assert_non_null(strstr(err.msg, bad[i].needle));
        cJSON_Delete(p);
    }
    e = make("shapley_sampling", "{\"samples\":3}");
    cJSON *j = faith_explainer_params_json(e);
    assert_int_equal(cJSON_GetObjectItem(j, "samples")->valueint, 4);
    assert_string_equal(cJSON_GetObjectItem(j, "mask_token")->valuestring, "mask");
    cJSON_Delete(j);
    faith_explainer_free(e);
    e = make("kernel_shap", NULL);
    j = faith_explainer_params_json(e);
    assert_string_equal(cJSON_GetObjectItem(j, "samples")->valuestring, "auto");
    cJSON_Delete(j);
    faith_explainer_free(e);
    e = make("kernel_shap", "{\"samples\":64,\"mask_token\":\"pad\"}");
    j = faith_explainer_params_json(e);
    assert_int_equal(cJSON_GetObjectItem(j, "samples")->valueint, 64);
    assert_string_equal(cJSON_GetObjectItem(j, "mask_token")->valuestring, "pad");
    cJSON_Delete(j);
    faith_explainer_free(e);
    e = make("lime", "{\"mask_token\":7}");
    j = faith_explainer_params_json(e);
    assert_int_equal(cJSON_GetObjectItem(j, "samples")->valueint, 1000);
    assert_int_equal(cJSON_GetObjectItem(j, "mask_token")->valueint, 7);
    cJSON_Delete(j);
    faith_explainer_free(e);
    e = make("occlusion", "{\"replace\":17}");
    j = faith_explainer_params_json(e);
    assert_int_equal(cJSON_GetObjectItem(j, "replace")->valueint, 17);
    cJSON_Delete(j);
    faith_explainer_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_game_closed_form_matches_enumeration),
        cmocka_unit_test(test_linalg_wls_stationarity),
        cmocka_unit_test(test_lime_masks_weights_and_fit),
        cmocka_unit_test(test_kernel_shap_exact_when_enumerating),
        cmocka_unit_test(test_kernel_shap_error_shrinks_with_samples),
        cmocka_unit_test(test_kernel_shap_plan_is_paired_and_normalised),
        cmocka_unit_test(test_shapley_sampling_error_shrinks_and_efficiency_exact),
        cmocka_unit_test(test_occlusion_matches_separate_forwards),
        cmocka_unit_test(test_linear_model_exact_shapley),
        cmocka_unit_test(test_kernel_shap_matches_enumeration_on_distilbert),
        cmocka_unit_test(test_one_and_no_feature),
        cmocka_unit_test(test_no_features),
        cmocka_unit_test(test_rank_independence),
        cmocka_unit_test(test_budget_and_thread_independence),
        cmocka_unit_test(test_random_explainer_seeded_per_example),
        cmocka_unit_test(test_params_are_strict),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
