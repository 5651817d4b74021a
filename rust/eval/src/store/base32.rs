//! Nix's base-32: its own alphabet (no `e o u t`) and its own bit order (the last
//! character holds the first bits).

/// The 32 digits, in value order.
const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Length of the base-32 rendering of `bytes` bytes.
pub fn encoded_len(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes * 8 - 1) / 5 + 1
    }
}

/// Renders `data` in Nix's base-32.
pub fn encode(data: &[u8]) -> String {
    let len = encoded_len(data.len());
    let mut out = String::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let lo = data.get(i).map_or(0, |&x| u16::from(x) >> j);
        let hi = data.get(i + 1).map_or(0, |&x| u16::from(x) << (8 - j));
        let digit = usize::from((lo | hi) & 0x1f);
        out.push(char::from(ALPHABET[digit]));
    }
    out
}

/// Parses Nix's base-32 into `bytes` bytes; `None` when a character is not a digit or
/// the text has the wrong length or set bits beyond the end.
pub fn decode(text: &str, bytes: usize) -> Option<Vec<u8>> {
    let chars = text.as_bytes();
    if chars.len() != encoded_len(bytes) {
        return None;
    }
    let mut out = vec![0u8; bytes];
    for (n, &c) in chars.iter().rev().enumerate() {
        let digit = ALPHABET.iter().position(|&a| a == c)? as u16;
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let shifted = digit << j;
        *out.get_mut(i)? |= (shifted & 0xff) as u8;
        let carry = (shifted >> 8) as u8;
        match out.get_mut(i + 1) {
            Some(next) => *next |= carry,
            None if carry != 0 => return None,
            None => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn sha256_of_hello_newline_matches_nix_hash() {
        // nix-hash --type sha256 --flat --base32 of a file holding "hello\n".
        let digest = hex("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
        let b32 = encode(&digest);
        assert_eq!(b32, "00xyyr3fi8l6hb839bv3f7yb86yjv7xi1cgh1xnhipym4asvb4aq");
        assert_eq!(decode(&b32, 32).unwrap(), digest);
    }

    #[test]
    fn md5_and_sha1_sized_values_match_nix_hash_to_base32() {
        // nix-hash --type md5|sha1 --to-base32 HEX
        for (hexed, want) in [
            (
                "00000000000000000000000000000001",
                "01000000000000000000000000",
            ),
            (
                "ff000000000000000000000000000000",
                "0000000000000000000000007z",
            ),
            (
                "000000000000000000000000000000ff",
                "7z000000000000000000000000",
            ),
            (
                "0123456789abcdef0123456789abcdef",
                "7grnmqjrs54c0yzkdbi5kla8q1",
            ),
            (
                "a9993e364706816aba3e25717850c26c9cd0d89d",
                "kpcd173cq987hw957sx6m0868wv3x6d9",
            ),
        ] {
            let bytes = hex(hexed);
            assert_eq!(encode(&bytes), want, "{hexed}");
            assert_eq!(decode(want, bytes.len()).unwrap(), bytes, "{want}");
        }
        assert_eq!(encoded_len(20), 32);
        assert_eq!(encoded_len(32), 52);
        assert_eq!(encoded_len(64), 103);
        assert_eq!(encode(&[]), "");
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert_eq!(decode("0e", 1), None, "'e' is not a Nix base-32 digit");
        assert_eq!(decode("000", 1), None, "wrong length");
        assert_eq!(decode("8z", 1), None, "bits beyond the last byte");
        assert_eq!(decode("7z", 1), Some(vec![0xff]));
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..70usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode(&encode(&data), len).unwrap(), data, "length {len}");
        }
    }
}
