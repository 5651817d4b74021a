//! What the Imager's tests share: a real kiwix-serve catalog whose book downloads come
//! from a local HTTP server (with MirrorBrain `.sha256`/`.meta4` files), an Imager
//! server in this process, users and tokens, and a small HTTP client.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::time::Duration;

use nixspot_imager::accounts::{self, Role, TokenKind, User};
use nixspot_imager::server::{Server, Settings};
use nixspot_testkit::catalog::Book;
use nixspot_testkit::KiwixServe;

/// The catalog and the downloads of one test.
pub struct World {
    /// Scratch space (data dirs, cache, served files).
    pub dir: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` serving `srv/`.
    pub downloads: String,
    /// kiwix-serve with one book, `wikibooks_be_all:nopic`.
    pub catalog: KiwixServe,
    _downloads_task: tokio::task::JoinHandle<()>,
}

impl World {
    /// Starts the download server and the catalog.
    pub async fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = Book {
            meta4: true,
            favicon: true,
        };
        book.write_downloads(&dir.path().join("srv"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let downloads = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .fallback_service(tower_http::services::ServeDir::new(dir.path().join("srv")));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let library = book.write_library(&dir.path().join("lib"), &downloads);
        let catalog = tokio::task::spawn_blocking(move || KiwixServe::start(&library))
            .await
            .expect("kiwix-serve");
        World {
            dir,
            downloads,
            catalog,
            _downloads_task: task,
        }
    }

    /// A path in the scratch space.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Settings for a server keeping its state in `data` (below the scratch space),
    /// listening on a free port, with this world's catalog and a private cache.
    pub fn settings(&self, data: &str) -> Settings {
        let mut settings = Settings::local(self.path(data));
        settings.listen = "127.0.0.1:0".parse().expect("addr");
        settings.catalog = Some(self.catalog.url.clone());
        settings.cache_root = Some(self.path("cache"));
        // The tests sweep explicitly (no timing).
        settings.sweep_interval = Duration::from_secs(3600);
        settings
    }
}

/// A user and an API token of theirs.
pub async fn user(server: &Server, name: &str, role: Role, email: Option<&str>) -> (User, String) {
    let db = &server.state.db;
    let user = accounts::add_user(db, name, "a long password", role, email)
        .await
        .expect("adding a user");
    let token = accounts::create_token(db, &user, TokenKind::Api, 3600)
        .await
        .expect("a token");
    (user, token)
}

/// A user and a client of the server sending an API token of theirs.
pub async fn client(server: &Server, name: &str, role: Role, email: Option<&str>) -> Api {
    let (_, token) = user(server, name, role, email).await;
    Api::new(&server.url, Some(&token))
}

/// An HTTP client of the server with one token.
#[derive(Clone)]
pub struct Api {
    /// `http://ADDR`.
    pub base: String,
    /// The bearer token (none: anonymous).
    pub token: Option<String>,
    /// The client (no redirects followed: a 302 is checked as such).
    pub http: reqwest::Client,
}

impl Api {
    /// A client of `base` sending `token`.
    pub fn new(base: &str, token: Option<&str>) -> Api {
        Api {
            base: base.to_string(),
            token: token.map(str::to_string),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    /// The same client (same token) of a server at another address (restarted).
    pub fn at(&self, base: &str) -> Api {
        Api {
            base: base.to_string(),
            ..self.clone()
        }
    }

    /// A request to `path` (below the base URL).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    /// Sends and returns the status and the body as JSON (`Null` when empty or not JSON).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Sends a request without a body and returns the response as it came.
    pub async fn response(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.request(method, path)
            .send()
            .await
            .expect("the server answers")
    }

    /// GET as JSON.
    pub async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(self.request(reqwest::Method::POST, path).json(&body))
            .await
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        self.send(self.request(reqwest::Method::PUT, path).json(&body))
            .await
    }

    /// Reports a job's step and progress as a worker does.
    pub async fn heartbeat(
        &self,
        job: &str,
        step: &str,
        progress: Option<f64>,
    ) -> (u16, serde_json::Value) {
        self.post(
            &format!("/api/v1/worker/jobs/{job}/heartbeat"),
            serde_json::json!({"step": step, "progress": progress}),
        )
        .await
    }

    /// Uploads an image for a job as a worker does.
    pub async fn upload(
        &self,
        job: &str,
        bytes: Vec<u8>,
        sha256: &str,
    ) -> (u16, serde_json::Value) {
        self.send(
            self.request(
                reqwest::Method::PUT,
                &format!("/api/v1/worker/jobs/{job}/image"),
            )
            .header("X-Image-Sha256", sha256)
            .body(bytes),
        )
        .await
    }
}

/// The sha256 of `bytes` in hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A configuration of the test catalog's book on nixspot's base.
pub fn school() -> serde_json::Value {
    serde_json::json!({"hotspot": {
        "name": "School Library",
        "domain": "library",
        "ap": {"ssid": "School Library"},
        "base": {"source": "nixspot:base"},
        "zims": {"wikibooks": {"package": "wikibooks_be_all:nopic"}},
    }})
}

/// Whether `path` exists.
pub fn exists(path: &Path) -> bool {
    path.exists()
}
