//! Finding 11 (issue 19): a 39 KB ZIM whose metadata point to a 256 MiB compressed blob
//! made the dashboard peak at 5.8 GB. Metadata and illustrations are read with caps on
//! the blob and on the decompression needed to reach it.

mod common;

use common::hostile_zim;
use nixspot_zim::{Archive, Error, ILLUSTRATION_MAX_BYTES, METADATA_MAX_BYTES};

#[test]
fn metadata_pointing_to_a_huge_blob_is_refused_without_decompressing_it() {
    let bytes = hostile_zim();
    assert!(bytes.len() < 100_000, "{} bytes", bytes.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.zim");
    std::fs::write(&path, &bytes).unwrap();
    let zim = Archive::open(&path).unwrap();

    for name in ["Title", "Description"] {
        match zim.metadata(name) {
            Err(Error::TooLarge { size, limit, .. }) => {
                assert_eq!(limit, METADATA_MAX_BYTES, "{name}");
                assert_eq!(size, 256 << 20, "{name}");
            }
            other => panic!(
                "{name}: expected TooLarge, got {:?}",
                other.map(|v| v.map(|d| d.len()))
            ),
        }
    }
    match zim.illustration(48) {
        Err(Error::TooLarge { limit, .. }) => assert_eq!(limit, ILLUSTRATION_MAX_BYTES),
        other => panic!(
            "expected TooLarge, got {:?}",
            other.map(|v| v.map(|d| d.len()))
        ),
    }
    // Reaching a small value behind 40 MiB of other blobs is more decompression than
    // metadata needs.
    assert!(matches!(zim.metadata("Name"), Err(Error::TooLarge { .. })));
    assert!(zim.metadata_summary().is_err());
    // Small values and content read as before.
    assert_eq!(
        zim.metadata_text("Language").unwrap().as_deref(),
        Some("eng")
    );
    assert_eq!(zim.read("index").unwrap().data, b"<p>x</p>");
}
