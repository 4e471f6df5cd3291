/* synth.c: generator of the synthetic sentiment task: planted signal words (optionally negated)
 * decide the label, filler and decoys carry no signal, and the true rationale is known exactly. */
#include "synth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rng.h"

const char *const faith_synth_positive[] = {"good",       "great",     "excellent", "wonderful",
                                            "superb",     "brilliant", "delightful", "enjoyable",
                                            "fantastic",  "lovely",    "pleasant",  "perfect"};
const char *const faith_synth_negative[] = {"bad",     "awful",    "terrible", "horrible",
                                            "poor",    "boring",   "dreadful", "dull",
                                            "nasty",   "weak",     "ugly",     "stupid"};
const char *const faith_synth_negators[] = {"not", "never"};
/* Intensifiers and review vocabulary: they look like evidence, so an explainer that rewards them
 * is wrong, and a model can use them only if it overfits (they are drawn independently of the label). */
const char *const faith_synth_decoys[] = {
    "really", "very",  "quite", "truly",   "simply", "rather",   "extremely", "absolutely",
    "honestly", "frankly", "surprisingly", "film", "movie", "story", "acting", "plot",
    "script", "scene", "ending", "cast", "director", "performance", "music"};
/* Common neutral English words: no negations (no, nothing, without), no evaluative adjectives. */
const char *const faith_synth_filler[] = {
    "the", "a", "an", "of", "and", "to", "in", "on", "at", "by", "for", "with", "from", "as",
    "into", "over", "under", "about", "after", "before", "between", "through", "during", "this",
    "that", "these", "those", "it", "its", "he", "she", "they", "we", "you", "i", "his", "her",
    "their", "our", "your", "my", "them", "him", "us", "me", "is", "was", "are", "were", "be",
    "been", "being", "has", "had", "have", "do", "does", "did", "will", "would", "can", "could",
    "should", "may", "might", "must", "shall", "said", "says", "told", "asked", "went", "came",
    "made", "took", "gave", "found", "kept", "left", "put", "set", "got", "saw", "knew", "thought",
    "seemed", "became", "began", "house", "room", "door", "window", "table", "chair", "floor",
    "wall", "street", "road", "city", "town", "village", "country", "river", "lake", "sea",
    "ocean", "island", "mountain", "hill", "field", "forest", "tree", "garden", "park", "bridge",
    "station", "train", "bus", "car", "ship", "boat", "plane", "airport", "hotel", "office",
    "school", "class", "teacher", "student", "book", "page", "letter", "paper", "pen", "desk",
    "box", "bag", "bottle", "cup", "glass", "plate", "bowl", "kitchen", "water", "bread", "rice",
    "milk", "tea", "coffee", "salt", "sugar", "apple", "orange", "lemon", "corn", "egg", "fish",
    "meat", "soup", "cake", "morning", "evening", "night", "day", "week", "month", "year", "hour",
    "minute", "second", "today", "tomorrow", "yesterday", "spring", "summer", "autumn", "winter",
    "man", "woman", "child", "boy", "girl", "family", "friend", "mother", "father", "brother",
    "sister", "son", "daughter", "uncle", "aunt", "neighbor", "king", "queen", "captain", "doctor",
    "farmer", "driver", "worker", "soldier", "officer", "lawyer", "writer", "painter", "singer",
    "player", "dog", "cat", "horse", "cow", "bird", "sheep", "pig", "mouse", "rabbit", "lion",
    "bear", "wolf", "fox", "duck", "red", "blue", "green", "yellow", "black", "white", "brown",
    "gray", "purple", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "first", "third", "hundred", "thousand", "north", "south", "east", "west",
    "top", "bottom", "middle", "side", "front", "back", "inside", "outside", "walk", "run", "sit",
    "stand", "open", "close", "read", "write", "speak", "listen", "watch", "look", "turn", "move",
    "carry", "bring", "send", "call", "wait", "stay", "meet", "visit", "travel", "return",
    "arrive", "leave", "enter", "follow", "pass", "cross", "climb", "drive", "ride", "number",
    "name", "word", "line", "part", "piece", "group", "list", "plan", "point", "place", "area",
    "region", "state", "nation", "center", "map", "stone", "wood", "metal", "iron", "gold",
    "silver", "cloth", "wool", "cotton", "sand", "snow", "rain", "wind", "cloud", "sky", "sun",
    "moon", "star", "then", "there", "here", "where", "when", "while", "also", "just", "only",
    "still", "again", "once", "soon", "later", "early", "often", "usually", "some", "many", "few",
    "several", "each", "every", "all", "both", "other", "another", "such", "same", "more", "most",
    "which", "who", "what", "whose", "whom", "how", "why", "if", "because", "since", "until",
    "though", "although", "large", "small", "long", "short", "tall", "wide", "narrow", "high",
    "low", "old", "new", "young", "deep", "flat", "round", "square", "heavy", "light",
};

#define COUNT(a) ((int)(sizeof a / sizeof a[0]))
const int faith_synth_n_positive = COUNT(faith_synth_positive);
const int faith_synth_n_negative = COUNT(faith_synth_negative);
const int faith_synth_n_negators = COUNT(faith_synth_negators);
const int faith_synth_n_decoys = COUNT(faith_synth_decoys);
const int faith_synth_n_filler = COUNT(faith_synth_filler);

#define NEGATE_PERCENT 30 /* chance that a signal word is written as "not <opposite word>" */
#define DECOY_PERCENT 15  /* chance that a non-signal word is a decoy rather than filler */

void faith_synth_split_sizes(int64_t n, int64_t *train, int64_t *dev, int64_t *test)
{
    int64_t held = n / 10 > 1 ? n / 10 : 1;
    *dev = held;
    *test = held;
    *train = n - 2 * held;
}

typedef struct synth_ex {
    const char *words[FAITH_SYNTH_MAX_LEN];
    uint8_t rationale[FAITH_SYNTH_MAX_LEN];
    int32_t n;
    int32_t label;
} synth_ex;

/* Effective polarity (+1/-1) of each signal unit: 1 unit, or 3 units with at most one against the
 * label, so the sum is odd (never a tie) and its sign is the label. */
static int plan_units(faith_rng *r, int32_t len, int sign, int pol[3])
{
    int k = (len >= 6 && faith_rng_below(r, 2)) ? 3 : 1;
    for (int i = 0; i < k; i++) pol[i] = sign;
    if (k == 3 && faith_rng_below(r, 2)) pol[faith_rng_below(r, 3)] = -sign;
    return k;
}

static void sentiment_example(uint64_t seed, int64_t id, int32_t min_len, int32_t max_len, synth_ex *x)
{
    faith_rng r;
    faith_rng_init(&r, seed, id, "synth-sentiment");
    int32_t len = min_len + (int32_t)faith_rng_below(&r, (uint64_t)(max_len - min_len + 1));
    x->label = (int32_t)faith_rng_below(&r, 2);
    int pol[3], neg[3];
    int k = plan_units(&r, len, x->label ? 1 : -1, pol);
    int32_t signal_words = 0;
    for (int u = 0; u < k; u++) {
        neg[u] = faith_rng_below(&r, 100) < NEGATE_PERCENT;
        signal_words += 1 + neg[u];
    }
    /* interleave k units with the fillers: slot i is a unit with probability units left / slots left */
    int32_t slots = len - signal_words + k, units_left = k, n = 0;
    for (int32_t s = 0; s < slots; s++) {
        if ((int64_t)faith_rng_below(&r, (uint64_t)(slots - s)) < units_left) {
            int u = k - units_left--;
            int surface = neg[u] ? -pol[u] : pol[u];
            if (neg[u]) {
                x->rationale[n] = 1;
                x->words[n++] = faith_synth_negators[faith_rng_below(&r, (uint64_t)faith_synth_n_negators)];
            }
            x->rationale[n] = 1;
            x->words[n++] = surface > 0
                                ? faith_synth_positive[faith_rng_below(&r, (uint64_t)faith_synth_n_positive)]
                                : faith_synth_negative[faith_rng_below(&r, (uint64_t)faith_synth_n_negative)];
        } else {
            x->rationale[n] = 0;
            x->words[n++] = faith_rng_below(&r, 100) < DECOY_PERCENT
                                ? faith_synth_decoys[faith_rng_below(&r, (uint64_t)faith_synth_n_decoys)]
                                : faith_synth_filler[faith_rng_below(&r, (uint64_t)faith_synth_n_filler)];
        }
    }
    x->n = n;
}

static void write_example(FILE *f, const synth_ex *x)
{
    fputs("{\"text\": \"", f);
    for (int32_t i = 0; i < x->n; i++) fprintf(f, "%s%s", i ? " " : "", x->words[i]);
    fprintf(f, "\", \"label\": %d, \"rationale\": [", x->label);
    for (int32_t i = 0; i < x->n; i++) fprintf(f, "%s%d", i ? ", " : "", x->rationale[i]);
    fputs("]}\n", f);
}

static int open_out(const char *dir, const char *name, FILE **f, char *path, size_t cap, faith_err *err)
{
    /* Written under a temporary name and renamed by close_out: a reader never sees half a file. */
    snprintf(path, cap, "%s/%s", dir, name);
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    *f = fopen(tmp, "wb");
    if (!*f) return faith_err_set(err, FAITH_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    return FAITH_OK;
}

static int close_out(FILE *f, const char *path, faith_err *err)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        remove(tmp);
        return faith_err_set(err, FAITH_ERR_IO, "%s: write error", tmp);
    }
    if (rename(tmp, path) != 0)
        return faith_err_set(err, FAITH_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
    return FAITH_OK;
}

/* Write examples [first, first + count) (global ids, so splits never share a stream). */
static int write_split(const faith_synth_opts *o, const char *dir, const char *name, int64_t first,
                       int64_t count, int64_t n_pos[1], faith_err *err)
{
    char path[4200];
    FILE *f;
    FAITH_TRY(open_out(dir, name, &f, path, sizeof path, err));
    synth_ex *x = faith_xmalloc(sizeof *x);
    *n_pos = 0;
    for (int64_t i = first; i < first + count; i++) {
        sentiment_example(o->seed, i, o->min_len, o->max_len, x);
        *n_pos += x->label;
        write_example(f, x);
    }
    free(x);
    return close_out(f, path, err);
}

static void write_list(FILE *f, const char *title, const char *const *w, int n)
{
    fprintf(f, "%s (%d):", title, n);
    for (int i = 0; i < n; i++) fprintf(f, "%s%s", i % 12 ? " " : "\n  ", w[i]);
    fputc('\n', f);
}

static int write_readme(const faith_synth_opts *o, const char *dir, const int64_t size[3],
                        const int64_t pos[3], faith_err *err)
{
    char path[4200];
    FILE *f;
    FAITH_TRY(open_out(dir, "README.txt", &f, path, sizeof path, err));
    fprintf(f,
            "Synthetic sentiment task written by `faith gen synth` (task %s, seed %llu, n %lld,\n"
            "length %d..%d words).\n\n"
            "Files: train.jsonl, dev.jsonl, test.jsonl, one JSON object a line:\n"
            "  {\"text\": ..., \"label\": 0|1, \"rationale\": [one 0/1 per word]}\n"
            "and vocab.txt, a WordPiece vocabulary of the special tokens and every word used.\n"
            "label 1 = positive, 0 = negative.\n"
            "Split sizes: dev = test = max(1, n / 10), train = the rest.\n",
            o->task, (unsigned long long)o->seed, (long long)o->n, o->min_len, o->max_len);
    const char *names[3] = {"train", "dev", "test"};
    for (int s = 0; s < 3; s++)
        fprintf(f, "  %-5s %lld examples (%lld positive, %lld negative)\n", names[s], (long long)size[s],
                (long long)pos[s], (long long)(size[s] - pos[s]));
    fprintf(f,
            "\nGenerator. Each example has a length drawn uniformly from the range and a label drawn\n"
            "uniformly. It carries 1 signal unit, or 3 (half the time, when the length is >= 6) of which\n"
            "at most one opposes the label. A unit is a signal word from the positive or negative\n"
            "lexicon; with probability %d%% it is written as a negator followed by a word of the\n"
            "opposite lexicon (\"not bad\" counts +1). All other positions hold neutral filler, or with\n"
            "probability %d%% a decoy (intensifiers and review vocabulary) drawn independently of the label.\n\n"
            "Label rule: score = sum over signal words of +1 (positive lexicon) or -1 (negative\n"
            "lexicon), flipped when the word right before it is a negator; label = score > 0. The sum\n"
            "is odd, so there are no ties. Negators and signal words never occur anywhere else.\n"
            "True rationale: exactly the signal words and their negators.\n\n"
            "Every word is a whole-word token of bert-base-uncased. The same options give the same bytes.\n\n",
            NEGATE_PERCENT, DECOY_PERCENT);
    write_list(f, "positive", faith_synth_positive, faith_synth_n_positive);
    write_list(f, "negative", faith_synth_negative, faith_synth_n_negative);
    write_list(f, "negators", faith_synth_negators, faith_synth_n_negators);
    write_list(f, "decoys", faith_synth_decoys, faith_synth_n_decoys);
    fprintf(f, "filler: %d common English words (listed in datasets/synth.c)\n", faith_synth_n_filler);
    return close_out(f, path, err);
}

/* A WordPiece vocab.txt holding the BERT special tokens and every generator word, so a model for the
 * task can be built on a machine without any downloaded vocabulary (`faith init-model --vocab`). */
static int write_vocab(const char *dir, faith_err *err)
{
    char path[4200];
    FILE *f;
    FAITH_TRY(open_out(dir, "vocab.txt", &f, path, sizeof path, err));
    fputs("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", f);
    const char *const *lists[] = {faith_synth_positive, faith_synth_negative, faith_synth_negators,
                                  faith_synth_decoys, faith_synth_filler};
    const int counts[] = {faith_synth_n_positive, faith_synth_n_negative, faith_synth_n_negators,
                          faith_synth_n_decoys, faith_synth_n_filler};
    for (int l = 0; l < 5; l++)
        for (int i = 0; i < counts[l]; i++) fprintf(f, "%s\n", lists[l][i]);
    return close_out(f, path, err);
}

/* mkdir -p: existing directories are fine. */
static int make_dirs(const char *dir, faith_err *err)
{
    char *p = faith_xstrdup(dir);
    int rc = FAITH_OK;
    for (char *s = p + 1;; s++) {
        int end = *s == '\0';
        if (*s != '/' && !end) continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            rc = faith_err_set(err, FAITH_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
            break;
        }
        if (end) break;
        *s = '/';
    }
    free(p);
    return rc;
}

int faith_synth_write(const faith_synth_opts *o, const char *dir, faith_err *err)
{
    if (!o->task || strcmp(o->task, "sentiment") != 0)
        return faith_err_set(err, FAITH_ERR_ARG, "synth: unknown task '%s' (expected sentiment)",
                             o->task ? o->task : "");
    if (o->n < 3) return faith_err_set(err, FAITH_ERR_ARG, "synth: n = %lld, expected >= 3", (long long)o->n);
    if (o->min_len < 2 || o->min_len > o->max_len || o->max_len > FAITH_SYNTH_MAX_LEN)
        return faith_err_set(err, FAITH_ERR_ARG, "synth: lengths %d..%d, expected 2 <= min <= max <= %d",
                             o->min_len, o->max_len, FAITH_SYNTH_MAX_LEN);
    if (!dir || !*dir) return faith_err_set(err, FAITH_ERR_ARG, "synth: no output directory");
    FAITH_TRY(make_dirs(dir, err));
    int64_t size[3], pos[3];
    faith_synth_split_sizes(o->n, &size[0], &size[1], &size[2]);
    FAITH_TRY(write_split(o, dir, "train.jsonl", 0, size[0], &pos[0], err));
    FAITH_TRY(write_split(o, dir, "dev.jsonl", size[0], size[1], &pos[1], err));
    FAITH_TRY(write_split(o, dir, "test.jsonl", size[0] + size[1], size[2], &pos[2], err));
    FAITH_TRY(write_vocab(dir, err));
    return write_readme(o, dir, size, pos, err);
}
