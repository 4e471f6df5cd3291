/* test_stats.c: statistics (moments, quantiles, bootstrap, Kendall tau-b, Spearman, trapezoid)
 * and the id-ordered reducer, against values worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reduce.h"
#include "rng.h"
#include "stats.h"

#define EPS 1e-12
/* cmocka here only compares floats; doubles need their own check that prints both values */
#define assert_near(a, b, eps)                                                         \
    do {                                                                               \
        double a_ = (a), b_ = (b);                                                     \
        if (!(fabs(a_ - b_) <= (eps))) {                                               \
            print_error("%.17g != %.17g (eps %g)\n", a_, b_, (double)(eps));          \
            fail();                                                                    \
        }                                                                              \
    } while (0)

static void test_moments(void **state)
{
    (void)state;
    double x[] = {2, 4, 4, 4, 5, 5, 7, 9};
    assert_near(faith_stats_mean(x, 8), 5.0, EPS);
    /* sum of squared deviations 32, n - 1 = 7 */
    assert_near(faith_stats_sd(x, 8), sqrt(32.0 / 7.0), EPS);
    assert_near(faith_stats_stderr(x, 8), sqrt(32.0 / 7.0) / sqrt(8.0), EPS);
    assert_true(isnan(faith_stats_mean(x, 0)));
    assert_true(isnan(faith_stats_sd(x, 1)));
    double s[] = {1, 2, 3, 4};
    assert_near(faith_stats_quantile_sorted(s, 4, 0.25), 1.75, EPS);
    assert_near(faith_stats_quantile_sorted(s, 4, 1.0), 4.0, EPS);
    assert_near(faith_stats_quantile_sorted(s, 4, 0.5), 2.5, EPS);
}

static void test_kendall_tau_b_with_ties(void **state)
{
    (void)state;
    /* pairs: 3 concordant, 1 discordant, one tied in x only, one tied in y only:
     * (3 - 1) / sqrt(5 * 5) = 0.4 */
    double x[] = {1, 2, 2, 3}, y[] = {1, 3, 2, 2};
    assert_near(faith_stats_kendall_tau_b(x, y, 4), 0.4, EPS);
    double a[] = {1, 2, 3, 4}, b[] = {4, 3, 2, 1};
    assert_near(faith_stats_kendall_tau_b(a, a, 4), 1.0, EPS);
    assert_near(faith_stats_kendall_tau_b(a, b, 4), -1.0, EPS);
    double c[] = {1, 1, 1, 1};
    assert_true(isnan(faith_stats_kendall_tau_b(a, c, 4)));
    assert_true(isnan(faith_stats_kendall_tau_b(a, b, 1)));
}

static void test_spearman_average_ranks(void **state)
{
    (void)state;
    double x[] = {1, 2, 2, 3}, y[] = {1, 3, 2, 2}, r[4];
    faith_stats_rank_avg(x, 4, r);
    assert_near(r[0], 1.0, EPS);
    assert_near(r[1], 2.5, EPS);
    assert_near(r[2], 2.5, EPS);
    assert_near(r[3], 4.0, EPS);
    /* ranks (1, 2.5, 2.5, 4) and (1, 4, 2.5, 2.5): sxy 2.25, sxx = syy = 4.5 */
    assert_near(faith_stats_spearman(x, y, 4), 0.5, EPS);
    double m[] = {10, 20, 30, 40}, sq[] = {1, 4, 9, 100};
    assert_near(faith_stats_spearman(m, sq, 4), 1.0, EPS); /* monotone, not linear */
}

static void test_trapezoid(void **state)
{
    (void)state;
    double x[] = {0, 0.5, 1}, y[] = {1, 0.5, 0};
    assert_near(faith_stats_trapz(x, y, 3), 0.5, EPS);
    double x2[] = {0, 0.25, 1}, y2[] = {1, 1, 0};
    assert_near(faith_stats_trapz(x2, y2, 3), 0.25 + 0.75 * 0.5, EPS);
    assert_near(faith_stats_trapz(x, y, 1), 0.0, EPS);
}

static void test_bootstrap_deterministic_and_covers_mean(void **state)
{
    (void)state;
    enum { N = 60 };
    double x[N];
    faith_rng r;
    faith_rng_init(&r, 1, 0, "data");
    for (int i = 0; i < N; i++) x[i] = faith_rng_normal(&r) + 3.0;
    double lo1, hi1, lo2, hi2, lo3, hi3;
    faith_stats_bootstrap_ci(x, N, 42, "bootstrap/m/c", 1000, 0.05, &lo1, &hi1);
    faith_stats_bootstrap_ci(x, N, 42, "bootstrap/m/c", 1000, 0.05, &lo2, &hi2);
    faith_stats_bootstrap_ci(x, N, 42, "bootstrap/m/other", 1000, 0.05, &lo3, &hi3);
    assert_true(lo1 == lo2 && hi1 == hi2);
    assert_true(lo1 != lo3 || hi1 != hi3);
    double mean = faith_stats_mean(x, N), se = faith_stats_stderr(x, N);
    assert_true(lo1 < mean && mean < hi1);
    /* a percentile interval of a near-normal mean is about mean +- 1.96 se */
    assert_true(fabs((hi1 - lo1) / (2 * 1.96 * se) - 1.0) < 0.2);

    /* the interval is the 2.5 / 97.5 % linear-interpolated quantiles of the resampled means,
     * drawn in order from the (seed, 0, stream) generator */
    double means[200];
    faith_rng b;
    faith_rng_init(&b, 7, 0, "s");
    for (int k = 0; k < 200; k++) {
        double s = 0;
        for (int i = 0; i < N; i++) s += x[faith_rng_below(&b, N)];
        means[k] = s / N;
    }
    for (int i = 1; i < 200; i++)
        for (int j = i; j > 0 && means[j] < means[j - 1]; j--) {
            double t = means[j];
            means[j] = means[j - 1];
            means[j - 1] = t;
        }
    double elo = means[4] + 0.975 * (means[5] - means[4]);      /* pos 0.025 * 199 = 4.975 */
    double ehi = means[194] + 0.025 * (means[195] - means[194]); /* pos 0.975 * 199 = 194.025 */
    double lo, hi;
    faith_stats_bootstrap_ci(x, N, 7, "s", 200, 0.05, &lo, &hi);
    assert_near(lo, elo, 1e-12);
    assert_near(hi, ehi, 1e-12);
}

static void test_reduce_summaries_by_label_and_curve(void **state)
{
    (void)state;
    faith_metric_layout lay = {.n_cols = 2, .cols = {"a", "b"}, .higher_is_better = {1, 0}, .curve_len = 3};
    /* width 2 + 2 * 3 = 8 */
    double rec[3 * 8] = {
        1.0, 10, 0, 1, 1, 0, NAN, NAN,
        NAN, 20, 0, 1, 0.5, 1, 1, 0,
        3.0, 30, NAN, NAN, NAN, NAN, NAN, NAN,
    };
    int64_t ids[] = {2, 5, 9};
    int32_t labels[] = {0, 1, 0};
    const char *names[] = {"neg", "pos"};
    faith_reduce_input in = {.metric = "m", .layout = &lay, .n = 3, .ids = ids, .labels = labels,
                             .records = rec, .n_labels = 2, .label_names = names, .seed = 1, .n_boot = 100};
    cJSON *out = NULL;
    faith_err err = {0};
    assert_int_equal(faith_reduce_metric(&in, &out, &err), FAITH_OK);
    cJSON *cols = cJSON_GetObjectItem(out, "columns");
    cJSON *a = cJSON_GetObjectItem(cols, "a");
    assert_int_equal((int)cJSON_GetObjectItem(a, "n")->valuedouble, 2);
    assert_int_equal((int)cJSON_GetObjectItem(a, "n_nan")->valuedouble, 1);
    assert_near(cJSON_GetObjectItem(a, "mean")->valuedouble, 2.0, EPS);
    assert_near(cJSON_GetObjectItem(a, "sd")->valuedouble, sqrt(2.0), EPS);
    cJSON *b = cJSON_GetObjectItem(cols, "b");
    assert_near(cJSON_GetObjectItem(b, "mean")->valuedouble, 20.0, EPS);
    cJSON *bneg = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "by_label"), "neg");
    assert_near(cJSON_GetObjectItem(bneg, "mean")->valuedouble, 20.0, EPS);
    cJSON *bpos = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "by_label"), "pos");
    assert_near(cJSON_GetObjectItem(bpos, "mean")->valuedouble, 20.0, EPS);
    assert_int_equal((int)cJSON_GetObjectItem(bpos, "n")->valuedouble, 1);
    assert_string_equal(cJSON_GetObjectItem(b, "better")->valuestring, "lower");
    /* curves (0,1)-(1,0) and (0,1)-(0.5,1)-(1,0) at 0.5: (0.5 + 1) / 2; example 3 has none */
    cJSON *curve = cJSON_GetObjectItem(out, "curve");
    cJSON *mean = cJSON_GetObjectItem(curve, "mean");
    assert_int_equal(cJSON_GetArraySize(mean), FAITH_REDUCE_CURVE_GRID);
    assert_near(cJSON_GetArrayItem(mean, 10)->valuedouble, 0.75, EPS);
    assert_near(cJSON_GetArrayItem(mean, 0)->valuedouble, 1.0, EPS);
    assert_int_equal((int)cJSON_GetArrayItem(cJSON_GetObjectItem(curve, "n"), 10)->valuedouble, 2);
    /* the same records give the same bytes */
    char *s1 = cJSON_PrintUnformatted(out);
    cJSON *out2 = NULL;
    assert_int_equal(faith_reduce_metric(&in, &out2, &err), FAITH_OK);
    char *s2 = cJSON_PrintUnformatted(out2);
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    cJSON_Delete(out);
    cJSON_Delete(out2);

    int64_t bad[] = {2, 9, 5};
    in.ids = bad;
    assert_int_equal(faith_reduce_metric(&in, &out, &err), FAITH_ERR_ARG);
    assert_non_null(strstr(err.msg, "ascending"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moments),
        cmocka_unit_test(test_kendall_tau_b_with_ties),
        cmocka_unit_test(test_spearman_average_ranks),
        cmocka_unit_test(test_trapezoid),
        cmocka_unit_test(test_bootstrap_deterministic_and_covers_mean),
        cmocka_unit_test(test_reduce_summaries_by_label_and_curve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
