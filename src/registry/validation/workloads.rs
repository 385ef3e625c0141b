//! Validation of the other workload kinds: apps/v1 StatefulSet, DaemonSet
//! and ControllerRevision (`pkg/apis/apps/validation/validation.go`) and
//! core/v1 ReplicationController (`pkg/apis/core/validation/validation.go`
//! `ValidateReplicationController*`), with upstream's paths and messages.

use serde_json::Value;

use super::{
    FIELD_IMMUTABLE_ERROR_MSG, FieldError, NameRule, SelectorKind, child, core_object_meta,
    core_object_meta_update, go_repr, int_of, int_or_string, label_selector_repr, meta_of,
    percent_value, selector_kind, selector_matches, semantic_eq, spec_of, str_of,
    validate_annotations, validate_label_selector, validate_labels, validate_nonnegative,
    validate_pod_template_spec, validate_positive_int_or_percent,
};
use crate::apimachinery::validation::{go_quote, go_string_map_repr};

/// The upstream (1.33) message for a StatefulSet update touching an
/// immutable part of its spec.
pub const STATEFULSET_SPEC_FORBIDDEN_MSG: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden";

/// The spec fields a StatefulSet update may change.
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// `selector` (a LabelSelector) against the template's labels: the
/// `` `selector` does not match template `labels` `` rule, skipped for an
/// empty selector (which matches everything).
fn template_labels_match(spec: &Value, path: &str) -> Vec<FieldError> {
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let labels = spec.pointer("/template/metadata/labels");
    match selector_kind(selector) {
        SelectorKind::Everything | SelectorKind::Error => Vec::new(),
        SelectorKind::Nothing | SelectorKind::Some => {
            if selector_matches(selector, labels) {
                Vec::new()
            } else {
                vec![FieldError::invalid_repr(
                    format!("{path}.template.metadata.labels"),
                    go_string_map_repr(labels),
                    "`selector` does not match template `labels`",
                )]
            }
        }
    }
}

fn template_spec(spec: &Value) -> &Value {
    spec.pointer("/template/spec").unwrap_or(&Value::Null)
}

// ---------------------------------------------------------------------------
// StatefulSet

/// `ValidateStatefulSet` (create): names are DNS labels (they become pod
/// hostnames).
pub fn validate_stateful_set(obj: &Value) -> Vec<FieldError> {
    let meta = meta_of(obj);
    let mut errs = core_object_meta(meta, true, NameRule::Dns1123Subdomain);
    // `ValidateStatefulSetName`: a DNS subdomain without dots (pod
    // hostnames are the name plus an ordinal).
    let name = str_of(meta, "name");
    if name.contains('.') {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            "must not contain dots",
        ));
    }
    errs.extend(validate_stateful_set_spec(spec_of(obj), "spec"));
    errs
}

/// `ValidateStatefulSetUpdate`: the new spec is valid, and only the mutable
/// fields changed.
pub fn validate_stateful_set_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    let (spec, old_spec) = (spec_of(obj), spec_of(old));
    errs.extend(validate_stateful_set_spec(spec, "spec"));
    let strip = |s: &Value| {
        let mut s = s.clone();
        if let Some(m) = s.as_object_mut() {
            for f in STATEFULSET_MUTABLE {
                m.shift_remove(*f);
            }
        }
        s
    };
    if !semantic_eq(Some(&strip(spec)), Some(&strip(old_spec))) {
        errs.push(FieldError::forbidden(
            "spec",
            STATEFULSET_SPEC_FORBIDDEN_MSG,
        ));
    }
    errs
}

fn validate_stateful_set_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    match str_of(spec, "podManagementPolicy") {
        "" => errs.push(FieldError::required(child(path, "podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            child(path, "podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let strategy = spec.get("updateStrategy").unwrap_or(&Value::Null);
    let strategy_path = child(path, "updateStrategy");
    let ru = strategy.get("rollingUpdate").filter(|r| !r.is_null());
    match str_of(strategy, "type") {
        "" => errs.push(FieldError::required(strategy_path, "")),
        "OnDelete" => {
            if let Some(ru) = ru {
                errs.push(FieldError::invalid_repr(
                    child(&strategy_path, "rollingUpdate"),
                    sts_rolling_update_repr(ru),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = ru {
                let rp = child(&strategy_path, "rollingUpdate");
                if let Some(p) = int_of(ru, "partition") {
                    errs.extend(validate_nonnegative(p, &child(&rp, "partition")));
                }
                // `maxUnavailable` is behind the MaxUnavailableStatefulSet
                // gate (off): the strategy drops it before validation.
            }
        }
        other => errs.push(FieldError::invalid_repr(
            strategy_path,
            format!(
                "apps.StatefulSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                if ru.is_some() {
                    "(*apps.RollingUpdateStatefulSetStrategy)(0xc000000000)"
                } else {
                    "(*apps.RollingUpdateStatefulSetStrategy)(nil)"
                }
            ),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = spec
        .get("persistentVolumeClaimRetentionPolicy")
        .filter(|p| !p.is_null())
    {
        let pp = child(path, "persistentVolumeClaimRetentionPolicy");
        for field in ["whenDeleted", "whenScaled"] {
            match str_of(policy, field) {
                "Retain" | "Delete" => {}
                other => errs.push(FieldError::not_supported(
                    child(&pp, field),
                    other,
                    &["Retain", "Delete"],
                )),
            }
        }
    }
    errs.extend(validate_nonnegative(
        int_of(spec, "replicas").unwrap_or(0),
        &child(path, "replicas"),
    ));
    errs.extend(validate_nonnegative(
        int_of(spec, "minReadySeconds").unwrap_or(0),
        &child(path, "minReadySeconds"),
    ));
    if let Some(ordinals) = spec.get("ordinals").filter(|o| !o.is_null()) {
        errs.extend(validate_nonnegative(
            int_of(ordinals, "start").unwrap_or(0),
            &child(path, "ordinals.start"),
        ));
    }
    let sel_path = child(path, "selector");
    let selector = spec.get("selector").filter(|s| !s.is_null());
    match selector {
        None => errs.push(FieldError::required(sel_path.as_str(), "")),
        Some(sel) => {
            errs.extend(validate_label_selector(Some(sel), &sel_path));
            if selector_kind(Some(sel)) == SelectorKind::Everything {
                errs.push(FieldError::invalid_repr(
                    sel_path.as_str(),
                    label_selector_repr(Some(sel)),
                    "empty selector is invalid for statefulset",
                ));
            }
        }
    }
    if selector_kind(selector) == SelectorKind::Error {
        errs.push(FieldError::invalid_repr(
            sel_path,
            label_selector_repr(selector),
            "",
        ));
    } else {
        // `ValidatePodTemplateSpecForStatefulSet`: the labels and
        // annotations only (the pod spec's volumes include the claim
        // templates, which upstream does not check here).
        errs.extend(template_labels_match(spec, path));
        let tmeta = spec.pointer("/template/metadata").unwrap_or(&Value::Null);
        let tpath = child(path, "template");
        errs.extend(validate_labels(
            tmeta.get("labels"),
            &child(&tpath, "labels"),
        ));
        errs.extend(validate_annotations(
            tmeta.get("annotations"),
            &child(&tpath, "annotations"),
        ));
    }
    let pod = template_spec(spec);
    let rp = str_of(pod, "restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            format!("{path}.template.spec.restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if pod
        .get("activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        errs.push(FieldError::forbidden(
            format!("{path}.template.spec.activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}

fn sts_rolling_update_repr(ru: &Value) -> String {
    let partition = match int_of(ru, "partition") {
        Some(_) => "(*int32)(0xc000000000)",
        None => "(*int32)(nil)",
    };
    let max_unavailable = match ru.get("maxUnavailable").filter(|v| !v.is_null()) {
        Some(_) => "(*intstr.IntOrString)(0xc000000000)",
        None => "(*intstr.IntOrString)(nil)",
    };
    format!(
        "&apps.RollingUpdateStatefulSetStrategy{{Partition:{partition}, MaxUnavailable:{max_unavailable}}}"
    )
}

// ---------------------------------------------------------------------------
// DaemonSet

/// `ValidateDaemonSet` (create).
pub fn validate_daemon_set(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_daemon_set_spec(spec_of(obj), "spec"));
    errs
}

/// `ValidateDaemonSetUpdate`: the selector is immutable.
pub fn validate_daemon_set_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    let (spec, old_spec) = (spec_of(obj), spec_of(old));
    if !semantic_eq(spec.get("selector"), old_spec.get("selector")) {
        errs.push(FieldError::invalid_repr(
            "spec.selector",
            label_selector_repr(spec.get("selector")),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    errs.extend(validate_daemon_set_spec(spec, "spec"));
    errs
}

fn validate_daemon_set_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let sel_path = child(path, "selector");
    let selector = spec.get("selector").filter(|s| !s.is_null());
    let mut errs = validate_label_selector(selector, &sel_path);
    errs.extend(template_labels_match(spec, path));
    if let Some(sel) = selector
        && selector_kind(Some(sel)) == SelectorKind::Everything
    {
        errs.push(FieldError::invalid_repr(
            sel_path,
            label_selector_repr(Some(sel)),
            "empty selector is invalid for daemonset",
        ));
    }
    let tpath = child(path, "template");
    errs.extend(validate_pod_template_spec(
        spec.get("template").unwrap_or(&Value::Null),
        &tpath,
    ));
    let pod = template_spec(spec);
    let rp = str_of(pod, "restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            format!("{tpath}.spec.restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if let Some(ads) = pod.get("activeDeadlineSeconds").filter(|v| !v.is_null()) {
        errs.push(FieldError::invalid_repr(
            format!("{tpath}.spec.activeDeadlineSeconds"),
            format!("{ads}"),
            "activeDeadlineSeconds must be nil for daemonset",
        ));
    }
    errs.extend(validate_nonnegative(
        int_of(spec, "minReadySeconds").unwrap_or(0),
        &child(path, "minReadySeconds"),
    ));
    errs.extend(validate_daemon_set_strategy(
        spec.get("updateStrategy").unwrap_or(&Value::Null),
        &child(path, "updateStrategy"),
    ));
    if let Some(r) = int_of(spec, "revisionHistoryLimit") {
        errs.extend(validate_nonnegative(
            r,
            &child(path, "revisionHistoryLimit"),
        ));
    }
    errs
}

/// `ValidateDaemonSetUpdateStrategy` and `ValidateRollingUpdateDaemonSet`.
fn validate_daemon_set_strategy(strategy: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ru = strategy.get("rollingUpdate").filter(|r| !r.is_null());
    match str_of(strategy, "type") {
        "OnDelete" => {}
        "RollingUpdate" => {
            let Some(ru) = ru else {
                errs.push(FieldError::required(child(path, "rollingUpdate"), ""));
                return errs;
            };
            let rp = child(path, "rollingUpdate");
            let (mu, ms) = (ru.get("maxUnavailable"), ru.get("maxSurge"));
            let (mu_path, ms_path) = (child(&rp, "maxUnavailable"), child(&rp, "maxSurge"));
            errs.extend(validate_positive_int_or_percent(mu, &mu_path));
            errs.extend(validate_positive_int_or_percent(ms, &ms_path));
            for (v, p) in [(mu, &mu_path), (ms, &ms_path)] {
                if percent_value(v).is_some_and(|x| x > 100) {
                    errs.push(FieldError::invalid_repr(
                        p.as_str(),
                        int_or_string(v).1,
                        "must not be greater than 100%",
                    ));
                }
            }
            let value = |v| percent_value(v).unwrap_or_else(|| int_or_string(v).2);
            match (value(mu) != 0, value(ms) != 0) {
                (true, true) => errs.push(FieldError::invalid_repr(
                    ms_path,
                    int_or_string(ms).1,
                    "may not be set when maxUnavailable is non-zero",
                )),
                (false, false) => errs.push(FieldError::required(
                    mu_path,
                    "cannot be 0 when maxSurge is 0",
                )),
                _ => {}
            }
        }
        other => {
            let repr = format!(
                "apps.DaemonSetUpdateStrategy{{Type:{}, RollingUpdate:{}}}",
                go_quote(other),
                if ru.is_some() {
                    "(*apps.RollingUpdateDaemonSet)(0xc000000000)"
                } else {
                    "(*apps.RollingUpdateDaemonSet)(nil)"
                }
            );
            errs.push(FieldError::not_supported(
                path,
                go_repr(repr),
                &["RollingUpdate", "OnDelete"],
            ));
        }
    }
    errs
}

// ---------------------------------------------------------------------------
// ControllerRevision

/// `ValidateControllerRevision`.
pub fn validate_controller_revision(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_nonnegative(
        int_of(obj, "revision").unwrap_or(0),
        "revision",
    ));
    if obj.get("data").is_none_or(Value::is_null) {
        errs.push(FieldError::required("data", "data is mandatory"));
    }
    errs
}

/// `ValidateControllerRevisionUpdate`: `data` is immutable.
pub fn validate_controller_revision_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_controller_revision(obj));
    if obj.get("data") != old.get("data") {
        errs.push(FieldError::invalid(
            "data",
            obj.get("data").cloned().unwrap_or(Value::Null),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// ReplicationController

/// `ValidateReplicationController` (create).
pub fn validate_replication_controller(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_rc_spec(spec_of(obj), "spec"));
    errs
}

/// `ValidateReplicationControllerUpdate` (an RC's selector may change).
pub fn validate_replication_controller_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_rc_spec(spec_of(obj), "spec"));
    errs
}

/// Whether a plain label map (`map[string]string` selector) matches `labels`.
pub fn map_selector_matches(
    selector: &serde_json::Map<String, Value>,
    labels: Option<&Value>,
) -> bool {
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)).is_some_and(|have| have == v))
}

fn validate_rc_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_nonnegative(
        int_of(spec, "minReadySeconds").unwrap_or(0),
        &child(path, "minReadySeconds"),
    );
    let selector = spec.get("selector").and_then(Value::as_object);
    let empty = selector.is_none_or(|s| s.is_empty());
    if empty {
        errs.push(FieldError::required(child(path, "selector"), ""));
    } else {
        errs.extend(validate_labels(
            spec.get("selector"),
            &child(path, "selector"),
        ));
    }
    errs.extend(validate_nonnegative(
        int_of(spec, "replicas").unwrap_or(0),
        &child(path, "replicas"),
    ));
    let tpath = child(path, "template");
    let Some(template) = spec.get("template").filter(|t| !t.is_null()) else {
        errs.push(FieldError::required(tpath, ""));
        return errs;
    };
    if let Some(sel) = selector.filter(|s| !s.is_empty()) {
        let labels = template.pointer("/metadata/labels");
        if !map_selector_matches(sel, labels) {
            errs.push(FieldError::invalid_repr(
                format!("{tpath}.metadata.labels"),
                go_string_map_repr(labels),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs.extend(validate_pod_template_spec(template, &tpath));
    let pod = spec_of(template);
    let rp = str_of(pod, "restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            format!("{tpath}.spec.restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if pod
        .get("activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        errs.push(FieldError::forbidden(
            format!("{tpath}.spec.activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicationController is not Supported",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn pod_template(labels: Value, restart: &str) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}],
            "restartPolicy": restart, "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}})
    }

    fn sts(extra: Value) -> Value {
        let mut spec = json!({"replicas": 1, "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "selector": {"matchLabels": {"app": "x"}}, "template": pod_template(json!({"app": "x"}), "Always"),
            "serviceName": "s"});
        if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        json!({"metadata": {"name": "web", "namespace": "d", "resourceVersion": "1"}, "spec": spec})
    }

    #[test]
    fn stateful_set_messages() {
        assert!(validate_stateful_set(&sts(json!({}))).is_empty());
        assert_eq!(
            msgs(&validate_stateful_set(&sts(
                json!({"template": pod_template(json!({"app": "y"}), "Always")})
            ))),
            [
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`"
            ]
        );
        assert_eq!(
            msgs(&validate_stateful_set(&sts(
                json!({"podManagementPolicy": "Foo", "replicas": -1, "ordinals": {"start": -1}})
            ))),
            [
                "spec.podManagementPolicy: Invalid value: \"Foo\": must be 'OrderedReady' or 'Parallel'",
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.ordinals.start: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        let old = sts(json!({}));
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("j");
        assert!(validate_stateful_set_update(&new, &old).is_empty());
        new["spec"]["serviceName"] = json!("other");
        assert_eq!(
            msgs(&validate_stateful_set_update(&new, &old)),
            [format!("spec: Forbidden: {STATEFULSET_SPEC_FORBIDDEN_MSG}")]
        );
    }

    #[test]
    fn stateful_set_names_have_no_dots_and_revisions_have_data() {
        let mut dotted = sts(json!({}));
        dotted["metadata"]["name"] = json!("a.b");
        assert_eq!(
            msgs(&validate_stateful_set(&dotted)),
            ["metadata.name: Invalid value: \"a.b\": must not contain dots"]
        );
        let cr = json!({"metadata": {"name": "cr", "namespace": "d"}, "revision": -1});
        assert_eq!(
            msgs(&validate_controller_revision(&cr)),
            [
                "revision: Invalid value: -1: must be greater than or equal to 0",
                "data: Required value: data is mandatory",
            ]
        );
    }

    #[test]
    fn daemon_set_messages() {
        let ds = |extra: Value, restart: &str| {
            let mut spec = json!({"selector": {"matchLabels": {"app": "x"}}, "template": pod_template(json!({"app": "x"}), restart),
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, "revisionHistoryLimit": 10});
            if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
                m.extend(e.clone());
            }
            json!({"metadata": {"name": "ds", "namespace": "d"}, "spec": spec})
        };
        assert!(validate_daemon_set(&ds(json!({}), "Always")).is_empty());
        assert_eq!(
            msgs(&validate_daemon_set(&ds(json!({}), "OnFailure"))),
            [
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\""
            ]
        );
        assert_eq!(
            msgs(&validate_daemon_set(&ds(
                json!({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}, "minReadySeconds": -1, "revisionHistoryLimit": -1}),
                "Always"
            ))),
            [
                "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
                "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
    }

    #[test]
    fn replication_controller_messages() {
        let rc = json!({"metadata": {"name": "r1", "namespace": "d"}, "spec": {"replicas": -1, "selector": {"app": "x"},
            "template": pod_template(json!({"app": "y"}), "Never")}});
        assert_eq!(
            msgs(&validate_replication_controller(&rc)),
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"y\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
        let empty = json!({"metadata": {"name": "r3", "namespace": "d"}, "spec": {"replicas": 1}});
        assert_eq!(
            msgs(&validate_replication_controller(&empty)),
            [
                "spec.selector: Required value",
                "spec.template: Required value"
            ]
        );
    }
}
