//! offspot.yaml as a file: its comment banner, its keys, and the atomic rewrite that
//! drops applied keys.

use serde_yaml::{Mapping, Value};
use std::io::Read;
use std::path::Path;

/// The largest offspot.yaml read: a real one is a few kilobytes (SSH keys included).
pub const MAX_BYTES: u64 = 1 << 20;

/// The deepest nesting parsed: offspot.yaml's deepest key is 4 levels down. The YAML
/// parser's time grows with the square of the depth (36 s for 100,000 brackets).
pub const MAX_DEPTH: usize = 64;

/// Reads at most [`MAX_BYTES`] of `path` (never the whole of a bigger file); `None`
/// when it does not exist.
pub fn read(path: &Path) -> Result<Option<String>, String> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {MAX_BYTES} bytes, not read"));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| format!("not UTF-8: {e}"))
}

/// Refuses text the parser should not see: over [`MAX_BYTES`], or nested deeper than
/// [`MAX_DEPTH`]. The depth counted is an upper bound of the real one (indentation
/// levels, `- ` on a line, open `[`/`{` anywhere, quoted or not), so nothing deeper
/// gets through, and a real offspot.yaml stays far below it.
fn check_shape(text: &str) -> Result<(), String> {
    if text.len() as u64 > MAX_BYTES {
        return Err(format!(
            "larger than {MAX_BYTES} bytes ({} bytes), not parsed",
            text.len()
        ));
    }
    let too_deep = |line: usize| {
        Err(format!(
            "nested deeper than {MAX_DEPTH} levels (line {line}), not parsed"
        ))
    };
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (n, line) in text.lines().enumerate() {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let mut col = line.len() - body.len();
        let mut rest = body;
        loop {
            while indents.last().is_some_and(|&i| i >= col) {
                indents.pop();
            }
            indents.push(col);
            match rest.strip_prefix('-') {
                Some(r) if r.starts_with([' ', '\t']) => {
                    let after = r.trim_start_matches([' ', '\t']);
                    col += rest.len() - after.len();
                    rest = after;
                }
                _ => break,
            }
        }
        for c in rest.bytes() {
            match c {
                b'[' | b'{' => flow += 1,
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
            if indents.len() + flow > MAX_DEPTH {
                return too_deep(n + 1);
            }
        }
        if indents.len() + flow > MAX_DEPTH {
            return too_deep(n + 1);
        }
    }
    Ok(())
}

/// The leading comment and blank lines of `text`, kept on rewrite.
pub fn banner(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(line);
        } else {
            break;
        }
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Parses the document: a mapping, or nothing (empty file, `---`, null).
/// Too large or too deeply nested text is refused before parsing (see [`check_shape`]).
pub fn parse(text: &str) -> Result<Mapping, String> {
    check_shape(text)?;
    match serde_yaml::from_str::<Value>(text) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(Value::Null) => Ok(Mapping::new()),
        Ok(other) => Err(format!(
            "expected a mapping of keys at the top level, got {}",
            crate::value::describe(&other)
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The file's new text: the banner, then the remaining keys or `---` when none is left.
pub fn render(banner: &str, rest: &Mapping) -> Result<String, serde_yaml::Error> {
    let body = if rest.is_empty() {
        "---\n".to_string()
    } else {
        serde_yaml::to_string(rest)?
    };
    Ok(format!("{banner}{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_and_render() {
        let text = "# written by nixspot\n#\n\nap:\n  ssid: x\n# not banner\n";
        assert_eq!(banner(text), "# written by nixspot\n#\n\n");
        let m = parse(text).unwrap();
        assert_eq!(render("# b\n", &Mapping::new()).unwrap(), "# b\n---\n");
        assert_eq!(render("", &m).unwrap(), "ap:\n  ssid: x\n");
        assert!(parse("").unwrap().is_empty());
        assert!(parse("---\n").unwrap().is_empty());
        assert!(parse("- a\n").is_err());
        assert!(parse("ap: [\n").is_err());
    }

    #[test]
    fn depth_bound() {
        let nested = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert!(parse(&nested(MAX_DEPTH - 1)).is_ok());
        assert!(parse(&nested(MAX_DEPTH))
            .unwrap_err()
            .contains("deeper than"));
        let dashes = |n: usize| format!("a:\n{}x\n", "- ".repeat(n));
        assert!(parse(&dashes(MAX_DEPTH - 2)).is_ok());
        assert!(parse(&dashes(MAX_DEPTH))
            .unwrap_err()
            .contains("deeper than"));
        // Siblings and dedents do not add up.
        let wide: String = (0..1000)
            .map(|i| format!("k{i}:\n  a: [1, {{b: 2}}]\n"))
            .collect();
        assert!(parse(&wide).is_ok());
    }
}
