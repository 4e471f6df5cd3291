/* error.c: faith_err message formatting and the checked allocators.
 * Nothing here exits except the allocators on exhaustion, which abort with file:line. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message is one line: control bytes that came in with a name from a file (a tensor name with a
 * newline, say) are shown as '?'. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F) *s = '?';
}

int faith_err_set(faith_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        one_line(err->msg);
        err->code = code;
    }
    return code;
}

int faith_err_prefix(faith_err *err, const char *fmt, ...)
{
    if (!err) return FAITH_ERR_INTERNAL;
    char prefix[FAITH_ERR_MSG], old[FAITH_ERR_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Copy piecewise: the message is cut at the buffer's end, never overrun. */
    size_t np = strlen(prefix), no = strlen(old);
    if (np > sizeof err->msg - 1) np = sizeof err->msg - 1;
    if (no > sizeof err->msg - 1 - np) no = sizeof err->msg - 1 - np;
    memcpy(err->msg, prefix, np);
    memcpy(err->msg + np, old, no);
    err->msg[np + no] = '\0';
    one_line(err->msg);
    return err->code;
}

void faith_err_clear(faith_err *err)
{
    if (err) {
        err->code = FAITH_OK;
        err->msg[0] = '\0';
    }
}

const char *faith_status_str(int code)
{
    switch (code) {
    case FAITH_OK: return "ok";
    case FAITH_ERR_IO: return "io error";
    case FAITH_ERR_FORMAT: return "format error";
    case FAITH_ERR_ARG: return "invalid argument";
    case FAITH_ERR_NOMEM: return "out of memory";
    case FAITH_ERR_RANGE: return "out of range";
    case FAITH_ERR_MPI: return "mpi error";
    case FAITH_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}

static void oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "faith: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *faith_xmalloc_(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n, file, line);
    return p;
}

void *faith_xcalloc_(size_t count, size_t size, const char *file, int line)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count * size, file, line);
    return p;
}

void *faith_xrealloc_(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n, file, line);
    return q;
}

char *faith_xstrdup_(const char *s, const char *file, int line)
{
    size_t n = strlen(s) + 1;
    char *p = faith_xmalloc_(n, file, line);
    memcpy(p, s, n);
    return p;
}
