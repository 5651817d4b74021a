//! The global allocator of the host programs that evaluate Nix (`nixspot`, the
//! evaluator's `eval-json` example): mimalloc for the threads that evaluate, the system
//! allocator for everything else.
//!
//! Why not mimalloc for the whole process: `nixspot` is also the Imager server, whose
//! peak RSS went from 29 to 150 MiB with mimalloc as the process-wide allocator, and
//! mimalloc's own arenas are marked `MADV_HUGEPAGE`, whose faults may compact memory
//! (0.5-0.9 s of system time in one evaluation in five). Why mimalloc for evaluations:
//! they make millions of small, mostly long-lived allocations, which it serves with up to
//! a quarter fewer instructions than glibc's malloc.
//!
//! How: a thread marks itself with [`Evaluating`] while it evaluates; its allocations
//! then go to mimalloc, whose memory all comes from one arena this crate maps itself (no
//! `MADV_HUGEPAGE`, and mimalloc is told not to map any other memory for its blocks).
//! Frees and reallocations go by who owns the block, not by the thread: a block inside
//! the arena's address range is mimalloc's, any other is the system allocator's. So
//! values made by an evaluation can be freed anywhere, at any time.
//!
//! The arena's fresh pages are populated a little ahead of the evaluation by a thread of
//! their own (the `prefault` module), so that the evaluating thread does not stop to
//! fault each one in.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use libmimalloc_sys as mi;

mod prefault;

thread_local! {
    /// Whether this thread's allocations go to mimalloc. Constant-initialised and
    /// without a destructor, so reading it never allocates and never fails.
    static EVALUATING: Cell<bool> = const { Cell::new(false) };
}

/// Set by [`system_only`]: guards made afterwards no longer mark their thread.
static SYSTEM_ONLY: AtomicBool = AtomicBool::new(false);

/// The address range of the arena mimalloc allocates from, once mapped; `None` when it
/// could not be (then every allocation goes to the system allocator).
static ARENA: OnceLock<Option<Arena>> = OnceLock::new();

/// The largest arena: address space only (pages are backed when touched), far beyond
/// any evaluation seen (the largest workloads peak near 140 MiB).
const ARENA_MAX: usize = 64 << 30;

/// mimalloc's segment alignment on 64-bit targets (`MI_SEGMENT_ALIGN`, 32 MiB): an arena
/// starts at a multiple of it and holds whole blocks of it.
const SEGMENT: usize = 32 << 20;

/// The alignment every mimalloc block has (its pages start 16-byte aligned, its block
/// sizes are multiples of a word): up to it, the plain calls serve, a few instructions
/// shorter than the aligned ones (`evalmodules` of `checks/bench/eval.sh`: 960 against
/// 1,011 million instructions).
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc 2's options this crate sets that `libmimalloc-sys` names no constant for
/// (their place in `mi_option_e`, `include/mimalloc.h` of mimalloc 2.x).
const OPTION_ARENA_RESERVE: mi::mi_option_t = 23;
/// See [`OPTION_ARENA_RESERVE`].
const OPTION_ALLOW_THP: mi::mi_option_t = 37;

/// The arena: `[start, start + len)`, mapped read-write by [`Arena::map`].
struct Arena {
    start: usize,
    len: usize,
}

impl Arena {
    /// Maps the arena and hands it to mimalloc as the only memory its blocks may come
    /// from. `None` (evaluations then use the system allocator) when the address space
    /// is short or mimalloc was told to reserve memory of its own through its
    /// environment variables (blocks outside our range would be freed as the system
    /// allocator's).
    fn map() -> Option<Arena> {
        // SAFETY: mi_option_get only reads mimalloc's option table (initialising an
        // option from the environment on first read); no allocation happens.
        let reserved = unsafe {
            mi::mi_option_get(mi::mi_option_reserve_os_memory)
                | mi::mi_option_get(mi::mi_option_reserve_huge_os_pages)
        };
        if reserved != 0 {
            return None;
        }
        let (mapped, len) = map_anonymous(arena_len()?)?;
        let start = (mapped as usize).next_multiple_of(SEGMENT);
        // SAFETY: these option writes happen once, under the OnceLock, before mimalloc
        // serves its first block in this process (only this crate calls mimalloc, and
        // only after ARENA is set). No other arena (arena_reserve 0) and no memory
        // straight from the OS (limit_os_alloc): every block mimalloc hands out is in
        // [start, start + len). No transparent huge pages for its metadata either.
        unsafe {
            mi::mi_option_set(OPTION_ARENA_RESERVE, 0);
            mi::mi_option_set(mi::mi_option_limit_os_alloc, 1);
            mi::mi_option_set(OPTION_ALLOW_THP, 0);
        }
        let mut id: mi::mi_arena_id_t = 0;
        // SAFETY: [start, start + len) lies inside the fresh mapping (len + SEGMENT bytes
        // from `mapped`, and start - mapped < SEGMENT), is aligned to MI_SEGMENT_ALIGN,
        // readable and writable (committed), zero (fresh anonymous memory), not large
        // pages, and used by nothing else: mimalloc may own it for the life of the process.
        let managed = unsafe {
            mi::mi_manage_os_memory_ex(
                start as *const c_void,
                len,
                true,
                false,
                true,
                -1,
                false,
                &mut id,
            )
        };
        if !managed {
            // SAFETY: the mapping made above, of that length, which nothing uses.
            unsafe { libc::munmap(mapped, len + SEGMENT) };
            return None;
        }
        prefault::arm(start);
        Some(Arena { start, len })
    }

    /// Whether `ptr` is in the arena: one subtraction and one comparison, the cost every
    /// free pays (a pointer below `start` wraps to a large offset).
    fn contains(&self, ptr: *const u8) -> bool {
        (ptr as usize).wrapping_sub(self.start) < self.len
    }
}

/// The arena's size: [`ARENA_MAX`], or a quarter of the address-space limit
/// (`RLIMIT_AS`, which `nixspot imager evaluate` children set on themselves) so that
/// the system allocator keeps the rest; `None` below two segments.
fn arena_len() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: getrlimit writes one rlimit into the struct it is given.
    let known = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } == 0;
    let len = if known && limit.rlim_cur != libc::RLIM_INFINITY {
        usize::try_from(limit.rlim_cur / 4)
            .unwrap_or(ARENA_MAX)
            .min(ARENA_MAX)
    } else {
        ARENA_MAX
    };
    let len = len / SEGMENT * SEGMENT;
    (len >= 2 * SEGMENT).then_some(len)
}

/// Maps `len` bytes (plus one segment, to align them) of fresh read-write memory, or
/// half as many, and so on down to two segments, when the system refuses: a
/// `RLIMIT_AS` already partly used, a strict overcommit policy, or valgrind (which
/// refuses a 64 GiB mapping). Returns the mapping and the arena's length in it.
fn map_anonymous(mut len: usize) -> Option<(*mut c_void, usize)> {
    while len >= 2 * SEGMENT {
        // SAFETY: an anonymous private mapping at an address the kernel picks touches no
        // existing memory. MAP_NORESERVE: the address space is not charged against
        // overcommit; pages are backed when first touched.
        let mapped = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len + SEGMENT,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if mapped != libc::MAP_FAILED {
            return Some((mapped, len));
        }
        len = len / 2 / SEGMENT * SEGMENT;
    }
    None
}

/// The arena, mapped by the first allocation of an evaluating thread.
fn arena() -> Option<&'static Arena> {
    ARENA.get_or_init(Arena::map).as_ref()
}

/// Whether `ptr` is a block of mimalloc's arena (not yet mapped: no block is).
fn owned_by_mimalloc(ptr: *const u8) -> bool {
    matches!(ARENA.get(), Some(Some(arena)) if arena.contains(ptr))
}

/// Whether this thread is evaluating (and the arena is there).
fn evaluating() -> bool {
    EVALUATING.try_with(Cell::get).unwrap_or(false) && arena().is_some()
}

/// Whether `ptr` was allocated by mimalloc, i.e. while a thread was [`Evaluating`]
/// (false for any pointer of the system allocator). For tests and diagnostics.
pub fn is_evaluation_block(ptr: *const u8) -> bool {
    owned_by_mimalloc(ptr)
}

/// From now on, [`Evaluating`] guards mark no thread: every allocation of the process
/// goes to the system allocator. For long-running services whose own evaluations are
/// small (the Imager server evaluates the catalog's list in-process; its
/// configurations are evaluated in child processes): a second allocator beside glibc's
/// would only add its pages to the service's peak memory (1.6 MiB more VmHWM in a
/// server that evaluated its catalog with mimalloc: 20.3 against 18.7 MiB).
pub fn system_only() {
    SYSTEM_ONLY.store(true, Ordering::Relaxed);
}

/// Marks the current thread as evaluating until dropped: while at least one such guard
/// lives on a thread (they nest), [`EvalAlloc`] serves that thread's allocations from
/// mimalloc. Without `EvalAlloc` as the global allocator it changes nothing. Not `Send`:
/// it marks the thread that made it.
#[must_use = "the thread evaluates only while the guard lives"]
pub struct Evaluating {
    /// The mark before this guard, restored on drop.
    previous: bool,
    /// Keeps the guard on its thread.
    _thread: PhantomData<*const ()>,
}

impl Evaluating {
    /// Marks the current thread as evaluating (unless [`system_only`] was called).
    pub fn start() -> Self {
        let mark = !SYSTEM_ONLY.load(Ordering::Relaxed);
        let previous = EVALUATING
            .try_with(|flag| flag.replace(mark || flag.get()))
            .unwrap_or(false);
        Evaluating {
            previous,
            _thread: PhantomData,
        }
    }
}

impl Drop for Evaluating {
    fn drop(&mut self) {
        // Cannot fail: the flag has no destructor, so it is never torn down.
        let _ = EVALUATING.try_with(|flag| flag.set(self.previous));
    }
}

/// The global allocator: mimalloc for the threads that are [`Evaluating`], the system
/// allocator for the others; frees and reallocations go to the block's owner.
pub struct EvalAlloc;

// SAFETY: every block comes from one of two allocators and goes back to the same one:
// mimalloc's blocks all lie in the arena (Arena::map forbids it any other memory) and
// the system allocator's never do (the arena's range is mapped for mimalloc alone), so
// `owned_by_mimalloc` names each block's allocator whatever thread frees it. Each
// allocator gets the size and alignment the caller asked for, so the layout contract
// holds for both.
//
// The methods are inlined (with the allocator shims, into every allocation site): out
// of line, `evalmodules` of `checks/bench/eval.sh` ran 4 % more instructions (999
// against 960 million), for a `nixspot` binary 1.2 MB smaller (0.3 MiB less of it
// resident in the Imager server).
unsafe impl GlobalAlloc for EvalAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if evaluating() {
            // SAFETY: mimalloc accepts any size and power-of-two alignment; it returns
            // null when the arena is full or the alignment is beyond an arena block.
            let ptr = unsafe {
                if layout.align() <= WORD {
                    mi::mi_malloc(layout.size())
                } else {
                    mi::mi_malloc_aligned(layout.size(), layout.align())
                }
            };
            if !ptr.is_null() {
                prefault::note(ptr as usize);
                return ptr.cast();
            }
        }
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if evaluating() {
            // SAFETY: as in `alloc`; the block comes back zeroed.
            let ptr = unsafe {
                if layout.align() <= WORD {
                    mi::mi_zalloc(layout.size())
                } else {
                    mi::mi_zalloc_aligned(layout.size(), layout.align())
                }
            };
            if !ptr.is_null() {
                prefault::note(ptr as usize);
                return ptr.cast();
            }
        }
        // SAFETY: the caller's layout, as GlobalAlloc::alloc_zeroed requires.
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if owned_by_mimalloc(ptr) {
            // SAFETY: a live block of mimalloc (in the arena), which mimalloc frees from
            // any thread.
            unsafe { mi::mi_free(ptr.cast()) }
        } else {
            // SAFETY: a live block of the system allocator, with its layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !owned_by_mimalloc(ptr) {
            // A block of the system allocator stays with it, even on an evaluating
            // thread: it may grow in place, and its owner is unambiguous.
            // SAFETY: a live block of the system allocator, its layout and the caller's
            // valid new size.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A block of mimalloc stays with mimalloc, whatever the thread: a move lands in
        // the calling thread's mimalloc heap, still in the arena (no other memory).
        // SAFETY: a live block of mimalloc allocated with this alignment.
        let moved = unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast(), new_size)
            } else {
                mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align())
            }
        };
        if !moved.is_null() {
            return moved.cast();
        }
        // SAFETY: as this function's caller guarantees; mimalloc left the block as it was.
        unsafe { move_to_system(ptr, layout, new_size) }
    }
}

/// Moves a block of mimalloc that it could not grow (the arena is full) to the system
/// allocator.
///
/// # Safety
/// As [`GlobalAlloc::realloc`], for a live block of mimalloc.
#[cold]
#[inline(never)]
unsafe fn move_to_system(ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: new_size with the block's alignment is a valid layout (GlobalAlloc::
    // realloc's contract); the copy covers the smaller of the two live blocks, which do
    // not overlap; the old block is then mimalloc's to free.
    unsafe {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let new = System.alloc(new_layout);
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            mi::mi_free(ptr.cast());
        }
        new
    }
}
