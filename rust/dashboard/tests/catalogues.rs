//! The message catalogues (`locales/*.ftl`) are complete and consistent, so a
//! translator's slip fails CI instead of showing English (or nothing) on a device (see
//! `nixspot_i18n::check`); the files in `locales/` are exactly the languages the
//! dashboard embeds.

use nixspot_dashboard::UiLang;
use std::path::Path;

#[test]
fn every_language_has_every_message_with_the_same_variables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    if let Err(e) = nixspot_i18n::check::check_catalogues(&dir, &UiLang::ALL, 40) {
        panic!("{e}");
    }
}
