//! Output: JSON like `--json` / `builtins.toJSON`, and Nix syntax like
//! `nix-instantiate --eval`.

use crate::error::{err, R};
use crate::eval::{with_stack, Coerce, Eval};
use crate::ir::Pos;
use crate::value::{Context, ThunkState, Value};
use std::collections::HashSet;
use std::fmt::Write;
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

/// Appends `s` as a JSON string literal, escaping like Nix.
pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    // Copies the runs between characters that need escaping in one go.
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(start..i).unwrap_or(""));
        if esc.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or(""));
    out.push('"');
}

/// Appends `s` as a Nix string literal.
pub fn nix_string(out: &mut String, s: &str) {
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether an attribute name prints without quotes.
fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '\'' || c == '-')
}

impl Eval {
    /// Renders a value as JSON, forcing it deeply; string context is collected.
    pub fn write_json(
        &mut self,
        v: &Value,
        pos: Pos,
        out: &mut String,
        ctx: &mut Context,
    ) -> R<()> {
        with_stack(|| self.write_json_inner(v, pos, out, ctx))
    }

    fn write_json_inner(
        &mut self,
        v: &Value,
        pos: Pos,
        out: &mut String,
        ctx: &mut Context,
    ) -> R<()> {
        let v = self.force(v)?;
        match &v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&fmt_g(*f)),
            Value::String(s) => {
                json_string(out, &s.s);
                ctx.extend(s.ctx.iter().cloned());
            }
            Value::Path(p) => {
                let sp = self.copy_to_store(p, pos)?;
                json_string(out, &sp);
                ctx.insert(Rc::from(sp.as_str()));
            }
            Value::List(l) => {
                out.push('[');
                for (i, item) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write_json(item, pos, out, ctx)?;
                }
                out.push(']');
            }
            Value::Attrs(a) => {
                if a.get(self.syms.to_string).is_some() {
                    let (s, c) = self.coerce(
                        &v,
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
                out.push('{');
                for (i, at) in a.entries().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_string(out, at.name.as_str());
                    out.push(':');
                    self.write_json(&at.value, at.pos, out, ctx).map_err(|e| {
                        e.frame(at.pos, || {
                            format!("while evaluating the attribute '{}'", at.name)
                        })
                    })?;
                }
                out.push('}');
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
    pub fn write_nix(&mut self, v: &Value, strict: bool, out: &mut String) -> R<()> {
        let mut seen = HashSet::new();
        self.write_nix_inner(v, strict, out, &mut seen, true)
    }

    fn write_nix_inner(
        &mut self,
        v: &Value,
        strict: bool,
        out: &mut String,
        seen: &mut HashSet<usize>,
        top: bool,
    ) -> R<()> {
        with_stack(|| {
            let v = match v {
                Value::Thunk(t) if !strict && !top => {
                    let done = match &*t.0.borrow() {
                        ThunkState::Done(v) => Some(v.clone()),
                        _ => None,
                    };
                    match done {
                        Some(v) => v,
                        None => {
                            out.push_str("<CODE>");
                            return Ok(());
                        }
                    }
                }
                v => self.force(v)?,
            };
            match &v {
                Value::Null => out.push_str("null"),
                Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Value::Int(i) => {
                    let _ = write!(out, "{i}");
                }
                Value::Float(f) => out.push_str(&fmt_g(*f)),
                Value::String(s) => nix_string(out, &s.s),
                Value::Path(p) => out.push_str(p),
                Value::List(l) => {
                    if !l.is_empty() && !seen.insert(Rc::as_ptr(l) as *const u8 as usize) {
                        out.push_str("«repeated»");
                        return Ok(());
                    }
                    out.push('[');
                    for item in l.iter() {
                        out.push(' ');
                        self.write_nix_inner(item, strict, out, seen, false)?;
                    }
                    out.push_str(" ]");
                }
                Value::Attrs(a) => {
                    if !seen.insert(Rc::as_ptr(a) as *const u8 as usize) {
                        out.push_str("«repeated»");
                        return Ok(());
                    }
                    out.push('{');
                    for at in a.entries().iter() {
                        out.push(' ');
                        if is_ident(at.name.as_str()) {
                            out.push_str(at.name.as_str());
                        } else {
                            nix_string(out, at.name.as_str());
                        }
                        out.push_str(" = ");
                        self.write_nix_inner(&at.value, strict, out, seen, false)?;
                        out.push(';');
                    }
                    out.push_str(" }");
                }
                Value::Lambda(_) => out.push_str("<LAMBDA>"),
                Value::PrimOp(p) => out.push_str(if p.args.is_empty() {
                    "<PRIMOP>"
                } else {
                    "<PRIMOP-APP>"
                }),
                Value::Thunk(_) => out.push_str("<CODE>"),
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
    fn json_escapes_control_characters() {
        let mut s = String::new();
        json_string(&mut s, "é\t\u{1}\u{7f}\"");
        assert_eq!(s, "\"é\\t\\u0001\u{7f}\\\"\"");
    }
}
