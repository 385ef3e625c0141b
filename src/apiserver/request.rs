//! Turns a request path and method into what it asks for, as upstream's
//! `apiserver/pkg/endpoints/request/requestinfo.go` does.

use crate::apimachinery::status::ApiError;
use std::sync::Arc;

use crate::registry::handler::SubresourceHandler;
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
    /// The registered subresource the path names (`pods/{name}/binding`).
    pub subresource: Option<SubresourceHandler>,
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
    let mut watch_path = false;
    if rest.first() == Some(&"watch") {
        watch_path = true;
        rest = &rest[1..];
    }
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        namespace = Some(rest[1].to_string());
        // `/namespaces/{name}/{sub}` addresses a subresource of the
        // namespace when the namespaces resource registers `{sub}`
        // (upstream's `namespaceSubresources` in requestinfo.go: status,
        // finalize); anything else is a resource in the namespace.
        if rest.len() > 2 && !is_namespace_subresource(served, rest[2]) {
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
    // The path's subresource resolved against the registered ones.
    // Upstream's routes have none for an unregistered name (404); a custom
    // resource's handler answers that the object is not found
    // (apiextensions-apiserver `pkg/apiserver/customresource_handler.go`).
    let subresource = match sub {
        None => None,
        Some(s) => match res.subresource(s) {
            Some(info) => Some(info),
            None if res.custom.is_some() => {
                return Err(ApiError::not_found(
                    &res.group_resource(),
                    name.as_deref().unwrap_or(""),
                ));
            }
            None => return Err(ApiError::path_not_found()),
        },
    };
    // `?watch=` is a parameter of lists and objects; a subresource's GET
    // ignores it. Only the `/watch/` path asks a subresource to watch.
    let watch = watch_path || (watch_param && subresource.is_none());
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
        _ => {
            let named = name.is_some();
            return Err(verb_not_served(
                res,
                None,
                named,
                subresource.is_some(),
                watch_path,
            ));
        }
    };
    let served_verb = match subresource {
        Some(s) => s.handler.verbs().contains(&verb.as_str()),
        None => res.has_verb(verb.as_str()),
    };
    if !served_verb {
        let named = name.is_some();
        return Err(verb_not_served(
            res,
            Some(verb),
            named,
            subresource.is_some(),
            watch_path,
        ));
    }
    Ok(Route::Resource(ResourceRequest {
        res: res.clone(),
        verb,
        namespace,
        name,
        subresource: subresource.map(|s| s.handler),
    }))
}

/// Whether the namespaces resource registers `sub` (`/namespaces/{name}/{sub}`).
fn is_namespace_subresource(served: &Served, sub: &str) -> bool {
    served
        .by_key("namespaces")
        .is_some_and(|ns| ns.subresource(sub).is_some())
}

/// Upstream's answer to a verb a resource or subresource does not serve.
/// Built-in resources are go-restful routes: a path with no route at all is
/// 404 (an object path of a create-only resource such as `tokenreviews/x`, a
/// `/watch/` path of a subresource), a method the path has no route for is
/// 405. A custom resource's subresource handler answers
/// `NewMethodNotSupported` (`customresource_handler.go` serveStatus /
/// serveScale).
fn verb_not_served(
    res: &Resource,
    verb: Option<Verb>,
    named: bool,
    subresource: bool,
    watch_path: bool,
) -> ApiError {
    if let (true, Some(verb)) = (subresource, verb)
        && res.custom.is_some()
    {
        return ApiError::method_not_supported(&res.group_resource(), verb.as_str());
    }
    let object_path = ["get", "update", "patch", "delete"]
        .iter()
        .any(|v| res.has_verb(v));
    if (subresource && watch_path) || (named && !subresource && !object_path) {
        return ApiError::path_not_found();
    }
    ApiError::method_not_allowed()
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
            (r.res.plural.as_str(), r.name.as_deref(), r.subresource),
            ("namespaces", Some("foo"), Some(SubresourceHandler::Status))
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
            (r.verb, r.subresource),
            (Verb::Patch, Some(SubresourceHandler::Scale))
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

    #[test]
    fn subresources_resolve_against_the_registered_handlers() {
        let r = rr(Method::PUT, "/api/v1/namespaces/foo/finalize");
        assert_eq!(
            (r.res.plural.as_str(), r.name.as_deref(), r.subresource),
            (
                "namespaces",
                Some("foo"),
                Some(SubresourceHandler::Finalize)
            )
        );
        let r = rr(Method::POST, "/api/v1/namespaces/d/pods/p/binding");
        assert_eq!(
            (r.verb, r.subresource),
            (Verb::Create, Some(SubresourceHandler::Binding))
        );
        let r = rr(Method::POST, "/api/v1/namespaces/d/pods/p/eviction");
        assert_eq!(
            (r.verb, r.subresource),
            (Verb::Create, Some(SubresourceHandler::Eviction))
        );
        let r = rr(Method::POST, "/api/v1/namespaces/d/serviceaccounts/s/token");
        assert_eq!(r.subresource, Some(SubresourceHandler::Token));
        // `?watch=` does not make a subresource's GET a watch.
        match parse(&Method::GET, "/api/v1/namespaces/d/pods/p/status", true).unwrap() {
            Route::Resource(r) => assert_eq!(r.verb, Verb::Get),
            other => panic!("{other:?}"),
        }
        let code = |m: Method, p: &str| parse(&m, p, false).unwrap_err().code;
        assert_eq!(
            code(Method::GET, "/api/v1/namespaces/d/pods/p/binding"),
            405
        );
        assert_eq!(code(Method::GET, "/api/v1/namespaces/d/finalize"), 405);
        assert_eq!(
            code(Method::GET, "/api/v1/namespaces/d/configmaps/c/status"),
            404
        );
        assert_eq!(
            code(Method::GET, "/api/v1/watch/namespaces/d/pods/p/status"),
            404
        );
        let reviews = "/apis/authentication.k8s.io/v1/tokenreviews";
        assert_eq!(code(Method::GET, reviews), 405);
        assert_eq!(code(Method::GET, &format!("{reviews}/x")), 404);
        assert_eq!(code(Method::POST, &format!("{reviews}/x")), 404);
    }
}
