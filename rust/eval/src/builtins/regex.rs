//! `match` and `split`, with the regular expressions of [`crate::regex`].

use super::list;
use crate::error::{err, R};
use crate::eval::Eval;
use crate::ir::Pos;
use crate::regex::{Regex, RegexError, Span};
use crate::symbol::FxBuild;
use crate::value::{Str, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    /// Compiled patterns, like Nix's regex cache.
    static CACHE: RefCell<HashMap<Vec<u8>, Rc<Regex>, FxBuild>> = RefCell::default();
    /// The pattern string value compiled last and its program: a loop calling `match`
    /// with one pattern passes the same string each time, found here without hashing.
    static LAST: RefCell<Option<(Str, Rc<Regex>)>> = const { RefCell::new(None) };
}

fn compile(pattern: &Str, pos: Pos) -> R<Rc<Regex>> {
    let last = LAST.with(|l| match &*l.borrow() {
        Some((p, r)) if p.same(pattern) => Some(r.clone()),
        _ => None,
    });
    if let Some(r) = last {
        return Ok(r);
    }
    let regex = compile_bytes(pattern, pos)?;
    LAST.with(|l| *l.borrow_mut() = Some((pattern.clone(), regex.clone())));
    Ok(regex)
}

/// A pattern's program, from the cache or compiled (and cached).
fn compile_bytes(pattern: &[u8], pos: Pos) -> R<Rc<Regex>> {
    if let Some(r) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(r);
    }
    let shown = || String::from_utf8_lossy(pattern);
    let regex = Regex::new(pattern).map(Rc::new).map_err(|e| {
        let message = match e {
            // Nix's words for libstdc++'s `error_space`.
            RegexError::TooLarge => {
                format!("memory limit exceeded by regular expression '{}'", shown())
            }
            RegexError::Invalid(why) => {
                format!("invalid regular expression '{}': {why}", shown())
            }
        };
        err(message, pos)
    })?;
    CACHE.with(|c| c.borrow_mut().insert(pattern.to_vec(), regex.clone()));
    Ok(regex)
}

/// A group's text, or `null` when it took no part in the match.
fn group_value(text: &[u8], span: Span) -> Value {
    match span {
        Some((a, b)) => Value::string(text.get(a..b).unwrap_or_default()),
        None => Value::Null,
    }
}

/// The groups' values, in a vector of their number (a collect reusing the spans'
/// vector would keep its larger allocation, then shrink it).
fn groups_values(text: &[u8], groups: Vec<Span>) -> Vec<Value> {
    let mut out = Vec::with_capacity(groups.len());
    out.extend(groups.into_iter().map(|g| group_value(text, g)));
    out
}

pub(super) fn match_(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let regex = compile(&re, pos)?;
    Ok(match regex.full_match(&s[..]) {
        None => Value::Null,
        Some(groups) => list(groups_values(&s[..], groups)),
    })
}

pub(super) fn split(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let regex = compile(&re, pos)?;
    let text = &s[..];
    let mut out = Vec::new();
    let mut last = 0;
    for m in regex.split(text) {
        out.push(group_value(text, Some((last, m.start))));
        out.push(list(groups_values(text, m.groups)));
        last = m.end;
    }
    out.push(group_value(text, Some((last, text.len()))));
    Ok(list(out))
}
