//! RBAC escalation prevention: a user may write a Role or ClusterRole only
//! with rules they already hold (or with the `escalate` verb on it), and a
//! RoleBinding or ClusterRoleBinding only to a role whose rules they hold
//! (or with the `bind` verb on it). `system:masters` is never checked.
//!
//! Upstream: `pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go`
//! (what is checked, on create and update), `pkg/registry/rbac/escalation_check.go`
//! (`EscalationAllowed`, `RoleEscalationAuthorized`, `BindingAuthorized`),
//! `pkg/registry/rbac/helpers.go` (`IsOnlyMutatingGCFields`),
//! `pkg/registry/rbac/validation/rule.go` (`ConfirmNoEscalation`, the
//! registry-backed rule resolution), `pkg/registry/rbac/validation/policy_compact.go`
//! (`CompactRules`), `component-helpers/auth/rbac/validation/policy_comparator.go`
//! (`Covers`) and `pkg/apis/rbac/v1/evaluation_helpers.go` (`CompactString`).
//!
//! The request path builds a [`Check`] (`apiserver::handlers`) and the
//! store calls it on the object it is about to write, after decoding and
//! defaults, before validation: for a patch or an apply, the patched object.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::UserInfo;
use super::authorizer::{Authorizer, Decision, MASTERS};
use super::rbac::{Attributes, Policy, PolicyRule, applies_to};
use crate::apimachinery::status::{ApiError, GroupResource};
use crate::apimachinery::validation::{go_quote, go_quote_list};
use crate::registry::store::WriteCheck;

/// The RBAC API group.
pub const GROUP: &str = "rbac.authorization.k8s.io";

/// The resources whose writes are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    Role,
    ClusterRole,
    RoleBinding,
    ClusterRoleBinding,
}

impl Guarded {
    /// The guarded resource `group`/`plural` names, if any.
    pub fn of(group: &str, plural: &str) -> Option<Self> {
        if group != GROUP {
            return None;
        }
        match plural {
            "roles" => Some(Guarded::Role),
            "clusterroles" => Some(Guarded::ClusterRole),
            "rolebindings" => Some(Guarded::RoleBinding),
            "clusterrolebindings" => Some(Guarded::ClusterRoleBinding),
            _ => None,
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Guarded::Role => "roles",
            Guarded::ClusterRole => "clusterroles",
            Guarded::RoleBinding => "rolebindings",
            Guarded::ClusterRoleBinding => "clusterrolebindings",
        }
    }

    /// A role (guarded by `escalate`), not a binding (guarded by `bind`).
    pub fn is_role(self) -> bool {
        matches!(self, Guarded::Role | Guarded::ClusterRole)
    }

    fn group_resource(self) -> GroupResource {
        GroupResource::new(GROUP, self.plural())
    }
}

/// `EscalationAllowed`: a member of `system:masters` writes any role or
/// binding unchecked.
pub fn escalation_allowed(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == MASTERS)
}

/// `RoleEscalationAuthorized`: the `escalate` verb on the role the request
/// names (its URL's name: none on a create), in its namespace.
pub fn role_escalation_authorized(
    authorizer: &Authorizer,
    user: &UserInfo,
    guarded: Guarded,
    namespace: &str,
    name: &str,
) -> bool {
    if !guarded.is_role() {
        return false;
    }
    let attrs = Attributes {
        user: user.clone(),
        verb: "escalate".into(),
        resource_request: true,
        api_group: GROUP.into(),
        api_version: "*".into(),
        resource: guarded.plural().into(),
        namespace: namespace.into(),
        name: name.into(),
        ..Default::default()
    };
    authorizer.authorize(&attrs).0 == Decision::Allow
}

/// `BindingAuthorized`: the `bind` verb on the referenced role (its name
/// as the resource name), in the binding's namespace ("" for a
/// ClusterRoleBinding). A kind other than Role or ClusterRole is never
/// authorized.
fn binding_authorized(
    authorizer: &Authorizer,
    user: &UserInfo,
    role_ref: &RoleRef,
    binding_namespace: &str,
) -> bool {
    let resource = match role_ref.kind.as_str() {
        "ClusterRole" => "clusterroles",
        "Role" => "roles",
        _ => return false,
    };
    let attrs = Attributes {
        user: user.clone(),
        verb: "bind".into(),
        resource_request: true,
        api_group: role_ref.api_group.clone(),
        resource: resource.into(),
        namespace: binding_namespace.into(),
        name: role_ref.name.clone(),
        ..Default::default()
    };
    authorizer.authorize(&attrs).0 == Decision::Allow
}

/// A binding's `roleRef`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RoleRef {
    api_group: String,
    kind: String,
    name: String,
}

impl RoleRef {
    fn of(binding: &Value) -> Self {
        let r = binding.get("roleRef").unwrap_or(&Value::Null);
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        RoleRef {
            api_group: s("apiGroup"),
            kind: s("kind"),
            name: s("name"),
        }
    }
}

/// `GetRoleReferenceRules`: the rules of the role `kind`/`name` (a Role in
/// `namespace`). Its error is the answer to a binding whose own role is
/// missing, and its message one of the resolution errors when one of the
/// requester's bindings is broken.
fn role_rules(
    policy: &Policy,
    kind: &str,
    name: &str,
    namespace: &str,
    request: &GroupResource,
) -> Result<Arc<Vec<PolicyRule>>, ApiError> {
    // The registry-backed resolver answers a missing role with a NotFound
    // of the resource being written (what kube-apiserver v1.36 sends).
    match kind {
        "Role" => {
            if namespace.is_empty() {
                return Err(ApiError::bad_request("Namespace parameter required."));
            }
            policy
                .roles
                .get(&(namespace.to_string(), name.to_string()))
                .cloned()
                .ok_or_else(|| ApiError::not_found(request, name))
        }
        "ClusterRole" => policy
            .cluster_roles
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(request, name)),
        k => Err(ApiError::unknown_error(format!(
            "unsupported role reference kind: {}",
            go_quote(k)
        ))),
    }
}

/// `RulesFor` of the registry-backed resolver: the rules bound to `user`
/// cluster-wide, then in `namespace`, and the errors met (in that order).
pub fn rules_for(
    policy: &Policy,
    user: &UserInfo,
    namespace: &str,
    request: &GroupResource,
) -> (Vec<PolicyRule>, Vec<String>) {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    let mut visit =
        |kind: &str, name: &str, ns: &str| match role_rules(policy, kind, name, ns, request) {
            Ok(r) => rules.extend(r.iter().cloned()),
            Err(e) => errors.push(e.message),
        };
    for b in policy.cluster_role_bindings.values() {
        if b.subjects.iter().any(|s| applies_to(user, s, "")) {
            visit(&b.role_kind, &b.role_name, "");
        }
    }
    if !namespace.is_empty()
        && let Some(bindings) = policy.role_bindings.get(namespace)
    {
        for b in bindings.values() {
            if b.subjects.iter().any(|s| applies_to(user, s, namespace)) {
                visit(&b.role_kind, &b.role_name, namespace);
            }
        }
    }
    (rules, errors)
}

// ---- Covers ----

fn has(set: &[String], s: &str) -> bool {
    set.iter().any(|x| x == s)
}

fn has_all(set: &[String], wanted: &[String]) -> bool {
    wanted.iter().all(|w| has(set, w))
}

/// `resourceCoversAll`: `*`, the exact resource, or for a subresource
/// `x/y` an owner's `*/y`.
fn resource_covers_all(owner: &[String], wanted: &[String]) -> bool {
    if has(owner, "*") || has_all(owner, wanted) {
        return true;
    }
    wanted.iter().all(|path| {
        has(owner, path)
            || path
                .split_once('/')
                .is_some_and(|(_, sub)| has(owner, &format!("*/{sub}")))
    })
}

/// `nonResourceURLCovers`: the same path, or a prefix ending in `*`.
pub fn non_resource_url_covers(owner: &str, path: &str) -> bool {
    owner == path || (owner.ends_with('*') && path.starts_with(owner.trim_end_matches('*')))
}

/// `ruleCovers`: whether `owner` covers `sub`, a rule of at most one verb,
/// group, resource and name (or one verb and one URL).
fn rule_covers(owner: &PolicyRule, sub: &PolicyRule) -> bool {
    let verbs = has(&owner.verbs, "*") || has_all(&owner.verbs, &sub.verbs);
    let groups = has(&owner.api_groups, "*") || has_all(&owner.api_groups, &sub.api_groups);
    let resources = resource_covers_all(&owner.resources, &sub.resources);
    let urls = sub.non_resource_urls.iter().all(|p| {
        owner
            .non_resource_urls
            .iter()
            .any(|o| non_resource_url_covers(o, p))
    });
    let names = if sub.resource_names.is_empty() {
        owner.resource_names.is_empty()
    } else {
        owner.resource_names.is_empty() || has_all(&owner.resource_names, &sub.resource_names)
    };
    verbs && groups && resources && names && urls
}

/// How many one-verb rules [`breakdown_rule`] makes of `rules` (saturating).
fn breakdown_len(rules: &[PolicyRule]) -> usize {
    rules.iter().fold(0usize, |acc, r| {
        let names = r.resource_names.len().max(1);
        let resource = r
            .api_groups
            .len()
            .saturating_mul(r.resources.len())
            .saturating_mul(r.verbs.len())
            .saturating_mul(names);
        let urls = r.non_resource_urls.len().saturating_mul(r.verbs.len());
        acc.saturating_add(resource).saturating_add(urls)
    })
}

/// `BreakdownRule`: one rule per group × resource × verb (× name), then one
/// per URL × verb.
pub fn breakdown_rule(rule: &PolicyRule) -> Vec<PolicyRule> {
    let mut out = Vec::new();
    for group in &rule.api_groups {
        for resource in &rule.resources {
            for verb in &rule.verbs {
                let one = |names: Vec<String>| PolicyRule {
                    verbs: vec![verb.clone()],
                    api_groups: vec![group.clone()],
                    resources: vec![resource.clone()],
                    resource_names: names,
                    non_resource_urls: Vec::new(),
                };
                if rule.resource_names.is_empty() {
                    out.push(one(Vec::new()));
                } else {
                    out.extend(rule.resource_names.iter().map(|n| one(vec![n.clone()])));
                }
            }
        }
    }
    for url in &rule.non_resource_urls {
        for verb in &rule.verbs {
            out.push(PolicyRule {
                verbs: vec![verb.clone()],
                non_resource_urls: vec![url.clone()],
                ..Default::default()
            });
        }
    }
    out
}

/// `Covers`: whether `owner` covers every one-verb piece of `servant`, and
/// the pieces it does not cover.
pub fn covers(owner: &[PolicyRule], servant: &[PolicyRule]) -> (bool, Vec<PolicyRule>) {
    let uncovered: Vec<PolicyRule> = servant
        .iter()
        .flat_map(breakdown_rule)
        .filter(|sub| !owner.iter().any(|o| rule_covers(o, sub)))
        .collect();
    (uncovered.is_empty(), uncovered)
}

/// `CompactRules`: rules of one group, one resource and at most one name
/// (and no URLs) are merged into one per (group, resource, name), their
/// verbs appended in order (duplicates kept, as upstream).
pub fn compact_rules(rules: Vec<PolicyRule>) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::with_capacity(rules.len());
    let mut simple: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    for rule in rules {
        let is_simple = rule.resource_names.len() <= 1
            && rule.non_resource_urls.is_empty()
            && rule.api_groups.len() == 1
            && rule.resources.len() == 1;
        if !is_simple {
            out.push(rule);
            continue;
        }
        let key = (
            rule.api_groups[0].clone(),
            rule.resources[0].clone(),
            rule.resource_names.first().cloned(),
        );
        match simple.get(&key) {
            Some(&i) => out[i].verbs.extend(rule.verbs),
            None => {
                simple.insert(key, out.len());
                out.push(rule);
            }
        }
    }
    out
}

/// `CompactString`: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`,
/// the fields that are set, in that order (URLs and names between).
pub fn compact_string(r: &PolicyRule) -> String {
    let parts: Vec<String> = [
        ("APIGroups", &r.api_groups),
        ("Resources", &r.resources),
        ("NonResourceURLs", &r.non_resource_urls),
        ("ResourceNames", &r.resource_names),
        ("Verbs", &r.verbs),
    ]
    .into_iter()
    .filter(|(_, l)| !l.is_empty())
    .map(|(k, l)| format!("{k}:{}", go_quote_list(l)))
    .collect();
    format!("{{{}}}", parts.join(", "))
}

/// `utilerrors.NewAggregate(errs).Error()`: one error as is, several
/// (duplicates dropped) as `[a, b]`.
fn aggregate(errs: &[String]) -> String {
    if let [one] = errs {
        return one.clone();
    }
    let mut seen: Vec<&str> = Vec::new();
    for e in errs {
        if !seen.contains(&e.as_str()) {
            seen.push(e);
        }
    }
    match seen.as_slice() {
        [one] => one.to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// The refusal of `ConfirmNoEscalation`: who, what they miss (compacted,
/// one rule a line, sorted, duplicates dropped), and the errors met
/// resolving their own rules.
pub fn not_held_message(user: &UserInfo, missing: Vec<PolicyRule>, errors: &[String]) -> String {
    let lines: BTreeSet<String> = compact_rules(missing).iter().map(compact_string).collect();
    let lines: Vec<String> = lines.into_iter().collect();
    let mut msg = format!(
        "user {} (groups={}) is attempting to grant RBAC permissions not currently held:\n{}",
        go_quote(&user.name),
        go_quote_list(&user.groups),
        lines.join("\n")
    );
    if !errors.is_empty() {
        msg.push_str(&format!("; resolution errors: [{}]", aggregate(errors)));
    }
    msg
}

/// More one-verb rules than this in a role are refused without comparing
/// them one by one (upstream has no bound: a few kilobytes of lists would
/// take it hours to break down).
pub const MAX_BROKEN_DOWN_RULES: usize = 1 << 18;

/// `ConfirmNoEscalation`: `Err(message)` unless `owner` covers `rules`.
pub fn confirm_no_escalation(
    user: &UserInfo,
    owner: &[PolicyRule],
    owner_errors: &[String],
    rules: &[PolicyRule],
) -> Result<(), String> {
    let pieces = breakdown_len(rules);
    if pieces > MAX_BROKEN_DOWN_RULES {
        return Err(format!(
            "user {} (groups={}) is attempting to grant RBAC permissions not currently held: {pieces} rules after breaking each down by verb, API group, resource and name, more than the {MAX_BROKEN_DOWN_RULES} that are compared",
            go_quote(&user.name),
            go_quote_list(&user.groups),
        ));
    }
    let (covered, missing) = covers(owner, rules);
    if covered {
        return Ok(());
    }
    Err(not_held_message(user, missing, owner_errors))
}

/// `IsOnlyMutatingGCFields`: `new` differs from the stored `old` only in
/// what the garbage collector writes (owner references, finalizers), or in
/// `managedFields` (kube-apiserver v1.36 lets those through as well).
/// Compared as Go compares the typed objects: absent, null and empty are
/// the same.
pub fn only_gc_fields(new: &Value, old: &Value) -> bool {
    fn strip(v: &Value) -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("apiVersion");
            m.remove("kind");
            if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
                for f in ["ownerReferences", "finalizers", "selfLink", "managedFields"] {
                    meta.remove(f);
                }
            }
        }
        normalized(v)
    }
    strip(new) == strip(old)
}

/// `v` without object members that are null, "", [] or {} (recursively).
fn normalized(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, normalized(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalized).collect()),
        v => v,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// `hasAggregationRule`: some `aggregationRule.clusterRoleSelectors`.
fn has_aggregation_rule(role: &Value) -> bool {
    role.pointer("/aggregationRule/clusterRoleSelectors")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty())
}

/// What an aggregation rule needs: everything (`*` on `*.*`, and every URL).
fn full_authority() -> Vec<PolicyRule> {
    let all = || vec!["*".to_string()];
    vec![
        PolicyRule {
            verbs: all(),
            api_groups: all(),
            resources: all(),
            ..Default::default()
        },
        PolicyRule {
            verbs: all(),
            non_resource_urls: all(),
            ..Default::default()
        },
    ]
}

/// The check of one write by a user who is neither in `system:masters` nor
/// (for a role) allowed to `escalate` it; the store calls it with the
/// object it is about to write.
pub struct Check {
    authorizer: Arc<Authorizer>,
    user: UserInfo,
    guarded: Guarded,
    /// The request's namespace ("" for the cluster-scoped kinds): where the
    /// user's own rules are looked up and a binding's role is.
    namespace: String,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("user", &self.user.name)
            .field("guarded", &self.guarded)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl Check {
    pub fn new(
        authorizer: Arc<Authorizer>,
        user: UserInfo,
        guarded: Guarded,
        namespace: &str,
    ) -> Self {
        Check {
            authorizer,
            user,
            guarded,
            namespace: namespace.to_string(),
        }
    }

    /// `ConfirmNoEscalation` against the current policy.
    fn confirm(&self, policy: &Policy, rules: &[PolicyRule]) -> Result<(), String> {
        let (owner, errors) = rules_for(
            policy,
            &self.user,
            &self.namespace,
            &self.guarded.group_resource(),
        );
        confirm_no_escalation(&self.user, &owner, &errors, rules)
    }
}

impl WriteCheck for Check {
    fn check(&self, new: &Value, old: Option<&Value>) -> Result<(), ApiError> {
        // An update of only what the garbage collector writes is let
        // through (upstream's update paths; a create is always checked).
        if let Some(old) = old
            && only_gc_fields(new, old)
        {
            return Ok(());
        }
        let gr = self.guarded.group_resource();
        let name = new
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let forbidden = |msg: String| ApiError::forbidden_resource(&gr, name, &msg);
        let policy = self.authorizer.policy();
        match self.guarded {
            Guarded::Role | Guarded::ClusterRole => {
                self.confirm(&policy, &PolicyRule::list_of(new))
                    .map_err(forbidden)?;
                // An aggregation rule can gather anything (and keep a role
                // from being tightened): it takes everything.
                if self.guarded == Guarded::ClusterRole
                    && (has_aggregation_rule(new) || old.is_some_and(has_aggregation_rule))
                {
                    self.confirm(&policy, &full_authority()).map_err(|_| {
                        forbidden(
                            "must have cluster-admin privileges to use the aggregationRule".into(),
                        )
                    })?;
                }
                Ok(())
            }
            Guarded::RoleBinding | Guarded::ClusterRoleBinding => {
                let role_ref = RoleRef::of(new);
                let binding_ns = match self.guarded {
                    Guarded::RoleBinding => self.namespace.as_str(),
                    _ => "",
                };
                if binding_authorized(&self.authorizer, &self.user, &role_ref, binding_ns) {
                    return Ok(());
                }
                let rules = role_rules(&policy, &role_ref.kind, &role_ref.name, binding_ns, &gr)?;
                self.confirm(&policy, &rules).map_err(forbidden)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> PolicyRule {
        PolicyRule::from_json(&v)
    }

    fn rules(v: Value) -> Vec<PolicyRule> {
        v.as_array()
            .map(|a| a.iter().map(PolicyRule::from_json).collect())
            .unwrap_or_default()
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Asserts `covers(owner, servant)` and its uncovered rules (in any order).
    fn check_covers(owner: Value, servant: Value, want_covered: bool, want_uncovered: Value) {
        let (covered, uncovered) = covers(&rules(owner), &rules(servant));
        assert_eq!(covered, want_covered);
        let mut got: Vec<String> = uncovered.iter().map(compact_string).collect();
        let mut want: Vec<String> = rules(want_uncovered).iter().map(compact_string).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    // The cases of upstream's policy_comparator_test.go.
    #[test]
    fn covers_as_upstream() {
        // Exact match.
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["builds"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["builds"]}]),
            true,
            json!([]),
        );
        // Several owner rules covering one rule.
        check_covers(
            json!([
                {"apiGroups": ["v1"], "verbs": ["delete"], "resources": ["deployments"]},
                {"apiGroups": ["v1"], "verbs": ["delete"], "resources": ["builds"]},
                {"apiGroups": ["v1"], "verbs": ["update"], "resources": ["builds", "deployments"]}
            ]),
            json!([{"apiGroups": ["v1"], "verbs": ["delete", "update"], "resources": ["builds", "deployments"]}]),
            true,
            json!([]),
        );
        // Several groups.
        check_covers(
            json!([
                {"apiGroups": ["group1"], "verbs": ["delete", "update"], "resources": ["builds", "deployments"]},
                {"apiGroups": ["group2"], "verbs": ["delete"], "resources": ["deployments"]},
                {"apiGroups": ["group2"], "verbs": ["delete"], "resources": ["builds"]},
                {"apiGroups": ["group2"], "verbs": ["update"], "resources": ["builds", "deployments"]}
            ]),
            json!([{"apiGroups": ["group1", "group2"], "verbs": ["delete", "update"], "resources": ["builds", "deployments"]}]),
            true,
            json!([]),
        );
        // One missing verb × resource.
        check_covers(
            json!([
                {"apiGroups": ["v1"], "verbs": ["delete", "update"], "resources": ["builds", "deployments"]},
                {"apiGroups": ["v1"], "verbs": ["delete"], "resources": ["pods"]}
            ]),
            json!([{"apiGroups": ["v1"], "verbs": ["delete", "update"], "resources": ["builds", "deployments", "pods"]}]),
            false,
            json!([{"apiGroups": ["v1"], "verbs": ["update"], "resources": ["pods"]}]),
        );
        // `*` covers enumerations and itself; enumerations never cover `*`.
        check_covers(
            json!([{"apiGroups": ["*"], "verbs": ["get"], "resources": ["roles"]}]),
            json!([{"apiGroups": ["group1", "group2", "*"], "verbs": ["get"], "resources": ["roles"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"apiGroups": ["dummy-group"], "verbs": ["get"], "resources": ["roles"]}]),
            json!([{"apiGroups": ["*"], "verbs": ["get"], "resources": ["roles"]}]),
            false,
            json!([{"apiGroups": ["*"], "verbs": ["get"], "resources": ["roles"]}]),
        );
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["*"], "resources": ["roles"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["watch", "list", "*"], "resources": ["roles"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get", "list", "watch", "create", "update", "delete", "exec"], "resources": ["roles"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["*"], "resources": ["roles"]}]),
            false,
            json!([{"apiGroups": ["v1"], "verbs": ["*"], "resources": ["roles"]}]),
        );
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["*"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["resourcegroup:deployments", "*"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["roles", "resourcegroup:deployments"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["*"]}]),
            false,
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["*"]}]),
        );
    }

    #[test]
    fn covers_resource_names_and_subresources() {
        // No names covers any names; names never cover "every name".
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["pods"], "resourceNames": []}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["pods"], "resourceNames": ["foo", "bar"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["pods"], "resourceNames": ["foo", "bar"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["pods"]}]),
            false,
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["pods"]}]),
        );
        check_covers(
            json!([{"apiGroups": [""], "verbs": ["get"], "resources": ["pods"], "resourceNames": ["foo"]}]),
            json!([{"apiGroups": [""], "verbs": ["get"], "resources": ["pods"], "resourceNames": ["foo", "bar"]}]),
            false,
            json!([{"apiGroups": [""], "verbs": ["get"], "resources": ["pods"], "resourceNames": ["bar"]}]),
        );
        // `*/status` covers any resource's status (and itself), not the
        // resource nor its other subresources.
        check_covers(
            json!([{"apiGroups": ["*"], "verbs": ["update"], "resources": ["*/status"]}]),
            json!([{"apiGroups": ["apps"], "verbs": ["update"], "resources": ["deployments/status", "pods/status", "*/status"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"apiGroups": ["*"], "verbs": ["update"], "resources": ["*/status"]}]),
            json!([{"apiGroups": ["apps"], "verbs": ["update"], "resources": ["deployments", "deployments/scale"]}]),
            false,
            json!([
                {"apiGroups": ["apps"], "verbs": ["update"], "resources": ["deployments"]},
                {"apiGroups": ["apps"], "verbs": ["update"], "resources": ["deployments/scale"]}
            ]),
        );
        // A resource does not cover its subresources.
        check_covers(
            json!([{"apiGroups": [""], "verbs": ["get"], "resources": ["pods"]}]),
            json!([{"apiGroups": [""], "verbs": ["get"], "resources": ["pods/log"]}]),
            false,
            json!([{"apiGroups": [""], "verbs": ["get"], "resources": ["pods/log"]}]),
        );
    }

    #[test]
    fn covers_non_resource_urls() {
        check_covers(
            json!([{"nonResourceURLs": ["/apis"], "verbs": ["*"]}]),
            json!([{"nonResourceURLs": ["/apis"], "verbs": ["*"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"nonResourceURLs": ["*"], "verbs": ["*"]}]),
            json!([{"nonResourceURLs": ["/apis", "/apis/v1", "/"], "verbs": ["*"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"nonResourceURLs": ["/apis/*"], "verbs": ["*"]}]),
            json!([{"nonResourceURLs": ["/apis", "/apis/v1"], "verbs": ["get"]}]),
            false,
            json!([{"nonResourceURLs": ["/apis"], "verbs": ["get"]}]),
        );
        check_covers(
            json!([{"nonResourceURLs": ["/apis/*"], "verbs": ["*"]}]),
            json!([{"nonResourceURLs": ["/apis/v1/foo", "/apis/v1"], "verbs": ["get"]}]),
            true,
            json!([]),
        );
        // With resources too: each part is covered on its own.
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["builds"], "nonResourceURLs": ["/apis"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["builds"], "nonResourceURLs": ["/apis"]}]),
            true,
            json!([]),
        );
        check_covers(
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["builds"]}]),
            json!([{"apiGroups": ["v1"], "verbs": ["get"], "resources": ["builds"], "nonResourceURLs": ["/apis"]}]),
            false,
            json!([{"nonResourceURLs": ["/apis"], "verbs": ["get"]}]),
        );
        // TestNonResourceURLCovers.
        for (owner, path, want) in [
            ("*", "/api", true),
            ("/api", "/api", true),
            ("/apis", "/api", false),
            ("/api/v1", "/api", false),
            ("/api/v1", "/api/v1", true),
            ("/api/*", "/api/v1", true),
            ("/api/*", "/api", false),
            ("/api/*/*", "/api/v1", false),
            ("/*/v1/*", "/api/v1", false),
        ] {
            assert_eq!(non_resource_url_covers(owner, path), want, "{owner} {path}");
        }
    }

    #[test]
    fn compact_strings_are_gos() {
        assert_eq!(
            compact_string(&rule(
                json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]})
            )),
            r#"{APIGroups:[""], Resources:["pods"], Verbs:["get"]}"#
        );
        assert_eq!(
            compact_string(&rule(
                json!({"nonResourceURLs": ["/a", "/b\"c"], "verbs": ["get", "post"]})
            )),
            r#"{NonResourceURLs:["/a" "/b\"c"], Verbs:["get" "post"]}"#
        );
        assert_eq!(
            compact_string(&rule(
                json!({"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["get"]})
            )),
            r#"{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["get"]}"#
        );
        assert_eq!(compact_string(&PolicyRule::default()), "{}");
    }

    // The message kube-apiserver v1.36 answered for the same role (a
    // service account holding `get` on pods).
    #[test]
    fn message_as_upstream() {
        let sa = user(
            "system:serviceaccount:esc:sa",
            &[
                "system:serviceaccounts",
                "system:serviceaccounts:esc",
                "system:authenticated",
            ],
        );
        let owner = rules(json!([
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": ["create", "update", "patch", "get"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
        ]));
        let wanted = rules(json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "delete", "list"]},
            {"apiGroups": ["apps"], "resources": ["deployments", "replicasets"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"], "verbs": ["get", "update"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}
        ]));
        assert_eq!(
            confirm_no_escalation(&sa, &owner, &[], &wanted),
            Err("user \"system:serviceaccount:esc:sa\" (groups=[\"system:serviceaccounts\" \"system:serviceaccounts:esc\" \"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"a\"], Verbs:[\"get\" \"update\"]}\n{APIGroups:[\"\"], Resources:[\"configmaps\"], ResourceNames:[\"b\"], Verbs:[\"get\" \"update\"]}\n{APIGroups:[\"\"], Resources:[\"pods\"], Verbs:[\"delete\" \"list\" \"list\"]}\n{APIGroups:[\"apps\"], Resources:[\"deployments\"], Verbs:[\"get\"]}\n{APIGroups:[\"apps\"], Resources:[\"replicasets\"], Verbs:[\"get\"]}".into())
        );
        assert_eq!(confirm_no_escalation(&sa, &owner, &[], &owner), Ok(()));
        // Non-resource URLs are not compacted; the resolution errors follow
        // as upstream prints them (one error; several, as an aggregate).
        let carol = user("carol", &["system:authenticated"]);
        let owner = rules(json!([{"nonResourceURLs": ["/healthz", "/logs/*"], "verbs": ["get"]}]));
        let wanted = rules(json!([
            {"nonResourceURLs": ["/healthz", "/logs/x", "/logs", "/metrics"], "verbs": ["get", "post"]},
            {"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]}
        ]));
        let missing = "user \"carol\" (groups=[\"system:authenticated\"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[\"*\"], Resources:[\"*/status\"], Verbs:[\"get\"]}\n{NonResourceURLs:[\"/healthz\"], Verbs:[\"post\"]}\n{NonResourceURLs:[\"/logs\"], Verbs:[\"get\"]}\n{NonResourceURLs:[\"/logs\"], Verbs:[\"post\"]}\n{NonResourceURLs:[\"/logs/x\"], Verbs:[\"post\"]}\n{NonResourceURLs:[\"/metrics\"], Verbs:[\"get\"]}\n{NonResourceURLs:[\"/metrics\"], Verbs:[\"post\"]}";
        let one = ["clusterroles.rbac.authorization.k8s.io \"missing-cr2\" not found".to_string()];
        assert_eq!(
            confirm_no_escalation(&carol, &owner, &one, &wanted),
            Err(format!(
                "{missing}; resolution errors: [clusterroles.rbac.authorization.k8s.io \"missing-cr2\" not found]"
            ))
        );
        let two = [
            "roles.rbac.authorization.k8s.io \"missing-cr\" not found".to_string(),
            "roles.rbac.authorization.k8s.io \"missing-r\" not found".to_string(),
        ];
        assert_eq!(
            confirm_no_escalation(&carol, &owner, &two, &wanted),
            Err(format!(
                "{missing}; resolution errors: [[roles.rbac.authorization.k8s.io \"missing-cr\" not found, roles.rbac.authorization.k8s.io \"missing-r\" not found]]"
            ))
        );
        let same = [two[0].clone(), two[0].clone()];
        assert!(
            confirm_no_escalation(&carol, &owner, &same, &wanted).is_err_and(|m| m.ends_with(
                "; resolution errors: [roles.rbac.authorization.k8s.io \"missing-cr\" not found]"
            ))
        );
        // No groups: `[]`.
        let nobody = user("x", &[]);
        assert!(
            confirm_no_escalation(&nobody, &[], &[], &wanted)
                .is_err_and(|m| m.starts_with("user \"x\" (groups=[]) is attempting"))
        );
    }

    #[test]
    fn huge_breakdowns_are_refused_without_being_enumerated() {
        let many = |n: usize| (0..n).map(|i| format!("x{i}")).collect::<Vec<_>>();
        let r = PolicyRule {
            verbs: many(2000),
            api_groups: many(2000),
            resources: many(2000),
            resource_names: many(2000),
            non_resource_urls: Vec::new(),
        };
        let all = full_authority();
        let err = confirm_no_escalation(&user("u", &[]), &all, &[], std::slice::from_ref(&r));
        assert!(err.is_err_and(|m| m.contains("more than the 262144")));
        assert_eq!(breakdown_len(std::slice::from_ref(&r)), 16_000_000_000_000);
        // Under the bound, `*` covers it all.
        let small = PolicyRule {
            verbs: many(10),
            api_groups: many(10),
            resources: many(10),
            resource_names: many(10),
            non_resource_urls: many(10),
        };
        assert_eq!(
            confirm_no_escalation(&user("u", &[]), &all, &[], &[small]),
            Ok(())
        );
    }

    #[test]
    fn gc_fields_only() {
        let old = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "r", "namespace": "n", "uid": "u", "resourceVersion": "5",
                "managedFields": [{"manager": "a"}]},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]});
        let mut fin = old.clone();
        fin["metadata"]["finalizers"] = json!(["x.io/y"]);
        fin["metadata"]["ownerReferences"] = json!([{"kind": "ConfigMap", "name": "c"}]);
        fin["metadata"]["managedFields"] = json!([]);
        fin["metadata"]["labels"] = json!({});
        if let Some(m) = fin.as_object_mut() {
            m.remove("kind");
        }
        assert!(only_gc_fields(&fin, &old));
        let mut label = fin.clone();
        label["metadata"]["labels"] = json!({"a": "b"});
        assert!(!only_gc_fields(&label, &old));
        // A PUT without the stored uid or resourceVersion is not GC-only.
        let mut no_rv = fin.clone();
        no_rv["metadata"]["resourceVersion"] = json!("");
        assert!(!only_gc_fields(&no_rv, &old));
        let mut rules = fin;
        rules["rules"][0]["verbs"] = json!(["get", "delete"]);
        assert!(!only_gc_fields(&rules, &old));
    }

    #[test]
    fn rules_for_reports_missing_roles_as_the_request_resource() {
        let mut p = Policy::default();
        let b = |v: Value| Arc::new(super::super::rbac::Binding::from_json(&v));
        p.cluster_roles.insert(
            "reader".into(),
            Arc::new(vec![rule(
                json!({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}),
            )]),
        );
        p.cluster_role_bindings.insert(
            "a".into(),
            b(json!({"metadata": {"name": "a"}, "roleRef": {"kind": "ClusterRole", "name": "gone"}, "subjects": [{"kind": "User", "name": "u"}]})),
        );
        p.cluster_role_bindings.insert(
            "b".into(),
            b(json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "reader"}, "subjects": [{"kind": "Group", "name": "g"}]})),
        );
        let mut ns = std::collections::BTreeMap::new();
        ns.insert(
            "c".into(),
            b(json!({"metadata": {"name": "c", "namespace": "n"}, "roleRef": {"kind": "Role", "name": "nope"}, "subjects": [{"kind": "User", "name": "u"}]})),
        );
        p.role_bindings.insert("n".into(), ns);
        let gr = GroupResource::new(GROUP, "rolebindings");
        let (rules, errs) = rules_for(&p, &user("u", &["g"]), "n", &gr);
        assert_eq!(rules.len(), 1);
        assert_eq!(
            errs,
            [
                "rolebindings.rbac.authorization.k8s.io \"gone\" not found",
                "rolebindings.rbac.authorization.k8s.io \"nope\" not found"
            ]
        );
        // Cluster-wide, the namespace's bindings are not read.
        assert_eq!(rules_for(&p, &user("u", &["g"]), "", &gr).1.len(), 1);
        // A Role without a namespace, an unknown kind.
        let e = role_rules(&p, "Role", "x", "", &gr).map(drop).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (400, "Namespace parameter required.")
        );
        let e = role_rules(&p, "Foo", "x", "n", &gr).map(drop).unwrap_err();
        assert_eq!(
            (e.code, e.reason, e.message.as_str()),
            (500, "", "unsupported role reference kind: \"Foo\"")
        );
    }
}
