//! `nixspot size MODULE|RECIPE|FLAKE#NAME`: how big the image gets and which SD card it
//! fits.

use super::shared_args::{load_lock, EvalFlags, LockFlag};
use nixspot_hotspot::load::Target;
use nixspot_recipe::sizing::{decimal_size, smallest_card, SizeEstimate};
use nixspot_recipe::SD_CARDS;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print the image's size and the smallest common SD card it fits, without
/// downloading anything.
///
/// The size is the base image's bytes before the data partition, plus the content
/// (files, expanded archives), plus OCI images (archive and extracted image), plus the
/// slack nixspot's assembler needs (ext4 metadata, journal, reserved blocks, 10 %
/// headroom, 4 MiB alignment). Sizes come from the recipe and its lock; run `nixspot
/// lock` first so that every download has one. Cards are compared by the bytes they
/// really hold (the Kiwix Imager Service's table).
///
/// Exit codes: 1 when no common card is large enough.
///
/// Examples:
///   nixspot size hotspots/hotspot-wikipedia.nix
///   nixspot size recipe.yaml --json
///   nixspot size .#hotspot-wikipedia
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The hotspot module (`.nix`), a flake reference (`.#NAME`: the flake's
    /// `hotspots.NAME`), or an image-creator recipe (YAML or JSON).
    pub recipe: PathBuf,
    #[command(flatten)]
    pub lock: LockFlag,
    /// Print JSON: `{base, content, images, slack, total, unknown, card}`.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub eval: EvalFlags,
}

/// Runs `nixspot size`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = Target::parse(&args.recipe);
    let lock = args.lock.path(&target);
    let mut recipe = args.eval.load(&target, lock.as_deref())?.recipe;
    recipe.apply_lock(&load_lock(lock.as_deref())?);
    let estimate = SizeEstimate::of(&recipe);
    let card = smallest_card(estimate.total);
    if args.json {
        let mut value = serde_json::to_value(&estimate)?;
        value["card"] = serde_json::to_value(card)?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        let row =
            |what: &str, bytes: u64| println!("{what:<8} {bytes:>16}  {}", decimal_size(bytes, 2));
        row("base", estimate.base);
        row("content", estimate.content);
        row("images", estimate.images);
        row("slack", estimate.slack);
        row("image", estimate.total);
        match card {
            Some(c) => println!(
                "card     {:>16}  fits a {} card ({} usable bytes)",
                c.name, c.name, c.usable
            ),
            None => println!(
                "card     {:>16}  larger than the largest common card ({}, {} usable bytes)",
                "-",
                SD_CARDS[SD_CARDS.len() - 1].name,
                SD_CARDS[SD_CARDS.len() - 1].usable
            ),
        }
    }
    for what in &estimate.unknown {
        eprintln!("warning: {what}: size unknown, not counted (run `nixspot lock`)");
    }
    Ok(if card.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
