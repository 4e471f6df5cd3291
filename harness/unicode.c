/* unicode.c: UTF-8 decoding/validation and lookups into the generated Unicode tables
 * (categories, lowercase, NFD); Hangul syllables are decomposed arithmetically. */
#include "unicode.h"

int faith_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (len == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)n > len) return 0;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

int faith_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

long faith_utf8_invalid_at(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (u[i] < 0x80) { i++; continue; }
        uint32_t cp;
        int n = faith_utf8_decode(u + i, len - i, &cp);
        if (n == 0) return (long)i;
        i += (size_t)n;
    }
    return -1;
}

int faith_uc_is_word_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || faith_uc_category(cp) == FAITH_UC_Zs;
}

int faith_uc_word_space_at(const char *s, size_t len)
{
    uint32_t cp;
    if (len == 0) return 0;
    if ((unsigned char)s[0] < 0x80) return faith_uc_is_word_space((unsigned char)s[0]);
    int n = faith_utf8_decode((const unsigned char *)s, len, &cp);
    return n > 0 && faith_uc_is_word_space(cp) ? n : 0;
}

int faith_uc_category(uint32_t cp)
{
    if (cp < 256) return faith_uc_cat_latin1[cp];
    int lo = 0, hi = faith_uc_cat_nranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const faith_uc_range *r = &faith_uc_cat_ranges[mid];
        if (cp < r->first) hi = mid - 1;
        else if (cp > r->last) lo = mid + 1;
        else return r->cat;
    }
    return FAITH_UC_Cn; /* unassigned code points are the runs the table leaves out */
}

int faith_uc_is_letter(uint32_t cp)
{
    int c = faith_uc_category(cp);
    return c >= FAITH_UC_Lu && c <= FAITH_UC_Lo;
}

int faith_uc_is_number(uint32_t cp)
{
    int c = faith_uc_category(cp);
    return c >= FAITH_UC_Nd && c <= FAITH_UC_No;
}

int faith_uc_is_punct(uint32_t cp)
{
    int c = faith_uc_category(cp);
    return c >= FAITH_UC_Pc && c <= FAITH_UC_Po;
}

int faith_uc_is_other(uint32_t cp)
{
    int c = faith_uc_category(cp);
    return c == FAITH_UC_Cn || c >= FAITH_UC_Cc;
}

int faith_uc_is_white_space(uint32_t cp)
{
    /* White_Space (PropList.txt) is a fixed, short list; it is what regex engines call \s. */
    return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

int faith_uc_is_word_char(uint32_t cp)
{
    if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') || cp == '_';
    int c = faith_uc_category(cp);
    if ((c >= FAITH_UC_Lu && c <= FAITH_UC_Me) || c == FAITH_UC_Nd || c == FAITH_UC_Nl || c == FAITH_UC_Pc)
        return 1;
    /* Join_Control, and the only Other_Alphabetic characters that are neither letters nor marks:
     * circled and squared Latin letters (So). */
    return cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) || (cp >= 0x1F130 && cp <= 0x1F149) ||
           (cp >= 0x1F150 && cp <= 0x1F169) || (cp >= 0x1F170 && cp <= 0x1F189);
}

int faith_uc_lower(uint32_t cp, uint32_t out[3])
{
    if (cp < 0x80) {
        out[0] = (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
        return 1;
    }
    int lo = 0, hi = faith_uc_nlower - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const faith_uc_map *m = &faith_uc_lower_tab[mid];
        if (cp < m->cp) hi = mid - 1;
        else if (cp > m->cp) lo = mid + 1;
        else {
            for (int i = 0; i < m->n; i++) out[i] = m->to[i];
            return m->n;
        }
    }
    out[0] = cp;
    return 1;
}

int faith_uc_nfd(uint32_t cp, uint32_t *out, int cap)
{
    enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, TCOUNT = 28,
           NCOUNT = 588, SCOUNT = 11172 };
    if (cp < 0xC0) {
        if (cap > 0) out[0] = cp;
        return 1;
    }
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t s = cp - SBASE, t = s % TCOUNT;
        uint32_t d[3] = {LBASE + s / NCOUNT, VBASE + (s % NCOUNT) / TCOUNT, TBASE + t};
        int n = t ? 3 : 2;
        for (int i = 0; i < n && i < cap; i++) out[i] = d[i];
        return n;
    }
    int lo = 0, hi = faith_uc_nnfd - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const faith_uc_decomp *d = &faith_uc_nfd_tab[mid];
        if (cp < d->cp) hi = mid - 1;
        else if (cp > d->cp) lo = mid + 1;
        else {
            for (int i = 0; i < d->n && i < cap; i++) out[i] = faith_uc_nfd_data[d->off + i];
            return d->n;
        }
    }
    if (cap > 0) out[0] = cp;
    return 1;
}
