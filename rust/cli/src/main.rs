//! `nixspot`: build Kiwix Hotspot images from declarative Nix modules.
//!
//! The binary is thin: each subcommand lives in `commands/<name>.rs` and calls a library
//! crate under `rust/`.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc for the threads that evaluate Nix (they make millions of small allocations,
/// which it serves with fewer instructions than glibc's malloc), the system allocator
/// for everything else: this binary is also the Imager server, which mimalloc as the
/// process-wide allocator took from 29 to 150 MiB of peak memory.
#[global_allocator]
static GLOBAL: nixspot_alloc::EvalAlloc = nixspot_alloc::EvalAlloc;

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
    Assemble(commands::assemble::Args),
    Base(commands::base::Args),
    Build(commands::build::Args),
    Cache(commands::cache::Args),
    Catalog(commands::catalog::Args),
    Eval(commands::eval::Args),
    Fetch(commands::fetch::Args),
    Flash(commands::flash::Args),
    Imager(commands::imager::Args),
    Inspect(commands::inspect::Args),
    Lock(commands::lock::Args),
    Manifest(commands::manifest::Args),
    Oci(commands::oci::Args),
    Options(commands::options::Args),
    Size(commands::size::Args),
    VmTest(commands::vm_test::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        // One arm per subcommand, in alphabetical order.
        Command::Assemble(args) => commands::assemble::run(args),
        Command::Base(args) => commands::base::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Cache(args) => commands::cache::run(args),
        Command::Catalog(args) => commands::catalog::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Fetch(args) => commands::fetch::run(args),
        Command::Flash(args) => commands::flash::run(args),
        Command::Imager(args) => commands::imager::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Lock(args) => commands::lock::run(args),
        Command::Manifest(args) => commands::manifest::run(args),
        Command::Oci(args) => commands::oci::run(args),
        Command::Options(args) => commands::options::run(args),
        Command::Size(args) => commands::size::run(args),
        Command::VmTest(args) => commands::vm_test::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
