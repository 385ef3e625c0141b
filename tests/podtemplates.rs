//! core/v1 PodTemplate, the kind added in the one-file shape of
//! `registry/kinds/`: every expectation below was taken from a live
//! kube-apiserver v1.36.2.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request};
use serde_json::{Value, json};

use ironkube::apiserver::AppState;

mod inproc;
use inproc::{Resp, TOKEN, send, state};

const PTS: &str = "/api/v1/namespaces/default/podtemplates";

async fn call(st: &Arc<AppState>, method: Method, uri: &str, ct: &str, body: &str) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", ct)
        .header(
            "accept",
            if ct == "table" {
                "application/json;as=Table;v=v1;g=meta.k8s.io"
            } else {
                "application/json"
            },
        )
        .body(Body::from(body.to_string()))
        .unwrap();
    send(st, req).await
}

fn template(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name},
        "template": {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}, {"name": "d", "image": "busybox"}]}}})
}

#[tokio::test]
async fn podtemplates_are_served_like_upstream() {
    let st = state().await;
    let json_ct = "application/json";

    // Discovery.
    let d = call(&st, Method::GET, "/api/v1", json_ct, "").await.json();
    let r = d["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "podtemplates")
        .cloned()
        .unwrap();
    assert_eq!(
        r,
        json!({"name": "podtemplates", "singularName": "podtemplate", "namespaced": true,
            "kind": "PodTemplate",
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
            "storageVersionHash": "LIXB2x4IFpk="})
    );

    // Create: defaults of the template's pod spec, generation 1.
    let t = template("a", json!({"b": "2", "a": "1"}));
    let resp = call(&st, Method::POST, PTS, json_ct, &t.to_string()).await;
    assert_eq!(resp.status, 201, "{}", String::from_utf8_lossy(&resp.body));
    let created = resp.json();
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["template"]["spec"]["restartPolicy"], "Always");
    assert_eq!(created["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    assert_eq!(
        created["template"]["spec"]["containers"][0]["terminationMessagePath"],
        "/dev/termination-log"
    );

    // Generation follows the template only.
    let merge = "application/merge-patch+json";
    let p = call(
        &st,
        Method::PATCH,
        &format!("{PTS}/a"),
        merge,
        r#"{"template":{"metadata":{"labels":{"a":"9"}}}}"#,
    )
    .await
    .json();
    assert_eq!(p["metadata"]["generation"], 2);
    let p = call(
        &st,
        Method::PATCH,
        &format!("{PTS}/a"),
        merge,
        r#"{"metadata":{"labels":{"q":"r"}}}"#,
    )
    .await
    .json();
    assert_eq!(p["metadata"]["generation"], 2);

    // Table: Name, Containers, Images, Pod Labels (no age).
    let t2 = template("u", json!({}));
    call(&st, Method::POST, PTS, json_ct, &t2.to_string()).await;
    let table = call(&st, Method::GET, PTS, "table", "").await.json();
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Name", "Containers", "Images", "Pod Labels"]);
    assert_eq!(
        table["columnDefinitions"][3]["description"],
        "The labels for the pod template."
    );
    let rows: Vec<Value> = table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cells"].clone())
        .collect();
    assert_eq!(
        rows,
        [
            json!(["a", "c,d", "nginx,busybox", "a=9,b=2"]),
            json!(["u", "c,d", "nginx,busybox", "<none>"])
        ]
    );

    // Field selectors: only the metadata ones.
    let bad = call(
        &st,
        Method::GET,
        &format!("{PTS}?fieldSelector=template.x=1"),
        json_ct,
        "",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.message(),
        "\"template.x\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    );

    // Validation: ValidatePodTemplate.
    let invalid = json!({"metadata": {"name": "B_ad", "labels": {"-x": "y"}},
        "template": {"metadata": {"labels": {"-x": "y"}},
            "spec": {"containers": [{"name": "c"}], "restartPolicy": "Never",
                "ephemeralContainers": [{"name": "e", "image": "i"}]}}});
    let resp = call(&st, Method::POST, PTS, json_ct, &invalid.to_string()).await;
    assert_eq!(resp.status, 422);
    let label_msg = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    assert_eq!(
        resp.message(),
        format!(
            "PodTemplate \"B_ad\" is invalid: [metadata.name: Invalid value: \"B_ad\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), metadata.labels: Invalid value: \"-x\": {label_msg}, template.labels: Invalid value: \"-x\": {label_msg}, template.spec.containers[0].image: Required value, template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template]"
        )
    );
    let body = resp.json();
    let fields: Vec<&str> = body["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "metadata.name",
            "metadata.labels",
            "template.labels",
            "template.spec.containers[0].image",
            "template.spec.ephemeralContainers"
        ]
    );
    let resp = call(
        &st,
        Method::POST,
        PTS,
        json_ct,
        r#"{"metadata":{"name":"c"}}"#,
    )
    .await;
    assert_eq!(resp.status, 422);
    assert_eq!(
        resp.message(),
        "PodTemplate \"c\" is invalid: template.spec.containers: Required value"
    );

    // PUT of a missing object does not create it.
    let resp = call(
        &st,
        Method::PUT,
        &format!("{PTS}/zz"),
        json_ct,
        &template("zz", json!({})).to_string(),
    )
    .await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.message(), "podtemplates \"zz\" not found");

    // DELETE answers with the object.
    let resp = call(&st, Method::DELETE, &format!("{PTS}/a"), json_ct, "").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["kind"], "PodTemplate");
    assert_eq!(resp.json()["metadata"]["name"], "a");
}
