//! The whole job for one recipe: resolve nixspot's base, fetch, plan, write, compress.
//! `nixspot assemble` and `nixspot build` both run this.

use crate::assemble::{plan, AssembleOptions, Summary};
use crate::error::AssembleError;
use crate::output::{compress, Compression};
use crate::stamp::{self, BuildKey, KeyInputs};
use nixspot_base::on_demand;
use nixspot_fetch::Fetcher;
use nixspot_recipe::{Checksum, ChecksumKind, Recipe};
use std::path::{Path, PathBuf};

/// Whether a recipe may name files of the machine that builds it (paths and `file://`
/// URLs in `base.source`, `files[].url` and `checksum.kind: url` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalFiles {
    /// The recipe comes from the person running the command, who can read those files
    /// anyway: local paths are read, as image-creator reads them.
    Allowed,
    /// The recipe comes from someone else (e.g. a web form): anything but an `http://`
    /// or `https://` URL is refused before anything is read.
    Refused,
}

/// One build request.
pub struct Job<'a> {
    /// The recipe as written (what `write_config` stores and what seeds identifiers).
    pub recipe: &'a Recipe,
    /// Its text (YAML or JSON) as read.
    pub recipe_text: &'a str,
    /// Fetches content into the cache.
    pub fetcher: &'a Fetcher,
    /// Output and safety options.
    pub options: AssembleOptions,
    /// Stop after computing sizes (`-C`).
    pub check_only: bool,
    /// Also write a compressed copy.
    pub compress: Option<Compression>,
    /// Whether the recipe may name local files.
    pub local_files: LocalFiles,
}

impl<'a> Job<'a> {
    /// A full build of a recipe from an untrusted source (what a service building
    /// recipes for others must use): local files are refused.
    pub fn untrusted(
        recipe: &'a Recipe,
        recipe_text: &'a str,
        fetcher: &'a Fetcher,
        options: AssembleOptions,
        compress: Option<Compression>,
    ) -> Self {
        Job {
            recipe,
            recipe_text,
            fetcher,
            options,
            check_only: false,
            compress,
            local_files: LocalFiles::Refused,
        }
    }
}

/// Whether the fetcher would read `url` from the network (anything else is a local
/// path, relative to the recipe, or a `file://` URL).
fn is_remote(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Refuses every local path a recipe names, field by field; `nixspot:base` is built by
/// nixspot itself and stays allowed.
pub fn refuse_local_files(recipe: &Recipe) -> Result<(), AssembleError> {
    let mut named: Vec<(String, &str)> = Vec::new();
    let checksum_url = |c: &Option<Checksum>| {
        c.as_ref()
            .filter(|c| c.kind == ChecksumKind::Url)
            .map(|c| c.value.clone())
    };
    // An offspot version (`1.4.2`) resolves to offspot's HTTPS URLs.
    let base = (recipe.base.source != on_demand::SOURCE).then(|| recipe.base.resolved());
    if let Some((url, checksum)) = &base {
        named.push(("base.source".into(), url));
        if let Some(c) = checksum.as_ref().filter(|c| c.kind == ChecksumKind::Url) {
            named.push(("base.checksum.value".into(), &c.value));
        }
    }
    let file_checksums: Vec<Option<String>> = recipe
        .files
        .iter()
        .map(|f| checksum_url(&f.checksum))
        .collect();
    for (index, file) in recipe.files.iter().enumerate() {
        if let Some(url) = &file.url {
            named.push((format!("files[{index}].url"), url));
        }
        if let Some(url) = &file_checksums[index] {
            named.push((format!("files[{index}].checksum.value"), url));
        }
    }
    match named.into_iter().find(|(_, url)| !is_remote(url)) {
        Some((field, url)) => Err(AssembleError::LocalFile {
            field,
            url: url.to_string(),
        }),
        None => Ok(()),
    }
}

/// What a job produced.
#[derive(Debug)]
pub struct Outcome {
    /// Sizes, partitions, sha256.
    pub summary: Summary,
    /// The compressed image, if asked for.
    pub compressed: Option<PathBuf>,
    /// The output was already built from the same inputs and was kept as it was.
    pub reused: bool,
}

/// The recipe the fetcher sees: `nixspot:base` replaced by nixspot's own base image,
/// built on demand into the cache (from the `.deb`s the binary's embedded lock pins)
/// and pinned by its sha256; it is built locally, never downloaded or locked.
pub fn resolve_base(recipe: &Recipe, fetcher: &Fetcher) -> Result<Recipe, AssembleError> {
    let mut resolved = recipe.clone();
    if recipe.base.source == on_demand::SOURCE {
        let how = on_demand::OnDemand {
            device_binaries: None,
            offline: fetcher.options().offline,
        };
        let built = on_demand::ensure(fetcher.cache().root(), &how)?;
        // Absolute: the fetcher resolves relative paths against the recipe's directory.
        let path = std::path::absolute(&built.path).map_err(AssembleError::io(&built.path))?;
        resolved.base.source = path.to_string_lossy().into_owned();
        resolved.base.checksum = Some(Checksum::sha256(&built.sha256));
    }
    Ok(resolved)
}

/// Runs the job. With `--overwrite`, an output already built from the same inputs by
/// this program is returned as it is (see [`crate::stamp`] for the rule).
pub fn run(job: Job<'_>) -> Result<Outcome, AssembleError> {
    if job.local_files == LocalFiles::Refused {
        refuse_local_files(job.recipe)?;
    }
    let resolved = resolve_base(job.recipe, job.fetcher)?;
    let fetched = job.fetcher.fetch_recipe_blocking(&resolved)?;
    let key = BuildKey::new(&KeyInputs {
        recipe: job.recipe,
        recipe_text: job.recipe_text,
        fetched: &fetched,
        timestamp: job.options.timestamp,
        max_size: job.options.max_size,
        compress: job.compress,
    });
    let output = job.options.output.clone();
    if !job.check_only && job.options.overwrite {
        if let Some((summary, compressed)) = key.as_ref().and_then(|k| stamp::reuse(&output, k)) {
            return Ok(Outcome {
                summary,
                compressed,
                reused: true,
            });
        }
    }
    let scratch_root =
        job.options
            .build_dir
            .clone()
            .unwrap_or_else(|| match job.options.output.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            });
    std::fs::create_dir_all(&scratch_root).map_err(AssembleError::io(&scratch_root))?;
    let scratch = scratch_dir(&scratch_root)?;
    let plan = plan(
        job.recipe,
        job.recipe_text,
        &fetched,
        &job.options,
        scratch.path(),
    )?;
    if job.check_only {
        return Ok(Outcome {
            summary: plan.summary().clone(),
            compressed: None,
            reused: false,
        });
    }
    // The output is about to be replaced: a stamp left from before must not outlive it.
    stamp::forget(&output)?;
    let summary = plan.write(&job.options)?;
    let compressed = match job.compress {
        Some(how) => Some(compress(&output, how, job.options.overwrite)?),
        None => None,
    };
    // Only `--overwrite` builds are stamped (only they can be reused): a plain build
    // leaves nothing but the image, e.g. in a Nix output.
    if let Some(key) = key.as_ref().filter(|_| job.options.overwrite) {
        // The image is complete and in place: a stamp that cannot be written only costs
        // the next no-op rebuild its shortcut, so it does not fail the build.
        let _ = stamp::record(&output, compressed.as_deref(), key, &summary);
    }
    Ok(Outcome {
        summary,
        compressed,
        reused: false,
    })
}

/// The scratch directory of one build (archives expanded for it), removed when
/// dropped. The build directory may be shared (`/tmp`): the scratch directory is made
/// with a fresh random name, exclusively and private to its owner, so nothing planted
/// there beforehand (a symlink, a directory) is followed or reused.
fn scratch_dir(parent: &Path) -> Result<tempfile::TempDir, AssembleError> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .prefix(".nixspot-build-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
        .map_err(AssembleError::io(parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn recipe(base: &str, files: &str) -> Recipe {
        let text = format!(
            "base:\n  source: {base}\n  rootfs_size: 1000000\noutput:\n  size: auto\nfiles:\n{files}offspot: {{}}\n"
        );
        Recipe::from_yaml_str(&text, "test.yaml").unwrap()
    }

    const REMOTE: &str = "https://example.org/base.img";

    #[test]
    fn untrusted_recipes_may_name_only_http_urls() {
        let refused =
            |base: &str, files: &str, field: &str| match refuse_local_files(&recipe(base, files)) {
                Err(AssembleError::LocalFile { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{base} {files}: {other:?}"),
            };
        for url in ["/etc/shadow", "../x", "file:///etc/passwd", "x.zim"] {
            let file = format!("- to: /data/x\n  url: {url}\n");
            refused(REMOTE, &file, "files[0].url");
        }
        refused("/srv/base.img", "", "base.source");
        refused("file:///srv/base.img", "", "base.source");
        let checksum = "- to: /data/x\n  url: https://example.org/x\n  checksum: {algo: sha256, kind: url, value: /etc/shadow}\n";
        refused(REMOTE, checksum, "files[0].checksum.value");
        let fine = "- to: /data/x\n  url: http://example.org/x\n  checksum: {algo: md5, kind: url, value: https://example.org/x.md5}\n- to: /data/y\n  content: y\n";
        refuse_local_files(&recipe(REMOTE, fine)).unwrap();
        refuse_local_files(&recipe("nixspot:base", fine)).unwrap();
        refuse_local_files(&recipe("1.4.2", fine)).unwrap();
    }

    /// The refusal comes before anything is read: nothing reaches the cache.
    #[test]
    fn an_untrusted_job_reads_no_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"host secret").unwrap();
        let base = dir.path().join("base.img");
        std::fs::write(&base, vec![0u8; 4096]).unwrap();
        let cache_root = dir.path().join("cache");
        let cache = nixspot_fetch::Cache::open(&cache_root).unwrap();
        let fetcher = Fetcher::new(
            cache,
            nixspot_fetch::Options {
                offline: true,
                progress: nixspot_fetch::ProgressMode::Quiet,
                ..Default::default()
            },
        )
        .unwrap();
        let files = format!("- to: /data/x\n  url: {}\n", secret.display());
        let recipe = recipe(REMOTE, &files);
        let options = AssembleOptions {
            output: dir.path().join("out.img"),
            build_dir: None,
            keep: false,
            overwrite: false,
            max_size: None,
            timestamp: 0,
            durable: true,
        };
        let job = Job::untrusted(&recipe, "", &fetcher, options, None);
        match run(job) {
            Err(AssembleError::LocalFile { field, url }) => {
                assert_eq!(field, "files[0].url");
                assert_eq!(url, secret.display().to_string());
            }
            other => panic!("{other:?}"),
        }
        let cached = walk(&cache_root);
        assert!(
            cached
                .iter()
                .all(|p| std::fs::read(p).unwrap() != b"host secret"),
            "{cached:?}"
        );
        assert!(!dir.path().join("out.img").exists());
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[test]
    fn scratch_directories_are_new_private_and_never_a_planted_path() {
        let shared = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        // The name the scratch directory used to have, planted by someone else.
        let planted = shared
            .path()
            .join(format!(".nixspot-build-{}", std::process::id()));
        symlink(victim.path(), &planted).unwrap();
        let scratch = scratch_dir(shared.path()).unwrap();
        assert_ne!(scratch.path(), planted);
        let meta = std::fs::symlink_metadata(scratch.path()).unwrap();
        assert!(meta.is_dir(), "a real directory, not a link");
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        std::fs::write(scratch.path().join("x"), b"x").unwrap();
        assert_eq!(std::fs::read_dir(victim.path()).unwrap().count(), 0);
        let path = scratch.path().to_path_buf();
        drop(scratch);
        assert!(!path.exists(), "removed when dropped");
        assert!(victim.path().exists());
    }
}
