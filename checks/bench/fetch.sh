#!/usr/bin/env bash
# Download benchmark: `nixspot fetch` vs curl against the same loopback server
# (python3 -m http.server on 127.0.0.1), in the same run. Cases:
#   - one 1 GiB file (nixspot vs `curl -o`), plus 64 MiB to show RSS does not grow;
#   - 2,000 files of 4 KiB (nixspot, 4 at a time, vs sequential curl).
# Each nixspot run uses a fresh cache (full download, sha256 and rename included).
# Wall time and peak RSS by GNU time, median of RUNS runs (default 3). Prints Markdown.
# Run on demand (not in CI):  bash checks/bench/fetch.sh [RUNS]
# Needs: python3, curl, GNU time at /usr/bin/time (apt: time), cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
[[ -x /usr/bin/time ]] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }

cargo build --release -q -p nixspot
nixspot="$PWD/target/release/nixspot"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/www/small"
# Sparse files read as zeros: the server side costs no disk I/O.
truncate -s 1G "$work/www/big.bin"
truncate -s 64M "$work/www/mid.bin"
for i in $(seq 1 2000); do head -c 4096 /dev/urandom > "$work/www/small/f$i"; done
printf 'base' > "$work/base.img"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
python3 -m http.server --bind 127.0.0.1 "$port" --directory "$work/www" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/small/f1" && break; sleep 0.1; done
url="http://127.0.0.1:$port"

recipe() { # NAME FILES...
  local name="$1"; shift
  { echo "base: {source: '$work/base.img', rootfs_size: 1}"; echo "files:"
    local i=0
    for f in "$@"; do i=$((i+1)); echo "- {to: /data/f$i, url: '$url/$f'}"; done
  } > "$work/$name.yaml"
}
recipe big big.bin
recipe mid mid.bin
mapfile -t smalls < <(for i in $(seq 1 2000); do echo "small/f$i"; done)
recipe small "${smalls[@]}"

# measure NAME CMD... → appends "seconds rss_kb" to $work/NAME.times
measure() {
  local name="$1"; shift
  /usr/bin/time -f '%e %M' -o "$work/t" "$@" >/dev/null 2>&1
  cat "$work/t" >> "$work/$name.times"
}
median_col() { # FILE COL
  sort -n -k"$2" "$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'
}

for _ in $(seq 1 "$runs"); do
  rm -rf "$work/cache" "$work/out"; mkdir -p "$work/out"
  measure nixspot-big "$nixspot" fetch "$work/big.yaml" --cache-dir "$work/cache" --quiet
  rm -rf "$work/cache"
  measure curl-big curl -fsS -o "$work/out/big.bin" "$url/big.bin"
  rm -f "$work/out/big.bin"
  measure nixspot-mid "$nixspot" fetch "$work/mid.yaml" --cache-dir "$work/cache" --quiet
  rm -rf "$work/cache"
  measure nixspot-small "$nixspot" fetch "$work/small.yaml" --cache-dir "$work/cache" --quiet
  rm -rf "$work/cache"
  measure curl-small bash -c "for i in \$(seq 1 2000); do curl -fsS -o '$work/out/s' '$url/small/f'\$i; done"
done

mib=1024
row() { # LABEL NIXSPOT CURL BYTES
  local ns cs nr cr
  ns="$(median_col "$work/$2.times" 1)"; nr="$(median_col "$work/$2.times" 2)"
  cs="$(median_col "$work/$3.times" 1)"; cr="$(median_col "$work/$3.times" 2)"
  awk -v l="$1" -v ns="$ns" -v cs="$cs" -v nr="$nr" -v cr="$cr" -v b="$4" -v m="$mib" 'BEGIN {
    printf "| %s | %.2f s (%.0f MiB/s) | %.2f s (%.0f MiB/s) | %.2f | %.1f MiB | %.1f MiB |\n",
      l, ns, b/m/m/(ns>0?ns:0.01), cs, b/m/m/(cs>0?cs:0.01), (ns>0?cs/ns:0), nr/m, cr/m }'
}
echo "Downloads from 127.0.0.1 (python3 http.server), median of $runs runs, $(nproc) cores, load average at the end: $(cut -d" " -f1-3 /proc/loadavg)."
echo
echo "| case | nixspot fetch | curl | nixspot speed ÷ curl | nixspot peak RSS | curl peak RSS |"
echo "|---|---|---|---|---|---|"
row "1 GiB file" nixspot-big curl-big $((1024*1024*1024))
row "2,000 × 4 KiB (nixspot -j4 vs sequential curl)" nixspot-small curl-small $((2000*4096))
nm="$(median_col "$work/nixspot-mid.times" 2)"; nb="$(median_col "$work/nixspot-big.times" 2)"
echo
echo "nixspot peak RSS: $((nm / 1024)) MiB for 64 MiB, $((nb / 1024)) MiB for 1 GiB (streamed, not buffered)."
