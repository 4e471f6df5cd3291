/* config.h: the run config of `faith run`: strict JSON parsing (unknown keys and wrong types are
 * errors naming the key's path), defaults, component creation, canonical form and config_hash. */
#ifndef FAITH_CONFIG_H
#define FAITH_CONFIG_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "error.h"
#include "explainer.h"
#include "metric.h"

#define FAITH_DEFAULT_MAX_LENGTH 128
#define FAITH_DEFAULT_CHUNK 16

/* One configured explainer or metric: its name and params exactly as given (NULL: defaults). */
typedef struct faith_component_cfg {
    char *name;
    cJSON *params;
} faith_component_cfg;

/* A dataset as the config names it (paths resolved). */
typedef struct faith_data_cfg {
    char *format;           /* "auto" by default */
    char *path;             /* resolved path */
    char *split;            /* NULL: loader default */
    int64_t limit;          /* 0: all */
    char *text_col, *pair_col, *label_col;
    char **label_names;
    int32_t n_label_names;
} faith_data_cfg;

#define FAITH_DEFAULT_PROBE_TRAIN_LIMIT 2000

/* Layer probes (metrics/probe.h): trained on `train`, scored on the run's dataset. */
typedef struct faith_probe_cfg {
    char *property;         /* "label" (default), "length_bin", "negation", "wordlist" */
    char **words;           /* wordlist property */
    int32_t n_words;
    faith_data_cfg train;   /* limit defaults to FAITH_DEFAULT_PROBE_TRAIN_LIMIT */
    int32_t iters;          /* 0: probe default */
    double holdout;         /* 0: probe default */
    double *lambdas;
    int32_t n_lambdas;
} faith_probe_cfg;

typedef struct faith_run_config {
    char *path;                 /* the config file ("<string>" when parsed from text) */
    char *dir;                  /* directory relative paths are resolved against */
    char *name;
    uint64_t seed;
    char *model_dir;            /* resolved path */
    faith_data_cfg dataset;
    int32_t max_length;
    int max_length_given;       /* 0: the default, which shrinks to a smaller model's positions */
    int32_t n_explainers, n_metrics;
    faith_component_cfg *explainers, *metrics;
    int64_t batch_tokens;       /* token budget per forward */
    int32_t batch_chunk;        /* examples per work chunk */
    int32_t threads;            /* threads per rank; 0: cores / ranks on the node */
    faith_products products;    /* how products cover a batch (per-sequence: bits independent of batching) */
    char *output;               /* resolved output dir */
    int output_defaulted;       /* output came from the default results/<name> */
    int has_probe;
    faith_probe_cfg probe;
    int has_sanity;
    int32_t sanity_layers;
    double sanity_threshold;
} faith_run_config;

/* Parse and type-check a config file; relative paths resolve against its directory; defaults
 * filled. Components are not created here (see faith_config_components). */
int faith_config_load(const char *path, faith_run_config **out, faith_err *err);
/* Same from text; base_dir resolves relative paths, label names the source in messages. */
int faith_config_parse(const char *text, const char *base_dir, const char *label,
                       faith_run_config **out, faith_err *err);
void faith_config_free(faith_run_config *c);

/* Command-line overrides (--output DIR relative to the working directory, --limit, --threads). */
void faith_config_set_output(faith_run_config *c, const char *dir);

/* Create every explainer and metric from its params (which validates them); failures name the
 * key path ("explainers[1].params: ..."). Arrays are allocated here; free with
 * faith_config_free_components. */
int faith_config_components(const faith_run_config *c, faith_explainer ***ex, faith_metric ***me,
                            faith_err *err);
void faith_config_free_components(const faith_run_config *c, faith_explainer **ex,
                                  faith_metric **me);

/* The resolved config: every default filled, each component's resolved params, execution-only
 * settings (threads, output) left out so the hash depends on what is computed alone. */
cJSON *faith_config_resolved(const faith_run_config *c, faith_explainer *const *ex,
                             faith_metric *const *me);
/* Canonical text (keys sorted at every level, cJSON_PrintUnformatted); caller frees. */
char *faith_json_canonical(const cJSON *j);
/* sha256 hex of the canonical resolved config. */
void faith_config_hash(const cJSON *resolved, char hex[65]);

#endif
