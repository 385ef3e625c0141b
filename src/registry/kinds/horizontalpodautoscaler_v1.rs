//! autoscaling/v1 HorizontalPodAutoscaler: served, stored as autoscaling/v2
//! (`conversion::autoscaling`). Validation and printing work on the v2
//! form, as upstream's work on the internal one, so field paths and cells
//! are the same through both versions.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::apiserver::printers;
use crate::registry::{
    conversion, defaults,
    kind::{self, Kind, Schema},
    resources::{ResourceInfo, resource},
    strategy, validation,
};

/// What discovery serves.
pub const INFO: ResourceInfo = ResourceInfo {
    stored_as: Some(("autoscaling", "v2", "HorizontalPodAutoscaler")),
    ..resource!("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "horizontalpodautoscaler", true,
        short: ["hpa"], cat: ["all"], sub: [Status], strategy: strategy)
};

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct HorizontalPodAutoscalerV1;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(HorizontalPodAutoscalerV1)
}

/// The autoscaling/v2 form of a v1 object.
fn as_v2(obj: &Value) -> Value {
    let mut v2 = obj.clone();
    conversion::autoscaling::hpa_v1_to_v2(&mut v2);
    v2
}

impl Kind for HorizontalPodAutoscalerV1 {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_hpa_v1)
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
        strategy::set_status(obj, json!({"currentReplicas": 0, "desiredReplicas": 0}))
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
        validation::autoscaling::validate_hpa(&as_v2(obj))
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::autoscaling::validate_hpa_update(&as_v2(obj), &as_v2(old))
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
        printers::hpa_v1_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::hpa_cells(&as_v2(obj), now)
    }
    fn served_to_storage(&self, obj: &mut Value) {
        conversion::autoscaling::hpa_v1_to_v2(obj)
    }
    fn storage_to_served(&self, obj: &mut Value) {
        conversion::autoscaling::hpa_v2_to_v1(obj)
    }
    fn schema(&self) -> Schema {
        Schema::BuiltinOpenApi
    }
}
