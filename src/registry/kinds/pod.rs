//! core/v1 Pod (`pkg/registry/core/pod/strategy.go`), with the built-in
//! admission that upstream runs on pods (DefaultTolerationSeconds here,
//! Priority through `registry::admission`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::apimachinery::fields;
use crate::apimachinery::validation::FieldError;
use crate::apiserver::printers;
use crate::registry::{
    admission::Admission,
    defaults,
    kind::{self, Kind, Schema},
    resources::{ResourceInfo, resource},
    strategy, validation,
};

/// What discovery serves.
pub const INFO: ResourceInfo = ResourceInfo {
    admission: &[Admission::PodPriority],
    ..resource!("", "v1", "Pod", "pods", "pod", true, short: ["po"], cat: ["all"],
        sub: [Binding, Eviction, Status], strategy: strategy)
};

/// The strategy.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pod;

fn strategy() -> Arc<dyn Kind> {
    Arc::new(Pod)
}

impl Kind for Pod {
    fn defaults(&self, obj: &mut Value) {
        defaults::on_object(obj, defaults::default_pod)
    }
    fn defaults_on_create(&self, obj: &mut Value) {
        kind::nothing(obj)
    }
    fn admit_create(&self, obj: &mut Value) {
        // Priority (which reads the PriorityClasses) is `INFO.admission`.
        defaults::add_default_tolerations(obj)
    }
    fn admit_update(&self, new: &mut Value, old: &Value) {
        defaults::admit_pod_update(new, old)
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        let qos = strategy::pod_qos_class(obj);
        strategy::set_status(obj, json!({"phase": "Pending", "qosClass": qos}))
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
        validation::validate_pod_create(obj)
    }
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError> {
        validation::validate_pod_update(obj, old)
    }
    fn allocates_cluster_ips(&self) -> bool {
        false
    }
    fn allow_create_on_update(&self) -> bool {
        false
    }
    fn graceful_delete_seconds(&self, obj: &Value, requested: Option<i64>) -> Option<i64> {
        strategy::pod_graceful_delete_seconds(obj, requested)
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
        fields::check_label_in(fields::POD_LABELS, label)
    }
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        fields::pod_field(obj, field)
    }
    fn columns(&self) -> Vec<Value> {
        printers::pod_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        printers::pod_cells(obj, now)
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
