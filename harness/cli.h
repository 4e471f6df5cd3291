/* cli.h: the command table of the `faith` program and a small declarative option parser
 * (long options only, unknown options are errors, --help generated from the table). */
#ifndef FAITH_CLI_H
#define FAITH_CLI_H

#include <stdint.h>

#include "error.h"

typedef struct faith_opt {
    const char *name;      /* long name without "--" */
    const char *arg;       /* metavar for options taking a value; NULL for flags */
    const char *help;
    int repeat;            /* may be given several times (values collected in order) */
    /* filled by faith_opts_parse */
    int count;
    const char *value;     /* last value given */
    const char **values;   /* every value, when repeat (freed by faith_opts_free) */
    const char *origin;    /* the file the value came from (a --config), or NULL: the command line */
} faith_opt;

/* Parse argv[1..] (argv[0] is the command name) against opts. Positional arguments are not allowed
 * unless positional is not NULL, where they are collected (max *n_positional on input, count on
 * output). Returns 1 after printing help for --help/-h, 0 on success, FAITH_ERR_ARG with a message
 * for unknown options or missing values. */
int faith_opts_parse(const char *cmd, const char *usage, faith_opt *opts, int n_opts, int argc,
                     char **argv, const char **positional, int *n_positional, faith_err *err);
void faith_opts_free(faith_opt *opts, int n_opts);
void faith_opts_usage(const char *cmd, const char *usage, const faith_opt *opts, int n_opts);

faith_opt *faith_opt_find(faith_opt *opts, int n_opts, const char *name);
/* Value of an option, or def when not given. */
const char *faith_opt_str(faith_opt *opts, int n_opts, const char *name, const char *def);
/* Integer option with range check; FAITH_ERR_ARG naming the option (or the config file and key
 * it came from) when malformed. */
int faith_opt_int(faith_opt *opts, int n_opts, const char *name, int64_t def, int64_t lo, int64_t hi,
                  int64_t *out, faith_err *err);
int faith_opt_double(faith_opt *opts, int n_opts, const char *name, double def, double *out,
                     faith_err *err);
int faith_opt_flag(faith_opt *opts, int n_opts, const char *name);
/* How an error names an option: "--seed", or "train.json: seed" for a value from a config file. */
const char *faith_opt_label(faith_opt *opts, int n_opts, const char *name, char *buf, size_t cap);

/* Strict number parsing used everywhere (whole string must be a number). */
int faith_parse_int(const char *s, int64_t *out);
int faith_parse_double(const char *s, double *out);

/* A command: name, one-line summary, entry point (returns the process exit code). */
typedef struct faith_command {
    const char *name;
    const char *summary;
    int (*main)(int argc, char **argv);
} faith_command;

const faith_command *faith_commands(int *n);

/* Print "faith: <msg>" to stderr and return exit status 1 (the CLI's one way to fail). */
int faith_cli_fail(const faith_err *err);

#endif
