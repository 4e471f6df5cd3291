#!/usr/bin/env bash
# it_engine.sh: init-model -> predict -> bench end to end, and the CLI's one-line errors on bad
# input (missing files, malformed JSON, truncated safetensors, out-of-range ids, too-long text).
set -euo pipefail
: "${FAITH_BIN:?}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# The vocabulary `gen synth` writes ([PAD] [UNK] [CLS] [SEP] [MASK] and the task's words): the test
# needs no downloaded files.
"$FAITH_BIN" gen synth --n 30 --seed 1 --out "$T/d" >/dev/null
VOCAB=$T/d/vocab.txt

"$FAITH_BIN" init-model --arch bert --layers 1 --hidden 16 --heads 2 --ffn 32 --labels 2 \
    --label-names neg,pos --vocab "$VOCAB" --max-pos 32 --seed 3 --out "$T/m" >/dev/null
for f in config.json model.safetensors vocab.txt; do [ -s "$T/m/$f" ] || { echo "missing $f"; exit 1; }; done
grep -q '"BertForSequenceClassification"' "$T/m/config.json"

# Text and the same ids give the same logits; probabilities sum to one; the label is the argmax.
a=$("$FAITH_BIN" predict --model "$T/m" --text "a good film" --json)
ids=$(echo "$a" | sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/')
b=$("$FAITH_BIN" predict --model "$T/m" --ids "$ids" --json)
la=$(echo "$a" | sed 's/.*"logits":\(\[[^]]*\]\).*/\1/')
lb=$(echo "$b" | sed 's/.*"logits":\(\[[^]]*\]\).*/\1/')
[ "$la" = "$lb" ] || { echo "text vs ids logits differ: $la $lb"; exit 1; }
echo "$a" | grep -q '"tokens":\["\[CLS\]","a","good","film","\[SEP\]"\]'
echo "$a" | awk -F'"probs":\\[' '{split($2, p, "]"); split(p[1], q, ","); s = q[1] + q[2]; if (s < 0.999999 || s > 1.000001) exit 1}'

# A pair's second segment has token type 1; the same ids given with --ids are all type 0, as a
# Hugging Face model given only input_ids reads them, so the logits differ.
a2=$("$FAITH_BIN" predict --model "$T/m" --text "a good film" --pair "not bad" --json)
ids2=$(echo "$a2" | sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/')
b2=$("$FAITH_BIN" predict --model "$T/m" --ids "$ids2" --json)
[ "$(echo "$a2" | sed 's/.*"logits":\(\[[^]]*\]\).*/\1/')" != "$(echo "$b2" | sed 's/.*"logits":\(\[[^]]*\]\).*/\1/')" ] ||
    { echo "a pair read with token types 0"; exit 1; }

# A model saved and re-loaded by init-model's own writer predicts identically from a data file.
printf 'a good film\n' > "$T/d.txt"
c=$("$FAITH_BIN" predict --model "$T/m" --data "$T/d.txt" --json)
[ "$c" = "$a" ] || { echo "--data differs from --text"; exit 1; }

# bench: every reported figure follows from the timings, the two peaks and the work per sequence.
# That work, for this model (1 layer, C 16, F 32, 2 heads, 2 labels) at T 8 with the last layer
# for the first token only: query, folded key/value, output and FFN products for one row
# (8 C^2 + 4 C F), 4 NH T C of attention and the head 2 C (C + 2): 5696 flops forward; the
# backward adds the products and twice the attention again: 12416 in all.
j=$("$FAITH_BIN" bench --model "$T/m" --seq 8 --batch 2 --iters 1 --rounds 1 --threads 1 --json)
jn() { echo "$j" | sed -n 's/.*"'"$1"'":\([-0-9.eE+]*\).*/\1/p'; }
near() { awk -v a="$2" -v b="$3" -v w="$1" 'BEGIN { d = a - b; if (d < 0) d = -d;
    if (!(b > 0) || d > 1e-9 * b) { print "bench " w ": " a " against " b; exit 1 } }'; }
near "forward flops/seq" "$(awk -v g="$(jn fwd_gflops)" -v s="$(jn fwd_seq_per_s)" 'BEGIN { printf "%.17g\n", g * 1e9 / s }')" 5696
near "fwd+bwd flops/seq" "$(awk -v g="$(jn fwdbwd_gflops)" -v s="$(jn fwdbwd_seq_per_s)" 'BEGIN { printf "%.17g\n", g * 1e9 / s }')" 12416
fp=$(jn fma_peak_gflops)
near "share of FMA peak" "$(jn fwd_pct_fma_peak)" "$(awk -v g="$(jn fwd_gflops)" -v p="$fp" 'BEGIN { printf "%.17g\n", 100 * g / p }')"
near "share of sgemm peak" "$(jn fwdbwd_pct_peak)" \
    "$(awk -v g="$(jn fwdbwd_gflops)" -v p="$(jn sgemm_peak_gflops)" 'BEGIN { printf "%.17g\n", 100 * g / p }')"
near "seq/s at FMA peak" "$(jn fwd_seq_per_s_at_fma_peak)" "$(awk -v p="$fp" 'BEGIN { printf "%.17g\n", p * 1e9 / 5696 }')"
near "fwd+bwd seq/s at FMA peak" "$(jn fwdbwd_seq_per_s_at_fma_peak)" "$(awk -v p="$fp" 'BEGIN { printf "%.17g\n", p * 1e9 / 12416 }')"

fails() { # command must fail with one line on stderr containing $1
    local want=$1; shift
    if "$@" >/dev/null 2>"$T/err"; then echo "should have failed: $*"; exit 1; fi
    [ "$(wc -l < "$T/err")" -eq 1 ] || { echo "not one line:"; cat "$T/err"; exit 1; }
    grep -qF -- "$want" "$T/err" || { echo "expected '$want' in:"; cat "$T/err"; exit 1; }
}
fails "vocab_size" "$FAITH_BIN" predict --model "$T/m" --ids 2,40000,3
fails "max_position_embeddings" "$FAITH_BIN" predict --model "$T/m" --text "$(printf 'word %.0s' $(seq 40))"
fails "nope/config.json" "$FAITH_BIN" predict --model "$T/nope" --text hi
cp -r "$T/m" "$T/bad"
echo '{"model_type": "bert",' > "$T/bad/config.json"
fails "config.json: invalid JSON" "$FAITH_BIN" predict --model "$T/bad" --text hi
cp "$T/m/config.json" "$T/bad/config.json"
head -c 1000 "$T/m/model.safetensors" > "$T/bad/model.safetensors"
fails "model.safetensors" "$FAITH_BIN" predict --model "$T/bad" --text hi
sed 's/"model_type":[^,]*/"model_type": "gpt2"/' "$T/m/config.json" > "$T/bad/config.json"
fails "unknown model_type" "$FAITH_BIN" predict --model "$T/bad" --text hi
fails "--arch" "$FAITH_BIN" init-model --arch lstm --vocab "$VOCAB" --out "$T/x"
echo ok
