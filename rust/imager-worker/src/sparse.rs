//! The sparse image upload: an image is mostly holes (the empty space of its
//! filesystems), so the worker sends only its data ranges and the server leaves the
//! rest as holes. The body (`Content-Type:` [`CONTENT_TYPE`], the image's length in
//! [`SIZE_HEADER`]) is a sequence of records, each a 20-byte header — the range's
//! offset and length, big-endian `u64`s, and a big-endian `u32`: the CRC-32C of those
//! 16 bytes followed by the record's payload — followed by its payload; offsets
//! increase and ranges neither overlap nor pass the image's end. Everything outside the
//! ranges reads as zeros.
//!
//! A record's payload is the range's bytes (a *data* record), or, when the length's top
//! bit ([`REFERENCE`]) is set, the 32-byte BLAKE3 digest of bytes the server already
//! holds (a *reference* record): most of an image is the base's partitions and catalog
//! content that earlier images had too, so the worker first asks which of its chunks
//! the server knows (`POST …/image/chunks`) and sends only the others. Chunks are the
//! data ranges cut on the [`CHUNK`] grid of the image, so the same bytes at the same
//! place in two images are the same chunks.
//!
//! The checksums are what lets the server store an image without hashing all of it
//! again: the image's sha256 is the build's (computed once, as the image is written),
//! and the records' CRCs prove that the stored bytes are the ones the worker read
//! (nothing corrupted them on the way, or in the decoder). A CRC costs a fraction of a
//! sha256 and covers the data only, not the holes (most of an image) that a second
//! sha256 would have to hash as zeros. The server computes each data record's BLAKE3
//! itself before it lends the chunk to later images: a worker's digest is never taken
//! on its word.

use std::ops::Range;

/// The upload's media type (version 3: records carry a CRC-32C, and may refer to
/// chunks the server holds).
pub const CONTENT_TYPE: &str = "application/vnd.nixspot.sparse-image.v3";
/// The media type family, of this version or an older one.
pub const CONTENT_TYPE_FAMILY: &str = "application/vnd.nixspot.sparse-image";
/// The header carrying the image's length in bytes (holes included).
pub const SIZE_HEADER: &str = "X-Image-Size";
/// Bytes of a record's header.
pub const RECORD_HEADER: u64 = 20;
/// The grid data ranges are cut on: a record never crosses a multiple of it, and is at
/// most this long. A long data range goes as several records, each read, checksummed
/// and sent in one piece.
pub const CHUNK: u64 = 1 << 20;
/// The longest record a worker sends (a chunk).
pub const MAX_RECORD: u64 = CHUNK;
/// The bit of a record's length that marks a reference record.
pub const REFERENCE: u64 = 1 << 63;
/// Bytes of a chunk's digest (BLAKE3).
pub const DIGEST: usize = 32;
/// A chunk's digest.
pub type Digest = [u8; DIGEST];

/// The digest naming a chunk of `data`.
pub fn digest(data: &[u8]) -> Digest {
    *blake3::hash(data).as_bytes()
}

/// The record header of `data`, to be written at byte `offset` of the image.
pub fn record_header(offset: u64, data: &[u8]) -> [u8; RECORD_HEADER as usize] {
    let mut header = [0u8; RECORD_HEADER as usize];
    header[..8].copy_from_slice(&offset.to_be_bytes());
    header[8..16].copy_from_slice(&(data.len() as u64).to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&header[..16]), data);
    header[16..].copy_from_slice(&crc.to_be_bytes());
    header
}

/// A whole reference record: `len` bytes at `offset` are the chunk named `digest`.
pub fn reference_record(
    offset: u64,
    len: u64,
    digest: &Digest,
) -> [u8; RECORD_HEADER as usize + DIGEST] {
    let mut record = [0u8; RECORD_HEADER as usize + DIGEST];
    record[..8].copy_from_slice(&offset.to_be_bytes());
    record[8..16].copy_from_slice(&(len | REFERENCE).to_be_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&record[..16]), digest);
    record[16..20].copy_from_slice(&crc.to_be_bytes());
    record[20..].copy_from_slice(digest);
    record
}

/// The chunks of the data range `offset..offset + len`: pieces cut on the [`CHUNK`]
/// grid, as `(offset, len)`.
pub fn chunks(offset: u64, len: u64) -> impl Iterator<Item = (u64, u64)> {
    let end = offset.saturating_add(len);
    let mut at = offset;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let next = ((at / CHUNK).saturating_add(1))
            .saturating_mul(CHUNK)
            .min(end);
        let chunk = (at, next - at);
        at = next;
        Some(chunk)
    })
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

/// What a body's chunk given to [`Decoder::feed`] holds, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Image bytes (part of a data record).
    Data {
        /// Where the bytes go in the image.
        offset: u64,
        /// Where they are in the chunk given to [`Decoder::feed`].
        bytes: Range<usize>,
    },
    /// A data record ended, its CRC checked: the chunk it carried and its digest,
    /// computed here.
    Chunk {
        /// Where the chunk is in the image.
        offset: u64,
        /// Its length.
        len: u64,
        /// Its BLAKE3 digest.
        digest: Digest,
    },
    /// A reference record, its CRC checked: `len` bytes at `offset` are the chunk
    /// named `digest`, which the receiver must already hold.
    Reference {
        /// Where the chunk goes in the image.
        offset: u64,
        /// Its length.
        len: u64,
        /// Its BLAKE3 digest.
        digest: Digest,
    },
}

/// What the record being read carries.
#[derive(Debug)]
enum Payload {
    /// Image bytes, hashed as they arrive.
    Data(Box<blake3::Hasher>),
    /// A digest, gathered as it arrives.
    Reference { len: u64, digest: Digest },
}

/// The record being read.
#[derive(Debug)]
struct Record {
    /// Where the range starts.
    start: u64,
    /// Where its next byte goes (data), and how many payload bytes remain.
    next: u64,
    remaining: u64,
    /// The CRC its header carried, and the CRC of its header and payload so far.
    expected: u32,
    crc: u32,
    payload: Payload,
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

    /// The pieces in `chunk`, in order, all checked against the image's length and the
    /// previous ranges. A record's CRC is checked when its last byte arrives: the data
    /// pieces of a corrupted record are handed out before it is refused, so the caller
    /// must discard everything of an upload that ends in an error.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Piece>, SparseError> {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < chunk.len() {
            match self.current.as_mut() {
                Some(record) => {
                    let take = record.remaining.min((chunk.len() - at) as u64) as usize;
                    let bytes = &chunk[at..at + take];
                    record.crc = crc32c::crc32c_append(record.crc, bytes);
                    match &mut record.payload {
                        Payload::Data(hasher) => {
                            hasher.update(bytes);
                            pieces.push(Piece::Data {
                                offset: record.next,
                                bytes: at..at + take,
                            });
                            record.next += take as u64;
                        }
                        Payload::Reference { digest, .. } => {
                            let from = DIGEST - record.remaining as usize;
                            digest[from..from + take].copy_from_slice(bytes);
                        }
                    }
                    at += take;
                    record.remaining -= take as u64;
                    if record.remaining == 0 {
                        pieces.extend(self.end_record()?);
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
                        pieces.extend(self.start_record()?);
                    }
                }
            }
        }
        Ok(pieces)
    }

    fn start_record(&mut self) -> Result<Option<Piece>, SparseError> {
        let word = |range: Range<usize>| {
            let mut bytes = [0u8; 8];
            bytes[8 - range.len()..].copy_from_slice(&self.header[range]);
            u64::from_be_bytes(bytes)
        };
        let (offset, word_len, expected) = (word(0..8), word(8..16), word(16..20) as u32);
        let reference = word_len & REFERENCE != 0;
        let len = word_len & !REFERENCE;
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
        let (remaining, payload) = if reference {
            let digest = [0; DIGEST];
            (DIGEST as u64, Payload::Reference { len, digest })
        } else {
            (len, Payload::Data(Box::new(blake3::Hasher::new())))
        };
        self.current = Some(Record {
            start: offset,
            next: offset,
            remaining,
            expected,
            crc: crc32c::crc32c(&self.header[..16]),
            payload,
        });
        if remaining == 0 {
            return self.end_record();
        }
        Ok(None)
    }

    fn end_record(&mut self) -> Result<Option<Piece>, SparseError> {
        let Some(record) = self.current.take() else {
            return Ok(None);
        };
        if record.crc != record.expected {
            return Err(SparseError::Checksum {
                offset: record.start,
                expected: record.expected,
                actual: record.crc,
            });
        }
        Ok(Some(match record.payload {
            Payload::Data(hasher) => Piece::Chunk {
                offset: record.start,
                len: record.next - record.start,
                digest: *hasher.finalize().as_bytes(),
            },
            Payload::Reference { len, digest } => Piece::Reference {
                offset: record.start,
                len,
                digest,
            },
        }))
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

    /// The image a whole body describes, references resolved from `held`.
    fn decode_with(body: &[u8], size: u64, held: &[&[u8]]) -> Result<Vec<u8>, SparseError> {
        let mut decoder = Decoder::new(size);
        let mut image = vec![0u8; usize::try_from(size).unwrap_or(usize::MAX)];
        for piece in decoder.feed(body)? {
            apply(&mut image, body, piece, held);
        }
        decoder.finish()?;
        Ok(image)
    }

    fn decode(body: &[u8], size: u64) -> Result<Vec<u8>, SparseError> {
        decode_with(body, size, &[])
    }

    /// Writes `piece` of `chunk` into `image`; a reference is looked up in `held`.
    fn apply(image: &mut [u8], chunk: &[u8], piece: Piece, held: &[&[u8]]) {
        match piece {
            Piece::Data { offset, bytes } => {
                let start = offset as usize;
                image[start..start + bytes.len()].copy_from_slice(&chunk[bytes]);
            }
            Piece::Chunk {
                offset,
                len,
                digest: named,
            } => {
                let start = offset as usize;
                assert_eq!(named, digest(&image[start..start + len as usize]));
            }
            Piece::Reference {
                offset,
                len,
                digest: named,
            } => {
                let bytes = held
                    .iter()
                    .find(|h| digest(h) == named)
                    .expect("a held chunk");
                assert_eq!(bytes.len() as u64, len);
                image[offset as usize..(offset + len) as usize].copy_from_slice(bytes);
            }
        }
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
                    apply(&mut image, chunk, piece, &[]);
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

    #[test]
    fn references_split_anywhere_decode_to_the_held_chunks() {
        let held: &[u8] = b"the base's partitions";
        let mut body = record(0, b"config");
        body.extend(reference_record(10, held.len() as u64, &digest(held)));
        body.extend(record(40, b"!"));
        let mut expected = vec![0u8; 50];
        expected[..6].copy_from_slice(b"config");
        expected[10..10 + held.len()].copy_from_slice(held);
        expected[40] = b'!';
        for split in 1..body.len() {
            let mut decoder = Decoder::new(50);
            let mut image = vec![0u8; 50];
            let mut seen = Vec::new();
            for chunk in [&body[..split], &body[split..]] {
                for piece in decoder.feed(chunk).unwrap() {
                    seen.push(piece.clone());
                    apply(&mut image, chunk, piece, &[held]);
                }
            }
            decoder.finish().unwrap();
            assert_eq!(image, expected, "split at {split}");
            // Every data record ends in its chunk's digest, computed by the decoder.
            let chunks: Vec<_> = seen
                .iter()
                .filter_map(|p| match p {
                    Piece::Chunk {
                        offset,
                        len,
                        digest,
                    } => Some((*offset, *len, *digest)),
                    _ => None,
                })
                .collect();
            assert_eq!(
                chunks,
                [(0, 6, digest(b"config")), (40, 1, digest(b"!"))],
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_reference_changed_on_the_way_is_refused() {
        let body = reference_record(0, 4, &digest(b"abcd"));
        for at in 0..body.len() {
            for bit in 0..8 {
                let mut corrupted = body;
                corrupted[at] ^= 1 << bit;
                let mut decoder = Decoder::new(100);
                let refused = decoder.feed(&corrupted).and_then(|_| decoder.finish());
                assert!(refused.is_err(), "byte {at} bit {bit} flipped: {refused:?}");
            }
        }
        // A reference past the end or over the previous range is refused like data.
        let mut decoder = Decoder::new(3);
        assert!(matches!(
            decoder.feed(&reference_record(0, 4, &digest(b"abcd"))),
            Err(SparseError::PastEnd { len: 4, .. })
        ));
        let mut body = record(0, b"abcd");
        body.extend(reference_record(2, 4, &digest(b"abcd")));
        assert!(matches!(
            Decoder::new(100).feed(&body),
            Err(SparseError::Overlap { offset: 2, .. })
        ));
    }

    #[test]
    fn chunks_follow_the_grid() {
        assert_eq!(chunks(0, 0).count(), 0);
        assert_eq!(chunks(5, 10).collect::<Vec<_>>(), [(5, 10)]);
        assert_eq!(
            chunks(CHUNK - 1, CHUNK + 2).collect::<Vec<_>>(),
            [(CHUNK - 1, 1), (CHUNK, CHUNK), (2 * CHUNK, 1)]
        );
        // Near the end of the address space nothing overflows.
        assert_eq!(
            chunks(u64::MAX - 2, 10).collect::<Vec<_>>(),
            [(u64::MAX - 2, 2)]
        );
    }
}
