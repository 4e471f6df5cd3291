#!/usr/bin/env python3
# tokfuzz.py: inputs and tokenizer.json fixtures for tokjs_check.sh (run by hand, never by the
# build or the tests): real dataset lines, random Unicode text, added-token stress text.
"""Usage:
    tokfuzz.py fixtures SHARED_DATASETS OUTDIR   # OUTDIR/{bert,bert-cased,bert-added,gpt2,roberta}/tokenizer.json,
                                                 # and {bert,gpt2,roberta}-files without one
    tokfuzz.py real SHARED_DATASETS              # SST-2 sentences, MNLI pairs, ERASER movie docs
    tokfuzz.py text SEED N                       # N lines of random text (20 % with a pair)
    tokfuzz.py added SEED N                      # N lines built from bert-added's added tokens

Random text stays off the few places where tokenizers.js (the reference) departs from the Rust
`tokenizers` crate that tokenizer.json files are written for; Faith follows the crate there:
  - CJK ideographs beyond U+FFFF: tokenizers.js pads CJK per UTF-16 unit, so misses them;
  - capital sigma: JavaScript's toLowerCase maps a word-final Σ to ς, Rust's char::to_lowercase
    (what the crate's Lowercase and BertNormalizer use) always gives σ;
  - U+FEFF and U+0085: JavaScript's \\s includes the first and not the second, Oniguruma's \\s
    (GPT-2's pre-tokenisation regex) the reverse;
  - an empty pair: tokenizers.js drops it, the crate frames it;
  - added tokens whose normalized form starts with whitespace after an rstrip token: the crate
    finds every match before stripping, tokenizers.js strips first;
  - single_word added tokens, which tokenizers.js does not implement.
(tests/test_tokenizer.c checks Faith on each of these against the crate's behaviour.)
Characters unassigned in this Python's Unicode version are left out too (the versions differ).
"""
import glob
import json
import os
import random
import sys
import unicodedata


def line(s):
    return s.replace("\t", " ").replace("\n", " ").replace("\r", " ")


def real(shared):
    out = []
    for f in ("sst2/train.tsv", "sst2/dev.tsv"):
        with open(os.path.join(shared, f), encoding="utf-8") as fh:
            next(fh)
            out += [line(l.rstrip("\n").split("\t")[0]) for l in fh]
    with open(os.path.join(shared, "mnli/dev_matched.jsonl"), encoding="utf-8") as fh:
        for l in fh:
            d = json.loads(l)
            out.append(line(d["premise"]) + "\t" + line(d["hypothesis"]))
    for f in sorted(glob.glob(os.path.join(shared, "eraser_movies/docs/*"))):
        with open(f, encoding="utf-8") as fh:
            out += [line(l.rstrip("\n")) for l in fh if l.strip()]
    return out


def cps(a, b):
    return [chr(c) for c in range(a, b)]


POOLS = [
    cps(0x20, 0x7F),
    list(" \u00a0\u3000\u2009\u200b\u200c\u200d\u000b\u000c\u001f\u007f\u00ad\u2028\u2029\u180e\u202f\u205f"),
    cps(0xA0, 0x250), cps(0x300, 0x370), cps(0x370, 0x530), cps(0x590, 0x700), cps(0x900, 0xE80),
    cps(0x1E00, 0x2070), cps(0x2070, 0x2C00), cps(0x3000, 0x3100),
    cps(0x4E00, 0x4F00) + cps(0xF900, 0xFA10),
    cps(0xAC00, 0xAC80) + cps(0x1100, 0x1200), cps(0xFF00, 0xFFF0),
    cps(0x1F300, 0x1FA00) + ["\u2764\ufe0f", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1fa\U0001f1f8"],
    cps(0x1D400, 0x1D800), cps(0xE000, 0xE010) + [chr(c) for c in range(1, 0x20) if c not in (9, 10, 13)],
    ["'s", "n't", "'re", "'ve", "'m", "'ll", "'d", "  ", "   ", "...", "--", "$1,000.50", "3.14", "U.S.",
     "don't", "I'M", "'S", " 's", "\u0120", "##", "[UNK]", "[CLS]", "[MASK]", "<s>", "</s>", "<mask>",
     "<|endoftext|>", "\u01c5", "\ufb01", "\u212b", "\u2126", "\u1e9e", "\u0130", "\u03c2"],
]
LEFT_OUT = set("\t\n\r\u03a3\ufeff\u0085")


def usable(s):
    return all(c not in LEFT_OUT and unicodedata.category(c) not in ("Cn", "Cs") for c in s)


def text(seed, n):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        weights = [rng.random() for _ in POOLS]

        def run(k):
            return "".join(c for c in (rng.choice(rng.choices(POOLS, weights)[0]) for _ in range(k)) if usable(c))

        s = run(rng.randint(0, 40))
        if rng.random() < 0.05:
            s = "x" * rng.randint(95, 105) + " " + s  # around max_input_chars_per_word
        if rng.random() < 0.2:
            p = run(rng.randint(1, 30))
            if p:
                s += "\t" + p
        out.append(s)
    return out


ADDED = [  # content, normalized, lstrip, rstrip, single_word (no single_word: see above)
    ("NewWord", True, False, False, False), ("Z\u00e9", True, True, True, False),
    ("[NEW]", False, False, False, False), ("new", True, False, False, False),
    ("xyzzy q", True, False, True, False), ("<tag>", False, True, True, False),
    ("ony", True, False, False, False)]


def added(seed, n):
    rng = random.Random(seed)
    parts = [a[0] for a in ADDED] + ["newword", "NEWWORD", "newWordy", "ZE", "ze", "z\u00e9", "Z\u00c9", "[new]",
             "News", "renew", "XYZZY  Q", "xyzzy\u00a0q", "anthony", "Ony", " ", "  ", "\u3000", "\u00a0", "\u2009",
             "\t", ",", ".", "hello", "\u03a9mega", "\u0130", "\ufb01", "\u0301", "a", "\u5317\u4eac"]
    out = []
    for _ in range(n):
        s = "".join(rng.choice(parts) for _ in range(rng.randint(1, 8)))
        out.append(s.replace("\t", " ") if rng.random() < 0.8 else s.replace("\t", " ", s.count("\t") - 1))
    return [s for s in out if not s.endswith("\t")]


def fixtures(shared, outdir):
    with open(os.path.join(shared, "vocab/bert-base-uncased/tokenizer.json"), encoding="utf-8") as fh:
        bert = json.load(fh)
    variants = {"bert": bert}
    cased = json.loads(json.dumps(bert))  # BERT-cased's normalizer settings over the same vocabulary
    cased["normalizer"]["lowercase"] = False
    variants["bert-cased"] = cased
    ba = json.loads(json.dumps(bert))
    for i, (c, norm, ls, rs, sw) in enumerate(ADDED):
        ba["added_tokens"].append({"id": 30522 + i, "content": c, "single_word": sw, "lstrip": ls, "rstrip": rs,
                                   "normalized": norm, "special": False})
    variants["bert-added"] = ba
    g = os.path.join(shared, "vocab/gpt2")
    with open(os.path.join(g, "vocab.json"), encoding="utf-8") as fh:
        vocab = json.load(fh)
    with open(os.path.join(g, "merges.txt"), encoding="utf-8") as fh:
        merges = [l.rstrip("\n") for l in fh if l.strip() and not l.startswith("#version")]

    def bpe(v, post, toks):
        return {"version": "1.0", "truncation": None, "padding": None, "normalizer": None,
                "added_tokens": [{"id": v[c], "content": c, "single_word": False, "lstrip": c == "<mask>",
                                  "rstrip": False, "normalized": False, "special": True} for c in toks],
                "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                                  "use_regex": True},
                "post_processor": post, "decoder": {"type": "ByteLevel"},
                "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                          "end_of_word_suffix": "", "fuse_unk": False, "vocab": v, "merges": merges}}

    variants["gpt2"] = bpe(vocab, None, ["<|endoftext|>"])
    rv = dict(vocab)
    for i, c in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"]):
        rv[c] = len(vocab) + i
    variants["roberta"] = bpe(rv, {"type": "RobertaProcessing", "sep": ["</s>", rv["</s>"]],
                                   "cls": ["<s>", rv["<s>"]], "trim_offsets": True, "add_prefix_space": False},
                              ["<|endoftext|>", "<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    for name, tj in variants.items():
        os.makedirs(os.path.join(outdir, name), exist_ok=True)
        with open(os.path.join(outdir, name, "tokenizer.json"), "w", encoding="utf-8") as fh:
            json.dump(tj, fh, ensure_ascii=False)
    # the same tokenizers from the older files, without a tokenizer.json
    for name, files in (("bert-files", {"vocab.txt": os.path.join(shared, "vocab/bert-base-uncased/vocab.txt")}),
                        ("gpt2-files", {"vocab.json": os.path.join(g, "vocab.json"),
                                        "merges.txt": os.path.join(g, "merges.txt")})):
        os.makedirs(os.path.join(outdir, name), exist_ok=True)
        for dst, src in files.items():
            with open(src, "rb") as a, open(os.path.join(outdir, name, dst), "wb") as b:
                b.write(a.read())
    os.makedirs(os.path.join(outdir, "roberta-files"), exist_ok=True)
    with open(os.path.join(outdir, "roberta-files", "vocab.json"), "w", encoding="utf-8") as fh:
        json.dump(rv, fh, ensure_ascii=False)
    with open(os.path.join(g, "merges.txt"), "rb") as a, open(os.path.join(outdir, "roberta-files", "merges.txt"), "wb") as b:
        b.write(a.read())


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "fixtures":
        return fixtures(sys.argv[2], sys.argv[3])
    lines = {"real": lambda: real(sys.argv[2]), "text": lambda: text(int(sys.argv[2]), int(sys.argv[3])),
             "added": lambda: added(int(sys.argv[2]), int(sys.argv[3]))}.get(cmd)
    if not lines:
        sys.exit(__doc__)
    sys.stdout.write("".join(l + "\n" for l in lines()))


if __name__ == "__main__":
    main()
