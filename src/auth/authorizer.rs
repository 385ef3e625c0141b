//! The authorizer: `--authorization-mode` (a union of modes, tried in
//! order; the first to allow or deny decides), the `system:masters`
//! superuser group before them all, and upstream's 403 message.
//!
//! Upstream: `pkg/kubeapiserver/authorizer/config.go` (the privileged group
//! first, then the modes), `apiserver/pkg/authorization/union/union.go`,
//! `apiserver/pkg/endpoints/handlers/responsewriters/errors.go`
//! (`forbiddenMessage`). The RBAC rules are evaluated by [`super::rbac`]
//! against a [`Policy`] the API server keeps current (`apiserver::authz`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use super::UserInfo;
use super::rbac::{Attributes, Policy, PolicyRule, rule_allows};
use crate::apimachinery::status::{ApiError, GroupResource};

/// The superuser group (`user.SystemPrivilegedGroup`).
pub const MASTERS: &str = "system:masters";

/// One `--authorization-mode` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    AlwaysAllow,
    AlwaysDeny,
    /// The node authorizer. Until real kubelets exist it allows a node
    /// identity (`system:node:<name>` in `system:nodes`) what the
    /// `system:node` ClusterRole allows, without upstream's graph of which
    /// pod, secret or volume belongs to which node.
    Node,
    Rbac,
}

impl Mode {
    /// Parses `--authorization-mode` (`Node,RBAC`), as upstream validates it
    /// (`pkg/kubeapiserver/options/authorization.go`).
    pub fn parse_list(s: &str) -> Result<Vec<Mode>, String> {
        let mut out = Vec::new();
        for m in s.split(',') {
            let mode = match m.trim() {
                "AlwaysAllow" => Mode::AlwaysAllow,
                "AlwaysDeny" => Mode::AlwaysDeny,
                "Node" => Mode::Node,
                "RBAC" => Mode::Rbac,
                "ABAC" | "Webhook" => {
                    return Err(format!(
                        "authorization-mode {m:?} is not supported by ironkube"
                    ));
                }
                other => return Err(format!("authorization-mode {other:?} is not a valid mode")),
            };
            if out.contains(&mode) {
                return Err(format!(
                    "authorization-mode {m:?} has mode specified more than once"
                ));
            }
            out.push(mode);
        }
        if out.is_empty() {
            return Err("at least one authorization-mode must be passed".into());
        }
        Ok(out)
    }
}

/// A parsed `--authorization-mode` (one flag value, several modes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeList(pub Vec<Mode>);

/// An authorizer's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    NoOpinion,
}

/// The rules bound to one user in one namespace, computed once per
/// policy change.
#[derive(Debug)]
struct Bound {
    rules: Vec<PolicyRule>,
    errors: Vec<String>,
}

/// (user name, groups, namespace).
type BoundKey = (String, Vec<String>, String);

/// The authorizer chain and the RBAC policy it reads.
pub struct Authorizer {
    modes: Vec<Mode>,
    policy: RwLock<Arc<Policy>>,
    /// (user name, groups, namespace) → rules: requests from one identity
    /// reuse the walk over every binding until the policy changes.
    bound: Mutex<HashMap<BoundKey, Arc<Bound>>>,
}

/// Entries kept in the per-user cache before it is emptied.
const BOUND_CACHE_MAX: usize = 4096;

impl Authorizer {
    pub fn new(modes: Vec<Mode>) -> Self {
        Authorizer {
            modes,
            policy: RwLock::new(Arc::new(Policy::default())),
            bound: Mutex::new(HashMap::new()),
        }
    }

    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    /// True if some mode reads RBAC objects (so the policy must be fed).
    pub fn uses_policy(&self) -> bool {
        self.modes
            .iter()
            .any(|m| matches!(m, Mode::Rbac | Mode::Node))
    }

    /// True if every request is allowed whatever the policy.
    pub fn always_allows(&self) -> bool {
        self.modes.first() == Some(&Mode::AlwaysAllow)
    }

    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().map(|p| p.clone()).unwrap_or_default()
    }

    /// Changes the policy (the API server's watch does this).
    pub fn update_policy(&self, f: impl FnOnce(&mut Policy)) {
        if let Ok(mut guard) = self.policy.write() {
            let mut next = Policy::clone(&guard);
            f(&mut next);
            *guard = Arc::new(next);
        }
        if let Ok(mut b) = self.bound.lock() {
            b.clear();
        }
    }

    fn bound(&self, policy: &Policy, user: &UserInfo, namespace: &str) -> Arc<Bound> {
        let key = (
            user.name.clone(),
            user.groups.clone(),
            namespace.to_string(),
        );
        if let Ok(cache) = self.bound.lock()
            && let Some(b) = cache.get(&key)
        {
            return b.clone();
        }
        let (rules, errors) = policy.rules_for(user, namespace);
        let b = Arc::new(Bound { rules, errors });
        if let Ok(mut cache) = self.bound.lock() {
            if cache.len() >= BOUND_CACHE_MAX {
                cache.clear();
            }
            cache.insert(key, b.clone());
        }
        b
    }

    /// The node mode: a node identity gets the `system:node` role's rules.
    fn node(policy: &Policy, a: &Attributes) -> bool {
        is_node(&a.user)
            && policy
                .cluster_roles
                .get("system:node")
                .is_some_and(|rules| rules.iter().any(|r| rule_allows(a, r)))
    }

    /// The decision, and the reason when it is not an allow (the request
    /// path: it needs no "allowed by" description).
    pub fn authorize(&self, a: &Attributes) -> (Decision, String) {
        self.decide(a, false)
    }

    /// The decision with upstream's reason on an allow too (`RBAC: allowed
    /// by ...`), as access reviews report it.
    pub fn authorize_with_reason(&self, a: &Attributes) -> (Decision, String) {
        self.decide(a, true)
    }

    /// `system:masters`, then each mode in order; `describe`: walk the
    /// bindings for the allowing one instead of the per-user cache.
    fn decide(&self, a: &Attributes, describe: bool) -> (Decision, String) {
        if a.user.groups.iter().any(|g| g == MASTERS) {
            return (Decision::Allow, String::new());
        }
        let policy = self.policy();
        let mut reasons = Vec::new();
        for mode in &self.modes {
            match mode {
                Mode::AlwaysAllow => return (Decision::Allow, String::new()),
                // Upstream's AlwaysDeny has no opinion (the next mode may
                // still allow); its reason is kept.
                Mode::AlwaysDeny => reasons.push("Everything is forbidden.".into()),
                Mode::Node => {
                    if Self::node(&policy, a) {
                        return (Decision::Allow, String::new());
                    }
                }
                Mode::Rbac if describe => match policy.authorize(a) {
                    Ok(reason) => return (Decision::Allow, reason),
                    Err(reason) if !reason.is_empty() => reasons.push(reason),
                    Err(_) => {}
                },
                Mode::Rbac => {
                    let b = self.bound(&policy, &a.user, &a.namespace);
                    if b.rules.iter().any(|r| rule_allows(a, r)) {
                        return (Decision::Allow, String::new());
                    }
                    let reason = super::rbac::errors_reason(&b.errors);
                    if !reason.is_empty() {
                        reasons.push(reason);
                    }
                }
            }
        }
        (Decision::NoOpinion, reasons.join("\n"))
    }

    /// The rules `user` holds in `namespace`, the errors met and whether
    /// the list may be incomplete, as a SelfSubjectRulesReview reports them:
    /// the union of every mode's rule resolver in order (upstream's
    /// `unionAuthzRulesHandler.RulesFor`). AlwaysAllow holds everything,
    /// AlwaysDeny nothing, the node mode nothing it can list (for a node
    /// identity: incomplete, with an error), RBAC the bound rules and the
    /// role lookup errors (`RBACAuthorizer.RulesFor`). The `system:masters`
    /// group has no rule resolver.
    pub fn rules_for(
        &self,
        user: &UserInfo,
        namespace: &str,
    ) -> (Vec<PolicyRule>, Vec<String>, bool) {
        let mut rules = Vec::new();
        let mut errs = Vec::new();
        let mut incomplete = false;
        let all = || vec!["*".to_string()];
        for mode in &self.modes {
            match mode {
                Mode::AlwaysAllow => {
                    rules.push(PolicyRule {
                        verbs: all(),
                        api_groups: all(),
                        resources: all(),
                        ..Default::default()
                    });
                    rules.push(PolicyRule {
                        verbs: all(),
                        non_resource_urls: all(),
                        ..Default::default()
                    });
                }
                Mode::AlwaysDeny => {}
                Mode::Node => {
                    if is_node(user) {
                        incomplete = true;
                        errs.push("node authorizer does not support user rule resolution".into());
                    }
                }
                Mode::Rbac => {
                    let b = self.bound(&self.policy(), user, namespace);
                    rules.extend(b.rules.iter().cloned());
                    errs.extend(b.errors.iter().cloned());
                }
            }
        }
        (rules, errs, incomplete)
    }
}

/// A node identity: `system:node:<name>` in `system:nodes`.
fn is_node(user: &UserInfo) -> bool {
    user.name.starts_with("system:node:") && user.groups.iter().any(|g| g == "system:nodes")
}

/// `forbiddenMessage`: who cannot do what, where.
pub fn forbidden_message(a: &Attributes) -> String {
    let user = &a.user.name;
    if !a.resource_request {
        return format!("User \"{user}\" cannot {} path \"{}\"", a.verb, a.path);
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    if a.namespace.is_empty() {
        format!(
            "User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" at the cluster scope",
            a.verb, a.api_group
        )
    } else {
        format!(
            "User \"{user}\" cannot {} resource \"{resource}\" in API group \"{}\" in the namespace \"{}\"",
            a.verb, a.api_group, a.namespace
        )
    }
}

/// The HTML characters upstream's 403 writer escapes in its message.
fn sanitize(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `responsewriters.Forbidden`: the 403 for a refused request, with the
/// authorizer's reason after the message when it gave one.
pub fn forbidden(a: &Attributes, reason: &str) -> ApiError {
    let msg = sanitize(&forbidden_message(a));
    let msg = if reason.is_empty() {
        msg
    } else {
        format!("{msg}: {reason}")
    };
    let gr = if a.resource_request {
        GroupResource::new(&a.api_group, &a.resource)
    } else {
        GroupResource::new("", "")
    };
    ApiError::forbidden_resource(&gr, &a.name, &msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(user: &str, groups: &[&str], verb: &str, resource: &str, ns: &str) -> Attributes {
        Attributes {
            user: UserInfo {
                name: user.into(),
                groups: groups.iter().map(|g| g.to_string()).collect(),
                ..Default::default()
            },
            verb: verb.into(),
            resource_request: true,
            api_version: "v1".into(),
            resource: resource.into(),
            namespace: ns.into(),
            ..Default::default()
        }
    }

    #[test]
    fn modes_parse_as_upstream_validates_them() {
        assert_eq!(
            Mode::parse_list("Node,RBAC"),
            Ok(vec![Mode::Node, Mode::Rbac])
        );
        assert_eq!(Mode::parse_list("AlwaysAllow"), Ok(vec![Mode::AlwaysAllow]));
        assert!(Mode::parse_list("RBAC,RBAC").is_err());
        assert!(Mode::parse_list("Foo").is_err());
        assert!(Mode::parse_list("").is_err());
    }

    #[test]
    fn masters_and_modes() {
        let z = Authorizer::new(vec![Mode::Rbac]);
        let admin = attrs("root", &[MASTERS], "delete", "namespaces", "");
        assert_eq!(z.authorize(&admin).0, Decision::Allow);
        let nobody = attrs(
            "bob",
            &["system:authenticated"],
            "list",
            "pods",
            "kube-system",
        );
        assert_eq!(z.authorize(&nobody), (Decision::NoOpinion, String::new()));
        z.update_policy(|p| {
            p.cluster_roles.insert(
                "r".into(),
                Arc::new(vec![PolicyRule::from_json(
                    &json!({"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}),
                )]),
            );
            p.cluster_role_bindings.insert(
                "b".into(),
                Arc::new(super::super::rbac::Binding::from_json(&json!({
                    "metadata": {"name": "b"},
                    "roleRef": {"kind": "ClusterRole", "name": "r"},
                    "subjects": [{"kind": "User", "name": "bob"}]
                }))),
            );
        });
        // The per-user cache was emptied by the change.
        assert_eq!(z.authorize(&nobody).0, Decision::Allow);
        assert_eq!(
            z.authorize_with_reason(&nobody),
            (
                Decision::Allow,
                "RBAC: allowed by ClusterRoleBinding \"b\" of ClusterRole \"r\" to User \"bob\""
                    .into()
            )
        );
        let open = Authorizer::new(vec![Mode::AlwaysAllow]);
        assert_eq!(
            open.authorize(&attrs("x", &[], "delete", "nodes", "")).0,
            Decision::Allow
        );
        let later = Authorizer::new(vec![Mode::AlwaysDeny, Mode::AlwaysAllow]);
        assert_eq!(
            later.authorize(&attrs("x", &[], "get", "pods", "a")).0,
            Decision::Allow
        );
        let closed = Authorizer::new(vec![Mode::AlwaysDeny]);
        assert_eq!(
            closed.authorize(&attrs("x", &[], "get", "pods", "a")),
            (Decision::NoOpinion, "Everything is forbidden.".into())
        );
    }

    #[test]
    fn rules_for_is_the_union_of_the_modes() {
        let bob = UserInfo {
            name: "bob".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        };
        let node = UserInfo {
            name: "system:node:n1".into(),
            groups: vec!["system:nodes".into()],
            ..Default::default()
        };
        let z = Authorizer::new(vec![Mode::Node, Mode::Rbac]);
        // Only a node identity makes the node mode's list incomplete.
        assert_eq!(z.rules_for(&bob, "default"), (vec![], vec![], false));
        assert_eq!(
            z.rules_for(&node, "default"),
            (
                vec![],
                vec!["node authorizer does not support user rule resolution".into()],
                true
            )
        );
        let open = Authorizer::new(vec![Mode::AlwaysDeny, Mode::AlwaysAllow]);
        let (rules, errs, incomplete) = open.rules_for(&bob, "default");
        assert_eq!(
            rules.iter().map(PolicyRule::to_json).collect::<Vec<_>>(),
            [
                json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}),
                json!({"verbs": ["*"], "nonResourceURLs": ["*"]})
            ]
        );
        assert!(errs.is_empty() && !incomplete);
        // AlwaysDeny has no opinion: the next mode decides, its reason is kept.
        let a = attrs("bob", &[], "get", "pods", "a");
        assert_eq!(
            open.authorize_with_reason(&a),
            (Decision::Allow, String::new())
        );
        let closed = Authorizer::new(vec![Mode::AlwaysDeny]);
        assert_eq!(
            closed.authorize_with_reason(&a),
            (Decision::NoOpinion, "Everything is forbidden.".into())
        );
    }

    #[test]
    fn forbidden_messages_are_upstreams() {
        let a = attrs(
            "system:serviceaccount:default:default",
            &[],
            "list",
            "pods",
            "kube-system",
        );
        let e = forbidden(&a, "");
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "pods is forbidden: User \"system:serviceaccount:default:default\" cannot list resource \"pods\" in API group \"\" in the namespace \"kube-system\""
        );
        let mut d = attrs("bob", &[], "get", "deployments", "");
        d.api_group = "apps".into();
        d.subresource = "scale".into();
        d.name = "web".into();
        assert_eq!(
            forbidden(
                &d,
                "RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found"
            )
            .message,
            "deployments.apps \"web\" is forbidden: User \"bob\" cannot get resource \"deployments/scale\" in API group \"apps\" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io \"x\" not found"
        );
        let p = Attributes {
            user: UserInfo {
                name: "system:anonymous".into(),
                ..Default::default()
            },
            verb: "get".into(),
            path: "/<x>".into(),
            ..Default::default()
        };
        assert_eq!(
            forbidden(&p, "").message,
            "forbidden: User \"system:anonymous\" cannot get path \"/&lt;x&gt;\""
        );
    }
}
