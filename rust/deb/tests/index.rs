//! Packages indexes, Release files and index decompression.

mod common;

use nixspot_deb::index::{decompress, parse_packages, parse_release, MultiArch, PackageIndex};

#[test]
fn parses_a_packages_stanza_with_all_fields() {
    let text = "Package: dnsmasq-base\nSource: dnsmasq\nVersion: 2.90-4~deb12u2\nInstalled-Size: 1000\n\
Architecture: arm64\nMulti-Arch: foreign\nPriority: optional\nEssential: yes\n\
Depends: libc6 (>= 2.34),\n libdbus-1-3 (>= 1.9.14)\nPre-Depends: init-system-helpers (>= 1.54~)\n\
Provides: dns-server, x (= 1)\nDescription: small caching DNS proxy\n long line one\n .\n line two\n\
Filename: pool/main/d/dnsmasq/dnsmasq-base_2.90-4~deb12u2_arm64.deb\nSize: 472408\n\
SHA256: 0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n\n";
    let p = parse_packages(text, "Packages").unwrap();
    assert_eq!(p.len(), 1);
    let p = &p[0];
    assert_eq!(p.name, "dnsmasq-base");
    assert_eq!(p.version_text, "2.90-4~deb12u2");
    assert_eq!(p.version.revision, "4~deb12u2");
    assert_eq!(p.depends.len(), 2);
    assert_eq!(p.depends[1][0].name, "libdbus-1-3");
    assert_eq!(p.pre_depends[0][0].name, "init-system-helpers");
    assert_eq!(p.provides.len(), 2);
    assert_eq!(p.multi_arch, MultiArch::Foreign);
    assert_eq!(p.priority, "optional");
    assert!(p.essential);
    assert_eq!(p.size, 472408);
    assert_eq!(
        p.sha256,
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    assert_eq!(
        p.stanza.get("description").unwrap(),
        "small caching DNS proxy\n long line one\n .\n line two"
    );
}

#[test]
fn errors_name_the_file_line_package_and_field() {
    let good = common::stanza("a", "1", "");
    let cases = [
        (
            format!("{good}{}", common::stanza("b", "1", "Depends: c (>= )")),
            ":8:",
            "Depends",
        ),
        (
            format!("{good}Package: b\nVersion: 1\n\n"),
            ":8:",
            "Architecture",
        ),
        (
            format!("{good}{}", common::stanza("b", "1:", "")),
            "",
            "Version",
        ),
        (good.replace("Size: 101", "Size: many"), ":1:", "Size"),
        (good.replace("SHA256: ", "SHA256: zz"), ":1:", "SHA256"),
        (
            format!(
                "{good}{}",
                common::stanza("b", "1", "Multi-Arch: sometimes")
            ),
            "",
            "Multi-Arch",
        ),
        (
            format!("{good} orphan continuation\n"),
            ":8:",
            "continuation",
        ),
        (format!("{good}no colon here\n"), ":8:", "Field: value"),
        (
            "Package: a\nPackage: b\n".to_string(),
            ":2:",
            "duplicate field Package",
        ),
    ];
    for (text, pos, what) in cases {
        let err = parse_packages(&text, "mirror/Packages")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("mirror/Packages:"), "{err}");
        assert!(err.contains(pos), "{err} lacks {pos}");
        assert!(err.contains(what), "{err} lacks {what}");
    }
}

#[test]
fn decompresses_xz_gz_and_plain_indexes() {
    let text = format!(
        "{}{}",
        common::stanza("a", "1", ""),
        common::stanza("b", "2", "")
    );
    for (m, name) in [
        ("xz", "Packages.xz"),
        ("gz", "Packages.gz"),
        ("", "Packages"),
    ] {
        let packed = common::compress(m, text.as_bytes());
        let plain = decompress(&packed, name).unwrap();
        assert_eq!(plain, text.as_bytes(), "{name}");
    }
    let err = decompress(b"not xz at all", "dists/x/Packages.xz").unwrap_err();
    assert!(err.to_string().contains("dists/x/Packages.xz"), "{err}");
}

#[test]
fn index_prefers_highest_version_and_filters_architectures() {
    let text = [
        common::stanza("a", "1.0", ""),
        common::stanza("a", "1.0-1", ""),
        common::stanza("a", "1:0.1", "Provides: v (= 3)"),
        common::stanza("a", "0.9", ""),
        common::stanza("b", "1", "Provides: v"),
        common::stanza("c", "1", "").replace("arm64\n", "amd64\n"),
        common::stanza("d", "1", "").replace("Architecture: arm64", "Architecture: all"),
    ]
    .concat();
    let idx = PackageIndex::new(parse_packages(&text, "P").unwrap(), "arm64");
    assert_eq!(idx.len(), 6);
    let versions: Vec<&str> = idx.versions("a").map(|p| p.version_text.as_str()).collect();
    assert_eq!(versions, ["1:0.1", "1.0-1", "1.0", "0.9"]);
    assert_eq!(idx.candidate("a").unwrap().version_text, "1:0.1");
    assert!(idx.candidate("c").is_none());
    assert!(idx.candidate("d").is_some());
    let providers: Vec<&str> = idx.providers("v").map(|(p, _)| p.name.as_str()).collect();
    assert_eq!(providers, ["a", "b"]);
}

const RELEASE: &str = "-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Origin: Debian
Suite: oldstable
Codename: bookworm
Date: Sat, 11 Jul 2026 10:16:37 UTC
Acquire-By-Hash: yes
MD5Sum:
 e0f09148d8af4e8836adf64b3679d893  8689464 main/binary-arm64/Packages.xz
SHA256:
 2ddb1737692e8c45c53e8d57c0ce4cd21c78c5703b830c3226b1423566a06c00  8689464 main/binary-arm64/Packages.xz
 a1330073ccb0787ab9864190877bccec16642f93f0dfaf9bdbff597c6326a6e3     5832 non-free-firmware/binary-arm64/Packages.xz
- -dash-escaped: line
-----BEGIN PGP SIGNATURE-----

iQIzBAEBCAAdFiEE
-----END PGP SIGNATURE-----
";

#[test]
fn parses_inrelease_sha256_list() {
    let r = parse_release(RELEASE, "InRelease").unwrap();
    assert_eq!(r.suite, "oldstable");
    assert_eq!(r.codename, "bookworm");
    assert!(r.acquire_by_hash);
    assert_eq!(r.sha256.len(), 2);
    let f = &r.sha256["non-free-firmware/binary-arm64/Packages.xz"];
    assert_eq!(f.size, 5832);
    assert!(f.sha256.starts_with("a1330073"));
    // An unsigned Release file parses the same way.
    let body = RELEASE
        .lines()
        .skip(3)
        .take(10)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(parse_release(&body, "Release").unwrap().sha256, r.sha256);
}

#[test]
fn rejects_bad_release_files() {
    let unterminated = RELEASE.split("-----BEGIN PGP SIGNATURE").next().unwrap();
    let bad_line = RELEASE.replace("     5832 non", " non");
    for (text, what) in [
        (unterminated.to_string(), "BEGIN PGP SIGNATURE"),
        (bad_line, "DIGEST SIZE PATH"),
        ("Origin: x\n".to_string(), "SHA256: missing"),
        (String::new(), "empty Release"),
    ] {
        let err = parse_release(&text, "http://m/InRelease")
            .unwrap_err()
            .to_string();
        assert!(err.contains("http://m/InRelease"), "{err}");
        assert!(err.contains(what), "{err} lacks {what}");
    }
}

#[test]
fn release_dates_parse_as_debian_writes_them() {
    use nixspot_deb::index::parse_date;
    assert_eq!(
        parse_date("Wed, 02 Dec 2026 23:13:43 UTC"),
        Some(1_796_253_223)
    );
    assert_eq!(
        parse_date(" Wed, 02 Dec 2026 23:13:43 +0000 "),
        Some(1_796_253_223)
    );
    // A wrong weekday, a missing zone, garbage: not dates.
    for bad in [
        "Sat, 02 Dec 2026 23:13:43 UTC",
        "Wed, 02 Dec 2026 23:13:43",
        "",
        "x",
    ] {
        assert_eq!(parse_date(bad), None, "{bad:?}");
    }
}
