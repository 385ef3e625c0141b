//! Storage: keys to bytes plus one monotonic revision, like etcd's MVCC.
//!
//! This layer knows nothing of HTTP or Kubernetes kinds. A value is opaque
//! bytes; the revision that last modified a key is returned beside it and the
//! registry turns it into `metadata.resourceVersion` (as upstream's etcd3 store
//! does with its versioner). Every backend implements [`Storage`], and the one
//! conformance suite in `conformance.rs` runs against each of them.
//!
//! Backends:
//! - [`mvcc::MvccStore`] with no persistence (`--storage memory`, for tests);
//! - [`mvcc::MvccStore`] over [`embedded::RedbLog`] (`--storage embedded`, the default):
//!   the same in-memory index, with every batch of writes committed (fsync) to a
//!   redb file before any of them is acknowledged or becomes visible.
//!
//! - [`etcd::EtcdStore`] (`--storage etcd`): etcd holds the data; the same
//!   [`cache::WatchCache`] serves lists and watches, fed by an etcd watch.

use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;

pub mod cache;
pub mod embedded;
pub mod etcd;
pub mod mvcc;

#[cfg(test)]
mod conformance;

/// A store-wide revision; `metadata.resourceVersion` is its decimal form.
pub type Revision = u64;

/// One stored key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// The revision that created the key (kept across updates).
    pub create_revision: Revision,
    /// The revision that last modified the key.
    pub mod_revision: Revision,
}

/// Options of a range read.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    /// Only keys strictly greater than this (a continue token's position).
    pub start_after: Option<String>,
    /// At most this many keys; 0 = no limit.
    pub limit: usize,
    /// Read the state as of this revision (0 = the current one). Older than
    /// the history kept gives [`StorageError::Expired`].
    pub revision: Revision,
    /// With `revision` 0: any recent state will do (`resourceVersion=0`),
    /// so a cached backend answers without confirming it is current, as
    /// upstream's watch cache does, even while etcd is unreachable.
    pub any_recent: bool,
}

/// The answer to a range read.
#[derive(Debug, Clone)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The revision the read reflects.
    pub revision: Revision,
    /// Keys after the last one returned that matched the prefix.
    pub remaining: u64,
}

/// What a watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Created,
    Modified,
    Deleted,
}

/// One change, as seen by watchers.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: EventType,
    pub key: String,
    /// The new value (for `Deleted`, the value as it was before deletion).
    pub value: Bytes,
    /// The value before this change, if the key existed.
    pub prev_value: Option<Bytes>,
    /// The revision that produced `prev_value` (0 if none).
    pub prev_revision: Revision,
    pub create_revision: Revision,
    /// The revision of this change.
    pub revision: Revision,
}

/// A condition a write checks atomically before it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// The key's `mod_revision` must be this.
    ModRevision(Revision),
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StorageError {
    #[error("key not found: {0}")]
    NotFound(String),
    #[error("key exists: {0}")]
    AlreadyExists(String),
    /// The precondition failed; carries the current value.
    #[error("precondition failed for {key}")]
    Conflict { key: String, current: Box<KeyValue> },
    /// The requested revision is older than the history kept.
    #[error("too old resource version: {requested} ({oldest})")]
    Expired {
        requested: Revision,
        oldest: Revision,
    },
    /// The requested revision is newer than the store's.
    #[error("Too large resource version: {requested}, current: {current}")]
    TooLarge {
        requested: Revision,
        current: Revision,
    },
    #[error("storage is closed")]
    Closed,
    /// A watcher fell further behind than the per-watcher buffer; its
    /// stream ends after this and the client resumes from its last revision.
    #[error("watcher fell behind by {0} events and was closed")]
    TooSlow(u64),
    /// The backend could not be reached in time (etcd down or without quorum).
    #[error("{0}")]
    Unavailable(String),
    #[error("storage failure: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// A stream of changes; it ends when the store shuts down, and yields an
/// error (then ends) when the watcher fell too far behind.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<Arc<Event>>> + Send>>;

/// The one seam between the registry and every backend.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The revision of the last committed change.
    fn current_revision(&self) -> Revision;

    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// A get that any recent state answers (`resourceVersion=0` or a
    /// revision the caller has already waited for): a cached backend reads
    /// its cache, even while its remote store is unreachable, as upstream's
    /// watch cache serves such gets.
    async fn get_recent(&self, key: &str) -> Result<Option<KeyValue>> {
        self.get(key).await
    }

    /// Keys starting with `prefix`, in key order.
    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult>;

    /// Creates `key`; fails with `AlreadyExists` if present. Returns the new revision.
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue>;

    /// Replaces an existing key's value if the precondition holds.
    async fn update(&self, key: &str, pre: Precondition, value: Bytes) -> Result<KeyValue>;

    /// Deletes `key` if the precondition holds; returns the value deleted and
    /// the deletion's revision.
    async fn delete(&self, key: &str, pre: Precondition) -> Result<(KeyValue, Revision)>;

    /// Changes under `prefix` with revision > `after`, in order, then live.
    fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream>;

    /// The oldest revision a watch or list can start from.
    fn oldest_revision(&self) -> Revision;

    /// Flushes and closes; later writes fail with `Closed`.
    async fn close(&self);

    /// Whether the backend answers (`/readyz` and `/livez`'s `etcd` check);
    /// the error says why not.
    async fn check(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}
