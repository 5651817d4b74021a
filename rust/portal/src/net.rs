//! IPv4 networks in CIDR notation.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 network such as `192.168.144.128/25` (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

/// A string that is not `a.b.c.d[/n]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid IPv4 network {0:?}: expected a.b.c.d or a.b.c.d/n with n in 0..=32")]
pub struct Ipv4NetError(pub String);

impl Ipv4Net {
    /// The network of `addr` with `prefix` bits (host bits cleared).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Result<Self, Ipv4NetError> {
        if prefix > 32 {
            return Err(Ipv4NetError(format!("{addr}/{prefix}")));
        }
        let mask = Self::mask_bits(prefix);
        Ok(Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    fn mask_bits(prefix: u8) -> u32 {
        u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
    }

    /// The network address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(Self::mask_bits(self.prefix))
    }

    /// Whether `ip` is inside the network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask_bits(self.prefix) == u32::from(self.addr)
    }
}

impl From<Ipv4Addr> for Ipv4Net {
    /// The single-address network `addr/32`.
    fn from(addr: Ipv4Addr) -> Self {
        Ipv4Net { addr, prefix: 32 }
    }
}

impl FromStr for Ipv4Net {
    type Err = Ipv4NetError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || Ipv4NetError(s.to_string());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                (a, p.parse::<u8>().map_err(|_| err())?)
            }
            None => (s, 32),
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| err())?;
        Ipv4Net::new(addr, prefix).map_err(|_| err())
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_contains() {
        let n: Ipv4Net = "192.168.144.130/25".parse().unwrap();
        assert_eq!(n.to_string(), "192.168.144.128/25");
        assert!(n.contains("192.168.144.254".parse().unwrap()));
        assert!(!n.contains("192.168.144.1".parse().unwrap()));
        assert_eq!(n.netmask(), Ipv4Addr::new(255, 255, 255, 128));
        let all: Ipv4Net = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(8, 8, 8, 8)));
        assert_eq!("1.2.3.4".parse::<Ipv4Net>().unwrap().prefix(), 32);
        for bad in [
            "",
            "1.2.3/8",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3.4/+1",
            "x/8",
            "1.2.3.4/8/8",
        ] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
    }
}
