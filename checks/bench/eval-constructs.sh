#!/usr/bin/env bash
# What one Nix construct costs, in instructions, in nixspot's evaluator and in Nix 2.8:
# the map of where module-style code (`evalmodules` of eval.sh) spends its time. Each
# construct runs 100,000 times as the body of a `foldl'`; the same loop with the bare
# counter as its body is subtracted, so the figure is the construct alone (start-up,
# parsing and the loop cancel out). Callgrind counts, so a loaded machine gives the
# same answer; they say nothing of cache misses or of what a cycle costs.
# Prints a Markdown table, most expensive relative to Nix first.
#
# Run on demand (not in CI):  bash checks/bench/eval-constructs.sh
#   EVAL_JSON_BIN=path  measures that build of the evaluator's `eval-json` example
#     (default: builds it with cargo)
# Needs: nix-instantiate (apt: nix-bin), valgrind (apt: valgrind), awk, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
source checks/bench/eval-callgrind.sh
n=100000

# name|body (the loop's counter is `i`; `s5`, `d`, `l3` and `f2` are bound around it)
constructs=(
  "base|i"
  "call of a two-argument function|f2 i 1"
  "let of five bindings|let a = i; b = a + 1; c = b + 1; d = c + 1; e = d + 1; in e"
  "rec set, one attribute selected|(rec { x = i; y = x + 1; }).y"
  "set literal, one attribute selected|({ x = i + 1; y = i + 2; }).y"
  "inherit (d) two attributes|({ inherit (d) file value; x = i; }).x"
  "attribute with default (x.z or d)|(s5.z or i)"
  "s5 // { f = i; }, then .f|(s5 // { f = i; }).f"
  "s5 // { f = i; }, then attrNames|builtins.length (builtins.attrNames (s5 // { f = i; }))"
  "isAttrs d && (d._type or \"\") == \"merge\"|(if builtins.isAttrs d && (d._type or \"\") == \"merge\" then 1 else i)"
  "string == string|(if d.file == \"f\" then i else 0)"
  "list == [ ]|(if l3 == [ ] then 0 else i)"
  "l3 ++ [ i ]|builtins.length (l3 ++ [ i ])"
  "pattern { a, b ? 2, ... } called|(({ a, b ? 2, ... }: a + b) { a = i; })"
  "pattern { a, b, c }@args called|(({ a, b, c }@args: a + b + c) { a = i; b = 1; c = 2; })"
  "map over three elements|builtins.length (map (x: x + i) l3)"
  "filter over three elements|builtins.length (builtins.filter (x: x > 1) l3)"
  "concatMap over three elements|builtins.length (builtins.concatMap (x: [ x i ]) l3)"
  "mapAttrs over five attributes|(builtins.mapAttrs (n: v: v + i) s5).c"
  "zipAttrsWith of two sets|(builtins.length (builtins.zipAttrsWith (n: vs: vs) [ s5 { a = i; } ]).a)"
  "sort of three elements|builtins.head (builtins.sort (a: b: a < b) [ i 3 1 ])"
  "foldl' over two elements|(builtins.foldl' (p: x: if x < p then x else p) 9999 [ i 5 ])"
  "interpolation of two strings|builtins.stringLength \"\${toString i}:\${d.file}\""
  "elem in a two-string list|(if builtins.elem \"if\" [ \"if\" \"override\" ] then i else 0)"
)

count() { # command… -> instructions
  { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null || true; } |
    awk '/Collected :/ { n = $NF } END { print (n == "" ? -1 : n) }'
}

echo "Instructions per construct (callgrind, $n iterations, the bare loop subtracted); nixspot: $nixspot; $(nix-instantiate --version)"
echo
echo "| construct | Nix | nixspot | nixspot / Nix |"
echo "|---|---:|---:|---:|"
rows=()
for c in "${constructs[@]}"; do
  name="${c%%|*}" body="${c#*|}"
  file="$work/c.nix"
  cat > "$file" <<NIX
let
  f2 = a: b: a + b;
  s5 = { a = 1; b = 2; c = 3; d = 4; e = 5; };
  d = { file = "f"; value = 3; priority = 100; order = 1000; };
  l3 = [ 1 2 3 ];
in builtins.foldl' (acc: i: acc + ($body)) 0 (builtins.genList (i: i) $n)
NIX
  want=$(nix-instantiate --eval --strict --json "$file")
  got=$("$nixspot" "$file")
  [[ "$want" == "$got" ]] || { echo "$name: nixspot printed $got, Nix $want" >&2; exit 1; }
  nix=$(count nix-instantiate --eval --strict --json "$file")
  ours=$(count "$nixspot" "$file")
  if [[ "$name" == base ]]; then base_nix=$nix base_ours=$ours; continue; fi
  rows+=("$(awk -v name="$name" -v n="$n" -v a="$nix" -v b="$ours" -v ba="$base_nix" -v bb="$base_ours" 'BEGIN {
    x = (a - ba) / n; y = (b - bb) / n
    printf "%.3f| %s | %.0f | %.0f | %.2f |\n", (x > 0 ? y / x : 0), name, x, y, (x > 0 ? y / x : 0)
  }')")
done
printf '%s\n' "${rows[@]}" | sort -t'|' -k1 -gr | cut -d'|' -f2- | sed 's/^/|/'
echo
echo "The bare loop itself: Nix $(awk -v a="$base_nix" -v n="$n" 'BEGIN { printf "%.0f", a / n }'), nixspot $(awk -v a="$base_ours" -v n="$n" 'BEGIN { printf "%.0f", a / n }') instructions per iteration (start-up included)."
