//! Corrupt MBRs must give errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("nixspot-fuzz-mbr-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    // with a protective 0xEE entry this goes on into the GPT reader too
    let _ = nixspot_fs::partition::read_table(&path);
});
