//! offspot.yaml as a file: its comment banner, its keys, and the atomic rewrite that
//! drops applied keys.

use serde_yaml::{Mapping, Value};

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
pub fn parse(text: &str) -> Result<Mapping, String> {
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
}
