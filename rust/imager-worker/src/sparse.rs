//! The sparse image upload: an image is mostly holes (the empty space of its
//! filesystems), so the worker sends only its data ranges and the server leaves the
//! rest as holes. The body (`Content-Type:` [`CONTENT_TYPE`], the image's length in
//! [`SIZE_HEADER`]) is a sequence of records, each a 20-byte header — the range's
//! offset and length, big-endian `u64`s, and a big-endian `u32`: the CRC-32C of those
//! 16 bytes followed by the range's bytes — followed by the range's bytes; offsets increase and ranges neither overlap
//! nor pass the image's end. Everything outside the ranges reads as zeros.
//!
//! The checksums are what lets the server store an image without hashing all of it
//! again: the image's sha256 is the build's (computed once, as the image is written),
//! and the records' CRCs prove that the stored bytes are the ones the worker read
//! (nothing corrupted them on the way, or in the decoder). A CRC costs a fraction of a
//! sha256 and covers the data only, not the holes (most of an image) that a second
//! sha256 would have to hash as zeros.

use std::ops::Range;

/// The upload's media type (version 2: records carry a CRC-32C).
pub const CONTENT_TYPE: &str = "application/vnd.nixspot.sparse-image.v2";
/// The media type family, of this version or an older one.
pub const CONTENT_TYPE_FAMILY: &str = "application/vnd.nixspot.sparse-image";
/// The header carrying the image's length in bytes (holes included).
pub const SIZE_HEADER: &str = "X-Image-Size";
/// Bytes of a record's header.
pub const RECORD_HEADER: u64 = 20;
/// The longest record a worker sends: a long data range goes as several records, each
/// read, checksummed and sent in one piece.
pub const MAX_RECORD: u64 = 1 << 20;

/// The record header of `data`, to be written at byte `offset` of the image.
pub fn record_header(offset: u64, data: &[u8]) -> [u8; RECORD_HEADER as usize] {
    let mut header = [0u8; RECORD_HEADER as usize];
    header[..8].copy_from_slice(&offset.to_be_bytes());
    header[8..16].copy_from_slice(&(data.len() as u64).to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header[..16]), data);
    header[16..].copy_from_slice(&crc.to_be_bytes());
    header
}

/// Why a sparse upload's body is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SparseError {
    /// A range starts before the previous one ends.
    #[error("sparse upload: the range at byte {offset} starts before the previous range's end ({previous_end})")]
    Overlap {
        /// The range's offset.
        offset: u64,
        /// Where the previous range ended.
        previous_end: u64,
    },
    /// A range passes the image's end.
    #[error(
        "sparse upload: the range at byte {offset} of {len} bytes passes the image's end ({size})"
    )]
    PastEnd {
        /// The range's offset.
        offset: u64,
        /// Its length.
        len: u64,
        /// The image's length.
        size: u64,
    },
    /// A record (its offset, length or bytes) is not what its sender checksummed.
    #[error(
        "sparse upload: the range at byte {offset} has CRC-32C {actual:08x}, its record said {expected:08x} (corrupted on the way)"
    )]
    Checksum {
        /// The range's offset.
        offset: u64,
        /// The CRC its header carried.
        expected: u32,
        /// The CRC of the bytes received.
        actual: u32,
    },
    /// The body ends inside a record.
    #[error("sparse upload: the body ends inside a record ({missing} bytes missing)")]
    Truncated {
        /// The record's bytes still missing (header included).
        missing: u64,
    },
}

/// A piece of image data found in one chunk of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Where the bytes go in the image.
    pub offset: u64,
    /// Where they are in the chunk given to [`Decoder::feed`].
    pub bytes: Range<usize>,
}

/// The record being read.
#[derive(Debug)]
struct Record {
    /// Where the range starts (for errors).
    start: u64,
    /// Where its next byte goes, and how many remain.
    next: u64,
    remaining: u64,
    /// The CRC its header carried, and the CRC of its header and bytes so far.
    expected: u32,
    crc: u32,
}

/// Reads a sparse upload's body chunk by chunk, however its records are split.
#[derive(Debug)]
pub struct Decoder {
    size: u64,
    header: [u8; RECORD_HEADER as usize],
    header_len: usize,
    current: Option<Record>,
    end: u64,
}

impl Decoder {
    /// A decoder for an image of `size` bytes.
    pub fn new(size: u64) -> Decoder {
        Decoder {
            size,
            header: [0; RECORD_HEADER as usize],
            header_len: 0,
            current: None,
            end: 0,
        }
    }

    /// The data pieces in `chunk`, in order, all checked against the image's length
    /// and the previous ranges. A record's CRC is checked when its last byte arrives:
    /// the pieces of a corrupted record are handed out before it is refused, so the
    /// caller must discard everything of an upload that ends in an error.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Piece>, SparseError> {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < chunk.len() {
            match self.current.as_mut() {
                Some(record) => {
                    let take = record.remaining.min((chunk.len() - at) as u64) as usize;
                    record.crc = crc32c::crc32c_append(record.crc, &chunk[at..at + take]);
                    pieces.push(Piece {
                        offset: record.next,
                        bytes: at..at + take,
                    });
                    at += take;
                    record.next += take as u64;
                    record.remaining -= take as u64;
                    if record.remaining == 0 {
                        self.end_record()?;
                    }
                }
                None => {
                    let take = (RECORD_HEADER as usize - self.header_len).min(chunk.len() - at);
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&chunk[at..at + take]);
                    self.header_len += take;
                    at += take;
                    if self.header_len == RECORD_HEADER as usize {
                        self.header_len = 0;
                        self.start_record()?;
                    }
                }
            }
        }
        Ok(pieces)
    }

    fn start_record(&mut self) -> Result<(), SparseError> {
        let word = |range: Range<usize>| {
            let mut bytes = [0u8; 8];
            bytes[8 - range.len()..].copy_from_slice(&self.header[range]);
            u64::from_be_bytes(bytes)
        };
        let (offset, len, expected) = (word(0..8), word(8..16), word(16..20) as u32);
        if offset < self.end {
            return Err(SparseError::Overlap {
                offset,
                previous_end: self.end,
            });
        }
        let end = offset
            .checked_add(len)
            .filter(|end| *end <= self.size)
            .ok_or(SparseError::PastEnd {
                offset,
                len,
                size: self.size,
            })?;
        self.end = end;
        self.current = Some(Record {
            start: offset,
            next: offset,
            remaining: len,
            expected,
            crc: crc32c::crc32c(&self.header[..16]),
        });
        if len == 0 {
            self.end_record()?;
        }
        Ok(())
    }

    fn end_record(&mut self) -> Result<(), SparseError> {
        match self.current.take() {
            Some(record) if record.crc != record.expected => Err(SparseError::Checksum {
                offset: record.start,
                expected: record.expected,
                actual: record.crc,
            }),
            _ => Ok(()),
        }
    }

    /// Checks the body ended between records.
    pub fn finish(&self) -> Result<(), SparseError> {
        let missing = match &self.current {
            Some(record) => record.remaining,
            None if self.header_len > 0 => (RECORD_HEADER as usize - self.header_len) as u64,
            None => 0,
        };
        if missing > 0 {
            return Err(SparseError::Truncated { missing });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image a whole body describes.
    fn decode(body: &[u8], size: u64) -> Result<Vec<u8>, SparseError> {
        let mut decoder = Decoder::new(size);
        let mut image = vec![0u8; usize::try_from(size).unwrap_or(usize::MAX)];
        for piece in decoder.feed(body)? {
            let start = piece.offset as usize;
            image[start..start + piece.bytes.len()].copy_from_slice(&body[piece.bytes]);
        }
        decoder.finish()?;
        Ok(image)
    }

    fn record(offset: u64, data: &[u8]) -> Vec<u8> {
        let mut out = record_header(offset, data).to_vec();
        out.extend_from_slice(data);
        out
    }

    /// A header as a hostile sender may write it: any length, any CRC.
    fn raw_header(offset: u64, len: u64, crc: u32) -> Vec<u8> {
        [
            &offset.to_be_bytes()[..],
            &len.to_be_bytes(),
            &crc.to_be_bytes(),
        ]
        .concat()
    }

    #[test]
    fn records_split_anywhere_decode_to_the_same_image() {
        let mut body = record(3, b"abc");
        body.extend(record(10, b"0123456789"));
        body.extend(record(25, b""));
        body.extend(record(29, b"z"));
        let whole = decode(&body, 30).unwrap();
        let mut expected = vec![0u8; 30];
        expected[3..6].copy_from_slice(b"abc");
        expected[10..20].copy_from_slice(b"0123456789");
        expected[29] = b'z';
        assert_eq!(whole, expected);
        for split in 1..body.len() {
            let mut decoder = Decoder::new(30);
            let mut image = vec![0u8; 30];
            for chunk in [&body[..split], &body[split..]] {
                for piece in decoder.feed(chunk).unwrap() {
                    let start = piece.offset as usize;
                    image[start..start + piece.bytes.len()].copy_from_slice(&chunk[piece.bytes]);
                }
            }
            decoder.finish().unwrap();
            assert_eq!(image, expected, "split at {split}");
        }
    }

    #[test]
    fn a_bit_changed_on_the_way_is_refused() {
        let mut body = record(0, b"abcd");
        body.extend(record(100, b"efgh"));
        // Any bit flipped anywhere (data, offset, length or CRC) is refused: by the
        // record's checksum, or as a range that does not fit.
        for at in 0..body.len() {
            for bit in 0..8 {
                let mut corrupted = body.clone();
                corrupted[at] ^= 1 << bit;
                let refused = decode(&corrupted, 200);
                assert!(refused.is_err(), "byte {at} bit {bit} flipped: {refused:?}");
            }
        }
        let mut corrupted = body.clone();
        corrupted[body.len() - 1] ^= 1;
        assert_eq!(
            decode(&corrupted, 200),
            Err(SparseError::Checksum {
                offset: 100,
                expected: u32::from_be_bytes(body[40..44].try_into().unwrap()),
                actual: crc32c::crc32c_append(crc32c::crc32c(&body[24..40]), b"efgi"),
            })
        );
    }

    #[test]
    fn hostile_bodies_are_refused() {
        let mut overlap = record(10, b"abcd");
        overlap.extend(record(12, b"x"));
        assert_eq!(
            decode(&overlap, 100),
            Err(SparseError::Overlap {
                offset: 12,
                previous_end: 14
            })
        );
        assert!(matches!(
            decode(&record(98, b"abc"), 100),
            Err(SparseError::PastEnd { .. })
        ));
        assert!(matches!(
            decode(&raw_header(u64::MAX - 1, 4, 0), 100),
            Err(SparseError::PastEnd { .. })
        ));
        // An empty range must carry the CRC of nothing.
        assert!(matches!(
            decode(&raw_header(5, 0, 1), 100),
            Err(SparseError::Checksum { offset: 5, .. })
        ));
        let mut short = record(0, b"abcd");
        short.truncate(22);
        assert_eq!(
            decode(&short, 100),
            Err(SparseError::Truncated { missing: 2 })
        );
        assert_eq!(
            decode(&record(0, b"abcd")[..7], 100),
            Err(SparseError::Truncated { missing: 13 })
        );
    }
}
