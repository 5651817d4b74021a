//! `nixspot base lock|build`: nixspot's own base image from pinned Debian packages.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use nixspot_base::{BaseConfig, BuildOptions};
use nixspot_deb::lock::{Lock, Trust};
use nixspot_deb::signature::Keyring;

/// Build nixspot's own Raspberry Pi base image from pinned Debian bookworm arm64
/// packages.
///
/// Examples:
///   nixspot base lock --update              # base/base.nix -> base/base.lock.json
///   nixspot base lock                       # same versions; refresh URLs, snapshot URLs
///   nixspot base fetch                      # download the locked .debs into the cache
///   nixspot base build -o base.img --device-binaries target/aarch64-unknown-linux-musl/release
///
/// Hotspots that say `base.source = "nixspot:base"` get this image built on demand
/// (from the description and lock embedded in nixspot) and cached.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    pub command: BaseCommand,
}

/// The `base` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum BaseCommand {
    /// Write the lock file: resolve the package closure against the mirror (signed
    /// metadata only) when there is no lock yet or with --update; otherwise keep every
    /// pinned version and only recompute URLs and snapshot.debian.org fallbacks.
    Lock(LockArgs),
    /// Download the lock's `.deb`s into the cache (for building offline later).
    Fetch(FetchArgs),
    /// Build the image from the description and its lock.
    Build(BuildArgs),
}

/// `nixspot base fetch`.
#[derive(clap::Args, Debug)]
pub struct FetchArgs {
    /// The description (default: the one embedded in nixspot, as `nixspot:base` uses).
    pub config: Option<PathBuf>,
    /// The lock file (default: next to the description, `<name>.lock.json`).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Download cache (default: $XDG_CACHE_HOME/nixspot).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// `nixspot base lock`.
#[derive(clap::Args, Debug)]
pub struct LockArgs {
    /// The description.
    #[arg(default_value = "base/base.nix")]
    pub config: PathBuf,
    /// The lock file (default: next to the description, `<name>.lock.json`).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// Resolve again against the mirror, moving every package to its current version.
    #[arg(long)]
    pub update: bool,
    /// OpenPGP public keys (armoured or binary) the mirror's InRelease files must be
    /// signed by (default: Debian bookworm's archive keys, pinned in nixspot).
    #[arg(long)]
    pub keyring: Option<PathBuf>,
}

/// `nixspot base build`.
#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The description.
    #[arg(default_value = "base/base.nix")]
    pub config: PathBuf,
    /// The lock file (default: next to the description, `<name>.lock.json`).
    #[arg(long)]
    pub lock: Option<PathBuf>,
    /// The image to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Directory with nixspot-runtime, nixspot-portal and nixspot-dashboard (static
    /// arm64); without it the image has none of them.
    #[arg(long)]
    pub device_binaries: Option<PathBuf>,
    /// Download cache (default: $XDG_CACHE_HOME/nixspot).
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Never download: every `.deb` must already be in the cache.
    #[arg(long)]
    pub offline: bool,
}

/// Writes `path` through a temporary file beside it, so a failure leaves the old file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("{}: cannot create a temporary file", dir.display()))?;
    let mut perms = tmp
        .as_file()
        .metadata()
        .with_context(|| format!("{}: cannot stat a temporary file", dir.display()))?
        .permissions();
    // A lock file is for everyone to read, like the file it replaces.
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    tmp.as_file()
        .set_permissions(perms)
        .with_context(|| format!("{}: cannot set permissions", path.display()))?;
    std::io::Write::write_all(&mut tmp, bytes)
        .with_context(|| format!("{}: cannot write the lock file", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("{}: cannot write the lock file", path.display()))?;
    Ok(())
}

fn lock_path(config: &Path, lock: &Option<PathBuf>) -> PathBuf {
    lock.clone()
        .unwrap_or_else(|| config.with_extension("lock.json"))
}

/// SOURCE_DATE_EPOCH from the environment, if set.
fn source_date_epoch() -> anyhow::Result<Option<i64>> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => Ok(Some(v.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH: expected seconds since 1970, found {v:?}")
        })?)),
        _ => Ok(None),
    }
}

/// Runs `nixspot base`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        BaseCommand::Lock(a) => {
            let config = BaseConfig::load(&a.config)?;
            let path = lock_path(&a.config, &a.lock);
            let (lock, how) = if !a.update && path.exists() {
                let mut lock = Lock::read(&path)?;
                nixspot_base::build::check_lock(&config, &lock)
                    .with_context(|| format!("{}: cannot keep its versions", path.display()))?;
                lock.set_snapshots(&config.mirror)
                    .with_context(|| format!("{}", path.display()))?;
                (lock, "versions kept (--update moves them)")
            } else {
                let keyring = match &a.keyring {
                    Some(p) => {
                        let bytes = std::fs::read(p)
                            .with_context(|| format!("{}: cannot read the keyring", p.display()))?;
                        Keyring::from_bytes(&bytes, &p.display().to_string())?
                    }
                    None => Keyring::debian_bookworm()?,
                };
                // The clock only decides whether keys, signatures and Valid-Until
                // still hold; nothing of it goes into the lock.
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .context("the system clock is before 1970")?
                    .as_secs();
                let trust = Trust {
                    keyring: &keyring,
                    now,
                };
                (
                    nixspot_base::lock(&config, trust)?,
                    "resolved against signed metadata",
                )
            };
            write_atomically(&path, lock.to_json().as_bytes())?;
            eprintln!(
                "{}: {} packages, {} MB of .debs, snapshot {}; {how}",
                path.display(),
                lock.packages.len(),
                lock.total_size() / 1_000_000,
                if lock.snapshot.is_empty() {
                    "none"
                } else {
                    &lock.snapshot
                },
            );
        }
        BaseCommand::Fetch(a) => {
            let lock = match &a.config {
                Some(config) => Lock::read(&lock_path(config, &a.lock))?,
                None => nixspot_base::on_demand::embedded_lock()?,
            };
            let cache_dir = a
                .cache_dir
                .unwrap_or_else(nixspot_fetch::Cache::default_root);
            let (packages, bytes) = nixspot_base::fetch(&lock, &cache_dir)?;
            eprintln!(
                "{}: {packages} packages ({} MB of .debs) cached",
                cache_dir.display(),
                bytes / 1_000_000
            );
        }
        BaseCommand::Build(a) => {
            let config = BaseConfig::load(&a.config)?;
            let path = lock_path(&a.config, &a.lock);
            let lock = Lock::read(&path)?;
            let out_dir = a
                .output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let work = tempfile::Builder::new()
                .prefix(".nixspot-base-")
                .tempdir_in(out_dir)
                .with_context(|| {
                    format!("{}: cannot create a work directory", out_dir.display())
                })?;
            let opts = BuildOptions {
                cache_dir: a
                    .cache_dir
                    .unwrap_or_else(nixspot_fetch::Cache::default_root),
                device_binaries: a.device_binaries,
                work_dir: work.path().to_path_buf(),
                timestamp: source_date_epoch()?,
                offline: a.offline,
            };
            let tmp_out = out_dir.join(format!(
                ".{}.partial",
                a.output
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("image")
            ));
            let summary = match nixspot_base::build(&config, &lock, &opts, &tmp_out) {
                Ok(s) => s,
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp_out);
                    return Err(e.into());
                }
            };
            std::fs::rename(&tmp_out, &a.output).with_context(|| {
                format!("{}: cannot move the image into place", a.output.display())
            })?;
            for c in &summary.conflicts {
                eprintln!("note: file conflict {c}");
            }
            eprintln!(
                "{}: {} MB, {} packages ({} MB of .debs), kernel {}, {} root entries, SOURCE_DATE_EPOCH {}",
                a.output.display(),
                summary.image_bytes / 1_000_000,
                summary.packages,
                summary.deb_bytes / 1_000_000,
                summary.kernel_version,
                summary.root_entries,
                summary.timestamp
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
