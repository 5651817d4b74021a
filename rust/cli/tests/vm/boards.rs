//! The test hotspot (`checks/vm/hotspot.nix`) on the other boards nixspot supports, each
//! booted once by nixspot-vmtest with console checks (the full set runs on the Pi 3 B in
//! `pi3.rs`):
//!
//! * the Pi 4 B in QEMU 10's `raspi4b` (bookworm-backports' QEMU, which
//!   `.ci/install-deps` unpacks into /opt/qemu-10), with the driver's device-tree edits
//!   and kernel arguments;
//! * the Pi Zero 2 W: QEMU's `raspi3b` with the Zero 2 W device tree of the image (its
//!   WiFi SDIO slot is one more MMC host: the card's number depends on probe order, and
//!   root and data are found by label).
//!
//! On each: the runtime applied `offspot.yaml`, `/data` grew to the card, every service
//! is up, the portal and the dashboard answer inside the guest, and port 80 answers
//! through the host forward. On the Pi 4 B also the WiFi checks over `mac80211_hwsim`
//! (`wifi`, `captive`, `isolation`), in the same boot: the Pi 4's kernel paths (its
//! device tree, QEMU 10's machine) differ from the Pi 3's; the Zero 2 W runs the Pi 3's
//! machine, where `pi3.rs` runs them.

use std::path::Path;
use std::time::Duration;

use crate::image::build;
use nixspot_vmtest::checks::Hotspot;
use nixspot_vmtest::{find_check, Board, Machine, MachineConfig};

/// The services the test hotspot runs (runit service names).
const SERVICES: &[&str] = &[
    "caddy",
    "dnsmasq",
    "kiwix-serve",
    "nixspot-dashboard",
    "nixspot-portal",
];

fn hotspot_of(image: &Path) -> Hotspot {
    let boot = nixspot_vmtest::bootfiles::read_boot_files(image).expect("boot files");
    Hotspot::from_offspot_yaml(boot.offspot_yaml.as_deref()).expect("offspot.yaml")
}

/// Runs a registered check of nixspot-vmtest on the booted machine.
fn check(m: &mut Machine, h: &Hotspot, name: &str) -> String {
    let c = find_check(name).expect("a registered check");
    match m.step(name, |m| (c.run)(m, h)) {
        Ok(summary) => summary,
        Err(e) => panic!("check {name} failed on this board: {e}"),
    }
}

/// Boots `image` as `board` and runs the console checks, then `more_checks` (registered
/// checks of nixspot-vmtest); `model` must appear in the device tree's model string.
fn boots_as(image: &Path, board: Board, model: &str, more_checks: &[&str]) {
    let mut config = MachineConfig::new(image);
    config.board = board;
    config.guest_ports = vec![80];
    config.global_timeout = Duration::from_secs(if more_checks.is_empty() { 900 } else { 1800 });
    config.boot_timeout = Duration::from_secs(300);
    config.step_timeout = Duration::from_secs(120);
    let mut m = Machine::start(config).expect("boot to the console shell");
    eprintln!(
        "{board}: console after {:.1} s",
        m.console_ready_after().unwrap_or_default().as_secs_f64()
    );
    let h = hotspot_of(image);

    let found = m.succeed("tr -d '\\0' </proc/device-tree/model").unwrap();
    assert!(found.contains(model), "{board}: model {found:?}");
    // root and data from the same SD card, whatever its number
    let mounts = m.succeed("cat /proc/mounts").unwrap();
    let card = mounts
        .lines()
        .find_map(|l| l.split_once("p2 / ext4 "))
        .map(|(dev, _)| dev.to_string())
        .unwrap_or_else(|| panic!("{board}: root is not an SD card partition:\n{mounts}"));
    assert!(
        card.starts_with("/dev/mmcblk") && mounts.contains(&format!("{card}p3 /data ext4 ")),
        "{board}: root and data on {card}:\n{mounts}"
    );
    eprintln!("{board}: runtime: {}", check(&mut m, &h, "runtime"));
    eprintln!("{board}: storage: {}", check(&mut m, &h, "storage"));
    for s in SERVICES {
        let status = m
            .wait_until_succeeds(
                &format!("sv status /etc/service/{s} | grep '^run: '"),
                Duration::from_secs(240),
            )
            .unwrap_or_else(|e| panic!("{board}: service {s} is not running: {e}"));
        eprintln!("{board}: {}", status.trim());
    }
    // inside the guest: the portal on its own port, the dashboard through Caddy
    let fqdn = h.fqdn().expect("ap.domain and ap.tld");
    let portal = m
        .wait_until_succeeds(
            "wget -q -O - http://127.0.0.1:2080/ | grep -ci '<html'",
            Duration::from_secs(240),
        )
        .unwrap_or_else(|e| panic!("{board}: no portal page on 127.0.0.1:2080: {e}"));
    eprintln!(
        "{board}: portal page served ({} <html> line)",
        portal.trim()
    );
    // the dashboard is generated once the services run: wait for the ZIM's title
    m.wait_until_succeeds(
        &format!("wget -q -O - --header 'Host: {fqdn}' http://127.0.0.1/ | grep -c Wikibooks"),
        Duration::from_secs(240),
    )
    .unwrap_or_else(|e| panic!("{board}: the dashboard at {fqdn} does not list the ZIM: {e}"));
    eprintln!("{board}: http: {}", check(&mut m, &h, "http"));
    for name in more_checks {
        let started = std::time::Instant::now();
        let summary = check(&mut m, &h, name);
        eprintln!(
            "{board}: {name} ({:.1} s): {summary}",
            started.elapsed().as_secs_f64()
        );
    }
    m.shutdown().expect("power off");
}

#[test]
fn the_test_hotspot_runs_on_the_pi_4_and_the_zero_2_w() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = build(dir.path());
    boots_as(
        &image,
        Board::Raspi4b,
        "Raspberry Pi 4 Model B",
        &["wifi", "captive", "isolation"],
    );
    boots_as(&image, Board::Zero2w, "Raspberry Pi Zero 2 W", &[]);
}
