//! The worker loop: claim a job, build it while renewing its lease, upload the image or
//! report the failure, clean up, claim the next.

use crate::child::Child;
use crate::client::{Client, ClientError, Job, Uploaded};
use crate::job::{self, Settings};
use nixspot_fetch::Mirror;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
pub use tokio_util::sync::CancellationToken;

/// Everything a worker needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Imager server's URL (`http://HOST:PORT`, or with a path prefix).
    pub server: String,
    /// The worker's API token (a user with role `worker`).
    pub token: String,
    /// The name the worker claims jobs under (shown in `GET /api/v1/workers`).
    pub name: String,
    /// The content cache, shared with `nixspot build` on the same machine.
    pub cache_dir: PathBuf,
    /// Where each job gets its private folder (module, lock, scratch files, image);
    /// the folder is removed when the job ends, however it ends.
    pub work_dir: PathBuf,
    /// How long to wait before asking again when no job is queued.
    pub poll_interval: Duration,
    /// The hotspot modules (`None`: `$NIXSPOT_MODULES`, else the embedded ones).
    pub modules: Option<PathBuf>,
    /// Download mirrors, as `nixspot build --mirror`.
    pub mirrors: Vec<Mirror>,
    /// Never download: everything must be in the cache already.
    pub offline: bool,
    /// Timestamp of every file in the images (`SOURCE_DATE_EPOCH`; 0 by default, as
    /// `nixspot build`, so images match that command's).
    pub timestamp: i64,
    /// The program that evaluates each job's module in a child process with limits
    /// (`nixspot imager evaluate-job`, [`crate::child`]) [default: none, in the worker's
    /// own process, which keeps about 2 MiB per evaluation: for programs that cannot
    /// start themselves, such as tests].
    pub evaluate_in: Option<Child>,
}

impl Config {
    /// A configuration with the defaults: the default content cache, the system's
    /// temporary folder, a 5 s poll interval, the embedded modules, timestamp 0.
    pub fn new(server: &str, token: &str, name: &str) -> Config {
        Config {
            server: server.to_string(),
            token: token.to_string(),
            name: name.to_string(),
            cache_dir: nixspot_fetch::Cache::default_root(),
            work_dir: std::env::temp_dir(),
            poll_interval: Duration::from_secs(5),
            modules: None,
            mirrors: Vec::new(),
            offline: false,
            timestamp: 0,
            evaluate_in: None,
        }
    }
}

/// A build worker of an Imager server.
///
/// [`Worker::run`] is async (tokio): a tokio program such as the server runs it with
/// `tokio::spawn(worker.run(shutdown))`; the future is `Send`. The blocking parts of a
/// build (evaluation, assembly) go to tokio's blocking pool, so the runtime's threads
/// stay free. Programs without a runtime use [`Worker::spawn_thread`].
pub struct Worker {
    config: Config,
    client: Client,
    settings: Settings,
}

/// How a job ended without an image.
enum Stop {
    /// The build failed: reported to the server with this error.
    Failed(anyhow::Error),
    /// The worker stopped (shutdown) or lost the job (409): nothing to report.
    Abandoned,
}

impl From<anyhow::Error> for Stop {
    fn from(error: anyhow::Error) -> Self {
        Stop::Failed(error)
    }
}

/// What the heartbeats report.
#[derive(Clone)]
struct Status {
    step: &'static str,
    /// Bytes done and total, for a step that counts them.
    bytes: Option<(Arc<AtomicU64>, u64)>,
}

impl Status {
    fn step(step: &'static str) -> Status {
        Status { step, bytes: None }
    }

    fn progress(&self) -> Option<f64> {
        self.bytes.as_ref().map(|(done, total)| {
            if *total == 0 {
                1.0
            } else {
                done.load(Ordering::Relaxed) as f64 / *total as f64
            }
        })
    }
}

/// Exponential backoff for an unreachable server: 0.5 s doubling up to a ceiling.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(max: Duration) -> Backoff {
        Backoff {
            next: Duration::from_millis(500).min(max),
            max,
        }
    }

    fn next(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

/// Sleeps `delay` unless `stop` is cancelled first; returns whether it was.
async fn sleep_or(stop: &CancellationToken, delay: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => false,
        () = stop.cancelled() => true,
    }
}

impl Worker {
    /// A worker for `config` (checks the server URL; does not contact the server yet).
    pub fn new(config: Config) -> anyhow::Result<Worker> {
        let client = Client::new(&config.server, &config.token)?;
        let settings = Settings {
            cache_dir: config.cache_dir.clone(),
            modules: config.modules.clone(),
            mirrors: config.mirrors.clone(),
            offline: config.offline,
            timestamp: config.timestamp,
            evaluate_in: config.evaluate_in.clone(),
        };
        Ok(Worker {
            config,
            client,
            settings,
        })
    }

    /// Runs the worker on a thread of its own with its own tokio runtime, for callers
    /// without one; cancel `shutdown` to stop it, join the thread for the result.
    pub fn spawn_thread(
        self,
        shutdown: CancellationToken,
    ) -> std::io::Result<std::thread::JoinHandle<anyhow::Result<()>>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name(format!("imager-worker {}", self.config.name))
            .spawn(move || {
                let result = runtime.block_on(self.run(shutdown));
                // A build step still running on the blocking pool (an assembly the
                // worker stopped waiting for) must not hold the caller's join.
                runtime.shutdown_background();
                result
            })
    }

    /// Claims and builds jobs until `shutdown` is cancelled. Returns an error only when
    /// going on is pointless: the server refuses the worker's token, answers the claim
    /// with something that is not the protocol (a wrong server URL), or the work folder
    /// cannot hold a job. An unreachable or failing server is retried with backoff.
    ///
    /// On shutdown mid-job the worker stops building, removes the job's files and lets
    /// the lease lapse instead of reporting a failure: the job goes back to the queue
    /// and another worker (or this one, restarted) builds it, so restarting a worker
    /// never fails a user's order. The server fails a job after three lapsed leases, so
    /// a job that keeps killing workers still ends.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.config.work_dir).map_err(|e| {
            anyhow::anyhow!(
                "creating the work folder {}: {e}",
                self.config.work_dir.display()
            )
        })?;
        for removed in job::remove_abandoned(&self.config.work_dir) {
            tracing::info!(
                "removed the folder of a job whose worker died: {}",
                removed.display()
            );
        }
        tracing::info!(worker = %self.config.name, server = %self.config.server, "worker started");
        let mut backoff = Backoff::new(Duration::from_secs(30));
        // The last job's folder being removed while the next job starts: at most one.
        let mut cleaning: Option<tokio::task::JoinHandle<()>> = None;
        while !shutdown.is_cancelled() {
            let claimed = tokio::select! {
                r = self.client.claim(&self.config.name) => r,
                () = shutdown.cancelled() => break,
            };
            match claimed {
                Ok(Some(job)) => {
                    backoff = Backoff::new(Duration::from_secs(30));
                    let cleanup = self.process(job, &shutdown).await?;
                    if let Some(previous) = cleaning.replace(cleanup) {
                        let _ = previous.await;
                    }
                }
                Ok(None) => {
                    backoff = Backoff::new(Duration::from_secs(30));
                    if sleep_or(&shutdown, self.config.poll_interval).await {
                        break;
                    }
                }
                Err(e) if e.is_retryable() => {
                    let delay = backoff.next();
                    tracing::warn!("cannot claim a job (retrying in {delay:?}): {e}");
                    if sleep_or(&shutdown, delay).await {
                        break;
                    }
                }
                Err(e) if e.is_unauthorized() => {
                    anyhow::bail!(
                        "the server refused this worker's token: {e} (a worker needs the API \
                         token of a user with role `worker`: `nixspot imager token create`)"
                    )
                }
                Err(e) => anyhow::bail!("the server refused to hand out jobs: {e}"),
            }
        }
        if let Some(last) = cleaning {
            let _ = last.await;
        }
        tracing::info!(worker = %self.config.name, "worker stopped");
        Ok(())
    }

    /// One job, from claim to clean-up; the clean-up (removing the job's folder) is
    /// returned still running. An error is the worker's own trouble (its work
    /// folder unusable), not the job's: the worker stops and the job's lease lapses, so
    /// another worker builds it instead of the order failing.
    async fn process(
        &self,
        job: Job,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        tracing::info!(job = %job.id, order = %job.order, name = %job.name, "claimed");
        let (dir, held) = job::job_folder(&self.config.work_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create a job folder in the work folder {}: {e} (job {} left to \
                 another worker)",
                self.config.work_dir.display(),
                job.id
            )
        })?;
        // Cancelled on shutdown, or when the server says the job is no longer ours.
        let stop = shutdown.child_token();
        let lost: Arc<Mutex<Option<String>>> = Arc::default();
        let (status_tx, status_rx) = watch::channel(Status::step("evaluating"));
        let lease = Duration::from_secs(job.lease_seconds.max(1));
        let outcome = tokio::select! {
            r = self.build_and_upload(&job, dir.path(), &status_tx, &stop, shutdown) => r,
            () = self.keep_lease(&job.id, lease, status_rx, &stop, &lost) => Err(Stop::Abandoned),
        };
        match outcome {
            Ok(uploaded) => tracing::info!(
                job = %job.id,
                sent_bytes = uploaded.sent,
                referred_bytes = uploaded.referred,
                "image uploaded"
            ),
            Err(Stop::Failed(error)) => {
                tracing::warn!(job = %job.id, "build failed: {error:#}");
                self.report_failure(&job, &error, dir.path(), shutdown)
                    .await;
            }
            Err(Stop::Abandoned) => {
                let reason = lost.lock().ok().and_then(|l| l.clone());
                match reason {
                    Some(reason) => {
                        tracing::warn!(job = %job.id, "build abandoned: {reason}")
                    }
                    None => tracing::warn!(
                        job = %job.id,
                        "worker stopping: build abandoned, its lease will lapse within {lease:?} \
                         and the job will be re-queued"
                    ),
                }
            }
        }
        // Removing a big image takes time: off the runtime's threads, and while the
        // next job starts (the folder is this job's alone; if the process ends first,
        // the next start removes it as abandoned). The lock goes after the folder.
        Ok(tokio::task::spawn_blocking(move || {
            drop(dir);
            drop(held);
        }))
    }

    /// Renews the lease every third of its length with the current step. Returns only
    /// when the job is no longer ours (after cancelling `stop` and noting why in
    /// `lost`); never while the build is merely slow or the server unreachable.
    async fn keep_lease(
        &self,
        job: &str,
        mut lease: Duration,
        status: watch::Receiver<Status>,
        stop: &CancellationToken,
        lost: &Mutex<Option<String>>,
    ) {
        let mut retry = None::<Backoff>;
        loop {
            let wait = match retry.as_mut() {
                Some(backoff) => backoff.next(),
                None => lease / 3,
            };
            if sleep_or(stop, wait).await {
                return std::future::pending().await;
            }
            let now = status.borrow().clone();
            let answer = tokio::select! {
                r = self.client.heartbeat(job, now.step, now.progress()) => r,
                () = stop.cancelled() => return std::future::pending().await,
            };
            match answer {
                Ok(renewed) => {
                    lease = renewed.max(Duration::from_secs(1));
                    retry = None;
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(%job, "heartbeat failed, retrying: {e}");
                    retry.get_or_insert_with(|| {
                        Backoff::new((lease / 3).max(Duration::from_millis(500)))
                    });
                }
                Err(e) => {
                    // 409 (lease lost, order cancelled), or the token/job refused: the
                    // image could not be delivered, so the build stops.
                    if let Ok(mut slot) = lost.lock() {
                        *slot = Some(e.to_string());
                    }
                    stop.cancel();
                    return std::future::pending().await;
                }
            }
        }
    }

    /// Builds the job in `dir` and uploads the image; says what the upload sent.
    async fn build_and_upload(
        &self,
        job: &Job,
        dir: &Path,
        status: &watch::Sender<Status>,
        stop: &CancellationToken,
        shutdown: &CancellationToken,
    ) -> Result<Uploaded, Stop> {
        let (owned_dir, module, lock) = (dir.to_path_buf(), job.module.clone(), job.lock.clone());
        self.blocking(stop, shutdown, move || {
            job::write_files(&owned_dir, &module, &lock)
        })
        .await?;
        let modules = self.settings.modules.clone();
        let recipe = match &self.settings.evaluate_in {
            Some(child) => tokio::select! {
                // Dropping the evaluation kills the child.
                recipe = job::evaluate_in(child, dir, modules.as_deref()) => recipe?,
                () = stop.cancelled() => return Err(Stop::Abandoned),
            },
            None => {
                let owned_dir = dir.to_path_buf();
                self.blocking(stop, shutdown, move || {
                    job::evaluate(&owned_dir, modules.as_deref())
                })
                .await?
            }
        };
        let (settings, owned_dir) = (self.settings.clone(), dir.to_path_buf());
        let prepared = self
            .blocking(stop, shutdown, move || {
                job::prepare(&owned_dir, recipe, &settings)
            })
            .await?;
        let prepared = Arc::new(prepared);

        status.send_replace(Status::step("preparing base"));
        let for_base = Arc::clone(&prepared);
        let resolved = self
            .blocking(stop, shutdown, move || job::resolve_base(&for_base))
            .await?;

        status.send_replace(Status::step("fetching"));
        let (for_fetch, cancel) = (Arc::clone(&prepared), stop.clone());
        let fetched = self
            .blocking(stop, shutdown, move || {
                job::fetch(&for_fetch.fetcher, &resolved, &cancel)
            })
            .await?;
        if !fetched {
            return Err(Stop::Abandoned);
        }

        status.send_replace(Status::step("assembling"));
        let output = dir.join(job::image_file_name(&job.name));
        let (for_build, out, scratch) = (Arc::clone(&prepared), output.clone(), dir.to_path_buf());
        let timestamp = self.settings.timestamp;
        let summary = self
            .blocking(stop, shutdown, move || {
                job::assemble(&for_build, &out, &scratch, timestamp)
            })
            .await?;
        tracing::info!(job = %job.id, size = summary.image_size, sha256 = %summary.sha256, "image built");

        self.upload(
            job,
            &output,
            summary.image_size,
            &summary.sha256,
            status,
            stop,
        )
        .await
    }

    /// Uploads the image, retrying while the server is unreachable or restarting.
    async fn upload(
        &self,
        job: &Job,
        image: &Path,
        size: u64,
        sha256: &str,
        status: &watch::Sender<Status>,
        stop: &CancellationToken,
    ) -> Result<Uploaded, Stop> {
        let sent = Arc::new(AtomicU64::new(0));
        status.send_replace(Status {
            step: "uploading",
            bytes: Some((Arc::clone(&sent), size)),
        });
        let mut backoff = Backoff::new(Duration::from_secs(30));
        loop {
            let answer = tokio::select! {
                r = self.client.upload(&job.id, image, size, sha256, Arc::clone(&sent)) => r,
                () = stop.cancelled() => return Err(Stop::Abandoned),
            };
            match answer {
                Ok(uploaded) => return Ok(uploaded),
                Err(e) if e.is_retryable() => {
                    let delay = backoff.next();
                    tracing::warn!(job = %job.id, "upload failed (retrying in {delay:?}): {e}");
                    if sleep_or(stop, delay).await {
                        return Err(Stop::Abandoned);
                    }
                }
                Err(e @ ClientError::Lost { .. }) => {
                    tracing::warn!(job = %job.id, "{e}");
                    stop.cancel();
                    return Err(Stop::Abandoned);
                }
                Err(e) => {
                    return Err(Stop::Failed(
                        anyhow::Error::new(e).context("uploading the image"),
                    ))
                }
            }
        }
    }

    /// Runs one blocking build step on tokio's blocking pool. When `stop` is cancelled
    /// the step cannot be interrupted: if the lease was lost the worker waits for the
    /// step to end (so the job's files are removed after, not under, it, and two builds
    /// never run at once); on shutdown it does not wait, the process is ending.
    async fn blocking<T: Send + 'static>(
        &self,
        stop: &CancellationToken,
        shutdown: &CancellationToken,
        step: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Stop> {
        let mut handle = tokio::task::spawn_blocking(step);
        tokio::select! {
            joined = &mut handle => match joined {
                Ok(result) => result.map_err(Stop::Failed),
                Err(e) => Err(Stop::Failed(anyhow::anyhow!("internal error in a build step: {e}"))),
            },
            () = stop.cancelled() => {
                if !shutdown.is_cancelled() {
                    tokio::select! {
                        _ = &mut handle => {}
                        () = shutdown.cancelled() => {}
                    }
                }
                Err(Stop::Abandoned)
            }
        }
    }

    /// Tells the server the job failed, retrying while it is unreachable. A worker
    /// stopping before it got through leaves the lease to lapse (the job is retried).
    async fn report_failure(
        &self,
        job: &Job,
        error: &anyhow::Error,
        dir: &Path,
        shutdown: &CancellationToken,
    ) {
        let message = self.public_message(error, dir);
        let mut backoff = Backoff::new(Duration::from_secs(30));
        loop {
            let answer = tokio::select! {
                r = self.client.fail(&job.id, &message) => r,
                () = shutdown.cancelled() => {
                    tracing::warn!(job = %job.id, "stopped before the failure was reported: the lease will lapse and the job be retried");
                    return;
                }
            };
            match answer {
                Ok(()) => return,
                Err(e) if e.is_retryable() => {
                    let delay = backoff.next();
                    tracing::warn!(job = %job.id, "cannot report the failure (retrying in {delay:?}): {e}");
                    if sleep_or(shutdown, delay).await {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(job = %job.id, "the server refused the failure report: {e}");
                    return;
                }
            }
        }
    }

    /// The error chain as the order's reason: paths of this machine that say nothing
    /// to the user are shortened (the job's folder to nothing, so `module.nix:3:5`
    /// stays; the cache and work folders to placeholders).
    fn public_message(&self, error: &anyhow::Error, dir: &Path) -> String {
        let mut message = format!("{error:#}");
        message = message.replace(&format!("{}/", dir.display()), "");
        message = message.replace(&dir.display().to_string(), "<job>");
        let cache = self.config.cache_dir.display().to_string();
        if !cache.is_empty() {
            message = message.replace(&cache, "<cache>");
        }
        let work = self.config.work_dir.display().to_string();
        if !work.is_empty() {
            message = message.replace(&work, "<work>");
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_messages_name_no_folder_of_the_worker() {
        let mut config = Config::new("http://127.0.0.1:1", "t", "w");
        config.cache_dir = PathBuf::from("/var/cache/nixspot");
        config.work_dir = PathBuf::from("/srv/work");
        let worker = Worker::new(config).unwrap();
        let dir = Path::new("/srv/work/nixspot-job-abc");
        let error = anyhow::anyhow!("/srv/work/nixspot-job-abc/module.nix:3:5: undefined variable")
            .context("/var/cache/nixspot/content/aa/x: no space")
            .context("in /srv/work/nixspot-job-abc");
        assert_eq!(
            worker.public_message(&error, dir),
            "in <job>: <cache>/content/aa/x: no space: module.nix:3:5: undefined variable"
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let mut b = Backoff::new(Duration::from_secs(3));
        let delays: Vec<_> = (0..5).map(|_| b.next().as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 3000, 3000]);
    }

    #[test]
    fn the_run_future_can_be_spawned_on_a_runtime() {
        fn is_send<T: Send>(_: &T) {}
        let worker = Worker::new(Config::new("http://127.0.0.1:1", "t", "w")).unwrap();
        let run = worker.run(CancellationToken::new());
        is_send(&run);
    }
}
