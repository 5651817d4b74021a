//! The SD card QEMU boots: a sparse copy of the image, padded to a power of two.
//!
//! Booting writes to the card, so the built image is never handed to QEMU (its hash stays
//! checkable), and QEMU's SD card model only accepts power-of-two sizes.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::{Error, Result};

/// The size QEMU accepts for an image of `len` bytes: the next power of two (at least 1 MiB).
pub fn sd_card_size(len: u64) -> Option<u64> {
    len.max(1 << 20).checked_next_power_of_two()
}

/// Copies `image` to `copy` keeping holes as holes (like `cp --sparse=always` for images
/// written sparse) and grows the copy to [`sd_card_size`]; returns the copy's size.
pub fn sparse_sd_copy(image: &Path, copy: &Path) -> Result<u64> {
    let src = File::open(image).map_err(|e| Error::io(image, e))?;
    let len = src.metadata().map_err(|e| Error::io(image, e))?.len();
    let size = sd_card_size(len).ok_or_else(|| Error::BootFiles {
        path: image.to_path_buf(),
        message: format!("{len} bytes cannot be padded to a power of two"),
    })?;
    let dst = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(copy)
        .map_err(|e| Error::io(copy, e))?;
    // set the length first: the tail (and every hole) then reads as zeros without data
    dst.set_len(size).map_err(|e| Error::io(copy, e))?;
    nixspot_fs::sparse::copy_sparse(&src, 0, &dst, 0, len).map_err(|e| Error::io(copy, e))?;
    dst.sync_all().map_err(|e| Error::io(copy, e))?;
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileExt, MetadataExt};

    #[test]
    fn sizes_round_up_to_powers_of_two() {
        assert_eq!(sd_card_size(0), Some(1 << 20));
        assert_eq!(sd_card_size(1 << 30), Some(1 << 30));
        assert_eq!(sd_card_size((1 << 30) + 1), Some(1 << 31));
        assert_eq!(sd_card_size(68 << 20), Some(128 << 20));
        assert_eq!(sd_card_size(u64::MAX), None);
    }

    #[test]
    fn copy_is_padded_sparse_and_identical() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("a.img");
        let f = File::create(&img).unwrap();
        // 300 MiB with data at both ends and a hole in between
        f.set_len(300 << 20).unwrap();
        f.write_all_at(b"head", 0).unwrap();
        f.write_all_at(b"tail", (300 << 20) - 4).unwrap();
        drop(f);
        let copy = dir.path().join("b.img");
        assert_eq!(sparse_sd_copy(&img, &copy).unwrap(), 512 << 20);
        let c = File::open(&copy).unwrap();
        let meta = c.metadata().unwrap();
        assert_eq!(meta.len(), 512 << 20);
        // far less than the 300 MiB of data a dense copy would allocate
        assert!(meta.blocks() * 512 < 16 << 20, "{} blocks", meta.blocks());
        let mut b = [0u8; 4];
        c.read_exact_at(&mut b, 0).unwrap();
        assert_eq!(&b, b"head");
        c.read_exact_at(&mut b, (300 << 20) - 4).unwrap();
        assert_eq!(&b, b"tail");
        c.read_exact_at(&mut b, (300 << 20) + 4096).unwrap();
        assert_eq!(b, [0; 4]);
        // the original is untouched
        assert_eq!(std::fs::metadata(&img).unwrap().len(), 300 << 20);
    }

    #[test]
    fn missing_image_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = sparse_sd_copy(&dir.path().join("nope.img"), &dir.path().join("c.img"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("nope.img"), "{err}");
    }
}
