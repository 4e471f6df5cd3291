/* runner.c: `faith run` across MPI ranks: setup agreed collectively, a plan of fixed chunks (by
 * token length) made on rank 0, chunks handed out on request, records gathered and tables written. */
#define _GNU_SOURCE
#include "plausibility.h"
#include "runner.h"

#include <math.h>
#include <mpi.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "batcher.h"
#include "config.h"
#include "dataset.h"
#include "manifest.h"
#include "partial.h"
#include "progress.h"
#include "records.h"
#include "results.h"
#include "rng.h"
#include "runner_internal.h"

enum { TAG_REQ = 101, TAG_ASSIGN, TAG_RESULT, TAG_FAIL };

/* Wait for a request while sleeping between tests: Open MPI's blocking calls spin, and a spinning
 * idle rank takes a core from the ranks still computing (or from rank 0 writing tables). */
static void lazy_wait(MPI_Request *req, MPI_Status *st)
{
    int done = 0;
    for (unsigned i = 0;; i++) {
        MPI_Test(req, &done, st ? st : MPI_STATUS_IGNORE);
        if (done) return;
        usleep(i < 100 ? 50 : 1000);
    }
}

void faith_run_wait(void *mpi_request) { lazy_wait((MPI_Request *)mpi_request, NULL); }

static void allreduce(const void *in, void *out, int n, MPI_Datatype t, MPI_Op op)
{
    MPI_Request q;
    MPI_Iallreduce(in, out, n, t, op, MPI_COMM_WORLD, &q);
    lazy_wait(&q, NULL);
}

static void bcast(void *buf, int n, MPI_Datatype t, int root)
{
    MPI_Request q;
    MPI_Ibcast(buf, n, t, root, MPI_COMM_WORLD, &q);
    lazy_wait(&q, NULL);
}

/* ---- setup ---- */

/* A positive integer from the environment, or 0. */
static int env_threads(const char *name)
{
    const char *v = getenv(name);
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    return v && end != v && n > 0 && n <= 4096 ? (int)n : 0;
}

static int pick_threads(faith_run *r)
{
    /* The thread count changes no byte of the tables (per-sequence products, single-threaded
     * solves: DESIGN.md), only the speed. Explicit settings win (--threads, config "threads",
     * OMP_NUM_THREADS, OPENBLAS_NUM_THREADS); otherwise the node's cores are shared among the
     * node's ranks, within the cores this rank may run on (mpirun and Slurm bind ranks). Every rank
     * calls this: the node split is a collective. */
    MPI_Comm node;
    int local = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    int bound = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)online;
    int n = r->opts.threads > 0 ? r->opts.threads : r->cfg ? r->cfg->threads : 0;
    if (n <= 0) n = env_threads("OMP_NUM_THREADS");
    if (n <= 0) n = env_threads("OPENBLAS_NUM_THREADS");
    if (n <= 0) {
        n = online > 0 ? (int)(online / (local > 0 ? local : 1)) : 1;
        if (bound > 0 && n > bound) n = bound;
        if (n < 1) n = 1;
    } else if (bound > 0 && n > bound && r->rank == 0) {
        /* mpirun binds each rank to one core by default: more threads would share it, slower than one. */
        fprintf(stderr, "faith: warning: %d threads per rank, but rank 0 may only run on %d core%s; launch with "
                "mpirun --map-by slot:PE=%d (or --bind-to none)\n", n, bound, bound == 1 ? "" : "s", n);
    }
    faith_set_threads(n);
    return n;
}

static void join_names(char *const *names, int32_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[0] = '\0';
    for (int32_t k = 0; k < n && o < cap; k++) o += (size_t)snprintf(out + o, cap - o, "%s%s", k ? ", " : "", names[k]);
}

/* dataset.label_names fix which index each name gets; if the model's id2label has real names (not
 * transformers' LABEL_i defaults) they must be the same names in the same order, or every
 * target, prediction and accuracy would silently refer to the wrong class. */
static int check_label_order(const faith_run_config *c, const faith_model_config *mc, faith_err *err)
{
    if (c->dataset.n_label_names == 0) return FAITH_OK;
    int real = 0;
    char def[FAITH_LABEL_MAX];
    for (int k = 0; k < mc->n_classes; k++) {
        snprintf(def, sizeof def, "LABEL_%d", k);
        real |= strcmp(mc->labels[k], def) != 0;
    }
    if (!real) return FAITH_OK;
    int same = c->dataset.n_label_names <= mc->n_classes;
    for (int32_t k = 0; same && k < c->dataset.n_label_names; k++)
        same = strcasecmp(c->dataset.label_names[k], mc->labels[k]) == 0;
    if (same) return FAITH_OK;
    char a[512], b[512];
    char *mnames[FAITH_MAX_CLASSES];
    for (int k = 0; k < mc->n_classes; k++) mnames[k] = (char *)mc->labels[k];
    join_names(c->dataset.label_names, c->dataset.n_label_names, a, sizeof a);
    join_names(mnames, mc->n_classes, b, sizeof b);
    return faith_err_set(err, FAITH_ERR_ARG,
                         "%s: dataset.label_names [%s] do not match the model's id2label labels [%s] (same names "
                         "in the same order expected)",
                         c->path, a, b);
}

static int setup_local(faith_run *r, faith_err *err)
{
    FAITH_TRY(faith_config_load(r->opts.config, &r->cfg, err));
    faith_run_config *c = r->cfg;
    if (r->opts.output) faith_config_set_output(c, r->opts.output);
    if (r->opts.limit > 0) c->dataset.limit = r->opts.limit;
    FAITH_TRY(faith_config_components(c, &r->ex, &r->me, err));
    r->width = 0;
    r->moff = faith_xcalloc((size_t)c->n_metrics + 1, sizeof(int32_t));
    for (int32_t i = 0; i < c->n_metrics; i++) {
        r->moff[i] = r->width;
        r->width += faith_metric_width(r->me[i]);
    }
    r->moff[c->n_metrics] = r->width;
    r->n_cols_all = c->n_metrics;
    if (faith_model_load(c->model_dir, &r->model, err) < 0)
        return faith_err_prefix(err, "%s: model: ", c->path);
    if (faith_tokenizer_load(c->model_dir, &r->tok, err) < 0)
        return faith_err_prefix(err, "%s: tokenizer: ", c->path);
    if (faith_model_check_vocab(r->model, faith_tokenizer_vocab_size(r->tok), c->model_dir, err) < 0)
        return faith_err_prefix(err, "%s: tokenizer: ", c->path);
    faith_model_set_products(r->model, c->products);
    const faith_model_config *mc = faith_model_cfg(r->model);
    r->K = mc->n_classes;
    /* Every component is checked against this model and tokenizer now, so that a parameter they
     * cannot serve fails here, on every rank alike, rather than on some rank's first example. */
    faith_cost no_cost = {0};
    faith_env env = {r->model, faith_tokenizer_special(r->tok), c->seed, c->batch_tokens, FAITH_OUT_PROB, &no_cost};
    for (int32_t i = 0; i < c->n_explainers; i++)
        if (faith_explainer_check(r->ex[i], &env, r->K, err) < 0)
            return faith_err_prefix(err, "%s: explainers[%d] ('%s'): ", c->path, (int)i, c->explainers[i].name);
    for (int32_t i = 0; i < c->n_metrics; i++)
        if (faith_metric_check(r->me[i], &env, err) < 0)
            return faith_err_prefix(err, "%s: metrics[%d] ('%s'): ", c->path, (int)i, c->metrics[i].name);
    if (c->has_sanity) {
        /* Adebayo et al. 2018: explanations of a model whose top layers are re-initialised
         * should differ from the trained model's; the record keeps their Spearman correlation. */
        if (c->sanity_layers > mc->n_layers)
            return faith_err_set(err, FAITH_ERR_ARG,
                                 "%s: sanity.model_randomization.layers: %d exceeds the model's %d layers",
                                 c->path, (int)c->sanity_layers, (int)mc->n_layers);
        FAITH_TRY(faith_model_load(c->model_dir, &r->rand_model, err));
        faith_model_set_products(r->rand_model, c->products);
        faith_model_randomize_top(r->rand_model, c->sanity_layers, c->seed ^ faith_hash_str("sanity"));
        static const faith_metric_ops sanity_ops = {.name = "model_randomization", .version = "1",
                                                    .summary = "Spearman of word scores, trained vs randomised top layers",
                                                    .family = FAITH_FAMILY_SANITY};
        r->sanity.ops = &sanity_ops;
        r->sanity.layout.n_cols = 1;
        r->sanity.layout.cols[0] = "spearman";
        r->sanity.layout.higher_is_better[0] = 0;
        r->moff = faith_xrealloc(r->moff, sizeof(int32_t) * ((size_t)c->n_metrics + 2));
        r->width += 1;
        r->moff[c->n_metrics + 1] = r->width;
        r->n_cols_all = c->n_metrics + 1;
    }
    if (!c->max_length_given && c->max_length > faith_model_cfg_max_tokens(mc))
        c->max_length = faith_model_cfg_max_tokens(mc); /* before the resolved config is recorded */
    if (c->max_length > faith_model_cfg_max_tokens(mc))
        return faith_err_set(err, FAITH_ERR_ARG, "%s: max_length: %d exceeds the %d tokens the model's "
                             "max_position_embeddings (%d) allow", c->path, (int)c->max_length,
                             (int)faith_model_cfg_max_tokens(mc), (int)mc->max_pos);
    FAITH_TRY(check_label_order(c, mc, err));
    faith_dataset_spec spec = {c->dataset.format, c->dataset.path, c->dataset.split,
                               c->dataset.limit, c->dataset.text_col, c->dataset.pair_col,
                               c->dataset.label_col, (const char *const *)c->dataset.label_names,
                               c->dataset.n_label_names, 0};
    /* an explainer explaining the gold class needs every example labeled: say which line is not
     * now, not when a rank reaches it */
    const char *gold_user = NULL;
    for (int32_t e = 0; e < c->n_explainers; e++)
        if (r->ex[e]->target.kind == FAITH_TARGET_GOLD) gold_user = r->ex[e]->ops->name;
    spec.require_labels = gold_user != NULL;
    if (faith_dataset_load(&spec, &r->ds, err) < 0) {
        if (gold_user)
            return faith_err_prefix(err, "%s: dataset (explainer %s has target \"gold\"): ", c->path, gold_user);
        return faith_err_prefix(err, "%s: dataset: ", c->path);
    }
    if (r->ds->n == 0)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: dataset: %s has no examples", c->path,
                             c->dataset.path);
    if (r->ds->n_labels > r->K)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: dataset has %d labels but the model %d classes",
                             c->path, (int)r->ds->n_labels, (int)r->K);
    if (c->has_probe) {
        faith_data_cfg *t = &c->probe.train;
        faith_dataset_spec ps = {t->format, t->path, t->split, t->limit, t->text_col, t->pair_col,
                                 t->label_col, (const char *const *)t->label_names, t->n_label_names, 0};
        if (faith_dataset_load(&ps, &r->probe_ds, err) < 0)
            return faith_err_prefix(err, "%s: probe.train: ", c->path);
    }
    if (r->ds->has_rationales) {
        /* token_f1 / iou_f1 default to k = the dataset's mean rationale length (ERASER). */
        double words = 0;
        int64_t with = 0;
        for (int64_t i = 0; i < r->ds->n; i++) {
            const faith_example *e = &r->ds->ex[i];
            if (!e->rationale) continue;
            with++;
            for (int32_t w = 0; w < e->n_words; w++) words += e->rationale[w];
        }
        if (with > 0)
            for (int32_t i = 0; i < c->n_metrics; i++) faith_plaus_set_mean_k(r->me[i], words / (double)with);
    }
    r->resolved = faith_config_resolved(c, r->ex, r->me);
    faith_config_hash(r->resolved, r->hash);
    r->n_ex = r->ds->n;
    r->n_chunks = (r->n_ex + c->batch_chunk - 1) / c->batch_chunk;
    return FAITH_OK;
}

/* Every rank passes its status; all return the lowest failing rank's message and code. */
int faith_run_agree(faith_run *r, int rc, faith_err *err)
{
    int worst = rc, who_in = rc < 0 ? r->rank : r->size, who;
    allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN);
    if (worst >= 0) return FAITH_OK;
    allreduce(&who_in, &who, 1, MPI_INT, MPI_MIN);
    char msg[FAITH_ERR_MSG];
    int code = rc;
    if (r->rank == who) memcpy(msg, err->msg, sizeof msg);
    bcast(msg, FAITH_ERR_MSG, MPI_CHAR, who);
    bcast(&code, 1, MPI_INT, who);
    msg[FAITH_ERR_MSG - 1] = '\0';
    if (who == 0) faith_err_set(err, code, "%s", msg);
    else faith_err_set(err, code, "rank %d: %s", who, msg);
    return code;
}

int faith_run_encode(const faith_run *r, const faith_example *ex, faith_encoding *enc, faith_err *err)
{
    int rc = faith_tokenizer_encode(r->tok, ex->text, ex->pair, r->cfg->max_length, enc, err);
    if (rc == FAITH_OK && (rc = faith_encoding_require_tokens(enc, err)) < 0) faith_encoding_free(enc);
    if (rc < 0) return faith_err_prefix(err, "%s: example %lld: ", r->cfg->dataset.path, (long long)ex->id);
    return FAITH_OK;
}

/* ---- planning (rank 0) ---- */

static const int32_t *g_len; /* qsort has no context argument */
static int by_length_desc(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (g_len[x] != g_len[y]) return g_len[x] > g_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Longest first, ties by id: the heaviest chunks go out first and the tail is short ones, which
 * keeps dynamic balancing tight. Depends on config + data only, never on the rank count. */
static int plan(faith_run *r, faith_err *err)
{
    int32_t *len = faith_xcalloc((size_t)r->n_ex, sizeof *len);
    for (int64_t i = 0; i < r->n_ex; i++) {
        faith_encoding enc;
        int rc = faith_run_encode(r, &r->ds->ex[i], &enc, err);
        if (rc < 0) {
            free(len);
            return rc;
        }
        len[i] = enc.n;
        faith_encoding_free(&enc);
    }
    for (int64_t i = 0; i < r->n_ex; i++) r->order[i] = (int32_t)i;
    g_len = len;
    qsort(r->order, (size_t)r->n_ex, sizeof *r->order, by_length_desc);
    r->tok_lens = len;
    return FAITH_OK;
}

/* Rank 0 with --resume: keep every chunk that decodes and matches; say which were redone. */
static int load_partials(faith_run *r, faith_err *err)
{
    for (int64_t c = 0; c < r->n_chunks; c++) {
        uint8_t *p;
        size_t n;
        faith_err e2 = {0};
        int rc = faith_partial_read(r->cfg->output, r->hash, c, &p, &n, &e2);
        if (rc == FAITH_ERR_IO) {
            *err = e2;
            return faith_err_prefix(err, "resume: ");
        }
        if (rc == FAITH_OK && !p) continue;
        faith_record *recs = NULL;
        int32_t k = 0;
        int64_t idx = -1;
        if (rc == FAITH_OK) rc = faith_chunk_decode(p, n, &idx, &recs, &k, &e2);
        if (rc == FAITH_OK && (idx != c || k != faith_run_chunk_size(r, c) * r->cfg->n_explainers)) {
            rc = FAITH_ERR_FORMAT;
            snprintf(e2.msg, sizeof e2.msg, "chunk %lld holds the wrong records", (long long)c);
        }
        faith_records_free(recs, k);
        if (rc < 0) {
            fprintf(stderr, "faith: resume: chunk %lld is damaged and will be recomputed (%s)\n",
                    (long long)c, e2.msg);
            free(p);
            continue;
        }
        r->payload[c] = p, r->payload_n[c] = n, r->done[c] = 1;
        r->stats.chunks_resumed++;
    }
    return FAITH_OK;
}

static int plan_and_share(faith_run *r, faith_err *err)
{
    r->order = faith_xcalloc((size_t)r->n_ex, sizeof *r->order);
    int rc = FAITH_OK;
    if (r->rank == 0) {
        double t = faith_now();
        rc = plan(r, err);
        if (rc == FAITH_OK && !r->opts.dry_run) {
            int existed = 0;
            rc = faith_partial_prepare(r->cfg->output, r->hash, r->opts.resume, &existed, err);
            r->payload = faith_xcalloc((size_t)r->n_chunks, sizeof *r->payload);
            r->payload_n = faith_xcalloc((size_t)r->n_chunks, sizeof *r->payload_n);
            r->done = faith_xcalloc((size_t)r->n_chunks, 1);
            if (rc == FAITH_OK && existed) rc = load_partials(r, err);
        }
        r->stats.plan_s = faith_now() - t;
    }
    FAITH_TRY(faith_run_agree(r, rc, err));
    bcast(r->order, (int)r->n_ex, MPI_INT32_T, 0);
    return FAITH_OK;
}

/* ---- distribution ---- */

int32_t faith_run_chunk_size(const faith_run *r, int64_t c)
{
    int64_t lo = c * r->cfg->batch_chunk, hi = lo + r->cfg->batch_chunk;
    return (int32_t)((hi < r->n_ex ? hi : r->n_ex) - lo);
}

static int64_t next_pending(faith_run *r)
{
    while (r->next < r->n_chunks && r->done[r->next]) r->next++;
    if (r->next >= r->n_chunks) return -1;
    r->done[r->next] = 2; /* handed out */
    return r->next++;
}

static void chunk_finished(faith_run *r, int64_t c, uint8_t *payload, size_t n)
{
    r->payload[c] = payload, r->payload_n[c] = n, r->done[c] = 1;
    r->stats.examples_computed += faith_run_chunk_size(r, c);
    r->n_finished++;
    r->examples_done += faith_run_chunk_size(r, c);
    faith_progress_update(&r->progress, r->examples_done, 0);
    if (r->kill_after > 0 && r->n_finished >= r->kill_after) {
        /* Test hook: die as a preempted or OOM-killed job does, by SIGKILL, with no chance to
         * clean up; the launcher then ends the other ranks. */
        fprintf(stderr, "faith: FAITH_TEST_KILL_AFTER_CHUNKS=%lld reached: rank 0 kills itself (SIGKILL)\n",
                (long long)r->kill_after);
        fflush(stderr);
        kill(getpid(), SIGKILL);
    }
}

/* Rank 0: answer every waiting message (block: wait for at least one). */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void serve(faith_run *r, int block)
{
    double t = faith_now(), tc = cpu_now();
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (block) {
            for (unsigned i = 0; !flag; i++) {
                MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
                if (!flag) usleep(i < 100 ? 20 : 200);
            }
            block = 0;
            t = faith_now(), tc = cpu_now(); /* waiting is not work */
        } else {
            MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        }
        if (!flag) break;
        int src = st.MPI_SOURCE, count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        uint8_t *buf = faith_xmalloc((size_t)count + 1);
        MPI_Recv(buf, count, MPI_BYTE, src, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == TAG_REQ) {
            int64_t c = next_pending(r);
            MPI_Send(&c, 1, MPI_INT64_T, src, TAG_ASSIGN, MPI_COMM_WORLD);
            if (c < 0) r->terminated++;
            else r->outstanding++;
            free(buf);
        } else if (st.MPI_TAG == TAG_RESULT) {
            uint64_t u = 0; /* the payload starts with the chunk index, little-endian */
            for (int i = 0; i < 8 && count >= 8; i++) u |= (uint64_t)buf[i] << (8 * i);
            int64_t c = (int64_t)u;
            if (c < 0 || c >= r->n_chunks || r->done[c] != 2) {
                fprintf(stderr, "faith: rank %d sent a result for chunk %lld it was not given\n", src,
                        (long long)c);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            r->outstanding--;
            chunk_finished(r, c, buf, (size_t)count);
        } else { /* TAG_FAIL */
            buf[count] = '\0';
            faith_progress_finish(&r->progress);
            fprintf(stderr, "faith: rank %d: %s\n", src, (char *)buf);
            fflush(stderr);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    r->stats.gather_s += faith_now() - t;
    r->stats.gather_cpu_s += cpu_now() - tc;
}

static void poll_cb(faith_run *r)
{
    if (r->rank == 0 && r->size > 1) serve(r, 0);
}

/* A worker cannot go on: tell rank 0 (which prints it and aborts the job), then wait for that. */
static void worker_fail(faith_run *r, const faith_err *err)
{
    MPI_Send(err->msg, (int)strlen(err->msg), MPI_BYTE, 0, TAG_FAIL, MPI_COMM_WORLD);
    for (int i = 0; i < 600; i++) usleep(100000);
    fprintf(stderr, "faith: rank %d: %s\n", r->rank, err->msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static int run_chunk(faith_run *r, int64_t c, faith_buf *b, faith_err *err)
{
    double t = faith_now();
    int rc = faith_run_compute_chunk(r, c, b, poll_cb, err);
    if (rc == FAITH_OK) rc = faith_partial_write(r->cfg->output, r->hash, c, b->p, b->n, err);
    r->stats.compute_s += faith_now() - t;
    return rc;
}

static void worker_loop(faith_run *r)
{
    faith_err err = {0};
    int64_t c;
    char z = 0;
    MPI_Request q;
    MPI_Send(&z, 1, MPI_BYTE, 0, TAG_REQ, MPI_COMM_WORLD);
    MPI_Irecv(&c, 1, MPI_INT64_T, 0, TAG_ASSIGN, MPI_COMM_WORLD, &q);
    lazy_wait(&q, NULL);
    while (c >= 0) {
        /* Ask for the next chunk before computing this one, so the answer is waiting. */
        MPI_Send(&z, 1, MPI_BYTE, 0, TAG_REQ, MPI_COMM_WORLD);
        faith_buf b = {0};
        if (run_chunk(r, c, &b, &err) < 0) worker_fail(r, &err);
        MPI_Send(b.p, (int)b.n, MPI_BYTE, 0, TAG_RESULT, MPI_COMM_WORLD);
        faith_buf_free(&b);
        MPI_Irecv(&c, 1, MPI_INT64_T, 0, TAG_ASSIGN, MPI_COMM_WORLD, &q);
        lazy_wait(&q, NULL);
    }
}

static void rank0_loop(faith_run *r)
{
    for (;;) {
        if (r->size > 1) serve(r, 0);
        int64_t c = next_pending(r);
        if (c >= 0) {
            faith_buf b = {0};
            faith_err err = {0};
            if (run_chunk(r, c, &b, &err) < 0) {
                faith_progress_finish(&r->progress);
                fprintf(stderr, "faith: %s\n", err.msg);
                fflush(stderr);
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
            double t = faith_now();
            chunk_finished(r, c, b.p, b.n); /* takes the buffer */
            r->stats.gather_s += faith_now() - t;
            continue;
        }
        if (r->terminated == r->size - 1 && r->outstanding == 0) break;
        serve(r, 1);
    }
}

/* ---- the end: gather counters, write tables ---- */

static void sum_stats(faith_run *r)
{
    int64_t loc[4] = {r->cost.forward, r->cost.backward, r->cost.sequences, r->cost.tokens};
    int64_t tot[4];
    allreduce(loc, tot, 4, MPI_INT64_T, MPI_SUM);
    r->stats.cost.forward = tot[0], r->stats.cost.backward = tot[1];
    r->stats.cost.sequences = tot[2], r->stats.cost.tokens = tot[3];
    double cs = r->stats.compute_s, ct = 0;
    allreduce(&cs, &ct, 1, MPI_DOUBLE, MPI_SUM);
    r->stats.compute_s = ct;
}

static void free_run(faith_run *r)
{
    faith_config_free_components(r->cfg, r->ex, r->me);
    if (!r->cfg) free(r->ex), free(r->me);
    faith_model_free(r->model);
    faith_model_free(r->rand_model);
    faith_tokenizer_free(r->tok);
    faith_dataset_free(r->ds);
    faith_dataset_free(r->probe_ds);
    cJSON_Delete(r->probe_out);
    cJSON_Delete(r->resolved);
    for (int64_t c = 0; r->payload && c < r->n_chunks; c++) free(r->payload[c]);
    free(r->payload), free(r->payload_n), free(r->done), free(r->order), free(r->moff);
    free(r->tok_lens);
    faith_config_free(r->cfg);
}

int faith_runner_main(const faith_run_opts *o, faith_err *err)
{
    faith_run r;
    memset(&r, 0, sizeof r);
    r.opts = *o;
    double t0 = faith_now();
    MPI_Comm_rank(MPI_COMM_WORLD, &r.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &r.size);
    int rc = setup_local(&r, err);
    r.threads = pick_threads(&r);
    rc = faith_run_agree(&r, rc, err);
    if (rc == FAITH_OK) rc = plan_and_share(&r, err);
    if (rc == FAITH_OK && o->dry_run) {
        if (r.rank == 0) rc = faith_run_dry(&r, err);
        rc = faith_run_agree(&r, rc, err);
        free_run(&r);
        return rc;
    }
    if (rc < 0) {
        free_run(&r);
        return rc;
    }
    const char *ka = getenv("FAITH_TEST_KILL_AFTER_CHUNKS");
    r.kill_after = ka ? atoll(ka) : 0;
    r.stats.ranks = r.size, r.stats.threads = r.threads;
    r.stats.examples = r.n_ex, r.stats.chunks = r.n_chunks;
    if (r.rank == 0) {
        for (int64_t c = 0; c < r.n_chunks; c++)
            if (r.done[c]) r.examples_done += faith_run_chunk_size(&r, c);
        if (!o->quiet)
            printf("faith run %s: %lld examples in %lld chunks (%lld resumed), %d explainers x %d "
                   "metrics, %d ranks x %d threads\n",
                   r.cfg->name, (long long)r.n_ex, (long long)r.n_chunks,
                   (long long)r.stats.chunks_resumed, (int)r.cfg->n_explainers,
                   (int)r.cfg->n_metrics, r.size, r.threads);
        fflush(stdout);
        faith_progress_init(&r.progress, stderr, r.n_ex, r.examples_done, o->quiet);
        double tw = faith_now();
        rank0_loop(&r);
        r.stats.work_s = faith_now() - tw;
        faith_progress_finish(&r.progress);
    } else {
        worker_loop(&r);
    }
    rc = r.cfg->has_probe ? faith_run_probe(&r, err) : FAITH_OK;
    sum_stats(&r);
    if (rc == FAITH_OK && r.rank == 0) rc = faith_run_finish(&r, t0, err);
    rc = faith_run_agree(&r, rc, err);
    free_run(&r);
    return rc;
}
