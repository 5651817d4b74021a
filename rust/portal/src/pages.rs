//! The portal's pages, rendered once at start in every language: they only depend on
//! the settings and the message catalogues ([`crate::i18n`]).

use crate::config::PortalConfig;
use crate::i18n::{Arg, Catalog};
use crate::lang::Lang;

/// The stylesheet served at `/assets/style.css`.
pub const STYLE_CSS: &str = include_str!("../assets/style.css");
/// The default logo served at `/assets/logo.svg`.
pub const LOGO_SVG: &str = include_str!("../assets/logo.svg");

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// One language's rendered pages and messages.
#[derive(Debug, Clone)]
pub struct LangPages {
    /// For unregistered clients: name, logo, text, one button.
    pub welcome: String,
    /// For registered clients that are not running a connectivity check.
    pub registered: String,
    /// Plain-text answer to a client that is not on IPv4.
    pub error_not_ipv4: String,
    /// Plain-text answer when the registration could not be recorded.
    pub error_registration: String,
    /// Where registering leads: the dashboard in this language (see [`dashboard_url`]).
    pub dashboard: String,
}

/// The rendered pages, in every language of [`Lang::ALL`].
#[derive(Debug, Clone)]
pub struct Pages {
    /// Indexed by [`Lang::index`].
    by_lang: [LangPages; Lang::ALL.len()],
    /// Catalogue problems met while rendering (none when the catalogues are complete).
    pub problems: Vec<String>,
}

/// The dashboard's address for visitors reading `lang` on a hotspot configured for
/// `configured`: its root (which nixspot-dashboard writes in the configured language),
/// or the `/<tag>/` copy it writes for every other language.
pub fn dashboard_url(fqdn: &str, lang: Lang, configured: Lang) -> String {
    if lang == configured {
        format!("http://{fqdn}/")
    } else {
        format!("http://{fqdn}/{}/", lang.tag())
    }
}

impl Pages {
    /// Renders every page in every language; `logo` is the logo's URL path and
    /// `configured` the hotspot's own language.
    pub fn render(cfg: &PortalConfig, logo: &str, configured: Lang) -> Self {
        let mut problems = Vec::new();
        let by_lang = Lang::ALL.map(|lang| {
            let mut catalog = crate::i18n::catalog(lang);
            let pages = Self::render_one(cfg, logo, configured, &mut catalog);
            problems.extend(catalog.problems());
            pages
        });
        problems.sort();
        problems.dedup();
        Pages { by_lang, problems }
    }

    fn render_one(
        cfg: &PortalConfig,
        logo: &str,
        configured: Lang,
        catalog: &mut Catalog,
    ) -> LangPages {
        let lang = catalog.lang();
        let name = escape(&cfg.hotspot_name);
        let footer = cfg
            .footer_note
            .as_deref()
            .map(|n| format!("<footer>{}</footer>", escape(n)))
            .unwrap_or_default();
        let page = |title: &str, body: &str| {
            format!(
                "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
                 <title>{title}</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
                 <body><main><img src=\"{logo}\" alt=\"\"><h1>{name}</h1>{body}{footer}</main></body></html>\n",
                logo = escape(logo),
            )
        };
        let raw_name = cfg.hotspot_name.as_str();
        let welcome = page(
            &name,
            &format!(
                "<p>{}</p><a class=\"button\" href=\"/register-hotspot/\">{}</a>",
                escape(&catalog.text("welcome-text", &[])),
                escape(&catalog.text("welcome-button", &[("name", Arg::Text(raw_name))])),
            ),
        );
        let dashboard = dashboard_url(&cfg.hotspot_fqdn, lang, configured);
        let registered = page(
            &name,
            &format!(
                "<p>{}</p><a class=\"button\" href=\"{}\">{}</a>",
                escape(&catalog.text("registered-text", &[])),
                escape(&dashboard),
                escape(&catalog.text("registered-button", &[("name", Arg::Text(raw_name))])),
            ),
        );
        LangPages {
            welcome,
            registered,
            error_not_ipv4: catalog.text("error-not-ipv4", &[]) + "\n",
            error_registration: catalog.text("error-registration", &[]) + "\n",
            dashboard,
        }
    }

    /// The pages in `lang`.
    pub fn get(&self, lang: Lang) -> &LangPages {
        &self.by_lang[lang.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_the_settings() {
        let cfg = PortalConfig {
            hotspot_name: "<b>Spot</b>".into(),
            footer_note: Some("a & b".into()),
            ..PortalConfig::default()
        };
        let all = Pages::render(&cfg, "/assets/logo.svg", Lang::En);
        assert!(all.problems.is_empty(), "{:?}", all.problems);
        for lang in Lang::ALL {
            let p = all.get(lang);
            assert!(p.welcome.contains("&lt;b&gt;Spot&lt;/b&gt;"), "{lang}");
            assert!(!p.welcome.contains("<b>"), "{lang}");
            assert!(p.welcome.contains("<footer>a &amp; b</footer>"));
            assert_eq!(p.welcome.matches("class=\"button\"").count(), 1);
            assert!(p.welcome.contains(&format!("<html lang=\"{lang}\">")));
        }
        let en = all.get(Lang::En);
        assert!(en.registered.contains("href=\"http://generic.offspot/\""));
        assert!(en.welcome.contains(">Open &lt;b&gt;Spot&lt;/b&gt;</a>"));
        let fr = all.get(Lang::Fr);
        assert!(fr
            .registered
            .contains("href=\"http://generic.offspot/fr/\""));
        assert!(fr.welcome.contains(">Ouvrir &lt;b&gt;Spot&lt;/b&gt;</a>"));
        assert!(all.get(Lang::Es).welcome.contains("¡Bienvenido!"));
    }
}
