/* cmd_init_model.c: `faith init-model`: a randomly initialised BERT / DistilBERT / RoBERTa
 * classifier saved in Hugging Face layout, with the tokenizer files copied so DIR loads as is. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "hfconfig.h"
#include "json.h"
#include "model.h"
#include "tokenizer.h"

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int copy_file(const char *src, const char *dir, const char *name, faith_err *err)
{
    char *buf;
    size_t n;
    FAITH_TRY(faith_read_file(src, &buf, &n, err));
    char dst[4096];
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int rc = faith_write_file_atomic(dst, buf, n, err);
    free(buf);
    return rc;
}

/* Largest id + 1 over a JSON token -> id object (or the length of a [token, score] array). */
static int json_vocab_size(const cJSON *v, const char *path, int32_t *out, faith_err *err)
{
    if (cJSON_IsArray(v)) {
        *out = cJSON_GetArraySize(v);
        return FAITH_OK;
    }
    if (!cJSON_IsObject(v)) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: expected a token -> id object", path);
    int32_t mx = -1;
    for (const cJSON *it = v->child; it; it = it->next) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0)
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: token '%s' has no non-negative integer id", path, it->string);
        if ((int32_t)it->valuedouble > mx) mx = (int32_t)it->valuedouble;
    }
    *out = mx + 1;
    return FAITH_OK;
}

/* Vocabulary size of vocab.txt (lines), vocab.json (entries) or tokenizer.json (model.vocab and
 * added_tokens); *kind is 0, 1 or 2 respectively. */
static int vocab_size(const char *path, int32_t *n, int *kind, faith_err *err)
{
    char *txt;
    size_t len;
    FAITH_TRY(faith_read_file(path, &txt, &len, err));
    int rc = FAITH_OK;
    if (!ends_with(path, ".json")) {
        int32_t lines = 0;
        for (size_t i = 0; i < len; i++) lines += txt[i] == '\n';
        if (len && txt[len - 1] != '\n') lines++;
        *n = lines;
        *kind = 0;
    } else {
        cJSON *j;
        rc = faith_json_parse(txt, len, path, &j, err);
        /* tokenizer.json has a "model" object; a vocab.json may map the token "model" to an id. */
        const cJSON *model = j ? cJSON_GetObjectItemCaseSensitive(j, "model") : NULL;
        if (!cJSON_IsObject(model)) model = NULL;
        if (rc == FAITH_OK && model) {
            *kind = 2;
            rc = json_vocab_size(cJSON_GetObjectItemCaseSensitive(model, "vocab"), path, n, err);
            const cJSON *added = cJSON_GetObjectItemCaseSensitive(j, "added_tokens");
            for (const cJSON *it = added ? added->child : NULL; it && rc == FAITH_OK; it = it->next) {
                const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
                if (cJSON_IsNumber(id) && (int32_t)id->valuedouble >= *n) *n = (int32_t)id->valuedouble + 1;
            }
        } else if (rc == FAITH_OK) {
            *kind = 1;
            rc = json_vocab_size(j, path, n, err);
        }
        cJSON_Delete(j);
    }
    free(txt);
    if (rc == FAITH_OK && *n < 1) rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: empty vocabulary", path);
    return rc;
}

/* Load the tokenizer the copied files will make, before anything is written: a vocabulary it
 * refuses, or a WordPiece one without [CLS]/[SEP]/[PAD], fails here naming the file. Byte-level BPE
 * vocabularies such as GPT-2's may lack <s>/</s>; sequences then start with an ordinary token. */
static int check_tokenizer(const char *vocab, const char *merges, int kind, int32_t *pad, faith_err *err)
{
    faith_tokenizer *t = NULL;
    if (kind == 0) FAITH_TRY(faith_tokenizer_load_wordpiece(vocab, 1, &t, err));
    if (kind == 1) FAITH_TRY(faith_tokenizer_load_bpe(vocab, merges, &t, err));
    if (kind == 2) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", vocab);
        char *slash = strrchr(dir, '/');
        if (strcmp(base_name(vocab), "tokenizer.json") != 0) return FAITH_OK; /* loaded from DIR later */
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        FAITH_TRY(faith_tokenizer_load(dir, &t, err));
    }
    faith_special_ids s = faith_tokenizer_special(t);
    int wp = strcmp(faith_tokenizer_kind(t), "wordpiece") == 0;
    faith_tokenizer_free(t);
    if (wp && (s.cls < 0 || s.sep < 0 || s.pad < 0))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: no [CLS], [SEP] or [PAD] token: expected a BERT vocabulary", vocab);
    if (wp) *pad = s.pad;
    return FAITH_OK;
}

static int label_names(const char *list, faith_model_config *c, faith_err *err)
{
    int k = 0;
    const char *s = list;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (k >= c->n_classes || n == 0 || n >= FAITH_LABEL_MAX)
            return faith_err_set(err, FAITH_ERR_ARG, "--label-names: expected %d non-empty comma-separated names", c->n_classes);
        memcpy(c->labels[k], s, n);
        c->labels[k][n] = '\0';
        for (int j = 0; j < k; j++)
            if (strcmp(c->labels[j], c->labels[k]) == 0)
                return faith_err_set(err, FAITH_ERR_ARG, "--label-names: duplicate name '%s' (label2id needs distinct names)",
                                     c->labels[k]);
        k++;
        s = e ? e + 1 : s + n;
    }
    if (k != c->n_classes)
        return faith_err_set(err, FAITH_ERR_ARG, "--label-names: expected %d names, got %d", c->n_classes, k);
    return FAITH_OK;
}

static int run(faith_opt *o, int no, faith_err *err)
{
    faith_model_config c;
    memset(&c, 0, sizeof c);
    const char *arch = faith_opt_str(o, no, "arch", NULL), *vocab = faith_opt_str(o, no, "vocab", NULL);
    const char *out = faith_opt_str(o, no, "out", NULL), *merges = faith_opt_str(o, no, "merges", NULL);
    if (!arch || !vocab || !out) return faith_err_set(err, FAITH_ERR_ARG, "init-model: --arch, --vocab and --out are required");
    /* A trained model is hours of work: never replace one by a random one without being told. */
    char existing[4096];
    snprintf(existing, sizeof existing, "%s/model.safetensors", out);
    if (!faith_opt_flag(o, no, "force") && access(existing, F_OK) == 0)
        return faith_err_set(err, FAITH_ERR_ARG, "init-model: %s already exists; refusing to overwrite a model "
                             "(another --out, or --force)", existing);
    if (faith_arch_parse(arch, &c.arch) < 0)
        return faith_err_set(err, FAITH_ERR_ARG, "--arch: expected bert, distilbert or roberta, got '%s'", arch);
    int64_t L, C, H, F, K, P, seed;
    FAITH_TRY(faith_opt_int(o, no, "layers", 2, 1, 1000, &L, err));
    FAITH_TRY(faith_opt_int(o, no, "hidden", 64, 1, 1 << 16, &C, err));
    FAITH_TRY(faith_opt_int(o, no, "heads", 2, 1, 1 << 12, &H, err));
    FAITH_TRY(faith_opt_int(o, no, "ffn", 4 * C, 1, 1 << 20, &F, err));
    FAITH_TRY(faith_opt_int(o, no, "labels", 2, 1, FAITH_MAX_CLASSES, &K, err));
    FAITH_TRY(faith_opt_int(o, no, "max-pos", 512, 1, 1 << 20, &P, err));
    FAITH_TRY(faith_opt_int(o, no, "seed", 0, 0, INT64_MAX, &seed, err));
    int kind = 0;
    FAITH_TRY(vocab_size(vocab, &c.vocab_size, &kind, err));
    if (kind == 1 && !merges) return faith_err_set(err, FAITH_ERR_ARG, "%s: a vocab.json needs --merges merges.txt", vocab);
    int32_t pad = 0;
    FAITH_TRY(check_tokenizer(vocab, merges, kind, &pad, err));
    c.n_layers = (int32_t)L, c.d_model = (int32_t)C, c.n_heads = (int32_t)H, c.d_ffn = (int32_t)F;
    c.n_classes = (int32_t)K;
    c.max_pos = (int32_t)P;
    c.hidden_dropout = c.attn_dropout = 0.1f;
    c.classifier_dropout = -1;
    c.ln_eps = 1e-12f;
    if (c.arch != FAITH_ARCH_ROBERTA) c.pad_token_id = pad; /* [PAD]'s id, 0 in BERT vocabularies */
    if (c.arch == FAITH_ARCH_BERT) c.type_vocab_size = 2;
    if (c.arch == FAITH_ARCH_DISTILBERT) c.classifier_dropout = 0.2f;
    if (c.arch == FAITH_ARCH_ROBERTA) { /* positions start after padding_idx = 1 */
        c.type_vocab_size = 1;
        c.pad_token_id = 1;
        c.max_pos = (int32_t)P + 2;
        c.ln_eps = 1e-5f;
    }
    const char *names = faith_opt_str(o, no, "label-names", NULL);
    if (names) FAITH_TRY(label_names(names, &c, err));
    faith_model *m;
    FAITH_TRY(faith_model_create_random(&c, (uint64_t)seed, &m, err));
    int rc = faith_model_save(m, out, err);
    size_t np;
    faith_model_params(m, &np);
    faith_model_free(m);
    FAITH_TRY(rc);
    if (kind == 0) FAITH_TRY(copy_file(vocab, out, "vocab.txt", err));
    if (kind == 1) {
        FAITH_TRY(copy_file(vocab, out, "vocab.json", err));
        FAITH_TRY(copy_file(merges, out, "merges.txt", err));
    }
    if (kind == 2) FAITH_TRY(copy_file(vocab, out, "tokenizer.json", err));
    printf("wrote %s: %s, %d layers, hidden %d, %d heads, ffn %d, %d labels, vocab %d (%s), %zu parameters\n", out,
           faith_arch_name(c.arch), c.n_layers, c.d_model, c.n_heads, c.d_ffn, c.n_classes, c.vocab_size,
           base_name(vocab), np);
    return FAITH_OK;
}

int faith_cmd_init_model(int argc, char **argv)
{
    faith_opt o[] = {
        {"arch", "NAME", "bert, distilbert or roberta (required)", 0, 0, NULL, NULL, NULL},
        {"layers", "N", "encoder layers (default 2)", 0, 0, NULL, NULL, NULL},
        {"hidden", "C", "hidden size (default 64)", 0, 0, NULL, NULL, NULL},
        {"heads", "H", "attention heads (default 2)", 0, 0, NULL, NULL, NULL},
        {"ffn", "F", "feed-forward size (default 4 * hidden)", 0, 0, NULL, NULL, NULL},
        {"labels", "K", "number of classes (default 2)", 0, 0, NULL, NULL, NULL},
        {"label-names", "A,B", "class names for id2label", 0, 0, NULL, NULL, NULL},
        {"vocab", "FILE", "vocab.txt, vocab.json (with --merges) or tokenizer.json (required)", 0, 0, NULL, NULL, NULL},
        {"merges", "FILE", "merges.txt for a vocab.json", 0, 0, NULL, NULL, NULL},
        {"max-pos", "N", "longest input in tokens (default 512; RoBERTa stores N + 2)", 0, 0, NULL, NULL, NULL},
        {"seed", "S", "initialisation seed (default 0)", 0, 0, NULL, NULL, NULL},
        {"out", "DIR", "output model directory (required)", 0, 0, NULL, NULL, NULL},
        {"force", NULL, "overwrite a model already in DIR", 0, 0, NULL, NULL, NULL},
    };
    int no = (int)(sizeof o / sizeof o[0]);
    faith_err err = {0};
    int rc = faith_opts_parse("init-model", "--arch A --vocab FILE --out DIR [options]", o, no, argc, argv, NULL, NULL, &err);
    if (rc == 1) return 0;
    if (rc == 0) rc = run(o, no, &err);
    faith_opts_free(o, no);
    return rc < 0 ? faith_cli_fail(&err) : 0;
}
