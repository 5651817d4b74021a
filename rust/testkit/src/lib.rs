//! Helpers shared by nixspot's test suites (a dev-dependency only).
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
