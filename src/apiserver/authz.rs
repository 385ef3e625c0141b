//! Authorization in the request path: the request's attributes, read from
//! its URL alone as upstream's `RequestInfoFactory` does (so an unknown
//! resource is refused with 403 before it could be answered with 404), and
//! the RBAC policy feed that keeps [`Authorizer`]'s copy of every role and
//! binding current.
//!
//! Upstream: `apiserver/pkg/endpoints/request/requestinfo.go`,
//! `apiserver/pkg/endpoints/filters/authorization.go`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

use super::{AppState, Query};
use crate::apimachinery::status::ApiError;
use crate::auth::authorizer::Authorizer;
use crate::auth::authorizer::{Decision, forbidden};
use crate::auth::rbac::{Attributes, Binding, Policy, PolicyRule};
use crate::storage::{EventType, ListOptions, Storage};

/// The verbs a path may name before the resource (`/api/v1/watch/pods`).
const SPECIAL_VERBS: [&str; 2] = ["proxy", "watch"];

/// `NewRequestInfo`: what a request asks, from its method, path and query
/// (the user is filled in once authenticated). A special verb with nothing
/// after it (`/api/v1/watch`) is an error, which upstream answers with 500.
pub fn request_info(
    method: &http::Method,
    uri: &http::Uri,
    query: &Query,
) -> Result<Attributes, String> {
    let path = uri.path();
    let mut a = Attributes {
        verb: method.as_str().to_ascii_lowercase(),
        path: path.to_string(),
        ..Default::default()
    };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let parts: Vec<&str> = if parts == [""] { Vec::new() } else { parts };
    if parts.len() < 3 || !matches!(parts[0], "api" | "apis") {
        return Ok(a);
    }
    let mut rest = &parts[1..];
    if parts[0] == "apis" {
        if rest.len() < 3 {
            return Ok(a);
        }
        a.api_group = rest[0].to_string();
        rest = &rest[1..];
    }
    a.resource_request = true;
    a.api_version = rest[0].to_string();
    rest = &rest[1..];
    if SPECIAL_VERBS.contains(&rest[0]) {
        if rest.len() < 2 {
            let url = uri.path_and_query().map_or(path, |p| p.as_str());
            return Err(format!(
                "unable to determine kind and namespace from url, {url}"
            ));
        }
        a.verb = rest[0].to_string();
        rest = &rest[1..];
    } else {
        a.verb = match *method {
            http::Method::POST => "create",
            http::Method::GET | http::Method::HEAD => "get",
            http::Method::PUT => "update",
            http::Method::PATCH => "patch",
            http::Method::DELETE => "delete",
            _ => "",
        }
        .to_string();
    }
    if rest[0] == "namespaces" && rest.len() > 1 {
        a.namespace = rest[1].to_string();
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    if rest.len() >= 3 && a.verb != "proxy" {
        a.subresource = rest[2].to_string();
    }
    if rest.len() >= 2 {
        a.name = rest[1].to_string();
    }
    a.resource = rest[0].to_string();
    if a.name.is_empty() && a.verb == "get" {
        let watch = query
            .get("watch")
            .is_some_and(|w| !matches!(w.to_ascii_lowercase().as_str(), "false" | "0"));
        a.verb = if watch { "watch" } else { "list" }.into();
        // A list or watch of one name (`fieldSelector=metadata.name=x`)
        // names it, so `resourceNames` rules can allow it.
        if let Some(sel) = query.get("fieldSelector")
            && let Some(name) = exact_name(sel)
        {
            a.name = name;
        }
    }
    if a.name.is_empty() && a.verb == "delete" {
        a.verb = "deletecollection".into();
    }
    Ok(a)
}

/// `RequiresExactMatch("metadata.name")` of a field selector, if the value
/// is a valid path segment.
fn exact_name(selector: &str) -> Option<String> {
    let mut found = None;
    for term in selector.split(',') {
        let term = term.trim();
        let (k, v) = if let Some((k, v)) = term.split_once("==") {
            (k, v)
        } else if let Some((k, v)) = term.split_once("!=") {
            if k.trim() == "metadata.name" {
                return None;
            }
            let _ = v;
            continue;
        } else if let Some((k, v)) = term.split_once('=') {
            (k, v)
        } else {
            continue;
        };
        if k.trim() == "metadata.name" {
            found = Some(v.trim().to_string());
        }
    }
    found.filter(|n| !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '%']))
}

/// The authorization filter: 403 unless some mode allows. A refusal is
/// checked again once the policy has read every write made before it, so
/// a binding created just before is always seen.
pub async fn require(state: &AppState, attrs: &Attributes) -> Result<(), ApiError> {
    if state.authorizer.always_allows() {
        return Ok(());
    }
    let (mut decision, mut reason) = state.authorizer.authorize(attrs);
    if decision == Decision::NoOpinion && state.policy.catch_up().await {
        (decision, reason) = state.authorizer.authorize(attrs);
    }
    match decision {
        Decision::Allow => Ok(()),
        _ => Err(forbidden(attrs, &reason)),
    }
}

/// Where the four RBAC kinds are stored (upstream's etcd layout; see
/// `registry::served::etcd_resource_path`).
const RBAC_PREFIXES: [&str; 4] = [
    "/registry/clusterroles/",
    "/registry/clusterrolebindings/",
    "/registry/roles/",
    "/registry/rolebindings/",
];

/// Keeps the authorizer's policy equal to the stored RBAC objects: one
/// list, then every change. It watches the whole key space, not only the
/// RBAC objects, so it knows how far it has read: a request refused while
/// the feed lags behind a write it might depend on waits for the feed
/// (read-your-writes for `kubectl create rolebinding` followed by a request
/// as that subject, which upstream's informer cache does not promise).
pub struct PolicyFeed {
    authorizer: Arc<Authorizer>,
    storage: Arc<dyn Storage>,
    /// Every write up to this revision is in the policy.
    synced: AtomicU64,
    advanced: tokio::sync::Notify,
}

/// How long a refused request waits for the feed to catch up.
const CATCH_UP: Duration = Duration::from_secs(2);

impl PolicyFeed {
    pub fn new(authorizer: Arc<Authorizer>, storage: Arc<dyn Storage>) -> Arc<Self> {
        Arc::new(PolicyFeed {
            authorizer,
            storage,
            synced: AtomicU64::new(0),
            advanced: tokio::sync::Notify::new(),
        })
    }

    /// Loads the policy; then [`PolicyFeed::run`] keeps it current.
    pub async fn load(&self) -> crate::storage::Result<u64> {
        let mut policy = Policy::default();
        // The four lists read one revision: the first one's.
        let mut revision = 0;
        for prefix in RBAC_PREFIXES {
            let opts = ListOptions {
                revision,
                ..ListOptions::default()
            };
            let list = self.storage.list(prefix, &opts).await?;
            revision = list.revision;
            for kv in &list.items {
                if let Ok(v) = serde_json::from_slice::<Value>(&kv.value) {
                    apply(&mut policy, &kv.key, Some(&v));
                }
            }
        }
        self.authorizer.update_policy(|p| *p = policy);
        self.advance(revision);
        Ok(revision)
    }

    fn advance(&self, revision: u64) {
        self.synced.fetch_max(revision, Ordering::AcqRel);
        self.advanced.notify_waiters();
    }

    /// Follows every change until the store closes; relists if it falls
    /// behind.
    pub async fn run(self: Arc<Self>, mut from: u64) {
        loop {
            let mut stream = match self.storage.watch("", from) {
                Ok(s) => s,
                Err(_) => match self.load().await {
                    Ok(r) => {
                        from = r;
                        continue;
                    }
                    Err(crate::storage::StorageError::Closed) => return,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                },
            };
            let mut lost = false;
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(ev) => {
                        if RBAC_PREFIXES.iter().any(|p| ev.key.starts_with(p)) {
                            let v = match ev.event_type {
                                EventType::Deleted => None,
                                _ => serde_json::from_slice::<Value>(&ev.value).ok(),
                            };
                            self.authorizer
                                .update_policy(|p| apply(p, &ev.key, v.as_ref()));
                        }
                        from = ev.revision;
                        self.advance(ev.revision);
                    }
                    Err(_) => {
                        lost = true;
                        break;
                    }
                }
            }
            if !lost {
                return;
            }
            match self.load().await {
                Ok(r) => from = r,
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// Waits until every write the store had made when this was called is
    /// in the policy (or a bound passes). True if anything new was read.
    pub async fn catch_up(&self) -> bool {
        let target = self.storage.current_revision();
        let start = self.synced.load(Ordering::Acquire);
        if start >= target {
            return false;
        }
        let wait = async {
            loop {
                let notified = self.advanced.notified();
                if self.synced.load(Ordering::Acquire) >= target {
                    return;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(CATCH_UP, wait).await;
        true
    }
}

/// Puts one stored object into (or, with `None`, takes it out of) the
/// policy, by its key: `/registry/<resource>/[<namespace>/]<name>`.
fn apply(p: &mut Policy, key: &str, obj: Option<&Value>) {
    let Some(rest) = key.strip_prefix("/registry/") else {
        return;
    };
    let mut it = rest.splitn(3, '/');
    let (Some(resource), Some(a), b) = (it.next(), it.next(), it.next()) else {
        return;
    };
    let rules = |o: &Value| Arc::new(PolicyRule::list_of(o));
    match (resource, b) {
        ("clusterroles", None) => match obj {
            Some(o) => {
                p.cluster_roles.insert(a.to_string(), rules(o));
            }
            None => {
                p.cluster_roles.remove(a);
            }
        },
        ("clusterrolebindings", None) => match obj {
            Some(o) => {
                p.cluster_role_bindings
                    .insert(a.to_string(), Arc::new(Binding::from_json(o)));
            }
            None => {
                p.cluster_role_bindings.remove(a);
            }
        },
        ("roles", Some(name)) => match obj {
            Some(o) => {
                p.roles.insert((a.to_string(), name.to_string()), rules(o));
            }
            None => {
                p.roles.remove(&(a.to_string(), name.to_string()));
            }
        },
        ("rolebindings", Some(name)) => match obj {
            Some(o) => {
                let mut b = Binding::from_json(o);
                b.namespace = a.to_string();
                p.role_bindings
                    .entry(a.to_string())
                    .or_default()
                    .insert(name.to_string(), Arc::new(b));
            }
            None => {
                if let Some(m) = p.role_bindings.get_mut(a) {
                    m.remove(name);
                    if m.is_empty() {
                        p.role_bindings.remove(a);
                    }
                }
            }
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn attrs(method: Method, url: &str) -> Attributes {
        let (path, q) = url.split_once('?').unwrap_or((url, ""));
        let uri: http::Uri = url.parse().unwrap();
        let _ = path;
        request_info(&method, &uri, &Query::parse(Some(q))).unwrap()
    }

    type Shape<'a> = (
        bool,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
        &'a str,
    );

    fn shape(a: &Attributes) -> Shape<'_> {
        (
            a.resource_request,
            a.verb.as_str(),
            a.api_group.as_str(),
            a.api_version.as_str(),
            a.namespace.as_str(),
            a.resource.as_str(),
            a.subresource.as_str(),
            a.name.as_str(),
        )
    }

    // Upstream's requestinfo_test.go TestGetAPIRequestInfo cases.
    #[test]
    fn request_info_cases() {
        let cases: Vec<(Method, &str, Shape<'static>)> = vec![
            (
                Method::GET,
                "/api/v1/namespaces",
                (true, "list", "", "v1", "", "namespaces", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other",
                (true, "get", "", "v1", "other", "namespaces", "", "other"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods",
                (true, "list", "", "v1", "other", "pods", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods/foo",
                (true, "get", "", "v1", "other", "pods", "", "foo"),
            ),
            (
                Method::HEAD,
                "/api/v1/namespaces/other/pods/foo",
                (true, "get", "", "v1", "other", "pods", "", "foo"),
            ),
            (
                Method::GET,
                "/api/v1/pods",
                (true, "list", "", "v1", "", "pods", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/other/pods/foo/log",
                (true, "get", "", "v1", "other", "pods", "log", "foo"),
            ),
            (
                Method::GET,
                "/api/v1/watch/pods",
                (true, "watch", "", "v1", "", "pods", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/pods?watch=true",
                (true, "watch", "", "v1", "", "pods", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/pods?watch=false",
                (true, "list", "", "v1", "", "pods", "", ""),
            ),
            (
                Method::GET,
                "/api/v1/watch/namespaces/other/pods",
                (true, "watch", "", "v1", "other", "pods", "", ""),
            ),
            (
                Method::POST,
                "/api/v1/namespaces/other/pods",
                (true, "create", "", "v1", "other", "pods", "", ""),
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/other/pods/foo",
                (true, "update", "", "v1", "other", "pods", "", "foo"),
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/other/pods/foo",
                (true, "delete", "", "v1", "other", "pods", "", "foo"),
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/other/pods",
                (true, "deletecollection", "", "v1", "other", "pods", "", ""),
            ),
            (
                Method::PATCH,
                "/apis/apps/v1/namespaces/n/deployments/d/scale",
                (
                    true,
                    "patch",
                    "apps",
                    "v1",
                    "n",
                    "deployments",
                    "scale",
                    "d",
                ),
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/n/finalize",
                (true, "update", "", "v1", "n", "namespaces", "finalize", "n"),
            ),
            (
                Method::PUT,
                "/api/v1/namespaces/n/status",
                (true, "update", "", "v1", "n", "namespaces", "status", "n"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/n/pods?fieldSelector=metadata.name%3Dp1",
                (true, "list", "", "v1", "n", "pods", "", "p1"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/n/pods?watch=1&fieldSelector=metadata.name%3D%3Dp1",
                (true, "watch", "", "v1", "n", "pods", "", "p1"),
            ),
            (
                Method::GET,
                "/api/v1/namespaces/n/pods?fieldSelector=metadata.name!%3Dp1",
                (true, "list", "", "v1", "n", "pods", "", ""),
            ),
            (
                Method::POST,
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                (
                    true,
                    "create",
                    "authorization.k8s.io",
                    "v1",
                    "",
                    "selfsubjectaccessreviews",
                    "",
                    "",
                ),
            ),
            (
                Method::GET,
                "/api/v1/proxy/namespaces/n/pods/p/x/y",
                (true, "proxy", "", "v1", "n", "pods", "", "p"),
            ),
        ];
        for (m, url, want) in cases {
            assert_eq!(shape(&attrs(m, url)), want, "{url}");
        }
    }

    #[test]
    fn non_resource_paths() {
        for (m, url, verb) in [
            (Method::GET, "/api", "get"),
            (Method::GET, "/api/v1", "get"),
            (Method::GET, "/apis", "get"),
            (Method::GET, "/apis/apps", "get"),
            (Method::GET, "/apis/apps/v1", "get"),
            (Method::GET, "/healthz", "get"),
            (Method::POST, "/openapi/v2", "post"),
            (Method::GET, "/", "get"),
        ] {
            let a = attrs(m, url);
            assert!(!a.resource_request, "{url}");
            assert_eq!(a.verb, verb);
            assert_eq!(a.path, url);
        }
    }

    #[test]
    fn a_bare_special_verb_is_an_error() {
        assert_eq!(
            request_info(
                &Method::GET,
                &"/api/v1/watch?a=b".parse().unwrap(),
                &Query::parse(Some("a=b"))
            ),
            Err("unable to determine kind and namespace from url, /api/v1/watch?a=b".into())
        );
    }

    #[test]
    fn the_policy_follows_keys() {
        let mut p = Policy::default();
        let role = serde_json::json!({"metadata": {"name": "r", "namespace": "ns"}, "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]});
        apply(&mut p, "/registry/roles/ns/r", Some(&role));
        assert_eq!(p.roles.len(), 1);
        let rb = serde_json::json!({"metadata": {"name": "b"}, "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "User", "name": "u"}]});
        apply(&mut p, "/registry/rolebindings/ns/b", Some(&rb));
        assert_eq!(p.role_bindings["ns"]["b"].namespace, "ns");
        apply(&mut p, "/registry/rolebindings/ns/b", None);
        assert!(p.role_bindings.is_empty());
        apply(&mut p, "/registry/clusterroles/c", Some(&role));
        apply(&mut p, "/registry/clusterroles/c", None);
        assert!(p.cluster_roles.is_empty());
    }
}
