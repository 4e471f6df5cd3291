/* coalition.c: mask sets (open-addressing hash of byte masks), replacement tokens, coalition
 * values through one faith_run_logits call, and strict parsing of explainer parameters. */
#include "coalition.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "params.h"

/* ---- mask sets ---- */

struct faith_mask_set {
    int32_t d;
    int64_t size, cap_keys;
    uint8_t *keys;      /* (cap_keys, d) in insertion order */
    uint64_t *hashes;   /* (cap_keys) hash of each key, kept for rehashing */
    int64_t *slots;     /* (n_slots) key number or -1 */
    uint64_t n_slots;   /* power of two, at least twice size */
};

static uint64_t mask_hash(const uint8_t *m, int32_t d)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int32_t i = 0; i < d; i++) h = (h ^ m[i]) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

faith_mask_set *faith_mask_set_create(int32_t d)
{
    faith_mask_set *s = faith_xcalloc(1, sizeof *s);
    s->d = d;
    s->cap_keys = 16;
    s->keys = faith_xmalloc((size_t)s->cap_keys * (size_t)(d > 0 ? d : 1));
    s->hashes = faith_xmalloc((size_t)s->cap_keys * sizeof *s->hashes);
    s->n_slots = 64;
    s->slots = faith_xmalloc(s->n_slots * sizeof *s->slots);
    for (uint64_t i = 0; i < s->n_slots; i++) s->slots[i] = -1;
    return s;
}

void faith_mask_set_free(faith_mask_set *s)
{
    if (!s) return;
    free(s->keys);
    free(s->hashes);
    free(s->slots);
    free(s);
}

static uint64_t probe(const faith_mask_set *s, const uint8_t *mask, uint64_t h)
{
    uint64_t i = h & (s->n_slots - 1);
    for (;;) {
        int64_t k = s->slots[i];
        if (k < 0) return i;
        if (s->hashes[k] == h && memcmp(s->keys + (size_t)k * s->d, mask, (size_t)s->d) == 0)
            return i;
        i = (i + 1) & (s->n_slots - 1);
    }
}

int64_t faith_mask_set_find(const faith_mask_set *s, const uint8_t *mask)
{
    return s->slots[probe(s, mask, mask_hash(mask, s->d))];
}

static void grow_slots(faith_mask_set *s)
{
    free(s->slots);
    s->n_slots *= 2;
    s->slots = faith_xmalloc(s->n_slots * sizeof *s->slots);
    for (uint64_t i = 0; i < s->n_slots; i++) s->slots[i] = -1;
    for (int64_t k = 0; k < s->size; k++) {
        uint64_t i = s->hashes[k] & (s->n_slots - 1);
        while (s->slots[i] >= 0) i = (i + 1) & (s->n_slots - 1);
        s->slots[i] = k;
    }
}

int64_t faith_mask_set_add(faith_mask_set *s, const uint8_t *mask, int *added)
{
    uint64_t h = mask_hash(mask, s->d);
    uint64_t i = probe(s, mask, h);
    if (s->slots[i] >= 0) {
        if (added) *added = 0;
        return s->slots[i];
    }
    if (s->size == s->cap_keys) {
        s->cap_keys *= 2;
        s->keys = faith_xrealloc(s->keys, (size_t)s->cap_keys * (size_t)(s->d > 0 ? s->d : 1));
        s->hashes = faith_xrealloc(s->hashes, (size_t)s->cap_keys * sizeof *s->hashes);
    }
    int64_t k = s->size++;
    memcpy(s->keys + (size_t)k * s->d, mask, (size_t)s->d);
    s->hashes[k] = h;
    s->slots[i] = k;
    if ((uint64_t)s->size * 2 > s->n_slots) grow_slots(s);
    if (added) *added = 1;
    return k;
}

int64_t faith_mask_set_size(const faith_mask_set *s) { return s->size; }

const uint8_t *faith_mask_set_data(const faith_mask_set *s) { return s->keys; }

void faith_mask_random_subset(int32_t d, int32_t k, int present, faith_rng *rng, int32_t *perm,
                              uint8_t *mask)
{
    memset(mask, present ? 0 : 1, (size_t)d);
    for (int32_t i = 0; i < k && i < d; i++) {
        int32_t j = i + (int32_t)faith_rng_below(rng, (uint64_t)(d - i));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        mask[perm[i]] = present ? 1 : 0;
    }
}

/* ---- replacement tokens ---- */

static const char *const REPLACE_NAMES[] = {"mask", "pad", "unk", NULL, "delete"};

int faith_replace_parse(const char *owner, const cJSON *params, const char *key, faith_replace def,
                        faith_replace *out, faith_err *err)
{
    const cJSON *v = params && cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, key)
                                                      : NULL;
    if (!v) {
        *out = def;
        return FAITH_OK;
    }
    if (cJSON_IsString(v)) {
        for (int k = 0; k < 5; k++)
            if (REPLACE_NAMES[k] && strcmp(v->valuestring, REPLACE_NAMES[k]) == 0) {
                out->kind = (faith_replace_kind)k;
                out->id = -1;
                return FAITH_OK;
            }
    } else if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= INT32_MAX &&
               floor(v->valuedouble) == v->valuedouble) {
        out->kind = FAITH_REPLACE_ID;
        out->id = (int32_t)v->valuedouble;
        return FAITH_OK;
    }
    return faith_err_set(err, FAITH_ERR_ARG,
                         "%s.params.%s: expected \"mask\", \"pad\", \"unk\", \"delete\" or a "
                         "token id >= 0", owner, key);
}

cJSON *faith_replace_json(const faith_replace *r)
{
    if (r->kind == FAITH_REPLACE_ID) return cJSON_CreateNumber((double)r->id);
    return cJSON_CreateString(REPLACE_NAMES[r->kind]);
}

int faith_sampling_params_parse(const char *owner, const cJSON *params, int64_t def, int64_t max, int auto_ok,
                                faith_sampling_params *out, faith_err *err)
{
    const cJSON *v = params ? cJSON_GetObjectItemCaseSensitive(params, "samples") : NULL;
    out->samples = 0;
    if (!(auto_ok && cJSON_IsString(v) && strcmp(v->valuestring, "auto") == 0))
        FAITH_TRY(faith_params_int(owner, params, "samples", def, 1, max, &out->samples, err));
    faith_replace mask = {FAITH_REPLACE_MASK, -1};
    return faith_replace_parse(owner, params, "mask_token", mask, &out->mask_token, err);
}

void faith_sampling_params_json(const faith_sampling_params *p, cJSON *o)
{
    if (p->samples > 0) cJSON_AddNumberToObject(o, "samples", (double)p->samples);
    else cJSON_AddStringToObject(o, "samples", "auto");
    cJSON_AddItemToObject(o, "mask_token", faith_replace_json(&p->mask_token));
}

int faith_replace_resolve(const faith_replace *r, const faith_env *env, int32_t *id, faith_err *err)
{
    int32_t v = -1;
    switch (r->kind) {
    case FAITH_REPLACE_DELETE: *id = -1; return FAITH_OK;
    case FAITH_REPLACE_MASK: v = env->special.mask; break;
    case FAITH_REPLACE_PAD: v = env->special.pad; break;
    case FAITH_REPLACE_UNK: v = env->special.unk; break;
    case FAITH_REPLACE_ID: v = r->id; break;
    }
    if (v < 0)
        return faith_err_set(err, FAITH_ERR_ARG,
                             "replacement \"%s\": the tokenizer has no such special token "
                             "(use another replacement or a token id)",
                             REPLACE_NAMES[r->kind]);
    int32_t vocab = faith_model_cfg(env->model)->vocab_size;
    if (v >= vocab)
        return faith_err_set(err, FAITH_ERR_ARG, "replacement token id %d is outside the vocabulary (%d)",
                             (int)v, (int)vocab);
    *id = v;
    return FAITH_OK;
}

int faith_replace_check(const char *owner, const char *key, const faith_replace *r, const faith_env *env,
                        faith_err *err)
{
    int32_t id;
    if (faith_replace_resolve(r, env, &id, err) < 0)
        return faith_err_prefix(err, "%s.params.%s: ", owner, key);
    return FAITH_OK;
}

/* ---- coalition values ---- */

int32_t faith_coalition_begin(const faith_item *it, float *scores, faith_explain_extra *extra, int32_t **feat)
{
    memset(scores, 0, (size_t)it->n * sizeof *scores);
    if (extra) extra->completeness_gap = extra->delta_f = NAN;
    *feat = faith_xmalloc((size_t)(it->n > 0 ? it->n : 1) * sizeof **feat);
    int32_t d = faith_coalition_features(it, *feat);
    if (d == 0) {
        free(*feat);
        *feat = NULL;
    }
    return d;
}

void faith_coalition_shapley_scores(int32_t d, const int32_t *feat, const double *phi, double delta,
                                    float *scores, faith_explain_extra *extra)
{
    double sum = 0.0;
    for (int32_t j = 0; j < d; j++) {
        scores[feat[j]] = (float)phi[j];
        sum += scores[feat[j]];
    }
    if (extra) {
        extra->delta_f = delta;
        extra->completeness_gap = fabs(sum - delta);
    }
}

int32_t faith_coalition_features(const faith_item *it, int32_t *feat)
{
    int32_t d = 0;
    for (int32_t t = 0; t < it->n; t++)
        if (!(it->special && it->special[t])) feat[d++] = t;
    return d;
}

int faith_coalition_value_of(const faith_env *env, const faith_item *it, const float *logits,
                             double *value, faith_err *err)
{
    int32_t K = faith_model_cfg(env->model)->n_classes;
    if (it->target < 0 || it->target >= K)
        return faith_err_set(err, FAITH_ERR_RANGE, "example %lld: target class %d outside 0..%d",
                             (long long)it->id, (int)it->target, (int)K - 1);
    *value = faith_output_value(env->output, logits, K, it->target, NULL);
    return FAITH_OK;
}

int32_t faith_perturb_tokens(int32_t n, const int32_t *ids, const int32_t *type_ids, const uint8_t *special,
                             const uint8_t *remove, int32_t fill, int32_t *out_ids, int32_t *out_types)
{
    int32_t m = 0;
    for (int32_t t = 0; t < n; t++) {
        int rm = remove[t] && !(special && special[t]);
        if (rm && fill < 0) continue; /* delete */
        out_ids[m] = rm ? fill : ids[t];
        out_types[m] = type_ids ? type_ids[t] : 0;
        m++;
    }
    return m;
}

/* Write the perturbed sequence of a coalition mask (over the features feat) into ids/type_ids;
 * remove is scratch of it->n bytes. Returns the length. */
static int32_t build_sequence(const faith_item *it, int32_t repl_id, int32_t d, const int32_t *feat,
                              const uint8_t *mask, uint8_t *remove, int32_t *ids, int32_t *type_ids)
{
    memset(remove, 0, (size_t)it->n);
    for (int32_t f = 0; f < d; f++) remove[feat[f]] = !mask[f];
    return faith_perturb_tokens(it->n, it->ids, it->type_ids, it->special, remove, repl_id, ids, type_ids);
}

int faith_coalition_values(const faith_env *env, const faith_item *it, const faith_replace *r,
                           int32_t d, const int32_t *feat, int64_t n, const uint8_t *masks,
                           double *values, faith_err *err)
{
    int32_t repl_id;
    FAITH_TRY(faith_replace_resolve(r, env, &repl_id, err));
    if (n <= 0) return FAITH_OK;
    uint8_t *ones = faith_xmalloc((size_t)(d > 0 ? d : 1));
    memset(ones, 1, (size_t)(d > 0 ? d : 1));
    faith_mask_set *set = faith_mask_set_create(d);
    int64_t *which = faith_xmalloc((size_t)n * sizeof *which);
    int64_t full = -1;
    if (it->logits) full = faith_mask_set_add(set, ones, NULL); /* known: number 0, not run */
    for (int64_t i = 0; i < n; i++) which[i] = faith_mask_set_add(set, masks + (size_t)i * d, NULL);
    int64_t n_unique = faith_mask_set_size(set), first = full >= 0 ? 1 : 0;
    int64_t n_run = n_unique - first;
    int rc = FAITH_OK;
    int32_t *ids = NULL, *tids = NULL, *len = NULL;
    uint8_t *remove = NULL;
    const int32_t **pid = NULL, **ptid = NULL;
    float *logits = NULL;
    double *uval = faith_xmalloc((size_t)n_unique * sizeof *uval);
    if (full >= 0) FAITH_CHECK(faith_coalition_value_of(env, it, it->logits, &uval[0], err));
    if (n_run > INT32_MAX) {
        rc = faith_err_set(err, FAITH_ERR_RANGE, "example %lld: %lld perturbations in one call, max %d",
                           (long long)it->id, (long long)n_run, INT32_MAX);
        goto cleanup;
    }
    if (n_run > 0) {
        int32_t K = faith_model_cfg(env->model)->n_classes;
        size_t stride = (size_t)it->n;
        ids = faith_xmalloc((size_t)n_run * stride * sizeof *ids);
        tids = faith_xmalloc((size_t)n_run * stride * sizeof *tids);
        len = faith_xmalloc((size_t)n_run * sizeof *len);
        pid = faith_xmalloc((size_t)n_run * sizeof *pid);
        ptid = faith_xmalloc((size_t)n_run * sizeof *ptid);
        logits = faith_xmalloc((size_t)n_run * (size_t)K * sizeof *logits);
        remove = faith_xmalloc(stride > 0 ? stride : 1);
        const uint8_t *keys = faith_mask_set_data(set);
        for (int64_t u = 0; u < n_run; u++) {
            int32_t *row = ids + (size_t)u * stride, *trow = tids + (size_t)u * stride;
            len[u] = build_sequence(it, repl_id, d, feat, keys + (size_t)(u + first) * d, remove, row, trow);
            if (len[u] == 0) {
                rc = faith_err_set(err, FAITH_ERR_ARG,
                                   "example %lld: deleting every token leaves an empty sequence "
                                   "(no special tokens); use a replacement token instead",
                                   (long long)it->id);
                goto cleanup;
            }
            pid[u] = row;
            ptid[u] = trow;
        }
        FAITH_CHECK(faith_run_logits(env->model, env->token_budget, (int32_t)n_run, pid, ptid, len,
                                     logits, env->cost, err));
        for (int64_t u = 0; u < n_run; u++)
            FAITH_CHECK(faith_coalition_value_of(env, it, logits + (size_t)u * K, &uval[u + first],
                                                 err));
    }
    for (int64_t i = 0; i < n; i++) values[i] = uval[which[i]];
cleanup:
    free(remove);
    free(uval);
    free(logits);
    free(ptid);
    free(pid);
    free(len);
    free(tids);
    free(ids);
    free(which);
    faith_mask_set_free(set);
    free(ones);
    return rc;
}
