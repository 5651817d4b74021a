#!/usr/bin/env bash
# Records real Nix's answers for corpus cases: writes eval-okay-*.json from
# `nix-instantiate --eval --strict --json`, and checks that Nix's error for each
# eval-fail-*.nix contains its .err text. Cases under new/ need a newer Nix: skipped.
#   bash rust/eval/tests/corpus/regen.sh                 # every case
#   bash rust/eval/tests/corpus/regen.sh eval-okay-foo   # some cases (names without .nix)
# The search path matches the runners (tests/common/mod.rs).
set -euo pipefail
cd "$(dirname "$0")"
corpus="$PWD"
export NIX_PATH="" NIXSPOT_CORPUS_TEST_VAR="hello from the corpus"
nix=(nix-instantiate --eval --strict --json -I "corpus=$corpus/lib" -I "$corpus/search-path")
if (($#)); then names=("$@"); else names=(); for f in eval-*.nix; do names+=("${f%.nix}"); done; fi
status=0
for name in "${names[@]}"; do
  case "$name" in
    eval-okay-*)
      if out="$("${nix[@]}" "$corpus/$name.nix" 2>"$corpus/.stderr")"; then
        printf '%s\n' "$out" > "$name.json"
      else
        echo "FAILED (an eval-okay case must succeed): $name"; sed -n 1,3p "$corpus/.stderr"; status=1
      fi ;;
    eval-fail-*)
      if "${nix[@]}" "$corpus/$name.nix" >/dev/null 2>"$corpus/.stderr"; then
        echo "SUCCEEDED (an eval-fail case must fail): $name"; status=1
      elif ! grep -qF -- "$(cat "$name.err")" "$corpus/.stderr"; then
        echo "WRONG ERROR: $name: Nix says:"; sed -n 1,3p "$corpus/.stderr"; status=1
      fi ;;
    *) echo "not a case name: $name"; status=1 ;;
  esac
done
rm -f "$corpus/.stderr"
exit "$status"
