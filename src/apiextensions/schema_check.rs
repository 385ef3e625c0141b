//! Compiling an `openAPIV3Schema` and the checks upstream runs on it when a
//! CRD is created or updated.
//!
//! Order of the reported errors follows upstream
//! `validateCustomResourceDefinitionValidation`: the structural-schema errors
//! (sorted by their text, `schema/validation.go`) or, when the schema is
//! structural, the errors of the `default`s (`defaulting/validation.go`);
//! then the errors of the generic schema walk
//! (`ValidateCustomResourceDefinitionOpenAPISchema`).

use super::{Additional, MAX_SCHEMA_DEPTH, Node, Structural, Validations, as_obj};
use crate::apimachinery::validation::FieldError;
use serde_json::Value;
use std::collections::BTreeSet;

const OPENAPI_V3_TYPES: &[&str] = &["array", "boolean", "integer", "number", "object", "string"];

/// Context of the generic walk (upstream `specStandardValidatorV3`).
#[derive(Clone)]
struct Walk {
    forbid_defaults: Option<String>,
    inside_resource_meta: bool,
}

struct Compiler {
    walk_errs: Vec<FieldError>,
    /// `false` when upstream `NewStructural` would fail (keywords it cannot
    /// convert); structural errors are then not reported.
    convertible: bool,
    too_deep: bool,
}

pub(super) fn compile(schema: &Value, base: &str) -> Result<Structural, Vec<FieldError>> {
    let mut c = Compiler {
        walk_errs: Vec::new(),
        convertible: true,
        too_deep: false,
    };
    let mut errs = Vec::new();
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        errs.push(FieldError::forbidden(
            format!("{base}.nullable"),
            "nullable cannot be true at the root",
        ));
    }
    let walk = Walk {
        forbid_defaults: None,
        inside_resource_meta: false,
    };
    let root = c.parse(schema, base, &walk, true, 0);
    if c.too_deep {
        return Err(vec![FieldError::invalid(
            base,
            "",
            format!("must not be nested more than {MAX_SCHEMA_DEPTH} levels deep"),
        )]);
    }
    if c.convertible {
        let mut structural = Vec::new();
        structural_invariants(&root, Level::Root, base, &mut structural);
        completeness(&root, base, &mut structural);
        structural.sort_by_cached_key(|e| e.to_string());
        if structural.is_empty() {
            defaults(&root, &root, base, false, &mut errs);
        } else {
            errs.extend(structural);
        }
    }
    errs.append(&mut c.walk_errs);
    if errs.is_empty() {
        Ok(Structural { root })
    } else {
        Err(errs)
    }
}

fn child(p: &str, k: &str) -> String {
    format!("{p}.{k}")
}
fn key(p: &str, k: &str) -> String {
    format!("{p}.properties[{k}]")
}

fn u64_of(m: &serde_json::Map<String, Value>, k: &str) -> Option<u64> {
    let v = m.get(k)?;
    v.as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

impl Compiler {
    fn parse(&mut self, v: &Value, path: &str, walk: &Walk, is_root: bool, depth: usize) -> Node {
        let mut n = Node::default();
        if depth > MAX_SCHEMA_DEPTH {
            self.too_deep = true;
            return n;
        }
        let Some(m) = as_obj(v) else { return n };
        let errs = &mut self.walk_errs;

        n.ty = m
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        n.format = m
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        n.nullable = m.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        n.default = m.get("default").filter(|d| !d.is_null()).cloned();
        n.has_title = m
            .get("title")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        n.has_description = m
            .get("description")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        n.has_external_docs = m.get("externalDocs").is_some_and(|d| !d.is_null());
        n.preserve_unknown = m
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        n.embedded = m
            .get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        n.int_or_string = m
            .get("x-kubernetes-int-or-string")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        n.list_type = m
            .get("x-kubernetes-list-type")
            .and_then(Value::as_str)
            .map(str::to_string);
        n.map_type = m
            .get("x-kubernetes-map-type")
            .and_then(Value::as_str)
            .map(str::to_string);
        n.list_map_keys = m
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        n.has_x_validations = m
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());

        // specStandardValidatorV3.validate
        if !n.ty.is_empty() && !OPENAPI_V3_TYPES.contains(&n.ty.as_str()) {
            errs.push(FieldError::not_supported(
                child(path, "type"),
                n.ty.clone(),
                OPENAPI_V3_TYPES,
            ));
        }
        if n.default.is_some()
            && let Some(reason) = &walk.forbid_defaults
        {
            let mut detail = "must not be set".to_string();
            if !reason.is_empty() {
                detail.push(' ');
                detail.push_str(reason);
            }
            errs.push(FieldError::forbidden(child(path, "default"), detail));
        }
        let unsupported = [
            ("id", "id is not supported"),
            ("additionalItems", "additionalItems is not supported"),
            ("patternProperties", "patternProperties is not supported"),
            ("definitions", "definitions is not supported"),
            ("dependencies", "dependencies is not supported"),
            ("$ref", "$ref is not supported"),
        ];
        for (k, msg) in unsupported {
            let present = match m.get(k) {
                None | Some(Value::Null) => false,
                Some(Value::String(s)) => !s.is_empty(),
                Some(Value::Object(o)) => {
                    k == "dependencies" || k == "additionalItems" || !o.is_empty()
                }
                Some(_) => true,
            };
            if present {
                errs.push(FieldError::forbidden(child(path, k), msg));
                self.convertible = false;
            }
        }
        if m.get("schema").is_some() {
            self.convertible = false;
        }
        if n.ty == "null" {
            errs.push(FieldError::forbidden(
                child(path, "type"),
                "type cannot be set to null, use nullable as an alternative",
            ));
        }
        let items_is_array = m.get("items").is_some_and(Value::is_array);
        if items_is_array {
            errs.push(FieldError::forbidden(
                child(path, "items"),
                "items must be a schema object and not an array",
            ));
            self.convertible = false;
        }
        if walk.inside_resource_meta && n.embedded {
            errs.push(FieldError::forbidden(
                child(path, "x-kubernetes-embedded-resource"),
                "must not be used inside of resource meta",
            ));
        }

        let mut vv = Validations {
            unique_items: m
                .get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            ..Default::default()
        };
        if vv.unique_items {
            self.walk_errs.push(FieldError::forbidden(
                child(path, "uniqueItems"),
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            ));
        }

        let has_props = m
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        match m.get("additionalProperties") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => {
                if has_props && !*b {
                    self.walk_errs.push(FieldError::forbidden(
                        child(path, "additionalProperties"),
                        "additionalProperties and properties are mutual exclusive",
                    ));
                }
                n.additional = Additional::Bool(*b);
            }
            Some(ap) => {
                if has_props {
                    self.walk_errs.push(FieldError::forbidden(
                        child(path, "additionalProperties"),
                        "additionalProperties and properties are mutual exclusive",
                    ));
                }
                let mut sub = walk.clone();
                if walk.inside_resource_meta {
                    sub.forbid_defaults =
                        Some("inside additionalProperties applying to object metadata".into());
                }
                let node = self.parse(
                    ap,
                    &child(path, "additionalProperties"),
                    &sub,
                    false,
                    depth + 1,
                );
                n.additional = Additional::Schema(Box::new(node));
            }
        }

        if let Some(props) = m.get("properties").and_then(Value::as_object) {
            for (k, pv) in props {
                let mut sub = walk.clone();
                if (is_root || n.embedded)
                    && matches!(k.as_str(), "metadata" | "apiVersion" | "kind")
                {
                    sub.inside_resource_meta = true;
                    if is_root {
                        sub.forbid_defaults = Some(format!("in top-level {k}"));
                    }
                }
                let node = self.parse(pv, &key(path, k), &sub, false, depth + 1);
                n.properties.insert(k.clone(), node);
            }
        }

        if let Some(not) = m.get("not").filter(|v| v.is_object()) {
            vv.not = Some(Box::new(self.parse(
                not,
                &child(path, "not"),
                walk,
                false,
                depth + 1,
            )));
        }
        for (name, target) in [("allOf", 0), ("oneOf", 1), ("anyOf", 2)] {
            if let Some(list) = m.get(name).and_then(Value::as_array) {
                let mut nodes = Vec::with_capacity(list.len());
                for (i, sv) in list.iter().enumerate() {
                    nodes.push(self.parse(
                        sv,
                        &format!("{path}.{name}[{i}]"),
                        walk,
                        false,
                        depth + 1,
                    ));
                }
                match target {
                    0 => vv.all_of = nodes,
                    1 => vv.one_of = nodes,
                    _ => vv.any_of = nodes,
                }
            }
        }
        match m.get("items") {
            Some(Value::Array(list)) => {
                for (i, sv) in list.iter().enumerate() {
                    self.parse(sv, &format!("{path}.items[{i}]"), walk, false, depth + 1);
                }
            }
            Some(iv @ Value::Object(_)) => {
                n.items = Some(Box::new(self.parse(
                    iv,
                    &child(path, "items"),
                    walk,
                    false,
                    depth + 1,
                )));
            }
            _ => {}
        }

        let errs = &mut self.walk_errs;
        if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
            errs.push(FieldError::invalid(
                child(path, "x-kubernetes-preserve-unknown-fields"),
                false,
                "must be true or undefined",
            ));
            self.convertible = false;
        }
        if let Some(mt) = &n.map_type {
            if n.ty != "object" {
                if n.ty.is_empty() {
                    errs.push(FieldError::required(
                        child(path, "type"),
                        "must be object if x-kubernetes-map-type is specified",
                    ));
                } else {
                    errs.push(FieldError::invalid(
                        child(path, "type"),
                        n.ty.clone(),
                        "must be object if x-kubernetes-map-type is specified",
                    ));
                }
            }
            if mt != "atomic" && mt != "granular" {
                errs.push(FieldError::not_supported(
                    child(path, "x-kubernetes-map-type"),
                    mt.clone(),
                    &["atomic", "granular"],
                ));
            }
        }
        if n.list_type.is_some() && n.ty != "array" {
            if n.ty.is_empty() {
                errs.push(FieldError::required(
                    child(path, "type"),
                    "must be array if x-kubernetes-list-type is specified",
                ));
            } else {
                errs.push(FieldError::invalid(
                    child(path, "type"),
                    n.ty.clone(),
                    "must be array if x-kubernetes-list-type is specified",
                ));
            }
        } else if n.list_type.as_deref() == Some("set")
            && let Some(is) = &n.items
        {
            match is.ty.as_str() {
                "array" if is.list_type.as_deref().is_some_and(|t| t != "atomic") => {
                    errs.push(FieldError::invalid(
                        format!("{path}.items.x-kubernetes-list-type"),
                        is.list_type.clone(),
                        "must be atomic as item of a list with x-kubernetes-list-type=set",
                    ));
                }
                "object" if is.map_type.as_deref() != Some("atomic") => {
                    // upstream passes the item's list type as the value here
                    errs.push(FieldError::invalid(
                        format!("{path}.items.x-kubernetes-map-type"),
                        is.list_type.clone(),
                        "must be atomic as item of a list with x-kubernetes-list-type=set",
                    ));
                }
                _ => {}
            }
        }
        if let Some(lt) = &n.list_type
            && lt != "atomic"
            && lt != "set"
            && lt != "map"
        {
            errs.push(FieldError::not_supported(
                child(path, "x-kubernetes-list-type"),
                lt.clone(),
                &["atomic", "set", "map"],
            ));
        }
        if !n.list_map_keys.is_empty() {
            match &n.list_type {
                None => errs.push(FieldError::required(
                    child(path, "x-kubernetes-list-type"),
                    "must be map if x-kubernetes-list-map-keys is non-empty",
                )),
                Some(lt) if lt != "map" => errs.push(FieldError::invalid(
                    child(path, "x-kubernetes-list-type"),
                    lt.clone(),
                    "must be map if x-kubernetes-list-map-keys is non-empty",
                )),
                _ => {}
            }
        }
        if n.list_type.as_deref() == Some("map") {
            if n.list_map_keys.is_empty() {
                errs.push(FieldError::required(
                    child(path, "x-kubernetes-list-map-keys"),
                    "must not be empty if x-kubernetes-list-type is map",
                ));
            }
            if m.get("items").is_none_or(Value::is_null) {
                errs.push(FieldError::required(
                    child(path, "items"),
                    "must have a schema if x-kubernetes-list-type is map",
                ));
            }
            if items_is_array {
                errs.push(FieldError::invalid(
                    child(path, "items"),
                    super::bad_value(m.get("items").unwrap_or(&Value::Null)),
                    "must only have a single schema if x-kubernetes-list-type is map",
                ));
            }
            if let Some(is) = &n.items {
                if is.ty != "object" {
                    errs.push(FieldError::invalid(
                        format!("{path}.items.type"),
                        is.ty.clone(),
                        "must be object if parent array's x-kubernetes-list-type is map",
                    ));
                } else {
                    let keys_value: Vec<Value> = n
                        .list_map_keys
                        .iter()
                        .map(|k| Value::String(k.clone()))
                        .collect();
                    let mut seen = BTreeSet::new();
                    for k in &n.list_map_keys {
                        match is.properties.get(k) {
                            Some(s) if s.ty == "array" || s.ty == "object" => {
                                errs.push(FieldError::invalid(
                                    format!("{path}.items.properties[{k}].type"),
                                    is.ty.clone(),
                                    "must be a scalar type if parent array's x-kubernetes-list-type is map",
                                ));
                            }
                            Some(_) => {}
                            None => errs.push(FieldError::invalid(
                                child(path, "x-kubernetes-list-map-keys"),
                                super::bad_value(&Value::Array(keys_value.clone())),
                                "entries must all be names of item properties",
                            )),
                        }
                        if !seen.insert(k.as_str()) {
                            errs.push(FieldError::invalid(
                                child(path, "x-kubernetes-list-map-keys"),
                                super::bad_value(&Value::Array(keys_value.clone())),
                                "must not contain duplicate entries",
                            ));
                        }
                    }
                }
            }
        }
        // validateMapListKeysMapSet
        if let (Some(lt), Some(is)) = (&n.list_type, &n.items)
            && (lt == "set" || lt == "map")
        {
            if is.nullable {
                errs.push(FieldError::forbidden(
                    format!("{path}.items.nullable"),
                    format!("cannot be nullable when x-kubernetes-list-type is {lt}"),
                ));
            }
            if lt == "map" {
                let req = m
                    .get("items")
                    .and_then(|i| i.get("required"))
                    .and_then(Value::as_array);
                for k in &n.list_map_keys {
                    let Some(p) = is.properties.get(k) else {
                        continue;
                    };
                    let required = req.is_some_and(|r| r.iter().any(|x| x.as_str() == Some(k)));
                    if !required && p.default.is_none() {
                        errs.push(FieldError::required(
                            format!("{path}.items.properties[{k}].default"),
                            "this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property",
                        ));
                    }
                    if p.nullable {
                        errs.push(FieldError::forbidden(
                            format!("{path}.items.properties[{k}].nullable"),
                            "this property is in x-kubernetes-list-map-keys, so it cannot be nullable",
                        ));
                    }
                }
            }
        }

        // value validations
        vv.enum_ = m.get("enum").and_then(Value::as_array).cloned();
        if let Some(p) = m
            .get("pattern")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
        {
            vv.pattern = Some((p.to_string(), super::formats::compile_pattern(p).ok()));
        }
        vv.maximum = m.get("maximum").and_then(Value::as_f64);
        vv.minimum = m.get("minimum").and_then(Value::as_f64);
        vv.exclusive_maximum = m
            .get("exclusiveMaximum")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        vv.exclusive_minimum = m
            .get("exclusiveMinimum")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        vv.multiple_of = m.get("multipleOf").and_then(Value::as_f64);
        vv.max_length = u64_of(m, "maxLength");
        vv.min_length = u64_of(m, "minLength");
        vv.max_items = u64_of(m, "maxItems");
        vv.min_items = u64_of(m, "minItems");
        vv.max_properties = u64_of(m, "maxProperties");
        vv.min_properties = u64_of(m, "minProperties");
        vv.required = m
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if !vv.is_empty() {
            n.v = Some(Box::new(vv));
        }
        n
    }
}

// ---------------------------------------------------------------------------
// Structural invariants (schema/validation.go, schema/complete.go)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Level {
    Root,
    Item,
    Field,
}

fn is_type_only(n: &Node, ty: &str) -> bool {
    n.ty == ty
        && n.format.is_empty()
        && !n.nullable
        && n.default.is_none()
        && !n.has_title
        && !n.has_description
        && !n.has_external_docs
        && n.properties.is_empty()
        && !n.additional.is_set()
        && n.items.is_none()
        && !n.preserve_unknown
        && !n.embedded
        && !n.int_or_string
        && n.list_type.is_none()
        && n.list_map_keys.is_empty()
        && n.map_type.is_none()
        && !n.has_x_validations
        && n.v.is_none()
}

fn is_int_or_string_pair(list: &[Node]) -> bool {
    list.len() == 2 && is_type_only(&list[0], "integer") && is_type_only(&list[1], "string")
}

fn structural_invariants(s: &Node, lvl: Level, path: &str, errs: &mut Vec<FieldError>) {
    if s.ty == "array" && s.items.is_none() {
        errs.push(FieldError::required(
            child(path, "items"),
            "must be specified",
        ));
    }
    if let Some(items) = &s.items {
        structural_invariants(items, Level::Item, &child(path, "items"), errs);
    }
    for (k, p) in &s.properties {
        structural_invariants(p, Level::Field, &key(path, k), errs);
    }
    if s.additional.is_set() {
        if lvl == Level::Root {
            errs.push(FieldError::forbidden(
                child(path, "additionalProperties"),
                "must not be used at the root",
            ));
        }
        if let Some(ap) = s.additional.schema() {
            structural_invariants(ap, Level::Field, &child(path, "additionalProperties"), errs);
        }
    }
    if s.int_or_string && s.preserve_unknown {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-preserve-unknown-fields"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if s.int_or_string && s.embedded {
        errs.push(FieldError::invalid(
            child(path, "x-kubernetes-embedded-resource"),
            true,
            "must be false if x-kubernetes-int-or-string is true",
        ));
    }
    if let Some(v) = &s.v {
        let skip_any_of = is_int_or_string_pair(&v.any_of);
        let skip_first_all_of_any_of = v
            .all_of
            .first()
            .and_then(|a| a.v.as_ref())
            .is_some_and(|av| is_int_or_string_pair(&av.any_of));
        value_validation(v, skip_any_of, skip_first_all_of_any_of, lvl, path, errs);
    }

    let check_metadata = lvl == Level::Root || s.embedded;
    if s.embedded && s.ty != "object" {
        if s.ty.is_empty() {
            errs.push(FieldError::required(
                child(path, "type"),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        } else {
            errs.push(FieldError::invalid(
                child(path, "type"),
                s.ty.clone(),
                "must be object if x-kubernetes-embedded-resource is true",
            ));
        }
    } else if s.ty.is_empty() && !s.int_or_string && !s.preserve_unknown {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        errs.push(FieldError::required(child(path, "type"), msg));
    }
    if s.embedded && s.additional.is_set() {
        errs.push(FieldError::forbidden(
            child(path, "additionalProperties"),
            "must not be used if x-kubernetes-embedded-resource is set",
        ));
    }
    if lvl == Level::Root && !s.ty.is_empty() && s.ty != "object" {
        errs.push(FieldError::invalid(
            child(path, "type"),
            s.ty.clone(),
            "must be object at the root",
        ));
    }
    if check_metadata {
        for k in ["kind", "apiVersion"] {
            if let Some(p) = s.properties.get(k)
                && p.ty != "string"
            {
                errs.push(FieldError::invalid(
                    format!("{}.type", key(path, k)),
                    p.ty.clone(),
                    "must be string",
                ));
            }
        }
    }
    if let Some(md) = s.properties.get("metadata") {
        let mpath = key(path, "metadata");
        if check_metadata && md.ty != "object" {
            errs.push(FieldError::invalid(
                child(&mpath, "type"),
                md.ty.clone(),
                "must be object",
            ));
        }
        if lvl == Level::Root && !root_metadata_ok(md) {
            errs.push(FieldError::forbidden(
                mpath,
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    if s.embedded && !s.preserve_unknown && s.properties.is_empty() {
        errs.push(FieldError::required(
            child(path, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        ));
    }
}

/// Upstream `validateStructuralMetadataInvariants` at the root: only `type`,
/// `default` and `properties` limited to exactly `name`/`generateName`.
fn root_metadata_ok(md: &Node) -> bool {
    let props_ok = md.properties.is_empty()
        || (md.properties.len() <= 2
            && md
                .properties
                .keys()
                .all(|k| k == "name" || k == "generateName")
            && (md.properties.len() == 1
                || (md.properties.contains_key("name")
                    && md.properties.contains_key("generateName"))));
    props_ok
        && md.format.is_empty()
        && !md.nullable
        && !md.has_title
        && !md.has_description
        && !md.has_external_docs
        && !md.additional.is_set()
        && md.items.is_none()
        && !md.preserve_unknown
        && !md.embedded
        && !md.int_or_string
        && md.list_type.is_none()
        && md.list_map_keys.is_empty()
        && md.map_type.is_none()
        && !md.has_x_validations
        && md.v.is_none()
}

fn value_validation(
    v: &Validations,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    lvl: Level,
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    if !skip_any_of {
        for (i, n) in v.any_of.iter().enumerate() {
            nested(n, false, lvl, &format!("{path}.anyOf[{i}]"), errs);
        }
    }
    for (i, n) in v.all_of.iter().enumerate() {
        nested(
            n,
            skip_first_all_of_any_of && i == 0,
            lvl,
            &format!("{path}.allOf[{i}]"),
            errs,
        );
    }
    for (i, n) in v.one_of.iter().enumerate() {
        nested(n, false, lvl, &format!("{path}.oneOf[{i}]"), errs);
    }
    if let Some(n) = &v.not {
        nested(n, false, lvl, &child(path, "not"), errs);
    }
    if let Some((p, re)) = &v.pattern
        && re.is_none()
    {
        let detail = match super::formats::compile_pattern(p) {
            Err(e) => e,
            Ok(_) => String::new(),
        };
        errs.push(FieldError::invalid(
            child(path, "pattern"),
            p.clone(),
            format!("must be a valid regular expression, but isn't: {detail}"),
        ));
    }
}

fn nested(n: &Node, skip_any_of: bool, lvl: Level, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(v) = &n.v {
        value_validation(v, skip_any_of, false, lvl, path, errs);
    }
    if let Some(items) = &n.items {
        nested(items, false, lvl, &child(path, "items"), errs);
    }
    for (k, p) in &n.properties {
        nested(p, false, Level::Field, &key(path, k), errs);
    }
    let forbid = |errs: &mut Vec<FieldError>, f: &str, msg: &str| {
        errs.push(FieldError::forbidden(child(path, f), msg));
    };
    if !n.ty.is_empty() {
        forbid(errs, "type", "must be empty to be structural");
    }
    if n.additional.is_set() {
        forbid(
            errs,
            "additionalProperties",
            "must be undefined to be structural",
        );
    }
    if n.default.is_some() {
        forbid(errs, "default", "must be undefined to be structural");
    }
    if n.has_title {
        forbid(errs, "title", "must be empty to be structural");
    }
    if n.has_description {
        forbid(errs, "description", "must be empty to be structural");
    }
    if n.nullable {
        forbid(errs, "nullable", "must be false to be structural");
    }
    if n.has_external_docs {
        forbid(errs, "externalDocs", "must be undefined to be structural");
    }
    if n.preserve_unknown {
        forbid(
            errs,
            "x-kubernetes-preserve-unknown-fields",
            "must be false to be structural",
        );
    }
    if n.embedded {
        forbid(
            errs,
            "x-kubernetes-embedded-resource",
            "must be false to be structural",
        );
    }
    if n.int_or_string {
        forbid(
            errs,
            "x-kubernetes-int-or-string",
            "must be false to be structural",
        );
    }
    if !n.list_map_keys.is_empty() {
        forbid(
            errs,
            "x-kubernetes-list-map-keys",
            "must be empty to be structural",
        );
    }
    if n.list_type.is_some() {
        forbid(
            errs,
            "x-kubernetes-list-type",
            "must be undefined to be structural",
        );
    }
    if n.map_type.is_some() {
        forbid(
            errs,
            "x-kubernetes-map-type",
            "must be undefined to be structural",
        );
    }
    if n.has_x_validations {
        forbid(
            errs,
            "x-kubernetes-validations",
            "must be empty to be structural",
        );
    }
    if n.properties.contains_key("metadata") {
        errs.push(FieldError::forbidden(
            key(path, "metadata"),
            "must not be specified in a nested context",
        ));
    }
}

fn completeness(s: &Node, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(v) = &s.v {
        vv_complete(v, Some(s), path, path, errs);
    }
}

fn vv_complete(
    v: &Validations,
    s: Option<&Node>,
    spath: &str,
    vpath: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            spath,
            format!("because it is defined in {vpath}"),
        ));
        return;
    };
    if let Some(n) = &v.not {
        nested_complete(n, Some(s), spath, &child(vpath, "not"), errs);
    }
    for (i, n) in v.all_of.iter().enumerate() {
        nested_complete(n, Some(s), spath, &format!("{vpath}.allOf[{i}]"), errs);
    }
    for (i, n) in v.any_of.iter().enumerate() {
        nested_complete(n, Some(s), spath, &format!("{vpath}.anyOf[{i}]"), errs);
    }
    for (i, n) in v.one_of.iter().enumerate() {
        nested_complete(n, Some(s), spath, &format!("{vpath}.oneOf[{i}]"), errs);
    }
}

fn nested_complete(
    v: &Node,
    s: Option<&Node>,
    spath: &str,
    vpath: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(s) = s else {
        errs.push(FieldError::required(
            spath,
            format!("because it is defined in {vpath}"),
        ));
        return;
    };
    if let Some(vv) = &v.v {
        vv_complete(vv, Some(s), spath, vpath, errs);
    }
    if let Some(items) = &v.items {
        nested_complete(
            items,
            s.items.as_deref(),
            &child(spath, "items"),
            &child(vpath, "items"),
            errs,
        );
    }
    for (k, vf) in &v.properties {
        match s.properties.get(k) {
            None => errs.push(FieldError::required(
                key(spath, k),
                format!("because it is defined in {}", key(vpath, k)),
            )),
            Some(sf) => nested_complete(vf, Some(sf), &key(spath, k), &key(vpath, k), errs),
        }
    }
}

// ---------------------------------------------------------------------------
// Defaults (defaulting/validation.go)
// ---------------------------------------------------------------------------

fn defaults(s: &Node, root: &Node, path: &str, inside_meta: bool, errs: &mut Vec<FieldError>) {
    let (inside_meta, root) = if s.embedded {
        (false, s)
    } else {
        (inside_meta, root)
    };
    if let Some(d) = &s.default
        && !inside_meta
    {
        let dpath = child(path, "default");
        let mut pruned = d.clone();
        let mut out = Vec::new();
        let mut p = String::new();
        super::prune_value(&mut pruned, Some(s), s.embedded, &mut p, &mut out, 0);
        if !out.is_empty() {
            errs.push(FieldError::invalid(
                dpath.clone(),
                super::bad_value(d),
                "must not have unknown fields",
            ));
        }
        let mut verrs = Vec::new();
        super::validate::validate_node(s, d, &super::validate::Seg::Root, Some(&dpath), &mut verrs);
        super::validate::validate_list_types(s, d, &super::validate::Seg::Base(&dpath), &mut verrs);
        super::validate::validate_embedded(
            s,
            d,
            &super::validate::Seg::Base(&dpath),
            s.embedded,
            &mut verrs,
        );
        errs.extend(verrs);
    }
    let _ = root;
    if let Some(items) = &s.items {
        defaults(items, root, &child(path, "items"), inside_meta, errs);
    }
    for (k, p) in &s.properties {
        let sub_meta =
            inside_meta || (s.embedded && matches!(k.as_str(), "metadata" | "apiVersion" | "kind"));
        defaults(p, root, &key(path, k), sub_meta, errs);
    }
}
