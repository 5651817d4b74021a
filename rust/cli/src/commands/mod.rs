//! One module per `nixspot` subcommand.
pub mod assemble;
pub mod base;
pub mod build;
pub mod cache;
pub mod catalog;
pub mod eval;
pub mod fetch;
pub mod flash;
pub mod imager;
pub mod inspect;
pub mod lock;
pub mod manifest;
pub mod oci;
pub mod options;
pub mod shared_args;
pub mod size;
pub mod vm_test;
