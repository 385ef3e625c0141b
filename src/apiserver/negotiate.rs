//! Content negotiation: request bodies in JSON or YAML, responses in JSON,
//! YAML or `meta.k8s.io/v1` `Table` (as upstream's
//! `apiserver/pkg/endpoints/handlers/negotiation`), and the Table itself.

use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::apimachinery::status::ApiError;
use crate::registry::served::Resource;

/// Largest request body accepted (upstream's 3 MiB limit).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// What upstream lists in a 406 of a resource endpoint
/// (`negotiation.NewNotAcceptableError`, its serializers in order).
pub const REPRESENTATIONS: &str =
    "application/json, application/yaml, application/vnd.kubernetes.protobuf";
/// The same for endpoints that can also stream (lists and watches).
pub const WATCH_REPRESENTATIONS: &str = "application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch";

/// Whether an `Accept` header allows any of `essences` (or is absent, or a
/// wildcard): discovery and `/version` answer 406 otherwise.
pub fn accepts_any(accept: Option<&str>, essences: &[&str]) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    accept.split(',').any(|raw| {
        let e = MediaType::parse(raw).essence.to_ascii_lowercase();
        e == "*/*" || e == "application/*" || essences.contains(&e.as_str())
    })
}

/// What a response is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Json,
    Yaml,
    /// `Table`, with what each row's `object` holds.
    Table(IncludeObject),
    /// `PartialObjectMetadata`: only `metadata` (what metadata informers
    /// and the garbage collector ask for; each object of a watch).
    Metadata,
    /// `PartialObjectMetadataList`, for lists.
    MetadataList,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

/// One media type of an `Accept` header.
#[derive(Debug, Default)]
struct MediaType<'a> {
    essence: &'a str,
    params: Vec<(&'a str, &'a str)>,
}

impl<'a> MediaType<'a> {
    fn parse(s: &'a str) -> Self {
        let mut parts = s.split(';');
        let essence = parts.next().unwrap_or("").trim();
        let params = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim().trim_matches('"')))
            .collect();
        MediaType { essence, params }
    }
    fn param(&self, k: &str) -> Option<&'a str> {
        self.params.iter().find(|(pk, _)| *pk == k).map(|(_, v)| *v)
    }
}

/// Picks the response encoding from `Accept`. `table_ok` says whether the
/// verb can answer with a Table (get, list, watch); `PartialObjectMetadata`
/// is answered on every verb, as upstream (kube-rs `patch_metadata` asks for
/// it on patch). `watchable` endpoints list their streaming types in a 406.
pub fn negotiate(
    accept: Option<&str>,
    include_object: Option<&str>,
    table_ok: bool,
    watchable: bool,
) -> Result<Output, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Output::Json);
    };
    for raw in accept.split(',') {
        let mt = MediaType::parse(raw);
        match mt.essence {
            "application/json" | "application/*" | "*/*" => match mt.param("as") {
                None => return Ok(Output::Json),
                Some("Table")
                    if table_ok
                        && mt.param("g") == Some("meta.k8s.io")
                        && matches!(mt.param("v"), Some("v1") | Some("v1beta1")) =>
                {
                    let inc = match include_object {
                        Some("None") => IncludeObject::None,
                        Some("Object") => IncludeObject::Object,
                        _ => IncludeObject::Metadata,
                    };
                    return Ok(Output::Table(inc));
                }
                Some(as_ @ ("PartialObjectMetadata" | "PartialObjectMetadataList"))
                    if mt.param("g") == Some("meta.k8s.io")
                        && matches!(mt.param("v"), Some("v1") | Some("v1beta1")) =>
                {
                    return Ok(if as_ == "PartialObjectMetadata" {
                        Output::Metadata
                    } else {
                        Output::MetadataList
                    });
                }
                _ => continue,
            },
            "application/yaml" => {
                if mt.param("as").is_none() {
                    return Ok(Output::Yaml);
                }
            }
            _ => continue,
        }
    }
    Err(ApiError::not_acceptable(if watchable {
        WATCH_REPRESENTATIONS
    } else {
        REPRESENTATIONS
    }))
}

/// 406 when the metadata-only kind asked for does not fit the answer
/// (`handlers/response.go` transform: "you requested PartialObjectMetadata,
/// but the requested object is a list (*core.ConfigMapList)"), naming the
/// internal Go type as upstream does.
pub fn metadata_mismatch(output: Output, res: &Resource, is_list: bool) -> Option<ApiError> {
    let pkg = match res.group.as_str() {
        "" | "events.k8s.io" => "core",
        g => g.split('.').next().unwrap_or(g),
    };
    let msg = match (output, is_list) {
        (Output::Metadata, true) => format!(
            "you requested PartialObjectMetadata, but the requested object is a list (*{pkg}.{}List)",
            res.kind
        ),
        (Output::MetadataList, false) => format!(
            "you requested PartialObjectMetadataList, but the requested object is not a list (*{pkg}.{})",
            res.kind
        ),
        _ => return None,
    };
    Some(ApiError::not_acceptable_message(msg))
}

/// The essence of a `Content-Type` (`application/json`), lowercased.
pub fn content_type_essence(ct: Option<&str>) -> String {
    ct.unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Decodes a create/update body: JSON or YAML.
pub fn decode_body(content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    match content_type_essence(content_type).as_str() {
        "application/json" | "" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}': {e}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ))
        }),
        "application/yaml" | "application/x-yaml" | "text/yaml" => decode_yaml(body),
        // kubectl's typed clients send built-in kinds as protobuf.
        "application/vnd.kubernetes.protobuf" => {
            crate::apimachinery::protobuf::decode(body).map_err(ApiError::bad_request)
        }
        _ => Err(ApiError::unsupported_media_type(&[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ])),
    }
}

/// Paths of keys that appear twice in one JSON object of `body`, in the
/// form upstream's strict decoding reports them (`spec.replicas`,
/// `spec.containers[0].image`). Empty for bodies that are not JSON.
pub fn duplicate_fields(body: &[u8]) -> Vec<String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;
    use std::collections::HashSet;

    /// One step from the parent: a key or a list index.
    #[derive(Clone, Copy)]
    enum Seg<'a> {
        Root,
        Key(&'a str),
        Index(usize),
    }

    /// Where the walk is: the step and the parent's position. The path text
    /// is only built for a duplicate (every body is walked, few have one).
    #[derive(Clone, Copy)]
    struct Walk<'a> {
        seg: Seg<'a>,
        parent: Option<&'a Walk<'a>>,
        found: &'a std::cell::RefCell<Vec<String>>,
    }

    impl Walk<'_> {
        fn path(&self) -> String {
            let mut segs = Vec::new();
            let mut at = Some(self);
            while let Some(w) = at {
                segs.push(w.seg);
                at = w.parent;
            }
            let mut out = String::new();
            for seg in segs.iter().rev() {
                match seg {
                    Seg::Root => {}
                    Seg::Key(k) => {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(k);
                    }
                    Seg::Index(i) => out.push_str(&format!("[{i}]")),
                }
            }
            out
        }
    }

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            while seq
                .next_element_seed(Walk {
                    seg: Seg::Index(i),
                    parent: Some(&self),
                    found: self.found,
                })?
                .is_some()
            {
                i += 1;
            }
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            // Keys borrowed from the body where they have no escapes; a
            // linear scan for small maps, a hash set past 16 keys.
            let mut small: Vec<Cow<'de, str>> = Vec::new();
            let mut large: Option<HashSet<Cow<'de, str>>> = None;
            while let Some(key) = map.next_key_seed(Key)? {
                let dup = match &mut large {
                    Some(set) => set.contains(&key),
                    None => small.contains(&key),
                };
                let child = Walk {
                    seg: Seg::Key(&key),
                    parent: Some(&self),
                    found: self.found,
                };
                if dup {
                    self.found.borrow_mut().push(child.path());
                }
                map.next_value_seed(child)?;
                if !dup {
                    match &mut large {
                        Some(set) => {
                            set.insert(key);
                        }
                        None if small.len() >= 16 => {
                            let mut set: HashSet<Cow<'de, str>> = small.drain(..).collect();
                            set.insert(key);
                            large = Some(set);
                        }
                        None => small.push(key),
                    }
                }
            }
            Ok(())
        }
    }

    /// A map key, borrowed from the body unless it has escapes (serde's
    /// own `Cow` impl always copies).
    struct Key;

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Cow<'de, str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a string key")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }
    }

    let found = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(body);
    let walked = Walk {
        seg: Seg::Root,
        parent: None,
        found: &found,
    }
    .deserialize(&mut de);
    if walked.is_err() {
        return Vec::new();
    }
    found.into_inner()
}

/// YAML (a superset of JSON) to a JSON value.
pub fn decode_yaml(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the request body is not valid UTF-8"))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
}

/// Encodes a response body; returns the bytes and the content type.
pub fn encode(value: &Value, output: Output) -> (Vec<u8>, &'static str) {
    match output {
        Output::Yaml => match serde_saphyr::to_string(value) {
            Ok(s) => (s.into_bytes(), "application/yaml"),
            Err(_) => (
                serde_json::to_vec(value).unwrap_or_default(),
                "application/json",
            ),
        },
        _ => (
            serde_json::to_vec(value).unwrap_or_default(),
            "application/json",
        ),
    }
}

fn row_object(obj: &Value, res: &Resource, inc: IncludeObject) -> Option<Value> {
    match inc {
        IncludeObject::None => None,
        IncludeObject::Object => {
            let mut o = obj.clone();
            if let Some(m) = o.as_object_mut() {
                m.entry("apiVersion")
                    .or_insert_with(|| json!(res.api_version()));
                m.entry("kind").or_insert_with(|| json!(res.kind));
            }
            Some(o)
        }
        IncludeObject::Metadata => Some(json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        })),
    }
}

/// The `PartialObjectMetadata` of an object.
pub fn to_partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A list's metadata as the typed `metav1.ListMeta` of a Table or a
/// `PartialObjectMetadataList` encodes it: field order, and an empty
/// `continue` left out (a custom resource's own list writes it).
fn typed_list_meta(meta: Option<&Value>) -> Value {
    let Some(Value::Object(m)) = meta else {
        return json!({});
    };
    let mut out = Map::new();
    for key in [
        "selfLink",
        "resourceVersion",
        "continue",
        "remainingItemCount",
    ] {
        match m.get(key) {
            Some(Value::String(s)) if s.is_empty() && key == "continue" => {}
            Some(v) => {
                out.insert(key.into(), v.clone());
            }
            None => {}
        }
    }
    for (k, v) in m {
        if !out.contains_key(k) && k != "continue" {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// A `PartialObjectMetadataList` of a list's items.
pub fn to_partial_list(list: &Value) -> Value {
    let items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(to_partial).collect())
        .unwrap_or_default();
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": typed_list_meta(list.get("metadata")),
        "items": items,
    })
}

/// A `Table` of objects (`items` of a list, or one object).
pub fn to_table(
    res: &Resource,
    objects: &[Value],
    list_meta: Option<&Value>,
    inc: IncludeObject,
) -> Value {
    let now = Utc::now();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = Map::new();
            let cells = res.strategy.cells(o, now);
            row.insert("cells".into(), Value::Array(cells));
            if let Some(obj) = row_object(o, res, inc) {
                row.insert("object".into(), obj);
            }
            Value::Object(row)
        })
        .collect();
    let metadata = match list_meta {
        Some(m) => typed_list_meta(Some(m)),
        None => json!({
            "resourceVersion": objects
                .first()
                .and_then(|o| o.pointer("/metadata/resourceVersion"))
                .cloned()
                .unwrap_or(json!("")),
        }),
    };
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": res.strategy.columns(),
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_get_accept_picks_table() {
        let a = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(
            negotiate(Some(a), None, true, false).unwrap(),
            Output::Table(IncludeObject::Metadata)
        );
        assert_eq!(
            negotiate(Some(a), None, false, false).unwrap(),
            Output::Json
        );
        assert_eq!(
            negotiate(Some("application/yaml"), None, true, false).unwrap(),
            Output::Yaml
        );
        assert_eq!(negotiate(None, None, true, false).unwrap(), Output::Json);
        assert_eq!(
            negotiate(
                Some("application/vnd.kubernetes.protobuf,*/*"),
                None,
                true,
                false
            )
            .unwrap(),
            Output::Json
        );
        let e = negotiate(Some("text/html"), None, true, false).unwrap_err();
        assert_eq!(e.code, 406);
        assert_eq!(
            e.to_status()["message"],
            "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/vnd.kubernetes.protobuf"
        );
        assert_eq!(e.to_status()["details"], json!({}));
        let e = negotiate(Some("garbage"), None, true, true).unwrap_err();
        assert!(e.message.ends_with(
            "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"
        ));
        // Metadata-only answers on every verb (kube-rs `patch_metadata`).
        let m = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
        assert_eq!(
            negotiate(Some(m), None, false, false).unwrap(),
            Output::Metadata
        );
        let l = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
        assert_eq!(
            negotiate(Some(l), None, true, true).unwrap(),
            Output::MetadataList
        );
        assert!(accepts_any(None, &["application/json"]));
        assert!(accepts_any(Some("*/*"), &["application/json"]));
        assert!(accepts_any(
            Some("text/html, application/json;g=x"),
            &["application/json"]
        ));
        assert!(!accepts_any(Some("garbage"), &["application/json"]));
    }

    #[test]
    fn duplicate_fields_are_found_with_their_paths() {
        let body = br#"{"spec":{"replicas":1,"replicas":2,"template":{"spec":{"containers":[{"name":"a","image":"x","image":"y"}]}}}}"#;
        assert_eq!(
            duplicate_fields(body),
            ["spec.replicas", "spec.template.spec.containers[0].image"]
        );
        assert!(duplicate_fields(br#"{"a":1}"#).is_empty());
        assert!(duplicate_fields(b"not json").is_empty());
    }

    #[test]
    fn yaml_bodies_decode() {
        let v = decode_body(
            Some("application/yaml"),
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}})
        );
        assert_eq!(decode_body(Some("text/plain"), b"x").unwrap_err().code, 415);
    }
}
