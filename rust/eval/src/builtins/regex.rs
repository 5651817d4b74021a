//! `match` and `split`: POSIX extended regular expressions, as Nix uses them,
//! translated to the `regex` crate's syntax.
//!
//! Nix 2.8 runs libstdc++'s `std::regex` (extended grammar), a backtracking matcher:
//! at an alternation it tries both sides and keeps the path reaching the longer match
//! end (the first one on a tie); a greedy repetition tries more iterations first and
//! stops at the first match found. Without alternation that is `regex`'s
//! leftmost-first matching. `match` is anchored on both ends, so it is leftmost-first
//! too. A `split` pattern with alternation (`split "a|ab" "xabx"` splits around
//! `ab`): the match starts where the leftmost-first one does and ends at the longest
//! possible end; the groups are those of the first path in priority order ending
//! there. Patterns mixing alternation with repetitions whose greedy choice leads to a
//! shorter match can still differ, as can a `$` or word boundary right at that end
//! (judged without the text after it).

use super::list;
use crate::error::{err, R};
use crate::eval::Eval;
use crate::ir::Pos;
use crate::value::Value;
use regex::bytes::Regex;
use regex_automata::{meta, util::syntax, Anchored, Input, MatchKind};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static CACHE: RefCell<HashMap<(String, bool), Regex>> = RefCell::new(HashMap::new());
    static SEARCH_CACHE: RefCell<HashMap<String, Rc<Searcher>>> = RefCell::new(HashMap::new());
}

/// What `split` needs to search like `std::regex_search`.
struct Searcher {
    /// Finds where the leftmost match starts.
    first: Regex,
    /// For patterns whose matches can have several lengths from one start: finds the
    /// longest end (all match states, anchored at the start).
    longest: Option<meta::Regex>,
    /// The pattern followed by an end-of-text anchor: the groups of the first path
    /// ending at a given end, searched on the text cut there.
    ending: Option<meta::Regex>,
}

/// Compiles `body` (already translated) with `regex_automata`, bytes-oriented like
/// [`compile`].
fn build_meta(body: &str, kind: MatchKind) -> Result<meta::Regex, String> {
    let build = |flags: &str, utf8: bool| {
        meta::Regex::builder()
            .syntax(syntax::Config::new().utf8(utf8))
            .configure(meta::Regex::config().match_kind(kind).utf8_empty(false))
            .build(&format!("{flags}{body}"))
            .map_err(|e| e.to_string())
    };
    build("(?s-u)", false).or_else(|_| build("(?s)", true))
}

fn compile_search(pos: Pos, re: &str) -> R<Rc<Searcher>> {
    if let Some(s) = SEARCH_CACHE.with(|c| c.borrow().get(re).cloned()) {
        return Ok(s);
    }
    let first = compile(pos, re, false)?;
    let translated = translate(re);
    // libstdc++ tries both sides of every alternation and keeps the longer match, but
    // takes the first match a greedy repetition leads to. Without alternation that is
    // leftmost-first.
    let (longest, ending) = if !translated.contains('|') {
        (None, None)
    } else {
        let invalid = |e: String| err(format!("invalid regular expression '{re}': {e}"), pos);
        (
            Some(build_meta(&translated, MatchKind::All).map_err(invalid)?),
            Some(
                build_meta(&format!("(?:{translated})\\z"), MatchKind::LeftmostFirst)
                    .map_err(invalid)?,
            ),
        )
    };
    let searcher = Rc::new(Searcher {
        first,
        longest,
        ending,
    });
    SEARCH_CACHE.with(|c| c.borrow_mut().insert(re.to_string(), searcher.clone()));
    Ok(searcher)
}

/// A match: start, end, and the spans of its groups.
type Found = (usize, usize, Vec<Option<(usize, usize)>>);

/// The next match at or after `at` like `std::regex_search`.
fn search(r: &Searcher, text: &[u8], at: usize) -> Option<Found> {
    let caps = r.first.captures_at(text, at)?;
    let m = caps.get(0)?;
    let groups = |caps: &regex::bytes::Captures| -> Vec<Option<(usize, usize)>> {
        caps.iter()
            .skip(1)
            .map(|g| g.map(|g| (g.start(), g.end())))
            .collect()
    };
    let (Some(longest), Some(ending)) = (&r.longest, &r.ending) else {
        return Some((m.start(), m.end(), groups(&caps)));
    };
    let start = m.start();
    let end = longest
        .search_half(&Input::new(text).range(start..).anchored(Anchored::Yes))
        .map(|h| h.offset())
        .unwrap_or(m.end());
    if end == m.end() {
        return Some((start, end, groups(&caps)));
    }
    let cut = text.get(..end)?;
    let mut tail = ending.create_captures();
    ending.search_captures(
        &Input::new(cut).range(start..).anchored(Anchored::Yes),
        &mut tail,
    );
    if !tail.is_match() {
        return Some((m.start(), m.end(), groups(&caps)));
    }
    let n = tail.group_len();
    let found = (1..n)
        .map(|i| tail.get_group(i).map(|s| (s.start, s.end)))
        .collect();
    Some((start, end, found))
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
    let r = compile(pos, &re.lossy(), true)?;
    Ok(match r.captures(&s.s) {
        None => Value::Null,
        Some(caps) => list(
            caps.iter()
                .skip(1)
                .map(|m| match m {
                    Some(m) => Value::string(m.as_bytes()),
                    None => Value::Null,
                })
                .collect(),
        ),
    })
}

pub(super) fn split(ev: &mut Eval, args: &[Value], pos: Pos) -> R<Value> {
    let re = ev.force_str(&args[0], pos)?;
    let s = ev.force_str(&args[1], pos)?;
    let r = compile_search(pos, &re.lossy())?;
    let mut out = Vec::new();
    let mut last = 0;
    let mut at = 0;
    let text = &s.s[..];
    let piece = |a: usize, b: usize| Value::string(text.get(a..b).unwrap_or_default());
    // Like std::regex_iterator: an empty match may directly follow a non-empty one;
    // after an empty match the search resumes one character later.
    while at <= text.len() {
        let Some((start, end, groups)) = search(&r, text, at) else {
            break;
        };
        at = if start == end { end + 1 } else { end };
        out.push(piece(last, start));
        out.push(list(
            groups
                .into_iter()
                .map(|g| match g {
                    Some((a, b)) => piece(a, b),
                    None => Value::Null,
                })
                .collect(),
        ));
        last = end;
    }
    out.push(piece(last, text.len()));
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
