//! The apiextensions-apiserver's controllers, run inside the API server as
//! upstream runs them: naming (`NamesAccepted`, `acceptedNames`),
//! establishing (`Established`), serving (the CRD's versions installed in
//! the registry, with their OpenAPI v3 documents) and the clean-up finalizer
//! (a deleted CRD's custom resources are deleted before it goes).
//! Upstream: `apiextensions-apiserver/pkg/controller/{status,establish,
//! finalizer,openapiv3}` and `pkg/apiserver/customresource_handler.go`.
//!
//! CRDs are read and written through the API (an in-process client); the
//! registry is the API server's own state, changed directly, as upstream's
//! custom-resource handler swaps its storage map.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::{Map, Value};

use super::crd::{self, FinalizerStep};
use super::customresource::{CustomVersion, compile_crd};
use crate::openapi::OpenApi;
use crate::registry::handler::SubresourceHandler;
use crate::registry::served::{
    Registry, Resource, ResourceSpec, Served, SubresourceInfo, V3Document,
};
use crate::registry::store::{ListParams as StoreListParams, Store};

/// Verbs of a custom resource, in upstream's discovery order.
const CR_VERBS: &[&str] = &[
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "create",
    "update",
    "watch",
];

fn owned(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| (*s).to_string()).collect()
}

fn crd_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    )
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn group_of(v: &Value) -> &str {
    v.pointer("/spec/group")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The served resources of a CRD's versions.
fn resources(versions: &[Arc<CustomVersion>]) -> Vec<Resource> {
    versions
        .iter()
        .map(|cv| {
            let parent = (cv.group.as_str(), cv.version.as_str(), cv.kind.as_str());
            let mut subresources = Vec::new();
            if cv.status {
                subresources.push(SubresourceInfo::new(SubresourceHandler::Status, parent));
            }
            if cv.scale.is_some() {
                subresources.push(SubresourceInfo::new(SubresourceHandler::Scale, parent));
            }
            Resource::new(
                &cv.crd_name,
                ResourceSpec {
                    group: cv.group.clone(),
                    version: cv.version.clone(),
                    kind: cv.kind.clone(),
                    plural: cv.plural.clone(),
                    singular: cv.singular.clone(),
                    namespaced: cv.namespaced,
                    short_names: cv.short_names.clone(),
                    categories: cv.categories.clone(),
                    verbs: owned(CR_VERBS),
                    subresources,
                    storage_version: cv.version == cv.storage_version,
                    storage_gvk: Some((
                        cv.group.clone(),
                        cv.storage_version.clone(),
                        cv.kind.clone(),
                    )),
                    stored: true,
                    custom: Some(cv.clone()),
                    strategy: cv.clone(),
                },
            )
        })
        .collect()
}

/// The apimachinery (and autoscaling) schemas the CR documents refer to,
/// from the embedded built-in documents.
fn meta_components(openapi: &OpenApi) -> &'static Map<String, Value> {
    static META: OnceLock<Map<String, Value>> = OnceLock::new();
    META.get_or_init(|| {
        let mut out = Map::new();
        for gv in ["api/v1", "apis/apps/v1"] {
            if let Some((text, _)) = openapi.v3_document(gv)
                && let Ok(doc) = serde_json::from_str::<Value>(text)
                && let Some(schemas) = doc
                    .pointer("/components/schemas")
                    .and_then(Value::as_object)
            {
                for (k, v) in schemas {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
        out
    })
}

/// The OpenAPI v3 documents of one group's versions, built from the CRDs of
/// that group the registry serves: `(path, document)`, `None` for a version
/// no longer served. Cost: the group's CRDs only.
fn group_documents(
    served: &Served,
    openapi: &OpenApi,
    group: &str,
    crds: &[&Value],
) -> Vec<(String, Option<V3Document>)> {
    let installed: BTreeSet<&str> = served
        .group_resources(group)
        .filter(|r| r.custom.is_some())
        .map(|r| r.source.as_str())
        .collect();
    let mut by_version: BTreeMap<String, Vec<(&Value, String)>> = BTreeMap::new();
    for crd in crds
        .iter()
        .filter(|c| group_of(c) == group && installed.contains(name_of(c)))
    {
        for v in crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if v.get("served").and_then(Value::as_bool) == Some(true)
                && let Some(name) = v.get("name").and_then(Value::as_str)
            {
                by_version
                    .entry(name.to_string())
                    .or_default()
                    .push((crd, name.to_string()));
            }
        }
    }
    let prefix = format!("apis/{group}/");
    // The documents published before, so that a version (or a whole group)
    // no longer served loses its document too.
    let mut versions: BTreeSet<String> = served
        .v3_documents()
        .range(prefix.clone()..)
        .map(|(p, _)| p)
        .take_while(|p| p.starts_with(&prefix))
        .filter_map(|p| p.strip_prefix(&prefix))
        .filter(|v| !v.contains('/'))
        .map(str::to_string)
        .collect();
    versions.extend(served.versions(group).iter().cloned());
    versions.extend(by_version.keys().cloned());
    let mut out = Vec::new();
    for version in versions {
        let path = format!("{prefix}{version}");
        match by_version.get(&version) {
            Some(list) => {
                let pairs: Vec<(&Value, &str)> =
                    list.iter().map(|(c, v)| (*c, v.as_str())).collect();
                let doc = super::openapi::v3_document(&pairs, meta_components(openapi));
                let json = doc.to_string();
                let hash = crate::openapi::sha512_hex_upper(json.as_bytes());
                let v2 = Some(Value::Object(super::openapi::v2_definitions_of(&pairs)).to_string());
                out.push((path, Some(V3Document { json, hash, v2 })));
            }
            None => {
                if served.v3_documents().contains_key(&path) {
                    out.push((path, None));
                }
            }
        }
    }
    out
}

/// Rebuilds the OpenAPI v3 documents of `groups` (one registry change for
/// all of them). `crds_of` gives a group's CRDs.
fn publish_openapi<'a>(
    registry: &Registry,
    openapi: &OpenApi,
    groups: &BTreeSet<String>,
    crds_of: impl Fn(&str) -> Vec<&'a Value>,
) {
    if groups.is_empty() {
        return;
    }
    let served = registry.snapshot();
    let mut docs = Vec::new();
    for g in groups {
        docs.extend(group_documents(&served, openapi, g, &crds_of(g)));
    }
    registry.set_v3_documents(docs);
}

/// The resources to serve for a CRD (its versions that compile).
fn compiled(crd: &Value) -> Vec<Resource> {
    let (versions, problems) = compile_crd(crd);
    for p in &problems {
        tracing::warn!(crd = name_of(crd), problem = %p, "version not served");
    }
    resources(&versions)
}

/// At start-up, before the first request: every established CRD in storage
/// is served again, so custom resources are there at once after a restart.
pub async fn install_stored(store: &Store) -> anyhow::Result<()> {
    let Some(res) = store.registry().by_key(super::strategy::CRD_KEY) else {
        return Ok(());
    };
    let list = store
        .list(&res, None, &StoreListParams::default())
        .await
        .map_err(|e| anyhow::anyhow!("listing CRDs: {}", e.message))?;
    let items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let established: Vec<&Value> = items
        .iter()
        .filter(|c| crd::condition_true(c, crd::ESTABLISHED))
        .collect();
    let mut groups = BTreeSet::new();
    let mut by_group: HashMap<String, Vec<&Value>> = HashMap::new();
    let mut set = Vec::new();
    for crd in &established {
        set.push((name_of(crd).to_string(), compiled(crd)));
        groups.insert(group_of(crd).to_string());
        by_group
            .entry(group_of(crd).to_string())
            .or_default()
            .push(crd);
    }
    for (crd, e) in store.registry().set_sources(set, &[]) {
        tracing::warn!(crd = %crd, error = %e, "not served");
    }
    publish_openapi(store.registry(), store.openapi(), &groups, |g| {
        by_group.get(g).cloned().unwrap_or_default()
    });
    Ok(())
}

/// Status writes in flight at once (each is a request through the API).
const WRITES_IN_FLIGHT: usize = 16;

struct Controller {
    client: kube::Client,
    api: Api<DynamicObject>,
    state: Arc<crate::apiserver::AppState>,
    crds: BTreeMap<String, Value>,
    /// group → names of its CRDs in `crds` (naming looks at one group only).
    by_group: HashMap<String, BTreeSet<String>>,
    /// CRD name → when it was first seen (watch order is creation order):
    /// breaks ties of `creationTimestamp` (whole seconds).
    seen: HashMap<String, u64>,
    next_seen: u64,
    /// CRD name → (uid, generation) last installed.
    installed: HashMap<String, (String, i64)>,
    /// CRD name → group, to clean up after a delete.
    groups: HashMap<String, String>,
    cleaning: Arc<std::sync::Mutex<BTreeSet<String>>>,
}

/// Runs the controllers until the task is aborted.
pub async fn run(client: kube::Client, state: Arc<crate::apiserver::AppState>) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &crd_resource());
    let mut c = Controller {
        client,
        api: api.clone(),
        state,
        crds: BTreeMap::new(),
        by_group: HashMap::new(),
        seen: HashMap::new(),
        next_seen: 0,
        installed: HashMap::new(),
        groups: HashMap::new(),
        cleaning: Arc::new(std::sync::Mutex::new(BTreeSet::new())),
    };
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut init: Option<BTreeMap<String, Value>> = None;
    loop {
        let mut dirty = BTreeSet::new();
        let mut next = stream.next().await;
        loop {
            match next {
                None => return,
                Some(Ok(ev)) => c.observe(ev, &mut init, &mut dirty),
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "CRD watch");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            // Take everything already queued as one batch (1,000 CRDs
            // created at once are handled in a few passes, not 1,000).
            match stream.next().now_or_never() {
                Some(n) => next = n,
                None => break,
            }
        }
        if init.is_none() && !dirty.is_empty() {
            c.sync(dirty).await;
        }
    }
}

/// A resourceVersion as a number (ironkube's are), to skip stale events.
fn resource_version(v: &Value) -> Option<u64> {
    v.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
}

fn uid_generation(crd: &Value) -> (String, i64) {
    let uid = crd
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let generation = crd
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    (uid, generation)
}

fn deleting(crd: &Value) -> bool {
    crd.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// Writes `obj` (a CRD with its new `status`) through the status
/// subresource; the stored object, or `None` (a conflict means a newer
/// version is on its way).
async fn write_status(api: &Api<DynamicObject>, obj: Value) -> Option<Value> {
    let name = name_of(&obj).to_string();
    let body = serde_json::from_value::<DynamicObject>(obj).ok()?;
    match api
        .replace_status(&name, &PostParams::default(), &body)
        .await
    {
        Ok(o) => serde_json::to_value(o).ok(),
        Err(e) => {
            tracing::debug!(crd = %name, error = %e, "CRD status");
            None
        }
    }
}

impl Controller {
    fn observe(
        &mut self,
        ev: watcher::Event<DynamicObject>,
        init: &mut Option<BTreeMap<String, Value>>,
        dirty: &mut BTreeSet<String>,
    ) {
        let to_value = |o: DynamicObject| serde_json::to_value(o).unwrap_or(Value::Null);
        match ev {
            watcher::Event::Init => *init = Some(BTreeMap::new()),
            watcher::Event::InitApply(o) => {
                let v = to_value(o);
                if let Some(m) = init.as_mut() {
                    m.insert(name_of(&v).to_string(), v);
                }
            }
            watcher::Event::InitDone => {
                let fresh = init.take().unwrap_or_default();
                for name in self.crds.keys().chain(fresh.keys()) {
                    dirty.insert(name.clone());
                }
                self.crds = fresh;
                self.by_group.clear();
                let names: Vec<(String, String)> = self
                    .crds
                    .iter()
                    .map(|(n, c)| (n.clone(), group_of(c).to_string()))
                    .collect();
                self.seen.retain(|n, _| self.crds.contains_key(n));
                for (name, group) in names {
                    self.index(name, group);
                }
            }
            watcher::Event::Apply(o) => {
                let v = to_value(o);
                let name = name_of(&v).to_string();
                // The event of a status this controller wrote (or an older
                // one): what it holds is already known.
                if let (Some(known), Some(new)) = (
                    self.crds.get(&name).and_then(resource_version),
                    resource_version(&v),
                ) && known >= new
                {
                    return;
                }
                let group = group_of(&v).to_string();
                dirty.insert(name.clone());
                self.crds.insert(name.clone(), v);
                self.index(name, group);
            }
            watcher::Event::Delete(o) => {
                let v = to_value(o);
                let name = name_of(&v).to_string();
                dirty.insert(name.clone());
                if let Some(old) = self.crds.remove(&name)
                    && let Some(names) = self.by_group.get_mut(group_of(&old))
                {
                    names.remove(&name);
                    if names.is_empty() {
                        self.by_group.remove(group_of(&old));
                    }
                }
                self.seen.remove(&name);
            }
        }
    }

    fn index(&mut self, name: String, group: String) {
        if !self.seen.contains_key(&name) {
            self.seen.insert(name.clone(), self.next_seen);
            self.next_seen += 1;
        }
        self.by_group.entry(group).or_default().insert(name);
    }

    /// The CRDs of one group.
    fn peers(&self, group: &str) -> Vec<&Value> {
        self.by_group
            .get(group)
            .map(|names| names.iter().filter_map(|n| self.crds.get(n)).collect())
            .unwrap_or_default()
    }

    /// Creation order: `creationTimestamp`, then the order first seen.
    fn creation_key(&self, name: &str) -> (String, u64) {
        let ts = self
            .crds
            .get(name)
            .and_then(|c| c.pointer("/metadata/creationTimestamp"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        (ts, self.seen.get(name).copied().unwrap_or(u64::MAX))
    }

    /// Writes the statuses concurrently; the stored objects, in order.
    async fn write_all(&self, objs: Vec<Value>) -> Vec<Option<Value>> {
        let writes = objs.into_iter().map(|obj| {
            let api = self.api.clone();
            tokio::spawn(async move { write_status(&api, obj).await })
        });
        futures::stream::iter(writes)
            .buffered(WRITES_IN_FLIGHT)
            .map(|r| r.ok().flatten())
            .collect()
            .await
    }

    /// Handles the changed CRDs, and the others of their groups (a freed
    /// name may now be accepted elsewhere), as ONE batch: naming decided in
    /// creation order (upstream's naming controller, `pkg/controller/status/
    /// naming_controller.go`: a name another CRD of the group has accepted
    /// is refused), the `NamesAccepted` statuses written concurrently, every
    /// newly accepted CRD installed with one registry change and its group's
    /// OpenAPI v3 documents with another, and only then the `Established`
    /// statuses written (`pkg/controller/establish`), concurrently.
    async fn sync(&mut self, dirty: BTreeSet<String>) {
        let registry = self.state.store.registry().clone();
        let mut groups: BTreeSet<String> = BTreeSet::new();
        for name in &dirty {
            if let Some(g) = self
                .crds
                .get(name)
                .map(|c| group_of(c).to_string())
                .or_else(|| self.groups.get(name).cloned())
            {
                groups.insert(g);
            }
        }
        let mut todo = dirty;
        for g in &groups {
            if let Some(names) = self.by_group.get(g) {
                todo.extend(names.iter().cloned());
            }
        }
        let mut removed = Vec::new();
        let mut changed_groups = BTreeSet::new();
        let mut live = Vec::new();
        for name in todo {
            if self.crds.contains_key(&name) {
                live.push(name);
            } else {
                // Gone from storage: no longer served.
                if let Some(g) = self.groups.remove(&name) {
                    changed_groups.insert(g);
                }
                self.installed.remove(&name);
                removed.push(name);
            }
        }
        live.sort_by_cached_key(|n| self.creation_key(n));

        // Names, in creation order; each decision is seen by the next ones.
        let now = now();
        let mut naming = Vec::new();
        for name in &live {
            let Some(crd) = self.crds.get(name) else {
                continue;
            };
            if deleting(crd) {
                self.start_cleanup(crd);
                continue;
            }
            let Some(status) = crd::naming_status(crd, &self.peers(group_of(crd)), &now) else {
                continue;
            };
            let mut updated = crd.clone();
            if let Some(m) = updated.as_object_mut() {
                m.insert("status".into(), status);
            }
            let before = self.crds.insert(name.clone(), updated.clone());
            naming.push((name.clone(), before, updated));
        }
        let written = self
            .write_all(naming.iter().map(|(_, _, u)| u.clone()).collect())
            .await;
        for ((name, before, _), stored) in naming.into_iter().zip(written) {
            match (stored, before) {
                (Some(s), _) => {
                    self.crds.insert(name, s);
                }
                (None, Some(b)) => {
                    self.crds.insert(name, b);
                }
                (None, None) => {}
            }
        }

        // Serving: every CRD whose names are accepted and whose spec changed.
        let mut set = Vec::new();
        let mut pending = HashMap::new();
        for name in &live {
            let Some(crd) = self.crds.get(name) else {
                continue;
            };
            if deleting(crd) || !crd::condition_true(crd, crd::NAMES_ACCEPTED) {
                continue;
            }
            let key = uid_generation(crd);
            if self.installed.get(name) != Some(&key) {
                set.push((name.clone(), compiled(crd)));
                pending.insert(name.clone(), (key, group_of(crd).to_string()));
            }
        }
        if !set.is_empty() || !removed.is_empty() {
            for (name, e) in registry.set_sources(set, &removed) {
                tracing::warn!(crd = %name, error = %e, "not served");
                pending.remove(&name);
            }
        }
        for (name, (key, group)) in pending {
            self.installed.insert(name.clone(), key);
            self.groups.insert(name, group.clone());
            changed_groups.insert(group);
        }
        // Discovery and OpenAPI first: Established means usable.
        publish_openapi(
            &registry,
            self.state.store.openapi(),
            &changed_groups,
            |g| self.peers(g),
        );

        let mut establish = Vec::new();
        for name in &live {
            let Some(crd) = self.crds.get(name) else {
                continue;
            };
            if deleting(crd) || self.installed.get(name) != Some(&uid_generation(crd)) {
                continue;
            }
            if let Some(status) = crd::establish_status(crd, &now) {
                let mut updated = crd.clone();
                if let Some(m) = updated.as_object_mut() {
                    m.insert("status".into(), status);
                }
                establish.push((name.clone(), updated));
            }
        }
        let written = self
            .write_all(establish.iter().map(|(_, u)| u.clone()).collect())
            .await;
        for ((name, _), stored) in establish.into_iter().zip(written) {
            if let Some(s) = stored {
                self.crds.insert(name, s);
            }
        }
    }

    /// The clean-up finalizer: deletes every custom resource of a deleted
    /// CRD, then removes the finalizer (`crd_finalizer.go`).
    fn start_cleanup(&self, crd: &Value) {
        let name = name_of(crd).to_string();
        let has_finalizer = crd
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| f.iter().any(|x| x == crd::CLEANUP_FINALIZER));
        if !has_finalizer {
            return;
        }
        if let Ok(mut running) = self.cleaning.lock()
            && !running.insert(name.clone())
        {
            return;
        }
        let served = self
            .state
            .store
            .registry()
            .snapshot()
            .resources()
            .iter()
            .find(|r| r.source == name && r.storage_version)
            .cloned();
        let api = self.api.clone();
        let client = self.client.clone();
        let cleaning = self.cleaning.clone();
        let crd = crd.clone();
        tokio::spawn(async move {
            let step = match served {
                None => FinalizerStep::NeverEstablished,
                Some(res) => {
                    let mut marked = crd.clone();
                    crd::apply_finalizer_step(&mut marked, &FinalizerStep::InProgress, &now());
                    if let Ok(body) = serde_json::from_value::<DynamicObject>(marked) {
                        let _ = api
                            .replace_status(name_of(&crd), &PostParams::default(), &body)
                            .await;
                    }
                    delete_all(&client, &res).await
                }
            };
            // Re-read: the status write above changed the resourceVersion.
            for _ in 0..20 {
                let Ok(latest) = api.get(name_of(&crd)).await else {
                    break;
                };
                let mut latest = serde_json::to_value(latest).unwrap_or(Value::Null);
                crd::apply_finalizer_step(&mut latest, &step, &now());
                let Ok(body) = serde_json::from_value::<DynamicObject>(latest) else {
                    break;
                };
                match api
                    .replace_status(name_of(&crd), &PostParams::default(), &body)
                    .await
                {
                    Ok(_) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "CRD finalizer");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
            if let Ok(mut running) = cleaning.lock() {
                running.remove(name_of(&crd));
            }
        });
    }
}

/// Deletes every object of a custom resource and waits until none is left.
async fn delete_all(client: &kube::Client, res: &Resource) -> FinalizerStep {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&res.group, &res.version, &res.kind),
        &res.plural,
    );
    let all: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let mut delay = Duration::from_millis(50);
    loop {
        // Metadata only: the namespaces are all that is needed (a full
        // list of every object, decoded, cost hundreds of megabytes for
        // tens of thousands of objects).
        let list = match all.list_metadata(&ListParams::default()).await {
            Ok(l) => l,
            Err(e) => return FinalizerStep::ListFailed(e.to_string()),
        };
        if list.items.is_empty() {
            return FinalizerStep::Completed;
        }
        let mut namespaces = BTreeSet::new();
        for item in &list.items {
            namespaces.insert(item.metadata.namespace.clone());
        }
        for ns in namespaces {
            // The answer (every deleted object) is not decoded, only its
            // status checked.
            let path = <DynamicObject as kube::Resource>::url_path(&ar, ns.as_deref());
            let req = match kube::core::Request::new(path)
                .delete_collection(&DeleteParams::default(), &ListParams::default())
            {
                Ok(r) => r,
                Err(e) => return FinalizerStep::DeleteFailed(e.to_string()),
            };
            if let Err(e) = client.request_text(req).await {
                return FinalizerStep::DeleteFailed(e.to_string());
            }
        }
        // Objects with finalizers of their own go when those are done.
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "scale-test-token";

    fn crd(plural: &str, group: &str, kind: &str) -> DynamicObject {
        let v = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": plural, "singular": plural.trim_end_matches('s'),
                          "kind": kind},
                "versions": [{
                    "name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"type": "object", "properties": {
                            "size": {"type": "integer", "minimum": 1}}}}}}
                }]
            }
        });
        serde_json::from_value(v).unwrap()
    }

    fn condition(o: &Value, ty: &str) -> Option<(String, String, String)> {
        let c = o
            .pointer("/status/conditions")?
            .as_array()?
            .iter()
            .find(|c| c["type"] == ty)?;
        let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
        Some((s("status"), s("reason"), s("message")))
    }

    /// Polls the CRDs until `done` holds for all of them (the deadline only
    /// guards against a hang).
    async fn wait_for(
        api: &Api<DynamicObject>,
        mut done: impl FnMut(&BTreeMap<String, Value>) -> bool,
    ) -> BTreeMap<String, Value> {
        for _ in 0..1200 {
            let list = api.list(&ListParams::default()).await.unwrap();
            let all: BTreeMap<String, Value> = list
                .items
                .into_iter()
                .map(|o| {
                    let v = serde_json::to_value(o).unwrap();
                    (name_of(&v).to_string(), v)
                })
                .collect();
            if done(&all) {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("CRDs did not reach the expected state");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_is_served_before_established_and_names_go_in_creation_order() {
        let state = crate::server::memory_state(TOKEN).await.unwrap();
        let router = crate::apiserver::app(state.clone());
        let client = crate::controllers::in_process_client(router, TOKEN, "test");
        let task = tokio::spawn(run(client.clone(), state.clone()));
        let api: Api<DynamicObject> = Api::all_with(client, &crd_resource());
        let pp = PostParams::default();
        // The first one wins the names; the second asks for the same kind.
        api.create(&pp, &crd("widgets", "scale-test.example.com", "Widget"))
            .await
            .unwrap();
        api.create(&pp, &crd("gizmos", "scale-test.example.com", "Widget"))
            .await
            .unwrap();
        for i in 0..40 {
            api.create(
                &pp,
                &crd("gadgets", &format!("g{i}.scale-test.example.com"), "Gadget"),
            )
            .await
            .unwrap();
        }
        let registry = state.store.registry().clone();
        let served_before_established = |all: &BTreeMap<String, Value>| {
            for (name, c) in all {
                // A CRD being deleted may be gone from the registry by the
                // time the snapshot is taken (the list came first).
                if condition(c, crd::ESTABLISHED).is_some_and(|e| e.0 == "True") && !deleting(c) {
                    // Established means served: routing, discovery, OpenAPI v3.
                    let g = group_of(c);
                    let s = registry.snapshot();
                    assert!(
                        s.group_resources(g).any(|r| &r.source == name),
                        "{name} established but not served: {c} {:?}",
                        s.resources()
                            .iter()
                            .filter(|r| r.custom.is_some())
                            .collect::<Vec<_>>()
                    );
                    assert!(s.versions(g).contains(&"v1".to_string()));
                    assert!(
                        s.v3_documents().contains_key(&format!("apis/{g}/v1")),
                        "{name} established without its OpenAPI v3 document"
                    );
                }
            }
        };
        let all = wait_for(&api, |all| {
            served_before_established(all);
            all.len() == 42
                && all.iter().all(|(n, c)| {
                    n.starts_with("gizmos.")
                        || condition(c, crd::ESTABLISHED).is_some_and(|e| e.0 == "True")
                })
                && all
                    .get("gizmos.scale-test.example.com")
                    .is_some_and(|c| condition(c, crd::NAMES_ACCEPTED).is_some())
        })
        .await;
        let gizmos = &all["gizmos.scale-test.example.com"];
        // Upstream v1.36: the last conflicting name is the one reported.
        assert_eq!(
            condition(gizmos, crd::NAMES_ACCEPTED).unwrap(),
            (
                "False".into(),
                "ListKindConflict".into(),
                "\"WidgetList\" is already in use".into()
            )
        );
        assert_eq!(
            condition(gizmos, crd::ESTABLISHED).unwrap(),
            (
                "False".into(),
                "NotAccepted".into(),
                "not all names are accepted".into()
            )
        );
        assert_eq!(gizmos["status"]["acceptedNames"]["kind"], "");
        let widgets = &all["widgets.scale-test.example.com"];
        assert_eq!(
            condition(widgets, crd::NAMES_ACCEPTED).unwrap(),
            (
                "True".into(),
                "NoConflicts".into(),
                "no conflicts found".into()
            )
        );
        assert!(
            registry
                .find("scale-test.example.com", "v1", "gizmos")
                .is_none()
        );

        // The names freed by a deleted CRD go to the one that wanted them.
        api.delete("widgets.scale-test.example.com", &DeleteParams::default())
            .await
            .unwrap();
        wait_for(&api, |all| {
            served_before_established(all);
            !all.contains_key("widgets.scale-test.example.com")
                && all
                    .get("gizmos.scale-test.example.com")
                    .and_then(|c| condition(c, crd::ESTABLISHED))
                    .is_some_and(|e| e.0 == "True")
        })
        .await;
        assert!(
            registry
                .find("scale-test.example.com", "v1", "widgets")
                .is_none()
        );
        assert!(
            registry
                .find("scale-test.example.com", "v1", "gizmos")
                .is_some()
        );

        // Deleting them all leaves nothing served: no resource, no document.
        api.delete_collection(&DeleteParams::default(), &ListParams::default())
            .await
            .unwrap();
        wait_for(&api, |all| all.is_empty()).await;
        for _ in 0..1200 {
            let s = registry.snapshot();
            if s.resources().iter().all(|r| r.custom.is_none()) && s.v3_documents().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let s = registry.snapshot();
        assert!(s.resources().iter().all(|r| r.custom.is_none()));
        assert!(
            s.v3_documents().is_empty(),
            "documents left: {:?}",
            s.v3_documents().keys().collect::<Vec<_>>()
        );
        assert!(
            s.groups()
                .iter()
                .all(|g| !g.name.ends_with("scale-test.example.com"))
        );
        task.abort();
    }
}
