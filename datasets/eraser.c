/* eraser.c: ERASER layout (docs/<docid> + <split>.jsonl with annotation_id, classification and
 * evidence spans in whole-document whitespace tokens); text = the doc's tokens joined by spaces. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "loader.h"
#include "unicode.h"

typedef struct span {
    int64_t start, end; /* [start, end) whitespace tokens of the document */
} span;

/* What the split file says about one example, kept until the docs are read (the split file is
 * hashed before any doc). */
typedef struct pending {
    char *docid;
    int64_t lineno;
    span *spans;
    int n_spans;
} pending;

static int get_i64(const cJSON *obj, const char *key, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    /* range first: casting an out-of-range double to int64_t is undefined */
    if (!cJSON_IsNumber(v) || !(fabs(v->valuedouble) < 9e15) ||
        v->valuedouble != (double)(int64_t)v->valuedouble)
        return 0;
    *out = (int64_t)v->valuedouble;
    return 1;
}

/* docids[0] when given (test split), else the annotation id (movies: one doc per review). */
static int pick_docid(const cJSON *obj, const char *where, char **out, faith_err *err)
{
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(obj, "docids");
    const cJSON *v = cJSON_IsArray(ids) && cJSON_GetArraySize(ids) > 0 ? cJSON_GetArrayItem(ids, 0)
                                                                       : cJSON_GetObjectItemCaseSensitive(obj, "annotation_id");
    if (!cJSON_IsString(v) || !*v->valuestring)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing annotation_id (expected a string)", where);
    if (strchr(v->valuestring, '/') || strcmp(v->valuestring, "..") == 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: docid '%s' is not a plain file name", where,
                             v->valuestring);
    *out = faith_xstrdup(v->valuestring);
    return FAITH_OK;
}

static int parse_evidences(const cJSON *obj, pending *p, const char *where, faith_err *err)
{
    const cJSON *groups = cJSON_GetObjectItemCaseSensitive(obj, "evidences");
    if (!groups || cJSON_IsNull(groups)) return FAITH_OK;
    if (!cJSON_IsArray(groups))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: evidences must be a list of lists", where);
    int cap = 0;
    const cJSON *g, *ev;
    cJSON_ArrayForEach(g, groups)
    {
        if (!cJSON_IsArray(g))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: evidences must be a list of lists", where);
        cJSON_ArrayForEach(ev, g)
        {
            const cJSON *doc = cJSON_GetObjectItemCaseSensitive(ev, "docid");
            span s;
            if (!cJSON_IsString(doc) || !get_i64(ev, "start_token", &s.start) || !get_i64(ev, "end_token", &s.end))
                return faith_err_set(err, FAITH_ERR_FORMAT,
                                     "%s: evidence needs docid (a string), start_token and end_token (integers)",
                                     where);
            if (strcmp(doc->valuestring, p->docid) != 0)
                return faith_err_set(err, FAITH_ERR_FORMAT,
                                     "%s: evidence in document '%s', expected '%s' (multi-document "
                                     "examples are not supported)", where, doc->valuestring, p->docid);
            if (p->n_spans == cap) {
                cap = cap ? cap * 2 : 8;
                p->spans = faith_xrealloc(p->spans, (size_t)cap * sizeof *p->spans);
            }
            p->spans[p->n_spans++] = s;
        }
    }
    return FAITH_OK;
}

static int parse_line(const char *line, const char *where, pending *p, int32_t *label, faith_ds_labels *L,
                      faith_err *err)
{
    cJSON *obj;
    FAITH_TRY(faith_json_parse(line, strlen(line), where, &obj, err));
    int rc = FAITH_OK;
    const cJSON *cls = cJSON_GetObjectItemCaseSensitive(obj, "classification");
    *label = -1;
    if (!cJSON_IsObject(obj)) rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: expected a JSON object", where);
    else if (cls && !cJSON_IsNull(cls) && !cJSON_IsString(cls))
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: classification must be a string", where);
    if (rc == FAITH_OK) rc = pick_docid(obj, where, &p->docid, err);
    if (rc == FAITH_OK && cJSON_IsString(cls)) rc = faith_ds_label_str(L, cls->valuestring, where, label, err);
    if (rc == FAITH_OK) rc = parse_evidences(obj, p, where, err);
    cJSON_Delete(obj);
    return rc;
}

/* Docs must be UTF-8 text without NUL bytes, like split files (dataset.c): say where one is not,
 * since the tokenizer would only know the example number. */
static int check_doc(const char *path, const char *buf, size_t n, faith_err *err)
{
    const char *nul = memchr(buf, '\0', n);
    long bad = nul ? (long)(nul - buf) : faith_utf8_invalid_at(buf, n);
    if (bad < 0) return FAITH_OK;
    long line = 1, col = 1;
    for (long i = 0; i < bad; i++, col++)
        if (buf[i] == '\n') line++, col = 0;
    if (nul)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%ld: NUL byte at column %ld (expected UTF-8 text)", path,
                             line, col);
    return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%ld: invalid UTF-8 at column %ld (byte 0x%02X)", path, line,
                         col, (unsigned)(unsigned char)buf[bad]);
}

/* Read a doc (hashing it), set e->text to its tokens joined by single spaces. */
static int read_doc(const char *dir, const char *docid, faith_sha256 *sha, faith_example *e, faith_err *err)
{
    size_t plen = strlen(dir) + strlen(docid) + 8;
    char *path = faith_xmalloc(plen);
    snprintf(path, plen, "%s/docs/%s", dir, docid);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = faith_err_set(err, FAITH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    size_t cap = 1 << 14, n = 0, got;
    char *buf = faith_xmalloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        faith_sha256_update(sha, buf + n, got);
        n += got;
        if (n == cap) buf = faith_xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    int rc = bad ? faith_err_set(err, FAITH_ERR_IO, "%s: read error", path) : check_doc(path, buf, n, err);
    if (rc < 0) {
        free(buf);
        free(path);
        return rc;
    }
    free(path);
    char *out = faith_xmalloc(n + 1);
    size_t m = 0;
    /* the separators of faith_count_words, so evidence token indices are word indices */
    for (size_t i = 0, sp; i < n;) {
        while (i < n && (sp = (size_t)faith_uc_word_space_at(buf + i, n - i)) > 0) i += sp;
        if (i >= n) break;
        if (m) out[m++] = ' ';
        while (i < n && faith_uc_word_space_at(buf + i, n - i) == 0) out[m++] = buf[i++];
    }
    out[m] = '\0';
    free(buf);
    e->text = out;
    return FAITH_OK;
}

static int finish_example(const char *dir, const char *split_path, const pending *p, faith_sha256 *sha,
                          faith_example *e, faith_err *err)
{
    FAITH_TRY(read_doc(dir, p->docid, sha, e, err));
    faith_ds_count(e);
    e->rationale = faith_xcalloc((size_t)e->n_words + 1, 1);
    for (int k = 0; k < p->n_spans; k++) {
        span s = p->spans[k];
        /* empty spans (start == end, text "") occur in the ERASER movies test split */
        if (s.start < 0 || s.start > s.end || s.end > e->n_words)
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s:%lld: evidence [%lld, %lld) outside document '%s' of %d tokens "
                                 "(expected 0 <= start_token <= end_token <= %d)",
                                 split_path, (long long)p->lineno, (long long)s.start, (long long)s.end,
                                 p->docid, e->n_words, e->n_words);
        memset(e->rationale + s.start, 1, (size_t)(s.end - s.start));
    }
    return FAITH_OK;
}

/* Directory + split name, or a split file next to docs/. */
static void resolve_paths(const faith_dataset_spec *spec, char *dir, char *file, size_t cap)
{
    struct stat st;
    if (stat(spec->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(dir, cap, "%s", spec->path);
        snprintf(file, cap, "%s/%s.jsonl", spec->path, spec->split && *spec->split ? spec->split : "test");
        return;
    }
    snprintf(file, cap, "%s", spec->path);
    const char *slash = strrchr(spec->path, '/');
    if (slash) snprintf(dir, cap, "%.*s", (int)(slash - spec->path), spec->path);
    else snprintf(dir, cap, ".");
}

static int read_split(const char *file, const faith_dataset_spec *spec, faith_sha256 *sha, pending **out,
                      int64_t *n_out, faith_dataset *d, int64_t *cap, faith_ds_labels *L, faith_err *err)
{
    faith_ds_reader r;
    FAITH_TRY(faith_ds_reader_open(&r, file, sha, err));
    int rc;
    char *line;
    size_t len;
    pending *ps = NULL;
    int64_t n = 0;
    while ((rc = faith_ds_reader_next(&r, &line, &len, err)) == 1) {
        if (spec->limit > 0 && n >= spec->limit) {
            rc = faith_ds_reader_drain(&r, err);
            break;
        }
        char where[4200];
        snprintf(where, sizeof where, "%s:%lld", file, (long long)r.lineno);
        ps = faith_xrealloc(ps, (size_t)(n + 1) * sizeof *ps);
        memset(&ps[n], 0, sizeof ps[n]);
        ps[n].lineno = r.lineno;
        faith_example *e = faith_ds_push(d, cap);
        rc = parse_line(line, where, &ps[n++], &e->label, L, err);
        if (rc == FAITH_OK) rc = faith_ds_check_labeled(spec, e, where, err);
        if (rc < 0) break;
    }
    faith_ds_reader_close(&r);
    *out = ps;
    *n_out = n;
    return rc < 0 ? rc : FAITH_OK;
}

int faith_ds_load_eraser(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err)
{
    char dir[4096], file[4096];
    resolve_paths(spec, dir, file, sizeof dir);
    faith_sha256 sha;
    faith_sha256_init(&sha);
    faith_ds_labels L;
    FAITH_TRY(faith_ds_labels_init(&L, d, spec, err));
    pending *ps = NULL;
    int64_t n = 0, cap = 0;
    int rc = read_split(file, spec, &sha, &ps, &n, d, &cap, &L, err);
    for (int64_t i = 0; rc == FAITH_OK && i < n; i++) rc = finish_example(dir, file, &ps[i], &sha, &d->ex[i], err);
    for (int64_t i = 0; i < n; i++) {
        free(ps[i].docid);
        free(ps[i].spans);
    }
    free(ps);
    if (rc < 0) return rc;
    faith_ds_labels_finish(&L, 0);
    faith_sha256_final_hex(&sha, d->sha256);
    return FAITH_OK;
}
