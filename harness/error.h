/* error.h: the one error convention of Faith: functions return an int status (FAITH_OK or a
 * negative faith_status) and describe the failure in a caller-owned faith_err message buffer. */
#ifndef FAITH_ERROR_H
#define FAITH_ERROR_H

#include <stddef.h>

typedef enum faith_status {
    FAITH_OK = 0,
    FAITH_ERR_IO = -1,       /* a file could not be opened, read or written */
    FAITH_ERR_FORMAT = -2,   /* a file or value does not have the expected form */
    FAITH_ERR_ARG = -3,      /* bad option, parameter or config key */
    FAITH_ERR_NOMEM = -4,    /* allocation failed */
    FAITH_ERR_RANGE = -5,    /* a value (token id, length, index) is out of range */
    FAITH_ERR_MPI = -6,      /* an MPI call failed or another rank failed */
    FAITH_ERR_INTERNAL = -7  /* a broken invariant: a bug in Faith */
} faith_status;

#define FAITH_ERR_MSG 1024

/* A failure's code and its human-readable message, which names the file, tensor, key or line
 * concerned and what was expected. Callers own it; callees fill it only on failure. */
typedef struct faith_err {
    int code;
    char msg[FAITH_ERR_MSG];
} faith_err;

/* Record a failure in err (NULL allowed) and return code, so callers can write
 * `return faith_err_set(err, FAITH_ERR_FORMAT, "%s: ...", path);`. */
int faith_err_set(faith_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context ("config.json: " + old message); returns err->code. */
int faith_err_prefix(faith_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void faith_err_clear(faith_err *err);

/* A short name for a status ("io error", "format error", ...). */
const char *faith_status_str(int code);

/* Return from the current function when expr fails (zstd's FORWARD_IF_ERROR). */
#define FAITH_TRY(expr)                \
    do {                               \
        int faith_rc_ = (expr);        \
        if (faith_rc_ < 0) return faith_rc_; \
    } while (0)

/* Jump to the function's `cleanup:` label with `rc` set when expr fails. */
#define FAITH_CHECK(expr)              \
    do {                               \
        rc = (expr);                   \
        if (rc < 0) goto cleanup;      \
    } while (0)

/* Allocation that never returns NULL: prints file:line and aborts on exhaustion, the one
 * failure Faith does not try to recover from (as redis and llm.c do). */
void *faith_xmalloc_(size_t n, const char *file, int line);
void *faith_xcalloc_(size_t count, size_t size, const char *file, int line);
void *faith_xrealloc_(void *p, size_t n, const char *file, int line);
char *faith_xstrdup_(const char *s, const char *file, int line);
#define faith_xmalloc(n) faith_xmalloc_((n), __FILE__, __LINE__)
#define faith_xcalloc(c, s) faith_xcalloc_((c), (s), __FILE__, __LINE__)
#define faith_xrealloc(p, n) faith_xrealloc_((p), (n), __FILE__, __LINE__)
#define faith_xstrdup(s) faith_xstrdup_((s), __FILE__, __LINE__)

#endif
