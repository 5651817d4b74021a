//! Runtime values, environments and thunks.

use crate::ir::{Expr, Lambda, Pos};
use crate::symbol::Symbol;
use crate::thunks::ThunkRef;
use std::cell::{Cell, OnceCell};
use std::collections::BTreeSet;
use std::rc::Rc;

/// A string's context: the store paths it refers to, in Nix's encoding
/// (`/nix/store/…` for a plain path, `=…drv` for a whole derivation closure,
/// `!out!…drv` for one output).
pub type Context = BTreeSet<Rc<str>>;

/// A Nix string with its context, as a [`Str`] shares it when it is not kept in place.
///
/// The text is bytes, as in Nix: `substring` and `stringLength` count bytes, a cut
/// inside a UTF-8 sequence keeps the bytes, and regexes match bytes.
#[derive(Debug)]
pub struct NixStr {
    /// The text's bytes, usually but not necessarily UTF-8: short ones in place,
    /// longer ones in a boxed slice (see [`Bytes`]).
    pub s: Bytes,
    /// The context; empty for most strings. Dropped by hand (see the `Drop` below):
    /// dropping an empty `BTreeSet` still walks it, and most strings die empty.
    pub ctx: std::mem::ManuallyDrop<Context>,
}

impl Drop for NixStr {
    fn drop(&mut self) {
        if !self.ctx.is_empty() {
            // SAFETY: dropped once, here; the field is not used afterwards.
            unsafe { std::mem::ManuallyDrop::drop(&mut self.ctx) }
        }
    }
}

/// How many bytes a [`Bytes`] holds in place.
const INLINE_BYTES: usize = 22;

/// A string's bytes: up to 22 in place, more in a boxed slice. Most strings are short
/// (names, numbers, JSON fields, regex groups): kept in place, a string is one
/// allocation instead of two, in a block the size of the two it replaces. A boxed
/// slice rather than a `Vec` for the rest: no spare capacity kept.
#[derive(Clone)]
pub enum Bytes {
    /// The length and the bytes (those past the length are zero).
    Inline(u8, [u8; INLINE_BYTES]),
    /// More bytes than fit in place.
    Heap(Box<[u8]>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Inline(len, bytes) => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Bytes::Heap(b) => b,
        }
    }
}

impl From<&[u8]> for Bytes {
    #[inline]
    fn from(s: &[u8]) -> Bytes {
        let mut bytes = [0u8; INLINE_BYTES];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(place), Ok(len)) => {
                place.copy_from_slice(s);
                Bytes::Inline(len, bytes)
            }
            _ => Bytes::Heap(Box::from(s)),
        }
    }
}

impl From<Vec<u8>> for Bytes {
    #[inline]
    fn from(v: Vec<u8>) -> Bytes {
        if v.len() <= INLINE_BYTES {
            Bytes::from(&v[..])
        } else {
            Bytes::Heap(v.into_boxed_slice())
        }
    }
}

/// What a string value is made from: owned text is moved in when long, borrowed text
/// is copied once (into place when short), never into a vector first.
pub trait IntoBytes {
    /// The bytes.
    fn into_nix_bytes(self) -> Bytes;
}

impl IntoBytes for Vec<u8> {
    #[inline]
    fn into_nix_bytes(self) -> Bytes {
        Bytes::from(self)
    }
}

impl IntoBytes for String {
    #[inline]
    fn into_nix_bytes(self) -> Bytes {
        Bytes::from(self.into_bytes())
    }
}

impl<T: AsRef<[u8]> + ?Sized> IntoBytes for &T {
    #[inline]
    fn into_nix_bytes(self) -> Bytes {
        Bytes::from(self.as_ref())
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        **self == **other
    }
}

impl Eq for Bytes {}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        String::from_utf8_lossy(self).fmt(f)
    }
}

/// How many bytes a [`Str`] holds in place.
pub(crate) const SHORT_BYTES: usize = 14;

/// [`Str::tag`] of a string kept in a shared [`NixStr`].
const SHARED: u8 = u8::MAX;

/// The bytes of a shared string's pointer, at the start of [`Str::bytes`].
const POINTER_BYTES: usize = std::mem::size_of::<usize>();

/// A string value: up to 14 bytes without context in the value itself, any other in a
/// shared [`NixStr`]. Most strings are short (names, numbers, regex groups, JSON
/// fields): in place they take no allocation at all (`regex` of
/// `checks/bench/eval.sh`: a quarter of its time went to its groups' allocations and
/// the pages they filled). Byte-aligned and 15 bytes long, so that a [`Value`] stays 16
/// bytes; a shared string's pointer is kept unaligned in its first bytes.
pub struct Str {
    /// The length of a string in place, or [`SHARED`].
    tag: u8,
    bytes: [u8; SHORT_BYTES],
    /// Neither `Send` nor `Sync`, like the `Rc` it may hold.
    _rc: std::marker::PhantomData<Rc<NixStr>>,
}

/// The context of every string in place.
struct EmptyContext(Context);

// SAFETY: an empty set holds no `Rc`; through a shared reference it can only be read
// (nothing to iterate) or cloned into a new empty set, which touches no reference count.
unsafe impl Sync for EmptyContext {}

static EMPTY_CONTEXT: EmptyContext = EmptyContext(BTreeSet::new());

impl Str {
    /// A string of `bytes` with `ctx`: in place when short and without context.
    #[inline]
    pub fn new(bytes: Bytes, ctx: Context) -> Str {
        if let (Bytes::Inline(len, inline), true) = (&bytes, ctx.is_empty()) {
            if usize::from(*len) <= SHORT_BYTES {
                let mut short = [0u8; SHORT_BYTES];
                short.copy_from_slice(&inline[..SHORT_BYTES]);
                // An empty set owns nothing: forgotten rather than dropped, whose walk
                // of the (empty) tree is most of the cost of a short string.
                std::mem::forget(ctx);
                return Str {
                    tag: *len,
                    bytes: short,
                    _rc: std::marker::PhantomData,
                };
            }
        }
        Str::shared(Rc::new(NixStr {
            s: bytes,
            ctx: std::mem::ManuallyDrop::new(ctx),
        }))
    }

    /// A string without context kept in place, if `bytes` are few enough: made without
    /// the detour through [`Bytes`] (`attrNames`, whose names are mostly short).
    #[inline]
    pub fn short(bytes: &[u8]) -> Option<Str> {
        let mut short = [0u8; SHORT_BYTES];
        short.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Str {
            tag: bytes.len() as u8,
            bytes: short,
            _rc: std::marker::PhantomData,
        })
    }

    /// A string kept in `rc`.
    fn shared(rc: Rc<NixStr>) -> Str {
        let mut bytes = [0u8; SHORT_BYTES];
        bytes[..POINTER_BYTES].copy_from_slice(&(Rc::into_raw(rc) as usize).to_ne_bytes());
        Str {
            tag: SHARED,
            bytes,
            _rc: std::marker::PhantomData,
        }
    }

    /// The shared string's pointer (from `Rc::into_raw`), for a string not in place.
    #[inline]
    fn shared_ptr(&self) -> Option<*const NixStr> {
        let mut word = [0u8; POINTER_BYTES];
        word.copy_from_slice(&self.bytes[..POINTER_BYTES]);
        (self.tag == SHARED).then_some(usize::from_ne_bytes(word) as *const NixStr)
    }

    /// The shared string, for a string not in place.
    #[inline]
    fn heap(&self) -> Option<&NixStr> {
        // SAFETY: the pointer came from `Rc::into_raw` and this value holds one of its
        // counts, so the `NixStr` lives at least as long as `self`.
        self.shared_ptr().map(|p| unsafe { &*p })
    }

    /// The context (empty for a string in place).
    #[inline]
    pub fn ctx(&self) -> &Context {
        match self.heap() {
            Some(s) => &s.ctx,
            None => &EMPTY_CONTEXT.0,
        }
    }

    /// The text as UTF-8, invalid sequences replaced by U+FFFD. For places that need
    /// text (names, messages, hash algorithms); values keep their bytes.
    pub fn lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self)
    }

    /// Whether both are the same string value (one shared string, or equal in place):
    /// a cheap test before comparing bytes.
    #[inline]
    pub fn same(&self, other: &Str) -> bool {
        self.tag == other.tag && self.bytes == other.bytes
    }
}

impl std::ops::Deref for Str {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self.heap() {
            Some(s) => &s.s,
            None => self.bytes.get(..usize::from(self.tag)).unwrap_or_default(),
        }
    }
}

impl Clone for Str {
    #[inline]
    fn clone(&self) -> Str {
        if let Some(p) = self.shared_ptr() {
            // SAFETY: `p` came from `Rc::into_raw` and is alive (this value holds a
            // count); the copy made below holds the new count.
            unsafe { Rc::increment_strong_count(p) };
        }
        Str {
            tag: self.tag,
            bytes: self.bytes,
            _rc: std::marker::PhantomData,
        }
    }
}

impl Drop for Str {
    #[inline]
    fn drop(&mut self) {
        if let Some(p) = self.shared_ptr() {
            // SAFETY: `p` came from `Rc::into_raw`; this value's count is given back once.
            drop(unsafe { Rc::from_raw(p) });
        }
    }
}

impl std::fmt::Debug for Str {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.lossy().fmt(f)?;
        if !self.ctx().is_empty() {
            write!(f, " (context {:?})", self.ctx())?;
        }
        Ok(())
    }
}

/// A Nix value. Cheap to clone: heap data is reference counted.
#[derive(Clone, Debug)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    String(Str),
    /// A canonical absolute path (a thin pointer, as for lists: a value takes 16 bytes
    /// instead of 24).
    Path(Rc<String>),
    /// A list.
    List(List),
    /// An attribute set.
    Attrs(Rc<Attrs>),
    /// A closure.
    Lambda(Rc<Closure>),
    /// A builtin, possibly partially applied.
    PrimOp(Rc<PrimOpApp>),
    /// A lazily evaluated value, in its evaluator's [`crate::thunks::Thunks`].
    Thunk(ThunkRef),
}

/// A list's elements: a thin pointer to a boxed slice, so that a [`Value`] takes 16
/// bytes rather than the 24 an `Rc<[Value]>` (a fat pointer) would need. Making one
/// costs two allocations, as `Rc::from(Vec)` did (it copies the vector), but no copy.
pub type List = Rc<Items>;

/// The elements of a list.
#[derive(Debug, Default)]
pub struct Items(pub Box<[Value]>);

impl std::ops::Deref for Items {
    type Target = [Value];
    #[inline]
    fn deref(&self) -> &[Value] {
        &self.0
    }
}

/// One attribute.
#[derive(Clone, Debug)]
pub struct Attr {
    /// Its name.
    pub name: Symbol,
    /// Its (possibly unevaluated) value.
    pub value: Value,
    /// Where it was defined.
    pub pos: Pos,
}

/// An attribute set: attributes sorted by name.
///
/// `a // b` with a small `b` does not copy `a`: the result is a layer holding `b`'s
/// attributes over `a` (shared). Layers are merged while the one below is at most twice
/// as big as the one above, so a chain has O(log n) layers and building a set of n
/// attributes one `//` at a time costs O(n log n) instead of O(n²). The sorted view of
/// a layered set is merged when first iterated and kept.
#[derive(Debug, Default)]
pub struct Attrs {
    /// This layer's attributes, sorted by name text, unique; they shadow the layers
    /// below.
    own: Vec<Attr>,
    /// The layers below, if any (boxed: most sets have none and stay small).
    below: Option<Box<Below>>,
}

/// What lies under the top layer of a layered set.
#[derive(Debug)]
struct Below {
    /// The set below the top layer.
    base: Rc<Attrs>,
    /// Number of distinct names in all layers.
    len: usize,
    /// The merged, sorted view, made when first needed.
    flat: OnceCell<Vec<Attr>>,
}

/// Sets of at most this many attributes are copied by `//` rather than layered
/// (`x // { priority = p; }` over a definition record, in the module system).
const SMALL_SET: usize = 16;

/// Merges two sorted attribute vectors; `top` wins on equal names.
fn merge_sorted(below: &[Attr], top: &[Attr]) -> Vec<Attr> {
    let mut out = Vec::with_capacity(below.len() + top.len());
    // Few new attributes into a big vector (the common `acc // { x = …; }`): binary
    // search their places and copy the runs in between, instead of comparing names
    // (a pointer chase each) along the whole vector.
    if top.len() * 16 < below.len() {
        let mut start = 0;
        for new in top {
            let rest = below.get(start..).unwrap_or(&[]);
            let (k, skip) = match rest.binary_search_by(|x| x.name.cmp(&new.name)) {
                Ok(k) => (k, 1),
                Err(k) => (k, 0),
            };
            out.extend_from_slice(rest.get(..k).unwrap_or(&[]));
            out.push(new.clone());
            start += k + skip;
        }
        out.extend_from_slice(below.get(start..).unwrap_or(&[]));
        return out;
    }
    let (mut i, mut j) = (0, 0);
    while let (Some(x), Some(y)) = (below.get(i), top.get(j)) {
        match x.name.cmp(&y.name) {
            std::cmp::Ordering::Less => {
                out.push(x.clone());
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(y.clone());
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(y.clone());
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(below.get(i..).unwrap_or(&[]));
    out.extend_from_slice(top.get(j..).unwrap_or(&[]));
    out
}

/// Finds `name` in one sorted layer. Up to a few dozen attributes (most sets) a scan
/// comparing pointers beats a binary search, whose every step compares the names'
/// text.
#[inline(always)]
fn find_in(entries: &[Attr], name: Symbol) -> Option<&Attr> {
    if entries.len() <= 32 {
        return entries.iter().find(|a| a.name == name);
    }
    find_sorted(entries, name)
}

/// [`find_in`]'s binary search, out of line: the scan is what every lookup inlines.
#[inline(never)]
fn find_sorted(entries: &[Attr], name: Symbol) -> Option<&Attr> {
    entries
        .binary_search_by(|a| a.name.cmp(&name))
        .ok()
        .and_then(|i| entries.get(i))
}

impl Attrs {
    /// A set from attributes already sorted by name and unique.
    pub fn new(entries: Vec<Attr>) -> Attrs {
        Attrs {
            own: entries,
            below: None,
        }
    }

    /// The attributes, sorted by name.
    pub fn entries(&self) -> &[Attr] {
        match &self.below {
            None => &self.own,
            Some(below) => below.flat.get_or_init(|| {
                let mut layers = vec![&self.own[..]];
                let mut cur = Some(&below.base);
                while let Some(b) = cur {
                    layers.push(&b.own[..]);
                    cur = b.below.as_ref().map(|x| &x.base);
                }
                let mut out: Vec<Attr> = Vec::new();
                for layer in layers.iter().rev() {
                    out = merge_sorted(&out, layer);
                }
                out
            }),
        }
    }

    /// Number of attributes.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.below {
            None => self.own.len(),
            Some(below) => below.len,
        }
    }

    /// Whether the set has no attributes.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Finds an attribute.
    #[inline(always)]
    pub fn get(&self, name: Symbol) -> Option<&Attr> {
        let mut cur = self;
        loop {
            if let Some(a) = find_in(&cur.own, name) {
                return Some(a);
            }
            match &cur.below {
                Some(b) => cur = &b.base,
                None => return None,
            }
        }
    }

    /// Builds a set from unsorted attributes; later duplicates win. Sorted and
    /// deduplicated in place: no second vector.
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by_key(|a| a.name);
        // `dedup_by` keeps the first of equal neighbours: the later one's attribute is
        // swapped into it first, so the last definition is the one kept.
        entries.dedup_by(|later, kept| {
            let same = later.name == kept.name;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        Attrs::new(entries)
    }

    /// `a // b`.
    pub fn update(a: &Rc<Attrs>, b: &Rc<Attrs>) -> Rc<Attrs> {
        if b.is_empty() {
            return a.clone();
        }
        if a.is_empty() {
            return b.clone();
        }
        // A small `a` is copied: a layer over it would cost more (a block for the
        // layer, then a merged view for the first iteration) than the copy it saves.
        if b.len() * 4 > a.len() || a.len() <= SMALL_SET {
            return Rc::new(Attrs::new(merge_sorted(a.entries(), b.entries())));
        }
        // A layer over `a`, merged with the layers below while they are not much
        // bigger, which keeps the chain logarithmic.
        let added = b
            .entries()
            .iter()
            .filter(|at| a.get(at.name).is_none())
            .count();
        let mut own = b.entries().to_vec();
        let mut base = a.clone();
        while base.own.len() <= 2 * own.len() {
            own = merge_sorted(&base.own, &own);
            match &base.below {
                Some(below) => base = below.base.clone(),
                None => return Rc::new(Attrs::new(own)),
            }
        }
        Rc::new(Attrs {
            own,
            below: Some(Box::new(Below {
                base,
                len: a.len() + added,
                flat: OnceCell::new(),
            })),
        })
    }
}

/// A function value: code plus the environment it closes over.
#[derive(Debug)]
pub struct Closure {
    /// The function literal.
    pub lambda: Rc<Lambda>,
    /// The defining environment.
    pub env: Rc<Env>,
}

/// The signature of a builtin's implementation: evaluator, arguments, call position.
pub type PrimFn = fn(&mut crate::eval::Eval, &[Value], Pos) -> crate::error::R<Value>;

/// A builtin function.
#[derive(Debug)]
pub struct PrimOpDef {
    /// Its name without `builtins.`.
    pub name: &'static str,
    /// How many arguments it takes before running.
    pub arity: usize,
    /// The implementation.
    pub func: PrimFn,
}

/// A builtin with the arguments it has received so far.
#[derive(Debug)]
pub struct PrimOpApp {
    /// The builtin.
    pub op: &'static PrimOpDef,
    /// Arguments received (fewer than its arity).
    pub args: Vec<Value>,
}

/// The bound values of an environment frame.
#[derive(Debug)]
pub enum Slots {
    /// A one-argument function's frame: its argument, known when the frame is made
    /// (the common case, kept inline to save an allocation per call).
    One(Value),
    /// Frames whose values may refer to the frame itself (`rec`, `let`, defaults of
    /// a pattern): set once, right after the frame is made.
    Many(OnceCell<Box<[Value]>>),
    /// Like `Many` for a single value (`let x = …; in`): set once, right after the
    /// frame is made, without a slice of its own.
    Late(OnceCell<Value>),
}

/// An environment frame.
#[derive(Debug)]
pub struct Env {
    /// Bound values, addressed by slot.
    pub slots: Slots,
    /// The enclosing frame.
    pub parent: Option<Rc<Env>>,
    /// Whether this is a `with` frame, whose one slot holds the namespace (possibly a
    /// thunk) that names not bound lexically are looked up in; no variable refers to
    /// it by slot. A flag rather than an `Option<Value>` in every frame: 16 bytes less
    /// per frame, and a frame is made at every call.
    pub with: bool,
}

impl Env {
    /// A frame holding one value, below `parent`.
    #[inline]
    pub fn one(parent: Option<Rc<Env>>, value: Value) -> Rc<Env> {
        Rc::new(Env {
            slots: Slots::One(value),
            parent,
            with: false,
        })
    }

    /// A frame whose slots are filled later with [`Env::fill`], below `parent`.
    #[inline]
    pub fn unfilled(parent: Option<Rc<Env>>) -> Rc<Env> {
        Rc::new(Env {
            slots: Slots::Many(OnceCell::new()),
            parent,
            with: false,
        })
    }

    /// A frame without slots, below `parent`.
    pub fn empty(parent: Option<Rc<Env>>) -> Rc<Env> {
        let env = Env::unfilled(parent);
        env.fill(Vec::new());
        env
    }

    /// A frame whose one slot is set later with [`Env::fill_one`], below `parent`.
    #[inline]
    pub fn unfilled_one(parent: Option<Rc<Env>>) -> Rc<Env> {
        Rc::new(Env {
            slots: Slots::Late(OnceCell::new()),
            parent,
            with: false,
        })
    }

    /// Sets the slot of a frame made by [`Env::unfilled_one`]; later calls do nothing.
    #[inline]
    pub fn fill_one(&self, value: Value) {
        if let Slots::Late(cell) = &self.slots {
            let _ = cell.set(value);
        }
    }

    /// Sets the slots of a frame made by [`Env::unfilled`]; later calls do nothing.
    #[inline]
    pub fn fill(&self, values: Vec<Value>) {
        if let Slots::Many(cell) = &self.slots {
            let _ = cell.set(values.into_boxed_slice());
        }
    }

    /// The value in `slot`, if the frame has it.
    #[inline]
    pub fn get(&self, slot: u32) -> Option<&Value> {
        match &self.slots {
            Slots::One(v) if slot == 0 => Some(v),
            Slots::One(_) => None,
            Slots::Many(cell) => cell.get().and_then(|s| s.get(slot as usize)),
            Slots::Late(cell) if slot == 0 => cell.get(),
            Slots::Late(_) => None,
        }
    }
}

/// The state of a lazy value. 24 bytes: every state holds at most three words, the
/// rare general application is boxed.
#[derive(Debug)]
pub enum ThunkState {
    /// An expression to evaluate in an environment.
    Pending(Rc<Expr>, Rc<Env>),
    /// A function literal applied lazily by a builtin (`map f xs`, `genList f n`).
    ApplyLambda(Rc<Closure>, Value),
    /// Any other function value applied lazily by a builtin.
    Apply(Box<(Value, Value)>),
    /// A function applied lazily to two arguments (`mapAttrs f`, `zipAttrsWith f`):
    /// one thunk where nesting single applications would make two.
    Apply2(Box<(Value, Value, Value)>),
    /// Being evaluated: forcing it again means infinite recursion.
    Blackhole,
    /// The result.
    Done(Value),
}

/// A lazy value, updated in place once evaluated.
///
/// A `Cell` rather than a `RefCell`: no borrow flag, so that a thunk takes 24 bytes in
/// its evaluator's [`crate::thunks::Thunks`] (programs make millions). The state is
/// taken out (leaving [`ThunkState::Blackhole`]) while it is looked at or evaluated,
/// and put back.
pub struct Thunk(Cell<ThunkState>);

impl std::fmt::Debug for Thunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Thunk")
    }
}

impl Thunk {
    /// A thunk in `state`.
    #[inline]
    pub fn new(state: ThunkState) -> Thunk {
        Thunk(Cell::new(state))
    }

    /// Its value, if it has been evaluated.
    #[inline(always)]
    pub fn value(&self) -> Option<Value> {
        self.value_ref().cloned()
    }

    /// Its value in place, if it has been evaluated: read without a copy, so without
    /// writing the reference count of what it holds (deep comparisons walk big values
    /// whose every count write would dirty a cache line).
    #[inline(always)]
    pub fn value_ref(&self) -> Option<&Value> {
        // SAFETY: an evaluated state is final: `Eval::force_thunk` takes and puts back
        // only states not evaluated yet (`Eval::force` answers evaluated ones first),
        // and [`Thunk::set`] is only used on thunks being made. So nothing writes the
        // cell while the reference, tied to the thunk (which lives as long as its
        // store), is alive.
        match unsafe { &*self.0.as_ptr() } {
            ThunkState::Done(v) => Some(v),
            _ => None,
        }
    }

    /// Its value, if it has been evaluated to an integer (no clone to drop).
    #[inline]
    pub fn int(&self) -> Option<i64> {
        match self.value_ref() {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// Takes the state out, leaving [`ThunkState::Blackhole`].
    #[inline]
    pub fn take(&self) -> ThunkState {
        self.0.replace(ThunkState::Blackhole)
    }

    /// Puts a state taken by [`Thunk::take`] back (the thunk holds `Blackhole`, which
    /// needs no drop).
    #[inline]
    pub fn put(&self, state: ThunkState) {
        std::mem::forget(self.0.replace(state));
    }

    /// Replaces the state, dropping the old one. Only for a thunk being made, never an
    /// evaluated one (see [`Thunk::value_ref`]).
    #[inline]
    pub fn set(&self, state: ThunkState) {
        self.0.set(state);
    }
}

impl Value {
    /// A string value without context.
    pub fn string(s: impl IntoBytes) -> Value {
        Value::String(Str::new(s.into_nix_bytes(), Context::new()))
    }

    /// A string value with context.
    pub fn string_ctx(s: impl IntoBytes, ctx: Context) -> Value {
        Value::String(Str::new(s.into_nix_bytes(), ctx))
    }

    /// A list value.
    #[inline]
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(Items(items.into_boxed_slice())))
    }

    /// An attribute set value.
    pub fn attrs(entries: Vec<Attr>) -> Value {
        Value::Attrs(Rc::new(Attrs::new(entries)))
    }

    /// Whether it is a thunk not evaluated yet: forcing it runs code (which may trace
    /// or fail).
    #[inline]
    pub fn is_pending(&self) -> bool {
        match self {
            Value::Thunk(t) => t.value_ref().is_none(),
            _ => false,
        }
    }

    /// This value with an evaluated thunk replaced by its result, so that later uses
    /// skip the indirection (builtins that copy list elements into a new list).
    #[inline]
    pub fn settled(&self) -> Value {
        if let Value::Thunk(t) = self {
            if let Some(v) = t.value() {
                return v;
            }
        }
        self.clone()
    }

    /// The type name used by `builtins.typeOf`.
    pub fn type_of(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Path(_) => "path",
            Value::List(_) => "list",
            Value::Attrs(_) => "set",
            Value::Lambda(_) | Value::PrimOp(_) => "lambda",
            Value::Thunk(_) => "thunk",
        }
    }

    /// The type name with an article, as Nix's error messages print it.
    pub fn show_type(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a Boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Path(_) => "a path",
            Value::List(_) => "a list",
            Value::Attrs(_) => "a set",
            Value::Lambda(_) => "a function",
            Value::PrimOp(p) if p.args.is_empty() => "a built-in function",
            Value::PrimOp(_) => "a partially applied built-in function",
            Value::Thunk(_) => "a thunk",
        }
    }
}

/// Stack space below which dropping a value continues on a new stack segment.
const DROP_RED_ZONE: usize = 64 * 1024;
/// Size of each stack segment used for dropping.
const DROP_STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// Drops `parts` (what a dying list, set, frame or builtin application held, or a
/// syntax or IR node's children) on a heap-allocated stack segment when the native
/// stack runs low: dropping the last reference to a 100 000-deep list, frame chain or
/// expression tree recurses as deep. Checked where a
/// container dies rather than at every drop of a [`Value`] (most only decrement a
/// count), which lets values be dropped without a call. Thunks need no check: they are
/// dropped one after the other with their evaluator (see [`crate::thunks`]).
#[inline]
pub(crate) fn drop_deep<T>(parts: impl FnOnce() -> T) {
    if crate::eval::remaining_stack().is_some_and(|left| left < DROP_RED_ZONE) {
        let parts = parts();
        crate::eval::grow_stack(DROP_STACK_SEGMENT, move || drop(parts));
    }
}

impl Drop for Items {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            drop_deep(|| std::mem::take(&mut self.0));
        }
    }
}

impl Drop for Attrs {
    fn drop(&mut self) {
        drop_deep(|| (std::mem::take(&mut self.own), self.below.take()));
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        drop_deep(|| {
            (
                std::mem::replace(&mut self.slots, Slots::One(Value::Null)),
                self.parent.take(),
            )
        });
    }
}

impl Drop for PrimOpApp {
    fn drop(&mut self) {
        if !self.args.is_empty() {
            drop_deep(|| std::mem::take(&mut self.args));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values, attributes and thunks are made by the million: their sizes are kept.
    #[test]
    fn sizes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Symbol>(), 8);
        assert_eq!(std::mem::size_of::<Attr>(), 32);
        assert_eq!(std::mem::size_of::<Thunk>(), 24);
        assert_eq!(std::mem::size_of::<Bytes>(), 24);
    }

    /// A string's context is dropped with it (it is dropped by hand when not empty).
    #[test]
    fn a_string_drops_its_context() {
        let path: Rc<str> = Rc::from("/nix/store/00000000000000000000000000000000-x");
        let v = Value::string_ctx("x", Context::from([path.clone()]));
        assert_eq!(Rc::strong_count(&path), 2);
        drop(v);
        assert_eq!(Rc::strong_count(&path), 1);
    }

    /// A string value keeps up to 14 bytes without context in place; longer ones and
    /// ones with context are shared, and clones count references to the one copy.
    #[test]
    fn strings_in_place_or_shared() {
        for n in [0, 1, 13, 14, 15, 22, 23, 100] {
            let text: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            let s = Str::new(Bytes::from(&text[..]), Context::new());
            assert_eq!(&*s, &text[..], "length {n}");
            assert_eq!(s.shared_ptr().is_none(), n <= SHORT_BYTES, "length {n}");
            assert!(s.ctx().is_empty());
            let copy = s.clone();
            assert!(copy.same(&s) && *copy == text[..]);
            // An equal string made apart is the same only when in place.
            let apart = Str::new(Bytes::from(&text[..]), Context::new());
            assert_eq!(apart.same(&s), n <= SHORT_BYTES, "length {n}");
        }
        let short = Str::new(Bytes::from(&b"ab"[..]), Context::new());
        assert!(!short.same(&Str::new(Bytes::from(&b"abc"[..]), Context::new())));
        // Context keeps even a short string shared, and goes with its last clone.
        let path: Rc<str> = Rc::from("/nix/store/00000000000000000000000000000000-x");
        let s = Str::new(Bytes::from(&b"x"[..]), Context::from([path.clone()]));
        assert!(s.shared_ptr().is_some());
        let copy = s.clone();
        drop(s);
        assert_eq!(copy.ctx().len(), 1);
        assert_eq!(Rc::strong_count(&path), 2);
        drop(copy);
        assert_eq!(Rc::strong_count(&path), 1);
    }

    /// Up to 22 bytes are kept in place, more on the heap; either reads back the same.
    #[test]
    fn bytes_in_place_or_boxed() {
        for n in [0, 1, 21, 22, 23, 100] {
            let text: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            for b in [Bytes::from(&text[..]), Bytes::from(text.clone())] {
                assert_eq!(&*b, &text[..]);
                assert_eq!(matches!(b, Bytes::Inline(..)), n <= 22, "length {n}");
                assert_eq!(b.clone(), b);
            }
        }
        assert_ne!(Bytes::from(&b"ab"[..]), Bytes::from(&b"abc"[..]));
    }
}
