/* safetensors.h: reading (memory-mapped, fully validated) and writing (F32, atomic) of the
 * safetensors format: 8-byte little-endian header size, JSON header, then the raw data section. */
#ifndef FAITH_SAFETENSORS_H
#define FAITH_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define FAITH_ST_MAX_DIMS 8

/* The first three convert to float32; the rest are recognised (so files holding integer buffers
 * such as position_ids validate) but cannot be read as parameters. */
typedef enum faith_st_dtype {
    FAITH_ST_F32 = 0, FAITH_ST_F16, FAITH_ST_BF16, FAITH_ST_F64, FAITH_ST_I64, FAITH_ST_I32, FAITH_ST_I16,
    FAITH_ST_I8, FAITH_ST_U8, FAITH_ST_BOOL, FAITH_ST_U16, FAITH_ST_U32, FAITH_ST_U64, FAITH_ST_F8_E4M3,
    FAITH_ST_F8_E5M2, FAITH_ST_N_DTYPES
} faith_st_dtype;

typedef struct faith_st_tensor {
    char *name;
    faith_st_dtype dtype;
    int ndim;
    int64_t shape[FAITH_ST_MAX_DIMS];
    size_t begin, end; /* byte offsets into the data section */
} faith_st_tensor;

typedef struct faith_st_file {
    char *path;
    void *map;
    size_t map_size;
    const uint8_t *data; /* start of the data section */
    size_t data_size;
    int n;
    faith_st_tensor *t;
} faith_st_file;

/* Map and validate path: header size against file size, JSON, dtypes (names outside the
 * safetensors set are errors naming tensor and dtype), data_offsets inside the data section and not overlapping, byte
 * size = numel * dtype size. `__metadata__` is skipped. Errors name the file and the tensor. */
int faith_st_open(const char *path, faith_st_file **out, faith_err *err);
void faith_st_close(faith_st_file *f); /* NULL is a no-op */
const faith_st_tensor *faith_st_find(const faith_st_file *f, const char *name);
int64_t faith_st_numel(const faith_st_tensor *t);
const char *faith_st_dtype_name(faith_st_dtype d);
/* Convert a tensor's data to float32 into dst (numel floats); FAITH_ERR_FORMAT naming the file,
 * tensor and dtype unless the dtype is F32, F16 or BF16. */
int faith_st_read_f32(const faith_st_file *f, const faith_st_tensor *t, float *dst, faith_err *err);

typedef struct faith_st_entry {
    const char *name;
    const float *data;
    int ndim;
    int64_t shape[FAITH_ST_MAX_DIMS];
} faith_st_entry;

/* Write F32 tensors to path atomically (path.tmp then rename); metadata {"format":"pt"}. */
int faith_st_write(const char *path, const faith_st_entry *e, int n, faith_err *err);

/* float <-> half / bfloat16 (round to nearest even), for conversion and tests. */
float faith_f16_to_f32(uint16_t h);
float faith_bf16_to_f32(uint16_t h);
uint16_t faith_f32_to_f16(float f);
uint16_t faith_f32_to_bf16(float f);

#endif
