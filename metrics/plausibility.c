/* plausibility.c: token F1, IOU F1 and AUPRC of word scores against human rationales, and
 * their metric plug-ins; examples without a rationale get NaN. */
#include "plausibility.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"
#include "mparams.h"
#include "params.h"
#include "perturb.h"

static int32_t count_on(const uint8_t *v, int32_t n)
{
    int32_t c = 0;
    for (int32_t i = 0; i < n; i++) c += v[i] != 0;
    return c;
}

static double f1(double p, double r)
{
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

/* pred[i] = 1 for the top-k words. */
static void top_words(const float *ws, int32_t n, int32_t k, uint8_t *pred)
{
    int32_t *order = faith_xmalloc(sizeof *order * (size_t)n);
    faith_perturb_rank(ws, NULL, n, 0, 0, order);
    memset(pred, 0, (size_t)n);
    if (k > n) k = n;
    for (int32_t i = 0; i < k; i++) pred[order[i]] = 1;
    free(order);
}

double faith_plaus_token_f1(const float *word_scores, const uint8_t *rationale, int32_t n, int32_t k)
{
    int32_t g = n > 0 ? count_on(rationale, n) : 0;
    if (g == 0) return NAN;
    uint8_t *pred = faith_xmalloc((size_t)n);
    top_words(word_scores, n, k, pred);
    int32_t tp = 0, np = count_on(pred, n);
    for (int32_t i = 0; i < n; i++) tp += pred[i] && rationale[i];
    free(pred);
    return np ? f1((double)tp / np, (double)tp / g) : 0.0;
}

/* Spans [start, end) of the runs of ones in v; returns their count. */
static int32_t spans(const uint8_t *v, int32_t n, int32_t *start, int32_t *end)
{
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++) {
        if (!v[i] || (i > 0 && v[i - 1])) continue;
        int32_t j = i;
        while (j < n && v[j]) j++;
        start[m] = i;
        end[m++] = j;
    }
    return m;
}

double faith_plaus_iou_f1(const float *word_scores, const uint8_t *rationale, int32_t n, int32_t k,
                          double threshold)
{
    if (n <= 0 || count_on(rationale, n) == 0) return NAN;
    uint8_t *pred = faith_xmalloc((size_t)n);
    int32_t *buf = faith_xmalloc(sizeof *buf * 4 * (size_t)n);
    int32_t *ps = buf, *pe = buf + n, *gs = buf + 2 * n, *ge = buf + 3 * n;
    top_words(word_scores, n, k, pred);
    int32_t np = spans(pred, n, ps, pe), ng = spans(rationale, n, gs, ge), tp = 0;
    for (int32_t a = 0; a < np; a++) {
        double best = 0;
        for (int32_t b = 0; b < ng; b++) {
            int32_t lo = ps[a] > gs[b] ? ps[a] : gs[b], hi = pe[a] < ge[b] ? pe[a] : ge[b];
            int32_t inter = hi > lo ? hi - lo : 0;
            int32_t uni = (pe[a] - ps[a]) + (ge[b] - gs[b]) - inter;
            double iou = uni > 0 ? (double)inter / uni : 0.0;
            if (iou > best) best = iou;
        }
        tp += best >= threshold;
    }
    free(pred);
    free(buf);
    return f1(np ? (double)tp / np : 0.0, (double)tp / ng);
}

double faith_plaus_auprc(const float *word_scores, const uint8_t *rationale, int32_t n)
{
    int32_t g = n > 0 ? count_on(rationale, n) : 0;
    if (g == 0) return NAN;
    int32_t *order = faith_xmalloc(sizeof *order * (size_t)n);
    faith_perturb_rank(word_scores, NULL, n, 0, 0, order);
    double ap = 0, prev_r = 0;
    int32_t tp = 0, seen = 0;
    for (int32_t i = 0; i < n;) {
        /* one threshold per distinct score: the whole tie group enters together */
        int32_t j = i;
        float s = word_scores[order[i]];
        while (j < n && (word_scores[order[j]] == s || (isnan(s) && isnan(word_scores[order[j]])))) {
            tp += rationale[order[j]] != 0;
            j++;
        }
        seen = j;
        double r = (double)tp / g, p = (double)tp / seen;
        ap += (r - prev_r) * p;
        prev_r = r;
        i = j;
    }
    free(order);
    return ap;
}

/* ---- metric plug-ins ---- */

enum { PL_TOKEN_F1 = 0, PL_IOU_F1, PL_AUPRC };
enum { K_MEAN = 0, K_RATIONALE = 1, K_FIXED = 2 };

/* k: "mean" (default) takes k_value, the dataset's mean rationale length, given in params or set
 * by the runner once the dataset is loaded (faith_plaus_set_mean_k); rounded to the nearest
 * integer, at least 1. Until a k_value is known, "mean" falls back to each example's own
 * rationale length and params_json says so ("k_value": null). "rationale" always uses each
 * example's own rationale length; an integer fixes k. */
typedef struct plaus {
    int kind;
    int k_mode;
    double k_value;
    int32_t k_fixed;
    double iou;
} plaus;

static const char *const NAMES[] = {"token_f1", "iou_f1", "auprc"};
static const char *const KEYS_K[] = {"k", "k_value", "iou_threshold"};

static int plaus_create(int kind, const cJSON *params, void **state, faith_err *err)
{
    char owner[64];
    snprintf(owner, sizeof owner, "metrics.%s", NAMES[kind]);
    plaus s = {.kind = kind, .k_mode = K_MEAN, .k_value = NAN, .iou = 0.5};
    size_t n_keys = kind == PL_AUPRC ? 0 : kind == PL_TOKEN_F1 ? 2 : 3;
    FAITH_TRY(faith_params_check(owner, params, KEYS_K, n_keys, err));
    if (kind == PL_AUPRC) goto done;
    const cJSON *k = params && cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "k") : NULL;
    if (k && cJSON_IsString(k) && strcmp(k->valuestring, "rationale") == 0) s.k_mode = K_RATIONALE;
    else if (k && cJSON_IsNumber(k) && k->valuedouble >= 1 && k->valuedouble <= 1e6 &&
             k->valuedouble == floor(k->valuedouble)) {
        s.k_mode = K_FIXED;
        s.k_fixed = (int32_t)k->valuedouble;
    } else if (k && !(cJSON_IsString(k) && strcmp(k->valuestring, "mean") == 0))
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s.params.k: expected \"mean\", \"rationale\" or an integer >= 1",
                             owner);
    FAITH_TRY(faith_params_double(owner, params, "k_value", NAN, 0.0, 1e9, &s.k_value, err));
    if (faith_mparams_has(params, "k_value") && !(s.k_value > 0))
        return faith_err_set(err, FAITH_ERR_ARG,
                             "%s.params.k_value: expected the dataset's mean rationale length (> 0)",
                             owner);
    if (kind == PL_IOU_F1)
        FAITH_TRY(faith_params_double(owner, params, "iou_threshold", 0.5, 0.0, 1.0, &s.iou, err));
done:;
    plaus *out = faith_xmalloc(sizeof *out);
    *out = s;
    *state = out;
    return FAITH_OK;
}

static int tf1_create(const cJSON *p, void **s, faith_err *e) { return plaus_create(PL_TOKEN_F1, p, s, e); }
static int iou_create(const cJSON *p, void **s, faith_err *e) { return plaus_create(PL_IOU_F1, p, s, e); }
static int ap_create(const cJSON *p, void **s, faith_err *e) { return plaus_create(PL_AUPRC, p, s, e); }

static void plaus_destroy(void *state)
{
    free(state);
}

static cJSON *plaus_params_json(const void *state)
{
    const plaus *s = state;
    cJSON *o = cJSON_CreateObject();
    if (s->kind == PL_AUPRC) return o;
    if (s->k_mode == K_FIXED) cJSON_AddNumberToObject(o, "k", s->k_fixed);
    else cJSON_AddStringToObject(o, "k", s->k_mode == K_MEAN ? "mean" : "rationale");
    if (s->k_mode == K_MEAN) {
        if (s->k_value > 0) cJSON_AddNumberToObject(o, "k_value", s->k_value);
        else cJSON_AddNullToObject(o, "k_value");
    }
    if (s->kind == PL_IOU_F1) cJSON_AddNumberToObject(o, "iou_threshold", s->iou);
    return o;
}

static void plaus_layout(const void *state, faith_metric_layout *out)
{
    const plaus *s = state;
    memset(out, 0, sizeof *out);
    out->n_cols = 1;
    out->cols[0] = s->kind == PL_TOKEN_F1 ? "f1" : s->kind == PL_IOU_F1 ? "iou_f1" : "auprc";
    out->higher_is_better[0] = 1;
}

static int plaus_measure(void *state, const faith_env *env, const faith_item *it,
                         const float *scores, const float *word_scores, double *record,
                         faith_err *err)
{
    (void)env;
    (void)scores;
    (void)err;
    const plaus *s = state;
    record[0] = NAN;
    if (!it->rationale || it->n_words <= 0) return FAITH_OK;
    int32_t k = s->k_mode == K_FIXED                      ? s->k_fixed
                : s->k_mode == K_MEAN && s->k_value > 0   ? (int32_t)floor(s->k_value + 0.5)
                                                          : count_on(it->rationale, it->n_words);
    if (k < 1) k = 1;
    if (s->kind == PL_TOKEN_F1) record[0] = faith_plaus_token_f1(word_scores, it->rationale, it->n_words, k);
    else if (s->kind == PL_IOU_F1)
        record[0] = faith_plaus_iou_f1(word_scores, it->rationale, it->n_words, k, s->iou);
    else record[0] = faith_plaus_auprc(word_scores, it->rationale, it->n_words);
    return FAITH_OK;
}

int faith_plaus_set_mean_k(faith_metric *m, double mean_len)
{
    if (!m || m->ops->family != FAITH_FAMILY_PLAUSIBILITY || !(mean_len > 0)) return 0;
    plaus *s = m->state;
    if (s->kind == PL_AUPRC || s->k_mode != K_MEAN || s->k_value > 0) return 0;
    s->k_value = mean_len;
    return 1;
}

#define PLAUS_OPS(var, nm, fn, sum)                                                          \
    const faith_metric_ops var = {.name = nm, .version = "1", .summary = sum,               \
                                  .family = FAITH_FAMILY_PLAUSIBILITY, .needs_rationale = 1, \
                                  .create = fn, .destroy = plaus_destroy,                   \
                                  .params_json = plaus_params_json, .layout = plaus_layout, \
                                  .measure = plaus_measure}

PLAUS_OPS(faith_metric_token_f1, "token_f1", tf1_create, "F1 of the top-k words against the human rationale");
PLAUS_OPS(faith_metric_iou_f1, "iou_f1", iou_create, "ERASER partial-match F1 of top-k word spans (IOU >= 0.5)");
PLAUS_OPS(faith_metric_auprc, "auprc", ap_create, "average precision of word scores against the human rationale");
