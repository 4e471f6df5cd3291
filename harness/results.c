/* results.c: rank 0's tables: TSV/JSONL streams through zio (one float format, fixed column order)
 * and the summaries from metrics/reduce, so the bytes depend on the records alone. */
#include "results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reduce.h"
#include "zio.h"

static int cmp_rec(const void *a, const void *b)
{
    const faith_record *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return (x->explainer > y->explainer) - (x->explainer < y->explainer);
}

void faith_records_sort(faith_record *recs, int64_t n)
{
    qsort(recs, (size_t)n, sizeof *recs, cmp_rec);
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = faith_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void tab_double(faith_zio *z, double v)
{
    faith_zio_puts(z, "\t");
    faith_zio_double(z, v);
}

static void tab_cost(faith_zio *z, const faith_cost *c)
{
    faith_zio_printf(z, "\t%lld\t%lld\t%lld\t%lld", (long long)c->forward, (long long)c->backward,
                     (long long)c->sequences, (long long)c->tokens);
}

static int write_examples(const faith_results_input *in, const char *dir, faith_err *err)
{
    char *p = path_in(dir, "examples.tsv.zst");
    faith_zio *z;
    int rc = faith_zio_open(p, 3, &z, err);
    free(p);
    FAITH_TRY(rc);
    faith_zio_puts(z, "id\texplainer\tlabel\tprediction\ttarget\tprobability\tcompleteness_gap\tdelta_f");
    for (int32_t m = 0; m < in->n_metrics; m++)
        for (int32_t c = 0; c < in->metrics[m]->layout.n_cols; c++)
            faith_zio_printf(z, "\t%s.%s", in->metric_names[m], in->metrics[m]->layout.cols[c]);
    faith_zio_puts(z, "\texplain_forward\texplain_backward\texplain_sequences\texplain_tokens"
                      "\tmetric_forward\tmetric_backward\tmetric_sequences\tmetric_tokens"
                      "\tn_tokens\tn_words\n");
    for (int64_t i = 0; i < in->n_recs; i++) {
        const faith_record *r = &in->recs[i];
        faith_zio_printf(z, "%lld\t%s\t%d\t%d\t%d", (long long)r->id, in->explainer_names[r->explainer],
                         (int)r->label, (int)r->pred, (int)r->target);
        tab_double(z, r->prob);
        tab_double(z, r->completeness_gap);
        tab_double(z, r->delta_f);
        int32_t off = 0;
        for (int32_t m = 0; m < in->n_metrics; m++) {
            for (int32_t c = 0; c < in->metrics[m]->layout.n_cols; c++) tab_double(z, r->values[off + c]);
            off += faith_metric_width(in->metrics[m]);
        }
        tab_cost(z, &r->explain_cost);
        tab_cost(z, &r->metric_cost);
        faith_zio_printf(z, "\t%d\t%d\n", (int)r->n, (int)r->n_words);
    }
    return faith_zio_close(z, err);
}

static int write_curves(const faith_results_input *in, const char *dir, faith_err *err)
{
    char *p = path_in(dir, "curves.tsv.zst");
    faith_zio *z;
    int rc = faith_zio_open(p, 3, &z, err);
    free(p);
    FAITH_TRY(rc);
    faith_zio_puts(z, "id\texplainer\tmetric\tstep\tfraction\tvalue\n");
    for (int64_t i = 0; i < in->n_recs; i++) {
        const faith_record *r = &in->recs[i];
        int32_t off = 0;
        for (int32_t m = 0; m < in->n_metrics; m++) {
            const faith_metric_layout *L = &in->metrics[m]->layout;
            const double *pairs = r->values + off + L->n_cols;
            for (int32_t s = 0; s < L->curve_len; s++) {
                if (isnan(pairs[2 * s])) continue; /* padding past this example's curve */
                faith_zio_printf(z, "%lld\t%s\t%s\t%d", (long long)r->id,
                                 in->explainer_names[r->explainer], in->metric_names[m], (int)s);
                tab_double(z, pairs[2 * s]);
                tab_double(z, pairs[2 * s + 1]);
                faith_zio_puts(z, "\n");
            }
            off += faith_metric_width(in->metrics[m]);
        }
    }
    return faith_zio_close(z, err);
}

static void json_str(faith_zio *z, const char *s)
{
    faith_zio_puts(z, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') faith_zio_printf(z, "\\%c", *p);
        else if (*p < 0x20) faith_zio_printf(z, "\\u%04x", *p);
        else faith_zio_write(z, p, 1);
    }
    faith_zio_puts(z, "\"");
}

static void json_num(faith_zio *z, double v)
{
    if (isfinite(v)) faith_zio_double(z, v);
    else faith_zio_puts(z, "null");
}

static int write_attributions(const faith_results_input *in, const char *dir, faith_err *err)
{
    char *p = path_in(dir, "attributions.jsonl.zst");
    faith_zio *z;
    int rc = faith_zio_open(p, 3, &z, err);
    free(p);
    FAITH_TRY(rc);
    for (int64_t i = 0; i < in->n_recs; i++) {
        const faith_record *r = &in->recs[i];
        faith_zio_printf(z, "{\"id\":%lld,\"explainer\":", (long long)r->id);
        json_str(z, in->explainer_names[r->explainer]);
        faith_zio_printf(z, ",\"target\":%d,\"tokens\":[", (int)r->target);
        for (int32_t t = 0; t < r->n; t++) {
            if (t) faith_zio_puts(z, ",");
            json_str(z, r->tokens[t]);
        }
        faith_zio_puts(z, "],\"ids\":[");
        for (int32_t t = 0; t < r->n; t++) faith_zio_printf(z, "%s%d", t ? "," : "", (int)r->ids[t]);
        faith_zio_puts(z, "],\"word_ids\":[");
        for (int32_t t = 0; t < r->n; t++) faith_zio_printf(z, "%s%d", t ? "," : "", (int)r->word[t]);
        faith_zio_puts(z, "],\"scores\":[");
        for (int32_t t = 0; t < r->n; t++) {
            if (t) faith_zio_puts(z, ",");
            json_num(z, r->scores[t]);
        }
        faith_zio_puts(z, "],\"word_scores\":[");
        for (int32_t w = 0; w < r->n_words; w++) {
            if (w) faith_zio_puts(z, ",");
            json_num(z, r->word_scores[w]);
        }
        faith_zio_puts(z, "]}\n");
    }
    return faith_zio_close(z, err);
}

/* summary.json: {"n_records", "explainers": {name: {metric: reduce output}}}. */
static int build_summary(const faith_results_input *in, cJSON **out, faith_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "n_records", (double)in->n_recs);
    cJSON *labs = cJSON_AddArrayToObject(root, "labels");
    for (int32_t l = 0; l < in->n_labels; l++) cJSON_AddItemToArray(labs, cJSON_CreateString(in->label_names[l]));
    cJSON *exs = cJSON_AddObjectToObject(root, "explainers");
    int64_t n = 0;
    for (int64_t i = 0; i < in->n_recs; i++) n += in->recs[i].explainer == 0;
    int64_t *ids = faith_xcalloc((size_t)n + 1, sizeof *ids);
    int32_t *labels = faith_xcalloc((size_t)n + 1, sizeof *labels);
    double *vals = NULL;
    int rc = FAITH_OK;
    for (int32_t e = 0; e < in->n_explainers && rc == FAITH_OK; e++) {
        cJSON *ej = cJSON_AddObjectToObject(exs, in->explainer_names[e]);
        int32_t off = 0;
        for (int32_t m = 0; m < in->n_metrics && rc == FAITH_OK; m++) {
            int32_t w = faith_metric_width(in->metrics[m]);
            vals = faith_xrealloc(vals, sizeof(double) * (size_t)(n * w + 1));
            int64_t k = 0;
            for (int64_t i = 0; i < in->n_recs; i++) {
                const faith_record *r = &in->recs[i];
                if (r->explainer != e || k >= n) continue;
                ids[k] = r->id, labels[k] = r->label;
                memcpy(vals + k * w, r->values + off, sizeof(double) * (size_t)w);
                k++;
            }
            faith_reduce_input ri = {in->metric_names[m], &in->metrics[m]->layout, k, ids, labels, vals,
                                     in->n_labels, in->label_names, in->seed, 0};
            cJSON *mj = NULL;
            rc = faith_reduce_metric(&ri, &mj, err);
            if (rc == FAITH_OK) cJSON_AddItemToObject(ej, in->metric_names[m], mj);
            off += w;
        }
    }
    free(ids), free(labels), free(vals);
    if (rc < 0) {
        cJSON_Delete(root);
        return rc;
    }
    *out = root;
    return FAITH_OK;
}

static double num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const cJSON *column(const cJSON *summary, const char *e, const char *m, const char *col)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(summary, "explainers");
    x = cJSON_GetObjectItemCaseSensitive(x, e);
    x = cJSON_GetObjectItemCaseSensitive(x, m);
    x = cJSON_GetObjectItemCaseSensitive(x, "columns");
    return cJSON_GetObjectItemCaseSensitive(x, col);
}

static int write_summary(const faith_results_input *in, const cJSON *summary, const char *dir,
                         faith_err *err)
{
    char *p = path_in(dir, "summary.tsv");
    faith_zio *z;
    int rc = faith_zio_open(p, 0, &z, err);
    free(p);
    FAITH_TRY(rc);
    faith_zio_puts(z, "explainer\tmetric\tcolumn\tn\tmean\tsd\tstderr\tci_lo\tci_hi\thigher_is_better\n");
    for (int32_t e = 0; e < in->n_explainers; e++)
        for (int32_t m = 0; m < in->n_metrics; m++) {
            const faith_metric_layout *L = &in->metrics[m]->layout;
            for (int32_t c = 0; c < L->n_cols; c++) {
                const cJSON *s = column(summary, in->explainer_names[e], in->metric_names[m], L->cols[c]);
                faith_zio_printf(z, "%s\t%s\t%s\t%lld", in->explainer_names[e], in->metric_names[m],
                                 L->cols[c], (long long)num(s, "n"));
                tab_double(z, num(s, "mean"));
                tab_double(z, num(s, "sd"));
                tab_double(z, num(s, "se"));
                tab_double(z, num(s, "ci_lo"));
                tab_double(z, num(s, "ci_hi"));
                faith_zio_printf(z, "\t%d\n", L->higher_is_better[c]);
            }
        }
    FAITH_TRY(faith_zio_close(z, err));
    char *text = cJSON_Print(summary);
    size_t tl = strlen(text);
    text = faith_xrealloc(text, tl + 2);
    text[tl] = '\n', text[tl + 1] = '\0';
    p = path_in(dir, "summary.json");
    rc = faith_zio_write_file(p, 0, text, tl + 1, err);
    free(p);
    free(text);
    return rc;
}

int faith_results_write(const faith_results_input *in, const char *dir, cJSON **summary,
                        faith_err *err)
{
    FAITH_TRY(write_examples(in, dir, err));
    FAITH_TRY(write_curves(in, dir, err));
    FAITH_TRY(write_attributions(in, dir, err));
    cJSON *s = NULL;
    FAITH_TRY(build_summary(in, &s, err));
    int rc = write_summary(in, s, dir, err);
    if (rc == FAITH_OK && summary) *summary = s;
    else cJSON_Delete(s);
    return rc;
}

void faith_results_leaderboard(const faith_results_input *in, const cJSON *summary, FILE *out)
{
    int wname = 9;
    for (int32_t e = 0; e < in->n_explainers; e++) {
        int l = (int)strlen(in->explainer_names[e]);
        if (l > wname) wname = l;
    }
    fprintf(out, "%-*s", wname, "explainer");
    for (int32_t m = 0; m < in->n_metrics; m++) {
        const faith_metric_layout *L = &in->metrics[m]->layout;
        char h[96];
        const char *arrow = L->higher_is_better[0] == 1 ? " ^" : L->higher_is_better[0] == 0 ? " v" : "";
        snprintf(h, sizeof h, "%s.%s%s", in->metric_names[m], L->n_cols ? L->cols[0] : "?", arrow);
        fprintf(out, "  %-28s", h);
    }
    fprintf(out, "\n");
    for (int32_t e = 0; e < in->n_explainers; e++) {
        fprintf(out, "%-*s", wname, in->explainer_names[e]);
        for (int32_t m = 0; m < in->n_metrics; m++) {
            const faith_metric_layout *L = &in->metrics[m]->layout;
            const cJSON *s = L->n_cols ? column(summary, in->explainer_names[e], in->metric_names[m],
                                                L->cols[0]) : NULL;
            char cell[96];
            snprintf(cell, sizeof cell, "%.4f [%.4f, %.4f]", num(s, "mean"), num(s, "ci_lo"),
                     num(s, "ci_hi"));
            fprintf(out, "  %-28s", cell);
        }
        fprintf(out, "\n");
    }
    fprintf(out, "(mean [95%% bootstrap CI] of each metric's main column; ^ higher is better, v lower)\n");
}
