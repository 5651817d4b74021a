//! Least privilege for the services: each runs as its own system user with only the
//! capabilities it needs (`nixspot-runtime run-as`).
//!
//! runit's `chpst -u` changes the user but can neither keep a capability across the
//! change nor set `no_new_privs`, and busybox has no `capsh`. [`drop_privileges`] does
//! what a service needs in one step, while still root:
//! 1. removes every other capability from the bounding set (so nothing the service
//!    runs can regain it, not even a setuid-root program);
//! 2. sets the supplementary groups to the user's primary group only, then the real,
//!    effective and saved gid and uid (`PR_SET_KEEPCAPS` keeps the permitted set);
//! 3. makes the kept capabilities permitted, effective, inheritable and *ambient*, so
//!    the program keeps them across `execve` without file capabilities, and so do the
//!    programs it runs (the portal's `nft`);
//! 4. sets `no_new_privs`: setuid bits and file capabilities grant nothing afterwards.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;

use rustix::thread::{self as rt, CapabilitySet, CapabilitySets};

/// A system account, as `/etc/passwd` has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
}

/// Why privileges could not be dropped.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    /// The account does not exist.
    #[error("{passwd}: no user {name:?} (nixspot's base image declares the service users)")]
    NoUser {
        /// The passwd file read.
        passwd: String,
        /// The user asked for.
        name: String,
    },
    /// The passwd file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// Its path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The account is root or has root's group: nothing would be dropped.
    #[error("refusing to run a service as {name:?} (uid {uid}, gid {gid}): it would keep root's privileges")]
    Root {
        /// The user.
        name: String,
        /// Its uid.
        uid: u32,
        /// Its gid.
        gid: u32,
    },
    /// An unknown capability name.
    #[error("unknown capability {0:?}; expected one of: {known}", known = KNOWN_CAPS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))]
    UnknownCapability(String),
    /// A system call failed.
    #[error("{step}: {source}")]
    Syscall {
        /// What was being done.
        step: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The program could not be started.
    #[error("cannot run {program}: {source}")]
    Exec {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The capabilities a service may be given, by the names `run-as --cap` takes (the
/// kernel's, lower case, without `cap_`). Only what the hotspot's services need.
pub const KNOWN_CAPS: &[(&str, CapabilitySet)] = &[
    ("net_bind_service", CapabilitySet::NET_BIND_SERVICE),
    ("net_admin", CapabilitySet::NET_ADMIN),
];

/// Parses capability names (`net_admin`, also `CAP_NET_ADMIN`).
pub fn parse_caps(names: &[String]) -> Result<CapabilitySet, PrivilegeError> {
    let mut set = CapabilitySet::empty();
    for n in names {
        let lower = n.to_ascii_lowercase();
        let short = lower.strip_prefix("cap_").unwrap_or(&lower);
        let (_, cap) = KNOWN_CAPS
            .iter()
            .find(|(k, _)| *k == short)
            .ok_or_else(|| PrivilegeError::UnknownCapability(n.clone()))?;
        set |= *cap;
    }
    Ok(set)
}

/// Finds `name` in the text of a passwd file.
pub fn lookup(passwd: &str, name: &str) -> Option<Account> {
    passwd.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        let [n, _, uid, gid, _, home, ..] = f[..] else {
            return None;
        };
        (n == name).then_some(())?;
        // -1 is no id: the kernel's "unchanged".
        let id = |t: &str| t.parse().ok().filter(|v| *v != u32::MAX);
        Some(Account {
            name: n.to_string(),
            uid: id(uid)?,
            gid: id(gid)?,
            home: home.to_string(),
        })
    })
}

/// Reads `name` from the passwd file at `path`.
pub fn account(path: &std::path::Path, name: &str) -> Result<Account, PrivilegeError> {
    let text = std::fs::read_to_string(path).map_err(|source| PrivilegeError::Read {
        path: path.display().to_string(),
        source,
    })?;
    lookup(&text, name).ok_or_else(|| PrivilegeError::NoUser {
        passwd: path.display().to_string(),
        name: name.to_string(),
    })
}

fn sys(step: &'static str) -> impl Fn(rustix::io::Errno) -> PrivilegeError {
    move |e| PrivilegeError::Syscall {
        step,
        source: e.into(),
    }
}

/// Makes the calling (single-threaded) process run as `who` with exactly `caps` (see
/// the module documentation). Needs root; fails without changing anything visible to
/// a service when a step fails (the caller must then not start the service).
pub fn drop_privileges(who: &Account, caps: CapabilitySet) -> Result<(), PrivilegeError> {
    if who.uid == 0 || who.gid == 0 {
        return Err(PrivilegeError::Root {
            name: who.name.clone(),
            uid: who.uid,
            gid: who.gid,
        });
    }
    // The kernel's highest capability number is in /proc; bits above it are invalid.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(40);
    for bit in 0..=last.min(63) {
        let cap = CapabilitySet::from_bits_retain(1 << bit);
        if !caps.contains(cap) {
            rt::remove_capability_from_bounding_set(cap)
                .map_err(sys("dropping a capability from the bounding set"))?;
        }
    }
    rt::set_keep_capabilities(true).map_err(sys("prctl(PR_SET_KEEPCAPS)"))?;
    let gid = rt::Gid::from_raw(who.gid);
    let uid = rt::Uid::from_raw(who.uid);
    rt::set_thread_groups(&[gid]).map_err(sys("setgroups"))?;
    rt::set_thread_res_gid(gid, gid, gid).map_err(sys("setresgid"))?;
    rt::set_thread_res_uid(uid, uid, uid).map_err(sys("setresuid"))?;
    rt::set_capabilities(
        None,
        CapabilitySets {
            effective: caps,
            permitted: caps,
            inheritable: caps,
        },
    )
    .map_err(sys("capset"))?;
    for (_, cap) in KNOWN_CAPS {
        if caps.contains(*cap) {
            rt::configure_capability_in_ambient_set(*cap, true)
                .map_err(sys("prctl(PR_CAP_AMBIENT_RAISE)"))?;
        }
    }
    rt::set_keep_capabilities(false).map_err(sys("prctl(PR_SET_KEEPCAPS)"))?;
    rt::set_no_new_privs(true).map_err(sys("prctl(PR_SET_NO_NEW_PRIVS)"))?;
    Ok(())
}

/// Drops to `who` with `caps`, sets `HOME`, `USER` and `LOGNAME`, and replaces the
/// process with `program args…` (looked up in `PATH`). Returns only on failure.
pub fn exec_as(
    who: &Account,
    caps: CapabilitySet,
    program: &OsString,
    args: &[OsString],
) -> PrivilegeError {
    if let Err(e) = drop_privileges(who, caps) {
        return e;
    }
    let source = std::process::Command::new(program)
        .args(args)
        .env("HOME", &who.home)
        .env("USER", &who.name)
        .env("LOGNAME", &who.name)
        .exec();
    PrivilegeError::Exec {
        program: program.to_string_lossy().into_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_are_looked_up_by_name() {
        let text = "root:x:0:0:root:/root:/bin/sh\nbroken line\ncaddy:x:101:101:Caddy:/var/lib/caddy:/usr/sbin/nologin\nodd:x:notanumber:1::/:/bin/sh\nneg:x:4294967295:1::/:/bin/sh\n";
        assert_eq!(
            lookup(text, "caddy"),
            Some(Account {
                name: "caddy".into(),
                uid: 101,
                gid: 101,
                home: "/var/lib/caddy".into()
            })
        );
        assert_eq!(lookup(text, "cadd"), None);
        assert_eq!(lookup(text, "odd"), None);
        assert_eq!(lookup(text, "neg"), None);
        assert_eq!(lookup(text, "broken line"), None);
    }

    #[test]
    fn capability_names() {
        let caps = parse_caps(&["net_admin".into(), "CAP_NET_BIND_SERVICE".into()]).unwrap();
        assert_eq!(
            caps,
            CapabilitySet::NET_ADMIN | CapabilitySet::NET_BIND_SERVICE
        );
        let e = parse_caps(&["sys_admin".into()]).unwrap_err().to_string();
        assert!(
            e.contains("\"sys_admin\"") && e.contains("net_admin"),
            "{e}"
        );
    }

    #[test]
    fn root_is_refused_before_anything_changes() {
        let root = Account {
            name: "toor".into(),
            uid: 0,
            gid: 5,
            home: "/".into(),
        };
        let e = drop_privileges(&root, CapabilitySet::empty()).unwrap_err();
        assert!(matches!(e, PrivilegeError::Root { .. }), "{e}");
        let wheel = Account {
            uid: 7,
            gid: 0,
            ..root
        };
        assert!(matches!(
            drop_privileges(&wheel, CapabilitySet::empty()),
            Err(PrivilegeError::Root { .. })
        ));
    }
}
