//! `nixspot manifest IMAGE.nix`: the image-creator recipe of a hotspot module.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use nixspot_hotspot::{Engine, ModulesDir};

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

/// Print the image-creator recipe of a hotspot module.
///
/// Evaluates `(import <modules>).evalHotspot { modules = [ IMAGE ]; }` and prints
/// `config.build.recipe`. Invalid hotspots fail with every failed check, naming the
/// option and the file that set it.
///
/// Examples:
///   nixspot manifest images/hotspot-wikipedia.nix
///   nixspot manifest images/hotspot-demo.nix --json -o demo.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The hotspot module (a `.nix` file setting `hotspot.*` options).
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
    /// Use the modules in DIR instead of the ones built into nixspot (also `$NIXSPOT_MODULES`).
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// The evaluator.
    #[arg(long, value_enum, default_value = "builtin")]
    pub evaluator: EngineArg,
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
    let modules = ModulesDir::locate(args.modules.as_deref())?;
    let lock = args
        .lock
        .clone()
        .unwrap_or_else(|| args.image.with_extension("lock.json"));
    let recipe =
        nixspot_hotspot::manifest_with_lock(args.evaluator.into(), &modules, &args.image, &lock)?;
    let text = if args.json {
        nixspot_hotspot::recipe_json(&recipe)
    } else {
        nixspot_hotspot::recipe_yaml(&recipe)?
    };
    emit(&text, args.output.as_ref())?;
    Ok(ExitCode::SUCCESS)
}
