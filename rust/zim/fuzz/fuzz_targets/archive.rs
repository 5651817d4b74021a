//! Fuzz target: any bytes, opened as a ZIM archive and read through every public call,
//! must give `Ok` or `Err`, never a panic, a hang or an unbounded allocation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nixspot_zim::{Archive, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_blob_size: 1 << 20,
        max_decompressed: 16 << 20,
        max_xz_dictionary: 16 << 20,
        max_redirects: 20,
    };
    let Ok(zim) = Archive::from_source(data, "<fuzz>", limits) else {
        return;
    };
    let _ = zim.metadata_summary();
    let _ = zim.main_page();
    let _ = zim.article_count();
    let _ = zim.verify_checksum();
    let _ = zim.read("index.html");
    for i in 0..zim.entry_count().min(300) {
        if let Ok(e) = zim.entry(i) {
            let _ = zim.entry_by_path(&e.full_path());
            let _ = zim.read_entry(e);
        }
        let _ = zim.entry_by_title_index(i);
    }
});
