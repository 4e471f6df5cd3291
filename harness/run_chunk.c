/* run_chunk.c: the work of `faith run` on one chunk (tokenise, one batched forward, each explainer
 * then every metric), the --dry-run plan and estimate, and rank 0's final tables. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "zio.h"
#include "manifest.h"
#include "partial.h"
#include "results.h"
#include "stats.h"
#include "runner_internal.h"

static void cost_add(faith_cost *a, const faith_cost *b)
{
    a->forward += b->forward, a->backward += b->backward;
    a->sequences += b->sequences, a->tokens += b->tokens;
}

static int32_t argmax(const float *x, int32_t k)
{
    int32_t best = 0;
    for (int32_t i = 1; i < k; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* The same explainer, for the same target, on the randomised model; Spearman of the two word-score
 * vectors. The item carries the randomised model's own logits: explainers that know the full
 * input's output from them (coalition values, LOO drops) must not mix in the original model's. */
static int sanity_one(faith_run *r, const faith_explainer *e, const faith_item *orig, faith_record *rec,
                      faith_err *err)
{
    faith_env env = {r->rand_model, faith_tokenizer_special(r->tok), r->cfg->seed, r->cfg->batch_tokens,
                     e->output, &rec->metric_cost};
    faith_item item = *orig, *it = &item;
    float logits[FAITH_MAX_CLASSES];
    const int32_t *ids = it->ids, *types = it->type_ids;
    FAITH_TRY(faith_run_logits(r->rand_model, r->cfg->batch_tokens, 1, &ids, &types, &it->n, logits,
                               &rec->metric_cost, err));
    item.logits = logits;
    float *scores = faith_xcalloc((size_t)it->n, sizeof(float));
    float *ws = faith_xcalloc((size_t)it->n_words + 1, sizeof(float));
    int rc = faith_explainer_explain(e, &env, it, scores, NULL, err);
    if (rc == FAITH_OK) rc = faith_aggregate_words(e->aggregate, scores, it->word, it->n, it->n_words, ws, err);
    if (rc == FAITH_OK) {
        double *a = faith_xcalloc((size_t)it->n_words + 1, sizeof(double));
        double *b = faith_xcalloc((size_t)it->n_words + 1, sizeof(double));
        for (int32_t w = 0; w < it->n_words; w++) a[w] = rec->word_scores[w], b[w] = ws[w];
        rec->values[r->moff[r->cfg->n_metrics]] = faith_stats_spearman(a, b, it->n_words);
        free(a), free(b);
    } else {
        faith_err_prefix(err, "sanity.model_randomization: example %lld: ", (long long)it->id);
    }
    free(scores), free(ws);
    return rc;
}

/* One (example, explainer): explain, aggregate to words, then every metric on those scores. */
static int explain_one(faith_run *r, int32_t ei, const faith_example *ex, const faith_encoding *enc,
                       const float *logits, faith_record *rec, faith_cost *metric_costs,
                       faith_err *err)
{
    const faith_explainer *e = r->ex[ei];
    int32_t pred = argmax(logits, r->K), target;
    memset(rec, 0, sizeof *rec); /* the caller frees rec whatever happens */
    FAITH_TRY(faith_explainer_target(e, pred, ex->label, r->K, &target, err));
    double probs[FAITH_MAX_CLASSES];
    faith_softmax_row(logits, r->K, probs);
    faith_item it = {ex->id, enc->n, enc->ids, enc->type_ids, enc->special, enc->word, enc->n_words,
                     ex->label, target, logits,
                     ex->rationale && ex->n_words == enc->n_words ? ex->rationale : NULL};
    faith_env env = {r->model, faith_tokenizer_special(r->tok), r->cfg->seed, r->cfg->batch_tokens,
                     e->output, &rec->explain_cost};
    rec->id = ex->id, rec->explainer = ei, rec->label = ex->label, rec->pred = pred;
    rec->target = target, rec->prob = probs[target];
    rec->n = enc->n, rec->n_words = enc->n_words;
    rec->scores = faith_xcalloc((size_t)enc->n, sizeof(float));
    rec->word_scores = faith_xcalloc((size_t)enc->n_words + 1, sizeof(float));
    rec->ids = faith_xmalloc(sizeof(int32_t) * (size_t)enc->n);
    rec->word = faith_xmalloc(sizeof(int32_t) * (size_t)enc->n);
    rec->tokens = faith_xcalloc((size_t)enc->n, sizeof(char *));
    memcpy(rec->ids, enc->ids, sizeof(int32_t) * (size_t)enc->n);
    memcpy(rec->word, enc->word, sizeof(int32_t) * (size_t)enc->n);
    for (int32_t t = 0; t < enc->n; t++) {
        const char *s = faith_tokenizer_id_to_token(r->tok, enc->ids[t]);
        rec->tokens[t] = faith_xstrdup(s ? s : "");
    }
    faith_explain_extra extra = {NAN, NAN};
    int rc = faith_explainer_explain(e, &env, &it, rec->scores, &extra, err);
    if (rc < 0) return faith_err_prefix(err, "example %lld: ", (long long)ex->id);
    rec->completeness_gap = extra.completeness_gap, rec->delta_f = extra.delta_f;
    rc = faith_aggregate_words(e->aggregate, rec->scores, enc->word, enc->n, enc->n_words, rec->word_scores, err);
    if (rc < 0) return faith_err_prefix(err, "example %lld: explainers.%s: ", (long long)ex->id, e->ops->name);
    rec->n_values = r->width;
    rec->values = faith_xcalloc((size_t)r->width + 1, sizeof(double));
    for (int32_t mi = 0; mi < r->cfg->n_metrics; mi++) {
        const faith_metric *m = r->me[mi];
        double *out = rec->values + r->moff[mi];
        faith_cost mc = {0};
        env.cost = &mc;
        if (m->ops->needs_rationale && !it.rationale) {
            for (int32_t k = 0; k < faith_metric_width(m); k++) out[k] = NAN;
        } else {
            rc = m->ops->measure(m->state, &env, &it, rec->scores, rec->word_scores, out, err);
            if (rc < 0)
                return faith_err_prefix(err, "example %lld, explainer %s, metric %s: ",
                                        (long long)ex->id, e->ops->name, m->ops->name);
        }
        cost_add(&rec->metric_cost, &mc);
        if (metric_costs) cost_add(&metric_costs[mi], &mc);
    }
    if (r->rand_model) FAITH_TRY(sanity_one(r, e, &it, rec, err));
    return FAITH_OK;
}

int faith_run_compute_chunk(faith_run *r, int64_t c, faith_buf *b, void (*poll)(faith_run *),
                            faith_err *err)
{
    int32_t m = faith_run_chunk_size(r, c), E = r->cfg->n_explainers;
    /* Test hook: make one rank fail, to check the job ends with its message instead of hanging. */
    const char *fr = getenv("FAITH_TEST_FAIL_RANK");
    if (fr && *fr && atoi(fr) == r->rank)
        return faith_err_set(err, FAITH_ERR_INTERNAL, "chunk %lld: failure injected by FAITH_TEST_FAIL_RANK",
                             (long long)c);
    const int32_t *idx = r->order + c * r->cfg->batch_chunk;
    faith_encoding *enc = faith_xcalloc((size_t)m, sizeof *enc);
    const int32_t **ids = faith_xcalloc((size_t)m, sizeof *ids), **types = faith_xcalloc((size_t)m, sizeof *types);
    int32_t *len = faith_xcalloc((size_t)m, sizeof *len);
    float *logits = faith_xcalloc((size_t)m * (size_t)r->K, sizeof(float));
    faith_record *recs = faith_xcalloc((size_t)m * (size_t)E, sizeof *recs);
    int rc = FAITH_OK;
    int32_t n_enc = 0;
    for (; n_enc < m && rc == FAITH_OK; n_enc++) {
        rc = faith_run_encode(r, &r->ds->ex[idx[n_enc]], &enc[n_enc], err);
        if (rc < 0) break;
        ids[n_enc] = enc[n_enc].ids, types[n_enc] = enc[n_enc].type_ids, len[n_enc] = enc[n_enc].n;
    }
    /* One batched forward for the chunk's predictions: its batches depend on the chunk alone. */
    faith_cost pc = {0};
    if (rc == FAITH_OK)
        rc = faith_run_logits(r->model, r->cfg->batch_tokens, m, ids, types, len, logits, &pc, err);
    cost_add(&r->cost, &pc);
    for (int32_t i = 0; i < m && rc == FAITH_OK; i++) {
        for (int32_t e = 0; e < E && rc == FAITH_OK; e++) {
            faith_record *rec = &recs[i * E + e];
            rc = explain_one(r, e, &r->ds->ex[idx[i]], &enc[i], logits + (size_t)i * (size_t)r->K, rec,
                             NULL, err);
            cost_add(&r->cost, &rec->explain_cost);
            cost_add(&r->cost, &rec->metric_cost);
            if (poll) poll(r);
        }
    }
    if (rc == FAITH_OK) faith_chunk_encode(c, recs, m * E, b);
    faith_records_free(recs, m * E);
    for (int32_t i = 0; i < n_enc && i < m; i++) faith_encoding_free(&enc[i]);
    free(enc), free(ids), free(types), free(len), free(logits);
    return rc;
}

/* ---- dry run ---- */

int faith_run_dry(faith_run *r, faith_err *err)
{
    const faith_run_config *c = r->cfg;
    int64_t tok_sum = 0;
    for (int64_t i = 0; i < r->n_ex; i++) tok_sum += r->tok_lens[i];
    int32_t sample = r->order[r->n_ex / 2]; /* median length */
    printf("config    %s (hash %.16s)\n", c->path, r->hash);
    printf("model     %s (%s, %d layers, %d classes)\n", c->model_dir,
           faith_arch_name(faith_model_cfg(r->model)->arch), (int)faith_model_cfg(r->model)->n_layers,
           (int)r->K);
    printf("dataset   %s: %lld examples (%s), mean %.1f tokens, longest %d (max_length %d)\n",
           c->dataset.path, (long long)r->n_ex, r->ds->format, (double)tok_sum / (double)r->n_ex,
           (int)r->tok_lens[r->order[0]], (int)c->max_length);
    printf("chunks    %lld of %d examples, token budget %lld per forward\n", (long long)r->n_chunks,
           (int)c->batch_chunk, (long long)c->batch_tokens);
    printf("work      %d explainers x %d metrics = %lld records\n", (int)c->n_explainers,
           (int)c->n_metrics, (long long)(r->n_ex * c->n_explainers));
    printf("output    %s\n", c->output);
    /* A quick forward measures the time per token through the model. */
    faith_encoding enc;
    FAITH_TRY(faith_run_encode(r, &r->ds->ex[sample], &enc, err));
    int32_t reps = (int32_t)(c->batch_tokens / enc.n > 0 ? c->batch_tokens / enc.n : 1);
    if (reps > 64) reps = 64;
    const int32_t **ids = faith_xcalloc((size_t)reps, sizeof *ids), **ty = faith_xcalloc((size_t)reps, sizeof *ty);
    int32_t *len = faith_xcalloc((size_t)reps, sizeof *len);
    float *logits = faith_xcalloc((size_t)reps * (size_t)r->K, sizeof(float));
    for (int32_t i = 0; i < reps; i++) ids[i] = enc.ids, ty[i] = enc.type_ids, len[i] = enc.n;
    faith_cost fc = {0};
    double t = faith_now();
    int rc = faith_run_logits(r->model, c->batch_tokens, reps, ids, ty, len, logits, &fc, err);
    double per_token = (faith_now() - t) / (double)(reps * enc.n);
    /* One example through every explainer and metric gives the passes per example. */
    faith_cost *mcost = faith_xcalloc((size_t)c->n_metrics, sizeof *mcost);
    faith_cost ecost_total = {0}, mcost_total = {0};
    if (rc == FAITH_OK) {
        printf("\nestimate  from example %lld (%d tokens, the median length); per example:\n",
               (long long)r->ds->ex[sample].id, (int)enc.n);
        printf("  %-36s %10s %10s %10s\n", "component", "forward", "backward", "sequences");
    }
    for (int32_t e = 0; e < c->n_explainers && rc == FAITH_OK; e++) {
        faith_record rec;
        faith_cost before[64];
        memcpy(before, mcost, sizeof(faith_cost) * (size_t)(c->n_metrics < 64 ? c->n_metrics : 64));
        rc = explain_one(r, e, &r->ds->ex[sample], &enc, logits, &rec, mcost, err);
        if (rc < 0) {
            faith_record_free(&rec);
            break;
        }
        printf("  %-36s %10lld %10lld %10lld\n", c->explainers[e].name,
               (long long)rec.explain_cost.forward, (long long)rec.explain_cost.backward,
               (long long)rec.explain_cost.sequences);
        cost_add(&ecost_total, &rec.explain_cost);
        cost_add(&mcost_total, &rec.metric_cost);
        faith_record_free(&rec);
    }
    for (int32_t mi = 0; mi < c->n_metrics && rc == FAITH_OK; mi++) {
        char lab[64];
        snprintf(lab, sizeof lab, "%s (x%d explainers)", c->metrics[mi].name, (int)c->n_explainers);
        printf("  %-36s %10lld %10lld %10lld\n", lab, (long long)mcost[mi].forward,
               (long long)mcost[mi].backward, (long long)mcost[mi].sequences);
    }
    if (rc == FAITH_OK) {
        double tokens = (double)(ecost_total.tokens + mcost_total.tokens + enc.n);
        double mean_scale = ((double)tok_sum / (double)r->n_ex) / (double)enc.n;
        double est = tokens * per_token * (double)r->n_ex * mean_scale / (double)r->size;
        printf("  forward time %.3g ms per token (measured on %d sequences)\n", 1e3 * per_token,
               (int)reps);
        printf("  estimated wall time on %d rank%s x %d threads: %.0f s (%.1f min)\n", r->size,
               r->size > 1 ? "s" : "", r->threads, est, est / 60);
        printf("\ndry run: everything validated; nothing was written\n");
    }
    free(mcost), free(ids), free(ty), free(len), free(logits);
    faith_encoding_free(&enc);
    return rc;
}

/* ---- rank 0's end of run ---- */

/* probes.tsv: one row per (layer, pool) of the probe results. */
static int write_probes(const faith_run *r, faith_err *err)
{
    static const char *const cols[] = {"accuracy", "control_accuracy", "selectivity", "lambda",
                                       "control_lambda", "majority"};
    char *p = faith_xmalloc(strlen(r->cfg->output) + 16);
    sprintf(p, "%s/probes.tsv", r->cfg->output);
    faith_zio *z;
    int rc = faith_zio_open(p, 0, &z, err);
    free(p);
    FAITH_TRY(rc);
    const cJSON *prop = cJSON_GetObjectItemCaseSensitive(r->probe_out, "property");
    faith_zio_puts(z, "property\tlayer\tpool");
    for (size_t c = 0; c < 6; c++) faith_zio_printf(z, "\t%s", cols[c]);
    faith_zio_puts(z, "\n");
    const cJSON *l;
    cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(r->probe_out, "layers")) {
        const cJSON *pool = cJSON_GetObjectItemCaseSensitive(l, "pool");
        faith_zio_printf(z, "%s\t%d\t%s", cJSON_IsString(prop) ? prop->valuestring : "",
                         cJSON_GetObjectItemCaseSensitive(l, "layer")->valueint,
                         cJSON_IsString(pool) ? pool->valuestring : "");
        for (size_t c = 0; c < 6; c++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, cols[c]);
            faith_zio_puts(z, "\t");
            faith_zio_double(z, cJSON_IsNumber(v) ? v->valuedouble : NAN);
        }
        faith_zio_puts(z, "\n");
    }
    return faith_zio_close(z, err);
}

static int collect(faith_run *r, faith_record **out, int64_t *n_out, faith_err *err)
{
    int64_t total = r->n_ex * r->cfg->n_explainers, k = 0;
    faith_record *all = faith_xcalloc((size_t)total, sizeof *all);
    for (int64_t c = 0; c < r->n_chunks; c++) {
        faith_record *recs;
        int32_t n;
        int64_t idx;
        int rc = faith_chunk_decode(r->payload[c], r->payload_n[c], &idx, &recs, &n, err);
        if (rc < 0 || idx != c || k + n > total) {
            faith_records_free(all, (int32_t)k);
            if (rc == FAITH_OK) faith_records_free(recs, n);
            return rc < 0 ? faith_err_prefix(err, "chunk %lld: ", (long long)c)
                          : faith_err_set(err, FAITH_ERR_INTERNAL, "chunk %lld: bad records", (long long)c);
        }
        memcpy(all + k, recs, sizeof *recs * (size_t)n);
        k += n;
        free(recs);
        free(r->payload[c]);
        r->payload[c] = NULL;
    }
    if (k != total) {
        faith_records_free(all, (int32_t)k);
        return faith_err_set(err, FAITH_ERR_INTERNAL, "gathered %lld records, expected %lld",
                             (long long)k, (long long)total);
    }
    faith_records_sort(all, k);
    *out = all, *n_out = k;
    return FAITH_OK;
}

/* Pass when the mean |rank correlation| with the randomised model's scores is under the threshold. */
static void print_sanity(const faith_run *r, const cJSON *summary)
{
    printf("sanity (model randomisation, top %d layers): Spearman of word scores, pass below %g\n",
           (int)r->cfg->sanity_layers, r->cfg->sanity_threshold);
    for (int32_t e = 0; e < r->cfg->n_explainers; e++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(summary, "explainers");
        x = cJSON_GetObjectItemCaseSensitive(x, r->cfg->explainers[e].name);
        x = cJSON_GetObjectItemCaseSensitive(x, "model_randomization");
        x = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(x, "columns"), "spearman");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(x, "mean");
        double v = cJSON_IsNumber(m) ? m->valuedouble : NAN;
        printf("  %-28s %8.4f  %s\n", r->cfg->explainers[e].name, v,
               isnan(v) ? "n/a" : fabs(v) < r->cfg->sanity_threshold ? "pass" : "FAIL");
    }
}

int faith_run_finish(faith_run *r, double t0, faith_err *err)
{
    double tg = faith_now();
    const faith_run_config *c = r->cfg;
    faith_record *recs = NULL;
    int64_t n = 0;
    FAITH_TRY(collect(r, &recs, &n, err));
    const char **en = faith_xcalloc((size_t)c->n_explainers, sizeof *en);
    const char **mn = faith_xcalloc((size_t)r->n_cols_all, sizeof *mn);
    faith_metric **ms = faith_xcalloc((size_t)r->n_cols_all, sizeof *ms);
    for (int32_t i = 0; i < c->n_explainers; i++) en[i] = c->explainers[i].name;
    for (int32_t i = 0; i < c->n_metrics; i++) mn[i] = c->metrics[i].name, ms[i] = r->me[i];
    if (r->rand_model) mn[c->n_metrics] = "model_randomization", ms[c->n_metrics] = &r->sanity;
    const char *labels[FAITH_MAX_CLASSES];
    int32_t nl = r->ds->n_labels > 0 ? r->ds->n_labels : r->K;
    for (int32_t i = 0; i < nl; i++)
        labels[i] = r->ds->n_labels > 0 ? r->ds->labels[i] : faith_model_cfg(r->model)->labels[i];
    faith_results_input in = {c->n_explainers, r->n_cols_all, en, mn, ms, recs, n, labels, nl,
                              c->seed};
    cJSON *summary = NULL, *hashes = NULL;
    int rc = faith_results_write(&in, c->output, &summary, err);
    if (rc == FAITH_OK && r->probe_out) rc = write_probes(r, err);
    if (rc == FAITH_OK) rc = faith_manifest_model_hashes(c->model_dir, &hashes, err);
    r->stats.records = n;
    r->stats.write_s = faith_now() - tg;
    r->stats.wall_s = faith_now() - t0;
    if (rc == FAITH_OK)
        rc = faith_manifest_write(c->output, r->resolved, r->hash, hashes, c->dataset.path,
                                  r->ds->sha256, c->seed, &r->stats, err);
    if (rc == FAITH_OK) rc = faith_partial_remove(c->output, err);
    if (rc == FAITH_OK && !r->opts.quiet) {
        const faith_run_stats *s = &r->stats;
        printf("\n");
        faith_results_leaderboard(&in, summary, stdout);
        if (r->rand_model) print_sanity(r, summary);
        double comp = s->wall_s > 0 ? (double)s->examples_computed / s->wall_s : 0;
        printf("\nthroughput: %.2f examples/s (%.2f in the work phase), %.1f sequences/s, %lld forward + "
               "%lld backward passes (%d ranks x %d threads, %.1f s)\n",
               comp, s->work_s > 0 ? (double)s->examples_computed / s->work_s : 0,
               s->wall_s > 0 ? (double)s->cost.sequences / s->wall_s : 0, (long long)s->cost.forward,
               (long long)s->cost.backward, s->ranks, s->threads, s->wall_s);
        double ne = (double)(s->examples ? s->examples : 1);
        printf("rank 0: planning %.3f + gathering %.3f ms per example (%.3f ms CPU); tables %.3f s\n",
               1e3 * s->plan_s / ne, 1e3 * s->gather_s / ne, 1e3 * s->gather_cpu_s / ne, s->write_s);
        printf("results in %s/: examples.tsv.zst curves.tsv.zst attributions.jsonl.zst summary.tsv "
               "summary.json %smanifest.json\n", c->output, c->has_probe ? "probes.tsv " : "");
    }
    cJSON_Delete(summary);
    cJSON_Delete(hashes);
    free(en), free(mn), free(ms);
    faith_records_free(recs, (int32_t)n);
    return rc;
}
