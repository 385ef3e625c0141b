//! The HTTP face of the API server. Only this module knows HTTP.
//!
//! [`app`] builds the whole service as an axum `Router` so tests can drive it
//! in-process without a socket. One fallback handler parses each request the
//! way upstream's request-info factory does (`request.rs`), authenticates it,
//! and hands it to the handler for its verb (`handlers.rs`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::response::Response;
use axum::{Router, middleware};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use crate::apimachinery::status::ApiError;
use crate::auth;
use crate::auth::UserInfo;
use crate::openapi::OpenApi;
use crate::registry::store::Store;

mod access_reviews;
mod authn;
pub mod authz;
pub mod discovery;
mod drain;
pub mod filters;
mod handlers;
mod impersonation;
pub mod negotiate;
mod openapi_v2;
pub mod printers;
pub mod request;

/// The Kubernetes version this server reports (within kubectl 1.32's skew).
pub const KUBE_MAJOR: &str = "1";
pub const KUBE_MINOR: &str = "33";
pub const KUBE_GIT_VERSION: &str = "v1.33.0";

/// Everything a request handler needs.
pub struct AppState {
    pub store: Store,
    pub auth: auth::Authenticator,
    /// Serve requests without credentials as `system:anonymous`.
    pub anonymous: bool,
    /// The `--authorization-mode` chain and the RBAC policy it reads.
    pub authorizer: Arc<auth::authorizer::Authorizer>,
    /// Keeps `authorizer`'s policy current.
    pub policy: Arc<authz::PolicyFeed>,
    /// Signs and verifies service-account tokens.
    pub sa_key: Arc<auth::satokens::SigningKey>,
    pub openapi: Arc<OpenApi>,
    /// `host:port` clients reach this server at (for `/api`).
    pub server_address: String,
    /// Flips to `true` when the server starts shutting down: watches end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// The whole API as a router, with upstream's default limits.
pub fn app(state: Arc<AppState>) -> Router {
    app_with(state, filters::Limits::default())
}

/// The whole API as a router, with the given request limits.
pub fn app_with(state: Arc<AppState>, limits: filters::Limits) -> Router {
    Router::new()
        .fallback(dispatch)
        .with_state(state)
        .layer(middleware::from_fn(outer_filters))
        .layer(Extension(Arc::new(filters::Filters::new(limits))))
}

/// The filters around everything, health checks included: panic recovery
/// and response compression.
async fn outer_filters(req: Request, next: middleware::Next) -> Response {
    // The OpenAPI v3 documents are not compressed upstream (its handler
    // writes them itself); everything else over 128 KiB is.
    let gzip = filters::accepts_gzip(req.headers()) && !req.uri().path().starts_with("/openapi/v3");
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let resp = filters::recover(&method, &uri, next.run(req)).await;
    if gzip {
        filters::compress(resp).await
    } else {
        resp
    }
}

/// Query parameters, percent-decoded.
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(q: Option<&str>) -> Self {
        let mut out = Vec::new();
        for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            out.push((percent_decode(k), percent_decode(v)));
        }
        Query(out)
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(qk, _)| qk == k)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, k: &str) -> bool {
        matches!(self.get(k), Some("1") | Some("true") | Some("True"))
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A response with a JSON body.
pub fn json_response(status: StatusCode, value: &Value) -> Response {
    bytes_response(
        status,
        serde_json::to_vec(value).unwrap_or_default(),
        "application/json",
    )
}

pub fn bytes_response(status: StatusCode, body: Vec<u8>, content_type: &str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// The `Status` response of an error.
pub fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = json_response(status, &e.to_status());
    // Upstream sends `details.retryAfterSeconds` as `Retry-After` too.
    if let Some(secs) = e
        .details
        .as_ref()
        .and_then(|d| d.get("retryAfterSeconds"))
        .and_then(Value::as_u64)
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn text(status: StatusCode, body: &str) -> Response {
    let mut r = bytes_response(
        status,
        body.as_bytes().to_vec(),
        "text/plain; charset=utf-8",
    );
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `/healthz`, `/livez`, `/readyz` and their `?verbose` and per-check forms
/// (`apiserver/pkg/server/healthz/healthz.go`). The `etcd` checks (and
/// readyz's `etcd-readiness`) ask the storage whether it answers.
async fn health(state: &AppState, path: &str, query: &Query, ready: bool) -> Response {
    let (base, check) = match path.trim_start_matches('/').split_once('/') {
        Some((b, c)) => (b, Some(c)),
        None => (path.trim_start_matches('/'), None),
    };
    let mut checks = vec!["ping", "log", "etcd"];
    if base == "readyz" {
        checks.push("etcd-readiness");
        checks.push("informer-sync");
        checks.push("shutdown");
    }
    let storage = |c: &str| c == "etcd" || c == "etcd-readiness";
    if let Some(c) = check {
        if !checks.contains(&c) {
            return error_response(&ApiError::path_not_found());
        }
        if storage(c)
            && let Err(e) = state.store.storage().check().await
        {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("internal server error: {e}\n"),
            );
        }
        return if c != "shutdown" || ready {
            text(StatusCode::OK, "ok")
        } else {
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal server error: process is shutting down\n",
            )
        };
    }
    let storage_ok = state.store.storage().check().await.is_ok();
    let mut failed = false;
    let mut s = String::new();
    for c in &checks {
        let ok = if storage(c) {
            storage_ok
        } else {
            *c != "shutdown" || ready
        };
        if ok {
            s.push_str(&format!("[+]{c} ok\n"));
        } else {
            failed = true;
            s.push_str(&format!("[-]{c} failed: reason withheld\n"));
        }
    }
    if failed {
        s.push_str(&format!("{base} check failed\n"));
        return text(StatusCode::INTERNAL_SERVER_ERROR, &s);
    }
    if query.get("verbose").is_some() {
        s.push_str(&format!("{base} check passed\n"));
        return text(StatusCode::OK, &s);
    }
    text(StatusCode::OK, "ok")
}

fn version() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "emulationMajor": KUBE_MAJOR,
        "emulationMinor": KUBE_MINOR,
        "minCompatibilityMajor": KUBE_MAJOR,
        "minCompatibilityMinor": "32",
        "gitVersion": KUBE_GIT_VERSION,
        "gitCommit": env!("CARGO_PKG_VERSION"),
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "ironkube (Rust)",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    })
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// Who sent the request: its client certificate or bearer token, else
/// `system:anonymous` if allowed (a token that does not verify is a 401,
/// never anonymous: upstream's `union.NewFailOnError`).
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<auth::x509::PeerCert>,
) -> Result<auth::UserInfo, Box<Response>> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Some(u) = authn::authenticate(state, header, peer.as_ref()).await {
        return Ok(u);
    }
    // A client certificate that did not verify (or has expired) is an
    // authentication error too, never anonymous (`peer` is `None` without
    // a certificate or with one that names no CommonName).
    if state.anonymous && peer.is_none() && !authn::has_bearer_token(header) {
        return Ok(auth::UserInfo {
            name: "system:anonymous".into(),
            groups: vec!["system:unauthenticated".into()],
            ..Default::default()
        });
    }
    Err(Box::new(error_response(&ApiError::unauthorized())))
}

async fn dispatch(
    State(state): State<Arc<AppState>>,
    Extension(filters): Extension<Arc<filters::Filters>>,
    req: Request,
) -> Response {
    let req = req.map(drain::wrap);
    let path = req.uri().path().to_string();
    let query = Query::parse(req.uri().query());
    let ready = !*state.shutdown.borrow();
    let mut attrs = match authz::request_info(req.method(), req.uri(), &query) {
        Ok(a) => a,
        Err(e) => {
            let uri = req.uri().path_and_query().map_or("", |p| p.as_str());
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Internal Server Error: \"{uri}\": failed to create RequestInfo: {e}\n"),
            );
        }
    };
    let peer = req.extensions().get::<auth::x509::PeerCert>().cloned();
    let user = match req.extensions().get::<auth::InProcessUser>() {
        Some(u) => UserInfo::clone(&u.0),
        None => match authenticate(&state, req.headers(), peer).await {
            Ok(u) => u,
            Err(r) => return *r,
        },
    };
    let user = match impersonation::impersonate(&state, user, req.headers()).await {
        Ok(u) => u,
        Err(e) => return error_response(&e),
    };
    attrs.user = user;
    if let Err(e) = authz::require(&state, &attrs).await {
        return error_response(&e);
    }
    let user = attrs.user;
    match path.as_str() {
        "/version" | "/version/" => {
            let accept = header_str(req.headers(), header::ACCEPT);
            if !negotiate::accepts_any(accept.as_deref(), &["application/json"]) {
                return error_response(&ApiError::not_acceptable("application/json"));
            }
            return json_response(StatusCode::OK, &version());
        }
        p if p.starts_with("/healthz") || p.starts_with("/livez") || p.starts_with("/readyz") => {
            return health(
                &state,
                p,
                &query,
                ready || p.starts_with("/livez") || p.starts_with("/healthz"),
            )
            .await;
        }
        "/.well-known/openid-configuration" | "/.well-known/openid-configuration/" => {
            return openid_response(openid_configuration(&state), "application/json");
        }
        _ => {}
    }
    if path == crate::snapshot::PATH && req.method() == axum::http::Method::GET {
        // A non-resource URL: RBAC allowed it above (system:masters only,
        // unless a role grants `get` on it).
        return match crate::snapshot::export(state.store.storage().as_ref()).await {
            Ok(body) => bytes_response(StatusCode::OK, body.to_vec(), "application/x-ndjson"),
            Err(e) => error_response(&ApiError::internal(e)),
        };
    }
    if matches!(path.as_str(), "/openid/v1/jwks" | "/openid/v1/jwks/") {
        let keys = auth::satokens::jwks(&[state.sa_key.verify_key().clone()]);
        return openid_response(keys, "application/jwk-set+json");
    }
    match path.as_str() {
        "/openapi/v2" => {
            let served = state.store.registry().snapshot();
            let builtin = state.openapi.v2_document();
            // Merging the custom resources' parts is CPU work (a second with
            // a thousand CRDs, once per registry change): off the workers.
            let merged = tokio::task::spawn_blocking(move || served.v2_document(builtin))
                .await
                .ok()
                .flatten();
            return openapi_v2::serve(
                &state.openapi,
                merged.as_deref(),
                req.method(),
                req.headers(),
            );
        }
        "/openapi/v3" | "/openapi/v3/" => {
            let served = state.store.registry().snapshot();
            return json_response(
                StatusCode::OK,
                &state.openapi.v3_index_with(served.v3_documents()),
            );
        }
        p if p.starts_with("/openapi/v3/") => {
            let gv = p.trim_start_matches("/openapi/v3/").trim_end_matches('/');
            let served = state.store.registry().snapshot();
            let doc = match state.openapi.v3_document(gv) {
                Some(d) => Some(d),
                None => served
                    .v3_documents()
                    .get(gv)
                    .map(|d| (d.json.as_str(), d.hash.as_str())),
            };
            return match doc {
                Some((doc, hash)) => {
                    let mut r =
                        bytes_response(StatusCode::OK, doc.as_bytes().to_vec(), "application/json");
                    if let Ok(v) = HeaderValue::from_str(&format!("\"{hash}\"")) {
                        r.headers_mut().insert(header::ETAG, v);
                    }
                    if query.get("hash") == Some(hash) {
                        r.headers_mut().insert(
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, immutable"),
                        );
                    }
                    r
                }
                None => error_response(&ApiError::path_not_found()),
            };
        }
        _ => {}
    }
    #[cfg(test)]
    if path == "/__test/panic" {
        panic!("a test-only route that panics");
    }
    let watch = query.flag("watch");
    let served = state.store.registry().snapshot();
    let route = match request::parse(req.method(), &path, watch, &served) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let class = filters::Class::of(&route, req.method());
    let heavy = filters::is_heavy(class, req.headers());
    let admitted = match filters.admit_request(class, &user, query.get("timeout")) {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    admitted
        .run(heavy, req, |req| {
            handlers::handle(state, route, query, user, req)
        })
        .await
}

/// The OpenID provider configuration of the service-account issuer
/// (`pkg/serviceaccount/openidmetadata.go`).
fn openid_configuration(state: &AppState) -> Value {
    json!({
        "issuer": auth::satokens::DEFAULT_ISSUER,
        "jwks_uri": format!("https://{}/openid/v1/jwks", state.server_address),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    })
}

fn openid_response(body: Value, content_type: &str) -> Response {
    let mut r = bytes_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
        content_type,
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = Query::parse(Some("labelSelector=app%3Dnginx%2Ctier+in+(a)&watch=1&x"));
        assert_eq!(q.get("labelSelector"), Some("app=nginx,tier in (a)"));
        assert!(q.flag("watch"));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
