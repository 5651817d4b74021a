//! nixspot-vmtest: boots a nixspot image in QEMU's `raspi3b` or `raspi4b` machine and
//! tests it.
//!
//! * [`bootfiles`]: kernel, device tree, initrd and command line read from the image's own
//!   FAT boot partition (QEMU ignores `config.txt` and the VideoCore firmware), as the
//!   emulated [`Board`] (Pi 3 B, Pi 4 B, Zero 2 W) boots them.
//! * [`disk`]: the sparse, power-of-two-sized copy QEMU boots (the image stays pristine).
//! * [`machine`]: the running VM: a command channel on the `ttyS1` serial console framed
//!   like the NixOS test driver's backdoor, HTTP through usb-net `hostfwd`, reboot and
//!   shutdown, per-step and global timeouts; QEMU is killed by PID when dropped.
//! * [`http`]: a small HTTP/1.1 client for guest ports forwarded to 127.0.0.1.
//! * [`checks`]: the named checks behind `nixspot vm-test --check NAME`.
//!
//! Facts about the emulated machines: `shared/spec/raspi3b-qemu.md`,
//! `shared/spec/wifi-and-pi4-vm.md` (raspi4b, Zero 2 W).

#![deny(missing_docs)]

pub mod bootfiles;
pub mod checks;
pub mod disk;
pub mod error;
pub mod http;
pub mod machine;

pub use bootfiles::Board;
pub use checks::{find_check, run_checks, Check, CheckOutcome, RunReport, CHECKS};
pub use error::{Error, Result};
pub use http::HttpResponse;
pub use machine::{Machine, MachineConfig, Report};
