//! The languages the portal speaks, and the choice among them for one request.
//!
//! A visitor's phone says which languages its user reads in `Accept-Language`
//! (RFC 9110 §12.5.4: `fr-FR,fr;q=0.9,en;q=0.5`). The portal answers in the first of
//! those it has a catalogue for, trying each tag's primary language too (`fr-CA` reads
//! `fr`), honouring `q=0` ("not this one") and the `*` wildcard; when none fits, in the
//! hotspot's configured language (`HOTSPOT_LANGUAGE`); and in English when that is not
//! one of its languages either.
//!
//! The header is parsed here rather than with the `accept-language` crate: that crate
//! sorts by `f32` weights with an order that is not total for `q=NaN` (which recent Rust
//! sorts may answer with a panic) and keeps `q=0` entries as if they were wanted.

/// A language the portal (and the dashboard) have a message catalogue for.
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

    /// The BCP 47 tag, for `lang` attributes, `Content-Language` and URL paths.
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

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// At most this many entries of one header are looked at: a header is a handful of
/// languages, and a hostile one must not cost more than a short one.
const MAX_RANGES: usize = 32;

/// The language ranges of an `Accept-Language` value with their weights (thousandths,
/// 0–1000), most wanted first; entries of equal weight keep their order. Malformed
/// entries (bad weight, bad characters) are skipped, not fatal: a phone with one odd
/// entry still gets the others.
pub fn parse_accept_language(value: &str) -> Vec<(String, u16)> {
    let mut out: Vec<(String, u16)> = value
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let range = parts.next()?.trim();
            let range_ok = range == "*"
                || (!range.is_empty()
                    && range.len() <= 35
                    && range.split('-').all(|s| {
                        (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
                    }));
            if !range_ok {
                return None;
            }
            let mut weight = 1000;
            for param in parts {
                let (k, v) = param.split_once('=')?;
                if k.trim().eq_ignore_ascii_case("q") {
                    weight = parse_qvalue(v.trim())?;
                }
            }
            Some((range.to_string(), weight))
        })
        .take(MAX_RANGES)
        .collect();
    // A stable sort on integers: a total order whatever the input.
    out.sort_by_key(|&(_, q)| std::cmp::Reverse(q));
    out
}

/// RFC 9110 `qvalue`: `0`, `0.x` up to three decimals, `1`, `1.0`…; in thousandths.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The language to answer a request in: the first of the header's languages the portal
/// speaks (see the module's documentation), else `configured`. `q=0` excludes a
/// language, even `configured`, unless nothing else is left.
pub fn negotiate(accept_language: Option<&str>, configured: Lang) -> Lang {
    let Some(value) = accept_language else {
        return configured;
    };
    let ranges = parse_accept_language(value);
    let refused = |l: Lang| {
        ranges
            .iter()
            .any(|(r, q)| *q == 0 && Lang::from_tag(r) == Some(l))
    };
    for (range, q) in &ranges {
        if *q == 0 {
            // Sorted by weight: only refusals are left.
            break;
        }
        if range == "*" {
            // "Anything else": the hotspot's own language first.
            let mut any = std::iter::once(configured).chain(Lang::ALL);
            if let Some(l) = any.find(|l| !refused(*l)) {
                return l;
            }
            continue;
        }
        if let Some(l) = Lang::from_tag(range) {
            if !refused(l) {
                return l;
            }
        }
    }
    configured
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn weights_sort_stably_and_bad_entries_are_skipped() {
        assert_eq!(
            parse_accept_language("de;q=0.5, fr-FR, fr;q=0.9, x y, es;q=2, en;q=NaN, it;q=0.500"),
            vec![
                ("fr-FR".to_string(), 1000),
                ("fr".to_string(), 900),
                ("de".to_string(), 500),
                ("it".to_string(), 500),
            ]
        );
        assert!(parse_accept_language("").is_empty());
        assert_eq!(
            parse_accept_language(&"a,".repeat(10_000)).len(),
            MAX_RANGES
        );
    }

    #[test]
    fn negotiation() {
        let n = |h: &str, c: Lang| negotiate(Some(h), c);
        assert_eq!(n("fr-FR,fr;q=0.9", Lang::En), Lang::Fr);
        assert_eq!(n("fr-CA", Lang::En), Lang::Fr);
        assert_eq!(n("es", Lang::Fr), Lang::Es);
        assert_eq!(n("de", Lang::Fr), Lang::Fr, "no German: the configured one");
        assert_eq!(
            n("de, es;q=0.1", Lang::Fr),
            Lang::Es,
            "any of ours beats none"
        );
        assert_eq!(
            n("fr;q=0.1, es;q=0.9", Lang::En),
            Lang::Es,
            "weights, not order"
        );
        assert_eq!(
            n("de, *;q=0.5", Lang::Es),
            Lang::Es,
            "wildcard: the hotspot's"
        );
        assert_eq!(
            n("*, es;q=0", Lang::Es),
            Lang::En,
            "wildcard minus a refusal"
        );
        assert_eq!(n("fr;q=0, en", Lang::Fr), Lang::En);
        assert_eq!(n("", Lang::Es), Lang::Es);
        assert_eq!(n(";;;,,,=", Lang::Es), Lang::Es);
        assert_eq!(negotiate(None, Lang::Fr), Lang::Fr);
    }
}
