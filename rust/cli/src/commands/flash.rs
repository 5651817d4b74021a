//! `nixspot flash IMAGE DEVICE`: write an image to an SD card, safely; `--list` shows
//! the cards that can be written.

use anyhow::Context;
use nixspot_flash::{BlockDevice, Compression, Image, ImageSize, Policy, Roots, Target, Transport};
use nixspot_recipe::sizing::decimal_size;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Write an image to an SD card: every byte, synced, then read back and compared.
///
/// IMAGE is a `.img`, or one compressed with zstd, xz or gzip (`.img.zst`, `.img.xz`,
/// `.img.gz`, as `nixspot assemble --compress` writes them). DEVICE is the whole card
/// (`/dev/sdX`, `/dev/mmcblkN`, or a `/dev/disk/by-id/...` link to one), never a
/// partition; or a regular file, created or truncated, for a decompressed copy.
///
/// Only removable devices are written: `removable` set, or attached over USB or an SD
/// slot (USB card readers often say "not removable"). A device is refused when it or a
/// partition is mounted, is swap, holds the system, or carries a device-mapper, LVM or
/// md device; when it is read-only (the card's lock switch) or empty; or when it is a
/// built-in eMMC or a loop device. The image must fit. Before writing, the card's model,
/// vendor, size and serial are shown and "yes" is asked for (pass --yes to skip; without
/// a terminal, --yes is required).
///
/// Examples:
///   nixspot flash --list
///   nixspot flash school.img.zst /dev/sdb
///   nixspot flash school.img.xz school.img      # a decompressed copy
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The image to write.
    #[arg(required_unless_present = "list")]
    pub image: Option<PathBuf>,
    /// The card (a whole block device) or a regular file.
    #[arg(required_unless_present = "list")]
    pub device: Option<PathBuf>,
    /// Write without asking for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Skip reading the card back after writing.
    #[arg(long)]
    pub no_verify: bool,
    /// List the devices that can be written.
    #[arg(long, conflicts_with_all = ["image", "device", "yes", "no_verify"])]
    pub list: bool,
    /// With --list: also the devices that cannot be written, and why.
    #[arg(long, requires = "list")]
    pub all: bool,
    /// For tests only: accept loop devices as cards (the test suite's stand-ins).
    #[arg(long, hide = true)]
    pub allow_loop: bool,
}

/// Runs `nixspot flash`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let roots = Roots::default();
    let policy = Policy {
        allow_loop: args.allow_loop,
    };
    if args.list {
        return list(&roots, policy, args.all);
    }
    let (Some(image_path), Some(device)) = (args.image, args.device) else {
        anyhow::bail!("IMAGE and DEVICE are required (or --list)");
    };
    let image = Image::open(&image_path)?;
    let target = nixspot_flash::target(&roots, &device, policy)?;
    nixspot_flash::check(&image, &target)?;
    if let Target::Device { device: dev, .. } = &target {
        if !args.yes {
            confirm(&image, &device, dev)?;
        }
    }

    // Ctrl-C (or SIGTERM) stops between blocks with a message saying what state the card
    // is in; a second one ends the process at once.
    let cancel = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&cancel))
            .context("installing the signal handler")?;
        signal_hook::flag::register(signal, Arc::clone(&cancel))
            .context("installing the signal handler")?;
    }
    let progress = nixspot_flash::TermProgress::new();
    let options = nixspot_flash::Options {
        verify: !args.no_verify,
        progress: &progress,
        cancel: Some(&cancel),
        before_verify: None,
    };
    eprintln!(
        "writing {} to {}",
        image_path.display(),
        target.path().display()
    );
    let outcome = nixspot_flash::flash(&image, &target, &options)?;
    println!(
        "wrote {} ({}) to {}: sha256 {}",
        outcome.bytes,
        decimal_size(outcome.bytes, 1),
        target.path().display(),
        outcome.sha256
    );
    if outcome.verified {
        println!("verified: the bytes read back match the image");
    } else {
        println!("not verified (--no-verify)");
    }
    if matches!(target, Target::Device { .. }) {
        println!("done: the card can be removed");
    }
    Ok(ExitCode::SUCCESS)
}

/// Shows the device and asks for "yes" on the terminal.
fn confirm(image: &Image, path: &std::path::Path, dev: &BlockDevice) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        anyhow::bail!(
            "refusing to erase {} ({}, {}) without confirmation: standard input is not a \
             terminal; pass --yes to confirm on the command line",
            path.display(),
            dev.description(),
            decimal_size(dev.size, 1)
        );
    }
    let size = match image.size {
        ImageSize::Exact(n) => decimal_size(n, 1),
        ImageSize::AtLeast(n) => format!("at least {}", decimal_size(n, 1)),
        ImageSize::Unknown => "size not recorded: checked while writing".into(),
    };
    let compression = match image.compression {
        Compression::None => "",
        Compression::Zstd => "zstd, ",
        Compression::Xz => "xz, ",
        Compression::Gzip => "gzip, ",
    };
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "About to write {} ({compression}{size})",
        image.path.display()
    )?;
    if path == dev.dev_path() {
        writeln!(err, "to {}:", path.display())?;
    } else {
        writeln!(err, "to {} (/dev/{}):", path.display(), dev.name)?;
    }
    writeln!(
        err,
        "  vendor  {}",
        dev.vendor.as_deref().unwrap_or("(unknown)")
    )?;
    writeln!(
        err,
        "  model   {}",
        dev.model.as_deref().unwrap_or("(unknown)")
    )?;
    writeln!(
        err,
        "  size    {} ({} bytes)",
        decimal_size(dev.size, 1),
        dev.size
    )?;
    writeln!(
        err,
        "  serial  {}",
        dev.serial.as_deref().unwrap_or("(unknown)")
    )?;
    writeln!(err, "  via     {}", dev.transport)?;
    write!(
        err,
        "Everything on {} will be lost. Type \"yes\" to continue: ",
        path.display()
    )?;
    err.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "yes" | "y") {
        anyhow::bail!("not confirmed: {} was not touched", path.display());
    }
    Ok(())
}

/// `nixspot flash --list [--all]`.
fn list(roots: &Roots, policy: Policy, all: bool) -> anyhow::Result<ExitCode> {
    let devices = nixspot_flash::list(roots, policy)?;
    let (candidates, excluded): (Vec<_>, Vec<_>) = devices.iter().partition(|d| d.is_candidate());
    if candidates.is_empty() {
        println!("no card that can be written: insert one (or see --list --all)");
    } else {
        println!(
            "{:<16} {:>10}  {:<10} {:<28} {:<20} mounted",
            "device", "size", "via", "model", "serial"
        );
        for dev in &candidates {
            println!(
                "{:<16} {:>10}  {:<10} {:<28} {:<20} {}",
                dev.dev_path().display(),
                decimal_size(dev.size, 1),
                dev.transport.to_string(),
                dev.description(),
                dev.serial.as_deref().unwrap_or("-"),
                if dev.mounts.is_empty() { "no" } else { "yes" }
            );
        }
    }
    // Unused loop and zram devices are the kernel's spares, not disks anyone has.
    let excluded: Vec<_> = excluded
        .into_iter()
        .filter(|dev| {
            !(matches!(dev.transport, Transport::Loop | Transport::Virtual) && dev.size == 0)
        })
        .collect();
    if all && !excluded.is_empty() {
        println!();
        println!("not writable:");
        for dev in &excluded {
            println!(
                "{:<16} {:>10}  {:<10} {}",
                dev.dev_path().display(),
                decimal_size(dev.size, 1),
                dev.transport.to_string(),
                dev.description()
            );
            for reason in &dev.exclusions {
                println!("    {reason}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
