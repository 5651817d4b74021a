//! nixspot-assemble: rootless, reproducible assembly of hotspot images from
//! image-creator recipes, and read-only inspection of images.
//!
//! [`assemble::plan`] reads the base image and lays out the new data partition (sizes
//! follow image-creator's rules, computed from the real partition table);
//! [`assemble::Plan::write`] writes the image through a temporary file.

pub mod assemble;
pub mod data;
pub mod error;
pub mod inspect;
pub mod output;
pub mod pipeline;
pub mod stamp;

pub use assemble::{plan, AssembleOptions, Plan, Summary};
pub use error::AssembleError;
pub use inspect::{inspect, Inspection};
pub use output::{compress, remove_partial_outputs, Compression};
