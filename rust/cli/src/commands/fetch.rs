//! `nixspot fetch RECIPE|HOTSPOT.nix|FLAKE#NAME [--locked]`: fill the cache with
//! everything a recipe needs.

use super::shared_args::{load_lock, EvalFlags, FetchFlags, LockFlag, PinFlags};
use nixspot_fetch::Fetcher;
use nixspot_hotspot::load::Target;
use std::path::PathBuf;
use std::process::ExitCode;

/// Options shared by `fetch` and `lock`.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// The recipe (image-creator YAML or JSON), a hotspot module (`.nix`), or a flake
    /// reference (`.#NAME`: the flake's `hotspots.NAME`).
    pub recipe: PathBuf,
    #[command(flatten)]
    pub lock: LockFlag,
    #[command(flatten)]
    pub fetch: FetchFlags,
    #[command(flatten)]
    pub eval: EvalFlags,
}

impl Common {
    /// What RECIPE names.
    pub fn target(&self) -> Target {
        Target::parse(&self.recipe)
    }

    /// The lock file (see [`nixspot_hotspot::load::lock_path`]).
    pub fn lock_path(&self) -> Option<PathBuf> {
        self.lock.path(&self.target())
    }

    /// A fetcher for RECIPE's content.
    pub fn fetcher(&self, pins: &PinFlags) -> anyhow::Result<Fetcher> {
        self.fetch.fetcher(&self.target().anchor(), pins)
    }
}

/// Fetch everything a recipe needs into the cache (base image, files, OCI images).
///
/// Pins come from the recipe and from its lock file. Content that is pinned and
/// already in the cache (for instance imported with `nixspot cache add`) needs no
/// network.
///
/// Examples:
///   nixspot fetch recipe.yaml
///   nixspot fetch hotspots/hotspot-demo.nix --locked --offline
///   nixspot fetch .#hotspot-demo
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub pins: PinFlags,
}

/// Runs `nixspot fetch`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = args.common.lock_path();
    let written = args
        .common
        .eval
        .load(&args.common.target(), path.as_deref())?
        .recipe;
    let lock = load_lock(path.as_deref())?;
    let mut recipe = written.clone();
    recipe.apply_lock(&lock);
    let fetcher = args.common.fetcher(&args.pins)?;
    let recipe = nixspot_assemble::pipeline::resolve_base(&recipe, &fetcher)?;
    let fetched = fetcher.fetch_recipe_blocking(&recipe)?;
    // The archive is deterministic, so a pinned archive hash must be reproduced exactly.
    for (o, a) in written.oci_images.iter().zip(&fetched.oci) {
        if let Some(l) = lock.oci.get(&o.ident) {
            if l.archive_sha256 != a.sha256 {
                anyhow::bail!(
                    "{}: archive sha256 mismatch: the lock says {}, this pull gives {}",
                    o.ident,
                    l.archive_sha256,
                    a.sha256
                );
            }
        }
    }
    if !args.common.fetch.quiet {
        println!(
            "base {} {}",
            fetched.base.sha256,
            fetched.base.path.display()
        );
        for (f, c) in recipe.files.iter().zip(&fetched.files) {
            if let Some(c) = c {
                println!("{} {} {}", f.to, c.sha256, c.path.display());
            }
        }
        for a in &fetched.oci {
            println!("{} {} {}", a.target, a.sha256, a.path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
