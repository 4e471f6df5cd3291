/* words.c: the whitespace word, the unit in which rationales are given and attributions are
 * aggregated; shared by loaders (rationale length) and tokenizers (word index). */
#include "dataset.h"

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int32_t faith_count_words(const char *s)
{
    int32_t n = 0;
    int in_word = 0;
    for (; s && *s; s++) {
        if (is_space((unsigned char)*s)) in_word = 0;
        else if (!in_word) {
            in_word = 1;
            n++;
        }
    }
    return n;
}
