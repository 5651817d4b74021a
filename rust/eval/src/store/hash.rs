//! Hash algorithms Nix knows (md5, sha1, sha256, sha512), their renderings (base16,
//! Nix base-32, base64, SRI) and Nix's rules for parsing hash strings.

use std::fmt;
use std::io;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use md5::Digest as _;

use super::{base32, StoreError};

/// A hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    /// MD5 (16 bytes).
    Md5,
    /// SHA-1 (20 bytes).
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
    /// SHA-512 (64 bytes).
    Sha512,
}

impl HashAlgo {
    /// Parses Nix's name of an algorithm (`md5`, `sha1`, `sha256`, `sha512`).
    pub fn parse(name: &str) -> Result<HashAlgo, StoreError> {
        match name {
            "md5" => Ok(HashAlgo::Md5),
            "sha1" => Ok(HashAlgo::Sha1),
            "sha256" => Ok(HashAlgo::Sha256),
            "sha512" => Ok(HashAlgo::Sha512),
            _ => Err(StoreError::BadHash(format!(
                "unknown hash algorithm '{name}'"
            ))),
        }
    }

    /// Nix's name of the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha512 => "sha512",
        }
    }

    /// Digest size in bytes.
    pub fn size(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 => 20,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha512 => 64,
        }
    }
}

impl fmt::Display for HashAlgo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A digest together with its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash {
    algo: HashAlgo,
    bytes: Vec<u8>,
}

impl Hash {
    /// Hashes `data` in one go.
    pub fn digest(algo: HashAlgo, data: &[u8]) -> Hash {
        let mut h = Hasher::new(algo);
        h.update(data);
        h.finish()
    }

    /// Wraps raw digest bytes; `None` when their length does not fit the algorithm.
    pub fn from_bytes(algo: HashAlgo, bytes: Vec<u8>) -> Option<Hash> {
        (bytes.len() == algo.size()).then_some(Hash { algo, bytes })
    }

    /// The algorithm.
    pub fn algo(&self) -> HashAlgo {
        self.algo
    }

    /// The raw digest.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Lower-case hexadecimal.
    pub fn to_base16(&self) -> String {
        hex::encode(&self.bytes)
    }

    /// Nix's base-32.
    pub fn to_base32(&self) -> String {
        base32::encode(&self.bytes)
    }

    /// Standard base64 with padding.
    pub fn to_base64(&self) -> String {
        BASE64.encode(&self.bytes)
    }

    /// Subresource-integrity form, `sha256-<base64>`.
    pub fn to_sri(&self) -> String {
        format!("{}-{}", self.algo, self.to_base64())
    }

    /// Parses a hash the way Nix 2.8 parses `outputHash`/`sha256` attributes
    /// (`Hash::parseAny`): `algo:digest`, SRI `algo-base64`, or a bare digest (base16,
    /// base-32 or base64, told apart by length) whose algorithm comes from `algo`.
    pub fn parse(text: &str, algo: Option<HashAlgo>) -> Result<Hash, StoreError> {
        let (named, rest, is_sri) = if let Some((name, rest)) = text.split_once(':') {
            (Some(HashAlgo::parse(name)?), rest, false)
        } else if let Some((name, rest)) = text.split_once('-') {
            match HashAlgo::parse(name) {
                Ok(a) => (Some(a), rest, true),
                Err(_) => (None, text, false),
            }
        } else {
            (None, text, false)
        };
        let algo = match (named, algo) {
            (Some(n), Some(a)) if n != a => {
                return Err(StoreError::BadHash(format!(
                    "hash '{text}' should have type '{a}'"
                )))
            }
            (Some(n), _) => n,
            (None, Some(a)) => a,
            (None, None) => {
                return Err(StoreError::BadHash(format!(
                    "hash '{text}' does not include a type, nor is the type otherwise known from context"
                )))
            }
        };
        let size = algo.size();
        let wrong_len = || {
            StoreError::BadHash(format!(
                "hash '{text}' has wrong length for hash type '{algo}'"
            ))
        };
        let invalid = |kind: &str| StoreError::BadHash(format!("invalid {kind} hash '{text}'"));
        let bytes = if is_sri {
            if rest.len() != base64_len(size) {
                return Err(wrong_len());
            }
            BASE64.decode(rest).map_err(|_| invalid("SRI"))?
        } else if rest.len() == size * 2 {
            hex::decode(rest).map_err(|_| invalid("base-16"))?
        } else if rest.len() == base32::encoded_len(size) {
            base32::decode(rest, size).ok_or_else(|| invalid("base-32"))?
        } else if rest.len() == base64_len(size) {
            BASE64.decode(rest).map_err(|_| invalid("base-64"))?
        } else {
            return Err(wrong_len());
        };
        Hash::from_bytes(algo, bytes).ok_or_else(wrong_len)
    }
}

fn base64_len(size: usize) -> usize {
    (4 * size / 3 + 3) & !3
}

/// An incremental hasher of any supported algorithm; also an [`io::Write`] sink so NAR
/// serialisation can stream into it.
#[derive(Clone)]
pub enum Hasher {
    /// MD5 state.
    Md5(md5::Md5),
    /// SHA-1 state.
    Sha1(sha1::Sha1),
    /// SHA-256 state.
    Sha256(sha2::Sha256),
    /// SHA-512 state.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A fresh hasher.
    pub fn new(algo: HashAlgo) -> Hasher {
        match algo {
            HashAlgo::Md5 => Hasher::Md5(md5::Md5::new()),
            HashAlgo::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            HashAlgo::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlgo::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Hash {
        let (algo, bytes) = match self {
            Hasher::Md5(h) => (HashAlgo::Md5, h.finalize().to_vec()),
            Hasher::Sha1(h) => (HashAlgo::Sha1, h.finalize().to_vec()),
            Hasher::Sha256(h) => (HashAlgo::Sha256, h.finalize().to_vec()),
            Hasher::Sha512(h) => (HashAlgo::Sha512, h.finalize().to_vec()),
        };
        Hash { algo, bytes }
    }
}

impl io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Nix's `compressHash`: folds a digest into `size` bytes by XOR.
pub fn compress(bytes: &[u8], size: usize) -> Vec<u8> {
    let mut out = vec![0u8; size];
    if size == 0 {
        return out;
    }
    for (i, b) in bytes.iter().enumerate() {
        out[i % size] ^= b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `builtins.hashString` of "hello world" in Nix 2.8.
    #[test]
    fn digests_match_nix_hash_string() {
        let cases = [
            (HashAlgo::Md5, "5eb63bbbe01eeed093cb22bb8f5acdc3"),
            (HashAlgo::Sha1, "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
            (
                HashAlgo::Sha256,
                "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
            ),
            (
                HashAlgo::Sha512,
                "309ecc489c12d6eb4cc40f50c902f2b4d0ed77ee511a7c7a9bcd3ca86d4cd86f989dd35bc5ff499670da34255b45b0cfd830e81f605dcf7dc5542e93ae9cd76f",
            ),
        ];
        for (algo, want) in cases {
            assert_eq!(
                Hash::digest(algo, b"hello world").to_base16(),
                want,
                "{algo}"
            );
        }
    }

    #[test]
    fn renderings_match_nix_hash() {
        // nix-hash --type sha256 --flat [--base32] on a file holding "hello\n";
        // nix-hash --to-sri --type sha256 of the same.
        let h = Hash::digest(HashAlgo::Sha256, b"hello\n");
        assert_eq!(
            h.to_base16(),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
        assert_eq!(
            h.to_base32(),
            "00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq"
        );
        assert_eq!(
            h.to_sri(),
            "sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="
        );
    }

    #[test]
    fn parse_accepts_every_form() {
        let want = Hash::digest(HashAlgo::Sha256, b"hello\n");
        for text in [
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03",
            "00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq",
            "WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=",
        ] {
            assert_eq!(
                Hash::parse(text, Some(HashAlgo::Sha256)).unwrap(),
                want,
                "{text}"
            );
            assert_eq!(
                Hash::parse(&format!("sha256:{text}"), None).unwrap(),
                want,
                "{text}"
            );
        }
        assert_eq!(
            Hash::parse("sha256-WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM=", None).unwrap(),
            want
        );
    }

    #[test]
    fn parse_errors_are_worded_like_nix() {
        let e = |t: &str, a: Option<HashAlgo>| Hash::parse(t, a).unwrap_err().to_string();
        assert_eq!(
            e("abc", Some(HashAlgo::Sha256)),
            "hash 'abc' has wrong length for hash type 'sha256'"
        );
        assert_eq!(
            e("sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=", Some(HashAlgo::Sha256)),
            "hash 'sha1-qZk+NkcGgWq6PiVxeFDCbJzQ2J0=' should have type 'sha256'"
        );
        let bare = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            e(bare, None),
            format!("hash '{bare}' does not include a type, nor is the type otherwise known from context")
        );
        assert_eq!(e("sha3:abc", None), "unknown hash algorithm 'sha3'");
        assert!(e(&"g".repeat(64), Some(HashAlgo::Sha256)).contains("invalid"));
    }

    #[test]
    fn compress_folds_by_xor() {
        assert_eq!(compress(&[1, 2, 3, 4], 2), vec![1 ^ 3, 2 ^ 4]);
        assert_eq!(compress(&[7], 3), vec![7, 0, 0]);
    }

    #[test]
    fn hasher_streams_like_one_shot() {
        use std::io::Write as _;
        let mut h = Hasher::new(HashAlgo::Sha512);
        h.write_all(b"hello ").unwrap();
        h.write_all(b"world").unwrap();
        assert_eq!(h.finish(), Hash::digest(HashAlgo::Sha512, b"hello world"));
    }
}
