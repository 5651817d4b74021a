//! `nixspot oci pull|import`: OCI images as single files, for Nix fixed-output
//! derivations. `pull` writes an image's deterministic docker-archive (the very bytes
//! `nixspot build` keeps in its cache) so a fixed-output derivation can pin it by the
//! lock's `archiveSha256`; `import` registers such files in a cache under their image
//! references, so a build needs no registry.

use anyhow::{bail, Context as _};
use nixspot_fetch::cache::OciEntry;
use nixspot_fetch::{Cache, Fetcher, Options, ProgressMode};
use nixspot_recipe::{LockedOci, OciRef};
use std::ffi::OsString;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// OCI images as single files (for Nix fixed-output derivations).
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    Pull(PullArgs),
    Import(ImportArgs),
}

/// Pull an image pinned by digest and write its deterministic docker-archive to FILE;
/// print its lock entry (JSON) on stdout.
///
/// The archive is byte-identical to the one `nixspot build` and `nixspot lock` keep in
/// the cache, so its sha256 is the lock's `archiveSha256`.
///
/// Examples:
///   nixspot oci pull ghcr.io/offspot/kiwix-serve:3.8.2@sha256:… -o kiwix-serve.tar
///   nixspot oci pull IMAGE@sha256:… -o "$out" --cache-dir cache --sha256 HEX
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct PullArgs {
    /// The image reference, pinned: `registry/repository[:tag]@sha256:<hex>` (the
    /// linux/arm64 manifest digest, as in the lock file).
    image: String,
    /// Where to write the archive.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The archive's expected sha256 (the lock's `archiveSha256`).
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
    /// The cache directory [default: `$XDG_CACHE_HOME/nixspot` or `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Retries per request (5xx, timeouts, resets; never 404 or a digest mismatch).
    #[arg(long, default_value_t = 5, value_name = "N")]
    retries: u32,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

/// Register docker-archives (as `nixspot oci pull` writes them) in a cache under their
/// pinned references, then run `nixspot ARGS…` if given.
///
/// A Nix derivation runs one command, so the image derivation registers its pulled
/// images and builds in one step.
///
/// Example:
///   nixspot oci import --cache-dir cache IMAGE@sha256:…=/nix/store/…-image.tar \
///     -- build recipe.json --cache-dir cache --offline --locked
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
struct ImportArgs {
    /// `REFERENCE@sha256:<hex>=FILE`: an archive and the pinned reference it is for.
    #[arg(value_name = "IMAGE=FILE", value_parser = parse_import)]
    images: Vec<(String, PathBuf)>,
    /// The cache directory [default: `$XDG_CACHE_HOME/nixspot` or `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// The nixspot command to run afterwards (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    then: Vec<OsString>,
}

fn parse_import(text: &str) -> Result<(String, PathBuf), String> {
    // Image references never contain `=`, so the first one ends the reference.
    let (image, file) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not IMAGE=FILE"))?;
    Ok((image.to_string(), PathBuf::from(file)))
}

/// The manifest digest of a pinned reference.
fn pinned_digest(image: &str) -> anyhow::Result<String> {
    let reference = OciRef::parse(image)?;
    reference.digest.ok_or_else(|| {
        anyhow::anyhow!(
            "{image}: not pinned by a digest (expected REFERENCE@sha256:<hex>); \
             run `nixspot lock` to pin it"
        )
    })
}

fn open_cache(dir: &Option<PathBuf>) -> anyhow::Result<Cache> {
    let root = dir.clone().unwrap_or_else(Cache::default_root);
    Cache::open(&root).with_context(|| format!("opening cache {}", root.display()))
}

fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    pinned_digest(&args.image)?;
    let options = Options {
        retries: args.retries,
        locked: true,
        progress: if args.quiet {
            ProgressMode::Quiet
        } else {
            ProgressMode::Auto
        },
        ..Options::default()
    };
    let fetcher = Fetcher::new(open_cache(&args.cache_dir)?, options)?;
    let archive = fetcher.fetch_oci_blocking(&args.image)?;
    if let Some(expected) = &args.sha256 {
        if !expected.eq_ignore_ascii_case(&archive.sha256) {
            bail!(
                "{}: archive sha256 mismatch: expected {expected}, the pull gives {}",
                args.image,
                archive.sha256
            );
        }
    }
    // Written in place: in a Nix build FILE is `$out`, the only writable path in the
    // store, so there is no room for a temporary beside it. A failed copy is removed.
    if let Err(error) = std::fs::copy(&archive.path, &args.output) {
        let _ = std::fs::remove_file(&args.output);
        return Err(error).with_context(|| {
            format!(
                "copying {} to {}",
                archive.path.display(),
                args.output.display()
            )
        });
    }
    let entry = LockedOci {
        archive_sha256: archive.sha256,
        digest: archive.digest,
        filesize: archive.filesize,
        fullsize: archive.fullsize,
    };
    println!("{}", serde_json::to_string(&entry)?);
    Ok(ExitCode::SUCCESS)
}

/// The size of one tar header field: octal ASCII, or GNU base-256 for large values.
fn tar_number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return field.iter().enumerate().try_fold(0u64, |n, (i, b)| {
            let b = if i == 0 { b & 0x7f } else { *b };
            n.checked_mul(256)?.checked_add(u64::from(b))
        });
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// The sum of the regular members' sizes of a docker-archive (image-creator's
/// `fullsize`), checking that it is one (a tar holding `manifest.json`).
fn docker_archive_fullsize(path: &Path) -> anyhow::Result<u64> {
    let bad = |why: &str| anyhow::anyhow!("{}: not a docker-archive tar: {why}", path.display());
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut header = [0u8; 512];
    let mut fullsize = 0u64;
    let mut has_manifest = false;
    loop {
        reader
            .read_exact(&mut header)
            .map_err(|e| bad(&format!("reading a member header: {e}")))?;
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let size = tar_number(&header[124..136]).ok_or_else(|| bad("invalid member size"))?;
        let name_end = header[..100].iter().position(|b| *b == 0).unwrap_or(100);
        if &header[..name_end] == b"manifest.json" {
            has_manifest = true;
        }
        if matches!(header[156], b'0' | 0) {
            fullsize += size;
        }
        let padded = size.div_ceil(512) * 512;
        let skipped = std::io::copy(&mut (&mut reader).take(padded), &mut std::io::sink())
            .map_err(|e| bad(&format!("reading member data: {e}")))?;
        if skipped != padded {
            return Err(bad("truncated"));
        }
    }
    if !has_manifest {
        return Err(bad("no manifest.json"));
    }
    Ok(fullsize)
}

fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let cache = open_cache(&args.cache_dir)?;
    for (image, file) in &args.images {
        let digest = pinned_digest(image)?;
        let fullsize = docker_archive_fullsize(file)?;
        let imported = cache
            .import(file)
            .with_context(|| format!("importing {} into the cache", file.display()))?;
        let entry = OciEntry {
            digest,
            archive_sha256: imported.sha256,
            filesize: imported.size,
            fullsize,
        };
        let key = image.clone();
        cache.update_index(move |index| {
            index.oci.insert(key, entry);
        })?;
    }
    if args.then.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let exe = std::env::current_exe().context("locating the nixspot executable")?;
    let status = std::process::Command::new(&exe)
        .args(&args.then)
        .status()
        .with_context(|| format!("running {}", exe.display()))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    })
}

/// Runs `nixspot oci`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Pull(args) => pull(args),
        Command::Import(args) => import(args),
    }
}
