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
    // Nix sorts with libstdc++'s std::stable_sort: the traces show each call, and `<=`
    // (not a strict weak order) gives an order of its own. Elements are forced first.
    let expr = "builtins.sort (a: b: builtins.trace \"${toString a} ${toString b}\" \
                (a - a / 3 * 3 <= b - b / 3 * 3)) (map (builtins.trace \"element\") \
                [ 5 3 9 1 7 2 8 6 4 0 11 13 12 14 10 19 17 18 16 15 ])";
    assert_same(&["--strict", "--json", "-E", expr]);
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
