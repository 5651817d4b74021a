//! The configuration model: the JSON of the `hotspot` option values (`{"hotspot": {…}}`).
//!
//! Two checks, in order. [`Policy::check`] is the Imager's own: only options a person
//! ordering an image may set (an allow-list), content from the catalog only
//! (`zims.<name>.package`), catalog apps and files packages only, a known base, no
//! local files and no URL unless the administrator allows URLs (`--allow-urls`), logos
//! that are small PNG or JPEG files. Then [`evaluate`] runs the module system itself
//! with nixspot's evaluator, so every other rule and message is the modules' own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use crate::error::ApiError;

/// Bases a configuration may name: nixspot's own and offspot's releases.
pub const ALLOWED_BASES: &[&str] = &["nixspot:base", "1.4.2", "1.2.0"];

/// The largest logo or favicon accepted (decoded bytes).
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// Options a configuration may set, as paths below `hotspot` (`*` = any attribute
/// name). Values are checked by the module system's own types afterwards.
const PLAIN_OPTIONS: &[&str] = &[
    "name",
    "language",
    "domain",
    "tld",
    "welcomeDomain",
    "timezone",
    "variant",
    "writeConfig",
    "ap.ssid",
    "ap.passphrase",
    "ap.hide",
    "ap.country",
    "ap.channel24",
    "ap.channel5",
    "ap.profile",
    "ap.asGateway",
    "admin.username",
    "admin.password",
    "captivePortal.enable",
    "captivePortal.footerNote",
    "captivePortal.timeout",
    "dashboard.enable",
    "dashboard.allowZimDownloads",
    "dashboard.footerNote",
    "kiwix.enable",
    "metrics.enable",
    "hwclock.enable",
    "adminUI.enable",
    "zimManager.enable",
    "reverseProxy.enable",
    "output.sdCard",
    "output.size",
    "zims.*.package",
    "zims.*.version",
    "zims.*.title",
    "zims.*.description",
];

/// Options that name something to download: refused unless URLs are allowed, and then
/// only with `http(s)://` URLs.
const URL_OPTIONS: &[&str] = &["zims.*.url", "files.*.url"];

/// Options that only make sense beside a URL option (pins of the download).
const URL_COMPANIONS: &[&str] = &[
    "zims.*.sha256",
    "zims.*.size",
    "zims.*.ident",
    "files.*.sha256",
    "files.*.size",
    "files.*.to",
    "files.*.via",
];

/// What the Imager lets a configuration do.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `--allow-urls`: content by `http(s)` URL besides catalog content.
    pub allow_urls: bool,
    /// The catalog packages of `modules/catalog.nix` by ident: `app` or `files`.
    pub packages: BTreeMap<String, String>,
}

/// An option path as Nix writes it: `hotspot.apps."file-manager.offspot.kiwix.org".enable`.
pub fn option_path(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| {
            if is_identifier(s) {
                s.to_string()
            } else {
                nix_string(s)
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn matches(pattern: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.split('.').collect();
    parts.len() == segments.len() && parts.iter().zip(segments).all(|(p, s)| *p == "*" || p == s)
}

impl Policy {
    /// Checks a configuration body (`{"hotspot": {…}}`) against the policy, naming the
    /// first option it refuses.
    pub fn check(&self, body: &Value) -> Result<(), ApiError> {
        let Some(object) = body.as_object() else {
            return Err(ApiError::invalid(
                None,
                "expected a JSON object {\"hotspot\": {…}}",
            ));
        };
        if let Some(other) = object.keys().find(|k| *k != "hotspot") {
            return Err(ApiError::invalid(
                Some(option_path(&[other])),
                format!("only `hotspot' options can be set, not `{other}'"),
            ));
        }
        match object.get("hotspot") {
            Some(Value::Object(_)) => {}
            _ => {
                return Err(ApiError::invalid(
                    Some("hotspot".into()),
                    "expected `hotspot' to be an attribute set of option values",
                ))
            }
        }
        let mut path = vec!["hotspot"];
        self.walk(&object["hotspot"], &mut path)
    }

    fn walk<'a>(&self, value: &'a Value, path: &mut Vec<&'a str>) -> Result<(), ApiError> {
        if let Value::Object(map) = value {
            // An attribute set is a group of options, unless it is a leaf's value.
            if !self.is_leaf(&path[1..]) {
                for (key, child) in map {
                    path.push(key);
                    self.walk(child, path)?;
                    path.pop();
                }
                return Ok(());
            }
        }
        self.check_leaf(value, path)
    }

    fn is_leaf(&self, rel: &[&str]) -> bool {
        PLAIN_OPTIONS
            .iter()
            .chain(URL_OPTIONS)
            .chain(URL_COMPANIONS)
            .any(|p| matches(p, rel))
            || matches("base.source", rel)
            || matches("apps.*.enable", rel)
            || matches("filesPackages.*.enable", rel)
            || matches("branding.*.base64", rel)
    }

    fn check_leaf(&self, value: &Value, path: &[&str]) -> Result<(), ApiError> {
        let rel = &path[1..];
        let option = option_path(path);
        let refuse = |message: String| Err(ApiError::invalid(Some(option.clone()), message));
        if matches("base.source", rel) {
            let source = value.as_str().unwrap_or_default();
            if ALLOWED_BASES.contains(&source) {
                return Ok(());
            }
            if source.starts_with("https://") || source.starts_with("http://") {
                if self.allow_urls {
                    return Ok(());
                }
                return refuse(format!(
                    "the base image {source:?} is not one the Imager offers: expected one of {}",
                    ALLOWED_BASES.join(", ")
                ));
            }
            return refuse(format!(
                "unknown base image {}: expected one of {}",
                value,
                ALLOWED_BASES.join(", ")
            ));
        }
        if let ["apps" | "filesPackages", name, "enable"] = rel {
            let kind = if rel[0] == "apps" { "app" } else { "files" };
            if self.packages.get(*name).map(String::as_str) == Some(kind) {
                return Ok(());
            }
            let known: Vec<&str> = self
                .packages
                .iter()
                .filter(|(_, k)| k.as_str() == kind)
                .map(|(n, _)| n.as_str())
                .collect();
            return refuse(format!(
                "{name:?} is not a catalog {kind} package: expected one of {}",
                known.join(", ")
            ));
        }
        if let ["branding", name, "base64"] = rel {
            return check_logo(name, value).or_else(&refuse);
        }
        if URL_OPTIONS.iter().any(|p| matches(p, rel)) {
            let url = value.as_str().unwrap_or_default();
            if url.starts_with("file:") || !url.contains("://") {
                return refuse(format!(
                    "{url:?}: local files cannot be used by the Imager; pick catalog content (`package = \"name:flavour\"`)"
                ));
            }
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return refuse(format!(
                    "{url:?}: only http:// and https:// URLs can be downloaded"
                ));
            }
            if !self.allow_urls {
                return refuse(format!(
                    "{url:?}: this Imager builds catalog content only (`package = \"name:flavour\"`); URLs are not allowed"
                ));
            }
            return Ok(());
        }
        if URL_COMPANIONS.iter().any(|p| matches(p, rel)) {
            if self.allow_urls {
                return Ok(());
            }
            return refuse(
                "this option pins a download by URL, which this Imager does not allow; pick catalog content (`package = \"name:flavour\"`)".into(),
            );
        }
        if PLAIN_OPTIONS.iter().any(|p| matches(p, rel)) {
            return Ok(());
        }
        refuse(format!(
            "`{option}' cannot be set through the Imager (it accepts identity, WiFi, admin account, services, output size, catalog content, catalog apps and logos)"
        ))
    }
}

/// Checks one branding file given as base64: a PNG or JPEG of at most 1 MiB whose name
/// says which. SVG is refused: it can carry scripts, and the dashboard serves logos on
/// the hotspot's own origin.
fn check_logo(name: &str, value: &Value) -> Result<(), String> {
    let Some(text) = value.as_str() else {
        return Err("expected the file as a base64 string".into());
    };
    // Decoded size = 3/4 of the text: refuse huge input before decoding it.
    if text.len() / 4 * 3 > MAX_LOGO_BYTES + 3 {
        return Err(format!("the file is larger than {MAX_LOGO_BYTES} bytes"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("not valid base64: {e}"))?;
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!(
            "the file has {} bytes, more than the {MAX_LOGO_BYTES} allowed",
            bytes.len()
        ));
    }
    let lower = name.to_ascii_lowercase();
    let png = bytes.starts_with(b"\x89PNG\r\n\x1a\n");
    let jpeg = bytes.starts_with(&[0xff, 0xd8, 0xff]);
    if lower.ends_with(".svg") {
        return Err(
            "SVG files are refused (they can contain scripts): upload a PNG or JPEG".into(),
        );
    }
    match (lower.rsplit('.').next(), png, jpeg) {
        (Some("png"), true, _) | (Some("jpg" | "jpeg"), _, true) => Ok(()),
        (Some("png" | "jpg" | "jpeg"), _, _) => Err(format!(
            "the content is not what {name:?} says (expected {} bytes)",
            if lower.ends_with(".png") {
                "PNG"
            } else {
                "JPEG"
            }
        )),
        _ => Err(format!("{name:?}: logos must be .png or .jpg files")),
    }
}

fn is_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or",
    ];
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_'-".contains(c))
        && !KEYWORDS.contains(&s)
}

/// `s` as a Nix string literal.
pub fn nix_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

fn nix_value(value: &Value, indent: usize, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&nix_string(s)),
        Value::Array(items) => {
            out.push('[');
            for item in items {
                out.push(' ');
                // Function application binds tighter than list items: parenthesise
                // nothing, every item here is a literal or a set.
                nix_value(item, indent, out);
            }
            out.push_str(" ]");
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{ }");
                return;
            }
            out.push_str("{\n");
            // Sorted: the module text depends on the configuration only.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for key in keys {
                out.push_str(&"  ".repeat(indent + 1));
                out.push_str(&option_path(&[key]));
                out.push_str(" = ");
                nix_value(&map[key], indent + 1, out);
                out.push_str(";\n");
            }
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
    }
}

/// The hotspot module (`module.nix`) of a configuration body `{"hotspot": {…}}`:
/// deterministic, readable, buildable with `nixspot build module.nix`.
pub fn module_text(body: &Value) -> String {
    let mut out = String::from(
        "# A hotspot configured with the nixspot Imager. Build it as the Imager did:\n\
         #   nixspot build module.nix --lock module.lock.json --locked\n\
         { ... }:\n",
    );
    nix_value(body, 0, &mut out);
    out.push('\n');
    out
}

/// The image file stem of a configuration: its `hotspot.name` as a slug.
pub fn image_name(body: &Value) -> String {
    let name = body
        .pointer("/hotspot/name")
        .and_then(Value::as_str)
        .unwrap_or("hotspot");
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 48 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        "hotspot".into()
    } else {
        slug.to_string()
    }
}

/// A module written into a private scratch directory, with its lock beside it.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// Writes `module` (and `lock`, if given) as `module.nix` / `module.lock.json`.
    pub fn new(module: &str, lock: Option<&str>) -> Result<Scratch, ApiError> {
        let dir = tempfile::Builder::new()
            .prefix("nixspot-imager-")
            .tempdir()
            .map_err(|e| ApiError::internal(format!("creating a scratch directory: {e}")))?;
        let scratch = Scratch { dir };
        std::fs::write(scratch.module(), module)
            .map_err(|e| ApiError::internal(format!("writing module.nix: {e}")))?;
        if let Some(lock) = lock {
            std::fs::write(scratch.lock(), lock)
                .map_err(|e| ApiError::internal(format!("writing module.lock.json: {e}")))?;
        }
        Ok(scratch)
    }

    /// `module.nix`.
    pub fn module(&self) -> PathBuf {
        self.dir.path().join("module.nix")
    }

    /// `module.lock.json`.
    pub fn lock(&self) -> PathBuf {
        self.dir.path().join("module.lock.json")
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `message` without this directory's and the modules' host paths: a user sees
    /// `module.nix:3:5` and `<nixspot>/hotspot/network.nix`, never the server's files.
    pub fn scrub(&self, message: &str, modules: &Path) -> String {
        message
            .replace(&self.dir.path().display().to_string(), "")
            .replace(&modules.display().to_string(), "<nixspot>")
            .replace("/module.nix", "module.nix")
            .replace("/module.lock.json", "module.lock.json")
    }
}

/// The first option path (`hotspot.…`) a module-system message names.
pub fn option_in(message: &str) -> Option<String> {
    let start = match message
        .find("`hotspot.")
        .or_else(|| message.find("'hotspot."))
    {
        Some(quoted) => quoted + 1,
        // Unquoted, as `nixspot_packages` writes `hotspot.zims.<name>.package = …`.
        None => message
            .match_indices("hotspot.")
            .map(|(i, _)| i)
            .find(|&i| i == 0 || message[..i].ends_with([' ', '\n', '(']))?,
    };
    let rest = &message[start..];
    let end = rest.find(['\'', '`', ' ', '\n', ':']).unwrap_or(rest.len());
    let option = rest[..end].trim_end_matches('.');
    Some(option.to_string())
}

/// Evaluates the module in `scratch` (with its lock, when written) with nixspot's own
/// evaluator and the hotspot modules in `modules`: the typed recipe, or the module
/// system's error as a 422 naming the option.
pub fn evaluate(
    scratch: &Scratch,
    modules: &Path,
) -> Result<nixspot_hotspot::load::Loaded, ApiError> {
    let target = nixspot_hotspot::load::Target::Module(scratch.module());
    let lock = scratch.lock();
    nixspot_hotspot::load::load(
        &target,
        nixspot_hotspot::Engine::Builtin,
        Some(modules),
        Some(&lock),
    )
    .map_err(|e| {
        let message = scratch.scrub(&e.to_string(), modules);
        ApiError::invalid(option_in(&message), message)
    })
}

/// The catalog packages `modules/catalog.nix` offers, by ident: `app` or `files`.
pub fn catalog_packages(modules: &Path) -> Result<BTreeMap<String, String>, String> {
    eval_catalog(modules, "c: builtins.mapAttrs (n: p: p.kind) c.packages")
}

/// `of` (a Nix function) applied to `modules/catalog.nix`, evaluated (nixspot's
/// evaluator) and read as JSON.
pub fn eval_catalog<T: serde::de::DeserializeOwned>(modules: &Path, of: &str) -> Result<T, String> {
    let expr = format!(
        "({of}) (import (/. + {}))",
        nix_string(&modules.join("catalog.nix").display().to_string())
    );
    let text = nixspot_hotspot::eval_json(
        nixspot_hotspot::Engine::Builtin,
        &expr,
        modules,
        "modules/catalog.nix",
    )
    .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("modules/catalog.nix: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Policy {
        Policy {
            allow_urls: false,
            packages: [(
                "file-manager.offspot.kiwix.org".to_string(),
                "app".to_string(),
            )]
            .into_iter()
            .collect(),
        }
    }

    fn refused(body: Value) -> ApiError {
        policy().check(&body).expect_err("refused")
    }

    #[test]
    fn catalog_content_and_known_bases_pass() {
        let body = json!({"hotspot": {"name": "School", "language": "fr", "ap": {"ssid": "School"},
            "base": {"source": "nixspot:base"},
            "zims": {"wp": {"package": "wikipedia_en_all:nopic"}},
            "apps": {"file-manager.offspot.kiwix.org": {"enable": true}}}});
        policy().check(&body).unwrap();
    }

    #[test]
    fn urls_local_files_and_unknown_bases_are_refused_by_option() {
        let e = refused(json!({"hotspot": {"zims": {"x": {"url": "file:///etc/passwd"}}}}));
        assert_eq!(e.option.as_deref(), Some("hotspot.zims.x.url"));
        assert!(e.message.contains("local files"), "{}", e.message);
        let e = refused(json!({"hotspot": {"zims": {"x": {"url": "https://example.org/a.zim"}}}}));
        assert_eq!(e.option.as_deref(), Some("hotspot.zims.x.url"));
        let e = refused(json!({"hotspot": {"base": {"source": "/etc/shadow"}}}));
        assert_eq!(e.option.as_deref(), Some("hotspot.base.source"));
        let e = refused(json!({"hotspot": {"base": {"source": "9.9.9"}}}));
        assert_eq!(e.option.as_deref(), Some("hotspot.base.source"));
        let e = refused(json!({"hotspot": {"lockFile": "/etc/passwd"}}));
        assert_eq!(e.option.as_deref(), Some("hotspot.lockFile"));
        let e = refused(json!({"hotspot": {"apps": {"evil.example": {"enable": true}}}}));
        assert_eq!(
            e.option.as_deref(),
            Some("hotspot.apps.\"evil.example\".enable")
        );
        let mut allowed = policy();
        allowed.allow_urls = true;
        allowed
            .check(&json!({"hotspot": {"zims": {"x": {"url": "https://example.org/a.zim"}}}}))
            .unwrap();
        let e = allowed
            .check(&json!({"hotspot": {"zims": {"x": {"url": "file:///etc/passwd"}}}}))
            .unwrap_err();
        assert_eq!(e.option.as_deref(), Some("hotspot.zims.x.url"));
    }

    #[test]
    fn logos_are_small_png_or_jpeg() {
        let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\nrest");
        policy()
            .check(
                &json!({"hotspot": {"branding": {"horizontal-logo-light.png": {"base64": png}}}}),
            )
            .unwrap();
        let svg = base64::engine::general_purpose::STANDARD.encode(b"<svg><script/></svg>");
        let e = refused(json!({"hotspot": {"branding": {"logo.svg": {"base64": svg}}}}));
        assert!(e.message.contains("SVG"), "{}", e.message);
        let fake = base64::engine::general_purpose::STANDARD.encode(b"GIF89a");
        refused(json!({"hotspot": {"branding": {"logo.png": {"base64": fake}}}}));
        let big = base64::engine::general_purpose::STANDARD
            .encode([b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0u8; MAX_LOGO_BYTES]].concat());
        let e = refused(json!({"hotspot": {"branding": {"logo.png": {"base64": big}}}}));
        assert!(e.message.contains("larger"), "{}", e.message);
    }

    #[test]
    fn modules_are_deterministic_nix() {
        let body = json!({"hotspot": {"name": "A \"b\" ${x}", "zims": {"w p": {"package": "a:b"}}, "ap": {"hide": true, "channel24": 6}}});
        assert_eq!(
            module_text(&body),
            "# A hotspot configured with the nixspot Imager. Build it as the Imager did:\n\
             #   nixspot build module.nix --lock module.lock.json --locked\n\
             { ... }:\n{\n  hotspot = {\n    ap = {\n      channel24 = 6;\n      hide = true;\n    };\n    \
             name = \"A \\\"b\\\" \\${x}\";\n    zims = {\n      \"w p\" = {\n        package = \"a:b\";\n      };\n    };\n  };\n}\n"
        );
        assert_eq!(image_name(&body), "a-b-x");
        assert_eq!(image_name(&json!({})), "hotspot");
    }

    #[test]
    fn options_are_found_in_messages() {
        assert_eq!(
            option_in("The option `hotspot.ap.ssid' has a bad value"),
            Some("hotspot.ap.ssid".into())
        );
        assert_eq!(option_in("nothing here"), None);
        assert_eq!(
            option_in("hotspot.zims.wp.package = \"x:y\": no such package"),
            Some("hotspot.zims.wp.package".into())
        );
    }
}
