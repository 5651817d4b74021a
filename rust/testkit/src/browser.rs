//! A real browser for the web UIs' tests: Debian's `chromedriver` (package
//! `chromium-driver`) on a free loopback port, driving headless Chromium through
//! WebDriver ([`fantoccini`]), with JavaScript on or off and a chosen language; and the
//! checks every page's screenshot gets ([`check_layout`]): not blank, no horizontal
//! scrolling at the width it was taken at, kept as a test artefact.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use fantoccini;
use fantoccini::{Client, ClientBuilder};

/// `chromedriver` listening on 127.0.0.1, killed when dropped.
pub struct ChromeDriver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Browser profiles of the sessions (deleted with the driver).
    profiles: tempfile::TempDir,
}

/// How a browser session is set up.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whether pages may run JavaScript (off: the no-JavaScript run of a UI).
    pub javascript: bool,
    /// The browser's language (`Accept-Language` and UI), e.g. `en` or `fr`.
    pub language: String,
    /// The window's width and height in CSS pixels.
    pub size: (u32, u32),
}

impl Default for Session {
    fn default() -> Session {
        Session {
            javascript: true,
            language: "en".into(),
            size: DESKTOP,
        }
    }
}

/// A phone's viewport (portrait).
pub const PHONE: (u32, u32) = (360, 800);
/// A desktop's viewport.
pub const DESKTOP: (u32, u32) = (1280, 800);

impl ChromeDriver {
    /// Starts `chromedriver` on a free port and waits until it answers (another process
    /// may take the port in between: then it retries on another).
    pub fn start() -> ChromeDriver {
        let profiles = tempfile::tempdir().expect("a directory for browser profiles");
        for _ in 0..10 {
            let port = crate::free_port();
            let mut child = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver is required (apt-get install chromium-driver)");
            // Readiness, not timing: poll until it accepts connections or exits.
            for _ in 0..400 {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return ChromeDriver {
                        child,
                        url: format!("http://127.0.0.1:{port}"),
                        profiles,
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("chromedriver did not start (10 ports tried)");
    }

    /// A new headless Chromium session set up as `session` says (own profile).
    pub async fn session(&self, session: &Session) -> Client {
        let profile = tempfile::tempdir_in(self.profiles.path())
            .expect("a browser profile directory")
            .keep();
        let (width, height) = session.size;
        let mut prefs = serde_json::json!({
            "intl": {"accept_languages": session.language},
        });
        if !session.javascript {
            prefs["profile"] =
                serde_json::json!({"managed_default_content_settings": {"javascript": 2}});
        }
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new",
                    // Tests run as root in CI, where Chromium's sandbox cannot start.
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--hide-scrollbars",
                    "--force-device-scale-factor=1",
                    format!("--lang={}", session.language),
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": prefs,
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("a Chromium session through {}: {e}", self.url));
        resize(&client, session.size).await;
        client
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sets the viewport (not the window, whose frame headless Chromium may count) to
/// `width`×`height` CSS pixels, through the DevTools protocol of chromedriver.
pub async fn resize(client: &Client, (width, height): (u32, u32)) {
    let command = CdpCommand {
        method: "Emulation.setDeviceMetricsOverride",
        params: serde_json::json!({
            "width": width,
            "height": height,
            "deviceScaleFactor": 1,
            "mobile": width < 600,
        }),
    };
    client
        .issue_cmd(command)
        .await
        .unwrap_or_else(|e| panic!("resizing the viewport to {width}x{height}: {e}"));
}

/// A DevTools protocol command sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct CdpCommand {
    method: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({"cmd": self.method, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// How long an element may take to appear: a bound on readiness that only keeps a
/// broken page from hanging a test, long enough for a loaded CI machine (fantoccini's
/// default of 30 s was not: a workspace test run timed out on an order button).
pub const PATIENCE: Duration = Duration::from_secs(180);

/// Element `id`, once the page has it (within [`PATIENCE`]).
pub async fn element(
    browser: &Client,
    id: &str,
) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
    browser
        .wait()
        .at_most(PATIENCE)
        .for_element(fantoccini::Locator::Id(id))
        .await
}

/// Replaces the text of field `id` with `text`; panics naming the field.
pub async fn fill(browser: &Client, id: &str, text: &str) {
    let field = element(browser, id)
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
    field.clear().await.unwrap_or_else(|e| panic!("#{id}: {e}"));
    field
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"));
}

/// Clicks element `id`; panics naming it.
pub async fn click(browser: &Client, id: &str) {
    element(browser, id)
        .await
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking #{id}: {e}"));
}

/// The page's path (`/orders/…`).
pub async fn path_of(browser: &Client) -> String {
    browser
        .current_url()
        .await
        .expect("the URL")
        .path()
        .to_string()
}

/// Tries of a wait: [`PATIENCE`] in all.
const TRIES: u32 = (PATIENCE.as_millis() / POLL_PERIOD.as_millis()) as u32;

/// Waits until the page's path satisfies `reached` (a form's submission may still be
/// navigating when the click returns) and returns it; else panics saying it never
/// reached `what`, where the page still is, and its source.
pub async fn wait_path(browser: &Client, what: &str, reached: impl Fn(&str) -> bool) -> String {
    let seen = poll_until(TRIES, async || {
        let path = path_of(browser).await;
        match reached(&path) {
            true => Ok(path),
            false => Err(path),
        }
    })
    .await;
    match seen {
        Ok(path) => path,
        Err(last) => panic!(
            "never reached {what} (still at {last}): {}",
            browser.source().await.unwrap_or_default()
        ),
    }
}

/// Polls element `id`, read by `read`, until `ready` says so: the page may update it
/// after a script's request (readiness, not timing: the bound only keeps a broken page
/// from hanging the test). Else what was last read (`None`: no such element).
pub async fn wait_element<T>(
    browser: &Client,
    id: &str,
    read: impl AsyncFn(&fantoccini::elements::Element) -> T,
    ready: impl Fn(&T) -> bool,
) -> Result<(), Option<T>> {
    poll_until(TRIES, async || {
        let seen = match browser.find(fantoccini::Locator::Id(id)).await {
            Ok(element) => Some(read(&element).await),
            Err(_) => None,
        };
        match seen {
            Some(value) if ready(&value) => Ok(()),
            other => Err(other),
        }
    })
    .await
}

/// Waits until `attribute` of element `id` is `wanted`.
pub async fn wait_attribute(browser: &Client, id: &str, attribute: &str, wanted: &str) {
    let read = async |e: &fantoccini::elements::Element| e.attr(attribute).await.ok().flatten();
    let seen = wait_element(browser, id, read, |v| v.as_deref() == Some(wanted)).await;
    if let Err(last) = seen {
        let last = last.flatten();
        panic!("#{id}[{attribute}] never became {wanted:?} (last {last:?})");
    }
}

/// Waits until the text of element `id` contains `wanted` (any case).
pub async fn wait_text(browser: &Client, id: &str, wanted: &str) {
    let read = async |e: &fantoccini::elements::Element| e.text().await.unwrap_or_default();
    let seen = wait_element(browser, id, read, |t| t.to_lowercase().contains(wanted)).await;
    if let Err(last) = seen {
        let last = last.unwrap_or_default();
        panic!("#{id} never contained {wanted:?} (last {last:?})");
    }
}

/// How long [`poll_until`] waits between two looks.
pub const POLL_PERIOD: Duration = Duration::from_millis(100);

/// Looks at something with `probe` at most `tries` times, [`POLL_PERIOD`] apart, until
/// it is ready: `probe` gives `Ok(what)` then, else `Err(what it saw)`. Returns the
/// first `Ok`, or the last `Err` when every try saw it unready. For readiness, not
/// timing: the bound only keeps a broken page from hanging the test.
pub async fn poll_until<T, Seen>(
    tries: u32,
    mut probe: impl AsyncFnMut() -> Result<T, Seen>,
) -> Result<T, Seen> {
    let mut left = tries.max(1);
    loop {
        let seen = match probe().await {
            Ok(ready) => return Ok(ready),
            Err(seen) => seen,
        };
        left -= 1;
        if left == 0 {
            return Err(seen);
        }
        tokio::time::sleep(POLL_PERIOD).await;
    }
}

/// Where a test suite keeps its artefacts (screenshots): `target/test-artefacts/<suite>`
/// of the workspace (`$CARGO_TARGET_DIR/test-artefacts/<suite>` when that is set).
pub fn artefacts_dir(suite: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("test-artefacts").join(suite);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Takes a screenshot of the current page, writes it to `path` (PNG), and checks it:
/// the page is not blank (at least 16 colours, the most common one under 99.8 % of
/// the pixels) and fits the viewport's width (no horizontal scrolling). `javascript`: whether
/// the page's width can be measured by a script (not in a no-JavaScript session).
pub async fn check_layout(client: &Client, path: &Path, javascript: bool) {
    let png = client
        .screenshot()
        .await
        .unwrap_or_else(|e| panic!("screenshot for {}: {e}", path.display()));
    std::fs::write(path, &png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (width, height, most_common_share, colours) = colour_stats(&png, path);
    // A sparse page on a wide screen is ~99 % background, yet its text and borders
    // (anti-aliased) give hundreds of colours; a blank or error-less empty page has a
    // handful.
    assert!(
        colours >= 16 && most_common_share < 0.998,
        "{}: the page looks blank ({colours} colours, the most common on {:.1} % of {width}x{height} pixels)",
        path.display(),
        most_common_share * 100.0
    );
    if javascript {
        let measured = client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("measuring the page for {}: {e}", path.display()));
        let scroll_width = measured[0].as_u64().unwrap_or(u64::MAX);
        let inner_width = measured[1].as_u64().unwrap_or(0);
        assert!(
            scroll_width <= inner_width,
            "{}: the page is {scroll_width} px wide in a {inner_width} px viewport (horizontal scrolling)",
            path.display()
        );
    }
}

/// Width, height, share of the most common colour, number of distinct colours.
fn colour_stats(png: &[u8], path: &Path) -> (u32, u32, f64, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{}: not a PNG: {e}", path.display()));
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut pixels)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let channels = info.color_type.samples();
    let mut counts = std::collections::HashMap::<&[u8], usize>::new();
    for pixel in pixels[..info.buffer_size()].chunks_exact(channels) {
        *counts.entry(pixel).or_default() += 1;
    }
    let total = (info.width as usize * info.height as usize).max(1);
    let most = counts.values().copied().max().unwrap_or(0);
    (
        info.width,
        info.height,
        most as f64 / total as f64,
        counts.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `future` on a runtime of this thread, as the tests that use the kit do.
    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    #[test]
    fn polls_until_ready_or_out_of_tries() {
        let mut looks = 0;
        let ready = block_on(poll_until(5, async || {
            looks += 1;
            if looks == 3 {
                Ok("ready")
            } else {
                Err(looks)
            }
        }));
        assert_eq!((ready, looks), (Ok("ready"), 3));
        let mut looks = 0;
        let never: Result<(), u32> = block_on(poll_until(4, async || {
            looks += 1;
            Err(looks)
        }));
        assert_eq!(never, Err(4), "the last look, after every try");
    }
}
