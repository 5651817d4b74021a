//! The database: SQLite (one machine) or PostgreSQL (several servers and workers),
//! through sqlx's `Any` driver with one schema and migrations run at start.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;

/// Which database a URL names: the few queries that differ (the atomic claim) check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:…`
    Sqlite,
    /// `postgres://…` / `postgresql://…`
    Postgres,
}

/// Errors opening the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("--database {0}: expected sqlite:PATH or postgres://USER@HOST:PORT/DB")]
    Scheme(String),
    /// Connecting failed.
    #[error("--database {url}: cannot connect: {error}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// Why.
        error: sqlx::Error,
    },
    /// A migration failed.
    #[error("--database {url}: migrating the schema failed: {error}")]
    Migrate {
        /// The URL, without its password.
        url: String,
        /// Why.
        error: sqlx::migrate::MigrateError,
    },
}

/// The connection pool and its backend.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool (it reconnects by itself when the database comes back).
    pub pool: AnyPool,
    /// SQLite or PostgreSQL.
    pub backend: Backend,
}

/// `url` with its password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Connects to `url` and runs the migrations. A SQLite file is created if missing.
    pub async fn open(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(DbError::Scheme(redact(url)));
        };
        let url_with_options = match backend {
            // Create the file; wait for a writer instead of failing at once (several
            // embedded workers and requests write concurrently).
            Backend::Sqlite if !url.contains('?') => format!("{url}?mode=rwc"),
            _ => url.to_string(),
        };
        let mut options = AnyPoolOptions::new()
            // A request waits at most this long for a connection, then gets a 503.
            .acquire_timeout(Duration::from_secs(3))
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            });
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor as _;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&url_with_options)
            .await
            .map_err(|error| DbError::Connect {
                url: redact(url),
                error,
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|error| DbError::Migrate {
                url: redact(url),
                error,
            })?;
        Ok(Db { pool, backend })
    }
}

/// Reads a column that may be NULL.
pub(crate) fn opt<T>(row: &AnyRow, column: &str) -> Result<Option<T>, sqlx::Error>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row as _;
    row.try_get::<Option<T>, _>(column)
}
