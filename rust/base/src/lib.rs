//! nixspot's own base image: a Raspberry Pi 3/4 SD-card image made only from pinned
//! Debian bookworm arm64 `.deb`s and nixspot's on-device programs, without running
//! maintainer scripts (what they would write is generated instead).
//!
//! * [`config`]: the description (`base/base.nix`).
//! * [`lock()`]: resolves the package closure against the mirror and pins every `.deb`.
//! * [`build`]: downloads (verified, cached) → unpacks into one tree → adds accounts,
//!   alternatives, depmod output, the dpkg database, the init and nixspot's programs →
//!   writes the image: p1 FAT32 `bootfs` (firmware, kernel, dtbs, initramfs,
//!   `config.txt`, `cmdline.txt`, `offspot.yaml`), p2 ext4 `rootfs`, p3 ext4 `data`.
//!
//! * [`on_demand`]: `nixspot:base` in recipes — the embedded description built once
//!   and cached.
//!
//! Same description + lock + programs + timestamp ⇒ same image bytes.

pub mod build;
pub mod config;
pub mod cpio;
pub mod download;
pub mod error;
pub mod on_demand;

pub use build::{build, BuildOptions, Summary, DEVICE_PROGRAMS};
pub use config::BaseConfig;
pub use error::{Error, Result};

use download::Downloader;
use nixspot_deb::lock::Lock;

/// Downloads every `.deb` of `lock` into the cache at `cache_dir` (those already there
/// are kept); returns how many packages and bytes the lock pins.
pub fn fetch(lock: &Lock, cache_dir: &std::path::Path) -> Result<(usize, u64)> {
    let cache = nixspot_fetch::Cache::open(cache_dir)?;
    let dl = Downloader::new()?;
    for pinned in lock.packages.values() {
        dl.ensure_package(&cache, pinned)?;
    }
    Ok((lock.packages.len(), lock.total_size()))
}

/// Resolves the description's package closure against its mirror and pins it; the
/// mirror's `InRelease` files must be signed by a key of `trust`.
pub fn lock(config: &BaseConfig, trust: nixspot_deb::lock::Trust<'_>) -> Result<Lock> {
    let dl = Downloader::new()?;
    let mut fetch = |url: &str| dl.get(url);
    Ok(nixspot_deb::lock::lock(
        &config.mirror,
        &config.packages,
        trust,
        &mut fetch,
    )?)
}
