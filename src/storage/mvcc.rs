//! The MVCC engine: an in-memory ordered index of the current state, a
//! sliding window of recent changes for watches and past-revision reads, and
//! one writer thread that commits writes in batches.
//!
//! Why one writer: a batch of concurrent writes shares a single durable commit
//! (one fsync) — group commit — which is what makes durable writes fast. The
//! writer checks every write's precondition against the state *plus the
//! earlier writes of the same batch*, persists the whole batch, and only then
//! makes it visible and acknowledges it. A reader therefore never sees a write
//! that could be lost by a crash.
//!
//! Why a `std::sync::RwLock`: it is held only for memory operations, never
//! across an `.await` or an fsync.
//!
//! Watch fan-out uses one `tokio::sync::broadcast` channel: its bounded ring is
//! the per-watcher buffer, and a watcher that falls behind it gets an error and
//! must resume from its last revision, so a slow watcher never blocks writers.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::{
    Event, EventType, KeyValue, ListOptions, ListResult, Precondition, Result, Revision, Storage,
    StorageError, WatchStream,
};

/// Where committed batches go to be durable.
pub trait Persistence: Send + 'static {
    /// Everything stored, and the store's revision.
    fn load(&mut self) -> Result<(Vec<KeyValue>, Revision)>;
    /// Makes a batch durable: each key's new state (`None` = deleted) and the
    /// revision after the batch. Must not return before the data is on disk.
    fn commit(&mut self, changes: &[(String, Option<KeyValue>)], revision: Revision) -> Result<()>;
}

/// No persistence: `--storage memory`.
pub struct NoPersistence;

impl Persistence for NoPersistence {
    fn load(&mut self) -> Result<(Vec<KeyValue>, Revision)> {
        Ok((Vec::new(), 0))
    }
    fn commit(&mut self, _: &[(String, Option<KeyValue>)], _: Revision) -> Result<()> {
        Ok(())
    }
}

/// Tuning of the engine.
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
    /// Most writes committed together.
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
struct Entry {
    value: Bytes,
    create: Revision,
    modified: Revision,
}

impl Entry {
    fn to_kv(&self, key: &str) -> KeyValue {
        KeyValue {
            key: key.to_string(),
            value: self.value.clone(),
            create_revision: self.create,
            mod_revision: self.modified,
        }
    }
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
    config: Config,
}

/// What one kept change costs against [`Config::history_bytes`]: its value
/// (the previous value is the previous change's, or the live object's),
/// key and bookkeeping.
fn history_cost(ev: &Event) -> usize {
    ev.value.len() + ev.key.len() + 128
}

enum Op {
    Create(Bytes),
    Update(Precondition, Bytes),
    Delete(Precondition),
}

struct Write {
    key: String,
    op: Op,
    reply: oneshot::Sender<Result<(KeyValue, Revision)>>,
}

/// The engine; see the module docs.
pub struct MvccStore {
    shared: Arc<Shared>,
    writer: Mutex<Option<mpsc::UnboundedSender<Write>>>,
    done: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl MvccStore {
    /// An in-memory store that keeps nothing across restarts.
    pub fn memory() -> Result<Self> {
        Self::open(NoPersistence, Config::default())
    }

    /// Loads what `persistence` holds and starts the writer thread.
    pub fn open(mut persistence: impl Persistence, config: Config) -> Result<Self> {
        let started = std::time::Instant::now();
        let (items, revision) = persistence.load()?;
        let loaded = started.elapsed();
        // Persistence yields keys in order, so this is a bulk build.
        let map: BTreeMap<String, Entry> = items
            .into_iter()
            .map(|kv| {
                let entry = Entry {
                    value: kv.value,
                    create: kv.create_revision,
                    modified: kv.mod_revision,
                };
                (kv.key, entry)
            })
            .collect();
        tracing::debug!(
            keys = map.len(),
            read_ms = loaded.as_secs_f64() * 1e3,
            index_ms = (started.elapsed() - loaded).as_secs_f64() * 1e3,
            "storage loaded"
        );
        let (events, _) = broadcast::channel(config.watch_buffer.max(16));
        let shared = Arc::new(Shared {
            state: RwLock::new(State {
                map,
                revision,
                history: VecDeque::new(),
                history_bytes: 0,
                oldest: revision,
            }),
            events: Mutex::new(Some(events)),
            revision: AtomicU64::new(revision),
            oldest: AtomicU64::new(revision),
            config,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let writer_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("storage-writer".into())
            .spawn(move || writer_loop(writer_shared, persistence, rx))
            .map_err(|e| StorageError::Internal(format!("cannot start writer: {e}")))?;
        Ok(MvccStore {
            shared,
            writer: Mutex::new(Some(tx)),
            done: Mutex::new(Some(handle)),
        })
    }

    async fn write(&self, key: &str, op: Op) -> Result<(KeyValue, Revision)> {
        let (reply, rx) = oneshot::channel();
        {
            let guard = self.writer.lock().map_err(|_| StorageError::Closed)?;
            let tx = guard.as_ref().ok_or(StorageError::Closed)?;
            tx.send(Write {
                key: key.to_string(),
                op,
                reply,
            })
            .map_err(|_| StorageError::Closed)?;
        }
        rx.await.map_err(|_| StorageError::Closed)?
    }

    fn read_state(&self) -> Result<std::sync::RwLockReadGuard<'_, State>> {
        self.shared
            .state
            .read()
            .map_err(|_| StorageError::Internal("state lock poisoned".into()))
    }
}

fn writer_loop(
    shared: Arc<Shared>,
    mut persistence: impl Persistence,
    mut rx: mpsc::UnboundedReceiver<Write>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < shared.config.max_batch {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        commit_batch(&shared, &mut persistence, batch);
    }
}

type Outcome = Result<(KeyValue, Revision)>;

fn commit_batch(shared: &Shared, persistence: &mut impl Persistence, batch: Vec<Write>) {
    let mut overlay: HashMap<String, Option<Entry>> = HashMap::new();
    let mut outcomes: Vec<(oneshot::Sender<Outcome>, Outcome)> = Vec::with_capacity(batch.len());
    let mut events: Vec<Arc<Event>> = Vec::new();
    let mut revision;
    {
        let st = match shared.state.read() {
            Ok(s) => s,
            Err(_) => {
                for w in batch {
                    let _ = w
                        .reply
                        .send(Err(StorageError::Internal("state lock poisoned".into())));
                }
                return;
            }
        };
        revision = st.revision;
        for w in batch {
            let current: Option<Entry> = match overlay.get(&w.key) {
                Some(e) => e.clone(),
                None => st.map.get(&w.key).cloned(),
            };
            let check = |pre: Precondition, cur: &Entry| -> Result<()> {
                match pre {
                    Precondition::ModRevision(r) if r != cur.modified => {
                        Err(StorageError::Conflict {
                            key: w.key.clone(),
                            current: Box::new(cur.to_kv(&w.key)),
                        })
                    }
                    _ => Ok(()),
                }
            };
            let outcome = match (w.op, current) {
                (Op::Create(_), Some(_)) => Err(StorageError::AlreadyExists(w.key.clone())),
                (Op::Create(value), None) => {
                    revision += 1;
                    let e = Entry {
                        value,
                        create: revision,
                        modified: revision,
                    };
                    events.push(Arc::new(Event {
                        event_type: EventType::Created,
                        key: w.key.clone(),
                        value: e.value.clone(),
                        prev_value: None,
                        prev_revision: 0,
                        create_revision: revision,
                        revision,
                    }));
                    let kv = e.to_kv(&w.key);
                    overlay.insert(w.key.clone(), Some(e));
                    Ok((kv, revision))
                }
                (Op::Update(..) | Op::Delete(..), None) => {
                    Err(StorageError::NotFound(w.key.clone()))
                }
                (Op::Update(pre, value), Some(cur)) => check(pre, &cur).map(|()| {
                    revision += 1;
                    let e = Entry {
                        value,
                        create: cur.create,
                        modified: revision,
                    };
                    events.push(Arc::new(Event {
                        event_type: EventType::Modified,
                        key: w.key.clone(),
                        value: e.value.clone(),
                        prev_value: Some(cur.value.clone()),
                        prev_revision: cur.modified,
                        create_revision: cur.create,
                        revision,
                    }));
                    let kv = e.to_kv(&w.key);
                    overlay.insert(w.key.clone(), Some(e));
                    (kv, revision)
                }),
                (Op::Delete(pre), Some(cur)) => check(pre, &cur).map(|()| {
                    revision += 1;
                    events.push(Arc::new(Event {
                        event_type: EventType::Deleted,
                        key: w.key.clone(),
                        value: cur.value.clone(),
                        prev_value: Some(cur.value.clone()),
                        prev_revision: cur.modified,
                        create_revision: cur.create,
                        revision,
                    }));
                    overlay.insert(w.key.clone(), None);
                    (cur.to_kv(&w.key), revision)
                }),
            };
            outcomes.push((w.reply, outcome));
        }
    }

    if !overlay.is_empty() {
        let changes: Vec<(String, Option<KeyValue>)> = overlay
            .iter()
            .map(|(k, e)| (k.clone(), e.as_ref().map(|e| e.to_kv(k))))
            .collect();
        if let Err(err) = persistence.commit(&changes, revision) {
            tracing::error!(error = %err, "storage commit failed; writes of this batch were not applied");
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome.and(Err(StorageError::Internal(err.to_string()))));
            }
            return;
        }
        if let Ok(mut st) = shared.state.write() {
            for (k, e) in overlay {
                match e {
                    Some(e) => {
                        st.map.insert(k, e);
                    }
                    None => {
                        st.map.remove(&k);
                    }
                }
            }
            st.revision = revision;
            let cap = shared.config.history.max(1);
            let byte_cap = shared.config.history_bytes;
            for ev in &events {
                st.history_bytes += history_cost(ev);
                st.history.push_back(ev.clone());
            }
            let min = shared.config.history_min;
            while st.history.len() > cap || (st.history_bytes > byte_cap && st.history.len() > min)
            {
                let Some(old) = st.history.pop_front() else {
                    break;
                };
                st.history_bytes = st.history_bytes.saturating_sub(history_cost(&old));
                st.oldest = old.revision;
            }
            shared.revision.store(revision, Ordering::Release);
            shared.oldest.store(st.oldest, Ordering::Release);
            // Published under the state lock so that a watch started under the
            // read lock sees each event exactly once (backlog or live).
            if let Ok(tx) = shared.events.lock()
                && let Some(tx) = tx.as_ref()
            {
                for ev in events {
                    let _ = tx.send(ev);
                }
            }
        }
    }
    for (reply, outcome) in outcomes {
        let _ = reply.send(outcome);
    }
}

#[async_trait::async_trait]
impl Storage for MvccStore {
    fn current_revision(&self) -> Revision {
        self.shared.revision.load(Ordering::Acquire)
    }

    fn oldest_revision(&self) -> Revision {
        self.shared.oldest.load(Ordering::Acquire)
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let st = self.read_state()?;
        Ok(st.map.get(key).map(|e| e.to_kv(key)))
    }

    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
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

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.write(key, Op::Create(value)).await.map(|(kv, _)| kv)
    }

    async fn update(&self, key: &str, pre: Precondition, value: Bytes) -> Result<KeyValue> {
        self.write(key, Op::Update(pre, value))
            .await
            .map(|(kv, _)| kv)
    }

    async fn delete(&self, key: &str, pre: Precondition) -> Result<(KeyValue, Revision)> {
        self.write(key, Op::Delete(pre)).await
    }

    fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
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

    async fn close(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        let handle = self.done.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        if let Ok(mut e) = self.shared.events.lock() {
            e.take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_in_one_batch_see_each_other() {
        let s = MvccStore::memory().unwrap();
        let (a, b) = tokio::join!(
            s.create("/k", Bytes::from_static(b"1")),
            s.create("/k", Bytes::from_static(b"2"))
        );
        assert!(a.is_ok() != b.is_ok(), "exactly one create wins");
        s.close().await;
    }
}
