//! A work queue with client-go `workqueue` semantics: a key is queued at
//! most once however often it is added; a key is never handed to two
//! workers at once (added while processing, it is queued again when the
//! worker calls [`Queue::done`]); `add_after` delays an add.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

struct State<K> {
    queue: VecDeque<K>,
    /// Keys waiting to be processed (queued, or added during processing).
    dirty: HashSet<K>,
    processing: HashSet<K>,
}

pub struct Queue<K> {
    state: Mutex<State<K>>,
    notify: Notify,
}

impl<K: Clone + Eq + Hash + Send + 'static> Queue<K> {
    pub fn new() -> Arc<Self> {
        Arc::new(Queue {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                dirty: HashSet::new(),
                processing: HashSet::new(),
            }),
            notify: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, key: K) {
        let mut s = self.lock();
        if !s.dirty.insert(key.clone()) {
            return;
        }
        if s.processing.contains(&key) {
            return;
        }
        s.queue.push_back(key);
        drop(s);
        self.notify.notify_one();
    }

    /// Adds `key` after `delay` (on a timer task).
    pub fn add_after(self: &Arc<Self>, key: K, delay: Duration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let q = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(q) = q.upgrade() {
                q.add(key);
            }
        });
    }

    /// The next key; the caller must call [`Queue::done`] with it.
    pub async fn get(&self) -> K {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if let Some(key) = s.queue.pop_front() {
                    s.dirty.remove(&key);
                    s.processing.insert(key.clone());
                    let more = !s.queue.is_empty();
                    drop(s);
                    if more {
                        self.notify.notify_one();
                    }
                    return key;
                }
            }
            notified.await;
        }
    }

    pub fn done(&self, key: &K) {
        let mut s = self.lock();
        s.processing.remove(key);
        if s.dirty.contains(key) {
            s.queue.push_back(key.clone());
            drop(s);
            self.notify.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `workers` tasks taking keys from `queue` and calling `sync`; each
/// result may ask for the key again after a delay.
pub async fn run_workers<K, F, Fut>(queue: Arc<Queue<K>>, workers: usize, sync: F)
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    F: Fn(K) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<Duration>> + Send + 'static,
{
    let mut tasks = Vec::new();
    for _ in 0..workers.max(1) {
        let queue = queue.clone();
        let sync = sync.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let key = queue.get().await;
                let again = sync(key.clone()).await;
                queue.done(&key);
                if let Some(after) = again {
                    queue.add_after(key, after);
                }
            }
        }));
    }
    let _aborter: Vec<super::AbortOnDrop> = tasks.into_iter().map(super::AbortOnDrop).collect();
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedups_and_requeues_keys_added_while_processing() {
        let q: Arc<Queue<u32>> = Queue::new();
        q.add(1);
        q.add(1);
        q.add(2);
        assert_eq!(q.len(), 2);
        let k = q.get().await;
        assert_eq!(k, 1);
        // Added while processing: not handed out again until done.
        q.add(1);
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await, 2);
        assert!(q.is_empty());
        q.done(&1);
        assert_eq!(q.len(), 1);
        assert_eq!(q.get().await, 1);
        q.done(&1);
        q.done(&2);
        assert!(q.is_empty());
    }

    #[tokio::test]
    async fn add_after_adds_later() {
        let q: Arc<Queue<u32>> = Queue::new();
        q.add_after(7, Duration::from_millis(20));
        assert!(q.is_empty());
        let k = tokio::time::timeout(Duration::from_secs(2), q.get()).await;
        assert_eq!(k.ok(), Some(7));
    }
}
