//! Language names for the filter: ISO 639-3 code → (BCP 47 tag, name in that language).
//!
//! Offspot packages list ISO 639-3 codes; people recognise their language by its own
//! name, and screen readers need the BCP 47 tag to pronounce it.

/// (ISO 639-3, BCP 47, autonym), sorted by code for binary search.
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("afr", "af", "Afrikaans"),
    ("amh", "am", "አማርኛ"),
    ("ara", "ar", "العربية"),
    ("aze", "az", "Azərbaycanca"),
    ("bel", "be", "Беларуская"),
    ("ben", "bn", "বাংলা"),
    ("bul", "bg", "Български"),
    ("cat", "ca", "Català"),
    ("ces", "cs", "Čeština"),
    ("dan", "da", "Dansk"),
    ("deu", "de", "Deutsch"),
    ("ell", "el", "Ελληνικά"),
    ("eng", "en", "English"),
    ("epo", "eo", "Esperanto"),
    ("est", "et", "Eesti"),
    ("eus", "eu", "Euskara"),
    ("fas", "fa", "فارسی"),
    ("fin", "fi", "Suomi"),
    ("fra", "fr", "Français"),
    ("ful", "ff", "Fulfulde"),
    ("glg", "gl", "Galego"),
    ("guj", "gu", "ગુજરાતી"),
    ("hat", "ht", "Kreyòl ayisyen"),
    ("hau", "ha", "Hausa"),
    ("heb", "he", "עברית"),
    ("hin", "hi", "हिन्दी"),
    ("hrv", "hr", "Hrvatski"),
    ("hun", "hu", "Magyar"),
    ("hye", "hy", "Հայերեն"),
    ("ibo", "ig", "Igbo"),
    ("ind", "id", "Bahasa Indonesia"),
    ("isl", "is", "Íslenska"),
    ("ita", "it", "Italiano"),
    ("jpn", "ja", "日本語"),
    ("kat", "ka", "ქართული"),
    ("kaz", "kk", "Қазақша"),
    ("khm", "km", "ខ្មែរ"),
    ("kin", "rw", "Kinyarwanda"),
    ("kor", "ko", "한국어"),
    ("lao", "lo", "ລາວ"),
    ("lav", "lv", "Latviešu"),
    ("lin", "ln", "Lingála"),
    ("lit", "lt", "Lietuvių"),
    ("mal", "ml", "മലയാളം"),
    ("mar", "mr", "मराठी"),
    ("mkd", "mk", "Македонски"),
    ("mlg", "mg", "Malagasy"),
    ("msa", "ms", "Bahasa Melayu"),
    ("mul", "mul", "Multilingual"),
    ("mya", "my", "မြန်မာ"),
    ("nep", "ne", "नेपाली"),
    ("nld", "nl", "Nederlands"),
    ("nor", "no", "Norsk"),
    ("pan", "pa", "ਪੰਜਾਬੀ"),
    ("pol", "pl", "Polski"),
    ("por", "pt", "Português"),
    ("pus", "ps", "پښتو"),
    ("que", "qu", "Runa Simi"),
    ("ron", "ro", "Română"),
    ("rus", "ru", "Русский"),
    ("sin", "si", "සිංහල"),
    ("slk", "sk", "Slovenčina"),
    ("slv", "sl", "Slovenščina"),
    ("som", "so", "Soomaali"),
    ("spa", "es", "Español"),
    ("sqi", "sq", "Shqip"),
    ("srp", "sr", "Српски"),
    ("swa", "sw", "Kiswahili"),
    ("swe", "sv", "Svenska"),
    ("tam", "ta", "தமிழ்"),
    ("tel", "te", "తెలుగు"),
    ("tgl", "tl", "Tagalog"),
    ("tha", "th", "ไทย"),
    ("tir", "ti", "ትግርኛ"),
    ("tur", "tr", "Türkçe"),
    ("ukr", "uk", "Українська"),
    ("urd", "ur", "اردو"),
    ("uzb", "uz", "Oʻzbekcha"),
    ("vie", "vi", "Tiếng Việt"),
    ("wol", "wo", "Wolof"),
    ("xho", "xh", "isiXhosa"),
    ("yor", "yo", "Yorùbá"),
    ("zho", "zh", "中文"),
    ("zul", "zu", "isiZulu"),
];

/// A language as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language {
    /// The code as written in home.yaml.
    pub code: String,
    /// BCP 47 tag for the `lang` attribute, when the code is a known or plausible one.
    pub tag: Option<String>,
    /// Display name: the autonym, or the code when unknown.
    pub name: String,
}

/// Looks up `code` (ISO 639-3, or a 2-letter ISO 639-1 code as some old ZIMs carry).
pub fn language(code: &str) -> Language {
    let lower = code.trim().to_ascii_lowercase();
    let found = LANGUAGES
        .binary_search_by(|(c, _, _)| c.cmp(&lower.as_str()))
        .ok()
        .and_then(|i| LANGUAGES.get(i))
        .or_else(|| LANGUAGES.iter().find(|(_, t, _)| *t == lower));
    match found {
        Some((_, tag, name)) => Language {
            code: code.to_owned(),
            tag: Some((*tag).to_owned()),
            name: (*name).to_owned(),
        },
        None => Language {
            code: code.to_owned(),
            tag: None,
            name: code.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in LANGUAGES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{:?} before {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(language("fra").name, "Français");
        assert_eq!(language("fra").tag.as_deref(), Some("fr"));
        assert_eq!(language("bel").name, "Беларуская");
        assert_eq!(language("en").name, "English");
        assert_eq!(language("xyz").name, "xyz");
        assert_eq!(language("xyz").tag, None);
    }
}
