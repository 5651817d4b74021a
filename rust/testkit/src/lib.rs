//! Helpers shared by nixspot's test suites (a dev-dependency only): real Nix with an
//! explicit configuration, and a real kiwix-serve.
//!
//! Tests compare nixspot with real Nix (Debian's `nix-bin`, 2.8). Real Nix reads
//! `/etc/nix/nix.conf`, `~/.config/nix/nix.conf`, `NIX_CONFIG` and friends, and as root it
//! expects the `nixbld` build-users group: on one machine a warning on stderr, on another
//! a failed build. [`nix`] gives every test the same explicit configuration instead, so
//! the suite passes on a fresh machine and on a developer's, whatever is configured there.

use std::process::Command;

/// The configuration every test's real Nix runs with, and nothing else.
///
/// - `build-users-group =`: builds run as the calling user (root in CI), so no `nixbld`
///   group or users are needed (and none is warned about on stderr);
/// - `sandbox = false`: the flake tests' builders are the cargo-built `nixspot` outside
///   the store;
/// - `substituters =`: nothing is fetched from a binary cache (no network here);
/// - `experimental-features`: `nix flake show` in the flake tests;
/// - `eval-cache = false`: flake evaluation leaves nothing under the cache directory.
pub const NIX_CONFIG: &str = "build-users-group =\n\
sandbox = false\n\
substituters =\n\
experimental-features = nix-command flakes\n\
eval-cache = false\n\
warn-dirty = false\n";

/// Environment variables through which a caller's own Nix set-up would reach the test.
const AMBIENT: &[&str] = &[
    "NIX_PATH",
    "NIX_REMOTE",
    "NIX_STORE_DIR",
    "NIX_STATE_DIR",
    "NIX_LOG_DIR",
    "NIX_DATA_DIR",
    "NIX_BUILD_HOOK",
    "NIX_SSL_CERT_FILE",
    "NIX_USER_PROFILE_DIR",
    "NIX_PROFILES",
    "NIX_IGNORE_SYMLINK_STORE",
];

/// Where neither a system nor a user configuration file exists: Nix ignores a missing
/// `nix.conf`, so only [`NIX_CONFIG`] applies.
const NO_CONF: &str = "/nonexistent/nixspot-tests/nix";

/// A command for the real Nix program `program` (`nix-instantiate`, `nix-build`, `nix`,
/// `nix-store`, …) that reads only [`NIX_CONFIG`]: no configuration file, no `NIX_PATH`,
/// no daemon, no cache directory of the caller's.
pub fn nix(program: &str) -> Command {
    nix_state_ready();
    configured_nix(program)
}

/// Nix sets up its state (`/nix/var/nix`: database, gcroots, profiles) on first use, and
/// two first uses at once race ("creating symlink from '/nix/var/nix/gcroots/profiles'
/// … File exists", seen when a test binary's parallel tests met an empty `/nix`): the
/// process's first Nix command runs alone, the others wait for it.
fn nix_state_ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| {
        // Only its side effect matters: a Nix that does not work fails the caller's own
        // command, with that command's message.
        let _ = configured_nix("nix-instantiate")
            .args(["--eval", "-E", "null"])
            .output();
    });
}

/// [`nix`]'s command, without waiting for the state.
fn configured_nix(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for var in AMBIENT {
        cmd.env_remove(var);
    }
    cmd.env("NIX_PATH", "")
        .env("NIX_CONF_DIR", NO_CONF)
        .env("NIX_USER_CONF_FILES", format!("{NO_CONF}/nix.conf"))
        .env("NIX_CONFIG", NIX_CONFIG)
        .env("XDG_CONFIG_HOME", NO_CONF)
        .env("XDG_CONFIG_DIRS", NO_CONF);
    cmd
}

/// Debian's `kiwix-serve --library` (kiwix-tools) on 127.0.0.1: the software
/// library.kiwix.org runs, serving the OPDS catalog of a library XML. Killed when
/// dropped.
pub struct KiwixServe {
    child: std::process::Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl KiwixServe {
    /// Starts it on a free port and waits until it accepts connections (another
    /// process may take the port in between: then it retries on another).
    pub fn start(library: &std::path::Path) -> KiwixServe {
        use std::net::TcpStream;
        for _ in 0..10 {
            let port = free_port();
            let mut child = Command::new("kiwix-serve")
                .args(["--library", "--address", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .arg(library)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("kiwix-serve is required (apt-get install kiwix-tools)");
            // Readiness, not timing: poll until it answers or exits.
            for _ in 0..200 {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                // Ours, not another test's server that took the port first (ours then
                // exits, and the other one may stop while this test talks to it).
                if TcpStream::connect(("127.0.0.1", port)).is_ok() && listens_on(child.id(), port) {
                    let url = format!("http://127.0.0.1:{port}");
                    return KiwixServe { child, url };
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("kiwix-serve did not start on {}", library.display());
    }

    /// Stops the server now (the catalog becomes unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether process `pid` holds the socket listening on TCP port `port` (from
/// `/proc/net/tcp{,6}` and the process's file descriptors).
fn listens_on(pid: u32, port: u16) -> bool {
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields.get(1)?.rsplit(':').next()?;
                    let inode = fields.get(9)?;
                    (u16::from_str_radix(local_port, 16).ok()? == port && *fields.get(3)? == "0A")
                        .then(|| format!("socket:[{inode}]"))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
                .any(|target| listening.iter().any(|s| target.as_os_str() == s.as_str()))
        })
        .unwrap_or(false)
}

impl Drop for KiwixServe {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port on 127.0.0.1 that was free a moment ago. Another process may take it before
/// the caller binds it: callers that start a server on it retry on another port then.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

pub mod browser;
pub mod catalog;
mod services;
pub use services::{Mail, Postgres, SmtpSink, MOTO_SERVER, POSTGRES_BIN, S3};
