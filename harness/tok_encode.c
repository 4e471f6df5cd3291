/* tok_encode.c: faith_tokenizer_encode: UTF-8 validation, verbatim added tokens, the model,
 * whitespace-word indices, Hugging Face longest_first truncation and special-token framing. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "unicode.h"

/* The code point that ends at s[pos] (pos > 0; s is valid UTF-8). */
static uint32_t cp_before(const char *s, size_t pos, size_t *start)
{
    size_t i = pos - 1;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    uint32_t cp = 0;
    faith_utf8_decode((const unsigned char *)s + i, pos - i, &cp);
    if (start) *start = i;
    return cp;
}

static uint32_t cp_at(const char *s, size_t len, size_t pos, int *n)
{
    uint32_t cp = 0;
    int k = faith_utf8_decode((const unsigned char *)s + pos, len - pos, &cp);
    if (n) *n = k > 0 ? k : 1;
    return cp;
}

static int model_encode(const faith_tokenizer *t, const char *s, size_t a, size_t b,
                        faith_tok_pieces *p, faith_err *err)
{
    if (a >= b) return FAITH_OK;
    if (t->kind == FAITH_TOK_WORDPIECE) return faith_tok_wp_encode(t, s + a, b - a, (int32_t)a, p, err);
    return faith_tok_bpe_encode(t, s + a, b - a, (int32_t)a, p, err);
}

/* The longest added token that starts at s[pos], or -1. */
static int added_at(const faith_tokenizer *t, const char *s, size_t len, size_t pos)
{
    int best = -1;
    size_t best_len = 0;
    for (int k = 0; k < t->n_added; k++) {
        const char *c = t->added[k].content;
        if (c[0] != s[pos] || faith_tok_added_in_normalized(t, &t->added[k])) continue;
        size_t n = strlen(c);
        if (n > best_len && n <= len - pos && memcmp(s + pos, c, n) == 0) {
            best = k;
            best_len = n;
        }
    }
    return best;
}

/* Model pieces of one segment: added tokens are cut out of the raw text first (as
 * transformers never splits them) and the text between them goes through the model. */
static int segment_pieces(const faith_tokenizer *t, const char *s, size_t len, faith_tok_pieces *p,
                          faith_err *err)
{
    size_t chunk = 0, pos = 0;
    while (pos < len) {
        int k = t->n_added ? added_at(t, s, len, pos) : -1;
        if (k < 0) {
            pos++;
            continue;
        }
        const faith_tok_added *a = &t->added[k];
        size_t n = strlen(a->content);
        /* A single_word token touching a word character is no match; as in Hugging Face's
         * left-to-right search, the scan then goes on after it, not inside it. */
        if (a->single_word && ((pos > 0 && faith_uc_is_word_char(cp_before(s, pos, NULL))) ||
                               (pos + n < len && faith_uc_is_word_char(cp_at(s, len, pos + n, NULL))))) {
            pos += n;
            continue;
        }
        /* Matches are found first and stripped after, as in Hugging Face: rstrip's whitespace
         * is the token's, but the search goes on right after the match, so the next token may
         * begin inside it; lstrip never reaches back past the previous token. */
        size_t start = pos, prev;
        if (a->lstrip)
            while (start > chunk && faith_uc_is_white_space(cp_before(s, start, &prev))) start = prev;
        if (start > chunk) FAITH_TRY(model_encode(t, s, chunk, start, p, err));
        faith_tok_pieces_push(p, a->id, (int32_t)pos, (int32_t)(pos + n), a->special);
        pos += n;
        size_t stop = pos;
        int w;
        if (a->rstrip)
            while (stop < len && faith_uc_is_white_space(cp_at(s, len, stop, &w))) stop += (size_t)w;
        if (stop > chunk) chunk = stop;
    }
    return model_encode(t, s, chunk, len, p, err);
}

/* word[i] for every piece (numbered from first_word) and the segment's word count. A piece
 * made only of whitespace belongs to the next word (the last one at the end of the text). */
static int32_t assign_words(const char *s, size_t len, const faith_tok_pieces *p, int32_t first_word,
                            int32_t *word)
{
    int32_t *wid = faith_xmalloc((len + 1) * sizeof *wid);
    int32_t nw = 0;
    int in_word = 0;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = faith_utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (n == 0) n = 1;
        int ws = faith_uc_is_word_space(cp);
        if (!ws && !in_word) nw++;
        in_word = !ws;
        for (int k = 0; k < n; k++) wid[i + (size_t)k] = ws ? -1 : nw - 1;
        i += (size_t)n;
    }
    for (int32_t k = 0; k < p->n; k++) {
        size_t b = (size_t)p->start[k];
        while (b < len && wid[b] < 0) b++;
        int32_t w = b < len ? wid[b] : nw - 1;
        word[k] = w < 0 ? -1 : first_word + w;
    }
    free(wid);
    return nw;
}

/* Lengths both segments keep under longest_first with room for m model tokens: the shorter
 * is kept whole when the longer can take the rest, else they split m, the originally longer
 * one (the pair on ties) taking the odd token. */
static void longest_first(int32_t m, int32_t *n1, int32_t *n2)
{
    int32_t a = *n1, b = *n2;
    if (a + b <= m) return;
    int swap = a > b;
    int32_t lo = swap ? b : a, hi;
    hi = lo > m ? lo : (m - lo > lo ? m - lo : lo);
    if (lo + hi > m) {
        lo = m / 2;
        hi = lo + m % 2;
    }
    *n1 = swap ? hi : lo;
    *n2 = swap ? lo : hi;
    if (*n1 > a) *n1 = a;
    if (*n2 > b) *n2 = b;
}

static void alloc_encoding(faith_encoding *e, int32_t n)
{
    size_t k = n > 0 ? (size_t)n : 1;
    e->n = 0;
    e->ids = faith_xmalloc(k * sizeof *e->ids);
    e->type_ids = faith_xmalloc(k * sizeof *e->type_ids);
    e->start = faith_xmalloc(k * sizeof *e->start);
    e->end = faith_xmalloc(k * sizeof *e->end);
    e->word = faith_xmalloc(k * sizeof *e->word);
    e->special = faith_xmalloc(k);
    e->segment = faith_xmalloc(k);
}

static void put_special(faith_encoding *e, int32_t id, int type, int seg)
{
    int32_t i = e->n++;
    e->ids[i] = id;
    e->type_ids[i] = type;
    e->start[i] = e->end[i] = e->word[i] = -1;
    e->special[i] = 1;
    e->segment[i] = (uint8_t)seg;
}

static void put_pieces(faith_encoding *e, const faith_tok_pieces *p, const int32_t *word, int32_t n,
                       int type, int seg)
{
    for (int32_t k = 0; k < n; k++) {
        int32_t i = e->n++;
        e->ids[i] = p->id[k];
        e->type_ids[i] = type;
        e->start[i] = p->start[k];
        e->end[i] = p->end[k];
        e->word[i] = word[k];
        e->special[i] = p->special[k];
        e->segment[i] = (uint8_t)seg;
    }
}

static int check_text(const char *s, const char *what, size_t *len, faith_err *err)
{
    *len = strlen(s);
    if (*len > (size_t)INT32_MAX / 2)
        return faith_err_set(err, FAITH_ERR_RANGE, "%s: %zu bytes is too long to tokenize", what, *len);
    long bad = faith_utf8_invalid_at(s, *len);
    if (bad >= 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: invalid UTF-8 at byte %ld (0x%02X)", what, bad,
                             (unsigned)(unsigned char)s[bad]);
    return FAITH_OK;
}

int faith_tokenizer_encode(const faith_tokenizer *t, const char *text, const char *pair,
                           int32_t max_len, faith_encoding *enc, faith_err *err)
{
    memset(enc, 0, sizeof *enc);
    size_t la = 0, lb = 0;
    FAITH_TRY(check_text(text, "text", &la, err));
    if (pair) FAITH_TRY(check_text(pair, "pair", &lb, err));
    if (pair && t->frame == FAITH_FRAME_NONE)
        return faith_err_set(err, FAITH_ERR_ARG, "pair: the tokenizer has no separator tokens ([CLS]/[SEP] or "
                             "<s>/</s>), so a text pair would read as one text");
    int32_t nspec = 0;
    if (t->frame == FAITH_FRAME_BERT) nspec = pair ? 3 : 2;
    if (t->frame == FAITH_FRAME_ROBERTA) nspec = pair ? 4 : 2;
    /* Hugging Face would return the specials alone; an input cut to nothing is always a
     * mistake here, so it is refused. */
    if (max_len > 0 && max_len <= nspec)
        return faith_err_set(err, FAITH_ERR_ARG, "max_len %d leaves no room for text beside the %d "
                             "special tokens", (int)max_len, (int)nspec);
    faith_tok_pieces a = {0}, b = {0};
    int32_t *wa = NULL, *wb = NULL;
    int rc = FAITH_OK;
    FAITH_CHECK(segment_pieces(t, text, la, &a, err));
    if (pair) FAITH_CHECK(segment_pieces(t, pair, lb, &b, err));
    wa = faith_xmalloc(((size_t)a.n + 1) * sizeof *wa);
    wb = faith_xmalloc(((size_t)b.n + 1) * sizeof *wb);
    int32_t nwa = assign_words(text, la, &a, 0, wa);
    int32_t nwb = pair ? assign_words(pair, lb, &b, nwa, wb) : 0;
    int32_t na = a.n, nb = b.n;
    if (max_len > 0) {
        int32_t m = max_len - nspec;
        if (pair) longest_first(m, &na, &nb);
        else if (na > m) na = m;
    }
    alloc_encoding(enc, na + nb + nspec);
    enc->n_words = nwa + nwb;
    int type_b = t->frame == FAITH_FRAME_BERT ? 1 : 0; /* RoBERTa has a single token type */
    if (t->frame != FAITH_FRAME_NONE) put_special(enc, t->sp.cls, 0, 0);
    put_pieces(enc, &a, wa, na, 0, 0);
    if (t->frame != FAITH_FRAME_NONE) put_special(enc, t->sp.sep, 0, 0);
    if (pair) {
        if (t->frame == FAITH_FRAME_ROBERTA) put_special(enc, t->sp.sep, 0, 1);
        put_pieces(enc, &b, wb, nb, type_b, 1);
        if (t->frame != FAITH_FRAME_NONE) put_special(enc, t->sp.sep, type_b, 1);
    }
cleanup:
    free(wa);
    free(wb);
    faith_tok_pieces_free(&a);
    faith_tok_pieces_free(&b);
    if (rc < 0) faith_encoding_free(enc);
    return rc;
}

int faith_encoding_require_tokens(const faith_encoding *enc, faith_err *err)
{
    if (enc->n > 0) return FAITH_OK;
    return faith_err_set(err, FAITH_ERR_ARG, "text: no tokens (it is empty and the tokenizer adds no special "
                         "tokens)");
}

void faith_encoding_free(faith_encoding *enc)
{
    if (!enc) return;
    free(enc->ids);
    free(enc->type_ids);
    free(enc->start);
    free(enc->end);
    free(enc->word);
    free(enc->special);
    free(enc->segment);
    memset(enc, 0, sizeof *enc);
}
