/* unicode.h: the Unicode facts the tokenizers need (UTF-8 decoding, general categories,
 * full lowercasing, canonical decomposition), backed by tables generated from unicodedata. */
#ifndef FAITH_UNICODE_H
#define FAITH_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* General categories; the order is the generator's CATS list (Cn = 0). */
enum {
    FAITH_UC_Cn, FAITH_UC_Lu, FAITH_UC_Ll, FAITH_UC_Lt, FAITH_UC_Lm, FAITH_UC_Lo, FAITH_UC_Mn,
    FAITH_UC_Mc, FAITH_UC_Me, FAITH_UC_Nd, FAITH_UC_Nl, FAITH_UC_No, FAITH_UC_Pc, FAITH_UC_Pd,
    FAITH_UC_Ps, FAITH_UC_Pe, FAITH_UC_Pi, FAITH_UC_Pf, FAITH_UC_Po, FAITH_UC_Sm, FAITH_UC_Sc,
    FAITH_UC_Sk, FAITH_UC_So, FAITH_UC_Zs, FAITH_UC_Zl, FAITH_UC_Zp, FAITH_UC_Cc, FAITH_UC_Cf,
    FAITH_UC_Cs, FAITH_UC_Co, FAITH_UC_NCAT
};

typedef struct faith_uc_range { uint32_t first, last; int cat; } faith_uc_range;
typedef struct faith_uc_map { uint32_t cp; int n; uint32_t to[3]; } faith_uc_map;
typedef struct faith_uc_decomp { uint32_t cp; int off, n; } faith_uc_decomp;

extern const char *const faith_uc_cat_names[FAITH_UC_NCAT];
extern const unsigned char faith_uc_cat_latin1[256];
extern const faith_uc_range faith_uc_cat_ranges[];
extern const int faith_uc_cat_nranges;
extern const faith_uc_map faith_uc_lower_tab[];
extern const int faith_uc_nlower;
extern const uint32_t faith_uc_nfd_data[];
extern const faith_uc_decomp faith_uc_nfd_tab[];
extern const int faith_uc_nnfd;

/* Decode one code point from s[0..len); returns its byte length (1..4) or 0 when the bytes
 * there are not well-formed UTF-8 (overlong forms, surrogates and > U+10FFFF included). */
int faith_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Encode cp into out (4 bytes room); returns the byte length. */
int faith_utf8_encode(uint32_t cp, char *out);
/* Offset of the first ill-formed byte of s[0..len), or -1 when all of it is valid UTF-8. */
long faith_utf8_invalid_at(const char *s, size_t len);

int faith_uc_category(uint32_t cp);
/* Word separators, the one definition of a "word" (rationales, word scores): ASCII whitespace and
 * Unicode Zs spaces (U+00A0, U+3000, ...), as Python's str.split() mostly. */
int faith_uc_is_word_space(uint32_t cp);
/* The byte length of the separator starting at s[0..len), or 0 when none starts there (ill-formed
 * UTF-8 is not a separator). */
int faith_uc_word_space_at(const char *s, size_t len);
int faith_uc_is_letter(uint32_t cp);       /* L* */
int faith_uc_is_number(uint32_t cp);       /* N* */
int faith_uc_is_punct(uint32_t cp);        /* P* */
int faith_uc_is_other(uint32_t cp);        /* C* (Cc Cf Cs Co Cn) */
int faith_uc_is_white_space(uint32_t cp);  /* the White_Space property (regex \s) */
/* A word character as Rust's regex crate (and so Hugging Face's added-token matching) reads \w:
 * Alphabetic, marks, decimal digits, connector punctuation, Join_Control. */
int faith_uc_is_word_char(uint32_t cp);
/* Full lowercase mapping (str.lower of the single character); returns the count (1..3). */
int faith_uc_lower(uint32_t cp, uint32_t out[3]);
/* Canonical decomposition (NFD of the single character); returns the count (1..4+), writing
 * at most cap code points. */
int faith_uc_nfd(uint32_t cp, uint32_t *out, int cap);

#endif
