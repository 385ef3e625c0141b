//! The garbage collector: `ownerReferences` drive cascading deletion.
//! Upstream: `pkg/controller/garbagecollector/garbagecollector.go` and
//! `graph_builder.go`.
//!
//! A graph of every object (uid → owners) is fed by one monitor (a watch) per
//! resource. Which resources are monitored comes from discovery, as upstream's
//! `GetDeletableResources`: every resource of a preferred version that
//! supports `list`, `watch` and `delete`, but events. Discovery is re-checked
//! every [`RESYNC`] (upstream: 30 s; ironkube serves tests, which create a
//! CustomResourceDefinition and use it at once), and monitors start or stop
//! only for resources that appeared, vanished or changed.
//!
//! Work items are uids:
//! - an object whose owners are all gone is deleted (Background, or
//!   Foreground when an owner waits for it); dangling references beside live
//!   owners are removed instead;
//! - an owner deleted with `propagationPolicy: Orphan` (finalizer `orphan`)
//!   has the reference removed from its dependents, then the finalizer;
//! - an owner deleted with `Foreground` (finalizer `foregroundDeletion`) has
//!   its dependents deleted, and loses the finalizer once no dependent that
//!   blocks owner deletion remains.
//!
//! "Gone" is always confirmed by a live read with a uid check, as upstream's
//! `isDangling` does, so a watcher that has not caught up cannot cause a
//! wrong deletion. An owner reference is resolved to a resource through
//! discovery (upstream's RESTMapper); a kind that discovery does not serve
//! in that version is retried, not taken as gone, as upstream's
//! `restMappingError` (the kind may be a custom resource not discovered yet).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::controllers::shared::AbortOnDrop;
use crate::controllers::shared::discovery::{DiscoveredResource, Discovery, DiscoveryClient, Gvr};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

/// How often discovery is re-checked for resources to start or stop
/// monitoring (two requests, `304`s when nothing changed).
pub const RESYNC: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
struct Node {
    res: Arc<DiscoveredResource>,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

enum Change {
    /// Time to look at pending items again.
    Tick,
    Upsert(Arc<DiscoveredResource>, Box<DynamicObject>),
    Delete(Box<DynamicObject>),
    /// Discovery answered a different set of resources.
    Discovered(Discovery),
}

/// Resources the collector monitors: those of preferred versions that
/// support `list`, `watch` and `delete` (`GetDeletableResources` in
/// `garbagecollector.go`), but events (core and events.k8s.io), which
/// upstream's collector ignores (`DefaultIgnoredResources`).
fn monitored(discovery: &Discovery) -> BTreeMap<Gvr, Arc<DiscoveredResource>> {
    discovery
        .preferred()
        .filter(|r| r.supports_all(&["list", "watch", "delete"]))
        .filter(|r| !(r.plural == "events" && (r.group.is_empty() || r.group == "events.k8s.io")))
        .map(|r| (r.gvr(), r.clone()))
        .collect()
}

/// What to stop and what to start to go from the `running` monitors to the
/// `wanted` ones: vanished resources stop, new ones start, and one whose
/// kind or scope changed restarts. Each list in resource order.
fn plan(
    running: &BTreeMap<Gvr, Arc<DiscoveredResource>>,
    wanted: &BTreeMap<Gvr, Arc<DiscoveredResource>>,
) -> (Vec<Gvr>, Vec<Arc<DiscoveredResource>>) {
    let changed = |old: &DiscoveredResource, new: &DiscoveredResource| {
        old.kind != new.kind || old.namespaced != new.namespaced
    };
    let stop = running
        .iter()
        .filter(|(gvr, old)| wanted.get(*gvr).is_none_or(|new| changed(old, new)))
        .map(|(gvr, _)| gvr.clone())
        .collect();
    let start = wanted
        .iter()
        .filter(|(gvr, new)| running.get(*gvr).is_none_or(|old| changed(old, new)))
        .map(|(_, new)| new.clone())
        .collect();
    (stop, start)
}

/// The running monitors; dropping this (the collector's task aborted) stops
/// them all.
#[derive(Default)]
struct Monitors {
    running: BTreeMap<Gvr, (Arc<DiscoveredResource>, JoinHandle<()>)>,
}

impl Drop for Monitors {
    fn drop(&mut self) {
        for (_, task) in self.running.values() {
            task.abort();
        }
    }
}

impl Monitors {
    fn resources(&self) -> BTreeMap<Gvr, Arc<DiscoveredResource>> {
        self.running
            .iter()
            .map(|(gvr, (res, _))| (gvr.clone(), res.clone()))
            .collect()
    }

    /// Is `res` (this very discovery entry) monitored now? Events still
    /// queued from a stopped monitor are not.
    fn current(&self, res: &Arc<DiscoveredResource>) -> bool {
        self.running
            .get(&res.gvr())
            .is_some_and(|(r, _)| Arc::ptr_eq(r, res))
    }

    fn stop(&mut self, gvr: &Gvr) {
        if let Some((_, task)) = self.running.remove(gvr) {
            task.abort();
            tracing::debug!(resource = %gvr, "gc stopped monitoring");
        }
    }

    fn start(
        &mut self,
        client: &kube::Client,
        res: Arc<DiscoveredResource>,
        tx: &mpsc::UnboundedSender<Change>,
    ) {
        let api = res.api(client, None);
        let tx = tx.clone();
        let r = res.clone();
        let task = tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            while let Some(ev) = stream.next().await {
                let sent = match ev {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        tx.send(Change::Upsert(r.clone(), Box::new(o)))
                    }
                    Ok(watcher::Event::Delete(o)) => tx.send(Change::Delete(Box::new(o))),
                    Ok(_) => Ok(()),
                    Err(e) => {
                        // A vanished resource fails here until the next
                        // discovery re-check stops this monitor.
                        tracing::debug!(error = %e, resource = %r.gvr(), "gc watcher error");
                        tokio::time::sleep(crate::controllers::RETRY).await;
                        Ok(())
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        tracing::debug!(resource = %res.gvr(), "gc monitoring");
        if let Some((_, old)) = self.running.insert(res.gvr(), (res, task)) {
            old.abort();
        }
    }
}

fn node_of(res: &Arc<DiscoveredResource>, obj: &DynamicObject) -> Option<(String, Node)> {
    let uid = obj.metadata.uid.clone()?;
    Some((
        uid,
        Node {
            res: res.clone(),
            namespace: obj.metadata.namespace.clone(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            owners: obj.metadata.owner_references.clone().unwrap_or_default(),
            deleting: obj.metadata.deletion_timestamp.is_some(),
            finalizers: obj.metadata.finalizers.clone().unwrap_or_default(),
        },
    ))
}

/// Why an item is looked at again later.
#[derive(Debug)]
enum GcError {
    Api(kube::Error),
    /// An owner's kind is not served in its apiVersion (yet).
    NoKindMatch {
        api_version: String,
        kind: String,
    },
}

impl From<kube::Error> for GcError {
    fn from(e: kube::Error) -> Self {
        GcError::Api(e)
    }
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::Api(e) => write!(f, "{e}"),
            GcError::NoKindMatch { api_version, kind } => {
                // `restMappingError` in upstream's garbagecollector.go.
                write!(f, "unable to get REST mapping for {api_version}/{kind}.")
            }
        }
    }
}

struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    fn remove(&mut self, uid: &str) -> Option<Node> {
        let node = self.nodes.remove(uid)?;
        for o in &node.owners {
            if let Some(d) = self.dependents.get_mut(&o.uid) {
                d.remove(uid);
                if d.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
        Some(node)
    }

    fn insert(&mut self, uid: String, node: Node) {
        self.remove(&uid);
        for o in &node.owners {
            self.dependents
                .entry(o.uid.clone())
                .or_default()
                .insert(uid.clone());
        }
        self.nodes.insert(uid, node);
    }

    /// The objects of one resource.
    fn uids_of(&self, gvr: &Gvr) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.res.gvr() == *gvr)
            .map(|(uid, _)| uid.clone())
            .collect()
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents
            .get(uid)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Runs the collector until the task is aborted.
pub async fn run(client: kube::Client) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let discovery_task = {
        let tx = tx.clone();
        let mut discovery = DiscoveryClient::new(client.clone());
        tokio::spawn(async move {
            loop {
                match discovery.refresh().await {
                    Ok(Some(d)) => {
                        if tx.send(Change::Discovered(d)).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::debug!(error = %e, "gc discovery error"),
                }
                tokio::time::sleep(RESYNC).await;
            }
        })
    };
    let _discovery_task = AbortOnDrop(discovery_task);
    let mut monitors = Monitors::default();
    let mut mapper = Discovery::default();
    let mut graph = Graph {
        nodes: HashMap::new(),
        dependents: HashMap::new(),
    };
    let mut dirty: HashSet<String> = HashSet::new();
    loop {
        // Take everything that arrived, then work; re-check items whose
        // outcome depends on others every so often.
        let first = if dirty.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                Ok(c) => c,
                Err(_) => Some(Change::Tick),
            }
        };
        let Some(first) = first else { return };
        let mut batch = vec![first];
        while let Ok(c) = rx.try_recv() {
            batch.push(c);
        }
        for change in batch {
            match change {
                Change::Tick => {}
                Change::Discovered(d) => {
                    let (stop, start) = plan(&monitors.resources(), &monitored(&d));
                    for gvr in &stop {
                        monitors.stop(gvr);
                        // Its objects are no longer seen: forget them, and
                        // let their owners and dependents be looked at again.
                        for uid in graph.uids_of(gvr) {
                            if let Some(node) = graph.remove(&uid) {
                                dirty.extend(node.owners.into_iter().map(|o| o.uid));
                            }
                            dirty.extend(graph.dependents_of(&uid));
                        }
                    }
                    for res in start {
                        monitors.start(&client, res, &tx);
                    }
                    mapper = d;
                }
                Change::Upsert(res, obj) => {
                    if !monitors.current(&res) {
                        continue;
                    }
                    if let Some((uid, node)) = node_of(&res, &obj) {
                        let interesting = !node.owners.is_empty()
                            || (node.deleting
                                && node
                                    .finalizers
                                    .iter()
                                    .any(|f| f == FOREGROUND || f == ORPHAN));
                        for o in &node.owners {
                            if graph.nodes.get(&o.uid).is_some_and(|n| n.deleting) {
                                dirty.insert(o.uid.clone());
                            }
                        }
                        graph.insert(uid.clone(), node);
                        if interesting {
                            dirty.insert(uid);
                        }
                    }
                }
                Change::Delete(obj) => {
                    if let Some(uid) = obj.metadata.uid.clone() {
                        if let Some(node) = graph.remove(&uid) {
                            for o in node.owners {
                                dirty.insert(o.uid);
                            }
                        }
                        for d in graph.dependents_of(&uid) {
                            dirty.insert(d);
                        }
                    }
                }
            }
        }
        let work: Vec<String> = dirty.drain().collect();
        for uid in work {
            match process(&client, &mapper, &graph, &uid).await {
                Ok(true) => {
                    dirty.insert(uid);
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!(error = %e, %uid, "gc retry");
                    dirty.insert(uid);
                }
            }
        }
    }
}

/// Does the owner still exist (same uid)? Live read, as upstream's isDangling.
async fn owner_state(
    client: &kube::Client,
    mapper: &Discovery,
    graph: &Graph,
    owner: &OwnerReference,
    dependent_ns: Option<&str>,
) -> Result<Option<Node>, GcError> {
    if let Some(n) = graph.nodes.get(&owner.uid) {
        return Ok(Some(n.clone()));
    }
    let Some(res) = mapper.resource_for(&owner.api_version, &owner.kind) else {
        return Err(GcError::NoKindMatch {
            api_version: owner.api_version.clone(),
            kind: owner.kind.clone(),
        });
    };
    let api = res.api(client, if res.namespaced { dependent_ns } else { None });
    match api.get_opt(&owner.name).await? {
        Some(o) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            Ok(node_of(&res, &o).map(|(_, n)| n))
        }
        _ => Ok(None),
    }
}

async fn delete(
    client: &kube::Client,
    node: &Node,
    uid: &str,
    policy: PropagationPolicy,
) -> Result<(), kube::Error> {
    let api = node.res.api(client, node.namespace.as_deref());
    let dp = DeleteParams {
        propagation_policy: Some(policy),
        preconditions: Some(Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(&node.name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn patch_meta(
    client: &kube::Client,
    node: &Node,
    patch: serde_json::Value,
) -> Result<(), kube::Error> {
    let api = node.res.api(client, node.namespace.as_deref());
    match api
        .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

fn without_finalizer(node: &Node, f: &str) -> serde_json::Value {
    let left: Vec<&String> = node.finalizers.iter().filter(|x| *x != f).collect();
    json!({"metadata": {"finalizers": if left.is_empty() { serde_json::Value::Null } else { json!(left) }}})
}

/// Handles one object; `Ok(true)` asks to look at it again later.
async fn process(
    client: &kube::Client,
    mapper: &Discovery,
    graph: &Graph,
    uid: &str,
) -> Result<bool, GcError> {
    let Some(node) = graph.nodes.get(uid).cloned() else {
        return Ok(false);
    };
    let mut again = false;
    if node.deleting && node.finalizers.iter().any(|f| f == ORPHAN) {
        for d in graph.dependents_of(uid) {
            if let Some(dep) = graph.nodes.get(&d) {
                let owners: Vec<&OwnerReference> =
                    dep.owners.iter().filter(|o| o.uid != uid).collect();
                let value = if owners.is_empty() {
                    serde_json::Value::Null
                } else {
                    json!(owners)
                };
                patch_meta(client, dep, json!({"metadata": {"ownerReferences": value}})).await?;
            }
        }
        patch_meta(client, &node, without_finalizer(&node, ORPHAN)).await?;
        return Ok(false);
    }
    if node.deleting && node.finalizers.iter().any(|f| f == FOREGROUND) {
        let mut blocking = 0;
        for d in graph.dependents_of(uid) {
            let Some(dep) = graph.nodes.get(&d) else {
                continue;
            };
            let blocks = dep
                .owners
                .iter()
                .any(|o| o.uid == uid && o.block_owner_deletion == Some(true));
            if blocks {
                blocking += 1;
            }
            if !dep.deleting {
                delete(client, dep, &d, PropagationPolicy::Foreground).await?;
            }
        }
        if blocking == 0 {
            patch_meta(client, &node, without_finalizer(&node, FOREGROUND)).await?;
        } else {
            again = true;
        }
        return Ok(again);
    }
    if node.owners.is_empty() || node.deleting {
        return Ok(false);
    }
    let mut solid = Vec::new();
    let mut dangling = Vec::new();
    let mut waiting = Vec::new();
    for o in &node.owners {
        match owner_state(client, mapper, graph, o, node.namespace.as_deref()).await? {
            None => dangling.push(o.uid.clone()),
            Some(owner) if owner.deleting && owner.finalizers.iter().any(|f| f == FOREGROUND) => {
                waiting.push(o.uid.clone())
            }
            Some(_) => solid.push(o.uid.clone()),
        }
    }
    if !solid.is_empty() {
        if !dangling.is_empty() || !waiting.is_empty() {
            // Keep the live owners; drop dangling references and stop blocking
            // owners that wait for us (`garbagecollector.go` attemptToDeleteItem).
            let owners: Vec<serde_json::Value> = node
                .owners
                .iter()
                .filter(|o| !dangling.contains(&o.uid))
                .map(|o| {
                    let mut v = json!(o);
                    if waiting.contains(&o.uid) {
                        v["blockOwnerDeletion"] = json!(false);
                    }
                    v
                })
                .collect();
            patch_meta(
                client,
                &node,
                json!({"metadata": {"ownerReferences": owners}}),
            )
            .await?;
        }
        return Ok(false);
    }
    let policy = if !waiting.is_empty() {
        PropagationPolicy::Foreground
    } else {
        PropagationPolicy::Background
    };
    delete(client, &node, uid, policy).await?;
    Ok(again)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::discovery::v2::APIGroupDiscoveryList;
    use serde_json::json;

    fn discovery(core: serde_json::Value, groups: serde_json::Value) -> Discovery {
        let core: APIGroupDiscoveryList = serde_json::from_value(core).unwrap();
        let groups: APIGroupDiscoveryList = serde_json::from_value(groups).unwrap();
        Discovery::from_aggregated(&core, &groups)
    }

    fn res(plural: &str, kind: &str, scope: &str, verbs: &[&str]) -> serde_json::Value {
        json!({"resource": plural, "responseKind": {"kind": kind}, "scope": scope, "verbs": verbs})
    }

    const ALL: &[&str] = &[
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];

    fn group(name: &str, versions: serde_json::Value) -> serde_json::Value {
        json!({"metadata": {"name": name}, "versions": versions})
    }

    fn sample(extra: serde_json::Value) -> Discovery {
        let core = json!({"items": [{"versions": [{"version": "v1", "resources": [
            res("bindings", "Binding", "Namespaced", &["create"]),
            res("configmaps", "ConfigMap", "Namespaced", ALL),
            res("events", "Event", "Namespaced", ALL),
            res("namespaces", "Namespace", "Cluster", &["create", "delete", "get", "list", "patch", "update", "watch"]),
            res("componentstatuses", "ComponentStatus", "Cluster", &["get", "list"]),
        ]}]}]});
        let mut groups = vec![
            group(
                "events.k8s.io",
                json!([{"version": "v1", "resources": [res("events", "Event", "Namespaced", ALL)]}]),
            ),
            group(
                "authentication.k8s.io",
                json!([{"version": "v1", "resources": [res("tokenreviews", "TokenReview", "Cluster", &["create"])]}]),
            ),
        ];
        if let serde_json::Value::Array(more) = extra {
            groups.extend(more);
        }
        discovery(core, json!({ "items": groups }))
    }

    fn keys(m: &BTreeMap<Gvr, Arc<DiscoveredResource>>) -> Vec<String> {
        m.keys().map(|g| g.to_string()).collect()
    }

    #[test]
    fn monitors_deletable_watchable_resources_but_events() {
        let d = sample(json!([group(
            "stable.example.com",
            json!([
                {"version": "v2", "resources": [res("crontabs", "CronTab", "Namespaced", ALL)]},
                {"version": "v1", "resources": [res("crontabs", "CronTab", "Namespaced", ALL)]}
            ])
        )]));
        assert_eq!(
            keys(&monitored(&d)),
            [
                "v1/configmaps",
                "v1/namespaces",
                "stable.example.com/v2/crontabs"
            ]
        );
    }

    #[test]
    fn plan_starts_new_stops_vanished_and_restarts_changed_resources() {
        let crd = |kind: &str, scope: &str| {
            group(
                "stable.example.com",
                json!([{"version": "v1", "resources": [res("crontabs", kind, scope, ALL)]}]),
            )
        };
        let before = monitored(&sample(json!([])));
        let with_crd = monitored(&sample(json!([crd("CronTab", "Namespaced")])));
        let (stop, start) = plan(&before, &with_crd);
        assert!(stop.is_empty());
        assert_eq!(
            start
                .iter()
                .map(|r| r.gvr().to_string())
                .collect::<Vec<_>>(),
            ["stable.example.com/v1/crontabs"]
        );
        // Same set (a new discovery answer, equal content): nothing to do.
        let again = monitored(&sample(json!([crd("CronTab", "Namespaced")])));
        let (stop, start) = plan(&with_crd, &again);
        assert!(stop.is_empty() && start.is_empty());
        // Scope changed: restart.
        let cluster = monitored(&sample(json!([crd("CronTab", "Cluster")])));
        let (stop, start) = plan(&with_crd, &cluster);
        assert_eq!(stop.len(), 1);
        assert_eq!(start.len(), 1);
        assert!(!start[0].namespaced);
        // Vanished: stop only.
        let (stop, start) = plan(&with_crd, &before);
        assert_eq!(
            stop.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
            ["stable.example.com/v1/crontabs"]
        );
        assert!(start.is_empty());
    }

    #[test]
    fn graph_finds_the_objects_of_a_resource() {
        let d = sample(json!([]));
        let cm = d.resource_for("v1", "ConfigMap").unwrap();
        let ns = d.resource_for("v1", "Namespace").unwrap();
        let obj = |uid: &str| {
            let mut o = DynamicObject::new("x", &cm.api_resource());
            o.metadata.uid = Some(uid.into());
            o
        };
        let mut graph = Graph {
            nodes: HashMap::new(),
            dependents: HashMap::new(),
        };
        for (uid, res) in [("a", &cm), ("b", &ns), ("c", &cm)] {
            let (uid, node) = node_of(res, &obj(uid)).unwrap();
            graph.insert(uid, node);
        }
        let mut uids = graph.uids_of(&cm.gvr());
        uids.sort();
        assert_eq!(uids, ["a", "c"]);
        assert_eq!(graph.uids_of(&ns.gvr()), ["b"]);
    }

    #[test]
    fn unknown_owner_kinds_are_retried_with_a_rest_mapping_message() {
        let e = GcError::NoKindMatch {
            api_version: "stable.example.com/v1".into(),
            kind: "CronTab".into(),
        };
        assert_eq!(
            e.to_string(),
            "unable to get REST mapping for stable.example.com/v1/CronTab."
        );
    }
}
