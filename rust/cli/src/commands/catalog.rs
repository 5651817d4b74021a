//! `nixspot catalog search|show|update`: the Kiwix library catalog.

use anyhow::Context as _;
use nixspot_catalog::{Catalog, CatalogError, CatalogSource, Client, Entry, PackageIdent, Query};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when the catalog is unreachable and there is no cached copy.
const UNAVAILABLE: u8 = 4;

/// Search the Kiwix library catalog (OPDS) for content to put on a hotspot.
///
/// The catalog is `--catalog URL`, else `$NIXSPOT_CATALOG`, else
/// https://library.kiwix.org. A copy is kept in the cache directory and revalidated on
/// each use; when the catalog cannot be reached, the copy is used (and said so). Exit
/// code 4: unreachable and no cached copy.
///
/// Examples:
///   nixspot catalog search climate --lang eng --flavour nopic
///   nixspot catalog search --category wikipedia --max-size 2000000000 --json
///   nixspot catalog show wikipedia_en_climate_change:nopic
///   nixspot catalog update
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The catalog server [default: $NIXSPOT_CATALOG or https://library.kiwix.org].
    #[arg(long, value_name = "URL", global = true)]
    pub catalog: Option<String>,
    /// The cache directory [default: `$XDG_CACHE_HOME/nixspot` or `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Use the cached copy without asking the server.
    #[arg(long, global = true)]
    pub offline: bool,
    #[command(subcommand)]
    pub action: Action,
}

/// What to do with the catalog.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// List entries matching all the given words and filters.
    Search {
        /// Words that must all occur in the name, title, description or tags.
        words: Vec<String>,
        /// Language (ISO 639-3, e.g. `eng`; a comma-separated list matches any).
        #[arg(long, value_name = "CODE")]
        lang: Option<String>,
        /// Category (e.g. `wikipedia`, `gutenberg`).
        #[arg(long, value_name = "C")]
        category: Option<String>,
        /// Flavour (e.g. `nopic`, `maxi`, `mini`; `""` for none).
        #[arg(long, value_name = "F")]
        flavour: Option<String>,
        /// Largest size in bytes.
        #[arg(long, value_name = "BYTES")]
        max_size: Option<u64>,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Every field of every version of a package, newest first.
    Show {
        /// `NAME`, `NAME:FLAVOUR` or `PUBLISHER:NAME:FLAVOUR`.
        ident: String,
        /// A JSON array instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Refresh the cached copy now (exit code 4 if the catalog cannot be read).
    Update,
}

/// Runs `nixspot catalog`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = CatalogSource {
        url: CatalogSource::url_from(args.catalog.as_deref()),
        cache_dir: args
            .cache_dir
            .unwrap_or_else(nixspot_fetch::Cache::default_root),
        offline: args.offline,
    };
    let loaded = match Catalog::load(&source, &Client::new(), &mut |_| {}) {
        Ok(loaded) => loaded,
        Err(error) if error.is_unavailable() => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(UNAVAILABLE));
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(reason) = &loaded.stale {
        eprintln!("warning: catalog {}: {reason}", source.url);
    }
    let catalog = loaded.catalog;
    match args.action {
        Action::Search {
            words,
            lang,
            category,
            flavour,
            max_size,
            json,
        } => {
            let query = Query {
                words,
                lang,
                category,
                flavour,
                max_size,
            };
            let found = catalog.search(&query);
            if json {
                for entry in found {
                    println!("{}", serde_json::to_string(entry)?);
                }
            } else if found.is_empty() {
                eprintln!("no entry matches");
            } else {
                print!("{}", table(&found));
            }
        }
        Action::Show { ident, json } => {
            let ident = PackageIdent::parse(&ident)?;
            let versions: Vec<&Entry> = catalog
                .versions(&ident.name, ident.flavour.as_deref())
                .into_iter()
                .filter(|e| ident.publisher.as_deref().is_none_or(|p| e.publisher == p))
                .collect();
            if versions.is_empty() {
                // Let resolve word the error: it names the closest names.
                let error =
                    catalog
                        .resolve(&ident, None)
                        .err()
                        .unwrap_or_else(|| CatalogError::NotFound {
                            ident: ident.to_string(),
                            version: None,
                            catalog: catalog.url().to_string(),
                            closest: catalog.closest_names(&ident.name),
                            flavours: Vec::new(),
                        });
                return Err(error.into());
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&versions)?);
            } else {
                for (i, entry) in versions.iter().enumerate() {
                    if i > 0 {
                        println!();
                    }
                    print!("{}", details(entry));
                }
            }
        }
        Action::Update => {
            if loaded.stale.is_some() {
                eprintln!("error: catalog {} was not updated", source.url);
                return Ok(ExitCode::from(UNAVAILABLE));
            }
            eprintln!(
                "catalog {}: {} entries, cached in {}",
                source.url,
                catalog.entries().len(),
                source
                    .cache_file()
                    .parent()
                    .context("cache file without a directory")?
                    .display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Bytes as a short human-readable size (binary units).
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut out: String = text.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

fn table(entries: &[&Entry]) -> String {
    let header = ["NAME", "FLAVOUR", "TITLE", "LANGUAGE", "SIZE", "DATE"].map(String::from);
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                e.name.clone(),
                e.flavour.clone(),
                clip(&e.title, 40),
                e.languages.join(","),
                human(e.length),
                e.date.clone(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            // Size is right-aligned, the rest left-aligned (widths count characters).
            if i == 4 {
                line.push_str(&format!("{cell:>width$}"));
            } else {
                line.push_str(&format!("{cell:<width$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn details(e: &Entry) -> String {
    let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let fields: [(&str, String); 18] = [
        ("name", e.name.clone()),
        ("flavour", e.flavour.clone()),
        ("title", e.title.clone()),
        ("summary", e.summary.clone()),
        ("languages", e.languages.join(",")),
        ("category", e.category.clone()),
        ("tags", e.tags.join(";")),
        ("publisher", e.publisher.clone()),
        ("author", e.author.clone()),
        ("date", e.date.clone()),
        ("issued", optional(&e.issued)),
        ("articles", e.article_count.to_string()),
        ("media", e.media_count.to_string()),
        (
            "size",
            format!("{} ({}, KiB-floored)", e.length, human(e.length)),
        ),
        ("url", e.download_url.clone()),
        ("icon", optional(&e.icon_url)),
        ("preview", optional(&e.html_url)),
        ("id", e.id.clone()),
    ];
    fields
        .iter()
        .map(|(key, value)| format!("{key:<10} {value}\n"))
        .collect()
}
