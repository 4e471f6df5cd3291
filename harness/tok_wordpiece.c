/* tok_wordpiece.c: BERT's WordPiece path: BertNormalizer (clean, CJK padding, accent stripping,
 * lowercasing) with per-character offset tracking, BertPreTokenizer, greedy longest-match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfconfig.h"
#include "tok_internal.h"
#include "unicode.h"

/* One normalized code point and the original byte span [s, e) it came from. */
typedef struct nchar {
    uint32_t cp;
    int32_t s, e;
} nchar;

typedef struct nbuf {
    nchar *c;
    size_t n, cap;
} nbuf;

static void nbuf_push(nbuf *b, uint32_t cp, int32_t s, int32_t e)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->c = faith_xrealloc(b->c, b->cap * sizeof *b->c);
    }
    b->c[b->n++] = (nchar){cp, s, e};
}

static int is_chinese(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* BERT whitespace is White_Space (\t \n \r, Zs, U+2028/9, ...); with clean_text on, the
 * control characters among them (\v \f U+0085) are removed before this is asked. */
static int bert_ws(uint32_t c)
{
    return faith_uc_is_white_space(c);
}

static int bert_control(uint32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r') return 0;
    return faith_uc_is_other(c);
}

static int bert_punct(uint32_t c)
{
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126))
        return 1;
    if (c < 0x80) return 0;
    return faith_uc_is_punct(c);
}

/* Append the lowercased (if asked) form of cp, all tied to the original span [s, e). */
static void emit_lower(const faith_tokenizer *t, nbuf *out, uint32_t cp, int32_t s, int32_t e)
{
    uint32_t low[3];
    int n = t->lowercase ? faith_uc_lower(cp, low) : (low[0] = cp, 1);
    for (int i = 0; i < n; i++) nbuf_push(out, low[i], s, e);
}

/* The BertNormalizer, in the order Hugging Face applies it: clean, pad CJK, strip accents
 * (NFD, drop Mn), lowercase. Each output code point keeps the span of its source character. */
static void normalize(const faith_tokenizer *t, const char *s, size_t len, int32_t base, nbuf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int n = faith_utf8_decode(u + i, len - i, &cp);
        if (n == 0) { cp = 0xFFFD; n = 1; } /* unreachable: input is validated by the caller */
        int32_t cs = base + (int32_t)i, ce = base + (int32_t)(i + (size_t)n);
        i += (size_t)n;
        if (t->clean_text) {
            if (cp == 0 || cp == 0xFFFD || bert_control(cp)) continue;
            if (bert_ws(cp)) cp = ' ';
        }
        /* A CJK character is padded and then normalized like any other: the compatibility
         * ideographs (U+F900.., U+2F800..) decompose canonically to unified ones. */
        int cjk = t->chinese && is_chinese(cp);
        if (cjk) nbuf_push(out, ' ', cs, ce);
        if (t->strip_accents && cp >= 0xC0) {
            uint32_t d[8];
            int nd = faith_uc_nfd(cp, d, 8);
            for (int k = 0; k < nd && k < 8; k++)
                if (faith_uc_category(d[k]) != FAITH_UC_Mn) emit_lower(t, out, d[k], cs, ce);
        } else {
            emit_lower(t, out, cp, cs, ce);
        }
        if (cjk) nbuf_push(out, ' ', cs, ce);
    }
}

/* Greedy longest-match-first over the word c[0..n): the whole word becomes one unk when it is
 * too long or any position has no match. */
static void wordpiece_word(const faith_tokenizer *t, const nchar *c, size_t n, faith_tok_pieces *out,
                           char *buf, int32_t *bpos)
{
    int32_t unk = t->sp.unk;
    if (n > (size_t)t->max_chars) goto unk_word;
    /* buf = prefix + utf8(word); bpos[k] = byte offset of char k after the prefix */
    size_t plen = strlen(t->prefix), blen = plen;
    memcpy(buf, t->prefix, plen);
    for (size_t k = 0; k < n; k++) {
        bpos[k] = (int32_t)blen;
        blen += (size_t)faith_utf8_encode(c[k].cp, buf + blen);
    }
    bpos[n] = (int32_t)blen;
    int32_t first = out->n;
    size_t start = 0;
    while (start < n) {
        /* continuation pieces are looked up as prefix + text: write the prefix over the bytes
         * just before `start`, which belong to pieces already taken */
        char *sub = buf + bpos[start];
        if (start > 0) {
            sub -= plen;
            memcpy(sub, t->prefix, plen);
        }
        size_t end = n;
        int32_t id = -1;
        while (end > start) {
            id = faith_tok_vocab_get(&t->vocab, sub, (size_t)(buf + bpos[end] - sub));
            if (id >= 0) break;
            end--;
        }
        if (id < 0) {
            out->n = first;
            goto unk_word;
        }
        faith_tok_pieces_push(out, id, c[start].s, c[end - 1].e, 0);
        start = end;
    }
    return;
unk_word:
    faith_tok_pieces_push(out, unk, c[0].s, c[n - 1].e, 0);
}

/* BertPreTokenizer over c[0..n) (splits at whitespace and around punctuation), then WordPiece on
 * each word. */
static void wp_words(const faith_tokenizer *t, const nchar *c, size_t n, faith_tok_pieces *out, char *buf,
                     int32_t *bpos)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp = c[i].cp;
        if (bert_ws(cp)) { i++; continue; }
        if (bert_punct(cp)) {
            wordpiece_word(t, &c[i], 1, out, buf, bpos);
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !bert_ws(c[j].cp) && !bert_punct(c[j].cp)) j++;
        wordpiece_word(t, &c[i], j - i, out, buf, bpos);
        i = j;
    }
}

/* The longest normalized added token that starts at c[i], or -1. */
static int norm_added_at(const faith_tokenizer *t, const nchar *c, size_t n, size_t i)
{
    int best = -1;
    int32_t best_len = 0;
    for (int k = 0; k < t->n_added; k++) {
        const faith_tok_added *a = &t->added[k];
        if (!a->norm || a->n_norm <= best_len || (size_t)a->n_norm > n - i || a->norm[0] != c[i].cp) continue;
        int32_t m = 1;
        while (m < a->n_norm && a->norm[m] == c[i + (size_t)m].cp) m++;
        if (m == a->n_norm) {
            best = k;
            best_len = m;
        }
    }
    return best;
}

int faith_tok_wp_encode(const faith_tokenizer *t, const char *s, size_t len, int32_t base,
                        faith_tok_pieces *out, faith_err *err)
{
    (void)err;
    nbuf nb = {0};
    normalize(t, s, len, base, &nb);
    /* Scratch for one word: the prefix, 4 bytes per char, and the char positions. */
    size_t plen = strlen(t->prefix);
    char *buf = faith_xmalloc(plen + 4 * nb.n + 1);
    int32_t *bpos = faith_xmalloc((nb.n + 1) * sizeof *bpos);
    int any = 0;
    for (int k = 0; k < t->n_added && !any; k++) any = t->added[k].norm != NULL;
    /* Normalized added tokens are cut out of the normalizer's output, as the raw ones were out of
     * the text (tok_encode.c): leftmost-longest, strips and single_word the same way. */
    size_t chunk = 0, i = 0;
    while (any && i < nb.n) {
        int k = norm_added_at(t, nb.c, nb.n, i);
        if (k < 0) {
            i++;
            continue;
        }
        const faith_tok_added *a = &t->added[k];
        size_t e = i + (size_t)a->n_norm;
        if (a->single_word && ((i > 0 && faith_uc_is_word_char(nb.c[i - 1].cp)) ||
                               (e < nb.n && faith_uc_is_word_char(nb.c[e].cp)))) {
            i = e;
            continue;
        }
        size_t start = i;
        if (a->lstrip)
            while (start > chunk && faith_uc_is_white_space(nb.c[start - 1].cp)) start--;
        if (start > chunk) wp_words(t, nb.c + chunk, start - chunk, out, buf, bpos);
        faith_tok_pieces_push(out, a->id, nb.c[i].s, nb.c[e - 1].e, a->special);
        i = e;
        size_t stop = e;
        if (a->rstrip)
            while (stop < nb.n && faith_uc_is_white_space(nb.c[stop].cp)) stop++;
        if (stop > chunk) chunk = stop;
    }
    wp_words(t, nb.c + chunk, nb.n - chunk, out, buf, bpos);
    free(bpos);
    free(buf);
    free(nb.c);
    return FAITH_OK;
}

void faith_tok_wp_prepare_added(faith_tokenizer *t)
{
    for (int k = 0; k < t->n_added; k++) {
        faith_tok_added *a = &t->added[k];
        free(a->norm);
        a->norm = NULL;
        a->n_norm = 0;
        if (!faith_tok_added_in_normalized(t, a)) continue;
        nbuf nb = {0};
        normalize(t, a->content, strlen(a->content), 0, &nb);
        if (nb.n > 0) { /* a content the normalizer erases never matches */
            a->norm = faith_xmalloc(nb.n * sizeof *a->norm);
            for (size_t i = 0; i < nb.n; i++) a->norm[i] = nb.c[i].cp;
            a->n_norm = (int32_t)nb.n;
        }
        free(nb.c);
    }
}

int faith_tok_wp_read_vocab(const char *path, faith_tok_vocab *v, faith_err *err)
{
    char *data;
    size_t len;
    FAITH_TRY(faith_read_file(path, &data, &len, err));
    int32_t id = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && data[j] != '\n') j++;
        size_t e = j;
        if (e > i && data[e - 1] == '\r') e--;
        /* transformers strips each line; only trailing newline characters matter in practice */
        /* a repeated line maps to its last id, as the dict transformers builds does */
        faith_tok_vocab_put(v, data + i, e - i, id);
        id++;
        i = j + 1;
    }
    free(data);
    if (id == 0) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: empty vocabulary", path);
    return FAITH_OK;
}
