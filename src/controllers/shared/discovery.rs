//! What the controllers know about served resources: aggregated discovery
//! read through the API, as client-go's discovery client and RESTMapper give
//! it to kube-controller-manager's garbage collector and namespace
//! controller. Nothing here reads the server's own resource table, so
//! resources that appear and vanish at run time (custom resources) are seen
//! as upstream's controllers see them.
//!
//! One re-check is two requests (`/api` and `/apis` with
//! `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`),
//! each sent with the previous answer's `ETag` in `If-None-Match`, so an
//! unchanged set costs a `304` where the server supports it (upstream does).
//! Upstream: `staging/src/k8s.io/client-go/discovery/aggregated_discovery.go`
//! (conversion, preferred version = first non-stale version) and
//! `staging/src/k8s.io/apimachinery/pkg/api/meta/restmapper.go` (a kind in an
//! explicit version maps only to that version).

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, Request, StatusCode, header};
use kube::api::{Api, DynamicObject};
use kube::client::Body;
use kube::core::ApiResource;
use kube::core::discovery::v2::{APIGroupDiscovery, APIGroupDiscoveryList};

/// The `Accept` header of an aggregated discovery request (v2 only, as
/// kube-controller-manager's client asks for v2 first).
const ACCEPT_AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// A group, version and resource (plural): the identity of a served resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvr {
    pub group: String,
    pub version: String,
    pub resource: String,
}

impl fmt::Display for Gvr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}/{}", self.version, self.resource)
        } else {
            write!(f, "{}/{}/{}", self.group, self.version, self.resource)
        }
    }
}

/// One discovered top-level resource (subresources are not resources here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub verbs: Vec<String>,
    /// In its group's preferred version (the first non-stale one).
    pub preferred: bool,
}

impl DiscoveredResource {
    pub fn gvr(&self) -> Gvr {
        Gvr {
            group: self.group.clone(),
            version: self.version.clone(),
            resource: self.plural.clone(),
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// Does discovery list every one of `verbs`?
    pub fn supports_all(&self, verbs: &[&str]) -> bool {
        verbs.iter().all(|v| self.verbs.iter().any(|x| x == v))
    }

    /// A dynamic client for this resource; `namespace` is used only for a
    /// namespaced resource (`None` there means all namespaces).
    pub fn api(&self, client: &kube::Client, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = self.api_resource();
        match (self.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        }
    }
}

/// Every served resource, in discovery order, with a RESTMapper-like lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    resources: Vec<Arc<DiscoveredResource>>,
}

/// Splits an `apiVersion` as upstream's `schema.ParseGroupVersion`: `v1` is
/// the core group, `apps/v1` a named one, more slashes are invalid.
fn parse_group_version(api_version: &str) -> Option<(&str, &str)> {
    match api_version.split_once('/') {
        None => Some(("", api_version)),
        Some((g, v)) if !v.contains('/') => Some((g, v)),
        Some(_) => None,
    }
}

impl Discovery {
    /// Builds the set from aggregated discovery answers: `core` from `/api`
    /// (its groups are the core group, whatever their name), `groups` from
    /// `/apis`. Stale versions (an unavailable aggregated API) are left out,
    /// as client-go reports them as failed group versions.
    pub fn from_aggregated(core: &APIGroupDiscoveryList, groups: &APIGroupDiscoveryList) -> Self {
        let mut resources = Vec::new();
        for g in &core.items {
            add_group(&mut resources, "", g);
        }
        for g in &groups.items {
            let name = g
                .metadata
                .as_ref()
                .and_then(|m| m.name.as_deref())
                .unwrap_or("");
            if !name.is_empty() {
                add_group(&mut resources, name, g);
            }
        }
        Discovery { resources }
    }

    /// Every served resource in every version.
    pub fn all(&self) -> impl Iterator<Item = &Arc<DiscoveredResource>> {
        self.resources.iter()
    }

    /// The resources of each group's preferred version, as client-go's
    /// `ServerPreferredResources`.
    pub fn preferred(&self) -> impl Iterator<Item = &Arc<DiscoveredResource>> {
        self.resources.iter().filter(|r| r.preferred)
    }

    /// The resource serving `kind` in exactly `api_version`, as a discovery
    /// RESTMapper asked for `RESTMapping(groupKind, version)`: `None` when
    /// that version does not serve the kind (upstream's `NoKindMatchError`;
    /// no other version is tried). As upstream's `NewDiscoveryRESTMapper`,
    /// the kind also matches in lower case, and `<Kind>List` maps to the
    /// guessed resource `<kind>lists` (which is never found).
    pub fn resource_for(&self, api_version: &str, kind: &str) -> Option<Arc<DiscoveredResource>> {
        let (group, version) = parse_group_version(api_version)?;
        let in_version = || {
            self.resources
                .iter()
                .filter(move |r| r.group == group && r.version == version)
        };
        if let Some(r) = in_version().find(|r| r.kind == kind) {
            return Some(r.clone());
        }
        if let Some(r) = in_version().find(|r| r.kind.to_lowercase() == kind) {
            return Some(r.clone());
        }
        let listed = kind.strip_suffix("List")?;
        let r = in_version().find(|r| r.kind == listed)?;
        Some(Arc::new(DiscoveredResource {
            kind: kind.to_string(),
            plural: guess_resource(kind),
            verbs: Vec::new(),
            ..(**r).clone()
        }))
    }
}

/// Upstream's `meta.UnsafeGuessKindToResource`: the plural guessed from a
/// kind.
fn guess_resource(kind: &str) -> String {
    let lower = kind.to_lowercase();
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

fn add_group(out: &mut Vec<Arc<DiscoveredResource>>, group: &str, g: &APIGroupDiscovery) {
    let mut preferred_taken = false;
    for v in &g.versions {
        let Some(version) = v.version.as_deref().filter(|v| !v.is_empty()) else {
            continue;
        };
        if v.freshness.as_deref() == Some("Stale") {
            continue;
        }
        let preferred = !preferred_taken;
        preferred_taken = true;
        for r in &v.resources {
            let Some(plural) = r
                .resource
                .as_deref()
                .filter(|p| !p.is_empty() && !p.contains('/'))
            else {
                continue;
            };
            let Some(kind) = r
                .response_kind
                .as_ref()
                .and_then(|k| k.kind.as_deref())
                .filter(|k| !k.is_empty())
            else {
                continue;
            };
            let namespaced = match r.scope.as_deref() {
                Some("Namespaced") => true,
                Some("Cluster") => false,
                _ => continue,
            };
            out.push(Arc::new(DiscoveredResource {
                group: group.to_string(),
                version: version.to_string(),
                kind: kind.to_string(),
                plural: plural.to_string(),
                namespaced,
                verbs: r.verbs.clone(),
                preferred,
            }));
        }
    }
}

/// Asks the API for the served resources, remembering the last answers
/// and their `ETag`s so an unchanged answer can be a `304`.
pub struct DiscoveryClient {
    client: kube::Client,
    core: Option<(APIGroupDiscoveryList, Option<String>)>,
    groups: Option<(APIGroupDiscoveryList, Option<String>)>,
}

impl DiscoveryClient {
    pub fn new(client: kube::Client) -> Self {
        DiscoveryClient {
            client,
            core: None,
            groups: None,
        }
    }

    /// The served resources now (two requests).
    pub async fn discover(&mut self) -> Result<Discovery, DiscoveryError> {
        self.fetch().await?;
        Ok(self.current())
    }

    /// The served resources if either answer changed since the last call,
    /// `None` if both were `304 Not Modified`.
    pub async fn refresh(&mut self) -> Result<Option<Discovery>, DiscoveryError> {
        if self.fetch().await? {
            Ok(Some(self.current()))
        } else {
            Ok(None)
        }
    }

    fn current(&self) -> Discovery {
        match (&self.core, &self.groups) {
            (Some((core, _)), Some((groups, _))) => Discovery::from_aggregated(core, groups),
            _ => Discovery::default(),
        }
    }

    /// Whether anything changed.
    async fn fetch(&mut self) -> Result<bool, DiscoveryError> {
        let core = fetch_one(&self.client, "/api", &mut self.core).await?;
        let groups = fetch_one(&self.client, "/apis", &mut self.groups).await?;
        Ok(core || groups)
    }
}

/// Fetches `path` into `cache`; whether the answer changed.
async fn fetch_one(
    client: &kube::Client,
    path: &str,
    cache: &mut Option<(APIGroupDiscoveryList, Option<String>)>,
) -> Result<bool, DiscoveryError> {
    let etag = cache.as_ref().and_then(|(_, t)| t.as_deref());
    match get_aggregated(client, path, etag).await? {
        // A 304 without a cached answer cannot happen: no ETag was sent.
        Fetched::NotModified => Ok(cache.is_none()),
        Fetched::Body(list, tag) => {
            let changed = cache.as_ref().is_none_or(|(old, _)| *old != list);
            *cache = Some((list, tag));
            Ok(changed)
        }
    }
}

/// A failed discovery request.
#[derive(Debug)]
pub enum DiscoveryError {
    Client(kube::Error),
    Status(StatusCode),
    Decode(serde_json::Error),
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Client(e) => write!(f, "discovery request failed: {e}"),
            DiscoveryError::Status(s) => write!(f, "discovery answered {s}"),
            DiscoveryError::Decode(e) => write!(f, "discovery answer undecodable: {e}"),
        }
    }
}

impl std::error::Error for DiscoveryError {}

enum Fetched {
    NotModified,
    Body(APIGroupDiscoveryList, Option<String>),
}

async fn get_aggregated(
    client: &kube::Client,
    path: &str,
    etag: Option<&str>,
) -> Result<Fetched, DiscoveryError> {
    let mut req = Request::get(path)
        .header(header::ACCEPT, ACCEPT_AGGREGATED)
        .body(Body::empty())
        .map_err(|e| DiscoveryError::Client(kube::Error::HttpError(e)))?;
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
        req.headers_mut().insert(header::IF_NONE_MATCH, tag);
    }
    let res = client.send(req).await.map_err(DiscoveryError::Client)?;
    let status = res.status();
    if status == StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(DiscoveryError::Status(status));
    }
    let tag = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = res
        .into_body()
        .collect_bytes()
        .await
        .map_err(DiscoveryError::Client)?;
    let list = serde_json::from_slice(&bytes).map_err(DiscoveryError::Decode)?;
    Ok(Fetched::Body(list, tag))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list(v: serde_json::Value) -> APIGroupDiscoveryList {
        serde_json::from_value(v).unwrap()
    }

    fn res(plural: &str, kind: &str, scope: &str, verbs: &[&str]) -> serde_json::Value {
        json!({"resource": plural, "responseKind": {"group": "", "version": "", "kind": kind},
               "scope": scope, "verbs": verbs})
    }

    /// Shaped as upstream v1.36's answers (responseKind's group and version
    /// are empty, the core group has no name).
    fn sample() -> Discovery {
        let core = list(
            json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": [{"metadata": {}, "versions": [{"version": "v1", "resources": [
                res("bindings", "Binding", "Namespaced", &["create"]),
                res("configmaps", "ConfigMap", "Namespaced", &["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]),
                res("namespaces", "Namespace", "Cluster", &["create", "delete", "get", "list", "patch", "update", "watch"]),
            ], "freshness": "Current"}]}]}),
        );
        let groups = list(json!({"items": [
            {"metadata": {"name": "autoscaling"}, "versions": [
                {"version": "v2", "resources": [res("horizontalpodautoscalers", "HorizontalPodAutoscaler", "Namespaced", &["get", "list", "watch", "delete"])], "freshness": "Current"},
                {"version": "v1", "resources": [res("horizontalpodautoscalers", "HorizontalPodAutoscaler", "Namespaced", &["get", "list", "watch", "delete"])], "freshness": "Current"}]},
            {"metadata": {"name": "stale.example.com"}, "versions": [
                {"version": "v2", "resources": [res("things", "Thing", "Namespaced", &["list"])], "freshness": "Stale"},
                {"version": "v1", "resources": [res("things", "Thing", "Namespaced", &["list"]),
                    {"resource": "noscope", "responseKind": {"kind": "X"}, "verbs": ["list"]},
                    {"resource": "nokind", "scope": "Cluster", "verbs": ["list"]},
                    res("things/status", "Thing", "Namespaced", &["get"])]}]},
            {"metadata": {}, "versions": [{"version": "v1", "resources": [res("anon", "Anon", "Cluster", &["list"])]}]}
        ]}));
        Discovery::from_aggregated(&core, &groups)
    }

    fn names(it: impl Iterator<Item = String>) -> Vec<String> {
        it.collect()
    }

    #[test]
    fn conversion_keeps_every_version_and_marks_the_preferred() {
        let d = sample();
        assert_eq!(
            names(d.all().map(|r| r.gvr().to_string())),
            [
                "v1/bindings",
                "v1/configmaps",
                "v1/namespaces",
                "autoscaling/v2/horizontalpodautoscalers",
                "autoscaling/v1/horizontalpodautoscalers",
                "stale.example.com/v1/things",
            ]
        );
        // The first non-stale version is preferred.
        assert_eq!(
            names(d.preferred().map(|r| r.gvr().to_string())),
            [
                "v1/bindings",
                "v1/configmaps",
                "v1/namespaces",
                "autoscaling/v2/horizontalpodautoscalers",
                "stale.example.com/v1/things",
            ]
        );
        let ns = d.resource_for("v1", "Namespace").unwrap();
        assert!(!ns.namespaced);
        assert!(ns.supports_all(&["list", "delete"]));
        assert!(!ns.supports_all(&["list", "deletecollection"]));
        let ar = d.resource_for("v1", "ConfigMap").unwrap().api_resource();
        assert_eq!(
            (
                ar.group.as_str(),
                ar.api_version.as_str(),
                ar.plural.as_str()
            ),
            ("", "v1", "configmaps")
        );
    }

    #[test]
    fn kinds_map_only_in_their_exact_version() {
        let d = sample();
        let hpa = d
            .resource_for("autoscaling/v1", "HorizontalPodAutoscaler")
            .unwrap();
        assert_eq!(hpa.api_version(), "autoscaling/v1");
        assert!(!hpa.preferred);
        assert!(
            d.resource_for("autoscaling/v2", "HorizontalPodAutoscaler")
                .unwrap()
                .preferred
        );
        assert!(
            d.resource_for("autoscaling/v3", "HorizontalPodAutoscaler")
                .is_none()
        );
        assert!(d.resource_for("stale.example.com/v2", "Thing").is_none());
        // Lower case maps too, other spellings do not (upstream's
        // NewDiscoveryRESTMapper registers the kind and its lower case).
        assert_eq!(
            d.resource_for("v1", "configmap").unwrap().plural,
            "configmaps"
        );
        assert!(d.resource_for("v1", "configMap").is_none());
        // `<Kind>List` maps to a guessed resource, as upstream.
        let l = d.resource_for("v1", "ConfigMapList").unwrap();
        assert_eq!(
            (l.kind.as_str(), l.plural.as_str()),
            ("ConfigMapList", "configmaplists")
        );
        assert!(l.namespaced);
        assert!(d.resource_for("v1", "SecretList").is_none());
        assert!(d.resource_for("apps/v1", "ConfigMap").is_none());
        assert!(d.resource_for("a/b/c", "ConfigMap").is_none());
        assert!(d.resource_for("", "ConfigMap").is_none());
    }

    #[test]
    fn guessed_resources_follow_upstream() {
        assert_eq!(guess_resource("ConfigMapList"), "configmaplists");
        assert_eq!(guess_resource("Ingress"), "ingresses");
        assert_eq!(guess_resource("NetworkPolicy"), "networkpolicies");
    }

    #[test]
    fn an_answer_that_is_not_aggregated_discovery_serves_nothing() {
        // A server without aggregated discovery answers `APIVersions`.
        let core = list(json!({"kind": "APIVersions", "versions": ["v1"]}));
        let d = Discovery::from_aggregated(&core, &core);
        assert_eq!(d.all().count(), 0);
        assert_eq!(d, Discovery::default());
    }
}
