//! The lock an order freezes, computed the way `nixspot lock` computes it: catalog
//! packages resolved from the catalog and pinned from their checksum files, every other
//! download fetched into the shared content cache and pinned by sha256, OCI images by
//! digest; nixspot's own base is built by nixspot and not pinned.
//!
//! The command line's `nixspot lock` (`rust/cli/src/commands/lock.rs`) runs the same
//! steps with its flags and messages; this is the library form the Imager calls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nixspot_catalog::{Catalog, CatalogSource, Client};
use nixspot_fetch::{Cache, Fetcher, Options, ProgressMode};
use nixspot_hotspot::load::Target;
use nixspot_recipe::{Lock, LockedPackage};

/// Errors computing a lock; each names what failed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Evaluating the module failed.
    #[error(transparent)]
    Eval(#[from] nixspot_hotspot::Error),
    /// A catalog package could not be resolved or pinned.
    #[error(transparent)]
    Packages(#[from] nixspot_packages::Error),
    /// A download or the base image could not be pinned.
    #[error("{0}")]
    Fetch(String),
    /// The lock file could not be written.
    #[error("{path}: cannot write the lock: {error}")]
    Save {
        /// The lock file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

impl LockError {
    /// Whether the failure is the catalog being unreachable (try again later).
    pub fn catalog_unavailable(&self) -> bool {
        matches!(self, LockError::Packages(e) if e.catalog_error().is_some_and(|c| c.is_unavailable()))
    }
}

/// Where and how to pin.
#[derive(Debug, Clone)]
pub struct Pinning {
    /// The hotspot modules.
    pub modules: PathBuf,
    /// The catalog's root URL.
    pub catalog: String,
    /// The content cache (shared with the embedded workers).
    pub cache_root: PathBuf,
}

/// Resolves the catalog packages `module` names and writes them as the lock at
/// `lock_path` (nothing else pinned yet): enough for the module to evaluate.
pub fn lock_packages(
    pinning: &Pinning,
    module: &Path,
    lock_path: &Path,
) -> Result<BTreeMap<String, LockedPackage>, LockError> {
    let engine = nixspot_hotspot::Engine::Builtin;
    let modules = nixspot_hotspot::ModulesDir::at(&pinning.modules)?;
    let requests = nixspot_hotspot::package_requests(engine, &modules, module)?;
    if requests.packages.is_empty() {
        return Ok(BTreeMap::new());
    }
    let requests: Vec<nixspot_packages::Request> = requests
        .packages
        .iter()
        .map(|r| nixspot_packages::Request {
            zim: r.zim.clone(),
            package: r.package.clone(),
            version: r.version.clone(),
        })
        .collect();
    let source = CatalogSource {
        url: pinning.catalog.clone(),
        cache_dir: pinning.cache_root.clone(),
        offline: false,
    };
    let client = Client::new();
    let mut load = || -> Result<Catalog, nixspot_catalog::CatalogError> {
        let loaded = Catalog::load(&source, &client, &mut |_| {})?;
        if let Some(why) = &loaded.stale {
            tracing::warn!("catalog {}: {why}", source.url);
        }
        Ok(loaded.catalog)
    };
    let mut warn = |w: String| tracing::warn!("{w}");
    let packages = nixspot_packages::lock_packages(
        &requests,
        &BTreeMap::new(),
        false,
        &client,
        &mut load,
        &mut warn,
    )?;
    // The module reads its packages from the lock: write them before evaluating.
    let lock = Lock {
        packages: packages.clone(),
        ..Lock::default()
    };
    lock.save(lock_path).map_err(|error| LockError::Save {
        path: lock_path.to_path_buf(),
        error,
    })?;
    Ok(packages)
}

/// Computes the lock of `module` into `lock_path` (written there) and returns it.
pub fn lock_module(pinning: &Pinning, module: &Path, lock_path: &Path) -> Result<Lock, LockError> {
    let engine = nixspot_hotspot::Engine::Builtin;
    let packages = lock_packages(pinning, module, lock_path)?;
    let recipe = nixspot_hotspot::load::load(
        &Target::Module(module.to_path_buf()),
        engine,
        Some(&pinning.modules),
        Some(lock_path),
    )?
    .recipe;
    // Catalog ZIMs are pinned by their checksum files: nothing to download for them.
    let package_urls: Vec<&str> = packages.values().map(|p| p.url.as_str()).collect();
    let mut rest = recipe.clone();
    rest.files
        .retain(|f| !f.url.as_deref().is_some_and(|u| package_urls.contains(&u)));
    let nothing_to_fetch = rest.base.source == nixspot_base::on_demand::SOURCE
        && rest.files.iter().all(|f| f.url.is_none())
        && rest.oci_images.is_empty();
    if nothing_to_fetch {
        // Only catalog packages and nixspot's own base, which is built, not pinned:
        // the lock `nixspot lock` would write, without building the base here.
        let lock = Lock {
            packages,
            ..Lock::default()
        };
        lock.save(lock_path).map_err(|error| LockError::Save {
            path: lock_path.to_path_buf(),
            error,
        })?;
        return Ok(lock);
    }
    let fetch_error = |e: &dyn std::fmt::Display| LockError::Fetch(e.to_string());
    let cache = Cache::open(&pinning.cache_root).map_err(|e| fetch_error(&e))?;
    let fetcher = Fetcher::new(
        cache,
        Options {
            base_dir: module.parent().unwrap_or(Path::new("/")).to_path_buf(),
            progress: ProgressMode::Quiet,
            ..Options::default()
        },
    )
    .map_err(|e| fetch_error(&e))?;
    // The Imager's policy allows only remote content; refuse anything else again here,
    // before anything is read.
    nixspot_assemble::pipeline::refuse_local_files(&rest).map_err(|e| fetch_error(&e))?;
    let resolved =
        nixspot_assemble::pipeline::resolve_base(&rest, &fetcher).map_err(|e| fetch_error(&e))?;
    let fetched = fetcher
        .fetch_recipe_blocking(&resolved)
        .map_err(|e| fetch_error(&e))?;
    let mut lock = nixspot_fetch::lock_from(&rest, &fetched);
    lock.packages = packages;
    // nixspot's own base image is generated by nixspot itself: nothing to pin.
    lock.files.remove(nixspot_base::on_demand::SOURCE);
    lock.save(lock_path).map_err(|error| LockError::Save {
        path: lock_path.to_path_buf(),
        error,
    })?;
    Ok(lock)
}
