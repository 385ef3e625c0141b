//! ClusterRole aggregation (upstream
//! `pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go`):
//! a ClusterRole with an `aggregationRule` gets, as its `rules`, the rules of
//! every other ClusterRole that one of its `clusterRoleSelectors` selects —
//! selector by selector, the selected roles sorted by name, each rule
//! appended unless an equal one is already there. This is how the
//! `admin`/`edit`/`view` roles gather the rules of the roles labelled
//! `rbac.authorization.k8s.io/aggregate-to-{admin,edit,view}`.
//!
//! As upstream, any ClusterRole added, updated or deleted queues every
//! aggregating ClusterRole (the set is small and the dependency graph is not
//! tracked); a role is written only when its rules change, by server-side
//! apply as field manager `clusterrole-aggregation-controller` (forced),
//! falling back to an update if the server refuses apply (415).
//!
//! The pure decisions (selectors, the merge, equality, the apply body) are
//! plain functions with unit tests at the bottom; the rest is the I/O loop.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::rbac::v1::{AggregationRule, ClusterRole, PolicyRule};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{Map, Value, json};

use crate::apimachinery::labels::{self, Selector};
use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::informer::Informer;
use crate::controllers::shared::workqueue::{Queue, run_workers};

/// The field manager of the controller's applies (upstream's).
pub const FIELD_MANAGER: &str = "clusterrole-aggregation-controller";

/// Workers, as kube-controller-manager starts the controller with
/// (`cmd/kube-controller-manager/app/rbac.go`).
const WORKERS: usize = 5;

/// Per-key retry back-off: client-go's default controller rate limiter
/// doubles from 5 ms up to 1000 s for a key that keeps failing.
const BACKOFF_BASE: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1000);

// ---------------------------------------------------------------------------
// Pure logic

/// The selectors of an aggregation rule, as `metav1.LabelSelectorAsSelector`
/// converts them (an empty selector selects every role).
pub fn selectors(rule: &AggregationRule) -> Result<Vec<Selector>, String> {
    rule.cluster_role_selectors
        .iter()
        .flatten()
        .map(|s| {
            let v = serde_json::to_value(s).map_err(|e| e.to_string())?;
            labels::from_label_selector(Some(&v))
        })
        .collect()
}

/// Whether `selector` selects an object with these labels.
pub fn selects(selector: &Selector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let map: Option<Map<String, Value>> = labels.map(|l| {
        l.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    });
    selector.matches(map.as_ref())
}

/// The rules of the ClusterRole `name` aggregating with `selectors` from
/// `roles` (every ClusterRole, in any order): for each selector in turn, the
/// selected roles other than `name` sorted by name, and their rules in
/// order, each appended unless an equal rule ([`same_rule`]) is already
/// there.
pub fn aggregate(name: &str, selectors: &[Selector], roles: &[&ClusterRole]) -> Vec<PolicyRule> {
    let mut out: Vec<PolicyRule> = Vec::new();
    for selector in selectors {
        let mut selected: Vec<&ClusterRole> = roles
            .iter()
            .copied()
            .filter(|r| selects(selector, r.metadata.labels.as_ref()))
            .collect();
        selected.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for role in selected {
            if role.metadata.name.as_deref() == Some(name) {
                continue;
            }
            for rule in role.rules.iter().flatten() {
                if !out.iter().any(|r| same_rule(r, rule)) {
                    out.push(rule.clone());
                }
            }
        }
    }
    out
}

/// `equality.Semantic.DeepEqual` of two rules: every list equal in order,
/// an absent list equal to an empty one.
pub fn same_rule(a: &PolicyRule, b: &PolicyRule) -> bool {
    fn list(l: &Option<Vec<String>>) -> &[String] {
        l.as_deref().unwrap_or_default()
    }
    a.verbs == b.verbs
        && list(&a.api_groups) == list(&b.api_groups)
        && list(&a.resources) == list(&b.resources)
        && list(&a.resource_names) == list(&b.resource_names)
        && list(&a.non_resource_urls) == list(&b.non_resource_urls)
}

/// `equality.Semantic.DeepEqual` of two rule lists (absent equals empty).
pub fn same_rules(a: &[PolicyRule], b: Option<&[PolicyRule]>) -> bool {
    let b = b.unwrap_or_default();
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_rule(x, y))
}

/// The apply configuration the controller sends: the role's name and its
/// rules only, empty lists left out (upstream's apply configurations omit
/// them; with no rules at all, `rules` is left out and the apply gives up
/// the controller's ownership of them).
pub fn apply_body(name: &str, rules: &[PolicyRule]) -> Value {
    let mut body = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
    });
    if !rules.is_empty() {
        let rules: Vec<Value> = rules.iter().map(apply_rule).collect();
        body["rules"] = Value::Array(rules);
    }
    body
}

fn apply_rule(rule: &PolicyRule) -> Value {
    let mut out = Map::new();
    let mut put = |key: &str, list: Option<&Vec<String>>| {
        if let Some(l) = list.filter(|l| !l.is_empty()) {
            out.insert(key.to_string(), json!(l));
        }
    };
    put("verbs", Some(&rule.verbs));
    put("apiGroups", rule.api_groups.as_ref());
    put("resources", rule.resources.as_ref());
    put("resourceNames", rule.resource_names.as_ref());
    put("nonResourceURLs", rule.non_resource_urls.as_ref());
    Value::Object(out)
}

/// The delay before the `failures`-th retry of a key (1-based).
fn backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(40);
    BACKOFF_BASE
        .checked_mul(1u32 << exp.min(31))
        .unwrap_or(BACKOFF_MAX)
        .min(BACKOFF_MAX)
}

// ---------------------------------------------------------------------------
// The loop

struct Ctx {
    api: Api<ClusterRole>,
    roles: Arc<Informer<ClusterRole>>,
    /// Consecutive failures per key (client-go's rate limiter's memory).
    failures: Mutex<HashMap<String, u32>>,
}

pub async fn run(client: kube::Client) {
    let api: Api<ClusterRole> = Api::all(client);
    let (roles, informer_task) = Informer::start(api.clone(), watcher::Config::default());
    let queue: Arc<Queue<String>> = Queue::new();
    // Only "something changed" matters: every change queues every
    // aggregating role, so a burst of changes queues them once.
    let mut changes = roles.subscribe_map(|_| ());
    let (q, inf) = (queue.clone(), roles.clone());
    let handler = tokio::spawn(async move {
        while changes.recv().await.is_some() {
            while changes.try_recv().is_ok() {}
            enqueue_aggregating(&inf, &q);
        }
    });
    let _tasks = [AbortOnDrop(informer_task), AbortOnDrop(handler)];
    roles.wait_synced().await;
    let ctx = Arc::new(Ctx {
        api,
        roles,
        failures: Mutex::new(HashMap::new()),
    });
    run_workers(queue, WORKERS, move |name: String| {
        let ctx = ctx.clone();
        async move {
            let result = sync(&ctx, &name).await;
            let mut failures = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(()) => {
                    failures.remove(&name);
                    None
                }
                Err(e) => {
                    let n = failures.entry(name.clone()).or_insert(0);
                    *n = n.saturating_add(1);
                    tracing::debug!(error = %e, clusterrole = %name, "clusterrole aggregation retry");
                    Some(backoff(*n))
                }
            }
        }
    })
    .await;
}

/// Queues every ClusterRole that has an aggregation rule.
fn enqueue_aggregating(roles: &Informer<ClusterRole>, queue: &Queue<String>) {
    for role in roles.cache().list() {
        if role.aggregation_rule.is_some()
            && let Some(name) = &role.metadata.name
        {
            queue.add(name.clone());
        }
    }
}

async fn sync(ctx: &Ctx, name: &str) -> Result<(), String> {
    let Some(role) = ctx.roles.cache().get("", name) else {
        return Ok(());
    };
    let Some(rule) = role.aggregation_rule.as_ref() else {
        return Ok(());
    };
    let selectors = selectors(rule)?;
    let all = ctx.roles.cache().list();
    let refs: Vec<&ClusterRole> = all.iter().map(|r| r.as_ref()).collect();
    let rules = aggregate(name, &selectors, &refs);
    if same_rules(&rules, role.rules.as_deref()) {
        return Ok(());
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match ctx
        .api
        .patch(name, &params, &Patch::Apply(apply_body(name, &rules)))
        .await
    {
        Ok(_) => Ok(()),
        // A server without server-side apply: update instead, as upstream.
        Err(kube::Error::Api(s)) if s.code == 415 => {
            let mut updated = (*role).clone();
            updated.rules = (!rules.is_empty()).then_some(rules);
            ctx.api
                .replace(name, &PostParams::default(), &updated)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        LabelSelector, LabelSelectorRequirement, ObjectMeta,
    };

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> PolicyRule {
        let list = |l: &[&str]| Some(l.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: list(groups),
            resources: list(resources),
            ..Default::default()
        }
    }

    fn role(name: &str, labels: &[(&str, &str)], rules: Vec<PolicyRule>) -> ClusterRole {
        ClusterRole {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: (!labels.is_empty()).then(|| {
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                }),
                ..Default::default()
            },
            rules: Some(rules),
            ..Default::default()
        }
    }

    fn match_labels(k: &str, v: &str) -> LabelSelector {
        LabelSelector {
            match_labels: Some(BTreeMap::from([(k.to_string(), v.to_string())])),
            ..Default::default()
        }
    }

    fn sels(s: Vec<LabelSelector>) -> Vec<Selector> {
        selectors(&AggregationRule {
            cluster_role_selectors: Some(s),
        })
        .expect("valid selectors")
    }

    #[test]
    fn merges_per_selector_by_name_without_duplicates_or_itself() {
        let (r1, r2, r3, r4) = (
            rule(&["get"], &[""], &["pods"]),
            rule(&["list"], &[""], &["pods"]),
            rule(&["get"], &["apps"], &["deployments"]),
            rule(&["watch"], &[""], &["services"]),
        );
        let roles = [
            // Given first, sorted after a-role.
            role("b-role", &[("x", "true")], vec![r1.clone(), r2.clone()]),
            role("a-role", &[("x", "true")], vec![r2.clone(), r3.clone()]),
            role("c-role", &[("y", "1")], vec![r1.clone(), r4.clone()]),
            // Not selected.
            role(
                "d-role",
                &[("x", "false")],
                vec![rule(&["*"], &["*"], &["*"])],
            ),
            // Selects itself: its own rules are not taken.
            role(
                "agg",
                &[("x", "true")],
                vec![rule(&["delete"], &[""], &["x"])],
            ),
        ];
        let refs: Vec<&ClusterRole> = roles.iter().collect();
        let selectors = sels(vec![
            match_labels("x", "true"),
            LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "y".into(),
                    operator: "Exists".into(),
                    values: None,
                }]),
                ..Default::default()
            },
        ]);
        let got = aggregate("agg", &selectors, &refs);
        assert_eq!(got, vec![r2.clone(), r3, r1.clone(), r4.clone()]);
        // Without a-role.
        let refs: Vec<&ClusterRole> = roles
            .iter()
            .filter(|r| r.metadata.name.as_deref() != Some("a-role"))
            .collect();
        assert_eq!(aggregate("agg", &selectors, &refs), vec![r1, r2, r4]);
    }

    #[test]
    fn selectors_cover_match_expressions_and_the_empty_selector() {
        let labelled = BTreeMap::from([("tier".to_string(), "a".to_string())]);
        let s = sels(vec![
            LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "In".into(),
                    values: Some(vec!["a".into(), "b".into()]),
                }]),
                ..Default::default()
            },
            LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "tier".into(),
                    operator: "DoesNotExist".into(),
                    values: None,
                }]),
                ..Default::default()
            },
            LabelSelector::default(),
        ]);
        assert!(selects(&s[0], Some(&labelled)));
        assert!(!selects(&s[0], None));
        assert!(!selects(&s[1], Some(&labelled)));
        assert!(selects(&s[1], None));
        // `{}` selects everything.
        assert!(selects(&s[2], None));
        assert!(selects(&s[2], Some(&labelled)));
        let bad = selectors(&AggregationRule {
            cluster_role_selectors: Some(vec![LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "k".into(),
                    operator: "Foo".into(),
                    values: None,
                }]),
                ..Default::default()
            }]),
        });
        assert!(bad.is_err());
        // No selectors: nothing is aggregated.
        assert!(
            selectors(&AggregationRule {
                cluster_role_selectors: None
            })
            .is_ok_and(|s| s.is_empty())
        );
    }

    #[test]
    fn equality_treats_absent_and_empty_lists_alike() {
        let a = rule(&["get"], &[""], &["pods"]);
        let mut b = a.clone();
        b.resource_names = Some(vec![]);
        assert!(same_rule(&a, &b));
        b.resource_names = Some(vec!["x".into()]);
        assert!(!same_rule(&a, &b));
        // Order matters, as in upstream's DeepEqual.
        let c = rule(&["get"], &[""], &["pods", "services"]);
        let d = rule(&["get"], &[""], &["services", "pods"]);
        assert!(!same_rule(&c, &d));
        assert!(same_rules(&[], None));
        assert!(same_rules(&[], Some(&[])));
        assert!(!same_rules(std::slice::from_ref(&a), None));
        assert!(!same_rules(
            &[a.clone(), c.clone()],
            Some(&[c.clone(), a.clone()])
        ));
        // A role whose rules equal an earlier one's are merged away.
        let roles = [
            role("a", &[("x", "1")], vec![a.clone()]),
            role(
                "b",
                &[("x", "1")],
                vec![b.clone(), {
                    let mut e = a.clone();
                    e.resources = Some(vec!["pods".into()]);
                    e.non_resource_urls = Some(vec![]);
                    e
                }],
            ),
        ];
        let refs: Vec<&ClusterRole> = roles.iter().collect();
        assert_eq!(
            aggregate("agg", &sels(vec![match_labels("x", "1")]), &refs),
            vec![a, b]
        );
    }

    #[test]
    fn the_apply_body_holds_the_name_and_the_non_empty_lists() {
        let mut r = rule(&["get", "list"], &[""], &["pods"]);
        r.resource_names = Some(vec![]);
        let nonresource = PolicyRule {
            verbs: vec!["get".into()],
            non_resource_urls: Some(vec!["/healthz".into()]),
            ..Default::default()
        };
        assert_eq!(
            apply_body("agg", &[r, nonresource]),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "agg"},
                "rules": [
                    {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]},
                    {"verbs": ["get"], "nonResourceURLs": ["/healthz"]},
                ],
            })
        );
        assert_eq!(
            apply_body("agg", &[]),
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "agg"},
            })
        );
    }

    #[test]
    fn backoff_doubles_from_5ms_to_1000s() {
        assert_eq!(backoff(1), Duration::from_millis(5));
        assert_eq!(backoff(2), Duration::from_millis(10));
        assert_eq!(backoff(5), Duration::from_millis(80));
        assert_eq!(backoff(30), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }

    /// The controller against the whole in-process API server: roles
    /// appear, change and go; the aggregating role follows, written by apply
    /// as the controller's field manager, and only when its rules change.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn follows_the_selected_roles_through_the_api() {
        const TOKEN: &str = "t";
        let state = crate::server::memory_state(TOKEN).await.expect("state");
        let router = crate::apiserver::app(state);
        let client = crate::controllers::in_process_client(router, TOKEN, "test");
        let task = tokio::spawn(run(client.clone()));
        let api: Api<ClusterRole> = Api::all(client);
        let pp = PostParams::default();
        let label = "rbac.example.com/aggregate-to-agg";
        let mut agg = role("agg", &[], vec![]);
        agg.rules = None;
        agg.aggregation_rule = Some(AggregationRule {
            cluster_role_selectors: Some(vec![match_labels(label, "true")]),
        });
        api.create(&pp, &agg).await.expect("create agg");
        let (r1, r2, r3) = (
            rule(&["get"], &[""], &["pods"]),
            rule(&["list"], &[""], &["pods"]),
            rule(&["get"], &["apps"], &["deployments"]),
        );
        api.create(
            &pp,
            &role("b", &[(label, "true")], vec![r1.clone(), r2.clone()]),
        )
        .await
        .expect("create b");
        api.create(
            &pp,
            &role("a", &[(label, "true")], vec![r2.clone(), r3.clone()]),
        )
        .await
        .expect("create a");
        let wait = |want: Vec<PolicyRule>| {
            let api = api.clone();
            async move {
                for _ in 0..400 {
                    let got = api.get("agg").await.expect("get agg");
                    if same_rules(&want, got.rules.as_deref()) {
                        return got;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                panic!("agg never got {want:?}");
            }
        };
        let got = wait(vec![r2.clone(), r3.clone(), r1.clone()]).await;
        let managers: Vec<(String, String)> = got
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .map(|m| {
                (
                    m.manager.clone().unwrap_or_default(),
                    m.operation.clone().unwrap_or_default(),
                )
            })
            .collect();
        assert!(
            managers.contains(&(FIELD_MANAGER.to_string(), "Apply".to_string())),
            "{managers:?}"
        );
        // An unrelated change leaves agg alone (no write without a change).
        let rv = got.metadata.resource_version.clone();
        api.create(&pp, &role("z", &[], vec![rule(&["*"], &["*"], &["*"])]))
            .await
            .expect("create z");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = api.get("agg").await.expect("get agg");
        assert_eq!(again.metadata.resource_version, rv);
        // A role leaving: the rules shrink; all gone: no rules.
        api.delete("a", &Default::default())
            .await
            .expect("delete a");
        wait(vec![r1, r2]).await;
        api.delete("b", &Default::default())
            .await
            .expect("delete b");
        let got = wait(vec![]).await;
        assert_eq!(got.rules, None);
        task.abort();
    }
}
