//! Store primitives: pure functions that compute what Nix computes for the store
//! without touching a store. Store paths of sources and `toFile` texts, NAR
//! serialisation and hashing, Nix's base-32, and derivations (ATerm, hash modulo,
//! output paths, `.drv` paths).
//!
//! Everything here is checked against real Nix 2.8 in the unit tests (known values
//! taken from `nix-hash`, `nix-store --dump`, `nix-instantiate --eval`).

pub mod base32;
pub mod derivation;
pub mod hash;
pub mod nar;
pub mod paths;

/// The store directory every path lives in (Nix's default, and the only one supported).
pub const STORE_DIR: &str = "/nix/store";

/// Errors of the store primitives; messages follow Nix's wording.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// A store path name breaks Nix's naming rules.
    #[error("{0}")]
    BadName(String),
    /// A hash string that cannot be parsed.
    #[error("{0}")]
    BadHash(String),
    /// Something that is not a store path where one is needed.
    #[error("path '{0}' is not in the Nix store")]
    NotAStorePath(String),
    /// The hash modulo of an input derivation is unknown to the caller.
    #[error("the derivation '{0}' is not known (its hash modulo is needed)")]
    UnknownInputDerivation(String),
}
