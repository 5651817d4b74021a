//! `match` and `split`, with the regular expressions of [`crate::regex`].

use super::list;
use crate::error::{err, R};
use crate::eval::Eval;
use crate::ir::Pos;
use crate::regex::{Regex, RegexError, Span};
use crate::value::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    /// Compiled patterns, like Nix's regex cache.
    static CACHE: RefCell<HashMap<Vec<u8>, Rc<Regex>>> = RefCell::new(HashMap::new());
}

fn compile(pattern: &[u8], pos: Pos) -> R<Rc<Regex>> {
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

pub(super) fn match_(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let regex = compile(&re.s, pos)?;
    Ok(match regex.full_match(&s.s) {
        None => Value::Null,
        Some(groups) => list(groups.into_iter().map(|g| group_value(&s.s, g)).collect()),
    })
}

pub(super) fn split(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let regex = compile(&re.s, pos)?;
    let text = &s.s[..];
    let mut out = Vec::new();
    let mut last = 0;
    for m in regex.split(text) {
        out.push(group_value(text, Some((last, m.start))));
        out.push(list(
            m.groups.into_iter().map(|g| group_value(text, g)).collect(),
        ));
        last = m.end;
    }
    out.push(group_value(text, Some((last, text.len()))));
    Ok(list(out))
}
