/* words.c: the whitespace word, the unit in which rationales are given and attributions are
 * aggregated; loaders count them with the separators the tokenizer's word index uses (unicode.h). */
#include "dataset.h"

#include <string.h>

#include "unicode.h"

int32_t faith_count_words(const char *s)
{
    int32_t n = 0;
    int in_word = 0;
    size_t len = s ? strlen(s) : 0;
    for (size_t i = 0; i < len;) {
        int sp = faith_uc_word_space_at(s + i, len - i);
        if (sp) in_word = 0;
        else if (!in_word) {
            in_word = 1;
            n++;
        }
        i += sp ? (size_t)sp : 1;
    }
    return n;
}
