//! Shared informers, as client-go's `SharedInformerFactory`: one watch per
//! kind for all controllers, an indexed in-memory cache of the objects, and
//! add/update/delete notifications to every subscriber.
//!
//! The cache lags the API (it is fed by a watch), so a controller that acts
//! on it must guard against its own writes not being visible yet: the
//! ReplicaSet controller does it with expectations (`expectations.rs`), the
//! scheduler with assumed pods, the Deployment controller with
//! `AlreadyExists`/conflict retries, as upstream.
//!
//! Notifications go through unbounded channels: a controller never misses
//! one (a missed pod ADDED would leave an expectation unfulfilled until it
//! expires). After a relist (a 410 on the watch), the difference between the
//! old and the new contents is notified, as the DeltaFIFO's `Replace` does.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::{Arc, Mutex, RwLock};

use futures::StreamExt;
use kube::api::{Api, ObjectMeta};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// (namespace, name); the namespace is empty for cluster-scoped objects.
pub type Key = (String, String);

/// The key of an object.
pub fn key_of(meta: &ObjectMeta) -> Key {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// One observed change.
#[derive(Debug)]
pub enum Change<K> {
    Added(Arc<K>),
    Updated { old: Arc<K>, new: Arc<K> },
    Deleted(Arc<K>),
}

impl<K> Change<K> {
    /// The object before and after the change (none before an add, none
    /// after a delete).
    pub fn old_new(&self) -> (Option<&K>, Option<&K>) {
        match self {
            Change::Added(new) => (None, Some(new)),
            Change::Updated { old, new } => (Some(old), Some(new)),
            Change::Deleted(old) => (Some(old), None),
        }
    }
}

fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
        .map(|r| r.uid.as_str())
}

struct Index<K> {
    objects: HashMap<Key, Arc<K>>,
    /// namespace → names.
    by_namespace: HashMap<String, HashSet<String>>,
    /// uid of the controlling owner → keys of its dependents.
    by_controller: HashMap<String, HashSet<Key>>,
    /// namespace → names of objects without a controller.
    orphans: HashMap<String, HashSet<String>>,
}

impl<K: Resource> Index<K> {
    fn new() -> Self {
        Index {
            objects: HashMap::new(),
            by_namespace: HashMap::new(),
            by_controller: HashMap::new(),
            orphans: HashMap::new(),
        }
    }

    fn unindex(&mut self, key: &Key, obj: &K) {
        let (ns, name) = key;
        remove_from(&mut self.by_namespace, ns, name);
        match controller_uid(obj.meta()) {
            Some(uid) => {
                if let Some(set) = self.by_controller.get_mut(uid) {
                    set.remove(key);
                    if set.is_empty() {
                        self.by_controller.remove(uid);
                    }
                }
            }
            None => remove_from(&mut self.orphans, ns, name),
        }
    }

    fn upsert(&mut self, obj: Arc<K>) -> Option<Arc<K>> {
        let key = key_of(obj.meta());
        let old = self.objects.remove(&key);
        if let Some(o) = &old {
            self.unindex(&key, o);
        }
        self.by_namespace
            .entry(key.0.clone())
            .or_default()
            .insert(key.1.clone());
        match controller_uid(obj.meta()) {
            Some(uid) => {
                self.by_controller
                    .entry(uid.to_string())
                    .or_default()
                    .insert(key.clone());
            }
            None => {
                self.orphans
                    .entry(key.0.clone())
                    .or_default()
                    .insert(key.1.clone());
            }
        }
        self.objects.insert(key, obj);
        old
    }

    fn remove(&mut self, key: &Key) -> Option<Arc<K>> {
        let old = self.objects.remove(key)?;
        self.unindex(key, &old);
        Some(old)
    }
}

fn remove_from(map: &mut HashMap<String, HashSet<String>>, ns: &str, name: &str) {
    if let Some(set) = map.get_mut(ns) {
        set.remove(name);
        if set.is_empty() {
            map.remove(ns);
        }
    }
}

/// The read side of an informer: cheap snapshots of `Arc`s, never a copy of
/// an object. Objects in the cache must be treated as read-only.
pub struct Cache<K> {
    inner: RwLock<Index<K>>,
}

impl<K: Resource> Cache<K> {
    fn new() -> Self {
        Cache {
            inner: RwLock::new(Index::new()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Index<K>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Index<K>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.read()
            .objects
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Every object.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().objects.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every object of a namespace.
    pub fn list_namespace(&self, namespace: &str) -> Vec<Arc<K>> {
        let idx = self.read();
        named_in(&idx, &idx.by_namespace, namespace)
    }

    /// Objects whose controlling ownerReference has this uid.
    pub fn controlled_by(&self, uid: &str) -> Vec<Arc<K>> {
        let idx = self.read();
        idx.by_controller
            .get(uid)
            .map(|keys| {
                keys.iter()
                    .filter_map(|k| idx.objects.get(k).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Objects of a namespace without a controlling ownerReference.
    pub fn orphans(&self, namespace: &str) -> Vec<Arc<K>> {
        let idx = self.read();
        named_in(&idx, &idx.orphans, namespace)
    }
}

/// The cached objects of `namespace` whose names `names` lists for it.
fn named_in<K>(
    idx: &Index<K>,
    names: &HashMap<String, HashSet<String>>,
    namespace: &str,
) -> Vec<Arc<K>> {
    names
        .get(namespace)
        .into_iter()
        .flatten()
        .filter_map(|n| {
            idx.objects
                .get(&(namespace.to_string(), n.clone()))
                .cloned()
        })
        .collect()
}

/// Takes one change to a subscriber; false once the subscriber is gone.
type Sink<K> = Box<dyn Fn(&Arc<Change<K>>) -> bool + Send + Sync>;

/// One watch of a kind, its cache and its subscribers.
pub struct Informer<K> {
    cache: Cache<K>,
    /// Held while a change is applied and sent, so a new subscriber's
    /// replay of the cache and the live changes neither overlap nor miss.
    subscribers: Mutex<Vec<Sink<K>>>,
    synced: watch::Sender<bool>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Starts watching `api` on a new task (returned, to be aborted at
    /// shutdown; it also ends once the informer is dropped).
    pub fn start(api: Api<K>, config: watcher::Config) -> (Arc<Self>, JoinHandle<()>) {
        let informer = Arc::new(Informer {
            cache: Cache::new(),
            subscribers: Mutex::new(Vec::new()),
            synced: watch::Sender::new(false),
        });
        let weak = Arc::downgrade(&informer);
        let task = tokio::spawn(async move {
            // managedFields are never read by controllers and are the
            // bulk of a cached object, so they are dropped on arrival, as
            // kube-controller-manager's and the scheduler's informers do
            // (client-go `cache.TransformStripManagedFields`).
            let mut stream = watcher(api, config)
                .default_backoff()
                .modify(|o| o.meta_mut().managed_fields = None)
                .boxed();
            let mut relist: Option<Vec<K>> = None;
            while let Some(ev) = stream.next().await {
                let Some(informer) = weak.upgrade() else {
                    return;
                };
                match ev {
                    Ok(watcher::Event::Init) => relist = Some(Vec::new()),
                    Ok(watcher::Event::InitApply(o)) => {
                        if let Some(r) = relist.as_mut() {
                            r.push(o);
                        }
                    }
                    Ok(watcher::Event::InitDone) => {
                        informer.replace(relist.take().unwrap_or_default());
                        informer.synced.send_replace(true);
                    }
                    Ok(watcher::Event::Apply(o)) => informer.apply(o),
                    Ok(watcher::Event::Delete(o)) => informer.delete(&o),
                    Err(e) => tracing::debug!(error = %e, "informer watch error"),
                }
            }
        });
        (informer, task)
    }

    pub fn cache(&self) -> &Cache<K> {
        &self.cache
    }

    /// Waits until the first list has been loaded into the cache.
    pub async fn wait_synced(&self) {
        let mut rx = self.synced.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// A stream of every later change, preceded by an `Added` for every
    /// object already cached (client-go's `AddEventHandler` replay).
    pub fn subscribe(&self) -> mpsc::UnboundedReceiver<Arc<Change<K>>> {
        self.subscribe_map(|c| c.clone())
    }

    /// As [`Informer::subscribe`], but each change is first turned by `f`
    /// into what the subscriber needs, on the informer's task. A subscriber
    /// that falls behind then queues that, not the objects: a queued change
    /// holds both the old and the new version of an object alive.
    pub fn subscribe_map<T: Send + 'static>(
        &self,
        f: impl Fn(&Arc<Change<K>>) -> T + Send + Sync + 'static,
    ) -> mpsc::UnboundedReceiver<T> {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink: Sink<K> = Box::new(move |c| tx.send(f(c)).is_ok());
        let mut subs = self.lock_subscribers();
        for obj in self.cache.list() {
            sink(&Arc::new(Change::Added(obj)));
        }
        subs.push(sink);
        rx
    }

    fn lock_subscribers(&self) -> std::sync::MutexGuard<'_, Vec<Sink<K>>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(subs: &mut Vec<Sink<K>>, change: Change<K>) {
        let change = Arc::new(change);
        subs.retain(|s| s(&change));
    }

    fn apply(&self, obj: K) {
        let mut subs = self.lock_subscribers();
        let new = Arc::new(obj);
        let old = self.cache.write().upsert(new.clone());
        let change = match old {
            Some(old) => Change::Updated { old, new },
            None => Change::Added(new),
        };
        Self::notify(&mut subs, change);
    }

    fn delete(&self, obj: &K) {
        let mut subs = self.lock_subscribers();
        let removed = self.cache.write().remove(&key_of(obj.meta()));
        if let Some(old) = removed {
            Self::notify(&mut subs, Change::Deleted(old));
        }
    }

    /// A relist: the cache becomes `objects`; the difference is notified.
    fn replace(&self, objects: Vec<K>) {
        let mut subs = self.lock_subscribers();
        let mut changes = Vec::new();
        {
            let mut idx = self.cache.write();
            let mut seen: HashSet<Key> = HashSet::new();
            for obj in objects {
                let new = Arc::new(obj);
                let key = key_of(new.meta());
                seen.insert(key);
                let unchanged = idx.objects.get(&key_of(new.meta())).is_some_and(|o| {
                    o.meta().resource_version == new.meta().resource_version
                        && o.meta().uid == new.meta().uid
                });
                if unchanged {
                    continue;
                }
                match idx.upsert(new.clone()) {
                    Some(old) if old.meta().uid == new.meta().uid => {
                        changes.push(Change::Updated { old, new })
                    }
                    Some(old) => {
                        changes.push(Change::Deleted(old));
                        changes.push(Change::Added(new));
                    }
                    None => changes.push(Change::Added(new)),
                }
            }
            let gone: Vec<Key> = idx
                .objects
                .keys()
                .filter(|k| !seen.contains(*k))
                .cloned()
                .collect();
            // Deterministic order for the notifications.
            let gone: BTreeMap<Key, ()> = gone.into_iter().map(|k| (k, ())).collect();
            for k in gone.keys() {
                if let Some(old) = idx.remove(k) {
                    changes.push(Change::Deleted(old));
                }
            }
        }
        for c in changes {
            Self::notify(&mut subs, c);
        }
    }
}

/// The informers shared by the controllers (one watch per kind). Pods are
/// cached as slim records (`cached_pod.rs`), the other kinds as k8s-openapi
/// objects.
pub struct Informers {
    pub pods: Arc<Informer<super::cached_pod::Pod>>,
    pub nodes: Arc<Informer<k8s_openapi::api::core::v1::Node>>,
    pub replica_sets: Arc<Informer<k8s_openapi::api::apps::v1::ReplicaSet>>,
    pub deployments: Arc<Informer<k8s_openapi::api::apps::v1::Deployment>>,
    pub jobs: Arc<Informer<k8s_openapi::api::batch::v1::Job>>,
    pub cron_jobs: Arc<Informer<k8s_openapi::api::batch::v1::CronJob>>,
    pub daemon_sets: Arc<Informer<k8s_openapi::api::apps::v1::DaemonSet>>,
    pub controller_revisions: Arc<Informer<k8s_openapi::api::apps::v1::ControllerRevision>>,
    pub replication_controllers: Arc<Informer<k8s_openapi::api::core::v1::ReplicationController>>,
    pub stateful_sets: Arc<Informer<k8s_openapi::api::apps::v1::StatefulSet>>,
    pub pod_disruption_budgets: Arc<Informer<k8s_openapi::api::policy::v1::PodDisruptionBudget>>,
}

impl Informers {
    /// Starts the watches; the tasks are returned to be aborted at shutdown.
    pub fn start(client: &kube::Client) -> (Arc<Self>, Vec<JoinHandle<()>>) {
        let wc = watcher::Config::default;
        let (pods, t1) = Informer::start(Api::all(client.clone()), wc());
        let (nodes, t2) = Informer::start(Api::all(client.clone()), wc());
        let (replica_sets, t3) = Informer::start(Api::all(client.clone()), wc());
        let (deployments, t4) = Informer::start(Api::all(client.clone()), wc());
        let (jobs, t5) = Informer::start(Api::all(client.clone()), wc());
        let (cron_jobs, t6) = Informer::start(Api::all(client.clone()), wc());
        let (daemon_sets, t7) = Informer::start(Api::all(client.clone()), wc());
        let (controller_revisions, t8) = Informer::start(Api::all(client.clone()), wc());
        let (replication_controllers, t9) = Informer::start(Api::all(client.clone()), wc());
        let (stateful_sets, t10) = Informer::start(Api::all(client.clone()), wc());
        let (pod_disruption_budgets, t11) = Informer::start(Api::all(client.clone()), wc());
        let informers = Arc::new(Informers {
            pods,
            nodes,
            replica_sets,
            deployments,
            jobs,
            cron_jobs,
            daemon_sets,
            controller_revisions,
            replication_controllers,
            stateful_sets,
            pod_disruption_budgets,
        });
        (
            informers,
            vec![t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11],
        )
    }
}

/// The namespace/name of an object, for logs and queue keys.
pub fn name_key<K: Resource>(obj: &K) -> Key {
    key_of(obj.meta())
}

/// Shorthand used by controllers: `ns/name`.
pub fn display_key<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}
