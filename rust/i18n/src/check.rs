//! The catalogue consistency check, so a translator's slip fails CI instead of showing
//! English (or nothing) on a device: every file parses; every language has exactly the
//! English messages and terms, each with a value when English has one and the same
//! attributes; each message uses the same variables in every language; the files in
//! `locales/` are exactly the languages the crate embeds.
//!
//! Each crate's `tests/catalogues.rs` calls [`check_catalogues`] on its own `locales/`.

use crate::Lang;
use fluent_syntax::ast;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Why the catalogues are not consistent.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A catalogue or its folder could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A catalogue does not parse (Fluent would drop the broken entries as junk).
    #[error("{}: syntax errors: {errors}", file.display())]
    Syntax {
        /// The catalogue.
        file: PathBuf,
        /// The parser's errors (and the junk text).
        errors: String,
    },
    /// An id is defined twice in one file (Fluent keeps the first silently).
    #[error("{}: {id} is defined twice", file.display())]
    Duplicate {
        /// The catalogue.
        file: PathBuf,
        /// The message id, or `-name` for a term.
        id: String,
    },
    /// The folder holds other files than one `<tag>.ftl` per embedded language.
    #[error("{} must hold one catalogue per embedded language: expected {expected:?}, found {found:?}", dir.display())]
    Files {
        /// The `locales/` folder.
        dir: PathBuf,
        /// `<tag>.ftl` for each language the crate embeds.
        expected: Vec<String>,
        /// The file names in the folder.
        found: Vec<String>,
    },
    /// English has fewer entries than the crate's pages use (a truncated file).
    #[error("{}: {found} messages, expected at least {min}", file.display())]
    TooFew {
        /// The English catalogue.
        file: PathBuf,
        /// Its entries.
        found: usize,
        /// The least the crate expects.
        min: usize,
    },
    /// A language differs from English; one line a message.
    #[error("{}:\n{}", file.display(), problems.join("\n"))]
    Inconsistent {
        /// The catalogue.
        file: PathBuf,
        /// `id: what differs`, one a message.
        problems: Vec<String>,
    },
}

/// Message or term id → (variables used, attribute names, has a value).
type Summary = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, bool)>;

/// Checks the catalogues `dir/<tag>.ftl` of `langs` (English among them) against
/// English, which must have at least `min_messages` entries.
pub fn check_catalogues(dir: &Path, langs: &[Lang], min_messages: usize) -> Result<(), CheckError> {
    let read_err = |source| CheckError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        found.push(
            entry
                .map_err(read_err)?
                .file_name()
                .to_string_lossy()
                .to_string(),
        );
    }
    found.sort();
    let mut expected: Vec<String> = langs.iter().map(|l| format!("{l}.ftl")).collect();
    expected.sort();
    if found != expected || !langs.contains(&Lang::En) {
        return Err(CheckError::Files {
            dir: dir.to_path_buf(),
            expected,
            found,
        });
    }
    let english_file = dir.join("en.ftl");
    let english = summarize(&english_file)?;
    if english.len() < min_messages {
        return Err(CheckError::TooFew {
            file: english_file,
            found: english.len(),
            min: min_messages,
        });
    }
    for lang in langs {
        let file = dir.join(format!("{lang}.ftl"));
        let problems = differences(&english, &summarize(&file)?);
        if !problems.is_empty() {
            return Err(CheckError::Inconsistent { file, problems });
        }
    }
    Ok(())
}

/// How `other` differs from `english`, one line a message.
fn differences(english: &Summary, other: &Summary) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, (vars, attrs, has_value)) in english {
        match other.get(id) {
            None => problems.push(format!("{id}: missing")),
            Some((v, a, hv)) => {
                if v != vars {
                    problems.push(format!("{id}: uses {v:?}, English uses {vars:?}"));
                }
                if a != attrs {
                    problems.push(format!("{id}: attributes {a:?}, English has {attrs:?}"));
                }
                if hv != has_value {
                    problems.push(format!("{id}: value present {hv}, in English {has_value}"));
                }
            }
        }
    }
    for id in other.keys().filter(|id| !english.contains_key(*id)) {
        problems.push(format!("{id}: not in en.ftl (unused)"));
    }
    problems
}

fn summarize(file: &Path) -> Result<Summary, CheckError> {
    let text = std::fs::read_to_string(file).map_err(|source| CheckError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let resource =
        fluent_syntax::parser::parse(text.as_str()).map_err(|(_, errors)| CheckError::Syntax {
            file: file.to_path_buf(),
            errors: format!("{errors:?}"),
        })?;
    let mut out = Summary::new();
    for entry in &resource.body {
        let (id, value, attributes) = match entry {
            ast::Entry::Message(m) => (m.id.name.to_string(), m.value.as_ref(), &m.attributes),
            ast::Entry::Term(t) => (format!("-{}", t.id.name), Some(&t.value), &t.attributes),
            ast::Entry::Junk { content } => {
                return Err(CheckError::Syntax {
                    file: file.to_path_buf(),
                    errors: format!("junk {content:?}"),
                })
            }
            _ => continue,
        };
        let mut vars = BTreeSet::new();
        if let Some(v) = value {
            variables_pattern(v, &mut vars);
        }
        let mut attrs = BTreeSet::new();
        for a in attributes {
            variables_pattern(&a.value, &mut vars);
            attrs.insert(a.id.name.to_string());
        }
        if out
            .insert(id.clone(), (vars, attrs, value.is_some()))
            .is_some()
        {
            return Err(CheckError::Duplicate {
                file: file.to_path_buf(),
                id,
            });
        }
    }
    Ok(out)
}

fn variables_inline(e: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_string());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            variables_args(arguments, out);
        }
        ast::InlineExpression::TermReference {
            arguments: Some(arguments),
            ..
        } => variables_args(arguments, out),
        ast::InlineExpression::Placeable { expression } => variables_expr(expression, out),
        _ => {}
    }
}

fn variables_args(a: &ast::CallArguments<&str>, out: &mut BTreeSet<String>) {
    for p in &a.positional {
        variables_inline(p, out);
    }
    for n in &a.named {
        variables_inline(&n.value, out);
    }
}

fn variables_expr(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Inline(i) => variables_inline(i, out),
        ast::Expression::Select { selector, variants } => {
            variables_inline(selector, out);
            for v in variants {
                variables_pattern(&v.value, out);
            }
        }
    }
}

fn variables_pattern(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for el in &p.elements {
        if let ast::PatternElement::Placeable { expression } = el {
            variables_expr(expression, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checker fails on a catalogue with a missing message or other variables.
    #[test]
    fn the_check_catches_a_translators_slip() {
        let tmp = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(tmp.path().join(name), text).unwrap();
        write(
            "en.ftl",
            "a = A { $name }\nb = { $n ->\n [one] one\n *[other] { $n } items\n}\n",
        );
        write("fr.ftl", "a = A { $nom }\n");
        let g = summarize(&tmp.path().join("en.ftl")).unwrap();
        assert_eq!(g["b"].0, BTreeSet::from(["n".to_string()]));
        let err = check_catalogues(tmp.path(), &[Lang::En, Lang::Fr], 2).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("fr.ftl:\n"), "{text}");
        assert!(
            text.contains("a: uses {\"nom\"}, English uses {\"name\"}"),
            "{text}"
        );
        assert!(text.contains("b: missing"), "{text}");

        write("fr.ftl", "a = B { $name }\nb = { $n } choses\n");
        check_catalogues(tmp.path(), &[Lang::En, Lang::Fr], 2).unwrap();
        assert!(matches!(
            check_catalogues(tmp.path(), &[Lang::En, Lang::Fr], 3),
            Err(CheckError::TooFew {
                found: 2,
                min: 3,
                ..
            })
        ));
        assert!(matches!(
            check_catalogues(tmp.path(), &[Lang::En], 2),
            Err(CheckError::Files { .. })
        ));

        write("fr.ftl", "a = { $name\n");
        assert!(matches!(
            check_catalogues(tmp.path(), &[Lang::En, Lang::Fr], 2),
            Err(CheckError::Syntax { .. })
        ));
        write("fr.ftl", "a = A { $name }\na = again\nb = { $n }\n");
        assert!(matches!(
            check_catalogues(tmp.path(), &[Lang::En, Lang::Fr], 2),
            Err(CheckError::Duplicate { .. })
        ));
    }
}
