#!/usr/bin/env bash
# ext4 writer benchmark: write a 4 GiB data partition from (a) 3 files of 1.3 GiB and
# (b) 50,000 files of 40 KiB, with nixspot's writer (rust/fs/examples/mkext4.rs),
# `fakeroot mke2fs -d` (e2fsprogs) and, as the physical floor, `cp --sparse=always` of the
# image nixspot wrote (the same bytes). Each run ends with `sync` of its output, so page
# cache write-back is included. Wall time, CPU time (user+sys) and peak RSS from GNU time;
# prints a Markdown table with ratios to the floor.
# Run on demand (not in CI):  bash checks/bench/fs.sh
# Needs ~13 GiB free in BENCH_DIR (default /var/tmp); everything is deleted at the end.
# Needs: GNU time at /usr/bin/time (apt: time), mke2fs (e2fsprogs), fakeroot, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
[[ -x /usr/bin/time ]] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }
for t in mke2fs fakeroot; do
  command -v "$t" >/dev/null || { echo "$t is needed (see .ci/install-deps)" >&2; exit 1; }
done

cargo build --release -q -p nixspot-fs --example mkext4
mkext4="$PWD/target/release/examples/mkext4"
work="$(mktemp -d -p "${BENCH_DIR:-/var/tmp}" nixspot-fs-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
size=$((4 * 1024 * 1024 * 1024))
export SOURCE_DATE_EPOCH=1700000000

echo "generating inputs in $work …" >&2
mkdir -p "$work/a" "$work/b"
for i in 1 2 3; do
  head -c $((1300 * 1024 * 1024)) /dev/urandom > "$work/a/file$i.bin"
done
head -c $((40 * 1024)) /dev/urandom > "$work/seed.bin"
for d in $(seq -w 0 49); do
  mkdir -p "$work/b/d$d"
  for f in $(seq -w 0 999); do
    # distinct contents: a 40 KiB seed with the file's name in front
    { printf '%s/%s' "$d" "$f"; tail -c +9 "$work/seed.bin"; } > "$work/b/d$d/f$f"
  done
done
sync

# measure NAME OUTPUT CMD… → "wall cpu rss_kib"
measure() {
  local out="$1"; shift
  rm -f "$out"
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" sh -c '"$@" >/dev/null && sync -f "$0"' "$out" "$@"
  awk '{ printf "%.2f %.2f %d\n", $1, $2 + $3, $4 }' "$work/time.txt"
}

rows=()
for case in a b; do
  src="$work/$case"
  read -r nw nc nr < <(measure "$work/nixspot.img" "$mkext4" "$src" "$work/nixspot.img" "$size")
  e2fsck -fn "$work/nixspot.img" >/dev/null || { echo "nixspot image not clean" >&2; exit 1; }
  read -r mw mc mr < <(measure "$work/mke2fs.img" fakeroot mke2fs -q -F -t ext4 -E root_owner=0:0 -d "$src" "$work/mke2fs.img" "$size")
  rm -f "$work/mke2fs.img"
  read -r cw cc cr < <(measure "$work/cp.img" cp --sparse=always "$work/nixspot.img" "$work/cp.img")
  rm -f "$work/cp.img" "$work/nixspot.img"
  label=$([[ $case == a ]] && echo "(a) 3 × 1.3 GiB" || echo "(b) 50k × 40 KiB")
  ratio() { awk -v x="$1" -v y="$2" 'BEGIN { printf "%.2f×", (y > 0 ? x / y : 0) }'; }
  rows+=("| $label | nixspot | $nw | $nc | $((nr / 1024)) | $(ratio "$nw" "$cw") | $(ratio "$nw" "$mw") |")
  rows+=("| $label | fakeroot mke2fs -d | $mw | $mc | $((mr / 1024)) | $(ratio "$mw" "$cw") | 1.00× |")
  rows+=("| $label | cp --sparse=always (floor) | $cw | $cc | $((cr / 1024)) | 1.00× | $(ratio "$cw" "$mw") |")
  rm -rf "$src"
done

echo "| tree | tool | wall s | CPU s | peak RSS MiB | wall ÷ floor | wall ÷ mke2fs |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
