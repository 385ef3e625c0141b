//! API defaulting of stored objects, reproducing what upstream kube-apiserver does while decoding a
//! request body (the scheme's defaulting functions), plus the two defaulting admission steps every
//! pod goes through on create (DefaultTolerationSeconds here; Priority, which reads the
//! PriorityClasses, is `registry::admission`).
//!
//! Specification (upstream kubernetes/kubernetes):
//! - `pkg/apis/core/v1/defaults.go` and the generated `pkg/apis/core/v1/zz_generated.defaults.go`
//!   (which nested defaulters run for which type: e.g. a Pod gets `SetDefaults_Pod` *and*
//!   `SetDefaults_PodSpec`, whereas pod templates only get `SetDefaults_PodSpec` and the nested ones);
//! - `pkg/apis/apps/v1/defaults.go` (+ its generated file, which defaults the embedded pod templates);
//! - `plugin/pkg/admission/defaulttolerationseconds` and `plugin/pkg/admission/priority`.
//!
//! Objects are raw wire JSON. Go decodes `null` as "unset" and treats `""`/`0` in non-pointer fields
//! as unset too; the helpers below mirror that. Values of an unexpected JSON type are left alone
//! (upstream would already have rejected the body while decoding). New keys are appended, so field
//! order of what the client sent is preserved.
//!
//! Besides true defaults, a few values that upstream always *serialises* because the Go field is a
//! non-pointer struct are materialised too, so stored JSON looks like upstream's output:
//! container `resources: {}`, pod-template `metadata: {creationTimestamp: null}` and Service
//! `status: {loadBalancer: {}}`.

use serde_json::{Map, Value, json};

pub type Obj = Map<String, Value>;

/// Applies `f` (one kind's upstream API defaults, in place) to `obj` if it is
/// an object, as the apiserver's decoding does. Kinds call it from
/// [`Kind::defaults`](crate::registry::kind::Kind::defaults).
pub fn on_object(obj: &mut Value, f: fn(&mut Obj)) {
    if let Some(o) = obj.as_object_mut() {
        f(o);
    }
}

/// PodTemplate: its `template` is a pod template.
pub fn default_pod_template_object(o: &mut Obj) {
    if let Some(t) = ensure_obj(o, "template") {
        default_pod_template(t);
    }
}

pub fn default_secret(o: &mut Obj) {
    merge_string_data(o);
    default_str(o, "type", "Opaque");
}

pub fn default_endpoints(o: &mut Obj) {
    for subset in objs_mut(o, "subsets") {
        for port in objs_mut(subset, "ports") {
            default_str(port, "protocol", "TCP");
        }
    }
}

/// A Secret's write-only `stringData` goes into `data` (base64), its values
/// winning over `data`'s, and is never stored (`pkg/apis/core/v1/
/// conversion.go` `Convert_v1_Secret_To_core_Secret`, on every decode: create,
/// update and patch). `data` then has its keys in order, as Go's map encoding.
/// Values that are not strings are left for the type check to refuse.
fn merge_string_data(o: &mut Obj) {
    use base64::Engine as _;
    let Some(Value::Object(string_data)) = o.get("stringData") else {
        if matches!(o.get("stringData"), Some(Value::Null)) {
            o.shift_remove("stringData");
        }
        return;
    };
    if string_data.values().any(|v| !v.is_string()) {
        return;
    }
    // `data` keeps its place, or takes `stringData`'s.
    if !matches!(o.get("data"), Some(Value::Object(_))) {
        let fields = std::mem::take(o);
        for (k, v) in fields {
            match k.as_str() {
                "data" => {}
                "stringData" => {
                    o.insert("data".into(), Value::Object(Map::new()));
                    o.insert(k, v);
                }
                _ => {
                    o.insert(k, v);
                }
            }
        }
    }
    let Some(Value::Object(string_data)) = o.shift_remove("stringData") else {
        return;
    };
    let Some(Value::Object(data)) = o.get_mut("data") else {
        return;
    };
    for (k, v) in string_data {
        if let Value::String(v) = v {
            let encoded = base64::engine::general_purpose::STANDARD.encode(v.as_bytes());
            data.insert(k, Value::String(encoded));
        }
    }
    data.sort_keys();
}

/// Default tolerations admission (plugin/pkg/admission/defaulttolerationseconds): adds
/// node.kubernetes.io/not-ready and unreachable NoExecute tolerations with tolerationSeconds 300 to pods lacking them.
///
/// A toleration with an empty key (matching every taint) or an empty effect (matching every effect)
/// counts as already tolerating, as upstream does.
pub fn add_default_tolerations(pod: &mut Value) {
    const NOT_READY: &str = "node.kubernetes.io/not-ready";
    const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
    let Some(p) = pod.as_object_mut() else {
        return;
    };
    let Some(spec) = ensure_obj(p, "spec") else {
        return;
    };
    if is_unset(spec.get("tolerations")) {
        spec.insert("tolerations".into(), Value::Array(Vec::new()));
    }
    let Some(tolerations) = spec.get_mut("tolerations").and_then(Value::as_array_mut) else {
        return;
    };
    let tolerates = |key: &str| {
        tolerations.iter().filter_map(Value::as_object).any(|t| {
            let k = str_of(t.get("key"));
            let effect = str_of(t.get("effect"));
            (k == key || k.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let missing: Vec<&str> = [NOT_READY, UNREACHABLE]
        .into_iter()
        .filter(|k| !tolerates(k))
        .collect();
    for key in missing {
        tolerations.push(json!({
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 300
        }));
    }
}

/// The two pod admission steps on update (a PUT or a patch of the pod itself): DefaultTolerationSeconds
/// runs again, and Priority keeps the `priority` and `preemptionPolicy` it set at create when the new
/// pod leaves them unset (`plugin/pkg/admission/priority` admitPod on Update). A changed value is left
/// for update validation to refuse. Together they let `kubectl replace` send back the manifest the pod
/// was created from, as upstream does.
pub fn admit_pod_update(pod: &mut Value, old: &Value) {
    add_default_tolerations(pod);
    let old_spec = old.get("spec");
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for f in ["priority", "preemptionPolicy"] {
        if is_unset(spec.get(f))
            && let Some(v) = old_spec.and_then(|s| s.get(f)).filter(|v| !v.is_null())
        {
            spec.insert(f.into(), v.clone());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers mirroring Go's notion of "unset".

/// `None` or `null`: an unset pointer / map / slice.
fn is_unset(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Unset, or the empty string: an unset non-pointer string field.
fn is_empty_str(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        _ => false,
    }
}

/// Unset, or numerically zero: an unset non-pointer integer field.
fn is_zero_num(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Number(n)) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn str_of(v: Option<&Value>) -> &str {
    v.and_then(Value::as_str).unwrap_or("")
}

/// Defaults a pointer-typed field: set when absent or null.
fn default_ptr(m: &mut Obj, key: &str, val: Value) {
    if is_unset(m.get(key)) {
        m.insert(key.to_owned(), val);
    }
}

/// Defaults a string field: set when absent, null or empty.
fn default_str(m: &mut Obj, key: &str, val: &str) {
    if is_empty_str(m.get(key)) {
        m.insert(key.to_owned(), Value::String(val.to_owned()));
    }
}

/// Defaults an integer field compared against zero.
fn default_int(m: &mut Obj, key: &str, val: i64) {
    if is_zero_num(m.get(key)) {
        m.insert(key.to_owned(), Value::from(val));
    }
}

/// Ensures `m[key]` is an object (creating `{}` when absent or null) and returns it; `None` when
/// it holds some other JSON type.
fn ensure_obj<'a>(m: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    if is_unset(m.get(key)) {
        m.insert(key.to_owned(), Value::Object(Obj::new()));
    }
    m.get_mut(key).and_then(Value::as_object_mut)
}

/// The object at `m[key]`, if it is one (pointer-typed nested struct that is set).
fn child<'a>(m: &'a mut Obj, key: &str) -> Option<&'a mut Obj> {
    m.get_mut(key).and_then(Value::as_object_mut)
}

/// The object elements of the array at `m[key]`.
fn objs_mut<'a>(m: &'a mut Obj, key: &str) -> impl Iterator<Item = &'a mut Obj> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

/// Materialises `metadata.creationTimestamp: null` of an embedded ObjectMeta (template), which
/// upstream always serialises because `metav1.Time` is a non-pointer struct.
fn template_metadata(t: &mut Obj) {
    if let Some(meta) = ensure_obj(t, "metadata")
        && !meta.contains_key("creationTimestamp")
    {
        meta.insert("creationTimestamp".into(), Value::Null);
    }
}

// ---------------------------------------------------------------------------------------------
// core/v1: pods and pod templates.

/// SetObjectDefaults_Pod: `SetDefaults_Pod`, then `SetDefaults_PodSpec` and the nested defaulters.
pub fn default_pod(pod: &mut Obj) {
    let Some(spec) = ensure_obj(pod, "spec") else {
        return;
    };
    pod_only_defaults(spec);
    pod_spec_defaults(spec);
}

/// A PodTemplateSpec (PodTemplate, controllers' templates): no `SetDefaults_Pod` part.
fn default_pod_template(t: &mut Obj) {
    template_metadata(t);
    if let Some(spec) = ensure_obj(t, "spec") {
        pod_spec_defaults(spec);
    }
}

/// SetDefaults_Pod (pods only, never templates).
fn pod_only_defaults(spec: &mut Obj) {
    for key in ["containers", "initContainers"] {
        for c in objs_mut(spec, key) {
            requests_from_limits(c);
        }
    }
    // (PodLevelResources defaulting is behind an alpha feature gate, off by default.)
    default_ptr(spec, "enableServiceLinks", Value::Bool(true));
    if spec.get("hostNetwork") == Some(&Value::Bool(true)) {
        for key in ["containers", "initContainers"] {
            for c in objs_mut(spec, key) {
                for port in objs_mut(c, "ports") {
                    if !is_zero_num(port.get("hostPort")) || is_zero_num(port.get("containerPort"))
                    {
                        continue;
                    }
                    if let Some(cp) = port.get("containerPort").cloned() {
                        port.insert("hostPort".into(), cp);
                    }
                }
            }
        }
    }
}

/// Container requests default to its limits for every resource that has no request.
fn requests_from_limits(c: &mut Obj) {
    let Some(res) = child(c, "resources") else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object) else {
        return;
    };
    let existing = res.get("requests").and_then(Value::as_object);
    if !is_unset(res.get("requests")) && existing.is_none() {
        return;
    }
    let to_add: Vec<(String, Value)> = limits
        .iter()
        .filter(|(k, _)| existing.is_none_or(|r| !r.contains_key(k.as_str())))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // Upstream creates an empty map when there is nothing to copy, which is never serialised.
    if to_add.is_empty() {
        return;
    }
    if let Some(requests) = ensure_obj(res, "requests") {
        requests.extend(to_add);
    }
}

/// SetDefaults_PodSpec plus the generated nested defaulters for volumes and containers.
fn pod_spec_defaults(spec: &mut Obj) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_ptr(spec, "securityContext", json!({}));
    default_ptr(spec, "terminationGracePeriodSeconds", json!(30));
    default_str(spec, "schedulerName", "default-scheduler");
    for v in objs_mut(spec, "volumes") {
        volume_defaults(v);
    }
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for c in objs_mut(spec, key) {
            container_defaults(c);
        }
    }
}

/// SetDefaults_Volume and the per-source defaulters.
fn volume_defaults(v: &mut Obj) {
    // A volume naming no source at all becomes an emptyDir.
    if !v.iter().any(|(k, val)| k != "name" && !val.is_null()) {
        v.insert("emptyDir".into(), json!({}));
    }
    if let Some(img) = child(v, "image")
        && is_empty_str(img.get("pullPolicy"))
    {
        let policy = pull_policy_for(str_of(img.get("reference")));
        img.insert("pullPolicy".into(), json!(policy));
    }
    if let Some(hp) = child(v, "hostPath") {
        // HostPathUnset is the empty string.
        default_ptr(hp, "type", json!(""));
    }
    if let Some(s) = child(v, "secret") {
        default_ptr(s, "defaultMode", json!(420));
    }
    if let Some(s) = child(v, "iscsi") {
        default_str(s, "iscsiInterface", "default");
    }
    if let Some(s) = child(v, "rbd") {
        rbd_defaults(s);
    }
    if let Some(s) = child(v, "downwardAPI") {
        default_ptr(s, "defaultMode", json!(420));
        downward_items(s);
    }
    if let Some(s) = child(v, "configMap") {
        default_ptr(s, "defaultMode", json!(420));
    }
    if let Some(s) = child(v, "azureDisk") {
        azure_disk_defaults(s);
    }
    if let Some(s) = child(v, "projected") {
        default_ptr(s, "defaultMode", json!(420));
        for src in objs_mut(s, "sources") {
            if let Some(d) = child(src, "downwardAPI") {
                downward_items(d);
            }
            if let Some(t) = child(src, "serviceAccountToken") {
                default_ptr(t, "expirationSeconds", json!(3600));
            }
        }
    }
    if let Some(s) = child(v, "scaleIO") {
        scale_io_defaults(s);
    }
    if let Some(tmpl) = child(v, "ephemeral").and_then(|e| child(e, "volumeClaimTemplate")) {
        template_metadata(tmpl);
        if let Some(spec) = ensure_obj(tmpl, "spec") {
            default_ptr(spec, "volumeMode", json!("Filesystem"));
        }
    }
}

fn downward_items(d: &mut Obj) {
    for item in objs_mut(d, "items") {
        if let Some(f) = child(item, "fieldRef") {
            default_str(f, "apiVersion", "v1");
        }
    }
}

fn rbd_defaults(s: &mut Obj) {
    default_str(s, "pool", "rbd");
    default_str(s, "user", "admin");
    default_str(s, "keyring", "/etc/ceph/keyring");
}

fn azure_disk_defaults(s: &mut Obj) {
    default_ptr(s, "cachingMode", json!("ReadWrite"));
    default_ptr(s, "kind", json!("Shared"));
    default_ptr(s, "fsType", json!("ext4"));
    default_ptr(s, "readOnly", json!(false));
}

fn scale_io_defaults(s: &mut Obj) {
    default_str(s, "storageMode", "ThinProvisioned");
    default_str(s, "fsType", "xfs");
}

/// SetDefaults_Container plus ports, env fieldRefs, probes and lifecycle handlers.
fn container_defaults(c: &mut Obj) {
    if is_empty_str(c.get("imagePullPolicy")) {
        let policy = pull_policy_for(str_of(c.get("image")));
        c.insert("imagePullPolicy".into(), json!(policy));
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    for port in objs_mut(c, "ports") {
        default_str(port, "protocol", "TCP");
    }
    for env in objs_mut(c, "env") {
        if let Some(f) = child(env, "valueFrom").and_then(|vf| child(vf, "fieldRef")) {
            default_str(f, "apiVersion", "v1");
        }
    }
    // Always serialised upstream (non-pointer struct).
    default_ptr(c, "resources", json!({}));
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = child(c, key) {
            probe_defaults(p);
        }
    }
    if let Some(lc) = child(c, "lifecycle") {
        for key in ["postStart", "preStop"] {
            if let Some(h) = child(lc, key).and_then(|h| child(h, "httpGet")) {
                http_get_defaults(h);
            }
        }
    }
}

fn probe_defaults(p: &mut Obj) {
    default_int(p, "timeoutSeconds", 1);
    default_int(p, "periodSeconds", 10);
    default_int(p, "successThreshold", 1);
    default_int(p, "failureThreshold", 3);
    if let Some(h) = child(p, "httpGet") {
        http_get_defaults(h);
    }
    if let Some(g) = child(p, "grpc") {
        default_ptr(g, "service", json!(""));
    }
}

fn http_get_defaults(h: &mut Obj) {
    default_str(h, "path", "/");
    default_str(h, "scheme", "HTTP");
}

/// `Always` when the image's tag is `latest` (explicitly, or implicitly: neither tag nor digest),
/// else `IfNotPresent`; an unparsable reference yields `IfNotPresent` (upstream ignores the error
/// of `parsers.ParseImageName` and sees an empty tag).
fn pull_policy_for(image: &str) -> &'static str {
    match parse_image_tag(image) {
        Some(ImageRef {
            tag: Some("latest"),
            ..
        })
        | Some(ImageRef {
            tag: None,
            digest: false,
        }) => "Always",
        _ => "IfNotPresent",
    }
}

struct ImageRef<'a> {
    tag: Option<&'a str>,
    digest: bool,
}

/// A parse of an image reference following github.com/distribution/reference
/// (`ParseNormalizedNamed`), reduced to what pull-policy defaulting needs.
fn parse_image_tag(s: &str) -> Option<ImageRef<'_>> {
    // A bare 64-hex identifier is rejected.
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    // splitDockerDomain: the first component is a registry only if it looks like one.
    let (domain, remainder) = match s.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => ("docker.io", s),
    };
    let remote_name = remainder.split_once(':').map_or(remainder, |(n, _)| n);
    if remote_name.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let (name_tag, digest) = match remainder.split_once('@') {
        Some((nt, d)) => (nt, Some(d)),
        None => (remainder, None),
    };
    let (path, tag) = match name_tag.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (name_tag, None),
    };
    let implicit_library = domain == "docker.io" && !path.contains('/');
    let name_len = domain.len() + 1 + if implicit_library { 8 } else { 0 } + path.len();
    if name_len > 255 || !valid_domain(domain) || !path.split('/').all(valid_path_component) {
        return None;
    }
    if let Some(t) = tag
        && !valid_tag(t)
    {
        return None;
    }
    if let Some(d) = digest
        && !valid_digest(d)
    {
        return None;
    }
    Some(ImageRef {
        tag,
        digest: digest.is_some(),
    })
}

/// `host[:port]`, host being dot-separated `[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` components or
/// a bracketed IPv6 literal.
fn valid_domain(d: &str) -> bool {
    let valid_port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = d.strip_prefix('[') {
        let Some((ip, after)) = rest.split_once(']') else {
            return false;
        };
        let ip_ok = !ip.is_empty() && ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        return ip_ok && (after.is_empty() || after.strip_prefix(':').is_some_and(valid_port));
    }
    let host = match d.rsplit_once(':') {
        Some((h, p)) if valid_port(p) => h,
        Some(_) => return false,
        None => d,
    };
    !host.is_empty()
        && host.split('.').all(|c| {
            let b = c.as_bytes();
            match (b.first(), b.last()) {
                (Some(f), Some(l)) => {
                    f.is_ascii_alphanumeric()
                        && l.is_ascii_alphanumeric()
                        && b.iter().all(|x| x.is_ascii_alphanumeric() || *x == b'-')
                }
                _ => false,
            }
        })
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: &u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    // Separators between alphanumeric runs: one '.', one or two '_', or any number of '-'.
    let mut i = 0;
    while i < b.len() {
        if b.get(i).is_some_and(alnum) {
            i += 1;
            continue;
        }
        let start = i;
        while b.get(i).is_some_and(|x| !alnum(x)) {
            i += 1;
        }
        let sep = b.get(start..i).unwrap_or_default();
        let ok = sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|x| *x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(t: &str) -> bool {
    let word = |x: u8| x.is_ascii_alphanumeric() || x == b'_';
    let b = t.as_bytes();
    b.first().is_some_and(|f| word(*f))
        && b.len() <= 128
        && b.iter().all(|x| word(*x) || *x == b'.' || *x == b'-')
}

/// A digest as accepted by go-digest `Parse`: a registered algorithm and a lowercase hex
/// encoding of its exact length.
fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

// ---------------------------------------------------------------------------------------------
// core/v1: other kinds.

/// SetDefaults_ReplicationController: selector and labels from the template labels, replicas 1.
pub fn default_replication_controller(rc: &mut Obj) {
    let template_labels = rc
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.is_object())
        .cloned();
    if let Some(labels) = template_labels {
        if let Some(spec) = ensure_obj(rc, "spec")
            && spec
                .get("selector")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
        {
            spec.insert("selector".into(), labels.clone());
        }
        if let Some(meta) = ensure_obj(rc, "metadata")
            && meta
                .get("labels")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
        {
            meta.insert("labels".into(), labels);
        }
    }
    let Some(spec) = ensure_obj(rc, "spec") else {
        return;
    };
    default_ptr(spec, "replicas", json!(1));
    // The RC template is a pointer: only defaulted when present.
    if let Some(t) = child(spec, "template") {
        default_pod_template(t);
    }
}

/// SetDefaults_Service plus generated port protocol defaulting.
pub fn default_service(svc: &mut Obj) {
    if let Some(spec) = ensure_obj(svc, "spec") {
        default_str(spec, "sessionAffinity", "None");
        match str_of(spec.get("sessionAffinity")) {
            "None" => {
                spec.shift_remove("sessionAffinityConfig");
            }
            "ClientIP" => {
                let has_timeout = spec
                    .get("sessionAffinityConfig")
                    .and_then(|c| c.get("clientIP"))
                    .and_then(|c| c.get("timeoutSeconds"))
                    .is_some_and(|t| !t.is_null());
                if !has_timeout {
                    spec.insert(
                        "sessionAffinityConfig".into(),
                        json!({"clientIP": {"timeoutSeconds": 10800}}),
                    );
                }
            }
            _ => {}
        }
        default_str(spec, "type", "ClusterIP");
        for port in objs_mut(spec, "ports") {
            default_str(port, "protocol", "TCP");
            let unset = match port.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.is_empty(),
                Some(Value::Number(n)) => n.as_f64() == Some(0.0),
                _ => false,
            };
            if unset {
                let p = port
                    .get("port")
                    .filter(|p| p.is_number())
                    .cloned()
                    .unwrap_or(json!(0));
                port.insert("targetPort".into(), p);
            }
        }
        let ty = str_of(spec.get("type")).to_owned();
        let has_external_ips = spec
            .get("externalIPs")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        let externally_accessible =
            ty == "LoadBalancer" || ty == "NodePort" || (ty == "ClusterIP" && has_external_ips);
        if externally_accessible {
            default_str(spec, "externalTrafficPolicy", "Cluster");
        }
        if matches!(ty.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
            default_ptr(spec, "internalTrafficPolicy", json!("Cluster"));
        }
        if ty == "LoadBalancer" {
            default_ptr(spec, "allocateLoadBalancerNodePorts", json!(true));
            if let Some(lb) = child(svc, "status").and_then(|s| child(s, "loadBalancer")) {
                for ing in objs_mut(lb, "ingress") {
                    if !str_of(ing.get("ip")).is_empty() {
                        default_ptr(ing, "ipMode", json!("VIP"));
                    }
                }
            }
        }
    }
    // Always serialised upstream (non-pointer structs).
    if let Some(status) = ensure_obj(svc, "status") {
        default_ptr(status, "loadBalancer", json!({}));
    }
}

/// SetDefaults_Namespace (the `kubernetes.io/metadata.name` label) and SetDefaults_NamespaceStatus.
pub fn default_namespace(ns: &mut Obj) {
    let name = ns
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if let Some(name) = name
        && let Some(labels) = ensure_obj(ns, "metadata").and_then(|m| ensure_obj(m, "labels"))
    {
        labels.insert("kubernetes.io/metadata.name".into(), Value::String(name));
    }
    if let Some(status) = ensure_obj(ns, "status") {
        default_str(status, "phase", "Active");
    }
}

/// SetDefaults_NodeStatus: allocatable defaults to capacity.
pub fn default_node(node: &mut Obj) {
    let Some(status) = child(node, "status") else {
        return;
    };
    if is_unset(status.get("allocatable"))
        && let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned()
    {
        status.insert("allocatable".into(), cap);
    }
}

pub fn default_persistent_volume(pv: &mut Obj) {
    if let Some(spec) = ensure_obj(pv, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_ptr(spec, "volumeMode", json!("Filesystem"));
        if let Some(hp) = child(spec, "hostPath") {
            default_ptr(hp, "type", json!(""));
        }
        if let Some(s) = child(spec, "rbd") {
            rbd_defaults(s);
        }
        if let Some(s) = child(spec, "iscsi") {
            default_str(s, "iscsiInterface", "default");
        }
        if let Some(s) = child(spec, "azureDisk") {
            azure_disk_defaults(s);
        }
        if let Some(s) = child(spec, "scaleIO") {
            scale_io_defaults(s);
        }
    }
    if let Some(status) = ensure_obj(pv, "status") {
        default_str(status, "phase", "Pending");
    }
}

/// SetDefaults_PersistentVolumeClaim + SetDefaults_PersistentVolumeClaimSpec (also used for
/// StatefulSet volumeClaimTemplates).
pub fn default_pvc(pvc: &mut Obj) {
    if let Some(spec) = ensure_obj(pvc, "spec") {
        default_ptr(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = ensure_obj(pvc, "status") {
        default_str(status, "phase", "Pending");
    }
}

/// SetDefaults_LimitRangeItem for `type: Container` items.
pub fn default_limit_range(lr: &mut Obj) {
    let Some(spec) = child(lr, "spec") else {
        return;
    };
    for item in objs_mut(spec, "limits") {
        if str_of(item.get("type")) != "Container" {
            continue;
        }
        // default <- max; defaultRequest <- default; defaultRequest <- min (missing keys only).
        for (from, to) in [
            ("max", "default"),
            ("default", "defaultRequest"),
            ("min", "defaultRequest"),
        ] {
            let source = item
                .get(from)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(target) = ensure_obj(item, to) {
                for (k, v) in source {
                    target.entry(k).or_insert(v);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// apps/v1.

/// Defaults `spec.template` (a non-pointer PodTemplateSpec in apps/v1).
fn spec_template(spec: &mut Obj) {
    if let Some(t) = ensure_obj(spec, "template") {
        default_pod_template(t);
    }
}

pub fn default_deployment(d: &mut Obj) {
    let Some(spec) = ensure_obj(d, "spec") else {
        return;
    };
    default_ptr(spec, "replicas", json!(1));
    if let Some(strategy) = ensure_obj(spec, "strategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy.get("type")) == "RollingUpdate"
            && let Some(ru) = ensure_obj(strategy, "rollingUpdate")
        {
            default_ptr(ru, "maxUnavailable", json!("25%"));
            default_ptr(ru, "maxSurge", json!("25%"));
        }
    }
    default_ptr(spec, "revisionHistoryLimit", json!(10));
    default_ptr(spec, "progressDeadlineSeconds", json!(600));
    spec_template(spec);
}

pub fn default_replica_set(rs: &mut Obj) {
    let Some(spec) = ensure_obj(rs, "spec") else {
        return;
    };
    default_ptr(spec, "replicas", json!(1));
    spec_template(spec);
}

pub fn default_daemon_set(ds: &mut Obj) {
    let Some(spec) = ensure_obj(ds, "spec") else {
        return;
    };
    if let Some(strategy) = ensure_obj(spec, "updateStrategy") {
        default_str(strategy, "type", "RollingUpdate");
        if str_of(strategy.get("type")) == "RollingUpdate"
            && let Some(ru) = ensure_obj(strategy, "rollingUpdate")
        {
            default_ptr(ru, "maxUnavailable", json!(1));
            default_ptr(ru, "maxSurge", json!(0));
        }
    }
    default_ptr(spec, "revisionHistoryLimit", json!(10));
    spec_template(spec);
}

pub fn default_stateful_set(ss: &mut Obj) {
    let Some(spec) = ensure_obj(ss, "spec") else {
        return;
    };
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(strategy) = ensure_obj(spec, "updateStrategy") {
        if is_empty_str(strategy.get("type")) {
            strategy.insert("type".into(), json!("RollingUpdate"));
            default_ptr(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy.get("type")) == "RollingUpdate"
            && let Some(ru) = child(strategy, "rollingUpdate")
        {
            default_ptr(ru, "partition", json!(0));
        }
    }
    // StatefulSetAutoDeletePVC is enabled by default.
    if let Some(policy) = ensure_obj(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(policy, "whenDeleted", "Retain");
        default_str(policy, "whenScaled", "Retain");
    }
    default_ptr(spec, "replicas", json!(1));
    default_ptr(spec, "revisionHistoryLimit", json!(10));
    spec_template(spec);
    for pvc in objs_mut(spec, "volumeClaimTemplates") {
        template_metadata(pvc);
        default_pvc(pvc);
    }
}

// ---------------------------------------------------------------------------------------------
// batch/v1 (`pkg/apis/batch/v1/defaults.go`).

/// SetDefaults_Job: counts (an unset pair means one pod), backoff limit (the
/// highest int32 with a per-index limit), completion mode, suspend, pod
/// replacement, manualSelector, pod failure policy patterns; labels from the
/// template's when the Job has none; the pod template.
pub fn default_job(job: &mut Obj) {
    let template_labels = job
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|t| t.get("metadata"))
        .and_then(|m| m.get("labels"))
        .filter(|l| l.as_object().is_some_and(|l| !l.is_empty()))
        .cloned();
    if let Some(labels) = template_labels
        && let Some(meta) = ensure_obj(job, "metadata")
        && meta
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty)
    {
        meta.insert("labels".into(), labels);
    }
    let Some(spec) = ensure_obj(job, "spec") else {
        return;
    };
    if is_unset(spec.get("completions")) && is_unset(spec.get("parallelism")) {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    default_ptr(spec, "parallelism", json!(1));
    let per_index = !is_unset(spec.get("backoffLimitPerIndex"));
    default_ptr(
        spec,
        "backoffLimit",
        json!(if per_index { i64::from(i32::MAX) } else { 6 }),
    );
    default_ptr(spec, "completionMode", json!("NonIndexed"));
    default_ptr(spec, "suspend", json!(false));
    let has_failure_policy = !is_unset(spec.get("podFailurePolicy"));
    if let Some(policy) = child(spec, "podFailurePolicy") {
        for rule in objs_mut(policy, "rules") {
            for pattern in objs_mut(rule, "onPodConditions") {
                default_str(pattern, "status", "True");
            }
        }
    }
    default_ptr(
        spec,
        "podReplacementPolicy",
        json!(if has_failure_policy {
            "Failed"
        } else {
            "TerminatingOrFailed"
        }),
    );
    default_ptr(spec, "manualSelector", json!(false));
    spec_template(spec);
}

/// SetDefaults_CronJob: concurrency Allow, not suspended, history limits 3
/// and 1; the job template's pod template (its JobSpec is not defaulted).
pub fn default_cron_job(cj: &mut Obj) {
    let Some(spec) = ensure_obj(cj, "spec") else {
        return;
    };
    default_str(spec, "concurrencyPolicy", "Allow");
    default_ptr(spec, "suspend", json!(false));
    default_ptr(spec, "successfulJobsHistoryLimit", json!(3));
    default_ptr(spec, "failedJobsHistoryLimit", json!(1));
    if let Some(jt) = ensure_obj(spec, "jobTemplate") {
        template_metadata(jt);
        if let Some(js) = ensure_obj(jt, "spec") {
            spec_template(js);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// scheduling.k8s.io/v1, autoscaling.

/// SetDefaults_PriorityClass.
pub fn default_priority_class(pc: &mut Obj) {
    default_ptr(pc, "preemptionPolicy", json!("PreemptLowerPriority"));
}

/// autoscaling/v1 SetDefaults_HorizontalPodAutoscaler: `minReplicas` 1.
pub fn default_hpa_v1(hpa: &mut Obj) {
    if let Some(spec) = ensure_obj(hpa, "spec") {
        default_ptr(spec, "minReplicas", json!(1));
    }
}

/// The scale-up and scale-down rules an HPA's `behavior` is completed with
/// (`pkg/apis/autoscaling/v2/defaults.go`).
fn default_scaling_rules(rules: &mut Obj, up: bool) {
    if up {
        default_ptr(rules, "stabilizationWindowSeconds", json!(0));
    }
    default_ptr(rules, "selectPolicy", json!("Max"));
    if is_unset(rules.get("policies")) {
        let policies = if up {
            json!([
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ])
        } else {
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}])
        };
        rules.insert("policies".into(), policies);
    }
}

/// autoscaling/v2 SetDefaults_HorizontalPodAutoscaler: `minReplicas` 1, a
/// cpu utilization target of 80% when no metric is given, and a given
/// `behavior` completed with the default rules.
pub fn default_hpa_v2(hpa: &mut Obj) {
    let Some(spec) = ensure_obj(hpa, "spec") else {
        return;
    };
    default_ptr(spec, "minReplicas", json!(1));
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(b) = child(spec, "behavior") {
        if let Some(up) = ensure_obj(b, "scaleUp") {
            default_scaling_rules(up, true);
        }
        if let Some(down) = ensure_obj(b, "scaleDown") {
            default_scaling_rules(down, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults of `key`: a served kind's, or of a kind not yet served
    /// whose defaults are already here.
    fn apply_defaults(key: &str, obj: &mut Value) {
        if let Some(k) = crate::registry::kinds::by_key(key) {
            return k.defaults(obj);
        }
        let f: fn(&mut Obj) = match key {
            "replicationcontrollers" => default_replication_controller,
            "persistentvolumes" => default_persistent_volume,
            "persistentvolumeclaims" => default_pvc,
            "limitranges" => default_limit_range,
            "apps/daemonsets" => default_daemon_set,
            "apps/statefulsets" => default_stateful_set,
            _ => |_| {},
        };
        on_object(obj, f);
    }

    const SEED_POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx-pod","labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.7.9","ports":[{"containerPort":80}]}]}}"#;

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap_or(Value::Null)
    }

    /// Exact comparison including key order.
    fn assert_json(actual: &Value, expected: &Value) {
        assert_eq!(
            serde_json::to_string_pretty(actual).unwrap_or_default(),
            serde_json::to_string_pretty(expected).unwrap_or_default()
        );
    }

    fn defaulted(key: &str, mut v: Value) -> Value {
        apply_defaults(key, &mut v);
        let once = v.clone();
        apply_defaults(key, &mut v);
        assert_json(&v, &once); // idempotent
        v
    }

    fn nginx_container(pull: &str) -> Value {
        json!({
            "name": "nginx",
            "image": "nginx:1.7.9",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "imagePullPolicy": pull,
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "resources": {}
        })
    }

    #[test]
    fn seed_pod_decoding_defaults() {
        let pod = defaulted("pods", parse(SEED_POD));
        let expected = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nginx-pod", "labels": {"app": "nginx"}},
            "spec": {
                "containers": [nginx_container("IfNotPresent")],
                "enableServiceLinks": true,
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
                "schedulerName": "default-scheduler"
            }
        });
        assert_json(&pod, &expected);
    }

    #[test]
    fn seed_pod_full_create_pipeline() {
        let mut pod = parse(SEED_POD);
        apply_defaults("pods", &mut pod);
        add_default_tolerations(&mut pod);
        // The Priority plugin with no PriorityClass stored.
        let priority = crate::registry::admission::priority_for_pod;
        assert_eq!(priority(&mut pod, &[]), Ok(()));
        let once = pod.clone();
        apply_defaults("pods", &mut pod);
        add_default_tolerations(&mut pod);
        assert_eq!(priority(&mut pod, &[]), Ok(()));
        assert_json(&pod, &once);
        let expected = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nginx-pod", "labels": {"app": "nginx"}},
            "spec": {
                "containers": [nginx_container("IfNotPresent")],
                "enableServiceLinks": true,
                "dnsPolicy": "ClusterFirst",
                "restartPolicy": "Always",
                "securityContext": {},
                "terminationGracePeriodSeconds": 30,
                "schedulerName": "default-scheduler",
                "tolerations": [
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                ],
                "priority": 0,
                "preemptionPolicy": "PreemptLowerPriority"
            }
        });
        assert_json(&pod, &expected);
    }

    #[test]
    fn tolerations_respect_existing_ones() {
        // A wildcard-key NoExecute toleration covers both.
        let mut pod =
            json!({"spec": {"tolerations": [{"operator": "Exists", "effect": "NoExecute"}]}});
        add_default_tolerations(&mut pod);
        assert_json(
            &pod,
            &json!({"spec": {"tolerations": [{"operator": "Exists", "effect": "NoExecute"}]}}),
        );
        // A not-ready toleration with any effect covers only not-ready.
        let mut pod = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]}});
        add_default_tolerations(&mut pod);
        assert_json(
            &pod,
            &json!({"spec": {"tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists"},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]}}),
        );
        // A NoSchedule toleration for not-ready does not count.
        let mut pod = json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]}});
        add_default_tolerations(&mut pod);
        let n = pod["spec"]["tolerations"].as_array().map_or(0, Vec::len);
        assert_eq!(n, 3);
    }

    #[test]
    fn pod_update_admission_keeps_admitted_fields() {
        let old = json!({"spec": {"priority": 7, "preemptionPolicy": "Never", "tolerations": []}});
        // The manifest the pod was created from: both come back.
        let mut new = json!({"spec": {"containers": []}});
        admit_pod_update(&mut new, &old);
        assert_eq!(new["spec"]["priority"], 7);
        assert_eq!(new["spec"]["preemptionPolicy"], "Never");
        assert_eq!(new["spec"]["tolerations"].as_array().map_or(0, Vec::len), 2);
        // A changed value stays, for validation to refuse.
        let mut new = json!({"spec": {"priority": 5, "preemptionPolicy": null}});
        admit_pod_update(&mut new, &old);
        assert_eq!(new["spec"]["priority"], 5);
        assert_eq!(new["spec"]["preemptionPolicy"], "Never");
    }

    fn seed_template_spec() -> Value {
        json!({
            "containers": [nginx_container("IfNotPresent")],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "securityContext": {},
            "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler"
        })
    }

    #[test]
    fn seed_deployment() {
        let d = defaulted(
            "apps/deployments",
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
                "spec": {
                    "replicas": 3,
                    "selector": {"matchLabels": {"app": "nginx"}},
                    "template": {
                        "metadata": {"labels": {"app": "nginx"}},
                        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.7.9", "ports": [{"containerPort": 80}]}]}
                    }
                }
            }),
        );
        let expected = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}, "creationTimestamp": null},
                    "spec": seed_template_spec()
                },
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            }
        });
        assert_json(&d, &expected);
    }

    #[test]
    fn deployment_recreate_and_replicas_default() {
        let d = defaulted(
            "apps/deployments",
            json!({"spec": {"strategy": {"type": "Recreate"}, "template": {"spec": {"containers": []}}}}),
        );
        let expected = json!({"spec": {
            "strategy": {"type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                    "schedulerName": "default-scheduler"
                },
                "metadata": {"creationTimestamp": null}
            },
            "replicas": 1,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        }});
        // Key order differs from insertion of template metadata; compare as values.
        assert_eq!(d, expected);
    }

    #[test]
    fn replicaset() {
        let rs = defaulted(
            "apps/replicasets",
            json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {"name": "frontend"},
                "spec": {
                    "selector": {"matchLabels": {"tier": "frontend"}},
                    "template": {
                        "metadata": {"labels": {"tier": "frontend"}},
                        "spec": {"containers": [{"name": "php", "image": "gcr.io/google_samples/gb-frontend:v3"}]}
                    }
                }
            }),
        );
        let expected = json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "frontend"},
            "spec": {
                "selector": {"matchLabels": {"tier": "frontend"}},
                "template": {
                    "metadata": {"labels": {"tier": "frontend"}, "creationTimestamp": null},
                    "spec": {
                        "containers": [{
                            "name": "php",
                            "image": "gcr.io/google_samples/gb-frontend:v3",
                            "imagePullPolicy": "IfNotPresent",
                            "terminationMessagePath": "/dev/termination-log",
                            "terminationMessagePolicy": "File",
                            "resources": {}
                        }],
                        "dnsPolicy": "ClusterFirst",
                        "restartPolicy": "Always",
                        "securityContext": {},
                        "terminationGracePeriodSeconds": 30,
                        "schedulerName": "default-scheduler"
                    }
                },
                "replicas": 1
            }
        });
        assert_json(&rs, &expected);
    }

    #[test]
    fn service_one_port() {
        let svc = defaulted(
            "services",
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "my-service"},
                "spec": {"selector": {"app": "nginx"}, "ports": [{"port": 80}]}
            }),
        );
        let expected = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "my-service"},
            "spec": {
                "selector": {"app": "nginx"},
                "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
                "internalTrafficPolicy": "Cluster"
            },
            "status": {"loadBalancer": {}}
        });
        assert_json(&svc, &expected);
    }

    #[test]
    fn service_load_balancer_and_client_ip() {
        let svc = defaulted(
            "services",
            json!({"spec": {
                "type": "LoadBalancer",
                "sessionAffinity": "ClientIP",
                "ports": [{"port": 443, "targetPort": "https", "protocol": "UDP"}]
            }, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}, {"hostname": "lb"}]}}}),
        );
        let expected = json!({"spec": {
            "type": "LoadBalancer",
            "sessionAffinity": "ClientIP",
            "ports": [{"port": 443, "targetPort": "https", "protocol": "UDP"}],
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "allocateLoadBalancerNodePorts": true
        }, "status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.1", "ipMode": "VIP"}, {"hostname": "lb"}]}}});
        assert_json(&svc, &expected);
        // ExternalName: no internal traffic policy; None affinity drops a config.
        let svc = defaulted(
            "services",
            json!({"spec": {"type": "ExternalName", "externalName": "x.example", "sessionAffinityConfig": {"clientIP": {}}}}),
        );
        assert_json(
            &svc,
            &json!({"spec": {"type": "ExternalName", "externalName": "x.example", "sessionAffinity": "None"},
                    "status": {"loadBalancer": {}}}),
        );
    }

    #[test]
    fn secret_and_namespace() {
        let s = defaulted(
            "secrets",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}),
        );
        assert_json(
            &s,
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}, "type": "Opaque"}),
        );
        // stringData is merged into data (base64, winning) and dropped.
        let s = defaulted(
            "secrets",
            json!({"metadata": {"name": "s"}, "data": {"z": "eg==", "k": "dg=="}, "stringData": {"k": "new", "a": "héllo"}}),
        );
        assert_eq!(
            s,
            json!({"metadata": {"name": "s"}, "data": {"a": "aMOpbGxv", "k": "bmV3", "z": "eg=="}, "type": "Opaque"})
        );
        assert_eq!(
            serde_json::to_string(&s["data"]).unwrap(),
            r#"{"a":"aMOpbGxv","k":"bmV3","z":"eg=="}"#
        );
        let s = defaulted(
            "secrets",
            json!({"kind": "Secret", "stringData": {"k": "v"}, "type": "Opaque"}),
        );
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"kind":"Secret","data":{"k":"dg=="},"type":"Opaque"}"#
        );
        let s = defaulted("secrets", json!({"type": "kubernetes.io/tls"}));
        assert_json(&s, &json!({"type": "kubernetes.io/tls"}));

        let ns = defaulted(
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}),
        );
        assert_json(
            &ns,
            &json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "dev"}},
                "status": {"phase": "Active"}
            }),
        );
        // The label is forced to the name; generateName-only namespaces get no label.
        let ns = defaulted(
            "namespaces",
            json!({"metadata": {"name": "a", "labels": {"kubernetes.io/metadata.name": "b", "x": "y"}}, "status": {"phase": "Terminating"}}),
        );
        assert_json(
            &ns,
            &json!({"metadata": {"name": "a", "labels": {"kubernetes.io/metadata.name": "a", "x": "y"}}, "status": {"phase": "Terminating"}}),
        );
        let ns = defaulted("namespaces", json!({"metadata": {"generateName": "t-"}}));
        assert_json(
            &ns,
            &json!({"metadata": {"generateName": "t-"}, "status": {"phase": "Active"}}),
        );
    }

    #[test]
    fn image_pull_policy() {
        let cases = [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.7.9", "IfNotPresent"),
            ("library/nginx", "Always"),
            ("localhost:5000/foo", "Always"),
            ("localhost:5000/foo:latest", "Always"),
            ("localhost:5000/foo:v1", "IfNotPresent"),
            ("registry.k8s.io/pause:3.9", "IfNotPresent"),
            ("[::1]:5000/foo", "Always"),
            (
                "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "IfNotPresent",
            ),
            (
                "nginx:latest@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                "Always",
            ),
            ("nginx:latest@sha256:bad", "IfNotPresent"),
            ("Nginx", "IfNotPresent"),
            ("nginx:Latest", "IfNotPresent"),
            ("", "IfNotPresent"),
            ("a..b", "IfNotPresent"),
            ("a__b", "Always"),
            ("a---b", "Always"),
            ("a___b", "IfNotPresent"),
            ("-a", "IfNotPresent"),
            ("ns/img:", "IfNotPresent"),
            ("ubuntu latest", "IfNotPresent"),
        ];
        for (image, want) in cases {
            assert_eq!(pull_policy_for(image), want, "image {image:?}");
        }
        let pod = defaulted(
            "pods",
            json!({"spec": {"containers": [{"name": "c", "image": "nginx"}]}}),
        );
        assert_eq!(
            pod["spec"]["containers"][0]["imagePullPolicy"],
            json!("Always")
        );
        // An explicit policy is kept.
        let pod = defaulted(
            "pods",
            json!({"spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}}),
        );
        assert_eq!(
            pod["spec"]["containers"][0]["imagePullPolicy"],
            json!("Never")
        );
    }

    #[test]
    fn requests_copied_from_limits_in_pods_only() {
        let src = json!({"spec": {"containers": [{
            "name": "c", "image": "busybox:1.36",
            "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}}
        }], "initContainers": [{
            "name": "i", "image": "busybox:1.36",
            "resources": {"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "100m"}}
        }]}});
        let pod = defaulted("pods", src.clone());
        assert_json(
            &pod["spec"]["containers"][0]["resources"],
            &json!({"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "500m", "memory": "128Mi"}}),
        );
        assert_json(
            &pod["spec"]["initContainers"][0]["resources"],
            &json!({"limits": {"cpu": "1", "memory": "64Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}),
        );
        // Templates do not get SetDefaults_Pod.
        let rs = defaulted("apps/replicasets", json!({"spec": {"template": src}}));
        assert_json(
            &rs["spec"]["template"]["spec"]["containers"][0]["resources"],
            &json!({"limits": {"cpu": "500m", "memory": "128Mi"}}),
        );
        assert_eq!(
            rs["spec"]["template"]["spec"].get("enableServiceLinks"),
            None
        );
        // Empty limits create nothing.
        let pod = defaulted(
            "pods",
            json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {}}}]}}),
        );
        assert_json(
            &pod["spec"]["containers"][0]["resources"],
            &json!({"limits": {}}),
        );
    }

    #[test]
    fn volumes() {
        let pod = defaulted(
            "pods",
            json!({"spec": {"volumes": [
                {"name": "s", "secret": {"secretName": "mysecret"}},
                {"name": "c", "configMap": {"name": "cm", "defaultMode": 256}},
                {"name": "e"},
                {"name": "h", "hostPath": {"path": "/data"}},
                {"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}},
                {"name": "p", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token"}},
                    {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
                    {"configMap": {"name": "kube-root-ca.crt"}}
                ]}},
                {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"]}}}}
            ], "containers": []}}),
        );
        let expected = json!([
            {"name": "s", "secret": {"secretName": "mysecret", "defaultMode": 420}},
            {"name": "c", "configMap": {"name": "cm", "defaultMode": 256}},
            {"name": "e", "emptyDir": {}},
            {"name": "h", "hostPath": {"path": "/data", "type": ""}},
            {"name": "d", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels", "apiVersion": "v1"}}], "defaultMode": 420}},
            {"name": "p", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace", "apiVersion": "v1"}}]}},
                {"configMap": {"name": "kube-root-ca.crt"}}
            ], "defaultMode": 420}},
            {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}, "metadata": {"creationTimestamp": null}}}}
        ]);
        assert_json(&pod["spec"]["volumes"], &expected);
    }

    #[test]
    fn probes_env_lifecycle_host_network() {
        let pod = defaulted(
            "pods",
            json!({"spec": {"hostNetwork": true, "containers": [{
                "name": "c", "image": "app:v1",
                "ports": [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 9191, "protocol": "UDP"}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, {"name": "X", "value": "1"}],
                "livenessProbe": {"httpGet": {"port": 8080}},
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 5},
                "startupProbe": {"grpc": {"port": 9000}},
                "lifecycle": {"preStop": {"httpGet": {"port": 8080, "path": "/stop"}}}
            }]}}),
        );
        let expected = json!({
            "name": "c", "image": "app:v1",
            "ports": [
                {"containerPort": 8080, "hostPort": 8080, "protocol": "TCP"},
                {"containerPort": 9090, "hostPort": 9191, "protocol": "UDP"}
            ],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}}, {"name": "X", "value": "1"}],
            "livenessProbe": {"httpGet": {"port": 8080, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 5, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3},
            "startupProbe": {"grpc": {"port": 9000, "service": ""}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
            "lifecycle": {"preStop": {"httpGet": {"port": 8080, "path": "/stop", "scheme": "HTTP"}}},
            "imagePullPolicy": "IfNotPresent",
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "resources": {}
        });
        assert_eq!(pod["spec"]["containers"][0], expected);
    }

    #[test]
    fn other_kinds() {
        let rc = defaulted(
            "replicationcontrollers",
            json!({"metadata": {"name": "rc"}, "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}}),
        );
        assert_eq!(rc["spec"]["selector"], json!({"a": "b"}));
        assert_eq!(rc["metadata"]["labels"], json!({"a": "b"}));
        assert_eq!(rc["spec"]["replicas"], json!(1));
        assert_eq!(
            rc["spec"]["template"]["spec"]["restartPolicy"],
            json!("Always")
        );

        let node = defaulted("nodes", json!({"status": {"capacity": {"cpu": "4"}}}));
        assert_json(
            &node,
            &json!({"status": {"capacity": {"cpu": "4"}, "allocatable": {"cpu": "4"}}}),
        );

        let ep = defaulted("endpoints", json!({"subsets": [{"ports": [{"port": 80}]}]}));
        assert_json(
            &ep,
            &json!({"subsets": [{"ports": [{"port": 80, "protocol": "TCP"}]}]}),
        );

        let ss = defaulted(
            "apps/statefulsets",
            json!({"spec": {"template": {"spec": {"containers": []}}, "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {}}]}}),
        );
        assert_eq!(ss["spec"]["podManagementPolicy"], json!("OrderedReady"));
        assert_json(
            &ss["spec"]["updateStrategy"],
            &json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
        );
        assert_json(
            &ss["spec"]["persistentVolumeClaimRetentionPolicy"],
            &json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
        );
        assert_json(
            &ss["spec"]["volumeClaimTemplates"][0],
            &json!({"metadata": {"name": "www", "creationTimestamp": null}, "spec": {"volumeMode": "Filesystem"}, "status": {"phase": "Pending"}}),
        );

        let ds = defaulted("apps/daemonsets", json!({"spec": {}}));
        assert_json(
            &ds["spec"]["updateStrategy"],
            &json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
        );
        assert_eq!(ds["spec"]["revisionHistoryLimit"], json!(10));

        for key in [
            "configmaps",
            "serviceaccounts",
            "events",
            "events.k8s.io/events",
            "coordination.k8s.io/leases",
        ] {
            let v = defaulted(key, json!({"metadata": {"name": "x"}}));
            assert_json(&v, &json!({"metadata": {"name": "x"}}));
        }
    }

    #[test]
    fn malformed_input_does_not_panic() {
        for key in [
            "pods",
            "apps/deployments",
            "services",
            "namespaces",
            "apps/statefulsets",
            "nodes",
        ] {
            for v in [
                json!(null),
                json!([]),
                json!({"spec": 5}),
                json!({"spec": {"containers": "x", "volumes": [1, null]}}),
                json!({"spec": {"template": [], "ports": {}}, "metadata": "m"}),
            ] {
                let mut v = v;
                apply_defaults(key, &mut v);
                add_default_tolerations(&mut v);
                let _ = crate::registry::admission::priority_for_pod(&mut v, &[]);
            }
        }
    }
}
