/* manifest.c: manifest.json, the provenance of a run: what was computed (resolved config, hash,
 * input file hashes, versions) and how (ranks, threads, timings, passes, throughput). */
#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layers.h"
#include "sha256.h"
#include "versions.h"
#include "zio.h"

static const char *const MODEL_FILES[] = {"config.json",      "model.safetensors",
                                          "tokenizer.json",   "vocab.txt",
                                          "vocab.json",       "merges.txt",
                                          "tokenizer_config.json", "special_tokens_map.json"};

int faith_manifest_model_hashes(const char *model_dir, cJSON **out, faith_err *err)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof MODEL_FILES / sizeof MODEL_FILES[0]; i++) {
        char p[4096], hex[65];
        snprintf(p, sizeof p, "%s/%s", model_dir, MODEL_FILES[i]);
        if (access(p, R_OK) != 0) continue;
        if (faith_sha256_file(p, hex, err) < 0) {
            cJSON_Delete(o);
            return err->code;
        }
        cJSON_AddStringToObject(o, MODEL_FILES[i], hex);
    }
    *out = o;
    return FAITH_OK;
}

static double per(double a, double b) { return b > 0 ? a / b : 0; }

cJSON *faith_manifest_throughput(const faith_run_stats *st)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "wall_s", st->wall_s);
    cJSON_AddNumberToObject(t, "examples", (double)st->examples);
    cJSON_AddNumberToObject(t, "examples_computed", (double)st->examples_computed);
    cJSON_AddNumberToObject(t, "records", (double)st->records);
    cJSON_AddNumberToObject(t, "chunks", (double)st->chunks);
    cJSON_AddNumberToObject(t, "chunks_resumed", (double)st->chunks_resumed);
    cJSON_AddNumberToObject(t, "examples_per_s", per((double)st->examples_computed, st->wall_s));
    cJSON_AddNumberToObject(t, "work_s", st->work_s);
    cJSON_AddNumberToObject(t, "work_examples_per_s", per((double)st->examples_computed, st->work_s));
    cJSON_AddNumberToObject(t, "sequences_per_s", per((double)st->cost.sequences, st->wall_s));
    cJSON_AddNumberToObject(t, "forward_passes", (double)st->cost.forward);
    cJSON_AddNumberToObject(t, "backward_passes", (double)st->cost.backward);
    cJSON_AddNumberToObject(t, "sequences", (double)st->cost.sequences);
    cJSON_AddNumberToObject(t, "tokens", (double)st->cost.tokens);
    cJSON_AddNumberToObject(t, "compute_s_all_ranks", st->compute_s);
    cJSON_AddNumberToObject(t, "rank0_plan_s", st->plan_s);
    cJSON_AddNumberToObject(t, "rank0_gather_s", st->gather_s);
    cJSON_AddNumberToObject(t, "rank0_gather_cpu_s", st->gather_cpu_s);
    cJSON_AddNumberToObject(t, "rank0_write_s", st->write_s);
    cJSON_AddNumberToObject(t, "rank0_ms_per_example",
                            1e3 * per(st->plan_s + st->gather_s, (double)st->examples));
    return t;
}

int faith_manifest_write(const char *dir, const cJSON *resolved, const char *config_hash,
                         const cJSON *model_hashes, const char *dataset_path,
                         const char *dataset_sha256, uint64_t seed, const faith_run_stats *st,
                         faith_err *err)
{
    cJSON *m = cJSON_CreateObject();
    faith_versions v;
    faith_versions_get(&v);
    cJSON_AddStringToObject(m, "faith", v.faith);
    cJSON_AddStringToObject(m, "commit", v.commit);
    cJSON *lib = cJSON_AddObjectToObject(m, "libraries");
    cJSON_AddStringToObject(lib, "openblas", v.openblas);
    cJSON_AddStringToObject(lib, "zstd", v.zstd);
    cJSON_AddStringToObject(lib, "cjson", v.cjson);
    cJSON_AddStringToObject(lib, "mpi", v.mpi);
    cJSON_AddStringToObject(m, "config_hash", config_hash);
    cJSON_AddItemToObject(m, "config", cJSON_Duplicate(resolved, 1));
    cJSON *in = cJSON_AddObjectToObject(m, "inputs");
    cJSON_AddItemToObject(in, "model_files", cJSON_Duplicate(model_hashes, 1));
    cJSON *ds = cJSON_AddObjectToObject(in, "dataset");
    cJSON_AddStringToObject(ds, "path", dataset_path);
    cJSON_AddStringToObject(ds, "sha256", dataset_sha256);
    cJSON_AddNumberToObject(m, "seed", (double)seed);
    cJSON *ex = cJSON_AddObjectToObject(m, "execution");
    cJSON_AddNumberToObject(ex, "ranks", st->ranks);
    cJSON_AddNumberToObject(ex, "threads_per_rank", st->threads);
    /* fixed by the kernel family (in libraries.openblas), recorded because it moves bits */
    cJSON_AddBoolToObject(ex, "tiled_products", faith_blas_small_kernels());
    cJSON_AddItemToObject(m, "throughput", faith_manifest_throughput(st));
    char *text = cJSON_Print(m);
    cJSON_Delete(m);
    size_t n = strlen(text);
    text = faith_xrealloc(text, n + 2);
    text[n] = '\n', text[n + 1] = '\0';
    char *p = faith_xmalloc(strlen(dir) + 16);
    sprintf(p, "%s/manifest.json", dir);
    int rc = faith_zio_write_file(p, 0, text, n + 1, err);
    free(p);
    free(text);
    return rc;
}
