#!/usr/bin/env bash
# Imager web UI benchmark (run on demand, not in CI), all on 127.0.0.1:
#   1. page weight: the bytes of each page's HTML plus the CSS and JavaScript it links
#      (catalog icons excluded), against the 100 KB target;
#   2. 200 concurrent keep-alive users (wrk, 2 threads, a Lua script), each signed in
#      with a session cookie, browsing the catalog page (searches and filters) and
#      opening configuration pages (list, new, edit, content picker), picked at random
#      per request: requests/s, p50/p99 latency (target p99 < 100 ms), errors, and the
#      server's peak RSS (VmHWM) after it.
# The server is `nixspot imager serve` on SQLite, no embedded worker, its catalog a
# kiwix-serve of the repository's fixture ZIM (the catalog is fetched once and cached);
# the configuration has no content yet (adding some would pin it: a download).
# Usage: bash checks/bench/imager-ui.sh [WRK_SECONDS] [CONNECTIONS]   (NIXSPOT=path: that binary)
# Needs: a release build, kiwix-tools, wrk, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-30}"
connections="${2:-200}"
for tool in wrk curl kiwix-serve python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (bash .ci/install-deps; apt-get install wrk)" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"
# $NIXSPOT: an already built binary to measure instead of building the release one.
if [ -z "${NIXSPOT:-}" ]; then
  cargo build --release -q -p nixspot
fi
nixspot="${NIXSPOT:-$PWD/target/release/nixspot}"
zim_src="$PWD/../shared/fixtures/zim/withns_wikibooks_be_all_nopic_2017-02.zim"
work="$(mktemp -d /var/tmp/nixspot-imager-ui-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- the catalog: kiwix-serve with the fixture book ---
mkdir -p "$work/lib"
cp "$zim_src" "$work/lib/wb.zim"
cat >"$work/lib/library.xml" <<EOF
<library version="20110515">
  <book id="6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0001" path="wb.zim" url="http://127.0.0.1:1/wb.zim.meta4" title="Wikibooks (be)" description="Belarusian Wikibooks" language="bel" creator="Wikibooks" publisher="Kiwix" name="wikibooks_be_all" flavour="nopic" tags="wikibooks;_category:wikibooks;nopic" date="2017-02-01" articleCount="10" mediaCount="0" size="149"/>
</library>
EOF
kiwix_port="$(free_port)"
kiwix-serve --library --address 127.0.0.1 --port "$kiwix_port" "$work/lib/library.xml" >"$work/kiwix.log" 2>&1 &
pids+=($!)

# --- the server, a user, a signed-in session ---
data="$work/data"
imager_port="$(free_port)"
url="http://127.0.0.1:$imager_port"
"$nixspot" imager serve --workers 0 --listen "127.0.0.1:$imager_port" --data-dir "$data" \
  --catalog "http://127.0.0.1:$kiwix_port" --cache-dir "$work/cache" >"$work/serve.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 1 600); do curl -s -o /dev/null "$url/api/v1/health" && break; sleep 0.1; done
echo "a long password" | "$nixspot" imager user add alice --password-stdin --data-dir "$data" >/dev/null
cookie="$(curl -sf -c - -H 'Content-Type: application/json' \
  -d '{"name": "alice", "password": "a long password"}' "$url/api/v1/session" |
  awk '$6 == "nixspot_session" {print $6 "=" $7}')"
[ -n "$cookie" ] || { echo "no session cookie from $url/api/v1/session" >&2; exit 1; }
token="${cookie#nixspot_session=}"
config="$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"hotspot": {"name": "School Library", "ap": {"ssid": "School Library"}, "base": {"source": "nixspot:base"}}}' \
  "$url/api/v1/configurations" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"

# The pages (routes of rust/imager/src/web/mod.rs).
catalog_pages=(
  "/configurations/$config/content"
  "/configurations/$config/content?q=wiki"
  "/configurations/$config/content?lang=bel"
  "/configurations/$config/content?q=wiki&lang=bel&category=wikibooks"
)
config_pages=(
  "/configurations"
  "/configurations/new"
  "/configurations/$config"
)
pages=("${catalog_pages[@]}" "${config_pages[@]}")
for page in "${pages[@]}"; do
  code="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$url$page")"
  [ "$code" = 200 ] || { echo "GET $page: HTTP $code (expected 200)" >&2; exit 1; }
done

# --- 1. page weight ---
weight() { # PATH -> "html|css+js|total"
  python3 - "$url" "$1" "$cookie" <<'EOF'
import re, sys, urllib.request
base, path, cookie = sys.argv[1:]
def get(p):
    req = urllib.request.Request(base + p, headers={"Cookie": cookie, "Accept-Encoding": "identity"})
    with urllib.request.urlopen(req) as r:
        return r.read()
html = get(path)
text = html.decode("utf-8", "replace")
assets = set(re.findall(r'<link[^>]+rel="?stylesheet"?[^>]+href="([^"]+)"', text))
assets |= set(re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="?stylesheet"?', text))
assets |= set(re.findall(r'<script[^>]+src="([^"]+)"', text))
linked = sum(len(get(a)) for a in assets if a.startswith("/"))
print(f"{len(html)}|{linked}|{len(html) + linked}")
EOF
}

# --- 2. 200 users ---
cat >"$work/browse.lua" <<'EOF'
-- Each request: a page picked at random among the arguments, with the session cookie.
local pages = {}
function init(args)
  for i, page in ipairs(args) do pages[i] = page end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end
function request()
  return wrk.format("GET", pages[math.random(#pages)])
end
EOF
load() { # PAGES... -> "req/s|p50|p99|errors"
  local out rps p50 p99 errors
  out="$(wrk -t 2 -c "$connections" -d "${secs}s" --latency -H "Cookie: $cookie" \
    -s "$work/browse.lua" "$url" -- "$@")"
  rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
  p50="$(awk '$1=="50%" {print $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
  echo "$rps|$p50|$p99|${errors:-none}"
}
catalog_load="$(load "${catalog_pages[@]}")"
config_load="$(load "${config_pages[@]}")"
mixed_load="$(load "${pages[@]}")"
hwm="$(awk '$1=="VmHWM:" {printf "%.1f", $2/1024}' "/proc/$server_pid/status")"

echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); $(uptime)"
echo
echo "| page | HTML (bytes) | CSS + JS (bytes) | total (bytes) |"
echo "|---|---:|---:|---:|"
for page in "${pages[@]}"; do
  w="$(weight "$page")"
  echo "| \`${page//$config/ID}\` | ${w//|/ | } |"
done
echo
echo "| $connections users, ${secs} s, keep-alive, signed in | requests/s | p50 | p99 | errors |"
echo "|---|---:|---:|---:|---|"
echo "| catalog page (4 searches/filters) | ${catalog_load//|/ | } |"
echo "| configuration pages (list, new, edit) | ${config_load//|/ | } |"
echo "| both, mixed | ${mixed_load//|/ | } |"
echo
echo "Server peak RSS (VmHWM) after all of it: $hwm MiB"
