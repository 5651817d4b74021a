//! Parity with real Nix: every case goes through `nix-instantiate --eval --strict --json`
//! (Debian's Nix 2.8) and through nixspot-eval, and both must agree.
//!
//! This also proves the corpus honest: Nix must still print exactly the `.json` file, or
//! fail with an error containing the `.err` text. (The modules, images and fixtures are
//! compared with Nix by `rust/hotspot/tests/parity.rs`.) Cases under
//! `corpus/new/` need a Nix newer than 2.8 and are checked against their `.json` only.
//! The test fails (never skips) when `nix-instantiate` is missing.
//!
//! `NIXSPOT_CORPUS_FILTER=substring` runs a subset; `corpus/KNOWN_FAILURES` lists cases
//! nixspot may fail for now (a wrong expectation file is never excused).

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{
    apply_filter, check, corpus_cases, known_failures, run_child_if_requested, run_nixspot,
    run_parallel, run_with_timeout, Case, Outcome, Report, TEST_ENV_VAR,
};

/// What real Nix did with a case.
fn run_nix(case: &Case, scratch: &Path, ids: &AtomicUsize) -> Result<Outcome, String> {
    let mut cmd = nixspot_testkit::nix("nix-instantiate");
    cmd.args(["--eval", "--strict", "--json"]);
    for (prefix, dir) in &case.search_path {
        cmd.arg("-I");
        if prefix.is_empty() {
            cmd.arg(dir);
        } else {
            cmd.arg(format!("{prefix}={}", dir.display()));
        }
    }
    cmd.arg(&case.path).env(TEST_ENV_VAR.0, TEST_ENV_VAR.1);
    let id = 1_000_000 + ids.fetch_add(1, Ordering::Relaxed);
    let run = run_with_timeout(cmd, scratch, id)?;
    if let Some(msg) = run.timed_out {
        return Err(format!("nix-instantiate {msg}"));
    }
    Ok(if run.status.success() {
        Outcome::Value(
            run.stdout
                .strip_suffix('\n')
                .unwrap_or(&run.stdout)
                .to_string(),
        )
    } else {
        Outcome::Error(run.stderr)
    })
}

/// Checks one case; the outer `Err` is a problem the allow-list cannot excuse.
fn parity_case(
    case: &Case,
    scratch: &Path,
    ids: &AtomicUsize,
) -> Result<Result<(), String>, String> {
    let nixspot = run_nixspot("parity", case, scratch);
    if case.newer_than_nix {
        return Ok(check(&case.expect, &nixspot));
    }
    let nix = run_nix(case, scratch, ids)?;
    check(&case.expect, &nix).map_err(|why| {
        format!("the expectation file disagrees with real Nix 2.8 (fix the corpus):\n  {why}")
    })?;
    Ok(check(&case.expect, &nixspot))
}

#[test]
fn parity() {
    if run_child_if_requested() {
        return;
    }
    match nixspot_testkit::nix("nix-instantiate").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`nix-instantiate --version` failed: {}", out.status),
        Err(e) => panic!(
            "nix-instantiate is required by the parity test (apt-get install nix-bin; see .ci/install-deps): {e}"
        ),
    }
    let cases = match corpus_cases() {
        Ok(c) => apply_filter(c),
        Err(e) => panic!("reading the cases: {e}"),
    };
    let known = match known_failures() {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("creating a scratch directory: {e}"),
    };
    let ids = AtomicUsize::new(0);
    let verdicts = run_parallel(&cases, |case| parity_case(case, scratch.path(), &ids));
    let mut report = Report::default();
    for (case, verdict) in cases.iter().zip(verdicts) {
        match verdict {
            Ok(v) => report.record(&case.name, v, &known),
            Err(hard) => report.record_hard(&case.name, hard),
        }
    }
    report.finish("parity");
}
