//! core/v1 Namespace (`pkg/registry/core/namespace/strategy.go` and
//! `storage/storage.go`): deletion is two-phase (the namespace controller
//! empties it, then removes the `kubernetes` finalizer through `/finalize`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::apiserver::printers;
use crate::registry::{
    defaults,
    kind::{self, Kind, Schema},
    resources::{ResourceInfo, resource},
    store::IMMORTAL_NAMESPACES,
    strategy, validation,
};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("", "v1", "Namespace", "namespaces", "namespace", false, short: ["ns"], cat: [],
    sub: [Status,
          Finalize], strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Namespace;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(Namespace)
}

impl Kind for Namespace {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_namespace)
    }
    fn defaults_on_create(&self, obj: &mut Value) {
        // Upstream sets this label in defaulting, so the creator owns it.
        strategy::ensure_namespace_name_label(obj)
    }
    fn admit_create(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn admit_update(&self, new: &mut Value, old: &Value) {
        kind::nothing_on_update(new, old)
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        strategy::ensure_namespace_name_label(obj);
        if let Some(m) = obj.as_object_mut() {
            m.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
            m.insert("status".into(), json!({"phase": "Active"}));
        }
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // Only `/finalize` may change the finalizers.
        strategy::copy_field(new, old, "spec");
        strategy::ensure_namespace_name_label(new)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        crate::registry::strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        false
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validation::validate_namespace(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::validate_namespace_update(obj, old)
    }
    fn allocates_cluster_ips(&self) -> bool {
        false
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn graceful_delete_seconds(&self, _obj: &Value, _requested: Option<i64>) -> Option<i64> {
        None
    }
    fn waits_for_spec_finalizers(&self) -> bool {
        true
    }
    fn immortal(&self, name: &str) -> bool {
        IMMORTAL_NAMESPACES.contains(&name)
    }
    fn mark_for_deletion(&self, _obj: &mut Value, _now: &str) -> bool {
        false
    }
    fn returns_deleted_object(&self) -> bool {
        true
    }
    fn check_field_label(&self, label: &str) -> Result<(), String> {
        fields::check_label_in(fields::NAMESPACE_LABELS, label)
    }
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::namespace_field(obj, field)
    }
    fn columns(&self) -> Vec<Value> {
        printers::namespace_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::namespace_cells(obj, now)
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
