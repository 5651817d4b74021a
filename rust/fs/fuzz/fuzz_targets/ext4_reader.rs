//! Corrupt ext4 images must give errors, never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixspot_fs::ext4::Ext4Reader;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("nixspot-fuzz-ext4-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(r) = Ext4Reader::open(&path, 0) {
        let _ = r.label();
        if let Ok(entries) = r.entries() {
            for e in entries.iter().take(64) {
                if e.size < 1 << 20 {
                    let _ = r.read_file(e.ino);
                }
                let _ = r.inode_checksum_ok(e.ino);
            }
        }
    }
});
