//! `--storage etcd`: objects in etcd under upstream's key layout, served
//! through a [`WatchCache`] that one etcd watch keeps current.
//!
//! Writes are etcd transactions that compare the key's `mod_revision` (or its
//! absence) and are acknowledged once etcd has committed them and the cache
//! has caught up with them, so a client that writes then lists sees its
//! write. The etcd revision is the resourceVersion, as in upstream's
//! `apiserver/pkg/storage/etcd3/store.go`.
//!
//! Reads:
//! - a get is a quorum read from etcd (upstream's `Get` with no
//!   resourceVersion);
//! - a list at revision 0 is a consistent read from the cache: etcd's current
//!   revision is read, a progress request brings the cache up to it (upstream's
//!   consistent reads from cache, `cacher.go` `waitUntilWatchCacheFreshAndForceAllEvents`
//!   with `WatchProgressRequest`s), and if that does not happen within 3 s
//!   the list is read from etcd instead;
//! - a list at a past revision is read from the cache's window, or from etcd
//!   when older, where a compacted revision gives `Expired` (410);
//! - watches start from the cache's window.
//!
//! Unlike upstream's one cacher per resource, one watch covers the whole
//! prefix: the registry's single revision order (and the embedded store's)
//! then holds here too, and N resources cost one etcd watch, not N.

pub mod client;
pub mod proto;
pub mod testing;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tonic::{Code, Status};

use super::cache::{Change, Config, WatchCache};
use super::{
    KeyValue, ListOptions, ListResult, Precondition, Result, Revision, Storage, StorageError,
    WatchStream,
};
use client::prefix_end;
pub use client::{Client, EtcdConfig};
use proto::*;

/// The prefix the registry's keys start with; `--etcd-prefix` replaces it.
const REGISTRY_ROOT: &str = "/registry";

/// How long a consistent read waits for the cache before reading etcd.
const FRESH_WAIT: Duration = Duration::from_secs(3);

/// Keys per page when (re)loading the cache.
const LOAD_PAGE: i64 = 10_000;

pub struct EtcdStore {
    client: Client,
    /// `--etcd-prefix` without a trailing slash.
    prefix: String,
    cache: WatchCache,
    /// Where to send progress requests on the live watch.
    progress: Arc<Mutex<Option<mpsc::Sender<WatchRequest>>>>,
    /// Whether etcd's progress notifications can be trusted (see
    /// [`progress_is_reliable`]).
    progress_ok: bool,
    stop: tokio::sync::watch::Sender<bool>,
    closed: AtomicBool,
    /// The last health probe and when it ran: at most one probe a second,
    /// as upstream's rate-limited etcd check.
    last_check: Mutex<Option<(std::time::Instant, std::result::Result<(), String>)>>,
}

/// Whether this etcd version sends a progress notification only after every
/// event up to its revision: etcd before 3.4.31 / 3.5.13 could send one
/// ahead of the events (etcd issue #15220), so upstream uses them only from
/// those versions (`apiserver/pkg/storage/feature/feature_support_checker.go`).
pub fn progress_is_reliable(version: &str) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor, patch) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    match (major, minor) {
        (3, 4) => patch >= 31,
        (3, 5) => patch >= 13,
        (3, m) => m >= 6,
        (m, _) => m > 3,
    }
}

/// What an etcd failure is to the registry.
fn from_status(s: Status) -> StorageError {
    match s.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            StorageError::Unavailable(s.message().to_string())
        }
        _ => StorageError::Internal(format!("etcd: {}", s.message())),
    }
}

fn is_compacted(s: &Status) -> bool {
    s.code() == Code::OutOfRange && s.message().contains("compacted")
}

fn rev(r: i64) -> Revision {
    r.max(0) as Revision
}

fn header_rev(h: &Option<ResponseHeader>) -> Revision {
    h.as_ref().map_or(0, |h| rev(h.revision))
}

impl EtcdStore {
    /// Connects, loads everything under the prefix into the cache and starts
    /// following etcd. Fails if etcd cannot be reached within `wait`.
    pub async fn open(cfg: EtcdConfig, cache: Config, wait: Duration) -> Result<EtcdStore> {
        let client = Client::new(&cfg).map_err(StorageError::Internal)?;
        let prefix = cfg.prefix.trim_end_matches('/').to_string();
        if !prefix.starts_with('/') {
            return Err(StorageError::Internal(format!(
                "--etcd-prefix {:?} must start with '/'",
                cfg.prefix
            )));
        }
        let deadline = tokio::time::Instant::now() + wait;
        let (items, at) = loop {
            match load(&client, &prefix).await {
                Ok(v) => break v,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(error = %e, "waiting for etcd");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        };
        let version = client.status().await.map(|s| s.version).unwrap_or_default();
        let progress_ok = progress_is_reliable(&version);
        tracing::info!(%version, progress_notifications = progress_ok, "etcd connected");
        let cache = WatchCache::new(items, at, cache);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let store = EtcdStore {
            client: client.clone(),
            prefix: prefix.clone(),
            cache: cache.clone(),
            progress: Arc::default(),
            progress_ok,
            stop,
            closed: AtomicBool::new(false),
            last_check: Mutex::new(None),
        };
        let reflector = Reflector {
            client,
            prefix,
            cache,
            progress: store.progress.clone(),
            progress_ok,
        };
        tokio::spawn(reflector.run(at, stop_rx.clone()));
        if !cfg.compaction_interval.is_zero() {
            tokio::spawn(compactor(
                store.client.clone(),
                cfg.compaction_interval,
                stop_rx,
            ));
        }
        Ok(store)
    }

    /// The client, for health checks and snapshots.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn etcd_key(&self, key: &str) -> Result<Vec<u8>> {
        match key.strip_prefix(REGISTRY_ROOT) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                Ok(format!("{}{rest}", self.prefix).into_bytes())
            }
            _ => Err(StorageError::Internal(format!(
                "key {key:?} is outside {REGISTRY_ROOT}"
            ))),
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            Err(StorageError::Closed)
        } else {
            Ok(())
        }
    }

    /// A transaction on one key: `ops` if `cmp` holds, else a read of the key.
    async fn txn(&self, key: &[u8], cmp: Compare, ops: RequestOp) -> Result<TxnResponse> {
        let req = TxnRequest {
            compare: vec![cmp],
            success: vec![ops],
            failure: vec![RequestOp {
                request: Some(request_op::Request::RequestRange(RangeRequest {
                    key: key.to_vec(),
                    ..Default::default()
                })),
            }],
        };
        let r = self.client.txn(req).await;
        r.map_err(from_status)
    }

    /// After a write at `r`: the cache has it before the write is answered.
    async fn settle(&self, r: Revision) {
        if !self.cache.wait_for(r, FRESH_WAIT).await {
            tracing::warn!(revision = r, "watch cache is behind etcd");
        }
    }

    /// The current etcd revision, and whether the cache has reached it.
    async fn fresh(&self) -> Result<(Revision, bool)> {
        let health = format!("{}/health", self.prefix).into_bytes();
        let r = self
            .client
            .range(RangeRequest {
                key: health,
                count_only: true,
                ..Default::default()
            })
            .await;
        let current = header_rev(&r.map_err(from_status)?.header);
        if self.cache.revision() >= current {
            return Ok((current, true));
        }
        if !self.progress_ok {
            // Without trustworthy progress notifications the cache reaches
            // `current` only if that revision changed one of its keys. When
            // it did not (a write outside the prefix, in a shared etcd), a
            // write to a marker key under the prefix makes a revision past
            // `current` that the watch does deliver, with every event
            // before it. If even that fails, the caller reads etcd
            // (upstream's fallback to a quorum read).
            if self.cache.wait_for(current, Duration::from_millis(5)).await {
                return Ok((current, true));
            }
            let marker = format!("{}/ironkube.io/progress", self.prefix).into_bytes();
            let r = self
                .client
                .put(PutRequest {
                    key: marker,
                    ..Default::default()
                })
                .await;
            let at = header_rev(&r.map_err(from_status)?.header).max(current);
            return Ok((current, self.cache.wait_for(at, FRESH_WAIT).await));
        }
        // A progress request makes etcd tell the watch its revision once
        // every event up to it was sent.
        let tx = self.progress.lock().ok().and_then(|g| g.clone());
        if let Some(tx) = tx {
            let _ = tx
                .send(WatchRequest {
                    request_union: Some(watch_request::RequestUnion::ProgressRequest(
                        WatchProgressRequest {},
                    )),
                })
                .await;
        }
        Ok((current, self.cache.wait_for(current, FRESH_WAIT).await))
    }

    /// A list read from etcd itself (at `opts.revision`, 0 = now).
    async fn list_etcd(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        let start = self.etcd_key(prefix)?;
        let end = prefix_end(&start);
        let key = match &opts.start_after {
            Some(after) if after.as_str() >= prefix => {
                let mut k = self.etcd_key(after)?;
                k.push(0);
                k
            }
            _ => start.clone(),
        };
        let r = self
            .client
            .range(RangeRequest {
                key,
                range_end: end,
                limit: opts.limit as i64,
                revision: opts.revision as i64,
                ..Default::default()
            })
            .await;
        let resp = match r {
            Err(s) if is_compacted(&s) => {
                return Err(StorageError::Expired {
                    requested: opts.revision,
                    oldest: self.cache.oldest(),
                });
            }
            Err(s) if s.code() == Code::OutOfRange => {
                return Err(StorageError::TooLarge {
                    requested: opts.revision,
                    current: self.cache.revision(),
                });
            }
            r => r.map_err(from_status)?,
        };
        let at = if opts.revision > 0 {
            opts.revision
        } else {
            header_rev(&resp.header)
        };
        let mut items = Vec::with_capacity(resp.kvs.len());
        for kv in &resp.kvs {
            let key = self.registry_key(&kv.key)?;
            items.push(to_kv(&key, kv));
        }
        let remaining = (resp.count.max(0) as u64).saturating_sub(items.len() as u64);
        Ok(ListResult {
            items,
            revision: at,
            remaining,
        })
    }

    fn registry_key(&self, etcd_key: &[u8]) -> Result<String> {
        registry_key(&self.prefix, etcd_key)
    }
}

/// A key's etcd record as the registry's (`key` already mapped back).
fn to_kv(key: &str, kv: &proto::KeyValue) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: kv.value.clone(),
        create_revision: rev(kv.create_revision),
        mod_revision: rev(kv.mod_revision),
    }
}

fn registry_key(prefix: &str, etcd_key: &[u8]) -> Result<String> {
    let k = std::str::from_utf8(etcd_key)
        .map_err(|_| StorageError::Internal("a key in etcd is not UTF-8".into()))?;
    match k.strip_prefix(prefix) {
        Some(rest) => Ok(format!("{REGISTRY_ROOT}{rest}")),
        None => Err(StorageError::Internal(format!(
            "etcd key {k:?} is outside {prefix}"
        ))),
    }
}

/// The comparison a write makes on its key: its `mod_revision` equals the
/// precondition's, or (none) the key exists at all.
fn mod_revision_compare(key: &[u8], pre: Precondition) -> Compare {
    let (result, revision) = match pre {
        Precondition::ModRevision(m) => (compare::CompareResult::Equal, m as i64),
        Precondition::None => (compare::CompareResult::Greater, 0),
    };
    Compare {
        result: result as i32,
        target: compare::CompareTarget::Mod as i32,
        key: key.to_vec(),
        target_union: Some(compare::TargetUnion::ModRevision(revision)),
    }
}

/// Everything under `prefix/`, page by page at one revision.
async fn load(client: &Client, prefix: &str) -> Result<(Vec<KeyValue>, Revision)> {
    let start = format!("{prefix}/").into_bytes();
    let end = prefix_end(&start);
    let mut key = start;
    let mut at = 0i64;
    let mut items = Vec::new();
    loop {
        let resp = client
            .range(RangeRequest {
                key: key.clone(),
                range_end: end.clone(),
                limit: LOAD_PAGE,
                revision: at,
                ..Default::default()
            })
            .await
            .map_err(from_status)?;
        if at == 0 {
            at = resp.header.as_ref().map_or(0, |h| h.revision);
        }
        for kv in &resp.kvs {
            // Keys that are not UTF-8 are not the registry's: skipped.
            let Ok(k) = registry_key(prefix, &kv.key) else {
                continue;
            };
            items.push(to_kv(&k, kv));
        }
        match resp.kvs.last() {
            Some(last) if resp.more => {
                key = last.key.clone();
                key.push(0);
            }
            _ => return Ok((items, rev(at))),
        }
    }
}

/// The key replicas (and upstream apiservers) sharing one etcd agree on
/// compaction through (`apiserver/pkg/storage/etcd3/compact.go`).
const COMPACT_REV_KEY: &[u8] = b"compact_rev_key";

/// Compacts etcd's history every `interval` to the revision current one
/// interval before, as upstream's apiserver does (`--etcd-compaction-interval`,
/// 5 minutes): without it etcd keeps every revision forever. Of several
/// replicas only the one whose compare-and-swap on `compact_rev_key` wins
/// compacts in a given interval.
async fn compactor(
    client: Client,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut version = 0i64;
    let mut previous = 0i64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        let put = RequestOp {
            request: Some(request_op::Request::RequestPut(PutRequest {
                key: COMPACT_REV_KEY.to_vec(),
                value: bytes::Bytes::from(previous.to_string()),
                ..Default::default()
            })),
        };
        let get = RequestOp {
            request: Some(request_op::Request::RequestRange(RangeRequest {
                key: COMPACT_REV_KEY.to_vec(),
                ..Default::default()
            })),
        };
        let txn = TxnRequest {
            compare: vec![Compare {
                result: compare::CompareResult::Equal as i32,
                target: compare::CompareTarget::Version as i32,
                key: COMPACT_REV_KEY.to_vec(),
                target_union: Some(compare::TargetUnion::Version(version)),
            }],
            success: vec![put],
            failure: vec![get],
        };
        let resp = match client.txn(txn).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e.message(), "etcd compaction: cannot reach etcd");
                continue;
            }
        };
        let current = resp.header.as_ref().map_or(0, |h| h.revision);
        if resp.succeeded {
            version += 1;
            if previous > 0 {
                match client.compact(previous).await {
                    Ok(_) => tracing::info!(revision = previous, "etcd compacted"),
                    Err(e) if e.message().contains("compacted") => {}
                    Err(e) => tracing::warn!(error = %e.message(), "etcd compaction failed"),
                }
            }
        } else if let Some(response_op::Response::ResponseRange(r)) =
            resp.responses.first().and_then(|o| o.response.clone())
        {
            // Another compactor went first: follow its key's version.
            version = r.kvs.first().map_or(0, |kv| kv.version);
        }
        previous = current;
    }
}

/// Follows etcd into the cache, as upstream's cacher's reflector: one watch
/// from the cache's revision; on a compaction or a lost stream it resumes,
/// relisting when etcd no longer has the revision it needs.
struct Reflector {
    client: Client,
    prefix: String,
    cache: WatchCache,
    progress: Arc<Mutex<Option<mpsc::Sender<WatchRequest>>>>,
    progress_ok: bool,
}

impl Reflector {
    async fn run(self, mut from: Revision, mut stop: tokio::sync::watch::Receiver<bool>) {
        let key = format!("{}/", self.prefix).into_bytes();
        let range_end = prefix_end(&key);
        let mut backoff = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                return;
            }
            let create = WatchCreateRequest {
                key: key.clone(),
                range_end: range_end.clone(),
                start_revision: from as i64 + 1,
                progress_notify: self.progress_ok,
                prev_kv: false,
            };
            let opened = tokio::select! {
                r = self.client.watch(create) => r,
                _ = stop.changed() => return,
            };
            let (tx, mut stream) = match opened {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e.message(), "etcd watch: cannot open; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {},
                        _ = stop.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            };
            if let Ok(mut g) = self.progress.lock() {
                *g = Some(tx);
            }
            let mut relist = false;
            loop {
                let msg = tokio::select! {
                    m = stream.message() => m,
                    _ = stop.changed() => return,
                };
                let resp = match msg {
                    Ok(Some(r)) => r,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e.message(), "etcd watch: stream lost; resuming");
                        if is_compacted(&e) {
                            relist = true;
                        }
                        break;
                    }
                };
                backoff = Duration::from_millis(100);
                if resp.compact_revision > 0 {
                    tracing::info!(
                        compacted = resp.compact_revision,
                        "etcd watch: revision compacted; relisting"
                    );
                    relist = true;
                    break;
                }
                if resp.canceled {
                    tracing::warn!(reason = %resp.cancel_reason, "etcd watch cancelled; resuming");
                    break;
                }
                let header = header_rev(&resp.header);
                if resp.events.is_empty() {
                    // A progress notification: every event up to `header`
                    // was sent. (A creation answer carries no such promise.)
                    if self.progress_ok && !resp.created && header > 0 {
                        self.cache.apply(Vec::new(), header);
                    }
                    continue;
                }
                let mut changes = Vec::with_capacity(resp.events.len());
                let mut last = 0;
                for ev in resp.events {
                    let Some(kv) = ev.kv else { continue };
                    let Ok(key) = registry_key(&self.prefix, &kv.key) else {
                        continue;
                    };
                    last = last.max(rev(kv.mod_revision));
                    changes.push(Change {
                        key,
                        value: (ev.r#type == EventType::Put as i32).then_some(kv.value),
                        revision: rev(kv.mod_revision),
                        create_revision: rev(kv.create_revision),
                    });
                }
                self.cache.apply(changes, last);
            }
            if let Ok(mut g) = self.progress.lock() {
                *g = None;
            }
            if relist {
                loop {
                    match load(&self.client, &self.prefix).await {
                        Ok((items, at)) => {
                            self.cache.replace(items, at);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "etcd: relist failed; retrying");
                            tokio::select! {
                                _ = tokio::time::sleep(backoff) => {},
                                _ = stop.changed() => return,
                            }
                            backoff = (backoff * 2).min(Duration::from_secs(2));
                        }
                    }
                }
            }
            from = self.cache.revision();
        }
    }
}

#[async_trait::async_trait]
impl Storage for EtcdStore {
    fn current_revision(&self) -> Revision {
        self.cache.revision()
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.check_open()?;
        let k = self.etcd_key(key)?;
        let r = self
            .client
            .range(RangeRequest {
                key: k,
                ..Default::default()
            })
            .await;
        let resp = r.map_err(from_status)?;
        Ok(resp.kvs.first().map(|kv| to_kv(key, kv)))
    }

    async fn get_recent(&self, key: &str) -> Result<Option<KeyValue>> {
        self.check_open()?;
        self.cache.get(key)
    }

    async fn list(&self, prefix: &str, opts: &ListOptions) -> Result<ListResult> {
        self.check_open()?;
        if opts.revision == 0 && opts.any_recent {
            return self.cache.list(prefix, opts);
        }
        if opts.revision == 0 {
            let (current, fresh) = self.fresh().await?;
            if !fresh {
                return self.list_etcd(prefix, opts).await;
            }
            let mut at = opts.clone();
            at.revision = self.cache.revision().max(current);
            return self.cache.list(prefix, &at);
        }
        if opts.revision > self.cache.revision() {
            // Written through another replica and not seen yet: wait a little.
            self.cache.wait_for(opts.revision, FRESH_WAIT).await;
        }
        match self.cache.list(prefix, opts) {
            // Older than the window, or a revision of etcd the cache has
            // not reached (only writes outside the prefix made it): etcd
            // answers, or says it is compacted or in the future.
            Err(StorageError::Expired { .. } | StorageError::TooLarge { .. }) => {
                self.list_etcd(prefix, opts).await
            }
            r => r,
        }
    }

    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.check_open()?;
        let k = self.etcd_key(key)?;
        // Absent keys compare as `mod_revision` 0.
        let cmp = mod_revision_compare(&k, Precondition::ModRevision(0));
        let put = RequestOp {
            request: Some(request_op::Request::RequestPut(PutRequest {
                key: k.clone(),
                value: value.clone(),
                ..Default::default()
            })),
        };
        let resp = self.txn(&k, cmp, put).await?;
        if !resp.succeeded {
            return Err(StorageError::AlreadyExists(key.to_string()));
        }
        let r = header_rev(&resp.header);
        self.settle(r).await;
        Ok(KeyValue {
            key: key.to_string(),
            value,
            create_revision: r,
            mod_revision: r,
        })
    }

    async fn update(&self, key: &str, pre: Precondition, value: Bytes) -> Result<KeyValue> {
        self.check_open()?;
        let k = self.etcd_key(key)?;
        let cmp = mod_revision_compare(&k, pre);
        let put = RequestOp {
            request: Some(request_op::Request::RequestPut(PutRequest {
                key: k.clone(),
                value: value.clone(),
                prev_kv: true,
                ..Default::default()
            })),
        };
        let resp = self.txn(&k, cmp, put).await?;
        if !resp.succeeded {
            return Err(self.failed(key, &resp));
        }
        let r = header_rev(&resp.header);
        let create = match resp.responses.first().and_then(|o| o.response.as_ref()) {
            Some(response_op::Response::ResponsePut(p)) => {
                p.prev_kv.as_ref().map_or(r, |kv| rev(kv.create_revision))
            }
            _ => r,
        };
        self.settle(r).await;
        Ok(KeyValue {
            key: key.to_string(),
            value,
            create_revision: create,
            mod_revision: r,
        })
    }

    async fn delete(&self, key: &str, pre: Precondition) -> Result<(KeyValue, Revision)> {
        self.check_open()?;
        let k = self.etcd_key(key)?;
        let cmp = mod_revision_compare(&k, pre);
        let del = RequestOp {
            request: Some(request_op::Request::RequestDeleteRange(
                DeleteRangeRequest {
                    key: k.clone(),
                    prev_kv: true,
                    ..Default::default()
                },
            )),
        };
        let resp = self.txn(&k, cmp, del).await?;
        if !resp.succeeded {
            return Err(self.failed(key, &resp));
        }
        let r = header_rev(&resp.header);
        let prev = match resp.responses.first().and_then(|o| o.response.as_ref()) {
            Some(response_op::Response::ResponseDeleteRange(d)) => d.prev_kvs.first().cloned(),
            _ => None,
        };
        let Some(prev) = prev else {
            return Err(StorageError::NotFound(key.to_string()));
        };
        self.settle(r).await;
        Ok((to_kv(key, &prev), r))
    }

    fn watch(&self, prefix: &str, after: Revision) -> Result<WatchStream> {
        self.check_open()?;
        self.cache.watch(prefix, after)
    }

    fn oldest_revision(&self) -> Revision {
        self.cache.oldest()
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.stop.send(true);
        self.cache.close();
    }

    async fn check(&self) -> std::result::Result<(), String> {
        self.check_open().map_err(|e| e.to_string())?;
        if let Ok(g) = self.last_check.lock()
            && let Some((at, r)) = g.as_ref()
            && at.elapsed() < Duration::from_secs(1)
        {
            return r.clone();
        }
        let r = self.probe().await;
        if let Ok(mut g) = self.last_check.lock() {
            *g = Some((std::time::Instant::now(), r.clone()));
        }
        r
    }
}

impl EtcdStore {
    async fn probe(&self) -> std::result::Result<(), String> {
        // Upstream's etcd check reads one key with a short deadline
        // (`storagebackend/factory/etcd3.go` newETCD3Check).
        let key = format!("{}/health", self.prefix).into_bytes();
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            self.client.range(RangeRequest {
                key,
                count_only: true,
                ..Default::default()
            }),
        )
        .await;
        match r {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(s)) => Err(format!("error getting data from etcd: {}", s.message())),
            Err(_) => Err("error getting data from etcd: context deadline exceeded".into()),
        }
    }
}

impl EtcdStore {
    /// Why a transaction's comparison failed: the key is gone, or it changed.
    fn failed(&self, key: &str, resp: &TxnResponse) -> StorageError {
        let current = match resp.responses.first().and_then(|o| o.response.as_ref()) {
            Some(response_op::Response::ResponseRange(r)) => r.kvs.first().cloned(),
            _ => None,
        };
        match current {
            Some(kv) => StorageError::Conflict {
                key: key.to_string(),
                current: Box::new(to_kv(key, &kv)),
            },
            None => StorageError::NotFound(key.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_notifications_are_trusted_from_fixed_versions() {
        assert!(!progress_is_reliable("3.4.23"));
        assert!(progress_is_reliable("3.4.31"));
        assert!(!progress_is_reliable("3.5.12"));
        assert!(progress_is_reliable("3.5.13"));
        assert!(progress_is_reliable("3.6.0"));
        assert!(!progress_is_reliable(""));
    }
}
