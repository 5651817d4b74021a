//! The lock an order freezes: [`nixspot_lock`], the code `nixspot lock` runs, on the
//! Imager's module in its scratch directory, with the shared content cache and local
//! files refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nixspot_catalog::CatalogSource;
use nixspot_fetch::{Cache, Fetcher, Options, ProgressMode};
use nixspot_hotspot::load::Target;
use nixspot_recipe::{Lock, LockedPackage};

pub use nixspot_lock::Error as LockError;

/// Where and how to pin.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pinning {
    /// The hotspot modules.
    pub modules: PathBuf,
    /// The catalog's root URL.
    pub catalog: String,
    /// The content cache (shared with the embedded workers).
    pub cache_root: PathBuf,
}

fn with_options<T>(
    pinning: &Pinning,
    run: impl FnOnce(&mut nixspot_lock::Options<'_>) -> Result<T, LockError>,
) -> Result<T, LockError> {
    let mut on_request = |_: &str| {};
    let mut warn = |w: String| tracing::warn!("{w}");
    let mut options = nixspot_lock::Options {
        engine: nixspot_hotspot::Engine::Builtin,
        modules: Some(&pinning.modules),
        update: false,
        catalog: CatalogSource {
            url: pinning.catalog.clone(),
            cache_dir: pinning.cache_root.clone(),
            offline: false,
        },
        on_request: &mut on_request,
        warn: &mut warn,
        refuse_local_files: true,
    };
    run(&mut options)
}

/// Resolves the catalog packages `module` names and writes them as the lock at
/// `lock_path` (nothing else pinned yet): enough for the module to evaluate.
pub fn lock_packages(
    pinning: &Pinning,
    module: &Path,
    lock_path: &Path,
) -> Result<BTreeMap<String, LockedPackage>, LockError> {
    with_options(pinning, |options| {
        nixspot_lock::pin_packages(module, lock_path, true, options).map(|(p, _)| p)
    })
}

/// Computes the lock of `module` into `lock_path` (written there) and returns it.
pub fn lock_module(pinning: &Pinning, module: &Path, lock_path: &Path) -> Result<Lock, LockError> {
    let cache = Cache::open(&pinning.cache_root)?;
    let mut fetcher = Fetcher::new(
        cache,
        Options {
            base_dir: module.parent().unwrap_or(Path::new("/")).to_path_buf(),
            progress: ProgressMode::Quiet,
            ..Options::default()
        },
    )?;
    with_options(pinning, |options| {
        nixspot_lock::lock(
            &Target::Module(module.to_path_buf()),
            lock_path,
            // The Imager's policy refuses `hotspot.lockFile`: the scratch lock it is.
            true,
            &mut fetcher,
            options,
        )
        .map(|locked| locked.lock)
    })
}
