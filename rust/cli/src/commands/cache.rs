//! `nixspot cache show|gc|verify|clear|add`: inspect and maintain the download cache.

use anyhow::Context as _;
use nixspot_fetch::Cache;
use std::path::PathBuf;
use std::process::ExitCode;

/// Inspect and maintain the content-addressed download cache.
///
/// The cache lives in `--cache-dir`, else `$XDG_CACHE_HOME/nixspot`, else
/// `~/.cache/nixspot`. Its optional `policy.yaml` follows image-creator's keys
/// (enabled, max_size, max_age, eviction, files/oci_images with filters).
///
/// Examples:
///   nixspot cache add /media/usb/wikipedia_en_all_maxi.zim
///   nixspot cache show
///   nixspot cache gc
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The cache directory.
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the cache.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// List entries (sha256, size, kind, source) and the total.
    Show,
    /// Apply the policy: drop transient and expired entries, evict over the size limit.
    Gc,
    /// Re-hash every entry; remove corrupt ones.
    Verify,
    /// Remove all content (keeps policy.yaml).
    Clear,
    /// Import files you already have; pinned recipes then find them by sha256.
    Add {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Runs `nixspot cache`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let root = args.cache_dir.unwrap_or_else(Cache::default_root);
    let open = |exclusive: bool| {
        if exclusive {
            Cache::open_exclusive(&root)
        } else {
            Cache::open(&root)
        }
        .with_context(|| format!("opening cache {}", root.display()))
    };
    match args.action {
        Action::Show => {
            let cache = open(false)?;
            let index = cache.read_index()?;
            let mut total = 0;
            for (sha, e) in &index.content {
                total += e.size;
                let kind = format!("{:?}", e.kind).to_lowercase();
                let flag = if e.transient { " (transient)" } else { "" };
                println!("{sha} {:>14} {kind:<5} {}{flag}", e.size, e.source);
            }
            for (ident, o) in &index.oci {
                println!("image {ident} -> {} ({})", o.archive_sha256, o.digest);
            }
            println!(
                "{} entries, {total} bytes in {}",
                index.content.len(),
                root.display()
            );
        }
        Action::Gc => {
            let report = open(true)?.gc()?;
            for (sha, source, why) in &report.removed {
                println!("removed {sha} {source}: {why}");
            }
            println!(
                "{} removed, {} bytes freed",
                report.removed.len(),
                report.freed
            );
        }
        Action::Verify => {
            let report = open(true)?.verify()?;
            for (sha, why) in &report.removed {
                println!("removed {sha}: {why}");
            }
            println!("{} ok, {} removed", report.ok, report.removed.len());
            if !report.removed.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
        }
        Action::Clear => {
            open(true)?.clear()?;
            println!("cleared {}", root.display());
        }
        Action::Add { files } => {
            let cache = open(false)?;
            for f in &files {
                let imp = cache.import(f)?;
                let note = if imp.already { " (already cached)" } else { "" };
                println!("{} {} {}{note}", imp.sha256, imp.size, f.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
