//! The sparse image upload: an image is mostly holes (the empty space of its
//! filesystems), so the worker sends only its data ranges and the server leaves the
//! rest as holes. The body (`Content-Type:` [`CONTENT_TYPE`], the image's length in
//! [`SIZE_HEADER`]) is a sequence of records, each a 16-byte header — the range's
//! offset and length, big-endian `u64`s — followed by that many bytes; offsets
//! increase and ranges neither overlap nor pass the image's end. Everything outside
//! the ranges reads as zeros.

use std::ops::Range;

/// The upload's media type.
pub const CONTENT_TYPE: &str = "application/vnd.nixspot.sparse-image";
/// The header carrying the image's length in bytes (holes included).
pub const SIZE_HEADER: &str = "X-Image-Size";
/// Bytes of a record's header.
pub const RECORD_HEADER: u64 = 16;

/// The record header of a data range.
pub fn record_header(offset: u64, len: u64) -> [u8; 16] {
    let mut header = [0u8; 16];
    header[..8].copy_from_slice(&offset.to_be_bytes());
    header[8..].copy_from_slice(&len.to_be_bytes());
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
    /// The body ends inside a record.
    #[error("sparse upload: the body ends inside a record ({missing} bytes missing)")]
    Truncated {
        /// Bytes the record still needed.
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

/// Reads a sparse upload's body chunk by chunk, however its records are split.
#[derive(Debug)]
pub struct Decoder {
    size: u64,
    header: [u8; 16],
    header_len: usize,
    /// The record being read: where its next byte goes and how many remain.
    current: Option<(u64, u64)>,
    end: u64,
}

impl Decoder {
    /// A decoder for an image of `size` bytes.
    pub fn new(size: u64) -> Decoder {
        Decoder {
            size,
            header: [0; 16],
            header_len: 0,
            current: None,
            end: 0,
        }
    }

    /// The data pieces in `chunk`, in order (all checked against the image's length
    /// and the previous ranges).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Piece>, SparseError> {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < chunk.len() {
            match self.current {
                Some((offset, remaining)) => {
                    let take = remaining.min((chunk.len() - at) as u64) as usize;
                    pieces.push(Piece {
                        offset,
                        bytes: at..at + take,
                    });
                    at += take;
                    let remaining = remaining - take as u64;
                    self.current = (remaining > 0).then_some((offset + take as u64, remaining));
                }
                None => {
                    let take = (16 - self.header_len).min(chunk.len() - at);
                    self.header[self.header_len..self.header_len + take]
                        .copy_from_slice(&chunk[at..at + take]);
                    self.header_len += take;
                    at += take;
                    if self.header_len == 16 {
                        self.header_len = 0;
                        self.start_record()?;
                    }
                }
            }
        }
        Ok(pieces)
    }

    fn start_record(&mut self) -> Result<(), SparseError> {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.header[..8]);
        let offset = u64::from_be_bytes(word);
        word.copy_from_slice(&self.header[8..]);
        let len = u64::from_be_bytes(word);
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
        self.current = (len > 0).then_some((offset, len));
        Ok(())
    }

    /// Checks the body ended between records.
    pub fn finish(&self) -> Result<(), SparseError> {
        let missing = match self.current {
            Some((_, remaining)) => remaining,
            None if self.header_len > 0 => (16 - self.header_len) as u64,
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
        let mut out = record_header(offset, data.len() as u64).to_vec();
        out.extend_from_slice(data);
        out
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
        let wraps = record_header(u64::MAX - 1, 4);
        assert!(matches!(
            decode(&wraps, 100),
            Err(SparseError::PastEnd { .. })
        ));
        let mut short = record(0, b"abcd");
        short.truncate(18);
        assert_eq!(
            decode(&short, 100),
            Err(SparseError::Truncated { missing: 2 })
        );
        assert_eq!(
            decode(&record(0, b"abcd")[..7], 100),
            Err(SparseError::Truncated { missing: 9 })
        );
    }
}
