//! batch/v1 Job (`pkg/registry/batch/job/strategy.go`): status reset and
//! generation on create, a generated selector (the Job's uid) and its
//! labels on the template unless `manualSelector` is true, the `status`
//! subresource, and the `status.successful` field selector.

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
pub const INFO: ResourceInfo = resource!("batch", "v1", "Job", "jobs", "job", true, short: [], cat: ["all"],
    sub: [Status], strategy: strategy);

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Job;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(Job)
}

/// `generateSelector` (PrepareForCreate): unless `manualSelector` is true,
/// the template gets the Job's name and uid labels (legacy and prefixed;
/// labels the user set are kept, and validation refuses conflicts) and the
/// selector selects the prefixed uid label. The Job's own labels, when it
/// has none, are the template's (what `SetDefaults_Job` makes of the stored
/// object when upstream reads it back).
fn generate_selector(job: &mut Value) {
    use crate::registry::validation::batch::{
        CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
    };
    if job.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true) {
        return;
    }
    let name = job
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let uid = job
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(spec) = job.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if let Some(t) = template.as_object_mut() {
        let meta = t.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if labels.is_null() {
                *labels = json!({});
            }
            if let Some(labels) = labels.as_object_mut() {
                for (key, value) in [
                    (LEGACY_JOB_NAME_LABEL, &name),
                    (JOB_NAME_LABEL, &name),
                    (LEGACY_CONTROLLER_UID_LABEL, &uid),
                    (CONTROLLER_UID_LABEL, &uid),
                ] {
                    labels
                        .entry(key)
                        .or_insert_with(|| Value::String(value.clone()));
                }
            }
        }
    }
    let selector = spec.entry("selector").or_insert_with(|| json!({}));
    if selector.is_null() {
        *selector = json!({});
    }
    if let Some(sel) = selector.as_object_mut() {
        let ml = sel.entry("matchLabels").or_insert_with(|| json!({}));
        if ml.is_null() {
            *ml = json!({});
        }
        if let Some(ml) = ml.as_object_mut() {
            ml.entry(CONTROLLER_UID_LABEL)
                .or_insert_with(|| Value::String(uid.clone()));
        }
    }
    // A name too long for a label value is refused by validation (the
    // template's labels); the Job keeps no labels of its own then.
    let template_labels = job.pointer("/spec/template/metadata/labels").cloned();
    if name.len() <= 63
        && let Some(labels) = template_labels
        && let Some(meta) = job.get_mut("metadata").and_then(Value::as_object_mut)
        && meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(serde_json::Map::is_empty)
    {
        meta.insert("labels".into(), labels);
    }
}

impl Kind for Job {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_job)
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
        strategy::set_status(obj, json!({}));
        generate_selector(obj);
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        kind::nothing_on_update(new, old)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        true
    }
    fn validate_create(&self, obj: &Value) -> Vec<FieldError> {
        validation::batch::validate_job(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::batch::validate_job_update(obj, old)
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
        fields::check_job_label(label)
    }
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::job_field(obj, field)
    }
    fn columns(&self) -> Vec<Value> {
        printers::job_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::job_cells(obj, now)
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
