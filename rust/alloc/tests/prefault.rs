//! The pages ahead of an evaluation's blocks are populated by a thread of their own: a
//! program of its own, so that no other test's blocks touch the pages looked at.

use std::time::{Duration, Instant};

use nixspot_alloc::{is_evaluation_block, EvalAlloc, Evaluating};

#[global_allocator]
static GLOBAL: EvalAlloc = EvalAlloc;

const PAGE: usize = 4096;

/// Whether the page holding `addr` is resident (`mincore`).
fn resident(addr: usize) -> bool {
    let page = addr & !(PAGE - 1);
    let mut state = 0u8;
    // SAFETY: one page of a mapping of this process (the arena), and a one-byte vector
    // for its one page.
    let done = unsafe { libc::mincore(page as *mut libc::c_void, PAGE, &mut state) };
    assert_eq!(done, 0, "mincore: {}", std::io::Error::last_os_error());
    state & 1 == 1
}

#[test]
fn pages_ahead_of_an_evaluations_blocks_become_resident_untouched() {
    let _evaluating = Evaluating::start();
    // Blocks of 64 KiB never written (only mimalloc's free-list links touch them), 40
    // MiB and then one more at every look: an evaluation goes on allocating, and the
    // thread populates ahead of the blocks it is told of.
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut highest = 0;
    let mut more = |blocks: &mut Vec<Vec<u8>>| {
        let block: Vec<u8> = Vec::with_capacity(64 << 10);
        highest = highest.max(block.as_ptr() as usize);
        blocks.push(block);
        highest
    };
    for _ in 0..640 {
        more(&mut blocks);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let highest = more(&mut blocks);
        assert!(is_evaluation_block(highest as *const u8));
        // Two MiB past the highest block: a page nothing of this program writes.
        let ahead = highest + (2 << 20);
        assert!(is_evaluation_block(ahead as *const u8));
        if resident(ahead) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the page 2 MiB past the highest of {} blocks of 64 KiB is still not resident after 20 s",
            blocks.len()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
