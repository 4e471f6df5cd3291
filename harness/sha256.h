/* sha256.h: SHA-256 (FIPS 180-4) for provenance: hashes of datasets, weights and outputs recorded
 * in manifests, so a run can be tied to the exact bytes it read. */
#ifndef FAITH_SHA256_H
#define FAITH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Streaming state; plain data, so copying it forks the hash at its current position. */
typedef struct faith_sha256 {
    uint32_t h[8];
    uint64_t n_bytes;   /* total bytes absorbed */
    uint8_t block[64];  /* pending partial block */
    size_t n_block;
} faith_sha256;

void faith_sha256_init(faith_sha256 *s);
void faith_sha256_update(faith_sha256 *s, const void *data, size_t len);
/* Finish and write the 32-byte digest; s must be re-initialised before reuse. */
void faith_sha256_final(faith_sha256 *s, uint8_t digest[32]);
/* Finish and write the digest as 64 lowercase hex characters plus NUL. */
void faith_sha256_final_hex(faith_sha256 *s, char hex[65]);

/* One-shot hash of a buffer as lowercase hex. */
void faith_sha256_hex(const void *buf, size_t len, char hex[65]);
/* Hash of a whole file as lowercase hex; FAITH_ERR_IO naming the path when it cannot be read. */
int faith_sha256_file(const char *path, char hex[65], faith_err *err);

#endif
