//! Flags shared by several subcommands, each defined once: which modules and evaluator
//! load a hotspot (`manifest`, `fetch`, `lock`, `build`, `size`, `options`), the lock
//! file, and how content is fetched (`fetch`, `lock`, `assemble`, `build`). Not a
//! subcommand.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use nixspot_fetch::{Cache, Fetcher, Mirror, Options, ProgressMode};
use nixspot_hotspot::load::{Loaded, Target};
use nixspot_hotspot::{Engine, ModulesDir};
use nixspot_recipe::Lock;

/// `-o FILE` of the commands that print text (`manifest`, `options`).
#[derive(clap::Args, Debug)]
pub struct OutputFlag {
    /// Write to FILE instead of standard output (written only on success).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputFlag {
    /// Writes `text` to FILE (via a temporary sibling, so no partial file is left) or
    /// to standard output.
    pub fn emit(&self, text: &str) -> anyhow::Result<()> {
        use std::io::Write as _;
        match &self.output {
            Some(path) => {
                let tmp = path.with_extension("nixspot-tmp");
                std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
                std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
            }
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .context("writing to standard output")
            }
        }
    }
}

/// `--lock FILE`.
#[derive(clap::Args, Debug)]
pub struct LockFlag {
    /// The lock file: its pins, and the catalog packages a module reads unless it sets
    /// `hotspot.lockFile` [default: the module or recipe with its extension replaced by
    /// `.lock.json`; none for a flake reference, whose hotspots pin through
    /// `hotspot.lockFile`].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

impl LockFlag {
    /// The lock file of `target` (see [`nixspot_hotspot::load::lock_path`]).
    pub fn path(&self, target: &Target) -> Option<PathBuf> {
        nixspot_hotspot::load::lock_path(target, self.lock.as_deref())
    }
}

/// `--locked` and `--offline`.
#[derive(clap::Args, Debug)]
pub struct PinFlags {
    /// Refuse anything not pinned by a sha256 (files) or a digest (images).
    #[arg(long)]
    pub locked: bool,
    /// Never use the network: everything must already be in the cache.
    #[arg(long)]
    pub offline: bool,
}

/// Where content comes from and how it is downloaded.
#[derive(clap::Args, Debug)]
pub struct FetchFlags {
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
    /// Fetch from a mirror: a URL (base image, files, checksum URLs) or an OCI image
    /// reference starting with PREFIX is fetched from REPLACEMENT followed by the rest.
    /// Repeatable; the longest matching PREFIX wins. Only where the bytes come from
    /// changes: checksums stay as in the recipe, and cache entries, image paths and tags
    /// keep the recipe's names. A base given as an offspot version is mapped through its
    /// URL (https://drive.offspot.it/base/offspot-base-arm64-VERSION.img and `.md5`).
    /// Example: --mirror https://drive.offspot.it/=http://127.0.0.1:8080/
    ///          --mirror ghcr.io=127.0.0.1:5000
    #[arg(long = "mirror", value_name = "PREFIX=REPLACEMENT", value_parser = parse_mirror, verbatim_doc_comment)]
    pub mirrors: Vec<Mirror>,
}

impl FetchFlags {
    /// The cache directory these flags select.
    pub fn cache_root(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(Cache::default_root)
    }

    /// Opens the cache and builds a fetcher; relative local paths in the recipe resolve
    /// against the directory of `anchor` (the recipe, module or `flake.nix`).
    pub fn fetcher(&self, anchor: &Path, pins: &PinFlags) -> anyhow::Result<Fetcher> {
        let root = self.cache_root();
        let cache =
            Cache::open(&root).with_context(|| format!("opening cache {}", root.display()))?;
        let base_dir = anchor
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let opts = Options {
            concurrency: self.jobs.max(1),
            retries: self.retries,
            read_timeout: std::time::Duration::from_secs(self.timeout.max(1)),
            locked: pins.locked,
            offline: pins.offline,
            base_dir,
            mirrors: self.mirrors.clone(),
            progress: if self.quiet {
                ProgressMode::Quiet
            } else if self.plain {
                ProgressMode::Plain
            } else {
                ProgressMode::Auto
            },
            ..Options::default()
        };
        Ok(Fetcher::new(cache, opts)?)
    }
}

fn parse_mirror(text: &str) -> Result<Mirror, String> {
    text.parse()
        .map_err(|e: nixspot_fetch::mirror::MirrorError| e.to_string())
}

/// The lock at `path`, empty when there is no file or no lock path at all.
pub fn load_lock(path: Option<&Path>) -> anyhow::Result<Lock> {
    Ok(match path {
        Some(path) => Lock::load_or_default(path)?,
        None => Lock::default(),
    })
}

/// Which evaluator runs the modules.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum EngineArg {
    /// nixspot's own Nix evaluator (no Nix installation needed).
    Builtin,
    /// A real `nix-instantiate` from PATH.
    Nix,
}

impl From<EngineArg> for Engine {
    fn from(value: EngineArg) -> Self {
        match value {
            EngineArg::Builtin => Engine::Builtin,
            EngineArg::Nix => Engine::Nix,
        }
    }
}

/// How hotspot modules are evaluated.
#[derive(clap::Args, Debug)]
pub struct EvalFlags {
    /// Use the modules in DIR instead of the ones built into nixspot (also `$NIXSPOT_MODULES`).
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// The evaluator.
    #[arg(long, value_enum, default_value = "builtin")]
    pub evaluator: EngineArg,
}

impl EvalFlags {
    /// The modules directory these flags select.
    pub fn modules_dir(&self) -> anyhow::Result<ModulesDir> {
        Ok(ModulesDir::locate(self.modules.as_deref())?)
    }

    /// Loads `target` (see [`nixspot_hotspot::load::load`]).
    pub fn load(&self, target: &Target, lock: Option<&Path>) -> anyhow::Result<Loaded> {
        Ok(nixspot_hotspot::load::load(
            target,
            self.evaluator.into(),
            self.modules.as_deref(),
            lock,
        )?)
    }
}
