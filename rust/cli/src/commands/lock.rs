//! `nixspot lock RECIPE|HOTSPOT.nix|FLAKE#NAME`: pin every URL, OCI image and catalog
//! package into the lock file.

use super::fetch::Common;
use super::shared_args::PinFlags;
use nixspot_catalog::CatalogSource;
use std::process::ExitCode;

/// Resolve and pin everything a recipe downloads.
///
/// ZIMs named by catalog package (`hotspot.zims.<name>.package`) are looked up in the
/// Kiwix catalog and pinned from the checksum files beside their download (`.sha256`,
/// `.meta4`) without downloading them; the lock records what the catalog said and
/// which catalog answered. Every other URL is downloaded once into the cache and
/// recorded with its sha256 and size; each OCI image with its linux/arm64 manifest
/// digest and the sha256 of nixspot's archive. Existing pins are kept; the lock is
/// rewritten only if it changed.
///
/// Exit codes: 4 when the catalog can be neither reached nor read from its cached copy.
///
/// Examples:
///   nixspot lock recipe.yaml                # writes recipe.lock.json
///   nixspot lock hotspots/hotspot-wikipedia.nix --update
///   nixspot lock my-hotspot.nix --catalog http://127.0.0.1:8181
///   nixspot lock .#my-hotspot --lock my-hotspot.lock.json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    pub common: Common,
    /// Re-resolve everything the recipe itself does not pin (tags, unpinned URLs) and
    /// move catalog packages to their latest version (or the `version` asked for),
    /// instead of keeping the current lock's pins.
    #[arg(long)]
    pub update: bool,
    /// The catalog's root URL [default: `$NIXSPOT_CATALOG`, else https://library.kiwix.org].
    #[arg(long, value_name = "URL")]
    pub catalog: Option<String>,
}

/// Runs `nixspot lock`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = args.common.target();
    let Some(path) = args.common.lock_path() else {
        anyhow::bail!(
            "{}: a flake reference has no lock file beside it (its hotspots pin through \
             `hotspot.lockFile`): give the file to write with --lock FILE",
            args.common.recipe.display()
        );
    };
    let quiet = args.common.fetch.quiet;
    let mut fetcher = args.common.fetcher(&PinFlags {
        locked: false,
        offline: false,
    })?;
    let mut on_request = |url: &str| {
        if !quiet {
            eprintln!("catalog: GET {url}");
        }
    };
    // Said even when quiet: the pins may be older than the catalog.
    let mut warn = |w: String| eprintln!("warning: {w}");
    let mut options = nixspot_lock::Options {
        engine: args.common.eval.evaluator.into(),
        modules: args.common.eval.modules.as_deref(),
        update: args.update,
        catalog: CatalogSource {
            url: CatalogSource::url_from(args.catalog.as_deref()),
            cache_dir: args.common.fetch.cache_root(),
            offline: false,
        },
        on_request: &mut on_request,
        warn: &mut warn,
        refuse_local_files: false,
    };
    let explicit = args.common.lock.lock.is_some();
    let locked = match nixspot_lock::lock(&target, &path, explicit, &mut fetcher, &mut options) {
        Ok(locked) => locked,
        Err(e) if e.catalog_unavailable() => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(4));
        }
        Err(e) => return Err(e.into()),
    };
    if !quiet {
        let lock = &locked.lock;
        eprintln!(
            "{}: {} files, {} images, {} packages pinned{}",
            locked.path.display(),
            lock.files.len(),
            lock.oci.len(),
            lock.packages.len(),
            if locked.changed { "" } else { " (unchanged)" }
        );
    }
    Ok(ExitCode::SUCCESS)
}
