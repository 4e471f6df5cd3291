/* json.c: strict JSON parsing on top of cJSON: one value of RFC 8259 JSON, no NUL or \u0000, no
 * duplicated key, and error messages with line, column and a one-line excerpt. */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unicode.h"

/* "line L, column C" (just "column C" for one-line text such as a dataset line) of text[off]. */
static void locate(const char *text, size_t len, size_t off, char *buf, size_t cap)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') line++, col = 1;
        else col++;
    }
    if (memchr(text, '\n', len)) snprintf(buf, cap, "line %zu, column %zu", line, col);
    else snprintf(buf, cap, "column %zu", col);
}

/* Up to 20 bytes from text[off], stopping at a line end and before a cut UTF-8 sequence; other
 * control bytes shown as '?', so the message stays one printable line. */
static void excerpt(const char *text, size_t len, size_t off, char *buf)
{
    size_t n = 0;
    while (off + n < len && n < 20 && text[off + n] != '\n' && text[off + n] != '\r') n++;
    if (off + n < len && n == 20)
        while (n > 0 && ((unsigned char)text[off + n] & 0xC0) == 0x80) n--;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[off + i];
        buf[i] = c < 0x20 || c == 0x7F ? '?' : (char)c;
    }
    buf[n] = '\0';
}

static int fail_at(const char *text, size_t len, size_t off, const char *where, const char *what,
                   faith_err *err)
{
    char loc[64], near[24];
    locate(text, len, off, loc, sizeof loc);
    excerpt(text, len, off, near);
    if (off >= len) return faith_err_set(err, FAITH_ERR_FORMAT, "%s: %s at %s (at the end)", where, what, loc);
    return faith_err_set(err, FAITH_ERR_FORMAT, "%s: %s at %s, near '%s'", where, what, loc, near);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* What cJSON accepts but JSON (RFC 8259) and Python's json do not, found by one pass over the tokens
 * of text that cJSON has already parsed: raw control characters in strings, escapes other than the
 * eight named ones and \u with four hex digits (cJSON reads "\uZZZZ" as U+0000), \u0000 itself
 * (it cuts the string), whitespace beyond space, tab, LF and CR, and numbers such as 01 or 1.
 * Returns the offset of the first, with *what saying which, or -1. */
static long lenient_at(const char *t, size_t len, const char **what)
{
    size_t i = 0;
    while (i < len) {
        char c = t[i];
        if (is_ws(c) || c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',') {
            i++;
        } else if (c == '"') {
            for (i++; i < len && t[i] != '"'; i++) {
                if ((unsigned char)t[i] < 0x20) return *what = "control character in a string (escape it)", (long)i;
                if (t[i] != '\\') continue;
                char e = i + 1 < len ? t[i + 1] : '\0';
                if (e == 'u') {
                    for (int k = 2; k < 6; k++)
                        if (i + (size_t)k >= len || !is_hex(t[i + (size_t)k]))
                            return *what = "\\u escape without four hex digits", (long)i;
                    if (memcmp(t + i + 2, "0000", 4) == 0)
                        return *what = "\\u0000 in a string (expected text without NUL)", (long)i;
                    i += 5;
                } else if (e && strchr("\"\\/bfnrt", e)) {
                    i++;
                } else {
                    return *what = "unknown escape in a string", (long)i;
                }
            }
            i++; /* the closing quote */
        } else if (c == '-' || is_digit(c)) {
            size_t a = i;
            if (t[i] == '-') i++;
            if (i < len && t[i] == '0') i++;
            else if (i < len && is_digit(t[i])) while (i < len && is_digit(t[i])) i++;
            else return *what = "malformed number", (long)a;
            if (i < len && t[i] == '.') {
                if (++i >= len || !is_digit(t[i])) return *what = "malformed number", (long)a;
                while (i < len && is_digit(t[i])) i++;
            }
            if (i < len && (t[i] == 'e' || t[i] == 'E')) {
                i++;
                if (i < len && (t[i] == '+' || t[i] == '-')) i++;
                if (i >= len || !is_digit(t[i])) return *what = "malformed number", (long)a;
                while (i < len && is_digit(t[i])) i++;
            }
            if (i < len && (is_digit(t[i]) || t[i] == '.')) return *what = "malformed number (leading zero?)", (long)a;
        } else if (len - i >= 4 && (memcmp(t + i, "true", 4) == 0 || memcmp(t + i, "null", 4) == 0)) {
            i += 4;
        } else if (len - i >= 5 && memcmp(t + i, "false", 5) == 0) {
            i += 5;
        } else {
            return *what = "character not allowed in JSON here", (long)i;
        }
    }
    return -1;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* The first key given twice in any object under j (depth first), with its path, or NULL. Objects
 * of more than a few keys (a tokenizer's vocabulary) are checked by sorting, not pairwise. */
static const cJSON *duplicate_key(const cJSON *j, char *path, size_t cap)
{
    size_t n = 0, plen = strlen(path);
    for (const cJSON *c = j->child; c; c = c->next) n++;
    if (cJSON_IsObject(j) && n > 1) {
        const cJSON *dup = NULL;
        if (n <= 16) {
            for (const cJSON *a = j->child; a && !dup; a = a->next)
                for (const cJSON *b = j->child; b != a && !dup; b = b->next)
                    if (strcmp(a->string, b->string) == 0) dup = a;
        } else {
            const cJSON **keys = faith_xmalloc(n * sizeof *keys);
            size_t k = 0;
            for (const cJSON *c = j->child; c; c = c->next) keys[k++] = c;
            qsort(keys, n, sizeof *keys, cmp_key);
            for (k = 1; k < n && !dup; k++)
                if (strcmp(keys[k - 1]->string, keys[k]->string) == 0) dup = keys[k];
            free(keys);
        }
        if (dup) return dup;
    }
    size_t i = 0;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        if (!cJSON_IsObject(c) && !cJSON_IsArray(c)) continue;
        if (cJSON_IsObject(j)) snprintf(path + plen, cap - plen, "%s%s", plen ? "." : "", c->string);
        else snprintf(path + plen, cap - plen, "[%zu]", i);
        const cJSON *d = duplicate_key(c, path, cap);
        if (d) return d;
        path[plen] = '\0';
    }
    return NULL;
}

int faith_json_parse(const char *text, size_t len, const char *where, cJSON **out, faith_err *err)
{
    *out = NULL;
    const char *nul = memchr(text, '\0', len);
    if (nul) return fail_at(text, len, (size_t)(nul - text), where, "NUL byte (expected JSON text)", err);
    /* JSON text is UTF-8 (RFC 8259 8.1): other bytes would pass into Faith's own JSON outputs */
    long bad_utf8 = faith_utf8_invalid_at(text, len);
    if (bad_utf8 >= 0) return fail_at(text, len, (size_t)bad_utf8, where, "invalid UTF-8", err);
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t off = end && end >= text ? (size_t)(end - text) : 0;
    if (!j) {
        while (off < len && is_ws(text[off])) off++;
        return fail_at(text, len, off, where, "invalid JSON", err);
    }
    while (off < len && is_ws(text[off])) off++;
    if (off < len) {
        cJSON_Delete(j);
        return fail_at(text, len, off, where, "text after the JSON value", err);
    }
    const char *what = NULL;
    long bad = lenient_at(text, len, &what);
    if (bad >= 0) {
        cJSON_Delete(j);
        return fail_at(text, len, (size_t)bad, where, what, err);
    }
    char path[256] = "";
    const cJSON *dup = duplicate_key(j, path, sizeof path);
    if (dup) {
        int rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: key '%s%s%s' given twice (each key may appear once)",
                               where, path, path[0] ? "." : "", dup->string);
        cJSON_Delete(j);
        return rc;
    }
    *out = j;
    return FAITH_OK;
}
