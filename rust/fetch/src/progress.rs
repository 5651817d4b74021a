//! Progress display: indicatif bars on a terminal, periodic plain lines otherwise.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How to show progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal, plain lines otherwise.
    Auto,
    /// Plain lines on stderr every few seconds.
    Plain,
    /// Nothing.
    Quiet,
}

struct Shared {
    total: AtomicU64,
    done: AtomicU64,
    started: Instant,
    last_line: Mutex<Instant>,
}

/// A progress display shared by all downloads of one run.
#[derive(Clone)]
pub struct Progress {
    bars: Option<(MultiProgress, ProgressBar)>,
    plain: bool,
    shared: Arc<Shared>,
}

/// One download's progress.
pub struct Task {
    bar: Option<ProgressBar>,
    progress: Progress,
    name: String,
}

const PLAIN_EVERY: Duration = Duration::from_secs(5);

fn human(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

impl Progress {
    /// A display in `mode`.
    pub fn new(mode: ProgressMode) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let shared = Arc::new(Shared {
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            started: Instant::now(),
            last_line: Mutex::new(Instant::now()),
        });
        let bars = (mode == ProgressMode::Auto && tty).then(|| {
            let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let total = mp.add(ProgressBar::new(0));
            total.set_style(
                ProgressStyle::with_template(
                    "total {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            (mp, total)
        });
        Progress {
            bars,
            plain: mode == ProgressMode::Plain || (mode == ProgressMode::Auto && !tty),
            shared,
        }
    }

    /// Starts a task named `name` of `len` bytes (if known).
    pub fn task(&self, name: &str, len: Option<u64>) -> Task {
        if let Some(l) = len {
            self.shared.total.fetch_add(l, Ordering::Relaxed);
        }
        let bar = self.bars.as_ref().map(|(mp, total)| {
            total.set_length(self.shared.total.load(Ordering::Relaxed));
            let b = mp.insert_before(total, ProgressBar::new(len.unwrap_or(0)));
            b.set_style(
                ProgressStyle::with_template(
                    "{msg:30!} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.set_message(short(name));
            b
        });
        Task {
            bar,
            progress: self.clone(),
            name: name.to_string(),
        }
    }

    /// Prints a line (above the bars on a terminal, on stderr otherwise).
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some((mp, _)) => {
                let _ = mp.println(line);
            }
            None if self.plain => eprintln!("{line}"),
            None => {}
        }
    }

    fn plain_tick(&self) {
        if !self.plain {
            return;
        }
        let Ok(mut last) = self.shared.last_line.lock() else {
            return;
        };
        if last.elapsed() < PLAIN_EVERY {
            return;
        }
        *last = Instant::now();
        let done = self.shared.done.load(Ordering::Relaxed);
        let total = self.shared.total.load(Ordering::Relaxed);
        let secs = self.shared.started.elapsed().as_secs_f64().max(0.001);
        eprintln!(
            "downloaded {} of {} ({}/s)",
            human(done),
            human(total),
            human((done as f64 / secs) as u64)
        );
    }

    /// Removes the bars.
    pub fn finish(&self) {
        if let Some((_, total)) = &self.bars {
            total.finish_and_clear();
        }
    }
}

fn short(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

impl Task {
    /// Sets the length once known (Content-Length).
    pub fn set_len(&self, len: u64) {
        if let Some(b) = &self.bar {
            if b.length() == Some(0) {
                self.progress.shared.total.fetch_add(len, Ordering::Relaxed);
                if let Some((_, total)) = &self.progress.bars {
                    total.set_length(self.progress.shared.total.load(Ordering::Relaxed));
                }
            }
            b.set_length(len);
        }
    }

    /// Adds `n` bytes done.
    pub fn inc(&self, n: u64) {
        self.progress.shared.done.fetch_add(n, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(n);
            if let Some((_, total)) = &self.progress.bars {
                total.inc(n);
            }
        }
        self.progress.plain_tick();
    }

    /// Rewinds `n` bytes (a restart after the server refused a range).
    pub fn rewind(&self, n: u64) {
        self.progress.shared.done.fetch_sub(
            n.min(self.progress.shared.done.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
        if let Some(b) = &self.bar {
            b.set_position(b.position().saturating_sub(n));
        }
    }

    /// Marks it done with a one-line summary.
    pub fn finish(self, summary: &str) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.progress.plain {
            eprintln!("{}: {summary}", self.name);
        } else {
            self.progress.println(&format!("{}: {summary}", self.name));
        }
    }
}
