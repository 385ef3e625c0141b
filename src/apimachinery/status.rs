//! `ApiError`: every failure a client can see, and its `metav1.Status` body.
//!
//! Upstream builds these in `staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go`;
//! the messages, reasons, codes and `details` shapes here follow it exactly,
//! because clients (kubectl, client-go) branch on `reason` and print `message`.

use serde_json::{Map, Value, json};

use super::validation::{FieldError, invalid_status_message, qualified_kind};

/// Identifies a resource in error messages: `pods`, `deployments.apps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResource {
    pub group: String,
    pub resource: String,
}

impl GroupResource {
    pub fn new(group: &str, resource: &str) -> Self {
        GroupResource {
            group: group.to_string(),
            resource: resource.to_string(),
        }
    }
}

impl std::fmt::Display for GroupResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}", self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// A failed request, rendered as a `Status` object with `code`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

fn details(gr: &GroupResource, name: &str) -> Value {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), Value::String(name.to_string()));
    }
    if !gr.group.is_empty() {
        d.insert("group".into(), Value::String(gr.group.clone()));
    }
    d.insert("kind".into(), Value::String(gr.resource.clone()));
    Value::Object(d)
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(gr: &GroupResource, name: &str) -> Self {
        Self::new(404, "NotFound", format!("{gr} \"{name}\" not found"))
            .with_details(details(gr, name))
    }

    /// 404 for a path the server does not serve at all.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(gr: &GroupResource, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{gr} \"{name}\" already exists"),
        )
        .with_details(details(gr, name))
    }

    /// `NewGenerateNameConflict`: every generated name was taken.
    pub fn generate_name_conflict(gr: &GroupResource, name: &str) -> Self {
        let mut d = details(gr, name);
        if let Some(m) = d.as_object_mut() {
            m.insert("retryAfterSeconds".into(), Value::from(1));
        }
        Self::new(
            409,
            "AlreadyExists",
            format!(
                "{gr} \"{name}\" already exists, the server was not able to generate a unique name for the object"
            ),
        )
        .with_details(d)
    }

    pub fn conflict(gr: &GroupResource, name: &str, msg: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on {gr} \"{name}\": {msg}"),
        )
        .with_details(details(gr, name))
    }

    /// The optimistic-concurrency conflict (`registry/generic/registry/store.go`).
    pub fn modified_conflict(gr: &GroupResource, name: &str) -> Self {
        Self::conflict(
            gr,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn invalid(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> Self {
        let causes: Vec<Value> = errs
            .iter()
            .map(|e| {
                json!({
                    "reason": e.error_type.reason(),
                    "message": e.message(),
                    "field": e.field,
                })
            })
            .collect();
        let mut d = Map::new();
        // `StatusDetails.name` is `omitempty`.
        if !name.is_empty() {
            d.insert("name".into(), Value::String(name.to_string()));
        }
        if !group.is_empty() {
            d.insert("group".into(), Value::String(group.to_string()));
        }
        d.insert("kind".into(), Value::String(kind.to_string()));
        d.insert("causes".into(), Value::Array(causes));
        Self::new(
            422,
            "Invalid",
            invalid_status_message(&qualified_kind(group, kind), name, errs),
        )
        .with_details(Value::Object(d))
    }

    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", msg)
    }

    /// 422 for a patch that cannot be applied (`handlers/patch.go`
    /// interpretJSONPatchError / interpretStrategicMergePatchError).
    pub fn invalid_patch(msg: &str) -> Self {
        Self::new(422, "Invalid", msg.to_string())
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 of the authorizer for a non-resource path.
    pub fn forbidden_path(user: &str, verb: &str, path: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        )
        .with_details(json!({}))
    }

    /// `errors.NewForbidden(gr, name, err)`: the authorizer's 403 on a
    /// resource (details name the resource; `gr` empty for a path).
    pub fn forbidden_resource(gr: &GroupResource, name: &str, msg: &str) -> Self {
        if gr.resource.is_empty() && gr.group.is_empty() {
            return Self::new(403, "Forbidden", format!("forbidden: {msg}"))
                .with_details(json!({}));
        }
        let message = if name.is_empty() {
            format!("{gr} is forbidden: {msg}")
        } else {
            format!("{gr} \"{name}\" is forbidden: {msg}")
        };
        Self::new(403, "Forbidden", message).with_details(details(gr, name))
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", msg)
    }

    /// 403 for a create into a namespace that is being deleted
    /// (`plugin/pkg/admission/namespace/lifecycle`).
    pub fn namespace_terminating(gr: &GroupResource, name: &str, ns: &str) -> Self {
        let mut d = details(gr, name);
        if let Some(m) = d.as_object_mut() {
            m.insert(
                "causes".into(),
                json!([{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]),
            );
        }
        Self::new(
            403,
            "Forbidden",
            format!(
                "{gr} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated"
            ),
        )
        .with_details(d)
    }

    /// `NewMethodNotSupported`: `<verb> is not supported on resources of
    /// kind "<resource>.<group>"` (a custom resource's subresource handler).
    pub fn method_not_supported(gr: &GroupResource, verb: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("{verb} is not supported on resources of kind \"{gr}\""),
        )
        .with_details(details(gr, ""))
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    /// 406 from content negotiation of an endpoint
    /// (`apiserver/pkg/endpoints/handlers/negotiation`, `NewNotAcceptableError`):
    /// `representations` lists what the endpoint can answer in.
    pub fn not_acceptable(representations: &str) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!("406: Not Acceptable\n\nAvailable representations: {representations}"),
        )
        .with_details(json!({}))
    }

    /// 406 of a response transform that cannot be made (no `details`).
    pub fn not_acceptable_message(msg: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", msg)
    }

    /// 406 in the older form upstream's `/apis` and `/apis/<group>`
    /// discovery answer (`errNotAcceptable`, no `details`).
    pub fn not_acceptable_media_types(accepted: &str) -> Self {
        Self::new(
            406,
            "NotAcceptable",
            format!("only the following media types are accepted: {accepted}"),
        )
    }

    /// 403 for deleting `default`, `kube-system` or `kube-public`
    /// (`plugin/pkg/admission/namespace/lifecycle`, immortal namespaces).
    pub fn immortal_namespace(name: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
        )
        .with_details(json!({"name": name, "kind": "namespaces"}))
    }

    /// 504 for a read at a resourceVersion the storage has not reached
    /// within the wait (`apiserver/pkg/storage/errors.go`
    /// `NewTooLargeResourceVersionError`).
    pub fn too_large_resource_version(requested: u64, current: u64, retry_after: u64) -> Self {
        Self::new(
            504,
            "Timeout",
            format!(
                "Timeout: Too large resource version: {requested}, current: {current}"
            ),
        )
        .with_details(json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": retry_after,
        }))
    }

    /// 410 for a watch or list from a revision older than the history kept.
    pub fn expired(msg: impl Into<String>) -> Self {
        Self::new(410, "Expired", msg)
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    pub fn unsupported_media_type(accepted: &[&str]) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                accepted.join(", ")
            ),
        )
    }

    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {msg}"),
        )
        .with_details(json!({"causes": [{"message": msg.to_string()}]}))
    }

    pub fn service_unavailable(msg: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", msg)
    }

    /// 413 with upstream's `NewRequestEntityTooLargeError(msg)` wording.
    pub fn entity_too_large(msg: &str) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: {msg}"),
        )
    }

    /// 422 from `NewGenericServerResponse(422, ...)`, as upstream answers a
    /// JSON patch that does not apply: the reason is not shown to clients.
    pub fn unprocessable_generic() -> Self {
        Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        )
        .with_details(json!({}))
    }

    /// 504 from the request finisher when storage did not answer in time
    /// (`apiserver/pkg/endpoints/handlers/finisher/finisher.go`, the answer
    /// upstream gives a write while etcd is down).
    pub fn storage_timeout() -> Self {
        Self::new(
            504,
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
        )
        .with_details(json!({}))
    }

    /// A plain (non-`Status`) error returned by upstream code: 500 with the
    /// error text and no reason (`ErrorToAPIStatus`' default case).
    pub fn unknown_error(msg: impl Into<String>) -> Self {
        Self::new(500, "", msg)
    }

    /// The `Status` object sent as the response body.
    pub fn to_status(&self) -> Value {
        let mut m = Map::new();
        m.insert("kind".into(), json!("Status"));
        m.insert("apiVersion".into(), json!("v1"));
        m.insert("metadata".into(), json!({}));
        m.insert("status".into(), json!("Failure"));
        m.insert("message".into(), json!(self.message));
        if !self.reason.is_empty() {
            // (`reason` is omitempty: some 500s upstream carry none.)
            m.insert("reason".into(), json!(self.reason));
        }
        if let Some(d) = &self.details {
            m.insert("details".into(), d.clone());
        }
        m.insert("code".into(), json!(self.code));
        Value::Object(m)
    }
}

/// A successful-delete `Status` (`status: Success`), returned by resources whose
/// store does not return the deleted object.
pub fn success_status(gr: &GroupResource, name: &str, uid: &str) -> Value {
    let mut d = details(gr, name);
    if let Some(m) = d.as_object_mut() {
        m.insert("uid".into(), Value::String(uid.to_string()));
    }
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_matches_upstream() {
        let e = ApiError::not_found(&GroupResource::new("apps", "deployments"), "web");
        assert_eq!(
            serde_json::to_string(&e.to_status()).unwrap(),
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \"web\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}"#
        );
    }

    #[test]
    fn conflict_message() {
        let e = ApiError::modified_conflict(&GroupResource::new("", "pods"), "p");
        assert_eq!(
            e.message,
            "Operation cannot be fulfilled on pods \"p\": the object has been modified; please apply your changes to the latest version and try again"
        );
        assert_eq!(e.code, 409);
    }
}
