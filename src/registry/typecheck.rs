//! Every object that is stored decodes as its kind.
//!
//! Upstream decodes every create and update body into the kind's Go struct
//! (`encoding/json` through `sigs.k8s.io/json`), decodes the result of a JSON
//! or merge patch the same way, and converts the result of a strategic merge
//! patch with `runtime.DefaultUnstructuredConverter`
//! (`staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go`). A field
//! of the wrong type is refused there, before anything is stored. ironkube
//! keeps objects as JSON, so this module does the same check against the
//! kind's OpenAPI schema, with the messages of those decoders:
//!
//! - [`Mode::Decode`]: Go's JSON decoder (`json: cannot unmarshal string into
//!   Go struct field Container.spec.containers.stdin of type bool`). Type
//!   errors are remembered and the walk goes on (the first one is reported);
//!   errors of a type's own `UnmarshalJSON` (Time, Quantity, IntOrString) end
//!   the walk at once and win, as in `encoding/json`.
//! - [`Mode::Unstructured`]: the unstructured converter
//!   (`staging/src/k8s.io/apimachinery/pkg/runtime/converter.go`): `cannot
//!   restore map from string`, `unrecognized type: bool`, `cannot convert
//!   float64 to int64`. It converts what it accepts: an integer too large
//!   for an int32 field is truncated as Go's conversion does, and a float
//!   with no fraction becomes an integer, so the stored object is typed.
//!
//! The schema is compiled once into a compact tree of [`Ty`]s; the check
//! walks the object and the tree together and allocates nothing unless it
//! finds an error.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::apimachinery::strategicpatch::json_kind_name;
use serde_json::{Map, Number, Value};

use crate::apimachinery::status::ApiError;
use crate::apimachinery::validation::{FieldError, invalid_status_message};
use crate::openapi::OpenApi;
use crate::registry::gotypes;
use crate::registry::store::PatchType;

type TyId = u32;

/// A Go type, as far as decoding JSON into it goes.
#[derive(Debug)]
enum Ty {
    /// `interface{}`, `RawExtension`, `FieldsV1`: anything.
    Any,
    String,
    Bool,
    Int32,
    Int64,
    Float,
    /// `[]byte`: a base64 string.
    Bytes,
    /// `metav1.Time`: an RFC 3339 string.
    Time,
    /// `metav1.MicroTime`: RFC 3339 with exactly six fraction digits.
    MicroTime,
    /// `resource.Quantity`.
    Quantity,
    /// `intstr.IntOrString`.
    IntOrString,
    /// A named scalar type (`type PodPhase string`): `base` with Go's name.
    Named {
        base: TyId,
        go: Box<str>,
    },
    Map {
        values: TyId,
        go: Box<str>,
    },
    Slice {
        items: TyId,
        go: Box<str>,
    },
    Struct {
        /// The Go type's name (`PodSpec`), as the decoder's errors name it.
        name: Box<str>,
        /// `v1.PodSpec`
        go: Box<str>,
        /// Sorted by field name.
        fields: Box<[(Box<str>, TyId)]>,
    },
}

/// How the object is being turned into its Go type (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Decode,
    Unstructured,
}

/// The compiled schemas of every kind the OpenAPI definitions declare.
pub struct Schemas {
    types: Vec<Ty>,
    kinds: Vec<KindEntry>,
}

/// `(group, version, kind, type)`.
type KindEntry = (Box<str>, Box<str>, Box<str>, TyId);

static SCHEMAS: OnceLock<Schemas> = OnceLock::new();

/// The compiled schemas (compiled on first use, from the embedded
/// definitions, which are the same for every `OpenApi`).
pub fn schemas(openapi: &OpenApi) -> &'static Schemas {
    SCHEMAS.get_or_init(|| Schemas::compile(openapi))
}

impl Schemas {
    fn compile(openapi: &OpenApi) -> Schemas {
        let empty = Map::new();
        let defs = openapi.definitions_map().unwrap_or(&empty);
        let mut c = Compiler {
            defs,
            types: vec![Ty::Any],
            by_def: HashMap::new(),
        };
        let mut kinds = Vec::new();
        for (g, v, k, name) in openapi.kinds() {
            let id = c.def(&name);
            kinds.push((g.into(), v.into(), k.into(), id));
        }
        Schemas {
            types: c.types,
            kinds,
        }
    }

    fn kind(&self, group: &str, version: &str, kind: &str) -> Option<TyId> {
        self.kinds
            .iter()
            .find(|(g, v, k, _)| &**k == kind && &**v == version && &**g == group)
            .map(|e| e.3)
    }

    /// Whether the definitions declare this kind.
    pub fn knows(&self, group: &str, version: &str, kind: &str) -> bool {
        self.kind(group, version, kind).is_some()
    }

    fn ty(&self, id: TyId) -> &Ty {
        self.types.get(id as usize).unwrap_or(&Ty::Any)
    }

    /// Checks `obj` (an object of the given kind). `Err` carries the
    /// message of the decoder `mode` stands for. In `Unstructured` mode the
    /// object is converted in place (see the module docs). An unknown kind
    /// passes.
    pub fn check(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        obj: &mut Value,
        mode: Mode,
    ) -> Result<(), String> {
        let Some(id) = self.kind(group, version, kind) else {
            return Ok(());
        };
        match mode {
            Mode::Decode => {
                let mut w = Decoder {
                    s: self,
                    stack: [""; MAX_PATH],
                    len: 0,
                    structure: "",
                    saved: None,
                    null_elements: false,
                };
                match w.value(id, obj) {
                    Err(hard) => Err(hard),
                    Ok(()) => match w.saved {
                        Some(e) => Err(e),
                        None => {
                            if w.null_elements {
                                zero_null_elements(self, id, obj, 0);
                            }
                            Ok(())
                        }
                    },
                }
            }
            Mode::Unstructured => convert(self, id, obj, 0),
        }
    }

    /// The paths of the scalar, map and list fields of a kind with the
    /// value of another type (for tests that mistype fields): `(path, a
    /// value of the wrong type)`. Paths are JSON pointers through objects
    /// only, at most `depth` structs deep.
    pub fn mistypings(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        depth: usize,
    ) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some(id) = self.kind(group, version, kind) {
            self.collect(id, String::new(), depth, &mut out);
        }
        out
    }

    fn collect(&self, id: TyId, path: String, depth: usize, out: &mut Vec<(String, Value)>) {
        let wrong = match self.ty(id) {
            Ty::Any => return,
            Ty::String => serde_json::json!(1),
            Ty::Bool => serde_json::json!("yes"),
            Ty::Int32 => serde_json::json!(4294967296u64),
            Ty::Int64 => serde_json::json!(1.5),
            Ty::Float => serde_json::json!("1"),
            Ty::Named { base, .. } => {
                return self.collect(*base, path, depth, out);
            }
            Ty::Bytes => serde_json::json!("!!"),
            Ty::Time | Ty::MicroTime => serde_json::json!("yesterday"),
            Ty::Quantity => serde_json::json!("lots"),
            Ty::IntOrString => serde_json::json!(true),
            Ty::Map { .. } => serde_json::json!([1]),
            Ty::Slice { items, .. } => {
                // The list itself, and the fields of its first item.
                if depth > 0 && matches!(self.ty(*items), Ty::Struct { .. }) {
                    self.collect(*items, format!("{path}/0"), depth - 1, out);
                }
                serde_json::json!({"a": 1})
            }
            Ty::Struct { fields, .. } => {
                if !path.is_empty() {
                    out.push((path.clone(), serde_json::json!("invalid")));
                }
                if depth == 0 {
                    return;
                }
                for (name, f) in fields.iter() {
                    if path.is_empty() && matches!(&**name, "kind" | "apiVersion") {
                        continue;
                    }
                    self.collect(*f, format!("{path}/{name}"), depth - 1, out);
                }
                return;
            }
        };
        out.push((path, wrong));
    }
}

struct Compiler<'a> {
    defs: &'a Map<String, Value>,
    types: Vec<Ty>,
    by_def: HashMap<&'a str, TyId>,
}

const DEPTH_LIMIT: usize = 64;

impl<'a> Compiler<'a> {
    fn push(&mut self, t: Ty) -> TyId {
        self.types.push(t);
        (self.types.len() - 1) as TyId
    }

    /// The type of a named definition.
    fn def(&mut self, name: &str) -> TyId {
        let Some((key, schema)) = self.defs.get_key_value(name) else {
            return 0;
        };
        if let Some(id) = self.by_def.get(key.as_str()) {
            return *id;
        }
        let special = match short_name(key) {
            "Time" => Some(Ty::Time),
            "MicroTime" => Some(Ty::MicroTime),
            "Quantity" => Some(Ty::Quantity),
            "IntOrString" => Some(Ty::IntOrString),
            "RawExtension" | "FieldsV1" | "JSON" => Some(Ty::Any),
            _ => None,
        };
        if let Some(t) = special {
            let id = self.push(t);
            self.by_def.insert(key, id);
            return id;
        }
        // Placeholder first, so that a recursive definition ends.
        let id = self.push(Ty::Any);
        self.by_def.insert(key, id);
        let t = self.shape(schema, Some(key), 0);
        if let Some(slot) = self.types.get_mut(id as usize) {
            *slot = t;
        }
        id
    }

    /// The type of a property schema (a `$ref`, an `allOf` wrapper, or inline).
    fn node(&mut self, s: &'a Value, depth: usize) -> TyId {
        if depth > DEPTH_LIMIT {
            return 0;
        }
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            let name = r
                .strip_prefix("#/definitions/")
                .or_else(|| r.strip_prefix("#/components/schemas/"))
                .unwrap_or(r);
            return self.def(name);
        }
        if let Some([only]) = s.get("allOf").and_then(Value::as_array).map(Vec::as_slice)
            && s.get("properties").is_none()
        {
            return self.node(only, depth + 1);
        }
        let t = self.shape(s, None, depth);
        self.push(t)
    }

    fn shape(&mut self, s: &'a Value, def: Option<&str>, depth: usize) -> Ty {
        let props = s.get("properties").and_then(Value::as_object);
        match s.get("type").and_then(Value::as_str) {
            Some("string") => match s.get("format").and_then(Value::as_str) {
                Some("byte") => Ty::Bytes,
                Some("date-time") => Ty::Time,
                Some("int-or-string") => Ty::IntOrString,
                _ => Ty::String,
            },
            Some("boolean") => Ty::Bool,
            Some("integer") => match s.get("format").and_then(Value::as_str) {
                Some("int32") => Ty::Int32,
                _ => Ty::Int64,
            },
            Some("number") => Ty::Float,
            Some("array") => match s.get("items").filter(|i| i.is_object()) {
                Some(items) => {
                    let id = self.node(items, depth + 1);
                    let go = format!("[]{}", self.go_name(id)).into();
                    Ty::Slice { items: id, go }
                }
                None => Ty::Any,
            },
            _ if props.is_some() => {
                let mut fields: Vec<(Box<str>, TyId)> = Vec::new();
                for (name, p) in props.into_iter().flatten() {
                    let mut id = self.node(p, depth + 1);
                    if let Some(d) = def
                        && let Some((_, _, go, list)) = gotypes::NAMED
                            .iter()
                            .find(|(nd, nf, _, _)| *nd == d && *nf == name)
                    {
                        id = self.named(id, go, *list);
                    }
                    fields.push((name.as_str().into(), id));
                }
                fields.sort_by(|a, b| a.0.cmp(&b.0));
                let (name, go) = match def {
                    Some(d) => (short_name(d).into(), go_struct_name(d).into()),
                    None => ("".into(), "struct".into()),
                };
                Ty::Struct {
                    name,
                    go,
                    fields: fields.into_boxed_slice(),
                }
            }
            Some("object") => match s.get("additionalProperties").filter(|a| a.is_object()) {
                Some(values) => {
                    let id = self.node(values, depth + 1);
                    let go = match self.types.get(id as usize) {
                        // Every map of quantities in the served kinds is a `v1.ResourceList`.
                        Some(Ty::Quantity) => "v1.ResourceList".into(),
                        _ => format!("map[string]{}", self.go_name(id)).into(),
                    };
                    Ty::Map { values: id, go }
                }
                None => Ty::Any,
            },
            _ => Ty::Any,
        }
    }

    /// `id` (a scalar, or a list of scalars) under a Go type name.
    fn named(&mut self, id: TyId, go: &str, list: bool) -> TyId {
        if list {
            let Some(Ty::Slice { items, .. }) = self.types.get(id as usize) else {
                return id;
            };
            let items = *items;
            let named = self.named(items, go, false);
            return self.push(Ty::Slice {
                items: named,
                go: format!("[]{go}").into(),
            });
        }
        match self.types.get(id as usize) {
            Some(Ty::String | Ty::Bool | Ty::Int32 | Ty::Int64) => self.push(Ty::Named {
                base: id,
                go: go.into(),
            }),
            _ => id,
        }
    }

    fn go_name(&self, id: TyId) -> String {
        match self.types.get(id as usize) {
            Some(Ty::String) => "string".into(),
            Some(Ty::Bool) => "bool".into(),
            Some(Ty::Int32) => "int32".into(),
            Some(Ty::Int64) => "int64".into(),
            Some(Ty::Float) => "float64".into(),
            Some(Ty::Bytes) => "[]uint8".into(),
            Some(Ty::Time) => "v1.Time".into(),
            Some(Ty::MicroTime) => "v1.MicroTime".into(),
            Some(Ty::Quantity) => "resource.Quantity".into(),
            Some(Ty::IntOrString) => "intstr.IntOrString".into(),
            Some(
                Ty::Map { go, .. }
                | Ty::Slice { go, .. }
                | Ty::Struct { go, .. }
                | Ty::Named { go, .. },
            ) => go.to_string(),
            Some(Ty::Any) | None => {
                // A definition being compiled (a placeholder): its name.
                self.by_def
                    .iter()
                    .find(|(_, v)| **v == id)
                    .map(|(k, _)| go_struct_name(k))
                    .unwrap_or_else(|| "interface {}".into())
            }
        }
    }
}

/// `io.k8s.api.core.v1.PodSpec` → `PodSpec`.
fn short_name(def: &str) -> &str {
    def.rsplit('.').next().unwrap_or(def)
}

/// `io.k8s.api.core.v1.PodSpec` → `v1.PodSpec` (Go's `reflect.Type.String()`).
fn go_struct_name(def: &str) -> String {
    let mut parts = def.rsplit('.');
    let name = parts.next().unwrap_or(def);
    match parts.next() {
        Some(pkg) => format!("{pkg}.{name}"),
        None => name.to_string(),
    }
}

// ----------------------------------------------------------------------------
// Mode::Decode: Go's encoding/json.

const MAX_PATH: usize = 48;

struct Decoder<'a> {
    s: &'a Schemas,
    /// The struct fields from the top (Go's `errorContext.FieldStack`).
    stack: [&'a str; MAX_PATH],
    len: usize,
    /// The Go name of the struct whose field is being decoded.
    structure: &'a str,
    /// The first type error (decoding goes on after one).
    saved: Option<String>,
    /// Whether a map value or list item is `null` (which Go decodes as
    /// the element type's zero value).
    null_elements: bool,
}

/// A JSON number as written, as far as serde_json keeps it.
fn number_text(n: &Number) -> String {
    n.to_string()
}

fn fits_i32(n: &Number) -> bool {
    n.as_i64().is_some_and(|i| i32::try_from(i).is_ok())
}

impl<'a> Decoder<'a> {
    /// `json: cannot unmarshal <what> into Go struct field <S>.<path> of type <T>`.
    fn type_error(&self, what: &str, go_type: &str) -> String {
        let mut m = format!(
            "json: cannot unmarshal {what} into Go struct field {}.",
            self.structure
        );
        for (i, f) in self.stack.iter().take(self.len).enumerate() {
            if i > 0 {
                m.push('.');
            }
            m.push_str(f);
        }
        m.push_str(" of type ");
        m.push_str(go_type);
        m
    }

    fn save(&mut self, msg: impl FnOnce(&Self) -> String) {
        if self.saved.is_none() {
            self.saved = Some(msg(self));
        }
    }

    fn mismatch(&mut self, v: &Value, go_type: &str) {
        let what = json_kind_name(v);
        self.save(|d| d.type_error(what, go_type));
    }

    /// A string, bool or integer (under its Go name `go`).
    fn scalar(&mut self, t: &Ty, go: &str, v: &Value) {
        match (t, v) {
            (Ty::String, Value::String(_)) | (Ty::Bool, Value::Bool(_)) => {}
            (Ty::Int32 | Ty::Int64, Value::Number(n)) => {
                let ok = if matches!(t, Ty::Int32) {
                    fits_i32(n)
                } else {
                    n.is_i64()
                };
                if !ok {
                    let what = format!("number {}", number_text(n));
                    self.save(|d| d.type_error(&what, go));
                }
            }
            _ => self.mismatch(v, go),
        }
    }

    fn value(&mut self, id: TyId, v: &'a Value) -> Result<(), String> {
        if v.is_null() {
            return Ok(());
        }
        let s = self.s;
        match s.ty(id) {
            Ty::Any => {}
            Ty::Named { base, go } => self.scalar(s.ty(*base), go, v),
            t @ (Ty::String | Ty::Bool | Ty::Int32 | Ty::Int64) => {
                let go = match t {
                    Ty::String => "string",
                    Ty::Bool => "bool",
                    Ty::Int32 => "int32",
                    _ => "int64",
                };
                self.scalar(t, go, v)
            }
            Ty::Float => {
                if !v.is_number() {
                    self.mismatch(v, "float64");
                }
            }
            Ty::Bytes => match v {
                Value::String(text) => {
                    if let Err(at) = base64_check(text.as_bytes()) {
                        self.save(|_| format!("illegal base64 data at input byte {at}"));
                    }
                }
                _ => self.mismatch(v, "[]uint8"),
            },
            t @ (Ty::Time | Ty::MicroTime) => match v {
                Value::String(text) => {
                    let micro = matches!(t, Ty::MicroTime);
                    parse_time(text, micro)?;
                }
                _ => return Err(self.type_error(json_kind_name(v), "string")),
            },
            Ty::Quantity => match v {
                Value::String(text) => parse_quantity(text.trim())?,
                Value::Number(n) => parse_quantity(&number_text(n))?,
                _ => return Err(QUANTITY_FORMAT.to_string()),
            },
            Ty::IntOrString => match v {
                Value::String(_) => {}
                Value::Number(n) => {
                    if !fits_i32(n) {
                        return Err(self.type_error(&format!("number {}", number_text(n)), "int32"));
                    }
                }
                _ => return Err(self.type_error(json_kind_name(v), "int32")),
            },
            Ty::Map { values, go } => match v {
                Value::Object(m) => {
                    for child in m.values() {
                        self.null_elements |= child.is_null();
                        self.value(*values, child)?;
                    }
                }
                _ => self.mismatch(v, go),
            },
            Ty::Slice { items, go } => match v {
                Value::Array(a) => {
                    for child in a {
                        self.null_elements |= child.is_null();
                        self.value(*items, child)?;
                    }
                }
                _ => self.mismatch(v, go),
            },
            Ty::Struct { name, go, fields } => match v {
                Value::Object(m) => {
                    for (key, child) in m {
                        let Ok(i) = fields.binary_search_by(|f| (*f.0).cmp(key.as_str())) else {
                            continue; // unknown fields are another check's business
                        };
                        let Some((_, fid)) = fields.get(i) else {
                            continue;
                        };
                        let (outer, len) = (self.structure, self.len);
                        if let Some(slot) = self.stack.get_mut(len) {
                            *slot = key.as_str();
                            self.len += 1;
                        }
                        self.structure = name;
                        let r = self.value(*fid, child);
                        self.structure = outer;
                        self.len = len;
                        r?;
                    }
                }
                _ => self.mismatch(v, go),
            },
        }
        Ok(())
    }
}

/// Replaces `null` map values and list items with what Go decodes them to,
/// the zero value of the element type (`{"a": null}` in a `map[string]string`
/// is stored as `{"a": ""}`), so that typed clients can read the object.
fn zero_null_elements(s: &Schemas, id: TyId, v: &mut Value, depth: usize) {
    if depth > DEPTH_LIMIT {
        return;
    }
    let element = |s: &Schemas, id: TyId, v: &mut Value| {
        if v.is_null()
            && let Some(zero) = zero_value(s, id)
        {
            *v = zero;
        }
    };
    match s.ty(id) {
        Ty::Map { values, .. } => {
            if let Value::Object(m) = v {
                for child in m.values_mut() {
                    element(s, *values, child);
                    zero_null_elements(s, *values, child, depth + 1);
                }
            }
        }
        Ty::Slice { items, .. } => {
            if let Value::Array(a) = v {
                for child in a {
                    element(s, *items, child);
                    zero_null_elements(s, *items, child, depth + 1);
                }
            }
        }
        Ty::Struct { fields, .. } => {
            if let Value::Object(m) = v {
                for (key, child) in m.iter_mut() {
                    if let Ok(i) = fields.binary_search_by(|f| (*f.0).cmp(key.as_str()))
                        && let Some((_, fid)) = fields.get(i)
                    {
                        zero_null_elements(s, *fid, child, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

/// How Go encodes the zero value of a type (`None`: as `null`).
fn zero_value(s: &Schemas, id: TyId) -> Option<Value> {
    Some(match s.ty(id) {
        Ty::Named { base, .. } => return zero_value(s, *base),
        Ty::String | Ty::Bytes => Value::String(String::new()),
        Ty::Bool => Value::Bool(false),
        Ty::Int32 | Ty::Int64 | Ty::Float | Ty::IntOrString => Value::from(0),
        Ty::Quantity => Value::String("0".into()),
        Ty::Struct { .. } => Value::Object(Map::new()),
        Ty::Any | Ty::Time | Ty::MicroTime | Ty::Map { .. } | Ty::Slice { .. } => return None,
    })
}

// ----------------------------------------------------------------------------
// Mode::Unstructured: runtime.DefaultUnstructuredConverter.

fn unstructured_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// A type's own `UnmarshalJSON`, called on the JSON of an unstructured value.
fn unmarshal_special(t: &Ty, v: &Value) -> Result<(), String> {
    let go_value =
        |what: &str, ty: &str| format!("json: cannot unmarshal {what} into Go value of type {ty}");
    match (t, v) {
        (Ty::Time | Ty::MicroTime, Value::String(s)) => parse_time(s, matches!(t, Ty::MicroTime)),
        (Ty::Time | Ty::MicroTime, _) => Err(go_value(json_kind_name(v), "string")),
        (Ty::Quantity, Value::String(s)) => parse_quantity(s.trim()),
        (Ty::Quantity, Value::Number(n)) => parse_quantity(&number_text(n)),
        (Ty::Quantity, _) => Err(QUANTITY_FORMAT.to_string()),
        (Ty::IntOrString, Value::String(_)) => Ok(()),
        (Ty::IntOrString, Value::Number(n)) if fits_i32(n) => Ok(()),
        (Ty::IntOrString, Value::Number(n)) => {
            Err(go_value(&format!("number {}", number_text(n)), "int32"))
        }
        (Ty::IntOrString, _) => Err(go_value(json_kind_name(v), "int32")),
        _ => Ok(()),
    }
}

/// An integer value converted to a Go integer type (truncating, as Go's
/// conversions do), or `None` if it is not one.
fn to_int(v: &Value, bits32: bool) -> Result<Option<i64>, String> {
    let Value::Number(n) = v else { return Ok(None) };
    let go = if bits32 { "int32" } else { "int64" };
    let i = if let Some(i) = n.as_i64() {
        i
    } else if let Some(u) = n.as_u64() {
        // util/json decodes integers beyond int64 as float64.
        u as f64 as i64
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        if f.trunc() != f {
            return Err(format!("cannot convert float64 to {go}"));
        }
        f as i64
    };
    Ok(Some(if bits32 { i64::from(i as i32) } else { i }))
}

fn convert(s: &Schemas, id: TyId, v: &mut Value, depth: usize) -> Result<(), String> {
    if v.is_null() || depth > DEPTH_LIMIT {
        return Ok(());
    }
    let (t, go) = match s.ty(id) {
        Ty::Named { base, go } => (s.ty(*base), Some(&**go)),
        t => (t, None),
    };
    match t {
        Ty::Any | Ty::Named { .. } => Ok(()),
        Ty::String => match v {
            Value::String(_) => Ok(()),
            Value::Number(n) if !n.is_f64() => Err(format!(
                "cannot convert int64 to {}",
                go.unwrap_or("string")
            )),
            _ => Err("unrecognized type: string".into()),
        },
        Ty::Bool => match v {
            Value::Bool(_) => Ok(()),
            _ => Err("unrecognized type: bool".into()),
        },
        Ty::Int32 | Ty::Int64 => {
            let bits32 = matches!(t, Ty::Int32);
            match to_int(v, bits32)? {
                Some(i) => {
                    if v.as_i64() != Some(i) {
                        *v = Value::from(i);
                    }
                    Ok(())
                }
                None => Err(format!(
                    "unrecognized type: {}",
                    if bits32 { "int32" } else { "int64" }
                )),
            }
        }
        Ty::Float => match v {
            Value::Number(_) => Ok(()),
            _ => Err("unrecognized type: float64".into()),
        },
        Ty::Bytes => match v {
            Value::String(text) => match base64_check(text.as_bytes()) {
                Ok(()) => Ok(()),
                Err(at) => Err(format!(
                    "error decoding from json: illegal base64 data at input byte {at}"
                )),
            },
            _ => Err(format!(
                "cannot restore slice from {}",
                unstructured_kind(v)
            )),
        },
        Ty::Time | Ty::MicroTime | Ty::Quantity | Ty::IntOrString => unmarshal_special(t, v),
        Ty::Map { values, .. } => match v {
            Value::Object(m) => {
                for child in m.values_mut() {
                    convert(s, *values, child, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(format!("cannot restore map from {}", unstructured_kind(v))),
        },
        Ty::Slice { items, .. } => match v {
            Value::Array(a) => {
                for child in a {
                    convert(s, *items, child, depth + 1)?;
                }
                Ok(())
            }
            _ => Err(format!(
                "cannot restore slice from {}",
                unstructured_kind(v)
            )),
        },
        Ty::Struct { fields, .. } => match v {
            Value::Object(m) => {
                for (key, child) in m.iter_mut() {
                    if let Ok(i) = fields.binary_search_by(|f| (*f.0).cmp(key.as_str()))
                        && let Some((_, fid)) = fields.get(i)
                    {
                        convert(s, *fid, child, depth + 1)?;
                    }
                }
                Ok(())
            }
            _ => Err(format!(
                "cannot restore struct from: {}",
                unstructured_kind(v)
            )),
        },
    }
}

/// Go's `fmt` `%+v` of a JSON value decoded into `interface{}` (the patch
/// map in upstream's strategic-merge-patch errors): `map[a:1 b:[x y]]`.
pub fn go_format(v: &Value) -> String {
    let mut out = String::new();
    go_format_into(v, &mut out);
    out
}

fn go_format_into(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(f)) => out.push_str(&go_float(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => out.push_str(s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_format_into(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                if let Some(x) = m.get(k) {
                    go_format_into(x, out);
                }
            }
            out.push(']');
        }
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(f, 'g', -1, 64)`).
fn go_float(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    let exp = f.abs().log10().floor() as i32;
    if !(-4..21).contains(&exp) {
        // Rust's `{:e}` is shortest-round-trip too: `1e21`, `1.5e-5`.
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = match e.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', e),
                };
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        }
    } else {
        format!("{f}")
    }
}

// ----------------------------------------------------------------------------
// base64 (Go's `base64.StdEncoding.Decode` error offsets).

fn b64_value(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// `Err(offset)` of Go's `CorruptInputError` for input that standard
/// base64 (padded; `\r` and `\n` skipped) does not decode.
fn base64_check(src: &[u8]) -> Result<(), usize> {
    let n = src.len();
    let mut si = 0;
    loop {
        // One quantum of up to four characters.
        let mut j = 0;
        while j < 4 {
            if si == n {
                return match j {
                    0 => Ok(()),
                    _ => Err(si - j),
                };
            }
            let c = src[si];
            si += 1;
            if b64_value(c) {
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < n && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == n {
                        return Err(n);
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < n && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            return if si < n { Err(si) } else { Ok(()) };
        }
    }
}

// ----------------------------------------------------------------------------
// resource.ParseQuantity (`staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go`).

const QUANTITY_FORMAT: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_NUMERIC: &str = "unable to parse numeric part of quantity";
const QUANTITY_SUFFIX: &str = "unable to parse quantity's suffix";

fn parse_quantity(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(QUANTITY_FORMAT.into());
    }
    let b = s.as_bytes();
    let end = b.len();
    let mut pos = 0;
    if b[0] == b'-' || b[0] == b'+' {
        pos = 1;
    }
    let zeroes_from = pos;
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    let had_zero = pos > zeroes_from;
    if pos >= end {
        return Ok(());
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut digits = pos - num_start;
    if pos < end && b[pos] == b'.' {
        pos += 1;
        let d = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        digits += pos - d;
    }
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end {
        if b[pos] == b'-' || b[pos] == b'+' {
            pos += 1;
        }
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos < end {
            return Err(QUANTITY_FORMAT.into());
        }
    }
    let suffix = &s[suffix_start..];
    let known = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1
        && (suffix.starts_with('e') || suffix.starts_with('E'))
        && suffix[1..].parse::<i32>().is_ok());
    if !known {
        return Err(QUANTITY_SUFFIX.into());
    }
    if digits == 0 && !had_zero {
        return Err(QUANTITY_NUMERIC.into());
    }
    Ok(())
}

// ----------------------------------------------------------------------------
// time.Parse(time.RFC3339, s) and time.Parse(RFC3339Micro, s) errors
// (`src/time/format.go`).

const RFC3339: &str = "2006-01-02T15:04:05Z07:00";
const RFC3339_MICRO: &str = "2006-01-02T15:04:05.000000Z07:00";

/// Go's `time` package quoting.
fn time_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if (c as u32) >= 0x80 || c < ' ' {
            let mut buf = [0u8; 4];
            for byte in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{byte:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

fn getnum(v: &str, fixed: bool) -> Option<(u32, &str)> {
    let b = v.as_bytes();
    let d0 = *b.first().filter(|c| c.is_ascii_digit())?;
    match b.get(1).filter(|c| c.is_ascii_digit()) {
        Some(d1) => Some((u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'), &v[2..])),
        None if fixed => None,
        None => Some((u32::from(d0 - b'0'), &v[1..])),
    }
}

fn days_in(month: u32, year: i64) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_time(value: &str, micro: bool) -> Result<(), String> {
    let layout = if micro { RFC3339_MICRO } else { RFC3339 };
    let cannot = |elem: &str, rest: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            time_quote(value),
            time_quote(layout),
            time_quote(rest),
            time_quote(elem)
        )
    };
    let range = |what: &str| format!("parsing time {}: {what} out of range", time_quote(value));
    let lit = |v: &'_ str, c: u8| -> bool { v.as_bytes().first() == Some(&c) };
    let mut v = value;
    // 2006
    let year = match v.get(0..4) {
        Some(y) if y.bytes().all(|c| c.is_ascii_digit()) => y.parse::<i64>().unwrap_or(0),
        _ => return Err(cannot("2006", v)),
    };
    v = &v[4..];
    let mut fields = [0u32; 5];
    for (i, (sep, elem, fixed, name, max)) in [
        (b'-', "01", true, "month", 12),
        (b'-', "02", true, "day", 31),
        (b'T', "15", false, "hour", 23),
        (b':', "04", true, "minute", 59),
        (b':', "05", true, "second", 59),
    ]
    .into_iter()
    .enumerate()
    {
        if !lit(v, sep) {
            return Err(cannot(&(sep as char).to_string(), v));
        }
        v = &v[1..];
        let Some((n, rest)) = getnum(v, fixed) else {
            return Err(cannot(elem, v));
        };
        if n > max || (i == 0 && n == 0) {
            return Err(range(name));
        }
        if let Some(slot) = fields.get_mut(i) {
            *slot = n;
        }
        v = rest;
    }
    if micro {
        // `.000000`: a period or comma and exactly six digits.
        let b = v.as_bytes();
        if b.len() < 7 || !(b[0] == b'.' || b[0] == b',') || !b[1..7].iter().all(u8::is_ascii_digit)
        {
            return Err(cannot(".000000", v));
        }
        v = &v[7..];
    } else if v.len() >= 2 {
        let b = v.as_bytes();
        if (b[0] == b'.' || b[0] == b',') && b[1].is_ascii_digit() {
            let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            v = &v[n..];
        }
    }
    // Z07:00
    if lit(v, b'Z') {
        v = &v[1..];
    } else {
        let b = v.as_bytes();
        if b.len() < 6 || b[3] != b':' {
            return Err(cannot("Z07:00", v));
        }
        let (Some((hh, _)), Some((mm, _))) = (getnum(&v[1..3], true), getnum(&v[4..6], true))
        else {
            return Err(cannot("Z07:00", v));
        };
        if hh > 24 {
            return Err(range("time zone offset hour"));
        }
        if mm > 60 {
            return Err(range("time zone offset minute"));
        }
        if b[0] != b'+' && b[0] != b'-' {
            return Err(cannot("Z07:00", v));
        }
        v = &v[6..];
    }
    if !v.is_empty() {
        return Err(format!(
            "parsing time {}: extra text: {}",
            time_quote(value),
            time_quote(v)
        ));
    }
    if fields[1] < 1 || fields[1] > days_in(fields[0], year) {
        return Err(range("day"));
    }
    Ok(())
}

// ----------------------------------------------------------------------------
// The write paths' answers (`registry::store` calls these).

/// The scheme upstream names in "no kind is registered" errors.
const SCHEME: &str = "pkg/api/legacyscheme/scheme.go:30";

/// 400 of a body that does not decode (`handlers/create.go`, `update.go`).
fn decode_error(kind: &str, version: &str, msg: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{kind} in version \"{version}\" cannot be handled as a {kind}: {msg}"
    ))
}

/// 422 of a patch whose result does not decode (`handlers/patch.go`:
/// `errors.NewInvalid(schema.GroupKind{}, "", field.Invalid("patch", value, err))`).
fn patch_error(value: String, msg: &str) -> ApiError {
    let errs = [FieldError::invalid("patch", Value::String(value), msg)];
    let cause = serde_json::json!({
        "reason": "FieldValueInvalid",
        "message": errs[0].message(),
        "field": "patch",
    });
    ApiError {
        code: 422,
        reason: "Invalid",
        message: invalid_status_message("", "", &errs),
        details: Some(serde_json::json!({ "causes": [cause] })),
    }
}

/// A create or update body without `kind` or `apiVersion` takes them from
/// the endpoint, as upstream's decoder defaults the group-version-kind it
/// decodes into (`runtime/serializer/json`, `Decode` with `into`).
pub fn default_type_meta(obj: &mut Value, group: &str, version: &str, kind: &str) {
    let Some(m) = obj.as_object_mut() else { return };
    let empty = |m: &Map<String, Value>, k: &str| {
        m.get(k).and_then(Value::as_str).is_none_or(str::is_empty)
    };
    if empty(m, "kind") {
        m.insert("kind".into(), Value::String(kind.to_string()));
    }
    if empty(m, "apiVersion") {
        let av = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        m.insert("apiVersion".into(), Value::String(av));
    }
}

/// Checks a create or update body (decoded as Go's JSON decoder would).
pub fn check_body(
    openapi: &OpenApi,
    gvk: (&str, &str, &str),
    obj: &mut Value,
) -> Result<(), ApiError> {
    schemas(openapi)
        .check(gvk.0, gvk.1, gvk.2, obj, Mode::Decode)
        .map_err(|m| decode_error(gvk.2, gvk.1, &m))
}

/// The internal (hub) package of a kind, as conversion errors name it: the
/// group's first DNS label (`apps`, `rbac` for rbac.authorization.k8s.io,
/// `networking`, `batch`, ...), as upstream names its packages after their
/// groups (`pkg/apis/<package>`). The exceptions: the core group and
/// events.k8s.io (whose Event is the core one) are `core`,
/// internal.apiserver.k8s.io is `apiserverinternal`, and `Scale` is
/// autoscaling's whatever group serves it.
pub fn internal_package<'a>(group: &'a str, kind: &str) -> &'a str {
    match group {
        _ if kind == "Scale" => "autoscaling",
        "" | "events.k8s.io" => "core",
        "internal.apiserver.k8s.io" => "apiserverinternal",
        g => g.split('.').next().unwrap_or(g),
    }
}

/// Checks the result of a JSON, merge or strategic merge patch before it is
/// stored, as `handlers/patch.go` decodes it: the JSON of a JSON or merge
/// patch is decoded (with its `kind`/`apiVersion`), the map of a strategic
/// merge patch converted. Returns the object to store, with the endpoint's
/// `kind`/`apiVersion`.
pub fn check_patched(
    openapi: &OpenApi,
    gvk: (&str, &str, &str),
    name: &str,
    patch_type: PatchType,
    patch: &Value,
    mut patched: Value,
) -> Result<Value, ApiError> {
    let s = schemas(openapi);
    let (group, version, kind) = gvk;
    let want_av = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    match patch_type {
        PatchType::StrategicMerge => {
            s.check(group, version, kind, &mut patched, Mode::Unstructured)
                .map_err(|m| patch_error(go_format(patch), &m))?;
        }
        PatchType::Json | PatchType::Merge => {
            let av = patched
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let k = patched
                .get("kind")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty())
                .unwrap_or(kind)
                .to_string();
            if av.is_empty() {
                // Upstream decodes nothing usable then (not even the name).
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({name} based on URL) was undeterminable: name must be provided"
                )));
            }
            if av != want_av {
                return Err(patch_error(
                    patched_text(&patched),
                    &format!(
                        "no kind \"{k}\" is registered for version \"{av}\" in scheme \"{SCHEME}\""
                    ),
                ));
            }
            if k.as_str() != kind {
                if !s.knows(group, version, &k) {
                    return Err(patch_error(
                        patched_text(&patched),
                        &format!(
                            "no kind \"{k}\" is registered for version \"{av}\" in scheme \"{SCHEME}\""
                        ),
                    ));
                }
                // Decoded as the kind it names, then not convertible.
                let mut as_other = patched.clone();
                if let Err(m) = s.check(group, version, &k, &mut as_other, Mode::Decode) {
                    return Err(patch_error(patched_text(&patched), &m));
                }
                return Err(patch_error(
                    patched_text(&patched),
                    &format!(
                        "converting ({version}.{k}) to ({}.{kind}): unknown conversion",
                        internal_package(group, kind)
                    ),
                ));
            }
            if let Err(m) = s.check(group, version, kind, &mut patched, Mode::Decode) {
                return Err(patch_error(patched_text(&patched), &m));
            }
        }
    }
    if let Some(m) = patched.as_object_mut() {
        m.insert("kind".into(), Value::String(kind.to_string()));
        m.insert("apiVersion".into(), Value::String(want_av));
    }
    Ok(patched)
}

/// The JSON upstream shows for a JSON or merge patch result: the patch
/// library re-encodes the top-level object with its keys sorted.
fn patched_text(patched: &Value) -> String {
    match patched {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = String::from("{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = m.get(k) {
                    out.push_str(&v.to_string());
                }
            }
            out.push('}');
            out
        }
        other => other.to_string(),
    }
}

/// `(ns/name; group/version, Kind=kind)` as server-side apply's errors name
/// the object (`metav1.Object` namespace and name, `GroupVersionKind.String()`).
fn apply_subject(obj: &Value, name: &str) -> String {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    format!("{ns}/{name}; {g}/{v}, Kind={kind}")
}

fn internal_error(message: String) -> ApiError {
    ApiError {
        code: 500,
        reason: "",
        message,
        details: None,
    }
}

/// Server-side apply: the applied configuration must name its kind and
/// version (`invalid object type: /, Kind=`) and its fields must have the
/// schema's types. Upstream builds a typed patch object first
/// (structured-merge-diff; 500 `failed to create typed patch object`) and
/// converts the result to the Go type after merging (500 `failed to convert
/// new object`); the messages after the object's name are the Go decoder's
/// here, not structured-merge-diff's.
pub fn check_applied(
    openapi: &OpenApi,
    gvk: (&str, &str, &str),
    name: &str,
    applied: &Value,
) -> Result<(), ApiError> {
    let av = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = applied.get("kind").and_then(Value::as_str).unwrap_or("");
    if av.is_empty() || kind.is_empty() {
        let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
        return Err(ApiError::bad_request(format!(
            "invalid object type: {g}/{v}, Kind={kind}"
        )));
    }
    let schema = openapi.schema(gvk.0, gvk.1, gvk.2);
    let undeclared = crate::apimachinery::fieldmanager::undeclared_fields(applied, schema.as_ref());
    if !undeclared.is_empty() {
        return Err(undeclared_error(applied, name, &undeclared));
    }
    let mut copy = applied.clone();
    if let Err(m) = schemas(openapi).check(gvk.0, gvk.1, gvk.2, &mut copy, Mode::Decode) {
        let subject = apply_subject(applied, name);
        let converting = m.starts_with("parsing time")
            || m.starts_with("quantities")
            || m.starts_with("unable to parse");
        return Err(internal_error(if converting {
            format!(
                "failed to convert new object ({subject}) to proper version: unable to convert unstructured object to {}: {m}",
                subject.split_once("; ").map_or("", |(_, g)| g)
            )
        } else {
            format!("failed to create typed patch object ({subject}): {m}")
        }));
    }
    Ok(())
}

/// Server-side apply of fields the schema does not declare: upstream's 500,
/// whatever `fieldValidation` says (the typed patch object is built before
/// the body is decoded).
pub fn undeclared_error(applied: &Value, name: &str, errors: &[String]) -> ApiError {
    internal_error(format!(
        "failed to create typed patch object ({}): {}",
        apply_subject(applied, name),
        crate::apimachinery::fieldmanager::undeclared_message(errors)
    ))
}

/// Server-side apply's result, converted to the Go type as upstream does
/// after merging (integers are truncated to their field's width).
pub fn convert_applied(
    openapi: &OpenApi,
    gvk: (&str, &str, &str),
    name: &str,
    obj: &mut Value,
) -> Result<(), ApiError> {
    schemas(openapi)
        .check(gvk.0, gvk.1, gvk.2, obj, Mode::Unstructured)
        .map_err(|m| {
            let subject = apply_subject(obj, name);
            internal_error(format!(
                "failed to convert new object ({subject}) to proper version: unable to convert unstructured object to {}: {m}",
                subject.split_once("; ").map_or("", |(_, g)| g)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s() -> &'static Schemas {
        schemas(&OpenApi::load().expect("openapi"))
    }

    fn decode(g: &str, v: &str, k: &str, mut obj: Value) -> Result<(), String> {
        s().check(g, v, k, &mut obj, Mode::Decode)
    }

    fn convert(g: &str, v: &str, k: &str, obj: &mut Value) -> Result<(), String> {
        s().check(g, v, k, obj, Mode::Unstructured)
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"},
            "creationTimestamp": "2024-01-02T03:04:05Z", "deletionTimestamp": null},
            "spec": {"containers": [{"name": "c", "image": "x", "stdin": true,
                "ports": [{"containerPort": 80}],
                "resources": {"limits": {"cpu": "100m", "memory": 1}},
                "livenessProbe": {"httpGet": {"port": "http", "path": "/"}}}],
                "terminationGracePeriodSeconds": 30}})
    }

    #[test]
    fn valid_objects_pass() {
        assert_eq!(decode("", "v1", "Pod", pod()), Ok(()));
        let mut p = pod();
        assert_eq!(convert("", "v1", "Pod", &mut p), Ok(()));
        assert_eq!(p, pod());
        assert_eq!(
            decode(
                "",
                "v1",
                "Secret",
                json!({"data": {"a": "YQ==", "b": "YWI=\n", "c": ""}})
            ),
            Ok(())
        );
        assert_eq!(
            decode(
                "events.k8s.io",
                "v1",
                "Event",
                json!({"eventTime": "2024-01-02T03:04:05.123456Z"})
            ),
            Ok(())
        );
        // Unknown kinds and unknown fields are not this check's business.
        assert_eq!(decode("", "v1", "Nope", json!({"a": 1})), Ok(()));
        assert_eq!(decode("", "v1", "ConfigMap", json!({"bogus": 1})), Ok(()));
    }

    #[test]
    fn decode_messages_are_go_json_ones() {
        let cases = [
            (
                json!({"data": {"a": 1}}),
                "ConfigMap",
                "json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
            ),
            (
                json!({"data": [1]}),
                "ConfigMap",
                "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string",
            ),
            (
                json!({"metadata": {"labels": "invalid"}, "spec": "x"}),
                "Pod",
                "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
            ),
            (
                json!({"spec": {"containers": [{"stdin": "yes"}]}}),
                "Pod",
                "json: cannot unmarshal string into Go struct field Container.spec.containers.stdin of type bool",
            ),
            (
                json!({"spec": {"containers": {}}}),
                "Pod",
                "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container",
            ),
            (
                json!({"spec": {"containers": [{"ports": [{"containerPort": 1.5}]}]}}),
                "Pod",
                "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32",
            ),
            (
                json!({"spec": {"terminationGracePeriodSeconds": 9223372036854775808u64}}),
                "Pod",
                "json: cannot unmarshal number 9223372036854775808 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64",
            ),
            (
                json!({"spec": {"containers": [{"resources": {"limits": []}}]}}),
                "Pod",
                "json: cannot unmarshal array into Go struct field ResourceRequirements.spec.containers.resources.limits of type v1.ResourceList",
            ),
            (
                json!({"metadata": {"creationTimestamp": "bad"}}),
                "Pod",
                "parsing time \"bad\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bad\" as \"2006\"",
            ),
            (
                json!({"metadata": {"creationTimestamp": 5}}),
                "Pod",
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string",
            ),
            (
                json!({"spec": {"containers": [{"resources": {"limits": {"cpu": true}}}]}}),
                "Pod",
                QUANTITY_FORMAT,
            ),
            (
                json!({"data": {"a": "!!"}}),
                "Secret",
                "illegal base64 data at input byte 0",
            ),
            (
                json!({"data": {"a": 5}}),
                "Secret",
                "json: cannot unmarshal number into Go struct field Secret.data of type []uint8",
            ),
        ];
        for (obj, kind, want) in cases {
            assert_eq!(
                decode("", "v1", kind, obj.clone()),
                Err(want.to_string()),
                "{obj}"
            );
        }
        let d = |spec: Value| decode("apps", "v1", "Deployment", json!({"spec": spec}));
        assert_eq!(
            d(json!({"replicas": 4294967296u64})),
            Err("json: cannot unmarshal number 4294967296 into Go struct field DeploymentSpec.spec.replicas of type int32".into())
        );
        assert_eq!(
            d(json!({"replicas": "2"})),
            Err("json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32".into())
        );
        // An UnmarshalJSON error wins over an earlier type error.
        assert_eq!(
            d(json!({"replicas": -1.5, "strategy": {"rollingUpdate": {"maxSurge": true}}})),
            Err("json: cannot unmarshal bool into Go struct field RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge of type int32".into())
        );
    }

    #[test]
    fn unstructured_messages_and_conversions() {
        let cases = [
            (
                json!({"data": [1]}),
                "ConfigMap",
                "cannot restore map from slice",
            ),
            (
                json!({"metadata": {"labels": "invalid"}}),
                "Pod",
                "cannot restore map from string",
            ),
            (
                json!({"metadata": {"labels": {"a": 1}}}),
                "Pod",
                "cannot convert int64 to string",
            ),
            (
                json!({"spec": {"containers": [{"stdin": "yes"}]}}),
                "Pod",
                "unrecognized type: bool",
            ),
            (
                json!({"spec": {"activeDeadlineSeconds": 1.5}}),
                "Pod",
                "cannot convert float64 to int64",
            ),
            (
                json!({"spec": {"activeDeadlineSeconds": "1"}}),
                "Pod",
                "unrecognized type: int64",
            ),
            (
                json!({"spec": {"priority": true}}),
                "Pod",
                "unrecognized type: int32",
            ),
            (
                json!({"spec": "x"}),
                "Pod",
                "cannot restore struct from: string",
            ),
            (
                json!({"spec": {"containers": {}}}),
                "Pod",
                "cannot restore slice from map",
            ),
        ];
        for (mut obj, kind, want) in cases {
            assert_eq!(convert("", "v1", kind, &mut obj), Err(want.to_string()));
        }
        let mut d = json!({"spec": {"replicas": 4294967298u64, "minReadySeconds": 2.0}});
        assert_eq!(convert("apps", "v1", "Deployment", &mut d), Ok(()));
        assert_eq!(d, json!({"spec": {"replicas": 2, "minReadySeconds": 2}}));
    }

    #[test]
    fn null_elements_become_zero_values() {
        let mut cm = json!({"metadata": {"labels": {"x": null}, "finalizers": [null, "a"]},
            "data": {"a": null, "b": "c"}, "binaryData": {"b": null}});
        assert_eq!(
            s().check("", "v1", "ConfigMap", &mut cm, Mode::Decode),
            Ok(())
        );
        assert_eq!(
            cm,
            json!({"metadata": {"labels": {"x": ""}, "finalizers": ["", "a"]},
                "data": {"a": "", "b": "c"}, "binaryData": {"b": ""}})
        );
        let mut p = json!({"spec": {"containers": [null, {"ports": [{"containerPort": null}]}]}});
        assert_eq!(s().check("", "v1", "Pod", &mut p, Mode::Decode), Ok(()));
        assert_eq!(
            p,
            json!({"spec": {"containers": [{}, {"ports": [{"containerPort": null}]}]}})
        );
    }

    #[test]
    fn go_formatting_of_patch_maps() {
        assert_eq!(
            go_format(
                &json!({"spec": {"containers": [{"stdin": "yes", "name": "a"}]}, "a": null, "f": 1.5})
            ),
            "map[a:<nil> f:1.5 spec:map[containers:[map[name:a stdin:yes]]]]"
        );
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(0.5), "0.5");
    }

    #[test]
    fn base64_offsets_are_go_ones() {
        for (input, want) in [
            ("", Ok(())),
            ("YQ==", Ok(())),
            ("YWJj", Ok(())),
            ("YW\nJj", Ok(())),
            ("!!", Err(0)),
            ("YQ", Err(0)),
            ("YWJjZ", Err(4)),
            ("YQ=", Err(3)),
            ("YQ=x", Err(2)),
            ("Y===", Err(1)),
            ("YQ==YQ==", Err(4)),
        ] {
            assert_eq!(base64_check(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn quantities() {
        for ok in [
            "0", "1", "100m", "1.5Gi", "-1", "+2", "1e3", "1E-3", ".5", "5.", "00", "1Ki",
        ] {
            assert_eq!(parse_quantity(ok), Ok(()), "{ok}");
        }
        for (bad, want) in [
            ("", QUANTITY_FORMAT),
            ("abc", QUANTITY_FORMAT),
            ("1 Gi", QUANTITY_FORMAT),
            ("1KK", QUANTITY_SUFFIX),
            ("1Gb", QUANTITY_FORMAT),
            ("1e", QUANTITY_SUFFIX),
        ] {
            assert_eq!(parse_quantity(bad), Err(want.to_string()), "{bad}");
        }
    }

    #[test]
    fn time_messages_are_go_ones() {
        let e = |s: &str| parse_time(s, false).err().unwrap_or_default();
        assert_eq!(parse_time("2020-12-01T00:00:00Z", false), Ok(()));
        assert_eq!(parse_time("2020-12-01T00:00:00.5+01:00", false), Ok(()));
        assert_eq!(parse_time("2020-12-01T1:00:00Z", false), Ok(()));
        assert_eq!(
            e(""),
            "parsing time \"\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"2006\""
        );
        assert_eq!(
            e("2020-13-01T00:00:00Z"),
            "parsing time \"2020-13-01T00:00:00Z\": month out of range"
        );
        assert_eq!(
            e("2021-02-29T00:00:00Z"),
            "parsing time \"2021-02-29T00:00:00Z\": day out of range"
        );
        assert_eq!(
            e("2020-12-01T00:00:00"),
            "parsing time \"2020-12-01T00:00:00\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"\" as \"Z07:00\""
        );
        assert_eq!(
            e("2020-12-01T00:00:00Zjunk"),
            "parsing time \"2020-12-01T00:00:00Zjunk\": extra text: \"junk\""
        );
        assert_eq!(
            e("2020-12-01 00:00:00Z"),
            "parsing time \"2020-12-01 00:00:00Z\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \" 00:00:00Z\" as \"T\""
        );
        assert!(parse_time("2020-12-01T00:00:00Z", true).is_err());
        assert_eq!(parse_time("2020-12-01T00:00:00.000001Z", true), Ok(()));
    }

    #[test]
    fn every_kind_compiles_with_typed_fields() {
        let api = OpenApi::load().expect("openapi");
        let s = schemas(&api);
        for (g, v, k, _) in api.kinds() {
            assert!(s.knows(&g, &v, &k));
        }
        let m = s.mistypings("", "v1", "Pod", 3);
        assert!(m.iter().any(|(p, _)| p == "/spec/containers"), "{m:?}");
        assert!(m.iter().any(|(p, _)| p == "/metadata/labels"));
    }
}
