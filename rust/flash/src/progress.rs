//! Progress reporting: a small trait the writer calls, and its `indicatif` bar on stderr.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;

/// The phases of a flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Writing the image.
    Writing,
    /// Waiting for the device to have everything (`fsync`).
    Syncing,
    /// Reading back and comparing.
    Verifying,
}

/// Receives progress from [`crate::flash`].
pub trait Progress: Sync {
    /// A phase starts; `total` bytes when known.
    fn phase(&self, phase: Phase, total: Option<u64>);
    /// `bytes` more were done in the current phase.
    fn advance(&self, bytes: u64);
    /// Everything is done (or failed): clear what is shown.
    fn finish(&self);
}

/// No progress shown.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// An `indicatif` bar on stderr (bytes, rate, ETA, in decimal units as card sizes are
/// given); draws nothing when stderr is not a terminal.
#[derive(Default)]
pub struct TermProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl TermProgress {
    /// A bar that appears with the first phase.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Progress for TermProgress {
    fn phase(&self, phase: Phase, total: Option<u64>) {
        let Ok(mut slot) = self.bar.lock() else {
            return;
        };
        if let Some(old) = slot.take() {
            old.finish_and_clear();
        }
        let label = match phase {
            Phase::Writing => "writing",
            Phase::Syncing => "syncing",
            Phase::Verifying => "verifying",
        };
        let bar = match (phase, total) {
            (Phase::Syncing, _) | (_, None) => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                let template = if phase == Phase::Syncing {
                    "{spinner} {msg} {elapsed}"
                } else {
                    "{spinner} {msg} {decimal_bytes} ({decimal_bytes_per_sec}) {elapsed}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style);
                }
                bar.enable_steady_tick(std::time::Duration::from_millis(200));
                bar
            }
            (_, Some(total)) => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "{msg:9} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} ({decimal_bytes_per_sec}, ETA {eta})",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar
            }
        };
        bar.set_message(label);
        *slot = Some(bar);
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(bytes);
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }
}
