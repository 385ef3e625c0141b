//! rbac.authorization.k8s.io/v1 ClusterRoleBinding
//! (`pkg/registry/rbac/clusterrolebinding/strategy.go`): RoleBinding's
//! strategy (`kinds/rolebinding.rs`), cluster-scoped: only a ClusterRole may
//! be bound, and service-account subjects must name their namespace.

use std::sync::Arc;

use super::rolebinding::RoleBinding;
use crate::registry::kind::Kind;
use crate::registry::resources::{ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false,
    short: [], cat: [], sub: [], strategy: strategy);

fn strategy() -> Arc<dyn Kind> {
    Arc::new(RoleBinding { namespaced: false })
}
