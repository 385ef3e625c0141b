//! In-process HTTP harness shared by the in-process test files: the whole
//! router from `apiserver::app` over memory storage, no socket.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use ironkube::apiserver::{AppState, app};

pub const TOKEN: &str = "test-token";

/// A fresh server state with memory storage; `TOKEN` is the admin token.
pub async fn state() -> Arc<AppState> {
    ironkube::server::memory_state(TOKEN).await.expect("state")
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `message` of a `Status` body.
    pub fn message(&self) -> String {
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends one request through the router and collects the whole answer.
pub async fn send(st: &Arc<AppState>, req: Request<Body>) -> Resp {
    let resp = app(st.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

/// A JSON request as the admin (`content_type` for the body, if any).
pub async fn request(
    st: &Arc<AppState>,
    method: http::Method,
    uri: &str,
    content_type: &str,
    body: Option<String>,
) -> Resp {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"));
    if body.is_some() {
        b = b.header("content-type", content_type);
    }
    send(
        st,
        b.body(Body::from(body.unwrap_or_default()))
            .expect("request"),
    )
    .await
}

/// Serves a CRD as the CRD controller would once `Established` (the
/// controller itself does not run in-process): stored, established, then
/// installed from storage as at start-up.
pub async fn install_crd(st: &Arc<AppState>, crd: Value) {
    let name = crd["metadata"]["name"].as_str().expect("name").to_string();
    let r = request(
        st,
        http::Method::POST,
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        "application/json",
        Some(crd.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let status = serde_json::json!({"status": {
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "lastTransitionTime": "2026-12-03T16:00:00Z",
             "reason": "NoConflicts", "message": "no conflicts found"},
            {"type": "Established", "status": "True", "lastTransitionTime": "2026-12-03T16:00:00Z",
             "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}],
        "acceptedNames": crd["spec"]["names"],
        "storedVersions": ["v1"]}});
    let r = request(
        st,
        http::Method::PATCH,
        &format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}/status"),
        "application/merge-patch+json",
        Some(status.to_string()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    ironkube::apiextensions::controller::install_stored(&st.store)
        .await
        .expect("install");
}
