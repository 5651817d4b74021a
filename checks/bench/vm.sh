#!/usr/bin/env bash
# VM benchmark (run on demand, not in CI): building the VM checks' test hotspot
# (checks/vm/hotspot.nix) on nixspot's own base image, and booting it in QEMU raspi3b.
#   build, cold   `nixspot build` with the .debs and the ZIM in the cache but no base
#                 image yet (nixspot:base is built from 79 packages first)
#   build, warm   the same again (output removed first): the cached base image is reused
#   boot          `nixspot vm-test --check http --check timeline`: QEMU start → console
#                 shell answers → the captive portal answers on port 80 (through the host
#                 forward), after a `sync` of the build; the `timeline` check's breakdown
#                 of the median boot
# Reference in the same run: `cp --sparse=always` of the finished image (the bytes any
# image builder must write). Prints a Markdown table (median of RUNS runs).
# Needs: qemu-system-aarch64, GNU time, network once (the .debs), `cargo device` done.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${BENCH_DIR:-/tmp/nixspot-bench-vm}
runs=${RUNS:-3}
nixspot=${NIXSPOT:-$root/target/release/nixspot}
zim=$root/../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim
export NIXSPOT_DEVICE_BINARIES=${NIXSPOT_DEVICE_BINARIES:-$root/target/aarch64-unknown-linux-musl/release}

if [ ! -x "$nixspot" ]; then
  (cd "$root" && cargo build --release -p nixspot)
fi
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
"$nixspot" base fetch --cache-dir "$work/debs" >&2
# the test hotspot's test-only packages (the WiFi phone's tools), downloaded once, untimed
"$nixspot" cache add --cache-dir "$work/debs" "$zim" >/dev/null
"$nixspot" build "$root/checks/vm/hotspot.nix" -o "$work/prefetch.img" --cache-dir "$work/debs" --locked --quiet >&2
rm -f "$work/prefetch.img"

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
timed() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>&1 || { cat "$work/out" >&2; exit 1; }; cat "$work/time"; }

: >"$work/cold" ; : >"$work/warm" ; : >"$work/copy" ; : >"$work/console" ; : >"$work/portal"
for i in $(seq "$runs"); do
  cache="$work/cache-$i"
  "$nixspot" cache add --cache-dir "$cache" "$zim" "$work"/debs/content/*/* >/dev/null
  timed "$nixspot" build "$root/checks/vm/hotspot.nix" -o "$work/vm.img" --cache-dir "$cache" --offline --locked --quiet -X >>"$work/cold"
  rm -f "$work/vm.img" # else the unchanged output is reused as is
  timed "$nixspot" build "$root/checks/vm/hotspot.nix" -o "$work/vm.img" --cache-dir "$cache" --offline --locked --quiet >>"$work/warm"
  rm -f "$work/copy.img"
  timed cp --sparse=always "$work/vm.img" "$work/copy.img" >>"$work/copy"
  # The build's writeback is the host's work, not the boot's: done before QEMU starts.
  sync
  "$nixspot" vm-test "$work/vm.img" --check http --check timeline >"$work/vm.out" 2>&1 || { cat "$work/vm.out" >&2; exit 1; }
  sed -n 's/^console ready \([0-9.]*\) s.*/\1/p' "$work/vm.out" >>"$work/console"
  c=$(tail -1 "$work/console")
  h=$(sed -n 's/^ok    http (\([0-9.]*\) s).*/\1/p' "$work/vm.out")
  p=$(echo "$c $h" | awk '{ print $1 + $2 }')
  echo "$p" >>"$work/portal"
  sed -n '/^ok    timeline/,$p' "$work/vm.out" >"$work/timeline-$p"
  rm -rf "$cache"
done

size=$(stat -c %s "$work/vm.img")
echo "test image: $((size / 1048576)) MiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| step | wall s (median of $runs) | peak RSS MiB |"
echo "|---|---|---|"
echo "| build, cold (base image built from the .debs) | $(cut -d' ' -f1 "$work/cold" | median) | $(( $(cut -d' ' -f2 "$work/cold" | median) / 1024 )) |"
echo "| build, warm (base image cached) | $(cut -d' ' -f1 "$work/warm" | median) | $(( $(cut -d' ' -f2 "$work/warm" | median) / 1024 )) |"
echo "| reference: \`cp --sparse=always\` of the image | $(cut -d' ' -f1 "$work/copy" | median) | $(( $(cut -d' ' -f2 "$work/copy" | median) / 1024 )) |"
echo "| boot: QEMU start → console shell | $(median <"$work/console") | — |"
echo "| boot: QEMU start → captive portal answers on port 80 | $(median <"$work/portal") | — |"
echo
echo "Each boot, QEMU start → portal (s): $(paste -sd' ' "$work/portal")"
echo
echo "The median boot's timeline (guest seconds since the kernel started):"
echo
echo '```'
cat "$work/timeline-$(median <"$work/portal")"
echo '```'
