//! One trait per kind, as upstream's per-kind strategy
//! (`pkg/registry/<group>/<kind>/strategy.go` plus the kind's
//! `storage.go`): everything the generic store, the Table printer and field
//! selectors need to know about a kind. Built-in kinds implement it in one
//! file each under `registry/kinds/`; the trait has no default bodies, so a
//! kind that leaves a behaviour out does not compile. An explicit "nothing"
//! is spelled with the helpers at the bottom of this file
//! (e.g. [`no_field_labels`], [`default_columns`]).
//!
//! Large pure logic (pod validation, deployment defaults, cell formatting)
//! stays in the shared library modules (`registry::defaults`,
//! `registry::validation`, `apiserver::printers`, `apimachinery::fields`),
//! as upstream keeps it in `pkg/apis/<group>/validation`; a kind file wires it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::apimachinery::validation::FieldError;

/// How the objects of a kind are type-checked, their unknown fields found
/// and their patches merged (strategic merge patch / server-side apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The embedded upstream OpenAPI document, by group/version/kind
    /// (`registry::typecheck` and `openapi::OpenApi`).
    BuiltinOpenApi,
    /// A CRD version's structural schema (`Resource::custom`): decoding
    /// prunes and defaults against it, validation runs its value checks and
    /// CEL rules, apply merges by its `x-kubernetes-*` list and map types,
    /// and strategic merge patch is refused (415).
    Structural,
}

/// The per-kind strategy. `Send + Sync`: shared by every request through
/// the resource's `Arc<dyn Kind>`.
pub trait Kind: Send + Sync {
    /// Decode-time defaults (upstream's `SetDefaults_*`), applied to every
    /// object read from a client on create, update and patch.
    fn defaults(&self, obj: &mut Value);

    /// Defaults set on create that the creator owns in `managedFields`
    /// (run before the field manager; e.g. the namespace name label).
    fn defaults_on_create(&self, obj: &mut Value);

    /// Built-in admission on create, after the field manager (so nobody
    /// owns what it adds; e.g. pods' default tolerations and priority).
    fn admit_create(&self, obj: &mut Value);

    /// Built-in admission on an update of the main resource.
    fn admit_update(&self, new: &mut Value, old: &Value);

    /// `PrepareForCreate`: what the server resets or fills on create
    /// (status, generation).
    fn prepare_for_create(&self, obj: &mut Value);

    /// `PrepareForUpdate` of the main resource, after the generic reset of
    /// `status` (kinds with a `status` subresource) and before the
    /// generation bump: the kind's own resets (e.g. a namespace's spec).
    fn prepare_for_update(&self, new: &mut Value, old: &Value);

    /// `PrepareForUpdate` of the `/status` subresource (usually
    /// [`strategy::reset_for_status_update`](crate::registry::strategy::reset_for_status_update):
    /// only `status` and the writer's managed fields change).
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value);

    /// Whether `metadata.generation` starts at 1 and is bumped on spec
    /// changes.
    fn tracks_generation(&self) -> bool;

    /// `Validate` on create: the kind's own rules (the generic metadata
    /// check is `registry::validation::validate`'s).
    fn validate_create(&self, obj: &Value) -> Vec<FieldError>;

    /// `ValidateUpdate`: the kind's own update rules.
    fn validate_update(&self, obj: &Value, old: &Value) -> Vec<FieldError>;

    /// Whether a create allocates cluster IPs (services), under the store's
    /// allocation lock.
    fn allocates_cluster_ips(&self) -> bool;

    /// `AllowCreateOnUpdate`: whether PUT of a missing object creates it.
    fn allow_create_on_update(&self) -> bool;

    /// `CheckGracefulDelete`: the grace period a delete waits for
    /// (`None`: delete at once).
    fn graceful_delete_seconds(&self, obj: &Value, requested: Option<i64>) -> Option<i64>;

    /// Whether deletion waits for `spec.finalizers` (namespaces: a delete
    /// always only marks the object; the namespace controller finalizes).
    fn waits_for_spec_finalizers(&self) -> bool;

    /// Names that can never be deleted (NamespaceLifecycle's immortal
    /// namespaces).
    fn immortal(&self, name: &str) -> bool;

    /// What a first DELETE changes before the object goes or waits for
    /// its finalizers (a CRD's clean-up finalizer and `Terminating`
    /// condition); true if it changed the object, which is then written.
    fn mark_for_deletion(&self, obj: &mut Value, now: &str) -> bool;

    /// `ReturnDeletedObject`: whether DELETE answers with the object rather
    /// than a `Status`.
    fn returns_deleted_object(&self) -> bool;

    /// Whether a field selector may use `label` (upstream's
    /// `ToSelectableFields` / conversion funcs); the error is upstream's
    /// message.
    fn check_field_label(&self, label: &str) -> Result<(), String>;

    /// The value of a selectable field beyond `metadata.name` and
    /// `metadata.namespace` (those are generic); `None` outside the set.
    fn field_value(&self, obj: &Value, field: &str) -> Option<String>;

    /// The Table's column definitions (`pkg/printers/internalversion`).
    fn columns(&self) -> Vec<Value>;

    /// One Table row's cells; `now` for ages.
    fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value>;

    /// Converts an object of the served version into its stored form
    /// (events.k8s.io Events are stored as core Events).
    fn served_to_storage(&self, obj: &mut Value);

    /// Converts a stored object into the served version.
    fn storage_to_served(&self, obj: &mut Value);

    /// How objects are type-checked and patched.
    fn schema(&self) -> Schema;
}

// ---------------------------------------------------------------------------
// Explicit "nothing" helpers for kind files
// ---------------------------------------------------------------------------

/// No hook: for `defaults`, `defaults_on_create`, `admit_create`,
/// `prepare_for_create`, `served_to_storage`, `storage_to_served`.
pub fn nothing(_obj: &mut Value) {}

/// No update hook: for `admit_update` and `prepare_for_update`.
pub fn nothing_on_update(_new: &mut Value, _old: &Value) {}

/// Only `metadata.name` and `metadata.namespace` are selectable
/// (`DefaultClusterScopedAttr` / `DefaultNamespaceScopedAttr`).
pub fn no_field_labels(label: &str) -> Result<(), String> {
    crate::apimachinery::fields::check_metadata_only(label)
}

/// `rest.defaultTableConvertor`'s columns (Name, Created At).
pub fn default_columns() -> Vec<Value> {
    crate::apiserver::printers::default_columns()
}

/// `rest.defaultTableConvertor`'s cells.
pub fn default_cells(obj: &Value) -> Vec<Value> {
    crate::apiserver::printers::default_cells(obj)
}

/// A kind with no rules of its own: no defaults, no validation beyond the
/// generic metadata checks, only the metadata field selectors and
/// `rest.defaultTableConvertor`'s Table. For resources added at run time
/// before they have a strategy of their own (tests, custom resources).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unstructured;

impl Kind for Unstructured {
    fn defaults(&self, obj: &mut Value) {
        nothing(obj)
    }
    fn defaults_on_create(&self, obj: &mut Value) {
        nothing(obj)
    }
    fn admit_create(&self, obj: &mut Value) {
        nothing(obj)
    }
    fn admit_update(&self, new: &mut Value, old: &Value) {
        nothing_on_update(new, old)
    }
    fn prepare_for_create(&self, obj: &mut Value) {
        nothing(obj)
    }
    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        nothing_on_update(new, old)
    }
    fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        crate::registry::strategy::reset_for_status_update(new, old)
    }
    fn tracks_generation(&self) -> bool {
        false
    }
    fn validate_create(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }
    fn validate_update(&self, _obj: &Value, _old: &Value) -> Vec<FieldError> {
        Vec::new()
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
        no_field_labels(label)
    }
    fn field_value(&self, _obj: &Value, _field: &str) -> Option<String> {
        None
    }
    fn columns(&self) -> Vec<Value> {
        default_columns()
    }
    fn cells(&self, obj: &Value, _now: DateTime<Utc>) -> Vec<Value> {
        default_cells(obj)
    }
    fn served_to_storage(&self, obj: &mut Value) {
        nothing(obj)
    }
    fn storage_to_served(&self, obj: &mut Value) {
        nothing(obj)
    }
    fn schema(&self) -> Schema {
        Schema::BuiltinOpenApi
    }
}
