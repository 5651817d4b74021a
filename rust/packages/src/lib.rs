//! What `nixspot lock` writes for each catalog package a hotspot names
//! (`hotspot.zims.<name>.package`): the catalog entry the ident resolves to, pinned by
//! the MirrorBrain checksum files beside its download (never the ZIM itself), with its
//! 48 px icon inlined so evaluation needs nothing but the lock.

use base64::Engine as _;
use nixspot_catalog::{checksum, Catalog, CatalogError, Client, Entry, PackageIdent};
use nixspot_recipe::{is_language_code, Lock, LockedPackage};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

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

    /// The catalog's entry cannot go into a lock file (e.g. a download that is not
    /// http(s), a malformed date): the catalog is not trusted to name local files.
    #[error("hotspot.zims.{zim}.package = {package:?}: the catalog's entry is unusable: {reason}")]
    Invalid {
        /// The ZIM.
        zim: String,
        /// Its package ident.
        package: String,
        /// What the lock file check said.
        reason: String,
    },
}

impl Error {
    /// The catalog error underneath, if any.
    pub fn catalog_error(&self) -> Option<&CatalogError> {
        match self {
            Error::Catalog { source, .. } => Some(source),
            Error::Invalid { .. } => None,
        }
    }
}

/// Checks `package` as the lock file reader will (sha256 shape, http(s) URL, language
/// codes, date), so a lock `nixspot lock` writes is always one it can read back.
fn check(request: &Request, package: &LockedPackage) -> Result<(), Error> {
    let mut lock = Lock::default();
    lock.packages
        .insert(request.package.clone(), package.clone());
    Lock::parse(&lock.to_json_string(), Path::new("<new lock>"))
        .map(drop)
        .map_err(|e| Error::Invalid {
            zim: request.zim.clone(),
            package: request.package.clone(),
            reason: e.to_string(),
        })
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
    // Checked before anything is fetched from the entry's URLs.
    if !(entry.download_url.starts_with("https://") || entry.download_url.starts_with("http://")) {
        return Err(Error::Invalid {
            zim: request.zim.clone(),
            package: request.package.clone(),
            reason: format!("download URL {:?} is not http(s)", entry.download_url),
        });
    }
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
    let package = locked(catalog.url(), entry, pin, icon, request.version.clone());
    check(request, &package)?;
    Ok((package, warnings))
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

#[cfg(test)]
mod tests {
    use super::*;
    use nixspot_catalog::Entry;

    fn entry(download_url: &str, date: &str) -> Entry {
        Entry {
            id: "6f1d7a2e-0c43-4e0b-9a55-0d5b3c1e0001".into(),
            name: "wikibooks_be_all".into(),
            flavour: "nopic".into(),
            title: "t".into(),
            summary: "s".into(),
            languages: vec!["bel".into()],
            category: String::new(),
            tags: Vec::new(),
            publisher: "Kiwix".into(),
            author: String::new(),
            date: date.into(),
            issued: None,
            article_count: 1,
            media_count: 0,
            length: 1024,
            download_url: download_url.into(),
            icon_url: None,
            html_url: None,
        }
    }

    fn request() -> Request {
        Request {
            zim: "wb".into(),
            package: "wikibooks_be_all:nopic".into(),
            version: None,
        }
    }

    #[test]
    fn a_catalog_naming_a_local_file_is_refused_before_any_request() {
        let catalog = Catalog::new(
            "http://127.0.0.1:9",
            vec![entry("file:///etc/shadow", "2017-02-01")],
        );
        // Port 9 (discard) is never asked: the URL is refused first.
        let err = resolve(&catalog, &Client::new(), &request()).unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("file:///etc/shadow"), "{err}");
    }

    #[test]
    fn entries_the_lock_reader_would_refuse_are_not_written() {
        let mut p = locked(
            "http://c/",
            &entry("https://d/x.zim", "2017-2-1"),
            checksum::Pin {
                size: 1,
                sha256: "a".repeat(64),
            },
            String::new(),
            None,
        );
        let err = check(&request(), &p).unwrap_err().to_string();
        assert!(err.contains(".date"), "{err}");
        p.date = "2017-02-01".into();
        check(&request(), &p).unwrap();
        assert_eq!(p.catalog, "http://c");
    }

    #[test]
    fn combined_and_invalid_language_codes_are_split_and_dropped() {
        let mut e = entry("https://d/x.zim", "2017-02-01");
        e.languages = vec!["fra,eng".into(), "eng".into(), "en".into()];
        let p = locked(
            "http://c",
            &e,
            checksum::Pin {
                size: 1,
                sha256: "a".repeat(64),
            },
            String::new(),
            None,
        );
        assert_eq!(p.languages, ["fra", "eng"]);
    }
}
