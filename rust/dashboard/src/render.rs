//! home.yaml → static pages. Plain string building: no template engine, so output is
//! byte-for-byte deterministic and the binary stays small.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::home::{expand_url, non_empty, Home, Package};
use crate::i18n::{Arg, Catalog, UiLang};
use crate::lang::{language, Language};

/// A rendered site: relative path (`index.html`, `about/index.html`, `icons/….png`) →
/// bytes, in sorted order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// The files.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Problems that did not stop rendering (a bad icon, a refused URL), one per line.
    pub warnings: Vec<String>,
}

impl Site {
    /// Total size of the HTML pages (icons excluded).
    pub fn pages_size(&self) -> u64 {
        self.files
            .iter()
            .filter(|(p, _)| p.ends_with(".html"))
            .map(|(_, b)| b.len() as u64)
            .sum()
    }
}

/// A package ready for display.
struct Card<'a> {
    pkg: &'a Package,
    index: usize,
    title: &'a str,
    url: String,
    icon: Option<String>,
    languages: Vec<Language>,
}

/// Which top-level page is being rendered (navigation state and link prefix).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    Home,
    Download,
    About,
    Blocked,
}

impl Page {
    /// Prefix from this page's folder to the root of its language's copy.
    fn root(self) -> &'static str {
        match self {
            Page::Home => "./",
            _ => "../",
        }
    }

    /// The page's folder in its copy (`""` for the home page).
    fn dir(self) -> &'static str {
        match self {
            Page::Home => "",
            Page::Download => "download/",
            Page::About => "about/",
            Page::Blocked => "blocked/",
        }
    }
}

/// One copy of the site being written: its language and where it lies.
struct Ctx {
    cat: Catalog,
    /// `""` for the copy at the site's root, `"fr/"` for a language's own copy.
    prefix: String,
    /// Every copy (language, prefix), for the language switcher.
    copies: Vec<(UiLang, String)>,
}

impl Ctx {
    /// From a page of this copy to the site's root (where `icons/` is).
    fn site_root(&self, page: Page) -> String {
        let up = self.prefix.matches('/').count() + usize::from(page != Page::Home);
        "../".repeat(up)
    }
}

const CSS: &str = r#":root{--bg:#f4f6f8;--fg:#16191d;--mut:#4b5562;--card:#fff;--line:#cfd6de;--acc:#0a58a8;--acc2:#e3eefb;--on:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#14171b;--fg:#eef1f4;--mut:#b4bdc8;--card:#1e2329;--line:#3a434d;--acc:#8ec5ff;--acc2:#213247;--on:#0b1a2b}}
*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}
body{margin:0;font:1rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Ubuntu,sans-serif;background:var(--bg);color:var(--fg)}
a{color:var(--acc)}a:focus-visible,.skip:focus{outline:3px solid var(--acc);outline-offset:2px;border-radius:4px}
.skip{position:absolute;left:-999rem;top:.5rem;background:var(--card);padding:.5rem 1rem;z-index:9}.skip:focus{left:.5rem}
.w{max-width:72rem;margin:0 auto;padding:0 1rem}
header{background:var(--card);border-bottom:1px solid var(--line)}
.top{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.25rem 1rem;padding-top:.6rem;padding-bottom:.6rem}
.brand{font-size:1.3rem;font-weight:700;margin:0;overflow-wrap:anywhere;color:inherit;text-decoration:none}
nav ul,.grid,.lf ul,.links{list-style:none;margin:0;padding:0}
header ul{display:flex;flex-wrap:wrap;gap:.25rem}
header nav a{display:block;padding:.6rem .8rem;border-radius:.5rem;text-decoration:none;font-weight:500}
header nav a[aria-current]{background:var(--acc2)}
main{padding:1rem 0 2rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:1.75rem 0 .75rem}
.lf ul{display:flex;flex-wrap:wrap;gap:.4rem}
.lf a{display:inline-block;padding:.45rem .9rem;border:1px solid var(--line);border-radius:2rem;background:var(--card);text-decoration:none;color:var(--fg)}
.toc{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;margin:1rem 0 0;padding:0;list-style:none}.toc a{display:inline-block;padding:.3rem 0}
.n{display:inline-block;min-width:1.6em;margin-left:.3em;padding:0 .4em;border-radius:1em;background:var(--acc2);color:var(--fg);font-size:.85em;text-align:center}
.grid{display:grid;gap:.75rem;grid-template-columns:1fr}
@media (min-width:40rem){.grid{grid-template-columns:repeat(2,1fr)}.brand{font-size:1.5rem}}
@media (min-width:64rem){.grid{grid-template-columns:repeat(3,1fr)}}
.card{position:relative;display:flex;gap:.8rem;align-items:flex-start;background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:.9rem;height:100%}
.card:hover{border-color:var(--acc)}.card:focus-within{outline:3px solid var(--acc);outline-offset:2px}
.card h3{margin:0;font-size:1.05rem;line-height:1.3}.card h3 a{color:var(--fg);text-decoration:none}
.card h3 a::after{content:"";position:absolute;inset:0;border-radius:.75rem}.card h3 a:focus-visible{outline:none}
.card p{margin:.25rem 0 0;color:var(--mut);font-size:.92rem;overflow-wrap:anywhere}
.ic{flex:none;width:48px;height:48px;border-radius:.5rem}
.ph{display:grid;place-items:center;background:var(--acc2);color:var(--acc);font-weight:700;font-size:1.4rem}
.banner{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;background:var(--acc2);border-radius:.75rem;padding:.9rem 1rem;margin:0 0 1rem}
.banner p{margin:0}.btn{display:inline-block;padding:.6rem 1rem;border-radius:.5rem;background:var(--acc);color:var(--on);font-weight:600;text-decoration:none}
.dl{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.5rem 1rem;background:var(--card);border:1px solid var(--line);border-radius:.75rem;padding:.9rem}
.dl p{margin:.15rem 0 0;color:var(--mut);font-size:.92rem}.grid.one{grid-template-columns:1fr}
.r .dl{flex-direction:column;align-items:flex-start;justify-content:space-between}
@media (min-width:64rem){.grid.r{grid-template-columns:repeat(4,1fr)}}
footer{border-top:1px solid var(--line);background:var(--card);color:var(--mut);padding:1rem 0 1.5rem;font-size:.92rem}
.links{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem;margin-bottom:.5rem}.links a{display:inline-block;padding:.3rem 0}
.lock{width:.9em;height:.9em;vertical-align:-.1em;margin-right:.25em;fill:currentColor}
.links a[aria-current]{color:var(--fg);font-weight:700;text-decoration:none}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:.75rem;padding:1.5rem;text-align:center}
"#;

const LOCK_SVG: &str = r#"<svg class="lock" viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z"/></svg>"#;

/// Renders the whole site.
pub fn render(home: &Home) -> Site {
    let mut site = Site::default();
    let fqdn = non_empty(&home.metadata.fqdn);
    let mut cards = Vec::new();
    for (index, pkg) in home.packages.iter().enumerate() {
        if !pkg.is_visible() {
            continue;
        }
        let raw_url = non_empty(&pkg.url).unwrap_or_default();
        let url = match expand_url(raw_url, fqdn) {
            Ok(u) => u,
            Err(e) => {
                site.warnings.push(format!(
                    "packages[{index}] ({}): url {e}; package hidden",
                    ident(pkg, index)
                ));
                continue;
            }
        };
        let icon = non_empty(&pkg.icon).and_then(|b64| match decode_png(b64) {
            Ok(png) => {
                let name = format!("icons/{}.png", &hex(&Sha256::digest(&png))[..16]);
                site.files.insert(name.clone(), png);
                Some(name)
            }
            Err(e) => {
                site.warnings.push(format!(
                    "packages[{index}] ({}): icon {e}; a placeholder is shown",
                    ident(pkg, index)
                ));
                None
            }
        });
        let languages = pkg.languages.iter().map(|c| language(c)).collect();
        cards.push(Card {
            pkg,
            index,
            title: non_empty(&pkg.title).unwrap_or_default(),
            url,
            icon,
            languages,
        });
    }
    let has_downloads = !home.readers.is_empty()
        || cards.iter().any(|c| {
            c.pkg
                .download
                .as_ref()
                .is_some_and(|d| non_empty(&d.url).is_some())
        });

    // The hotspot's language at the root (what a visitor gets without asking), and every
    // language in its own folder (where nixspot-portal sends visitors reading another).
    let configured = site_language(home, &mut site.warnings);
    let mut copies = vec![(configured, String::new())];
    copies.extend(UiLang::ALL.iter().map(|l| (*l, format!("{}/", l.tag()))));
    let mut problems = Vec::new();
    for (n, (lang, prefix)) in copies.iter().enumerate() {
        let mut ctx = Ctx {
            cat: Catalog::new(*lang),
            prefix: prefix.clone(),
            copies: copies.clone(),
        };
        // Every copy meets the same content problems: report them once.
        let mut copy_warnings = Vec::new();
        write_copy(
            home,
            &cards,
            has_downloads,
            &mut ctx,
            &mut site.files,
            &mut copy_warnings,
        );
        if n == 0 {
            site.warnings.extend(copy_warnings);
        }
        problems.extend(ctx.cat.problems());
    }
    problems.sort();
    problems.dedup();
    site.warnings.extend(problems);
    site
}

/// The language of the site's root: home.yaml's `metadata.language` when the dashboard
/// speaks it, else English (with a warning when one was asked for).
fn site_language(home: &Home, warnings: &mut Vec<String>) -> UiLang {
    let Some(tag) = non_empty(&home.metadata.language) else {
        return UiLang::En;
    };
    UiLang::from_tag(tag).unwrap_or_else(|| {
        warnings.push(format!(
            "metadata.language {tag:?}: the dashboard has no catalogue for it (it has {}); English is used",
            UiLang::ALL.map(UiLang::tag).join(", ")
        ));
        UiLang::En
    })
}

/// Writes the four pages of one copy of the site into `files`.
fn write_copy(
    home: &Home,
    cards: &[Card<'_>],
    has_downloads: bool,
    ctx: &mut Ctx,
    files: &mut BTreeMap<String, Vec<u8>>,
    warnings: &mut Vec<String>,
) {
    let fqdn = non_empty(&home.metadata.fqdn);
    let main_only = |main: String| Body {
        main,
        ..Body::default()
    };
    let home_body = home_page(home, cards, has_downloads, ctx);
    let download_body = main_only(download_page(home, cards, fqdn, warnings, ctx));
    let about_body = main_only(about_page(home, has_downloads, ctx));
    let blocked_body = main_only(blocked_page(home, fqdn, ctx));
    let titles = [
        None,
        Some(ctx.cat.text("nav-downloads", &[])),
        Some(ctx.cat.text("nav-about", &[])),
        Some(ctx.cat.text("blocked-title", &[])),
    ];
    let pages = [
        (Page::Home, home_body),
        (Page::Download, download_body),
        (Page::About, about_body),
        (Page::Blocked, blocked_body),
    ];
    let mut footer_warnings = Vec::new();
    for ((page, body), title) in pages.into_iter().zip(titles) {
        let html = layout(
            home,
            page,
            title.as_deref(),
            &body,
            has_downloads,
            &mut footer_warnings,
            ctx,
        );
        files.insert(
            format!("{}{}index.html", ctx.prefix, page.dir()),
            html.into_bytes(),
        );
    }
    footer_warnings.dedup();
    warnings.extend(footer_warnings);
}

fn ident(pkg: &Package, index: usize) -> String {
    non_empty(&pkg.ident)
        .or(non_empty(&pkg.title))
        .map_or_else(|| format!("#{index}"), str::to_owned)
}

/// Decodes a base64 PNG (a `data:` URI prefix and line breaks are tolerated).
fn decode_png(b64: &str) -> Result<Vec<u8>, String> {
    let b64 = b64.trim();
    let b64 = b64.strip_prefix("data:image/png;base64,").unwrap_or(b64);
    let clean: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let png = base64::engine::general_purpose::STANDARD
        .decode(clean.as_bytes())
        .map_err(|e| format!("is not valid base64 ({e})"))?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err("is not a PNG image".to_owned());
    }
    Ok(png)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A token safe in ids, class lists and CSS selectors.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_owned();
    if out.is_empty() {
        // Non-Latin names: a stable token from the bytes.
        hex(&Sha256::digest(s.as_bytes()))[..8].to_owned()
    } else {
        out
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Human-readable size, SI units (what phones and download managers show), in English.
pub fn human_size(bytes: u64) -> String {
    size_in(bytes, &mut Catalog::new(UiLang::En))
}

/// [`human_size`] in the catalogue's language (its units and decimal separator).
fn size_in(bytes: u64, cat: &mut Catalog) -> String {
    const UNITS: [&str; 5] = ["size-kb", "size-mb", "size-gb", "size-tb", "size-pb"];
    if bytes < 1000 {
        return cat.text("size-bytes", &[("n", Arg::Text(&bytes.to_string()))]);
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let decimals = if value < 10.0 { 1 } else { 0 };
    let number = format!("{value:.decimals$}").replace('.', &cat.text("decimal-separator", &[]));
    cat.text(
        UNITS.get(unit).unwrap_or(&"size-pb"),
        &[("n", Arg::Text(&number))],
    )
}

fn lang_attr(l: &Language) -> String {
    l.tag
        .as_ref()
        .map(|t| format!(" lang=\"{}\"", esc(t)))
        .unwrap_or_default()
}

fn languages_line(langs: &[Language]) -> String {
    langs
        .iter()
        .map(|l| format!("<span{}>{}</span>", lang_attr(l), esc(&l.name)))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn icon_html(card: &Card<'_>, root: &str) -> String {
    match &card.icon {
        Some(src) => format!(
            "<img class=\"ic\" src=\"{root}{}\" alt=\"\" width=\"48\" height=\"48\">",
            esc(src)
        ),
        None => {
            let letter: String = card
                .title
                .chars()
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .collect();
            format!(
                "<span class=\"ic ph\" aria-hidden=\"true\">{}</span>",
                esc(&letter)
            )
        }
    }
}

/// A page's content: `before` goes first in <body> (filter targets), `css` is extra style.
#[derive(Default)]
struct Body {
    before: String,
    main: String,
    css: String,
}

/// index.html content: banner, language filter, categories of package cards.
fn home_page(home: &Home, cards: &[Card<'_>], has_downloads: bool, ctx: &mut Ctx) -> Body {
    let mut body = String::new();
    let mut css = String::new();
    let default_name = ctx.cat.text("default-name", &[]);
    let name = non_empty(&home.metadata.name).unwrap_or(&default_name);
    let _ = write!(
        body,
        "<h1>{}</h1>",
        ctx.cat.esc("home-heading", &[("name", Arg::Text(name))])
    );
    if !home.readers.is_empty() && has_downloads {
        let _ = write!(
            body,
            "<aside class=\"banner\" aria-label=\"{}\"><p>{}</p>\
             <a class=\"btn\" href=\"download/#readers\">{}</a></aside>",
            ctx.cat.esc("readers-banner-label", &[]),
            ctx.cat.esc("readers-banner-text", &[]),
            ctx.cat.esc("readers-banner-button", &[]),
        );
    }
    if cards.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            ctx.cat.esc("home-empty", &[])
        );
        return Body {
            main: body,
            css,
            ..Body::default()
        };
    }

    // Languages, ordered by display name then code.
    let mut langs: BTreeMap<String, (String, Language)> = BTreeMap::new();
    for l in cards.iter().flat_map(|c| c.languages.iter()) {
        let key = slug(&l.code);
        langs
            .entry(key.clone())
            .or_insert_with(|| (l.name.to_lowercase(), l.clone()));
    }
    let mut langs: Vec<(String, Language)> = langs.into_iter().map(|(k, (_, l))| (k, l)).collect();
    langs.sort_by(|a, b| (a.1.name.to_lowercase(), &a.0).cmp(&(b.1.name.to_lowercase(), &b.0)));

    if langs.len() > 1 {
        // Filtering without JavaScript: each language link targets an empty element that
        // precedes <main>; `:target ~ main` rules hide the other packages.
        let _ = write!(
            body,
            "<nav class=\"lf\" aria-label=\"{}\"><ul><li><a href=\"#all\">{}</a></li>",
            ctx.cat.esc("filter-label", &[]),
            ctx.cat.esc("filter-all", &[])
        );
        for (key, l) in &langs {
            let _ = write!(
                body,
                "<li><a href=\"#l-{key}\"{}>{}</a></li>",
                lang_attr(l),
                esc(&l.name)
            );
            let _ = writeln!(
                css,
                "#l-{key}:target~main .pkg:not([data-l~=\"{key}\"]),#l-{key}:target~main .cat:not(:has([data-l~=\"{key}\"])){{display:none}}\
                 #l-{key}:target~main .lf a[href=\"#l-{key}\"]{{background:var(--acc);color:var(--on);border-color:var(--acc)}}"
            );
        }
        body.push_str("</ul></nav>");
        css.push_str(".lt:target~main .n{display:none}\n.lt:target~main .lf a[href=\"#all\"]{background:var(--card);color:var(--fg);border-color:var(--line)}\n.lf a[href=\"#all\"]{background:var(--acc);color:var(--on);border-color:var(--acc)}\n");
    }

    // Categories in order of first appearance; uncategorised packages last.
    let mut order: Vec<Option<String>> = Vec::new();
    for c in cards {
        let cat = c.pkg.category().map(str::to_owned);
        if cat.is_some() && !order.contains(&cat) {
            order.push(cat);
        }
    }
    if cards.iter().any(|c| c.pkg.category().is_none()) {
        order.push(None);
    }
    let mut used_ids: Vec<String> = Vec::new();
    let other = if order.len() == 1 {
        ctx.cat.text("category-all", &[])
    } else {
        ctx.cat.text("category-other", &[])
    };
    let sections: Vec<(String, String, Vec<&Card<'_>>)> = order
        .iter()
        .map(|cat| {
            let title = cat.as_deref().map_or_else(|| other.clone(), capitalize);
            let mut id = format!("cat-{}", slug(cat.as_deref().unwrap_or("other")));
            let base = id.clone();
            let mut n = 2;
            while used_ids.contains(&id) {
                id = format!("{base}-{n}");
                n += 1;
            }
            used_ids.push(id.clone());
            let members = cards
                .iter()
                .filter(|c| c.pkg.category().map(str::to_owned) == *cat)
                .collect();
            (id, title, members)
        })
        .collect();

    if sections.len() > 1 {
        let _ = write!(
            body,
            "<nav aria-label=\"{}\"><ul class=\"toc\">",
            ctx.cat.esc("categories-label", &[])
        );
        for (id, title, members) in &sections {
            let count = members.len();
            let _ = write!(
                body,
                "<li><a href=\"#{id}\">{}</a><span class=\"n\"><span class=\"vh\">(</span>{count}<span class=\"vh\"> {})</span></span></li>",
                esc(title),
                ctx.cat
                    .esc("category-count", &[("count", Arg::Count(count as u64))])
            );
        }
        body.push_str("</ul></nav>");
    }
    let languages_label = ctx.cat.esc("languages-label", &[]);
    let icon_root = ctx.site_root(Page::Home);
    for (id, title, members) in &sections {
        let _ = write!(
            body,
            "<section class=\"cat\" id=\"{id}\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{}</h2><ul class=\"grid\">",
            esc(title)
        );
        for c in members {
            let keys: Vec<String> = c.languages.iter().map(|l| slug(&l.code)).collect();
            let desc = non_empty(&c.pkg.description)
                .map(|d| format!("<p>{}</p>", esc(d)))
                .unwrap_or_default();
            let langs_line = if c.languages.is_empty() {
                String::new()
            } else {
                format!(
                    "<p><span class=\"vh\">{languages_label} </span>{}</p>",
                    languages_line(&c.languages)
                )
            };
            let _ = write!(
                body,
                "<li class=\"pkg\" data-l=\"{}\" data-i=\"{}\"><div class=\"card\">{}<div><h3><a href=\"{}\">{}</a></h3>{desc}{langs_line}</div></div></li>",
                esc(&keys.join(" ")),
                c.index,
                icon_html(c, &icon_root),
                esc(&c.url),
                esc(c.title)
            );
        }
        body.push_str("</ul></section>");
    }
    // The targets must be siblings placed before <main>, so they are emitted by `layout`.
    let before = if langs.len() > 1 {
        std::iter::once("<span id=\"all\"></span>".to_owned())
            .chain(
                langs
                    .iter()
                    .map(|(key, _)| format!("<span class=\"lt\" id=\"l-{key}\"></span>")),
            )
            .collect()
    } else {
        String::new()
    };
    Body {
        before,
        main: body,
        css,
    }
}

fn download_page(
    home: &Home,
    cards: &[Card<'_>],
    fqdn: Option<&str>,
    warnings: &mut Vec<String>,
    ctx: &mut Ctx,
) -> String {
    let mut body = format!("<h1>{}</h1>", ctx.cat.esc("nav-downloads", &[]));
    let download = ctx.cat.esc("download-button", &[]);
    let readers: Vec<String> = home
        .readers
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let url = non_empty(&r.download_url)?;
            let url = match expand_url(url, fqdn) {
                Ok(u) => u,
                Err(e) => {
                    warnings.push(format!("readers[{i}]: download_url {e}; reader hidden"));
                    return None;
                }
            };
            let platform = non_empty(&r.platform).unwrap_or("other");
            let name = match platform.to_ascii_lowercase().as_str() {
                "windows" => "Windows".to_owned(),
                "android" => "Android".to_owned(),
                "macos" => "macOS".to_owned(),
                "linux" => "Linux".to_owned(),
                "ios" => "iOS".to_owned(),
                _ => capitalize(platform),
            };
            let mut detail = Vec::new();
            if let Some(f) = non_empty(&r.filename) {
                detail.push(esc(f));
            }
            if let Some(s) = r.size {
                detail.push(esc(&size_in(s, &mut ctx.cat)));
            }
            let reader = ctx.cat.esc("reader-for", &[("platform", Arg::Text(&name))]);
            Some(format!(
                "<li class=\"dl\"><div><strong>{reader}</strong><p>{}</p></div><a class=\"btn\" href=\"{}\">{download}<span class=\"vh\"> {reader}</span></a></li>",
                detail.join(" · "),
                esc(&url),
            ))
        })
        .collect();
    if !readers.is_empty() {
        let _ = write!(
            body,
            "<section id=\"readers\" aria-labelledby=\"readers-h\"><h2 id=\"readers-h\">{}</h2>\
             <p>{}</p><ul class=\"grid r\">{}</ul></section>",
            ctx.cat.esc("readers-heading", &[]),
            ctx.cat.esc("readers-text", &[]),
            readers.concat()
        );
    }
    let mut items = String::new();
    for c in cards {
        let Some(d) = &c.pkg.download else { continue };
        let Some(url) = non_empty(&d.url) else {
            continue;
        };
        let url = match expand_url(url, fqdn) {
            Ok(u) => u,
            Err(e) => {
                warnings.push(format!(
                    "packages[{}] ({}): download.url {e}; download hidden",
                    c.index,
                    ident(c.pkg, c.index)
                ));
                continue;
            }
        };
        let mut detail = Vec::new();
        if !c.languages.is_empty() {
            detail.push(languages_line(&c.languages));
        }
        if let Some(s) = d.size {
            detail.push(esc(&size_in(s, &mut ctx.cat)));
        }
        let _ = write!(
            items,
            "<li class=\"dl\" data-i=\"{}\"><div><strong>{}</strong><p>{}</p></div><a class=\"btn\" href=\"{}\">{download}<span class=\"vh\"> {}</span></a></li>",
            c.index,
            esc(c.title),
            detail.join(" · "),
            esc(&url),
            esc(c.title)
        );
    }
    let _ = write!(
        body,
        "<section aria-labelledby=\"files-h\"><h2 id=\"files-h\">{}</h2>",
        ctx.cat.esc("files-heading", &[])
    );
    if items.is_empty() {
        let _ = write!(
            body,
            "<p class=\"empty\">{}</p>",
            ctx.cat.esc("files-empty", &[])
        );
    } else {
        let _ = write!(body, "<ul class=\"grid one\">{items}</ul>");
    }
    body.push_str("</section>");
    body
}

fn about_page(home: &Home, has_downloads: bool, ctx: &mut Ctx) -> String {
    let this = ctx.cat.text("this-hotspot", &[]);
    let name = non_empty(&home.metadata.name).unwrap_or(&this);
    let name_arg = [("name", Arg::Text(name))];
    let home_link = format!(
        "<a href=\"../\">{}</a>",
        ctx.cat.esc("about-home-link", &[])
    );
    let mut body = format!(
        "<h1>{}</h1><p>{}</p><h2>{}</h2><ol><li>{}</li><li>{}</li>",
        ctx.cat.esc("about-heading", &name_arg),
        ctx.cat.esc("about-intro", &name_arg),
        ctx.cat.esc("about-how", &[]),
        ctx.cat.esc("about-step-connect", &[]),
        ctx.cat
            .html("about-step-open", &[], &[("home-link", home_link)]),
    );
    if has_downloads {
        let link = format!(
            "<a href=\"../download/\">{}</a>",
            ctx.cat.esc("nav-downloads", &[])
        );
        let _ = write!(
            body,
            "<li>{}</li>",
            ctx.cat
                .html("about-step-keep", &[], &[("downloads-link", link)])
        );
    }
    let _ = write!(
        body,
        "</ol><h2>{}</h2><dl>",
        ctx.cat.esc("about-details", &[])
    );
    if let Some(f) = non_empty(&home.metadata.fqdn) {
        let _ = write!(
            body,
            "<dt>{}</dt><dd>{}</dd>",
            ctx.cat.esc("about-address", &[]),
            esc(f)
        );
    }
    if let Some(v) = non_empty(&home.metadata.version) {
        let _ = write!(
            body,
            "<dt>{}</dt><dd>{}</dd>",
            ctx.cat.esc("about-version", &[]),
            esc(v)
        );
    }
    let visible = home.packages.iter().filter(|p| p.is_visible()).count();
    let _ = write!(
        body,
        "<dt>{}</dt><dd>{visible}</dd></dl>",
        ctx.cat.esc("about-packages", &[])
    );
    body
}

fn blocked_page(home: &Home, fqdn: Option<&str>, ctx: &mut Ctx) -> String {
    // Served under other host names (`/catch/external` of the content server), so the
    // way back is absolute when the FQDN is known.
    let home_url = fqdn.map_or_else(
        || format!("/{}", ctx.prefix),
        |f| format!("//{f}/{}", ctx.prefix),
    );
    let this = ctx.cat.text("this-hotspot", &[]);
    let name = non_empty(&home.metadata.name).unwrap_or(&this);
    let link = format!(
        "<a href=\"{}\">{}</a>",
        esc(&home_url),
        ctx.cat.esc("blocked-home-link", &[])
    );
    format!(
        "<h1>{}</h1><p>{}</p><p>{}</p>",
        ctx.cat.esc("blocked-heading", &[]),
        ctx.cat.esc("blocked-text", &[("name", Arg::Text(name))]),
        ctx.cat.html("blocked-back", &[], &[("home-link", link)]),
    )
}

/// Wraps a page body into the shared document: head with inline CSS, skip link, header
/// and navigation, main, footer with the language switcher.
fn layout(
    home: &Home,
    page: Page,
    title: Option<&str>,
    body: &Body,
    has_downloads: bool,
    warnings: &mut Vec<String>,
    ctx: &mut Ctx,
) -> String {
    let root = page.root();
    let site_root = ctx.site_root(page);
    let lang = ctx.cat.lang();
    let default_name = ctx.cat.text("default-name", &[]);
    let name = non_empty(&home.metadata.name).unwrap_or(&default_name);
    let doc_title = match title {
        Some(t) => format!("{t} · {name}"),
        None => name.to_owned(),
    };
    let (targets, extra_css) = (&body.before, &body.css);
    let body = &body.main;
    // The blocked page is served on other host names: links go to the dashboard's.
    let base = match (page, non_empty(&home.metadata.fqdn)) {
        (Page::Blocked, Some(f)) => format!("//{f}/{}", ctx.prefix),
        _ => root.to_owned(),
    };
    // The same page in each language's own copy (the root copy repeats one of them).
    let switch_base = match (page, non_empty(&home.metadata.fqdn)) {
        (Page::Blocked, Some(f)) => format!("//{f}/"),
        _ => site_root.clone(),
    };
    let mut alternates = String::new();
    let mut switcher = String::new();
    for (l, prefix) in ctx.copies.iter().filter(|(_, p)| !p.is_empty()) {
        let href = esc(&format!("{switch_base}{prefix}{}", page.dir()));
        let tag = l.tag();
        let _ = write!(
            alternates,
            "<link rel=\"alternate\" hreflang=\"{tag}\" href=\"{href}\">"
        );
        let current = if *l == lang {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            switcher,
            "<li><a href=\"{href}\" hreflang=\"{tag}\" lang=\"{tag}\"{current}>{}</a></li>",
            l.autonym()
        );
    }
    let mut html = String::with_capacity(body.len() + CSS.len() + 2048);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{}</title><link rel=\"icon\" href=\"data:,\">{alternates}<style>{CSS}{extra_css}</style></head>\
         <body>{targets}<a class=\"skip\" href=\"#content\">{}</a>\
         <header><div class=\"w top\"><a class=\"brand\" href=\"{base}\">{}</a>\
         <nav aria-label=\"{}\"><ul>",
        esc(&doc_title),
        ctx.cat.esc("skip-link", &[]),
        esc(name),
        ctx.cat.esc("nav-main", &[]),
    );
    let mut nav = vec![(Page::Home, ctx.cat.esc("nav-home", &[]))];
    if has_downloads {
        nav.push((Page::Download, ctx.cat.esc("nav-downloads", &[])));
    }
    nav.push((Page::About, ctx.cat.esc("nav-about", &[])));
    for (p, label) in nav {
        let current = if p == page {
            " aria-current=\"page\""
        } else {
            ""
        };
        let href = p.dir();
        let _ = write!(
            html,
            "<li><a href=\"{base}{href}\"{current}>{label}</a></li>"
        );
    }
    let _ = write!(
        html,
        "</ul></nav></div></header><main id=\"content\" class=\"w\" tabindex=\"-1\">{body}</main><footer><div class=\"w\">"
    );
    let fqdn = non_empty(&home.metadata.fqdn);
    let protected = ctx.cat.esc("password-protected", &[]);
    let links: Vec<String> = home
        .links
        .iter()
        .enumerate()
        .filter_map(|(i, l)| {
            let label = non_empty(&l.label)?;
            let url = match expand_url(non_empty(&l.url)?, fqdn) {
                Ok(u) => u,
                Err(e) => {
                    warnings.push(format!("links[{i}]: url {e}; link hidden"));
                    return None;
                }
            };
            let lock = if non_empty(&l.icon).is_some() {
                format!("{LOCK_SVG}<span class=\"vh\">{protected} </span>")
            } else {
                String::new()
            };
            Some(format!(
                "<li><a href=\"{}\">{lock}{}</a></li>",
                esc(&url),
                esc(label)
            ))
        })
        .collect();
    if !links.is_empty() {
        let _ = write!(
            html,
            "<nav aria-label=\"{}\"><ul class=\"links\">{}</ul></nav>",
            ctx.cat.esc("nav-more", &[]),
            links.concat()
        );
    }
    let _ = write!(
        html,
        "<nav aria-label=\"{}\"><ul class=\"links\">{switcher}</ul></nav>",
        ctx.cat.esc("nav-language", &[])
    );
    if let Some(note) = non_empty(&home.metadata.footer_note) {
        let _ = write!(html, "<p>{}</p>", esc(note));
    }
    let powered = match non_empty(&home.metadata.version) {
        Some(v) => ctx
            .cat
            .esc("powered-by-version", &[("version", Arg::Text(v))]),
        None => ctx.cat.esc("powered-by", &[]),
    };
    let _ = writeln!(html, "<p>{powered}</p></div></footer></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(999), "999 bytes");
        assert_eq!(human_size(152_865), "153 kB");
        assert_eq!(human_size(1_500_000), "1.5 MB");
        assert_eq!(human_size(97_000_000_000), "97 GB");
        assert_eq!(human_size(999_999), "1.0 MB");
    }

    #[test]
    fn escaping_and_slugs() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(slug("Wikipédia FR"), "wikip-dia-fr");
        assert_eq!(slug("!!").len(), 8);
        assert_eq!(capitalize("éducation"), "Éducation");
    }
}
