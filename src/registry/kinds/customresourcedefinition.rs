//! apiextensions.k8s.io/v1 CustomResourceDefinition
//! (`apiextensions-apiserver/pkg/registry/customresourcedefinition/strategy.go`
//! and `etcd.go`): the wiring of `apiextensions::crd` (defaults, status and
//! generation handling, the clean-up finalizer on delete) and
//! `apiextensions::strategy` (validation with the schema and CEL checks).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::apiextensions::{crd, strategy as crd_strategy};
use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::registry::kind::{self, Kind, Schema};
use crate::registry::resources::{ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("apiextensions.k8s.io", "v1", "CustomResourceDefinition",
    "customresourcedefinitions", "customresourcedefinition", false, short: ["crd", "crds"],
    cat: ["api-extensions"], sub: [Status],
    strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomResourceDefinition;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(CustomResourceDefinition)
}

impl Kind for CustomResourceDefinition {
    fn defaults(&self, obj: &mut Value) {
        crd::default_crd(obj)
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
        crd::prepare_for_create(obj)
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // Status from the old object, generation by a semantic spec
        // comparison, the storage version appended to storedVersions.
        crd::prepare_for_update(new, old)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        crd::prepare_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        crd_strategy::validate(obj, None)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        crd_strategy::validate(obj, Some(old))
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
    fn mark_for_deletion(&self, obj: &mut Value, now: &str) -> bool {
        // The first delete adds the clean-up finalizer and the Terminating
        // condition; the CRD controller deletes the custom resources.
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            return false;
        }
        crd::mark_for_deletion(obj, now);
        true
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
