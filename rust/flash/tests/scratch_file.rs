//! Flashing onto a regular file standing in for a card: plain and compressed images,
//! the size check, verification catching damage, interruption, and the image itself
//! refused as a target.

use nixspot_flash::{
    flash, Compression, FlashError, Image, ImageSize, NoProgress, Options, Outcome, Phase,
    Progress, Target,
};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// 9 MiB + 77 bytes: three write blocks, the last partial and unaligned, with a zero run
/// in the middle (written too: a card gets every byte).
fn image_bytes() -> Vec<u8> {
    let mut data: Vec<u8> = (0..(9u32 << 20) + 77)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    data[(2 << 20)..(6 << 20)].fill(0);
    data
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn options(progress: &dyn Progress) -> Options<'_> {
    Options {
        verify: true,
        progress,
        cancel: None,
        before_verify: None,
    }
}

fn write_image(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let bytes = match name.rsplit('.').next() {
        Some("zst") => {
            let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).expect("zstd");
            enc.write_all(data).expect("zstd");
            enc.finish().expect("zstd")
        }
        Some("xz") => {
            let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
            enc.write_all(data).expect("xz");
            enc.finish().expect("xz")
        }
        Some("gz") => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(data).expect("gz");
            enc.finish().expect("gz")
        }
        _ => data.to_vec(),
    };
    std::fs::write(&path, bytes).expect("write image");
    path
}

#[test]
fn plain_zst_xz_and_gz_images_land_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let expected_sizes = [
        (
            "hotspot.img",
            Compression::None,
            ImageSize::Exact(data.len() as u64),
        ),
        // A streamed zstd frame records no size (as a multithreaded encoder writes it).
        ("hotspot.img.zst", Compression::Zstd, ImageSize::Unknown),
        (
            "hotspot.img.xz",
            Compression::Xz,
            ImageSize::Exact(data.len() as u64),
        ),
        ("hotspot.img.gz", Compression::Gzip, ImageSize::Unknown),
    ];
    for (name, compression, size) in expected_sizes {
        let image = Image::open(&write_image(dir.path(), name, &data)).expect("open");
        assert_eq!(image.compression, compression, "{name}");
        assert_eq!(image.size, size, "{name}");
        // An existing, longer file is truncated: the result is the image, nothing more.
        let card = dir.path().join(format!("{name}.card"));
        std::fs::write(&card, vec![0xaa; 12 << 20]).expect("old content");
        let outcome = flash(&image, &Target::File(card.clone()), &options(&NoProgress))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            outcome,
            Outcome {
                bytes: data.len() as u64,
                sha256: sha256(&data),
                verified: true
            },
            "{name}"
        );
        assert!(
            std::fs::read(&card).expect("card") == data,
            "{name}: bytes differ"
        );
    }
}

#[test]
fn zstd_frame_with_its_size_is_sized_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let path = dir.path().join("sized.img.zst");
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 3).expect("zstd");
    enc.set_pledged_src_size(Some(data.len() as u64))
        .expect("pledge");
    enc.include_contentsize(true).expect("content size");
    enc.write_all(&data).expect("zstd");
    std::fs::write(&path, enc.finish().expect("zstd")).expect("write");
    let image = Image::open(&path).expect("open");
    assert_eq!(image.size, ImageSize::AtLeast(data.len() as u64));
}

/// A small tmpfs, mounted for the test's lifetime (tests run as root).
struct SmallFs {
    dir: tempfile::TempDir,
}

impl SmallFs {
    fn mount(size: &str) -> SmallFs {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount (tests run as root)");
        assert!(
            status.success(),
            "mount -t tmpfs failed: the tests run as root"
        );
        SmallFs { dir }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn too_small_a_target_is_refused_before_or_while_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let small = SmallFs::mount("4m");
    // Known size: refused before a byte is written.
    let plain = Image::open(&write_image(dir.path(), "a.img", &data)).expect("open");
    let card = small.dir.path().join("card.img");
    let err = flash(&plain, &Target::File(card.clone()), &options(&NoProgress))
        .expect_err("does not fit");
    match &err {
        FlashError::TooSmall {
            needed,
            at_least,
            written,
            capacity,
            ..
        } => {
            assert_eq!(*needed, data.len() as u64);
            assert!(!at_least);
            assert_eq!(*written, 0);
            assert!(*capacity <= 4 << 20, "{capacity}");
        }
        other => panic!("expected TooSmall, got {other:?}"),
    }
    assert!(
        err.to_string().contains(&card.display().to_string()),
        "{err}"
    );
    assert!(!card.exists(), "nothing created");
    // Unknown size (gzip): found out while writing, the partial file removed.
    let gz = Image::open(&write_image(dir.path(), "a.img.gz", &data)).expect("open");
    let err =
        flash(&gz, &Target::File(card.clone()), &options(&NoProgress)).expect_err("does not fit");
    match &err {
        FlashError::TooSmall {
            at_least, written, ..
        } => {
            assert!(*at_least);
            assert!(*written > 0);
        }
        other => panic!("expected TooSmall, got {other:?}"),
    }
    assert!(err.to_string().contains("incomplete"), "{err}");
    assert!(!card.exists(), "the incomplete file is removed");
}

#[test]
fn verification_names_the_first_damaged_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let image = Image::open(&write_image(dir.path(), "a.img.xz", &data)).expect("open");
    let card = dir.path().join("card.img");
    // Damage in the second 4 MiB block and in the third: the second is named.
    let damage = |path: &Path| -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.write_all_at(b"\xff", (4 << 20) + 12_345)?;
        file.write_all_at(b"\xff", (8 << 20) + 1)?;
        file.sync_all()
    };
    let opts = Options {
        before_verify: Some(&damage),
        ..options(&NoProgress)
    };
    let err = flash(&image, &Target::File(card.clone()), &opts).expect_err("damaged");
    match &err {
        FlashError::Mismatch {
            offset,
            len,
            image_sha256,
            ..
        } => {
            assert_eq!(*offset, 4 << 20);
            assert_eq!(*len, 4 << 20);
            assert_eq!(*image_sha256, sha256(&data));
        }
        other => panic!("expected Mismatch, got {other:?}"),
    }
    assert!(
        err.to_string().contains("offset 4194304 (0x400000)"),
        "{err}"
    );
    // Without verification the same damage goes unnoticed: the hook runs only before
    // verification.
    let unverified = Options {
        verify: false,
        before_verify: Some(&damage),
        ..options(&NoProgress)
    };
    let outcome = flash(&image, &Target::File(card), &unverified).expect("unverified");
    assert!(!outcome.verified);
}

/// Sets the cancel flag after the first block, as Ctrl-C would.
struct CancelAfterFirstBlock<'a>(&'a AtomicBool);

impl Progress for CancelAfterFirstBlock<'_> {
    fn phase(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn finish(&self) {}
}

#[test]
fn interruption_says_the_card_is_incomplete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let image = Image::open(&write_image(dir.path(), "a.img", &image_bytes())).expect("open");
    let card = dir.path().join("card.img");
    let cancel = AtomicBool::new(false);
    let progress = CancelAfterFirstBlock(&cancel);
    let opts = Options {
        cancel: Some(&cancel),
        ..options(&progress)
    };
    let err = flash(&image, &Target::File(card.clone()), &opts).expect_err("interrupted");
    assert!(
        matches!(err, FlashError::Interrupted { written, verifying: false, .. } if written == 4 << 20),
        "{err:?}"
    );
    assert!(err.to_string().contains("is incomplete"), "{err}");
    assert!(!card.exists());
}

#[test]
fn the_image_itself_is_not_a_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = image_bytes();
    let path = write_image(dir.path(), "a.img", &data);
    let image = Image::open(&path).expect("open");
    let link = dir.path().join("link.img");
    std::os::unix::fs::symlink(&path, &link).expect("symlink");
    let err = flash(&image, &Target::File(link), &options(&NoProgress)).expect_err("same");
    assert!(matches!(err, FlashError::SameFile { .. }), "{err:?}");
    assert!(
        std::fs::read(&path).expect("image") == data,
        "image untouched"
    );
}
