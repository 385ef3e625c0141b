//! The local MVCC engine: the [`WatchCache`] (index and window) fed by one
//! writer thread that orders and commits writes in batches.
//!
//! Why one writer: a batch of concurrent writes shares a single durable commit
//! (one fsync) — group commit — which is what makes durable writes fast. The
//! writer checks every write's precondition against the state *plus the
//! earlier writes of the same batch*, persists the whole batch, and only then
//! makes it visible and acknowledges it. A reader therefore never sees a write
//! that could be lost by a crash.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

pub use super::cache::Config;
use super::cache::{Change, Entry, WatchCache};
use super::{
    KeyValue, ListOptions, ListResult, Precondition, Result, Revision, Storage, StorageError,
    WatchStream,
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
    cache: WatchCache,
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
        let keys = items.len();
        let cache = WatchCache::new(items, revision, config);
        tracing::debug!(
            keys,
            read_ms = loaded.as_secs_f64() * 1e3,
            index_ms = (started.elapsed() - loaded).as_secs_f64() * 1e3,
            "storage loaded"
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let writer_cache = cache.clone();
        let handle = std::thread::Builder::new()
            .name("storage-writer".into())
            .spawn(move || writer_loop(writer_cache, persistence, rx))
            .map_err(|e| StorageError::Internal(format!("cannot start writer: {e}")))?;
        Ok(MvccStore {
            cache,
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
}

fn writer_loop(
    cache: WatchCache,
    mut persistence: impl Persistence,
    mut rx: mpsc::UnboundedReceiver<Write>,
) {
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < cache.config().max_batch {
            match rx.try_recv() {
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        commit_batch(&cache, &mut persistence, batch);
    }
}

type Outcome = Result<(KeyValue, Revision)>;

/// Checks each write against the state plus the batch's earlier writes,
/// persists the batch, then makes it visible and answers every write.
fn commit_batch(cache: &WatchCache, persistence: &mut impl Persistence, batch: Vec<Write>) {
    let mut overlay: HashMap<String, Option<Entry>> = HashMap::new();
    let mut outcomes: Vec<(oneshot::Sender<Outcome>, Outcome)> = Vec::with_capacity(batch.len());
    let mut changes: Vec<Change> = Vec::new();
    let mut revision;
    {
        let st = match cache.reader() {
            Ok(s) => s,
            Err(e) => {
                for w in batch {
                    let _ = w.reply.send(Err(e.clone()));
                }
                return;
            }
        };
        revision = st.revision();
        for w in batch {
            let current: Option<Entry> = match overlay.get(&w.key) {
                Some(e) => e.clone(),
                None => st.get(&w.key).cloned(),
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
            // Each write's outcome: the key's new state and the answer.
            let outcome = match (w.op, current) {
                (Op::Create(_), Some(_)) => Err(StorageError::AlreadyExists(w.key.clone())),
                (Op::Update(..) | Op::Delete(..), None) => {
                    Err(StorageError::NotFound(w.key.clone()))
                }
                (Op::Create(value), None) => {
                    revision += 1;
                    let e = Entry {
                        value,
                        create: revision,
                        modified: revision,
                    };
                    let kv = e.to_kv(&w.key);
                    Ok((Some(e), kv))
                }
                (Op::Update(pre, value), Some(cur)) => check(pre, &cur).map(|()| {
                    revision += 1;
                    let e = Entry {
                        value,
                        create: cur.create,
                        modified: revision,
                    };
                    let kv = e.to_kv(&w.key);
                    (Some(e), kv)
                }),
                (Op::Delete(pre), Some(cur)) => check(pre, &cur).map(|()| {
                    revision += 1;
                    (None, cur.to_kv(&w.key))
                }),
            };
            match outcome {
                Ok((state, kv)) => {
                    changes.push(Change {
                        key: w.key.clone(),
                        value: state.as_ref().map(|e| e.value.clone()),
                        revision,
                        create_revision: kv.create_revision,
                    });
                    overlay.insert(w.key, state);
                    outcomes.push((w.reply, Ok((kv, revision))));
                }
                Err(err) => outcomes.push((w.reply, Err(err))),
            }
        }
    }

    if !overlay.is_empty() {
        let persisted: Vec<(String, Option<KeyValue>)> = overlay
            .iter()
            .map(|(k, e)| (k.clone(), e.as_ref().map(|e| e.to_kv(k))))
            .collect();
        if let Err(err) = persistence.commit(&persisted, revision) {
            tracing::error!(error = %err, "storage commit failed; writes of this batch were not applied");
            for (reply, outcome) in outcomes {
                let _ = reply.send(outcome.and(Err(StorageError::Internal(err.to_string()))));
            }
            return;
        }
        cache.apply(changes, revision);
    }
    for (reply, outcome) in outcomes {
        let _ = reply.send(outcome);
    }
}

#[async_trait::async_trait]
impl Storage for MvccStore {
    fn current_revision(&self) -> Revision {
        self.cache.revision()
    }

    fn oldest_revision(&self) -> Revision {
        self.cache.oldest()
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.cache.get(key)
    }

    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        self.cache.list(prefix, opts)
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
        self.cache.watch(prefix, after)
    }

    async fn close(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        let handle = self.done.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        self.cache.close();
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
