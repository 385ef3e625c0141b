//! The registry of served resources, which can change while the server runs
//! (custom resources come and go). Routing, discovery, OpenAPI, storage keys,
//! Table printing and field selectors all read one immutable snapshot
//! ([`Served`]); a change builds a new snapshot and swaps it in, then bumps a
//! generation counter that caches (discovery, OpenAPI) watch.
//!
//! Reads are one read-lock plus one `Arc` clone; a request keeps its
//! `Arc<Resource>` to the end, so removing a resource mid-request is safe.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use crate::apimachinery::status::GroupResource;

use super::handler::{ResourceHandler, SubresourceHandler};
use super::kind::Kind;
use super::resources::ResourceInfo;

/// The source key of the built-in resources.
pub const BUILTIN: &str = "";

/// A subresource such as `status` or `scale`: its handler, and what
/// discovery lists of it, derived from the handler by [`SubresourceInfo::new`].
#[derive(Debug, Clone)]
pub struct SubresourceInfo {
    pub name: String,
    /// The kind read and written through it (`group`, `version`, `kind`).
    pub group: String,
    pub version: String,
    pub kind: String,
    pub verbs: Vec<String>,
    /// What it does (routing dispatches on it).
    pub handler: SubresourceHandler,
}

impl SubresourceInfo {
    /// `handler` registered on a resource of kind `parent` (`group`,
    /// `version`, `kind`).
    pub fn new(handler: SubresourceHandler, parent: (&str, &str, &str)) -> SubresourceInfo {
        let (group, version, kind) = handler.kind().unwrap_or(parent);
        SubresourceInfo {
            name: handler.name().to_string(),
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            verbs: handler.verbs().iter().map(|v| (*v).to_string()).collect(),
            handler,
        }
    }
}

/// One served resource (one version of one kind), built-in or custom.
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<String>,
    pub subresources: Vec<SubresourceInfo>,
    /// Who added it: [`BUILTIN`], or e.g. a CRD's name.
    pub source: String,
    /// Whether this version is the one objects are stored as (the preferred
    /// answer of `by_key` / `by_group_kind` when several versions are served).
    pub storage_version: bool,
    /// `(group, version, kind)` objects are stored as; equal to the served
    /// one unless the kind converts (events.k8s.io Events are core Events).
    pub storage_gvk: (String, String, String),
    /// The kind's strategy: defaults, validation, Table, field selectors...
    pub strategy: Arc<dyn Kind>,
    /// A custom resource's compiled strategy (schema, rules, columns,
    /// subresource paths); `None` for built-in kinds.
    pub custom: Option<Arc<crate::apiextensions::customresource::CustomVersion>>,
    /// What serves its own verbs: the store (every resource added at run
    /// time), or a built-in create handler (reviews).
    pub handler: ResourceHandler,
    /// Built-in admission plugins reading other objects (none for
    /// resources added at run time).
    pub admission: &'static [super::admission::Admission],
    // Derived once, so requests do not format them.
    key: String,
    api_version: String,
    storage_prefix: String,
    storage_version_hash: Option<String>,
    group_resource: GroupResource,
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("group", &self.group)
            .field("version", &self.version)
            .field("plural", &self.plural)
            .field("kind", &self.kind)
            .field("source", &self.source)
            .finish()
    }
}

/// What a caller gives to make a [`Resource`]; the derived fields are
/// computed by [`Resource::new`].
pub struct ResourceSpec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<String>,
    pub subresources: Vec<SubresourceInfo>,
    pub storage_version: bool,
    /// `None`: stored as itself.
    pub storage_gvk: Option<(String, String, String)>,
    /// Whether objects are stored at all (false for reviews): no
    /// `storageVersionHash` in discovery.
    pub stored: bool,
    /// The kind's strategy.
    pub strategy: Arc<dyn Kind>,
    /// A custom resource's compiled strategy.
    pub custom: Option<Arc<crate::apiextensions::customresource::CustomVersion>>,
}

impl Resource {
    pub fn new(source: &str, s: ResourceSpec) -> Resource {
        let key = if s.group.is_empty() {
            s.plural.clone()
        } else {
            format!("{}/{}", s.group, s.plural)
        };
        let api_version = if s.group.is_empty() {
            s.version.clone()
        } else {
            format!("{}/{}", s.group, s.version)
        };
        let storage_gvk = s
            .storage_gvk
            .unwrap_or_else(|| (s.group.clone(), s.version.clone(), s.kind.clone()));
        let storage_prefix = format!(
            "/registry/{}/",
            etcd_resource_path(&storage_gvk.0, &s.plural, s.custom.is_some())
        );
        let storage_version_hash = s.stored.then(|| {
            use base64::Engine as _;
            let (g, v, k) = &storage_gvk;
            let digest =
                ring::digest::digest(&ring::digest::SHA256, format!("{g}/{v}/{k}").as_bytes());
            base64::engine::general_purpose::STANDARD.encode(&digest.as_ref()[..8])
        });
        let group_resource = GroupResource::new(&s.group, &s.plural);
        Resource {
            group: s.group,
            version: s.version,
            kind: s.kind,
            plural: s.plural,
            singular: s.singular,
            namespaced: s.namespaced,
            short_names: s.short_names,
            categories: s.categories,
            verbs: s.verbs,
            subresources: s.subresources,
            source: source.to_string(),
            storage_version: s.storage_version,
            storage_gvk,
            strategy: s.strategy,
            custom: s.custom,
            handler: ResourceHandler::Store,
            admission: &[],
            key,
            api_version,
            storage_prefix,
            storage_version_hash,
            group_resource,
        }
    }

    /// A built-in resource from its static description and strategy.
    pub fn builtin(info: &ResourceInfo) -> Resource {
        let owned = |l: &[&str]| l.iter().map(|s| (*s).to_string()).collect::<Vec<_>>();
        let storage_gvk = info
            .stored_as
            .map(|(g, v, k)| (g.to_string(), v.to_string(), k.to_string()));
        let mut r = Resource::new(
            BUILTIN,
            ResourceSpec {
                group: info.group.into(),
                version: info.version.into(),
                kind: info.kind.into(),
                plural: info.plural.into(),
                singular: info.singular.into(),
                namespaced: info.namespaced,
                short_names: owned(info.short_names),
                categories: owned(info.categories),
                verbs: owned(info.verbs),
                subresources: info
                    .subresources
                    .iter()
                    .map(|s| SubresourceInfo::new(s.handler, (info.group, info.version, info.kind)))
                    .collect(),
                // A version stored as another version of its own group
                // (autoscaling/v1 HPAs are stored as v2) is not the
                // storage version; one stored as another group's kind
                // (events.k8s.io Events) is its group's only version.
                storage_version: info.stored_as.is_none_or(|(g, _, _)| g != info.group),
                storage_gvk,
                stored: info.handler.stored(),
                strategy: (info.strategy)(),
                custom: None,
            },
        );
        r.handler = info.handler;
        r.admission = info.admission;
        r
    }

    /// `"pods"` for the core group, `"apps/deployments"` otherwise.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// The `storageVersionHash` of discovery: base64 of the first 8 bytes of
    /// sha256 of `<group>/<version>/<kind>` of the version the resource is
    /// stored as (`apiserver/pkg/endpoints/discovery/storageversionhash.go`).
    /// `None` for resources that are not stored (reviews).
    pub fn storage_version_hash(&self) -> Option<&str> {
        self.storage_version_hash.as_deref()
    }

    pub fn group_resource(&self) -> GroupResource {
        self.group_resource.clone()
    }

    /// The registered subresource a URL names (`pods/{name}/<name>`).
    pub fn subresource(&self, name: &str) -> Option<&SubresourceInfo> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether `handler` is registered.
    pub fn has_subresource(&self, handler: SubresourceHandler) -> bool {
        self.subresources.iter().any(|s| s.handler == handler)
    }

    /// Whether `verb` (e.g. `"watch"`) is served.
    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether the stored form differs from the served one.
    pub fn converts(&self) -> bool {
        self.storage_gvk.0 != self.group || self.storage_gvk.1 != self.version
    }

    /// The storage prefix holding every object of this resource, ending in `/`.
    pub fn storage_prefix(&self) -> &str {
        &self.storage_prefix
    }

    /// Storage prefix for one namespace (or the whole resource if cluster-scoped).
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/", self.storage_prefix),
            _ => self.storage_prefix.clone(),
        }
    }

    /// The storage key of one object.
    pub fn storage_key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{ns}/{name}", self.storage_prefix),
            _ => format!("{}{name}", self.storage_prefix),
        }
    }
}

/// Where a resource's objects live under `/registry/`: upstream's etcd key
/// layout, so that an etcd shared with (or inspected like) kube-apiserver
/// reads the same. Built-in resources are keyed by resource name alone
/// (`storage.StorageFactory.ResourcePrefix`), with the historic exceptions
/// set in `pkg/registry/core/{node,service}/storage` and
/// `pkg/registry/networking/ingress/storage`; the extension servers' own
/// resources and every custom resource are keyed `<group>/<resource>`
/// (`apiextensions-apiserver/pkg/registry/customresource`).
pub fn etcd_resource_path(group: &str, plural: &str, custom: bool) -> String {
    if custom {
        return format!("{group}/{plural}");
    }
    match (group, plural) {
        ("", "nodes") => "minions".into(),
        ("", "services") => "services/specs".into(),
        ("", "replicationcontrollers") => "controllers".into(),
        ("", "endpoints") => "services/endpoints".into(),
        ("networking.k8s.io", "ingresses") => "ingress".into(),
        ("apiextensions.k8s.io", _) | ("apiregistration.k8s.io", _) => {
            format!("{group}/{plural}")
        }
        _ => plural.into(),
    }
}

/// The first layout of embedded stores (before 0.2) keyed every object
/// `/registry/<group or "core">/<resource>/...`; this names a built-in
/// resource's key in [`etcd_resource_path`]'s layout (custom resources'
/// keys are the same in both).
pub fn upstream_key_from_v1(key: &str) -> Option<String> {
    let rest = key.strip_prefix("/registry/")?;
    let mut parts = rest.splitn(3, '/');
    let (group, plural, tail) = (parts.next()?, parts.next()?, parts.next()?);
    let group = if group == "core" { "" } else { group };
    let builtin = crate::registry::kinds::RESOURCES.iter().any(|info| {
        let storage_group = info.stored_as.map_or(info.group, |(g, _, _)| g);
        storage_group == group && info.plural == plural
    });
    let new = format!(
        "/registry/{}/{tail}",
        etcd_resource_path(group, plural, false)
    );
    (builtin && new != key).then_some(new)
}

/// A group and its served versions, in discovery order.
#[derive(Debug, Clone)]
pub struct GroupVersions {
    pub name: String,
    pub versions: Vec<String>,
}

/// An OpenAPI v3 document supplied at run time for one group-version.
#[derive(Debug)]
pub struct V3Document {
    pub json: String,
    /// The hash in the `/openapi/v3` index and the `ETag`.
    pub hash: String,
    /// The same group-version's Swagger 2.0 definitions for `/openapi/v2`,
    /// as JSON text (its paths come from `json` when `/openapi/v2` is asked
    /// for); `None` leaves the group-version out of `/openapi/v2`.
    pub v2: Option<String>,
}

/// `/openapi/v2` with the run-time parts merged into the built-in document.
#[derive(Debug)]
pub struct MergedV2 {
    pub json: String,
    /// The upper-case hex SHA-512 of `json`: the `ETag` of both forms.
    pub hash: String,
    proto: std::sync::OnceLock<Result<Vec<u8>, String>>,
}

impl MergedV2 {
    /// The gnostic protobuf form (kubectl's), encoded on first use.
    pub fn protobuf(&self) -> Result<&[u8], &str> {
        match self
            .proto
            .get_or_init(|| crate::openapi::v2_proto::encode_document(&self.json))
        {
            Ok(b) => Ok(b),
            Err(e) => Err(e),
        }
    }
}

type ByName = HashMap<String, Arc<Resource>>;

/// What a change builds a new snapshot from.
type Parts = (Vec<Arc<Resource>>, BTreeMap<String, Arc<V3Document>>);

/// One immutable snapshot of everything served.
#[derive(Default)]
pub struct Served {
    /// Every resource: built-ins in their registration order, then the
    /// others by group (sorted) and version order.
    resources: Vec<Arc<Resource>>,
    /// group → version → plural.
    by_gvr: HashMap<String, HashMap<String, ByName>>,
    /// key (`apps/deployments`) → the storage version.
    by_key: ByName,
    /// group → kind → the storage version.
    by_group_kind: HashMap<String, ByName>,
    /// Named groups (not the core group) in discovery order.
    groups: Vec<GroupVersions>,
    /// Versions of the core group.
    core_versions: Vec<String>,
    /// Run-time OpenAPI v3 documents by path (`apis/<group>/<version>`).
    v3: BTreeMap<String, Arc<V3Document>>,
    /// `/openapi/v2` with the run-time parts, built on first request.
    v2: std::sync::OnceLock<Option<Arc<MergedV2>>>,
}

impl Served {
    fn build(
        resources: Vec<Arc<Resource>>,
        builtin_groups: &[String],
        v3: BTreeMap<String, Arc<V3Document>>,
    ) -> Served {
        let mut by_gvr: HashMap<String, HashMap<String, ByName>> = HashMap::new();
        let mut by_key = ByName::new();
        let mut by_group_kind: HashMap<String, ByName> = HashMap::new();
        let mut order: Vec<(String, Vec<String>)> = Vec::new();
        // group → its index in `order` (a linear search made a rebuild
        // O(resources × groups): quadratic with 1,000 CRDs of one group each).
        let mut order_index: HashMap<String, usize> = HashMap::new();
        for r in &resources {
            by_gvr
                .entry(r.group.clone())
                .or_default()
                .entry(r.version.clone())
                .or_default()
                .insert(r.plural.clone(), r.clone());
            if r.storage_version || !by_key.contains_key(r.key()) {
                by_key.insert(r.key.clone(), r.clone());
            }
            let kinds = by_group_kind.entry(r.group.clone()).or_default();
            if r.storage_version || !kinds.contains_key(&r.kind) {
                kinds.insert(r.kind.clone(), r.clone());
            }
            match order_index.get(&r.group).and_then(|&i| order.get_mut(i)) {
                Some((_, vs)) => {
                    if !vs.contains(&r.version) {
                        vs.push(r.version.clone());
                    }
                }
                None => {
                    order_index.insert(r.group.clone(), order.len());
                    order.push((r.group.clone(), vec![r.version.clone()]));
                }
            }
        }
        let mut core_versions = Vec::new();
        let mut builtin = Vec::new();
        let mut added = Vec::new();
        for (g, mut vs) in order {
            if g.is_empty() {
                core_versions = vs;
            } else if builtin_groups.contains(&g) {
                builtin.push(GroupVersions {
                    name: g,
                    versions: vs,
                });
            } else {
                vs.sort_by(|a, b| version_priority(b, a));
                added.push(GroupVersions {
                    name: g,
                    versions: vs,
                });
            }
        }
        added.sort_by(|a, b| a.name.cmp(&b.name));
        builtin.extend(added);
        Served {
            resources,
            by_gvr,
            by_key,
            by_group_kind,
            groups: builtin,
            core_versions,
            v3,
            v2: std::sync::OnceLock::new(),
        }
    }

    /// `/openapi/v2` with the custom resources' definitions and paths merged
    /// into the built-in document `builtin` (as upstream's aggregated v2
    /// spec lists every CRD), built on the first request to this snapshot.
    /// `None` when no run-time document has a v2 part.
    pub fn v2_document(&self, builtin: &str) -> Option<Arc<MergedV2>> {
        self.v2
            .get_or_init(|| {
                use serde_json::{Map, Value};
                let mut paths = Map::new();
                let mut definitions = Map::new();
                for d in self.v3.values() {
                    let Some(defs) = d.v2.as_deref() else {
                        continue;
                    };
                    if let Ok(Value::Object(m)) = serde_json::from_str(defs) {
                        definitions.extend(m);
                    }
                    // Only the paths are read (the meta schemas are skipped).
                    #[derive(serde::Deserialize)]
                    struct Paths {
                        paths: Value,
                    }
                    if let Ok(v3) = serde_json::from_str::<Paths>(&d.json) {
                        let v3 = serde_json::json!({"paths": v3.paths});
                        paths.extend(crate::apiextensions::openapi::v2_paths(&v3));
                    }
                }
                if paths.is_empty() && definitions.is_empty() {
                    return None;
                }
                // Parameters many operations share are written once, as
                // upstream's spec does (`#/parameters/<name>-<hash>`).
                let parameters = crate::apiextensions::openapi::v2_share_parameters(&mut paths);
                let mut doc: Value = serde_json::from_str(builtin).ok()?;
                if let Some(m) = doc.as_object_mut()
                    && !parameters.is_empty()
                {
                    let section = m
                        .entry("parameters")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(section) = section {
                        section.extend(parameters);
                        section.sort_keys();
                    }
                }
                for (section, part) in [("paths", paths), ("definitions", definitions)] {
                    let Some(Value::Object(target)) = doc.get_mut(section) else {
                        continue;
                    };
                    target.extend(part);
                    target.sort_keys();
                }
                let json = doc.to_string();
                let hash = crate::openapi::sha512_hex_upper(json.as_bytes());
                Some(Arc::new(MergedV2 {
                    json,
                    hash,
                    proto: std::sync::OnceLock::new(),
                }))
            })
            .clone()
    }

    /// Every served resource, in discovery order.
    pub fn resources(&self) -> &[Arc<Resource>] {
        &self.resources
    }

    /// By group, version and plural (the URL's resource).
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<Resource>> {
        self.by_gvr.get(group)?.get(version)?.get(plural)
    }

    /// By key (`"pods"`, `"apps/deployments"`): the storage version.
    pub fn by_key(&self, key: &str) -> Option<&Arc<Resource>> {
        self.by_key.get(key)
    }

    /// By group and kind: the storage version.
    pub fn by_group_kind(&self, group: &str, kind: &str) -> Option<&Arc<Resource>> {
        self.by_group_kind.get(group)?.get(kind)
    }

    /// The resources of one group-version, sorted by plural (as discovery lists them).
    pub fn group_version(&self, group: &str, version: &str) -> Vec<&Arc<Resource>> {
        let mut v: Vec<&Arc<Resource>> = self
            .by_gvr
            .get(group)
            .and_then(|vs| vs.get(version))
            .map(|m| m.values().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.plural.cmp(&b.plural));
        v
    }

    /// The named groups (not the core group) in discovery order.
    pub fn groups(&self) -> &[GroupVersions] {
        &self.groups
    }

    /// The versions served for a group (`""`: the core group), preferred first.
    pub fn versions(&self, group: &str) -> &[String] {
        if group.is_empty() {
            return &self.core_versions;
        }
        self.groups
            .iter()
            .find(|g| g.name == group)
            .map(|g| g.versions.as_slice())
            .unwrap_or(&[])
    }

    /// The resources of one group (every version), in no particular order.
    pub fn group_resources(&self, group: &str) -> impl Iterator<Item = &Arc<Resource>> {
        self.by_gvr
            .get(group)
            .into_iter()
            .flat_map(|vs| vs.values())
            .flat_map(|m| m.values())
    }

    /// The run-time OpenAPI v3 documents by path (`apis/<group>/<version>`).
    pub fn v3_documents(&self) -> &BTreeMap<String, Arc<V3Document>> {
        &self.v3
    }
}

/// Upstream's version priority (`apimachinery/pkg/version/helpers.go`
/// `CompareKubeAwareVersionStrings`): GA > beta > alpha, higher numbers
/// first, non-Kubernetes versions last, alphabetically.
pub fn version_priority(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    fn parse(v: &str) -> Option<(u64, u8, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: u64 = rest.get(..digits)?.parse().ok()?;
        let tail = rest.get(digits..)?;
        if tail.is_empty() {
            return Some((major, 2, 0));
        }
        let (stage, n) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        if n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some((major, stage, n.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((ma, sa, na)), Some((mb, sb, nb))) => sa.cmp(&sb).then(ma.cmp(&mb)).then(na.cmp(&nb)),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        // Non-Kubernetes versions: alphabetical, earlier is higher.
        (None, None) => b.cmp(a),
    }
}

/// The registry: the current [`Served`] snapshot and its change counter.
pub struct Registry {
    current: RwLock<Arc<Served>>,
    /// Named built-in groups, in their discovery order.
    builtin_groups: Vec<String>,
    generation: tokio::sync::watch::Sender<u64>,
    /// Serialises writers (read-modify-swap).
    write: std::sync::Mutex<()>,
}

impl Registry {
    /// A registry serving `builtin` (in discovery order).
    pub fn new(builtin: Vec<Resource>) -> Registry {
        let resources: Vec<Arc<Resource>> = builtin.into_iter().map(Arc::new).collect();
        let mut builtin_groups: Vec<String> = Vec::new();
        for r in &resources {
            if !r.group.is_empty() && !builtin_groups.contains(&r.group) {
                builtin_groups.push(r.group.clone());
            }
        }
        let served = Served::build(resources, &builtin_groups, BTreeMap::new());
        Registry {
            current: RwLock::new(Arc::new(served)),
            builtin_groups,
            generation: tokio::sync::watch::channel(0).0,
            write: std::sync::Mutex::new(()),
        }
    }

    /// The registry of the built-in kinds.
    pub fn builtin() -> Registry {
        Registry::new(
            super::resources::RESOURCES
                .iter()
                .map(Resource::builtin)
                .collect(),
        )
    }

    /// The current snapshot (cheap: a read lock and an `Arc` clone).
    pub fn snapshot(&self) -> Arc<Served> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// By group, version and plural.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.snapshot().find(group, version, plural).cloned()
    }

    /// By key (`"pods"`, `"apps/deployments"`).
    pub fn by_key(&self, key: &str) -> Option<Arc<Resource>> {
        self.snapshot().by_key(key).cloned()
    }

    /// By group and kind (the storage version).
    pub fn by_group_kind(&self, group: &str, kind: &str) -> Option<Arc<Resource>> {
        self.snapshot().by_group_kind(group, kind).cloned()
    }

    /// A receiver whose value is bumped on every change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// The change counter (0 until the first change).
    pub fn generation(&self) -> u64 {
        *self.generation.borrow()
    }

    fn update(&self, f: impl FnOnce(&Served) -> Result<Parts, String>) -> Result<(), String> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.snapshot();
        let (resources, v3) = f(old.as_ref())?;
        let served = Arc::new(Served::build(resources, &self.builtin_groups, v3));
        match self.current.write() {
            Ok(mut g) => *g = served,
            Err(poisoned) => *poisoned.into_inner() = served,
        }
        self.generation.send_modify(|g| *g += 1);
        Ok(())
    }

    /// Serves exactly `resources` for `source` (e.g. a CRD's name), replacing
    /// what it served before. Refused (nothing changes) if a resource's
    /// group/version/plural is served by another source, or `source` is the
    /// built-in one.
    pub fn set_source(&self, source: &str, resources: Vec<Resource>) -> Result<(), String> {
        if source == BUILTIN {
            return Err("the built-in resources cannot be replaced".into());
        }
        self.update(|old| {
            for r in &resources {
                if let Some(other) = old.find(&r.group, &r.version, &r.plural)
                    && other.source != source
                {
                    return Err(format!(
                        "{}/{} {} is already served by {}",
                        r.group,
                        r.version,
                        r.plural,
                        if other.source.is_empty() {
                            "the server"
                        } else {
                            other.source.as_str()
                        }
                    ));
                }
            }
            let mut list: Vec<Arc<Resource>> = old
                .resources
                .iter()
                .filter(|r| r.source != source)
                .cloned()
                .collect();
            list.extend(resources.into_iter().map(|mut r| {
                r.source = source.to_string();
                Arc::new(r)
            }));
            Ok((list, old.v3.clone()))
        })
    }

    /// [`Registry::set_source`] for many sources and [`Registry::remove_source`]
    /// for others, with ONE new snapshot (installing 1,000 CRDs one by one
    /// rebuilt the snapshot 1,000 times: quadratic). A source whose resources
    /// clash with another source's (already served, or earlier in `set`) is
    /// refused alone and keeps what it served; the refusals are returned as
    /// `(source, message)`. Nothing is rebuilt when nothing changes.
    pub fn set_sources(
        &self,
        set: Vec<(String, Vec<Resource>)>,
        remove: &[String],
    ) -> Vec<(String, String)> {
        let mut refused = Vec::new();
        let _ = self.update(|old| {
            let removed: std::collections::HashSet<&str> = remove
                .iter()
                .map(String::as_str)
                .filter(|s| *s != BUILTIN)
                .collect();
            // (group, version, plural) → the source serving it after the change.
            let mut claimed: HashMap<(&str, &str, &str), &str> = HashMap::new();
            let mut replaced: std::collections::HashSet<String> =
                removed.iter().map(|s| (*s).to_string()).collect();
            for (source, resources) in &set {
                if source == BUILTIN {
                    refused.push((
                        source.clone(),
                        "the built-in resources cannot be replaced".to_string(),
                    ));
                    continue;
                }
                let clash = resources.iter().find_map(|r| {
                    let key = (r.group.as_str(), r.version.as_str(), r.plural.as_str());
                    let other = match claimed.get(&key) {
                        Some(o) => Some(*o),
                        None => old
                            .find(&r.group, &r.version, &r.plural)
                            .map(|o| o.source.as_str())
                            .filter(|o| !removed.contains(o)),
                    };
                    other.filter(|o| *o != source.as_str()).map(|o| {
                        format!(
                            "{}/{} {} is already served by {}",
                            r.group,
                            r.version,
                            r.plural,
                            if o.is_empty() { "the server" } else { o }
                        )
                    })
                });
                match clash {
                    Some(m) => refused.push((source.clone(), m)),
                    None => {
                        for r in resources {
                            claimed.insert(
                                (r.group.as_str(), r.version.as_str(), r.plural.as_str()),
                                source.as_str(),
                            );
                        }
                        replaced.insert(source.clone());
                    }
                }
            }
            let refused_names: std::collections::HashSet<&str> =
                refused.iter().map(|(s, _)| s.as_str()).collect();
            let mut list: Vec<Arc<Resource>> = old
                .resources
                .iter()
                .filter(|r| !replaced.contains(r.source.as_str()))
                .cloned()
                .collect();
            let mut changed = list.len() != old.resources.len();
            for (source, resources) in set {
                if refused_names.contains(source.as_str()) {
                    continue;
                }
                changed = true;
                list.extend(resources.into_iter().map(|mut r| {
                    r.source = source.clone();
                    Arc::new(r)
                }));
            }
            if !changed {
                return Err(String::new());
            }
            Ok((list, old.v3.clone()))
        });
        refused
    }

    /// [`Registry::set_v3_document`] for many paths with one new snapshot.
    pub fn set_v3_documents(&self, docs: Vec<(String, Option<V3Document>)>) {
        if docs.is_empty() {
            return;
        }
        let _ = self.update(|old| {
            let mut v3 = old.v3.clone();
            for (path, doc) in docs {
                match doc {
                    Some(d) => v3.insert(path, Arc::new(d)),
                    None => v3.remove(&path),
                };
            }
            Ok((old.resources.clone(), v3))
        });
    }

    /// Stops serving what `source` served. False if it served nothing.
    pub fn remove_source(&self, source: &str) -> bool {
        if source == BUILTIN || !self.snapshot().resources.iter().any(|r| r.source == source) {
            return false;
        }
        let mut removed = false;
        let _ = self.update(|old| {
            let list: Vec<Arc<Resource>> = old
                .resources
                .iter()
                .filter(|r| r.source != source)
                .cloned()
                .collect();
            removed = list.len() != old.resources.len();
            Ok((list, old.v3.clone()))
        });
        removed
    }

    /// Sets (or with `None` removes) the OpenAPI v3 document served at
    /// `/openapi/v3/<path>` (e.g. `apis/stable.example.com/v1`). Built-in
    /// group-versions keep their embedded documents.
    pub fn set_v3_document(&self, path: &str, doc: Option<V3Document>) {
        let _ = self.update(|old| {
            let mut v3 = old.v3.clone();
            match doc {
                Some(d) => v3.insert(path.to_string(), Arc::new(d)),
                None => v3.remove(path),
            };
            Ok((old.resources.clone(), v3))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(group: &str, version: &str, plural: &str, kind: &str, storage: bool) -> Resource {
        Resource::new(
            "ignored",
            ResourceSpec {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                plural: plural.into(),
                singular: kind.to_lowercase(),
                namespaced: true,
                short_names: vec![],
                categories: vec![],
                verbs: vec!["get".into(), "list".into()],
                subresources: vec![],
                storage_version: storage,
                storage_gvk: None,
                stored: true,
                strategy: std::sync::Arc::new(crate::registry::kind::Unstructured),
                custom: None,
            },
        )
    }

    #[test]
    fn builtin_keys_follow_upstreams_etcd_layout() {
        let reg = Registry::builtin();
        let s = reg.snapshot();
        let prefix = |k: &str| s.by_key(k).unwrap().storage_prefix().to_string();
        // As read from a kube-apiserver 1.36 etcd (`etcdctl get --prefix --keys-only`).
        assert_eq!(prefix("nodes"), "/registry/minions/");
        assert_eq!(prefix("services"), "/registry/services/specs/");
        assert_eq!(prefix("endpoints"), "/registry/services/endpoints/");
        assert_eq!(prefix("replicationcontrollers"), "/registry/controllers/");
        assert_eq!(prefix("batch/jobs"), "/registry/jobs/");
        assert_eq!(
            prefix("scheduling.k8s.io/priorityclasses"),
            "/registry/priorityclasses/"
        );
        // Both served versions of an HPA read and write the same keys; the
        // v2 one is the storage version.
        let hpa = s.by_key("autoscaling/horizontalpodautoscalers").unwrap();
        assert_eq!(hpa.version, "v2");
        assert_eq!(
            s.find("autoscaling", "v1", "horizontalpodautoscalers")
                .unwrap()
                .storage_prefix(),
            "/registry/horizontalpodautoscalers/"
        );
        assert_eq!(s.versions("autoscaling"), ["v2", "v1"]);
        assert_eq!(prefix("pods"), "/registry/pods/");
        assert_eq!(prefix("apps/deployments"), "/registry/deployments/");
        assert_eq!(
            prefix("rbac.authorization.k8s.io/clusterroles"),
            "/registry/clusterroles/"
        );
        assert_eq!(
            prefix("apiextensions.k8s.io/customresourcedefinitions"),
            "/registry/apiextensions.k8s.io/customresourcedefinitions/"
        );
        assert_eq!(
            etcd_resource_path("ex.com", "widgets", true),
            "ex.com/widgets"
        );
        // No two stored resources share keys, and none holds another's.
        let mut seen: Vec<(String, String)> = Vec::new();
        for r in s
            .resources()
            .iter()
            .filter(|r| r.storage_version_hash().is_some())
        {
            let p = r.storage_prefix().to_string();
            let gk = format!("{}/{}", r.storage_gvk.0, r.storage_gvk.2);
            for (q, other) in &seen {
                if other != &gk {
                    assert!(
                        !p.starts_with(q.as_str()) && !q.starts_with(p.as_str()),
                        "{p} {q}"
                    );
                }
            }
            seen.push((p, gk));
        }
    }

    #[test]
    fn first_layout_keys_move_to_upstreams() {
        let m = |k: &str| upstream_key_from_v1(k);
        assert_eq!(
            m("/registry/core/nodes/n1").as_deref(),
            Some("/registry/minions/n1")
        );
        assert_eq!(
            m("/registry/apps/deployments/default/web").as_deref(),
            Some("/registry/deployments/default/web")
        );
        assert_eq!(
            m("/registry/core/services/default/k").as_deref(),
            Some("/registry/services/specs/default/k")
        );
        assert_eq!(
            m("/registry/apiextensions.k8s.io/customresourcedefinitions/w.ex.com"),
            None
        );
        assert_eq!(m("/registry/ex.com/widgets/default/w1"), None);
        assert_eq!(
            m("/registry/core/events/d/e").as_deref(),
            Some("/registry/events/d/e")
        );
    }

    #[test]
    fn builtin_lookups() {
        let reg = Registry::builtin();
        let s = reg.snapshot();
        let d = s.find("apps", "v1", "deployments").unwrap();
        assert_eq!(d.key(), "apps/deployments");
        assert_eq!(d.api_version(), "apps/v1");
        assert_eq!(
            d.storage_key(Some("default"), "web"),
            "/registry/deployments/default/web"
        );
        assert_eq!(s.by_key("pods").unwrap().kind, "Pod");
        assert_eq!(
            s.by_group_kind("apps", "ReplicaSet").unwrap().plural,
            "replicasets"
        );
        let ev = s.by_key("events.k8s.io/events").unwrap();
        assert_eq!(ev.storage_key(Some("d"), "e"), "/registry/events/d/e");
        assert!(ev.converts());
        assert!(!s.by_key("events").unwrap().converts());
        let groups: Vec<&str> = s.groups().iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            groups,
            [
                "apps",
                "events.k8s.io",
                "authentication.k8s.io",
                "authorization.k8s.io",
                "autoscaling",
                "batch",
                "policy",
                "rbac.authorization.k8s.io",
                "apiextensions.k8s.io",
                "scheduling.k8s.io",
                "coordination.k8s.io"
            ]
        );
        assert_eq!(s.versions(""), ["v1"]);
    }

    #[test]
    fn sources_come_and_go() {
        let reg = Registry::builtin();
        let mut rx = reg.subscribe();
        let held = reg.by_key("pods").unwrap();
        reg.set_source(
            "foos.b.example.com",
            vec![
                custom("b.example.com", "v1beta1", "foos", "Foo", false),
                custom("b.example.com", "v1", "foos", "Foo", true),
            ],
        )
        .unwrap();
        reg.set_source(
            "bars.a.example.com",
            vec![custom("a.example.com", "v1", "bars", "Bar", true)],
        )
        .unwrap();
        assert!(rx.has_changed().unwrap());
        rx.mark_unchanged();
        let s = reg.snapshot();
        let groups: Vec<&str> = s.groups().iter().map(|g| g.name.as_str()).collect();
        assert_eq!(groups[11..], ["a.example.com", "b.example.com"]);
        assert_eq!(s.versions("b.example.com"), ["v1", "v1beta1"]);
        assert_eq!(s.by_key("b.example.com/foos").unwrap().version, "v1");
        assert_eq!(
            s.find("b.example.com", "v1beta1", "foos").unwrap().source,
            "foos.b.example.com"
        );
        // Another source may not take a served resource; nothing changes.
        assert!(
            reg.set_source(
                "x",
                vec![custom("a.example.com", "v1", "bars", "Bar", true)]
            )
            .is_err()
        );
        assert!(reg.set_source(BUILTIN, vec![]).is_err());
        assert!(!rx.has_changed().unwrap());
        // Replacing a source drops what it no longer serves.
        reg.set_source(
            "foos.b.example.com",
            vec![custom("b.example.com", "v2", "foos", "Foo", true)],
        )
        .unwrap();
        let s = reg.snapshot();
        assert!(s.find("b.example.com", "v1", "foos").is_none());
        assert_eq!(s.versions("b.example.com"), ["v2"]);
        assert!(reg.remove_source("bars.a.example.com"));
        assert!(!reg.remove_source("bars.a.example.com"));
        assert!(reg.find("a.example.com", "v1", "bars").is_none());
        // The old snapshot and held resources stay usable.
        assert_eq!(held.plural, "pods");
        assert_eq!(reg.generation(), 4);
        reg.set_v3_document(
            "apis/b.example.com/v2",
            Some(V3Document {
                json: "{}".into(),
                hash: "H".into(),
                v2: None,
            }),
        );
        assert_eq!(
            reg.snapshot().v3_documents()["apis/b.example.com/v2"].hash,
            "H"
        );
    }

    #[test]
    fn many_sources_in_one_change() {
        let reg = Registry::builtin();
        reg.set_source(
            "old.a.example.com",
            vec![custom("a.example.com", "v1", "olds", "Old", true)],
        )
        .unwrap();
        let before = reg.generation();
        let refused = reg.set_sources(
            vec![
                (
                    "foos.b.example.com".into(),
                    vec![custom("b.example.com", "v1", "foos", "Foo", true)],
                ),
                // Takes what another source of this batch took: refused alone.
                (
                    "dup".into(),
                    vec![custom("b.example.com", "v1", "foos", "Foo", true)],
                ),
                // Takes a built-in resource: refused alone.
                ("pods".into(), vec![custom("", "v1", "pods", "Pod", true)]),
                (
                    "bars.c.example.com".into(),
                    vec![custom("c.example.com", "v1", "bars", "Bar", true)],
                ),
                (BUILTIN.into(), vec![]),
            ],
            &["old.a.example.com".to_string()],
        );
        let names: Vec<&str> = refused.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, ["dup", "pods", BUILTIN]);
        assert_eq!(
            refused[0].1,
            "b.example.com/v1 foos is already served by foos.b.example.com"
        );
        assert_eq!(refused[1].1, "/v1 pods is already served by the server");
        // One new snapshot for the whole batch.
        assert_eq!(reg.generation(), before + 1);
        let s = reg.snapshot();
        assert!(s.find("a.example.com", "v1", "olds").is_none());
        assert_eq!(
            s.find("b.example.com", "v1", "foos").unwrap().source,
            "foos.b.example.com"
        );
        assert_eq!(s.group_resources("c.example.com").count(), 1);
        assert_eq!(s.group_resources("a.example.com").count(), 0);
        let groups: Vec<&str> = s.groups().iter().map(|g| g.name.as_str()).collect();
        assert_eq!(groups[11..], ["b.example.com", "c.example.com"]);
        // A source freed in the same change may be taken by another.
        assert!(
            reg.set_sources(
                vec![(
                    "other".into(),
                    vec![custom("c.example.com", "v1", "bars", "Bar", true)]
                )],
                &["bars.c.example.com".to_string()],
            )
            .is_empty()
        );
        assert_eq!(
            reg.find("c.example.com", "v1", "bars").unwrap().source,
            "other"
        );
        // Nothing to do: no new snapshot.
        let g = reg.generation();
        assert!(reg.set_sources(vec![], &["nothing".to_string()]).is_empty());
        assert_eq!(reg.generation(), g);
        reg.set_v3_documents(vec![
            (
                "apis/c.example.com/v1".into(),
                Some(V3Document {
                    json: "{}".into(),
                    hash: "C".into(),
                    v2: None,
                }),
            ),
            (
                "apis/b.example.com/v1".into(),
                Some(V3Document {
                    json: "{}".into(),
                    hash: "B".into(),
                    v2: None,
                }),
            ),
        ]);
        assert_eq!(reg.generation(), g + 1);
        reg.set_v3_documents(vec![("apis/b.example.com/v1".into(), None)]);
        let s = reg.snapshot();
        let docs: Vec<&String> = s.v3_documents().keys().collect();
        assert_eq!(docs, ["apis/c.example.com/v1"]);
    }

    #[test]
    fn openapi_v2_merges_the_run_time_parts_once_per_snapshot() {
        let reg = Registry::builtin();
        let builtin = r#"{"swagger":"2.0","paths":{"/b":{},"/d":{}},"definitions":{"b.B":{}}}"#;
        assert!(reg.snapshot().v2_document(builtin).is_none());
        reg.set_v3_documents(vec![(
            "apis/c.example.com/v1".into(),
            Some(V3Document {
                hash: "C".into(),
                json: r##"{"paths":{"/c":{"get":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/a.A"}}}}}}}}"##.into(),
                v2: Some(r#"{"a.A":{}}"#.into()),
            }),
        )]);
        let s = reg.snapshot();
        let merged = s.v2_document(builtin).expect("merged");
        assert_eq!(
            merged.json,
            r##"{"swagger":"2.0","paths":{"/b":{},"/c":{"get":{"consumes":["application/json","application/yaml"],"produces":["application/json","application/yaml"],"schemes":["https"],"parameters":[{"name":"body","in":"body","schema":{"$ref":"#/definitions/a.A"}}]}},"/d":{}},"definitions":{"a.A":{},"b.B":{}}}"##
        );
        assert_eq!(
            merged.hash,
            crate::openapi::sha512_hex_upper(merged.json.as_bytes())
        );
        assert!(Arc::ptr_eq(
            &merged,
            &s.v2_document(builtin).expect("cached")
        ));
        reg.set_v3_documents(vec![("apis/c.example.com/v1".into(), None)]);
        assert!(reg.snapshot().v2_document(builtin).is_none());
    }

    #[test]
    fn kube_aware_version_order() {
        let mut v = vec![
            "v1alpha1",
            "foo",
            "v2",
            "v1beta2",
            "v1",
            "v11alpha2",
            "v1beta1",
            "bar",
            "v10",
        ];
        v.sort_by(|a, b| version_priority(b, a));
        assert_eq!(
            v,
            [
                "v10",
                "v2",
                "v1",
                "v1beta2",
                "v1beta1",
                "v11alpha2",
                "v1alpha1",
                "bar",
                "foo"
            ]
        );
    }
}
