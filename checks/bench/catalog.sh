#!/usr/bin/env bash
# Catalog benchmark: parsing a generated 10,000-entry OPDS feed (kiwix-serve's shape,
# checks/bench/catalog_feed.py) with nixspot-catalog's streaming parser vs Python
# `xmltodict.parse` of the same file (what the Kiwix Imager Service does), in the same
# run, alternating the two (paired); then search latency over the parsed catalog.
# Parse time is measured inside each process (file open to parsed catalog; nixspot's
# includes building the search index); peak RSS of the whole process by GNU time.
# Prints Markdown. Run on demand (not in CI):  bash checks/bench/catalog.sh [RUNS]
# Needs: python3 with xmltodict (pip install xmltodict), GNU time at /usr/bin/time, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-7}"
[[ -x /usr/bin/time ]] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }
python3 -c 'import xmltodict' 2>/dev/null || { echo "pip install xmltodict" >&2; exit 1; }

cargo build --release -q -p nixspot-catalog --example catalog_bench
bench="$PWD/target/release/examples/catalog_bench"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
feed="$work/entries.xml"
python3 checks/bench/catalog_feed.py "$feed" 10000
bytes="$(stat -c %s "$feed")"

xmltodict_parse='
import sys, time, xmltodict
start = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    feed = xmltodict.parse(f)
print("%.4f %d" % (time.perf_counter() - start, len(feed["feed"]["entry"])))
'

# measure NAME CMD... → appends "parse_seconds peak_rss_kb" to $work/NAME
measure() {
  local name="$1"; shift
  local out
  out="$(/usr/bin/time -f '%M' -o "$work/rss" "$@")"
  echo "${out%% *} $(cat "$work/rss")" >> "$work/$name"
}
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq 1 "$runs"); do
  measure nixspot "$bench" parse "$feed"
  measure xmltodict python3 -c "$xmltodict_parse" "$feed"
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio="$(paste -d' ' "$work/xmltodict" "$work/nixspot" | awk '{printf "%.2f\n", $1/$3}' | median)"
ns_t="$(cut -d' ' -f1 "$work/nixspot" | median)"; py_t="$(cut -d' ' -f1 "$work/xmltodict" | median)"
ns_m="$(cut -d' ' -f2 "$work/nixspot" | median)"; py_m="$(cut -d' ' -f2 "$work/xmltodict" | median)"

echo "Feed: 10,000 entries, $bytes bytes. $runs paired runs; load average $load_before before, $load_after after."
echo
echo "| parser | parse time (median) | peak RSS (median) |"
echo "|---|---|---|"
awk -v t="$ns_t" -v m="$ns_m" 'BEGIN {printf "| nixspot-catalog (quick-xml, streaming) | %.3f s | %.1f MiB |\n", t, m/1024}'
awk -v t="$py_t" -v m="$py_m" 'BEGIN {printf "| Python xmltodict.parse | %.3f s | %.1f MiB |\n", t, m/1024}'
echo
echo "Median of the per-pair ratios (xmltodict time ÷ nixspot time): ${ratio}×"
echo
echo "| search (10,000 entries) | hits | median | 95th percentile |"
echo "|---|---|---|---|"
"$bench" search "$feed" | awk -F'\t' '{printf "| %s | %s | %s ms | %s ms |\n", $1, $2, $3, $4}'
