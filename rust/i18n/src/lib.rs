//! The languages nixspot's device programs speak ([`Lang`]), their Fluent message
//! catalogues with English behind every other language (`Catalog`, feature `catalog`),
//! and the check that keeps a crate's `locales/*.ftl` complete and consistent
//! (`check`, feature `check`, for tests only: device binaries do not carry it).
//!
//! nixspot-portal and nixspot-dashboard each embed their own `locales/` files and hand
//! them to `Catalog::new` as a `Sources` function.

mod lang;
pub use lang::{is_language_tag, Lang};

#[cfg(feature = "catalog")]
mod catalog;
#[cfg(feature = "catalog")]
pub use catalog::{Arg, Catalog, Sources};

#[cfg(feature = "check")]
pub mod check;
