//! apps/v1 StatefulSet (`pkg/registry/apps/statefulset/strategy.go`):
//! status reset and generation, `scale` and `status` subresources; an
//! update may change only replicas, ordinals, template, update strategy,
//! claim retention policy and minReadySeconds (validation).

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
    strategy, validation,
};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, short: ["sts"], cat: ["all"],
    sub: [Scale, Status], strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatefulSet;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(StatefulSet)
}

/// `dropStatefulSetDisabledFields`: `rollingUpdate.maxUnavailable` is behind
/// the MaxUnavailableStatefulSet gate (alpha, off), so it is dropped unless
/// the stored object already has it.
fn drop_max_unavailable(obj: &mut Value, old: Option<&Value>) {
    const AT: &str = "/spec/updateStrategy/rollingUpdate/maxUnavailable";
    if old.is_some_and(|o| o.pointer(AT).is_some_and(|v| !v.is_null())) {
        return;
    }
    if let Some(ru) = obj
        .pointer_mut("/spec/updateStrategy/rollingUpdate")
        .and_then(Value::as_object_mut)
    {
        ru.shift_remove("maxUnavailable");
    }
}

impl Kind for StatefulSet {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_stateful_set)
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
        strategy::set_status(obj, json!({"replicas": 0, "availableReplicas": 0}));
        drop_max_unavailable(obj, None);
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        drop_max_unavailable(new, Some(old))
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validation::workloads::validate_stateful_set(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::workloads::validate_stateful_set_update(obj, old)
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
        printers::stateful_set_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::stateful_set_cells(obj, now)
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
