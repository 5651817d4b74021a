//! Debian packages without dpkg, for nixspot's base image.
//!
//! - [`index`]: Packages indexes and (In)Release files of a mirror;
//! - [`version`], [`relation`]: dpkg's version ordering and dependency relations;
//! - [`resolve`]: the `Depends`/`Pre-Depends` closure of a package list;
//! - [`lock`]: pinning a closure (URL, sha256, size) into a JSON lock file;
//! - [`ar`], [`deb`], [`install`]: streaming `.deb` unpacking (ar + tar with
//!   xz/zst/gz) into a merged [`tree::Tree`];
//! - [`tree`] (with usr-merge), [`accounts`], [`alternatives`], [`depmod`], [`status`]:
//!   what maintainer scripts and dpkg would have written, as pure functions.
//!
//! - [`signature`]: OpenPGP verification of `InRelease` against pinned archive keys.
//!
//! Locking trusts a mirror's metadata only through a chain that starts at the pinned
//! keys: the `InRelease` signature, then each `Packages` index by the digest `Release`
//! lists, then each `.deb` by the digest its `Packages` stanza lists (kept in the lock).

pub mod accounts;
pub mod alternatives;
pub mod ar;
pub mod deb;
pub mod deb822;
pub mod depmod;
pub mod error;
pub mod index;
pub mod install;
pub mod lock;
pub mod relation;
pub mod resolve;
pub mod signature;
pub mod status;
pub mod tree;
pub mod version;

pub use error::{Error, Result};
