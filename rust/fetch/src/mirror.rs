//! Mirrors: fetch content from somewhere else than the recipe says, without changing
//! what the content is called.
//!
//! A rule `PREFIX=REPLACEMENT` rewrites every URL (base image, files, digest URLs) and
//! every OCI reference that starts with `PREFIX`. Only the transport changes: the cache
//! index, the lock file, checksums and image paths keep the recipe's URL or reference, so
//! a recipe written for `ghcr.io` and pulled from `127.0.0.1:5000` still yields
//! `/data/images/ghcr.io_…tar` tagged `ghcr.io/…`.

use std::str::FromStr;

/// One `PREFIX=REPLACEMENT` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// What a URL or reference must start with.
    pub prefix: String,
    /// What replaces the prefix.
    pub replacement: String,
}

/// Why a mirror rule cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mirror {rule:?}: {reason} (expected PREFIX=REPLACEMENT, e.g. https://drive.offspot.it/=http://127.0.0.1:8080/ or ghcr.io=127.0.0.1:5000)")]
pub struct MirrorError {
    /// The rule as given.
    pub rule: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Mirror {
    type Err = MirrorError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| MirrorError {
            rule: rule.to_string(),
            reason: reason.to_string(),
        };
        let (prefix, replacement) = rule.split_once('=').ok_or_else(|| err("no '='"))?;
        if prefix.is_empty() {
            return Err(err("empty PREFIX"));
        }
        if replacement.is_empty() {
            return Err(err("empty REPLACEMENT"));
        }
        Ok(Mirror {
            prefix: prefix.to_string(),
            replacement: replacement.to_string(),
        })
    }
}

/// Where to fetch `name` from: the rule with the longest matching prefix applied (so the
/// order of rules does not matter), or `name` itself when no rule matches.
pub fn source(mirrors: &[Mirror], name: &str) -> String {
    mirrors
        .iter()
        .filter(|m| name.starts_with(&m.prefix))
        .max_by_key(|m| m.prefix.len())
        .map_or_else(
            || name.to_string(),
            |m| format!("{}{}", m.replacement, &name[m.prefix.len()..]),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_bad_rules_are_refused() {
        let rules: Vec<Mirror> = [
            "https://drive.offspot.it/=http://127.0.0.1:1/",
            "https://drive.offspot.it/base/=http://127.0.0.1:2/b/",
            "ghcr.io=127.0.0.1:5000",
        ]
        .iter()
        .map(|r| r.parse().expect("valid rule"))
        .collect();
        assert_eq!(
            source(&rules, "https://drive.offspot.it/base/x.img"),
            "http://127.0.0.1:2/b/x.img"
        );
        assert_eq!(
            source(&rules, "https://drive.offspot.it/other"),
            "http://127.0.0.1:1/other"
        );
        assert_eq!(
            source(&rules, "ghcr.io/offspot/a:1"),
            "127.0.0.1:5000/offspot/a:1"
        );
        assert_eq!(source(&rules, "docker.io/x:1"), "docker.io/x:1");
        for bad in ["no-equals", "=x", "x="] {
            let e = bad.parse::<Mirror>().expect_err(bad).to_string();
            assert!(e.contains(bad) && e.contains("PREFIX=REPLACEMENT"), "{e}");
        }
    }
}
