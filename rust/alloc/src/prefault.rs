//! A thread that populates the arena's pages a little ahead of the evaluation's blocks.
//!
//! An evaluation's memory is almost all fresh: `evalmodules` of `checks/bench/eval.sh`
//! faults in 22,500 pages, each zeroed and mapped by the kernel on the evaluating
//! thread, about a tenth of its time. Populated beforehand by this thread (with
//! `MADV_POPULATE_WRITE`, on another core when there is one), the same pages cost the
//! evaluating thread nothing. The pages are the ones it would fault in anyway, in the
//! order mimalloc hands them out (from the arena's start up): at most [`AHEAD`] bytes
//! more are resident than the evaluation touched.
//!
//! The allocator tells it where the evaluation has got to ([`note`]): one comparison per
//! block, and a wake-up each time the blocks come within half of [`AHEAD`] of the last
//! populated page.

use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::thread::Thread;

/// How far beyond the highest block seen the pages are populated.
const AHEAD: usize = 8 << 20;

/// Where in the arena the thread starts: the blocks of small evaluations (`nixspot
/// eval` of an expression, a hotspot's modules) are spread thinly over their first
/// megabytes (mimalloc gives each block size pages of its own), so populating those
/// megabytes whole would add more pages than it saves faults. Those evaluations fault
/// in their pages themselves; bigger ones get theirs populated from here on.
const START_AFTER: usize = 12 << 20;

/// The size of one `madvise` call: whole 2 MiB regions, like the kernel's own
/// fault-around would never do.
const STEP: usize = 2 << 20;

/// A block at or beyond this address wakes the thread; `usize::MAX` while it is at
/// work, or when there is none.
static WAKE_AT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The address of the block that woke the thread.
static REACHED: AtomicUsize = AtomicUsize::new(0);

/// The thread, once started.
static THREAD: OnceLock<Thread> = OnceLock::new();

/// Tells the thread that a block at `addr` was handed out. Inlined into every
/// allocation of an evaluation: one load and one comparison.
#[inline(always)]
pub(crate) fn note(addr: usize) {
    if addr >= WAKE_AT.load(Ordering::Relaxed) {
        wake(addr);
    }
}

/// Wakes the thread (out of line: once per [`AHEAD`] / 2 bytes of blocks at most).
/// Neither allocates nor takes a lock, as an allocator must not.
#[cold]
#[inline(never)]
fn wake(addr: usize) {
    WAKE_AT.store(usize::MAX, Ordering::Relaxed);
    REACHED.store(addr, Ordering::Relaxed);
    if let Some(thread) = THREAD.get() {
        thread.unpark();
    }
}

/// Starts the thread for the arena `[start, start + len)`. Called once, by a thread
/// not evaluating yet (the thread's own allocations go to the system allocator). If
/// the thread cannot be made, pages are faulted in by the evaluation, as without it.
pub(crate) fn start(start: usize, len: usize) {
    let spawned = std::thread::Builder::new()
        .name("nixspot-prefault".into())
        .stack_size(64 << 10)
        .spawn(move || populate_ahead(start, start.saturating_add(len)));
    if let Ok(handle) = spawned {
        if THREAD.set(handle.thread().clone()).is_ok() {
            WAKE_AT.store(start.saturating_add(START_AFTER), Ordering::Relaxed);
        }
    }
}

/// The thread's loop: sleeps until woken, then populates from where it stopped (or,
/// after a jump, from the block that woke it) to [`AHEAD`] past that block, never below
/// [`START_AFTER`].
fn populate_ahead(start: usize, end: usize) {
    let start = start.saturating_add(START_AFTER).min(end);
    let mut populated = start;
    loop {
        std::thread::park();
        let reached = REACHED.load(Ordering::Relaxed);
        if reached < start {
            // A spurious wake-up before any block.
            continue;
        }
        // A block far beyond the populated pages (a huge block has a segment of its
        // own): populate around it rather than the gap, which may stay untouched.
        let from = if reached > populated.saturating_add(AHEAD) {
            reached & !(STEP - 1)
        } else {
            populated
        };
        let to = reached
            .saturating_add(AHEAD)
            .next_multiple_of(STEP)
            .min(end);
        let mut at = from;
        while at < to {
            let len = STEP.min(to - at);
            // SAFETY: [at, at + len) lies in the arena, a private anonymous read-write
            // mapping that lives as long as the process; populating its pages writes
            // nothing a reader could see (they read as zero either way).
            let done = unsafe { libc::madvise(at as *mut c_void, len, libc::MADV_POPULATE_WRITE) };
            if done != 0 {
                // A kernel before 5.14: leave the faults to the evaluation, for good
                // (`WAKE_AT` stays at its maximum).
                return;
            }
            at += len;
        }
        populated = populated.max(to);
        WAKE_AT.store(populated - AHEAD / 2, Ordering::Relaxed);
    }
}
