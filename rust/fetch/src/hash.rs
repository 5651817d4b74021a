//! Streaming digests for every algorithm a recipe may name.

use nixspot_recipe::HashAlgo;
use sha2::Digest;

/// One running digest.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-1.
    Sha1(sha1::Sha1),
    /// SHA-224.
    Sha224(sha2::Sha224),
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-384.
    Sha384(sha2::Sha384),
    /// SHA-512.
    Sha512(sha2::Sha512),
    /// MD5.
    Md5(md5::Md5),
    /// Adler-32.
    Adler32(adler::Adler32),
}

impl Hasher {
    /// A fresh digest for `algo`.
    pub fn new(algo: HashAlgo) -> Hasher {
        match algo {
            HashAlgo::Sha1 => Hasher::Sha1(Default::default()),
            HashAlgo::Sha224 => Hasher::Sha224(Default::default()),
            HashAlgo::Sha256 => Hasher::Sha256(Default::default()),
            HashAlgo::Sha384 => Hasher::Sha384(Default::default()),
            HashAlgo::Sha512 => Hasher::Sha512(Default::default()),
            HashAlgo::Md5 => Hasher::Md5(Default::default()),
            HashAlgo::Adler32 => Hasher::Adler32(adler::Adler32::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
            Hasher::Adler32(h) => h.write_slice(data),
        }
    }

    /// The lowercase hex digest.
    pub fn finish_hex(self) -> String {
        match self {
            Hasher::Sha1(h) => hex::encode(h.finalize()),
            Hasher::Sha224(h) => hex::encode(h.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Sha384(h) => hex::encode(h.finalize()),
            Hasher::Sha512(h) => hex::encode(h.finalize()),
            Hasher::Md5(h) => hex::encode(h.finalize()),
            Hasher::Adler32(h) => format!("{:08x}", h.checksum()),
        }
    }
}

/// sha256 hex of a byte slice.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// sha256 hex and length of a file, read in large blocks.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        let cases = [
            (HashAlgo::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (HashAlgo::Sha1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                HashAlgo::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (HashAlgo::Adler32, "024d0127"),
        ];
        for (algo, want) in cases {
            let mut h = Hasher::new(algo);
            h.update(b"a");
            h.update(b"bc");
            assert_eq!(h.finish_hex(), want, "{algo:?}");
        }
    }
}
