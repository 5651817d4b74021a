//! What one job builds, step by step, with the library pipeline of `nixspot build`:
//! the job's module and lock are written to `module.nix` and `module.lock.json` in the
//! job's folder and built exactly as `nixspot build module.nix --lock module.lock.json
//! --locked` builds them (nixspot's own evaluator, the pins applied, remote content
//! only, the shared content cache), so the image is byte-identical to that command's.
//!
//! The steps are separate functions so the worker can report each one and abandon the
//! job between them; the download step is async and can be dropped mid-way.

use anyhow::Context as _;
use nixspot_assemble::pipeline::{self, Job};
use nixspot_assemble::{AssembleOptions, Summary};
use nixspot_fetch::{Cache, Fetcher, Mirror, Options, ProgressMode};
use nixspot_hotspot::load::{load, Target};
use nixspot_hotspot::Engine;
use nixspot_recipe::{Lock, Recipe};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::child::{Child, Limits};

/// How jobs are built: the same for every job of a worker.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The content cache, shared with `nixspot build` and other workers of the machine.
    pub cache_dir: PathBuf,
    /// The hotspot modules (`None`: `$NIXSPOT_MODULES`, else the embedded ones).
    pub modules: Option<PathBuf>,
    /// Download mirrors, as `nixspot build --mirror`.
    pub mirrors: Vec<Mirror>,
    /// Never download: everything must be in the cache already.
    pub offline: bool,
    /// Timestamp of every file in the image (`SOURCE_DATE_EPOCH`).
    pub timestamp: i64,
    /// Where modules are evaluated: in this child process ([`evaluate_in`]), else in
    /// the worker's own.
    pub evaluate_in: Option<Child>,
}

/// A job evaluated: its recipe with the lock's pins, ready to fetch.
pub(crate) struct Prepared {
    /// The recipe, pins applied.
    pub recipe: Recipe,
    /// The recipe as evaluated, before the pins (what `write_config` stores).
    pub text: String,
    /// The fetcher on the shared cache.
    pub fetcher: Arc<Fetcher>,
}

/// The file name of the job's module in its folder.
pub(crate) const MODULE: &str = "module.nix";
/// The file name of the job's lock in its folder.
pub(crate) const LOCK: &str = "module.lock.json";

/// Writes the job's module and lock into `dir` (blocking).
pub(crate) fn write_files(
    dir: &Path,
    module_text: &str,
    lock: &serde_json::Value,
) -> anyhow::Result<()> {
    std::fs::write(dir.join(MODULE), module_text).with_context(|| format!("writing {MODULE}"))?;
    if !lock.is_null() {
        let text = serde_json::to_string_pretty(lock).context("serialising the job's lock")?;
        std::fs::write(dir.join(LOCK), text + "\n").with_context(|| format!("writing {LOCK}"))?;
    }
    Ok(())
}

/// Evaluates the module written in `dir` with its lock, in this process (blocking): the
/// recipe as evaluated, the lock's pins not applied.
pub(crate) fn evaluate(dir: &Path, modules: Option<&Path>) -> anyhow::Result<Recipe> {
    let loaded = load(
        &Target::Module(dir.join(MODULE)),
        Engine::Builtin,
        modules,
        Some(&dir.join(LOCK)),
    )
    .context("evaluating the job's module")?;
    Ok(loaded.recipe)
}

/// What a worker asks its evaluation child (`nixspot imager evaluate-job`).
#[derive(Debug, Serialize, Deserialize)]
struct EvaluationRequest {
    /// The job's folder, holding its module and lock.
    dir: PathBuf,
    /// The hotspot modules (`None`: `$NIXSPOT_MODULES`, else the embedded ones).
    modules: Option<PathBuf>,
    /// The child's limits (it sets them on itself before evaluating).
    limits: Limits,
}

/// The evaluation child's answer on its standard output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum EvaluationAnswer {
    Recipe(Box<Recipe>),
    Error(String),
}

/// [`evaluate`] in `child`, a short-lived process with limits, which returns all the
/// memory the evaluation took when it exits ([`crate::child`]).
pub(crate) async fn evaluate_in(
    child: &Child,
    dir: &Path,
    modules: Option<&Path>,
) -> anyhow::Result<Recipe> {
    let request = EvaluationRequest {
        dir: dir.to_path_buf(),
        modules: modules.map(Path::to_path_buf),
        limits: child.limits,
    };
    let input = serde_json::to_vec(&request).context("serialising the evaluation request")?;
    let stdout = match child.run(&input).await {
        Ok(stdout) => stdout,
        Err(e) if e.over_limits() => anyhow::bail!(
            "evaluating the job's module went past its limits ({}): {e}",
            child.limits
        ),
        Err(e) => return Err(e).context("evaluating the job's module in a child process"),
    };
    match serde_json::from_slice(&stdout).with_context(|| {
        format!(
            "the evaluation child's answer ({} bytes) is not the protocol",
            stdout.len()
        )
    })? {
        EvaluationAnswer::Recipe(recipe) => Ok(*recipe),
        EvaluationAnswer::Error(message) => Err(anyhow::anyhow!(message)),
    }
}

/// The evaluation child's side (`nixspot imager evaluate-job`): reads an evaluation
/// request on standard input, limits itself as it says, evaluates, and writes the
/// recipe (or why there is none) as JSON on standard output.
pub fn serve_evaluation_child() -> std::io::Result<()> {
    crate::child::serve(
        |request: &EvaluationRequest| request.limits,
        |request| match evaluate(&request.dir, request.modules.as_deref()) {
            Ok(recipe) => EvaluationAnswer::Recipe(Box::new(recipe)),
            Err(e) => EvaluationAnswer::Error(format!("{e:#}")),
        },
    )
}

/// The job's `recipe` (as evaluated) made ready to fetch: the lock's pins applied, local
/// files refused, the fetcher on the shared cache (blocking).
pub(crate) fn prepare(dir: &Path, recipe: Recipe, settings: &Settings) -> anyhow::Result<Prepared> {
    let mut recipe = recipe;
    let text = recipe.to_yaml();
    let pins = Lock::load_or_default(&dir.join(LOCK)).context("reading the job's lock")?;
    recipe.apply_lock(&pins);
    // Before anything is fetched: the download step runs ahead of the pipeline, which
    // would refuse a local path only after this worker had read it.
    pipeline::refuse_local_files(&recipe)?;
    let cache = Cache::open(&settings.cache_dir).context("opening the content cache")?;
    let fetcher = Fetcher::new(
        cache,
        Options {
            locked: true,
            offline: settings.offline,
            base_dir: dir.to_path_buf(),
            mirrors: settings.mirrors.clone(),
            progress: ProgressMode::Quiet,
            ..Options::default()
        },
    )
    .context("setting up downloads")?;
    Ok(Prepared {
        recipe,
        text,
        fetcher: Arc::new(fetcher),
    })
}

/// nixspot's own base image built into the cache when the recipe names `nixspot:base`
/// (blocking; once per cache).
pub(crate) fn resolve_base(prepared: &Prepared) -> anyhow::Result<Recipe> {
    pipeline::resolve_base(&prepared.recipe, &prepared.fetcher)
        .context("preparing nixspot's base image")
}

/// Downloads everything the recipe needs into the cache (blocking), until done or
/// until `stop` is cancelled: then the downloads are dropped mid-way and `Ok(false)`
/// returned; what was verified so far stays in the cache for the next build.
///
/// The downloads run on a runtime of their own on this (blocking-pool) thread: the
/// fetcher's future is not provably `Send`, and the worker's future must be.
pub(crate) fn fetch(
    fetcher: &Fetcher,
    resolved: &Recipe,
    stop: &tokio_util::sync::CancellationToken,
) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the download runtime")?;
    runtime.block_on(async {
        tokio::select! {
            fetched = fetcher.fetch_recipe(resolved) => {
                fetched.context("downloading the content")?;
                Ok(true)
            }
            () = stop.cancelled() => {
                let _ = fetcher.cache().flush();
                Ok(false)
            }
        }
    })
}

/// Assembles the image into `output` (blocking): the same pipeline run as `nixspot
/// build`, whose downloads are now all in the cache.
pub(crate) fn assemble(
    prepared: &Prepared,
    output: &Path,
    scratch: &Path,
    timestamp: i64,
) -> anyhow::Result<Summary> {
    let job = Job::untrusted(
        &prepared.recipe,
        &prepared.text,
        &prepared.fetcher,
        AssembleOptions {
            output: output.to_path_buf(),
            build_dir: Some(scratch.to_path_buf()),
            keep: false,
            overwrite: false,
            max_size: None,
            timestamp,
            // Uploaded from the page cache, then deleted with the job's folder: no
            // fsync, so the image's bytes are written to disk once, by the server.
            durable: false,
        },
        None,
    );
    let outcome = pipeline::run(job).context("assembling the image")?;
    Ok(outcome.summary)
}

/// What job folders are called in the work folder.
const FOLDER_PREFIX: &str = "nixspot-job-";
/// The lock file in each job folder, held (`flock`) while the folder's job runs: the
/// kernel releases it when the worker dies, however it dies.
const HELD: &str = ".worker.lock";

/// A new private job folder in `work_dir`, and the held lock that marks it in use.
/// The lock file is locked before it is moved into the folder, so another worker's
/// [`remove_abandoned`] never sees it unlocked.
pub(crate) fn job_folder(work_dir: &Path) -> std::io::Result<(tempfile::TempDir, std::fs::File)> {
    use fs4::fs_std::FileExt as _;
    let dir = tempfile::Builder::new()
        .prefix(FOLDER_PREFIX)
        .tempdir_in(work_dir)?;
    let lock = tempfile::Builder::new()
        .prefix(".nixspot-lock-")
        .tempfile_in(work_dir)?;
    lock.as_file().lock_exclusive()?;
    let held = lock.persist(dir.path().join(HELD)).map_err(|e| e.error)?;
    Ok((dir, held))
}

/// Removes the job folders in `work_dir` whose worker died (their lock is free), e.g.
/// after a worker was killed mid-build; folders of running jobs, of this process or
/// others, stay. Returns the folders removed.
pub(crate) fn remove_abandoned(work_dir: &Path) -> Vec<PathBuf> {
    use fs4::fs_std::FileExt as _;
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let named = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(FOLDER_PREFIX));
        // Not following links: only real folders this code made.
        let folder = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if !named || !folder {
            continue;
        }
        // No lock file: a folder being set up right now (or not ours): left alone.
        let Ok(lock) = std::fs::File::open(path.join(HELD)) else {
            continue;
        };
        if lock.try_lock_exclusive().unwrap_or(false) && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed.sort();
    removed
}

/// The image's file name for a job called `name`: only letters, digits, `.`, `_` and
/// `-`, never hidden, never empty (the name comes from the server, and becomes a path).
pub(crate) fn image_file_name(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() {
        "image.img".into()
    } else {
        format!("{stem}.img")
    }
}

/// `SOURCE_DATE_EPOCH` if set, else 0, as `nixspot build` reads it (never the clock).
pub fn source_date_epoch() -> anyhow::Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not an integer")),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sh -c script` as a job's evaluation child.
    fn shell(script: &str) -> Child {
        Child {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            limits: Limits::default(),
        }
    }

    #[tokio::test]
    async fn an_evaluation_child_answers_a_recipe_or_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let error = |script: &'static str| {
            let dir = dir.path().to_path_buf();
            async move {
                format!(
                    "{:#}",
                    evaluate_in(&shell(script), &dir, None).await.unwrap_err()
                )
            }
        };
        // the module system's message, as the child gives it
        let e = error(r#"cat >/dev/null; printf '{"error":"hotspot.ap.ssid: too long"}'"#).await;
        assert_eq!(e, "hotspot.ap.ssid: too long");
        // stopped by its CPU limit, as the kernel stops it
        let e = error("cat >/dev/null; kill -s XCPU $$").await;
        assert!(e.contains("went past its limits"), "{e}");
        // not the protocol
        let e = error("cat >/dev/null; printf nonsense").await;
        assert!(e.contains("not the protocol"), "{e}");
        let e = error("echo 'cannot start' >&2; exit 2").await;
        assert!(
            e.contains("in a child process") && e.contains("cannot start"),
            "{e}"
        );
        // the request names the job's folder
        let request = dir.path().join("request.json");
        let script = format!("cat >{}; printf '{{\"error\":\"x\"}}'", request.display());
        let child = shell(&script);
        let _ = evaluate_in(&child, Path::new("/jobs/7"), None).await;
        let sent: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&request).unwrap()).unwrap();
        assert_eq!(sent["dir"], "/jobs/7", "{sent}");
    }

    #[test]
    fn image_names_from_the_server_stay_one_plain_file() {
        assert_eq!(image_file_name("school-library"), "school-library.img");
        assert_eq!(image_file_name("../../etc/passwd"), "_.._etc_passwd.img");
        assert_eq!(image_file_name("..."), "image.img");
        assert_eq!(image_file_name(""), "image.img");
        assert_eq!(image_file_name("é x"), "__x.img");
    }
}
