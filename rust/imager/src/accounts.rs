//! Users (argon2 password hashes, roles), API tokens and sessions (random secrets stored
//! as their sha256, with an expiry).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest as _, Sha256};
use sqlx::Row as _;

use crate::db::Db;
use crate::error::ApiError;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Their own configurations and orders.
    User,
    /// Everything, every user's records.
    Admin,
    /// The worker protocol only.
    Worker,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
            Role::Worker => "worker",
        }
    }

    fn parse(text: &str) -> Role {
        match text {
            "admin" => Role::Admin,
            "worker" => Role::Worker,
            // Unknown roles get the least privilege.
            _ => Role::User,
        }
    }
}

/// An authenticated user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Record id.
    pub id: String,
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Where the ready/failed e-mails go.
    pub email: Option<String>,
}

/// Errors of account administration (the command line's `user add`, `token create`).
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The name is taken.
    #[error("user {0:?} exists already")]
    Exists(String),
    /// No such user.
    #[error("no user named {0:?}")]
    NoSuchUser(String),
    /// The name or password is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// Hashing failed.
    #[error("hashing the password: {0}")]
    Hash(String),
}

/// Hashes `password` with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .and_then(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed))
        .is_ok()
}

/// The sha256 (hex) of a token secret: what the database keeps.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a user.
pub async fn add_user(
    db: &Db,
    name: &str,
    password: &str,
    role: Role,
    email: Option<&str>,
) -> Result<User, AccountError> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        return Err(AccountError::Invalid(format!(
            "user name {name:?}: expected 1 to 64 characters of A-Z a-z 0-9 - _ . @"
        )));
    }
    if password.chars().count() < 8 {
        return Err(AccountError::Invalid(
            "the password must have at least 8 characters".into(),
        ));
    }
    let hash = hash_password(password)?;
    let id = crate::new_id();
    let result = sqlx::query(
        "INSERT INTO users (id, name, password_hash, role, email, created) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(name)
    .bind(&hash)
    .bind(role.as_str())
    .bind(email)
    .bind(crate::now())
    .execute(&db.pool)
    .await;
    match result {
        Ok(_) => Ok(User {
            id,
            name: name.to_string(),
            role,
            email: email.map(str::to_string),
        }),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(AccountError::Exists(name.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn user_from(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: Role::parse(&row.try_get::<String, _>("role")?),
        email: crate::db::opt(row, "email")?,
    })
}

/// The user named `name`.
pub async fn find_user(db: &Db, name: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name, role, email FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(user_from).transpose()
}

/// The user named `name` if `password` is theirs.
pub async fn login(db: &Db, name: &str, password: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query("SELECT id, name, role, email, password_hash FROM users WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let hash: String = row.try_get("password_hash")?;
    // argon2 is slow on purpose: off the async threads.
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false);
    if ok {
        Ok(Some(user_from(&row)?))
    } else {
        Ok(None)
    }
}

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// `Authorization: Bearer` for the API.
    Api,
    /// A browser session cookie.
    Session,
}

/// Creates a token for `user` valid `ttl_seconds`; returns the secret (shown once).
pub async fn create_token(
    db: &Db,
    user: &User,
    kind: TokenKind,
    ttl_seconds: i64,
) -> Result<String, sqlx::Error> {
    let secret = crate::random_token(32);
    let now = crate::now();
    sqlx::query(
        "INSERT INTO tokens (hash, user_id, kind, created, expires) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash(&secret))
    .bind(&user.id)
    .bind(match kind {
        TokenKind::Api => "api",
        TokenKind::Session => "session",
    })
    .bind(now)
    .bind(now.saturating_add(ttl_seconds))
    .execute(&db.pool)
    .await?;
    Ok(secret)
}

/// The user a token secret belongs to, if it exists and has not expired, and when the
/// token expires.
async fn token_user(db: &Db, hash: &str) -> Result<Option<(User, i64)>, ApiError> {
    let row = sqlx::query(
        "SELECT u.id, u.name, u.role, u.email, t.expires FROM tokens t \
         JOIN users u ON u.id = t.user_id WHERE t.hash = $1 AND t.expires > $2",
    )
    .bind(hash)
    .bind(crate::now())
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some((user_from(&row)?, row.try_get("expires")?)))
}

/// How long a token check is remembered.
const REMEMBERED_FOR: std::time::Duration = std::time::Duration::from_secs(1);
/// At most this many token checks are remembered (then all are forgotten at once).
const REMEMBERED_MAX: usize = 10_000;

/// Token checks remembered for a moment. Every API request carries its token, and under
/// load most requests come from clients asking again and again: the database round
/// trip of the check was half of an order-status request's work. A token revoked
/// through this server is forgotten at once ([`Tokens::revoke`]); one deleted by
/// another server sharing the database, or a user changed from the command line, is
/// seen within [`REMEMBERED_FOR`]. Expiry is checked on every use.
#[derive(Debug, Default)]
pub struct Tokens {
    checked: std::sync::Mutex<std::collections::HashMap<String, Checked>>,
}

/// A token found valid, and when.
#[derive(Debug)]
struct Checked {
    user: User,
    expires: i64,
    at: std::time::Instant,
}

impl Tokens {
    /// The user a token secret belongs to, if it exists and has not expired.
    pub async fn authenticate(&self, db: &Db, secret: &str) -> Result<Option<User>, ApiError> {
        let hash = token_hash(secret);
        if let Some(user) = self.remembered(&hash) {
            return Ok(Some(user));
        }
        let Some((user, expires)) = token_user(db, &hash).await? else {
            return Ok(None);
        };
        let mut checked = self.lock();
        if checked.len() >= REMEMBERED_MAX {
            checked.clear();
        }
        let at = std::time::Instant::now();
        let remembered = Checked {
            user: user.clone(),
            expires,
            at,
        };
        checked.insert(hash, remembered);
        Ok(Some(user))
    }

    /// Deletes `secret`'s token (logout); this server stops accepting it at once.
    pub async fn revoke(&self, db: &Db, secret: &str) -> Result<(), sqlx::Error> {
        self.lock().remove(&token_hash(secret));
        let deleted = revoke(db, secret).await;
        // A request that checked the token while it was being deleted may have
        // remembered it again.
        self.lock().remove(&token_hash(secret));
        deleted
    }

    fn remembered(&self, hash: &str) -> Option<User> {
        let checked = self.lock();
        let found = checked.get(hash)?;
        (found.at.elapsed() < REMEMBERED_FOR && found.expires > crate::now())
            .then(|| found.user.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Checked>> {
        // A panic elsewhere while holding it leaves a map that is still whole.
        self.checked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Deletes `secret`'s token (logout): [`Tokens::revoke`].
async fn revoke(db: &Db, secret: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM tokens WHERE hash = $1")
        .bind(token_hash(secret))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Deletes expired tokens (the sweeper calls it).
pub async fn delete_expired_tokens(db: &Db) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM tokens WHERE expires <= $1")
        .bind(crate::now())
        .execute(&db.pool)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn remembered_tokens_are_forgotten_when_they_expire_or_grow_old() {
        let tokens = Tokens::default();
        let user = User {
            id: "u1".into(),
            name: "alice".into(),
            role: Role::User,
            email: None,
        };
        let remember = |hash: &str, expires: i64, age: std::time::Duration| {
            let at = std::time::Instant::now().checked_sub(age).unwrap();
            let user = user.clone();
            tokens
                .lock()
                .insert(hash.into(), Checked { user, expires, at });
        };
        let now = crate::now();
        remember("fresh", now + 60, std::time::Duration::ZERO);
        remember("expired", now - 1, std::time::Duration::ZERO);
        remember("old", now + 60, REMEMBERED_FOR);
        assert_eq!(tokens.remembered("fresh"), Some(user.clone()));
        assert_eq!(tokens.remembered("expired"), None);
        assert_eq!(tokens.remembered("old"), None);
        assert_eq!(tokens.remembered("unknown"), None);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
