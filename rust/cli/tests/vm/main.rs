//! The VM checks, in one test binary so that its two tests boot their machines at the
//! same time: QEMU runs each machine on one host thread (`-accel tcg,thread=single`), so
//! on a two-core runner both take little more time than one, where two test binaries
//! (run one after the other) took the sum.
//!
//! * `pi3`: the test hotspot on the Pi 3 B with every check;
//! * `boards`: the same image on the Pi 4 B and the Pi Zero 2 W;
//! * `image`: how both build it.

#[path = "../support/mod.rs"]
mod support;

mod boards;
mod image;
mod pi3;
