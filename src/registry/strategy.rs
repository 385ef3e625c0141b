//! Per-kind rules the generic store consults, in upstream's hook order
//! (`apiserver/pkg/registry/rest/{create,update,delete}.go`): defaults, then
//! prepare-for-create/update (status reset, generation), then validation.
//! Defaults and validation live in `defaults.rs` and `validation.rs`; this
//! file holds the strategy decisions (`pkg/registry/<group>/<kind>/strategy.go`).

use serde_json::{Map, Value, json};

use super::handler::SubresourceHandler;
use super::served::Resource;

/// Whether the main resource ignores `status` and `/status` ignores the rest.
pub fn has_status_subresource(res: &Resource) -> bool {
    res.has_subresource(SubresourceHandler::Status)
}

/// Kinds whose `metadata.generation` starts at 1 and is bumped on spec changes.
pub fn tracks_generation(res: &Resource) -> bool {
    res.strategy.tracks_generation()
}

/// Whether PUT of a missing object creates it (`AllowCreateOnUpdate`).
pub fn allow_create_on_update(res: &Resource) -> bool {
    res.strategy.allow_create_on_update()
}

/// Whether DELETE answers with the deleted object rather than a `Status`
/// (`ReturnDeletedObject` in the kind's registry storage).
pub fn returns_deleted_object(res: &Resource) -> bool {
    res.strategy.returns_deleted_object()
}

/// `PrepareForCreate`: what the server resets or fills on create.
pub fn prepare_for_create(res: &Resource, obj: &mut Value) {
    if tracks_generation(res) {
        set_meta(obj, "generation", json!(1));
    }
    res.strategy.prepare_for_create(obj);
}

/// Sets `status` (what kinds with a status reset to on create).
pub fn set_status(obj: &mut Value, status: Value) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), status);
    }
}

/// `PrepareForUpdate` for the main resource (`sub` = None) or a subresource.
pub fn prepare_for_update(
    res: &Resource,
    sub: Option<SubresourceHandler>,
    new: &mut Value,
    old: &Value,
) {
    // A write through /scale is an update of the main resource with its
    // strategy (`ScaleREST.Update` calls the store's Update): the spec
    // changed, so the generation moves as for any spec change.
    match sub {
        None | Some(SubresourceHandler::Scale) => {
            if has_status_subresource(res) {
                copy_field(new, old, "status");
            }
            if tracks_generation(res) {
                let old_gen = old
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let changed = new.get("spec") != old.get("spec");
                set_meta(
                    new,
                    "generation",
                    json!(if changed { old_gen + 1 } else { old_gen }),
                );
            }
            // The kind's own resets last (they may override the above).
            res.strategy.prepare_for_update(new, old);
        }
        Some(SubresourceHandler::Status) => res.strategy.prepare_for_status_update(new, old),
        Some(SubresourceHandler::Finalize) => {
            let spec = new.get("spec").cloned();
            let mut merged = old.clone();
            if let (Some(m), Some(spec)) = (merged.as_object_mut(), spec) {
                m.insert("spec".into(), spec);
            }
            *new = merged;
        }
        // Not updates of the stored object (the binding, token and eviction
        // handlers write nothing through the store's update).
        Some(
            SubresourceHandler::Binding | SubresourceHandler::Token | SubresourceHandler::Eviction,
        ) => {}
    }
}

/// The usual `PrepareForUpdate` of `/status`: everything but status comes
/// from the stored object (`ResetObjectMetaForStatus` plus the spec);
/// managed fields are the writer's.
pub fn reset_for_status_update(new: &mut Value, old: &Value) {
    let status = new.get("status").cloned();
    let managed = new.pointer("/metadata/managedFields").cloned();
    let mut merged = old.clone();
    if let Some(mf) = managed
        && let Some(m) = merged.get_mut("metadata").and_then(Value::as_object_mut)
    {
        m.insert("managedFields".into(), mf);
    }
    if let Some(m) = merged.as_object_mut() {
        match status {
            Some(s) => {
                m.insert("status".into(), s);
            }
            None => {
                m.shift_remove("status");
            }
        }
    }
    *new = merged;
}

/// The grace period a delete waits for (`None` = delete at once): the
/// kind's `CheckGracefulDelete`.
pub fn graceful_delete_seconds(res: &Resource, obj: &Value, requested: Option<i64>) -> Option<i64> {
    res.strategy.graceful_delete_seconds(obj, requested)
}

/// The pod strategy's `CheckGracefulDelete`: pods bound to a node and not
/// terminal wait for the kubelet; everything else goes at once.
pub fn pod_graceful_delete_seconds(obj: &Value, requested: Option<i64>) -> Option<i64> {
    let phase = obj
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    let bound = obj
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !bound || phase == "Succeeded" || phase == "Failed" {
        return None;
    }
    let period = requested
        .or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0);
    if period == 0 { None } else { Some(period) }
}

/// A deleted object still inside its grace period (`deletionGracePeriodSeconds`
/// above 0) is waiting for its kubelet, not for finalizers: an update that leaves
/// it without finalizers does not remove it (`store.go` shouldDeleteDuringUpdate).
pub fn graceful_pending(_res: &Resource, obj: &Value) -> bool {
    obj.pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64)
        .is_some_and(|g| g > 0)
}

/// Namespaces also wait for their `spec.finalizers` (the namespace
/// controller removes `kubernetes` through `/finalize`).
pub fn spec_finalizers_pending(res: &Resource, obj: &Value) -> bool {
    res.strategy.waits_for_spec_finalizers()
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
}

fn set_meta(obj: &mut Value, field: &str, v: Value) {
    if let Some(m) = obj.as_object_mut() {
        let meta = m
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(field.to_string(), v);
        }
    }
}

pub fn copy_field(new: &mut Value, old: &Value, field: &str) {
    if let Some(m) = new.as_object_mut() {
        match old.get(field) {
            Some(v) => {
                m.insert(field.to_string(), v.clone());
            }
            None => {
                m.remove(field);
            }
        }
    }
}

/// Namespaces always carry `kubernetes.io/metadata.name: <name>`.
pub fn ensure_namespace_name_label(obj: &mut Value) {
    let Some(name) = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return;
    };
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        let labels = meta
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(l) = labels.as_object_mut() {
            l.insert("kubernetes.io/metadata.name".into(), Value::String(name));
        }
    }
}

/// The pod's QoS class (`pkg/apis/core/helper/qos/qos.go`): BestEffort with no
/// requests or limits at all, Guaranteed when every container limits cpu and
/// memory and requests equal limits, Burstable otherwise.
pub fn pod_qos_class(pod: &Value) -> &'static str {
    let mut containers: Vec<&Value> = Vec::new();
    for field in ["containers", "initContainers"] {
        if let Some(list) = pod
            .pointer(&format!("/spec/{field}"))
            .and_then(Value::as_array)
        {
            containers.extend(list.iter());
        }
    }
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let requests = c.pointer("/resources/requests").and_then(Value::as_object);
        let limits = c.pointer("/resources/limits").and_then(Value::as_object);
        let relevant = |m: Option<&Map<String, Value>>| {
            m.map(|m| m.keys().any(|k| k == "cpu" || k == "memory"))
                .unwrap_or(false)
        };
        if relevant(requests) || relevant(limits) {
            any = true;
        }
        for r in ["cpu", "memory"] {
            let l = limits.and_then(|m| m.get(r));
            let q = requests.and_then(|m| m.get(r)).or(l);
            if l.is_none() || q != l {
                guaranteed = false;
            }
        }
    }
    if !any {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_classes() {
        assert_eq!(
            pod_qos_class(&json!({"spec":{"containers":[{"name":"a"}]}})),
            "BestEffort"
        );
        assert_eq!(
            pod_qos_class(&json!({"spec":{"containers":[{"resources":{"requests":{"cpu":"1"}}}]}})),
            "Burstable"
        );
        assert_eq!(
            pod_qos_class(
                &json!({"spec":{"containers":[{"resources":{"limits":{"cpu":"1","memory":"1Gi"}}}]}})
            ),
            "Guaranteed"
        );
    }

    #[test]
    fn generation_bumps_on_spec_change_only() {
        let res = super::super::served::Registry::builtin()
            .by_key("apps/deployments")
            .unwrap();
        let old =
            json!({"metadata":{"generation":3},"spec":{"replicas":1},"status":{"replicas":1}});
        let mut same = json!({"metadata":{},"spec":{"replicas":1},"status":{"replicas":9}});
        prepare_for_update(&res, None, &mut same, &old);
        assert_eq!(same["metadata"]["generation"], 3);
        assert_eq!(same["status"]["replicas"], 1);
        let mut changed = json!({"metadata":{},"spec":{"replicas":2}});
        prepare_for_update(&res, None, &mut changed, &old);
        assert_eq!(changed["metadata"]["generation"], 4);
    }
}
