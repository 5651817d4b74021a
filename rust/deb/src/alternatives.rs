//! `update-alternatives` without running it: from a declarative list of alternatives,
//! the symlinks (`LINK → /etc/alternatives/NAME → PATH`) and the administrative
//! files of `/var/lib/dpkg/alternatives/` it would leave (all in automatic mode).

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// A slave link that follows its master's choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slave {
    /// Slave name (`awk.1.gz`).
    pub name: String,
    /// Slave link (`/usr/share/man/man1/awk.1.gz`).
    pub link: String,
    /// Path this choice provides for it.
    pub path: String,
}

/// One `update-alternatives --install LINK NAME PATH PRIORITY [--slave …]` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// Generic name (`awk`).
    pub name: String,
    /// Master link (`/usr/bin/awk`).
    pub link: String,
    /// This choice's target (`/usr/bin/mawk`).
    pub path: String,
    /// Priority; the highest existing choice wins.
    pub priority: i64,
    /// Slaves.
    pub slaves: Vec<Slave>,
}

/// A symlink to create.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Link {
    /// Where the link goes (relative to `/`, no leading slash).
    pub path: String,
    /// Its target (absolute, as update-alternatives writes it).
    pub target: String,
}

/// Links and admin files for a set of alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlternativesOutput {
    /// Symlinks, sorted by path.
    pub links: Vec<Link>,
    /// `var/lib/dpkg/alternatives/NAME` → content, by name.
    pub admin_files: BTreeMap<String, String>,
}

/// Picks, per name, the highest-priority choice whose `path` exists (`exists` gets the
/// path without its leading slash; ties go to the smaller path) and renders the links.
/// Names without an existing choice get nothing, as update-alternatives removes them.
pub fn alternatives(
    alts: &[Alternative],
    exists: impl Fn(&str) -> bool,
) -> Result<AlternativesOutput> {
    let mut by_name: BTreeMap<&str, Vec<&Alternative>> = BTreeMap::new();
    for a in alts {
        for p in [&a.link, &a.path] {
            if !p.starts_with('/') {
                return Err(Error::Config(format!(
                    "alternative {}: {p:?} is not an absolute path",
                    a.name
                )));
            }
        }
        if a.name.is_empty() || a.name.contains('/') {
            return Err(Error::Config(format!(
                "alternative name {:?} is invalid",
                a.name
            )));
        }
        by_name.entry(a.name.as_str()).or_default().push(a);
    }
    let mut links = Vec::new();
    let mut admin_files = BTreeMap::new();
    for (name, choices) in by_name {
        let first = choices[0];
        if let Some(other) = choices.iter().find(|c| c.link != first.link) {
            return Err(Error::Config(format!(
                "alternative {name}: link {} conflicts with {}",
                other.link, first.link
            )));
        }
        // The slave names of all choices, in first-seen order.
        let mut slave_names: Vec<(&str, &str)> = Vec::new();
        for c in &choices {
            for s in &c.slaves {
                if !slave_names.iter().any(|(n, _)| *n == s.name) {
                    slave_names.push((&s.name, &s.link));
                }
            }
        }
        let mut present: Vec<&Alternative> = choices
            .iter()
            .copied()
            .filter(|c| exists(c.path.trim_start_matches('/')))
            .collect();
        if present.is_empty() {
            continue;
        }
        present.sort_by(|a, b| {
            b.priority
                .cmp(&a.priority)
                .then_with(|| a.path.cmp(&b.path))
        });
        let best = present[0];
        let etc = |n: &str| format!("etc/alternatives/{n}");
        links.push(Link {
            path: first.link.trim_start_matches('/').to_string(),
            target: format!("/{}", etc(name)),
        });
        links.push(Link {
            path: etc(name),
            target: best.path.clone(),
        });
        for s in &best.slaves {
            if exists(s.path.trim_start_matches('/')) {
                links.push(Link {
                    path: s.link.trim_start_matches('/').to_string(),
                    target: format!("/{}", etc(&s.name)),
                });
                links.push(Link {
                    path: etc(&s.name),
                    target: s.path.clone(),
                });
            }
        }
        let mut admin = format!("auto\n{}\n", first.link);
        for (n, l) in &slave_names {
            admin.push_str(&format!("{n}\n{l}\n"));
        }
        admin.push('\n');
        let mut sorted = present.clone();
        sorted.sort_by(|a, b| a.path.cmp(&b.path));
        for c in sorted {
            admin.push_str(&format!("{}\n{}\n", c.path, c.priority));
            for (n, _) in &slave_names {
                let p = c
                    .slaves
                    .iter()
                    .find(|s| s.name == *n)
                    .map_or("", |s| s.path.as_str());
                admin.push_str(p);
                admin.push('\n');
            }
        }
        admin.push('\n');
        admin_files.insert(format!("var/lib/dpkg/alternatives/{name}"), admin);
    }
    links.sort();
    Ok(AlternativesOutput { links, admin_files })
}
