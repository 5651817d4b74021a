//! ext4's checksum primitives: crc32c without the final inversion (the kernel's
//! `ext4_chksum`), seeded per filesystem and per inode.

/// `crc32c` as the kernel computes it for ext4: seeded with `seed`, no final inversion.
pub fn raw(seed: u32, data: &[u8]) -> u32 {
    !crc32c::crc32c_append(!seed, data)
}

/// The filesystem checksum seed: crc32c of the UUID (`s_checksum_seed` is not stored
/// because the `metadata_csum_seed` feature is off).
pub fn fs_seed(uuid: &[u8; 16]) -> u32 {
    raw(!0, uuid)
}

/// The per-inode seed used by inode, extent, directory and xattr checksums.
pub fn inode_seed(fs_seed: u32, ino: u32, generation: u32) -> u32 {
    raw(raw(fs_seed, &ino.to_le_bytes()), &generation.to_le_bytes())
}
