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
use crate::registry::served::{Registry, Resource, ResourceSpec, SubresourceInfo, V3Document};
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
                    strategy: std::sync::Arc::new(crate::registry::kind::Unstructured),
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

/// Rebuilds the OpenAPI v3 documents of one group's versions from the
/// installed CRDs of that group.
fn publish_openapi(registry: &Registry, openapi: &OpenApi, group: &str, crds: &[&Value]) {
    let served = registry.snapshot();
    let installed: BTreeSet<&str> = served
        .resources()
        .iter()
        .filter(|r| r.group == group && r.custom.is_some())
        .map(|r| r.source.as_str())
        .collect();
    let mut by_version: BTreeMap<String, Vec<(&Value, String)>> = BTreeMap::new();
    for crd in crds.iter().filter(|c| installed.contains(name_of(c))) {
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
    let versions_now = served.versions(group).to_vec();
    for version in versions_now.iter().chain(by_version.keys()) {
        let path = format!("apis/{group}/{version}");
        match by_version.get(version) {
            Some(list) => {
                let pairs: Vec<(&Value, &str)> =
                    list.iter().map(|(c, v)| (*c, v.as_str())).collect();
                let doc = super::openapi::v3_document(&pairs, meta_components(openapi));
                let json = doc.to_string();
                let hash = crate::openapi::sha512_hex_upper(json.as_bytes());
                registry.set_v3_document(&path, Some(V3Document { json, hash }));
            }
            None => registry.set_v3_document(&path, None),
        }
    }
}

/// Serves (or serves again, after a change) the versions of a CRD.
fn install(registry: &Registry, crd: &Value) -> Result<(), String> {
    let (versions, problems) = compile_crd(crd);
    for p in &problems {
        tracing::warn!(crd = name_of(crd), problem = %p, "version not served");
    }
    registry.set_source(name_of(crd), resources(&versions))
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
    for crd in &established {
        if let Err(e) = install(store.registry(), crd) {
            tracing::warn!(crd = name_of(crd), error = %e, "not served");
        }
        groups.insert(group_of(crd).to_string());
    }
    for g in groups {
        publish_openapi(store.registry(), store.openapi(), &g, &established);
    }
    Ok(())
}

struct Controller {
    client: kube::Client,
    api: Api<DynamicObject>,
    state: Arc<crate::apiserver::AppState>,
    crds: BTreeMap<String, Value>,
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
        if init.is_none() {
            c.sync(dirty).await;
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
            }
            watcher::Event::Apply(o) => {
                let v = to_value(o);
                let name = name_of(&v).to_string();
                dirty.insert(name.clone());
                self.crds.insert(name, v);
            }
            watcher::Event::Delete(o) => {
                let v = to_value(o);
                let name = name_of(&v).to_string();
                dirty.insert(name.clone());
                self.crds.remove(&name);
            }
        }
    }

    /// Handles the changed CRDs, and the others of their groups (a freed
    /// name may now be accepted elsewhere).
    async fn sync(&mut self, dirty: BTreeSet<String>) {
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
        let mut todo = dirty.clone();
        for (name, crd) in &self.crds {
            if groups.contains(group_of(crd)) {
                todo.insert(name.clone());
            }
        }
        let mut republish = BTreeSet::new();
        for name in todo {
            match self.crds.get(&name).cloned() {
                None => {
                    // Gone from storage: no longer served.
                    if self.state.store.registry().remove_source(&name)
                        && let Some(g) = self.groups.get(&name)
                    {
                        republish.insert(g.clone());
                    }
                    self.installed.remove(&name);
                    self.groups.remove(&name);
                }
                Some(crd) => {
                    if let Some(g) = self.handle(&crd).await {
                        republish.insert(g);
                    }
                }
            }
        }
        for g in republish {
            let crds: Vec<&Value> = self.crds.values().collect();
            publish_openapi(
                self.state.store.registry(),
                self.state.store.openapi(),
                &g,
                &crds,
            );
        }
    }

    async fn write_status(&self, crd: &Value, status: Value) {
        let mut obj = crd.clone();
        if let Some(m) = obj.as_object_mut() {
            m.insert("status".into(), status);
        }
        let Ok(body) = serde_json::from_value::<DynamicObject>(obj) else {
            return;
        };
        if let Err(e) = self
            .api
            .replace_status(name_of(crd), &PostParams::default(), &body)
            .await
        {
            // A conflict means a newer version is on its way.
            tracing::debug!(crd = name_of(crd), error = %e, "CRD status");
        }
    }

    /// One CRD; returns its group when what it serves changed.
    async fn handle(&mut self, crd: &Value) -> Option<String> {
        let name = name_of(crd).to_string();
        let group = group_of(crd).to_string();
        if crd.pointer("/metadata/deletionTimestamp").is_some() {
            self.start_cleanup(crd);
            return None;
        }
        let peers: Vec<&Value> = self
            .crds
            .values()
            .filter(|c| group_of(c) == group)
            .collect();
        if let Some(status) = crd::naming_status(crd, &peers, &now()) {
            self.write_status(crd, status).await;
            return None;
        }
        if !crd::condition_true(crd, crd::NAMES_ACCEPTED) {
            return None;
        }
        let uid = crd
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let generation = crd
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let mut changed = false;
        if self.installed.get(&name) != Some(&(uid.clone(), generation)) {
            match install(self.state.store.registry(), crd) {
                Ok(()) => {
                    self.installed.insert(name.clone(), (uid, generation));
                    self.groups.insert(name.clone(), group.clone());
                    changed = true;
                }
                Err(e) => {
                    tracing::warn!(crd = %name, error = %e, "not served");
                    return None;
                }
            }
        }
        if let Some(status) = crd::establish_status(crd, &now()) {
            if changed {
                // Discovery and OpenAPI first: Established means usable.
                let crds: Vec<&Value> = self.crds.values().collect();
                publish_openapi(
                    self.state.store.registry(),
                    self.state.store.openapi(),
                    &group,
                    &crds,
                );
            }
            self.write_status(crd, status).await;
        }
        changed.then_some(group)
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
        let list = match all.list(&ListParams::default()).await {
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
            let api: Api<DynamicObject> = match &ns {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
            if let Err(e) = api
                .delete_collection(&DeleteParams::default(), &ListParams::default())
                .await
            {
                return FinalizerStep::DeleteFailed(e.to_string());
            }
        }
        // Objects with finalizers of their own go when those are done.
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
