//! Decoder for Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! kubectl's typed clients send objects as protobuf: the 4-byte magic `k8s\x00` followed by a
//! `runtime.Unknown` envelope (`TypeMeta typeMeta = 1; bytes raw = 2; contentEncoding = 3;
//! contentType = 4`) whose `raw` is the object's own message from its `generated.proto`
//! (upstream `staging/src/k8s.io/apimachinery/pkg/runtime/serializer/protobuf/protobuf.go`).
//! [`decode`] turns such a body into the JSON object Go's `encoding/json` would have produced
//! from the decoded Go struct, i.e. the same body kubectl sends in JSON mode:
//!
//! - field tags, types and JSON names come from `openapi/protobuf.json` (written by
//!   `hack/gen-protobuf.py`), keys are emitted in proto (= Go struct) order, map keys sorted;
//! - Go's protobuf marshaller always writes non-pointer fields, zero values included, so a
//!   zero-valued scalar is dropped unless its Go field has no `omitempty` (flag "required") or is
//!   a pointer (flag "pointer"); absent required lists, maps and messages are `null`, scalars
//!   their zero value; message fields are emitted whenever present;
//! - embedded Go structs (`json:",inline"`) are merged into their parent object;
//! - `meta/v1` Time (seconds precision; the zero time is `null`), MicroTime, Duration, FieldsV1,
//!   `resource.Quantity`, `intstr.IntOrString`, `runtime.RawExtension` and authentication's
//!   `ExtraValue` get their special JSON forms.
//!
//! Malformed input yields an error string worded like gogo-protobuf's generated unmarshallers.

use serde_json::{Map, Number, Value};
use std::collections::HashMap;
use std::sync::OnceLock;

const MAGIC: [u8; 4] = [b'k', b'8', b's', 0];
const MAX_DEPTH: usize = 100;

const META: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.";
const TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.Duration";
const FIELDS_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1";
const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";
const INT_OR_STRING: &str = "k8s.io.apimachinery.pkg.util.intstr.IntOrString";
const RAW_EXTENSION: &str = "k8s.io.apimachinery.pkg.runtime.RawExtension";
const EXTRA_VALUE: &str = "k8s.io.api.authentication.v1.ExtraValue";
/// authorization.k8s.io/v1's `ExtraValue` (SubjectAccessReview `spec.extra`): the same form.
const AUTHZ_EXTRA_VALUE: &str = "k8s.io.api.authorization.v1.ExtraValue";

/// Seconds from the Unix epoch to Go's zero `time.Time` (0001-01-01T00:00:00Z).
const GO_ZERO_TIME_UNIX: i64 = -62_135_596_800;

const FLAG_REPEATED: u8 = 1;
const FLAG_MAP: u8 = 2;
const FLAG_REQUIRED: u8 = 4;
const FLAG_POINTER: u8 = 8;
const FLAG_INLINE: u8 = 16;

/// Decodes a `application/vnd.kubernetes.protobuf` request body into the JSON object upstream would
/// decode, with `apiVersion` and `kind` set from the envelope's TypeMeta (put them first in the map,
/// in Go's `TypeMeta` order: `kind`, then `apiVersion`).
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let schema = schema()?;
    if body.is_empty() {
        return Err("empty data".to_string());
    }
    let Some(data) = body.strip_prefix(&MAGIC[..]) else {
        let prefix: Vec<String> = MAGIC.iter().map(u8::to_string).collect();
        return Err(format!(
            "provided data does not appear to be a protobuf message, expected prefix [{}]",
            prefix.join(" ")
        ));
    };
    if data.is_empty() {
        return Err("empty body".to_string());
    }
    let unknown = Envelope::parse(data)?;
    let type_meta = format!(
        "runtime.TypeMeta{{APIVersion:{}, Kind:{}}}",
        go_quote(&unknown.api_version),
        go_quote(&unknown.kind)
    );
    if unknown.kind.is_empty() {
        return Err(format!("Object 'Kind' is missing in '{type_meta}'"));
    }
    if unknown.api_version.is_empty() {
        return Err(format!("Object 'apiVersion' is missing in '{type_meta}'"));
    }
    let message = schema
        .kinds
        .get(&format!("{}/{}", unknown.api_version, unknown.kind))
        .or_else(|| schema.kinds.get(&format!("*/{}", unknown.kind)))
        .ok_or_else(|| {
            format!(
                "no kind {} is registered for version {} in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
                go_quote(&unknown.kind),
                go_quote(&unknown.api_version)
            )
        })?;
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(unknown.kind.clone()));
    out.insert(
        "apiVersion".into(),
        Value::String(unknown.api_version.clone()),
    );
    decode_message(schema, message, unknown.raw, 0, &mut out)?;
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// Schema (openapi/protobuf.json)

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Bool,
    I32,
    I64,
    F64,
    Bytes,
    Msg,
}

struct Field {
    tag: u64,
    name: String,
    kind: Kind,
    flags: u8,
    message: String,
}

struct Schema {
    kinds: HashMap<String, String>,
    messages: HashMap<String, Vec<Field>>,
}

fn schema() -> Result<&'static Schema, String> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            parse_schema(include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/openapi/protobuf.json"
            )))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn parse_schema(text: &str) -> Result<Schema, String> {
    let bad = |what: &str| format!("openapi/protobuf.json: {what}");
    let doc: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let mut kinds = HashMap::new();
    for (k, v) in doc
        .get("kinds")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no kinds"))?
    {
        kinds.insert(k.clone(), v.as_str().ok_or_else(|| bad(k))?.to_string());
    }
    let mut messages = HashMap::new();
    let msgs = doc
        .get("messages")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("no messages"))?;
    for (name, rows) in msgs {
        let mut fields = Vec::new();
        for row in rows.as_array().ok_or_else(|| bad(name))? {
            let row = row
                .as_array()
                .filter(|r| r.len() == 5)
                .ok_or_else(|| bad(name))?;
            let kind = match row[2].as_str() {
                Some("string") => Kind::Str,
                Some("bool") => Kind::Bool,
                Some("int32") => Kind::I32,
                Some("int64") => Kind::I64,
                Some("double") => Kind::F64,
                Some("bytes") => Kind::Bytes,
                Some("message") => Kind::Msg,
                _ => return Err(bad(name)),
            };
            fields.push(Field {
                tag: row[0].as_u64().ok_or_else(|| bad(name))?,
                name: row[1].as_str().ok_or_else(|| bad(name))?.to_string(),
                kind,
                flags: row[3]
                    .as_u64()
                    .and_then(|f| u8::try_from(f).ok())
                    .ok_or_else(|| bad(name))?,
                message: row[4].as_str().ok_or_else(|| bad(name))?.to_string(),
            });
        }
        messages.insert(name.clone(), fields);
    }
    Ok(Schema { kinds, messages })
}

// ---------------------------------------------------------------------------------------------
// Wire format

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_BYTES: u8 = 2;
const WIRE_START_GROUP: u8 = 3;
const WIRE_END_GROUP: u8 = 4;
const WIRE_FIXED32: u8 = 5;

const ERR_EOF: &str = "unexpected EOF";
const ERR_OVERFLOW: &str = "proto: integer overflow";
const ERR_LENGTH: &str = "proto: negative length found during unmarshaling";

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value: u64 = 0;
        let mut shift = 0u32;
        loop {
            if shift >= 64 {
                return Err(ERR_OVERFLOW.into());
            }
            let b = *self.buf.get(self.pos).ok_or(ERR_EOF)?;
            self.pos += 1;
            value |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn fixed(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or(ERR_EOF)?;
        let out = self.buf.get(self.pos..end).ok_or(ERR_EOF)?;
        self.pos = end;
        Ok(out)
    }

    fn fixed64(&mut self) -> Result<u64, String> {
        let b = self.fixed(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        // gogo converts the length to a Go int: values >= 2^63 are negative.
        if len > i64::MAX as u64 {
            return Err(ERR_LENGTH.into());
        }
        let len = usize::try_from(len).map_err(|_| ERR_EOF.to_string())?;
        self.fixed(len)
    }

    /// Reads a field key; returns (field number, wire type).
    fn key(&mut self, message: &str) -> Result<(u64, u8), String> {
        let key = self.varint()?;
        let wire = (key & 7) as u8;
        let tag = key >> 3;
        if wire == WIRE_END_GROUP {
            return Err(format!(
                "proto: {message}: wiretype end group for non-group"
            ));
        }
        if tag == 0 {
            return Err(format!(
                "proto: {message}: illegal tag 0 (wire type {wire})"
            ));
        }
        Ok((tag, wire))
    }

    /// Skips the value of an unknown field (gogo's `skipGenerated`).
    fn skip(&mut self, wire: u8) -> Result<(), String> {
        let mut depth = 0usize;
        let mut wire = wire;
        loop {
            match wire {
                WIRE_VARINT => {
                    self.varint()?;
                }
                WIRE_FIXED64 => {
                    self.fixed(8)?;
                }
                WIRE_BYTES => {
                    self.bytes()?;
                }
                WIRE_START_GROUP => depth += 1,
                WIRE_END_GROUP => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| "proto: unexpected end of group".to_string())?;
                }
                WIRE_FIXED32 => {
                    self.fixed(4)?;
                }
                other => return Err(format!("proto: illegal wireType {other}")),
            }
            if depth == 0 {
                return Ok(());
            }
            if depth > MAX_DEPTH {
                return Err("proto: exceeded maximum nesting depth".into());
            }
            wire = (self.varint()? & 7) as u8;
        }
    }
}

/// The `runtime.Unknown` envelope.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

impl<'a> Envelope<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, String> {
        let mut env = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
        };
        let mut r = Reader::new(data);
        while !r.done() {
            let (tag, wire) = r.key("Unknown")?;
            match tag {
                1..=4 if wire != WIRE_BYTES => {
                    let name = ["TypeMeta", "Raw", "ContentEncoding", "ContentType"]
                        .get((tag - 1) as usize)
                        .copied()
                        .unwrap_or_default();
                    return Err(format!("proto: wrong wireType = {wire} for field {name}"));
                }
                1 => {
                    let mut tm = Reader::new(r.bytes()?);
                    while !tm.done() {
                        let (tag, wire) = tm.key("TypeMeta")?;
                        match tag {
                            1 | 2 if wire != WIRE_BYTES => {
                                let name = if tag == 1 { "APIVersion" } else { "Kind" };
                                return Err(format!(
                                    "proto: wrong wireType = {wire} for field {name}"
                                ));
                            }
                            1 => env.api_version = lossy(tm.bytes()?),
                            2 => env.kind = lossy(tm.bytes()?),
                            _ => tm.skip(wire)?,
                        }
                    }
                }
                2 => env.raw = r.bytes()?,
                _ => r.skip(wire)?,
            }
        }
        Ok(env)
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

use crate::apimachinery::validation::go_quote;

fn go_field_name(json: &str) -> String {
    let mut c = json.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn short_name(message: &str) -> &str {
    message.rsplit('.').next().unwrap_or(message)
}

// ---------------------------------------------------------------------------------------------
// Messages

/// What was read for one field of a message.
enum Slot {
    Absent,
    Scalar(Value),
    /// A singular message: the concatenation of all occurrences (protobuf merges them).
    Message(Vec<u8>),
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

/// Decodes `data` as message `name` and appends its JSON fields to `out`.
fn decode_message(
    schema: &Schema,
    name: &str,
    data: &[u8],
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("proto: exceeded maximum nesting depth".into());
    }
    let fields = schema
        .messages
        .get(name)
        .ok_or_else(|| format!("protobuf: no schema for message {name}"))?;
    let mut slots: Vec<Slot> = fields.iter().map(|_| Slot::Absent).collect();
    let mut r = Reader::new(data);
    let short = short_name(name);
    while !r.done() {
        let (tag, wire) = r.key(short)?;
        let Some(idx) = fields.iter().position(|f| f.tag == tag) else {
            r.skip(wire)?;
            continue;
        };
        let (Some(field), Some(slot)) = (fields.get(idx), slots.get_mut(idx)) else {
            continue;
        };
        read_field(schema, field, wire, &mut r, slot, depth)?;
    }
    for (field, slot) in fields.iter().zip(slots) {
        emit_field(schema, field, slot, depth, out)?;
    }
    Ok(())
}

fn wrong_wire(wire: u8, field: &Field) -> String {
    format!(
        "proto: wrong wireType = {wire} for field {}",
        go_field_name(&field.name)
    )
}

fn scalar_wire(kind: Kind) -> u8 {
    match kind {
        Kind::Bool | Kind::I32 | Kind::I64 => WIRE_VARINT,
        Kind::F64 => WIRE_FIXED64,
        Kind::Str | Kind::Bytes | Kind::Msg => WIRE_BYTES,
    }
}

/// Reads one occurrence of `field` into its slot.
fn read_field(
    schema: &Schema,
    field: &Field,
    wire: u8,
    r: &mut Reader<'_>,
    slot: &mut Slot,
    depth: usize,
) -> Result<(), String> {
    let expected = scalar_wire(field.kind);
    if field.flags & FLAG_MAP != 0 {
        if wire != WIRE_BYTES {
            return Err(wrong_wire(wire, field));
        }
        let (key, value) = read_map_entry(schema, field, r.bytes()?, depth)?;
        if !matches!(slot, Slot::Map(_)) {
            *slot = Slot::Map(Vec::new());
        }
        if let Slot::Map(entries) = slot {
            entries.retain(|(k, _)| *k != key);
            entries.push((key, value));
        }
        return Ok(());
    }
    if field.flags & FLAG_REPEATED != 0 {
        if !matches!(slot, Slot::List(_)) {
            *slot = Slot::List(Vec::new());
        }
        let Slot::List(items) = slot else {
            return Ok(());
        };
        if wire == WIRE_BYTES && expected != WIRE_BYTES {
            // packed scalars
            let mut p = Reader::new(r.bytes()?);
            while !p.done() {
                items.push(read_scalar(field.kind, &mut p)?);
            }
        } else if wire != expected {
            return Err(wrong_wire(wire, field));
        } else if field.kind == Kind::Msg {
            items.push(message_value(
                schema,
                &field.message,
                r.bytes()?,
                depth + 1,
            )?);
        } else {
            items.push(read_scalar(field.kind, r)?);
        }
        return Ok(());
    }
    if wire != expected {
        return Err(wrong_wire(wire, field));
    }
    if field.kind == Kind::Msg {
        let data = r.bytes()?;
        match slot {
            Slot::Message(buf) => buf.extend_from_slice(data),
            _ => *slot = Slot::Message(data.to_vec()),
        }
    } else {
        *slot = Slot::Scalar(read_scalar(field.kind, r)?);
    }
    Ok(())
}

fn read_scalar(kind: Kind, r: &mut Reader<'_>) -> Result<Value, String> {
    Ok(match kind {
        Kind::Bool => Value::Bool(r.varint()? != 0),
        // int32 is sign-extended to 64 bits on the wire; Go keeps the low 32 bits.
        Kind::I32 => Value::from(r.varint()? as i32),
        Kind::I64 => Value::from(r.varint()? as i64),
        Kind::F64 => {
            let f = f64::from_bits(r.fixed64()?);
            Value::Number(
                Number::from_f64(f).ok_or_else(|| format!("json: unsupported value: {f}"))?,
            )
        }
        Kind::Str => Value::String(lossy(r.bytes()?)),
        Kind::Bytes => Value::String(base64(r.bytes()?)),
        Kind::Msg => Value::Null,
    })
}

fn read_map_entry(
    schema: &Schema,
    field: &Field,
    data: &[u8],
    depth: usize,
) -> Result<(String, Value), String> {
    let mut key = String::new();
    let mut value: Option<Value> = None;
    let mut r = Reader::new(data);
    while !r.done() {
        let (tag, wire) = r.key(short_name(&field.message))?;
        match tag {
            1 => {
                if wire != WIRE_BYTES {
                    return Err(wrong_wire(wire, field));
                }
                key = lossy(r.bytes()?);
            }
            2 => {
                if wire != scalar_wire(field.kind) {
                    return Err(wrong_wire(wire, field));
                }
                value = Some(if field.kind == Kind::Msg {
                    message_value(schema, &field.message, r.bytes()?, depth + 1)?
                } else {
                    read_scalar(field.kind, &mut r)?
                });
            }
            _ => r.skip(wire)?,
        }
    }
    let value = match value {
        Some(v) => v,
        None if field.kind == Kind::Msg => message_value(schema, &field.message, &[], depth + 1)?,
        None => zero_value(field.kind),
    };
    Ok((key, value))
}

fn zero_value(kind: Kind) -> Value {
    match kind {
        Kind::Str | Kind::Bytes => Value::String(String::new()),
        Kind::Bool => Value::Bool(false),
        Kind::I32 | Kind::I64 => Value::from(0),
        Kind::F64 => Value::from(0.0),
        Kind::Msg => Value::Null,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Null => true,
        _ => false,
    }
}

/// Appends `field`'s JSON to `out`, following Go's `encoding/json` rules (see the module doc).
fn emit_field(
    schema: &Schema,
    field: &Field,
    slot: Slot,
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), String> {
    let required = field.flags & FLAG_REQUIRED != 0;
    if field.flags & FLAG_INLINE != 0 {
        // An embedded Go struct is always there: merge its fields (even if it was not sent).
        let data = match &slot {
            Slot::Message(buf) => buf.as_slice(),
            _ => &[],
        };
        return decode_message(schema, &field.message, data, depth + 1, out);
    }
    let value = match slot {
        Slot::Absent => {
            if !required {
                return Ok(());
            }
            // A Go field without `omitempty` that was not sent: a nil slice, map or pointer
            // (Go writes non-pointer structs always) is `null`, a scalar its zero value.
            if field.kind == Kind::Msg || field.flags & (FLAG_REPEATED | FLAG_MAP) != 0 {
                Value::Null
            } else {
                zero_value(field.kind)
            }
        }
        Slot::Scalar(v) => {
            if is_zero(&v) && field.flags & (FLAG_REQUIRED | FLAG_POINTER) == 0 {
                return Ok(());
            }
            v
        }
        Slot::Message(buf) => message_value(schema, &field.message, &buf, depth + 1)?,
        Slot::List(items) => {
            if items.is_empty() {
                if !required {
                    return Ok(());
                }
                Value::Null
            } else {
                Value::Array(items)
            }
        }
        Slot::Map(mut entries) => {
            // Go's encoding/json sorts map keys.
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            Value::Object(entries.into_iter().collect())
        }
    };
    out.insert(field.name.clone(), value);
    Ok(())
}

/// The JSON value of a message-typed field.
fn message_value(schema: &Schema, name: &str, data: &[u8], depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("proto: exceeded maximum nesting depth".into());
    }
    match name {
        TIME => time_value(data, false),
        MICRO_TIME => time_value(data, true),
        DURATION => {
            let fields = read_simple(data, short_name(name))?;
            Ok(Value::String(go_duration(fields.int(1) as i64)))
        }
        FIELDS_V1 | RAW_EXTENSION => {
            let fields = read_simple(data, short_name(name))?;
            match fields.bytes(1) {
                None => Ok(Value::Null),
                Some(raw) => serde_json::from_slice(raw).map_err(|e| {
                    format!(
                        "json: error calling MarshalJSON for type {}: {e}",
                        go_type(name)
                    )
                }),
            }
        }
        QUANTITY => {
            let fields = read_simple(data, short_name(name))?;
            let s = fields.bytes(1).map(lossy).unwrap_or_default();
            Ok(Value::String(if s.is_empty() {
                "0".to_string()
            } else {
                s
            }))
        }
        INT_OR_STRING => {
            let fields = read_simple(data, short_name(name))?;
            match fields.int(1) as i64 {
                0 => Ok(Value::from(fields.int(2) as i32)),
                1 => Ok(Value::String(
                    fields.bytes(3).map(lossy).unwrap_or_default(),
                )),
                _ => Err(
                    "json: error calling MarshalJSON for type *intstr.IntOrString: \
                          impossible IntOrString.Type"
                        .into(),
                ),
            }
        }
        EXTRA_VALUE | AUTHZ_EXTRA_VALUE => {
            let fields = read_simple(data, short_name(name))?;
            if fields.all_bytes.is_empty() {
                Ok(Value::Null)
            } else {
                Ok(Value::Array(
                    fields
                        .all_bytes
                        .iter()
                        .map(|b| Value::String(lossy(b)))
                        .collect(),
                ))
            }
        }
        _ => {
            let mut out = Map::new();
            decode_message(schema, name, data, depth, &mut out)?;
            Ok(Value::Object(out))
        }
    }
}

fn go_type(name: &str) -> String {
    if let Some(rest) = name.strip_prefix(META) {
        format!("v1.{rest}")
    } else {
        format!("runtime.{}", short_name(name))
    }
}

/// The fields of a small special message: last varint and last bytes value per tag (1..=3),
/// plus every bytes value of tag 1 (for `ExtraValue.items`).
#[derive(Default)]
struct Simple<'a> {
    ints: [Option<u64>; 4],
    bytes: [Option<&'a [u8]>; 4],
    all_bytes: Vec<&'a [u8]>,
}

impl<'a> Simple<'a> {
    fn int(&self, tag: usize) -> u64 {
        self.ints.get(tag).copied().flatten().unwrap_or(0)
    }
    fn bytes(&self, tag: usize) -> Option<&'a [u8]> {
        self.bytes.get(tag).copied().flatten()
    }
}

fn read_simple<'a>(data: &'a [u8], message: &str) -> Result<Simple<'a>, String> {
    let mut s = Simple::default();
    let mut r = Reader::new(data);
    while !r.done() {
        let (tag, wire) = r.key(message)?;
        let idx = usize::try_from(tag).ok().filter(|t| *t <= 3);
        match (idx, wire) {
            (Some(i), WIRE_VARINT) => {
                let v = r.varint()?;
                if let Some(slot) = s.ints.get_mut(i) {
                    *slot = Some(v);
                }
            }
            (Some(i), WIRE_BYTES) => {
                let b = r.bytes()?;
                if i == 1 {
                    s.all_bytes.push(b);
                }
                if let Some(slot) = s.bytes.get_mut(i) {
                    *slot = Some(b);
                }
            }
            (Some(_), _) => return Err(format!("proto: wrong wireType = {wire} for field {tag}")),
            (None, _) => r.skip(wire)?,
        }
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Time, Duration, base64

/// `meta/v1` Time (`{1: int64 seconds, 2: int32 nanos}`): an empty message is Go's zero time,
/// which marshals as `null`. Time drops the nanoseconds (upstream `time_proto.go`); MicroTime
/// keeps microseconds (`RFC3339Micro`).
fn time_value(data: &[u8], micro: bool) -> Result<Value, String> {
    if data.is_empty() {
        return Ok(Value::Null);
    }
    let fields = read_simple(data, "Timestamp")?;
    let mut secs = fields.int(1) as i64;
    let mut nanos = if micro {
        i64::from(fields.int(2) as i32)
    } else {
        0
    };
    // time.Unix normalizes nanoseconds outside [0, 1e9).
    secs = secs.saturating_add(nanos.div_euclid(1_000_000_000));
    nanos = nanos.rem_euclid(1_000_000_000);
    if secs == GO_ZERO_TIME_UNIX && nanos == 0 {
        return Ok(Value::Null);
    }
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let year = if (0..=9999).contains(&y) {
        format!("{y:04}")
    } else if y < 0 {
        format!("-{:04}", y.unsigned_abs())
    } else {
        y.to_string()
    };
    let mut s = format!(
        "{year}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if micro {
        s.push_str(&format!(".{:06}", nanos / 1000));
    }
    s.push('Z');
    Ok(Value::String(s))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Go's `time.Duration.String()`.
fn go_duration(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".to_string(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let (int, frac) = frac_part(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (secs, frac) = frac_part(u, 9);
        u = secs;
        let s = format!("{}{}s", u % 60, frac);
        u /= 60;
        if u > 0 {
            let m = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&s);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Splits `v` into `v / 10^prec` and the fraction `.ddd` without trailing zeros ("" if zero).
fn frac_part(v: u64, prec: u32) -> (u64, String) {
    let p = 10u64.pow(prec);
    let frac = v % p;
    if frac == 0 {
        return (v / p, String::new());
    }
    let digits = format!("{:0width$}", frac, width = prec as usize);
    (v / p, format!(".{}", digits.trim_end_matches('0')))
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET[(i & 63) as usize]);
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // A tiny protobuf encoder.
    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }
    fn key(tag: u64, wire: u8) -> Vec<u8> {
        varint(tag << 3 | u64::from(wire))
    }
    /// A length-delimited field (string, bytes, message, map entry).
    fn ld(tag: u64, data: &[u8]) -> Vec<u8> {
        [key(tag, 2), varint(data.len() as u64), data.to_vec()].concat()
    }
    fn s(tag: u64, v: &str) -> Vec<u8> {
        ld(tag, v.as_bytes())
    }
    fn int(tag: u64, v: i64) -> Vec<u8> {
        [key(tag, 0), varint(v as u64)].concat()
    }
    fn entry(tag: u64, k: &str, v: &[u8]) -> Vec<u8> {
        ld(tag, &[s(1, k), ld(2, v)].concat())
    }
    fn body(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [s(1, api_version), s(2, kind)].concat();
        [
            b"k8s\0".to_vec(),
            ld(1, &type_meta),
            ld(2, raw),
            s(3, ""),
            s(4, ""),
        ]
        .concat()
    }
    /// ObjectMeta the way Go's marshaller writes it: every non-pointer field, zero or not.
    fn object_meta(
        name: &str,
        namespace: &str,
        labels: &[(&str, &str)],
        created: &[u8],
    ) -> Vec<u8> {
        let mut out = [
            s(1, name),
            s(2, ""),
            s(3, namespace),
            s(4, ""),
            s(5, ""),
            s(6, ""),
            int(7, 0),
            ld(8, created),
        ]
        .concat();
        for (k, v) in labels {
            out.extend(entry(11, k, v.as_bytes()));
        }
        out
    }
    fn int_or_string_int(v: i64) -> Vec<u8> {
        [int(1, 0), int(2, v), s(3, "")].concat()
    }
    fn int_or_string_str(v: &str) -> Vec<u8> {
        [int(1, 1), int(2, 0), s(3, v)].concat()
    }

    // Bodies captured from kubectl v1.32.4 (`kubectl create namespace x`, `create configmap cm
    // --from-literal=k=v`, `create secret generic s1 --from-literal=a=hello`, `create deployment
    // web --image=nginx --replicas=0 --port=80`, the last three with `-n default`) against a stub
    // server; also `create service clusterip svc --tcp=80:8080 --tcp=443:https`, `create
    // serviceaccount sa` and `create token sa --audience=api --duration=1h`. Expected: the JSON
    // body the same commands send in JSON mode (`--dry-run=client -o json` prints the same).
    const KUBECTL_SERVICE: &str = concat!(
        "6b3873000a0d0a0276311207536572766963651294010a260a0373766312001a0764656661756c74",
        "22002a003200380042005a0a0a03617070120373766312660a1b0a0738302d383038301203544350",
        "18502207080010903f1a0028000a220a093434332d6874747073120354435018bb03220b08011000",
        "1a0568747470732800120a0a0361707012037376631a002209436c757374657249503a0042005200",
        "5a00600068001a020a001a002200",
    );
    const KUBECTL_SERVICEACCOUNT: &str = concat!(
        "6b3873000a140a027631120e536572766963654163636f756e74121b0a190a02736112001a076465",
        "6661756c7422002a003200380042001a002200",
    );
    const KUBECTL_TOKEN: &str = concat!(
        "6b3873000a280a1861757468656e7469636174696f6e2e6b38732e696f2f7631120c546f6b656e52",
        "65717565737412220a100a0012001a0022002a0032003800420012080a0361706920901c1a040a00",
        "12001a002200",
    );
    const KUBECTL_NAMESPACE: &str = concat!(
        "6b3873000a0f0a02763112094e616d65737061636512190a110a017812001a0022002a0032003800",
        "420012001a020a001a002200",
    );
    const KUBECTL_CONFIGMAP: &str = concat!(
        "6b3873000a0f0a0276311209436f6e6669674d617012230a190a02636d12001a0764656661756c74",
        "22002a0032003800420012060a016b1201761a002200",
    );
    const KUBECTL_SECRET: &str = concat!(
        "6b3873000a0c0a027631120653656372657412290a190a02733112001a0764656661756c7422002a",
        "00320038004200120a0a0161120568656c6c6f1a001a002200",
    );
    const KUBECTL_DEPLOYMENT: &str = concat!(
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bf010a260a0377656212001a",
        "0764656661756c7422002a003200380042005a0a0a0361707012037765621286010800120c0a0a0a",
        "0361707012037765621a6c0a1c0a0012001a0022002a003200380042005a0a0a0361707012037765",
        "62124c122e0a056e67696e7812056e67696e782a00320a0a001000185022002a0042006a00720080",
        "0100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022",
        "020a00280038001a0c0800100018002000280038001a002200",
    );

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn real_kubectl_bodies() {
        let cases = [
            (
                KUBECTL_NAMESPACE,
                r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x","creationTimestamp":null},"spec":{},"status":{}}"#,
            ),
            (
                KUBECTL_CONFIGMAP,
                r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm","namespace":"default","creationTimestamp":null},"data":{"k":"v"}}"#,
            ),
            (
                KUBECTL_SECRET,
                r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","namespace":"default","creationTimestamp":null},"data":{"a":"aGVsbG8="}}"#,
            ),
            (
                KUBECTL_DEPLOYMENT,
                concat!(
                    r#"{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"default","creationTimestamp":null,"labels":{"app":"web"}},"#,
                    r#""spec":{"replicas":0,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"#,
                    r#""spec":{"containers":[{"name":"nginx","image":"nginx","ports":[{"containerPort":80}],"resources":{}}]}},"strategy":{}},"status":{}}"#
                ),
            ),
            (
                KUBECTL_SERVICE,
                concat!(
                    r#"{"kind":"Service","apiVersion":"v1","metadata":{"name":"svc","namespace":"default","creationTimestamp":null,"labels":{"app":"svc"}},"#,
                    r#""spec":{"ports":[{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080},{"name":"443-https","protocol":"TCP","port":443,"targetPort":"https"}],"#,
                    r#""selector":{"app":"svc"},"type":"ClusterIP"},"status":{"loadBalancer":{}}}"#
                ),
            ),
            (
                KUBECTL_SERVICEACCOUNT,
                r#"{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"sa","namespace":"default","creationTimestamp":null}}"#,
            ),
            (
                KUBECTL_TOKEN,
                concat!(
                    r#"{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","metadata":{"creationTimestamp":null},"#,
                    r#""spec":{"audiences":["api"],"expirationSeconds":3600,"boundObjectRef":null},"#,
                    r#""status":{"token":"","expirationTimestamp":null}}"#
                ),
            ),
        ];
        for (hex, want) in cases {
            let got = decode(&unhex(hex)).unwrap();
            assert_eq!(serde_json::to_string(&got).unwrap(), want);
        }
    }

    #[test]
    fn namespace_like_kubectl_create_namespace() {
        let raw = [
            ld(1, &object_meta("x", "", &[], &[])),
            ld(2, &[]),
            ld(3, &s(1, "")),
        ]
        .concat();
        let got = decode(&body("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            got.to_string(),
            r#"{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"x","creationTimestamp":null},"spec":{},"status":{}}"#
        );
    }

    #[test]
    fn secret_with_data_and_string_data() {
        let raw = [
            ld(1, &object_meta("s1", "default", &[], &[])),
            // map entries arrive in any order; JSON sorts keys
            entry(2, "b", b"\x00\xffhi"),
            entry(2, "a", b"hello"),
            entry(4, "k", b"v"),
            s(3, "Opaque"),
        ]
        .concat();
        let got = decode(&body("v1", "Secret", &raw)).unwrap();
        assert_eq!(
            got.to_string(),
            r#"{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","namespace":"default","creationTimestamp":null},"data":{"a":"aGVsbG8=","b":"AP9oaQ=="},"stringData":{"k":"v"},"type":"Opaque"}"#
        );
    }

    #[test]
    fn secret_immutable_false_is_kept_because_it_is_a_pointer() {
        let raw = [ld(1, &object_meta("s", "", &[], &[])), int(5, 0)].concat();
        let got = decode(&body("v1", "Secret", &raw)).unwrap();
        assert_eq!(got["immutable"], json!(false));
    }

    #[test]
    fn configmap_with_binary_data_and_time() {
        // 2026-01-02T03:04:05Z = 1767323045
        let created = [int(1, 1_767_323_045), int(2, 123)].concat();
        let raw = [
            ld(1, &object_meta("cm", "ns", &[("app", "web")], &created)),
            entry(2, "game.properties", b"lives=3\n"),
            entry(2, "empty", b""),
            entry(3, "bin", &[1, 2, 3]),
        ]
        .concat();
        let got = decode(&body("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(
            got,
            json!({
                "kind": "ConfigMap",
                "apiVersion": "v1",
                "metadata": {
                    "name": "cm",
                    "namespace": "ns",
                    "creationTimestamp": "2026-01-02T03:04:05Z",
                    "labels": {"app": "web"}
                },
                "data": {"empty": "", "game.properties": "lives=3\n"},
                "binaryData": {"bin": "AQID"}
            })
        );
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"cm","namespace":"ns","creationTimestamp":"2026-01-02T03:04:05Z","labels":{"app":"web"}},"data":{"empty":"","game.properties":"lives=3\n"},"binaryData":{"bin":"AQID"}}"#
        );
    }

    fn deployment_raw() -> Vec<u8> {
        let labels = [("app", "web")];
        let port = [s(1, "http"), int(2, 0), int(3, 8080), s(4, "TCP"), s(5, "")].concat();
        let resources = [
            entry(1, "cpu", &s(1, "500m")),
            entry(1, "memory", &s(1, "128Mi")),
            entry(2, "cpu", &s(1, "250m")),
        ]
        .concat();
        let container = [
            s(1, "web"),
            s(2, "nginx:1.27"),
            s(3, "nginx"),
            s(3, "-g"),
            s(5, ""),
            ld(6, &port),
            ld(8, &resources),
            s(13, ""),
            s(14, ""),
            s(20, ""),
            int(16, 0),
            int(17, 0),
            int(18, 0),
        ]
        .concat();
        let pod_spec = [
            ld(2, &container),
            s(3, ""),
            s(6, ""),
            s(8, ""),
            s(9, ""),
            s(10, ""),
            int(11, 0),
            int(12, 0),
            int(13, 0),
            s(16, ""),
            s(17, ""),
            s(19, ""),
            s(24, ""),
        ]
        .concat();
        let template = [ld(1, &object_meta("", "", &labels, &[])), ld(2, &pod_spec)].concat();
        let rolling = [
            ld(1, &int_or_string_int(1)),
            ld(2, &int_or_string_str("25%")),
        ]
        .concat();
        let strategy = [s(1, "RollingUpdate"), ld(2, &rolling)].concat();
        let selector = entry(1, "app", b"web");
        let spec = [
            int(1, 3),
            ld(2, &selector),
            ld(3, &template),
            ld(4, &strategy),
            int(5, 0),
            int(7, 0),
        ]
        .concat();
        let created = [int(1, 1_767_323_045)].concat();
        let status = [
            int(1, 0),
            int(2, 0),
            int(3, 0),
            int(4, 0),
            int(5, 0),
            int(7, 0),
        ]
        .concat();
        [
            ld(1, &object_meta("web", "default", &labels, &created)),
            ld(2, &spec),
            ld(3, &status),
        ]
        .concat()
    }

    #[test]
    fn deployment_with_template_ports_resources_and_int_or_string() {
        let got = decode(&body("apps/v1", "Deployment", &deployment_raw())).unwrap();
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            concat!(
                r#"{"kind":"Deployment","apiVersion":"apps/v1","#,
                r#""metadata":{"name":"web","namespace":"default","creationTimestamp":"2026-01-02T03:04:05Z","labels":{"app":"web"}},"#,
                r#""spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"#,
                r#""template":{"metadata":{"creationTimestamp":null,"labels":{"app":"web"}},"#,
                r#""spec":{"containers":[{"name":"web","image":"nginx:1.27","command":["nginx","-g"],"#,
                r#""ports":[{"name":"http","containerPort":8080,"protocol":"TCP"}],"#,
                r#""resources":{"limits":{"cpu":"500m","memory":"128Mi"},"requests":{"cpu":"250m"}}}]}},"#,
                r#""strategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":1,"maxSurge":"25%"}}},"#,
                r#""status":{}}"#
            )
        );
    }

    #[test]
    fn replicas_zero_is_kept_and_required_fields_get_zero_values() {
        // replicas is a pointer: an explicit 0 stays. Fields without `omitempty` that were not
        // sent get Go's JSON of their zero value: `"selector": null` (a nil pointer),
        // `"containers": null` (a nil slice), `"name": ""`.
        let pod_spec = ld(2, &s(2, "img"));
        let template = [ld(1, &[]), ld(2, &pod_spec)].concat();
        let spec = [int(1, 0), ld(3, &template)].concat();
        let raw = [ld(1, &s(1, "d")), ld(2, &spec)].concat();
        let got = decode(&body("apps/v1", "Deployment", &raw)).unwrap();
        assert_eq!(
            got["spec"],
            json!({"replicas": 0, "selector": null, "template": {"metadata": {}, "spec": {"containers": [{"name": "", "image": "img"}]}}})
        );
        let raw = [ld(1, &s(1, "d")), ld(2, &ld(3, &ld(2, &[])))].concat();
        let got = decode(&body("apps/v1", "Deployment", &raw)).unwrap();
        assert_eq!(
            got["spec"],
            json!({"selector": null, "template": {"spec": {"containers": null}}})
        );
    }

    #[test]
    fn packed_and_unpacked_repeated_scalars() {
        // Pod securityContext.supplementalGroups (repeated int64, tag 4 of PodSecurityContext;
        // PodSpec.securityContext is tag 14).
        let packed = ld(4, &[varint(1), varint(300), varint(u64::MAX)].concat());
        let unpacked = [int(4, 7), int(4, 8)].concat();
        for (sc, want) in [(packed, json!([1, 300, -1])), (unpacked, json!([7, 8]))] {
            let raw = [ld(1, &s(1, "p")), ld(2, &ld(14, &sc))].concat();
            let got = decode(&body("v1", "Pod", &raw)).unwrap();
            assert_eq!(got["spec"]["securityContext"]["supplementalGroups"], want);
        }
    }

    #[test]
    fn inline_volume_source_and_probe_handler() {
        // Volume.volumeSource (2, inline) .configMap (19) .localObjectReference (1, inline) .name
        let volume = [s(1, "data"), ld(2, &ld(19, &ld(1, &s(1, "cm"))))].concat();
        let probe = [
            ld(
                1,
                &ld(
                    2,
                    &[s(1, "/healthz"), ld(2, &int_or_string_int(80))].concat(),
                ),
            ),
            int(2, 5),
        ]
        .concat();
        let container = [s(1, "c"), ld(10, &probe)].concat();
        let spec = [ld(1, &volume), ld(2, &container)].concat();
        let raw = [ld(1, &s(1, "p")), ld(2, &spec)].concat();
        let got = decode(&body("v1", "Pod", &raw)).unwrap();
        assert_eq!(
            got["spec"],
            json!({
                "volumes": [{"name": "data", "configMap": {"name": "cm"}}],
                "containers": [{"name": "c", "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": 80}, "initialDelaySeconds": 5}}]
            })
        );
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let unknown = [
            int(99, 5),
            [key(98, 1), vec![0; 8]].concat(),
            ld(97, b"junk"),
            [key(96, 3), int(1, 1), key(96, 4)].concat(),
            [key(95, 5), vec![0; 4]].concat(),
        ]
        .concat();
        let raw = [unknown.clone(), ld(1, &[s(1, "x"), unknown].concat())].concat();
        let got = decode(&body("v1", "Namespace", &raw)).unwrap();
        assert_eq!(
            got,
            json!({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "x"}})
        );
    }

    #[test]
    fn repeated_singular_message_occurrences_merge() {
        let raw = [ld(1, &s(1, "x")), ld(1, &s(3, "ns"))].concat();
        let got = decode(&body("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(got["metadata"], json!({"name": "x", "namespace": "ns"}));
    }

    #[test]
    fn evictions_of_both_policy_versions() {
        // kubectl drain's body: metadata and an empty deleteOptions.
        let raw = [
            ld(1, &[s(1, "p"), s(3, "default")].concat()),
            ld(2, &int(1, 0)),
        ]
        .concat();
        for v in ["policy/v1", "policy/v1beta1"] {
            let got = decode(&body(v, "Eviction", &raw)).unwrap();
            assert_eq!(
                got["metadata"],
                json!({"name": "p", "namespace": "default"})
            );
            assert_eq!(got["deleteOptions"], json!({"gracePeriodSeconds": 0}));
        }
    }

    #[test]
    fn meta_kinds_and_other_groups() {
        let raw = [int(1, 0), s(4, "Foreground"), s(5, "All")].concat();
        let got = decode(&body("apps/v1", "DeleteOptions", &raw)).unwrap();
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            r#"{"kind":"DeleteOptions","apiVersion":"apps/v1","gracePeriodSeconds":0,"propagationPolicy":"Foreground","dryRun":["All"]}"#
        );
        // Lease with MicroTime
        let spec = [
            s(1, "me"),
            int(2, 15),
            ld(3, &[int(1, 1_767_323_045), int(2, 123_456_789)].concat()),
        ]
        .concat();
        let raw = [ld(1, &s(1, "l")), ld(2, &spec)].concat();
        let got = decode(&body("coordination.k8s.io/v1", "Lease", &raw)).unwrap();
        assert_eq!(
            got["spec"],
            json!({"holderIdentity": "me", "leaseDurationSeconds": 15, "acquireTime": "2026-01-02T03:04:05.123456Z"})
        );
        // TokenReview status.user.extra (ExtraValue is a JSON array)
        let user = [
            s(1, "alice"),
            entry(4, "scopes", &[s(1, "a"), s(1, "b")].concat()),
        ]
        .concat();
        let raw = [
            ld(1, &[]),
            ld(2, &s(1, "tok")),
            ld(3, &[int(1, 1), ld(2, &user)].concat()),
        ]
        .concat();
        let got = decode(&body("authentication.k8s.io/v1", "TokenReview", &raw)).unwrap();
        assert_eq!(
            got,
            json!({"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1", "metadata": {},
                   "spec": {"token": "tok"},
                   "status": {"authenticated": true, "user": {"username": "alice", "extra": {"scopes": ["a", "b"]}}}})
        );
    }

    #[test]
    fn managed_fields_fields_v1_is_parsed_json() {
        let mf = [
            s(1, "kubectl"),
            s(2, "Update"),
            s(3, "v1"),
            s(6, "FieldsV1"),
            ld(7, &ld(1, br#"{"f:data":{}}"#)),
        ]
        .concat();
        let meta = [s(1, "x"), ld(17, &mf)].concat();
        let got = decode(&body("v1", "ConfigMap", &ld(1, &meta))).unwrap();
        assert_eq!(
            got["metadata"]["managedFields"],
            json!([{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}])
        );
    }

    #[test]
    fn time_and_duration_formatting() {
        assert_eq!(time_value(&[], false).unwrap(), Value::Null);
        assert_eq!(
            time_value(&int(1, GO_ZERO_TIME_UNIX), false).unwrap(),
            Value::Null
        );
        assert_eq!(
            time_value(&int(1, 0), false).unwrap(),
            json!("1970-01-01T00:00:00Z")
        );
        assert_eq!(
            time_value(&int(1, 951_782_400), false).unwrap(),
            json!("2000-02-29T00:00:00Z")
        );
        assert_eq!(
            time_value(&int(1, -1), true).unwrap(),
            json!("1969-12-31T23:59:59.000000Z")
        );
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(90_500_000_000), "1m30.5s");
        assert_eq!(go_duration(1_500_000), "1.5ms");
        assert_eq!(go_duration(2_000), "2µs");
        assert_eq!(go_duration(7), "7ns");
        assert_eq!(go_duration(-5_000_000_000), "-5s");
        assert_eq!(go_duration(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn errors() {
        assert_eq!(decode(b"").unwrap_err(), "empty data");
        assert_eq!(
            decode(b"{\"kind\":\"Namespace\"}").unwrap_err(),
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        );
        assert_eq!(decode(b"k8s\0").unwrap_err(), "empty body");
        // truncated varint in the envelope key
        assert_eq!(decode(b"k8s\0\x80").unwrap_err(), "unexpected EOF");
        // truncated varint inside the object (generation, int64)
        let raw = ld(1, &[key(7, 0), vec![0xff, 0xff]].concat());
        assert_eq!(
            decode(&body("v1", "Namespace", &raw)).unwrap_err(),
            "unexpected EOF"
        );
        // varint longer than 10 bytes
        let raw = ld(1, &[key(7, 0), vec![0xff; 11]].concat());
        assert_eq!(
            decode(&body("v1", "Namespace", &raw)).unwrap_err(),
            "proto: integer overflow"
        );
        // length past the end
        let mut b = body("v1", "Namespace", &[]);
        b.extend([0x12, 0x05, 0x01]);
        assert_eq!(decode(&b).unwrap_err(), "unexpected EOF");
        // huge length
        let mut b = b"k8s\0".to_vec();
        b.extend([key(2, 2), varint(u64::MAX)].concat());
        assert_eq!(
            decode(&b).unwrap_err(),
            "proto: negative length found during unmarshaling"
        );
        assert_eq!(
            decode(&body("v1", "Frobnicator", &[])).unwrap_err(),
            r#"no kind "Frobnicator" is registered for version "v1" in scheme "pkg/api/legacyscheme/scheme.go:30""#
        );
        assert_eq!(
            decode(&body("v1", "", &[])).unwrap_err(),
            r#"Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:"v1", Kind:""}'"#
        );
        assert_eq!(
            decode(&body("", "Pod", &[])).unwrap_err(),
            r#"Object 'apiVersion' is missing in 'runtime.TypeMeta{APIVersion:"", Kind:"Pod"}'"#
        );
        // wrong wire type for a known field (metadata.name sent as varint)
        let raw = ld(1, &int(1, 5));
        assert_eq!(
            decode(&body("v1", "Namespace", &raw)).unwrap_err(),
            "proto: wrong wireType = 0 for field Name"
        );
        let raw = [key(0, 0), varint(1)].concat();
        assert_eq!(
            decode(&body("v1", "Namespace", &raw)).unwrap_err(),
            "proto: Namespace: illegal tag 0 (wire type 0)"
        );
        let raw = key(5, 4);
        assert_eq!(
            decode(&body("v1", "Namespace", &raw)).unwrap_err(),
            "proto: Namespace: wiretype end group for non-group"
        );
        let raw = key(5, 7);
        assert_eq!(
            decode(&body("v1", "Namespace", &raw)).unwrap_err(),
            "proto: illegal wireType 7"
        );
        // spec.strategy.rollingUpdate.maxSurge with IntOrString type 2
        let raw = ld(2, &ld(4, &ld(2, &ld(2, &int(1, 2)))));
        assert!(
            decode(&body("apps/v1", "Deployment", &raw))
                .unwrap_err()
                .contains("impossible IntOrString.Type")
        );
    }

    #[test]
    fn no_panic_on_any_truncation_or_corruption() {
        let full = body("apps/v1", "Deployment", &deployment_raw());
        for end in 0..full.len() {
            let _ = decode(&full[..end]);
        }
        for i in 4..full.len() {
            for b in [0x00, 0x07, 0x80, 0xff] {
                let mut c = full.clone();
                c[i] = b;
                let _ = decode(&c);
            }
        }
        // deeply nested groups in an unknown field
        let mut raw = Vec::new();
        for _ in 0..10_000 {
            raw.extend(key(9, 3));
        }
        assert!(decode(&body("v1", "Namespace", &raw)).is_err());
    }

    #[test]
    fn schema_covers_all_kinds() {
        let schema = schema().unwrap();
        for (k, m) in &schema.kinds {
            assert!(schema.messages.contains_key(m), "{k}");
        }
        for fields in schema.messages.values() {
            for f in fields {
                if f.kind == Kind::Msg {
                    assert!(
                        schema.messages.contains_key(&f.message)
                            || [
                                TIME,
                                MICRO_TIME,
                                DURATION,
                                FIELDS_V1,
                                QUANTITY,
                                INT_OR_STRING,
                                RAW_EXTENSION,
                                EXTRA_VALUE,
                                AUTHZ_EXTRA_VALUE
                            ]
                            .contains(&f.message.as_str()),
                        "{}",
                        f.message
                    );
                }
            }
        }
        assert_eq!(schema.kinds.len(), 40);
    }
}
