//! nixspot's captive portal: offspot's endpoints and behaviour (spec section 4) in one
//! small static binary.
//!
//! - Unregistered clients get the welcome page on any host and path;
//!   `/register-hotspot/` registers the client's IP (and MAC when the ARP table knows it),
//!   lets it through the firewall and redirects to the dashboard.
//! - Registered clients get each platform's connectivity-check answer ([`platforms`]),
//!   until the registration expires after `TIMEOUT` minutes.
//! - Registrations persist in a small JSON file, rewritten atomically.
//! - The firewall is nftables' `table ip nat` with offspot's chains ([`firewall`]).
//! - Every page is in the visitor's language: the first of its `Accept-Language` the
//!   portal has a catalogue for (English, French, Spanish; region fallbacks such as
//!   `fr-CA` → `fr`), else the hotspot's (`HOTSPOT_LANGUAGE`), else English ([`lang`]).
//!   HTML pages and registration errors carry `Content-Language` and
//!   `Vary: Accept-Language`; registering redirects to the dashboard's root in the
//!   hotspot's language, or to its `/<tag>/` copy (`http://<fqdn>/fr/`) in another one.
//!
//! Without the default `server` feature the crate only holds the configuration and the
//! firewall rules, which the runtime uses to write the boot-time ruleset.

pub mod config;
pub mod firewall;
pub mod lang;
pub mod net;

#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod i18n;
#[cfg(feature = "server")]
pub mod pages;
#[cfg(feature = "server")]
pub mod platforms;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod store;
