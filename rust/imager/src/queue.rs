//! Orders and their build jobs. An order freezes a module and its lock and goes
//! `queued → building(step, progress) → ready | failed(reason) → expired`. Workers claim
//! jobs with a lease they renew; a lapsed lease makes the job claimable again, and after
//! [`MAX_ATTEMPTS`] claims it fails, so every order ends ready or failed.

use serde::Serialize;
use sqlx::Row as _;

use crate::accounts::{Role, User};
use crate::db::{opt, Backend, Db};
use crate::error::ApiError;

/// How many times a job may be claimed before it fails.
pub const MAX_ATTEMPTS: i64 = 3;

/// An order as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// Its id.
    pub id: String,
    /// The configuration it was made from (null once that was deleted).
    pub configuration: Option<String>,
    /// `queued`, `building`, `ready`, `failed` or `expired`.
    pub state: String,
    /// The build step and its fraction done, while building.
    pub progress: Progress,
    /// The image's sha256 once ready.
    pub sha256: Option<String>,
    /// The image's size in bytes once ready.
    pub size: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// When the image will be deleted (Unix seconds).
    pub expires: Option<i64>,
    /// How many times a worker claimed it.
    pub attempts: i64,
    /// The image file stem.
    pub name: String,
    /// When it was ordered (Unix seconds).
    pub created: i64,
    /// While queued: how many queued orders will be claimed before it (0: next).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue_position: Option<i64>,
    #[serde(skip)]
    pub(crate) owner: String,
    #[serde(skip)]
    pub(crate) storage_key: Option<String>,
}

/// Build progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The build step the worker reported.
    pub step: Option<String>,
    /// 0.0 to 1.0, when the step knows.
    pub fraction: Option<f64>,
}

const ORDER_COLUMNS: &str = "id, owner, configuration, name, state, step, progress, attempts, \
                             sha256, size, error, expires, created, storage_key";

fn order_from(row: &sqlx::any::AnyRow) -> Result<Order, sqlx::Error> {
    Ok(Order {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        configuration: opt(row, "configuration")?,
        name: row.try_get("name")?,
        state: row.try_get("state")?,
        progress: Progress {
            step: opt(row, "step")?,
            fraction: opt(row, "progress")?,
        },
        attempts: row.try_get("attempts")?,
        sha256: opt(row, "sha256")?,
        size: opt(row, "size")?,
        error: opt(row, "error")?,
        expires: opt(row, "expires")?,
        created: row.try_get("created")?,
        queue_position: None,
        storage_key: opt(row, "storage_key")?,
    })
}

/// Creates a queued order for `owner`. With an idempotency key, a second request with
/// the same key returns the first order's id instead (also when both race).
pub async fn create(
    db: &Db,
    owner: &User,
    configuration: &str,
    name: &str,
    module: &str,
    lock: &str,
    idempotency_key: Option<&str>,
) -> Result<String, ApiError> {
    let id = crate::new_id();
    let now = crate::now();
    let inserted = sqlx::query(
        "INSERT INTO orders (id, owner, configuration, name, module, lock, state, attempts, created, updated, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $7, $8)",
    )
    .bind(&id)
    .bind(&owner.id)
    .bind(configuration)
    .bind(name)
    .bind(module)
    .bind(lock)
    .bind(now)
    .bind(idempotency_key)
    .execute(&db.pool)
    .await;
    match inserted {
        Ok(_) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() && idempotency_key.is_some() => {
            let key = idempotency_key.unwrap_or_default();
            find_idempotent(db, owner, key).await?.ok_or_else(|| {
                ApiError::internal(format!("idempotency key {key:?}: order vanished"))
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// The order `owner` already made with `key`, if any.
pub async fn find_idempotent(db: &Db, owner: &User, key: &str) -> Result<Option<String>, ApiError> {
    let row = sqlx::query("SELECT id FROM orders WHERE owner = $1 AND idempotency_key = $2")
        .bind(&owner.id)
        .bind(key)
        .fetch_optional(&db.pool)
        .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// The order `id` if `user` may see it (its owner, or an admin); else 404.
pub async fn get(db: &Db, user: &User, id: &str) -> Result<Order, ApiError> {
    let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    let mut order = match row.as_ref().map(order_from).transpose()? {
        Some(order) if order.owner == user.id || user.role == Role::Admin => order,
        _ => return Err(ApiError::not_found("order")),
    };
    if order.state == "queued" {
        // Claims take the oldest first (by creation time, then id): those are ahead.
        let ahead = sqlx::query(
            "SELECT COUNT(*) AS ahead FROM orders WHERE state = 'queued' \
             AND (created < $1 OR (created = $1 AND id < $2))",
        )
        .bind(order.created)
        .bind(&order.id)
        .fetch_one(&db.pool)
        .await?;
        order.queue_position = Some(ahead.try_get("ahead")?);
    }
    Ok(order)
}

/// The orders `user` may see, newest first.
pub async fn list(db: &Db, user: &User) -> Result<Vec<Order>, ApiError> {
    let rows = if user.role == Role::Admin {
        sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders ORDER BY created DESC, id"
        ))
        .fetch_all(&db.pool)
        .await?
    } else {
        sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE owner = $1 ORDER BY created DESC, id"
        ))
        .bind(&user.id)
        .fetch_all(&db.pool)
        .await?
    };
    Ok(rows.iter().map(order_from).collect::<Result<_, _>>()?)
}

/// The frozen module and lock of an order.
pub async fn frozen(db: &Db, id: &str) -> Result<(String, String), ApiError> {
    let row = sqlx::query("SELECT module, lock FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await?;
    Ok((row.try_get("module")?, row.try_get("lock")?))
}

/// A job handed to a worker.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    /// The lease id: the worker names the job by it until it finishes.
    pub id: String,
    /// The order.
    pub order: String,
    /// Seconds before the lease lapses unless renewed.
    pub lease_seconds: i64,
    /// The image file stem.
    pub name: String,
    /// `module.nix`.
    pub module: String,
    /// `module.lock.json`, as a JSON value.
    pub lock: serde_json::Value,
}

/// An order that just ended (for its e-mail).
#[derive(Debug, Clone)]
pub struct Ended {
    /// The order id.
    pub order: String,
    /// Its owner's id.
    pub owner: String,
    /// The image stem.
    pub name: String,
}

/// Fails the jobs whose last allowed lease lapsed; returns them (their e-mails are due).
pub async fn fail_exhausted(db: &Db) -> Result<Vec<Ended>, ApiError> {
    let now = crate::now();
    let rows = sqlx::query(
        "UPDATE orders SET state = 'failed', lease_id = NULL, updated = $1, \
         error = 'the build was claimed ' || CAST(attempts AS TEXT) || ' times and its worker stopped reporting each time' \
         WHERE state = 'building' AND lease_until < $1 AND attempts >= $2 \
         RETURNING id, owner, name",
    )
    .bind(now)
    .bind(MAX_ATTEMPTS)
    .fetch_all(&db.pool)
    .await?;
    ended(&rows)
}

fn ended(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Ended>, ApiError> {
    rows.iter()
        .map(|r| {
            Ok(Ended {
                order: r.try_get("id")?,
                owner: r.try_get("owner")?,
                name: r.try_get("name")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}

/// Records that worker `name` was seen now.
pub async fn seen(db: &Db, worker: &str) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO workers (name, last_seen) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen",
    )
    .bind(worker)
    .bind(crate::now())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Atomically claims the oldest claimable job for `worker`: a queued one, or one whose
/// lease lapsed (its attempt counter goes up). `None` when there is none.
pub async fn claim(db: &Db, worker: &str, lease_seconds: i64) -> Result<Option<Job>, ApiError> {
    let now = crate::now();
    let lease = crate::random_token(16);
    // SQLite runs one UPDATE under its database write lock: the sub-select and the
    // update are one atomic step. PostgreSQL needs the row lock, and SKIP LOCKED lets
    // concurrent claimers take the next job instead of waiting for this one.
    let lock_clause = match db.backend {
        Backend::Sqlite => "",
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE orders SET state = 'building', attempts = attempts + 1, lease_id = $1, \
         lease_until = $2, worker = $3, step = 'claimed', progress = NULL, updated = $4 \
         WHERE id = (SELECT id FROM orders WHERE (state = 'queued' OR (state = 'building' \
         AND lease_until < $4 AND attempts < $5)) ORDER BY created, id LIMIT 1 {lock_clause}) \
         RETURNING id, name, module, lock"
    );
    let row = sqlx::query(&sql)
        .bind(&lease)
        .bind(now + lease_seconds)
        .bind(worker)
        .bind(now)
        .bind(MAX_ATTEMPTS)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let lock_text: String = row.try_get("lock")?;
    let lock = serde_json::from_str(&lock_text)
        .map_err(|e| ApiError::internal(format!("the stored lock is not JSON: {e}")))?;
    Ok(Some(Job {
        id: lease,
        order: row.try_get("id")?,
        lease_seconds,
        name: row.try_get("name")?,
        module: row.try_get("module")?,
        lock,
    }))
}

/// Renews a lease and records progress; 409 when the lease is not held any more.
pub async fn heartbeat(
    db: &Db,
    lease: &str,
    step: Option<&str>,
    fraction: Option<f64>,
    lease_seconds: i64,
) -> Result<(), ApiError> {
    let now = crate::now();
    let fraction = fraction
        .filter(|f| f.is_finite())
        .map(|f| f.clamp(0.0, 1.0));
    let row = sqlx::query(
        "UPDATE orders SET lease_until = $1, step = $2, progress = $3, updated = $4 \
         WHERE lease_id = $5 AND state = 'building' RETURNING worker",
    )
    .bind(now + lease_seconds)
    .bind(step)
    .bind(fraction)
    .bind(now)
    .bind(lease)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => {
            if let Some(worker) = opt::<String>(&row, "worker")? {
                seen(db, &worker).await?;
            }
            Ok(())
        }
        None => Err(lease_lost(lease)),
    }
}

/// The order a lease-guarded statement returned, or 409 when it matched none (the
/// lease is no longer held).
fn held_ended(row: Option<sqlx::any::AnyRow>, lease: &str) -> Result<Ended, ApiError> {
    match row {
        Some(row) => Ok(ended(&[row])?.remove(0)),
        None => Err(lease_lost(lease)),
    }
}

fn lease_lost(lease: &str) -> ApiError {
    ApiError::conflict(format!(
        "job {lease}: this worker no longer holds it (its lease lapsed and another worker took it, or the order was cancelled or ended)"
    ))
}

/// The order a held lease builds (409 when not held).
pub async fn held(db: &Db, lease: &str) -> Result<Ended, ApiError> {
    let row = sqlx::query(
        "SELECT id, owner, name FROM orders WHERE lease_id = $1 AND state = 'building'",
    )
    .bind(lease)
    .fetch_optional(&db.pool)
    .await?;
    held_ended(row, lease)
}

/// Marks the job's order ready; 409 when the lease is not held any more.
pub async fn finish(
    db: &Db,
    lease: &str,
    sha256: &str,
    size: i64,
    storage_key: &str,
    expires: i64,
) -> Result<Ended, ApiError> {
    let row = sqlx::query(
        "UPDATE orders SET state = 'ready', sha256 = $1, size = $2, storage_key = $3, expires = $4, \
         step = NULL, progress = NULL, lease_id = NULL, error = NULL, updated = $5 \
         WHERE lease_id = $6 AND state = 'building' RETURNING id, owner, name",
    )
    .bind(sha256)
    .bind(size)
    .bind(storage_key)
    .bind(expires)
    .bind(crate::now())
    .bind(lease)
    .fetch_optional(&db.pool)
    .await?;
    held_ended(row, lease)
}

/// Marks the job's order failed with `reason`; 409 when the lease is not held.
pub async fn fail(db: &Db, lease: &str, reason: &str) -> Result<Ended, ApiError> {
    let row = sqlx::query(
        "UPDATE orders SET state = 'failed', error = $1, lease_id = NULL, updated = $2 \
         WHERE lease_id = $3 AND state = 'building' RETURNING id, owner, name",
    )
    .bind(reason)
    .bind(crate::now())
    .bind(lease)
    .fetch_optional(&db.pool)
    .await?;
    held_ended(row, lease)
}

/// Cancels a queued or building order (its worker's next heartbeat gets 409).
pub async fn cancel(db: &Db, user: &User, id: &str) -> Result<Ended, ApiError> {
    let order = get(db, user, id).await?;
    let row = sqlx::query(
        "UPDATE orders SET state = 'failed', error = $1, lease_id = NULL, updated = $2 \
         WHERE id = $3 AND state IN ('queued', 'building') RETURNING id, owner, name",
    )
    .bind(format!("cancelled by {}", user.name))
    .bind(crate::now())
    .bind(&order.id)
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok(ended(&[row])?.remove(0)),
        None => Err(ApiError::conflict(format!(
            "order {id} is {}: only a queued or building order can be cancelled",
            order.state
        ))),
    }
}

/// Queues a failed or expired order again (admin), with a fresh attempt count.
pub async fn retry(db: &Db, user: &User, id: &str) -> Result<(), ApiError> {
    let order = get(db, user, id).await?;
    let done = sqlx::query(
        "UPDATE orders SET state = 'queued', attempts = 0, error = NULL, step = NULL, progress = NULL, \
         lease_id = NULL, lease_until = NULL, worker = NULL, sha256 = NULL, size = NULL, \
         storage_key = NULL, expires = NULL, updated = $1 \
         WHERE id = $2 AND state IN ('failed', 'expired')",
    )
    .bind(crate::now())
    .bind(&order.id)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::conflict(format!(
            "order {id} is {}: only a failed or expired order can be retried",
            order.state
        )));
    }
    Ok(())
}

/// Ready orders whose image expired: `(order id, storage key)`.
pub async fn expired_images(db: &Db) -> Result<Vec<(String, Option<String>)>, ApiError> {
    let rows =
        sqlx::query("SELECT id, storage_key FROM orders WHERE state = 'ready' AND expires <= $1")
            .bind(crate::now())
            .fetch_all(&db.pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, opt(r, "storage_key")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}

/// Marks an order expired once its image is gone.
pub async fn mark_expired(db: &Db, id: &str) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE orders SET state = 'expired', storage_key = NULL, updated = $1 WHERE id = $2 AND state = 'ready'",
    )
    .bind(crate::now())
    .bind(id)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// A worker as admins see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerInfo {
    /// The name it claims with.
    pub name: String,
    /// Its last claim or heartbeat (Unix seconds).
    pub last_heartbeat: i64,
    /// The order it builds, if any.
    pub current_job: Option<String>,
}

/// Every worker seen, by name.
pub async fn workers(db: &Db) -> Result<Vec<WorkerInfo>, ApiError> {
    let rows = sqlx::query(
        "SELECT w.name, w.last_seen, (SELECT o.id FROM orders o WHERE o.worker = w.name \
         AND o.state = 'building' ORDER BY o.updated DESC LIMIT 1) AS current_job \
         FROM workers w ORDER BY w.name",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(WorkerInfo {
                name: r.try_get("name")?,
                last_heartbeat: r.try_get("last_seen")?,
                current_job: opt(r, "current_job")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(ApiError::from)
}
