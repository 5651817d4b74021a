//! Little-endian field access that never panics: reads outside the buffer yield zero and
//! writes outside it are ignored (writers only use fixed offsets inside fixed-size buffers;
//! readers validate sizes before trusting fields).

/// Reads a little-endian u16 at `o`, or 0 past the end.
pub fn r16(b: &[u8], o: usize) -> u16 {
    b.get(o..o + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .unwrap_or(0)
}

/// Reads a little-endian u32 at `o`, or 0 past the end.
pub fn r32(b: &[u8], o: usize) -> u32 {
    b.get(o..o + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

/// Reads a byte at `o`, or 0 past the end.
pub fn r8(b: &[u8], o: usize) -> u8 {
    b.get(o).copied().unwrap_or(0)
}

/// Writes a little-endian u16 at `o`.
pub fn w16(b: &mut [u8], o: usize, v: u16) {
    put(b, o, &v.to_le_bytes());
}

/// Writes a little-endian u32 at `o`.
pub fn w32(b: &mut [u8], o: usize, v: u32) {
    put(b, o, &v.to_le_bytes());
}

/// Writes a little-endian u64 at `o`.
pub fn w64(b: &mut [u8], o: usize, v: u64) {
    put(b, o, &v.to_le_bytes());
}

/// Copies `src` to `o`.
pub fn put(b: &mut [u8], o: usize, src: &[u8]) {
    if let Some(d) = b.get_mut(o..o + src.len()) {
        d.copy_from_slice(src);
    }
}
