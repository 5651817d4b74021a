# Sourced by the evaluator's callgrind benchmarks (eval-scaling.sh, eval-constructs.sh):
# checks their tools, picks the evaluator to measure and makes a scratch directory.
# Sets: nixspot (the `eval-json` binary: EVAL_JSON_BIN, or built here), work (removed
# on exit), NIX_CONFIG (Nix without a build-users group or experimental features).
command -v nix-instantiate >/dev/null || { echo "nix-instantiate is needed (apt-get install nix-bin)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
if [[ -n "${EVAL_JSON_BIN:-}" ]]; then
  nixspot="$EVAL_JSON_BIN"
else
  cargo build --release -q -p nixspot-eval --example eval-json
  nixspot="$PWD/target/release/examples/eval-json"
fi
export NIX_CONFIG=$'build-users-group =\nexperimental-features ='
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
