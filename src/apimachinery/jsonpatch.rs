//! JSON patch (RFC 6902, `application/json-patch+json`) as the API server
//! applies it, with upstream's bounds (the CVE-2019-1002100 fix).
//!
//! Upstream applies JSON patches with `gopkg.in/evanphx/json-patch.v4` from
//! `staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go`
//! (`applyJSPatch`). This module follows that library's observable
//! behaviour, not only the RFC, because clients see the difference between
//! success and failure:
//!
//! * a path is split at `/` and its first segment is ignored, so `a/b`
//!   addresses `/b`; a path without `/` fails, except `""` for `test` and
//!   `replace` (the whole document);
//! * array indices are Go's `strconv.Atoi` (`+1`, `00` accepted) and may be
//!   negative (counted from the end; `add` at `-1` appends);
//! * `replace` of a missing object member adds it; `copy` from a missing
//!   member copies `null`; `test` of a missing member passes against a
//!   `null` or absent value; an absent `value` means `null` for `add`;
//! * every failure is the same 422 to the client (the library's message is
//!   not shown), so [`ApplyError`] carries the library's text for logs only.
//!
//! Bounds: at most [`MAX_JSON_PATCH_OPERATIONS`] operations (413 from the
//! handler), and the `copy` operations of one patch may add at most
//! [`MAX_COPY_BYTES`] bytes of JSON (`AccumulatedCopySizeLimit`, which
//! kube-apiserver sets to `JSONPatchMaxCopyBytes`, 3 MiB, the body limit),
//! measured as Go's `json.Marshal` length of each copied value, and checked
//! before the value is copied, so a patch of doubling copies is refused after
//! at most 3 MiB of copying.

use serde_json::{Map, Value};

/// Upstream's `maxJSONPatchOperations`.
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// Upstream's `JSONPatchMaxCopyBytes` (= `MaxRequestBodyBytes`, 3 MiB).
pub const MAX_COPY_BYTES: u64 = 3 * 1024 * 1024;

/// Why a decoded patch could not be applied (upstream answers every one of
/// these with the same 422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyError(pub String);

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ApplyError {}

type AResult<T> = Result<T, ApplyError>;

fn fail<T>(msg: impl Into<String>) -> AResult<T> {
    Err(ApplyError(msg.into()))
}

/// Go's name of a JSON value's type in `json: cannot unmarshal <t> ...`.
fn go_json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Decodes a JSON patch document into its operations, with upstream's
/// decoding error (a 400). `strict` is fieldValidation Warn or Strict, where
/// upstream first decodes into its own `[]handlers.jsonPatchOp`.
pub fn decode(patch: &Value, strict: bool) -> Result<Vec<Option<&Map<String, Value>>>, String> {
    let items = match patch {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(if strict {
                format!(
                    "error decoding patch: json: cannot unmarshal {} into Go value of type []handlers.jsonPatchOp",
                    go_json_type(other)
                )
            } else {
                format!(
                    "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
                    go_json_type(other)
                )
            });
        }
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Null => ops.push(None),
            Value::Object(m) => {
                if strict {
                    for field in ["op", "path", "from"] {
                        if let Some(v) = m.get(field)
                            && !v.is_string()
                            && !v.is_null()
                        {
                            return Err(format!(
                                "error decoding patch: json: cannot unmarshal {} into Go struct field jsonPatchOp.{field} of type string",
                                go_json_type(v)
                            ));
                        }
                    }
                }
                ops.push(Some(m));
            }
            other => {
                return Err(if strict {
                    format!(
                        "error decoding patch: json: cannot unmarshal {} into Go value of type handlers.jsonPatchOp",
                        go_json_type(other)
                    )
                } else {
                    format!(
                        "json: cannot unmarshal {} into Go value of type jsonpatch.Operation",
                        go_json_type(other)
                    )
                });
            }
        }
    }
    Ok(ops)
}

/// The warnings upstream gives (fieldValidation=Warn) for members of
/// operations other than `op`, `path`, `from` and `value`:
/// `json patch unknown field "[0].extra"`.
pub fn unknown_fields(patch: &Value) -> Vec<String> {
    let Value::Array(items) = patch else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(m) = item else { continue };
        for k in m.keys() {
            if !matches!(k.as_str(), "op" | "path" | "from" | "value") {
                out.push(format!("json patch unknown field \"[{i}].{k}\""));
            }
        }
    }
    out
}

/// Upstream's 413 message for a patch with too many operations, if `n` is.
pub fn too_many_operations(n: usize) -> Option<String> {
    (n > MAX_JSON_PATCH_OPERATIONS).then(|| {
        format!(
            "The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {n}"
        )
    })
}

/// Applies decoded operations to `doc` in order; `copy_limit` bounds the
/// bytes all `copy` operations may add.
pub fn apply(doc: &mut Value, ops: &[Option<&Map<String, Value>>], copy_limit: u64) -> AResult<()> {
    let mut copied: u64 = 0;
    for op in ops {
        let empty = Map::new();
        let op = op.unwrap_or(&empty);
        apply_one(doc, op, &mut copied, copy_limit)?;
    }
    Ok(())
}

fn string_field(op: &Map<String, Value>, name: &str) -> AResult<String> {
    match op.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => fail(format!("operation missing {name} field")),
        Some(other) => fail(format!(
            "json: cannot unmarshal {} into Go value of type string",
            go_json_type(other)
        )),
    }
}

fn apply_one(
    doc: &mut Value,
    op: &Map<String, Value>,
    copied: &mut u64,
    copy_limit: u64,
) -> AResult<()> {
    let kind = op.get("op").and_then(Value::as_str).unwrap_or("unknown");
    let value = op.get("value");
    match kind {
        "add" => {
            let path = string_field(op, "path")?;
            let (con, key) = find_parent(doc, &path)?;
            add(con, &key, value.cloned().unwrap_or(Value::Null))
        }
        "remove" => {
            let path = string_field(op, "path")?;
            let (con, key) = find_parent(doc, &path)?;
            remove(con, &key).map(drop)
        }
        "replace" => {
            let path = string_field(op, "path")?;
            if path.is_empty() {
                return match value {
                    Some(v @ (Value::Object(_) | Value::Array(_))) => {
                        *doc = v.clone();
                        Ok(())
                    }
                    _ => fail("replace operation value must be object or array"),
                };
            }
            let (con, key) = find_parent(doc, &path)?;
            get(con, &key)?;
            set(con, &key, value.cloned().unwrap_or(Value::Null))
        }
        "move" => {
            let from = string_field(op, "from")?;
            let (con, key) = find_parent(doc, &from)?;
            get(con, &key)?;
            let moved = remove(con, &key)?;
            let path = string_field(op, "path")?;
            let (con, key) = find_parent(doc, &path)?;
            add(con, &key, moved)
        }
        "test" => {
            let path = string_field(op, "path")?;
            if path.is_empty() {
                return match value {
                    Some(v) if v == doc => Ok(()),
                    _ => fail(format!("testing value {path} failed")),
                };
            }
            let (con, key) = find_parent(doc, &path)?;
            let current = get(con, &key)?;
            let ok = match current {
                None | Some(Value::Null) => value.is_none_or(Value::is_null),
                Some(cur) => value == Some(cur),
            };
            if ok {
                Ok(())
            } else {
                fail(format!("testing value {path} failed"))
            }
        }
        "copy" => {
            let from = string_field(op, "from")?;
            let (con, key) = find_parent(doc, &from)?;
            let source = get(con, &key)?.cloned();
            let path = string_field(op, "path")?;
            let source = source.unwrap_or(Value::Null);
            // Measured before copying: a refused copy costs no memory.
            *copied = copied.saturating_add(go_json_len(&source));
            if *copied > copy_limit {
                return fail(format!(
                    "Unable to complete the copy, the accumulated size increase of copy is {copied}, exceeding the limit {copy_limit}"
                ));
            }
            let (con, key) = find_parent(doc, &path)?;
            add(con, &key, source)
        }
        other => fail(format!("Unexpected kind: {other}")),
    }
}

/// RFC 6901 unescaping as upstream's `decodePatchKey`.
fn decode_key(s: &str) -> String {
    if s.contains('~') {
        s.replace("~1", "/").replace("~0", "~")
    } else {
        s.to_string()
    }
}

/// `findObject`: the container holding the path's last segment, and that
/// segment (unescaped). The first segment is ignored, as upstream does.
fn find_parent<'a>(doc: &'a mut Value, path: &str) -> AResult<(&'a mut Value, String)> {
    let missing = || ApplyError(format!("doc is missing path: \"{path}\""));
    let mut segments = path.split('/');
    let _ = segments.next();
    let mut parts: Vec<&str> = segments.collect();
    let Some(last) = parts.pop() else {
        return Err(missing());
    };
    let mut cur = doc;
    for part in parts {
        let key = decode_key(part);
        let next = match cur {
            Value::Object(m) => m.get_mut(&key),
            Value::Array(items) => {
                let len = items.len();
                match array_index(&key, len) {
                    Some(i) => items.get_mut(i),
                    None => None,
                }
            }
            _ => None,
        };
        match next {
            Some(v @ (Value::Object(_) | Value::Array(_))) => cur = v,
            _ => return Err(missing()),
        }
    }
    if !cur.is_object() && !cur.is_array() {
        return Err(missing());
    }
    Ok((cur, decode_key(last)))
}

/// An existing element's index (`get`/`set`): Go's `Atoi`, negative from the end.
fn array_index(key: &str, len: usize) -> Option<usize> {
    let idx: i64 = key.parse().ok()?;
    let len_i = i64::try_from(len).ok()?;
    let idx = if idx < 0 {
        idx.checked_add(len_i)?
    } else {
        idx
    };
    if idx < 0 || idx >= len_i {
        return None;
    }
    usize::try_from(idx).ok()
}

fn get<'a>(con: &'a Value, key: &str) -> AResult<Option<&'a Value>> {
    match con {
        Value::Object(m) => Ok(m.get(key)),
        Value::Array(items) => match array_index(key, items.len()) {
            Some(i) => Ok(items.get(i)),
            None => fail(format!("Unable to access invalid index: {key}")),
        },
        _ => fail("invalid state detected"),
    }
}

fn set(con: &mut Value, key: &str, v: Value) -> AResult<()> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
            Ok(())
        }
        Value::Array(items) => {
            let Some(slot) = array_index(key, items.len()).and_then(|i| items.get_mut(i)) else {
                return fail(format!("Unable to access invalid index: {key}"));
            };
            *slot = v;
            Ok(())
        }
        _ => fail("invalid state detected"),
    }
}

fn add(con: &mut Value, key: &str, v: Value) -> AResult<()> {
    match con {
        Value::Object(m) => {
            m.insert(key.to_string(), v);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(v);
                return Ok(());
            }
            let Ok(idx) = key.parse::<i64>() else {
                return fail(format!("value was not a proper array index: '{key}'"));
            };
            // The array after insertion has len + 1 slots.
            let slots = i64::try_from(items.len())
                .unwrap_or(i64::MAX)
                .saturating_add(1);
            let idx = if idx < 0 {
                idx.saturating_add(slots)
            } else {
                idx
            };
            if idx < 0 || idx >= slots {
                return fail(format!("Unable to access invalid index: {key}"));
            }
            let idx = usize::try_from(idx).unwrap_or(items.len()).min(items.len());
            items.insert(idx, v);
            Ok(())
        }
        _ => fail("invalid state detected"),
    }
}

fn remove(con: &mut Value, key: &str) -> AResult<Value> {
    match con {
        Value::Object(m) => match m.shift_remove(key) {
            Some(v) => Ok(v),
            None => fail(format!("Unable to remove nonexistent key: {key}")),
        },
        Value::Array(items) => match array_index(key, items.len()) {
            Some(i) => Ok(items.remove(i)),
            None => fail(format!("Unable to access invalid index: {key}")),
        },
        _ => fail("invalid state detected"),
    }
}

/// Counts the bytes written through it.
struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self
            .0
            .saturating_add(u64::try_from(buf.len()).unwrap_or(u64::MAX));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of Go's `json.Marshal` of `v`: compact JSON whose strings also
/// escape `<`, `>`, `&` (`\u003c`, 6 bytes for 1) and U+2028/U+2029 (6 for 3).
pub fn go_json_len(v: &Value) -> u64 {
    let mut c = Counter(0);
    if serde_json::to_writer(&mut c, v).is_err() {
        return u64::MAX;
    }
    c.0.saturating_add(html_escape_extra(v))
}

fn html_escape_extra(v: &Value) -> u64 {
    fn in_str(s: &str) -> u64 {
        s.chars()
            .map(|ch| match ch {
                '<' | '>' | '&' => 5,
                '\u{2028}' | '\u{2029}' => 3,
                _ => 0,
            })
            .sum()
    }
    match v {
        Value::String(s) => in_str(s),
        Value::Array(items) => items.iter().map(html_escape_extra).sum(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| in_str(k).saturating_add(html_escape_extra(v)))
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, patch: Value) -> AResult<Value> {
        let ops = decode(&patch, true).map_err(ApplyError)?;
        let mut doc = doc;
        apply(&mut doc, &ops, MAX_COPY_BYTES)?;
        Ok(doc)
    }

    fn cm() -> Value {
        json!({"metadata": {"name": "c", "finalizers": ["a", "b"]}, "data": {"a": "b"}})
    }

    #[test]
    fn rfc_operations() {
        let got = run(
            cm(),
            json!([
                {"op": "add", "path": "/data/x", "value": "1"},
                {"op": "replace", "path": "/data/a", "value": "c"},
                {"op": "copy", "from": "/data/a", "path": "/data/y"},
                {"op": "move", "from": "/data/x", "path": "/data/z"},
                {"op": "remove", "path": "/metadata/finalizers/0"},
                {"op": "test", "path": "/data", "value": {"a": "c", "y": "c", "z": "1"}},
            ]),
        );
        assert_eq!(
            got,
            Ok(
                json!({"metadata": {"name": "c", "finalizers": ["b"]}, "data": {"a": "c", "y": "c", "z": "1"}})
            )
        );
    }

    /// Each checked against kube-apiserver v1.36.2.
    #[test]
    fn upstream_quirks() {
        // negative indices, `+1`, `-1` appends on add.
        let got = run(
            cm(),
            json!([
                {"op": "test", "path": "/metadata/finalizers/-1", "value": "b"},
                {"op": "remove", "path": "/metadata/finalizers/-2"},
                {"op": "add", "path": "/metadata/finalizers/+1", "value": "c"},
                {"op": "add", "path": "/metadata/finalizers/-1", "value": "d"},
                {"op": "test", "path": "/metadata/finalizers", "value": ["b", "c", "d"]},
            ]),
        );
        assert!(got.is_ok(), "{got:?}");
        // `01` is index 1 (out of range here), `00` is 0.
        assert!(
            run(
                cm(),
                json!([{"op": "test", "path": "/metadata/finalizers/00", "value": "a"}])
            )
            .is_ok()
        );
        assert!(
            run(
                cm(),
                json!([{"op": "test", "path": "/metadata/finalizers/02", "value": "a"}])
            )
            .is_err()
        );
        // The first segment is ignored.
        assert_eq!(
            run(
                json!({"a": 1}),
                json!([{"op": "add", "path": "data/x", "value": "1"}])
            ),
            Ok(json!({"a": 1, "x": "1"}))
        );
        assert!(run(json!({}), json!([{"op": "add", "path": "x", "value": 1}])).is_err());
        // replace of a missing member adds it; copy of a missing one copies null.
        assert_eq!(
            run(
                json!({}),
                json!([{"op": "replace", "path": "/k", "value": "v"}])
            ),
            Ok(json!({"k": "v"}))
        );
        assert_eq!(
            run(
                json!({}),
                json!([{"op": "copy", "from": "/n", "path": "/k"}])
            ),
            Ok(json!({"k": null}))
        );
        // test of a missing member passes against an absent or null value only.
        assert!(run(cm(), json!([{"op": "test", "path": "/data/zz"}])).is_ok());
        assert!(
            run(
                cm(),
                json!([{"op": "test", "path": "/data/zz", "value": null}])
            )
            .is_ok()
        );
        assert!(
            run(
                cm(),
                json!([{"op": "test", "path": "/data/zz", "value": "x"}])
            )
            .is_err()
        );
        assert!(run(cm(), json!([{"op": "test", "path": "/metadata/name"}])).is_err());
        assert!(run(json!({}), json!([{"op": "test", "path": "/data/zz"}])).is_err());
        // add without value adds null.
        assert_eq!(
            run(json!({}), json!([{"op": "add", "path": "/x"}])),
            Ok(json!({"x": null}))
        );
        // a parent cannot move into itself; unknown ops fail.
        assert!(
            run(
                cm(),
                json!([{"op": "move", "from": "/metadata", "path": "/metadata/x"}])
            )
            .is_err()
        );
        assert!(run(cm(), json!([{"op": "bogus", "path": "/a"}])).is_err());
        assert!(run(cm(), json!([{"op": "add"}])).is_err());
        assert!(run(cm(), json!([{"op": "test", "path": "", "value": {}}])).is_err());
        assert_eq!(
            run(
                cm(),
                json!([{"op": "replace", "path": "", "value": {"a": 1}}])
            ),
            Ok(json!({"a": 1}))
        );
    }

    #[test]
    fn decode_errors_as_upstream() {
        assert_eq!(
            decode(&json!({}), true).err().as_deref(),
            Some(
                "error decoding patch: json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"
            )
        );
        assert_eq!(
            decode(&json!([1]), true).err().as_deref(),
            Some(
                "error decoding patch: json: cannot unmarshal number into Go value of type handlers.jsonPatchOp"
            )
        );
        assert_eq!(
            decode(&json!("x"), false).err().as_deref(),
            Some("json: cannot unmarshal string into Go value of type jsonpatch.Patch")
        );
        assert_eq!(decode(&json!(null), true).map(|o| o.len()), Ok(0));
        assert_eq!(
            unknown_fields(&json!([{"op": "add", "path": "/a", "value": 1, "extra": 1}])),
            vec!["json patch unknown field \"[0].extra\"".to_string()]
        );
        assert_eq!(too_many_operations(10_000), None);
        assert_eq!(
            too_many_operations(10_001).as_deref(),
            Some("The allowed maximum operations in a JSON patch is 10000, got 10001")
        );
    }

    /// The 3.6 KB patch of 30 doubling copies is refused once the copies
    /// would pass 3 MiB, without building the 2^30-fold document.
    #[test]
    fn doubling_copies_are_bounded() {
        let mut ops = vec![
            json!({"op": "add", "path": "/metadata/annotations", "value": {"a": "x".repeat(100)}}),
        ];
        for i in 0..30 {
            ops.push(json!({"op": "copy", "from": "/metadata/annotations", "path": format!("/metadata/annotations/k{i}")}));
        }
        let err = run(cm(), Value::Array(ops));
        assert!(
            matches!(&err, Err(ApplyError(m)) if m.contains("exceeding the limit 3145728")),
            "{err:?}"
        );
    }

    /// The boundary measured against upstream: four copies of a string of
    /// 786,430 characters (786,432 JSON bytes each) add exactly 3 MiB and
    /// pass; one more character each is refused.
    #[test]
    fn copy_limit_boundary() {
        let patch = |n: usize| {
            let mut ops = vec![json!({"op": "add", "path": "/data/a", "value": "x".repeat(n)})];
            for i in 0..4 {
                ops.push(json!({"op": "copy", "from": "/data/a", "path": format!("/data/k{i}")}));
            }
            Value::Array(ops)
        };
        assert!(run(cm(), patch(786_430)).is_ok());
        assert!(run(cm(), patch(786_431)).is_err());
    }

    #[test]
    fn go_marshal_length() {
        assert_eq!(go_json_len(&json!({"a": "<b>"})), 21);
        assert_eq!(go_json_len(&json!([1, null, true])), 13);
        assert_eq!(go_json_len(&json!("\u{2028}")), 8);
    }
}
