//! `nixspot:base` in a recipe: nixspot's own base image, built on demand from the
//! description and lock embedded in the binary (`base/base.nix`,
//! `base/base.lock.json`) and cached next to the downloads, so every hotspot that
//! names it shares one build.
//!
//! The image holds nixspot's on-device programs, static arm64 binaries built with
//! `cargo build --target aarch64-unknown-linux-musl -p nixspot-runtime -p nixspot-portal
//! -p nixspot-dashboard`; [`locate_device_binaries`] says where they are looked for.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nixspot_deb::lock::Lock;
use sha2::{Digest, Sha256};

use crate::build::{build, BuildOptions, DEVICE_PROGRAMS, EMBEDDED_FILES};
use crate::config::BaseConfig;
use crate::error::{Error, Result};

/// The recipe `base.source` naming nixspot's own base image.
pub const SOURCE: &str = "nixspot:base";

/// The environment variable naming the directory of the device programs.
pub const DEVICE_BINARIES_ENV: &str = "NIXSPOT_DEVICE_BINARIES";

/// The description, as committed in `base/base.nix`.
pub const CONFIG_NIX: &str = include_str!("../../../base/base.nix");
/// Its lock, as committed in `base/base.lock.json`.
pub const LOCK_JSON: &str = include_str!("../../../base/base.lock.json");

/// The embedded description, evaluated.
pub fn embedded_config() -> Result<BaseConfig> {
    let origin = Path::new("<embedded base/base.nix>");
    // mimalloc for the evaluation (see nixspot_alloc), when it is the allocator.
    let _evaluating = nixspot_alloc::Evaluating::start();
    let mut ev = nixspot_eval::Evaluator::new(nixspot_eval::EvalOptions::default());
    let json = ev
        .eval_to_json(&nixspot_eval::Source::Expr {
            text: CONFIG_NIX.to_string(),
            base_dir: PathBuf::from("/"),
        })
        .map_err(|e| Error::Config {
            path: origin.to_path_buf(),
            message: e.to_string(),
        })?;
    BaseConfig::from_json(&json, origin)
}

/// The embedded lock.
pub fn embedded_lock() -> Result<Lock> {
    Ok(Lock::from_json(
        LOCK_JSON,
        "<embedded base/base.lock.json>",
    )?)
}

/// Where the device programs are, in this order: `$NIXSPOT_DEVICE_BINARIES`; an
/// installed layout `<bin>/../lib/nixspot/aarch64-linux/`; a cargo build tree, for
/// `target/<profile>/nixspot`, `target/aarch64-unknown-linux-musl/<profile>/` (the same
/// profile, so a debug nixspot never silently picks release programs or back).
pub fn locate_device_binaries() -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os(DEVICE_BINARIES_ENV).filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return match missing_program(&dir) {
            None => Ok(dir),
            Some(p) => Err(Error::DevicePrograms(format!(
                "${DEVICE_BINARIES_ENV} is {}, but {p} is not there",
                dir.display()
            ))),
        };
    }
    if let Some(bin_dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.canonicalize().ok())
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        let mut candidates = vec![bin_dir.join("../lib/nixspot/aarch64-linux")];
        if let (Some(profile), Some(target)) = (bin_dir.file_name(), bin_dir.parent()) {
            candidates.push(target.join("aarch64-unknown-linux-musl").join(profile));
        }
        for dir in candidates {
            if missing_program(&dir).is_none() {
                return Ok(dir);
            }
            tried.push(dir.display().to_string());
        }
    }
    Err(Error::DevicePrograms(format!(
        "`{SOURCE}` needs nixspot's arm64 device programs ({}), found in none of: {}. \
         Build them with `cargo build --release --target aarch64-unknown-linux-musl \
         -p nixspot-runtime -p nixspot-portal -p nixspot-dashboard` (debug nixspot: \
         without --release), or set ${DEVICE_BINARIES_ENV} to their directory",
        DEVICE_PROGRAMS.join(", "),
        if tried.is_empty() {
            "(no candidate directory)".to_string()
        } else {
            tried.join(", ")
        }
    )))
}

fn missing_program(dir: &Path) -> Option<&'static str> {
    DEVICE_PROGRAMS.into_iter().find(|p| !dir.join(p).is_file())
}

/// How [`ensure`] may build.
#[derive(Debug, Clone, Default)]
pub struct OnDemand {
    /// The directory of the device programs (default: [`locate_device_binaries`]).
    pub device_binaries: Option<PathBuf>,
    /// Never download: every `.deb` must already be in the cache.
    pub offline: bool,
}

/// Hex SHA-256 over everything the image is made from: the description, the lock, the
/// build's own embedded files, the program doing the build (its code decides the
/// bytes) and the device programs.
fn fingerprint(device_binaries: &Path) -> Result<String> {
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    part(env!("CARGO_PKG_VERSION").as_bytes());
    let exe = std::env::current_exe().map_err(|e| Error::io("the running program", e))?;
    part(&std::fs::read(&exe).map_err(|e| Error::io(&exe, e))?);
    part(CONFIG_NIX.as_bytes());
    part(LOCK_JSON.as_bytes());
    for f in EMBEDDED_FILES {
        part(f.as_bytes());
    }
    for p in DEVICE_PROGRAMS {
        let path = device_binaries.join(p);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        part(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// Base images kept in a cache (the newest): an older nixspot or other device programs
/// may still want theirs, but each is over a gigabyte.
const KEPT_IMAGES: usize = 2;

/// Removes all but the `keep` newest base images (and their recorded sha256) in `dir`.
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut images: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "img"))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    images.sort();
    let excess = images.len().saturating_sub(keep);
    for (_, old) in images.into_iter().take(excess) {
        let _ = std::fs::remove_file(old.with_extension("img.sha256"));
        let _ = std::fs::remove_file(&old);
    }
}

/// nixspot's base image in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The image file.
    pub path: PathBuf,
    /// Its hex SHA-256 (recorded next to it, so it is read once).
    pub sha256: String,
}

fn sha256_of(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(hex::encode(h.finalize()))
}

/// A new partial image file and work directory in `dir` for the build of `key`. Fresh
/// names, created exclusively: concurrent builds of the same base only duplicate work,
/// and nothing planted in a shared cache (a symlink, a directory) is followed or reused.
/// Both are removed when dropped, unless the image is persisted.
fn scratch(dir: &Path, key: &str) -> Result<(tempfile::TempPath, tempfile::TempDir)> {
    let prefix = format!(".{key}.");
    let partial = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?
        .into_temp_path();
    let work_dir = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".work")
        .tempdir_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    Ok((partial, work_dir))
}

/// nixspot's base image in the cache at `cache_root`, building it first when needed
/// (`.deb`s come from the same content-addressed cache).
pub fn ensure(cache_root: &Path, how: &OnDemand) -> Result<Built> {
    let config = embedded_config()?;
    let lock = embedded_lock()?;
    let device_binaries = match &how.device_binaries {
        Some(d) => d.clone(),
        None => locate_device_binaries()?,
    };
    let key = fingerprint(&device_binaries)?;
    let dir = cache_root.join("base");
    let image = dir.join(format!("{}-{}.img", config.name, &key[..32]));
    let sha_file = image.with_extension("img.sha256");
    if image.is_file() {
        if let Ok(sha256) = std::fs::read_to_string(&sha_file) {
            let sha256 = sha256.trim().to_string();
            if sha256.len() == 64 {
                return Ok(Built {
                    path: image,
                    sha256,
                });
            }
        }
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let (partial, work_dir) = scratch(&dir, &key[..32])?;
    let opts = BuildOptions {
        cache_dir: cache_root.to_path_buf(),
        device_binaries: Some(device_binaries),
        work_dir: work_dir.path().to_path_buf(),
        timestamp: None,
        offline: how.offline,
    };
    // On failure both are removed when dropped.
    build(&config, &lock, &opts, &partial)?;
    drop(work_dir);
    let sha256 = sha256_of(&partial)?;
    std::fs::write(&sha_file, format!("{sha256}\n")).map_err(|e| Error::io(&sha_file, e))?;
    partial
        .persist(&image)
        .map_err(|e| Error::io(&image, e.error))?;
    prune(&dir, KEPT_IMAGES);
    Ok(Built {
        path: image,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_scratch_is_new_and_never_a_planted_path() {
        let cache = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        let victim_file = victim.path().join("file");
        std::fs::write(&victim_file, b"precious").unwrap();
        let key = "k".repeat(32);
        // The names the build used to take, planted by someone sharing the cache.
        let pid = std::process::id();
        let planted_partial = cache.path().join(format!(".{key}.{pid}.partial"));
        let planted_work = cache.path().join(format!(".{key}.{pid}.work"));
        std::os::unix::fs::symlink(&victim_file, &planted_partial).unwrap();
        std::os::unix::fs::symlink(victim.path(), &planted_work).unwrap();
        let (partial, work) = scratch(cache.path(), &key).unwrap();
        assert_ne!(&*partial, planted_partial.as_path());
        assert_ne!(work.path(), planted_work.as_path());
        assert!(std::fs::symlink_metadata(&partial).unwrap().is_file());
        assert!(std::fs::symlink_metadata(work.path()).unwrap().is_dir());
        std::fs::write(&partial, b"image").unwrap();
        std::fs::write(work.path().join("spool"), b"x").unwrap();
        assert_eq!(std::fs::read(&victim_file).unwrap(), b"precious");
        assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 1);
        let (p, w) = (partial.to_path_buf(), work.path().to_path_buf());
        drop((partial, work));
        assert!(!p.exists() && !w.exists(), "removed when dropped");
    }

    #[test]
    fn the_embedded_description_and_lock_agree() {
        let config = embedded_config().unwrap();
        let lock = embedded_lock().unwrap();
        crate::build::check_lock(&config, &lock).unwrap();
        assert_eq!(config.name, "nixspot-base");
    }

    #[test]
    fn a_missing_program_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nixspot-runtime"), b"x").unwrap();
        assert_eq!(missing_program(dir.path()), Some("nixspot-dashboard"));
        for p in DEVICE_PROGRAMS {
            std::fs::write(dir.path().join(p), b"x").unwrap();
        }
        assert_eq!(missing_program(dir.path()), None);
    }

    #[test]
    fn only_the_newest_images_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let img = dir.path().join(format!("{name}.img"));
            std::fs::write(&img, b"x").unwrap();
            std::fs::write(img.with_extension("img.sha256"), b"y").unwrap();
            let t =
                std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
            std::fs::File::options()
                .write(true)
                .open(&img)
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        prune(dir.path(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b.img", "b.img.sha256", "c.img", "c.img.sha256"]);
    }

    #[test]
    fn the_fingerprint_follows_the_device_programs() {
        let dir = tempfile::tempdir().unwrap();
        for p in DEVICE_PROGRAMS {
            std::fs::write(dir.path().join(p), p.as_bytes()).unwrap();
        }
        let a = fingerprint(dir.path()).unwrap();
        assert_eq!(a, fingerprint(dir.path()).unwrap());
        std::fs::write(dir.path().join("nixspot-portal"), b"changed").unwrap();
        assert_ne!(a, fingerprint(dir.path()).unwrap());
    }
}
