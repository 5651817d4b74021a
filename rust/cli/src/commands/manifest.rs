//! `nixspot manifest IMAGE.nix|FLAKE#NAME`: the image-creator recipe of a hotspot.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::hotspot_args::EvalFlags;
use anyhow::Context as _;
use nixspot_hotspot::load::{lock_path, Target};

/// Print the image-creator recipe of a hotspot module.
///
/// Evaluates `(import <modules>).evalHotspot { modules = [ IMAGE ]; }` and prints
/// `config.build.recipe`. Invalid hotspots fail with every failed check, naming the
/// option and the file that set it.
///
/// Examples:
///   nixspot manifest images/hotspot-wikipedia.nix
///   nixspot manifest images/hotspot-demo.nix --json -o demo.json
///   nixspot manifest .#hotspot-demo              # hotspots.hotspot-demo of ./flake.nix
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The hotspot module (a `.nix` file setting `hotspot.*` options), a flake
    /// reference (`.#NAME`: the flake's `hotspots.NAME`), or a recipe (`.json`, `.yaml`).
    pub image: PathBuf,
    /// Print JSON.
    #[arg(long, conflicts_with = "yaml")]
    pub json: bool,
    /// Print YAML, image-creator's format (the default).
    #[arg(long)]
    pub yaml: bool,
    /// Write to FILE instead of standard output (written only on success).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub eval: EvalFlags,
    /// The lock file catalog packages resolve from, unless the module sets
    /// `hotspot.lockFile` [default: IMAGE with `.lock.json`, when it exists].
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

/// Writes `text` to `output` (via a temporary sibling, so no partial file is left) or
/// to standard output.
pub fn emit(text: &str, output: Option<&PathBuf>) -> anyhow::Result<()> {
    match output {
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

/// Runs `nixspot manifest`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.image);
    let lock = lock_path(&target, args.lock.as_deref());
    let loaded = args.eval.load(&target, lock.as_deref())?;
    let text = if args.json {
        nixspot_hotspot::recipe_json(&loaded.value)
    } else {
        nixspot_hotspot::recipe_yaml(&loaded.value)?
    };
    emit(&text, args.output.as_ref())?;
    Ok(ExitCode::SUCCESS)
}
