//! The static description of the built-in resources. The server serves
//! them through the run-time registry (`registry::served`), which copies
//! them into owned [`Resource`](super::served::Resource)s at start-up.

/// A subresource such as `status` or `scale`.
#[derive(Debug)]
pub struct Subresource {
    pub name: &'static str,
    /// The kind read and written through it (`group`, `version`, `kind`).
    pub kind: (&'static str, &'static str, &'static str),
    pub verbs: &'static [&'static str],
}

/// One served resource.
#[derive(Debug)]
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
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

const fn status(group: &'static str, version: &'static str, kind: &'static str) -> Subresource {
    Subresource {
        name: "status",
        kind: (group, version, kind),
        verbs: STATUS_VERBS,
    }
}

const fn scale() -> Subresource {
    Subresource {
        name: "scale",
        kind: ("autoscaling", "v1", "Scale"),
        verbs: STATUS_VERBS,
    }
}

macro_rules! resource {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $namespaced:expr,
     short: [$($short:expr),*], cat: [$($cat:expr),*], sub: [$($sub:expr),*]) => {
        ResourceInfo {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $namespaced,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            verbs: ALL_VERBS,
            subresources: &[$($sub),*],
            stored_as: None,
        }
    };
}

/// Every served resource, grouped by group-version in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    resource!("", "v1", "ConfigMap", "configmaps", "configmap", true, short: ["cm"], cat: [], sub: []),
    resource!("", "v1", "Endpoints", "endpoints", "endpoints", true, short: ["ep"], cat: [], sub: []),
    resource!("", "v1", "Event", "events", "event", true, short: ["ev"], cat: [], sub: []),
    resource!("", "v1", "Namespace", "namespaces", "namespace", false, short: ["ns"], cat: [],
        sub: [status("", "v1", "Namespace"),
              Subresource { name: "finalize", kind: ("", "v1", "Namespace"), verbs: &["update"] }]),
    resource!("", "v1", "Node", "nodes", "node", false, short: ["no"], cat: [], sub: [status("", "v1", "Node")]),
    resource!("", "v1", "Pod", "pods", "pod", true, short: ["po"], cat: ["all"],
        sub: [Subresource { name: "binding", kind: ("", "v1", "Binding"), verbs: &["create"] },
              status("", "v1", "Pod")]),
    resource!("", "v1", "Secret", "secrets", "secret", true, short: [], cat: [], sub: []),
    resource!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, short: ["sa"], cat: [],
        sub: [Subresource { name: "token", kind: ("authentication.k8s.io", "v1", "TokenRequest"), verbs: &["create"] }]),
    resource!("", "v1", "Service", "services", "service", true, short: ["svc"], cat: ["all"], sub: [status("", "v1", "Service")]),
    resource!("apps", "v1", "Deployment", "deployments", "deployment", true, short: ["deploy"], cat: ["all"],
        sub: [scale(), status("apps", "v1", "Deployment")]),
    resource!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, short: ["rs"], cat: ["all"],
        sub: [scale(), status("apps", "v1", "ReplicaSet")]),
    ResourceInfo {
        stored_as: Some(("", "v1", "Event")),
        ..resource!("events.k8s.io", "v1", "Event", "events", "event", true, short: ["ev"], cat: [], sub: [])
    },
    ResourceInfo {
        verbs: &["create"],
        ..resource!("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", false, short: [], cat: [], sub: [])
    },
    ResourceInfo {
        verbs: &["create"],
        ..resource!("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", false, short: [], cat: [], sub: [])
    },
    resource!("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
        "customresourcedefinition", false, short: ["crd", "crds"], cat: ["api-extensions"],
        sub: [status("apiextensions.k8s.io", "v1", "CustomResourceDefinition")]),
    resource!("coordination.k8s.io", "v1", "Lease", "leases", "lease", true, short: [], cat: [], sub: []),
];

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
        if self.verbs == ["create"] {
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
            ("secrets", "S6u1pOWzb84="),
            ("serviceaccounts", "pbx9ZvyFpBE="),
            ("services", "0/CO1lhkEBI="),
            ("apps/deployments", "8aSe+NMegvE="),
            ("apps/replicasets", "P1RzHs8/mWQ="),
            ("coordination.k8s.io/leases", "gqkMMb/YqFM="),
        ] {
            let r = by_key(key).unwrap();
            assert_eq!(r.storage_version_hash().as_deref(), Some(want), "{key}");
        }
        let review = by_key("authentication.k8s.io/tokenreviews").unwrap();
        assert_eq!(review.storage_version_hash(), None);
    }
}
