/* commands.h: entry points of the `faith` subcommands (one cmd_<name>.c each). Each takes the
 * argv that starts at the command name and returns the process exit code. */
#ifndef FAITH_COMMANDS_H
#define FAITH_COMMANDS_H

#include <stdint.h>

#include "error.h"

int faith_cmd_version(int argc, char **argv);
int faith_cmd_gen(int argc, char **argv);
int faith_cmd_explain(int argc, char **argv);
int faith_cmd_train(int argc, char **argv);
int faith_cmd_run(int argc, char **argv);
int faith_cmd_init_model(int argc, char **argv);
int faith_cmd_predict(int argc, char **argv);
int faith_cmd_bench(int argc, char **argv);

/* --ids of predict and explain: comma-separated non-negative ints, every entry (empty ones
 * included) checked; *ids (caller frees) is set, possibly to an empty-length list, even on error. */
int faith_ids_parse(const char *s, int32_t **ids, int32_t *n, faith_err *err);

#endif
