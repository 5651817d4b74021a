//! `nixspot`: build Kiwix Hotspot images from declarative Nix modules.
//!
//! The binary is thin: each subcommand lives in `commands/<name>.rs` and calls a library
//! crate under `rust/`.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Build Kiwix Hotspot images from declarative Nix modules.
#[derive(Parser)]
#[command(name = "nixspot", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    // One variant per subcommand, in alphabetical order.
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        // One arm per subcommand, in alphabetical order.
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
