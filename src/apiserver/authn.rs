//! The authentication endpoints and the request authenticator chain: client
//! certificates (`auth::x509`), static tokens, then service-account JWTs
//! (checked against the live ServiceAccount, Secret and Pod, as upstream's
//! `serviceaccount/validator.go`),
//! `serviceaccounts/{name}/token` (TokenRequest), `selfsubjectreviews`
//! (`kubectl auth whoami`) and `tokenreviews`.
//! Upstream: `pkg/registry/core/serviceaccount/storage/token.go`,
//! `pkg/registry/authentication/{selfsubjectreview,tokenreview}`.

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use super::AppState;
use crate::apimachinery::status::ApiError;
use crate::auth::UserInfo;
use crate::auth::satokens::{self, BoundObject, LiveObjects, ObjectRef};
use crate::auth::x509::PeerCert;

/// The audiences API tokens are issued for and accepted with.
fn api_audiences() -> Vec<String> {
    vec![satokens::DEFAULT_ISSUER.to_string()]
}

fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// True if the request carries a non-empty bearer token: one that does
/// not verify is then a 401, not an anonymous request (upstream's
/// `bearertoken.go` ignores other schemes and empty tokens).
pub fn has_bearer_token(header: Option<&str>) -> bool {
    bearer(header).is_some_and(|t| !t.is_empty())
}

/// Who sent the request, if anyone we know: its connection's client
/// certificate, then its bearer token (upstream's union order). A client
/// certificate that did not verify authenticates nobody; the token may
/// still do, and without one the answer is `None` (never anonymous).
pub async fn authenticate(
    state: &AppState,
    header: Option<&str>,
    peer: Option<&PeerCert>,
) -> Option<UserInfo> {
    if let Some(peer) = peer {
        match peer.user() {
            Ok(u) => return Some(u.clone()),
            Err(e) => tracing::debug!("client certificate: {e}"),
        }
    }
    if let Some(u) = state.auth.authenticate(header) {
        return Some(u.clone());
    }
    let token = bearer(header)?;
    service_account_user(state, token, None)
        .await
        .ok()
        .map(|(u, _)| u)
}

async fn get(state: &AppState, key: &str, ns: &str, name: &str) -> Option<Value> {
    let res = state.store.registry().by_key(key)?;
    state.store.get(&res, Some(ns), name).await.ok()
}

/// Verifies a service-account token and its live objects.
async fn service_account_user(
    state: &AppState,
    token: &str,
    audiences: Option<&[String]>,
) -> Result<(UserInfo, Vec<String>), String> {
    if token.matches('.').count() != 2 {
        return Err(satokens::ERR_NOT_SERVICE_ACCOUNT_TOKEN.into());
    }
    let now = Utc::now();
    let keys = [state.sa_key.verify_key().clone()];
    let v = satokens::verify_with(
        &keys,
        token,
        &[satokens::DEFAULT_ISSUER],
        &api_audiences(),
        audiences,
        now,
    )?;
    let sa = get(state, "serviceaccounts", &v.namespace, &v.sa_name).await;
    let secret = match &v.secret_name {
        Some(s) => get(state, "secrets", &v.namespace, s).await,
        None => None,
    };
    let pod = match &v.pod {
        Some(p) => get(state, "pods", &v.namespace, &p.name).await,
        None => None,
    };
    let live = LiveObjects {
        service_account: sa.as_ref(),
        secret: secret.as_ref(),
        pod: pod.as_ref(),
        node: None,
    };
    satokens::check_live(&v, token, &live, now).result?;
    let (name, uid, mut groups, extra) = satokens::user_info(&v);
    groups.push("system:authenticated".into());
    let auds = v.audiences.clone();
    Ok((
        UserInfo {
            name,
            uid,
            groups,
            extra,
        },
        auds,
    ))
}

fn user_json(u: &UserInfo) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("username".into(), json!(u.name));
    if !u.uid.is_empty() {
        m.insert("uid".into(), json!(u.uid));
    }
    m.insert("groups".into(), json!(u.groups));
    if !u.extra.is_empty() {
        m.insert("extra".into(), json!(u.extra));
    }
    Value::Object(m)
}

/// `POST /apis/authentication.k8s.io/v1/selfsubjectreviews`.
pub fn self_subject_review(user: &UserInfo) -> Value {
    json!({
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "status": {"userInfo": user_json(user)},
    })
}

/// `POST /apis/authentication.k8s.io/v1/tokenreviews`.
pub async fn token_review(state: &AppState, body: &Value) -> Result<Value, ApiError> {
    let token = body
        .pointer("/spec/token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::invalid(
                "authentication.k8s.io",
                "TokenReview",
                "",
                &[crate::apimachinery::validation::FieldError::required(
                    "spec.token",
                    "",
                )],
            )
        })?;
    let audiences: Option<Vec<String>> = body
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty());
    let header = format!("Bearer {token}");
    let status = if let Some(u) = state.auth.authenticate(Some(&header)) {
        json!({"authenticated": true, "user": user_json(u), "audiences": audiences.clone().unwrap_or_else(api_audiences)})
    } else {
        match service_account_user(state, token, audiences.as_deref()).await {
            Ok((u, auds)) => {
                json!({"authenticated": true, "user": user_json(&u), "audiences": auds})
            }
            Err(e) => json!({"user": {}, "error": format!("[invalid bearer token, {e}]")}),
        }
    };
    let mut spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    if let Some(s) = spec.as_object_mut() {
        s.insert("token".into(), json!(token));
    }
    Ok(json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    }))
}

/// `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token`.
pub async fn token_request(
    state: &AppState,
    ns: &str,
    sa_name: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let sa_res = state
        .store
        .registry()
        .by_key("serviceaccounts")
        .ok_or_else(|| ApiError::internal("no serviceaccounts"))?;
    let sa = state.store.get(&sa_res, Some(ns), sa_name).await?;
    let sa_uid = sa
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let spec = body.get("spec").cloned().unwrap_or_else(|| json!({}));
    let requested = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(satokens::DEFAULT_EXPIRATION_SECONDS);
    if let Err(e) = satokens::validate_expiration(requested) {
        return Err(ApiError {
            code: 422,
            reason: "Invalid",
            message: satokens::token_request_invalid_message(&e),
            details: Some(json!({"group": "authentication.k8s.io", "kind": "TokenRequest"})),
        });
    }
    let audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(api_audiences);
    let mut bound = None;
    if let Some(r) = spec.get("boundObjectRef").filter(|r| !r.is_null()) {
        let kind = r.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = r.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
        let name = r.get("name").and_then(Value::as_str).unwrap_or("");
        let want_uid = r.get("uid").and_then(Value::as_str).unwrap_or("");
        let key = match (api_version, kind) {
            ("v1", "Pod") => "pods",
            ("v1", "Secret") => "secrets",
            _ => {
                return Err(ApiError::bad_request(satokens::msg_cannot_bind_kind(
                    api_version,
                    kind,
                )));
            }
        };
        let obj = get(state, key, ns, name).await.ok_or_else(|| {
            ApiError::not_found(
                &crate::apimachinery::status::GroupResource::new("", key),
                name,
            )
        })?;
        let uid = obj
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !want_uid.is_empty() && want_uid != uid {
            return Err(ApiError::conflict(
                &crate::apimachinery::status::GroupResource::new("", key),
                name,
                &satokens::msg_bound_uid_mismatch(want_uid),
            ));
        }
        if key == "pods" {
            let pod_sa = obj
                .pointer("/spec/serviceAccountName")
                .and_then(Value::as_str)
                .unwrap_or("default");
            if pod_sa != sa_name {
                return Err(ApiError::bad_request(
                    satokens::msg_pod_service_account_mismatch(sa_name),
                ));
            }
            let node = obj
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .map(|n| ObjectRef::new(n, ""));
            bound = Some(BoundObject::Pod {
                pod: ObjectRef::new(name, uid),
                node,
            });
        } else {
            bound = Some(BoundObject::Secret(ObjectRef::new(name, uid)));
        }
    }
    let pod_bound = matches!(bound, Some(BoundObject::Pod { .. }));
    let plan =
        satokens::plan_expiration(requested, 0, true, pod_bound, &audiences, &api_audiences());
    let now = Utc::now();
    let jti = uuid::Uuid::new_v4().to_string();
    let (token, expires) = satokens::bound_token_with(
        &state.sa_key,
        &satokens::BoundTokenSpec {
            issuer: satokens::DEFAULT_ISSUER,
            audiences: &audiences,
            expiration_seconds: plan.token_expiration_seconds,
            warn_after_seconds: plan.warn_after_seconds,
            now,
            namespace: ns,
            sa_name,
            sa_uid: &sa_uid,
            bound_object: bound,
            jti: &jti,
        },
    )
    .map_err(ApiError::internal)?;
    let mut out_spec = spec.clone();
    if let Some(s) = out_spec.as_object_mut() {
        s.insert("audiences".into(), json!(audiences));
        s.insert(
            "expirationSeconds".into(),
            json!(plan.spec_expiration_seconds),
        );
        s.entry("boundObjectRef").or_insert(Value::Null);
    }
    Ok(json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": sa_name, "namespace": ns, "creationTimestamp": null},
        "spec": out_spec,
        "status": {
            "token": token,
            "expirationTimestamp": expires.to_rfc3339_opts(SecondsFormat::Secs, true),
        },
    }))
}
