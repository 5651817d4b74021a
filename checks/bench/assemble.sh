#!/usr/bin/env bash
# Assembly benchmark (run on demand, not in CI): a recipe with a 1 GiB base image and
# 3 GiB of content, warm cache. Compares, in the same run:
#   nixspot   `nixspot assemble` (rootless, reproducible)
#   floor     `cp --sparse=always` of the base + `cat` of the content into one file:
#             the bytes every method must write, the physical limit
#   c-tools   the same image with sfdisk + `fakeroot mke2fs -d` + mcopy
#   no-op     `nixspot assemble -X` again with nothing changed (the output's stamp
#             matches: see rust/image/src/stamp.rs for when an image is reused)
# Prints a Markdown table (median of RUNS runs: wall s, CPU s, peak RSS MiB, ratio to the
# floor). Needs: fakeroot, e2fsprogs, dosfstools, mtools, fdisk, GNU time.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-/tmp/nixspot-bench-assemble}
runs=${RUNS:-3}
content_gib=${CONTENT_GIB:-3}
nixspot=${NIXSPOT:-$root/target/release/nixspot}

if [ ! -x "$nixspot" ]; then
  (cd "$root" && cargo build --release -p nixspot)
fi
rm -rf "$work"
mkdir -p "$work/rootfs" "$work/data" "$work/content" "$work/cache"
trap 'rm -rf "$work"' EXIT

echo "preparing a 1 GiB base image and ${content_gib} GiB of content in $work" >&2
head -c 900M /dev/urandom >"$work/rootfs/blob"
: >"$work/data/master_fs"
base="$work/base.img"
truncate -s 1100M "$base"
sfdisk -q "$base" <<EOF
label: dos
label-id: 0x5eed0001
start=8192, size=131072, type=c
start=139264, size=1990656, type=83
start=2129920, type=83
EOF
mkfs.fat -F 32 -s 1 -n bootfs --offset 8192 "$base" 65536 >/dev/null 2>&1
printf 'arm_64bit=1\n' >"$work/config.txt"
mcopy -i "$base@@$((8192 * 512))" "$work/config.txt" ::config.txt
fakeroot mke2fs -q -t ext4 -d "$work/rootfs" -E offset=$((139264 * 512)) "$base" 995328k
fakeroot mke2fs -q -t ext4 -L data -d "$work/data" -E offset=$((2129920 * 512)) "$base" \
  $(( ($(stat -c %s "$base") - 2129920 * 512) / 1024 ))k
rm -f "$work/rootfs/blob" # in the base image now; frees disk space for the images

# Every input is pinned, as after `nixspot lock`: a warm cache then serves it without
# re-reading (an unpinned local file would be copied and hashed again on every run).
base_sum=$(sha256sum "$base" | cut -d' ' -f1)
declare -A sums=()
files=""
for i in $(seq 1 "$content_gib"); do
  head -c 1G /dev/urandom >"$work/content/zim$i.zim"
  sum=$(sha256sum "$work/content/zim$i.zim" | cut -d' ' -f1)
  sums["$work/content/zim$i.zim"]=$sum
  files="$files
- to: /data/contents/zims/zim$i.zim
  url: file://$work/content/zim$i.zim
  checksum: {algo: sha256, value: $sum}"
done
cat >"$work/recipe.yaml" <<EOF
base:
  source: file://$base
  checksum: {algo: sha256, value: $base_sum}
  rootfs_size: 1000000000
output:
  size: auto
files:$files
offspot:
  hostname: bench
EOF
printf 'hostname: bench\n' >"$work/offspot.yaml"

# Warm the cache (not timed).
"$nixspot" fetch --quiet --cache-dir "$work/cache" "$work/recipe.yaml" >/dev/null
# The cache holds copies of the content: make the original files hard links to them
# (same bytes, no second copy on disk; the cache stores content as
# content/<2 hex>/<sha256>). Not the base: the original is sparse, its copy may not be.
for f in "${!sums[@]}"; do
  sum=${sums[$f]}
  cached="$work/cache/content/${sum:0:2}/$sum"
  if [ -f "$cached" ]; then
    ln -f "$cached" "$f"
  fi
done
size=$("$nixspot" assemble -C --quiet --cache-dir "$work/cache" "$work/recipe.yaml" "$work/x.img")

measure() { # command… → "wall cpu maxrss_kib"
  local t
  t=$(mktemp)
  /usr/bin/time -o "$t" -f '%e %U %S %M' "$@" >/dev/null 2>&1
  awk '{ printf "%s %.2f %d\n", $1, $2 + $3, $4 }' "$t"
  rm -f "$t"
}

floor() {
  cp --sparse=always "$base" "$work/floor.img"
  cat "$work"/content/*.zim >>"$work/floor.img"
  sync -f "$work/floor.img"
}

c_tools() {
  local img="$work/ctools.img" tree="$work/ctools-tree" start=$((2129920 * 512))
  rm -rf "$img" "$tree"
  cp --sparse=always "$base" "$img"
  truncate -s "$size" "$img"
  echo ', +' | sfdisk -q -N 3 "$img"
  mkdir -p "$tree/contents/zims"
  : >"$tree/master_fs"
  ln "$work"/content/*.zim "$tree/contents/zims/"
  fakeroot mke2fs -q -F -t ext4 -L data -d "$tree" -E offset=$start "$img" \
    $(( (size - start) / 1024 ))k
  mcopy -o -i "$img@@$((8192 * 512))" "$work/offspot.yaml" ::offspot.yaml
  sync -f "$img"
}

nixspot_assemble() {
  "$nixspot" assemble -X --quiet --cache-dir "$work/cache" "$work/recipe.yaml" "$work/nixspot.img"
}

# Untimed, before every timed run: read the method's inputs so each starts with them in
# the page cache (otherwise the images written by earlier methods evict the least
# recently used inputs, the nixspot cache, and the order of methods decides the result).
warm() {
  case $1 in
    nixspot_assemble | noop) find "$work/cache/content" -type f -exec cat {} + >/dev/null ;;
    *) cat "$base" "$work"/content/*.zim >/dev/null ;;
  esac
}

export -f floor c_tools nixspot_assemble
export work base size nixspot

declare -A results
for name in floor c_tools nixspot_assemble noop; do
  samples=()
  for _ in $(seq 1 "$runs"); do
    warm "$name"
    case $name in
      noop) samples+=("$(measure bash -c nixspot_assemble)") ;;
      *) rm -f "$work/floor.img" "$work/ctools.img" "$work/nixspot.img"
         samples+=("$(measure bash -c "$name")") ;;
    esac
    sync
  done
  results[$name]=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
done

floor_wall=$(cut -d' ' -f1 <<<"${results[floor]}")
printf '| method | wall s | CPU s | peak RSS MiB | wall / floor |\n|---|---|---|---|---|\n'
for name in floor c_tools nixspot_assemble noop; do
  read -r wall cpu rss <<<"${results[$name]}"
  label=$name
  case $name in
    floor) label='floor (`cp --sparse` + `cat`)' ;;
    c_tools) label='C tools (sfdisk + fakeroot mke2fs -d + mcopy)' ;;
    nixspot_assemble) label='`nixspot assemble`' ;;
    noop) label='`nixspot assemble -X`, nothing changed' ;;
  esac
  printf '| %s | %s | %s | %d | %.2f |\n' "$label" "$wall" "$cpu" $((rss / 1024)) \
    "$(awk -v a="$wall" -v b="$floor_wall" 'BEGIN { print a / b }')"
done
echo
echo "image size $size bytes; base 1100 MiB (900 MiB data), content ${content_gib} GiB; median of $runs runs" >&2
