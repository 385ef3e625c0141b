//! Unit tests of the structural schema; every expected message was obtained
//! from a live upstream kube-apiserver v1.36.2 (`kubectl apply` of the CRD /
//! `kubectl create` of the custom resource, reading the 422 causes).

use super::*;
use serde_json::json;

const BAD1: &str = r##"{"type": "object", "properties": {"spec": {"type": "object", "additionalProperties": {"type": "string"}, "properties": {"a": {"type": "string"}}}, "nott": {"properties": {"x": {"type": "string"}}}, "emptyobj": {"type": "object", "x-kubernetes-preserve-unknown-fields": false}, "ref": {"$ref": "#/definitions/foo"}, "deps": {"type": "object", "dependencies": {"a": ["b"]}}, "pat": {"type": "string", "pattern": "([a-z"}, "ios": {"x-kubernetes-int-or-string": true}, "ios2": {"type": "string", "x-kubernetes-int-or-string": true}, "emb": {"type": "object", "x-kubernetes-embedded-resource": true}, "def": {"type": "string", "default": 5}, "arr": {"type": "array"}, "uniq": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}, "add": {"type": "object", "additionalProperties": false}, "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}, "labels": {"type": "object"}}}, "idx": {"type": "string", "id": "foo"}, "en": {"type": "string", "enum": ["a", 1]}, "ft": {"type": "foo"}, "lt": {"type": "array", "x-kubernetes-list-type": "map", "items": {"type": "string"}}, "lt2": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "object", "properties": {"a": {"type": "string"}}}}, "mt": {"type": "object", "x-kubernetes-map-type": "foo"}, "nul": {"type": "string", "nullable": true, "default": null}, "anyo": {"type": "object", "anyOf": [{"properties": {"z": {"type": "string"}}}, {"type": "string"}]}, "anyo2": {"type": "object", "properties": {"q": {"type": "string"}}, "anyOf": [{"properties": {"q": {"type": "string", "default": "x"}}}]}}}"##;
const BAD2: &str = r##"{"type": "object", "properties": {"nott": {"properties": {"x": {"type": "string"}}}, "emptyobj": {"type": "object"}, "ios": {"x-kubernetes-int-or-string": true}, "ios2": {"type": "string", "x-kubernetes-int-or-string": true}, "emb": {"type": "object", "x-kubernetes-embedded-resource": true}, "def": {"type": "string", "default": 5}, "arr": {"type": "array"}, "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}, "labels": {"type": "object"}}}, "nul": {"type": "string", "nullable": true, "default": null}, "anyo": {"type": "object", "anyOf": [{"properties": {"z": {"type": "string"}}}, {"type": "string"}]}, "anyo2": {"type": "object", "properties": {"q": {"type": "string"}}, "anyOf": [{"properties": {"q": {"type": "string", "default": "x"}}}]}, "defobj": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 3}}, "default": {"a": 1, "b": 2}}}}"##;
const BAD3: &str = r##"{"type": "object", "properties": {"def": {"type": "string", "default": 5}, "defobj": {"type": "object", "properties": {"a": {"type": "integer", "minimum": 3}}, "default": {"a": 1, "b": 2}}, "pat": {"type": "string", "pattern": "[a-z]"}, "pat2": {"type": "string", "pattern": "a*"}, "pat3": {"type": "string", "pattern": "(?<n>x)"}, "ios2": {"type": "string", "x-kubernetes-int-or-string": true}, "emb": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true, "properties": {"metadata": {"type": "object", "properties": {"labels": {"type": "object"}}}, "kind": {"type": "string"}}}}}"##;
const GOOD: &str = r##"{"type": "object", "properties": {"spec": {"type": "object", "required": ["replicas"], "minProperties": 1, "maxProperties": 20, "properties": {"replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1}, "i32": {"type": "integer", "format": "int32"}, "ratio": {"type": "number", "exclusiveMinimum": true, "minimum": 0, "multipleOf": 0.5}, "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"}, "mode": {"type": "string", "enum": ["fast", "slow"]}, "ip": {"type": "string", "format": "ipv4"}, "when": {"type": "string", "format": "date-time"}, "uid": {"type": "string", "format": "uuid"}, "port": {"x-kubernetes-int-or-string": true}, "flag": {"type": "boolean"}, "nul": {"type": "string", "nullable": true}, "tags": {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}, "x-kubernetes-list-type": "set"}, "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"], "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "port": {"type": "integer", "default": 80}}}}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}, "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}, "emb": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}, "choice": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, "notx": {"type": "string", "not": {"enum": ["bad"]}}, "obj": {"type": "object", "default": {}, "properties": {"x": {"type": "string", "default": "xx"}, "y": {"type": "string"}}}}}}}"##;
const CR1: &str = r##"{"apiVersion": "stable-schema.example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "stable-schema"}, "spec": {"replicas": "three", "i32": 3000000000, "ratio": 0.7, "name": "ABCDEFG", "mode": "medium", "ip": "1.2.3", "when": "yesterday", "uid": "nope", "port": 1.5, "flag": "yes", "nul": null, "tags": ["a", "a", "b"], "ports": [{"name": "a"}, {"name": "a", "port": 1}, {"port": 3}], "labels": {"a": 1}, "emb": {"foo": 1}, "choice": {"a": "x", "b": true}, "notx": "bad", "unknownf": 1}}"##;
const CR2: &str = r##"{"apiVersion": "stable-schema.example.com/v1", "kind": "Widget", "metadata": {"name": "w2", "namespace": "stable-schema"}, "spec": {"replicas": 11, "ratio": 0, "name": "a", "tags": [], "choice": {}, "emb": {"apiVersion": "v1", "kind": "X", "metadata": {"name": "A_B"}}, "port": "x", "free": {"any": 1}, "obj": {"z": 1}}}"##;
const CR3: &str = r##"{"apiVersion": "stable-schema.example.com/v1", "kind": "Widget", "metadata": {"name": "w3", "namespace": "stable-schema"}, "spec": {}}"##;
const CR4: &str = r##"{"apiVersion": "stable-schema.example.com/v1", "kind": "Widget", "metadata": {"name": "w4", "namespace": "stable-schema"}, "spec": {"replicas": 2, "ratio": 11.5, "unk": 1, "obj": {"z": 1}, "ports": [{"name": "p", "extra": 1}]}, "top": 1}"##;
const CR5: &str = r##"{"apiVersion": "stable-schema.example.com/v1", "kind": "Widget", "metadata": {"name": "w5", "namespace": "stable-schema"}, "spec": {"replicas": 2, "mode": null, "labels": {"a": null}, "tags": [null]}}"##;

const BASE: &str = "spec.validation.openAPIV3Schema";

fn v(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn compile_errs(schema: &str) -> Vec<String> {
    match compile(&v(schema), BASE) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

fn sorted(mut x: Vec<String>) -> Vec<String> {
    x.sort();
    x
}

#[test]
fn crd_generic_schema_errors() {
    let got = sorted(compile_errs(BAD1));
    let want = sorted(
        [
            "properties[emptyobj].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined",
            "properties[ft].type: Unsupported value: \"foo\": supported values: \"array\", \"boolean\", \"integer\", \"number\", \"object\", \"string\"",
            "properties[lt].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map",
            "properties[lt].items.type: Invalid value: \"string\": must be object if parent array's x-kubernetes-list-type is map",
            "properties[deps].dependencies: Forbidden: dependencies is not supported",
            "properties[ref].$ref: Forbidden: $ref is not supported",
            "properties[idx].id: Forbidden: id is not supported",
            "properties[mt].x-kubernetes-map-type: Unsupported value: \"foo\": supported values: \"atomic\", \"granular\"",
            "properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive",
            "properties[lt2].items.x-kubernetes-map-type: Invalid value: null: must be atomic as item of a list with x-kubernetes-list-type=set",
            "properties[uniq].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ]
        .iter()
        .map(|s| format!("{BASE}.{s}"))
        .collect(),
    );
    assert_eq!(got, want);
}

#[test]
fn crd_structural_errors_sorted_like_upstream() {
    let got = compile_errs(BAD2);
    let want: Vec<String> = [
        "properties[anyo2].anyOf[0].properties[q].default: Forbidden: must be undefined to be structural",
        "properties[anyo2].anyOf[0].properties[q].type: Forbidden: must be empty to be structural",
        "properties[anyo].anyOf[0].properties[z].type: Forbidden: must be empty to be structural",
        "properties[anyo].anyOf[1].type: Forbidden: must be empty to be structural",
        "properties[arr].items: Required value: must be specified",
        "properties[emb].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields",
        "properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified",
        "properties[nott].type: Required value: must not be empty for specified object fields",
    ]
    .iter()
    .map(|s| format!("{BASE}.{s}"))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn crd_bad_patterns_and_embedded_kind() {
    let schema = json!({"type": "object", "properties": {
        "pat": {"type": "string", "pattern": "([a-z"},
        "pat2": {"type": "string", "pattern": "a**"},
        "pat3": {"type": "string", "pattern": "(?<n>x)"},
        "emb": {"type": "object", "x-kubernetes-embedded-resource": true,
                "x-kubernetes-preserve-unknown-fields": true,
                "properties": {"kind": {"type": "integer"}}}
    }});
    let got: Vec<String> = compile(&schema, BASE)
        .err()
        .unwrap()
        .iter()
        .map(|e| e.to_string())
        .collect();
    let want: Vec<String> = [
        "properties[emb].properties[kind].type: Invalid value: \"integer\": must be string",
        "properties[pat2].pattern: Invalid value: \"a**\": must be a valid regular expression, but isn't: error parsing regexp: invalid nested repetition operator: `**`",
        "properties[pat].pattern: Invalid value: \"([a-z\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ]: `[a-z`",
    ]
    .iter()
    .map(|s| format!("{BASE}.{s}"))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn crd_default_errors() {
    let got = compile_errs(BAD3);
    let want: Vec<String> = [
        "properties[def].default: Invalid value: \"integer\":  in body must be of type string: \"integer\"",
        "properties[defobj].default: Invalid value: {\"a\":1,\"b\":2}: must not have unknown fields",
        "properties[defobj].default.a: Invalid value: 1: a in body should be greater than or equal to 3",
    ]
    .iter()
    .map(|s| format!("{BASE}.{s}"))
    .collect();
    assert_eq!(got, want);
}

fn good() -> Structural {
    compile(&v(GOOD), BASE).unwrap()
}

fn cr_errs(cr: &str) -> Vec<String> {
    let s = good();
    let mut obj = v(cr);
    s.prune(&mut obj);
    s.default(&mut obj);
    sorted(s.validate(&obj).iter().map(|e| e.to_string()).collect())
}

#[test]
fn custom_resource_value_errors() {
    let want = sorted(
        [
            "spec.mode: Unsupported value: \"medium\": supported values: \"fast\", \"slow\"",
            "spec.ip: Invalid value: \"1.2.3\": spec.ip in body must be of type ipv4: \"1.2.3\"",
            "spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\"",
            "spec.name: Too long: may not be more than 5 bytes",
            "spec.replicas: Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\"",
            "spec.when: Invalid value: \"yesterday\": spec.when in body must be of type date-time: \"yesterday\"",
            "spec.ratio: Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5",
            "<nil>: Invalid value: \"\": \"spec.notx\" must not validate the schema (not)",
            "spec.uid: Invalid value: \"nope\": spec.uid in body must be of type uuid: \"nope\"",
            "spec.port: Invalid value: \"number\": spec.port in body must be of type integer,string: \"number\"",
            "<nil>: Invalid value: \"\": Checked value must be of type integer with format int32 in spec.i32",
            "spec.flag: Invalid value: \"string\": spec.flag in body must be of type boolean: \"string\"",
            "spec.tags: Too many: 3: must have at most 2 items",
            "<nil>: Invalid value: \"\": \"spec.choice\" must validate one and only one schema (oneOf). Found 2 valid alternatives",
            "spec.choice.b: Invalid value: \"boolean\": spec.choice.b in body must be of type string: \"boolean\"",
            "spec.ports[2].name: Required value",
            "spec.emb.apiVersion: Required value",
            "spec.emb.kind: Required value",
            "spec.tags[1]: Duplicate value: \"a\"",
            "spec.ports[1]: Duplicate value: {\"name\":\"a\"}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    assert_eq!(cr_errs(CR1), want);
}

#[test]
fn custom_resource_bounds_errors() {
    let want = sorted(
        [
            "spec.name: Invalid value: \"a\": spec.name in body should be at least 2 chars long",
            "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10",
            "spec.ratio: Invalid value: 0: factor MultipleOf declared for spec.ratio must be positive: 0",
            "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
            "spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items",
            "<nil>: Invalid value: \"\": \"spec.choice\" must validate one and only one schema (oneOf). Found none valid",
            "spec.choice.a: Required value",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    // CR2 sets multipleOf's operand to 0 through the schema below
    let mut schema = v(GOOD);
    schema["properties"]["spec"]["properties"]["ratio"]["multipleOf"] = json!(0);
    let s = compile(&schema, BASE).unwrap();
    let mut obj = v(CR2);
    s.prune(&mut obj);
    s.default(&mut obj);
    let got = sorted(s.validate(&obj).iter().map(|e| e.to_string()).collect());
    assert_eq!(got, want);
}

#[test]
fn defaulting_applies_schema_defaults() {
    let s = good();
    let mut obj = v(CR3);
    s.default(&mut obj);
    assert_eq!(obj["spec"], json!({"replicas": 1, "obj": {"x": "xx"}}));
    assert!(s.validate(&obj).is_empty());
}

#[test]
fn pruning_reports_sorted_unknown_fields() {
    let s = good();
    let mut obj = v(CR4);
    let pruned = s.prune(&mut obj);
    assert_eq!(
        pruned,
        ["spec.obj.z", "spec.ports[0].extra", "spec.unk", "top"]
    );
    assert_eq!(
        unknown_field_message(&pruned[0]),
        "unknown field \"spec.obj.z\""
    );
    s.default(&mut obj);
    assert_eq!(
        obj["spec"],
        json!({"replicas": 2, "ratio": 11.5, "obj": {"x": "xx"}, "ports": [{"name": "p", "port": 80}]})
    );
    assert_eq!(obj["metadata"]["name"], "w4");
}

#[test]
fn non_nullable_nulls_are_dropped_but_not_in_lists() {
    let s = good();
    let mut obj = v(CR5);
    s.default(&mut obj);
    let errs: Vec<String> = s.validate(&obj).iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errs,
        [
            "spec.tags[0]: Invalid value: \"null\": spec.tags[0] in body must be of type string: \"null\""
        ]
    );
    assert!(obj["spec"].get("mode").is_none());
    assert_eq!(obj["spec"]["labels"], json!({}));
}

const META: &str = r##"{"type":"object","properties":{"metadata":{"type":"object","properties":{"name":{"type":"string","maxLength":5,"pattern":"^[a-z]+$"}}},"spec":{"type":"object","properties":{"emb":{"type":"object","x-kubernetes-embedded-resource":true,"x-kubernetes-preserve-unknown-fields":true},"items":{"type":"array","items":{"type":"object","x-kubernetes-embedded-resource":true,"properties":{"spec":{"type":"string"}}}}}}}}"##;

#[test]
fn root_metadata_name_constraints_and_embedded_objects() {
    let s = compile(&v(META), BASE).unwrap();
    let errs = |o: Value| -> Vec<String> { s.validate(&o).iter().map(|e| e.to_string()).collect() };
    assert_eq!(
        errs(json!({"metadata": {"name": "toolongname"}, "spec": {}})),
        ["metadata.name: Too long: may not be more than 5 bytes"]
    );
    let mut obj = json!({"metadata": {"name": "a1"}, "spec": {
        "emb": {"apiVersion": "v1", "kind": "X", "metadata": {"name": "A_B", "labels": {"a b": "x"}}},
        "items": [{"apiVersion": "v1", "kind": "Z", "spec": "s", "extra": 1, "metadata": {"name": "ok", "foo": 1}}]}});
    assert_eq!(
        s.prune(&mut obj),
        ["spec.items[0].extra", "spec.items[0].metadata.foo"]
    );
    assert_eq!(
        errs(obj),
        [
            "metadata.name: Invalid value: \"a1\": metadata.name in body should match '^[a-z]+$'",
            "spec.emb.metadata.labels: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ]
    );
}

#[test]
fn patch_schema_view() {
    use crate::apimachinery::patch_schema::PatchSchema;
    let s = good();
    let spec = s.patch_root().field("spec").unwrap();
    let ports = spec.field("ports").unwrap();
    assert_eq!(ports.list_type(), Some("map"));
    assert_eq!(ports.list_map_keys(), ["name".to_string()]);
    assert!(ports.items().unwrap().is_required("name"));
    assert_eq!(spec.field("tags").unwrap().list_type(), Some("set"));
    assert!(spec.field("labels").unwrap().map_values().is_some());
    assert!(spec.field("nope").is_none());
    assert!(spec.is_required("replicas"));
}

#[test]
fn custom_resources_have_no_zero_value_fields_in_managed_fields() {
    // A custom resource decodes into an empty unstructured map, not a Go
    // struct: a create adds `spec` itself, so `f:spec` carries `"."`
    // (upstream v1.36.2: `{"f:metadata":{"f:labels":{".":{},"f:a":{}}},
    // "f:spec":{".":{},"f:mode":{},"f:obj":{".":{},"f:x":{}}}}`).
    let s = good();
    let obj = json!({"apiVersion": "stable-schema.example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "namespace": "ns", "labels": {"a": "1"}},
        "spec": {"mode": "fast", "obj": {"x": "xx"}}});
    let out = crate::apimachinery::fieldmanager::update(
        None,
        &obj,
        "curl",
        "stable-schema.example.com/v1",
        None,
        "2026-12-03T00:00:00Z",
        Some(&s.patch_root()),
    );
    assert_eq!(
        out["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:a": {}}},
               "f:spec": {".": {}, "f:mode": {}, "f:obj": {".": {}, "f:x": {}}}})
    );
}

#[test]
fn hostile_schemas_and_objects_do_not_panic() {
    // deep schema nesting
    let mut deep = json!({"type": "string"});
    for _ in 0..(MAX_SCHEMA_DEPTH + 5) {
        deep = json!({"type": "object", "properties": {"a": deep}});
    }
    let errs = compile(&deep, BASE).err().unwrap();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].to_string().starts_with(BASE));
    // huge bounds, a pathological but valid regex, and a huge object value
    let s = compile(
        &json!({"type": "object", "properties": {"s": {"type": "string",
            "maxLength": u64::MAX, "minLength": u64::MAX, "pattern": "(a+)+$"},
            "n": {"type": "number", "multipleOf": 1e-300, "maximum": 1e308}}}),
        BASE,
    )
    .unwrap();
    let obj = json!({"s": "a".repeat(100_000) + "!", "n": 1e308});
    let errs: Vec<String> = s.validate(&obj).iter().map(|e| e.to_string()).collect();
    // minLength fails (stops the string checks); 1e308 is no JSON integer
    // multiple of 1e-300 for kube-openapi
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("s: Invalid value:"));
    assert_eq!(
        errs[1],
        "n: Invalid value: 1e+308: n in body should be a multiple of 1e-300"
    );
    // wrong JSON types in the schema are ignored rather than panicking
    assert!(
        compile(
            &json!({"type": 5, "properties": [1], "items": "x", "required": 3}),
            BASE
        )
        .is_err()
    );
    // a regex too large to compile is a CRD error, not a panic
    let big = json!({"type": "object", "properties": {"s": {"type": "string", "pattern": "(\\w{1000}){1000}"}}});
    let e = compile(&big, BASE).err().unwrap();
    assert!(
        e[0].to_string()
            .contains("must be a valid regular expression"),
        "{e:?}"
    );
}

#[test]
fn controller_gen_int_or_string_pattern_is_structural() {
    let s = compile(
        &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "port": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true},
            "q": {"x-kubernetes-int-or-string": true, "allOf": [{"anyOf": [{"type": "integer"}, {"type": "string"}]}, {"pattern": "^[0-9]+%?$"}]}
        }}, "metadata": {"type": "object"}}}),
        BASE,
    )
    .unwrap();
    assert!(
        s.validate(&json!({"spec": {"port": 80, "q": "10%"}}))
            .is_empty()
    );
    assert!(s.validate(&json!({"spec": {"port": "http"}})).is_empty());
    let errs: Vec<String> = s
        .validate(&json!({"spec": {"port": true, "q": "abc"}}))
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(
        errs,
        [
            "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
            "<nil>: Invalid value: \"\": \"spec.port\" must validate at least one schema (anyOf)",
            "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer: \"boolean\"",
            "spec.q: Invalid value: \"abc\": spec.q in body should match '^[0-9]+%?$'",
            "<nil>: Invalid value: \"\": \"spec.q\" must validate all the schemas (allOf)",
        ]
    );
}

#[test]
fn multiple_of_tolerates_float_rounding() {
    let s = compile(
        &json!({"type": "object", "properties": {"r": {"type": "number", "multipleOf": 0.1}}}),
        BASE,
    )
    .unwrap();
    assert!(s.validate(&json!({"r": 0.3})).is_empty());
    assert_eq!(s.validate(&json!({"r": 0.35})).len(), 1);
}

#[test]
fn enum_formats_and_property_counts() {
    let s = compile(
        &json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "cnt": {"type": "integer", "enum": [1, 2]},
            "m": {"type": "object", "minProperties": 2, "maxProperties": 3, "additionalProperties": {"type": "string"}},
            "m2": {"type": "object", "minProperties": 2, "maxProperties": 3, "additionalProperties": {"type": "string"}},
            "d": {"type": "string", "format": "date"},
            "n": {"type": "string", "nullable": true, "enum": ["a"]},
            "b": {"type": "string", "format": "byte"},
            "h": {"type": "string", "format": "hostname"},
            "e": {"type": "boolean", "enum": [true]},
            "f": {"type": "number", "maximum": 1.5, "exclusiveMaximum": true},
            "o": {"type": "object", "enum": [{"a": "1"}], "properties": {"a": {"type": "string"}}}
        }}}}),
        BASE,
    )
    .unwrap();
    let obj = json!({"spec": {"cnt": 3, "m": {"a": "x"}, "m2": {"a": "1", "b": "2", "c": "3", "d": "4"},
        "d": "2024-02-30", "n": null, "b": "@@@", "h": "-bad-", "e": false, "f": 1.5, "o": {"a": "2"}}});
    let got = sorted(s.validate(&obj).iter().map(|e| e.to_string()).collect());
    let want = sorted(
        [
            "spec.cnt: Unsupported value: 3: supported values: \"1\", \"2\"",
            "spec.e: Unsupported value: false: supported values: \"true\"",
            "spec.o: Unsupported value: {\"a\":\"2\"}: supported values: \"{\\\"a\\\":\\\"1\\\"}\"",
            "spec.h: Invalid value: \"-bad-\": spec.h in body must be of type hostname: \"-bad-\"",
            "spec.m2: Too many: 4: must have at most 3 items",
            "spec.d: Invalid value: \"2024-02-30\": spec.d in body must be of type date: \"2024-02-30\"",
            "spec.f: Invalid value: 1.5: spec.f in body should be less than 1.5",
            "spec.m: Invalid value: 1: spec.m in body should have at least 2 properties",
            "spec.b: Invalid value: \"@@@\": spec.b in body must be of type byte: \"@@@\"",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    assert_eq!(got, want);
}
