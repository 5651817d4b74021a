#!/usr/bin/env bash
# Imager benchmark (run on demand, not in CI), all on 127.0.0.1 in one run:
#   1. reference: `nixspot build` of the order's exported module and lock, warm cache,
#      REFS times alone, then REFS times two at once (two workers on a 2-core machine
#      share its cores the same way);
#   2. ORDERS orders (default 50) through two `nixspot imager worker` processes on
#      PostgreSQL, each order of a configuration of its own (the hotspot's name and
#      SSID differ), so no two images are the same: uploads may refer to the chunks the
#      server already holds (base, content), never to a whole image. All must end ready,
#      each built exactly once, every image different, the first and the last the
#      sha256 of `nixspot build` of their modules; and the time per order (wall time of
#      the whole batch / ORDERS) against the references;
#   3. the API under 200 concurrent keep-alive clients (wrk): catalog search and order
#      status, p99 latency, errors, and the server's peak RSS (VmHWM) after all of it.
# The catalog is kiwix-serve with the repository's fixture ZIM, its download a local
# HTTP server; nixspot's base image comes from the Debian mirrors on first use (then
# cached in $NIXSPOT_BENCH_CACHE, default ~/.cache/nixspot-bench).
# STORAGE_FS=xfs puts the server's image storage on a loop-mounted XFS (xfsprogs), to
# compare filesystems (the storage writes only new chunks on any of them).
# Usage: bash checks/bench/imager.sh [ORDERS] [WRK_SECONDS]
# Needs: cargo device + release build, postgresql 15, kiwix-tools, wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
orders="${1:-50}"
secs="${2:-20}"
refs="${REFS:-5}"  # reference builds of each kind
for tool in wrk curl kiwix-serve python3 /usr/lib/postgresql/15/bin/initdb; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (bash .ci/install-deps; apt-get install wrk)" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"

cargo build --release -q -p nixspot
nixspot="$PWD/target/release/nixspot"
zim_src="$PWD/../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
zim_name=wikibooks_be_all_nopic_2017-02.zim
cache="${NIXSPOT_BENCH_CACHE:-$HOME/.cache/nixspot-bench}"
work="$(mktemp -d /var/tmp/nixspot-imager-bench.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${pg_data:-}" ] && runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  # KEEP_LOGS=DIR: the server's and the workers' logs are kept there.
  [ -n "${KEEP_LOGS:-}" ] && mkdir -p "$KEEP_LOGS" && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null
  [ -n "${storage_mount:-}" ] && { sleep 1; umount -l "$storage_mount" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# --- the catalog and its download ---
mkdir -p "$work/srv/zim" "$work/lib"
cp "$zim_src" "$work/srv/zim/$zim_name"
cp "$zim_src" "$work/lib/wb.zim"
sha="$(sha256sum "$zim_src" | cut -d' ' -f1)"
size="$(stat -c %s "$zim_src")"
echo "$sha  $zim_name" >"$work/srv/zim/$zim_name.sha256"
cat >"$work/srv/zim/$zim_name.meta4" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="$zim_name"><size>$size</size><hash type="sha-256">$sha</hash></file></metalink>
EOF
http_port="$(free_port)"
python3 -m http.server -b 127.0.0.1 -d "$work/srv" "$http_port" >/dev/null 2>&1 &
pids+=($!)
cat >"$work/lib/library.xml" <<EOF
<library version="20110515">
  <book id="6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0001" path="wb.zim" url="http://127.0.0.1:$http_port/zim/$zim_name.meta4" title="Wikibooks (be)" description="Belarusian Wikibooks" language="bel" creator="Wikibooks" publisher="Kiwix" name="wikibooks_be_all" flavour="nopic" tags="wikibooks;_category:wikibooks;nopic" date="2017-02-01" articleCount="10" mediaCount="0" size="149"/>
</library>
EOF
kiwix_port="$(free_port)"
kiwix-serve --library --address 127.0.0.1 --port "$kiwix_port" "$work/lib/library.xml" >"$work/kiwix.log" 2>&1 &
pids+=($!)

# --- PostgreSQL, a cluster of its own ---
pg_data="$work/pg"
mkdir -p "$pg_data" && chown postgres: "$pg_data"
runuser -u postgres -- /usr/lib/postgresql/15/bin/initdb -D "$pg_data" -U nixspot --auth=trust -E UTF8 --no-locale --no-sync >/dev/null
pg_port="$(free_port)"
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$pg_data" -l "$pg_data/log" -w \
  -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_data -c max_connections=200" start >/dev/null
/usr/lib/postgresql/15/bin/createdb -h 127.0.0.1 -p "$pg_port" -U nixspot nixspot
database="postgres://nixspot@127.0.0.1:$pg_port/nixspot"

# --- the server (no embedded worker), users, tokens ---
# Images expire 30 s after they are ready (the sweeper deletes them), so 50 stored
# orders never fill the disk: an expired order keeps its sha256, so it still counts.
data="$work/data"
mkdir -p "$data"
if [ "${STORAGE_FS:-}" = xfs ]; then
  truncate -s 64G "$work/storage.xfs"
  mkfs.xfs -q -m reflink=1 "$work/storage.xfs"
  storage_mount="$data/storage"
  mkdir -p "$storage_mount" && mount -o loop "$work/storage.xfs" "$storage_mount"
fi
imager_port="$(free_port)"
url="http://127.0.0.1:$imager_port"
"$nixspot" imager serve --workers 0 --listen "127.0.0.1:$imager_port" --data-dir "$data" \
  --database "$database" --catalog "http://127.0.0.1:$kiwix_port" --cache-dir "$work/server-cache" \
  --image-ttl 30s \
  >"$work/serve.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 1 600); do curl -s -o /dev/null "$url" && break; sleep 0.1; done
token() { # NAME [ROLE FLAG]
  echo "a long password" | "$nixspot" imager user add "$1" --email "$1@example.org" --password-stdin \
    --data-dir "$data" --database "$database" ${2:-} >/dev/null
  "$nixspot" imager token create --user "$1" --data-dir "$data" --database "$database" | tail -n 1
}
alice="$(token alice)"
worker_token="$(token build --worker)"
api() { # METHOD PATH [BODY]
  curl -sf -X "$1" -H "Authorization: Bearer $alice" -H "Content-Type: application/json" \
    ${3:+--data-binary "$3"} "$url$2"
}
configure() { # NAME -> the configuration's id
  api POST /api/v1/configurations "{\"hotspot\": {\"name\": \"$1\", \"domain\": \"library\",
  \"ap\": {\"ssid\": \"$1\"}, \"base\": {\"source\": \"nixspot:base\"},
  \"zims\": {\"wikibooks\": {\"package\": \"wikibooks_be_all:nopic\"}}}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
config="$(configure "School Library 1")"
api GET "/api/v1/configurations/$config/module.nix" >"$work/school.nix"
api GET "/api/v1/configurations/$config/lock.json" >"$work/school.lock.json"
# The server's peak RSS so far (VmHWM), read after each phase to see what raises it.
peak() { awk '$1=="VmHWM:" {printf "%.1f", $2/1024}' "/proc/$server_pid/status"; }
hwm_config="$(peak)"

# --- 1. the references: nixspot build alone, then two at once (warm caches) ---
build() { # OUTPUT CACHE
  "$nixspot" build "$work/school.nix" --lock "$work/school.lock.json" --locked --quiet \
    -X -o "$1" --cache-dir "$2"
}
mkdir -p "$work/cache-a" "$work/cache-b"
cp -a "$cache/." "$work/cache-a/" 2>/dev/null || true
build "$work/warm.img" "$work/cache-a"  # downloads the base's .debs on the first run ever
mkdir -p "$cache" && cp -a "$work/cache-a/." "$cache/"
cp -a "$work/cache-a/." "$work/cache-b/"
build "$work/warm.img" "$work/cache-b"
reference_sha="$(sha256sum "$work/warm.img" | cut -d' ' -f1)"
# The copies above are not the references' writeback: each build fsyncs its image.
sync
alone=()
for i in $(seq 1 "$refs"); do
  rm -f "$work/ref.img"; t0="$(now)"; build "$work/ref.img" "$work/cache-a"; alone+=("$(echo "$(now) - $t0" | bc)")
done
pair=()
for i in $(seq 1 "$refs"); do
  rm -f "$work/ref-a.img" "$work/ref-b.img"; t0="$(now)"
  build "$work/ref-a.img" "$work/cache-a" & a=$!
  build "$work/ref-b.img" "$work/cache-b" & b=$!
  wait "$a" "$b"; pair+=("$(echo "($(now) - $t0)" | bc)")
done
rm -f "$work"/ref*.img "$work/warm.img"
alone_median="$(printf '%s\n' "${alone[@]}" | median)"
pair_median="$(printf '%s\n' "${pair[@]}" | median)"

# --- 2. ORDERS orders through two workers, each of a configuration of its own ---
configs=("$config")
for i in $(seq 2 "$orders"); do configs+=("$(configure "School Library $i")"); done
last="${configs[$((orders - 1))]}"
for w in a b; do
  "$nixspot" imager worker --server "$url" --token "$worker_token" --name "worker-$w" \
    --cache-dir "$work/cache-$w" --work-dir "$work/work-$w" --poll-interval 0.2 \
    >"$work/worker-$w.log" 2>&1 &
  pids+=($!)
done
# Ordering and watching from one process on one keep-alive connection: a curl and a
# python3 per order and per status check cost about half a core while the workers
# build, and a pass over 50 orders took seconds (the batch's end was seen that late).
orders_out="$(python3 - "$imager_port" "$alice" "${configs[@]}" <<'PY'
import http.client, json, sys, time
port, token, configs = sys.argv[1], sys.argv[2], sys.argv[3:]
conn = http.client.HTTPConnection("127.0.0.1", int(port))
def api(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    answer = conn.getresponse()
    data = answer.read()
    if answer.status >= 300:
        sys.exit(f"{method} {path}: {answer.status} {data[:200]!r}")
    return json.loads(data)
t0 = time.monotonic()
ids = [api("POST", "/api/v1/orders", {"configuration": c})["id"] for c in configs]
ordering = time.monotonic() - t0
states = {}
while True:
    for i in ids:
        if states.get(i, ("",))[0] not in ("ready", "expired", "failed"):
            d = api("GET", f"/api/v1/orders/{i}")
            states[i] = (d["state"], d.get("sha256") or "-")
    if all(states[i][0] in ("ready", "expired", "failed") for i in ids):
        break
    time.sleep(0.1)
print(f"{ordering:.3f} {time.monotonic() - t0:.3f}")
for i in ids:
    print(i, *states[i])
PY
)"
read -r ordering batch <<<"$(head -n 1 <<<"$orders_out")"
mapfile -t ids < <(tail -n +2 <<<"$orders_out" | awk '{print $1}')
states="$(tail -n +2 <<<"$orders_out" | cut -d' ' -f2-)"
hwm_built="$(peak)"
ready="$(grep -cE '^(ready|expired) ' <<<"$states" || true)"
# The first order's image is the reference build's; the last one's is checked against
# a build of its own module; and no two orders have the same image.
api GET "/api/v1/configurations/$last/module.nix" >"$work/last.nix"
api GET "/api/v1/configurations/$last/lock.json" >"$work/last.lock.json"
"$nixspot" build "$work/last.nix" --lock "$work/last.lock.json" --locked --quiet -X \
  -o "$work/last.img" --cache-dir "$work/cache-a"
last_sha="$(sha256sum "$work/last.img" | cut -d' ' -f1)"; rm -f "$work/last.img"
first_ok="$(head -n 1 <<<"$states" | grep -cE "^(ready|expired) $reference_sha\$" || true)"
last_ok="$(tail -n 1 <<<"$states" | grep -cE "^(ready|expired) $last_sha\$" || true)"
distinct="$(awk '{print $2}' <<<"$states" | sort -u | wc -l)"
claims="$(grep -hc 'claimed' "$work"/worker-*.log | paste -sd+ | bc || true)"
per_order="$(echo "scale=3; $batch * 2 / $orders" | bc)"
service_per_order="$(echo "scale=3; $batch / $orders" | bc)"
# Where a job's time goes, from the workers' logs: claim to image built (evaluation,
# fetch, assembly), built to uploaded, uploaded to the next claim (clean-up, polling).
steps="$(python3 - "$work"/worker-*.log <<'PY'
import re, sys, statistics
from datetime import datetime
spans = {"build": [], "upload": [], "next claim": []}
sent, referred = [], []
for path in sys.argv[1:]:
    events = []
    for line in open(path, errors="replace"):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        m = re.match(r"(\S+Z)\s+\S+\s+\S+ (claimed|image built|image uploaded)", line)
        if m:
            events.append((datetime.fromisoformat(m[1].replace("Z", "+00:00")), m[2]))
        m = re.search(r"image uploaded.*sent_bytes=([0-9]+).*referred_bytes=([0-9]+)", line)
        if m:
            sent.append(int(m[1]) / 1e6); referred.append(int(m[2]) / 1e6)
    for (t1, a), (t2, b) in zip(events, events[1:]):
        key = {("claimed", "image built"): "build", ("image built", "image uploaded"): "upload",
               ("image uploaded", "claimed"): "next claim"}.get((a, b))
        if key:
            spans[key].append((t2 - t1).total_seconds())
print("; ".join(f"{k} {statistics.median(v):.2f} s (mean {statistics.mean(v):.2f}, max {max(v):.2f})"
                for k, v in spans.items() if v)
      + (f"; data sent per upload {statistics.median(sent):.1f} MB median (max {max(sent):.1f}),"
         f" referred to {statistics.median(referred):.1f} MB" if sent else ""))
PY
)"

# --- 3. the API under 200 concurrent clients ---
order="${ids[0]}"
load() { # PATH -> "req/s|p99|errors"
  local out
  out="$(wrk -t 2 -c 200 -d "${secs}s" --latency -H "Authorization: Bearer $alice" "$url$1")"
  local rps p99 errors
  rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
  echo "$rps|$p99|${errors:-none}"
}
search="$(load "/api/v1/catalog?q=wiki&lang=bel")"
hwm_search="$(peak)"
status="$(load "/api/v1/orders/$order")"
hwm="$(peak)"

echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo
echo "| measure | value |"
echo "|---|---:|"
echo "| \`nixspot build\` alone, median of $refs (s) | $alone_median |"
echo "| two \`nixspot build\` at once, median of $refs (s) | $pair_median |"
echo "| $orders orders through 2 workers on PostgreSQL, wall (s) | $batch |"
echo "| the service's time per order (wall / $orders) (s) | $service_per_order |"
echo "| the service's time per order ÷ build alone | $(echo "scale=3; $service_per_order / $alone_median" | bc) |"
echo "| a worker's time per order (wall x 2 / $orders) (s) | $per_order |"
echo "| a worker's time per order ÷ two builds at once | $(echo "scale=3; $per_order / $pair_median" | bc) |"
echo "| a worker's time per order ÷ build alone | $(echo "scale=3; $per_order / $alone_median" | bc) |"
echo "| orders built (ready, or expired since) / distinct images | $ready / $distinct |"
echo "| first / last order's image is \`nixspot build\` of its module (1 = yes) | $first_ok / $last_ok |"
echo "| jobs claimed by the workers (one per order: none duplicated) | ${claims:-?} |"
echo "| $orders orders created (POST, one after the other) (s) | $ordering |"
echo "| a job's steps in the workers' logs, median | $steps |"
echo
echo "| 200 clients, ${secs} s | requests/s | p99 | errors |"
echo "|---|---:|---:|---|"
echo "| \`GET /api/v1/catalog?q=wiki&lang=bel\` | ${search//|/ | } |"
echo "| \`GET /api/v1/orders/ID\` | ${status//|/ | } |"
echo
echo "Server peak RSS (VmHWM) after all of it: $hwm MiB (after the configuration and its lock: $hwm_config; built and uploaded: $hwm_built; catalog searches: $hwm_search)"
