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
