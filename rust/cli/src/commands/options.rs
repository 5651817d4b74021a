//! `nixspot options`: the reference of every hotspot option.

use std::path::PathBuf;
use std::process::ExitCode;

use nixspot_hotspot::ModulesDir;

use super::manifest::{emit, EngineArg};

/// Print the reference of every hotspot option (type, default, example, description).
///
/// Examples:
///   nixspot options --markdown > docs/options.md
///   nixspot options --json | jq '.[].name'
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Print a JSON list of option records.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown (the default), as committed in docs/options.md.
    #[arg(long)]
    pub markdown: bool,
    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Use the modules in DIR instead of the ones built into nixspot (also `$NIXSPOT_MODULES`).
    #[arg(long, value_name = "DIR")]
    pub modules: Option<PathBuf>,
    /// The evaluator.
    #[arg(long, value_enum, default_value = "builtin")]
    pub evaluator: EngineArg,
}

/// Runs `nixspot options`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let modules = ModulesDir::locate(args.modules.as_deref())?;
    let options = nixspot_hotspot::options(args.evaluator.into(), &modules)?;
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&options)?;
        text.push('\n');
        text
    } else {
        nixspot_hotspot::options_markdown(&options)?
    };
    emit(&text, args.output.as_ref())?;
    Ok(ExitCode::SUCCESS)
}
