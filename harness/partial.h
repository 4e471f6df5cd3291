/* partial.h: resume chunks: results/<name>/.partial/ holds one checksummed zstd file per finished
 * work chunk, tagged with the config hash, so an interrupted run continues where it stopped. */
#ifndef FAITH_PARTIAL_H
#define FAITH_PARTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Rank 0, before any work: make <output>/.partial for a fresh run, or check an existing one.
 * An existing .partial without resume is refused (use --resume); with resume, one made for a
 * different config hash is refused (delete it or use another output). *existed tells which. */
int faith_partial_prepare(const char *output, const char *config_hash, int resume, int *existed,
                          faith_err *err);

/* Persist one chunk's payload atomically as <output>/.partial/chunk-<index>.zst. */
int faith_partial_write(const char *output, const char *config_hash, int64_t chunk,
                        const void *payload, size_t n, faith_err *err);

/* Read a chunk back. Returns 0 with *payload NULL when the file is absent; FAITH_ERR_FORMAT when
 * it is damaged (zstd checksum or decode failure, bad header) or carries another config hash;
 * FAITH_ERR_IO when the path is not a regular file (a directory), which no rewrite can replace. */
int faith_partial_read(const char *output, const char *config_hash, int64_t chunk,
                       uint8_t **payload, size_t *n, faith_err *err);

/* Remove .partial and everything in it (after a successful run). */
int faith_partial_remove(const char *output, faith_err *err);

/* mkdir -p. */
int faith_mkdirs(const char *path, faith_err *err);

#endif
