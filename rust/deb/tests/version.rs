//! dpkg's version ordering, against known cases and against `dpkg --compare-versions`.

use std::cmp::Ordering;
use std::process::Command;

use nixspot_deb::version::Version;

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn cmp(a: &str, b: &str) -> Ordering {
    v(a).cmp(&v(b))
}

/// Pairs with the expected ordering of `a` vs `b`.
const CASES: &[(&str, &str, Ordering)] = &[
    ("1.0", "1.0", Ordering::Equal),
    ("1.0", "1.00", Ordering::Equal),
    ("0:1.0", "1.0", Ordering::Equal),
    ("1.0-0", "1.0", Ordering::Equal),
    ("1.0", "1.1", Ordering::Less),
    ("1.2", "1.10", Ordering::Less),
    ("1:0.1", "2.0", Ordering::Greater),
    ("2:1.0", "1:9.9", Ordering::Greater),
    ("1.0~rc1", "1.0", Ordering::Less),
    ("1.0~~", "1.0~", Ordering::Less),
    ("1.0~~a", "1.0~", Ordering::Less),
    ("1.0~", "1.0", Ordering::Less),
    ("1.0", "1.0+b1", Ordering::Less),
    ("1.0", "1.0a", Ordering::Less),
    ("1.0.", "1.0+", Ordering::Greater),
    ("1.0.", "1.0+", Ordering::Greater),
    ("1.0-1", "1.0-1+b1", Ordering::Less),
    ("1.0-1", "1.0-1~bpo1", Ordering::Greater),
    ("1.0-1", "1.0-2", Ordering::Less),
    ("1.0-10", "1.0-9", Ordering::Greater),
    ("1.0-a", "1.0-A", Ordering::Greater),
    ("a", "b", Ordering::Less),
    ("1.0-1.1", "1.0-1", Ordering::Greater),
    ("2.90-4~deb12u2", "2.90-4", Ordering::Less),
    ("2.90-4~deb12u2", "2.90-4~deb12u1", Ordering::Greater),
    ("6.1.176-1", "6.1.192-2", Ordering::Less),
    ("1:1.2.13.dfsg-1", "1.2.13", Ordering::Greater),
    ("1.2-3-4", "1.2-3-5", Ordering::Less),
    ("0001", "1", Ordering::Equal),
    ("1.0-0001", "1.0-1", Ordering::Equal),
    ("10", "9", Ordering::Greater),
    ("1.a", "1.1", Ordering::Greater),
];

#[test]
fn known_orderings() {
    for (a, b, want) in CASES {
        assert_eq!(cmp(a, b), *want, "{a} vs {b}");
        assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
    }
}

#[test]
fn matches_dpkg_compare_versions() {
    // dpkg is the oracle: every pair of CASES' versions, both directions.
    let mut versions: Vec<&str> = CASES.iter().flat_map(|(a, b, _)| [*a, *b]).collect();
    versions.sort();
    versions.dedup();
    let mut checked = 0;
    for a in &versions {
        for b in &versions {
            let ours = cmp(a, b);
            let op = match ours {
                Ordering::Less => "lt",
                Ordering::Equal => "eq",
                Ordering::Greater => "gt",
            };
            let status = Command::new("dpkg")
                .args(["--compare-versions", a, op, b])
                .status()
                .expect("dpkg must be installed (listed in .ci/install-deps)");
            assert!(status.success(), "dpkg disagrees: {a} {op} {b}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "only {checked} pairs");
}

#[test]
fn parts_and_display() {
    let x = v("2:1.0-3-4~bpo1");
    assert_eq!(x.epoch, 2);
    assert_eq!(x.upstream, "1.0-3");
    assert_eq!(x.revision, "4~bpo1");
    assert_eq!(x.to_string(), "2:1.0-3-4~bpo1");
    assert_eq!(v("0:1.0").to_string(), "1.0");
    assert_eq!(v(" 1.0 ").to_string(), "1.0");
}

#[test]
fn invalid_versions_are_errors() {
    for (bad, why) in [
        ("", "empty"),
        ("1.0 2", "spaces"),
        (":1.0", "epoch in version is empty"),
        ("a:1.0", "not number"),
        ("1:", "nothing after colon"),
        ("1.0-", "revision number is empty"),
        ("-1", "version number is empty"),
        ("1.0_1", "invalid character"),
        ("1.0-1_2", "invalid character"),
        ("1.0-1:2", "epoch in version is not number"),
        ("99999999999:1", "too big"),
    ] {
        let err = Version::parse(bad).unwrap_err().to_string();
        assert!(err.contains(why), "{bad:?}: {err}");
        assert!(
            err.contains(&format!("{bad:?}")),
            "{err} should quote the input"
        );
    }
}
