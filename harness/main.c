/* main.c: the `faith` program's entry: finds the command by name and runs it.
 * Commands own their option parsing, MPI setup and exit code. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(void)
{
    int n;
    const faith_command *c = faith_commands(&n);
    printf("usage: faith <command> [options]   (faith <command> --help for its options)\n\ncommands:\n");
    for (int i = 0; i < n; i++) printf("  %-12s %s\n", c[i].name, c[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    int n;
    const faith_command *c = faith_commands(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(argv[1], c[i].name) == 0) return c[i].main(argc - 1, argv + 1);
    fprintf(stderr, "faith: unknown command '%s' (see faith --help)\n", argv[1]);
    return 2;
}
