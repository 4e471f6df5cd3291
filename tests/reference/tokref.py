#!/usr/bin/env python3
# tokref.py: an offline reference for the expected ids in tests/test_tokenizer.c: BERT's basic +
# WordPiece tokenizer and GPT-2's byte-level BPE, written from the published algorithms.
"""Pure Python (unicodedata and re only), run by hand, never by the build or the tests:

    python3 tests/reference/tokref.py bert VOCAB_TXT < tests/reference/sentences.json
    python3 tests/reference/tokref.py gpt2 VOCAB_JSON MERGES_TXT < tests/reference/sentences.json

The input is a JSON array of sentences (tests/reference/sentences.json). Each output line is a
C initializer {sentence literal, n, {{id, start, end}, ...}} listing the model tokens (no
specials) with byte offsets into the UTF-8 sentence.

It is deliberately a different implementation from the C code: BERT follows the structure
of the original BasicTokenizer (lowercase, then NFD over the character with
unicodedata.normalize, then drop Mn); GPT-2 runs the real pre-tokenisation regex with Python's
re engine, \\p{L} / \\p{N} / \\s being spelled out as explicit character classes from
unicodedata, and applies merges the way OpenAI's encoder.py does (all occurrences of the best
pair per round).
"""
import json
import re
import sys
import unicodedata


# ---------------- BERT ----------------

def is_ws(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")


def is_punct(c):
    o = ord(c)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def is_cjk(o):
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2A6DF
            or 0x2A700 <= o <= 0x2B73F or 0x2B740 <= o <= 0x2B81F or 0x2B920 <= o <= 0x2CEAF
            or 0xF900 <= o <= 0xFAFF or 0x2F800 <= o <= 0x2FA1F)


def split_specials(text, specials, encode):
    """Special-token strings are never split (transformers' no-split trie): cut them out of the
    raw text and encode the text between them, keeping byte offsets into the whole text."""
    out, pos, chunk = [], 0, 0
    raw = text.encode("utf-8")
    while pos <= len(raw):
        hit = next((s for s in specials if raw.startswith(s.encode(), pos)), None) if pos < len(raw) else None
        if hit is None and pos < len(raw):
            pos += 1
            continue
        piece = raw[chunk:pos].decode("utf-8")
        out += [(i, s + chunk, e + chunk) for i, s, e in encode(piece)]
        if hit is None:
            break
        out.append((specials[hit], pos, pos + len(hit.encode())))
        pos += len(hit.encode())
        chunk = pos
    return out


def bert(text, vocab, lower=True):
    # byte offset of each character
    starts, pos = [], 0
    for c in text:
        starts.append(pos)
        pos += len(c.encode("utf-8"))
    starts.append(pos)
    # normalized characters, each with the index of the source character
    norm = []
    for i, c in enumerate(text):
        if ord(c) == 0 or ord(c) == 0xFFFD or is_control(c):
            continue
        if is_ws(c) or c in "\u2028\u2029":
            norm.append((" ", i))
            continue
        cjk = is_cjk(ord(c))
        if cjk:  # padded, then normalized like the rest (compatibility ideographs decompose)
            norm.append((" ", i))
        if lower:
            for d in unicodedata.normalize("NFD", c.lower()):
                if unicodedata.category(d) != "Mn":
                    norm.append((d, i))
        else:
            norm.append((c, i))
        if cjk:
            norm.append((" ", i))
    # words: split on whitespace, then every punctuation character alone
    words, cur = [], []
    for ch, i in norm:
        if ch == " ":
            if cur:
                words.append(cur)
            cur = []
        elif is_punct(ch):
            if cur:
                words.append(cur)
            words.append([(ch, i)])
            cur = []
        else:
            cur.append((ch, i))
    if cur:
        words.append(cur)
    out = []
    for w in words:
        s, e = starts[w[0][1]], starts[w[-1][1] + 1]
        chars = "".join(ch for ch, _ in w)
        if len(chars) > 100:
            out.append((vocab["[UNK]"], s, e))
            continue
        pieces, start, bad = [], 0, False
        while start < len(chars):
            end, found = len(chars), None
            while start < end:
                sub = chars[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in vocab:
                    found = sub
                    break
                end -= 1
            if found is None:
                bad = True
                break
            pieces.append((vocab[found], starts[w[start][1]], starts[w[end - 1][1] + 1]))
            start = end
        out += [(vocab["[UNK]"], s, e)] if bad else pieces
    return out


# ---------------- GPT-2 ----------------

def char_class(pred):
    """A regex character-class body listing every code point for which pred holds."""
    parts, start, prev = [], None, None
    for o in range(0x110000):
        if 0xD800 <= o <= 0xDFFF:
            ok = False
        else:
            ok = pred(chr(o))
        if ok and start is None:
            start = o
        if not ok and start is not None:
            parts.append((start, o - 1))
            start = None
    if start is not None:
        parts.append((start, 0x10FFFF))
    esc = lambda o: "\\U%08x" % o
    return "".join(esc(a) if a == b else esc(a) + "-" + esc(b) for a, b in parts)


WHITE_SPACE = set([0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B))
                  + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])


def gpt2_pattern():
    L = char_class(lambda c: unicodedata.category(c).startswith("L"))
    N = char_class(lambda c: unicodedata.category(c).startswith("N"))
    S = char_class(lambda c: ord(c) in WHITE_SPACE)
    src = (r"'s|'t|'re|'ve|'m|'ll|'d| ?[%s]+| ?[%s]+| ?[^%s%s%s]+|[%s]+(?![^%s])|[%s]+"
           % (L, N, S, L, N, S, S, S))
    return re.compile(src)


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def bpe(token, ranks):
    word = list(token)
    while len(word) > 1:
        pairs = set(zip(word, word[1:]))
        best = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if best not in ranks:
            break
        first, second = best
        new, i = [], 0
        while i < len(word):
            if i < len(word) - 1 and word[i] == first and word[i + 1] == second:
                new.append(first + second)
                i += 2
            else:
                new.append(word[i])
                i += 1
        word = new
    return word


def gpt2(text, vocab, ranks, pat, b2u):
    out = []
    # byte offset of each character and character of each byte
    for m in pat.finditer(text):
        piece = m.group(0)
        base = len(text[:m.start()].encode("utf-8"))
        data = piece.encode("utf-8")
        owner = []  # for each byte of the piece: (char start, char end) in bytes of text
        off = base
        for c in piece:
            n = len(c.encode("utf-8"))
            owner += [(off, off + n)] * n
            off += n
        mapped = "".join(b2u[b] for b in data)
        pos = 0
        for tok in bpe(mapped, ranks):
            a, z = pos, pos + len(tok)
            pos = z
            # offsets: whole characters, leading/trailing spaces trimmed
            while a < z and data[a] == 0x20:
                a += 1
            while z > a and data[z - 1] == 0x20:
                z -= 1
            if a == z:
                s = e = owner[pos - 1][1]
            else:
                s, e = owner[a][0], owner[z - 1][1]
            out.append((vocab[tok], s, e))
    return out


def c_string(s):
    """A C string literal with the same UTF-8 bytes (non-ASCII and controls as octal escapes)."""
    out = []
    for b in s.encode("utf-8"):
        if b in (0x22, 0x5C):
            out.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'


def main():
    mode = sys.argv[1]
    lines = json.load(sys.stdin)
    if mode == "bert":
        vocab = {}
        with open(sys.argv[2], encoding="utf-8") as f:
            for i, l in enumerate(f):
                vocab[l.rstrip("\n")] = i
        sp = {t: vocab[t] for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]}
        res = [split_specials(l, sp, lambda x: bert(x, vocab)) for l in lines]
    else:
        vocab = json.load(open(sys.argv[2], encoding="utf-8"))
        merges = open(sys.argv[3], encoding="utf-8").read().split("\n")[1:]
        ranks = {tuple(m.split(" ")): i for i, m in enumerate(merges) if m}
        pat, b2u = gpt2_pattern(), bytes_to_unicode()
        sp = {"<|endoftext|>": vocab["<|endoftext|>"]}
        res = [split_specials(l, sp, lambda x: gpt2(x, vocab, ranks, pat, b2u)) for l in lines]
    for line, r in zip(lines, res):
        toks = ["{%d, %d, %d}" % t for t in r]
        rows = [", ".join(toks[i:i + 5]) for i in range(0, len(toks), 5)] or [""]
        print("    {%s, %d,\n     {%s}}," % (c_string(line), len(r), ",\n      ".join(rows)))


if __name__ == "__main__":
    main()
