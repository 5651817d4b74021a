//! `/etc/passwd`, `/etc/group`, `/etc/shadow` and `/etc/gshadow` for a declared set of
//! system users and groups with fixed ids, replacing `base-passwd` and the `useradd`
//! calls of maintainer scripts.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Fixed uid.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// GECOS comment.
    pub gecos: String,
    /// Home directory (absolute).
    pub home: String,
    /// Login shell.
    pub shell: String,
    /// Password field of `/etc/shadow` (`*` = no password login).
    pub password: String,
    /// Whether the package's script creates the home directory (owned by the user).
    pub create_home: bool,
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Fixed gid.
    pub gid: u32,
    /// Supplementary members, in order.
    pub members: Vec<String>,
}

/// Users and groups of an image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accounts {
    /// Users, in file order.
    pub users: Vec<User>,
    /// Groups, in file order.
    pub groups: Vec<Group>,
}

fn user(name: &str, uid: u32, gid: u32, gecos: &str, home: &str, shell: &str) -> User {
    User {
        name: name.to_string(),
        uid,
        gid,
        gecos: gecos.to_string(),
        home: home.to_string(),
        shell: shell.to_string(),
        password: "*".to_string(),
        create_home: false,
    }
}

fn group(name: &str, gid: u32) -> Group {
    Group {
        name: name.to_string(),
        gid,
        members: Vec::new(),
    }
}

const NOLOGIN: &str = "/usr/sbin/nologin";

impl Accounts {
    /// Debian's `base-passwd` master files (bookworm), the accounts every Debian
    /// system has.
    pub fn debian_base() -> Accounts {
        let users = vec![
            user("root", 0, 0, "root", "/root", "/bin/sh"),
            user("daemon", 1, 1, "daemon", "/usr/sbin", NOLOGIN),
            user("bin", 2, 2, "bin", "/bin", NOLOGIN),
            user("sys", 3, 3, "sys", "/dev", NOLOGIN),
            user("sync", 4, 65534, "sync", "/bin", "/bin/sync"),
            user("games", 5, 60, "games", "/usr/games", NOLOGIN),
            user("man", 6, 12, "man", "/var/cache/man", NOLOGIN),
            user("lp", 7, 7, "lp", "/var/spool/lpd", NOLOGIN),
            user("mail", 8, 8, "mail", "/var/mail", NOLOGIN),
            user("news", 9, 9, "news", "/var/spool/news", NOLOGIN),
            user("uucp", 10, 10, "uucp", "/var/spool/uucp", NOLOGIN),
            user("proxy", 13, 13, "proxy", "/bin", NOLOGIN),
            user("www-data", 33, 33, "www-data", "/var/www", NOLOGIN),
            user("backup", 34, 34, "backup", "/var/backups", NOLOGIN),
            user("list", 38, 38, "Mailing List Manager", "/var/list", NOLOGIN),
            user("irc", 39, 39, "ircd", "/run/ircd", NOLOGIN),
            user("_apt", 42, 65534, "", "/nonexistent", NOLOGIN),
            user("nobody", 65534, 65534, "nobody", "/nonexistent", NOLOGIN),
        ];
        let groups = [
            ("root", 0),
            ("daemon", 1),
            ("bin", 2),
            ("sys", 3),
            ("adm", 4),
            ("tty", 5),
            ("disk", 6),
            ("lp", 7),
            ("mail", 8),
            ("news", 9),
            ("uucp", 10),
            ("man", 12),
            ("proxy", 13),
            ("kmem", 15),
            ("dialout", 20),
            ("fax", 21),
            ("voice", 22),
            ("cdrom", 24),
            ("floppy", 25),
            ("tape", 26),
            ("sudo", 27),
            ("audio", 29),
            ("dip", 30),
            ("www-data", 33),
            ("backup", 34),
            ("operator", 37),
            ("list", 38),
            ("irc", 39),
            ("src", 40),
            ("shadow", 42),
            ("utmp", 43),
            ("video", 44),
            ("sasl", 45),
            ("plugdev", 46),
            ("staff", 50),
            ("games", 60),
            ("users", 100),
            ("nogroup", 65534),
        ]
        .iter()
        .map(|(n, g)| group(n, *g))
        .collect();
        Accounts { users, groups }
    }

    /// [`Accounts::debian_base`] plus what the hotspot packages' scripts create, with
    /// fixed ids from Debian's dynamic system range: `dnsmasq` (uid 100, group
    /// nogroup; dnsmasq-base), `caddy` (uid/gid 101, also in www-data; caddy),
    /// `_runit-log` (102) and `runit-log` (103) (runit's sysuser-helper).
    pub fn hotspot() -> Accounts {
        let mut a = Accounts::debian_base();
        a.users.push(user(
            "dnsmasq",
            100,
            65534,
            "dnsmasq",
            "/var/lib/misc",
            NOLOGIN,
        ));
        a.groups.push(group("caddy", 101));
        let mut caddy = user(
            "caddy",
            101,
            101,
            "Caddy web server",
            "/var/lib/caddy",
            NOLOGIN,
        );
        caddy.create_home = true;
        a.users.push(caddy);
        if let Some(g) = a.groups.iter_mut().find(|g| g.name == "www-data") {
            g.members.push("caddy".to_string());
        }
        a.groups.push(group("_runit-log", 102));
        a.users
            .push(user("_runit-log", 102, 102, "", "/nonexistent", NOLOGIN));
        a.groups.push(group("runit-log", 103));
        a.users
            .push(user("runit-log", 103, 103, "", "/nonexistent", NOLOGIN));
        a
    }

    /// Checks names, unique names and ids, primary groups and members.
    pub fn validate(&self) -> Result<()> {
        let valid_name = |n: &str| {
            !n.is_empty()
                && n.len() <= 32
                && !n.starts_with('-')
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-.$".contains(c))
        };
        let clean = |s: &str| !s.contains(':') && !s.contains('\n');
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for u in &self.users {
            if !valid_name(&u.name) {
                return Err(Error::Config(format!("user name {:?} is invalid", u.name)));
            }
            if !names.insert(&u.name) {
                return Err(Error::Config(format!("user {} is declared twice", u.name)));
            }
            if !ids.insert(u.uid) {
                return Err(Error::Config(format!(
                    "uid {} of user {} is already used",
                    u.uid, u.name
                )));
            }
            for (what, v) in [
                ("gecos", &u.gecos),
                ("home", &u.home),
                ("shell", &u.shell),
                ("password", &u.password),
            ] {
                if !clean(v) {
                    return Err(Error::Config(format!(
                        "user {}: {what} {v:?} contains ':' or a newline",
                        u.name
                    )));
                }
            }
            if !u.home.starts_with('/') {
                return Err(Error::Config(format!(
                    "user {}: home {:?} is not absolute",
                    u.name, u.home
                )));
            }
            if !self.groups.iter().any(|g| g.gid == u.gid) {
                return Err(Error::Config(format!(
                    "user {}: primary gid {} has no group",
                    u.name, u.gid
                )));
            }
        }
        let mut gnames = BTreeSet::new();
        let mut gids = BTreeSet::new();
        for g in &self.groups {
            if !valid_name(&g.name) {
                return Err(Error::Config(format!("group name {:?} is invalid", g.name)));
            }
            if !gnames.insert(&g.name) {
                return Err(Error::Config(format!("group {} is declared twice", g.name)));
            }
            if !gids.insert(g.gid) {
                return Err(Error::Config(format!(
                    "gid {} of group {} is already used",
                    g.gid, g.name
                )));
            }
            for m in &g.members {
                if !names.contains(m) {
                    return Err(Error::Config(format!(
                        "group {}: member {m} is not a declared user",
                        g.name
                    )));
                }
            }
        }
        Ok(())
    }

    /// `/etc/passwd`
    pub fn passwd(&self) -> String {
        self.users
            .iter()
            .map(|u| {
                format!(
                    "{}:x:{}:{}:{}:{}:{}\n",
                    u.name, u.uid, u.gid, u.gecos, u.home, u.shell
                )
            })
            .collect()
    }

    /// `/etc/shadow` (no password ageing: the image has no meaningful "last change").
    pub fn shadow(&self) -> String {
        self.users
            .iter()
            .map(|u| format!("{}:{}:::::::\n", u.name, u.password))
            .collect()
    }

    /// `/etc/group`
    pub fn group(&self) -> String {
        self.groups
            .iter()
            .map(|g| format!("{}:x:{}:{}\n", g.name, g.gid, g.members.join(",")))
            .collect()
    }

    /// `/etc/gshadow`
    pub fn gshadow(&self) -> String {
        self.groups
            .iter()
            .map(|g| format!("{}:*::{}\n", g.name, g.members.join(",")))
            .collect()
    }

    /// Home directories the scripts would create: `(path without leading /, uid, gid)`.
    pub fn home_directories(&self) -> Vec<(String, u32, u32)> {
        self.users
            .iter()
            .filter(|u| u.create_home)
            .map(|u| (u.home.trim_start_matches('/').to_string(), u.uid, u.gid))
            .collect()
    }

    /// Looks up a uid by user name (for tar entries that carry names).
    pub fn uid_of(&self, name: &str) -> Option<u32> {
        self.users.iter().find(|u| u.name == name).map(|u| u.uid)
    }

    /// Looks up a gid by group name.
    pub fn gid_of(&self, name: &str) -> Option<u32> {
        self.groups.iter().find(|g| g.name == name).map(|g| g.gid)
    }
}
