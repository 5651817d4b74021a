//! String builtins, versions and hashing.

use super::{list, make_attrs, INTERP};
use crate::error::{err, R};
use crate::eval::Eval;
use crate::ir::Pos;
use crate::value::{Context, Value};
use std::cmp::Ordering;

pub(super) fn string_length(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, _) = ev.coerce(&args[0], pos, INTERP)?;
    Ok(Value::Int(s.len() as i64))
}

/// `substring start len s`, on bytes like Nix (a cut inside a UTF-8 sequence keeps
/// the bytes; the result is then not valid UTF-8 and is repaired lossily).
pub(super) fn substring(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let start = ev.force_int(&args[0], pos)?;
    let len = ev.force_int(&args[1], pos)?;
    let (s, ctx) = ev.coerce(&args[2], pos, INTERP)?;
    if start < 0 {
        return Err(err("negative start position in 'substring'", pos));
    }
    let bytes = s.as_bytes();
    let start = (start as usize).min(bytes.len());
    let end = if len < 0 {
        bytes.len()
    } else {
        start.saturating_add(len as usize).min(bytes.len())
    };
    let slice = bytes.get(start..end).unwrap_or(&[]);
    Ok(Value::string_ctx(
        String::from_utf8_lossy(slice).into_owned(),
        ctx,
    ))
}

pub(super) fn concat_strings_sep(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let sep = ev.force_str(&args[0], pos)?;
    let l = ev.force_list(&args[1], pos)?;
    let mut out = String::new();
    let mut ctx: Context = sep.ctx.clone();
    for (i, item) in l.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep.s);
        }
        ev.coerce_into(item, pos, INTERP, &mut out, &mut ctx)?;
    }
    Ok(Value::string_ctx(out, ctx))
}

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
    let mut ctx = s.ctx.clone();
    // Replacement strings are forced lazily and only once each.
    let mut tos: Vec<Option<String>> = vec![None; to.len()];
    let text = s.s.as_bytes();
    let mut out = String::with_capacity(s.s.len());
    let mut i = 0;
    // Copy runs of untouched text as whole slices (char boundaries are kept since
    // patterns are valid UTF-8 and only match at positions where they start).
    let mut run_start = 0;
    while i <= text.len() {
        let mut matched = false;
        for (k, f) in froms.iter().enumerate() {
            let fb = f.s.as_bytes();
            if text.get(i..i + fb.len()) == Some(fb) {
                out.push_str(s.s.get(run_start..i).unwrap_or(""));
                if tos[k].is_none() {
                    let (r, c) = ev.coerce(&to[k], pos, INTERP)?;
                    ctx.extend(c);
                    tos[k] = Some(r);
                }
                out.push_str(tos[k].as_deref().unwrap_or(""));
                if fb.is_empty() {
                    // An empty pattern matches between every character.
                    let ch_len =
                        s.s.get(i..)
                            .and_then(|r| r.chars().next())
                            .map(char::len_utf8);
                    match ch_len {
                        Some(n) => {
                            out.push_str(s.s.get(i..i + n).unwrap_or(""));
                            i += n;
                        }
                        None => i += 1,
                    }
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
            i +=
                s.s.get(i..)
                    .and_then(|r| r.chars().next())
                    .map(char::len_utf8)
                    .unwrap_or(1);
        }
    }
    out.push_str(s.s.get(run_start..).unwrap_or(""));
    Ok(Value::string_ctx(out, ctx))
}

/// Splits a version string into components like Nix's `nextComponent`.
pub(crate) fn version_components(v: &str) -> Vec<String> {
    let b = v.as_bytes();
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
        out.push(String::from_utf8_lossy(&b[start..i]).into_owned());
    }
    out
}

fn component_less(a: &str, b: &str) -> bool {
    let an = a
        .parse::<u64>()
        .ok()
        .filter(|_| a.bytes().all(|c| c.is_ascii_digit()));
    let bn = b
        .parse::<u64>()
        .ok()
        .filter(|_| b.bytes().all(|c| c.is_ascii_digit()));
    match (an, bn) {
        (Some(x), Some(y)) => x < y,
        _ => {
            if a.is_empty() && bn.is_some() {
                true
            } else if b.is_empty() && an.is_some() {
                false
            } else if a == "pre" && b != "pre" {
                true
            } else if b == "pre" {
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
pub(crate) fn compare_versions_str(a: &str, b: &str) -> Ordering {
    let ca = version_components(a);
    let cb = version_components(b);
    let n = ca.len().max(cb.len());
    for i in 0..n {
        let x = ca.get(i).map(String::as_str).unwrap_or("");
        let y = cb.get(i).map(String::as_str).unwrap_or("");
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
    Ok(Value::Int(match compare_versions_str(&a.s, &b.s) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }))
}

pub(super) fn split_version(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let s = ev.force_str(&args[0], pos)?;
    Ok(list(
        version_components(&s.s)
            .into_iter()
            .map(Value::string)
            .collect(),
    ))
}

pub(super) fn parse_drv_name(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let (s, _) = ev.coerce(&args[0], pos, INTERP)?;
    let b = s.as_bytes();
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
            s.get(..i).unwrap_or("").to_string(),
            s.get(i + 1..).unwrap_or("").to_string(),
        ),
        None => (s.clone(), String::new()),
    };
    Ok(make_attrs(vec![
        ("name", Value::string(name)),
        ("version", Value::string(version)),
    ]))
}

/// Hex digest of `data` with a Nix hash algorithm name.
pub(crate) fn digest(algo: &str, data: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    Some(match algo {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

pub(super) fn hash_string(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let algo = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    match digest(&algo.s, s.s.as_bytes()) {
        Some(d) => Ok(Value::string(hex(&d))),
        None => Err(err(format!("unknown hash algorithm '{}'", algo.s), pos)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_like_nix() {
        assert_eq!(compare_versions_str("1.0", "2.3"), Ordering::Less);
        assert_eq!(compare_versions_str("2.1", "2.3"), Ordering::Less);
        assert_eq!(compare_versions_str("2.3", "2.3"), Ordering::Equal);
        assert_eq!(compare_versions_str("2.5", "2.3"), Ordering::Greater);
        assert_eq!(compare_versions_str("3.1", "2.3"), Ordering::Greater);
        assert_eq!(compare_versions_str("2.3.1", "2.3"), Ordering::Greater);
        assert_eq!(compare_versions_str("2.3pre1", "2.3"), Ordering::Less);
        assert_eq!(compare_versions_str("2.3a", "2.3"), Ordering::Greater);
        assert_eq!(version_components("2.3pre1"), vec!["2", "3", "pre", "1"]);
    }
}
