//! The Imager's whole flow in a real browser with a real build: `nixspot imager serve`
//! as a process (SQLite in a temporary data folder, one embedded worker building with
//! the library pipeline of `nixspot build`), kiwix-serve as its catalog, a local HTTP
//! server for the book's download; headless Chromium over WebDriver
//! (`nixspot_testkit::browser`) signs in → configures (an invalid SSID is shown next
//! to its field) → picks the book from the catalog → orders → follows the build's
//! progress to ready → downloads the image with the browser's session. The image is
//! then read by `nixspot inspect` (and `debugfs`), and the order page's "Download as
//! Nix module" files (module and lock) built by `nixspot build` give the same sha256.
//!
//! Waits are on what the pages show (never on durations); their bounds only keep a
//! broken page or build from hanging the test. Screenshots are kept under
//! `target/test-artefacts/imager-real-build/`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nixspot_testkit::browser::fantoccini::{Client, Locator};
use nixspot_testkit::browser::{
    self, click, element, fill, wait_path, wait_text, ChromeDriver, Session, DESKTOP, PHONE,
};
use nixspot_testkit::catalog::{ZIM, ZIM_SHA256};
use serde_json::Value;
use support::imager::{build_module, Imager, World};
use support::{nixspot, run, sfdisk_partitions, sha256_file, text};

/// The password `Imager::user` gives its users.
const PASSWORD: &str = "a long password";

/// Screenshots of the current page at phone and desktop widths, checked (not blank,
/// no horizontal scrolling) and kept.
async fn screenshots(browser: &Client, name: &str) {
    let dir = browser::artefacts_dir("imager-real-build");
    for (size, width) in [(PHONE, "phone"), (DESKTOP, "desktop")] {
        browser::resize(browser, size).await;
        browser::check_layout(browser, &dir.join(format!("{name}-{width}.png")), true).await;
    }
    browser::resize(browser, DESKTOP).await;
}

/// The order page's state and, while building, its step (`None` while the page is
/// between two loads).
async fn order_state(browser: &Client) -> Option<(String, String)> {
    let state = browser
        .find(Locator::Id("order-state"))
        .await
        .ok()?
        .attr("data-state")
        .await
        .ok()??;
    let step = match browser.find(Locator::Id("order-step-name")).await {
        Ok(step) => step.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    Some((state, step.trim().to_string()))
}

/// `href` of the link `id`, fetched with the browser's session cookie into `into`.
fn fetch(href: &str, cookie: &str, into: &Path) {
    let out = run(Command::new("curl")
        .args(["-sS", "-L", "-H", cookie, "-o"])
        .arg(into)
        .args(["-w", "%{http_code}", href]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "GET {href}: {}",
        text(&out)
    );
}

async fn href(browser: &Client, id: &str) -> String {
    element(browser, id)
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .prop("href")
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .unwrap_or_else(|| panic!("#{id} has no href"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_orders_an_image_in_a_browser_and_the_module_builds_the_same_image() {
    // The servers, the base image in the worker's cache, and alice (whose token reads
    // the order through the API too).
    let (world, imager, alice) = tokio::task::spawn_blocking(|| {
        let world = World::new();
        // A short lease: the worker reports its step every 2 s.
        let imager = Imager::start_with(&world, "data", None, 1, "6s");
        let alice = imager.user("alice", &[]);
        (world, imager, alice)
    })
    .await
    .expect("starting the Imager");
    let base = imager.url.clone();
    let driver = ChromeDriver::start();
    let browser = driver.session(&Session::default()).await;

    // Sign in.
    browser
        .goto(&format!("{base}/sign-in"))
        .await
        .expect("the sign-in page");
    fill(&browser, "name", "alice").await;
    fill(&browser, "password", PASSWORD).await;
    click(&browser, "sign-in").await;
    wait_path(&browser, "the configurations", |p| {
        p.starts_with("/configurations")
    })
    .await;

    // A new configuration: an SSID longer than 32 bytes is refused by the modules, the
    // error shown next to the field (in its own `.field`), the input kept.
    click(&browser, "new-configuration").await;
    fill(&browser, "name", "School Library").await;
    let too_long = "an SSID far longer than thirty-two bytes";
    fill(&browser, "ssid", too_long).await;
    click(&browser, "save").await;
    let error = element(&browser, "ssid-error").await.expect("#ssid-error");
    let message = error.text().await.expect("the error's text");
    assert!(message.contains("32"), "the SSID's error: {message:?}");
    let ssid = element(&browser, "ssid").await.expect("#ssid");
    assert_eq!(
        ssid.attr("aria-invalid")
            .await
            .expect("aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        ssid.prop("value").await.expect("value").as_deref(),
        Some(too_long)
    );
    let beside = browser
        .execute(
            "var e = document.getElementById('ssid-error'), f = document.getElementById('ssid');\
             return e.closest('.field') !== null && e.closest('.field') === f.closest('.field');",
            vec![],
        )
        .await
        .expect("locating the error");
    assert_eq!(
        beside,
        Value::Bool(true),
        "the SSID's error is in the SSID's field"
    );
    screenshots(&browser, "configuration-error").await;
    fill(&browser, "ssid", "School Library").await;
    click(&browser, "save").await;
    let config_path = wait_path(&browser, "the saved configuration", |p| {
        p.starts_with("/configurations/") && p != "/configurations/new"
    })
    .await;

    // Content from kiwix-serve's catalog: search, add the book.
    click(&browser, "content-link").await;
    fill(&browser, "q", "wiki").await;
    click(&browser, "search").await;
    wait_text(&browser, "results", "wikibooks").await;
    click(&browser, "add-button-wikibooks_be_all_nopic").await;
    wait_text(&browser, "selection", "wikibooks").await;
    screenshots(&browser, "content").await;

    // Order; the page follows the build: building with a step, then ready.
    browser
        .goto(&format!("{base}{config_path}"))
        .await
        .expect("the configuration");
    click(&browser, "order").await;
    let order_path = wait_path(&browser, "the order", |p| p.starts_with("/orders/")).await;
    let order_id = order_path
        .trim_start_matches("/orders/")
        .trim_end_matches('/')
        .to_string();
    let mut steps = Vec::new();
    let mut seen = Vec::new();
    // A bound of an hour of polls, for a build on a loaded machine.
    let polls = Duration::from_secs(3600).as_millis() / browser::POLL_PERIOD.as_millis();
    for _ in 0..polls {
        if let Some((state, step)) = order_state(&browser).await {
            if seen.last() != Some(&state) {
                seen.push(state.clone());
            }
            if state == "building" && !step.is_empty() {
                if steps.is_empty() {
                    screenshots(&browser, "order-building").await;
                }
                if steps.last() != Some(&step) {
                    steps.push(step);
                }
            }
            if state == "ready" {
                break;
            }
            if state != "queued" && state != "building" {
                let reason = match browser.find(Locator::Id("order-error")).await {
                    Ok(e) => e.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!(
                    "the order ended {state}: {reason}\nserver log:\n{}",
                    imager.proc.log()
                );
            }
        }
        tokio::time::sleep(browser::POLL_PERIOD).await;
    }
    assert_eq!(
        seen.last().map(String::as_str),
        Some("ready"),
        "the order page never showed ready (states {seen:?}):\n{}",
        imager.proc.log()
    );
    // The steps the worker reports (after the server's own "claimed") reached the page.
    assert!(
        steps.iter().any(|s| s != "claimed"),
        "the order page showed no build step of the worker's while building (states \
         {seen:?}, steps {steps:?})"
    );
    eprintln!("order page: states {seen:?}, steps {steps:?}");
    screenshots(&browser, "order-ready").await;
    let page_sha = element(&browser, "order-sha256")
        .await
        .expect("#order-sha256")
        .text()
        .await
        .expect("the page's sha256")
        .trim()
        .to_string();

    // The image, the module and its lock, with the browser's own session.
    let cookie = browser
        .get_named_cookie(nixspot_imager::api::SESSION_COOKIE)
        .await
        .expect("the session cookie");
    let cookie = format!("Cookie: {}={}", cookie.name(), cookie.value());
    let image_href = href(&browser, "download").await;
    let module_href = href(&browser, "module-nix").await;
    let lock_href = href(&browser, "lock-json").await;
    browser.close().await.expect("closing the browser");

    tokio::task::block_in_place(|| {
        let image = world.path("ordered.img");
        fetch(&image_href, &cookie, &image);
        let sha = sha256_file(&image);
        assert_eq!(page_sha, sha, "the order page shows the image's sha256");
        let order = imager.state(&alice, &order_id);
        assert_eq!(order["state"], "ready", "{order}");
        assert_eq!(order["sha256"], sha.as_str(), "the API's sha256: {order}");

        // What the image holds, as `nixspot inspect` shows it.
        let inspect = run(nixspot().arg("inspect").arg(&image));
        assert!(
            inspect.status.success(),
            "nixspot inspect: {}",
            text(&inspect)
        );
        let shown = String::from_utf8_lossy(&inspect.stdout).into_owned();
        eprintln!("nixspot inspect:\n{shown}");
        let partitions = sfdisk_partitions(&image);
        for n in 1..=partitions.len() {
            assert!(shown.contains(&format!("  p{n}  ")), "p{n}:\n{shown}");
        }
        let zim_size = std::fs::metadata(ZIM).expect("the fixture ZIM").len();
        let zim = shown
            .lines()
            .find(|l| l.contains("/data/contents/zims/") && l.ends_with(".zim"))
            .unwrap_or_else(|| panic!("no ZIM in the image:\n{shown}"));
        let fields: Vec<&str> = zim.split_whitespace().collect();
        assert_eq!(
            fields.get(1),
            Some(&zim_size.to_string().as_str()),
            "the ZIM's size: {zim}"
        );
        assert!(
            shown.starts_with("partition table: Mbr\n"),
            "an MBR image:\n{shown}"
        );
        assert!(
            shown.contains("ssid: School Library"),
            "the SSID in offspot.yaml:\n{shown}"
        );
        // The ZIM's bytes, read back by debugfs from the data partition.
        let in_data = fields
            .last()
            .and_then(|p| p.strip_prefix("/data"))
            .expect("the ZIM's path");
        let data = partitions.last().expect("a data partition");
        let bytes = support::debugfs_cat(&image, data.start, in_data);
        use sha2::Digest as _;
        let read: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(read, ZIM_SHA256, "the ZIM in the image is the catalog's");

        // "Download as Nix module": `nixspot build` of the two files makes this image.
        let folder = world.path("downloaded-module");
        std::fs::create_dir_all(&folder).expect("a folder");
        let (module, lock) = (folder.join("module.nix"), folder.join("lock.json"));
        fetch(&module_href, &cookie, &module);
        fetch(&lock_href, &cookie, &lock);
        let nix = std::fs::read_to_string(&module).expect("module.nix");
        assert!(
            nix.contains("wikibooks_be_all:nopic") && nix.contains("School Library"),
            "{nix}"
        );
        assert_eq!(
            build_module(&world, &module, &lock, "from-module"),
            sha,
            "nixspot build of the order's module and lock makes the ordered image"
        );
    });
}
