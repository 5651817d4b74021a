//! nixspot's dashboard: offspot's `home.yaml` (spec section 5) → a small static site
//! (`index.html`, `download/`, `about/`, `blocked/`, `icons/`), plus ZIM discovery.
//!
//! The pages are accessible (landmarks, headings, skip link, focus styles, alt texts),
//! mobile-first, self-contained (inline CSS, no external resources: the hotspot is
//! offline) and work without JavaScript: the language filter is plain links whose
//! `:target` selects CSS rules. Output is deterministic: same input, same bytes.
//!
//! The words around the content (titles, buttons, sizes) come from message catalogues
//! ([`i18n`]): the site is written in every language the dashboard speaks, the
//! hotspot's language at the root and each language in its own folder (`fr/`, `es/`…),
//! with a language switcher on every page. Static copies rather than strings swapped by
//! a script: pages stay plain files Caddy serves as they are, readable without
//! JavaScript, and no work is done per request on a small device. The portal sends a
//! registered visitor to the copy in the phone's language.

#![warn(missing_docs)]

mod discover;
mod home;
pub mod i18n;
mod lang;
mod render;

use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use discover::{
    apply as apply_discovery, discover, human_id, scan, DiscoverReport, LinkTemplates, ZimFile,
};
pub use home::{expand_url, Download, Home, HomeMetadata, Link, Package, Reader};
pub use i18n::UiLang;
pub use lang::{language, Language};
pub use render::{human_size, render, Site};

/// Errors of the dashboard generator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// home.yaml is not valid.
    #[error("{}: {message}", path.display())]
    Config {
        /// The home.yaml file.
        path: PathBuf,
        /// What is wrong, with the YAML path of the offending value.
        message: String,
    },
}

/// What `generate` should do.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// home.yaml.
    pub config: PathBuf,
    /// Output folder (created if needed).
    pub out: PathBuf,
    /// ZIM folder: when set, discovery runs first (as offspot's entrypoint does).
    pub zim_dir: Option<PathBuf>,
    /// Link templates for discovered ZIMs.
    pub templates: LinkTemplates,
    /// Whether discovery may rewrite home.yaml (offspot: unless `DONT_UPDATE_PACKAGES`);
    /// when false its result is used for this rendering only.
    pub update_config: bool,
    /// The hotspot's language, overriding home.yaml's `metadata.language`.
    pub language: Option<String>,
}

/// What `generate` did.
#[derive(Debug, Clone, Default)]
pub struct GenerateReport {
    /// The discovery run, if a ZIM folder was given.
    pub discovery: Option<DiscoverReport>,
    /// Written files (relative path, size in bytes), sorted.
    pub files: Vec<(String, u64)>,
    /// Problems that did not stop generation.
    pub warnings: Vec<String>,
}

/// Runs discovery (if asked), renders home.yaml and writes the site.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateReport, Error> {
    let mut report = GenerateReport::default();
    let home = match &opts.zim_dir {
        Some(dir) if opts.update_config => {
            report.discovery = Some(discover::discover(&opts.config, dir, &opts.templates)?);
            Home::load(&opts.config)?
        }
        Some(dir) => {
            let text = read_text(&opts.config)?;
            let mut doc: serde_yaml::Value = if text.trim().is_empty() {
                serde_yaml::Value::Null
            } else {
                serde_yaml::from_str(&text).map_err(|e| Error::Config {
                    path: opts.config.clone(),
                    message: e.to_string(),
                })?
            };
            let (zims, warnings) = discover::scan(dir)?;
            let mut d = discover::apply(&mut doc, &zims, &opts.templates).map_err(|message| {
                Error::Config {
                    path: opts.config.clone(),
                    message,
                }
            })?;
            d.warnings.splice(0..0, warnings);
            report.discovery = Some(d);
            let text = serde_yaml::to_string(&doc).map_err(|e| Error::Config {
                path: opts.config.clone(),
                message: e.to_string(),
            })?;
            Home::parse(&text, &opts.config)?
        }
        None => Home::load(&opts.config)?,
    };
    let mut home = home;
    if let Some(l) = &opts.language {
        home.metadata.language = Some(l.clone());
    }
    let site = render::render(&home);
    write_site(&site, &opts.out)?;
    report.files = site
        .files
        .iter()
        .map(|(p, b)| (p.clone(), b.len() as u64))
        .collect();
    if let Some(d) = &report.discovery {
        report.warnings.extend(d.warnings.iter().cloned());
    }
    report.warnings.extend(site.warnings);
    Ok(report)
}

fn read_text(path: &Path) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `site` into `out`: each file atomically and only when its bytes changed (the
/// web server never sees a half-written page), then removes icons no page uses anymore.
pub fn write_site(site: &Site, out: &Path) -> Result<(), Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    for (rel, bytes) in &site.files {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            write_atomic(&path, bytes)?;
        }
    }
    let icons = out.join("icons");
    if icons.is_dir() {
        for entry in std::fs::read_dir(&icons).map_err(io(&icons))? {
            let entry = entry.map_err(io(&icons))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(".png") && !site.files.contains_key(&format!("icons/{name}")) {
                std::fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
            }
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` atomically (temporary file in the same folder, fsync,
/// rename), keeping the permissions of the file it replaces.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".nixspot-dashboard-")
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    let perms = match std::fs::metadata(path) {
        Ok(m) => m.permissions(),
        Err(_) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::Permissions::from_mode(0o644)
            }
            #[cfg(not(unix))]
            {
                tmp.as_file().metadata().map_err(err)?.permissions()
            }
        }
    };
    tmp.as_file().set_permissions(perms).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}
