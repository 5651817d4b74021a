//! Merging packages into one tree: conflicts, Replaces, usr-merge.

use nixspot_deb::tree::{
    relocate_symlink_target, usr_merge_path, Node, NodeKind, Resolution, Tree,
};

fn file(pkg: &str, content: u32) -> Node<u32> {
    Node {
        kind: NodeKind::File(content),
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 5,
        package: pkg.to_string(),
    }
}

fn dir(pkg: &str, mode: u32) -> Node<u32> {
    Node {
        kind: NodeKind::Dir,
        mode,
        uid: 0,
        gid: 0,
        mtime: 5,
        package: pkg.to_string(),
    }
}

fn link(pkg: &str, target: &str) -> Node<u32> {
    Node {
        kind: NodeKind::Symlink(target.to_string()),
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: 5,
        package: pkg.to_string(),
    }
}

#[test]
fn conflict_policy() {
    let mut t: Tree<u32> = Tree::new(false);
    t.insert("usr", dir("a", 0o755), &[]);
    t.insert("usr", dir("b", 0o700), &[]);
    t.insert("usr/f", file("a", 1), &[]);
    t.insert("usr/f", file("b", 1), &[]); // identical: shared
    t.insert("usr/g", file("a", 1), &[]);
    t.insert("usr/g", file("b", 2), &[]); // differs: first kept
    t.insert("usr/h", file("a", 1), &[]);
    t.insert("usr/h", file("c", 3), &["a".to_string()]); // Replaces: a
    t.insert("usr/i", file("a", 1), &[]);
    t.insert("usr/i", file("a", 4), &[]); // same package twice: later wins
    t.insert("usr/j", dir("a", 0o755), &[]);
    t.insert("usr/j", link("b", "x"), &[]); // dir vs symlink: conflict
    assert_eq!(t.get("usr").unwrap().mode, 0o755);
    assert_eq!(t.get("usr/f").unwrap().package, "a");
    assert_eq!(t.get("usr/g").unwrap().kind, NodeKind::File(1));
    assert_eq!(t.get("usr/h").unwrap().kind, NodeKind::File(3));
    assert_eq!(t.get("usr/i").unwrap().kind, NodeKind::File(4));
    let c: Vec<(&str, &str, &str, Resolution)> = t
        .conflicts()
        .iter()
        .map(|c| {
            (
                c.path.as_str(),
                c.first.as_str(),
                c.second.as_str(),
                c.resolution,
            )
        })
        .collect();
    assert_eq!(
        c,
        [
            ("usr/g", "a", "b", Resolution::KeptFirst),
            ("usr/h", "a", "c", Resolution::Replaced),
            ("usr/j", "a", "b", Resolution::KeptFirst),
        ]
    );
    let paths: Vec<&str> = t.paths_of("a").collect();
    assert_eq!(paths, ["usr", "usr/f", "usr/g", "usr/i", "usr/j"]);
}

#[test]
fn usr_merge_relocates_entries_and_fixes_relative_links() {
    assert_eq!(usr_merge_path("bin/sh"), "usr/bin/sh");
    assert_eq!(usr_merge_path("lib64"), "usr/lib64");
    assert_eq!(usr_merge_path("library/x"), "library/x");
    assert_eq!(usr_merge_path("usr/bin/x"), "usr/bin/x");
    // bin/x -> ../usr/lib/y would break once moved to usr/bin/x.
    assert_eq!(
        relocate_symlink_target("bin/x", "usr/bin/x", "../usr/lib/y"),
        "../lib/y"
    );
    // Links that still resolve are kept as written.
    assert_eq!(
        relocate_symlink_target("bin/x", "usr/bin/x", "busybox"),
        "busybox"
    );
    assert_eq!(
        relocate_symlink_target("lib/a/b", "usr/lib/a/b", "../c"),
        "../c"
    );
    assert_eq!(
        relocate_symlink_target("bin/x", "usr/bin/x", "/bin/busybox"),
        "/bin/busybox"
    );
    assert_eq!(
        relocate_symlink_target("sbin/x", "usr/sbin/x", "../bin/y"),
        "../bin/y"
    );
    assert_eq!(
        relocate_symlink_target("bin/x", "usr/bin/x", "../etc/y"),
        "../../etc/y"
    );

    let mut t: Tree<u32> = Tree::new(true);
    t.insert("bin", dir("busybox", 0o755), &[]);
    t.insert("bin/busybox", file("busybox", 1), &[]);
    t.insert("bin/sh", link("busybox", "busybox"), &[]);
    t.insert(
        "lib/ld-linux-aarch64.so.1",
        link("libc6", "aarch64-linux-gnu/ld-linux-aarch64.so.1"),
        &[],
    );
    t.insert("lib/modules/6.1/kernel/x.ko", file("linux", 2), &[]);
    t.insert("usr/bin/busybox", file("other", 3), &[]); // conflicts after the move
    t.insert("usr/lib64/ld.so", file("libc6", 4), &[]);
    t.insert(
        "bin/hard",
        Node {
            kind: NodeKind::Hardlink("bin/busybox".into()),
            ..file("busybox", 0)
        },
        &[],
    );
    t.finish(7).unwrap();
    let n = t.nodes();
    assert!(n
        .keys()
        .all(|p| !p.starts_with("bin/") && !p.starts_with("lib/")));
    assert_eq!(n["bin"].kind, NodeKind::Symlink("usr/bin".into()));
    assert_eq!(n["sbin"].kind, NodeKind::Symlink("usr/sbin".into()));
    assert_eq!(n["lib"].kind, NodeKind::Symlink("usr/lib".into()));
    assert_eq!(n["lib64"].kind, NodeKind::Symlink("usr/lib64".into()));
    assert!(!n.contains_key("lib32"));
    assert_eq!(n["usr/bin/sh"].kind, NodeKind::Symlink("busybox".into()));
    assert_eq!(
        n["usr/bin/hard"].kind,
        NodeKind::Hardlink("usr/bin/busybox".into())
    );
    assert!(n.contains_key("usr/lib/modules/6.1/kernel/x.ko"));
    // Implicit parents: 0755 root with the given mtime; usr/sbin exists for its link.
    assert_eq!(
        n["usr/lib/modules/6.1/kernel"],
        dir("", 0o755).with_mtime(7)
    );
    assert_eq!(n["usr/sbin"].kind, NodeKind::Dir);
    assert_eq!(t.conflicts().len(), 1);
    assert_eq!(t.conflicts()[0].path, "usr/bin/busybox");
}

trait WithMtime {
    fn with_mtime(self, m: u64) -> Self;
}
impl WithMtime for Node<u32> {
    fn with_mtime(mut self, m: u64) -> Self {
        self.mtime = m;
        self
    }
}

#[test]
fn finish_rejects_entries_below_non_directories_and_dangling_hard_links() {
    let mut t: Tree<u32> = Tree::new(false);
    t.insert("etc/x", file("a", 1), &[]);
    t.insert("etc/x/y", file("b", 1), &[]);
    let err = t.finish(0).unwrap_err().to_string();
    assert!(
        err.contains("/etc/x/y (from b)") && err.contains("file (from a)"),
        "{err}"
    );
    let mut t: Tree<u32> = Tree::new(false);
    t.insert(
        "h",
        Node {
            kind: NodeKind::Hardlink("missing".into()),
            ..file("a", 0)
        },
        &[],
    );
    let err = t.finish(0).unwrap_err().to_string();
    assert!(err.contains("hard link /h"), "{err}");
    // A generated entry replaces whatever a package shipped.
    let mut t: Tree<u32> = Tree::new(true);
    t.insert("etc/passwd", file("base-passwd", 1), &[]);
    t.set("etc/passwd", file("", 9));
    t.finish(0).unwrap();
    assert_eq!(t.get("etc/passwd").unwrap().kind, NodeKind::File(9));
    assert!(t.conflicts().is_empty());
}
