/* glue_tsv.c: GLUE-style TSV (a header row names the columns; fields are raw, no quoting), as in
 * SST-2 `sentence\tlabel` and MNLI's 12-16 column files; a split without a label column is unlabeled. */
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#define MAX_COLS 64

/* Split line at tabs in place; returns the field count (may exceed cap: extra fields not stored). */
static int split_tabs(char *line, char **fields, int cap)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n < cap) fields[n] = p;
        n++;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int find_col(char **names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

/* Column given in the spec (must exist) or the first present among defaults (-1 if none). */
static int pick_col(char **names, int n, const char *given, const char *const *defaults, int n_def)
{
    if (given) return find_col(names, n, given);
    for (int i = 0; i < n_def; i++) {
        int c = find_col(names, n, defaults[i]);
        if (c >= 0) return c;
    }
    return -1;
}

static void header_list(char **names, int n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", names[i]);
}

typedef struct tsv_cols {
    int n, text, pair, label;
} tsv_cols;

static int read_header(faith_ds_reader *r, const faith_dataset_spec *spec, char **names, tsv_cols *c,
                       faith_err *err)
{
    static const char *const TEXT[] = {"sentence", "sentence1", "text", "premise"};
    static const char *const PAIR[] = {"sentence2", "hypothesis"};
    static const char *const LABEL[] = {"gold_label", "label"};
    char *line;
    size_t len;
    int rc = faith_ds_reader_next(r, &line, &len, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: empty file (expected a header row)", r->path);
    c->n = split_tabs(line, names, MAX_COLS);
    if (c->n > MAX_COLS)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: header has %d columns (at most %d)", r->path,
                             (long long)r->lineno, c->n, MAX_COLS);
    char cols[1024];
    header_list(names, c->n, cols, sizeof cols);
    c->text = pick_col(names, c->n, spec->text_col, TEXT, 4);
    if (c->text < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: missing text column '%s' in header (columns: %s)",
                             r->path, (long long)r->lineno,
                             spec->text_col ? spec->text_col : "sentence|sentence1|text|premise", cols);
    c->pair = pick_col(names, c->n, spec->pair_col, PAIR, 2);
    if (spec->pair_col && c->pair < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: missing pair column '%s' in header (columns: %s)",
                             r->path, (long long)r->lineno, spec->pair_col, cols);
    c->label = pick_col(names, c->n, spec->label_col, LABEL, 2);
    if (spec->label_col && c->label < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s:%lld: missing label column '%s' in header (columns: %s)",
                             r->path, (long long)r->lineno, spec->label_col, cols);
    return FAITH_OK;
}

static int read_rows(faith_ds_reader *r, const faith_dataset_spec *spec, const tsv_cols *c,
                     faith_dataset *d, faith_ds_labels *L, faith_err *err)
{
    int64_t cap = 0;
    char *fields[MAX_COLS];
    char *line;
    size_t len;
    int rc;
    while ((rc = faith_ds_reader_next(r, &line, &len, err)) == 1) {
        if (spec->limit > 0 && d->n >= spec->limit) return faith_ds_reader_drain(r, err);
        int n = split_tabs(line, fields, MAX_COLS);
        if (n != c->n)
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s:%lld: expected %d tab-separated columns (as in the header), got %d",
                                 r->path, (long long)r->lineno, c->n, n);
        faith_example *e = faith_ds_push(d, &cap);
        e->text = faith_xstrdup(fields[c->text]);
        if (c->pair >= 0) e->pair = faith_xstrdup(fields[c->pair]);
        faith_ds_count(e);
        char where[1100];
        snprintf(where, sizeof where, "%s:%lld", r->path, (long long)r->lineno);
        if (c->label >= 0) FAITH_TRY(faith_ds_label_str(L, fields[c->label], where, &e->label, err));
        FAITH_TRY(faith_ds_check_labeled(spec, e, where, err));
    }
    return rc;
}

int faith_ds_load_glue_tsv(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err)
{
    faith_sha256 sha;
    faith_sha256_init(&sha);
    faith_ds_reader r;
    faith_ds_labels L;
    FAITH_TRY(faith_ds_labels_init(&L, d, spec, err));
    FAITH_TRY(faith_ds_reader_open(&r, spec->path, &sha, err));
    char *names[MAX_COLS]; /* point into the reader's line buffer: valid during read_header only */
    tsv_cols c = {0, -1, -1, -1};
    int rc = read_header(&r, spec, names, &c, err);
    if (rc == FAITH_OK) rc = read_rows(&r, spec, &c, d, &L, err);
    faith_ds_reader_close(&r);
    if (rc < 0) return rc;
    faith_ds_labels_finish(&L, c.pair >= 0);
    faith_sha256_final_hex(&sha, d->sha256);
    return FAITH_OK;
}
