//! Lowering of the syntax tree of [`crate::syntax`] into [`crate::ir`].
//!
//! Lowering resolves every variable: lexical bindings to `(depth, slot)`, builtins to
//! constants, and the rest to a dynamic `with` lookup (or an "undefined variable" error
//! when no `with` encloses it, as Nix reports at parse time).

use crate::error::{err, err_kind, ErrorKind, R};
use crate::ir::{AttrKey, AttrsLit, BinOp, Expr, ExprRef, Lambda, Param, Pos, StrPart};
use crate::symbol::{intern, intern_bytes, FxBuild, Symbol};
use crate::syntax::{self, Attr as SAttr, BinKind, Entry, Kind, ParamSyntax, Part, PathBase};
use crate::value::{Attr, Value};
use std::collections::HashMap;
use std::rc::Rc;

/// Formal parameters with their default expressions.
type Formals = Vec<(Symbol, Option<ExprRef>)>;

/// One lexical scope of the lowering: a frame of named slots, or a `with` frame.
struct Scope {
    names: Names,
    with: bool,
}

/// A scope's names, by slot.
enum Names {
    /// Searched, for a scope with few names (most: a function's argument, small `let`s).
    Listed(Vec<Symbol>),
    /// Slots by name, for a scope with many (a big `let` or `rec`): searching the names
    /// for every variable made lowering quadratic in their number (a `let` of 16,000
    /// bindings, half naming the other half, took 350 M instructions).
    Indexed(HashMap<Symbol, usize, FxBuild>),
}

impl Scope {
    /// The most names a scope keeps listed rather than indexed.
    const LISTED: usize = 16;

    /// A lexical scope binding `names` to slots 0, 1, …
    fn lexical(names: Vec<Symbol>) -> Scope {
        let names = if names.len() > Self::LISTED {
            // Collected in slot order, so a name bound twice keeps its last slot.
            Names::Indexed(
                names
                    .into_iter()
                    .enumerate()
                    .map(|(slot, n)| (n, slot))
                    .collect(),
            )
        } else {
            Names::Listed(names)
        };
        Scope { names, with: false }
    }

    /// The scope of a `with`, which binds no name lexically.
    fn with() -> Scope {
        Scope {
            names: Names::Listed(Vec::new()),
            with: true,
        }
    }

    /// The slot of `name`, the last one if it is bound twice.
    fn slot(&self, name: Symbol) -> Option<usize> {
        match &self.names {
            Names::Indexed(index) => index.get(&name).copied(),
            Names::Listed(names) => names.iter().rposition(|s| *s == name),
        }
    }
}

/// Lowers one file or expression text.
pub struct Lowerer<'a> {
    file: u32,
    name: &'a str,
    src: &'a str,
    dir: Rc<str>,
    scopes: Vec<Scope>,
    globals: &'a HashMap<Symbol, Value, FxBuild>,
    /// How deep [`Lowerer::deeper`] recursion is.
    depth: u32,
}

/// A binding collected from attribute paths before lowering (dotted paths merge).
enum PVal<'t, 's> {
    Expr(&'t syntax::Expr<'s>),
    Nested(PAttrs<'t, 's>),
    Inherit(Symbol),
    InheritFrom(usize, Symbol),
}

#[derive(Default)]
struct PAttrs<'t, 's> {
    rec: bool,
    statics: Vec<(Symbol, PVal<'t, 's>, Pos)>,
    index: HashMap<Symbol, usize, FxBuild>,
    dynamics: Vec<(&'t SAttr<'s>, PVal<'t, 's>, Pos)>,
    froms: Vec<&'t syntax::Expr<'s>>,
}

impl Drop for PAttrs<'_, '_> {
    /// A long attribute path nests as deep as it is long, and an error drops the
    /// nesting not lowered yet.
    fn drop(&mut self) {
        if !self.statics.is_empty() || !self.dynamics.is_empty() {
            crate::value::drop_deep(|| {
                (
                    std::mem::take(&mut self.statics),
                    std::mem::take(&mut self.dynamics),
                )
            });
        }
    }
}

/// Parses `src` and lowers it. `file` is the file id for positions, `dir` the
/// directory relative paths resolve against.
pub fn parse_and_lower(
    src: &str,
    name: &str,
    file: u32,
    dir: &str,
    globals: &HashMap<Symbol, Value, FxBuild>,
) -> R<ExprRef> {
    lower_in(src, name, file, dir, globals, Vec::new())
}

/// Like [`parse_and_lower`], for `scopedImport`: `scope` names the slots of the frame
/// the expression is evaluated in, which shadow the builtins.
pub fn parse_and_lower_scoped(
    src: &str,
    name: &str,
    file: u32,
    dir: &str,
    globals: &HashMap<Symbol, Value, FxBuild>,
    scope: Vec<Symbol>,
) -> R<ExprRef> {
    lower_in(src, name, file, dir, globals, vec![Scope::lexical(scope)])
}

fn lower_in(
    src: &str,
    name: &str,
    file: u32,
    dir: &str,
    globals: &HashMap<Symbol, Value, FxBuild>,
    scopes: Vec<Scope>,
) -> R<ExprRef> {
    let root = syntax::parse(src).map_err(|e| {
        err_kind(
            ErrorKind::Parse,
            e.message,
            Pos {
                file,
                offset: e.offset,
            },
        )
    })?;
    let mut l = Lowerer {
        file,
        name,
        src,
        dir: Rc::from(dir),
        scopes,
        globals,
        depth: 0,
    };
    l.expr(&root)
}

/// Normalises an absolute path like Nix's `canonPath` (without following symlinks):
/// removes `.`, empty components and resolves `..` lexically.
pub fn canon_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len());
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    out
}

/// Resolves a path text against a base directory.
pub fn resolve_path(text: &str, dir: &str) -> String {
    if text.starts_with('/') {
        canon_path(text)
    } else if let Some(rest) = text.strip_prefix("~/") {
        let home = std::env::var("HOME").unwrap_or_default();
        canon_path(&format!("{home}/{rest}"))
    } else {
        canon_path(&format!("{dir}/{text}"))
    }
}

/// Unescapes a double-quoted string fragment.
fn unescape_plain(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\\') {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(c) => out.push(c),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A piece of an indented string before indentation stripping, like a token of Nix's
/// lexer: raw text (whose leading spaces count as indentation) or an escape (which
/// ends a line's indentation).
#[derive(Debug)]
pub(crate) enum IndPiece<E> {
    Text(String),
    Escape(String),
    Interp(E),
}

/// Splits the raw text of an indented-string fragment into text and escapes.
pub(crate) fn split_indented<E>(raw: &str, out: &mut Vec<IndPiece<E>>) {
    let mut text = String::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("''") {
            let (esc, consumed) = if let Some(r) = after.strip_prefix('$') {
                ("$".to_string(), rest.len() - r.len())
            } else if let Some(r) = after.strip_prefix('\'') {
                ("''".to_string(), rest.len() - r.len())
            } else if let Some(r) = after.strip_prefix('\\') {
                let mut it = r.chars();
                match it.next() {
                    Some(c) => {
                        let s = match c {
                            'n' => "\n".to_string(),
                            'r' => "\r".to_string(),
                            't' => "\t".to_string(),
                            c => c.to_string(),
                        };
                        (s, rest.len() - it.as_str().len())
                    }
                    None => (String::new(), rest.len()),
                }
            } else {
                text.push_str("''");
                rest = after;
                continue;
            };
            if !text.is_empty() {
                out.push(IndPiece::Text(std::mem::take(&mut text)));
            }
            out.push(IndPiece::Escape(esc));
            rest = rest.get(consumed..).unwrap_or("");
        } else {
            let mut it = rest.chars();
            if let Some(c) = it.next() {
                text.push(c);
            }
            rest = it.as_str();
        }
    }
    if !text.is_empty() {
        out.push(IndPiece::Text(text));
    }
}

/// Nix's `stripIndentation`: removes the common indentation of an indented string.
/// Returns literal pieces (`Ok`) and interpolations (`Err`) in order.
pub(crate) fn strip_indentation<E>(pieces: Vec<IndPiece<E>>) -> Vec<Result<String, E>> {
    let mut at_start = true;
    let mut min_indent = usize::MAX;
    let mut cur = 0usize;
    for p in &pieces {
        match p {
            IndPiece::Text(s) => {
                for c in s.chars() {
                    if at_start {
                        if c == ' ' {
                            cur += 1;
                        } else if c == '\n' {
                            cur = 0;
                        } else {
                            at_start = false;
                            min_indent = min_indent.min(cur);
                        }
                    } else if c == '\n' {
                        at_start = true;
                        cur = 0;
                    }
                }
            }
            IndPiece::Escape(_) | IndPiece::Interp(_) => {
                if at_start {
                    at_start = false;
                    min_indent = min_indent.min(cur);
                }
            }
        }
    }
    let mut out = Vec::with_capacity(pieces.len());
    at_start = true;
    let mut dropped = 0usize;
    let n = pieces.len();
    for (i, p) in pieces.into_iter().enumerate() {
        let s = match p {
            IndPiece::Interp(e) => {
                at_start = false;
                dropped = 0;
                out.push(Err(e));
                continue;
            }
            IndPiece::Text(s) | IndPiece::Escape(s) => s,
        };
        let mut s2 = String::with_capacity(s.len());
        for c in s.chars() {
            if at_start {
                if c == ' ' {
                    if dropped >= min_indent {
                        s2.push(c);
                    }
                    dropped += 1;
                } else if c == '\n' {
                    dropped = 0;
                    s2.push(c);
                } else {
                    at_start = false;
                    dropped = 0;
                    s2.push(c);
                }
            } else {
                s2.push(c);
                if c == '\n' {
                    at_start = true;
                }
            }
        }
        if i + 1 == n {
            if let Some(p) = s2.rfind('\n') {
                if s2[p + 1..].chars().all(|c| c == ' ') {
                    s2.truncate(p + 1);
                }
            }
        }
        out.push(Ok(s2));
    }
    out
}

impl<'a> Lowerer<'a> {
    fn at(&self, offset: u32) -> Pos {
        Pos {
            file: self.file,
            offset,
        }
    }

    fn syntax_err(&self, msg: &str, pos: Pos) -> Box<crate::error::EvalError> {
        err_kind(ErrorKind::Parse, msg, pos)
    }

    /// Resolves a variable; `skip` innermost scopes are not searched (but still counted
    /// in the depth), for `inherit` inside `rec`/`let`.
    fn resolve(&self, name: Symbol, skip: usize, pos: Pos) -> R<Expr> {
        let mut has_with = false;
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            if depth < skip {
                continue;
            }
            if scope.with {
                has_with = true;
                continue;
            }
            if let Some(slot) = scope.slot(name) {
                return Ok(Expr::Var(depth as u32, slot as u32, pos));
            }
        }
        if let Some(v) = self.globals.get(&name) {
            return Ok(Expr::Const(v.clone()));
        }
        if has_with {
            return Ok(Expr::WithVar(name, pos));
        }
        Err(err(format!("undefined variable '{name}'"), pos))
    }

    fn expr(&mut self, e: &syntax::Expr<'_>) -> R<ExprRef> {
        Ok(Rc::new(self.expr_inner(e, None)?))
    }

    /// Lowers `e`; `name` is the attribute it is bound to (a function's name).
    fn expr_inner(&mut self, e: &syntax::Expr<'_>, name: Option<Symbol>) -> R<Expr> {
        self.deeper(e.start, |l| l.expr_node(e, name))
    }

    /// Runs `f`, a step of the lowering's recursion over the tree, with enough stack:
    /// operator chains (`1 + 1 + …`) nest as deep as the file is long. Too deep (past
    /// [`crate::eval::with_stack`]'s cap) is a stack overflow error at `offset`. The stack is
    /// checked every few levels ([`crate::eval::one_level_deeper`]).
    #[inline]
    fn deeper<T>(&mut self, offset: u32, f: impl FnOnce(&mut Self) -> R<T>) -> R<T> {
        crate::eval::one_level_deeper(self, |l| &mut l.depth, f, |l, e| e.at(l.at(offset)))
    }

    fn expr_node(&mut self, e: &syntax::Expr<'_>, name: Option<Symbol>) -> R<Expr> {
        let pos = self.at(e.start);
        Ok(match &e.kind {
            Kind::Paren(inner) => return self.expr_inner(inner, name),
            Kind::Int(text) => match text.parse::<i64>() {
                Ok(v) => Expr::Const(Value::Int(v)),
                Err(_) => return Err(err(format!("invalid integer '{text}'"), pos)),
            },
            Kind::Float(text) => match text.parse::<f64>() {
                Ok(v) => Expr::Const(Value::Float(v)),
                Err(_) => return Err(err(format!("invalid float '{text}'"), pos)),
            },
            Kind::Uri(text) => Expr::Const(Value::string(*text)),
            Kind::Ident(text) => self.resolve(intern(text), 0, pos)?,
            Kind::CurPos => Expr::CurPos(pos),
            Kind::Str { indented, parts } => self.string(*indented, parts, pos)?,
            Kind::Path { base, parts } => {
                let dir = match base {
                    PathBase::Relative => self.dir.clone(),
                    PathBase::Absolute | PathBase::Home => Rc::from(""),
                };
                self.path(parts, &dir, pos)?
            }
            Kind::SearchPath(name) => Expr::SearchPath(Rc::from(*name), pos),
            Kind::List(list) => {
                let mut items = Vec::with_capacity(list.len());
                for item in list {
                    items.push(self.expr(item)?);
                }
                // A list of constants is built once (see `Expr::ConstData`).
                let consts: Option<Vec<Value>> = items.iter().map(|i| constant(i)).collect();
                match consts {
                    Some(values) => Expr::ConstData(Value::list(values)),
                    None => Expr::List(items),
                }
            }
            Kind::Apply(f, args) => {
                let f = self.expr(f)?;
                let mut lowered = Vec::with_capacity(args.len());
                for a in args {
                    lowered.push(self.expr(a)?);
                }
                Expr::Apply(f, lowered, pos)
            }
            Kind::Assert(cond, body) => {
                let text = self.show_expr_text(cond);
                let cond = self.expr(cond)?;
                let body = self.expr(body)?;
                Expr::Assert(cond, body, Rc::from(text), pos)
            }
            Kind::If(c, t, f) => Expr::If(self.expr(c)?, self.expr(t)?, self.expr(f)?, pos),
            Kind::Select(base, path, default) => {
                let base = self.expr(base)?;
                let path = self.attrpath(path)?;
                let default = match default {
                    Some(d) => Some(self.expr(d)?),
                    None => None,
                };
                // `builtins.seq` and the like: a constant set's evaluated attribute is
                // the constant itself, found once here instead of at every evaluation.
                if let Some(v) = const_select(&base, &path) {
                    return Ok(Expr::Const(v));
                }
                Expr::Select(base, path, default, pos)
            }
            Kind::HasAttr(base, path) => Expr::HasAttr(self.expr(base)?, self.attrpath(path)?),
            Kind::Lambda(l) => Expr::Lambda(Rc::new(self.lambda(l, name, pos)?)),
            Kind::LegacyLet(entries) => {
                let p = self.collect(entries, true)?;
                let body_sym = intern("body");
                let lit = self.lower_pattrs(p, true)?;
                let attrs = Rc::new(Expr::Attrs(lit));
                Expr::Select(attrs, vec![AttrKey::Static(body_sym)], None, pos)
            }
            Kind::LetIn(entries, body) => {
                let p = self.collect(entries, true)?;
                if let Some((_, _, dpos)) = p.dynamics.first() {
                    return Err(err("dynamic attributes not allowed in let", *dpos));
                }
                let names: Vec<Symbol> = sorted_names(&p);
                let lit = self.lower_pattrs_in_scope(p, names, true)?;
                let body = self.expr(body);
                self.scopes.pop();
                Expr::Let(lit, body?)
            }
            Kind::AttrSet(rec, entries) => {
                let p = self.collect(entries, *rec)?;
                let lit = self.lower_pattrs(p, *rec)?;
                // Likewise a plain set of constants.
                let consts: Option<Vec<Attr>> = if lit.rec || !lit.dynamics.is_empty() {
                    None
                } else {
                    lit.statics
                        .iter()
                        .map(|(name, e, pos)| {
                            constant(e).map(|value| Attr {
                                name: *name,
                                value,
                                pos: *pos,
                            })
                        })
                        .collect()
                };
                match consts {
                    Some(entries) => Expr::ConstData(Value::attrs(entries)),
                    None => Expr::Attrs(lit),
                }
            }
            Kind::Not(inner) => Expr::Not(self.expr(inner)?, pos),
            Kind::Neg(inner) => Expr::Neg(self.expr(inner)?, pos),
            Kind::Bin(op, l, r) => {
                let rpos = self.at(r.start);
                let l = self.expr(l)?;
                let r = self.expr(r)?;
                let bin = |o| Expr::BinOp(o, l.clone(), r.clone(), pos, rpos);
                match op {
                    BinKind::Concat => bin(BinOp::Concat),
                    BinKind::Update => bin(BinOp::Update),
                    BinKind::Add => bin(BinOp::Add),
                    BinKind::Sub => bin(BinOp::Sub),
                    BinKind::Mul => bin(BinOp::Mul),
                    BinKind::Div => bin(BinOp::Div),
                    BinKind::Eq => bin(BinOp::Eq),
                    BinKind::Neq => bin(BinOp::Neq),
                    BinKind::Lt => bin(BinOp::Lt),
                    BinKind::Ge => bin(BinOp::Ge),
                    // Nix reads `a > b` as `lessThan b a` and `a <= b` as its negation:
                    // the right operand is evaluated first (what traces and the first
                    // error show).
                    BinKind::Gt => Expr::BinOp(BinOp::Lt, r, l, pos, rpos),
                    BinKind::Le => Expr::BinOp(BinOp::Ge, r, l, pos, rpos),
                    BinKind::And => Expr::And(l, r, pos),
                    BinKind::Or => Expr::Or(l, r, pos),
                    BinKind::Impl => Expr::Impl(l, r, pos),
                }
            }
            Kind::With(ns, body) => {
                let ns = self.expr(ns)?;
                self.scopes.push(Scope::with());
                let body = self.expr(body);
                self.scopes.pop();
                Expr::With(ns, body?)
            }
        })
    }

    /// Lowers the parts of a string.
    fn string(&mut self, indented: bool, parts: &[Part<'_>], pos: Pos) -> R<Expr> {
        let mut out: Vec<StrPart> = Vec::new();
        if indented {
            let mut pieces: Vec<IndPiece<(&syntax::Expr<'_>, u32)>> = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                match part {
                    Part::Text(raw) => {
                        let mut raw = *raw;
                        if i == 0 {
                            // The lexer swallows spaces and a newline right after `''`.
                            let trimmed = raw.trim_start_matches(' ');
                            if let Some(r) = trimmed.strip_prefix('\n') {
                                raw = r;
                            }
                        }
                        split_indented(raw, &mut pieces);
                    }
                    Part::Interp(e, at) => pieces.push(IndPiece::Interp((e, *at))),
                }
            }
            for p in strip_indentation(pieces) {
                match p {
                    Ok(text) => push_lit(&mut out, &text),
                    Err((e, at)) => out.push(StrPart::Interp(self.expr(e)?, self.at(at))),
                }
            }
        } else {
            // Most strings are one piece of text: made into the constant directly.
            if let [Part::Text(raw)] = parts {
                return Ok(Expr::Const(Value::string(&*unescape_plain(raw))));
            }
            for part in parts {
                match part {
                    Part::Text(raw) => push_lit(&mut out, &unescape_plain(raw)),
                    Part::Interp(e, at) => out.push(StrPart::Interp(self.expr(e)?, self.at(*at))),
                }
            }
        }
        Ok(match out.as_slice() {
            [] => Expr::Const(Value::string("")),
            [StrPart::Lit(l)] => Expr::Const(Value::string(l.to_string())),
            _ => Expr::Str(out, pos),
        })
    }

    fn path(&mut self, parts: &[Part<'_>], dir: &str, pos: Pos) -> R<Expr> {
        if let [Part::Text(text)] = parts {
            return Ok(Expr::Const(Value::Path(Rc::from(resolve_path(text, dir)))));
        }
        let mut out = Vec::new();
        for p in parts {
            match p {
                Part::Text(text) => push_lit(&mut out, text),
                Part::Interp(e, at) => out.push(StrPart::Interp(self.expr(e)?, self.at(*at))),
            }
        }
        Ok(Expr::InterpPath(out, Rc::from(dir), pos))
    }

    fn attr_key(&mut self, a: &SAttr<'_>) -> R<AttrKey> {
        let lowered = match a {
            SAttr::Ident(name) => return Ok(AttrKey::Static(intern(name))),
            SAttr::Str(parts, at) => self.string(false, parts, self.at(*at))?,
            SAttr::Dynamic(e) => self.expr_inner(e, None)?,
        };
        Ok(match lowered {
            Expr::Const(Value::String(ref st)) => AttrKey::Static(intern_bytes(&st[..])),
            other => AttrKey::Dynamic(Rc::new(other)),
        })
    }

    /// The name of an attribute known without evaluation.
    fn static_name(&self, a: &SAttr<'_>) -> Option<Symbol> {
        let parts = match a {
            SAttr::Ident(name) => return Some(intern(name)),
            SAttr::Str(parts, _) => parts,
            SAttr::Dynamic(e) => match &e.kind {
                Kind::Str {
                    indented: false,
                    parts,
                } => parts,
                _ => return None,
            },
        };
        let mut text = String::new();
        for p in parts {
            match p {
                Part::Text(raw) => text.push_str(&unescape_plain(raw)),
                Part::Interp(..) => return None,
            }
        }
        Some(intern(&text))
    }

    fn attrpath(&mut self, path: &[SAttr<'_>]) -> R<Vec<AttrKey>> {
        let mut out = Vec::with_capacity(path.len());
        for a in path {
            out.push(self.attr_key(a)?);
        }
        Ok(out)
    }

    /// Collects the entries of an attribute set or `let` into a [`PAttrs`] tree.
    fn collect<'t, 's>(&mut self, entries: &'t [Entry<'s>], rec: bool) -> R<PAttrs<'t, 's>> {
        let mut p = PAttrs::default();
        p.rec = rec;
        for entry in entries {
            match entry {
                Entry::Inherit { from, attrs } => {
                    let from_idx = from.as_ref().map(|(f, _)| {
                        p.froms.push(f);
                        p.froms.len() - 1
                    });
                    // Nix 2.8 places every attribute of `inherit (e) …` where `(e)` ends.
                    let from_end = from.as_ref().map(|(_, end)| self.at(*end));
                    for (a, ws) in attrs {
                        let apos = from_end.unwrap_or_else(|| self.at(*ws));
                        let name = match self.static_name(a) {
                            Some(n) => n,
                            None => {
                                return Err(self
                                    .syntax_err("dynamic attributes not allowed in inherit", apos))
                            }
                        };
                        let v = match from_idx {
                            Some(i) => PVal::InheritFrom(i, name),
                            None => PVal::Inherit(name),
                        };
                        if let Some(&i) = p.index.get(&name) {
                            let prev = p.statics.get(i).map(|s| s.2).unwrap_or(Pos::NONE);
                            return Err(self.dup_attr(&name.as_str(), apos, prev));
                        }
                        p.index.insert(name, p.statics.len());
                        p.statics.push((name, v, apos));
                    }
                }
                Entry::Value { start, path, value } => {
                    self.insert(&mut p, path, value, self.at(*start), path)?;
                }
            }
        }
        Ok(p)
    }

    /// An attribute path as error messages show it (`a."${...}".c`).
    fn show_path(&self, path: &[SAttr<'_>]) -> String {
        let names: Vec<String> = path
            .iter()
            .map(|a| match self.static_name(a) {
                Some(n) => n.as_str().into_owned(),
                None => "\"${...}\"".to_string(),
            })
            .collect();
        names.join(".")
    }

    fn dup_attr(&self, path: &str, pos: Pos, prev: Pos) -> Box<crate::error::EvalError> {
        let off = (prev.offset as usize).min(self.src.len());
        let before = self.src.get(..off).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        let name = if self.name == "«string»" {
            "(string)"
        } else {
            self.name
        };
        err(
            format!("attribute '{path}' already defined at {name}:{line}:{col}"),
            pos,
        )
    }

    fn value_to_pval<'t, 's>(&mut self, value: &'t syntax::Expr<'s>) -> R<PVal<'t, 's>> {
        let mut inner = value;
        while let Kind::Paren(e) = &inner.kind {
            inner = e;
        }
        if let Kind::AttrSet(rec, entries) = &inner.kind {
            return Ok(PVal::Nested(self.collect(entries, *rec)?));
        }
        Ok(PVal::Expr(inner))
    }

    fn insert<'t, 's>(
        &mut self,
        p: &mut PAttrs<'t, 's>,
        path: &'t [SAttr<'s>],
        value: &'t syntax::Expr<'s>,
        pos: Pos,
        full: &[SAttr<'_>],
    ) -> R<()> {
        // A long attribute path (`a.a.a.… = 1;`) recurses once per name.
        self.deeper(pos.offset, |l| l.insert_path(p, path, value, pos, full))
    }

    fn insert_path<'t, 's>(
        &mut self,
        p: &mut PAttrs<'t, 's>,
        path: &'t [SAttr<'s>],
        value: &'t syntax::Expr<'s>,
        pos: Pos,
        full: &[SAttr<'_>],
    ) -> R<()> {
        let Some((first, rest)) = path.split_first() else {
            return Err(self.syntax_err("syntax error", pos));
        };
        let Some(name) = self.static_name(first) else {
            let v = if rest.is_empty() {
                self.value_to_pval(value)?
            } else {
                let mut nested = PAttrs::default();
                self.insert(&mut nested, rest, value, pos, full)?;
                PVal::Nested(nested)
            };
            p.dynamics.push((first, v, pos));
            return Ok(());
        };
        match p.index.get(&name).copied() {
            None => {
                let v = if rest.is_empty() {
                    self.value_to_pval(value)?
                } else {
                    let mut nested = PAttrs::default();
                    self.insert(&mut nested, rest, value, pos, full)?;
                    PVal::Nested(nested)
                };
                p.index.insert(name, p.statics.len());
                p.statics.push((name, v, pos));
            }
            Some(i) => {
                let prev_pos = p.statics.get(i).map(|s| s.2).unwrap_or(Pos::NONE);
                if rest.is_empty() {
                    let newv = self.value_to_pval(value)?;
                    let Some(slot) = p.statics.get_mut(i) else {
                        return Err(self.dup_attr(&self.show_path(full), pos, prev_pos));
                    };
                    match (&mut slot.1, newv) {
                        (PVal::Nested(existing), PVal::Nested(mut new)) => {
                            for (n, v, npos) in std::mem::take(&mut new.statics) {
                                if existing.index.contains_key(&n) {
                                    return Err(self.dup_attr(
                                        &format!("{}.{n}", self.show_path(full)),
                                        npos,
                                        prev_pos,
                                    ));
                                }
                                let v = match v {
                                    PVal::InheritFrom(fi, s) => {
                                        PVal::InheritFrom(fi + existing.froms.len(), s)
                                    }
                                    v => v,
                                };
                                existing.index.insert(n, existing.statics.len());
                                existing.statics.push((n, v, npos));
                            }
                            existing.froms.extend(std::mem::take(&mut new.froms));
                            existing.dynamics.extend(std::mem::take(&mut new.dynamics));
                        }
                        _ => return Err(self.dup_attr(&self.show_path(full), pos, prev_pos)),
                    }
                } else {
                    let Some(slot) = p.statics.get_mut(i) else {
                        return Err(self.dup_attr(&self.show_path(full), pos, prev_pos));
                    };
                    match &mut slot.1 {
                        PVal::Nested(nested) => {
                            let mut taken = std::mem::take(nested);
                            let r = self.insert(&mut taken, rest, value, pos, full);
                            if let Some(PVal::Nested(n)) = p.statics.get_mut(i).map(|s| &mut s.1) {
                                *n = taken;
                            }
                            r?;
                        }
                        _ => return Err(self.dup_attr(&self.show_path(full), pos, prev_pos)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Lowers a set nested in another's bindings (`{ a = { a = …; }; }`, `a.a.a = 1;`),
    /// bound at `pos`: these recurse here, not through `expr_inner`.
    fn lower_nested(&mut self, p: PAttrs<'_, '_>, rec: bool, pos: Pos) -> R<AttrsLit> {
        self.deeper(pos.offset, |l| l.lower_pattrs(p, rec))
    }

    /// Lowers a collected attribute set; `rec` opens a scope for its names.
    fn lower_pattrs(&mut self, p: PAttrs<'_, '_>, rec: bool) -> R<AttrsLit> {
        if rec {
            let names = sorted_names(&p);
            let lit = self.lower_pattrs_in_scope(p, names, true)?;
            self.scopes.pop();
            Ok(lit)
        } else {
            self.lower_pattrs_in_scope(p, Vec::new(), false)
        }
    }

    /// Lowers bindings; when `rec`, pushes a scope holding `names` (left pushed for
    /// the caller to lower a `let` body in, then pop).
    fn lower_pattrs_in_scope(
        &mut self,
        p: PAttrs<'_, '_>,
        names: Vec<Symbol>,
        rec: bool,
    ) -> R<AttrsLit> {
        if rec {
            self.scopes.push(Scope::lexical(names));
        }
        let result = self.lower_pattrs_body(p, rec);
        if result.is_err() && rec {
            self.scopes.pop();
        }
        result
    }

    fn lower_pattrs_body(&mut self, mut p: PAttrs<'_, '_>, rec: bool) -> R<AttrsLit> {
        let mut froms = Vec::with_capacity(p.froms.len());
        for f in &p.froms {
            froms.push(self.expr(f)?);
        }
        let mut statics = Vec::with_capacity(p.statics.len());
        for (name, v, pos) in std::mem::take(&mut p.statics) {
            let e = match v {
                PVal::Expr(e) => Rc::new(self.expr_inner(e, Some(name))?),
                PVal::Nested(n) => {
                    let rec_inner = n.rec;
                    Rc::new(Expr::Attrs(self.lower_nested(n, rec_inner, pos)?))
                }
                PVal::Inherit(s) => Rc::new(self.resolve(s, usize::from(rec), pos)?),
                PVal::InheritFrom(i, s) => {
                    let Some(from) = froms.get(i) else {
                        return Err(self.syntax_err("syntax error", pos));
                    };
                    Rc::new(Expr::Select(
                        from.clone(),
                        vec![AttrKey::Static(s)],
                        None,
                        pos,
                    ))
                }
            };
            statics.push((name, e, pos));
        }
        statics.sort_by_key(|a| a.0);
        let mut dynamics = Vec::with_capacity(p.dynamics.len());
        for (key, v, pos) in std::mem::take(&mut p.dynamics) {
            let k = match self.attr_key(key)? {
                AttrKey::Static(s) => Rc::new(Expr::Const(Value::string(s.as_bytes()))),
                AttrKey::Dynamic(e) => e,
            };
            let e = match v {
                PVal::Expr(e) => self.expr(e)?,
                PVal::Nested(n) => {
                    let rec_inner = n.rec;
                    Rc::new(Expr::Attrs(self.lower_nested(n, rec_inner, pos)?))
                }
                _ => return Err(self.syntax_err("syntax error", pos)),
            };
            dynamics.push((k, e, pos));
        }
        let overrides = if rec {
            let name = intern("__overrides");
            statics.iter().position(|s| s.0 == name)
        } else {
            None
        };
        Ok(AttrsLit {
            rec,
            statics,
            dynamics,
            overrides,
        })
    }

    fn lambda(
        &mut self,
        l: &syntax::LambdaSyntax<'_>,
        name: Option<Symbol>,
        pos: Pos,
    ) -> R<Lambda> {
        match &l.param {
            ParamSyntax::Ident(n) => {
                let n = intern(n);
                self.scopes.push(Scope::lexical(vec![n]));
                let body = self.expr(&l.body);
                self.scopes.pop();
                Ok(Lambda {
                    name,
                    param: Param::Ident(n),
                    slots: 1,
                    body: body?,
                    pos,
                })
            }
            ParamSyntax::Pattern {
                formals: pattern,
                ellipsis,
                bind,
            } => {
                let mut names = Vec::with_capacity(pattern.len());
                let mut formal_pos = Vec::with_capacity(pattern.len());
                for (n, at, _) in pattern {
                    let n = intern(n);
                    let epos = self.at(*at);
                    if names.contains(&n) {
                        return Err(self.syntax_err(
                            &format!("duplicate formal function argument '{n}'"),
                            epos,
                        ));
                    }
                    formal_pos.push(epos);
                    names.push(n);
                }
                let bind = bind.map(intern);
                let mut scope_names = names.clone();
                if let Some(b) = bind {
                    if names.contains(&b) {
                        return Err(self.syntax_err(
                            &format!("duplicate formal function argument '{b}'"),
                            pos,
                        ));
                    }
                    scope_names.push(b);
                }
                let slots = scope_names.len();
                self.scopes.push(Scope::lexical(scope_names));
                let result = (|| -> R<(Formals, ExprRef)> {
                    let mut formals = Vec::with_capacity(names.len());
                    for (n, (_, _, d)) in names.iter().zip(pattern) {
                        let d = match d {
                            Some(d) => Some(self.expr(d)?),
                            None => None,
                        };
                        formals.push((*n, d));
                    }
                    let body = self.expr(&l.body)?;
                    Ok((formals, body))
                })();
                self.scopes.pop();
                let (formals, body) = result?;
                Ok(Lambda {
                    name,
                    param: Param::Pattern {
                        formals,
                        formal_pos,
                        ellipsis: *ellipsis,
                        bind,
                    },
                    slots,
                    body,
                    pos,
                })
            }
        }
    }

    /// Renders an assertion's condition the way Nix 2.8 shows expressions: binary
    /// operations in parentheses, other expressions as written.
    fn show_expr_text(&self, e: &syntax::Expr<'_>) -> String {
        let text = self.src.get(e.start as usize..e.end as usize).unwrap_or("");
        match e.kind {
            Kind::Bin(..) => format!("({text})"),
            _ => text.to_string(),
        }
    }
}

fn push_lit(parts: &mut Vec<StrPart>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(StrPart::Lit(prev)) = parts.last_mut() {
        let joined = format!("{prev}{text}");
        *prev = Rc::from(joined);
        return;
    }
    parts.push(StrPart::Lit(Rc::from(text)));
}

fn sorted_names(p: &PAttrs<'_, '_>) -> Vec<Symbol> {
    let mut names: Vec<Symbol> = p.statics.iter().map(|s| s.0).collect();
    names.sort();
    names
}

/// The value of a constant expression that needs no evaluation (not a thunk).
fn constant(e: &Expr) -> Option<Value> {
    match e {
        Expr::Const(v) if !matches!(v, Value::Thunk(_)) => Some(v.clone()),
        _ => None,
    }
}

/// The value `base.path` selects when `base` is a constant set (`builtins`) and every
/// step finds an evaluated attribute; `None` otherwise (then it is selected at run time,
/// with its errors).
fn const_select(base: &Expr, path: &[AttrKey]) -> Option<Value> {
    let Expr::Const(Value::Attrs(set)) = base else {
        return None;
    };
    let mut v = Value::Attrs(set.clone());
    for key in path {
        let AttrKey::Static(name) = key else {
            return None;
        };
        let next = match &v {
            Value::Attrs(a) => a.get(*name)?.value.clone(),
            _ => return None,
        };
        if matches!(next, Value::Thunk(_)) {
            return None;
        }
        v = next;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(raw: &str) -> String {
        let mut pieces: Vec<IndPiece<()>> = Vec::new();
        split_indented(raw, &mut pieces);
        strip_indentation(pieces)
            .into_iter()
            .map(|p| p.unwrap_or_default())
            .collect()
    }

    #[test]
    fn indentation_is_stripped_to_the_minimum() {
        assert_eq!(strip("  a\n    b\n  "), "a\n  b\n");
        assert_eq!(strip("  a\n\n  b"), "a\n\nb");
    }

    #[test]
    fn escapes_in_indented_strings() {
        assert_eq!(strip("''$x '''y ''\\n"), "$x ''y \n");
    }

    #[test]
    fn canon_path_resolves_dots() {
        assert_eq!(canon_path("/a/b/../c/./d//e"), "/a/c/d/e");
        assert_eq!(canon_path("/.."), "/");
    }
}
