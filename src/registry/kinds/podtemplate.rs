//! core/v1 PodTemplate (`pkg/registry/core/podtemplate/strategy.go`): a
//! stored pod template. `metadata.generation` starts at 1 and is bumped when
//! the `template` changes (not on `spec`, which it has none of); DELETE
//! answers with the object; only the metadata field selectors.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::apiserver::printers;
use crate::registry::kind::{self, Kind, Schema};
use crate::registry::resources::{ResourceInfo, resource};
use crate::registry::{defaults, validation};

/// What discovery serves.
pub const INFO: ResourceInfo = resource!("", "v1", "PodTemplate", "podtemplates", "podtemplate", true,
    short: [], cat: [], sub: [], strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct PodTemplate;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(PodTemplate)
}

fn set_generation(obj: &mut Value, generation: i64) {
    if let Some(m) = obj.as_object_mut() {
        let meta = m.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("generation".into(), json!(generation));
        }
    }
}

impl Kind for PodTemplate {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_pod_template_object)
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
        set_generation(obj, 1)
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        // Any change of the template bumps the generation; nothing else does.
        let old_gen = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let changed = new.get("template") != old.get("template");
        set_generation(new, if changed { old_gen + 1 } else { old_gen });
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        crate::registry::strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        // The store keeps `metadata.generation`; it follows `template`, not
        // `spec`: `prepare_for_update` (run after the generic spec check)
        // decides.
        true
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validation::validate_pod_template(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::validate_pod_template_update(obj, old)
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
        true
    }
    fn check_field_label(&self, label: &str) -> Result<(), String> {
        kind::no_field_labels(label)
    }
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::no_field(obj, field)
    }
    fn columns(&self) -> Vec<Value> {
        printers::pod_template_columns()
    }
    fn cells(&self, obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
        printers::pod_template_cells(obj)
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
