//! The static description of a built-in resource ([`ResourceInfo`]); each
//! built-in kind declares its own in `registry/kinds/<kind>.rs`, and
//! [`RESOURCES`] (the registration list of `registry/kinds/mod.rs`) holds
//! them all. The server serves them through the run-time registry
//! (`registry::served`), which copies them into owned
//! [`Resource`](super::served::Resource)s at start-up.

use std::sync::Arc;

pub use super::handler::{ResourceHandler, SubresourceHandler};
use super::kind::Kind;
pub use super::kinds::RESOURCES;

/// A subresource as a built-in resource registers it: its handler, and what
/// discovery serves of it, derived from the handler ([`Subresource::new`]).
#[derive(Debug)]
pub struct Subresource {
    pub name: &'static str,
    /// The kind read and written through it (`group`, `version`, `kind`).
    pub kind: (&'static str, &'static str, &'static str),
    pub verbs: &'static [&'static str],
    /// What it does.
    pub handler: SubresourceHandler,
}

impl Subresource {
    /// `handler` registered on a resource of kind `parent`.
    pub const fn new(
        handler: SubresourceHandler,
        parent: (&'static str, &'static str, &'static str),
    ) -> Subresource {
        Subresource {
            name: handler.name(),
            kind: match handler.kind() {
                Some(k) => k,
                None => parent,
            },
            verbs: handler.verbs(),
            handler,
        }
    }
}

/// One served resource.
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// `(group, version, kind)` objects are stored as, if not themselves.
    pub stored_as: Option<(&'static str, &'static str, &'static str)>,
    /// The kind's strategy (its `registry/kinds/<kind>.rs`).
    pub strategy: fn() -> Arc<dyn Kind>,
    /// What serves its verbs: the store, or a create handler of its own.
    pub handler: ResourceHandler,
    /// Built-in admission plugins that read other objects
    /// (`registry::admission`).
    pub admission: &'static [super::admission::Admission],
}

impl std::fmt::Debug for ResourceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceInfo")
            .field("group", &self.group)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("plural", &self.plural)
            .finish()
    }
}

pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// A [`ResourceInfo`] serving every verb through the store, stored as
/// itself; `sub:` lists its [`SubresourceHandler`]s by variant name.
macro_rules! resource {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $namespaced:expr,
     short: [$($short:expr),*], cat: [$($cat:expr),*], sub: [$($sub:ident),*], strategy: $strategy:expr) => {
        $crate::registry::resources::ResourceInfo {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            verbs: $crate::registry::resources::ALL_VERBS,
            subresources: &[$($crate::registry::resources::Subresource::new(
                $crate::registry::handler::SubresourceHandler::$sub,
                ($group, $version, $kind),
            )),*],
            stored_as: None,
            strategy: $strategy,
            handler: $crate::registry::handler::ResourceHandler::Store,
            admission: &[],
        }
    };
}
pub(crate) use resource;

impl ResourceInfo {
    /// `"pods"` for the core group, `"apps/deployments"` otherwise.
    pub fn key(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}/{}", self.group, self.plural)
        }
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `storageVersionHash` of legacy discovery: base64 of the first
    /// 8 bytes of sha256 of `<group>/<version>/<kind>` of the version the
    /// resource is stored as (`apiserver/pkg/endpoints/discovery/
    /// storageversionhash.go`). `None` for resources that are not stored
    /// (reviews).
    pub fn storage_version_hash(&self) -> Option<String> {
        use base64::Engine as _;
        if !self.handler.stored() {
            return None;
        }
        let (group, version, kind) =
            self.stored_as
                .unwrap_or((self.group, self.version, self.kind));
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{group}/{version}/{kind}").as_bytes(),
        );
        Some(base64::engine::general_purpose::STANDARD.encode(&digest.as_ref()[..8]))
    }
}

/// Finds a resource by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Finds a resource by its key (`"pods"`, `"apps/deployments"`).
pub fn by_key(key: &str) -> Option<&'static ResourceInfo> {
    let (group, plural) = key.rsplit_once('/').unwrap_or(("", key));
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_lookup() {
        let d = find("apps", "v1", "deployments").unwrap();
        assert_eq!(d.key(), "apps/deployments");
        assert_eq!(by_key("pods").unwrap().kind, "Pod");
        assert_eq!(d.subresources[0].kind.2, "Scale");
    }

    #[test]
    fn storage_version_hashes_are_upstreams() {
        // As kube-apiserver v1.36 lists them in /api/v1 and /apis/<g>/v1.
        for (key, want) in [
            ("configmaps", "qFsyl6wFWjQ="),
            ("endpoints", "fWeeMqaN/OA="),
            ("events", "r2yiGXH7wu8="),
            ("events.k8s.io/events", "r2yiGXH7wu8="),
            ("namespaces", "Q3oi5N2YM8M="),
            ("nodes", "XwShjMxG9Fs="),
            ("pods", "xPOwRZ+Yhw8="),
            ("podtemplates", "LIXB2x4IFpk="),
            (
                "rbac.authorization.k8s.io/clusterrolebindings",
                "48tpQ8gZHFc=",
            ),
            ("rbac.authorization.k8s.io/clusterroles", "bYE5ZWDrJ44="),
            ("rbac.authorization.k8s.io/rolebindings", "eGsCzGH6b1g="),
            ("rbac.authorization.k8s.io/roles", "7FuwZcIIItM="),
            ("secrets", "S6u1pOWzb84="),
            ("serviceaccounts", "pbx9ZvyFpBE="),
            ("services", "0/CO1lhkEBI="),
            ("apps/deployments", "8aSe+NMegvE="),
            ("apps/replicasets", "P1RzHs8/mWQ="),
            ("coordination.k8s.io/leases", "gqkMMb/YqFM="),
            ("replicationcontrollers", "Jond2If31h0="),
            ("apps/statefulsets", "H+vl74LkKdo="),
            ("apps/daemonsets", "dd7pWHUlMKQ="),
            ("apps/controllerrevisions", "85nkx63pcBU="),
            ("batch/jobs", "mudhfqk/qZY="),
            ("batch/cronjobs", "sd5LIXh4Fjs="),
            ("policy/poddisruptionbudgets", "EVWiDmWqyJw="),
            ("scheduling.k8s.io/priorityclasses", "1QwjyaZjj3Y="),
            // Both served versions name the stored one (autoscaling/v2).
            ("autoscaling/horizontalpodautoscalers", "qwQve8ut294="),
        ] {
            let r = by_key(key).unwrap();
            assert_eq!(r.storage_version_hash().as_deref(), Some(want), "{key}");
        }
        let v1 = find("autoscaling", "v1", "horizontalpodautoscalers").unwrap();
        assert_eq!(v1.storage_version_hash().as_deref(), Some("qwQve8ut294="));
        // Reviews are never stored: upstream lists no hash for them.
        for key in [
            "authentication.k8s.io/tokenreviews",
            "authorization.k8s.io/localsubjectaccessreviews",
            "authorization.k8s.io/selfsubjectaccessreviews",
            "authorization.k8s.io/selfsubjectrulesreviews",
            "authorization.k8s.io/subjectaccessreviews",
        ] {
            let review = by_key(key).unwrap();
            assert_eq!(review.storage_version_hash(), None, "{key}");
        }
    }
}
