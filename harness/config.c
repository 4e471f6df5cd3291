/* config.c: reads a run config strictly (every key known, every type checked, paths named like
 * "explainers[2].params"), fills defaults, creates components and hashes the canonical form. */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "json.h"
#include "probe.h"
#include "sha256.h"
#include "unicode.h"
#include "zio.h"

typedef struct ctx {
    const char *label;   /* file name for messages */
    faith_err *err;
} ctx;

static int bad(ctx *c, const char *path, const char *fmt, const char *a)
{
    char m[512];
    snprintf(m, sizeof m, fmt, a);
    return faith_err_set(c->err, FAITH_ERR_ARG, "%s: %s: %s", c->label, path[0] ? path : "(top)", m);
}

static const char *type_name(const cJSON *j)
{
    if (cJSON_IsObject(j)) return "an object";
    if (cJSON_IsArray(j)) return "an array";
    if (cJSON_IsString(j)) return "a string";
    if (cJSON_IsNumber(j)) return "a number";
    if (cJSON_IsBool(j)) return "a boolean";
    if (cJSON_IsNull(j)) return "null";
    return "an invalid value";
}

static void join(char *out, size_t cap, const char *path, const char *key)
{
    snprintf(out, cap, "%s%s%s", path, path[0] ? "." : "", key);
}

/* Every key of obj must be in allowed (faith_json_parse has refused duplicates); a near miss gets a
 * suggestion. */
static int check_keys(ctx *c, const cJSON *obj, const char *path, const char *const *allowed,
                      size_t n)
{
    for (const cJSON *k = obj->child; k; k = k->next) {
        char p[300];
        join(p, sizeof p, path, k->string);
        size_t i = 0;
        while (i < n && strcmp(allowed[i], k->string) != 0) i++;
        if (i < n) continue;
        const char *near = faith_closest_name(k->string, allowed, n);
        char hint[160] = "";
        if (near) snprintf(hint, sizeof hint, " (did you mean '%s'?)", near);
        char m[400];
        snprintf(m, sizeof m, "unknown key%s; known keys here:", hint);
        for (size_t j = 0; j < n; j++) {
            size_t l = strlen(m);
            snprintf(m + l, sizeof m - l, " %s", allowed[j]);
        }
        return bad(c, p, "%s", m);
    }
    return FAITH_OK;
}

static int want(ctx *c, const cJSON *v, const char *path, int ok, const char *what)
{
    if (ok) return FAITH_OK;
    char m[200];
    snprintf(m, sizeof m, "expected %s, got %s", what, type_name(v));
    return bad(c, path, "%s", m);
}

static int get_str(ctx *c, const cJSON *obj, const char *path, const char *key, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return FAITH_OK;
    char p[300];
    join(p, sizeof p, path, key);
    FAITH_TRY(want(c, v, p, cJSON_IsString(v) && v->valuestring[0], "a non-empty string"));
    free(*out);
    *out = faith_xstrdup(v->valuestring);
    return FAITH_OK;
}

static int get_int(ctx *c, const cJSON *obj, const char *path, const char *key, int64_t lo,
                   int64_t hi, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return FAITH_OK;
    char p[300], what[120];
    join(p, sizeof p, path, key);
    snprintf(what, sizeof what, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    FAITH_TRY(want(c, v, p, cJSON_IsNumber(v) && d == floor(d) && d >= (double)lo && d <= (double)hi,
                   what));
    *out = (int64_t)d;
    return FAITH_OK;
}

static int get_double(ctx *c, const cJSON *obj, const char *path, const char *key, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v)) return FAITH_OK;
    char p[300];
    join(p, sizeof p, path, key);
    FAITH_TRY(want(c, v, p, cJSON_IsNumber(v) && isfinite(v->valuedouble), "a number"));
    *out = v->valuedouble;
    return FAITH_OK;
}

static char *resolve(const char *dir, const char *p)
{
    if (p[0] == '/') return faith_xstrdup(p);
    size_t n = strlen(dir) + strlen(p) + 2;
    char *r = faith_xmalloc(n);
    snprintf(r, n, "%s/%s", dir, p);
    return r;
}

static int parse_dataset(ctx *c, const char *dir, faith_data_cfg *out, const cJSON *d,
                         const char *path)
{
    static const char *const keys[] = {"format", "path", "split", "limit", "text_column",
                                       "pair_column", "label_column", "label_names"};
    char p[300];
    FAITH_TRY(want(c, d, path, cJSON_IsObject(d), "an object"));
    FAITH_TRY(check_keys(c, d, path, keys, sizeof keys / sizeof keys[0]));
    char *file = NULL;
    FAITH_TRY(get_str(c, d, path, "path", &file));
    join(p, sizeof p, path, "path");
    if (!file) return bad(c, p, "%s", "missing (the dataset file or directory)");
    out->path = resolve(dir, file);
    free(file);
    FAITH_TRY(get_str(c, d, path, "format", &out->format));
    FAITH_TRY(get_str(c, d, path, "split", &out->split));
    FAITH_TRY(get_int(c, d, path, "limit", 0, INT64_C(1) << 40, &out->limit));
    FAITH_TRY(get_str(c, d, path, "text_column", &out->text_col));
    FAITH_TRY(get_str(c, d, path, "pair_column", &out->pair_col));
    FAITH_TRY(get_str(c, d, path, "label_column", &out->label_col));
    const cJSON *ln = cJSON_GetObjectItemCaseSensitive(d, "label_names");
    join(p, sizeof p, path, "label_names");
    if (ln && !cJSON_IsNull(ln)) {
        FAITH_TRY(want(c, ln, p, cJSON_IsArray(ln), "an array of strings"));
        int n = cJSON_GetArraySize(ln);
        if (n > 64) return bad(c, p, "%s", "more than 64 labels");
        out->label_names = faith_xcalloc((size_t)n + 1, sizeof(char *));
        for (int i = 0; i < n; i++) {
            const cJSON *s = cJSON_GetArrayItem(ln, i);
            char q[320];
            snprintf(q, sizeof q, "%s[%d]", p, i);
            FAITH_TRY(want(c, s, q, cJSON_IsString(s), "a string"));
            out->label_names[i] = faith_xstrdup(s->valuestring);
            out->n_label_names = i + 1;
        }
    }
    if (!out->format) out->format = faith_xstrdup("auto");
    return FAITH_OK;
}

static int parse_probe(ctx *c, faith_run_config *r, const cJSON *pr)
{
    static const char *const keys[] = {"property", "words", "train", "iters", "holdout", "lambdas"};
    FAITH_TRY(want(c, pr, "probe", cJSON_IsObject(pr), "an object"));
    FAITH_TRY(check_keys(c, pr, "probe", keys, sizeof keys / sizeof keys[0]));
    faith_probe_cfg *p = &r->probe;
    r->has_probe = 1;
    FAITH_TRY(get_str(c, pr, "probe", "property", &p->property));
    if (!p->property) p->property = faith_xstrdup("label");
    static const char *const props[] = {"label", "length_bin", "negation", "wordlist"};
    size_t k = 0;
    while (k < 4 && strcmp(props[k], p->property) != 0) k++;
    if (k == 4) return bad(c, "probe.property", "'%s': expected label, length_bin, negation or wordlist", p->property);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(pr, "words");
    if (w && !cJSON_IsNull(w)) {
        FAITH_TRY(want(c, w, "probe.words", cJSON_IsArray(w) && cJSON_GetArraySize(w) > 0,
                       "a non-empty array of strings"));
        int n = cJSON_GetArraySize(w);
        p->words = faith_xcalloc((size_t)n, sizeof(char *));
        for (int i = 0; i < n; i++) {
            const cJSON *s = cJSON_GetArrayItem(w, i);
            char q[64];
            snprintf(q, sizeof q, "probe.words[%d]", i);
            /* texts are matched word by word, lower-cased and stripped of edge punctuation */
            /* one word: non-empty, no separator anywhere (ASCII or Unicode spaces, as faith_count_words) */
            int one = cJSON_IsString(s) && s->valuestring[0];
            for (size_t k = 0, n_s = one ? strlen(s->valuestring) : 0; one && k < n_s; k++)
                one = faith_uc_word_space_at(s->valuestring + k, n_s - k) == 0;
            FAITH_TRY(want(c, s, q, one, "one word (a non-empty string without spaces)"));
            p->words[i] = faith_xstrdup(s->valuestring);
            for (char *ch = p->words[i]; *ch; ch++) *ch = (char)tolower((unsigned char)*ch);
            p->n_words = i + 1;
        }
    }
    if ((k == 3) != (p->words != NULL))
        return bad(c, "probe.words", "%s", k == 3 ? "missing (the wordlist property needs words)"
                                                  : "only the wordlist property takes words");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(pr, "train");
    if (!t) return bad(c, "probe.train", "%s", "missing (the dataset the probes are trained on)");
    p->train.limit = FAITH_DEFAULT_PROBE_TRAIN_LIMIT;
    FAITH_TRY(parse_dataset(c, r->dir, &p->train, t, "probe.train"));
    /* the fit's defaults are filled in here, so the manifest and the config hash show what runs */
    faith_probe_opts def = {0};
    faith_probe_opts_default(&def);
    int64_t v = def.iters;
    FAITH_TRY(get_int(c, pr, "probe", "iters", 1, 100000, &v));
    p->iters = (int32_t)v;
    p->holdout = def.holdout;
    FAITH_TRY(get_double(c, pr, "probe", "holdout", &p->holdout));
    if (!(p->holdout > 0 && p->holdout < 1)) return bad(c, "probe.holdout", "%s", "expected a number in (0, 1)");
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(pr, "lambdas");
    if (l && !cJSON_IsNull(l)) {
        FAITH_TRY(want(c, l, "probe.lambdas", cJSON_IsArray(l) && cJSON_GetArraySize(l) > 0,
                       "a non-empty array of numbers"));
        int n = cJSON_GetArraySize(l);
        p->lambdas = faith_xcalloc((size_t)n, sizeof(double));
        for (int i = 0; i < n; i++) {
            const cJSON *x = cJSON_GetArrayItem(l, i);
            char q[64];
            snprintf(q, sizeof q, "probe.lambdas[%d]", i);
            FAITH_TRY(want(c, x, q, cJSON_IsNumber(x) && isfinite(x->valuedouble) && x->valuedouble >= 0,
                           "a finite number >= 0"));
            p->lambdas[i] = x->valuedouble;
            p->n_lambdas = i + 1;
        }
    } else {
        p->lambdas = faith_xmalloc(sizeof(double) * (size_t)def.n_lambdas);
        memcpy(p->lambdas, def.lambdas, sizeof(double) * (size_t)def.n_lambdas);
        p->n_lambdas = def.n_lambdas;
    }
    return FAITH_OK;
}

static int parse_components(ctx *c, const cJSON *a, const char *key, faith_component_cfg **out,
                            int32_t *n_out)
{
    static const char *const keys[] = {"name", "params"};
    FAITH_TRY(want(c, a, key, a && cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0,
                   "a non-empty array of {\"name\", \"params\"} objects"));
    int n = cJSON_GetArraySize(a);
    *out = faith_xcalloc((size_t)n, sizeof **out);
    for (int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(a, i);
        char p[64];
        snprintf(p, sizeof p, "%s[%d]", key, i);
        *n_out = i + 1;
        FAITH_TRY(want(c, e, p, cJSON_IsObject(e), "an object"));
        FAITH_TRY(check_keys(c, e, p, keys, 2));
        FAITH_TRY(get_str(c, e, p, "name", &(*out)[i].name));
        if (!(*out)[i].name) return bad(c, p, "%s", "missing key 'name'");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive(e, "params");
        if (pr && !cJSON_IsNull(pr)) {
            char pp[80];
            snprintf(pp, sizeof pp, "%s.params", p);
            FAITH_TRY(want(c, pr, pp, cJSON_IsObject(pr), "an object"));
            (*out)[i].params = cJSON_Duplicate(pr, 1);
        }
        for (int j = 0; j < i; j++)
            if (strcmp((*out)[j].name, (*out)[i].name) == 0)
                return bad(c, p, "'%s' is listed twice (each name may appear once)", (*out)[i].name);
    }
    return FAITH_OK;
}

static int parse_sanity(ctx *c, faith_run_config *r, const cJSON *s)
{
    static const char *const keys[] = {"model_randomization"};
    static const char *const mr_keys[] = {"layers", "threshold"};
    FAITH_TRY(want(c, s, "sanity", cJSON_IsObject(s), "an object"));
    FAITH_TRY(check_keys(c, s, "sanity", keys, 1));
    const cJSON *mr = cJSON_GetObjectItemCaseSensitive(s, "model_randomization");
    if (!mr || cJSON_IsNull(mr)) return FAITH_OK;
    const char *p = "sanity.model_randomization";
    FAITH_TRY(want(c, mr, p, cJSON_IsObject(mr), "an object"));
    FAITH_TRY(check_keys(c, mr, p, mr_keys, 2));
    int64_t layers = 1;
    FAITH_TRY(get_int(c, mr, p, "layers", 1, 1000, &layers));
    r->has_sanity = 1;
    r->sanity_layers = (int32_t)layers;
    r->sanity_threshold = 0.5;
    FAITH_TRY(get_double(c, mr, p, "threshold", &r->sanity_threshold));
    return FAITH_OK;
}

static int valid_name(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static int parse_root(ctx *c, faith_run_config *r, const cJSON *root)
{
    static const char *const keys[] = {"name",   "seed",    "model",   "dataset", "max_length",
                                       "explainers", "metrics", "batch", "threads", "output",
                                       "probe",  "sanity",  "products"};
    FAITH_TRY(want(c, root, "", cJSON_IsObject(root), "a JSON object"));
    FAITH_TRY(check_keys(c, root, "", keys, sizeof keys / sizeof keys[0]));
    FAITH_TRY(get_str(c, root, "", "name", &r->name));
    if (!r->name) return bad(c, "name", "%s", "missing (names the run and its default output dir)");
    if (!valid_name(r->name) || r->name[0] == '.')
        return bad(c, "name", "'%s': use only letters, digits, '-', '_' and '.'", r->name);
    int64_t v = 0;
    FAITH_TRY(get_int(c, root, "", "seed", 0, INT64_C(1) << 53, &v));
    r->seed = (uint64_t)v;
    char *model = NULL;
    FAITH_TRY(get_str(c, root, "", "model", &model));
    if (!model) return bad(c, "model", "%s", "missing (a model directory)");
    r->model_dir = resolve(r->dir, model);
    free(model);
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(root, "dataset");
    if (!d) return bad(c, "dataset", "%s", "missing");
    FAITH_TRY(parse_dataset(c, r->dir, &r->dataset, d, "dataset"));
    v = FAITH_DEFAULT_MAX_LENGTH;
    FAITH_TRY(get_int(c, root, "", "max_length", 3, 1 << 20, &v));
    r->max_length = (int32_t)v;
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(root, "max_length");
    r->max_length_given = ml && !cJSON_IsNull(ml);
    FAITH_TRY(parse_components(c, cJSON_GetObjectItemCaseSensitive(root, "explainers"), "explainers",
                               &r->explainers, &r->n_explainers));
    FAITH_TRY(parse_components(c, cJSON_GetObjectItemCaseSensitive(root, "metrics"), "metrics",
                               &r->metrics, &r->n_metrics));
    r->batch_tokens = FAITH_DEFAULT_TOKEN_BUDGET;
    r->batch_chunk = FAITH_DEFAULT_CHUNK;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(root, "batch");
    if (b && !cJSON_IsNull(b)) {
        static const char *const bk[] = {"tokens", "chunk"};
        FAITH_TRY(want(c, b, "batch", cJSON_IsObject(b), "an object"));
        FAITH_TRY(check_keys(c, b, "batch", bk, 2));
        FAITH_TRY(get_int(c, b, "batch", "tokens", 1, INT64_C(1) << 32, &r->batch_tokens));
        v = r->batch_chunk;
        FAITH_TRY(get_int(c, b, "batch", "chunk", 1, 1 << 20, &v));
        r->batch_chunk = (int32_t)v;
    }
    v = 0;
    FAITH_TRY(get_int(c, root, "", "threads", 0, 4096, &v));
    r->threads = (int32_t)v;
    char *products = NULL;
    FAITH_TRY(get_str(c, root, "", "products", &products));
    r->products = FAITH_PRODUCTS_PER_SEQUENCE;
    if (products && faith_products_parse(products, &r->products) < 0) {
        int rc = bad(c, "products", "'%s': expected \"per_sequence\" or \"batched\"", products);
        free(products);
        return rc;
    }
    free(products);
    char *output = NULL;
    FAITH_TRY(get_str(c, root, "", "output", &output));
    if (output) {
        r->output = resolve(r->dir, output);
        free(output);
    } else {
        size_t n = strlen(r->name) + 16;
        r->output = faith_xmalloc(n);
        snprintf(r->output, n, "results/%s", r->name);
        r->output_defaulted = 1;
    }
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(root, "probe");
    if (pr && !cJSON_IsNull(pr)) {
        FAITH_TRY(parse_probe(c, r, pr));
    }
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "sanity");
    if (s && !cJSON_IsNull(s)) FAITH_TRY(parse_sanity(c, r, s));
    return FAITH_OK;
}

int faith_config_parse(const char *text, const char *base_dir, const char *label,
                       faith_run_config **out, faith_err *err)
{
    ctx c = {label ? label : "<config>", err};
    cJSON *root;
    FAITH_TRY(faith_json_parse(text, strlen(text), c.label, &root, err));
    faith_run_config *r = faith_xcalloc(1, sizeof *r);
    r->path = faith_xstrdup(c.label);
    r->dir = faith_xstrdup(base_dir ? base_dir : ".");
    int rc = parse_root(&c, r, root);
    cJSON_Delete(root);
    if (rc < 0) {
        faith_config_free(r);
        return rc;
    }
    *out = r;
    return FAITH_OK;
}

int faith_config_load(const char *path, faith_run_config **out, faith_err *err)
{
    uint8_t *text;
    size_t n;
    FAITH_TRY(faith_zio_read_file(path, 0, 0, &text, &n, err));
    if (strlen((char *)text) != n) {
        free(text);
        return faith_err_set(err, FAITH_ERR_FORMAT, "%s: contains a NUL byte", path);
    }
    char *copy = faith_xstrdup(path), *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy) dir = "/";
    else if (slash) *slash = '\0', dir = copy;
    char *abs = realpath(dir, NULL);
    int rc = faith_config_parse((char *)text, abs ? abs : dir, path, out, err);
    free(abs);
    free(copy);
    free(text);
    return rc;
}

static void free_components(faith_component_cfg *a, int32_t n)
{
    for (int32_t i = 0; a && i < n; i++) {
        free(a[i].name);
        cJSON_Delete(a[i].params);
    }
    free(a);
}

static void free_data(faith_data_cfg *d)
{
    free(d->format), free(d->path), free(d->split), free(d->text_col), free(d->pair_col);
    free(d->label_col);
    for (int32_t i = 0; i < d->n_label_names; i++) free(d->label_names[i]);
    free(d->label_names);
}

void faith_config_free(faith_run_config *c)
{
    if (!c) return;
    free(c->path), free(c->dir), free(c->name), free(c->model_dir), free(c->output);
    free_data(&c->dataset);
    free_data(&c->probe.train);
    free(c->probe.property), free(c->probe.lambdas);
    for (int32_t i = 0; i < c->probe.n_words; i++) free(c->probe.words[i]);
    free(c->probe.words);
    free_components(c->explainers, c->n_explainers);
    free_components(c->metrics, c->n_metrics);
    free(c);
}

void faith_config_set_output(faith_run_config *c, const char *dir)
{
    free(c->output);
    c->output = faith_xstrdup(dir);
    c->output_defaulted = 0;
}

int faith_config_components(const faith_run_config *c, faith_explainer ***ex, faith_metric ***me,
                            faith_err *err)
{
    *ex = faith_xcalloc((size_t)c->n_explainers, sizeof **ex);
    *me = faith_xcalloc((size_t)c->n_metrics, sizeof **me);
    for (int32_t i = 0; i < c->n_explainers; i++) {
        int rc = faith_explainer_create(c->explainers[i].name, c->explainers[i].params, &(*ex)[i], err);
        if (rc < 0) {
            faith_err_prefix(err, "%s: explainers[%d] ('%s'): ", c->path, i, c->explainers[i].name);
            faith_config_free_components(c, *ex, *me);
            *ex = NULL, *me = NULL;
            return rc;
        }
    }
    for (int32_t i = 0; i < c->n_metrics; i++) {
        int rc = faith_metric_create(c->metrics[i].name, c->metrics[i].params, &(*me)[i], err);
        if (rc < 0) {
            faith_err_prefix(err, "%s: metrics[%d] ('%s'): ", c->path, i, c->metrics[i].name);
            faith_config_free_components(c, *ex, *me);
            *ex = NULL, *me = NULL;
            return rc;
        }
    }
    return FAITH_OK;
}

void faith_config_free_components(const faith_run_config *c, faith_explainer **ex,
                                  faith_metric **me)
{
    for (int32_t i = 0; ex && i < c->n_explainers; i++) faith_explainer_free(ex[i]);
    for (int32_t i = 0; me && i < c->n_metrics; i++) faith_metric_free(me[i]);
    free(ex);
    free(me);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v) cJSON_AddStringToObject(o, k, v);
    else cJSON_AddNullToObject(o, k);
}

static cJSON *data_json(const faith_data_cfg *c)
{
    cJSON *d = cJSON_CreateObject();
    add_str(d, "format", c->format);
    add_str(d, "path", c->path);
    add_str(d, "split", c->split);
    cJSON_AddNumberToObject(d, "limit", (double)c->limit);
    add_str(d, "text_column", c->text_col);
    add_str(d, "pair_column", c->pair_col);
    add_str(d, "label_column", c->label_col);
    if (c->label_names)
        cJSON_AddItemToObject(d, "label_names", cJSON_CreateStringArray(
                                  (const char *const *)c->label_names, c->n_label_names));
    else cJSON_AddNullToObject(d, "label_names");
    return d;
}

cJSON *faith_config_resolved(const faith_run_config *c, faith_explainer *const *ex,
                             faith_metric *const *me)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddStringToObject(o, "model", c->model_dir);
    cJSON_AddItemToObject(o, "dataset", data_json(&c->dataset));
    cJSON_AddNumberToObject(o, "max_length", c->max_length);
    cJSON *ea = cJSON_AddArrayToObject(o, "explainers");
    for (int32_t i = 0; i < c->n_explainers; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", c->explainers[i].name);
        cJSON_AddItemToObject(e, "version", cJSON_CreateString(ex ? ex[i]->ops->version : ""));
        cJSON_AddItemToObject(e, "params", ex ? faith_explainer_params_json(ex[i])
                                              : cJSON_Duplicate(c->explainers[i].params, 1));
        cJSON_AddItemToArray(ea, e);
    }
    cJSON *ma = cJSON_AddArrayToObject(o, "metrics");
    for (int32_t i = 0; i < c->n_metrics; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", c->metrics[i].name);
        cJSON_AddItemToObject(m, "version", cJSON_CreateString(me ? me[i]->ops->version : ""));
        cJSON_AddItemToObject(m, "params", me && me[i]->ops->params_json
                                               ? me[i]->ops->params_json(me[i]->state)
                                               : cJSON_Duplicate(c->metrics[i].params, 1));
        cJSON_AddItemToArray(ma, m);
    }
    cJSON *b = cJSON_AddObjectToObject(o, "batch");
    cJSON_AddNumberToObject(b, "tokens", (double)c->batch_tokens);
    cJSON_AddNumberToObject(b, "chunk", c->batch_chunk);
    cJSON_AddStringToObject(o, "products", faith_products_name(c->products));
    if (c->has_probe) {
        cJSON *p = cJSON_AddObjectToObject(o, "probe");
        cJSON_AddStringToObject(p, "property", c->probe.property);
        if (c->probe.words)
            cJSON_AddItemToObject(p, "words", cJSON_CreateStringArray((const char *const *)c->probe.words,
                                                                      c->probe.n_words));
        cJSON_AddItemToObject(p, "train", data_json(&c->probe.train));
        cJSON_AddNumberToObject(p, "iters", c->probe.iters);
        cJSON_AddNumberToObject(p, "holdout", c->probe.holdout);
        if (c->probe.lambdas) cJSON_AddItemToObject(p, "lambdas", cJSON_CreateDoubleArray(c->probe.lambdas, c->probe.n_lambdas));
        else cJSON_AddNullToObject(p, "lambdas");
    } else {
        cJSON_AddNullToObject(o, "probe");
    }
    if (c->has_sanity) {
        cJSON *s = cJSON_AddObjectToObject(o, "sanity");
        cJSON *mr = cJSON_AddObjectToObject(s, "model_randomization");
        cJSON_AddNumberToObject(mr, "layers", c->sanity_layers);
        cJSON_AddNumberToObject(mr, "threshold", c->sanity_threshold);
    } else {
        cJSON_AddNullToObject(o, "sanity");
    }
    return o;
}

static int cmp_items(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string, y->string);
}

/* A deep copy with object keys in byte order, so equal configs print equal bytes. */
static cJSON *sorted_copy(const cJSON *j)
{
    if (!j) return cJSON_CreateNull();
    if (cJSON_IsObject(j)) {
        int n = cJSON_GetArraySize(j), k = 0;
        const cJSON **items = faith_xcalloc((size_t)n + 1, sizeof *items);
        for (const cJSON *c = j->child; c; c = c->next) items[k++] = c;
        qsort(items, (size_t)n, sizeof *items, cmp_items);
        cJSON *o = cJSON_CreateObject();
        for (int i = 0; i < n; i++) cJSON_AddItemToObject(o, items[i]->string, sorted_copy(items[i]));
        free(items);
        return o;
    }
    if (cJSON_IsArray(j)) {
        cJSON *a = cJSON_CreateArray();
        for (const cJSON *c = j->child; c; c = c->next) cJSON_AddItemToArray(a, sorted_copy(c));
        return a;
    }
    return cJSON_Duplicate(j, 0);
}

char *faith_json_canonical(const cJSON *j)
{
    cJSON *s = sorted_copy(j);
    char *out = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return out;
}

void faith_config_hash(const cJSON *resolved, char hex[65])
{
    char *s = faith_json_canonical(resolved);
    faith_sha256_hex(s, strlen(s), hex);
    cJSON_free(s);
}
