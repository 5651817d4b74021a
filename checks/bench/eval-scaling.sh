#!/usr/bin/env bash
# Evaluator scaling check: each case at size N and 2N through nixspot's evaluator and
# `nix-instantiate --eval --strict --json`, counting instructions with callgrind (exact
# and repeatable, unlike wall time). A cost that grows faster than Nix's when the input
# doubles is a quadratic trap that a fixed-size benchmark hides. The first seven cases
# and the last each found one (colliding name hashes, removeAttrs, substring,
# positions, variables of big scopes, replaceStrings, genericClosure's keys in
# descending order); the others guard a lookup through `//` layers and a sort.
# Prints a Markdown table: growth is instructions at 2N / at N (2.00 is linear), ratio
# is Nix / nixspot at 2N (> 1: nixspot does less); "trap" marks a case whose nixspot
# growth exceeds Nix's by more than 20 % and 2.2, "slower" one where nixspot does more
# at 2N (a trap Nix shares: substring was quadratic in both, 7 times slower in ours).
#
# Run on demand (not in CI):  bash checks/bench/eval-scaling.sh   (about 4 minutes)
#   EVAL_JSON_BIN=path  measures that build of the evaluator's `eval-json` example
#     (default: builds it)
#   CASES="removeattrs substring"  runs only those cases
# Needs: nix-instantiate (apt: nix-bin), valgrind (apt: valgrind), awk, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
source checks/bench/eval-callgrind.sh

# name|N|expression with @N@ for the size (a case may also use @LIB@, the repository's
# module library, @POS@, a generated file of @N@ attributes one per line, and @LET@, a
# generated `let` of 2 × @N@ bindings, each `a` naming a `b`, that sums the `a`s).
cases=$(cat <<'CASES'
evalmodules|5000|let lib = import @LIB@; n = @N@; name = i: "opt${toString (10000 + i)}"; r = lib.evalModules { modules = [ { options.o = builtins.listToAttrs (builtins.genList (i: { name = name i; value = lib.mkOption { type = lib.types.int; default = 0; }; }) n); } { config.o = builtins.listToAttrs (builtins.genList (i: { name = name (i * 2); value = lib.mkDefault i; }) (n / 2)); } ]; }; in builtins.foldl' (a: v: a + v) 0 (builtins.attrValues r.config.o)
prefixnames|40000|builtins.length (builtins.attrNames (builtins.listToAttrs (builtins.genList (i: { name = "opt${toString (10000 + i)}"; value = i; }) @N@)))
removeattrs|50000|let s = builtins.listToAttrs (builtins.genList (i: { name = "x${toString i}"; value = i; }) @N@); in builtins.length (builtins.attrNames (builtins.removeAttrs s (builtins.genList (i: "x${toString (i * 2)}") (@N@ / 2))))
substring|50000|let s = builtins.concatStringsSep "" (builtins.genList (i: "ab") @N@); in builtins.foldl' (a: i: a + builtins.stringLength (builtins.substring (i * 2) 2 s)) 0 (builtins.genList (i: i) @N@)
positions|20000|let s = import @POS@; in builtins.foldl' (acc: n: acc + (builtins.unsafeGetAttrPos n s).line) 0 (builtins.attrNames s)
bigscope|4000|import @LET@
replacestrings|50000|builtins.stringLength (builtins.replaceStrings (builtins.genList (i: "p${toString i}q") 50) (builtins.genList (i: "r") 50) (builtins.concatStringsSep "" (builtins.genList (i: "p${toString (i / 100)}q ") @N@)))
updatelookup|20000|builtins.length (builtins.attrNames (builtins.foldl' (acc: i: acc // { "k${toString i}" = (acc."k${toString (i / 2)}" or 0) + 1; }) { } (builtins.genList (x: x) (@N@ / 5))))
sort|50000|builtins.head (builtins.sort (a: b: a < b) (builtins.genList (i: (i * 7919) - (i * 7919) / 100003 * 100003) @N@))
genericclosure|25000|builtins.length (builtins.genericClosure { startSet = [ { key = @N@; } ]; operator = x: if x.key <= 0 then [ ] else [ { key = x.key - 1; } ]; })
CASES
)

instructions() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/refs:/ { gsub(",", "", $4); print $4 }'; }

echo "| case | N | Nix Minstr at 2N | Nix growth | nixspot Minstr at 2N | nixspot growth | ratio at 2N | |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
while IFS='|' read -r name n expr; do
  [[ -z "${CASES:-}" || " $CASES " == *" $name "* ]] || continue
  for size in "$n" "$((n * 2))"; do
    pos="$work/pos-$size.nix"
    [[ "$expr" != *@POS@* ]] || awk -v n="$size" 'BEGIN { print "{"; for (i = 0; i < n; i++) print "  a" i " = " i ";"; print "}" }' > "$pos"
    let="$work/let-$size.nix"
    [[ "$expr" != *@LET@* ]] || awk -v n="$size" 'BEGIN {
      print "let"; for (i = 0; i < n; i++) print "  a" i " = b" i " + 1; b" i " = " i ";"
      printf "in builtins.foldl'"'"' (x: y: x + y) 0 ["; for (i = 0; i < n; i++) printf " a%d", i; print " ]"
    }' > "$let"
    e=${expr//@N@/$size}; e=${e//@LIB@/$PWD/modules/lib}; e=${e//@POS@/$pos}; e=${e//@LET@/$let}
    echo "$e" > "$work/$name-$size.nix"
  done
  small="$work/$name-$n.nix" big="$work/$name-$((n * 2)).nix"
  same=yes
  [[ "$(nix-instantiate --eval --strict --json "$big")" == "$("$nixspot" "$big")" ]] || same=no
  na=$(instructions nix-instantiate --eval --strict --json "$small")
  nb=$(instructions nix-instantiate --eval --strict --json "$big")
  sa=$(instructions "$nixspot" "$small")
  sb=$(instructions "$nixspot" "$big")
  awk -v c="$name" -v n="$n" -v na="$na" -v nb="$nb" -v sa="$sa" -v sb="$sb" -v same="$same" 'BEGIN {
    ng = nb / na; sg = sb / sa
    flag = (same != "yes") ? "outputs differ" : (sg > ng * 1.2 && sg > 2.2) ? "trap" : (nb < sb) ? "slower" : ""
    printf "| %s | %d | %.1f | %.2f | %.1f | %.2f | %.2f | %s |\n", c, n, nb / 1e6, ng, sb / 1e6, sg, nb / sb, flag
  }'
done <<< "$cases"
