//! `wifi`: the hotspot's access point as a phone meets it, over `mac80211_hwsim`.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::phone::Phone;
use super::Hotspot;
use crate::error::Result;
use crate::machine::Machine;

/// Names the phone looks up: whatever it asks, the offline hotspot answers with its
/// captured address.
const SPOOFED_NAMES: &[&str] = &[
    "example.org",
    "connectivitycheck.gstatic.com",
    "www.wikipedia.org",
    "no-such-name.invalid",
];

/// `ap.dhcp-range`'s first and last address.
fn dhcp_bounds(h: &Hotspot) -> Option<(Ipv4Addr, Ipv4Addr)> {
    let range = h.string(&["ap", "dhcp-range"])?;
    let mut parts = range.split(',');
    Some((
        parts.next()?.trim().parse().ok()?,
        parts.next()?.trim().parse().ok()?,
    ))
}

/// The `ap` key with `change` applied, as YAML for `nixspot-runtime apply`.
fn ap_variant(m: &Machine, h: &Hotspot, change: impl FnOnce(&mut Mapping)) -> Result<String> {
    let mut ap = match h.get(&["ap"]) {
        Some(Value::Mapping(ap)) => ap.clone(),
        _ => return Err(m.failure("the image's offspot.yaml has no `ap` mapping")),
    };
    change(&mut ap);
    let mut doc = Mapping::new();
    doc.insert(Value::from("ap"), Value::Mapping(ap));
    serde_yaml::to_string(&doc).map_err(|e| m.failure(format!("cannot write YAML: {e}")))
}

/// Reconfigures the access point as the runtime does at boot from an `offspot.yaml`
/// holding only `ap` (written under /run, the card's file untouched), then restarts
/// hostapd on the new configuration.
fn reconfigure(m: &mut Machine, yaml: &str) -> Result<()> {
    let out = m.succeed(&format!(
        "cat >/run/vmtest/offspot.yaml <<'OFFSPOT_EOF'\n{yaml}OFFSPOT_EOF\n\
         nixspot-runtime apply /run/vmtest/offspot.yaml 2>&1"
    ))?;
    if !out.contains("ap: applied") {
        return Err(m.failure(format!("the runtime did not apply the `ap` key:\n{out}")));
    }
    let (status, out) = m.execute(
        ". /run/vmtest/phone.sh\nphone_stop\nsv -w 10 restart /etc/service/hostapd >/dev/null\nap_wait",
        Duration::from_secs(240),
    )?;
    if status != 0 {
        return Err(m.failure(format!("hostapd did not restart: {out}")));
    }
    Ok(())
}

/// The check.
pub fn check_wifi(m: &mut Machine, h: &Hotspot) -> Result<String> {
    super::wait_for_runtime(m)?;
    let phone = Phone::setup(m, h)?;
    let ssid = phone.ssid.clone();
    let ssid_line = format!("SSID: {ssid}");
    let mut seen = Vec::new();

    // as built: broadcast, WPA2 with the module's passphrase
    let passphrase = h.string(&["ap", "passphrase"]).ok_or_else(|| {
        m.failure(
            "the image's ap has no passphrase: build the test hotspot (checks/vm/hotspot.nix)",
        )
    })?;
    if h.get(&["ap", "hide"]) == Some(&Value::Bool(true)) {
        return Err(
            m.failure("the image's ap is hidden: build the test hotspot (checks/vm/hotspot.nix)")
        );
    }
    // hostapd set the kernel's regulatory domain to ap.country from the image's signed
    // database (wireless-regdb), instead of leaving it in the world domain
    let country = h
        .string(&["ap", "country"])
        .unwrap_or_else(|| "US".to_string())
        .to_ascii_uppercase();
    m.step("regulatory domain", |m| {
        let (found, out) = phone.regulatory_domain(m)?;
        if found != country {
            return Err(m.failure(format!(
                "the kernel's regulatory domain is {found}, expected ap.country {country}:\n{out}"
            )));
        }
        Ok(())
    })?;
    seen.push(format!("regulatory domain {country}"));

    phone.new_identity(m, 1)?;
    let scan = m.step("scan", |m| phone.scan(m))?;
    if !scan.lines().any(|l| l.trim() == ssid_line) {
        return Err(m.failure(format!("the phone's scan does not show {ssid:?}:\n{scan}")));
    }
    seen.push("SSID broadcast".to_string());

    let wrong = format!("{passphrase}-wrong");
    if m.step("WPA2 with a wrong passphrase", |m| {
        phone.join_wpa2(m, &wrong)
    })? {
        return Err(m.failure("the phone joined with a wrong passphrase"));
    }
    if !m.step("WPA2 with the passphrase", |m| {
        phone.join_wpa2(m, &passphrase)
    })? {
        return Err(m.failure("the phone could not join with the hotspot's passphrase"));
    }
    seen.push("WPA2-PSK joined, wrong key refused".to_string());

    let lease = m.step("DHCP", |m| phone.dhcp(m))?;
    let (first, last) = dhcp_bounds(h)
        .ok_or_else(|| m.failure("the image's offspot.yaml has no usable ap.dhcp-range"))?;
    if lease.ip < first || lease.ip > last {
        return Err(m.failure(format!(
            "the phone's lease {} is outside ap.dhcp-range {first}-{last}",
            lease.ip
        )));
    }
    let address: Ipv4Addr = h
        .string(&["ap", "address"])
        .and_then(|a| a.parse().ok())
        .unwrap_or(Ipv4Addr::new(192, 168, 144, 1));
    if lease.router != address || lease.dns != address {
        return Err(m.failure(format!(
            "the lease names router {} and DNS {}, expected the hotspot {address}",
            lease.router, lease.dns
        )));
    }
    seen.push(format!("lease {} in {first}-{last}", lease.ip));

    // offline, every name is the captured address; the hotspot's own names are its own
    let captured = h.captured_address();
    m.step("DNS", |m| {
        for name in SPOOFED_NAMES {
            let got = phone.resolve(m, lease.dns, name)?;
            if got != [captured] {
                return Err(m.failure(format!(
                    "the hotspot's DNS answers {name} with {got:?}, expected the captured address {captured}"
                )));
            }
        }
        if let Some(fqdn) = h.fqdn() {
            let got = phone.resolve(m, lease.dns, &fqdn)?;
            if got != [address] {
                return Err(m.failure(format!(
                    "the hotspot's DNS answers its own name {fqdn} with {got:?}, expected {address}"
                )));
            }
        }
        Ok(())
    })?;
    seen.push(format!("every name resolves to {captured}"));

    // open and hidden, through offspot.yaml as an operator would change it
    let open_hidden = ap_variant(m, h, |ap| {
        ap.remove("passphrase");
        ap.insert(Value::from("hide"), Value::Bool(true));
    })?;
    let original = ap_variant(m, h, |_| {})?;
    let result = m.step("open and hidden", |m| {
        reconfigure(m, &open_hidden)?;
        phone.new_identity(m, 2)?;
        let scan = phone.scan(m)?;
        if scan.lines().any(|l| l.trim() == ssid_line) {
            return Err(m.failure(format!(
                "ap.hide: the phone's scan still shows {ssid:?}:\n{scan}"
            )));
        }
        if !scan.lines().any(|l| l.starts_with("BSS ")) {
            return Err(m.failure(format!(
                "the phone's scan finds no access point at all:\n{scan}"
            )));
        }
        let link = phone.join_open(m)?;
        if !link.contains("Connected to") {
            return Err(m.failure(format!(
                "the phone did not join the open hidden network:\n{link}"
            )));
        }
        let lease = phone.dhcp(m)?;
        Ok(lease)
    });
    // the access point as built again, whatever happened
    let restored = m.step("restore", |m| {
        reconfigure(m, &original)?;
        phone.leave(m)
    });
    let lease = result?;
    restored?;
    seen.push(format!(
        "open and hidden: not in the scan, joined by name, lease {}",
        lease.ip
    ));
    Ok(seen.join("; "))
}
