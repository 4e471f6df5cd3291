#!/usr/bin/env bash
# tokjs_check.sh: Faith's tokenizers against Hugging Face's tokenizers.js, id for id, on the
# shared datasets and on random text (run by hand; needs node, npm's registry and python3).
# Usage: bash tests/reference/tokjs_check.sh BUILD_DIR [SHARED_DIR] [N_RANDOM]
set -euo pipefail
build=${1:?usage: tokjs_check.sh BUILD_DIR [SHARED_DIR] [N_RANDOM]}
here=$(cd "$(dirname "$0")" && pwd)
shared=${2:-$here/../../../shared}/datasets
n=${3:-100000}
[ -x "$build/tests/tok_dump" ] || { echo "tokjs_check: $build/tests/tok_dump missing (build first)" >&2; exit 2; }
[ -f "$shared/vocab/bert-base-uncased/tokenizer.json" ] || { echo "tokjs_check: $shared has no vocab/" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# tokenizers.js 0.2.0 is pure JavaScript without dependencies
(cd "$work" && npm init -y >/dev/null && npm install --silent @huggingface/tokenizers@0.2.0 >/dev/null)
cp "$here/tokjs.mjs" "$work/"
python3 "$here/tokfuzz.py" fixtures "$shared" "$work/tok"
python3 "$here/tokfuzz.py" real "$shared" > "$work/real.txt"
python3 "$here/tokfuzz.py" text 1 "$n" > "$work/text.txt"
python3 "$here/tokfuzz.py" added 1 $((n / 4)) > "$work/added.txt"
cut -f1 "$work/real.txt" > "$work/real1.txt"
cut -f1 "$work/text.txt" > "$work/text1.txt"
fail=0
check() { # tokenizer input [types]: token type ids are compared for BERT only (RobertaProcessing
          # gives every token type 0 in the crate, tokenizers.js numbers the pair 1). A "-files"
          # tokenizer (vocab.txt, or vocab.json + merges.txt) is compared with its tokenizer.json.
    "$build/tests/tok_dump" "$work/tok/$1" ${3:-} < "$work/$2" > "$work/c.txt"
    node "$work/tokjs.mjs" "$work/tok/${1%-files}/tokenizer.json" ${3:-} < "$work/$2" > "$work/j.txt"
    local lines diff
    lines=$(wc -l < "$work/$2")
    diff=$(paste -d '\n' "$work/c.txt" "$work/j.txt" | paste - - | awk -F '\t' '$1 != $2' | wc -l)
    printf '%-13s %-10s %7d lines, %d differ\n' "$1" "$2" "$lines" "$diff"
    if [ "$diff" -gt 0 ]; then
        fail=1
        paste -d '\n' "$work/$2" "$work/c.txt" "$work/j.txt" | paste - - - | awk -F '\t' '$(NF-1) != $NF' | head -3
    fi
}
check bert real.txt types
check bert text.txt types
check bert-cased text.txt types
check bert-added real.txt types
check bert-added added.txt types
check bert-files text.txt types
check gpt2 real1.txt
check gpt2 text1.txt
check gpt2-files text1.txt
check roberta real.txt
check roberta text.txt
check roberta-files text.txt
exit $fail
