//! How big a recipe's image gets, and which SD card it fits, without downloading
//! anything: the sizes come from the recipe (pinned by the lock or the catalog).
//!
//! The estimate follows nixspot's assembler (`rust/assemble`): the base's bytes before the
//! data partition (`base.rootfs_size`), then an ext4 data partition made with 4 KiB
//! blocks, one 256-byte inode per 16 KiB, 5 % reserved blocks, mke2fs's journal size and
//! 10 % headroom over what the content uses, the whole rounded up to 4 MiB. The module
//! system computes the same numbers (`modules/hotspot/recipe.nix`, `sizeEstimate`): keep
//! them in step.

use crate::Recipe;
use nixspot_fs::ext4::default_journal_blocks;
use serde::Serialize;

/// An SD card size and the bytes a card sold as that size really holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SdCard {
    /// The size as cards are sold (`"32GB"`), also `hotspot.output.sdCard`'s value.
    pub name: &'static str,
    /// Usable bytes.
    pub usable: u64,
}

/// Common SD card sizes with their usable capacities: the Kiwix Imager Service's media
/// table (`manager/manager/fixtures/media.json`, `spec/imager.md` §3.3), the numbers
/// Kiwix uses to tell users which card an image fits. Smallest first.
pub const SD_CARDS: &[SdCard] = &[
    SdCard {
        name: "8GB",
        usable: 7_760_000_000,
    },
    SdCard {
        name: "16GB",
        usable: 15_520_000_000,
    },
    SdCard {
        name: "32GB",
        usable: 30_720_000_000,
    },
    SdCard {
        name: "64GB",
        usable: 61_440_000_000,
    },
    SdCard {
        name: "128GB",
        usable: 122_880_000_000,
    },
    SdCard {
        name: "200GB",
        usable: 192_000_000_000,
    },
    SdCard {
        name: "256GB",
        usable: 245_760_000_000,
    },
    SdCard {
        name: "512GB",
        usable: 496_000_000_000,
    },
    SdCard {
        name: "1TB",
        usable: 993_000_000_000,
    },
];

/// The smallest common card whose usable capacity holds `bytes`.
pub fn smallest_card(bytes: u64) -> Option<SdCard> {
    SD_CARDS.iter().copied().find(|c| c.usable >= bytes)
}

/// A card by name (`"32GB"`), as `hotspot.output.sdCard` writes it.
pub fn card(name: &str) -> Option<SdCard> {
    SD_CARDS.iter().copied().find(|c| c.name == name)
}

/// ext4 block size of the data partition.
const BLOCK: u64 = 4096;
/// The image size is a multiple of this (the assembler's alignment).
const ALIGN: u64 = 4 << 20;

/// What an image is made of, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeEstimate {
    /// Everything before the data partition (`base.rootfs_size`).
    pub base: u64,
    /// Files (for archives: their expanded size).
    pub content: u64,
    /// OCI images: the archive plus the extracted image (image-creator's rule: the
    /// archive stays in `/data/images` until first boot).
    pub images: u64,
    /// What the data partition needs beyond the content: filesystem metadata, journal,
    /// reserved blocks, the 10 % headroom and the alignment.
    pub slack: u64,
    /// The image: base + content + images + slack.
    pub total: u64,
    /// Downloads whose size the recipe does not give (not counted; `nixspot lock`
    /// pins them).
    pub unknown: Vec<String>,
}

/// Blocks of a data partition holding `used` blocks of file data. The assembler asks
/// for `used + journal + inode tables + 10 %` plus 5 % of the total reserved; with one
/// 256-byte inode per 16 KiB the inode tables are 1/64 of the total, so the total is
/// `1.1 × (used + journal) / (0.95 − 1.1/64)` = `(used + journal) × 704/597`. 1024
/// blocks and 1/8192 of the data cover the superblocks, group descriptors, bitmaps and
/// directories.
fn data_blocks(used: u64) -> u64 {
    let mut journal = default_journal_blocks(used);
    let mut blocks = 0;
    // The journal depends on the total, the total on the journal: two rounds settle it.
    for _ in 0..2 {
        let need = used + journal + 1024 + used / 8192;
        blocks = (need * 704).div_ceil(597);
        journal = default_journal_blocks(blocks);
    }
    blocks
}

impl SizeEstimate {
    /// Estimates the image of `recipe`.
    pub fn of(recipe: &Recipe) -> SizeEstimate {
        let mut unknown = Vec::new();
        let mut content = 0u64;
        let mut used = 0u64;
        for f in &recipe.files {
            match f.size.bytes() {
                Some(b) => {
                    content = content.saturating_add(b);
                    used = used.saturating_add(b.div_ceil(BLOCK));
                }
                None => unknown.push(f.url.clone().unwrap_or_else(|| f.to.clone())),
            }
        }
        let mut images = 0u64;
        for o in &recipe.oci_images {
            match (o.filesize, o.fullsize) {
                (Some(a), Some(b)) => {
                    images = images.saturating_add(a).saturating_add(b);
                    used = used
                        .saturating_add(a.div_ceil(BLOCK))
                        .saturating_add(b.div_ceil(BLOCK));
                }
                _ => unknown.push(o.ident.clone()),
            }
        }
        let base = recipe.base.rootfs_size.bytes();
        let data = data_blocks(used).saturating_mul(BLOCK);
        let total = base
            .saturating_add(data)
            .div_ceil(ALIGN)
            .saturating_mul(ALIGN);
        SizeEstimate {
            base,
            content,
            images,
            slack: total
                .saturating_sub(base)
                .saturating_sub(content)
                .saturating_sub(images),
            total,
            unknown,
        }
    }
}

/// `bytes` for people in decimal units, as SD cards are sold, with `decimals` digits
/// after the point: `1.3 GB` (1), `1.28 GB` (2); under a kilobyte, exact: `999 B`.
pub fn decimal_size(bytes: u64, decimals: usize) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.decimals$} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_are_sorted_and_found() {
        assert!(SD_CARDS.windows(2).all(|w| w[0].usable < w[1].usable));
        assert_eq!(smallest_card(7_760_000_000).unwrap().name, "8GB");
        assert_eq!(smallest_card(7_760_000_001).unwrap().name, "16GB");
        assert_eq!(smallest_card(993_000_000_001), None);
        assert_eq!(card("32GB").unwrap().usable, 30_720_000_000);
        assert_eq!(card("32G"), None);
    }

    #[test]
    fn journal_settles_on_the_total() {
        // 10 GB of content: about 2.9 M blocks in all, so mke2fs's journal of 16384 blocks.
        let used = 10_000_000_000u64 / BLOCK;
        let blocks = data_blocks(used);
        assert_eq!(
            blocks,
            ((used + 16384 + 1024 + used / 8192) * 704).div_ceil(597)
        );
    }

    #[test]
    fn sizes_in_decimal_units() {
        assert_eq!(decimal_size(999, 1), "999 B");
        assert_eq!(decimal_size(1000, 1), "1.0 kB");
        assert_eq!(decimal_size(1_280_000_000, 1), "1.3 GB");
        assert_eq!(decimal_size(1_280_000_000, 2), "1.28 GB");
        assert_eq!(decimal_size(31_914_983_424, 1), "31.9 GB");
        assert_eq!(decimal_size(5_000_000_000_000_000, 2), "5000.00 TB");
    }
}
