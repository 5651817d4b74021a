//! `nixspot-dashboard`: the on-device dashboard generator (thin CLI over the library).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use nixspot_dashboard::{GenerateOptions, LinkTemplates};

#[derive(Parser)]
#[command(
    name = "nixspot-dashboard",
    version,
    about = "Kiwix Hotspot dashboard generator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Add ZIMs found in the ZIM folder to home.yaml, disable missing ones.
    Discover(DiscoverArgs),
    /// Render home.yaml into a static site (runs discovery first with --zim-dir).
    Generate(GenerateArgs),
}

#[derive(Args)]
struct Templates {
    /// Reader link of discovered ZIMs ({fqdn}, {zim_name}, {zim_filename}).
    #[arg(
        long,
        env = "KIWIX_READER_LINK_TPL",
        default_value = "//browse.{fqdn}/viewer#{zim_name}"
    )]
    reader_link_tpl: String,
    /// Download link of discovered ZIMs ({fqdn}, {zim_name}, {zim_filename}).
    #[arg(
        long,
        env = "KIWIX_DOWNLOAD_LINK_TPL",
        default_value = "//zim-download.{fqdn}/{zim_filename}"
    )]
    download_link_tpl: String,
}

impl Templates {
    fn into_templates(self) -> LinkTemplates {
        LinkTemplates {
            reader: self.reader_link_tpl,
            download: self.download_link_tpl,
        }
    }
}

#[derive(Args)]
struct DiscoverArgs {
    /// home.yaml to update (created when absent).
    #[arg(long, env = "PACKAGES_PATH")]
    config: PathBuf,
    /// Folder holding the ZIM files.
    #[arg(long, env = "ZIM_DIR")]
    zim_dir: PathBuf,
    #[command(flatten)]
    templates: Templates,
}

#[derive(Args)]
struct GenerateArgs {
    /// home.yaml to render.
    #[arg(long, env = "PACKAGES_PATH")]
    config: PathBuf,
    /// Output folder.
    #[arg(long, env = "DEST_DIR")]
    out: PathBuf,
    /// ZIM folder: run discovery first.
    #[arg(long, env = "ZIM_DIR")]
    zim_dir: Option<PathBuf>,
    /// Use discovery's result without rewriting home.yaml.
    #[arg(long, env = "DONT_UPDATE_PACKAGES", value_parser = clap::builder::FalseyValueParser::new())]
    dont_update_packages: bool,
    /// The hotspot's language (en, fr, es), at the site's root; overrides home.yaml's
    /// metadata.language. Every language is also written to its own folder (fr/, es/…).
    #[arg(long, env = "HOTSPOT_LANGUAGE")]
    language: Option<String>,
    #[command(flatten)]
    templates: Templates,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nixspot-dashboard: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Discover(a) => {
            let r =
                nixspot_dashboard::discover(&a.config, &a.zim_dir, &a.templates.into_templates())
                    .context("discovery failed")?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            println!(
                "{}: {} added, {} updated, {} disabled{}",
                a.config.display(),
                r.added.len(),
                r.updated.len(),
                r.disabled.len(),
                if r.written { "" } else { " (unchanged)" }
            );
        }
        Command::Generate(a) => {
            let opts = GenerateOptions {
                config: a.config,
                out: a.out,
                zim_dir: a.zim_dir,
                templates: a.templates.into_templates(),
                update_config: !a.dont_update_packages,
                language: a.language.filter(|l| !l.trim().is_empty()),
            };
            let r = nixspot_dashboard::generate(&opts).context("generation failed")?;
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            let total: u64 = r.files.iter().map(|(_, s)| s).sum();
            println!(
                "{}: {} files, {total} bytes",
                opts.out.display(),
                r.files.len()
            );
        }
    }
    Ok(())
}
