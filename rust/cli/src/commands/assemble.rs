//! `nixspot assemble RECIPE OUTPUT`: image-creator's command line, rootless.

use super::shared_args::{load_lock, FetchFlags, LockFlag, PinFlags};
use anyhow::Context as _;
use nixspot_assemble::pipeline::{self, Job};
use nixspot_assemble::{AssembleOptions, Compression};
use nixspot_fetch::Cache;
use nixspot_recipe::Recipe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Assemble an image from an image-creator recipe — a rootless, reproducible drop-in for
/// offspot's `image-creator`, with the same options and exit codes (2 requirements, 3
/// input/output problems, 4 unreachable content, 1 anything else).
///
/// The base image's partition table, boot and root partitions are copied as sparse
/// extents; the data partition is written anew (the base's /data content plus the
/// recipe's files, archives and OCI images); `offspot.yaml` goes into the boot
/// partition. The image is built in a temporary file beside OUTPUT and renamed at the
/// end: a failure or Ctrl-C never leaves a partial image.
///
/// Examples:
///   nixspot assemble recipe.yaml hotspot.img
///   nixspot assemble -C recipe.yaml hotspot.img        # print the sizes only
///   nixspot assemble -X --compress zstd recipe.yaml hotspot.img
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The recipe (image-creator YAML or JSON).
    pub recipe: PathBuf,
    /// The image to write.
    pub output: PathBuf,
    #[command(flatten)]
    pub build: BuildFlags,
}

/// Flags shared by `assemble` and `build`.
#[derive(clap::Args, Debug)]
pub struct BuildFlags {
    /// Scratch directory for expanded archives [default: beside OUTPUT].
    #[arg(long, value_name = "DIR")]
    pub build_dir: Option<PathBuf>,
    /// Print the cache's content and policy before building.
    #[arg(long)]
    pub show_cache: bool,
    /// Stop after computing the image size and print it.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Keep a failed image (as OUTPUT.failed.img) instead of deleting it.
    #[arg(short = 'K', long)]
    pub keep: bool,
    /// Replace OUTPUT if it exists. An OUTPUT this same nixspot built with -X from the
    /// same recipe and inputs, untouched since (the stamp `.OUTPUT.nixspot-stamp` that
    /// -X builds write beside it records them), is kept as it is: a rebuild with nothing
    /// changed writes nothing.
    #[arg(short = 'X', long)]
    pub overwrite: bool,
    /// Refuse local paths and file:// URLs in the recipe (base, files, checksum URLs), for
    /// a recipe written by someone else; by default they are read, as image-creator does.
    #[arg(long)]
    pub refuse_local_files: bool,
    /// Refuse to build an image larger than SIZE (bytes, or 8G, 512MiB, …).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Also write OUTPUT.zst / .xz / .gz.
    #[arg(long, value_name = "FORMAT", value_parser = parse_compression)]
    pub compress: Option<Compression>,
    /// Show debug details of errors.
    #[arg(short = 'D', long)]
    pub debug: bool,
    #[command(flatten)]
    pub fetch: FetchSettings,
}

/// Where content comes from.
#[derive(clap::Args, Debug)]
pub struct FetchSettings {
    #[command(flatten)]
    pub fetch: FetchFlags,
    #[command(flatten)]
    pub lock: LockFlag,
    #[command(flatten)]
    pub pins: PinFlags,
    /// Import FILE into the cache before building (content pinned by its sha256 then
    /// needs no download; the Nix flake passes its fixed-output downloads this way).
    #[arg(long = "import", value_name = "FILE")]
    pub imports: Vec<PathBuf>,
}

fn print_cache_summary(cache: &Cache) -> anyhow::Result<()> {
    let index = cache.read_index()?;
    let bytes: u64 = index.content.values().map(|c| c.size).sum();
    eprintln!(
        "cache {}: {} items, {} bytes ({} URLs, {} OCI images)",
        cache.root().display(),
        index.content.len(),
        bytes,
        index.urls.len(),
        index.oci.len()
    );
    for (sha, entry) in &index.content {
        eprintln!("  {sha}  {:>12}  {}", entry.size, entry.source);
    }
    Ok(())
}

fn parse_size(text: &str) -> Result<u64, String> {
    nixspot_recipe::parse_size(text)
        .ok_or_else(|| format!("'{text}' is not a size (e.g. 8G, 512MiB, 1000000)"))
}

fn parse_compression(text: &str) -> Result<Compression, String> {
    match text {
        "zstd" | "zst" => Ok(Compression::Zstd),
        "xz" => Ok(Compression::Xz),
        "gz" | "gzip" => Ok(Compression::Gzip),
        other => Err(format!(
            "unknown compression '{other}' (expected zstd, xz or gz)"
        )),
    }
}

/// SOURCE_DATE_EPOCH if set, else 0: never the clock, so builds are reproducible.
fn timestamp() -> anyhow::Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH={v:?} is not an integer")),
        _ => Ok(0),
    }
}

/// Removes partial outputs and exits on SIGINT/SIGTERM.
fn clean_up_on_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) {
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                nixspot_assemble::remove_partial_outputs();
                eprintln!("interrupted: partial output removed");
                std::process::exit(128 + signal);
            }
        });
    }
}

/// Builds `recipe` into `output`; shared by `assemble` and `build`.
pub fn build_recipe(
    recipe: &Recipe,
    recipe_text: &str,
    recipe_path: &Path,
    output: &Path,
    flags: &BuildFlags,
) -> anyhow::Result<ExitCode> {
    clean_up_on_signals();
    let settings = &flags.fetch;
    let fetcher = settings.fetch.fetcher(recipe_path, &settings.pins)?;
    for file in &flags.fetch.imports {
        fetcher
            .cache()
            .import(file)
            .with_context(|| format!("importing {} into the cache", file.display()))?;
    }
    if flags.show_cache {
        print_cache_summary(fetcher.cache())?;
    }
    let job = Job {
        recipe,
        recipe_text,
        fetcher: &fetcher,
        options: AssembleOptions {
            output: output.to_path_buf(),
            build_dir: flags.build_dir.clone(),
            keep: flags.keep,
            overwrite: flags.overwrite,
            max_size: flags.max_size,
            timestamp: timestamp()?,
            durable: true,
        },
        check_only: flags.check,
        compress: flags.compress,
        local_files: if flags.refuse_local_files {
            pipeline::LocalFiles::Refused
        } else {
            pipeline::LocalFiles::Allowed
        },
    };
    match pipeline::run(job) {
        Ok(outcome) => {
            let s = &outcome.summary;
            if flags.check {
                println!("{}", s.image_size);
                eprintln!(
                    "image size {} bytes ({} MiB); minimum {} bytes",
                    s.image_size,
                    s.image_size >> 20,
                    s.min_size
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!("{}  {}", s.sha256, output.display());
            if !flags.fetch.fetch.quiet {
                for p in &s.partitions {
                    eprintln!(
                        "  p{}  start {:>12}  size {:>12}  type {:#04x}",
                        p.number,
                        p.start,
                        p.size,
                        p.mbr_type.unwrap_or(0)
                    );
                }
                eprintln!(
                    "  data: {} bytes of content ({} from the recipe), {} bytes free",
                    s.data_bytes, s.recipe_bytes, s.data_free
                );
                if let Some(c) = &outcome.compressed {
                    eprintln!("  compressed: {}", c.display());
                }
                if outcome.reused {
                    eprintln!(
                        "  unchanged: already built from these inputs by this nixspot; kept as it was"
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            if flags.debug {
                eprintln!("error: {error:?}");
            } else {
                eprintln!("error: {error}");
            }
            Ok(ExitCode::from(error.exit_code()))
        }
    }
}

/// Runs `nixspot assemble`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let text = match std::fs::read_to_string(&args.recipe) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: {}: {e}", args.recipe.display());
            return Ok(ExitCode::from(3));
        }
    };
    let name = args.recipe.display().to_string();
    let parsed = if args.recipe.extension().is_some_and(|e| e == "json") {
        Recipe::from_json_str(&text, &name)
    } else {
        Recipe::from_yaml_str(&text, &name)
    };
    let mut recipe = match parsed.and_then(|r| r.validate(&name).map(|()| r)) {
        Ok(recipe) => recipe,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(3));
        }
    };
    let lock_file =
        (args.build.fetch.lock).path(&nixspot_hotspot::load::Target::Recipe(args.recipe.clone()));
    recipe.apply_lock(&load_lock(lock_file.as_deref())?);
    build_recipe(&recipe, &text, &args.recipe, &args.output, &args.build)
}
