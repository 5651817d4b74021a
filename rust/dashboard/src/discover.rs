//! ZIM discovery (offspot's `refresh-zims.py`): ZIMs found in the ZIM folder become
//! packages of home.yaml, missing ones are disabled, the file is rewritten atomically.
//!
//! The YAML is edited as a generic document so keys this program does not know survive.

use std::path::Path;

use base64::Engine as _;
use serde_yaml::{Mapping, Value};
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use crate::{write_atomic, Error};

/// `KIWIX_READER_LINK_TPL` / `KIWIX_DOWNLOAD_LINK_TPL`. `{zim_name}` and `{zim_filename}`
/// are filled in by discovery; `{fqdn}` stays a placeholder resolved when rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTemplates {
    /// Reader link, e.g. `//browse.{fqdn}/viewer#{zim_name}`.
    pub reader: String,
    /// Download link, e.g. `//zim-download.{fqdn}/{zim_filename}`.
    pub download: String,
}

impl Default for LinkTemplates {
    /// The values offspot's builder passes to the dashboard (kiwix-serve on `browse.`).
    fn default() -> Self {
        LinkTemplates {
            reader: "//browse.{fqdn}/viewer#{zim_name}".to_owned(),
            download: "//zim-download.{fqdn}/{zim_filename}".to_owned(),
        }
    }
}

/// A ZIM file found in the ZIM folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZimFile {
    /// File name inside the folder.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// `publisher:name:flavour` (the file stem stands in for a missing `Name`).
    pub ident: String,
    /// Its metadata.
    pub metadata: nixspot_zim::Metadata,
}

/// What a discovery run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoverReport {
    /// Idents appended to `packages`.
    pub added: Vec<String>,
    /// Idents of existing packages whose links, size or state were refreshed.
    pub updated: Vec<String>,
    /// Idents of `zim` packages now disabled because their file is gone.
    pub disabled: Vec<String>,
    /// Files that could not be read (skipped) and other notes.
    pub warnings: Vec<String>,
    /// Whether home.yaml was rewritten.
    pub written: bool,
}

/// libkiwix's human-readable id of a ZIM file name (what kiwix-serve's viewer uses):
/// lower case, accents removed, `.zim…` extension removed, space → `_`, `+` → `plus`.
pub fn human_id(filename: &str) -> String {
    let lower = filename.to_lowercase();
    let stem = match lower.rfind(".zim") {
        Some(i)
            if lower
                .get(i + 4..)
                .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_alphanumeric())) =>
        {
            lower.get(..i).unwrap_or_default()
        }
        _ => lower.as_str(),
    };
    let plain: String = stem
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .nfc()
        .collect();
    plain.replace(' ', "_").replace('+', "plus")
}

/// Percent-encodes a file name for a URL path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reads every `*.zim` of `dir` (sorted by name). Unreadable files become warnings.
pub fn scan(dir: &Path) -> Result<(Vec<ZimFile>, Vec<String>), Error> {
    let io_err = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let entry = entry.map_err(io_err)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.to_ascii_lowercase().ends_with(".zim") && !name.starts_with('.') {
            names.push(name.to_owned());
        }
    }
    names.sort();
    let mut zims = Vec::new();
    let mut warnings = Vec::new();
    for filename in names {
        let path = dir.join(&filename);
        let read = nixspot_zim::Archive::open(&path).and_then(|zim| {
            let metadata = zim.metadata_summary()?;
            Ok((zim.file_size(), metadata))
        });
        match read {
            Ok((size, metadata)) => {
                let part = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_owned();
                let mut name = part(&metadata.name);
                if name.is_empty() {
                    name = filename
                        .rsplit_once('.')
                        .map_or(filename.as_str(), |(stem, _)| stem)
                        .to_owned();
                }
                let ident = format!(
                    "{}:{name}:{}",
                    part(&metadata.publisher),
                    part(&metadata.flavour)
                );
                zims.push(ZimFile {
                    filename,
                    size,
                    ident,
                    metadata,
                });
            }
            Err(e) => warnings.push(format!("skipping {}: {e}", path.display())),
        }
    }
    Ok((zims, warnings))
}

fn key(k: &str) -> Value {
    Value::String(k.to_owned())
}

fn get_str<'a>(m: &'a Mapping, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn is_blank(m: &Mapping, k: &str) -> bool {
    match m.get(k) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Sequence(s)) => s.is_empty(),
        Some(_) => false,
    }
}

fn links(zim: &ZimFile, tpl: &LinkTemplates) -> (String, String) {
    let reader = tpl.reader.replace("{zim_name}", &human_id(&zim.filename));
    let download = tpl
        .download
        .replace("{zim_filename}", &encode_segment(&zim.filename));
    (
        reader.replace("{zim_filename}", &encode_segment(&zim.filename)),
        download.replace("{zim_name}", &human_id(&zim.filename)),
    )
}

/// The values discovery derives from a ZIM's metadata, in home.yaml's key order.
fn described(zim: &ZimFile) -> Vec<(&'static str, Value)> {
    let m = &zim.metadata;
    let text = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_owned()))
    };
    let list = |items: Vec<String>| {
        (!items.is_empty()).then(|| Value::Sequence(items.into_iter().map(Value::String).collect()))
    };
    let title = text(&m.title)
        .or_else(|| text(&m.name))
        .unwrap_or_else(|| Value::String(human_id(&zim.filename)));
    let icon = m
        .illustration_48
        .as_ref()
        .filter(|png| png.starts_with(b"\x89PNG\r\n\x1a\n"))
        .map(|png| Value::String(base64::engine::general_purpose::STANDARD.encode(png)));
    let mut out = vec![("title", title)];
    out.extend(text(&m.description).map(|v| ("description", v)));
    out.extend(list(m.languages()).map(|v| ("languages", v)));
    out.extend(list(m.tag_list()).map(|v| ("tags", v)));
    out.extend(icon.map(|v| ("icon", v)));
    out
}

/// Applies discovery to a parsed home.yaml document (pure: no file access).
pub fn apply(
    doc: &mut Value,
    zims: &[ZimFile],
    tpl: &LinkTemplates,
) -> Result<DiscoverReport, String> {
    if doc.is_null() {
        *doc = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(root) = doc else {
        return Err("the document is not a mapping".to_owned());
    };
    let packages = root
        .entry(key("packages"))
        .or_insert(Value::Sequence(Vec::new()));
    if packages.is_null() {
        *packages = Value::Sequence(Vec::new());
    }
    let Value::Sequence(packages) = packages else {
        return Err("packages: expected a list".to_owned());
    };

    // One file per ident: the last by name (the newest for `_YYYY-MM.zim` names).
    let mut chosen: Vec<&ZimFile> = Vec::new();
    let mut report = DiscoverReport::default();
    for z in zims {
        if let Some(pos) = chosen.iter().position(|c| c.ident == z.ident) {
            report.warnings.push(format!(
                "{} and {} are both {}; listing {}",
                chosen.get(pos).map_or("", |c| c.filename.as_str()),
                z.filename,
                z.ident,
                z.filename
            ));
            if let Some(slot) = chosen.get_mut(pos) {
                *slot = z;
            }
        } else {
            chosen.push(z);
        }
    }

    let mut seen: Vec<&str> = Vec::new();
    for (i, pkg) in packages.iter_mut().enumerate() {
        let Value::Mapping(pkg) = pkg else {
            return Err(format!("packages[{i}]: expected a mapping"));
        };
        if get_str(pkg, "kind") != Some("zim") {
            continue;
        }
        let Some(ident) = get_str(pkg, "ident").map(str::to_owned) else {
            continue;
        };
        match chosen.iter().find(|z| z.ident == ident) {
            Some(zim) => {
                seen.push(&zim.ident);
                let before = pkg.clone();
                let (url, download_url) = links(zim, tpl);
                pkg.insert(key("url"), Value::String(url));
                let mut download = match pkg.get("download") {
                    Some(Value::Mapping(d)) => d.clone(),
                    _ => Mapping::new(),
                };
                if download.get("size").and_then(Value::as_u64) != Some(zim.size) {
                    // A different file: a checksum of the old one would be wrong.
                    download.remove("checksum");
                }
                download.insert(key("url"), Value::String(download_url));
                download.insert(key("size"), Value::Number(zim.size.into()));
                pkg.insert(key("download"), Value::Mapping(download));
                pkg.remove("disabled");
                for (k, v) in described(zim) {
                    if is_blank(pkg, k) {
                        pkg.insert(key(k), v);
                    }
                }
                if *pkg != before {
                    report.updated.push(ident);
                }
            }
            None => {
                if pkg.get("disabled").and_then(Value::as_bool) != Some(true) {
                    pkg.insert(key("disabled"), Value::Bool(true));
                    report.disabled.push(ident);
                }
            }
        }
    }
    for zim in chosen {
        if seen.contains(&zim.ident.as_str()) {
            continue;
        }
        let (url, download_url) = links(zim, tpl);
        let mut pkg = Mapping::new();
        pkg.insert(key("ident"), Value::String(zim.ident.clone()));
        pkg.insert(key("kind"), Value::String("zim".to_owned()));
        let described = described(zim);
        let mut rest = described.into_iter();
        if let Some((k, v)) = rest.next() {
            pkg.insert(key(k), v);
        }
        pkg.insert(key("url"), Value::String(url));
        for (k, v) in rest {
            pkg.insert(key(k), v);
        }
        let mut download = Mapping::new();
        download.insert(key("url"), Value::String(download_url));
        download.insert(key("size"), Value::Number(zim.size.into()));
        pkg.insert(key("download"), Value::Mapping(download));
        packages.push(Value::Mapping(pkg));
        report.added.push(zim.ident.clone());
    }
    Ok(report)
}

/// Runs discovery on the home.yaml at `config` (created when absent) for the ZIMs in
/// `zim_dir`, rewriting it atomically when something changed.
pub fn discover(
    config: &Path,
    zim_dir: &Path,
    tpl: &LinkTemplates,
) -> Result<DiscoverReport, Error> {
    let original = match std::fs::read_to_string(config) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(Error::Io {
                path: config.to_path_buf(),
                source,
            })
        }
    };
    let mut doc: Value = match original.as_deref() {
        Some(t) if !t.trim().is_empty() => serde_yaml::from_str(t).map_err(|e| Error::Config {
            path: config.to_path_buf(),
            message: e.to_string(),
        })?,
        _ => Value::Null,
    };
    let (zims, warnings) = scan(zim_dir)?;
    let mut report = apply(&mut doc, &zims, tpl).map_err(|message| Error::Config {
        path: config.to_path_buf(),
        message,
    })?;
    report.warnings.splice(0..0, warnings);
    let text = serde_yaml::to_string(&doc).map_err(|e| Error::Config {
        path: config.to_path_buf(),
        message: format!("cannot serialise: {e}"),
    })?;
    // Checked here too so a document discovery changed into something invalid is
    // refused before it replaces the old one.
    crate::Home::parse(&text, config)?;
    if original.as_deref() != Some(text.as_str()) {
        write_atomic(config, text.as_bytes())?;
        report.written = true;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_ids_follow_libkiwix() {
        assert_eq!(
            human_id("wikipedia_fr_all_maxi_2024-05.zim"),
            "wikipedia_fr_all_maxi_2024-05"
        );
        assert_eq!(human_id("Wikipédia Été+.zim"), "wikipedia_eteplus");
        assert_eq!(human_id("big.zimaa"), "big");
        assert_eq!(human_id("noext"), "noext");
    }

    #[test]
    fn segment_encoding() {
        assert_eq!(encode_segment("a b#?.zim"), "a%20b%23%3F.zim");
        assert_eq!(encode_segment("é"), "%C3%A9");
    }
}
