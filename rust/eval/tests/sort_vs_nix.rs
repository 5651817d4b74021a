//! Differential test of `builtins.sort` against real Nix with comparators that are not
//! strict weak orders (`<=`, constant answers, answers that are not even consistent):
//! Nix's order is then that of libstdc++'s `std::stable_sort`, step for step, which
//! nixspot must reproduce. Lists of every length up to 70, and a few longer ones, so
//! every path of the algorithm runs (insertion-sorted chunks of 7, merge passes to the
//! buffer and back, the final merge front to back and back to front). The outputs must
//! be byte-identical. Fails (never skips) without Nix.

mod against_nix;

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
    let nix = against_nix::nix_json(&file);
    let ours = against_nix::nixspot_json(&file);
    if let Some((i, n, o)) = against_nix::differences(&nix, &ours).first() {
        let comparator = COMPARATORS[i / lengths().len()];
        panic!(
            "nixspot's sort differs from Nix's with `{comparator}`:\nnix:     {n}\nnixspot: {o}"
        );
    }
    assert_eq!(ours, nix, "the same results, printed alike");
}
