/* partial.c: the .partial directory of resumable runs: a HASH file naming the config it belongs
 * to, and chunk-<index>.zst files (header line with the config hash, then the chunk payload). */
#define _GNU_SOURCE
#include "partial.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zio.h"

#define MAGIC "faith-chunk 1 "

int faith_mkdirs(const char *path, faith_err *err)
{
    char *p = faith_xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                faith_err_set(err, FAITH_ERR_IO, "%s: cannot create directory: %s", p, strerror(e));
                free(p);
                return FAITH_ERR_IO;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return faith_err_set(err, FAITH_ERR_IO, "%s: not a directory", path);
    return FAITH_OK;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = faith_xmalloc(n);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

int faith_partial_prepare(const char *output, const char *config_hash, int resume, int *existed,
                          faith_err *err)
{
    char *dir = join(output, ".partial"), *hf = join(dir, "HASH");
    struct stat st;
    int rc = FAITH_OK;
    *existed = stat(dir, &st) == 0;
    if (*existed && !resume) {
        rc = faith_err_set(err, FAITH_ERR_ARG,
                           "%s exists: an earlier run of this output was interrupted; continue it with "
                           "--resume, or delete %s to start over",
                           dir, dir);
    } else if (*existed && stat(hf, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* reading a FIFO would block forever, and no rename replaces a directory */
        rc = faith_err_set(err, FAITH_ERR_IO, "%s: not a regular file (remove it to resume)", hf);
    } else if (*existed) {
        uint8_t *txt = NULL;
        size_t n = 0;
        if (faith_zio_read_file(hf, 0, 0, &txt, &n, err) == FAITH_OK && n >= 64 &&
            memcmp(txt, config_hash, 64) != 0) {
            rc = faith_err_set(err, FAITH_ERR_ARG,
                               "%s was made by a different config (hash %.12s..., this config %.12s...): "
                               "delete it, or give this config another output (--output DIR)",
                               dir, (char *)txt, config_hash);
        } else if (!txt) {
            /* A HASH lost in a crash right after mkdir: the chunks' own hashes still guard. */
            faith_err_clear(err);
            rc = faith_zio_write_file(hf, 0, config_hash, 64, err);
        }
        free(txt);
    } else {
        rc = faith_mkdirs(dir, err);
        if (rc == FAITH_OK) rc = faith_zio_write_file(hf, 0, config_hash, 64, err);
    }
    free(hf);
    free(dir);
    return rc;
}

static char *chunk_path(const char *output, int64_t chunk)
{
    char name[64];
    snprintf(name, sizeof name, ".partial/chunk-%08lld.zst", (long long)chunk);
    return join(output, name);
}

int faith_partial_write(const char *output, const char *config_hash, int64_t chunk,
                        const void *payload, size_t n, faith_err *err)
{
    char *path = chunk_path(output, chunk);
    faith_zio *z;
    int rc = faith_zio_open(path, 3, &z, err);
    if (rc == FAITH_OK) {
        faith_zio_printf(z, MAGIC "%s %lld\n", config_hash, (long long)chunk);
        faith_zio_write(z, payload, n);
        rc = faith_zio_close(z, err);
    }
    free(path);
    return rc;
}

int faith_partial_read(const char *output, const char *config_hash, int64_t chunk,
                       uint8_t **payload, size_t *n, faith_err *err)
{
    char *path = chunk_path(output, chunk);
    *payload = NULL, *n = 0;
    struct stat st;
    if (stat(path, &st) != 0) {
        free(path);
        return FAITH_OK;
    }
    if (!S_ISREG(st.st_mode)) {
        /* a damaged chunk is rewritten by a rename, which cannot replace a directory: say so now
         * rather than when the rewrite fails mid-run */
        int rc = faith_err_set(err, FAITH_ERR_IO, "%s: not a regular file (remove it to resume)", path);
        free(path);
        return rc;
    }
    uint8_t *raw;
    size_t rn;
    int rc = faith_zio_read_file(path, 1, 1, &raw, &rn, err);
    if (rc < 0) {
        free(path);
        return FAITH_ERR_FORMAT;
    }
    char head[128];
    int hl = snprintf(head, sizeof head, MAGIC "%s %lld\n", config_hash, (long long)chunk);
    if (rn < (size_t)hl || memcmp(raw, head, (size_t)hl) != 0) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: header does not match this config and chunk",
                           path);
        free(raw);
        free(path);
        return rc;
    }
    memmove(raw, raw + hl, rn - (size_t)hl);
    *payload = raw, *n = rn - (size_t)hl;
    free(path);
    return FAITH_OK;
}

int faith_partial_remove(const char *output, faith_err *err)
{
    char *dir = join(output, ".partial");
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char *f = join(dir, e->d_name);
            unlink(f);
            free(f);
        }
        closedir(d);
    }
    int rc = FAITH_OK;
    if (rmdir(dir) != 0 && errno != ENOENT)
        rc = faith_err_set(err, FAITH_ERR_IO, "%s: cannot remove: %s", dir, strerror(errno));
    free(dir);
    return rc;
}
