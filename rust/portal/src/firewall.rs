//! The captive portal's firewall: nftables `table ip nat` chains as offspot's
//! `portal_filter` sets them up (spec section 4).
//!
//! - `PREROUTING`: web traffic from the captured networks jumps to `CAPTIVE_HTTP` (port
//!   80) or `CAPTIVE_HTTPS` (443); with no captured network, traffic not addressed to the
//!   hotspot does.
//! - `CAPTIVE_HTTP[S]`: `jump CAPTIVE_PASSLIST`, then DNAT to the portal's port.
//! - `CAPTIVE_PASSLIST`: traffic to the captured address returns (so spoofed names always
//!   reach the portal, which answers registered clients' connectivity checks); registered
//!   clients are accepted (no DNAT); everything else returns to the DNAT.
//! - `CAPTIVE_FORWARD` (filter, forward hook): nothing from an unregistered client of the
//!   captured networks is forwarded, whatever the protocol. Offspot only redirects web
//!   traffic, so on a gateway an unregistered client could still send UDP, ICMP or TCP to
//!   other ports through the uplink.
//! - `CAPTIVE_INPUT` (filter, input hook): the portal's own ports only take connections
//!   the DNAT above redirected (or from the device itself), so a client cannot reach the
//!   portal's internal port directly.
//!
//! Unlike offspot, which inserts one `ip saddr X accept` rule per client and deletes it
//! by handle, the registered clients live in the named set `CAPTIVE_CLIENTS` matched by
//! one rule of `CAPTIVE_PASSLIST`: adding and removing a client is one atomic element
//! operation, and lookups stay constant-time with hundreds of clients.

use crate::net::Ipv4Net;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// The nftables table of every captive-portal chain.
pub const TABLE: &str = "nat";
/// The set of registered clients.
pub const CLIENTS_SET: &str = "CAPTIVE_CLIENTS";

/// What the captive rules need to know about the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captive {
    /// The hotspot's own address (DNAT target).
    pub hotspot_ip: Ipv4Addr,
    /// Client networks whose web traffic is captured; empty = all but the hotspot's.
    pub captured_networks: Vec<Ipv4Net>,
    /// The address spoofed DNS names resolve to.
    pub captured_address: Ipv4Addr,
    /// The portal's HTTP port.
    pub http_port: u16,
    /// The portal's HTTPS port.
    pub https_port: u16,
}

/// An nftables script (for `nft -f`) that creates the chains, set and rules. It only
/// adds, so it may follow a `flush ruleset` or run alone on a host without the chains.
pub fn setup_script(c: &Captive) -> String {
    let mut s = String::new();
    s.push_str("add table ip nat\n");
    s.push_str("add set ip nat CAPTIVE_CLIENTS { type ipv4_addr; }\n");
    s.push_str(
        "add chain ip nat PREROUTING { type nat hook prerouting priority dstnat; policy accept; }\n",
    );
    for chain in ["CAPTIVE_HTTP", "CAPTIVE_HTTPS", "CAPTIVE_PASSLIST"] {
        s.push_str(&format!("add chain ip nat {chain}\n"));
    }
    for (port, chain) in [(80, "CAPTIVE_HTTP"), (443, "CAPTIVE_HTTPS")] {
        if c.captured_networks.is_empty() {
            s.push_str(&format!(
                "add rule ip nat PREROUTING ip daddr != {} tcp dport {port} jump {chain}\n",
                c.hotspot_ip
            ));
        }
        for net in &c.captured_networks {
            s.push_str(&format!(
                "add rule ip nat PREROUTING ip saddr {net} tcp dport {port} jump {chain}\n"
            ));
        }
    }
    for (chain, port) in [
        ("CAPTIVE_HTTP", c.http_port),
        ("CAPTIVE_HTTPS", c.https_port),
    ] {
        s.push_str(&format!("add rule ip nat {chain} jump CAPTIVE_PASSLIST\n"));
        s.push_str(&format!(
            "add rule ip nat {chain} meta l4proto tcp dnat to {}:{port}\n",
            c.hotspot_ip
        ));
    }
    s.push_str(&format!(
        "add rule ip nat CAPTIVE_PASSLIST ip daddr {} tcp dport {{ 80, 443 }} return\n",
        c.captured_address
    ));
    s.push_str(
        "add rule ip nat CAPTIVE_PASSLIST ip saddr @CAPTIVE_CLIENTS counter accept comment \"allow host\"\n",
    );
    s.push_str("add rule ip nat CAPTIVE_PASSLIST return\n");

    // Filter chains in this table, as they match the set of registered clients (a rule
    // can only name a set of its own table). Several base chains on one hook each see the
    // packet; a drop in any of them is final.
    s.push_str(
        "add chain ip nat CAPTIVE_FORWARD { type filter hook forward priority filter; policy accept; }\n",
    );
    if c.captured_networks.is_empty() {
        // every client but the hotspot is captured: only connections they open count
        // (replies to registered clients come from elsewhere)
        s.push_str(
            "add rule ip nat CAPTIVE_FORWARD ct direction original ip saddr != @CAPTIVE_CLIENTS drop\n",
        );
    }
    for net in &c.captured_networks {
        // only what the client sends on connections it opened: a captured network may also
        // hold hosts a registered client talks to, whose replies must pass
        s.push_str(&format!(
            "add rule ip nat CAPTIVE_FORWARD ct direction original ip saddr {net} ip saddr != @CAPTIVE_CLIENTS drop\n"
        ));
    }
    s.push_str(
        "add chain ip nat CAPTIVE_INPUT { type filter hook input priority filter; policy accept; }\n",
    );
    s.push_str(&format!(
        "add rule ip nat CAPTIVE_INPUT iifname != \"lo\" tcp dport {{ {}, {} }} ct status & dnat == 0 drop\n",
        c.http_port, c.https_port
    ));
    s
}

/// A firewall operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    /// The command could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line, for the message only (it never goes through a shell).
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
}

/// Lets registered clients through.
pub trait Firewall: Send + Sync {
    /// Installs the chains if they are missing.
    fn setup(&self) -> Result<(), FirewallError>;
    /// Replaces the registered clients with `clients` (at start, from the saved state).
    fn restore(&self, clients: &[Ipv4Addr]) -> Result<(), FirewallError>;
    /// Lets `ip` through.
    fn allow(&self, ip: Ipv4Addr) -> Result<(), FirewallError>;
    /// Captures `ip` again.
    fn deny(&self, ip: Ipv4Addr) -> Result<(), FirewallError>;
}

/// Drives nftables through the `nft` program: arguments as an argv array, never a shell;
/// addresses are typed [`Ipv4Addr`]s, so nothing else reaches the rules.
#[derive(Debug, Clone)]
pub struct NftFirewall {
    program: PathBuf,
    prefix: Vec<OsString>,
    captive: Captive,
}

impl NftFirewall {
    /// Uses `program` (normally `nft`) for the rules of `captive`.
    pub fn new(program: impl Into<PathBuf>, captive: Captive) -> Self {
        NftFirewall {
            program: program.into(),
            prefix: Vec::new(),
            captive,
        }
    }

    /// Runs `program prefix… nft-arguments…` instead, e.g. `nsenter -t PID -n nft`.
    pub fn with_prefix(mut self, prefix: Vec<OsString>) -> Self {
        self.prefix = prefix;
        self
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<(), FirewallError> {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.prefix)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let program = self.program.display().to_string();
        let mut child = cmd.spawn().map_err(|source| FirewallError::Spawn {
            program: program.clone(),
            source,
        })?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A write error shows up as the command's failure below.
            let _ = pipe.write_all(text.as_bytes());
        }
        let out = child
            .wait_with_output()
            .map_err(|source| FirewallError::Spawn { program, source })?;
        if out.status.success() {
            Ok(())
        } else {
            let mut command = self.program.display().to_string();
            for a in self.prefix.iter().map(|a| a.to_string_lossy().to_string()) {
                command.push(' ');
                command.push_str(&a);
            }
            for a in args {
                command.push(' ');
                command.push_str(a);
            }
            Err(FirewallError::Failed {
                command,
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }
}

impl Firewall for NftFirewall {
    fn setup(&self) -> Result<(), FirewallError> {
        if self
            .run(&["list", "chain", "ip", TABLE, "CAPTIVE_PASSLIST"], None)
            .is_ok()
        {
            return Ok(());
        }
        self.run(&["-f", "-"], Some(&setup_script(&self.captive)))
    }

    fn restore(&self, clients: &[Ipv4Addr]) -> Result<(), FirewallError> {
        let mut script = format!("flush set ip {TABLE} {CLIENTS_SET}\n");
        if !clients.is_empty() {
            let list: Vec<String> = clients.iter().map(Ipv4Addr::to_string).collect();
            script.push_str(&format!(
                "add element ip {TABLE} {CLIENTS_SET} {{ {} }}\n",
                list.join(", ")
            ));
        }
        self.run(&["-f", "-"], Some(&script))
    }

    fn allow(&self, ip: Ipv4Addr) -> Result<(), FirewallError> {
        let ip = ip.to_string();
        self.run(
            &["add", "element", "ip", TABLE, CLIENTS_SET, "{", &ip, "}"],
            None,
        )
    }

    fn deny(&self, ip: Ipv4Addr) -> Result<(), FirewallError> {
        let ip = ip.to_string();
        self.run(
            &["delete", "element", "ip", TABLE, CLIENTS_SET, "{", &ip, "}"],
            None,
        )
    }
}

/// A firewall in memory, for tests and for offspot's `dummy_portal_filter`.
#[derive(Debug, Default)]
pub struct MemoryFirewall {
    state: Mutex<(bool, BTreeSet<Ipv4Addr>)>,
}

impl MemoryFirewall {
    /// An empty firewall, not set up.
    pub fn new() -> Self {
        Self::default()
    }

    /// The clients let through, in address order.
    pub fn allowed(&self) -> Vec<Ipv4Addr> {
        match self.state.lock() {
            Ok(s) => s.1.iter().copied().collect(),
            Err(poisoned) => poisoned.into_inner().1.iter().copied().collect(),
        }
    }

    /// Whether [`Firewall::setup`] ran.
    pub fn is_set_up(&self) -> bool {
        match self.state.lock() {
            Ok(s) => s.0,
            Err(poisoned) => poisoned.into_inner().0,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut (bool, BTreeSet<Ipv4Addr>)) -> R) -> R {
        match self.state.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

impl Firewall for MemoryFirewall {
    fn setup(&self) -> Result<(), FirewallError> {
        self.with(|s| s.0 = true);
        Ok(())
    }
    fn restore(&self, clients: &[Ipv4Addr]) -> Result<(), FirewallError> {
        self.with(|s| s.1 = clients.iter().copied().collect());
        Ok(())
    }
    fn allow(&self, ip: Ipv4Addr) -> Result<(), FirewallError> {
        self.with(|s| s.1.insert(ip));
        Ok(())
    }
    fn deny(&self, ip: Ipv4Addr) -> Result<(), FirewallError> {
        self.with(|s| s.1.remove(&ip));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captive(nets: &[&str]) -> Captive {
        Captive {
            hotspot_ip: Ipv4Addr::new(192, 168, 144, 1),
            captured_networks: nets.iter().map(|n| n.parse().unwrap()).collect(),
            captured_address: Ipv4Addr::new(198, 51, 100, 1),
            http_port: 2080,
            https_port: 2443,
        }
    }

    #[test]
    fn script_has_offspot_chains() {
        let s = setup_script(&captive(&["192.168.144.128/25"]));
        assert!(s.contains(
            "add rule ip nat PREROUTING ip saddr 192.168.144.128/25 tcp dport 80 jump CAPTIVE_HTTP\n"
        ));
        assert!(s.contains("dnat to 192.168.144.1:2443\n"));
        assert!(s.contains("ip daddr 198.51.100.1 tcp dport { 80, 443 } return"));
        let open = setup_script(&captive(&[]));
        assert!(open.contains("ip daddr != 192.168.144.1 tcp dport 443 jump CAPTIVE_HTTPS"));
        // unregistered clients get nothing forwarded, and no direct access to the portal
        assert!(s.contains(
            "add rule ip nat CAPTIVE_FORWARD ct direction original ip saddr 192.168.144.128/25 ip saddr != @CAPTIVE_CLIENTS drop\n"
        ));
        assert!(open.contains("ct direction original ip saddr != @CAPTIVE_CLIENTS drop\n"));
        assert!(s.contains("tcp dport { 2080, 2443 } ct status & dnat == 0 drop\n"));
    }

    #[test]
    fn memory_firewall_tracks_clients() {
        let f = MemoryFirewall::new();
        f.setup().unwrap();
        f.allow(Ipv4Addr::new(10, 0, 0, 2)).unwrap();
        f.allow(Ipv4Addr::new(10, 0, 0, 1)).unwrap();
        f.deny(Ipv4Addr::new(10, 0, 0, 2)).unwrap();
        assert!(f.is_set_up());
        assert_eq!(f.allowed(), vec![Ipv4Addr::new(10, 0, 0, 1)]);
        f.restore(&[Ipv4Addr::new(10, 0, 0, 9)]).unwrap();
        assert_eq!(f.allowed(), vec![Ipv4Addr::new(10, 0, 0, 9)]);
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let f = NftFirewall::new("/nonexistent/nft", captive(&[]));
        let e = f.allow(Ipv4Addr::new(10, 0, 0, 1)).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/nft"), "{e}");
    }
}
