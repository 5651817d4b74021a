//! The whole job for one recipe: resolve nixspot's base, fetch, plan, write, compress.
//! `nixspot assemble` and `nixspot build` both run this.

use crate::assemble::{plan, AssembleOptions, Summary};
use crate::error::AssembleError;
use crate::output::{compress, Compression};
use crate::stamp::{self, BuildKey, KeyInputs};
use nixspot_base::on_demand;
use nixspot_fetch::Fetcher;
use nixspot_recipe::{Checksum, Recipe};
use std::path::{Path, PathBuf};

/// One build request.
pub struct Job<'a> {
    /// The recipe as written (what `write_config` stores and what seeds identifiers).
    pub recipe: &'a Recipe,
    /// Its text (YAML or JSON) as read.
    pub recipe_text: &'a str,
    /// Fetches content into the cache.
    pub fetcher: &'a Fetcher,
    /// Output and safety options.
    pub options: AssembleOptions,
    /// Stop after computing sizes (`-C`).
    pub check_only: bool,
    /// Also write a compressed copy.
    pub compress: Option<Compression>,
}

/// What a job produced.
#[derive(Debug)]
pub struct Outcome {
    /// Sizes, partitions, sha256.
    pub summary: Summary,
    /// The compressed image, if asked for.
    pub compressed: Option<PathBuf>,
    /// The output was already built from the same inputs and was kept as it was.
    pub reused: bool,
}

/// The recipe the fetcher sees: `nixspot:base` replaced by nixspot's own base image,
/// built on demand into the cache (from the `.deb`s the binary's embedded lock pins)
/// and pinned by its sha256; it is built locally, never downloaded or locked.
pub fn resolve_base(recipe: &Recipe, fetcher: &Fetcher) -> Result<Recipe, AssembleError> {
    let mut resolved = recipe.clone();
    if recipe.base.source == on_demand::SOURCE {
        let how = on_demand::OnDemand {
            device_binaries: None,
            offline: fetcher.options().offline,
        };
        let built = on_demand::ensure(fetcher.cache().root(), &how)?;
        // Absolute: the fetcher resolves relative paths against the recipe's directory.
        let path = std::path::absolute(&built.path).map_err(AssembleError::io(&built.path))?;
        resolved.base.source = path.to_string_lossy().into_owned();
        resolved.base.checksum = Some(Checksum::sha256(&built.sha256));
    }
    Ok(resolved)
}

/// Runs the job. With `--overwrite`, an output already built from the same inputs by
/// this program is returned as it is (see [`crate::stamp`] for the rule).
pub fn run(job: Job<'_>) -> Result<Outcome, AssembleError> {
    let resolved = resolve_base(job.recipe, job.fetcher)?;
    let fetched = job.fetcher.fetch_recipe_blocking(&resolved)?;
    let key = BuildKey::new(&KeyInputs {
        recipe: job.recipe,
        recipe_text: job.recipe_text,
        fetched: &fetched,
        timestamp: job.options.timestamp,
        max_size: job.options.max_size,
        compress: job.compress,
    });
    let output = job.options.output.clone();
    if !job.check_only && job.options.overwrite {
        if let Some((summary, compressed)) = key.as_ref().and_then(|k| stamp::reuse(&output, k)) {
            return Ok(Outcome {
                summary,
                compressed,
                reused: true,
            });
        }
    }
    let scratch_root =
        job.options
            .build_dir
            .clone()
            .unwrap_or_else(|| match job.options.output.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            });
    std::fs::create_dir_all(&scratch_root).map_err(AssembleError::io(&scratch_root))?;
    let scratch = ScratchDir::new(&scratch_root)?;
    let plan = plan(
        job.recipe,
        job.recipe_text,
        &fetched,
        &job.options,
        scratch.path(),
    )?;
    if job.check_only {
        return Ok(Outcome {
            summary: plan.summary().clone(),
            compressed: None,
            reused: false,
        });
    }
    // The output is about to be replaced: a stamp left from before must not outlive it.
    stamp::forget(&output)?;
    let summary = plan.write(&job.options)?;
    let compressed = match job.compress {
        Some(how) => Some(compress(&output, how, job.options.overwrite)?),
        None => None,
    };
    // Only `--overwrite` builds are stamped (only they can be reused): a plain build
    // leaves nothing but the image, e.g. in a Nix output.
    if let Some(key) = key.as_ref().filter(|_| job.options.overwrite) {
        // The image is complete and in place: a stamp that cannot be written only costs
        // the next no-op rebuild its shortcut, so it does not fail the build.
        let _ = stamp::record(&output, compressed.as_deref(), key, &summary);
    }
    Ok(Outcome {
        summary,
        compressed,
        reused: false,
    })
}

/// A scratch directory removed when dropped (archives expanded for one build).
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new(parent: &Path) -> Result<Self, AssembleError> {
        let path = parent.join(format!(".nixspot-build-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(AssembleError::io(&path))?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
