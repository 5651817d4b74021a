//! `nixspot eval` against real `nix-instantiate --eval`: what each prints, byte for
//! byte, on stdout *and* stderr (traces), in the output modes Nix has.

use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (apt-get install nix-bin): {e}"))
}

/// Runs both evaluators with the same arguments after `--eval` / `eval`.
fn both(args: &[&str]) -> (Output, Output) {
    let nix = run(nixspot_testkit::nix("nix-instantiate")
        .arg("--eval")
        .args(args));
    let ours = run(Command::new(env!("CARGO_BIN_EXE_nixspot"))
        .arg("eval")
        .args(args));
    (nix, ours)
}

/// Both print the same, byte for byte, on stdout and stderr, and Nix succeeds.
fn assert_same(args: &[&str]) {
    let (nix, ours) = both(args);
    assert!(
        nix.status.success(),
        "nix-instantiate failed on {args:?}: {nix:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&nix.stderr),
        "stderr of {args:?}"
    );
    assert_eq!(ours.stdout, nix.stdout, "stdout of {args:?}");
    assert_eq!(
        ours.status.code(),
        nix.status.code(),
        "exit status of {args:?}"
    );
}

/// Both fail with the same traces and the same error: stderr up to and including the
/// `error:` line (what follows is where: nixspot shows the position, Nix 2.8 a hint).
fn assert_same_failure(args: &[&str]) {
    let (nix, ours) = both(args);
    assert!(
        !nix.status.success(),
        "nix-instantiate succeeded on {args:?}: {nix:?}"
    );
    let up_to_error = |stderr: &[u8]| {
        let text = String::from_utf8_lossy(stderr).into_owned();
        let end = text
            .find("error: ")
            .and_then(|at| text[at..].find('\n').map(|n| at + n))
            .unwrap_or(text.len());
        text[..end].to_string()
    };
    assert_eq!(
        up_to_error(&ours.stderr),
        up_to_error(&nix.stderr),
        "stderr of {args:?}"
    );
    assert_eq!(
        ours.status.code(),
        nix.status.code(),
        "exit status of {args:?}"
    );
}

#[test]
fn traces_show_what_is_still_unevaluated_like_nix() {
    let expr = "let x = 1 + 1; f = y: y; in builtins.trace { a = 1 + 1; b = x; c = [ x ]; \
                d = \"s\"; e = f; g = builtins.add 1; } [ x (builtins.trace x 3) \
                (builtins.trace [ (x + 1) null true 1.5 ] 4) ]";
    for mode in [&["--strict"][..], &["--strict", "--json"], &[]] {
        let mut args = mode.to_vec();
        args.extend(["-E", expr]);
        assert_same(&args);
    }
}

#[test]
fn sort_calls_its_comparator_on_nixs_pairs_in_nixs_order() {
    const UNSORTED: &str = "[ 5 3 9 1 7 2 8 6 4 0 11 13 12 14 10 19 17 18 16 15 ]";
    // Nix sorts with libstdc++'s std::stable_sort: the traces show each call, and `<=`
    // (not a strict weak order) gives an order of its own. Elements are forced first.
    let expr = format!(
        "builtins.sort (a: b: builtins.trace \"${{toString a}} ${{toString b}}\" \
         (a - a / 3 * 3 <= b - b / 3 * 3)) (map (builtins.trace \"element\") {UNSORTED})"
    );
    assert_same(&["--strict", "--json", "-E", &expr]);
    // A comparator on an attribute, with keys not evaluated yet: nixspot compares the
    // keys itself, but forces them when and as the comparator would (`>`: b's first),
    // and a key that fails is not forced twice.
    for op in ["<", ">"] {
        let expr = format!(
            "builtins.sort (a: b: a.k {op} b.k) (map (i: {{ k = builtins.trace i i; }}) {UNSORTED})"
        );
        assert_same(&["--strict", "--json", "-E", &expr]);
    }
    assert_same_failure(&[
        "--strict",
        "-E",
        "builtins.sort (a: b: a.k < b.k) [ { k = 1; } { k = builtins.trace \"x\" (throw \"y\"); } ]",
    ]);
}

#[test]
fn comparisons_evaluate_their_operands_in_nixs_order() {
    // Nix reads `a > b` as `lessThan b a` and `a <= b` as its negation: b comes first,
    // in traces and in which error is reported.
    let traced = |op: &str| format!("(builtins.trace \"a\" 1) {op} (builtins.trace \"b\" 2)");
    for op in ["<", ">", "<=", ">=", "==", "!="] {
        assert_same(&["--strict", "-E", &traced(op)]);
    }
    for op in ["<", ">", "<=", ">="] {
        assert_same_failure(&[
            "--strict",
            "-E",
            &format!("(throw \"a\") {op} (throw \"b\")"),
        ]);
    }
}

#[test]
fn strings_are_bytes_in_every_output_mode() {
    // A character cut in two stays two bytes that are not UTF-8, as in Nix.
    let expr = "let s = \"é€\"; in [ (builtins.substring 0 1 s) (builtins.substring 1 3 s) s ]";
    assert_same(&["--strict", "--json", "-E", expr]);
    assert_same(&["--strict", "-E", expr]);
    // `--raw` (which `nix-instantiate` 2.8 lacks; `nix eval --raw` prints the same).
    let ours = run(Command::new(env!("CARGO_BIN_EXE_nixspot")).args([
        "eval",
        "--raw",
        "-E",
        "builtins.substring 0 3 \"é€\"",
    ]));
    assert_eq!(ours.stdout, b"\xc3\xa9\xe2", "the exact bytes");
}
