//! What serves a resource and each of its subresources, as typed handlers
//! the resource registers (upstream: the `rest.Storage` map a kind's
//! `storage.go` returns, e.g. `"pods/binding": BindingREST`, and for custom
//! resources the `subresources` of the CRD's version).
//!
//! A built-in kind lists its subresources in its `INFO` (`sub: [Status,
//! Scale]`); the CRD controller registers `Status` and `Scale` from the
//! CRD's `subresources`. Discovery (name, kind, verbs) and routing are both
//! derived from the same [`SubresourceHandler`], so they cannot disagree; the
//! API server dispatches with exhaustive `match`es on it, so a handler that
//! is added here and not handled everywhere is a compile error.

/// One subresource: what it is called, what it reads and writes, and which
/// verbs it serves are all decided by the variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubresourceHandler {
    /// `<resource>/status`: get, update and patch of the whole object with
    /// the kind's status strategy (only `status` changes;
    /// `Kind::prepare_for_status_update`).
    Status,
    /// `<resource>/scale`: the object seen as an `autoscaling/v1` `Scale`
    /// (built-in workloads' `spec.replicas`, or a CRD's scale paths).
    Scale,
    /// `pods/binding`: a `v1` `Binding` assigning the pod to a node
    /// (`pkg/registry/core/pod/storage/storage.go` BindingREST).
    Binding,
    /// `serviceaccounts/token`: an `authentication.k8s.io/v1`
    /// `TokenRequest` (`pkg/registry/core/serviceaccount/storage/token.go`).
    Token,
    /// `pods/eviction`: a `policy/v1` (or `v1beta1`) `Eviction` deleting the
    /// pod within its PodDisruptionBudget
    /// (`pkg/registry/core/pod/storage/eviction.go` EvictionREST;
    /// `registry::eviction`).
    Eviction,
    /// `namespaces/finalize`: an update of the namespace's `spec.finalizers`
    /// only (`pkg/registry/core/namespace/storage` FinalizeREST).
    Finalize,
}

/// The verbs of `status` and `scale`.
pub const GET_UPDATE_PATCH: &[&str] = &["get", "patch", "update"];

impl SubresourceHandler {
    /// The URL segment and discovery name (`pods/<name>`).
    pub const fn name(self) -> &'static str {
        match self {
            SubresourceHandler::Status => "status",
            SubresourceHandler::Scale => "scale",
            SubresourceHandler::Binding => "binding",
            SubresourceHandler::Token => "token",
            SubresourceHandler::Eviction => "eviction",
            SubresourceHandler::Finalize => "finalize",
        }
    }

    /// The verbs it serves (discovery lists exactly these; any other is 405).
    pub const fn verbs(self) -> &'static [&'static str] {
        match self {
            SubresourceHandler::Status | SubresourceHandler::Scale => GET_UPDATE_PATCH,
            SubresourceHandler::Binding
            | SubresourceHandler::Token
            | SubresourceHandler::Eviction => &["create"],
            SubresourceHandler::Finalize => &["update"],
        }
    }

    /// The kind read and written through it (`group`, `version`, `kind`);
    /// `None`: the resource's own kind.
    pub const fn kind(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            SubresourceHandler::Status | SubresourceHandler::Finalize => None,
            SubresourceHandler::Scale => Some(("autoscaling", "v1", "Scale")),
            SubresourceHandler::Binding => Some(("", "v1", "Binding")),
            SubresourceHandler::Token => Some(("authentication.k8s.io", "v1", "TokenRequest")),
            SubresourceHandler::Eviction => Some(("policy", "v1", "Eviction")),
        }
    }

    /// Whether requests to it are long-running (upstream's
    /// `BasicLongRunningRequestCheck`: `attach`, `exec`, `proxy`, `log`,
    /// `portforward`): no request timeout, not counted in flight.
    pub const fn long_running(self) -> bool {
        match self {
            SubresourceHandler::Status
            | SubresourceHandler::Scale
            | SubresourceHandler::Binding
            | SubresourceHandler::Token
            | SubresourceHandler::Eviction
            | SubresourceHandler::Finalize => false,
        }
    }
}

/// What serves a resource's own verbs: the generic registry store, or, for
/// resources that are never stored (reviews), a create handler of their own
/// (upstream: a `rest.Creater` that is not a `registry.Store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceHandler {
    /// `registry::store::Store`: every verb the resource lists.
    Store,
    /// `authentication.k8s.io/v1 tokenreviews` (create only).
    TokenReview,
    /// `authentication.k8s.io/v1 selfsubjectreviews` (create only).
    SelfSubjectReview,
    /// `authorization.k8s.io/v1 localsubjectaccessreviews` (create only).
    LocalSubjectAccessReview,
    /// `authorization.k8s.io/v1 selfsubjectaccessreviews` (create only).
    SelfSubjectAccessReview,
    /// `authorization.k8s.io/v1 selfsubjectrulesreviews` (create only).
    SelfSubjectRulesReview,
    /// `authorization.k8s.io/v1 subjectaccessreviews` (create only).
    SubjectAccessReview,
}

impl ResourceHandler {
    /// Whether objects are stored (discovery's `storageVersionHash`).
    pub const fn stored(self) -> bool {
        match self {
            ResourceHandler::Store => true,
            ResourceHandler::TokenReview
            | ResourceHandler::SelfSubjectReview
            | ResourceHandler::LocalSubjectAccessReview
            | ResourceHandler::SelfSubjectAccessReview
            | ResourceHandler::SelfSubjectRulesReview
            | ResourceHandler::SubjectAccessReview => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_data_comes_from_the_handler() {
        use SubresourceHandler::*;
        let all = [Status, Scale, Binding, Token, Eviction, Finalize];
        let names: Vec<&str> = all.iter().map(|h| h.name()).collect();
        assert_eq!(
            names,
            [
                "status", "scale", "binding", "token", "eviction", "finalize"
            ]
        );
        assert_eq!(Eviction.kind(), Some(("policy", "v1", "Eviction")));
        assert_eq!(Eviction.verbs(), ["create"]);
        assert_eq!(Scale.kind(), Some(("autoscaling", "v1", "Scale")));
        assert_eq!(Status.kind(), None);
        assert_eq!(Binding.verbs(), ["create"]);
        assert_eq!(Finalize.verbs(), ["update"]);
        assert!(all.iter().all(|h| !h.long_running()));
        assert!(ResourceHandler::Store.stored());
        assert!(!ResourceHandler::TokenReview.stored());
    }
}
