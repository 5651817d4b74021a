//! The portal's message catalogues: Fluent files (`locales/<tag>.ftl`), one per
//! [`Lang`], embedded in the binary so a device needs no extra files. Translators edit
//! those files only; the `catalogues` test fails when one lacks a message or uses other
//! variables than the English one.

use crate::lang::Lang;
pub use nixspot_i18n::{Arg, Catalog};

/// The Fluent source of `lang`'s catalogue.
pub fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::En => include_str!("../locales/en.ftl"),
        Lang::Fr => include_str!("../locales/fr.ftl"),
        Lang::Es => include_str!("../locales/es.ftl"),
    }
}

/// `lang`'s messages, with English behind it for any message it lacks (so a missing
/// translation shows English, never a message id, on a device).
pub fn catalog(lang: Lang) -> Catalog {
    Catalog::new(lang, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_messages_fall_back_to_english_and_are_reported() {
        let mut fr = catalog(Lang::Fr);
        assert_eq!(
            fr.text("welcome-button", &[("name", Arg::Text("Spot <1>"))]),
            "Ouvrir Spot <1>"
        );
        assert!(fr.problems().is_empty(), "{:?}", fr.problems());
        assert_eq!(fr.text("no-such-message", &[]), "no-such-message");
        assert_eq!(fr.problems().len(), 2, "{:?}", fr.problems());
        let mut en = catalog(Lang::En);
        en.text("welcome-button", &[]);
        assert!(
            en.problems()[0].contains("welcome-button"),
            "a missing variable is reported: {:?}",
            en.problems()
        );
    }
}
