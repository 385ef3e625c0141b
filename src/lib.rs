//! ironkube: a Kubernetes control plane in one small binary.
//!
//! See `ARCHITECTURE.md` for the map of the code and its invariants.

pub mod apiextensions;
pub mod apimachinery;
pub mod apiserver;
pub mod auth;
pub mod bench;
pub mod controllers;
pub mod openapi;
pub mod registry;
pub mod server;
pub mod snapshot;
pub mod storage;
