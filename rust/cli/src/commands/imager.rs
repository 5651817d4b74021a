//! `nixspot imager [serve|user add|token create|worker]`: the Imager app and service (the
//! libraries are `rust/imager` and `rust/imager-worker`; this file only maps flags onto
//! them).

use anyhow::Context as _;
use nixspot_imager::accounts::{self, Role, TokenKind};
use nixspot_imager::evaluator::Evaluator;
use nixspot_imager::local::LocalMode;
use nixspot_imager::server::{Server, Settings};
use nixspot_imager_worker::child::Child;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The nixspot Imager: a web service where people configure a hotspot from catalog
/// content, order its image and download it when a worker has built it.
///
/// Without a subcommand it is the app of one person on this computer: it serves on
/// 127.0.0.1 with a worker inside, opens the browser (signed in through a one-time
/// link), and writes every finished image to --output.
///
/// Examples:
///   nixspot imager                                         # the app: browser opens, images in ~/nixspot-images
///   nixspot imager --output /media/me/images --no-browser  # prints the link instead
///   nixspot imager serve                                   # SQLite and images in ./imager-data, one worker
///   printf '%s' "$PW" | nixspot imager user add alice --password-stdin --email alice@example.org
///   nixspot imager token create --user alice --ttl 90d
///   nixspot imager serve --database postgres://imager@db/imager \
///       --storage 's3://images?endpoint=https://s3.example.org&region=eu-1' --workers 0
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub action: Option<Action>,
    #[command(flatten)]
    pub app: AppArgs,
}

/// `nixspot imager` without a subcommand: the local app.
#[derive(clap::Args, Debug)]
pub struct AppArgs {
    /// Where finished images are written [default: ~/nixspot-images].
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Print the sign-in link instead of opening the browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Loopback address and port to listen on (port 0: a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Saved configurations and orders [default: ~/.local/share/nixspot/imager].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The Kiwix catalog [default: $NIXSPOT_CATALOG, else https://library.kiwix.org].
    #[arg(long, value_name = "URL")]
    pub catalog: Option<String>,
    /// The content cache shared with `nixspot build` [default: `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// What to do.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Run the service (JSON API under /api/v1) with its embedded workers.
    Serve(Box<ServeArgs>),
    /// Manage users.
    #[command(subcommand)]
    User(UserAction),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenAction),
    /// Build images for an Imager server (on this or another machine).
    Worker(nixspot_imager_worker::WorkerArgs),
    /// The server's evaluation child: a request as JSON on standard input, the answer
    /// on standard output (nixspot_imager::evaluator).
    #[command(hide = true)]
    Evaluate,
    /// A worker's evaluation child: a job's folder as JSON on standard input, its
    /// recipe on standard output (nixspot_imager_worker::child).
    #[command(hide = true)]
    EvaluateJob,
}

/// Where the service keeps its state.
#[derive(clap::Args, Debug, Clone)]
pub struct Store {
    /// Database, images and state.
    #[arg(
        long,
        value_name = "DIR",
        env = "NIXSPOT_IMAGER_DATA_DIR",
        default_value = "imager-data"
    )]
    pub data_dir: PathBuf,
    /// `sqlite:PATH` or `postgres://USER@HOST/DB` [default: SQLite in the data dir].
    #[arg(
        long,
        value_name = "URL",
        env = "NIXSPOT_IMAGER_DATABASE",
        hide_env_values = true
    )]
    pub database: Option<String>,
}

/// `nixspot imager serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: Store,
    /// Address and port to listen on.
    #[arg(
        long,
        value_name = "ADDR",
        env = "NIXSPOT_IMAGER_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    pub listen: SocketAddr,
    /// The URL people reach the service at (links in e-mails) [default: the listen URL].
    #[arg(long, value_name = "URL", env = "NIXSPOT_IMAGER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Image storage: a directory or `s3://BUCKET?endpoint=URL&region=R` (credentials
    /// from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) [default: the data dir].
    #[arg(long, value_name = "DIR|URL", env = "NIXSPOT_IMAGER_STORAGE")]
    pub storage: Option<String>,
    /// Workers run inside this process (0: only `nixspot imager worker` processes build).
    #[arg(
        long,
        value_name = "N",
        env = "NIXSPOT_IMAGER_WORKERS",
        default_value_t = 1
    )]
    pub workers: usize,
    /// The Kiwix catalog [default: $NIXSPOT_CATALOG, else https://library.kiwix.org].
    #[arg(long, value_name = "URL", env = "NIXSPOT_IMAGER_CATALOG")]
    pub catalog: Option<String>,
    /// SMTP server for the ready/failed e-mails, `smtp://[USER:PASS@]HOST[:PORT]`.
    #[arg(
        long,
        value_name = "URL",
        env = "NIXSPOT_IMAGER_SMTP",
        hide_env_values = true
    )]
    pub smtp: Option<String>,
    /// The e-mails' sender.
    #[arg(
        long,
        value_name = "ADDR",
        env = "NIXSPOT_IMAGER_MAIL_FROM",
        default_value = "nixspot Imager <imager@localhost>"
    )]
    pub mail_from: String,
    /// How long images are kept (e.g. `7d`, `12h`).
    #[arg(long, value_name = "DURATION", env = "NIXSPOT_IMAGER_IMAGE_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub image_ttl: Duration,
    /// How long a worker holds a job without a heartbeat before it goes back to the
    /// queue (workers renew it every third of this; at least 3s).
    #[arg(long, value_name = "DURATION", env = "NIXSPOT_IMAGER_LEASE", default_value = "30s", value_parser = parse_lease)]
    pub lease: Duration,
    /// Let configurations name content by http(s) URL, not only catalog content.
    #[arg(long, env = "NIXSPOT_IMAGER_ALLOW_URLS")]
    pub allow_urls: bool,
    /// The content cache shared with `nixspot build` [default: `~/.cache/nixspot`].
    #[arg(long, value_name = "DIR", env = "NIXSPOT_IMAGER_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// `nixspot imager user …`.
#[derive(clap::Subcommand, Debug)]
pub enum UserAction {
    /// Create a user (the password is read from standard input).
    Add {
        /// Login name.
        name: String,
        /// An administrator (sees everything, retries orders, lists workers).
        #[arg(long, conflicts_with = "worker")]
        admin: bool,
        /// A build worker (its tokens are for `nixspot imager worker`).
        #[arg(long)]
        worker: bool,
        /// Where the ready/failed e-mails go.
        #[arg(long, value_name = "ADDR")]
        email: Option<String>,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        store: Store,
    },
}

/// `nixspot imager token …`.
#[derive(clap::Subcommand, Debug)]
pub enum TokenAction {
    /// Create an API token; it is printed once, on the last line.
    Create {
        /// Whose token.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// How long it is valid (e.g. `90d`).
        #[arg(long, value_name = "DURATION", default_value = "90d", value_parser = humantime::parse_duration)]
        ttl: Duration,
        #[command(flatten)]
        store: Store,
    },
}

fn runtime() -> anyhow::Result<nixspot_imager::tokio::runtime::Runtime> {
    nixspot_imager::tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Configurations are evaluated by this program, in a child process with limits.
fn evaluator() -> anyhow::Result<Evaluator> {
    Evaluator::current_program().context("finding the running nixspot program")
}

/// Jobs' modules too, in workers.
fn job_evaluator() -> anyhow::Result<Child> {
    Child::of_running_program(&["imager", "evaluate-job"])
        .context("finding the running nixspot program")
}

fn settings_store(store: &Store) -> Settings {
    let mut settings = Settings::local(store.data_dir.clone());
    settings.database.clone_from(&store.database);
    settings
}

/// Runs `nixspot imager`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(action) = args.action else {
        return run_app(args.app);
    };
    match action {
        Action::Serve(serve) => run_serve(*serve),
        Action::Worker(worker) => {
            nixspot_imager_worker::run_cli(worker, Some(job_evaluator()?))?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Evaluate => {
            nixspot_imager::evaluator::serve_child().context("nixspot imager evaluate")?;
            Ok(ExitCode::SUCCESS)
        }
        Action::EvaluateJob => {
            nixspot_imager_worker::serve_evaluation_child()
                .context("nixspot imager evaluate-job")?;
            Ok(ExitCode::SUCCESS)
        }
        Action::User(UserAction::Add {
            name,
            admin,
            worker,
            email,
            password_stdin: _,
            store,
        }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\n', '\r']).to_string();
            let role = if admin {
                Role::Admin
            } else if worker {
                Role::Worker
            } else {
                Role::User
            };
            let url = settings_store(&store).database_url();
            runtime()?.block_on(async {
                std::fs::create_dir_all(&store.data_dir)
                    .with_context(|| format!("creating {}", store.data_dir.display()))?;
                let db = nixspot_imager::db::Db::open(&url).await?;
                let user =
                    accounts::add_user(&db, &name, &password, role, email.as_deref()).await?;
                eprintln!("user {} added ({})", user.name, role.as_str());
                anyhow::Ok(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Action::Token(TokenAction::Create { user, ttl, store }) => {
            let url = settings_store(&store).database_url();
            let token = runtime()?.block_on(async {
                let db = nixspot_imager::db::Db::open(&url).await?;
                let found = accounts::find_user(&db, &user)
                    .await?
                    .ok_or_else(|| accounts::AccountError::NoSuchUser(user.clone()))?;
                let seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
                let token = accounts::create_token(&db, &found, TokenKind::Api, seconds).await?;
                anyhow::Ok(token)
            })?;
            eprintln!(
                "token for {user}, valid {} (shown once):",
                readable_duration(ttl)
            );
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn run_serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // The server's own evaluations (the catalog's list) are small, its memory is what
    // counts: glibc's malloc alone. Configurations are evaluated in child processes
    // (`nixspot imager evaluate`), which do use mimalloc.
    nixspot_alloc::system_only();
    let mut settings = settings_store(&args.store);
    settings.listen = args.listen;
    settings.public_url = args.public_url;
    settings.storage = args.storage;
    settings.catalog = args.catalog;
    settings.smtp = args.smtp;
    settings.mail_from = args.mail_from;
    settings.image_ttl = args.image_ttl;
    settings.allow_urls = args.allow_urls;
    settings.lease_seconds = i64::try_from(args.lease.as_secs()).unwrap_or(i64::MAX);
    settings.cache_root = args.cache_dir;
    settings.evaluator = evaluator()?;
    settings.job_evaluator = Some(job_evaluator()?);
    let runtime = runtime()?;
    runtime.block_on(async {
        let mut server = Server::start(settings).await?;
        server.start_workers(args.workers).await?;
        eprintln!(
            "nixspot imager: listening on {} ({} embedded workers)",
            server.url, args.workers
        );
        shutdown_signal().await;
        eprintln!("nixspot imager: stopping");
        server.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn home() -> anyhow::Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("$HOME is not set: give --output and --data-dir")
}

/// `nixspot imager`: the local app.
fn run_app(args: AppArgs) -> anyhow::Result<ExitCode> {
    let output = match args.output {
        Some(dir) => dir,
        None => home()?.join("nixspot-images"),
    };
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => match std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
            Some(data) => PathBuf::from(data).join("nixspot/imager"),
            None => home()?.join(".local/share/nixspot/imager"),
        },
    };
    let mut settings = Settings::local(data_dir);
    settings.listen = args.listen;
    settings.catalog = args.catalog;
    settings.cache_root = args.cache_dir;
    settings.local = Some(LocalMode {
        output: output.clone(),
    });
    settings.evaluator = evaluator()?;
    settings.job_evaluator = Some(job_evaluator()?);
    let runtime = runtime()?;
    runtime.block_on(async {
        let mut server = Server::start(settings).await?;
        server.start_workers(1).await?;
        let link = server
            .local_sign_in_url()
            .context("the server did not start in local mode")?;
        let mut exported = server
            .state
            .local
            .as_ref()
            .map(|local| local.exported())
            .context("the server did not start in local mode")?;
        eprintln!("nixspot imager: the Imager runs at {}", server.url);
        eprintln!("nixspot imager: finished images go to {}", output.display());
        if args.no_browser || !open_browser(&link) {
            eprintln!("nixspot imager: open this one-time link in your browser:\n  {link}");
        } else {
            // xdg-open may start without a desktop to show it on.
            eprintln!("nixspot imager: opening your browser; if it did not open, open this one-time link:\n  {link}");
        }
        eprintln!("nixspot imager: Ctrl-C stops it");
        let announce = async {
            loop {
                match exported.recv().await {
                    Ok(Ok(path)) => eprintln!("nixspot imager: image written to {}", path.display()),
                    Ok(Err(reason)) => eprintln!("nixspot imager: an image could not be written: {reason}"),
                    Err(nixspot_imager::tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(nixspot_imager::tokio::sync::broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        nixspot_imager::tokio::select! {
            () = shutdown_signal() => {}
            () = announce => {}
        }
        eprintln!("nixspot imager: stopping");
        server.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Opens `url` in the desktop's browser (`open` on macOS, `xdg-open` elsewhere);
/// false when that could not be started.
fn open_browser(url: &str) -> bool {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let started = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        Ok(mut child) => {
            // Reaped in the background: some openers wait for the browser to exit.
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    use nixspot_imager::tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = nixspot_imager::tokio::signal::ctrl_c().await;
            return;
        }
    };
    nixspot_imager::tokio::select! {
        _ = term.recv() => {}
        _ = nixspot_imager::tokio::signal::ctrl_c() => {}
    }
}

/// `90 days`, `12 hours`, `30 minutes`: whole units as people set them (humantime
/// would print 90 days as "2months 29days 2h 52m 48s").
fn readable_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A job lease: a duration of whole seconds, long enough for a heartbeat every third
/// of it to arrive in time.
fn parse_lease(text: &str) -> Result<Duration, String> {
    let lease = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if lease < Duration::from_secs(3) {
        return Err(format!("{text} is shorter than the 3s minimum"));
    }
    Ok(Duration::from_secs(lease.as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_unit_they_were_set_in() {
        assert_eq!(
            readable_duration(Duration::from_secs(90 * 86_400)),
            "90 days"
        );
        assert_eq!(readable_duration(Duration::from_secs(86_400)), "1 day");
        assert_eq!(
            readable_duration(Duration::from_secs(12 * 3_600)),
            "12 hours"
        );
        assert_eq!(
            readable_duration(Duration::from_secs(90 * 60)),
            "90 minutes"
        );
        assert_eq!(readable_duration(Duration::from_secs(61)), "61 seconds");
    }

    #[test]
    fn leases_are_whole_seconds_of_at_least_three() {
        assert_eq!(parse_lease("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_lease("3500ms"), Ok(Duration::from_secs(3)));
        assert!(parse_lease("2s").unwrap_err().contains("3s minimum"));
        assert!(parse_lease("soon").is_err());
    }
}
