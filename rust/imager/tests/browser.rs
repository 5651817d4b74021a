//! The web pages in a real browser: headless Chromium driven over WebDriver
//! (`chromedriver`, `nixspot_testkit::browser`), against a real server whose catalog is
//! kiwix-serve. Sign in → configure (an invalid SSID is shown next to its field) → pick
//! content from the catalog → order → the order page follows the job live (server-sent
//! events) to ready → download; screenshots at phone and desktop widths checked (not
//! blank, no horizontal scrolling) and kept under `target/test-artefacts/imager/`; the
//! French pages; and a browser without JavaScript completing an order.
//!
//! The job is built by a worker speaking the protocol over HTTP (as `tests/api.rs`
//! does), so the test exercises the pages, not the image builder. The same flow with a
//! real build (the `nixspot imager serve` binary and its embedded worker), the image
//! read by `nixspot inspect` and the order's "Download as Nix module" files built by
//! `nixspot build` to the same sha256, is `rust/cli/tests/imager_browser.rs`.

mod support;

use nixspot_imager::accounts::Role;
use nixspot_imager::server::Server;
use nixspot_testkit::browser::fantoccini::{Client, Locator};
use nixspot_testkit::browser::{
    self, click, element, fill, wait_attribute, wait_path, wait_text, ChromeDriver, Session,
    DESKTOP, PHONE,
};
use serde_json::json;
use support::{client, World};

const PASSWORD: &str = "a long password";

/// Waits until the page's path starts with `prefix` and returns it.
async fn wait_prefix(browser: &Client, prefix: &str) -> String {
    wait_path(browser, prefix, |path| path.starts_with(prefix)).await
}

/// Waits until a new configuration's form has been saved and returns the saved
/// configuration's path: `/configurations/new` itself also starts with
/// `/configurations/`, so [`wait_prefix`] could return before the submission navigated.
async fn wait_saved(browser: &Client) -> String {
    let saved = |path: &str| path.starts_with("/configurations/") && path != "/configurations/new";
    wait_path(browser, "the saved configuration", saved).await
}

/// Screenshots of the current page at phone and desktop widths, checked and kept.
async fn screenshots(browser: &Client, name: &str, javascript: bool) {
    let dir = browser::artefacts_dir("imager");
    for (size, width) in [(PHONE, "phone"), (DESKTOP, "desktop")] {
        browser::resize(browser, size).await;
        browser::check_layout(
            browser,
            &dir.join(format!("{name}-{width}.png")),
            javascript,
        )
        .await;
    }
}

async fn sign_in(browser: &Client, base: &str, name: &str) {
    browser
        .goto(&format!("{base}/sign-in"))
        .await
        .expect("the sign-in page");
    fill(browser, "name", name).await;
    fill(browser, "password", PASSWORD).await;
    click(browser, "sign-in").await;
    wait_prefix(browser, "/configurations").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_configures_orders_and_downloads_in_a_browser() {
    let world = World::new().await;
    let server = Server::start(world.settings("data")).await.expect("server");
    let base = server.url.clone();
    support::user(&server, "alice", Role::User, None).await;
    let worker = client(&server, "builder", Role::Worker, None).await;
    let driver = ChromeDriver::start();
    let browser = driver.session(&Session::default()).await;

    sign_in(&browser, &base, "alice").await;
    screenshots(&browser, "configurations", true).await;

    // An SSID longer than 32 bytes: the modules' error, next to the field, input kept.
    browser::resize(&browser, DESKTOP).await;
    click(&browser, "new-configuration").await;
    fill(&browser, "name", "School Library").await;
    let too_long = "an SSID far longer than thirty-two bytes";
    fill(&browser, "ssid", too_long).await;
    click(&browser, "save").await;
    let error = element(&browser, "ssid-error")
        .await
        .expect("the SSID's error next to it");
    assert!(!error.text().await.unwrap().is_empty());
    let ssid = element(&browser, "ssid").await.unwrap();
    assert_eq!(
        ssid.attr("aria-invalid").await.unwrap().as_deref(),
        Some("true")
    );
    assert_eq!(ssid.prop("value").await.unwrap().as_deref(), Some(too_long));
    assert!(
        ssid.attr("aria-describedby")
            .await
            .unwrap()
            .unwrap_or_default()
            .contains("ssid-error"),
        "the error is the field's description"
    );
    element(&browser, "error-summary")
        .await
        .expect("a summary of the errors");
    screenshots(&browser, "configuration-error", true).await;
    fill(&browser, "ssid", "School Library").await;
    click(&browser, "save").await;
    let config_path = wait_saved(&browser).await;

    // Content from the catalog: search, add.
    click(&browser, "content-link").await;
    fill(&browser, "q", "wiki").await;
    click(&browser, "search").await;
    element(&browser, "results").await.expect("search results");
    screenshots(&browser, "content", true).await;
    click(&browser, "add-button-wikibooks_be_all_nopic").await;
    wait_text(&browser, "selection", "wikibooks").await;
    element(&browser, "total")
        .await
        .expect("the total against card sizes");

    // Order; the page follows the job live.
    browser.goto(&format!("{base}{config_path}")).await.unwrap();
    click(&browser, "order").await;
    let order_path = wait_prefix(&browser, "/orders/").await;
    wait_attribute(&browser, "order-state", "data-state", "queued").await;
    screenshots(&browser, "order-queued", true).await;
    let (status, claimed) = worker
        .post("/api/v1/worker/claim", json!({"worker": "w1"}))
        .await;
    assert_eq!(status, 200, "{claimed}");
    let job = claimed["job"]["id"].as_str().unwrap().to_string();
    worker.heartbeat(&job, "assemble", Some(0.5)).await;
    wait_attribute(&browser, "order-state", "data-state", "building").await;
    let image = b"an image standing in for a built one\n".repeat(4096);
    let (status, uploaded) = worker
        .upload(&job, image.clone(), &support::sha256(&image))
        .await;
    assert_eq!(status, 200, "{uploaded}");
    wait_attribute(&browser, "order-state", "data-state", "ready").await;
    screenshots(&browser, "order-ready", true).await;

    // The download and the Nix module, with the browser's own session cookie.
    let cookie = browser
        .get_named_cookie(nixspot_imager::api::SESSION_COOKIE)
        .await
        .expect("the session cookie");
    let http = reqwest::Client::new();
    let fetch = |id: &'static str| {
        let browser = browser.clone();
        let http = http.clone();
        let cookie = format!("{}={}", cookie.name(), cookie.value());
        async move {
            let href = element(&browser, id)
                .await
                .unwrap_or_else(|e| panic!("#{id}: {e}"))
                .prop("href")
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("#{id} has no href"));
            let response = http
                .get(&href)
                .header(reqwest::header::COOKIE, cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "GET {href}");
            response.bytes().await.unwrap().to_vec()
        }
    };
    assert_eq!(fetch("download").await, image);
    let module = String::from_utf8(fetch("module-nix").await).unwrap();
    assert!(
        module.contains("wikibooks_be_all:nopic") && module.contains("School Library"),
        "{module}"
    );
    browser.close().await.unwrap();

    // French, from the browser's language.
    let french = Session {
        language: "fr".into(),
        ..Session::default()
    };
    let browser = driver.session(&french).await;
    browser.goto(&format!("{base}/sign-in")).await.unwrap();
    let lang = browser
        .find(Locator::Css("html"))
        .await
        .unwrap()
        .attr("lang")
        .await
        .unwrap();
    assert_eq!(lang.as_deref(), Some("fr"));
    sign_in(&browser, &base, "alice").await;
    browser.goto(&format!("{base}{order_path}")).await.unwrap();
    screenshots(&browser, "order-ready-fr", true).await;
    let source = browser.source().await.unwrap();
    assert!(source.contains("lang=\"fr\""), "the order page in French");
    browser.close().await.unwrap();

    // Without JavaScript: sign in, configure, add content, order.
    let no_script = Session {
        javascript: false,
        ..Session::default()
    };
    let browser = driver.session(&no_script).await;
    sign_in(&browser, &base, "alice").await;
    click(&browser, "new-configuration").await;
    fill(&browser, "name", "No Script").await;
    fill(&browser, "ssid", "No Script").await;
    click(&browser, "save").await;
    let no_script_path = wait_saved(&browser).await;
    click(&browser, "content-link").await;
    click(&browser, "add-button-wikibooks_be_all_nopic").await;
    // The form's submission navigates after the click returns: leaving the page before
    // it has come back would race it (its answer could replace the next page).
    wait_text(&browser, "selection", "wikibooks").await;
    browser
        .goto(&format!("{base}{no_script_path}"))
        .await
        .unwrap();
    click(&browser, "order").await;
    wait_prefix(&browser, "/orders/").await;
    let state = element(&browser, "order-state")
        .await
        .unwrap()
        .attr("data-state")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("queued"));
    screenshots(&browser, "order-queued-nojs", false).await;
    browser.close().await.unwrap();
    server.shutdown().await;
}
