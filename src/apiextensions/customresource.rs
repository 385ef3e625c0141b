//! The strategy of one served version of a custom resource, compiled once
//! from its CustomResourceDefinition (upstream:
//! `apiextensions-apiserver/pkg/registry/customresource/{strategy,
//! status_strategy,validator}.go` and `pkg/apiserver/customresource_handler.go`
//! which builds one per version). Pure: no I/O.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::cel::Validator;
use super::printer::Columns;
use super::schema::{self, Structural};
use crate::apimachinery::validation::{FieldError, NameRule, go_quote, validate_object_meta};

/// Where a custom resource keeps what its `scale` subresource shows
/// (`spec.versions[].subresources.scale`).
#[derive(Debug, Clone)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One served version of a custom kind.
pub struct CustomVersion {
    pub crd_name: String,
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// The version objects are stored as.
    pub storage_version: String,
    /// `spec.conversion.strategy: Webhook`: other versions cannot be served
    /// until webhooks exist.
    pub webhook_conversion: bool,
    pub status: bool,
    pub scale: Option<ScalePaths>,
    pub schema: Structural,
    /// Whether the schema has any `default` (then stored objects are
    /// defaulted again when read, as upstream's decoder does).
    pub has_defaults: bool,
    pub rules: Validator,
    pub columns: Columns,
    /// `selectableFields` JSON paths (`.spec.color`), as field labels
    /// (`spec.color`).
    pub selectable_fields: Vec<String>,
}

impl std::fmt::Debug for CustomVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomVersion")
            .field("group", &self.group)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .finish()
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn contains_default(v: &Value, depth: usize) -> bool {
    if depth > schema::MAX_SCHEMA_DEPTH {
        return false;
    }
    match v {
        Value::Object(m) => {
            m.contains_key("default")
                || m.iter()
                    .filter(|(k, _)| k.as_str() != "enum" && k.as_str() != "example")
                    .any(|(_, v)| contains_default(v, depth + 1))
        }
        Value::Array(a) => a.iter().any(|v| contains_default(v, depth + 1)),
        _ => false,
    }
}

/// Compiles the served versions of a (valid, stored) CRD. A version whose
/// schema no longer compiles is left out, with the reason.
pub fn compile_crd(crd: &Value) -> (Vec<Arc<CustomVersion>>, Vec<String>) {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let names = spec.get("names").cloned().unwrap_or(Value::Null);
    let group = str_at(&spec, &["group"]).to_string();
    let kind = str_at(&names, &["kind"]).to_string();
    let plural = str_at(&names, &["plural"]).to_string();
    let singular = match str_at(&names, &["singular"]) {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    let list_kind = match str_at(&names, &["listKind"]) {
        "" => format!("{kind}List"),
        s => s.to_string(),
    };
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage_version = versions
        .iter()
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| str_at(v, &["name"]).to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for v in &versions {
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let version = str_at(v, &["name"]).to_string();
        let raw = v
            .pointer("/schema/openAPIV3Schema")
            .cloned()
            .unwrap_or_else(|| serde_json::json!({"type": "object"}));
        let structural = match schema::compile(&raw, "schema") {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{version}: {}", first_message(&e)));
                continue;
            }
        };
        let rules = match super::cel::compile(&raw, "schema") {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{version}: {}", first_message(&e)));
                continue;
            }
        };
        let subs = v.get("subresources");
        let scale = subs.and_then(|s| s.get("scale")).map(|s| ScalePaths {
            spec_replicas: str_at(s, &["specReplicasPath"]).to_string(),
            status_replicas: str_at(s, &["statusReplicasPath"]).to_string(),
            label_selector: s
                .get("labelSelectorPath")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
        let selectable_fields = v
            .get("selectableFields")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                    .map(|p| p.trim_start_matches('.').to_string())
                    .collect()
            })
            .unwrap_or_default();
        out.push(Arc::new(CustomVersion {
            crd_name: str_at(crd, &["metadata", "name"]).to_string(),
            group: group.clone(),
            version,
            kind: kind.clone(),
            list_kind: list_kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            namespaced: str_at(&spec, &["scope"]) != "Cluster",
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            storage_version: storage_version.clone(),
            webhook_conversion: str_at(&spec, &["conversion", "strategy"]) == "Webhook",
            status: subs.and_then(|s| s.get("status")).is_some(),
            scale,
            has_defaults: contains_default(&raw, 0),
            schema: structural,
            rules,
            columns: super::printer::compile(v),
            selectable_fields,
        }));
    }
    (out, problems)
}

fn first_message(errs: &[FieldError]) -> String {
    errs.first()
        .map(|e| e.message())
        .unwrap_or_else(|| "invalid schema".into())
}

fn is_empty_value(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    }
}

/// Everything but `metadata` (and `status` when it has its own endpoint).
fn spec_part(obj: &Value, without_status: bool) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    k.as_str() != "metadata" && !(without_status && k.as_str() == "status")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn set_generation(obj: &mut Value, g: i64) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("generation".into(), Value::from(g));
    }
}

fn generation(obj: &Value) -> i64 {
    obj.pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// Go's `%T` of a value an unstructured accessor rejected.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() || n.is_u64() => "int64",
        Value::Number(_) => "float64",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Null => "<nil>",
    }
}

/// Go's `%v` of a JSON value (for accessor errors).
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// The value at a scale path (`.spec.replicas`).
pub fn at_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path.trim_start_matches('.').split('.') {
        if seg.is_empty() {
            continue;
        }
        cur = cur.as_object()?.get(seg)?;
    }
    Some(cur)
}

/// Sets the value at a scale path, creating objects on the way.
pub fn set_path(obj: &mut Value, path: &str, value: Value) -> bool {
    let segs: Vec<&str> = path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    let Some((last, init)) = segs.split_last() else {
        return false;
    };
    let mut cur = obj;
    for seg in init {
        let Some(m) = cur.as_object_mut() else {
            return false;
        };
        let next = m
            .entry((*seg).to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if next.is_null() {
            *next = Value::Object(Map::new());
        }
        cur = next;
    }
    match cur.as_object_mut() {
        Some(m) => {
            m.insert((*last).to_string(), value);
            true
        }
        None => false,
    }
}

/// `unstructured.NestedInt64` at a scale path: `Ok(None)` when absent.
pub fn nested_int(obj: &Value, path: &str) -> Result<Option<i64>, String> {
    match at_path(obj, path) {
        None => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(v) => Err(format!(
            "{path} accessor error: {} is of the type {}, expected int64",
            go_value(v),
            go_type(v)
        )),
    }
}

impl CustomVersion {
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.group, self.version)
    }

    /// Server-side defaulting of a decoded object (create, update, read).
    pub fn default(&self, obj: &mut Value) {
        self.schema.default(obj);
    }

    /// Pruning of unknown fields; returns upstream's `unknown field "…"`
    /// texts (root `metadata` included), sorted.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut paths = self.schema.prune(obj);
        if let Some(meta) = obj.get_mut("metadata") {
            paths.extend(schema::prune_object_meta(meta, "metadata"));
        }
        paths.sort();
        paths
            .iter()
            .map(|p| schema::unknown_field_message(p))
            .collect()
    }

    /// `strategy.PrepareForCreate`: status is written only through its
    /// subresource; generation starts at 1.
    pub fn prepare_for_create(&self, obj: &mut Value) {
        if self.status
            && let Some(m) = obj.as_object_mut()
        {
            m.shift_remove("status");
        }
        set_generation(obj, 1);
    }

    /// `strategy.PrepareForUpdate`: status kept from the old object when it
    /// has its own endpoint; generation bumps when anything but metadata
    /// (and status) changed.
    pub fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        if self.status
            && let Some(m) = new.as_object_mut()
        {
            match old.get("status") {
                Some(s) => {
                    m.insert("status".into(), s.clone());
                }
                None => {
                    m.shift_remove("status");
                }
            }
        }
        let g = generation(old);
        let changed = spec_part(new, self.status) != spec_part(old, self.status);
        set_generation(new, if changed { g + 1 } else { g.max(1) });
    }

    /// `statusStrategy.PrepareForUpdate`: only status (and managedFields)
    /// come from the request.
    pub fn prepare_for_status_update(&self, new: &mut Value, old: &Value) {
        let status = new.get("status").cloned();
        let managed = new.pointer("/metadata/managedFields").cloned();
        let mut out = old.clone();
        if let Some(m) = out.as_object_mut() {
            match status {
                Some(s) => {
                    m.insert("status".into(), s);
                }
                None => {
                    m.shift_remove("status");
                }
            }
        }
        if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
            match managed {
                Some(mf) => {
                    meta.insert("managedFields".into(), mf);
                }
                None => {
                    meta.shift_remove("managedFields");
                }
            }
        }
        *new = out;
    }

    fn validate_kind(&self, obj: &Value, errs: &mut Vec<FieldError>) {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind != self.kind {
            errs.push(FieldError::invalid(
                "kind",
                Value::String(kind.into()),
                format!("must be {}", self.kind),
            ));
        }
        let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if av != self.api_version() {
            errs.push(FieldError::invalid(
                "apiVersion",
                Value::String(av.into()),
                format!("must be {}", self.api_version()),
            ));
        }
    }

    /// `ValidateScaleSpec` and `ValidateScaleStatus` of `validator.go`.
    fn validate_scale(&self, obj: &Value, errs: &mut Vec<FieldError>) {
        let Some(scale) = &self.scale else { return };
        for path in [&scale.spec_replicas, &scale.status_replicas] {
            match nested_int(obj, path) {
                Ok(None) => {}
                Ok(Some(n)) if n < 0 => errs.push(FieldError::invalid(
                    path.as_str(),
                    Value::from(n),
                    "should be a non-negative integer",
                )),
                Ok(Some(n)) if n > i64::from(i32::MAX) => errs.push(FieldError::invalid(
                    path.as_str(),
                    Value::from(n),
                    format!("should be less than or equal to {}", i32::MAX),
                )),
                Ok(Some(_)) => {}
                Err(e) => errs.push(FieldError::invalid(path.as_str(), Value::from(0), e)),
            }
        }
        if let Some(path) = &scale.label_selector
            && let Some(v) = at_path(obj, path)
            && !v.is_string()
        {
            errs.push(FieldError::invalid(
                path.as_str(),
                Value::String(String::new()),
                format!(
                    "{path} accessor error: {} is of the type {}, expected string",
                    go_value(v),
                    go_type(v)
                ),
            ));
        }
    }

    /// Schema, scale and CEL checks shared by create and update. CEL rules
    /// run only on an object whose types are right (`hasBlockingErr`).
    fn validate_content(
        &self,
        obj: &Value,
        old: Option<&Value>,
        errs: &mut Vec<FieldError>,
        warnings: &mut Vec<String>,
    ) {
        let before = errs.len();
        errs.extend(self.schema.validate(obj));
        self.validate_scale(obj, errs);
        if self.rules.is_empty() {
            return;
        }
        let blocking = errs[before..].iter().any(|e| {
            matches!(
                e.error_type,
                crate::apimachinery::validation::ErrorType::NotSupported
                    | crate::apimachinery::validation::ErrorType::TypeInvalid
            )
        });
        if blocking {
            errs.push(FieldError::invalid(
                "<nil>",
                Value::Null,
                "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            ));
        } else {
            let (e, w) = self.rules.validate_with_warnings(obj, old);
            errs.extend(e);
            warnings.extend(w);
        }
    }

    /// Create validation (`customResourceStrategy.Validate`).
    pub fn validate(&self, obj: &Value) -> (Vec<FieldError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warnings = Vec::new();
        self.validate_kind(obj, &mut errs);
        errs.extend(validate_object_meta(
            obj.get("metadata").unwrap_or(&Value::Null),
            self.namespaced,
            NameRule::Dns1123Subdomain,
        ));
        self.validate_content(obj, None, &mut errs, &mut warnings);
        (errs, warnings)
    }

    /// Update validation (`ValidateUpdate`), with transition rules.
    pub fn validate_update(&self, new: &Value, old: &Value) -> (Vec<FieldError>, Vec<String>) {
        let mut errs = Vec::new();
        let mut warnings = Vec::new();
        self.validate_kind(new, &mut errs);
        let nm = new.get("metadata").unwrap_or(&Value::Null);
        let om = old.get("metadata").unwrap_or(&Value::Null);
        errs.extend(validate_object_meta(
            nm,
            self.namespaced,
            NameRule::Dns1123Subdomain,
        ));
        errs.extend(crate::apimachinery::validation::validate_object_meta_update(nm, om));
        self.validate_content(new, Some(old), &mut errs, &mut warnings);
        (errs, warnings)
    }

    /// Table columns (`additionalPrinterColumns`).
    pub fn table_columns(&self) -> Vec<Value> {
        self.columns.definitions()
    }

    pub fn table_cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        self.columns.cells(obj, now)
    }

    /// Field selectors: `metadata.name`, `metadata.namespace` and the
    /// version's `selectableFields`.
    pub fn supports_field(&self, label: &str) -> bool {
        label == "metadata.name"
            || (label == "metadata.namespace" && self.namespaced)
            || self.selectable_fields.iter().any(|f| f == label)
    }

    /// A field label's value as field selectors compare it.
    pub fn field_value(&self, obj: &Value, label: &str) -> Option<String> {
        match label {
            "metadata.name" | "metadata.namespace" => Some(
                obj.pointer(&format!("/metadata/{}", &label["metadata.".len()..]))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            ),
            _ => match at_path(obj, label) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Null) | None => Some(String::new()),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
                Some(_) => Some(String::new()),
            },
        }
    }

    /// The unsupported-field-selector message (as for built-in kinds).
    pub fn field_selector_error(&self, label: &str) -> String {
        format!(
            "field label not supported: {}",
            go_quote(label).trim_matches('"')
        )
    }

    /// The Scale object of `/scale` (`scale.go`'s `scaleFromCustomResource`).
    pub fn to_scale(&self, obj: &Value) -> Result<Value, String> {
        let scale = self.scale.as_ref().ok_or("no scale subresource")?;
        let spec = nested_int(obj, &scale.spec_replicas)?.unwrap_or(0);
        let status = nested_int(obj, &scale.status_replicas)?.unwrap_or(0);
        let selector = scale
            .label_selector
            .as_deref()
            .and_then(|p| at_path(obj, p))
            .and_then(Value::as_str)
            .unwrap_or("");
        let meta = obj.get("metadata").cloned().unwrap_or(Value::Null);
        let mut m = Map::new();
        for k in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
        ] {
            if let Some(v) = meta.get(k) {
                m.insert(k.into(), v.clone());
            }
        }
        let mut status_obj = Map::new();
        status_obj.insert("replicas".into(), Value::from(status));
        if !selector.is_empty() {
            status_obj.insert("selector".into(), Value::String(selector.into()));
        }
        Ok(serde_json::json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": m,
            "spec": {"replicas": spec},
            "status": status_obj,
        }))
    }

    /// The object after a write to `/scale`: only spec replicas change.
    pub fn from_scale(&self, old: &Value, replicas: i64) -> Result<Value, String> {
        let scale = self.scale.as_ref().ok_or("no scale subresource")?;
        let mut obj = old.clone();
        if !set_path(&mut obj, &scale.spec_replicas, Value::from(replicas)) {
            return Err(format!(
                "{} accessor error: cannot set replicas",
                scale.spec_replicas
            ));
        }
        Ok(obj)
    }

    /// Whether a request for this version needs a conversion the server
    /// cannot do (webhook conversion to or from another version).
    pub fn conversion_error(&self) -> Option<String> {
        (self.webhook_conversion && self.version != self.storage_version).then(|| {
            format!(
                "conversion webhook for {}/{}, Kind={} failed: ironkube does not call conversion webhooks yet",
                self.group, self.storage_version, self.kind
            )
        })
    }

    /// An empty value for the status of an object without status.
    pub fn has_no_status(obj: &Value) -> bool {
        is_empty_value(obj.get("status"))
    }
}

/// Go `encoding/json` of an unstructured object: keys sorted at every level.
pub fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.sort_keys();
            for (_, c) in m.iter_mut() {
                sort_keys(c);
            }
        }
        Value::Array(a) => {
            for c in a {
                sort_keys(c);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn crd() -> Value {
        json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "crontabs.stable.example.com"},
            "spec": {
                "group": "stable.example.com",
                "scope": "Namespaced",
                "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "subresources": {"status": {}, "scale": {
                        "specReplicasPath": ".spec.replicas",
                        "statusReplicasPath": ".status.replicas",
                        "labelSelectorPath": ".status.labelSelector"}},
                    "schema": {"openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object",
                                "x-kubernetes-validations": [{"rule": "self.replicas <= 10", "message": "too many"}],
                                "properties": {
                                    "cronSpec": {"type": "string", "pattern": "^\\d+$"},
                                    "image": {"type": "string"},
                                    "replicas": {"type": "integer", "minimum": 0, "default": 1}}},
                            "status": {"type": "object", "properties": {
                                "replicas": {"type": "integer"},
                                "labelSelector": {"type": "string"}}}}}}
                }, {"name": "v1beta1", "served": false, "storage": false,
                    "schema": {"openAPIV3Schema": {"type": "object"}}}]
            }
        })
    }

    fn v1() -> Arc<CustomVersion> {
        let (mut vs, problems) = compile_crd(&crd());
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(vs.len(), 1, "unserved versions are not compiled");
        vs.remove(0)
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter()
            .map(|e| format!("{}: {}", e.field, e.message()))
            .collect()
    }

    #[test]
    fn compiles_names_and_subresources() {
        let v = v1();
        assert_eq!(v.list_kind, "CronTabList");
        assert_eq!(v.singular, "crontab");
        assert!(v.namespaced && v.status && v.has_defaults);
        assert_eq!(v.storage_version, "v1");
        assert_eq!(
            v.scale.as_ref().map(|s| s.spec_replicas.as_str()),
            Some(".spec.replicas")
        );
    }

    #[test]
    fn create_resets_status_and_update_bumps_generation_on_spec_only() {
        let v = v1();
        let mut obj = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "a"}, "spec": {"replicas": 2}, "status": {"replicas": 5}});
        v.prepare_for_create(&mut obj);
        assert_eq!(obj.get("status"), None);
        assert_eq!(obj["metadata"]["generation"], 1);
        let old = obj.clone();
        let mut new = old.clone();
        new["metadata"]["labels"] = json!({"a": "b"});
        new["status"] = json!({"replicas": 3});
        v.prepare_for_update(&mut new, &old);
        assert_eq!(new["metadata"]["generation"], 1);
        assert_eq!(
            new.get("status"),
            None,
            "status is kept from the old object"
        );
        new["spec"]["replicas"] = json!(3);
        v.prepare_for_update(&mut new, &old);
        assert_eq!(new["metadata"]["generation"], 2);
    }

    #[test]
    fn status_update_takes_only_status() {
        let v = v1();
        let old = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "a", "generation": 1}, "spec": {"replicas": 2}});
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(9);
        new["metadata"]["labels"] = json!({"x": "y"});
        new["status"] = json!({"replicas": 2});
        v.prepare_for_status_update(&mut new, &old);
        assert_eq!(new["spec"]["replicas"], 2);
        assert_eq!(new["metadata"].get("labels"), None);
        assert_eq!(new["status"]["replicas"], 2);
    }

    #[test]
    fn validation_as_upstream_orders_it() {
        // As kube-apiserver v1.36 answers a CronTab with a bad pattern, a
        // string replicas and a CRD with a scale subresource.
        let v = v1();
        let obj = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "bad", "namespace": "default"},
            "spec": {"cronSpec": "x", "replicas": "a"}});
        let (errs, _) = v.validate(&obj);
        assert_eq!(
            msgs(&errs),
            [
                "spec.cronSpec: Invalid value: \"x\": spec.cronSpec in body should match '^\\d+$'",
                "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
                ".spec.replicas: Invalid value: 0: .spec.replicas accessor error: a is of the type string, expected int64",
                "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            ]
        );
        let ok = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "ok", "namespace": "default"}, "spec": {"replicas": 11}});
        let (errs, _) = v.validate(&ok);
        assert_eq!(errs.len(), 1, "{:?}", msgs(&errs));
        assert!(msgs(&errs)[0].contains("too many"), "{:?}", msgs(&errs));
        let wrong_kind = json!({"apiVersion": "stable.example.com/v1", "kind": "Foo",
            "metadata": {"name": "ok", "namespace": "default"}, "spec": {"replicas": 1}});
        assert_eq!(
            msgs(&v.validate(&wrong_kind).0),
            ["kind: Invalid value: \"Foo\": must be CronTab"]
        );
    }

    #[test]
    fn scale_reads_and_writes_the_declared_paths() {
        let v = v1();
        let obj = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "a", "namespace": "n", "resourceVersion": "5"},
            "spec": {"replicas": 2}, "status": {"replicas": 1, "labelSelector": "app=a"}});
        let s = v.to_scale(&obj).expect("scale");
        assert_eq!(s["spec"]["replicas"], 2);
        assert_eq!(s["status"], json!({"replicas": 1, "selector": "app=a"}));
        let back = v.from_scale(&obj, 4).expect("from scale");
        assert_eq!(back["spec"]["replicas"], 4);
        let empty = json!({"metadata": {"name": "a"}});
        assert_eq!(
            v.from_scale(&empty, 1).expect("creates spec")["spec"]["replicas"],
            1
        );
    }

    #[test]
    fn prune_reports_unknown_fields_with_metadata() {
        let v = v1();
        let mut obj = json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "a", "bogus": 1}, "spec": {"extra": 1, "image": "i"}});
        assert_eq!(
            v.prune(&mut obj),
            [
                "unknown field \"metadata.bogus\"",
                "unknown field \"spec.extra\""
            ]
        );
        assert_eq!(obj["spec"], json!({"image": "i"}));
    }

    #[test]
    fn unstructured_json_sorts_keys() {
        let mut v = json!({"kind": "K", "apiVersion": "a", "metadata": {"uid": "u", "name": "n"}});
        sort_keys(&mut v);
        assert_eq!(
            serde_json::to_string(&v).unwrap_or_default(),
            r#"{"apiVersion":"a","kind":"K","metadata":{"name":"n","uid":"u"}}"#
        );
    }
}
