//! The generated site: content, determinism, size, discovery on real ZIMs, the CLI, and
//! rendering in a real browser (Debian's headless chromium).

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use nixspot_dashboard::{
    discover, generate, human_id, render, GenerateOptions, Home, LinkTemplates,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/zim/"
    ))
    .join(name)
}

const WIKIBOOKS: &str = "withns_wikibooks_be_all_nopic_2017-02.zim";
const SMALL: &str = "withns_small.zim";

fn icon_b64() -> String {
    let zim = nixspot_zim::Archive::open(fixture(SMALL)).unwrap();
    let png = zim.read("I/favicon.png").unwrap().data;
    base64::engine::general_purpose::STANDARD.encode(png)
}

/// A home.yaml like offspot's builder writes, with `extra` more generated packages.
fn demo_yaml(extra: usize) -> String {
    let icon = icon_b64();
    let mut y = format!(
        r#"metadata:
  name: Riverside Hotspot
  fqdn: riverside.offspot
  version: 1.4.2
  footer_note: Offline content for the Riverside school.
packages:
- ident: kiwix:wikipedia_fr_all:maxi
  kind: zim
  title: Wikipédia
  description: L'encyclopédie libre, en français, avec images.
  languages: [fra]
  tags: [_category:wikipedia, wikipedia, _ftindex:yes]
  url: //browse.{{fqdn}}/viewer#wikipedia_fr_all_maxi_2024-05
  icon: {icon}
  download: {{url: "//zim-download.{{fqdn}}/wikipedia_fr_all_maxi_2024-05.zim", size: 41234567890}}
- ident: kiwix:wikipedia_en_all:maxi
  kind: zim
  title: Wikipedia
  description: The free encyclopedia that anyone can edit.
  languages: [eng]
  tags: [_category:wikipedia]
  url: //browse.{{fqdn}}/viewer#wikipedia_en_all_maxi_2024-01
  download: {{url: "{{zim-download-fqdn}}/wikipedia_en_all_maxi_2024-01.zim", size: 102000000000}}
- ident: ted.com:ted_mul_all:maxi
  kind: zim
  title: TED Talks <3
  description: Ideas worth spreading & subtitles in many languages.
  languages: [eng, fra, spa]
  tags: [_category:ted]
  url: //browse.{{fqdn}}/viewer#ted_mul_all
- ident: file-manager.offspot.kiwix.org
  kind: app
  title: File Manager
  description: Share and download documents.
  languages: eng
  url: "{{resources-fqdn}}/"
- ident: old:removed:x
  kind: zim
  title: Removed ZIM
  url: //browse.{{fqdn}}/viewer#removed
  disabled: true
- ident: no-url
  kind: files
  title: Without URL
- ident: bad-icon
  kind: files
  title: Bad Icon
  url: https://example.org/
  icon: "not base64!"
"#
    );
    for i in 0..extra {
        y.push_str(&format!(
            "- ident: gen:{i}\n  kind: zim\n  title: Generated package number {i}\n  description: A generated package used to measure how large the pages get with many packages.\n  languages: [{}]\n  tags: [_category:cat{}]\n  url: //browse.{{fqdn}}/viewer#gen_{i}\n  download: {{url: \"//zim-download.{{fqdn}}/gen_{i}.zim\", size: {}}}\n",
            ["eng", "fra", "spa", "ara", "swa"][i % 5],
            i % 7,
            1_000_000 * (i as u64 + 1)
        ));
    }
    y.push_str(
        r#"readers:
- {platform: android, download_url: "//{fqdn}/readers/kiwix.apk", filename: kiwix-3.11.apk, size: 41000000}
- {platform: windows, download_url: "//{fqdn}/readers/kiwix.zip", filename: kiwix-desktop_windows_x64.zip, size: 120000000}
- {platform: macos, download_url: "//{fqdn}/readers/kiwix.dmg", filename: kiwix-macos.dmg, size: 89000000}
- {platform: linux, download_url: "//{fqdn}/readers/kiwix.appimage", filename: kiwix-desktop_x86_64.appimage, size: 140000000}
links:
- {label: Admin, url: "//admin.{fqdn}/", icon: lock}
- {label: Kiwix, url: "https://kiwix.org/"}
- {label: Evil, url: "javascript:alert(1)"}
"#,
    );
    y
}

fn page(site: &nixspot_dashboard::Site, path: &str) -> String {
    String::from_utf8(site.files[path].clone()).unwrap()
}

#[test]
fn renders_all_pages_with_expected_content() {
    let home = Home::parse(&demo_yaml(0), Path::new("home.yaml")).unwrap();
    let site = render(&home);
    let files: Vec<&str> = site.files.keys().map(String::as_str).collect();
    // Four pages at the root (the hotspot's language) and in each language's folder.
    assert_eq!(files.len(), 1 + 4 * 4, "{files:?}");
    for prefix in ["", "en/", "fr/", "es/"] {
        for p in [
            "index.html",
            "download/index.html",
            "about/index.html",
            "blocked/index.html",
        ] {
            assert!(
                files.contains(&format!("{prefix}{p}").as_str()),
                "{prefix}{p}"
            );
        }
    }
    // No catalogue problem.
    assert!(
        !site.warnings.iter().any(|w| w.contains("locales/")),
        "{:?}",
        site.warnings
    );
    // Content problems are reported once, not once per language.
    assert_eq!(
        site.warnings
            .iter()
            .filter(|w| w.contains("links[2]"))
            .count(),
        1,
        "{:?}",
        site.warnings
    );
    let icon = files.iter().find(|f| f.starts_with("icons/")).unwrap();
    assert!(site.files[*icon].starts_with(b"\x89PNG"));

    let index = page(&site, "index.html");
    assert!(index.contains(
        "<a href=\"//browse.riverside.offspot/viewer#wikipedia_fr_all_maxi_2024-05\">Wikipédia</a>"
    ));
    assert!(index.contains("<a href=\"//resources.riverside.offspot/\">File Manager</a>"));
    assert!(index.contains("TED Talks &lt;3"));
    assert!(index.contains("Ideas worth spreading &amp; subtitles"));
    assert!(
        !index.contains("Removed ZIM"),
        "disabled packages are hidden"
    );
    assert!(
        !index.contains("Without URL"),
        "packages without url are hidden"
    );
    assert!(index.contains(&format!(
        "<img class=\"ic\" src=\"{icon}\" alt=\"\" width=\"48\" height=\"48\">"
    )));
    // Categories from `_category:` tags, in order of appearance, uncategorised last.
    let w = index
        .find("<h2 id=\"cat-wikipedia-h\">Wikipedia</h2>")
        .unwrap();
    let t = index.find("<h2 id=\"cat-ted-h\">Ted</h2>").unwrap();
    let o = index
        .find("<h2 id=\"cat-other-h\">Other content</h2>")
        .unwrap();
    assert!(w < t && t < o);
    assert!(!index.contains("_ftindex"), "hidden tags never show");
    // Language filter: links, targets, CSS rules.
    for (code, name) in [("fra", "Français"), ("eng", "English"), ("spa", "Español")] {
        assert!(
            index.contains(&format!("<a href=\"#l-{code}\" lang=")),
            "{code}"
        );
        assert!(index.contains(&format!(">{name}</a>")), "{name}");
        assert!(index.contains(&format!("<span class=\"lt\" id=\"l-{code}\"></span>")));
        assert!(index.contains(&format!(
            "#l-{code}:target~main .pkg:not([data-l~=\"{code}\"])"
        )));
    }
    assert!(index.contains("data-l=\"eng fra spa\""));
    // Landmarks and accessibility basics.
    for needle in [
        "<html lang=\"en\">",
        "<a class=\"skip\" href=\"#content\">",
        "<header>",
        "<nav aria-label=\"Main\">",
        "<main id=\"content\"",
        "<footer>",
        "aria-current=\"page\">Home</a>",
        ":focus-visible",
        "<meta name=\"viewport\"",
    ] {
        assert!(index.contains(needle), "{needle}");
    }
    // Readers banner and footer links, with the lock; javascript: links are refused.
    assert!(index.contains("href=\"download/#readers\""));
    assert!(index.contains("<a href=\"//admin.riverside.offspot/\"><svg class=\"lock\""));
    assert!(index.contains("<a href=\"https://kiwix.org/\">Kiwix</a>"));
    assert!(!index.contains("javascript:"));
    assert!(site
        .warnings
        .iter()
        .any(|w| w.contains("links[2]") && w.contains("javascript")));
    assert!(site
        .warnings
        .iter()
        .any(|w| w.contains("bad-icon") && w.contains("not valid base64")));
    assert!(index.contains("Offline content for the Riverside school."));
    assert!(index.contains("version 1.4.2"));
    // No external resources: every src/href is relative, protocol-relative to the
    // hotspot, a fragment, or one of the configured links.
    for attr in index.split(" src=\"").skip(1) {
        assert!(attr.starts_with("icons/"), "{attr}");
    }
    assert!(!index.contains("<script"));
    assert!(!index.contains("<link rel=\"stylesheet\""));

    let dl = page(&site, "download/index.html");
    assert!(dl.contains("<section id=\"readers\""));
    for (name, href, size) in [
        ("Android", "//riverside.offspot/readers/kiwix.apk", "41 MB"),
        ("Windows", "//riverside.offspot/readers/kiwix.zip", "120 MB"),
        ("macOS", "//riverside.offspot/readers/kiwix.dmg", "89 MB"),
        (
            "Linux",
            "//riverside.offspot/readers/kiwix.appimage",
            "140 MB",
        ),
    ] {
        assert!(dl.contains(&format!("Kiwix for {name}")), "{name}");
        assert!(dl.contains(&format!("href=\"{href}\"")), "{href}");
        assert!(dl.contains(size), "{size}");
    }
    assert!(
        dl.contains("href=\"//zim-download.riverside.offspot/wikipedia_fr_all_maxi_2024-05.zim\"")
    );
    assert!(
        dl.contains("href=\"//zim-download.riverside.offspot/wikipedia_en_all_maxi_2024-01.zim\"")
    );
    assert!(dl.contains("41 GB") && dl.contains("102 GB"));
    assert!(dl.contains("aria-current=\"page\">Downloads</a>"));
    assert!(dl.contains("href=\"../about/\""));

    let blocked = page(&site, "blocked/index.html");
    assert!(blocked.contains("href=\"//riverside.offspot/\""));
    assert!(blocked.contains("This link leads to the Internet"));
    let about = page(&site, "about/index.html");
    assert!(about.contains("<dd>riverside.offspot</dd>"));
    assert!(about.contains("<dt>Content packages</dt><dd>5</dd>"));
}

#[test]
fn output_is_deterministic_and_small() {
    let yaml = demo_yaml(60);
    let home = Home::parse(&yaml, Path::new("home.yaml")).unwrap();
    let a = render(&home);
    let b = render(&Home::parse(&yaml, Path::new("home.yaml")).unwrap());
    assert_eq!(a, b);
    for (path, bytes) in &a.files {
        if path.ends_with(".html") {
            assert!(bytes.len() < 100_000, "{path} is {} bytes", bytes.len());
        }
    }
    // With 67 packages every page stays under 100 KB; the demo's four pages together do
    // (in each of the four copies of the site).
    let small = render(&Home::parse(&demo_yaml(0), Path::new("home.yaml")).unwrap());
    assert!(small.pages_size() < 4 * 100_000, "{}", small.pages_size());
    let root_pages: usize = small
        .files
        .iter()
        .filter(|(p, _)| {
            p.ends_with(".html") && !["en/", "fr/", "es/"].iter().any(|l| p.starts_with(l))
        })
        .map(|(_, b)| b.len())
        .sum();
    assert!(root_pages < 100_000, "{root_pages}");
    println!(
        "page sizes (demo, 5 visible packages): {:?}",
        small
            .files
            .iter()
            .filter(|(p, _)| p.ends_with(".html"))
            .map(|(p, b)| (p.as_str(), b.len()))
            .collect::<Vec<_>>()
    );
    println!(
        "index.html with 67 packages: {} bytes",
        a.files["index.html"].len()
    );

    // Written twice: identical trees.
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    nixspot_dashboard::write_site(&a, d1.path()).unwrap();
    nixspot_dashboard::write_site(&b, d2.path()).unwrap();
    assert_eq!(tree(d1.path()), tree(d2.path()));
    // Re-rendering with fewer icons removes the stale ones.
    let no_icons = render(&Home::parse("packages: []\n", Path::new("h")).unwrap());
    nixspot_dashboard::write_site(&no_icons, d1.path()).unwrap();
    assert_eq!(
        std::fs::read_dir(d1.path().join("icons")).unwrap().count(),
        0
    );
}

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn zim_dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        std::fs::copy(fixture(f), dir.path().join(f)).unwrap();
    }
    dir
}

#[test]
fn discovery_adds_updates_disables_and_keeps_order() {
    let zims = zim_dir_with(&[
        WIKIBOOKS,
        SMALL,
        "withns_invalid.offset_in_cluster.zim",
        "withns_invalid.smaller_than_header.zim",
    ]);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("home.yaml");
    std::fs::write(
        &config,
        r#"metadata:
  name: Test
  fqdn: t.offspot
  custom: kept
packages:
- ident: app.example
  kind: app
  title: App
  url: //app.{fqdn}/
- ident: "Kiwix:kiwix.wikibooks_be_all:"
  kind: zim
  title: My Wikibooks
  url: old
  download: {url: old, size: 1, checksum: abc}
  disabled: true
- ident: Kiwix:gone:maxi
  kind: zim
  title: Gone
  url: //browse.{fqdn}/viewer#gone
"#,
    )
    .unwrap();
    let tpl = LinkTemplates::default();
    let r = discover(&config, zims.path(), &tpl).unwrap();
    assert_eq!(r.added, ["=:withns_small:"]);
    assert_eq!(r.updated, ["Kiwix:kiwix.wikibooks_be_all:"]);
    assert_eq!(r.disabled, ["Kiwix:gone:maxi"]);
    assert!(r.written);
    // The bad-header file is skipped with a warning. The other invalid fixture opens
    // (its corruption is in a content cluster) and lists like offspot would list it.
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("withns_invalid.smaller_than_header.zim")),
        "{:?}",
        r.warnings
    );

    let home = Home::load(&config).unwrap();
    let idents: Vec<&str> = home
        .packages
        .iter()
        .map(|p| p.ident.as_deref().unwrap())
        .collect();
    assert_eq!(
        idents[..3],
        [
            "app.example",
            "Kiwix:kiwix.wikibooks_be_all:",
            "Kiwix:gone:maxi"
        ]
    );
    let wb = &home.packages[1];
    assert_eq!(
        wb.title.as_deref(),
        Some("My Wikibooks"),
        "user's title kept"
    );
    assert!(!wb.disabled);
    assert_eq!(
        wb.url.as_deref(),
        Some("//browse.{fqdn}/viewer#withns_wikibooks_be_all_nopic_2017-02")
    );
    let d = wb.download.as_ref().unwrap();
    assert_eq!(
        d.url.as_deref(),
        Some("//zim-download.{fqdn}/withns_wikibooks_be_all_nopic_2017-02.zim")
    );
    assert_eq!(d.size, Some(152_865));
    assert_eq!(wb.description.as_deref(), Some("З пляцоўкі Wikibooks"));
    assert_eq!(wb.languages, ["bel"]);
    assert_eq!(wb.tags, ["nopic"]);
    assert!(wb.icon.is_some());
    assert!(home.packages[2].disabled);
    let small = home
        .packages
        .iter()
        .find(|p| p.ident.as_deref() == Some("=:withns_small:"))
        .unwrap();
    assert_eq!(small.title.as_deref(), Some("=Test ZIM file"));
    assert_eq!(small.kind.as_deref(), Some("zim"));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("custom: kept"), "unknown keys survive");
    assert!(
        !text.contains("checksum: abc"),
        "a stale checksum is dropped"
    );

    // Idempotent: a second run changes nothing and does not rewrite.
    let r2 = discover(&config, zims.path(), &tpl).unwrap();
    assert!(!r2.written && r2.added.is_empty() && r2.updated.is_empty() && r2.disabled.is_empty());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    // No temporary files are left next to home.yaml.
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 1);

    // The wikibooks file disappears: its package is disabled, the order is unchanged.
    std::fs::remove_file(zims.path().join(WIKIBOOKS)).unwrap();
    let r3 = discover(&config, zims.path(), &tpl).unwrap();
    assert_eq!(r3.disabled, ["Kiwix:kiwix.wikibooks_be_all:"]);
    let home = Home::load(&config).unwrap();
    assert!(home.packages[1].disabled);
    assert_eq!(
        home.packages[1].ident.as_deref(),
        Some("Kiwix:kiwix.wikibooks_be_all:")
    );
}

#[test]
fn human_id_matches_reader_links() {
    assert_eq!(human_id(WIKIBOOKS), "withns_wikibooks_be_all_nopic_2017-02");
}

#[test]
fn generate_with_discovery_without_rewriting() {
    let zims = zim_dir_with(&[WIKIBOOKS]);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("home.yaml");
    let original = "metadata: {name: X, fqdn: x.offspot}\npackages: []\n";
    std::fs::write(&config, original).unwrap();
    let out = work.path().join("www");
    let r = generate(&GenerateOptions {
        config: config.clone(),
        out: out.clone(),
        zim_dir: Some(zims.path().to_path_buf()),
        templates: LinkTemplates::default(),
        update_config: false,
        language: None,
    })
    .unwrap();
    assert_eq!(r.discovery.unwrap().added.len(), 1);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains(
        "href=\"//browse.x.offspot/viewer#withns_wikibooks_be_all_nopic_2017-02\">Wikibooks</a>"
    ));
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nixspot-dashboard"))
}

#[test]
fn cli_generate_discover_and_errors() {
    let zims = zim_dir_with(&[WIKIBOOKS]);
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("home.yaml");
    std::fs::write(&config, demo_yaml(0)).unwrap();
    let out = work.path().join("www");
    let o = bin()
        .args(["generate", "--config"])
        .arg(&config)
        .arg("--zim-dir")
        .arg(zims.path())
        .arg("--out")
        .arg(&out)
        .env("KIWIX_READER_LINK_TPL", "//kiwix.{fqdn}/viewer#{zim_name}")
        .env("HOTSPOT_LANGUAGE", "es")
        .env_remove("DONT_UPDATE_PACKAGES")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let root = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        root.contains("<html lang=\"es\">"),
        "HOTSPOT_LANGUAGE sets the root's language"
    );
    assert!(out.join("fr/download/index.html").is_file());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: packages[6] (bad-icon)"),
        "{stderr}"
    );
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains(
        "href=\"//kiwix.riverside.offspot/viewer#withns_wikibooks_be_all_nopic_2017-02\""
    ));
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("Kiwix:kiwix.wikibooks_be_all:"));

    // Same templates as the generate run: nothing to change.
    let o = bin()
        .args(["discover", "--config"])
        .arg(&config)
        .arg("--zim-dir")
        .arg(zims.path())
        .env("KIWIX_READER_LINK_TPL", "//kiwix.{fqdn}/viewer#{zim_name}")
        .output()
        .unwrap();
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("0 added, 0 updated, 0 disabled (unchanged)"),
        "{stdout}"
    );

    // Bad YAML: non-zero exit, the file and the field in the message, nothing written.
    let bad = work.path().join("bad.yaml");
    std::fs::write(&bad, "packages:\n- title: {a: 1}\n").unwrap();
    let out2 = work.path().join("www2");
    let o = bin()
        .args(["generate", "--config"])
        .arg(&bad)
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("bad.yaml") && stderr.contains("packages[0].title"),
        "{stderr}"
    );
    assert!(!out2.exists());
    // Missing config.
    let o = bin()
        .args(["generate", "--config", "/nonexistent/home.yaml", "--out"])
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/home.yaml"));
}

/// Runs Debian's chromium headless with isolated, quiet settings.
fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let o = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run chromium (listed in .ci/install-deps): {e}"));
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let w = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(png[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn renders_in_a_real_browser() {
    let work = tempfile::tempdir().unwrap();
    let home = Home::parse(&demo_yaml(0), Path::new("home.yaml")).unwrap();
    let site = render(&home);
    let www = work.path().join("www");
    nixspot_dashboard::write_site(&site, &www).unwrap();
    let shots = work.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    for page in ["index.html", "download/index.html"] {
        let url = format!("file://{}", www.join(page).display());
        for (name, w, h) in [("phone", 390u32, 844u32), ("desktop", 1280, 800)] {
            let profile = tempfile::tempdir().unwrap();
            let shot = shots.join(format!("{}-{name}.png", page.replace('/', "_")));
            chromium(
                profile.path(),
                &[
                    &format!("--window-size={w},{h}"),
                    &format!("--screenshot={}", shot.display()),
                    &url,
                ],
            );
            let png = std::fs::read(&shot).unwrap();
            assert!(
                png.len() > 1000,
                "{} is {} bytes",
                shot.display(),
                png.len()
            );
            assert_eq!(png_size(&png), (w, h), "{}", shot.display());
        }
    }
    // The DOM as the browser built it: every visible package with its link.
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", www.join("index.html").display());
    let dom = String::from_utf8(chromium(profile.path(), &["--dump-dom", &url]).stdout).unwrap();
    let visible: Vec<_> = home.packages.iter().filter(|p| p.is_visible()).collect();
    assert_eq!(visible.len(), 5);
    let mut shown = 0;
    for p in &visible {
        let href =
            nixspot_dashboard::expand_url(p.url.as_deref().unwrap(), Some("riverside.offspot"))
                .unwrap();
        let title = p
            .title
            .as_deref()
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;");
        let link = format!("<a href=\"{href}\">{title}</a>");
        assert!(dom.contains(&link), "{link} missing from the rendered DOM");
        shown += 1;
    }
    assert_eq!(shown, 5);
    assert!(!dom.contains("Removed ZIM"));
    // The browser parsed the document into the landmarks the page declares.
    for needle in [
        "<main id=\"content\"",
        "<nav class=\"lf\" aria-label=\"Filter by language\">",
        "<footer>",
    ] {
        assert!(dom.contains(needle), "{needle}");
    }
    if let Ok(dir) = std::env::var("NIXSPOT_SCREENSHOT_DIR") {
        for e in std::fs::read_dir(&shots).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), Path::new(&dir).join(e.file_name())).unwrap();
        }
    }
}

/// Odd but well-typed input renders safely; ill-typed input is an error, never a panic.
#[test]
fn hostile_and_odd_input() {
    let odd = r#"
metadata: {name: "<script>alert(1)</script>", fqdn: "x.offspot\"><b", footer_note: "ملاحظة"}
packages:
- {title: "\"><img src=x onerror=alert(1)>", url: "//{fqdn}/\"onmouseover=x", languages: ["a b\"c", "", "ara"], tags: ["_category:<i>", "_category:second"]}
- {title: "مرحبا", url: "https://example.org/", languages: ara, tags: ["_category:"]}
- {title: "x", url: "{unknown}/a", description: "long"}
readers: [{platform: "<p>", download_url: "data:text/html,hi"}, {platform: ios}]
links: [{label: "", url: "//a"}, {label: "L"}]
"#;
    let home = Home::parse(odd, Path::new("odd.yaml")).unwrap();
    let site = render(&home);
    for (path, bytes) in &site.files {
        if !path.ends_with(".html") {
            continue;
        }
        let html = String::from_utf8(bytes.clone()).unwrap();
        assert!(!html.contains("<script"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(!html.contains("\"onmouseover"), "{path}");
        assert!(!html.contains("data:text/html"), "{path}");
        assert!(!html.contains("<i>") && !html.contains("<p>\""), "{path}");
    }
    let index = page(&site, "index.html");
    assert!(index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Odd input in every language: same escaping, and every message found.
    assert!(page(&site, "fr/index.html").contains("Bienvenue sur &lt;script&gt;"));
    assert!(
        !site.warnings.iter().any(|w| w.contains("locales/")),
        "{:?}",
        site.warnings
    );
    assert!(
        index.contains("href=\"//{unknown}/a\""),
        "unknown placeholders stay text"
    );
    assert!(site
        .warnings
        .iter()
        .any(|w| w.contains("readers[0]") && w.contains("data:")));

    for (text, needle) in [
        ("[]", "expected struct Home"),
        ("packages: [1]", "packages[0]"),
        ("packages: {a: 1}", "packages"),
        ("metadata: [x]", "metadata"),
        ("packages:\n- disabled: maybe", "packages[0].disabled"),
        (
            "packages:\n- download: {size: -4}",
            "packages[0].download.size",
        ),
        ("readers:\n- size: 1.5", "readers[0].size"),
        ("packages: [{title: a", "odd.yaml"),
    ] {
        let err = Home::parse(text, Path::new("odd.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("odd.yaml") && err.contains(needle),
            "{text:?}: {err}"
        );
    }
    for text in ["", "~", "{}", "metadata:\npackages:\nreaders:\nlinks:\n"] {
        let site = render(&Home::parse(text, Path::new("odd.yaml")).unwrap());
        assert!(page(&site, "index.html").contains("No content is available"));
        assert!(page(&site, "es/download/index.html").contains("Ningún contenido"));
        assert!(
            !site.warnings.iter().any(|w| w.contains("locales/")),
            "every message of the empty pages exists: {:?}",
            site.warnings
        );
    }
}

/// The demo's home.yaml for a hotspot whose language is `lang`.
fn demo_in(lang: &str) -> Home {
    let yaml = demo_yaml(0).replacen(
        "metadata:\n",
        &format!("metadata:\n  language: {lang}\n"),
        1,
    );
    Home::parse(&yaml, Path::new("home.yaml")).unwrap()
}

/// The hotspot's language at the root, each language in its folder: chrome translated,
/// content as the catalogue gives it, sizes in the language's units, links that stay in
/// the language's copy, and a switcher to the same page in the others.
#[test]
fn every_language_has_its_copy() {
    let site = render(&demo_in("fr"));
    assert!(
        !site.warnings.iter().any(|w| w.contains("locales/")),
        "{:?}",
        site.warnings
    );
    let root = page(&site, "index.html");
    assert_eq!(
        root,
        page(&site, "fr/index.html")
            .replace("=\"../icons/", "=\"icons/")
            .replace("href=\"../fr/\"", "href=\"fr/\"")
            .replace("href=\"../en/\"", "href=\"en/\"")
            .replace("href=\"../es/\"", "href=\"es/\""),
        "the root is the French copy"
    );
    for (prefix, lang, heading, filter, nav, count) in [
        (
            "fr/",
            "fr",
            "Bienvenue sur Riverside Hotspot",
            "Filtrer par langue",
            "Téléchargements",
            " contenus)",
        ),
        (
            "es/",
            "es",
            "Bienvenido a Riverside Hotspot",
            "Filtrar por idioma",
            "Descargas",
            " paquetes)",
        ),
        (
            "en/",
            "en",
            "Welcome to Riverside Hotspot",
            "Filter by language",
            "Downloads",
            " packages)",
        ),
    ] {
        let index = page(&site, &format!("{prefix}index.html"));
        assert!(
            index.starts_with(&format!("<!DOCTYPE html>\n<html lang=\"{lang}\">")),
            "{prefix}"
        );
        assert!(index.contains(&format!("<h1>{heading}</h1>")), "{prefix}");
        assert!(
            index.contains(&format!("aria-label=\"{filter}\"")),
            "{prefix}"
        );
        assert!(
            index.contains(&format!("<a href=\"./download/\">{nav}</a>")),
            "{prefix}"
        );
        assert!(index.contains(count), "{prefix}: {count}");
        // Content is not translated; icons are shared at the site's root.
        assert!(index.contains(">Wikipédia</a>") && index.contains("The free encyclopedia"));
        for attr in index.split(" src=\"").skip(1) {
            assert!(attr.starts_with("../icons/"), "{prefix}: {attr}");
        }
        // The switcher: the same page in each language, the current one marked.
        for other in ["en", "fr", "es"] {
            let current = if other == lang {
                " aria-current=\"true\""
            } else {
                ""
            };
            assert!(
                index.contains(&format!(
                    "<a href=\"../{other}/\" hreflang=\"{other}\" lang=\"{other}\"{current}>"
                )),
                "{prefix} → {other}"
            );
        }
        let about = page(&site, &format!("{prefix}about/index.html"));
        assert!(
            about.contains("<a href=\"../\">"),
            "{prefix}: home link inside the copy"
        );
        assert!(
            about.contains("href=\"../../es/about/\" hreflang=\"es\""),
            "{prefix}"
        );
        let blocked = page(&site, &format!("{prefix}blocked/index.html"));
        assert!(
            blocked.contains(&format!("href=\"//riverside.offspot/{prefix}\"")),
            "{prefix}"
        );
    }
    let dl = page(&site, "fr/download/index.html");
    assert!(dl.contains("Kiwix pour Android") && dl.contains("41 Mo") && dl.contains("41 Go"));
    assert!(dl.contains(">Télécharger<span class=\"vh\"> Wikipédia</span>"));
    let dl = page(&site, "es/download/index.html");
    assert!(dl.contains("Kiwix para Windows") && dl.contains("102 GB"));
    let about = page(&site, "fr/about/index.html");
    assert!(about
        .contains("Ouvrez <a href=\"../\">la page d&#39;accueil</a> et choisissez un contenu."));
    assert!(about.contains("<dt>Contenus</dt><dd>5</dd>"));
    assert!(
        page(&site, "es/index.html").contains("Con la tecnología de Kiwix Hotspot · versión 1.4.2")
    );
    assert!(page(&site, "index.html")
        .contains("<span class=\"vh\">Protégé par mot de passe\u{a0}: </span>"));

    // A language the dashboard does not speak: English at the root, with a warning.
    let site = render(&demo_in("de"));
    assert!(page(&site, "index.html").starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(
        site.warnings
            .iter()
            .any(|w| w.contains("metadata.language \"de\"")),
        "{:?}",
        site.warnings
    );
    // ISO 639-3, as content packages write languages.
    assert!(page(&render(&demo_in("spa")), "index.html").contains("<html lang=\"es\">"));
    assert_eq!(nixspot_dashboard::human_size(1_500_000), "1.5 MB");
}

/// The French copy as a browser shows it: DOM and screenshots.
#[test]
fn renders_in_french_in_a_real_browser() {
    let work = tempfile::tempdir().unwrap();
    let site = render(&demo_in("en"));
    let www = work.path().join("www");
    nixspot_dashboard::write_site(&site, &www).unwrap();
    let shots = work.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    for p in ["fr/index.html", "fr/download/index.html"] {
        let profile = tempfile::tempdir().unwrap();
        let shot = shots.join(format!("{}-phone.png", p.replace('/', "_")));
        chromium(
            profile.path(),
            &[
                "--window-size=390,844",
                &format!("--screenshot={}", shot.display()),
                &format!("file://{}", www.join(p).display()),
            ],
        );
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.len() > 1000,
            "{} is {} bytes",
            shot.display(),
            png.len()
        );
        assert_eq!(png_size(&png), (390, 844), "{}", shot.display());
    }
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", www.join("fr/index.html").display());
    let dom = String::from_utf8(chromium(profile.path(), &["--dump-dom", &url]).stdout).unwrap();
    for needle in [
        "<html lang=\"fr\">",
        "<h1>Bienvenue sur Riverside Hotspot</h1>",
        "<nav class=\"lf\" aria-label=\"Filtrer par langue\">",
        "<a href=\"#all\">Toutes les langues</a>",
        "aria-current=\"page\">Accueil</a>",
        "<a href=\"./download/\">Téléchargements</a>",
        "<a class=\"skip\" href=\"#content\">Aller au contenu</a>",
        "<a href=\"../es/\" hreflang=\"es\" lang=\"es\">Español</a>",
        "<a href=\"//browse.riverside.offspot/viewer#wikipedia_fr_all_maxi_2024-05\">Wikipédia</a>",
        "Propulsé par Kiwix Hotspot · version 1.4.2",
    ] {
        assert!(
            dom.contains(needle),
            "{needle} missing from the rendered DOM"
        );
    }
    // The icon resolves from the French folder: the browser loaded a real image.
    let icon = site.files.keys().find(|f| f.starts_with("icons/")).unwrap();
    assert!(dom.contains(&format!("src=\"../{icon}\"")));
    assert!(www.join(icon).is_file());
    if let Ok(dir) = std::env::var("NIXSPOT_SCREENSHOT_DIR") {
        for e in std::fs::read_dir(&shots).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), Path::new(&dir).join(e.file_name())).unwrap();
        }
    }
}
