//! Merging the data of many packages into one file tree, as dpkg would unpack them,
//! with an explicit conflict policy and optional usr-merge.
//!
//! Conflict policy, for a path shipped by package A and then by package B:
//! - both directories: the first metadata stays, no conflict (directories are shared);
//! - identical entries (same kind, target, content handle, mode and owner): no conflict;
//! - B declares `Replaces: A`: B's entry wins, recorded as [`Resolution::Replaced`];
//! - otherwise A's entry stays and a [`Resolution::KeptFirst`] conflict is recorded:
//!   dpkg would refuse to install B; the caller decides whether that is fatal.
//!
//! The same package shipping a path twice keeps the later entry (tar semantics).

use std::collections::BTreeMap;

use crate::deb::{EntryKind, EntryMeta};
use crate::error::{Error, Result};

/// Top-level directories that bookworm's usrmerge turns into symlinks into `/usr`.
pub const USR_MERGED_DIRS: [&str; 7] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32", "libo32"];

/// What a node is. `T` is the caller's handle for file contents (a content hash, a
/// spool file offset…); equal handles mean equal contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind<T> {
    /// Regular file.
    File(T),
    /// Directory.
    Dir,
    /// Symbolic link and its target.
    Symlink(String),
    /// Hard link to another path of the tree.
    Hardlink(String),
    /// Character device.
    Char {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Block device.
    Block {
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// Named pipe.
    Fifo,
}

/// One path of the merged tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node<T> {
    /// Kind and content.
    pub kind: NodeKind<T>,
    /// Permission bits incl. setuid/setgid/sticky.
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time.
    pub mtime: u64,
    /// Package that shipped it ("" for generated entries).
    pub package: String,
}

impl<T> Node<T> {
    /// Builds a node from `.deb` entry metadata; `content` is used for regular files.
    pub fn from_entry(meta: &EntryMeta, package: &str, content: T) -> Node<T> {
        non_file_node(meta, package).unwrap_or_else(|| Node {
            kind: NodeKind::File(content),
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            mtime: meta.mtime,
            package: package.to_string(),
        })
    }
}

/// The node for a non-file entry (None for regular files, which need content).
pub(crate) fn non_file_node<T>(meta: &EntryMeta, package: &str) -> Option<Node<T>> {
    let kind = match &meta.kind {
        EntryKind::File => return None,
        EntryKind::Dir => NodeKind::Dir,
        EntryKind::Symlink(t) => NodeKind::Symlink(t.clone()),
        EntryKind::Hardlink(t) => NodeKind::Hardlink(t.clone()),
        EntryKind::Char { major, minor } => NodeKind::Char {
            major: *major,
            minor: *minor,
        },
        EntryKind::Block { major, minor } => NodeKind::Block {
            major: *major,
            minor: *minor,
        },
        EntryKind::Fifo => NodeKind::Fifo,
    };
    Some(Node {
        kind,
        mode: meta.mode,
        uid: meta.uid,
        gid: meta.gid,
        mtime: meta.mtime,
        package: package.to_string(),
    })
}

/// How a conflict was settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The first package's entry stayed (dpkg would have refused the second package).
    KeptFirst,
    /// The second package declared `Replaces` on the first and its entry won.
    Replaced,
}

/// A path shipped differently by two packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Path in the tree (after usr-merge).
    pub path: String,
    /// Package whose entry was there first.
    pub first: String,
    /// Package that shipped the path again.
    pub second: String,
    /// What happened.
    pub resolution: Resolution,
}

/// A merged file tree, paths relative to `/`, sorted.
#[derive(Debug, Clone)]
pub struct Tree<T> {
    nodes: BTreeMap<String, Node<T>>,
    conflicts: Vec<Conflict>,
    usr_merge: bool,
}

/// Maps a path to its usr-merged location (`bin/sh` → `usr/bin/sh`).
pub fn usr_merge_path(path: &str) -> String {
    let first = path.split('/').next().unwrap_or("");
    if USR_MERGED_DIRS.contains(&first) {
        format!("usr/{path}")
    } else {
        path.to_string()
    }
}

/// Lexically resolves `target` relative to directory `dir` (both relative to `/`);
/// `..` at the root stays at the root, as in the kernel.
fn resolve_lexically(dir: &str, target: &str) -> Vec<String> {
    let mut parts: Vec<String> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c.to_string()),
        }
    }
    parts
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Rewrites a relative symlink target after its link moved from `old` to `new`, so it
/// still points at the usr-merged location of what it pointed at. Absolute targets
/// and targets that still resolve correctly are kept as written.
pub fn relocate_symlink_target(old: &str, new: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_string();
    }
    let pointed = resolve_lexically(parent_of(old), target).join("/");
    let wanted = usr_merge_path(&pointed);
    if resolve_lexically(parent_of(new), target).join("/") == wanted {
        return target.to_string();
    }
    let from: Vec<&str> = parent_of(new)
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let to: Vec<&str> = wanted.split('/').filter(|s| !s.is_empty()).collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel: Vec<&str> = vec![".."; from.len() - common];
    rel.extend(to.iter().skip(common));
    if rel.is_empty() {
        ".".to_string()
    } else {
        rel.join("/")
    }
}

impl<T: Clone + PartialEq> Tree<T> {
    /// An empty tree; with `usr_merge`, entries under `/bin`, `/sbin`, `/lib*` are
    /// moved under `/usr` as they are inserted, and [`Tree::finish`] adds the links.
    pub fn new(usr_merge: bool) -> Tree<T> {
        Tree {
            nodes: BTreeMap::new(),
            conflicts: Vec::new(),
            usr_merge,
        }
    }

    /// Inserts a package's entry at `path` (normalised, relative). `replaces` lists the
    /// package names the inserting package declares in `Replaces`.
    pub fn insert(&mut self, path: &str, mut node: Node<T>, replaces: &[String]) {
        let path = if self.usr_merge {
            let merged = usr_merge_path(path);
            if merged != path {
                if let NodeKind::Symlink(t) = &node.kind {
                    node.kind = NodeKind::Symlink(relocate_symlink_target(path, &merged, t));
                }
            }
            if let NodeKind::Hardlink(t) = &node.kind {
                node.kind = NodeKind::Hardlink(usr_merge_path(t));
            }
            merged
        } else {
            path.to_string()
        };
        let Some(existing) = self.nodes.get(&path) else {
            self.nodes.insert(path, node);
            return;
        };
        if existing.kind == NodeKind::Dir && node.kind == NodeKind::Dir {
            return;
        }
        if existing.package == node.package {
            self.nodes.insert(path, node);
            return;
        }
        let same = existing.kind == node.kind
            && existing.mode == node.mode
            && existing.uid == node.uid
            && existing.gid == node.gid;
        if same {
            return;
        }
        let first = existing.package.clone();
        let resolution = if replaces.contains(&first) {
            Resolution::Replaced
        } else {
            Resolution::KeptFirst
        };
        self.conflicts.push(Conflict {
            path: path.clone(),
            first,
            second: node.package.clone(),
            resolution,
        });
        if resolution == Resolution::Replaced {
            self.nodes.insert(path, node);
        }
    }

    /// Sets a generated entry (e.g. `etc/passwd`), replacing whatever a package
    /// shipped there: generated files are what the maintainer scripts would write.
    pub fn set(&mut self, path: &str, node: Node<T>) {
        self.nodes.insert(path.to_string(), node);
    }

    /// The entry at a path.
    pub fn get(&self, path: &str) -> Option<&Node<T>> {
        self.nodes.get(path)
    }

    /// All entries, sorted by path (parents before children).
    pub fn nodes(&self) -> &BTreeMap<String, Node<T>> {
        &self.nodes
    }

    /// Conflicts in insertion order (deterministic for a fixed package order).
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// Paths shipped by a package, sorted (for `/var/lib/dpkg/info/PKG.list`).
    pub fn paths_of<'a>(&'a self, package: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.nodes
            .iter()
            .filter(move |(_, n)| n.package == package)
            .map(|(p, _)| p.as_str())
    }

    /// Completes the tree: adds the usr-merge links (`bin`, `sbin`, `lib`, and the
    /// other `lib*` ones whose `usr/` directory exists), creates missing parent
    /// directories (0755, root, `mtime`), and checks that no entry lives below a
    /// non-directory and that hard links point at regular files.
    pub fn finish(&mut self, mtime: u64) -> Result<()> {
        if self.usr_merge {
            for dir in USR_MERGED_DIRS {
                let always = matches!(dir, "bin" | "sbin" | "lib");
                let target = format!("usr/{dir}");
                let used = self
                    .nodes
                    .range(target.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k == &target || k.starts_with(&format!("{target}/")));
                if always || used {
                    if let Some(n) = self.nodes.get(dir) {
                        return Err(Error::Config(format!(
                            "/{dir} exists as {:?} from {}, cannot make it a usr-merge link",
                            n.kind_name(),
                            n.package
                        )));
                    }
                    self.nodes.insert(
                        dir.to_string(),
                        Node {
                            kind: NodeKind::Symlink(format!("usr/{dir}")),
                            mode: 0o777,
                            uid: 0,
                            gid: 0,
                            mtime,
                            package: String::new(),
                        },
                    );
                    self.ensure_dir(&format!("usr/{dir}"), mtime);
                }
            }
        }
        let paths: Vec<String> = self.nodes.keys().cloned().collect();
        for p in &paths {
            let mut parent = parent_of(p);
            while !parent.is_empty() {
                self.ensure_dir(parent, mtime);
                parent = parent_of(parent);
            }
        }
        for (p, n) in &self.nodes {
            let parent = parent_of(p);
            if !parent.is_empty() {
                if let Some(pn) = self.nodes.get(parent) {
                    if pn.kind != NodeKind::Dir {
                        return Err(Error::Config(format!(
                            "/{p} (from {}) is below /{parent}, which is a {} (from {})",
                            n.package,
                            pn.kind_name(),
                            pn.package
                        )));
                    }
                }
            }
            if let NodeKind::Hardlink(t) = &n.kind {
                if !matches!(self.nodes.get(t).map(|n| &n.kind), Some(NodeKind::File(_))) {
                    return Err(Error::Config(format!(
                        "hard link /{p} (from {}) points at /{t}, which is not a regular file",
                        n.package
                    )));
                }
            }
        }
        Ok(())
    }

    fn ensure_dir(&mut self, path: &str, mtime: u64) {
        self.nodes.entry(path.to_string()).or_insert_with(|| Node {
            kind: NodeKind::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime,
            package: String::new(),
        });
    }
}

impl<T> Node<T> {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            NodeKind::File(_) => "file",
            NodeKind::Dir => "directory",
            NodeKind::Symlink(_) => "symlink",
            NodeKind::Hardlink(_) => "hard link",
            NodeKind::Char { .. } => "character device",
            NodeKind::Block { .. } => "block device",
            NodeKind::Fifo => "fifo",
        }
    }
}
