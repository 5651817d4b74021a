//! The dashboard's `home.yaml` (offspot's `dashboard.yaml`), spec section 5.

use std::path::Path;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The whole `home.yaml`. Unknown keys are accepted and ignored, as offspot does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    /// Hotspot-wide values.
    #[serde(default, deserialize_with = "null_default")]
    pub metadata: HomeMetadata,
    /// Content packages, in display order.
    #[serde(default, deserialize_with = "null_default")]
    pub packages: Vec<Package>,
    /// Kiwix reader apps offered on the download page.
    #[serde(default, deserialize_with = "null_default")]
    pub readers: Vec<Reader>,
    /// Footer links.
    #[serde(default, deserialize_with = "null_default")]
    pub links: Vec<Link>,
}

/// `metadata:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HomeMetadata {
    /// Hotspot name, shown as the page heading.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<String>,
    /// FQDN replacing `{fqdn}` in URLs.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub fqdn: Option<String>,
    /// Image version, shown in the footer.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// Free text shown in the footer.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub footer_note: Option<String>,
    /// nixspot: the hotspot's language (`en`, `fr`, `es`; `fr-FR` and ISO 639-3 `fra`
    /// accepted): the site's root is in it; every language also has its `/<tag>/` copy.
    /// Unset or a language without a catalogue: English.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub language: Option<String>,
}

/// One entry of `packages:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// Identifier (`publisher:name:flavour` for ZIMs, the catalog ident otherwise).
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub ident: Option<String>,
    /// `zim`, `app` or `files`.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    /// Title; required for the package to show.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// Link target; required for the package to show.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// Short description.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// ISO 639-3 codes (a comma-separated string is accepted too).
    #[serde(
        default,
        deserialize_with = "string_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub languages: Vec<String>,
    /// Tags; `_category:X` sets the category, other `_…` tags are hidden.
    #[serde(
        default,
        deserialize_with = "string_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<String>,
    /// Base64 PNG icon (48 px).
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<String>,
    /// Where the package itself can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<Download>,
    /// Hidden when true.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub disabled: bool,
}

/// `download:` of a package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Download {
    /// Download URL.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// Size in bytes.
    #[serde(
        default,
        deserialize_with = "size",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<u64>,
}

/// One entry of `readers:`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reader {
    /// `windows`, `android`, `macos` or `linux`.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub platform: Option<String>,
    /// Where to get it.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub download_url: Option<String>,
    /// File name, shown next to the link.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub filename: Option<String>,
    /// Size in bytes.
    #[serde(
        default,
        deserialize_with = "size",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<u64>,
}

/// One entry of `links:` (footer).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Link text.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<String>,
    /// Target.
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<String>,
    /// Any value marks the link as password-protected (a lock is shown).
    #[serde(
        default,
        deserialize_with = "scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub icon: Option<String>,
}

impl Home {
    /// Parses home.yaml text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Home, Error> {
        if text.trim().is_empty() {
            return Ok(Home::default());
        }
        let de = serde_yaml::Deserializer::from_str(text);
        // A document holding only `~` is empty too.
        let home: Option<Home> =
            serde_path_to_error::deserialize(de).map_err(|e| Error::Config {
                path: origin.to_path_buf(),
                message: format!("{}: {}", e.path(), e.inner()),
            })?;
        Ok(home.unwrap_or_default())
    }

    /// Reads and parses a home.yaml file.
    pub fn load(path: &Path) -> Result<Home, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Home::parse(&text, path)
    }
}

impl Package {
    /// Shown only when enabled and both title and url are set (offspot's rule).
    pub fn is_visible(&self) -> bool {
        !self.disabled && non_empty(&self.title).is_some() && non_empty(&self.url).is_some()
    }

    /// The `_category:X` tag's value, if any.
    pub fn category(&self) -> Option<&str> {
        self.tags
            .iter()
            .find_map(|t| t.strip_prefix("_category:"))
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    /// Tags meant for people (not starting with `_`).
    pub fn visible_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .map(|t| t.trim())
            .filter(|t| !t.is_empty() && !t.starts_with('_'))
    }
}

/// `Some(s)` when the option holds a non-blank string.
pub fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Expands offspot's URL placeholders: `{name-fqdn}` → `name.<fqdn>`, `{fqdn}` → fqdn;
/// then a URL without scheme gets `//` (offspot's rule), except site-relative paths and
/// fragments, which are kept as they are.
pub fn expand_url(url: &str, fqdn: Option<&str>) -> Result<String, String> {
    let url = url.trim();
    let mut out = String::with_capacity(url.len() + 16);
    let mut rest = url;
    while let Some(open) = rest.find('{') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let Some(close) = after.find('}') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let name = after.get(1..close).unwrap_or_default();
        let is_placeholder = name == "fqdn"
            || name.strip_suffix("-fqdn").is_some_and(|sub| {
                !sub.is_empty()
                    && sub
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if is_placeholder {
            let fqdn = fqdn
                .ok_or_else(|| format!("{url:?} uses {{{name}}} but metadata.fqdn is not set"))?;
            match name.strip_suffix("-fqdn") {
                Some(sub) => {
                    out.push_str(sub);
                    out.push('.');
                    out.push_str(fqdn);
                }
                None => out.push_str(fqdn),
            }
        } else {
            out.push_str(after.get(..=close).unwrap_or_default());
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    let lower = out.to_ascii_lowercase();
    if let Some(scheme) = scheme(&lower) {
        if matches!(scheme, "javascript" | "data" | "vbscript") {
            return Err(format!(
                "{url:?} uses the {scheme}: scheme, which is not allowed"
            ));
        }
        return Ok(out);
    }
    if out.starts_with("//") || out.starts_with('/') || out.starts_with('#') || out.is_empty() {
        return Ok(out);
    }
    Ok(format!("//{out}"))
}

/// The scheme of an absolute URL (`http` in `http://…`).
fn scheme(url: &str) -> Option<&str> {
    let colon = url.find(':')?;
    let s = url.get(..colon)?;
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // `host:port/…` is not a scheme: a scheme is followed by `//` or is a known opaque one.
    let after = url.get(colon + 1..).unwrap_or_default();
    let opaque = matches!(s, "mailto" | "tel" | "javascript" | "data" | "vbscript");
    (first_ok && rest_ok && (after.starts_with("//") || opaque)).then_some(s)
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Any YAML scalar as a string (`version: 1.2` is a number to YAML, text to us).
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde_yaml::Value;
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(de::Error::custom(format!(
            "expected a string, found {}",
            kind(&other)
        ))),
    }
}

/// A list of strings, or one comma-separated string.
fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde_yaml::Value;
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()),
        Value::Sequence(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(de::Error::custom(format!(
                    "item {i}: expected a string, found {}",
                    kind(&other)
                ))),
            })
            .collect(),
        other => Err(de::Error::custom(format!(
            "expected a list of strings, found {}",
            kind(&other)
        ))),
    }
}

/// A size in bytes: a non-negative integer (or a string holding one).
fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde_yaml::Value;
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("expected a size in bytes, found {n}"))),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("expected a size in bytes, found {s:?}"))),
        other => Err(de::Error::custom(format!(
            "expected a size in bytes, found {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &serde_yaml::Value) -> &'static str {
    use serde_yaml::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_placeholders() {
        let f = Some("my.hotspot");
        assert_eq!(
            expand_url("//browse.{fqdn}/viewer#x", f).unwrap(),
            "//browse.my.hotspot/viewer#x"
        );
        assert_eq!(
            expand_url("{zim-download-fqdn}/a.zim", f).unwrap(),
            "//zim-download.my.hotspot/a.zim"
        );
        assert_eq!(expand_url("{fqdn}", f).unwrap(), "//my.hotspot");
        assert_eq!(
            expand_url("https://x.org/{y}", f).unwrap(),
            "https://x.org/{y}"
        );
        assert_eq!(
            expand_url("example.org:8080/a", f).unwrap(),
            "//example.org:8080/a"
        );
        assert_eq!(expand_url("/download/", f).unwrap(), "/download/");
        assert_eq!(expand_url("mailto:a@b.c", f).unwrap(), "mailto:a@b.c");
        assert!(expand_url("JavaScript:alert(1)", f).is_err());
        assert!(expand_url("{fqdn}", None)
            .unwrap_err()
            .contains("metadata.fqdn"));
    }

    #[test]
    fn parses_offspot_yaml_with_loose_types() {
        let text = "metadata:\n  name: Demo\n  version: 1.2\n  fqdn: demo.offspot\npackages:\n- ident: a\n  kind: zim\n  title: A\n  url: x\n  languages: eng,fra\n  tags: [_category:wikipedia, nice]\n  download: {url: y, size: '123'}\n  extra: kept\nreaders:\nlinks: ~\n";
        let home = Home::parse(text, Path::new("home.yaml")).unwrap();
        assert_eq!(home.metadata.version.as_deref(), Some("1.2"));
        let p = &home.packages[0];
        assert_eq!(p.languages, ["eng", "fra"]);
        assert_eq!(p.category(), Some("wikipedia"));
        assert_eq!(p.visible_tags().collect::<Vec<_>>(), ["nice"]);
        assert_eq!(p.download.as_ref().unwrap().size, Some(123));
        assert!(p.is_visible());
    }

    #[test]
    fn serialises_without_empty_fields_and_round_trips() {
        let home = Home {
            metadata: HomeMetadata {
                name: Some("N".into()),
                ..HomeMetadata::default()
            },
            packages: vec![Package {
                ident: Some("i".into()),
                title: Some("T".into()),
                url: Some("//x.{fqdn}/".into()),
                ..Package::default()
            }],
            ..Home::default()
        };
        let text = serde_yaml::to_string(&home).unwrap();
        assert!(
            !text.contains("null") && !text.contains("disabled"),
            "{text}"
        );
        assert_eq!(Home::parse(&text, Path::new("h")).unwrap(), home);
    }

    #[test]
    fn type_errors_name_the_field() {
        let err = Home::parse("packages:\n- title: [1]\n", Path::new("/x/home.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/x/home.yaml"), "{err}");
        assert!(err.contains("packages[0].title"), "{err}");
        assert!(err.contains("expected a string, found a list"), "{err}");
    }
}
