//! Store path computation (Nix's `makeStorePath` and the path kinds built on it) and
//! the rules for store path names.

use std::collections::BTreeSet;
use std::path::Path;

use super::hash::{compress, Hash, HashAlgo};
use super::nar::{self, DumpError, NodeKind};
use super::{base32, StoreError, STORE_DIR};

/// Longest name a store path may have.
pub const MAX_NAME_LEN: usize = 211;

/// Checks `name` against Nix 2.8's rules; `hash_part` only shapes the error text, which
/// names the would-be base name like Nix does.
pub fn check_name(hash_part: &str, name: &str) -> Result<(), StoreError> {
    // The base name is only made for an error: every store path computed is checked.
    let base = || format!("{hash_part}-{name}");
    if name.is_empty() {
        return Err(StoreError::BadName(format!(
            "store path '{}' has an empty name",
            base()
        )));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(StoreError::BadName(format!(
            "store path '{}' has a name longer than {MAX_NAME_LEN} characters",
            base()
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(c)))
    {
        return Err(StoreError::BadName(format!(
            "store path '{}' contains illegal character '{c}'",
            base()
        )));
    }
    Ok(())
}

/// `makeStorePath(type, hash, name)`: `/nix/store/<base32 of the 20-byte folded
/// sha256 of "type:algo:hex:/nix/store:name">-name`.
pub fn make_store_path(path_type: &str, hash: &Hash, name: &str) -> Result<String, StoreError> {
    // Joined rather than formatted: a derivation makes a store path per output and
    // one for its `.drv`, and `format!` here cost 6% of the instructions of 3,000
    // derivations.
    let fingerprint = [
        path_type,
        ":",
        hash.algo().name(),
        ":",
        &hash.to_base16(),
        ":",
        STORE_DIR,
        ":",
        name,
    ]
    .concat();
    let digest = Hash::digest(HashAlgo::Sha256, fingerprint.as_bytes());
    let hash_part = base32::encode(&compress(digest.bytes(), 20));
    check_name(&hash_part, name)?;
    Ok([STORE_DIR, "/", &hash_part, "-", name].concat())
}

/// Nix's `makeType`: the type followed by `:reference` for each reference (sorted), and
/// `:self` for a self-reference.
pub fn make_type(kind: &str, references: &BTreeSet<String>, self_reference: bool) -> String {
    let mut t = kind.to_string();
    for r in references {
        t.push(':');
        t.push_str(r);
    }
    if self_reference {
        t.push_str(":self");
    }
    t
}

/// The path of a text file added with references (`builtins.toFile`, `.drv` files):
/// type `text:<refs>`, sha256 of the contents.
pub fn text_path(
    name: &str,
    contents: &[u8],
    references: &BTreeSet<String>,
) -> Result<String, StoreError> {
    let hash = Hash::digest(HashAlgo::Sha256, contents);
    make_store_path(&make_type("text", references, false), &hash, name)
}

/// How a fixed-output path was ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingestion {
    /// The hash is of the file's bytes.
    Flat,
    /// The hash is of the NAR serialisation.
    Recursive,
}

/// `makeFixedOutputPath`: a recursive sha256 is a `source` path; anything else is an
/// `output:out` path whose inner hash is `sha256("fixed:out:[r:]algo:hex:")`.
pub fn fixed_output_path(method: Ingestion, hash: &Hash, name: &str) -> Result<String, StoreError> {
    if method == Ingestion::Recursive && hash.algo() == HashAlgo::Sha256 {
        return make_store_path("source", hash, name);
    }
    let prefix = if method == Ingestion::Recursive {
        "r:"
    } else {
        ""
    };
    let inner = format!("fixed:out:{prefix}{}:{}:", hash.algo(), hash.to_base16());
    make_store_path(
        "output:out",
        &Hash::digest(HashAlgo::Sha256, inner.as_bytes()),
        name,
    )
}

/// The path of an output of an input-addressed derivation, given the derivation's
/// hash modulo (with its outputs masked) and the derivation's name.
pub fn output_path(hash_modulo: &Hash, output: &str, drv_name: &str) -> Result<String, StoreError> {
    let name = if output == "out" {
        drv_name.to_string()
    } else {
        format!("{drv_name}-{output}")
    };
    make_store_path(&format!("output:{output}"), hash_modulo, &name)
}

/// Where `"${path}"` or `builtins.path { path; }` puts a file system path: the NAR
/// sha256 as a `source` path named after the path's last component (or `name`).
pub fn source_path(path: &Path, name: Option<&str>) -> Result<String, SourcePathError> {
    source_path_filtered(path, name, &mut |_, _| Ok(true))
}

/// [`source_path`] with a `builtins.path` filter.
pub fn source_path_filtered<E>(
    path: &Path,
    name: Option<&str>,
    filter: &mut dyn FnMut(&Path, NodeKind) -> Result<bool, E>,
) -> Result<String, SourcePathError<E>> {
    let name = match name {
        Some(n) => n.to_string(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let mut hasher = super::hash::Hasher::new(HashAlgo::Sha256);
    nar::dump_filtered(path, &mut hasher, filter).map_err(SourcePathError::Dump)?;
    Ok(make_store_path("source", &hasher.finish(), &name)?)
}

/// Why a source path could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum SourcePathError<E = std::convert::Infallible> {
    /// Reading the path failed (or the filter did).
    #[error(transparent)]
    Dump(DumpError<E>),
    /// The name is not a valid store path name.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `builtins.placeholder output`: `/` followed by the base-32 sha256 of
/// `nix-output:<output>`.
pub fn placeholder(output: &str) -> String {
    let h = Hash::digest(HashAlgo::Sha256, format!("nix-output:{output}").as_bytes());
    format!("/{}", h.to_base32())
}

/// Splits `/nix/store/<hash>-<name>[/…]` into the store path itself; `None` when `path`
/// is not inside the store.
pub fn to_store_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(STORE_DIR)?.strip_prefix('/')?;
    let end = rest.find('/').unwrap_or(rest.len());
    let base = &rest[..end];
    if base.len() < 34 || base.as_bytes().get(32) != Some(&b'-') {
        return None;
    }
    Some(&path[..STORE_DIR.len() + 1 + end])
}

/// The name part of a store path (`hello` for `/nix/store/<hash>-hello`).
pub fn store_path_name(store_path: &str) -> Option<&str> {
    let base = to_store_path(store_path)?
        .strip_prefix(STORE_DIR)?
        .get(1..)?;
    base.get(33..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn nix_eval(expr: &str, dir: &Path) -> String {
        let out = nixspot_testkit::nix("nix-instantiate")
            .args(["--eval", "--strict", "--json", "-E", expr])
            .current_dir(dir)
            .output()
            .expect("nix-instantiate (Debian package nix-bin) is required by this test");
        assert!(
            out.status.success(),
            "nix-instantiate failed on {expr}: {out:?}"
        );
        let s = String::from_utf8(out.stdout).unwrap();
        s.trim().trim_matches('"').to_string()
    }

    #[test]
    fn to_file_paths_match_nix() {
        // builtins.toFile "foo" "bar" and friends, as Nix 2.8 computes them.
        let none = BTreeSet::new();
        assert_eq!(
            text_path("foo", b"bar", &none).unwrap(),
            "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"
        );
        let dir = tempfile::tempdir().unwrap();
        let dep = text_path("dep", b"dep content", &none).unwrap();
        assert_eq!(
            dep,
            nix_eval(r#"builtins.toFile "dep" "dep content""#, dir.path())
        );
        let refs: BTreeSet<String> = [dep.clone()].into_iter().collect();
        let contents = format!("uses {dep}");
        assert_eq!(
            text_path("ref", contents.as_bytes(), &refs).unwrap(),
            nix_eval(
                r#"builtins.toFile "ref" "uses ${builtins.toFile "dep" "dep content"}""#,
                dir.path()
            )
        );
    }

    #[test]
    fn source_paths_match_nix() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("tree/sub")).unwrap();
        fs::write(root.join("tree/sub/f"), "f\n").unwrap();
        fs::write(root.join("tree/g"), "").unwrap();
        std::os::unix::fs::symlink("g", root.join("tree/l")).unwrap();
        fs::write(root.join("file.txt"), "hello\n").unwrap();
        for (rel, expr) in [
            ("file.txt", r#""${./file.txt}""#),
            ("tree", r#""${./tree}""#),
            ("tree/sub", r#""${./tree/sub}""#),
        ] {
            assert_eq!(
                source_path(&root.join(rel), None).unwrap(),
                nix_eval(expr, root),
                "{rel}"
            );
        }
        assert_eq!(
            source_path(&root.join("tree"), Some("renamed")).unwrap(),
            nix_eval(
                r#"builtins.path { path = ./tree; name = "renamed"; }"#,
                root
            )
        );
        let filtered = source_path_filtered(&root.join("tree"), None, &mut |p: &Path, k| {
            Ok::<_, String>(k != NodeKind::Symlink && !p.ends_with("sub"))
        })
        .unwrap();
        assert_eq!(
            filtered,
            nix_eval(
                r#"builtins.path { path = ./tree; filter = p: t: t != "symlink" && baseNameOf p != "sub"; }"#,
                root
            )
        );
    }

    #[test]
    fn fixed_output_paths_match_nix() {
        let dir = tempfile::tempdir().unwrap();
        let h = Hash::digest(HashAlgo::Sha256, b"hello\n");
        // derivation { …; outputHash = "sha256-…"; } (flat) and recursive.
        assert_eq!(
            fixed_output_path(Ingestion::Flat, &h, "x").unwrap(),
            "/nix/store/974pyy65p8annw3kp4ibcknbhz1pndwm-x"
        );
        let expr = format!(
            r#"(derivation {{ name = "x"; system = "x"; builder = "/b"; outputHashMode = "recursive"; outputHash = "{}"; }}).outPath"#,
            h.to_sri()
        );
        assert_eq!(
            fixed_output_path(Ingestion::Recursive, &h, "x").unwrap(),
            nix_eval(&expr, dir.path())
        );
        let sha1 = Hash::digest(HashAlgo::Sha1, b"abc");
        for (mode, ing) in [
            ("flat", Ingestion::Flat),
            ("recursive", Ingestion::Recursive),
        ] {
            let expr = format!(
                r#"(derivation {{ name = "s1"; system = "x"; builder = "/b"; outputHashMode = "{mode}"; outputHashAlgo = "sha1"; outputHash = "{}"; }}).outPath"#,
                sha1.to_base16()
            );
            assert_eq!(
                fixed_output_path(ing, &sha1, "s1").unwrap(),
                nix_eval(&expr, dir.path()),
                "{mode}"
            );
        }
    }

    #[test]
    fn placeholders_match_nix() {
        let dir = tempfile::tempdir().unwrap();
        for out in ["out", "dev"] {
            assert_eq!(
                placeholder(out),
                nix_eval(&format!(r#"builtins.placeholder "{out}""#), dir.path())
            );
        }
    }

    #[test]
    fn names_are_checked_like_nix() {
        let none = BTreeSet::new();
        let e = |n: &str| text_path(n, b"x", &none).unwrap_err().to_string();
        assert_eq!(
            e("bad/name"),
            "store path 'l4nk17nsbsqv502jqxqbm853icvvmypm-bad/name' contains illegal character '/'"
        );
        assert_eq!(
            e(""),
            "store path '9r1mh2rc3s3i33vpdw86kqqyvy9i1y4w-' has an empty name"
        );
        assert!(e(&"a".repeat(212)).ends_with("has a name longer than 211 characters"));
        assert!(text_path(&"a".repeat(211), b"x", &none).is_ok());
        assert_eq!(
            text_path("a?=+-._", b"x", &none).unwrap(),
            "/nix/store/q8cq85skggibrzlfz4viqpw7x2cwsi18-a?=+-._"
        );
        assert_eq!(
            text_path(".hidden", b"x", &none).unwrap(),
            "/nix/store/10d3jkw88mfhh2nhls90r05szdgxckyp-.hidden"
        );
    }

    #[test]
    fn store_path_parts() {
        let p = "/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo";
        assert_eq!(to_store_path(&format!("{p}/bin/x")), Some(p));
        assert_eq!(to_store_path(p), Some(p));
        assert_eq!(store_path_name(p), Some("foo"));
        assert_eq!(to_store_path("/nix/store/short-x"), None);
        assert_eq!(to_store_path("/usr/bin"), None);
    }
}
