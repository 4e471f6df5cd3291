/* runner.h: `faith run` over MPI: every rank loads the config, model, tokenizer and dataset; rank 0
 * plans fixed chunks, hands them out on request, computes too, gathers records and writes tables. */
#ifndef FAITH_RUNNER_H
#define FAITH_RUNNER_H

#include <stdint.h>

#include "cost.h"
#include "error.h"

typedef struct faith_run_opts {
    const char *config;     /* config file */
    const char *output;     /* --output, or NULL */
    int64_t limit;          /* --limit, or 0 */
    int32_t threads;        /* --threads, or 0 */
    int dry_run, resume, quiet;
} faith_run_opts;

/* Counters and timings of one run, summed over ranks where that makes sense. */
typedef struct faith_run_stats {
    int32_t ranks, threads;
    int64_t examples, examples_computed, chunks, chunks_resumed, records;
    faith_cost cost;            /* every model call of the run, all ranks */
    double wall_s;              /* rank 0, from start to tables written */
    double plan_s;              /* rank 0: loading aside, tokenising for the plan and sorting */
    double gather_s;            /* rank 0: answering requests, receiving and storing chunk records */
    double gather_cpu_s;        /* the same in rank 0's CPU time (wall time is inflated when oversubscribed) */
    double write_s;             /* rank 0: decoding, sorting and writing the tables and manifest */
    double work_s;              /* rank 0: the work phase (first chunk handed out to last gathered) */
    double compute_s;           /* summed over ranks: time inside chunk computation */
} faith_run_stats;

/* Run (MPI must be initialised). On failure every rank returns the same code and err holds the
 * failing rank's message (prefixed "rank N: " when it is not rank 0); a rank failing during the work
 * phase ends the job with MPI_Abort after rank 0 printed its message. */
int faith_runner_main(const faith_run_opts *o, faith_err *err);

#endif
