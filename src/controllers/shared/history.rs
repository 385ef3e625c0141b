//! ControllerRevisions, as upstream's `pkg/controller/history`: the
//! snapshots of a StatefulSet's or DaemonSet's pod template that give
//! `kubectl rollout history/undo` something to show and restore. Pure.
//!
//! A revision's `data` is the patch that restores the template
//! (`{"spec":{"template":{...,"$patch":"replace"}}}`, upstream `getPatch`,
//! whose keys Go's `json.Marshal` of a map writes sorted: [`canonical`]);
//! its name is `<owner>-<hash>` where the hash is upstream
//! `HashControllerRevision`: FNV-1 32 (Go's `fnv.New32`) over that data,
//! then the collision count in decimal, passed through `SafeEncodeString`.
//! The revision carries the hash in the `controller.kubernetes.io/hash`
//! label; the StatefulSet's pods carry the revision's *name* in
//! `controller-revision-hash`.

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{Value, json};

use crate::controllers::deployment::util::safe_encode_string;

/// The label of a pod naming the revision it was made from (upstream
/// `apps.ControllerRevisionHashLabelKey`, the StatefulSet controller's
/// `StatefulSetRevisionLabel`).
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// The label of a revision holding its hash (upstream
/// `history.ControllerRevisionHashLabel`).
pub const REVISION_HASH_LABEL: &str = "controller.kubernetes.io/hash";

/// Go's `fnv.New32` (FNV-1: multiply, then xor).
fn fnv32(hash: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(hash, |h, b| h.wrapping_mul(0x0100_0193) ^ u32::from(*b))
}

/// `value` with every object's keys sorted, as Go's `json.Marshal` writes a
/// `map[string]interface{}` (this crate's `serde_json` keeps insertion order).
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), canonical(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        v => v.clone(),
    }
}

/// `value` as Go's `json.Marshal` writes a `map[string]interface{}`:
/// compact, keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub fn go_json(value: &Value) -> String {
    let text = serde_json::to_string(&canonical(value)).unwrap_or_default();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Upstream `HashControllerRevision` over `data` (its bytes as Go writes
/// them, [`go_json`]), with the collision count when given (the StatefulSet
/// controller always gives one, `0` included).
pub fn hash(data: &Value, collision_count: Option<i32>) -> String {
    let bytes = go_json(data).into_bytes();
    let mut h = fnv32(0x811c_9dc5, &bytes);
    if let Some(c) = collision_count {
        h = fnv32(h, c.to_string().as_bytes());
    }
    safe_encode_string(&h.to_string())
}

/// The revision data of a pod template (`getPatch`): the template with
/// `$patch: replace`, under `spec.template`, keys sorted.
pub fn template_patch(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(m) = t.as_object_mut() {
        m.insert("$patch".into(), json!("replace"));
    }
    canonical(&json!({"spec": {"template": t}}))
}

/// Upstream `NewControllerRevision`.
pub fn new_revision(
    parent_name: &str,
    namespace: Option<&str>,
    owner: OwnerReference,
    template_labels: Option<&std::collections::BTreeMap<String, String>>,
    data: Value,
    revision: i64,
    collision_count: Option<i32>,
) -> ControllerRevision {
    let h = hash(&data, collision_count);
    let mut labels = template_labels.cloned().unwrap_or_default();
    labels.insert(REVISION_HASH_LABEL.into(), h.clone());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(revision_name(parent_name, &h)),
            namespace: namespace.map(str::to_string),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// Upstream `ControllerRevisionName`: `<prefix>-<hash>`, the prefix cut
/// to 223 characters.
pub fn revision_name(prefix: &str, hash: &str) -> String {
    let cut: String = prefix.chars().take(223).collect();
    format!("{cut}-{hash}")
}

/// The hash a revision carries (its label, `controller-revision-hash` on a
/// DaemonSet's; else the name's suffix).
pub fn revision_hash(rev: &ControllerRevision) -> String {
    rev.metadata
        .labels
        .as_ref()
        .and_then(|l| {
            l.get(REVISION_HASH_LABEL)
                .or_else(|| l.get(CONTROLLER_REVISION_HASH_LABEL))
        })
        .cloned()
        .unwrap_or_else(|| {
            let name = rev.metadata.name.as_deref().unwrap_or_default();
            name.rsplit('-').next().unwrap_or_default().to_string()
        })
}

/// Upstream `EqualRevision`: same data (compared as JSON values, so key
/// order does not matter).
pub fn equal_revision(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    match (&a.data, &b.data) {
        (Some(x), Some(y)) => x.0 == y.0,
        (None, None) => true,
        _ => false,
    }
}

/// Upstream `SortControllerRevisions`: by revision, then creation, then name.
pub fn sort_revisions(revs: &mut [&ControllerRevision]) {
    revs.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| {
                let t =
                    |r: &ControllerRevision| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
                t(a).cmp(&t(b))
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// Upstream `nextRevision`: one more than the highest.
pub fn next_revision(revs: &[&ControllerRevision]) -> i64 {
    revs.iter().map(|r| r.revision).max().unwrap_or(0) + 1
}

/// The template a revision restores, if its data is a template patch.
pub fn template_of(rev: &ControllerRevision) -> Option<Value> {
    let mut t = rev.data.as_ref()?.0.get("spec")?.get("template")?.clone();
    if let Some(m) = t.as_object_mut() {
        m.remove("$patch");
    }
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> OwnerReference {
        OwnerReference {
            api_version: "apps/v1".into(),
            kind: "StatefulSet".into(),
            name: "web".into(),
            uid: "u".into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    #[test]
    fn hashes_as_go_fnv_new32_with_a_decimal_probe() {
        // FNV-1 32 test vectors: "" and "a".
        assert_eq!(fnv32(0x811c_9dc5, b""), 0x811c_9dc5);
        assert_eq!(fnv32(0x811c_9dc5, b"a"), 0x050c_5d7e);
        // The probe is written as decimal text, 0 included.
        let d = json!({"b": 1, "a": 2});
        let expect = |tail: &[u8]| {
            let h = fnv32(fnv32(0x811c_9dc5, br#"{"a":2,"b":1}"#), tail);
            safe_encode_string(&h.to_string())
        };
        assert_eq!(hash(&d, None), expect(b""));
        assert_eq!(hash(&d, Some(0)), expect(b"0"));
        assert_eq!(hash(&d, Some(12)), expect(b"12"));
        assert_ne!(hash(&d, None), hash(&d, Some(0)));
    }

    /// Upstream's `testdata/compatibility_revision_1.33.0.json`: the data
    /// of a revision kube-controller-manager 1.33 named `test-c77f6d978`.
    pub(crate) const COMPAT_1_33_DATA: &str = r#"{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"test":"value"},"creationTimestamp":null,"labels":{"app":"foo"}},"spec":{"containers":[{"image":"test","imagePullPolicy":"Always","name":"test","resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}"#;

    #[test]
    fn hashes_as_kube_controller_manager_1_33() {
        let data: Value = serde_json::from_str(COMPAT_1_33_DATA).unwrap();
        assert_eq!(go_json(&data), COMPAT_1_33_DATA);
        assert_eq!(hash(&data, Some(0)), "c77f6d978");
    }

    #[test]
    fn go_json_escapes_html_characters() {
        let v = json!({"b": "x<y>&z\u{2028}", "a": [1, "é"]});
        assert_eq!(
            go_json(&v),
            r#"{"a":[1,"é"],"b":"x\u003cy\u003e\u0026z\u2028"}"#
        );
    }

    #[test]
    fn template_patches_have_sorted_keys() {
        let t = json!({"spec": {"containers": []}, "metadata": {"labels": {"z": "1", "a": "2"}}});
        let p = template_patch(&t);
        let text = serde_json::to_string(&p).unwrap_or_default();
        assert_eq!(
            text,
            r#"{"spec":{"template":{"$patch":"replace","metadata":{"labels":{"a":"2","z":"1"}},"spec":{"containers":[]}}}}"#
        );
    }

    #[test]
    fn revisions_are_named_by_their_data() {
        let t = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}});
        let data = template_patch(&t);
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        let r1 = new_revision("web", Some("ns"), owner(), None, data.clone(), 1, None);
        let r2 = new_revision("web", Some("ns"), owner(), None, data.clone(), 2, None);
        assert_eq!(r1.metadata.name, r2.metadata.name);
        assert!(equal_revision(&r1, &r2));
        let h = revision_hash(&r1);
        assert_eq!(
            r1.metadata.name.as_deref(),
            Some(format!("web-{h}").as_str())
        );
        assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
        // A collision count changes the name; a new template does too.
        let r3 = new_revision("web", Some("ns"), owner(), None, data, 1, Some(1));
        assert_ne!(r1.metadata.name, r3.metadata.name);
        assert_eq!(template_of(&r1), Some(t));
        assert_eq!(next_revision(&[&r1, &r2]), 3);
        assert_eq!(next_revision(&[]), 1);
    }
}
