//! The dashboard's languages and message catalogues: Fluent files (`locales/<tag>.ftl`),
//! one per [`UiLang`], embedded in the binary. Translators edit those files only; the
//! `catalogues` test fails when one lacks a message or uses other variables than the
//! English one.
//!
//! The site is written once per language (see [`crate::render()`]): static pages need no
//! JavaScript and no work per request, and a phone's language is chosen where requests
//! are seen (nixspot-portal sends a registered visitor to `/<tag>/`, and Caddy a phone
//! opening `/` by its `Accept-Language`: `nixspot_proxy::ProxyConfig::dashboard_languages`).

pub(crate) use nixspot_i18n::Arg;

/// A language the dashboard has a catalogue for (the same ones as nixspot-portal).
pub use nixspot_i18n::Lang as UiLang;

/// The Fluent source of the language's catalogue.
pub fn source(lang: UiLang) -> &'static str {
    match lang {
        UiLang::En => include_str!("../locales/en.ftl"),
        UiLang::Fr => include_str!("../locales/fr.ftl"),
        UiLang::Es => include_str!("../locales/es.ftl"),
    }
}

/// Marks where an HTML placeable goes in a formatted message (private-use characters,
/// which neither catalogues nor escaping produce).
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

/// One language's messages, with English behind it for any message it lacks
/// ([`nixspot_i18n::Catalog`]), and the dashboard's HTML formatting on top.
pub(crate) struct Catalog(nixspot_i18n::Catalog);

impl std::ops::Deref for Catalog {
    type Target = nixspot_i18n::Catalog;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Catalog {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Catalog {
    /// Loads `lang`'s embedded catalogue; syntax errors keep what parsed and are listed
    /// by `problems`.
    pub(crate) fn new(lang: UiLang) -> Self {
        Catalog(nixspot_i18n::Catalog::new(lang, source))
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
