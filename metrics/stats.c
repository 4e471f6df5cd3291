/* stats.c: moments, the seeded percentile bootstrap, Kendall tau-b, Spearman and trapezoids.
 * Sums run in the given order in double so results are the same bytes on every rank count. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "rng.h"

double faith_stats_mean(const double *x, int64_t n)
{
    if (n <= 0) return NAN;
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s / (double)n;
}

double faith_stats_sd(const double *x, int64_t n)
{
    if (n < 2) return NAN;
    double m = faith_stats_mean(x, n), s = 0;
    for (int64_t i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (double)(n - 1));
}

double faith_stats_stderr(const double *x, int64_t n)
{
    if (n < 2) return NAN;
    return faith_stats_sd(x, n) / sqrt((double)n);
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

double faith_stats_quantile_sorted(const double *sorted, int64_t n, double q)
{
    if (n <= 0) return NAN;
    double pos = q * (double)(n - 1);
    int64_t i = (int64_t)floor(pos);
    if (i >= n - 1) return sorted[n - 1];
    if (i < 0) return sorted[0];
    double f = pos - (double)i;
    return sorted[i] + f * (sorted[i + 1] - sorted[i]);
}

void faith_stats_bootstrap_ci(const double *x, int64_t n, uint64_t seed, const char *stream,
                              int32_t n_boot, double alpha, double *lo, double *hi)
{
    if (n <= 0 || n_boot <= 0) {
        *lo = *hi = NAN;
        return;
    }
    if (n == 1) {
        *lo = *hi = x[0];
        return;
    }
    faith_rng r;
    faith_rng_init(&r, seed, 0, stream);
    double *means = faith_xmalloc(sizeof *means * (size_t)n_boot);
    for (int32_t b = 0; b < n_boot; b++) {
        double s = 0;
        for (int64_t i = 0; i < n; i++) s += x[faith_rng_below(&r, (uint64_t)n)];
        means[b] = s / (double)n;
    }
    qsort(means, (size_t)n_boot, sizeof *means, cmp_double);
    *lo = faith_stats_quantile_sorted(means, n_boot, alpha / 2);
    *hi = faith_stats_quantile_sorted(means, n_boot, 1 - alpha / 2);
    free(means);
}

static int sgn(double v)
{
    return (v > 0) - (v < 0);
}

double faith_stats_kendall_tau_b(const double *x, const double *y, int64_t n)
{
    if (n < 2) return NAN;
    /* Over all pairs: concordant minus discordant, and pairs untied in x / in y. */
    double cd = 0, untied_x = 0, untied_y = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            int sx = sgn(x[i] - x[j]), sy = sgn(y[i] - y[j]);
            cd += sx * sy;
            untied_x += sx != 0;
            untied_y += sy != 0;
        }
    if (untied_x == 0 || untied_y == 0) return NAN;
    return cd / sqrt(untied_x * untied_y);
}

typedef struct idx_val {
    double v;
    int64_t i;
} idx_val;

static int cmp_idx_val(const void *pa, const void *pb)
{
    const idx_val *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

void faith_stats_rank_avg(const double *x, int64_t n, double *r)
{
    idx_val *p = faith_xmalloc(sizeof *p * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        p[i].v = x[i];
        p[i].i = i;
    }
    qsort(p, (size_t)n, sizeof *p, cmp_idx_val);
    for (int64_t a = 0; a < n;) {
        int64_t b = a;
        while (b + 1 < n && p[b + 1].v == p[a].v) b++;
        double avg = (double)(a + b) / 2.0 + 1.0;
        for (int64_t k = a; k <= b; k++) r[p[k].i] = avg;
        a = b + 1;
    }
    free(p);
}

double faith_stats_pearson(const double *x, const double *y, int64_t n)
{
    if (n < 2) return NAN;
    double mx = faith_stats_mean(x, n), my = faith_stats_mean(y, n);
    double sxy = 0, sxx = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx == 0 || syy == 0) return NAN;
    return sxy / sqrt(sxx * syy);
}

double faith_stats_spearman(const double *x, const double *y, int64_t n)
{
    if (n < 2) return NAN;
    double *rx = faith_xmalloc(sizeof *rx * (size_t)n), *ry = faith_xmalloc(sizeof *ry * (size_t)n);
    faith_stats_rank_avg(x, n, rx);
    faith_stats_rank_avg(y, n, ry);
    double rho = faith_stats_pearson(rx, ry, n);
    free(rx);
    free(ry);
    return rho;
}

double faith_stats_trapz(const double *x, const double *y, int64_t n)
{
    double a = 0;
    for (int64_t i = 1; i < n; i++) a += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    return a;
}
