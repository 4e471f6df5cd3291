/* cli.c: the command table and the option parser shared by every `faith` command.
 * Each command lives in its own cmd_<name>.c; adding one is that file plus one line here. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

static const faith_command COMMANDS[] = {
    {"version", "print the version, commit and library versions", faith_cmd_version},
    {"init-model", "create a randomly initialised BERT/DistilBERT/RoBERTa classifier in Hugging Face layout", faith_cmd_init_model},
    {"predict", "print tokens, logits, probabilities and the predicted label of a model for inputs", faith_cmd_predict},
    {"bench", "measure sgemm peak and model forward/backward throughput (optionally vs PyTorch)", faith_cmd_bench},
    {"gen", "generate a synthetic dataset with known true rationales (gen synth)", faith_cmd_gen},
    {"explain", "explain one input with any explainer and print token and word scores", faith_cmd_explain},
    {"train", "train or fine-tune a classifier (AdamW, length buckets, dev evals, MPI data-parallel)", faith_cmd_train},
    {"run", "run a benchmark config: explainers x metrics over a dataset, sharded over MPI", faith_cmd_run},
};

const faith_command *faith_commands(int *n)
{
    *n = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);
    return COMMANDS;
}

int faith_cli_fail(const faith_err *err)
{
    fprintf(stderr, "faith: %s\n", err && err->msg[0] ? err->msg : "failed");
    return 1;
}

void faith_opts_usage(const char *cmd, const char *usage, const faith_opt *opts, int n_opts)
{
    printf("usage: faith %s %s\n\noptions:\n", cmd, usage ? usage : "[options]");
    for (int i = 0; i < n_opts; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        printf("  %-28s %s%s\n", left, opts[i].help, opts[i].repeat ? " (repeatable)" : "");
    }
    printf("  %-28s %s\n", "--help", "show this help");
}

faith_opt *faith_opt_find(faith_opt *opts, int n_opts, const char *name)
{
    for (int i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0) return &opts[i];
    return NULL;
}

int faith_opts_parse(const char *cmd, const char *usage, faith_opt *opts, int n_opts, int argc,
                     char **argv, const char **positional, int *n_positional, faith_err *err)
{
    int max_pos = n_positional ? *n_positional : 0, n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            faith_opts_usage(cmd, usage, opts, n_opts);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (!positional || n_pos >= max_pos)
                return faith_err_set(err, FAITH_ERR_ARG,
                                     "%s: unexpected argument '%s' (see faith %s --help)", cmd, a, cmd);
            positional[n_pos++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        faith_opt *o = NULL;
        for (int k = 0; k < n_opts; k++)
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0) o = &opts[k];
        if (!o)
            return faith_err_set(err, FAITH_ERR_ARG, "%s: unknown option '--%.*s' (see faith %s --help)",
                                 cmd, (int)nlen, name, cmd);
        const char *val = NULL;
        if (o->arg) {
            if (eq) val = eq + 1;
            else if (i + 1 < argc) val = argv[++i];
            else return faith_err_set(err, FAITH_ERR_ARG, "%s: option --%s needs a value (%s)", cmd,
                                      o->name, o->arg);
        } else if (eq) {
            return faith_err_set(err, FAITH_ERR_ARG, "%s: option --%s takes no value", cmd, o->name);
        }
        if (o->count > 0 && !o->repeat)
            return faith_err_set(err, FAITH_ERR_ARG, "%s: option --%s given twice", cmd, o->name);
        if (o->repeat && val) {
            o->values = faith_xrealloc(o->values, sizeof(char *) * (size_t)(o->count + 1));
            o->values[o->count] = val;
        }
        o->count++;
        o->value = val;
    }
    if (n_positional) *n_positional = n_pos;
    return 0;
}

void faith_opts_free(faith_opt *opts, int n_opts)
{
    for (int i = 0; i < n_opts; i++) {
        free(opts[i].values);
        opts[i].values = NULL;
        opts[i].count = 0;
        opts[i].value = NULL;
    }
}

const char *faith_opt_str(faith_opt *opts, int n_opts, const char *name, const char *def)
{
    faith_opt *o = faith_opt_find(opts, n_opts, name);
    return o && o->count && o->value ? o->value : def;
}

int faith_opt_flag(faith_opt *opts, int n_opts, const char *name)
{
    faith_opt *o = faith_opt_find(opts, n_opts, name);
    return o && o->count > 0;
}

int faith_parse_int(const char *s, int64_t *out)
{
    if (!s || !*s) return FAITH_ERR_ARG;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return FAITH_ERR_ARG;
    *out = v;
    return FAITH_OK;
}

int faith_parse_double(const char *s, double *out)
{
    if (!s || !*s) return FAITH_ERR_ARG;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return FAITH_ERR_ARG;
    *out = v;
    return FAITH_OK;
}

const char *faith_opt_label(faith_opt *opts, int n_opts, const char *name, char *buf, size_t cap)
{
    const faith_opt *o = faith_opt_find(opts, n_opts, name);
    if (o && o->origin) snprintf(buf, cap, "%s: %s", o->origin, name);
    else snprintf(buf, cap, "--%s", name);
    return buf;
}

int faith_opt_int(faith_opt *opts, int n_opts, const char *name, int64_t def, int64_t lo, int64_t hi,
                  int64_t *out, faith_err *err)
{
    const char *s = faith_opt_str(opts, n_opts, name, NULL);
    if (!s) {
        *out = def;
        return FAITH_OK;
    }
    int64_t v;
    char lab[512];
    if (faith_parse_int(s, &v) < 0 || v < lo || v > hi)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: expected an integer in [%lld, %lld], got '%s'",
                             faith_opt_label(opts, n_opts, name, lab, sizeof lab), (long long)lo, (long long)hi, s);
    *out = v;
    return FAITH_OK;
}

int faith_opt_double(faith_opt *opts, int n_opts, const char *name, double def, double *out,
                     faith_err *err)
{
    const char *s = faith_opt_str(opts, n_opts, name, NULL);
    if (!s) {
        *out = def;
        return FAITH_OK;
    }
    char lab[512];
    if (faith_parse_double(s, out) < 0)
        return faith_err_set(err, FAITH_ERR_ARG, "%s: expected a number, got '%s'",
                             faith_opt_label(opts, n_opts, name, lab, sizeof lab), s);
    return FAITH_OK;
}
