//! nixspot-imager-worker: the build worker of the nixspot Imager.
//!
//! A worker claims one job at a time from an Imager server (`POST
//! /api/v1/worker/claim`), builds it with the same library pipeline as `nixspot build`
//! (the job's module and lock, nixspot's evaluator — in a short-lived child process
//! with limits, [`child`], when the program can start itself — remote content only,
//! the shared content cache), renews the job's lease every third of its length with the current
//! build step (`…/heartbeat`), and streams the image's data ranges to the server with
//! its sha256 (`PUT …/image`, [`sparse`]) or reports why it failed (`…/fail`). A `409` from the server (the
//! lease was lost, the order cancelled) stops the build; the job's folder is removed
//! however the job ends.
//!
//! Two ways to run it: `nixspot imager worker --server URL --token T` ([`WorkerArgs`],
//! [`run_cli`]) on any machine, and the server's embedded workers ([`Worker`], run on
//! the server's own tokio runtime against its own URL), so both are one code path.

pub mod child;
mod client;
mod job;
pub mod sparse;
mod worker;

pub use client::{Client, ClientError, Job, Uploaded};
pub use job::{serve_evaluation_child, source_date_epoch};
pub use worker::{CancellationToken, Config, Worker};

use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

/// Build hotspot images for an Imager server: claim queued orders, build them as
/// `nixspot build` would, upload the images.
///
/// The token is the API token of a user with role `worker` (`nixspot imager user add
/// NAME --worker`, then `nixspot imager token create --user NAME`). SIGTERM or Ctrl-C
/// stops the worker: a job it was building is abandoned (its files removed) and goes
/// back to the queue when its lease lapses, to be built by another worker.
///
/// Examples:
///   nixspot imager worker --server https://imager.example.org --token-file /etc/nixspot/worker-token
///   NIXSPOT_IMAGER_TOKEN=… nixspot imager worker --server http://10.0.0.2:8080 --name build-2
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
// The doc comment is the command's help text, shown verbatim: its URLs stay bare.
#[allow(rustdoc::bare_urls)]
pub struct WorkerArgs {
    /// The Imager server's URL.
    #[arg(long, env = "NIXSPOT_IMAGER_SERVER", value_name = "URL")]
    pub server: String,
    /// The worker's API token.
    #[arg(
        long,
        env = "NIXSPOT_IMAGER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,
    /// Read the token from FILE (its first line), so it is not in the process list.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The name this worker claims jobs under [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The content cache, shared with `nixspot build` [default: `$XDG_CACHE_HOME/nixspot`
    /// or `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Where jobs are built (one private folder per job, removed when it ends; an
    /// image needs its full size here) [default: the system's temporary folder].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Seconds between claims while no job is queued (fractions allowed).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub poll_interval: Duration,
    /// Use the hotspot modules in DIR instead of the ones built into nixspot (also
    /// `$NIXSPOT_MODULES`); must be the server's, or images differ from its exports.
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// Fetch from a mirror, as `nixspot build --mirror PREFIX=REPLACEMENT`.
    #[arg(long = "mirror", value_name = "PREFIX=REPLACEMENT", value_parser = parse_mirror)]
    pub mirrors: Vec<nixspot_fetch::Mirror>,
    /// Never download: build only what the cache holds already.
    #[arg(long)]
    pub offline: bool,
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("'{text}' is not a number of seconds between 0 and 86400"))
}

fn parse_mirror(text: &str) -> Result<nixspot_fetch::Mirror, String> {
    text.parse()
        .map_err(|e: nixspot_fetch::mirror::MirrorError| e.to_string())
}

impl WorkerArgs {
    /// The worker configuration these arguments give (reads `--token-file` and
    /// `SOURCE_DATE_EPOCH`).
    pub fn config(&self) -> anyhow::Result<Config> {
        let token = match (&self.token, &self.token_file) {
            (Some(token), _) => token.trim().to_string(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the token file {}", file.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            (None, None) => anyhow::bail!(
                "no worker token: pass --token TOKEN or --token-file FILE, or set NIXSPOT_IMAGER_TOKEN"
            ),
        };
        if token.is_empty() {
            anyhow::bail!(
                "the worker token is empty (--token, --token-file or NIXSPOT_IMAGER_TOKEN)"
            );
        }
        let name = match &self.name {
            Some(name) => name.clone(),
            None => gethostname::gethostname().to_string_lossy().into_owned(),
        };
        if name.trim().is_empty() {
            anyhow::bail!("the worker name is empty: pass --name NAME");
        }
        let mut config = Config::new(&self.server, &token, &name);
        if let Some(dir) = &self.cache_dir {
            config.cache_dir = dir.clone();
        }
        if let Some(dir) = &self.work_dir {
            config.work_dir = dir.clone();
        }
        config.poll_interval = self.poll_interval;
        config.modules = self.modules.clone();
        config.mirrors = self.mirrors.clone();
        config.offline = self.offline;
        config.timestamp = source_date_epoch()?;
        Ok(config)
    }
}

/// Runs `nixspot imager worker` until SIGTERM or Ctrl-C; each job's module is evaluated
/// by `evaluate_in` ([`Config::evaluate_in`]).
pub fn run_cli(args: WorkerArgs, evaluate_in: Option<child::Child>) -> anyhow::Result<()> {
    // Log lines on stderr (RUST_LOG overrides the level); a subscriber set by the
    // calling program wins.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let mut config = args.config()?;
    config.evaluate_in = evaluate_in;
    let worker = Worker::new(config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let shutdown = CancellationToken::new();
    let result = runtime.block_on(async {
        let on_signal = shutdown.clone();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            tracing::info!("stopping (signal received)");
            on_signal.cancel();
        });
        worker.run(shutdown).await
    });
    // An assembly the worker stopped waiting for may still be writing: its partial
    // image is removed and the process exits without waiting for it.
    nixspot_assemble::remove_partial_outputs();
    runtime.shutdown_background();
    result
}
