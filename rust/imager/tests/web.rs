//! The web pages, driven as a browser without JavaScript would: plain HTTP GETs and form
//! posts (urlencoded and multipart), cookies kept by hand, redirects checked as such.
//! Real components: kiwix-serve's catalog, the embedded worker building the image.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nixspot_imager::accounts::{self, Role};
use nixspot_imager::server::Server;
use reqwest::StatusCode;
use support::World;

/// Every page stays below this many bytes (without the catalog's icons).
const MAX_PAGE_BYTES: usize = 100 * 1024;

/// A browser without JavaScript: cookies, no automatic redirects, a language.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    accept_language: &'static str,
}

/// A page as it came.
struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        hidden(&self.body, "csrf")
    }
}

/// The value of the first `<input … name="NAME" value="…">` of `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("a closing quote") + start;
    html[start..end].to_string()
}

impl Browser {
    fn new(server: &Server, accept_language: &'static str) -> Browser {
        Browser {
            base: server.url.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            accept_language,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request
            .header("Cookie", cookie)
            .header("Accept-Language", self.accept_language)
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("ascii").to_string());
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().expect("ascii").to_string())
            .collect();
        for set in &set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        let body = response.text().await.expect("a body");
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// A `multipart/form-data` post (as a browser sends a form with a file input).
    async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, &str, &[u8])>,
    ) -> Page {
        let boundary = "----nixspot-test-boundary-7d3f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((name, file_name, bytes)) = file {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    /// Signs in through the form; checks the session cookie's attributes.
    async fn sign_in(&mut self, name: &str) {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        let csrf = form.csrf();
        let done = self
            .post(
                "/sign-in",
                &[
                    ("csrf", csrf.as_str()),
                    ("name", name),
                    ("password", "a long password"),
                    ("next", "/configurations"),
                ],
            )
            .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location.as_deref(), Some("/configurations"));
        let session = done
            .set_cookies
            .iter()
            .find(|c| c.starts_with("nixspot_session="))
            .expect("a session cookie");
        assert!(session.contains("HttpOnly"), "{session}");
        assert!(session.contains("SameSite=Lax"), "{session}");
        assert!(!session.contains("Secure"), "http: {session}");
    }

    /// Checks a page's weight and its `<html lang>`.
    fn check_page(page: &Page, lang: &str) {
        assert!(
            page.body.len() < MAX_PAGE_BYTES,
            "{} bytes: {}",
            page.body.len(),
            &page.body[..200]
        );
        assert!(
            page.body.contains(&format!("<html lang=\"{lang}\">")),
            "{}",
            &page.body[..300.min(page.body.len())]
        );
    }
}

/// The text between `id="ID"`'s `>` and the next `<`.
fn text_of(html: &str, id: &str) -> String {
    let marker = format!("id=\"{id}\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no #{id} in:\n{html}"));
    let open = html[start..].find('>').expect("tag end") + start + 1;
    let close = html[open..].find('<').expect("next tag") + open;
    html[open..close].to_string()
}

/// The id in a `Location: /PREFIX/ID` header.
fn id_in(location: Option<&str>, prefix: &str) -> String {
    location
        .and_then(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("{location:?}: expected {prefix}ID"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_flow_without_javascript() {
    // The embedded worker builds on `nixspot:base`: it needs nixspot's arm64 device
    // programs, the release builds `.ci/run` makes before the tests.
    if std::env::var_os("NIXSPOT_DEVICE_BINARIES").is_none() {
        let exe = std::env::current_exe().expect("the test's path");
        let target = exe
            .ancestors()
            .nth(3)
            .expect("target/debug/deps/TEST")
            .to_path_buf();
        let dir = target.join("aarch64-unknown-linux-musl/release");
        for program in ["nixspot-runtime", "nixspot-portal", "nixspot-dashboard"] {
            assert!(
                dir.join(program).is_file(),
                "{} is missing: run `cargo build --release --target aarch64-unknown-linux-musl \
                 -p nixspot-runtime -p nixspot-portal -p nixspot-dashboard` first (.ci/run does)",
                dir.join(program).display()
            );
        }
        std::env::set_var("NIXSPOT_DEVICE_BINARIES", dir);
    }
    let world = World::new().await;
    let mut server = Server::start(world.settings("web"))
        .await
        .expect("the server starts");
    server.start_workers(1).await.expect("a worker");
    let db = &server.state.db;
    for (name, role) in [
        ("alice", Role::User),
        ("bob", Role::User),
        ("root", Role::Admin),
    ] {
        accounts::add_user(db, name, "a long password", role, None)
            .await
            .expect("a user");
    }

    // Anonymous: pages send to the sign-in form.
    let mut alice = Browser::new(&server, "en-GB,en;q=0.9");
    let page = alice.get("/configurations").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/sign-in?next=%2Fconfigurations")
    );
    // A wrong password: the form again, 401, the name kept.
    let form = alice.get("/sign-in").await;
    Browser::check_page(&form, "en");
    let csrf = form.csrf();
    let wrong = alice
        .post(
            "/sign-in",
            &[("csrf", &csrf), ("name", "alice"), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.body.contains("id=\"sign-in-error\""),
        "{}",
        wrong.body
    );
    // A sign-in post without the form's token is refused.
    let forged = alice
        .post(
            "/sign-in",
            &[("name", "alice"), ("password", "a long password")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    alice.sign_in("alice").await;

    // A new configuration with an SSID too long: the error next to the field, what was
    // typed kept, a summary at the top.
    let new = alice.get("/configurations/new").await;
    Browser::check_page(&new, "en");
    let csrf = new.csrf();
    let too_long = "this SSID is far longer than thirty-two bytes";
    let refused = alice
        .post_multipart(
            "/configurations",
            &[
                ("csrf", &csrf),
                ("name", "School Library"),
                ("domain", "library"),
                ("ssid", too_long),
                ("open", "1"),
                ("base", "nixspot:base"),
            ],
            None,
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("id=\"error-summary\""),
        "{}",
        refused.body
    );
    let ssid_error = text_of(&refused.body, "ssid-error");
    assert!(ssid_error.contains("32"), "{}", refused.body);
    // The assertion's words, not the evaluator's trace around them.
    for noise in [
        "Failed assertions",
        "defined in",
        "default.nix",
        "hotspot.ap.ssid",
    ] {
        assert!(!ssid_error.contains(noise), "{noise:?} in {ssid_error:?}");
    }
    assert!(
        refused.body.contains(&format!(
            "id=\"ssid\" name=\"ssid\" type=\"text\" value=\"{too_long}\" aria-invalid=\"true\" aria-describedby=\"ssid-error ssid-hint\""
        )),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"School Library\""));
    // A logo that is not what its name says is refused next to the logo field.
    let gif = alice
        .post_multipart(
            "/configurations",
            &[
                ("csrf", &csrf),
                ("name", "School Library"),
                ("base", "nixspot:base"),
            ],
            Some(("logo", "logo.gif", b"GIF89a....")),
        )
        .await;
    assert_eq!(gif.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", gif.body);
    assert!(gif.body.contains("id=\"logo-error\""), "{}", gif.body);

    // Fixed: saved, then its page.
    let saved = alice
        .post_multipart(
            "/configurations",
            &[
                ("csrf", &csrf),
                ("name", "School Library"),
                ("domain", "library"),
                ("ssid", "School Library"),
                ("open", "1"),
                ("base", "nixspot:base"),
            ],
            Some(("logo", "logo.png", b"\x89PNG\r\n\x1a\nnot really a picture")),
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let config = id_in(saved.location.as_deref(), "/configurations/");
    let edit = alice.get(&format!("/configurations/{config}")).await;
    Browser::check_page(&edit, "en");
    assert!(edit.body.contains("value=\"School Library\""));

    // Content from kiwix-serve's catalog: search, add; the total names a card.
    let picker = alice
        .get(&format!("/configurations/{config}/content?q=wikibooks"))
        .await;
    assert_eq!(picker.status, StatusCode::OK, "{}", picker.body);
    Browser::check_page(&picker, "en");
    assert!(
        picker.body.contains("id=\"add-wikibooks_be_all_nopic\""),
        "{}",
        picker.body
    );
    let csrf = picker.csrf();
    let added = alice
        .post(
            &format!("/configurations/{config}/content"),
            &[
                ("csrf", &csrf),
                ("add", "wikibooks_be_all:nopic"),
                ("back", "q=wikibooks"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let picker = alice
        .get(&format!("/configurations/{config}/content"))
        .await;
    assert!(
        picker.body.contains("id=\"remove-wikibooks_be_all\""),
        "{}",
        picker.body
    );
    assert_eq!(text_of(&picker.body, "card"), "8GB", "{}", picker.body);

    // Order it (twice with the same form: one order), watch it, download it.
    let edit = alice.get(&format!("/configurations/{config}")).await;
    let csrf = edit.csrf();
    let key = hidden(&edit.body, "key");
    let ordered = alice
        .post(
            &format!("/configurations/{config}/order"),
            &[("csrf", &csrf), ("key", &key)],
        )
        .await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.body);
    let order = id_in(ordered.location.as_deref(), "/orders/");
    let again = alice
        .post(
            &format!("/configurations/{config}/order"),
            &[("csrf", &csrf), ("key", &key)],
        )
        .await;
    assert_eq!(again.location, ordered.location, "one order per form");
    let first = alice.get(&format!("/orders/{order}")).await;
    Browser::check_page(&first, "en");
    // The live page has events and a refresh that works without them.
    let state = hidden_attr(&first.body, "data-state");
    if state != "ready" {
        assert!(first
            .body
            .contains("<noscript><meta http-equiv=\"refresh\""));
        assert!(first
            .body
            .contains(&format!("data-events=\"/orders/{order}/events\"")));
        let events = alice
            .http
            .get(format!("{}/orders/{order}/events", server.url));
        let cookie = format!("nixspot_session={}", alice.cookies["nixspot_session"]);
        let mut events = events
            .header("Cookie", cookie)
            .send()
            .await
            .expect("events");
        assert_eq!(
            events.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        let chunk = events.chunk().await.expect("an event").expect("data");
        let text = String::from_utf8_lossy(&chunk);
        assert!(text.starts_with("event: state\ndata: {"), "{text}");
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    let page = loop {
        let page = alice.get(&format!("/orders/{order}")).await;
        match hidden_attr(&page.body, "data-state").as_str() {
            "ready" => break page,
            "failed" => panic!("the order failed: {}", page.body),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "not ready in time: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    Browser::check_page(&page, "en");
    assert_eq!(text_of(&page.body, "order-state"), "Ready");
    assert!(!page.body.contains("http-equiv"), "a settled page stays");
    assert!(page
        .body
        .contains(&format!("href=\"/api/v1/orders/{order}/image\"")));
    let image = alice.get(&format!("/api/v1/orders/{order}/image")).await;
    assert_eq!(image.status, StatusCode::OK);
    assert!(image.body.len() > 1024 * 1024, "an image");
    let module = alice.get(&format!("/orders/{order}/module.nix")).await;
    assert_eq!(module.status, StatusCode::OK);
    assert!(
        module.body.contains("wikibooks_be_all:nopic"),
        "{}",
        module.body
    );
    let lock = alice.get(&format!("/orders/{order}/lock.json")).await;
    assert_eq!(lock.status, StatusCode::OK);
    serde_json::from_str::<serde_json::Value>(&lock.body).expect("the lock is JSON");
    let orders = alice.get("/orders").await;
    Browser::check_page(&orders, "en");
    assert!(orders.body.contains(&format!("id=\"order-{order}\"")));

    // Every form refuses a post without its token, or with another browser's.
    let mut bob = Browser::new(&server, "en");
    bob.sign_in("bob").await;
    let bobs = bob.get("/configurations").await;
    let bob_csrf = hidden(&bobs.body, "csrf");
    for path in [
        format!("/configurations/{config}/delete"),
        format!("/configurations/{config}/copy"),
        format!("/configurations/{config}/order"),
        format!("/configurations/{config}/content"),
        format!("/orders/{order}/cancel"),
        "/sign-out".to_string(),
    ] {
        let none = alice.post(&path, &[("add", "x:y")]).await;
        assert_eq!(none.status, StatusCode::FORBIDDEN, "{path}: {}", none.body);
        let other = alice.post(&path, &[("csrf", &bob_csrf)]).await;
        assert_eq!(
            other.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            other.body
        );
    }
    let none = alice
        .post_multipart(&format!("/configurations/{config}"), &[("name", "x")], None)
        .await;
    assert_eq!(none.status, StatusCode::FORBIDDEN);

    // Another user sees neither the configuration nor the order (404), and is no
    // administrator (403).
    for path in [
        format!("/configurations/{config}"),
        format!("/configurations/{config}/content"),
        format!("/orders/{order}"),
        format!("/orders/{order}/events"),
        format!("/orders/{order}/module.nix"),
    ] {
        let page = bob.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let forbidden = bob.get("/admin").await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let list = bob.get("/configurations").await;
    assert!(!list.body.contains(&config));

    // The administrator sees users, every order and the embedded worker.
    let mut root = Browser::new(&server, "en");
    root.sign_in("root").await;
    let admin = root.get("/admin").await;
    assert_eq!(admin.status, StatusCode::OK);
    Browser::check_page(&admin, "en");
    assert!(admin.body.contains(&format!("id=\"admin-order-{order}\"")));
    assert!(admin.body.contains("embedded-"), "{}", admin.body);
    assert!(admin.body.contains(">bob<"));

    // Hostile input is text: a configuration named <script>.
    let hostile = "<script>alert(1)</script>";
    let copy_csrf = alice.get(&format!("/configurations/{config}")).await.csrf();
    let copied = alice
        .post(
            &format!("/configurations/{config}/copy"),
            &[("csrf", &copy_csrf)],
        )
        .await;
    assert_eq!(copied.status, StatusCode::SEE_OTHER, "{}", copied.body);
    let copy = id_in(copied.location.as_deref(), "/configurations/");
    let renamed = alice
        .post_multipart(
            &format!("/configurations/{copy}"),
            &[
                ("csrf", &copy_csrf),
                ("name", hostile),
                ("ssid", "Copy"),
                ("open", "1"),
                ("base", "nixspot:base"),
            ],
            None,
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.body);
    for path in [
        "/configurations".to_string(),
        format!("/configurations/{copy}"),
    ] {
        let page = alice.get(&path).await;
        assert!(!page.body.contains(hostile), "{path}: {}", page.body);
        assert!(
            page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{path}"
        );
    }
    let deleted = alice
        .post(
            &format!("/configurations/{copy}/delete"),
            &[("csrf", &copy_csrf)],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        alice.get(&format!("/configurations/{copy}")).await.status,
        StatusCode::NOT_FOUND
    );

    // French: from Accept-Language, and from the switch (which wins).
    let mut marie = Browser::new(&server, "fr-FR,fr;q=0.9,en;q=0.5");
    let page = marie.get("/sign-in").await;
    Browser::check_page(&page, "fr");
    assert!(page.body.contains("Se connecter"), "{}", page.body);
    let switched = alice.get("/language/fr?back=/orders").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location.as_deref(), Some("/orders"));
    let page = alice.get(&format!("/orders/{order}")).await;
    Browser::check_page(&page, "fr");
    assert_eq!(text_of(&page.body, "order-state"), "Prête");
    let away = alice.get("/language/en?back=//evil.example/").await;
    assert_eq!(away.location.as_deref(), Some("/"));

    // Signing out ends the session.
    let csrf = alice.get("/orders").await.csrf();
    let out = alice.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(alice.get("/orders").await.status, StatusCode::SEE_OTHER);

    // The assets are small.
    let css = alice.get("/assets/style.css").await;
    let js = alice.get("/assets/app.js").await;
    assert_eq!((css.status, js.status), (StatusCode::OK, StatusCode::OK));
    assert!(css.body.len() + js.body.len() < 16 * 1024);
    server.shutdown().await;
}

/// The value of the first attribute `name="…"` of `html`.
fn hidden_attr(html: &str, name: &str) -> String {
    let marker = format!("{name}=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').expect("a closing quote") + start;
    html[start..end].to_string()
}

#[test]
fn catalogues_are_complete() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    if let Err(e) = nixspot_i18n::check::check_catalogues(&dir, &nixspot_imager::web::LANGS, 100) {
        panic!("{e}");
    }
}
