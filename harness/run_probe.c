/* run_probe.c: the probe phase of `faith run`: hidden-state features in fixed blocks of examples
 * (block b on rank b mod ranks, so batches never depend on the rank count), gathered in id order on
 * rank 0, which derives property and control labels and fits the probes (metrics/probe.h). */
#define _GNU_SOURCE
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "runner_internal.h"

/* Features of this rank's blocks of ds, concatenated block after block. */
static int local_features(faith_run *r, const faith_dataset *ds, int64_t width, float **out,
                          int64_t *n_out, faith_err *err)
{
    int64_t B = r->cfg->batch_chunk, n_blocks = (ds->n + B - 1) / B, mine = 0;
    for (int64_t b = r->rank; b < n_blocks; b += r->size) mine += (b + 1) * B < ds->n ? B : ds->n - b * B;
    float *feats = faith_xcalloc((size_t)(mine * width) + 1, sizeof(float));
    int64_t row = 0;
    int rc = FAITH_OK;
    for (int64_t b = r->rank; b < n_blocks && rc == FAITH_OK; b += r->size) {
        int32_t m = (int32_t)((b + 1) * B < ds->n ? B : ds->n - b * B);
        faith_encoding *enc = faith_xcalloc((size_t)m, sizeof *enc);
        const int32_t **ids = faith_xcalloc((size_t)m, sizeof *ids), **ty = faith_xcalloc((size_t)m, sizeof *ty);
        int32_t *len = faith_xcalloc((size_t)m, sizeof *len), k = 0;
        for (; k < m && rc == FAITH_OK; k++) {
            rc = faith_run_encode(r, &ds->ex[b * B + k], &enc[k], err);
            if (rc < 0) break;
            ids[k] = enc[k].ids, ty[k] = enc[k].type_ids, len[k] = enc[k].n;
        }
        if (rc == FAITH_OK)
            rc = faith_probe_features(r->model, r->cfg->batch_tokens, m, ids, ty, len,
                                      feats + row * width, &r->cost, err);
        row += m;
        for (int32_t i = 0; i < k && i < m; i++) faith_encoding_free(&enc[i]);
        free(enc), free(ids), free(ty), free(len);
    }
    *out = feats, *n_out = mine;
    return rc;
}

/* Gather every rank's blocks on rank 0 and put rows back in dataset order. */
static float *gather_features(faith_run *r, const faith_dataset *ds, int64_t width, const float *mine,
                              int64_t n_mine)
{
    int count = (int)(n_mine * width);
    int *counts = NULL, *displs = NULL;
    float *all = NULL;
    if (r->rank == 0) {
        counts = faith_xcalloc((size_t)r->size, sizeof *counts);
        displs = faith_xcalloc((size_t)r->size, sizeof *displs);
    }
    MPI_Request q;
    MPI_Igather(&count, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD, &q);
    faith_run_wait(&q);
    if (r->rank == 0) {
        int64_t total = 0;
        for (int i = 0; i < r->size; i++) displs[i] = (int)total, total += counts[i];
        all = faith_xcalloc((size_t)total + 1, sizeof(float));
    }
    MPI_Igatherv(mine, count, MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0, MPI_COMM_WORLD, &q);
    faith_run_wait(&q);
    if (r->rank != 0) return NULL;
    float *ordered = faith_xcalloc((size_t)(ds->n * width) + 1, sizeof(float));
    int64_t B = r->cfg->batch_chunk, n_blocks = (ds->n + B - 1) / B;
    int64_t *pos = faith_xcalloc((size_t)r->size, sizeof *pos);
    for (int64_t b = 0; b < n_blocks; b++) {
        int src = (int)(b % r->size);
        int64_t m = (b + 1) * B < ds->n ? B : ds->n - b * B;
        memcpy(ordered + b * B * width, all + displs[src] + pos[src], sizeof(float) * (size_t)(m * width));
        pos[src] += m * width;
    }
    free(pos), free(all), free(counts), free(displs);
    return ordered;
}

/* Property labels, control labels and ids of one split (rank 0). */
static int split_labels(faith_run *r, const faith_dataset *ds, faith_probe_property prop,
                        const int32_t cuts[2], int32_t K, int32_t *labels, int32_t *control,
                        int64_t *ids, faith_err *err)
{
    const faith_probe_cfg *p = &r->cfg->probe;
    for (int64_t i = 0; i < ds->n; i++) {
        const faith_example *ex = &ds->ex[i];
        ids[i] = ex->id;
        control[i] = faith_probe_control_label(ex->text, r->cfg->seed, K);
        if (prop == FAITH_PROBE_LABEL) {
            labels[i] = ex->label < K ? ex->label : -1;
        } else if (prop == FAITH_PROBE_LENGTH_BIN) {
            faith_encoding enc;
            FAITH_TRY(faith_run_encode(r, ex, &enc, err));
            labels[i] = faith_probe_length_bin(enc.n, cuts);
            faith_encoding_free(&enc);
        } else if (prop == FAITH_PROBE_NEGATION) {
            labels[i] = faith_probe_has_word(ex->text, ex->pair, FAITH_PROBE_NEGATIONS, FAITH_PROBE_N_NEGATIONS);
        } else {
            labels[i] = faith_probe_has_word(ex->text, ex->pair, (const char *const *)p->words, p->n_words);
        }
    }
    return FAITH_OK;
}

static int fit(faith_run *r, float *train_x, float *eval_x, faith_err *err)
{
    const faith_probe_cfg *p = &r->cfg->probe;
    faith_probe_property prop;
    FAITH_TRY(faith_probe_property_parse(p->property, &prop, err));
    int32_t K = prop == FAITH_PROBE_LABEL ? (r->ds->n_labels > 0 ? r->ds->n_labels : r->K)
                : prop == FAITH_PROBE_LENGTH_BIN ? 3 : 2;
    int32_t cuts[2] = {0, 0};
    if (prop == FAITH_PROBE_LENGTH_BIN) {
        int32_t *nt = faith_xcalloc((size_t)r->probe_ds->n + 1, sizeof *nt);
        for (int64_t i = 0; i < r->probe_ds->n; i++) {
            faith_encoding enc;
            int rc = faith_run_encode(r, &r->probe_ds->ex[i], &enc, err);
            if (rc < 0) {
                free(nt);
                return rc;
            }
            nt[i] = enc.n;
            faith_encoding_free(&enc);
        }
        faith_probe_length_cuts(nt, r->probe_ds->n, cuts);
        free(nt);
    }
    const faith_dataset *sets[2] = {r->probe_ds, r->ds};
    int32_t *lab[2], *ctl[2];
    int64_t *ids[2];
    int rc = FAITH_OK;
    for (int s = 0; s < 2; s++) {
        lab[s] = faith_xcalloc((size_t)sets[s]->n + 1, sizeof(int32_t));
        ctl[s] = faith_xcalloc((size_t)sets[s]->n + 1, sizeof(int32_t));
        ids[s] = faith_xcalloc((size_t)sets[s]->n + 1, sizeof(int64_t));
        if (rc == FAITH_OK) rc = split_labels(r, sets[s], prop, cuts, K, lab[s], ctl[s], ids[s], err);
    }
    faith_probe_opts o;
    memset(&o, 0, sizeof o);
    o.iters = p->iters, o.holdout = p->holdout, o.lambdas = p->lambdas, o.n_lambdas = p->n_lambdas;
    o.seed = r->cfg->seed;
    faith_probe_opts_default(&o);
    faith_probe_data tr = {r->probe_ds->n, ids[0], train_x, lab[0], ctl[0]};
    faith_probe_data ev = {r->ds->n, ids[1], eval_x, lab[1], ctl[1]};
    if (rc == FAITH_OK)
        rc = faith_probe_run(faith_model_cfg(r->model), p->property, K, &tr, &ev, &o, &r->probe_out, err);
    for (int s = 0; s < 2; s++) free(lab[s]), free(ctl[s]), free(ids[s]);
    return rc;
}

int faith_run_probe(faith_run *r, faith_err *err)
{
    int64_t width = faith_probe_feature_width(faith_model_cfg(r->model));
    float *mine[2] = {NULL, NULL}, *all[2] = {NULL, NULL};
    int64_t n_mine[2] = {0, 0};
    const faith_dataset *sets[2] = {r->probe_ds, r->ds};
    int rc = FAITH_OK;
    for (int s = 0; s < 2 && rc == FAITH_OK; s++) {
        rc = local_features(r, sets[s], width, &mine[s], &n_mine[s], err);
        rc = faith_run_agree(r, rc, err);
        if (rc == FAITH_OK) all[s] = gather_features(r, sets[s], width, mine[s], n_mine[s]);
    }
    if (rc == FAITH_OK && r->rank == 0) rc = fit(r, all[0], all[1], err);
    rc = faith_run_agree(r, rc, err);
    for (int s = 0; s < 2; s++) free(mine[s]), free(all[s]);
    return rc;
}
