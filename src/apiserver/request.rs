//! Turns a request path and method into what it asks for, as upstream's
//! `apiserver/pkg/endpoints/request/requestinfo.go` does.

use crate::apimachinery::status::ApiError;
use std::sync::Arc;

use crate::registry::served::{Resource, Served};

/// The verbs of the Kubernetes API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

impl Verb {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        }
    }
}

/// A request for a resource.
#[derive(Debug, Clone)]
pub struct ResourceRequest {
    /// Held for the whole request: a resource removed meanwhile stays valid.
    pub res: Arc<Resource>,
    pub verb: Verb,
    /// The namespace in the path (None = cluster-scoped or all namespaces).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path addresses.
#[derive(Debug, Clone)]
pub enum Route {
    /// `/api`
    LegacyGroups,
    /// `/apis`
    Groups,
    /// `/apis/{group}`
    Group(String),
    /// `/api/v1` or `/apis/{group}/{version}`
    GroupVersion(String, String),
    Resource(ResourceRequest),
}

/// Splits `/api/v1/...` or `/apis/{g}/{v}/...`.
pub fn parse(
    method: &http::Method,
    path: &str,
    watch_param: bool,
    served: &Served,
) -> Result<Route, ApiError> {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api"] => return Ok(Route::LegacyGroups),
        ["apis"] => return Ok(Route::Groups),
        ["apis", g] => return Ok(Route::Group((*g).to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    if rest.is_empty() {
        return Ok(Route::GroupVersion(group.to_string(), version.to_string()));
    }
    let mut rest = rest;
    // Deprecated `/watch/` paths are watches.
    let mut watch = watch_param;
    if rest.first() == Some(&"watch") {
        watch = true;
        rest = &rest[1..];
    }
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        namespace = Some(rest[1].to_string());
        if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
            rest = &rest[2..];
        }
    }
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Err(ApiError::path_not_found()),
    };
    let res = served
        .find(group, version, plural)
        .ok_or_else(ApiError::path_not_found)?;
    // `/namespaces/{name}[/sub]` addresses the namespace itself.
    let (namespace, name) = if res.plural == "namespaces" && rest.first() == Some(&"namespaces") {
        (None, namespace.or(name.map(str::to_string)))
    } else {
        (namespace, name.map(str::to_string))
    };
    if res.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::path_not_found());
    }
    if !res.namespaced && namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    if let Some(s) = sub
        && res.subresource(s).is_none()
    {
        return Err(ApiError::path_not_found());
    }
    let verb = match (method.as_str(), name.is_some()) {
        ("GET" | "HEAD", false) if watch => Verb::Watch,
        ("GET" | "HEAD", false) => Verb::List,
        ("GET" | "HEAD", true) if watch => Verb::Watch,
        ("GET" | "HEAD", true) => Verb::Get,
        ("POST", false) => Verb::Create,
        ("POST", true) if sub.is_some() => Verb::Create,
        ("PUT", true) => Verb::Update,
        ("PATCH", true) => Verb::Patch,
        ("DELETE", true) => Verb::Delete,
        ("DELETE", false) => Verb::DeleteCollection,
        _ => return Err(ApiError::method_not_allowed()),
    };
    let allowed = match sub.and_then(|s| res.subresource(s)) {
        Some(s) => &s.verbs,
        None => &res.verbs,
    };
    if !allowed.iter().any(|v| v == verb.as_str()) {
        return Err(ApiError::method_not_allowed());
    }
    Ok(Route::Resource(ResourceRequest {
        res: res.clone(),
        verb,
        namespace,
        name,
        subresource: sub.map(str::to_string),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::Method;

    fn parse(m: &Method, p: &str, watch: bool) -> Result<Route, ApiError> {
        let reg = crate::registry::served::Registry::builtin();
        super::parse(m, p, watch, &reg.snapshot())
    }

    fn rr(m: Method, p: &str) -> ResourceRequest {
        match parse(&m, p, false).unwrap() {
            Route::Resource(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn paths() {
        let r = rr(Method::GET, "/api/v1/namespaces/default/pods/nginx");
        assert_eq!(
            (
                r.res.plural.as_str(),
                r.verb,
                r.namespace.as_deref(),
                r.name.as_deref()
            ),
            ("pods", Verb::Get, Some("default"), Some("nginx"))
        );
        let r = rr(Method::GET, "/api/v1/pods");
        assert_eq!((r.verb, r.namespace), (Verb::List, None));
        let r = rr(Method::PUT, "/api/v1/namespaces/foo/status");
        assert_eq!(
            (
                r.res.plural.as_str(),
                r.name.as_deref(),
                r.subresource.as_deref()
            ),
            ("namespaces", Some("foo"), Some("status"))
        );
        let r = rr(Method::GET, "/api/v1/namespaces/foo");
        assert_eq!(
            (r.res.plural.as_str(), r.name.as_deref(), r.namespace),
            ("namespaces", Some("foo"), None)
        );
        let r = rr(
            Method::PATCH,
            "/apis/apps/v1/namespaces/d/deployments/web/scale",
        );
        assert_eq!(
            (r.verb, r.subresource.as_deref()),
            (Verb::Patch, Some("scale"))
        );
        let r = rr(Method::GET, "/api/v1/watch/namespaces/d/pods");
        assert_eq!(r.verb, Verb::Watch);
        let r = rr(Method::DELETE, "/api/v1/namespaces/d/configmaps");
        assert_eq!(r.verb, Verb::DeleteCollection);
        assert_eq!(
            parse(&Method::GET, "/api/v1/nopes", false)
                .unwrap_err()
                .code,
            404
        );
        assert_eq!(
            parse(&Method::PUT, "/api/v1/namespaces/d/pods", false)
                .unwrap_err()
                .code,
            405
        );
        assert_eq!(
            parse(&Method::GET, "/api/v1/namespaces/d/pods/x/log", false)
                .unwrap_err()
                .code,
            404
        );
    }
}
