//! apps/v1 ControllerRevision (`pkg/registry/apps/controllerrevision/
//! strategy.go`): immutable `data`, no status, no generation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::apiserver::printers;
use crate::registry::{
    kind::{self, Kind, Schema},
    resources::{ResourceInfo, resource},
    strategy, validation,
};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", true, short: [], cat: [],
    sub: [], strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct ControllerRevision;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(ControllerRevision)
}

impl Kind for ControllerRevision {
    fn defaults(&self, obj: &mut Value) {
        kind::nothing(obj)
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
        strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        false
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validation::workloads::validate_controller_revision(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::workloads::validate_controller_revision_update(obj, old)
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
        printers::controller_revision_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::controller_revision_cells(obj, now)
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
