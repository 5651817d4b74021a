#!/usr/bin/env bash
# Evaluator benchmark: the same expressions through nixspot's evaluator and
# `nix-instantiate --eval --strict --json`, whole process. Paired runs: each pair runs
# both commands back to back (alternating which goes first), so machine drift hits both
# alike; the time ratio is the median of the per-pair ratios. Wall time from bash's
# EPOCHREALTIME around the command alone (GNU time's %e has 0.01 s resolution, and its
# start-up and timeout's would be timed too), peak RSS from GNU time (%M, median) in a
# separate untimed run of each side per pair. Callgrind instruction counts per workload
# (repeatable on a loaded machine).
# Prints a Markdown table; ratios are Nix / nixspot, so > 1 means nixspot is better.
#
# Run on demand (not in CI):  bash checks/bench/eval.sh [PAIRS]   (default 5 pairs)
#   NIXSPOT_BIN=path  measures `path eval --strict --json FILE` instead of building
#   EVAL_JSON=1  measures the evaluator's `eval-json` example instead of `nixspot`
#   EVAL_JSON_BIN=path  measures that build of the `eval-json` example (no cargo run:
#     the shared build directory's lock can keep a no-op build waiting for minutes)
#   WORKLOADS="fib tojson"  runs only those workloads
#   CALLGRIND=nixspot (default) | both | none   which side gets instruction counts
#     (Nix under callgrind takes up to a minute per workload: a `both` run of all
#     workloads took 14 minutes at load 10)
# If `nixspot` does not build (another crate mid-change), the script measures the
# evaluator's `eval-json` example instead (the same library call, without the CLI).
# Needs: nix-instantiate (apt: nix-bin), GNU time at /usr/bin/time (apt: time),
# valgrind unless CALLGRIND=none (apt: valgrind), awk, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs="${1:-5}"
callgrind="${CALLGRIND:-nixspot}"
[[ -x /usr/bin/time ]] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is needed (apt-get install nix-bin)" >&2; exit 1; }
[[ "$callgrind" == none ]] || command -v valgrind >/dev/null ||
  { echo "valgrind is needed for instruction counts (apt-get install valgrind, or CALLGRIND=none)" >&2; exit 1; }

if [[ -n "${NIXSPOT_BIN:-}" ]]; then
  nixspot=("$NIXSPOT_BIN" eval --strict --json)
elif [[ -n "${EVAL_JSON_BIN:-}" ]]; then
  nixspot=("$EVAL_JSON_BIN")
elif [[ -z "${EVAL_JSON:-}" ]] && cargo build --release -q -p nixspot 2>/dev/null; then
  nixspot=("$PWD/target/release/nixspot" eval --strict --json)
else
  echo "(nixspot does not build now: measuring the eval-json example)" >&2
  cargo build --release -q -p nixspot-eval --example eval-json
  nixspot=("$PWD/target/release/examples/eval-json")
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Nix 2.8 warns on every run when /etc/nix/nix.conf names a missing build group; a
# minimal explicit configuration keeps the runs independent of the machine's.
export NIX_CONFIG="build-users-group =
experimental-features ="

cat > "$work/fib.nix" <<'NIX'
let fib = n: if n < 2 then n else fib (n - 1) + fib (n - 2); in fib 27
NIX
cat > "$work/foldl-sum.nix" <<'NIX'
builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000)
NIX
cat > "$work/attrs-merge.nix" <<'NIX'
let
  merged = builtins.foldl' (acc: i: acc // { "k${toString i}" = i; }) { } (builtins.genList (x: x) 10000);
in builtins.length (builtins.attrNames merged) + merged.k9999
NIX
cat > "$work/tojson.nix" <<'NIX'
let
  items = builtins.genList (i: { id = i; name = "item-${toString i}"; tags = [ "a" "b" ]; ok = i / 2 * 2 == i; }) 100000;
in builtins.stringLength (builtins.toJSON items)
NIX
cat > "$work/strings.nix" <<'NIX'
let
  s = builtins.concatStringsSep "" (builtins.genList (i: "hello world, ") 80000); # 1 MB
  replaced = builtins.replaceStrings [ "world" "," ] [ "there" ";" ] s;
  parts = builtins.split ", " s;
in [ (builtins.stringLength s) (builtins.stringLength replaced) (builtins.length parts) ]
NIX
cat > "$work/regex.nix" <<'NIX'
# builtins.match and builtins.split with alternation, groups and repetition (nixspot's
# own engine against libstdc++'s std::regex): 50,000 version strings, a 400 kB split.
let
  names = builtins.genList (i: "pkg${toString (i / 7)}-${toString i}.${toString (i * 7)}-rc${toString (i / 3)}") 50000;
  parsed = map (s: builtins.match "([a-z]+[0-9]*)-([0-9]+(\\.[0-9]+)*)(-(alpha|beta|rc)[0-9]*)?" s) names;
  text = builtins.concatStringsSep "" (builtins.genList (i: "key${toString i} = value; # note\n") 16000);
  parts = builtins.split "(;|#)[ ]*|\n" text;
in [ (builtins.length (builtins.filter (m: m != null) parsed)) (builtins.length parts) ]
NIX
cat > "$work/modules.nix" <<'NIX'
# A module-system-like fixed point: 2,000 options declared, defined by several modules
# with priorities, merged with zipAttrsWith, ordered with sort, some values depending
# on other options through the final config.
let
  n = 2000;
  names = builtins.genList (i: "opt${toString i}") n;
  options = builtins.listToAttrs (map (name: { inherit name; value = { default = 0; }; }) names);
  modules = [
    (config: builtins.listToAttrs (map (name: { inherit name; value = { priority = 1000; value = 1; }; }) names))
    (config: builtins.listToAttrs (builtins.genList (i: { name = "opt${toString (i * 2)}"; value = { priority = 100; value = i; }; }) (n / 2)))
    (config: builtins.listToAttrs (builtins.genList (i: { name = "opt${toString (i * 3)}"; value = { priority = 50; value = config.opt1 + i; }; }) (n / 3)))
    (config: { opt1 = { priority = 10; value = 7; }; })
  ];
  fix = f: let x = f x; in x;
  config = fix (config:
    let
      defs = builtins.zipAttrsWith (name: defs: defs) (map (m: m config) modules);
      pick = name: defs:
        let sorted = builtins.sort (a: b: a.priority < b.priority) defs; in (builtins.head sorted).value;
    in builtins.mapAttrs (name: opt: if defs ? ${name} then pick name defs.${name} else opt.default) options);
in builtins.foldl' (acc: name: acc + config.${name}) 0 names
NIX

cat > "$work/foldl-attrs.nix" <<'NIX'
# foldl' with attribute-set accumulators: running statistics (fields forced with seq,
# as strict folds in nixpkgs do) and a 100-bucket histogram grown with `//`.
let
  xs = builtins.genList (i: i * 7 - i / 13 * 91) 200000;
  stats = builtins.foldl'
    (acc: x:
      let sum = acc.sum + x; n = acc.n + 1; max = if x > acc.max then x else acc.max; in
      builtins.seq sum (builtins.seq n (builtins.seq max { inherit sum n max; })))
    { sum = 0; n = 0; max = 0; } xs;
  hist = builtins.foldl'
    (acc: x: let k = "b${toString (x - x / 100 * 100)}"; in acc // { ${k} = (acc.${k} or 0) + 1; })
    { } (builtins.genList (i: i * 37) 100000);
in { inherit (stats) sum n max; buckets = builtins.length (builtins.attrNames hist); b42 = hist.b42; }
NIX
cat > "$work/map-filter-sort.nix" <<'NIX'
# map + filter + sort over 1e5 elements: pseudo-random records, filtered, sorted by a
# field with a Nix comparator, and a list of integers sorted with lessThan.
let
  n = 100000;
  rand = i: let x = i * 1103515245 + 12345; in x - x / 1000003 * 1000003;
  records = map (i: { id = i; key = rand i; }) (builtins.genList (i: i) n);
  kept = builtins.filter (r: r.key / 3 * 3 != r.key) records;
  sorted = builtins.sort (a: b: a.key < b.key) kept;
  ints = builtins.sort builtins.lessThan (map (r: r.key * 2 + 1) kept);
in [ (builtins.length sorted) (builtins.head sorted).id (builtins.elemAt sorted 30000).key (builtins.elemAt ints 40000) ]
NIX
# A 20 MB JSON document: 140,000 records with integers, floats, escaped strings, lists
# and nested objects (awk, so that it is the same on every machine).
awk 'BEGIN {
  printf "{\"version\":1,\"items\":[";
  for (i = 0; i < 140000; i++) {
    if (i) printf ",";
    printf "{\"id\":%d,\"name\":\"item-%d\",\"tags\":[\"a\",\"b\\u00e9\",\"c\\n\"],\"score\":%d.%d,\"ok\":%s,\"meta\":{\"x\":null,\"y\":\"text %d\",\"z\":[%d,%d]}}",
      i, i, i % 1000, i % 7, (i % 2 ? "true" : "false"), i * 3, i, -i;
  }
  printf "]}\n"
}' > "$work/doc.json"
cat > "$work/fromjson.nix" <<'NIX'
# builtins.fromJSON of a 20 MB document, then a few records looked at.
let
  doc = builtins.fromJSON (builtins.readFile ./doc.json);
in [ (builtins.length doc.items) (builtins.elemAt doc.items 123456) doc.version ]
NIX
cat > "$work/evalmodules.nix" <<NIX
# lib.evalModules of the repository's module system (modules/lib) with 10,000 options:
# typed declarations with defaults, definitions from several modules with mkDefault,
# mkForce and plain priorities, some depending on other options through config.
let
  lib = import $PWD/modules/lib;
NIX
cat >> "$work/evalmodules.nix" <<'NIX'
  inherit (lib) mkOption mkDefault mkForce types;
  n = 10000;
  name = i: "opt${toString i}";
  declarations = {
    options.opts = builtins.listToAttrs (builtins.genList (i: {
      name = name i;
      value = mkOption { type = if i / 2 * 2 == i then types.int else types.str; default = if i / 2 * 2 == i then 0 else "none"; };
    }) n);
  };
  defaults = {
    config.opts = builtins.listToAttrs (builtins.genList (i: { name = name (i * 4); value = mkDefault i; }) (n / 4));
  };
  plain = { config, ... }: {
    config.opts = builtins.listToAttrs (builtins.genList (i: { name = name (i * 6); value = config.opts.opt4 + i; }) (n / 6));
  };
  forced = {
    config.opts = { opt4 = mkForce 7; opt3 = mkForce "forced"; };
  };
  result = lib.evalModules { modules = [ declarations defaults plain forced ]; };
  values = builtins.attrValues result.config.opts;
in [
  (builtins.foldl' (acc: v: if builtins.isInt v then acc + v else acc + builtins.stringLength v) 0 values)
  result.config.opts.opt3
  result.config.opts.opt12
]
NIX
cat > "$work/tojson-nested.nix" <<'NIX'
# toJSON of nested attribute sets: two 3-way trees of depth 10 (2 × 88,573 sets) with
# strings, lists, Booleans and null.
let
  mk = d: if d == 0 then { leaf = true; n = 1; s = "leaf"; v = null; }
    else { a = mk (d - 1); b = mk (d - 1); c = [ (mk (d - 1)) d "x" ]; name = "level ${toString d}"; ok = d / 2 * 2 == d; };
in builtins.stringLength (builtins.toJSON [ (mk 10) (mk 10) ])
NIX
# The real thing: the module evaluation of hotspots/hotspot-wikipedia.nix down to its recipe.
cat > "$work/hotspot-wikipedia.nix" <<NIX
((import $PWD/modules).evalHotspot { modules = [ $PWD/hotspots/hotspot-wikipedia.nix ]; }).config.build.recipe
NIX

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# command_of SIDE FILE: sets `cmd` (a local of the caller) to the command line of SIDE.
command_of() {
  if [[ "$1" == nix ]]; then cmd=(nix-instantiate --eval --strict --json "$2"); else cmd=("${nixspot[@]}" "$2"); fi
}

# timed SIDE FILE: one timed run of the command alone, started by bash itself: no timing
# or timeout program in between, whose own start-up (a few milliseconds) would count on
# both sides and pull every ratio towards 1. `ulimit -t` stops a runaway after 300 CPU
# seconds. Appends the seconds to $work/SIDE.times and leaves the output in $work/out.SIDE.
timed() {
  local side="$1" file="$2" start end cmd
  command_of "$side" "$file"
  start=$EPOCHREALTIME
  (ulimit -t 300; exec "${cmd[@]}") > "$work/out.$side" 2>/dev/null || true
  end=$EPOCHREALTIME
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f\n", e - s }' >> "$work/$side.times"
}

# peak SIDE FILE: one untimed run under GNU time (cut after 300 s); appends its peak RSS
# (KiB) to $work/SIDE.peaks.
peak() {
  local side="$1" file="$2" cmd
  command_of "$side" "$file"
  /usr/bin/time -f '%M' -o "$work/time" timeout 300 "${cmd[@]}" > /dev/null 2>&1 || true
  tail -n 1 "$work/time" >> "$work/$side.peaks"
}

# instructions SIDE FILE: callgrind's instruction count of one run ("-" when skipped).
instructions() {
  local side="$1" file="$2" cmd
  if [[ "$callgrind" != both && "$callgrind" != "$side" ]]; then echo "-"; return; fi
  command_of "$side" "$file"
  { valgrind --tool=callgrind --callgrind-out-file=/dev/null "${cmd[@]}" 2>&1 >/dev/null || true; } |
    awk '/Collected :/ { n = $NF } END { if (n == "") print "-"; else printf "%.1f\n", n / 1e6 }'
}

echo "Evaluator benchmark: $pairs paired runs per workload, whole process; ratio = Nix / nixspot (> 1: nixspot better)"
echo "nix-instantiate: $(nix-instantiate --version); nixspot: ${nixspot[*]}; $(nproc) cores; load:$(uptime | sed 's/.*load average://')"
echo
echo "| workload | Nix time (s) | nixspot time (s) | time ratio (median of pairs) | Nix peak RSS (MiB) | nixspot peak RSS (MiB) | RSS ratio | Nix Minstr | nixspot Minstr | same output |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
for w in ${WORKLOADS:-fib foldl-sum foldl-attrs attrs-merge map-filter-sort fromjson tojson tojson-nested strings regex modules evalmodules hotspot-wikipedia}; do
  file="$work/$w.nix"
  rm -f "$work"/{nix,nixspot}.{times,peaks}
  for i in $(seq "$pairs"); do
    if (( i % 2 )); then timed nix "$file"; timed nixspot "$file"; else timed nixspot "$file"; timed nix "$file"; fi
    peak nix "$file"
    peak nixspot "$file"
  done
  # Byte for byte, trailing newline included (neither prints one after --json).
  same=yes
  cmp -s "$work/out.nix" "$work/out.nixspot" || same="NO ($(head -c 60 "$work/out.nixspot"))"
  ratio=$(paste -d ' ' "$work/nix.times" "$work/nixspot.times" | awk '{ print $1 / $2 }' | median)
  nt=$(median < "$work/nix.times"); st=$(median < "$work/nixspot.times")
  nm=$(median < "$work/nix.peaks"); sm=$(median < "$work/nixspot.peaks")
  ni=$(instructions nix "$file"); si=$(instructions nixspot "$file")
  awk -v w="$w" -v nt="$nt" -v st="$st" -v r="$ratio" -v nm="$nm" -v sm="$sm" -v ni="$ni" -v si="$si" -v same="$same" 'BEGIN {
    mr = (sm > 0) ? sprintf("%.2f", nm / sm) : "n/a";
    printf "| %s | %.3f | %.3f | %.2f | %.1f | %.1f | %s | %s | %s | %s |\n", w, nt, st, r, nm / 1024, sm / 1024, mr, ni, si, same
  }'
done
