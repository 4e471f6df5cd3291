/* records.c: byte encoding of result records. Fixed little-endian layout so chunk files written on
 * one rank or machine decode identically anywhere; every length is checked against the bytes left. */
#include "records.h"

#include <stdlib.h>
#include <string.h>

void faith_buf_put(faith_buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        b->p = faith_xrealloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, src, n);
    b->n += n;
}

void faith_buf_free(faith_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* Integers and floats are stored little-endian byte by byte, independent of the host. */
static void put_u64(faith_buf *b, uint64_t v)
{
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    faith_buf_put(b, x, 8);
}
static void put_u32(faith_buf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++) x[i] = (uint8_t)(v >> (8 * i));
    faith_buf_put(b, x, 4);
}
static void put_i64(faith_buf *b, int64_t v) { put_u64(b, (uint64_t)v); }
static void put_i32(faith_buf *b, int32_t v) { put_u32(b, (uint32_t)v); }
static void put_f64(faith_buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(b, u);
}
static void put_f32(faith_buf *b, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    put_u32(b, u);
}
static void put_cost(faith_buf *b, const faith_cost *c)
{
    put_i64(b, c->forward), put_i64(b, c->backward), put_i64(b, c->sequences), put_i64(b, c->tokens);
}

void faith_record_encode(const faith_record *r, faith_buf *b)
{
    put_i64(b, r->id);
    put_i32(b, r->explainer), put_i32(b, r->label), put_i32(b, r->pred), put_i32(b, r->target);
    put_f64(b, r->prob), put_f64(b, r->completeness_gap), put_f64(b, r->delta_f);
    put_cost(b, &r->explain_cost), put_cost(b, &r->metric_cost);
    put_i32(b, r->n_values);
    for (int32_t i = 0; i < r->n_values; i++) put_f64(b, r->values[i]);
    put_i32(b, r->n);
    for (int32_t i = 0; i < r->n; i++) {
        put_i32(b, r->ids[i]), put_i32(b, r->word[i]), put_f32(b, r->scores[i]);
        const char *t = r->tokens && r->tokens[i] ? r->tokens[i] : "";
        uint32_t l = (uint32_t)strlen(t);
        put_u32(b, l);
        faith_buf_put(b, t, l);
    }
    put_i32(b, r->n_words);
    for (int32_t i = 0; i < r->n_words; i++) put_f32(b, r->word_scores[i]);
}

typedef struct rd {
    const uint8_t *p;
    size_t n, pos;
    int bad;
} rd;

static const uint8_t *take(rd *r, size_t k)
{
    if (r->bad || r->n - r->pos < k) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += k;
    return q;
}
static uint64_t get_u64(rd *r)
{
    const uint8_t *q = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; q && i < 8; i++) v |= (uint64_t)q[i] << (8 * i);
    return v;
}
static uint32_t get_u32(rd *r)
{
    const uint8_t *q = take(r, 4);
    uint32_t v = 0;
    for (int i = 0; q && i < 4; i++) v |= (uint32_t)q[i] << (8 * i);
    return v;
}
static int64_t get_i64(rd *r) { return (int64_t)get_u64(r); }
static int32_t get_i32(rd *r) { return (int32_t)get_u32(r); }
static double get_f64(rd *r)
{
    uint64_t u = get_u64(r);
    double v;
    memcpy(&v, &u, 8);
    return v;
}
static float get_f32(rd *r)
{
    uint32_t u = get_u32(r);
    float v;
    memcpy(&v, &u, 4);
    return v;
}
static void get_cost(rd *r, faith_cost *c)
{
    c->forward = get_i64(r), c->backward = get_i64(r), c->sequences = get_i64(r), c->tokens = get_i64(r);
}
/* A count that must fit in the bytes left at `unit` bytes per entry. */
static int32_t get_count(rd *r, size_t unit)
{
    int32_t k = get_i32(r);
    if (k < 0 || (size_t)k > (r->n - r->pos) / unit) r->bad = 1;
    return r->bad ? 0 : k;
}

int faith_record_decode(const uint8_t *p, size_t n, size_t *pos, faith_record *out, faith_err *err)
{
    rd r = {p, n, *pos, 0};
    faith_record x;
    memset(&x, 0, sizeof x);
    x.id = get_i64(&r);
    x.explainer = get_i32(&r), x.label = get_i32(&r), x.pred = get_i32(&r), x.target = get_i32(&r);
    x.prob = get_f64(&r), x.completeness_gap = get_f64(&r), x.delta_f = get_f64(&r);
    get_cost(&r, &x.explain_cost), get_cost(&r, &x.metric_cost);
    x.n_values = get_count(&r, 8);
    x.values = faith_xcalloc((size_t)x.n_values, sizeof(double));
    for (int32_t i = 0; i < x.n_values; i++) x.values[i] = get_f64(&r);
    x.n = get_count(&r, 16);
    x.ids = faith_xcalloc((size_t)x.n, sizeof(int32_t));
    x.word = faith_xcalloc((size_t)x.n, sizeof(int32_t));
    x.scores = faith_xcalloc((size_t)x.n, sizeof(float));
    x.tokens = faith_xcalloc((size_t)x.n, sizeof(char *));
    for (int32_t i = 0; i < x.n && !r.bad; i++) {
        x.ids[i] = get_i32(&r), x.word[i] = get_i32(&r), x.scores[i] = get_f32(&r);
        uint32_t l = get_u32(&r);
        const uint8_t *s = take(&r, l);
        x.tokens[i] = faith_xmalloc((size_t)l + 1);
        if (s) memcpy(x.tokens[i], s, l);
        x.tokens[i][s ? l : 0] = '\0';
    }
    x.n_words = get_count(&r, 4);
    x.word_scores = faith_xcalloc((size_t)x.n_words, sizeof(float));
    for (int32_t i = 0; i < x.n_words; i++) x.word_scores[i] = get_f32(&r);
    if (r.bad) {
        faith_record_free(&x);
        return faith_err_set(err, FAITH_ERR_FORMAT, "record at byte %zu: truncated or malformed", *pos);
    }
    *pos = r.pos;
    *out = x;
    return FAITH_OK;
}

void faith_record_free(faith_record *r)
{
    for (int32_t i = 0; r->tokens && i < r->n; i++) free(r->tokens[i]);
    free(r->tokens), free(r->values), free(r->ids), free(r->word), free(r->scores), free(r->word_scores);
    memset(r, 0, sizeof *r);
}

void faith_records_free(faith_record *recs, int32_t n)
{
    for (int32_t i = 0; recs && i < n; i++) faith_record_free(&recs[i]);
    free(recs);
}

void faith_chunk_encode(int64_t chunk, const faith_record *recs, int32_t n_recs, faith_buf *b)
{
    put_i64(b, chunk);
    put_i32(b, n_recs);
    for (int32_t i = 0; i < n_recs; i++) faith_record_encode(&recs[i], b);
}

int faith_chunk_decode(const uint8_t *p, size_t n, int64_t *chunk, faith_record **recs,
                       int32_t *n_recs, faith_err *err)
{
    rd r = {p, n, 0, 0};
    int64_t c = get_i64(&r);
    int32_t k = get_count(&r, 8);
    if (r.bad) return faith_err_set(err, FAITH_ERR_FORMAT, "chunk payload: truncated header");
    faith_record *out = faith_xcalloc((size_t)k, sizeof *out);
    size_t pos = r.pos;
    for (int32_t i = 0; i < k; i++) {
        int rc = faith_record_decode(p, n, &pos, &out[i], err);
        if (rc < 0) {
            faith_records_free(out, i);
            return rc;
        }
    }
    if (pos != n) {
        faith_records_free(out, k);
        return faith_err_set(err, FAITH_ERR_FORMAT, "chunk payload: %zu trailing bytes", n - pos);
    }
    *chunk = c, *recs = out, *n_recs = k;
    return FAITH_OK;
}
