//! Runtime values, environments and thunks.

use crate::ir::{Expr, Lambda, Pos};
use crate::symbol::Symbol;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

/// A string's context: the store paths it refers to, in Nix's encoding
/// (`/nix/store/…` for a plain path, `=…drv` for a whole derivation closure,
/// `!out!…drv` for one output).
pub type Context = BTreeSet<Rc<str>>;

/// A Nix string with its context.
#[derive(Debug)]
pub struct NixStr {
    /// The text.
    pub s: String,
    /// The context; empty for most strings.
    pub ctx: Context,
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
    String(Rc<NixStr>),
    /// A canonical absolute path.
    Path(Rc<str>),
    /// A list.
    List(Rc<[Value]>),
    /// An attribute set.
    Attrs(Rc<Attrs>),
    /// A closure.
    Lambda(Rc<Closure>),
    /// A builtin, possibly partially applied.
    PrimOp(Rc<PrimOpApp>),
    /// A lazily evaluated value.
    Thunk(Rc<Thunk>),
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
#[derive(Debug, Default)]
pub struct Attrs {
    /// The attributes, sorted by name text, unique.
    pub entries: Vec<Attr>,
}

impl Attrs {
    /// Finds an attribute.
    pub fn get(&self, name: Symbol) -> Option<&Attr> {
        if self.entries.len() < 8 {
            return self.entries.iter().find(|a| a.name == name);
        }
        self.entries
            .binary_search_by(|a| a.name.cmp(&name))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// Builds a set from unsorted attributes; later duplicates win.
    pub fn from_unsorted(mut entries: Vec<Attr>) -> Attrs {
        entries.sort_by_key(|a| a.name);
        let mut out: Vec<Attr> = Vec::with_capacity(entries.len());
        for attr in entries {
            match out.last_mut() {
                Some(last) if last.name == attr.name => *last = attr,
                _ => out.push(attr),
            }
        }
        Attrs { entries: out }
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

/// An environment frame.
#[derive(Debug)]
pub struct Env {
    /// Bound values, addressed by slot.
    pub slots: RefCell<Vec<Value>>,
    /// The enclosing frame.
    pub parent: Option<Rc<Env>>,
    /// For `with` frames: the namespace (possibly a thunk).
    pub with: Option<Value>,
}

impl Env {
    /// A frame with `slots` to be filled, below `parent`.
    pub fn new(parent: Option<Rc<Env>>, slots: Vec<Value>) -> Rc<Env> {
        Rc::new(Env {
            slots: RefCell::new(slots),
            parent,
            with: None,
        })
    }
}

/// The state of a lazy value.
#[derive(Debug)]
pub enum ThunkState {
    /// An expression to evaluate in an environment.
    Pending(Rc<Expr>, Rc<Env>),
    /// A function application made lazily by a builtin (`map f xs`).
    Apply(Value, Value),
    /// Being evaluated: forcing it again means infinite recursion.
    Blackhole,
    /// The result.
    Done(Value),
}

/// A lazy value, updated in place once evaluated.
#[derive(Debug)]
pub struct Thunk(pub RefCell<ThunkState>);

impl Value {
    /// A string value without context.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(Rc::new(NixStr {
            s: s.into(),
            ctx: Context::new(),
        }))
    }

    /// A string value with context.
    pub fn string_ctx(s: String, ctx: Context) -> Value {
        Value::String(Rc::new(NixStr { s, ctx }))
    }

    /// An attribute set value.
    pub fn attrs(entries: Vec<Attr>) -> Value {
        Value::Attrs(Rc::new(Attrs { entries }))
    }

    /// A thunk applying `f` to `arg` when forced.
    pub fn apply_lazy(f: Value, arg: Value) -> Value {
        Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Apply(f, arg)))))
    }

    /// A lazy value of an expression in an environment.
    pub fn pending(expr: Rc<Expr>, env: Rc<Env>) -> Value {
        Value::Thunk(Rc::new(Thunk(RefCell::new(ThunkState::Pending(expr, env)))))
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

/// Something whose drop may recurse: values and environment frames.
enum Droppable {
    Value(Value),
    Env(Rc<Env>),
}

thread_local! {
    /// Values waiting to be dropped while a drop is already in progress.
    static DROP_QUEUE: RefCell<Option<Vec<Droppable>>> = const { RefCell::new(None) };
}

/// Moves what `d` owns exclusively onto `out` so it is dropped iteratively.
fn explode(d: Droppable, out: &mut Vec<Droppable>) {
    match d {
        Droppable::Value(mut v) => {
            match &mut v {
                Value::List(l) => {
                    if let Some(items) = Rc::get_mut(l) {
                        for item in items.iter_mut() {
                            out.push(Droppable::Value(std::mem::replace(item, Value::Null)));
                        }
                    }
                }
                Value::Attrs(a) => {
                    if let Some(attrs) = Rc::get_mut(a) {
                        for at in attrs.entries.iter_mut() {
                            out.push(Droppable::Value(std::mem::replace(
                                &mut at.value,
                                Value::Null,
                            )));
                        }
                    }
                }
                Value::Thunk(t) => {
                    if let Some(t) = Rc::get_mut(t) {
                        match std::mem::replace(t.0.get_mut(), ThunkState::Blackhole) {
                            ThunkState::Done(v) => out.push(Droppable::Value(v)),
                            ThunkState::Pending(_, env) => out.push(Droppable::Env(env)),
                            ThunkState::Apply(f, a) => {
                                out.push(Droppable::Value(f));
                                out.push(Droppable::Value(a));
                            }
                            ThunkState::Blackhole => {}
                        }
                    }
                }
                Value::Lambda(c) => {
                    if let Some(c) = Rc::get_mut(c) {
                        let env = std::mem::replace(&mut c.env, Env::new(None, Vec::new()));
                        out.push(Droppable::Env(env));
                    }
                }
                Value::PrimOp(p) => {
                    if let Some(p) = Rc::get_mut(p) {
                        out.extend(p.args.drain(..).map(Droppable::Value));
                    }
                }
                _ => {}
            }
            // `v`'s children were moved out; dropping it no longer recurses.
            let mut leaf = std::mem::replace(&mut v, Value::Null);
            drop_leaf(&mut leaf);
        }
        Droppable::Env(mut env) => {
            if let Some(e) = Rc::get_mut(&mut env) {
                out.extend(e.slots.get_mut().drain(..).map(Droppable::Value));
                if let Some(w) = e.with.take() {
                    out.push(Droppable::Value(w));
                }
                if let Some(p) = e.parent.take() {
                    out.push(Droppable::Env(p));
                }
            }
        }
    }
}

thread_local! {
    /// Set while dropping a container whose children were moved out: its drop cannot
    /// recurse, so it must not be queued again.
    static LEAF_DROP: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Drops a value whose children were already moved out.
fn drop_leaf(v: &mut Value) {
    LEAF_DROP.with(|f| f.set(true));
    let _ = std::mem::replace(v, Value::Null);
    LEAF_DROP.with(|f| f.set(false));
}

impl Drop for Value {
    /// Drops nested values iteratively: dropping a 100 000-deep list or thunk chain must
    /// not overflow the native stack.
    fn drop(&mut self) {
        let shared = match self {
            Value::List(l) => Rc::strong_count(l) > 1 || l.is_empty(),
            Value::Attrs(a) => Rc::strong_count(a) > 1 || a.entries.is_empty(),
            Value::Thunk(t) => Rc::strong_count(t) > 1,
            Value::Lambda(c) => Rc::strong_count(c) > 1,
            Value::PrimOp(p) => Rc::strong_count(p) > 1 || p.args.is_empty(),
            _ => true,
        };
        if shared || LEAF_DROP.with(|f| f.get()) {
            return;
        }
        let v = std::mem::replace(self, Value::Null);
        let queued = DROP_QUEUE.with(|q| match q.try_borrow_mut() {
            Ok(mut q) => match q.as_mut() {
                Some(queue) => {
                    queue.push(Droppable::Value(v));
                    None
                }
                None => {
                    *q = Some(Vec::new());
                    Some(v)
                }
            },
            Err(_) => Some(v),
        });
        let Some(v) = queued else { return };
        let mut work = vec![Droppable::Value(v)];
        loop {
            while let Some(d) = work.pop() {
                explode(d, &mut work);
            }
            let more = DROP_QUEUE.with(|q| match q.try_borrow_mut() {
                Ok(mut q) => q.as_mut().map(std::mem::take).unwrap_or_default(),
                Err(_) => Vec::new(),
            });
            if more.is_empty() {
                break;
            }
            work = more;
        }
        DROP_QUEUE.with(|q| {
            if let Ok(mut q) = q.try_borrow_mut() {
                *q = None;
            }
        });
    }
}
