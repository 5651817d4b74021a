//! Dependency relations: `Depends`, `Pre-Depends`, `Provides`, `Replaces` field values.

use std::fmt;

use crate::error::{Error, Result};
use crate::version::Version;

/// A version relation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<<`
    Less,
    /// `<=` (and the obsolete `<`, which dpkg reads as `<=`)
    LessEq,
    /// `=`
    Eq,
    /// `>=` (and the obsolete `>`, which dpkg reads as `>=`)
    GreaterEq,
    /// `>>`
    Greater,
}

impl Op {
    /// Whether `actual OP wanted` holds.
    pub fn holds(self, actual: &Version, wanted: &Version) -> bool {
        use std::cmp::Ordering::*;
        let c = actual.cmp(wanted);
        match self {
            Op::Less => c == Less,
            Op::LessEq => c != Greater,
            Op::Eq => c == Equal,
            Op::GreaterEq => c != Less,
            Op::Greater => c == Greater,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Less => "<<",
            Op::LessEq => "<=",
            Op::Eq => "=",
            Op::GreaterEq => ">=",
            Op::Greater => ">>",
        }
    }
}

/// An architecture qualifier on a relation (`name:any`, `name:native`, `name:arm64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchQualifier {
    /// `:any` — any architecture may satisfy it (needs `Multi-Arch: allowed` in dpkg;
    /// a single-architecture image treats it like the plain name).
    Any,
    /// `:native` — the native architecture.
    Native,
    /// An explicit architecture.
    Named(String),
}

/// One alternative: `name[:arch] [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// Package (or virtual package) name.
    pub name: String,
    /// Architecture qualifier, if any.
    pub arch: Option<ArchQualifier>,
    /// Version constraint, if any.
    pub constraint: Option<(Op, Version)>,
}

impl Relation {
    /// Whether a package version satisfies the constraint (always true without one).
    pub fn version_matches(&self, version: &Version) -> bool {
        match &self.constraint {
            None => true,
            Some((op, wanted)) => op.holds(version, wanted),
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.arch {
            Some(ArchQualifier::Any) => f.write_str(":any")?,
            Some(ArchQualifier::Native) => f.write_str(":native")?,
            Some(ArchQualifier::Named(a)) => write!(f, ":{a}")?,
            None => {}
        }
        if let Some((op, v)) = &self.constraint {
            write!(f, " ({} {v})", op.as_str())?;
        }
        Ok(())
    }
}

/// A dependency clause: alternatives separated by `|`, the first usable one wins.
pub type Alternatives = Vec<Relation>;

/// Formats a clause the way it appears in a control file.
pub fn format_alternatives(alts: &[Relation]) -> String {
    alts.iter()
        .map(Relation::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Parses a `Depends`-style field: comma-separated clauses of `|`-separated relations.
pub fn parse_depends(input: &str) -> Result<Vec<Alternatives>> {
    let mut clauses = Vec::new();
    let parts: Vec<&str> = input.split(',').collect();
    for (i, clause) in parts.iter().enumerate() {
        if clause.trim().is_empty() {
            // dpkg tolerates an empty field and a trailing comma, nothing else.
            if i + 1 == parts.len() {
                continue;
            }
            return Err(relation_err(input, "empty clause between commas"));
        }
        let mut alts = Vec::new();
        for alt in clause.split('|') {
            alts.push(parse_relation(alt, input)?);
        }
        clauses.push(alts);
    }
    Ok(clauses)
}

/// Parses a `Provides`/`Replaces`-style field: comma-separated relations without `|`.
pub fn parse_relation_list(input: &str) -> Result<Vec<Relation>> {
    let mut out = Vec::new();
    for clause in parse_depends(input)? {
        if clause.len() != 1 {
            return Err(relation_err(input, "alternatives (|) are not allowed here"));
        }
        out.extend(clause);
    }
    Ok(out)
}

fn relation_err(input: &str, message: &str) -> Error {
    Error::Relation {
        input: input.to_string(),
        message: message.to_string(),
    }
}

fn valid_package_name(name: &str) -> bool {
    // Policy 5.6.1 (lower case, digits, + - .), starting alphanumeric; accept upper case
    // too, as dpkg does for old packages.
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

fn parse_relation(text: &str, whole: &str) -> Result<Relation> {
    let text = text.trim();
    if text.is_empty() {
        return Err(relation_err(whole, "empty alternative"));
    }
    if text.contains('[') || text.contains('<') && !text.contains('(') {
        return Err(relation_err(
            whole,
            "architecture restrictions [..] and build profiles <..> are only valid in source packages",
        ));
    }
    let (head, constraint) = match text.find('(') {
        Some(open) => {
            let Some(close) = text.rfind(')') else {
                return Err(relation_err(whole, "missing ')'"));
            };
            if close < open || !text[close + 1..].trim().is_empty() {
                return Err(relation_err(whole, &format!("junk after ')' in {text:?}")));
            }
            (
                &text[..open],
                Some(parse_constraint(&text[open + 1..close], whole)?),
            )
        }
        None => (text, None),
    };
    let head = head.trim();
    let (name, arch) = match head.split_once(':') {
        Some((n, a)) => {
            let q = match a {
                "any" => ArchQualifier::Any,
                "native" => ArchQualifier::Native,
                a if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
                    ArchQualifier::Named(a.to_string())
                }
                _ => return Err(relation_err(whole, &format!("invalid architecture {a:?}"))),
            };
            (n, Some(q))
        }
        None => (head, None),
    };
    if !valid_package_name(name) {
        return Err(relation_err(
            whole,
            &format!("invalid package name {name:?}"),
        ));
    }
    Ok(Relation {
        name: name.to_string(),
        arch,
        constraint,
    })
}

fn parse_constraint(text: &str, whole: &str) -> Result<(Op, Version)> {
    let text = text.trim();
    let ops: [(&str, Op); 7] = [
        ("<<", Op::Less),
        ("<=", Op::LessEq),
        (">=", Op::GreaterEq),
        (">>", Op::Greater),
        ("=", Op::Eq),
        ("<", Op::LessEq),
        (">", Op::GreaterEq),
    ];
    for (s, op) in ops {
        if let Some(rest) = text.strip_prefix(s) {
            let v = Version::parse(rest.trim()).map_err(|e| relation_err(whole, &e.to_string()))?;
            return Ok((op, v));
        }
    }
    Err(relation_err(
        whole,
        &format!("expected one of << <= = >= >> in ({text})"),
    ))
}
