//! Dependency relation parsing.

use nixspot_deb::relation::{
    format_alternatives, parse_depends, parse_relation_list, ArchQualifier, Op,
};
use nixspot_deb::version::Version;

#[test]
fn parses_alternatives_constraints_and_qualifiers() {
    let d = parse_depends(
        "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<< 3.12~), foo:native, bar:arm64 (= 1:2-3)",
    )
    .unwrap();
    assert_eq!(d.len(), 5);
    assert_eq!(d[0][0].name, "libc6");
    assert_eq!(d[0][0].constraint.as_ref().unwrap().0, Op::GreaterEq);
    assert_eq!(d[1].len(), 2);
    assert_eq!(d[1][1].name, "debconf-2.0");
    assert!(d[1][1].constraint.is_none());
    assert_eq!(d[2][0].arch, Some(ArchQualifier::Any));
    assert_eq!(d[2][0].constraint.as_ref().unwrap().0, Op::Less);
    assert_eq!(d[3][0].arch, Some(ArchQualifier::Native));
    assert_eq!(d[4][0].arch, Some(ArchQualifier::Named("arm64".into())));
    assert_eq!(format_alternatives(&d[1]), "debconf (>= 0.5) | debconf-2.0");
    assert_eq!(format_alternatives(&d[4]), "bar:arm64 (= 1:2-3)");
}

#[test]
fn all_operators_hold_correctly() {
    let rel = |s: &str| parse_depends(s).unwrap().remove(0).remove(0);
    let v = |s: &str| Version::parse(s).unwrap();
    let cases = [
        ("p (<< 2)", "1.9", true),
        ("p (<< 2)", "2", false),
        ("p (<= 2)", "2", true),
        ("p (<= 2)", "2.0.1", false),
        ("p (= 2)", "0:2", true),
        ("p (= 2)", "2.0", false),
        ("p (= 2)", "2-1", false),
        ("p (>= 2)", "2", true),
        ("p (>= 2)", "2~rc1", false),
        ("p (>> 2)", "2", false),
        ("p (>> 2)", "2+b1", true),
        // Obsolete single-character operators mean <= and >=.
        ("p (< 2)", "2", true),
        ("p (> 2)", "2", true),
        ("p", "0", true),
    ];
    for (r, ver, want) in cases {
        assert_eq!(rel(r).version_matches(&v(ver)), want, "{ver} against {r}");
    }
}

#[test]
fn tolerates_whitespace_newlines_and_a_trailing_comma() {
    let d = parse_depends("a,\n b  ( >=  1 ) ,  c |d ,").unwrap();
    let names: Vec<&str> = d.iter().flatten().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert!(parse_depends("").unwrap().is_empty());
}

#[test]
fn rejects_malformed_relations() {
    for bad in [
        "a,,b",
        "a | ",
        "a (>= )",
        "a (~ 1)",
        "a (>= 1",
        "a (>= 1) x",
        "Aa_b",
        "a:",
        "a [amd64]",
        "a <!nocheck>",
        "-a",
    ] {
        let err = parse_depends(bad).unwrap_err().to_string();
        assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
    }
}

#[test]
fn provides_lists_reject_alternatives() {
    let p = parse_relation_list("mail-transport-agent, wireguard-modules (= 1.0.0)").unwrap();
    assert_eq!(p.len(), 2);
    assert_eq!(p[1].to_string(), "wireguard-modules (= 1.0.0)");
    assert!(parse_relation_list("a | b").is_err());
}
