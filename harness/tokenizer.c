/* tokenizer.c: loading (tokenizer.json, vocab.txt, vocab.json + merges.txt, config files),
 * added-token splitting, word indices, longest_first truncation, special-token framing, save. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "hfconfig.h"
#include "json.h"
#include "tok_internal.h"
#include "unicode.h"

/* ---------- vocabulary hash ---------- */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void faith_tok_vocab_init(faith_tok_vocab *v)
{
    memset(v, 0, sizeof *v);
}

void faith_tok_vocab_free(faith_tok_vocab *v)
{
    for (int32_t i = 0; i < v->n; i++) free(v->tokens[i]);
    free(v->tokens);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

static void vocab_rehash(faith_tok_vocab *v, size_t cap)
{
    free(v->slots);
    v->cap = cap;
    v->slots = faith_xmalloc(cap * sizeof *v->slots);
    for (size_t i = 0; i < cap; i++) v->slots[i] = -1;
    for (int32_t id = 0; id < v->n; id++) {
        const char *s = v->tokens[id];
        if (!s) continue;
        size_t h = (size_t)hash_bytes(s, strlen(s)) & (cap - 1);
        while (v->slots[h] >= 0 && strcmp(v->tokens[v->slots[h]], s) != 0) h = (h + 1) & (cap - 1);
        v->slots[h] = id; /* ids ascend: a repeated string keeps its last id, as when it was put */
    }
}

static int32_t *vocab_slot(const faith_tok_vocab *v, const char *s, size_t len)
{
    size_t h = (size_t)hash_bytes(s, len) & (v->cap - 1);
    for (;;) {
        int32_t id = v->slots[h];
        if (id < 0) return &v->slots[h];
        const char *t = v->tokens[id];
        if (strncmp(t, s, len) == 0 && t[len] == '\0') return &v->slots[h];
        h = (h + 1) & (v->cap - 1);
    }
}

int faith_tok_vocab_put(faith_tok_vocab *v, const char *s, size_t len, int32_t id)
{
    /* An id given twice would silently drop a token (a vocab.json or tokenizer.json mapping two
     * strings to one id): refuse it and leave the vocabulary as it was. */
    if (id < v->n && v->tokens[id]) return FAITH_ERR_RANGE;
    if (id >= v->n) {
        int32_t n = id + 1;
        if (n > v->n_cap) {
            v->n_cap = n > 2 * v->n_cap ? n : 2 * v->n_cap;
            v->tokens = faith_xrealloc(v->tokens, (size_t)v->n_cap * sizeof *v->tokens);
        }
        for (int32_t i = v->n; i < n; i++) v->tokens[i] = NULL;
        v->n = n;
    }
    if (v->cap < 2 * (size_t)v->n + 16) vocab_rehash(v, v->cap ? 4 * v->cap : 1024);
    char *copy = faith_xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    int32_t *slot = vocab_slot(v, s, len);
    int replaced = *slot >= 0;
    free(v->tokens[id]);
    v->tokens[id] = copy;
    *slot = id; /* a repeated string maps to its latest id */
    return replaced ? FAITH_ERR_FORMAT : FAITH_OK;
}

int32_t faith_tok_vocab_get(const faith_tok_vocab *v, const char *s, size_t len)
{
    if (!v->cap) return -1;
    return *vocab_slot(v, s, len);
}

/* ---------- pieces ---------- */

void faith_tok_pieces_push(faith_tok_pieces *p, int32_t id, int32_t start, int32_t end,
                           uint8_t special)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 32;
        p->id = faith_xrealloc(p->id, (size_t)p->cap * sizeof *p->id);
        p->start = faith_xrealloc(p->start, (size_t)p->cap * sizeof *p->start);
        p->end = faith_xrealloc(p->end, (size_t)p->cap * sizeof *p->end);
        p->special = faith_xrealloc(p->special, (size_t)p->cap);
    }
    p->id[p->n] = id;
    p->start[p->n] = start;
    p->end[p->n] = end;
    p->special[p->n] = special;
    p->n++;
}

void faith_tok_pieces_free(faith_tok_pieces *p)
{
    free(p->id);
    free(p->start);
    free(p->end);
    free(p->special);
    memset(p, 0, sizeof *p);
}

/* ---------- files ---------- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = faith_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Remember a source file and the name it gets in a saved directory. */
static void add_file(faith_tokenizer *t, const char *path, const char *name)
{
    t->files = faith_xrealloc(t->files, (size_t)(t->n_files + 1) * sizeof *t->files);
    t->names = faith_xrealloc(t->names, (size_t)(t->n_files + 1) * sizeof *t->names);
    t->files[t->n_files] = faith_xstrdup(path);
    t->names[t->n_files++] = faith_xstrdup(name);
}

static cJSON *read_json(const char *path, faith_err *err)
{
    char *buf;
    size_t len;
    if (faith_read_file(path, &buf, &len, err) < 0) return NULL;
    cJSON *j;
    faith_json_parse(buf, len, path, &j, err);
    free(buf);
    return j;
}

/* ---------- construction ---------- */

static faith_tokenizer *tok_new(int kind)
{
    faith_tokenizer *t = faith_xcalloc(1, sizeof *t);
    t->kind = kind;
    faith_tok_vocab_init(&t->vocab);
    t->sp = (faith_special_ids){-1, -1, -1, -1, -1};
    t->clean_text = t->chinese = t->lowercase = t->strip_accents = 1;
    t->max_chars = 100;
    strcpy(t->prefix, "##");
    t->use_regex = 1;
    return t;
}

void faith_tokenizer_free(faith_tokenizer *t)
{
    if (!t) return;
    faith_tok_vocab_free(&t->vocab);
    faith_tok_bpe_free(t->bpe);
    for (int i = 0; i < t->n_added; i++) {
        free(t->added[i].content);
        free(t->added[i].norm);
    }
    free(t->added);
    for (int i = 0; i < t->n_files; i++) {
        free(t->files[i]);
        free(t->names[i]);
    }
    free(t->files);
    free(t->names);
    free(t);
}

static faith_tok_added *add_added(faith_tokenizer *t, const char *content, int32_t id, int special,
                                  int lstrip, int rstrip)
{
    if (!content[0]) return NULL;
    for (int i = 0; i < t->n_added; i++)
        if (strcmp(t->added[i].content, content) == 0) return NULL;
    t->added = faith_xrealloc(t->added, (size_t)(t->n_added + 1) * sizeof *t->added);
    t->added[t->n_added] = (faith_tok_added){faith_xstrdup(content), id, (uint8_t)special,
                                             (uint8_t)lstrip, (uint8_t)rstrip, 0, 0, NULL, 0};
    return &t->added[t->n_added++];
}

/* Specials by their usual names, for vocab files without a tokenizer.json; each one found is
 * also matched verbatim in input text, as transformers never splits special tokens. */
static void find_specials(faith_tokenizer *t)
{
    static const char *wp[5] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    static const char *bpe[5] = {"<pad>", "<unk>", "<s>", "</s>", "<mask>"};
    const char **names = t->kind == FAITH_TOK_WORDPIECE ? wp : bpe;
    int32_t *slot[5] = {&t->sp.pad, &t->sp.unk, &t->sp.cls, &t->sp.sep, &t->sp.mask};
    for (int i = 0; i < 5; i++) {
        *slot[i] = faith_tokenizer_token_to_id(t, names[i]);
        if (*slot[i] >= 0) add_added(t, names[i], *slot[i], 1, i == 4 && t->kind == FAITH_TOK_BPE, 0);
    }
    int32_t eot = faith_tokenizer_token_to_id(t, "<|endoftext|>"); /* GPT-2's one special */
    if (t->kind == FAITH_TOK_BPE && eot >= 0) add_added(t, "<|endoftext|>", eot, 1, 0, 0);
    if (t->kind == FAITH_TOK_WORDPIECE)
        t->frame = (t->sp.cls >= 0 && t->sp.sep >= 0) ? FAITH_FRAME_BERT : FAITH_FRAME_NONE;
    else
        t->frame = (t->sp.cls >= 0 && t->sp.sep >= 0) ? FAITH_FRAME_ROBERTA : FAITH_FRAME_NONE;
}

/* A special token value in a config file: "tok" or {"content": "tok", ...}. */
static const char *json_token(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v)) return v->valuestring;
    if (cJSON_IsObject(v)) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
        if (cJSON_IsString(c)) return c->valuestring;
    }
    return NULL;
}

/* Apply special_tokens_map.json / tokenizer_config.json from dir (either may be absent). */
static int apply_configs(faith_tokenizer *t, const char *dir, int from_tokenizer_json, faith_err *err)
{
    static const char *names[2] = {"special_tokens_map.json", "tokenizer_config.json"};
    static const char *keys[5] = {"pad_token", "unk_token", "cls_token", "sep_token", "mask_token"};
    static const char *bpe_keys[5] = {"pad_token", "unk_token", "bos_token", "eos_token", "mask_token"};
    for (int f = 0; f < 2; f++) {
        char *path = join_path(dir, names[f]);
        if (!file_exists(path)) {
            free(path);
            continue;
        }
        cJSON *j = read_json(path, err);
        if (!j) {
            free(path);
            return err ? err->code : FAITH_ERR_FORMAT;
        }
        add_file(t, path, names[f]);
        int32_t *slot[5] = {&t->sp.pad, &t->sp.unk, &t->sp.cls, &t->sp.sep, &t->sp.mask};
        for (int i = 0; i < 5; i++) {
            const char *tok = json_token(j, keys[i]);
            if (!tok && t->kind == FAITH_TOK_BPE) tok = json_token(j, bpe_keys[i]);
            if (!tok) continue;
            int32_t id = faith_tokenizer_token_to_id(t, tok);
            if (id < 0) continue; /* a name the vocabulary lacks changes nothing */
            *slot[i] = id;
            if (!from_tokenizer_json) add_added(t, tok, id, 1, 0, 0);
        }
        const cJSON *v;
        if (t->kind == FAITH_TOK_WORDPIECE) {
            if (cJSON_IsBool(v = cJSON_GetObjectItemCaseSensitive(j, "do_lower_case"))) {
                t->lowercase = cJSON_IsTrue(v);
                t->strip_accents = t->lowercase;
            }
            v = cJSON_GetObjectItemCaseSensitive(j, "strip_accents");
            if (cJSON_IsBool(v)) t->strip_accents = cJSON_IsTrue(v);
            v = cJSON_GetObjectItemCaseSensitive(j, "tokenize_chinese_chars");
            if (cJSON_IsBool(v)) t->chinese = cJSON_IsTrue(v);
        } else if (!from_tokenizer_json) {
            v = cJSON_GetObjectItemCaseSensitive(j, "add_prefix_space");
            if (cJSON_IsBool(v)) t->add_prefix_space = cJSON_IsTrue(v);
        }
        cJSON_Delete(j);
        free(path);
    }
    return FAITH_OK;
}

int faith_tokenizer_load_wordpiece(const char *vocab_txt, int do_lower_case, faith_tokenizer **out,
                                   faith_err *err)
{
    faith_tokenizer *t = tok_new(FAITH_TOK_WORDPIECE);
    int rc = faith_tok_wp_read_vocab(vocab_txt, &t->vocab, err);
    if (rc < 0) {
        faith_tokenizer_free(t);
        return rc;
    }
    t->lowercase = t->strip_accents = do_lower_case ? 1 : 0;
    add_file(t, vocab_txt, "vocab.txt");
    find_specials(t);
    if (t->sp.unk < 0) {
        faith_tokenizer_free(t);
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: no [UNK] token in the vocabulary", vocab_txt);
    }
    *out = t;
    return FAITH_OK;
}

int faith_tokenizer_load_bpe(const char *vocab_json, const char *merges_txt, faith_tokenizer **out,
                             faith_err *err)
{
    faith_tokenizer *t = tok_new(FAITH_TOK_BPE);
    char **left = NULL, **right = NULL;
    int32_t nm = 0;
    int rc = FAITH_OK;
    cJSON *j = read_json(vocab_json, err);
    if (!j) {
        rc = err ? err->code : FAITH_ERR_FORMAT;
        goto cleanup;
    }
    if (!cJSON_IsObject(j)) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: expected a JSON object mapping tokens to ids", vocab_json);
        goto cleanup;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8 || e->valuedouble != floor(e->valuedouble)) {
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: key '%s': expected a token id", vocab_json,
                               e->string ? e->string : "?");
            goto cleanup;
        }
        int prc = faith_tok_vocab_put(&t->vocab, e->string, strlen(e->string), (int32_t)e->valuedouble);
        if (prc < 0) {
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: key '%s': %s %d", vocab_json, e->string,
                               prc == FAITH_ERR_RANGE ? "another token already has id" : "given twice, at id",
                               (int)e->valuedouble);
            goto cleanup;
        }
    }
    FAITH_CHECK(faith_tok_bpe_read_merges(merges_txt, &left, &right, &nm, err));
    FAITH_CHECK(faith_tok_bpe_init(t, (const char *const *)left, (const char *const *)right, nm,
                                   merges_txt, err));
    add_file(t, vocab_json, "vocab.json");
    add_file(t, merges_txt, "merges.txt");
    find_specials(t);
cleanup:
    for (int32_t i = 0; i < nm; i++) free(left[i]); /* right[i] points into left[i] */
    free(left);
    free(right);
    cJSON_Delete(j);
    if (rc < 0) faith_tokenizer_free(t);
    else *out = t;
    return rc;
}

/* ---------- tokenizer.json ---------- */

static int json_bool(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int tj_vocab(faith_tokenizer *t, const cJSON *model, const char *path, faith_err *err)
{
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    if (!cJSON_IsObject(vocab))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.vocab: expected an object", path);
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8 || e->valuedouble != floor(e->valuedouble))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.vocab['%s']: expected a token id",
                                 path, e->string);
        int prc = faith_tok_vocab_put(&t->vocab, e->string, strlen(e->string), (int32_t)e->valuedouble);
        if (prc < 0)
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.vocab['%s']: %s %d", path, e->string,
                                 prc == FAITH_ERR_RANGE ? "another token already has id" : "given twice, at id",
                                 (int)e->valuedouble);
    }
    if (t->vocab.n == 0) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.vocab is empty", path);
    return FAITH_OK;
}

static int tj_wordpiece(faith_tokenizer *t, const cJSON *root, const cJSON *model, const char *path,
                        faith_err *err)
{
    FAITH_TRY(tj_vocab(t, model, path, err));
    const char *unk = json_str(model, "unk_token");
    const char *prefix = json_str(model, "continuing_subword_prefix");
    if (prefix) {
        if (strlen(prefix) >= sizeof t->prefix)
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.continuing_subword_prefix too long", path);
        strcpy(t->prefix, prefix);
    }
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (cJSON_IsNumber(mc)) t->max_chars = mc->valueint;
    t->sp.unk = unk ? faith_tokenizer_token_to_id(t, unk) : -1;
    if (t->sp.unk < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.unk_token '%s' is not in the vocab", path,
                             unk ? unk : "(missing)");
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (cJSON_IsObject(norm)) {
        const char *type = json_str(norm, "type");
        if (!type || strcmp(type, "BertNormalizer") != 0)
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: normalizer.type '%s' is not supported "
                                 "(expected BertNormalizer)", path, type ? type : "(missing)");
        t->clean_text = json_bool(norm, "clean_text", 1);
        t->chinese = json_bool(norm, "handle_chinese_chars", 1);
        t->lowercase = json_bool(norm, "lowercase", 1);
        t->strip_accents = json_bool(norm, "strip_accents", t->lowercase); /* null: follow lowercase */
    } else {
        t->clean_text = t->chinese = t->lowercase = t->strip_accents = 0;
    }
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const char *ptype = cJSON_IsObject(pre) ? json_str(pre, "type") : NULL;
    if (!ptype || strcmp(ptype, "BertPreTokenizer") != 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: pre_tokenizer.type '%s' is not supported "
                             "for WordPiece (expected BertPreTokenizer)", path, ptype ? ptype : "(missing)");
    return FAITH_OK;
}

static int tj_bpe(faith_tokenizer *t, const cJSON *root, const cJSON *model, const char *path,
                  faith_err *err)
{
    FAITH_TRY(tj_vocab(t, model, path, err));
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    if (!cJSON_IsArray(merges))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.merges: expected an array", path);
    int32_t n = cJSON_GetArraySize(merges), k = 0;
    const char **left = faith_xcalloc((size_t)n + 1, sizeof *left);
    const char **right = faith_xcalloc((size_t)n + 1, sizeof *right);
    char **owned = faith_xcalloc((size_t)n + 1, sizeof *owned);
    int rc = FAITH_OK;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges)
    {
        if (cJSON_IsString(m)) { /* "a b" */
            char *sp = strchr(m->valuestring, ' ');
            if (!sp) {
                rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.merges[%d]: expected \"a b\"", path, k);
                break;
            }
            owned[k] = faith_xstrdup(m->valuestring);
            owned[k][sp - m->valuestring] = '\0';
            left[k] = owned[k];
            right[k] = owned[k] + (sp - m->valuestring) + 1;
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
                   cJSON_IsString(cJSON_GetArrayItem(m, 0)) && cJSON_IsString(cJSON_GetArrayItem(m, 1))) {
            left[k] = cJSON_GetArrayItem(m, 0)->valuestring;
            right[k] = cJSON_GetArrayItem(m, 1)->valuestring;
        } else {
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.merges[%d]: expected \"a b\" or [a, b]", path, k);
            break;
        }
        k++;
    }
    if (rc == FAITH_OK) rc = faith_tok_bpe_init(t, left, right, n, path, err);
    for (int32_t i = 0; i < n; i++) free(owned[i]);
    free(owned);
    free(left);
    free(right);
    FAITH_TRY(rc);
    const char *unk = json_str(model, "unk_token");
    if (unk) t->sp.unk = faith_tokenizer_token_to_id(t, unk);
    /* Options that would change the pieces are either followed or refused, never ignored. */
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (cJSON_IsNumber(v) && v->valuedouble != 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.dropout %g is not supported (BPE dropout samples "
                             "merges at random; expected null or 0)", path, v->valuedouble);
    if (json_bool(model, "byte_fallback", 0))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.byte_fallback true is not supported (a "
                             "byte-level BPE never falls back)", path);
    static const char *const affixes[2] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        const char *a = json_str(model, affixes[k]);
        if (a && a[0])
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.%s '%s' is not supported for byte-level BPE "
                                 "(expected null or \"\")", path, affixes[k], a);
    }
    t->ignore_merges = json_bool(model, "ignore_merges", 0);
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    const char *ptype = cJSON_IsObject(pre) ? json_str(pre, "type") : NULL;
    if (!ptype || strcmp(ptype, "ByteLevel") != 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: pre_tokenizer.type '%s' is not supported "
                             "for BPE (expected ByteLevel)", path, ptype ? ptype : "(missing)");
    t->add_prefix_space = json_bool(pre, "add_prefix_space", 0);
    t->use_regex = json_bool(pre, "use_regex", 1);
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (cJSON_IsObject(norm))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: normalizer '%s' is not supported for BPE", path,
                             json_str(norm, "type") ? json_str(norm, "type") : "?");
    return FAITH_OK;
}

/* Framing from post_processor: TemplateProcessing/BertProcessing give [CLS] a [SEP] (b [SEP]),
 * RobertaProcessing gives <s> a </s></s> b </s>, ByteLevel or none gives no specials. */
static int tj_post(faith_tokenizer *t, const cJSON *root, const char *path, faith_err *err)
{
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(root, "post_processor");
    t->frame = FAITH_FRAME_NONE;
    if (!cJSON_IsObject(post)) return FAITH_OK;
    const char *type = json_str(post, "type");
    if (!type) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: post_processor.type missing", path);
    if (strcmp(type, "ByteLevel") == 0) return FAITH_OK;
    const char *cls = NULL, *sep = NULL;
    if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(post, "cls");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(post, "sep");
        if (cJSON_IsArray(c) && cJSON_IsString(cJSON_GetArrayItem(c, 0))) cls = cJSON_GetArrayItem(c, 0)->valuestring;
        if (cJSON_IsArray(s) && cJSON_IsString(cJSON_GetArrayItem(s, 0))) sep = cJSON_GetArrayItem(s, 0)->valuestring;
        t->frame = type[0] == 'B' ? FAITH_FRAME_BERT : FAITH_FRAME_ROBERTA;
    } else if (strcmp(type, "TemplateProcessing") == 0) {
        /* Only the [first special] $A [last special] shape is supported: the first and last
         * SpecialToken of "single" are taken as cls and sep. */
        const cJSON *single = cJSON_GetObjectItemCaseSensitive(post, "single"), *p;
        cJSON_ArrayForEach(p, single)
        {
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(p, "SpecialToken");
            const char *id = st ? json_str(st, "id") : NULL;
            if (!id) continue;
            if (!cls && p == single->child) cls = id;
            else sep = id;
        }
        t->frame = FAITH_FRAME_BERT;
    } else {
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: post_processor.type '%s' is not supported", path, type);
    }
    t->sp.cls = cls ? faith_tokenizer_token_to_id(t, cls) : -1;
    t->sp.sep = sep ? faith_tokenizer_token_to_id(t, sep) : -1;
    if (t->sp.cls < 0 || t->sp.sep < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: post_processor: special tokens '%s'/'%s' not in "
                             "the vocab", path, cls ? cls : "?", sep ? sep : "?");
    return FAITH_OK;
}

static int tj_added(faith_tokenizer *t, const cJSON *root, const char *path, faith_err *err)
{
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), *a;
    cJSON_ArrayForEach(a, added)
    {
        const char *content = json_str(a, "content");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(a, "id");
        if (!content || !cJSON_IsNumber(id))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: added_tokens: entry without content/id", path);
        if (id->valuedouble < 0 || id->valuedouble > 1e8 || id->valuedouble != floor(id->valuedouble))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: added_tokens: '%s' has id %g, expected an integer in "
                                 "[0, 1e8]", path, content, id->valuedouble);
        static const char *const flags[5] = {"special", "lstrip", "rstrip", "single_word", "normalized"};
        for (int f = 0; f < 5; f++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, flags[f]);
            if (v && !cJSON_IsBool(v))
                return faith_err_set(err, FAITH_ERR_FORMAT, "%s: added_tokens: '%s' has %s of the wrong type, "
                                     "expected true or false", path, content, flags[f]);
        }
        int32_t i = (int32_t)id->valuedouble;
        if (faith_tokenizer_id_to_token(t, i) == NULL) faith_tok_vocab_put(&t->vocab, content, strlen(content), i);
        int special = json_bool(a, "special", 0);
        faith_tok_added *ad = add_added(t, content, i, special, json_bool(a, "lstrip", 0), json_bool(a, "rstrip", 0));
        if (ad) {
            ad->single_word = (uint8_t)json_bool(a, "single_word", 0);
            ad->normalized = (uint8_t)json_bool(a, "normalized", !special); /* AddedToken's default */
        }
    }
    /* pad/mask (and unk for BPE) by their usual names; cls/sep came from the post-processor */
    const char *pad = t->kind == FAITH_TOK_WORDPIECE ? "[PAD]" : "<pad>";
    const char *mask = t->kind == FAITH_TOK_WORDPIECE ? "[MASK]" : "<mask>";
    t->sp.pad = faith_tokenizer_token_to_id(t, pad);
    t->sp.mask = faith_tokenizer_token_to_id(t, mask);
    if (t->kind == FAITH_TOK_BPE && t->sp.unk < 0) t->sp.unk = faith_tokenizer_token_to_id(t, "<unk>");
    if (t->frame == FAITH_FRAME_NONE && t->kind == FAITH_TOK_BPE) {
        t->sp.cls = faith_tokenizer_token_to_id(t, "<s>");
        t->sp.sep = faith_tokenizer_token_to_id(t, "</s>");
    }
    return FAITH_OK;
}

static int load_tokenizer_json(const char *path, faith_tokenizer **out, faith_err *err)
{
    cJSON *root = read_json(path, err);
    if (!root) return err ? err->code : FAITH_ERR_FORMAT;
    int rc = FAITH_OK;
    faith_tokenizer *t = NULL;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const char *type = cJSON_IsObject(model) ? json_str(model, "type") : NULL;
    if (!type && cJSON_IsObject(model))
        type = cJSON_GetObjectItemCaseSensitive(model, "merges") ? "BPE" : "WordPiece";
    if (!type) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: 'model' object missing", path);
        goto cleanup;
    }
    if (strcmp(type, "WordPiece") == 0) {
        t = tok_new(FAITH_TOK_WORDPIECE);
        FAITH_CHECK(tj_wordpiece(t, root, model, path, err));
    } else if (strcmp(type, "BPE") == 0) {
        t = tok_new(FAITH_TOK_BPE);
        FAITH_CHECK(tj_bpe(t, root, model, path, err));
    } else {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: model.type '%s' is not supported (expected "
                           "WordPiece or BPE)", path, type);
        goto cleanup;
    }
    FAITH_CHECK(tj_post(t, root, path, err));
    FAITH_CHECK(tj_added(t, root, path, err));
    add_file(t, path, "tokenizer.json");
cleanup:
    cJSON_Delete(root);
    if (rc < 0) faith_tokenizer_free(t);
    else *out = t;
    return rc;
}

int faith_tokenizer_exists(const char *dir)
{
    char *tj = join_path(dir, "tokenizer.json"), *vt = join_path(dir, "vocab.txt");
    char *vj = join_path(dir, "vocab.json"), *mt = join_path(dir, "merges.txt");
    int found = file_exists(tj) || file_exists(vt) || (file_exists(vj) && file_exists(mt));
    free(tj), free(vt), free(vj), free(mt);
    return found;
}

int faith_tokenizer_load(const char *dir, faith_tokenizer **out, faith_err *err)
{
    char *tj = join_path(dir, "tokenizer.json"), *vt = join_path(dir, "vocab.txt");
    char *vj = join_path(dir, "vocab.json"), *mt = join_path(dir, "merges.txt");
    int rc, from_json = 0;
    faith_tokenizer *t = NULL;
    if (file_exists(tj)) {
        rc = load_tokenizer_json(tj, &t, err);
        from_json = 1;
    } else if (file_exists(vt)) {
        rc = faith_tokenizer_load_wordpiece(vt, 1, &t, err);
    } else if (file_exists(vj) && file_exists(mt)) {
        rc = faith_tokenizer_load_bpe(vj, mt, &t, err);
    } else {
        rc = faith_err_set(err, FAITH_ERR_IO, "%s: no tokenizer found (looked for tokenizer.json, "
                           "vocab.txt, vocab.json + merges.txt)", dir);
    }
    if (rc == FAITH_OK) rc = apply_configs(t, dir, from_json, err);
    if (rc == FAITH_OK && t->kind == FAITH_TOK_WORDPIECE) faith_tok_wp_prepare_added(t);
    free(tj);
    free(vt);
    free(vj);
    free(mt);
    if (rc < 0) {
        faith_tokenizer_free(t);
        return rc;
    }
    *out = t;
    return FAITH_OK;
}

/* ---------- accessors and save ---------- */

int32_t faith_tokenizer_vocab_size(const faith_tokenizer *t)
{
    return t->vocab.n;
}

const char *faith_tokenizer_id_to_token(const faith_tokenizer *t, int32_t id)
{
    return (id >= 0 && id < t->vocab.n) ? t->vocab.tokens[id] : NULL;
}

int32_t faith_tokenizer_token_to_id(const faith_tokenizer *t, const char *token)
{
    return faith_tok_vocab_get(&t->vocab, token, strlen(token));
}

faith_special_ids faith_tokenizer_special(const faith_tokenizer *t)
{
    return t->sp;
}

const char *faith_tokenizer_kind(const faith_tokenizer *t)
{
    return t->kind == FAITH_TOK_WORDPIECE ? "wordpiece" : "bpe";
}

static int copy_file(const char *src, const char *dst, faith_err *err)
{
    char *buf;
    size_t len;
    FAITH_TRY(faith_read_file(src, &buf, &len, err));
    FILE *f = fopen(dst, "wb");
    if (!f) {
        free(buf);
        return faith_err_set(err, FAITH_ERR_IO, "%s: cannot create: %s", dst, strerror(errno));
    }
    size_t wrote = fwrite(buf, 1, len, f);
    int bad = (wrote != len) | (fclose(f) != 0);
    free(buf);
    if (bad) return faith_err_set(err, FAITH_ERR_IO, "%s: write failed", dst);
    return FAITH_OK;
}

int faith_tokenizer_save(const faith_tokenizer *t, const char *dir, faith_err *err)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return faith_err_set(err, FAITH_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    for (int i = 0; i < t->n_files; i++) {
        char *dst = join_path(dir, t->names[i]);
        struct stat a, b;
        int same = stat(t->files[i], &a) == 0 && stat(dst, &b) == 0 && a.st_dev == b.st_dev &&
                   a.st_ino == b.st_ino;
        int rc = same ? FAITH_OK : copy_file(t->files[i], dst, err);
        free(dst);
        FAITH_TRY(rc);
    }
    return FAITH_OK;
}
