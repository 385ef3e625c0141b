//! apps/v1 DaemonSet (`pkg/registry/apps/daemonset/strategy.go`): status
//! reset, generation and the template generation (kept in apps/v1 as the
//! `deprecated.daemonset.template.generation` annotation), `status`
//! subresource.

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
pub const INFO: ResourceInfo = resource!("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, short: ["ds"], cat: ["all"],
    sub: [Status], strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DaemonSet;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(DaemonSet)
}

/// Where apps/v1 keeps the internal `spec.templateGeneration`.
const TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";

fn template_generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(TEMPLATE_GENERATION))
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

fn set_template_generation(obj: &mut Value, generation: i64) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if annotations.is_null() {
        *annotations = json!({});
    }
    if let Some(a) = annotations.as_object_mut() {
        a.insert(
            TEMPLATE_GENERATION.into(),
            Value::String(generation.to_string()),
        );
    }
}

impl Kind for DaemonSet {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_daemon_set)
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
        strategy::set_status(
            obj,
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0}),
        );
        set_template_generation(obj, 1);
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // The client cannot set the template generation: it follows the stored
        // one, plus one when the template changed (the generation then moves too,
        // which the generic spec comparison already did).
        let old_generation = template_generation(old);
        let changed = new.pointer("/spec/template") != old.pointer("/spec/template");
        let generation = if changed {
            old_generation + 1
        } else {
            old_generation
        };
        if generation == 0 {
            if let Some(a) = new
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
            {
                a.shift_remove(TEMPLATE_GENERATION);
            }
        } else {
            set_template_generation(new, generation);
        }
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validation::workloads::validate_daemon_set(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::workloads::validate_daemon_set_update(obj, old)
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
        printers::daemon_set_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::daemon_set_cells(obj, now)
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
