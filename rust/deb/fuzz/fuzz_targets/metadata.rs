//! Hostile Debian metadata: whatever a mirror (or whoever sits between it and us) sends
//! must give a value or an error, never a panic, a hang or unbounded memory. The same
//! bytes go through every parser a lock run feeds them to.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nixspot_deb::signature::{verify_clearsigned, Keyring};
use nixspot_deb::{deb822, index};

fn keyring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| Keyring::debian_bookworm().expect("pinned keys"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = deb822::parse(text, "fuzz");
    let _ = deb822::strip_clearsign(text, "fuzz");
    let _ = index::parse_release(text, "fuzz");
    let _ = index::parse_packages(text, "fuzz");
    let _ = index::parse_date(text);
    // The OpenPGP armour and packet parsers see the InRelease before anything else.
    if let Ok(v) = verify_clearsigned(text, keyring(), 1_796_253_223, "fuzz") {
        let _ = index::parse_release(&v.text, "fuzz");
    }
    let _ = index::decompress(data, "fuzz.xz");
    let _ = index::decompress(data, "fuzz.gz");
});
