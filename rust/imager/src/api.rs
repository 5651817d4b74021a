//! The JSON API (`/api/v1/…`): thin handlers over [`crate::config`], [`crate::queue`],
//! [`crate::accounts`] and [`crate::storage`]. An HTML layer can sit beside these
//! routes and call the same functions.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::accounts::{self, Role, TokenKind, User};
use crate::config;
use crate::error::ApiError;
use crate::queue;
use crate::server::AppState;
use crate::service;
use crate::storage::{LocalImage, Storage};
use nixspot_imager_worker::sparse;

type Shared = Arc<AppState>;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nixspot_session";

/// The largest configuration body accepted (logos included).
const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

/// The router of the whole API.
pub fn router(state: Shared) -> Router {
    let json_limit = axum::extract::DefaultBodyLimit::max(MAX_CONFIG_BYTES);
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/session", post(login).delete(logout))
        .route("/api/v1/me", get(me))
        .route(
            "/api/v1/configurations",
            post(create_configuration).get(list_configurations),
        )
        .route(
            "/api/v1/configurations/{id}",
            get(get_configuration)
                .put(update_configuration)
                .delete(delete_configuration),
        )
        .route("/api/v1/configurations/{id}/module.nix", get(module_nix))
        .route("/api/v1/configurations/{id}/lock.json", get(lock_json))
        .route("/api/v1/orders", post(create_order).get(list_orders))
        .route("/api/v1/orders/{id}", get(get_order))
        .route("/api/v1/orders/{id}/image", get(download))
        .route("/api/v1/orders/{id}/cancel", post(cancel))
        .route("/api/v1/orders/{id}/retry", post(retry))
        .route("/api/v1/catalog", get(catalog))
        .route("/api/v1/workers", get(workers))
        .route("/api/v1/worker/claim", post(claim))
        .route("/api/v1/worker/jobs/{id}/heartbeat", post(heartbeat))
        .route("/api/v1/worker/jobs/{id}/chunks", post(held_chunks))
        .route(
            "/api/v1/worker/jobs/{id}/image",
            // Images are large: no body limit on the upload (it is streamed, hashed and
            // checked against its Content-Length).
            put(upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/v1/worker/jobs/{id}/fail", post(fail))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(json_limit)
        .with_state(state)
}

/// The authenticated caller: `Authorization: Bearer TOKEN` or the session cookie.
pub struct Caller(pub User);

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        return text.strip_prefix("Bearer ").map(|t| t.trim().to_string());
    }
    let cookies = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| {
        c.trim()
            .strip_prefix(SESSION_COOKIE)
            .and_then(|r| r.strip_prefix('='))
            .map(str::to_string)
    })
}

impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        let unauthorized = |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, m);
        let Some(secret) = bearer(parts) else {
            return Err(unauthorized(
                "authentication required: send Authorization: Bearer <token>",
            ));
        };
        match state.tokens.authenticate(&state.db, &secret).await? {
            Some(user) => Ok(Caller(user)),
            None => Err(unauthorized("the token is unknown or has expired")),
        }
    }
}

impl Caller {
    fn person(self) -> Result<User, ApiError> {
        match self.0.role {
            Role::User | Role::Admin => Ok(self.0),
            Role::Worker => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a worker token can only use /api/v1/worker/…",
            )),
        }
    }

    fn admin(self) -> Result<User, ApiError> {
        match self.0.role {
            Role::Admin => Ok(self.0),
            _ => Err(ApiError::new(StatusCode::FORBIDDEN, "administrators only")),
        }
    }

    fn worker(self) -> Result<User, ApiError> {
        match self.0.role {
            Role::Worker | Role::Admin => Ok(self.0),
            Role::User => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a worker token is required (a user with role worker)",
            )),
        }
    }
}

/// A JSON body, with a 400 naming the problem instead of axum's plain-text rejection.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(e) => Err(ApiError::bad_request(e.body_text())),
        }
    }
}

async fn health(State(state): State<Shared>) -> Result<Json<Value>, ApiError> {
    sqlx::query("SELECT 1").execute(&state.db.pool).await?;
    Ok(Json(json!({"status": "ok"})))
}

#[derive(Deserialize)]
struct LoginBody {
    name: String,
    password: String,
}

async fn login(
    State(state): State<Shared>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let Some(user) = accounts::login(&state.db, &body.name, &body.password).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong user name or password",
        ));
    };
    let ttl = 24 * 3600;
    let token = accounts::create_token(&state.db, &user, TokenKind::Session, ttl).await?;
    let cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}");
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(json!({"token": token, "expires_in": ttl, "user": user})),
    )
        .into_response())
}

async fn logout(State(state): State<Shared>, parts: Request) -> Result<StatusCode, ApiError> {
    let (parts, _) = parts.into_parts();
    if let Some(secret) = bearer(&parts) {
        state.tokens.revoke(&state.db, &secret).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(caller: Caller) -> Json<User> {
    Json(caller.0)
}

async fn create_configuration(
    State(state): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody<Value>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = caller.person()?;
    let id = service::create_configuration(&state, &user, &body).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

async fn list_configurations(
    State(state): State<Shared>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let user = caller.person()?;
    let list = service::list_configurations(&state, &user, true).await?;
    Ok(Json(json!({"configurations": list})))
}

async fn get_configuration(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.person()?;
    let stored = service::load_configuration(&state, &user, &id).await?;
    let mut body = stored.hotspot;
    if let Some(object) = body.as_object_mut() {
        object.insert("id".into(), json!(id));
    }
    Ok(Json(body))
}

async fn update_configuration(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.person()?;
    service::update_configuration(&state, &user, &id, &body).await?;
    Ok(Json(json!({"id": id})))
}

async fn delete_configuration(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = caller.person()?;
    service::delete_configuration(&state, &user, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn module_nix(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = caller.person()?;
    let stored = service::load_configuration(&state, &user, &id).await?;
    Ok(text_file(
        config::module_text(&stored.hotspot),
        "text/plain; charset=utf-8",
        "module.nix",
    ))
}

fn text_file(text: String, content_type: &str, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response()
}

/// The configuration's lock: the one its last order froze, else computed now (and kept).
async fn lock_json(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = caller.person()?;
    let lock = service::configuration_lock(&state, &user, &id).await?;
    Ok(text_file(lock, "application/json", "module.lock.json"))
}

#[derive(Deserialize)]
struct OrderBody {
    configuration: String,
}

/// Creates an order. An `Idempotency-Key` header makes retries safe: the same key
/// gives the same order (200 instead of 201), never a second one.
async fn create_order(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<OrderBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = caller.person()?;
    let key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::bad_request("Idempotency-Key: expected 1 to 255 visible characters")
                })?
                .to_string(),
        ),
        None => None,
    };
    let (id, created) =
        service::create_order(&state, &user, &body.configuration, key.as_deref()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"id": id}))))
}

async fn list_orders(State(state): State<Shared>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let user = caller.person()?;
    Ok(Json(
        json!({"orders": queue::list(&state.db, &user).await?}),
    ))
}

async fn get_order(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<queue::Order>, ApiError> {
    let user = caller.person()?;
    Ok(Json(queue::get(&state.db, &user, &id).await?))
}

/// The image: served from the directory (Range requests work) or a 302 to a presigned
/// S3 URL.
async fn download(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let user = caller.person()?;
    let order = queue::get(&state.db, &user, &id).await?;
    let key = match (&order.state[..], &order.storage_key) {
        ("ready", Some(key)) => key.clone(),
        (state, _) => {
            return Err(ApiError::conflict(format!(
                "order {id} is {state}: only a ready order has an image"
            )))
        }
    };
    if let Storage::Local { .. } = state.storage {
        let image = state
            .storage
            .open_local(&key)
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .ok_or_else(|| {
                ApiError::internal(format!("order {id}: its image is missing from storage"))
            })?;
        return Ok(ranged(image, request.headers(), &order));
    }
    let link = state
        .storage
        .presigned(&key, state.settings.link_ttl)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .ok_or_else(|| ApiError::internal("no download link"))?;
    Ok((StatusCode::FOUND, [(header::LOCATION, link)]).into_response())
}

/// A local image as the answer to a GET: whole (200), or the one range asked for (206;
/// several ranges get the whole image); a range outside it is refused (416).
fn ranged(image: LocalImage, headers: &HeaderMap, order: &queue::Order) -> Response {
    let size = image.size();
    let asked = headers
        .get(header::RANGE)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|text| http_range_header::parse_range_header(text).ok())
                .and_then(|ranges| ranges.validate(size).ok())
        })
        .map(|ranges| ranges.filter(|r| !r.is_empty()));
    let (status, range) = match asked {
        None => (StatusCode::OK, 0..size),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response()
        }
        Some(Some(ranges)) => match &ranges[..] {
            [one] => (
                StatusCode::PARTIAL_CONTENT,
                *one.start()..size.min(one.end().saturating_add(1)),
            ),
            _ => (StatusCode::OK, 0..size),
        },
    };
    let mut response = Response::new(Body::from_stream(image.read(range.clone())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set(
        header::CONTENT_LENGTH,
        (range.end - range.start).to_string(),
    );
    set(header::CONTENT_TYPE, "application/octet-stream".into());
    set(header::ACCEPT_RANGES, "bytes".into());
    if status == StatusCode::PARTIAL_CONTENT {
        set(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{size}", range.start, range.end - 1),
        );
    }
    set(
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{}.img\"", order.name),
    );
    response
}

async fn cancel(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.person()?;
    service::cancel_order(&state, &user, &id).await?;
    Ok(Json(json!({"id": id, "state": "failed"})))
}

async fn retry(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = caller.admin()?;
    queue::retry(&state.db, &user, &id).await?;
    Ok(Json(json!({"id": id, "state": "queued"})))
}

#[derive(Deserialize)]
struct CatalogQuery {
    q: Option<String>,
    lang: Option<String>,
    category: Option<String>,
    flavour: Option<String>,
}

async fn catalog(
    State(state): State<Shared>,
    caller: Caller,
    Query(query): Query<CatalogQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.person()?;
    let catalog = state.catalog().await?;
    let query = nixspot_catalog::Query {
        words: query
            .q
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        lang: query.lang.filter(|l| !l.is_empty()),
        category: query.category.filter(|c| !c.is_empty()),
        flavour: query.flavour.filter(|f| !f.is_empty()),
        max_size: None,
    };
    let entries: Vec<Value> = catalog
        .search(&query)
        .into_iter()
        .take(500)
        .map(|e| {
            json!({
                "package": format!("{}:{}", e.name, e.flavour),
                "name": e.name, "flavour": e.flavour, "title": e.title,
                "summary": e.summary, "languages": e.languages, "category": e.category,
                "tags": e.tags, "size": e.length, "date": e.date, "icon": e.icon_url,
            })
        })
        .collect();
    Ok(Json(json!({"entries": entries})))
}

async fn workers(State(state): State<Shared>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.admin()?;
    Ok(Json(json!({"workers": queue::workers(&state.db).await?})))
}

#[derive(Deserialize)]
struct ClaimBody {
    worker: String,
}

async fn claim(
    State(state): State<Shared>,
    caller: Caller,
    JsonBody(body): JsonBody<ClaimBody>,
) -> Result<Response, ApiError> {
    caller.worker()?;
    if body.worker.is_empty() || body.worker.len() > 128 {
        return Err(ApiError::bad_request(
            "worker: expected a name of 1 to 128 bytes",
        ));
    }
    queue::seen(&state.db, &body.worker).await?;
    for ended in queue::fail_exhausted(&state.db).await? {
        state.notify_failed(&ended, "").await;
    }
    match queue::claim(&state.db, &body.worker, state.settings.lease_seconds).await? {
        Some(job) => Ok(Json(json!({"job": job})).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[derive(Deserialize)]
struct HeartbeatBody {
    step: Option<String>,
    progress: Option<f64>,
}

async fn heartbeat(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<HeartbeatBody>,
) -> Result<Json<Value>, ApiError> {
    caller.worker()?;
    let lease = state.settings.lease_seconds;
    queue::heartbeat(&state.db, &id, body.step.as_deref(), body.progress, lease).await?;
    Ok(Json(json!({"lease_seconds": lease})))
}

/// Digests a worker may ask about in one request (its client asks 10,000 at a time).
const MAX_CHUNKS_ASKED: usize = 20_000;

#[derive(Deserialize)]
struct ChunksBody {
    digests: Vec<String>,
}

/// Which of the chunks a worker is about to upload this server holds already: the
/// upload then refers to them instead of sending their bytes (`sparse`'s reference
/// records). The answer lists the indices of the held ones.
async fn held_chunks(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ChunksBody>,
) -> Result<Json<Value>, ApiError> {
    caller.worker()?;
    if body.digests.len() > MAX_CHUNKS_ASKED {
        return Err(ApiError::bad_request(format!(
            "digests: {} asked at once, at most {MAX_CHUNKS_ASKED}",
            body.digests.len()
        )));
    }
    let digests = body
        .digests
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut digest = [0u8; sparse::DIGEST];
            hex::decode_to_slice(d, &mut digest)
                .map(|()| digest)
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "digests[{i}]: expected {} hex digits, got {d:?}",
                        2 * sparse::DIGEST
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Only the worker holding the job uploads its image.
    queue::held(&state.db, &id).await?;
    let held = match state.storage.chunks() {
        Some(chunks) => chunks.held_indices(&digests),
        None => Vec::new(),
    };
    Ok(Json(json!({ "held": held })))
}

async fn upload(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    caller.worker()?;
    let sha256 = headers
        .get("x-image-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| ApiError::bad_request("X-Image-Sha256: expected 64 hex digits"))?;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let order = queue::held(&state.db, &id).await?;
    // A key of its own per upload: a late upload of a lost lease never overwrites the
    // image another worker stored.
    let key = format!(
        "images/{}/{}-{}.img",
        order.order,
        order.name,
        &id[..8.min(id.len())]
    );
    // The worker's sparse upload (its data ranges, the holes left out), or the image's
    // bytes as they are.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let sparse = content_type == sparse::CONTENT_TYPE;
    if !sparse && content_type.starts_with(sparse::CONTENT_TYPE_FAMILY) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "Content-Type {content_type}: this server takes sparse uploads as {} \
             (records with checksums): update the worker to this server's nixspot",
                sparse::CONTENT_TYPE
            ),
        ));
    }
    let stored = if sparse {
        let size = headers
            .get(sparse::SIZE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{}: expected the image's length in bytes (a sparse upload)",
                    sparse::SIZE_HEADER
                ))
            })?;
        state
            .storage
            .put_sparse(&key, body.into_data_stream(), length, size)
            .await
    } else {
        state
            .storage
            .put(&key, body.into_data_stream(), length, &sha256)
            .await
    };
    let size = stored.map_err(|e| match e {
        crate::storage::StorageError::Mismatch(m) => ApiError::invalid(None, m),
        crate::storage::StorageError::ChunkGone(m) => {
            ApiError::new(StatusCode::PRECONDITION_FAILED, m)
        }
        other => ApiError::internal(other.to_string()),
    })?;
    let expires = crate::now().saturating_add(state.settings.image_ttl.as_secs() as i64);
    let size_i64 = i64::try_from(size).unwrap_or(i64::MAX);
    let ended = match queue::finish(&state.db, &id, &sha256, size_i64, &key, expires).await {
        Ok(ended) => ended,
        Err(e) => {
            // Cancelled or taken over while uploading: the object is nobody's.
            let _ = state.storage.delete(&key).await;
            return Err(e);
        }
    };
    state.notify_ready(&ended, &sha256, size_i64, expires).await;
    Ok(Json(
        json!({"order": ended.order, "state": "ready", "sha256": sha256, "size": size}),
    ))
}

#[derive(Deserialize)]
struct FailBody {
    error: String,
}

async fn fail(
    State(state): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<FailBody>,
) -> Result<Json<Value>, ApiError> {
    caller.worker()?;
    // Bounded: a reason is for a person to read.
    let reason: String = body.error.chars().take(4000).collect();
    let ended = queue::fail(&state.db, &id, &reason).await?;
    state.notify_failed(&ended, &reason).await;
    Ok(Json(json!({"order": ended.order, "state": "failed"})))
}
