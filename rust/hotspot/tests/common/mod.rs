//! Shared helpers of the integration tests: repository paths, fixture discovery and a
//! real `nix-instantiate`.
#![allow(dead_code)] // Each test binary uses a different subset.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

/// `checks/modules`.
pub fn fixtures_dir() -> PathBuf {
    repo().join("checks/modules")
}

/// What a fixture must produce.
pub enum Expected {
    /// This JSON value.
    Json(Value),
    /// An error whose message contains every one of these lines.
    Error(Vec<String>),
}

/// A module-system fixture: `checks/modules/NAME.nix` with `NAME.json` or `NAME.err`.
pub struct Fixture {
    /// The file name without `.nix`.
    pub name: String,
    /// The `.nix` file.
    pub path: PathBuf,
    /// Its expected result.
    pub expected: Expected,
}

/// Every fixture, sorted by name. Panics (failing the test) on a fixture without an
/// expectation file.
pub fn fixtures() -> Vec<Fixture> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("nix") {
            continue;
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let json = dir.join(format!("{name}.json"));
        let err = dir.join(format!("{name}.err"));
        let expected = if json.is_file() {
            let text = std::fs::read_to_string(&json)
                .unwrap_or_else(|e| panic!("{}: {e}", json.display()));
            Expected::Json(
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", json.display())),
            )
        } else if err.is_file() {
            let text =
                std::fs::read_to_string(&err).unwrap_or_else(|e| panic!("{}: {e}", err.display()));
            Expected::Error(
                text.lines()
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect(),
            )
        } else {
            panic!(
                "fixture {} has neither {name}.json nor {name}.err",
                path.display()
            );
        };
        out.push(Fixture {
            name,
            path,
            expected,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Every hotspot under `hotspots/` (by stem), sorted.
pub fn images() -> Vec<(String, PathBuf)> {
    let dir = repo().join("hotspots");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("nix"))
        .filter(|p| {
            p.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|s| s.starts_with("hotspot-"))
        })
        .map(|p| {
            (
                p.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                p,
            )
        })
        .collect();
    out.sort();
    out
}

/// Runs the real `nix-instantiate --eval --strict --json FILE`: Ok(stdout) or
/// Err(stderr). Panics if Nix is not installed: these tests must not skip.
pub fn nix_instantiate(file: &Path) -> Result<String, String> {
    let output = nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("nix-instantiate is required (apt-get install nix-bin): {e}"));
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// Checks one fixture result against its expectation; Err(description) on mismatch.
pub fn check(fixture: &Fixture, result: &Result<String, String>) -> Result<(), String> {
    match (&fixture.expected, result) {
        (Expected::Json(want), Ok(out)) => {
            let got: Value = serde_json::from_str(out)
                .map_err(|e| format!("output is not JSON ({e}): {out}"))?;
            if &got == want {
                Ok(())
            } else {
                Err(format!("expected {want}\n     got {got}"))
            }
        }
        (Expected::Json(want), Err(err)) => {
            Err(format!("expected {want}, evaluation failed:\n{err}"))
        }
        (Expected::Error(_), Ok(out)) => Err(format!("expected an error, got {out}")),
        (Expected::Error(needles), Err(err)) => {
            let missing: Vec<&String> = needles
                .iter()
                .filter(|n| !err.contains(n.as_str()))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("error message lacks {missing:?}:\n{err}"))
            }
        }
    }
}
