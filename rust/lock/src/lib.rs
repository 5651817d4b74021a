//! Pins a hotspot into its lock file: catalog packages (`hotspot.zims.<name>.package`)
//! resolved from the Kiwix catalog and pinned from the checksum files beside their
//! download, every other URL fetched once into the content cache and pinned by sha256
//! and size, each OCI image by its linux/arm64 digest and archive sha256. nixspot's own
//! base image is built by nixspot, never pinned.
//!
//! `nixspot lock` and the Imager (which freezes a lock into each order) both call
//! [`lock`], so an order's lock is the one `nixspot lock` writes for its module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nixspot_catalog::{Catalog, CatalogSource, Client, Event};
use nixspot_fetch::Fetcher;
use nixspot_hotspot::load::Target;
use nixspot_hotspot::Engine;
use nixspot_recipe::{Lock, LockedPackage, Recipe};

/// Errors pinning a hotspot; each names the file, option or URL involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Evaluating the hotspot failed.
    #[error(transparent)]
    Hotspot(#[from] nixspot_hotspot::Error),
    /// A catalog package could not be resolved or pinned.
    #[error(transparent)]
    Packages(#[from] nixspot_packages::Error),
    /// The existing lock file is not valid.
    #[error(transparent)]
    Lock(#[from] nixspot_recipe::LockError),
    /// The lock file could not be written.
    #[error("{path}: cannot write lock file: {error}")]
    Save {
        /// The lock file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// nixspot's base image could not be built (to pin what it needs).
    #[error(transparent)]
    Assemble(#[from] nixspot_assemble::AssembleError),
    /// A download or OCI image could not be pinned.
    #[error(transparent)]
    Fetch(#[from] nixspot_fetch::FetchError),
}

impl Error {
    /// Whether the catalog could be neither reached nor read from its cached copy
    /// (`nixspot lock` exits with code 4; the Imager answers 503).
    pub fn catalog_unavailable(&self) -> bool {
        matches!(self, Error::Packages(e) if e.catalog_error().is_some_and(|c| c.is_unavailable()))
    }
}

/// How to pin.
pub struct Options<'a> {
    /// The evaluator.
    pub engine: Engine,
    /// The hotspot modules (`None`: `$NIXSPOT_MODULES`, else the embedded ones).
    pub modules: Option<&'a Path>,
    /// Re-resolve everything instead of keeping the current lock's pins.
    pub update: bool,
    /// The catalog to resolve packages from.
    pub catalog: CatalogSource,
    /// Called with each catalog URL requested.
    pub on_request: &'a mut dyn FnMut(&str),
    /// Called with each warning (a stale catalog copy, a package's odd metadata).
    pub warn: &'a mut dyn FnMut(String),
    /// Refuse local paths and `file://` URLs before anything is read (a hotspot from
    /// someone else, as the Imager's are).
    pub refuse_local_files: bool,
}

/// What [`lock`] did.
#[derive(Debug, Clone)]
pub struct Locked {
    /// The new lock.
    pub lock: Lock,
    /// The file it is in (a module's own `hotspot.lockFile` when it sets one).
    pub path: PathBuf,
    /// Whether the file changed.
    pub changed: bool,
}

fn save(lock: &Lock, path: &Path) -> Result<(), Error> {
    lock.save(path).map_err(|error| Error::Save {
        path: path.to_path_buf(),
        error,
    })
}

/// Resolves the catalog packages of `module` (keeping `old`'s still-valid pins unless
/// updating) and writes them into the lock at `path`, leaving its other pins as they
/// are: the module can then be evaluated. Returns the packages and the lock path (the
/// module's own `hotspot.lockFile` unless `explicit`).
pub fn pin_packages(
    module: &Path,
    path: &Path,
    explicit: bool,
    options: &mut Options<'_>,
) -> Result<(BTreeMap<String, LockedPackage>, PathBuf), Error> {
    let modules = nixspot_hotspot::ModulesDir::locate(options.modules)?;
    let requests = nixspot_hotspot::package_requests(options.engine, &modules, module)?;
    // The module's own hotspot.lockFile is where its pins must go.
    let path = match (&requests.lock_file, explicit) {
        (Some(own), false) => own.clone(),
        _ => path.to_path_buf(),
    };
    if requests.packages.is_empty() {
        return Ok((BTreeMap::new(), path));
    }
    let old = Lock::load_or_default(&path)?;
    let requests: Vec<nixspot_packages::Request> = requests
        .packages
        .iter()
        .map(|r| nixspot_packages::Request {
            zim: r.zim.clone(),
            package: r.package.clone(),
            version: r.version.clone(),
        })
        .collect();
    let client = Client::new();
    let source = options.catalog.clone();
    let on_request = &mut *options.on_request;
    let mut stale: Vec<String> = Vec::new();
    let mut load = || -> Result<Catalog, nixspot_catalog::CatalogError> {
        let loaded = Catalog::load(&source, &client, &mut |event| {
            if let Event::Request { url } = event {
                on_request(url);
            }
        })?;
        if let Some(why) = &loaded.stale {
            stale.push(format!(
                "catalog {}: {why} ({})",
                source.url,
                source.cache_file().display()
            ));
        }
        Ok(loaded.catalog)
    };
    let mut warnings: Vec<String> = Vec::new();
    let mut warn = |w: String| warnings.push(w);
    let result = nixspot_packages::lock_packages(
        &requests,
        &old.packages,
        options.update,
        &client,
        &mut load,
        &mut warn,
    );
    for w in stale.into_iter().chain(warnings) {
        (options.warn)(w);
    }
    let packages = result?;
    // The module reads its packages from the lock: write them before evaluating.
    let mut lock = old;
    lock.packages.clone_from(&packages);
    save(&lock, &path)?;
    Ok((packages, path))
}

/// Whether pinning `rest` (the recipe without its catalog packages) needs no download:
/// nixspot's own base (built, not pinned), no URL, no OCI image.
fn nothing_to_fetch(rest: &Recipe) -> bool {
    rest.base.source == nixspot_base::on_demand::SOURCE
        && rest.files.iter().all(|f| f.url.is_none())
        && rest.oci_images.is_empty()
}

/// Pins `target` into the lock at `path` (for a module that sets `hotspot.lockFile`,
/// into that file unless `explicit`): catalog packages from the catalog, everything
/// else through `fetcher` (its cache keeps what it downloads). Existing pins are kept
/// unless updating; the file is rewritten only if it changed.
pub fn lock(
    target: &Target,
    path: &Path,
    explicit: bool,
    fetcher: &mut Fetcher,
    options: &mut Options<'_>,
) -> Result<Locked, Error> {
    let (packages, path) = match target {
        Target::Module(module) => pin_packages(module, path, explicit, options)?,
        _ => (BTreeMap::new(), path.to_path_buf()),
    };
    let old = Lock::load_or_default(&path)?;
    let recipe =
        nixspot_hotspot::load::load(target, options.engine, options.modules, Some(&path))?.recipe;
    // Catalog ZIMs are pinned by their checksum files: nothing to download for them.
    let package_urls: Vec<&str> = packages.values().map(|p| p.url.as_str()).collect();
    let mut rest = recipe.clone();
    rest.files
        .retain(|f| !f.url.as_deref().is_some_and(|u| package_urls.contains(&u)));
    if options.refuse_local_files {
        nixspot_assemble::pipeline::refuse_local_files(&rest)?;
    }
    let mut lock = if nothing_to_fetch(&rest) {
        // Only catalog packages on nixspot's own base: the same lock, without building
        // the base here.
        Lock::default()
    } else {
        let mut pinned = rest.clone();
        if !options.update {
            pinned.apply_lock(&old);
        }
        fetcher.set_refresh(options.update);
        let pinned = nixspot_assemble::pipeline::resolve_base(&pinned, fetcher)?;
        let fetched = fetcher.fetch_recipe_blocking(&pinned)?;
        nixspot_fetch::lock_from(&rest, &fetched)
    };
    lock.packages = packages;
    // nixspot's own base image is generated by nixspot itself: nothing to pin.
    lock.files.remove(nixspot_base::on_demand::SOURCE);
    let changed = lock != old;
    if changed {
        save(&lock, &path)?;
    }
    Ok(Locked {
        lock,
        path,
        changed,
    })
}
