/* tok_dump.c: prints the ids Faith's tokenizer gives each input line ("text" or "text<TAB>pair"),
 * comma-separated, then with `types` ";" and the token type ids; the C side of tokjs_check.sh,
 * run by hand, never by the tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "tokenizer.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "types") != 0)) {
        fprintf(stderr, "usage: tok_dump TOKENIZER_DIR [types] < lines\n");
        return 2;
    }
    int types = argc == 3;
    faith_err err = {0};
    faith_tokenizer *t = NULL;
    if (faith_tokenizer_load(argv[1], &t, &err) != 0) {
        fprintf(stderr, "tok_dump: %s\n", err.msg);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n') line[--n] = '\0';
        char *pair = strchr(line, '\t');
        if (pair) *pair++ = '\0';
        faith_encoding e;
        memset(&e, 0, sizeof e);
        if (faith_tokenizer_encode(t, line, pair, 0, &e, &err) != 0) {
            printf("ERR %s\n", err.msg);
            continue;
        }
        for (int i = 0; i < e.n; i++) printf(i ? ",%d" : "%d", (int)e.ids[i]);
        if (types) {
            putchar(';');
            for (int i = 0; i < e.n; i++) printf(i ? ",%d" : "%d", (int)e.type_ids[i]);
        }
        putchar('\n');
        faith_encoding_free(&e);
    }
    free(line);
    faith_tokenizer_free(t);
    return 0;
}
