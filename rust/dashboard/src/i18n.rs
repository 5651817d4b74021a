//! The dashboard's languages and message catalogues: Fluent files (`locales/<tag>.ftl`),
//! one per [`UiLang`], embedded in the binary. Translators edit those files only; the
//! `catalogues` test fails when one lacks a message or uses other variables than the
//! English one.
//!
//! The site is written once per language (see [`crate::render()`]): static pages need no
//! JavaScript and no work per request, and a phone's language is chosen where requests
//! are seen (nixspot-portal sends a registered visitor to `/<tag>/`).

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};

/// A language the dashboard has a catalogue for (the same ones as nixspot-portal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UiLang {
    /// English, the reference catalogue and last fallback.
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
}

impl UiLang {
    /// Every language, English first.
    pub const ALL: [UiLang; 3] = [UiLang::En, UiLang::Fr, UiLang::Es];

    /// The BCP 47 tag: `lang` attributes and the folder of the language's pages.
    pub fn tag(self) -> &'static str {
        match self {
            UiLang::En => "en",
            UiLang::Fr => "fr",
            UiLang::Es => "es",
        }
    }

    /// The language's name in itself, for the language switcher.
    pub fn autonym(self) -> &'static str {
        match self {
            UiLang::En => "English",
            UiLang::Fr => "Français",
            UiLang::Es => "Español",
        }
    }

    /// The language a tag names, if it is one of ours: BCP 47 in any case, with region
    /// (`fr-CA`), `_` for `-` (`fr_FR`), or ISO 639-2/3 (`fra`, `fre`, `spa`, `eng`).
    pub fn from_tag(tag: &str) -> Option<UiLang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        match primary.to_ascii_lowercase().as_str() {
            "en" | "eng" => Some(UiLang::En),
            "fr" | "fra" | "fre" => Some(UiLang::Fr),
            "es" | "spa" => Some(UiLang::Es),
            _ => None,
        }
    }

    /// The Fluent source of the language's catalogue.
    pub fn source(self) -> &'static str {
        match self {
            UiLang::En => include_str!("../locales/en.ftl"),
            UiLang::Fr => include_str!("../locales/fr.ftl"),
            UiLang::Es => include_str!("../locales/es.ftl"),
        }
    }
}

impl std::fmt::Display for UiLang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// A variable's value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    /// Plain text.
    Text(&'a str),
    /// A number (selects plural forms).
    Count(u64),
}

/// Marks where an HTML placeable goes in a formatted message (private-use characters,
/// which neither catalogues nor escaping produce).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// One language's messages, with English behind it for any message it lacks.
pub(crate) struct Catalog {
    lang: UiLang,
    bundle: FluentBundle<FluentResource>,
    english: Option<Box<Catalog>>,
    problems: Vec<String>,
}

impl Catalog {
    /// Loads `lang`'s embedded catalogue; syntax errors keep what parsed and are listed
    /// by [`Catalog::problems`].
    pub(crate) fn new(lang: UiLang) -> Self {
        let mut problems = Vec::new();
        let resource = match FluentResource::try_new(lang.source().to_string()) {
            Ok(r) => r,
            Err((r, errors)) => {
                problems.extend(errors.iter().map(|e| format!("locales/{lang}.ftl: {e}")));
                r
            }
        };
        let id = lang.tag().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new(vec![id]);
        // No Unicode isolation marks: the output is HTML, every language here is LTR and
        // content names are wrapped by the markup already.
        bundle.set_use_isolating(false);
        if let Err(errors) = bundle.add_resource(resource) {
            problems.extend(errors.iter().map(|e| format!("locales/{lang}.ftl: {e}")));
        }
        Catalog {
            lang,
            bundle,
            english: (lang != UiLang::En).then(|| Box::new(Catalog::new(UiLang::En))),
            problems,
        }
    }

    /// The catalogue's language.
    pub(crate) fn lang(&self) -> UiLang {
        self.lang
    }

    /// Message `id` with `args`, as plain text. A missing message comes from English
    /// (or is its id); problems are recorded.
    pub(crate) fn text(&mut self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
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

    /// Message `id` as HTML: the text escaped, then each of `html` (`$name` → markup,
    /// such as a link) put in place of its variable. Translators move links within a
    /// sentence but cannot write markup.
    pub(crate) fn html(
        &mut self,
        id: &str,
        args: &[(&str, Arg<'_>)],
        html: &[(&str, String)],
    ) -> String {
        let markers: Vec<String> = (0..html.len())
            .map(|i| format!("{OPEN}{i}{CLOSE}"))
            .collect();
        let mut all: Vec<(&str, Arg<'_>)> = args.to_vec();
        all.extend(
            html.iter()
                .zip(&markers)
                .map(|((k, _), m)| (*k, Arg::Text(m.as_str()))),
        );
        let mut out = crate::render::esc(&self.text(id, &all));
        for ((_, markup), m) in html.iter().zip(&markers) {
            out = out.replace(m.as_str(), markup);
        }
        out
    }

    /// Message `id` escaped for HTML.
    pub(crate) fn esc(&mut self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        crate::render::esc(&self.text(id, args))
    }

    /// Everything that went wrong so far (syntax errors, missing messages or variables).
    pub(crate) fn problems(&self) -> Vec<String> {
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
    fn html_placeables_and_plurals() {
        let mut fr = Catalog::new(UiLang::Fr);
        let s = fr.html(
            "about-step-open",
            &[],
            &[(
                "home-link",
                "<a href=\"../\">la page d&#39;accueil</a>".into(),
            )],
        );
        assert_eq!(
            s,
            "Ouvrez <a href=\"../\">la page d&#39;accueil</a> et choisissez un contenu."
        );
        assert_eq!(
            fr.text("category-count", &[("count", Arg::Count(1))]),
            "contenu"
        );
        assert_eq!(
            fr.text("category-count", &[("count", Arg::Count(2))]),
            "contenus"
        );
        assert_eq!(
            fr.esc("home-heading", &[("name", Arg::Text("<b>"))]),
            "Bienvenue sur &lt;b&gt;"
        );
        assert!(fr.problems().is_empty(), "{:?}", fr.problems());
        assert_eq!(fr.text("nope", &[]), "nope");
        assert_eq!(fr.problems().len(), 2);
        assert_eq!(UiLang::from_tag("fr_CA"), Some(UiLang::Fr));
        assert_eq!(UiLang::from_tag("de"), None);
    }
}
