/* safetensors.c: memory-mapped safetensors reader with full header validation, F16/BF16 to F32
 * conversion, and an atomic F32 writer. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"

/* Headers beyond this are refused before parsing (the reference implementation uses 100 MB). */
#define MAX_HEADER ((uint64_t)100 * 1000 * 1000)

static const struct {
    const char *name;
    int size;
} DT[FAITH_ST_N_DTYPES] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
                           {"I32", 4}, {"I16", 2},  {"I8", 1},   {"U8", 1},   {"BOOL", 1},
                           {"U16", 2}, {"U32", 4},  {"U64", 8},  {"F8_E4M3", 1}, {"F8_E5M2", 1}};

const char *faith_st_dtype_name(faith_st_dtype d) { return d < FAITH_ST_N_DTYPES ? DT[d].name : "?"; }

float faith_f16_to_f32(uint16_t h)
{
    uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        if (m == 0) bits = s;
        else { /* subnormal: normalise */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            bits = s | (e << 23) | ((m & 0x3ff) << 13);
        }
    } else if (e == 31) {
        bits = s | 0x7f800000u | (m << 13);
    } else {
        bits = s | ((e + 127 - 15) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float faith_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t faith_f32_to_bf16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40); /* NaN stays NaN */
    b += 0x7fff + ((b >> 16) & 1);
    return (uint16_t)(b >> 16);
}

uint16_t faith_f32_to_f16(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    uint32_t s = (b >> 16) & 0x8000;
    int32_t e = (int32_t)((b >> 23) & 0xff) - 127 + 15;
    uint32_t m = b & 0x7fffff;
    if (((b >> 23) & 0xff) == 0xff) return (uint16_t)(s | 0x7c00 | (m ? 0x200 : 0));
    if (e >= 31) return (uint16_t)(s | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)s;
        m |= 0x800000;
        int shift = 14 - e;
        uint32_t half = 1u << (shift - 1), rem = m & ((1u << shift) - 1);
        uint32_t r = m >> shift;
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(s | r);
    }
    uint32_t r = ((uint32_t)e << 10) | (m >> 13), rem = m & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; /* may carry into the exponent: correct */
    return (uint16_t)(s | r);
}

int64_t faith_st_numel(const faith_st_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

void faith_st_close(faith_st_file *f)
{
    if (!f) return;
    if (f->map && f->map != MAP_FAILED) munmap(f->map, f->map_size);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    free(f->path);
    free(f);
}

static int cmp_begin(const void *a, const void *b)
{
    const faith_st_tensor *x = *(const faith_st_tensor *const *)a, *y = *(const faith_st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int parse_entry(faith_st_file *f, const cJSON *it, faith_st_tensor *t, faith_err *err)
{
    const char *p = f->path, *nm = it->string;
    t->name = faith_xstrdup(nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off) ||
        cJSON_GetArraySize(off) != 2)
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: tensor '%s': expected {\"dtype\": ..., \"shape\": [...], \"data_offsets\": [begin, end]}",
                             p, nm);
    int d = -1;
    for (int k = 0; k < FAITH_ST_N_DTYPES; k++)
        if (strcmp(dt->valuestring, DT[k].name) == 0) d = k;
    if (d < 0)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s' has unknown dtype %s, expected F32, F16 or BF16",
                             p, nm, dt->valuestring);
    t->dtype = (faith_st_dtype)d;
    t->ndim = cJSON_GetArraySize(sh);
    if (t->ndim > FAITH_ST_MAX_DIMS)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s' has %d dimensions, expected at most %d", p, nm,
                             t->ndim, FAITH_ST_MAX_DIMS);
    int64_t numel = 1;
    for (int k = 0; k < t->ndim; k++) {
        const cJSON *v = cJSON_GetArrayItem(sh, k);
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e12 || v->valuedouble != (double)(int64_t)v->valuedouble)
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s': shape entries must be non-negative integers", p, nm);
        t->shape[k] = (int64_t)v->valuedouble;
        /* checked before multiplying: each entry may be up to 1e12, their product overflow */
        if (t->shape[k] > 0 && numel > ((int64_t)1 << 40) / t->shape[k])
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s': shape too large (over 2^40 elements)", p, nm);
        numel *= t->shape[k];
    }
    double b = cJSON_GetArrayItem(off, 0)->valuedouble, e = cJSON_GetArrayItem(off, 1)->valuedouble;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(off, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(off, 1)) || b < 0 ||
        e < b || e > (double)f->data_size || b != floor(b) || e != floor(e))
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: tensor '%s': data_offsets [%.0f, %.0f] not inside the data section of %zu bytes", p,
                             nm, b, e, f->data_size);
    t->begin = (size_t)b;
    t->end = (size_t)e;
    size_t want = (size_t)numel * (size_t)DT[d].size;
    if (t->end - t->begin != want)
        return faith_err_set(err, FAITH_ERR_FORMAT,
                             "%s: tensor '%s': data_offsets span %zu bytes, expected %zu (%lld elements of %s)", p, nm,
                             t->end - t->begin, want, (long long)numel, DT[d].name);
    return FAITH_OK;
}

static int parse_header(faith_st_file *f, const char *json, size_t len, faith_err *err)
{
    cJSON *h;
    char where[FAITH_ERR_MSG / 2];
    snprintf(where, sizeof where, "%s: header", f->path);
    FAITH_TRY(faith_json_parse(json, len, where, &h, err));
    if (!cJSON_IsObject(h)) {
        cJSON_Delete(h);
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: header is not a JSON object", f->path);
    }
    int n = 0, rc = FAITH_OK;
    for (const cJSON *it = h->child; it; it = it->next) n++;
    f->t = faith_xcalloc((size_t)n, sizeof *f->t);
    for (const cJSON *it = h->child; it && rc == FAITH_OK; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) continue;
        rc = parse_entry(f, it, &f->t[f->n], err);
        f->n++;
    }
    cJSON_Delete(h);
    if (rc < 0) return rc;
    /* Offsets must not overlap (gaps are tolerated, as the reference reader only warns). */
    faith_st_tensor **s = faith_xmalloc(sizeof *s * (size_t)(f->n ? f->n : 1));
    for (int i = 0; i < f->n; i++) s[i] = &f->t[i];
    qsort(s, (size_t)f->n, sizeof *s, cmp_begin);
    /* Against the furthest-reaching earlier tensor, not just the previous one, which may be empty
     * or short and sit inside a longer one. Empty tensors overlap nothing. */
    const faith_st_tensor *reach = NULL;
    for (int i = 0; i < f->n && rc == FAITH_OK; i++) {
        if (s[i]->end == s[i]->begin) continue;
        if (reach && s[i]->begin < reach->end)
            rc = faith_err_set(err, FAITH_ERR_FORMAT,
                               "%s: tensor '%s' bytes [%zu, %zu) overlap tensor '%s' bytes [%zu, %zu)", f->path,
                               s[i]->name, s[i]->begin, s[i]->end, reach->name, reach->begin, reach->end);
        if (!reach || s[i]->end > reach->end) reach = s[i];
    }
    free(s);
    return rc;
}

int faith_st_open(const char *path, faith_st_file **out, faith_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return faith_err_set(err, FAITH_ERR_IO, "%s: not a regular file", path);
    }
    faith_st_file *f = faith_xcalloc(1, sizeof *f);
    f->path = faith_xstrdup(path);
    f->map_size = (size_t)st.st_size;
    int rc = FAITH_OK;
    if (f->map_size < 8) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: %zu bytes, too short for the 8-byte header size", path, f->map_size);
        goto done;
    }
    f->map = mmap(NULL, f->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (f->map == MAP_FAILED) {
        f->map = NULL;
        rc = faith_err_set(err, FAITH_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
        goto done;
    }
    const uint8_t *b = f->map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    if (hlen > MAX_HEADER || hlen > f->map_size - 8) {
        rc = faith_err_set(err, FAITH_ERR_FORMAT,
                           "%s: header size %llu does not fit: file has %zu bytes after the size field (truncated "
                           "file or corrupt header)", path, (unsigned long long)hlen, f->map_size - 8);
        goto done;
    }
    f->data = b + 8 + hlen;
    f->data_size = f->map_size - 8 - (size_t)hlen;
    rc = parse_header(f, (const char *)b + 8, (size_t)hlen, err);
done:
    close(fd);
    if (rc < 0) faith_st_close(f);
    else *out = f;
    return rc;
}

const faith_st_tensor *faith_st_find(const faith_st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
    return NULL;
}

int faith_st_read_f32(const faith_st_file *f, const faith_st_tensor *t, float *dst, faith_err *err)
{
    if (t->dtype != FAITH_ST_F32 && t->dtype != FAITH_ST_F16 && t->dtype != FAITH_ST_BF16)
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected F32, F16 or BF16",
                             f->path, t->name, DT[t->dtype].name);
    const uint8_t *src = f->data + t->begin;
    size_t n = (size_t)faith_st_numel(t);
    if (t->dtype == FAITH_ST_F32) {
        memcpy(dst, src, n * 4); /* the format is little-endian, like every target Faith builds on */
        return FAITH_OK;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
        dst[i] = t->dtype == FAITH_ST_F16 ? faith_f16_to_f32(h) : faith_bf16_to_f32(h);
    }
    return FAITH_OK;
}

int faith_st_write(const char *path, const faith_st_entry *e, int n, faith_err *err)
{
    cJSON *h = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(h, e[i].name);
        cJSON_AddStringToObject(t, "dtype", "F32");
        cJSON *sh = cJSON_AddArrayToObject(t, "shape");
        size_t numel = 1;
        for (int k = 0; k < e[i].ndim; k++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)e[i].shape[k]));
            numel *= (size_t)e[i].shape[k];
        }
        cJSON *o = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
        off += numel * 4;
        cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
    }
    char *js = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    size_t jl = strlen(js), padded = (jl + 7) & ~(size_t)7; /* data stays 8-byte aligned */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        free(js);
        return faith_err_set(err, FAITH_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(js, 1, jl, fp) == jl;
    for (size_t i = jl; i < padded && ok; i++) ok = fputc(' ', fp) != EOF;
    free(js);
    for (int i = 0; i < n && ok; i++) {
        size_t numel = 1;
        for (int k = 0; k < e[i].ndim; k++) numel *= (size_t)e[i].shape[k];
        ok = fwrite(e[i].data, 4, numel, fp) == numel;
    }
    if (fclose(fp) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return faith_err_set(err, FAITH_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return FAITH_OK;
}
