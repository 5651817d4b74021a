//! `nixspot build [HOTSPOT.nix|FLAKE#NAME]`: evaluate a hotspot, fetch its content and
//! assemble its image in one command.

use super::assemble::{build_recipe, BuildFlags};
use super::shared_args::{load_lock, EvalFlags};
use anyhow::Context as _;
use nixspot_hotspot::load::Target;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The demo hotspot, embedded so `nixspot build` works anywhere without arguments.
const DEMO: &str = include_str!("../../../../hotspots/hotspot-demo.nix");

/// Build a hotspot image from a Nix module: evaluate it with nixspot's own Nix
/// evaluator (no Nix installation needed), fetch and verify its content, assemble the
/// image. Without HOTSPOT, builds the embedded demo hotspot. HOTSPOT may also be a recipe
/// already evaluated (`.json`, `.yaml`), as `nixspot manifest` prints it: the image is
/// then byte-identical to building the module itself, and `write_config` stores the
/// recipe in nixspot's canonical YAML either way.
///
/// The lock file beside the module (`HOTSPOT.lock.json`, see `nixspot lock`) pins
/// content; `--locked` refuses anything unpinned. Content already on disk can be
/// imported first with `nixspot cache add FILE…` so the build needs no network.
///
/// Examples:
///   nixspot build                                  # the demo hotspot → hotspot-demo.img
///   nixspot build hotspots/hotspot-wikipedia.nix -o wikipedia.img
///   nixspot build .#hotspot-demo                   # hotspots.hotspot-demo of ./flake.nix
///   nixspot build hotspots/hotspot-demo.nix --locked --offline -X
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The hotspot module (`.nix`), a flake reference (`.#NAME`: the flake's
    /// `hotspots.NAME`), or a recipe (`.json`, `.yaml`) [default: the embedded demo].
    #[arg(value_name = "HOTSPOT")]
    pub hotspot: Option<PathBuf>,
    /// The image to write [default: `<name>.img` in the current directory].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub eval: EvalFlags,
    #[command(flatten)]
    pub build: BuildFlags,
}

/// Writes the embedded demo module into the cache and returns its path.
fn demo_module() -> anyhow::Result<PathBuf> {
    write_demo(&nixspot_fetch::Cache::default_root().join("hotspots"))
}

/// Writes the embedded demo module into `dir` unless it is there already. Only a regular
/// file is reused; anything else there (a link planted in a shared directory) is
/// replaced by a new file renamed into place, never written through.
fn write_demo(dir: &Path) -> anyhow::Result<PathBuf> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("hotspot-demo.nix");
    let current = std::fs::symlink_metadata(&path)
        .ok()
        .filter(|m| m.file_type().is_file())
        .and_then(|_| std::fs::read_to_string(&path).ok());
    if current.as_deref() != Some(DEMO) {
        let mut temp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a file in {}", dir.display()))?;
        temp.write_all(DEMO.as_bytes())
            .with_context(|| format!("writing {}", temp.path().display()))?;
        temp.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(path)
}

/// Runs `nixspot build`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let hotspot = match &args.hotspot {
        Some(path) => path.clone(),
        None => demo_module()?,
    };
    let target = Target::parse(&hotspot);
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.img", target.name())));
    let lock = args.build.fetch.lock.path(&target);
    let mut recipe = args.eval.load(&target, lock.as_deref())?.recipe;
    let yaml = recipe.to_yaml();
    recipe.apply_lock(&load_lock(lock.as_deref())?);
    build_recipe(&recipe, &yaml, &hotspot, &output, &args.build)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_module_is_never_written_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let hotspots = dir.path().join("hotspots");
        std::fs::create_dir(&hotspots).unwrap();
        std::os::unix::fs::symlink(&victim, hotspots.join("hotspot-demo.nix")).unwrap();
        let path = write_demo(&hotspots).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), DEMO);
    }
}
