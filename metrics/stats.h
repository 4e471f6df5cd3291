/* stats.h: the statistics Faith reports: moments, seeded bootstrap intervals, rank correlations
 * (Kendall tau-b, Spearman) and trapezoid areas, all in double and in the order given. */
#ifndef FAITH_STATS_H
#define FAITH_STATS_H

#include <stdint.h>

/* Mean of n values (NaN when n == 0). */
double faith_stats_mean(const double *x, int64_t n);
/* Sample standard deviation (n - 1 denominator; NaN when n < 2). */
double faith_stats_sd(const double *x, int64_t n);
/* Standard error of the mean, sd / sqrt(n) (NaN when n < 2). */
double faith_stats_stderr(const double *x, int64_t n);

/* Percentile bootstrap interval of the mean: n_boot resamples of n values drawn with
 * faith_rng_init(seed, 0, stream); the interval is the (alpha/2, 1 - alpha/2) quantiles of the
 * resampled means, interpolated linearly between order statistics (numpy's default). NaN when
 * n == 0; the single value twice when n == 1. */
void faith_stats_bootstrap_ci(const double *x, int64_t n, uint64_t seed, const char *stream,
                              int32_t n_boot, double alpha, double *lo, double *hi);

/* Quantile q in [0, 1] of sorted values (linear interpolation). */
double faith_stats_quantile_sorted(const double *sorted, int64_t n, double q);

/* Kendall tau-b of paired values (ties in either variable corrected as scipy's kendalltau):
 * (C - D) / sqrt((n0 - n1) (n0 - n2)). NaN when n < 2 or either variable is constant. O(n^2),
 * fine for sequence lengths. */
double faith_stats_kendall_tau_b(const double *x, const double *y, int64_t n);

/* Spearman rank correlation: Pearson correlation of average ranks (ties share their mean rank).
 * NaN when n < 2 or either variable is constant. */
double faith_stats_spearman(const double *x, const double *y, int64_t n);

/* Average ranks (1-based) of x into r; ties get the mean of their positions. */
void faith_stats_rank_avg(const double *x, int64_t n, double *r);

/* Pearson correlation (NaN when either variable is constant). */
double faith_stats_pearson(const double *x, const double *y, int64_t n);

/* Trapezoid area under (x[i], y[i]), x ascending. 0 for fewer than 2 points. */
double faith_stats_trapz(const double *x, const double *y, int64_t n);

#endif
