//! deb822 stanzas (Packages indexes, Release files, control files, the dpkg status file).

use crate::error::{Error, Result};

/// One paragraph of `Field: value` lines, fields in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// 1-based line of the first field, for error messages.
    pub line: usize,
    /// Fields in file order; multi-line values keep their continuation lines joined by
    /// `\n`, each with its leading space as in the file.
    pub fields: Vec<(String, String)>,
}

impl Stanza {
    /// The value of a field, matched case-insensitively as deb822 requires.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Renders the stanza as deb822 text (no trailing blank line).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            out.push_str(k);
            out.push(':');
            if !v.is_empty() && !v.starts_with('\n') {
                out.push(' ');
            }
            out.push_str(v);
            out.push('\n');
        }
        out
    }
}

/// Parses deb822 text into stanzas. `source_name` (a file name or URL) goes into errors.
/// Lines starting with `#` are comments; stanzas are separated by blank lines.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<Stanza>> {
    let mut stanzas = Vec::new();
    let mut current: Option<Stanza> = None;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(s) = current.take() {
                stanzas.push(s);
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let Some(field) = current.as_mut().and_then(|s| s.fields.last_mut()) else {
                return Err(Error::Syntax {
                    source_name: source_name.to_string(),
                    line: lineno,
                    message: "continuation line outside a field".to_string(),
                });
            };
            field.1.push('\n');
            field.1.push_str(line);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(Error::Syntax {
                source_name: source_name.to_string(),
                line: lineno,
                message: format!("expected \"Field: value\", found {line:?}"),
            });
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Syntax {
                source_name: source_name.to_string(),
                line: lineno,
                message: format!("invalid field name {name:?}"),
            });
        }
        let stanza = current.get_or_insert_with(|| Stanza {
            line: lineno,
            fields: Vec::new(),
        });
        if stanza.get(name).is_some() {
            return Err(Error::Syntax {
                source_name: source_name.to_string(),
                line: lineno,
                message: format!("duplicate field {name}"),
            });
        }
        stanza
            .fields
            .push((name.to_string(), value.trim().to_string()));
    }
    if let Some(s) = current.take() {
        stanzas.push(s);
    }
    Ok(stanzas)
}

/// Removes the OpenPGP clear-signature armour of an `InRelease` file, returning the
/// signed text. The signature itself is NOT verified.
pub fn strip_clearsign(text: &str, source_name: &str) -> Result<String> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "-----BEGIN PGP SIGNED MESSAGE-----" {
        // A plain Release file: use it as is.
        return Ok(text.to_string());
    }
    // Armour headers ("Hash: SHA256") end at the first blank line.
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
    }
    let mut out = String::new();
    for line in lines {
        if line.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
            return Ok(out);
        }
        // RFC 4880 dash-escaping.
        let line = line.strip_prefix("- ").unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    Err(Error::Syntax {
        source_name: source_name.to_string(),
        line: text.lines().count(),
        message: "clear-signed message without \"-----BEGIN PGP SIGNATURE-----\"".to_string(),
    })
}
