//! Client for the Kiwix library catalog (OPDS v2, as served by `kiwix-serve` and
//! library.kiwix.org).
//!
//! - [`opds`] streams `/catalog/v2/entries` into compact [`Entry`] values with a real XML
//!   parser and hard limits (hostile catalogs fail with a clear error, memory stays
//!   bounded).
//! - [`Catalog::load`] fetches the catalog, keeps a copy under `<cache>/catalog/`
//!   revalidated with `ETag`/`Last-Modified`, and falls back to that copy when offline.
//! - [`Catalog::search`], [`Catalog::resolve`] (the "latest" rule), [`Catalog::versions`],
//!   [`Catalog::languages`] and [`Catalog::categories`] answer questions about it.
//! - [`checksum::pin`] reads the MirrorBrain `.sha256`/`.meta4` files beside a download to
//!   pin its exact size and sha256 without downloading it.

mod catalog;
pub mod checksum;
mod client;
mod entry;
mod error;
mod ident;
pub mod opds;
mod source;

pub use catalog::{Catalog, Count, Query};
pub use client::Client;
pub use entry::Entry;
pub use error::CatalogError;
pub use ident::PackageIdent;
pub use source::{CatalogSource, Event, Loaded, DEFAULT_URL, ENV_VAR};
