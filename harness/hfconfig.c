/* hfconfig.c: config.json reading and writing with Hugging Face's key names per model_type, so
 * Faith loads models saved by transformers and transformers loads models Faith saves. */
#include "hfconfig.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"

int faith_read_file(const char *path, char **out, size_t *len, faith_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = faith_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += got;
        if (cap - n - 1 == 0) buf = faith_xrealloc(buf, cap *= 2);
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return faith_err_set(err, FAITH_ERR_IO, "%s: read error", path);
    }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return FAITH_OK;
}

int faith_write_file_atomic(const char *path, const void *data, size_t len, faith_err *err)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    int ok = fwrite(data, 1, len, fp) == len;
    if (fclose(fp) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return faith_err_set(err, FAITH_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return FAITH_OK;
}

/* Integer key: required (def < -1 means required), or def when absent. */
static int get_int(const cJSON *j, const char *path, const char *key, int def, int32_t *out, faith_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) {
        if (def < -1) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing key \"%s\" (an integer)", path, key);
        *out = def;
        return FAITH_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 2e9)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key \"%s\" must be an integer", path, key);
    *out = (int32_t)v->valuedouble;
    return FAITH_OK;
}

static int get_num(const cJSON *j, const char *path, const char *key, double def, float *out, faith_err *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v || cJSON_IsNull(v)) {
        *out = (float)def;
        return FAITH_OK;
    }
    if (!cJSON_IsNumber(v)) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key \"%s\" must be a number", path, key);
    *out = (float)v->valuedouble;
    return FAITH_OK;
}

static int read_labels(const cJSON *j, const char *path, faith_model_config *c, faith_err *err)
{
    const cJSON *id2 = cJSON_GetObjectItemCaseSensitive(j, "id2label");
    int32_t nl = -1;
    FAITH_TRY(get_int(j, path, "num_labels", -1, &nl, err));
    int n_id = 0;
    if (id2) {
        if (!cJSON_IsObject(id2)) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: \"id2label\" must be an object", path);
        for (const cJSON *it = id2->child; it; it = it->next) n_id++;
    }
    c->n_classes = nl > 0 ? nl : n_id > 0 ? n_id : 2; /* transformers' default is 2 labels */
    if (c->n_classes > FAITH_MAX_CLASSES)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: %d labels, at most %d supported", path, c->n_classes,
                             FAITH_MAX_CLASSES);
    for (int k = 0; k < c->n_classes; k++) snprintf(c->labels[k], FAITH_LABEL_MAX, "LABEL_%d", k);
    if (!id2) return FAITH_OK;
    for (const cJSON *it = id2->child; it; it = it->next) {
        char *end;
        long k = strtol(it->string, &end, 10);
        if (*end || end == it->string || k < 0 || k >= c->n_classes || !cJSON_IsString(it))
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s: id2label key \"%s\": expected \"0\"..\"%d\" mapping to a string", path,
                                 it->string, c->n_classes - 1);
        snprintf(c->labels[k], FAITH_LABEL_MAX, "%s", it->valuestring);
    }
    return FAITH_OK;
}

static int read_cfg(const cJSON *j, const char *path, faith_model_config *c, faith_err *err)
{
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "model_type");
    if (!cJSON_IsString(mt))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing key \"model_type\" (bert, distilbert or roberta)", path);
    if (faith_arch_parse(mt->valuestring, &c->arch) < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: unknown model_type \"%s\": expected bert, distilbert or roberta", path, mt->valuestring);
    if (c->arch == FAITH_ARCH_DISTILBERT) {
        FAITH_TRY(get_int(j, path, "dim", -2, &c->d_model, err));
        FAITH_TRY(get_int(j, path, "n_layers", -2, &c->n_layers, err));
        FAITH_TRY(get_int(j, path, "n_heads", -2, &c->n_heads, err));
        FAITH_TRY(get_int(j, path, "hidden_dim", -2, &c->d_ffn, err));
        FAITH_TRY(get_int(j, path, "pad_token_id", 0, &c->pad_token_id, err));
        c->type_vocab_size = 0;
        /* DistilBERT's LayerNorm eps is a constant in transformers; a layer_norm_eps key (never
         * written by transformers) is honoured for Faith's own test models. */
        FAITH_TRY(get_num(j, path, "layer_norm_eps", 1e-12, &c->ln_eps, err));
        FAITH_TRY(get_num(j, path, "dropout", 0.1, &c->hidden_dropout, err));
        FAITH_TRY(get_num(j, path, "attention_dropout", 0.1, &c->attn_dropout, err));
        FAITH_TRY(get_num(j, path, "seq_classif_dropout", 0.2, &c->classifier_dropout, err));
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "activation");
        if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu") != 0))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key \"activation\" must be \"gelu\"", path);
    } else {
        int rob = c->arch == FAITH_ARCH_ROBERTA;
        FAITH_TRY(get_int(j, path, "hidden_size", -2, &c->d_model, err));
        FAITH_TRY(get_int(j, path, "num_hidden_layers", -2, &c->n_layers, err));
        FAITH_TRY(get_int(j, path, "num_attention_heads", -2, &c->n_heads, err));
        FAITH_TRY(get_int(j, path, "intermediate_size", -2, &c->d_ffn, err));
        FAITH_TRY(get_int(j, path, "type_vocab_size", rob ? 1 : 2, &c->type_vocab_size, err));
        FAITH_TRY(get_int(j, path, "pad_token_id", rob ? 1 : 0, &c->pad_token_id, err));
        FAITH_TRY(get_num(j, path, "layer_norm_eps", 1e-12, &c->ln_eps, err));
        FAITH_TRY(get_num(j, path, "hidden_dropout_prob", 0.1, &c->hidden_dropout, err));
        FAITH_TRY(get_num(j, path, "attention_probs_dropout_prob", 0.1, &c->attn_dropout, err));
        FAITH_TRY(get_num(j, path, "classifier_dropout", -1, &c->classifier_dropout, err));
        const cJSON *act = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
        if (act && (!cJSON_IsString(act) || strcmp(act->valuestring, "gelu") != 0))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key \"hidden_act\" must be \"gelu\" (exact erf GELU)", path);
        const cJSON *pe = cJSON_GetObjectItemCaseSensitive(j, "position_embedding_type");
        if (pe && (!cJSON_IsString(pe) || strcmp(pe->valuestring, "absolute") != 0))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key \"position_embedding_type\" must be \"absolute\"", path);
    }
    FAITH_TRY(get_int(j, path, "vocab_size", -2, &c->vocab_size, err));
    FAITH_TRY(get_int(j, path, "max_position_embeddings", -2, &c->max_pos, err));
    return read_labels(j, path, c, err);
}

int faith_hfconfig_read(const char *path, faith_model_config *cfg, faith_err *err)
{
    char *txt;
    size_t n;
    FAITH_TRY(faith_read_file(path, &txt, &n, err));
    cJSON *j;
    int prc = faith_json_parse(txt, n, path, &j, err);
    free(txt);
    if (prc < 0) return prc;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: expected a JSON object", path);
    }
    memset(cfg, 0, sizeof *cfg);
    int rc = read_cfg(j, path, cfg, err);
    cJSON_Delete(j);
    return rc;
}

/* The shortest decimal that reads back as the same float (0.1f is written 0.1, not 0.100000001). */
static double short_num(float f)
{
    char buf[32];
    for (int prec = 6; prec < 10; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

static const char *ARCHS[] = {"BertForSequenceClassification", "DistilBertForSequenceClassification",
                              "RobertaForSequenceClassification"};

int faith_hfconfig_write(const char *path, const faith_model_config *c, faith_err *err)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *ar = cJSON_AddArrayToObject(j, "architectures");
    cJSON_AddItemToArray(ar, cJSON_CreateString(ARCHS[c->arch]));
    cJSON_AddStringToObject(j, "model_type", faith_arch_name(c->arch));
    if (c->arch == FAITH_ARCH_DISTILBERT) {
        cJSON_AddNumberToObject(j, "dim", c->d_model);
        cJSON_AddNumberToObject(j, "n_layers", c->n_layers);
        cJSON_AddNumberToObject(j, "n_heads", c->n_heads);
        cJSON_AddNumberToObject(j, "hidden_dim", c->d_ffn);
        cJSON_AddStringToObject(j, "activation", "gelu");
        cJSON_AddNumberToObject(j, "dropout", short_num(c->hidden_dropout));
        cJSON_AddNumberToObject(j, "attention_dropout", short_num(c->attn_dropout));
        cJSON_AddNumberToObject(j, "seq_classif_dropout", short_num(c->classifier_dropout >= 0 ? c->classifier_dropout : 0.2f));
        cJSON_AddFalseToObject(j, "sinusoidal_pos_embds");
        cJSON_AddFalseToObject(j, "tie_weights_");
        if (c->ln_eps != 1e-12f) cJSON_AddNumberToObject(j, "layer_norm_eps", short_num(c->ln_eps));
    } else {
        cJSON_AddNumberToObject(j, "hidden_size", c->d_model);
        cJSON_AddNumberToObject(j, "num_hidden_layers", c->n_layers);
        cJSON_AddNumberToObject(j, "num_attention_heads", c->n_heads);
        cJSON_AddNumberToObject(j, "intermediate_size", c->d_ffn);
        cJSON_AddStringToObject(j, "hidden_act", "gelu");
        cJSON_AddNumberToObject(j, "type_vocab_size", c->type_vocab_size);
        cJSON_AddNumberToObject(j, "layer_norm_eps", short_num(c->ln_eps));
        cJSON_AddNumberToObject(j, "hidden_dropout_prob", short_num(c->hidden_dropout));
        cJSON_AddNumberToObject(j, "attention_probs_dropout_prob", short_num(c->attn_dropout));
        if (c->classifier_dropout >= 0) cJSON_AddNumberToObject(j, "classifier_dropout", short_num(c->classifier_dropout));
        else cJSON_AddNullToObject(j, "classifier_dropout");
        cJSON_AddStringToObject(j, "position_embedding_type", "absolute");
        cJSON_AddNumberToObject(j, "initializer_range", 0.02);
    }
    cJSON_AddNumberToObject(j, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_pos);
    cJSON_AddNumberToObject(j, "pad_token_id", c->pad_token_id);
    if (c->arch == FAITH_ARCH_ROBERTA) {
        cJSON_AddNumberToObject(j, "bos_token_id", 0);
        cJSON_AddNumberToObject(j, "eos_token_id", 2);
    }
    cJSON_AddNumberToObject(j, "num_labels", c->n_classes);
    cJSON *id2 = cJSON_AddObjectToObject(j, "id2label"), *l2i = cJSON_AddObjectToObject(j, "label2id");
    for (int k = 0; k < c->n_classes; k++) {
        char key[16];
        snprintf(key, sizeof key, "%d", k);
        cJSON_AddStringToObject(id2, key, c->labels[k]);
        if (!cJSON_GetObjectItemCaseSensitive(l2i, c->labels[k])) cJSON_AddNumberToObject(l2i, c->labels[k], k);
    }
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    size_t n = strlen(s);
    s = faith_xrealloc(s, n + 2);
    s[n] = '\n';
    int rc = faith_write_file_atomic(path, s, n + 1, err);
    free(s);
    return rc;
}
