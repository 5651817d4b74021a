//! The message catalogues (`locales/*.ftl`) are complete and consistent, so a
//! translator's slip fails CI instead of showing English (or nothing) on a device:
//! every file parses; every language has exactly the English messages, each with a
//! value and the same attributes; each message uses the same variables in every
//! language; the files in `locales/` are exactly the languages the dashboard embeds.

use fluent_syntax::ast;
use nixspot_dashboard::UiLang as Lang;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Message or term id → (variables used, attribute names, has a value).
type Summary = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>, bool)>;

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

fn summarize(file: &Path) -> Summary {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let resource = match fluent_syntax::parser::parse(text.as_str()) {
        Ok(r) => r,
        Err((_, errors)) => panic!("{}: syntax errors: {errors:?}", file.display()),
    };
    let mut out = Summary::new();
    for entry in &resource.body {
        let (id, value, attributes) = match entry {
            ast::Entry::Message(m) => (m.id.name.to_string(), m.value.as_ref(), &m.attributes),
            ast::Entry::Term(t) => (format!("-{}", t.id.name), Some(&t.value), &t.attributes),
            ast::Entry::Junk { content } => panic!("{}: junk {content:?}", file.display()),
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
        assert!(
            out.insert(id.clone(), (vars, attrs, value.is_some()))
                .is_none(),
            "{}: {id} is defined twice",
            file.display()
        );
    }
    out
}

#[test]
fn every_language_has_every_message_with_the_same_variables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let embedded: BTreeSet<String> = Lang::ALL.iter().map(|l| format!("{l}.ftl")).collect();
    assert_eq!(
        on_disk, embedded,
        "locales/ must hold one catalogue per language of Lang::ALL"
    );
    let english = summarize(&dir.join("en.ftl"));
    assert!(english.len() >= 40, "{english:?}");
    for lang in Lang::ALL {
        let file = dir.join(format!("{lang}.ftl"));
        let other = summarize(&file);
        let mut problems = Vec::new();
        for (id, (vars, attrs, has_value)) in &english {
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
        assert!(
            problems.is_empty(),
            "{}:\n{}",
            file.display(),
            problems.join("\n")
        );
    }
}

/// The checker itself fails on a catalogue with a missing message or other variables.
#[test]
fn the_check_catches_a_translators_slip() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.ftl");
    std::fs::write(
        &good,
        "a = A { $name }\nb = { $n ->\n [one] one\n *[other] { $n } items\n}\n",
    )
    .unwrap();
    let slip = tmp.path().join("slip.ftl");
    std::fs::write(&slip, "a = A { $nom }\n").unwrap();
    let (g, s) = (summarize(&good), summarize(&slip));
    assert_eq!(g["b"].0, BTreeSet::from(["n".to_string()]));
    assert_ne!(g["a"].0, s["a"].0);
    assert!(!s.contains_key("b"));
    let junk = tmp.path().join("junk.ftl");
    std::fs::write(&junk, "a = { $name\n").unwrap();
    assert!(std::panic::catch_unwind(|| summarize(&junk)).is_err());
}
