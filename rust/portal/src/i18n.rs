//! The portal's message catalogues: Fluent files (`locales/<tag>.ftl`), one per
//! [`Lang`], embedded in the binary so a device needs no extra files. Translators edit
//! those files only; the `catalogues` test fails when one lacks a message or uses other
//! variables than the English one.

use crate::lang::Lang;
use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};

/// The Fluent source of `lang`'s catalogue.
pub fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::En => include_str!("../locales/en.ftl"),
        Lang::Fr => include_str!("../locales/fr.ftl"),
        Lang::Es => include_str!("../locales/es.ftl"),
    }
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
    /// Loads `lang`'s embedded catalogue. Syntax errors do not stop it (the entries that
    /// parsed are kept); they are listed by [`Catalog::problems`].
    pub fn new(lang: Lang) -> Self {
        let mut problems = Vec::new();
        let resource = match FluentResource::try_new(source(lang).to_string()) {
            Ok(r) => r,
            Err((r, errors)) => {
                for e in errors {
                    problems.push(format!("locales/{lang}.ftl: {e}"));
                }
                r
            }
        };
        let id = lang
            .tag()
            .parse()
            .unwrap_or_else(|_| unic_langid::LanguageIdentifier::default());
        let mut bundle = FluentBundle::new(vec![id]);
        // No Unicode isolation marks around placeables: the pages are HTML, and every
        // language here is written left to right.
        bundle.set_use_isolating(false);
        if let Err(errors) = bundle.add_resource(resource) {
            for e in errors {
                problems.push(format!("locales/{lang}.ftl: {e}"));
            }
        }
        let english = (lang != Lang::En).then(|| Box::new(Catalog::new(Lang::En)));
        Catalog {
            lang,
            bundle,
            english,
            problems,
        }
    }

    /// The catalogue's language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Message `id` with `args` (`$name` → value), as plain text (escape it for HTML).
    /// A message this catalogue lacks comes from English; one English lacks too is its
    /// id. Either is recorded in [`Catalog::problems`].
    pub fn text(&mut self, id: &str, args: &[(&str, &str)]) -> String {
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            fargs.set(*k, FluentValue::from(*v));
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
        for e in errors {
            self.problems
                .push(format!("locales/{}.ftl: message {id}: {e}", self.lang));
        }
        match found {
            Some(s) => s,
            None => {
                self.problems.push(format!(
                    "locales/{}.ftl: no message {id} (English used)",
                    self.lang
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

    #[test]
    fn missing_messages_fall_back_to_english_and_are_reported() {
        let mut fr = Catalog::new(Lang::Fr);
        assert_eq!(
            fr.text("welcome-button", &[("name", "Spot <1>")]),
            "Ouvrir Spot <1>"
        );
        assert!(fr.problems().is_empty(), "{:?}", fr.problems());
        assert_eq!(fr.text("no-such-message", &[]), "no-such-message");
        assert_eq!(fr.problems().len(), 2, "{:?}", fr.problems());
        let mut en = Catalog::new(Lang::En);
        en.text("welcome-button", &[]);
        assert!(
            en.problems()[0].contains("welcome-button"),
            "a missing variable is reported: {:?}",
            en.problems()
        );
    }
}
