//! Least privilege (issue 19, finding 10): `nixspot-runtime run-as` as the services run
//! it, checked by what the kernel reports (`/proc/self/status`) and by real programs
//! that need the capabilities (`nft` in a network namespace of the test's own, a bind to
//! port 80); and what `apply` prepares for the services (owners, modes, run scripts).
//! Needs root, as the device's init has it (CI runs as root).

use nixspot_runtime::{apply, Options};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

const RUN_AS: &str = env!("CARGO_BIN_EXE_nixspot-runtime");
const CONFIG: &str = "/boot/firmware/offspot.yaml";

/// `svc` (4242, group 4343) and root, in a passwd file of the test's own.
fn passwd(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("passwd");
    std::fs::write(
        &p,
        "root:x:0:0:root:/root:/bin/sh\nsvc:x:4242:4343:a service:/home/svc:/usr/sbin/nologin\nwheel:x:77:0::/:/bin/sh\n",
    )
    .unwrap();
    p
}

fn run_as(dir: &Path, user: &str, caps: &[&str], program: &[&str]) -> Output {
    let mut cmd = Command::new(RUN_AS);
    cmd.args(["run-as", user, "--passwd"]).arg(passwd(dir));
    for c in caps {
        cmd.args(["--cap", c]);
    }
    cmd.arg("--").args(program).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `/proc/self/status` fields of a program run as `svc` with `caps`, seen by a child of
/// a shell (so the capabilities survive two `execve`s, as the portal's `nft` needs).
fn status(caps: &[&str]) -> (String, std::collections::BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let out = run_as(
        dir.path(),
        "svc",
        caps,
        &["sh", "-c", "cat /proc/self/status; echo \"Home: $HOME\""],
    );
    assert!(out.status.success(), "{}", text(&out));
    let fields = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| {
            (
                k.to_string(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    (text(&out), fields)
}

#[test]
fn run_as_drops_to_the_user_with_only_the_named_capabilities() {
    let (out, f) = status(&["net_admin"]);
    assert_eq!(f["Uid"], "4242 4242 4242 4242", "{out}");
    assert_eq!(f["Gid"], "4343 4343 4343 4343", "{out}");
    // no supplementary group of root's
    assert_eq!(f["Groups"], "4343", "{out}");
    // CAP_NET_ADMIN is bit 12: effective, permitted, ambient and the only one bounded
    for set in ["CapEff", "CapPrm", "CapAmb", "CapBnd"] {
        assert_eq!(f[set], "0000000000001000", "{set}: {out}");
    }
    assert_eq!(f["NoNewPrivs"], "1", "{out}");
    assert_eq!(f["Home"], "/home/svc", "{out}");

    let (out, f) = status(&[]);
    for set in ["CapEff", "CapPrm", "CapAmb", "CapBnd", "CapInh"] {
        assert_eq!(f[set], "0000000000000000", "{set}: {out}");
    }
    let (out, f) = status(&["net_bind_service", "net_admin"]);
    assert_eq!(f["CapEff"], "0000000000001400", "{out}");
}

#[test]
fn root_unknown_users_and_capabilities_are_refused_before_running_anything() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let touch = ["touch", marker.to_str().unwrap()];
    for (user, caps, expected) in [
        ("root", &[][..], "refusing to run a service as \"root\""),
        ("wheel", &[][..], "(uid 77, gid 0)"),
        ("nobody-here", &[][..], "no user \"nobody-here\""),
        (
            "svc",
            &["sys_admin"][..],
            "unknown capability \"sys_admin\"",
        ),
    ] {
        let out = run_as(dir.path(), user, caps, &touch);
        assert_eq!(out.status.code(), Some(111), "{user}: {}", text(&out));
        assert!(text(&out).contains(expected), "{user}: {}", text(&out));
        assert!(!marker.exists(), "{user}: the program ran");
    }
    let out = run_as(dir.path(), "svc", &[], &["/nonexistent/program"]);
    assert_eq!(out.status.code(), Some(111));
    assert!(
        text(&out).contains("cannot run /nonexistent/program"),
        "{}",
        text(&out)
    );
}

/// `unshare -n` (a network namespace of this test's own) running `run-as … -- program`.
fn in_netns(dir: &Path, caps: &[&str], program: &str) -> Output {
    let mut inner = format!(
        "ip link set lo up && exec {RUN_AS} run-as svc --passwd {}",
        passwd(dir).display()
    );
    for c in caps {
        inner.push_str(&format!(" --cap {c}"));
    }
    inner.push_str(&format!(" -- {program}"));
    Command::new("unshare")
        .args(["-n", "sh", "-c", &inner])
        .output()
        .expect("unshare (util-linux) must be installed")
}

#[test]
fn net_admin_lets_the_portal_user_run_nft_and_nothing_else_does() {
    let dir = tempfile::tempdir().unwrap();
    let nft = "nft add table ip portal_test";
    let out = in_netns(dir.path(), &["net_admin"], nft);
    assert!(out.status.success(), "{}", text(&out));
    let out = in_netns(dir.path(), &[], nft);
    assert!(!out.status.success(), "nft worked without CAP_NET_ADMIN");
    assert!(
        text(&out).contains("Operation not permitted"),
        "{}",
        text(&out)
    );
    // only the named capability: binding port 80 is not part of net_admin
    let bind = "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(LocalAddr => q(127.0.0.1:80), Listen => 1) or die qq(bind: $!\\n)'";
    let out = in_netns(dir.path(), &["net_admin"], bind);
    assert!(!out.status.success(), "bound port 80 with net_admin only");
    assert!(
        text(&out).contains("bind: Permission denied"),
        "{}",
        text(&out)
    );
}

#[test]
fn net_bind_service_lets_a_service_user_bind_port_80() {
    let dir = tempfile::tempdir().unwrap();
    let bind = "perl -MIO::Socket::INET -e 'IO::Socket::INET->new(LocalAddr => q(127.0.0.1:80), Listen => 1) or die qq(bind: $!\\n)'";
    let out = in_netns(dir.path(), &["net_bind_service"], bind);
    assert!(out.status.success(), "{}", text(&out));
    let out = in_netns(dir.path(), &[], bind);
    assert!(!out.status.success(), "bound port 80 without a capability");
}

/// A device root with the base image's service users.
fn device() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let etc = tmp.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(
        etc.join("passwd"),
        "root:x:0:0:root:/root:/bin/sh\ncaddy:x:101:101:Caddy:/var/lib/caddy:/usr/sbin/nologin\n\
         kiwix:x:104:104:kiwix-serve:/nonexistent:/usr/sbin/nologin\n\
         nixspot-portal:x:105:105:portal:/nonexistent:/usr/sbin/nologin\n\
         nixspot-dashboard:x:106:106:dashboard:/nonexistent:/usr/sbin/nologin\n",
    )
    .unwrap();
    tmp
}

fn apply_config(root: &Path, text: &str) -> nixspot_runtime::Report {
    let p = root.join(CONFIG.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    apply(&Options {
        root: root.to_path_buf(),
        config: CONFIG.into(),
        reboot_command: None,
    })
}

fn read(root: &Path, abs: &str) -> String {
    std::fs::read_to_string(root.join(abs.trim_start_matches('/'))).unwrap()
}

fn owner_mode(root: &Path, abs: &str) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(root.join(abs.trim_start_matches('/'))).unwrap();
    (m.uid(), m.gid(), m.permissions().mode() & 0o7777)
}

const SERVICES: &str = "services:\n  kiwix: true\n  dashboard: true\n  portal: true\n  proxy:\n    protected:\n      - {service: nomad, username: admin, password: s3cret}\n    files: {nomad: /data/contents/files/nomad}\n";

#[test]
fn apply_gives_each_service_its_user_and_only_its_own_folders() {
    let dev = device();
    let r = dev.path();
    // a dashboard site left by an earlier version that ran as root, with a link
    // someone planted: the link itself changes owner, never its target
    let icons = r.join("data/www/dashboard/icons");
    std::fs::create_dir_all(&icons).unwrap();
    std::fs::write(icons.join("old.png"), "png").unwrap();
    std::fs::write(r.join("secret"), "root's").unwrap();
    std::os::unix::fs::symlink(r.join("secret"), icons.join("link")).unwrap();
    let report = apply_config(r, SERVICES);
    assert!(report.success(), "{report:?}");

    // basic-auth hashes: root and Caddy's group only
    assert_eq!(owner_mode(r, "/etc/caddy/Caddyfile"), (0, 101, 0o640));
    assert!(read(r, "/etc/caddy/Caddyfile").contains("basicauth"));
    assert_eq!(owner_mode(r, "/data/www/dashboard"), (106, 106, 0o755));
    for inside in ["icons", "icons/old.png", "icons/link"] {
        let (uid, gid, _) = owner_mode(r, &format!("/data/www/dashboard/{inside}"));
        assert_eq!((uid, gid), (106, 106), "{inside}");
    }
    assert_eq!(owner_mode(r, "/secret"), (0, 0, 0o644));
    assert_eq!(owner_mode(r, "/data/portal"), (105, 105, 0o700));
    assert_eq!(owner_mode(r, "/data/www"), (0, 0, 0o755));
    assert!(read(r, "/etc/nixspot/portal.env").contains("DB_PATH='/data/portal/users.json'"));

    let script = |name: &str| read(r, &format!("/etc/sv/{name}/run"));
    for (name, line) in [
        (
            "kiwix-serve",
            "exec nixspot-runtime run-as kiwix -- kiwix-serve ",
        ),
        (
            "caddy",
            "exec nixspot-runtime run-as caddy --cap net_bind_service -- caddy run ",
        ),
        (
            "nixspot-portal",
            "exec nixspot-runtime run-as nixspot-portal --cap net_admin -- nixspot-portal",
        ),
        (
            "nixspot-dashboard",
            "exec nixspot-runtime run-as nixspot-dashboard -- sh -c 'nixspot-dashboard generate ",
        ),
    ] {
        let s = script(name);
        assert!(
            s.lines().any(|l| l.starts_with(line)),
            "{line:?} not in\n{s}"
        );
        let status = Command::new("sh")
            .arg("-n")
            .arg(r.join(format!("etc/sv/{name}/run")))
            .status()
            .unwrap();
        assert!(status.success(), "{name}: sh -n");
    }
    // the dashboard only reads home.yaml
    assert!(script("nixspot-dashboard").contains("DONT_UPDATE_PACKAGES=1"));

    // a second boot changes nothing
    let again = apply_config(r, "---\n");
    assert!(again.success(), "{again:?}");
    assert_eq!(owner_mode(r, "/data/portal"), (105, 105, 0o700));
}

#[test]
fn unprivileged_ports_need_no_capability_and_the_dummy_filter_no_net_admin() {
    let dev = device();
    let r = dev.path();
    let report = apply_config(
        r,
        "services:\n  kiwix: {port: 80}\n  portal: {filter: dummy, port: 8080}\n  proxy: {http-port: 8000}\n",
    );
    assert!(report.success(), "{report:?}");
    let script = |name: &str| read(r, &format!("/etc/sv/{name}/run"));
    assert!(script("kiwix-serve").contains("run-as kiwix --cap net_bind_service -- "));
    assert!(script("caddy").contains("run-as caddy -- caddy"));
    assert!(script("nixspot-portal").contains("run-as nixspot-portal -- nixspot-portal"));
}

#[test]
fn folders_a_service_would_own_must_be_its_own_below_data() {
    for (config, expected) in [
        (
            "portal: {state: /data/portal-users.json}",
            "services.portal.state",
        ),
        (
            "portal: {state: /etc/portal/users.json}",
            "a folder below /data",
        ),
        (
            "portal: {state: /data/contents/p/users.json}",
            "outside /data/contents",
        ),
        (
            "portal: {state: /data/x/../contents/users.json}",
            "no empty, `.` or `..`",
        ),
        ("dashboard: {www: /data/contents}", "services.dashboard.www"),
        ("dashboard: {www: /data}", "a folder below /data"),
        (
            "dashboard: {www: /data/site}\n  portal: {state: /data/site/p/users.json}",
            "the dashboard's www",
        ),
    ] {
        let dev = device();
        let r = dev.path();
        let report = apply_config(r, &format!("services:\n  {config}\n"));
        let failed = report
            .keys
            .iter()
            .find(|(k, _)| k == "services")
            .map(|(_, o)| format!("{o:?}"))
            .unwrap_or_default();
        assert!(failed.contains(expected), "{config}: {failed}");
        assert!(!r.join("etc/sv/nixspot-portal").exists(), "{config}");
    }
}

#[test]
fn a_link_where_a_service_folder_goes_is_refused() {
    let dev = device();
    let r = dev.path();
    std::fs::create_dir_all(r.join("data")).unwrap();
    std::fs::create_dir_all(r.join("etc/secrets")).unwrap();
    std::os::unix::fs::symlink(r.join("etc/secrets"), r.join("data/portal")).unwrap();
    let report = apply_config(r, "services:\n  portal: true\n");
    assert!(!report.success());
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("/data/portal") && e.contains("symbolic link")),
        "{report:?}"
    );
    assert_eq!(owner_mode(r, "/etc/secrets").0, 0);
}

#[test]
fn a_missing_service_user_is_an_error_not_root() {
    let dev = device();
    let r = dev.path();
    std::fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let report = apply_config(r, SERVICES);
    assert!(!report.success());
    let errors = report.errors.join("\n");
    assert!(errors.contains("no user \"caddy\""), "{errors}");
    assert!(errors.contains("no user \"nixspot-portal\""), "{errors}");
    assert!(!r.join("data/portal").exists());
}
