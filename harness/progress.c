/* progress.c: rate and ETA from examples finished in this run (resumed ones excluded), so the
 * estimate is not inflated by chunks read back from disk. */
#define _GNU_SOURCE
#include "progress.h"

#include <time.h>
#include <unistd.h>

double faith_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void faith_progress_init(faith_progress *p, FILE *out, int64_t total, int64_t already, int quiet)
{
    p->out = out;
    p->total = total;
    p->done = p->base = already;
    p->t0 = p->last = faith_now();
    p->tty = isatty(fileno(out));
    p->quiet = quiet;
    p->drawn = 0;
    p->interval = p->tty ? 0.5 : 5.0;
}

static void fmt_eta(double s, char *buf, size_t cap)
{
    if (!(s >= 0) || s > 1e8) snprintf(buf, cap, "?");
    else if (s < 60) snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

static void draw(faith_progress *p, double now)
{
    double el = now - p->t0, rate = el > 0 ? (double)(p->done - p->base) / el : 0;
    char eta[32];
    fmt_eta(rate > 0 ? (double)(p->total - p->done) / rate : -1, eta, sizeof eta);
    double pct = p->total ? 100.0 * (double)p->done / (double)p->total : 100.0;
    fprintf(p->out, "%s%lld/%lld examples (%.1f%%)  %.2f ex/s  ETA %s%s", p->tty ? "\r" : "",
            (long long)p->done, (long long)p->total, pct, rate, eta, p->tty ? "   " : "\n");
    fflush(p->out);
    p->drawn = 1;
    p->last = now;
}

void faith_progress_update(faith_progress *p, int64_t done, int force)
{
    p->done = done;
    if (p->quiet) return;
    double now = faith_now();
    if (force || now - p->last >= p->interval) draw(p, now);
}

void faith_progress_finish(faith_progress *p)
{
    if (p->quiet) return;
    draw(p, faith_now());
    if (p->tty) fputc('\n', p->out);
}
