//! The registry: the table of served resources, the generic store that
//! implements every verb over the storage trait, and the per-kind rules
//! (defaults, strategy, validation) it consults.

pub mod admission;
pub mod allocator;
pub mod conversion;
pub mod defaults;
pub mod eviction;
pub mod gotypes;
pub mod handler;
pub mod kind;
pub mod kinds;
pub mod rbac;
pub mod resources;
pub mod served;
pub mod store;
pub mod strategy;
pub mod typecheck;
pub mod validation;
