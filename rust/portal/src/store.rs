//! Registered clients, kept in memory and persisted as a small JSON file that is
//! rewritten atomically (temporary file, fsync, rename) on every change.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// One registered client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// Its address.
    pub ip: Ipv4Addr,
    /// Its MAC address, when the ARP table knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// When it registered (Unix seconds).
    pub registered_on: u64,
}

#[derive(Serialize, Deserialize)]
struct File {
    version: u32,
    clients: Vec<Client>,
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not the portal's JSON.
    #[error("{path}: not a nixspot-portal state file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The registered clients, by address.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Store {
    clients: BTreeMap<Ipv4Addr, Client>,
}

impl Store {
    /// Reads `path`; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.into(),
                    source,
                })
            }
        };
        let file: File = serde_json::from_slice(&bytes).map_err(|e| StoreError::Format {
            path: path.into(),
            message: e.to_string(),
        })?;
        if file.version != 1 {
            return Err(StoreError::Format {
                path: path.into(),
                message: format!("version {} (expected 1)", file.version),
            });
        }
        Ok(Store {
            clients: file.clients.into_iter().map(|c| (c.ip, c)).collect(),
        })
    }

    /// Writes the store to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), StoreError> {
        let file = File {
            version: 1,
            clients: self.clients.values().cloned().collect(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Format {
            path: path.into(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        let io = |source| StoreError::Io {
            path: path.into(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp"));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        if let Ok(d) = std::fs::File::open(dir) {
            // Makes the rename durable; not every filesystem supports it.
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// The client registered from `ip`, if any.
    pub fn get(&self, ip: Ipv4Addr) -> Option<&Client> {
        self.clients.get(&ip)
    }

    /// Adds or renews a client.
    pub fn insert(&mut self, client: Client) {
        self.clients.insert(client.ip, client);
    }

    /// Removes a client.
    pub fn remove(&mut self, ip: Ipv4Addr) -> Option<Client> {
        self.clients.remove(&ip)
    }

    /// Number of clients.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is registered.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Every client, by address.
    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.values()
    }

    /// Removes and returns the clients registered at or before `cutoff`.
    pub fn expire(&mut self, cutoff: u64) -> Vec<Client> {
        let gone: Vec<Ipv4Addr> = self
            .clients
            .values()
            .filter(|c| c.registered_on <= cutoff)
            .map(|c| c.ip)
            .collect();
        gone.into_iter()
            .filter_map(|ip| self.clients.remove(&ip))
            .collect()
    }

    /// The client that registered first (the one to drop when full).
    pub fn oldest(&self) -> Option<Ipv4Addr> {
        self.clients
            .values()
            .min_by_key(|c| (c.registered_on, c.ip))
            .map(|c| c.ip)
    }
}

/// The MAC address of `ip` in a `/proc/net/arp`-format table, if complete.
pub fn mac_from_arp(table: &str, ip: Ipv4Addr) -> Option<String> {
    let wanted = ip.to_string();
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (addr, flags, mac) = (f.first()?, f.get(2)?, f.get(3)?);
        let complete = u32::from_str_radix(flags.trim_start_matches("0x"), 16).ok()? & 0x2 != 0;
        let valid = mac.len() == 17
            && mac
                .split(':')
                .all(|b| b.len() == 2 && b.bytes().all(|c| c.is_ascii_hexdigit()))
            && *mac != "00:00:00:00:00:00";
        (*addr == wanted && complete && valid).then(|| mac.to_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let mut s = Store::default();
        for (i, t) in [(2u8, 100u64), (3, 200), (4, 300)] {
            s.insert(Client {
                ip: Ipv4Addr::new(10, 0, 0, i),
                mac: (i == 2).then(|| "aa:bb:cc:dd:ee:ff".to_string()),
                registered_on: t,
            });
        }
        s.save(&path).unwrap();
        let loaded = Store::load(&path).unwrap();
        assert_eq!(loaded, s);
        assert_eq!(s.oldest(), Some(Ipv4Addr::new(10, 0, 0, 2)));
        let gone = s.expire(200);
        assert_eq!(gone.len(), 2);
        assert_eq!(s.len(), 1);
        assert!(Store::load(&dir.path().join("missing")).unwrap().is_empty());
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(Store::load(&path), Err(StoreError::Format { .. })));
    }

    #[test]
    fn arp_lookup() {
        let table = "IP address       HW type     Flags       HW address            Mask     Device\n\
                     192.168.144.130  0x1         0x2         AA:bb:cc:dd:ee:01     *        wlan0\n\
                     192.168.144.131  0x1         0x0         00:00:00:00:00:00     *        wlan0\n\
                     192.168.144.132  0x1\n";
        assert_eq!(
            mac_from_arp(table, Ipv4Addr::new(192, 168, 144, 130)).as_deref(),
            Some("aa:bb:cc:dd:ee:01")
        );
        assert_eq!(mac_from_arp(table, Ipv4Addr::new(192, 168, 144, 131)), None);
        assert_eq!(mac_from_arp(table, Ipv4Addr::new(192, 168, 144, 132)), None);
        assert_eq!(mac_from_arp("", Ipv4Addr::new(1, 1, 1, 1)), None);
    }
}
