//! What `nixspot lock` writes for each catalog package a hotspot names
//! (`hotspot.zims.<name>.package`): the catalog entry the ident resolves to, pinned by
//! the MirrorBrain checksum files beside its download (never the ZIM itself), with its
//! 48 px icon inlined so evaluation needs nothing but the lock.

use base64::Engine as _;
use nixspot_catalog::{checksum, Catalog, CatalogError, Client, Entry, PackageIdent};
use nixspot_recipe::{is_language_code, LockedPackage};
use std::collections::BTreeMap;
use std::io::Read as _;

/// Icons larger than this are not inlined (the catalog's are 48×48 PNGs of a few KiB).
const MAX_ICON_BYTES: u64 = 64 * 1024;

/// The first bytes of every PNG file.
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// A package a module asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `hotspot.zims.<zim>`, for messages.
    pub zim: String,
    /// The ident as the module writes it (the lock's key).
    pub package: String,
    /// The version asked for, if any.
    pub version: Option<String>,
}

/// Resolving a package failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog or a checksum file said no (or could not be read).
    #[error("hotspot.zims.{zim}.package = {package:?}: {source}")]
    Catalog {
        /// The ZIM.
        zim: String,
        /// Its package ident.
        package: String,
        /// What went wrong (boxed: catalog errors are large).
        source: Box<CatalogError>,
    },
}

impl Error {
    /// The catalog error underneath.
    pub fn catalog_error(&self) -> &CatalogError {
        match self {
            Error::Catalog { source, .. } => source,
        }
    }
}

/// Whether `old` still answers `request` without asking the catalog: same version asked.
pub fn still_locked(old: &LockedPackage, request: &Request) -> bool {
    old.version == request.version
}

/// Resolves `request` in `catalog` and pins it. Icon problems are not errors (an icon
/// is decoration): they come back as warnings and the icon stays empty.
pub fn resolve(
    catalog: &Catalog,
    client: &Client,
    request: &Request,
) -> Result<(LockedPackage, Vec<String>), Error> {
    let wrap = |source| Error::Catalog {
        zim: request.zim.clone(),
        package: request.package.clone(),
        source: Box::new(source),
    };
    let ident = PackageIdent::parse(&request.package).map_err(wrap)?;
    let entry = catalog
        .resolve(&ident, request.version.as_deref())
        .map_err(wrap)?;
    let pin = checksum::pin(&entry.download_url, client).map_err(wrap)?;
    let mut warnings = Vec::new();
    let icon = match &entry.icon_url {
        Some(url) => icon(url).unwrap_or_else(|why| {
            warnings.push(format!(
                "hotspot.zims.{}: icon {url}: {why}; the dashboard card has none",
                request.zim
            ));
            String::new()
        }),
        None => String::new(),
    };
    Ok((
        locked(catalog.url(), entry, pin, icon, request.version.clone()),
        warnings,
    ))
}

fn locked(
    catalog: &str,
    entry: &Entry,
    pin: checksum::Pin,
    icon: String,
    version: Option<String>,
) -> LockedPackage {
    // The catalog lists multi-language books as "fra,eng" on old servers; the module
    // takes ISO 639-3 codes only.
    let mut languages: Vec<String> = Vec::new();
    for code in entry.languages.iter().flat_map(|l| l.split(',')) {
        let code = code.trim().to_string();
        if is_language_code(&code) && !languages.contains(&code) {
            languages.push(code);
        }
    }
    LockedPackage {
        catalog: catalog.trim_end_matches('/').to_string(),
        date: entry.date.clone(),
        description: entry.summary.clone(),
        flavour: entry.flavour.clone(),
        icon,
        id: entry.id.clone(),
        languages,
        name: entry.name.clone(),
        publisher: entry.publisher.clone(),
        sha256: pin.sha256,
        size: pin.size,
        tags: entry.tags.clone(),
        title: entry.title.clone(),
        url: entry.download_url.clone(),
        version,
    }
}

/// The icon at `url` as base64, if it is a PNG of at most [`MAX_ICON_BYTES`].
fn icon(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(MAX_ICON_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_ICON_BYTES {
        return Err(format!("larger than {MAX_ICON_BYTES} bytes"));
    }
    if !bytes.starts_with(PNG_MAGIC) {
        return Err("not a PNG".into());
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The packages of a new lock: `old` entries that still answer their request (all
/// re-resolved with `update`), the others from `catalog` (loaded only when needed, by
/// `load`). Entries no request names are dropped.
pub fn lock_packages(
    requests: &[Request],
    old: &BTreeMap<String, LockedPackage>,
    update: bool,
    client: &Client,
    load: &mut dyn FnMut() -> Result<Catalog, CatalogError>,
    warn: &mut dyn FnMut(String),
) -> Result<BTreeMap<String, LockedPackage>, Error> {
    let mut out = BTreeMap::new();
    let mut catalog: Option<Catalog> = None;
    for request in requests {
        if let Some(prev) = old.get(&request.package) {
            if !update && still_locked(prev, request) {
                out.insert(request.package.clone(), prev.clone());
                continue;
            }
        }
        if out.contains_key(&request.package) {
            continue;
        }
        if catalog.is_none() {
            catalog = Some(load().map_err(|source| Error::Catalog {
                zim: request.zim.clone(),
                package: request.package.clone(),
                source: Box::new(source),
            })?);
        }
        let Some(catalog) = catalog.as_ref() else {
            continue;
        };
        let (package, warnings) = resolve(catalog, client, request)?;
        warnings.into_iter().for_each(&mut *warn);
        out.insert(request.package.clone(), package);
    }
    Ok(out)
}
