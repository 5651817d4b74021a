//! What the JSON API and the web pages both do with configurations and orders: load one
//! a user may see, validate (the policy, then the module system), save, copy, delete,
//! lock and order. The handlers of [`crate::api`] and [`crate::web`] only translate
//! requests and answers.

use serde_json::Value;
use sqlx::Row as _;

use crate::accounts::{Role, User};
use crate::config;
use crate::error::ApiError;
use crate::evaluator::Task;
use crate::queue;
use crate::server::AppState;

/// A stored configuration.
pub struct Stored {
    /// Its owner's user id.
    pub owner: String,
    /// The configuration body `{"hotspot": {…}}`.
    pub hotspot: Value,
    /// Its last lock (see `current_lock`): frozen by its last order, or computed for
    /// its `lock.json`.
    pub lock: Option<String>,
    /// When that lock was computed (Unix seconds).
    pub locked: Option<i64>,
}

/// The configuration `id` if `user` may see it (its owner, or an administrator); else
/// 404, so another user's ids are never confirmed.
pub async fn load_configuration(
    state: &AppState,
    user: &User,
    id: &str,
) -> Result<Stored, ApiError> {
    let row = sqlx::query("SELECT owner, hotspot, lock, locked FROM configurations WHERE id = $1")
        .bind(id)
        .fetch_optional(&state.db.pool)
        .await?;
    let Some(row) = row else {
        return Err(ApiError::not_found("configuration"));
    };
    let owner: String = row.try_get("owner")?;
    if owner != user.id && user.role != Role::Admin {
        return Err(ApiError::not_found("configuration"));
    }
    let text: String = row.try_get("hotspot")?;
    let hotspot = serde_json::from_str(&text)
        .map_err(|e| ApiError::internal(format!("configuration {id} is not JSON: {e}")))?;
    Ok(Stored {
        owner,
        hotspot,
        lock: crate::db::opt(&row, "lock")?,
        locked: crate::db::opt(&row, "locked")?,
    })
}

/// A configuration in a list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Its id.
    pub id: String,
    /// Its `hotspot.name`, if set.
    pub name: Option<String>,
    /// When it was last saved (Unix seconds).
    pub updated: i64,
}

/// The configurations of `user`, newest first; with `everyone` (administrators only)
/// every user's.
pub async fn list_configurations(
    state: &AppState,
    user: &User,
    everyone: bool,
) -> Result<Vec<Summary>, ApiError> {
    let rows = if everyone && user.role == Role::Admin {
        sqlx::query("SELECT id, hotspot, updated FROM configurations ORDER BY updated DESC, id")
            .fetch_all(&state.db.pool)
            .await?
    } else {
        sqlx::query(
            "SELECT id, hotspot, updated FROM configurations WHERE owner = $1 ORDER BY updated DESC, id",
        )
        .bind(&user.id)
        .fetch_all(&state.db.pool)
        .await?
    };
    let mut list = Vec::with_capacity(rows.len());
    for row in &rows {
        let text: String = row.try_get("hotspot")?;
        let hotspot: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        list.push(Summary {
            id: row.try_get("id")?,
            name: hotspot
                .pointer("/hotspot/name")
                .and_then(Value::as_str)
                .map(str::to_string),
            updated: row.try_get("updated")?,
        });
    }
    Ok(list)
}

/// Checks the policy, then evaluates the module (with its catalog packages pinned).
pub async fn validate(state: &AppState, body: &Value) -> Result<(), ApiError> {
    state.policy.check(body)?;
    evaluate(state, body, Task::Validate).await.map(|_| ())
}

/// Does `task` on the module of `hotspot` with the server's evaluator, at most a few at
/// a time (`eval_slots`: each takes a core).
async fn evaluate(
    state: &AppState,
    hotspot: &Value,
    task: Task,
) -> Result<Option<String>, ApiError> {
    let _slot = state
        .eval_slots
        .acquire()
        .await
        .map_err(|_| ApiError::internal("shutting down"))?;
    state
        .settings
        .evaluator
        .evaluate(task, config::module_text(hotspot), state.pinning.clone())
        .await
}

/// Validates `body` and saves it as a new configuration of `user`; returns its id.
pub async fn create_configuration(
    state: &AppState,
    user: &User,
    body: &Value,
) -> Result<String, ApiError> {
    validate(state, body).await?;
    let id = crate::new_id();
    let now = crate::now();
    sqlx::query(
        "INSERT INTO configurations (id, owner, hotspot, created, updated) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(body.to_string())
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok(id)
}

/// Validates `body` and saves it over configuration `id` (which `user` may see).
pub async fn update_configuration(
    state: &AppState,
    user: &User,
    id: &str,
    body: &Value,
) -> Result<(), ApiError> {
    let stored = load_configuration(state, user, id).await?;
    validate(state, body).await?;
    // The stored lock belonged to the old options.
    sqlx::query("UPDATE configurations SET hotspot = $1, lock = NULL, locked = NULL, updated = $2 WHERE id = $3 AND owner = $4")
        .bind(body.to_string())
        .bind(crate::now())
        .bind(id)
        .bind(&stored.owner)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Deletes configuration `id` (which `user` may see).
pub async fn delete_configuration(state: &AppState, user: &User, id: &str) -> Result<(), ApiError> {
    let stored = load_configuration(state, user, id).await?;
    sqlx::query("DELETE FROM configurations WHERE id = $1 AND owner = $2")
        .bind(id)
        .bind(&stored.owner)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Copies configuration `id` (which `user` may see) as a new configuration of `user`
/// named `name`; returns the copy's id. The copy is what was validated before, under
/// another name, so it is saved without evaluating it again.
pub async fn copy_configuration(
    state: &AppState,
    user: &User,
    id: &str,
    name: &str,
) -> Result<String, ApiError> {
    let mut body = load_configuration(state, user, id).await?.hotspot;
    if let Some(hotspot) = body.get_mut("hotspot").and_then(Value::as_object_mut) {
        hotspot.insert("name".into(), Value::String(name.to_string()));
    }
    state.policy.check(&body)?;
    let copy = crate::new_id();
    sqlx::query(
        "INSERT INTO configurations (id, owner, hotspot, created, updated) VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(&copy)
    .bind(&user.id)
    .bind(body.to_string())
    .bind(crate::now())
    .execute(&state.db.pool)
    .await?;
    Ok(copy)
}

/// The lock of configuration `id`: the one an order of it would freeze now (see
/// [`current_lock`]).
pub async fn configuration_lock(
    state: &AppState,
    user: &User,
    id: &str,
) -> Result<String, ApiError> {
    let stored = load_configuration(state, user, id).await?;
    current_lock(state, id, &stored).await
}

/// The lock of `stored` (configuration `id`) as of now: the one it has kept if that
/// was made within [`LOCK_REUSE_SECONDS`], else computed now and kept. The one rule of
/// both the configuration's `lock.json` and its next order, so what a person downloads
/// is what the order would build.
async fn current_lock(state: &AppState, id: &str, stored: &Stored) -> Result<String, ApiError> {
    match (&stored.lock, stored.locked) {
        (Some(lock), Some(at)) if crate::now().saturating_sub(at) < LOCK_REUSE_SECONDS => {
            Ok(lock.clone())
        }
        _ => {
            let lock = compute_lock(state, &stored.hotspot).await?;
            store_lock(state, id, &lock).await?;
            Ok(lock)
        }
    }
}

async fn store_lock(state: &AppState, id: &str, lock: &str) -> Result<(), ApiError> {
    sqlx::query("UPDATE configurations SET lock = $1, locked = $2 WHERE id = $3")
        .bind(lock)
        .bind(crate::now())
        .bind(id)
        .execute(&state.db.pool)
        .await?;
    Ok(())
}

/// Computes the full lock of a configuration (the text `nixspot lock` would write).
pub async fn compute_lock(state: &AppState, hotspot: &Value) -> Result<String, ApiError> {
    evaluate(state, hotspot, Task::Lock)
        .await?
        .ok_or_else(|| ApiError::internal("the lock task gave no lock"))
}

/// How long a configuration's lock is reused by its next orders: the hour the server
/// also keeps its view of the catalog (`server::CATALOG_REFRESH`). Saving the
/// configuration forgets its lock.
const LOCK_REUSE_SECONDS: i64 = 3600;

/// Orders an image of configuration `configuration` for `user`: checks the policy
/// again (it may have changed since the configuration was saved), freezes its module
/// and lock ([`current_lock`]), and queues it; returns the order's id. With an
/// idempotency `key`, an order made with the same key is returned instead of a second
/// one.
pub async fn create_order(
    state: &AppState,
    user: &User,
    configuration: &str,
    key: Option<&str>,
) -> Result<(String, bool), ApiError> {
    if let Some(key) = key {
        if let Some(id) = queue::find_idempotent(&state.db, user, key).await? {
            return Ok((id, false));
        }
    }
    let stored = load_configuration(state, user, configuration).await?;
    state.policy.check(&stored.hotspot)?;
    let lock = current_lock(state, configuration, &stored).await?;
    let module = config::module_text(&stored.hotspot);
    let name = config::image_name(&stored.hotspot);
    let id = queue::create(&state.db, user, configuration, &name, &module, &lock, key).await?;
    Ok((id, true))
}

/// Cancels order `id` (its owner or an administrator) and sends the "failed" e-mail.
pub async fn cancel_order(state: &AppState, user: &User, id: &str) -> Result<(), ApiError> {
    let ended = queue::cancel(&state.db, user, id).await?;
    state
        .notify_failed(&ended, &format!("cancelled by {}", user.name))
        .await;
    Ok(())
}

/// A user as administrators see them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Account {
    /// The user.
    pub user: User,
    /// When they were added (Unix seconds).
    pub created: i64,
}

/// Every user, by name.
pub async fn users(state: &AppState) -> Result<Vec<Account>, ApiError> {
    let rows = sqlx::query("SELECT name, created FROM users ORDER BY name")
        .fetch_all(&state.db.pool)
        .await?;
    let mut accounts = Vec::with_capacity(rows.len());
    for row in &rows {
        let name: String = row.try_get("name")?;
        if let Some(user) = crate::accounts::find_user(&state.db, &name).await? {
            accounts.push(Account {
                user,
                created: row.try_get("created")?,
            });
        }
    }
    Ok(accounts)
}
