//! String builtins, versions and hashing.

use super::{list, make_attrs, INTERP};
use crate::error::{err, R};
use crate::eval::Eval;
use crate::ir::Pos;
use crate::store::hash::{Hash, HashAlgo};
use crate::value::{Context, Value};
use std::cmp::Ordering;

/// Runs `f` on the text and context of `v` coerced to a string: a string is read in
/// place, without the copy a coercion makes (`substring` in a loop over a long string
/// was quadratic in its length).
fn with_text<T>(ev: &mut Eval, v: &Value, pos: Pos, f: impl FnOnce(&[u8], &Context) -> T) -> R<T> {
    match ev.force(v)? {
        Value::String(s) => Ok(f(&s, s.ctx())),
        other => {
            let (s, ctx) = ev.coerce(&other, pos, INTERP)?;
            Ok(f(&s, &ctx))
        }
    }
}

pub(super) fn string_length(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    with_text(ev, &args[0], pos, |s, _| Value::Int(s.len() as i64))
}

/// `substring start len s`, on bytes like Nix (a cut inside a UTF-8 sequence keeps
/// the bytes).
pub(super) fn substring(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let start = ev.force_int(&args[0], pos)?;
    let len = ev.force_int(&args[1], pos)?;
    with_text(ev, &args[2], pos, |s, ctx| {
        let start = usize::try_from(start).ok()?.min(s.len());
        let end = match usize::try_from(len) {
            Ok(len) => start.saturating_add(len).min(s.len()),
            Err(_) => s.len(),
        };
        Some(Value::string_ctx(s[start..end].to_vec(), ctx.clone()))
    })?
    .ok_or_else(|| err("negative start position in 'substring'", pos))
}

pub(super) fn concat_strings_sep(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let sep = ev.force_str(&args[0], pos)?;
    let l = ev.force_list(&args[1], pos)?;
    let mut out = Vec::new();
    let mut ctx: Context = sep.ctx().clone();
    for (i, item) in l.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&sep[..]);
        }
        ev.coerce_into(item, pos, INTERP, &mut out, &mut ctx)?;
    }
    Ok(Value::string_ctx(out, ctx))
}

/// `replaceStrings from to s`: at each byte position the first pattern that matches
/// is replaced; an empty pattern matches before every byte and at the end (as in Nix,
/// so it splits multi-byte characters).
pub(super) fn replace_strings(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let from = ev.force_list(&args[0], pos)?;
    let to = ev.force_list(&args[1], pos)?;
    if from.len() != to.len() {
        return Err(err(
            "'from' and 'to' arguments to 'replaceStrings' have different lengths",
            pos,
        ));
    }
    let mut froms = Vec::with_capacity(from.len());
    for f in from.iter() {
        froms.push(ev.force_str(f, pos)?);
    }
    let s = ev.force_str(&args[2], pos)?;
    let mut ctx = s.ctx().clone();
    // Replacement strings are forced lazily and only once each.
    let mut tos: Vec<Option<Vec<u8>>> = vec![None; to.len()];
    let text = &s[..];
    let mut out = Vec::with_capacity(text.len());
    // The bytes some pattern starts with: at any other position no pattern can match,
    // and trying each one there made the cost the text's length times their number.
    // An empty pattern matches everywhere.
    let mut starts = [false; 256];
    let mut any_empty = false;
    for f in &froms {
        match f.first() {
            Some(&b) => starts[usize::from(b)] = true,
            None => any_empty = true,
        }
    }
    let mut i = 0;
    // Runs of untouched text are copied as whole slices.
    let mut run_start = 0;
    while i <= text.len() {
        if !any_empty {
            match text.get(i) {
                Some(&b) if !starts[usize::from(b)] => {
                    i += 1;
                    continue;
                }
                Some(_) => {}
                None => break,
            }
        }
        let mut matched = false;
        for (k, f) in froms.iter().enumerate() {
            let fb = &f[..];
            if text.get(i..i + fb.len()) == Some(fb) {
                out.extend_from_slice(text.get(run_start..i).unwrap_or_default());
                if tos[k].is_none() {
                    let (r, c) = ev.coerce(&to[k], pos, INTERP)?;
                    ctx.extend(c);
                    tos[k] = Some(r);
                }
                out.extend_from_slice(tos[k].as_deref().unwrap_or_default());
                if fb.is_empty() {
                    if let Some(&b) = text.get(i) {
                        out.push(b);
                    }
                    i += 1;
                } else {
                    i += fb.len();
                }
                run_start = i.min(text.len());
                matched = true;
                break;
            }
        }
        if !matched {
            if i >= text.len() {
                break;
            }
            i += 1;
        }
    }
    out.extend_from_slice(text.get(run_start..).unwrap_or_default());
    Ok(Value::string_ctx(out, ctx))
}

/// Splits a version string into components like Nix's `nextComponent`.
pub(crate) fn version_components(b: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b'.' || b[i] == b'-') {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'-') {
                i += 1;
            }
        }
        out.push(&b[start..i]);
    }
    out
}

/// A component's number, if it is all digits and fits.
fn component_number(c: &[u8]) -> Option<u64> {
    if c.is_empty() || !c.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(c).ok()?.parse().ok()
}

fn component_less(a: &[u8], b: &[u8]) -> bool {
    let an = component_number(a);
    let bn = component_number(b);
    match (an, bn) {
        (Some(x), Some(y)) => x < y,
        _ => {
            if a.is_empty() && bn.is_some() {
                true
            } else if b.is_empty() && an.is_some() {
                false
            } else if a == b"pre" && b != b"pre" {
                true
            } else if b == b"pre" {
                false
            } else if bn.is_some() {
                true
            } else if an.is_some() {
                false
            } else {
                a < b
            }
        }
    }
}

/// Nix's `compareVersions`.
pub(crate) fn compare_versions_str(a: &[u8], b: &[u8]) -> Ordering {
    let ca = version_components(a);
    let cb = version_components(b);
    let n = ca.len().max(cb.len());
    for i in 0..n {
        let x = ca.get(i).copied().unwrap_or_default();
        let y = cb.get(i).copied().unwrap_or_default();
        if component_less(x, y) {
            return Ordering::Less;
        }
        if component_less(y, x) {
            return Ordering::Greater;
        }
    }
    Ordering::Equal
}

pub(super) fn compare_versions(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let a = ev.force_str(&args[0], pos)?;
    let b = ev.force_str(&args[1], pos)?;
    Ok(Value::Int(match compare_versions_str(&a[..], &b[..]) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

pub(super) fn split_version(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    Ok(list(
        version_components(&s[..])
            .into_iter()
            .map(Value::string)
            .collect(),
    ))
}

pub(super) fn parse_drv_name(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (b, _) = ev.coerce(&args[0], pos, INTERP)?;
    let mut split = None;
    for i in 0..b.len() {
        if b[i] == b'-'
            && b.get(i + 1)
                .map(|c| !c.is_ascii_alphabetic())
                .unwrap_or(false)
        {
            split = Some(i);
            break;
        }
    }
    let (name, version) = match split {
        Some(i) => (
            b.get(..i).unwrap_or_default().to_vec(),
            b.get(i + 1..).unwrap_or_default().to_vec(),
        ),
        None => (b.clone(), Vec::new()),
    };
    Ok(make_attrs(vec![
        ("name", Value::string(name)),
        ("version", Value::string(version)),
    ]))
}

pub(super) fn hash_string(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let algo = ev.force_str(&args[0], pos)?;
    // Nix rejects an unknown algorithm before it evaluates the string.
    let algo = HashAlgo::parse(&algo.lossy()).map_err(|e| err(e.to_string(), pos))?;
    let s = ev.force_str(&args[1], pos)?;
    Ok(Value::string(Hash::digest(algo, &s[..]).to_base16()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_like_nix() {
        let cmp = |a: &str, b: &str| compare_versions_str(a.as_bytes(), b.as_bytes());
        assert_eq!(cmp("1.0", "2.3"), Ordering::Less);
        assert_eq!(cmp("2.1", "2.3"), Ordering::Less);
        assert_eq!(cmp("2.3", "2.3"), Ordering::Equal);
        assert_eq!(cmp("2.5", "2.3"), Ordering::Greater);
        assert_eq!(cmp("3.1", "2.3"), Ordering::Greater);
        assert_eq!(cmp("2.3.1", "2.3"), Ordering::Greater);
        assert_eq!(cmp("2.3pre1", "2.3"), Ordering::Less);
        assert_eq!(cmp("2.3a", "2.3"), Ordering::Greater);
        let parts: Vec<&[u8]> = vec![b"2", b"3", b"pre", b"1"];
        assert_eq!(version_components(b"2.3pre1"), parts);
    }
}
