/* zio.c: atomic (temp + rename) writers, plain or zstd-streamed with content checksums, with a sticky
 * error; and whole-file reading that verifies zstd frames end to end. */
#define _GNU_SOURCE
#include "zio.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

struct faith_zio {
    char *path, *tmp;
    FILE *f;
    ZSTD_CCtx *cctx;      /* NULL for plain output */
    uint8_t *in, *out;    /* staging buffer for input, compressed output buffer */
    size_t in_cap, in_len, out_cap;
    int failed;
    char why[256];
};

static void fail(faith_zio *z, const char *fmt, const char *detail)
{
    if (z->failed) return;
    z->failed = 1;
    snprintf(z->why, sizeof z->why, fmt, detail);
}

static void raw_write(faith_zio *z, const void *buf, size_t n)
{
    if (n && fwrite(buf, 1, n, z->f) != n) fail(z, "write failed: %s", strerror(errno));
}

/* Feed the staged input to zstd; mode ZSTD_e_end also closes the frame. */
static void pump(faith_zio *z, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {z->in, z->in_len, 0};
    for (;;) {
        ZSTD_outBuffer out = {z->out, z->out_cap, 0};
        size_t left = ZSTD_compressStream2(z->cctx, &out, &in, mode);
        if (ZSTD_isError(left)) {
            fail(z, "zstd: %s", ZSTD_getErrorName(left));
            return;
        }
        raw_write(z, z->out, out.pos);
        if (z->failed) return;
        if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) break;
    }
    z->in_len = 0;
}

int faith_zio_open(const char *path, int level, faith_zio **out, faith_err *err)
{
    faith_zio *z = faith_xcalloc(1, sizeof *z);
    z->path = faith_xstrdup(path);
    size_t tl = strlen(path) + 32;
    z->tmp = faith_xmalloc(tl);
    snprintf(z->tmp, tl, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(z->tmp);
    if (fd >= 0) { /* mkstemp makes 0600; tables are ordinary files */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    if (fd < 0 || !(z->f = fdopen(fd, "wb"))) {
        int e = errno;
        if (fd >= 0) close(fd), unlink(z->tmp);
        free(z->tmp), free(z->path), free(z);
        return faith_err_set(err, FAITH_ERR_IO, "%s: cannot create a temp file beside it: %s", path,
                             strerror(e));
    }
    if (level > 0) {
        z->cctx = ZSTD_createCCtx();
        if (!z->cctx) {
            fail(z, "%s", "zstd: cannot create a compression context");
        } else {
            ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, level);
            ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_checksumFlag, 1);
        }
        z->in_cap = ZSTD_CStreamInSize();
        z->out_cap = ZSTD_CStreamOutSize();
        z->in = faith_xmalloc(z->in_cap);
        z->out = faith_xmalloc(z->out_cap);
    }
    *out = z;
    return FAITH_OK;
}

int faith_zio_failed(const faith_zio *z) { return z->failed; }

void faith_zio_write(faith_zio *z, const void *buf, size_t n)
{
    if (z->failed) return;
    if (!z->cctx) {
        raw_write(z, buf, n);
        return;
    }
    const uint8_t *p = buf;
    while (n > 0 && !z->failed) {
        size_t k = z->in_cap - z->in_len;
        if (k > n) k = n;
        memcpy(z->in + z->in_len, p, k);
        z->in_len += k, p += k, n -= k;
        if (z->in_len == z->in_cap) pump(z, ZSTD_e_continue);
    }
}

void faith_zio_puts(faith_zio *z, const char *s) { faith_zio_write(z, s, strlen(s)); }

void faith_zio_printf(faith_zio *z, const char *fmt, ...)
{
    if (z->failed) return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fail(z, "%s", "bad format");
        return;
    }
    if ((size_t)n < sizeof small) {
        faith_zio_write(z, small, (size_t)n);
        return;
    }
    char *big = faith_xmalloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    faith_zio_write(z, big, (size_t)n);
    free(big);
}

const char *faith_fmt_double(double v, char *buf, size_t cap)
{
    if (isnan(v)) snprintf(buf, cap, "nan");
    else if (isinf(v)) snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    else snprintf(buf, cap, "%.9g", v == 0 ? 0.0 : v); /* -0 prints as 0 */
    return buf;
}

void faith_zio_double(faith_zio *z, double v)
{
    char b[40];
    faith_zio_puts(z, faith_fmt_double(v, b, sizeof b));
}

static void free_z(faith_zio *z)
{
    if (z->cctx) ZSTD_freeCCtx(z->cctx);
    free(z->in), free(z->out), free(z->tmp), free(z->path), free(z);
}

void faith_zio_discard(faith_zio *z)
{
    if (!z) return;
    if (z->f) fclose(z->f);
    unlink(z->tmp);
    free_z(z);
}

int faith_zio_close(faith_zio *z, faith_err *err)
{
    if (z->cctx && !z->failed) pump(z, ZSTD_e_end);
    if (!z->failed && fflush(z->f) != 0) fail(z, "flush failed: %s", strerror(errno));
    if (!z->failed && fsync(fileno(z->f)) != 0) fail(z, "fsync failed: %s", strerror(errno));
    if (fclose(z->f) != 0) fail(z, "close failed: %s", strerror(errno));
    z->f = NULL;
    if (!z->failed && rename(z->tmp, z->path) != 0) fail(z, "rename failed: %s", strerror(errno));
    int rc = FAITH_OK;
    if (z->failed) {
        unlink(z->tmp);
        rc = faith_err_set(err, FAITH_ERR_IO, "%s: %s", z->path, z->why);
    }
    free_z(z);
    return rc;
}

int faith_zio_write_file(const char *path, int level, const void *buf, size_t n, faith_err *err)
{
    faith_zio *z;
    FAITH_TRY(faith_zio_open(path, level, &z, err));
    faith_zio_write(z, buf, n);
    return faith_zio_close(z, err);
}

static int slurp(const char *path, uint8_t **out, size_t *n, faith_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    uint8_t *b = faith_xmalloc(cap + 1);
    size_t got;
    while ((got = fread(b + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) b = faith_xrealloc(b, (cap *= 2) + 1);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return faith_err_set(err, FAITH_ERR_IO, "%s: read error", path);
    }
    b[len] = 0;
    *out = b, *n = len;
    return FAITH_OK;
}

/* Check every frame is complete (and carries a checksum when asked) before decoding. */
static int check_frames(const char *path, const uint8_t *src, size_t n, int require_checksum,
                        faith_err *err)
{
    size_t pos = 0;
    while (pos < n) {
        size_t fs = ZSTD_findFrameCompressedSize(src + pos, n - pos);
        if (ZSTD_isError(fs))
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s: damaged or truncated zstd frame at byte %zu (%s)", path, pos,
                                 ZSTD_getErrorName(fs));
        /* Frame header descriptor byte, after the 4-byte magic: bit 2 is Content_Checksum_flag
         * (RFC 8878 3.1.1.1.1); skippable frames have another magic and carry no data. */
        int standard = src[pos] == 0x28 && src[pos + 1] == 0xB5 && src[pos + 2] == 0x2F &&
                       src[pos + 3] == 0xFD;
        if (require_checksum && standard && !((src[pos + 4] >> 2) & 1))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: zstd frame at byte %zu has no checksum",
                                 path, pos);
        pos += fs;
    }
    return FAITH_OK;
}

static int decode(const char *path, const uint8_t *src, size_t n, uint8_t **out, size_t *out_n,
                  faith_err *err)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    if (!d) return faith_err_set(err, FAITH_ERR_NOMEM, "%s: cannot create a zstd context", path);
    size_t cap = n * 4 + 1024, len = 0;
    uint8_t *b = faith_xmalloc(cap + 1);
    ZSTD_inBuffer in = {src, n, 0};
    size_t last = 0;
    while (in.pos < in.size) {
        if (cap - len < 4096) b = faith_xrealloc(b, (cap *= 2) + 1);
        ZSTD_outBuffer o = {b + len, cap - len, 0};
        last = ZSTD_decompressStream(d, &o, &in);
        len += o.pos;
        if (ZSTD_isError(last)) {
            ZSTD_freeDCtx(d);
            free(b);
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: zstd decode failed: %s", path,
                                 ZSTD_getErrorName(last));
        }
        if (o.pos == 0 && in.pos == in.size && last != 0) break;
    }
    /* Flush anything still buffered inside the decoder. */
    while (last != 0) {
        if (cap - len < 4096) b = faith_xrealloc(b, (cap *= 2) + 1);
        ZSTD_outBuffer o = {b + len, cap - len, 0};
        last = ZSTD_decompressStream(d, &o, &in);
        len += o.pos;
        if (ZSTD_isError(last) || (o.pos == 0 && last != 0)) {
            ZSTD_freeDCtx(d);
            free(b);
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: zstd stream is incomplete", path);
        }
    }
    ZSTD_freeDCtx(d);
    b[len] = 0;
    *out = b, *out_n = len;
    return FAITH_OK;
}

int faith_zio_read_file(const char *path, int require_zstd, int require_checksum, uint8_t **out,
                        size_t *n, faith_err *err)
{
    uint8_t *raw = NULL;
    size_t rn = 0;
    FAITH_TRY(slurp(path, &raw, &rn, err));
    int is_zstd = rn >= 4 && raw[0] == 0x28 && raw[1] == 0xB5 && raw[2] == 0x2F && raw[3] == 0xFD;
    if (!is_zstd) {
        if (require_zstd) {
            free(raw);
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: not a zstd file (bad magic)", path);
        }
        *out = raw, *n = rn;
        return FAITH_OK;
    }
    int rc = check_frames(path, raw, rn, require_checksum, err);
    if (rc == FAITH_OK) rc = decode(path, raw, rn, out, n, err);
    free(raw);
    return rc;
}
