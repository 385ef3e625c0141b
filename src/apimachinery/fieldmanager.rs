//! Server-side apply and `metadata.managedFields` bookkeeping.
//!
//! A Rust rendering of upstream's field manager
//! (`k8s.io/apimachinery/pkg/util/managedfields/internal`: `fieldmanager.go`,
//! `structuredmerge.go`, `managedfieldsupdater.go`, `skipnonapplied.go`,
//! `capmanagers.go`, `stripmeta.go`, `conflict.go`, `versioncheck.go`,
//! `lastappliedupdater.go`) on top of the structured-merge-diff algorithms
//! (`fieldpath` sets and their FieldsV1 encoding, `typed/merge.go`,
//! `typed/remove.go`, `typed/compare.go`, `typed/tofieldset.go`,
//! `merge/update.go`). Objects are raw JSON; the schema comes through
//! [`PatchSchema`].

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::apimachinery::patch_schema::PatchSchema;

// ---------------------------------------------------------------------------
// Path elements and paths (fieldpath/element.go, fieldpath/path.go)
// ---------------------------------------------------------------------------

/// One step of a field path.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A struct field or map key (`f:`).
    Field(String),
    /// An associative-list item identified by its key fields, sorted by name (`k:`).
    Key(Vec<(String, Value)>),
    /// A set item identified by its value (`v:`).
    Value(Value),
    /// A list item identified by its index (`i:`).
    Index(i64),
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Number(n) if n.is_f64() => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

/// Total order on values as structured-merge-diff's `value.Compare`
/// (floats, ints, strings, bools, lists, maps, null; numbers compare numerically).
fn cmp_value(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => {
                let (fx, fy) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
                fx.partial_cmp(&fy).unwrap_or(Ordering::Equal)
            }
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (i, j) in x.iter().zip(y.iter()) {
                let c = cmp_value(i, j);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xs: Vec<_> = x.iter().collect();
            let mut ys: Vec<_> = y.iter().collect();
            xs.sort_by(|p, q| p.0.cmp(q.0));
            ys.sort_by(|p, q| p.0.cmp(q.0));
            for ((kx, vx), (ky, vy)) in xs.iter().zip(ys.iter()) {
                let c = kx.cmp(ky).then_with(|| cmp_value(vx, vy));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xs.len().cmp(&ys.len())
        }
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => rank(a).cmp(&rank(b)),
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        use PathElement::*;
        match (self, other) {
            (Field(a), Field(b)) => a.cmp(b),
            (Field(_), _) => Ordering::Less,
            (_, Field(_)) => Ordering::Greater,
            (Key(a), Key(b)) => {
                for ((na, va), (nb, vb)) in a.iter().zip(b.iter()) {
                    let c = na.cmp(nb).then_with(|| cmp_value(va, vb));
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                a.len().cmp(&b.len())
            }
            (Key(_), _) => Ordering::Less,
            (_, Key(_)) => Ordering::Greater,
            (Value(a), Value(b)) => cmp_value(a, b),
            (Value(_), _) => Ordering::Less,
            (_, Value(_)) => Ordering::Greater,
            (Index(a), Index(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

/// Go's `%q` for a string, close enough for API field values.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// structured-merge-diff's `value.ToString`.
fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(value_to_string).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}={}",
                        k,
                        m.get(*k).map(value_to_string).unwrap_or_default()
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(";"))
        }
        other => other.to_string(),
    }
}

impl std::fmt::Display for PathElement {
    /// `PathElement.String()`: `.name`, `[k=v,...]`, `[=v]`, `[i]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathElement::Field(n) => write!(f, ".{n}"),
            PathElement::Key(kv) => {
                let parts: Vec<String> = kv
                    .iter()
                    .map(|(k, v)| format!("{k}={}", value_to_string(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// The FieldsV1 key of a path element (`fieldpath/serialize-pe.go`).
fn pe_key(pe: &PathElement) -> String {
    match pe {
        PathElement::Field(n) => format!("f:{n}"),
        PathElement::Key(kv) => {
            let mut m = Map::new();
            for (k, v) in kv {
                m.insert(k.clone(), v.clone());
            }
            format!("k:{}", Value::Object(m))
        }
        PathElement::Value(v) => format!("v:{v}"),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

fn parse_pe_key(s: &str) -> Result<PathElement, String> {
    let err = || format!("unknown path element type: {s:?}");
    let (prefix, rest) = s.split_once(':').ok_or_else(err)?;
    match prefix {
        "f" => Ok(PathElement::Field(rest.to_string())),
        "k" => {
            let v: Value = serde_json::from_str(rest).map_err(|e| e.to_string())?;
            let Value::Object(m) = v else {
                return Err(format!("expected key value pairs but got {rest}"));
            };
            let mut kv: Vec<(String, Value)> = m.into_iter().collect();
            kv.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(kv))
        }
        "v" => serde_json::from_str(rest)
            .map(PathElement::Value)
            .map_err(|e| e.to_string()),
        "i" => rest
            .parse::<i64>()
            .map(PathElement::Index)
            .map_err(|e| e.to_string()),
        _ => Err(err()),
    }
}

// ---------------------------------------------------------------------------
// FieldSet (fieldpath/set.go, fieldpath/serialize.go)
// ---------------------------------------------------------------------------

/// A set of field paths, stored as a trie: `members` are paths ending here,
/// `children` hold the longer paths. Serialises to the FieldsV1 JSON form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds one path (an empty path is ignored).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            // Only a new child clones its path element (inserting every
            // leaf of an object walks the same prefixes over and over).
            [first, rest @ ..] => match self.children.get_mut(first) {
                Some(c) => c.insert(rest),
                None => {
                    let mut c = FieldSet::new();
                    c.insert(rest);
                    self.children.insert(first.clone(), c);
                }
            },
        }
    }

    /// Whether the set holds exactly this path.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe).filter(|c| !c.is_empty())
    }

    fn prune_empty(mut self) -> Self {
        self.children.retain(|_, c| !c.is_empty());
        self
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, c) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(c),
                None => c.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out.prune_empty()
    }

    /// Paths in either set, consuming both (no copy of either trie).
    pub fn union_owned(mut self, other: FieldSet) -> FieldSet {
        if self.is_empty() {
            return other.prune_empty();
        }
        self.members.extend(other.members);
        for (pe, c) in other.children {
            match self.children.remove(&pe) {
                Some(mine) => {
                    self.children.insert(pe, mine.union_owned(c));
                }
                None => {
                    self.children.insert(pe, c);
                }
            }
        }
        self.prune_empty()
    }

    /// In place: `*self = self.difference(other)`.
    pub fn subtract(&mut self, other: &FieldSet) {
        if !other.members.is_empty() {
            self.members.retain(|m| !other.members.contains(m));
        }
        self.children.retain(|pe, c| {
            if let Some(o) = other.children.get(pe) {
                c.subtract(o);
            }
            !c.is_empty()
        });
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (pe, c) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let i = c.intersection(o);
                if !i.is_empty() {
                    out.children.insert(pe.clone(), i);
                }
            }
        }
        out
    }

    /// Paths in `self` but not in `other` (non-recursive: removing a member
    /// keeps its children, as upstream's `Set.Difference`).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, c) in &self.children {
            let d = match other.children.get(pe) {
                Some(o) => c.difference(o),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(pe.clone(), d);
            }
        }
        out
    }

    /// All paths: members first, then children, each in path-element order
    /// (upstream's `Set.Iterate`).
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, c) in &self.children {
            prefix.push(pe.clone());
            c.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Parses the `fieldsV1` JSON form.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        let Value::Object(m) = v else {
            return Err(format!("expected an object, got {v}"));
        };
        let mut out = FieldSet::new();
        for (k, child) in m {
            if k == "." {
                continue;
            }
            let pe = parse_pe_key(k)?;
            let Value::Object(cm) = child else {
                return Err(format!("expected an object for {k:?}, got {child}"));
            };
            if cm.is_empty() || cm.contains_key(".") {
                out.members.insert(pe.clone());
            }
            let sub = FieldSet::from_fields_v1(child)?;
            if !sub.is_empty() {
                out.children.insert(pe, sub);
            }
        }
        Ok(out)
    }

    /// The `fieldsV1` JSON form (keys in upstream's order, `"."` first).
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        let children: Vec<(&PathElement, &FieldSet)> = self
            .children
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .collect();
        if include_self && !(self.members.is_empty() && children.is_empty()) {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        let mut keys: BTreeSet<&PathElement> = self.members.iter().collect();
        keys.extend(children.iter().map(|(pe, _)| *pe));
        for pe in keys {
            let member = self.members.contains(pe);
            let body = match self.children.get(pe).filter(|c| !c.is_empty()) {
                Some(c) => c.emit(member),
                None => Map::new(),
            };
            out.insert(pe_key(pe), Value::Object(body));
        }
        out
    }
}

/// The top-level fields upstream never tracks (`stripmeta.go`), built once.
fn strip_set() -> &'static FieldSet {
    static SET: std::sync::OnceLock<FieldSet> = std::sync::OnceLock::new();
    SET.get_or_init(build_strip_set)
}

fn build_strip_set() -> FieldSet {
    let mut s = FieldSet::new();
    let f = |n: &str| PathElement::Field(n.to_string());
    s.insert(&[f("apiVersion")]);
    s.insert(&[f("kind")]);
    s.insert(&[f("metadata")]);
    for n in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        s.insert(&[f("metadata"), f(n)]);
    }
    s
}

// ---------------------------------------------------------------------------
// Schema view (kube-openapi schemaconv: how extensions become SMD types)
// ---------------------------------------------------------------------------

/// How a list's items are identified.
#[derive(Clone, Debug, PartialEq)]
enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// Associative without keys: items are scalars identified by value.
    Set,
    /// Associative with keys.
    Map(Vec<String>),
}

/// `x-kubernetes-list-type` first; otherwise `x-kubernetes-patch-strategy`
/// `merge` makes an associative list keyed by the patch merge key (a set
/// without one); anything else is atomic (schemaconv `getListElementRelationship`).
/// A merge key without any strategy is also taken as a key.
fn list_kind<S: PatchSchema>(s: Option<&S>) -> ListKind {
    let Some(s) = s else {
        return ListKind::Atomic;
    };
    match s.list_type() {
        Some("set") => return ListKind::Set,
        Some("map") => {
            let keys = s.list_map_keys();
            return if keys.is_empty() {
                ListKind::Set
            } else {
                ListKind::Map(keys.to_vec())
            };
        }
        Some(_) => return ListKind::Atomic,
        None => {}
    }
    let key = s.patch_merge_key().map(str::to_string);
    match s.patch_strategy() {
        Some("merge") | Some("merge,retainKeys") => match key {
            Some(k) => ListKind::Map(vec![k]),
            None => ListKind::Set,
        },
        None => match key {
            Some(k) => ListKind::Map(vec![k]),
            None => ListKind::Atomic,
        },
        Some(_) => ListKind::Atomic,
    }
}

/// The schema of key `key` of an object at `s`, and whether it is a
/// declared struct field (as opposed to a map entry or an unknown field).
fn field_of<S: PatchSchema>(s: Option<&S>, key: &str) -> (Option<S>, bool) {
    let Some(s) = s else {
        return (None, false);
    };
    if let Some(v) = s.map_values() {
        return (Some(v), false);
    }
    match s.field(key) {
        Some(f) => (Some(f), true),
        None => (None, false),
    }
}

fn is_struct<S: PatchSchema>(s: Option<&S>) -> bool {
    s.is_some_and(|s| s.map_values().is_none())
}

/// A map or struct with `x-kubernetes-map-type: atomic`: one leaf, like an
/// atomic list.
fn is_atomic_map<S: PatchSchema>(s: Option<&S>) -> bool {
    s.is_some_and(|s| s.map_type() == Some("atomic"))
}

/// Whether field `name` of a struct is present in the Go zero value of its
/// kind. Upstream diffs against a zero Go object on create and compares Go
/// objects on update, so such a field is never itself "added" or "removed"
/// (no `.` entry for it in managedFields) — only its contents are. Present
/// are fields without `omitempty` (the schema's `required`) and non-pointer
/// struct fields. The schema does not say which struct fields are pointers,
/// so the non-pointer ones of the served kinds are listed here, from their Go
/// types (k8s.io/api): every top-level `metadata`/`spec`/`status`, the pod
/// `template`, DeploymentSpec.strategy, ServiceStatus.loadBalancer,
/// NodeStatus.daemonEndpoints/nodeInfo, Event.involvedObject/source,
/// Container.resources, and ObjectMeta.creationTimestamp (a metav1.Time,
/// null when zero). Pointer structs (e.g. `rollingUpdate`, `affinity`,
/// `securityContext`) are absent from the zero value.
fn present_in_zero_value<S: PatchSchema>(parent: Option<&S>, name: &str) -> bool {
    const NON_POINTER_STRUCTS: &[&str] = &[
        "metadata",
        "spec",
        "status",
        "template",
        "strategy",
        "loadBalancer",
        "daemonEndpoints",
        "kubeletEndpoint",
        "nodeInfo",
        "involvedObject",
        "source",
        "resources",
        "creationTimestamp",
    ];
    NON_POINTER_STRUCTS.contains(&name) || parent.is_some_and(|p| p.is_required(name))
}

fn items_of<S: PatchSchema>(s: Option<&S>) -> Option<S> {
    s.and_then(PatchSchema::items)
}

/// Defaults of list-map key fields: upstream reads them from the OpenAPI
/// `default` of the key property (e.g. `protocol: TCP` on container and
/// service ports); the [`PatchSchema`] trait carries no defaults, so the one
/// built-in case is known here.
fn key_default(key: &str) -> Option<Value> {
    (key == "protocol").then(|| Value::String("TCP".to_string()))
}

/// `listItemToPathElement` (typed/helpers.go).
fn item_pe(kind: &ListKind, item: &Value) -> Result<PathElement, String> {
    match kind {
        ListKind::Map(keys) => {
            let Value::Object(m) = item else {
                return Err(if item.is_null() {
                    "associative list with keys may not have a null element".to_string()
                } else {
                    "associative list with keys may not have non-map elements".to_string()
                });
            };
            let mut kv = Vec::new();
            for k in keys {
                match m.get(k).cloned().or_else(|| key_default(k)) {
                    Some(v) => kv.push((k.clone(), v)),
                    None => {
                        return Err(format!(
                            "associative list with keys has an element that omits key field {} (and doesn't have default value)",
                            go_quote(k)
                        ));
                    }
                }
            }
            kv.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(PathElement::Key(kv))
        }
        _ => match item {
            Value::Object(_) => {
                Err("associative list without keys has an element that's a map type".to_string())
            }
            Value::Array(_) => {
                Err("associative list without keys has an element that's a list type".to_string())
            }
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

/// Checks that every associative-list item has a path element and, unless
/// `allow_duplicates`, that no two items share one (typed validation).
fn validate<S: PatchSchema>(
    v: &Value,
    s: Option<&S>,
    path: &mut Vec<PathElement>,
    allow_duplicates: bool,
) -> Result<(), String> {
    match v {
        Value::Object(_) if is_atomic_map(s) => {}
        Value::Object(m) => {
            for (k, child) in m {
                let (cs, _) = field_of(s, k);
                path.push(PathElement::Field(k.clone()));
                validate(child, cs.as_ref(), path, allow_duplicates)?;
                path.pop();
            }
        }
        Value::Array(items) => {
            let kind = list_kind(s);
            if kind == ListKind::Atomic {
                return Ok(());
            }
            let is = items_of(s);
            let mut seen: BTreeSet<PathElement> = BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let pe = item_pe(&kind, item)
                    .map_err(|e| format!("{}: element {i}: {e}", path_string(path)))?;
                if seen.contains(&pe) && !allow_duplicates {
                    return Err(format!(
                        "{}: duplicate entries for key {}",
                        path_string(path),
                        match &pe {
                            PathElement::Value(v) => format!("[={}]", value_to_string(v)),
                            other => other.to_string(),
                        }
                    ));
                }
                path.push(pe.clone());
                validate(item, is.as_ref(), path, allow_duplicates)?;
                path.pop();
                seen.insert(pe);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Server-side apply's typed conversion of the applied configuration
/// (structured-merge-diff `typed/validate.go`, `visitMapItems`): the fields
/// the schema does not declare, as `.spec.bogus: field not declared in
/// schema`. Upstream stops reading a map at its first undeclared field and
/// goes on with the other maps; it walks Go maps in random order, this walk
/// goes in the body's order. Lists are read item by item (an item's path
/// is its key, as in managedFields); an item without its keys is left to
/// the merge, which reports it.
pub fn undeclared_fields<S: PatchSchema>(applied: &Value, schema: Option<&S>) -> Vec<String> {
    let mut out = Vec::new();
    undeclared_into(applied, schema, &mut Vec::new(), &mut out, 0);
    out
}

/// The 500 message upstream gives for [`undeclared_fields`] (`errors:` and
/// one line each when there are several).
pub fn undeclared_message(errors: &[String]) -> String {
    match errors {
        [one] => one.clone(),
        many => {
            let mut s = "errors:".to_string();
            for e in many {
                s.push_str("\n  ");
                s.push_str(e);
            }
            s
        }
    }
}

fn undeclared_into<S: PatchSchema>(
    v: &Value,
    s: Option<&S>,
    path: &mut Vec<PathElement>,
    out: &mut Vec<String>,
    depth: usize,
) {
    use crate::apimachinery::patch_schema::Declared;
    let Some(s) = s else { return };
    if depth > 512 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                path.push(PathElement::Field(k.clone()));
                match s.declared_field(k) {
                    Declared::Schema(cs) => undeclared_into(child, Some(&cs), path, out, depth + 1),
                    Declared::Untyped => {}
                    Declared::Undeclared => {
                        out.push(format!(
                            "{}: field not declared in schema",
                            path_string(path)
                        ));
                        path.pop();
                        break;
                    }
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let Some(is) = s.items() else { return };
            let kind = list_kind(Some(s));
            for (i, item) in items.iter().enumerate() {
                let pe = match &kind {
                    ListKind::Atomic => PathElement::Index(i as i64),
                    k => match item_pe(k, item) {
                        Ok(pe) => pe,
                        Err(_) => return,
                    },
                };
                path.push(pe);
                undeclared_into(item, Some(&is), path, out, depth + 1);
                path.pop();
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// ToFieldSet (typed/tofieldset.go)
// ---------------------------------------------------------------------------

fn to_field_set<S: PatchSchema>(v: &Value, s: Option<&S>) -> FieldSet {
    let mut out = FieldSet::new();
    to_field_set_into(v, s, &mut Vec::new(), &mut out);
    out
}

fn to_field_set_into<S: PatchSchema>(
    v: &Value,
    s: Option<&S>,
    path: &mut Vec<PathElement>,
    out: &mut FieldSet,
) {
    match v {
        Value::Object(_) if is_atomic_map(s) => out.insert(path),
        Value::Object(m) => {
            for (k, child) in m {
                let (cs, named) = field_of(s, k);
                path.push(PathElement::Field(k.clone()));
                to_field_set_into(child, cs.as_ref(), path, out);
                let empty_map = matches!(child, Value::Object(cm) if cm.is_empty());
                if child.is_null() || empty_map || !named {
                    out.insert(path);
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            let kind = list_kind(s);
            if kind == ListKind::Atomic {
                out.insert(path);
                return;
            }
            let is = items_of(s);
            for item in items {
                let Ok(pe) = item_pe(&kind, item) else {
                    continue;
                };
                path.push(pe);
                to_field_set_into(item, is.as_ref(), path, out);
                out.insert(path);
                path.pop();
            }
        }
        _ => out.insert(path),
    }
}

/// `Set.EnsureNamedFieldsAreMembers`: declared struct fields that only have
/// children become members too.
fn ensure_named_fields_are_members<S: PatchSchema>(set: &FieldSet, s: Option<&S>) -> FieldSet {
    let mut out = FieldSet::new();
    out.members = set.members.clone();
    for (pe, c) in &set.children {
        let cs = match pe {
            PathElement::Field(n) => {
                let (cs, named) = field_of(s, n);
                if named && is_struct(s) {
                    out.members.insert(pe.clone());
                }
                cs
            }
            _ => items_of(s),
        };
        let sub = ensure_named_fields_are_members(c, cs.as_ref());
        if !sub.is_empty() {
            out.children.insert(pe.clone(), sub);
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Merge (typed/merge.go), with the right-hand side winning
// ---------------------------------------------------------------------------

fn merge<S: PatchSchema>(lhs: &Value, rhs: &Value, s: Option<&S>) -> Value {
    match (lhs, rhs) {
        (Value::Object(_), Value::Object(_)) if is_atomic_map(s) => rhs.clone(),
        (Value::Object(l), Value::Object(r)) => {
            let mut out = Map::new();
            for (k, lv) in l {
                let merged = match r.get(k) {
                    Some(rv) => {
                        let (cs, _) = field_of(s, k);
                        merge(lv, rv, cs.as_ref())
                    }
                    None => lv.clone(),
                };
                if !merged.is_null() {
                    out.insert(k.clone(), merged);
                }
            }
            for (k, rv) in r {
                if !l.contains_key(k) && !rv.is_null() {
                    out.insert(k.clone(), rv.clone());
                }
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(r)) => {
            let kind = list_kind(s);
            if kind == ListKind::Atomic {
                return rhs.clone();
            }
            Value::Array(merge_list(l, r, &kind, items_of(s).as_ref()))
        }
        _ => rhs.clone(),
    }
}

/// Associative-list merge keeping upstream's ordering rules (`visitListItems`
/// in typed/merge.go): live order, with items shared with the applied list
/// following the applied order, and new items placed after their predecessor.
fn merge_list<S: PatchSchema>(
    l: &[Value],
    r: &[Value],
    kind: &ListKind,
    is: Option<&S>,
) -> Vec<Value> {
    // Items whose path element cannot be computed were rejected by validation.
    // Every lookup by path element is a map lookup, so merging is
    // O(n log n) in the list length (a scan per item was quadratic).
    let lhs: Vec<(PathElement, &Value)> = l
        .iter()
        .filter_map(|v| item_pe(kind, v).ok().map(|pe| (pe, v)))
        .collect();
    let mut rhs: Vec<(PathElement, &Value)> = Vec::new();
    let mut rhs_first: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for v in r {
        if let Ok(pe) = item_pe(kind, v)
            && !rhs_first.contains_key(&pe)
        {
            rhs_first.insert(pe.clone(), v);
            rhs.push((pe, v));
        }
    }
    let mut lobs: BTreeMap<PathElement, &Value> = BTreeMap::new();
    for (pe, v) in &lhs {
        lobs.entry(pe.clone()).or_insert(*v);
    }
    let find_l = |pe: &PathElement| lobs.get(pe).copied();
    let find_r = |pe: &PathElement| rhs_first.get(pe).copied();
    let mut shared = rhs
        .iter()
        .filter(|(pe, _)| lobs.contains_key(pe))
        .map(|(pe, _)| pe.clone())
        .collect::<Vec<_>>()
        .into_iter();
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
    let mut out = Vec::new();
    let item = |pe: &PathElement, lv: Option<&Value>, rv: Option<&Value>| -> Value {
        match (lv, rv) {
            (Some(lv), Some(rv)) => merge(lv, rv, is),
            (Some(v), None) | (None, Some(v)) => v.clone(),
            (None, None) => {
                let _ = pe;
                Value::Null
            }
        }
    };
    let (mut li, mut ri) = (0, 0);
    while li < lhs.len() || ri < rhs.len() {
        if li < lhs.len() && ri < rhs.len() {
            let pe = &lhs[li].0;
            if *pe == rhs[ri].0 {
                merged_rhs.insert(pe.clone());
                out.push(item(pe, find_l(pe), find_r(pe)));
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if find_r(pe).is_some() && next_shared.as_ref().is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lhs.len() {
            let (pe, lv) = &lhs[li];
            if find_r(pe).is_none() {
                out.push((*lv).clone());
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
                continue;
            }
        }
        if ri < rhs.len() {
            let pe = rhs[ri].0.clone();
            merged_rhs.insert(pe.clone());
            out.push(item(&pe, find_l(&pe), find_r(&pe)));
            ri += 1;
            if next_shared.as_ref() == Some(&pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// RemoveItems (typed/remove.go)
// ---------------------------------------------------------------------------

/// Removes the paths of `set` from `v`; `Value::Null` when nothing is left.
fn remove_items<S: PatchSchema>(v: &Value, set: &FieldSet, s: Option<&S>) -> Value {
    match v {
        Value::Object(_) if is_atomic_map(s) => v.clone(),
        Value::Object(m) if !m.is_empty() => {
            let mut out = Map::new();
            for (k, child) in m {
                let pe = PathElement::Field(k.clone());
                if set.members.contains(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(sub) => {
                        let (cs, _) = field_of(s, k);
                        let left = remove_items(child, sub, cs.as_ref());
                        if !left.is_null() {
                            out.insert(k.clone(), left);
                        }
                    }
                    None => {
                        out.insert(k.clone(), child.clone());
                    }
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let kind = list_kind(s);
            if kind == ListKind::Atomic {
                return v.clone();
            }
            let is = items_of(s);
            let mut out = Vec::new();
            for item in items {
                let Ok(pe) = item_pe(&kind, item) else {
                    out.push(item.clone());
                    continue;
                };
                if set.members.contains(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(sub) => out.push(remove_items(item, sub, is.as_ref())),
                    None => out.push(item.clone()),
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            }
        }
        _ => v.clone(),
    }
}

// ---------------------------------------------------------------------------
// Compare (typed/compare.go)
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Comparison {
    added: FieldSet,
    modified: FieldSet,
    removed: FieldSet,
    /// Whether the object is a typed (built-in) one: only those have
    /// fields present in the Go zero value ([`PatchSchema::typed`]).
    typed: bool,
}

fn compare<S: PatchSchema>(old: &Value, new: &Value, s: Option<&S>) -> Comparison {
    let mut c = Comparison {
        typed: s.is_none_or(PatchSchema::typed),
        ..Comparison::default()
    };
    compare_walk(
        Some(old),
        Some(new),
        s,
        &mut Vec::new(),
        false,
        false,
        &mut c,
    );
    c
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn compare_leaf(l: Option<&Value>, r: Option<&Value>, path: &[PathElement], c: &mut Comparison) {
    match (l, r) {
        (None, _) => c.added.insert(path),
        (_, None) => c.removed.insert(path),
        (Some(a), Some(b)) if a != b => c.modified.insert(path),
        _ => {}
    }
}

/// `skip_self`: the value is a field present in the Go zero value (see
/// [`present_in_zero_value`]) outside any added or removed list item
/// (`in_new_item`), so it is not recorded as added or removed itself.
fn compare_walk<S: PatchSchema>(
    l: Option<&Value>,
    r: Option<&Value>,
    s: Option<&S>,
    path: &mut Vec<PathElement>,
    skip_self: bool,
    in_new_item: bool,
    c: &mut Comparison,
) {
    let lo = l.and_then(Value::as_object);
    let ro = r.and_then(Value::as_object);
    let la = l.and_then(Value::as_array);
    let ra = r.and_then(Value::as_array);
    let objects = (lo.is_some() || l.is_none()) && (ro.is_some() || r.is_none());
    let arrays = (la.is_some() || l.is_none()) && (ra.is_some() || r.is_none());
    let mut in_leaf = false;
    if objects && (lo.is_some() || ro.is_some()) {
        if is_atomic_map(s) || (is_empty_container(l) && is_empty_container(r)) {
            compare_leaf(l, r, path, c);
            in_leaf = true;
        } else {
            let empty = Map::new();
            let (lm, rm) = (lo.unwrap_or(&empty), ro.unwrap_or(&empty));
            let keys: Vec<&String> = lm
                .keys()
                .chain(rm.keys().filter(|k| !lm.contains_key(*k)))
                .collect();
            let at_meta = matches!(path.as_slice(), [PathElement::Field(f)] if f == "metadata");
            for k in keys {
                if at_meta && k == "managedFields" {
                    continue;
                }
                let (cs, named) = field_of(s, k);
                let (lv, rv) = (lm.get(k), rm.get(k));
                let in_zero = c.typed && named && !in_new_item && present_in_zero_value(s, k);
                path.push(PathElement::Field(k.clone()));
                compare_walk(lv, rv, cs.as_ref(), path, in_zero, in_new_item, c);
                path.pop();
            }
        }
    } else if arrays && (la.is_some() || ra.is_some()) {
        let kind = list_kind(s);
        if kind == ListKind::Atomic || (is_empty_container(l) && is_empty_container(r)) {
            compare_leaf(l, r, path, c);
            in_leaf = true;
        } else {
            let is = items_of(s);
            // Items in order, the first of each path element, and a map of
            // them for lookups (a scan per item was quadratic).
            let index = |a: Option<&'_ Vec<Value>>| {
                let mut out: Vec<(PathElement, Value)> = Vec::new();
                let mut seen: BTreeSet<PathElement> = BTreeSet::new();
                for v in a.map(|a| a.as_slice()).unwrap_or_default() {
                    if let Ok(pe) = item_pe(&kind, v)
                        && seen.insert(pe.clone())
                    {
                        out.push((pe, v.clone()));
                    }
                }
                (out, seen)
            };
            let ((li, l_set), (ri, _)) = (index(la), index(ra));
            let r_map: BTreeMap<&PathElement, &Value> = ri.iter().map(|(p, v)| (p, v)).collect();
            for (pe, lv) in &li {
                let rv = r_map.get(pe).copied();
                path.push(pe.clone());
                let gone = in_new_item || rv.is_none();
                compare_walk(Some(lv), rv, is.as_ref(), path, false, gone, c);
                path.pop();
            }
            for (pe, rv) in &ri {
                if l_set.contains(pe) {
                    continue;
                }
                path.push(pe.clone());
                compare_walk(None, Some(rv), is.as_ref(), path, false, true, c);
                path.pop();
            }
        }
    } else {
        // A zero-value field is there as null (e.g. a pod template's
        // `metadata.creationTimestamp`, a metav1.Time).
        let zero = skip_self.then_some(&Value::Null);
        compare_leaf(l.or(zero), r.or(zero), path, c);
        in_leaf = true;
    }
    if !in_leaf && !skip_self && !path.is_empty() {
        if l.is_none() {
            c.added.insert(path);
        } else if r.is_none() {
            c.removed.insert(path);
        }
    }
}

// ---------------------------------------------------------------------------
// managedFields entries (managedfields.go)
// ---------------------------------------------------------------------------

const APPLY: &str = "Apply";
const UPDATE: &str = "Update";
const CURRENT_OPERATION: &str = "current-operation";
const BEFORE_FIRST_APPLY: &str = "before-first-apply";
const ANCIENT_CHANGES: &str = "ancient-changes";
/// `DefaultMaxUpdateManagers` (capmanagers.go).
const MAX_UPDATE_MANAGERS: usize = 10;
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

#[derive(Clone, Debug)]
struct Entry {
    manager: String,
    operation: &'static str,
    api_version: String,
    subresource: String,
    time: Option<String>,
    set: FieldSet,
}

/// `BuildManagerIdentifier`: the entry without time and fields (and without
/// the apiVersion for appliers), JSON-encoded in `ManagedFieldsEntry` order.
fn manager_id(manager: &str, operation: &str, api_version: &str, subresource: &str) -> String {
    let mut m = Map::new();
    if !manager.is_empty() {
        m.insert("manager".into(), Value::String(manager.into()));
    }
    m.insert("operation".into(), Value::String(operation.into()));
    if operation != APPLY && !api_version.is_empty() {
        m.insert("apiVersion".into(), Value::String(api_version.into()));
    }
    if !subresource.is_empty() {
        m.insert("subresource".into(), Value::String(subresource.into()));
    }
    Value::Object(m).to_string()
}

impl Entry {
    fn id(&self) -> String {
        manager_id(
            &self.manager,
            self.operation,
            &self.api_version,
            &self.subresource,
        )
    }

    fn encode(&self) -> Value {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), Value::String(self.manager.clone()));
        }
        m.insert("operation".into(), Value::String(self.operation.into()));
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), self.set.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(m)
    }
}

type Managed = BTreeMap<String, Entry>;

fn str_field<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

/// `DecodeManagedFields`.
fn decode_managed(v: Option<&Value>) -> Result<Managed, String> {
    let mut out = Managed::new();
    let items = match v {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("managedFields must be a list, got {other}")),
    };
    for (i, item) in items.iter().enumerate() {
        let Value::Object(m) = item else {
            return Err(format!("managed fields entry {i} must be an object"));
        };
        let operation = match str_field(m, "operation") {
            "Apply" => APPLY,
            "Update" => UPDATE,
            _ => return Err("operation must be `Apply` or `Update`".to_string()),
        };
        let api_version = str_field(m, "apiVersion");
        if api_version.is_empty() {
            return Err("apiVersion must not be empty".to_string());
        }
        match str_field(m, "fieldsType") {
            "FieldsV1" => {}
            "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
            other => {
                return Err(format!(
                    "invalid fieldsType {} in managed fields entry {i}",
                    go_quote(other)
                ));
            }
        }
        let set = match m.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(f) => FieldSet::from_fields_v1(f)?,
        };
        let e = Entry {
            manager: str_field(m, "manager").to_string(),
            operation,
            api_version: api_version.to_string(),
            subresource: str_field(m, "subresource").to_string(),
            time: m.get("time").and_then(Value::as_str).map(str::to_string),
            set,
        };
        out.insert(e.id(), e);
    }
    Ok(out)
}

fn unix_seconds(t: Option<&String>) -> i64 {
    t.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|d| d.timestamp())
        .unwrap_or(0)
}

/// Encodes the entries in upstream's order (`sortEncodedManagedFields`):
/// operation, time, manager, apiVersion, subresource.
fn encode_managed(managed: &Managed) -> Vec<Value> {
    let mut entries: Vec<&Entry> = managed.values().filter(|e| !e.set.is_empty()).collect();
    entries.sort_by(|p, q| {
        p.operation
            .cmp(q.operation)
            .then_with(|| unix_seconds(p.time.as_ref()).cmp(&unix_seconds(q.time.as_ref())))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
    entries.into_iter().map(Entry::encode).collect()
}

fn set_managed(obj: &mut Value, managed: &Managed) {
    let encoded = encode_managed(managed);
    let Value::Object(root) = obj else {
        return;
    };
    if encoded.is_empty() {
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            meta.remove("managedFields");
        }
        return;
    }
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert("managedFields".into(), Value::Array(encoded));
    }
}

fn managed_fields_of(obj: &Value) -> Option<&Value> {
    obj.get("metadata").and_then(|m| m.get("managedFields"))
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(Value::Object(meta)) = out.get_mut("metadata") {
        meta.remove("managedFields");
    }
    out
}

/// `stripMetaManager.strip`.
fn strip_meta(managed: &mut Managed) {
    let strip = strip_set();
    for e in managed.values_mut() {
        e.set.subtract(strip);
    }
    managed.retain(|_, e| !e.set.is_empty());
}

/// `capManagersManager.capUpdateManagers`: folds the oldest Update entries
/// into per-version `ancient-changes` buckets above the cap.
fn cap_managers(managed: &mut Managed) {
    let mut updaters: Vec<String> = managed
        .iter()
        .filter(|(_, e)| e.operation == UPDATE)
        .map(|(id, _)| id.clone())
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|a, b| {
        let ta = unix_seconds(managed.get(a).and_then(|e| e.time.as_ref()));
        let tb = unix_seconds(managed.get(b).and_then(|e| e.time.as_ref()));
        ta.cmp(&tb).then_with(|| a.cmp(b))
    });
    let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
    let mut length = updaters.len();
    for id in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(e) = managed.get(&id).cloned() else {
            continue;
        };
        let bucket = manager_id(ANCIENT_CHANGES, UPDATE, &e.api_version, "");
        match first_of_version.get(&e.api_version) {
            Some(first) => {
                if !managed.contains_key(&bucket)
                    && let Some(mut f) = managed.remove(first)
                {
                    f.manager = ANCIENT_CHANGES.to_string();
                    f.subresource = String::new();
                    managed.insert(bucket.clone(), f);
                }
                let prev = managed
                    .get(&bucket)
                    .map(|b| b.set.clone())
                    .unwrap_or_default();
                managed.remove(&id);
                managed.insert(
                    bucket,
                    Entry {
                        manager: ANCIENT_CHANGES.to_string(),
                        operation: UPDATE,
                        api_version: e.api_version.clone(),
                        subresource: String::new(),
                        time: e.time.clone(),
                        set: e.set.union(&prev),
                    },
                );
                length -= 1;
            }
            None => {
                first_of_version.insert(e.api_version.clone(), id.clone());
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The updater (merge/update.go)
// ---------------------------------------------------------------------------

/// `Updater.update`: takes the changed fields away from the other managers
/// (or reports them as conflicts when not forcing).
fn update_managers<S: PatchSchema>(
    live: &Value,
    new: &Value,
    managed: &mut Managed,
    workflow: &str,
    force: bool,
    s: Option<&S>,
) -> Result<Comparison, Vec<(String, FieldSet)>> {
    let cmp = compare(live, new, s);
    let mut conflicts = Vec::new();
    // A create has no other manager: nothing to intersect with.
    if managed.keys().any(|id| id != workflow) {
        let changed = cmp.modified.union(&cmp.added);
        for (id, e) in managed.iter() {
            if id == workflow {
                continue;
            }
            let c = e.set.intersection(&changed);
            if !c.is_empty() {
                conflicts.push((id.clone(), c));
            }
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(conflicts);
    }
    for (id, c) in &conflicts {
        if let Some(e) = managed.get_mut(id) {
            e.set.subtract(c);
        }
    }
    if !cmp.removed.is_empty() {
        for (id, e) in managed.iter_mut() {
            if id != workflow {
                e.set.subtract(&cmp.removed);
            }
        }
    }
    managed.retain(|_, e| !e.set.is_empty());
    Ok(cmp)
}

/// The Update chain below the skip-non-applied layer: structured merge
/// `Update` under a temporary manager, stripMeta, then
/// `managedFieldsUpdater` folding the result into the real manager.
#[allow(clippy::too_many_arguments)]
fn update_core<S: PatchSchema>(
    old: &Value,
    new: &Value,
    managed: &mut Managed,
    manager: &str,
    api_version: &str,
    subresource: &str,
    now: &str,
    s: Option<&S>,
) {
    let tmp = manager_id(CURRENT_OPERATION, UPDATE, api_version, subresource);
    if let Ok(cmp) = update_managers(old, new, managed, &tmp, true, s) {
        let Comparison {
            added,
            modified,
            removed,
            ..
        } = cmp;
        let mut set = modified.union_owned(added);
        set.subtract(&removed);
        if !set.is_empty() {
            managed.insert(
                tmp.clone(),
                Entry {
                    manager: CURRENT_OPERATION.to_string(),
                    operation: UPDATE,
                    api_version: api_version.to_string(),
                    subresource: subresource.to_string(),
                    time: None,
                    set,
                },
            );
        }
    }
    strip_meta(managed);
    if let Some(cur) = managed.remove(&tmp) {
        let id = manager_id(manager, UPDATE, api_version, subresource);
        let set = match managed.remove(&id) {
            Some(prev) => cur.set.union_owned(prev.set),
            None => cur.set,
        };
        managed.insert(
            id,
            Entry {
                manager: manager.to_string(),
                operation: UPDATE,
                api_version: api_version.to_string(),
                subresource: subresource.to_string(),
                time: Some(now.to_string()),
                set,
            },
        );
    }
}

/// `Updater.prune` with `addBackOwnedItems` and `addBackDanglingItems`.
fn prune<S: PatchSchema>(
    merged: &Value,
    managed: &Managed,
    last: Option<&FieldSet>,
    s: Option<&S>,
) -> Value {
    let Some(last) = last.filter(|l| !l.is_empty()) else {
        return merged.clone();
    };
    let or_empty = |v: Value| {
        if v.is_null() {
            Value::Object(Map::new())
        } else {
            v
        }
    };
    let fields = |v: &Value| ensure_named_fields_are_members(&to_field_set(v, s), s);
    let last = ensure_named_fields_are_members(last, s);
    let pruned = or_empty(remove_items(merged, &last, s));
    let all = managed
        .values()
        .fold(FieldSet::new(), |acc, e| acc.union(&e.set));
    let all = ensure_named_fields_are_members(&all, s);
    let merged_set = fields(merged);
    let to_drop = merged_set.difference(&fields(&pruned).union(&all));
    let pruned = or_empty(remove_items(merged, &to_drop, s));
    let to_drop = merged_set.difference(&fields(&pruned)).intersection(&last);
    or_empty(remove_items(merged, &to_drop, s))
}

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// The fields an object sets, as upstream tracks them (`ToFieldSet` minus
/// the `stripmeta.go` fields: apiVersion, kind, metadata.name, namespace,
/// uid, resourceVersion, generation, creationTimestamp, managedFields, ...).
pub fn fields_of<S: PatchSchema>(obj: &Value, schema: Option<&S>) -> FieldSet {
    to_field_set(obj, schema).difference(strip_set())
}

/// One field owned by another manager that an apply would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// The field, rendered as upstream does (`.spec.replicas`,
    /// `.spec.containers[name="nginx"].image`).
    pub field: String,
    /// That manager's operation: `"Apply"` or `"Update"`.
    pub operation: String,
    /// That manager's apiVersion (set for Update managers).
    pub api_version: String,
    /// That manager's subresource (`""` for the main resource).
    pub subresource: String,
}

/// Why an apply was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// Fields owned by other managers would change (HTTP 409, see [`conflict_message`]).
    Conflicts(Vec<Conflict>),
    /// The request is unusable; the string is upstream's message (HTTP 400).
    Invalid(String),
}

fn gvk_string(api_version: &str, kind: &str) -> String {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    format!("{group}/{version}, Kind={kind}")
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// Go's `encoding/json` rendering (sorted keys, HTML-safe escapes), used for
/// the last-applied annotation.
fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(&Value::String((*k).clone()), out);
                out.push(':');
                if let Some(child) = m.get(*k) {
                    go_json(child, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::String(s) => {
            let enc = Value::String(s.clone()).to_string();
            out.push_str(
                &enc.replace('<', "\\u003c")
                    .replace('>', "\\u003e")
                    .replace('&', "\\u0026")
                    .replace('\u{2028}', "\\u2028")
                    .replace('\u{2029}', "\\u2029"),
            );
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `buildLastApplied` (lastappliedupdater.go): the applied object without
/// the annotation itself, as Go's JSON encoder writes it.
/// `allowedConflictsFromLastApplied`: the fields of the live object's
/// last-applied-configuration annotation whose values the live object still
/// has; `None` without a usable annotation.
fn allowed_conflicts_from_last_applied<S: PatchSchema>(
    live: &Value,
    api_version: &str,
    schema: Option<&S>,
) -> Option<FieldSet> {
    let text = live
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())?;
    let last: Value = serde_json::from_str(text).ok()?;
    if !last.is_object() || last.get("apiVersion").and_then(Value::as_str) != Some(api_version) {
        return None;
    }
    validate(&last, schema, &mut Vec::new(), false).ok()?;
    let cmp = compare(&last, live, schema);
    Some(
        to_field_set(&last, schema)
            .difference(&cmp.modified)
            .difference(&cmp.added)
            .difference(&cmp.removed),
    )
}

fn build_last_applied(applied: &Value) -> String {
    let mut obj = applied.clone();
    if let Some(Value::Object(ann)) = obj
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        ann.remove(LAST_APPLIED);
    }
    let mut out = String::new();
    go_json(&obj, &mut out);
    out.push('\n');
    out
}

/// Server-side apply of `applied` (the request body) by `manager` onto
/// `live` (`None` on create), as upstream's `FieldManager.Apply`: the
/// result carries the updated `metadata.managedFields`.
///
/// Fields in `applied` are set; fields this manager applied last time, no
/// longer applies and nobody else owns are removed; lists merge by their
/// schema type. Changing a field another manager owns is a conflict unless
/// `force`, which takes the field over. The caller checks the kind on
/// create (`live` is `None`), applies defaults and sets server fields.
#[allow(clippy::too_many_arguments)]
pub fn apply<S: PatchSchema>(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
    schema: Option<&S>,
) -> Result<Value, ApplyError> {
    let subresource = subresource.unwrap_or("");
    if !applied.is_object() {
        return Err(ApplyError::Invalid(
            "error decoding YAML: the applied configuration must be an object".to_string(),
        ));
    }
    // versioncheck.go
    let a_version = applied
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let a_kind = applied.get("kind").and_then(Value::as_str).unwrap_or("");
    let live_kind = live
        .and_then(|l| l.get("kind"))
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty());
    if a_version != api_version || a_kind.is_empty() || live_kind.is_some_and(|k| k != a_kind) {
        return Err(ApplyError::Invalid(format!(
            "invalid object type: {}",
            gvk_string(a_version, a_kind)
        )));
    }
    // structuredmerge.go
    if managed_fields_of(applied).is_some_and(|v| !v.is_null()) {
        return Err(ApplyError::Invalid(
            "metadata.managedFields must be nil".to_string(),
        ));
    }
    let gvknn = |o: &Value| {
        format!(
            "{}/{}; {}",
            meta_str(o, "namespace"),
            meta_str(o, "name"),
            gvk_string(a_version, a_kind)
        )
    };
    validate(applied, schema, &mut Vec::new(), false).map_err(|e| {
        ApplyError::Invalid(format!(
            "failed to create typed patch object ({}): {e}",
            gvknn(applied)
        ))
    })?;
    let live_obj = live
        .map(without_managed_fields)
        .unwrap_or_else(|| Value::Object(Map::new()));
    validate(&live_obj, schema, &mut Vec::new(), true).map_err(|e| {
        ApplyError::Invalid(format!(
            "failed to create typed live object ({}): {e}",
            gvknn(&live_obj)
        ))
    })?;
    let mut managed = decode_managed(live.and_then(managed_fields_of))
        .map_err(|e| ApplyError::Invalid(format!("failed to decode managed fields: {e}")))?;

    // skipnonapplied.go: before the first apply, everything present is
    // attributed to "before-first-apply".
    if managed.is_empty() {
        update_core(
            &Value::Object(Map::new()),
            &live_obj,
            &mut managed,
            BEFORE_FIRST_APPLY,
            api_version,
            subresource,
            now,
            schema,
        );
        cap_managers(&mut managed);
    }

    // merge/update.go Apply.
    let id = manager_id(manager, APPLY, api_version, subresource);
    let merged = merge(&live_obj, applied, schema);
    let last = managed.get(&id).cloned();
    managed.insert(
        id.clone(),
        Entry {
            manager: manager.to_string(),
            operation: APPLY,
            api_version: api_version.to_string(),
            subresource: subresource.to_string(),
            time: last.as_ref().and_then(|e| e.time.clone()),
            set: to_field_set(applied, schema),
        },
    );
    let merged = prune(&merged, &managed, last.as_ref().map(|e| &e.set), schema);
    if let Err(conflicts) = update_managers(&live_obj, &merged, &mut managed, &id, force, schema) {
        // lastappliedmanager.go: kubectl's first server-side apply over a
        // client-side applied object takes over, without conflicts, the
        // fields whose last-applied value is still the live one.
        let allowed = if manager == "kubectl" {
            allowed_conflicts_from_last_applied(&live_obj, api_version, schema)
        } else {
            None
        };
        let mut out = Vec::new();
        for (cid, set) in conflicts {
            let Some(e) = managed.get(&cid) else {
                continue;
            };
            for p in set.paths() {
                if allowed.as_ref().is_some_and(|a| a.has(&p)) {
                    continue;
                }
                out.push(Conflict {
                    manager: e.manager.clone(),
                    field: path_string(&p),
                    operation: e.operation.to_string(),
                    api_version: if e.operation == UPDATE {
                        e.api_version.clone()
                    } else {
                        String::new()
                    },
                    subresource: e.subresource.clone(),
                });
            }
        }
        if out.is_empty() && allowed.is_some() {
            return apply(
                live,
                applied,
                manager,
                true,
                api_version,
                Some(subresource).filter(|s| !s.is_empty()),
                now,
                schema,
            );
        }
        return Err(ApplyError::Conflicts(out));
    }
    strip_meta(&mut managed);
    // managedfieldsupdater.go: a no-op apply keeps the live object and time.
    let mut object = if merged == live_obj {
        live_obj
    } else {
        if let Some(e) = managed.get_mut(&id) {
            e.time = Some(now.to_string());
        }
        merged
    };
    cap_managers(&mut managed);
    // lastappliedupdater.go
    if manager == "kubectl"
        && let Some(Value::Object(ann)) = object
            .get_mut("metadata")
            .and_then(|m| m.get_mut("annotations"))
        && ann.contains_key(LAST_APPLIED)
    {
        ann.insert(
            LAST_APPLIED.to_string(),
            Value::String(build_last_applied(applied)),
        );
    }
    set_managed(&mut object, &managed);
    Ok(object)
}

fn is_reset_managed_fields(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Array(items)) => match items.as_slice() {
            [] => true,
            [Value::Object(m)] => m.is_empty(),
            _ => false,
        },
        _ => false,
    }
}

/// Manager bookkeeping for a non-apply write (create, update, patch), as
/// upstream's `FieldManager.UpdateNoErrors`: the fields that changed from
/// `old` (`None` on create) to `new` go to `manager` (operation Update) and
/// leave the other managers. `managedFields` in `new` replace the live ones
/// when set (`[]` or `[{}]` clears them; ignored for subresources). An
/// existing object without managedFields stays untracked.
pub fn update<S: PatchSchema>(
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
    schema: Option<&S>,
) -> Value {
    update_owned(
        old,
        new.clone(),
        manager,
        api_version,
        subresource,
        now,
        schema,
    )
}

/// [`update`], taking the new object by value (the store's write path: no
/// copy of the object).
pub fn update_owned<S: PatchSchema>(
    old: Option<&Value>,
    new: Value,
    manager: &str,
    api_version: &str,
    subresource: Option<&str>,
    now: &str,
    schema: Option<&S>,
) -> Value {
    let subresource = subresource.unwrap_or("");
    let from_live = || decode_managed(old.and_then(managed_fields_of)).unwrap_or_default();
    let requested = managed_fields_of(&new);
    let mut managed = if !subresource.is_empty() {
        from_live()
    } else if is_reset_managed_fields(requested) {
        Managed::new()
    } else {
        match decode_managed(requested) {
            Ok(m) if !m.is_empty() => m,
            _ => from_live(),
        }
    };
    let mut object = new;
    if let Some(Value::Object(meta)) = object.get_mut("metadata") {
        meta.remove("managedFields");
    }
    // The old object is compared without its managedFields: `compare_walk`
    // skips `metadata.managedFields` rather than copying the object.
    let empty = Value::Object(Map::new());
    let old_obj = old.unwrap_or(&empty);
    // skipnonapplied.go: only creates start tracking.
    let is_create = old.is_none_or(|o| meta_str(o, "uid").is_empty());
    if managed.is_empty() && !is_create {
        return object;
    }
    update_core(
        old_obj,
        &object,
        &mut managed,
        manager,
        api_version,
        subresource,
        now,
        schema,
    );
    cap_managers(&mut managed);
    set_managed(&mut object, &managed);
    object
}

fn print_manager(c: &Conflict, api_version_of: &impl Fn(&str) -> String) -> String {
    let mut s = go_quote(&c.manager);
    if !c.subresource.is_empty() {
        s = format!("{s} with subresource {}", go_quote(&c.subresource));
    }
    if c.operation == UPDATE {
        let v = if c.api_version.is_empty() {
            api_version_of(&c.manager)
        } else {
            c.api_version.clone()
        };
        return format!("{s} using {v}");
    }
    s
}

/// Upstream's 409 message and causes for apply conflicts (`conflict.go`):
/// `Apply failed with 1 conflict: conflict with "m" using apps/v1: .spec.replicas`,
/// or for several, one `conflicts with ...:` block per manager. Each cause is
/// (`conflict with "m" using apps/v1`, `.spec.replicas`). `api_version_of`
/// supplies an Update manager's apiVersion when the conflict lacks one.
pub fn conflict_message(
    conflicts: &[Conflict],
    api_version_of: impl Fn(&str) -> String,
) -> (String, Vec<(String, String)>) {
    let causes: Vec<(String, String)> = conflicts
        .iter()
        .map(|c| {
            (
                format!("conflict with {}", print_manager(c, &api_version_of)),
                c.field.clone(),
            )
        })
        .collect();
    if let [c] = conflicts {
        let msg = format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            print_manager(c, &api_version_of),
            c.field
        );
        return (msg, causes);
    }
    let mut groups: BTreeMap<String, (String, Vec<&str>)> = BTreeMap::new();
    for c in conflicts {
        let id = manager_id(&c.manager, &c.operation, &c.api_version, &c.subresource);
        groups
            .entry(id)
            .or_insert_with(|| (print_manager(c, &api_version_of), Vec::new()))
            .1
            .push(&c.field);
    }
    let mut lines = Vec::new();
    for (printed, fields) in groups.values() {
        lines.push(format!("conflicts with {printed}:"));
        for f in fields {
            lines.push(format!("- {f}"));
        }
    }
    let msg = format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    );
    (msg, causes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::rc::Rc;

    /// A [`PatchSchema`] from a JSON description: `defs` maps type names to
    /// `{"fields": {...}}`, `{"items": ...}` or `{"values": ...}`; a property
    /// may carry `strategy`, `mergeKey`, `listType`, `listMapKeys` and either
    /// an inline type or `"ref": "<TypeName>"`.
    #[derive(Clone)]
    struct TestSchema {
        defs: Rc<Value>,
        prop: Value,
        ty: Value,
        keys: Vec<String>,
    }

    impl TestSchema {
        fn root(name: &str) -> Self {
            Self::at(&Rc::new(defs()), json!({ "ref": name }))
        }

        fn at(defs: &Rc<Value>, prop: Value) -> Self {
            let ty = match prop.get("ref").and_then(Value::as_str) {
                Some(name) => defs.get(name).cloned().unwrap_or(Value::Null),
                None => prop.clone(),
            };
            let keys = prop
                .get("listMapKeys")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            TestSchema {
                defs: Rc::clone(defs),
                prop,
                ty,
                keys,
            }
        }

        fn child(&self, path: &[&str]) -> Option<Self> {
            let mut v = &self.ty;
            for p in path {
                v = v.get(*p)?;
            }
            Some(Self::at(&self.defs, v.clone()))
        }
    }

    impl PatchSchema for TestSchema {
        fn field(&self, name: &str) -> Option<Self> {
            self.child(&["fields", name])
        }
        fn map_values(&self) -> Option<Self> {
            self.child(&["values"])
        }
        fn items(&self) -> Option<Self> {
            self.child(&["items"])
        }
        fn patch_strategy(&self) -> Option<&str> {
            self.prop.get("strategy").and_then(Value::as_str)
        }
        fn patch_merge_key(&self) -> Option<&str> {
            self.prop.get("mergeKey").and_then(Value::as_str)
        }
        fn list_type(&self) -> Option<&str> {
            self.prop.get("listType").and_then(Value::as_str)
        }
        fn list_map_keys(&self) -> &[String] {
            &self.keys
        }
    }

    fn defs() -> Value {
        json!({
            "Deployment": {"fields": {
                "apiVersion": {}, "kind": {},
                "metadata": {"ref": "ObjectMeta"},
                "spec": {"ref": "DeploymentSpec"}
            }},
            "DeploymentSpec": {"fields": {
                "replicas": {}, "paused": {},
                "template": {"ref": "PodTemplateSpec"}
            }},
            "PodTemplateSpec": {"fields": {
                "metadata": {"ref": "ObjectMeta"},
                "spec": {"ref": "PodSpec"}
            }},
            "ObjectMeta": {"fields": {
                "name": {}, "namespace": {}, "uid": {}, "resourceVersion": {},
                "generation": {}, "creationTimestamp": {}, "managedFields": {"items": {}},
                "labels": {"values": {}},
                "annotations": {"values": {}},
                "finalizers": {"strategy": "merge", "listType": "set", "items": {}}
            }},
            "PodSpec": {"fields": {
                "containers": {"strategy": "merge", "mergeKey": "name",
                               "items": {"ref": "Container"}},
                "tolerations": {"listType": "atomic", "items": {"fields": {"key": {}}}},
                "nodeSelector": {"values": {}}
            }},
            "Container": {"fields": {
                "name": {}, "image": {}, "args": {"items": {}},
                "ports": {"strategy": "merge", "mergeKey": "containerPort",
                          "listType": "map", "listMapKeys": ["containerPort", "protocol"],
                          "items": {"fields": {"containerPort": {}, "protocol": {}, "name": {}}}},
                "env": {"strategy": "merge", "mergeKey": "name",
                        "items": {"fields": {"name": {}, "value": {}}}}
            }}
        })
    }

    const T1: &str = "2024-01-01T00:00:00Z";
    const T2: &str = "2024-01-01T00:01:00Z";
    const T3: &str = "2024-01-01T00:02:00Z";

    fn schema() -> TestSchema {
        TestSchema::root("Deployment")
    }

    fn ap(
        live: Option<&Value>,
        cfg: Value,
        mgr: &str,
        force: bool,
        now: &str,
    ) -> Result<Value, ApplyError> {
        apply(
            live,
            &cfg,
            mgr,
            force,
            "apps/v1",
            None,
            now,
            Some(&schema()),
        )
    }

    fn deploy(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "web", "namespace": "default"}, "spec": spec})
    }

    fn nginx_config() -> Value {
        let mut d = deploy(json!({
            "replicas": 2,
            "template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
            ]}}
        }));
        d["metadata"]["labels"] = json!({"app": "web"});
        d
    }

    fn managed(obj: &Value) -> Value {
        obj["metadata"]["managedFields"].clone()
    }

    #[test]
    fn create_by_apply() {
        let out = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                    "managedFields": [{
                        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
                        "time": T1, "fieldsType": "FieldsV1",
                        "fieldsV1": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
                                "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":
                                        {".": {}, "f:containerPort": {}}}}}}}}
                        }
                    }]},
                "spec": {"replicas": 2, "template": {"spec": {"containers": [
                    {"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]}}}})
        );
    }

    #[test]
    fn reapply_unchanged_is_identical() {
        let first = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        let second = ap(Some(&first), nginx_config(), "kubectl", false, T2).unwrap();
        assert_eq!(second, first);
    }

    #[test]
    fn apply_removes_fields_it_solely_owned() {
        let first = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        let mut cfg = nginx_config();
        cfg["spec"].as_object_mut().unwrap().remove("replicas");
        cfg["metadata"].as_object_mut().unwrap().remove("labels");
        let out = ap(Some(&first), cfg, "kubectl", false, T2).unwrap();
        assert_eq!(out["metadata"].get("labels"), None);
        assert_eq!(out["spec"].get("replicas"), None);
        assert_eq!(
            managed(&out),
            json!([{"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
                "time": T2, "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:spec": {"f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":
                                {".": {}, "f:containerPort": {}}}}}}}}}}])
        );
    }

    #[test]
    fn two_appliers_coexist_and_conflict() {
        let first = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        let other = deploy(json!({"paused": true}));
        let out = ap(Some(&first), other.clone(), "pauser", false, T2).unwrap();
        assert_eq!(out["spec"]["paused"], json!(true));
        assert_eq!(out["spec"]["replicas"], json!(2));
        let mf = managed(&out);
        assert_eq!(mf.as_array().unwrap().len(), 2);
        assert_eq!(mf[1]["manager"], json!("pauser"));
        assert_eq!(mf[1]["fieldsV1"], json!({"f:spec": {"f:paused": {}}}));
        // Same value: shared ownership, no conflict.
        let same = ap(
            Some(&out),
            deploy(json!({"replicas": 2})),
            "scaler",
            false,
            T3,
        )
        .unwrap();
        // A no-op apply sets no time, so the entry sorts first (time 0).
        assert_eq!(
            managed(&same)[0],
            json!({"manager": "scaler", "operation": "Apply", "apiVersion": "apps/v1",
                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}})
        );
        // Different value: conflict with the applier.
        let err = ap(
            Some(&out),
            deploy(json!({"replicas": 5})),
            "scaler",
            false,
            T3,
        )
        .unwrap_err();
        let ApplyError::Conflicts(c) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            conflict_message(&c, |_| String::new()),
            (
                "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"
                    .to_string(),
                vec![(
                    "conflict with \"kubectl\"".to_string(),
                    ".spec.replicas".to_string()
                )]
            )
        );
    }

    #[test]
    fn force_takes_ownership() {
        let first = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        let out = ap(
            Some(&first),
            deploy(json!({"replicas": 5})),
            "scaler",
            true,
            T2,
        )
        .unwrap();
        assert_eq!(out["spec"]["replicas"], json!(5));
        let mf = managed(&out);
        assert_eq!(mf[1]["manager"], json!("scaler"));
        assert_eq!(mf[1]["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
        assert_eq!(mf[0]["fieldsV1"]["f:spec"].get("f:replicas"), None);
        // kubectl no longer owns replicas, so dropping it from its config keeps it.
        let mut cfg = nginx_config();
        cfg["spec"].as_object_mut().unwrap().remove("replicas");
        let again = ap(Some(&out), cfg, "kubectl", false, T3).unwrap();
        assert_eq!(again["spec"]["replicas"], json!(5));
    }

    #[test]
    fn update_moves_ownership_then_apply_conflicts() {
        let first = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        let mut edited = first.clone();
        edited["metadata"]["uid"] = json!("u1");
        edited["spec"]["replicas"] = json!(3);
        let mut old = first.clone();
        old["metadata"]["uid"] = json!("u1");
        let out = update(
            Some(&old),
            &edited,
            "kubectl-edit",
            "apps/v1",
            None,
            T2,
            Some(&schema()),
        );
        assert_eq!(
            managed(&out),
            json!([
                {"manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1", "time": T1,
                 "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":
                                {".": {}, "f:containerPort": {}}}}}}}}}},
                {"manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
                 "time": T2, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
            ])
        );
        let err = ap(Some(&out), nginx_config(), "kubectl", false, T3).unwrap_err();
        let ApplyError::Conflicts(c) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            conflict_message(&c, |_| String::new()).0,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
        );
    }

    #[test]
    fn update_on_create_and_untracked_objects() {
        let obj = nginx_config();
        let out = update(
            None,
            &obj,
            "kubectl-create",
            "apps/v1",
            None,
            T1,
            Some(&schema()),
        );
        assert_eq!(
            managed(&out),
            json!([{"manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1",
                "time": T1, "fieldsType": "FieldsV1", "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {".": {},
                        "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                            "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}":
                                {".": {}, "f:containerPort": {}}}}}}}}}}])
        );
        // An existing object without managedFields is not tracked by updates.
        let mut live = obj.clone();
        live["metadata"]["uid"] = json!("u1");
        let out = update(
            Some(&live),
            &live,
            "m",
            "apps/v1",
            None,
            T1,
            Some(&schema()),
        );
        assert_eq!(out.pointer("/metadata/managedFields"), None);
        // `managedFields: [{}]` clears them.
        let tracked = update(None, &obj, "a", "apps/v1", None, T1, Some(&schema()));
        let mut cleared = tracked.clone();
        cleared["metadata"]["uid"] = json!("u1");
        cleared["metadata"]["managedFields"] = json!([{}]);
        let mut old = tracked.clone();
        old["metadata"]["uid"] = json!("u1");
        let out = update(
            Some(&old),
            &cleared,
            "b",
            "apps/v1",
            None,
            T2,
            Some(&schema()),
        );
        assert_eq!(out.pointer("/metadata/managedFields"), None);
    }

    #[test]
    fn containers_merge_by_name() {
        let first = ap(None, nginx_config(), "kubectl", false, T1).unwrap();
        let sidecar = deploy(json!({"template": {"spec": {"containers": [
            {"name": "sidecar", "image": "busybox"}]}}}));
        let out = ap(Some(&first), sidecar.clone(), "injector", false, T2).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
                   {"name": "sidecar", "image": "busybox"}])
        );
        // The injector withdrawing its container removes only that one.
        let out = ap(
            Some(&out),
            deploy(json!({"replicas": 2})),
            "injector",
            false,
            T3,
        )
        .unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}])
        );
        // A changed image owned by kubectl conflicts, rendered with the key.
        let clash = deploy(json!({"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:2"}]}}}));
        let ApplyError::Conflicts(c) = ap(Some(&out), clash, "other", false, T3).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(
            c[0].field,
            ".spec.template.spec.containers[name=\"nginx\"].image"
        );
    }

    #[test]
    fn finalizers_are_a_set_and_tolerations_atomic() {
        let mut a = deploy(json!({"template": {"spec": {"tolerations": [{"key": "a"}]}}}));
        a["metadata"]["finalizers"] = json!(["x/a"]);
        let first = ap(None, a, "one", false, T1).unwrap();
        let mut b = deploy(json!({}));
        b["metadata"]["finalizers"] = json!(["x/b"]);
        let out = ap(Some(&first), b, "two", false, T2).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["x/a", "x/b"]));
        assert_eq!(
            managed(&out)[1]["fieldsV1"],
            json!({"f:metadata": {"f:finalizers": {"v:\"x/b\"": {}}}, "f:spec": {}})
        );
        assert_eq!(
            managed(&out)[0]["fieldsV1"],
            json!({"f:metadata": {"f:finalizers": {"v:\"x/a\"": {}}},
                   "f:spec": {"f:template": {"f:spec": {"f:tolerations": {}}}}})
        );
        // Atomic list: another value conflicts on the whole list.
        let t = deploy(json!({"template": {"spec": {"tolerations": [{"key": "b"}]}}}));
        let ApplyError::Conflicts(c) = ap(Some(&out), t, "two", false, T3).unwrap_err() else {
            panic!()
        };
        assert_eq!(c[0].field, ".spec.template.spec.tolerations");
    }

    #[test]
    fn several_conflicts_message() {
        let c = vec![
            Conflict {
                manager: "b".into(),
                field: ".spec.replicas".into(),
                operation: "Update".into(),
                api_version: "apps/v1".into(),
                subresource: String::new(),
            },
            Conflict {
                manager: "a".into(),
                field: ".spec.paused".into(),
                operation: "Apply".into(),
                api_version: String::new(),
                subresource: String::new(),
            },
            Conflict {
                manager: "a".into(),
                field: ".spec.replicas".into(),
                operation: "Apply".into(),
                api_version: String::new(),
                subresource: String::new(),
            },
        ];
        let (msg, causes) = conflict_message(&c, |_| String::new());
        assert_eq!(
            msg,
            "Apply failed with 3 conflicts: conflicts with \"a\":\n- .spec.paused\n- .spec.replicas\nconflicts with \"b\" using apps/v1:\n- .spec.replicas"
        );
        assert_eq!(
            causes[0],
            (
                "conflict with \"b\" using apps/v1".to_string(),
                ".spec.replicas".to_string()
            )
        );
    }

    #[test]
    fn invalid_applies() {
        let mut cfg = nginx_config();
        cfg["apiVersion"] = json!("apps/v1beta1");
        assert_eq!(
            ap(None, cfg, "m", false, T1),
            Err(ApplyError::Invalid(
                "invalid object type: apps/v1beta1, Kind=Deployment".into()
            ))
        );
        let mut cfg = nginx_config();
        cfg["metadata"]["managedFields"] = json!([]);
        assert_eq!(
            ap(None, cfg, "m", false, T1),
            Err(ApplyError::Invalid(
                "metadata.managedFields must be nil".into()
            ))
        );
        let cfg = deploy(json!({"template": {"spec": {"containers": [
            {"name": "a"}, {"name": "a"}]}}}));
        assert_eq!(
            ap(None, cfg, "m", false, T1),
            Err(ApplyError::Invalid("failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name=\"a\"]".into()))
        );
    }

    #[test]
    fn kubectl_server_side_apply_takes_over_client_side_applied_fields() {
        // A client-side applied object: kubectl-client-side-apply owns what
        // it sent, and the annotation holds it.
        let mut cfg = nginx_config();
        cfg["metadata"]["annotations"] = json!({LAST_APPLIED: build_last_applied(&cfg)});
        let mut created = update(
            None,
            &cfg,
            "kubectl-client-side-apply",
            "apps/v1",
            None,
            T1,
            Some(&schema()),
        );
        created["metadata"]["uid"] = json!("u1");
        let mut scaled = nginx_config();
        scaled["spec"]["replicas"] = json!(4);
        // kubectl's server-side apply takes the fields over...
        let out = ap(Some(&created), scaled.clone(), "kubectl", false, T2).unwrap();
        assert_eq!(out["spec"]["replicas"], json!(4));
        assert_eq!(
            managed(&out)[0]["fieldsV1"]["f:spec"]["f:replicas"],
            json!({})
        );
        // ...any other manager conflicts,
        assert!(matches!(
            ap(Some(&created), scaled.clone(), "other", false, T2),
            Err(ApplyError::Conflicts(_))
        ));
        // ...and so does kubectl on a field changed since the last apply.
        let mut edited = created.clone();
        edited["spec"]["replicas"] = json!(7);
        let edited = update(
            Some(&created),
            &edited,
            "kubectl-edit",
            "apps/v1",
            None,
            T2,
            Some(&schema()),
        );
        let err = ap(Some(&edited), scaled, "kubectl", false, T3).unwrap_err();
        let ApplyError::Conflicts(c) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            conflict_message(&c, |_| String::new()).0,
            "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas"
        );
    }

    #[test]
    fn last_applied_annotation_follows_kubectl() {
        let mut live = nginx_config();
        live["metadata"]["annotations"] = json!({LAST_APPLIED: "{}"});
        live["metadata"]["uid"] = json!("u1");
        let out = ap(Some(&live), nginx_config(), "kubectl", false, T1).unwrap();
        assert_eq!(
            out["metadata"]["annotations"][LAST_APPLIED],
            json!(
                "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"labels\":{\"app\":\"web\"},\"name\":\"web\",\"namespace\":\"default\"},\"spec\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"image\":\"nginx:1.25\",\"name\":\"nginx\",\"ports\":[{\"containerPort\":80}]}]}}}}\n"
            )
        );
        // First apply onto an untracked object: the rest goes to before-first-apply.
        assert_eq!(managed(&out)[1]["manager"], json!("before-first-apply"));
        assert_eq!(
            managed(&out)[1]["fieldsV1"],
            json!({"f:metadata": {
                    "f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}},
                    "f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {".": {},
                    "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {".": {}, "k:{\"containerPort\":80,\"protocol\":\"TCP\"}":
                            {".": {}, "f:containerPort": {}}}}}}}}})
        );
    }

    #[test]
    fn fields_v1_round_trip() {
        let v = json!({
            "f:metadata": {"f:finalizers": {".": {}, "v:3": {}, "v:\"a\"": {}}},
            "f:spec": {
                "f:args": {"i:0": {}, "i:2": {}},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}}}
            }
        });
        let set = FieldSet::from_fields_v1(&v).unwrap();
        assert_eq!(set.to_fields_v1(), v);
        assert_eq!(
            serde_json::to_string(&set.to_fields_v1()).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
        let paths: Vec<String> = set.paths().iter().map(|p| path_string(p)).collect();
        assert_eq!(
            paths,
            vec![
                ".metadata.finalizers",
                ".metadata.finalizers[=3]",
                ".metadata.finalizers[=\"a\"]",
                ".spec.args[0]",
                ".spec.args[2]",
                ".spec.ports[containerPort=80,protocol=\"TCP\"]",
                ".spec.ports[containerPort=80,protocol=\"TCP\"].name",
            ]
        );
        // Keys are sorted on the way in; element order is f:, k:, v:, i:.
        let unordered = json!({"i:1": {}, "v:\"x\"": {}, "k:{\"b\":1,\"a\":2}": {}, "f:z": {}});
        assert_eq!(
            serde_json::to_string(&FieldSet::from_fields_v1(&unordered).unwrap().to_fields_v1())
                .unwrap(),
            "{\"f:z\":{},\"k:{\\\"a\\\":2,\\\"b\\\":1}\":{},\"v:\\\"x\\\"\":{},\"i:1\":{}}"
        );
        let a = FieldSet::from_fields_v1(&json!({"f:a": {}, "f:b": {"f:c": {}}})).unwrap();
        let b = FieldSet::from_fields_v1(&json!({"f:b": {".": {}, "f:c": {}}})).unwrap();
        assert_eq!(
            a.union(&b).to_fields_v1(),
            json!({"f:a": {}, "f:b": {".": {}, "f:c": {}}})
        );
        assert_eq!(
            a.intersection(&b).to_fields_v1(),
            json!({"f:b": {"f:c": {}}})
        );
        assert_eq!(a.difference(&b).to_fields_v1(), json!({"f:a": {}}));
        assert!(a.difference(&a).is_empty());
        assert!(FieldSet::from_fields_v1(&json!({"x:1": {}})).is_err());
    }

    #[test]
    fn fields_of_strips_meta() {
        let mut o = nginx_config();
        o["metadata"]["uid"] = json!("u");
        assert_eq!(
            fields_of(&o, Some(&schema())).to_fields_v1()["f:metadata"],
            json!({"f:labels": {"f:app": {}}})
        );
    }

    /// Applying and updating a Deployment of 4,000 containers is O(n log n)
    /// (list merges, comparisons and duplicate checks scanned the list for
    /// each item before, which stalled the server on a few thousand).
    #[test]
    fn large_associative_lists() {
        let n = 4_000;
        let containers = |image: &str| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"name": format!("c{i}"), "image": image}))
                .collect()
        };
        let cfg = deploy(json!({"template": {"spec": {"containers": containers("a")}}}));
        let first = ap(None, cfg, "kubectl", false, T1).unwrap_or_else(|e| panic!("{e:?}"));
        let mut reversed = containers("b");
        reversed.reverse();
        let cfg = deploy(json!({"template": {"spec": {"containers": reversed}}}));
        let out = ap(Some(&first), cfg, "kubectl", false, T2).unwrap_or_else(|e| panic!("{e:?}"));
        let list = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(list.len(), n);
        assert!(list.iter().all(|c| c["image"] == "b"));
        let mut changed = out.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("c");
        let updated = update(
            Some(&out),
            &changed,
            "editor",
            "apps/v1",
            None,
            T3,
            Some(&schema()),
        );
        let editor = updated["metadata"]["managedFields"]
            .as_array()
            .and_then(|m| m.iter().find(|e| e["manager"] == "editor").cloned());
        assert!(editor.is_some(), "{}", updated["metadata"]["managedFields"]);
        // Duplicate keys are still found.
        let dup = deploy(json!({"template": {"spec": {"containers": [
            {"name": "x", "image": "a"}, {"name": "x", "image": "b"}]}}}));
        assert!(ap(None, dup, "kubectl", false, T1).is_err());
    }
}
