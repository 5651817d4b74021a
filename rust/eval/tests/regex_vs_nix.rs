//! Differential test of `builtins.match` / `builtins.split` against real Nix: thousands
//! of generated patterns (alternation, groups, every quantifier, brackets, anchors) on
//! generated texts, evaluated by `nix-instantiate` and by nixspot-eval; the outputs must
//! be byte-identical. Patterns nest groups one level deep and texts stay short, so
//! libstdc++'s exponential backtracking stays fast. Fails (never skips) without Nix.

use std::io::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nixspot_eval::{EvalOptions, Evaluator, OutputMode, Request, Source};

/// A seeded generator, so every run checks the same cases.
struct Rng(fastrand::Rng);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0.usize(..n)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ATOMS: &[&str] = &[
    "a",
    "b",
    "a",
    "b",
    ".",
    "[ab]",
    "[^a]",
    "[[:alpha:]]",
    "\\.",
];
const QUANTIFIERS: &[&str] = &["*", "+", "?", "{0,1}", "{1,2}", "{2}", "{0,}", "{1,}"];

fn piece(r: &mut Rng, in_group: bool) -> String {
    let roll = r.below(10);
    let atom = if roll < 1 {
        return r.pick(&["^", "$"]).to_string();
    } else if roll < 3 && !in_group {
        format!("({})", alternation(r, true))
    } else {
        r.pick(ATOMS).to_string()
    };
    if r.below(2) == 0 {
        atom
    } else {
        atom + r.pick(QUANTIFIERS)
    }
}

fn alternation(r: &mut Rng, in_group: bool) -> String {
    let sides = if r.below(10) < 6 { 1 } else { 2 + r.below(2) };
    (0..sides)
        .map(|_| {
            let min = usize::from(!in_group);
            (0..min + r.below(4 - min))
                .map(|_| piece(r, in_group))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn nix_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$");
    format!("\"{escaped}\"")
}

/// The test file: `[ [ pattern text (match) (split) ] … ]`.
fn cases(count: usize) -> String {
    let mut r = Rng(fastrand::Rng::with_seed(0x9e37_79b9_7f4a_7c15));
    let mut out = String::from("[\n");
    for _ in 0..count {
        let pattern = nix_string(&alternation(&mut r, false));
        let text: String = (0..r.below(7))
            .map(|_| r.pick(&["a", "b", "c", "."]))
            .collect();
        let text = nix_string(&text);
        out.push_str(&format!(
            "  [ {pattern} {text} (builtins.match {pattern} {text}) (builtins.split {pattern} {text}) ]\n"
        ));
    }
    out.push(']');
    out
}

#[test]
fn generated_patterns_match_and_split_like_nix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("regex-cases.nix");
    std::fs::write(&file, cases(10_000)).expect("writing the cases");

    // Output to files, not pipes: a full pipe would block Nix while we wait for it.
    let (out_path, err_path) = (dir.path().join("nix.out"), dir.path().join("nix.err"));
    let file_for = |p: &std::path::Path| std::fs::File::create(p).expect("output file");
    let mut child = nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(&file)
        .stdout(Stdio::from(file_for(&out_path)))
        .stderr(Stdio::from(file_for(&err_path)))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run nix-instantiate (apt-get install nix-bin): {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for Nix") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            panic!("nix-instantiate took over 300 s on {}", file.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let nix_out = std::fs::read(&out_path).expect("Nix output");
    assert!(
        status.success(),
        "nix-instantiate failed: {}",
        String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default())
    );

    let ours = Evaluator::new(EvalOptions::default())
        .eval_with(
            &Source::File(file.clone()),
            &Request {
                attr_path: None,
                strict: true,
                output: OutputMode::Json,
            },
        )
        .unwrap_or_else(|e| panic!("nixspot-eval failed: {e}"));
    if ours != nix_out {
        let nix_v: Vec<serde_json::Value> = serde_json::from_slice(&nix_out).expect("Nix JSON");
        let ours_v: Vec<serde_json::Value> = serde_json::from_slice(&ours).expect("our JSON");
        let mut report = std::io::stderr().lock();
        for (n, o) in nix_v.iter().zip(&ours_v).filter(|(n, o)| n != o).take(10) {
            let _ = writeln!(report, "nix:     {n}\nnixspot: {o}\n");
        }
        panic!("nixspot's match/split differ from Nix's (first differences above)");
    }
}
