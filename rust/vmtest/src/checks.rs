//! Named checks run against a booted image (`nixspot vm-test IMAGE --check NAME`).
//!
//! A check is a plain function over a started [`Machine`], registered in [`CHECKS`] with
//! the guest ports it needs forwarded. The hotspot checks (runtime, portal, content,
//! persistence) slot in as further entries once the base image exists.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::machine::{Machine, MachineConfig};

/// One registered check.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Name given to `--check`.
    pub name: &'static str,
    /// One line for `--list-checks`.
    pub description: &'static str,
    /// Guest TCP ports the check reaches through host forwards.
    pub guest_ports: &'static [u16],
    /// The check itself; the machine is booted and its console shell answers.
    pub run: fn(&mut Machine) -> Result<()>,
}

/// Every check, in the order `--check` runs them when none is named.
pub const CHECKS: &[Check] = &[
    Check {
        name: "boot",
        description: "the console shell answers on ttyS1 and `uname -a` succeeds",
        guest_ports: &[],
        run: check_boot,
    },
    Check {
        name: "http",
        description: "an HTTP server in the guest answers GET / on port 80 through hostfwd",
        guest_ports: &[80],
        run: check_http,
    },
];

fn check_boot(m: &mut Machine) -> Result<()> {
    let uname = m.succeed("uname -a")?;
    if !uname.contains("aarch64") {
        return Err(m.failure(format!("`uname -a` does not report aarch64: {uname:?}")));
    }
    Ok(())
}

fn check_http(m: &mut Machine) -> Result<()> {
    m.wait_for_port(80, Duration::from_secs(120))?;
    let r = m.http_get(80, "/", "localhost")?;
    if r.status >= 500 {
        return Err(m.failure(format!("GET / answered {}: {}", r.status, r.text())));
    }
    Ok(())
}

/// Finds a registered check by name.
pub fn find_check(name: &str) -> Result<&'static Check> {
    CHECKS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| Error::UnknownCheck {
            name: name.to_string(),
            known: CHECKS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
        })
}

/// The result of one check.
#[derive(Debug)]
pub struct CheckOutcome {
    /// The check's name.
    pub name: &'static str,
    /// Time the check took (boot not included).
    pub duration: Duration,
    /// Its result.
    pub result: Result<()>,
}

/// What a run of checks measured and found.
#[derive(Debug)]
pub struct RunReport {
    /// Time from QEMU's start until the console shell answered.
    pub console_ready: Option<Duration>,
    /// Outcome of each check, in order (checks after a failure still run).
    pub outcomes: Vec<CheckOutcome>,
}

impl RunReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.result.is_ok())
    }
}

/// Boots `config.image` once (forwarding every port the checks need) and runs the named
/// checks in order (all of [`CHECKS`] when `names` is empty). Errors that prevent booting
/// are returned; a failing check is recorded in its outcome.
pub fn run_checks(mut config: MachineConfig, names: &[String]) -> Result<RunReport> {
    let checks: Vec<&Check> = if names.is_empty() {
        CHECKS.iter().collect()
    } else {
        names.iter().map(|n| find_check(n)).collect::<Result<_>>()?
    };
    for c in &checks {
        for p in c.guest_ports {
            if !config.guest_ports.contains(p) {
                config.guest_ports.push(*p);
            }
        }
    }
    let mut machine = Machine::start(config)?;
    let mut outcomes = Vec::new();
    for c in checks {
        let t = Instant::now();
        let result = machine.step(c.name, c.run);
        outcomes.push(CheckOutcome {
            name: c.name,
            duration: t.elapsed(),
            result,
        });
    }
    Ok(RunReport {
        console_ready: machine.console_ready_after(),
        outcomes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, c) in CHECKS.iter().enumerate() {
            assert!(CHECKS[..i].iter().all(|o| o.name != c.name), "{}", c.name);
            assert_eq!(find_check(c.name).unwrap().name, c.name);
        }
        let e = find_check("nope").unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("boot, http"), "{e}");
    }

    #[test]
    fn unknown_check_fails_before_booting() {
        let cfg = MachineConfig::new("/nonexistent/image.img");
        let e = run_checks(cfg, &["boot".to_string(), "bogus".to_string()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown check `bogus`"), "{e}");
    }
}
