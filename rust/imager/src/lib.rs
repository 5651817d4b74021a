//! The nixspot Imager service (server side): people who do not write Nix configure a
//! hotspot through a JSON API, order its image, and download it when a worker has built
//! it.
//!
//! - [`config`]: a configuration is the JSON of the `hotspot` option values; it is
//!   checked against the Imager's policy (catalog content, catalog apps, known bases,
//!   no local files) and validated by evaluating it with the hotspot modules;
//!   [`evaluator`]: that evaluation, in a short-lived child process with limits.
//! - [`lock`]: the lock an order freezes, computed as `nixspot lock` computes it.
//! - [`db`], [`accounts`], [`queue`]: one schema on SQLite or PostgreSQL; users, roles,
//!   hashed API tokens and sessions; orders that are also leased build jobs.
//! - [`storage`]: images in a directory (Range requests) or S3-compatible storage
//!   (presigned download links); [`chunks`]: the chunks of stored images that uploads
//!   may refer to; [`mail`]: the ready/failed e-mails.
//! - [`service`]: what the API and the web pages both do with configurations and orders.
//! - [`web`]: the web pages (server-rendered HTML, English and French) beside the API.
//! - [`api`]: the axum router (JSON handlers, kept apart from the model so an HTML layer
//!   can sit beside them); [`server`]: settings, start-up and the expiry sweeper;
//!   [`local`]: local mode, the Imager app of one person (`nixspot imager`).
//!
//! On one machine, `nixspot imager serve` needs nothing else: SQLite and the images in
//! `./imager-data`, one embedded worker, `127.0.0.1:8080`. To scale out, point every
//! server at one PostgreSQL (`--database postgres://…`: the queue and every record live
//! there, claims use `FOR UPDATE SKIP LOCKED`), store images in S3-compatible storage
//! (`--storage s3://BUCKET?endpoint=…&region=…`: downloads are presigned links), and
//! run `--workers 0` servers with any number of `nixspot imager worker --server URL
//! --token T` processes on other machines (tokens of users added with `--worker`).

pub mod accounts;
pub mod api;
pub mod chunks;
pub mod config;
pub mod db;
pub mod error;
pub mod evaluator;
pub mod local;
pub mod lock;
pub mod mail;
pub mod queue;
pub mod server;
pub mod service;
pub mod storage;
pub mod web;

pub use error::ApiError;
pub use server::{Server, Settings};

/// Seconds since the Unix epoch: record times in the database (never in an image).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A new unguessable identifier or secret: `bytes` random bytes from the OS, in hex.
/// Identifiers are never written into images, so randomness does not harm
/// reproducibility.
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A new record identifier (128 random bits).
pub fn new_id() -> String {
    random_token(16)
}

/// The async runtime the service runs on (re-exported for the command line).
pub use tokio;
