#!/usr/bin/env bash
# Runs the ZIM fuzz target for SECONDS (default 600), seeded with openZIM's real archives.
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
mkdir -p corpus/archive
cp -f ../../../../shared/fixtures/zim/*.zim corpus/archive/
# A libzim 8 archive (C namespace, zstd clusters) as a seed too, when zimwriterfs exists.
if command -v zimwriterfs >/dev/null; then
  seed="$(mktemp -d)"
  mkdir "$seed/html"
  cp ../../../../shared/fixtures/zim/withns_small.zim "$seed/html/x.bin"
  printf '<html><head><title>Seed</title></head><body>seed</body></html>' >"$seed/html/index.html"
  head -c 3000 /dev/zero >"$seed/html/zeros.txt"
  zimdump show --url=I/favicon.png ../../../../shared/fixtures/zim/withns_small.zim >"$seed/html/icon.png"
  zimwriterfs --welcome=index.html --illustration=icon.png --language=eng --title=Seed \
    --description=Seed --creator=nixspot --publisher=nixspot --withoutFTIndex \
    "$seed/html" corpus/archive/seed_libzim8.zim >/dev/null
  rm -rf "$seed"
fi
cargo +nightly fuzz run archive corpus/archive -- \
  -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 -timeout=20
