//! Closure resolution.

mod common;

use std::collections::BTreeSet;

use nixspot_deb::index::{parse_packages, PackageIndex};
use nixspot_deb::resolve::{resolve, ResolveOptions};

fn index(stanzas: &[String]) -> PackageIndex {
    PackageIndex::new(
        parse_packages(&stanzas.concat(), "Packages").unwrap(),
        "arm64",
    )
}

fn names(idx: &PackageIndex, req: &[&str], exclude: &[&str]) -> Vec<String> {
    let req: Vec<String> = req.iter().map(|s| s.to_string()).collect();
    let opts = ResolveOptions {
        exclude: exclude.iter().map(|s| s.to_string()).collect(),
    };
    resolve(idx, &req, &opts)
        .unwrap()
        .packages
        .iter()
        .map(|p| format!("{}={}", p.name, p.version_text))
        .collect()
}

fn s(name: &str, version: &str, extra: &str) -> String {
    common::stanza(name, version, extra)
}

#[test]
fn follows_depends_and_pre_depends_transitively() {
    let idx = index(&[
        s("app", "1", "Depends: liba (>= 2), libb\nPre-Depends: init"),
        s("liba", "1", ""),
        s("liba", "2", "Depends: libc6"),
        s("libb", "1", "Depends: libc6 (>= 2.30)"),
        s("libc6", "2.36-9", ""),
        s("init", "1", ""),
        s("unrelated", "1", ""),
    ]);
    assert_eq!(
        names(&idx, &["app"], &[]),
        ["app=1", "init=1", "liba=2", "libb=1", "libc6=2.36-9"]
    );
}

#[test]
fn picks_first_satisfiable_alternative_and_prefers_selected_ones() {
    let idx = index(&[
        s("a", "1", "Depends: missing | b (>= 2) | c | d"),
        s("b", "1", ""),
        s("c", "1", ""),
        s("d", "1", ""),
    ]);
    assert_eq!(names(&idx, &["a"], &[]), ["a=1", "c=1"]);
    // An alternative that is already selected satisfies the clause.
    assert_eq!(names(&idx, &["a", "d"], &[]), ["a=1", "d=1"]);
}

#[test]
fn real_packages_beat_virtual_ones_and_providers_are_chosen_deterministically() {
    let idx = index(&[
        s("app", "1", "Depends: awk, mta, real"),
        s("real", "1", ""),
        s("zzz", "1", "Provides: real"),
        s("gawk", "1", "Provides: awk\nPriority: optional"),
        s("mawk", "1", "Provides: awk\nPriority: required"),
        s("postfix", "1", "Provides: mta"),
        s("exim", "1", "Provides: mta"),
    ]);
    assert_eq!(
        names(&idx, &["app"], &[]),
        ["app=1", "exim=1", "mawk=1", "real=1"]
    );
    // A requested provider wins over the default choice.
    assert_eq!(
        names(&idx, &["app", "gawk", "postfix"], &[]),
        ["app=1", "gawk=1", "postfix=1", "real=1"]
    );
}

#[test]
fn versioned_dependencies_need_versioned_provides() {
    let idx = index(&[
        s("app", "1", "Depends: v (>= 2)"),
        s("p1", "1", "Provides: v"),
        s("p2", "1", "Provides: v (= 1)"),
        s("p3", "1", "Provides: v (= 2.5)"),
    ]);
    assert_eq!(names(&idx, &["app"], &[]), ["app=1", "p3=1"]);
}

#[test]
fn excluded_packages_satisfy_dependencies_by_omission() {
    let idx = index(&[
        s(
            "kernel",
            "1",
            "Depends: kmod, initramfs-tools | linux-initramfs-tool",
        ),
        s("kmod", "1", ""),
        s("initramfs-tools", "1", "Depends: perl"),
        s("dracut", "1", "Provides: linux-initramfs-tool"),
        s("perl", "1", ""),
    ]);
    let opts = ResolveOptions {
        exclude: ["initramfs-tools", "kmod"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let r = resolve(&idx, &["kernel".to_string()], &opts).unwrap();
    let got: Vec<&str> = r.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, ["kernel"]);
    assert_eq!(r.excluded.len(), 2);
    assert_eq!(r.excluded[0].excluded, "kmod");
    assert_eq!(
        r.excluded[1].clause,
        "initramfs-tools | linux-initramfs-tool"
    );
    // Requesting an excluded package is an error.
    let err = resolve(&idx, &["kmod".to_string()], &opts).unwrap_err();
    assert!(err.to_string().contains("kmod is excluded"), "{err}");
}

#[test]
fn unsatisfiable_dependencies_report_the_chain_and_reasons() {
    let idx = index(&[
        s("top", "1", "Depends: mid"),
        s("mid", "1", "Depends: leaf (>= 2) | ghost | virt (>= 1)"),
        s("leaf", "1.5", ""),
        s("prov", "1", "Provides: virt"),
    ]);
    let err = resolve(&idx, &["top".to_string()], &ResolveOptions::default()).unwrap_err();
    assert_eq!(err.chain, ["top", "mid"]);
    assert_eq!(err.field, "Depends");
    assert_eq!(err.clause, "leaf (>= 2) | ghost | virt (>= 1)");
    let msg = err.to_string();
    for part in [
        "top -> mid",
        "leaf: available version(s) 1.5",
        "ghost: no such package",
        "virt: no usable provider",
    ] {
        assert!(msg.contains(part), "{msg} lacks {part}");
    }
    let err = resolve(&idx, &["nope".to_string()], &ResolveOptions::default()).unwrap_err();
    assert!(err.to_string().contains("requested package nope"), "{err}");
}

#[test]
fn result_does_not_depend_on_request_or_index_order() {
    let base = vec![
        s("a", "1", "Depends: x | y, c"),
        s("b", "1", "Depends: y"),
        s("c", "1", "Depends: z"),
        s("x", "1", ""),
        s("y", "1", ""),
        s("z", "1", "Provides: w"),
    ];
    let mut rev = base.clone();
    rev.reverse();
    let one = names(&index(&base), &["a", "b"], &[]);
    let two = names(&index(&rev), &["a", "b"], &[]);
    assert_eq!(one, two);
    let set: BTreeSet<_> = one.iter().collect();
    assert_eq!(set.len(), one.len());
}

#[test]
fn version_pinned_requests_and_dependency_cycles() {
    let idx = index(&[
        s("a", "1", "Depends: b"),
        s("a", "2", "Depends: b"),
        s("b", "1", "Depends: a"),
    ]);
    assert_eq!(names(&idx, &["a (= 1)"], &[]), ["a=1", "b=1"]);
    assert_eq!(names(&idx, &["a"], &[]), ["a=2", "b=1"]);
}
