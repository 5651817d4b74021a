//! Any bytes, expanded as each archive format: errors are fine, panics and reads outside
//! the archive are not. Every range an expansion returns must lie inside its source and
//! fit its file, and every kept link must stay inside the target directory (checked
//! here again, independently, by resolving it against the returned entries).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nixspot_archive::{expand, Format};
use nixspot_fs::ext4::{EntryKind, FileData};
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("input");
    std::fs::write(&archive, data).expect("write input");
    let target = Path::new("t");
    for format in [Format::Tar, Format::Gztar, Format::Zip] {
        let Ok(expanded) = expand(&archive, format, target, dir.path()) else {
            continue;
        };
        let mut links = BTreeMap::new();
        for entry in &expanded.entries {
            assert!(entry.path.starts_with(target), "{:?}", entry.path);
            assert!(
                entry.meta.mode & 0o6000 == 0,
                "setuid kept: {:?}",
                entry.path
            );
            match &entry.kind {
                EntryKind::File(FileData::Ranges {
                    source,
                    size,
                    ranges,
                }) => {
                    let len = std::fs::metadata(source).expect("source").len();
                    let mut end = 0;
                    for r in ranges {
                        assert!(r.file_offset >= end && r.file_offset + r.len <= *size);
                        end = r.file_offset + r.len;
                        let source_end = r.source_offset.checked_add(r.len);
                        assert!(
                            source_end.is_some_and(|e| e <= len),
                            "range past the source"
                        );
                    }
                }
                EntryKind::Symlink(t) => {
                    let rel = entry.path.strip_prefix(target).expect("under target");
                    links.insert(rel.to_path_buf(), t.clone());
                }
                EntryKind::CharDevice { .. } | EntryKind::BlockDevice { .. } | EntryKind::Fifo => {
                    panic!("special file kept: {:?}", entry.path)
                }
                _ => {}
            }
        }
        // A hard link to a symlink is the same link text read from where it is.
        for entry in &expanded.entries {
            if let EntryKind::HardLink(to) = &entry.kind {
                let to = to.strip_prefix(target).expect("under target");
                if let Some(t) = links.get(to).cloned() {
                    let rel = entry.path.strip_prefix(target).expect("under target");
                    links.insert(rel.to_path_buf(), t);
                }
            }
        }
        for (path, t) in &links {
            let mut at = path.parent().map(Path::to_path_buf).unwrap_or_default();
            assert!(
                resolve_into(&links, &mut at, t, 0),
                "{path:?} -> {t:?} escapes"
            );
        }
    }
});

/// An independent resolver (depth-limited like the kernel): moves `at` to where `t`
/// leads from it, `false` if that goes above the top; loops count as inside (the kernel
/// stops them with ELOOP).
fn resolve_into(
    links: &BTreeMap<PathBuf, Vec<u8>>,
    at: &mut PathBuf,
    t: &[u8],
    depth: u32,
) -> bool {
    if depth > 40 {
        return true;
    }
    if t.first() == Some(&b'/') {
        return false;
    }
    for p in t.split(|b| *b == b'/') {
        match p {
            b"" | b"." => {}
            b".." => {
                if !at.pop() {
                    return false;
                }
            }
            name => {
                at.push(std::ffi::OsStr::from_bytes(name));
                if let Some(next) = links.get(at.as_path()) {
                    at.pop();
                    if !resolve_into(links, at, next, depth + 1) {
                        return false;
                    }
                }
            }
        }
    }
    true
}
