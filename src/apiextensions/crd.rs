//! The `apiextensions.k8s.io/v1` CustomResourceDefinition object itself, as pure functions:
//! defaulting, the registry strategy (prepare for create/update), validation of the CRD
//! (everything except the structure of the OpenAPI schemas, which the caller checks through a
//! callback so the causes come out in upstream's order), and the status the naming,
//! establishing and finalizer controllers write.
//!
//! Upstream (kubernetes/kubernetes, `staging/src/k8s.io/apiextensions-apiserver/`):
//! - `pkg/apis/apiextensions/v1/defaults.go` (defaulting),
//! - `pkg/apis/apiextensions/v1/conversion.go` (v1 -> internal: identical per-version fields are
//!   hoisted to the top level, which decides the *paths* of validation errors),
//! - `pkg/apis/apiextensions/validation/validation.go` (validation),
//! - `pkg/registry/customresourcedefinition/{strategy,etcd}.go` (strategy, delete),
//! - `pkg/controller/status/naming_controller.go`, `pkg/controller/establish/`,
//!   `pkg/controller/finalizer/crd_finalizer.go` (conditions).

use crate::apimachinery::validation::{
    FieldError, NameRule, arr_of, child, go_repr, index, is_dns1035_label, is_dns1123_subdomain,
    semantic_eq, str_of, validate_immutable, validate_object_meta, validate_object_meta_update,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The finalizer the CRD REST delete adds; the finalizer controller removes it once every
/// custom resource is gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";
/// Annotation required on CRDs in protected groups (`*.k8s.io`, `*.kubernetes.io`).
pub const API_APPROVED_ANNOTATION: &str = "api-approved.kubernetes.io";

/// Condition types.
pub const ESTABLISHED: &str = "Established";
pub const NAMES_ACCEPTED: &str = "NamesAccepted";
pub const TERMINATING: &str = "Terminating";

/// Deepest schema nesting walked by the helpers here (serde_json already refuses documents
/// nested deeper than 128).
const MAX_SCHEMA_DEPTH: usize = 128;

// ---------------------------------------------------------------------------
// Defaulting (v1/defaults.go)
// ---------------------------------------------------------------------------

/// v1 defaulting of a CRD (`SetDefaults_CustomResourceDefinition`): `names.singular` =
/// lower(kind), `names.listKind` = kind + "List" (when kind is set), `conversion` =
/// `{strategy: None}`, the webhook service port 443, and `status.storedVersions` = the first
/// storage version when empty. Nothing else is defaulted (served/storage/scope are required).
pub fn default_crd(crd: &mut Value) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        default_spec(spec);
    }
    let stored_empty = obj
        .get("status")
        .map(|s| arr_of(s, "storedVersions").is_empty())
        .unwrap_or(true);
    if stored_empty {
        let first_storage = obj
            .get("spec")
            .map(|s| arr_of(s, "versions"))
            .unwrap_or(&[])
            .iter()
            .find(|v| is_true(v, "storage"))
            .map(|v| str_of(v, "name").to_string());
        if let Some(name) = first_storage {
            let status = obj
                .entry("status")
                .or_insert_with(|| Value::Object(Map::new()));
            if !status.is_object() {
                *status = Value::Object(Map::new());
            }
            if let Some(s) = status.as_object_mut() {
                s.insert("storedVersions".into(), json!([name]));
            }
        }
    }
}

fn default_spec(spec: &mut Map<String, Value>) {
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if names
            .get("singular")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            names.insert("singular".into(), Value::String(kind.to_lowercase()));
        }
        if !kind.is_empty()
            && names
                .get("listKind")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
        {
            names.insert("listKind".into(), Value::String(format!("{kind}List")));
        }
    }
    match spec.get_mut("conversion") {
        None | Some(Value::Null) => {
            spec.insert("conversion".into(), json!({"strategy": "None"}));
        }
        Some(conv) => {
            // SetDefaults_ServiceReference: port 443.
            if let Some(svc) = conv
                .pointer_mut("/webhook/clientConfig/service")
                .and_then(Value::as_object_mut)
                && svc.get("port").is_none_or(Value::is_null)
            {
                svc.insert("port".into(), json!(443));
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Strategy (registry/customresourcedefinition/strategy.go)
// ---------------------------------------------------------------------------

/// `PrepareForCreate`: status reset (then storedVersions = the storage version),
/// `metadata.generation` = 1.
pub fn prepare_for_create(crd: &mut Value) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    let mut status = Map::new();
    if let Some(storage) = storage_version(obj.get("spec")) {
        status.insert("storedVersions".into(), json!([storage]));
    }
    obj.insert("status".into(), reorder_status(Value::Object(status)));
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("generation".into(), json!(1));
    }
}

/// `PrepareForUpdate` of the main resource: status copied from the old object, generation
/// bumped only when the spec changed, the (new) storage version appended to storedVersions.
pub fn prepare_for_update(new: &mut Value, old: &Value) {
    let Some(obj) = new.as_object_mut() else {
        return;
    };
    let mut status = old.get("status").cloned().unwrap_or(Value::Null);
    let old_gen = old
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let spec_changed = !semantic_eq(obj.get("spec"), old.get("spec"));
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let generation = if spec_changed { old_gen + 1 } else { old_gen };
        meta.insert("generation".into(), json!(generation));
    }
    if let Some(storage) = storage_version(obj.get("spec")) {
        if !status.is_object() {
            status = Value::Object(Map::new());
        }
        if let Some(s) = status.as_object_mut() {
            let stored = s
                .entry("storedVersions")
                .or_insert_with(|| Value::Array(Vec::new()));
            if !stored.is_array() {
                *stored = Value::Array(Vec::new());
            }
            if let Some(list) = stored.as_array_mut()
                && !list.iter().any(|v| v.as_str() == Some(storage.as_str()))
            {
                list.push(Value::String(storage));
            }
        }
    }
    obj.insert("status".into(), status);
}

/// `PrepareForUpdate` of the `status` subresource: the spec is kept from the old object.
/// (Upstream no longer resets metadata here, see kubernetes#137681.)
pub fn prepare_for_status_update(new: &mut Value, old: &Value) {
    if let Some(obj) = new.as_object_mut() {
        obj.insert(
            "spec".into(),
            old.get("spec").cloned().unwrap_or(Value::Null),
        );
    }
}

/// Name of the first version marked `storage: true`.
fn storage_version(spec: Option<&Value>) -> Option<String> {
    spec.map(|s| arr_of(s, "versions"))
        .unwrap_or(&[])
        .iter()
        .find(|v| is_true(v, "storage"))
        .map(|v| str_of(v, "name").to_string())
}

fn is_true(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|x| !x.is_null())
}

// ---------------------------------------------------------------------------
// Validation (apis/apiextensions/validation/validation.go)
// ---------------------------------------------------------------------------

/// One `openAPIV3Schema` the caller must validate (structural rules, defaults, CEL, the
/// status-subresource root restrictions of `validateCustomResourceDefinitionValidation`).
/// The callback's errors are inserted exactly where upstream emits them.
#[derive(Debug)]
pub struct SchemaSite<'a> {
    /// The `openAPIV3Schema` value.
    pub schema: &'a Value,
    /// Path of the `CustomResourceValidation` holding it: `spec.validation` when every
    /// version has the same schema (upstream's v1 -> internal conversion moves it there, so
    /// that is where upstream reports its errors), else `spec.versions[i].schema`. Errors
    /// about the schema itself go under `<path>.openAPIV3Schema`.
    pub path: String,
    /// Whether the status subresource is enabled for this schema (any version, for the
    /// top-level schema; upstream's `hasAnyStatusEnabled` / `hasStatusEnabled`).
    pub status_enabled: bool,
    /// The version this schema belongs to; `None` for the hoisted top-level schema.
    pub version: Option<&'a str>,
    /// On update: the old CRD's schema for the same version (for upstream's ratcheting, e.g.
    /// the per-expression CEL cost limit is suppressed for unchanged schemas). `None` on create.
    pub old_schema: Option<&'a Value>,
}

/// Callback validating one schema (see [`SchemaSite`]).
pub type SchemaCheck<'f> = dyn FnMut(&SchemaSite<'_>) -> Vec<FieldError> + 'f;

/// The v1 spec seen through upstream's internal type: per-version fields that are identical
/// in every version are hoisted to the top level (`Convert_v1_CustomResourceDefinitionSpec_To_
/// apiextensions_CustomResourceDefinitionSpec`).
struct InternalView<'a> {
    versions: &'a [Value],
    top_schema: Option<&'a Value>,
    top_subresources: Option<&'a Value>,
    top_columns: Option<&'a Value>,
    top_selectable: Option<&'a Value>,
    hoist_schema: bool,
    hoist_subresources: bool,
    hoist_columns: bool,
    hoist_selectable: bool,
}

impl<'a> InternalView<'a> {
    fn new(spec: &'a Value) -> Self {
        let versions = arr_of(spec, "versions");
        let identical = |k: &str| -> bool {
            let first = versions.first().and_then(|v| v.get(k));
            versions.iter().all(|v| semantic_eq(v.get(k), first))
        };
        let (hs, hr, hc, hf) = if versions.is_empty() {
            (false, false, false, false)
        } else {
            (
                identical("schema"),
                identical("subresources"),
                identical("additionalPrinterColumns"),
                identical("selectableFields"),
            )
        };
        let first = |k: &str, hoisted: bool| -> Option<&'a Value> {
            if hoisted {
                present(versions.first().and_then(|v| v.get(k)))
            } else {
                None
            }
        };
        InternalView {
            versions,
            top_schema: first("schema", hs),
            top_subresources: first("subresources", hr),
            top_columns: first("additionalPrinterColumns", hc),
            top_selectable: first("selectableFields", hf),
            hoist_schema: hs,
            hoist_subresources: hr,
            hoist_columns: hc,
            hoist_selectable: hf,
        }
    }

    fn version_field(&self, v: &'a Value, k: &str) -> Option<&'a Value> {
        let hoisted = match k {
            "schema" => self.hoist_schema,
            "subresources" => self.hoist_subresources,
            "additionalPrinterColumns" => self.hoist_columns,
            "selectableFields" => self.hoist_selectable,
            _ => false,
        };
        if hoisted { None } else { present(v.get(k)) }
    }

    fn top_has_openapi(&self) -> bool {
        self.top_schema
            .and_then(|s| present(s.get("openAPIV3Schema")))
            .is_some()
    }

    fn version_has_openapi(&self, v: &'a Value) -> bool {
        self.version_field(v, "schema")
            .and_then(|s| present(s.get("openAPIV3Schema")))
            .is_some()
    }

    /// `getSubresourcesForVersion`.
    fn subresources_for(&self, v: &'a Value) -> Option<&'a Value> {
        if self.hoist_subresources {
            self.top_subresources
        } else {
            present(v.get("subresources"))
        }
    }

    /// `hasAnyStatusEnabled`.
    fn any_status_enabled(&self) -> bool {
        status_enabled(self.top_subresources)
            || self
                .versions
                .iter()
                .any(|v| status_enabled(self.version_field(v, "subresources")))
    }

    /// The versions as Go renders `[]apiextensions.CustomResourceDefinitionVersion` in a
    /// `field.Invalid` bad value (JSON of the internal struct, Go field names).
    fn versions_repr(&self) -> Value {
        if self.versions.is_empty() {
            return Value::Null;
        }
        let items: Vec<Value> = self
            .versions
            .iter()
            .map(|v| {
                let mut m = Map::new();
                m.insert("Name".into(), json!(str_of(v, "name")));
                m.insert("Served".into(), json!(is_true(v, "served")));
                m.insert("Storage".into(), json!(is_true(v, "storage")));
                m.insert("Deprecated".into(), json!(is_true(v, "deprecated")));
                m.insert(
                    "DeprecationWarning".into(),
                    present(v.get("deprecationWarning"))
                        .cloned()
                        .unwrap_or(Value::Null),
                );
                m.insert(
                    "Schema".into(),
                    match self.version_field(v, "schema") {
                        None => Value::Null,
                        Some(s) => {
                            json!({"OpenAPIV3Schema": schema_repr(s.get("openAPIV3Schema"), 0)})
                        }
                    },
                );
                m.insert(
                    "Subresources".into(),
                    subresources_repr(self.version_field(v, "subresources")),
                );
                m.insert(
                    "AdditionalPrinterColumns".into(),
                    columns_repr(self.version_field(v, "additionalPrinterColumns")),
                );
                m.insert(
                    "SelectableFields".into(),
                    match self.version_field(v, "selectableFields") {
                        Some(Value::Array(a)) => Value::Array(
                            a.iter()
                                .map(|f| json!({"JSONPath": str_of(f, "jsonPath")}))
                                .collect(),
                        ),
                        _ => Value::Null,
                    },
                );
                Value::Object(m)
            })
            .collect();
        go_repr(go_json(&Value::Array(items)))
    }
}

fn status_enabled(subresources: Option<&Value>) -> bool {
    subresources
        .and_then(|s| present(s.get("status")))
        .is_some()
}

/// Go's `encoding/json` text of a value (HTML characters escaped as Go does).
fn go_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// A `[]string` bad value as Go renders it (JSON).
fn string_list_repr(items: &[Value]) -> Value {
    if items.is_empty() {
        return Value::Null;
    }
    go_repr(go_json(&Value::Array(items.to_vec())))
}

fn subresources_repr(s: Option<&Value>) -> Value {
    let Some(s) = s else {
        return Value::Null;
    };
    let status = if present(s.get("status")).is_some() {
        json!({})
    } else {
        Value::Null
    };
    let scale = match present(s.get("scale")) {
        None => Value::Null,
        Some(sc) => json!({
            "SpecReplicasPath": str_of(sc, "specReplicasPath"),
            "StatusReplicasPath": str_of(sc, "statusReplicasPath"),
            "LabelSelectorPath": present(sc.get("labelSelectorPath")).cloned().unwrap_or(Value::Null),
        }),
    };
    json!({"Status": status, "Scale": scale})
}

fn columns_repr(c: Option<&Value>) -> Value {
    match c {
        Some(Value::Array(a)) => Value::Array(
            a.iter()
                .map(|c| {
                    json!({
                        "Name": str_of(c, "name"),
                        "Type": str_of(c, "type"),
                        "Format": str_of(c, "format"),
                        "Description": str_of(c, "description"),
                        "Priority": c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                        "JSONPath": str_of(c, "jsonPath"),
                    })
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// JSON of upstream's internal `JSONSchemaProps` (Go field names and order, every field
/// present, maps with sorted keys), as it appears in bad values.
fn schema_repr(s: Option<&Value>, depth: usize) -> Value {
    let Some(s) = present(s) else {
        return Value::Null;
    };
    if depth > MAX_SCHEMA_DEPTH {
        return Value::Null;
    }
    let d = depth + 1;
    let st = |k: &str| Value::String(str_of(s, k).to_string());
    let b = |k: &str| Value::Bool(is_true(s, k));
    let opt = |k: &str| present(s.get(k)).cloned().unwrap_or(Value::Null);
    let list = |k: &str| match s.get(k) {
        Some(Value::Array(a)) => Value::Array(a.iter().map(|x| schema_repr(Some(x), d)).collect()),
        _ => Value::Null,
    };
    let map = |k: &str| match s.get(k) {
        Some(Value::Object(m)) => {
            let sorted: BTreeMap<&String, Value> = m
                .iter()
                .map(|(k, v)| (k, schema_repr(Some(v), d)))
                .collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        _ => Value::Null,
    };
    let or_bool = |k: &str| match present(s.get(k)) {
        None => Value::Null,
        Some(Value::Bool(allows)) => json!({"Allows": allows, "Schema": null}),
        Some(x) => json!({"Allows": true, "Schema": schema_repr(Some(x), d)}),
    };
    let items = match present(s.get("items")) {
        None => Value::Null,
        Some(Value::Array(a)) => json!({
            "Schema": null,
            "JSONSchemas": a.iter().map(|x| schema_repr(Some(x), d)).collect::<Vec<_>>(),
        }),
        Some(x) => json!({"Schema": schema_repr(Some(x), d), "JSONSchemas": null}),
    };
    let dependencies = match s.get("dependencies") {
        Some(Value::Object(m)) => {
            let sorted: BTreeMap<&String, Value> = m
                .iter()
                .map(|(k, v)| {
                    let r = match v {
                        Value::Array(p) => json!({"Schema": null, "Property": p}),
                        other => json!({"Schema": schema_repr(Some(other), d), "Property": null}),
                    };
                    (k, r)
                })
                .collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        _ => Value::Null,
    };
    let external_docs = match present(s.get("externalDocs")) {
        None => Value::Null,
        Some(e) => json!({"Description": str_of(e, "description"), "URL": str_of(e, "url")}),
    };
    let validations = match s.get("x-kubernetes-validations") {
        Some(Value::Array(a)) => Value::Array(
            a.iter()
                .map(|r| {
                    json!({
                        "Rule": str_of(r, "rule"),
                        "Message": str_of(r, "message"),
                        "MessageExpression": str_of(r, "messageExpression"),
                        "Reason": present(r.get("reason")).cloned().unwrap_or(Value::Null),
                        "FieldPath": str_of(r, "fieldPath"),
                        "OptionalOldSelf": present(r.get("optionalOldSelf")).cloned().unwrap_or(Value::Null),
                    })
                })
                .collect(),
        ),
        _ => Value::Null,
    };
    let mut m = Map::new();
    m.insert("ID".into(), st("id"));
    m.insert("Schema".into(), st("$schema"));
    m.insert("Ref".into(), opt("$ref"));
    m.insert("Description".into(), st("description"));
    m.insert("Type".into(), st("type"));
    m.insert("Nullable".into(), b("nullable"));
    m.insert("Format".into(), st("format"));
    m.insert("Title".into(), st("title"));
    m.insert("Default".into(), opt("default"));
    m.insert("Maximum".into(), opt("maximum"));
    m.insert("ExclusiveMaximum".into(), b("exclusiveMaximum"));
    m.insert("Minimum".into(), opt("minimum"));
    m.insert("ExclusiveMinimum".into(), b("exclusiveMinimum"));
    m.insert("MaxLength".into(), opt("maxLength"));
    m.insert("MinLength".into(), opt("minLength"));
    m.insert("Pattern".into(), st("pattern"));
    m.insert("MaxItems".into(), opt("maxItems"));
    m.insert("MinItems".into(), opt("minItems"));
    m.insert("UniqueItems".into(), b("uniqueItems"));
    m.insert("MultipleOf".into(), opt("multipleOf"));
    m.insert("Enum".into(), opt("enum"));
    m.insert("MaxProperties".into(), opt("maxProperties"));
    m.insert("MinProperties".into(), opt("minProperties"));
    m.insert("Required".into(), opt("required"));
    m.insert("Items".into(), items);
    m.insert("AllOf".into(), list("allOf"));
    m.insert("OneOf".into(), list("oneOf"));
    m.insert("AnyOf".into(), list("anyOf"));
    m.insert("Not".into(), schema_repr(s.get("not"), d));
    m.insert("Properties".into(), map("properties"));
    m.insert(
        "AdditionalProperties".into(),
        or_bool("additionalProperties"),
    );
    m.insert("PatternProperties".into(), map("patternProperties"));
    m.insert("Dependencies".into(), dependencies);
    m.insert("AdditionalItems".into(), or_bool("additionalItems"));
    m.insert("Definitions".into(), map("definitions"));
    m.insert("ExternalDocs".into(), external_docs);
    m.insert("Example".into(), opt("example"));
    m.insert(
        "XPreserveUnknownFields".into(),
        opt("x-kubernetes-preserve-unknown-fields"),
    );
    m.insert(
        "XEmbeddedResource".into(),
        b("x-kubernetes-embedded-resource"),
    );
    m.insert("XIntOrString".into(), b("x-kubernetes-int-or-string"));
    m.insert("XListMapKeys".into(), opt("x-kubernetes-list-map-keys"));
    m.insert("XListType".into(), opt("x-kubernetes-list-type"));
    m.insert("XMapType".into(), opt("x-kubernetes-map-type"));
    m.insert("XValidations".into(), validations);
    Value::Object(m)
}

/// `SchemaHas`: whether `pred` holds for the schema or any schema nested in it.
fn schema_has(s: &Value, depth: usize, pred: &dyn Fn(&Map<String, Value>) -> bool) -> bool {
    let Some(m) = s.as_object() else {
        return false;
    };
    if depth > MAX_SCHEMA_DEPTH {
        return false;
    }
    if pred(m) {
        return true;
    }
    let d = depth + 1;
    let one = |k: &str| m.get(k).is_some_and(|x| schema_has(x, d, pred));
    let many = |k: &str| match m.get(k) {
        Some(Value::Array(a)) => a.iter().any(|x| schema_has(x, d, pred)),
        _ => false,
    };
    let map = |k: &str| match m.get(k) {
        Some(Value::Object(o)) => o.values().any(|x| schema_has(x, d, pred)),
        _ => false,
    };
    one("items")
        || many("items")
        || many("allOf")
        || many("oneOf")
        || many("anyOf")
        || one("not")
        || map("properties")
        || one("additionalProperties")
        || map("patternProperties")
        || one("additionalItems")
        || map("definitions")
        || map("dependencies")
}

fn spec_has_defaults(view: &InternalView<'_>) -> bool {
    let has = |s: Option<&Value>| {
        s.and_then(|s| s.get("openAPIV3Schema"))
            .is_some_and(|s| schema_has(s, 0, &|m| m.contains_key("default")))
    };
    has(view.top_schema)
        || view
            .versions
            .iter()
            .any(|v| has(view.version_field(v, "schema")))
}

/// Options upstream derives from the old object on update (`validationOptions`).
struct Opts<'a> {
    require_recognized_conversion_review_version: bool,
    require_immutable_names: bool,
    require_openapi_schema: bool,
    old: Option<&'a InternalView<'a>>,
}

/// `ValidateCustomResourceDefinition` (create). `crd` must be defaulted. The errors are in
/// upstream's order; `schema_errors` is called for every schema where upstream validates it.
pub fn validate_crd(crd: &Value, schema_errors: &mut SchemaCheck<'_>) -> Vec<FieldError> {
    let null = Value::Null;
    let spec = crd.get("spec").unwrap_or(&null);
    let view = InternalView::new(spec);
    let opts = Opts {
        require_recognized_conversion_review_version: true,
        require_immutable_names: false,
        require_openapi_schema: true,
        old: None,
    };
    let mut errs = crd_name_errors(crd);
    errs.extend(validate_spec(spec, &view, &opts, schema_errors));
    errs.extend(validate_status(crd.get("status").unwrap_or(&null)));
    errs.extend(validate_stored_versions(crd));
    errs.extend(validate_api_approval(crd, None));
    errs.extend(validate_preserve_unknown_fields(crd, None));
    errs
}

/// `ValidateCustomResourceDefinitionUpdate`. `new` must have gone through
/// [`prepare_for_update`].
pub fn validate_crd_update(
    new: &Value,
    old: &Value,
    schema_errors: &mut SchemaCheck<'_>,
) -> Vec<FieldError> {
    let null = Value::Null;
    let spec = new.get("spec").unwrap_or(&null);
    let old_spec = old.get("spec").unwrap_or(&null);
    let view = InternalView::new(spec);
    let old_view = InternalView::new(old_spec);
    let old_review_versions = old_spec
        .pointer("/conversion/webhook/conversionReviewVersions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let opts = Opts {
        require_recognized_conversion_review_version: old_review_versions.is_empty()
            || old_review_versions
                .iter()
                .any(|v| matches!(v.as_str(), Some("v1" | "v1beta1"))),
        require_immutable_names: condition_true(old, ESTABLISHED),
        // requireOpenAPISchema: only if every old version already had a schema.
        require_openapi_schema: old_view.top_has_openapi()
            || old_view
                .versions
                .iter()
                .all(|v| old_view.version_has_openapi(v)),
        old: Some(&old_view),
    };
    let mut errs = validate_object_meta_update(
        new.get("metadata").unwrap_or(&null),
        old.get("metadata").unwrap_or(&null),
    );
    errs.extend(validate_spec(spec, &view, &opts, schema_errors));
    // validateCustomResourceDefinitionSpecUpdate
    let spec_path = "spec";
    if opts.require_immutable_names {
        errs.extend(validate_immutable(
            spec.get("scope"),
            old_spec.get("scope"),
            &child(spec_path, "scope"),
        ));
        errs.extend(validate_immutable(
            spec.pointer("/names/kind"),
            old_spec.pointer("/names/kind"),
            "spec.names.kind",
        ));
    }
    errs.extend(validate_immutable(
        spec.get("group"),
        old_spec.get("group"),
        "spec.group",
    ));
    errs.extend(validate_immutable(
        spec.pointer("/names/plural"),
        old_spec.pointer("/names/plural"),
        "spec.names.plural",
    ));
    errs.extend(validate_status(new.get("status").unwrap_or(&null)));
    errs.extend(validate_stored_versions(new));
    errs.extend(validate_api_approval(new, Some(old)));
    errs.extend(validate_preserve_unknown_fields(new, Some(old)));
    errs
}

/// `ValidateUpdateCustomResourceDefinitionStatus` (the `status` subresource).
pub fn validate_crd_status_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let null = Value::Null;
    let mut errs = validate_object_meta_update(
        new.get("metadata").unwrap_or(&null),
        old.get("metadata").unwrap_or(&null),
    );
    errs.extend(validate_status(new.get("status").unwrap_or(&null)));
    errs
}

/// ObjectMeta validation with the CRD's name function: DNS subdomain, and equal to
/// `<spec.names.plural>.<spec.group>` (the extra message also applies to generateName, as
/// upstream's name function does not know which one it checks).
fn crd_name_errors(crd: &Value) -> Vec<FieldError> {
    let null = Value::Null;
    let meta = crd.get("metadata").unwrap_or(&null);
    let required = format!(
        "{}.{}",
        crd.pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or(""),
        crd.pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("")
    );
    const MSG: &str = "must be spec.names.plural+\".\"+spec.group";
    let errs = validate_object_meta(meta, false, NameRule::Dns1123Subdomain);
    let mut out = Vec::with_capacity(errs.len() + 2);
    let mut pending: Vec<(&str, String)> = Vec::new();
    for (field, value) in [
        ("metadata.generateName", str_of(meta, "generateName")),
        ("metadata.name", str_of(meta, "name")),
    ] {
        if !value.is_empty() && value != required {
            pending.push((field, value.to_string()));
        }
    }
    let mut iter = errs.into_iter().peekable();
    for (field, value) in pending {
        // Keep the format errors of this field (and of the fields before it) first.
        while let Some(e) = iter.peek() {
            let before = e.field == field
                || (field == "metadata.name" && e.field == "metadata.generateName");
            if !before {
                break;
            }
            if let Some(e) = iter.next() {
                out.push(e);
            }
        }
        out.push(FieldError::invalid(field, value, MSG));
    }
    out.extend(iter);
    out
}

fn validate_spec(
    spec: &Value,
    view: &InternalView<'_>,
    opts: &Opts<'_>,
    schema_errors: &mut SchemaCheck<'_>,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let group = str_of(spec, "group");
    if group.is_empty() {
        errs.push(FieldError::required("spec.group", ""));
    } else {
        let e = is_dns1123_subdomain(group);
        if !e.is_empty() {
            errs.push(FieldError::invalid("spec.group", group, e.join(",")));
        } else if !group.contains('.') {
            errs.push(FieldError::invalid(
                "spec.group",
                group,
                "should be a domain with at least one dot",
            ));
        }
    }
    errs.extend(validate_enum(
        "spec.scope",
        str_of(spec, "scope"),
        &["Cluster", "Namespaced"],
        true,
    ));

    let preserve_unknown = is_true(spec, "preserveUnknownFields");
    if opts.require_openapi_schema {
        if !view.top_has_openapi() {
            for (i, v) in view.versions.iter().enumerate() {
                if !view.version_has_openapi(v) {
                    errs.push(FieldError::required(
                        format!("spec.versions[{i}].schema.openAPIV3Schema"),
                        "",
                    ));
                }
            }
        }
    } else if !preserve_unknown && !view.top_has_openapi() {
        for (i, v) in view.versions.iter().enumerate() {
            if is_true(v, "served") && !view.version_has_openapi(v) {
                errs.push(FieldError::required(
                    format!("spec.versions[{i}].schema.openAPIV3Schema"),
                    "because otherwise all fields are pruned",
                ));
            }
        }
    }
    if preserve_unknown && spec_has_defaults(view) {
        errs.push(FieldError::invalid(
            "spec.preserveUnknownFields",
            true,
            "must be false in order to use defaults in the schema",
        ));
    }

    let mut storage_count = 0usize;
    let mut seen = BTreeSet::new();
    let mut unique = true;
    for (i, v) in view.versions.iter().enumerate() {
        let vpath = index("spec.versions", i);
        let name = str_of(v, "name");
        if is_true(v, "storage") {
            storage_count += 1;
        }
        if !seen.insert(name) {
            unique = false;
        }
        let e = is_dns1035_label(name);
        if !e.is_empty() {
            errs.push(FieldError::invalid(
                child(&vpath, "name"),
                name,
                e.join(","),
            ));
        }
        // validateCustomResourceDefinitionVersion
        errs.extend(validate_deprecation_warning(v, &vpath));
        if let Some(schema) = view
            .version_field(v, "schema")
            .and_then(|s| present(s.get("openAPIV3Schema")))
        {
            let old_schema = opts.old.and_then(|o| o.schema_for(name));
            errs.extend(schema_errors(&SchemaSite {
                schema,
                path: child(&vpath, "schema"),
                status_enabled: status_enabled(view.subresources_for(v)),
                version: Some(name),
                old_schema,
            }));
        }
        errs.extend(validate_subresources(
            view.version_field(v, "subresources"),
            &child(&vpath, "subresources"),
        ));
        if let Some(Value::Array(cols)) = view.version_field(v, "additionalPrinterColumns") {
            for (j, c) in cols.iter().enumerate() {
                errs.extend(validate_column(
                    c,
                    &index(&child(&vpath, "additionalPrinterColumns"), j),
                ));
            }
        }
        if let Some(Value::Array(fields)) = view.version_field(v, "selectableFields")
            && !fields.is_empty()
        {
            let sp = child(&vpath, "selectableFields");
            match view
                .version_field(v, "schema")
                .and_then(|s| present(s.get("openAPIV3Schema")))
            {
                None => errs.push(FieldError::invalid(
                    sp,
                    "",
                    "may only be set when `version.schema.openAPIV3Schema` is not included",
                )),
                Some(schema) => errs.extend(validate_selectable_fields(fields, schema, &sp)),
            }
        }
    }
    // (The top-level/per-version mutual exclusion and "identical per-version" checks cannot
    // fire for a v1 object: conversion only sets a top-level field by hoisting.)
    if !unique {
        errs.push(FieldError::invalid(
            "spec.versions",
            view.versions_repr(),
            "must contain unique version names",
        ));
    }
    if storage_count != 1 {
        errs.push(FieldError::invalid(
            "spec.versions",
            view.versions_repr(),
            "must have exactly one version marked as storage version",
        ));
    }
    // Internal spec.version = versions[0].name (always matches the first version).
    if let Some(first) = view.versions.first() {
        let name = str_of(first, "name");
        if !name.is_empty() {
            let e = is_dns1035_label(name);
            if !e.is_empty() {
                errs.push(FieldError::invalid("spec.version", name, e.join(",")));
            }
        }
    }

    let null = Value::Null;
    let names = spec.get("names").unwrap_or(&null);
    for k in ["plural", "singular", "kind", "listKind"] {
        if str_of(names, k).is_empty() {
            errs.push(FieldError::required(format!("spec.names.{k}"), ""));
        }
    }
    errs.extend(validate_names(names, "spec.names"));

    if let Some(schema) = view
        .top_schema
        .and_then(|s| present(s.get("openAPIV3Schema")))
    {
        let first_name = view.versions.first().map(|v| str_of(v, "name"));
        let old_schema = match (opts.old, first_name) {
            (Some(o), Some(n)) => o.schema_for(n),
            _ => None,
        };
        errs.extend(schema_errors(&SchemaSite {
            schema,
            path: "spec.validation".to_string(),
            status_enabled: view.any_status_enabled(),
            version: None,
            old_schema,
        }));
    }
    errs.extend(validate_subresources(
        view.top_subresources,
        "spec.subresources",
    ));
    if let Some(Value::Array(cols)) = view.top_columns {
        for (j, c) in cols.iter().enumerate() {
            errs.extend(validate_column(
                c,
                &index("spec.additionalPrinterColumns", j),
            ));
        }
    }
    if let Some(Value::Array(fields)) = view.top_selectable
        && !fields.is_empty()
    {
        match view.top_schema {
            None => errs.push(FieldError::invalid(
                "spec.selectableFields",
                "",
                "may only be set when validations.schema is included",
            )),
            Some(v) => {
                let null = Value::Null;
                let schema = v.get("openAPIV3Schema").unwrap_or(&null);
                errs.extend(validate_selectable_fields(
                    fields,
                    schema,
                    "spec.selectableFields",
                ));
            }
        }
    }

    let conversion = present(spec.get("conversion"));
    let strategy = conversion.map(|c| str_of(c, "strategy")).unwrap_or("");
    if conversion.is_some() && strategy != "None" && preserve_unknown {
        errs.push(FieldError::invalid(
            "spec.conversion.strategy",
            strategy,
            "must be None if spec.preserveUnknownFields is true",
        ));
    }
    if let Some(c) = conversion {
        errs.extend(validate_conversion(
            c,
            opts.require_recognized_conversion_review_version,
        ));
    }
    errs
}

impl<'a> InternalView<'a> {
    /// `GetSchemaForVersion`: the openAPIV3Schema of a version (top-level when hoisted).
    fn schema_for(&self, version: &str) -> Option<&'a Value> {
        if let Some(s) = self.top_schema {
            return present(s.get("openAPIV3Schema"));
        }
        self.versions
            .iter()
            .find(|v| str_of(v, "name") == version)
            .and_then(|v| self.version_field(v, "schema"))
            .and_then(|s| present(s.get("openAPIV3Schema")))
    }
}

/// `validateEnumStrings`.
fn validate_enum(path: &str, value: &str, accepted: &[&str], required: bool) -> Vec<FieldError> {
    if value.is_empty() {
        return if required {
            vec![FieldError::required(path, "")]
        } else {
            Vec::new()
        };
    }
    if accepted.contains(&value) {
        Vec::new()
    } else {
        vec![FieldError::not_supported(path, value, accepted)]
    }
}

/// `validateDeprecationWarning`.
fn validate_deprecation_warning(v: &Value, vpath: &str) -> Vec<FieldError> {
    let path = child(vpath, "deprecationWarning");
    let warning = present(v.get("deprecationWarning"));
    let deprecated = is_true(v, "deprecated");
    let Some(w) = warning else {
        return Vec::new();
    };
    let text = w.as_str().unwrap_or("");
    if !deprecated {
        return vec![FieldError::invalid(
            path,
            text,
            "can only be set for deprecated versions",
        )];
    }
    let mut msgs = Vec::new();
    if text.len() > 256 {
        msgs.push("must be <= 256 characters long".to_string());
    }
    if text.is_empty() {
        msgs.push("must not be an empty string".to_string());
    }
    for (i, c) in text.char_indices() {
        // Go's unicode.IsPrint: graphic characters plus U+0020 only.
        if c.is_control() {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; non-printable character found at index {i}"
            ));
            break;
        }
        if c != ' ' && c.is_whitespace() {
            msgs.push(format!(
                "must only contain printable UTF-8 characters; non-printable character found at index {i}"
            ));
            break;
        }
    }
    msgs.into_iter()
        .map(|m| FieldError::invalid(path.clone(), text, m))
        .collect()
}

/// `ValidateCustomResourceDefinitionNames` (spec.names and status.acceptedNames).
fn validate_names(names: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for k in ["plural", "singular"] {
        let v = str_of(names, k);
        if !v.is_empty() {
            let e = is_dns1035_label(v);
            if !e.is_empty() {
                errs.push(FieldError::invalid(child(path, k), v, e.join(",")));
            }
        }
    }
    for k in ["kind", "listKind"] {
        let v = str_of(names, k);
        if !v.is_empty() {
            let e = is_dns1035_label(&v.to_lowercase());
            if !e.is_empty() {
                errs.push(FieldError::invalid(
                    child(path, k),
                    v,
                    format!(
                        "may have mixed case, but should otherwise match: {}",
                        e.join(",")
                    ),
                ));
            }
        }
    }
    for (i, s) in arr_of(names, "shortNames").iter().enumerate() {
        let s = s.as_str().unwrap_or("");
        let e = is_dns1035_label(s);
        if !e.is_empty() {
            errs.push(FieldError::invalid(
                index(&child(path, "shortNames"), i),
                s,
                e.join(","),
            ));
        }
    }
    let kind = str_of(names, "kind");
    if !kind.is_empty() && kind == str_of(names, "listKind") {
        errs.push(FieldError::invalid(
            child(path, "listKind"),
            kind,
            "kind and listKind may not be the same",
        ));
    }
    for (i, s) in arr_of(names, "categories").iter().enumerate() {
        let s = s.as_str().unwrap_or("");
        let e = is_dns1035_label(s);
        if !e.is_empty() {
            errs.push(FieldError::invalid(
                index(&child(path, "categories"), i),
                s,
                e.join(","),
            ));
        }
    }
    errs
}

/// `ValidateCustomResourceDefinitionStatus`.
fn validate_status(status: &Value) -> Vec<FieldError> {
    let null = Value::Null;
    validate_names(
        status.get("acceptedNames").unwrap_or(&null),
        "status.acceptedNames",
    )
}

/// `ValidateCustomResourceDefinitionStoredVersions`.
fn validate_stored_versions(crd: &Value) -> Vec<FieldError> {
    let path = "status.storedVersions";
    let stored = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if stored.is_empty() {
        return vec![FieldError::invalid(
            path,
            Value::Null,
            "must have at least one stored version",
        )];
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut errs = Vec::new();
    // name -> last index, like upstream's map
    let mut remaining: BTreeMap<String, usize> = BTreeMap::new();
    for (i, v) in stored.iter().enumerate() {
        remaining.insert(v.as_str().unwrap_or("").to_string(), i);
    }
    for v in versions {
        let name = str_of(v, "name");
        let found = remaining.contains_key(name);
        if is_true(v, "storage") && !found {
            errs.push(FieldError::invalid(
                path,
                string_list_repr(stored),
                format!("must have the storage version {name}"),
            ));
        }
        if found {
            remaining.remove(name);
        }
    }
    // Upstream iterates a Go map here (random order); we use index order.
    let mut rest: Vec<(usize, String)> = remaining.into_iter().map(|(k, i)| (i, k)).collect();
    rest.sort();
    for (i, v) in rest {
        errs.push(FieldError::invalid(
            index(path, i),
            v.as_str(),
            format!(
                "missing from spec.versions; {v} was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in {v} and removes {v} from status.storedVersions"
            ),
        ));
    }
    errs
}

/// `ValidateCustomResourceDefinitionSubresources`.
fn validate_subresources(sub: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(scale) = sub.and_then(|s| present(s.get("scale"))) else {
        return errs;
    };
    for (k, prefix, msg) in [
        (
            "specReplicasPath",
            ".spec.",
            "should be a json path under .spec",
        ),
        (
            "statusReplicasPath",
            ".status.",
            "should be a json path under .status",
        ),
    ] {
        let p = format!("{path}.scale.{k}");
        let v = str_of(scale, k);
        if v.is_empty() {
            errs.push(FieldError::required(p, ""));
        } else {
            let e = validate_simple_json_path(v, &p);
            if !e.is_empty() {
                errs.extend(e);
            } else if !v.starts_with(prefix) {
                errs.push(FieldError::invalid(p, v, msg));
            }
        }
    }
    let v = str_of(scale, "labelSelectorPath");
    if !v.is_empty() {
        let p = format!("{path}.scale.labelSelectorPath");
        let e = validate_simple_json_path(v, &p);
        if !e.is_empty() {
            errs.extend(e);
        } else if !v.starts_with(".spec.") && !v.starts_with(".status.") {
            errs.push(FieldError::invalid(
                p,
                v,
                "should be a json path under either .spec or .status",
            ));
        }
    }
    errs
}

/// `validateSimpleJSONPath`.
fn validate_simple_json_path(s: &str, path: &str) -> Vec<FieldError> {
    if s.is_empty() {
        vec![FieldError::invalid(path, s, "must not be empty")]
    } else if !s.starts_with('.') {
        vec![FieldError::invalid(
            path,
            s,
            "must be a simple json path starting with .",
        )]
    } else {
        Vec::new()
    }
}

/// `ValidateCustomResourceColumnDefinition` (note the internal field name `JSONPath`).
fn validate_column(c: &Value, path: &str) -> Vec<FieldError> {
    const TYPES: &str = "boolean,date,integer,number,string";
    const FORMATS: &str = "byte,date,date-time,double,float,int32,int64,password";
    let mut errs = Vec::new();
    if str_of(c, "name").is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    }
    let ty = str_of(c, "type");
    if ty.is_empty() {
        errs.push(FieldError::required(
            child(path, "type"),
            format!("must be one of {TYPES}"),
        ));
    } else if !TYPES.split(',').any(|t| t == ty) {
        errs.push(FieldError::invalid(
            child(path, "type"),
            ty,
            format!("must be one of {TYPES}"),
        ));
    }
    let format = str_of(c, "format");
    if !format.is_empty() && !FORMATS.split(',').any(|f| f == format) {
        errs.push(FieldError::invalid(
            child(path, "format"),
            format,
            format!("must be one of {FORMATS}"),
        ));
    }
    let jp = str_of(c, "jsonPath");
    if jp.is_empty() {
        errs.push(FieldError::required(child(path, "JSONPath"), ""));
    } else {
        errs.extend(validate_simple_json_path(jp, &child(path, "JSONPath")));
    }
    errs
}

/// `ValidateCustomResourceSelectableFields`: each `jsonPath` must resolve in the schema
/// (dot or `['quoted']` notation, no array indexes), not point into metadata, and reach a
/// string, boolean or integer field; no duplicates; at most 8. (The "allow too many on
/// unchanged update" ratchet is not implemented.)
fn validate_selectable_fields(fields: &[Value], schema: &Value, path: &str) -> Vec<FieldError> {
    const MAX_SELECTABLE_FIELDS: usize = 8;
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, f) in fields.iter().enumerate() {
        let p = child(&index(path, i), "jsonPath");
        let jp = str_of(f, "jsonPath");
        if jp.is_empty() {
            errs.push(FieldError::required(p, ""));
            continue;
        }
        let (resolved, found) = match resolve_field_path(jp, schema) {
            Ok(r) => r,
            Err(e) => {
                errs.push(FieldError::invalid(
                    p,
                    jp,
                    format!("is an invalid path: {e}"),
                ));
                continue;
            }
        };
        if resolved.first().is_some_and(|(name, _)| name == "metadata") {
            errs.push(FieldError::invalid(
                p.as_str(),
                jp,
                "must not point to fields in metadata",
            ));
        }
        let ty = found.map(|s| str_of(s, "type")).unwrap_or("");
        if !matches!(ty, "string" | "boolean" | "integer") {
            errs.push(FieldError::invalid(
                p.as_str(),
                jp,
                "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.",
            ));
        }
        let mut key = String::new();
        for (name, named) in &resolved {
            if *named {
                key = child(&key, name);
            } else {
                key = format!("{key}[{name}]");
            }
        }
        if !seen.insert(key) {
            errs.push(FieldError::duplicate(p, jp));
        }
    }
    if seen.len() > MAX_SELECTABLE_FIELDS {
        errs.push(FieldError::too_many(
            path,
            Some(seen.len()),
            Some(MAX_SELECTABLE_FIELDS),
        ));
    }
    errs
}

/// Splits a JSON path into tokens like upstream's scanner: `.`, `[`, `]` alone, quoted
/// strings kept whole, other text up to the next delimiter.
fn field_path_tokens(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = path.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let mut len = rest.len();
        if rest.first() == Some(&b'\'') {
            // up to the closing unescaped quote (or the end)
            let mut i = 1;
            while i < rest.len() {
                if rest[i] == b'\'' && rest[i - 1] != b'\\' {
                    len = i + 1;
                    break;
                }
                i += 1;
            }
        } else if let Some(i) = rest.iter().position(|b| matches!(b, b'.' | b'[' | b']')) {
            len = if i == 0 { 1 } else { i };
        }
        out.push(path.get(start..start + len).unwrap_or(""));
        start += len;
    }
    out
}

/// Steps of a resolved field path (name, is-a-property) and the schema reached.
type ResolvedPath<'s> = (Vec<(String, bool)>, Option<&'s Value>);

/// `cel.ValidFieldPath(path, schema, WithFieldPathAllowArrayNotation(false))`: the path as
/// (name, is-property) steps and the schema it reaches (`None` past a schemaless map).
fn resolve_field_path<'s>(path: &str, schema: &'s Value) -> Result<ResolvedPath<'s>, String> {
    let mut cur = Some(schema);
    let mut steps = Vec::new();
    let mut toks = field_path_tokens(path).into_iter();
    while let Some(tok) = toks.next() {
        match tok {
            "[" => return Err("array notation is not allowed".into()),
            "." => {
                let Some(name) = toks.next() else {
                    return Err("unexpected end of JSON path".into());
                };
                let Some(s) = cur else {
                    return Err("does not refer to a valid field".into());
                };
                let props = s.get("properties").and_then(Value::as_object);
                if let Some(props) = props.filter(|p| !p.is_empty()) {
                    let Some(next) = props.get(name) else {
                        return Err("does not refer to a valid field".into());
                    };
                    cur = Some(next);
                    steps.push((name.to_string(), true));
                } else if let Some(ap) = present(s.get("additionalProperties")) {
                    cur = if ap.is_object() { Some(ap) } else { None };
                    steps.push((name.to_string(), false));
                } else {
                    return Err("does not refer to a valid field".into());
                }
            }
            other => return Err(format!("expected [ or . but got: {other}")),
        }
    }
    Ok((steps, cur))
}

/// `validateCustomResourceConversion` on the internal shape (paths
/// `spec.conversion.webhookClientConfig`, `spec.conversion.conversionReviewVersions`).
fn validate_conversion(c: &Value, require_recognized: bool) -> Vec<FieldError> {
    let path = "spec.conversion";
    let strategy = str_of(c, "strategy");
    let mut errs = validate_enum(
        &child(path, "strategy"),
        strategy,
        &["None", "Webhook"],
        true,
    );
    let webhook = present(c.get("webhook"));
    let client_config = webhook.and_then(|w| present(w.get("clientConfig")));
    let review_versions = webhook
        .map(|w| arr_of(w, "conversionReviewVersions"))
        .unwrap_or(&[]);
    let cc_path = child(path, "webhookClientConfig");
    if strategy == "Webhook" {
        match client_config {
            None => errs.push(FieldError::required(
                cc_path.as_str(),
                "required when strategy is set to Webhook",
            )),
            Some(cc) => {
                let url = present(cc.get("url"));
                let service = present(cc.get("service"));
                match (url, service) {
                    (Some(u), None) => errs.extend(validate_webhook_url(
                        u.as_str().unwrap_or(""),
                        &child(&cc_path, "url"),
                    )),
                    (None, Some(s)) => {
                        errs.extend(validate_webhook_service(s, &child(&cc_path, "service")))
                    }
                    _ => errs.push(FieldError::required(
                        cc_path.as_str(),
                        "exactly one of url or service is required",
                    )),
                }
            }
        }
        errs.extend(validate_review_versions(
            review_versions,
            require_recognized,
            &child(path, "conversionReviewVersions"),
        ));
    } else {
        if client_config.is_some() {
            errs.push(FieldError::forbidden(
                cc_path,
                "should not be set when strategy is not set to Webhook",
            ));
        }
        if !review_versions.is_empty() {
            errs.push(FieldError::forbidden(
                child(path, "conversionReviewVersions"),
                "should not be set when strategy is not set to Webhook",
            ));
        }
    }
    errs
}

/// `validateConversionReviewVersions`.
fn validate_review_versions(
    versions: &[Value],
    require_recognized: bool,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if versions.is_empty() {
        errs.push(FieldError::required(path, ""));
        return errs;
    }
    let mut seen = BTreeSet::new();
    let mut accepted = false;
    for (i, v) in versions.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        if !seen.insert(v) {
            errs.push(FieldError::invalid(index(path, i), v, "duplicate version"));
            continue;
        }
        for m in is_dns1035_label(v) {
            errs.push(FieldError::invalid(index(path, i), v, m));
        }
        if v == "v1" || v == "v1beta1" {
            accepted = true;
        }
    }
    if require_recognized && !accepted {
        errs.push(FieldError::invalid(
            path,
            string_list_repr(versions),
            "must include at least one of v1, v1beta1",
        ));
    }
    errs
}

/// `webhook.ValidateWebhookURL(path, url, forceHttps=true)` with the messages of the live
/// v1.36 server. The URL is split the way Go's `url.Parse` does for these parts.
fn validate_webhook_url(url: &str, path: &str) -> Vec<FieldError> {
    const FORM: &str = "; desired format: https://host[/path]";
    let mut errs = Vec::new();
    let (rest, fragment) = match url.split_once('#') {
        Some((r, f)) => (r, f),
        None => (url, ""),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, q),
        None => (rest, ""),
    };
    let (scheme, rest) = match rest.split_once(':') {
        Some((s, r))
            if !s.is_empty()
                && s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) =>
        {
            (s.to_ascii_lowercase(), r)
        }
        _ => (String::new(), rest),
    };
    let (user, host) = match rest.strip_prefix("//") {
        Some(auth_path) => {
            let authority = auth_path.split('/').next().unwrap_or("");
            match authority.rsplit_once('@') {
                Some((u, h)) => (Some(u), h),
                None => (None, authority),
            }
        }
        None => (None, ""),
    };
    if scheme != "https" {
        errs.push(FieldError::invalid(
            path,
            scheme.as_str(),
            format!("'https' is the only allowed URL scheme{FORM}"),
        ));
    }
    if host.is_empty() {
        errs.push(FieldError::invalid(
            path,
            host,
            format!("host must be specified{FORM}"),
        ));
    }
    if let Some(u) = user {
        errs.push(FieldError::invalid(
            path,
            u,
            "user information is not permitted in the URL",
        ));
    }
    if !fragment.is_empty() {
        errs.push(FieldError::invalid(
            path,
            fragment,
            "fragments are not permitted in the URL",
        ));
    }
    if !query.is_empty() {
        errs.push(FieldError::invalid(
            path,
            query,
            "query parameters are not permitted in the URL",
        ));
    }
    errs
}

/// `webhook.ValidateWebhookService` with the messages of the live v1.36 server.
fn validate_webhook_service(svc: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if str_of(svc, "name").is_empty() {
        errs.push(FieldError::required(child(path, "name"), ""));
    }
    if str_of(svc, "namespace").is_empty() {
        errs.push(FieldError::required(child(path, "namespace"), ""));
    }
    let port = svc.get("port").and_then(Value::as_i64).unwrap_or(443);
    if !(1..=65535).contains(&port) {
        errs.push(FieldError::invalid(
            child(path, "port"),
            port,
            "port is not valid: must be between 1 and 65535, inclusive",
        ));
    }
    let Some(url_path) = present(svc.get("path")).and_then(Value::as_str) else {
        return errs;
    };
    let ppath = child(path, "path");
    if url_path == "/" || url_path.is_empty() {
        return errs;
    }
    if url_path == "//" {
        errs.push(FieldError::invalid(
            ppath,
            url_path,
            "segment[0] may not be empty",
        ));
        return errs;
    }
    if !url_path.starts_with('/') {
        errs.push(FieldError::invalid(
            ppath.as_str(),
            url_path,
            "must start with a '/'",
        ));
    }
    let mut check = url_path.get(1..).unwrap_or("");
    if let Some(c) = check.strip_suffix('/') {
        check = c;
    }
    for (i, step) in check.split('/').enumerate() {
        if step.is_empty() {
            errs.push(FieldError::invalid(
                ppath.as_str(),
                url_path,
                format!("segment[{i}] may not be empty"),
            ));
            continue;
        }
        for m in is_dns1123_subdomain(step) {
            errs.push(FieldError::invalid(
                ppath.as_str(),
                url_path,
                format!("segment[{i}]: {m}"),
            ));
        }
    }
    errs
}

/// `validateAPIApproval`: CRDs in `k8s.io` / `kubernetes.io` groups need the
/// `api-approved.kubernetes.io` annotation (a URL, or a reason starting with "unapproved").
fn validate_api_approval(new: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let group = new
        .pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("");
    let protected = group == "k8s.io"
        || group.ends_with(".k8s.io")
        || group == "kubernetes.io"
        || group.ends_with(".kubernetes.io");
    if !protected {
        return Vec::new();
    }
    let annotation = |o: &Value| -> String {
        o.pointer("/metadata/annotations")
            .map(|a| str_of(a, API_APPROVED_ANNOTATION).to_string())
            .unwrap_or_default()
    };
    let new_ann = annotation(new);
    let (new_state, reason) = approval_state(&new_ann);
    if let Some(old) = old
        && approval_state(&annotation(old)).0 == new_state
    {
        return Vec::new();
    }
    let path = format!("metadata.annotations[{API_APPROVED_ANNOTATION}]");
    match new_state {
        Approval::Missing => vec![FieldError::required(path, reason)],
        Approval::Invalid => vec![FieldError::invalid(path, new_ann, reason)],
        Approval::Approved | Approval::Bypassed => Vec::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approval {
    Invalid,
    Approved,
    Bypassed,
    Missing,
}

/// `GetAPIApprovalState`.
fn approval_state(annotation: &str) -> (Approval, String) {
    if annotation.is_empty() {
        return (
            Approval::Missing,
            format!(
                "protected groups must have approval annotation \"{API_APPROVED_ANNOTATION}\", see https://github.com/kubernetes/enhancements/pull/1111"
            ),
        );
    }
    if annotation.starts_with("unapproved") {
        return (Approval::Bypassed, format!("not approved: {annotation:?}"));
    }
    // url.ParseRequestURI succeeded with a scheme and a host: absolute URL `scheme://host...`.
    let approved = annotation.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && !rest.split(['/', '?', '#']).next().unwrap_or("").is_empty()
            && !annotation.contains(' ')
    });
    if approved {
        return (Approval::Approved, format!("approved in {annotation}"));
    }
    (
        Approval::Invalid,
        format!(
            "protected groups must have approval annotation \"{API_APPROVED_ANNOTATION}\" with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"
        ),
    )
}

/// `validatePreserveUnknownFields`: `spec.preserveUnknownFields: true` is refused unless the
/// old object already had it.
fn validate_preserve_unknown_fields(new: &Value, old: Option<&Value>) -> Vec<FieldError> {
    if old.is_some_and(|o| o.pointer("/spec/preserveUnknownFields") == Some(&Value::Bool(true))) {
        return Vec::new();
    }
    if new.pointer("/spec/preserveUnknownFields") == Some(&Value::Bool(true)) {
        return vec![FieldError::invalid(
            "spec.preserveUnknownFields",
            true,
            "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
        )];
    }
    Vec::new()
}

// ---------------------------------------------------------------------------
// Conditions and the controllers' status (naming, establishing, finalizer)
// ---------------------------------------------------------------------------

/// Whether `status.conditions` has `type` with status "True" (`IsCRDConditionTrue`).
pub fn condition_true(crd: &Value, cond_type: &str) -> bool {
    find_condition(crd.get("status"), cond_type).is_some_and(|c| str_of(c, "status") == "True")
}

fn find_condition<'a>(status: Option<&'a Value>, cond_type: &str) -> Option<&'a Value> {
    status
        .map(|s| arr_of(s, "conditions"))
        .unwrap_or(&[])
        .iter()
        .find(|c| str_of(c, "type") == cond_type)
}

/// `SetCRDCondition` on a CRD's `status`: appends the condition, or updates status, reason
/// and message in place; `lastTransitionTime` changes only when the status changes (or was
/// unset). Conditions serialize in Go field order: type, status, lastTransitionTime, reason,
/// message.
pub fn set_condition(
    status: &mut Value,
    cond_type: &str,
    cond_status: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    if !status.is_object() {
        *status = Value::Object(Map::new());
    }
    let Some(s) = status.as_object_mut() else {
        return;
    };
    let conds = s
        .entry("conditions")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !conds.is_array() {
        *conds = Value::Array(Vec::new());
    }
    let Some(list) = conds.as_array_mut() else {
        return;
    };
    if let Some(existing) = list
        .iter_mut()
        .find(|c| str_of(c, "type") == cond_type)
        .and_then(Value::as_object_mut)
    {
        let old_status = existing.get("status").and_then(Value::as_str).unwrap_or("");
        let no_time = existing
            .get("lastTransitionTime")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        let time = if old_status != cond_status || no_time {
            Value::String(now.to_string())
        } else {
            existing
                .get("lastTransitionTime")
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut m = Map::new();
        m.insert("type".into(), json!(cond_type));
        m.insert("status".into(), json!(cond_status));
        m.insert("lastTransitionTime".into(), time);
        m.insert("reason".into(), json!(reason));
        m.insert("message".into(), json!(message));
        *existing = m;
    } else {
        list.push(json!({
            "type": cond_type,
            "status": cond_status,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }));
    }
}

/// A condition to set: (type, status, reason, message).
pub type Condition = (&'static str, &'static str, &'static str, String);

/// The naming controller's decision (`calculateNamesAndConditions`) for `crd` given every
/// CRD in the store (`all` may include `crd` itself; only those of the same group count, and
/// `crd`'s own accepted names count too, as upstream). Returns the new `acceptedNames`, the
/// `NamesAccepted` condition and the `Established` condition to set.
pub fn calculate_names(crd: &Value, all: &[&Value]) -> (Value, Condition, Condition) {
    let null = Value::Null;
    let spec = crd.get("spec").unwrap_or(&null);
    let group = str_of(spec, "group");
    let own_name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut resources: BTreeSet<String> = BTreeSet::new();
    let mut kinds: BTreeSet<String> = BTreeSet::new();
    let mut add = |c: &Value| {
        if c.pointer("/spec/group").and_then(Value::as_str) != Some(group) {
            return;
        }
        let Some(acc) = c.pointer("/status/acceptedNames") else {
            resources.insert(String::new());
            kinds.insert(String::new());
            return;
        };
        resources.insert(str_of(acc, "plural").to_string());
        resources.insert(str_of(acc, "singular").to_string());
        for s in arr_of(acc, "shortNames") {
            resources.insert(s.as_str().unwrap_or("").to_string());
        }
        kinds.insert(str_of(acc, "kind").to_string());
        kinds.insert(str_of(acc, "listKind").to_string());
    };
    add(crd);
    for c in all {
        if c.pointer("/metadata/name").and_then(Value::as_str) != Some(own_name) {
            add(c);
        }
    }

    let requested = spec.get("names").unwrap_or(&null);
    let accepted = crd.pointer("/status/acceptedNames").unwrap_or(&null);
    let mut new_names: Map<String, Value> = accepted.as_object().cloned().unwrap_or_default();
    let mut failed: Option<(&'static str, String)> = None;
    let fresh = |req: &str, acc: &str, used: &BTreeSet<String>| -> Result<(), String> {
        if req == acc || !used.contains(req) {
            Ok(())
        } else {
            Err(format!("{req:?} is already in use"))
        }
    };
    for (k, reason) in [
        ("plural", "PluralConflict"),
        ("singular", "SingularConflict"),
    ] {
        match fresh(str_of(requested, k), str_of(accepted, k), &resources) {
            Ok(()) => {
                new_names.insert(k.into(), json!(str_of(requested, k)));
            }
            Err(m) => failed = Some((reason, m)),
        }
    }
    let req_short = arr_of(requested, "shortNames");
    let acc_short = arr_of(accepted, "shortNames");
    if req_short != acc_short {
        let existing: BTreeSet<&str> = acc_short.iter().filter_map(Value::as_str).collect();
        let mut msgs = Vec::new();
        for s in req_short {
            let s = s.as_str().unwrap_or("");
            if existing.contains(s) {
                continue;
            }
            if let Err(m) = fresh(s, "", &resources) {
                msgs.push(m);
            }
        }
        if msgs.is_empty() {
            match requested.get("shortNames") {
                Some(v) if !v.is_null() => {
                    new_names.insert("shortNames".into(), v.clone());
                }
                _ => {
                    new_names.remove("shortNames");
                }
            }
        } else {
            // utilerrors.NewAggregate(...).Error()
            let msg = if msgs.len() == 1 {
                msgs.remove(0)
            } else {
                format!("[{}]", msgs.join(", "))
            };
            failed = Some(("ShortNamesConflict", msg));
        }
    }
    for (k, reason) in [("kind", "KindConflict"), ("listKind", "ListKindConflict")] {
        match fresh(str_of(requested, k), str_of(accepted, k), &kinds) {
            Ok(()) => {
                new_names.insert(k.into(), json!(str_of(requested, k)));
            }
            Err(m) => failed = Some((reason, m)),
        }
    }
    match requested.get("categories") {
        Some(v) if !v.is_null() => {
            new_names.insert("categories".into(), v.clone());
        }
        _ => {
            new_names.remove("categories");
        }
    }

    let names_accepted: Condition = match failed {
        Some((reason, msg)) => (NAMES_ACCEPTED, "False", reason, msg),
        None => (
            NAMES_ACCEPTED,
            "True",
            "NoConflicts",
            "no conflicts found".to_string(),
        ),
    };
    let old_established = find_condition(crd.get("status"), ESTABLISHED);
    let old_est_true = old_established.is_some_and(|c| str_of(c, "status") == "True");
    let established: Condition = if !old_est_true && names_accepted.1 == "True" {
        (
            ESTABLISHED,
            "False",
            "Installing",
            "the initial names have been accepted".to_string(),
        )
    } else if let Some(c) = old_established {
        (
            ESTABLISHED,
            static_status(str_of(c, "status")),
            static_reason(str_of(c, "reason")),
            str_of(c, "message").to_string(),
        )
    } else {
        (
            ESTABLISHED,
            "False",
            "NotAccepted",
            "not all names are accepted".to_string(),
        )
    };
    (
        Value::Object(order_names(new_names)),
        names_accepted,
        established,
    )
}

fn static_status(s: &str) -> &'static str {
    match s {
        "True" => "True",
        "False" => "False",
        _ => "Unknown",
    }
}

/// Reasons an existing Established condition may carry (kept verbatim when re-set).
fn static_reason(s: &str) -> &'static str {
    match s {
        "InitialNamesAccepted" => "InitialNamesAccepted",
        "Installing" => "Installing",
        "NotAccepted" => "NotAccepted",
        "InvalidCABundle" => "InvalidCABundle",
        _ => "",
    }
}

/// `CustomResourceDefinitionNames` in Go field order (plural, singular, shortNames, kind,
/// listKind, categories), `plural` and `kind` always present.
fn order_names(mut m: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for k in [
        "plural",
        "singular",
        "shortNames",
        "kind",
        "listKind",
        "categories",
    ] {
        match m.remove(k) {
            Some(Value::String(s)) if s.is_empty() && k != "plural" && k != "kind" => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(Value::Null) | None => {
                if k == "plural" || k == "kind" {
                    out.insert(k.into(), json!(""));
                }
            }
            Some(v) => {
                out.insert(k.into(), v);
            }
        }
    }
    out
}

/// The naming controller's `sync` for one CRD: the full new `status` to write through the
/// status subresource, or `None` when upstream writes nothing (names already accepted as
/// requested, or nothing would change).
pub fn naming_status(crd: &Value, all: &[&Value], now: &str) -> Option<Value> {
    let requested = crd.pointer("/spec/names");
    let accepted = crd.pointer("/status/acceptedNames");
    if semantic_eq(requested, accepted) {
        return None;
    }
    let (names, na, est) = calculate_names(crd, all);
    let same_names = semantic_eq(Some(&names), accepted);
    let same_cond = find_condition(crd.get("status"), NAMES_ACCEPTED).is_some_and(|c| {
        str_of(c, "status") == na.1 && str_of(c, "reason") == na.2 && str_of(c, "message") == na.3
    });
    if same_names && same_cond {
        return None;
    }
    let mut status = crd.get("status").cloned().unwrap_or(Value::Null);
    if !status.is_object() {
        status = Value::Object(Map::new());
    }
    if let Some(s) = status.as_object_mut() {
        s.insert("acceptedNames".into(), names);
    }
    set_condition(&mut status, na.0, na.1, na.2, &na.3, now);
    set_condition(&mut status, est.0, est.1, est.2, &est.3, now);
    Some(reorder_status(status))
}

/// The establishing controller's `sync`: when `NamesAccepted` is True and `Established` is
/// not, the new status with `Established=True` (`InitialNamesAccepted`, "the initial names
/// have been accepted"); `None` otherwise. (The `InvalidCABundle` branch needs PEM parsing
/// of a conversion webhook CA bundle and is not covered.)
pub fn establish_status(crd: &Value, now: &str) -> Option<Value> {
    if !condition_true(crd, NAMES_ACCEPTED) || condition_true(crd, ESTABLISHED) {
        return None;
    }
    let mut status = crd.get("status").cloned().unwrap_or(Value::Null);
    set_condition(
        &mut status,
        ESTABLISHED,
        "True",
        "InitialNamesAccepted",
        "the initial names have been accepted",
        now,
    );
    Some(reorder_status(status))
}

/// `status` as upstream serializes it: keys in Go field order, `conditions` and
/// `storedVersions` `null` when absent, `acceptedNames` always with `plural` and `kind`
/// (the create response reads `{"conditions":null,"acceptedNames":{"plural":"","kind":""},
/// "storedVersions":["v1"]}`).
pub fn reorder_status(status: Value) -> Value {
    let mut m = match status {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut out = Map::new();
    out.insert(
        "conditions".into(),
        m.remove("conditions").unwrap_or(Value::Null),
    );
    let names = match m.remove("acceptedNames") {
        Some(Value::Object(n)) => n,
        _ => Map::new(),
    };
    out.insert("acceptedNames".into(), Value::Object(order_names(names)));
    out.insert(
        "storedVersions".into(),
        m.remove("storedVersions").unwrap_or(Value::Null),
    );
    out.extend(m);
    Value::Object(out)
}

/// What the CRD REST `Delete` does to a CRD not yet being deleted (upstream
/// `registry/customresourcedefinition/etcd.go`): set `deletionTimestamp`, add the
/// [`CLEANUP_FINALIZER`], set `Terminating=True` (`InstanceDeletionPending`). The object is
/// then updated in storage, not removed.
pub fn mark_for_deletion(crd: &mut Value, now: &str) {
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if meta.get("deletionTimestamp").is_none_or(Value::is_null) {
            meta.insert("deletionTimestamp".into(), json!(now));
        }
        let fins = meta
            .entry("finalizers")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !fins.is_array() {
            *fins = Value::Array(Vec::new());
        }
        if let Some(list) = fins.as_array_mut()
            && !list.iter().any(|f| f.as_str() == Some(CLEANUP_FINALIZER))
        {
            list.push(json!(CLEANUP_FINALIZER));
        }
    }
    let status = obj.entry("status").or_insert(Value::Null);
    set_condition(
        status,
        TERMINATING,
        "True",
        "InstanceDeletionPending",
        "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        now,
    );
}

/// Steps of the CRD finalizer controller (`crd_finalizer.go`), each the `Terminating`
/// condition it writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinalizerStep {
    /// Before deleting the instances: True / InstanceDeletionInProgress.
    InProgress,
    /// The CRD never became Established: False / NeverEstablished (then the finalizer goes).
    NeverEstablished,
    /// Listing the instances failed: True / InstanceDeletionFailed.
    ListFailed(String),
    /// Some deletes failed: True / InstanceDeletionFailed.
    DeleteFailed(String),
    /// Instances remain after the deletes: True / InstanceDeletionCheck.
    CheckFailed(String),
    /// All instances are gone: False / InstanceDeletionCompleted (then the finalizer goes).
    Completed,
}

/// The `Terminating` condition (status, reason, message) for a finalizer step.
pub fn terminating_condition(step: &FinalizerStep) -> (&'static str, &'static str, String) {
    match step {
        FinalizerStep::InProgress => (
            "True",
            "InstanceDeletionInProgress",
            "CustomResource deletion is in progress".into(),
        ),
        FinalizerStep::NeverEstablished => (
            "False",
            "NeverEstablished",
            "resource was never established".into(),
        ),
        FinalizerStep::ListFailed(e) => (
            "True",
            "InstanceDeletionFailed",
            format!("could not list instances: {e}"),
        ),
        FinalizerStep::DeleteFailed(e) => (
            "True",
            "InstanceDeletionFailed",
            format!("could not issue all deletes: {e}"),
        ),
        FinalizerStep::CheckFailed(e) => (
            "True",
            "InstanceDeletionCheck",
            format!("could not confirm zero CustomResources remaining: {e}"),
        ),
        FinalizerStep::Completed => (
            "False",
            "InstanceDeletionCompleted",
            "removed all instances".into(),
        ),
    }
}

/// Applies a finalizer step to a CRD: sets the `Terminating` condition and, for
/// `NeverEstablished` / `Completed`, removes the [`CLEANUP_FINALIZER`].
pub fn apply_finalizer_step(crd: &mut Value, step: &FinalizerStep, now: &str) {
    let (st, reason, msg) = terminating_condition(step);
    let Some(obj) = crd.as_object_mut() else {
        return;
    };
    let status = obj.entry("status").or_insert(Value::Null);
    set_condition(status, TERMINATING, st, reason, &msg, now);
    if matches!(
        step,
        FinalizerStep::NeverEstablished | FinalizerStep::Completed
    ) && let Some(list) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("finalizers"))
        .and_then(Value::as_array_mut)
    {
        list.retain(|f| f.as_str() != Some(CLEANUP_FINALIZER));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DNS1035: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

    fn no_schema_errors(_: &SchemaSite<'_>) -> Vec<FieldError> {
        Vec::new()
    }

    /// Defaults + prepare_for_create + validate, as the create handler would.
    fn create_errors(mut crd: Value) -> Vec<String> {
        default_crd(&mut crd);
        prepare_for_create(&mut crd);
        validate_crd(&crd, &mut no_schema_errors)
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    fn base() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "foos.crd-a.example.com"},
            "spec": {
                "group": "crd-a.example.com",
                "names": {"plural": "foos", "kind": "Foo"},
                "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object"}}}]
            }
        })
    }

    #[test]
    fn defaults_match_upstream_read_back() {
        let mut crd = base();
        default_crd(&mut crd);
        prepare_for_create(&mut crd);
        assert_eq!(
            crd["spec"]["names"],
            json!({"plural": "foos", "kind": "Foo", "singular": "foo", "listKind": "FooList"})
        );
        assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
        assert_eq!(
            crd["status"].to_string(),
            r#"{"conditions":null,"acceptedNames":{"plural":"","kind":""},"storedVersions":["v1"]}"#
        );
        assert_eq!(crd["metadata"]["generation"], json!(1));
        assert!(create_errors(base()).is_empty());
    }

    #[test]
    fn webhook_service_port_defaults_to_443() {
        let mut crd = base();
        crd["spec"]["conversion"] = json!({"strategy": "Webhook", "webhook": {
            "conversionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": "s", "namespace": "n"}}}});
        default_crd(&mut crd);
        assert_eq!(
            crd["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
            json!(443)
        );
    }

    #[test]
    fn many_errors_in_upstream_order() {
        let crd = json!({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
            "metadata":{"name":"bars.crd-b"},
            "spec":{"group":"crd-b","names":{"plural":"Bars","kind":"bar-x","shortNames":["B_1"],"categories":["Ok","all"]},
            "versions":[{"name":"v1","served":true,"storage":true},{"name":"V2","served":true,"storage":true}]}});
        let v = r#"[{"Name":"v1","Served":true,"Storage":true,"Deprecated":false,"DeprecationWarning":null,"Schema":null,"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null},{"Name":"V2","Served":true,"Storage":true,"Deprecated":false,"DeprecationWarning":null,"Schema":null,"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null}]"#;
        let expected = vec![
            "metadata.name: Invalid value: \"bars.crd-b\": must be spec.names.plural+\".\"+spec.group".to_string(),
            "spec.group: Invalid value: \"crd-b\": should be a domain with at least one dot".into(),
            "spec.scope: Required value".into(),
            "spec.versions[0].schema.openAPIV3Schema: Required value".into(),
            "spec.versions[1].schema.openAPIV3Schema: Required value".into(),
            format!("spec.versions[1].name: Invalid value: \"V2\": {DNS1035}"),
            format!("spec.versions: Invalid value: {v}: must have exactly one version marked as storage version"),
            format!("spec.names.plural: Invalid value: \"Bars\": {DNS1035}"),
            format!("spec.names.shortNames[0]: Invalid value: \"B_1\": {DNS1035}"),
            format!("spec.names.categories[0]: Invalid value: \"Ok\": {DNS1035}"),
            "status.storedVersions: Invalid value: [\"v1\"]: must have the storage version V2".into(),
        ];
        assert_eq!(create_errors(crd), expected);
    }

    #[test]
    fn empty_spec() {
        let crd = json!({"metadata":{"name":"x"},"spec":{}});
        assert_eq!(
            create_errors(crd),
            vec![
                "metadata.name: Invalid value: \"x\": must be spec.names.plural+\".\"+spec.group",
                "spec.group: Required value",
                "spec.scope: Required value",
                "spec.versions: Invalid value: null: must have exactly one version marked as storage version",
                "spec.names.plural: Required value",
                "spec.names.singular: Required value",
                "spec.names.kind: Required value",
                "spec.names.listKind: Required value",
                "status.storedVersions: Invalid value: null: must have at least one stored version",
            ]
        );
    }

    #[test]
    fn full_422_status_as_upstream() {
        use crate::apimachinery::validation::invalid_status;
        let mut crd = json!({"metadata":{"name":"x"},"spec":{}});
        default_crd(&mut crd);
        prepare_for_create(&mut crd);
        let errs = validate_crd(&crd, &mut no_schema_errors);
        let got = invalid_status(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "x",
            &errs,
        );
        // Read back from the live v1.36 server (causes trimmed to the first and last).
        assert_eq!(
            got["message"],
            "CustomResourceDefinition.apiextensions.k8s.io \"x\" is invalid: [metadata.name: Invalid value: \"x\": must be spec.names.plural+\".\"+spec.group, spec.group: Required value, spec.scope: Required value, spec.versions: Invalid value: null: must have exactly one version marked as storage version, spec.names.plural: Required value, spec.names.singular: Required value, spec.names.kind: Required value, spec.names.listKind: Required value, status.storedVersions: Invalid value: null: must have at least one stored version]"
        );
        assert_eq!(got["code"], 422);
        assert_eq!(got["reason"], "Invalid");
        assert_eq!(
            got["details"]["causes"][0],
            json!({"reason":"FieldValueInvalid","message":"Invalid value: \"x\": must be spec.names.plural+\".\"+spec.group","field":"metadata.name"})
        );
        assert_eq!(
            got["details"]["causes"][8],
            json!({"reason":"FieldValueInvalid","message":"Invalid value: null: must have at least one stored version","field":"status.storedVersions"})
        );
        assert_eq!(got["details"]["group"], "apiextensions.k8s.io");
        assert_eq!(got["details"]["kind"], "CustomResourceDefinition");
    }

    #[test]
    fn hoisted_fields_and_schema_callback_position() {
        let mut crd = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Global",
            "names":{"plural":"bars","kind":"Bar","listKind":"Bar"},"conversion":{"strategy":"Webhook"},
            "versions":[{"name":"V1","served":true,"storage":true,"deprecationWarning":"x",
              "schema":{"openAPIV3Schema":{"type":"foo"}},
              "subresources":{"status":{},"scale":{"specReplicasPath":"spec.r","statusReplicasPath":".spec.x","labelSelectorPath":"x"}},
              "additionalPrinterColumns":[{"name":"","type":"int","format":"x","jsonPath":"a"}]}]}});
        default_crd(&mut crd);
        prepare_for_create(&mut crd);
        let mut sites = Vec::new();
        let errs = validate_crd(&crd, &mut |site: &SchemaSite<'_>| {
            sites.push((
                site.path.clone(),
                site.status_enabled,
                site.version.map(str::to_string),
            ));
            vec![FieldError::invalid(
                format!("{}.openAPIV3Schema.type", site.path),
                "foo",
                "must be object at the root",
            )]
        });
        assert_eq!(sites, vec![("spec.validation".to_string(), true, None)]);
        let got: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "spec.scope: Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\"".to_string(),
                format!("spec.versions[0].name: Invalid value: \"V1\": {DNS1035}"),
                "spec.versions[0].deprecationWarning: Invalid value: \"x\": can only be set for deprecated versions".into(),
                format!("spec.version: Invalid value: \"V1\": {DNS1035}"),
                "spec.names.listKind: Invalid value: \"Bar\": kind and listKind may not be the same".into(),
                "spec.validation.openAPIV3Schema.type: Invalid value: \"foo\": must be object at the root".into(),
                "spec.subresources.scale.specReplicasPath: Invalid value: \"spec.r\": must be a simple json path starting with .".into(),
                "spec.subresources.scale.statusReplicasPath: Invalid value: \".spec.x\": should be a json path under .status".into(),
                "spec.subresources.scale.labelSelectorPath: Invalid value: \"x\": must be a simple json path starting with .".into(),
                "spec.additionalPrinterColumns[0].name: Required value".into(),
                "spec.additionalPrinterColumns[0].type: Invalid value: \"int\": must be one of boolean,date,integer,number,string".into(),
                "spec.additionalPrinterColumns[0].format: Invalid value: \"x\": must be one of byte,date,date-time,double,float,int32,int64,password".into(),
                "spec.additionalPrinterColumns[0].JSONPath: Invalid value: \"a\": must be a simple json path starting with .".into(),
                "spec.conversion.webhookClientConfig: Required value: required when strategy is set to Webhook".into(),
                "spec.conversion.conversionReviewVersions: Required value".into(),
            ]
        );
    }

    #[test]
    fn per_version_schema_sites() {
        let mut old = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Cluster",
            "names":{"plural":"bars","kind":"Bar"},
            "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}},"subresources":{"status":{}}},
                        {"name":"v2","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","description":"d"}}}]}});
        default_crd(&mut old);
        prepare_for_create(&mut old);
        let mut sites = Vec::new();
        let errs = validate_crd(&old, &mut |site: &SchemaSite<'_>| {
            sites.push((
                site.path.clone(),
                site.status_enabled,
                site.version.map(str::to_string),
                site.old_schema.is_some(),
            ));
            vec![FieldError::invalid(
                format!("{}.openAPIV3Schema", site.path),
                "",
                "x",
            )]
        });
        assert_eq!(
            sites,
            vec![
                (
                    "spec.versions[0].schema".to_string(),
                    true,
                    Some("v1".to_string()),
                    false
                ),
                (
                    "spec.versions[1].schema".to_string(),
                    false,
                    Some("v2".to_string()),
                    false
                ),
            ]
        );
        assert_eq!(errs.len(), 2);
        // on update the old schema of the same version is handed over
        let new = old.clone();
        let mut olds = Vec::new();
        validate_crd_update(&new, &old, &mut |site: &SchemaSite<'_>| {
            olds.push(site.old_schema == Some(site.schema));
            Vec::new()
        });
        assert_eq!(olds, vec![true, true]);
    }

    #[test]
    fn per_version_fields_and_review_versions() {
        let crd = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Cluster",
            "names":{"plural":"bars","kind":"Bar"},
            "conversion":{"strategy":"Webhook","webhook":{"conversionReviewVersions":["v9","v9"],"clientConfig":{}}},
            "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}},"subresources":{"scale":{}}},
              {"name":"v2","served":false,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}},
               "additionalPrinterColumns":[{"name":"a","type":"string","jsonPath":".x"}]}]}});
        assert_eq!(
            create_errors(crd),
            vec![
                "spec.versions[0].subresources.scale.specReplicasPath: Required value",
                "spec.versions[0].subresources.scale.statusReplicasPath: Required value",
                "spec.conversion.webhookClientConfig: Required value: exactly one of url or service is required",
                "spec.conversion.conversionReviewVersions[1]: Invalid value: \"v9\": duplicate version",
                "spec.conversion.conversionReviewVersions: Invalid value: [\"v9\",\"v9\"]: must include at least one of v1, v1beta1",
            ]
        );
    }

    #[test]
    fn conversion_none_forbids_webhook_fields() {
        let crd = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Cluster",
            "names":{"plural":"bars","kind":"Bar"},"conversion":{"strategy":"None","webhook":{"conversionReviewVersions":["v1"]}},
            "versions":[{"name":"v1","served":true,"storage":true},{"name":"v2","served":true,"storage":false}]}});
        assert_eq!(
            create_errors(crd),
            vec![
                "spec.versions[0].schema.openAPIV3Schema: Required value",
                "spec.versions[1].schema.openAPIV3Schema: Required value",
                "spec.conversion.conversionReviewVersions: Forbidden: should not be set when strategy is not set to Webhook",
            ]
        );
    }

    #[test]
    fn duplicate_versions_and_bad_strategy() {
        let crd = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Cluster",
            "names":{"plural":"bars","kind":"Bar"},"conversion":{"strategy":"Foo"},
            "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}},
                        {"name":"v1","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object"}}}]}});
        let v = r#"[{"Name":"v1","Served":true,"Storage":true,"Deprecated":false,"DeprecationWarning":null,"Schema":null,"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null},{"Name":"v1","Served":true,"Storage":false,"Deprecated":false,"DeprecationWarning":null,"Schema":null,"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null}]"#;
        assert_eq!(
            create_errors(crd),
            vec![
                format!("spec.versions: Invalid value: {v}: must contain unique version names"),
                "spec.conversion.strategy: Unsupported value: \"Foo\": supported values: \"None\", \"Webhook\"".into(),
            ]
        );
    }

    #[test]
    fn versions_bad_value_renders_internal_schema() {
        let crd = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Cluster",
            "names":{"plural":"bars","kind":"Bar"},
            "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}},
              {"name":"v2","served":true,"storage":false,"schema":{"openAPIV3Schema":{"type":"object","description":"<x>"}}},
              {"name":"v3","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","properties":{"a":{"type":"integer","maximum":5,"default":3}},"additionalProperties":false}}}]}});
        let errs = create_errors(crd);
        let tail = |desc: &str, props: &str, ap: &str| {
            format!(
                r#"{{"ID":"","Schema":"","Ref":null,"Description":"{desc}","Type":"{{T}}","Nullable":false,"Format":"","Title":"","Default":{{D}},"Maximum":{{M}},"ExclusiveMaximum":false,"Minimum":null,"ExclusiveMinimum":false,"MaxLength":null,"MinLength":null,"Pattern":"","MaxItems":null,"MinItems":null,"UniqueItems":false,"MultipleOf":null,"Enum":null,"MaxProperties":null,"MinProperties":null,"Required":null,"Items":null,"AllOf":null,"OneOf":null,"AnyOf":null,"Not":null,"Properties":{props},"AdditionalProperties":{ap},"PatternProperties":null,"Dependencies":null,"AdditionalItems":null,"Definitions":null,"ExternalDocs":null,"Example":null,"XPreserveUnknownFields":null,"XEmbeddedResource":false,"XIntOrString":false,"XListMapKeys":null,"XListType":null,"XMapType":null,"XValidations":null}}"#
            )
        };
        let obj = |desc: &str, props: &str, ap: &str| {
            tail(desc, props, ap)
                .replace("{T}", "object")
                .replace("{D}", "null")
                .replace("{M}", "null")
        };
        let a = tail("", "null", "null")
            .replace("{T}", "integer")
            .replace("{D}", "3")
            .replace("{M}", "5");
        let ver = |n: &str, storage: bool, schema: &str| {
            format!(
                r#"{{"Name":"{n}","Served":true,"Storage":{storage},"Deprecated":false,"DeprecationWarning":null,"Schema":{{"OpenAPIV3Schema":{schema}}},"Subresources":null,"AdditionalPrinterColumns":null,"SelectableFields":null}}"#
            )
        };
        let expected = format!(
            "spec.versions: Invalid value: [{},{},{}]: must have exactly one version marked as storage version",
            ver("v1", true, &obj("", "null", "null")),
            ver("v2", false, &obj("\\u003cx\\u003e", "null", "null")),
            ver(
                "v3",
                true,
                &obj(
                    "",
                    &format!("{{\"a\":{a}}}"),
                    r#"{"Allows":false,"Schema":null}"#
                )
            ),
        );
        assert_eq!(
            errs,
            vec![
                expected,
                "status.storedVersions: Invalid value: [\"v1\"]: must have the storage version v3"
                    .to_string()
            ]
        );
    }

    #[test]
    fn webhook_client_config_rules() {
        let mut crd = base();
        crd["spec"]["conversion"] = json!({"strategy":"Webhook","webhook":{"conversionReviewVersions":["v1"],
            "clientConfig":{"service":{"name":"","namespace":"","path":"a//b/","port":0}}}});
        let p = "spec.conversion.webhookClientConfig.service";
        assert_eq!(
            create_errors(crd),
            vec![
                format!("{p}.name: Required value"),
                format!("{p}.namespace: Required value"),
                format!(
                    "{p}.port: Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive"
                ),
                format!("{p}.path: Invalid value: \"a//b/\": must start with a '/'"),
                format!("{p}.path: Invalid value: \"a//b/\": segment[0] may not be empty"),
                format!("{p}.path: Invalid value: \"a//b/\": segment[1] may not be empty"),
            ]
        );
        let mut crd = base();
        crd["spec"]["conversion"] = json!({"strategy":"Webhook","webhook":{"conversionReviewVersions":["v1"],
            "clientConfig":{"url":"http://u:p@/x?q=1#f"}}});
        let p = "spec.conversion.webhookClientConfig.url";
        assert_eq!(
            create_errors(crd),
            vec![
                format!(
                    "{p}: Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]"
                ),
                format!(
                    "{p}: Invalid value: \"\": host must be specified; desired format: https://host[/path]"
                ),
                format!(
                    "{p}: Invalid value: \"u:p\": user information is not permitted in the URL"
                ),
                format!("{p}: Invalid value: \"f\": fragments are not permitted in the URL"),
                format!(
                    "{p}: Invalid value: \"q=1\": query parameters are not permitted in the URL"
                ),
            ]
        );
    }

    #[test]
    fn update_immutables_stored_versions_preserve_unknown() {
        let mut old = base();
        default_crd(&mut old);
        prepare_for_create(&mut old);
        old["metadata"]["resourceVersion"] = json!("5");
        set_condition(
            &mut old["status"],
            ESTABLISHED,
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
            "t0",
        );
        let mut new = old.clone();
        new["spec"]["scope"] = json!("Cluster");
        new["spec"]["names"]["kind"] = json!("Bar2");
        new["spec"]["group"] = json!("x.crd-a.example.com");
        new["spec"]["names"]["plural"] = json!("bars2");
        new["spec"]["preserveUnknownFields"] = json!(true);
        new["spec"]["versions"][0]["name"] = json!("v2");
        prepare_for_update(&mut new, &old);
        assert_eq!(new["status"]["storedVersions"], json!(["v1", "v2"]));
        assert_eq!(new["metadata"]["generation"], json!(2));
        let got: Vec<String> = validate_crd_update(&new, &old, &mut no_schema_errors)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            got,
            vec![
                "spec.scope: Invalid value: \"Cluster\": field is immutable",
                "spec.names.kind: Invalid value: \"Bar2\": field is immutable",
                "spec.group: Invalid value: \"x.crd-a.example.com\": field is immutable",
                "spec.names.plural: Invalid value: \"bars2\": field is immutable",
                "status.storedVersions[0]: Invalid value: \"v1\": missing from spec.versions; v1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1 and removes v1 from status.storedVersions",
                "spec.preserveUnknownFields: Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead",
            ]
        );
    }

    #[test]
    fn generation_unchanged_without_spec_change() {
        let mut old = base();
        default_crd(&mut old);
        prepare_for_create(&mut old);
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"a": "b"});
        new["status"] = json!({"storedVersions": ["zzz"]});
        prepare_for_update(&mut new, &old);
        assert_eq!(new["metadata"]["generation"], json!(1));
        assert_eq!(new["status"], old["status"]);
    }

    #[test]
    fn protected_group_needs_approval() {
        let mut crd = base();
        crd["metadata"]["name"] = json!("foos.x.k8s.io");
        crd["spec"]["group"] = json!("x.k8s.io");
        assert_eq!(
            create_errors(crd.clone()),
            vec![
                "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111"
            ]
        );
        crd["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": "bad"});
        assert_eq!(
            create_errors(crd.clone()),
            vec![
                "metadata.annotations[api-approved.kubernetes.io]: Invalid value: \"bad\": protected groups must have approval annotation \"api-approved.kubernetes.io\" with either a URL or a reason starting with \"unapproved\", see https://github.com/kubernetes/enhancements/pull/1111"
            ]
        );
        crd["metadata"]["annotations"] = json!({"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/1"});
        assert!(create_errors(crd.clone()).is_empty());
        crd["metadata"]["annotations"] =
            json!({"api-approved.kubernetes.io": "unapproved, testing"});
        assert!(create_errors(crd).is_empty());
    }

    #[test]
    fn selectable_fields() {
        let mut crd = base();
        crd["spec"]["versions"][0]["selectableFields"] = json!([{"jsonPath":".spec.nope"},{"jsonPath":".metadata.name"},{"jsonPath":".spec.obj"},{"jsonPath":".spec.s"},{"jsonPath":".spec.s"},{"jsonPath":"spec.s"},{"jsonPath":".spec.l[0]"},{"jsonPath":".spec.m.x"},{"jsonPath":".spec.e"},{"jsonPath":""},{"jsonPath":".spec.i"},{"jsonPath":".spec.b"},{"jsonPath":".spec.n"}]);
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"] = json!({"type":"object","properties":{"metadata":{"type":"object"},"spec":{"type":"object","properties":{"obj":{"type":"object"},"s":{"type":"string","format":"date"},"e":{"type":"string","enum":["a"]},"i":{"type":"integer"},"b":{"type":"boolean"},"n":{"type":"number"},"l":{"type":"array","items":{"type":"string"}},"m":{"type":"object","additionalProperties":{"type":"string"}}}}}});
        let p = "spec.selectableFields";
        let must = "must point to a field of type string, boolean or integer. Enum string fields and strings with formats are allowed.";
        assert_eq!(
            create_errors(crd),
            vec![
                format!(
                    "{p}[0].jsonPath: Invalid value: \".spec.nope\": is an invalid path: does not refer to a valid field"
                ),
                format!(
                    "{p}[1].jsonPath: Invalid value: \".metadata.name\": is an invalid path: does not refer to a valid field"
                ),
                format!("{p}[2].jsonPath: Invalid value: \".spec.obj\": {must}"),
                format!("{p}[4].jsonPath: Duplicate value: \".spec.s\""),
                format!(
                    "{p}[5].jsonPath: Invalid value: \"spec.s\": is an invalid path: expected [ or . but got: spec"
                ),
                format!(
                    "{p}[6].jsonPath: Invalid value: \".spec.l[0]\": is an invalid path: array notation is not allowed"
                ),
                format!("{p}[9].jsonPath: Required value"),
                format!("{p}[12].jsonPath: Invalid value: \".spec.n\": {must}"),
            ]
        );
    }

    #[test]
    fn generate_name_and_deprecation_warning() {
        let mut crd = base();
        crd["metadata"] = json!({"generateName": "Foo-", "name": "Foo-5qfm5"});
        crd["spec"]["versions"][0]["deprecated"] = json!(true);
        crd["spec"]["versions"][0]["deprecationWarning"] = json!("");
        let sub = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
        let must = "must be spec.names.plural+\".\"+spec.group";
        assert_eq!(
            create_errors(crd),
            vec![
                format!("metadata.generateName: Invalid value: \"Foo-\": {sub}"),
                format!("metadata.generateName: Invalid value: \"Foo-\": {must}"),
                format!("metadata.name: Invalid value: \"Foo-5qfm5\": {sub}"),
                format!("metadata.name: Invalid value: \"Foo-5qfm5\": {must}"),
                "spec.versions[0].deprecationWarning: Invalid value: \"\": must not be an empty string".to_string(),
            ]
        );
    }

    fn named(plural: &str, singular: &str, kind: &str, short: Value) -> Value {
        let mut c = json!({"metadata":{"name": format!("{plural}.crd-n.example.com")},
            "spec":{"group":"crd-n.example.com","scope":"Namespaced",
              "names":{"plural":plural,"singular":singular,"kind":kind,"shortNames":short,"categories":["all"]},
              "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}});
        default_crd(&mut c);
        prepare_for_create(&mut c);
        c
    }

    /// Runs naming then establishing, as the controllers would.
    fn settle(crd: &Value, all: &[&Value]) -> Value {
        let mut c = crd.clone();
        if let Some(s) = naming_status(&c, all, "t1") {
            c["status"] = s;
        }
        if let Some(s) = establish_status(&c, "t2") {
            c["status"] = s;
        }
        c
    }

    #[test]
    fn names_accepted_and_established() {
        let foos = settle(&named("foos", "foo", "Foo", json!(["fo", "fx"])), &[]);
        assert_eq!(
            foos["status"],
            json!({
                "conditions": [
                    {"type":"NamesAccepted","status":"True","lastTransitionTime":"t1","reason":"NoConflicts","message":"no conflicts found"},
                    {"type":"Established","status":"True","lastTransitionTime":"t2","reason":"InitialNamesAccepted","message":"the initial names have been accepted"}
                ],
                "acceptedNames": {"plural":"foos","singular":"foo","shortNames":["fo","fx"],"kind":"Foo","listKind":"FooList","categories":["all"]},
                "storedVersions": ["v1"]
            })
        );
        // nothing more to do once accepted
        assert!(naming_status(&foos, &[&foos], "t3").is_none());
        assert!(establish_status(&foos, "t3").is_none());
    }

    #[test]
    fn name_conflicts_as_upstream() {
        let foos = settle(&named("foos", "foo", "Foo", json!(["fo", "fx"])), &[]);
        let all = [&foos];
        let bars = settle(&named("bars", "foos", "Bar", json!(["br"])), &all);
        assert_eq!(
            bars["status"],
            json!({
                "conditions": [
                    {"type":"NamesAccepted","status":"False","lastTransitionTime":"t1","reason":"SingularConflict","message":"\"foos\" is already in use"},
                    {"type":"Established","status":"False","lastTransitionTime":"t1","reason":"NotAccepted","message":"not all names are accepted"}
                ],
                "acceptedNames": {"plural":"bars","shortNames":["br"],"kind":"Bar","listKind":"BarList","categories":["all"]},
                "storedVersions": ["v1"]
            })
        );
        let bazs = settle(&named("bazs", "baz", "Foo", json!(["bz"])), &all);
        assert_eq!(
            bazs["status"]["acceptedNames"],
            json!({"plural":"bazs","singular":"baz","shortNames":["bz"],"kind":"","categories":["all"]})
        );
        assert_eq!(
            bazs["status"]["conditions"][0]["reason"],
            "ListKindConflict"
        );
        assert_eq!(
            bazs["status"]["conditions"][0]["message"],
            "\"FooList\" is already in use"
        );
        let all2 = [&foos, &bars];
        let quxs = settle(
            &named("quxs", "qux", "Qux", json!(["fo", "fx", "br"])),
            &all2,
        );
        assert_eq!(
            quxs["status"]["conditions"][0]["reason"],
            "ShortNamesConflict"
        );
        assert_eq!(
            quxs["status"]["conditions"][0]["message"],
            "[\"fo\" is already in use, \"fx\" is already in use, \"br\" is already in use]"
        );
        assert_eq!(
            quxs["status"]["acceptedNames"],
            json!({"plural":"quxs","singular":"qux","kind":"Qux","listKind":"QuxList","categories":["all"]})
        );
        let lists = settle(&named("lists", "list", "FooList", json!([])), &all);
        assert_eq!(lists["status"]["conditions"][0]["reason"], "KindConflict");
        assert_eq!(
            lists["status"]["acceptedNames"],
            json!({"plural":"lists","singular":"list","kind":"","listKind":"FooListList","categories":["all"]})
        );

        // fixing the conflict: accepted, Installing -> Established
        let mut fixed = bars.clone();
        fixed["spec"]["names"]["singular"] = json!("bar");
        let fixed = settle(&fixed, &all);
        assert_eq!(fixed["status"]["conditions"][0]["reason"], "NoConflicts");
        assert_eq!(
            fixed["status"]["conditions"][1]["reason"],
            "InitialNamesAccepted"
        );
        assert_eq!(fixed["status"]["conditions"][1]["lastTransitionTime"], "t2");
    }

    #[test]
    fn deletion_conditions() {
        let mut foos = settle(&named("foos", "foo", "Foo", json!([])), &[]);
        mark_for_deletion(&mut foos, "t5");
        assert_eq!(foos["metadata"]["finalizers"], json!([CLEANUP_FINALIZER]));
        assert_eq!(foos["metadata"]["deletionTimestamp"], "t5");
        assert_eq!(
            foos["status"]["conditions"][2],
            json!({"type":"Terminating","status":"True","lastTransitionTime":"t5","reason":"InstanceDeletionPending",
                   "message":"CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"})
        );
        apply_finalizer_step(&mut foos, &FinalizerStep::InProgress, "t6");
        assert_eq!(
            foos["status"]["conditions"][2],
            json!({"type":"Terminating","status":"True","lastTransitionTime":"t5","reason":"InstanceDeletionInProgress",
                   "message":"CustomResource deletion is in progress"})
        );
        apply_finalizer_step(&mut foos, &FinalizerStep::Completed, "t7");
        assert_eq!(
            foos["status"]["conditions"][2]["reason"],
            "InstanceDeletionCompleted"
        );
        assert_eq!(
            foos["status"]["conditions"][2]["message"],
            "removed all instances"
        );
        assert_eq!(foos["status"]["conditions"][2]["lastTransitionTime"], "t7");
        assert_eq!(foos["metadata"]["finalizers"], json!([]));
    }

    #[test]
    fn hostile_input_does_not_panic() {
        for v in [
            json!(null),
            json!([]),
            json!({"spec": 5, "status": "x", "metadata": []}),
            json!({"spec": {"versions": [1, null, {"name": 7}], "names": [], "conversion": 3}}),
        ] {
            let mut c = v.clone();
            default_crd(&mut c);
            prepare_for_create(&mut c);
            let _ = validate_crd(&c, &mut no_schema_errors);
            let _ = validate_crd_update(&c, &v, &mut no_schema_errors);
            let _ = naming_status(&c, &[&v], "t");
            let _ = establish_status(&c, "t");
            mark_for_deletion(&mut c, "t");
        }
        // deep schema in a bad value is bounded
        let mut deep = json!({"type": "object"});
        for _ in 0..120 {
            deep = json!({"type": "object", "properties": {"a": deep}});
        }
        let crd = json!({"metadata":{"name":"bars.crd-d.example.com"},"spec":{"group":"crd-d.example.com","scope":"Cluster",
            "names":{"plural":"bars","kind":"Bar"},
            "versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":deep}},
                        {"name":"v2","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object"}}}]}});
        assert_eq!(create_errors(crd).len(), 2);
    }
}
