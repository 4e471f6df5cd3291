/* cmd_predict.c: `faith predict`: tokens, logits, probabilities and predicted label of a model for
 * a text (and pair), explicit token ids, or every line of a file. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "commands.h"
#include "model.h"
#include "tokenizer.h"

typedef struct pred_ctx {
    faith_model *m;
    faith_tokenizer *tok; /* NULL when the model dir has none (only --ids works then) */
    int32_t max_len;      /* --max-length, 0: none */
    int json;
    float *logits;
} pred_ctx;

static void print_result(const pred_ctx *p, const int32_t *ids, int32_t n)
{
    const faith_model_config *c = faith_model_cfg(p->m);
    int K = c->n_classes, best = 0;
    double probs[FAITH_MAX_CLASSES];
    faith_softmax_row(p->logits, K, probs);
    for (int k = 1; k < K; k++)
        if (p->logits[k] > p->logits[best]) best = k;
    if (p->json) {
        cJSON *j = cJSON_CreateObject(), *tk = cJSON_AddArrayToObject(j, "tokens");
        cJSON *ia = cJSON_AddArrayToObject(j, "ids"), *la = cJSON_AddArrayToObject(j, "logits");
        cJSON *pa = cJSON_AddArrayToObject(j, "probs");
        for (int32_t t = 0; t < n; t++) {
            const char *s = p->tok ? faith_tokenizer_id_to_token(p->tok, ids[t]) : NULL;
            cJSON_AddItemToArray(tk, s ? cJSON_CreateString(s) : cJSON_CreateNull());
            cJSON_AddItemToArray(ia, cJSON_CreateNumber(ids[t]));
        }
        for (int k = 0; k < K; k++) {
            cJSON_AddItemToArray(la, cJSON_CreateNumber(p->logits[k]));
            cJSON_AddItemToArray(pa, cJSON_CreateNumber(probs[k]));
        }
        cJSON_AddStringToObject(j, "label", c->labels[best]);
        cJSON_AddNumberToObject(j, "label_id", best);
        char *s = cJSON_PrintUnformatted(j);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(j);
        return;
    }
    printf("tokens:");
    for (int32_t t = 0; t < n; t++) {
        const char *s = p->tok ? faith_tokenizer_id_to_token(p->tok, ids[t]) : NULL;
        if (s) printf(" %s", s);
        else printf(" #%d", ids[t]);
    }
    printf("\nlogits:");
    for (int k = 0; k < K; k++) printf(" %s=%.6f", c->labels[k], p->logits[k]);
    printf("\nprobs: ");
    for (int k = 0; k < K; k++) printf(" %s=%.6f", c->labels[k], probs[k]);
    printf("\nlabel:  %s\n", c->labels[best]);
}

static int predict_ids(pred_ctx *p, const int32_t *ids, int32_t n, faith_err *err)
{
    int32_t lim = faith_model_cfg_max_tokens(faith_model_cfg(p->m));
    if (n > lim)
        return faith_err_set(err, FAITH_ERR_RANGE,
                             "input is %d tokens, expected at most %d (max_position_embeddings); use --max-length to "
                             "truncate", n, lim);
    faith_batch b = {1, n, ids, NULL, &n, NULL};
    FAITH_TRY(faith_model_forward(p->m, &b, 0, p->logits, err));
    print_result(p, ids, n);
    return FAITH_OK;
}

static int predict_text(pred_ctx *p, const char *text, const char *pair, faith_err *err)
{
    if (!p->tok) return faith_err_set(err, FAITH_ERR_ARG, "no tokenizer in the model directory: use --ids");
    faith_encoding e;
    memset(&e, 0, sizeof e);
    FAITH_TRY(faith_tokenizer_encode(p->tok, text, pair, p->max_len, &e, err));
    int32_t n = e.n, lim = faith_model_cfg_max_tokens(faith_model_cfg(p->m));
    int rc = faith_encoding_require_tokens(&e, err);
    if (rc == FAITH_OK && n > lim) {
        rc = faith_err_set(err, FAITH_ERR_RANGE,
                           "text is %d tokens, expected at most %d (max_position_embeddings); use --max-length to "
                           "truncate", n, lim);
    } else if (rc == FAITH_OK) {
        faith_batch b = {1, n, e.ids, e.type_ids, &n, NULL};
        rc = faith_model_forward(p->m, &b, 0, p->logits, err);
        if (rc == FAITH_OK) print_result(p, e.ids, n);
    }
    faith_encoding_free(&e);
    return rc;
}

int faith_ids_parse(const char *s, int32_t **ids, int32_t *n, faith_err *err)
{
    *n = 0;
    *ids = faith_xmalloc(sizeof(int32_t) * (strlen(s) / 2 + 2));
    char *copy = faith_xstrdup(s), *tk = copy;
    int rc = FAITH_OK;
    for (int32_t k = 1;; k++) { /* every comma-separated entry, empty ones included, must be an id */
        char *comma = strchr(tk, ',');
        if (comma) *comma = '\0';
        int64_t v;
        if (faith_parse_int(tk, &v) < 0 || v < 0 || v > INT32_MAX) {
            rc = faith_err_set(err, FAITH_ERR_ARG, "--ids: entry %d is '%s', expected a non-negative integer", k, tk);
            break;
        }
        (*ids)[(*n)++] = (int32_t)v;
        if (!comma) break;
        tk = comma + 1;
    }
    free(copy);
    return rc;
}

static int predict_file(pred_ctx *p, const char *path, faith_err *err)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return faith_err_set(err, FAITH_ERR_IO, "%s: not a regular file (expected one text per line)", path);
    FILE *fp = fopen(path, "r");
    if (!fp) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = FAITH_OK;
    long lineno = 0;
    while (rc == FAITH_OK && (len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        char *tab = strchr(line, '\t');
        if (tab) *tab = '\0';
        if (tab && strchr(tab + 1, '\t'))
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "expected text or text<TAB>pair, found more than one tab");
        else rc = predict_text(p, line, tab ? tab + 1 : NULL, err);
        if (rc < 0) faith_err_prefix(err, "%s:%ld: ", path, lineno);
    }
    if (rc == FAITH_OK && ferror(fp)) rc = faith_err_set(err, FAITH_ERR_IO, "%s: read error", path);
    free(line);
    fclose(fp);
    return rc;
}

static int run(faith_opt *o, int no, faith_err *err)
{
    const char *dir = faith_opt_str(o, no, "model", NULL), *text = faith_opt_str(o, no, "text", NULL);
    const char *ids_s = faith_opt_str(o, no, "ids", NULL), *data = faith_opt_str(o, no, "data", NULL);
    const char *pair = faith_opt_str(o, no, "pair", NULL);
    if (!dir) return faith_err_set(err, FAITH_ERR_ARG, "predict: --model DIR is required");
    if ((text != NULL) + (ids_s != NULL) + (data != NULL) != 1)
        return faith_err_set(err, FAITH_ERR_ARG, "predict: give exactly one of --text, --ids, --data");
    if (pair && !text) return faith_err_set(err, FAITH_ERR_ARG, "predict: --pair needs --text");
    int64_t ml;
    FAITH_TRY(faith_opt_int(o, no, "max-length", 0, 0, 1 << 20, &ml, err));
    pred_ctx p = {0};
    p.max_len = (int32_t)ml;
    p.json = faith_opt_flag(o, no, "json");
    FAITH_TRY(faith_model_load(dir, &p.m, err));
    int32_t limit = faith_model_cfg_max_tokens(faith_model_cfg(p.m));
    if (p.max_len > limit) {
        faith_model_free(p.m);
        return faith_err_set(err, FAITH_ERR_ARG, "--max-length %d is more than the model's limit of %d tokens "
                             "(max_position_embeddings)", (int)p.max_len, (int)limit);
    }
    /* --ids works without a tokenizer (tokens print as ids), but not with a broken one */
    int rc = FAITH_OK;
    if (!ids_s || faith_tokenizer_exists(dir)) rc = faith_tokenizer_load(dir, &p.tok, err);
    if (rc < 0) {
        faith_model_free(p.m);
        return rc;
    }
    if (p.tok && faith_model_check_vocab(p.m, faith_tokenizer_vocab_size(p.tok), dir, err) < 0) {
        faith_tokenizer_free(p.tok);
        faith_model_free(p.m);
        return FAITH_ERR_FORMAT;
    }
    p.logits = faith_xmalloc(sizeof(float) * (size_t)faith_model_cfg(p.m)->n_classes);
    if (text) rc = predict_text(&p, text, pair, err);
    else if (data) rc = predict_file(&p, data, err);
    else {
        int32_t *ids, n;
        rc = faith_ids_parse(ids_s, &ids, &n, err);
        if (rc == FAITH_OK && p.max_len > 0 && n > p.max_len) n = p.max_len;
        if (rc == FAITH_OK) rc = predict_ids(&p, ids, n, err);
        free(ids);
    }
    free(p.logits);
    faith_tokenizer_free(p.tok);
    faith_model_free(p.m);
    return rc;
}

int faith_cmd_predict(int argc, char **argv)
{
    faith_opt o[] = {
        {"model", "DIR", "model directory (config.json, model.safetensors, tokenizer files)", 0, 0, NULL, NULL, NULL},
        {"text", "T", "input text", 0, 0, NULL, NULL, NULL},
        {"pair", "T2", "second segment (sentence pairs)", 0, 0, NULL, NULL, NULL},
        {"ids", "I,J,...", "token ids, special tokens included (bypasses the tokenizer)", 0, 0, NULL, NULL, NULL},
        {"data", "FILE", "one text per line; a tab separates a pair", 0, 0, NULL, NULL, NULL},
        {"max-length", "N", "truncate to N tokens, special tokens included", 0, 0, NULL, NULL, NULL},
        {"json", NULL, "one JSON object per input", 0, 0, NULL, NULL, NULL},
    };
    int no = (int)(sizeof o / sizeof o[0]);
    faith_err err = {0};
    int rc = faith_opts_parse("predict", "--model DIR (--text T [--pair T2] | --ids I,J | --data FILE) [options]", o,
                              no, argc, argv, NULL, NULL, &err);
    if (rc == 1) return 0;
    if (rc == 0) rc = run(o, no, &err);
    faith_opts_free(o, no);
    return rc < 0 ? faith_cli_fail(&err) : 0;
}
