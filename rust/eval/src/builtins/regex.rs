//! `match` and `split`: POSIX extended regular expressions, as Nix uses them,
//! translated to the `regex` crate's syntax.
//!
//! Known difference: POSIX specifies leftmost-longest matching while `regex` is
//! leftmost-first; for `match` (always anchored on both ends) the overall match is the
//! same, only which alternative fills a capture group can differ for ambiguous
//! patterns. `split` may pick a shorter alternative (`a|ab`) than Nix.

use super::list;
use crate::error::{err, R};
use crate::eval::Eval;
use crate::ir::Pos;
use crate::value::Value;
use regex::bytes::Regex;
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static CACHE: RefCell<HashMap<(String, bool), Regex>> = RefCell::new(HashMap::new());
}

/// Translates a POSIX ERE into `regex` syntax.
pub(crate) fn translate(ere: &str) -> String {
    let chars: Vec<char> = ere.chars().collect();
    let mut out = String::with_capacity(ere.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '[' => {
                // Bracket expression: copy, escaping what `regex` treats specially.
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    let d = chars[i];
                    if d == '[' && matches!(chars.get(i + 1), Some(':' | '=' | '.')) {
                        let kind = chars[i + 1];
                        // Copy `[:name:]` verbatim.
                        let mut j = i + 2;
                        while j + 1 < chars.len() && !(chars[j] == kind && chars[j + 1] == ']') {
                            j += 1;
                        }
                        let end = (j + 2).min(chars.len());
                        out.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                    match d {
                        '\\' | '[' | '&' | '~' => {
                            out.push('\\');
                            out.push(d);
                        }
                        '-' if chars.get(i + 1) == Some(&'-') => out.push_str("\\-"),
                        _ => out.push(d),
                    }
                    i += 1;
                }
                out.push(']');
                i += 1;
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some(&n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push_str("\\\\"),
                }
                i += 2;
            }
            '{' => {
                // A repetition only when it looks like one; a literal brace otherwise.
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == ',') {
                    j += 1;
                }
                if j > i + 1 && chars.get(j) == Some(&'}') && chars[i + 1].is_ascii_digit() {
                    out.extend(&chars[i..=j]);
                    i = j + 1;
                } else {
                    out.push_str("\\{");
                    i += 1;
                }
            }
            '}' => {
                out.push_str("\\}");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn compile(ev_pos: Pos, re: &str, anchored: bool) -> R<Regex> {
    CACHE.with(|cache| {
        let key = (re.to_string(), anchored);
        if let Some(r) = cache.borrow().get(&key) {
            return Ok(r.clone());
        }
        let translated = translate(re);
        // Nix matches bytes (`.` is one byte), so Unicode mode is off; patterns that
        // need it (non-ASCII bracket expressions) fall back to Unicode matching.
        let body = if anchored {
            format!("^(?:{translated})$")
        } else {
            translated
        };
        let compiled = Regex::new(&format!("(?s-u){body}"))
            .or_else(|_| Regex::new(&format!("(?s){body}")))
            .map_err(|e| err(format!("invalid regular expression '{re}': {e}"), ev_pos))?;
        cache.borrow_mut().insert(key, compiled.clone());
        Ok(compiled)
    })
}

pub(super) fn match_(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let r = compile(pos, &re.s, true)?;
    Ok(match r.captures(s.s.as_bytes()) {
        None => Value::Null,
        Some(caps) => list(
            caps.iter()
                .skip(1)
                .map(|m| match m {
                    Some(m) => Value::string(String::from_utf8_lossy(m.as_bytes())),
                    None => Value::Null,
                })
                .collect(),
        ),
    })
}

pub(super) fn split(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let r = compile(pos, &re.s, false)?;
    let mut out = Vec::new();
    let mut last = 0;
    let mut at = 0;
    let text = s.s.as_bytes();
    // Like std::regex_iterator: an empty match may directly follow a non-empty one;
    // after an empty match the search resumes one character later.
    while at <= text.len() {
        let Some(caps) = r.captures_at(text, at) else {
            break;
        };
        let Some(m) = caps.get(0) else { break };
        at = if m.is_empty() { m.end() + 1 } else { m.end() };
        let piece = text.get(last..m.start()).unwrap_or(&[]);
        out.push(Value::string(String::from_utf8_lossy(piece)));
        out.push(list(
            caps.iter()
                .skip(1)
                .map(|g| match g {
                    Some(g) => Value::string(String::from_utf8_lossy(g.as_bytes())),
                    None => Value::Null,
                })
                .collect(),
        ));
        last = m.end();
    }
    let rest = text.get(last..).unwrap_or(&[]);
    out.push(Value::string(String::from_utf8_lossy(rest)));
    Ok(list(out))
}

#[cfg(test)]
mod tests {
    use super::translate;

    #[test]
    fn brackets_and_braces_translate() {
        assert_eq!(translate("[]a]"), "[\\]a]");
        assert_eq!(translate("[[:alpha:]_]+"), "[[:alpha:]_]+");
        assert_eq!(translate("a{2,3}"), "a{2,3}");
        assert_eq!(translate("\\${x}"), "\\$\\{x\\}");
        assert_eq!(translate("[a\\]"), "[a\\\\]");
    }
}
