//! `EvalAlloc` as this test program's global allocator: blocks go to mimalloc only on
//! evaluating threads, and go back to their owner whatever thread frees or grows them.

use std::alloc::{GlobalAlloc, Layout};
use std::thread;

use nixspot_alloc::{is_evaluation_block, EvalAlloc, Evaluating};

#[global_allocator]
static GLOBAL: EvalAlloc = EvalAlloc;

/// A block's address, to send it to another thread (a raw pointer is not `Send`).
struct Block(usize);

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn only_evaluating_threads_allocate_from_mimalloc() {
    let before = pattern(100);
    assert!(!is_evaluation_block(before.as_ptr()));
    let during = {
        let _evaluating = Evaluating::start();
        {
            // Guards nest: the inner one's drop keeps the outer mark.
            let _inner = Evaluating::start();
        }
        pattern(100)
    };
    assert!(is_evaluation_block(during.as_ptr()));
    let after = pattern(100);
    assert!(!is_evaluation_block(after.as_ptr()));
    // Other threads are not marked by this one's guard.
    let _evaluating = Evaluating::start();
    let elsewhere = thread::spawn(|| {
        let v = pattern(100);
        is_evaluation_block(v.as_ptr())
    })
    .join()
    .expect("thread");
    assert!(!elsewhere);
}

#[test]
fn evaluation_blocks_are_freed_on_other_threads_and_vice_versa() {
    // Made while evaluating, freed (and grown) on a thread that is not.
    let made = {
        let _evaluating = Evaluating::start();
        (0..1000).map(|i| pattern(i % 300 + 1)).collect::<Vec<_>>()
    };
    assert!(made.iter().all(|v| is_evaluation_block(v.as_ptr())));
    thread::spawn(move || {
        let mut made = made;
        for (i, v) in made.iter_mut().enumerate() {
            assert_eq!(*v, pattern(i % 300 + 1));
            v.extend_from_slice(&pattern(5000));
        }
        drop(made);
    })
    .join()
    .expect("thread");

    // Made by the system allocator, freed (and grown) on an evaluating thread.
    let plain = (0..1000).map(|i| pattern(i % 300 + 1)).collect::<Vec<_>>();
    assert!(plain.iter().all(|v| !is_evaluation_block(v.as_ptr())));
    thread::spawn(move || {
        let _evaluating = Evaluating::start();
        let mut plain = plain;
        for (i, v) in plain.iter_mut().enumerate() {
            v.extend_from_slice(&pattern(5000));
            assert_eq!(v[..i % 300 + 1], pattern(i % 300 + 1));
            // A system block stays with the system allocator when it grows.
            assert!(!is_evaluation_block(v.as_ptr()));
        }
        drop(plain);
    })
    .join()
    .expect("thread");
}

#[test]
fn reallocation_keeps_the_owner_and_the_contents() {
    let layout = Layout::from_size_align(24, 8).expect("layout");
    // SAFETY: a non-zero layout; each block is written within its size, reallocated
    // with the layout it has, and freed once with its last layout.
    unsafe {
        let (mine, block) = {
            let _evaluating = Evaluating::start();
            let mine = GLOBAL.alloc(layout);
            let system = Block(GLOBAL.alloc(layout) as usize);
            (mine, system)
        };
        assert!(!mine.is_null());
        std::ptr::copy_nonoverlapping(pattern(24).as_ptr(), mine, 24);
        assert!(is_evaluation_block(mine));
        // Grown on a thread that is not evaluating (this one, now): still mimalloc's.
        let grown = GLOBAL.realloc(mine, layout, 1 << 20);
        assert!(!grown.is_null() && is_evaluation_block(grown));
        assert_eq!(std::slice::from_raw_parts(grown, 24), &pattern(24)[..]);
        // Shrunk on another, evaluating thread, then freed on a third, plain one.
        let grown = Block(grown as usize);
        let shrunk = thread::spawn(move || {
            let _evaluating = Evaluating::start();
            let big = Layout::from_size_align(1 << 20, 8).expect("layout");
            Block(GLOBAL.realloc(grown.0 as *mut u8, big, 16) as usize)
        })
        .join()
        .expect("thread");
        assert!(is_evaluation_block(shrunk.0 as *const u8));
        assert_eq!(
            std::slice::from_raw_parts(shrunk.0 as *const u8, 16),
            &pattern(16)[..]
        );
        thread::spawn(move || {
            let small = Layout::from_size_align(16, 8).expect("layout");
            GLOBAL.dealloc(shrunk.0 as *mut u8, small);
        })
        .join()
        .expect("thread");
        // The block allocated on the evaluating thread was mimalloc's too.
        assert!(is_evaluation_block(block.0 as *const u8));
        GLOBAL.dealloc(block.0 as *mut u8, layout);

        // A system block grown on an evaluating thread stays the system's.
        let plain = GLOBAL.alloc(layout);
        std::ptr::copy_nonoverlapping(pattern(24).as_ptr(), plain, 24);
        let _evaluating = Evaluating::start();
        let plain = GLOBAL.realloc(plain, layout, 100_000);
        assert!(!plain.is_null() && !is_evaluation_block(plain));
        assert_eq!(std::slice::from_raw_parts(plain, 24), &pattern(24)[..]);
        GLOBAL.dealloc(plain, Layout::from_size_align(100_000, 8).expect("layout"));
    }
}

#[test]
fn small_blocks_large_alignments_and_zeroed_blocks() {
    let _evaluating = Evaluating::start();
    // Zero-sized values allocate nothing; a one-byte block is the smallest there is.
    let empty: Vec<u64> = Vec::with_capacity(0);
    drop(empty);
    let one = Box::new(7u8);
    assert!(is_evaluation_block(&*one));
    // Up to a word's alignment the plain mimalloc calls serve: every size is aligned.
    for size in 1..=600 {
        let layout = Layout::from_size_align(size, 8).expect("layout");
        // SAFETY: a non-zero layout, freed once with it.
        unsafe {
            let ptr = GLOBAL.alloc(layout);
            assert!(
                !ptr.is_null() && ptr.cast::<u64>().is_aligned(),
                "size {size}"
            );
            GLOBAL.dealloc(ptr, layout);
        }
    }
    // Alignments up to 2 MiB come from mimalloc; 64 MiB is more than an arena block
    // can give, so that one comes from the system allocator.
    for (align, from_mimalloc) in [(16, true), (4096, true), (2 << 20, true), (64 << 20, false)] {
        let layout = Layout::from_size_align(align + 3, align).expect("layout");
        // SAFETY: a non-zero layout, the block read within its size and freed once.
        unsafe {
            let ptr = GLOBAL.alloc_zeroed(layout);
            assert!(!ptr.is_null());
            assert_eq!(ptr as usize % align, 0, "alignment {align}");
            assert_eq!(is_evaluation_block(ptr), from_mimalloc, "alignment {align}");
            assert!(std::slice::from_raw_parts(ptr, layout.size())
                .iter()
                .all(|b| *b == 0));
            // Freed on a thread that is not evaluating.
            let block = Block(ptr as usize);
            thread::spawn(move || GLOBAL.dealloc(block.0 as *mut u8, layout))
                .join()
                .expect("thread");
        }
    }
}

#[test]
fn system_only_leaves_every_thread_on_the_system_allocator() {
    // A process of its own: `system_only` is for the whole process, and the other
    // tests of this program run in parallel with this one.
    if std::env::var_os("NIXSPOT_ALLOC_SYSTEM_ONLY_CHILD").is_none() {
        let status = std::process::Command::new(std::env::current_exe().expect("test program"))
            .args([
                "--exact",
                "system_only_leaves_every_thread_on_the_system_allocator",
            ])
            .env("NIXSPOT_ALLOC_SYSTEM_ONLY_CHILD", "1")
            .status()
            .expect("the test program");
        assert!(status.success());
        return;
    }
    let before = {
        let _evaluating = Evaluating::start();
        pattern(100)
    };
    assert!(is_evaluation_block(before.as_ptr()));
    nixspot_alloc::system_only();
    let _evaluating = Evaluating::start();
    let after = pattern(100);
    assert!(!is_evaluation_block(after.as_ptr()));
    // Blocks made before still go back to mimalloc.
    drop(before);
}
