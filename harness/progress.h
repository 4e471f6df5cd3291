/* progress.h: the progress line of rank 0 during a run: examples done/total, examples/s and ETA,
 * redrawn in place on a terminal, printed as plain lines every few seconds otherwise. */
#ifndef FAITH_PROGRESS_H
#define FAITH_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct faith_progress {
    FILE *out;
    int64_t total, done, base;  /* base: examples already done before this run (resume) */
    double t0, last;
    int tty, quiet, drawn;
    double interval;            /* seconds between plain lines */
} faith_progress;

/* Monotonic seconds. */
double faith_now(void);

void faith_progress_init(faith_progress *p, FILE *out, int64_t total, int64_t already, int quiet);
/* Report `done` examples in total; prints when due (or always when force). */
void faith_progress_update(faith_progress *p, int64_t done, int force);
/* Final line (and newline on a terminal). */
void faith_progress_finish(faith_progress *p);

#endif
