//! The base image description (`base/base.nix`), read with nixspot's evaluator.

use std::path::{Path, PathBuf};

use nixspot_deb::lock::MirrorConfig;
use serde::Deserialize;

use crate::error::{Error, Result};

/// One partition with a fixed size.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixedPartition {
    /// Filesystem label.
    pub label: String,
    /// Size in bytes.
    pub size: u64,
}

/// The root partition: as small as its content allows, plus a margin.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RootPartition {
    /// Filesystem label (the kernel command line mounts `root=LABEL=<label>`).
    pub label: String,
    /// Free space left beyond the content.
    pub margin_bytes: u64,
}

/// The three partitions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partitions {
    /// p1, FAT32.
    pub boot: FixedPartition,
    /// p2, ext4.
    pub root: RootPartition,
    /// p3, ext4 (grown to the card on first boot through `master_fs`).
    pub data: FixedPartition,
}

/// Everything `base/base.nix` says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BaseConfig {
    /// Image name (also the seed of every identifier).
    pub name: String,
    /// Where packages come from and what is never installed.
    pub mirror: MirrorConfig,
    /// Requested packages.
    pub packages: Vec<String>,
    /// The kernel package (`linux-image-<version>`).
    pub kernel: String,
    /// Modules the initramfs loads, in order (dependencies are added before each).
    pub initramfs_modules: Vec<String>,
    /// Device trees of the kernel package (below `usr/lib/linux-image-<version>/`)
    /// copied to the root of the boot partition.
    pub dtbs: Vec<String>,
    /// Default hostname.
    pub hostname: String,
    /// Partition labels and sizes.
    pub partitions: Partitions,
    /// `config.txt` lines after the generated `kernel=` and `initramfs` lines.
    pub config_txt: String,
    /// `cmdline.txt` (one line).
    pub cmdline: String,
}

impl BaseConfig {
    /// Evaluates a `.nix` file and checks the result.
    pub fn load(path: &Path) -> Result<BaseConfig> {
        // mimalloc for the evaluation (see nixspot_alloc), when it is the allocator.
        let _evaluating = nixspot_alloc::Evaluating::start();
        let mut ev = nixspot_eval::Evaluator::new(nixspot_eval::EvalOptions::default());
        let json = ev
            .eval_to_json(&nixspot_eval::Source::File(path.to_path_buf()))
            .map_err(|e| Error::Config {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        BaseConfig::from_json(&json, path)
    }

    /// Parses the evaluated JSON; `path` names the source in errors.
    pub fn from_json(json: &str, path: &Path) -> Result<BaseConfig> {
        let config: BaseConfig = serde_json::from_str(json).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let bad = |message: String| Error::Config {
            path: PathBuf::from(path),
            message,
        };
        if self.kernel_version().is_none() {
            return Err(bad(format!(
                "kernel: expected linux-image-<version>, found {:?}",
                self.kernel
            )));
        }
        if !self.packages.contains(&self.kernel) {
            return Err(bad(format!(
                "packages: the kernel package {} is not requested",
                self.kernel
            )));
        }
        for p in ["busybox-static", "runit"] {
            if !self.packages.iter().any(|x| x == p) {
                return Err(bad(format!(
                    "packages: {p} is required (the init needs it)"
                )));
            }
        }
        if self.cmdline.contains('\n') {
            return Err(bad("cmdline: expected one line".to_string()));
        }
        Ok(())
    }

    /// The kernel version (`6.1.0-56-arm64`), from the kernel package name.
    pub fn kernel_version(&self) -> Option<&str> {
        self.kernel
            .strip_prefix("linux-image-")
            .filter(|v| !v.is_empty() && !v.contains('/'))
    }
}
