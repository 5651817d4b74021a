//! Runs every case of `tests/corpus` through nixspot-eval and compares the result with
//! the case's `.json` (exact) or `.err` (substring of the error).
//!
//! `NIXSPOT_CORPUS_FILTER=substring` runs the cases whose name contains it;
//! `corpus/KNOWN_FAILURES` lists cases allowed to fail (and which must not pass).

mod common;

use common::{
    apply_filter, check, corpus_cases, known_failures, run_child_if_requested, run_nixspot,
    run_parallel, Report,
};

#[test]
fn corpus() {
    if run_child_if_requested() {
        return;
    }
    let cases = match corpus_cases() {
        Ok(c) => apply_filter(c),
        Err(e) => panic!("reading the corpus: {e}"),
    };
    let known = match known_failures() {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("creating a scratch directory: {e}"),
    };
    let verdicts = run_parallel(&cases, |case| {
        check(&case.expect, &run_nixspot("corpus", case, scratch.path()))
    });
    let mut report = Report::default();
    for (case, verdict) in cases.iter().zip(verdicts) {
        report.record(&case.name, verdict, &known);
    }
    report.finish("corpus");
}
