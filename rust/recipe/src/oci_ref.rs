//! OCI image references (`registry/repository[:tag][@sha256:digest]`), parsed as Docker does.

use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciRef {
    /// Registry host (with port), e.g. `ghcr.io`; `docker.io` when none was written.
    pub registry: String,
    /// Repository path, e.g. `offspot/kiwix-serve` (`library/` added for Docker Hub).
    pub repository: String,
    /// The tag, if written.
    pub tag: Option<String>,
    /// The digest (`sha256:<64 hex>`), if written.
    pub digest: Option<String>,
}

/// Why an image reference is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct OciRefError {
    /// The reference as written.
    pub reference: String,
    /// What is wrong with it.
    pub reason: String,
}

fn valid_component(c: &str) -> bool {
    !c.is_empty()
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether `s` is `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(is_sha256_hex)
}

/// Whether `s` is 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl OciRef {
    /// Parses a reference such as `ghcr.io/offspot/kiwix-serve:3.8.2_1` or
    /// `alpine@sha256:…`.
    pub fn parse(reference: &str) -> Result<OciRef, OciRefError> {
        let err = |reason: &str| OciRefError {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => {
                if !is_sha256_digest(d) {
                    return Err(err("the digest must be sha256: followed by 64 hex digits"));
                }
                (r, Some(d.to_string()))
            }
            None => (reference, None),
        };
        // A tag follows the last ':' only if no '/' comes after it (else it is a port).
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
            _ => (rest, None),
        };
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !t.starts_with(['.', '-']);
            if !ok {
                return Err(err("invalid tag"));
            }
        }
        let mut parts: Vec<&str> = name.split('/').collect();
        let first = parts.first().copied().unwrap_or_default();
        let registry = if parts.len() > 1
            && (first.contains('.') || first.contains(':') || first == "localhost")
        {
            parts.remove(0);
            first.to_string()
        } else {
            "docker.io".to_string()
        };
        if registry.is_empty() || registry.contains(char::is_whitespace) {
            return Err(err("invalid registry"));
        }
        if parts.is_empty() || !parts.iter().all(|p| valid_component(p)) {
            return Err(err(
                "repository components must be lowercase letters, digits, '.', '_' or '-'",
            ));
        }
        let mut repository = parts.join("/");
        if registry == "docker.io" && parts.len() == 1 {
            repository = format!("library/{repository}");
        }
        Ok(OciRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The tag, or `latest` when neither a tag nor a digest was written.
    pub fn tag_or_latest(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// What to ask the registry for: the digest when pinned, else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `registry/repository` (Docker Hub's short form is not used).
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for OciRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let r = OciRef::parse("ghcr.io/offspot/kiwix-serve:3.8.2_1").unwrap();
        assert_eq!(r.registry, "ghcr.io");
        assert_eq!(r.repository, "offspot/kiwix-serve");
        assert_eq!(r.tag.as_deref(), Some("3.8.2_1"));
        let r = OciRef::parse("alpine").unwrap();
        assert_eq!(r.name(), "docker.io/library/alpine");
        assert_eq!(r.reference(), "latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = OciRef::parse(&format!("127.0.0.1:5000/x/y:1@{d}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.reference(), d);
        assert!(OciRef::parse("Upper/Case").is_err());
        assert!(OciRef::parse("x@sha256:zz").is_err());
        assert!(OciRef::parse("x:").is_err());
        assert!(OciRef::parse("").is_err());
    }
}
