/* hfconfig.h: Hugging Face config.json <-> faith_model_config (BERT, RoBERTa and DistilBERT keys,
 * id2label / label2id, dropout settings). */
#ifndef FAITH_HFCONFIG_H
#define FAITH_HFCONFIG_H

#include "error.h"
#include "model.h"

/* Read path (a config.json). Unknown model_type, missing or malformed keys and hidden_act other
 * than "gelu" are errors naming the file and key. */
int faith_hfconfig_read(const char *path, faith_model_config *cfg, faith_err *err);

/* Write cfg as config.json to path atomically, with Hugging Face's key names for the arch. */
int faith_hfconfig_write(const char *path, const faith_model_config *cfg, faith_err *err);

/* Read a whole file into a NUL-terminated buffer (caller frees). */
int faith_read_file(const char *path, char **out, size_t *len, faith_err *err);

/* Write data to path atomically (path.tmp then rename). */
int faith_write_file_atomic(const char *path, const void *data, size_t len, faith_err *err);

#endif
