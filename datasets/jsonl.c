/* jsonl.c: JSON Lines examples: `text` or `premise`+`hypothesis`, `label` (integer or name), optional
 * `rationale` as [start,end) word spans or one 0/1 per word of text then pair. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "loader.h"

/* The first key present among names; NULL when none. */
static cJSON *first_key(cJSON *obj, const char *const *names, int n, const char **which)
{
    for (int i = 0; i < n; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
        if (v) {
            *which = names[i];
            return v;
        }
    }
    return NULL;
}

static int get_string(cJSON *obj, const char *given, const char *const *defaults, int n_def,
                      const char *what, const char *where, char **out, faith_err *err)
{
    const char *key = given;
    cJSON *v = given ? cJSON_GetObjectItemCaseSensitive(obj, given) : first_key(obj, defaults, n_def, &key);
    if (!v) {
        *out = NULL;
        if (given) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing %s key '%s'", where, what, given);
        return FAITH_OK;
    }
    if (!cJSON_IsString(v))
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key '%s' must be a string", where, key);
    *out = faith_xstrdup(v->valuestring);
    return FAITH_OK;
}

/* A JSON number that is an integer in [lo, hi]. */
static int get_int(const cJSON *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double x = v->valuedouble;
    if (!(x >= (double)lo && x <= (double)hi) || x != (double)(int64_t)x) return 0;
    *out = (int64_t)x;
    return 1;
}

static int parse_spans(const cJSON *arr, int32_t n_words, const char *where, uint8_t *r, faith_err *err)
{
    int k = 0;
    const cJSON *span;
    cJSON_ArrayForEach(span, arr)
    {
        int64_t s, e;
        if (!cJSON_IsArray(span) || cJSON_GetArraySize(span) != 2 ||
            !get_int(cJSON_GetArrayItem(span, 0), 0, n_words, &s) ||
            !get_int(cJSON_GetArrayItem(span, 1), 0, n_words, &e) || s > e)
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s: rationale span %d: expected [start, end) word indices with "
                                 "0 <= start <= end <= %d (the word count of the text)",
                                 where, k, n_words);
        memset(r + s, 1, (size_t)(e - s));
        k++;
    }
    return FAITH_OK;
}

static int parse_mask(const cJSON *arr, int32_t n_words, const char *where, uint8_t *r, faith_err *err)
{
    int n = cJSON_GetArraySize(arr);
    if (n != n_words)
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: rationale has %d entries, expected one 0/1 per word (%d words)", where,
                             n, n_words);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        int64_t b;
        if (!get_int(v, 0, 1, &b))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: rationale entry %d: expected 0 or 1", where, i);
        r[i++] = (uint8_t)b;
    }
    return FAITH_OK;
}

/* Spans when the first entry is a list (or the list is empty), else one 0/1 per word. */
static int parse_rationale(const cJSON *v, faith_example *e, const char *where, faith_err *err)
{
    if (!v || cJSON_IsNull(v)) return FAITH_OK;
    if (!cJSON_IsArray(v))
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: rationale must be a list of [start, end) spans or of 0/1 per word", where);
    e->rationale = faith_xcalloc((size_t)e->n_words + 1, 1);
    const cJSON *first = cJSON_GetArrayItem(v, 0);
    if (!first || cJSON_IsArray(first)) return parse_spans(v, e->n_words, where, e->rationale, err);
    return parse_mask(v, e->n_words, where, e->rationale, err);
}

static int parse_label(faith_ds_labels *L, const cJSON *v, const char *key, const char *where,
                       int32_t *out, faith_err *err)
{
    int64_t k;
    if (!v || cJSON_IsNull(v)) {
        *out = -1;
        return FAITH_OK;
    }
    if (cJSON_IsString(v)) return faith_ds_label_str(L, v->valuestring, where, out, err);
    if (get_int(v, -1000000, 1000000, &k)) return faith_ds_label_num(L, k, where, out, err);
    return faith_err_set(err, FAITH_ERR_FORMAT, "%s: key '%s' must be an integer or a label name", where, key);
}

/* cJSON keeps duplicate keys and lookups return the first: refuse them rather than guess. */
static int parse_line(const faith_dataset_spec *spec, const char *line, const char *where, faith_example *e,
                      faith_ds_labels *L, faith_err *err)
{
    static const char *const TEXT[] = {"text", "sentence", "sentence1", "premise"};
    static const char *const PAIR[] = {"hypothesis", "sentence2"};
    cJSON *obj;
    FAITH_TRY(faith_json_parse(line, strlen(line), where, &obj, err));
    int rc = FAITH_OK;
    if (!cJSON_IsObject(obj)) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: expected a JSON object", where);
        goto cleanup;
    }
    FAITH_CHECK(get_string(obj, spec->text_col, TEXT, 4, "text", where, &e->text, err));
    if (!e->text) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing text (expected key text, sentence, sentence1 or premise)",
                           where);
        goto cleanup;
    }
    FAITH_CHECK(get_string(obj, spec->pair_col, PAIR, 2, "pair", where, &e->pair, err));
    faith_ds_count(e);
    /* gold_label: raw MultiNLI/SNLI JSONL, whose "-" (no consensus) then fails as an unknown name */
    const char *lkey = spec->label_col ? spec->label_col : "label";
    cJSON *lab = cJSON_GetObjectItemCaseSensitive(obj, lkey);
    if (!lab && !spec->label_col) lab = cJSON_GetObjectItemCaseSensitive(obj, lkey = "gold_label");
    if (!lab && spec->label_col) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing label key '%s'", where, lkey);
        goto cleanup;
    }
    FAITH_CHECK(parse_label(L, lab, lkey, where, &e->label, err));
    FAITH_CHECK(faith_ds_check_labeled(spec, e, where, err));
    FAITH_CHECK(parse_rationale(cJSON_GetObjectItemCaseSensitive(obj, "rationale"), e, where, err));
cleanup:
    cJSON_Delete(obj);
    return rc;
}

int faith_ds_load_jsonl(const faith_dataset_spec *spec, faith_dataset *d, faith_err *err)
{
    faith_sha256 sha;
    faith_sha256_init(&sha);
    faith_ds_reader r;
    faith_ds_labels L;
    FAITH_TRY(faith_ds_labels_init(&L, d, spec, err));
    FAITH_TRY(faith_ds_reader_open(&r, spec->path, &sha, err));
    int64_t cap = 0;
    int any_pair = 0, rc;
    char *line;
    size_t len;
    while ((rc = faith_ds_reader_next(&r, &line, &len, err)) == 1) {
        if (spec->limit > 0 && d->n >= spec->limit) {
            rc = faith_ds_reader_drain(&r, err);
            break;
        }
        char where[1100];
        snprintf(where, sizeof where, "%s:%lld", r.path, (long long)r.lineno);
        faith_example *e = faith_ds_push(d, &cap);
        rc = parse_line(spec, line, where, e, &L, err);
        if (rc < 0) break;
        any_pair |= e->pair != NULL;
    }
    faith_ds_reader_close(&r);
    if (rc < 0) return rc;
    faith_ds_labels_finish(&L, any_pair);
    faith_sha256_final_hex(&sha, d->sha256);
    return FAITH_OK;
}
