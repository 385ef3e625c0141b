//! The garbage collector: `ownerReferences` drive cascading deletion.
//! Upstream: `pkg/controller/garbagecollector/garbagecollector.go`.
//!
//! A graph of every object (uid → owners) is fed by one watcher per
//! resource. Work items are uids:
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
//! wrong deletion.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::mpsc;

use crate::registry::resources::{RESOURCES, ResourceInfo};

const FOREGROUND: &str = "foregroundDeletion";
const ORPHAN: &str = "orphan";

#[derive(Debug, Clone)]
struct Node {
    res: usize,
    namespace: Option<String>,
    name: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

enum Change {
    /// Time to look at pending items again.
    Tick,
    Upsert(usize, Box<DynamicObject>),
    Delete(Box<DynamicObject>),
}

fn api_resource(r: &ResourceInfo) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(r.group, r.version, r.kind), r.plural)
}

/// Resources the collector watches: all but events (core and
/// events.k8s.io), which upstream's collector ignores (`ignoredResources` in
/// `pkg/controller/garbagecollector/graph_builder.go`).
fn watched() -> Vec<usize> {
    RESOURCES
        .iter()
        .enumerate()
        .filter(|(_, r)| r.plural != "events" && r.verbs.contains(&"watch"))
        .map(|(i, _)| i)
        .collect()
}

fn node_of(res: usize, obj: &DynamicObject) -> Option<(String, Node)> {
    let uid = obj.metadata.uid.clone()?;
    Some((
        uid,
        Node {
            res,
            namespace: obj.metadata.namespace.clone(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            owners: obj.metadata.owner_references.clone().unwrap_or_default(),
            deleting: obj.metadata.deletion_timestamp.is_some(),
            finalizers: obj.metadata.finalizers.clone().unwrap_or_default(),
        },
    ))
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
    for idx in watched() {
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &api_resource(&RESOURCES[idx]));
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default()).boxed();
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                        let _ = tx.send(Change::Upsert(idx, Box::new(o)));
                    }
                    Ok(watcher::Event::Delete(o)) => {
                        let _ = tx.send(Change::Delete(Box::new(o)));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "gc watcher error");
                        tokio::time::sleep(super::RETRY).await;
                    }
                }
            }
        });
    }
    drop(tx);
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
                Change::Upsert(idx, obj) => {
                    if let Some((uid, node)) = node_of(idx, &obj) {
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
            match process(&client, &graph, &uid).await {
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

fn dyn_api(client: &kube::Client, res: &ResourceInfo, ns: Option<&str>) -> Api<DynamicObject> {
    let ar = api_resource(res);
    match (res.namespaced, ns) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        _ => Api::all_with(client.clone(), &ar),
    }
}

fn resource_of(owner: &OwnerReference) -> Option<&'static ResourceInfo> {
    let (group, version) = owner
        .api_version
        .rsplit_once('/')
        .unwrap_or(("", &owner.api_version));
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == owner.kind)
}

/// Does the owner still exist (same uid)? Live read, as upstream's isDangling.
async fn owner_state(
    client: &kube::Client,
    graph: &Graph,
    owner: &OwnerReference,
    dependent_ns: Option<&str>,
) -> Result<Option<Node>, kube::Error> {
    if let Some(n) = graph.nodes.get(&owner.uid) {
        return Ok(Some(n.clone()));
    }
    let Some(res) = resource_of(owner) else {
        // An owner of a kind we do not serve cannot exist.
        return Ok(None);
    };
    let api = dyn_api(
        client,
        res,
        if res.namespaced { dependent_ns } else { None },
    );
    match api.get_opt(&owner.name).await? {
        Some(o) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            let idx = RESOURCES
                .iter()
                .position(|r| std::ptr::eq(r, res))
                .unwrap_or(0);
            Ok(node_of(idx, &o).map(|(_, n)| n))
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
    let api = dyn_api(client, &RESOURCES[node.res], node.namespace.as_deref());
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
    let api = dyn_api(client, &RESOURCES[node.res], node.namespace.as_deref());
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
async fn process(client: &kube::Client, graph: &Graph, uid: &str) -> Result<bool, kube::Error> {
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
        match owner_state(client, graph, o, node.namespace.as_deref()).await? {
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
