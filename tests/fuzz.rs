//! Property-based fuzzing (proptest) of everything that parses or merges
//! client input: request body decoders (JSON, YAML, protobuf), the three
//! patch types, server-side apply, label and field selectors.
//!
//! Invariants: no panic, no hang (each case is bounded), output bounded by
//! the input's size; plus cheap differential properties (a merge patch
//! computed by diffing two documents reproduces the target; a strategic
//! merge patch without schema or directives is a JSON merge patch; applying
//! the same configuration twice changes nothing; a parsed selector prints
//! to a string that parses to the same selector).
//!
//! CI runs each target for a few dozen deterministic cases (`cargo test`).
//! Run longer with a random seed each round:
//! `FUZZ_SECONDS=600 PROPTEST_CASES=256 cargo test --test fuzz -- --nocapture`
//! (docs/ROBUSTNESS.md records the long runs and what they found).

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Map, Value, json};

use ironkube::apimachinery::{fieldmanager, fields, jsonpatch, labels, protobuf, strategicpatch};
use ironkube::apiserver::negotiate;
use ironkube::openapi::OpenApi;

/// A case taking longer than this is a hang (debug build, shared CPU).
const HANG: Duration = Duration::from_secs(20);

/// Runs `test` on values of `strategy`: `PROPTEST_CASES` cases (default 48,
/// deterministic) or, with `FUZZ_SECONDS`, rounds of random cases until the
/// time is up.
fn fuzz<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
    S::Value: Debug,
{
    let cases: u32 = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let seconds: u64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let start = Instant::now();
    let mut total: u64 = 0;
    let slowest = std::cell::Cell::new(Duration::ZERO);
    loop {
        let mut runner = if seconds == 0 {
            TestRunner::new_with_rng(
                config.clone(),
                TestRng::deterministic_rng(RngAlgorithm::ChaCha),
            )
        } else {
            TestRunner::new(config.clone())
        };
        let result = runner.run(&strategy, |v| {
            let t = Instant::now();
            let r = test(v);
            let took = t.elapsed();
            slowest.set(slowest.get().max(took));
            prop_assert!(took < HANG, "case took {took:?}");
            r
        });
        if let Err(e) = result {
            panic!("fuzz target {name}: {e}");
        }
        total += u64::from(cases);
        if seconds == 0 || start.elapsed() >= Duration::from_secs(seconds) {
            break;
        }
    }
    eprintln!(
        "fuzz {name}: {total} cases in {:?}, slowest case {:?}",
        start.elapsed(),
        slowest.get()
    );
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

const KEYS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "ownerReferences",
    "uid",
    "spec",
    "template",
    "containers",
    "initContainers",
    "image",
    "env",
    "value",
    "ports",
    "containerPort",
    "protocol",
    "volumes",
    "volumeMounts",
    "mountPath",
    "args",
    "tolerations",
    "key",
    "nodeSelector",
    "replicas",
    "strategy",
    "rollingUpdate",
    "type",
    "status",
    "conditions",
    "data",
    "$patch",
    "$retainKeys",
    "$setElementOrder/containers",
    "$setElementOrder/env",
    "$setElementOrder/finalizers",
    "$setElementOrder/ports",
    "$deleteFromPrimitiveList/finalizers",
    "$deleteFromPrimitiveList/args",
    "$deleteFromPrimitiveList",
    "$setElementOrder",
];

const WORDS: &[&str] = &[
    "",
    "a",
    "b",
    "c0",
    "c1",
    "e0",
    "nginx",
    "replace",
    "delete",
    "merge",
    "retainKeys",
    "bogus",
    "TCP",
    "x.io/f",
    "v1",
    "Pod",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "[a-z$/~0-9]{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..100).prop_map(|i| json!(i)),
        any::<i64>().prop_map(|i| json!(i)),
        (-1e3f64..1e3).prop_map(|f| json!(f)),
        proptest::sample::select(WORDS).prop_map(|s| json!(s)),
        "\\PC{0,8}".prop_map(Value::String),
    ]
}

/// Any JSON value, biased to Kubernetes field names and patch directives.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    proptest::collection::vec((key(), value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>()))
}

/// A container list item, sometimes carrying a directive.
fn container() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&["c0", "c1", "c2", "c3"][..]),
        proptest::option::of(proptest::sample::select(WORDS)),
        proptest::option::of(proptest::sample::select(
            &["delete", "replace", "merge", "bogus"][..],
        )),
        proptest::collection::vec(
            (
                proptest::sample::select(&["e0", "e1", "e2"][..]),
                proptest::option::of(proptest::sample::select(WORDS)),
            ),
            0..3,
        ),
        proptest::option::of(proptest::collection::vec(
            (0i64..3).prop_map(|p| json!({"containerPort": 80 + p, "protocol": "TCP"})),
            0..3,
        )),
    )
        .prop_map(|(name, image, directive, env, ports)| {
            let mut m = Map::new();
            m.insert("name".into(), json!(name));
            if let Some(i) = image {
                m.insert("image".into(), json!(i));
            }
            if let Some(d) = directive {
                m.insert("$patch".into(), json!(d));
            }
            if !env.is_empty() {
                let env: Vec<Value> = env
                    .into_iter()
                    .map(|(n, v)| match v {
                        Some(v) => json!({"name": n, "value": v}),
                        None => json!({"name": n}),
                    })
                    .collect();
                m.insert("env".into(), Value::Array(env));
            }
            if let Some(p) = ports {
                m.insert("ports".into(), Value::Array(p));
            }
            Value::Object(m)
        })
}

/// A pod (or patch of one) with mergeable lists and directives, overlaid
/// with random fields.
fn pod() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(container(), 0..5),
        proptest::collection::vec(
            proptest::sample::select(&["x.io/a", "x.io/b", "x.io/c"][..]),
            0..4,
        ),
        proptest::option::of(proptest::collection::vec(
            proptest::sample::select(&["c0", "c1", "c2", "c3"][..])
                .prop_map(|n| json!({"name": n})),
            0..5,
        )),
        proptest::option::of(proptest::collection::vec(
            proptest::sample::select(&["x.io/a", "x.io/b", "x.io/d"][..]).prop_map(|s| json!(s)),
            0..3,
        )),
        object(),
    )
        .prop_map(
            |(containers, finalizers, order, delete_finalizers, extra)| {
                let mut spec = Map::new();
                spec.insert("containers".into(), Value::Array(containers));
                if let Some(o) = order {
                    spec.insert("$setElementOrder/containers".into(), Value::Array(o));
                }
                let mut metadata = Map::new();
                metadata.insert("name".into(), json!("p"));
                metadata.insert("finalizers".into(), json!(finalizers));
                if let Some(d) = delete_finalizers {
                    metadata.insert(
                        "$deleteFromPrimitiveList/finalizers".into(),
                        Value::Array(d),
                    );
                }
                let mut out = json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": metadata, "spec": spec});
                if let (Some(o), Value::Object(e)) = (out.as_object_mut(), extra) {
                    for (k, v) in e {
                        o.entry(k).or_insert(v);
                    }
                }
                out
            },
        )
}

fn doc() -> impl Strategy<Value = Value> {
    prop_oneof![pod(), object()]
}

fn size(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(0)
}

fn openapi() -> &'static OpenApi {
    static API: std::sync::OnceLock<OpenApi> = std::sync::OnceLock::new();
    API.get_or_init(|| OpenApi::load().expect("openapi"))
}

/// Strips what a JSON merge patch cannot express (nulls), so a diff can
/// reproduce the target.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// RFC 7386 `CreateMergePatch`.
fn merge_diff(from: &Value, to: &Value) -> Value {
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Map::new();
            for (k, av) in a {
                match b.get(k) {
                    None => {
                        out.insert(k.clone(), Value::Null);
                    }
                    Some(bv) if bv != av => {
                        out.insert(k.clone(), merge_diff(av, bv));
                    }
                    Some(_) => {}
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    out.insert(k.clone(), bv.clone());
                }
            }
            Value::Object(out)
        }
        _ => to.clone(),
    }
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(a) => a.iter().any(has_float),
        Value::Object(m) => m.values().any(has_float),
        _ => false,
    }
}

fn has_directive_or_null_in_list(v: &Value, in_list: bool) -> bool {
    match v {
        Value::Null => in_list,
        Value::Object(m) => m
            .iter()
            .any(|(k, v)| k.starts_with('$') || has_directive_or_null_in_list(v, in_list)),
        Value::Array(a) => a.iter().any(|v| has_directive_or_null_in_list(v, true)),
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------

#[test]
fn fuzz_strategic_merge_patch() {
    let api = openapi();
    fuzz(
        "strategic_merge_patch",
        (doc(), doc(), 0u8..3),
        |(original, patch, which)| {
            let schema = match which {
                0 => api.schema("", "v1", "Pod"),
                1 => api.schema("apps", "v1", "Deployment"),
                _ => None,
            };
            let out =
                strategicpatch::apply_strategic_merge_patch(&original, &patch, schema.as_ref());
            if let Ok(out) = &out {
                prop_assert!(size(out) <= 2 * (size(&original) + size(&patch)) + 64);
            }
            // Without schema and directives it is a JSON merge patch.
            if which == 2 && !has_directive_or_null_in_list(&patch, false) {
                let mut merged = original.clone();
                json_patch::merge(&mut merged, &patch);
                prop_assert_eq!(out.ok(), Some(merged));
            }
            Ok(())
        },
    );
}

#[derive(Debug, Clone)]
struct Ops(Value);

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(
            &[
                "",
                "/",
                "/metadata",
                "/metadata/name",
                "/metadata/labels",
                "/metadata/labels/a",
                "/metadata/finalizers/0",
                "/metadata/finalizers/-",
                "/metadata/finalizers/-1",
                "/spec",
                "/spec/containers",
                "/spec/containers/0",
                "/spec/containers/1/name",
                "/spec/containers/-",
                "/spec/containers/+0",
                "/spec/containers/00",
                "/spec/containers/99999999999999999999",
                "/data/~1x",
                "/data/~0y",
                "a/b",
                "x",
            ][..]
        )
        .prop_map(str::to_string),
        "(/[a-z0-9~\\-]{0,3}){0,4}",
    ]
}

fn ops() -> impl Strategy<Value = Ops> {
    let op = (
        proptest::sample::select(
            &["add", "remove", "replace", "move", "copy", "test", "bogus"][..],
        ),
        proptest::option::of(path()),
        proptest::option::of(path()),
        proptest::option::of(value()),
    )
        .prop_map(|(op, path, from, value)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(op));
            if let Some(p) = path {
                m.insert("path".into(), json!(p));
            }
            if let Some(f) = from {
                m.insert("from".into(), json!(f));
            }
            if let Some(v) = value {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        });
    proptest::collection::vec(op, 0..12).prop_map(|v| Ops(Value::Array(v)))
}

#[test]
fn fuzz_json_patch() {
    const LIMIT: u64 = 4096;
    fuzz("json_patch", (doc(), ops()), |(original, Ops(patch))| {
        let decoded = jsonpatch::decode(&patch, true);
        prop_assert!(decoded.is_ok());
        let ops = decoded.unwrap_or_default();
        let mut out = original.clone();
        if jsonpatch::apply(&mut out, &ops, LIMIT).is_ok() {
            let bound = size(&original) + size(&patch) + 4096 + 8 * ops.len();
            prop_assert!(size(&out) <= bound, "{} > {bound}", size(&out));
        }
        Ok(())
    });
}

/// Doubling copies, generated: always refused or bounded by the limit.
#[test]
fn fuzz_json_patch_copies() {
    fuzz(
        "json_patch_copies",
        (1usize..40, 1usize..200),
        |(copies, width)| {
            let mut ops =
                vec![json!({"op": "add", "path": "/m", "value": {"a": "x".repeat(width)}})];
            for i in 0..copies {
                ops.push(json!({"op": "copy", "from": "/m", "path": format!("/m/k{i}")}));
            }
            let patch = Value::Array(ops);
            let decoded = jsonpatch::decode(&patch, false).unwrap_or_default();
            let mut out = json!({});
            if jsonpatch::apply(&mut out, &decoded, 65_536).is_ok() {
                prop_assert!(size(&out) <= 65_536 + size(&patch));
            }
            Ok(())
        },
    );
}

#[test]
fn fuzz_merge_patch() {
    fuzz("merge_patch", (doc(), doc()), |(from, to)| {
        let to = without_nulls(to);
        let from = without_nulls(from);
        let patch = merge_diff(&from, &to);
        let mut got = from.clone();
        json_patch::merge(&mut got, &patch);
        prop_assert_eq!(got, to);
        Ok(())
    });
}

#[test]
fn fuzz_server_side_apply() {
    let api = openapi();
    fuzz(
        "server_side_apply",
        (proptest::option::of(doc()), doc(), doc(), any::<bool>()),
        |(live, applied, updated, force)| {
            let schema = api.schema("", "v1", "Pod");
            let first = fieldmanager::apply(
                live.as_ref(),
                &applied,
                "fuzz",
                force,
                "v1",
                None,
                "2026-01-01T00:00:00Z",
                schema.as_ref(),
            );
            if let Ok(obj) = &first {
                // Applying the same configuration again is no conflict with
                // itself. (It is not always a no-op: an object whose applied
                // fields are only empty lists gets no managedFields at first,
                // then a `before-first-apply` entry, as upstream would for
                // lists its typed decoding keeps.)
                let again = fieldmanager::apply(
                    Some(obj),
                    &applied,
                    "fuzz",
                    force,
                    "v1",
                    None,
                    "2026-01-01T00:00:00Z",
                    schema.as_ref(),
                );
                prop_assert!(again.is_ok(), "{:?}", again.err());
                let _ = fieldmanager::update(
                    Some(obj),
                    &updated,
                    "editor",
                    "v1",
                    None,
                    "2026-01-01T00:00:01Z",
                    schema.as_ref(),
                );
            }
            let _ = fieldmanager::update(
                live.as_ref(),
                &updated,
                "editor",
                "v1",
                Some("status"),
                "2026-01-01T00:00:01Z",
                schema.as_ref(),
            );
            Ok(())
        },
    );
}

fn selector_text() -> impl Strategy<Value = String> {
    let token = proptest::sample::select(
        &[
            "a",
            "b",
            "app",
            "x.io/k",
            "=",
            "==",
            "!=",
            "!",
            ",",
            " ",
            "in",
            "notin",
            "(",
            ")",
            "v1",
            "metadata.name",
            "spec.nodeName",
            "status.phase",
            "\\",
            "-",
            "_",
            ".",
            "",
        ][..],
    );
    prop_oneof![
        proptest::collection::vec(token, 0..12).prop_map(|t| t.concat()),
        "\\PC{0,24}",
    ]
}

#[test]
fn fuzz_selectors() {
    fuzz("selectors", (selector_text(), object()), |(text, obj)| {
        if let Ok(sel) = labels::parse(&text) {
            let printed = sel.to_string();
            let again = labels::parse(&printed);
            prop_assert!(again.is_ok(), "{printed:?} does not parse");
            prop_assert_eq!(again.map(|s| s.to_string()).ok(), Some(printed));
            let lbls = obj.as_object();
            let _ = sel.matches(lbls);
        }
        let _ = labels::from_label_selector(Some(&obj));
        if let Ok(sel) = fields::parse(&text) {
            let printed = sel.to_string();
            let again = fields::parse(&printed);
            prop_assert!(again.is_ok(), "{printed:?} does not parse");
            // The same terms; their order may change, because upstream sorts
            // the raw terms before parsing and prints them parsed (`==a,=_`
            // prints `=a,=_`, which prints `=_,=a`).
            let terms = |s: &str| {
                let mut t: Vec<String> = s.split(',').map(str::to_string).collect();
                t.sort();
                t
            };
            prop_assert_eq!(
                again.map(|s| terms(&s.to_string())).ok(),
                Some(terms(&printed))
            );
            let _ = sel.matches(|f| fields::field_value("pods", &obj, f));
            let _ = fields::check_supported("pods", &sel);
        }
        Ok(())
    });
}

/// A random protobuf message: fields of every wire type, nested.
fn proto_message(depth: u32) -> BoxedStrategy<Vec<u8>> {
    let field = (
        1u64..20,
        0u8..6,
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..12),
    );
    let flat = proptest::collection::vec(field, 0..8).prop_map(|fields| {
        let mut out = Vec::new();
        for (num, wire, n, bytes) in fields {
            put_varint(&mut out, (num << 3) | u64::from(wire));
            match wire {
                0 => put_varint(&mut out, n),
                1 => out.extend_from_slice(&n.to_le_bytes()),
                2 => {
                    put_varint(&mut out, bytes.len() as u64);
                    out.extend_from_slice(&bytes);
                }
                5 => out.extend_from_slice(&(n as u32).to_le_bytes()),
                _ => out.extend_from_slice(&bytes),
            }
        }
        out
    });
    if depth == 0 {
        return flat.boxed();
    }
    (
        flat,
        proptest::collection::vec((1u64..20, proto_message(depth - 1)), 0..4),
    )
        .prop_map(|(mut out, nested)| {
            for (num, msg) in nested {
                put_varint(&mut out, (num << 3) | 2);
                put_varint(&mut out, msg.len() as u64);
                out.extend_from_slice(&msg);
            }
            out
        })
        .boxed()
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, num: u64, b: &[u8]) {
    put_varint(out, (num << 3) | 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[test]
fn fuzz_protobuf_decoder() {
    let kinds = proptest::sample::select(
        &[
            ("v1", "Pod"),
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Namespace"),
            ("apps/v1", "Deployment"),
            ("v1", "Bogus"),
            ("", ""),
        ][..],
    );
    fuzz(
        "protobuf",
        (
            kinds,
            proto_message(3),
            proptest::collection::vec(any::<u8>(), 0..64),
        ),
        |((api_version, kind), raw, junk)| {
            let mut tm = Vec::new();
            put_bytes(&mut tm, 1, api_version.as_bytes());
            put_bytes(&mut tm, 2, kind.as_bytes());
            let mut body = b"k8s\0".to_vec();
            put_bytes(&mut body, 1, &tm);
            put_bytes(&mut body, 2, &raw);
            let _ = protobuf::decode(&body);
            // Truncated and corrupted envelopes.
            for cut in [1, body.len() / 2, body.len().saturating_sub(1)] {
                let _ = protobuf::decode(&body[..cut.min(body.len())]);
            }
            let mut corrupt = body.clone();
            for (i, b) in junk.iter().enumerate() {
                if let Some(slot) = corrupt.get_mut(4 + (i * 7) % body.len().max(1)) {
                    *slot ^= *b;
                }
            }
            let _ = protobuf::decode(&corrupt);
            let mut raw_junk = b"k8s\0".to_vec();
            raw_junk.extend_from_slice(&junk);
            let _ = protobuf::decode(&raw_junk);
            Ok(())
        },
    );
}

/// Real kubectl request bodies (from src/apimachinery/protobuf.rs' tests).
const KUBECTL_BODIES: &[&str] = &[
    concat!(
        "6b3873000a0d0a0276311207536572766963651294010a260a0373766312001a0764656661756c74",
        "22002a003200380042005a0a0a03617070120373766312660a1b0a0738302d383038301203544350",
        "18502207080010903f1a0028000a220a093434332d6874747073120354435018bb03220b08011000",
        "1a0568747470732800120a0a0361707012037376631a002209436c757374657249503a0042005200",
        "5a00600068001a020a001a002200",
    ),
    concat!(
        "6b3873000a0c0a027631120653656372657412290a190a02733112001a0764656661756c7422002a",
        "00320038004200120a0a0161120568656c6c6f1a001a002200",
    ),
    concat!(
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412bf010a260a0377656212001a",
        "0764656661756c7422002a003200380042005a0a0a0361707012037765621286010800120c0a0a0a",
        "0361707012037765621a6c0a1c0a0012001a0022002a003200380042005a0a0a0361707012037765",
        "62124c122e0a056e67696e7812056e67696e782a00320a0a001000185022002a0042006a00720080",
        "0100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022",
        "020a00280038001a0c0800100018002000280038001a002200",
    ),
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

/// Mutations of real kubectl protobuf bodies: flipped, inserted, removed
/// bytes (lengths and tags that point anywhere).
#[test]
fn fuzz_protobuf_mutations() {
    let bodies: Vec<Vec<u8>> = KUBECTL_BODIES.iter().map(|h| unhex(h)).collect();
    assert!(bodies.iter().all(|b| protobuf::decode(b).is_ok()));
    let edit = (0u8..3, any::<usize>(), any::<u8>());
    fuzz(
        "protobuf_mutations",
        (0..bodies.len(), proptest::collection::vec(edit, 1..6)),
        |(which, edits)| {
            let mut body = bodies.get(which).cloned().unwrap_or_default();
            for (kind, at, byte) in edits {
                // Keep the 4-byte magic so the decoder goes past it.
                let len = body.len().max(5);
                let at = 4 + at % (len - 4);
                match kind {
                    0 => {
                        if let Some(b) = body.get_mut(at) {
                            *b ^= byte.max(1);
                        }
                    }
                    1 => body.insert(at.min(body.len()), byte),
                    _ => {
                        if at < body.len() {
                            body.remove(at);
                        }
                    }
                }
            }
            if let Ok(v) = protobuf::decode(&body) {
                prop_assert!(size(&v) <= 64 * body.len() + 4096);
            }
            Ok(())
        },
    );
}

fn yamlish() -> impl Strategy<Value = String> {
    let token = proptest::sample::select(
        &[
            "a",
            ": ",
            "\n",
            "  ",
            "- ",
            "[",
            "]",
            "{",
            "}",
            ",",
            "&x ",
            "*x",
            "!!str ",
            "!!binary ",
            "'",
            "\"",
            "#",
            "---\n",
            "...\n",
            "<<: ",
            "? ",
            "|\n",
            ">\n",
            "1e9",
            "0x1F",
            "~",
            "null",
            "true",
            ".inf",
            "\\u0000",
            "%YAML 1.2\n",
        ][..],
    );
    prop_oneof![
        proptest::collection::vec(token, 0..40).prop_map(|t| t.concat()),
        "\\PC{0,64}",
    ]
}

#[test]
fn fuzz_body_decoders() {
    fuzz(
        "body_decoders",
        (
            yamlish(),
            proptest::collection::vec(any::<u8>(), 0..64),
            value(),
        ),
        |(text, bytes, v)| {
            for ct in [
                "application/json",
                "application/yaml",
                "application/vnd.kubernetes.protobuf",
            ] {
                let _ = negotiate::decode_body(Some(ct), text.as_bytes());
                let _ = negotiate::decode_body(Some(ct), &bytes);
            }
            let _ = negotiate::duplicate_fields(text.as_bytes());
            // JSON round trip through both decoders.
            let encoded = v.to_string();
            let back = negotiate::decode_body(Some("application/json"), encoded.as_bytes());
            // serde_json parses 17-digit floats to within one ULP (no
            // `float_roundtrip`); integers and strings round-trip exactly.
            if !has_float(&v) {
                prop_assert_eq!(back.ok(), Some(v.clone()));
            }
            let _ = negotiate::decode_body(Some("application/yaml"), encoded.as_bytes());
            Ok(())
        },
    );
}

/// Hostile bodies found or feared, each answered quickly with an error.
#[test]
fn hostile_bodies_are_refused() {
    // "Billion laughs": nine levels of nine aliases.
    let mut yaml = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        yaml.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [prev.as_str(); 9].join(", ")
        ));
    }
    assert!(negotiate::decode_body(Some("application/yaml"), yaml.as_bytes()).is_err());
    // Deep nesting.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for ct in ["application/json", "application/yaml"] {
        assert!(negotiate::decode_body(Some(ct), deep.as_bytes()).is_err());
    }
    let deep_map = format!("{}1{}", "{a: ".repeat(50_000), "}".repeat(50_000));
    assert!(negotiate::decode_body(Some("application/yaml"), deep_map.as_bytes()).is_err());
    // Protobuf: a length prefix far past the end, and deep nesting.
    let mut body = b"k8s\0".to_vec();
    put_varint(&mut body, (2 << 3) | 2);
    put_varint(&mut body, u64::MAX);
    assert!(protobuf::decode(&body).is_err());
}
