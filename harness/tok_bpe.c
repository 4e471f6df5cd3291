/* tok_bpe.c: GPT-2/RoBERTa byte-level BPE: the GPT-2 pre-tokenisation pattern written out by
 * hand over Unicode categories, the bytes_to_unicode alphabet, merges applied by rank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hfconfig.h"
#include "tok_internal.h"
#include "unicode.h"

struct faith_tok_bpe {
    /* merge table: open addressing on (left id, right id) */
    uint64_t *keys;   /* (left << 32 | right) + 1; 0 = empty */
    int32_t *rank, *merged;
    size_t cap;
    int32_t byte_id[256]; /* id of the one-character token standing for each byte, or -1 */
};

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes
 * take the code points 256, 257, ... in byte order, so every byte is a visible character. */
static uint32_t byte_char(int b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) return (uint32_t)b;
    uint32_t k = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) k++;
    return 256 + k;
}

static size_t merge_slot(const faith_tok_bpe *b, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    size_t i = (size_t)(h >> 20) & (b->cap - 1);
    while (b->keys[i] != 0 && b->keys[i] != key) i = (i + 1) & (b->cap - 1);
    return i;
}

static uint64_t merge_key(int32_t l, int32_t r)
{
    return (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
}

void faith_tok_bpe_free(faith_tok_bpe *b)
{
    if (!b) return;
    free(b->keys);
    free(b->rank);
    free(b->merged);
    free(b);
}

int faith_tok_bpe_init(faith_tokenizer *t, const char *const *left, const char *const *right,
                       int32_t n, const char *source, faith_err *err)
{
    faith_tok_bpe *b = faith_xcalloc(1, sizeof *b);
    b->cap = 1024;
    while (b->cap < 2 * (size_t)n + 16) b->cap *= 2;
    b->keys = faith_xcalloc(b->cap, sizeof *b->keys);
    b->rank = faith_xmalloc(b->cap * sizeof *b->rank);
    b->merged = faith_xmalloc(b->cap * sizeof *b->merged);
    for (int x = 0; x < 256; x++) {
        char u[4];
        int len = faith_utf8_encode(byte_char(x), u);
        b->byte_id[x] = faith_tok_vocab_get(&t->vocab, u, (size_t)len);
    }
    char *cat = NULL;
    size_t catcap = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t ll = strlen(left[i]), lr = strlen(right[i]);
        if (ll + lr + 1 > catcap) cat = faith_xrealloc(cat, catcap = 2 * (ll + lr + 1));
        memcpy(cat, left[i], ll);
        memcpy(cat + ll, right[i], lr + 1);
        int32_t l = faith_tok_vocab_get(&t->vocab, left[i], ll);
        int32_t r = faith_tok_vocab_get(&t->vocab, right[i], lr);
        int32_t m = faith_tok_vocab_get(&t->vocab, cat, ll + lr);
        if (l < 0 || r < 0 || m < 0) {
            free(cat);
            faith_tok_bpe_free(b);
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: merge %d ('%s' '%s'): %s not in the vocab",
                                 source, (int)i + 1, left[i], right[i],
                                 l < 0 ? "left part" : r < 0 ? "right part" : "merged token");
        }
        size_t s = merge_slot(b, merge_key(l, r));
        if (b->keys[s] != 0) continue; /* a repeated merge keeps its first (best) rank */
        b->keys[s] = merge_key(l, r);
        b->rank[s] = i;
        b->merged[s] = m;
    }
    free(cat);
    t->bpe = b;
    return FAITH_OK;
}

int faith_tok_bpe_read_merges(const char *path, char ***left, char ***right, int32_t *n, faith_err *err)
{
    char *data;
    size_t len;
    FAITH_TRY(faith_read_file(path, &data, &len, err));
    size_t cap = 1024, i = 0;
    int32_t k = 0, line = 0;
    char **l = faith_xmalloc(cap * sizeof *l), **r = faith_xmalloc(cap * sizeof *r);
    int rc = FAITH_OK;
    while (i < len) {
        size_t j = i;
        while (j < len && data[j] != '\n') j++;
        size_t e = j;
        if (e > i && data[e - 1] == '\r') e--;
        line++;
        if (!(line == 1 && e - i >= 8 && memcmp(data + i, "#version", 8) == 0) && e > i) {
            char *sp = memchr(data + i, ' ', e - i);
            if (!sp || sp == data + i || sp + 1 == data + e || memchr(sp + 1, ' ', (size_t)(data + e - sp - 1))) {
                rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: line %d: expected two tokens separated by one space",
                                   path, (int)line);
                break;
            }
            if ((size_t)k == cap) {
                cap *= 2;
                l = faith_xrealloc(l, cap * sizeof *l);
                r = faith_xrealloc(r, cap * sizeof *r);
            }
            char *copy = faith_xmalloc(e - i + 1);
            memcpy(copy, data + i, e - i);
            copy[e - i] = '\0';
            copy[sp - (data + i)] = '\0';
            l[k] = copy;
            r[k] = copy + (sp - (data + i)) + 1;
            k++;
        }
        i = j + 1;
    }
    free(data);
    if (rc < 0) {
        for (int32_t x = 0; x < k; x++) free(l[x]);
        free(l);
        free(r);
        return rc;
    }
    *left = l;
    *right = r;
    *n = k;
    return FAITH_OK;
}

/* ---------- pre-tokenisation ---------- */

enum { CL_WS, CL_L, CL_N, CL_O };

static int cp_class(uint32_t c)
{
    if (c < 0x80) {
        if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return CL_WS;
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return CL_L;
        if (c >= '0' && c <= '9') return CL_N;
        return CL_O;
    }
    if (faith_uc_is_white_space(c)) return CL_WS;
    if (faith_uc_is_letter(c)) return CL_L;
    if (faith_uc_is_number(c)) return CL_N;
    return CL_O;
}

static int dec(const char *w, size_t len, size_t i, uint32_t *cp)
{
    int n = faith_utf8_decode((const unsigned char *)w + i, len - i, cp);
    if (n == 0) { *cp = 0xFFFD; n = 1; } /* unreachable: input is validated */
    return n;
}

/* End of the match of
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * that starts at w[i], trying the alternatives in order as a backtracking engine would. */
static size_t gpt2_match(const char *w, size_t len, size_t i)
{
    if (w[i] == '\'' && i + 1 < len) {
        char c = w[i + 1];
        if (c == 's' || c == 't' || c == 'm' || c == 'd') return i + 2;
        if (i + 2 < len && ((c == 'r' && w[i + 2] == 'e') || (c == 'v' && w[i + 2] == 'e') ||
                            (c == 'l' && w[i + 2] == 'l')))
            return i + 3;
    }
    uint32_t c;
    size_t j = i + (size_t)dec(w, len, i, &c);
    int cls = cp_class(c);
    if (c == ' ' && j < len) { /* the optional leading space of the three runs */
        uint32_t d;
        int n = dec(w, len, j, &d);
        if (cp_class(d) != CL_WS) {
            cls = cp_class(d);
            j += (size_t)n;
        }
    }
    if (cls != CL_WS) {
        while (j < len) {
            uint32_t d;
            int n = dec(w, len, j, &d);
            if (cp_class(d) != cls) break;
            j += (size_t)n;
        }
        return j;
    }
    /* whitespace: all of it at the end of the text, else all but the last character (which
     * then leads the next run), else the single character */
    size_t k = i, last = i;
    int count = 0;
    while (k < len) {
        uint32_t d;
        int n = dec(w, len, k, &d);
        if (cp_class(d) != CL_WS) break;
        last = k;
        k += (size_t)n;
        count++;
    }
    if (k == len || count == 1) return k;
    return last;
}

/* ---------- merges ---------- */

typedef struct sym {
    int32_t id, s, e;   /* token id and byte span in the working string */
    int32_t prev, next; /* neighbours among live symbols (-1 at the ends) */
} sym;

/* A possible merge of symbol `left` with the symbol after it, valid while both still hold
 * the ids it was made from. */
typedef struct cand {
    int32_t rank, left, lid, rid, merged;
} cand;

static int cand_less(const cand *a, const cand *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(cand *h, int *n, cand c)
{
    int i = (*n)++;
    while (i > 0 && cand_less(&c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, int *n)
{
    cand top = h[0], last = h[--(*n)];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_less(&h[c + 1], &h[c])) c++;
        if (!cand_less(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static void push_pair(const faith_tok_bpe *b, const sym *y, int32_t left, cand *h, int *nh)
{
    if (left < 0 || y[left].next < 0) return;
    int32_t r = y[left].next;
    size_t s = merge_slot(b, merge_key(y[left].id, y[r].id));
    if (b->keys[s] == 0) return;
    heap_push(h, nh, (cand){b->rank[s], left, y[left].id, y[r].id, b->merged[s]});
}

/* Apply merges lowest rank first (leftmost on ties) until none applies: O(n log n), so long
 * runs of digits or letters stay cheap. Live symbols are then those reachable from 0. */
static void bpe_word(const faith_tok_bpe *b, sym *y, int n, cand *h)
{
    int nh = 0;
    for (int k = 0; k < n; k++) {
        y[k].prev = k - 1;
        y[k].next = k + 1 < n ? k + 1 : -1;
    }
    for (int k = 0; k + 1 < n; k++) push_pair(b, y, k, h, &nh);
    while (nh > 0) {
        cand c = heap_pop(h, &nh);
        int32_t r = y[c.left].next;
        if (y[c.left].id != c.lid || r < 0 || y[r].id != c.rid || y[c.left].e != y[r].s) continue;
        y[c.left].id = c.merged;
        y[c.left].e = y[r].e;
        y[c.left].next = y[r].next;
        if (y[r].next >= 0) y[y[r].next].prev = c.left;
        y[r].id = -1;
        push_pair(b, y, y[c.left].prev, h, &nh);
        push_pair(b, y, c.left, h, &nh);
    }
}

/* Offsets of a piece covering working bytes [s, e): whole original characters, without the
 * piece's leading and trailing spaces (Hugging Face's trim_offsets). */
static void piece_offsets(const char *w, const int32_t *os, const int32_t *oe, int32_t s, int32_t e,
                          int32_t *start, int32_t *end)
{
    int32_t a = s, z = e;
    while (a < z && w[a] == ' ') a++;
    while (z > a && w[z - 1] == ' ') z--;
    if (a == z) {
        *start = *end = oe[e - 1];
        return;
    }
    *start = os[a];
    *end = oe[z - 1];
}

int faith_tok_bpe_encode(const faith_tokenizer *t, const char *s, size_t len, int32_t base,
                         faith_tok_pieces *out, faith_err *err)
{
    const faith_tok_bpe *b = t->bpe;
    int pre = t->add_prefix_space && s[0] != ' ';
    size_t wl = len + (size_t)pre;
    char *w = faith_xmalloc(wl + 1);
    int32_t *os = faith_xmalloc(wl * sizeof *os), *oe = faith_xmalloc(wl * sizeof *oe);
    if (pre) {
        w[0] = ' ';
        os[0] = oe[0] = base; /* the added space stands for nothing in the text */
    }
    memcpy(w + pre, s, len);
    w[wl] = '\0';
    /* each byte maps to the span of the whole character it belongs to */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = dec(s, len, i, &cp);
        for (int k = 0; k < n; k++) {
            os[i + (size_t)pre + (size_t)k] = base + (int32_t)i;
            oe[i + (size_t)pre + (size_t)k] = base + (int32_t)(i + (size_t)n);
        }
        i += (size_t)n;
    }
    sym *y = faith_xmalloc((wl + 1) * sizeof *y);
    cand *h = faith_xmalloc((3 * wl + 3) * sizeof *h); /* n - 1 pairs + 2 per merge */
    int rc = FAITH_OK;
    size_t i = 0;
    char *key = faith_xmalloc(2 * wl + 1); /* a word in byte characters, for ignore_merges */
    while (i < wl && rc == FAITH_OK) {
        size_t j = t->use_regex ? gpt2_match(w, wl, i) : wl;
        if (t->ignore_merges) {
            size_t kl = 0;
            for (size_t k = i; k < j; k++) kl += (size_t)faith_utf8_encode(byte_char((unsigned char)w[k]), key + kl);
            int32_t id = faith_tok_vocab_get(&t->vocab, key, kl);
            if (id >= 0) {
                int32_t st, en;
                piece_offsets(w, os, oe, (int32_t)i, (int32_t)j, &st, &en);
                faith_tok_pieces_push(out, id, st, en, 0);
                i = j;
                continue;
            }
        }
        int n = 0;
        for (size_t k = i; k < j; k++) {
            int32_t id = b->byte_id[(unsigned char)w[k]];
            if (id < 0) id = t->sp.unk;
            if (id < 0) {
                rc = faith_err_set(err, FAITH_ERR_FORMAT, "byte 0x%02X has no token in the BPE vocabulary "
                                   "and there is no unknown token", (unsigned)(unsigned char)w[k]);
                break;
            }
            y[n++] = (sym){id, (int32_t)k, (int32_t)k + 1, -1, -1};
        }
        if (rc == FAITH_OK && n > 0) bpe_word(b, y, n, h);
        for (int k = 0; k < n && rc == FAITH_OK; k = y[k].next >= 0 ? y[k].next : n) {
            int32_t st, en;
            piece_offsets(w, os, oe, y[k].s, y[k].e, &st, &en);
            faith_tok_pieces_push(out, y[k].id, st, en, 0);
        }
        i = j;
    }
    free(key);
    free(y);
    free(h);
    free(os);
    free(oe);
    free(w);
    return rc;
}
