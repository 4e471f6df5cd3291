/* train_log.c: train_log.json (what a training run did, enough to repeat it and to compare runs)
 * and the small file-system helpers of `faith train` (mkdir -p, atomic writes). */
#include "train_log.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "faith_version.h"

int faith_train_mkdirs(const char *dir, faith_err *err)
{
    if (!dir || !*dir) return faith_err_set(err, FAITH_ERR_ARG, "empty directory name");
    char *p = faith_xstrdup(dir);
    int rc = FAITH_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0775) != 0 && errno != EEXIST) {
            rc = faith_err_set(err, FAITH_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return rc;
}

int faith_train_write_atomic(const char *path, const void *data, size_t n, faith_err *err)
{
    size_t cap = strlen(path) + 32;
    char *tmp = faith_xmalloc(cap);
    snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = FAITH_OK;
    if (!f) {
        rc = faith_err_set(err, FAITH_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    } else {
        int bad = fwrite(data, 1, n, f) != n;
        bad |= fflush(f) != 0;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, path) != 0) {
            rc = faith_err_set(err, FAITH_ERR_IO, "%s: write failed: %s", path, strerror(errno));
            remove(tmp);
        }
    }
    free(tmp);
    return rc;
}

/* NaN (no training loss before the first update) as null: JSON has no NaN. */
static void add_num(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

static cJSON *eval_json(const faith_train_eval *e)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "step", (double)e->step);
    add_num(o, "epoch", e->epoch);
    add_num(o, "dev_accuracy", e->dev_acc);
    add_num(o, "dev_loss", e->dev_loss);
    add_num(o, "train_loss", e->train_loss);
    add_num(o, "lr", e->lr);
    add_num(o, "seconds", e->seconds);
    return o;
}

static cJSON *training_json(const faith_train_opts *o, const faith_model_config *cfg,
                            const faith_train_result *res)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "ranks", res->ranks);
    /* part of the determinism key: OpenBLAS may order a reduction differently per thread count */
    cJSON_AddNumberToObject(t, "blas_threads", faith_get_threads());
    cJSON_AddNumberToObject(t, "batches_per_epoch", (double)res->batches_per_epoch);
    cJSON_AddNumberToObject(t, "total_steps", (double)res->steps);
    cJSON_AddNumberToObject(t, "warmup_steps", (double)res->warmup_steps);
    cJSON_AddNumberToObject(t, "epochs", o->epochs);
    cJSON_AddNumberToObject(t, "lr", o->lr);
    cJSON_AddNumberToObject(t, "batch", o->batch);
    cJSON_AddNumberToObject(t, "weight_decay", o->weight_decay);
    cJSON_AddNumberToObject(t, "clip", o->clip);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    cJSON_AddStringToObject(t, "seed", seed);
    cJSON_AddBoolToObject(t, "freeze_encoder", o->freeze_encoder);
    cJSON_AddStringToObject(t, "embedding_update", o->dense_embeddings ? "dense" : "lazy-rows");
    cJSON_AddStringToObject(t, "optimizer", "adamw(beta1=0.9,beta2=0.999,eps=1e-8)");
    cJSON_AddStringToObject(t, "schedule", "linear warm-up, linear decay");
    cJSON_AddNumberToObject(t, "hidden_dropout", cfg->hidden_dropout);
    cJSON_AddNumberToObject(t, "attention_dropout", cfg->attn_dropout);
    cJSON_AddNumberToObject(t, "classifier_dropout", cfg->classifier_dropout);
    return t;
}

int faith_train_log_write(const faith_train_opts *o, const faith_model_config *cfg,
                          const faith_train_result *res, int finished, faith_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "faith", FAITH_VERSION);
    cJSON_AddStringToObject(root, "commit", FAITH_GIT_COMMIT);
    cJSON_AddBoolToObject(root, "finished", finished);
    if (o->run_info) cJSON_AddItemToObject(root, "run", cJSON_Duplicate(o->run_info, 1));
    cJSON_AddItemToObject(root, "training", training_json(o, cfg, res));
    cJSON *evals = cJSON_AddArrayToObject(root, "evals");
    for (int32_t i = 0; i < res->n_evals; i++) cJSON_AddItemToArray(evals, eval_json(&res->evals[i]));
    if (res->n_evals > 0) cJSON_AddItemToObject(root, "best", eval_json(&res->evals[res->best]));
    add_num(root, "seconds", res->seconds);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return faith_err_set(err, FAITH_ERR_NOMEM, "train_log.json: cannot format");
    size_t cap = strlen(o->out_dir) + 32;
    char *path = faith_xmalloc(cap);
    snprintf(path, cap, "%s/train_log.json", o->out_dir);
    int rc = faith_train_mkdirs(o->out_dir, err);
    if (rc == FAITH_OK) {
        size_t n = strlen(text);
        text[n] = '\n'; /* cJSON's buffer ends in NUL; write it as the final newline */
        rc = faith_train_write_atomic(path, text, n + 1, err);
    }
    free(path);
    cJSON_free(text);
    return rc;
}
