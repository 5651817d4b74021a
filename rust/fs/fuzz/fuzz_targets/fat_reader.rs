//! Corrupt FAT filesystems must give errors, never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixspot_fs::fat::Fat;

fn walk(fat: &Fat<'_>, dir: &str, depth: usize) {
    if depth > 8 {
        return;
    }
    let Ok(list) = fat.list(dir) else { return };
    for e in list.iter().take(64) {
        let p = format!("{dir}/{}", e.name);
        if e.is_dir {
            walk(fat, &p, depth + 1);
        } else {
            let _ = fat.read_file(&p);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("nixspot-fuzz-fat-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(&path) else {
        return;
    };
    if let Ok(fat) = Fat::open(&f, 0, data.len() as u64, 0) {
        let _ = fat.label();
        walk(&fat, "", 0);
    };
});
