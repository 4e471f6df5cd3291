/* explainer_registry.c: the table of built-in explainers, creation by name with the shared options
 * (target, output, aggregate, special), target resolution and word-level aggregation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explainer.h"
#include "params.h"

extern const faith_explainer_ops faith_explainer_saliency;
extern const faith_explainer_ops faith_explainer_grad_x_input;
extern const faith_explainer_ops faith_explainer_integrated_gradients;
extern const faith_explainer_ops faith_explainer_smoothgrad;
extern const faith_explainer_ops faith_explainer_attention;
extern const faith_explainer_ops faith_explainer_attention_rollout;
extern const faith_explainer_ops faith_explainer_attention_x_gradient;
extern const faith_explainer_ops faith_explainer_random;
extern const faith_explainer_ops faith_explainer_occlusion;
extern const faith_explainer_ops faith_explainer_lime;
extern const faith_explainer_ops faith_explainer_kernel_shap;
extern const faith_explainer_ops faith_explainer_shapley_sampling;

/* Adding an explainer: its extern declaration above and one line here. Order is listing order. */
static const faith_explainer_ops *const EXPLAINERS[] = {
    &faith_explainer_saliency,
    &faith_explainer_grad_x_input,
    &faith_explainer_integrated_gradients,
    &faith_explainer_smoothgrad,
    &faith_explainer_attention,
    &faith_explainer_attention_rollout,
    &faith_explainer_attention_x_gradient,
    &faith_explainer_random,
    &faith_explainer_occlusion,
    &faith_explainer_lime,
    &faith_explainer_kernel_shap,
    &faith_explainer_shapley_sampling,
};

#define N_EXPLAINERS (sizeof EXPLAINERS / sizeof EXPLAINERS[0])

size_t faith_explainer_count(void) { return N_EXPLAINERS; }

const faith_explainer_ops *faith_explainer_at(size_t i)
{
    return i < N_EXPLAINERS ? EXPLAINERS[i] : NULL;
}

const faith_explainer_ops *faith_explainer_find(const char *name)
{
    for (size_t i = 0; name && i < N_EXPLAINERS; i++)
        if (strcmp(EXPLAINERS[i]->name, name) == 0) return EXPLAINERS[i];
    return NULL;
}

/* Levenshtein distance with one rolling row; names are short. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    size_t *row = faith_xmalloc((nb + 1) * sizeof *row);
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[nb];
    free(row);
    return d;
}

const char *faith_closest_name(const char *name, const char *const *list, size_t n)
{
    if (!name) return NULL;
    /* "Close" is a third of the longer name's length (at least 2 edits): catches typos and
     * dropped underscores without suggesting unrelated names. */
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, list[i]);
        size_t la = strlen(name), lb = strlen(list[i]);
        size_t limit = (la > lb ? la : lb) / 3;
        if (limit < 2) limit = 2;
        if (d <= limit && d < best_d) {
            best = list[i];
            best_d = d;
        }
    }
    return best;
}

static int unknown_name(const char *name, faith_err *err)
{
    const char *names[64];
    size_t n = 0;
    char list[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_EXPLAINERS; i++) {
        if (n < 64) names[n++] = EXPLAINERS[i]->name;
        if (used < sizeof list)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                                     EXPLAINERS[i]->name);
    }
    const char *near = faith_closest_name(name, names, n);
    if (near)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "unknown explainer '%s' (did you mean '%s'?); known explainers: %s",
                             name ? name : "(null)", near, list);
    return faith_err_set(err, FAITH_ERR_ARG, "unknown explainer '%s'; known explainers: %s",
                         name ? name : "(null)", list);
}

/* target: "pred" | "gold" | class index (a number, or a string holding one, as the CLI gives). */
static int parse_target(const char *name, const cJSON *v, faith_target_spec *t, faith_err *err)
{
    t->kind = FAITH_TARGET_PRED;
    t->cls = -1;
    if (!v) return FAITH_OK;
    if (cJSON_IsString(v) && strcmp(v->valuestring, "pred") == 0) return FAITH_OK;
    if (cJSON_IsString(v) && strcmp(v->valuestring, "gold") == 0) {
        t->kind = FAITH_TARGET_GOLD;
        return FAITH_OK;
    }
    double d = NAN;
    char *end = NULL;
    if (cJSON_IsNumber(v)) d = v->valuedouble;
    else if (cJSON_IsString(v) && v->valuestring[0]) {
        d = strtod(v->valuestring, &end);
        if (*end) d = NAN;
    }
    if (!(d >= 0 && d < FAITH_MAX_CLASSES && d == floor(d)))
        return faith_err_set(err, FAITH_ERR_ARG,
                             "explainers.%s.params.target: expected \"pred\", \"gold\" or a class "
                             "index in [0, %d)", name, FAITH_MAX_CLASSES);
    t->kind = FAITH_TARGET_FIXED;
    t->cls = (int32_t)d;
    return FAITH_OK;
}

static const char *const AGG_NAMES[] = {"sum", "mean", "max", "first"};
static const char *const OUT_NAMES[] = {"prob", "logit", "logprob"};
static const char *const SPECIAL_NAMES[] = {"keep", "zero"};

static int parse_shared(const char *name, const cJSON *params, faith_explainer *e, faith_err *err)
{
    char owner[128];
    snprintf(owner, sizeof owner, "explainers.%s", name);
    int v;
    FAITH_TRY(parse_target(name, params ? cJSON_GetObjectItemCaseSensitive(params, "target") : NULL,
                           &e->target, err));
    /* Table order matches faith_output's enum; checked so a reordering cannot go unnoticed. */
    FAITH_TRY(faith_params_choice(owner, params, "output", OUT_NAMES, 3, 0, &v, err));
    if (faith_output_parse(OUT_NAMES[v], &e->output) < 0)
        return faith_err_set(err, FAITH_ERR_INTERNAL, "output name %s not parsed", OUT_NAMES[v]);
    FAITH_TRY(faith_params_choice(owner, params, "aggregate", AGG_NAMES, 4, 0, &v, err));
    e->aggregate = (faith_aggregate)v;
    FAITH_TRY(faith_params_choice(owner, params, "special", SPECIAL_NAMES, 2, 0, &v, err));
    e->zero_special = v;
    return FAITH_OK;
}

int faith_explainer_create(const char *name, const cJSON *params, faith_explainer **out,
                           faith_err *err)
{
    *out = NULL;
    const faith_explainer_ops *ops = faith_explainer_find(name);
    if (!ops) return unknown_name(name, err);
    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params))
        return faith_err_set(err, FAITH_ERR_ARG, "explainers.%s.params: expected an object", name);
    if (params && cJSON_IsNull(params)) params = NULL;
    faith_explainer *e = faith_xcalloc(1, sizeof *e);
    e->ops = ops;
    int rc = parse_shared(name, params, e, err);
    if (rc < 0) {
        free(e);
        return rc;
    }
    cJSON *own = params ? cJSON_Duplicate(params, 1) : NULL;
    static const char *const SHARED[] = {"target", "output", "aggregate", "special"};
    for (size_t i = 0; own && i < 4; i++) cJSON_DeleteItemFromObjectCaseSensitive(own, SHARED[i]);
    if (ops->create) {
        rc = ops->create(own, &e->state, err);
    } else {
        /* An explainer without create takes no parameters of its own and keeps no state. */
        char owner[96];
        snprintf(owner, sizeof owner, "explainers.%s", name);
        rc = faith_params_check(owner, own, NULL, 0, err);
    }
    cJSON_Delete(own);
    if (rc < 0) {
        free(e);
        return rc;
    }
    *out = e;
    return FAITH_OK;
}

void faith_explainer_free(faith_explainer *e)
{
    if (!e) return;
    if (e->ops && e->ops->destroy) e->ops->destroy(e->state);
    free(e);
}

cJSON *faith_explainer_params_json(const faith_explainer *e)
{
    cJSON *j = e->ops->params_json ? e->ops->params_json(e->state) : NULL;
    if (!j) j = cJSON_CreateObject();
    if (e->target.kind == FAITH_TARGET_FIXED) cJSON_AddNumberToObject(j, "target", e->target.cls);
    else cJSON_AddStringToObject(j, "target", e->target.kind == FAITH_TARGET_GOLD ? "gold" : "pred");
    cJSON_AddStringToObject(j, "output", faith_output_name(e->output));
    cJSON_AddStringToObject(j, "aggregate", AGG_NAMES[e->aggregate]);
    cJSON_AddStringToObject(j, "special", SPECIAL_NAMES[e->zero_special ? 1 : 0]);
    return j;
}

int faith_explainer_target(const faith_explainer *e, int32_t pred, int32_t gold, int32_t n_classes,
                           int32_t *target, faith_err *err)
{
    int32_t t = pred;
    if (e->target.kind == FAITH_TARGET_GOLD) {
        if (gold < 0)
            return faith_err_set(err, FAITH_ERR_ARG,
                                 "explainers.%s.params.target: \"gold\" needs a gold label, the "
                                 "example has none", e->ops->name);
        t = gold;
    } else if (e->target.kind == FAITH_TARGET_FIXED) {
        t = e->target.cls;
    }
    if (t < 0 || t >= n_classes)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "explainers.%s.params.target: class %d out of range [0, %d)",
                             e->ops->name, (int)t, (int)n_classes);
    *target = t;
    return FAITH_OK;
}

int faith_explainer_check(const faith_explainer *e, const faith_env *env, int32_t n_classes, faith_err *err)
{
    /* pred 0 is always a class, so only a fixed target can fail here (gold is checked per example) */
    int32_t t;
    if (e->target.kind == FAITH_TARGET_FIXED) FAITH_TRY(faith_explainer_target(e, 0, -1, n_classes, &t, err));
    return e->ops->check ? e->ops->check(e->state, env, err) : FAITH_OK;
}

int faith_explainer_explain(const faith_explainer *e, const faith_env *env, const faith_item *it,
                            float *scores, faith_explain_extra *extra, faith_err *err)
{
    faith_env own = *env;
    own.output = e->output;
    faith_explain_extra ex = {NAN, NAN};
    int rc = e->ops->explain(e->state, &own, it, scores, &ex, err);
    if (rc < 0) {
        /* name the explainer once: its own parameter errors start with "explainers.<name>." */
        char own_name[96];
        int n = snprintf(own_name, sizeof own_name, "explainers.%s.", e->ops->name);
        if (err && strncmp(err->msg, own_name, (size_t)n) == 0) return rc;
        return faith_err_prefix(err, "explainers.%s: ", e->ops->name);
    }
    /* A NaN score (gradients that overflow float in a model whose logits did not) would be ranked
     * and averaged as if it were a number: an error instead, as for non-finite logits; checked
     * before special=zero, so that the verdict does not depend on that option. */
    for (int32_t t = 0; t < it->n; t++)
        if (!isfinite(scores[t]))
            return faith_err_set(err, FAITH_ERR_RANGE, "explainers.%s: token %d's score is not finite (%g): the "
                                 "model's values overflow float (a diverged or corrupt model?)",
                                 e->ops->name, (int)t, (double)scores[t]);
    if (e->zero_special && it->special)
        for (int32_t t = 0; t < it->n; t++)
            if (it->special[t]) scores[t] = 0.0f;
    if (extra) *extra = ex;
    return FAITH_OK;
}

int faith_aggregate_words(faith_aggregate agg, const float *scores, const int32_t *word, int32_t n,
                          int32_t n_words, float *word_scores, faith_err *err)
{
    if (n_words <= 0) return FAITH_OK;
    int32_t *count = faith_xcalloc((size_t)n_words, sizeof *count);
    double *acc = faith_xcalloc((size_t)n_words, sizeof *acc);
    for (int32_t t = 0; t < n; t++) {
        int32_t w = word[t];
        if (w < 0 || w >= n_words) continue;
        double s = scores[t];
        if (count[w] == 0) acc[w] = s;
        else if (agg == FAITH_AGG_SUM || agg == FAITH_AGG_MEAN) acc[w] += s;
        else if (agg == FAITH_AGG_MAX && s > acc[w]) acc[w] = s;
        count[w]++;
    }
    int rc = FAITH_OK;
    for (int32_t w = 0; w < n_words; w++) {
        double v = count[w] ? acc[w] : 0.0;
        if (agg == FAITH_AGG_MEAN && count[w]) v /= count[w];
        word_scores[w] = (float)v;
        if (rc == FAITH_OK && !isfinite(word_scores[w]))
            rc = faith_err_set(err, FAITH_ERR_RANGE, "word %d's score %g overflows float (the model's values "
                               "are too large: a diverged or corrupt model?)", (int)w, v);
    }
    free(count);
    free(acc);
    return rc;
}
