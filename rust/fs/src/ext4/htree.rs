//! Hashed directory indexes (`dir_index`): the half-MD4 name hash with the unsigned-char
//! convention (`EXT2_FLAGS_UNSIGNED_HASH`), and the dx_root / dx_node index blocks.

use super::bytes::{put, w16, w32};
use super::csum;
use super::layout::BLOCK_SIZE;

/// `dx_root_info.hash_version` for half-MD4 (the unsigned variant comes from the
/// superblock flag, as on every filesystem made by mke2fs on arm64).
pub const HASH_HALF_MD4: u8 = 1;
/// Index entries that fit in the root block next to `.`/`..`, the header and the tail.
pub const ROOT_LIMIT: usize = (BLOCK_SIZE as usize - 0x20 - 8) / 8;
/// Index entries that fit in an interior node block.
pub const NODE_LIMIT: usize = (BLOCK_SIZE as usize - 8 - 8) / 8;

fn half_md4(buf: &mut [u32; 4], inp: &[u32; 8]) {
    let f = |x: u32, y: u32, z: u32| z ^ (x & (y ^ z));
    let g = |x: u32, y: u32, z: u32| (x & y).wrapping_add((x ^ y) & z);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    const K2: u32 = 0o13240474631;
    const K3: u32 = 0o15666365641;
    let [mut a, mut b, mut c, mut d] = *buf;
    macro_rules! round {
        ($f:expr, $a:ident, $b:ident, $c:ident, $d:ident, $x:expr, $s:expr) => {
            $a = $a
                .wrapping_add($f($b, $c, $d))
                .wrapping_add($x)
                .rotate_left($s);
        };
    }
    round!(f, a, b, c, d, inp[0], 3);
    round!(f, d, a, b, c, inp[1], 7);
    round!(f, c, d, a, b, inp[2], 11);
    round!(f, b, c, d, a, inp[3], 19);
    round!(f, a, b, c, d, inp[4], 3);
    round!(f, d, a, b, c, inp[5], 7);
    round!(f, c, d, a, b, inp[6], 11);
    round!(f, b, c, d, a, inp[7], 19);
    round!(g, a, b, c, d, inp[1].wrapping_add(K2), 3);
    round!(g, d, a, b, c, inp[3].wrapping_add(K2), 5);
    round!(g, c, d, a, b, inp[5].wrapping_add(K2), 9);
    round!(g, b, c, d, a, inp[7].wrapping_add(K2), 13);
    round!(g, a, b, c, d, inp[0].wrapping_add(K2), 3);
    round!(g, d, a, b, c, inp[2].wrapping_add(K2), 5);
    round!(g, c, d, a, b, inp[4].wrapping_add(K2), 9);
    round!(g, b, c, d, a, inp[6].wrapping_add(K2), 13);
    round!(h, a, b, c, d, inp[3].wrapping_add(K3), 3);
    round!(h, d, a, b, c, inp[7].wrapping_add(K3), 9);
    round!(h, c, d, a, b, inp[2].wrapping_add(K3), 11);
    round!(h, b, c, d, a, inp[6].wrapping_add(K3), 15);
    round!(h, a, b, c, d, inp[1].wrapping_add(K3), 3);
    round!(h, d, a, b, c, inp[5].wrapping_add(K3), 9);
    round!(h, c, d, a, b, inp[0].wrapping_add(K3), 11);
    round!(h, b, c, d, a, inp[4].wrapping_add(K3), 15);
    buf[0] = buf[0].wrapping_add(a);
    buf[1] = buf[1].wrapping_add(b);
    buf[2] = buf[2].wrapping_add(c);
    buf[3] = buf[3].wrapping_add(d);
}

fn str2hashbuf_unsigned(msg: &[u8], out: &mut [u32; 8]) {
    let len = msg.len() as u32;
    let mut pad = len | (len << 8);
    pad |= pad << 16;
    let mut val = pad;
    let mut num = 8i32;
    let mut idx = 0;
    for (i, &c) in msg.iter().take(32).enumerate() {
        val = u32::from(c).wrapping_add(val << 8);
        if i % 4 == 3 {
            out[idx] = val;
            idx += 1;
            val = pad;
            num -= 1;
        }
    }
    num -= 1;
    if num >= 0 {
        out[idx] = val;
        idx += 1;
    }
    while idx < 8 {
        out[idx] = pad;
        idx += 1;
    }
}

/// The (major, minor) half-MD4 hash of `name` under `seed` (the superblock hash seed).
pub fn name_hash(name: &[u8], seed: &[u32; 4]) -> (u32, u32) {
    let mut buf = if seed.iter().any(|&s| s != 0) {
        *seed
    } else {
        [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476]
    };
    let mut p = name;
    loop {
        let mut inp = [0u32; 8];
        str2hashbuf_unsigned(p, &mut inp);
        half_md4(&mut buf, &inp);
        if p.len() <= 32 {
            break;
        }
        p = &p[32..];
    }
    let mut hash = buf[1] & !1;
    if hash == 0x7fff_ffff << 1 {
        hash = (0x7fff_ffff - 1) << 1;
    }
    (hash, buf[2])
}

/// One index entry: the lowest hash of a child block (bit 0 set when the previous block
/// ends with the same hash) and the child's logical block number.
#[derive(Debug, Clone, Copy)]
pub struct DxEntry {
    /// Hash (with the collision bit).
    pub hash: u32,
    /// Logical block of the child within the directory.
    pub block: u32,
}

fn write_entries(b: &mut [u8], at: usize, limit: usize, entries: &[DxEntry]) -> usize {
    w16(b, at, limit as u16);
    w16(b, at + 2, entries.len() as u16);
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            w32(b, at + i * 8, e.hash);
        }
        w32(b, at + i * 8 + 4, e.block);
    }
    at + entries.len() * 8
}

fn dx_csum(b: &mut [u8], count_offset: usize, count: usize, limit: usize, iseed: u32) {
    let tail = count_offset + limit * 8;
    let c = csum::raw(iseed, &b[..count_offset + count * 8]);
    let c = csum::raw(c, &b[tail..tail + 4]);
    let c = csum::raw(c, &[0u8; 4]);
    w32(b, tail + 4, c);
}

/// Builds the root block (`.`, `..`, dx_root_info, index entries, checksum tail).
pub fn root_block(ino: u32, parent: u32, levels: u8, entries: &[DxEntry], iseed: u32) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    w32(&mut b, 0, ino);
    w16(&mut b, 4, 12);
    b[6] = 1;
    b[7] = 2;
    put(&mut b, 8, b".");
    w32(&mut b, 12, parent);
    w16(&mut b, 16, (BLOCK_SIZE - 12) as u16);
    b[18] = 2;
    b[19] = 2;
    put(&mut b, 20, b"..");
    // dx_root_info: reserved_zero, hash_version, info_length, indirect_levels, flags
    b[0x1c] = HASH_HALF_MD4;
    b[0x1d] = 8;
    b[0x1e] = levels;
    write_entries(&mut b, 0x20, ROOT_LIMIT, entries);
    dx_csum(&mut b, 0x20, entries.len(), ROOT_LIMIT, iseed);
    b
}

/// Builds an interior index node block.
pub fn node_block(entries: &[DxEntry], iseed: u32) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    w16(&mut b, 4, BLOCK_SIZE as u16);
    write_entries(&mut b, 8, NODE_LIMIT, entries);
    dx_csum(&mut b, 8, entries.len(), NODE_LIMIT, iseed);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_even_and_seeded() {
        let s1 = [1, 2, 3, 4];
        let s2 = [1, 2, 3, 5];
        let (h1, _) = name_hash(b"hello", &s1);
        let (h2, _) = name_hash(b"hello", &s2);
        assert_eq!(h1 & 1, 0);
        assert_ne!(h1, h2);
        // a long name goes through several rounds and still differs from its prefix
        let long = vec![b'x'; 200];
        assert_ne!(name_hash(&long, &s1), name_hash(&long[..100], &s1));
    }
}
