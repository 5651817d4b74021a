//! Shared by the differential tests (`regex_vs_nix.rs`, `sort_vs_nix.rs`): one file of
//! generated cases, evaluated strictly to JSON by real Nix and by nixspot-eval.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nixspot_eval::{EvalOptions, Evaluator, OutputMode, Request, Source};

/// `nix-instantiate --eval --strict --json FILE`'s output. Panics when Nix is missing,
/// fails, or takes over 300 s (a hang, not a timing: these files take seconds).
pub fn nix_json(file: &Path) -> Vec<u8> {
    // Output to files, not pipes: a full pipe would block Nix while we wait for it.
    let dir = file.parent().expect("the cases' directory");
    let (out_path, err_path) = (dir.join("nix.out"), dir.join("nix.err"));
    let file_for = |p: &Path| std::fs::File::create(p).expect("output file");
    let mut child = nixspot_testkit::nix("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(file)
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
    assert!(
        status.success(),
        "nix-instantiate failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default())
    );
    std::fs::read(&out_path).expect("Nix output")
}

/// nixspot-eval's answer to the same request. Panics on an evaluation error.
pub fn nixspot_json(file: &Path) -> Vec<u8> {
    Evaluator::new(EvalOptions::default())
        .eval_with(
            &Source::File(file.to_path_buf()),
            &Request {
                attr_path: None,
                strict: true,
                output: OutputMode::Json,
            },
        )
        .unwrap_or_else(|e| panic!("nixspot-eval failed on {}: {e}", file.display()))
}

/// The JSON arrays of both outputs, element by element: `(index, Nix's, nixspot's)` of
/// each element that differs.
pub fn differences(nix: &[u8], ours: &[u8]) -> Vec<(usize, serde_json::Value, serde_json::Value)> {
    let nix: Vec<serde_json::Value> = serde_json::from_slice(nix).expect("Nix's JSON array");
    let ours: Vec<serde_json::Value> = serde_json::from_slice(ours).expect("nixspot's JSON array");
    assert_eq!(nix.len(), ours.len(), "as many results from both");
    nix.into_iter()
        .zip(ours)
        .enumerate()
        .filter(|(_, (n, o))| n != o)
        .map(|(i, (n, o))| (i, n, o))
        .collect()
}
