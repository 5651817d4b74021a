//! Evaluates nixspot hotspot modules (Nix files under `hotspots/`) into image-creator
//! recipes, and the module options into a reference.
//!
//! The Nix side lives in `<repo>/modules` and is embedded in this crate at build time:
//! [`ModulesDir::locate`] extracts it to a content-addressed cache directory, unless an
//! explicit directory is given (`--modules DIR` / `NIXSPOT_MODULES`). Evaluation runs
//! with nixspot's own evaluator ([`Engine::Builtin`]) or with a real `nix-instantiate`
//! ([`Engine::Nix`]); both must give the same JSON.

mod embedded;
pub mod flake;
pub mod load;
mod render;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use embedded::{content_hash, MODULE_FILES};
pub use render::{options_markdown, recipe_json, recipe_yaml, RECIPE_KEY_ORDER};

/// Errors of this crate; each names the file, the option or the command involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{path}: {error}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error (part of the message, not a separate cause).
        error: std::io::Error,
    },
    /// The modules directory does not look like nixspot's (no `default.nix`).
    #[error("{0}: not a nixspot modules directory (no default.nix)")]
    NotModulesDir(PathBuf),
    /// Evaluating the image (or the options) failed; the message is the evaluator's.
    #[error("evaluating {what} failed:\n{message}")]
    Eval {
        /// What was evaluated (the image path, or "the options").
        what: String,
        /// The evaluator's message (for modules: the option, files and values).
        message: String,
    },
    /// `nix-instantiate` could not be run.
    #[error("cannot run nix-instantiate (install Nix, or use the builtin evaluator): {0}")]
    NixMissing(std::io::Error),
    /// The evaluator printed something that is not JSON.
    #[error("the evaluation of {what} did not produce JSON: {error}")]
    Json {
        /// What was evaluated.
        what: String,
        /// The parse error.
        error: serde_json::Error,
    },
    /// The value does not have the expected shape.
    #[error("{0}")]
    Shape(String),
    /// YAML rendering failed.
    #[error("cannot render YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// The recipe (a file, or what the evaluation gave) is not a valid recipe.
    #[error(transparent)]
    Recipe(#[from] nixspot_recipe::RecipeError),
}

/// Which Nix evaluator runs the modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// nixspot's own evaluator (crate `nixspot-eval`): no Nix installation needed.
    Builtin,
    /// A real `nix-instantiate --eval --strict --json` from `PATH`.
    Nix,
}

/// The directory holding nixspot's Nix modules (`default.nix`, `lib/`, `hotspot/`, …).
#[derive(Debug, Clone)]
pub struct ModulesDir {
    path: PathBuf,
}

impl ModulesDir {
    /// Uses `dir` as the modules directory (it must contain `default.nix`).
    pub fn at(dir: &Path) -> Result<Self, Error> {
        let path = dir.canonicalize().map_err(|error| Error::Io {
            path: dir.to_path_buf(),
            error,
        })?;
        if !path.join("default.nix").is_file() {
            return Err(Error::NotModulesDir(path));
        }
        Ok(ModulesDir { path })
    }

    /// The explicit directory if given, else `$NIXSPOT_MODULES` if set, else the
    /// modules embedded in the binary, extracted to the cache directory.
    pub fn locate(explicit: Option<&Path>) -> Result<Self, Error> {
        if let Some(dir) = explicit {
            return Self::at(dir);
        }
        if let Some(dir) = std::env::var_os("NIXSPOT_MODULES").filter(|d| !d.is_empty()) {
            return Self::at(Path::new(&dir));
        }
        let path = embedded::extract(&embedded::cache_root())?;
        Ok(ModulesDir { path })
    }

    /// The absolute path of the directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The useful part of an evaluator's error: the message and the first position, without
/// the `error: ` prefix (the CLI adds its own) and without the `… while evaluating` trace.
fn error_summary(raw: &str) -> String {
    let text = raw.trim();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let end = text
        .find("\n       … ")
        .or_else(|| text.find("\n(use '--show-trace'"))
        .unwrap_or(text.len());
    text[..end].trim_end().to_string()
}

/// A string as a Nix path expression, safe for any characters: `(/. + "…")`.
pub(crate) fn nix_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut escaped = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '$' if chars.peek() == Some(&'{') => escaped.push_str("\\$"),
            _ => escaped.push(c),
        }
    }
    format!("(/. + \"{escaped}\")")
}

/// The Nix expression whose value is the recipe of `image` (an absolute path).
pub fn recipe_expr(modules: &ModulesDir, image: &Path) -> String {
    format!(
        "((import {}).evalHotspot {{ modules = [ {} ]; }}).config.build.recipe",
        nix_path(modules.path()),
        nix_path(image)
    )
}

/// The Nix expression whose value is the recipe of `image` (an absolute path), with
/// `lock` as the default of `hotspot.lockFile` (the module's own setting wins): how the
/// CLI gives a module the lock file beside it.
pub fn recipe_expr_with_lock(modules: &ModulesDir, image: &Path, lock: &Path) -> String {
    let m = nix_path(modules.path());
    format!(
        "((import {m}).evalHotspot {{ modules = [ {} {{ hotspot.lockFile = (import {m}).lib.mkDefault {}; }} ]; }}).config.build.recipe",
        nix_path(image),
        nix_path(lock)
    )
}

/// The Nix expression listing what `nixspot lock` needs before any catalog package is
/// resolved: `{ lockFile; packages = [ { zim; package; version; } … ]; }` (the ZIMs
/// that name a catalog package, sorted by name). It reads no option a package fills,
/// so it evaluates with an empty or stale lock.
pub fn packages_expr(modules: &ModulesDir, image: &Path) -> String {
    format!(
        "let h = ((import {}).evalHotspot {{ modules = [ {} ]; }}).config.hotspot; in {{ \
         lockFile = if h.lockFile == null then null else toString h.lockFile; \
         packages = builtins.filter (z: z.package != null) (map (n: {{ zim = n; \
         package = h.zims.${{n}}.package; version = h.zims.${{n}}.version; }}) (builtins.attrNames h.zims)); }}",
        nix_path(modules.path()),
        nix_path(image)
    )
}

/// The Nix expression whose value is the option reference (a list of records).
pub fn options_expr(modules: &ModulesDir) -> String {
    format!("(import {}).optionsDoc", nix_path(modules.path()))
}

/// Evaluates `expr` strictly to JSON text with `engine`; `what` names it in errors.
pub fn eval_json(engine: Engine, expr: &str, base_dir: &Path, what: &str) -> Result<String, Error> {
    match engine {
        Engine::Builtin => {
            // mimalloc for the evaluation (see nixspot_alloc), when it is the allocator.
            let _evaluating = nixspot_alloc::Evaluating::start();
            let mut evaluator = nixspot_eval::Evaluator::new(nixspot_eval::EvalOptions::default());
            evaluator
                .eval_to_json(&nixspot_eval::Source::Expr {
                    text: expr.to_string(),
                    base_dir: base_dir.to_path_buf(),
                })
                .map_err(|error| Error::Eval {
                    what: what.to_string(),
                    message: error_summary(&error.to_string()),
                })
        }
        Engine::Nix => {
            let output = Command::new("nix-instantiate")
                .args(["--eval", "--strict", "--json", "-E", expr])
                .current_dir(base_dir)
                .output()
                .map_err(Error::NixMissing)?;
            if !output.status.success() {
                return Err(Error::Eval {
                    what: what.to_string(),
                    message: error_summary(&String::from_utf8_lossy(&output.stderr)),
                });
            }
            Ok(String::from_utf8_lossy(&output.stdout)
                .trim_end()
                .to_string())
        }
    }
}

pub(crate) fn parse(what: &str, text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|error| Error::Json {
        what: what.to_string(),
        error,
    })
}

/// Evaluates the hotspot module `image` and returns its image-creator recipe. Fails
/// with every failed assertion's message when the hotspot is invalid.
pub fn manifest(
    engine: Engine,
    modules: &ModulesDir,
    image: &Path,
) -> Result<serde_json::Value, Error> {
    let absolute = image.canonicalize().map_err(|error| Error::Io {
        path: image.to_path_buf(),
        error,
    })?;
    let what = absolute.display().to_string();
    let base = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
    let text = eval_json(engine, &recipe_expr(modules, &absolute), &base, &what)?;
    parse(&what, &text)
}

/// Like [`manifest`], with `lock` (when the file exists) as the default of
/// `hotspot.lockFile`, so catalog packages resolve from the lock beside the module.
pub fn manifest_with_lock(
    engine: Engine,
    modules: &ModulesDir,
    image: &Path,
    lock: &Path,
) -> Result<serde_json::Value, Error> {
    if !lock.is_file() {
        return manifest(engine, modules, image);
    }
    let absolute = absolute(image)?;
    let lock = absolute_path(lock)?;
    let what = absolute.display().to_string();
    let base = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
    let expr = recipe_expr_with_lock(modules, &absolute, &lock);
    let text = eval_json(engine, &expr, &base, &what)?;
    parse(&what, &text)
}

/// A ZIM of a hotspot module that names a catalog package.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PackageRequest {
    /// `hotspot.zims.<zim>`.
    pub zim: String,
    /// `hotspot.zims.<zim>.package`, as written.
    pub package: String,
    /// `hotspot.zims.<zim>.version`.
    pub version: Option<String>,
}

/// What `nixspot lock` reads from a module before resolving its packages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PackageRequests {
    /// The module's own `hotspot.lockFile`, if it sets one.
    #[serde(rename = "lockFile")]
    pub lock_file: Option<PathBuf>,
    /// The ZIMs naming catalog packages, by ZIM name.
    pub packages: Vec<PackageRequest>,
}

/// Evaluates the catalog packages a hotspot module asks for (see [`packages_expr`]).
pub fn package_requests(
    engine: Engine,
    modules: &ModulesDir,
    image: &Path,
) -> Result<PackageRequests, Error> {
    let absolute = absolute(image)?;
    let what = absolute.display().to_string();
    let base = absolute.parent().unwrap_or(Path::new("/")).to_path_buf();
    let text = eval_json(engine, &packages_expr(modules, &absolute), &base, &what)?;
    serde_json::from_str(&text).map_err(|error| Error::Json { what, error })
}

fn absolute(image: &Path) -> Result<PathBuf, Error> {
    image.canonicalize().map_err(|error| Error::Io {
        path: image.to_path_buf(),
        error,
    })
}

/// `path` made absolute without resolving links (the file may be a link the user
/// chose; Nix reads it either way).
fn absolute_path(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|error| Error::Io {
        path: path.to_path_buf(),
        error,
    })
}

/// Evaluates the option reference: a JSON list of `{name, type, description, default?,
/// example?, declarations, readOnly}` records, sorted by name.
pub fn options(engine: Engine, modules: &ModulesDir) -> Result<serde_json::Value, Error> {
    let what = "the options";
    let text = eval_json(engine, &options_expr(modules), modules.path(), what)?;
    parse(what, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_summary_drops_prefix_and_trace() {
        let raw = "error: The option `a' is used but not defined.\n\n       at /m/lib.nix:1:2:\n          1| x\n\n       … while evaluating the attribute 'config'\n       at /m/x.nix:3:4:\n";
        assert_eq!(
            error_summary(raw),
            "The option `a' is used but not defined.\n\n       at /m/lib.nix:1:2:\n          1| x"
        );
        assert_eq!(
            error_summary(
                "error: boom\n(use '--show-trace' to show detailed location information)\n"
            ),
            "boom"
        );
    }

    #[test]
    fn nix_path_escapes_quotes_and_interpolation() {
        assert_eq!(
            nix_path(Path::new("/a \"b\"/${x}/c\\d")),
            "(/. + \"/a \\\"b\\\"/\\${x}/c\\\\d\")"
        );
    }
}
