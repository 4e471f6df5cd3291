/* train.c: the training loop of `faith train`: data-parallel steps over MPI ranks (one gradient
 * all-reduce per step), AdamW with lazy embedding rows, dev evaluation and best-checkpoint saving. */
#include "train.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adamw.h"
#include "rng.h"
#include "train_log.h"

#define EVAL_TOKEN_BUDGET 8192
#define EVAL_MAX_ROWS 256
#define PROGRESS_EVERY 100

typedef struct comm {
    int rank, size;
} comm;

/* Without MPI_Init (unit tests, library use) training runs in this process alone. */
static comm comm_get(void)
{
    comm c = {0, 1};
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) {
        MPI_Comm_rank(MPI_COMM_WORLD, &c.rank);
        MPI_Comm_size(MPI_COMM_WORLD, &c.size);
    }
    return c;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- batches ---- */

typedef struct packed {
    int32_t cap_rows, cap_tokens;
    int32_t *ids, *type_ids, *len, *label;
} packed;

static void packed_reserve(packed *p, int32_t rows, int32_t tokens)
{
    if (rows > p->cap_rows) {
        p->cap_rows = rows;
        p->len = faith_xrealloc(p->len, sizeof(int32_t) * (size_t)rows);
        p->label = faith_xrealloc(p->label, sizeof(int32_t) * (size_t)rows);
    }
    if (tokens > p->cap_tokens) {
        p->cap_tokens = tokens;
        p->ids = faith_xrealloc(p->ids, sizeof(int32_t) * (size_t)tokens);
        p->type_ids = faith_xrealloc(p->type_ids, sizeof(int32_t) * (size_t)tokens);
    }
}

static void packed_free(packed *p)
{
    free(p->ids);
    free(p->type_ids);
    free(p->len);
    free(p->label);
}

/* Rows of d into a padded (B, T) batch; T is the longest row. */
static faith_batch pack_rows(const faith_train_data *d, const int64_t *rows, int32_t B, int32_t pad,
                             int with_types, packed *p)
{
    int32_t T = 1;
    for (int32_t b = 0; b < B; b++)
        if (d->len[rows[b]] > T) T = d->len[rows[b]];
    packed_reserve(p, B, B * T);
    for (int32_t b = 0; b < B; b++) {
        int64_t r = rows[b];
        int32_t n = d->len[r];
        int32_t *ids = p->ids + (size_t)b * T, *tt = p->type_ids + (size_t)b * T;
        memcpy(ids, d->ids + d->off[r], sizeof(int32_t) * (size_t)n);
        memcpy(tt, d->type_ids + d->off[r], sizeof(int32_t) * (size_t)n);
        for (int32_t t = n; t < T; t++) {
            ids[t] = pad;
            tt[t] = 0;
        }
        p->len[b] = n;
        p->label[b] = d->label[r];
    }
    faith_batch fb = {B, T, p->ids, with_types ? p->type_ids : NULL, p->len, NULL};
    return fb;
}

/* Softmax cross-entropy of logits (B, K) against labels; dlogits (B, K) = (p - onehot) * scale
 * when not NULL. Adds the summed loss and the number of correct argmaxes. */
static void cross_entropy(const float *logits, const int32_t *label, int32_t B, int32_t K,
                          double scale, float *dlogits, double *loss, double *correct)
{
    double p[FAITH_MAX_CLASSES];
    for (int32_t b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        faith_softmax_row(z, K, p);
        int32_t y = label[b], arg = 0;
        for (int32_t k = 1; k < K; k++)
            if (z[k] > z[arg]) arg = k;
        *loss += -log(p[y] < 1e-300 ? 1e-300 : p[y]); /* a NaN stays NaN: add_loss refuses it */
        *correct += arg == y;
        if (dlogits)
            for (int32_t k = 0; k < K; k++)
                dlogits[(size_t)b * K + k] = (float)((p[k] - (k == y)) * scale);
    }
}

/* ---- evaluation ---- */

/* Fixed-point scales of the exact sums (evaluation here, gradients in the trainer below). */
#define FX_SCALE 17592186044416.0 /* 2^44 */
#define FX_LOSS_SCALE 4294967296.0 /* 2^32, for the summed loss */
#define FX_LOSS_MAX 1048576.0       /* 2^20: a larger or non-finite loss is a diverged model */

/* Add loss (one example's, or a micro-batch's share of a mean) to a fixed-point sum; a NaN or huge
 * loss is an error rather than an undefined conversion and a meaningless total. */
static int add_loss(int64_t *sum, double loss, faith_err *err)
{
    if (!(fabs(loss) < FX_LOSS_MAX))
        return faith_err_set(err, FAITH_ERR_RANGE, "loss %g is not finite or too large (|loss| < %g): the "
                             "model has diverged (a lower learning rate?)", loss, FX_LOSS_MAX);
    *sum += llrint(loss * FX_LOSS_SCALE);
    return FAITH_OK;
}
#define FX_MAX 262144.0           /* 2^18 */
#define MICRO_BATCH 8             /* sequences per micro-batch */

typedef struct len_idx {
    int32_t len;
    int64_t idx;
} len_idx;

static int cmp_len_idx(const void *a, const void *b)
{
    const len_idx *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

int faith_train_evaluate(faith_model *m, const faith_train_data *d, double *acc, double *loss,
                         faith_err *err)
{
    comm c = comm_get();
    const faith_model_config *cfg = faith_model_cfg(m);
    int32_t K = cfg->n_classes;
    /* Rank r takes every size-th example of the length-sorted order: similar work per rank and
     * batches with little padding. */
    len_idx *keys = faith_xmalloc(sizeof(len_idx) * (size_t)(d->n ? d->n : 1));
    int64_t *idx = faith_xmalloc(sizeof(int64_t) * (size_t)(d->n ? d->n : 1));
    int64_t mine = 0;
    for (int64_t i = 0; i < d->n; i++) keys[i] = (len_idx){d->len[i], i};
    qsort(keys, (size_t)d->n, sizeof *keys, cmp_len_idx);
    for (int64_t i = c.rank; i < d->n; i += c.size) idx[mine++] = keys[i].idx;
    free(keys);

    packed p = {0};
    float *logits = faith_xmalloc(sizeof(float) * (size_t)EVAL_MAX_ROWS * (size_t)K);
    /* Per-sequence products and integer sums: an example's logits do not depend on which rank batched
     * it with which others, and the totals not on the order they are added in, so the evaluations (and
     * the checkpoint they choose) are the same for any rank count. */
    faith_products saved = faith_model_products(m);
    faith_model_set_products(m, FAITH_PRODUCTS_PER_SEQUENCE);
    int64_t sums[3] = {0, 0, 0}; /* correct, loss in units of 2^-32, failed ranks */
    int rc = FAITH_OK;
    for (int64_t i = 0; i < mine && rc == FAITH_OK;) {
        int32_t B = 0, T = 0;
        while (i + B < mine && B < EVAL_MAX_ROWS) {
            int32_t t = d->len[idx[i + B]] > T ? d->len[idx[i + B]] : T;
            if (B > 0 && (int64_t)(B + 1) * t > EVAL_TOKEN_BUDGET) break;
            T = t;
            B++;
        }
        faith_batch fb = pack_rows(d, idx + i, B, cfg->pad_token_id, cfg->type_vocab_size > 0, &p);
        rc = faith_model_forward(m, &fb, 0, logits, err);
        for (int32_t b = 0; rc == FAITH_OK && b < B; b++) {
            double l = 0, ok = 0;
            cross_entropy(logits + (size_t)b * K, p.label + b, 1, K, 0.0, NULL, &l, &ok);
            sums[0] += (int64_t)ok;
            if ((rc = add_loss(&sums[1], l, err)) < 0) faith_err_prefix(err, "evaluation: ");
        }
        i += B;
    }
    faith_model_set_products(m, saved);
    sums[2] = rc < 0;
    free(logits);
    packed_free(&p);
    free(idx);
    if (c.size > 1 &&
        MPI_Allreduce(MPI_IN_PLACE, sums, 3, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        return faith_err_set(err, FAITH_ERR_MPI, "evaluation: MPI_Allreduce failed");
    if (rc < 0) return rc;
    if (sums[2] > 0) return faith_err_set(err, FAITH_ERR_MPI, "evaluation failed on another rank");
    *acc = d->n ? (double)sums[0] / (double)d->n : 0.0;
    *loss = d->n ? (double)sums[1] / FX_LOSS_SCALE / (double)d->n : 0.0;
    return FAITH_OK;
}

/* ---- the trainer ---- */

typedef struct trainer {
    faith_model *m;
    const faith_model_config *cfg;
    const faith_train_opts *o;
    comm c;
    float *params, *grads;
    size_t n_params, n_views;
    long wemb;                 /* view index of the word embeddings, -1 if not found */
    uint8_t *trainable;        /* (n_views) */
    uint8_t *row_mark;         /* (V) rows used by the current global batch */
    faith_adamw_seg *segs;     /* this step's trainable segments */
    size_t n_segs;
    int64_t *fx;               /* this step's gradients in fixed point, packed by segment, + loss, correct, failed */
    faith_adamw_config sched;  /* optimizer settings and learning-rate schedule */
    faith_adamw *opt;
    packed p;
    float *logits, *dlogits;   /* (batch, K) */
    int saved;                 /* a checkpoint is in out_dir (kept if a later step fails) */
} trainer;

static size_t view_numel(const faith_param_view *v)
{
    return (size_t)v->shape[0] * (size_t)(v->ndim > 1 ? v->shape[1] : 1);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Segments AdamW touches this step, the same on every rank: every trainable tensor whole, except
 * the word embeddings, of which only the rows the global batch uses (lazy Adam). 1-D tensors
 * (biases, LayerNorm weights) take no weight decay. */
static void build_segments(trainer *tr, const faith_train_data *d, const int64_t *rows, int32_t B)
{
    tr->n_segs = 0;
    for (size_t i = 0; i < tr->n_views; i++) {
        if (!tr->trainable[i]) continue;
        const faith_param_view *v = faith_model_param_at(tr->m, i);
        int decay = v->ndim > 1;
        if ((long)i != tr->wemb || tr->o->dense_embeddings) {
            tr->segs[tr->n_segs++] = (faith_adamw_seg){v->offset, view_numel(v), decay};
            continue;
        }
        int32_t V = (int32_t)v->shape[0];
        size_t C = (size_t)v->shape[1];
        for (int32_t b = 0; b < B; b++) {
            const int32_t *ids = d->ids + d->off[rows[b]];
            for (int32_t t = 0; t < d->len[rows[b]]; t++) tr->row_mark[ids[t]] = 1;
        }
        for (int32_t r = 0; r < V; r++)
            if (tr->row_mark[r]) {
                tr->row_mark[r] = 0;
                tr->segs[tr->n_segs++] = (faith_adamw_seg){v->offset + (size_t)r * C, C, decay};
            }
    }
}

static int trainer_init(trainer *tr, faith_model *m, const faith_train_opts *o, faith_err *err)
{
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    tr->cfg = faith_model_cfg(m);
    tr->o = o;
    tr->c = comm_get();
    FAITH_TRY(faith_model_enable_grads(m, 1, err));
    /* One product per batch: training's bits are defined per (seed, ranks, threads) anyway, and
     * per-sequence products would only slow it down. */
    faith_model_set_products(m, FAITH_PRODUCTS_BATCHED);
    /* A frozen encoder needs no backward below the head at all. */
    faith_model_freeze_encoder(m, o->freeze_encoder);
    tr->params = faith_model_params(m, &tr->n_params);
    tr->grads = faith_model_grads(m);
    if (!tr->params || !tr->grads)
        return faith_err_set(err, FAITH_ERR_INTERNAL, "model has no parameter or gradient buffer");
    tr->n_views = faith_model_param_count(m);
    tr->trainable = faith_xcalloc(tr->n_views ? tr->n_views : 1, 1);
    tr->wemb = -1;
    size_t max_segs = tr->n_views;
    for (size_t i = 0; i < tr->n_views; i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        tr->trainable[i] = !(o->freeze_encoder && v->is_encoder);
        if (ends_with(v->name, "word_embeddings.weight") && v->ndim == 2) {
            tr->wemb = (long)i;
            max_segs += (size_t)v->shape[0];
        }
    }
    tr->row_mark = faith_xcalloc((size_t)tr->cfg->vocab_size + 1, 1);
    tr->segs = faith_xmalloc(sizeof(faith_adamw_seg) * max_segs);
    tr->fx = faith_xmalloc(sizeof(int64_t) * (tr->n_params + 3));
    size_t K = (size_t)tr->cfg->n_classes;
    tr->logits = faith_xmalloc(sizeof(float) * (size_t)o->batch * K);
    tr->dlogits = faith_xmalloc(sizeof(float) * (size_t)o->batch * K);
    return FAITH_OK;
}

static void trainer_free(trainer *tr)
{
    faith_model_freeze_encoder(tr->m, 0);
    free(tr->trainable);
    free(tr->row_mark);
    free(tr->segs);
    free(tr->fx);
    free(tr->logits);
    free(tr->dlogits);
    packed_free(&tr->p);
    faith_adamw_free(tr->opt);
}

/* Gradients are summed exactly, in 64-bit fixed point: a sum of integers is the same in any order, so
 * the global batch can be cut into micro-batches fixed by the batch alone, computed by any rank on any
 * number of threads, and the update has the same bits whatever the rank count (no float partial sums
 * are reduced across ranks). 2^44 resolves 6e-14, below a float's last bit for any gradient above
 * 1e-6; a gradient of 2^18 or more (a diverged run) is an error rather than a wrapped integer. */

/* Add this micro-batch's gradients (in tr->grads, segments only) to the fixed-point sums. */
static int add_fixed(trainer *tr, faith_err *err)
{
    size_t w = 0;
    for (size_t s = 0; s < tr->n_segs; s++) {
        const float *g = tr->grads + tr->segs[s].offset;
        for (size_t j = 0; j < tr->segs[s].n; j++, w++) {
            if (g[j] == 0.0f) continue; /* most rows of a dense embedding gradient */
            double v = (double)g[j];
            if (!(fabs(v) < FX_MAX))
                return faith_err_set(err, FAITH_ERR_RANGE,
                                     "gradient %g is not finite or too large to sum exactly (|g| < %g): the "
                                     "model has diverged (a lower learning rate or gradient clipping?)", v, FX_MAX);
            tr->fx[w] += llrint(v * FX_SCALE);
        }
    }
    return FAITH_OK;
}

/* This rank's micro-batches of the global batch (k = rank, rank + size, ...): forward, backward and
 * their fixed-point sum, with their summed loss and correct count after the gradients. Dropout masks
 * come from (seed, step, micro-batch), never from the rank. */
static int local_pass(trainer *tr, const faith_train_data *d, const int64_t *rows, int32_t Bg,
                      int64_t step, faith_err *err)
{
    int32_t nm = (Bg + MICRO_BATCH - 1) / MICRO_BATCH;
    size_t w = 0;
    for (size_t s = 0; s < tr->n_segs; s++) w += tr->segs[s].n;
    memset(tr->fx, 0, sizeof(int64_t) * (w + 3));
    for (int32_t k = tr->c.rank; k < nm; k += tr->c.size) {
        int32_t r0 = k * MICRO_BATCH, r1 = r0 + MICRO_BATCH < Bg ? r0 + MICRO_BATCH : Bg;
        for (size_t s = 0; s < tr->n_segs; s++)
            memset(tr->grads + tr->segs[s].offset, 0, sizeof(float) * tr->segs[s].n);
        faith_batch fb = pack_rows(d, rows + r0, r1 - r0, tr->cfg->pad_token_id,
                                   tr->cfg->type_vocab_size > 0, &tr->p);
        faith_rng r;
        faith_rng_init(&r, tr->o->seed, step, "train-dropout");
        r.counter = (uint64_t)k;
        faith_model_set_dropout_seed(tr->m, faith_rng_u64(&r));
        FAITH_TRY(faith_model_forward(tr->m, &fb, FAITH_FWD_KEEP_ACTS | FAITH_FWD_DROPOUT, tr->logits,
                                      err));
        double loss = 0, correct = 0;
        cross_entropy(tr->logits, tr->p.label, fb.B, tr->cfg->n_classes, 1.0 / Bg, tr->dlogits, &loss,
                      &correct);
        FAITH_TRY(faith_model_backward(tr->m, tr->dlogits, NULL, err));
        FAITH_TRY(add_fixed(tr, err));
        FAITH_TRY(add_loss(&tr->fx[w], loss, err)); /* the caller names the step */
        tr->fx[w + 1] += (int64_t)correct;
    }
    return FAITH_OK;
}

/* Sum the fixed-point gradients, loss, correct count and failure flag over ranks (one all-reduce of
 * integers), then write the gradients back as floats. */
static int reduce_grads(trainer *tr, double *loss, double *correct, int *failed, faith_err *err)
{
    size_t w = 0;
    for (size_t s = 0; s < tr->n_segs; s++) w += tr->segs[s].n;
    tr->fx[w + 2] = *failed;
    if (tr->c.size > 1 &&
        MPI_Allreduce(MPI_IN_PLACE, tr->fx, (int)(w + 3), MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
        return faith_err_set(err, FAITH_ERR_MPI, "training: gradient MPI_Allreduce failed");
    *loss = (double)tr->fx[w] / FX_LOSS_SCALE;
    *correct = (double)tr->fx[w + 1];
    *failed = tr->fx[w + 2] > 0;
    w = 0;
    for (size_t s = 0; s < tr->n_segs; s++) {
        float *g = tr->grads + tr->segs[s].offset;
        for (size_t j = 0; j < tr->segs[s].n; j++, w++) g[j] = (float)((double)tr->fx[w] / FX_SCALE);
    }
    return FAITH_OK;
}

/* One update on the global batch rows[0..Bg). *loss gets the batch's mean loss. */
static int train_step(trainer *tr, const faith_train_data *d, const int64_t *rows, int32_t Bg,
                      int64_t step, double *loss, faith_err *err)
{
    build_segments(tr, d, rows, Bg);
    int rc = local_pass(tr, d, rows, Bg, step, err);
    double lsum = 0, correct = 0;
    int failed = rc < 0;
    FAITH_TRY(reduce_grads(tr, &lsum, &correct, &failed, err));
    if (rc == FAITH_OK && failed)
        return faith_err_set(err, FAITH_ERR_MPI, "training step %lld failed on another rank", (long long)step);
    if (rc < 0) return faith_err_prefix(err, "training step %lld: ", (long long)step);
    faith_adamw_clip(tr->grads, tr->segs, tr->n_segs, tr->o->clip);
    faith_adamw_step(tr->opt, tr->params, tr->grads, tr->segs, tr->n_segs);
    faith_model_params_changed(tr->m);
    *loss = lsum / Bg;
    return FAITH_OK;
}

/* Every rank must hold the same parameters; a cheap check at each evaluation catches a reduction
 * that did not give all ranks the same bytes. */
static int check_ranks_agree(const trainer *tr, faith_err *err)
{
    if (tr->c.size == 1) return FAITH_OK;
    unsigned long long h = 0xcbf29ce484222325ULL, h0;
    const unsigned char *b = (const unsigned char *)tr->params;
    for (size_t i = 0; i < tr->n_params * sizeof(float); i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    h0 = h;
    if (MPI_Bcast(&h0, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
        return faith_err_set(err, FAITH_ERR_MPI, "parameter check: MPI_Bcast failed");
    int differ = h0 != h;
    if (MPI_Allreduce(MPI_IN_PLACE, &differ, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        return faith_err_set(err, FAITH_ERR_MPI, "parameter check: MPI_Allreduce failed");
    if (differ) return faith_err_set(err, FAITH_ERR_MPI, "ranks hold different parameters");
    return FAITH_OK;
}

/* Rank 0 saves; every rank learns whether it worked. */
static int save_checkpoint(const trainer *tr, const faith_train_result *res, int finished,
                           int save_model, faith_err *err)
{
    int rc = FAITH_OK;
    if (tr->c.rank == 0 && tr->o->out_dir) {
        if (save_model) {
            rc = faith_train_mkdirs(tr->o->out_dir, err);
            if (rc == FAITH_OK) rc = faith_model_save(tr->m, tr->o->out_dir, err);
            if (rc == FAITH_OK && tr->o->tokenizer)
                rc = faith_tokenizer_save(tr->o->tokenizer, tr->o->out_dir, err);
        }
        if (rc == FAITH_OK) rc = faith_train_log_write(tr->o, tr->cfg, res, finished, err);
    }
    if (tr->c.size > 1) {
        if (MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            return faith_err_set(err, FAITH_ERR_MPI, "checkpoint: MPI_Bcast failed");
        if (rc < 0 && tr->c.rank != 0)
            return faith_err_set(err, rc, "rank 0 failed to write the checkpoint in %s", tr->o->out_dir);
    }
    return rc;
}

static int validate(const faith_train_opts *o, const faith_train_data *train,
                    const faith_train_data *dev, const faith_model_config *cfg, faith_err *err)
{
    if (o->batch < 1) return faith_err_set(err, FAITH_ERR_ARG, "batch size must be >= 1");
    if (!(o->epochs > 0)) return faith_err_set(err, FAITH_ERR_ARG, "epochs must be > 0");
    if (!(o->lr >= 0)) return faith_err_set(err, FAITH_ERR_ARG, "learning rate must be >= 0");
    if (!(o->warmup >= 0 && o->warmup < 1))
        return faith_err_set(err, FAITH_ERR_ARG, "warm-up fraction must be in [0, 1)");
    if (o->evals_per_epoch < 1) return faith_err_set(err, FAITH_ERR_ARG, "evals per epoch must be >= 1");
    if (!(o->weight_decay >= 0 && isfinite(o->weight_decay)))
        return faith_err_set(err, FAITH_ERR_ARG, "weight decay must be a finite number >= 0");
    if (!(o->clip >= 0 && isfinite(o->clip)))
        return faith_err_set(err, FAITH_ERR_ARG, "gradient clip must be a finite number >= 0 (0 = none)");
    if (train->n < 1 || dev->n < 1)
        return faith_err_set(err, FAITH_ERR_ARG, "training and dev data must not be empty");
    if (cfg->n_classes < 2 || cfg->n_classes > FAITH_MAX_CLASSES)
        return faith_err_set(err, FAITH_ERR_ARG, "model has %d classes", cfg->n_classes);
    return FAITH_OK;
}

void faith_train_opts_default(faith_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 3;
    o->lr = 5e-5;
    o->warmup = 0.06;
    o->batch = 32;
    o->seed = 42;
    o->weight_decay = 0.01;
    o->clip = 1.0;
    o->evals_per_epoch = 4;
    o->pool_batches = 50;
}

void faith_train_result_free(faith_train_result *r)
{
    if (!r) return;
    free(r->evals);
    memset(r, 0, sizeof *r);
}

/* Evaluate, record, keep the best parameters (in memory and on disk). */
static int eval_point(trainer *tr, const faith_train_data *dev, faith_train_result *res, int64_t step,
                      double train_loss, double t0, float *best, faith_err *err)
{
    faith_train_eval e = {0};
    e.step = step;
    e.epoch = (double)step / (double)res->batches_per_epoch;
    e.train_loss = train_loss;
    e.lr = step > 0 ? faith_adamw_lr(&tr->sched, step - 1) : 0.0;
    FAITH_TRY(check_ranks_agree(tr, err));
    FAITH_TRY(faith_train_evaluate(tr->m, dev, &e.dev_acc, &e.dev_loss, err));
    e.seconds = now_s() - t0;
    res->evals = faith_xrealloc(res->evals, sizeof(faith_train_eval) * (size_t)(res->n_evals + 1));
    res->evals[res->n_evals++] = e;
    int better = res->n_evals == 1 || e.dev_acc > res->evals[res->best].dev_acc;
    if (better) {
        res->best = res->n_evals - 1;
        memcpy(best, tr->params, sizeof(float) * tr->n_params);
    }
    res->seconds = e.seconds;
    if (tr->c.rank == 0 && !tr->o->quiet)
        fprintf(stderr,
                "faith train: step %lld (epoch %.2f) train loss %.4f | dev acc %.4f loss %.4f | best "
                "%.4f at step %lld | %.1f s\n",
                (long long)step, e.epoch, train_loss, e.dev_acc, e.dev_loss,
                res->evals[res->best].dev_acc, (long long)res->evals[res->best].step, e.seconds);
    FAITH_TRY(save_checkpoint(tr, res, 0, better, err));
    tr->saved = 1;
    return FAITH_OK;
}

static int run_loop(trainer *tr, const faith_train_data *train, const faith_train_data *dev,
                    faith_train_result *res, float *best, faith_err *err)
{
    const faith_train_opts *o = tr->o;
    int64_t nb = res->batches_per_epoch, E = o->evals_per_epoch;
    int64_t *order = faith_xmalloc(sizeof(int64_t) * (size_t)train->n);
    int64_t *starts = faith_xmalloc(sizeof(int64_t) * (size_t)(nb + 1));
    double t0 = now_s(), loss_sum = 0;
    int64_t loss_n = 0;
    int rc = eval_point(tr, dev, res, 0, NAN, t0, best, err);
    for (int64_t s = 0; s < res->steps && rc == FAITH_OK; s++) {
        int64_t k = s % nb;
        if (k == 0)
            faith_train_epoch_batches(train, o->batch, o->pool_batches, o->seed, s / nb, order, starts);
        double loss = 0;
        int32_t B = (int32_t)(starts[k + 1] - starts[k]);
        rc = train_step(tr, train, order + starts[k], B, s, &loss, err);
        if (rc < 0) break;
        loss_sum += loss;
        loss_n++;
        if (tr->c.rank == 0 && !o->quiet && (s + 1) % PROGRESS_EVERY == 0)
            fprintf(stderr, "faith train: step %lld/%lld loss %.4f lr %.3g %.1f s\n", (long long)(s + 1),
                    (long long)res->steps, loss, faith_adamw_lr(&tr->sched, s), now_s() - t0);
        /* E evaluations per epoch, evenly spaced, the last at the epoch's end; and one at the end. */
        int at_eval = (k + 1) * E / nb > k * E / nb || s + 1 == res->steps;
        if (at_eval) {
            rc = eval_point(tr, dev, res, s + 1, loss_sum / (double)loss_n, t0, best, err);
            loss_sum = 0;
            loss_n = 0;
        }
    }
    free(order);
    free(starts);
    return rc;
}

int faith_train_run(faith_model *m, const faith_train_data *train, const faith_train_data *dev,
                    const faith_train_opts *opts, faith_train_result *res, faith_err *err)
{
    memset(res, 0, sizeof *res);
    FAITH_TRY(validate(opts, train, dev, faith_model_cfg(m), err));
    trainer tr;
    int rc = trainer_init(&tr, m, opts, err);
    if (rc < 0) {
        trainer_free(&tr);
        return rc;
    }
    res->ranks = tr.c.size;
    res->batches_per_epoch = (train->n + opts->batch - 1) / opts->batch;
    res->steps = (int64_t)ceil(opts->epochs * (double)res->batches_per_epoch - 1e-9);
    if (res->steps < 1) res->steps = 1;
    res->warmup_steps = (int64_t)llround(opts->warmup * (double)res->steps);
    tr.sched = (faith_adamw_config){opts->lr, 0.9, 0.999, 1e-8, opts->weight_decay, res->steps,
                                    res->warmup_steps};
    tr.opt = faith_adamw_create(&tr.sched, tr.n_params);
    float *best = faith_xmalloc(sizeof(float) * (tr.n_params ? tr.n_params : 1));
    rc = run_loop(&tr, train, dev, res, best, err);
    if (rc == FAITH_OK) {
        memcpy(tr.params, best, sizeof(float) * tr.n_params);
        rc = save_checkpoint(&tr, res, 1, 0, err);
    }
    free(best);
    if (rc < 0 && tr.saved && opts->out_dir && err) {
        /* the checkpoint written so far stays: a long run's best model outlives a late failure */
        char msg[FAITH_ERR_MSG];
        memcpy(msg, err->msg, sizeof msg);
        faith_err_set(err, rc, "%s (%s keeps the best checkpoint before the failure; its train_log.json "
                      "says \"finished\": false)", msg, opts->out_dir);
    }
    trainer_free(&tr);
    faith_model_enable_grads(m, 0, NULL);
    if (rc < 0) faith_train_result_free(res);
    return rc;
}
