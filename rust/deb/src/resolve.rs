//! Transitive closure of `Depends` + `Pre-Depends`, deterministic and without a SAT
//! solver: the first usable alternative wins, real packages before virtual ones.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use crate::index::{Package, PackageIndex};
use crate::relation::{format_alternatives, Relation};
use crate::version::Version;

/// What to leave out of the closure.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// Package (or virtual package) names never installed. A dependency clause whose
    /// first usable alternative is excluded counts as satisfied (the image provides
    /// the function another way or does without it), and is reported in
    /// [`Resolution::excluded`].
    pub exclude: BTreeSet<String>,
}

/// A dependency dropped because it named an excluded package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcludedDependency {
    /// The package declaring the dependency.
    pub package: String,
    /// The clause as written (`a | b (>= 1)`).
    pub clause: String,
    /// The excluded name that ended the search.
    pub excluded: String,
}

/// The resolved closure.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    /// Selected packages, sorted by name.
    pub packages: Vec<&'a Package>,
    /// Dependencies skipped because of exclusions, in resolution order.
    pub excluded: Vec<ExcludedDependency>,
}

/// Why a closure cannot be built, with the chain of packages that led there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveError {
    /// From a requested package down to the package whose dependency fails (empty when
    /// a requested package itself is unusable).
    pub chain: Vec<String>,
    /// `Depends`, `Pre-Depends` or `requested`.
    pub field: String,
    /// The clause that cannot be satisfied.
    pub clause: String,
    /// Why each alternative failed, in order.
    pub reasons: Vec<String>,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.chain.is_empty() {
            write!(f, "cannot install requested package {}", self.clause)?;
        } else {
            write!(
                f,
                "cannot satisfy {}: {} of {}",
                self.field,
                self.clause,
                self.chain.join(" -> ")
            )?;
        }
        write!(f, " ({})", self.reasons.join("; "))
    }
}

impl std::error::Error for ResolveError {}

fn priority_rank(p: &Package) -> u8 {
    match p.priority.as_str() {
        "required" => 0,
        "important" => 1,
        "standard" => 2,
        "optional" => 3,
        "extra" => 4,
        _ => 5,
    }
}

struct State<'a> {
    index: &'a PackageIndex,
    selected: BTreeMap<String, &'a Package>,
    /// Virtual name → versions provided by selected packages (None = unversioned).
    virtuals: BTreeMap<String, Vec<Option<Version>>>,
    /// Package → the package that pulled it in (absent for requested ones).
    parent: BTreeMap<String, String>,
    queue: VecDeque<&'a Package>,
}

impl<'a> State<'a> {
    fn select(&mut self, p: &'a Package, parent: Option<&str>) {
        if self.selected.contains_key(&p.name) {
            return;
        }
        self.selected.insert(p.name.clone(), p);
        for prov in &p.provides {
            let v = prov.constraint.as_ref().map(|(_, v)| v.clone());
            self.virtuals.entry(prov.name.clone()).or_default().push(v);
        }
        if let Some(parent) = parent {
            self.parent.insert(p.name.clone(), parent.to_string());
        }
        self.queue.push_back(p);
    }

    fn satisfied(&self, rel: &Relation) -> bool {
        if let Some(p) = self.selected.get(&rel.name) {
            if rel.version_matches(&p.version) {
                return true;
            }
        }
        // dpkg: an unversioned Provides never satisfies a versioned dependency.
        self.virtuals.get(&rel.name).is_some_and(|vs| {
            vs.iter().any(|v| match (&rel.constraint, v) {
                (None, _) => true,
                (Some(_), Some(v)) => rel.version_matches(v),
                (Some(_), None) => false,
            })
        })
    }

    /// Picks a package for `rel`, or says why none fits.
    fn choose(&self, rel: &Relation, exclude: &BTreeSet<String>) -> Result<&'a Package, String> {
        if let Some(p) = self.selected.get(&rel.name) {
            return Err(format!(
                "{}: selected version {} does not satisfy it",
                rel.name, p.version_text
            ));
        }
        let mut reason = String::new();
        let versions: Vec<&'a Package> = self.index.versions(&rel.name).collect();
        if let Some(p) = versions.iter().find(|p| rel.version_matches(&p.version)) {
            return Ok(p);
        }
        if !versions.is_empty() {
            let list: Vec<&str> = versions.iter().map(|p| p.version_text.as_str()).collect();
            reason = format!("{}: available version(s) {}", rel.name, list.join(", "));
        }
        let index: &'a PackageIndex = self.index;
        let mut providers: Vec<&'a Package> = index
            .providers(&rel.name)
            .filter(|(_, prov)| match (&rel.constraint, &prov.constraint) {
                (None, _) => true,
                (Some(_), Some((_, v))) => rel.version_matches(v),
                (Some(_), None) => false,
            })
            .map(|(p, _)| p)
            .filter(|p| !exclude.contains(&p.name))
            .filter(|p| match self.selected.get(&p.name) {
                None => true,
                Some(s) => s.version == p.version,
            })
            .collect();
        providers.sort_by(|a, b| {
            priority_rank(a)
                .cmp(&priority_rank(b))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| b.version.cmp(&a.version))
        });
        if let Some(p) = providers.first() {
            return Ok(p);
        }
        if reason.is_empty() {
            let provided = self.index.providers(&rel.name).count() > 0;
            reason = if provided {
                format!("{}: no usable provider", rel.name)
            } else {
                format!("{}: no such package", rel.name)
            };
        }
        Err(reason)
    }

    fn chain(&self, name: &str) -> Vec<String> {
        let mut chain = vec![name.to_string()];
        let mut cur = name;
        while let Some(p) = self.parent.get(cur) {
            // Parents form a tree (a package is selected once), so this ends.
            chain.push(p.clone());
            cur = p;
        }
        chain.reverse();
        chain
    }
}

/// Resolves the closure of `requested` (names, or `name (op version)` relations).
/// Requested packages are selected first, so they win over other providers.
pub fn resolve<'a>(
    index: &'a PackageIndex,
    requested: &[String],
    options: &ResolveOptions,
) -> Result<Resolution<'a>, ResolveError> {
    let mut st = State {
        index,
        selected: BTreeMap::new(),
        virtuals: BTreeMap::new(),
        parent: BTreeMap::new(),
        queue: VecDeque::new(),
    };
    let root_err = |clause: &str, reason: String| ResolveError {
        chain: Vec::new(),
        field: "requested".to_string(),
        clause: clause.to_string(),
        reasons: vec![reason],
    };
    for r in requested {
        let rels =
            crate::relation::parse_relation_list(r).map_err(|e| root_err(r, e.to_string()))?;
        let [rel] = rels.as_slice() else {
            return Err(root_err(r, "expected exactly one package".to_string()));
        };
        if options.exclude.contains(&rel.name) {
            return Err(root_err(r, format!("{} is excluded", rel.name)));
        }
        if st.satisfied(rel) {
            continue;
        }
        let p = st
            .choose(rel, &options.exclude)
            .map_err(|e| root_err(r, e))?;
        st.select(p, None);
    }
    let mut excluded = Vec::new();
    while let Some(pkg) = st.queue.pop_front() {
        let clauses = pkg
            .pre_depends
            .iter()
            .map(|c| ("Pre-Depends", c))
            .chain(pkg.depends.iter().map(|c| ("Depends", c)));
        for (field, alts) in clauses {
            if alts.iter().any(|a| st.satisfied(a)) {
                continue;
            }
            let mut reasons = Vec::new();
            let mut done = false;
            for alt in alts {
                if options.exclude.contains(&alt.name) {
                    excluded.push(ExcludedDependency {
                        package: pkg.name.clone(),
                        clause: format_alternatives(alts),
                        excluded: alt.name.clone(),
                    });
                    done = true;
                    break;
                }
                match st.choose(alt, &options.exclude) {
                    Ok(p) => {
                        st.select(p, Some(&pkg.name));
                        done = true;
                        break;
                    }
                    Err(r) => reasons.push(r),
                }
            }
            if !done {
                return Err(ResolveError {
                    chain: st.chain(&pkg.name),
                    field: field.to_string(),
                    clause: format_alternatives(alts),
                    reasons,
                });
            }
        }
    }
    Ok(Resolution {
        packages: st.selected.into_values().collect(),
        excluded,
    })
}
