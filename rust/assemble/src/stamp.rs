//! No-op rebuilds: a stamp beside the output records what it was built from, so
//! `assemble -X` with nothing changed returns the existing image instead of writing it
//! again.
//!
//! The rule: the image is reused only when
//! 1. the build key matches — a sha256 over this nixspot program (its executable's
//!    device, inode, size and modification time), the recipe as pinned and as written,
//!    the sha256 of every input (base image, files, OCI archives and their targets), the
//!    timestamp, `--max-size` and `--compress`; and
//! 2. every file the build wrote (the image, the compressed copy) still has the device,
//!    inode, size, modification and change times recorded right after it was renamed
//!    into place. Any write to the file, or any other file moved there, changes its change
//!    time (which users cannot set), so a modified image is never returned.
//!
//! Anything else (no stamp, an unreadable one, a mismatch) means a full build; the stamp
//! is removed before a build starts and written only after an `--overwrite` build
//! succeeded (a plain build leaves nothing beside the image, e.g. in a Nix output).

use crate::assemble::Summary;
use crate::error::AssembleError;
use crate::output::Compression;
use nixspot_fetch::Fetched;
use nixspot_recipe::Recipe;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What identifies a build's inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildKey(String);

/// Everything the output depends on, besides the code: see the module documentation.
pub struct KeyInputs<'a> {
    /// The recipe as pinned (lock applied).
    pub recipe: &'a Recipe,
    /// The recipe as written.
    pub recipe_text: &'a str,
    /// The fetched inputs.
    pub fetched: &'a Fetched,
    /// SOURCE_DATE_EPOCH.
    pub timestamp: i64,
    /// `--max-size`.
    pub max_size: Option<u64>,
    /// `--compress`.
    pub compress: Option<Compression>,
}

impl BuildKey {
    /// The key of a build, or `None` when this program cannot identify itself (then no
    /// build is ever reused).
    pub fn new(inputs: &KeyInputs<'_>) -> Option<BuildKey> {
        let exe = std::env::current_exe().ok()?;
        let exe = identity(&exe)?;
        let fetched = inputs.fetched;
        let description = json!({
            "stamp": 1,
            "program": {"version": env!("CARGO_PKG_VERSION"), "executable": exe},
            "recipe": inputs.recipe.to_json(),
            "recipe_text": inputs.recipe_text,
            "base": [fetched.base.sha256, fetched.base.size],
            "files": fetched.files.iter()
                .map(|f| f.as_ref().map(|c| json!([c.sha256, c.size])))
                .collect::<Vec<_>>(),
            "oci": fetched.oci.iter()
                .map(|a| json!([a.sha256, a.filesize, a.target]))
                .collect::<Vec<_>>(),
            "timestamp": inputs.timestamp,
            "max_size": inputs.max_size,
            "compress": inputs.compress.map(Compression::extension),
        });
        Some(BuildKey(hex(&Sha256::digest(description.to_string()))))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's identity: changes whenever the file is written, replaced or touched.
fn identity(path: &Path) -> Option<Value> {
    let m = std::fs::metadata(path).ok()?;
    Some(json!([
        m.dev(),
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ]))
}

/// The stamp of `output`: a hidden file beside it.
pub fn stamp_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.nixspot-stamp"))
}

/// Removes the stamp of `output` (before a build replaces it).
pub fn forget(output: &Path) -> Result<(), AssembleError> {
    let stamp = stamp_path(output);
    match std::fs::remove_file(&stamp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AssembleError::io(&stamp)(e)),
        _ => Ok(()),
    }
}

/// Records that `output` (and `compressed`) were built with `key`.
pub fn record(
    output: &Path,
    compressed: Option<&Path>,
    key: &BuildKey,
    summary: &Summary,
) -> Result<(), AssembleError> {
    let outputs: Option<Vec<Value>> = std::iter::once(output)
        .chain(compressed)
        .map(|p| Some(json!({"name": p.file_name()?.to_str()?, "id": identity(p)?})))
        .collect();
    let Some(outputs) = outputs else {
        return Ok(());
    };
    let stamp = json!({
        "key": key.0,
        "outputs": outputs,
        "summary": {
            "image_size": summary.image_size,
            "min_size": summary.min_size,
            "recipe_bytes": summary.recipe_bytes,
            "data_bytes": summary.data_bytes,
            "data_free": summary.data_free,
            "sha256": summary.sha256,
        },
    });
    let path = stamp_path(output);
    // Written to a fresh file created exclusively, never through a planted name.
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(AssembleError::io(dir))?;
    temp.write_all(format!("{stamp:#}\n").as_bytes())
        .map_err(AssembleError::io(temp.path()))?;
    temp.persist(&path)
        .map(drop)
        .map_err(|e| AssembleError::io(&path)(e.error))
}

/// The summary of the existing build of `output`, if the stamp says it was made with
/// `key` and nothing touched its files since; and the compressed copy, if any.
pub fn reuse(output: &Path, key: &BuildKey) -> Option<(Summary, Option<PathBuf>)> {
    let text = std::fs::read_to_string(stamp_path(output)).ok()?;
    let stamp: Value = serde_json::from_str(&text).ok()?;
    if stamp["key"].as_str()? != key.0 {
        return None;
    }
    let outputs = stamp["outputs"].as_array()?;
    let mut files = Vec::new();
    for o in outputs {
        let path = output.with_file_name(o["name"].as_str()?);
        if identity(&path)? != o["id"] {
            return None;
        }
        files.push(path);
    }
    if files.first()? != output {
        return None;
    }
    let s = &stamp["summary"];
    let table = nixspot_fs::partition::read_table(output).ok()?;
    let summary = Summary {
        image_size: s["image_size"].as_u64()?,
        min_size: s["min_size"].as_u64()?,
        partitions: table.partitions,
        recipe_bytes: s["recipe_bytes"].as_u64()?,
        data_bytes: s["data_bytes"].as_u64()?,
        data_free: s["data_free"].as_u64()?,
        sha256: s["sha256"].as_str()?.to_string(),
    };
    Some((summary, files.get(1).cloned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_is_written_through_a_new_file_never_a_planted_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let output = dir.path().join("out.img");
        std::fs::write(&output, b"image").expect("output");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").expect("victim");
        // The name the stamp's temporary file used to have, planted as a link.
        let planted = stamp_path(&output).with_extension(format!("tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).expect("symlink");
        let summary = Summary {
            image_size: 5,
            min_size: 5,
            partitions: Vec::new(),
            recipe_bytes: 0,
            data_bytes: 0,
            data_free: 0,
            sha256: String::new(),
        };
        record(&output, None, &BuildKey("k".into()), &summary).expect("record");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"precious");
        let stamp = std::fs::read_to_string(stamp_path(&output)).expect("stamp");
        assert!(stamp.contains("\"key\": \"k\""), "{stamp}");
    }
}
