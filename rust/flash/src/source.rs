//! The image to write: plain, or compressed as `nixspot assemble --compress` writes it
//! (zstd, xz, gzip; recognised by their magic bytes, not by the file name), and what is
//! known of its decompressed size before writing.

use crate::error::FlashError;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How the image file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain `.img`.
    None,
    /// zstd (`.img.zst`).
    Zstd,
    /// xz (`.img.xz`).
    Xz,
    /// gzip (`.img.gz`).
    Gzip,
}

/// What is known of the decompressed size before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSize {
    /// The exact size (a plain image, or a compressed one that records it).
    Exact(u64),
    /// A lower bound (the first zstd frame's recorded size; the last xz stream's index);
    /// the rest is counted while writing.
    AtLeast(u64),
    /// Not recorded (a streamed zstd frame, gzip): counted while writing.
    Unknown,
}

impl ImageSize {
    /// The size or lower bound, if any.
    pub fn lower_bound(self) -> Option<u64> {
        match self {
            ImageSize::Exact(n) | ImageSize::AtLeast(n) => Some(n),
            ImageSize::Unknown => None,
        }
    }
}

/// An image file, opened and sized.
#[derive(Debug, Clone)]
pub struct Image {
    /// The file.
    pub path: PathBuf,
    /// Its compression.
    pub compression: Compression,
    /// Its decompressed size, as far as known.
    pub size: ImageSize,
    /// (device, inode) of the file: writing onto the image itself is refused.
    pub(crate) identity: (u64, u64),
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl Image {
    /// Opens `path`, recognises its compression and reads what it records of its size.
    pub fn open(path: &Path) -> Result<Image, FlashError> {
        use std::os::unix::fs::MetadataExt;
        let mut file = File::open(path).map_err(FlashError::io(path, "opening the image"))?;
        let meta = file
            .metadata()
            .map_err(FlashError::io(path, "reading the metadata of"))?;
        if !meta.is_file() {
            return Err(FlashError::NotATarget {
                path: path.to_path_buf(),
                kind: "not a regular file (the image must be a file)",
            });
        }
        let mut head = [0u8; 32];
        let n = read_up_to(&mut file, &mut head).map_err(FlashError::io(path, "reading"))?;
        let head = &head[..n];
        let (compression, size) = if head.starts_with(&ZSTD_MAGIC) {
            // The first frame's content size, when the encoder was told it; more frames
            // may follow, so it is only a lower bound.
            let size = match zstd::zstd_safe::get_frame_content_size(head) {
                Ok(Some(n)) => ImageSize::AtLeast(n),
                _ => ImageSize::Unknown,
            };
            (Compression::Zstd, size)
        } else if head.starts_with(&XZ_MAGIC) {
            let size = xz_size(&mut file, meta.len())
                .map_err(FlashError::io(path, "reading the xz index of"))?;
            (Compression::Xz, size)
        } else if head.starts_with(&GZIP_MAGIC) {
            // gzip's trailer holds the size modulo 4 GiB only: useless for images.
            (Compression::Gzip, ImageSize::Unknown)
        } else {
            (Compression::None, ImageSize::Exact(meta.len()))
        };
        Ok(Image {
            path: path.to_path_buf(),
            compression,
            size,
            identity: (meta.dev(), meta.ino()),
        })
    }

    /// The decompressed bytes, from the start.
    pub fn reader(&self) -> Result<Box<dyn Read + Send>, FlashError> {
        let file =
            File::open(&self.path).map_err(FlashError::io(&self.path, "opening the image"))?;
        let buffered = BufReader::with_capacity(1 << 20, file);
        Ok(match self.compression {
            Compression::None => Box::new(buffered),
            Compression::Zstd => Box::new(
                zstd::stream::read::Decoder::with_buffer(buffered)
                    .map_err(FlashError::io(&self.path, "starting zstd on"))?,
            ),
            Compression::Xz => Box::new(xz2::read::XzDecoder::new_multi_decoder(buffered)),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        })
    }
}

/// Reads until `buf` is full or the end; returns the count.
pub(crate) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The decompressed size recorded in the xz index of the file's last stream: exact when
/// that stream spans the whole file, a lower bound when streams are concatenated or
/// padded, unknown when the footer or index does not parse (the decoder will then say
/// what is wrong while writing).
fn xz_size(file: &mut File, len: u64) -> io::Result<ImageSize> {
    const HEADER: u64 = 12;
    const FOOTER: u64 = 12;
    if len < HEADER + FOOTER {
        return Ok(ImageSize::Unknown);
    }
    let mut footer = [0u8; 12];
    file.seek(SeekFrom::Start(len - FOOTER))?;
    file.read_exact(&mut footer)?;
    if &footer[10..] != b"YZ" {
        return Ok(ImageSize::Unknown);
    }
    // Backward Size: the index's size, in 4-byte units, minus one.
    let backward = u64::from(u32::from_le_bytes([
        footer[4], footer[5], footer[6], footer[7],
    ]));
    let index_size = (backward + 1) * 4;
    if index_size > len - HEADER - FOOTER || index_size > 64 << 20 {
        return Ok(ImageSize::Unknown);
    }
    let mut index = vec![0u8; index_size as usize];
    file.seek(SeekFrom::Start(len - FOOTER - index_size))?;
    file.read_exact(&mut index)?;
    let Some((uncompressed, blocks)) = parse_xz_index(&index) else {
        return Ok(ImageSize::Unknown);
    };
    let whole_file = HEADER
        .checked_add(blocks)
        .and_then(|n| n.checked_add(index_size))
        .and_then(|n| n.checked_add(FOOTER));
    Ok(if whole_file == Some(len) {
        ImageSize::Exact(uncompressed)
    } else {
        ImageSize::AtLeast(uncompressed)
    })
}

/// Parses an xz index: (total uncompressed size, total size of the blocks with their
/// padding).
fn parse_xz_index(index: &[u8]) -> Option<(u64, u64)> {
    let mut pos = 0usize;
    if *index.first()? != 0 {
        return None;
    }
    pos += 1;
    let records = varint(index, &mut pos)?;
    let mut uncompressed = 0u64;
    let mut blocks = 0u64;
    for _ in 0..records {
        let unpadded = varint(index, &mut pos)?;
        let size = varint(index, &mut pos)?;
        uncompressed = uncompressed.checked_add(size)?;
        blocks = blocks.checked_add(unpadded.checked_add(3)? & !3)?;
    }
    Some((uncompressed, blocks))
}

/// xz's multibyte integer: 7 bits per byte, low first, at most 9 bytes.
fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn xz(data: &[u8]) -> Vec<u8> {
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(data).expect("xz");
        enc.finish().expect("xz")
    }

    #[test]
    fn xz_index_gives_the_exact_size_and_a_lower_bound_when_concatenated() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 7) as u8).collect();
        let one = dir.path().join("one.xz");
        std::fs::write(&one, xz(&data)).expect("write");
        assert_eq!(
            Image::open(&one).expect("open").size,
            ImageSize::Exact(300_000)
        );
        let two = dir.path().join("two.xz");
        let mut both = xz(b"first stream");
        both.extend(xz(&data));
        std::fs::write(&two, both).expect("write");
        let image = Image::open(&two).expect("open");
        assert_eq!(image.size, ImageSize::AtLeast(300_000));
        let mut out = Vec::new();
        image
            .reader()
            .expect("reader")
            .read_to_end(&mut out)
            .expect("decompress");
        assert_eq!(out.len(), 12 + 300_000, "both streams decompressed");
    }

    #[test]
    fn broken_xz_index_is_unknown_not_a_panic() {
        for index in [&[][..], &[1], &[0, 0xff], &[0, 2, 0x80, 0x80]] {
            assert_eq!(parse_xz_index(index), None, "{index:?}");
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.xz");
        let mut bytes = XZ_MAGIC.to_vec();
        bytes.extend([0u8; 20]);
        bytes.extend([0xff, 0xff, 0xff, 0xff, 0, 0, b'Y', b'Z']);
        std::fs::write(&path, bytes).expect("write");
        assert_eq!(Image::open(&path).expect("open").size, ImageSize::Unknown);
    }
}
