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
pub use nixspot_i18n::{is_language_tag, Lang};

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
        use Lang::{En, Es, Fr};
        for (header, configured, expected, why) in [
            ("fr-FR,fr;q=0.9", En, Fr, "the first wanted"),
            ("fr-CA", En, Fr, "region fallback"),
            ("es", Fr, Es, "one of ours"),
            ("de", Fr, Fr, "no German: the configured one"),
            ("de, es;q=0.1", Fr, Es, "any of ours beats none"),
            ("fr;q=0.1, es;q=0.9", En, Es, "weights, not order"),
            ("de, *;q=0.5", Es, Es, "wildcard: the hotspot's"),
            ("*, es;q=0", Es, En, "wildcard minus a refusal"),
            ("fr;q=0, en", Fr, En, "a refusal of the configured one"),
            ("", Es, Es, "empty header"),
            (";;;,,,=", Es, Es, "garbage"),
        ] {
            assert_eq!(
                negotiate(Some(header), configured),
                expected,
                "{header:?}: {why}"
            );
        }
        assert_eq!(negotiate(None, Fr), Fr);
    }
}
