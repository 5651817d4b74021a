//! `nixspot options`: the reference of every hotspot option.

use std::process::ExitCode;

use super::shared_args::{EvalFlags, OutputFlag};

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
    #[command(flatten)]
    pub output: OutputFlag,
    #[command(flatten)]
    pub eval: EvalFlags,
}

/// Runs `nixspot options`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = nixspot_hotspot::options(args.eval.evaluator.into(), &args.eval.modules_dir()?)?;
    let text = if args.json {
        let mut text = serde_json::to_string_pretty(&options)?;
        text.push('\n');
        text
    } else {
        nixspot_hotspot::options_markdown(&options)?
    };
    args.output.emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
