//! A Nix language evaluator.
//!
//! Contract used by the rest of the workspace (the implementation may grow, but these
//! names stay): [`Evaluator::new`] with [`EvalOptions`], then
//! [`Evaluator::eval_to_json`] on a [`Source`], which returns what
//! `nix-instantiate --eval --strict --json` prints (without the trailing newline);
//! [`Evaluator::eval_with`] gives the exact bytes in every output mode.
//!
//! Pipeline: [`syntax`] parses, [`lower`] turns the syntax tree into the IR of [`ir`] with
//! resolved scopes, [`eval`] evaluates lazily with thunks, [`builtins`] holds the
//! builtin functions and [`print`] renders results. Strings and attribute names are
//! bytes, as in Nix; [`regex`] is `builtins.match`/`split`'s engine (libstdc++'s
//! semantics, which no regex crate has).

mod builtins;
mod error;
mod eval;
mod ir;
mod lower;
mod print;
pub mod regex;
pub mod store;
mod store_glue;
mod symbol;
mod syntax;
mod thunks;
mod value;

use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::EvalError;
use crate::eval::Eval;
use crate::ir::Pos;
use crate::symbol::intern;
use crate::value::{Attrs, Env, Value};

/// Where the expression to evaluate comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A `.nix` file (or a directory holding `default.nix`).
    File(PathBuf),
    /// An expression given as text; relative paths resolve against `base_dir`.
    Expr {
        /// The expression.
        text: String,
        /// The directory relative paths resolve against.
        base_dir: PathBuf,
    },
}

/// An argument passed to a top-level function (`--arg` / `--argstr`).
#[derive(Debug, Clone)]
pub enum AutoArg {
    /// `--arg NAME EXPR`: a Nix expression.
    Expr(String),
    /// `--argstr NAME VALUE`: a plain string.
    Str(String),
}

/// Evaluation settings.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// `-I` entries and `NIX_PATH`, in lookup order: `(prefix, path)`; an empty prefix
    /// matches every `<name>`.
    pub search_path: Vec<(String, PathBuf)>,
    /// Arguments for a top-level function.
    pub auto_args: Vec<(String, AutoArg)>,
}

/// How [`Evaluator::eval_with`] renders the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// JSON, like `nix-instantiate --eval --json`.
    Json,
    /// Nix syntax, like `nix-instantiate --eval`.
    Nix,
    /// The string itself, without quotes (the value must coerce to a string).
    Raw,
}

/// A request for [`Evaluator::eval_with`].
#[derive(Debug, Clone)]
pub struct Request {
    /// `-A`: a dot-separated attribute path selected from the (auto-called) result.
    pub attr_path: Option<String>,
    /// Force the whole result (`--strict`); JSON output always does.
    pub strict: bool,
    /// The output format.
    pub output: OutputMode,
}

/// An evaluation error, rendered like Nix's (`error: …`, position, source line, trace).
#[derive(Debug, thiserror::Error)]
#[error("{rendered}")]
pub struct Error {
    /// The first line of the message (without `error: `).
    pub message: String,
    /// `FILE:LINE:COL` of the error, when known.
    pub position: Option<String>,
    /// The full rendering: message, position with the source line, trace frames.
    pub rendered: String,
}

/// A Nix evaluator holding the import cache.
pub struct Evaluator {
    options: EvalOptions,
    ev: Eval,
}

/// Appends Nix's code excerpt for a position: the line before, the line with a caret
/// under the column, the line after.
fn render_position(ev: &Eval, pos: Pos, out: &mut String) {
    let Some((name, line, col)) = ev.line_col(pos) else {
        return;
    };
    out.push_str(&format!("\n\n       at {name}:{line}:{col}:\n"));
    let Some(text) = ev.files.get(pos.file as usize).map(|f| f.text.clone()) else {
        return;
    };
    let lines: Vec<&str> = text.split('\n').collect();
    out.push('\n');
    let first = line.saturating_sub(1).max(1);
    for n in first..=line + 1 {
        let Some(l) = lines.get(n - 1) else { continue };
        if n == line + 1 && n > lines.len() {
            continue;
        }
        out.push_str(&format!("       {n:>6}| {l}\n"));
        if n == line {
            out.push_str(&format!("       {:>6}| {}^\n", "", " ".repeat(col - 1)));
        }
    }
}

fn render(ev: &Eval, e: &EvalError) -> Error {
    let mut out = format!("error: {}", e.msg);
    render_position(ev, e.pos, &mut out);
    for (pos, msg) in &e.trace {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("\n       … {msg}"));
        render_position(ev, *pos, &mut out);
    }
    let rendered = out.trim_end().to_string();
    Error {
        message: e.msg.clone(),
        position: ev.line_col(e.pos).map(|(n, l, c)| format!("{n}:{l}:{c}")),
        rendered,
    }
}

fn absolute(p: &Path) -> String {
    let text = p.to_string_lossy().into_owned();
    if text.starts_with('/') {
        lower::canon_path(&text)
    } else {
        let cwd = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".to_string());
        lower::canon_path(&format!("{cwd}/{text}"))
    }
}

impl Evaluator {
    /// Creates an evaluator.
    pub fn new(options: EvalOptions) -> Self {
        let ev = Eval::new(options.search_path.clone());
        Evaluator { options, ev }
    }

    /// Evaluates `source` deeply and renders it as JSON like
    /// `nix-instantiate --eval --strict --json`. Nix strings are bytes: any that are not
    /// UTF-8 (only made by cutting a string inside a character) are replaced by U+FFFD
    /// here; [`Evaluator::eval_with`] gives the exact bytes.
    pub fn eval_to_json(&mut self, source: &Source) -> Result<String, Error> {
        let bytes = self.eval_with(
            source,
            &Request {
                attr_path: None,
                strict: true,
                output: OutputMode::Json,
            },
        )?;
        Ok(match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Evaluates `source`, auto-calls a top-level function with the auto arguments,
    /// selects `-A` and renders the result in the requested mode, as the exact bytes
    /// `nix-instantiate --eval` prints (without its final newline).
    pub fn eval_with(&mut self, source: &Source, req: &Request) -> Result<Vec<u8>, Error> {
        let mut result = self.eval_inner(source, req, true);
        if matches!(&result, Err(e) if e.kind == error::ErrorKind::Restart) {
            self.ev = Eval::new(self.options.search_path.clone());
            result = self.eval_inner(source, req, false);
        }
        result.map_err(|e| render(&self.ev, &e))
    }

    fn eval_inner(
        &mut self,
        source: &Source,
        req: &Request,
        may_speculate: bool,
    ) -> error::R<Vec<u8>> {
        // Computing values ahead of time is invisible when the result is printed deeply
        // forced, until a trace shows laziness (see `ErrorKind::Restart`).
        self.ev.speculate = may_speculate && (req.strict || req.output == OutputMode::Json);
        let root = match source {
            Source::File(path) => {
                let abs = absolute(path);
                self.ev.import_path(&abs, Pos::NONE)?
            }
            Source::Expr { text, base_dir } => {
                let dir = absolute(base_dir);
                let expr = self.ev.parse(text, "«string»".to_string(), &dir)?;
                self.ev.eval(&expr, &Env::empty(None))?
            }
        };
        let args = self.auto_args()?;
        let mut v = self.auto_call(root, &args)?;
        if let Some(path) = &req.attr_path {
            for part in path.split('.').filter(|p| !p.is_empty()) {
                let v2 = self.ev.force(&v)?;
                v = match &v2 {
                    Value::Attrs(a) => match a.get(intern(part)) {
                        Some(at) => at.value.clone(),
                        None => {
                            return Err(error::err(
                                format!("attribute '{part}' in selection path '{path}' not found"),
                                Pos::NONE,
                            ))
                        }
                    },
                    Value::List(l) => match part.parse::<usize>().ok().and_then(|i| l.get(i)) {
                        Some(x) => x.clone(),
                        None => {
                            return Err(error::err(
                                format!("list index '{part}' in selection path '{path}' is out of range"),
                                Pos::NONE,
                            ))
                        }
                    },
                    other => {
                        return Err(error::err(
                            format!(
                                "the expression selected by the selection path '{path}' should be a set but is {}",
                                other.type_of()
                            ),
                            Pos::NONE,
                        ))
                    }
                };
                v = self.auto_call(v, &args)?;
            }
        }
        let v = self.ev.force(&v)?;
        match req.output {
            OutputMode::Json => {
                let mut out = Vec::new();
                let mut ctx = value::Context::new();
                self.ev.write_json(&v, Pos::NONE, &mut out, &mut ctx)?;
                Ok(out)
            }
            OutputMode::Nix => {
                if req.strict {
                    self.ev.deep_force(&v)?;
                }
                let mut out = Vec::new();
                self.ev.write_nix(&v, req.strict, &mut out)?;
                Ok(out)
            }
            OutputMode::Raw => {
                if req.strict {
                    self.ev.deep_force(&v)?;
                }
                let (s, _) = self.ev.coerce(&v, Pos::NONE, builtins_coerce())?;
                Ok(s)
            }
        }
    }

    fn auto_args(&mut self) -> error::R<Rc<Attrs>> {
        let mut entries = Vec::new();
        let cwd = absolute(Path::new("."));
        for (name, arg) in self.options.auto_args.clone() {
            let v = match arg {
                AutoArg::Str(s) => Value::string(s),
                AutoArg::Expr(text) => {
                    let expr = self.ev.parse(&text, "«string»".to_string(), &cwd)?;
                    self.ev.pending(expr, Env::empty(None))
                }
            };
            entries.push(eval::attr(intern(&name), v));
        }
        Ok(Rc::new(Attrs::from_unsorted(entries)))
    }

    /// nix-instantiate's `autoCallFunction`.
    fn auto_call(&mut self, v: Value, args: &Rc<Attrs>) -> error::R<Value> {
        let f = self.ev.force(&v)?;
        // nix-instantiate calls a top-level function only when arguments were given.
        if args.is_empty() {
            return Ok(f);
        }
        match &f {
            Value::Attrs(a) => {
                if let Some(functor) = a.get(self.ev.syms.functor) {
                    let functor = functor.value.clone();
                    let r = self
                        .ev
                        .call_n(&functor, std::slice::from_ref(&f), Pos::NONE)?;
                    return self.auto_call(r, args);
                }
                Ok(f)
            }
            Value::Lambda(c) => match &c.lambda.param {
                ir::Param::Pattern {
                    formals, ellipsis, ..
                } => {
                    let arg = if *ellipsis {
                        args.clone()
                    } else {
                        let mut picked = Vec::new();
                        for (name, default) in formals {
                            match args.get(*name) {
                                Some(a) => picked.push(a.clone()),
                                None if default.is_none() => {
                                    return Err(error::err(
                                        format!("cannot evaluate a function that has an argument without a value ('{name}')"),
                                        c.lambda.pos,
                                    ))
                                }
                                None => {}
                            }
                        }
                        Rc::new(Attrs::from_unsorted(picked))
                    };
                    self.ev.call(f.clone(), Value::Attrs(arg), Pos::NONE)
                }
                ir::Param::Ident(_) => Ok(f),
            },
            _ => Ok(f),
        }
    }
}

fn builtins_coerce() -> eval::Coerce {
    eval::Coerce {
        more: false,
        copy: true,
    }
}
