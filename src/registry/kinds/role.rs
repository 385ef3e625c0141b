//! rbac.authorization.k8s.io/v1 Role (`pkg/registry/rbac/role/strategy.go`),
//! whose strategy ClusterRole shares (`kinds/clusterrole.rs`): stored and
//! validated as upstream (`registry::rbac`); no defaults, no status,
//! upstream's default Table (Name, Created At). Escalation checks belong to
//! authorization, which is not here yet.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::registry::kind::{self, Kind, Schema};
use crate::registry::rbac;
use crate::registry::resources::{ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true,
    short: [], cat: [], sub: [], strategy: strategy);

/// The strategy of Role (`namespaced`) and ClusterRole: the same rules,
/// but only a cluster role may name non-resource URLs.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    pub namespaced: bool,
}

fn strategy() -> Arc<dyn Kind> {
    Arc::new(Role { namespaced: true })
}

impl Kind for Role {
    fn defaults(&self, obj: &mut Value) {
        crate::registry::rbac::null_empty_rules(obj)
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
        rbac::validate_role(obj, self.namespaced)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        rbac::validate_role_update(obj, old, self.namespaced)
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
        kind::default_columns()
    }
    fn cells(&self, obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
        kind::default_cells(obj)
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
