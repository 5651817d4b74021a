//! Parity: every fixture, every image and the option reference evaluate to the same JSON
//! under nixspot's evaluator as under real Nix (`nix-instantiate`), byte for byte; error
//! fixtures must fail under both, with the expected message parts.
//!
//! Cases nixspot-eval does not handle yet are listed in
//! `checks/modules/KNOWN_EVAL_FAILURES` (one case name per line: a fixture name,
//! `image:<name>` or `options`). A listed case is reported but passes; a listed case that
//! now succeeds fails the test, so the list only shrinks.

mod common;

use std::collections::BTreeSet;

use nixspot_eval::{EvalOptions, Evaluator, Source};
use nixspot_hotspot::{Engine, ModulesDir};

fn known_failures() -> BTreeSet<String> {
    let path = common::fixtures_dir().join("KNOWN_EVAL_FAILURES");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// One evaluator for every fixture, so the module library is parsed once (as one Nix
/// process would cache its imports).
fn builtin_file(evaluator: &mut Evaluator, path: &std::path::Path) -> Result<String, String> {
    evaluator
        .eval_to_json(&Source::File(path.to_path_buf()))
        .map_err(|e| e.to_string())
}

/// Compares one case; Err(why) when nixspot-eval disagrees with real Nix.
fn compare(
    name: &str,
    nix: &Result<String, String>,
    ours: &Result<String, String>,
) -> Result<(), String> {
    match (nix, ours) {
        (Ok(a), Ok(b)) if a == b => Ok(()),
        (Ok(a), Ok(b)) => Err(format!(
            "{name}: outputs differ\n  nix:     {}\n  nixspot: {}",
            clip(a),
            clip(b)
        )),
        (Ok(_), Err(e)) => Err(format!("{name}: nixspot-eval failed: {}", clip(e))),
        (Err(e), Ok(b)) => Err(format!(
            "{name}: real Nix failed but nixspot-eval returned {}\n  nix: {}",
            clip(b),
            clip(e)
        )),
        (Err(_), Err(_)) => Ok(()),
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(600) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[test]
fn nixspot_eval_matches_real_nix() {
    let known = known_failures();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut cases = BTreeSet::new();
    let mut evaluator = Evaluator::new(EvalOptions::default());

    for fixture in common::fixtures() {
        cases.insert(fixture.name.clone());
        let nix = common::nix_instantiate(&fixture.path);
        let ours = builtin_file(&mut evaluator, &fixture.path);
        let mut result = compare(&fixture.name, &nix, &ours);
        if result.is_ok() {
            // Errors must carry the same information (option, files) in our message too.
            result =
                common::check(&fixture, &ours).map_err(|why| format!("{}: {why}", fixture.name));
        }
        if let Err(why) = result {
            failures.push((fixture.name, why));
        }
    }

    let modules = ModulesDir::at(&common::repo().join("modules")).unwrap_or_else(|e| panic!("{e}"));
    for (name, path) in common::images() {
        let case = format!("image:{name}");
        cases.insert(case.clone());
        let expr = nixspot_hotspot::recipe_expr(&modules, &path);
        let dir = common::repo();
        let nix =
            nixspot_hotspot::eval_json(Engine::Nix, &expr, &dir, &name).map_err(|e| e.to_string());
        let ours = nixspot_hotspot::eval_json(Engine::Builtin, &expr, &dir, &name)
            .map_err(|e| e.to_string());
        if nix.is_err() {
            panic!("{case}: real Nix failed: {nix:?}");
        }
        if let Err(why) = compare(&case, &nix, &ours) {
            failures.push((case, why));
        }
    }

    cases.insert("options".into());
    let expr = nixspot_hotspot::options_expr(&modules);
    let nix = nixspot_hotspot::eval_json(Engine::Nix, &expr, modules.path(), "options")
        .map_err(|e| e.to_string());
    let ours = nixspot_hotspot::eval_json(Engine::Builtin, &expr, modules.path(), "options")
        .map_err(|e| e.to_string());
    if let Err(why) = compare("options", &nix, &ours) {
        failures.push(("options".into(), why));
    }

    let failed: BTreeSet<&String> = failures.iter().map(|(n, _)| n).collect();
    let unexpected: Vec<&(String, String)> = failures
        .iter()
        .filter(|(n, _)| !known.contains(n))
        .collect();
    let now_passing: Vec<&String> = known
        .iter()
        .filter(|n| cases.contains(*n) && !failed.contains(n))
        .collect();
    let stale: Vec<&String> = known.iter().filter(|n| !cases.contains(*n)).collect();
    for (name, why) in &failures {
        if known.contains(name) {
            eprintln!("known nixspot-eval failure (listed in KNOWN_EVAL_FAILURES): {why}");
        }
    }
    eprintln!(
        "parity: {} cases, {} equal, {} known failures",
        cases.len(),
        cases.len() - failures.len(),
        failures.len() - unexpected.len()
    );
    let mut problems = Vec::new();
    if !unexpected.is_empty() {
        problems.push(format!(
            "{} cases differ from real Nix:\n{}",
            unexpected.len(),
            unexpected
                .iter()
                .map(|(_, why)| why.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        ));
    }
    if !now_passing.is_empty() {
        problems.push(format!("these cases pass now; remove them from checks/modules/KNOWN_EVAL_FAILURES: {now_passing:?}"));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "KNOWN_EVAL_FAILURES lists cases that do not exist: {stale:?}"
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
