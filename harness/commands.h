/* commands.h: entry points of the `faith` subcommands (one cmd_<name>.c each). Each takes the
 * argv that starts at the command name and returns the process exit code. */
#ifndef FAITH_COMMANDS_H
#define FAITH_COMMANDS_H

int faith_cmd_version(int argc, char **argv);

#endif
