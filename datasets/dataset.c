/* dataset.c: format dispatch (explicit or by extension/layout), the shared hashing line reader,
 * example storage and the label-name policy used by every loader. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader.h"
#include "unicode.h"

const char *const faith_ds_mnli_labels[3] = {"entailment", "neutral", "contradiction"};
const char *const faith_ds_sentiment_labels[2] = {"negative", "positive"};
static const char *const ERASER_LABELS[2] = {"NEG", "POS"};

/* ---- reader ---- */

int faith_ds_reader_open(faith_ds_reader *r, const char *path, faith_sha256 *sha, faith_err *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->sha = sha;
    r->f = fopen(path, "rb");
    if (!r->f) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    return FAITH_OK;
}

/* Every loader's text must be UTF-8 without NUL bytes: a NUL would silently cut the line short, and
 * invalid bytes would only be caught later by the tokenizer, which no longer knows the file and line. */
static int check_text(const faith_ds_reader *r, const char *s, size_t n, faith_err *err)
{
    const char *nul = memchr(s, '\0', n);
    if (nul)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: NUL byte at column %ld (expected UTF-8 text)",
                             r->path, (long long)r->lineno, (long)(nul - s) + 1);
    long bad = faith_utf8_invalid_at(s, n);
    if (bad >= 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: invalid UTF-8 at column %ld (byte 0x%02X)",
                             r->path, (long long)r->lineno, bad + 1, (unsigned)(unsigned char)s[bad]);
    return FAITH_OK;
}

int faith_ds_reader_next(faith_ds_reader *r, char **line, size_t *len, faith_err *err)
{
    for (;;) {
        ssize_t got = getline(&r->buf, &r->cap, r->f);
        if (got < 0) {
            if (ferror(r->f)) return faith_err_set(err, FAITH_ERR_IO, "%s: read error", r->path);
            return 0;
        }
        faith_sha256_update(r->sha, r->buf, (size_t)got);
        r->lineno++;
        char *s = r->buf;
        size_t n = (size_t)got;
        if (n > 0 && s[n - 1] == '\n') n--;
        if (n > 0 && s[n - 1] == '\r') n--;
        s[n] = '\0';
        if (r->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            n -= 3;
        }
        if (n == 0) {
            if (!r->blank_lineno) r->blank_lineno = r->lineno;
            continue;
        }
        if (r->blank_lineno)
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s:%lld: empty line followed by more data at line %lld (empty lines "
                                 "are allowed only at the end of the file)",
                                 r->path, (long long)r->blank_lineno, (long long)r->lineno);
        FAITH_TRY(check_text(r, s, n, err));
        *line = s;
        *len = n;
        return 1;
    }
}

int faith_ds_reader_drain(faith_ds_reader *r, faith_err *err)
{
    char buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, r->f)) > 0) faith_sha256_update(r->sha, buf, got);
    if (ferror(r->f)) return faith_err_set(err, FAITH_ERR_IO, "%s: read error", r->path);
    return FAITH_OK;
}

void faith_ds_reader_close(faith_ds_reader *r)
{
    if (r->f) fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof *r);
}

/* ---- examples ---- */

faith_example *faith_ds_push(faith_dataset *d, int64_t *cap)
{
    if (d->n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        d->ex = faith_xrealloc(d->ex, (size_t)*cap * sizeof *d->ex);
    }
    faith_example *e = &d->ex[d->n];
    memset(e, 0, sizeof *e);
    e->id = d->n++;
    e->label = -1;
    return e;
}

void faith_ds_count(faith_example *e)
{
    e->n_words = faith_count_words(e->text) + faith_count_words(e->pair);
}

/* ---- labels ---- */

static int32_t find_name(const faith_dataset *d, const char *s)
{
    for (int32_t i = 0; i < d->n_labels; i++)
        if (strcmp(d->labels[i], s) == 0) return i;
    return -1;
}

static void set_names(faith_dataset *d, const char *const *names, int32_t n)
{
    for (int32_t i = 0; i < n; i++) d->labels[i] = faith_xstrdup(names[i]);
    d->n_labels = n;
}

/* Known sets whose order is fixed by convention, not by which name happens to come first. */
static int adopt_known_set(faith_dataset *d, const char *s)
{
    static const struct {
        const char *const *names;
        int32_t n;
    } known[] = {{faith_ds_mnli_labels, 3}, {faith_ds_sentiment_labels, 2}, {ERASER_LABELS, 2}};
    for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
        for (int32_t i = 0; i < known[k].n; i++)
            if (strcmp(known[k].names[i], s) == 0) {
                set_names(d, known[k].names, known[k].n);
                return 1;
            }
    return 0;
}

static void list_names(const faith_dataset *d, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < d->n_labels && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", d->labels[i]);
}

int faith_ds_labels_init(faith_ds_labels *L, faith_dataset *d, const faith_dataset_spec *spec,
                         faith_err *err)
{
    memset(L, 0, sizeof *L);
    L->d = d;
    L->max_num = -1;
    if (spec->label_names && spec->n_label_names > 0) {
        if (spec->n_label_names > FAITH_DS_MAX_LABELS)
            return faith_err_set(err, FAITH_ERR_ARG, "%s: %d label names given, at most %d supported",
                                 spec->path, spec->n_label_names, FAITH_DS_MAX_LABELS);
        set_names(d, spec->label_names, spec->n_label_names);
        L->given = L->fixed = 1;
    }
    return FAITH_OK;
}

/* Strict integer: optional '-', then digits only (" 1" or "1.0" are names, and then errors). */
static int strict_int(const char *s, int64_t *out)
{
    const char *p = s + (*s == '-');
    if (!*p || strlen(p) > 9) return 0;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return 0;
    *out = strtoll(s, NULL, 10);
    return 1;
}

int faith_ds_check_labeled(const faith_dataset_spec *spec, const faith_example *e, const char *where,
                           faith_err *err)
{
    if (!spec->require_labels || e->label >= 0) return FAITH_OK;
    return faith_err_set(err, FAITH_ERR_FORMAT, "%s: example has no label (every example here needs one)", where);
}

int faith_ds_label_num(faith_ds_labels *L, int64_t v, const char *where, int32_t *out, faith_err *err)
{
    faith_dataset *d = L->d;
    if (v == -1) {
        *out = -1;
        return FAITH_OK;
    }
    if (L->given) {
        if (v < 0 || v >= d->n_labels)
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s: label %lld out of range (expected 0..%d for the %d label names given)",
                                 where, (long long)v, d->n_labels - 1, d->n_labels);
        *out = (int32_t)v;
        return FAITH_OK;
    }
    if (L->mode == 2)
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: numeric label %lld after label names (give label names to mix them)",
                             where, (long long)v);
    if (v < 0 || v >= FAITH_DS_MAX_LABELS)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: label %lld out of range (expected -1..%d)",
                             where, (long long)v, FAITH_DS_MAX_LABELS - 1);
    L->mode = 1;
    if (v > L->max_num) L->max_num = (int32_t)v;
    *out = (int32_t)v;
    return FAITH_OK;
}

int faith_ds_label_str(faith_ds_labels *L, const char *s, const char *where, int32_t *out,
                       faith_err *err)
{
    faith_dataset *d = L->d;
    int64_t v;
    if (strict_int(s, &v)) return faith_ds_label_num(L, v, where, out, err);
    if (!*s) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: empty label (expected a number or a name)", where);
    if (!L->given && L->mode == 1)
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: non-numeric label '%s' (earlier labels were numbers; expected an integer)",
                             where, s);
    if (!L->fixed && L->mode == 0 && adopt_known_set(d, s)) L->fixed = 1;
    if (!L->given) L->mode = 2;
    int32_t i = find_name(d, s);
    if (i >= 0) {
        *out = i;
        return FAITH_OK;
    }
    if (L->fixed) {
        char names[512];
        list_names(d, names, sizeof names);
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: unknown label name '%s' (expected one of: %s)",
                             where, s, names);
    }
    if (d->n_labels >= FAITH_DS_MAX_LABELS)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: label '%s' is the %dth distinct label (at most %d)",
                             where, s, d->n_labels + 1, FAITH_DS_MAX_LABELS);
    d->labels[d->n_labels] = faith_xstrdup(s);
    *out = d->n_labels++;
    return FAITH_OK;
}

void faith_ds_labels_finish(faith_ds_labels *L, int has_pair)
{
    faith_dataset *d = L->d;
    if (L->given || L->mode == 2) return;
    const char *const *defaults = NULL;
    int32_t n = L->max_num + 1;
    if (!has_pair && L->max_num <= 1) defaults = faith_ds_sentiment_labels, n = 2;
    if (has_pair && (L->max_num == 2 || L->max_num == -1)) defaults = faith_ds_mnli_labels, n = 3;
    for (int32_t i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        d->labels[i] = faith_xstrdup(defaults ? defaults[i] : num);
    }
    d->n_labels = n;
}

/* ---- dispatch ---- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* An ERASER split file given directly: a .jsonl next to a docs/ directory. */
static int is_eraser_split_file(const char *path)
{
    if (!ends_with(path, ".jsonl")) return 0;
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    char docs[4096];
    if (snprintf(docs, sizeof docs, "%.*s%sdocs", (int)dlen, path, slash ? "/" : "") >= (int)sizeof docs)
        return 0;
    return is_dir(docs);
}

static const char *resolve_format(const faith_dataset_spec *spec)
{
    if (spec->format && *spec->format && strcmp(spec->format, "auto") != 0) return spec->format;
    const char *p = spec->path;
    if (is_dir(p)) return "eraser";
    if (is_eraser_split_file(p)) return "eraser";
    if (ends_with(p, ".tsv")) return "glue_tsv";
    if (ends_with(p, ".jsonl")) return "jsonl";
    return "sentence";
}

int faith_dataset_load(const faith_dataset_spec *spec, faith_dataset **out, faith_err *err)
{
    *out = NULL;
    if (!spec || !spec->path || !*spec->path)
        return faith_err_set(err, FAITH_ERR_ARG, "dataset: no path given");
    const char *fmt = resolve_format(spec);
    static const struct {
        const char *name;
        int (*load)(const faith_dataset_spec *, faith_dataset *, faith_err *);
    } loaders[] = {{"glue_tsv", faith_ds_load_glue_tsv},
                   {"jsonl", faith_ds_load_jsonl},
                   {"sentence", faith_ds_load_sentence},
                   {"eraser", faith_ds_load_eraser}};
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++) {
        if (strcmp(fmt, loaders[i].name) != 0) continue;
        faith_dataset *d = faith_xcalloc(1, sizeof *d);
        snprintf(d->format, sizeof d->format, "%s", fmt);
        int rc = loaders[i].load(spec, d, err);
        if (rc < 0) {
            faith_dataset_free(d);
            return rc;
        }
        for (int64_t k = 0; k < d->n; k++)
            if (d->ex[k].rationale) d->has_rationales = 1;
        *out = d;
        return FAITH_OK;
    }
    return faith_err_set(err, FAITH_ERR_ARG,
                         "%s: unknown dataset format '%s' (expected glue_tsv, jsonl, sentence, eraser or auto)",
                         spec->path, fmt);
}

void faith_dataset_free(faith_dataset *d)
{
    if (!d) return;
    for (int64_t i = 0; i < d->n; i++) {
        free(d->ex[i].text);
        free(d->ex[i].pair);
        free(d->ex[i].rationale);
    }
    free(d->ex);
    for (int32_t i = 0; i < d->n_labels; i++) free(d->labels[i]);
    free(d);
}
