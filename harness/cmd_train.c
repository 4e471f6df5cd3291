/* cmd_train.c: `faith train`: options (command line, or a JSON config with the same keys), model,
 * tokenizer and data loading, MPI setup, then the training loop of train.c. */
#include <math.h>
#include <stdarg.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "commands.h"
#include "dataset.h"
#include "hfconfig.h"
#include "json.h"
#include "sha256.h"
#include "train.h"

#define USAGE "--model DIR --train DATA --dev DATA --out DIR [options]  (or --config FILE)"

static faith_opt OPTS_TEMPLATE[] = {
    {"config", "FILE", "JSON object with any of these options as keys (command line wins)", 0, 0, NULL, NULL, NULL},
    {"model", "DIR", "model directory to start from (config.json, model.safetensors, tokenizer)", 0, 0, NULL, NULL, NULL},
    {"train", "DATA", "training data (file, or ERASER directory)", 0, 0, NULL, NULL, NULL},
    {"train-format", "F", "glue_tsv | jsonl | sentence | eraser | auto (default auto)", 0, 0, NULL, NULL, NULL},
    {"dev", "DATA", "dev data, evaluated several times per epoch", 0, 0, NULL, NULL, NULL},
    {"dev-format", "F", "format of the dev data (default auto)", 0, 0, NULL, NULL, NULL},
    {"out", "DIR", "where the best checkpoint and train_log.json go", 0, 0, NULL, NULL, NULL},
    {"epochs", "N", "epochs, may be fractional (default 3)", 0, 0, NULL, NULL, NULL},
    {"lr", "X", "peak learning rate (default 5e-5)", 0, 0, NULL, NULL, NULL},
    {"warmup", "FRAC", "fraction of updates for linear warm-up (default 0.06)", 0, 0, NULL, NULL, NULL},
    {"batch", "N", "global batch size, summed over ranks (default 32)", 0, 0, NULL, NULL, NULL},
    {"max-length", "N", "tokens per sequence, specials included (default 128)", 0, 0, NULL, NULL, NULL},
    {"seed", "S", "seed of shuffling and dropout (default 42)", 0, 0, NULL, NULL, NULL},
    {"weight-decay", "X", "decoupled weight decay, not on biases/LayerNorm (default 0.01)", 0, 0, NULL, NULL, NULL},
    {"clip", "X", "global gradient-norm limit, 0 = none (default 1.0)", 0, 0, NULL, NULL, NULL},
    {"dropout", "X", "hidden/attention/classifier dropout (default: the model's config)", 0, 0, NULL, NULL, NULL},
    {"evals-per-epoch", "N", "dev evaluations per epoch (default 4)", 0, 0, NULL, NULL, NULL},
    {"freeze-encoder", NULL, "train the classification head only", 0, 0, NULL, NULL, NULL},
    {"dense-embeddings", NULL, "AdamW on every word-embedding row each step (default: rows in the batch)", 0, 0, NULL, NULL, NULL},
    {"limit", "N", "use the first N training examples", 0, 0, NULL, NULL, NULL},
    {"dev-limit", "N", "use the first N dev examples", 0, 0, NULL, NULL, NULL},
    {"threads", "N", "threads per process (default: OMP_NUM_THREADS, else every core)", 0, 0, NULL, NULL, NULL},
    {"quiet", NULL, "no progress lines", 0, 0, NULL, NULL, NULL},
};
#define N_OPTS ((int)(sizeof OPTS_TEMPLATE / sizeof OPTS_TEMPLATE[0]))

typedef struct strpool {
    char **s;
    int n;
} strpool;

static const char *pool_add(strpool *p, char *s)
{
    p->s = faith_xrealloc(p->s, sizeof(char *) * (size_t)(p->n + 1));
    p->s[p->n++] = s;
    return s;
}

/* "${NAME}" and "${NAME:-default}" in config strings take the environment's value, so configs can
 * point at $FAITH_SHARED without hard-coding a machine's paths. */
static int expand_env(const char *in, char **out, faith_err *err)
{
    size_t cap = strlen(in) + 1, n = 0;
    char *buf = faith_xmalloc(cap);
    for (const char *s = in; *s;) {
        const char *val = NULL, *next = s + 1;
        size_t vlen = 1;
        if (s[0] == '$' && s[1] == '{') {
            const char *close = strchr(s, '}');
            if (!close) {
                free(buf);
                return faith_err_set(err, FAITH_ERR_FORMAT, "unterminated ${ in '%s'", in);
            }
            const char *dash = strstr(s, ":-");
            size_t name_len = (size_t)((dash && dash < close ? dash : close) - (s + 2));
            if (name_len == 0) {
                free(buf);
                return faith_err_set(err, FAITH_ERR_FORMAT, "empty variable name in ${} in '%s'", in);
            }
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(name_len < 127 ? name_len : 127), s + 2);
            val = getenv(name);
            if (val && *val) vlen = strlen(val);
            else if (dash && dash < close) {
                val = dash + 2;
                vlen = (size_t)(close - val);
            } else {
                free(buf);
                return faith_err_set(err, FAITH_ERR_ARG, "environment variable %s is not set (in '%s')",
                                     name, in);
            }
            next = close + 1;
        } else {
            val = s;
        }
        if (n + vlen + 1 > cap) {
            cap = (n + vlen + 1) * 2;
            buf = faith_xrealloc(buf, cap);
        }
        memcpy(buf + n, val, vlen);
        n += vlen;
        s = next;
    }
    buf[n] = '\0';
    *out = buf;
    return FAITH_OK;
}

/* Options from the --config JSON object fill whatever the command line left unset. */
static int apply_config(const char *path, faith_opt *opts, strpool *pool, faith_err *err)
{
    char *text = NULL;
    size_t len = 0;
    FAITH_TRY(faith_read_file(path, &text, &len, err));
    cJSON *root;
    int prc = faith_json_parse(text, len, path, &root, err);
    free(text);
    if (prc < 0) return prc;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: expected a JSON object", path);
    }
    int rc = FAITH_OK;
    for (cJSON *it = root->child; it && rc == FAITH_OK; it = it->next) {
        faith_opt *o = faith_opt_find(opts, N_OPTS, it->string);
        if (!o || strcmp(it->string, "config") == 0) {
            rc = faith_err_set(err, FAITH_ERR_ARG, "%s: unknown key '%s' (keys are the options of faith train)",
                               path, it->string);
            break;
        }
        if (o->count > 0) continue;
        if (!o->arg) {
            if (!cJSON_IsBool(it))
                rc = faith_err_set(err, FAITH_ERR_ARG, "%s: key '%s' must be true or false", path, it->string);
            else if (cJSON_IsTrue(it)) o->count = 1;
            continue;
        }
        char *val = NULL;
        if (cJSON_IsString(it)) {
            rc = expand_env(it->valuestring, &val, err);
            if (rc < 0) rc = faith_err_prefix(err, "%s: key '%s': ", path, it->string);
        } else if (cJSON_IsNumber(it)) {
            val = faith_xmalloc(40);
            double d = it->valuedouble;
            if (d == floor(d) && fabs(d) < 1e15) snprintf(val, 40, "%lld", (long long)d);
            else {
                snprintf(val, 40, "%.15g", d); /* 0.06, not 0.059999999999999998 */
                if (strtod(val, NULL) != d) snprintf(val, 40, "%.17g", d);
            }
        } else {
            rc = faith_err_set(err, FAITH_ERR_ARG, "%s: key '%s' must be a string or a number", path,
                               it->string);
        }
        if (val) {
            o->value = pool_add(pool, val);
            o->count = 1;
            o->origin = path;
        }
    }
    cJSON_Delete(root);
    return rc;
}

/* The run's record: every option as resolved, and what the data were. */
static cJSON *run_info(faith_opt *opts, const faith_dataset *tr, const faith_dataset *dev,
                       int32_t max_len)
{
    cJSON *r = cJSON_CreateObject();
    /* The starting weights' hash ties the run to the exact model it began from. */
    char path[4096], hex[65];
    faith_err ignored = {0};
    snprintf(path, sizeof path, "%s/model.safetensors", faith_opt_str(opts, N_OPTS, "model", ""));
    if (faith_sha256_file(path, hex, &ignored) == FAITH_OK)
        cJSON_AddStringToObject(r, "start_model_sha256", hex);
    cJSON *o = cJSON_AddObjectToObject(r, "options");
    for (int i = 0; i < N_OPTS; i++) {
        if (!opts[i].count) continue;
        if (opts[i].arg) cJSON_AddStringToObject(o, opts[i].name, opts[i].value);
        else cJSON_AddTrueToObject(o, opts[i].name);
    }
    cJSON_AddNumberToObject(r, "max_length", max_len);
    const faith_dataset *ds[2] = {tr, dev};
    const char *names[2] = {"train_data", "dev_data"};
    for (int k = 0; k < 2; k++) {
        cJSON *d = cJSON_AddObjectToObject(r, names[k]);
        cJSON_AddStringToObject(d, "path", faith_opt_str(opts, N_OPTS, k ? "dev" : "train", ""));
        cJSON_AddStringToObject(d, "format", ds[k]->format);
        cJSON_AddStringToObject(d, "sha256", ds[k]->sha256);
        cJSON_AddNumberToObject(d, "examples", (double)ds[k]->n);
    }
    cJSON *labels = cJSON_AddArrayToObject(r, "labels");
    for (int32_t i = 0; i < tr->n_labels; i++) cJSON_AddItemToArray(labels, cJSON_CreateString(tr->labels[i]));
    return r;
}

/* The model's config is read-only once loaded; a dropout override or label names from the data
 * go into a fresh model of the same shape that takes over the loaded parameters. */
static int adjust_model(faith_model **m, double dropout, const faith_dataset *d, faith_err *err)
{
    faith_model_config cfg = *faith_model_cfg(*m);
    int change = 0;
    if (dropout >= 0) {
        cfg.hidden_dropout = cfg.attn_dropout = cfg.classifier_dropout = (float)dropout;
        change = 1;
    }
    for (int32_t k = 0; k < cfg.n_classes && k < d->n_labels; k++) {
        char def[32];
        snprintf(def, sizeof def, "LABEL_%d", k);
        if (strcmp(cfg.labels[k], def) == 0 && d->labels[k] && strcmp(d->labels[k], def) != 0) {
            snprintf(cfg.labels[k], FAITH_LABEL_MAX, "%s", d->labels[k]);
            change = 1;
        }
    }
    if (!change) return FAITH_OK;
    faith_model *nm;
    FAITH_TRY(faith_model_create_random(&cfg, 0, &nm, err));
    size_t n_old, n_new;
    float *src = faith_model_params(*m, &n_old), *dst = faith_model_params(nm, &n_new);
    if (n_old != n_new) {
        faith_model_free(nm);
        return faith_err_set(err, FAITH_ERR_INTERNAL, "re-created model has %zu parameters, not %zu",
                             n_new, n_old);
    }
    memcpy(dst, src, sizeof(float) * n_old);
    faith_model_free(*m);
    *m = nm;
    return FAITH_OK;
}

static int load_data(faith_opt *opts, const char *which, const char *fmt_key, const char *limit_key,
                     const char *const *names, int32_t n_names, faith_dataset **out, faith_err *err)
{
    faith_dataset_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.path = faith_opt_str(opts, N_OPTS, which, NULL);
    spec.format = faith_opt_str(opts, N_OPTS, fmt_key, NULL);
    spec.split = strcmp(which, "train") == 0 ? "train" : "val";
    int64_t limit;
    /* absent means every example; an explicit 0 is a mistake, not "all" */
    FAITH_TRY(faith_opt_int(opts, N_OPTS, limit_key, 0, 1, INT64_MAX, &limit, err));
    spec.limit = limit;
    spec.require_labels = 1;
    spec.label_names = names;
    spec.n_label_names = n_names;
    int rc = faith_dataset_load(&spec, out, err);
    char lab[512];
    faith_opt_label(opts, N_OPTS, which, lab, sizeof lab);
    if (rc < 0) return faith_err_prefix(err, "%s: ", lab);
    if ((*out)->n == 0) return faith_err_set(err, FAITH_ERR_ARG, "%s: %s has no examples", lab, spec.path);
    return rc;
}

/* An error about option name, named as faith_opt_label names it (the --config file's key if it
 * came from there). */
static int opt_err(faith_opt *opts, const char *name, faith_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int opt_err(faith_opt *opts, const char *name, faith_err *err, const char *fmt, ...)
{
    char lab[512], msg[FAITH_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return faith_err_set(err, FAITH_ERR_ARG, "%s: %s", faith_opt_label(opts, N_OPTS, name, lab, sizeof lab), msg);
}

static int train_opts_from(faith_opt *opts, faith_train_opts *t, int32_t *max_len, double *dropout,
                           int64_t *threads, faith_err *err)
{
    faith_train_opts_default(t);
    int64_t v;
    FAITH_TRY(faith_opt_double(opts, N_OPTS, "epochs", t->epochs, &t->epochs, err));
    FAITH_TRY(faith_opt_double(opts, N_OPTS, "lr", t->lr, &t->lr, err));
    FAITH_TRY(faith_opt_double(opts, N_OPTS, "warmup", t->warmup, &t->warmup, err));
    FAITH_TRY(faith_opt_double(opts, N_OPTS, "weight-decay", t->weight_decay, &t->weight_decay, err));
    FAITH_TRY(faith_opt_double(opts, N_OPTS, "clip", t->clip, &t->clip, err));
    FAITH_TRY(faith_opt_double(opts, N_OPTS, "dropout", -1.0, dropout, err));
    if (faith_opt_str(opts, N_OPTS, "dropout", NULL) && !(*dropout >= 0 && *dropout < 1))
        return opt_err(opts, "dropout", err, "expected a number in [0, 1)");
    FAITH_TRY(faith_opt_int(opts, N_OPTS, "batch", t->batch, 1, 1 << 20, &v, err));
    t->batch = (int32_t)v;
    FAITH_TRY(faith_opt_int(opts, N_OPTS, "max-length", 128, 2, 1 << 20, &v, err));
    *max_len = (int32_t)v;
    FAITH_TRY(faith_opt_int(opts, N_OPTS, "seed", 42, 0, INT64_MAX, &v, err));
    t->seed = (uint64_t)v;
    FAITH_TRY(faith_opt_int(opts, N_OPTS, "evals-per-epoch", 4, 1, 1000000, &v, err));
    t->evals_per_epoch = (int32_t)v;
    FAITH_TRY(faith_opt_int(opts, N_OPTS, "threads", 0, 0, 1024, threads, err));
    t->freeze_encoder = faith_opt_flag(opts, N_OPTS, "freeze-encoder");
    t->dense_embeddings = faith_opt_flag(opts, N_OPTS, "dense-embeddings");
    t->quiet = faith_opt_flag(opts, N_OPTS, "quiet");
    t->out_dir = faith_opt_str(opts, N_OPTS, "out", NULL);
    if (!(t->epochs > 0 && isfinite(t->epochs)))
        return opt_err(opts, "epochs", err, "expected a finite number > 0, got %g", t->epochs);
    if (!(t->warmup >= 0 && t->warmup < 1))
        return opt_err(opts, "warmup", err, "expected a fraction in [0, 1), got %g", t->warmup);
    if (!(t->lr > 0 && isfinite(t->lr)))
        return opt_err(opts, "lr", err, "expected a finite number > 0, got %g", t->lr);
    if (!(t->weight_decay >= 0 && isfinite(t->weight_decay)))
        return opt_err(opts, "weight-decay", err, "expected a finite number >= 0, got %g", t->weight_decay);
    if (!(t->clip >= 0 && isfinite(t->clip)))
        return opt_err(opts, "clip", err, "expected a finite number >= 0 (0 = no clipping), got %g", t->clip);
    const char *req[] = {"model", "train", "dev", "out"};
    for (int i = 0; i < 4; i++)
        if (!faith_opt_str(opts, N_OPTS, req[i], NULL))
            return faith_err_set(err, FAITH_ERR_ARG, "train: --%s is required (see faith train --help)",
                                 req[i]);
    return FAITH_OK;
}

/* The default 128 shrinks to a smaller model's positions; a length asked for must fit. */
static int model_max_len(faith_opt *opts, const faith_model_config *cfg, int32_t *len, faith_err *err)
{
    int32_t cap = faith_model_cfg_max_tokens(cfg);
    if (*len <= cap) return FAITH_OK;
    if (faith_opt_find(opts, N_OPTS, "max-length")->count > 0)
        return opt_err(opts, "max-length", err, "%d exceeds the %d tokens the model's max_position_embeddings "
                       "(%d) allow", (int)*len, (int)cap, (int)cfg->max_pos);
    *len = cap;
    return FAITH_OK;
}

static int run(faith_opt *opts, int rank, faith_err *err)
{
    faith_train_opts t;
    int32_t max_len = 0;
    double dropout = -1.0;
    int64_t threads = 0;
    FAITH_TRY(train_opts_from(opts, &t, &max_len, &dropout, &threads, err));
    if (threads > 0) faith_set_threads((int)threads);
    faith_model *m = NULL;
    faith_tokenizer *tok = NULL;
    faith_dataset *dtr = NULL, *ddev = NULL;
    faith_train_data tr = {0}, dev = {0};
    cJSON *info = NULL;
    faith_train_result res = {0};
    const char *mdir = faith_opt_str(opts, N_OPTS, "model", NULL);
    int rc;
    FAITH_CHECK(faith_model_load(mdir, &m, err));
    FAITH_CHECK(faith_tokenizer_load(mdir, &tok, err));
    FAITH_CHECK(faith_model_check_vocab(m, faith_tokenizer_vocab_size(tok), mdir, err));
    const faith_model_config *cfg = faith_model_cfg(m);
    /* A model whose id2label has real names fixes which name is which class: labels given as names
     * map through it (an unknown name is an error), never by their order in the data. */
    const char *mnames[FAITH_MAX_CLASSES];
    int named = 1;
    for (int32_t k = 0; k < cfg->n_classes; k++) {
        char def[32];
        snprintf(def, sizeof def, "LABEL_%d", (int)k);
        mnames[k] = cfg->labels[k];
        named = named && strcmp(cfg->labels[k], def) != 0;
    }
    FAITH_CHECK(load_data(opts, "train", "train-format", "limit", named ? mnames : NULL, named ? cfg->n_classes : 0,
                          &dtr, err));
    FAITH_CHECK(load_data(opts, "dev", "dev-format", "dev-limit", (const char *const *)dtr->labels, dtr->n_labels,
                          &ddev, err));
    if (dtr->n_labels != cfg->n_classes) {
        rc = faith_err_set(err, FAITH_ERR_ARG, "%s has %d labels but the model in %s has %d classes",
                           faith_opt_str(opts, N_OPTS, "train", ""), dtr->n_labels, mdir, cfg->n_classes);
        goto cleanup;
    }
    FAITH_CHECK(adjust_model(&m, dropout, dtr, err));
    cfg = faith_model_cfg(m);
    FAITH_CHECK(model_max_len(opts, cfg, &max_len, err));
    rc = faith_train_data_tokenize(dtr, tok, max_len, cfg->n_classes, cfg->vocab_size, &tr, err);
    if (rc < 0) {
        char lab[512];
        faith_err_prefix(err, "%s: ", faith_opt_label(opts, N_OPTS, "train", lab, sizeof lab));
        goto cleanup;
    }
    rc = faith_train_data_tokenize(ddev, tok, max_len, cfg->n_classes, cfg->vocab_size, &dev, err);
    if (rc < 0) {
        char lab[512];
        faith_err_prefix(err, "%s: ", faith_opt_label(opts, N_OPTS, "dev", lab, sizeof lab));
        goto cleanup;
    }
    info = run_info(opts, dtr, ddev, max_len);
    t.run_info = info;
    t.tokenizer = tok;
    if (rank == 0 && !t.quiet)
        fprintf(stderr, "faith train: %lld train / %lld dev examples, longest %d tokens, %s %dx%d\n",
                (long long)tr.n, (long long)dev.n, faith_train_max_len(&tr), faith_arch_name(cfg->arch),
                cfg->n_layers, cfg->d_model);
    FAITH_CHECK(faith_train_run(m, &tr, &dev, &t, &res, err));
    if (rank == 0) {
        const faith_train_eval *b = &res.evals[res.best];
        printf("best dev accuracy %.4f (loss %.4f) at step %lld (epoch %.2f) of %lld; %d rank(s), %.1f s; "
               "model in %s\n",
               b->dev_acc, b->dev_loss, (long long)b->step, b->epoch, (long long)res.steps, res.ranks,
               res.seconds, t.out_dir);
    }
cleanup:
    faith_train_result_free(&res);
    cJSON_Delete(info);
    faith_train_data_free(&tr);
    faith_train_data_free(&dev);
    faith_dataset_free(dtr);
    faith_dataset_free(ddev);
    faith_tokenizer_free(tok);
    faith_model_free(m);
    return rc;
}

int faith_cmd_train(int argc, char **argv)
{
    faith_opt opts[N_OPTS];
    memcpy(opts, OPTS_TEMPLATE, sizeof opts);
    faith_err err = {0};
    strpool pool = {0};
    int rc = faith_opts_parse("train", USAGE, opts, N_OPTS, argc, argv, NULL, NULL, &err);
    if (rc == 1) {
        faith_opts_free(opts, N_OPTS);
        return 0;
    }
    if (rc == 0 && faith_opt_str(opts, N_OPTS, "config", NULL))
        rc = apply_config(faith_opt_str(opts, N_OPTS, "config", NULL), opts, &pool, &err);
    int we_init = 0, init = 0, rank = 0;
    if (rc == 0) {
        MPI_Initialized(&init);
        if (!init) {
            if (MPI_Init(NULL, NULL) != MPI_SUCCESS) rc = faith_err_set(&err, FAITH_ERR_MPI, "MPI_Init failed");
            else we_init = 1;
        }
    }
    if (rc == 0) {
        int size = 1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        rc = run(opts, rank, &err);
        if (rc < 0 && size > 1) {
            /* A failure on one rank must not leave the others waiting in a collective. */
            faith_cli_fail(&err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    if (we_init) MPI_Finalize();
    faith_opts_free(opts, N_OPTS);
    for (int i = 0; i < pool.n; i++) free(pool.s[i]);
    free(pool.s);
    return rc < 0 ? faith_cli_fail(&err) : 0;
}
