//! The nft firewall against real nftables, inside a throwaway network namespace
//! (`unshare -n`; needs root, as CI runs).

use nixspot_portal::firewall::{setup_script, Captive, Firewall, NftFirewall};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};

struct Namespace(Child);
impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn captive() -> Captive {
    Captive {
        hotspot_ip: Ipv4Addr::new(192, 168, 144, 1),
        captured_networks: vec!["192.168.144.128/25".parse().unwrap()],
        captured_address: Ipv4Addr::new(198, 51, 100, 1),
        http_port: 2080,
        https_port: 2443,
    }
}

fn ruleset(pid: &str) -> String {
    let out = Command::new("nsenter")
        .args(["-t", pid, "-n", "nft", "list", "ruleset"])
        .output()
        .expect("nsenter and nft must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn nft_backend_drives_real_nftables() {
    let ns = Namespace(
        Command::new("unshare")
            .args(["-n", "sleep", "300"])
            .stdin(Stdio::null())
            .spawn()
            .expect("unshare must be installed"),
    );
    let pid = ns.0.id().to_string();
    // Wait until the child is inside its own namespace.
    let own = std::fs::read_link("/proc/self/ns/net").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_link(format!("/proc/{pid}/ns/net"))
        .ok()
        .as_ref()
        == Some(&own)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "unshare -n did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let fw = NftFirewall::new("nsenter", captive())
        .with_prefix(["-t", &pid, "-n", "nft"].iter().map(Into::into).collect());

    fw.setup().unwrap();
    // A second setup finds the chains and changes nothing.
    fw.setup().unwrap();
    let rules = ruleset(&pid);
    assert_eq!(rules.matches("jump CAPTIVE_HTTP\n").count(), 1, "{rules}");
    for needle in [
        "chain CAPTIVE_HTTPS",
        "ip saddr 192.168.144.128/25 tcp dport 443 jump CAPTIVE_HTTPS",
        "dnat to 192.168.144.1:2080",
        "ip daddr 198.51.100.1 tcp dport { 80, 443 } return",
        "ip saddr @CAPTIVE_CLIENTS counter packets 0 bytes 0 accept comment \"allow host\"",
    ] {
        assert!(rules.contains(needle), "{needle} missing from\n{rules}");
    }

    fw.allow(Ipv4Addr::new(192, 168, 144, 130)).unwrap();
    fw.allow(Ipv4Addr::new(192, 168, 144, 131)).unwrap();
    fw.deny(Ipv4Addr::new(192, 168, 144, 130)).unwrap();
    let rules = ruleset(&pid);
    assert!(rules.contains("elements = { 192.168.144.131 }"), "{rules}");
    // Denying an address that is not there is reported, not ignored.
    assert!(fw.deny(Ipv4Addr::new(192, 168, 144, 130)).is_err());

    fw.restore(&[
        Ipv4Addr::new(192, 168, 144, 140),
        Ipv4Addr::new(192, 168, 144, 141),
    ])
    .unwrap();
    let rules = ruleset(&pid);
    assert!(
        rules.contains("elements = { 192.168.144.140, 192.168.144.141 }"),
        "{rules}"
    );
    fw.restore(&[]).unwrap();
    assert!(!ruleset(&pid).contains("elements"));
}

#[test]
fn setup_script_passes_nft_check() {
    let mut c = captive();
    c.captured_networks.clear();
    let out = Command::new("unshare")
        .args(["-n", "nft", "-c", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(setup_script(&c).as_bytes())?;
            child.wait_with_output()
        })
        .expect("unshare and nft must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
