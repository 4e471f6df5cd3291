#!/usr/bin/env bash
# it_bad_input.sh: every kind of bad input to `faith` (model dirs, safetensors bytes, text, options, datasets,
# configs) fails cleanly: exit 1..127, one stderr line `faith: ...` naming file/line/tensor/key, no output left.
set -uo pipefail

# Cases that still fail because of a bug in a part this script does not own. A listed case that
# fails prints "KNOWN:" and does not fail the script; one that passes prints "FIXED:" (remove it).
KNOWN_FAILURES=(
)

: "${FAITH_BIN:?FAITH_BIN must point at the faith binary}"
: "${FAITH_SRC:=$(cd "$(dirname "$0")/.." && pwd)}"
export LC_ALL=C OPENBLAS_NUM_THREADS=1
# train and run start MPI even to print an error: a one-process Open MPI that spawns no daemon and
# probes no network starts several times faster (other MPIs ignore these)
export OMPI_MCA_ess_singleton_isolated=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self OMPI_MCA_osc=pt2pt
# under -DFAITH_SANITIZE=ON: Open MPI's own start-up leaks would add lines to every MPI command's
# stderr (as tests/run.sh, leaks are not what this script is about; errors and UB are)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

T=$(mktemp -d)
if [ -n "${FAITH_IT_KEEP:-}" ]; then echo "it_bad_input: keeping $T"; else trap 'chmod -R u+w "$T"; rm -rf "$T"' EXIT; fi
cd "$T" || exit 1
mkdir -p "$T/mpi/main"
export TMPDIR=$T/mpi/main

# Cases run as background jobs (most of their time is MPI start-up, not CPU); each writes its
# verdict to $T/v/<seq>, collected in order at the end.
JOBS=${FAITH_IT_JOBS:-3}
mkdir -p "$T/v"
seq_no=0 running=0

is_known() {
    local k
    for k in "${KNOWN_FAILURES[@]+"${KNOWN_FAILURES[@]}"}"; do [ "$k" = "$1" ] && return 0; done
    return 1
}

# Record the verdict of case $1 in $T/v/$3: $2 is empty on success, else why it failed.
verdict() {
    local name=$1 why=$2 f=$T/v/$3
    if [ -z "$why" ]; then
        if is_known "$name"; then echo "FIXED: $name passes now; remove it from KNOWN_FAILURES" >"$f"
        else echo "ok $name" >"$f"; fi
    elif is_known "$name"; then
        echo "KNOWN: $name: $why" >"$f"
    else
        { echo "FAIL: $name: $why"; sed 's/^/    stderr: /' "$T/v/$3.err" | head -n 5; } >"$f"
    fi
}
fail_now() { seq_no=$((seq_no + 1)); echo "FAIL: $*" >"$T/v/$(printf %04d $seq_no)"; }

# bad NAME WANT [--absent PATH]... -- ARGS...: `faith ARGS` must fail cleanly with one stderr line
# `faith: ...` containing WANT (fixed strings, "a && b" for several) and leave no PATH behind.
bad() {
    local name=$1 want=$2
    shift 2
    local absent=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        case $1 in
        --absent) absent+=("$2"); shift 2 ;;
        *) echo "bad: unknown flag $1"; exit 2 ;;
        esac
    done
    shift
    seq_no=$((seq_no + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    # (stderr: bash's own "Aborted" notice for a crashing case; the verdict says it anyway)
    run_case "$(printf %04d $seq_no)" "$name" "$want" "${#absent[@]}" "${absent[@]+"${absent[@]}"}" "$@" 2>/dev/null &
    running=$((running + 1))
}

# The checks use bash builtins only: forking is what makes this script slow on a loaded machine.
run_case() {
    local id=$1 name=$2 want=$3 n_absent=$4
    shift 4
    local absent=("${@:1:n_absent}")
    shift "$n_absent"
    local err=$T/v/$id.err
    # own TMPDIR: daemon-less Open MPI singletons all name their session directory alike
    mkdir -p "$T/mpi/$id"
    TMPDIR=$T/mpi/$id timeout 15 "$FAITH_BIN" "$@" >/dev/null 2>"$err" </dev/null
    local rc=$? why="" p l lines=()
    while IFS= read -r l || [ -n "$l" ]; do [ -n "$l" ] && lines+=("$l"); done <"$err"
    if [ $rc -eq 124 ]; then
        why="hang (no exit within 15 s)"
    elif [ $rc -eq 0 ]; then
        why="exit 0, expected an error mentioning '$want'"
    elif [ $rc -ge 128 ]; then
        why="crash (exit $rc)"
    elif [[ "${lines[*]+"${lines[*]}"}" =~ Sanitizer|runtime\ error|Segmentation|core\ dumped|Assertion ]]; then
        why="crash report on stderr"
    elif [ "${#lines[@]}" -ne 1 ]; then
        why="expected one stderr line, got ${#lines[@]}"
    elif [[ "${lines[0]}" != "faith: "* ]]; then
        why="message does not start with 'faith: '"
    else
        local part rest=$want
        while [ -n "$rest" ]; do # WANT may list several strings as "a && b"
            part=${rest%%" && "*}
            [ "$part" = "$rest" ] && rest="" || rest=${rest#*" && "}
            if [[ "${lines[0]}" != *"$part"* ]]; then
                why="message does not mention '$part': ${lines[0]:0:300}"
                break
            fi
        done
    fi
    for p in "${absent[@]+"${absent[@]}"}"; do
        [ -e "$p" ] && why="${why:+$why; }left $p behind"
    done
    verdict "$name" "$why" "$id"
}

# works NAME ARGS...: an input that is odd but valid must succeed (a case, unlike good).
works() {
    local name=$1
    shift
    seq_no=$((seq_no + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    (
        id=$(printf %04d $seq_no)
        mkdir -p "$T/mpi/$id"
        TMPDIR=$T/mpi/$id timeout 15 "$FAITH_BIN" "$@" >/dev/null 2>"$T/v/$id.err" </dev/null
        rc=$?
        why=""
        [ $rc -eq 0 ] || why="exit $rc for a valid input: $(head -c 300 "$T/v/$id.err")"
        verdict "$name" "$why" "$id"
    ) &
    running=$((running + 1))
}

# good NAME ARGS...: a positive control, so that the failures above are not vacuous.
good() {
    local name=$1
    shift
    timeout 60 "$FAITH_BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL: control $name: exit $rc"
        sed 's/^/    stderr: /' "$T/err" | head -n 5
        echo "it_bad_input: the fixtures do not work, so no case can be judged"
        exit 1
    fi
}

# ---- safetensors byte surgery (no Python: od, head, tail, sed; few processes, as forks can be slow) ----

st_hlen() { od -An -t u8 -N8 "$1" | tr -d ' \n'; }
u64le() {
    local n=$1 s="" i b
    for i in 0 1 2 3 4 5 6 7; do
        printf -v b '\\x%02x' $(((n >> (8 * i)) & 255))
        s+=$b
    done
    printf "$s"
}
# st_split FILE: ST_HDR = its JSON header, $T/st.data = the bytes after it.
st_split() {
    local n
    n=$(st_hlen "$1")
    ST_HDR=$(head -c $((8 + n)) "$1" | tail -c "$n")
    tail -c +$((9 + n)) "$1" >"$T/st.data"
    ST_DATA_SIZE=$(($(stat -c %s "$1") - 8 - n))
}
# st_edit DST SED: DST = the model's safetensors with its header rewritten by sed, length field fixed.
st_edit() {
    local h
    h=$(sed -e "$2" <<<"$ST_HDR")
    [ "$h" != "$ST_HDR" ] || { echo "it_bad_input: st_edit '$2' changed nothing (fixture layout changed?)"; exit 1; }
    { u64le ${#h}; printf '%s' "$h"; cat "$T/st.data"; } >"$1"
}
# mk_model NAME: a copy of the good model to break.
mk_model() { cp -r "$T/m" "$T/$1"; }

# ---- fixtures ----

"$FAITH_BIN" gen synth --n 60 --seed 1 --min-len 3 --max-len 8 --out "$T/d" >/dev/null || exit 1
"$FAITH_BIN" init-model --arch bert --vocab "$T/d/vocab.txt" --layers 1 --hidden 16 --heads 2 --ffn 32 \
    --max-pos 32 --label-names negative,positive --seed 1 --out "$T/m" >/dev/null || exit 1
"$FAITH_BIN" init-model --arch bert --vocab "$T/d/vocab.txt" --layers 1 --hidden 16 --heads 2 --ffn 32 \
    --max-pos 8192 --seed 1 --out "$T/mp" >/dev/null || exit 1
ST=$T/m/model.safetensors
st_split "$ST"
touch afile
long_text=$(for i in $(seq 60); do printf 'good '; done)

# byte-level BPE without <s> and </s> (GPT-2's own files): no framing
printf '{"g": 0, "o": 1, "d": 2, "b": 3, "a": 4, "go": 5, "\\u0120": 6}' >"$T/bpe_vocab.json"
printf '#version: 0.2\ng o\n' >"$T/bpe_merges.txt"
"$FAITH_BIN" init-model --arch roberta --vocab "$T/bpe_vocab.json" --merges "$T/bpe_merges.txt" --layers 1 \
    --hidden 16 --heads 2 --ffn 32 --seed 1 --out "$T/mb" >/dev/null || exit 1
good predict predict --model m --text "good movie"
good explain explain --model m --explainer saliency --text "good movie"
good ids predict --model m --ids 2,5,3

# ---- model directories ----

bad model_missing_dir "nodir" -- predict --model nodir --text hi
bad pair_without_separators "pair: the tokenizer has no separator" -- predict --model mb --text good --pair bad
bad empty_text_without_specials "text: no tokens" -- predict --model mb --text ""
bad explain_empty_text_without_specials "text: no tokens" -- explain --model mb --explainer saliency --text ""
good bpe_without_specials predict --model mb --text good
mkdir -p m_tokbroken && cp m/config.json m/model.safetensors m_tokbroken/ && : >m_tokbroken/vocab.txt
bad predict_max_length_over_model "--max-length 100 && 32 tokens" -- predict --model m --text good --max-length 100
bad ids_with_broken_tokenizer "m_tokbroken/vocab.txt" -- predict --model m_tokbroken --ids 2,5,3
bad explain_ids_with_broken_tokenizer "m_tokbroken/vocab.txt" -- explain --model m_tokbroken --explainer saliency --ids 2,5,3
mkdir -p empty_dir
bad model_empty_dir "empty_dir/config.json" -- predict --model empty_dir --text hi
mk_model m_nocfg; rm m_nocfg/config.json
bad model_no_config "m_nocfg/config.json" -- predict --model m_nocfg --text hi
mk_model m_nost; rm m_nost/model.safetensors
bad model_no_safetensors "m_nost/model.safetensors" -- predict --model m_nost --text hi
mk_model m_cfgjson; printf '{"model_type": "bert",\n' >m_cfgjson/config.json
bad config_malformed_json "m_cfgjson/config.json" -- predict --model m_cfgjson --text hi
mk_model m_cfgempty; : >m_cfgempty/config.json
bad config_empty "m_cfgempty/config.json" -- predict --model m_cfgempty --text hi
mk_model m_cfgarr; echo '[1, 2]' >m_cfgarr/config.json
bad config_not_object "m_cfgarr/config.json" -- predict --model m_cfgarr --text hi
mk_model m_mt; sed -i 's/"model_type":.*"bert"/"model_type": "gpt2"/' m_mt/config.json
bad config_unknown_model_type "gpt2" -- predict --model m_mt --text hi
mk_model m_nomt; sed -i '/"model_type"/d' m_nomt/config.json
bad config_no_model_type "model_type" -- predict --model m_nomt --text hi
mk_model m_nokey; sed -i '/"hidden_size"/d' m_nokey/config.json
bad config_missing_key "hidden_size" -- predict --model m_nokey --text hi
mk_model m_strkey; sed -i 's/"hidden_size":.*/"hidden_size": "16",/' m_strkey/config.json
bad config_string_for_int "hidden_size" -- predict --model m_strkey --text hi
mk_model m_fltkey; sed -i 's/"num_hidden_layers":.*/"num_hidden_layers": 1.5,/' m_fltkey/config.json
bad config_fraction_for_int "num_hidden_layers" -- predict --model m_fltkey --text hi
mk_model m_heads; sed -i 's/"num_attention_heads":.*/"num_attention_heads": 3,/' m_heads/config.json
bad config_heads_not_dividing "3 heads" -- predict --model m_heads --text hi
mk_model m_vocab; sed -i 's/"vocab_size":.*/"vocab_size": 5,/' m_vocab/config.json
bad config_vocab_size_mismatch "word_embeddings" -- predict --model m_vocab --text hi
mk_model m_act; sed -i 's/"hidden_act":.*/"hidden_act": "relu",/' m_act/config.json
bad config_unsupported_act "hidden_act" -- predict --model m_act --text hi
mk_model m_nlab; sed -i 's/"num_labels":.*/"num_labels": 3,/' m_nlab/config.json
bad config_num_labels_vs_id2label "m_nlab" -- predict --model m_nlab --text hi
mk_model m_negpos; sed -i 's/"max_position_embeddings":.*/"max_position_embeddings": -1,/' m_negpos/config.json
bad config_negative_positions "m_negpos/config.json" -- predict --model m_negpos --text hi
mk_model m_bigvocab; sed -i 's/"vocab_size":.*/"vocab_size": 4000000000,/' m_bigvocab/config.json
bad config_vocab_size_overflow "vocab_size" -- predict --model m_bigvocab --text hi
# sizes that fit in an int but not in memory: the file's shapes must be checked before allocating
mk_model m_bigpos; sed -i 's/"max_position_embeddings":.*/"max_position_embeddings": 2000000000,/' m_bigpos/config.json
bad config_huge_positions "position_embeddings" -- predict --model m_bigpos --text hi
mk_model m_biglayers; sed -i 's/"num_hidden_layers":.*/"num_hidden_layers": 100000000,/' m_biglayers/config.json
bad config_huge_layers "layer.1." -- predict --model m_biglayers --text hi
mk_model m_id2l; sed -i 's/"0":.*"negative"/"0": 7/' m_id2l/config.json
bad config_id2label_wrong_type "id2label" -- predict --model m_id2l --text hi

# ---- safetensors ----

sz=$(stat -c %s "$ST")
mk_model s_half; head -c $((sz / 2)) "$ST" >s_half/model.safetensors
bad st_truncated_half "s_half/model.safetensors" -- predict --model s_half --text hi
mk_model s_tail; head -c $((sz - 4)) "$ST" >s_tail/model.safetensors
bad st_truncated_4_bytes "s_tail/model.safetensors" -- predict --model s_tail --text hi
mk_model s_inhdr; head -c 100 "$ST" >s_inhdr/model.safetensors
bad st_truncated_in_header "s_inhdr/model.safetensors" -- predict --model s_inhdr --text hi
mk_model s_5b; head -c 5 "$ST" >s_5b/model.safetensors
bad st_shorter_than_8 "s_5b/model.safetensors" -- predict --model s_5b --text hi
mk_model s_empty; : >s_empty/model.safetensors
bad st_empty "s_empty/model.safetensors" -- predict --model s_empty --text hi
mk_model s_hlen; { u64le 99999999; tail -c +9 "$ST"; } >s_hlen/model.safetensors
bad st_header_len_too_big "s_hlen/model.safetensors" -- predict --model s_hlen --text hi
mk_model s_hmax; { printf '\xff\xff\xff\xff\xff\xff\xff\xff'; tail -c +9 "$ST"; } >s_hmax/model.safetensors
bad st_header_len_2_64 "s_hmax/model.safetensors" -- predict --model s_hmax --text hi
mk_model s_json; st_edit s_json/model.safetensors 's/"__metadata__":{/"__metadata__":{{/'
bad st_header_json_broken "s_json/model.safetensors" -- predict --model s_json --text hi
mk_model s_arr; st_edit s_arr/model.safetensors 's/^{/[{/; s/}$/}]/'
bad st_header_not_object "s_arr/model.safetensors" -- predict --model s_arr --text hi
mk_model s_shape; st_edit s_shape/model.safetensors 's/"classifier.weight":{"dtype":"F32","shape":\[2,16\]/"classifier.weight":{"dtype":"F32","shape":[16,2]/'
bad st_wrong_shape_same_size "classifier.weight" -- predict --model s_shape --text hi
mk_model s_shape2; st_edit s_shape2/model.safetensors 's/"classifier.bias":{"dtype":"F32","shape":\[2\]/"classifier.bias":{"dtype":"F32","shape":[3]/'
bad st_shape_vs_offsets "classifier.bias" -- predict --model s_shape2 --text hi
mk_model s_negdim; st_edit s_negdim/model.safetensors 's/"classifier.bias":{"dtype":"F32","shape":\[2\]/"classifier.bias":{"dtype":"F32","shape":[-2]/'
bad st_negative_dim "classifier.bias" -- predict --model s_negdim --text hi
mk_model s_dtype; st_edit s_dtype/model.safetensors 's/"classifier.bias":{"dtype":"F32"/"classifier.bias":{"dtype":"Q7"/'
bad st_unknown_dtype "Q7" -- predict --model s_dtype --text hi
mk_model s_f16; st_edit s_f16/model.safetensors 's/"classifier.bias":{"dtype":"F32"/"classifier.bias":{"dtype":"F16"/'
bad st_dtype_vs_span "classifier.bias" -- predict --model s_f16 --text hi
mk_model s_dtnum; st_edit s_dtnum/model.safetensors 's/"classifier.bias":{"dtype":"F32"/"classifier.bias":{"dtype":32/'
bad st_dtype_not_string "classifier.bias" -- predict --model s_dtnum --text hi
# classifier.bias's bytes moved 6 bytes back, into classifier.weight's
mk_model s_overlap; st_edit s_overlap/model.safetensors 's/"classifier.bias":{"dtype":"F32","shape":\[2\],"data_offsets":\[\([0-9]*\)6,\([0-9]*\)4\]}/"classifier.bias":{"dtype":"F32","shape":[2],"data_offsets":[\10,\18]}/'
bad st_overlapping_offsets "overlap" -- predict --model s_overlap --text hi
mk_model s_beyond; st_edit s_beyond/model.safetensors 's/"classifier.bias":{"dtype":"F32","shape":\[2\],"data_offsets":\[[0-9]*,[0-9]*\]}/"classifier.bias":{"dtype":"F32","shape":[2],"data_offsets":[99999992,100000000]}/'
bad st_offsets_beyond_file "classifier.bias" -- predict --model s_beyond --text hi
mk_model s_offstr; st_edit s_offstr/model.safetensors 's/"classifier.bias":{"dtype":"F32","shape":\[2\],"data_offsets":\[/"classifier.bias":{"dtype":"F32","shape":[2],"data_offsets":["x",/'
bad st_offsets_not_numbers "classifier.bias" -- predict --model s_offstr --text hi
mk_model s_entry; st_edit s_entry/model.safetensors 's/"classifier.bias":{[^}]*}/"classifier.bias":7/'
bad st_entry_not_object "classifier.bias" -- predict --model s_entry --text hi
mk_model s_missing; st_edit s_missing/model.safetensors 's/,"classifier.bias":{[^}]*}//'
bad st_missing_tensor "classifier.bias" -- predict --model s_missing --text hi
mk_model s_renamed; st_edit s_renamed/model.safetensors 's/"classifier.bias":/"classifier.biaz":/'
bad st_renamed_tensor "classifier.bia" -- predict --model s_renamed --text hi
# an extra, well-formed tensor appended after the others
end=$ST_DATA_SIZE
mk_model s_extra
st_edit s_extra/model.safetensors "s/\"__metadata__\":{\"format\":\"pt\"}/\"__metadata__\":{\"format\":\"pt\"},\"extra.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[$end,$((end + 8))]}/"
printf '\0\0\0\0\0\0\0\0' >>s_extra/model.safetensors
bad st_unexpected_tensor "extra.weight" -- predict --model s_extra --text hi
# NaN weights load "fine" and make every logit NaN: a silent wrong number unless refused
mk_model s_nan; { head -c $((sz - 8)) "$ST"; printf '\xff\xff\xff\x7f\xff\xff\xff\x7f'; } >s_nan/model.safetensors
bad st_nan_weights "classifier.bias" -- predict --model s_nan --text hi

bad st_missing_tensor_explain "classifier.bias" -- explain --model s_missing --explainer saliency --text hi
bad st_missing_tensor_bench "classifier.bias" -- bench --model s_missing --iters 1 --seq 8 --batch 1
bad st_missing_tensor_train "classifier.bias" --absent o_st -- train --model s_missing --train d/train.jsonl --dev d/dev.jsonl --out o_st --quiet

# ---- tokenizer and inputs ----

mk_model k_novocab; rm k_novocab/vocab.txt
bad tok_no_vocab "k_novocab" -- predict --model k_novocab --text hi
mk_model k_emptyvocab; : >k_emptyvocab/vocab.txt
bad tok_empty_vocab "vocab.txt" -- predict --model k_emptyvocab --text hi
mk_model k_nounk; grep -v '^\[UNK\]$' m/vocab.txt >k_nounk/vocab.txt
bad tok_vocab_without_unk "[UNK]" -- predict --model k_nounk --text hi
mk_model k_tokjson; printf '{"model": {\n' >k_tokjson/tokenizer.json
bad tok_malformed_tokenizer_json "k_tokjson/tokenizer.json" -- predict --model k_tokjson --text hi
mk_model k_merges; rm k_merges/vocab.txt
printf '{"<s>": 0, "</s>": 1, "<unk>": 2, "<pad>": 3, "a": 4, "b": 5}' >k_merges/vocab.json
printf '#version: 0.2\na b c\n' >k_merges/merges.txt
bad tok_malformed_merges "k_merges/merges.txt" -- predict --model k_merges --text hi
# a tokenizer with ids the model has no embedding for: refused at load, naming the file
mk_model k_bigvocab; for i in 1 2 3 4 5 6 7 8; do echo "zzword$i"; done >>k_bigvocab/vocab.txt
bad tok_vocab_larger_than_model "vocab.txt" -- predict --model k_bigvocab --text good
mk_model k_dupid; rm k_dupid/vocab.txt
printf '{"model": {"unk_token": "[UNK]", "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "good": 1}}}' \
    >k_dupid/tokenizer.json
bad tok_json_duplicate_id "'good'" -- predict --model k_dupid --text good
bad tok_invalid_utf8 "invalid UTF-8" -- predict --model m --text "$(printf 'ab\xffcd')"
bad tok_truncated_utf8 "invalid UTF-8" -- predict --model m --text "$(printf 'ab\xc3')"
bad tok_overlong_utf8 "invalid UTF-8" -- predict --model m --text "$(printf 'a\xc0\xaf')"
bad tok_surrogate_utf8 "invalid UTF-8" -- predict --model m --text "$(printf 'a\xed\xa0\x80')"
bad tok_invalid_utf8_pair "pair" -- predict --model m --text good --pair "$(printf '\xff')"
bad tok_invalid_utf8_explain "invalid UTF-8" -- explain --model m --explainer saliency --text "$(printf 'a\xff')"
bad tok_too_long "max_position_embeddings" -- predict --model m --text "$long_text"
bad tok_too_long_max_length "max_position_embeddings" -- predict --model m --text "$long_text" --max-length 100
bad tok_max_length_1 "max_len" -- predict --model m --text hi --max-length 1
bad tok_max_length_no_text "max" -- predict --model m --text "good movie" --max-length 2
bad tok_explain_max_length_over_model "max" -- explain --model m --explainer saliency --text "$long_text" --max-length 100
bad ids_too_many "max_position_embeddings" -- predict --model m --ids "$(seq -s, 1 40)"
bad ids_out_of_range "99999" -- predict --model m --ids 2,5,99999,3
bad ids_negative "-5" -- predict --model m --ids 2,-5,3
bad ids_non_numeric "abc" -- predict --model m --ids 2,abc,3
bad ids_overflow "99999999999999999999" -- predict --model m --ids 99999999999999999999
bad ids_empty "--ids" -- predict --model m --ids ""
bad ids_empty_entry "--ids" -- predict --model m --ids 2,,3
bad ids_explain_out_of_range "99999" -- explain --model m --explainer saliency --ids 2,99999,3
bad ids_explain_negative "-1" -- explain --model m --explainer saliency --ids 2,-1,3
bad ids_explain_non_numeric "x" -- explain --model m --explainer saliency --ids 2,x,3
bad ids_explain_empty_entry "--ids" -- explain --model m --explainer saliency --ids 2,,3
printf 'good movie\nb\xffd movie\nok\n' >p_utf8.txt
bad data_invalid_utf8_line "p_utf8.txt:2" -- predict --model m --data p_utf8.txt
bad data_missing_file "nosuch.txt" -- predict --model m --data nosuch.txt
bad data_is_directory "empty_dir" -- predict --model m --data empty_dir
printf 'a\tb\tc\n' >p_tabs.txt
bad data_three_fields "p_tabs.txt:1" -- predict --model m --data p_tabs.txt

# odd but valid inputs
works explain_empty_text explain --model m --explainer occlusion --text ""
for x in kernel_shap lime shapley_sampling occlusion integrated_gradients attention_rollout; do
    works "explain_one_word_$x" explain --model m --explainer "$x" --text good
done

# ---- command line ----

bad cli_unknown_command "nosuchcmd" -- nosuchcmd
bad cli_unknown_option "--nosuch" -- predict --nosuch
bad cli_missing_value "--model" -- predict --model
bad cli_missing_value_last "--text" -- predict --model m --text
bad cli_flag_with_value "--json" -- predict --model m --text hi --json=1
bad cli_option_twice "--text" -- predict --model m --text a --text b
bad cli_stray_argument "extra" -- predict --model m --text hi extra
bad cli_required_missing "--model" -- predict --text hi
bad cli_non_numeric "--max-length" -- predict --model m --text hi --max-length abc
bad cli_negative_number "--max-length" -- predict --model m --text hi --max-length -1
bad cli_exponent_for_int "--max-length" -- predict --model m --text hi --max-length 1e3
bad cli_bench_zero_seq "--seq" -- bench --model m --seq 0
# (a small --seq: a huge one is the same bug, but allocates before failing)
bad bench_seq_over_model "--seq 40 && 32" -- bench --model m --seq 40 --batch 1 --iters 1
bad cli_bench_non_numeric "--batch" -- bench --model m --batch x
bad cli_bench_tiles "--tiles 'sometimes': expected auto, on or off" -- bench --model m --tiles sometimes
bad explain_unknown_explainer "saliency, grad_x_input" -- explain --model m --explainer nope --text hi
bad explain_unknown_param "nosuch" -- explain --model m --explainer lime --text hi --param nosuch=1
bad explain_param_typo "samples" -- explain --model m --explainer lime --text hi --param n_samples=3
bad explain_param_wrong_type "steps" -- explain --model m --explainer integrated_gradients --text hi --param steps=many
bad explain_param_fraction "steps" -- explain --model m --explainer integrated_gradients --text hi --param steps=2.5
bad explain_param_out_of_range "steps" -- explain --model m --explainer integrated_gradients --text hi --param steps=-3
bad explain_param_no_equals "steps" -- explain --model m --explainer integrated_gradients --text hi --param steps
bad explain_bad_target "target" -- explain --model m --explainer saliency --text hi --target foo
bad explain_target_out_of_range "target" -- explain --model m --explainer saliency --text hi --target 5
bad explain_gold_without_label "gold" -- explain --model m --explainer saliency --text hi --target gold
bad explain_label_out_of_range "--label" -- explain --model m --explainer saliency --text hi --target gold --label 7
bad explain_bad_output "output" -- explain --model m --explainer saliency --text hi --output foo
bad explain_bad_aggregate "aggregate" -- explain --model m --explainer saliency --text hi --aggregate median
bad explain_zero_budget "--token-budget" -- explain --model m --explainer saliency --text hi --token-budget 0
bad gen_out_under_file "afile" -- gen synth --n 10 --out afile/sub
bad gen_unknown_generator "synth" -- gen nosuch --out g1
bad gen_unknown_task "nosuch" --absent g2 -- gen synth --task nosuch --out g2
bad gen_bad_n "--n" --absent g3 -- gen synth --n abc --out g3
bad gen_bad_lengths "10" --absent g4 -- gen synth --min-len 10 --max-len 5 --out g4
bad init_unknown_arch "gpt2" --absent i1 -- init-model --arch gpt2 --vocab d/vocab.txt --out i1
bad init_missing_vocab "nosuch.txt" --absent i2 -- init-model --arch bert --vocab nosuch.txt --out i2
bad init_overwrites_model "m/model.safetensors already exists" -- init-model --arch bert --vocab d/vocab.txt --out m
bad gen_overwrites_data "d/train.jsonl already exists" -- gen synth --n 10 --out d
bad bench_needs_more_memory "more than this machine" -- bench --model mp --seq 8192 --batch 65536
bad init_heads_not_dividing "heads" --absent i3 -- init-model --arch bert --vocab d/vocab.txt --hidden 15 --heads 2 --out i3
bad init_label_names_count "--label-names" --absent i4 -- init-model --arch bert --vocab d/vocab.txt --label-names a --out i4
bad init_duplicate_label_names "a" --absent i5 -- init-model --arch bert --vocab d/vocab.txt --label-names a,a --out i5
printf 'good\nmovie\n' >tiny_vocab.txt
bad init_vocab_without_specials "tiny_vocab.txt" --absent i6 -- init-model --arch bert --vocab tiny_vocab.txt --out i6
bad init_out_under_file "afile" -- init-model --arch bert --vocab d/vocab.txt --out afile/sub

# ---- datasets (through train, whose loader is the one run uses) ----

TR=(train --model m --dev d/dev.jsonl --epochs 0.1 --quiet)
head -n 3 d/train.jsonl >ok3.jsonl
bad data_missing "nosuch.jsonl" --absent o1 -- "${TR[@]}" --train nosuch.jsonl --out o1
{ cat ok3.jsonl; echo '{"text": "bad", "label": 1'; } >j_broken.jsonl
bad jsonl_malformed_line "j_broken.jsonl:4" --absent o2 -- "${TR[@]}" --train j_broken.jsonl --out o2
{ cat ok3.jsonl; echo '[1, 2]'; } >j_array.jsonl
bad jsonl_not_object "j_array.jsonl:4" --absent o3 -- "${TR[@]}" --train j_array.jsonl --out o3
{ cat ok3.jsonl; echo '{"txt": "bad", "label": 1}'; } >j_notext.jsonl
bad jsonl_missing_text "j_notext.jsonl:4" --absent o4 -- "${TR[@]}" --train j_notext.jsonl --out o4
{ cat ok3.jsonl; echo '{"text": 5, "label": 1}'; } >j_textnum.jsonl
bad jsonl_text_not_string "j_textnum.jsonl:4" --absent o5 -- "${TR[@]}" --train j_textnum.jsonl --out o5
{ cat ok3.jsonl; echo '{"text": "a b", "label": 1.5}'; } >j_lblfrac.jsonl
bad jsonl_fraction_label "j_lblfrac.jsonl:4" --absent o6 -- "${TR[@]}" --train j_lblfrac.jsonl --out o6
{ cat ok3.jsonl; echo '{"text": "a b", "label": "maybe"}'; } >j_lblname.jsonl
bad jsonl_name_after_numbers "j_lblname.jsonl:4" --absent o7 -- "${TR[@]}" --train j_lblname.jsonl --out o7
sed 's/"label": 1/"label": "positive"/; s/"label": 0/"label": "negative"/' d/train.jsonl >named.jsonl
sed '3s/"label": "[a-z]*"/"label": "neutral"/' named.jsonl >j_unknown_label.jsonl
bad jsonl_unknown_label_name "j_unknown_label.jsonl:3" --absent o8 -- "${TR[@]}" --train j_unknown_label.jsonl --out o8
{ cat ok3.jsonl; echo '{"text": "a b", "label": 1, "rationale": [1]}'; } >j_rat.jsonl
bad jsonl_rationale_length "j_rat.jsonl:4" --absent o9 -- "${TR[@]}" --train j_rat.jsonl --out o9
{ cat ok3.jsonl; echo '{"text": "a b", "label": 1, "rationale": [1, 2]}'; } >j_rat2.jsonl
bad jsonl_rationale_value "j_rat2.jsonl:4" --absent o10 -- "${TR[@]}" --train j_rat2.jsonl --out o10
{ cat ok3.jsonl; printf '{"text": "b\xffd", "label": 1}\n'; } >j_utf8.jsonl
bad jsonl_invalid_utf8 "j_utf8.jsonl:4" --absent o11 -- "${TR[@]}" --train j_utf8.jsonl --out o11
{ cat ok3.jsonl; printf '{"text": "a b", "label": 1}\0{"x": 1}\n'; } >j_nul.jsonl
bad jsonl_nul_byte "j_nul.jsonl:4" --absent o12 -- "${TR[@]}" --train j_nul.jsonl --out o12
{ cat ok3.jsonl; echo '{"text": "a b", "label": 1, "label": 0}'; } >j_dupkey.jsonl
bad jsonl_duplicate_key "j_dupkey.jsonl:4" --absent o13 -- "${TR[@]}" --train j_dupkey.jsonl --out o13
{ head -n 1 ok3.jsonl; echo; cat ok3.jsonl; } >j_blank.jsonl
bad jsonl_blank_line_inside "j_blank.jsonl:2" --absent o14 -- "${TR[@]}" --train j_blank.jsonl --out o14
{ cat ok3.jsonl; echo '{"text": "a b"}'; } >j_nolabel.jsonl
bad train_unlabeled_example "j_nolabel.jsonl:4" --absent o15 -- "${TR[@]}" --train j_nolabel.jsonl --out o15
{ cat ok3.jsonl; echo '{"text": "a b", "label": 7}'; } >j_lbl7.jsonl
bad train_label_beyond_model "j_lbl7.jsonl" --absent o16 -- "${TR[@]}" --train j_lbl7.jsonl --out o16
printf 'sentence\tlabel\ngood movie\t1\nbad\tmovie\t0\n' >t_cols.tsv
bad tsv_too_many_columns "t_cols.tsv:3" --absent o17 -- "${TR[@]}" --train t_cols.tsv --out o17
printf 'sentence\tlabel\ngood movie\t1\nbad movie\n' >t_cols2.tsv
bad tsv_too_few_columns "t_cols2.tsv:3" --absent o18 -- "${TR[@]}" --train t_cols2.tsv --out o18
printf 'foo\tbar\ngood movie\t1\n' >t_hdr.tsv
bad tsv_no_text_column "t_hdr.tsv:1" --absent o19 -- "${TR[@]}" --train t_hdr.tsv --out o19
printf 'sentence\tlabel\ngood movie\t1\nbad movie\tmaybe\n' >t_lbl.tsv
bad tsv_bad_label "t_lbl.tsv:3" --absent o20 -- "${TR[@]}" --train t_lbl.tsv --out o20
printf 'sentence\tlabel\ngood movie\t1\nb\xffd movie\t0\n' >t_utf8.tsv
bad tsv_invalid_utf8 "t_utf8.tsv:3" --absent o21 -- "${TR[@]}" --train t_utf8.tsv --out o21
bad data_unknown_format "nosuch" --absent o22 -- "${TR[@]}" --train d/train.jsonl --train-format nosuch --out o22
: >empty.jsonl
bad data_empty_file "empty.jsonl" --absent o23 -- "${TR[@]}" --train empty.jsonl --out o23
{ cat ok3.jsonl; echo '{"text": "good\u0000 movie", "label": 1}'; } >j_nul_escape.jsonl
bad jsonl_nul_escape 'j_nul_escape.jsonl:4 && \u0000' --absent o24 -- "${TR[@]}" --train j_nul_escape.jsonl --out o24
# U+00A0 separates words as a space does (the tokenizer's word index splits there too)
{ cat ok3.jsonl; echo '{"text": "great\u00a0movie indeed", "label": 1, "rationale": [1, 0]}'; } >j_nbsp.jsonl
bad jsonl_rationale_nbsp_words "j_nbsp.jsonl:4 && (3 words)" --absent o25 -- "${TR[@]}" --train j_nbsp.jsonl --out o25
{ cat ok3.jsonl; echo '{"text": "great\u00a0movie indeed", "label": 1, "rationale": [1, 1, 0]}'; } >j_nbsp3.jsonl
works jsonl_rationale_nbsp_words_ok "${TR[@]}" --train j_nbsp3.jsonl --out o26

# ---- train options and configs ----

TT=(train --model m --train d/train.jsonl --dev d/dev.jsonl --quiet)
bad train_missing_dev_option "--dev" --absent o30 -- train --model m --train d/train.jsonl --out o30 --quiet
bad train_missing_dev_file "nosuch.jsonl" --absent o31 -- train --model m --train d/train.jsonl --dev nosuch.jsonl --out o31 --quiet
bad train_missing_model "nomodel" --absent o32 -- train --model nomodel --train d/train.jsonl --dev d/dev.jsonl --out o32 --quiet
bad train_bad_epochs "--epochs" --absent o33 -- "${TT[@]}" --epochs abc --out o33
bad train_zero_epochs "--epochs" --absent o34 -- "${TT[@]}" --epochs 0 --out o34
bad train_nan_lr "--lr" --absent o35 -- "${TT[@]}" --lr nan --out o35
bad train_negative_lr "--lr" --absent o36 -- "${TT[@]}" --lr -1 --out o36
bad train_zero_batch "--batch" --absent o37 -- "${TT[@]}" --batch 0 --out o37
bad train_warmup_over_1 "--warmup" --absent o38 -- "${TT[@]}" --warmup 2 --out o38
bad train_dropout_over_1 "--dropout" --absent o39 -- "${TT[@]}" --dropout 1.5 --out o39
bad train_negative_clip "--clip" --absent o40 -- "${TT[@]}" --clip -1 --out o40
bad train_negative_weight_decay "--weight-decay" --absent o41 -- "${TT[@]}" --weight-decay -1 --out o41
bad train_max_length_no_text "max" --absent o42 -- "${TT[@]}" --max-length 2 --out o42
bad train_zero_limit "--limit" --absent o43 -- "${TT[@]}" --limit 0 --out o43
bad train_out_under_file "afile" -- "${TT[@]}" --epochs 0.1 --out afile/sub
echo '{"model": "m", "train": "d/train.jsonl", "dev": "d/dev.jsonl", "epochz": 1}' >tc_key.json
bad train_config_unknown_key "epochz" --absent o44 -- train --config tc_key.json --out o44
echo '{"model": "m", "train": "d/train.jsonl", "dev": "d/dev.jsonl", "epochs": "many"}' >tc_type.json
bad train_config_wrong_type "epochs" --absent o45 -- train --config tc_type.json --out o45
echo '{"model": "m", "train": "d/train.jsonl", "dev": "d/dev.jsonl", "quiet": "yes"}' >tc_bool.json
bad train_config_wrong_bool "quiet" --absent o46 -- train --config tc_bool.json --out o46
printf '{"model": "m",\n' >tc_json.json
bad train_config_malformed "tc_json.json" --absent o47 -- train --config tc_json.json --out o47
bad train_config_missing "nosuch.json" --absent o48 -- train --config nosuch.json --out o48
echo '{"model": "m", "train": "d/train.jsonl", "dev": "d/dev.jsonl", "epochs": 0.1, "epochs": 5}' >tc_dup.json
bad train_config_duplicate_key "tc_dup.json && 'epochs' given twice" --absent o49 -- train --config tc_dup.json --out o49
echo '{"model": "m", "train": "d/train.jsonl", "dev": "d/dev.jsonl", "seed": "abc"}' >tc_seed.json
bad train_config_bad_value_names_file "tc_seed.json: seed" --absent o52 -- train --config tc_seed.json --out o52
echo '{"model": "m", "train": "d/train.jsonl", "dev": "d/dev.jsonl", "epochs": -1}' >tc_epochs.json
# labels given as names map through the model's id2label (negative, positive), never by data order
sed 's/"label": "positive"/"label": "good"/' named.jsonl >named_good.jsonl
bad train_label_name_not_in_model "named_good.jsonl && unknown label name 'good'" --absent o55 -- "${TR[@]}" --train named_good.jsonl --out o55
bad train_config_range_names_file "tc_epochs.json: epochs && > 0" --absent o53 -- train --config tc_epochs.json --out o53
echo '{"model": "m", "train": "nosuch.jsonl", "dev": "d/dev.jsonl"}' >tc_train.json
bad train_config_data_names_file "tc_train.json: train && nosuch.jsonl" --absent o54 -- train --config tc_train.json --out o54
bad train_max_length_over_model "--max-length: 1000 && max_position_embeddings" --absent o50 -- "${TT[@]}" --max-length 1000 --out o50
# a diverging run stops with an error (a NaN loss or gradient), never a finite made-up loss
bad train_diverges "diverged" -- "${TT[@]}" --epochs 1 --lr 1e10 --out o51

# ---- run configs ----

cat >run.json <<'EOF'
{
  "name": "qa",
  "seed": 1,
  "model": "m",
  "dataset": {"format": "jsonl", "path": "d/test.jsonl", "label_names": ["negative", "positive"]},
  "max_length": 32,
  "explainers": [{"name": "random"}, {"name": "saliency"}],
  "metrics": [{"name": "comprehensiveness"}, {"name": "token_f1", "params": {"k": "rationale"}}],
  "batch": {"tokens": 2048, "chunk": 2}
}
EOF
RUN_JSON=$(<run.json)
good run_dry_run run run.json --dry-run --output r0
[ ! -e r0 ] || fail_now "run --dry-run wrote r0"
# rc NAME SED WANT [faith run options]: run.json edited by SED must be refused by --dry-run
# (and, with --real, by a real run too), which must not create the output directory.
rc_case() {
    local real=0
    [ "$1" = --real ] && { real=1; shift; }
    local name=$1 expr=$2 want=$3
    shift 3
    local cfg
    cfg=$(sed "$expr" <<<"$RUN_JSON")
    [ "$cfg" != "$RUN_JSON" ] || { echo "it_bad_input: $name: sed '$expr' changed nothing"; exit 1; }
    printf '%s\n' "$cfg" >"$name.json"
    bad "run_${name}_dry" "$want" --absent "out_${name}_dry" -- run "$name.json" --dry-run --output "out_${name}_dry" "$@"
    [ $real -eq 0 ] || bad "run_$name" "$want" --absent "out_$name" -- run "$name.json" --quiet --output "out_$name" "$@"
}
bad run_missing_config "nosuch.json" -- run nosuch.json --dry-run
bad run_no_config "CONFIG" -- run --dry-run
printf '{"name": "qa",\n' >c_json.json
bad run_malformed_json "c_json.json" -- run c_json.json --dry-run
: >c_empty.json
bad run_empty_config "c_empty.json" -- run c_empty.json --dry-run
echo '[]' >c_arr.json
bad run_config_not_object "c_arr.json" -- run c_arr.json --dry-run
rc_case --real unknown_key 's/"max_length": 32/"max_lenght": 32/' "did you mean 'max_length'"
rc_case unknown_nested_key 's/"chunk": 2/"chunks": 2/' "did you mean 'chunk'"
rc_case seed_string 's/"seed": 1/"seed": "one"/' "seed"
rc_case seed_negative 's/"seed": 1/"seed": -1/' "seed"
rc_case max_length_fraction 's/"max_length": 32/"max_length": 32.5/' "max_length"
rc_case chunk_zero 's/"chunk": 2/"chunk": 0/' "batch.chunk"
rc_case explainers_empty 's/"explainers": \[[^]]*\]/"explainers": []/' "explainers"
rc_case explainers_object 's/"explainers": \[[^]]*\]/"explainers": {"name": "random"}/' "explainers"
rc_case unknown_explainer 's/"name": "saliency"/"name": "salency"/' "did you mean 'saliency'"
rc_case unknown_metric 's/"name": "comprehensiveness"/"name": "comprehensivness"/' "did you mean 'comprehensiveness'"
rc_case param_typo 's/{"name": "saliency"}/{"name": "integrated_gradients", "params": {"stpes": 3}}/' "stpes"
rc_case --real param_wrong_type 's/{"name": "saliency"}/{"name": "integrated_gradients", "params": {"steps": "many"}}/' "steps"
rc_case params_not_object 's/{"name": "saliency"}/{"name": "saliency", "params": 3}/' "params"
rc_case metric_param_value 's/"k": "rationale"/"k": "all"/' "token_f1"
rc_case missing_model 's/"model": "m"/"model": "nomodel"/' "nomodel"
rc_case missing_dataset 's/"d\/test.jsonl"/"d\/nosuch.jsonl"/' "nosuch.jsonl"
rc_case unknown_format 's/"format": "jsonl"/"format": "csv"/' "csv"
rc_case bad_name 's/"name": "qa"/"name": "..\/..\/etc"/' "name"
rc_case label_names_vs_model 's/"label_names": \["negative", "positive"\]/"label_names": ["a", "b", "c"]/' "label"
rc_case unknown_label_name 's/"d\/test.jsonl"/"j_unknown_label.jsonl"/' "j_unknown_label.jsonl:3"
sed 's/"label": 1/"label": "positive"/; s/"label": 0/"label": "negative"/' d/test.jsonl >named_test.jsonl
rc_case --real label_order_vs_model 's/"d\/test.jsonl"/"named_test.jsonl"/; s/\["negative", "positive"\]/["positive", "negative"]/' "label"
PT='"train": {"format": "jsonl", "path": "d/train.jsonl"}'
rc_case probe_property "s|\"batch\"|\"probe\": {\"property\": \"colour\", $PT}, \"batch\"|" "probe.property"
rc_case probe_no_train 's|"batch"|"probe": {"property": "label"}, "batch"|' "probe.train"
rc_case probe_holdout "s|\"batch\"|\"probe\": {\"property\": \"label\", $PT, \"holdout\": 1}, \"batch\"|" "probe.holdout"
rc_case probe_lambda "s|\"batch\"|\"probe\": {\"property\": \"label\", $PT, \"lambdas\": [-1]}, \"batch\"|" "probe.lambdas[0]"
rc_case probe_train_broken 's|"batch"|"probe": {"property": "label", "train": {"path": "j_broken.jsonl"}}, "batch"|' "j_broken.jsonl:4"
rc_case sanity_unknown_key 's|"batch"|"sanity": {"layerz": 1}, "batch"|' "sanity.layerz"
rc_case output_not_string 's|"batch"|"output": 5, "batch"|' "output"
rc_case max_length_over_model 's/"max_length": 32/"max_length": 100/' "max_length"
rc_case broken_model 's/"model": "m"/"model": "s_missing"/' "classifier.bias"
# parameters the model or tokenizer cannot serve fail before any work, naming the component
rc_case --real target_out_of_range 's/{"name": "random"}/{"name": "grad_x_input", "params": {"target": 5}}/' "explainers[0] ('grad_x_input') && class 5"
rc_case --real replace_out_of_vocab 's/{"name": "random"}/{"name": "occlusion", "params": {"replace": 999999}}/' "explainers[0] ('occlusion') && params.replace"
rc_case --real attention_layer_over_model 's/{"name": "random"}/{"name": "attention", "params": {"layer": 50}}/' "explainers[0] ('attention') && params.layer"
# the default max_length (128) shrinks to the model's 32 positions; a given 100 does not (above)
sed '/"max_length": 32,/d' <<<"$RUN_JSON" >nomax.json
works run_default_max_length_shrinks run nomax.json --dry-run --output out_nomax
bad explain_param_strict_json "params.steps && expected an integer" -- explain --model m --explainer integrated_gradients --text good --param steps=01
sed 's/"name": "qa"/"name": "q\xffa"/' <<<"$RUN_JSON" >c_utf8.json
bad run_config_invalid_utf8 "c_utf8.json && invalid UTF-8" -- run c_utf8.json --dry-run
rc_case ig_gauss_legendre_steps 's/{"name": "saliency"}/{"name": "integrated_gradients", "params": {"steps": 20000}}/' "params.steps && at most 10000"
rc_case param_duplicate_key 's/{"name": "saliency"}/{"name": "integrated_gradients", "params": {"steps": 3, "steps": 4}}/' "'explainers[1].params.steps' given twice"
{ head -n 3 d/test.jsonl; echo '{"text": "good movie"}'; } >unlabeled_test.jsonl
rc_case --real gold_target_unlabeled 's/"d\/test.jsonl"/"unlabeled_test.jsonl"/; s/{"name": "saliency"}/{"name": "saliency", "params": {"target": "gold"}}/' "unlabeled_test.jsonl:4"
rc_case --real dataset_broken_line 's/"d\/test.jsonl"/"j_broken.jsonl"/' "j_broken.jsonl:4"
# ERASER layout: docs/<docid> and <split>.jsonl with evidence spans in document tokens
mk_eraser() { # DIR DOC1-TEXT SPLIT-LINE
    mkdir -p "$1/docs"
    printf '%s\n' "$2" >"$1/docs/d1.txt"
    printf 'a bad film\n' >"$1/docs/d2.txt"
    printf '%s\n' "$3" '{"annotation_id": "d2.txt", "classification": "NEG", "evidences": []}' >"$1/val.jsonl"
}
ev() { echo "{\"annotation_id\": \"$1\", \"classification\": \"POS\", \"evidences\": [[{\"docid\": \"$1\", \"start_token\": $2, \"end_token\": $3}]]}"; }
er_case() { # NAME WANT DOC1-TEXT SPLIT-LINE
    mk_eraser "er_$1" "$3" "$4"
    sed "s|\"dataset\": {[^}]*}|\"dataset\": {\"format\": \"eraser\", \"path\": \"er_$1\", \"split\": \"val\"}|" \
        <<<"$RUN_JSON" >"er_$1.json"
    bad "eraser_$1" "$2" -- run "er_$1.json" --dry-run
}
# a model whose id2label matches the ERASER movie labels, so that only the break is wrong
"$FAITH_BIN" init-model --arch bert --vocab d/vocab.txt --layers 1 --hidden 16 --heads 2 --ffn 32 \
    --max-pos 32 --label-names NEG,POS --seed 1 --out m_er >/dev/null || exit 1
RUN_JSON=$(sed 's/"model": "m"/"model": "m_er"/' run.json)
mk_eraser er_good "a great movie" "$(ev d1.txt 1 2)"
sed 's|"dataset": {[^}]*}|"dataset": {"format": "eraser", "path": "er_good", "split": "val"}|' <<<"$RUN_JSON" >er_good.json
good eraser_fixture run er_good.json --dry-run
er_case missing_doc "d3.txt" "a great movie" "$(ev d3.txt 1 2)"
er_case span_outside_doc "val.jsonl:1" "a great movie" "$(ev d1.txt 1 9)"
er_case span_reversed "val.jsonl:1" "a great movie" "$(ev d1.txt 2 1)"
er_case span_huge "val.jsonl:1" "a great movie" "$(ev d1.txt 1 1e300)"
er_case span_fraction "val.jsonl:1" "a great movie" "$(ev d1.txt 1 1.5)"
er_case docid_path "val.jsonl:1" "a great movie" "$(ev ../x 1 2)"
er_case evidences_not_list "val.jsonl:1" "a great movie" '{"annotation_id": "d1.txt", "classification": "POS", "evidences": 5}'
er_case doc_invalid_utf8 "d1.txt:2" "$(printf 'a great\nfilm \xff')" "$(ev d1.txt 1 2)"
mk_eraser er_nodocs "x" "$(ev d1.txt 1 2)"
rm -r er_nodocs/docs
sed 's|"dataset": {[^}]*}|"dataset": {"format": "eraser", "path": "er_nodocs", "split": "val"}|' <<<"$RUN_JSON" >er_nodocs.json
bad eraser_no_docs_dir "er_nodocs/docs" -- run er_nodocs.json --dry-run
sed 's|"dataset": {[^}]*}|"dataset": {"format": "eraser", "path": "er_good", "split": "dev"}|' <<<"$RUN_JSON" >er_split.json
bad eraser_missing_split "dev.jsonl" -- run er_split.json --dry-run

bad run_bad_limit "--limit" -- run run.json --dry-run --limit abc
bad run_negative_threads "--threads" -- run run.json --dry-run --threads -1
bad run_unknown_option "--bogus" -- run run.json --dry-run --bogus
bad run_output_under_file "afile" -- run run.json --quiet --output afile/sub
bad run_output_is_file "afile" -- run run.json --quiet --output afile
if [ "$(id -u)" -ne 0 ]; then # root writes anywhere
    mkdir -p ro && chmod 555 ro
    bad run_output_not_writable "ro/out" --absent ro/out -- run run.json --quiet --output ro/out
    bad init_out_not_writable "ro/m" --absent ro/m -- init-model --arch bert --vocab d/vocab.txt --out ro/m
fi
mkdir -p r_int/.partial
bad run_partial_without_resume "--resume" -- run run.json --quiet --output r_int

# ---- every option a command accepts is in its --help, and every option in --help is accepted ----

# the faith_opt tables of harness/cmd_<cmd>.c: {"name", ARG, ..., NULL, NULL} or OPT("name", ARG, ...)
src_opts() {
    grep -hoE '(\{|OPT\()"[a-z][a-z0-9-]*", *("[^"]*"|NULL), .*(NULL, *NULL *\}|\), *$|\),)' \
        "$FAITH_SRC/harness/cmd_${1//-/_}.c" | sed -E 's/^(\{|OPT\()"([a-z0-9-]+)".*/\2/'
}
cmds=()
while IFS= read -r line; do
    [[ $line =~ ^\ \ ([a-z][a-z-]*)\ \  ]] && cmds+=("${BASH_REMATCH[1]}")
done < <("$FAITH_BIN" --help)
[ "${#cmds[@]}" -ge 8 ] || fail_now "faith --help lists ${#cmds[@]} commands"
mkdir -p helpdir
for c in "${cmds[@]}"; do
    # options listed by --help; one takes a value when its left column "--name ARG" has a space
    listed=" " args=() usage=""
    [ "$c" = gen ] && args=(synth)
    while IFS= read -r line; do
        [ -z "$usage" ] && usage=$line
        [[ $line =~ ^\ \ --([a-z][a-z0-9-]*) ]] || continue
        o=${BASH_REMATCH[1]}
        [ "$o" = help ] && continue
        listed+="$o "
        left=${line:2:28}
        left=${left%"${left##*[! ]}"}
        case $left in *" "*) args+=("--$o=x") ;; *) args+=("--$o") ;; esac
    done < <("$FAITH_BIN" "$c" --help)
    [ "$listed" != " " ] || { fail_now "faith $c --help lists no options"; continue; }
    if [ -f "$FAITH_SRC/harness/cmd_${c//-/_}.c" ]; then
        n_src=0
        for o in $(src_opts "$c"); do
            n_src=$((n_src + 1))
            [[ $listed == *" $o "* ]] || fail_now "faith $c accepts --$o but its --help does not list it"
        done
        [ $n_src -gt 0 ] || fail_now "no option table found in cmd_${c//-/_}.c"
    fi
    rest=$usage
    while [[ $rest =~ --([a-z][a-z0-9-]*)(.*) ]]; do
        [[ $listed == *" ${BASH_REMATCH[1]} "* ]] \
            || fail_now "faith $c: the usage line names --${BASH_REMATCH[1]}, which is not among its options"
        rest=${BASH_REMATCH[2]}
    done
    # every listed option at once must get past the option parser
    (cd helpdir && timeout 30 "$FAITH_BIN" "$c" "${args[@]}" >/dev/null 2>"$T/help.err" </dev/null)
    if grep -qE "unknown option|takes no value|needs a value|given twice" "$T/help.err"; then
        fail_now "faith $c rejects an option its --help lists: $(head -n 1 "$T/help.err")"
    fi
done

wait
# checks that need every case finished
[ -z "$(ls -A r_int/.partial)" ] && [ "$(ls -A r_int)" = ".partial" ] || fail_now "run_partial_without_resume touched r_int"
tmpf=$(find "$T" -name '*.tmp*' -print -quit)
[ -z "$tmpf" ] || fail_now "a temporary file was left behind: ${tmpf#"$T"/}"

n_pass=0 n_fail=0 n_known=0 n_fixed=0
for f in "$T"/v/[0-9][0-9][0-9][0-9]; do
    read -r first <"$f"
    case $first in
    "ok "*) n_pass=$((n_pass + 1)) ;;
    KNOWN:*) n_known=$((n_known + 1)); cat "$f" ;;
    FIXED:*) n_fixed=$((n_fixed + 1)); cat "$f" ;;
    *) n_fail=$((n_fail + 1)); cat "$f" ;;
    esac
done
echo "it_bad_input: $n_pass passed, $n_fail failed, $n_known known failures, $n_fixed known failures now passing"
[ "$n_fail" -eq 0 ]
