//! Flags shared by every command that loads a hotspot (`manifest`, `fetch`, `lock`,
//! `build`, `size`, `options`): which modules and which evaluator. Not a subcommand.

use std::path::{Path, PathBuf};

use nixspot_hotspot::load::{Loaded, Target};
use nixspot_hotspot::{Engine, ModulesDir};
use nixspot_recipe::Lock;

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
