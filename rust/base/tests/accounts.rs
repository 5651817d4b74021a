//! The image's accounts: the service users nixspot-runtime's `run-as` starts the services
//! as, checked by shadow-utils' `pwck`/`grpck` (read-only) as the oracle.

use nixspot_base::build::{accounts, SERVICE_USERS};
use nixspot_deb::accounts::Accounts;
use nixspot_runtime::privilege::lookup;
use nixspot_runtime::services::{CADDY_USER, DASHBOARD_USER, KIWIX_USER, PORTAL_USER};
use std::process::Command;

#[test]
fn every_service_user_exists_unprivileged_with_a_group_of_its_own() {
    let a = accounts();
    a.validate().unwrap();
    let passwd = a.passwd();
    let group = a.group();
    for name in [KIWIX_USER, DASHBOARD_USER, CADDY_USER, PORTAL_USER] {
        let who = lookup(&passwd, name)
            .unwrap_or_else(|| panic!("the runtime runs a service as {name}, not in:\n{passwd}"));
        assert!(who.uid != 0 && who.gid != 0, "{who:?}");
        // its group has its name and nobody else in it
        let line = format!("{name}:x:{}:\n", who.gid);
        assert!(group.contains(&line), "{line:?} not in:\n{group}");
        // no login: a password field of `*` and nologin
        assert!(a.shadow().contains(&format!("{name}:*:")), "{name}");
        let entry = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{name}:")))
            .unwrap();
        assert!(entry.ends_with(":/usr/sbin/nologin"), "{entry}");
    }
    // ids are fixed: same files every build, and no service shares another's
    let mut ids: Vec<u32> = SERVICE_USERS.iter().map(|(_, id, _)| *id).collect();
    ids.push(a.uid_of(CADDY_USER).unwrap());
    ids.sort();
    ids.dedup();
    assert_eq!(ids, [101, 104, 105, 106]);
    assert_eq!(accounts(), a);
}

/// Writes the four files into `<dir>/etc` and runs `tool -r [-q] -R dir` (the chroot
/// makes pwck check primary groups against this group file, not the host's).
fn check(
    tool: &str,
    quiet: bool,
    dir: &std::path::Path,
    passwd: &str,
    a: &Accounts,
) -> (bool, String) {
    let etc = dir.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("passwd"), passwd).unwrap();
    std::fs::write(etc.join("shadow"), a.shadow()).unwrap();
    std::fs::write(etc.join("group"), a.group()).unwrap();
    std::fs::write(etc.join("gshadow"), a.gshadow()).unwrap();
    let mut cmd = Command::new(tool);
    cmd.arg("-r");
    if quiet {
        cmd.arg("-q");
    }
    let out =
        cmd.arg("-R").arg(dir).output().unwrap_or_else(|e| {
            panic!("{tool} must be installed (passwd, in .ci/install-deps): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn pwck_and_grpck_accept_the_accounts() {
    let a = accounts();
    let dir = tempfile::tempdir().unwrap();
    for tool in ["pwck", "grpck"] {
        let (ok, text) = check(tool, true, dir.path(), &a.passwd(), &a);
        assert!(ok, "{tool}: {text}");
    }
    // Not quiet, pwck also names users without their primary group (homes and shells
    // are not in this folder: those warnings are expected).
    let (_, text) = check("pwck", false, dir.path(), &a.passwd(), &a);
    assert!(!text.contains("no group"), "{text}");
    let orphan = a.passwd() + "orphan:x:107:107::/nonexistent:/usr/sbin/nologin\n";
    let (_, text) = check("pwck", false, dir.path(), &orphan, &a);
    assert!(text.contains("user 'orphan': no group 107"), "{text}");
}
