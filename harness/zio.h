/* zio.h: atomic file output (temp file in the same directory, renamed when complete), optionally as
 * one zstd frame with a content checksum, with a sticky error flag; and checked whole-file reading. */
#ifndef FAITH_ZIO_H
#define FAITH_ZIO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct faith_zio faith_zio;

/* Open a writer for path. Bytes go to a temp file next to path; nothing appears under path
 * until faith_zio_close succeeds. level > 0: zstd frame at that level with checksum;
 * level == 0: plain bytes. */
int faith_zio_open(const char *path, int level, faith_zio **out, faith_err *err);

/* Append bytes. Failures are sticky: later writes are no-ops and faith_zio_close reports the
 * first failure, so callers may write a whole table and check once. */
void faith_zio_write(faith_zio *z, const void *buf, size_t n);
void faith_zio_puts(faith_zio *z, const char *s);
void faith_zio_printf(faith_zio *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A double in the one float format of every table ("%.9g"; "nan", "inf", "-inf"). */
void faith_zio_double(faith_zio *z, double v);
int faith_zio_failed(const faith_zio *z);

/* End the frame, flush, fsync and rename over path. On any failure the temp file is removed and
 * the first error is returned naming path. Frees z either way. */
int faith_zio_close(faith_zio *z, faith_err *err);
/* Drop everything written (temp file removed); frees z. NULL is a no-op. */
void faith_zio_discard(faith_zio *z);

/* Whole-file helpers. */
int faith_zio_write_file(const char *path, int level, const void *buf, size_t n, faith_err *err);

/* Read path whole. When it starts with the zstd magic it is decompressed, and it must be complete
 * frames whose checksums match (require_checksum: frames without one are refused); otherwise the
 * raw bytes are returned unless require_zstd. *out is NUL-terminated (not counted in *n). */
int faith_zio_read_file(const char *path, int require_zstd, int require_checksum, uint8_t **out,
                        size_t *n, faith_err *err);

/* The fixed double format into buf (>= 32 bytes); returns buf. */
const char *faith_fmt_double(double v, char *buf, size_t cap);

#endif
