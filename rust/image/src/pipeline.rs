//! The whole job for one recipe: resolve nixspot's base, fetch, plan, write, compress.
//! `nixspot assemble` and `nixspot build` both run this.

use crate::assemble::{plan, AssembleOptions, Summary};
use crate::error::AssembleError;
use crate::output::{compress, Compression};
use crate::stand_in_base;
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
}

/// The recipe the fetcher sees: `nixspot:base` replaced by the generated base image in
/// the cache, pinned by its sha256 (it is built locally, never downloaded or locked).
pub fn resolve_base(recipe: &Recipe, cache_root: &Path) -> Result<Recipe, AssembleError> {
    let mut resolved = recipe.clone();
    if recipe.base.source == stand_in_base::SOURCE {
        let path = stand_in_base::ensure_in(&cache_root.join("base"))?;
        // Absolute: the fetcher resolves relative paths against the recipe's directory.
        let path = std::path::absolute(&path).map_err(AssembleError::io(&path))?;
        let sha256 = crate::output::sha256_file(&path)?;
        resolved.base.source = path.to_string_lossy().into_owned();
        resolved.base.checksum = Some(Checksum::sha256(&sha256));
    }
    Ok(resolved)
}

/// Runs the job.
pub fn run(job: Job<'_>) -> Result<Outcome, AssembleError> {
    let resolved = resolve_base(job.recipe, job.fetcher.cache().root())?;
    let fetched = job.fetcher.fetch_recipe_blocking(&resolved)?;
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
        });
    }
    let summary = plan.write(&job.options)?;
    let compressed = match job.compress {
        Some(how) => Some(compress(&job.options.output, how, job.options.overwrite)?),
        None => None,
    };
    Ok(Outcome {
        summary,
        compressed,
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
