//! API-level behaviour of the evaluator: error rendering, deep recursion, output modes,
//! auto-called functions, attribute selection, search paths and imports.

use nixspot_eval::{AutoArg, EvalOptions, Evaluator, OutputMode, Request, Source};
use std::fs;
use std::path::PathBuf;

fn expr(text: &str) -> Source {
    Source::Expr {
        text: text.to_string(),
        base_dir: PathBuf::from("/"),
    }
}

fn json(text: &str) -> Result<String, nixspot_eval::Error> {
    Evaluator::new(EvalOptions::default()).eval_to_json(&expr(text))
}

fn error_of(text: &str) -> String {
    match json(text) {
        Ok(v) => panic!("expected an error from {text:?}, got {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn errors_render_position_source_line_and_caret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("bad.nix");
    fs::write(&file, "let\n  f = x: x + 1;\nin f \"s\"\n").expect("write");
    let err = Evaluator::new(EvalOptions::default())
        .eval_to_json(&Source::File(file.clone()))
        .expect_err("adding an integer to a string fails");
    let text = err.to_string();
    let expected_pos = format!("at {}:2:14:", file.display());
    assert!(
        text.starts_with("error: cannot coerce an integer to a string"),
        "{text}"
    );
    assert!(text.contains(&expected_pos), "{text}");
    assert!(text.contains("     2|   f = x: x + 1;"), "{text}");
    assert!(text.contains("      |              ^"), "{text}");
    assert!(text.contains("… while evaluating 'f'"), "{text}");
    assert!(text.contains("… from call site"), "{text}");
    assert_eq!(err.message, "cannot coerce an integer to a string");
    assert_eq!(
        err.position.as_deref(),
        Some(format!("{}:2:14", file.display()).as_str())
    );
}

#[test]
fn syntax_errors_point_at_the_spot() {
    let text = error_of("1 +");
    assert!(
        text.starts_with("error: syntax error, unexpected end of file"),
        "{text}"
    );
    assert!(text.contains("at «string»:1:4:"), "{text}");
    let text = error_of("{ a = 1; a = 2; }");
    assert!(
        text.contains("attribute 'a' already defined at (string):1:3"),
        "{text}"
    );
    let text = error_of("x: y");
    assert!(text.contains("undefined variable 'y'"), "{text}");
}

#[test]
fn infinite_recursion_is_reported_not_overflowed() {
    let text = error_of("let x = y; y = x; in x");
    assert!(
        text.starts_with("error: infinite recursion encountered"),
        "{text}"
    );
    let text = error_of("let a = { b = a.b; }; in a.b");
    assert!(text.contains("infinite recursion encountered"), "{text}");
}

#[test]
fn deep_recursion_does_not_crash() {
    let deep = json("let f = n: if n == 0 then 0 else 1 + f (n - 1); in f 100000");
    assert_eq!(deep.expect("deep recursion evaluates"), "100000");
    let fold = json("builtins.foldl' (a: b: a + b) 0 (builtins.genList (x: x) 1000000)");
    assert_eq!(fold.expect("foldl' evaluates"), "499999500000");
    // Building and dropping a 100 000-deep nested structure must not overflow either.
    let nested = json(
        "let l = builtins.foldl' (acc: _: [ acc ]) [] (builtins.genList (x: x) 100000); in builtins.length l",
    );
    assert_eq!(nested.expect("nested lists"), "1");
    let json_nested = json(
        "builtins.stringLength (builtins.toJSON (builtins.foldl' (acc: _: { a = acc; }) {} (builtins.genList (x: x) 20000)))",
    );
    assert_eq!(json_nested.expect("nested JSON"), "120002");
}

#[test]
fn dropping_deep_chains_does_not_overflow() {
    // Each program leaves a 100 000-long chain that the evaluator's drop lets go of at
    // once: sets, unevaluated thunks whose frames hold lists, closures whose frames hold
    // the previous closure, partial applications of a builtin.
    let n = "(builtins.genList (x: x) 100000)";
    for (text, want) in [
        (
            format!("builtins.attrNames (builtins.foldl' (acc: _: {{ a = acc; }}) {{ }} {n})"),
            "[\"a\"]",
        ),
        (
            format!(
                "builtins.length (builtins.foldl' (acc: _: [ (builtins.head acc) ]) [ 0 ] {n})"
            ),
            "1",
        ),
        (
            format!("builtins.isFunction (builtins.foldl' (acc: _: (y: acc)) (x: x) {n})"),
            "true",
        ),
        (
            format!("builtins.isFunction (builtins.foldl' (acc: _: builtins.seq acc) (x: x) {n})"),
            "true",
        ),
    ] {
        assert_eq!(json(&text).expect("evaluates"), want, "{text}");
    }
}

#[test]
fn try_eval_catches_throw_and_assert_only() {
    assert_eq!(
        json("[ (builtins.tryEval (throw \"x\")).success (builtins.tryEval (assert false; 1)).success (builtins.tryEval 2).value ]")
            .expect("tryEval"),
        "[false,false,2]"
    );
    let text = error_of("builtins.tryEval (abort \"stop\")");
    assert!(
        text.contains("evaluation aborted with the following error message: 'stop'"),
        "{text}"
    );
}

#[test]
fn top_level_functions_are_called_with_auto_args() {
    let mut ev = Evaluator::new(EvalOptions {
        search_path: Vec::new(),
        auto_args: vec![
            ("a".to_string(), AutoArg::Expr("1 + 1".to_string())),
            ("b".to_string(), AutoArg::Str("text".to_string())),
        ],
    });
    let out = ev
        .eval_to_json(&expr("{ a, b, c ? 3 }: [ a b c ]"))
        .expect("auto-called");
    assert_eq!(out, "[2,\"text\",3]");
    let err = ev
        .eval_to_json(&expr("{ a, d }: a"))
        .expect_err("missing argument");
    assert!(
        err.to_string()
            .contains("cannot evaluate a function that has an argument without a value ('d')"),
        "{err}"
    );
}

#[test]
fn attribute_paths_and_output_modes() {
    let mut ev = Evaluator::new(EvalOptions::default());
    let req = |attr: Option<&str>, output, strict| Request {
        attr_path: attr.map(str::to_string),
        strict,
        output,
    };
    let src = expr("{ a.b = [ 1 \"x\\n\" ]; s = \"raw text\"; f = x: x; }");
    let mut text = |attr, output, strict| {
        let bytes = ev.eval_with(&src, &req(attr, output, strict));
        String::from_utf8(bytes.expect("evaluates")).expect("UTF-8 output")
    };
    assert_eq!(text(Some("a.b.1"), OutputMode::Json, true), "\"x\\n\"");
    assert_eq!(text(Some("s"), OutputMode::Raw, false), "raw text");
    assert_eq!(
        text(None, OutputMode::Nix, true),
        "{ a = { b = [ 1 \"x\\n\" ]; }; f = <LAMBDA>; s = \"raw text\"; }"
    );
    let lazy = text(None, OutputMode::Nix, false);
    assert!(lazy.contains("a = <CODE>;"), "{lazy}");
    let err = ev
        .eval_with(&src, &req(Some("nope"), OutputMode::Json, true))
        .expect_err("missing attribute");
    assert!(
        err.to_string()
            .contains("attribute 'nope' in selection path 'nope' not found"),
        "{err}"
    );
    let err = ev
        .eval_with(&src, &req(Some("f"), OutputMode::Json, true))
        .expect_err("function to JSON");
    assert!(
        err.to_string()
            .contains("cannot convert a function to JSON"),
        "{err}"
    );
}

#[test]
fn imports_search_paths_and_default_nix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lib = dir.path().join("lib");
    fs::create_dir(&lib).expect("mkdir");
    fs::write(lib.join("default.nix"), "{ twice = x: x * 2; dir = ./.; }").expect("write");
    fs::write(
        dir.path().join("main.nix"),
        "let l = import ./lib; m = import <mylib>; in [ (l.twice 21) (l == m) (builtins.isPath l.dir) ]",
    )
    .expect("write");
    let mut ev = Evaluator::new(EvalOptions {
        search_path: vec![("mylib".to_string(), lib.clone())],
        ..EvalOptions::default()
    });
    let out = ev
        .eval_to_json(&Source::File(dir.path().join("main.nix")))
        .expect("imports");
    assert_eq!(out, "[42,true,true]");
    let err = ev
        .eval_to_json(&expr("<nothere>"))
        .expect_err("unknown search path entry");
    assert!(
        err.to_string()
            .contains("file 'nothere' was not found in the Nix search path"),
        "{err}"
    );
}

#[test]
fn network_fetchers_fail_clearly() {
    let text = error_of("builtins.fetchurl \"http://example.org/x\"");
    assert!(text.contains("network fetchers are disabled"), "{text}");
}

/// `hashFile` streams the file in 64 KiB reads: a file of several reads and a partial
/// last one hashes exactly as in Nix 2.8, with every algorithm.
#[test]
fn hash_file_over_many_reads_matches_nix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..200_001u32).map(|i| (i * 7 + i / 251) as u8).collect();
    fs::write(&file, bytes).expect("write");
    let text = format!(
        "map (a: builtins.hashFile a {}) [ \"md5\" \"sha1\" \"sha256\" \"sha512\" ]",
        file.display()
    );
    let out = nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E", &text])
        .current_dir(dir.path())
        .output()
        .expect("nix-instantiate (Debian package nix-bin) is required by this test");
    assert!(out.status.success(), "nix-instantiate failed: {out:?}");
    let nix = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(json(&text).expect("hashFile"), nix.trim());
}

/// Runs `f` on a thread with a small stack: what deep nesting needs must come from the
/// evaluator's stack growth, not from the size of the test thread's stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .map(|h| h.join())
    {
        Ok(Ok(v)) => v,
        Ok(Err(_)) => panic!("the evaluation panicked"),
        Err(e) => panic!("spawning a thread: {e}"),
    }
}

/// Nix 2.8 parses up to 10,000 entries of Bison's stack (9,995 nested parentheses,
/// 3,331 `let`s); nixspot refused more than 512 levels. Deeper still (20,000 levels),
/// the shapes parse, lower, evaluate, print and drop without overflowing the stack, and
/// an operator chain (which nests without a level: `1 + 1 + …`, 200,000 terms, where
/// Nix's evaluation overflows at about 180,000) is lowered and dropped too.
#[test]
fn deep_nesting_evaluates() {
    let n = 20_000;
    let cases = [
        (
            format!("{}1{}", "(".repeat(n), ")".repeat(n)),
            "1".to_string(),
        ),
        (format!("{}a", "let a = 1; in ".repeat(n)), "1".to_string()),
        (
            format!("{}a", "with { a = 1; }; ".repeat(n)),
            "1".to_string(),
        ),
        (
            format!("{}1{}", "if true then ".repeat(n), " else 0".repeat(n)),
            "1".to_string(),
        ),
        (
            format!("{}1{}{}", "{a=".repeat(n), ";}".repeat(n), ".a".repeat(n)),
            "1".to_string(),
        ),
        (
            format!("{}1{}", "[".repeat(n), "]".repeat(n)),
            format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        ),
        (
            format!("{}x{}) 1", "(x: ".repeat(n), ") x".repeat(n - 1)),
            "1".to_string(),
        ),
        (vec!["1"; 200_000].join(" + "), "200000".to_string()),
        // Deep values made at run time compare and coerce to strings.
        (
            "let f = n: if n == 0 then [] else [(f (n - 1))]; in f 20000 == f 20000".into(),
            "true".to_string(),
        ),
        (
            "let f = n: if n == 0 then \"x\" else [(f (n - 1))]; in toString (f 20000)".into(),
            "\"x\"".to_string(),
        ),
    ];
    for (text, want) in cases {
        let shown: String = text.chars().take(40).collect();
        let got = on_small_stack(move || json(&text).map_err(|e| e.to_string()));
        assert_eq!(got.as_deref(), Ok(want.as_str()), "{shown}…");
    }
}

/// Past the parser's limit, and in an operator chain too long for the stack's cap, the
/// error says what and where, instead of overflowing the stack.
#[test]
fn too_deep_nesting_is_an_error() {
    let text = format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000));
    let err = on_small_stack(move || json(&text).map_err(|e| e.to_string()));
    let Err(msg) = err else {
        panic!("expected an error, got {err:?}");
    };
    assert!(
        msg.starts_with("error: expression nested too deeply (more than 100000 levels)"),
        "{msg}"
    );
    assert!(msg.contains(":1:100001"), "{msg}");
}
