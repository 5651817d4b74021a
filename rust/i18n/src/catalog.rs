//! Loading a language's embedded Fluent catalogue and looking messages up in it.

use crate::Lang;
use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};

/// Where a crate's catalogues come from: the Fluent source of each language, usually
/// `include_str!("../locales/<tag>.ftl")` so a device needs no extra files.
pub type Sources = fn(Lang) -> &'static str;

/// A message variable's value.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    /// Plain text.
    Text(&'a str),
    /// A number (selects plural forms).
    Count(u64),
}

/// One language's messages, with English behind it for any message it lacks (so a
/// missing translation shows English, never a message id, on a device).
pub struct Catalog {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
    english: Option<Box<Catalog>>,
    problems: Vec<String>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("lang", &self.lang)
            .field("problems", &self.problems)
            .finish()
    }
}

impl Catalog {
    /// Loads `lang`'s catalogue from `sources` (and English's, behind it). Syntax errors
    /// do not stop it (the entries that parsed are kept); they are listed by
    /// [`Catalog::problems`] as `locales/<tag>.ftl: …`.
    pub fn new(lang: Lang, sources: Sources) -> Self {
        let mut problems = Vec::new();
        let resource = match FluentResource::try_new(sources(lang).to_string()) {
            Ok(r) => r,
            Err((r, errors)) => {
                problems.extend(errors.iter().map(|e| format!("locales/{lang}.ftl: {e}")));
                r
            }
        };
        // Our tags are valid BCP 47; the default (undetermined) only keeps this total.
        let id = lang.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new(vec![id]);
        // No Unicode isolation marks around placeables: the output is HTML or plain
        // text, every language here is written left to right.
        bundle.set_use_isolating(false);
        if let Err(errors) = bundle.add_resource(resource) {
            problems.extend(errors.iter().map(|e| format!("locales/{lang}.ftl: {e}")));
        }
        Catalog {
            lang,
            bundle,
            english: (lang != Lang::En).then(|| Box::new(Catalog::new(Lang::En, sources))),
            problems,
        }
    }

    /// The catalogue's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Message `id` with `args` (`$name` → value), as plain text (escape it for HTML).
    /// A message this catalogue lacks comes from English; one English lacks too is its
    /// id. Either is recorded in [`Catalog::problems`], as are unknown variables.
    pub fn text(&mut self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            match v {
                Arg::Text(t) => fargs.set(*k, FluentValue::from(*t)),
                Arg::Count(n) => fargs.set(*k, FluentValue::from(*n)),
            }
        }
        let mut errors = Vec::new();
        let found = self
            .bundle
            .get_message(id)
            .and_then(|m| m.value())
            .map(|p| {
                self.bundle
                    .format_pattern(p, Some(&fargs), &mut errors)
                    .into_owned()
            });
        let lang = self.lang;
        self.problems.extend(
            errors
                .iter()
                .map(|e| format!("locales/{lang}.ftl: message {id}: {e}")),
        );
        match found {
            Some(s) => s,
            None => {
                self.problems.push(format!(
                    "locales/{lang}.ftl: no message {id} (English used)"
                ));
                match self.english.as_mut() {
                    Some(en) => en.text(id, args),
                    None => id.to_string(),
                }
            }
        }
    }

    /// What went wrong so far: syntax errors, missing messages, unknown variables.
    pub fn problems(&self) -> Vec<String> {
        let mut all = self.problems.clone();
        if let Some(en) = &self.english {
            all.extend(en.problems());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(lang: Lang) -> &'static str {
        match lang {
            Lang::En => "hi = Hello { $name }\nonly-en = Only English\nn = { $n ->\n [one] one\n *[other] { $n } items\n}\n",
            Lang::Fr => "hi = Bonjour { $name }\nn = { $n ->\n [one] un\n *[other] { $n } choses\n}\n",
            Lang::Es => "hi = { $name\n",
        }
    }

    #[test]
    fn lookup_plurals_and_english_fallback() {
        let mut fr = Catalog::new(Lang::Fr, sources);
        assert_eq!(fr.lang(), Lang::Fr);
        assert_eq!(fr.text("hi", &[("name", Arg::Text("<b>"))]), "Bonjour <b>");
        assert_eq!(fr.text("n", &[("n", Arg::Count(1))]), "un");
        assert_eq!(fr.text("n", &[("n", Arg::Count(3))]), "3 choses");
        assert!(fr.problems().is_empty(), "{:?}", fr.problems());
        assert_eq!(fr.text("only-en", &[]), "Only English");
        assert_eq!(fr.problems().len(), 1, "{:?}", fr.problems());
        assert_eq!(fr.text("nope", &[]), "nope");
        assert_eq!(fr.problems().len(), 3, "{:?}", fr.problems());
        fr.text("hi", &[]);
        assert!(
            fr.problems().iter().any(|p| p.contains("message hi: ")),
            "a missing variable is reported: {:?}",
            fr.problems()
        );
    }

    #[test]
    fn syntax_errors_are_problems_not_panics() {
        let mut es = Catalog::new(Lang::Es, sources);
        assert!(
            es.problems()[0].starts_with("locales/es.ftl: "),
            "{:?}",
            es.problems()
        );
        assert_eq!(es.text("hi", &[("name", Arg::Text("x"))]), "Hello x");
    }
}
