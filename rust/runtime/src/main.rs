//! `nixspot-runtime apply [--root DIR] [--reboot-command CMD] FILE`: applies offspot.yaml
//! (see the library documentation for the contract). Exit status 0 when every key was
//! applied, 1 otherwise, 2 on a usage error. `nixspot-runtime grow-data [MOUNT]`: grows
//! the data partition on first boot (see `grow`). `nixspot-runtime run-as USER [--cap
//! NAME]… -- PROGRAM ARGS…`: runs a service as USER with only those capabilities (see
//! `privilege`); exit status 111 when that fails (runit's "cannot run").

use clap::{Parser, Subcommand};
use nixspot_runtime::{apply, Options, Outcome};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// Applies /boot/firmware/offspot.yaml on a Kiwix hotspot.
#[derive(Parser)]
#[command(name = "nixspot-runtime", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply offspot.yaml's keys, remove the applied ones, render the configuration.
    Apply {
        /// Tree to read and write into, as if it were /.
        #[arg(long, default_value = "/")]
        root: PathBuf,
        /// Command run when a reboot is needed, split on spaces (no shell), e.g. "reboot".
        #[arg(long)]
        reboot_command: Option<String>,
        /// offspot.yaml's path on the device.
        #[arg(default_value = "/boot/firmware/offspot.yaml")]
        file: String,
    },
    /// On a freshly flashed card (`<mount point>/master_fs` exists): grow the data
    /// partition to the end of the card, resize its filesystem online, remove the marker.
    GrowData {
        /// Where the data partition is mounted.
        #[arg(default_value = "/data")]
        mount_point: PathBuf,
    },
    /// Run PROGRAM as USER (from /etc/passwd) with only the given capabilities, kept
    /// across exec as ambient capabilities, and no_new_privs set. Needs root.
    RunAs {
        /// The system user (its primary group, no other group).
        user: String,
        /// A capability to keep: net_bind_service or net_admin (repeatable).
        #[arg(long = "cap")]
        caps: Vec<String>,
        /// The passwd file USER is looked up in.
        #[arg(long, default_value = "/etc/passwd")]
        passwd: PathBuf,
        /// The program (looked up in PATH).
        program: OsString,
        /// Its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let (root, reboot_command, file) = match Cli::parse().command {
        Command::RunAs {
            user,
            caps,
            passwd,
            program,
            args,
        } => {
            use nixspot_runtime::privilege;
            let err = privilege::parse_caps(&caps)
                .and_then(|caps| {
                    let who = privilege::account(&passwd, &user)?;
                    Ok(privilege::exec_as(&who, caps, &program, &args))
                })
                .unwrap_or_else(|e| e);
            eprintln!("nixspot-runtime run-as {user}: {err}");
            return ExitCode::from(111);
        }
        Command::Apply {
            root,
            reboot_command,
            file,
        } => (root, reboot_command, file),
        Command::GrowData { mount_point } => {
            return match nixspot_runtime::grow::grow_data(&mount_point) {
                Ok(nixspot_runtime::grow::Grown::AlreadyDone) => ExitCode::SUCCESS,
                Ok(nixspot_runtime::grow::Grown::Grown {
                    partition,
                    from,
                    to,
                }) => {
                    eprintln!("{partition}: grown from {from} to {to} bytes");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: growing {}: {e}", mount_point.display());
                    ExitCode::FAILURE
                }
            };
        }
    };
    let opts = Options {
        root,
        config: file,
        reboot_command: reboot_command.map(|c| c.split_whitespace().map(String::from).collect()),
    };
    let report = apply(&opts);
    for (key, outcome) in &report.keys {
        match outcome {
            Outcome::Applied => eprintln!("{key}: applied"),
            Outcome::AppliedReboot => eprintln!("{key}: applied (reboot needed)"),
            Outcome::Failed(why) => eprintln!("{key}: NOT applied, kept for the next boot: {why}"),
        }
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
