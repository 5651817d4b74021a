//! Output: JSON like `--json` / `builtins.toJSON`, and Nix syntax like
//! `nix-instantiate --eval`.

use crate::error::{err, R};
use crate::eval::{with_stack, Coerce, Eval};
use crate::ir::Pos;
use crate::value::{Context, Value};
use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;

/// Formats a float like C++'s `ostream << double` (`%g` with 6 significant digits),
/// which is how Nix 2.8 prints floats in JSON and Nix syntax.
pub fn fmt_g(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{f:.5e}");
    let (mant, exp) = match sci.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (sci.clone(), 0),
    };
    if !(-4..6).contains(&exp) {
        let mant = trim_zeros(&mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim_zeros(&format!("{f:.decimals$}"))
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// The bytes a JSON string cannot hold as they are: controls, `"` and `\` (one load
/// per byte where three comparisons were).
static JSON_ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends `s` as a JSON string literal, escaping like Nix: quotes, backslashes and
/// control characters; every other byte as is (so bytes that are not UTF-8 stay).
pub fn json_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    // Most strings (attribute names above all) need no escape: one copy.
    if !s.iter().any(|&b| JSON_ESCAPED[usize::from(b)]) {
        out.extend_from_slice(s);
        out.push(b'"');
        return;
    }
    // Copies the runs between characters that need escaping in one go.
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(s.get(start..i).unwrap_or_default());
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(s.get(start..).unwrap_or_default());
    out.push(b'"');
}

/// Writes an integer, a Boolean, `null` or a string without context, given as such or
/// as an evaluated thunk, and says whether it did: most of a document's values, written
/// without a recursive call (and its stack check) each.
#[inline]
fn write_json_scalar(v: &Value, out: &mut Vec<u8>) -> bool {
    let done;
    let v = match v {
        Value::Thunk(t) => match t.value() {
            Some(d) => {
                done = d;
                &done
            }
            None => return false,
        },
        other => other,
    };
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => write_int(out, *i),
        Value::String(s) if s.ctx().is_empty() => json_string(out, &s[..]),
        _ => return false,
    }
    true
}

/// Appends the decimal text of `i` (what `write!(out, "{i}")` writes, without the
/// formatting machinery: JSON output and string interpolation have many integers).
#[inline]
pub fn write_int(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Appends `s` as a Nix string literal.
pub fn nix_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    let mut bytes = s.iter().peekable();
    while let Some(&b) = bytes.next() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'$' if bytes.peek() == Some(&&b'{') => out.extend_from_slice(b"\\$"),
            b => out.push(b),
        }
    }
    out.push(b'"');
}

/// Whether an attribute name prints without quotes.
fn is_ident(s: &[u8]) -> bool {
    match s.split_first() {
        Some((c, rest)) if c.is_ascii_alphabetic() || *c == b'_' => rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'\'' | b'-')),
        _ => false,
    }
}

impl Eval {
    /// Renders a value as JSON, forcing it deeply; string context is collected.
    pub fn write_json(
        &mut self,
        v: &Value,
        pos: Pos,
        out: &mut Vec<u8>,
        ctx: &mut Context,
    ) -> R<()> {
        with_stack(|| self.write_json_inner(v, pos, out, ctx))
    }

    fn write_json_inner(
        &mut self,
        v: &Value,
        pos: Pos,
        out: &mut Vec<u8>,
        ctx: &mut Context,
    ) -> R<()> {
        // Only a thunk needs forcing (and a clone of its value).
        let forced;
        let v = match v {
            Value::Thunk(_) => {
                forced = self.force(v)?;
                &forced
            }
            other => other,
        };
        if write_json_scalar(v, out) {
            return Ok(());
        }
        match v {
            // Written by `write_json_scalar`.
            Value::Null | Value::Bool(_) | Value::Int(_) => {}
            Value::Float(f) => out.extend_from_slice(fmt_g(*f).as_bytes()),
            Value::String(s) => {
                json_string(out, &s[..]);
                ctx.extend(s.ctx().iter().cloned());
            }
            Value::Path(p) => {
                let sp = self.copy_to_store(p, pos)?;
                json_string(out, sp.as_bytes());
                ctx.insert(Rc::from(sp.as_str()));
            }
            Value::List(l) => {
                out.push(b'[');
                for (i, item) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    if !write_json_scalar(item, out) {
                        self.write_json(item, pos, out, ctx)?;
                    }
                }
                out.push(b']');
            }
            Value::Attrs(a) => {
                if a.get(self.syms.to_string).is_some() {
                    let (s, c) = self.coerce(
                        v,
                        pos,
                        Coerce {
                            more: false,
                            copy: true,
                        },
                    )?;
                    json_string(out, &s);
                    ctx.extend(c);
                    return Ok(());
                }
                if let Some(o) = a.get(self.syms.out_path) {
                    let o = o.value.clone();
                    return self.write_json(&o, pos, out, ctx);
                }
                out.push(b'{');
                for (i, at) in a.entries().iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_string(out, at.name.as_bytes());
                    out.push(b':');
                    if write_json_scalar(&at.value, out) {
                        continue;
                    }
                    self.write_json(&at.value, at.pos, out, ctx).map_err(|e| {
                        e.frame(at.pos, || {
                            format!("while evaluating the attribute '{}'", at.name)
                        })
                    })?;
                }
                out.push(b'}');
            }
            Value::Lambda(_) | Value::PrimOp(_) => {
                return Err(err("cannot convert a function to JSON", pos))
            }
            Value::Thunk(_) => return Err(err("cannot convert a thunk to JSON", pos)),
        }
        Ok(())
    }

    /// Renders a value in Nix syntax. With `strict`, everything is forced; otherwise
    /// unevaluated parts print as `<CODE>`.
    pub fn write_nix(&mut self, v: &Value, strict: bool, out: &mut Vec<u8>) -> R<()> {
        let mut seen = HashSet::new();
        self.write_nix_inner(v, strict, out, &mut seen, true)
    }

    fn write_nix_inner(
        &mut self,
        v: &Value,
        strict: bool,
        out: &mut Vec<u8>,
        seen: &mut HashSet<usize>,
        top: bool,
    ) -> R<()> {
        with_stack(|| {
            let v = match v {
                Value::Thunk(t) if !strict && !top => match t.value() {
                    Some(v) => v,
                    None => {
                        out.extend_from_slice("<CODE>".as_bytes());
                        return Ok(());
                    }
                },
                v => self.force(v)?,
            };
            match &v {
                Value::Null => out.extend_from_slice("null".as_bytes()),
                Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Int(i) => {
                    let _ = write!(out, "{i}");
                }
                Value::Float(f) => out.extend_from_slice(fmt_g(*f).as_bytes()),
                Value::String(s) => nix_string(out, &s[..]),
                Value::Path(p) => out.extend_from_slice(p.as_bytes()),
                Value::List(l) => {
                    if !l.is_empty() && !seen.insert(Rc::as_ptr(l) as *const u8 as usize) {
                        out.extend_from_slice("«repeated»".as_bytes());
                        return Ok(());
                    }
                    out.push(b'[');
                    for item in l.iter() {
                        out.push(b' ');
                        self.write_nix_inner(item, strict, out, seen, false)?;
                    }
                    out.extend_from_slice(" ]".as_bytes());
                }
                Value::Attrs(a) => {
                    if !seen.insert(Rc::as_ptr(a) as *const u8 as usize) {
                        out.extend_from_slice("«repeated»".as_bytes());
                        return Ok(());
                    }
                    out.push(b'{');
                    for at in a.entries().iter() {
                        out.push(b' ');
                        if is_ident(at.name.as_bytes()) {
                            out.extend_from_slice(at.name.as_bytes());
                        } else {
                            nix_string(out, at.name.as_bytes());
                        }
                        out.extend_from_slice(" = ".as_bytes());
                        self.write_nix_inner(&at.value, strict, out, seen, false)?;
                        out.push(b';');
                    }
                    out.extend_from_slice(" }".as_bytes());
                }
                Value::Lambda(_) => out.extend_from_slice("<LAMBDA>".as_bytes()),
                Value::PrimOp(p) => out.extend_from_slice(if p.args.is_empty() {
                    b"<PRIMOP>"
                } else {
                    b"<PRIMOP-APP>"
                }),
                Value::Thunk(_) => out.extend_from_slice("<CODE>".as_bytes()),
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_cpp_streams() {
        assert_eq!(fmt_g(0.1), "0.1");
        assert_eq!(fmt_g(1.0), "1");
        assert_eq!(fmt_g(1e20), "1e+20");
        assert_eq!(fmt_g(1.5e-7), "1.5e-07");
        assert_eq!(fmt_g(123456789.0), "1.23457e+08");
        assert_eq!(fmt_g(100000.0), "100000");
        assert_eq!(fmt_g(1234567.0), "1.23457e+06");
        assert_eq!(fmt_g(-2.5), "-2.5");
        assert_eq!(fmt_g(1.0 / 3.0), "0.333333");
        assert_eq!(fmt_g(0.0001), "0.0001");
    }

    #[test]
    fn integers_print_like_display() {
        for i in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            12345,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
        ] {
            let mut s = Vec::new();
            write_int(&mut s, i);
            assert_eq!(s, i.to_string().as_bytes());
        }
    }

    #[test]
    fn json_escapes_control_characters() {
        let mut s = Vec::new();
        json_string(&mut s, "é\t\u{1}\u{7f}\"".as_bytes());
        assert_eq!(s, "\"é\\t\\u0001\u{7f}\\\"\"".as_bytes());
        let mut s = Vec::new();
        json_string(&mut s, b"\xc3");
        assert_eq!(s, b"\"\xc3\"", "a cut character stays bytes, like Nix");
    }
}
