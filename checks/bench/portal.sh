#!/usr/bin/env bash
# Captive-portal load benchmark: nixspot-portal under 500 (and 2,000) concurrent keep-alive
# clients from wrk on 127.0.0.1, against Caddy serving the same welcome page as a static
# file (a compiled static-file server: the practical ceiling) in the same run.
# Cases:
#   - welcome page to an unregistered client (the captive case, any Host);
#   - Android's /generate_204 to a registered client (what phones poll);
#   - 2,000 connections with MAX_CONNECTIONS=512: the portal serves 512 at a time and
#     its memory stays bounded.
# Prints Markdown: requests/s, p99 latency, portal RSS (peak VmHWM and after the runs).
# wrk and the servers share the machine's cores: absolute numbers are lower bounds.
# Run on demand (not in CI):  bash checks/bench/portal.sh [SECONDS]
# Needs: wrk, caddy (apt), curl, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-15}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
command -v caddy >/dev/null || { echo "caddy is needed (apt-get install caddy)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"  # 2,000 client sockets + 2,000 server sockets

cargo build --release -q -p nixspot-portal
portal_bin="$PWD/target/release/nixspot-portal"
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$1/assets/style.css" && return; sleep 0.05; done; echo "port $1 not up" >&2; exit 1; }

start_portal() { # MAX_CONNECTIONS
  port="$(free_port)"
  env -i PATH="$PATH" HOTSPOT_NAME="Bench Spot" HOTSPOT_FQDN=bench.offspot \
    FILTER_MODULE=dummy_portal_filter DB_PATH="$work/portal.json" BIND_TO=127.0.0.1 \
    PORT="$port" MAX_CONNECTIONS="$1" "$portal_bin" 2>"$work/portal.log" &
  portal_pid=$!
  pids+=("$portal_pid")
  wait_port "$port"
}

rss() { awk -v k="$2:" '$1==k {print $2/1024 " MiB"}' "/proc/$1/status"; }

# wrk CONNECTIONS URL HOST -> "req/s|p99"
load() {
  local out
  out="$(wrk -t 2 -c "$1" -d "${secs}s" --latency -H "Host: $3" "$2")"
  local rps p99
  rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$out")"
  local errors
  errors="$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)"
  echo "$rps|$p99|${errors:-none}"
}

# The static reference: the portal's own welcome page, served by Caddy.
start_portal 2048
curl -fs -H 'Host: captive.apple.com' "http://127.0.0.1:$port/" > "$work/welcome.html"
caddy_port="$(free_port)"
mkdir -p "$work/www"; cp "$work/welcome.html" "$work/www/index.html"
printf '{\n\tadmin off\n\tauto_https off\n}\nhttp://:%s {\n\troot * %s\n\tfile_server\n}\n' "$caddy_port" "$work/www" > "$work/Caddyfile"
HOME="$work" XDG_DATA_HOME="$work/xd" XDG_CONFIG_HOME="$work/xc" caddy run --adapter caddyfile --config "$work/Caddyfile" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$caddy_port/" && break; sleep 0.05; done

rss_idle="$(rss "$portal_pid" VmRSS)"
IFS='|' read -r c_rps c_p99 c_err <<<"$(load 500 "http://127.0.0.1:$caddy_port/" captive.apple.com)"
IFS='|' read -r w_rps w_p99 w_err <<<"$(load 500 "http://127.0.0.1:$port/" captive.apple.com)"
# Register the load generator's address (127.0.0.1), then poll like Android.
curl -fs -o /dev/null "http://127.0.0.1:$port/register-hotspot/"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/generate_204")" == 204 ]] || { echo "registration failed" >&2; exit 1; }
IFS='|' read -r g_rps g_p99 g_err <<<"$(load 500 "http://127.0.0.1:$port/generate_204" connectivitycheck.gstatic.com)"
rss_peak="$(rss "$portal_pid" VmHWM)"
rss_after="$(rss "$portal_pid" VmRSS)"
kill "$portal_pid"

start_portal 512
IFS='|' read -r b_rps b_p99 b_err <<<"$(load 2000 "http://127.0.0.1:$port/" captive.apple.com)"
b_peak="$(rss "$portal_pid" VmHWM)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
cat <<EOF
| case | connections | requests/s | p99 latency | errors | portal RSS |
|---|---|---|---|---|---|
| Caddy static file (reference) | 500 | $c_rps | $c_p99 | $c_err | — |
| portal welcome page (unregistered) | 500 | $w_rps | $w_p99 | $w_err | idle $rss_idle |
| portal /generate_204 (registered) | 500 | $g_rps | $g_p99 | $g_err | peak $rss_peak, after $rss_after |
| portal welcome, MAX_CONNECTIONS=512 | 2000 | $b_rps | $b_p99 | $b_err | peak $b_peak |

Portal / Caddy requests/s (welcome page): $(ratio "$w_rps" "$c_rps"). ${secs} s per case, wrk -t 2.
EOF
