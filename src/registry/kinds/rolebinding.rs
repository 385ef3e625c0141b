//! rbac.authorization.k8s.io/v1 RoleBinding (`pkg/registry/rbac/rolebinding/strategy.go`),
//! whose strategy ClusterRoleBinding shares (`kinds/clusterrolebinding.rs`):
//! defaults (an empty `roleRef.apiGroup` and user/group subjects' apiGroup
//! are RBAC's), upstream's validation (`registry::rbac`, `roleRef`
//! immutable), and upstream's Table (Name, Role, Age; wide: Users, Groups,
//! ServiceAccounts). Checking that the binder holds the role belongs to
//! authorization, which is not here yet.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::apiserver::printers;
use crate::registry::kind::{self, Kind, Schema};
use crate::registry::rbac;
use crate::registry::resources::{ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true,
    short: [], cat: [], sub: [], strategy: strategy);

/// The strategy of RoleBinding (`namespaced`) and ClusterRoleBinding: a
/// cluster binding may only name a ClusterRole, and its service-account
/// subjects need a namespace.
#[derive(Debug, Clone, Copy)]
pub struct RoleBinding {
    pub namespaced: bool,
}

fn strategy() -> Arc<dyn Kind> {
    Arc::new(RoleBinding { namespaced: true })
}

impl Kind for RoleBinding {
    fn defaults(&self, obj: &mut Value) {
        rbac::default_binding(obj)
    }
    fn defaults_on_create(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn admit_create(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn admit_update(&self, new: &mut Value, old: &Value) {
        kind::nothing_on_update(new, old)
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        kind::nothing_on_update(new, old)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        crate::registry::strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        false
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        rbac::validate_binding(obj, self.namespaced)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        rbac::validate_binding_update(obj, old, self.namespaced)
    }
    fn allocates_cluster_ips(&self) -> bool {
        false
    }
    fn allow_create_on_update(&self) -> bool {
        true
    }
    fn graceful_delete_seconds(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }
    fn waits_for_spec_finalizers(&self) -> bool {
        false
    }
    fn immortal(&self, _name: &str) -> bool {
        false
    }
    fn mark_for_deletion(&self, _obj: &mut Value, _now: &str) -> bool {
        false
    }
    fn returns_deleted_object(&self) -> bool {
        false
    }
    fn check_field_label(&self, label: &str) -> Result<(), String> {
        kind::no_field_labels(label)
    }
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::no_field(obj, field)
    }
    fn columns(&self) -> Vec<Value> {
        printers::role_binding_columns(!self.namespaced)
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::role_binding_cells(obj, now)
    }
    fn served_to_storage(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn storage_to_served(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn schema(&self) -> Schema {
        Schema::BuiltinOpenApi
    }
}
