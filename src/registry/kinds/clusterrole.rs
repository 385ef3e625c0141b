//! rbac.authorization.k8s.io/v1 ClusterRole
//! (`pkg/registry/rbac/clusterrole/strategy.go`): Role's strategy
//! (`kinds/role.rs`), cluster-scoped, so its rules may name non-resource
//! URLs. `aggregationRule` is stored; nothing aggregates yet.

use std::sync::Arc;

use super::role::Role;
use crate::registry::kind::Kind;
use crate::registry::resources::{ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false,
    short: [], cat: [], sub: [], strategy: strategy);

fn strategy() -> Arc<dyn Kind> {
    Arc::new(Role { namespaced: false })
}
