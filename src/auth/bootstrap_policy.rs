//! Upstream's bootstrap RBAC policy (`plugin/pkg/auth/authorizer/rbac/
//! bootstrappolicy`): the ClusterRoles, ClusterRoleBindings, Roles and
//! RoleBindings every cluster starts with (`cluster-admin` bound to
//! `system:masters`, `system:discovery`, the `system:controller:*` roles of
//! kube-controller-manager's controllers, ...), created at first start and
//! reconciled on every start as upstream's `rbac/bootstrap-roles` post-start
//! hook does (`pkg/registry/rbac/rest/storage_rbac.go` with
//! `pkg/registry/rbac/reconciliation`, in its additive mode).
//!
//! The data, `bootstrap-policy.json`, is what upstream kube-apiserver v1.36.2
//! creates with its default feature gates, dumped by
//! `hack/dump-bootstrap-policy.sh`; the aggregated roles (`admin`, `edit`,
//! `view`) have an `aggregationRule` and no rules, as the policy defines
//! them (the ClusterRole aggregation controller fills them in).
//!
//! Reconciliation, per object:
//! - missing: created;
//! - annotated `rbac.authorization.kubernetes.io/autoupdate: "false"`: left
//!   alone;
//! - a role keeps its rules and gets every part of a desired rule its rules
//!   do not cover (upstream's `Covers`: desired rules are broken down into
//!   one verb × one group × one resource (× one name), or one verb × one
//!   URL, and each uncovered piece is appended), missing labels and
//!   annotations, and missing `aggregationRule.clusterRoleSelectors`; an
//!   aggregation rule the policy does not define is removed;
//! - a binding whose `roleRef` differs is deleted and created again
//!   (`roleRef` is immutable); otherwise it keeps its subjects and gets the
//!   missing ones, labels and annotations.
//!
//! The pure decisions are [`reconcile_role`] and [`reconcile_binding`];
//! [`ensure`] applies them through the registry store with one list per
//! kind.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use anyhow::{Result, anyhow, bail};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::rbac::PolicyRule;
use crate::registry::served::Resource;
use crate::registry::store::{DeleteOptions, ListParams, Store, WriteOptions};

/// The RBAC API group.
const GROUP: &str = "rbac.authorization.k8s.io";

/// The annotation that, set to `"false"`, protects an object from
/// reconciliation (`rbacv1.AutoUpdateAnnotationKey`).
pub const AUTOUPDATE_ANNOTATION: &str = "rbac.authorization.kubernetes.io/autoupdate";

/// Who writes the policy, as upstream's managed fields name it.
const FIELD_MANAGER: &str = "kube-apiserver";

/// Writes per object before giving up when others keep changing it.
const ATTEMPTS: usize = 5;

/// Objects of one kind reconciled at once.
const WRITES_IN_FLIGHT: usize = 16;

/// The bootstrap policy: full objects (`apiVersion`, `kind`, `metadata`
/// with name, namespace, labels and annotations, then the kind's fields),
/// each list sorted by (namespace, name).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    pub cluster_roles: Vec<Value>,
    pub cluster_role_bindings: Vec<Value>,
    pub roles: Vec<Value>,
    pub role_bindings: Vec<Value>,
}

static POLICY: LazyLock<Policy> = LazyLock::new(|| {
    // Data compiled into the binary, checked by the unit tests below.
    serde_json::from_str(include_str!("bootstrap-policy.json"))
        .expect("src/auth/bootstrap-policy.json is a valid policy")
});

/// The bootstrap policy, parsed once.
pub fn objects() -> &'static Policy {
    &POLICY
}

/// What reconciling one object against the policy calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconcile {
    /// The object is missing: create this.
    Create(Value),
    /// Replace the object with this (the existing object, its
    /// `resourceVersion` included, with what was missing added).
    Update(Value),
    /// A binding's `roleRef` differs: delete the existing binding and
    /// create this.
    Recreate(Value),
    /// Nothing to do (up to date, or protected by `autoupdate: "false"`).
    Unchanged,
}

/// What [`ensure`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub recreated: usize,
    pub unchanged: usize,
}

// ---------------------------------------------------------------------------
// Object access.

fn field<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(obj, |v, k| v.get(*k))
        .filter(|v| !v.is_null())
}

fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    field(obj, path).and_then(Value::as_str).unwrap_or("")
}

fn array<'a>(obj: &'a Value, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `(namespace, name)`, the namespace empty for a cluster-scoped object.
fn key_of(obj: &Value) -> (String, String) {
    (
        str_at(obj, &["metadata", "namespace"]).to_string(),
        str_at(obj, &["metadata", "name"]).to_string(),
    )
}

fn protected(existing: &Value) -> bool {
    str_at(
        existing,
        &["metadata", "annotations", AUTOUPDATE_ANNOTATION],
    ) == "false"
}

/// The array at `obj[key]`, created (or a `null` replaced) if need be.
fn array_mut<'a>(obj: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    let m = obj.as_object_mut()?;
    if !m.get(key).is_some_and(Value::is_array) {
        m.insert(key.to_string(), json!([]));
    }
    m.get_mut(key).and_then(Value::as_array_mut)
}

/// Whether the object lacks a label or annotation of the policy's.
fn lacks_metadata(existing: &Value, desired: &Value) -> bool {
    ["labels", "annotations"].iter().any(|key| {
        let have = field(existing, &["metadata", key]).and_then(Value::as_object);
        field(desired, &["metadata", key])
            .and_then(Value::as_object)
            .is_some_and(|want| {
                want.keys()
                    .any(|k| !have.is_some_and(|h| h.contains_key(k)))
            })
    })
}

/// Adds the desired labels and annotations the object lacks (existing
/// values win, as upstream's `merge(expected, existing)`).
fn merge_metadata(out: &mut Value, desired: &Value) {
    for key in ["labels", "annotations"] {
        let Some(want) = field(desired, &["metadata", key]).and_then(Value::as_object) else {
            continue;
        };
        let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        if !meta.get(key).is_some_and(Value::is_object) {
            meta.insert(key.to_string(), Value::Object(Map::new()));
        }
        let Some(have) = meta.get_mut(key).and_then(Value::as_object_mut) else {
            continue;
        };
        for (k, v) in want {
            if !have.contains_key(k) {
                have.insert(k.clone(), v.clone());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Rule coverage: upstream's `validation.Covers` with `BreakdownRule`, as the
// escalation check computes it.

/// The pieces of `wanted` rules that no rule of `owned` covers, as rules
/// (each once).
pub fn uncovered_rules(owned: &[Value], wanted: &[Value]) -> Vec<Value> {
    let parse =
        |rules: &[Value]| -> Vec<PolicyRule> { rules.iter().map(PolicyRule::from_json).collect() };
    let (_, uncovered) = super::escalation::covers(&parse(owned), &parse(wanted));
    let mut out: Vec<Value> = Vec::new();
    for rule in uncovered.iter().map(PolicyRule::to_json) {
        if !out.contains(&rule) {
            out.push(rule);
        }
    }
    out
}

/// A label selector with empty or null fields dropped, for comparing
/// selectors as upstream's semantic equality does.
fn normalized_selector(sel: &Value) -> Value {
    match sel.as_object() {
        Some(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| match v {
                    Value::Null => false,
                    Value::Array(a) => !a.is_empty(),
                    Value::Object(o) => !o.is_empty(),
                    _ => true,
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        None => sel.clone(),
    }
}

// ---------------------------------------------------------------------------
// The decisions.

/// Reconciles a ClusterRole or Role: `existing` is the stored object, if
/// any (upstream's `computeReconciledRole`, additive).
pub fn reconcile_role(existing: Option<&Value>, desired: &Value) -> Reconcile {
    let Some(existing) = existing else {
        return Reconcile::Create(desired.clone());
    };
    if protected(existing) {
        return Reconcile::Unchanged;
    }
    let missing_rules = uncovered_rules(array(existing, "rules"), array(desired, "rules"));
    let want_agg = field(desired, &["aggregationRule"]);
    let have_agg = field(existing, &["aggregationRule"]);
    // Not an aggregated role in the policy: stop aggregating.
    let drop_agg = want_agg.is_none() && have_agg.is_some();
    let missing_selectors: Vec<Value> = match want_agg {
        Some(want) => {
            let have: Vec<Value> = have_agg
                .map(|h| array(h, "clusterRoleSelectors"))
                .unwrap_or(&[])
                .iter()
                .map(normalized_selector)
                .collect();
            array(want, "clusterRoleSelectors")
                .iter()
                .filter(|s| !have.contains(&normalized_selector(s)))
                .cloned()
                .collect()
        }
        None => Vec::new(),
    };
    if missing_rules.is_empty()
        && !drop_agg
        && missing_selectors.is_empty()
        && !lacks_metadata(existing, desired)
    {
        return Reconcile::Unchanged;
    }

    let mut out = existing.clone();
    merge_metadata(&mut out, desired);
    if !missing_rules.is_empty()
        && let Some(rules) = array_mut(&mut out, "rules")
    {
        rules.extend(missing_rules);
    }
    if let Some(m) = out.as_object_mut() {
        if drop_agg {
            m.shift_remove("aggregationRule");
        }
        if !missing_selectors.is_empty() {
            if !m.get("aggregationRule").is_some_and(Value::is_object) {
                m.insert("aggregationRule".into(), json!({}));
            }
            if let Some(selectors) = m
                .get_mut("aggregationRule")
                .and_then(|a| array_mut(a, "clusterRoleSelectors"))
            {
                selectors.extend(missing_selectors);
            }
        }
    }
    Reconcile::Update(out)
}

/// A subject with its defaults applied (`SetDefaults_Subject`), to compare.
fn subject_key(s: &Value) -> (String, String, String, String) {
    let kind = str_at(s, &["kind"]);
    let mut group = str_at(s, &["apiGroup"]);
    if group.is_empty() && (kind == "User" || kind == "Group") {
        group = GROUP;
    }
    (
        kind.to_string(),
        group.to_string(),
        str_at(s, &["name"]).to_string(),
        str_at(s, &["namespace"]).to_string(),
    )
}

/// A roleRef with its default API group applied, to compare.
fn role_ref_key(obj: &Value) -> (String, String, String) {
    let group = match str_at(obj, &["roleRef", "apiGroup"]) {
        "" => GROUP,
        g => g,
    };
    (
        group.to_string(),
        str_at(obj, &["roleRef", "kind"]).to_string(),
        str_at(obj, &["roleRef", "name"]).to_string(),
    )
}

/// Reconciles a ClusterRoleBinding or RoleBinding (upstream's
/// `computeReconciledRoleBinding`, additive).
pub fn reconcile_binding(existing: Option<&Value>, desired: &Value) -> Reconcile {
    let Some(existing) = existing else {
        return Reconcile::Create(desired.clone());
    };
    if protected(existing) {
        return Reconcile::Unchanged;
    }
    if role_ref_key(existing) != role_ref_key(desired) {
        return Reconcile::Recreate(desired.clone());
    }
    let have: Vec<_> = array(existing, "subjects")
        .iter()
        .map(subject_key)
        .collect();
    let missing: Vec<Value> = array(desired, "subjects")
        .iter()
        .filter(|s| !have.contains(&subject_key(s)))
        .cloned()
        .collect();
    if missing.is_empty() && !lacks_metadata(existing, desired) {
        return Reconcile::Unchanged;
    }
    let mut out = existing.clone();
    merge_metadata(&mut out, desired);
    if !missing.is_empty()
        && let Some(subjects) = array_mut(&mut out, "subjects")
    {
        subjects.extend(missing);
    }
    Reconcile::Update(out)
}

// ---------------------------------------------------------------------------
// Applying it.

type Decide = fn(Option<&Value>, &Value) -> Reconcile;

/// What was done to one object.
enum Applied {
    Created,
    Updated,
    Recreated,
    Unchanged,
}

impl Applied {
    fn of(decision: &Reconcile) -> Self {
        match decision {
            Reconcile::Create(_) => Applied::Created,
            Reconcile::Update(_) => Applied::Updated,
            Reconcile::Recreate(_) => Applied::Recreated,
            Reconcile::Unchanged => Applied::Unchanged,
        }
    }
}

/// Creates or reconciles the whole policy through the store: cluster roles,
/// cluster role bindings, roles, role bindings (upstream's order), one list
/// per kind. The namespaces of the namespaced objects (`kube-system`,
/// `kube-public`) must exist: [`crate::server::bootstrap`] creates them.
pub async fn ensure(store: &Store) -> Result<Summary> {
    let policy = objects();
    let kinds: [(&str, &[Value], Decide); 4] = [
        ("clusterroles", &policy.cluster_roles, reconcile_role),
        (
            "clusterrolebindings",
            &policy.cluster_role_bindings,
            reconcile_binding,
        ),
        ("roles", &policy.roles, reconcile_role),
        ("rolebindings", &policy.role_bindings, reconcile_binding),
    ];
    let started = std::time::Instant::now();
    let mut summary = Summary::default();
    let mut failures: Vec<anyhow::Error> = Vec::new();
    for (plural, desired, decide) in kinds {
        let res = store
            .registry()
            .by_key(&format!("{GROUP}/{plural}"))
            .ok_or_else(|| anyhow!("{plural}.{GROUP} not served"))?;
        let list = store
            .list(&res, None, &ListParams::default())
            .await
            .map_err(|e| anyhow!("cannot list {plural}: {}", e.message))?;
        let items = match list {
            Value::Object(mut m) => m.shift_remove("items"),
            _ => None,
        };
        let mut existing: HashMap<(String, String), Value> = match items {
            Some(Value::Array(items)) => items.into_iter().map(|o| (key_of(&o), o)).collect(),
            _ => HashMap::new(),
        };
        let jobs: Vec<_> = desired
            .iter()
            .map(|want| {
                let key = key_of(want);
                let current = existing.remove(&key);
                (key, want, current)
            })
            .collect();
        // Writes in flight together share the storage's durable commits.
        let res = &res;
        let outcomes: Vec<Result<Applied>> = futures::stream::iter(jobs)
            .map(|(key, want, current)| async move {
                apply_one(store, res, &key, want, current, decide).await
            })
            .buffered(WRITES_IN_FLIGHT)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Ok(Applied::Created) => summary.created += 1,
                Ok(Applied::Updated) => summary.updated += 1,
                Ok(Applied::Recreated) => summary.recreated += 1,
                Ok(Applied::Unchanged) => summary.unchanged += 1,
                Err(e) => {
                    tracing::error!("{e}");
                    failures.push(e);
                }
            }
        }
    }
    // As upstream, every object is tried; then the start fails if any could
    // not be reconciled (upstream kills the API server after retrying 30 s).
    if let Some(first) = failures.first() {
        bail!(
            "unable to initialize the bootstrap RBAC policy: {} object(s) failed, first: {first}",
            failures.len()
        );
    }
    if summary.created + summary.updated + summary.recreated > 0 {
        tracing::info!(
            created = summary.created,
            updated = summary.updated,
            recreated = summary.recreated,
            "bootstrap RBAC policy reconciled in {:?}",
            started.elapsed()
        );
    }
    Ok(summary)
}

/// Reconciles one object, reading it again and deciding anew when a write
/// meets a concurrent change (409, or 404 for an object deleted meanwhile).
async fn apply_one(
    store: &Store,
    res: &Arc<Resource>,
    (ns, name): &(String, String),
    want: &Value,
    mut current: Option<Value>,
    decide: Decide,
) -> Result<Applied> {
    let ns = (!ns.is_empty()).then_some(ns.as_str());
    let opts = WriteOptions {
        field_manager: FIELD_MANAGER.into(),
        ..WriteOptions::default()
    };
    let what = || match ns {
        Some(ns) => format!("{} {ns}/{name}", res.kind),
        None => format!("{} {name}", res.kind),
    };
    for _ in 0..ATTEMPTS {
        let decision = decide(current.as_ref(), want);
        let written = match &decision {
            Reconcile::Unchanged => return Ok(Applied::Unchanged),
            Reconcile::Create(obj) => store.create(res, ns, obj.clone(), &opts).await.map(drop),
            Reconcile::Update(obj) => store
                .update(res, ns, name, None, obj.clone(), &opts)
                .await
                .map(drop),
            Reconcile::Recreate(obj) => {
                let uid = current
                    .as_ref()
                    .map(|c| str_at(c, &["metadata", "uid"]))
                    .filter(|u| !u.is_empty())
                    .map(str::to_string);
                let del = DeleteOptions {
                    precondition_uid: uid,
                    ..DeleteOptions::default()
                };
                match store.delete(res, ns, name, &del).await {
                    Ok(_) => store.create(res, ns, obj.clone(), &opts).await.map(drop),
                    Err(e) => Err(e),
                }
            }
        };
        match written {
            Ok(()) => return Ok(Applied::of(&decision)),
            Err(e) if e.code == 409 || e.code == 404 => {
                current = match store.get(res, ns, name).await {
                    Ok(v) => Some(v),
                    Err(e) if e.code == 404 => None,
                    Err(e) => bail!("cannot read {}: {}", what(), e.message),
                };
            }
            Err(e) => bail!("cannot reconcile {}: {}", what(), e.message),
        }
    }
    bail!(
        "cannot reconcile {}: it kept changing ({ATTEMPTS} attempts)",
        what()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_name<'a>(list: &'a [Value], ns: &str, name: &str) -> &'a Value {
        list.iter()
            .find(|o| key_of(o) == (ns.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("{ns}/{name} not in the policy"))
    }

    fn subjects(obj: &Value) -> Vec<(String, String, String, String)> {
        array(obj, "subjects").iter().map(subject_key).collect()
    }

    fn group(name: &str) -> (String, String, String, String) {
        ("Group".into(), GROUP.into(), name.into(), String::new())
    }

    #[test]
    fn the_policy_parses_with_its_essential_objects() {
        let p = objects();
        assert!(p.cluster_roles.len() > 60, "{}", p.cluster_roles.len());
        assert!(p.cluster_role_bindings.len() > 40);
        assert_eq!(p.roles.len(), 7);
        assert_eq!(p.role_bindings.len(), 7);
        for (list, kind) in [
            (&p.cluster_roles, "ClusterRole"),
            (&p.cluster_role_bindings, "ClusterRoleBinding"),
            (&p.roles, "Role"),
            (&p.role_bindings, "RoleBinding"),
        ] {
            let mut keys = Vec::new();
            for o in list.iter() {
                assert_eq!(str_at(o, &["kind"]), kind);
                assert_eq!(str_at(o, &["apiVersion"]), "rbac.authorization.k8s.io/v1");
                assert_eq!(
                    str_at(o, &["metadata", "labels", "kubernetes.io/bootstrapping"]),
                    "rbac-defaults"
                );
                assert_eq!(
                    str_at(o, &["metadata", "annotations", AUTOUPDATE_ANNOTATION]),
                    "true"
                );
                for server_set in [
                    "uid",
                    "resourceVersion",
                    "creationTimestamp",
                    "managedFields",
                ] {
                    assert!(field(o, &["metadata", server_set]).is_none());
                }
                keys.push(key_of(o));
            }
            let mut sorted = keys.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(keys, sorted, "{kind}s sorted by (namespace, name), unique");
        }

        let admin = by_name(&p.cluster_roles, "", "cluster-admin");
        assert_eq!(
            admin["rules"],
            json!([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                   {"verbs": ["*"], "nonResourceURLs": ["*"]}])
        );
        let b = by_name(&p.cluster_role_bindings, "", "cluster-admin");
        assert_eq!(
            role_ref_key(b),
            (GROUP.into(), "ClusterRole".into(), "cluster-admin".into())
        );
        assert_eq!(subjects(b), vec![group("system:masters")]);

        for name in [
            "system:discovery",
            "system:basic-user",
            "system:public-info-viewer",
        ] {
            let role = by_name(&p.cluster_roles, "", name);
            assert!(!array(role, "rules").is_empty(), "{name}");
            let b = by_name(&p.cluster_role_bindings, "", name);
            assert_eq!(role_ref_key(b).2, name);
            assert!(
                subjects(b).contains(&group("system:authenticated")),
                "{name}"
            );
        }
        let public = by_name(&p.cluster_role_bindings, "", "system:public-info-viewer");
        assert!(subjects(public).contains(&group("system:unauthenticated")));
        let discovery = by_name(&p.cluster_roles, "", "system:discovery");
        assert!(
            PolicyRule::from_json(&discovery["rules"][0])
                .non_resource_urls
                .contains(&"/apis/*".to_string())
        );

        // The aggregated roles: a selector, no rules of their own.
        for (name, label) in [("admin", "admin"), ("edit", "edit"), ("view", "view")] {
            let role = by_name(&p.cluster_roles, "", name);
            assert_eq!(array(role, "rules").len(), 0, "{name}");
            assert_eq!(
                role["aggregationRule"]["clusterRoleSelectors"][0]["matchLabels"]
                    [format!("rbac.authorization.k8s.io/aggregate-to-{label}")],
                "true"
            );
            let part = by_name(
                &p.cluster_roles,
                "",
                &format!("system:aggregate-to-{label}"),
            );
            assert!(!array(part, "rules").is_empty());
        }

        // Every controller role is bound to its kube-system service account.
        let controllers: Vec<&Value> = p
            .cluster_roles
            .iter()
            .filter(|r| key_of(r).1.starts_with("system:controller:"))
            .collect();
        assert!(controllers.len() > 30, "{}", controllers.len());
        for role in controllers {
            let name = key_of(role).1;
            let sa = name.trim_start_matches("system:controller:");
            let b = by_name(&p.cluster_role_bindings, "", &name);
            assert_eq!(
                role_ref_key(b),
                (GROUP.into(), "ClusterRole".into(), name.clone())
            );
            assert_eq!(
                subjects(b),
                vec![(
                    "ServiceAccount".into(),
                    String::new(),
                    sa.into(),
                    "kube-system".into()
                )]
            );
        }
        by_name(
            &p.cluster_roles,
            "",
            "system:controller:namespace-controller",
        );
        by_name(
            &p.cluster_roles,
            "",
            "system:controller:generic-garbage-collector",
        );
    }

    #[test]
    fn every_binding_names_a_role_of_the_policy() {
        let p = objects();
        for b in &p.cluster_role_bindings {
            let (_, kind, name) = role_ref_key(b);
            assert_eq!(kind, "ClusterRole");
            by_name(&p.cluster_roles, "", &name);
        }
        for b in &p.role_bindings {
            let (ns, _) = key_of(b);
            let (_, kind, name) = role_ref_key(b);
            assert_eq!(kind, "Role");
            by_name(&p.roles, &ns, &name);
        }
        // Namespaced objects live in the system namespaces bootstrap creates.
        for o in p.roles.iter().chain(&p.role_bindings) {
            assert!(["kube-system", "kube-public"].contains(&key_of(o).0.as_str()));
        }
    }

    #[test]
    fn coverage_breaks_rules_down_as_upstream() {
        let owned = vec![
            json!({"verbs": ["get", "list"], "apiGroups": ["", "apps"], "resources": ["pods", "deployments"]}),
            json!({"verbs": ["*"], "apiGroups": ["batch"], "resources": ["*/status"]}),
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}),
            json!({"verbs": ["get"], "nonResourceURLs": ["/healthz", "/apis/*"]}),
        ];
        // Covered across two rules' pieces, by wildcards, by names, by URL prefix.
        for covered in [
            json!({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["pods"]}),
            json!({"verbs": ["update"], "apiGroups": ["batch"], "resources": ["jobs/status"]}),
            json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]}),
            json!({"verbs": ["get"], "nonResourceURLs": ["/apis/apps/v1", "/healthz"]}),
        ] {
            assert!(
                uncovered_rules(&owned, std::slice::from_ref(&covered)).is_empty(),
                "{covered}"
            );
        }
        // A named rule does not cover the unnamed piece; the pieces left out
        // come back one verb × one resource at a time.
        assert_eq!(
            uncovered_rules(
                &owned,
                &[
                    json!({"verbs": ["get", "watch"], "apiGroups": [""], "resources": ["configmaps", "pods"]})
                ]
            ),
            vec![
                json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}),
                json!({"verbs": ["watch"], "apiGroups": [""], "resources": ["configmaps"]}),
                json!({"verbs": ["watch"], "apiGroups": [""], "resources": ["pods"]}),
            ]
        );
        assert_eq!(
            uncovered_rules(
                &owned,
                &[
                    json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a", "b"]})
                ]
            ),
            vec![
                json!({"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["b"]})
            ]
        );
        assert_eq!(
            uncovered_rules(
                &owned,
                &[json!({"verbs": ["get"], "nonResourceURLs": ["/api", "/apis"]})]
            ),
            vec![
                json!({"verbs": ["get"], "nonResourceURLs": ["/api"]}),
                json!({"verbs": ["get"], "nonResourceURLs": ["/apis"]}),
            ]
        );
        // cluster-admin covers everything in the policy.
        let admin = by_name(&objects().cluster_roles, "", "cluster-admin");
        for role in objects().cluster_roles.iter().chain(&objects().roles) {
            assert!(uncovered_rules(array(admin, "rules"), array(role, "rules")).is_empty());
        }
    }

    fn stored(mut obj: Value) -> Value {
        obj["metadata"]["uid"] = json!("u-1");
        obj["metadata"]["resourceVersion"] = json!("42");
        obj
    }

    fn role(rules: Value) -> Value {
        json!({"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1",
               "metadata": {"name": "r", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                            "annotations": {AUTOUPDATE_ANNOTATION: "true"}},
               "rules": rules})
    }

    #[test]
    fn reconciling_a_role() {
        let desired = role(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["create"], "apiGroups": [""], "resources": ["events"]},
        ]));
        assert_eq!(
            reconcile_role(None, &desired),
            Reconcile::Create(desired.clone())
        );
        assert_eq!(
            reconcile_role(Some(&stored(desired.clone())), &desired),
            Reconcile::Unchanged
        );

        // A missing rule is added; an extra rule, labels and annotations are kept.
        let mut existing = stored(role(json!([
            {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
            {"verbs": ["delete"], "apiGroups": [""], "resources": ["secrets"]},
        ])));
        existing["metadata"]["labels"] = json!({"mine": "yes"});
        existing["metadata"]["annotations"] = json!({AUTOUPDATE_ANNOTATION: "true", "note": "x"});
        let Reconcile::Update(out) = reconcile_role(Some(&existing), &desired) else {
            panic!("an update")
        };
        assert_eq!(
            out["rules"],
            json!([
                {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]},
                {"verbs": ["delete"], "apiGroups": [""], "resources": ["secrets"]},
                {"verbs": ["create"], "apiGroups": [""], "resources": ["events"]},
            ])
        );
        assert_eq!(
            out["metadata"]["labels"],
            json!({"mine": "yes", "kubernetes.io/bootstrapping": "rbac-defaults"})
        );
        assert_eq!(out["metadata"]["annotations"]["note"], "x");
        assert_eq!(out["metadata"]["resourceVersion"], "42");
        assert_eq!(reconcile_role(Some(&out), &desired), Reconcile::Unchanged);

        // Protected: left alone whatever it lacks.
        let mut prot = stored(role(json!([])));
        prot["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
        assert_eq!(reconcile_role(Some(&prot), &desired), Reconcile::Unchanged);

        // An existing annotation value wins over the policy's.
        let mut other = stored(desired.clone());
        other["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("sometimes");
        assert_eq!(reconcile_role(Some(&other), &desired), Reconcile::Unchanged);
    }

    #[test]
    fn reconciling_an_aggregated_role() {
        let p = objects();
        let desired = by_name(&p.cluster_roles, "", "admin");
        // Filled in by the aggregation controller: rules are not reconciled.
        let mut filled = stored(desired.clone());
        filled["rules"] = json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}]);
        assert_eq!(reconcile_role(Some(&filled), desired), Reconcile::Unchanged);
        // Selectors are a union.
        let mut extra = filled.clone();
        extra["aggregationRule"]["clusterRoleSelectors"] =
            json!([{"matchLabels": {"mine": "true"}}]);
        let Reconcile::Update(out) = reconcile_role(Some(&extra), desired) else {
            panic!("an update")
        };
        assert_eq!(
            out["aggregationRule"]["clusterRoleSelectors"],
            json!([{"matchLabels": {"mine": "true"}},
                   {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}])
        );
        assert_eq!(out["rules"], filled["rules"]);
        // Lost entirely: back.
        let mut lost = filled.clone();
        if let Some(m) = lost.as_object_mut() {
            m.shift_remove("aggregationRule");
        }
        let Reconcile::Update(out) = reconcile_role(Some(&lost), desired) else {
            panic!("an update")
        };
        assert_eq!(out["aggregationRule"], desired["aggregationRule"]);
        // An aggregation rule the policy does not define is dropped.
        let plain = by_name(&p.cluster_roles, "", "system:basic-user");
        let mut agg = stored(plain.clone());
        agg["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]});
        let Reconcile::Update(out) = reconcile_role(Some(&agg), plain) else {
            panic!("an update")
        };
        assert!(out.get("aggregationRule").is_none());
    }

    fn binding(role: &str, subjects: Value) -> Value {
        json!({"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1",
               "metadata": {"name": "b", "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                            "annotations": {AUTOUPDATE_ANNOTATION: "true"}},
               "subjects": subjects,
               "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role}})
    }

    #[test]
    fn reconciling_a_binding() {
        let desired = binding(
            "r",
            json!([{"kind": "Group", "apiGroup": GROUP, "name": "system:authenticated"},
                   {"kind": "ServiceAccount", "name": "sa", "namespace": "kube-system"}]),
        );
        assert_eq!(
            reconcile_binding(None, &desired),
            Reconcile::Create(desired.clone())
        );
        assert_eq!(
            reconcile_binding(Some(&stored(desired.clone())), &desired),
            Reconcile::Unchanged
        );
        // A missing subject is added, an extra one kept; defaults compare equal.
        let existing = stored(binding(
            "r",
            json!([{"kind": "User", "apiGroup": GROUP, "name": "alice"},
                   {"kind": "ServiceAccount", "apiGroup": "", "name": "sa", "namespace": "kube-system"}]),
        ));
        let Reconcile::Update(out) = reconcile_binding(Some(&existing), &desired) else {
            panic!("an update")
        };
        assert_eq!(
            out["subjects"],
            json!([{"kind": "User", "apiGroup": GROUP, "name": "alice"},
                   {"kind": "ServiceAccount", "apiGroup": "", "name": "sa", "namespace": "kube-system"},
                   {"kind": "Group", "apiGroup": GROUP, "name": "system:authenticated"}])
        );
        assert_eq!(out["metadata"]["uid"], "u-1");
        // Another roleRef: delete and create.
        let moved = stored(binding("other", desired["subjects"].clone()));
        assert_eq!(
            reconcile_binding(Some(&moved), &desired),
            Reconcile::Recreate(desired.clone())
        );
        // Protected, even with another roleRef.
        let mut prot = moved.clone();
        prot["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
        assert_eq!(
            reconcile_binding(Some(&prot), &desired),
            Reconcile::Unchanged
        );
        // An empty roleRef.apiGroup is RBAC's.
        let mut defaulted = stored(desired.clone());
        defaulted["roleRef"]["apiGroup"] = json!("");
        assert_eq!(
            reconcile_binding(Some(&defaulted), &desired),
            Reconcile::Unchanged
        );
    }

    async fn resource_versions(store: &Store) -> Vec<((String, String, String), String)> {
        let mut out = Vec::new();
        for plural in [
            "clusterroles",
            "clusterrolebindings",
            "roles",
            "rolebindings",
        ] {
            let res = store
                .registry()
                .by_key(&format!("{GROUP}/{plural}"))
                .expect("served");
            let list = store
                .list(&res, None, &ListParams::default())
                .await
                .expect("list");
            for o in array(&list, "items") {
                let (ns, name) = key_of(o);
                out.push((
                    (plural.to_string(), ns, name),
                    str_at(o, &["metadata", "resourceVersion"]).to_string(),
                ));
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn ensure_creates_then_keeps_then_repairs() {
        let state = crate::server::memory_state("t").await.expect("state");
        let store = &state.store;
        let p = objects();
        let total = p.cluster_roles.len()
            + p.cluster_role_bindings.len()
            + p.roles.len()
            + p.role_bindings.len();

        // memory_state ran it once already: everything is there.
        let before = resource_versions(store).await;
        assert_eq!(before.len(), total);

        // On a fresh store (namespaces only), timed.
        let fresh = Store::new(
            Arc::new(
                crate::storage::mvcc::MvccStore::open(
                    crate::storage::mvcc::NoPersistence,
                    crate::storage::mvcc::Config::default(),
                )
                .expect("storage"),
            ),
            store.openapi().clone(),
        );
        crate::server::bootstrap(&fresh).await.expect("bootstrap");
        let t = std::time::Instant::now();
        let first = ensure(&fresh).await.expect("ensure");
        let create_time = t.elapsed();
        assert_eq!(first.created, total, "{first:?}");
        let t = std::time::Instant::now();
        let second = ensure(&fresh).await.expect("ensure");
        let noop_time = t.elapsed();
        assert_eq!(
            second,
            Summary {
                unchanged: total,
                ..Summary::default()
            }
        );
        eprintln!(
            "bootstrap policy: {total} objects created in {create_time:?}, reconciled unchanged in {noop_time:?}"
        );

        // A second run on the state changes nothing.
        let again = ensure(store).await.expect("ensure");
        assert_eq!(again.unchanged, total);
        assert_eq!(resource_versions(store).await, before);

        // The created objects are the policy's (plus server-set metadata).
        let cr = store
            .registry()
            .by_key(&format!("{GROUP}/clusterroles"))
            .expect("served");
        let admin = store.get(&cr, None, "cluster-admin").await.expect("get");
        assert_eq!(
            admin["rules"],
            by_name(&p.cluster_roles, "", "cluster-admin")["rules"]
        );
        assert_eq!(
            str_at(&admin, &["metadata", "annotations", AUTOUPDATE_ANNOTATION]),
            "true"
        );
        // Written by the API server itself, as upstream's managed fields say.
        let managed = &admin["metadata"]["managedFields"][0];
        assert_eq!(
            (&managed["manager"], &managed["operation"]),
            (&json!("kube-apiserver"), &json!("Update"))
        );

        // A role that lost a rule gets (the pieces of) it back; the rest stays.
        let name = "system:controller:job-controller";
        let want = by_name(&p.cluster_roles, "", name);
        let mut cut = store.get(&cr, None, name).await.expect("get");
        let removed = array(&cut, "rules")[0].clone();
        if let Some(rules) = cut["rules"].as_array_mut() {
            rules.remove(0);
        }
        store
            .update(&cr, None, name, None, cut, &WriteOptions::default())
            .await
            .expect("update");
        let s = ensure(store).await.expect("ensure");
        assert_eq!(s.updated, 1, "{s:?}");
        let repaired = store.get(&cr, None, name).await.expect("get");
        assert!(uncovered_rules(array(&repaired, "rules"), array(want, "rules")).is_empty());
        assert!(uncovered_rules(array(&repaired, "rules"), &[removed]).is_empty());
        assert_eq!(ensure(store).await.expect("ensure").unchanged, total);

        // A protected role is left as it is.
        let mut prot = store.get(&cr, None, "system:discovery").await.expect("get");
        prot["metadata"]["annotations"][AUTOUPDATE_ANNOTATION] = json!("false");
        prot["rules"] = json!([{"verbs": ["get"], "nonResourceURLs": ["/version"]}]);
        let written = store
            .update(
                &cr,
                None,
                "system:discovery",
                None,
                prot,
                &WriteOptions::default(),
            )
            .await
            .expect("update")
            .object;
        assert_eq!(ensure(store).await.expect("ensure").unchanged, total);
        let kept = store.get(&cr, None, "system:discovery").await.expect("get");
        assert_eq!(kept, written);

        // A binding that lost a subject gets it back; one bound to another
        // role is deleted and created again.
        let crb = store
            .registry()
            .by_key(&format!("{GROUP}/clusterrolebindings"))
            .expect("served");
        let mut pub_b = store
            .get(&crb, None, "system:public-info-viewer")
            .await
            .expect("get");
        pub_b["subjects"] = json!([{"kind": "User", "apiGroup": GROUP, "name": "alice"}]);
        store
            .update(
                &crb,
                None,
                "system:public-info-viewer",
                None,
                pub_b,
                &WriteOptions::default(),
            )
            .await
            .expect("update");
        store
            .delete(&crb, None, "system:basic-user", &DeleteOptions::default())
            .await
            .expect("delete");
        let mut moved = by_name(&p.cluster_role_bindings, "", "system:basic-user").clone();
        moved["roleRef"]["name"] = json!("view");
        store
            .create(&crb, None, moved, &WriteOptions::default())
            .await
            .expect("create");
        let s = ensure(store).await.expect("ensure");
        assert_eq!((s.updated, s.recreated), (1, 1), "{s:?}");
        let pub_b = store
            .get(&crb, None, "system:public-info-viewer")
            .await
            .expect("get");
        assert_eq!(
            subjects(&pub_b),
            vec![
                ("User".into(), GROUP.into(), "alice".into(), String::new()),
                group("system:authenticated"),
                group("system:unauthenticated"),
            ]
        );
        let basic = store
            .get(&crb, None, "system:basic-user")
            .await
            .expect("get");
        assert_eq!(role_ref_key(&basic).2, "system:basic-user");
        assert_eq!(ensure(store).await.expect("ensure").unchanged, total);

        // Deleted objects come back, namespaced ones included.
        let rb = store
            .registry()
            .by_key(&format!("{GROUP}/rolebindings"))
            .expect("served");
        store
            .delete(
                &rb,
                Some("kube-public"),
                "system:controller:bootstrap-signer",
                &DeleteOptions::default(),
            )
            .await
            .expect("delete");
        assert_eq!(ensure(store).await.expect("ensure").created, 1);
        store
            .get(
                &rb,
                Some("kube-public"),
                "system:controller:bootstrap-signer",
            )
            .await
            .expect("recreated");
    }
}
