//! A custom resource's strategy: one served version of a CRD as a
//! [`Kind`], as upstream's apiextensions-apiserver gives every custom
//! resource its own strategy (`pkg/registry/customresource/strategy.go`,
//! `tableconvertor`, `GetAttrs`), so that the generic store, Table printing
//! and field selectors treat a custom kind as they treat a built-in one.
//!
//! What depends on the structural schema (decoding with pruning and
//! defaulting, schema and CEL validation, the apply schema, `/scale`) is
//! reached through `Resource::custom`; [`Kind::schema`] says so
//! ([`Schema::Structural`]).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::customresource::CustomVersion;
use crate::apimachinery::validation::FieldError;
use crate::registry::kind::{self, Kind, Schema};

impl Kind for CustomVersion {
    /// Schema defaults are applied while decoding against the structural
    /// schema (`Schema::Structural`), with pruning.
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
        CustomVersion::prepare_for_create(self, obj)
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        CustomVersion::prepare_for_update(self, new, old)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        CustomVersion::prepare_for_status_update(self, new, old)
    }
    /// Generation starts at 1 and moves with everything but metadata (and
    /// status, when it has its own endpoint).
    fn tracks_generation(&self) -> bool {
        true
    }
    /// Schema and CEL validation run against the structural schema
    /// (`Schema::Structural`); nothing beyond it.
    fn validate_create(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }
    fn validate_update(&self, _obj: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
    }
    fn allocates_cluster_ips(&self) -> bool {
        false
    }
    /// `AllowCreateOnUpdate` is false for custom resources.
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
    /// `metadata.name`, `metadata.namespace` (namespaced kinds) and the
    /// version's `selectableFields`.
    fn check_field_label(&self, label: &str) -> Result<(), String> {
        if self.supports_field(label) {
            Ok(())
        } else {
            Err(self.field_selector_error(label))
        }
    }
    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        CustomVersion::field_value(self, obj, field)
    }
    /// `additionalPrinterColumns` (or upstream's default Name and Age).
    fn columns(&self) -> Vec<Value> {
        self.table_columns()
    }
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        self.table_cells(obj, now)
    }
    /// `conversion.strategy: None`: only apiVersion changes.
    fn served_to_storage(&self, obj: &mut Value) {
        if self.version != self.storage_version
            && let Some(m) = obj.as_object_mut()
        {
            m.insert(
                "apiVersion".into(),
                Value::String(format!("{}/{}", self.group, self.storage_version)),
            );
        }
    }
    /// The served apiVersion, and the schema's defaults: upstream defaults
    /// custom resources when decoding them from storage too (a default added
    /// to the schema later shows at once).
    fn storage_to_served(&self, obj: &mut Value) {
        if let Some(m) = obj.as_object_mut() {
            m.insert("apiVersion".into(), Value::String(self.api_version()));
        }
        if self.has_defaults {
            self.default(obj);
        }
    }
    fn schema(&self) -> Schema {
        Schema::Structural
    }
}
