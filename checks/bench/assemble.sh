#!/usr/bin/env bash
# Assembly benchmark (run on demand, not in CI): a recipe with a 1.1 GiB base image and
# CONTENT GiB of content (default: 1 and 3), warm cache. For each content size, in the
# same run:
#   nixspot   `nixspot assemble` (rootless, reproducible, sha256 of the image included)
#   floor     `cp --sparse=always` of the base + `cat` of the content into one file:
#             the bytes every method must write, the physical limit
#   no-op     `nixspot assemble -X` again with nothing changed (the output's stamp
#             matches: see rust/assemble/src/stamp.rs for when an image is reused)
#   c-tools   (CTOOLS=1) the same image with sfdisk + `fakeroot mke2fs -d` + mcopy
# nixspot and the floor are measured as RUNS pairs, alternating which goes first, so that
# drift of the machine's load hits both; the ratio is the median of the per-pair ratios.
# Every method ends with `sync` of its output, and before each timed run its inputs are
# read once (untimed), so each starts with them in the page cache. Also measured: the
# CPU time of one sha256 pass over the finished image (`openssl dgst -sha256`, which
# uses the CPU's SHA instructions like nixspot's hasher; page cache warm), the second term
# of the CPU budget (floor + one sha256 pass). `uptime` is printed before and after each size.
# Prints Markdown tables: medians of wall s, CPU s (user+sys), peak RSS MiB.
# Needs: GNU time at /usr/bin/time, openssl, fakeroot, e2fsprogs, dosfstools, mtools, fdisk;
# about 15 GiB free in BENCH_DIR for 3 GiB of content (more with CTOOLS=1).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-/tmp/nixspot-bench-assemble}
runs=${RUNS:-5}
sizes=${CONTENT:-1 3}
nixspot=${NIXSPOT:-$root/target/release/nixspot}
[[ -x /usr/bin/time ]] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }

if [ ! -x "$nixspot" ]; then
  (cd "$root" && cargo build --release -p nixspot)
fi
rm -rf "$work"
mkdir -p "$work/rootfs" "$work/data" "$work/content" "$work/cache"
trap 'rm -rf "$work"' EXIT
max=0
for s in $sizes; do [ "$s" -gt "$max" ] && max=$s; done

echo "preparing a 1.1 GiB base image and ${max} GiB of content in $work" >&2
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
for i in $(seq 1 "$max"); do
  head -c 1G /dev/urandom >"$work/content/zim$i.zim"
  sums[$i]=$(sha256sum "$work/content/zim$i.zim" | cut -d' ' -f1)
done
recipe() { # GiB → recipe path
  local r="$work/recipe-$1.yaml" files=""
  for i in $(seq 1 "$1"); do
    files="$files
- to: /data/contents/zims/zim$i.zim
  url: file://$work/content/zim$i.zim
  checksum: {algo: sha256, value: ${sums[$i]}}"
  done
  cat >"$r" <<EOF
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
  echo "$r"
}
printf 'hostname: bench\n' >"$work/offspot.yaml"

# Warm the cache (not timed).
"$nixspot" fetch --quiet --cache-dir "$work/cache" "$(recipe "$max")" >/dev/null
# The cache holds copies of the content: make the original files hard links to them
# (same bytes, no second copy on disk; the cache stores content as
# content/<2 hex>/<sha256>). Not the base: the original is sparse, its copy may not be.
for i in "${!sums[@]}"; do
  sum=${sums[$i]}
  cached="$work/cache/content/${sum:0:2}/$sum"
  if [ -f "$cached" ]; then
    ln -f "$cached" "$work/content/zim$i.zim"
  fi
done

measure() { # command… → "wall cpu maxrss_kib"
  local t
  t=$(mktemp)
  /usr/bin/time -o "$t" -f '%e %U %S %M' "$@" >/dev/null 2>&1
  awk '{ printf "%s %.2f %d\n", $1, $2 + $3, $4 }' "$t"
  rm -f "$t"
}

# The content files of the size being measured are in CONTENT_LIST (exported).
floor() {
  local content
  read -ra content <<<"$CONTENT_LIST"
  cp --sparse=always "$base" "$work/floor.img"
  cat "${content[@]}" >>"$work/floor.img"
  sync -f "$work/floor.img"
}

c_tools() {
  local content img="$work/ctools.img" tree="$work/ctools-tree" start=$((2129920 * 512))
  read -ra content <<<"$CONTENT_LIST"
  rm -rf "$img" "$tree"
  cp --sparse=always "$base" "$img"
  truncate -s "$size" "$img"
  echo ', +' | sfdisk -q -N 3 "$img"
  mkdir -p "$tree/contents/zims"
  : >"$tree/master_fs"
  ln "${content[@]}" "$tree/contents/zims/"
  fakeroot mke2fs -q -F -t ext4 -L data -d "$tree" -E offset=$start "$img" \
    $(( (size - start) / 1024 ))k
  mcopy -o -i "$img@@$((8192 * 512))" "$work/offspot.yaml" ::offspot.yaml
  sync -f "$img"
  rm -rf "$tree"
}

nixspot_assemble() {
  "$nixspot" assemble -X --quiet --cache-dir "$work/cache" "$recipe" "$work/nixspot.img"
}

# Untimed, before every timed run: read the method's inputs so each starts with them in
# the page cache (otherwise the images written by earlier methods evict the least
# recently used inputs, the nixspot cache, and the order of methods decides the result).
warm() {
  case $1 in
    nixspot_assemble | noop) find "$work/cache/content" -type f -exec cat {} + >/dev/null ;;
    *) cat "$base" $CONTENT_LIST >/dev/null ;;
  esac
}

run_one() { # method → "wall cpu rss"
  warm "$1"
  case $1 in
    noop) measure bash -c nixspot_assemble ;;
    *) rm -f "$work/floor.img" "$work/ctools.img" "$work/nixspot.img"
       sync
       measure bash -c "$1" ;;
  esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { cut -d' ' -f"$1" | median; }

export -f floor c_tools nixspot_assemble
export work base nixspot

for gib in $sizes; do
  recipe=$(recipe "$gib")
  content=()
  for i in $(seq 1 "$gib"); do content+=("$work/content/zim$i.zim"); done
  size=$("$nixspot" assemble -C --quiet --cache-dir "$work/cache" "$recipe" "$work/x.img")
  export recipe size
  export CONTENT_LIST="${content[*]}"
  load_before=$(uptime)
  fl=() nx=() ratios=() cpu_ratios=()
  for r in $(seq 1 "$runs"); do
    if (( r % 2 )); then
      f=$(run_one floor); n=$(run_one nixspot_assemble)
    else
      n=$(run_one nixspot_assemble); f=$(run_one floor)
    fi
    fl+=("$f") nx+=("$n")
    read -r fw fc _ <<<"$f"
    read -r nw nc _ <<<"$n"
    ratios+=("$(awk -v a="$nw" -v b="$fw" 'BEGIN { printf "%.3f", a / b }')")
    cpu_ratios+=("$(awk -v a="$nc" -v b="$fc" 'BEGIN { printf "%.3f", a / b }')")
    echo "  pair $r: floor $f | nixspot $n | wall ratio ${ratios[-1]}" >&2
  done
  noops=()
  for _ in $(seq 1 "$runs"); do noops+=("$(run_one noop)"); done
  hash_cpu=$(measure openssl dgst -sha256 "$work/nixspot.img" | cut -d' ' -f2)
  ct=""
  if [ "${CTOOLS:-0}" = 1 ]; then
    ct=$(run_one c_tools)
    rm -f "$work/ctools.img"
  fi
  load_after=$(uptime)
  echo
  echo "### ${gib} GiB of content (image $size bytes), $runs pairs"
  echo
  echo "load before: ${load_before#*load average: }; after: ${load_after#*load average: }"
  echo
  printf '| method | wall s | CPU s | peak RSS MiB |\n|---|---|---|---|\n'
  row() { printf '| %s | %s | %s | %d |\n' "$1" "$(printf '%s\n' "${@:2}" | col 1)" \
    "$(printf '%s\n' "${@:2}" | col 2)" "$(( $(printf '%s\n' "${@:2}" | col 3 | cut -d. -f1) / 1024 ))"; }
  row 'floor (`cp --sparse=always` + `cat`)' "${fl[@]}"
  row '`nixspot assemble`' "${nx[@]}"
  row '`nixspot assemble -X`, nothing changed' "${noops[@]}"
  [ -n "$ct" ] && row 'C tools (sfdisk + fakeroot mke2fs -d + mcopy), one run' "$ct"
  echo
  wr=$(printf '%s\n' "${ratios[@]}" | median)
  cr=$(printf '%s\n' "${cpu_ratios[@]}" | median)
  fcpu=$(printf '%s\n' "${fl[@]}" | col 2)
  echo "nixspot ÷ floor, median of $runs paired ratios: wall **$wr** (pairs: ${ratios[*]}), CPU $cr."
  echo "CPU budget (floor + one sha256 pass, \`openssl dgst -sha256\` of the image: $hash_cpu s): $(awk -v a="$fcpu" -v b="$hash_cpu" 'BEGIN { printf "%.2f", a + b }') s."
  rm -f "$work/floor.img" "$work/nixspot.img" "$work/x.img"
done
