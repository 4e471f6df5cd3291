/* json.c: strict JSON parsing on top of cJSON: one value, no NUL, no \u0000, no duplicated key,
 * and error messages with line, column and a one-line excerpt. */
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Offset of the first \u0000 escape inside a string of (already parsed, so well-formed) text, or -1. */
static long nul_escape(const char *text, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '"') in_string = !in_string;
        else if (in_string && text[i] == '\\') {
            if (i + 5 < len && text[i + 1] == 'u' && memcmp(text + i + 2, "0000", 4) == 0) return (long)i;
            i++; /* the escaped character, which may be a quote */
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
            const cJSON **keys = malloc(n * sizeof *keys);
            if (!keys) return NULL;
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
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t off = end && end >= text ? (size_t)(end - text) : 0;
    if (!j) {
        while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r')) off++;
        return fail_at(text, len, off, where, "invalid JSON", err);
    }
    while (off < len && (text[off] == ' ' || text[off] == '\t' || text[off] == '\n' || text[off] == '\r')) off++;
    if (off < len) {
        cJSON_Delete(j);
        return fail_at(text, len, off, where, "text after the JSON value", err);
    }
    long z = nul_escape(text, len);
    if (z >= 0) {
        cJSON_Delete(j);
        return fail_at(text, len, (size_t)z, where, "\\u0000 in a string (expected text without NUL)", err);
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
