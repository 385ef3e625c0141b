//! The RBAC rule evaluator: which rules apply to a user, and whether one of
//! them allows a request. Pure: the objects come in as a [`Policy`] (built
//! by `apiserver::authz` from the store and kept current by a watch).
//!
//! Upstream: `plugin/pkg/auth/authorizer/rbac/rbac.go` (rule matching and
//! the "allowed by" descriptions), `pkg/registry/rbac/validation/rule.go`
//! (`VisitRulesFor`, subject matching, role lookup errors) and
//! `pkg/apis/rbac/v1/evaluation_helpers.go`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::UserInfo;

/// `rbacv1.PolicyRule`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    pub verbs: Vec<String>,
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub resource_names: Vec<String>,
    pub non_resource_urls: Vec<String>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl PolicyRule {
    pub fn from_json(v: &Value) -> Self {
        PolicyRule {
            verbs: strings(v.get("verbs")),
            api_groups: strings(v.get("apiGroups")),
            resources: strings(v.get("resources")),
            resource_names: strings(v.get("resourceNames")),
            non_resource_urls: strings(v.get("nonResourceURLs")),
        }
    }

    /// The rules of a role object (`.rules`).
    pub fn list_of(role: &Value) -> Vec<PolicyRule> {
        role.get("rules")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(PolicyRule::from_json).collect())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("verbs".into(), self.verbs.clone().into());
        for (k, v) in [
            ("apiGroups", &self.api_groups),
            ("resources", &self.resources),
            ("resourceNames", &self.resource_names),
            ("nonResourceURLs", &self.non_resource_urls),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), v.clone().into());
            }
        }
        Value::Object(m)
    }
}

/// What a request asks to do (`authorizer.Attributes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes {
    pub user: UserInfo,
    pub verb: String,
    pub resource_request: bool,
    /// The URL path (non-resource requests).
    pub path: String,
    pub api_group: String,
    pub api_version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
}

fn has(list: &[String], want: &str) -> bool {
    list.iter().any(|s| s == want)
}

fn has_or_all(list: &[String], want: &str) -> bool {
    list.iter().any(|s| s == "*" || s == want)
}

/// `VerbMatches`.
pub fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    has_or_all(&rule.verbs, verb)
}

/// `ResourceMatches`: `*`, the exact `resource[/subresource]`, or
/// `*/subresource`.
pub fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        r == "*"
            || r == combined
            || (!subresource.is_empty()
                && r.len() == subresource.len() + 2
                && r.starts_with("*/")
                && r.ends_with(subresource))
    })
}

/// `NonResourceURLMatches`: exact, `*`, or a prefix ending in `*`.
pub fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        u == "*" || u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

/// `RuleAllows`.
pub fn rule_allows(a: &Attributes, rule: &PolicyRule) -> bool {
    if a.resource_request {
        let combined;
        let resource = if a.subresource.is_empty() {
            a.resource.as_str()
        } else {
            combined = format!("{}/{}", a.resource, a.subresource);
            combined.as_str()
        };
        verb_matches(rule, &a.verb)
            && has_or_all(&rule.api_groups, &a.api_group)
            && resource_matches(rule, resource, &a.subresource)
            && (rule.resource_names.is_empty() || has(&rule.resource_names, &a.name))
    } else {
        verb_matches(rule, &a.verb) && non_resource_url_matches(rule, &a.path)
    }
}

/// A `subjects[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// A RoleBinding (with its namespace) or ClusterRoleBinding (without).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub name: String,
    pub namespace: String,
    pub role_kind: String,
    pub role_name: String,
    pub subjects: Vec<Subject>,
}

impl Binding {
    pub fn from_json(v: &Value) -> Self {
        let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let meta = v.get("metadata").unwrap_or(&Value::Null);
        let role_ref = v.get("roleRef").unwrap_or(&Value::Null);
        Binding {
            name: s(meta, "name"),
            namespace: s(meta, "namespace"),
            role_kind: s(role_ref, "kind"),
            role_name: s(role_ref, "name"),
            subjects: v
                .get("subjects")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| Subject {
                            kind: s(x, "kind"),
                            name: s(x, "name"),
                            namespace: s(x, "namespace"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// `serviceaccount.MatchesUsername`: `system:serviceaccount:<ns>:<name>`.
fn is_service_account_user(user: &str, ns: &str, name: &str) -> bool {
    user.strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.strip_prefix(ns))
        .and_then(|rest| rest.strip_prefix(':'))
        == Some(name)
}

/// `appliesToUser`: a service account subject without a namespace means
/// the binding's own namespace (never, for a ClusterRoleBinding).
pub fn applies_to(user: &UserInfo, s: &Subject, binding_ns: &str) -> bool {
    match s.kind.as_str() {
        "User" => user.name == s.name,
        "Group" => user.groups.contains(&s.name),
        "ServiceAccount" => {
            let ns = if s.namespace.is_empty() {
                binding_ns
            } else {
                &s.namespace
            };
            !ns.is_empty() && is_service_account_user(&user.name, ns, &s.name)
        }
        _ => false,
    }
}

/// Every role and binding, as the authorizer reads them.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    pub cluster_roles: HashMap<String, Arc<Vec<PolicyRule>>>,
    /// (namespace, name)
    pub roles: HashMap<(String, String), Arc<Vec<PolicyRule>>>,
    /// By name, so the visiting order (and so the error order) is stable.
    pub cluster_role_bindings: std::collections::BTreeMap<String, Arc<Binding>>,
    /// namespace → name → binding.
    pub role_bindings: HashMap<String, std::collections::BTreeMap<String, Arc<Binding>>>,
}

/// Where a rule came from, for `allowed by` reasons.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub binding: &'a Binding,
    pub subject: &'a Subject,
}

impl Source<'_> {
    /// `clusterRoleBindingDescriber` / `roleBindingDescriber`.
    pub fn describe(&self) -> String {
        let b = self.binding;
        let subject = match self.subject.kind.as_str() {
            "ServiceAccount" => {
                let ns = if self.subject.namespace.is_empty() {
                    &b.namespace
                } else {
                    &self.subject.namespace
                };
                format!("ServiceAccount \"{}/{ns}\"", self.subject.name)
            }
            k => format!("{k} \"{}\"", self.subject.name),
        };
        if b.namespace.is_empty() {
            format!(
                "ClusterRoleBinding \"{}\" of {} \"{}\" to {subject}",
                b.name, b.role_kind, b.role_name
            )
        } else {
            format!(
                "RoleBinding \"{}/{}\" of {} \"{}\" to {subject}",
                b.name, b.namespace, b.role_kind, b.role_name
            )
        }
    }
}

impl Policy {
    /// `GetRoleReferenceRules`, with upstream's lookup errors.
    fn role_rules(&self, b: &Binding) -> Result<&Arc<Vec<PolicyRule>>, String> {
        match b.role_kind.as_str() {
            "Role" => self
                .roles
                .get(&(b.namespace.clone(), b.role_name.clone()))
                .ok_or_else(|| {
                    format!(
                        "role.rbac.authorization.k8s.io \"{}\" not found",
                        b.role_name
                    )
                }),
            "ClusterRole" => self.cluster_roles.get(&b.role_name).ok_or_else(|| {
                format!(
                    "clusterrole.rbac.authorization.k8s.io \"{}\" not found",
                    b.role_name
                )
            }),
            k => Err(format!("unsupported role reference kind: \"{k}\"")),
        }
    }

    /// `VisitRulesFor`: every rule bound to `user` cluster-wide, then in
    /// `namespace`; `visit` returns false to stop. Errors (a binding to a
    /// missing role) go to `on_err`.
    pub fn visit_rules_for<'a>(
        &'a self,
        user: &UserInfo,
        namespace: &str,
        visit: &mut dyn FnMut(Source<'a>, &'a PolicyRule) -> bool,
        on_err: &mut dyn FnMut(String),
    ) {
        let cluster = self.cluster_role_bindings.values().map(|b| (b, ""));
        let local = self
            .role_bindings
            .get(namespace)
            .filter(|_| !namespace.is_empty())
            .into_iter()
            .flat_map(|m| m.values().map(|b| (b, namespace)));
        for (b, binding_ns) in cluster.chain(local) {
            let Some(subject) = b.subjects.iter().find(|s| applies_to(user, s, binding_ns)) else {
                continue;
            };
            match self.role_rules(b) {
                Ok(rules) => {
                    let src = Source {
                        binding: b,
                        subject,
                    };
                    for r in rules.iter() {
                        if !visit(src, r) {
                            return;
                        }
                    }
                }
                Err(e) => on_err(e),
            }
        }
    }

    /// The rules that apply to `user` in `namespace` ("" = cluster-wide
    /// only) and the errors met on the way (`RulesFor`).
    pub fn rules_for(&self, user: &UserInfo, namespace: &str) -> (Vec<PolicyRule>, Vec<String>) {
        let mut rules = Vec::new();
        let mut errs = Vec::new();
        self.visit_rules_for(
            user,
            namespace,
            &mut |_, r| {
                rules.push(r.clone());
                true
            },
            &mut |e| errs.push(e),
        );
        (rules, errs)
    }

    /// The RBAC authorizer's answer: `Ok(reason)` when a rule allows (the
    /// reason names the binding), else `Err(reason)` (empty, or the lookup
    /// errors met, as `RBAC: [...]`).
    pub fn authorize(&self, a: &Attributes) -> Result<String, String> {
        let mut allowed_by = None;
        let mut errs = Vec::new();
        self.visit_rules_for(
            &a.user,
            &a.namespace,
            &mut |src, rule| {
                if rule_allows(a, rule) {
                    allowed_by = Some(src.describe());
                    false
                } else {
                    true
                }
            },
            &mut |e| errs.push(e),
        );
        match allowed_by {
            Some(by) => Ok(format!("RBAC: allowed by {by}")),
            None => Err(errors_reason(&errs)),
        }
    }
}

/// `fmt.Sprintf("RBAC: %v", utilerrors.NewAggregate(errs))`: one error as
/// is, several as `[a, b]`.
pub fn errors_reason(errs: &[String]) -> String {
    if errs.is_empty() {
        return String::new();
    }
    format!("RBAC: {}", aggregate_message(errs))
}

/// `utilerrors.NewAggregate(errs).Error()`: "" for none, one message as is,
/// several as `[a, b]` with repeated messages once (a repeat of the only
/// distinct message leaves it bare).
pub fn aggregate_message(errs: &[String]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for e in errs {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [] => String::new(),
        [one] => (*one).to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> PolicyRule {
        PolicyRule::from_json(&v)
    }

    fn res(verb: &str, group: &str, resource: &str, sub: &str, ns: &str, name: &str) -> Attributes {
        Attributes {
            user: user("alice", &["devs"]),
            verb: verb.into(),
            resource_request: true,
            api_group: group.into(),
            api_version: "v1".into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: ns.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn path(verb: &str, p: &str) -> Attributes {
        Attributes {
            user: user("alice", &[]),
            verb: verb.into(),
            path: p.into(),
            ..Default::default()
        }
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    // Cases of upstream's rbac_test.go TestRuleMatches / TestRuleAllows.
    #[test]
    fn resource_rules() {
        let r = rule(json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}));
        assert!(rule_allows(&res("get", "", "pods", "", "ns", "p"), &r));
        assert!(!rule_allows(&res("delete", "", "pods", "", "ns", "p"), &r));
        assert!(!rule_allows(&res("get", "apps", "pods", "", "ns", "p"), &r));
        // A subresource is not its parent.
        assert!(!rule_allows(&res("get", "", "pods", "log", "ns", "p"), &r));
        let star = rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(rule_allows(
            &res("escalate", "x.io", "things", "status", "", "t"),
            &star
        ));
        let sub = rule(json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}));
        assert!(rule_allows(&res("get", "", "pods", "log", "ns", "p"), &sub));
        assert!(!rule_allows(&res("get", "", "pods", "", "ns", "p"), &sub));
        let any_status =
            rule(json!({"verbs": ["update"], "apiGroups": ["*"], "resources": ["*/status"]}));
        assert!(rule_allows(
            &res("update", "apps", "deployments", "status", "ns", "d"),
            &any_status
        ));
        assert!(!rule_allows(
            &res("update", "apps", "deployments", "scale", "ns", "d"),
            &any_status
        ));
        assert!(!rule_allows(
            &res("update", "apps", "deployments", "", "ns", "d"),
            &any_status
        ));
        // `*/status` does not match a subresource that merely ends the same.
        assert!(!rule_allows(
            &res("update", "", "pods", "xstatus", "ns", "d"),
            &any_status
        ));
    }

    #[test]
    fn resource_names() {
        let r = rule(
            json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}),
        );
        assert!(rule_allows(
            &res("get", "", "configmaps", "", "ns", "a"),
            &r
        ));
        assert!(!rule_allows(
            &res("get", "", "configmaps", "", "ns", "b"),
            &r
        ));
        // A list names nothing, so resourceNames rules do not allow it.
        assert!(!rule_allows(
            &res("list", "", "configmaps", "", "ns", ""),
            &r
        ));
    }

    #[test]
    fn non_resource_urls() {
        let r = rule(json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}));
        assert!(rule_allows(&path("get", "/healthz"), &r));
        assert!(!rule_allows(&path("get", "/healthz/ping"), &r));
        assert!(rule_allows(&path("get", "/apis/apps/v1"), &r));
        assert!(rule_allows(&path("get", "/apis/"), &r));
        assert!(!rule_allows(&path("get", "/apis"), &r));
        assert!(!rule_allows(&path("post", "/healthz"), &r));
        // A resource rule never allows a path, nor the reverse.
        let pods = rule(json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}));
        assert!(!rule_allows(&path("get", "/healthz"), &pods));
        assert!(!rule_allows(&res("get", "", "pods", "", "", ""), &r));
    }

    #[test]
    fn subjects() {
        let sa = UserInfo {
            name: "system:serviceaccount:ns1:builder".into(),
            groups: vec!["system:serviceaccounts".into()],
            ..Default::default()
        };
        let s = |kind: &str, name: &str, ns: &str| Subject {
            kind: kind.into(),
            name: name.into(),
            namespace: ns.into(),
        };
        assert!(applies_to(&sa, &s("ServiceAccount", "builder", "ns1"), ""));
        assert!(applies_to(&sa, &s("ServiceAccount", "builder", ""), "ns1"));
        assert!(!applies_to(&sa, &s("ServiceAccount", "builder", ""), ""));
        assert!(!applies_to(&sa, &s("ServiceAccount", "builder", ""), "ns2"));
        assert!(!applies_to(&sa, &s("ServiceAccount", "build", "ns1"), ""));
        assert!(applies_to(
            &sa,
            &s("Group", "system:serviceaccounts", ""),
            ""
        ));
        assert!(!applies_to(&sa, &s("User", "builder", ""), ""));
        assert!(applies_to(
            &sa,
            &s("User", "system:serviceaccount:ns1:builder", ""),
            ""
        ));
    }

    fn policy() -> Policy {
        let mut p = Policy::default();
        p.cluster_roles.insert(
            "pod-reader".into(),
            Arc::new(vec![rule(
                json!({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}),
            )]),
        );
        p.roles.insert(
            ("ns1".into(), "cm".into()),
            Arc::new(vec![rule(
                json!({"verbs": ["*"], "apiGroups": [""], "resources": ["configmaps"]}),
            )]),
        );
        let b = |v: Value| Arc::new(Binding::from_json(&v));
        p.cluster_role_bindings.insert(
            "devs-read".into(),
            b(json!({"metadata": {"name": "devs-read"}, "roleRef": {"kind": "ClusterRole", "name": "pod-reader"}, "subjects": [{"kind": "Group", "name": "devs"}]})),
        );
        p.cluster_role_bindings.insert(
            "broken".into(),
            b(json!({"metadata": {"name": "broken"}, "roleRef": {"kind": "ClusterRole", "name": "gone"}, "subjects": [{"kind": "User", "name": "alice"}]})),
        );
        let mut ns1 = std::collections::BTreeMap::new();
        ns1.insert(
            "cm".into(),
            b(json!({"metadata": {"name": "cm", "namespace": "ns1"}, "roleRef": {"kind": "Role", "name": "cm"}, "subjects": [{"kind": "User", "name": "alice"}]})),
        );
        ns1.insert(
            "missing".into(),
            b(json!({"metadata": {"name": "missing", "namespace": "ns1"}, "roleRef": {"kind": "Role", "name": "nope"}, "subjects": [{"kind": "User", "name": "alice"}]})),
        );
        p.role_bindings.insert("ns1".into(), ns1);
        p
    }

    #[test]
    fn authorize_walks_cluster_then_namespace_bindings() {
        let p = policy();
        assert_eq!(
            p.authorize(&res("list", "", "pods", "", "ns2", "")),
            Ok("RBAC: allowed by ClusterRoleBinding \"devs-read\" of ClusterRole \"pod-reader\" to Group \"devs\"".into())
        );
        assert_eq!(
            p.authorize(&res("delete", "", "configmaps", "", "ns1", "x")),
            Ok("RBAC: allowed by RoleBinding \"cm/ns1\" of Role \"cm\" to User \"alice\"".into())
        );
        // Denied: the lookup errors are the reason.
        assert_eq!(
            p.authorize(&res("delete", "", "configmaps", "", "ns2", "x")),
            Err("RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found".into())
        );
        assert_eq!(
            p.authorize(&res("delete", "", "secrets", "", "ns1", "x")),
            Err("RBAC: [clusterrole.rbac.authorization.k8s.io \"gone\" not found, role.rbac.authorization.k8s.io \"nope\" not found]".into())
        );
        let (rules, errs) = p.rules_for(&user("alice", &["devs"]), "ns1");
        assert_eq!(rules.len(), 2);
        assert_eq!(errs.len(), 2);
        // utilerrors' aggregate: repeats once, a single distinct one bare.
        let e = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(aggregate_message(&e(&["a", "a"])), "a");
        assert_eq!(aggregate_message(&e(&["a", "b", "a"])), "[a, b]");
        assert_eq!(errors_reason(&e(&["a", "a"])), "RBAC: a");
        assert_eq!(errors_reason(&[]), "");
    }
}
