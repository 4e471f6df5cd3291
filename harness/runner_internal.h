/* runner_internal.h: the state of one `faith run` on one rank, shared by runner.c (MPI planning,
 * distribution, gathering) and run_chunk.c (per-chunk computation, dry run, final tables). */
#ifndef FAITH_RUNNER_INTERNAL_H
#define FAITH_RUNNER_INTERNAL_H

#include <cjson/cJSON.h>

#include "config.h"
#include "dataset.h"
#include "progress.h"
#include "records.h"
#include "runner.h"
#include "tokenizer.h"

typedef struct faith_run {
    int rank, size, threads;
    faith_run_opts opts;
    faith_run_config *cfg;
    faith_explainer **ex;
    faith_metric **me;
    int32_t *moff, width;       /* metric offsets into a record's values; total width */
    int32_t n_cols_all;         /* configured metrics, plus the sanity check's column block */
    faith_model *rand_model;    /* sanity.model_randomization: top layers re-initialised */
    faith_metric sanity;        /* a table-only metric (no ops->measure) for the sanity column */
    faith_model *model;
    faith_tokenizer *tok;
    faith_dataset *ds;
    faith_dataset *probe_ds;    /* probe.train, when probes are configured */
    cJSON *probe_out;           /* rank 0: probe results */
    int32_t K;
    cJSON *resolved;
    char hash[65];
    int64_t n_ex, n_chunks;
    int32_t *order;             /* dataset indices in chunk order */
    int32_t *tok_lens;          /* rank 0: token length of each example */
    faith_cost cost;            /* this rank's model work */
    /* rank 0 */
    uint8_t **payload;          /* each finished chunk's encoded records */
    size_t *payload_n;
    uint8_t *done;              /* 0 pending, 2 handed out, 1 finished */
    int64_t next, n_finished, examples_done, kill_after;
    int terminated, outstanding;
    faith_progress progress;
    faith_run_stats stats;
} faith_run;

int32_t faith_run_chunk_size(const faith_run *r, int64_t c);
int faith_run_encode(const faith_run *r, const faith_example *ex, faith_encoding *enc, faith_err *err);
/* Compute chunk c into b (faith_chunk_encode layout); poll is called between units of work. */
int faith_run_compute_chunk(faith_run *r, int64_t c, faith_buf *b, void (*poll)(faith_run *),
                            faith_err *err);
/* Collective: every rank passes its status; all get the lowest failing rank's message. */
int faith_run_agree(faith_run *r, int rc, faith_err *err);
/* Wait on a request, sleeping between tests (idle ranks must not spin). */
void faith_run_wait(void *mpi_request);
/* Collective: layer probes (features on every rank, fit on rank 0 into r->probe_out). */
int faith_run_probe(faith_run *r, faith_err *err);
/* Rank 0: print the plan and the cost estimate. */
int faith_run_dry(faith_run *r, faith_err *err);
/* Rank 0: tables, manifest, leaderboard, .partial removed. */
int faith_run_finish(faith_run *r, double t0, faith_err *err);

#endif
