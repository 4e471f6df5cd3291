/* model_io.c: faith_model_load / faith_model_save: config.json + model.safetensors in Hugging Face
 * layout, tensors matched by name (arch prefix optional, LayerNorm gamma/beta aliases) and validated. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hfconfig.h"
#include "model.h"
#include "model_internal.h"
#include "safetensors.h"

/* The name without the arch prefix and with old LayerNorm gamma/beta spelled weight/bias. */
static void canonical(const char *name, char *out, size_t cap)
{
    static const char *prefixes[] = {"bert.", "roberta.", "distilbert."};
    for (int i = 0; i < 3; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) {
            name += strlen(prefixes[i]);
            break;
        }
    snprintf(out, cap, "%s", name);
    char *g = strstr(out, "LayerNorm.gamma"), *b = strstr(out, "LayerNorm.beta");
    if (g && strcmp(g, "LayerNorm.gamma") == 0) snprintf(g, cap - (size_t)(g - out), "LayerNorm.weight");
    if (b && strcmp(b, "LayerNorm.beta") == 0) snprintf(b, cap - (size_t)(b - out), "LayerNorm.bias");
}

/* Buffers and head parts transformers itself ignores when loading a sequence classifier. */
static int ignorable(const char *canon, faith_arch arch)
{
    if (strcmp(canon, "embeddings.position_ids") == 0 || strcmp(canon, "embeddings.token_type_ids") == 0)
        return 1;
    return arch == FAITH_ARCH_ROBERTA && strncmp(canon, "pooler.", 7) == 0;
}

static void shape_str(const int64_t *s, int nd, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int i = 0; i < nd && o < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? ", " : "", (long long)s[i]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

/* NaN or infinite weights would silently poison every output: refuse them at load. */
static int check_finite(const char *path, const char *name, const float *p, size_t n, faith_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i]))
            return faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s' has a non-finite value (%g) at element %zu",
                                 path, name, (double)p[i], i);
    return FAITH_OK;
}

/* Map each file tensor to the model's parameter view (-1: ignorable) and check names and shapes,
 * before anything of config.json's size is allocated. */
static int match_tensors(const faith_model *m, const faith_st_file *f, int *view_of, faith_err *err)
{
    size_t nv = faith_model_param_count(m);
    char **canon = faith_xcalloc(nv, sizeof *canon);
    unsigned char *seen = faith_xcalloc(nv, 1);
    int rc = FAITH_OK;
    char cn[512], a[96], b[96];
    for (size_t i = 0; i < nv; i++) {
        canonical(faith_model_param_at(m, i)->name, cn, sizeof cn);
        canon[i] = faith_xstrdup(cn);
    }
    for (int k = 0; k < f->n && rc == FAITH_OK; k++) {
        const faith_st_tensor *t = &f->t[k];
        view_of[k] = -1;
        canonical(t->name, cn, sizeof cn);
        if (ignorable(cn, faith_model_cfg(m)->arch)) continue;
        size_t i = 0;
        while (i < nv && strcmp(canon[i], cn) != 0) i++;
        if (i == nv) {
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: unexpected tensor '%s' (not part of a %s sequence classifier)",
                               f->path, t->name, faith_arch_name(faith_model_cfg(m)->arch));
            break;
        }
        const faith_param_view *v = faith_model_param_at(m, i);
        if (seen[i]) {
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s' given twice (as '%s')", f->path, v->name, t->name);
            break;
        }
        if (t->ndim != v->ndim || t->shape[0] != v->shape[0] || (v->ndim == 2 && t->shape[1] != v->shape[1])) {
            shape_str(t->shape, t->ndim, a, sizeof a);
            shape_str(v->shape, v->ndim, b, sizeof b);
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: tensor '%s' has shape %s, expected %s (from config.json)",
                               f->path, t->name, a, b);
            break;
        }
        view_of[k] = (int)i;
        seen[i] = 1;
    }
    for (size_t i = 0; i < nv && rc == FAITH_OK; i++)
        if (!seen[i]) {
            const faith_param_view *v = faith_model_param_at(m, i);
            shape_str(v->shape, v->ndim, b, sizeof b);
            rc = faith_err_set(err, FAITH_ERR_FORMAT, "%s: missing tensor '%s' (expected shape %s)", f->path, v->name, b);
        }
    for (size_t i = 0; i < nv; i++) free(canon[i]);
    free(canon);
    free(seen);
    return rc;
}

static int fill_params(faith_model *m, const faith_st_file *f, const int *view_of, faith_err *err)
{
    float *P = faith_model_params(m, NULL);
    for (int k = 0; k < f->n; k++) {
        if (view_of[k] < 0) continue;
        const faith_st_tensor *t = &f->t[k];
        const faith_param_view *v = faith_model_param_at(m, (size_t)view_of[k]);
        FAITH_TRY(faith_st_read_f32(f, t, P + v->offset, err));
        FAITH_TRY(check_finite(f->path, t->name, P + v->offset, (size_t)faith_st_numel(t), err));
    }
    return FAITH_OK;
}

/* The first layer config.json promises that the file has no tensor of: checked before the layout
 * is built, so that a num_hidden_layers of 10^8 fails at once instead of laying out 10^8 layers. */
static int check_layer_count(const faith_model_config *c, const faith_st_file *f, faith_err *err)
{
    int db = c->arch == FAITH_ARCH_DISTILBERT;
    const char *stem = db ? "transformer.layer." : "encoder.layer.";
    char cn[512], want[64];
    for (int l = 0; l < c->n_layers; l++) {
        int len = snprintf(want, sizeof want, "%s%d.", stem, l), found = 0;
        for (int k = 0; k < f->n && !found; k++) {
            canonical(f->t[k].name, cn, sizeof cn);
            found = strncmp(cn, want, (size_t)len) == 0;
        }
        if (!found)
            return faith_err_set(err, FAITH_ERR_FORMAT,
                                 "%s: missing tensor '%s.%s%d.%s' (config.json has %d layers, the file's tensors "
                                 "stop before layer %d)",
                                 f->path, faith_arch_name(c->arch), stem, l,
                                 db ? "attention.q_lin.weight" : "attention.self.query.weight", c->n_layers, l);
    }
    return FAITH_OK;
}

int faith_model_load(const char *dir, faith_model **out, faith_err *err)
{
    *out = NULL;
    char path[4096];
    faith_model_config cfg;
    snprintf(path, sizeof path, "%s/config.json", dir);
    FAITH_TRY(faith_hfconfig_read(path, &cfg, err));
    FAITH_TRY(faith_model_config_check(&cfg, path, err));
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    faith_st_file *f = NULL;
    FAITH_TRY(faith_st_open(path, &f, err));
    faith_model *m = NULL;
    int *view_of = faith_xcalloc((size_t)f->n + 1, sizeof *view_of);
    int rc = check_layer_count(&cfg, f, err);
    if (rc == FAITH_OK) rc = faith_model_layout(&cfg, &m, err);
    if (rc == FAITH_OK) rc = match_tensors(m, f, view_of, err);
    if (rc == FAITH_OK) {
        faith_model_alloc_params(m);
        rc = fill_params(m, f, view_of, err);
    }
    free(view_of);
    faith_st_close(f);
    if (rc < 0) faith_model_free(m);
    else *out = m;
    return rc;
}

int faith_model_check_vocab(const faith_model *m, int32_t tok_vocab, const char *dir, faith_err *err)
{
    int32_t v = faith_model_cfg(m)->vocab_size;
    if (tok_vocab <= v) return FAITH_OK;
    /* the file faith_tokenizer_load reads first */
    static const char *const files[] = {"tokenizer.json", "vocab.txt", "vocab.json"};
    char path[4096];
    struct stat st;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (stat(path, &st) == 0) break;
    }
    return faith_err_set(err, FAITH_ERR_FORMAT,
                         "%s: %d tokens, but the model's vocab_size (config.json) is %d: tokenizer and model do not "
                         "match", path, (int)tok_vocab, (int)v);
}

static int mkdir_p(const char *dir, faith_err *err)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return faith_err_set(err, FAITH_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return faith_err_set(err, FAITH_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
    return FAITH_OK;
}

int faith_model_save(const faith_model *m, const char *dir, faith_err *err)
{
    FAITH_TRY(mkdir_p(dir, err));
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FAITH_TRY(faith_hfconfig_write(path, faith_model_cfg(m), err));
    size_t nv = faith_model_param_count(m);
    faith_st_entry *e = faith_xcalloc(nv, sizeof *e);
    const float *P = faith_model_params((faith_model *)m, NULL);
    for (size_t i = 0; i < nv; i++) {
        const faith_param_view *v = faith_model_param_at(m, i);
        e[i].name = v->name;
        e[i].data = P + v->offset;
        e[i].ndim = v->ndim;
        e[i].shape[0] = v->shape[0];
        e[i].shape[1] = v->shape[1];
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = faith_st_write(path, e, (int)nv, err);
    free(e);
    return rc;
}
