//! The thunks of one evaluator, kept in blocks it frees when it is dropped.
//!
//! A thunk is made for most bindings, arguments and list elements, and a program makes
//! millions. As reference-counted heap blocks each cost an allocation, a count on every
//! copy and drop of a value holding it, and a free. Here a thunk is 24 bytes taken from
//! the end of a block, a [`ThunkRef`] is a plain pointer to it (copied and dropped for
//! free), and nothing is freed until the evaluator ends: as in Nix, whose thunks stay
//! until its garbage collector finds them unreachable. `evalmodules` of
//! `checks/bench/eval.sh`: 921 → 862 M instructions, 0.132 → 0.125 s, and a lower peak
//! memory (97.7 → 93.5 MiB), a thunk taking 24 bytes instead of a 48-byte block.
//!
//! Dropping the store drops every thunk's state, which also breaks the reference
//! cycles evaluation makes (a `rec` set or `let` binding referring to its own frame,
//! `builtins.builtins`): every such cycle goes through a thunk.
//!
//! Soundness rests on one rule, which the evaluator's public API keeps: no value leaves
//! the evaluator ([`crate::Evaluator`] hands out bytes and strings only), so no
//! [`ThunkRef`] outlives the store its thunk is in.

use crate::value::{Thunk, ThunkState};
use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::ptr::NonNull;

/// The thunks a first block holds; each next block holds twice as many as the one
/// before, up to [`MAX_BLOCK`]: small evaluations stay small, big ones allocate rarely.
const FIRST_BLOCK: usize = 256;
/// The most thunks a block holds (1.5 MiB).
const MAX_BLOCK: usize = 64 * 1024;

/// A reference to a thunk of a [`Thunks`] store: a pointer, copied without a count.
pub struct ThunkRef {
    thunk: NonNull<Thunk>,
    /// Neither `Send` nor `Sync`, like the store it points into.
    _store: std::marker::PhantomData<*const Thunk>,
}

impl Clone for ThunkRef {
    #[inline(always)]
    fn clone(&self) -> ThunkRef {
        ThunkRef {
            thunk: self.thunk,
            _store: std::marker::PhantomData,
        }
    }
}

impl std::ops::Deref for ThunkRef {
    type Target = Thunk;
    #[inline(always)]
    fn deref(&self) -> &Thunk {
        // SAFETY: the thunk was written by `Thunks::make` and stays until its store is
        // dropped, which outlives every value of its evaluator (see the module docs).
        unsafe { self.thunk.as_ref() }
    }
}

impl std::fmt::Debug for ThunkRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Thunk")
    }
}

impl ThunkRef {
    /// Whether both refer to the same thunk.
    #[inline]
    pub fn same(&self, other: &ThunkRef) -> bool {
        self.thunk == other.thunk
    }
}

/// One block of thunks: where it starts and how many it can hold.
struct Block {
    start: NonNull<Thunk>,
    capacity: usize,
}

impl Block {
    /// The layout of a block of `capacity` thunks (at most [`MAX_BLOCK`], whose size
    /// cannot overflow; never zero-sized).
    fn layout(capacity: usize) -> Layout {
        match Layout::array::<Thunk>(capacity) {
            Ok(layout) => layout,
            Err(_) => std::alloc::handle_alloc_error(Layout::new::<Thunk>()),
        }
    }
}

/// The thunks of one evaluator (see the module docs).
pub struct Thunks {
    /// Where the next thunk goes, in the newest block.
    next: Cell<*mut Thunk>,
    /// The end of the newest block.
    end: Cell<*mut Thunk>,
    /// Every block, oldest first; all but the newest are full.
    blocks: RefCell<Vec<Block>>,
}

impl Default for Thunks {
    fn default() -> Thunks {
        Thunks {
            next: Cell::new(std::ptr::null_mut()),
            end: Cell::new(std::ptr::null_mut()),
            blocks: RefCell::new(Vec::new()),
        }
    }
}

impl Thunks {
    /// A new thunk in `state`.
    #[inline]
    pub fn make(&self, state: ThunkState) -> ThunkRef {
        let mut at = self.next.get();
        if at == self.end.get() {
            at = self.grow();
        }
        // SAFETY: `at` is inside the newest block, before its end (`grow` made room),
        // and no thunk was written there yet.
        unsafe {
            at.write(Thunk::new(state));
            self.next.set(at.add(1));
            ThunkRef {
                thunk: NonNull::new_unchecked(at),
                _store: std::marker::PhantomData,
            }
        }
    }

    /// Adds a block (twice the last one, up to [`MAX_BLOCK`]) and returns its start.
    #[cold]
    #[inline(never)]
    fn grow(&self) -> *mut Thunk {
        let mut blocks = self.blocks.borrow_mut();
        let capacity = blocks
            .last()
            .map_or(FIRST_BLOCK, |b| (b.capacity * 2).min(MAX_BLOCK));
        let layout = Block::layout(capacity);
        // SAFETY: the layout is not zero-sized.
        let start = unsafe { std::alloc::alloc(layout) }.cast::<Thunk>();
        let Some(start) = NonNull::new(start) else {
            std::alloc::handle_alloc_error(layout)
        };
        blocks.push(Block { start, capacity });
        self.next.set(start.as_ptr());
        // SAFETY: one past the block's last thunk.
        self.end.set(unsafe { start.as_ptr().add(capacity) });
        start.as_ptr()
    }

    /// How many thunks the store holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        let blocks = self.blocks.borrow();
        let full: usize = blocks.iter().rev().skip(1).map(|b| b.capacity).sum();
        full + blocks.last().map_or(0, |b| self.used(b))
    }

    /// How many thunks the newest block holds.
    fn used(&self, newest: &Block) -> usize {
        (self.next.get() as usize - newest.start.as_ptr() as usize) / std::mem::size_of::<Thunk>()
    }
}

impl Drop for Thunks {
    fn drop(&mut self) {
        let blocks = std::mem::take(self.blocks.get_mut());
        let newest = blocks.len().saturating_sub(1);
        for (i, block) in blocks.iter().enumerate() {
            let used = if i == newest {
                self.used(block)
            } else {
                block.capacity
            };
            // SAFETY: the first `used` thunks of the block were written by `make` and
            // are dropped once, here; the block came from `alloc` with this layout.
            unsafe {
                std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                    block.start.as_ptr(),
                    used,
                ));
                std::alloc::dealloc(block.start.as_ptr().cast(), Block::layout(block.capacity));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use std::rc::Rc;

    #[test]
    fn thunks_keep_their_state_across_blocks_and_drop_it_with_the_store() {
        let witness = Rc::new(crate::value::Attrs::default());
        let store = Thunks::default();
        let count = FIRST_BLOCK * 3 + 5;
        let refs: Vec<ThunkRef> = (0..count)
            .map(|i| {
                store.make(ThunkState::Done(if i % 2 == 0 {
                    Value::Int(i as i64)
                } else {
                    Value::Attrs(witness.clone())
                }))
            })
            .collect();
        assert_eq!(store.len(), count);
        for (i, t) in refs.iter().enumerate() {
            match t.value() {
                Some(Value::Int(n)) => assert_eq!(n, i as i64),
                Some(Value::Attrs(a)) => assert!(i % 2 == 1 && Rc::ptr_eq(&a, &witness)),
                _ => panic!("thunk {i} lost its value"),
            }
        }
        assert!(refs[0].same(&refs[0].clone()) && !refs[0].same(&refs[1]));
        assert_eq!(Rc::strong_count(&witness), 1 + count / 2);
        drop(refs);
        assert_eq!(
            Rc::strong_count(&witness),
            1 + count / 2,
            "refs hold no count"
        );
        drop(store);
        assert_eq!(
            Rc::strong_count(&witness),
            1,
            "the store dropped every state"
        );
    }

    #[test]
    fn an_empty_store_drops_cleanly() {
        drop(Thunks::default());
    }
}
