//! `nixspot inspect IMAGE.img`: partitions, the data partition's tree, `offspot.yaml`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Show what an image holds, read-only and without root: its partition table, the
/// files of its data partition (`/data` on the device) with sizes, and the
/// `offspot.yaml` its boot partition carries.
///
/// Example:
///   nixspot inspect hotspot-demo.img
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The image to read.
    pub image: PathBuf,
}

/// Runs `nixspot inspect`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let view = nixspot_assemble::inspect(&args.image)?;
    println!("partition table: {:?}", view.table_kind);
    for p in &view.partitions {
        println!(
            "  p{}  start {:>12}  size {:>12}  type {}",
            p.number,
            p.start,
            p.size,
            p.mbr_type
                .map(|t| format!("{t:#04x}"))
                .or_else(|| p.gpt_type.map(|g| g.to_string()))
                .unwrap_or_default()
        );
    }
    println!("/data:");
    for item in &view.data {
        let size = if item.kind == 'f' {
            item.size.to_string()
        } else {
            String::new()
        };
        println!(
            "  {} {:>12}  /data/{}",
            item.kind,
            size,
            item.path.display()
        );
    }
    match &view.offspot_yaml {
        Some(yaml) => println!("offspot.yaml:\n{yaml}"),
        None => println!("offspot.yaml: (none)"),
    }
    Ok(ExitCode::SUCCESS)
}
