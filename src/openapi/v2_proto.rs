//! The Swagger 2.0 document as gnostic's `openapi.v2.Document` protobuf, the
//! form kubectl asks `/openapi/v2` for
//! (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).
//!
//! Upstream turns its JSON document into protobuf with gnostic
//! (`ToProtoBinary` in `k8s.io/kube-openapi/pkg/handler/handler.go` calls
//! `openapi_v2.ParseDocument` of `github.com/google/gnostic-models`, then
//! `proto.Marshal`). This module does the same conversion by hand, following
//! the messages of gnostic's `openapiv2/OpenAPIv2.proto` and the rules of its
//! generated parser (`openapiv2/OpenAPIv2.go`):
//!
//! - A JSON object with free keys (`paths`, `definitions`, `properties`,
//!   `responses`, security requirements) becomes a repeated `Named*` message
//!   `{name = 1, value = 2}`, in the document's key order.
//! - `x-…` keys become `NamedAny` vendor extensions whose `Any` holds only
//!   `yaml`: the value as `gopkg.in/yaml.v3` marshals it with every node's
//!   style cleared (`compiler.Marshal`), e.g. `"- group: apps\n  kind: Deployment\n  version: v1\n"`.
//!   `default`, `example` and `enum` values are `Any`s the same way.
//! - Choices (`oneof`s) are decided as gnostic decides them: every alternative
//!   is tried in field order and the last one that parses wins (a parameter is
//!   a body parameter or, by its `in`, a header/formData/query/path one; a
//!   parameter or response with only `$ref` is a `JsonReference`; a response
//!   schema is a `FileSchema` only with `type: file`).
//! - Fields are written in field-number order, scalars that equal their proto3
//!   default are left out (a `oneof` member is always written), as Go's
//!   `proto.Marshal` does, so the bytes match upstream's for the same JSON.
//!
//! Anything gnostic would reject (a key the Swagger 2.0 schema does not allow,
//! a value of the wrong type) is an error here too, so a bad generated
//! document fails the unit tests instead of being served half-encoded.
//! OAuth2 security definitions are not implemented (Kubernetes has none).

use serde_json::{Map, Value};

type Obj = Map<String, Value>;
type Res<T> = Result<T, String>;

/// Encodes a Swagger 2.0 JSON document as an `openapi.v2.Document`.
pub fn encode_document(json: &str) -> Res<Vec<u8>> {
    let doc: Value = serde_json::from_str(json).map_err(|e| format!("openapi v2: {e}"))?;
    let m = obj(&doc, "document")?;
    let mut w = Msg::default();
    check_keys(
        m,
        &[
            "basePath",
            "consumes",
            "definitions",
            "externalDocs",
            "host",
            "info",
            "parameters",
            "paths",
            "produces",
            "responses",
            "schemes",
            "security",
            "securityDefinitions",
            "swagger",
            "tags",
        ],
        "document",
    )?;
    require(m, &["info", "paths", "swagger"], "document")?;
    w.string(1, m, "swagger")?;
    if let Some(v) = m.get("info") {
        w.message(2, &info(obj(v, "info")?)?);
    }
    w.string(3, m, "host")?;
    w.string(4, m, "basePath")?;
    w.strings(5, m, "schemes")?;
    w.strings(6, m, "consumes")?;
    w.strings(7, m, "produces")?;
    if let Some(v) = m.get("paths") {
        w.message(8, &paths(obj(v, "paths")?)?);
    }
    if let Some(v) = m.get("definitions") {
        w.message(9, &named_map(obj(v, "definitions")?, schema)?);
    }
    if let Some(v) = m.get("parameters") {
        w.message(10, &named_map(obj(v, "parameters")?, parameter)?);
    }
    if let Some(v) = m.get("responses") {
        w.message(11, &named_map(obj(v, "responses")?, response)?);
    }
    w.messages(12, m, "security", security_requirement)?;
    if let Some(v) = m.get("securityDefinitions") {
        w.message(
            13,
            &named_map(obj(v, "securityDefinitions")?, security_definitions_item)?,
        );
    }
    w.messages(14, m, "tags", tag)?;
    w.optional(15, m, "externalDocs", external_docs)?;
    w.extensions(16, m);
    Ok(w.0)
}

// ---- messages ----------------------------------------------------------------

fn info(m: &Obj) -> Res<Vec<u8>> {
    check_keys(
        m,
        &[
            "contact",
            "description",
            "license",
            "termsOfService",
            "title",
            "version",
        ],
        "info",
    )?;
    require(m, &["title", "version"], "info")?;
    let mut w = Msg::default();
    w.string(1, m, "title")?;
    w.string(2, m, "version")?;
    w.string(3, m, "description")?;
    w.string(4, m, "termsOfService")?;
    w.optional(5, m, "contact", |c| {
        check_keys(c, &["email", "name", "url"], "contact")?;
        let mut w = Msg::default();
        w.string(1, c, "name")?;
        w.string(2, c, "url")?;
        w.string(3, c, "email")?;
        w.extensions(4, c);
        Ok(w.0)
    })?;
    w.optional(6, m, "license", |l| {
        check_keys(l, &["name", "url"], "license")?;
        require(l, &["name"], "license")?;
        let mut w = Msg::default();
        w.string(1, l, "name")?;
        w.string(2, l, "url")?;
        w.extensions(3, l);
        Ok(w.0)
    })?;
    w.extensions(7, m);
    Ok(w.0)
}

fn external_docs(m: &Obj) -> Res<Vec<u8>> {
    check_keys(m, &["description", "url"], "externalDocs")?;
    require(m, &["url"], "externalDocs")?;
    let mut w = Msg::default();
    w.string(1, m, "description")?;
    w.string(2, m, "url")?;
    w.extensions(3, m);
    Ok(w.0)
}

fn tag(m: &Obj) -> Res<Vec<u8>> {
    check_keys(m, &["description", "externalDocs", "name"], "tag")?;
    require(m, &["name"], "tag")?;
    let mut w = Msg::default();
    w.string(1, m, "name")?;
    w.string(2, m, "description")?;
    w.optional(3, m, "externalDocs", external_docs)?;
    w.extensions(4, m);
    Ok(w.0)
}

/// `Paths`: vendor extensions (field 1) come before the paths (field 2).
fn paths(m: &Obj) -> Res<Vec<u8>> {
    let mut w = Msg::default();
    w.extensions(1, m);
    for (k, v) in m {
        if k.starts_with('/') {
            w.named(2, k, &path_item(obj(v, k)?)?);
        } else if !k.starts_with("x-") {
            return Err(format!("paths: invalid key {k:?}"));
        }
    }
    Ok(w.0)
}

fn path_item(m: &Obj) -> Res<Vec<u8>> {
    check_keys(
        m,
        &[
            "$ref",
            "delete",
            "get",
            "head",
            "options",
            "parameters",
            "patch",
            "post",
            "put",
        ],
        "path item",
    )?;
    let mut w = Msg::default();
    w.string(1, m, "$ref")?;
    for (field, verb) in [
        (2, "get"),
        (3, "put"),
        (4, "post"),
        (5, "delete"),
        (6, "options"),
        (7, "head"),
        (8, "patch"),
    ] {
        w.optional(field, m, verb, operation)?;
    }
    w.messages(9, m, "parameters", parameters_item)?;
    w.extensions(10, m);
    Ok(w.0)
}

fn operation(m: &Obj) -> Res<Vec<u8>> {
    check_keys(
        m,
        &[
            "consumes",
            "deprecated",
            "description",
            "externalDocs",
            "operationId",
            "parameters",
            "produces",
            "responses",
            "schemes",
            "security",
            "summary",
            "tags",
        ],
        "operation",
    )?;
    require(m, &["responses"], "operation")?;
    let mut w = Msg::default();
    w.strings(1, m, "tags")?;
    w.string(2, m, "summary")?;
    w.string(3, m, "description")?;
    w.optional(4, m, "externalDocs", external_docs)?;
    w.string(5, m, "operationId")?;
    w.strings(6, m, "produces")?;
    w.strings(7, m, "consumes")?;
    w.messages(8, m, "parameters", parameters_item)?;
    w.optional(9, m, "responses", responses)?;
    w.strings(10, m, "schemes")?;
    w.boolean(11, m, "deprecated")?;
    w.messages(12, m, "security", security_requirement)?;
    w.extensions(13, m);
    Ok(w.0)
}

/// `ParametersItem`: `oneof {Parameter parameter = 1; JsonReference json_reference = 2;}`.
fn parameters_item(m: &Obj) -> Res<Vec<u8>> {
    let choices = [
        parameter(m).map(|b| (1, b)),
        json_reference(m).map(|b| (2, b)),
    ];
    oneof(choices, "parameter")
}

/// `Parameter`: `oneof {BodyParameter body_parameter = 1; NonBodyParameter non_body_parameter = 2;}`.
fn parameter(m: &Obj) -> Res<Vec<u8>> {
    let choices = [
        body_parameter(m).map(|b| (1, b)),
        non_body_parameter(m).map(|b| (2, b)),
    ];
    oneof(choices, "parameter")
}

fn json_reference(m: &Obj) -> Res<Vec<u8>> {
    // gnostic checks only that `$ref` is there (no invalid-key check).
    require(m, &["$ref"], "JSON reference")?;
    let mut w = Msg::default();
    w.string(1, m, "$ref")?;
    w.string(2, m, "description")?;
    Ok(w.0)
}

fn body_parameter(m: &Obj) -> Res<Vec<u8>> {
    require(m, &["in", "name", "schema"], "body parameter")?;
    check_keys(
        m,
        &["description", "in", "name", "required", "schema"],
        "body parameter",
    )?;
    check_enum(m, "in", &["body"])?;
    let mut w = Msg::default();
    w.string(1, m, "description")?;
    w.string(2, m, "name")?;
    w.string(3, m, "in")?;
    w.boolean(4, m, "required")?;
    w.optional(5, m, "schema", schema)?;
    w.extensions(6, m);
    Ok(w.0)
}

/// `NonBodyParameter`: header (1), formData (2), query (3) or path (4), by `in`.
fn non_body_parameter(m: &Obj) -> Res<Vec<u8>> {
    let choices = [
        sub_schema(m, "header", false).map(|b| (1, b)),
        sub_schema(m, "formData", true).map(|b| (2, b)),
        sub_schema(m, "query", true).map(|b| (3, b)),
        sub_schema(m, "path", false).map(|b| (4, b)),
    ];
    oneof(choices, "non-body parameter")
}

/// The four `*ParameterSubSchema` messages: `required, in, description, name`
/// (1-4), `allowEmptyValue` (5, query and formData only), then the primitive
/// fields, then the vendor extensions.
fn sub_schema(m: &Obj, location: &str, allow_empty: bool) -> Res<Vec<u8>> {
    let mut allowed: Vec<&str> = vec!["description", "in", "name", "required"];
    allowed.extend_from_slice(&PRIMITIVE_KEYS);
    if allow_empty {
        allowed.push("allowEmptyValue");
    }
    check_keys(m, &allowed, location)?;
    if location == "path" {
        require(m, &["required"], "path parameter")?;
    }
    check_enum(m, "in", &[location])?;
    let mut types = vec!["string", "number", "boolean", "integer", "array"];
    if location == "formData" {
        types.push("file");
    }
    check_enum(m, "type", &types)?;
    let mut formats = vec!["csv", "ssv", "tsv", "pipes"];
    if allow_empty {
        formats.push("multi");
    }
    check_enum(m, "collectionFormat", &formats)?;
    let mut w = Msg::default();
    w.boolean(1, m, "required")?;
    w.string(2, m, "in")?;
    w.string(3, m, "description")?;
    w.string(4, m, "name")?;
    let mut next = 5;
    if allow_empty {
        w.boolean(5, m, "allowEmptyValue")?;
        next = 6;
    }
    primitive_fields(&mut w, m, next)?;
    w.extensions(next + PRIMITIVE_KEYS.len() as u32, m);
    Ok(w.0)
}

/// The keys of the run of fields shared by parameters, headers and
/// `PrimitivesItems`, in field order.
const PRIMITIVE_KEYS: [&str; 17] = [
    "type",
    "format",
    "items",
    "collectionFormat",
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
    "enum",
    "multipleOf",
];

fn primitive_fields(w: &mut Msg, m: &Obj, first: u32) -> Res<()> {
    let f = |i: u32| first + i;
    w.string(f(0), m, "type")?;
    w.string(f(1), m, "format")?;
    w.optional(f(2), m, "items", primitives_items)?;
    w.string(f(3), m, "collectionFormat")?;
    w.any(f(4), m, "default");
    w.double(f(5), m, "maximum")?;
    w.boolean(f(6), m, "exclusiveMaximum")?;
    w.double(f(7), m, "minimum")?;
    w.boolean(f(8), m, "exclusiveMinimum")?;
    w.int64(f(9), m, "maxLength")?;
    w.int64(f(10), m, "minLength")?;
    w.string(f(11), m, "pattern")?;
    w.int64(f(12), m, "maxItems")?;
    w.int64(f(13), m, "minItems")?;
    w.boolean(f(14), m, "uniqueItems")?;
    w.anys(f(15), m, "enum")?;
    w.double(f(16), m, "multipleOf")?;
    Ok(())
}

fn primitives_items(m: &Obj) -> Res<Vec<u8>> {
    check_keys(m, &PRIMITIVE_KEYS, "items")?;
    let mut w = Msg::default();
    primitive_fields(&mut w, m, 1)?;
    w.extensions(18, m);
    Ok(w.0)
}

fn header(m: &Obj) -> Res<Vec<u8>> {
    let mut allowed = PRIMITIVE_KEYS.to_vec();
    allowed.push("description");
    check_keys(m, &allowed, "header")?;
    require(m, &["type"], "header")?;
    let mut w = Msg::default();
    primitive_fields(&mut w, m, 1)?;
    w.string(18, m, "description")?;
    w.extensions(19, m);
    Ok(w.0)
}

fn responses(m: &Obj) -> Res<Vec<u8>> {
    let mut w = Msg::default();
    for (k, v) in m {
        if is_response_code(k) {
            w.named(1, k, &response_value(obj(v, k)?)?);
        } else if !k.starts_with("x-") {
            return Err(format!("responses: invalid key {k:?}"));
        }
    }
    w.extensions(2, m);
    Ok(w.0)
}

/// gnostic's `^([0-9]{3})$|^(default)$`.
fn is_response_code(k: &str) -> bool {
    k == "default" || (k.len() == 3 && k.bytes().all(|b| b.is_ascii_digit()))
}

/// `ResponseValue`: `oneof {Response response = 1; JsonReference json_reference = 2;}`.
fn response_value(m: &Obj) -> Res<Vec<u8>> {
    let choices = [
        response(m).map(|b| (1, b)),
        json_reference(m).map(|b| (2, b)),
    ];
    oneof(choices, "response")
}

fn response(m: &Obj) -> Res<Vec<u8>> {
    check_keys(
        m,
        &["description", "examples", "headers", "schema"],
        "response",
    )?;
    require(m, &["description"], "response")?;
    let mut w = Msg::default();
    w.string(1, m, "description")?;
    w.optional(2, m, "schema", schema_item)?;
    if let Some(v) = m.get("headers") {
        w.message(3, &named_map(obj(v, "headers")?, header)?);
    }
    if let Some(v) = m.get("examples") {
        let mut e = Msg::default();
        for (k, x) in obj(v, "examples")? {
            e.named(1, k, &any(x));
        }
        w.message(4, &e.0);
    }
    w.extensions(5, m);
    Ok(w.0)
}

/// `SchemaItem`: `oneof {Schema schema = 1; FileSchema file_schema = 2;}`.
fn schema_item(m: &Obj) -> Res<Vec<u8>> {
    let choices = [schema(m).map(|b| (1, b)), file_schema(m).map(|b| (2, b))];
    oneof(choices, "response schema")
}

fn file_schema(m: &Obj) -> Res<Vec<u8>> {
    check_keys(
        m,
        &[
            "default",
            "description",
            "example",
            "externalDocs",
            "format",
            "readOnly",
            "required",
            "title",
            "type",
        ],
        "file schema",
    )?;
    require(m, &["type"], "file schema")?;
    check_enum(m, "type", &["file"])?;
    let mut w = Msg::default();
    w.string(1, m, "format")?;
    w.string(2, m, "title")?;
    w.string(3, m, "description")?;
    w.any(4, m, "default");
    w.strings(5, m, "required")?;
    w.string(6, m, "type")?;
    w.boolean(7, m, "readOnly")?;
    w.optional(8, m, "externalDocs", external_docs)?;
    w.any(9, m, "example");
    w.extensions(10, m);
    Ok(w.0)
}

const SCHEMA_KEYS: [&str; 30] = [
    "$ref",
    "additionalProperties",
    "allOf",
    "default",
    "description",
    "discriminator",
    "enum",
    "example",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "externalDocs",
    "format",
    "items",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minItems",
    "minLength",
    "minProperties",
    "minimum",
    "multipleOf",
    "pattern",
    "properties",
    "readOnly",
    "required",
    "title",
    "type",
    "uniqueItems",
    "xml",
];

fn schema(m: &Obj) -> Res<Vec<u8>> {
    check_keys(m, &SCHEMA_KEYS, "schema")?;
    let mut w = Msg::default();
    w.string(1, m, "$ref")?;
    w.string(2, m, "format")?;
    w.string(3, m, "title")?;
    w.string(4, m, "description")?;
    w.any(5, m, "default");
    w.double(6, m, "multipleOf")?;
    w.double(7, m, "maximum")?;
    w.boolean(8, m, "exclusiveMaximum")?;
    w.double(9, m, "minimum")?;
    w.boolean(10, m, "exclusiveMinimum")?;
    w.int64(11, m, "maxLength")?;
    w.int64(12, m, "minLength")?;
    w.string(13, m, "pattern")?;
    w.int64(14, m, "maxItems")?;
    w.int64(15, m, "minItems")?;
    w.boolean(16, m, "uniqueItems")?;
    w.int64(17, m, "maxProperties")?;
    w.int64(18, m, "minProperties")?;
    w.strings(19, m, "required")?;
    w.anys(20, m, "enum")?;
    if let Some(v) = m.get("additionalProperties") {
        // `AdditionalPropertiesItem`: `oneof {Schema schema = 1; bool boolean = 2;}`.
        let mut a = Msg::default();
        match v {
            Value::Object(s) => a.message(1, &schema(s)?),
            Value::Bool(b) => a.oneof_bool(2, *b),
            _ => return Err("schema: invalid additionalProperties".into()),
        }
        w.message(21, &a.0);
    }
    if let Some(v) = m.get("type") {
        // `TypeItem`: `repeated string value = 1`, from a string or an array.
        let mut t = Msg::default();
        match v {
            Value::Array(items) => {
                for item in items {
                    t.str_always(1, &scalar_text(item).ok_or("schema: invalid type")?);
                }
            }
            other => t.str_always(1, &scalar_text(other).ok_or("schema: invalid type")?),
        }
        w.message(22, &t.0);
    }
    if let Some(v) = m.get("items") {
        // `ItemsItem`: `repeated Schema schema = 1`; gnostic reads only the
        // single-schema form.
        let mut i = Msg::default();
        i.message(1, &schema(obj(v, "items")?)?);
        w.message(23, &i.0);
    }
    w.messages(24, m, "allOf", schema)?;
    if let Some(v) = m.get("properties") {
        w.message(25, &named_map(obj(v, "properties")?, schema)?);
    }
    w.string(26, m, "discriminator")?;
    w.boolean(27, m, "readOnly")?;
    w.optional(28, m, "xml", |x| {
        check_keys(
            x,
            &["attribute", "name", "namespace", "prefix", "wrapped"],
            "xml",
        )?;
        let mut w = Msg::default();
        w.string(1, x, "name")?;
        w.string(2, x, "namespace")?;
        w.string(3, x, "prefix")?;
        w.boolean(4, x, "attribute")?;
        w.boolean(5, x, "wrapped")?;
        w.extensions(6, x);
        Ok(w.0)
    })?;
    w.optional(29, m, "externalDocs", external_docs)?;
    w.any(30, m, "example");
    w.extensions(31, m);
    Ok(w.0)
}

/// `SecurityRequirement`: `repeated NamedStringArray additional_properties = 1`.
fn security_requirement(m: &Obj) -> Res<Vec<u8>> {
    let mut w = Msg::default();
    for (k, v) in m {
        let Value::Array(items) = v else {
            return Err(format!("security requirement {k:?}: not an array"));
        };
        let mut a = Msg::default();
        for item in items {
            if let Some(s) = scalar_text(item) {
                a.str_always(1, &s);
            }
        }
        w.named(1, k, &a.0);
    }
    Ok(w.0)
}

/// `SecurityDefinitionsItem`: basic (1) or apiKey (2); the OAuth2 flows
/// (3-6) are not implemented.
fn security_definitions_item(m: &Obj) -> Res<Vec<u8>> {
    let basic = || -> Res<Vec<u8>> {
        check_keys(m, &["description", "type"], "basic security")?;
        require(m, &["type"], "basic security")?;
        check_enum(m, "type", &["basic"])?;
        let mut w = Msg::default();
        w.string(1, m, "type")?;
        w.string(2, m, "description")?;
        w.extensions(3, m);
        Ok(w.0)
    };
    let api_key = || -> Res<Vec<u8>> {
        check_keys(m, &["description", "in", "name", "type"], "apiKey security")?;
        require(m, &["in", "name", "type"], "apiKey security")?;
        check_enum(m, "type", &["apiKey"])?;
        check_enum(m, "in", &["header", "query"])?;
        let mut w = Msg::default();
        w.string(1, m, "type")?;
        w.string(2, m, "name")?;
        w.string(3, m, "in")?;
        w.string(4, m, "description")?;
        w.extensions(5, m);
        Ok(w.0)
    };
    oneof(
        [basic().map(|b| (1, b)), api_key().map(|b| (2, b))],
        "security definition",
    )
}

/// A JSON object of named values as `repeated Named* additional_properties = 1`.
fn named_map(m: &Obj, value: fn(&Obj) -> Res<Vec<u8>>) -> Res<Vec<u8>> {
    let mut w = Msg::default();
    for (k, v) in m {
        w.named(1, k, &value(obj(v, k)?)?);
    }
    Ok(w.0)
}

/// gnostic tries every alternative of a `oneof` in field order and keeps the
/// last that parses; it fails only if none does.
fn oneof<const N: usize>(choices: [Res<(u32, Vec<u8>)>; N], what: &str) -> Res<Vec<u8>> {
    let mut chosen = None;
    let mut errors = Vec::new();
    for c in choices {
        match c {
            Ok(c) => chosen = Some(c),
            Err(e) => errors.push(e),
        }
    }
    let (field, bytes) = chosen.ok_or_else(|| format!("invalid {what}: {}", errors.join("; ")))?;
    let mut w = Msg::default();
    w.message(field, &bytes);
    Ok(w.0)
}

/// `Any {string yaml = 2}`.
fn any(v: &Value) -> Vec<u8> {
    let mut w = Msg::default();
    w.str_always(2, &yaml(v));
    w.0
}

// ---- checks --------------------------------------------------------------------

fn obj<'a>(v: &'a Value, what: &str) -> Res<&'a Obj> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object"))
}

/// gnostic's `InvalidKeysInMap`: only the listed keys and `x-…`.
fn check_keys(m: &Obj, allowed: &[&str], what: &str) -> Res<()> {
    match m
        .keys()
        .find(|k| !k.starts_with("x-") && !allowed.contains(&k.as_str()))
    {
        Some(k) => Err(format!("{what}: invalid key {k:?}")),
        None => Ok(()),
    }
}

fn require(m: &Obj, keys: &[&str], what: &str) -> Res<()> {
    match keys.iter().find(|k| !m.contains_key(**k)) {
        Some(k) => Err(format!("{what}: missing {k:?}")),
        None => Ok(()),
    }
}

fn check_enum(m: &Obj, key: &str, values: &[&str]) -> Res<()> {
    match m.get(key).map(scalar_text) {
        Some(Some(s)) if !values.contains(&s.as_str()) => {
            Err(format!("unexpected value for {key}: {s:?}"))
        }
        _ => Ok(()),
    }
}

/// gnostic's `StringForScalarNode`: strings, integers (their text) and null ("").
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

// ---- wire format -------------------------------------------------------------

/// One message being written.
#[derive(Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    /// A present sub-message (written even when empty).
    fn message(&mut self, field: u32, b: &[u8]) {
        self.bytes(field, b);
    }

    /// An element of a repeated string (written even when empty).
    fn str_always(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    /// `Named* {string name = 1; value = 2}`.
    fn named(&mut self, field: u32, name: &str, value: &[u8]) {
        let mut n = Msg::default();
        if !name.is_empty() {
            n.str_always(1, name);
        }
        n.message(2, value);
        self.message(field, &n.0);
    }

    fn oneof_bool(&mut self, field: u32, b: bool) {
        self.key(field, 0);
        self.varint(u64::from(b));
    }

    fn string(&mut self, field: u32, m: &Obj, key: &str) -> Res<()> {
        if let Some(v) = m.get(key) {
            let s = scalar_text(v).ok_or_else(|| format!("unexpected value for {key}"))?;
            if !s.is_empty() {
                self.str_always(field, &s);
            }
        }
        Ok(())
    }

    fn strings(&mut self, field: u32, m: &Obj, key: &str) -> Res<()> {
        match m.get(key) {
            None => Ok(()),
            Some(Value::Array(items)) => {
                // `StringArrayForSequenceNode` skips what is not a scalar.
                for s in items.iter().filter_map(scalar_text) {
                    self.str_always(field, &s);
                }
                Ok(())
            }
            Some(_) => Err(format!("unexpected value for {key}")),
        }
    }

    fn boolean(&mut self, field: u32, m: &Obj, key: &str) -> Res<()> {
        match m.get(key) {
            None => Ok(()),
            Some(Value::Bool(b)) => {
                if *b {
                    self.oneof_bool(field, true);
                }
                Ok(())
            }
            Some(_) => Err(format!("unexpected value for {key}")),
        }
    }

    fn double(&mut self, field: u32, m: &Obj, key: &str) -> Res<()> {
        match m.get(key) {
            None => Ok(()),
            Some(Value::Number(n)) => {
                let f = n.as_f64().unwrap_or(0.0);
                if f != 0.0 || f.is_sign_negative() {
                    self.key(field, 1);
                    self.0.extend_from_slice(&f.to_le_bytes());
                }
                Ok(())
            }
            Some(_) => Err(format!("unexpected value for {key}")),
        }
    }

    fn int64(&mut self, field: u32, m: &Obj, key: &str) -> Res<()> {
        match m.get(key).map(|v| v.as_i64()) {
            None => Ok(()),
            Some(Some(i)) => {
                if i != 0 {
                    self.key(field, 0);
                    self.varint(i as u64);
                }
                Ok(())
            }
            Some(None) => Err(format!("unexpected value for {key}")),
        }
    }

    fn any(&mut self, field: u32, m: &Obj, key: &str) {
        if let Some(v) = m.get(key) {
            self.message(field, &any(v));
        }
    }

    fn anys(&mut self, field: u32, m: &Obj, key: &str) -> Res<()> {
        match m.get(key) {
            None => Ok(()),
            Some(Value::Array(items)) => {
                for v in items {
                    self.message(field, &any(v));
                }
                Ok(())
            }
            Some(_) => Err(format!("unexpected value for {key}")),
        }
    }

    fn optional(
        &mut self,
        field: u32,
        m: &Obj,
        key: &str,
        f: impl FnOnce(&Obj) -> Res<Vec<u8>>,
    ) -> Res<()> {
        if let Some(v) = m.get(key) {
            let b = f(obj(v, key)?)?;
            self.message(field, &b);
        }
        Ok(())
    }

    fn messages(&mut self, field: u32, m: &Obj, key: &str, f: fn(&Obj) -> Res<Vec<u8>>) -> Res<()> {
        match m.get(key) {
            None => Ok(()),
            Some(Value::Array(items)) => {
                for v in items {
                    let b = f(obj(v, key)?)?;
                    self.message(field, &b);
                }
                Ok(())
            }
            Some(_) => Err(format!("{key}: expected an array")),
        }
    }

    /// The `x-…` keys as `repeated NamedAny vendor_extension`.
    fn extensions(&mut self, field: u32, m: &Obj) {
        for (k, v) in m.iter().filter(|(k, _)| k.starts_with("x-")) {
            self.named(field, k, &any(v));
        }
    }
}

// ---- YAML, as gopkg.in/yaml.v3 marshals a node with its styles cleared ---------

/// The YAML text of a JSON value: block style, four-space indentation
/// (an item's mapping aligned after its `- `), no line wrapping, scalars plain unless that would change their
/// meaning or is not allowed.
fn yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_node(&mut out, v, Ctx::Root);
    out
}

#[derive(Clone, Copy)]
enum Ctx {
    Root,
    /// Just after `- ` of an item of a sequence indented this much.
    SeqItem(usize),
    /// Just after `key:` of a mapping indented this much.
    MapValue(usize),
}

fn yaml_node(out: &mut String, v: &Value, ctx: Ctx) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let indent = match ctx {
                Ctx::Root => 0,
                Ctx::SeqItem(i) => i + 2,
                Ctx::MapValue(i) => {
                    out.push('\n');
                    4 * ((i + 4) / 4)
                }
            };
            for (n, (k, x)) in m.iter().enumerate() {
                if n > 0 || !matches!(ctx, Ctx::SeqItem(_)) {
                    push_spaces(out, indent);
                }
                out.push_str(&yaml_string(k, true));
                out.push(':');
                yaml_node(out, x, Ctx::MapValue(indent));
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let indent = match ctx {
                Ctx::Root => 0,
                Ctx::SeqItem(i) => i + 2,
                Ctx::MapValue(i) => {
                    out.push('\n');
                    4 * ((i + 4) / 4)
                }
            };
            for (n, x) in items.iter().enumerate() {
                if n > 0 || !matches!(ctx, Ctx::SeqItem(_)) {
                    push_spaces(out, indent);
                }
                out.push_str("- ");
                yaml_node(out, x, Ctx::SeqItem(indent));
            }
        }
        scalar => {
            if matches!(ctx, Ctx::MapValue(_)) {
                out.push(' ');
            }
            out.push_str(&yaml_scalar(scalar));
            out.push('\n');
        }
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => yaml_string(s, false),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string scalar: double-quoted if its plain form would read as another
/// type (yaml.v3's `forceQuoting`), else plain if libyaml's scalar analysis
/// allows it, else single-quoted, else double-quoted. (yaml.v3 writes a
/// multi-line string as a literal block; none occurs in the documents served,
/// and it is double-quoted here.)
fn yaml_string(s: &str, simple_key: bool) -> String {
    if s.contains('\n') || resolves_to_non_string(s) {
        return double_quoted(s);
    }
    let a = analyze(s);
    if a.plain_allowed && !(s.is_empty() && simple_key) {
        s.to_string()
    } else if a.single_quoted_allowed {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

struct Analysis {
    plain_allowed: bool,
    single_quoted_allowed: bool,
}

/// libyaml's `yaml_emitter_analyze_scalar`, block context, unicode output.
fn analyze(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            plain_allowed: true,
            single_quoted_allowed: true,
        };
    }
    let mut indicators = s.starts_with("---") || s.starts_with("...");
    let mut special = false;
    let (mut leading_space, mut trailing_space, mut space_break, mut break_space) =
        (false, false, false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let chars: Vec<char> = s.chars().collect();
    let blankz = |c: Option<&char>| matches!(c, None | Some(' ' | '\t' | '\r' | '\n'));
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = blankz(chars.get(i + 1));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => indicators = true,
                '#' if preceded_by_whitespace => indicators = true,
                _ => {}
            }
        }
        let printable = matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}')
            || (('\u{a0}'..='\u{d7ff}').contains(&c) && c != '\u{feff}')
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || ('\u{10000}'..='\u{10ffff}').contains(&c);
        if !printable || c == '\u{feff}' {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == chars.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = blankz(Some(&c));
    }
    let mut plain = !(leading_space || trailing_space || indicators);
    let mut single = true;
    if break_space {
        plain = false;
        single = false;
    }
    if space_break || special {
        plain = false;
        single = false;
    }
    Analysis {
        plain_allowed: plain,
        single_quoted_allowed: single,
    }
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{feff}' => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether yaml.v3's `resolve` reads the plain text as something other than
/// a string: null, a boolean, an integer, a float, the merge key or a
/// timestamp.
fn resolves_to_non_string(s: &str) -> bool {
    const WORDS: [&str; 31] = [
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", ".nan",
        ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
        "-.INF", "<<", "y", "Y", "n", "N", "yes", "no", "on",
    ];
    // Only the words of yaml.v3's table are special; "y", "yes", "on" and
    // friends are YAML 1.1 booleans that yaml.v3 reads as strings.
    if WORDS[..24].contains(&s) {
        return true;
    }
    match s.as_bytes().first() {
        Some(b'.') => is_yaml_float(s),
        Some(b'+' | b'-' | b'0'..=b'9') => {
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            is_timestamp(s) || is_go_int(&plain) || is_yaml_float(&plain)
        }
        _ => false,
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` syntax (range not checked): a sign, then
/// `0x`/`0o`/`0b` digits, a leading-zero octal number or decimal digits.
fn is_go_int(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = s.to_ascii_lowercase();
    let (body, radix) = if let Some(r) = lower.strip_prefix("0x") {
        (r, 16)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (r, 8)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (r, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    !body.is_empty() && body.chars().all(|c| c.is_digit(radix))
}

/// yaml.v3 reads `2006-1-2`, optionally followed by a `T`/`t`/space and a
/// time, as a timestamp.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let mut parts = 0;
    let mut i = 0;
    while parts < 3 {
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let n = i - start;
        let ok = if parts == 0 {
            n == 4
        } else {
            (1..=2).contains(&n)
        };
        if !ok {
            return false;
        }
        parts += 1;
        if parts < 3 {
            if b.get(i) != Some(&b'-') {
                return false;
            }
            i += 1;
        }
    }
    i == b.len() || matches!(b.get(i), Some(b'T' | b't' | b' '))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Reads a protobuf message into `(field, wire type, payload)` triples.
    fn fields(mut b: &[u8]) -> Vec<(u32, u8, Vec<u8>)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b);
            let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
            let payload = match wire {
                0 => varint(&mut b).to_le_bytes().to_vec(),
                1 => {
                    let (p, rest) = b.split_at(8);
                    b = rest;
                    p.to_vec()
                }
                2 => {
                    let len = varint(&mut b) as usize;
                    let (p, rest) = b.split_at(len);
                    b = rest;
                    p.to_vec()
                }
                other => panic!("unexpected wire type {other}"),
            };
            out.push((field, wire, payload));
        }
        out
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8(b.to_vec()).expect("utf-8")
    }

    /// The payload of the one field `n` of a message.
    fn field(b: &[u8], n: u32) -> Vec<u8> {
        let all: Vec<_> = fields(b).into_iter().filter(|f| f.0 == n).collect();
        assert_eq!(all.len(), 1, "field {n} once");
        all[0].2.clone()
    }

    #[test]
    fn known_bytes_of_a_small_document() {
        let doc = r#"{"swagger":"2.0","info":{"title":"T","version":"1"},"paths":{},
            "definitions":{"a.B":{"type":"object","required":["x"],
              "properties":{"x":{"type":"string"}},"additionalProperties":false,
              "x-kubernetes-map-type":"atomic"}}}"#;
        let b = encode_document(doc).expect("encodes");
        let expected: Vec<u8> = [
            &b"\x0a\x032.0"[..],                          // swagger
            b"\x12\x06\x0a\x01T\x12\x011",                // info
            b"\x42\x00",                                  // paths: empty
            b"\x4a\x57\x0a\x55",                          // definitions, one NamedSchema
            b"\x0a\x03a.B\x12\x4e",                       // name, Schema (78 bytes):
            b"\x9a\x01\x01x",                             // required (19)
            b"\xaa\x01\x02\x10\x00", // additionalProperties (21): boolean false
            b"\xb2\x01\x08\x0a\x06object", // type (22)
            b"\xca\x01\x12\x0a\x10\x0a\x01x\x12\x0b", // properties (25): x →
            b"\xb2\x01\x08\x0a\x06string", //   type string
            b"\xfa\x01\x22\x0a\x15x-kubernetes-map-type", // vendor extension (31)
            b"\x12\x09\x12\x07atomic\n", //   Any{yaml}
        ]
        .concat();
        assert_eq!(b, expected);
        // The same, read back field by field.
        assert_eq!(
            fields(&b).iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![1, 2, 8, 9]
        );
        let schema = field(&field(&field(&b, 9), 1), 2);
        assert_eq!(
            fields(&schema).iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![19, 21, 22, 25, 31]
        );
        assert_eq!(
            text(&field(&field(&schema, 31), 1)),
            "x-kubernetes-map-type"
        );
    }

    /// Byte-for-byte against upstream: save a kube-apiserver's `/openapi/v2`
    /// in both forms and run
    /// `UPSTREAM_V2_JSON=up.json UPSTREAM_V2_PB=up.pb cargo test --lib upstream_bytes -- --ignored`.
    #[test]
    #[ignore = "needs an upstream server's documents"]
    fn upstream_bytes() {
        let json =
            std::fs::read_to_string(std::env::var("UPSTREAM_V2_JSON").expect("env")).expect("json");
        let pb = std::fs::read(std::env::var("UPSTREAM_V2_PB").expect("env")).expect("pb");
        let ours = encode_document(&json).expect("encodes");
        if ours != pb {
            let at = ours.iter().zip(&pb).position(|(a, b)| a != b);
            panic!(
                "differ: ours {} bytes, upstream {} bytes, first difference at {at:?}",
                ours.len(),
                pb.len()
            );
        }
    }

    #[test]
    fn parameters_choose_their_kind_as_gnostic_does() {
        let body = json!({"in": "body", "name": "body", "required": true,
            "schema": {"$ref": "#/definitions/x"}});
        let b = parameters_item(body.as_object().expect("object")).expect("body");
        // ParametersItem.parameter(1) → Parameter.body_parameter(1) → required(4), schema(5).
        let body_param = field(&field(&b, 1), 1);
        assert_eq!(
            fields(&body_param).iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![2, 3, 4, 5]
        );
        let query = json!({"in": "query", "name": "dryRun", "type": "string",
            "uniqueItems": true, "description": "d"});
        let b = parameters_item(query.as_object().expect("object")).expect("query");
        // → non_body_parameter(2) → query_parameter_sub_schema(3): in 2, description 3,
        // name 4, type 6, uniqueItems 20.
        let q = field(&field(&field(&b, 1), 2), 3);
        assert_eq!(
            fields(&q).iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![2, 3, 4, 6, 20]
        );
        let path = json!({"in": "path", "name": "name", "type": "string", "required": true,
            "uniqueItems": true});
        let b = parameters_item(path.as_object().expect("object")).expect("path");
        let p = field(&field(&field(&b, 1), 2), 4);
        assert_eq!(
            fields(&p).iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![1, 2, 4, 5, 19]
        );
        let reference = json!({"$ref": "#/parameters/pretty"});
        let b = parameters_item(reference.as_object().expect("object")).expect("ref");
        assert_eq!(field(&b, 2), b"\x0a\x13#/parameters/pretty".to_vec());
        assert!(
            parameters_item(
                json!({"in": "cookie", "name": "c", "type": "string"})
                    .as_object()
                    .expect("object")
            )
            .is_err()
        );
    }

    #[test]
    fn response_schemas_are_schemas_unless_files() {
        let r = json!({"200": {"description": "OK", "schema": {"type": "string"}},
            "401": {"description": "Unauthorized"}});
        let b = responses(r.as_object().expect("object")).expect("responses");
        let codes = fields(&b);
        assert_eq!(codes.len(), 2);
        let ok = field(&field(&codes[0].2, 2), 1); // ResponseValue.response
        let item = field(&ok, 2); // SchemaItem
        assert_eq!(fields(&item)[0].0, 1, "a Schema, not a FileSchema");
        let file = json!({"description": "f", "schema": {"type": "file"}});
        let b = response(file.as_object().expect("object")).expect("file");
        assert_eq!(fields(&field(&b, 2))[0].0, 2, "a FileSchema");
    }

    #[test]
    fn invalid_documents_are_refused() {
        assert!(encode_document("{").is_err());
        assert!(
            encode_document(r#"{"swagger":"2.0","info":{"title":"t","version":"v"}}"#).is_err()
        );
        let bad_key = r#"{"swagger":"2.0","info":{"title":"t","version":"v"},"paths":{},
            "definitions":{"a":{"typo":1}}}"#;
        assert!(encode_document(bad_key).is_err());
    }

    #[test]
    fn yaml_as_yaml_v3_writes_it() {
        let gvk = json!([{"group": "", "kind": "Pod", "version": "v1"}]);
        assert_eq!(yaml(&gvk), "- group: \"\"\n  kind: Pod\n  version: v1\n");
        assert_eq!(yaml(&json!("atomic")), "atomic\n");
        assert_eq!(yaml(&json!(["type", "name"])), "- type\n- name\n");
        assert_eq!(yaml(&json!("merge,retainKeys")), "merge,retainKeys\n");
        let unions = json!([{"discriminator": "type",
            "fields-to-discriminateBy": {"localhostProfile": "LocalhostProfile"}}]);
        assert_eq!(
            yaml(&unions),
            "- discriminator: type\n  fields-to-discriminateBy:\n    localhostProfile: LocalhostProfile\n"
        );
        assert_eq!(
            yaml(&json!({"a": {"b": [1, {"c": true}]}})),
            "a:\n    b:\n        - 1\n        - c: true\n"
        );
        assert_eq!(
            yaml(&json!({"a": [[1, 2], []], "e": {}})),
            "a:\n    - - 1\n      - 2\n    - []\ne: {}\n"
        );
        for (s, want) in [
            ("*", "'*'\n"),
            ("", "\"\"\n"),
            ("true", "\"true\"\n"),
            ("yes", "yes\n"),
            ("123", "\"123\"\n"),
            ("0x1F", "\"0x1F\"\n"),
            ("1_000", "\"1_000\"\n"),
            ("1.5e3", "\"1.5e3\"\n"),
            (".inf", "\".inf\"\n"),
            ("2024-01-02", "\"2024-01-02\"\n"),
            ("SIGRTMIN+9", "SIGRTMIN+9\n"),
            ("- x", "'- x'\n"),
            ("a: b", "'a: b'\n"),
            ("a #b", "'a #b'\n"),
            ("a#b", "a#b\n"),
            (" lead", "' lead'\n"),
            ("it's", "it's\n"),
            ("tab\there", "tab\there\n"),
            ("bell\u{7}", "\"bell\\a\"\n"),
            ("two\nlines", "\"two\\nlines\"\n"),
            ("<<", "\"<<\"\n"),
            ("~", "\"~\"\n"),
            ("-", "'-'\n"),
            ("Ünïcode", "Ünïcode\n"),
        ] {
            assert_eq!(yaml(&json!(s)), want, "{s:?}");
        }
        assert_eq!(yaml(&json!(null)), "null\n");
        assert_eq!(yaml(&json!(42)), "42\n");
    }
}
