//! Settings, start-up (database, migrations, storage, modules), the HTTP server and the
//! expiry sweeper.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nixspot_catalog::{Catalog, CatalogSource, Client};

use crate::accounts::{self, Role, TokenKind};
use crate::config::Policy;
use crate::db::Db;
use crate::error::ApiError;
use crate::evaluator::Evaluator;
use crate::local::{Local, LocalMode};
use crate::lock::Pinning;
use crate::mail::Mailer;
use crate::queue::{self, Ended};
use crate::storage::Storage;

/// Everything `nixspot imager serve` is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database, images and state [default `./imager-data`].
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The URL people reach the service at (links in e-mails) [default: the listen URL].
    pub public_url: Option<String>,
    /// `sqlite:PATH` or `postgres://…` [default: SQLite in the data dir].
    pub database: Option<String>,
    /// A directory or `s3://BUCKET?endpoint=…&region=…` [default: the data dir].
    pub storage: Option<String>,
    /// The Kiwix catalog's root URL [default: `$NIXSPOT_CATALOG`, else library.kiwix.org].
    pub catalog: Option<String>,
    /// `smtp://host:port` for the ready/failed e-mails [default: none sent].
    pub smtp: Option<String>,
    /// The e-mails' sender.
    pub mail_from: String,
    /// How long images are kept.
    pub image_ttl: Duration,
    /// Whether configurations may name content by URL.
    pub allow_urls: bool,
    /// The hotspot modules [default: the embedded ones].
    pub modules: Option<PathBuf>,
    /// The content cache shared with `nixspot build` [default: its default].
    pub cache_root: Option<PathBuf>,
    /// Seconds a worker's lease lasts without a heartbeat.
    pub lease_seconds: i64,
    /// How often expired images and lapsed leases are swept.
    pub sweep_interval: Duration,
    /// How long a presigned S3 download link is valid.
    pub link_ttl: Duration,
    /// The local app (`nixspot imager`): one user signed in through a one-time link, a
    /// loopback address only, finished images also written to a folder
    /// ([`crate::local`]) [default: none, a service with accounts].
    pub local: Option<LocalMode>,
    /// Where configurations are evaluated [default: in this process; `nixspot imager
    /// serve` uses a limited child process, [`Evaluator::current_program`]].
    pub evaluator: Evaluator,
    /// Where the embedded workers evaluate each job's module [default: in their own
    /// process, the server's; `nixspot imager serve` and the app use a limited child
    /// process, `nixspot imager evaluate-job`].
    pub job_evaluator: Option<nixspot_imager_worker::child::Child>,
}

impl Settings {
    /// The defaults: everything on this machine under `data_dir`.
    pub fn local(data_dir: PathBuf) -> Settings {
        Settings {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            database: None,
            storage: None,
            catalog: None,
            smtp: None,
            mail_from: "nixspot Imager <imager@localhost>".into(),
            image_ttl: Duration::from_secs(7 * 24 * 3600),
            allow_urls: false,
            modules: None,
            cache_root: None,
            lease_seconds: 30,
            sweep_interval: Duration::from_secs(30),
            link_ttl: Duration::from_secs(3600),
            local: None,
            evaluator: Evaluator::InProcess,
            job_evaluator: None,
        }
    }

    /// The database URL: the given one, else `sqlite:<data dir>/imager.db`.
    pub fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.data_dir.join("imager.db").display()))
    }
}

/// Start-up errors.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file or directory problem.
    #[error("{path}: {error}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// Listening failed.
    #[error("--listen {addr}: {error}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The database.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// The storage.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    /// The mailer.
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    /// The modules.
    #[error(transparent)]
    Modules(#[from] nixspot_hotspot::Error),
    /// Something else, said in full.
    #[error("{0}")]
    Other(String),
}

/// What the handlers share.
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Image storage.
    pub storage: Storage,
    /// The mailer, if `--smtp` was given.
    pub mailer: Option<Mailer>,
    /// The settings.
    pub settings: Settings,
    /// What configurations may do.
    pub policy: Policy,
    /// Modules, catalog and cache for evaluating and locking.
    pub pinning: Pinning,
    /// Evaluations at once (each takes a core).
    pub eval_slots: tokio::sync::Semaphore,
    /// The public base URL, without a trailing slash.
    pub public_url: String,
    /// The local app's user and output folder (local mode only).
    pub local: Option<Local>,
    /// Token checks remembered for a moment.
    pub tokens: crate::accounts::Tokens,
    catalog_cache: tokio::sync::Mutex<Option<(Instant, Arc<Catalog>)>>,
}

/// How long the catalog answer is reused before asking the catalog again.
const CATALOG_REFRESH: Duration = Duration::from_secs(3600);

impl AppState {
    /// The catalog, cached for an hour (and on disk by the catalog client).
    pub async fn catalog(&self) -> Result<Arc<Catalog>, ApiError> {
        let mut cached = self.catalog_cache.lock().await;
        if let Some((at, catalog)) = cached.as_ref() {
            if at.elapsed() < CATALOG_REFRESH {
                return Ok(catalog.clone());
            }
        }
        let source = CatalogSource {
            url: self.pinning.catalog.clone(),
            cache_dir: self.pinning.cache_root.clone(),
            offline: false,
        };
        let loaded = tokio::task::spawn_blocking(move || {
            Catalog::load(&source, &Client::new(), &mut |_| {})
        })
        .await
        .map_err(|e| ApiError::internal(format!("catalog task: {e}")))?
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                format!("the catalog is unavailable: {e}"),
            )
        })?;
        let catalog = Arc::new(loaded.catalog);
        *cached = Some((Instant::now(), catalog.clone()));
        Ok(catalog)
    }

    async fn email_of(&self, owner: &str) -> Option<String> {
        use sqlx::Row as _;
        let row = sqlx::query("SELECT email FROM users WHERE id = $1")
            .bind(owner)
            .fetch_optional(&self.db.pool)
            .await
            .ok()??;
        row.try_get::<Option<String>, _>("email").ok().flatten()
    }

    async fn send(&self, owner: &str, (subject, body): (String, String)) {
        let (Some(mailer), Some(to)) = (&self.mailer, self.email_of(owner).await) else {
            return;
        };
        if let Err(e) = mailer.send(&to, &subject, body).await {
            tracing::warn!("{e}");
        }
    }

    /// Sends the "ready" e-mail of an order.
    pub async fn notify_ready(&self, ended: &Ended, sha256: &str, size: i64, expires: i64) {
        let link = format!("{}/api/v1/orders/{}/image", self.public_url, ended.order);
        let message = crate::mail::ready_message(&ended.name, &link, sha256, size, expires);
        self.send(&ended.owner, message).await;
        if let Some(local) = &self.local {
            local.export(self, &ended.order).await;
        }
    }

    /// Sends the "failed" e-mail of an order (`reason` empty: read it from the order).
    pub async fn notify_failed(&self, ended: &Ended, reason: &str) {
        let reason = if reason.is_empty() {
            use sqlx::Row as _;
            sqlx::query("SELECT error FROM orders WHERE id = $1")
                .bind(&ended.order)
                .fetch_optional(&self.db.pool)
                .await
                .ok()
                .flatten()
                .and_then(|r| r.try_get::<Option<String>, _>("error").ok().flatten())
                .unwrap_or_else(|| "unknown".into())
        } else {
            reason.to_string()
        };
        self.send(
            &ended.owner,
            crate::mail::failed_message(&ended.name, &reason),
        )
        .await;
    }

    /// One pass of the sweeper: lapsed last leases fail, expired images are deleted,
    /// expired tokens forgotten.
    pub async fn sweep(&self) -> Result<(), ApiError> {
        for ended in queue::fail_exhausted(&self.db).await? {
            self.notify_failed(&ended, "").await;
        }
        for (order, key) in queue::expired_images(&self.db).await? {
            if let Some(key) = key {
                if let Err(e) = self.storage.delete(&key).await {
                    // Kept as ready: the next pass tries again.
                    tracing::warn!("order {order}: cannot delete its image: {e}");
                    continue;
                }
            }
            queue::mark_expired(&self.db, &order).await?;
        }
        accounts::delete_expired_tokens(&self.db).await?;
        Ok(())
    }
}

/// A running server.
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://ADDR` (what in-process workers use).
    pub url: String,
    /// The shared state.
    pub state: Arc<AppState>,
    /// Local mode: the secret of the one-time sign-in link.
    local_secret: Option<String>,
    stop: tokio::sync::watch::Sender<bool>,
    workers_stop: nixspot_imager_worker::CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The user the embedded workers run as.
pub const EMBEDDED_WORKER: &str = "embedded-worker";

impl Server {
    /// Opens the database (running migrations), storage and modules, listens, and
    /// starts serving and sweeping in the background.
    pub async fn start(settings: Settings) -> Result<Server, ServerError> {
        if settings.local.is_some() && !settings.listen.ip().is_loopback() {
            return Err(ServerError::Other(format!(
                "--listen {}: the local Imager listens on a loopback address only (127.0.0.1 or ::1)",
                settings.listen
            )));
        }
        std::fs::create_dir_all(&settings.data_dir).map_err(|error| ServerError::Io {
            path: settings.data_dir.clone(),
            error,
        })?;
        let db = Db::open(&settings.database_url()).await?;
        let storage = match &settings.storage {
            Some(spec) => Storage::parse(spec)?,
            None => Storage::local(settings.data_dir.join("storage"))?,
        };
        let mailer = match &settings.smtp {
            Some(url) => Some(Mailer::new(url, &settings.mail_from)?),
            None => None,
        };
        let modules = nixspot_hotspot::ModulesDir::locate(settings.modules.as_deref())?;
        let modules_path = modules.path().to_path_buf();
        let packages = {
            let path = modules_path.clone();
            tokio::task::spawn_blocking(move || crate::config::catalog_packages(&path))
                .await
                .map_err(|e| ServerError::Other(e.to_string()))?
                .map_err(ServerError::Other)?
        };
        let pinning = Pinning {
            modules: modules_path,
            catalog: CatalogSource::url_from(settings.catalog.as_deref()),
            cache_root: settings
                .cache_root
                .clone()
                .unwrap_or_else(nixspot_fetch::Cache::default_root),
        };
        let listener = tokio::net::TcpListener::bind(settings.listen)
            .await
            .map_err(|error| ServerError::Listen {
                addr: settings.listen,
                error,
            })?;
        let addr = listener.local_addr().map_err(|error| ServerError::Listen {
            addr: settings.listen,
            error,
        })?;
        let url = format!("http://{addr}");
        let (local, local_secret) = match settings.local.clone() {
            Some(mode) => {
                let user = local_user(&db).await?;
                let (local, secret) = Local::new(mode, user, addr);
                (Some(local), Some(secret))
            }
            None => (None, None),
        };
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| url.clone())
            .trim_end_matches('/')
            .to_string();
        let state = Arc::new(AppState {
            db,
            storage,
            mailer,
            policy: Policy {
                allow_urls: settings.allow_urls,
                packages,
            },
            pinning,
            eval_slots: tokio::sync::Semaphore::new(2),
            public_url,
            local,
            tokens: crate::accounts::Tokens::default(),
            catalog_cache: tokio::sync::Mutex::new(None),
            settings,
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut app = crate::api::router(state.clone()).merge(crate::web::router(state.clone()));
        if state.local.is_some() {
            app = crate::local::wrap(app, state.clone());
        }
        let mut serve_stop = stopped.clone();
        let serve = tokio::spawn(async move {
            let shutdown = async move {
                let _ = serve_stop.wait_for(|s| *s).await;
            };
            // The peer address: local mode answers loopback peers only.
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("the server stopped: {e}");
            }
        });
        let sweeper_state = state.clone();
        let mut sweep_stop = stopped;
        let sweeper = tokio::spawn(async move {
            let mut tick = tokio::time::interval(sweeper_state.settings.sweep_interval);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Err(e) = sweeper_state.sweep().await {
                            tracing::warn!("sweeper: {}", e.message);
                        }
                    }
                    _ = sweep_stop.changed() => break,
                }
            }
        });
        Ok(Server {
            addr,
            url,
            state,
            local_secret,
            stop,
            workers_stop: nixspot_imager_worker::CancellationToken::new(),
            tasks: vec![serve, sweeper],
        })
    }

    /// Local mode: the one-time link that signs the browser in as the local user.
    pub fn local_sign_in_url(&self) -> Option<String> {
        let secret = self.local_secret.as_ref()?;
        Some(format!(
            "{}{}?secret={secret}",
            self.url,
            crate::local::SIGN_IN_PATH
        ))
    }

    /// Starts `count` embedded workers: the worker of `nixspot imager worker`, run on
    /// this runtime against this server's own URL with an internal worker token,
    /// sharing the content cache; jobs are built under `<data dir>/work`.
    pub async fn start_workers(&mut self, count: usize) -> Result<(), ServerError> {
        if count == 0 {
            return Ok(());
        }
        // Long enough for any server's uptime; a restart makes a new one, and the
        // sweeper forgets expired ones.
        let token = self
            .internal_worker_token(Duration::from_secs(365 * 24 * 3600))
            .await?;
        for index in 1..=count {
            let name = format!("embedded-{}-{index}", self.addr.port());
            let mut config = nixspot_imager_worker::Config::new(&self.url, &token, &name);
            config.cache_dir = self.state.pinning.cache_root.clone();
            config.modules = Some(self.state.pinning.modules.clone());
            config.work_dir = self.state.settings.data_dir.join("work");
            config.poll_interval = Duration::from_secs(2);
            config.evaluate_in = self.state.settings.job_evaluator.clone();
            let worker = nixspot_imager_worker::Worker::new(config)
                .map_err(|e| ServerError::Other(format!("embedded worker {name}: {e:#}")))?;
            let stop = self.workers_stop.clone();
            self.tasks.push(tokio::spawn(async move {
                if let Err(e) = worker.run(stop).await {
                    tracing::error!("embedded worker {name} stopped: {e:#}");
                }
            }));
        }
        Ok(())
    }

    /// A fresh API token of the embedded workers' user (role `worker`), created on
    /// first use; valid for `ttl`.
    pub async fn internal_worker_token(&self, ttl: Duration) -> Result<String, ServerError> {
        let db = &self.state.db;
        let other = |e: &dyn std::fmt::Display| ServerError::Other(e.to_string());
        let user = match accounts::find_user(db, EMBEDDED_WORKER)
            .await
            .map_err(|e| other(&e))?
        {
            Some(user) => user,
            None => {
                // Nobody logs in as this user: a random password nobody knows.
                match accounts::add_user(
                    db,
                    EMBEDDED_WORKER,
                    &crate::random_token(32),
                    Role::Worker,
                    None,
                )
                .await
                {
                    Ok(user) => user,
                    // Another server sharing the database created it first.
                    Err(accounts::AccountError::Exists(_)) => {
                        accounts::find_user(db, EMBEDDED_WORKER)
                            .await
                            .map_err(|e| other(&e))?
                            .ok_or_else(|| {
                                ServerError::Other("the embedded worker user vanished".into())
                            })?
                    }
                    Err(e) => return Err(other(&e)),
                }
            }
        };
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        accounts::create_token(db, &user, TokenKind::Api, ttl)
            .await
            .map_err(|e| other(&e))
    }

    /// Stops serving (requests in flight finish) and sweeping.
    pub async fn shutdown(self) {
        // Workers first: a job they were building goes back to the queue when its
        // lease lapses (the worker's documented shutdown), then the server stops.
        self.workers_stop.cancel();
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.state.db.pool.close().await;
    }
}

/// The local app's user, created on first start (an administrator with a random
/// password nobody knows: nobody signs in with a password in local mode).
async fn local_user(db: &Db) -> Result<accounts::User, ServerError> {
    let other = |e: &dyn std::fmt::Display| ServerError::Other(e.to_string());
    let name = crate::local::LOCAL_USER;
    if let Some(user) = accounts::find_user(db, name).await.map_err(|e| other(&e))? {
        return Ok(user);
    }
    accounts::add_user(db, name, &crate::random_token(32), Role::Admin, None)
        .await
        .map_err(|e| other(&e))
}
