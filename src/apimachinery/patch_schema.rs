//! What the patch engines need to know about one position in an object.
//!
//! Strategic merge patch (and, later, server-side apply) are driven by the
//! OpenAPI schema's `x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`,
//! `x-kubernetes-list-type` and `x-kubernetes-list-map-keys` extensions, never by
//! hard-coded kinds. This trait is the seam between the engines
//! (`strategicpatch.rs`) and the schema data (`crate::openapi`).

/// A position in an object's schema: the schema of a value together with the
/// extensions of the property that led to it (Kubernetes puts the patch
/// extensions on the *property* that holds a list, not on the list type).
pub trait PatchSchema: Sized {
    /// The schema of field `name` of the object at this position.
    /// `None` when the field is unknown (the engines then treat it as an
    /// opaque value: maps merge, lists are replaced).
    fn field(&self, name: &str) -> Option<Self>;
    /// The schema of the values of a map (`additionalProperties`), e.g. the
    /// values of `metadata.labels` or `spec.nodeSelector`.
    fn map_values(&self) -> Option<Self>;
    /// The schema of the items of a list at this position.
    fn items(&self) -> Option<Self>;
    /// `x-kubernetes-patch-strategy` of the property, e.g. `"merge"`,
    /// `"replace"`, `"retainKeys"`, `"merge,retainKeys"`.
    fn patch_strategy(&self) -> Option<&str>;
    /// `x-kubernetes-patch-merge-key` of the property, e.g. `"name"`.
    fn patch_merge_key(&self) -> Option<&str>;
    /// `x-kubernetes-list-type` of the property: `"atomic"`, `"set"` or `"map"`.
    fn list_type(&self) -> Option<&str>;
    /// `x-kubernetes-list-map-keys` of the property.
    fn list_map_keys(&self) -> &[String];
    /// `x-kubernetes-map-type` of the property or its type: `"atomic"`
    /// (e.g. `LabelSelector`, owned and replaced as a whole) or
    /// `"granular"`.
    fn map_type(&self) -> Option<&str> {
        None
    }
    /// Whether field `name` of the object here is `required` (a Go field
    /// without `omitempty`, so present even in the zero value).
    fn is_required(&self, _name: &str) -> bool {
        false
    }
    /// Whether objects here decode into Go structs (built-in kinds), whose
    /// zero value already holds the non-pointer struct fields (`spec`,
    /// `metadata`, ...). False for custom resources: their zero value is an
    /// empty unstructured map, so a create adds `spec` itself too (its
    /// `managedFields` entry then has `"."` under `f:spec`).
    fn typed(&self) -> bool {
        true
    }
    /// What server-side apply's typed conversion finds for field `name` of
    /// an object here (structured-merge-diff's `typed/validate.go`): a
    /// schema, no schema (the value is not checked further), or a field the
    /// schema does not declare (`field not declared in schema`). The default
    /// never reports an undeclared field.
    fn declared_field(&self, name: &str) -> Declared<Self> {
        match self.field(name).or_else(|| self.map_values()) {
            Some(s) => Declared::Schema(s),
            None => Declared::Untyped,
        }
    }
}

/// See [`PatchSchema::declared_field`].
pub enum Declared<S> {
    Schema(S),
    Untyped,
    Undeclared,
}
