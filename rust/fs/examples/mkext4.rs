//! Writes an ext4 image from a host directory:
//! `mkext4 SRC_DIR OUT.img [SIZE_BYTES]` (minimal size when SIZE_BYTES is omitted).
//! Ownership is 0:0 and times are SOURCE_DATE_EPOCH (or 0), like a nixspot build.

use std::path::PathBuf;

use nixspot_fs::ext4::{host_tree_entries, Ext4Options, Ext4Writer, HostTreeOptions, Size};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(src), Some(out)) = (args.get(1), args.get(2)) else {
        return Err("usage: mkext4 SRC_DIR OUT.img [SIZE_BYTES]".into());
    };
    let epoch: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let size = match args.get(3) {
        Some(s) => Size::Exact(s.parse()?),
        None => Size::Minimal {
            margin_bytes: 0,
            margin_percent: 0,
        },
    };
    let opts = Ext4Options {
        size,
        seed: b"mkext4".to_vec(),
        label: "data".into(),
        timestamp: epoch,
        ..Ext4Options::default()
    };
    let host = HostTreeOptions {
        uid: Some(0),
        gid: Some(0),
        mtime: Some(epoch),
    };
    let mut w = Ext4Writer::new(opts);
    for e in host_tree_entries(&PathBuf::from(src), &host)? {
        w.add(e)?;
    }
    let plan = w.plan()?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(out)?;
    let s = plan.write(&f, 0)?;
    println!(
        "{} bytes, {} blocks used, {} inodes",
        s.size_bytes, s.used_blocks, s.inodes
    );
    Ok(())
}
