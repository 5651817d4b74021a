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
//! populated page. The thread is made by the first wake-up, so that evaluations that
//! stay small do not pay for it.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// How far beyond the highest block seen the pages are populated.
const AHEAD: usize = 8 << 20;

/// Where in the arena the thread starts: the blocks of small evaluations (`nixspot
/// eval` of an expression, a hotspot's modules) are spread thinly over their first
/// megabytes (mimalloc gives each block size pages of its own), so populating those
/// megabytes whole would add more pages than it saves faults, and the populating
/// thread's faults contend with the evaluation's own. Those evaluations fault in their
/// pages themselves; bigger ones get theirs populated from here on.
const START_AFTER: usize = 12 << 20;

/// The most one `madvise` call populates, so that the evaluation can use the first
/// pages of a lead while the rest are still being populated.
const STEP: usize = 2 << 20;

/// The thread's stack: it calls `madvise` and the futex, nothing deeper; the C library
/// also places the program's thread-local storage in it (only the pages used are backed).
const STACK: usize = 256 << 10;

/// A block at or beyond this address wakes the thread; `usize::MAX` while it is at
/// work, before [`arm`], or for good once the thread could not be made.
static WAKE_AT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The address of the block that woke the thread last.
static REACHED: AtomicUsize = AtomicUsize::new(0);

/// Counts wake-ups: the futex word the thread sleeps on.
static WAKE_UPS: AtomicU32 = AtomicU32::new(0);

/// Whether the first wake-up has made (or tried to make) the thread.
static SPAWNED: AtomicBool = AtomicBool::new(false);

/// Gets ready to populate the arena starting at `start`: blocks beyond [`START_AFTER`]
/// will wake (first: make) the thread. Called once, when the arena is mapped (maybe
/// inside the allocator: it neither allocates nor blocks).
pub(crate) fn arm(start: usize) {
    WAKE_AT.store(start.saturating_add(START_AFTER), Ordering::Relaxed);
}

/// Tells the thread that a block at `addr` was handed out. Inlined into every
/// allocation of an evaluation: one load and one comparison.
#[inline(always)]
pub(crate) fn note(addr: usize) {
    if addr >= WAKE_AT.load(Ordering::Relaxed) {
        wake(addr);
    }
}

/// Wakes the thread, making it the first time (out of line: once per half of
/// [`AHEAD`] of blocks at most). Called from inside the allocator, so it allocates
/// nothing and takes no lock of Rust's: the thread is made with `pthread_create`
/// (whose few bytes of bookkeeping come from the C library's own allocator) and runs
/// only `madvise` and the futex.
#[cold]
#[inline(never)]
fn wake(addr: usize) {
    WAKE_AT.store(usize::MAX, Ordering::Relaxed);
    REACHED.store(addr, Ordering::Relaxed);
    if !SPAWNED.swap(true, Ordering::AcqRel) && !spawn() {
        // No thread: the evaluation faults its pages in itself (WAKE_AT stays at its
        // maximum, so this is the last wake-up).
        return;
    }
    WAKE_UPS.fetch_add(1, Ordering::Release);
    // SAFETY: FUTEX_WAKE on a word of this process's memory, which lives as long as
    // the process; it wakes at most one waiter and touches no memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            WAKE_UPS.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

/// Makes the thread, detached; false if the system refused.
fn spawn() -> bool {
    // SAFETY: the attribute object is initialised before use and destroyed after;
    // the thread runs `thread_main`, which takes no argument.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_attr_init(&mut attr) != 0 {
            return false;
        }
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        libc::pthread_attr_setstacksize(&mut attr, STACK.max(libc::PTHREAD_STACK_MIN));
        let mut thread: libc::pthread_t = 0;
        let made = libc::pthread_create(&mut thread, &attr, thread_main, std::ptr::null_mut());
        libc::pthread_attr_destroy(&mut attr);
        made == 0
    }
}

/// The thread's entry point. The arena is set by then: a block of it woke the thread.
extern "C" fn thread_main(_: *mut c_void) -> *mut c_void {
    if let Some(Some(arena)) = super::ARENA.get() {
        populate_ahead(arena.start, arena.start.saturating_add(arena.len));
    }
    std::ptr::null_mut()
}

/// The thread's loop: sleeps until woken, then populates from where it stopped (or,
/// after a jump, from the block that woke it) to [`AHEAD`] past that block, never
/// below [`START_AFTER`]. Returns only on a kernel without `MADV_POPULATE_WRITE`.
fn populate_ahead(arena: usize, end: usize) {
    let start = arena.saturating_add(START_AFTER).min(end);
    let mut populated = start;
    let mut seen = 0;
    loop {
        let wake_ups = WAKE_UPS.load(Ordering::Acquire);
        if wake_ups == seen {
            // SAFETY: FUTEX_WAIT on a word of this process's memory, which lives as
            // long as the process: sleeps while it still holds `seen`.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    WAKE_UPS.as_ptr(),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    seen,
                    std::ptr::null::<libc::timespec>(),
                );
            }
            continue;
        }
        seen = wake_ups;
        let reached = REACHED.load(Ordering::Relaxed);
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
