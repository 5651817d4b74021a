//! `nixspot fetch RECIPE|IMAGE.nix|FLAKE#NAME [--locked]`: fill the cache with
//! everything a recipe needs.

use super::hotspot_args::{load_lock, EvalFlags};
use anyhow::Context as _;
use nixspot_fetch::{Cache, Fetcher, Options, ProgressMode};
use nixspot_hotspot::load::Target;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Options shared by `fetch` and `lock`.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// The recipe (image-creator YAML or JSON), a hotspot module (`.nix`), or a flake
    /// reference (`.#NAME`: the flake's `hotspots.NAME`).
    pub recipe: PathBuf,
    /// The lock file [default: RECIPE with its extension replaced by `.lock.json`; none
    /// for a flake reference, whose hotspots pin through `hotspot.lockFile`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// The cache directory [default: `$XDG_CACHE_HOME/nixspot` or `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Downloads at once.
    #[arg(short = 'j', long, default_value_t = 4, value_name = "N")]
    pub jobs: usize,
    /// Retries per download (5xx, timeouts, resets; never 404 or a hash mismatch).
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub retries: u32,
    /// Seconds to wait for a response or for more data before retrying.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    /// Plain progress lines even on a terminal.
    #[arg(long, conflicts_with = "quiet")]
    pub plain: bool,
    #[command(flatten)]
    pub eval: EvalFlags,
}

impl Common {
    /// What RECIPE names.
    pub fn target(&self) -> Target {
        Target::parse(&self.recipe)
    }

    /// The lock file (see [`nixspot_hotspot::load::lock_path`]).
    pub fn lock_path(&self) -> Option<PathBuf> {
        nixspot_hotspot::load::lock_path(&self.target(), self.lock.as_deref())
    }
}

/// Fetch everything a recipe needs into the cache (base image, files, OCI images).
///
/// Pins come from the recipe and from its lock file. Content that is pinned and
/// already in the cache (for instance imported with `nixspot cache add`) needs no
/// network.
///
/// Examples:
///   nixspot fetch recipe.yaml
///   nixspot fetch images/hotspot-demo.nix --locked --offline
///   nixspot fetch .#hotspot-demo
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Refuse anything not pinned by a sha256 (files) or a digest (images).
    #[arg(long)]
    pub locked: bool,
    /// Never use the network: everything must already be in the cache.
    #[arg(long)]
    pub offline: bool,
}

/// Everything a fetcher is made from; `fetch`, `lock`, `assemble` and `build` fill it
/// from their own flags and open it with [`open_fetcher`].
pub struct FetcherConfig<'a> {
    /// `--cache-dir` (default: [`Cache::default_root`]).
    pub cache_dir: Option<&'a Path>,
    /// The recipe: relative local paths in it are resolved against its directory.
    pub recipe: &'a Path,
    /// Downloads at once.
    pub jobs: usize,
    /// Retries per download.
    pub retries: u32,
    /// Longest wait for a response or for more data (default: the fetcher's).
    pub timeout: Option<std::time::Duration>,
    /// No progress output.
    pub quiet: bool,
    /// Plain progress lines even on a terminal.
    pub plain: bool,
    /// Refuse anything unpinned.
    pub locked: bool,
    /// Never use the network.
    pub offline: bool,
    /// `--mirror` rules.
    pub mirrors: Vec<nixspot_fetch::Mirror>,
}

/// Opens the cache and builds a fetcher.
pub fn open_fetcher(config: FetcherConfig<'_>) -> anyhow::Result<Fetcher> {
    let root = config
        .cache_dir
        .map_or_else(Cache::default_root, Path::to_path_buf);
    let cache = Cache::open(&root).with_context(|| format!("opening cache {}", root.display()))?;
    let base_dir = config
        .recipe
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let defaults = Options::default();
    let opts = Options {
        concurrency: config.jobs.max(1),
        retries: config.retries,
        read_timeout: config.timeout.unwrap_or(defaults.read_timeout),
        locked: config.locked,
        offline: config.offline,
        base_dir,
        mirrors: config.mirrors,
        progress: if config.quiet {
            ProgressMode::Quiet
        } else if config.plain {
            ProgressMode::Plain
        } else {
            ProgressMode::Auto
        },
        ..defaults
    };
    Ok(Fetcher::new(cache, opts)?)
}

/// Opens the cache and builds a fetcher from the shared options.
pub fn fetcher(common: &Common, locked: bool, offline: bool) -> anyhow::Result<Fetcher> {
    open_fetcher(FetcherConfig {
        cache_dir: common.cache_dir.as_deref(),
        recipe: &common.target().anchor(),
        jobs: common.jobs,
        retries: common.retries,
        timeout: Some(std::time::Duration::from_secs(common.timeout.max(1))),
        quiet: common.quiet,
        plain: common.plain,
        locked,
        offline,
        mirrors: Vec::new(),
    })
}

/// Runs `nixspot fetch`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = args.common.lock_path();
    let written = args
        .common
        .eval
        .load(&args.common.target(), path.as_deref())?
        .recipe;
    let lock = load_lock(path.as_deref())?;
    let mut recipe = written.clone();
    recipe.apply_lock(&lock);
    let fetcher = fetcher(&args.common, args.locked, args.offline)?;
    let recipe = nixspot_image::pipeline::resolve_base(&recipe, &fetcher)?;
    let fetched = fetcher.fetch_recipe_blocking(&recipe)?;
    // The archive is deterministic, so a pinned archive hash must be reproduced exactly.
    for (o, a) in written.oci_images.iter().zip(&fetched.oci) {
        if let Some(l) = lock.oci.get(&o.ident) {
            if l.archive_sha256 != a.sha256 {
                anyhow::bail!(
                    "{}: archive sha256 mismatch: the lock says {}, this pull gives {}",
                    o.ident,
                    l.archive_sha256,
                    a.sha256
                );
            }
        }
    }
    if !args.common.quiet {
        println!(
            "base {} {}",
            fetched.base.sha256,
            fetched.base.path.display()
        );
        for (f, c) in recipe.files.iter().zip(&fetched.files) {
            if let Some(c) = c {
                println!("{} {} {}", f.to, c.sha256, c.path.display());
            }
        }
        for a in &fetched.oci {
            println!("{} {} {}", a.target, a.sha256, a.path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
