//! The portal's pages, rendered once at start: they only depend on the settings.

use crate::config::PortalConfig;

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

/// The rendered pages.
#[derive(Debug, Clone)]
pub struct Pages {
    /// For unregistered clients: name, logo, text, one button.
    pub welcome: String,
    /// For registered clients that are not running a connectivity check.
    pub registered: String,
}

impl Pages {
    /// Renders both pages; `logo` is the logo's URL path.
    pub fn render(cfg: &PortalConfig, logo: &str) -> Self {
        let name = escape(&cfg.hotspot_name);
        let footer = cfg
            .footer_note
            .as_deref()
            .map(|n| format!("<footer>{}</footer>", escape(n)))
            .unwrap_or_default();
        let page = |title: &str, body: &str| {
            format!(
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
                 <title>{title}</title><link rel=\"stylesheet\" href=\"/assets/style.css\"></head>\
                 <body><main><img src=\"{logo}\" alt=\"\"><h1>{name}</h1>{body}{footer}</main></body></html>\n",
                logo = escape(logo),
            )
        };
        let welcome = page(
            &name,
            &format!(
                "<p>Welcome! This hotspot gives free access to offline content: \
                 encyclopedias, books, videos and more, without Internet.</p>\
                 <a class=\"button\" href=\"/register-hotspot/\">Open {name}</a>"
            ),
        );
        let dashboard = escape(&format!("http://{}/", cfg.hotspot_fqdn));
        let registered = page(
            &name,
            &format!(
                "<p>You are connected.</p><a class=\"button\" href=\"{dashboard}\">Go to {name}</a>"
            ),
        );
        Pages {
            welcome,
            registered,
        }
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
        let p = Pages::render(&cfg, "/assets/logo.svg");
        assert!(p.welcome.contains("&lt;b&gt;Spot&lt;/b&gt;"));
        assert!(!p.welcome.contains("<b>"));
        assert!(p.welcome.contains("<footer>a &amp; b</footer>"));
        assert_eq!(p.welcome.matches("class=\"button\"").count(), 1);
        assert!(p.registered.contains("href=\"http://generic.offspot/\""));
    }
}
