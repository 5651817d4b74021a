//! The evaluation core: expressions to values, forcing, calls and operators.

use crate::error::{err, err_kind, ErrorKind, EvalError, R};
use crate::ir::{AttrKey, AttrsLit, BinOp, Expr, ExprRef, Lambda, Param, Pos, StrPart};
use crate::symbol::{intern, intern_bytes, FxBuild, Symbol};
use crate::thunks::{ThunkRef, Thunks};
use crate::value::{Attr, Attrs, Closure, Context, Env, PrimOpApp, Slots, Str, ThunkState, Value};
use std::cell::OnceCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// Stack space kept free before growing the stack onto the heap.
const RED_ZONE: usize = 128 * 1024;
/// Size of each new stack segment.
const STACK_SEGMENT: usize = 4 * 1024 * 1024;

/// The most stack segments in use at once (1 GiB of stack): deeper recursion is an
/// error, like Nix's "stack overflow", instead of taking all memory.
const MAX_STACK_SEGMENTS: usize = 256;

thread_local! {
    static STACK_SEGMENTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The lowest usable address of the stack segment the thread runs on; 0 until
    /// first asked, 1 when the thread's stack is unknown (then it is never grown).
    static STACK_LIMIT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Room kept between the computed bottom of a new segment and its real one: the
/// frames between [`grow_stack`]'s call and its closure are already on that segment.
const SEGMENT_SLACK: usize = 16 * 1024;

/// An address in the current stack frame (the stack pointer, near enough).
#[inline(always)]
fn stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

/// Stack space left below the current frame, or `None` when the thread's stack is
/// unknown. The same answer as `stacker::remaining_stack()` for a fraction of its
/// cost (a thread-local read and a comparison, no call): it is asked before every
/// evaluation step and every drop of a last reference.
#[inline(always)]
pub(crate) fn remaining_stack() -> Option<usize> {
    let sp = stack_pointer();
    let limit = STACK_LIMIT.with(|l| l.get());
    if limit > 1 {
        return Some(sp.saturating_sub(limit));
    }
    remaining_stack_unknown(sp, limit)
}

/// [`remaining_stack`] before the limit is known (0), or when it cannot be (1).
#[cold]
#[inline(never)]
fn remaining_stack_unknown(sp: usize, limit: usize) -> Option<usize> {
    let limit = if limit == 0 {
        init_stack_limit(sp)
    } else {
        limit
    };
    if limit == 1 {
        return None;
    }
    Some(sp.saturating_sub(limit))
}

/// The thread's stack limit, asked once from `stacker`.
#[cold]
#[inline(never)]
fn init_stack_limit(sp: usize) -> usize {
    let limit = match stacker::remaining_stack() {
        Some(left) => sp.saturating_sub(left).max(2),
        None => 1,
    };
    STACK_LIMIT.with(|l| l.set(limit));
    limit
}

/// Runs `f` on a new stack segment of `size` bytes, with [`remaining_stack`]'s limit
/// set to that segment while it runs.
#[cold]
#[inline(never)]
pub(crate) fn grow_stack<T>(size: usize, f: impl FnOnce() -> T) -> T {
    let old = STACK_LIMIT.with(|l| l.get());
    let result = stacker::grow(size, || {
        let bottom = stack_pointer().saturating_sub(size) + SEGMENT_SLACK;
        STACK_LIMIT.with(|l| l.set(bottom.max(2)));
        f()
    });
    STACK_LIMIT.with(|l| l.set(old));
    result
}

/// An error for recursion too deep to go on (an endless recursion, most likely).
pub trait StackOverflow {
    /// The error.
    fn stack_overflow() -> Self;
}

impl StackOverflow for Box<crate::error::EvalError> {
    fn stack_overflow() -> Self {
        crate::error::err_kind(
            crate::error::ErrorKind::StackOverflow,
            "stack overflow (possible infinite recursion)",
            Pos::NONE,
        )
    }
}

impl StackOverflow for String {
    fn stack_overflow() -> Self {
        "stack overflow (possible infinite recursion)".to_string()
    }
}

/// Runs `f` with enough native stack, growing it on the heap when needed, so deep
/// (non-tail) recursion in Nix code cannot overflow the process stack; past
/// [`MAX_STACK_SEGMENTS`] it fails instead.
#[inline]
pub fn with_stack<T, E: StackOverflow>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    if remaining_stack().is_some_and(|left| left >= RED_ZONE) {
        return f();
    }
    grow_or_fail(f)
}

/// How many levels of a recursion over a syntax tree may run between two stack checks:
/// their frames (at most 3 kB per level in the parser and lowering) fit in [`RED_ZONE`]
/// many times over, and checking at every level cost 2.7 % of loading modules.
const CHECK_EVERY: u32 = 16;

/// Runs `f`, one level deeper in a recursion over a syntax tree (the parser's, the
/// lowering's), with enough stack: `depth` counts the levels, and the stack is checked
/// (through [`with_stack`]) every [`CHECK_EVERY`] of them, the first included.
/// `locate` gives an error coming out of a checked level the position of that level.
#[inline]
pub(crate) fn one_level_deeper<S, T, E: StackOverflow>(
    state: &mut S,
    depth: fn(&mut S) -> &mut u32,
    f: impl FnOnce(&mut S) -> Result<T, E>,
    locate: impl FnOnce(&S, E) -> E,
) -> Result<T, E> {
    *depth(state) += 1;
    let r = if *depth(state) % CHECK_EVERY == 1 {
        with_stack(|| f(state)).map_err(|e| locate(state, e))
    } else {
        f(state)
    };
    *depth(state) -= 1;
    r
}

/// [`with_stack`]'s rare case, out of line so that the common one stays small.
#[cold]
#[inline(never)]
fn grow_or_fail<T, E: StackOverflow>(f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let in_use = STACK_SEGMENTS.with(|n| n.get());
    if in_use >= MAX_STACK_SEGMENTS {
        return Err(E::stack_overflow());
    }
    STACK_SEGMENTS.with(|n| n.set(in_use + 1));
    let result = grow_stack(STACK_SEGMENT, f);
    STACK_SEGMENTS.with(|n| n.set(in_use));
    result
}

/// A loaded source text.
#[derive(Debug)]
pub struct FileInfo {
    /// The name shown in positions: the path, or `«string»`.
    pub name: String,
    /// The text.
    pub text: Rc<str>,
    /// Where each line starts (byte offsets), made on the first position asked for:
    /// finding a line by counting newlines from the start made every position cost
    /// the text before it (`unsafeGetAttrPos` on each attribute of a big file was
    /// quadratic).
    line_starts: OnceCell<Vec<usize>>,
}

impl FileInfo {
    /// The 1-based line and column of the byte offset `off` (at most the text's
    /// length), `None` when `off` is inside a character.
    fn line_col(&self, off: usize) -> Option<(usize, usize)> {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', self.text.as_bytes()).map(|i| i + 1))
                .collect()
        });
        // The first start is 0, so at least one start is at or before `off`.
        let line = starts.partition_point(|&start| start <= off);
        let line_start = *starts.get(line.checked_sub(1)?)?;
        let col = self.text.get(line_start..off)?.chars().count() + 1;
        Some((line, col))
    }
}

/// Frequently used symbols.
pub struct Syms {
    /// `outPath`
    pub out_path: Symbol,
    /// `__toString`
    pub to_string: Symbol,
    /// `__functor`
    pub functor: Symbol,
    /// `type`
    pub type_: Symbol,
    /// `name`
    pub name: Symbol,
    /// `value`
    pub value: Symbol,
    /// `drvPath`
    pub drv_path: Symbol,
}

/// How a value is coerced to a string.
#[derive(Clone, Copy)]
pub struct Coerce {
    /// `toString` rules: also null, Booleans, numbers and lists.
    pub more: bool,
    /// Whether paths are copied to the store (interpolation) or kept as text.
    pub copy: bool,
}

/// The evaluator state.
pub struct Eval {
    /// Loaded files (for positions in messages).
    pub files: Vec<FileInfo>,
    /// Names visible everywhere (`builtins`, `map`, `true`, …).
    pub globals: HashMap<Symbol, Value, FxBuild>,
    /// Values of imported files, by canonical path.
    pub import_cache: HashMap<PathBuf, Value>,
    /// `-I` / `NIX_PATH` entries.
    pub search_path: Vec<(String, PathBuf)>,
    /// Pre-interned names.
    pub syms: Syms,
    /// Store paths of paths copied by interpolation, by source path.
    pub store_cache: HashMap<String, String>,
    /// Derivations and text files computed so far.
    pub store: crate::store_glue::StoreState,
    /// Emptied one-argument call frames, reused by later calls.
    env_pool: Vec<Rc<Env>>,
    /// Whether values that cannot fail may be computed when they are created instead
    /// of becoming thunks. Only allowed when the result is printed deeply forced: Nix
    /// prints unevaluated parts as `<CODE>`, which must stay the same.
    pub speculate: bool,
    /// Attribute names too long to be kept in place as string values (`attrNames`,
    /// `mapAttrs`), made once each.
    name_strings: HashMap<Symbol, Str, FxBuild>,
    /// The buffer strings are built in (interpolation, `+`), kept from one string to
    /// the next: see [`Eval::build_string`].
    str_buf: Vec<u8>,
    /// Every thunk of this evaluator. Its drop breaks the reference cycles evaluation
    /// made (a value bound by `rec`, `let` or a default that refers to its own frame,
    /// `builtins.builtins`): each goes through a thunk.
    pub thunks: Thunks,
}

/// How many emptied call frames are kept for reuse.
const ENV_POOL: usize = 64;

/// The longest text [`Eval::build_string`] copies out of its buffer: a longer one takes
/// the buffer itself (one copy of a big string at a time, and no big buffer kept).
const STR_BUF_KEEP: usize = 64 * 1024;

/// Where `<nix/…>` points when no search-path entry has it (Nix's corepkgs).
const COREPKGS_PREFIX: &str = "/__corepkgs__/";

/// The one corepkg that can be imported.
const COREPKGS_FETCHURL: &str = "/__corepkgs__/fetchurl.nix";

#[cold]
fn type_err(v: &Value, expected: &str, pos: Pos) -> Box<EvalError> {
    err(
        format!("value is {} while {expected} was expected", v.show_type()),
        pos,
    )
}

impl Eval {
    /// A fresh evaluator with the builtins installed, finding `<name>` paths in
    /// `search_path`.
    pub fn new(search_path: Vec<(String, PathBuf)>) -> Eval {
        let mut ev = Eval {
            files: Vec::new(),
            globals: HashMap::default(),
            import_cache: HashMap::new(),
            search_path,
            syms: Syms {
                out_path: intern("outPath"),
                to_string: intern("__toString"),
                functor: intern("__functor"),
                type_: intern("type"),
                name: intern("name"),
                value: intern("value"),
                drv_path: intern("drvPath"),
            },
            store_cache: HashMap::new(),
            store: Default::default(),
            env_pool: Vec::new(),
            speculate: false,
            name_strings: HashMap::default(),
            str_buf: Vec::new(),
            thunks: Thunks::default(),
        };
        crate::builtins::install(&mut ev);
        ev
    }

    /// An attribute name as a string value: in place when short, otherwise shared by
    /// every use of the name (strings are immutable: builtins that list names need not
    /// copy them each time).
    pub fn name_string(&mut self, name: Symbol) -> Value {
        if let Some(short) = Str::short(name.as_bytes()) {
            return Value::String(short);
        }
        Value::String(
            self.name_strings
                .entry(name)
                .or_insert_with(|| Str::new(name.as_bytes().into(), Context::new()))
                .clone(),
        )
    }

    /// Registers a source text and returns its file id.
    pub fn add_file(&mut self, name: String, text: Rc<str>) -> u32 {
        self.files.push(FileInfo {
            name,
            text,
            line_starts: OnceCell::new(),
        });
        (self.files.len() - 1) as u32
    }

    /// Parses and lowers `text` as file `name` with relative paths against `dir`.
    pub fn parse(&mut self, text: &str, name: String, dir: &str) -> R<ExprRef> {
        let id = self.add_file(name.clone(), Rc::from(text));
        crate::lower::parse_and_lower(text, &name, id, dir, &self.globals)
    }

    /// `file:line:col` for messages that embed a position (`'f' at …`).
    pub fn show_pos(&self, pos: Pos) -> String {
        match self.line_col(pos) {
            Some((name, line, col)) => {
                let name = if name == "«string»" {
                    "(string)"
                } else {
                    name
                };
                format!("{name}:{line}:{col}")
            }
            None => "undefined position".to_string(),
        }
    }

    /// File name, 1-based line and column of a position.
    pub fn line_col(&self, pos: Pos) -> Option<(&str, usize, usize)> {
        let f = self.files.get(pos.file as usize)?;
        let (line, col) = f.line_col((pos.offset as usize).min(f.text.len()))?;
        Some((&f.name, line, col))
    }

    // ----- forcing -----

    /// Evaluates a value to weak head normal form. Always inlined: the evaluated case
    /// is a clone, and the inliner's choice flipped with unrelated changes.
    #[inline(always)]
    pub fn force(&mut self, v: &Value) -> R<Value> {
        match v {
            Value::Thunk(t) => {
                // An evaluated thunk (most forced thunks) without the call.
                if let Some(v) = t.value() {
                    return Ok(v);
                }
                self.force_thunk(t)
            }
            other => Ok(other.clone()),
        }
    }

    /// Evaluates a thunk; for one not evaluated yet ([`Eval::force`] answers evaluated
    /// ones without the call, and [`Thunk::value_ref`] relies on it).
    fn force_thunk(&mut self, t: &ThunkRef) -> R<Value> {
        let state = t.take();
        match &state {
            ThunkState::Done(v) => {
                let v = v.clone();
                t.put(state);
                return Ok(v);
            }
            ThunkState::Blackhole => return Err(err("infinite recursion encountered", Pos::NONE)),
            _ => {}
        }
        let res = with_stack(|| match &state {
            // Already on checked stack: the expression itself, without `eval`'s leaf
            // cases (a pending expression is rarely a leaf) and second stack check.
            ThunkState::Pending(e, env) => self.eval_inner(e, env).map_err(|err| err.at(e.pos())),
            ThunkState::ApplyLambda(c, a) => self.call_lambda(c, a.clone(), Pos::NONE),
            ThunkState::Apply(fa) => {
                let (f, a) = &**fa;
                let f = self.force(f)?;
                self.call(f, a.clone(), Pos::NONE)
            }
            ThunkState::Apply2(fab) => {
                let (f, a, b) = &**fab;
                self.call_n(f, &[a.clone(), b.clone()], Pos::NONE)
            }
            _ => Err(err("internal error: bad thunk state", Pos::NONE)),
        });
        // The thunk is still a blackhole: nothing sets a thunk being evaluated.
        match res {
            Ok(v) => {
                t.put(ThunkState::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                t.put(state);
                Err(e)
            }
        }
    }

    /// A lazy value for `e` in `env`: constants and variables are made directly, like
    /// Nix does; when speculating also functions and what cannot fail (see
    /// [`Eval::speculate`]); everything else becomes a thunk.
    #[inline(always)]
    pub fn thunk(&self, e: &ExprRef, env: &Rc<Env>) -> R<Value> {
        Ok(match &**e {
            Expr::Const(v) => v.clone(),
            Expr::Var(d, s, _) => lookup(env, *d, *s)?.clone(),
            Expr::Lambda(l) if self.speculate => Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            })),
            Expr::ConstData(v) if self.speculate => v.clone(),
            // Integer arithmetic and comparisons on operands already known cannot fail
            // or diverge, and cost less than the thunk they would need.
            Expr::BinOp(..) if self.speculate => match int_op_now(e, env, 4) {
                Some(v) => v,
                None => self.pending(e.clone(), env.clone()),
            },
            _ => self.pending(e.clone(), env.clone()),
        })
    }

    /// A lazy application of `f` to `arg` (`map`, `genList`).
    pub fn apply_lazy(&self, f: &Value, arg: Value) -> Value {
        // `(x: x) v` and `(x: c) v` for an evaluated `v` and a constant `c` cannot fail:
        // their result needs no thunk (`genList (x: x) n` is the common case).
        if self.speculate {
            if let Value::Lambda(c) = f {
                if let Param::Ident(_) = c.lambda.param {
                    match &*c.lambda.body {
                        Expr::Var(0, 0, _) if !matches!(arg, Value::Thunk(_)) => return arg,
                        Expr::Const(v) if !matches!(v, Value::Thunk(_)) => return v.clone(),
                        _ => {}
                    }
                }
            }
        }
        let state = match f {
            Value::Lambda(c) => ThunkState::ApplyLambda(c.clone(), arg),
            _ => ThunkState::Apply(Box::new((f.clone(), arg))),
        };
        Value::Thunk(self.thunks.make(state))
    }

    /// A lazy application of `f` to `a` and then of the result to `b` (`mapAttrs f`,
    /// `zipAttrsWith f`): one thunk where nesting single applications would make two.
    pub fn apply_lazy2(&self, f: Value, a: Value, b: Value) -> Value {
        Value::Thunk(self.thunks.make(ThunkState::Apply2(Box::new((f, a, b)))))
    }

    /// A lazy value of the expression `e` in `env`.
    #[inline]
    pub fn pending(&self, e: ExprRef, env: Rc<Env>) -> Value {
        Value::Thunk(self.thunks.make(ThunkState::Pending(e, env)))
    }

    /// Like [`Eval::thunk`] for a frame still being filled (`rec`, `let`, defaults):
    /// variables of that frame must stay lazy since their slots are not set yet.
    ///
    /// A function stays in a thunk (evaluated right away when speculating): it closes
    /// over the frame holding it, and the thunk is what the drop of [`Eval::thunks`]
    /// empties to break that cycle.
    #[inline]
    pub fn thunk_in_new_frame(&self, e: &ExprRef, env: &Rc<Env>) -> R<Value> {
        match &**e {
            Expr::Var(0, _, _) => Ok(self.pending(e.clone(), env.clone())),
            Expr::Lambda(l) if self.speculate => Ok(Value::Thunk(self.thunks.make(
                ThunkState::Done(Value::Lambda(Rc::new(Closure {
                    lambda: l.clone(),
                    env: env.clone(),
                }))),
            ))),
            _ => self.thunk(e, env),
        }
    }

    // ----- typed forcing -----

    /// Forces to an integer.
    pub fn force_int(&mut self, v: &Value, pos: Pos) -> R<i64> {
        let v = self.force(v)?;
        match v {
            Value::Int(i) => {
                std::mem::forget(v);
                Ok(i)
            }
            other => Err(type_err(&other, "an integer", pos)),
        }
    }

    /// Forces to a Boolean.
    pub fn force_bool(&mut self, v: &Value, pos: Pos) -> R<bool> {
        let v = self.force(v)?;
        match v {
            Value::Bool(b) => {
                std::mem::forget(v);
                Ok(b)
            }
            other => Err(type_err(&other, "a Boolean", pos)),
        }
    }

    /// Forces to an attribute set.
    pub fn force_attrs(&mut self, v: &Value, pos: Pos) -> R<Rc<Attrs>> {
        match self.force(v)? {
            Value::Attrs(a) => Ok(a),
            other => Err(type_err(&other, "a set", pos)),
        }
    }

    /// Forces to a list.
    pub fn force_list(&mut self, v: &Value, pos: Pos) -> R<crate::value::List> {
        match self.force(v)? {
            Value::List(l) => Ok(l),
            other => Err(type_err(&other, "a list", pos)),
        }
    }

    /// Forces to a string (no coercion).
    pub fn force_str(&mut self, v: &Value, pos: Pos) -> R<Str> {
        match self.force(v)? {
            Value::String(s) => Ok(s),
            other => Err(type_err(&other, "a string", pos)),
        }
    }

    /// Forces to a function (lambda, builtin or functor set).
    pub fn force_fn(&mut self, v: &Value, pos: Pos) -> R<Value> {
        let f = self.force(v)?;
        match &f {
            Value::Lambda(_) | Value::PrimOp(_) => Ok(f),
            Value::Attrs(a) if a.get(self.syms.functor).is_some() => Ok(f),
            other => Err(type_err(other, "a function", pos)),
        }
    }

    /// Forces to a number as f64 (ints widen).
    pub fn force_float(&mut self, v: &Value, pos: Pos) -> R<f64> {
        match self.force(v)? {
            Value::Int(i) => Ok(i as f64),
            Value::Float(f) => Ok(f),
            other => Err(type_err(&other, "a float", pos)),
        }
    }

    // ----- evaluation -----

    /// Evaluates an expression to weak head normal form.
    #[inline(always)]
    pub fn eval(&mut self, e: &Expr, env: &Rc<Env>) -> R<Value> {
        // Leaves (most operands) are answered here, without the stack check and the
        // big dispatch.
        match e {
            Expr::Const(v) if !matches!(v, Value::Thunk(_)) => Ok(v.clone()),
            Expr::Var(d, s, _) => {
                let v = lookup(env, *d, *s)?;
                self.force(v)
            }
            _ => with_stack(|| self.eval_inner(e, env)),
        }
    }

    fn eval_inner(&mut self, e: &Expr, env: &Rc<Env>) -> R<Value> {
        match e {
            Expr::Const(v) => self.force(v),
            Expr::ConstData(v) => Ok(v.clone()),
            Expr::Var(d, s, _) => {
                let v = lookup(env, *d, *s)?;
                self.force(v)
            }
            Expr::WithVar(name, pos) => {
                let v = self.lookup_with(env, *name, *pos)?;
                self.force(&v).map_err(|e| e.at(*pos))
            }
            Expr::Str(parts, _) => self.build_string(Context::new(), |ev, s, ctx| {
                for p in parts {
                    match p {
                        StrPart::Lit(l) => s.extend_from_slice(l.as_bytes()),
                        StrPart::Interp(e, pos) => {
                            // `"…${toString x}…"`: written straight into the result,
                            // without the intermediate string.
                            if let Expr::Apply(f, args, apos) = &**e {
                                if let (Expr::Const(Value::PrimOp(p)), [x]) = (&**f, &args[..]) {
                                    if p.args.is_empty() && p.op.name == "toString" {
                                        let xv = ev.thunk(x, env)?;
                                        let how = Coerce {
                                            more: true,
                                            copy: false,
                                        };
                                        ev.coerce_into(&xv, *apos, how, s, ctx)?;
                                        continue;
                                    }
                                }
                            }
                            let v = ev.eval(e, env)?;
                            ev.coerce_into(
                                &v,
                                *pos,
                                Coerce {
                                    more: false,
                                    copy: true,
                                },
                                s,
                                ctx,
                            )?;
                        }
                    }
                }
                Ok(())
            }),
            Expr::InterpPath(parts, dir, pos) => {
                let mut s = Vec::new();
                let mut ctx = Context::new();
                for p in parts {
                    match p {
                        StrPart::Lit(l) => s.extend_from_slice(l.as_bytes()),
                        StrPart::Interp(e, ipos) => {
                            let v = self.eval(e, env)?;
                            self.coerce_into(
                                &v,
                                *ipos,
                                Coerce {
                                    more: false,
                                    copy: false,
                                },
                                &mut s,
                                &mut ctx,
                            )?;
                        }
                    }
                }
                let s = String::from_utf8_lossy(&s);
                if !ctx.is_empty() {
                    return Err(err(
                        format!("a string that refers to a store path cannot be appended to a path ('{s}')"),
                        *pos,
                    ));
                }
                Ok(Value::Path(Rc::from(crate::lower::resolve_path(&s, dir))))
            }
            Expr::SearchPath(name, pos) => self.find_search_path(name, *pos),
            Expr::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.thunk(i, env)?);
                }
                Ok(Value::list(out))
            }
            Expr::Attrs(lit) => self.eval_attrs(lit, env).map(|(v, _)| v),
            Expr::Let(lit, body) => {
                let new_env = self.let_env(lit, env)?;
                self.eval(body, &new_env)
            }
            Expr::Select(base, path, default, pos) => {
                // `x.name` (or `x.name or d`) with `x` a variable holding a set or an
                // evaluated thunk of one (the common cases: a function's argument is
                // mostly such a thunk): the attribute is read in place, without taking
                // a reference to the attribute's thunk only to drop it again.
                if let (Expr::Var(d, s, _), [AttrKey::Static(name)]) = (&**base, &path[..]) {
                    // Read in place, not copied: a copy of the set would be a count
                    // written and dropped again.
                    let set = match lookup(env, *d, *s)? {
                        Value::Attrs(a) => Some(a),
                        Value::Thunk(t) => match t.value_ref() {
                            Some(Value::Attrs(a)) => Some(a),
                            _ => None,
                        },
                        _ => None,
                    };
                    if let Some(a) = set {
                        match (a.get(*name), default) {
                            (Some(at), _) => {
                                return self.force(&at.value).map_err(|e| {
                                    e.frame(at.pos, || {
                                        format!("while evaluating the attribute '{name}'")
                                    })
                                });
                            }
                            (None, Some(d)) => return self.eval(d, env),
                            (None, None) => {}
                        }
                    }
                }
                self.eval_select(base, path, default.as_ref(), *pos, env)
            }
            Expr::HasAttr(base, path) => {
                let mut v = self.eval(base, env)?;
                for (i, key) in path.iter().enumerate() {
                    let name = match self.attr_name(key, env, Pos::NONE)? {
                        Some(n) => n,
                        None => return Ok(Value::Bool(false)),
                    };
                    let next = match &v {
                        Value::Attrs(a) => match a.get(name) {
                            Some(attr) => attr.value.clone(),
                            None => return Ok(Value::Bool(false)),
                        },
                        _ => return Ok(Value::Bool(false)),
                    };
                    if i + 1 < path.len() {
                        v = self.force(&next)?;
                    }
                }
                Ok(Value::Bool(true))
            }
            Expr::Lambda(l) => Ok(Value::Lambda(Rc::new(Closure {
                lambda: l.clone(),
                env: env.clone(),
            }))),
            Expr::Apply(f, args, pos) => {
                // A builtin given all its arguments (`builtins.isAttrs v`, `map f l`,
                // most calls in module code): called with them directly, without taking
                // the builtin as a value and going through the generic call.
                // The arguments in an array of their number: no padding to drop.
                if let Expr::Const(Value::PrimOp(p)) = &**f {
                    if p.args.is_empty() && p.op.arity == args.len() {
                        match &args[..] {
                            [a] => {
                                let all = [self.thunk(a, env)?];
                                return (p.op.func)(self, &all, *pos);
                            }
                            [a, b] => {
                                let all = [self.thunk(a, env)?, self.thunk(b, env)?];
                                return (p.op.func)(self, &all, *pos);
                            }
                            [a, b, c] => {
                                let all = [
                                    self.thunk(a, env)?,
                                    self.thunk(b, env)?,
                                    self.thunk(c, env)?,
                                ];
                                return (p.op.func)(self, &all, *pos);
                            }
                            _ => {}
                        }
                    }
                }
                let fv = self.eval(f, env)?;
                if let [a] = &args[..] {
                    let av = self.thunk(a, env)?;
                    return self.call(fv, av, *pos);
                }
                self.apply_args(
                    fv,
                    args.len(),
                    |ev, i| match args.get(i) {
                        Some(a) => ev.thunk(a, env),
                        None => Err(err("internal error: missing argument", *pos)),
                    },
                    *pos,
                )
            }
            Expr::If(c, t, f, pos) => {
                // `if n < 2 then …`: a comparison of integers already known, without
                // the evaluation of the condition as an expression of its own.
                if let Expr::BinOp(..) = &**c {
                    if let Some(Value::Bool(b)) = int_op_now(c, env, 0) {
                        return self.eval(if b { t } else { f }, env);
                    }
                }
                let b = self.eval_bool(c, env, *pos)?;
                self.eval(if b { t } else { f }, env)
            }
            Expr::Assert(c, body, text, pos) => {
                let cv = self.eval(c, env)?;
                match cv {
                    Value::Bool(true) => self.eval(body, env),
                    Value::Bool(false) => Err(err_kind(
                        ErrorKind::Assertion,
                        format!("assertion '{text}' failed"),
                        *pos,
                    )),
                    other => Err(type_err(&other, "a Boolean", *pos)),
                }
            }
            Expr::With(ns, body) => {
                let nsv = self.thunk(ns, env)?;
                let new_env = Rc::new(Env {
                    slots: Slots::One(nsv),
                    parent: Some(env.clone()),
                    with: true,
                });
                self.eval(body, &new_env)
            }
            Expr::Not(x, pos) => {
                let v = self.eval(x, env)?;
                match v {
                    Value::Bool(b) => Ok(Value::Bool(!b)),
                    other => Err(type_err(&other, "a Boolean", *pos)),
                }
            }
            Expr::Neg(x, pos) => {
                let v = self.eval(x, env)?;
                self.arith(BinOp::Sub, Value::Int(0), v, *pos)
            }
            Expr::And(a, b, pos) => {
                if !self.eval_bool(a, env, *pos)? {
                    return Ok(Value::Bool(false));
                }
                Ok(Value::Bool(self.eval_bool(b, env, *pos)?))
            }
            Expr::Or(a, b, pos) => {
                if self.eval_bool(a, env, *pos)? {
                    return Ok(Value::Bool(true));
                }
                Ok(Value::Bool(self.eval_bool(b, env, *pos)?))
            }
            Expr::Impl(a, b, pos) => {
                if !self.eval_bool(a, env, *pos)? {
                    return Ok(Value::Bool(true));
                }
                Ok(Value::Bool(self.eval_bool(b, env, *pos)?))
            }
            Expr::BinOp(op, a, b, pos, rpos) => {
                let av = self.eval(a, env)?;
                if *op == BinOp::Add && !matches!(av, Value::Int(_) | Value::Float(_)) {
                    let bv = self.eval(b, env)?;
                    return self.concat_strings(av, bv, *rpos);
                }
                let bv = self.eval(b, env)?;
                if let (Value::Int(x), Value::Int(y)) = (&av, &bv) {
                    let (x, y) = (*x, *y);
                    // Integer fast path (wrapping like Nix 2.8, see `arith`).
                    match op {
                        BinOp::Add => return Ok(Value::Int(x.wrapping_add(y))),
                        BinOp::Sub => return Ok(Value::Int(x.wrapping_sub(y))),
                        BinOp::Mul => return Ok(Value::Int(x.wrapping_mul(y))),
                        BinOp::Div if y != 0 && !(x == i64::MIN && y == -1) => {
                            return Ok(Value::Int(x / y))
                        }
                        BinOp::Lt => return Ok(Value::Bool(x < y)),
                        BinOp::Ge => return Ok(Value::Bool(x >= y)),
                        BinOp::Eq => return Ok(Value::Bool(x == y)),
                        BinOp::Neq => return Ok(Value::Bool(x != y)),
                        _ => {}
                    }
                }
                if matches!(op, BinOp::Eq | BinOp::Neq) {
                    if let Some(same) = shallow_eq(&av, &bv) {
                        return Ok(Value::Bool(same == (*op == BinOp::Eq)));
                    }
                }
                let at = if *op == BinOp::Add { *rpos } else { *pos };
                self.binop(*op, av, bv, at)
            }
            Expr::CurPos(pos) => Ok(self.pos_attrs(*pos)),
        }
    }

    fn eval_bool(&mut self, e: &Expr, env: &Rc<Env>, pos: Pos) -> R<bool> {
        let v = self.eval(e, env)?;
        match v {
            Value::Bool(b) => {
                // Owns nothing: forgotten, without a call to the drop glue.
                std::mem::forget(v);
                Ok(b)
            }
            other => Err(type_err(&other, "a Boolean", pos)),
        }
    }

    /// `{ file, line, column }` for `__curPos` and `unsafeGetAttrPos`.
    pub fn pos_attrs(&self, pos: Pos) -> Value {
        match self.line_col(pos) {
            Some((name, line, col)) => {
                // Nix 2.8 reports the whole expression text as the "file" of a
                // position inside `-E` text.
                let file = if name == "«string»" {
                    let text = self
                        .files
                        .get(pos.file as usize)
                        .map(|f| f.text.to_string())
                        .unwrap_or_default();
                    Value::string(text)
                } else {
                    Value::string(name)
                };
                Value::Attrs(Rc::new(Attrs::from_unsorted(vec![
                    attr(intern("file"), file),
                    attr(intern("line"), Value::Int(line as i64)),
                    attr(intern("column"), Value::Int(col as i64)),
                ])))
            }
            None => Value::Null,
        }
    }

    fn lookup_with(&mut self, env: &Rc<Env>, name: Symbol, pos: Pos) -> R<Value> {
        // The frames and a namespace already a set are borrowed, not counted: a name
        // from an outer `with` walks every frame in between.
        let mut cur = env;
        loop {
            if let (true, Slots::One(ns)) = (cur.with, &cur.slots) {
                let found = match ns {
                    Value::Attrs(attrs) => attrs.get(name).map(|a| a.value.clone()),
                    _ => self
                        .force_attrs(ns, pos)?
                        .get(name)
                        .map(|a| a.value.clone()),
                };
                if let Some(v) = found {
                    return Ok(v);
                }
            }
            match &cur.parent {
                Some(parent) => cur = parent,
                None => return Err(err(format!("undefined variable '{name}'"), pos)),
            }
        }
    }

    fn find_search_path(&mut self, name: &str, pos: Pos) -> R<Value> {
        find_file(&self.search_path, name, pos)
    }

    /// Evaluates an attribute name; `None` for a dynamic `null` name.
    #[inline(always)]
    fn attr_name(&mut self, key: &AttrKey, env: &Rc<Env>, pos: Pos) -> R<Option<Symbol>> {
        match key {
            AttrKey::Static(s) => Ok(Some(*s)),
            AttrKey::Dynamic(e) => self.dynamic_attr_name(e, env, pos),
        }
    }

    /// [`Eval::attr_name`] of `${e}`.
    #[inline(never)]
    fn dynamic_attr_name(&mut self, e: &Expr, env: &Rc<Env>, pos: Pos) -> R<Option<Symbol>> {
        let v = self.eval(e, env)?;
        match &v {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(intern_bytes(&s[..]))),
            other => Err(type_err(other, "a string", pos)),
        }
    }

    fn eval_select(
        &mut self,
        base: &ExprRef,
        path: &[AttrKey],
        default: Option<&ExprRef>,
        pos: Pos,
        env: &Rc<Env>,
    ) -> R<Value> {
        let mut v = self.eval(base, env)?;
        for key in path {
            let name = match self.attr_name(key, env, pos)? {
                Some(n) => n,
                None => return Err(err("value is null while a string was expected", pos)),
            };
            let found = match &v {
                Value::Attrs(a) => a.get(name).map(|at| (at.value.clone(), at.pos)),
                other => {
                    if let Some(d) = default {
                        return self.eval(d, env);
                    }
                    return Err(type_err(other, "a set", pos));
                }
            };
            match found {
                Some((val, apos)) => {
                    v = self.force(&val).map_err(|e| {
                        e.frame(apos, || format!("while evaluating the attribute '{name}'"))
                    })?;
                }
                None => {
                    if let Some(d) = default {
                        return self.eval(d, env);
                    }
                    return Err(err(format!("attribute '{name}' missing"), pos));
                }
            }
        }
        Ok(v)
    }

    /// Builds an attribute set literal; for `rec`/`let` also returns the new frame.
    /// The frame of a `let` (its bindings are a `rec` set's statics; no set is made).
    fn let_env(&mut self, lit: &AttrsLit, env: &Rc<Env>) -> R<Rc<Env>> {
        // One binding (the most common `let`): no slice for it.
        if let [(_, e, _)] = &lit.statics[..] {
            let new_env = Env::unfilled_one(Some(env.clone()));
            let v = self.thunk_in_new_frame(e, &new_env)?;
            new_env.fill_one(v);
            return Ok(new_env);
        }
        let new_env = Env::unfilled(Some(env.clone()));
        let mut vals = Vec::with_capacity(lit.statics.len());
        for (_, e, _) in &lit.statics {
            vals.push(self.thunk_in_new_frame(e, &new_env)?);
        }
        new_env.fill(vals);
        Ok(new_env)
    }

    fn eval_attrs(&mut self, lit: &AttrsLit, env: &Rc<Env>) -> R<(Value, Rc<Env>)> {
        if let Some(at) = lit.overrides {
            return self.eval_rec_overrides(lit, at, env);
        }
        let scope = if lit.rec {
            let new_env = Env::unfilled(Some(env.clone()));
            let mut vals = Vec::with_capacity(lit.statics.len());
            for (_, e, _) in &lit.statics {
                vals.push(self.thunk_in_new_frame(e, &new_env)?);
            }
            new_env.fill(vals);
            new_env
        } else {
            env.clone()
        };
        let mut entries: Vec<Attr> = Vec::with_capacity(lit.statics.len() + lit.dynamics.len());
        if lit.rec {
            for (i, (name, _, pos)) in lit.statics.iter().enumerate() {
                let value = scope.get(i as u32).cloned().unwrap_or(Value::Null);
                entries.push(Attr {
                    name: *name,
                    value,
                    pos: *pos,
                });
            }
        } else {
            for (name, e, pos) in &lit.statics {
                entries.push(Attr {
                    name: *name,
                    value: self.thunk(e, &scope)?,
                    pos: *pos,
                });
            }
        }
        if !lit.dynamics.is_empty() {
            self.add_dynamics(lit, &scope, &mut entries)?;
            entries.sort_by_key(|a| a.name);
        }
        Ok((Value::attrs(entries), scope))
    }

    /// `rec { …; __overrides = { … }; }` like Nix 2.8: `__overrides` is evaluated with
    /// the set, and each of its attributes replaces the set's own, also where the
    /// other attributes refer to it (or is added); dynamic attributes come after.
    // Rare: kept out of line so that `eval_attrs` stays small.
    #[cold]
    #[inline(never)]
    fn eval_rec_overrides(
        &mut self,
        lit: &AttrsLit,
        at: usize,
        env: &Rc<Env>,
    ) -> R<(Value, Rc<Env>)> {
        let scope = Env::unfilled(Some(env.clone()));
        // Every slot is its own thunk, so that an override can take its place.
        let cells: Vec<ThunkRef> = lit
            .statics
            .iter()
            .map(|(_, e, _)| {
                self.thunks
                    .make(ThunkState::Pending(e.clone(), scope.clone()))
            })
            .collect();
        let vals: Vec<Value> = cells.iter().cloned().map(Value::Thunk).collect();
        scope.fill(vals.clone());
        let mut entries: Vec<Attr> = lit
            .statics
            .iter()
            .zip(vals)
            .map(|((name, _, pos), value)| Attr {
                name: *name,
                value,
                pos: *pos,
            })
            .collect();
        let opos = lit.statics[at].2;
        let overrides = self.force_attrs(&Value::Thunk(cells[at].clone()), opos)?;
        for o in overrides.entries().iter() {
            match lit.statics.binary_search_by_key(&o.name, |s| s.0) {
                Ok(j) => {
                    cells[j].set(ThunkState::Pending(
                        Rc::new(Expr::Const(o.value.clone())),
                        scope.clone(),
                    ));
                    entries[j] = o.clone();
                }
                Err(_) => entries.push(o.clone()),
            }
        }
        self.add_dynamics(lit, &scope, &mut entries)?;
        entries.sort_by_key(|a| a.name);
        Ok((Value::attrs(entries), scope))
    }

    /// Adds a set literal's dynamic attributes (evaluated in `scope`) to `entries`.
    fn add_dynamics(&mut self, lit: &AttrsLit, scope: &Rc<Env>, entries: &mut Vec<Attr>) -> R<()> {
        for (k, e, pos) in &lit.dynamics {
            let kv = self.eval(k, scope)?;
            let name = match &kv {
                Value::Null => continue,
                Value::String(s) => {
                    if let Some(c) = s.ctx().iter().next() {
                        return Err(err(
                            format!(
                                "the string '{}' is not allowed to refer to a store path (such as '{}')",
                                s.lossy(),
                                c.trim_start_matches('=')
                            ),
                            *pos,
                        ));
                    }
                    intern_bytes(&s[..])
                }
                other => return Err(type_err(other, "a string", *pos)),
            };
            if let Some(prev) = entries.iter().find(|a| a.name == name) {
                return Err(err(
                    format!(
                        "dynamic attribute '{name}' already defined at {}",
                        self.show_pos(prev.pos)
                    ),
                    *pos,
                ));
            }
            entries.push(Attr {
                name,
                value: self.thunk(e, scope)?,
                pos: *pos,
            });
        }
        Ok(())
    }

    // ----- calls -----

    /// Applies a function value to one argument. A function literal (most calls) is
    /// called here, inlined into the caller; the other kinds of function out of line.
    #[inline]
    pub fn call(&mut self, f: Value, arg: Value, pos: Pos) -> R<Value> {
        if let Value::Lambda(c) = &f {
            return self.call_lambda(c, arg, pos);
        }
        self.call_other(f, arg, pos)
    }

    /// [`Eval::call`] of a builtin, a functor set or a thunk.
    #[inline(never)]
    fn call_other(&mut self, f: Value, arg: Value, pos: Pos) -> R<Value> {
        match &f {
            Value::Lambda(c) => self.call_lambda(c, arg, pos),
            Value::PrimOp(p) => {
                if p.args.len() + 1 == p.op.arity {
                    // The arguments on the stack: builtins are called often and take
                    // at most three.
                    match &p.args[..] {
                        [] => (p.op.func)(self, &[arg], pos),
                        [a] => (p.op.func)(self, &[a.clone(), arg], pos),
                        [a, b] => (p.op.func)(self, &[a.clone(), b.clone(), arg], pos),
                        more => {
                            let mut args = Vec::with_capacity(p.op.arity);
                            args.extend(more.iter().cloned());
                            args.push(arg);
                            (p.op.func)(self, &args, pos)
                        }
                    }
                } else {
                    let mut args = p.args.clone();
                    args.push(arg);
                    Ok(Value::PrimOp(Rc::new(PrimOpApp { op: p.op, args })))
                }
            }
            Value::Attrs(a) => match a.get(self.syms.functor) {
                Some(fun) => {
                    let fun = self.force(&fun.value.clone())?;
                    let inner = self.call(fun, Value::Attrs(a.clone()), pos)?;
                    self.call(inner, arg, pos)
                }
                None => Err(err(
                    "attempt to call something which is not a function but a set",
                    pos,
                )),
            },
            Value::Thunk(_) => {
                let f = self.force(&f)?;
                self.call(f, arg, pos)
            }
            other => Err(err(
                format!(
                    "attempt to call something which is not a function but {}",
                    other.show_type()
                ),
                pos,
            )),
        }
    }

    /// Applies a function to several arguments.
    pub fn call_n(&mut self, f: &Value, args: &[Value], pos: Pos) -> R<Value> {
        let fv = self.force(f)?;
        self.apply_args(
            fv,
            args.len(),
            |_, i| match args.get(i) {
                Some(a) => Ok(a.clone()),
                None => Err(err("internal error: missing argument", pos)),
            },
            pos,
        )
    }

    fn lambda_desc(&self, lam: &Lambda) -> String {
        match lam.name {
            Some(n) => format!("'{n}'"),
            None => "anonymous function".to_string(),
        }
    }

    fn call_lambda(&mut self, c: &Rc<Closure>, arg: Value, pos: Pos) -> R<Value> {
        self.call_lam(&c.lambda, &c.env, arg, pos)
    }

    /// Applies the function literal `lam` closed over `cenv` to `arg`.
    fn call_lam(&mut self, lam: &Rc<Lambda>, cenv: &Rc<Env>, arg: Value, pos: Pos) -> R<Value> {
        let res = match (&lam.param, &*lam.body) {
            // `x: x` needs no frame.
            (Param::Ident(_), Expr::Var(0, 0, _)) => self.force(&arg),
            _ => {
                let env = self.bind_args(lam, cenv, arg, pos)?;
                let res = self.eval(&lam.body, &env);
                self.recycle(env);
                res
            }
        };
        res.map_err(|e| {
            let desc = match lam.name {
                Some(n) => format!("while evaluating '{n}'"),
                None => "while evaluating anonymous function".to_string(),
            };
            e.frame(lam.pos, || desc)
                .frame(pos, || "from call site".to_string())
        })
    }

    /// `foldl'`'s loop: `acc = f acc x` for each `x`, `acc` forced each step. For a
    /// function literal `acc: x: …` the frame holding `acc` is made once and refilled
    /// while nothing kept it, instead of a two-argument call per element.
    pub fn fold_strict(
        &mut self,
        f: &Value,
        mut acc: Value,
        items: &[Value],
        pos: Pos,
    ) -> R<Value> {
        if let Some((c, inner)) = curried2(f) {
            let mut frame: Option<Rc<Env>> = None;
            for x in items {
                let env = refill_frame(&mut frame, c, acc);
                let r = self.call_lam(inner, &env, x.clone(), pos)?;
                acc = self.force(&r)?;
                frame = Some(env);
            }
            return Ok(acc);
        }
        for x in items {
            let r = self.call_n(f, &[acc, x.clone()], pos)?;
            acc = self.force(&r)?;
        }
        Ok(acc)
    }

    /// `f a b` for a function called many times in a loop (`sort`'s comparator): a
    /// function literal `a: b: …` gets the frame holding `a` from `frame`, refilled
    /// while nothing kept it (see [`Eval::fold_strict`]), instead of a new one per call.
    pub fn call2_in_loop(
        &mut self,
        f: &Value,
        frame: &mut Option<Rc<Env>>,
        a: Value,
        b: Value,
        pos: Pos,
    ) -> R<Value> {
        match curried2(f) {
            Some((c, inner)) => {
                let env = refill_frame(frame, c, a);
                let r = self.call_lam(inner, &env, b, pos);
                *frame = Some(env);
                r
            }
            None => self.call_n(f, &[a, b], pos),
        }
    }

    /// Keeps a one-argument call frame that nothing captured for the next call, which
    /// saves an allocation and a free per call.
    #[inline]
    fn recycle(&mut self, mut env: Rc<Env>) {
        if self.env_pool.len() >= ENV_POOL {
            return;
        }
        if let Some(frame) = Rc::get_mut(&mut env) {
            if let Slots::One(arg) = &mut frame.slots {
                let arg = std::mem::replace(arg, Value::Null);
                let parent = frame.parent.take();
                self.env_pool.push(env);
                drop(arg);
                drop(parent);
            }
        }
    }

    /// Applies `f` to the arguments `arg(0)`, `arg(1)`, … `arg(n - 1)` in turn. A curried
    /// function literal (`a: b: …`) given several arguments gets its frames built
    /// directly, without the intermediate closures.
    pub fn apply_args(
        &mut self,
        f: Value,
        n: usize,
        mut arg: impl FnMut(&mut Self, usize) -> R<Value>,
        pos: Pos,
    ) -> R<Value> {
        let mut fv = f;
        let mut i = 0;
        while i < n {
            if i + 1 < n {
                if let Value::Lambda(c) = &fv {
                    if let Expr::Lambda(inner) = &*c.lambda.body {
                        let a = arg(self, i)?;
                        let mut env = self.bind_args(&c.lambda, &c.env, a, pos)?;
                        let mut lam = inner.clone();
                        i += 1;
                        while i + 1 < n {
                            let Expr::Lambda(next) = &*lam.body else {
                                break;
                            };
                            let next = next.clone();
                            let a = arg(self, i)?;
                            env = self.bind_args(&lam, &env, a, pos)?;
                            lam = next;
                            i += 1;
                        }
                        let a = arg(self, i)?;
                        let res = self.call_lam(&lam, &env, a, pos);
                        self.recycle(env);
                        fv = res?;
                        i += 1;
                        continue;
                    }
                }
            }
            // A builtin given all its missing arguments at once (`foldl' op`,
            // `sort lessThan`) runs without the partial applications in between.
            if let Value::PrimOp(p) = &fv {
                let have = p.args.len();
                let want = p.op.arity.saturating_sub(have);
                if want > 1 && i + want <= n && p.op.arity <= 3 {
                    let p = p.clone();
                    let mut all: [Value; 3] = [Value::Null, Value::Null, Value::Null];
                    for (k, slot) in all.iter_mut().enumerate().take(p.op.arity) {
                        *slot = match p.args.get(k) {
                            Some(v) => v.clone(),
                            None => {
                                let v = arg(self, i)?;
                                i += 1;
                                v
                            }
                        };
                    }
                    fv = (p.op.func)(self, &all[..p.op.arity], pos)?;
                    continue;
                }
            }
            let a = arg(self, i)?;
            fv = self.call(fv, a, pos)?;
            i += 1;
        }
        Ok(fv)
    }

    /// The call frame of `lam` (closed over `cenv`) for `arg`: binds the parameter or
    /// matches the pattern.
    fn bind_args(&mut self, lam: &Rc<Lambda>, cenv: &Rc<Env>, arg: Value, pos: Pos) -> R<Rc<Env>> {
        Ok(match &lam.param {
            Param::Ident(_) => match self.env_pool.pop() {
                Some(mut env) => match Rc::get_mut(&mut env) {
                    Some(frame) => {
                        // A pooled frame holds `One(Null)` and no parent (see
                        // `recycle`): there is nothing to drop, and forgetting what is
                        // replaced skips the out-of-line drop glue at every call.
                        std::mem::forget(std::mem::replace(&mut frame.slots, Slots::One(arg)));
                        std::mem::forget(frame.parent.replace(cenv.clone()));
                        env
                    }
                    None => Env::one(Some(cenv.clone()), arg),
                },
                None => Env::one(Some(cenv.clone()), arg),
            },
            Param::Pattern {
                formals,
                ellipsis,
                bind,
                ..
            } => {
                let attrs = self.force_attrs(&arg, pos)?;
                let env = Env::unfilled(Some(cenv.clone()));
                let mut slots = Vec::with_capacity(lam.slots);
                let mut used = 0usize;
                for (name, default) in formals {
                    match attrs.get(*name) {
                        Some(a) => {
                            used += 1;
                            slots.push(a.value.clone());
                        }
                        None => match default {
                            Some(d) => {
                                let v = self.thunk_in_new_frame(d, &env)?;
                                slots.push(v);
                            }
                            None => {
                                return Err(err(
                                    format!(
                                        "{} at {} called without required argument '{name}'",
                                        self.lambda_desc(lam),
                                        self.show_pos(lam.pos)
                                    ),
                                    pos,
                                ))
                            }
                        },
                    }
                }
                if !*ellipsis && used < attrs.len() {
                    for a in attrs.entries() {
                        if !formals.iter().any(|(n, _)| *n == a.name) {
                            return Err(err(
                                format!(
                                    "{} at {} called with unexpected argument '{}'",
                                    self.lambda_desc(lam),
                                    self.show_pos(lam.pos),
                                    a.name
                                ),
                                pos,
                            ));
                        }
                    }
                }
                if bind.is_some() {
                    slots.push(Value::Attrs(attrs));
                }
                env.fill(slots);
                env
            }
        })
    }

    // ----- operators -----

    fn binop(&mut self, op: BinOp, a: Value, b: Value, pos: Pos) -> R<Value> {
        match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => self.arith(op, a, b, pos),
            BinOp::Eq => Ok(Value::Bool(self.eq_values(&a, &b, pos)?)),
            BinOp::Neq => Ok(Value::Bool(!self.eq_values(&a, &b, pos)?)),
            BinOp::Lt => Ok(Value::Bool(self.less_than(&a, &b, pos)?)),
            BinOp::Ge => Ok(Value::Bool(!self.less_than(&a, &b, pos)?)),
            BinOp::Concat => {
                let l1 = match &a {
                    Value::List(l) => l.clone(),
                    other => return Err(type_err(other, "a list", pos)),
                };
                let l2 = match &b {
                    Value::List(l) => l.clone(),
                    other => return Err(type_err(other, "a list", pos)),
                };
                if l1.is_empty() {
                    return Ok(Value::List(l2));
                }
                if l2.is_empty() {
                    return Ok(Value::List(l1));
                }
                let mut out = Vec::with_capacity(l1.len() + l2.len());
                out.extend(l1.iter().cloned());
                out.extend(l2.iter().cloned());
                Ok(Value::list(out))
            }
            BinOp::Update => {
                let a1 = match &a {
                    Value::Attrs(x) => x.clone(),
                    other => return Err(type_err(other, "a set", pos)),
                };
                let a2 = match &b {
                    Value::Attrs(x) => x.clone(),
                    other => return Err(type_err(other, "a set", pos)),
                };
                Ok(Value::Attrs(Attrs::update(&a1, &a2)))
            }
        }
    }

    /// Integer and float arithmetic. Nix 2.8 wraps on integer overflow (checked against
    /// `nix-instantiate`: `9223372036854775807 + 1` gives `-9223372036854775808`), so
    /// this does too, for parity.
    pub fn arith(&mut self, op: BinOp, a: Value, b: Value, pos: Pos) -> R<Value> {
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => {
                let (x, y) = (*x, *y);
                Ok(Value::Int(match op {
                    BinOp::Add => x.wrapping_add(y),
                    BinOp::Sub => x.wrapping_sub(y),
                    BinOp::Mul => x.wrapping_mul(y),
                    _ => {
                        if y == 0 {
                            return Err(err("division by zero", pos));
                        }
                        if x == i64::MIN && y == -1 {
                            return Err(err("overflow in integer division", pos));
                        }
                        x / y
                    }
                }))
            }
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                let x = as_f64(&a);
                let y = as_f64(&b);
                Ok(Value::Float(match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    _ => {
                        if y == 0.0 {
                            return Err(err("division by zero", pos));
                        }
                        x / y
                    }
                }))
            }
            (Value::Int(_) | Value::Float(_), other) => {
                if op == BinOp::Add {
                    Err(err(
                        format!("cannot add {} to {}", other.show_type(), a.show_type()),
                        pos,
                    ))
                } else {
                    Err(type_err(other, "an integer", pos))
                }
            }
            (other, _) => {
                if op == BinOp::Add {
                    Err(err(
                        format!("cannot add {} to {}", b.show_type(), other.show_type()),
                        pos,
                    ))
                } else {
                    Err(type_err(other, "an integer", pos))
                }
            }
        }
    }

    fn concat_strings(&mut self, a: Value, b: Value, pos: Pos) -> R<Value> {
        match &a {
            Value::Path(p) => {
                let mut s = p.as_bytes().to_vec();
                let mut ctx = Context::new();
                self.coerce_into(
                    &b,
                    pos,
                    Coerce {
                        more: false,
                        copy: false,
                    },
                    &mut s,
                    &mut ctx,
                )?;
                let s = String::from_utf8_lossy(&s);
                if !ctx.is_empty() {
                    return Err(err(
                        format!("a string that refers to a store path cannot be appended to a path ('{s}')"),
                        pos,
                    ));
                }
                Ok(Value::Path(Rc::from(crate::lower::canon_path(&s))))
            }
            Value::String(sa) => self.build_string(sa.ctx().clone(), |ev, s, ctx| {
                s.extend_from_slice(&sa[..]);
                let how = Coerce {
                    more: false,
                    copy: true,
                };
                ev.coerce_into(&b, pos, how, s, ctx)
            }),
            other => {
                // Like Nix's string concatenation: the first operand decides the type;
                // a set coerces through `__toString`/`outPath`, later paths stay text.
                let how = Coerce {
                    more: false,
                    copy: false,
                };
                self.build_string(Context::new(), |ev, s, ctx| {
                    ev.coerce_into(other, pos, how, s, ctx)?;
                    ev.coerce_into(&b, pos, how, s, ctx)
                })
            }
        }
    }

    /// Deep equality like Nix's `eqValues`.
    pub fn eq_values(&mut self, a: &Value, b: &Value, pos: Pos) -> R<bool> {
        with_stack(|| self.eq_inner(a, b, pos))
    }

    fn eq_inner(&mut self, a: &Value, b: &Value, pos: Pos) -> R<bool> {
        // Values already evaluated (most, and every operand of `==`) are compared in
        // place: a forced copy would write the reference count of each container
        // walked, twice.
        let (forced_a, forced_b);
        let a = match in_place(a) {
            Some(v) => v,
            None => {
                forced_a = self.force(a)?;
                &forced_a
            }
        };
        let b = match in_place(b) {
            Some(v) => v,
            None => {
                forced_b = self.force(b)?;
                &forced_b
            }
        };
        Ok(match (a, b) {
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                as_f64(a) == as_f64(b)
            }
            (Value::String(x), Value::String(y)) => **x == **y,
            (Value::Path(x), Value::Path(y)) => x == y,
            (Value::Null, Value::Null) => true,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                // One stack check per level of nesting, which is as deep as the
                // values are.
                with_stack(|| -> R<bool> {
                    for (p, q) in x.iter().zip(y.iter()) {
                        if !same_value(p, q) && !self.eq_inner(p, q, pos)? {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?
            }
            (Value::Attrs(x), Value::Attrs(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                if self.is_derivation(x)? && self.is_derivation(y)? {
                    if let (Some(p), Some(q)) =
                        (x.get(self.syms.out_path), y.get(self.syms.out_path))
                    {
                        return self.eq_values(&p.value, &q.value, pos);
                    }
                }
                if x.len() != y.len() {
                    return Ok(false);
                }
                for (p, q) in x.entries().iter().zip(y.entries().iter()) {
                    if p.name != q.name {
                        return Ok(false);
                    }
                }
                with_stack(|| -> R<bool> {
                    for (p, q) in x.entries().iter().zip(y.entries().iter()) {
                        if !same_value(&p.value, &q.value)
                            && !self.eq_inner(&p.value, &q.value, pos)?
                        {
                            return Ok(false);
                        }
                    }
                    Ok(true)
                })?
            }
            _ => false,
        })
    }

    /// Whether a set is a derivation (`type = "derivation"`).
    pub fn is_derivation(&mut self, a: &Attrs) -> R<bool> {
        match a.get(self.syms.type_) {
            Some(t) => {
                let is = |v: &Value| matches!(v, Value::String(s) if &**s == b"derivation");
                match in_place(&t.value) {
                    Some(v) => Ok(is(v)),
                    None => {
                        let v = self.force(&t.value.clone())?;
                        Ok(is(&v))
                    }
                }
            }
            None => Ok(false),
        }
    }

    /// `builtins.lessThan` / `<` semantics.
    pub fn less_than(&mut self, a: &Value, b: &Value, pos: Pos) -> R<bool> {
        Ok(self.compare(a, b, pos)? == std::cmp::Ordering::Less)
    }

    /// Orders two values like Nix's comparison operators.
    pub fn compare(&mut self, a: &Value, b: &Value, pos: Pos) -> R<std::cmp::Ordering> {
        use std::cmp::Ordering;
        // Two integers (`sort lessThan` on numbers): no forcing, no copies to drop.
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            return Ok(x.cmp(y));
        }
        let a = self.force(a)?;
        let b = self.force(b)?;
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => Ok(x.cmp(y)),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                let (x, y) = (as_f64(&a), as_f64(&b));
                Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal))
            }
            (Value::String(x), Value::String(y)) => Ok((**x).cmp(&**y)),
            (Value::Path(x), Value::Path(y)) => Ok(x.as_bytes().cmp(y.as_bytes())),
            (Value::List(x), Value::List(y)) => {
                let (x, y) = (x.clone(), y.clone());
                for (p, q) in x.iter().zip(y.iter()) {
                    if self.eq_values(p, q, pos)? {
                        continue;
                    }
                    return with_stack(|| self.compare(p, q, pos));
                }
                Ok(x.len().cmp(&y.len()))
            }
            _ => Err(err(
                format!("cannot compare {} with {}", a.show_type(), b.show_type()),
                pos,
            )),
        }
    }

    // ----- strings -----

    /// A string value whose text `fill` appends to a buffer, with the context `ctx`
    /// and what `fill` adds to it. The buffer is the evaluator's own, kept from one
    /// string to the next, and the text is copied out of it at its exact size: one
    /// allocation where a new vector took several as it grew, and then a shrinking
    /// reallocation (whose freed tail fragments the heap). A string being built
    /// while another is (an interpolation inside one) gets a buffer of its own.
    fn build_string(
        &mut self,
        ctx: Context,
        fill: impl FnOnce(&mut Self, &mut Vec<u8>, &mut Context) -> R<()>,
    ) -> R<Value> {
        let mut buf = std::mem::take(&mut self.str_buf);
        buf.clear();
        let mut ctx = ctx;
        let filled = fill(self, &mut buf, &mut ctx);
        if buf.len() > STR_BUF_KEEP {
            filled?;
            return Ok(Value::string_ctx(buf, ctx));
        }
        let value = filled.map(|()| Value::string_ctx(&buf[..], ctx));
        // Keep the bigger of this buffer and one a nested string may have left.
        if buf.capacity() > self.str_buf.capacity() {
            self.str_buf = buf;
        }
        value
    }

    /// Coerces a value to a string, appending text and context.
    pub fn coerce_into(
        &mut self,
        v: &Value,
        pos: Pos,
        how: Coerce,
        out: &mut Vec<u8>,
        ctx: &mut Context,
    ) -> R<()> {
        let v = self.force(v)?;
        match &v {
            Value::String(s) => {
                out.extend_from_slice(&s[..]);
                ctx.extend(s.ctx().iter().cloned());
                Ok(())
            }
            Value::Path(p) => {
                if how.copy {
                    let sp = self.copy_to_store(p, pos)?;
                    out.extend_from_slice(sp.as_bytes());
                    ctx.insert(Rc::from(sp.as_str()));
                } else {
                    out.extend_from_slice(p.as_bytes());
                }
                Ok(())
            }
            Value::Attrs(a) => {
                if let Some(f) = a.get(self.syms.to_string) {
                    let f = f.value.clone();
                    let r = self.call_n(&f, std::slice::from_ref(&v), pos)?;
                    // Each recursion here through the stack check: values nest (and
                    // `__toString` may return sets) as deep as a program makes them.
                    return with_stack(|| self.coerce_into(&r, pos, how, out, ctx));
                }
                if let Some(o) = a.get(self.syms.out_path) {
                    let o = o.value.clone();
                    return with_stack(|| self.coerce_into(&o, pos, how, out, ctx));
                }
                Err(err("cannot coerce a set to a string", pos))
            }
            _ if how.more => match &v {
                Value::Null | Value::Bool(false) => Ok(()),
                Value::Bool(true) => {
                    out.push(b'1');
                    Ok(())
                }
                Value::Int(i) => {
                    crate::print::write_int(out, *i);
                    Ok(())
                }
                Value::Float(f) => {
                    out.extend_from_slice(format!("{f:.6}").as_bytes());
                    Ok(())
                }
                Value::List(l) => with_stack(|| {
                    for (i, item) in l.iter().enumerate() {
                        self.coerce_into(item, pos, how, out, ctx)?;
                        if i + 1 < l.len() {
                            let item = self.force(item)?;
                            if !matches!(&item, Value::List(x) if x.is_empty()) {
                                out.push(b' ');
                            }
                        }
                    }
                    Ok(())
                }),
                other => Err(err(
                    format!("cannot coerce {} to a string", other.show_type()),
                    pos,
                )),
            },
            other => Err(err(
                format!("cannot coerce {} to a string", other.show_type()),
                pos,
            )),
        }
    }

    /// Coerces a value to a string with its context.
    pub fn coerce(&mut self, v: &Value, pos: Pos, how: Coerce) -> R<(Vec<u8>, Context)> {
        let mut s = Vec::new();
        let mut ctx = Context::new();
        self.coerce_into(v, pos, how, &mut s, &mut ctx)?;
        Ok((s, ctx))
    }

    /// Coerces to a path text: paths as is, strings must be absolute.
    pub fn coerce_to_path(&mut self, v: &Value, pos: Pos) -> R<String> {
        let (s, _) = self.coerce(
            v,
            pos,
            Coerce {
                more: false,
                copy: false,
            },
        )?;
        let s = String::from_utf8_lossy(&s).into_owned();
        if !s.starts_with('/') {
            return Err(err(
                format!("string '{s}' doesn't represent an absolute path"),
                pos,
            ));
        }
        Ok(s)
    }

    /// The store path a source path is copied to by interpolation.
    pub fn copy_to_store(&mut self, path: &str, pos: Pos) -> R<String> {
        if let Some(sp) = self.store_cache.get(path) {
            return Ok(sp.clone());
        }
        let sp = crate::store_glue::path_to_store(path).map_err(|m| err(m, pos))?;
        self.store_cache.insert(path.to_string(), sp.clone());
        Ok(sp)
    }

    /// Imports a file (a directory means its `default.nix`), cached per path.
    pub fn import_path(&mut self, path: &str, pos: Pos) -> R<Value> {
        if path == COREPKGS_FETCHURL {
            return self.import_fetchurl(pos);
        }
        let p = import_file(path);
        if let Some(v) = self.import_cache.get(&p) {
            let v = v.clone();
            return self.force(&v);
        }
        let (text, shown, dir) = read_import(&p, pos)?;
        let expr = self.parse(&text, shown, &dir)?;
        let v = self.pending(expr, Env::empty(None));
        self.import_cache.insert(p, v.clone());
        self.force(&v)
    }

    /// `scopedImport`: the file's free variables are looked up in `scope` first.
    pub fn import_scoped(&mut self, path: &str, scope: &Attrs, pos: Pos) -> R<Value> {
        let p = import_file(path);
        let (text, shown, dir) = read_import(&p, pos)?;
        let entries = scope.entries();
        let names: Vec<Symbol> = entries.iter().map(|a| a.name).collect();
        let id = self.add_file(shown.clone(), Rc::from(text.as_str()));
        let expr =
            crate::lower::parse_and_lower_scoped(&text, &shown, id, &dir, &self.globals, names)?;
        let env = Env::unfilled(None);
        env.fill(entries.iter().map(|a| a.value.clone()).collect());
        self.eval(&expr, &env)
    }

    /// `import <nix/fetchurl.nix>`: the corepkg is built in, not a file (Nix 2.8 does
    /// the same, which is why other `/__corepkgs__/` names fail to import).
    fn import_fetchurl(&mut self, pos: Pos) -> R<Value> {
        let key = PathBuf::from(COREPKGS_FETCHURL);
        if let Some(v) = self.import_cache.get(&key) {
            let v = v.clone();
            return self.force(&v);
        }
        let expr = self
            .parse(
                include_str!("corepkgs/fetchurl.nix"),
                COREPKGS_FETCHURL.to_string(),
                "/",
            )
            .map_err(|e| e.at(pos))?;
        let v = self.pending(expr, Env::empty(None));
        self.import_cache.insert(key, v.clone());
        self.force(&v)
    }

    /// Forces a value and everything inside it.
    pub fn deep_force(&mut self, v: &Value) -> R<()> {
        let mut seen = std::collections::HashSet::new();
        self.deep_force_inner(v, &mut seen)
    }

    fn deep_force_inner(
        &mut self,
        v: &Value,
        seen: &mut std::collections::HashSet<usize>,
    ) -> R<()> {
        with_stack(|| {
            let v = self.force(v)?;
            match &v {
                Value::List(l) => {
                    if !seen.insert(Rc::as_ptr(l) as *const u8 as usize) {
                        return Ok(());
                    }
                    for item in l.iter() {
                        self.deep_force_inner(item, seen)?;
                    }
                }
                Value::Attrs(a) => {
                    if !seen.insert(Rc::as_ptr(a) as *const u8 as usize) {
                        return Ok(());
                    }
                    for at in a.entries().iter() {
                        self.deep_force_inner(&at.value, seen).map_err(|e| {
                            e.frame(at.pos, || {
                                format!("while evaluating the attribute '{}'", at.name)
                            })
                        })?;
                    }
                }
                _ => {}
            }
            Ok(())
        })
    }
}

/// The file `import` reads for `path`: a directory means its `default.nix`.
fn import_file(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_dir() {
        p.join("default.nix")
    } else {
        p
    }
}

/// An imported file's text, its name as shown in messages, and its directory.
fn read_import(p: &std::path::Path, pos: Pos) -> R<(String, String, String)> {
    let shown = p.to_string_lossy().into_owned();
    let bytes = std::fs::read(p).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_string(),
            _ => e.to_string(),
        };
        err(format!("getting status of '{shown}': {reason}"), pos)
    })?;
    // Checked whole first (fast), replaced only when not UTF-8; no copy when it is.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let dir = p
        .parent()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".to_string());
    Ok((text, shown, dir))
}

/// Looks `name` up in a search path (`<name>`, `builtins.findFile`).
pub fn find_file(search_path: &[(String, PathBuf)], name: &str, pos: Pos) -> R<Value> {
    for (prefix, path) in search_path {
        let candidate = if prefix.is_empty() {
            path.join(name)
        } else if name == prefix {
            path.clone()
        } else if let Some(rest) = name
            .strip_prefix(prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
        {
            path.join(rest)
        } else {
            continue;
        };
        if candidate.exists() {
            let text = candidate.to_string_lossy().to_string();
            let abs = if text.starts_with('/') {
                text
            } else {
                let cwd = std::env::current_dir()
                    .map(|p| p.to_string_lossy().to_string())
                    .unwrap_or_default();
                format!("{cwd}/{text}")
            };
            return Ok(Value::Path(Rc::from(crate::lower::canon_path(&abs))));
        }
    }
    // Like Nix 2.8, `<nix/…>` falls back to the built-in corepkgs, unchecked: only
    // `fetchurl.nix` can be imported (see `import`), other names fail when used.
    if let Some(rest) = name.strip_prefix("nix/") {
        return Ok(Value::Path(Rc::from(format!("{COREPKGS_PREFIX}{rest}"))));
    }
    // A `Thrown` error, as in Nix, so that `tryEval` catches it.
    Err(err_kind(
        ErrorKind::Thrown,
        format!(
            "file '{name}' was not found in the Nix search path (add it using $NIX_PATH or -I)"
        ),
        pos,
    ))
}

/// `f` as a function literal `a: …` whose body is another function literal, with
/// that inner literal.
#[inline]
fn curried2(f: &Value) -> Option<(&Rc<Closure>, &Rc<Lambda>)> {
    match f {
        Value::Lambda(c) => match (&c.lambda.param, &*c.lambda.body) {
            (Param::Ident(_), Expr::Lambda(inner)) => Some((c, inner)),
            _ => None,
        },
        _ => None,
    }
}

/// The call frame of `c` (a one-argument function literal) holding `arg`: the one in
/// `frame` refilled when nothing else holds it, else a new one.
#[inline]
fn refill_frame(frame: &mut Option<Rc<Env>>, c: &Closure, arg: Value) -> Rc<Env> {
    match frame.take() {
        Some(mut env) => match Rc::get_mut(&mut env) {
            Some(outer) => {
                outer.slots = Slots::One(arg);
                env
            }
            None => Env::one(Some(c.env.clone()), arg),
        },
        None => Env::one(Some(c.env.clone()), arg),
    }
}

/// Reads a lexical variable.
#[inline]
pub fn lookup(env: &Rc<Env>, depth: u32, slot: u32) -> R<&Value> {
    match bound_value(env, depth, slot) {
        Some(v) => Ok(v),
        None => Err(bad_variable()),
    }
}

/// A lexical variable's value, `None` when its frame is still being filled (a `let`
/// whose bindings are being made asks whether an operand is already known).
#[inline]
fn bound_value(env: &Rc<Env>, depth: u32, slot: u32) -> Option<&Value> {
    let mut e = env;
    for _ in 0..depth {
        e = e.parent.as_ref()?;
    }
    e.get(slot)
}

/// [`lookup`]'s error (a lowering bug), out of line.
#[cold]
#[inline(never)]
fn bad_variable() -> Box<EvalError> {
    err("internal error: bad variable", Pos::NONE)
}

/// The value of an integer operation whose operands are known without evaluating
/// anything (integer literals, variables holding integers or evaluated thunks of
/// them, and such operations nested at most `depth` deep), when it cannot fail.
fn int_op_now(e: &Expr, env: &Rc<Env>, depth: u32) -> Option<Value> {
    let Expr::BinOp(op, a, b, _, _) = e else {
        return None;
    };
    let x = int_now(a, env, depth)?;
    let y = int_now(b, env, depth)?;
    Some(match op {
        BinOp::Add => Value::Int(x.wrapping_add(y)),
        BinOp::Sub => Value::Int(x.wrapping_sub(y)),
        BinOp::Mul => Value::Int(x.wrapping_mul(y)),
        BinOp::Div if y != 0 && !(x == i64::MIN && y == -1) => Value::Int(x / y),
        BinOp::Lt => Value::Bool(x < y),
        BinOp::Ge => Value::Bool(x >= y),
        BinOp::Eq => Value::Bool(x == y),
        BinOp::Neq => Value::Bool(x != y),
        _ => return None,
    })
}

/// The integer an operand of [`int_op_now`] already is. Inlined there: it is asked
/// twice per operation, and a variable or literal (the usual operands) is a few loads.
#[inline(always)]
fn int_now(e: &Expr, env: &Rc<Env>, depth: u32) -> Option<i64> {
    match e {
        Expr::Var(d, s, _) => match bound_value(env, *d, *s)? {
            Value::Int(i) => Some(*i),
            Value::Thunk(t) => t.int(),
            _ => None,
        },
        Expr::Const(Value::Int(i)) => Some(*i),
        Expr::BinOp(..) if depth > 0 => nested_int_now(e, env, depth - 1),
        _ => None,
    }
}

/// [`int_now`] of an operation inside an operation, out of line.
#[inline(never)]
fn nested_int_now(e: &Expr, env: &Rc<Env>, depth: u32) -> Option<i64> {
    match int_op_now(e, env, depth)? {
        Value::Int(i) => Some(i),
        _ => None,
    }
}

/// Whether two (possibly unforced) values are the very same heap value, which Nix
/// treats as equal without comparing (so `[f] == [f]` holds for a function `f`).
/// `v` itself, or the value of the evaluated thunk it is; `None` for a thunk not
/// evaluated yet.
#[inline]
fn in_place(v: &Value) -> Option<&Value> {
    match v {
        Value::Thunk(t) => t.value_ref(),
        other => Some(other),
    }
}

/// `==` of two evaluated values when it needs no walk (`(v._type or "") == "merge"`,
/// `defs != [ ]`, `x == null`, most comparisons in module code), without the general
/// comparison's stack check and forcing; `None` for the others.
#[inline(always)]
fn shallow_eq(a: &Value, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(**x == **y),
        (Value::Null, Value::Null) => Some(true),
        (Value::Null, _) | (_, Value::Null) => Some(false),
        (Value::Bool(x), Value::Bool(y)) => Some(x == y),
        (Value::List(x), Value::List(y)) if x.is_empty() || y.is_empty() => {
            Some(x.len() == y.len())
        }
        (Value::Attrs(x), Value::Attrs(y)) if x.is_empty() || y.is_empty() => {
            Some(x.len() == y.len())
        }
        _ => None,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Thunk(x), Value::Thunk(y)) => x.same(y),
        (Value::Lambda(x), Value::Lambda(y)) => Rc::ptr_eq(x, y),
        (Value::Attrs(x), Value::Attrs(y)) => Rc::ptr_eq(x, y),
        (Value::List(x), Value::List(y)) => Rc::ptr_eq(x, y),
        (Value::PrimOp(x), Value::PrimOp(y)) => Rc::ptr_eq(x, y),
        _ => false,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// An attribute without a known position.
pub fn attr(name: Symbol, value: Value) -> Attr {
    Attr {
        name,
        value,
        pos: Pos::NONE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines and columns from the index of line starts agree with counting from the
    /// text's start: at the start, on a newline, after the last one, at the end, after
    /// a multi-byte character; an offset inside a character has none.
    #[test]
    fn line_and_column_of_offsets() {
        let text = "ab\n\nxé y\nz";
        let f = FileInfo {
            name: "t.nix".into(),
            text: Rc::from(text),
            line_starts: OnceCell::new(),
        };
        let counted = |off: usize| {
            let before = text.get(..off)?;
            let line_start = before.rfind('\n').map_or(0, |i| i + 1);
            Some((
                before.matches('\n').count() + 1,
                before.get(line_start..)?.chars().count() + 1,
            ))
        };
        for off in 0..=text.len() {
            assert_eq!(f.line_col(off), counted(off), "offset {off}");
        }
        assert_eq!(f.line_col(0), Some((1, 1)));
        assert_eq!(f.line_col(2), Some((1, 3)));
        assert_eq!(f.line_col(3), Some((2, 1)));
        assert_eq!(f.line_col(7), Some((3, 3)));
        assert_eq!(f.line_col(6), None);
        assert_eq!(f.line_col(text.len()), Some((4, 2)));
    }

    #[test]
    fn dropping_an_evaluator_frees_its_builtins() {
        let ev = Eval::new(Vec::new());
        let weak = match ev.globals.get(&intern("builtins")) {
            Some(Value::Attrs(a)) => Rc::downgrade(a),
            _ => panic!("no builtins set"),
        };
        assert!(weak.upgrade().is_some());
        drop(ev);
        assert!(weak.upgrade().is_none(), "the builtins set leaked");
    }

    /// Evaluates `text` deeply and tells whether what its result holds outlives the
    /// evaluator.
    fn leaks(text: &str) -> bool {
        let mut ev = Eval::new(Vec::new());
        let e = ev.parse(text, "«string»".to_string(), "/").expect("parses");
        let v = ev.eval(&e, &Env::empty(None)).expect("evaluates");
        ev.deep_force(&v).expect("forces");
        let weak = match &v {
            Value::Attrs(a) => WeakRef::Attrs(Rc::downgrade(a)),
            Value::Lambda(c) => WeakRef::Env(Rc::downgrade(&c.env)),
            other => panic!("unexpected {}", other.type_of()),
        };
        drop(v);
        drop(e);
        drop(ev);
        match weak {
            WeakRef::Attrs(w) => w.upgrade().is_some(),
            WeakRef::Env(w) => w.upgrade().is_some(),
        }
    }

    /// The text of the string `text` evaluates to.
    fn string_of(text: &str) -> Vec<u8> {
        let mut ev = Eval::new(Vec::new());
        let e = ev.parse(text, "«string»".to_string(), "/").expect("parses");
        match ev.eval(&e, &Env::empty(None)).expect("evaluates") {
            Value::String(s) => s.to_vec(),
            other => panic!("unexpected {}", other.type_of()),
        }
    }

    /// Comparing values nested deeper than the native stack holds (100,000 lists in
    /// one another, built twice so that they are not the same value) and making
    /// strings of them give the answer instead of overflowing the stack: `==`, `<`
    /// and `toString` recursed without the stack check (the process aborted).
    #[test]
    fn deep_values_compare_and_coerce_without_overflowing_the_stack() {
        let deep = "(builtins.foldl' (acc: i: [ acc ]) 0 (builtins.genList (i: i) 100000))";
        let cases = [
            (format!("[ {deep} ] == [ {deep} ]"), "true"),
            (format!("[ {deep} ] != [ {deep} ]"), "false"),
            (format!("[ {deep} ] < [ {deep} ]"), "false"),
            (format!("builtins.stringLength (toString {deep})"), "1"),
        ];
        for (text, expected) in cases {
            let mut ev = Eval::new(Vec::new());
            let e = ev
                .parse(&text, "«string»".to_string(), "/")
                .expect("parses");
            let got = match ev.eval(&e, &Env::empty(None)).expect("evaluates") {
                Value::Bool(b) => b.to_string(),
                Value::Int(i) => i.to_string(),
                other => other.type_of().to_string(),
            };
            assert_eq!(got, expected, "{text}");
        }
    }

    /// Strings built in the evaluator's buffer: nested in one another (each gets a
    /// buffer of its own), longer than the buffer keeps (handed over, not copied),
    /// and short ones after a long one.
    #[test]
    fn strings_built_in_the_shared_buffer() {
        assert_eq!(
            string_of(r#"let a = "x"; in "<${"[${a}${toString 42}]"}>""#),
            b"<[x42]>"
        );
        assert_eq!(string_of(r#""a" + "b${toString (-7)}" + "c""#), b"ab-7c");
        let long = r#"let s = builtins.concatStringsSep "" (builtins.genList (i: "0123456789") 10000);
            big = "${s}${s}"; in "${toString (builtins.stringLength big)} ${big + "!"} ${"short"}""#;
        let got = string_of(long);
        assert_eq!(got.len(), "200000 ".len() + 200_001 + " short".len());
        assert!(got.starts_with(b"200000 0123456789"));
        assert!(got.ends_with(b"89! short"));
    }

    enum WeakRef {
        Attrs(std::rc::Weak<Attrs>),
        Env(std::rc::Weak<Env>),
    }

    #[test]
    fn dropping_an_evaluator_frees_self_referring_values() {
        assert!(!leaks("let x = { y = x; }; in x"));
        assert!(!leaks("rec { a = { b = a; }; c = n: c n; }"));
        assert!(!leaks("let f = n: if n == 0 then f else f (n - 1); in f 3"));
        assert!(!leaks("({ a ? { b = a; } }: a) { }"));
        assert!(!leaks(
            "let fix = f: let x = f x; in x; in fix (self: { me = self; })"
        ));
    }
}
