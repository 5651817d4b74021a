//! Shared machinery of the conformance runners (`corpus.rs`, `parity.rs`).
//!
//! Every case is evaluated by nixspot in a *child process* (the test binary re-executes
//! itself for one case): a stack overflow, abort or endless loop in the evaluator then
//! costs one case, not the whole run, and every failure is still reported at the end.

#![allow(dead_code)] // each runner uses a different part of this module

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nixspot_eval::{EvalOptions, Evaluator, OutputMode, Request, Source};

/// Environment variable naming the case a child process evaluates.
const CHILD_CASE_VAR: &str = "NIXSPOT_CORPUS_CHILD_CASE";
/// Environment variable naming the file the child writes its result to.
const CHILD_OUT_VAR: &str = "NIXSPOT_CORPUS_CHILD_OUT";
/// Environment variable holding the child's search path (`prefix=path` lines).
const CHILD_SEARCH_VAR: &str = "NIXSPOT_CORPUS_CHILD_SEARCH";
/// A variable set for both Nix and nixspot so `builtins.getEnv` has a known answer.
pub const TEST_ENV_VAR: (&str, &str) = ("NIXSPOT_CORPUS_TEST_VAR", "hello from the corpus");

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `rust/eval/tests/corpus`.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The search path every corpus case is evaluated with, in lookup order, as
/// `(prefix, directory)`: `<corpus/…>` names the shared helper library, and a bare
/// `<name>` is looked up in `search-path/`.
pub fn corpus_search_path() -> Vec<(String, PathBuf)> {
    let dir = corpus_dir();
    vec![
        ("corpus".to_string(), dir.join("lib")),
        (String::new(), dir.join("search-path")),
    ]
}

/// What a case must produce.
#[derive(Debug, Clone)]
pub enum Expect {
    /// `eval-okay-*.nix`: exactly this JSON (the content of the `.json` file).
    Json(String),
    /// `eval-fail-*.nix`: an error whose text contains this (the `.err` file).
    ErrorContaining(String),
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Name used in reports, filters and `KNOWN_FAILURES`: the file name without `.nix`,
    /// prefixed with its directory relative to the suite root (`new/eval-okay-x`).
    pub name: String,
    /// The `.nix` file.
    pub path: PathBuf,
    /// The expected result.
    pub expect: Expect,
    /// True for cases needing a Nix newer than 2.8: never run through real Nix.
    pub newer_than_nix: bool,
    /// The search path the case is evaluated with.
    pub search_path: Vec<(String, PathBuf)>,
}

/// Reads the corpus: `dir/eval-{okay,fail}-*.nix` and, as newer-than-2.8 cases,
/// the same under `dir/new/`.
pub fn corpus_cases() -> Result<Vec<Case>, String> {
    let dir = corpus_dir();
    let mut cases = corpus_cases_in(&dir, "", false)?;
    let new = dir.join("new");
    if new.is_dir() {
        cases.extend(corpus_cases_in(&new, "new/", true)?);
    }
    Ok(cases)
}

fn corpus_cases_in(dir: &Path, prefix: &str, newer: bool) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for file in names {
        let Some(stem) = file.strip_suffix(".nix") else {
            continue;
        };
        let path = dir.join(&file);
        let expect = if stem.starts_with("eval-okay-") {
            let exp = dir.join(format!("{stem}.json"));
            let bytes = fs::read(&exp)
                .map_err(|e| format!("case {stem}: reading {}: {e}", exp.display()))?;
            Expect::Json(strip_one_newline(&shown(&bytes)).to_string())
        } else if stem.starts_with("eval-fail-") {
            let exp = dir.join(format!("{stem}.err"));
            let text = fs::read_to_string(&exp)
                .map_err(|e| format!("case {stem}: reading {}: {e}", exp.display()))?;
            let needle = strip_one_newline(&text).to_string();
            if needle.is_empty() {
                return Err(format!("case {stem}: {} is empty", exp.display()));
            }
            Expect::ErrorContaining(needle)
        } else {
            continue;
        };
        cases.push(Case {
            name: format!("{prefix}{stem}"),
            path,
            expect,
            newer_than_nix: newer,
            search_path: corpus_search_path(),
        });
    }
    Ok(cases)
}

fn strip_one_newline(s: &str) -> &str {
    s.strip_suffix('\n').unwrap_or(s)
}

/// Output bytes as comparable text: UTF-8 as it is, every other byte as `\x{NN}` (Nix
/// strings are bytes, so an output may hold a character cut in two, and two different
/// cut bytes must not compare equal).
pub fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{{{b:02x}}}"));
        }
    }
    out
}

/// Keeps only the cases whose name contains `NIXSPOT_CORPUS_FILTER`, when set.
pub fn apply_filter(cases: Vec<Case>) -> Vec<Case> {
    match std::env::var("NIXSPOT_CORPUS_FILTER") {
        Ok(f) if !f.is_empty() => cases.into_iter().filter(|c| c.name.contains(&f)).collect(),
        _ => cases,
    }
}

/// The allow-list `corpus/KNOWN_FAILURES`: case names, one a line, `#` comments.
pub fn known_failures() -> Result<BTreeSet<String>, String> {
    let path = corpus_dir().join("KNOWN_FAILURES");
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// What an evaluator did with a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It printed this JSON.
    Value(String),
    /// It reported this error.
    Error(String),
    /// The process died (panic, abort, signal) or hung; the text says how.
    Crash(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Value(v) => write!(f, "value {}", truncate(v, 2000)),
            Outcome::Error(e) => write!(f, "failure: {}", truncate(e, 2000)),
            Outcome::Crash(c) => write!(f, "CRASH {}", truncate(c, 2000)),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

/// Checks an outcome against a case's expectation; `Err` explains the mismatch.
pub fn check(expect: &Expect, outcome: &Outcome) -> Result<(), String> {
    match (expect, outcome) {
        (Expect::Json(want), Outcome::Value(got)) if want == got => Ok(()),
        (Expect::ErrorContaining(needle), Outcome::Error(msg)) if msg.contains(needle.as_str()) => {
            Ok(())
        }
        (Expect::Json(want), got) => Err(format!("expected: value {want}\n  actual:   {got}")),
        (Expect::ErrorContaining(needle), got) => Err(format!(
            "expected: an error containing {needle:?}\n  actual:   {got}"
        )),
    }
}

/// Per-case time limit of a child process (`NIXSPOT_CORPUS_TIMEOUT` seconds, default
/// 30): a safety net against endless loops, not a speed requirement. After a few cases
/// ran into it, later ones get 5 s, so an evaluator that hangs everywhere fails the run
/// in minutes rather than hours.
fn case_timeout() -> Duration {
    let secs = std::env::var("NIXSPOT_CORPUS_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    if TIMEOUTS.load(Ordering::Relaxed) >= 5 {
        return Duration::from_secs(secs.min(5));
    }
    Duration::from_secs(secs)
}

/// How many processes were killed for running too long.
static TIMEOUTS: AtomicUsize = AtomicUsize::new(0);

/// When this process is a child started by [`run_nixspot`], evaluates its one case,
/// writes the result and returns true; the calling test then returns at once.
pub fn run_child_if_requested() -> bool {
    let (Ok(case), Ok(out)) = (std::env::var(CHILD_CASE_VAR), std::env::var(CHILD_OUT_VAR)) else {
        return false;
    };
    let search_path = std::env::var(CHILD_SEARCH_VAR)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(p, d)| (p.to_string(), PathBuf::from(d)))
        .collect();
    let mut evaluator = Evaluator::new(EvalOptions {
        search_path,
        ..EvalOptions::default()
    });
    let request = Request {
        attr_path: None,
        strict: true,
        output: OutputMode::Json,
    };
    let text = match evaluator.eval_with(&Source::File(PathBuf::from(case)), &request) {
        Ok(json) => [b"value\n".as_slice(), &json].concat(),
        Err(e) => format!("error\n{e}").into_bytes(),
    };
    if let Err(e) = fs::write(&out, text) {
        panic!("writing the child result to {out}: {e}");
    }
    true
}

/// Evaluates `case` with nixspot in a child process running test `test_name` of the
/// current test binary.
pub fn run_nixspot(test_name: &str, case: &Case, scratch: &Path) -> Outcome {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Outcome::Crash(format!("cannot find the test binary: {e}")),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let out = scratch.join(format!("result-{id}"));
    let search = case
        .search_path
        .iter()
        .map(|(p, d)| format!("{p}={}\n", d.display()))
        .collect::<String>();
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_CASE_VAR, &case.path)
        .env(CHILD_OUT_VAR, &out)
        .env(CHILD_SEARCH_VAR, search)
        .env(TEST_ENV_VAR.0, TEST_ENV_VAR.1)
        .env("RUST_BACKTRACE", "0");
    let run = match run_with_timeout(cmd, scratch, id) {
        Ok(r) => r,
        Err(e) => return Outcome::Crash(e),
    };
    if let Some(msg) = run.timed_out {
        return Outcome::Crash(msg);
    }
    match fs::read(&out).map(|bytes| shown(&bytes)) {
        Ok(text) if run.status.success() => {
            let _ = fs::remove_file(&out);
            if let Some(v) = text.strip_prefix("value\n") {
                Outcome::Value(v.to_string())
            } else if let Some(e) = text.strip_prefix("error\n") {
                Outcome::Error(e.to_string())
            } else {
                Outcome::Crash(format!("unreadable child result {text:?}"))
            }
        }
        _ => Outcome::Crash(format!(
            "the evaluator process died ({}); its output ends with:\n{}",
            run.status,
            tail(&format!("{}{}", run.stdout, run.stderr), 15)
        )),
    }
}

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A finished (or killed) process.
pub struct Run {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything it printed on stdout.
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
    /// Set when it was killed for running too long.
    pub timed_out: Option<String>,
}

/// Runs `cmd` with stdout/stderr in files (no pipe can fill up) and the case time limit.
pub fn run_with_timeout(mut cmd: Command, scratch: &Path, id: usize) -> Result<Run, String> {
    let out_path = scratch.join(format!("stdout-{id}"));
    let err_path = scratch.join(format!("stderr-{id}"));
    let out_file = fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err_file = fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let limit = case_timeout();
    let start = Instant::now();
    let mut timed_out = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                TIMEOUTS.fetch_add(1, Ordering::Relaxed);
                timed_out = Some(format!(
                    "killed after {} s without an answer",
                    limit.as_secs()
                ));
                match child.wait() {
                    Ok(status) => break status,
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let stdout = shown(&fs::read(&out_path).unwrap_or_default());
    let stderr = shown(&fs::read(&err_path).unwrap_or_default());
    let _ = fs::remove_file(&out_path);
    let _ = fs::remove_file(&err_path);
    Ok(Run {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Number of worker threads (the machines have 2 cores).
pub fn workers() -> usize {
    std::env::var("NIXSPOT_CORPUS_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// Runs `f` over `items` on [`workers`] threads; results keep the input order.
pub fn run_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers() {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// The verdicts of a run, turned into one pass/fail with the allow-list applied.
#[derive(Default)]
pub struct Report {
    total: usize,
    passed: usize,
    /// Failures not on the allow-list: they fail the test.
    failures: Vec<(String, String)>,
    /// Failures on the allow-list: reported only.
    known: Vec<(String, String)>,
    /// Cases on the allow-list that pass: they fail the test so the list only shrinks.
    fixed: Vec<String>,
    /// Problems that are not about nixspot (dishonest expected files, missing tools).
    hard: Vec<(String, String)>,
}

impl Report {
    /// Records a case verdict: `Ok` passed, `Err(why)` failed.
    pub fn record(&mut self, name: &str, verdict: Result<(), String>, known: &BTreeSet<String>) {
        self.total += 1;
        let listed = known.contains(name);
        match verdict {
            Ok(()) => {
                self.passed += 1;
                if listed {
                    self.fixed.push(name.to_string());
                }
            }
            Err(why) if listed => self.known.push((name.to_string(), why)),
            Err(why) => self.failures.push((name.to_string(), why)),
        }
    }

    /// Records a failure that the allow-list cannot excuse.
    pub fn record_hard(&mut self, name: &str, why: String) {
        self.hard.push((name.to_string(), why));
    }

    /// Prints everything and panics when the run failed. The report goes straight to
    /// stderr, past libtest's output capture, so known failures show even in a run
    /// that passes.
    pub fn finish(self, what: &str) {
        let mut text = String::new();
        for (name, why) in &self.known {
            text.push_str(&format!("KNOWN FAILURE {name}\n  {why}\n\n"));
        }
        for (name, why) in &self.failures {
            text.push_str(&format!("FAIL {name}\n  {why}\n\n"));
        }
        for (name, why) in &self.hard {
            text.push_str(&format!("ERROR {name}\n  {why}\n\n"));
        }
        for name in &self.fixed {
            text.push_str(&format!(
                "FIXED {name}: passes but is listed in corpus/KNOWN_FAILURES; remove it\n\n"
            ));
        }
        text.push_str(&format!(
            "{what}: {}/{} passed ({} known failures, {} unexpected failures, {} listed but passing, {} other errors)\n",
            self.passed,
            self.total,
            self.known.len(),
            self.failures.len(),
            self.fixed.len(),
            self.hard.len()
        ));
        let _ = std::io::stderr().write_all(text.as_bytes());
        assert!(
            self.failures.is_empty() && self.fixed.is_empty() && self.hard.is_empty(),
            "{what} failed: {} unexpected failures, {} cases listed in KNOWN_FAILURES pass, {} other errors (details above)",
            self.failures.len(),
            self.fixed.len(),
            self.hard.len()
        );
        assert!(self.total > 0, "{what}: no case selected");
    }
}
