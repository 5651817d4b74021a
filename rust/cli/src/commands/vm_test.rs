//! `nixspot vm-test IMAGE.img --check NAME [--machine raspi3b|raspi4b|zero2w]`: boot an
//! image in QEMU and run named checks against it (logic in `nixspot-vmtest`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use nixspot_vmtest::bootfiles::Board;
use nixspot_vmtest::{run_checks, MachineConfig, CHECKS};

/// Boot an image in QEMU (raspi3b, raspi4b) and run checks over its serial console and HTTP.
#[derive(clap::Args)]
pub struct Args {
    /// The image to boot (never modified: a sparse copy padded to a power of two boots).
    #[arg(required_unless_present = "list_checks")]
    image: Option<PathBuf>,
    /// A check to run (repeatable; default: every check).
    #[arg(long = "check", value_name = "NAME")]
    checks: Vec<String>,
    /// List the checks and exit.
    #[arg(long)]
    list_checks: bool,
    /// Seconds allowed for the whole run, boot included.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    timeout: u64,
    /// Seconds allowed for the console shell to answer after boot.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    boot_timeout: u64,
    /// Keep the full serial console log in this file.
    #[arg(long, value_name = "FILE")]
    serial_log: Option<PathBuf>,
    /// The board: raspi3b (Pi 3 B, QEMU's raspi3b), raspi4b (Pi 4 B, QEMU 10's raspi4b,
    /// with the driver's device-tree edits and kernel arguments) or zero2w (Pi Zero 2 W:
    /// raspi3b with the Zero 2 W device tree).
    #[arg(long, value_name = "BOARD", default_value = "raspi3b", value_parser = parse_board)]
    machine: Board,
    /// Boot this device tree of the boot partition instead of the board's.
    #[arg(long, value_name = "NAME")]
    dtb: Option<String>,
    /// The QEMU binary (default: qemu-system-aarch64 from PATH; for raspi4b
    /// $NIXSPOT_QEMU_RASPI4B or /opt/qemu-10/usr/bin/qemu-system-aarch64).
    #[arg(long, value_name = "PATH")]
    qemu: Option<PathBuf>,
}

fn parse_board(name: &str) -> Result<Board, String> {
    Board::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = Board::ALL.iter().map(|b| b.name()).collect();
        format!(
            "unknown board `{name}` (expected one of {})",
            known.join(", ")
        )
    })
}

/// Runs the subcommand: exit 0 when every check passed, 1 otherwise.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.list_checks {
        for c in CHECKS {
            println!("{:<12} {}", c.name, c.description);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let Some(image) = args.image else {
        bail!("an IMAGE is required unless --list-checks is given");
    };
    let mut config = MachineConfig::new(&image);
    config.board = args.machine;
    config.dtb = args.dtb;
    config.qemu = args.qemu;
    config.global_timeout = Duration::from_secs(args.timeout);
    config.boot_timeout = Duration::from_secs(args.boot_timeout);
    config.serial_log = args.serial_log;
    let report = run_checks(config, &args.checks)?;
    if let Some(t) = report.console_ready {
        println!("console ready {:.1} s after QEMU started", t.as_secs_f64());
    }
    for o in &report.outcomes {
        match &o.result {
            Ok(summary) => println!(
                "ok    {} ({:.1} s): {summary}",
                o.name,
                o.duration.as_secs_f64()
            ),
            Err(e) => println!("FAIL  {} ({:.1} s): {e}", o.name, o.duration.as_secs_f64()),
        }
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
