//! Parsing (with `rnix`) and lowering of the syntax tree into [`crate::ir`].
//!
//! Lowering resolves every variable: lexical bindings to `(depth, slot)`, builtins to
//! constants, and the rest to a dynamic `with` lookup (or an "undefined variable" error
//! when no `with` encloses it, as Nix reports at parse time).

use crate::error::{err, err_kind, ErrorKind, R};
use crate::ir::{AttrKey, AttrsLit, BinOp, Expr, ExprRef, Lambda, Param, Pos, StrPart};
use crate::symbol::{intern, intern_bytes, FxBuild, Symbol};
use crate::value::{Attr, Value};
use rnix::ast::{self, AstToken, HasEntry, InterpolPart};
use rnix::SyntaxKind;
use rowan::ast::AstNode;
use std::collections::HashMap;
use std::rc::Rc;

/// Formal parameters with their default expressions.
type Formals = Vec<(Symbol, Option<ExprRef>)>;

/// One lexical scope of the lowering: a frame of named slots, or a `with` frame.
struct Scope {
    names: Vec<Symbol>,
    with: bool,
}

/// Lowers one file or expression text.
pub struct Lowerer<'a> {
    file: u32,
    name: &'a str,
    src: &'a str,
    dir: Rc<str>,
    scopes: Vec<Scope>,
    globals: &'a HashMap<Symbol, Value, FxBuild>,
}

/// A binding collected from attribute paths before lowering (dotted paths merge).
enum PVal {
    Expr(ast::Expr),
    Nested(PAttrs),
    Inherit(Symbol),
    InheritFrom(usize, Symbol),
}

#[derive(Default)]
struct PAttrs {
    rec: bool,
    statics: Vec<(Symbol, PVal, Pos)>,
    index: HashMap<Symbol, usize, FxBuild>,
    dynamics: Vec<(ast::Attr, PVal, Pos)>,
    froms: Vec<ast::Expr>,
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
    lower_in(
        src,
        name,
        file,
        dir,
        globals,
        vec![Scope {
            names: scope,
            with: false,
        }],
    )
}

fn lower_in(
    src: &str,
    name: &str,
    file: u32,
    dir: &str,
    globals: &HashMap<Symbol, Value, FxBuild>,
    scopes: Vec<Scope>,
) -> R<ExprRef> {
    let parse = rnix::Root::parse(src);
    if let Some(e) = parse.errors().first() {
        return Err(parse_error(e, src, file));
    }
    let root = parse.tree();
    let mut l = Lowerer {
        file,
        name,
        src,
        dir: Rc::from(dir),
        scopes,
        globals,
    };
    match root.expr() {
        Some(e) => l.expr(&e),
        None => Err(err_kind(
            ErrorKind::Parse,
            "syntax error, unexpected end of file",
            Pos {
                file,
                offset: src.len() as u32,
            },
        )),
    }
}

fn describe_token(src: &str, range: rnix::TextRange) -> String {
    let start = usize::from(range.start());
    let end = usize::from(range.end()).min(src.len());
    let text = src.get(start..end).unwrap_or("").trim();
    if text.is_empty() {
        "end of file".to_string()
    } else {
        let first: String = text.chars().take(20).collect();
        format!("'{first}'")
    }
}

fn parse_error(e: &rnix::ParseError, src: &str, file: u32) -> Box<crate::error::EvalError> {
    use rnix::ParseError as P;
    let eof = src.len() as u32;
    if let P::Unexpected(r) | P::UnexpectedExtra(r) | P::UnexpectedWanted(_, r, _) = e {
        let start = usize::from(r.start());
        let end = usize::from(r.end()).min(src.len());
        let text = src.get(start..end).unwrap_or("");
        if text.ends_with('/') && text.contains('/') && !text.contains(char::is_whitespace) {
            return err_kind(
                ErrorKind::Parse,
                "path has a trailing slash",
                Pos {
                    file,
                    offset: start as u32,
                },
            );
        }
    }
    let (msg, off) = match e {
        P::Unexpected(r) | P::UnexpectedExtra(r) | P::UnexpectedDoubleBind(r) => (
            format!("syntax error, unexpected {}", describe_token(src, *r)),
            u32::from(r.start()),
        ),
        P::UnexpectedWanted(_, r, _) => (
            format!("syntax error, unexpected {}", describe_token(src, *r)),
            u32::from(r.start()),
        ),
        P::UnexpectedEOF | P::UnexpectedEOFWanted(_) => {
            ("syntax error, unexpected end of file".to_string(), eof)
        }
        P::DuplicatedArgs(r, name) => (
            format!("duplicate formal function argument '{name}'"),
            u32::from(r.start()),
        ),
        P::RecursionLimitExceeded => ("expression nested too deeply".to_string(), 0),
        _ => ("syntax error".to_string(), 0),
    };
    err_kind(ErrorKind::Parse, msg, Pos { file, offset: off })
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
fn unescape_plain(raw: &str) -> String {
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
    out
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
    fn pos_of(&self, node: &rnix::SyntaxNode) -> Pos {
        Pos {
            file: self.file,
            offset: u32::from(node.text_range().start()),
        }
    }

    fn pos_tok(&self, tok: &rnix::SyntaxToken) -> Pos {
        Pos {
            file: self.file,
            offset: u32::from(tok.text_range().start()),
        }
    }

    /// Nix 2.8 places an inherited attribute where the preceding token ends (its
    /// parser location includes the whitespace before the name).
    fn inherit_pos(&self, a: &ast::Attr) -> Pos {
        let start = self.pos_of(a.syntax());
        match a.syntax().first_token().and_then(|t| t.prev_token()) {
            Some(t) if t.kind() == SyntaxKind::TOKEN_WHITESPACE => self.pos_tok(&t),
            _ => start,
        }
    }

    fn syntax_err(&self, msg: &str, pos: Pos) -> Box<crate::error::EvalError> {
        err_kind(ErrorKind::Parse, msg, pos)
    }

    /// Resolves a variable; `skip` innermost scopes are not searched (but still counted
    /// in the depth), for `inherit` inside `rec`/`let`.
    fn resolve(&self, name: Symbol, skip: usize, pos: Pos) -> R<Expr> {
        let n = self.scopes.len();
        let mut has_with = false;
        for (depth, scope) in self.scopes.iter().rev().enumerate() {
            if depth < skip {
                continue;
            }
            if scope.with {
                has_with = true;
                continue;
            }
            if let Some(slot) = scope.names.iter().rposition(|s| *s == name) {
                return Ok(Expr::Var(depth as u32, slot as u32, pos));
            }
        }
        let _ = n;
        if let Some(v) = self.globals.get(&name) {
            return Ok(Expr::Const(v.clone()));
        }
        if has_with {
            return Ok(Expr::WithVar(name, pos));
        }
        Err(err(format!("undefined variable '{name}'"), pos))
    }

    fn expr(&mut self, e: &ast::Expr) -> R<ExprRef> {
        Ok(Rc::new(self.expr_inner(e, None)?))
    }

    fn need(&mut self, e: Option<ast::Expr>, at: &rnix::SyntaxNode) -> R<ExprRef> {
        match e {
            Some(e) => self.expr(&e),
            None => Err(self.syntax_err("syntax error, unexpected end of file", self.pos_of(at))),
        }
    }

    fn expr_inner(&mut self, e: &ast::Expr, name: Option<Symbol>) -> R<Expr> {
        let pos = self.pos_of(e.syntax());
        Ok(match e {
            ast::Expr::Paren(p) => {
                return match p.expr() {
                    Some(inner) => self.expr_inner(&inner, name),
                    None => Err(self.syntax_err("syntax error, unexpected ')'", pos)),
                }
            }
            ast::Expr::Root(r) => return self.need_inner(r.expr(), e.syntax()),
            ast::Expr::Error(_) => return Err(self.syntax_err("syntax error", pos)),
            ast::Expr::Literal(lit) => match lit.kind() {
                ast::LiteralKind::Integer(i) => match i.value() {
                    Ok(v) => Expr::Const(Value::Int(v)),
                    Err(_) => {
                        return Err(err(format!("invalid integer '{}'", i.syntax().text()), pos))
                    }
                },
                ast::LiteralKind::Float(f) => match f.value() {
                    Ok(v) => Expr::Const(Value::Float(v)),
                    Err(_) => {
                        return Err(err(format!("invalid float '{}'", f.syntax().text()), pos))
                    }
                },
                ast::LiteralKind::Uri(u) => Expr::Const(Value::string(u.syntax().text())),
            },
            ast::Expr::Ident(id) => self.resolve(ident_name(id), 0, pos)?,
            ast::Expr::Str(s) => self.string(s, pos)?,
            ast::Expr::PathAbs(p) => self.path(&p.parts(), "", pos)?,
            ast::Expr::PathRel(p) => {
                let dir = self.dir.clone();
                self.path(&p.parts(), &dir, pos)?
            }
            ast::Expr::PathHome(p) => self.path(&p.parts(), "", pos)?,
            ast::Expr::PathSearch(p) => {
                let text = p
                    .content()
                    .map(|c| c.text().to_string())
                    .unwrap_or_default();
                let inner = text
                    .strip_prefix('<')
                    .and_then(|t| t.strip_suffix('>'))
                    .unwrap_or(&text);
                Expr::SearchPath(Rc::from(inner), pos)
            }
            ast::Expr::List(l) => {
                let mut items = Vec::new();
                for item in l.items() {
                    items.push(self.expr(&item)?);
                }
                // A list of constants is built once (see `Expr::ConstData`).
                let consts: Option<Vec<Value>> = items.iter().map(|i| constant(i)).collect();
                match consts {
                    Some(values) => Expr::ConstData(Value::list(values)),
                    None => Expr::List(items),
                }
            }
            ast::Expr::Apply(_) => {
                let mut args = Vec::new();
                let mut cur = e.clone();
                while let ast::Expr::Apply(a) = &cur {
                    let arg = a.argument();
                    args.push(arg);
                    match a.lambda() {
                        Some(f) => cur = f,
                        None => return Err(self.syntax_err("syntax error", pos)),
                    }
                }
                let f = self.expr(&cur)?;
                let mut lowered = Vec::with_capacity(args.len());
                for a in args.into_iter().rev() {
                    lowered.push(self.need(a, e.syntax())?);
                }
                Expr::Apply(f, lowered, pos)
            }
            ast::Expr::Assert(a) => {
                let cond_ast = a.condition();
                let text = match &cond_ast {
                    Some(c) => show_expr_text(c),
                    None => String::new(),
                };
                let cond = self.need(cond_ast, e.syntax())?;
                let body = self.need(a.body(), e.syntax())?;
                Expr::Assert(cond, body, Rc::from(text), pos)
            }
            ast::Expr::IfElse(i) => {
                let c = self.need(i.condition(), e.syntax())?;
                let t = self.need(i.body(), e.syntax())?;
                let f = self.need(i.else_body(), e.syntax())?;
                Expr::If(c, t, f, pos)
            }
            ast::Expr::Select(s) => {
                let base = self.need(s.expr(), e.syntax())?;
                let path = match s.attrpath() {
                    Some(p) => self.attrpath(&p)?,
                    None => return Err(self.syntax_err("syntax error", pos)),
                };
                let default = match s.default_expr() {
                    Some(d) => Some(self.expr(&d)?),
                    None => None,
                };
                // `builtins.seq` and the like: a constant set's evaluated attribute is
                // the constant itself, found once here instead of at every evaluation.
                if let Some(v) = const_select(&base, &path) {
                    return Ok(Expr::Const(v));
                }
                Expr::Select(base, path, default, pos)
            }
            ast::Expr::HasAttr(h) => {
                let base = self.need(h.expr(), e.syntax())?;
                let path = match h.attrpath() {
                    Some(p) => self.attrpath(&p)?,
                    None => return Err(self.syntax_err("syntax error", pos)),
                };
                Expr::HasAttr(base, path)
            }
            ast::Expr::Lambda(l) => Expr::Lambda(Rc::new(self.lambda(l, name, pos)?)),
            ast::Expr::LegacyLet(l) => {
                let p = self.collect(l, true)?;
                let body_sym = intern("body");
                let lit = self.lower_pattrs(p, true)?;
                let attrs = Rc::new(Expr::Attrs(lit));
                Expr::Select(attrs, vec![AttrKey::Static(body_sym)], None, pos)
            }
            ast::Expr::LetIn(l) => {
                let p = self.collect(l, true)?;
                if let Some((_, _, dpos)) = p.dynamics.first() {
                    return Err(err("dynamic attributes not allowed in let", *dpos));
                }
                let names: Vec<Symbol> = sorted_names(&p);
                let lit = self.lower_pattrs_in_scope(p, names, true)?;
                let body = self.need(l.body(), e.syntax())?;
                self.scopes.pop();
                Expr::Let(lit, body)
            }
            ast::Expr::AttrSet(a) => {
                let rec = a.rec_token().is_some();
                let p = self.collect(a, rec)?;
                let lit = self.lower_pattrs(p, rec)?;
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
            ast::Expr::UnaryOp(u) => {
                let inner = self.need(u.expr(), e.syntax())?;
                match u.operator() {
                    Some(ast::UnaryOpKind::Invert) => Expr::Not(inner, pos),
                    Some(ast::UnaryOpKind::Negate) => Expr::Neg(inner, pos),
                    None => return Err(self.syntax_err("syntax error", pos)),
                }
            }
            ast::Expr::BinOp(b) => {
                let op = b.operator();
                let op_pos = b
                    .syntax()
                    .children_with_tokens()
                    .filter_map(|c| c.into_token())
                    .find(|t| ast::BinOpKind::from_kind(t.kind()).is_some())
                    .map(|t| self.pos_tok(&t))
                    .unwrap_or(pos);
                let l = self.need(b.lhs(), e.syntax())?;
                let rpos = b.rhs().map(|r| self.pos_of(r.syntax())).unwrap_or(pos);
                let r = self.need(b.rhs(), e.syntax())?;
                use ast::BinOpKind as K;
                let bin = |o| Expr::BinOp(o, l.clone(), r.clone(), pos, rpos);
                match op {
                    Some(K::Concat) => bin(BinOp::Concat),
                    Some(K::Update) => bin(BinOp::Update),
                    Some(K::Add) => bin(BinOp::Add),
                    Some(K::Sub) => bin(BinOp::Sub),
                    Some(K::Mul) => bin(BinOp::Mul),
                    Some(K::Div) => bin(BinOp::Div),
                    Some(K::Equal) => bin(BinOp::Eq),
                    Some(K::NotEqual) => bin(BinOp::Neq),
                    Some(K::Less) => bin(BinOp::Lt),
                    Some(K::LessOrEq) => bin(BinOp::Le),
                    Some(K::More) => bin(BinOp::Gt),
                    Some(K::MoreOrEq) => bin(BinOp::Ge),
                    Some(K::And) => Expr::And(l, r, pos),
                    Some(K::Or) => Expr::Or(l, r, pos),
                    Some(K::Implication) => Expr::Impl(l, r, pos),
                    Some(K::PipeLeft) => {
                        return Err(self.syntax_err("syntax error, unexpected '<|'", op_pos))
                    }
                    Some(K::PipeRight) => {
                        return Err(self.syntax_err("syntax error, unexpected '|>'", op_pos))
                    }
                    None => return Err(self.syntax_err("syntax error", pos)),
                }
            }
            ast::Expr::With(w) => {
                let ns = self.need(w.namespace(), e.syntax())?;
                self.scopes.push(Scope {
                    names: Vec::new(),
                    with: true,
                });
                let body = self.need(w.body(), e.syntax());
                self.scopes.pop();
                Expr::With(ns, body?)
            }
            ast::Expr::CurPos(_) => Expr::CurPos(pos),
        })
    }

    fn need_inner(&mut self, e: Option<ast::Expr>, at: &rnix::SyntaxNode) -> R<Expr> {
        match e {
            Some(e) => self.expr_inner(&e, None),
            None => Err(self.syntax_err("syntax error, unexpected end of file", self.pos_of(at))),
        }
    }

    fn interp(&mut self, i: &ast::Interpol) -> R<(ExprRef, Pos)> {
        let pos = self.pos_of(i.syntax());
        match i.expr() {
            Some(e) => Ok((self.expr(&e)?, pos)),
            None => Err(self.syntax_err("syntax error, unexpected '}'", pos)),
        }
    }

    fn string(&mut self, s: &ast::Str, pos: Pos) -> R<Expr> {
        let indented = s
            .syntax()
            .first_token()
            .map(|t| t.text() == "''")
            .unwrap_or(false);
        let mut parts: Vec<StrPart> = Vec::new();
        if indented {
            let mut pieces: Vec<IndPiece<ast::Interpol>> = Vec::new();
            let mut first = true;
            for part in s.parts() {
                match part {
                    InterpolPart::Literal(lit) => {
                        let mut raw = lit.syntax().text();
                        if first {
                            // The lexer swallows spaces and a newline right after `''`.
                            let trimmed = raw.trim_start_matches(' ');
                            if let Some(r) = trimmed.strip_prefix('\n') {
                                raw = r;
                            }
                        }
                        split_indented(raw, &mut pieces);
                    }
                    InterpolPart::Interpolation(i) => pieces.push(IndPiece::Interp(i)),
                }
                first = false;
            }
            for p in strip_indentation(pieces) {
                match p {
                    Ok(text) => push_lit(&mut parts, &text),
                    Err(i) => {
                        let (e, ipos) = self.interp(&i)?;
                        parts.push(StrPart::Interp(e, ipos));
                    }
                }
            }
        } else {
            for part in s.parts() {
                match part {
                    InterpolPart::Literal(lit) => {
                        push_lit(&mut parts, &unescape_plain(lit.syntax().text()))
                    }
                    InterpolPart::Interpolation(i) => {
                        let (e, ipos) = self.interp(&i)?;
                        parts.push(StrPart::Interp(e, ipos));
                    }
                }
            }
        }
        Ok(match parts.as_slice() {
            [] => Expr::Const(Value::string("")),
            [StrPart::Lit(l)] => Expr::Const(Value::string(l.to_string())),
            _ => Expr::Str(parts, pos),
        })
    }

    fn path(&mut self, parts: &[InterpolPart<ast::PathContent>], dir: &str, pos: Pos) -> R<Expr> {
        if let [InterpolPart::Literal(l)] = parts {
            return Ok(Expr::Const(Value::Path(Rc::from(resolve_path(
                l.text(),
                dir,
            )))));
        }
        let mut out = Vec::new();
        for p in parts {
            match p {
                InterpolPart::Literal(l) => push_lit(&mut out, l.text()),
                InterpolPart::Interpolation(i) => {
                    let (e, ipos) = self.interp(i)?;
                    out.push(StrPart::Interp(e, ipos));
                }
            }
        }
        Ok(Expr::InterpPath(out, Rc::from(dir), pos))
    }

    fn attr_key(&mut self, a: &ast::Attr) -> R<AttrKey> {
        Ok(match a {
            ast::Attr::Ident(i) => AttrKey::Static(ident_name(i)),
            ast::Attr::Str(s) => {
                let pos = self.pos_of(s.syntax());
                match self.string(s, pos)? {
                    Expr::Const(Value::String(ref st)) => AttrKey::Static(intern_bytes(&st.s)),
                    other => AttrKey::Dynamic(Rc::new(other)),
                }
            }
            ast::Attr::Dynamic(d) => {
                let pos = self.pos_of(d.syntax());
                let inner = match d.expr() {
                    Some(e) => e,
                    None => return Err(self.syntax_err("syntax error", pos)),
                };
                match self.expr_inner(&inner, None)? {
                    Expr::Const(Value::String(ref st)) => AttrKey::Static(intern_bytes(&st.s)),
                    other => AttrKey::Dynamic(Rc::new(other)),
                }
            }
        })
    }

    fn static_name(&self, a: &ast::Attr) -> Option<Symbol> {
        match a {
            ast::Attr::Ident(i) => Some(ident_name(i)),
            ast::Attr::Str(s) => {
                let mut text = String::new();
                for p in s.parts() {
                    match p {
                        InterpolPart::Literal(l) => {
                            text.push_str(&unescape_plain(l.syntax().text()))
                        }
                        InterpolPart::Interpolation(_) => return None,
                    }
                }
                let indented = s
                    .syntax()
                    .first_token()
                    .map(|t| t.text() == "''")
                    .unwrap_or(false);
                if indented {
                    return None;
                }
                Some(intern(&text))
            }
            ast::Attr::Dynamic(d) => match d.expr() {
                Some(ast::Expr::Str(s)) => self.static_name(&ast::Attr::Str(s)),
                _ => None,
            },
        }
    }

    fn attrpath(&mut self, p: &ast::Attrpath) -> R<Vec<AttrKey>> {
        let mut out = Vec::new();
        for a in p.attrs() {
            out.push(self.attr_key(&a)?);
        }
        Ok(out)
    }

    /// Collects the entries of an attribute set or `let` into a [`PAttrs`] tree.
    fn collect(&mut self, node: &impl HasEntry, rec: bool) -> R<PAttrs> {
        let mut p = PAttrs {
            rec,
            ..PAttrs::default()
        };
        self.collect_into(node, &mut p)?;
        Ok(p)
    }

    fn collect_into(&mut self, node: &impl HasEntry, p: &mut PAttrs) -> R<()> {
        for entry in node.entries() {
            match entry {
                ast::Entry::Inherit(inh) => {
                    let from = inh.from().and_then(|f| f.expr());
                    let from_idx = from.map(|f| {
                        p.froms.push(f);
                        p.froms.len() - 1
                    });
                    // Nix 2.8 places every attribute of `inherit (e) …` where `(e)` ends.
                    let from_end = inh.from().map(|f| Pos {
                        file: self.file,
                        offset: u32::from(f.syntax().text_range().end()),
                    });
                    for a in inh.attrs() {
                        let apos = from_end.unwrap_or_else(|| self.inherit_pos(&a));
                        let name = match self.static_name(&a) {
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
                ast::Entry::AttrpathValue(av) => {
                    let pos = self.pos_of(av.syntax());
                    let path: Vec<ast::Attr> = match av.attrpath() {
                        Some(ap) => ap.attrs().collect(),
                        None => return Err(self.syntax_err("syntax error", pos)),
                    };
                    let value = match av.value() {
                        Some(v) => v,
                        None => return Err(self.syntax_err("syntax error", pos)),
                    };
                    let shown: Vec<String> = path
                        .iter()
                        .map(|a| match self.static_name(a) {
                            Some(n) => n.as_str().into_owned(),
                            None => "\"${...}\"".to_string(),
                        })
                        .collect();
                    self.insert(p, &path, value, pos, &shown.join("."))?;
                }
            }
        }
        Ok(())
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

    fn value_to_pval(&mut self, value: ast::Expr) -> R<PVal> {
        let inner = strip_parens(value);
        if let ast::Expr::AttrSet(a) = &inner {
            let rec = a.rec_token().is_some();
            return Ok(PVal::Nested(self.collect(a, rec)?));
        }
        Ok(PVal::Expr(inner))
    }

    fn insert(
        &mut self,
        p: &mut PAttrs,
        path: &[ast::Attr],
        value: ast::Expr,
        pos: Pos,
        shown: &str,
    ) -> R<()> {
        let Some((first, rest)) = path.split_first() else {
            return Err(self.syntax_err("syntax error", pos));
        };
        let Some(name) = self.static_name(first) else {
            let v = if rest.is_empty() {
                self.value_to_pval(value)?
            } else {
                let mut nested = PAttrs::default();
                self.insert(&mut nested, rest, value, pos, shown)?;
                PVal::Nested(nested)
            };
            p.dynamics.push((first.clone(), v, pos));
            return Ok(());
        };
        let full = shown;
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
                        return Err(self.dup_attr(full, pos, prev_pos));
                    };
                    match (&mut slot.1, newv) {
                        (PVal::Nested(existing), PVal::Nested(new)) => {
                            for (n, v, npos) in new.statics {
                                if existing.index.contains_key(&n) {
                                    return Err(self.dup_attr(
                                        &format!("{full}.{n}"),
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
                            existing.froms.extend(new.froms);
                            existing.dynamics.extend(new.dynamics);
                        }
                        _ => return Err(self.dup_attr(full, pos, prev_pos)),
                    }
                } else {
                    let Some(slot) = p.statics.get_mut(i) else {
                        return Err(self.dup_attr(full, pos, prev_pos));
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
                        _ => return Err(self.dup_attr(full, pos, prev_pos)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Lowers a collected attribute set; `rec` opens a scope for its names.
    fn lower_pattrs(&mut self, p: PAttrs, rec: bool) -> R<AttrsLit> {
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
    fn lower_pattrs_in_scope(&mut self, p: PAttrs, names: Vec<Symbol>, rec: bool) -> R<AttrsLit> {
        if rec {
            self.scopes.push(Scope { names, with: false });
        }
        let result = self.lower_pattrs_body(p, rec);
        if result.is_err() && rec {
            self.scopes.pop();
        }
        result
    }

    fn lower_pattrs_body(&mut self, p: PAttrs, rec: bool) -> R<AttrsLit> {
        let mut froms = Vec::with_capacity(p.froms.len());
        for f in &p.froms {
            froms.push(self.expr(f)?);
        }
        let mut statics = Vec::with_capacity(p.statics.len());
        for (name, v, pos) in p.statics {
            let e = match v {
                PVal::Expr(e) => Rc::new(self.expr_inner(&e, Some(name))?),
                PVal::Nested(n) => {
                    let rec_inner = n.rec;
                    Rc::new(Expr::Attrs(self.lower_pattrs(n, rec_inner)?))
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
        for (key, v, pos) in p.dynamics {
            let k = match self.attr_key(&key)? {
                AttrKey::Static(s) => Rc::new(Expr::Const(Value::string(s.as_bytes()))),
                AttrKey::Dynamic(e) => e,
            };
            let e = match v {
                PVal::Expr(e) => self.expr(&e)?,
                PVal::Nested(n) => {
                    let rec_inner = n.rec;
                    Rc::new(Expr::Attrs(self.lower_pattrs(n, rec_inner)?))
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

    fn lambda(&mut self, l: &ast::Lambda, name: Option<Symbol>, pos: Pos) -> R<Lambda> {
        let param = match l.param() {
            Some(p) => p,
            None => return Err(self.syntax_err("syntax error", pos)),
        };
        match param {
            ast::Param::IdentParam(ip) => {
                let n = match ip.ident() {
                    Some(i) => ident_name(&i),
                    None => return Err(self.syntax_err("syntax error", pos)),
                };
                self.scopes.push(Scope {
                    names: vec![n],
                    with: false,
                });
                let body = self.need(l.body(), l.syntax());
                self.scopes.pop();
                Ok(Lambda {
                    name,
                    param: Param::Ident(n),
                    slots: 1,
                    body: body?,
                    pos,
                })
            }
            ast::Param::Pattern(pat) => {
                let mut names = Vec::new();
                let mut defaults = Vec::new();
                let mut formal_pos = Vec::new();
                for entry in pat.pat_entries() {
                    let epos = self.pos_of(entry.syntax());
                    let n = match entry.ident() {
                        Some(i) => {
                            formal_pos.push(self.pos_of(i.syntax()));
                            ident_name(&i)
                        }
                        None => return Err(self.syntax_err("syntax error", epos)),
                    };
                    if names.contains(&n) {
                        return Err(self.syntax_err(
                            &format!("duplicate formal function argument '{n}'"),
                            epos,
                        ));
                    }
                    names.push(n);
                    defaults.push(entry.default());
                }
                let bind = pat
                    .pat_bind()
                    .and_then(|b| b.ident())
                    .map(|i| ident_name(&i));
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
                self.scopes.push(Scope {
                    names: scope_names,
                    with: false,
                });
                let result = (|| -> R<(Formals, ExprRef)> {
                    let mut formals = Vec::with_capacity(names.len());
                    for (n, d) in names.iter().zip(defaults) {
                        let d = match d {
                            Some(d) => Some(self.expr(&d)?),
                            None => None,
                        };
                        formals.push((*n, d));
                    }
                    let body = self.need(l.body(), l.syntax())?;
                    Ok((formals, body))
                })();
                self.scopes.pop();
                let (formals, body) = result?;
                Ok(Lambda {
                    name,
                    param: Param::Pattern {
                        formals,
                        formal_pos,
                        ellipsis: pat.ellipsis_token().is_some(),
                        bind,
                    },
                    slots,
                    body,
                    pos,
                })
            }
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

fn strip_parens(e: ast::Expr) -> ast::Expr {
    let mut cur = e;
    loop {
        match &cur {
            ast::Expr::Paren(p) => match p.expr() {
                Some(inner) => cur = inner,
                None => return cur,
            },
            _ => return cur,
        }
    }
}

fn sorted_names(p: &PAttrs) -> Vec<Symbol> {
    let mut names: Vec<Symbol> = p.statics.iter().map(|s| s.0).collect();
    names.sort();
    names
}

/// An identifier's name: its token's text read in place. `SyntaxText`'s `Display`
/// (which formats a node's tokens one at a time) was a tenth of loading a module file;
/// it is left for an identifier without an identifier token (`or` used as a name).
fn ident_name(i: &ast::Ident) -> Symbol {
    match i.ident_token() {
        Some(t) => intern(t.text()),
        None => intern(&i.syntax().text().to_string()),
    }
}

/// Renders an assertion's condition the way Nix 2.8 shows expressions: binary
/// operations in parentheses, other expressions as written.
fn show_expr_text(e: &ast::Expr) -> String {
    let text = e.syntax().text().to_string();
    match e {
        ast::Expr::BinOp(_) => format!("({text})"),
        _ => text,
    }
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
