//! The generic registry store: every verb on every resource, over the
//! [`Storage`] trait, parameterised by the per-kind strategy. Mirrors
//! upstream's `apiserver/pkg/registry/generic/registry/store.go`:
//! - objects are stored as JSON without `metadata.resourceVersion`; the
//!   storage revision that last wrote a key *is* its resourceVersion;
//! - update and patch run inside a compare-and-swap retry loop, so a patch
//!   always applies to the latest object;
//! - storage errors become `Status` errors in exactly one place ([`storage_error`]).

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use super::handler::SubresourceHandler;
use super::kind::Kind;
use super::served::{Registry, Resource};
use super::{allocator, conversion, strategy, typecheck, validation};
use crate::apiextensions::customresource::CustomVersion;
use crate::apimachinery::fieldmanager;
use crate::apimachinery::fields::{self, FieldSelector};
use crate::apimachinery::labels::{self, Selector};
use crate::apimachinery::status::{ApiError, GroupResource, success_status};
use crate::apimachinery::strategicpatch;
use crate::openapi::OpenApi;
use crate::storage::{
    Event, EventType, KeyValue, ListOptions as StorageListOptions, Precondition, Revision, Storage,
    StorageError,
};

pub type ApiResult<T> = Result<T, ApiError>;

/// How unknown fields in a write are treated (`?fieldValidation=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

/// Options every write takes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_validation: FieldValidation,
    /// Who is writing, for `metadata.managedFields` (`?fieldManager=`, else
    /// derived from the User-Agent). Empty: no field tracking.
    pub field_manager: String,
    /// Server-side apply: take over conflicting fields.
    pub force: bool,
    /// Set by server-side apply, which does its own field tracking and
    /// creates a missing object.
    pub applying: bool,
    /// Checked on the object a create or update is about to write (RBAC
    /// escalation prevention, set by the request path for the writes it
    /// guards). `None`: nothing to check.
    pub escalation: Option<Arc<dyn WriteCheck>>,
}

/// A check of the object a write is about to store, with the user's
/// authority (upstream's RBAC `policybased` storages wrapping the store):
/// called after decoding and defaults, before validation, with the stored
/// object on an update (for a patch or an apply, the patched object).
pub trait WriteCheck: Send + Sync + std::fmt::Debug {
    fn check(&self, new: &Value, old: Option<&Value>) -> ApiResult<()>;
}

/// A write's answer: the object and any `Warning` headers.
#[derive(Debug)]
pub struct WriteResult {
    pub object: Value,
    pub created: bool,
    pub warnings: Vec<String>,
}

/// The patch formats (by request `Content-Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    StrategicMerge,
}

/// List and watch parameters.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: usize,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
}

/// Watch-only parameters.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub allow_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    /// How often an idle watch gets a bookmark (upstream: about a minute).
    pub bookmark_interval: std::time::Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            allow_bookmarks: false,
            send_initial_events: None,
            bookmark_interval: std::time::Duration::from_secs(60),
        }
    }
}

/// `DeleteOptions` fields the store acts on.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
    /// `Foreground`, `Background` or `Orphan` (None = the resource's default, Background).
    pub propagation_policy: Option<String>,
}

/// One watch event, ready to encode.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    pub event_type: &'static str,
    /// `Value::Null` when `raw` holds the object.
    pub object: Value,
    /// The object as JSON bytes (with `kind` and `apiVersion`), spliced from
    /// the stored bytes without parsing, when no selector or conversion
    /// needed the parsed object: serving many watchers then costs a copy
    /// per watcher, not a parse and an encode (upstream's cacher shares one
    /// serialization among watchers the same way, `caching_object.go`).
    pub raw: Option<Bytes>,
}

impl WatchEvent {
    fn parsed(event_type: &'static str, object: Value) -> WatchEvent {
        WatchEvent {
            event_type,
            object,
            raw: None,
        }
    }

    /// The object as a `Value`, parsing `raw` if that is where it is.
    pub fn into_object(self) -> Value {
        match self.raw {
            Some(raw) => serde_json::from_slice(&raw).unwrap_or(Value::Null),
            None => self.object,
        }
    }
}

/// The registry: storage plus the schema.
pub struct Store {
    storage: Arc<dyn Storage>,
    openapi: Arc<OpenApi>,
    /// What is served: built-in and (later) custom resources.
    registry: Arc<Registry>,
    /// Serialises service creates so allocated IPs and ports stay unique.
    service_alloc: tokio::sync::Mutex<()>,
}

/// Namespaces that may never be deleted (`plugin/pkg/admission/namespace/
/// lifecycle`: `default`, `kube-system`, `kube-public`; `kube-node-lease`
/// may be deleted and is re-created by the system namespaces controller).
pub const IMMORTAL_NAMESPACES: [&str; 3] = ["default", "kube-system", "kube-public"];

/// Maps a storage failure to the client's `Status` — the only such place.
pub fn storage_error(gr: &GroupResource, name: &str, e: StorageError) -> ApiError {
    match e {
        StorageError::NotFound(_) => ApiError::not_found(gr, name),
        StorageError::AlreadyExists(_) => ApiError::already_exists(gr, name),
        StorageError::Conflict { .. } => ApiError::modified_conflict(gr, name),
        StorageError::Expired { requested, oldest } => {
            ApiError::expired(format!("too old resource version: {requested} ({oldest})"))
        }
        StorageError::TooLarge { requested, current } => {
            ApiError::too_large_resource_version(requested, current, 1)
        }
        StorageError::Closed => ApiError::service_unavailable("the server is shutting down"),
        e @ StorageError::TooSlow(_) => ApiError::internal(e.to_string()),
        StorageError::Unavailable(m) => {
            tracing::warn!(error = %m, "storage unavailable");
            ApiError::storage_timeout()
        }
        StorageError::Internal(m) => ApiError::internal(m),
    }
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let m = obj.as_object_mut()?;
    m.entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).and_then(|m| m.get(field)).and_then(Value::as_str)
}

/// A body's `metadata.name` (when given) must be the one in the URL.
fn check_name(body_name: Option<&str>, url_name: &str) -> ApiResult<()> {
    match body_name {
        Some(n) if n != url_name => Err(ApiError::bad_request(format!(
            "the name of the object ({n}) does not match the name on the URL ({url_name})"
        ))),
        _ => Ok(()),
    }
}

/// Parses a resourceVersion parameter.
pub fn parse_resource_version(rv: &str) -> ApiResult<Revision> {
    rv.parse::<Revision>()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))
}

/// Turns stored bytes into the object clients see.
/// A list whose items are JSON documents already (without `kind` and
/// `apiVersion`, as upstream encodes list items).
#[derive(Debug)]
pub struct RawList {
    pub kind: String,
    pub api_version: String,
    pub metadata: Map<String, Value>,
    pub items: Vec<Bytes>,
}

impl RawList {
    /// The list as JSON bytes, items copied as they are.
    pub fn to_json(&self) -> Vec<u8> {
        let size: usize = self.items.iter().map(|i| i.len() + 1).sum();
        let mut out = Vec::with_capacity(size + 128);
        out.extend_from_slice(b"{\"kind\":");
        write_json(&mut out, &Value::String(self.kind.clone()));
        out.extend_from_slice(b",\"apiVersion\":");
        write_json(&mut out, &Value::String(self.api_version.clone()));
        out.extend_from_slice(b",\"metadata\":");
        write_json(&mut out, &Value::Object(self.metadata.clone()));
        out.extend_from_slice(b",\"items\":[");
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(item);
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The list as a `Value` (for tables, YAML and metadata-only output).
    pub fn to_value(&self) -> ApiResult<Value> {
        let items = self
            .items
            .iter()
            .map(|b| serde_json::from_slice(b))
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| ApiError::internal(format!("corrupt list item: {e}")))?;
        Ok(json!({
            "kind": self.kind,
            "apiVersion": self.api_version,
            "metadata": self.metadata,
            "items": items,
        }))
    }
}

fn write_json(out: &mut Vec<u8>, v: &Value) {
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(out, v);
}

/// How a stored object becomes a list item without parsing it. `encode`
/// stores `{"kind":K,"apiVersion":V,"metadata":{"name":…, …,
/// "resourceVersion":"", …` (canonical order, a placeholder revision); the
/// item is that with the first two fields dropped and the revision filled in.
/// The first `"resourceVersion":` in the bytes is a key (in a JSON string the
/// quote after it would be escaped), and metadata's comes before any other.
struct Splice {
    /// `{"kind":K,"apiVersion":V,` of this resource's stored objects;
    /// `None` when its stored form differs from its served one (conversion).
    prefix: Option<Vec<u8>>,
    /// Custom resources' list items keep `kind` and `apiVersion`, as
    /// upstream's unstructured lists do.
    keep_type: bool,
}

const RV_PLACEHOLDER: &[u8] = b"\"resourceVersion\":\"\"";

impl Splice {
    fn new(res: &Resource) -> Splice {
        let prefix = (!conversion::converts(res)).then(|| {
            let mut p = b"{\"kind\":".to_vec();
            write_json(&mut p, &Value::String(res.kind.to_string()));
            p.extend_from_slice(b",\"apiVersion\":");
            write_json(&mut p, &Value::String(res.api_version().to_string()));
            p.push(b',');
            p
        });
        Splice {
            prefix,
            keep_type: res.custom.is_some(),
        }
    }

    /// A list item: without `kind` and `apiVersion` (built-in kinds).
    fn item(&self, value: &[u8], rv: Revision) -> Option<Bytes> {
        self.splice(value, rv, self.keep_type)
    }

    /// A whole object (a watch event's).
    fn object(&self, value: &[u8], rv: Revision) -> Option<Bytes> {
        self.splice(value, rv, true)
    }

    fn splice(&self, value: &[u8], rv: Revision, whole: bool) -> Option<Bytes> {
        let prefix = self.prefix.as_deref()?;
        let rest = value.strip_prefix(prefix)?;
        let at = rest
            .windows(RV_PLACEHOLDER.len())
            .position(|w| w == RV_PLACEHOLDER)?;
        let mut out = Vec::with_capacity(value.len() + 24);
        if whole {
            out.extend_from_slice(prefix);
        } else {
            out.push(b'{');
        }
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"\"resourceVersion\":\"");
        out.extend_from_slice(rv.to_string().as_bytes());
        out.push(b'"');
        out.extend_from_slice(&rest[at + RV_PLACEHOLDER.len()..]);
        Some(Bytes::from(out))
    }
}

/// One stored object as a list item's JSON: spliced when possible, else
/// decoded and re-encoded.
fn list_item_bytes(res: &Resource, splice: &Splice, kv: &KeyValue) -> ApiResult<Bytes> {
    if let Some(b) = splice.item(&kv.value, kv.mod_revision) {
        return Ok(b);
    }
    let mut obj = decode(res, kv, kv.mod_revision)?;
    if res.custom.is_none()
        && let Some(o) = obj.as_object_mut()
    {
        o.shift_remove("apiVersion");
        o.shift_remove("kind");
    }
    serde_json::to_vec(&obj)
        .map(Bytes::from)
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn decode(res: &Resource, kv: &KeyValue, rv: Revision) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("corrupt object {}: {e}", kv.key)))?;
    conversion::from_storage(res, &mut obj);
    if let Some(m) = meta_mut(&mut obj) {
        m.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
    Ok(obj)
}

/// Upstream's field order for the top level and for `ObjectMeta` (Go struct
/// order), so responses read like upstream's. Unknown keys keep their order.
const TOP_ORDER: &[&str] = &["kind", "apiVersion", "metadata"];
const META_ORDER: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

fn reorder(m: &mut Map<String, Value>, first: &[&str], last: &[&str]) {
    let mut old = std::mem::take(m);
    for k in first {
        if let Some(v) = old.remove(*k) {
            m.insert((*k).to_string(), v);
        }
    }
    let tail: Vec<(String, Value)> = last
        .iter()
        .filter_map(|k| old.remove(*k).map(|v| ((*k).to_string(), v)))
        .collect();
    for (k, v) in old {
        m.insert(k, v);
    }
    m.extend(tail);
}

/// Puts an object's keys in upstream's order.
fn canonicalize(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        reorder(m, TOP_ORDER, &["status"]);
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            reorder(meta, META_ORDER, &[]);
            // ObjectMeta's maps and lists are `omitempty`: upstream never
            // stores or returns them empty (e.g. `finalizers` after a patch
            // removed the last one).
            meta.retain(|k, v| match k.as_str() {
                "labels" | "annotations" => v.as_object().is_none_or(|o| !o.is_empty()),
                "ownerReferences" | "finalizers" | "managedFields" => {
                    v.as_array().is_none_or(|a| !a.is_empty())
                }
                _ => true,
            });
        }
    }
}

/// Stored form: canonical order, `resourceVersion` kept as an empty
/// placeholder so that `decode` fills it in at its place.
fn encode(res: &Resource, obj: &Value) -> ApiResult<Bytes> {
    encode_stored(&to_stored(res, obj.clone()))
}

/// The stored form of an object: converted to the storage version, no
/// `selfLink`, an empty `resourceVersion` (the revision is the store's),
/// keys in upstream's order.
fn to_stored(res: &Resource, mut obj: Value) -> Value {
    conversion::to_storage(res, &mut obj);
    if let Some(m) = meta_mut(&mut obj) {
        m.insert("resourceVersion".into(), Value::String(String::new()));
        m.shift_remove("selfLink");
    }
    canonical_order(res, &mut obj);
    obj
}

/// Key order as upstream writes the object: Go struct order for built-in
/// kinds; for custom resources (unstructured maps, which Go's
/// `encoding/json` writes with sorted keys) sorted at every level. Fields
/// that read-time defaulting adds later are appended.
fn canonical_order(res: &Resource, obj: &mut Value) {
    if res.custom.is_some() {
        crate::apiextensions::customresource::sort_keys(obj);
    } else {
        canonicalize(obj);
    }
}

/// The bytes of a stored form from [`to_stored`].
fn encode_stored(stored: &Value) -> ApiResult<Bytes> {
    // The encoder grows its buffer by doubling; the stored copy lives as
    // long as the object (and in the change history), so it is trimmed.
    serde_json::to_vec(stored)
        .map(|mut v| {
            v.shrink_to_fit();
            Bytes::from(v)
        })
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// What [`decode`] makes of the bytes of `stored` at revision `rv`, without
/// parsing them again (a create answers with the object it just wrote).
fn stored_to_served(res: &Resource, mut stored: Value, rv: Revision) -> Value {
    conversion::from_storage(res, &mut stored);
    if let Some(m) = meta_mut(&mut stored) {
        m.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
    stored
}

/// `generateName` suffix alphabet (`apiserver/pkg/storage/names/generate.go`
/// via `k8s.io/apimachinery/pkg/util/rand`: no vowels, no confusable digits).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// names.SimpleNameGenerator: the prefix (cut to fit 63) + 5 random chars.
fn generated_name(prefix: &str) -> String {
    let mut p = prefix.to_string();
    p.truncate(58);
    #[cfg(test)]
    if let Some(forced) = tests::FORCED_SUFFIXES.with(|f| f.borrow_mut().pop()) {
        return format!("{p}{forced}");
    }
    format!("{p}{}", random_suffix(5))
}

pub fn random_suffix(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n)
        .map(|_| NAME_ALPHABET[rng.random_range(0..NAME_ALPHABET.len())] as char)
        .collect()
}

/// Selectors of a list or watch, parsed and checked.
struct Filter {
    labels: Selector,
    fields: FieldSelector,
    kind: Arc<dyn Kind>,
}

impl Filter {
    fn new(res: &Resource, p: &ListParams) -> ApiResult<Self> {
        let labels = match p.label_selector.as_deref() {
            Some(s) if !s.is_empty() => labels::parse(s).map_err(ApiError::bad_request)?,
            _ => Selector::everything(),
        };
        let fields = match p.field_selector.as_deref() {
            Some(s) if !s.is_empty() => {
                let f = fields::parse(s).map_err(ApiError::bad_request)?;
                fields::check_kind_supported(&*res.strategy, &f).map_err(ApiError::bad_request)?;
                f
            }
            _ => fields::parse("").map_err(ApiError::bad_request)?,
        };
        Ok(Filter {
            labels,
            fields,
            kind: res.strategy.clone(),
        })
    }

    fn is_everything(&self) -> bool {
        self.labels.is_everything() && self.fields.is_empty()
    }

    fn matches(&self, obj: &Value) -> bool {
        let labels = meta(obj)
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        self.labels.matches(labels)
            && (self.fields.is_empty()
                || self
                    .fields
                    .matches(|f| fields::kind_field_value(&*self.kind, obj, f)))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: Revision,
    start: String,
}

impl Store {
    pub fn new(storage: Arc<dyn Storage>, openapi: Arc<OpenApi>) -> Self {
        Store {
            storage,
            openapi,
            registry: Arc::new(Registry::builtin()),
            service_alloc: tokio::sync::Mutex::new(()),
        }
    }

    /// Reserves a new service's cluster IP and node ports in storage, one
    /// key each (the IP as upstream's `IPAddress` object at
    /// `/registry/ipaddresses/<ip>`, the `MultiCIDRServiceAllocator` layout),
    /// so that replicas sharing one etcd never hand out a value twice: the
    /// reservation is a create, which only one can win. A reservation whose
    /// service is gone (deleted, or never created) is taken over once it is
    /// a minute old. `Err(value)`: that value is held by another service.
    async fn reserve_service_values(
        &self,
        allocated: &Value,
        owner: (&str, &str),
    ) -> ApiResult<Result<(), allocator::Taken>> {
        for value in allocator::values(allocated) {
            let (key, body) = allocator::reservation(&value, owner);
            let gr = GroupResource::new("", "services");
            match self.storage.create(&key, body.clone()).await {
                Ok(_) => continue,
                Err(StorageError::AlreadyExists(_)) => {}
                Err(e) => return Err(storage_error(&gr, owner.1, e)),
            }
            let Some(current) = self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(&gr, owner.1, e))?
            else {
                // Released meanwhile: try again.
                return Ok(Err(value));
            };
            let (holder, age) = allocator::reservation_holder(&current.value);
            let held = match &holder {
                Some((hns, hname)) if (hns.as_str(), hname.as_str()) == owner => false,
                Some((hns, hname)) => {
                    let svc_key = format!("/registry/services/specs/{hns}/{hname}");
                    let live = self
                        .storage
                        .get(&svc_key)
                        .await
                        .map_err(|e| storage_error(&gr, owner.1, e))?;
                    match live {
                        Some(kv) => serde_json::from_slice::<Value>(&kv.value)
                            .map(|v| allocator::values(&v).contains(&value))
                            .unwrap_or(false),
                        None => age < std::time::Duration::from_secs(60),
                    }
                }
                None => false,
            };
            if held {
                return Ok(Err(value));
            }
            match self
                .storage
                .update(&key, Precondition::ModRevision(current.mod_revision), body)
                .await
            {
                Ok(_) => {}
                Err(StorageError::Conflict { .. } | StorageError::NotFound(_)) => {
                    return Ok(Err(value));
                }
                Err(e) => return Err(storage_error(&gr, owner.1, e)),
            }
        }
        Ok(Ok(()))
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    pub fn openapi(&self) -> &Arc<OpenApi> {
        &self.openapi
    }

    /// The registry of served resources.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Reads one object.
    pub async fn get(&self, res: &Resource, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        self.get_with(res, ns, name, false).await
    }

    /// A GET with `resourceVersion` set (0: any; N: not older than N, once
    /// [`Self::wait_for_revision`] has seen N): a cached storage may answer
    /// from its cache (`recent`); unset, the read is consistent.
    pub async fn get_with(
        &self,
        res: &Resource,
        ns: Option<&str>,
        name: &str,
        recent: bool,
    ) -> ApiResult<Value> {
        let gr = res.group_resource();
        let key = res.storage_key(ns, name);
        let read = if recent {
            self.storage.get_recent(&key).await
        } else {
            self.storage.get(&key).await
        };
        match read {
            Ok(Some(kv)) => decode(res, &kv, kv.mod_revision),
            Ok(None) => Err(ApiError::not_found(&gr, name)),
            Err(e) => Err(storage_error(&gr, name, e)),
        }
    }

    /// A read "not older than" revision `r`: waits up to 3 s for the
    /// storage to reach it, then answers 504 `ResourceVersionTooLarge`
    /// (upstream's watch cache `waitUntilFreshAndBlock`, 3 s blocking
    /// timeout, `Retry-After: 1`).
    pub async fn wait_for_revision(&self, r: Revision) -> ApiResult<()> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
        loop {
            let current = self.storage.current_revision();
            if r <= current {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::too_large_resource_version(r, current, 1));
            }
            // Only a client asking for the future waits here; polling
            // keeps the write path free of any notification cost.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Checks a body's `apiVersion`/`kind` against what the path serves.
    fn check_type(&self, obj: &Value, group: &str, version: &str, kind: &str) -> ApiResult<()> {
        let want_av = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let k = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if k.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}'",
                truncate(&obj.to_string(), 200)
            )));
        }
        if av.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Object 'apiVersion' is missing in '{}'",
                truncate(&obj.to_string(), 200)
            )));
        }
        if av != want_av || k != kind {
            let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
            if typecheck::schemas(&self.openapi).knows(g, v, k) {
                // A kind the scheme has, decoded, then not convertible.
                return Err(ApiError::bad_request(format!(
                    "{k} in version \"{v}\" cannot be handled as a {kind}: converting ({v}.{k}) to ({}.{kind}): unknown conversion",
                    typecheck::internal_package(group, kind)
                )));
            }
            return Err(ApiError::bad_request(format!(
                "{k} in version \"{v}\" cannot be handled as a {kind}: no kind \"{k}\" is registered for version \"{av}\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
            )));
        }
        Ok(())
    }

    /// Strict/Warn handling of unknown fields (`handlers/rest.go`).
    fn check_unknown_fields(
        &self,
        obj: &Value,
        gvk: (&str, &str, &str),
        fv: FieldValidation,
    ) -> ApiResult<Vec<String>> {
        if fv == FieldValidation::Ignore {
            return Ok(Vec::new());
        }
        let unknown = self.openapi.unknown_fields(gvk.0, gvk.1, gvk.2, obj);
        if unknown.is_empty() {
            return Ok(Vec::new());
        }
        let msgs: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        match fv {
            FieldValidation::Strict => Err(ApiError::bad_request(format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                msgs.join(", "),
                kind = gvk.2,
                v = gvk.1
            ))),
            _ => Ok(msgs),
        }
    }

    /// Namespace lifecycle admission: the namespace must exist and not be terminating.
    async fn check_namespace(&self, res: &Resource, ns: &str, name: &str) -> ApiResult<()> {
        let nsres = self
            .registry
            .by_key("namespaces")
            .ok_or_else(|| ApiError::internal("no namespaces"))?;
        // Only two fields are read: the stored bytes are scanned for them,
        // not decoded into a whole object (this runs on every create).
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Probe {
            metadata: ProbeMeta,
            status: ProbeStatus,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct ProbeMeta {
            #[serde(rename = "deletionTimestamp")]
            deletion_timestamp: Option<serde::de::IgnoredAny>,
        }
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct ProbeStatus {
            phase: Option<String>,
        }
        let gr = nsres.group_resource();
        // From the cache first, as upstream's NamespaceLifecycle admission
        // reads its informer; a namespace the cache does not have (yet: made
        // through another replica a moment ago) is looked up live before
        // the create is refused.
        let key = nsres.storage_key(None, ns);
        let cached = self
            .storage
            .get_recent(&key)
            .await
            .map_err(|e| storage_error(&gr, ns, e))?;
        let found = match cached {
            Some(kv) => Some(kv),
            None => self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(&gr, ns, e))?,
        };
        let Some(kv) = found else {
            return Err(ApiError::not_found(&gr, ns));
        };
        let probe: Probe = serde_json::from_slice(&kv.value)
            .map_err(|e| ApiError::internal(format!("corrupt object {}: {e}", kv.key)))?;
        if probe.metadata.deletion_timestamp.is_some()
            || probe.status.phase.as_deref() == Some("Terminating")
        {
            return Err(ApiError::namespace_terminating(
                &res.group_resource(),
                name,
                ns,
            ));
        }
        Ok(())
    }

    /// POST: creates an object.
    pub async fn create(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<WriteResult> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON or YAML object",
            ));
        }
        let mut warnings = match &res.custom {
            Some(cv) => custom_decode(cv, &mut obj, opts.field_validation)?,
            None => {
                typecheck::default_type_meta(&mut obj, &res.group, &res.version, &res.kind);
                self.check_type(&obj, &res.group, &res.version, &res.kind)?;
                typecheck::check_body(
                    &self.openapi,
                    (res.group.as_str(), res.version.as_str(), res.kind.as_str()),
                    &mut obj,
                )?;
                self.check_unknown_fields(
                    &obj,
                    (res.group.as_str(), res.version.as_str(), res.kind.as_str()),
                    opts.field_validation,
                )?
            }
        };
        let gr = res.group_resource();
        // Namespace from the path wins; a different one in the body is an error.
        let body_ns = meta_str(&obj, "namespace").map(str::to_string);
        if res.namespaced {
            let ns = ns.unwrap_or("default");
            if let Some(b) = body_ns.as_deref()
                && !b.is_empty()
                && b != ns
            {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            if let Some(m) = meta_mut(&mut obj) {
                m.insert("namespace".into(), Value::String(ns.to_string()));
            }
        } else if let Some(m) = meta_mut(&mut obj) {
            m.shift_remove("namespace");
        }
        res.strategy.defaults(&mut obj);
        if let Some(check) = &opts.escalation {
            // Namespace lifecycle admission comes first upstream.
            if res.namespaced {
                let name = meta_str(&obj, "name").unwrap_or("");
                self.check_namespace(res, ns.unwrap_or("default"), name)
                    .await?;
            }
            check.check(&obj, None)?;
        }
        let generated = meta_str(&obj, "name").is_none_or(str::is_empty)
            && meta_str(&obj, "generateName").is_some_and(|g| !g.is_empty());
        self.fill_create_meta(res, &mut obj);
        // Upstream's create handler tracks fields on the decoded and
        // defaulted object, before the strategy's PrepareForCreate, and drops
        // the reset fields (status where there is a /status): what the
        // server sets at create is nobody's (handlers/create.go,
        // fieldmanager's resetFieldsFieldManager).
        let status = if strategy::has_status_subresource(res) {
            obj.as_object_mut().and_then(|m| m.shift_remove("status"))
        } else {
            None
        };
        res.strategy.defaults_on_create(&mut obj);
        self.track_fields(res, None, None, &mut obj, opts);
        if let (Some(s), Some(m)) = (status, obj.as_object_mut()) {
            m.insert("status".into(), s);
        }
        // Admission (after the field manager upstream, so nobody owns what
        // it adds).
        res.strategy.admit_create(&mut obj);
        for plugin in res.admission {
            plugin.admit_create(self, res, &mut obj).await?;
        }
        strategy::prepare_for_create(res, &mut obj);
        let name = meta_str(&obj, "name").unwrap_or("").to_string();
        let mut errs = match &res.custom {
            Some(cv) => {
                let (errs, w) = cv.validate(&obj);
                warnings.extend(w);
                errs
            }
            None => validation::validate(&*res.strategy, res.namespaced, &obj, None),
        };
        let _alloc_guard = if res.strategy.allocates_cluster_ips() && errs.is_empty() {
            let guard = self.service_alloc.lock().await;
            let all = self
                .storage
                .list(res.storage_prefix(), &StorageListOptions::default())
                .await
                .map_err(|e| storage_error(&gr, &name, e))?;
            let mut used = allocator::Used::default();
            for kv in &all.items {
                if let Ok(v) = serde_json::from_slice::<Value>(&kv.value) {
                    used.add_service(&v);
                }
            }
            // The mutex orders this replica's allocations; reservations in
            // storage order them across replicas sharing one etcd.
            let original = obj.clone();
            let mut attempts = 0;
            loop {
                obj = original.clone();
                let e = allocator::allocate(&mut obj, &used);
                if !e.is_empty() {
                    errs.extend(e);
                    break;
                }
                let owner = (ns.unwrap_or("default"), name.as_str());
                match self.reserve_service_values(&obj, owner).await? {
                    Ok(()) => break,
                    Err(taken) => {
                        attempts += 1;
                        let requested = allocator::requested(&original);
                        if requested.contains(&taken) || attempts >= 16 {
                            errs.extend(allocator::taken_error(&taken));
                            break;
                        }
                        used.add_taken(&taken);
                    }
                }
            }
            Some(guard)
        } else {
            None
        };
        if !errs.is_empty() {
            return Err(ApiError::invalid(&res.group, &res.kind, &name, &errs));
        }
        for plugin in res.admission {
            plugin.validate_write(self, res, &obj).await?;
        }
        if res.namespaced {
            self.check_namespace(res, ns.unwrap_or("default"), &name)
                .await?;
        }
        let key = res.storage_key(
            if res.namespaced {
                Some(ns.unwrap_or("default"))
            } else {
                None
            },
            &name,
        );
        if opts.dry_run {
            if let Ok(Some(_)) = self.storage.get(&key).await {
                return Err(ApiError::already_exists(&gr, &name));
            }
            canonical_order(res, &mut obj);
            return Ok(WriteResult {
                object: obj,
                created: true,
                warnings,
            });
        }
        // A generated name that is taken is generated again, up to 8
        // attempts in all (registry/store.go createWithGenerateNameRetry).
        let (mut key, mut name) = (key, name);
        let mut attempts = 1;
        let mut stored = to_stored(res, obj);
        let kv = loop {
            match self.storage.create(&key, encode_stored(&stored)?).await {
                Ok(kv) => break kv,
                Err(StorageError::AlreadyExists(_)) if generated && attempts < 8 => {
                    attempts += 1;
                    let prefix = meta_str(&stored, "generateName").unwrap_or("").to_string();
                    name = generated_name(&prefix);
                    if let Some(m) = meta_mut(&mut stored) {
                        m.insert("name".into(), Value::String(name.clone()));
                    }
                    key = res.storage_key(res.namespaced.then(|| ns.unwrap_or("default")), &name);
                }
                Err(StorageError::AlreadyExists(_)) if generated => {
                    return Err(ApiError::generate_name_conflict(&gr, &name));
                }
                Err(e) => return Err(storage_error(&gr, &name, e)),
            }
        };
        Ok(WriteResult {
            object: stored_to_served(res, stored, kv.mod_revision),
            created: true,
            warnings,
        })
    }

    /// System metadata on create (`rest.BeforeCreate` / `FillObjectMetaSystemFields`).
    fn fill_create_meta(&self, res: &Resource, obj: &mut Value) {
        let Some(m) = meta_mut(obj) else { return };
        let has_name = m
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !has_name
            && let Some(prefix) = m.get("generateName").and_then(Value::as_str)
            && !prefix.is_empty()
        {
            m.insert("name".into(), Value::String(generated_name(prefix)));
        }
        m.insert(
            "uid".into(),
            Value::String(uuid::Uuid::new_v4().to_string()),
        );
        m.insert("creationTimestamp".into(), Value::String(now_rfc3339()));
        m.shift_remove("resourceVersion");
        m.shift_remove("deletionTimestamp");
        m.shift_remove("deletionGracePeriodSeconds");
        m.shift_remove("selfLink");
        if !strategy::tracks_generation(res) {
            m.shift_remove("generation");
        }
    }

    /// PUT: replaces an object (or a subresource's part of it).
    pub async fn update(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        name: &str,
        sub: Option<SubresourceHandler>,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<WriteResult> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON or YAML object",
            ));
        }
        let gvk = self.sub_gvk(res, sub);
        let warnings = match res.custom.as_ref().filter(|_| !through_scale(sub)) {
            Some(cv) => custom_decode(cv, &mut obj, opts.field_validation)?,
            None => {
                typecheck::default_type_meta(&mut obj, gvk.0, gvk.1, gvk.2);
                self.check_type(&obj, gvk.0, gvk.1, gvk.2)?;
                typecheck::check_body(&self.openapi, gvk, &mut obj)?;
                self.check_unknown_fields(&obj, gvk, opts.field_validation)?
            }
        };
        check_name(Some(meta_str(&obj, "name").unwrap_or("")), name)?;
        if res.namespaced
            && let (Some(b), Some(ns)) = (meta_str(&obj, "namespace"), ns)
            && !b.is_empty()
            && b != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let precondition = match meta_str(&obj, "resourceVersion") {
            Some(rv) if !rv.is_empty() => Some(parse_resource_version(rv).map_err(|_| {
                ApiError::invalid(
                    &res.group,
                    &res.kind,
                    name,
                    &[crate::apimachinery::validation::FieldError::invalid(
                        "metadata.resourceVersion",
                        Value::String(rv.to_string()),
                        "must be specified for an update",
                    )],
                )
            })?),
            _ => None,
        };
        let new = Arc::new(obj);
        let mut result = self
            .guaranteed_update(res, ns, name, sub, precondition, opts, |_current| {
                Ok((*new).clone())
            })
            .await?;
        result.warnings.extend(warnings);
        Ok(result)
    }

    /// `pods/{name}/binding`: assigns a pod to a node, as the scheduler does
    /// (`pkg/registry/core/pod/storage/storage.go` BindingREST).
    pub async fn bind(
        &self,
        ns: Option<&str>,
        name: &str,
        binding: &Value,
        opts: &WriteOptions,
    ) -> ApiResult<Value> {
        let pods = self
            .registry
            .by_key("pods")
            .ok_or_else(|| ApiError::internal("no pods"))?;
        let gr = GroupResource::new("", "pods/binding");
        if binding.get("kind").and_then(Value::as_str) != Some("Binding") {
            return Err(ApiError::bad_request(
                "the body of the request must be a Binding",
            ));
        }
        check_name(meta_str(binding, "name"), name)?;
        let node = binding
            .pointer("/target/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                ApiError::invalid(
                    "",
                    "Binding",
                    name,
                    &[crate::apimachinery::validation::FieldError::required(
                        "target.name",
                        "",
                    )],
                )
            })?
            .to_string();
        let annotations = binding.pointer("/metadata/annotations").cloned();
        let uid_pre = binding
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let key = pods.storage_key(ns, name);
        for _ in 0..64 {
            let Some(current) = self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(&gr, name, e))?
            else {
                return Err(ApiError::not_found(&pods.group_resource(), name));
            };
            let mut pod = decode(&pods, &current, current.mod_revision)?;
            if pod.pointer("/metadata/deletionTimestamp").is_some() {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!("pod {name} is being deleted, cannot be assigned to a host"),
                ));
            }
            if let Some(uid) = &uid_pre
                && meta_str(&pod, "uid") != Some(uid.as_str())
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    "Precondition failed: UID in precondition does not match",
                ));
            }
            if let Some(existing) = pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!("pod {name} is already assigned to node \"{existing}\""),
                ));
            }
            if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
                spec.insert("nodeName".into(), Value::String(node.clone()));
            }
            if let Some(Value::Object(a)) = &annotations
                && let Some(m) = meta_mut(&mut pod)
            {
                let dst = m.entry("annotations").or_insert_with(|| json!({}));
                if let Some(dst) = dst.as_object_mut() {
                    for (k, v) in a {
                        dst.insert(k.clone(), v.clone());
                    }
                }
            }
            set_condition(
                &mut pod,
                json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now_rfc3339()}),
            );
            if opts.dry_run {
                break;
            }
            match self
                .storage
                .update(
                    &key,
                    Precondition::ModRevision(current.mod_revision),
                    encode(&pods, &pod)?,
                )
                .await
            {
                Ok(_) => break,
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(storage_error(&gr, name, e)),
            }
        }
        Ok(
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
        )
    }

    /// The kind a write through `sub` sends (the subresource's, e.g.
    /// `autoscaling/v1 Scale`, or the resource's own).
    fn sub_gvk<'r>(
        &self,
        res: &'r Resource,
        sub: Option<SubresourceHandler>,
    ) -> (&'r str, &'r str, &'r str) {
        match sub.and_then(SubresourceHandler::kind) {
            Some(gvk) => gvk,
            None => (res.group.as_str(), res.version.as_str(), res.kind.as_str()),
        }
    }

    /// PATCH: applies a patch to the latest object, retrying on conflicts.
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        name: &str,
        sub: Option<SubresourceHandler>,
        patch_type: PatchType,
        patch: &[u8],
        opts: &WriteOptions,
    ) -> ApiResult<WriteResult> {
        let patch_value: Value = serde_json::from_slice(patch)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
        let gvk = self.sub_gvk(res, sub);
        let custom = res.custom.clone().filter(|_| !through_scale(sub));
        if custom.is_some() && patch_type == PatchType::StrategicMerge {
            // Custom resources have no patch strategies (`patch.go`).
            return Err(ApiError::unsupported_media_type(&[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ]));
        }
        if patch_type != PatchType::Json && !patch_value.is_object() {
            return Err(ApiError::bad_request(
                "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
            ));
        }
        let precondition = patch_value
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(parse_resource_version)
            .transpose()?;
        let openapi = self.openapi.clone();
        let warnings = std::sync::Mutex::new(Vec::new());
        let fv = opts.field_validation;
        let mut result = self
            .guaranteed_update(res, ns, name, sub, precondition, opts, |current| {
                let patched = cpu_heavy(patch.len(), || {
                    apply_patch_request(
                        &openapi,
                        gvk,
                        current,
                        &patch_value,
                        patch_type,
                        fv != FieldValidation::Ignore,
                    )
                })?;
                if let Some(cv) = &custom {
                    let mut patched = patched;
                    let w = custom_decode(cv, &mut patched, fv)?;
                    if let Ok(mut all) = warnings.lock() {
                        *all = w;
                    }
                    return Ok(patched);
                }
                let patched = typecheck::check_patched(
                    &openapi,
                    gvk,
                    name,
                    patch_type,
                    &patch_value,
                    patched,
                )?;
                let mut w = Vec::new();
                if patch_type == PatchType::Json && fv == FieldValidation::Warn {
                    // Unknown members of operations (upstream's strict decode
                    // into `[]jsonPatchOp`), before the object's own.
                    w = crate::apimachinery::jsonpatch::unknown_fields(&patch_value);
                }
                w.extend(self.check_unknown_fields(&patched, gvk, fv)?);
                if let Ok(mut all) = warnings.lock() {
                    *all = w;
                }
                Ok(patched)
            })
            .await?;
        if let Ok(w) = warnings.into_inner() {
            result.warnings.extend(w);
        }
        Ok(result)
    }

    /// Reads the latest object, computes the new one with `f`, and writes it
    /// with the read revision as precondition; retries on a conflict unless
    /// the client itself named a resourceVersion.
    #[allow(clippy::too_many_arguments)]
    async fn guaranteed_update(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        name: &str,
        sub: Option<SubresourceHandler>,
        precondition: Option<Revision>,
        opts: &WriteOptions,
        f: impl Fn(&Value) -> ApiResult<Value>,
    ) -> ApiResult<WriteResult> {
        let gr = res.group_resource();
        let key = res.storage_key(ns, name);
        for _attempt in 0..64 {
            let current = self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(&gr, name, e))?;
            let Some(current) = current else {
                if sub.is_none() && (opts.applying || strategy::allow_create_on_update(res)) {
                    let obj = f(&Value::Null)?;
                    return self.create(res, ns, obj, opts).await;
                }
                return Err(ApiError::not_found(&gr, name));
            };
            if let Some(want) = precondition
                && want != current.mod_revision
            {
                return Err(ApiError::modified_conflict(&gr, name));
            }
            let old = decode(res, &current, current.mod_revision)?;
            let input = if through_scale(sub) {
                to_scale(res, &old)?
            } else {
                old.clone()
            };
            let mut new = cpu_heavy(current.value.len(), || f(&input))?;
            if through_scale(sub) {
                new = from_scale(res, &old, &new)?;
            }
            if !new.is_object() {
                return Err(ApiError::bad_request("the result must be an object"));
            }
            if let Some(check) = opts.escalation.as_ref().filter(|_| sub.is_none()) {
                // Upstream checks the decoded (so defaulted) object before
                // the store fills in what comes from the stored one.
                match &res.custom {
                    Some(cv) => cv.default(&mut new),
                    None => res.strategy.defaults(&mut new),
                }
                check.check(&new, Some(&old))?;
            }
            self.prepare_update(res, sub, &mut new, &old);
            cpu_heavy(current.value.len(), || {
                self.track_fields(res, sub, Some(&old), &mut new, opts)
            });
            // Admission on update, after the field manager as on create.
            if sub.is_none() {
                res.strategy.admit_update(&mut new, &old);
            }
            let errs = match &res.custom {
                Some(cv) => cv.validate_update(&new, &old).0,
                None => validation::validate(&*res.strategy, res.namespaced, &new, Some(&old)),
            };
            if !errs.is_empty() {
                return Err(ApiError::invalid(&res.group, &res.kind, name, &errs));
            }
            if sub.is_none() {
                for plugin in res.admission {
                    plugin.validate_write(self, res, &new).await?;
                }
            }
            // Unchanged: no write, same resourceVersion (as etcd3's GuaranteedUpdate).
            let bytes = encode(res, &new)?;
            if bytes == current.value {
                let object = if through_scale(sub) {
                    to_scale(res, &old)?
                } else {
                    old
                };
                return Ok(WriteResult {
                    object,
                    created: false,
                    warnings: Vec::new(),
                });
            }
            let finalized = new.pointer("/metadata/deletionTimestamp").is_some()
                && new
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .is_none_or(|f| f.is_empty())
                && !strategy::graceful_pending(res, &new)
                && !strategy::spec_finalizers_pending(res, &new);
            if opts.dry_run {
                let object = if through_scale(sub) {
                    to_scale(res, &new)?
                } else {
                    new
                };
                return Ok(WriteResult {
                    object,
                    created: false,
                    warnings: Vec::new(),
                });
            }
            if finalized {
                // The last finalizer is gone from a deleted object: it goes away now.
                match self
                    .storage
                    .delete(&key, Precondition::ModRevision(current.mod_revision))
                    .await
                {
                    Ok((_, rev)) => {
                        let mut gone = new;
                        if let Some(m) = meta_mut(&mut gone) {
                            m.insert("resourceVersion".into(), Value::String(rev.to_string()));
                        }
                        return Ok(WriteResult {
                            object: gone,
                            created: false,
                            warnings: Vec::new(),
                        });
                    }
                    Err(StorageError::Conflict { .. }) if precondition.is_none() => continue,
                    Err(e) => return Err(storage_error(&gr, name, e)),
                }
            }
            match self
                .storage
                .update(&key, Precondition::ModRevision(current.mod_revision), bytes)
                .await
            {
                Ok(kv) => {
                    let saved = decode(res, &kv, kv.mod_revision)?;
                    let object = if through_scale(sub) {
                        to_scale(res, &saved)?
                    } else {
                        saved
                    };
                    return Ok(WriteResult {
                        object,
                        created: false,
                        warnings: Vec::new(),
                    });
                }
                Err(StorageError::Conflict { .. }) if precondition.is_none() => continue,
                Err(e) => return Err(storage_error(&gr, name, e)),
            }
        }
        Err(ApiError::modified_conflict(&gr, name))
    }

    /// `metadata.managedFields` bookkeeping of a non-apply write
    /// (upstream's fieldmanager in the handlers).
    fn track_fields(
        &self,
        res: &Arc<Resource>,
        sub: Option<SubresourceHandler>,
        old: Option<&Value>,
        new: &mut Value,
        opts: &WriteOptions,
    ) {
        if opts.applying || opts.field_manager.is_empty() {
            return;
        }
        // managedFields record the subresource by its name.
        let sub = sub.map(SubresourceHandler::name);
        if let Some(cv) = &res.custom {
            let pos = cv.schema.patch_root();
            *new = fieldmanager::update_owned(
                old,
                std::mem::take(new),
                &opts.field_manager,
                res.api_version(),
                sub,
                &now_rfc3339(),
                Some(&pos),
            );
            return;
        }
        let schema =
            self.openapi
                .schema(res.group.as_str(), res.version.as_str(), res.kind.as_str());
        *new = fieldmanager::update_owned(
            old,
            std::mem::take(new),
            &opts.field_manager,
            res.api_version(),
            sub,
            &now_rfc3339(),
            schema.as_ref(),
        );
    }

    /// PATCH with `application/apply-patch+yaml`: server-side apply
    /// (`handlers/patch.go` applyPatcher), creating the object if missing.
    pub async fn apply(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        name: &str,
        sub: Option<SubresourceHandler>,
        applied: Value,
        opts: &WriteOptions,
    ) -> ApiResult<WriteResult> {
        if !applied.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON or YAML object",
            ));
        }
        // Apply on /scale is apply of `spec.replicas` to the parent, recorded
        // with subresource "scale" (the paths are the same for apps/v1).
        let custom = res.custom.clone().filter(|_| !through_scale(sub));
        match &custom {
            None => {
                typecheck::check_applied(&self.openapi, self.sub_gvk(res, sub), name, &applied)?
            }
            Some(cv) => {
                let undeclared =
                    fieldmanager::undeclared_fields(&applied, Some(&cv.schema.patch_root()));
                if !undeclared.is_empty() {
                    return Err(typecheck::undeclared_error(&applied, name, &undeclared));
                }
            }
        }
        let (applied, update_sub) = if through_scale(sub) {
            self.check_type(&applied, "autoscaling", "v1", "Scale")?;
            self.get(res, ns, name).await?;
            let spec = match applied.pointer("/spec/replicas") {
                Some(r) => json!({"replicas": r}),
                None => json!({}),
            };
            let partial = json!({
                "apiVersion": res.api_version(),
                "kind": res.kind,
                "metadata": {"name": name},
                "spec": spec,
            });
            (partial, None)
        } else {
            (applied, sub)
        };
        if custom.is_none() {
            self.check_type(&applied, &res.group, &res.version, &res.kind)?;
        }
        // Fields a write path resets are not applied either (upstream's
        // ResetFieldsStrategy): /status only sets status, the main resource
        // never sets status.
        let mut applied = applied;
        if let Some(m) = applied.as_object_mut() {
            match update_sub {
                Some(SubresourceHandler::Status) => m.retain(|k, _| {
                    matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status")
                }),
                None if strategy::has_status_subresource(res) => {
                    m.shift_remove("status");
                }
                None => {}
                // Scale was turned into the main resource above; the others
                // are never applied (their verbs exclude patch).
                Some(
                    SubresourceHandler::Scale
                    | SubresourceHandler::Binding
                    | SubresourceHandler::Token
                    | SubresourceHandler::Eviction
                    | SubresourceHandler::Finalize,
                ) => {}
            }
        }
        let warnings = match &custom {
            Some(cv) => {
                // The applied configuration is pruned and checked like a
                // body (without defaults: what is not applied is not owned).
                let w = custom_decode(cv, &mut applied.clone(), opts.field_validation)?;
                let mut pruned = applied;
                cv.prune(&mut pruned);
                applied = pruned;
                w
            }
            None => self.check_unknown_fields(
                &applied,
                (res.group.as_str(), res.version.as_str(), res.kind.as_str()),
                opts.field_validation,
            )?,
        };
        check_name(meta_str(&applied, "name"), name)?;
        let schema =
            self.openapi
                .schema(res.group.as_str(), res.version.as_str(), res.kind.as_str());
        let custom_pos = custom.as_ref().map(|cv| cv.schema.patch_root());
        let api_version = res.api_version().to_string();
        // managedFields record the subresource by its name.
        let sub_name = sub.map(SubresourceHandler::name);
        let opts = WriteOptions {
            applying: true,
            ..opts.clone()
        };
        let mut result = self
            .guaranteed_update(res, ns, name, update_sub, None, &opts, |current| {
                let live = if current.is_null() { None } else { Some(current) };
                let mut body = applied.clone();
                if live.is_none()
                    && let Some(m) = meta_mut(&mut body)
                {
                    m.insert("name".into(), Value::String(name.to_string()));
                }
                let applied = match &custom_pos {
                    Some(pos) => fieldmanager::apply(
                        live,
                        &body,
                        &opts.field_manager,
                        opts.force,
                        &api_version,
                        sub_name,
                        &now_rfc3339(),
                        Some(pos),
                    ),
                    None => fieldmanager::apply(
                        live,
                        &body,
                        &opts.field_manager,
                        opts.force,
                        &api_version,
                        sub_name,
                        &now_rfc3339(),
                        schema.as_ref(),
                    ),
                };
                applied
                .map_err(|e| match e {
                    fieldmanager::ApplyError::Invalid(m) => ApiError::bad_request(m),
                    fieldmanager::ApplyError::Conflicts(c) => {
                        let (message, causes) = fieldmanager::conflict_message(&c, |_| api_version.clone());
                        ApiError {
                            code: 409,
                            reason: "Conflict",
                            message,
                            details: Some(json!({
                                "causes": causes
                                    .into_iter()
                                    .map(|(message, field)| json!({"reason": "FieldManagerConflict", "message": message, "field": field}))
                                    .collect::<Vec<_>>(),
                            })),
                        }
                    }
                })
                .and_then(|mut merged| {
                    if custom_pos.is_some() {
                        return Ok(merged);
                    }
                    typecheck::convert_applied(
                        &self.openapi,
                        (res.group.as_str(), res.version.as_str(), res.kind.as_str()),
                        name,
                        &mut merged,
                    )?;
                    Ok(merged)
                })
            })
            .await?;
        result.warnings.extend(warnings);
        if through_scale(sub) {
            result.object = to_scale(res, &result.object)?;
        }
        Ok(result)
    }

    /// `rest.BeforeUpdate`: system fields come from the stored object.
    fn prepare_update(
        &self,
        res: &Arc<Resource>,
        sub: Option<SubresourceHandler>,
        new: &mut Value,
        old: &Value,
    ) {
        if sub.is_none() {
            match &res.custom {
                Some(cv) => cv.default(new),
                None => res.strategy.defaults(new),
            }
        }
        strategy::prepare_for_update(res, sub, new, old);
        let old_meta = meta(old).cloned().unwrap_or_default();
        let Some(m) = meta_mut(new) else { return };
        for f in [
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            match old_meta.get(f) {
                Some(v) => {
                    m.insert(f.into(), v.clone());
                }
                None => {
                    m.remove(f);
                }
            }
        }
        if m.get("uid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && let Some(uid) = old_meta.get("uid")
        {
            m.insert("uid".into(), uid.clone());
        }
        if !strategy::tracks_generation(res) {
            match old_meta.get("generation") {
                Some(g) => {
                    m.insert("generation".into(), g.clone());
                }
                None => {
                    m.shift_remove("generation");
                }
            }
        }
        if let Some(ns) = old_meta.get("namespace") {
            m.insert("namespace".into(), ns.clone());
        }
        // An unconditional update acts on the stored version (`store.go`);
        // `encode` strips it again before the write.
        if let Some(rv) = old_meta.get("resourceVersion") {
            m.insert("resourceVersion".into(), rv.clone());
        }
    }

    /// DELETE of one object.
    pub async fn delete(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Value> {
        let gr = res.group_resource();
        // NamespaceLifecycle admission runs before the object is read:
        // the immortal namespaces are refused even on a dry run.
        if res.strategy.immortal(name) {
            return Err(ApiError::immortal_namespace(name));
        }
        for plugin in res.admission {
            plugin.validate_delete(res, name)?;
        }
        let key = res.storage_key(ns, name);
        for _attempt in 0..64 {
            let Some(current) = self
                .storage
                .get(&key)
                .await
                .map_err(|e| storage_error(&gr, name, e))?
            else {
                return Err(ApiError::not_found(&gr, name));
            };
            let obj = decode(res, &current, current.mod_revision)?;
            if let Some(uid) = &opts.precondition_uid
                && meta_str(&obj, "uid") != Some(uid.as_str())
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta_str(&obj, "uid").unwrap_or("")
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_resource_version
                && rv != &current.mod_revision.to_string()
            {
                return Err(ApiError::conflict(
                    &gr,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        current.mod_revision
                    ),
                ));
            }
            // The garbage collector's finalizers carry the propagation policy
            // (`store.go` deletionFinalizersForGarbageCollection).
            let mut obj = obj;
            let gc_finalizer = match opts.propagation_policy.as_deref() {
                Some("Foreground") => Some("foregroundDeletion"),
                Some("Orphan") => Some("orphan"),
                Some(_) => None,
                // No policy: a GC finalizer already on the object decides;
                // else the kind's default, which is OrphanDependents for
                // batch/v1 Jobs "for back compatibility" (upstream
                // `pkg/registry/batch/job/strategy.go`
                // DefaultGarbageCollectionPolicy; `store.go`
                // shouldOrphanDependents). kubectl always sends a policy.
                None => {
                    let has_gc_finalizer = obj
                        .pointer("/metadata/finalizers")
                        .and_then(Value::as_array)
                        .is_some_and(|f| {
                            f.iter().any(|x| x == "orphan" || x == "foregroundDeletion")
                        });
                    (!has_gc_finalizer && gr.group == "batch" && gr.resource == "jobs")
                        .then_some("orphan")
                }
            };
            if let Some(f) = gc_finalizer
                && let Some(m) = meta_mut(&mut obj)
            {
                let list = m.entry("finalizers").or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    let other = if f == "orphan" {
                        "foregroundDeletion"
                    } else {
                        "orphan"
                    };
                    list.retain(|x| x != other);
                    if !list.iter().any(|x| x == f) {
                        list.push(json!(f));
                    }
                }
            }
            // A CRD's first delete adds the clean-up finalizer and the
            // Terminating condition (`customresourcedefinition/etcd.go`).
            let crd_marked = res.strategy.mark_for_deletion(&mut obj, &now_rfc3339());
            let has_finalizers = obj
                .pointer("/metadata/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|f| !f.is_empty());
            let grace = strategy::graceful_delete_seconds(res, &obj, opts.grace_period_seconds);
            let namespace_pending = res.strategy.waits_for_spec_finalizers();
            if has_finalizers || grace.is_some() || namespace_pending {
                let mut marked = obj.clone();
                let already = obj.pointer("/metadata/deletionTimestamp").is_some();
                if let Some(m) = meta_mut(&mut marked) {
                    if !already {
                        let when = deletion_timestamp(Utc::now(), grace.unwrap_or(0));
                        m.insert(
                            "deletionTimestamp".into(),
                            Value::String(when.to_rfc3339_opts(SecondsFormat::Secs, true)),
                        );
                        m.insert(
                            "deletionGracePeriodSeconds".into(),
                            json!(grace.unwrap_or(0)),
                        );
                    } else if let Some(g) = grace {
                        // A shorter grace period may shorten a pending deletion.
                        let cur = m
                            .get("deletionGracePeriodSeconds")
                            .and_then(Value::as_i64)
                            .unwrap_or(i64::MAX);
                        if g < cur {
                            m.insert("deletionGracePeriodSeconds".into(), json!(g));
                        }
                    }
                }
                if namespace_pending && let Some(o) = marked.as_object_mut() {
                    o.insert("status".into(), json!({"phase": "Terminating"}));
                }
                let ns_done = namespace_pending
                    && !has_finalizers
                    && marked
                        .pointer("/spec/finalizers")
                        .and_then(Value::as_array)
                        .is_none_or(|f| f.is_empty());
                if !ns_done {
                    if opts.dry_run {
                        return Ok(marked);
                    }
                    if marked == obj && !crd_marked {
                        return Ok(obj);
                    }
                    match self
                        .storage
                        .update(
                            &key,
                            Precondition::ModRevision(current.mod_revision),
                            encode(res, &marked)?,
                        )
                        .await
                    {
                        Ok(kv) => return decode(res, &kv, kv.mod_revision),
                        Err(StorageError::Conflict { .. }) => continue,
                        Err(e) => return Err(storage_error(&gr, name, e)),
                    }
                }
            }
            if opts.dry_run {
                return Ok(self.deleted_answer(res, &obj));
            }
            match self
                .storage
                .delete(&key, Precondition::ModRevision(current.mod_revision))
                .await
            {
                Ok((_, rev)) => {
                    let mut gone = obj;
                    if let Some(m) = meta_mut(&mut gone) {
                        m.insert("resourceVersion".into(), Value::String(rev.to_string()));
                    }
                    return Ok(self.deleted_answer(res, &gone));
                }
                Err(StorageError::Conflict { .. }) => continue,
                Err(e) => return Err(storage_error(&gr, name, e)),
            }
        }
        Err(ApiError::modified_conflict(&gr, name))
    }

    fn deleted_answer(&self, res: &Resource, obj: &Value) -> Value {
        if strategy::returns_deleted_object(res) {
            obj.clone()
        } else {
            success_status(
                &res.group_resource(),
                meta_str(obj, "name").unwrap_or(""),
                meta_str(obj, "uid").unwrap_or(""),
            )
        }
    }

    /// DELETE of a collection: deletes every matching object, answers with
    /// the list of what was deleted.
    pub async fn delete_collection(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        params: &ListParams,
        opts: &DeleteOptions,
    ) -> ApiResult<Value> {
        let list = self
            .list(
                res,
                ns,
                &ListParams {
                    limit: 0,
                    continue_token: None,
                    ..params.clone()
                },
            )
            .await?;
        let mut out = list;
        let items = match out.get_mut("items") {
            Some(Value::Array(items)) => std::mem::take(items),
            _ => Vec::new(),
        };
        // Several deletes in flight (upstream's `--delete-collection-workers`),
        // so that they share the storage's group commits; the answer keeps
        // the list's order. The first error other than 404 stops the rest.
        let results: Vec<Option<Value>> = futures::stream::iter(items)
            .map(|item| async move {
                let name = meta_str(&item, "name").unwrap_or("");
                let item_ns = meta_str(&item, "namespace");
                match self.delete(res, item_ns.or(ns), name, opts).await {
                    Ok(_) => Ok(Some(item)),
                    Err(e) if e.code == 404 => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(DELETE_COLLECTION_WORKERS)
            .try_collect()
            .await?;
        let deleted: Vec<Value> = results.into_iter().flatten().collect();
        if let Some(o) = out.as_object_mut() {
            o.insert("items".into(), Value::Array(deleted));
        }
        Ok(out)
    }

    /// The revision a list reads at, from `resourceVersion`/`resourceVersionMatch`
    /// (`apiserver/pkg/storage/etcd3/store.go` GetList semantics).
    async fn list_revision(&self, p: &ListParams) -> ApiResult<Revision> {
        let rv = p.resource_version.as_deref().unwrap_or("");
        let current = self.storage.current_revision();
        match (rv, p.resource_version_match.as_deref().unwrap_or("")) {
            ("", "") | ("0", "") => Ok(0),
            ("", m) => Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Forbidden: resourceVersionMatch \"{m}\" is forbidden when resourceVersion is not provided"
            ))),
            (rv, "Exact") => {
                let r = parse_resource_version(rv)?;
                if r == 0 {
                    return Err(ApiError::bad_request(
                        "resourceVersionMatch: Forbidden: resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                    ));
                }
                // An exact read of the future does not wait.
                if r > current {
                    return Err(ApiError::too_large_resource_version(r, current, 1));
                }
                Ok(r)
            }
            (rv, "NotOlderThan" | "") => {
                let r = parse_resource_version(rv)?;
                self.wait_for_revision(r).await?;
                Ok(0)
            }
            (_, m) => Err(ApiError::bad_request(format!(
                "resourceVersionMatch: Unsupported value: \"{m}\": supported values: \"Exact\", \"NotOlderThan\""
            ))),
        }
    }

    /// GET of a collection.
    pub async fn list(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        p: &ListParams,
    ) -> ApiResult<Value> {
        self.list_raw(res, ns, p).await?.to_value()
    }

    /// LIST with each item as its JSON bytes: the stored bytes with
    /// `resourceVersion` spliced in, so a list is copied, not re-encoded
    /// (see [`RawList`]).
    pub async fn list_raw(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        p: &ListParams,
    ) -> ApiResult<RawList> {
        let gr = res.group_resource();
        let filter = Filter::new(res, p)?;
        let prefix = res.namespace_prefix(ns);
        let (mut revision, start_after) = match p.continue_token.as_deref() {
            Some(t) if !t.is_empty() => {
                let tok = decode_continue(t)?;
                (tok.rv, Some(format!("{prefix}{}", tok.start)))
            }
            _ => (self.list_revision(p).await?, None),
        };
        // `resourceVersion=0`: the first page may come from the cache as is.
        let mut any_recent = revision == 0 && p.resource_version.as_deref() == Some("0");
        let limit = p.limit;
        let splice = Splice::new(res);
        let mut items: Vec<Bytes> = Vec::new();
        let mut next_after = start_after;
        let mut last_key: Option<String> = None;
        let mut more = false;
        let mut remaining = None;
        // Page through storage until `limit` matching objects are found.
        'outer: loop {
            let batch = if limit > 0 && filter.is_everything() {
                limit + 1
            } else {
                0
            };
            let page = self
                .storage
                .list(
                    &prefix,
                    &StorageListOptions {
                        start_after: next_after.clone(),
                        limit: batch,
                        revision,
                        any_recent,
                    },
                )
                .await
                .map_err(|e| match e {
                    StorageError::Expired { .. } if p.continue_token.is_some() => ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                    ),
                    e => storage_error(&gr, "", e),
                })?;
            revision = page.revision;
            any_recent = false;
            let n = page.items.len();
            for (i, kv) in page.items.iter().enumerate() {
                if limit > 0 && items.len() == limit {
                    more = true;
                    if filter.is_everything() {
                        remaining = Some((n - i) as u64 + page.remaining);
                    }
                    break 'outer;
                }
                last_key = Some(kv.key.clone());
                if !filter.is_everything() {
                    let obj = decode(res, kv, kv.mod_revision)?;
                    if !filter.matches(&obj) {
                        continue;
                    }
                }
                items.push(list_item_bytes(res, &splice, kv)?);
            }
            if batch == 0 || page.remaining == 0 {
                break;
            }
            next_after = last_key.clone();
        }
        let mut list_meta = Map::new();
        // A custom resource's list is unstructured JSON: upstream writes
        // `continue` even when empty, and its keys sorted.
        if res.custom.is_some() {
            list_meta.insert("continue".into(), Value::String(String::new()));
        }
        list_meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
        if more && let Some(k) = &last_key {
            let tok = ContinueToken {
                v: "meta.k8s.io/v1".into(),
                rv: revision,
                start: k.strip_prefix(&prefix).unwrap_or(k).to_string(),
            };
            let raw = serde_json::to_vec(&tok).map_err(|e| ApiError::internal(e.to_string()))?;
            list_meta.insert(
                "continue".into(),
                Value::String(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)),
            );
            if let Some(r) = remaining {
                list_meta.insert("remainingItemCount".into(), json!(r));
            }
        }
        if res.custom.is_some() {
            list_meta.sort_keys();
        }
        Ok(RawList {
            kind: match &res.custom {
                Some(cv) => cv.list_kind.clone(),
                None => format!("{}List", res.kind),
            },
            api_version: res.api_version().to_string(),
            metadata: list_meta,
            items,
        })
    }

    /// WATCH: the initial state (when asked) then every change, filtered;
    /// `BOOKMARK`s when allowed; the streaming-list form
    /// (`sendInitialEvents=true`) ends its initial state with a bookmark
    /// annotated `k8s.io/initial-events-end` (`cacher.go`, `watch_cache.go`).
    pub async fn watch(
        &self,
        res: &Arc<Resource>,
        ns: Option<&str>,
        p: &ListParams,
        w: &WatchOptions,
    ) -> ApiResult<impl Stream<Item = WatchEvent> + Send + 'static> {
        let filter = Arc::new(Filter::new(res, p)?);
        let prefix = res.namespace_prefix(ns);
        let rv = p.resource_version.as_deref().unwrap_or("");
        let rvm = p.resource_version_match.as_deref().unwrap_or("");
        let mut errs = Vec::new();
        match w.send_initial_events {
            Some(true) => {
                if rvm != "NotOlderThan" {
                    errs.push(crate::apimachinery::validation::FieldError::forbidden(
                        "resourceVersionMatch",
                        "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    ));
                }
                if !w.allow_bookmarks {
                    errs.push(crate::apimachinery::validation::FieldError::forbidden(
                        "allowWatchBookmarks",
                        "sendInitialEvents requires setting allowWatchBookmarks to true",
                    ));
                }
            }
            Some(false) if !rvm.is_empty() && rvm != "NotOlderThan" => {
                errs.push(crate::apimachinery::validation::FieldError::not_supported(
                    "resourceVersionMatch",
                    Value::String(rvm.to_string()),
                    &["NotOlderThan"],
                ));
            }
            _ if !rvm.is_empty() && w.send_initial_events.is_none() => {
                errs.push(crate::apimachinery::validation::FieldError::forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            _ => {}
        }
        if !errs.is_empty() {
            return Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", &errs));
        }
        // Initial events: the legacy form for RV unset/"0", the streaming
        // list when asked; none when sendInitialEvents=false.
        let initial_state = match w.send_initial_events {
            Some(send) => send,
            None => rv.is_empty() || rv == "0",
        };
        let mut initial = Vec::new();
        let after = if initial_state
            || (w.send_initial_events == Some(false) && (rv.is_empty() || rv == "0"))
        {
            let min = if rv.is_empty() || rv == "0" {
                0
            } else {
                parse_resource_version(rv)?
            };
            let current = self.storage.current_revision();
            if min > current {
                return Err(ApiError::service_unavailable(format!(
                    "Too large resource version: {min}, current: {current}"
                )));
            }
            // `resourceVersion` 0 or N: the cache's state (at least N) will
            // do; unset: a consistent read.
            let opts = StorageListOptions {
                any_recent: !rv.is_empty(),
                ..Default::default()
            };
            let list = self
                .storage
                .list(&prefix, &opts)
                .await
                .map_err(|e| storage_error(&res.group_resource(), "", e))?;
            if initial_state {
                for kv in &list.items {
                    let obj = decode(res, kv, kv.mod_revision)?;
                    if filter.matches(&obj) {
                        initial.push(WatchEvent::parsed("ADDED", obj));
                    }
                }
                if w.send_initial_events == Some(true) {
                    initial.push(bookmark(res, list.revision, true));
                }
            }
            list.revision
        } else {
            parse_resource_version(rv)?
        };
        enum Item {
            Event(crate::storage::Result<Arc<Event>>),
            Tick,
        }
        let live: futures::stream::BoxStream<'static, WatchEvent> =
            match self.storage.watch(&prefix, after) {
                Ok(s) => {
                    let events = s.map(Item::Event);
                    let ticks: futures::stream::BoxStream<'static, Item> = if w.allow_bookmarks {
                        let period = w.bookmark_interval;
                        futures::stream::unfold((), move |()| async move {
                            tokio::time::sleep(period).await;
                            Some((Item::Tick, ()))
                        })
                        .boxed()
                    } else {
                        futures::stream::pending().boxed()
                    };
                    let filter = filter.clone();
                    let splice = Splice::new(res);
                    // The stream outlives the request: it keeps its own handle.
                    let res = res.clone();
                    futures::stream::select(events, ticks)
                        .scan(after, move |last, item| {
                            let out = match item {
                                // Upstream's cacher closes an unresponsive
                                // watcher without an error event
                                // (storage/cacher/cache_watcher.go, "Forcing
                                // watcher close due to unresponsiveness"); the
                                // client resumes from its last revision.
                                Item::Event(Err(StorageError::TooSlow(n))) => {
                                    tracing::warn!(
                                        resource = res.plural.as_str(),
                                        behind = n,
                                        "closing an unresponsive watcher"
                                    );
                                    return futures::future::ready(None);
                                }
                                Item::Event(Ok(ev)) => {
                                    *last = ev.revision;
                                    to_watch_event(&res, &splice, &ev, &filter)
                                }
                                Item::Event(Err(e)) => Some(error_event(&storage_error(
                                    &GroupResource::new("", ""),
                                    "",
                                    e,
                                ))),
                                // Every event up to `last` has been passed on (or filtered out).
                                Item::Tick => Some(bookmark(&res, *last, false)),
                            };
                            futures::future::ready(Some(out))
                        })
                        .filter_map(futures::future::ready)
                        .boxed()
                }
                Err(e) => {
                    let err = storage_error(&res.group_resource(), "", e);
                    futures::stream::iter(vec![error_event(&err)]).boxed()
                }
            };
        Ok(futures::stream::iter(initial).chain(live))
    }
}

/// A `BOOKMARK` event at `revision`.
fn bookmark(res: &Resource, revision: Revision, initial_events_end: bool) -> WatchEvent {
    let mut metadata = json!({"resourceVersion": revision.to_string(), "creationTimestamp": null});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    WatchEvent::parsed(
        "BOOKMARK",
        json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": metadata}),
    )
}

/// One storage event as the watcher sees it: selector transitions turn a
/// modification into ADDED (starts matching) or DELETED (stops matching),
/// as upstream's cacher does.
fn to_watch_event(
    res: &Resource,
    splice: &Splice,
    ev: &Event,
    filter: &Filter,
) -> Option<WatchEvent> {
    if filter.is_everything()
        && let Some(raw) = splice.object(&ev.value, ev.revision)
    {
        let event_type = match ev.event_type {
            EventType::Created => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        };
        return Some(WatchEvent {
            event_type,
            object: Value::Null,
            raw: Some(raw),
        });
    }
    let decode_at = |b: &Bytes| -> Option<Value> {
        let mut obj: Value = serde_json::from_slice(b).ok()?;
        conversion::from_storage(res, &mut obj);
        if let Some(m) = meta_mut(&mut obj) {
            m.insert(
                "resourceVersion".into(),
                Value::String(ev.revision.to_string()),
            );
        }
        Some(obj)
    };
    let obj = decode_at(&ev.value)?;
    let now = filter.matches(&obj);
    match ev.event_type {
        EventType::Created => now.then_some(WatchEvent::parsed("ADDED", obj)),
        EventType::Deleted => now.then_some(WatchEvent::parsed("DELETED", obj)),
        EventType::Modified => {
            let prev = if filter.is_everything() {
                None
            } else {
                ev.prev_value.as_ref().and_then(decode_at)
            };
            let before = filter.is_everything() || prev.as_ref().is_some_and(|p| filter.matches(p));
            match (before, now) {
                (true, true) => Some(WatchEvent::parsed("MODIFIED", obj)),
                (false, true) => Some(WatchEvent::parsed("ADDED", obj)),
                // Leaving the selection: the previous object at this event's
                // revision (`cache_watcher.go` convertToWatchEvent).
                (true, false) => Some(WatchEvent::parsed("DELETED", prev.unwrap_or(obj))),
                (false, false) => None,
            }
        }
    }
}

/// An `ERROR` watch event carrying a `Status`.
pub fn error_event(e: &ApiError) -> WatchEvent {
    WatchEvent::parsed("ERROR", e.to_status())
}

fn decode_continue(t: &str) -> ApiResult<ContinueToken> {
    let bad = || {
        ApiError::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t.trim_end_matches('='))
        .map_err(|_| bad())?;
    let tok: ContinueToken = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if tok.v != "meta.k8s.io/v1" || tok.rv == 0 || tok.start.contains("..") {
        return Err(bad());
    }
    Ok(tok)
}

/// `now` plus a client's grace period, as upstream computes it
/// (`now.Add(time.Duration(grace) * time.Second)` in `BeforeDelete`,
/// k8s.io/apiserver/pkg/registry/rest/delete.go): the nanoseconds wrap as Go's
/// int64 multiplication does, so `gracePeriodSeconds=9223372036854775807`
/// gives a timestamp a second before now, as upstream, instead of a panic.
fn deletion_timestamp(now: DateTime<Utc>, grace: i64) -> DateTime<Utc> {
    let nanos = grace.wrapping_mul(1_000_000_000);
    now.checked_add_signed(chrono::TimeDelta::nanoseconds(nanos))
        .unwrap_or(now)
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Sets (or replaces, by `type`) a condition in `status.conditions`.
fn set_condition(obj: &mut Value, cond: Value) {
    let Some(o) = obj.as_object_mut() else { return };
    let status = o.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else {
        return;
    };
    let conds = status.entry("conditions").or_insert_with(|| json!([]));
    let Some(list) = conds.as_array_mut() else {
        return;
    };
    let ty = cond.get("type").cloned();
    match list.iter_mut().find(|c| c.get("type") == ty.as_ref()) {
        Some(existing) => *existing = cond,
        None => list.push(cond),
    }
}

/// Applies a JSON, merge or strategic merge patch to an object.
pub fn apply_patch(
    openapi: &OpenApi,
    gvk: (&str, &str, &str),
    current: &Value,
    patch: &Value,
    patch_type: PatchType,
) -> ApiResult<Value> {
    apply_patch_request(openapi, gvk, current, patch, patch_type, true)
}

/// Deletes in flight at once in a deletecollection.
const DELETE_COLLECTION_WORKERS: usize = 16;

/// Bodies from this size on are patched off the async worker threads
/// (`block_in_place`): a large patch is CPU work that must not hold up the
/// other requests sharing the worker (2 workers on a 2-core machine).
const BLOCKING_PATCH_BYTES: usize = 64 * 1024;

/// [`apply_patch`] as the PATCH handler runs it (`handlers/patch.go`):
/// `strict_decode` is fieldValidation Warn/Strict (upstream's JSON patch
/// decoding message differs), and upstream's limits and error answers apply:
/// a JSON patch over 10,000 operations is 413, one that does not apply (or
/// whose copies would add more than 3 MiB) is the generic 422, and strategic
/// merge patch errors are 400, 422 or a plain 500 as
/// `interpretStrategicMergePatchError` sorts them.
pub fn apply_patch_request(
    openapi: &OpenApi,
    gvk: (&str, &str, &str),
    current: &Value,
    patch: &Value,
    patch_type: PatchType,
    strict_decode: bool,
) -> ApiResult<Value> {
    use crate::apimachinery::jsonpatch;
    use crate::apimachinery::strategicpatch::PatchErrorClass;
    match patch_type {
        PatchType::Json => {
            let ops = jsonpatch::decode(patch, strict_decode).map_err(ApiError::bad_request)?;
            if let Some(msg) = jsonpatch::too_many_operations(ops.len()) {
                return Err(ApiError::entity_too_large(&msg));
            }
            let mut doc = current.clone();
            jsonpatch::apply(&mut doc, &ops, jsonpatch::MAX_COPY_BYTES)
                .map_err(|_| ApiError::unprocessable_generic())?;
            Ok(doc)
        }
        PatchType::Merge => {
            let mut doc = current.clone();
            json_patch::merge(&mut doc, patch);
            Ok(doc)
        }
        PatchType::StrategicMerge => {
            let schema = openapi.schema(gvk.0, gvk.1, gvk.2);
            strategicpatch::apply_strategic_merge_patch(current, patch, schema.as_ref()).map_err(
                |e| match e.class {
                    PatchErrorClass::BadRequest => ApiError::bad_request(e.message),
                    PatchErrorClass::Unprocessable => ApiError::unprocessable_generic(),
                    PatchErrorClass::Internal => ApiError::unknown_error(e.message),
                },
            )
        }
    }
}

/// Runs CPU-heavy request work: in place for small inputs, otherwise on a
/// thread that may block (the worker hands its other tasks to a new worker),
/// so `/readyz` and every other request keep being served meanwhile.
pub fn cpu_heavy<T>(size: usize, f: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if size >= BLOCKING_PATCH_BYTES && multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// The `autoscaling/v1` `Scale` view of a deployment or replicaset.
/// A custom resource's body as upstream's custom-resource handler decodes
/// it: type meta checked against the endpoint, unknown fields pruned
/// (an error under `fieldValidation=Strict`, warnings under `Warn`), then
/// defaulted from the schema (`customresource_handler.go`'s codecs,
/// `schemaCoercingConverter`, `unstructuredDefaulter`).
fn custom_decode(
    cv: &CustomVersion,
    obj: &mut Value,
    fv: FieldValidation,
) -> ApiResult<Vec<String>> {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind.is_empty() {
        let body = obj.to_string();
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): Object 'Kind' is missing in '{}' ({} ...)",
            cv.kind,
            truncate(&body, 200),
            truncate(&body, 30)
        )));
    }
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if av != cv.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            cv.api_version()
        )));
    }
    if let Some(m) = obj.get("metadata")
        && !m.is_object()
        && !m.is_null()
    {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: json: cannot unmarshal {} into Go struct field ObjectMeta.metadata of type v1.ObjectMeta",
            crate::apimachinery::strategicpatch::json_kind_name(m),
            v = cv.version
        )));
    }
    if let Some(msg) = cv.conversion_error() {
        return Err(ApiError::internal(msg));
    }
    let unknown = cpu_heavy(0, || cv.prune(obj));
    let warnings = match fv {
        FieldValidation::Ignore => Vec::new(),
        FieldValidation::Strict if !unknown.is_empty() => {
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                unknown.join(", "),
                v = cv.version
            )));
        }
        _ => unknown,
    };
    cv.default(obj);
    Ok(warnings)
}

/// Whether a write through `sub` reads and writes the `autoscaling/v1`
/// Scale view of the object ([`to_scale`], [`from_scale`]).
fn through_scale(sub: Option<SubresourceHandler>) -> bool {
    match sub {
        Some(SubresourceHandler::Scale) => true,
        None
        | Some(
            SubresourceHandler::Status
            | SubresourceHandler::Binding
            | SubresourceHandler::Token
            | SubresourceHandler::Eviction
            | SubresourceHandler::Finalize,
        ) => false,
    }
}

fn to_scale(res: &Resource, obj: &Value) -> ApiResult<Value> {
    if let Some(cv) = &res.custom {
        return cv.to_scale(obj).map_err(ApiError::bad_request);
    }
    let m = meta(obj).cloned().unwrap_or_default();
    let mut sm = Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = m.get(f) {
            sm.insert(f.into(), v.clone());
        }
    }
    let selector = match obj.pointer("/spec/selector").and_then(Value::as_object) {
        // A ReplicationController's selector is a plain label map (every
        // value a string, where a LabelSelector has objects and lists):
        // `labels.SelectorFromSet(rc.Spec.Selector).String()`
        // (pkg/registry/core/replicationcontroller/storage/storage.go).
        Some(set) if !set.is_empty() && set.values().all(Value::is_string) => {
            let mut pairs: Vec<String> = set
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs.join(",")
        }
        _ => labels::from_label_selector(obj.pointer("/spec/selector"))
            .map(|s| s.to_string())
            .unwrap_or_default(),
    };
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": sm,
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        },
    }))
}

/// Writes a `Scale`'s `spec.replicas` back into its deployment or replicaset.
fn from_scale(res: &Resource, old: &Value, scale: &Value) -> ApiResult<Value> {
    let name = meta_str(old, "name").unwrap_or("");
    if let Some(rv) = meta_str(scale, "resourceVersion")
        && !rv.is_empty()
        && Some(rv) != meta_str(old, "resourceVersion")
    {
        return Err(ApiError::modified_conflict(&res.group_resource(), name));
    }
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => json!(0),
        Some(v) => v.clone(),
    };
    if replicas.as_i64().is_none_or(|r| r < 0) {
        return Err(ApiError::invalid(
            "autoscaling",
            "Scale",
            name,
            &[crate::apimachinery::validation::FieldError::invalid(
                "spec.replicas",
                replicas.clone(),
                "must be greater than or equal to 0",
            )],
        ));
    }
    if let Some(cv) = &res.custom {
        return cv
            .from_scale(old, replicas.as_i64().unwrap_or(0))
            .map_err(ApiError::bad_request);
    }
    let mut new = old.clone();
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), replicas);
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Suffixes `generated_name` takes (last first) before random ones.
        pub(super) static FORCED_SUFFIXES: std::cell::RefCell<Vec<String>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }

    #[test]
    fn deletion_timestamps_wrap_as_go_instead_of_panicking() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T09:30:56Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            deletion_timestamp(now, 30),
            now + chrono::TimeDelta::seconds(30)
        );
        // (2^63 - 1) * 10^9 wraps to -10^9 ns in Go's int64 arithmetic.
        assert_eq!(
            deletion_timestamp(now, i64::MAX),
            now - chrono::TimeDelta::seconds(1)
        );
        assert_eq!(
            deletion_timestamp(now, i64::MIN),
            now + chrono::TimeDelta::zero()
        );
        let _ = deletion_timestamp(now, -9_223_372_036);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn generated_names_that_are_taken_are_generated_again() {
        let st = crate::server::memory_state("t").await.unwrap();
        let cms = Registry::builtin().by_key("configmaps").unwrap();
        let cm = |name: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "generateName": "x-"}})
        };
        let opts = WriteOptions::default();
        st.store
            .create(&cms, Some("default"), cm("x-aaaaa"), &opts)
            .await
            .unwrap();
        // Two collisions, then a free name.
        FORCED_SUFFIXES
            .with(|f| *f.borrow_mut() = vec!["bbbbb".into(), "aaaaa".into(), "aaaaa".into()]);
        let made = st
            .store
            .create(&cms, Some("default"), cm(""), &opts)
            .await
            .unwrap();
        assert_eq!(made.object["metadata"]["name"], "x-bbbbb");
        // Eight collisions: upstream's GenerateNameConflict.
        FORCED_SUFFIXES.with(|f| *f.borrow_mut() = vec!["aaaaa".into(); 8]);
        let err = st
            .store
            .create(&cms, Some("default"), cm(""), &opts)
            .await
            .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(err.reason, "AlreadyExists");
        assert_eq!(
            err.message,
            "configmaps \"x-aaaaa\" already exists, the server was not able to generate a unique name for the object"
        );
        assert_eq!(err.details.unwrap()["retryAfterSeconds"], 1);
    }

    fn kv(res: &Resource, obj: &Value, rev: Revision) -> KeyValue {
        KeyValue {
            key: "/k".into(),
            value: encode(res, obj).unwrap(),
            create_revision: rev,
            mod_revision: rev,
        }
    }

    /// The spliced item is byte-for-byte what decoding and re-encoding gives.
    #[test]
    fn spliced_list_items_equal_reencoded_ones() {
        let pods = Registry::builtin().by_key("pods").unwrap();
        let tricky = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "u",
                "labels": {"a": "\"resourceVersion\":\"\""},
                "annotations": {"resourceVersion": ""}},
            "spec": {"containers": [{"name": "c", "image": "i"}]}});
        let kv = kv(&pods, &tricky, 42);
        let spliced = Splice::new(&pods).item(&kv.value, 42).unwrap();
        // A watch event's object keeps kind and apiVersion.
        let whole = Splice::new(&pods).object(&kv.value, 42).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&whole),
            serde_json::to_string(&decode(&pods, &kv, 42).unwrap()).unwrap()
        );
        let mut decoded = decode(&pods, &kv, 42).unwrap();
        let o = decoded.as_object_mut().unwrap();
        o.shift_remove("kind");
        o.shift_remove("apiVersion");
        assert_eq!(
            String::from_utf8_lossy(&spliced),
            serde_json::to_string(&decoded).unwrap()
        );
        assert_eq!(decoded["metadata"]["resourceVersion"], "42");
        assert_eq!(decoded["metadata"]["annotations"]["resourceVersion"], "");
    }

    #[test]
    fn converted_resources_are_not_spliced() {
        let events = Registry::builtin().by_key("events.k8s.io/events").unwrap();
        assert!(Splice::new(&events).prefix.is_none());
        let core = Registry::builtin().by_key("events").unwrap();
        let e = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": "default"}, "message": "m"});
        let kv = kv(&core, &e, 7);
        let item = list_item_bytes(&events, &Splice::new(&events), &kv).unwrap();
        let v: Value = serde_json::from_slice(&item).unwrap();
        assert_eq!(v["note"], "m");
        assert_eq!(v["metadata"]["resourceVersion"], "7");
    }

    #[test]
    fn raw_list_json_and_value_agree() {
        let list = RawList {
            kind: "PodList".into(),
            api_version: "v1".into(),
            metadata: json!({"resourceVersion": "9"}).as_object().unwrap().clone(),
            items: vec![
                Bytes::from_static(br#"{"metadata":{"name":"a"}}"#),
                Bytes::from_static(br#"{"metadata":{"name":"b"}}"#),
            ],
        };
        assert_eq!(
            String::from_utf8(list.to_json()).unwrap(),
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#
        );
        let v: Value = serde_json::from_slice(&list.to_json()).unwrap();
        assert_eq!(v, list.to_value().unwrap());
    }
}
