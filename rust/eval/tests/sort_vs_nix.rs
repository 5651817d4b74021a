//! Differential test of `builtins.sort` against real Nix with comparators that are not
//! strict weak orders (`<=`, constant answers, answers that are not even consistent):
//! Nix's order is then that of libstdc++'s `std::stable_sort`, step for step, which
//! nixspot must reproduce. Lists of every length up to 70, and a few longer ones, so
//! every path of the algorithm runs (insertion-sorted chunks of 7, merge passes to the
//! buffer and back, the final merge front to back and back to front). The outputs must
//! be byte-identical. Fails (never skips) without Nix.

use std::process::Stdio;

use nixspot_eval::{EvalOptions, Evaluator, OutputMode, Request, Source};

/// Comparators on `{ k, id }` records: keys with ties, constants, and pure functions of
/// the two ids that no order satisfies.
const COMPARATORS: &[&str] = &[
    "a: b: a.k <= b.k",
    "a: b: a.k >= b.k",
    "a: b: true",
    "a: b: false",
    "a: b: a.id != b.id",
    "a: b: mod (a.id * 31 + b.id * 17) 7 < 3",
    "a: b: mod (a.id * 13 + b.id * 5 + a.k) 11 < 6",
];

/// The list lengths sorted with each comparator.
fn lengths() -> Vec<usize> {
    (0..=70).chain([99, 100, 128, 257, 1000]).collect()
}

fn cases() -> String {
    let lengths = lengths()
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    let comparators = COMPARATORS
        .iter()
        .map(|c| format!("({c})"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "let
  mod = a: b: a - a / b * b;
  records = n: builtins.genList (i: {{ k = mod (i * 7919) 5; id = i; }}) n;
  ids = map (r: r.id);
in builtins.concatMap (less: map (n: ids (builtins.sort less (records n))) [ {lengths} ])
  [ {comparators} ]
"
    )
}

#[test]
fn comparators_that_are_no_order_sort_like_nix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sort-cases.nix");
    std::fs::write(&file, cases()).expect("writing the cases");
    let nix = nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(&file)
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run nix-instantiate (apt-get install nix-bin): {e}"));
    assert!(
        nix.status.success(),
        "nix-instantiate failed: {}",
        String::from_utf8_lossy(&nix.stderr)
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
    if ours != nix.stdout {
        let nix_v: Vec<serde_json::Value> = serde_json::from_slice(&nix.stdout).expect("Nix JSON");
        let ours_v: Vec<serde_json::Value> = serde_json::from_slice(&ours).expect("our JSON");
        let lengths = lengths().len();
        let first = nix_v.iter().zip(&ours_v).position(|(n, o)| n != o);
        if let Some(i) = first {
            panic!(
                "nixspot's sort differs from Nix's with `{}`:\nnix:     {}\nnixspot: {}",
                COMPARATORS[i / lengths],
                nix_v[i],
                ours_v[i]
            );
        }
        panic!("nixspot's sort output differs from Nix's");
    }
}
