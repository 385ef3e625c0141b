//! The watch cache: an in-memory ordered index of the current state plus a
//! sliding window of recent changes, serving gets, lists (also at a past
//! revision) and watches without touching the backend.
//!
//! It is fed committed changes in revision order by whoever orders writes:
//! the local writer thread of [`super::mvcc::MvccStore`] (`--storage memory`
//! and `embedded`), or the etcd watch of [`super::etcd::EtcdStore`], as
//! upstream's cacher (`staging/src/k8s.io/apiserver/pkg/storage/cacher`) is
//! fed by its reflector. A change carries only the key's new state; the
//! previous value, kept in each event for watchers and for undoing changes in
//! past-revision lists, comes from the index itself.
//!
//! Why a `std::sync::RwLock`: it is held only for memory operations, never
//! across an `.await`.
//!
//! Watch fan-out uses one `tokio::sync::broadcast` channel: its bounded ring is
//! the per-watcher buffer, and a watcher that falls behind it gets an error and
//! must resume from its last revision, so a slow watcher never blocks writers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{Notify, broadcast};

use super::{
    Event, EventType, KeyValue, ListOptions, ListResult, Result, Revision, StorageError,
    WatchStream,
};

/// Tuning of the cache (and of the local writer's batches).
#[derive(Debug, Clone)]
pub struct Config {
    /// Changes kept for watches and past-revision reads.
    pub history: usize,
    /// Most bytes of object data the kept changes may hold: a bound on
    /// memory whatever the size of the objects (the oldest changes go first)...
    pub history_bytes: usize,
    /// ...except that this many of the latest are always kept (kine, k3s's
    /// etcd shim, keeps 1000 revisions).
    pub history_min: usize,
    /// Events buffered per watcher before it is dropped as too slow.
    pub watch_buffer: usize,
    /// Most writes the local writer commits together (unused by etcd).
    pub max_batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            history: 100_000,
            history_bytes: 16 << 20,
            history_min: 1000,
            watch_buffer: 16_384,
            max_batch: 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) value: Bytes,
    pub(crate) create: Revision,
    pub(crate) modified: Revision,
}

impl Entry {
    pub(crate) fn to_kv(&self, key: &str) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: self.value.clone(),
            create_revision: self.create,
            mod_revision: self.modified,
        }
    }
}

/// One committed change: a key's new state (`None` = deleted) at `revision`.
#[derive(Debug, Clone)]
pub struct Change {
    pub key: String,
    pub value: Option<Bytes>,
    pub revision: Revision,
    /// The key's create revision (ignored for deletions: the index knows it).
    pub create_revision: Revision,
}

struct State {
    map: BTreeMap<String, Entry>,
    revision: Revision,
    /// Changes with revision > `oldest`, in revision order.
    history: VecDeque<Arc<Event>>,
    /// What `history` holds, as counted by [`history_cost`].
    history_bytes: usize,
    oldest: Revision,
}

struct Shared {
    state: RwLock<State>,
    events: Mutex<Option<broadcast::Sender<Arc<Event>>>>,
    revision: AtomicU64,
    oldest: AtomicU64,
    /// Woken when the revision advances (for [`WatchCache::wait_for`]).
    advanced: Notify,
    config: Config,
}

/// What one kept change costs against [`Config::history_bytes`]: its value
/// (the previous value is the previous change's, or the live object's),
/// key and bookkeeping.
fn history_cost(ev: &Event) -> usize {
    ev.value.len() + ev.key.len() + 128
}

/// The index and window; cheap to clone (one shared state).
#[derive(Clone)]
pub struct WatchCache {
    shared: Arc<Shared>,
}

/// A read view of the index, for a writer checking preconditions.
pub(crate) struct Reader<'a>(std::sync::RwLockReadGuard<'a, State>);

impl Reader<'_> {
    pub(crate) fn get(&self, key: &str) -> Option<&Entry> {
        self.0.map.get(key)
    }
    pub(crate) fn revision(&self) -> Revision {
        self.0.revision
    }
}

impl WatchCache {
    /// A cache holding `items` (in key order or not) at `revision`.
    pub fn new(items: Vec<KeyValue>, revision: Revision, config: Config) -> Self {
        let (events, _) = broadcast::channel(config.watch_buffer.max(16));
        let shared = Arc::new(Shared {
            state: RwLock::new(State {
                map: index(items),
                revision,
                history: VecDeque::new(),
                history_bytes: 0,
                oldest: revision,
            }),
            events: Mutex::new(Some(events)),
            revision: AtomicU64::new(revision),
            oldest: AtomicU64::new(revision),
            advanced: Notify::new(),
            config,
        });
        WatchCache { shared }
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The revision of the last change applied.
    pub fn revision(&self) -> Revision {
        self.shared.revision.load(Ordering::Acquire)
    }

    /// The oldest revision a watch or list can start from.
    pub fn oldest(&self) -> Revision {
        self.shared.oldest.load(Ordering::Acquire)
    }

    fn read_state(&self) -> Result<std::sync::RwLockReadGuard<'_, State>> {
        self.shared
            .state
            .read()
            .map_err(|_| StorageError::Internal("state lock poisoned".into()))
    }

    pub(crate) fn reader(&self) -> Result<Reader<'_>> {
        self.read_state().map(Reader)
    }

    pub fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let st = self.read_state()?;
        Ok(st.map.get(key).map(|e| e.to_kv(key)))
    }

    /// Makes committed changes visible, in revision order, and advances the
    /// revision to `revision` (at least the last change's). Changes at or
    /// below the current revision were applied already and are skipped.
    pub fn apply(&self, changes: Vec<Change>, revision: Revision) {
        let Ok(mut st) = self.shared.state.write() else {
            return;
        };
        let mut events = Vec::with_capacity(changes.len());
        // One etcd revision may change several keys: compare with the
        // revision before this batch.
        let base = st.revision;
        for c in changes {
            if c.revision <= base {
                continue;
            }
            let prev = st.map.get(&c.key).cloned();
            let ev = match (c.value, prev) {
                (Some(value), prev) => {
                    let create = match &prev {
                        Some(p) => p.create,
                        None if c.create_revision > 0 => c.create_revision,
                        None => c.revision,
                    };
                    st.map.insert(
                        c.key.clone(),
                        Entry {
                            value: value.clone(),
                            create,
                            modified: c.revision,
                        },
                    );
                    Event {
                        event_type: if prev.is_some() {
                            EventType::Modified
                        } else {
                            EventType::Created
                        },
                        key: c.key,
                        value,
                        prev_revision: prev.as_ref().map_or(0, |p| p.modified),
                        prev_value: prev.map(|p| p.value),
                        create_revision: create,
                        revision: c.revision,
                    }
                }
                (None, Some(prev)) => {
                    st.map.remove(&c.key);
                    Event {
                        event_type: EventType::Deleted,
                        key: c.key,
                        value: prev.value.clone(),
                        prev_value: Some(prev.value),
                        prev_revision: prev.modified,
                        create_revision: prev.create,
                        revision: c.revision,
                    }
                }
                // Deleting what the index never held: nothing to tell.
                (None, None) => continue,
            };
            st.revision = ev.revision;
            events.push(Arc::new(ev));
        }
        st.revision = st.revision.max(revision);
        let cap = self.shared.config.history.max(1);
        let byte_cap = self.shared.config.history_bytes;
        for ev in &events {
            st.history_bytes += history_cost(ev);
            st.history.push_back(ev.clone());
        }
        let min = self.shared.config.history_min;
        while st.history.len() > cap || (st.history_bytes > byte_cap && st.history.len() > min) {
            let Some(old) = st.history.pop_front() else {
                break;
            };
            st.history_bytes = st.history_bytes.saturating_sub(history_cost(&old));
            st.oldest = old.revision;
        }
        self.shared.revision.store(st.revision, Ordering::Release);
        self.shared.oldest.store(st.oldest, Ordering::Release);
        // Published under the state lock so that a watch started under the
        // read lock sees each event exactly once (backlog or live).
        if let Ok(tx) = self.shared.events.lock()
            && let Some(tx) = tx.as_ref()
        {
            for ev in events {
                let _ = tx.send(ev);
            }
        }
        drop(st);
        self.shared.advanced.notify_waiters();
    }

    /// Replaces everything with a fresh list at `revision` (a relist after
    /// the feed lost its place): the window restarts there and every watcher
    /// is closed, to resume from its last revision or get `410 Expired`, as
    /// upstream's cacher does after its reflector relists.
    pub fn replace(&self, items: Vec<KeyValue>, revision: Revision) {
        let Ok(mut st) = self.shared.state.write() else {
            return;
        };
        st.map = index(items);
        st.revision = revision;
        st.history.clear();
        st.history_bytes = 0;
        st.oldest = revision;
        self.shared.revision.store(revision, Ordering::Release);
        self.shared.oldest.store(revision, Ordering::Release);
        if let Ok(mut tx) = self.shared.events.lock()
            && tx.is_some()
        {
            *tx = Some(broadcast::channel(self.shared.config.watch_buffer.max(16)).0);
        }
        drop(st);
        self.shared.advanced.notify_waiters();
    }

    /// Waits until the cache has reached `revision`; false after `timeout`.
    pub async fn wait_for(&self, revision: Revision, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.shared.advanced.notified();
                if self.revision() >= revision {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Keys starting with `prefix`, in key order, at `opts.revision` (0 =
    /// the current one): the current map with later changes undone.
    pub fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        let st = self.read_state()?;
        let at = if opts.revision == 0 {
            st.revision
        } else {
            opts.revision
        };
        if at > st.revision {
            return Err(StorageError::TooLarge {
                requested: at,
                current: st.revision,
            });
        }
        if at < st.revision && at < st.oldest {
            return Err(StorageError::Expired {
                requested: at,
                oldest: st.oldest,
            });
        }
        let start = opts.start_after.as_deref().unwrap_or("");
        let lower = if start.as_bytes() > prefix.as_bytes() {
            start
        } else {
            prefix
        };
        let in_range = |k: &str| k.starts_with(prefix) && (opts.start_after.is_none() || k > start);

        // The state at `at`: the current map with every later change undone.
        // The first change after `at` of a key tells what it was at `at`.
        let mut undo: BTreeMap<&str, Option<Entry>> = BTreeMap::new();
        if at < st.revision {
            let from = st.history.partition_point(|e| e.revision <= at);
            for ev in st.history.range(from..) {
                if !in_range(&ev.key) || undo.contains_key(ev.key.as_str()) {
                    continue;
                }
                let before = match ev.event_type {
                    EventType::Created => None,
                    _ => ev.prev_value.clone().map(|value| Entry {
                        value,
                        create: ev.create_revision,
                        modified: ev.prev_revision,
                    }),
                };
                undo.insert(ev.key.as_str(), before);
            }
        }

        let limit = if opts.limit == 0 {
            usize::MAX
        } else {
            opts.limit
        };
        let mut items = Vec::new();
        let mut remaining = 0u64;
        let mut push = |k: &str, e: &Entry| {
            if items.len() < limit {
                items.push(e.to_kv(k));
            } else {
                remaining += 1;
            }
        };
        let mut current = st
            .map
            .range::<str, _>((std::ops::Bound::Included(lower), std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| in_range(k))
            .peekable();
        let mut undone = undo.iter().peekable();
        loop {
            let take_current = match (current.peek(), undone.peek()) {
                (None, None) => break,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((ck, _)), Some((uk, _))) => ck.as_str() < **uk,
            };
            if take_current {
                if let Some((k, e)) = current.next() {
                    push(k, e);
                }
            } else if let Some((k, before)) = undone.next() {
                // A key changed after `at` shadows its current value.
                if current.peek().is_some_and(|(ck, _)| ck.as_str() == *k) {
                    current.next();
                }
                if let Some(e) = before {
                    push(k, e);
                }
            }
        }
        Ok(ListResult {
            items,
            revision: at,
            remaining,
        })
    }

    /// Changes under `prefix` with revision > `after`, in order, then live.
    pub fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        let st = self.read_state()?;
        if after < st.oldest {
            return Err(StorageError::Expired {
                requested: after,
                oldest: st.oldest,
            });
        }
        let from = st.history.partition_point(|e| e.revision <= after);
        let backlog: Vec<Result<Arc<Event>>> = st
            .history
            .range(from..)
            .filter(|e| e.key.starts_with(prefix))
            .map(|e| Ok(e.clone()))
            .collect();
        let rx = match self.shared.events.lock() {
            Ok(g) => g.as_ref().map(|tx| tx.subscribe()),
            Err(_) => None,
        };
        drop(st);
        let prefix = prefix.to_string();
        let live = futures::stream::unfold(rx, move |rx| {
            let prefix = prefix.clone();
            async move {
                let mut rx = rx?;
                loop {
                    match rx.recv().await {
                        Ok(ev) if ev.revision > after && ev.key.starts_with(&prefix) => {
                            return Some((Ok(ev), Some(rx)));
                        }
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            // Ends the stream after the error: the client resumes.
                            return Some((Err(StorageError::TooSlow(n)), None));
                        }
                    }
                }
            }
        });
        Ok(futures::stream::iter(backlog).chain(live).boxed())
    }

    /// Ends every watch; later watches see no live events.
    pub fn close(&self) {
        if let Ok(mut e) = self.shared.events.lock() {
            e.take();
        }
        self.shared.advanced.notify_waiters();
    }
}

fn index(items: Vec<KeyValue>) -> BTreeMap<String, Entry> {
    items
        .into_iter()
        .map(|kv| {
            let entry = Entry {
                value: kv.value,
                create: kv.create_revision,
                modified: kv.mod_revision,
            };
            (kv.key, entry)
        })
        .collect()
}
