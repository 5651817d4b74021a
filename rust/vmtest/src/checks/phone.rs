//! The phone of the WiFi checks: a client on the second `mac80211_hwsim` radio, in its
//! own network namespace inside the guest, so that its traffic enters the hotspot's
//! `wlan0` as a real station's does (nftables, dnsmasq and the portal see it as they
//! would a phone's). The guest side is `phone.sh`; the phone's tools come from the test
//! image's `.deb`s (`checks/vm/client.nix`).

use std::net::Ipv4Addr;
use std::time::Duration;

use super::Hotspot;
use crate::error::Result;
use crate::http::HttpResponse;
use crate::machine::Machine;

/// The guest-side helpers, written to `/run/vmtest/phone.sh` and sourced by every
/// command below.
const SCRIPT: &str = include_str!("phone.sh");

/// Time the guest gets to unpack the phone's tools, load the radios and start hostapd
/// (tens of seconds under emulation).
const SETUP_TIMEOUT: Duration = Duration::from_secs(240);

/// Time for an association (wpa_supplicant gives up on a wrong key after its 4-way
/// handshake retries) or a DHCP exchange.
const LINK_TIMEOUT: Duration = Duration::from_secs(90);

/// Time for a scan: `phone_scan` tries up to 10 times, each bounded by 15 s (a try
/// takes about a second when the kernel answers).
const SCAN_TIMEOUT: Duration = Duration::from_secs(200);

/// What a DHCP lease gave the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The phone's address.
    pub ip: Ipv4Addr,
    /// Its default gateway.
    pub router: Ipv4Addr,
    /// Its DNS server.
    pub dns: Ipv4Addr,
}

/// Parses udhcpc's hook line `lease ip=… mask=… router=… dns=…`.
pub fn parse_lease(out: &str) -> Option<Lease> {
    let line = out.lines().rev().find(|l| l.starts_with("lease "))?;
    let field = |k: &str| -> Option<Ipv4Addr> {
        let v = line.split(' ').find_map(|f| f.strip_prefix(k))?;
        v.parse().ok()
    };
    Some(Lease {
        ip: field("ip=")?,
        router: field("router=")?,
        dns: field("dns=")?,
    })
}

/// The IPv4 addresses busybox `nslookup` printed for the name asked (the `Address:`
/// lines after `Name:`; the first `Address:` is the server's).
pub fn parse_nslookup(out: &str) -> Vec<Ipv4Addr> {
    out.lines()
        .skip_while(|l| !l.starts_with("Name:"))
        .filter_map(|l| l.strip_prefix("Address:"))
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// The country of the kernel's global regulatory domain in `iw reg get` output (the
/// `country XX: …` line under `global`; `00` is the world domain).
pub fn parse_global_country(out: &str) -> Option<&str> {
    let mut lines = out.lines().skip_while(|l| l.trim() != "global");
    lines.next()?;
    let line = lines.next()?.trim().strip_prefix("country ")?;
    let (code, _) = line.split_once(':')?;
    Some(code)
}

/// Parses `curl -i` output: status line, headers, then the body as curl already decoded
/// it (so `Transfer-Encoding` no longer applies).
pub fn parse_curl(out: &str) -> Option<HttpResponse> {
    let (head, body) = out.split_once("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(HttpResponse {
        status,
        headers,
        body: body.as_bytes().to_vec(),
    })
}

/// Runs `body` after sourcing the helpers; fails the step unless it exits 0.
fn sh(m: &mut Machine, body: &str, timeout: Duration) -> Result<String> {
    let cmd = format!(". /run/vmtest/phone.sh\n{body}");
    let (status, out) = m.execute(&cmd, timeout)?;
    if status != 0 {
        return Err(m.failure(format!(
            "`{}` exited with {status}:\n{}",
            body.lines().next().unwrap_or(body),
            out.trim_end()
        )));
    }
    Ok(out)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The phone, once the radios are up (see [`Phone::setup`]).
#[derive(Debug)]
pub struct Phone {
    /// The hotspot's SSID.
    pub ssid: String,
}

impl Phone {
    /// Unpacks the phone's tools, waits for the test image's simulated radios (the init
    /// loads `mac80211_hwsim`; hostapd runs on the first with the runtime's
    /// configuration) and moves the second into the phone's namespace. Idempotent: later
    /// checks reuse it.
    pub fn setup(m: &mut Machine, h: &Hotspot) -> Result<Phone> {
        let ssid = h.require(m, &["ap", "ssid"])?;
        m.step("radios", |m| {
            m.succeed(&format!(
                "mkdir -p /run/vmtest && cat >/run/vmtest/phone.sh <<'PHONE_SH_EOF'\n{SCRIPT}\nPHONE_SH_EOF"
            ))?;
            sh(m, "wifi_setup", SETUP_TIMEOUT)
        })?;
        Ok(Phone { ssid })
    }

    /// Becomes a phone the hotspot never saw: a new MAC address (`02:00:00:99:00:<n>`).
    pub fn new_identity(&self, m: &mut Machine, n: u8) -> Result<()> {
        sh(
            m,
            &format!("phone_reset 02:00:00:99:00:{n:02x}"),
            LINK_TIMEOUT,
        )
        .map(|_| ())
    }

    /// The scan of the access point's channel (`iw dev … scan`), cache flushed.
    pub fn scan(&self, m: &mut Machine) -> Result<String> {
        sh(m, "phone_scan", SCAN_TIMEOUT)
    }

    /// Associates with WPA2-PSK; `Ok(true)` when connected, `Ok(false)` when the access
    /// point refused the key.
    pub fn join_wpa2(&self, m: &mut Machine, passphrase: &str) -> Result<bool> {
        let out = sh(
            m,
            &format!("phone_wpa {} {}", quote(&self.ssid), quote(passphrase)),
            LINK_TIMEOUT,
        )?;
        Ok(out.lines().any(|l| l == "connected"))
    }

    /// Associates with an open network (by name: it may be hidden).
    pub fn join_open(&self, m: &mut Machine) -> Result<String> {
        sh(
            m,
            &format!("phone_open {}", quote(&self.ssid)),
            LINK_TIMEOUT,
        )
    }

    /// Asks the hotspot's DHCP server for a lease.
    pub fn dhcp(&self, m: &mut Machine) -> Result<Lease> {
        let out = sh(m, "phone_dhcp", LINK_TIMEOUT)?;
        parse_lease(&out).ok_or_else(|| m.failure(format!("udhcpc gave no usable lease:\n{out}")))
    }

    /// The A records the phone's DNS server `dns` gives for `name`.
    pub fn resolve(&self, m: &mut Machine, dns: Ipv4Addr, name: &str) -> Result<Vec<Ipv4Addr>> {
        let out = sh(
            m,
            &format!("in_phone nslookup -type=a {} {dns}", quote(name)),
            LINK_TIMEOUT,
        )?;
        Ok(parse_nslookup(&out))
    }

    /// `GET http://<host><path>` from the phone, connecting to `ip` (what the phone's DNS
    /// answered for `host`), with extra request headers.
    pub fn get(
        &self,
        m: &mut Machine,
        ip: Ipv4Addr,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<HttpResponse> {
        let mut cmd = format!(
            "in_phone curl -sS -i -m 20 --resolve {} ",
            quote(&format!("{host}:80:{ip}"))
        );
        for (k, v) in headers {
            cmd.push_str(&format!("-H {} ", quote(&format!("{k}: {v}"))));
        }
        cmd.push_str(&quote(&format!("http://{host}{path}")));
        let out = sh(m, &cmd, LINK_TIMEOUT)?;
        parse_curl(&out).ok_or_else(|| {
            m.failure(format!(
                "GET http://{host}{path} from the phone: not an HTTP answer:\n{}",
                super::short_text(&out)
            ))
        })
    }

    /// Runs `body` (a shell command) in the phone's namespace, returning its exit status
    /// and output (for probes that are expected to fail).
    pub fn try_run(&self, m: &mut Machine, body: &str, timeout: Duration) -> Result<(i32, String)> {
        m.execute(&format!(". /run/vmtest/phone.sh\nin_phone {body}"), timeout)
    }

    /// The country of the kernel's global regulatory domain (`iw reg get` in the
    /// hotspot's namespace), and the whole output.
    pub fn regulatory_domain(&self, m: &mut Machine) -> Result<(String, String)> {
        let out = sh(m, "iw reg get", LINK_TIMEOUT)?;
        match parse_global_country(&out) {
            Some(code) => Ok((code.to_string(), out.clone())),
            None => Err(m.failure(format!("`iw reg get` names no global country:\n{out}"))),
        }
    }

    /// Leaves the network (wpa_supplicant stopped, disconnected).
    pub fn leave(&self, m: &mut Machine) -> Result<()> {
        sh(m, "phone_stop", LINK_TIMEOUT).map(|_| ())
    }
}

/// The phone joined to the hotspot as built (WPA2 with `ap.passphrase`, or open) with a
/// new identity `n`, and its lease.
pub fn joined(m: &mut Machine, h: &Hotspot, n: u8) -> Result<(Phone, Lease)> {
    let phone = Phone::setup(m, h)?;
    phone.new_identity(m, n)?;
    match h.string(&["ap", "passphrase"]) {
        Some(p) => {
            if !phone.join_wpa2(m, &p)? {
                return Err(m.failure("the phone could not join with the hotspot's passphrase"));
            }
        }
        None => {
            phone.join_open(m)?;
        }
    }
    let lease = phone.dhcp(m)?;
    Ok((phone, lease))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_and_lookups_are_parsed() {
        let l = parse_lease("udhcpc: started\nlease ip=192.168.144.200 mask=24 router=192.168.144.1 dns=192.168.144.1\n").unwrap();
        assert_eq!(l.ip, Ipv4Addr::new(192, 168, 144, 200));
        assert_eq!(l.dns, Ipv4Addr::new(192, 168, 144, 1));
        assert!(parse_lease("udhcpc: no lease\n").is_none());
        let out = "Server:\t\t192.168.144.1\nAddress:\t192.168.144.1:53\n\nName:\texample.org\nAddress: 10.0.2.16\n\n";
        assert_eq!(parse_nslookup(out), vec![Ipv4Addr::new(10, 0, 2, 16)]);
        assert!(parse_nslookup("** server can't find x: NXDOMAIN\n").is_empty());
        let r = parse_curl(
            "HTTP/1.1 204 No Content\r\nServer: x\r\nTransfer-Encoding: chunked\r\n\r\nab\r\n",
        )
        .unwrap();
        assert_eq!(
            (r.status, r.header("server"), &r.body[..]),
            (204, Some("x"), &b"ab\r\n"[..])
        );
        assert!(parse_curl("curl: (7) Failed to connect").is_none());
    }

    #[test]
    fn the_global_regulatory_country_is_read_from_iw() {
        let fr = "global\ncountry FR: DFS-ETSI\n\t(2400 - 2483 @ 40), (N/A, 20), (N/A)\n\nphy#1\ncountry 00: DFS-UNSET\n";
        assert_eq!(parse_global_country(fr), Some("FR"));
        let world = "global\ncountry 00: DFS-UNSET\n\t(2402 - 2472 @ 40), (6, 20), (N/A)\n";
        assert_eq!(parse_global_country(world), Some("00"));
        assert_eq!(parse_global_country("phy#0\ncountry FR: DFS-ETSI\n"), None);
        assert_eq!(
            parse_global_country("command failed: No such file or directory (-2)\n"),
            None
        );
    }
}
