/* batcher.c: cuts a list of sequences into batches by token budget (in order, each padded to its own
 * longest row), runs forward or forward+backward, and scatters per-sequence results back. */
#include "batcher.h"

#include <stdlib.h>
#include <string.h>

/* Padded buffers sized once per call for the largest batch, reused by every batch of the call. */
typedef struct bufs {
    int32_t *ids, *type_ids, *len;  /* (B, T), (B, T), (B) */
    float *embeds;                  /* (B, T, C) or NULL */
    float *logits, *dlogits;        /* (B, K) */
    float *dwe;                     /* (B, T, C) or NULL */
} bufs;

/* End (exclusive) of the batch starting at s: rows are added while rows * max_len stays within
 * the budget; a first row always fits. */
static int32_t batch_end(int64_t budget, int32_t n, const int32_t *len, int32_t s, int32_t *T)
{
    int32_t e = s, tmax = 0;
    while (e < n) {
        int32_t t = len[e] > tmax ? len[e] : tmax;
        if (e > s && (int64_t)(e - s + 1) * t > budget) break;
        tmax = t;
        e++;
    }
    *T = tmax;
    return e;
}

/* Lengths and ids are checked up front: the embedding lookup below indexes with the ids. */
static int check_inputs(const faith_model_config *cfg, int32_t n, const int32_t *const *ids,
                        const int32_t *len, faith_err *err)
{
    for (int32_t i = 0; i < n; i++) {
        if (len[i] < 1 || len[i] > cfg->max_pos)
            return faith_err_set(err, FAITH_ERR_RANGE,
                                 "batcher: sequence %d has length %d, expected 1..%d", (int)i,
                                 (int)len[i], (int)cfg->max_pos);
        for (int32_t t = 0; t < len[i]; t++)
            if (ids[i][t] < 0 || ids[i][t] >= cfg->vocab_size)
                return faith_err_set(err, FAITH_ERR_RANGE,
                                     "batcher: sequence %d token %d has id %d, expected 0..%d",
                                     (int)i, (int)t, (int)ids[i][t], (int)cfg->vocab_size - 1);
    }
    return FAITH_OK;
}

/* Largest B and B*T over all batches of the call. */
static void plan(int64_t budget, int32_t n, const int32_t *len, int32_t *max_b, int64_t *max_bt)
{
    *max_b = 0;
    *max_bt = 0;
    for (int32_t s = 0; s < n;) {
        int32_t T, e = batch_end(budget, n, len, s, &T);
        if (e - s > *max_b) *max_b = e - s;
        if ((int64_t)(e - s) * T > *max_bt) *max_bt = (int64_t)(e - s) * T;
        s = e;
    }
}

static void bufs_alloc(bufs *b, int32_t max_b, int64_t max_bt, int32_t C, int32_t K, int embeds,
                       int grads)
{
    memset(b, 0, sizeof *b);
    b->ids = faith_xmalloc((size_t)max_bt * sizeof(int32_t));
    b->type_ids = faith_xmalloc((size_t)max_bt * sizeof(int32_t));
    b->len = faith_xmalloc((size_t)max_b * sizeof(int32_t));
    b->logits = faith_xmalloc((size_t)max_b * (size_t)K * sizeof(float));
    b->dlogits = faith_xmalloc((size_t)max_b * (size_t)K * sizeof(float));
    if (embeds) b->embeds = faith_xmalloc((size_t)max_bt * (size_t)C * sizeof(float));
    if (grads) b->dwe = faith_xmalloc((size_t)max_bt * (size_t)C * sizeof(float));
}

static void bufs_free(bufs *b)
{
    free(b->ids);
    free(b->type_ids);
    free(b->len);
    free(b->logits);
    free(b->dlogits);
    free(b->embeds);
    free(b->dwe);
}

/* Fill rows s..e-1 into the padded (B, T) buffers; padding uses the pad id and type 0. */
static void fill_batch(const faith_model_config *cfg, bufs *b, int32_t s, int32_t e, int32_t T,
                       const int32_t *const *ids, const int32_t *const *type_ids, const int32_t *len)
{
    for (int32_t r = 0; r < e - s; r++) {
        int32_t i = s + r, L = len[i];
        int32_t *row = b->ids + (size_t)r * T, *trow = b->type_ids + (size_t)r * T;
        memcpy(row, ids[i], (size_t)L * sizeof(int32_t));
        for (int32_t t = L; t < T; t++) row[t] = cfg->pad_token_id;
        if (type_ids && type_ids[i]) memcpy(trow, type_ids[i], (size_t)L * sizeof(int32_t));
        else memset(trow, 0, (size_t)L * sizeof(int32_t));
        memset(trow + L, 0, (size_t)(T - L) * sizeof(int32_t));
        b->len[r] = L;
    }
}

/* Word embeddings (B, T, C) for rows s..e-1: the given vectors, or the lookup rows when a
 * sequence has none; padding zero. */
static void fill_embeds(faith_model *m, bufs *b, int32_t s, int32_t e, int32_t T, int32_t C,
                        const int32_t *const *ids, const int32_t *len, const float *const *embeds)
{
    const float *E = faith_model_word_embeddings(m);
    for (int32_t r = 0; r < e - s; r++) {
        int32_t i = s + r, L = len[i];
        float *dst = b->embeds + (size_t)r * T * C;
        if (embeds[i]) {
            memcpy(dst, embeds[i], (size_t)L * C * sizeof(float));
        } else {
            for (int32_t t = 0; t < L; t++)
                memcpy(dst + (size_t)t * C, E + (size_t)ids[i][t] * C, (size_t)C * sizeof(float));
        }
        memset(dst + (size_t)L * C, 0, (size_t)(T - L) * C * sizeof(float));
    }
}

static void count(faith_cost *cost, int32_t s, int32_t e, const int32_t *len, int backward)
{
    if (!cost) return;
    cost->forward++;
    if (backward) cost->backward++;
    /* A sequence counts once per forward it goes through; backward passes are counted apart. */
    cost->sequences += e - s;
    for (int32_t i = s; i < e; i++) cost->tokens += len[i];
}

int faith_run_logits(faith_model *m, int64_t token_budget, int32_t n, const int32_t *const *ids,
                     const int32_t *const *type_ids, const int32_t *len, float *logits,
                     faith_cost *cost, faith_err *err)
{
    if (n <= 0) return FAITH_OK;
    const faith_model_config *cfg = faith_model_cfg(m);
    FAITH_TRY(check_inputs(cfg, n, ids, len, err));
    if (token_budget <= 0) token_budget = FAITH_DEFAULT_TOKEN_BUDGET;
    int32_t max_b, K = cfg->n_classes;
    int64_t max_bt;
    plan(token_budget, n, len, &max_b, &max_bt);
    bufs b;
    bufs_alloc(&b, max_b, max_bt, cfg->d_model, K, 0, 0);
    int rc = FAITH_OK;
    for (int32_t s = 0; s < n;) {
        int32_t T, e = batch_end(token_budget, n, len, s, &T);
        fill_batch(cfg, &b, s, e, T, ids, type_ids, len);
        faith_batch batch = {e - s, T, b.ids, b.type_ids, b.len, NULL};
        FAITH_CHECK(faith_model_forward(m, &batch, 0, logits + (size_t)s * K, err));
        count(cost, s, e, len, 0);
        s = e;
    }
cleanup:
    bufs_free(&b);
    return rc;
}

int64_t faith_grad_budget(int64_t token_budget)
{
    /* A backward keeps every layer's activations (about 0.65 MB per token on BERT-base, against a
     * few KB live in a forward), so gradient batches take a quarter of the budget: IG-50 at 128
     * tokens on BERT-base then peaks at 1.9 GB (measured, model included) instead of 5 GB, with 2048-row GEMMs still large. */
    if (token_budget <= 0) token_budget = FAITH_DEFAULT_TOKEN_BUDGET;
    return token_budget / FAITH_GRAD_BUDGET_DIVISOR > 0 ? token_budget / FAITH_GRAD_BUDGET_DIVISOR : 1;
}

int faith_run_grads(faith_model *m, int64_t token_budget, int32_t n, const int32_t *const *ids,
                    const int32_t *const *type_ids, const int32_t *len, const float *const *embeds,
                    int32_t target, faith_output out, double *values, float *const *grads,
                    faith_cost *cost, faith_err *err)
{
    if (n <= 0) return FAITH_OK;
    const faith_model_config *cfg = faith_model_cfg(m);
    FAITH_TRY(check_inputs(cfg, n, ids, len, err));
    if (target < 0 || target >= cfg->n_classes)
        return faith_err_set(err, FAITH_ERR_RANGE, "batcher: target class %d out of range [0, %d)",
                             (int)target, (int)cfg->n_classes);
    if (token_budget <= 0) token_budget = FAITH_DEFAULT_TOKEN_BUDGET;
    int has_embeds = 0;
    for (int32_t i = 0; embeds && i < n; i++) has_embeds |= embeds[i] != NULL;
    int32_t max_b, K = cfg->n_classes, C = cfg->d_model;
    int64_t max_bt;
    plan(token_budget, n, len, &max_b, &max_bt);
    bufs b;
    bufs_alloc(&b, max_b, max_bt, C, K, has_embeds, 1);
    int rc = FAITH_OK;
    for (int32_t s = 0; s < n;) {
        int32_t T, e = batch_end(token_budget, n, len, s, &T), B = e - s;
        fill_batch(cfg, &b, s, e, T, ids, type_ids, len);
        if (has_embeds) fill_embeds(m, &b, s, e, T, C, ids, len, embeds);
        faith_batch batch = {B, T, b.ids, b.type_ids, b.len, has_embeds ? b.embeds : NULL};
        FAITH_CHECK(faith_model_forward(m, &batch, FAITH_FWD_KEEP_ACTS, b.logits, err));
        for (int32_t r = 0; r < B; r++)
            values[s + r] = faith_output_value(out, b.logits + (size_t)r * K, K, target,
                                               b.dlogits + (size_t)r * K);
        FAITH_CHECK(faith_model_backward(m, b.dlogits, b.dwe, err));
        for (int32_t r = 0; r < B; r++)
            memcpy(grads[s + r], b.dwe + (size_t)r * T * C, (size_t)len[s + r] * C * sizeof(float));
        count(cost, s, e, len, 1);
        s = e;
    }
cleanup:
    bufs_free(&b);
    return rc;
}
