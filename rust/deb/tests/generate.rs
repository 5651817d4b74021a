//! Accounts, alternatives and the dpkg status file.

use nixspot_deb::accounts::Accounts;
use nixspot_deb::alternatives::{alternatives, Alternative, Link, Slave};
use nixspot_deb::deb822;
use nixspot_deb::status::{file_list, status_file, InstalledPackage};

#[test]
fn hotspot_accounts_render_passwd_group_shadow() {
    let a = Accounts::hotspot();
    a.validate().unwrap();
    let passwd = a.passwd();
    assert!(passwd.starts_with("root:x:0:0:root:/root:/bin/sh\n"));
    assert!(passwd.contains("\ndnsmasq:x:100:65534:dnsmasq:/var/lib/misc:/usr/sbin/nologin\n"));
    assert!(
        passwd.contains("\ncaddy:x:101:101:Caddy web server:/var/lib/caddy:/usr/sbin/nologin\n")
    );
    assert!(passwd.contains("\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"));
    let group = a.group();
    assert!(group.contains("\nwww-data:x:33:caddy\n"));
    assert!(group.contains("\ncaddy:x:101:\n"));
    assert!(group.contains("\nnogroup:x:65534:\n"));
    assert_eq!(a.shadow().lines().next(), Some("root:*:::::::"));
    assert_eq!(a.shadow().lines().count(), a.users.len());
    assert!(a.gshadow().contains("\nwww-data:*::caddy\n"));
    assert_eq!(
        a.home_directories(),
        [("var/lib/caddy".to_string(), 101, 101)]
    );
    assert_eq!(a.uid_of("dnsmasq"), Some(100));
    assert_eq!(a.gid_of("mail"), Some(8));
    // Every line has the right number of fields.
    assert!(passwd.lines().all(|l| l.split(':').count() == 7));
    assert!(a.shadow().lines().all(|l| l.split(':').count() == 9));
    assert!(group.lines().all(|l| l.split(':').count() == 4));
}

#[test]
fn invalid_accounts_are_rejected() {
    type Edit = Box<dyn Fn(&mut Accounts)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|a| a.users[1].uid = 0), "uid 0 of user daemon"),
        (
            Box::new(|a| a.users[1].name = "root".into()),
            "user root is declared twice",
        ),
        (Box::new(|a| a.users[1].name = "a:b".into()), "invalid"),
        (Box::new(|a| a.users[1].gid = 4242), "primary gid 4242"),
        (Box::new(|a| a.users[1].gecos = "x:y".into()), "gecos"),
        (Box::new(|a| a.users[1].home = "rel".into()), "not absolute"),
        (Box::new(|a| a.groups[4].gid = 0), "gid 0 of group adm"),
        (
            Box::new(|a| a.groups[1].members.push("ghost".into())),
            "member ghost",
        ),
    ];
    for (edit, want) in cases {
        let mut a = Accounts::debian_base();
        edit(&mut a);
        let err = a.validate().unwrap_err().to_string();
        assert!(err.contains(want), "{err} lacks {want}");
    }
}

fn alt(
    name: &str,
    link: &str,
    path: &str,
    prio: i64,
    slaves: &[(&str, &str, &str)],
) -> Alternative {
    Alternative {
        name: name.into(),
        link: link.into(),
        path: path.into(),
        priority: prio,
        slaves: slaves
            .iter()
            .map(|(n, l, p)| Slave {
                name: n.to_string(),
                link: l.to_string(),
                path: p.to_string(),
            })
            .collect(),
    }
}

#[test]
fn alternatives_pick_highest_existing_choice() {
    let alts = [
        alt(
            "awk",
            "/usr/bin/awk",
            "/usr/bin/gawk",
            10,
            &[(
                "awk.1.gz",
                "/usr/share/man/man1/awk.1.gz",
                "/usr/share/man/man1/gawk.1.gz",
            )],
        ),
        alt(
            "awk",
            "/usr/bin/awk",
            "/usr/bin/mawk",
            5,
            &[(
                "awk.1.gz",
                "/usr/share/man/man1/awk.1.gz",
                "/usr/share/man/man1/mawk.1.gz",
            )],
        ),
        alt("editor", "/usr/bin/editor", "/usr/bin/vi", 1, &[]),
    ];
    let exists = |p: &str| ["usr/bin/mawk", "usr/bin/busybox"].contains(&p);
    let out = alternatives(&alts, exists).unwrap();
    assert_eq!(
        out.links,
        [
            Link {
                path: "etc/alternatives/awk".into(),
                target: "/usr/bin/mawk".into()
            },
            Link {
                path: "usr/bin/awk".into(),
                target: "/etc/alternatives/awk".into()
            },
        ]
    );
    assert_eq!(
        out.admin_files["var/lib/dpkg/alternatives/awk"],
        "auto\n/usr/bin/awk\nawk.1.gz\n/usr/share/man/man1/awk.1.gz\n\n/usr/bin/mawk\n5\n/usr/share/man/man1/mawk.1.gz\n\n"
    );
    assert_eq!(out.admin_files.len(), 1);
    // With both present, the higher priority wins and its existing slave is linked.
    let all = |p: &str| p != "nothing";
    let out = alternatives(&alts, all).unwrap();
    assert!(out.links.contains(&Link {
        path: "etc/alternatives/awk".into(),
        target: "/usr/bin/gawk".into()
    }));
    assert!(out.links.contains(&Link {
        path: "usr/share/man/man1/awk.1.gz".into(),
        target: "/etc/alternatives/awk.1.gz".into()
    }));
    assert!(out.links.contains(&Link {
        path: "usr/bin/editor".into(),
        target: "/etc/alternatives/editor".into()
    }));
    // Conflicting master links and relative paths are errors.
    let bad = [
        alt("x", "/usr/bin/x", "/a", 1, &[]),
        alt("x", "/usr/bin/y", "/b", 1, &[]),
    ];
    assert!(alternatives(&bad, all)
        .unwrap_err()
        .to_string()
        .contains("conflicts"));
    let bad = [alt("x", "usr/bin/x", "/a", 1, &[])];
    assert!(alternatives(&bad, all)
        .unwrap_err()
        .to_string()
        .contains("not an absolute path"));
}

#[test]
fn status_file_is_sorted_with_dpkg_field_order_and_parses_back() {
    let control = |text: &str| deb822::parse(text, "control").unwrap().remove(0);
    let pkgs = [
        InstalledPackage {
            control: control("Package: zz\nVersion: 1\nArchitecture: arm64\nMaintainer: m\nDescription: last\n long\nHomepage: https://x\n"),
            conffiles: vec![],
        },
        InstalledPackage {
            control: control("Package: dnsmasq\nVersion: 2.90-4~deb12u2\nArchitecture: all\nDepends: dnsmasq-base\nPriority: optional\nMaintainer: m\nDescription: dns\n"),
            conffiles: vec![("/etc/dnsmasq.conf".into(), "0123456789abcdef0123456789abcdef".into())],
        },
    ];
    let text = status_file(&pkgs);
    let stanzas = deb822::parse(&text, "status").unwrap();
    assert_eq!(stanzas.len(), 2);
    assert_eq!(stanzas[0].get("Package"), Some("dnsmasq"));
    let keys: Vec<&str> = stanzas[0].fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "Package",
            "Status",
            "Priority",
            "Maintainer",
            "Architecture",
            "Version",
            "Depends",
            "Conffiles",
            "Description"
        ]
    );
    assert_eq!(stanzas[0].get("Status"), Some("install ok installed"));
    assert_eq!(
        stanzas[0].get("Conffiles"),
        Some("\n /etc/dnsmasq.conf 0123456789abcdef0123456789abcdef")
    );
    let keys: Vec<&str> = stanzas[1].fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys.last(), Some(&"Homepage"));
    assert!(text.contains("Description: last\n long\nHomepage: https://x\n\n"));
    assert_eq!(file_list(["etc", "etc/x"]), "/.\n/etc\n/etc/x\n");
}

/// shadow-utils' `pwck`/`grpck` (read-only) are the oracle for the account files; a
/// shadow file missing a user must make them fail, so the check can fail.
#[test]
fn pwck_and_grpck_accept_the_generated_files() {
    let a = Accounts::hotspot();
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("passwd"), a.passwd()).unwrap();
    std::fs::write(p("shadow"), a.shadow()).unwrap();
    std::fs::write(p("group"), a.group()).unwrap();
    std::fs::write(p("gshadow"), a.gshadow()).unwrap();
    let shadow = a.shadow();
    let short: Vec<&str> = shadow.lines().take(a.users.len() - 1).collect();
    std::fs::write(p("shadow-short"), short.join("\n") + "\n").unwrap();
    let run = |tool: &str, x: &str, y: &str| {
        std::process::Command::new(tool)
            .args(["-r", "-q"])
            .arg(p(x))
            .arg(p(y))
            .output()
            .unwrap_or_else(|e| {
                panic!("{tool} must be installed (passwd, in .ci/install-deps): {e}")
            })
    };
    let ok = run("pwck", "passwd", "shadow");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let ok = run("grpck", "group", "gshadow");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(!run("pwck", "passwd", "shadow-short").status.success());
}
