/* manifest.h: manifest.json of a run: resolved config and its hash, hashes of every input file,
 * versions, ranks, threads, seed, timings, model passes and throughput. */
#ifndef FAITH_MANIFEST_H
#define FAITH_MANIFEST_H

#include <cjson/cJSON.h>

#include "error.h"
#include "runner.h"

/* sha256 of each model-directory file Faith reads (config.json, weights, tokenizer files present)
 * as {"file": "hex"}. */
int faith_manifest_model_hashes(const char *model_dir, cJSON **out, faith_err *err);

/* Throughput object ({examples_per_s, sequences_per_s, forward, backward, ...}). */
cJSON *faith_manifest_throughput(const faith_run_stats *st);

/* Write dir/manifest.json atomically. model_hashes is borrowed. */
int faith_manifest_write(const char *dir, const cJSON *resolved, const char *config_hash,
                         const cJSON *model_hashes, const char *dataset_path,
                         const char *dataset_sha256, uint64_t seed, const faith_run_stats *st,
                         faith_err *err);

#endif
