//! The languages with a message catalogue.

/// A language the portal and the dashboard have a message catalogue for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// English, the reference catalogue and last fallback.
    En,
    /// French.
    Fr,
    /// Spanish.
    Es,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Fr, Lang::Es];

    /// The position in [`Lang::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The BCP 47 tag, for `lang` attributes, `Content-Language`, URL paths and the
    /// catalogue's file name (`locales/<tag>.ftl`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// The language's name in itself, for language switchers.
    pub fn autonym(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::Es => "Español",
        }
    }

    /// The language a tag names, if it is one of ours: a BCP 47 tag in any case, with
    /// region or script (`fr-CA`, `es-419`), `_` for `-` (`fr_FR`, as locales write it),
    /// or an ISO 639-2/3 code (`fra`, `fre`, `spa`, `eng`: the codes content packages use).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        match primary.to_ascii_lowercase().as_str() {
            "en" | "eng" => Some(Lang::En),
            "fr" | "fra" | "fre" => Some(Lang::Fr),
            "es" | "spa" => Some(Lang::Es),
            _ => None,
        }
    }
}

/// Whether `tag` has the shape of a language tag: a primary language of 2–8 letters,
/// then subtags of 1–8 letters or digits (`fr`, `fra`, `pt-BR`, `zh-Hant`, `es-419`),
/// separated by `-` or, as locales write them, `_` (`fr_FR`); at most 35 characters. Its
/// content is not checked against the catalogues (a language without one means
/// English). The one check of a hotspot's configured language, on the device and in
/// the portal.
pub fn is_language_tag(tag: &str) -> bool {
    tag.len() <= 35
        && tag.split(['-', '_']).enumerate().all(|(i, s)| {
            if i == 0 {
                (2..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
            } else {
                (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
            }
        })
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_by_shape() {
        for good in [
            "en",
            "fra",
            "pt-BR",
            "zh-Hant",
            "es-419",
            "fr_FR",
            "de-CH-1996",
        ] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "f",
            "fr-",
            "-fr",
            "fr--FR",
            "fr;q=1",
            "français",
            "fr FR",
            "abcdefghi",
            "fr\nX=1",
            "fr-abcdefghi",
        ] {
            assert!(!is_language_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn tags() {
        for (tag, lang) in [
            ("fr", Some(Lang::Fr)),
            ("fr-CA", Some(Lang::Fr)),
            ("FR_fr", Some(Lang::Fr)),
            ("fra", Some(Lang::Fr)),
            ("es-419", Some(Lang::Es)),
            ("spa", Some(Lang::Es)),
            ("en-GB", Some(Lang::En)),
            ("de", None),
            ("", None),
            ("*", None),
        ] {
            assert_eq!(Lang::from_tag(tag), lang, "{tag:?}");
        }
        assert_eq!(Lang::ALL.map(Lang::index), [0, 1, 2]);
    }
}
