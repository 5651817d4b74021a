//! Extended attributes: stored in the inode body when they fit, else in one external
//! block (with its hash and checksum).

use super::bytes::{put, r16, r32, r8, w16, w32, w64};
use super::csum;
use super::layout::BLOCK_SIZE;

/// Magic of the in-inode area and of an xattr block.
pub const MAGIC: u32 = 0xEA02_0000;
/// Offset of the in-inode xattr area (128 + `i_extra_isize` of 32).
pub const IBODY_START: usize = 0xA0;
/// Bytes available in the inode body after the magic.
pub const IBODY_SPACE: usize = 256 - IBODY_START - 4;

const PREFIXES: &[(&[u8], u8)] = &[
    (b"user.", 1),
    (b"system.posix_acl_access", 2),
    (b"system.posix_acl_default", 3),
    (b"trusted.", 4),
    (b"security.", 6),
    (b"system.", 7),
];

/// Splits a full attribute name into (name index, suffix).
pub fn split_name(name: &[u8]) -> Option<(u8, &[u8])> {
    for (p, idx) in PREFIXES {
        if let Some(rest) = name.strip_prefix(*p) {
            if (*idx == 2 || *idx == 3) && !rest.is_empty() {
                continue;
            }
            return Some((*idx, rest));
        }
    }
    None
}

/// Rebuilds the full name from an index and a suffix.
pub fn join_name(idx: u8, suffix: &[u8]) -> Vec<u8> {
    let p: &[u8] = PREFIXES
        .iter()
        .find(|(_, i)| *i == idx)
        .map_or(b"", |(p, _)| p);
    [p, suffix].concat()
}

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// Space used by an attribute list: (entries incl. end marker, values).
pub fn sizes(attrs: &[(u8, &[u8], &[u8])]) -> (usize, usize) {
    let e: usize = attrs.iter().map(|(_, n, _)| 16 + pad4(n.len())).sum();
    let v: usize = attrs.iter().map(|(_, _, v)| pad4(v.len())).sum();
    (e + 4, v)
}

fn entry_hash(name: &[u8], value: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        // e2fsprogs and the kernel hash the name as signed chars
        h = (h << 5) ^ (h >> 27) ^ (c as i8 as i32 as u32);
    }
    let mut padded = value.to_vec();
    padded.resize(pad4(value.len()), 0);
    for w in padded.chunks_exact(4) {
        h = (h << 16) ^ (h >> 16) ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
    }
    h
}

/// Writes entries at `b[start..]` with values packed downward from `end`; value offsets
/// are relative to `base`. Returns the entry hashes.
fn write_list(
    b: &mut [u8],
    start: usize,
    end: usize,
    base: usize,
    attrs: &[(u8, &[u8], &[u8])],
) -> Vec<u32> {
    let mut at = start;
    let mut vend = end;
    let mut hashes = Vec::new();
    for (idx, name, value) in attrs {
        vend -= pad4(value.len());
        put(b, vend, value);
        let h = entry_hash(name, value);
        hashes.push(h);
        if let Some(x) = b.get_mut(at) {
            *x = name.len() as u8;
        }
        if let Some(x) = b.get_mut(at + 1) {
            *x = *idx;
        }
        w16(b, at + 2, (vend - base) as u16);
        w32(b, at + 4, 0);
        w32(b, at + 8, value.len() as u32);
        w32(b, at + 12, h);
        put(b, at + 16, name);
        at += 16 + pad4(name.len());
    }
    hashes
}

/// Whether `attrs` fit in the inode body.
pub fn fits_in_inode(attrs: &[(u8, &[u8], &[u8])]) -> bool {
    let (e, v) = sizes(attrs);
    e + v <= IBODY_SPACE
}

/// Whether `attrs` fit in one block.
pub fn fits_in_block(attrs: &[(u8, &[u8], &[u8])]) -> bool {
    let (e, v) = sizes(attrs);
    32 + e + v <= BLOCK_SIZE as usize
}

/// Writes the in-inode attributes into a 256-byte inode.
pub fn write_ibody(inode: &mut [u8], attrs: &[(u8, &[u8], &[u8])]) {
    w32(inode, IBODY_START, MAGIC);
    let start = IBODY_START + 4;
    write_list(inode, start, inode.len(), start, attrs);
}

/// Builds an external attribute block stored at physical block `blk`.
pub fn block(attrs: &[(u8, &[u8], &[u8])], blk: u64, fs_seed: u32) -> Vec<u8> {
    let mut b = vec![0u8; BLOCK_SIZE as usize];
    w32(&mut b, 0, MAGIC);
    w32(&mut b, 4, 1);
    w32(&mut b, 8, 1);
    let hashes = write_list(&mut b, 32, BLOCK_SIZE as usize, 0, attrs);
    let mut h: u32 = 0;
    for eh in hashes {
        h = (h << 16) ^ (h >> 16) ^ eh;
    }
    w32(&mut b, 12, h);
    let mut n = [0u8; 8];
    w64(&mut n, 0, blk);
    let c = csum::raw(csum::raw(fs_seed, &n), &b);
    w32(&mut b, 16, c);
    b
}

/// Parses an attribute list at `b[start..]` (values relative to `base`), returning full
/// names and values; stops at the end marker or at the first malformed entry.
pub fn parse_list(b: &[u8], start: usize, base: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = start;
    while at + 16 <= b.len() && r32(b, at) != 0 {
        let nlen = usize::from(r8(b, at));
        let idx = r8(b, at + 1);
        let voff = usize::from(r16(b, at + 2));
        let inum = r32(b, at + 4);
        let vsize = r32(b, at + 8) as usize;
        let (Some(name), true) = (b.get(at + 16..at + 16 + nlen), inum == 0) else {
            break;
        };
        let Some(value) = b.get(base + voff..base + voff + vsize) else {
            break;
        };
        out.push((join_name(idx, name), value.to_vec()));
        at += 16 + pad4(nlen);
    }
    out
}
