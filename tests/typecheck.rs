//! Every stored object decodes as its kind: upstream's exact answers to
//! mistyped fields on every write path, and a property test that sends
//! randomly mistyped fields to every served kind (in-process, through
//! `apiserver::app`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use http::{Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, TOKEN, send, state};
use ironkube::openapi::OpenApi;
use ironkube::registry::resources::{RESOURCES, ResourceInfo};
use ironkube::registry::typecheck::{self, Mode};

async fn call(
    st: &Arc<AppState>,
    method: Method,
    uri: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", content_type)
        .body(Body::from(body.into()))
        .unwrap();
    send(st, req).await
}

async fn get(st: &Arc<AppState>, uri: &str) -> Resp {
    call(st, Method::GET, uri, "application/json", "").await
}

const JSON: &str = "application/json";
const MERGE: &str = "application/merge-patch+json";
const SMP: &str = "application/strategic-merge-patch+json";
const JSONPATCH: &str = "application/json-patch+json";
const APPLY: &str = "application/apply-patch+yaml";

fn collection(res: &ResourceInfo) -> String {
    let prefix = if res.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", res.group, res.version)
    };
    if res.namespaced {
        format!("{prefix}/namespaces/default/{}", res.plural)
    } else {
        format!("{prefix}/{}", res.plural)
    }
}

/// A valid object of each stored kind (None for the kinds that are not stored).
fn fixture(res: &ResourceInfo, name: &str) -> Option<Value> {
    let template = json!({"metadata": {"labels": {"a": "b"}},
        "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}]}});
    let mut obj = match res.key().as_str() {
        "configmaps" => json!({"data": {"a": "b"}}),
        "endpoints" => {
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]})
        }
        "events" => json!({"involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "R", "message": "m", "type": "Normal", "count": 1,
            "firstTimestamp": "2024-01-01T00:00:00Z"}),
        "namespaces" | "serviceaccounts" => json!({}),
        "nodes" => json!({"status": {"capacity": {"cpu": "1"}}}),
        "pods" => json!({"spec": template["spec"]}),
        "secrets" => json!({"data": {"a": "YQ=="}, "type": "Opaque"}),
        "services" => {
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"a": "b"}}})
        }
        "apps/deployments" | "apps/replicasets" => json!({"spec": {"replicas": 1,
            "selector": {"matchLabels": {"a": "b"}}, "template": template}}),
        "events.k8s.io/events" => json!({"eventTime": "2024-01-01T00:00:00.000000Z",
            "reportingController": "x", "reportingInstance": "y", "action": "A", "reason": "R",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}, "type": "Normal"}),
        "coordination.k8s.io/leases" => {
            json!({"spec": {"holderIdentity": "x", "leaseDurationSeconds": 10}})
        }
        _ => return None,
    };
    let m = obj.as_object_mut()?;
    m.insert("apiVersion".into(), json!(res.api_version()));
    m.insert("kind".into(), json!(res.kind));
    m.insert("metadata".into(), json!({"name": name}));
    Some(obj)
}

/// Sets the value at a JSON pointer, making the objects and lists on the way.
fn set_pointer(obj: &mut Value, ptr: &str, v: Value) {
    let segs: Vec<&str> = ptr.split('/').skip(1).collect();
    let mut cur = obj;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if let Ok(idx) = seg.parse::<usize>() {
            if !cur.is_array() {
                *cur = json!([]);
            }
            let a = cur.as_array_mut().unwrap();
            while a.len() <= idx {
                a.push(json!({}));
            }
            if last {
                a[idx] = v;
                return;
            }
            cur = &mut a[idx];
        } else {
            if !cur.is_object() {
                *cur = json!({});
            }
            let m = cur.as_object_mut().unwrap();
            if last {
                m.insert((*seg).to_string(), v);
                return;
            }
            cur = m.entry((*seg).to_string()).or_insert_with(|| json!({}));
        }
    }
}

/// `{"a": {"b": v}}` for `/a/b`.
fn nested(ptr: &str, v: Value) -> Value {
    ptr.split('/')
        .skip(1)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .fold(v, |inner, seg| json!({ seg: inner }))
}

fn stored_kinds() -> Vec<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .filter(|r| fixture(r, "x").is_some())
        .collect()
}

/// The stored object decodes as its kind.
fn assert_well_typed(res: &ResourceInfo, obj: &Value) {
    let api = OpenApi::load().expect("openapi");
    let mut copy = obj.clone();
    let r =
        typecheck::schemas(&api).check(res.group, res.version, res.kind, &mut copy, Mode::Decode);
    assert_eq!(r, Ok(()), "stored {}: {obj}", res.kind);
}

#[test]
fn randomly_mistyped_fields_are_never_stored() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let st = rt.block_on(state());
    let api = OpenApi::load().expect("openapi");
    let kinds = stored_kinds();
    let schemas = typecheck::schemas(&api);
    let table: Vec<(&ResourceInfo, Vec<(String, Value)>)> = kinds
        .iter()
        .map(|r| (*r, schemas.mistypings(r.group, r.version, r.kind, 6)))
        .collect();
    assert!(table.iter().all(|(_, m)| !m.is_empty()));
    let counter = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (0..table.len(), any::<usize>(), 0..5u8);
    runner
        .run(&strategy, |(ri, mi, verb)| {
            let (res, mistypings) = &table[ri];
            let (ptr, wrong) = &mistypings[mi % mistypings.len()];
            let name = format!("m{}", counter.fetch_add(1, Ordering::Relaxed));
            let valid = fixture(res, &name).unwrap();
            let mut bad = valid.clone();
            set_pointer(&mut bad, ptr, wrong.clone());
            let coll = collection(res);
            let item = format!("{coll}/{name}");
            let in_list = ptr.split('/').any(|s| s.parse::<usize>().is_ok());
            rt.block_on(async {
                if verb == 0 {
                    let r = call(&st, Method::POST, &coll, JSON, bad.to_string()).await;
                    assert_eq!(r.status, 400, "{} {ptr}={wrong}: {}", res.kind, r.message());
                    assert!(
                        r.message().contains("cannot be handled as a"),
                        "{}",
                        r.message()
                    );
                    assert_eq!(get(&st, &item).await.status, 404);
                    return;
                }
                // The valid object is stored.
                let created = call(&st, Method::POST, &coll, JSON, valid.to_string()).await;
                assert_eq!(created.status, 201, "{}: {}", res.kind, created.message());
                let before = created.json()["metadata"]["resourceVersion"].clone();
                let (status, want): (StatusCode, &[u16]) = match verb {
                    1 => {
                        let r = call(&st, Method::PUT, &item, JSON, bad.to_string()).await;
                        (r.status, &[400])
                    }
                    2 if !in_list => {
                        let r = call(
                            &st,
                            Method::PATCH,
                            &item,
                            MERGE,
                            nested(ptr, wrong.clone()).to_string(),
                        )
                        .await;
                        (r.status, &[422])
                    }
                    3 if !in_list => {
                        // Converted: an int32 that overflows is truncated, as upstream.
                        let r = call(
                            &st,
                            Method::PATCH,
                            &item,
                            SMP,
                            nested(ptr, wrong.clone()).to_string(),
                        )
                        .await;
                        (r.status, &[422, 200])
                    }
                    _ => {
                        let patch = json!([{"op": "add", "path": ptr, "value": wrong}]);
                        let r = call(&st, Method::PATCH, &item, JSONPATCH, patch.to_string()).await;
                        (r.status, &[422])
                    }
                };
                assert!(
                    want.contains(&status.as_u16()),
                    "{} verb {verb} {ptr}={wrong}: {status}",
                    res.kind
                );
                let now = get(&st, &item).await;
                assert_eq!(now.status, 200);
                let now = now.json();
                if status != 200 {
                    assert_eq!(now["metadata"]["resourceVersion"], before, "{ptr}");
                }
                assert_well_typed(res, &now);
            });
            Ok(())
        })
        .unwrap();
}

#[tokio::test]
async fn valid_objects_of_every_kind_pass_every_write() {
    let st = state().await;
    for (i, res) in stored_kinds().into_iter().enumerate() {
        let name = format!("ok{i}");
        let obj = fixture(res, &name).unwrap();
        let coll = collection(res);
        let item = format!("{coll}/{name}");
        let r = call(&st, Method::POST, &coll, JSON, obj.to_string()).await;
        assert_eq!(r.status, 201, "{}: {}", res.kind, r.message());
        // (Replaced as read: a pod's admission-set fields may not change.)
        let r = call(&st, Method::PUT, &item, JSON, r.json().to_string()).await;
        assert_eq!(r.status, 200, "{}: {}", res.kind, r.message());
        for ct in [MERGE, SMP] {
            let r = call(
                &st,
                Method::PATCH,
                &item,
                ct,
                r#"{"metadata":{"labels":{"x":"y"}}}"#,
            )
            .await;
            assert_eq!(r.status, 200, "{} {ct}: {}", res.kind, r.message());
        }
        let r = call(
            &st,
            Method::PATCH,
            &item,
            JSONPATCH,
            r#"[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]"#,
        )
        .await;
        assert_eq!(r.status, 200, "{}: {}", res.kind, r.message());
        let r = call(
            &st,
            Method::PATCH,
            &format!("{item}?fieldManager=t&force=true"),
            APPLY,
            obj.to_string(),
        )
        .await;
        assert_eq!(r.status, 200, "{}: {}", res.kind, r.message());
        assert_well_typed(res, &get(&st, &item).await.json());
    }
}

const CM: &str = "/api/v1/namespaces/default/configmaps";
const PODS: &str = "/api/v1/namespaces/default/pods";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "a", "image": "x"}]}})
}

fn deployment(name: &str, replicas: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}}}})
}

/// The part of a patch error after the patched object's JSON.
fn patch_detail(r: &Resp) -> String {
    let m = r.message();
    assert!(
        m.starts_with(" \"\" is invalid: patch: Invalid value: \""),
        "{m}"
    );
    let j = r.json();
    assert_eq!(j["reason"], "Invalid");
    assert_eq!(j["details"]["causes"][0]["field"], "patch");
    assert_eq!(j["details"]["causes"][0]["reason"], "FieldValueInvalid");
    m.rsplit_once("\": ")
        .map(|(_, d)| d.to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn mistyped_creates_and_updates_are_bad_requests() {
    let st = state().await;
    let cases = [
        (
            CM,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": 1}}),
            "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ConfigMap.data of type string",
        ),
        (
            PODS,
            {
                let mut p = pod("p");
                p["spec"]["containers"][0]["stdin"] = json!("yes");
                p
            },
            "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Container.spec.containers.stdin of type bool",
        ),
        (
            PODS,
            {
                let mut p = pod("p");
                p["metadata"]["creationTimestamp"] = json!("bad");
                p
            },
            "Pod in version \"v1\" cannot be handled as a Pod: parsing time \"bad\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bad\" as \"2006\"",
        ),
        (
            PODS,
            {
                let mut p = pod("p");
                p["metadata"]["labels"] = json!("invalid");
                p
            },
            "Pod in version \"v1\" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string",
        ),
        (
            DEPLOYS,
            deployment("d", json!(4294967296u64)),
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number 4294967296 into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
        (
            DEPLOYS,
            deployment("d", json!(9223372036854775808u64)),
            "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number 9223372036854775808 into Go struct field DeploymentSpec.spec.replicas of type int32",
        ),
    ];
    for (coll, body, want) in cases {
        let r = call(&st, Method::POST, coll, JSON, body.to_string()).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.message(), want);
        assert_eq!(r.json()["reason"], "BadRequest");
        // The same body as an update of a stored object.
        let mut valid = body.clone();
        let name = valid["metadata"]["name"].as_str().unwrap().to_string();
        let fixed = match coll {
            CM => json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
            PODS => pod(&name),
            _ => deployment(&name, json!(1)),
        };
        valid = fixed;
        let created = call(&st, Method::POST, coll, JSON, valid.to_string()).await;
        assert_eq!(created.status, 201, "{}", created.message());
        let r = call(
            &st,
            Method::PUT,
            &format!("{coll}/{name}"),
            JSON,
            body.to_string(),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.message()), (400, want.to_string()));
        let r = call(
            &st,
            Method::DELETE,
            &format!("{coll}/{name}?gracePeriodSeconds=0"),
            JSON,
            "",
        )
        .await;
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn mistyped_patch_results_are_invalid() {
    let st = state().await;
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}});
    assert_eq!(
        call(&st, Method::POST, CM, JSON, cm.to_string())
            .await
            .status,
        201
    );
    let c = format!("{CM}/c");
    let r = call(&st, Method::PATCH, &c, MERGE, r#"{"data":[1]}"#).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        patch_detail(&r),
        "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string"
    );
    let r = call(&st, Method::PATCH, &c, SMP, r#"{"data":[1]}"#).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.message(),
        " \"\" is invalid: patch: Invalid value: \"map[data:[1]]\": cannot restore map from slice"
    );
    assert_eq!(
        r.json()["details"],
        json!({"causes": [{"reason": "FieldValueInvalid", "field": "patch",
            "message": "Invalid value: \"map[data:[1]]\": cannot restore map from slice"}]})
    );
    let r = call(
        &st,
        Method::PATCH,
        &c,
        JSONPATCH,
        r#"[{"op":"replace","path":"/data","value":[1]}]"#,
    )
    .await;
    assert_eq!(r.status, 422);
    // kind and apiVersion must stay the endpoint's.
    for (patch, want) in [
        (
            r#"[{"op":"replace","path":"/kind","value":"Secret"}]"#,
            "illegal base64 data at input byte 0",
        ),
        (
            r#"[{"op":"replace","path":"/kind","value":"Pod"},{"op":"remove","path":"/data"}]"#,
            "converting (v1.Pod) to (core.ConfigMap): unknown conversion",
        ),
        (
            r#"[{"op":"replace","path":"/kind","value":"Foo"}]"#,
            "no kind \"Foo\" is registered for version \"v1\" in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
        ),
        (
            r#"[{"op":"replace","path":"/apiVersion","value":"apps/v1"}]"#,
            "no kind \"ConfigMap\" is registered for version \"apps/v1\" in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
        ),
    ] {
        let r = call(&st, Method::PATCH, &c, JSONPATCH, patch).await;
        assert_eq!(r.status, 422, "{patch}");
        assert_eq!(patch_detail(&r), want, "{patch}");
    }
    let r = call(
        &st,
        Method::PATCH,
        &c,
        JSONPATCH,
        r#"[{"op":"remove","path":"/apiVersion"}]"#,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.message()),
        (
            400,
            "the name of the object (c based on URL) was undeterminable: name must be provided"
                .to_string()
        )
    );
    let r = call(&st, Method::PATCH, &c, MERGE, r#"{"kind":"Secret"}"#).await;
    assert_eq!(r.status, 422);
    // A strategic merge patch of kind is ignored; a removed kind is the endpoint's.
    let r = call(&st, Method::PATCH, &c, SMP, r#"{"kind":"Secret"}"#).await;
    assert_eq!(r.status, 200);
    let r = call(
        &st,
        Method::PATCH,
        &c,
        JSONPATCH,
        r#"[{"op":"remove","path":"/kind"}]"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let got = get(&st, &c).await.json();
    assert_eq!(
        (got["kind"].as_str(), got["data"].clone()),
        (Some("ConfigMap"), json!({"a": "b"}))
    );

    // Pod labels.
    assert_eq!(
        call(&st, Method::POST, PODS, JSON, pod("p").to_string())
            .await
            .status,
        201
    );
    let p = format!("{PODS}/p");
    let r = call(
        &st,
        Method::PATCH,
        &p,
        MERGE,
        r#"{"metadata":{"labels":"invalid"}}"#,
    )
    .await;
    assert_eq!(
        patch_detail(&r),
        "json: cannot unmarshal string into Go struct field ObjectMeta.metadata.labels of type map[string]string"
    );
    let r = call(
        &st,
        Method::PATCH,
        &p,
        SMP,
        r#"{"metadata":{"labels":"invalid"}}"#,
    )
    .await;
    assert_eq!(
        r.message(),
        " \"\" is invalid: patch: Invalid value: \"map[metadata:map[labels:invalid]]\": cannot restore map from string"
    );
    let r = call(
        &st,
        Method::PATCH,
        &p,
        SMP,
        r#"{"spec":{"containers":[{"name":"a","stdin":"yes"}]}}"#,
    )
    .await;
    assert_eq!(
        r.message(),
        " \"\" is invalid: patch: Invalid value: \"map[spec:map[containers:[map[name:a stdin:yes]]]]\": unrecognized type: bool"
    );
    let r = call(
        &st,
        Method::PATCH,
        &p,
        SMP,
        r#"{"metadata":{"creationTimestamp":"bad"}}"#,
    )
    .await;
    assert_eq!(
        r.message(),
        " \"\" is invalid: patch: Invalid value: \"map[metadata:map[creationTimestamp:bad]]\": parsing time \"bad\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bad\" as \"2006\""
    );
    let r = call(
        &st,
        Method::PATCH,
        &format!("{p}/status"),
        MERGE,
        r#"{"status":{"phase":1}}"#,
    )
    .await;
    assert_eq!(
        patch_detail(&r),
        "json: cannot unmarshal number into Go struct field PodStatus.status.phase of type v1.PodPhase"
    );

    // Deployment replicas: refused by JSON decoding, truncated by conversion (as upstream).
    assert_eq!(
        call(
            &st,
            Method::POST,
            DEPLOYS,
            JSON,
            deployment("d", json!(1)).to_string()
        )
        .await
        .status,
        201
    );
    let d = format!("{DEPLOYS}/d");
    let r = call(
        &st,
        Method::PATCH,
        &d,
        MERGE,
        r#"{"spec":{"replicas":4294967298}}"#,
    )
    .await;
    assert_eq!(
        patch_detail(&r),
        "json: cannot unmarshal number 4294967298 into Go struct field DeploymentSpec.spec.replicas of type int32"
    );
    let r = call(
        &st,
        Method::PATCH,
        &d,
        SMP,
        r#"{"spec":{"replicas":4294967298}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.message());
    assert_eq!(r.json()["spec"]["replicas"], 2);
    let r = call(&st, Method::PUT, &format!("{d}/scale"), JSON,
        r#"{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"d"},"spec":{"replicas":"2"}}"#).await;
    assert_eq!(
        (r.status.as_u16(), r.message()),
        (400, "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32".to_string())
    );
    let r = call(
        &st,
        Method::PATCH,
        &format!("{d}/scale"),
        MERGE,
        r#"{"spec":{"replicas":"2"}}"#,
    )
    .await;
    assert_eq!(
        patch_detail(&r),
        "json: cannot unmarshal string into Go struct field ScaleSpec.spec.replicas of type int32"
    );
    // Server-side apply.
    let r = call(&st, Method::PATCH, &format!("{d}?fieldManager=x"), APPLY,
        r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":"2"}}"#).await;
    assert_eq!(r.status, 500);
    assert!(
        r.message()
            .starts_with("failed to create typed patch object (/d; apps/v1, Kind=Deployment): "),
        "{}",
        r.message()
    );
    let r = call(
        &st,
        Method::PATCH,
        &format!("{p}?fieldManager=x"),
        APPLY,
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","creationTimestamp":"bad"}}"#,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.message()),
        (500, "failed to convert new object (/p; /v1, Kind=Pod) to proper version: unable to convert unstructured object to /v1, Kind=Pod: parsing time \"bad\" as \"2006-01-02T15:04:05Z07:00\": cannot parse \"bad\" as \"2006\"".to_string())
    );
    assert!(r.json().get("reason").is_none());
    assert_well_typed(
        ironkube::registry::resources::by_key("apps/deployments").unwrap(),
        &get(&st, &d).await.json(),
    );
}

#[tokio::test]
async fn bodies_without_kind_take_the_endpoints() {
    let st = state().await;
    let r = call(
        &st,
        Method::POST,
        CM,
        JSON,
        r#"{"metadata":{"name":"n"},"data":{"a":"b"}}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.message());
    assert_eq!(
        (r.json()["kind"].as_str(), r.json()["apiVersion"].as_str()),
        (Some("ConfigMap"), Some("v1"))
    );
    let r = call(
        &st,
        Method::POST,
        CM,
        JSON,
        r#"{"kind":"ConfigMap","metadata":{"name":"n2"}}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    let r = call(
        &st,
        Method::POST,
        CM,
        JSON,
        r#"{"apiVersion":"v1","metadata":{"name":"n3"}}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    let r = call(
        &st,
        Method::PUT,
        &format!("{CM}/n"),
        JSON,
        r#"{"metadata":{"name":"n"},"data":{"a":"c"}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.message());
    assert_eq!(r.json()["kind"], "ConfigMap");
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces",
        JSON,
        r#"{"metadata":{"name":"typed-ns"}}"#,
    )
    .await;
    assert_eq!(r.status, 201);
    // Server-side apply still needs both.
    for (body, want) in [
        (
            r#"{"metadata":{"name":"n4"}}"#,
            "invalid object type: /, Kind=",
        ),
        (
            r#"{"kind":"ConfigMap","metadata":{"name":"n4"}}"#,
            "invalid object type: /, Kind=ConfigMap",
        ),
        (
            r#"{"apiVersion":"v1","metadata":{"name":"n4"}}"#,
            "invalid object type: /v1, Kind=",
        ),
    ] {
        let r = call(
            &st,
            Method::PATCH,
            &format!("{CM}/n4?fieldManager=x"),
            APPLY,
            body,
        )
        .await;
        assert_eq!((r.status.as_u16(), r.message()), (400, want.to_string()));
    }
}

#[tokio::test]
async fn undecodable_bodies_are_unrecognized_objects() {
    let st = state().await;
    let ns = "/api/v1/namespaces";
    let pod_yaml = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: valid-pod\n";
    let must = "the object provided is unrecognized (must be of type Namespace): ";
    let struct_type = r#"struct { APIVersion string "json:\"apiVersion,omitempty\""; Kind string "json:\"kind,omitempty\"" }"#;
    for (body, want) in [
        (
            pod_yaml.to_string(),
            "couldn't get version/kind; json parse error: invalid character 'a' looking for beginning of value (61706956657273696f6e3a2076310a6b696e643a20506f640a6d65746164 ...)".to_string(),
        ),
        (String::new(), "couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)".into()),
        (
            r#"{"apiVersion":"v1","kind":"Pod""#.into(),
            r#"couldn't get version/kind; json parse error: unexpected end of JSON input ({"apiVersion":"v1","kind":"Pod ...)"#.into(),
        ),
        ("[1]".into(), format!("couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type {struct_type} (5b315d)")),
        (
            r#"{"apiVersion":5,"kind":"Namespace","metadata":{"name":"x"}}"#.into(),
            r#"couldn't get version/kind; json parse error: json: cannot unmarshal number into Go struct field .apiVersion of type string ({"apiVersion":5,"kind":"Namesp ...)"#.into(),
        ),
    ] {
        let r = call(&st, Method::POST, ns, JSON, body.clone()).await;
        assert_eq!((r.status.as_u16(), r.message()), (400, format!("{must}{want}")), "{body}");
    }
    let r = call(
        &st,
        Method::POST,
        ns,
        JSON,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}).to_string(),
    )
    .await;
    assert_eq!(
        r.message(),
        "Pod in version \"v1\" cannot be handled as a Namespace: converting (v1.Pod) to (core.Namespace): unknown conversion"
    );
    let r = call(
        &st,
        Method::POST,
        PODS,
        JSON,
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}})
            .to_string(),
    )
    .await;
    assert_eq!(
        r.message(),
        "Deployment in version \"v1\" cannot be handled as a Pod: converting (v1.Deployment) to (core.Pod): unknown conversion"
    );
}

#[tokio::test]
async fn null_map_values_are_stored_as_go_decodes_them() {
    let st = state().await;
    let body = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nul","labels":{"x":null}},"data":{"a":null},"binaryData":{"b":null}}"#;
    let r = call(&st, Method::POST, CM, JSON, body).await;
    assert_eq!(r.status, 201, "{}", r.message());
    let got = get(&st, &format!("{CM}/nul")).await.json();
    assert_eq!(got["metadata"]["labels"], json!({"x": ""}));
    assert_eq!(got["data"], json!({"a": ""}));
    assert_eq!(got["binaryData"], json!({"b": ""}));
}
