//! Structural OpenAPI v3 schemas of CustomResourceDefinitions.
//!
//! One [`Structural`] is compiled once per CRD version from its
//! `openAPIV3Schema` (upstream `JSONSchemaProps`). Compiling runs the checks
//! upstream runs on CRD create/update and reports them with upstream's paths
//! and messages; the compiled schema then validates, defaults and prunes custom
//! resources in one pass each, without cloning the object.
//!
//! Upstream (the specification):
//! - CRD schema checks: `staging/src/k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation/validation.go`
//!   (`validateCustomResourceDefinitionValidation`, `ValidateCustomResourceDefinitionOpenAPISchema`,
//!   `specStandardValidatorV3.validate`, `validateMapListKeysMapSet`).
//! - structural invariants: `.../pkg/apiserver/schema/validation.go` and `complete.go`.
//! - defaults checks: `.../pkg/apiserver/schema/defaulting/validation.go`.
//! - value validation: kube-openapi `pkg/validation/validate` and `pkg/validation/errors`, mapped to
//!   field errors by `.../pkg/apiserver/validation/validation.go` (`kubeOpenAPIResultToFieldErrors`).
//! - list types: `.../pkg/apiserver/schema/listtype/validation.go`.
//! - defaulting: `.../pkg/apiserver/schema/defaulting/{algorithm,prunenulls}.go`.
//! - pruning: `.../pkg/apiserver/schema/pruning/algorithm.go`.
//! - embedded resources: `.../pkg/apiserver/schema/objectmeta/validation.go`.

use crate::apimachinery::validation::{ErrorType, FieldError, go_quote};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[path = "schema_check.rs"]
mod check;
#[path = "schema_formats.rs"]
mod formats;
#[path = "schema_validate.rs"]
mod validate;

/// Nesting limit for schemas (ironkube guard; upstream relies on the JSON
/// decoder's depth limit). Deeper schemas are rejected at compile time.
pub const MAX_SCHEMA_DEPTH: usize = 100;

/// Compiled structural schema of one CRD version.
#[derive(Debug, Clone)]
pub struct Structural {
    root: Node,
}

/// `additionalProperties` of a schema.
#[derive(Debug, Clone, Default)]
pub(crate) enum Additional {
    /// Not specified.
    #[default]
    Unset,
    /// `additionalProperties: true|false`.
    Bool(bool),
    /// `additionalProperties: {schema}`.
    Schema(Box<Node>),
}

impl Additional {
    fn schema(&self) -> Option<&Node> {
        match self {
            Additional::Schema(n) => Some(n),
            _ => None,
        }
    }
    fn is_set(&self) -> bool {
        !matches!(self, Additional::Unset)
    }
}

/// One schema (or value-validation sub-schema under allOf/anyOf/oneOf/not).
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub(crate) ty: String,
    pub(crate) format: String,
    pub(crate) nullable: bool,
    pub(crate) default: Option<Value>,
    pub(crate) has_title: bool,
    pub(crate) has_description: bool,
    pub(crate) has_external_docs: bool,
    pub(crate) properties: BTreeMap<String, Node>,
    pub(crate) additional: Additional,
    pub(crate) items: Option<Box<Node>>,
    pub(crate) preserve_unknown: bool,
    pub(crate) embedded: bool,
    pub(crate) int_or_string: bool,
    pub(crate) list_type: Option<String>,
    pub(crate) list_map_keys: Vec<String>,
    pub(crate) map_type: Option<String>,
    pub(crate) has_x_validations: bool,
    pub(crate) v: Option<Box<Validations>>,
}

/// Value validations of a schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Validations {
    pub(crate) enum_: Option<Vec<Value>>,
    pub(crate) pattern: Option<(String, Option<regex::Regex>)>,
    pub(crate) maximum: Option<f64>,
    pub(crate) exclusive_maximum: bool,
    pub(crate) minimum: Option<f64>,
    pub(crate) exclusive_minimum: bool,
    pub(crate) multiple_of: Option<f64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) min_items: Option<u64>,
    pub(crate) unique_items: bool,
    pub(crate) max_properties: Option<u64>,
    pub(crate) min_properties: Option<u64>,
    pub(crate) required: Vec<String>,
    pub(crate) all_of: Vec<Node>,
    pub(crate) any_of: Vec<Node>,
    pub(crate) one_of: Vec<Node>,
    pub(crate) not: Option<Box<Node>>,
}

impl Validations {
    fn is_empty(&self) -> bool {
        self.enum_.is_none()
            && self.pattern.is_none()
            && self.maximum.is_none()
            && !self.exclusive_maximum
            && self.minimum.is_none()
            && !self.exclusive_minimum
            && self.multiple_of.is_none()
            && self.max_length.is_none()
            && self.min_length.is_none()
            && self.max_items.is_none()
            && self.min_items.is_none()
            && !self.unique_items
            && self.max_properties.is_none()
            && self.min_properties.is_none()
            && self.required.is_empty()
            && self.all_of.is_empty()
            && self.any_of.is_empty()
            && self.one_of.is_empty()
            && self.not.is_none()
    }
}

impl Node {
    /// The `type` names this schema accepts in kube-openapi's type check
    /// (`x-kubernetes-int-or-string` is `integer,string`).
    pub(crate) fn type_names(&self) -> Option<&'static str> {
        if self.int_or_string {
            return Some("integer,string");
        }
        match self.ty.as_str() {
            "object" => Some("object"),
            "array" => Some("array"),
            "string" => Some("string"),
            "integer" => Some("integer"),
            "number" => Some("number"),
            "boolean" => Some("boolean"),
            _ => None,
        }
    }

    pub(crate) fn required(&self) -> &[String] {
        match &self.v {
            Some(v) => &v.required,
            None => &[],
        }
    }
}

/// Compiles the `openAPIV3Schema` of a CRD version. On failure returns every
/// error upstream reports for it, under `base` (e.g.
/// `spec.validation.openAPIV3Schema` when all versions share one schema, which
/// is how upstream reports a single-version CRD, or
/// `spec.versions[0].schema.openAPIV3Schema`).
pub fn compile(schema: &Value, base: &str) -> Result<Structural, Vec<FieldError>> {
    check::compile(schema, base)
}

impl Structural {
    /// Validation of a custom resource against the schema (kube-openapi's
    /// messages as the apiserver reports them in a 422, plus list-type
    /// uniqueness and embedded-resource `apiVersion`/`kind`). Paths are
    /// relative to the object root.
    pub fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = Vec::new();
        validate::validate_node(&self.root, obj, &validate::Seg::Root, None, &mut errs);
        validate::validate_list_types(&self.root, obj, &validate::Seg::Root, &mut errs);
        validate::validate_embedded(&self.root, obj, &validate::Seg::Root, true, &mut errs);
        errs
    }

    /// Upstream's structural defaulting: removes `null`s the schema does not
    /// allow (non-nullable, no default) from properties and map values, then
    /// applies `default` where a property (or item/map value that is a
    /// forbidden `null`) is absent.
    pub fn default(&self, obj: &mut Value) {
        prune_nulls(obj, &self.root, 0);
        default_value(obj, &self.root, 0);
    }

    /// Upstream's pruning. Removes fields the schema does not specify and
    /// returns their paths sorted, as `fieldValidation=Warn/Strict` reports
    /// them; wrap each in `unknown field "<path>"` for the warning/error text.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut out = Vec::new();
        let mut path = String::new();
        prune_value(obj, Some(&self.root), true, &mut path, &mut out, 0);
        out.sort();
        out
    }

    /// The patch-engine view of the schema root (list/map types for
    /// server-side apply and merge).
    pub fn patch_root(&self) -> SchemaPos<'_> {
        SchemaPos {
            node: &self.root,
            root: true,
        }
    }

    /// The sub-schema at `properties[name]` of the root (e.g. `status`), for
    /// subresource handling.
    pub fn root_has_property(&self, name: &str) -> bool {
        self.root.properties.contains_key(name)
    }
}

/// Upstream `fieldValidation` text for a pruned path.
pub fn unknown_field_message(path: &str) -> String {
    format!("unknown field {}", go_quote(path))
}

// ---------------------------------------------------------------------------
// Defaulting (defaulting/algorithm.go, defaulting/prunenulls.go)
// ---------------------------------------------------------------------------

fn is_non_nullable_null(v: &Value, s: &Node) -> bool {
    v.is_null() && !s.nullable
}

fn prune_nulls(x: &mut Value, s: &Node, depth: usize) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            m.retain(|k, v| {
                let prop = s.properties.get(k).or(s.additional.schema());
                match prop {
                    Some(p) => !(v.is_null() && !p.nullable && p.default.is_none()),
                    None => true,
                }
            });
            for (k, v) in m.iter_mut() {
                if let Some(p) = s.properties.get(k).or(s.additional.schema()) {
                    prune_nulls(v, p, depth + 1);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = &s.items {
                for v in a.iter_mut() {
                    prune_nulls(v, items, depth + 1);
                }
            }
        }
        _ => {}
    }
}

fn default_value(x: &mut Value, s: &Node, depth: usize) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else { continue };
                match m.get_mut(k) {
                    None => {
                        m.insert(k.clone(), d.clone());
                    }
                    Some(v) if is_non_nullable_null(v, prop) => *v = d.clone(),
                    Some(_) => {}
                }
            }
            for (k, v) in m.iter_mut() {
                if let Some(prop) = s.properties.get(k) {
                    default_value(v, prop, depth + 1);
                } else if let Some(ap) = s.additional.schema() {
                    if is_non_nullable_null(v, ap) {
                        match &ap.default {
                            Some(d) => *v = d.clone(),
                            None => continue,
                        }
                    }
                    default_value(v, ap, depth + 1);
                }
            }
        }
        Value::Array(a) => {
            let Some(items) = &s.items else { return };
            for v in a.iter_mut() {
                if is_non_nullable_null(v, items) {
                    match &items.default {
                        Some(d) => *v = d.clone(),
                        None => continue,
                    }
                }
                default_value(v, items, depth + 1);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Pruning (pruning/algorithm.go)
// ---------------------------------------------------------------------------

fn push_field(path: &mut String, k: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(k);
    len
}

/// `s == None` means "no schema here": objects lose every field.
fn prune_value(
    x: &mut Value,
    s: Option<&Node>,
    resource_root: bool,
    path: &mut String,
    out: &mut Vec<String>,
    depth: usize,
) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    let preserve = s.is_some_and(|s| s.preserve_unknown);
    match x {
        Value::Object(m) => {
            let mut removed = Vec::new();
            for (k, v) in m.iter_mut() {
                if resource_root && (k == "apiVersion" || k == "kind") {
                    continue;
                }
                if resource_root && k == "metadata" {
                    // the object root's metadata is the handler's; an
                    // embedded object's metadata loses non-ObjectMeta fields
                    // (objectmeta.Coerce drops unknown fields).
                    if depth > 0 {
                        let l = push_field(path, k);
                        prune_object_meta_into(v, path, out);
                        path.truncate(l);
                    }
                    continue;
                }
                let sub = s.and_then(|s| s.properties.get(k));
                if let Some(p) = sub {
                    let l = push_field(path, k);
                    prune_value(v, Some(p), p.embedded, path, out, depth + 1);
                    path.truncate(l);
                    continue;
                }
                match s.map(|s| &s.additional) {
                    Some(Additional::Schema(ap)) => {
                        let l = push_field(path, k);
                        prune_value(v, Some(ap), ap.embedded, path, out, depth + 1);
                        path.truncate(l);
                    }
                    Some(Additional::Bool(true)) => {}
                    _ if preserve => {
                        // unknown field kept; nothing below it is pruned
                        // (upstream skipPrune only looks for embedded
                        // resources, which need a schema).
                    }
                    _ => removed.push(k.clone()),
                }
            }
            for k in removed {
                m.remove(&k);
                let l = push_field(path, &k);
                out.push(path.clone());
                path.truncate(l);
            }
        }
        Value::Array(a) => {
            let items = s.and_then(|s| s.items.as_deref());
            if items.is_none() && preserve {
                return;
            }
            for (i, v) in a.iter_mut().enumerate() {
                let l = path.len();
                path.push('[');
                path.push_str(&i.to_string());
                path.push(']');
                prune_value(
                    v,
                    items,
                    items.is_some_and(|n| n.embedded),
                    path,
                    out,
                    depth + 1,
                );
                path.truncate(l);
            }
        }
        _ => {}
    }
}

/// The fields of `metav1.ObjectMeta`.
pub const OBJECT_META_FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Drops the fields of a `metadata` object that ObjectMeta does not have and
/// returns their paths under `prefix` (e.g. `"metadata"`), sorted.
pub fn prune_object_meta(meta: &mut Value, prefix: &str) -> Vec<String> {
    let mut path = prefix.to_string();
    let mut out = Vec::new();
    prune_object_meta_into(meta, &mut path, &mut out);
    out.sort();
    out
}

fn prune_object_meta_into(meta: &mut Value, path: &mut String, out: &mut Vec<String>) {
    let Value::Object(m) = meta else { return };
    let unknown: Vec<String> = m
        .keys()
        .filter(|k| !OBJECT_META_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for k in unknown {
        m.remove(&k);
        let l = push_field(path, &k);
        out.push(path.clone());
        path.truncate(l);
    }
}

// ---------------------------------------------------------------------------
// Patch schema view
// ---------------------------------------------------------------------------

/// A position in a structural schema, for the patch engines.
#[derive(Debug, Clone, Copy)]
pub struct SchemaPos<'a> {
    node: &'a Node,
    /// The object's root: `apiVersion`, `kind` and `metadata` are declared
    /// there whatever the structural schema says (as in embedded resources).
    root: bool,
}

/// ObjectMeta's fields, for the typed conversion of server-side apply (the
/// schema of a custom resource's `metadata` is always ObjectMeta's).
fn object_meta_node() -> &'static Node {
    static META: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
    META.get_or_init(|| Node {
        ty: "object".into(),
        properties: OBJECT_META_FIELDS
            .iter()
            .map(|f| ((*f).to_string(), Node::default()))
            .collect(),
        ..Node::default()
    })
}

fn untyped_node() -> &'static Node {
    static ANY: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
    ANY.get_or_init(Node::default)
}

impl<'a> crate::apimachinery::patch_schema::PatchSchema for SchemaPos<'a> {
    fn field(&self, name: &str) -> Option<Self> {
        self.node
            .properties
            .get(name)
            .or(self.node.additional.schema())
            .map(|node| SchemaPos { node, root: false })
    }
    fn map_values(&self) -> Option<Self> {
        self.node
            .additional
            .schema()
            .map(|node| SchemaPos { node, root: false })
    }
    fn items(&self) -> Option<Self> {
        self.node
            .items
            .as_deref()
            .map(|node| SchemaPos { node, root: false })
    }
    fn patch_strategy(&self) -> Option<&str> {
        None
    }
    fn patch_merge_key(&self) -> Option<&str> {
        None
    }
    fn list_type(&self) -> Option<&str> {
        self.node.list_type.as_deref()
    }
    fn list_map_keys(&self) -> &[String] {
        &self.node.list_map_keys
    }
    fn map_type(&self) -> Option<&str> {
        self.node.map_type.as_deref()
    }
    fn is_required(&self, name: &str) -> bool {
        self.node.required().iter().any(|r| r == name)
    }
    fn typed(&self) -> bool {
        false
    }
    /// An object type's fields are closed unless it keeps unknown fields
    /// or has `additionalProperties`; the root and embedded resources also
    /// declare `apiVersion`, `kind` and `metadata` (ObjectMeta).
    fn declared_field(&self, name: &str) -> crate::apimachinery::patch_schema::Declared<Self> {
        use crate::apimachinery::patch_schema::Declared;
        let pos = |node| Declared::Schema(SchemaPos { node, root: false });
        if self.root || self.node.embedded {
            match name {
                "metadata" => return pos(object_meta_node()),
                "apiVersion" | "kind" => return pos(untyped_node()),
                _ => {}
            }
        }
        if let Some(node) = self
            .node
            .properties
            .get(name)
            .or(self.node.additional.schema())
        {
            return pos(node);
        }
        if self.node.ty == "object" && !self.node.preserve_unknown && !self.node.additional.is_set()
        {
            Declared::Undeclared
        } else {
            Declared::Untyped
        }
    }
}

// Shared helpers for the submodules.

/// Go's `%v` of a float64 (strconv 'g' with the shortest representation).
pub(crate) fn go_float(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e21 {
        return format!("{}", f as i64);
    }
    let s = format!("{f:e}");
    // Rust: 1e21 / 1.5e-7 ; Go: 1e+21 / 1.5e-07
    if let Some((m, e)) = s.split_once('e') {
        let exp: i32 = e.parse().unwrap_or(0);
        if (-4..21).contains(&exp) {
            return format!("{f}");
        }
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    s
}

/// `field.TooLong` as apimachinery v0.36 renders it.
pub(crate) fn too_long(field: String, max: i64) -> FieldError {
    let detail = if max >= 0 {
        let unit = if max == 1 { "byte" } else { "bytes" };
        format!("may not be more than {max} {unit}")
    } else {
        "value is too long".to_string()
    };
    FieldError {
        error_type: ErrorType::TooLong,
        field,
        bad_value: Some(Value::String(String::new())),
        detail,
    }
}

/// A client value as a field error's bad value: apimachinery v0.36 prints
/// maps and lists as JSON (`{"name":"a"}`), scalars as usual.
pub(crate) fn bad_value(v: &Value) -> Value {
    match v {
        Value::Object(_) | Value::Array(_) => {
            crate::apimachinery::validation::go_repr(v.to_string())
        }
        other => other.clone(),
    }
}

/// Reads a JSON object member as a map (helper for the compiler).
pub(crate) fn as_obj(v: &Value) -> Option<&Map<String, Value>> {
    v.as_object()
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
