//! In-process HTTP tests: the whole router, no socket, exact wire output.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use ironkube::apiserver::{AppState, app};

mod inproc;
use inproc::{Resp, TOKEN, send, state};

async fn call(
    st: &Arc<AppState>,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if let Some(ct) = content_type {
        b = b.header("content-type", ct);
    }
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Body::from(body.into())).unwrap();
    send(st, req).await
}

async fn post(st: &Arc<AppState>, uri: &str, v: &Value) -> Resp {
    call(
        st,
        Method::POST,
        uri,
        Some("application/json"),
        v.to_string(),
        &[],
    )
    .await
}

async fn get(st: &Arc<AppState>, uri: &str) -> Resp {
    call(st, Method::GET, uri, None, Vec::new(), &[]).await
}

fn pod(name: &str) -> Value {
    json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":name,"labels":{"app":"nginx"}},
           "spec":{"containers":[{"name":"nginx","image":"nginx:1.7.9","ports":[{"containerPort":80}]}]}})
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":name,"labels":{"app":"nginx"}},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"nginx"}},
        "template":{"metadata":{"labels":{"app":"nginx"}},
          "spec":{"containers":[{"name":"nginx","image":"nginx:1.7.9","ports":[{"containerPort":80}]}]}}}})
}

#[tokio::test]
async fn unauthenticated_requests_get_401_status() {
    let st = state().await;
    // Without credentials a request is system:anonymous, refused by RBAC.
    let req = Request::builder()
        .uri("/api/v1/namespaces/default/pods")
        .body(Body::empty())
        .unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 403);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:anonymous\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
    );
    // A token that does not verify is a 401, never anonymous.
    let req = Request::builder()
        .uri("/api/v1/namespaces/default/pods")
        .header("authorization", "Bearer not-a-token")
        .body(Body::empty())
        .unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 401);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#
    );
    // Health and version are public.
    let req = Request::builder()
        .uri("/healthz")
        .body(Body::empty())
        .unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let req = Request::builder()
        .uri("/version")
        .body(Body::empty())
        .unwrap();
    let resp = app(st).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn seed_pod_lifecycle_create_get_put_patch_delete() {
    let st = state().await;
    let r = post(&st, "/api/v1/namespaces/default/pods", &pod("nginx-pod")).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    assert_eq!(created["metadata"]["namespace"], "default");
    assert_eq!(created["status"]["phase"], "Pending");
    assert_eq!(
        created["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let rv: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let r = get(&st, "/api/v1/namespaces/default/pods/nginx-pod").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["uid"], created["metadata"]["uid"]);

    // PUT with YAML, changing the image (allowed on pods).
    let mut updated = r.json();
    updated["spec"]["containers"][0]["image"] = json!("nginx:1.9");
    let yaml = serde_saphyr::to_string(&updated).unwrap();
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods/nginx-pod",
        Some("application/yaml"),
        yaml,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let rv2: u64 = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv);

    // A stale resourceVersion conflicts.
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods/nginx-pod",
        Some("application/json"),
        updated.to_string(),
        &[],
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"Operation cannot be fulfilled on pods \"nginx-pod\": the object has been modified; please apply your changes to the latest version and try again",
               "reason":"Conflict","details":{"name":"nginx-pod","kind":"pods"},"code":409})
    );

    // Strategic merge patch by merge key, in YAML.
    let r = call(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/pods/nginx-pod",
        Some("application/strategic-merge-patch+json"),
        "metadata:\n  labels:\n    tier: web\nspec:\n  containers:\n  - name: nginx\n    image: nginx:1.10\n",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let p = r.json();
    assert_eq!(p["metadata"]["labels"], json!({"app":"nginx","tier":"web"}));
    assert_eq!(p["spec"]["containers"][0]["image"], "nginx:1.10");
    assert_eq!(p["spec"]["containers"][0]["ports"][0]["containerPort"], 80);

    // Unbound pods are deleted at once and the object is returned.
    let r = call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/pods/nginx-pod",
        None,
        Vec::new(),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["kind"], "Pod");
    let r = get(&st, "/api/v1/namespaces/default/pods/nginx-pod").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"pods \"nginx-pod\" not found","reason":"NotFound",
               "details":{"name":"nginx-pod","kind":"pods"},"code":404})
    );
}

#[tokio::test]
async fn deployments_generation_status_scale_and_delete_status() {
    let st = state().await;
    let base = "/apis/apps/v1/namespaces/default/deployments";
    let r = post(&st, base, &deployment("web")).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let d = r.json();
    assert_eq!(d["metadata"]["generation"], 1);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(d["status"], json!({}));

    // Duplicate create.
    let r = post(&st, base, &deployment("web")).await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        "deployments.apps \"web\" already exists"
    );

    // Status writes through the main resource are ignored; generation moves on spec change.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{base}/web"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":5},"status":{"replicas":7}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let d = r.json();
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(d["status"], json!({}));

    // /status changes only status.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{base}/web/status"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":1},"status":{"replicas":5}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"]["replicas"], 5);
    assert_eq!(r.json()["spec"]["replicas"], 5);

    // /scale.
    let r = get(&st, &format!("{base}/web/scale")).await;
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["kind"], "Scale");
    assert_eq!(s["apiVersion"], "autoscaling/v1");
    assert_eq!(s["spec"]["replicas"], 5);
    assert_eq!(s["status"]["selector"], "app=nginx");
    let r = call(
        &st,
        Method::PATCH,
        &format!("{base}/web/scale"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":2}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["spec"]["replicas"], 2);
    assert_eq!(
        get(&st, &format!("{base}/web")).await.json()["spec"]["replicas"],
        2
    );

    // JSON patch.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{base}/web"),
        Some("application/json-patch+json"),
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["spec"]["replicas"], 4);

    // Deleting a deployment answers with a Success Status.
    let uid = d["metadata"]["uid"].as_str().unwrap().to_string();
    let r = call(
        &st,
        Method::DELETE,
        &format!("{base}/web"),
        None,
        Vec::new(),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",
               "details":{"name":"web","group":"apps","kind":"deployments","uid":uid}})
    );
}

#[tokio::test]
async fn bad_requests_get_the_right_codes() {
    let st = state().await;
    // Malformed JSON.
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        "{nope",
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "BadRequest");
    // Wrong content type.
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/pods",
        Some("text/plain"),
        "x",
        &[],
    )
    .await;
    assert_eq!(r.status, 415);
    // Server-side apply needs a field manager.
    let r = call(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/pods/x",
        Some("application/apply-patch+yaml"),
        "{}",
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("fieldManager: Required value: is required for apply patch")
    );
    // An unknown patch type.
    let r = call(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/pods/x",
        Some("text/plain"),
        "{}",
        &[],
    )
    .await;
    assert_eq!(r.status, 415);
    // Unknown verb on a collection.
    let r = call(
        &st,
        Method::PUT,
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        "{}",
        &[],
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json()["reason"], "MethodNotAllowed");
    // Too large.
    let big = vec![b' '; 3 * 1024 * 1024 + 1];
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        big,
        &[],
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["reason"], "RequestEntityTooLarge");
    // Unknown resource.
    let r = get(&st, "/api/v1/namespaces/default/widgets").await;
    assert_eq!(r.status, 404);
    // Kind mismatch.
    let r = post(&st, "/api/v1/namespaces/default/pods", &deployment("x")).await;
    assert_eq!(r.status, 400);
    // Namespace that does not exist.
    let r = post(&st, "/api/v1/namespaces/nope/pods", &pod("x")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["message"], "namespaces \"nope\" not found");
    // Unsupported field selector.
    let r = get(
        &st,
        "/api/v1/namespaces/default/configmaps?fieldSelector=spec.foo%3Dx",
    )
    .await;
    assert_eq!(r.status, 400);
    // Strict field validation.
    let mut d = deployment("typo");
    d["spec"]["replicass"] = json!(3);
    let r = call(
        &st,
        Method::POST,
        "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict",
        Some("application/json"),
        d.to_string(),
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replicass\""
    );
    // Duplicate fields are caught too.
    let dup = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"dup"},"spec":{"replicas":1,"replicas":2,"selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}"#;
    let r = call(
        &st,
        Method::POST,
        "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Strict",
        Some("application/json"),
        dup,
        &[],
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json()["message"],
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: duplicate field \"spec.replicas\""
    );
    // Warn: accepted with a Warning header.
    let r = call(
        &st,
        Method::POST,
        "/apis/apps/v1/namespaces/default/deployments?fieldValidation=Warn",
        Some("application/json"),
        d.to_string(),
        &[],
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.headers.get("warning").unwrap(),
        "299 - \"unknown field \\\"spec.replicass\\\"\""
    );
}

#[tokio::test]
async fn lists_selectors_paging_and_tables() {
    let st = state().await;
    for i in 0..5 {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":format!("cm{i}"),"labels":{"i":i.to_string(),"even":(i % 2 == 0).to_string()}},"data":{"k":"v"}});
        assert_eq!(
            post(&st, "/api/v1/namespaces/default/configmaps", &cm)
                .await
                .status,
            201
        );
    }
    let r = get(
        &st,
        "/api/v1/namespaces/default/configmaps?labelSelector=even%3Dtrue",
    )
    .await;
    let names: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["cm0", "cm2", "cm4"]);
    let r = get(
        &st,
        "/api/v1/namespaces/default/configmaps?labelSelector=i+in+(1,3),even!%3Dtrue",
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 2);
    let r = get(&st, "/api/v1/configmaps?fieldSelector=metadata.name%3Dcm3").await;
    assert_eq!(r.json()["items"][0]["metadata"]["name"], "cm3");
    assert_eq!(r.json()["kind"], "ConfigMapList");

    // Paging keeps one snapshot.
    let r = get(&st, "/api/v1/namespaces/default/configmaps?limit=2").await;
    let page = r.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["metadata"]["remainingItemCount"], 3);
    let token = page["metadata"]["continue"].as_str().unwrap().to_string();
    let rv = page["metadata"]["resourceVersion"].clone();
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm9"}});
    assert_eq!(
        post(&st, "/api/v1/namespaces/default/configmaps", &cm)
            .await
            .status,
        201
    );
    let mut names = Vec::new();
    let mut next = Some(token);
    while let Some(t) = next {
        let r = get(
            &st,
            &format!("/api/v1/namespaces/default/configmaps?limit=2&continue={t}"),
        )
        .await;
        let v = r.json();
        assert_eq!(v["metadata"]["resourceVersion"], rv);
        for i in v["items"].as_array().unwrap() {
            names.push(i["metadata"]["name"].as_str().unwrap().to_string());
        }
        next = v["metadata"]["continue"].as_str().map(str::to_string);
    }
    assert_eq!(names, ["cm2", "cm3", "cm4"]);

    // Table output as kubectl asks for it.
    let r = call(&st, Method::GET, "/api/v1/namespaces/default/configmaps?limit=500", None, Vec::new(),
        &[("accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")]).await;
    let t = r.json();
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Data", "Age"]);
    assert_eq!(t["rows"][0]["cells"][0], "cm0");
    assert_eq!(t["rows"][0]["cells"][1], 1);
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[tokio::test]
async fn discovery_legacy_and_aggregated() {
    let st = state().await;
    let r = get(&st, "/api").await;
    assert_eq!(r.json()["kind"], "APIVersions");
    let r = call(
        &st,
        Method::GET,
        "/apis",
        None,
        Vec::new(),
        &[(
            "accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
        )],
    )
    .await;
    assert_eq!(
        r.headers.get("content-type").unwrap(),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let v = r.json();
    assert_eq!(v["kind"], "APIGroupDiscoveryList");
    let apps = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["metadata"]["name"] == "apps")
        .unwrap();
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "deployments")
        .unwrap();
    assert_eq!(deploy["shortNames"], json!(["deploy"]));
    assert_eq!(deploy["categories"], json!(["all"]));
    assert_eq!(deploy["scope"], "Namespaced");
    let r = get(&st, "/apis/apps").await;
    assert_eq!(r.json()["preferredVersion"]["groupVersion"], "apps/v1");
    let r = get(&st, "/openapi/v3").await;
    let url = r.json()["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let r = get(&st, &url).await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["components"]["schemas"]
            .get("io.k8s.api.apps.v1.Deployment")
            .is_some()
    );
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let st = state().await;
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["example.com/hold"]}});
    assert_eq!(
        post(&st, "/api/v1/namespaces/default/configmaps", &cm)
            .await
            .status,
        201
    );
    let r = call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/configmaps/held",
        None,
        Vec::new(),
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = get(&st, "/api/v1/namespaces/default/configmaps/held").await;
    assert_eq!(r.status, 200);
    assert!(r.json()["metadata"]["deletionTimestamp"].is_string());
    let r = call(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/configmaps/held",
        Some("application/merge-patch+json"),
        r#"{"metadata":{"finalizers":null}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        get(&st, "/api/v1/namespaces/default/configmaps/held")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn watch_streams_events_from_a_resource_version() {
    let st = state().await;
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w1"}});
    let r = post(&st, "/api/v1/namespaces/default/configmaps", &cm).await;
    let rv = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let req = Request::builder()
        .uri(format!(
            "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=2"
        ))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let cm2 = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w2"}});
    post(&st, "/api/v1/namespaces/default/configmaps", &cm2).await;
    call(
        &st,
        Method::DELETE,
        "/api/v1/namespaces/default/configmaps/w1",
        None,
        Vec::new(),
        &[],
    )
    .await;
    let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
        .await
        .expect("watch ends at timeoutSeconds")
        .unwrap()
        .to_bytes();
    let events: Vec<Value> = body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(kinds, [("ADDED", "w2"), ("DELETED", "w1")]);
    assert_eq!(events[0]["object"]["kind"], "ConfigMap");
}

#[tokio::test]
async fn invalid_objects_get_422_with_causes() {
    let st = state().await;
    let mut p = pod("bad");
    p["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let r = post(&st, "/api/v1/namespaces/default/pods", &p).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json(),
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
               "message":"Pod \"bad\" is invalid: spec.containers[0].image: Required value",
               "reason":"Invalid",
               "details":{"name":"bad","kind":"Pod","causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.containers[0].image"}]},
               "code":422})
    );
    let mut d = deployment("Bad_Name");
    d["spec"]["replicas"] = json!(-1);
    let r = post(&st, "/apis/apps/v1/namespaces/default/deployments", &d).await;
    assert_eq!(r.status, 422);
    let v = r.json();
    assert_eq!(v["details"]["group"], "apps");
    assert_eq!(v["details"]["kind"], "Deployment");
    let fields: Vec<&str> = v["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"metadata.name"), "{v}");
    assert!(fields.contains(&"spec.replicas"), "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Deployment.apps \"Bad_Name\" is invalid: ["),
        "{v}"
    );

    // Immutable selector on update.
    assert_eq!(
        post(
            &st,
            "/apis/apps/v1/namespaces/default/deployments",
            &deployment("web")
        )
        .await
        .status,
        201
    );
    let r = call(&st, Method::PATCH, "/apis/apps/v1/namespaces/default/deployments/web", Some("application/merge-patch+json"),
        r#"{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}"#, &[]).await;
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("spec.selector: Invalid value"),
        "{}",
        r.json()
    );
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("field is immutable")
    );

    // Pod updates may only change a few fields.
    assert_eq!(
        post(&st, "/api/v1/namespaces/default/pods", &pod("p"))
            .await
            .status,
        201
    );
    let r = call(
        &st,
        Method::PATCH,
        "/api/v1/namespaces/default/pods/p",
        Some("application/merge-patch+json"),
        r#"{"spec":{"restartPolicy":"Never"}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("Forbidden: pod updates may not change fields other than")
    );
}

#[tokio::test]
async fn events_are_shared_between_core_and_events_k8s_io() {
    let st = state().await;
    let ev = json!({"apiVersion":"events.k8s.io/v1","kind":"Event",
        "metadata":{"name":"p.1","namespace":"default"},
        "eventTime":"2026-01-01T00:00:00.000000Z","reportingController":"ironkube/test","reportingInstance":"x",
        "action":"Create","reason":"Created","type":"Normal","note":"made it",
        "regarding":{"kind":"Pod","namespace":"default","name":"p","apiVersion":"v1"}});
    let r = post(&st, "/apis/events.k8s.io/v1/namespaces/default/events", &ev).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["note"], "made it", "{}", r.json());
    let r = get(
        &st,
        "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp",
    )
    .await;
    let core = &r.json()["items"][0];
    assert_eq!(core["message"], "made it", "{}", r.json());
    assert_eq!(core["involvedObject"]["kind"], "Pod");
    assert_eq!(core["reportingComponent"], "ironkube/test");
    let r = get(&st, "/apis/events.k8s.io/v1/namespaces/default/events/p.1").await;
    assert_eq!(r.json()["apiVersion"], "events.k8s.io/v1");
    assert_eq!(r.json()["regarding"]["name"], "p");
}

#[tokio::test]
async fn partial_object_metadata_and_authentication_reviews() {
    let st = state().await;
    let r = call(
        &st,
        Method::GET,
        "/api/v1/namespaces",
        None,
        Vec::new(),
        &[(
            "accept",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
        )],
    )
    .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["kind"], "PartialObjectMetadataList");
    assert_eq!(v["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(v["items"][0]["kind"], "PartialObjectMetadata");
    assert!(v["items"][0]["metadata"]["name"].is_string());
    assert!(v["items"][0].get("spec").is_none());

    let r = post(
        &st,
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        &json!({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"}),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["status"]["userInfo"]["username"], "ironkube-admin");
    let r = post(&st, "/apis/authentication.k8s.io/v1/tokenreviews",
        &json!({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token": TOKEN}})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["status"]["authenticated"], true);
    let r = post(&st, "/apis/authentication.k8s.io/v1/tokenreviews",
        &json!({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token": "nope"}})).await;
    assert!(r.json()["status"].get("authenticated").is_none());
    // Create-only resources refuse other verbs.
    let r = get(&st, "/apis/authentication.k8s.io/v1/tokenreviews").await;
    assert_eq!(r.status, 405);
    // TokenRequest for a missing account.
    let r = post(
        &st,
        "/api/v1/namespaces/default/serviceaccounts/ghost/token",
        &json!({"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{}}),
    )
    .await;
    assert_eq!(r.status, 404);
}

async fn watch_lines(st: &Arc<AppState>, uri: &str) -> Vec<Value> {
    let req = Request::builder()
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let resp = app(st.clone()).oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
        .await
        .expect("watch ends at timeoutSeconds")
        .unwrap()
        .to_bytes();
    body.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[tokio::test]
async fn streaming_list_watch_ends_initial_events_with_a_bookmark() {
    let st = state().await;
    for name in ["a", "b"] {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name}});
        assert_eq!(
            post(&st, "/api/v1/namespaces/default/configmaps", &cm)
                .await
                .status,
            201
        );
    }
    let events = watch_lines(
        &st,
        "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    .await;
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ADDED", "ADDED", "BOOKMARK"]);
    let bm = &events[2]["object"];
    assert_eq!(bm["kind"], "ConfigMap");
    assert_eq!(
        bm["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert!(
        bm["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 2
    );

    // sendInitialEvents needs resourceVersionMatch=NotOlderThan and bookmarks.
    let r = get(
        &st,
        "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true",
    )
    .await;
    assert_eq!(r.status, 422);
    let msg = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
        "{msg}"
    );
    assert!(
        msg.contains("sendInitialEvents requires setting allowWatchBookmarks to true"),
        "{msg}"
    );
}

#[tokio::test]
async fn watch_from_a_too_old_revision_gets_410_expired_event() {
    let config = ironkube::storage::mvcc::Config {
        history: 3,
        ..Default::default()
    };
    let st = ironkube::server::memory_state_with(TOKEN, config)
        .await
        .unwrap();
    for i in 0..10 {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":format!("c{i}")}});
        assert_eq!(
            post(&st, "/api/v1/namespaces/default/configmaps", &cm)
                .await
                .status,
            201
        );
    }
    let events = watch_lines(
        &st,
        "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=2&timeoutSeconds=1",
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "ERROR");
    let status = &events[0]["object"];
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version: 2 ("),
        "{status}"
    );
    // A list continuing from a page that old is 410 too.
    let r = get(
        &st,
        "/api/v1/namespaces/default/configmaps?resourceVersion=2&resourceVersionMatch=Exact",
    )
    .await;
    assert_eq!(r.status, 410);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_watchers_all_receive_every_event() {
    let st = state().await;
    let rv = get(&st, "/api/v1/namespaces/default/configmaps")
        .await
        .json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut watchers = Vec::new();
    for _ in 0..1000 {
        let req = Request::builder()
            .uri(format!("/api/v1/namespaces/default/configmaps?watch=1&resourceVersion={rv}&timeoutSeconds=3"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let resp = app(st.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        watchers.push(tokio::spawn(async move {
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            body.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count()
        }));
    }
    for i in 0..20 {
        let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":format!("w{i}")}});
        assert_eq!(
            post(&st, "/api/v1/namespaces/default/configmaps", &cm)
                .await
                .status,
            201
        );
    }
    for w in watchers {
        let n = tokio::time::timeout(Duration::from_secs(20), w)
            .await
            .expect("watch ends")
            .unwrap();
        assert_eq!(n, 20);
    }
}

#[tokio::test]
async fn selector_watches_see_objects_enter_and_leave() {
    let st = state().await;
    let cm = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"m","labels":{"tier":"web"}}});
    let rv = post(&st, "/api/v1/namespaces/default/configmaps", &cm)
        .await
        .json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let watch = tokio::spawn({
        let st = st.clone();
        async move {
            watch_lines(
                &st,
                &format!("/api/v1/namespaces/default/configmaps?watch=1&labelSelector=tier%3Dweb&resourceVersion={rv}&timeoutSeconds=2"),
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let patch = |tier: &'static str| {
        let st = st.clone();
        async move {
            let body = format!(r#"{{"metadata":{{"labels":{{"tier":"{tier}"}}}}}}"#);
            call(
                &st,
                Method::PATCH,
                "/api/v1/namespaces/default/configmaps/m",
                Some("application/merge-patch+json"),
                body,
                &[],
            )
            .await
        }
    };
    assert_eq!(patch("db").await.status, 200); // leaves the selection
    assert_eq!(patch("cache").await.status, 200); // still out: nothing
    assert_eq!(patch("web").await.status, 200); // enters again
    let events = watch.await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["DELETED", "ADDED"]);
    // The DELETED event carries the object as it was when it last matched.
    assert_eq!(events[0]["object"]["metadata"]["labels"]["tier"], "web");
    assert_eq!(events[1]["object"]["metadata"]["labels"]["tier"], "web");
}

#[tokio::test]
async fn server_side_apply_creates_merges_conflicts_and_forces() {
    let st = state().await;
    let url = "/apis/apps/v1/namespaces/default/deployments/web";
    let apply = |body: &'static str, manager: &'static str, force: bool| {
        let st = st.clone();
        async move {
            let q = if force { "&force=true" } else { "" };
            call(
                &st,
                Method::PATCH,
                &format!("{url}?fieldManager={manager}{q}"),
                Some("application/apply-patch+yaml"),
                body,
                &[],
            )
            .await
        }
    };
    let doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n";
    // Create by apply.
    let r = apply(doc, "alice", false).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let d = r.json();
    assert_eq!(d["spec"]["replicas"], 2);
    let mf = &d["metadata"]["managedFields"][0];
    assert_eq!(mf["manager"], "alice");
    assert_eq!(mf["operation"], "Apply");
    assert_eq!(mf["fieldsType"], "FieldsV1");
    assert!(mf["fieldsV1"]["f:spec"]["f:replicas"].is_object());
    let rv = d["metadata"]["resourceVersion"].clone();
    // Re-applying the same document changes nothing.
    let r = apply(doc, "alice", false).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["resourceVersion"], rv);
    // Another manager changing replicas conflicts.
    let other =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 5\n";
    let r = apply(other, "bob", false).await;
    assert_eq!(r.status, 409);
    let v = r.json();
    assert_eq!(v["reason"], "Conflict");
    assert_eq!(
        v["message"],
        "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas"
    );
    assert_eq!(v["details"]["causes"][0]["reason"], "FieldManagerConflict");
    assert_eq!(v["details"]["causes"][0]["field"], ".spec.replicas");
    // Forcing takes the field over.
    let r = apply(other, "bob", true).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["spec"]["replicas"], 5);
    // Alice now applies without replicas: she no longer owns it, so it stays.
    let without = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.26\n";
    let r = apply(without, "alice", false).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["spec"]["replicas"], 5);
    assert_eq!(
        r.json()["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    // Ordinary writes are tracked as Update.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{url}?fieldManager=kubectl-label"),
        Some("application/merge-patch+json"),
        r#"{"metadata":{"labels":{"x":"y"}}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let managers: Vec<(String, String)> = r.json()["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["manager"].as_str().unwrap().to_string(),
                m["operation"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("kubectl-label".to_string(), "Update".to_string())),
        "{managers:?}"
    );
}

#[tokio::test]
async fn server_side_apply_on_scale_and_status() {
    let st = state().await;
    let r = post(
        &st,
        "/apis/apps/v1/namespaces/default/deployments?fieldManager=creator",
        &deployment("web"),
    )
    .await;
    assert_eq!(r.status, 201);
    // The creator owns spec.replicas (operation Update): taking it needs force.
    let r = call(
        &st,
        Method::PATCH,
        "/apis/apps/v1/namespaces/default/deployments/web/scale?fieldManager=autoscaler",
        Some("application/apply-patch+yaml"),
        "apiVersion: autoscaling/v1\nkind: Scale\nmetadata:\n  name: web\nspec:\n  replicas: 7\n",
        &[],
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        "Apply failed with 1 conflict: conflict with \"creator\" using apps/v1: .spec.replicas"
    );
    let r = call(
        &st,
        Method::PATCH,
        "/apis/apps/v1/namespaces/default/deployments/web/scale?fieldManager=autoscaler&force=true",
        Some("application/apply-patch+yaml"),
        "apiVersion: autoscaling/v1\nkind: Scale\nmetadata:\n  name: web\nspec:\n  replicas: 7\n",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["kind"], "Scale");
    assert_eq!(r.json()["spec"]["replicas"], 7);
    let d = get(&st, "/apis/apps/v1/namespaces/default/deployments/web")
        .await
        .json();
    assert_eq!(d["spec"]["replicas"], 7);
    let entry = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "autoscaler")
        .unwrap()
        .clone();
    assert_eq!(entry["operation"], "Apply");
    assert_eq!(entry["subresource"], "scale");
    // Another applier setting replicas now conflicts with the autoscaler.
    let r = call(
        &st,
        Method::PATCH,
        "/apis/apps/v1/namespaces/default/deployments/web?fieldManager=ci",
        Some("application/apply-patch+yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n",
        &[],
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["message"],
        "Apply failed with 1 conflict: conflict with \"autoscaler\" with subresource \"scale\": .spec.replicas"
    );
    // Status applies through /status only touch status.
    let r = call(
        &st,
        Method::PATCH,
        "/apis/apps/v1/namespaces/default/deployments/web/status?fieldManager=ctl",
        Some("application/apply-patch+yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nstatus:\n  replicas: 3\nspec:\n  replicas: 1\n",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"]["replicas"], 3);
    assert_eq!(r.json()["spec"]["replicas"], 7);
}

#[tokio::test]
async fn create_tracks_only_what_the_client_sent() {
    let st = state().await;
    // A pod: defaults are the creator's; status (set by the strategy) and
    // admission's tolerations and priority are nobody's, as upstream.
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces/default/pods?fieldManager=maker",
        Some("application/json"),
        pod("tracked").to_string(),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let p = r.json();
    assert_eq!(p["status"]["phase"], "Pending");
    let mf = &p["metadata"]["managedFields"];
    assert_eq!(mf.as_array().map(Vec::len), Some(1), "{mf}");
    assert_eq!(mf[0]["manager"], "maker");
    assert_eq!(mf[0]["operation"], "Update");
    assert_eq!(
        mf[0]["fieldsV1"],
        json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {"k:{\"name\":\"nginx\"}": {
                    ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
                    "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                        ".": {}, "f:containerPort": {}, "f:protocol": {}}},
                    "f:resources": {}, "f:terminationMessagePath": {},
                    "f:terminationMessagePolicy": {}}},
                "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
                "f:schedulerName": {}, "f:securityContext": {},
                "f:terminationGracePeriodSeconds": {}
            }
        })
    );
    // A namespace: the name label comes from defaulting (the creator's);
    // spec.finalizers and status are the server's.
    let r = call(
        &st,
        Method::POST,
        "/api/v1/namespaces?fieldManager=maker",
        Some("application/json"),
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"tracked"}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["metadata"]["managedFields"][0]["fieldsV1"],
        json!({"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}})
    );
    // A deployment: the selector is an atomic map (one leaf); the pointer
    // struct rollingUpdate is new (`.`), the value structs strategy and
    // template are not, nor is the required list of containers.
    let r = call(
        &st,
        Method::POST,
        "/apis/apps/v1/namespaces/default/deployments?fieldManager=maker",
        Some("application/json"),
        deployment("tracked").to_string(),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let spec = &r.json()["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"];
    assert_eq!(spec["f:selector"], json!({}));
    assert_eq!(
        spec["f:strategy"],
        json!({"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}})
    );
    assert_eq!(
        spec["f:template"]["f:metadata"],
        json!({"f:labels": {".": {}, "f:app": {}}})
    );
    assert!(
        spec["f:template"]["f:spec"]["f:containers"]
            .get(".")
            .is_none()
    );
    // Applying another selector conflicts on the selector as a whole.
    let r = call(
        &st,
        Method::PATCH,
        "/apis/apps/v1/namespaces/default/deployments/tracked?fieldManager=bob",
        Some("application/apply-patch+yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: tracked\nspec:\n  selector:\n    matchLabels:\n      app: other\n",
        &[],
    )
    .await;
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        r.json()["message"],
        "Apply failed with 1 conflict: conflict with \"maker\" using apps/v1: .spec.selector"
    );
}

/// `/openapi/v2` as kube-openapi serves it: kubectl's protobuf `Accept` gets
/// gnostic's `openapi.v2.Document` (it got 406 before), `*/*` and JSON get
/// JSON, and only what matches neither is 406 (empty body); ETag, Vary,
/// Last-Modified and 304/412/206 as Go's `http.ServeContent`.
#[tokio::test]
async fn openapi_v2_negotiates_protobuf_and_caches() {
    let st = state().await;
    let kubectl = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
    let proto_type = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
    let hdr = |r: &Resp, k: &str| {
        r.headers
            .get(k)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let r = call(
        &st,
        Method::GET,
        "/openapi/v2",
        None,
        "",
        &[("accept", kubectl)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(hdr(&r, "content-type"), proto_type);
    assert_eq!(hdr(&r, "vary"), "Accept");
    assert_eq!(hdr(&r, "accept-ranges"), "bytes");
    assert!(hdr(&r, "last-modified").ends_with(" GMT"));
    let etag = hdr(&r, "etag");
    assert_eq!(etag.len(), 130, "{etag}");
    // swagger = 1: "2.0"; info = 2 follows.
    assert_eq!(&r.body[..7], b"\x0a\x032.0\x12\x15");
    let proto_len = r.body.len();
    let r = call(
        &st,
        Method::GET,
        "/openapi/v2",
        None,
        "",
        &[("accept", proto_type)],
    )
    .await;
    assert_eq!((r.status, r.body.len()), (StatusCode::OK, proto_len));

    for accept in [
        "*/*",
        "application/json",
        "application/*",
        "application/json;q=0.9, text/html",
        &format!("{kubectl};q=0.5, application/json"),
    ] {
        let r = call(
            &st,
            Method::GET,
            "/openapi/v2",
            None,
            "",
            &[("accept", accept)],
        )
        .await;
        assert_eq!(r.status, 200, "{accept}");
        assert_eq!(hdr(&r, "content-type"), "application/json", "{accept}");
        assert_eq!(hdr(&r, "etag"), etag, "one ETag for both forms");
        assert_eq!(r.json()["swagger"], "2.0");
    }
    let r = get(&st, "/openapi/v2").await;
    assert_eq!(hdr(&r, "content-type"), "application/json");

    for accept in [
        "text/html",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
        "garbage",
    ] {
        let r = call(
            &st,
            Method::GET,
            "/openapi/v2",
            None,
            "",
            &[("accept", accept)],
        )
        .await;
        assert_eq!(r.status, 406, "{accept}");
        assert!(r.body.is_empty());
        assert_eq!(hdr(&r, "vary"), "Accept");
    }

    // Conditional requests.
    let r = call(
        &st,
        Method::GET,
        "/openapi/v2",
        None,
        "",
        &[("accept", kubectl), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(hdr(&r, "etag"), etag);
    assert_eq!(hdr(&r, "content-type"), "");
    assert_eq!(hdr(&r, "last-modified"), "");
    let r = call(
        &st,
        Method::GET,
        "/openapi/v2",
        None,
        "",
        &[("if-none-match", "\"other\"")],
    )
    .await;
    assert_eq!(r.status, 200);
    let r = call(
        &st,
        Method::POST,
        "/openapi/v2",
        None,
        "",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(r.status, 412);
    let r = call(
        &st,
        Method::GET,
        "/openapi/v2",
        None,
        "",
        &[("if-match", "\"other\"")],
    )
    .await;
    assert_eq!(r.status, 412);
    let r = call(
        &st,
        Method::GET,
        "/openapi/v2",
        None,
        "",
        &[("range", "bytes=0-9")],
    )
    .await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, b"{\"swagger\"");
    assert!(hdr(&r, "content-range").starts_with("bytes 0-9/"));
    let r = call(&st, Method::HEAD, "/openapi/v2", None, "", &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());

    // Upstream serves only the exact path.
    for path in ["/openapi/v2/", "/swagger.json"] {
        assert_eq!(get(&st, path).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn huge_grace_periods_on_bound_pods_are_answered_as_upstream() {
    let st = state().await;
    let mut p = pod("bound");
    p["spec"]["nodeName"] = json!("node-x");
    p["spec"]["terminationGracePeriodSeconds"] = json!(i64::MAX);
    assert_eq!(
        post(&st, "/api/v1/namespaces/default/pods", &p)
            .await
            .status,
        201
    );
    let mut q = pod("bound-2");
    q["spec"]["nodeName"] = json!("node-x");
    assert_eq!(
        post(&st, "/api/v1/namespaces/default/pods", &q)
            .await
            .status,
        201
    );
    // Upstream answers both with 200 and the pod marked for deletion, its
    // deletionGracePeriodSeconds the requested (or spec's) value.
    for (name, query) in [
        ("bound", ""),
        ("bound-2", "?gracePeriodSeconds=9223372036854775807"),
    ] {
        let uri = format!("/api/v1/namespaces/default/pods/{name}{query}");
        let r = call(&st, Method::DELETE, &uri, None, "", &[]).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["metadata"]["deletionGracePeriodSeconds"], json!(i64::MAX));
        assert!(v["metadata"]["deletionTimestamp"].is_string());
    }
    // The server still answers.
    assert_eq!(
        get(&st, "/api/v1/namespaces/default/pods").await.status,
        200
    );
}

// ---------------------------------------------------------------------------
// Workload kinds, PriorityClasses, HorizontalPodAutoscalers

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

async fn table(st: &Arc<AppState>, uri: &str) -> Value {
    let r = call(st, Method::GET, uri, None, Vec::new(), &[("accept", TABLE)]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn column_names(t: &Value) -> Vec<String> {
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

fn pod_template(labels: Value, restart: &str) -> Value {
    json!({"metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": restart}})
}

fn causes(r: &Resp) -> Vec<(String, String)> {
    r.json()["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn workload_kinds_are_created_read_and_printed_as_upstream() {
    let st = state().await;
    let ns = "/namespaces/default";
    // (collection, object, Table columns, the row's cells after the name)
    let cases = [
        (
            format!("/apis/batch/v1{ns}/jobs"),
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                "spec": {"template": pod_template(json!(null), "Never")}}),
            vec![
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
            json!(["Running", "0/1", ""]),
        ),
        (
            format!("/apis/batch/v1{ns}/cronjobs"),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": pod_template(json!(null), "OnFailure")}}}}),
            vec![
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
            json!(["*/5 * * * *", "<none>", "False", 0, "<none>"]),
        ),
        (
            format!("/apis/apps/v1{ns}/statefulsets"),
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
                "spec": {"serviceName": "web", "selector": {"matchLabels": {"app": "web"}}, "template": pod_template(json!({"app": "web"}), "Always")}}),
            vec!["Name", "Ready", "Age", "Containers", "Images"],
            json!(["0/1"]),
        ),
        (
            format!("/apis/apps/v1{ns}/daemonsets"),
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"},
                "spec": {"selector": {"matchLabels": {"app": "ds"}}, "template": pod_template(json!({"app": "ds"}), "Always")}}),
            vec![
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
            json!([0, 0, 0, 0, 0, "<none>"]),
        ),
        (
            format!("/apis/apps/v1{ns}/controllerrevisions"),
            json!({"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "cr"}, "data": {"a": 1}, "revision": 3}),
            vec!["Name", "Controller", "Revision", "Age"],
            json!(["<none>", 3]),
        ),
        (
            format!("/api/v1{ns}/replicationcontrollers"),
            json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
                "spec": {"template": pod_template(json!({"app": "rc"}), "Always")}}),
            vec![
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
            json!([1, 0, 0]),
        ),
        (
            format!("/apis/policy/v1{ns}/poddisruptionbudgets"),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "pdb"},
                "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}),
            vec![
                "Name",
                "Min Available",
                "Max Unavailable",
                "Allowed Disruptions",
                "Age",
            ],
            json!(["2", "N/A", 0]),
        ),
        (
            "/apis/scheduling.k8s.io/v1/priorityclasses".to_string(),
            json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000}),
            vec!["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"],
            json!([1000, false]),
        ),
        (
            format!("/apis/autoscaling/v2{ns}/horizontalpodautoscalers"),
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
                "spec": {"maxReplicas": 3, "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"}}}),
            vec![
                "Name",
                "Reference",
                "Targets",
                "MinPods",
                "MaxPods",
                "Replicas",
                "Age",
            ],
            json!(["Deployment/d", "cpu: <unknown>/80%", "1", 3, 0]),
        ),
    ];
    for (base, obj, columns, cells) in cases {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        let r = post(&st, &base, &obj).await;
        assert_eq!(
            r.status,
            201,
            "{base}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let created = r.json();
        let r = get(&st, &format!("{base}/{name}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), created, "{base}");
        let t = table(&st, &format!("{base}/{name}")).await;
        assert_eq!(column_names(&t), columns, "{base}");
        let row = t["rows"][0]["cells"].as_array().unwrap().clone();
        assert_eq!(row[0], json!(name), "{base}");
        let want = cells.as_array().unwrap();
        assert_eq!(&row[1..=want.len()], want.as_slice(), "{base}");
    }
    // What the strategies fill in, as upstream does.
    let job = get(&st, &format!("/apis/batch/v1{ns}/jobs/j")).await.json();
    let uid = job["metadata"]["uid"].as_str().unwrap();
    assert_eq!(
        job["spec"]["selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    );
    let labels = json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "j",
        "controller-uid": uid, "job-name": "j"});
    assert_eq!(job["spec"]["template"]["metadata"]["labels"], labels);
    assert_eq!(job["metadata"]["labels"], labels);
    for (field, value) in [
        ("backoffLimit", json!(6)),
        ("completions", json!(1)),
        ("parallelism", json!(1)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("manualSelector", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
    ] {
        assert_eq!(job["spec"][field], value, "{field}");
    }
    assert_eq!(job["metadata"]["generation"], 1);
    let r = get(
        &st,
        "/apis/batch/v1/jobs?fieldSelector=status.successful%3D0",
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let cj = get(&st, &format!("/apis/batch/v1{ns}/cronjobs/c"))
        .await
        .json();
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    let ds = get(&st, &format!("/apis/apps/v1{ns}/daemonsets/ds"))
        .await
        .json();
    assert_eq!(
        ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"],
        "1"
    );
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    let rc = get(&st, &format!("/api/v1{ns}/replicationcontrollers/rc"))
        .await
        .json();
    assert_eq!(rc["spec"]["selector"], json!({"app": "rc"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "rc"}));
    assert_eq!(rc["status"], json!({"replicas": 0}));
    // RCs live where upstream keeps them.
    let kv = st
        .store
        .storage()
        .get("/registry/controllers/default/rc")
        .await
        .unwrap();
    assert!(kv.is_some());
    // A DaemonSet's template change moves its template generation.
    let r = call(
        &st,
        Method::PATCH,
        &format!("/apis/apps/v1{ns}/daemonsets/ds"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let ds = r.json();
    assert_eq!(ds["metadata"]["generation"], 2);
    assert_eq!(
        ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"],
        "2"
    );
}

#[tokio::test]
async fn invalid_workloads_get_upstreams_422() {
    let st = state().await;
    let jobs = "/apis/batch/v1/namespaces/default/jobs";
    let r = post(
        &st,
        jobs,
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "b"},
            "spec": {"completionMode": "Indexed", "parallelism": 2, "template": pod_template(json!(null), "Never")}}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.message(),
        "Job.batch \"b\" is invalid: spec.completions: Required value: when completion mode is Indexed"
    );
    assert_eq!(
        causes(&r),
        [(
            "spec.completions".to_string(),
            "Required value: when completion mode is Indexed".to_string()
        )]
    );

    let r = post(
        &st,
        "/apis/batch/v1/namespaces/default/cronjobs",
        &json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"schedule": "61 * * * *", "jobTemplate": {"spec": {"template": pod_template(json!(null), "Never")}}}}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        causes(&r),
        [(
            "spec.schedule".to_string(),
            "Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61".to_string()
        )]
    );

    let r = post(
        &st,
        "/apis/apps/v1/namespaces/default/statefulsets",
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": pod_template(json!({"app": "y"}), "Always")}}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        causes(&r),
        [(
            "spec.template.metadata.labels".to_string(),
            "Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`".to_string()
        )]
    );

    // A Job's template cannot change once it runs.
    let r = post(
        &st,
        jobs,
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ok"},
            "spec": {"template": pod_template(json!(null), "Never")}}),
    )
    .await;
    assert_eq!(r.status, 201);
    let r = call(
        &st,
        Method::PATCH,
        &format!("{jobs}/ok"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    let c = causes(&r);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].0, "spec.template");
    assert!(c[0].1.ends_with(": field is immutable"), "{}", c[0].1);
    // Parallelism may change.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{jobs}/ok"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"parallelism":3}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["metadata"]["generation"], 2);
}

#[tokio::test]
async fn replication_controllers_scale_like_replica_sets() {
    let st = state().await;
    let base = "/api/v1/namespaces/default/replicationcontrollers";
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
        "spec": {"replicas": 2, "template": pod_template(json!({"app": "rc", "tier": "a"}), "Always")}});
    assert_eq!(post(&st, base, &rc).await.status, 201);
    let r = get(&st, &format!("{base}/rc/scale")).await;
    assert_eq!(r.status, 200);
    let s = r.json();
    assert_eq!(s["kind"], "Scale");
    assert_eq!(s["apiVersion"], "autoscaling/v1");
    assert_eq!(s["spec"]["replicas"], 2);
    assert_eq!(
        s["status"],
        json!({"replicas": 0, "selector": "app=rc,tier=a"})
    );
    let r = call(
        &st,
        Method::PATCH,
        &format!("{base}/rc/scale"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":5}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["spec"]["replicas"], 5);
    let rc = get(&st, &format!("{base}/rc")).await.json();
    assert_eq!(rc["spec"]["replicas"], 5);
    assert_eq!(rc["metadata"]["generation"], 2);
    let r = get(
        &st,
        "/api/v1/replicationcontrollers?fieldSelector=status.replicas%3D0",
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn priority_classes_start_with_the_system_ones() {
    let st = state().await;
    let base = "/apis/scheduling.k8s.io/v1/priorityclasses";
    let pc = get(&st, &format!("{base}/system-node-critical"))
        .await
        .json();
    assert_eq!(pc["value"], 2_000_001_000);
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    assert_eq!(
        pc["description"],
        "Used for system critical pods that must not be moved from their current node."
    );
    let pc = get(&st, &format!("{base}/system-cluster-critical"))
        .await
        .json();
    assert_eq!(pc["value"], 2_000_000_000);

    let r = post(
        &st,
        base,
        &json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-foo"}, "value": 10}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.message(),
        "PriorityClass.scheduling.k8s.io \"system-foo\" is invalid: metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class"
    );
    let r = call(
        &st,
        Method::DELETE,
        &format!("{base}/system-node-critical"),
        None,
        Vec::new(),
        &[],
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        "priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a system priority class and cannot be deleted"
    );
    // One global default.
    let class = |name: &str, value: i64| {
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
            "value": value, "globalDefault": true})
    };
    assert_eq!(post(&st, base, &class("def1", 5)).await.status, 201);
    let r = post(&st, base, &class("def2", 6)).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        "priorityclasses.scheduling.k8s.io \"def2\" is forbidden: PriorityClass def1 is already marked as default. Only one default can exist"
    );
    // Value is immutable.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{base}/def1"),
        Some("application/merge-patch+json"),
        r#"{"value":7}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        causes(&r),
        [(
            "value".to_string(),
            "Forbidden: may not be changed in an update.".to_string()
        )]
    );
}

#[tokio::test]
async fn pods_get_the_priority_of_their_class() {
    let st = state().await;
    let pods = "/api/v1/namespaces/default/pods";
    let mut p = pod("critical");
    p["spec"]["priorityClassName"] = json!("system-node-critical");
    let r = post(&st, pods, &p).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["spec"]["priority"], 2_000_001_000);
    assert_eq!(r.json()["spec"]["preemptionPolicy"], "PreemptLowerPriority");

    let mut p = pod("nope");
    p["spec"]["priorityClassName"] = json!("nope");
    let r = post(&st, pods, &p).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        "pods \"nope\" is forbidden: no PriorityClass with name nope was found"
    );

    let mut p = pod("liar");
    p["spec"]["priorityClassName"] = json!("system-cluster-critical");
    p["spec"]["priority"] = json!(7);
    let r = post(&st, pods, &p).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.message(),
        "pods \"liar\" is forbidden: the integer value of priority (7) must not be provided in pod spec; priority admission controller computed 2000000000 from the given PriorityClass name"
    );

    // No class: priority 0, until a class is the global default.
    let r = post(&st, pods, &pod("plain")).await;
    assert_eq!(r.json()["spec"]["priority"], 0);
    assert!(r.json()["spec"].get("priorityClassName").is_none());
    let pc = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "dflt"},
        "value": 100, "globalDefault": true, "preemptionPolicy": "Never"});
    assert_eq!(
        post(&st, "/apis/scheduling.k8s.io/v1/priorityclasses", &pc)
            .await
            .status,
        201
    );
    let r = post(&st, pods, &pod("defaulted")).await;
    assert_eq!(r.status, 201);
    let spec = &r.json()["spec"];
    assert_eq!(spec["priorityClassName"], "dflt");
    assert_eq!(spec["priority"], 100);
    assert_eq!(spec["preemptionPolicy"], "Never");
}

#[tokio::test]
async fn horizontal_pod_autoscalers_are_served_as_v2_and_v1() {
    let st = state().await;
    let v1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers";
    let v2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers";
    // What `kubectl autoscale deployment d --min=2 --max=6 --cpu-percent=50` sends.
    let hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "d"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
            "minReplicas": 2, "maxReplicas": 6, "targetCPUUtilizationPercentage": 50}});
    let r = post(&st, v1, &hpa).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json();
    assert_eq!(created["apiVersion"], "autoscaling/v1");
    assert_eq!(created["spec"]["targetCPUUtilizationPercentage"], 50);
    assert_eq!(
        created["status"],
        json!({"currentReplicas": 0, "desiredReplicas": 0})
    );
    let as_v2 = get(&st, &format!("{v2}/d")).await.json();
    assert_eq!(as_v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        as_v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}])
    );
    assert_eq!(
        as_v2["status"],
        json!({"desiredReplicas": 0, "currentMetrics": null})
    );
    // The same object through both versions.
    let listed = get(&st, v1).await.json();
    assert_eq!(listed["kind"], "HorizontalPodAutoscalerList");
    assert_eq!(listed["apiVersion"], "autoscaling/v1");
    assert_eq!(
        listed["items"][0]["spec"]["targetCPUUtilizationPercentage"],
        50
    );
    // A v2-only metric survives an update through v1.
    let r = call(
        &st,
        Method::PATCH,
        &format!("{v2}/d"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"metrics":[{"type":"Pods","pods":{"metric":{"name":"qps"},"target":{"type":"AverageValue","averageValue":"10"}}},{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":50}}}]}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = call(
        &st,
        Method::PATCH,
        &format!("{v1}/d"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"maxReplicas":8,"targetCPUUtilizationPercentage":60}}"#,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let as_v2 = get(&st, &format!("{v2}/d")).await.json();
    assert_eq!(as_v2["spec"]["maxReplicas"], 8);
    assert_eq!(
        as_v2["spec"]["metrics"],
        json!([{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}])
    );
    assert!(as_v2["metadata"].get("annotations").is_none());
    let t = table(&st, v1).await;
    assert_eq!(t["rows"][0]["cells"][2], "<unknown>/10, cpu: <unknown>/60%");
    // v1 errors name the v2 (internal) fields, as upstream's.
    let r = post(
        &st,
        v1,
        &json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "bad"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 2, "minReplicas": 5,
                "targetCPUUtilizationPercentage": 0}}),
    )
    .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        causes(&r),
        [
            (
                "spec.maxReplicas".to_string(),
                "Invalid value: 2: must be greater than or equal to `minReplicas`".to_string()
            ),
            (
                "spec.metrics[0].resource.target.averageUtilization".to_string(),
                "Invalid value: 0: must be greater than 0".to_string()
            ),
        ]
    );
}

/// A batch/v1 Job deleted without a propagation policy orphans its pods
/// (upstream job strategy's DefaultGarbageCollectionPolicy): the `orphan`
/// finalizer is added; an explicit policy, or a GC finalizer already on the
/// object, decides instead.
#[tokio::test]
async fn a_job_deleted_without_a_policy_orphans_its_pods() {
    let st = state().await;
    let jobs = "/apis/batch/v1/namespaces/default/jobs";
    for name in ["plain", "background", "foreground-held"] {
        let mut job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": pod_template(json!(null), "Never")}});
        if name == "foreground-held" {
            job["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
        }
        assert_eq!(post(&st, jobs, &job).await.status, 201, "{name}");
    }
    let delete = |path: String| {
        let st = st.clone();
        async move { call(&st, Method::DELETE, &path, None, Vec::new(), &[]).await }
    };
    let r = delete(format!("{jobs}/plain")).await;
    assert_eq!(r.status, 200);
    let plain = get(&st, &format!("{jobs}/plain")).await.json();
    assert_eq!(plain["metadata"]["finalizers"], json!(["orphan"]));
    assert!(plain["metadata"]["deletionTimestamp"].is_string());

    let r = delete(format!("{jobs}/background?propagationPolicy=Background")).await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&st, &format!("{jobs}/background")).await.status, 404);

    let r = delete(format!("{jobs}/foreground-held")).await;
    assert_eq!(r.status, 200);
    let held = get(&st, &format!("{jobs}/foreground-held")).await.json();
    assert_eq!(
        held["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
}
