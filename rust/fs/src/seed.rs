//! Deterministic identifiers: every UUID, serial number and hash seed is derived from a
//! caller-given seed with SHA-256, never from a random source or the clock.

use sha2::{Digest, Sha256};

/// Derives 32 bytes for `purpose` from `seed`.
pub fn derive(seed: &[u8], purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"nixspot-fs\0");
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(seed);
    h.finalize().into()
}

/// Derives an RFC 4122 version-4-shaped UUID (the bytes are derived, not random).
pub fn derive_uuid(seed: &[u8], purpose: &str) -> uuid::Uuid {
    let d = derive(seed, purpose);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid()
}

/// Derives a 32-bit serial number (FAT volume id, MBR disk signature).
pub fn derive_u32(seed: &[u8], purpose: &str) -> u32 {
    let d = derive(seed, purpose);
    u32::from_le_bytes([d[0], d[1], d[2], d[3]])
}
