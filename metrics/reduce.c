/* reduce.c: per-column summaries of metric records in ascending example id. Every sum runs in
 * id order in double and every bootstrap stream is keyed by (seed, metric, column), so the
 * summary bytes are the same whatever the number of ranks that produced the records. */
#include "reduce.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "stats.h"

void faith_summarize(const double *v, int64_t n, int64_t stride, uint64_t seed, const char *stream,
                     int32_t n_boot, faith_summary *out)
{
    double *x = faith_xmalloc(sizeof *x * (size_t)(n > 0 ? n : 1));
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        double val = v[i * stride];
        if (!isnan(val)) x[m++] = val;
    }
    out->n = m;
    out->n_nan = n - m;
    out->mean = faith_stats_mean(x, m);
    out->sd = faith_stats_sd(x, m);
    out->se = faith_stats_stderr(x, m);
    faith_stats_bootstrap_ci(x, m, seed, stream, n_boot, 0.05, &out->ci_lo, &out->ci_hi);
    free(x);
}

/* cJSON prints non-finite numbers as null, which is what a missing statistic should read as. */
cJSON *faith_summary_json(const faith_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    cJSON_AddNumberToObject(o, "n_nan", (double)s->n_nan);
    cJSON_AddNumberToObject(o, "mean", s->mean);
    cJSON_AddNumberToObject(o, "sd", s->sd);
    cJSON_AddNumberToObject(o, "se", s->se);
    cJSON_AddNumberToObject(o, "ci_lo", s->ci_lo);
    cJSON_AddNumberToObject(o, "ci_hi", s->ci_hi);
    return o;
}

double faith_curve_at(const double *pairs, int32_t len, double x)
{
    int32_t m = 0;
    while (m < len && !isnan(pairs[2 * m])) m++;
    if (m == 0) return NAN;
    if (x <= pairs[0]) return pairs[1];
    for (int32_t i = 1; i < m; i++) {
        double x0 = pairs[2 * (i - 1)], x1 = pairs[2 * i];
        if (x <= x1) {
            double y0 = pairs[2 * (i - 1) + 1], y1 = pairs[2 * i + 1];
            return x1 > x0 ? y0 + (y1 - y0) * (x - x0) / (x1 - x0) : y1;
        }
    }
    return pairs[2 * (m - 1) + 1];
}

static cJSON *column_json(const faith_reduce_input *in, int32_t c, int32_t width, int32_t n_boot)
{
    char stream[256];
    faith_summary s;
    snprintf(stream, sizeof stream, "bootstrap/%s/%s", in->metric, in->layout->cols[c]);
    faith_summarize(in->records + c, in->n, width, in->seed, stream, n_boot, &s);
    cJSON *o = faith_summary_json(&s);
    if (!in->labels || in->n_labels <= 0) return o;
    cJSON *by = cJSON_AddObjectToObject(o, "by_label");
    double *v = faith_xmalloc(sizeof *v * (size_t)(in->n > 0 ? in->n : 1));
    for (int32_t l = 0; l < in->n_labels; l++) {
        int64_t m = 0;
        for (int64_t i = 0; i < in->n; i++)
            if (in->labels[i] == l) v[m++] = in->records[i * width + c];
        char name[32];
        snprintf(name, sizeof name, "%d", l);
        snprintf(stream, sizeof stream, "bootstrap/%s/%s/label=%d", in->metric, in->layout->cols[c], l);
        faith_summarize(v, m, 1, in->seed, stream, n_boot, &s);
        cJSON_AddItemToObject(by, in->label_names ? in->label_names[l] : name, faith_summary_json(&s));
    }
    free(v);
    return o;
}

static cJSON *curve_json(const faith_reduce_input *in, int32_t width)
{
    int32_t G = FAITH_REDUCE_CURVE_GRID, len = in->layout->curve_len;
    cJSON *o = cJSON_CreateObject();
    cJSON *fr = cJSON_AddArrayToObject(o, "fraction");
    cJSON *mean = cJSON_AddArrayToObject(o, "mean");
    cJSON *cnt = cJSON_AddArrayToObject(o, "n");
    for (int32_t g = 0; g < G; g++) {
        double x = (double)g / (G - 1), s = 0;
        int64_t m = 0;
        for (int64_t i = 0; i < in->n; i++) {
            double y = faith_curve_at(in->records + i * width + in->layout->n_cols, len, x);
            if (isnan(y)) continue;
            s += y;
            m++;
        }
        cJSON_AddItemToArray(fr, cJSON_CreateNumber(x));
        cJSON_AddItemToArray(mean, cJSON_CreateNumber(m ? s / (double)m : NAN));
        cJSON_AddItemToArray(cnt, cJSON_CreateNumber((double)m));
    }
    return o;
}

int faith_reduce_metric(const faith_reduce_input *in, cJSON **out, faith_err *err)
{
    *out = NULL;
    for (int64_t i = 1; i < in->n; i++)
        if (in->ids[i] <= in->ids[i - 1])
            return faith_err_set(err, FAITH_ERR_ARG,
                                 "reduce %s: example ids must be strictly ascending (id %lld after "
                                 "%lld at record %lld)",
                                 in->metric, (long long)in->ids[i], (long long)in->ids[i - 1],
                                 (long long)i);
    int32_t width = in->layout->n_cols + 2 * in->layout->curve_len;
    int32_t n_boot = in->n_boot > 0 ? in->n_boot : FAITH_REDUCE_DEFAULT_BOOT;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n_examples", (double)in->n);
    cJSON *cols = cJSON_AddObjectToObject(o, "columns");
    for (int32_t c = 0; c < in->layout->n_cols; c++) {
        cJSON *col = column_json(in, c, width, n_boot);
        int hib = in->layout->higher_is_better[c];
        cJSON_AddStringToObject(col, "better", hib == 1 ? "higher" : hib == 0 ? "lower" : "neither");
        cJSON_AddItemToObject(cols, in->layout->cols[c], col);
    }
    if (in->layout->curve_len > 0) cJSON_AddItemToObject(o, "curve", curve_json(in, width));
    *out = o;
    return FAITH_OK;
}
