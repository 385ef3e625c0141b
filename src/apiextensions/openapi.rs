//! The OpenAPI v3 document upstream serves at `/openapi/v3/apis/<group>/<version>` for the
//! custom resources of one group-version, as
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder/builder.go`
//! (routes, operation ids, descriptions, parameters) run through kube-openapi's `builder3`
//! (path-level hoisting of shared parameters, `#/components/schemas/...` names).
//!
//! * Paths: for namespaced kinds the all-namespaces list, then the namespaced collection
//!   (list, create, deletecollection), the item (read, replace, delete, patch) and the
//!   `status` / `scale` subresources when enabled. No watch paths (v3 has none).
//! * Schemas: the CR schema with `apiVersion`, `kind`, `metadata` injected and
//!   `x-kubernetes-group-version-kind`, the List type, and every meta component reachable
//!   from them (ObjectMeta, ListMeta, Status, DeleteOptions, Patch, autoscaling/v1 Scale when
//!   the scale subresource is on), taken from the caller's built-in components.
//! * Names: `com.example.stable.v1.CronTab` (group reversed), tag `stableExampleCom_v1`,
//!   operation ids such as `listStableExampleComV1NamespacedCronTab`
//!   (`apiserver/pkg/endpoints/openapi/openapi.go` `GetOperationIDAndTags`).
//!
//! Parameter texts and TypeMeta descriptions are upstream's (v1.36), kept in
//! `openapi_params.json` next to this file.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const PARAMS_JSON: &str = include_str!("openapi_params.json");

const LIST_PARAMS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "shardSelector",
    "timeoutSeconds",
    "watch",
];
const GET_PARAMS: &[&str] = &["resourceVersion"];
const CREATE_PARAMS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
/// `fieldManagerPatch` is upstream's `fieldManager` text for patch operations.
const PATCH_PARAMS: &[&str] = &["dryRun", "fieldManagerPatch", "fieldValidation", "force"];
const DELETE_PARAMS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
];

const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const SCALE: &str = "io.k8s.api.autoscaling.v1.Scale";
/// Bound on the number of nested schema nodes rewritten (schemas are client input).
const MAX_SCHEMA_NODES: usize = 1_000_000;

/// Upstream's texts (parameters by name, TypeMeta/metadata descriptions).
struct Texts {
    params: Map<String, Value>,
    docs: Map<String, Value>,
}

/// Parsed once per process.
fn texts() -> &'static Texts {
    static TEXTS: std::sync::OnceLock<Texts> = std::sync::OnceLock::new();
    TEXTS.get_or_init(|| {
        let v: Value = serde_json::from_str(PARAMS_JSON).unwrap_or(Value::Null);
        let get = |k: &str| {
            v.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        Texts {
            params: get("params"),
            docs: get("docs"),
        }
    })
}

impl Texts {
    fn doc(&self, k: &str) -> &str {
        self.docs.get(k).and_then(Value::as_str).unwrap_or("")
    }
    fn param(&self, name: &str) -> Value {
        self.params.get(name).cloned().unwrap_or_else(|| {
            json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
        })
    }
}

/// The names one CRD version is served under.
struct Names<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    list_kind: String,
    plural: &'a str,
    namespaced: bool,
}

fn names<'a>(crd: &'a Value, version: &'a str) -> Option<Names<'a>> {
    let spec = crd.get("spec")?;
    let n = spec.get("names")?;
    let kind = n.get("kind")?.as_str()?;
    Some(Names {
        group: spec.get("group")?.as_str()?,
        version,
        kind,
        list_kind: n
            .get("listKind")
            .and_then(Value::as_str)
            .map_or_else(|| format!("{kind}List"), str::to_string),
        plural: n.get("plural")?.as_str()?,
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
    })
}

/// `com.example.stable` for `stable.example.com`.
pub fn reversed_group(group: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').collect();
    parts.reverse();
    parts.join(".")
}

/// The component name of a CR kind: `com.example.stable.v1.CronTab`.
pub fn schema_name(group: &str, version: &str, kind: &str) -> String {
    format!("{}.{version}.{kind}", reversed_group(group))
}

/// `ToValidOperationID` (`apiserver/pkg/endpoints/openapi/openapi.go`): letters and `_` kept,
/// digits kept except in first position, anything else dropped and capitalises the next kept
/// character.
fn to_valid_operation_id(s: &str, capitalize_first: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut capitalize = capitalize_first;
    for (i, c) in s.char_indices() {
        if c.is_alphabetic() || c == '_' || (i != 0 && c.is_ascii_digit()) {
            if capitalize {
                out.extend(c.to_uppercase());
                capitalize = false;
            } else {
                out.push(c);
            }
        } else {
            capitalize = true;
        }
    }
    out
}

/// The tag and the operation-id infix of a group-version (`GetOperationIDAndTags`):
/// `stable.example.com`, `v1` → (`stableExampleCom_v1`, `StableExampleComV1`); a `.k8s.io`
/// suffix is dropped first.
fn tag_and_infix(group: &str, version: &str) -> (String, String) {
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    let tag = format!(
        "{}_{}",
        to_valid_operation_id(trimmed, false),
        to_valid_operation_id(version, false)
    );
    let infix = format!(
        "{}{}",
        to_valid_operation_id(trimmed, true),
        to_valid_operation_id(version, true)
    );
    (tag, infix)
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn version_entry<'a>(crd: &'a Value, version: &str) -> Option<&'a Value> {
    crd.get("spec")?
        .get("versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn content(name: &str, types: &[&str]) -> Value {
    let mut m = Map::new();
    for t in types {
        m.insert((*t).to_string(), json!({"schema": reference(name)}));
    }
    Value::Object(m)
}

/// One route, as `buildRoute` declares it.
struct Route {
    /// "" | "/{name}" | "/{name}/status" | "/{name}/scale"
    sub: &'static str,
    method: &'static str,
    action: &'static str,
    verb: &'static str,
    response: String,
    all_namespaces: bool,
}

fn article(kind: &str) -> &'static str {
    // endpoints.GetArticleForNoun: "an" before a vowel.
    match kind.chars().next().map(|c| c.to_ascii_lowercase()) {
        Some('a' | 'e' | 'i' | 'o' | 'u') => " an ",
        _ => " a ",
    }
}

fn description(kind: &str, sub: &str, verb: &str) -> String {
    let sub = sub
        .rsplit('/')
        .next()
        .filter(|s| !s.starts_with('{') && !s.is_empty());
    let sub = sub.map(|s| format!(" {s} of")).unwrap_or_default();
    let art = match verb {
        "list" => " objects of kind ",
        "read" | "replace" | "patch" => " the specified ",
        "create" | "delete" => article(kind),
        _ => "",
    };
    match verb {
        "patch" => format!("partially update{sub}{art}{kind}"),
        "deletecollection" => {
            let sub = if sub.is_empty() {
                sub
            } else {
                format!("{sub} a")
            };
            format!("delete collection of{sub} {kind}")
        }
        _ => format!("{verb}{sub}{art}{kind}"),
    }
}

/// Adds the routes of one CRD version to `paths`.
fn add_paths(
    n: &Names<'_>,
    status: bool,
    scale: bool,
    t: &Texts,
    paths: &mut BTreeMap<String, Map<String, Value>>,
    path_params: &mut BTreeMap<String, Vec<Vec<Value>>>,
) {
    let cr = schema_name(n.group, n.version, n.kind);
    let list = schema_name(n.group, n.version, &n.list_kind);
    let status_ref = format!("{META}Status");
    let mut routes = Vec::new();
    let r = |sub, method, action, verb, response: &str, all| Route {
        sub,
        method,
        action,
        verb,
        response: response.to_string(),
        all_namespaces: all,
    };
    if n.namespaced {
        routes.push(r("", "get", "list", "list", &list, true));
    }
    routes.push(r("", "get", "list", "list", &list, false));
    routes.push(r("", "post", "post", "create", &cr, false));
    routes.push(r(
        "",
        "delete",
        "deletecollection",
        "deletecollection",
        &status_ref,
        false,
    ));
    routes.push(r("/{name}", "get", "get", "read", &cr, false));
    routes.push(r("/{name}", "put", "put", "replace", &cr, false));
    routes.push(r(
        "/{name}",
        "delete",
        "delete",
        "delete",
        &status_ref,
        false,
    ));
    routes.push(r("/{name}", "patch", "patch", "patch", &cr, false));
    if status {
        routes.push(r("/{name}/status", "get", "get", "read", &cr, false));
        routes.push(r("/{name}/status", "put", "put", "replace", &cr, false));
        routes.push(r("/{name}/status", "patch", "patch", "patch", &cr, false));
    }
    if scale {
        routes.push(r("/{name}/scale", "get", "get", "read", SCALE, false));
        routes.push(r("/{name}/scale", "put", "put", "replace", SCALE, false));
        routes.push(r("/{name}/scale", "patch", "patch", "patch", SCALE, false));
    }
    let (tag, gv_camel) = tag_and_infix(n.group, n.version);
    let json_yaml = ["application/json", "application/yaml"];
    for route in routes {
        let ns_path = n.namespaced && !route.all_namespaces;
        let path = if ns_path {
            format!(
                "/apis/{}/{}/namespaces/{{namespace}}/{}{}",
                n.group, n.version, n.plural, route.sub
            )
        } else {
            format!("/apis/{}/{}/{}{}", n.group, n.version, n.plural, route.sub)
        };
        let scope = if ns_path { "Namespaced" } else { "" };
        let subres = route
            .sub
            .rsplit('/')
            .next()
            .filter(|s| !s.starts_with('{'))
            .unwrap_or("");
        let op_id = if route.all_namespaces {
            format!("list{gv_camel}{}ForAllNamespaces", n.kind)
        } else if route.verb == "deletecollection" {
            format!("delete{gv_camel}Collection{scope}{}", n.kind)
        } else {
            format!(
                "{}{gv_camel}{scope}{}{}",
                route.verb,
                n.kind,
                upper_first(subres)
            )
        };
        let mut params = vec![t.param("pretty")];
        if ns_path {
            params.push(json!({"name": "namespace", "in": "path",
                "description": "object name and auth scope, such as for teams and projects",
                "required": true, "schema": {"type": "string", "uniqueItems": true}}));
        }
        if route.sub.starts_with("/{name}") {
            params.push(json!({"name": "name", "in": "path",
                "description": format!("name of the {}", n.kind),
                "required": true, "schema": {"type": "string", "uniqueItems": true}}));
        }
        let opts: &[&str] = match route.action {
            "get" => GET_PARAMS,
            "list" | "deletecollection" => LIST_PARAMS,
            "put" | "post" => CREATE_PARAMS,
            "patch" => PATCH_PARAMS,
            _ => DELETE_PARAMS,
        };
        params.extend(opts.iter().map(|p| t.param(p)));
        let mut op = Map::new();
        op.insert("tags".into(), json!([tag]));
        op.insert(
            "description".into(),
            json!(description(n.kind, route.sub, route.verb)),
        );
        op.insert("operationId".into(), json!(op_id));
        match route.action {
            "post" | "put" => {
                op.insert(
                    "requestBody".into(),
                    json!({"content": content(&route.response, &json_yaml), "required": true}),
                );
            }
            "patch" => {
                op.insert(
                    "requestBody".into(),
                    json!({"content": content(&format!("{META}Patch"), &[
                        "application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"]),
                        "required": true}),
                );
            }
            "delete" => {
                op.insert(
                    "requestBody".into(),
                    json!({"content": content(&format!("{META}DeleteOptions"), &json_yaml)}),
                );
            }
            _ => {}
        }
        let ok = json!({"description": "OK", "content": content(&route.response, &json_yaml)});
        let mut responses = Map::new();
        responses.insert("200".into(), ok);
        let extra =
            |d: &str| json!({"description": d, "content": content(&route.response, &json_yaml)});
        match route.action {
            "post" => {
                responses.insert("201".into(), extra("Created"));
                responses.insert("202".into(), extra("Accepted"));
            }
            "put" => {
                responses.insert("201".into(), extra("Created"));
            }
            "delete" => {
                responses.insert("202".into(), extra("Accepted"));
            }
            _ => {}
        }
        responses.insert("401".into(), json!({"description": "Unauthorized"}));
        op.insert("responses".into(), Value::Object(responses));
        op.insert("x-kubernetes-action".into(), json!(route.action));
        op.insert(
            "x-kubernetes-group-version-kind".into(),
            json!({"group": n.group, "version": n.version, "kind": n.kind}),
        );
        // Parameters are attached per operation first; shared ones are hoisted below.
        op.insert("parameters".into(), Value::Array(params.clone()));
        paths
            .entry(path.clone())
            .or_default()
            .insert(route.method.into(), Value::Object(op));
        path_params.entry(path).or_default().push(params);
    }
}

fn param_name(p: &Value) -> &str {
    p.get("name").and_then(Value::as_str).unwrap_or("")
}

/// kube-openapi builder3: parameters every operation of a path shares move to the path; both
/// lists sorted by name; operations in get, put, post, delete, patch order.
fn finish_path(mut ops: Map<String, Value>, all: &[Vec<Value>]) -> Value {
    let shared: Vec<Value> = all
        .first()
        .map(|first| {
            first
                .iter()
                .filter(|p| all.iter().all(|ps| ps.contains(p)))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut out = Map::new();
    for method in ["get", "put", "post", "delete", "patch"] {
        let Some(Value::Object(mut op)) = ops.remove(method) else {
            continue;
        };
        let mut own: Vec<Value> = match op.remove("parameters") {
            Some(Value::Array(ps)) => ps.into_iter().filter(|p| !shared.contains(p)).collect(),
            _ => Vec::new(),
        };
        own.sort_by(|a, b| param_name(a).cmp(param_name(b)));
        // Re-insert parameters after operationId, as upstream orders operation fields.
        let mut ordered = Map::new();
        for (k, v) in op {
            let after_id = k == "operationId";
            ordered.insert(k, v);
            if after_id && !own.is_empty() {
                ordered.insert("parameters".into(), Value::Array(std::mem::take(&mut own)));
            }
        }
        // requestBody/responses were inserted after operationId, so move them behind.
        let mut final_op = Map::new();
        for key in [
            "tags",
            "description",
            "operationId",
            "parameters",
            "requestBody",
            "responses",
        ] {
            if let Some(v) = ordered.shift_remove(key) {
                final_op.insert(key.into(), v);
            }
        }
        final_op.extend(ordered);
        out.insert(method.into(), Value::Object(final_op));
    }
    let mut shared = shared;
    shared.sort_by(|a, b| param_name(a).cmp(param_name(b)));
    if !shared.is_empty() {
        out.insert("parameters".into(), Value::Array(shared));
    }
    Value::Object(out)
}

/// kube-openapi's field order for a schema object (`SchemaProps` then `SwaggerSchemaProps`
/// field order), restricted to what a structural schema carries
/// (`apiserver/schema/kubeopenapi.go`). Extensions follow, sorted.
const SCHEMA_KEY_ORDER: &[&str] = &[
    "description",
    "type",
    "nullable",
    "format",
    "title",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "enum",
    "maxProperties",
    "minProperties",
    "required",
    "items",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "properties",
    "additionalProperties",
    "externalDocs",
    "example",
];

/// Boolean extensions are only emitted when true; the others when non-empty.
const EXTENSIONS: &[&str] = &[
    "x-kubernetes-embedded-resource",
    "x-kubernetes-int-or-string",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
];

/// Field order of `ValidationRule`.
const RULE_KEY_ORDER: &[&str] = &[
    "rule",
    "message",
    "messageExpression",
    "reason",
    "fieldPath",
    "optionalOldSelf",
];

/// Deepest schema rewritten (schemas are client input; deeper ones publish as `type: object`).
const MAX_SCHEMA_DEPTH: usize = 128;

fn is_true(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k).and_then(Value::as_bool) == Some(true)
}

/// `{"anyOf": [{"type": "integer"}, {"type": "string"}]}`'s list.
fn int_or_string_any_of() -> Value {
    json!([{"type": "integer"}, {"type": "string"}])
}

/// `isIntOrStringAnyOfPattern`: exactly `anyOf: [{type: integer}, {type: string}]`.
fn is_int_or_string_any_of(v: Option<&Value>) -> bool {
    v == Some(&int_or_string_any_of())
}

/// `ToStructuralOpenAPIV2` (`controller/openapi/v2/conversion.go`) on one node, plus the
/// dropped `default` upstream's v2 output shows: no junctors; nullable nodes lose their type,
/// items and properties; nodes keeping unknown fields lose items and properties (and the
/// `object` type); arrays without items lose their type; nullable children leave `required`.
fn to_v2(m: &Map<String, Value>) -> View<'_> {
    let mut view = View {
        m,
        dropped: vec!["allOf", "oneOf", "anyOf", "not", "default"],
        required: None,
    };
    if is_true(m, "nullable") {
        view.dropped
            .extend(["type", "nullable", "items", "properties"]);
    }
    let preserve = is_true(m, "x-kubernetes-preserve-unknown-fields");
    if preserve {
        view.dropped.extend(["items", "properties"]);
    }
    let typ = view.get("type").and_then(Value::as_str);
    if (view.get("items").is_none() && typ == Some("array")) || (preserve && typ == Some("object"))
    {
        view.dropped.push("type");
    }
    let props = view.get("properties").and_then(Value::as_object);
    let nullable = |k: &str| {
        props
            .and_then(|p| p.get(k))
            .and_then(|c| c.get("nullable"))
            .and_then(Value::as_bool)
            == Some(true)
    };
    if let Some(Value::Array(req)) = view.get("required") {
        let kept: Vec<Value> = req
            .iter()
            .filter(|r| !r.as_str().is_some_and(nullable))
            .cloned()
            .collect();
        if kept.len() != req.len() {
            view.required = Some(Value::Array(kept));
        }
    }
    let additional_nullable = view
        .get("additionalProperties")
        .and_then(|a| a.get("nullable"))
        .and_then(Value::as_bool)
        == Some(true);
    if additional_nullable {
        view.dropped.push("required");
    }
    view
}

/// A schema node with some keys hidden or replaced (the v2 conversion), without copying it.
struct View<'a> {
    m: &'a Map<String, Value>,
    dropped: Vec<&'static str>,
    required: Option<Value>,
}

impl View<'_> {
    fn get(&self, k: &str) -> Option<&Value> {
        if self.dropped.contains(&k) {
            return None;
        }
        if let (Some(r), "required") = (&self.required, k) {
            return Some(r);
        }
        self.m.get(k)
    }
    fn is_true(&self, k: &str) -> bool {
        self.get(k).and_then(Value::as_bool) == Some(true)
    }
}

/// A reference to a meta type with a description: `allOf` in v3, a plain `$ref` in v2.
fn meta_ref(kind: &str, description: &str, v2: bool) -> Value {
    if v2 {
        json!({"description": description, "$ref": format!("#/definitions/{META}{kind}")})
    } else {
        json!({"description": description, "allOf": [reference(&format!("{META}{kind}"))]})
    }
}

/// A CRD schema node as upstream publishes it in v3: structural fields only, kube-openapi key
/// order, sorted properties, `Unfold`ed int-or-string and, for embedded resources, the
/// `apiVersion` / `kind` / `metadata` properties (`addEmbeddedProperties`). `nested` marks
/// value validations inside `allOf`/`anyOf`/`oneOf`/`not`, which get no unfolding or
/// embedding.
fn structural(
    v: &Value,
    nested: bool,
    v2: bool,
    depth: usize,
    budget: &mut usize,
    t: &Texts,
) -> Option<Value> {
    *budget = budget.checked_sub(1)?;
    if depth > MAX_SCHEMA_DEPTH {
        return None;
    }
    let Value::Object(m) = v else {
        return Some(v.clone());
    };
    let m = if v2 {
        to_v2(m)
    } else {
        View {
            m,
            dropped: Vec::new(),
            required: None,
        }
    };
    let sub = |x: &Value, nested: bool, budget: &mut usize| {
        structural(x, nested, v2, depth + 1, budget, t)
    };
    let mut fields: Map<String, Value> = Map::new();
    for key in SCHEMA_KEY_ORDER {
        let Some(x) = m.get(key) else { continue };
        if x.is_null() {
            continue;
        }
        let x = match *key {
            "properties" => {
                let mut props: Vec<(&String, &Value)> = x
                    .as_object()
                    .map(|p| p.iter().collect())
                    .unwrap_or_default();
                props.sort_by(|a, b| a.0.cmp(b.0));
                let mut pm = Map::new();
                for (k, s) in props {
                    pm.insert(k.clone(), sub(s, nested, budget)?);
                }
                Value::Object(pm)
            }
            "items" | "additionalProperties" if x.is_object() => sub(x, nested, budget)?,
            "not" => sub(x, true, budget)?,
            "allOf" | "oneOf" | "anyOf" => Value::Array(
                x.as_array()
                    .map(|a| {
                        a.iter()
                            .map(|s| sub(s, true, budget))
                            .collect::<Option<Vec<_>>>()
                    })
                    .unwrap_or(Some(Vec::new()))?,
            ),
            "nullable" | "uniqueItems" | "exclusiveMaximum" | "exclusiveMinimum"
                if x.as_bool() != Some(true) =>
            {
                continue;
            }
            "required" | "enum" if x.as_array().is_some_and(Vec::is_empty) => continue,
            "description" | "format" | "title" | "pattern" if x.as_str() == Some("") => continue,
            _ => x.clone(),
        };
        fields.insert((*key).to_string(), x);
    }
    let mut ext = Map::new();
    for key in EXTENSIONS {
        let Some(x) = m.get(key) else { continue };
        let keep = match x {
            Value::Bool(b) => *b,
            Value::Array(a) => !a.is_empty(),
            Value::Null => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        let x = if *key == "x-kubernetes-validations" {
            Value::Array(
                x.as_array()
                    .map(|rules| rules.iter().map(|r| order_rule(r, v2)).collect())
                    .unwrap_or_default(),
            )
        } else {
            x.clone()
        };
        ext.insert((*key).to_string(), x);
    }
    if !nested && !v2 && m.is_true("x-kubernetes-int-or-string") {
        let any_of = fields.get("anyOf");
        let first_all_of_any_of = fields
            .get("allOf")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|f| f.get("anyOf"));
        if !is_int_or_string_any_of(any_of) && !is_int_or_string_any_of(first_all_of_any_of) {
            if any_of.is_none() {
                fields.insert("anyOf".into(), int_or_string_any_of());
            } else {
                let mut all = vec![json!({"anyOf": int_or_string_any_of()})];
                if let Some(Value::Array(rest)) = fields.get("allOf") {
                    all.extend(rest.iter().cloned());
                }
                fields.insert("allOf".into(), Value::Array(all));
            }
        }
    }
    // v2 adds no embedded properties where unknown fields are kept (kubectl would reject them).
    let v2_skip = v2 && m.is_true("x-kubernetes-preserve-unknown-fields");
    if !nested && !v2_skip && m.is_true("x-kubernetes-embedded-resource") {
        let mut props = match fields.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        props.insert(
            "apiVersion".into(),
            json!({"description": t.doc("embeddedApiVersion"), "type": "string"}),
        );
        props.insert(
            "kind".into(),
            json!({"description": t.doc("embeddedKind"), "type": "string"}),
        );
        props.insert(
            "metadata".into(),
            meta_ref("ObjectMeta", t.doc("objectMetadata"), v2),
        );
        let mut sorted: Vec<(String, Value)> = props.into_iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        fields.insert(
            "properties".into(),
            Value::Object(sorted.into_iter().collect()),
        );
        let mut req = match fields.remove("required") {
            Some(Value::Array(r)) => r,
            _ => Vec::new(),
        };
        for k in ["kind", "apiVersion"] {
            if !req.iter().any(|r| r.as_str() == Some(k)) {
                req.push(json!(k));
            }
        }
        fields.insert("required".into(), Value::Array(req));
    }
    // Emit in kube-openapi order (unfolding / embedding may have appended keys).
    let mut out = Map::new();
    for key in SCHEMA_KEY_ORDER {
        if let Some(x) = fields.remove(*key) {
            out.insert((*key).to_string(), x);
        }
    }
    out.extend(ext);
    Some(Value::Object(out))
}

/// A validation rule in `ValidationRule` field order (v3), or sorted keys (v2, whose
/// extension values are generic maps).
fn order_rule(rule: &Value, v2: bool) -> Value {
    let Value::Object(m) = rule else {
        return rule.clone();
    };
    let mut out = Map::new();
    let mut order: Vec<&str> = RULE_KEY_ORDER.to_vec();
    if v2 {
        order.sort_unstable();
    }
    for key in order {
        if let Some(x) = m.get(key) {
            let empty = x.is_null() || x.as_str() == Some("");
            if !empty {
                out.insert(key.to_string(), x.clone());
            }
        }
    }
    Value::Object(out)
}

/// `buildKubeNative`: the CR schema with TypeMeta and ObjectMeta, plus its GVK.
fn kind_schema(crd: &Value, entry: &Value, n: &Names<'_>, t: &Texts, v2: bool) -> Value {
    let raw = entry
        .get("schema")
        .and_then(|s| s.get("openAPIV3Schema"))
        .or_else(|| crd.get("spec")?.get("validation")?.get("openAPIV3Schema"));
    let mut budget = MAX_SCHEMA_NODES;
    // v2: a root that keeps unknown fields publishes as a bare object (kubectl would
    // otherwise reject unknown fields).
    let raw = raw.filter(|s| {
        !(v2 && s
            .get("x-kubernetes-preserve-unknown-fields")
            .and_then(Value::as_bool)
            == Some(true))
    });
    let schema = raw.and_then(|s| structural(s, false, v2, 0, &mut budget, t));
    let gvk = json!([{"group": n.group, "kind": n.kind, "version": n.version}]);
    let Some(Value::Object(mut m)) = schema else {
        return json!({"type": "object", "x-kubernetes-group-version-kind": gvk});
    };
    let mut props = match m.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    props.insert(
        "apiVersion".into(),
        json!({"description": t.doc("apiVersion"), "type": "string"}),
    );
    props.insert(
        "kind".into(),
        json!({"description": t.doc("kind"), "type": "string"}),
    );
    props.insert(
        "metadata".into(),
        meta_ref("ObjectMeta", t.doc("objectMetadata"), v2),
    );
    let mut sorted: Vec<(String, Value)> = props.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let props: Map<String, Value> = sorted.into_iter().collect();
    // Rebuild in key order with properties in place and the GVK extension.
    let mut out = Map::new();
    let mut placed = false;
    for key in SCHEMA_KEY_ORDER {
        if *key == "properties" {
            out.insert("properties".into(), Value::Object(props.clone()));
            placed = true;
        } else if let Some(v) = m.remove(*key) {
            out.insert((*key).to_string(), v);
        }
    }
    if !placed {
        out.insert("properties".into(), Value::Object(props));
    }
    if !out.contains_key("type") {
        // Structural schemas always have type object at the root.
        out.insert("type".into(), json!("object"));
    }
    let mut rest: Vec<(String, Value)> = m.into_iter().collect();
    rest.push(("x-kubernetes-group-version-kind".into(), gvk));
    rest.sort_by(|a, b| a.0.cmp(&b.0));
    out.extend(rest);
    Value::Object(out)
}

fn list_schema(n: &Names<'_>, t: &Texts, v2: bool) -> Value {
    let item = schema_name(n.group, n.version, n.kind);
    let item_ref = if v2 {
        json!({"$ref": format!("#/definitions/{item}")})
    } else {
        reference(&item)
    };
    json!({
        "description": format!("{} is a list of {}", n.list_kind, n.kind),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": t.doc("apiVersion"), "type": "string"},
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", n.plural),
                "type": "array",
                "items": item_ref,
            },
            "kind": {"description": t.doc("kind"), "type": "string"},
            "metadata": meta_ref("ListMeta", t.doc("listMetadata"), v2),
        },
        "x-kubernetes-group-version-kind": [{"group": n.group, "kind": n.list_kind, "version": n.version}],
    })
}

/// The Swagger 2.0 definitions upstream adds to `/openapi/v2` for one CRD version: the kind
/// and its list, keyed by name (`com.example.stable.v1.CronTab`, `...CronTabList`), referring
/// to the built-in `#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.*` types. Empty when
/// the version is not in the CRD.
pub fn v2_definitions(crd: &Value, version: &str) -> Map<String, Value> {
    let t = texts();
    let mut out = Map::new();
    let (Some(n), Some(entry)) = (names(crd, version), version_entry(crd, version)) else {
        return out;
    };
    out.insert(
        schema_name(n.group, n.version, n.kind),
        kind_schema(crd, entry, &n, t, true),
    );
    out.insert(
        schema_name(n.group, n.version, &n.list_kind),
        list_schema(&n, t, true),
    );
    out
}

/// The Swagger 2.0 definitions of a custom group-version for `/openapi/v2`
/// (every pair's [`v2_definitions`]), kept as text with its v3 document;
/// the paths are converted from that document when `/openapi/v2` is asked
/// for ([`v2_paths`]), so that they are not held twice.
pub fn v2_definitions_of(crds: &[(&Value, &str)]) -> Map<String, Value> {
    let mut definitions = Map::new();
    for (crd, version) in crds {
        definitions.extend(v2_definitions(crd, version));
    }
    definitions
}

/// The paths of a custom group-version's v3 document ([`v3_document`]) in
/// Swagger 2.0 form, as upstream's `/openapi/v2` lists them: a `body`
/// parameter for the request body, a `schema` per response, inline
/// parameter types, `consumes`/`produces`/`schemes`, and
/// `#/definitions/` references.
pub fn v2_paths(v3: &Value) -> Map<String, Value> {
    let mut paths = Map::new();
    if let Some(Value::Object(v3_paths)) = v3.get("paths") {
        for (path, item) in v3_paths {
            let Value::Object(item) = item else { continue };
            let mut out = Map::new();
            for (k, v) in item {
                match (k.as_str(), v) {
                    ("parameters", Value::Array(ps)) => {
                        out.insert(k.clone(), Value::Array(ps.iter().map(v2_param).collect()));
                    }
                    (_, Value::Object(op)) => {
                        out.insert(k.clone(), v2_operation(op));
                    }
                    _ => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            paths.insert(path.clone(), Value::Object(out));
        }
    }
    let mut wrapped = Value::Object(paths);
    v2_refs(&mut wrapped);
    match wrapped {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Moves every query or path parameter that more than one operation of
/// `paths` declares identically into a shared section, each operation then
/// referring to it (`{"$ref": "#/parameters/<name>-<hash>"}`), as upstream's
/// `/openapi/v2` does; returns the section. Upstream names them by a hash of
/// the parameter too (the hashes differ). Body parameters stay inline.
pub fn v2_share_parameters(paths: &mut Map<String, Value>) -> Map<String, Value> {
    use std::collections::HashMap;
    fn lists(paths: &mut Map<String, Value>) -> Vec<&mut Vec<Value>> {
        let mut out = Vec::new();
        for item in paths.values_mut() {
            let Value::Object(item) = item else { continue };
            for (k, v) in item.iter_mut() {
                let list = if k == "parameters" {
                    v
                } else {
                    match v.get_mut("parameters") {
                        Some(l) => l,
                        None => continue,
                    }
                };
                if let Value::Array(a) = list {
                    out.push(a);
                }
            }
        }
        out
    }
    let key = |p: &Value| p.to_string();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for list in lists(paths) {
        for p in list.iter() {
            if p.get("in").and_then(Value::as_str) != Some("body") {
                *counts.entry(key(p)).or_default() += 1;
            }
        }
    }
    let mut shared = Map::new();
    let mut names: HashMap<String, String> = HashMap::new();
    for list in lists(paths) {
        for p in list.iter_mut() {
            let k = key(p);
            if counts.get(&k).is_none_or(|&n| n < 2) {
                continue;
            }
            let name = names
                .entry(k.clone())
                .or_insert_with(|| {
                    let hash = crate::openapi::sha512_hex_upper(k.as_bytes());
                    format!(
                        "{}-{}",
                        p.get("name").and_then(Value::as_str).unwrap_or("param"),
                        hash.get(..8).unwrap_or(&hash)
                    )
                })
                .clone();
            let param = std::mem::replace(p, json!({"$ref": format!("#/parameters/{name}")}));
            shared.entry(name).or_insert(param);
        }
    }
    shared
}

/// An inline v3 parameter in Swagger 2.0 form (its `schema` flattened).
fn v2_param(p: &Value) -> Value {
    let Value::Object(m) = p else {
        return p.clone();
    };
    let mut out = Map::new();
    if let Some(Value::Object(schema)) = m.get("schema") {
        for (k, v) in schema {
            out.insert(k.clone(), v.clone());
        }
    }
    for key in ["description", "name", "in", "required"] {
        if let Some(v) = m.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

/// The schema of the first media type of a v3 `content`.
fn first_schema(content: Option<&Value>) -> Option<Value> {
    content?
        .as_object()?
        .values()
        .next()?
        .get("schema")
        .cloned()
}

fn v2_operation(op: &Map<String, Value>) -> Value {
    let json_yaml = json!(["application/json", "application/yaml"]);
    let consumes = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .filter(|c| c.contains_key("application/apply-patch+yaml"))
        .map(|c| Value::Array(c.keys().map(|k| json!(k)).collect()))
        .unwrap_or_else(|| json_yaml.clone());
    let mut out = Map::new();
    if let Some(d) = op.get("description") {
        out.insert("description".into(), d.clone());
    }
    out.insert("consumes".into(), consumes);
    out.insert("produces".into(), json_yaml);
    out.insert("schemes".into(), json!(["https"]));
    for key in ["tags", "operationId"] {
        if let Some(v) = op.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let mut params = Vec::new();
    if let Some(body) = op.get("requestBody") {
        let mut p = Map::new();
        p.insert("name".into(), json!("body"));
        p.insert("in".into(), json!("body"));
        if body.get("required") == Some(&Value::Bool(true)) {
            p.insert("required".into(), json!(true));
        }
        if let Some(schema) = first_schema(body.get("content")) {
            p.insert("schema".into(), schema);
        }
        params.push(Value::Object(p));
    }
    if let Some(Value::Array(ps)) = op.get("parameters") {
        params.extend(ps.iter().map(v2_param));
    }
    if !params.is_empty() {
        out.insert("parameters".into(), Value::Array(params));
    }
    if let Some(Value::Object(responses)) = op.get("responses") {
        let mut rs = Map::new();
        for (code, r) in responses {
            let mut o = Map::new();
            if let Some(d) = r.get("description") {
                o.insert("description".into(), d.clone());
            }
            if let Some(schema) = first_schema(r.get("content")) {
                o.insert("schema".into(), schema);
            }
            rs.insert(code.clone(), Value::Object(o));
        }
        out.insert("responses".into(), Value::Object(rs));
    }
    for (k, v) in op {
        if k.starts_with("x-") {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// `#/components/schemas/` references as Swagger 2.0's `#/definitions/`.
fn v2_refs(v: &mut Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get_mut("$ref")
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                {
                    *r = format!("#/definitions/{name}");
                }
                stack.extend(m.values_mut());
            }
            Value::Array(a) => stack.extend(a.iter_mut()),
            _ => {}
        }
    }
}

/// Every `#/components/schemas/<name>` reference inside `v`.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(name) = m
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.push(name.to_string());
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
}

/// The v3 document for one group-version, merging every `(crd, version)` pair given (all of
/// the same group and version; pairs whose version is not in the CRD are skipped).
/// `meta_components` are the `components.schemas` of built-in documents (they must contain
/// the apimachinery meta types, and `io.k8s.api.autoscaling.v1.Scale*` for scale).
pub fn v3_document(crds: &[(&Value, &str)], meta_components: &Map<String, Value>) -> Value {
    let t = texts();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut path_params: BTreeMap<String, Vec<Vec<Value>>> = BTreeMap::new();
    let mut schemas: BTreeMap<String, Value> = BTreeMap::new();
    for (crd, version) in crds {
        let Some(n) = names(crd, version) else {
            continue;
        };
        let Some(entry) = version_entry(crd, version) else {
            continue;
        };
        let subs = entry
            .get("subresources")
            .or_else(|| crd.get("spec").and_then(|s| s.get("subresources")));
        let status = subs
            .and_then(|s| s.get("status"))
            .is_some_and(|v| !v.is_null());
        let scale = subs
            .and_then(|s| s.get("scale"))
            .is_some_and(|v| !v.is_null());
        add_paths(&n, status, scale, t, &mut paths, &mut path_params);
        schemas.insert(
            schema_name(n.group, n.version, n.kind),
            kind_schema(crd, entry, &n, t, false),
        );
        schemas.insert(
            schema_name(n.group, n.version, &n.list_kind),
            list_schema(&n, t, false),
        );
    }
    // Meta types reachable from paths and CR schemas.
    let mut pending = Vec::new();
    for ops in paths.values() {
        for op in ops.values() {
            collect_refs(op, &mut pending);
        }
    }
    for s in schemas.values() {
        collect_refs(s, &mut pending);
    }
    while let Some(name) = pending.pop() {
        if schemas.contains_key(&name) {
            continue;
        }
        if let Some(s) = meta_components.get(&name) {
            collect_refs(s, &mut pending);
            schemas.insert(name, s.clone());
        }
    }
    let mut out_paths = Map::new();
    for (path, ops) in paths {
        let all = path_params.remove(&path).unwrap_or_default();
        out_paths.insert(path, finish_path(ops, &all));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes CRD Swagger", "version": "v0.1.0"},
        "paths": Value::Object(out_paths),
        "components": {"schemas": Value::Object(schemas.into_iter().collect())},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Fixtures from upstream kube-apiserver v1.36 (`kubectl get crd -o json`, trimmed to
    // `spec`, and `GET /openapi/v3/apis/crview3.example.com/v1alpha1`).
    const WIDGETS_CRD: &str = r##"{"spec":{"group":"crview3.example.com","names":{"kind":"Widget","listKind":"WidgetList","plural":"widgets","singular":"widget"},"scope":"Namespaced","versions":[{"name":"v1alpha1","schema":{"openAPIV3Schema":{"properties":{"spec":{"properties":{"any":{"x-kubernetes-preserve-unknown-fields":true},"emb":{"properties":{"a":{"type":"string"},"spec":{"type":"object","x-kubernetes-validations":[{"messageExpression":"'x'","reason":"FieldValueInvalid","rule":"true"}]}},"required":["apiVersion"],"type":"object","x-kubernetes-embedded-resource":true},"labels":{"additionalProperties":{"type":"string"},"maxProperties":3,"type":"object","x-kubernetes-map-type":"granular"},"name":{"enum":["abc","def"],"maxLength":10,"minLength":1,"nullable":true,"pattern":"^[a-z]+$","type":"string"},"oneof":{"not":{"required":["x"]},"oneOf":[{"required":["a"]},{"required":["b"]}],"properties":{"a":{"type":"string"},"b":{"type":"string"}},"type":"object"},"pf":{"title":"Tt","type":"string"},"port":{"anyOf":[{"type":"integer"},{"type":"string"}],"x-kubernetes-int-or-string":true},"port2":{"example":5,"x-kubernetes-int-or-string":true},"port3":{"anyOf":[{"maximum":5},{"maxLength":2}],"x-kubernetes-int-or-string":true},"port4":{"allOf":[{"maxLength":3}],"anyOf":[{"type":"integer"},{"type":"string"}],"x-kubernetes-int-or-string":true},"ports":{"items":{"properties":{"false":{"exclusiveMinimum":true,"minimum":0,"multipleOf":0.5,"type":"number"},"name":{"type":"string"}},"required":["name"],"type":"object"},"type":"array","x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map"},"raw":{"type":"object","x-kubernetes-preserve-unknown-fields":true},"size":{"default":3,"description":"the size","format":"int64","maximum":100,"minimum":1,"type":"integer"},"tags":{"items":{"type":"string"},"maxItems":5,"type":"array","x-kubernetes-list-type":"set"},"tpl":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}},"required":["size"],"type":"object","x-kubernetes-validations":[{"message":"too big","rule":"self.size <= 10"}]},"status":{"properties":{"ok":{"type":"boolean"}},"type":"object"}},"required":["spec"],"type":"object"}},"served":true,"storage":true,"subresources":{"status":{}}}]}}"##;
    const GADGETS_CRD: &str = r##"{"spec":{"group":"crview3.example.com","names":{"kind":"Gadget","listKind":"GadgetList","plural":"gadgets","shortNames":["gg"],"singular":"gadget"},"scope":"Cluster","versions":[{"name":"v1alpha1","schema":{"openAPIV3Schema":{"description":"A gadget","properties":{"spec":{"properties":{"replicas":{"type":"integer"}},"type":"object"},"status":{"properties":{"replicas":{"type":"integer"}},"type":"object"}},"type":"object"}},"served":true,"storage":true,"subresources":{"scale":{"specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas"}}}]}}"##;
    /// Upstream's Widget schema, exactly.
    const WIDGET_SCHEMA: &str = r##"{"type":"object","required":["spec"],"properties":{"apiVersion":{"description":"APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"kind":{"description":"Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},"spec":{"type":"object","required":["size"],"properties":{"any":{"x-kubernetes-preserve-unknown-fields":true},"emb":{"type":"object","required":["apiVersion","kind"],"properties":{"a":{"type":"string"},"apiVersion":{"description":"apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"kind":{"description":"kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]},"spec":{"type":"object","x-kubernetes-validations":[{"rule":"true","messageExpression":"'x'","reason":"FieldValueInvalid"}]}},"x-kubernetes-embedded-resource":true},"labels":{"type":"object","maxProperties":3,"additionalProperties":{"type":"string"},"x-kubernetes-map-type":"granular"},"name":{"type":"string","nullable":true,"maxLength":10,"minLength":1,"pattern":"^[a-z]+$","enum":["abc","def"]},"oneof":{"type":"object","oneOf":[{"required":["a"]},{"required":["b"]}],"not":{"required":["x"]},"properties":{"a":{"type":"string"},"b":{"type":"string"}}},"pf":{"type":"string","title":"Tt"},"port":{"anyOf":[{"type":"integer"},{"type":"string"}],"x-kubernetes-int-or-string":true},"port2":{"anyOf":[{"type":"integer"},{"type":"string"}],"example":5,"x-kubernetes-int-or-string":true},"port3":{"allOf":[{"anyOf":[{"type":"integer"},{"type":"string"}]}],"anyOf":[{"maximum":5},{"maxLength":2}],"x-kubernetes-int-or-string":true},"port4":{"allOf":[{"maxLength":3}],"anyOf":[{"type":"integer"},{"type":"string"}],"x-kubernetes-int-or-string":true},"ports":{"type":"array","items":{"type":"object","required":["name"],"properties":{"false":{"type":"number","minimum":0,"exclusiveMinimum":true,"multipleOf":0.5},"name":{"type":"string"}}},"x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map"},"raw":{"type":"object","x-kubernetes-preserve-unknown-fields":true},"size":{"description":"the size","type":"integer","format":"int64","default":3,"maximum":100,"minimum":1},"tags":{"type":"array","maxItems":5,"items":{"type":"string"},"x-kubernetes-list-type":"set"},"tpl":{"type":"object","required":["kind","apiVersion"],"properties":{"apiVersion":{"description":"apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"kind":{"description":"kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}]}},"x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}},"x-kubernetes-validations":[{"rule":"self.size <= 10","message":"too big"}]},"status":{"type":"object","properties":{"ok":{"type":"boolean"}}}},"x-kubernetes-group-version-kind":[{"group":"crview3.example.com","kind":"Widget","version":"v1alpha1"}]}"##;
    /// Upstream's GadgetList schema, exactly.
    const GADGET_LIST_SCHEMA: &str = r##"{"description":"GadgetList is a list of Gadget","type":"object","required":["items"],"properties":{"apiVersion":{"description":"APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"items":{"description":"List of gadgets. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md","type":"array","items":{"$ref":"#/components/schemas/com.example.crview3.v1alpha1.Gadget"}},"kind":{"description":"Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","allOf":[{"$ref":"#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}]}},"x-kubernetes-group-version-kind":[{"group":"crview3.example.com","kind":"GadgetList","version":"v1alpha1"}]}"##;
    /// Upstream's paths reduced to [path, [[method, operationId, description, action,
    /// op params, request content types, responses], ["params", path params...]]].
    const PATHS_SHAPE: &str = r##"[["/apis/crview3.example.com/v1alpha1/gadgets",[["get","listCrview3ExampleComV1alpha1Gadget","list objects of kind Gadget","list","allowWatchBookmarks,continue,fieldSelector,labelSelector,limit,resourceVersion,resourceVersionMatch,sendInitialEvents,shardSelector,timeoutSeconds,watch","","200=com.example.crview3.v1alpha1.GadgetList,401="],["post","createCrview3ExampleComV1alpha1Gadget","create a Gadget","post","dryRun,fieldManager,fieldValidation","application/json,application/yaml","200=com.example.crview3.v1alpha1.Gadget,201=com.example.crview3.v1alpha1.Gadget,202=com.example.crview3.v1alpha1.Gadget,401="],["delete","deleteCrview3ExampleComV1alpha1CollectionGadget","delete collection of Gadget","deletecollection","allowWatchBookmarks,continue,fieldSelector,labelSelector,limit,resourceVersion,resourceVersionMatch,sendInitialEvents,shardSelector,timeoutSeconds,watch","","200=io.k8s.apimachinery.pkg.apis.meta.v1.Status,401="],["params","pretty"]]],["/apis/crview3.example.com/v1alpha1/gadgets/{name}",[["get","readCrview3ExampleComV1alpha1Gadget","read the specified Gadget","get","resourceVersion","","200=com.example.crview3.v1alpha1.Gadget,401="],["put","replaceCrview3ExampleComV1alpha1Gadget","replace the specified Gadget","put","dryRun,fieldManager,fieldValidation","application/json,application/yaml","200=com.example.crview3.v1alpha1.Gadget,201=com.example.crview3.v1alpha1.Gadget,401="],["delete","deleteCrview3ExampleComV1alpha1Gadget","delete a Gadget","delete","dryRun,gracePeriodSeconds,ignoreStoreReadErrorWithClusterBreakingPotential,orphanDependents,propagationPolicy","application/json,application/yaml","200=io.k8s.apimachinery.pkg.apis.meta.v1.Status,202=io.k8s.apimachinery.pkg.apis.meta.v1.Status,401="],["patch","patchCrview3ExampleComV1alpha1Gadget","partially update the specified Gadget","patch","dryRun,fieldManager,fieldValidation,force","application/apply-patch+yaml,application/json-patch+json,application/merge-patch+json","200=com.example.crview3.v1alpha1.Gadget,401="],["params","name","pretty"]]],["/apis/crview3.example.com/v1alpha1/gadgets/{name}/scale",[["get","readCrview3ExampleComV1alpha1GadgetScale","read scale of the specified Gadget","get","resourceVersion","","200=io.k8s.api.autoscaling.v1.Scale,401="],["put","replaceCrview3ExampleComV1alpha1GadgetScale","replace scale of the specified Gadget","put","dryRun,fieldManager,fieldValidation","application/json,application/yaml","200=io.k8s.api.autoscaling.v1.Scale,201=io.k8s.api.autoscaling.v1.Scale,401="],["patch","patchCrview3ExampleComV1alpha1GadgetScale","partially update scale of the specified Gadget","patch","dryRun,fieldManager,fieldValidation,force","application/apply-patch+yaml,application/json-patch+json,application/merge-patch+json","200=io.k8s.api.autoscaling.v1.Scale,401="],["params","name","pretty"]]],["/apis/crview3.example.com/v1alpha1/namespaces/{namespace}/widgets",[["get","listCrview3ExampleComV1alpha1NamespacedWidget","list objects of kind Widget","list","allowWatchBookmarks,continue,fieldSelector,labelSelector,limit,resourceVersion,resourceVersionMatch,sendInitialEvents,shardSelector,timeoutSeconds,watch","","200=com.example.crview3.v1alpha1.WidgetList,401="],["post","createCrview3ExampleComV1alpha1NamespacedWidget","create a Widget","post","dryRun,fieldManager,fieldValidation","application/json,application/yaml","200=com.example.crview3.v1alpha1.Widget,201=com.example.crview3.v1alpha1.Widget,202=com.example.crview3.v1alpha1.Widget,401="],["delete","deleteCrview3ExampleComV1alpha1CollectionNamespacedWidget","delete collection of Widget","deletecollection","allowWatchBookmarks,continue,fieldSelector,labelSelector,limit,resourceVersion,resourceVersionMatch,sendInitialEvents,shardSelector,timeoutSeconds,watch","","200=io.k8s.apimachinery.pkg.apis.meta.v1.Status,401="],["params","namespace","pretty"]]],["/apis/crview3.example.com/v1alpha1/namespaces/{namespace}/widgets/{name}",[["get","readCrview3ExampleComV1alpha1NamespacedWidget","read the specified Widget","get","resourceVersion","","200=com.example.crview3.v1alpha1.Widget,401="],["put","replaceCrview3ExampleComV1alpha1NamespacedWidget","replace the specified Widget","put","dryRun,fieldManager,fieldValidation","application/json,application/yaml","200=com.example.crview3.v1alpha1.Widget,201=com.example.crview3.v1alpha1.Widget,401="],["delete","deleteCrview3ExampleComV1alpha1NamespacedWidget","delete a Widget","delete","dryRun,gracePeriodSeconds,ignoreStoreReadErrorWithClusterBreakingPotential,orphanDependents,propagationPolicy","application/json,application/yaml","200=io.k8s.apimachinery.pkg.apis.meta.v1.Status,202=io.k8s.apimachinery.pkg.apis.meta.v1.Status,401="],["patch","patchCrview3ExampleComV1alpha1NamespacedWidget","partially update the specified Widget","patch","dryRun,fieldManager,fieldValidation,force","application/apply-patch+yaml,application/json-patch+json,application/merge-patch+json","200=com.example.crview3.v1alpha1.Widget,401="],["params","name","namespace","pretty"]]],["/apis/crview3.example.com/v1alpha1/namespaces/{namespace}/widgets/{name}/status",[["get","readCrview3ExampleComV1alpha1NamespacedWidgetStatus","read status of the specified Widget","get","resourceVersion","","200=com.example.crview3.v1alpha1.Widget,401="],["put","replaceCrview3ExampleComV1alpha1NamespacedWidgetStatus","replace status of the specified Widget","put","dryRun,fieldManager,fieldValidation","application/json,application/yaml","200=com.example.crview3.v1alpha1.Widget,201=com.example.crview3.v1alpha1.Widget,401="],["patch","patchCrview3ExampleComV1alpha1NamespacedWidgetStatus","partially update status of the specified Widget","patch","dryRun,fieldManager,fieldValidation,force","application/apply-patch+yaml,application/json-patch+json,application/merge-patch+json","200=com.example.crview3.v1alpha1.Widget,401="],["params","name","namespace","pretty"]]],["/apis/crview3.example.com/v1alpha1/widgets",[["get","listCrview3ExampleComV1alpha1WidgetForAllNamespaces","list objects of kind Widget","list","","","200=com.example.crview3.v1alpha1.WidgetList,401="],["params","allowWatchBookmarks","continue","fieldSelector","labelSelector","limit","pretty","resourceVersion","resourceVersionMatch","sendInitialEvents","shardSelector","timeoutSeconds","watch"]]]]"##;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap_or(Value::Null)
    }

    /// The embedded built-in documents' components, as the lead passes them.
    fn builtin_components() -> Map<String, Value> {
        let mut m = Map::new();
        for doc in [
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/openapi/v3/api__v1.json"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/openapi/v3/apis__apps__v1.json"
            )),
        ] {
            if let Some(s) = parse(doc)["components"]["schemas"].as_object() {
                m.extend(s.clone());
            }
        }
        m
    }

    #[test]
    fn v2_fragment_is_swagger_2_with_definitions_refs() {
        let (w, g) = (parse(WIDGETS_CRD), parse(GADGETS_CRD));
        let pairs = [(&w, "v1alpha1"), (&g, "v1alpha1")];
        let frag = json!({"definitions": v2_definitions_of(&pairs),
            "paths": v2_paths(&v3_document(&pairs, &Map::new()))});
        let defs: Vec<&String> = frag["definitions"].as_object().unwrap().keys().collect();
        assert_eq!(
            defs,
            [
                "com.example.crview3.v1alpha1.Widget",
                "com.example.crview3.v1alpha1.WidgetList",
                "com.example.crview3.v1alpha1.Gadget",
                "com.example.crview3.v1alpha1.GadgetList"
            ]
        );
        let text = frag.to_string();
        assert!(!text.contains("#/components/schemas/"), "{text}");
        assert!(!text.contains("requestBody"));
        // As upstream's /openapi/v2 has it (v1.36, a namespaced CronTab).
        let post = &frag["paths"]["/apis/crview3.example.com/v1alpha1/namespaces/{namespace}/widgets"]
            ["post"];
        assert_eq!(
            post["consumes"],
            json!(["application/json", "application/yaml"])
        );
        assert_eq!(
            post["produces"],
            json!(["application/json", "application/yaml"])
        );
        assert_eq!(post["schemes"], json!(["https"]));
        assert_eq!(
            post["operationId"],
            "createCrview3ExampleComV1alpha1NamespacedWidget"
        );
        assert_eq!(
            post["parameters"][0],
            json!({"name": "body", "in": "body", "required": true,
                "schema": {"$ref": "#/definitions/com.example.crview3.v1alpha1.Widget"}})
        );
        assert_eq!(
            post["responses"]["201"],
            json!({"description": "Created",
                "schema": {"$ref": "#/definitions/com.example.crview3.v1alpha1.Widget"}})
        );
        assert_eq!(
            post["responses"]["401"],
            json!({"description": "Unauthorized"})
        );
        assert_eq!(post["x-kubernetes-action"], "post");
        let name = &frag["paths"]["/apis/crview3.example.com/v1alpha1/gadgets/{name}"];
        assert_eq!(
            name["parameters"][0],
            json!({"type": "string", "uniqueItems": true, "description": "name of the Gadget",
                "name": "name", "in": "path", "required": true})
        );
        assert_eq!(
            name["patch"]["consumes"],
            json!([
                "application/apply-patch+yaml",
                "application/json-patch+json",
                "application/merge-patch+json"
            ])
        );
    }

    #[test]
    fn v2_parameters_shared_by_operations_are_written_once() {
        let (w, g) = (parse(WIDGETS_CRD), parse(GADGETS_CRD));
        let pairs = [(&w, "v1alpha1"), (&g, "v1alpha1")];
        let mut paths = v2_paths(&v3_document(&pairs, &Map::new()));
        let inline = Value::Object(paths.clone()).to_string().len();
        let shared = v2_share_parameters(&mut paths);
        let text = Value::Object(paths.clone()).to_string();
        assert!(text.len() * 2 < inline, "{} of {inline}", text.len());
        // `pretty` is on every path; each reference resolves; bodies stay inline.
        let pretty: Vec<&String> = shared.keys().filter(|k| k.starts_with("pretty-")).collect();
        assert_eq!(pretty.len(), 1);
        assert_eq!(shared[pretty[0].as_str()]["in"], "query");
        let post = &paths["/apis/crview3.example.com/v1alpha1/gadgets"]["post"]["parameters"];
        assert_eq!(post[0]["in"], "body");
        for r in text.split("\"#/parameters/").skip(1) {
            let name = r.split('"').next().unwrap_or("");
            assert!(shared.contains_key(name), "{name}");
        }
    }

    fn document() -> Value {
        let (w, g) = (parse(WIDGETS_CRD), parse(GADGETS_CRD));
        v3_document(&[(&w, "v1alpha1"), (&g, "v1alpha1")], &builtin_components())
    }

    fn names_of(v: &Value) -> Vec<Value> {
        v.as_array()
            .map(|a| a.iter().map(|p| p["name"].clone()).collect())
            .unwrap_or_default()
    }

    fn shape(doc: &Value) -> Value {
        let mut out = Vec::new();
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            let mut list = Vec::new();
            for (method, op) in ops.as_object().into_iter().flatten() {
                if method == "parameters" {
                    let mut row = vec![json!("params")];
                    row.extend(names_of(op));
                    list.push(Value::Array(row));
                    continue;
                }
                let join = |v: Vec<String>| v.join(",");
                let params = names_of(&op["parameters"])
                    .iter()
                    .filter_map(|n| n.as_str().map(String::from))
                    .collect();
                let body = op["requestBody"]["content"]
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                let responses = op["responses"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(code, r)| {
                                let r = r["content"]["application/json"]["schema"]["$ref"]
                                    .as_str()
                                    .unwrap_or("");
                                format!("{code}={}", r.rsplit('/').next().unwrap_or(""))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                list.push(json!([
                    method,
                    op["operationId"],
                    op["description"],
                    op["x-kubernetes-action"],
                    join(params),
                    join(body),
                    join(responses)
                ]));
            }
            out.push(json!([path, list]));
        }
        Value::Array(out)
    }

    #[test]
    fn paths_match_upstream() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.0.0");
        assert_eq!(
            doc["info"],
            json!({"title": "Kubernetes CRD Swagger", "version": "v0.1.0"})
        );
        let got = shape(&doc);
        let want = parse(PATHS_SHAPE);
        // Same paths in the same order, then each operation.
        assert_eq!(
            serde_json::to_string(&got).unwrap_or_default(),
            serde_json::to_string(&want).unwrap_or_default()
        );
        // Operation fields in upstream's order.
        let op = &doc["paths"]["/apis/crview3.example.com/v1alpha1/namespaces/{namespace}/widgets/{name}"]
            ["patch"];
        let keys: Vec<&String> = op
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "tags",
                "description",
                "operationId",
                "parameters",
                "requestBody",
                "responses",
                "x-kubernetes-action",
                "x-kubernetes-group-version-kind"
            ]
        );
        assert_eq!(op["tags"], json!(["crview3ExampleCom_v1alpha1"]));
        assert_eq!(
            op["x-kubernetes-group-version-kind"],
            json!({"group": "crview3.example.com", "version": "v1alpha1", "kind": "Widget"})
        );
        assert!(
            op["parameters"][1]["description"]
                .as_str()
                .unwrap_or("")
                .ends_with("(JsonPatch, MergePatch, StrategicMergePatch).")
        );
    }

    #[test]
    fn schemas_match_upstream() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let got = serde_json::to_string(&schemas["com.example.crview3.v1alpha1.Widget"])
            .unwrap_or_default();
        assert_eq!(
            got,
            serde_json::to_string(&parse(WIDGET_SCHEMA)).unwrap_or_default()
        );
        let got = serde_json::to_string(&schemas["com.example.crview3.v1alpha1.GadgetList"])
            .unwrap_or_default();
        assert_eq!(
            got,
            serde_json::to_string(&parse(GADGET_LIST_SCHEMA)).unwrap_or_default()
        );
    }

    #[test]
    fn meta_components_are_the_reachable_closure() {
        let doc = document();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let names: Vec<&str> = schemas.keys().map(String::as_str).collect();
        for want in [
            "com.example.crview3.v1alpha1.Gadget",
            "com.example.crview3.v1alpha1.WidgetList",
            "io.k8s.api.autoscaling.v1.Scale",
            "io.k8s.api.autoscaling.v1.ScaleSpec",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
            "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
            "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
            "io.k8s.apimachinery.pkg.apis.meta.v1.Time",
        ] {
            assert!(names.contains(&want), "{want} missing");
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        // Every reference resolves inside the document.
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for r in refs {
            assert!(schemas.contains_key(&r), "dangling {r}");
        }
        // Without the scale subresource, no Scale types.
        let w = parse(WIDGETS_CRD);
        let only = v3_document(&[(&w, "v1alpha1")], &builtin_components());
        assert!(
            only["components"]["schemas"]
                .get("io.k8s.api.autoscaling.v1.Scale")
                .is_none()
        );
        assert!(
            only["paths"]
                .get("/apis/crview3.example.com/v1alpha1/gadgets")
                .is_none()
        );
    }

    #[test]
    fn names_follow_upstream() {
        assert_eq!(
            schema_name("crview-4.x9.example.com", "v1-x2", "Thing"),
            "com.example.x9.crview-4.v1-x2.Thing"
        );
        // Checked against upstream: tag crview4X9ExampleCom_v1X2, id listCrview4X9ExampleComV1X2Thing.
        assert_eq!(
            tag_and_infix("crview-4.x9.example.com", "v1-x2"),
            (
                "crview4X9ExampleCom_v1X2".to_string(),
                "Crview4X9ExampleComV1X2".to_string()
            )
        );
        assert_eq!(tag_and_infix("foo.k8s.io", "v1").0, "foo_v1");
        assert_eq!(
            description("CronTab", "/{name}/scale", "read"),
            "read scale of the specified CronTab"
        );
        assert_eq!(description("Ant", "", "create"), "create an Ant");
        assert_eq!(
            description("CronTab", "", "deletecollection"),
            "delete collection of CronTab"
        );
    }

    /// Upstream's `/openapi/v2` definitions for the same CRDs.
    const WIDGET_V2: &str = r##"{"type":"object","required":["spec"],"properties":{"apiVersion":{"description":"APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"kind":{"description":"Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","$ref":"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},"spec":{"type":"object","required":["size"],"properties":{"any":{"x-kubernetes-preserve-unknown-fields":true},"emb":{"type":"object","required":["apiVersion","kind"],"properties":{"a":{"type":"string"},"apiVersion":{"description":"apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"kind":{"description":"kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","$ref":"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},"spec":{"type":"object","x-kubernetes-validations":[{"messageExpression":"'x'","reason":"FieldValueInvalid","rule":"true"}]}},"x-kubernetes-embedded-resource":true},"labels":{"type":"object","maxProperties":3,"additionalProperties":{"type":"string"},"x-kubernetes-map-type":"granular"},"name":{"maxLength":10,"minLength":1,"pattern":"^[a-z]+$","enum":["abc","def"]},"oneof":{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}}},"pf":{"type":"string","title":"Tt"},"port":{"x-kubernetes-int-or-string":true},"port2":{"example":5,"x-kubernetes-int-or-string":true},"port3":{"x-kubernetes-int-or-string":true},"port4":{"x-kubernetes-int-or-string":true},"ports":{"type":"array","items":{"type":"object","required":["name"],"properties":{"false":{"type":"number","minimum":0,"exclusiveMinimum":true,"multipleOf":0.5},"name":{"type":"string"}}},"x-kubernetes-list-map-keys":["name"],"x-kubernetes-list-type":"map"},"raw":{"x-kubernetes-preserve-unknown-fields":true},"size":{"description":"the size","type":"integer","format":"int64","maximum":100,"minimum":1},"tags":{"type":"array","maxItems":5,"items":{"type":"string"},"x-kubernetes-list-type":"set"},"tpl":{"x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true}},"x-kubernetes-validations":[{"message":"too big","rule":"self.size <= 10"}]},"status":{"type":"object","properties":{"ok":{"type":"boolean"}}}},"x-kubernetes-group-version-kind":[{"group":"crview3.example.com","kind":"Widget","version":"v1alpha1"}]}"##;
    const CRONTAB_CRD: &str = r##"{"spec":{"group":"crview.example.com","names":{"kind":"CronTab","listKind":"CronTabList","plural":"crontabs","shortNames":["ct"],"singular":"crontab"},"scope":"Namespaced","versions":[{"additionalPrinterColumns":[{"description":"the cron spec","jsonPath":".spec.cronSpec","name":"Spec","type":"string"},{"jsonPath":".spec.replicas","name":"Replicas","type":"integer"},{"format":"float","jsonPath":".spec.ratio","name":"Ratio","priority":1,"type":"number"},{"jsonPath":".spec.on","name":"On","type":"boolean"},{"jsonPath":".spec.when","name":"When","type":"date"},{"jsonPath":".status.conditions[0].type","name":"Cond","priority":1,"type":"string"},{"jsonPath":".spec.items[*].name","name":"Names","type":"string"},{"jsonPath":".metadata.labels.app","name":"Lbl","type":"string"},{"jsonPath":".spec.obj","name":"Obj","type":"string"},{"jsonPath":".spec.i2","name":"I2","type":"integer"},{"jsonPath":".spec.n2","name":"N2","type":"number"},{"jsonPath":".spec.s2","name":"S2","type":"string"},{"jsonPath":".metadata.annotations.a\\.b/c","name":"Esc","type":"string"}],"name":"v1","schema":{"openAPIV3Schema":{"description":"CronTab is a test","properties":{"spec":{"description":"spec of crontab","properties":{"cronSpec":{"description":"the cron","type":"string"},"image":{"type":"string"},"ratio":{"type":"number"},"replicas":{"format":"int32","type":"integer"}},"type":"object","x-kubernetes-preserve-unknown-fields":true},"status":{"properties":{"replicas":{"type":"integer"},"selector":{"type":"string"}},"type":"object","x-kubernetes-preserve-unknown-fields":true}},"type":"object"}},"served":true,"storage":true,"subresources":{"scale":{"labelSelectorPath":".status.selector","specReplicasPath":".spec.replicas","statusReplicasPath":".status.replicas"},"status":{}}},{"name":"v2","schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}},"served":true,"storage":false}]}}"##;
    const CRONTAB_V2: &str = r##"{"description":"CronTab is a test","type":"object","properties":{"apiVersion":{"description":"APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"kind":{"description":"Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata","$ref":"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},"spec":{"description":"spec of crontab","x-kubernetes-preserve-unknown-fields":true},"status":{"x-kubernetes-preserve-unknown-fields":true}},"x-kubernetes-group-version-kind":[{"group":"crview.example.com","kind":"CronTab","version":"v1"}]}"##;
    const CRONTAB_LIST_V2: &str = r##"{"description":"CronTabList is a list of CronTab","type":"object","required":["items"],"properties":{"apiVersion":{"description":"APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources","type":"string"},"items":{"description":"List of crontabs. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md","type":"array","items":{"$ref":"#/definitions/com.example.crview.v1.CronTab"}},"kind":{"description":"Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","type":"string"},"metadata":{"description":"Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds","$ref":"#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"}},"x-kubernetes-group-version-kind":[{"group":"crview.example.com","kind":"CronTabList","version":"v1"}]}"##;

    #[test]
    fn v2_definitions_match_upstream() {
        let json_text = |v: &Value| serde_json::to_string(v).unwrap_or_default();
        let w = parse(WIDGETS_CRD);
        let defs = v2_definitions(&w, "v1alpha1");
        let keys: Vec<&String> = defs.keys().collect();
        assert_eq!(
            keys,
            [
                "com.example.crview3.v1alpha1.Widget",
                "com.example.crview3.v1alpha1.WidgetList"
            ]
        );
        assert_eq!(
            json_text(&defs["com.example.crview3.v1alpha1.Widget"]),
            json_text(&parse(WIDGET_V2))
        );
        let c = parse(CRONTAB_CRD);
        let defs = v2_definitions(&c, "v1");
        assert_eq!(
            json_text(&defs["com.example.crview.v1.CronTab"]),
            json_text(&parse(CRONTAB_V2))
        );
        assert_eq!(
            json_text(&defs["com.example.crview.v1.CronTabList"]),
            json_text(&parse(CRONTAB_LIST_V2))
        );
        // A root keeping unknown fields is a bare object.
        let defs = v2_definitions(&c, "v2");
        assert_eq!(
            defs["com.example.crview.v2.CronTab"],
            json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": "crview.example.com", "kind": "CronTab", "version": "v2"}]})
        );
        assert!(v2_definitions(&c, "v3").is_empty());
    }

    #[test]
    fn missing_or_unknown_versions_are_skipped_and_hostile_schemas_bounded() {
        let w = parse(WIDGETS_CRD);
        let doc = v3_document(&[(&w, "v9"), (&Value::Null, "v1")], &Map::new());
        assert_eq!(doc["paths"], json!({}));
        assert_eq!(doc["components"]["schemas"], json!({}));
        // A deeply nested schema publishes as a plain object rather than recursing unboundedly.
        let mut s = json!({"type": "string"});
        for _ in 0..300 {
            s = json!({"type": "object", "properties": {"a": s}});
        }
        let crd = json!({"spec": {"group": "g.example.com", "scope": "Cluster",
            "names": {"kind": "K", "plural": "ks"},
            "versions": [{"name": "v1", "schema": {"openAPIV3Schema": s}}]}});
        let doc = v3_document(&[(&crd, "v1")], &Map::new());
        assert_eq!(
            doc["components"]["schemas"]["com.example.g.v1.K"],
            json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": "g.example.com", "kind": "K", "version": "v1"}]})
        );
        assert_eq!(
            doc["components"]["schemas"]["com.example.g.v1.KList"]["properties"]["items"]["description"],
            "List of ks. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
        );
    }
}
