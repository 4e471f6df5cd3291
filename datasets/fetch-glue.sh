#!/usr/bin/env bash
# fetch-glue.sh: download the public GLUE SST-2 and MNLI archives, unpack them and check the files
# whose hashes are known; needs a network, curl or wget, unzip and sha256sum.
#
# usage: datasets/fetch-glue.sh [--dest DIR] [sst2] [mnli]
#   default DIR: datasets/glue next to this script (it gets a .gitignore so git ignores it);
#   default tasks: both. Result: DIR/SST-2/{train,dev,test}.tsv, DIR/MNLI/{train,dev_matched,...}.tsv
set -euo pipefail

# FAITH_GLUE_BASE_URL may point at a mirror (any URL curl/wget accept, file:// included).
base=${FAITH_GLUE_BASE_URL:-https://dl.fbaipublicfiles.com/glue/data}
SST2_URL=$base/SST-2.zip
MNLI_URL=$base/MNLI.zip

# Known hashes (from ../shared/datasets/SOURCES.md, checked against other copies there).
# The archives themselves have no recorded hash: the publisher gives none, so the script prints
# theirs for you to record, and trusts the per-file checks below instead.
SST2_TRAIN_SHA256=48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1
SST2_DEV_SHA256=54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0
# SST-2/test.tsv: sha256 not known here (unlabeled; not checked).
# MNLI/dev_matched.tsv: only its git blob id is known (LM-BFF's copy of the GLUE file), so it is
# checked as `git hash-object` would compute it. MNLI train, dev_mismatched and test files: not known.
MNLI_DEV_MATCHED_BLOB=6837729e383ed9df86cd4826a213d01c990b2f49

die() { echo "fetch-glue: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest="$here/glue"
tasks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) [ $# -ge 2 ] || die "--dest needs a directory"; dest=$2; shift 2 ;;
    --dest=*) dest=${1#--dest=}; shift ;;
    sst2|mnli) tasks+=("$1"); shift ;;
    -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (expected --dest DIR, sst2, mnli)" ;;
  esac
done
[ ${#tasks[@]} -gt 0 ] || tasks=(sst2 mnli)

command -v unzip >/dev/null || die "unzip is not installed"
command -v sha256sum >/dev/null || die "sha256sum is not installed"
if command -v curl >/dev/null; then
  fetch() { curl -fsSL --connect-timeout 15 --retry 2 -o "$2" "$1"; }
elif command -v wget >/dev/null; then
  fetch() { wget -q --timeout=15 --tries=2 -O "$2" "$1"; }
else
  die "neither curl nor wget is installed"
fi

mkdir -p "$dest"
[ -e "$dest/.gitignore" ] || printf '*\n' > "$dest/.gitignore"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fetch-glue.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

check_sha256() { # file expected
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "${1#"$tmp/unpacked/"}: sha256 $got, expected $2 (corrupt or different release; $dest left unchanged)"
  echo "  ok  ${1#"$tmp/unpacked/"} (sha256)"
}

check_blob() { # file expected-git-blob-id: sha1 of "blob <size>\0" + content
  local got
  got=$( { printf 'blob %s\0' "$(wc -c < "$1" | tr -d ' ')"; cat "$1"; } | sha1sum | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "${1#"$tmp/unpacked/"}: git blob $got, expected $2 (corrupt or different release; $dest left unchanged)"
  echo "  ok  ${1#"$tmp/unpacked/"} (git blob)"
}

get() { # url name -> unpacked into $tmp/unpacked/name (checked there, installed by install)
  local url=$1 name=$2 zip="$tmp/$2.zip"
  echo "downloading $url"
  fetch "$url" "$zip" || die "could not download $url (no network, or the URL moved); nothing was changed in $dest"
  echo "  sha256 of $name.zip: $(sha256sum "$zip" | cut -d' ' -f1) (not checked: no reference hash)"
  unzip -q -o "$zip" -d "$tmp/unpacked" || die "$zip: not a valid zip archive"
  [ -d "$tmp/unpacked/$name" ] || die "$zip: expected a top-level $name/ directory"
}

install() { # name: replace $dest/name only after every check passed
  rm -rf "${dest:?}/$1"
  mv "$tmp/unpacked/$1" "$dest/$1"
  echo "installed $dest/$1"
}

for t in "${tasks[@]}"; do
  case "$t" in
    sst2)
      get "$SST2_URL" SST-2
      check_sha256 "$tmp/unpacked/SST-2/train.tsv" "$SST2_TRAIN_SHA256"
      check_sha256 "$tmp/unpacked/SST-2/dev.tsv" "$SST2_DEV_SHA256"
      echo "  --  SST-2/test.tsv (no reference hash)"
      install SST-2 ;;
    mnli)
      get "$MNLI_URL" MNLI
      check_blob "$tmp/unpacked/MNLI/dev_matched.tsv" "$MNLI_DEV_MATCHED_BLOB"
      echo "  --  MNLI/train.tsv, dev_mismatched.tsv, test_*.tsv (no reference hash)"
      install MNLI ;;
  esac
done
echo "done: $dest"
