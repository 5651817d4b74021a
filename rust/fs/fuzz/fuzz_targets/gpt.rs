//! Corrupt GPTs (behind a valid protective MBR) must give errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("nixspot-fuzz-gpt-{}", std::process::id()));
    // a fixed protective MBR, so every input reaches the GPT parser
    let mut img = vec![0u8; 512];
    img[446 + 4] = 0xEE;
    img[446 + 8] = 1;
    img[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    img[510] = 0x55;
    img[511] = 0xAA;
    img.extend_from_slice(data);
    if std::fs::write(&path, &img).is_err() {
        return;
    }
    let _ = nixspot_fs::partition::read_table(&path);
});
