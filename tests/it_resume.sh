#!/usr/bin/env bash
# it_resume.sh: an interrupted run resumed with another rank and thread count gives the same bytes as an
# uninterrupted one; a damaged chunk is detected and recomputed; .partial of another config, an
# existing .partial without --resume, or a chunk path that is a directory, is refused.
set -euo pipefail
: "${FAITH_BIN:?}" "${FAITH_SRC:?}"
source "$FAITH_SRC/tests/support/run_fixture.sh"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
faith_fixture "$T/fx"
faith_fixture_config "$T/cfg.json" "$T/fx" 30 2
faith_fixture_config "$T/other.json" "$T/fx" 30 2 7   # another seed: another config hash

faith_mpirun -np 2 "$FAITH_BIN" run "$T/cfg.json" --output "$T/full" --threads 1 --quiet

# interrupted: rank 0 dies by SIGKILL (as a preempted job does) after 5 chunks were persisted
interrupt() { # output dir, np
    set +e
    FAITH_TEST_KILL_AFTER_CHUNKS=5 faith_mpirun -np "$2" "$FAITH_BIN" run "$T/cfg.json" --output "$1" \
        --threads 1 --quiet >"$T/kill.txt" 2>&1
    local rc=$?
    set -e
    [ $rc -ne 0 ] || { cat "$T/kill.txt"; echo "FAIL: interrupted run succeeded"; exit 1; }
    grep -q "signal 9" "$T/kill.txt" || { cat "$T/kill.txt"; echo "FAIL: rank 0 was not killed by SIGKILL"; exit 1; }
    local n
    n=$(ls "$1/.partial" | grep -c '^chunk-.*\.zst$' || true)
    [ "$n" -ge 5 ] || { ls -la "$1/.partial"; echo "FAIL: $n chunks persisted, expected >= 5"; exit 1; }
    [ ! -e "$1/examples.tsv.zst" ] || { echo "FAIL: tables written by an interrupted run"; exit 1; }
}
interrupt "$T/r" 2

# without --resume: refused
set +e
"$FAITH_BIN" run "$T/cfg.json" --output "$T/r" --quiet >"$T/no.txt" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] && grep -q -- "--resume" "$T/no.txt" || { cat "$T/no.txt"; echo "FAIL: not refused"; exit 1; }

# another config: refused, and the message says what to do
set +e
"$FAITH_BIN" run "$T/other.json" --output "$T/r" --resume --quiet >"$T/other.txt" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] && grep -q "different config" "$T/other.txt" || { cat "$T/other.txt"; echo "FAIL: other config"; exit 1; }

# a chunk path that is a directory cannot be rewritten: refused before any work, in one line
d=$T/r/.partial/$(ls "$T/r/.partial" | grep '^chunk-' | sort | head -n 1)
mv "$d" "$d.bak" && mkdir "$d" && touch "$d/x"
set +e
"$FAITH_BIN" run "$T/cfg.json" --output "$T/r" --resume --quiet >"$T/dir.txt" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] && [ "$(wc -l <"$T/dir.txt")" -eq 1 ] && grep -q "not a regular file" "$T/dir.txt" \
    || { cat "$T/dir.txt"; echo "FAIL: directory chunk (exit $rc)"; exit 1; }
rm -r "$d" && mv "$d.bak" "$d"

# resume with 3 ranks of 2 threads (the interrupted run had 2 ranks of 1): same bytes, .partial gone
faith_mpirun -np 3 "$FAITH_BIN" run "$T/cfg.json" --output "$T/r" --resume --threads 2 --quiet 2>/dev/null
faith_cmp_tables "$T/full" "$T/r"
[ ! -e "$T/r/.partial" ] || { echo "FAIL: .partial left"; exit 1; }
grep -q '"chunks_resumed":[[:space:]]*[1-9]' "$T/r/manifest.json" || { echo "FAIL: nothing was resumed"; exit 1; }

# a damaged chunk (one flipped byte) and a truncated one: detected, named, recomputed, same bytes
interrupt "$T/c" 1
chunks=( $(ls "$T/c/.partial" | grep '^chunk-' | sort) )
f1=$T/c/.partial/${chunks[0]} f2=$T/c/.partial/${chunks[1]}
size=$(stat -c %s "$f1")
printf '\xff' | dd of="$f1" bs=1 seek=$((size / 2)) conv=notrunc status=none
head -c $(( $(stat -c %s "$f2") - 9 )) "$f2" >"$f2.tmp" && mv "$f2.tmp" "$f2"
faith_mpirun -np 1 "$FAITH_BIN" run "$T/cfg.json" --output "$T/c" --resume --threads 1 --quiet 2>"$T/c.txt"
for f in "${chunks[0]}" "${chunks[1]}"; do
    idx=$(echo "$f" | sed 's/chunk-0*\([0-9]\+\)\.zst/\1/')
    grep -q "chunk $idx is damaged and will be recomputed" "$T/c.txt" \
        || { cat "$T/c.txt"; echo "FAIL: damaged chunk $idx not reported"; exit 1; }
done
faith_cmp_tables "$T/full" "$T/c"
echo "it_resume: ok"
