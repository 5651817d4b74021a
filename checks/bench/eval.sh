#!/usr/bin/env bash
# Evaluator benchmark: the same expressions through `nixspot eval --strict --json` and
# `nix-instantiate --eval --strict --json`, whole-process wall time and peak RSS
# (GNU time), median of RUNS runs (default 5). Prints a Markdown table with ratios.
# Run on demand (not in CI):  bash checks/bench/eval.sh [RUNS]
# (NIXSPOT_BIN=path measures an already built binary instead of building one.)
# Needs: nix-instantiate (apt: nix-bin), GNU time at /usr/bin/time (apt: time), cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
[[ -x /usr/bin/time ]] || { echo "GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is needed (apt-get install nix-bin)" >&2; exit 1; }

# NIXSPOT_BIN=/path/to/nixspot skips the build and measures that binary.
if [[ -z "${NIXSPOT_BIN:-}" ]]; then
  cargo build --release -q -p nixspot
fi
nixspot="${NIXSPOT_BIN:-$PWD/target/release/nixspot}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

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

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# measure TOOL FILE -> "median_seconds median_kib"; a run is cut after 300 s. The last
# run's output stays in $work/out.{nix,nixspot} for the comparison.
measure() {
  local tool="$1" file="$2" times=() rss=()
  for _ in $(seq "$runs"); do
    if [[ "$tool" == nix ]]; then
      /usr/bin/time -f '%e %M' -o "$work/time" timeout 300 nix-instantiate --eval --strict --json "$file" > "$work/out.nix" 2>/dev/null || true
    else
      /usr/bin/time -f '%e %M' -o "$work/time" timeout 300 "$nixspot" eval --strict --json "$file" > "$work/out.nixspot" 2>/dev/null || true
    fi
    read -r t m < <(tail -n 1 "$work/time")
    times+=("$t"); rss+=("$m")
  done
  echo "$(printf '%s\n' "${times[@]}" | median) $(printf '%s\n' "${rss[@]}" | median)"
}

echo "Evaluator benchmark: median of $runs runs, whole process; ratio = Nix / nixspot (> 1: nixspot better)"
echo "nix-instantiate: $(nix-instantiate --version); nixspot: $("$nixspot" --version); $(nproc) cores"
echo
echo "| workload | Nix time (s) | nixspot time (s) | time ratio | Nix peak RSS (MiB) | nixspot peak RSS (MiB) | RSS ratio | same output |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
# The real thing: the module evaluation of images/hotspot-wikipedia.nix down to its recipe.
cat > "$work/hotspot-wikipedia.nix" <<NIX
((import $PWD/modules).evalHotspot { modules = [ $PWD/images/hotspot-wikipedia.nix ]; }).config.build.recipe
NIX

for w in fib foldl-sum attrs-merge tojson strings regex modules hotspot-wikipedia; do
  file="$work/$w.nix"
  read -r nt nm <<< "$(measure nix "$file")"
  read -r st sm <<< "$(measure nixspot "$file")"
  # Byte for byte, trailing newline included (neither prints one after --json).
  same=yes
  cmp -s "$work/out.nix" "$work/out.nixspot" || same="NO ($(head -c 60 "$work/out.nixspot"))"
  awk -v w="$w" -v nt="$nt" -v st="$st" -v nm="$nm" -v sm="$sm" -v same="$same" 'BEGIN {
    tr = (st > 0) ? sprintf("%.2f", nt / st) : "n/a";
    mr = (sm > 0) ? sprintf("%.2f", nm / sm) : "n/a";
    printf "| %s | %.2f | %.2f | %s | %.1f | %.1f | %s | %s |\n", w, nt, st, tr, nm / 1024, sm / 1024, mr, same
  }'
done
