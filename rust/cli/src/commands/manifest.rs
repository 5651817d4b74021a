//! `nixspot manifest HOTSPOT.nix|FLAKE#NAME`: the image-creator recipe of a hotspot.

use std::path::PathBuf;
use std::process::ExitCode;

use super::shared_args::{EvalFlags, LockFlag, OutputFlag};
use nixspot_hotspot::load::Target;

/// Print the image-creator recipe of a hotspot module.
///
/// Evaluates `(import <modules>).evalHotspot { modules = [ HOTSPOT ]; }` and prints
/// `config.build.recipe`. Invalid hotspots fail with every failed check, naming the
/// option and the file that set it.
///
/// Examples:
///   nixspot manifest hotspots/hotspot-wikipedia.nix
///   nixspot manifest hotspots/hotspot-demo.nix --json -o demo.json
///   nixspot manifest .#hotspot-demo              # hotspots.hotspot-demo of ./flake.nix
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The hotspot module (a `.nix` file setting `hotspot.*` options), a flake
    /// reference (`.#NAME`: the flake's `hotspots.NAME`), or a recipe (`.json`, `.yaml`).
    #[arg(value_name = "HOTSPOT")]
    pub hotspot: PathBuf,
    /// Print JSON.
    #[arg(long, conflicts_with = "yaml")]
    pub json: bool,
    /// Print YAML, image-creator's format (the default).
    #[arg(long)]
    pub yaml: bool,
    #[command(flatten)]
    pub output: OutputFlag,
    #[command(flatten)]
    pub eval: EvalFlags,
    #[command(flatten)]
    pub lock: LockFlag,
}

/// Runs `nixspot manifest`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.hotspot);
    let lock = args.lock.path(&target);
    let loaded = args.eval.load(&target, lock.as_deref())?;
    let text = if args.json {
        nixspot_hotspot::recipe_json(&loaded.value)
    } else {
        nixspot_hotspot::recipe_yaml(&loaded.value)?
    };
    args.output.emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
