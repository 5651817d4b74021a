//! The modules embedded at build time, and their extraction to a cache directory named
//! after their content (so different nixspot versions never share a directory and an
//! existing directory never needs rewriting).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::Error;

include!(concat!(env!("OUT_DIR"), "/modules.rs"));

/// SHA-256 (hex) over every embedded file's relative path and bytes, in sorted order.
pub fn content_hash() -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in MODULE_FILES {
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `$NIXSPOT_CACHE_DIR`, else `$XDG_CACHE_HOME/nixspot`, else `~/.cache/nixspot`, else a
/// folder in the temporary directory.
pub fn cache_root() -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("NIXSPOT_CACHE_DIR") {
        return dir;
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return dir.join("nixspot");
    }
    if let Some(home) = var("HOME") {
        return home.join(".cache").join("nixspot");
    }
    std::env::temp_dir().join("nixspot-cache")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |error| Error::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// Extracts the embedded modules under `root` (once per content hash) and returns the
/// directory. A partial extraction is never visible: files go to a temporary sibling
/// that is renamed into place.
pub fn extract(root: &Path) -> Result<PathBuf, Error> {
    let hash = content_hash();
    let short = hash.get(..16).unwrap_or(&hash);
    let target = root.join(format!("modules-{short}"));
    if target.join("default.nix").is_file() {
        return Ok(target);
    }
    std::fs::create_dir_all(root).map_err(io(root))?;
    let staging = root.join(format!(".modules-{short}.{}.tmp", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    for (name, bytes) in MODULE_FILES {
        let path = staging.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io(&path))?;
    }
    match std::fs::rename(&staging, &target) {
        Ok(()) => Ok(target),
        // Another process won the race: its copy has the same content.
        Err(_) if target.join("default.nix").is_file() => {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
            Ok(target)
        }
        Err(error) => Err(Error::Io {
            path: target,
            error,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeds_the_module_tree() {
        let names: Vec<&str> = MODULE_FILES.iter().map(|(n, _)| *n).collect();
        for needed in [
            "default.nix",
            "lib/default.nix",
            "hotspot/recipe.nix",
            "catalog.nix",
        ] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "embedded files must be in sorted order");
    }

    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), Error> {
        for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                out.push((name, std::fs::read(&path).map_err(io(&path))?));
            }
        }
        Ok(())
    }

    #[test]
    fn embedded_files_are_the_repository_modules() -> Result<(), Error> {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../modules"));
        let mut on_disk = Vec::new();
        walk(root, root, &mut on_disk)?;
        on_disk.sort();
        let embedded: Vec<(String, Vec<u8>)> = MODULE_FILES
            .iter()
            .map(|(n, b)| (n.to_string(), b.to_vec()))
            .collect();
        assert_eq!(embedded.len(), on_disk.len());
        for ((a, x), (b, y)) in embedded.iter().zip(&on_disk) {
            assert_eq!(a, b);
            assert!(x == y, "{a}: the embedded copy is stale");
        }
        Ok(())
    }

    #[test]
    fn extraction_is_idempotent_and_complete() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(io(Path::new("tempdir")))?;
        let first = extract(dir.path())?;
        let second = extract(dir.path())?;
        assert_eq!(first, second);
        for (name, bytes) in MODULE_FILES {
            let on_disk = std::fs::read(first.join(name)).map_err(io(&first))?;
            assert_eq!(&on_disk[..], *bytes, "{name}");
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .map_err(io(dir.path()))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
        Ok(())
    }
}
