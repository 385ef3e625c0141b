//! policy/v1 PodDisruptionBudget (`pkg/apis/policy/validation`) and
//! scheduling.k8s.io/v1 PriorityClass (`pkg/apis/scheduling/validation`)
//! validation.

use serde_json::Value;

use super::{
    FIELD_IMMUTABLE_ERROR_MSG, FieldError, NameRule, child, core_object_meta,
    core_object_meta_update, int_of, int_or_string, meta_of, percent_value, spec_of, str_of,
    validate_label_selector, validate_positive_int_or_percent,
};

// ---------------------------------------------------------------------------
// PodDisruptionBudget

/// `ValidatePodDisruptionBudget` (create and, in policy/v1, update: the spec
/// may change).
pub fn validate_pod_disruption_budget(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pdb_spec(spec_of(obj), "spec"));
    errs
}

pub fn validate_pod_disruption_budget_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_pdb_spec(spec_of(obj), "spec"));
    errs
}

fn ptr_repr(v: Option<&Value>, ty: &str) -> String {
    match v.filter(|v| !v.is_null()) {
        Some(_) => format!("(*{ty})(0xc000000000)"),
        None => format!("(*{ty})(nil)"),
    }
}

fn validate_pdb_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let min = spec.get("minAvailable").filter(|v| !v.is_null());
    let max = spec.get("maxUnavailable").filter(|v| !v.is_null());
    if min.is_some() && max.is_some() {
        // Go's %#v of the internal spec (pointers print as addresses).
        let repr = format!(
            "policy.PodDisruptionBudgetSpec{{MinAvailable:{}, Selector:{}, MaxUnavailable:{}, UnhealthyPodEvictionPolicy:{}}}",
            ptr_repr(min, "intstr.IntOrString"),
            ptr_repr(spec.get("selector"), "v1.LabelSelector"),
            ptr_repr(max, "intstr.IntOrString"),
            ptr_repr(
                spec.get("unhealthyPodEvictionPolicy"),
                "policy.UnhealthyPodEvictionPolicyType"
            ),
        );
        errs.push(FieldError::invalid_repr(
            path,
            repr,
            "minAvailable and maxUnavailable cannot be both set",
        ));
    }
    for (v, field) in [(min, "minAvailable"), (max, "maxUnavailable")] {
        let Some(v) = v else { continue };
        let p = child(path, field);
        errs.extend(validate_positive_int_or_percent(Some(v), &p));
        if percent_value(Some(v)).is_some_and(|x| x > 100) {
            errs.push(FieldError::invalid_repr(
                p,
                int_or_string(Some(v)).1,
                "must not be greater than 100%",
            ));
        }
    }
    errs.extend(validate_label_selector(
        spec.get("selector").filter(|s| !s.is_null()),
        &child(path, "selector"),
    ));
    if let Some(p) = spec
        .get("unhealthyPodEvictionPolicy")
        .and_then(Value::as_str)
        && p != "AlwaysAllow"
        && p != "IfHealthyBudget"
    {
        errs.push(FieldError::not_supported(
            child(path, "unhealthyPodEvictionPolicy"),
            p,
            &["AlwaysAllow", "IfHealthyBudget"],
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// PriorityClass

/// The name prefix reserved for the system classes.
pub const SYSTEM_PRIORITY_CLASS_PREFIX: &str = "system-";
/// The highest value a class not of the system may have.
pub const HIGHEST_USER_DEFINABLE_PRIORITY: i64 = 1_000_000_000;

/// The system classes every cluster has (`pkg/apis/scheduling/types.go`,
/// `SystemPriorityClasses`): name, value, description.
pub const SYSTEM_PRIORITY_CLASSES: &[(&str, i64, &str)] = &[
    (
        "system-node-critical",
        2_000_001_000,
        "Used for system critical pods that must not be moved from their current node.",
    ),
    (
        "system-cluster-critical",
        2_000_000_000,
        "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
    ),
];

/// `IsKnownSystemPriorityClass`: `Err` is upstream's reason.
fn known_system_class(name: &str, value: i64, global_default: bool) -> Result<(), String> {
    match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _, _)| *n == name) {
        None => Err(format!("{name} is not a known system priority class")),
        Some((_, v, _)) if *v != value => Err(format!("value of {name} PriorityClass must be {v}")),
        Some(_) if global_default => Err(format!(
            "globalDefault of {name} PriorityClass must be false"
        )),
        Some(_) => Ok(()),
    }
}

/// `ValidatePriorityClass`.
pub fn validate_priority_class(obj: &Value) -> Vec<FieldError> {
    let meta = meta_of(obj);
    let mut errs = core_object_meta(meta, false, NameRule::Dns1123Subdomain);
    let name = str_of(meta, "name");
    let value = int_of(obj, "value").unwrap_or(0);
    let global_default = obj.get("globalDefault").and_then(Value::as_bool) == Some(true);
    if name.starts_with(SYSTEM_PRIORITY_CLASS_PREFIX) {
        if let Err(e) = known_system_class(name, value, global_default) {
            errs.push(FieldError::forbidden(
                "metadata.name",
                format!(
                    "priority class names with '{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: {e}"
                ),
            ));
        }
    } else if value > HIGHEST_USER_DEFINABLE_PRIORITY {
        errs.push(FieldError::forbidden(
            "value",
            format!(
                "maximum allowed value of a user defined priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"
            ),
        ));
    }
    if let Some(p) = obj.get("preemptionPolicy").and_then(Value::as_str) {
        errs.extend(validate_preemption_policy(p, "preemptionPolicy"));
    }
    errs
}

/// `ValidatePreemptionPolicy`.
pub fn validate_preemption_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "PreemptLowerPriority" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["PreemptLowerPriority", "Never"],
        )],
    }
}

/// `ValidatePriorityClassUpdate`: `value` and `preemptionPolicy` are
/// immutable.
pub fn validate_priority_class_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    if int_of(obj, "value") != int_of(old, "value") {
        errs.push(FieldError::forbidden(
            "value",
            "may not be changed in an update.",
        ));
    }
    let (p, op) = (obj.get("preemptionPolicy"), old.get("preemptionPolicy"));
    if p != op {
        errs.push(FieldError::invalid(
            "preemptionPolicy",
            p.cloned().unwrap_or(Value::Null),
            FIELD_IMMUTABLE_ERROR_MSG,
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

    #[test]
    fn pdb_messages() {
        let pdb = |spec: Value| json!({"metadata": {"name": "p", "namespace": "d"}, "spec": spec});
        assert!(validate_pod_disruption_budget(&pdb(json!({"minAvailable": 1}))).is_empty());
        assert_eq!(
            msgs(&validate_pod_disruption_budget(&pdb(
                json!({"minAvailable": 1, "maxUnavailable": 1})
            ))),
            [
                "spec: Invalid value: policy.PodDisruptionBudgetSpec{MinAvailable:(*intstr.IntOrString)(0xc000000000), Selector:(*v1.LabelSelector)(nil), MaxUnavailable:(*intstr.IntOrString)(0xc000000000), UnhealthyPodEvictionPolicy:(*policy.UnhealthyPodEvictionPolicyType)(nil)}: minAvailable and maxUnavailable cannot be both set"
            ]
        );
        assert_eq!(
            msgs(&validate_pod_disruption_budget(&pdb(
                json!({"maxUnavailable": "150%"})
            ))),
            ["spec.maxUnavailable: Invalid value: 150%: must not be greater than 100%"]
        );
        assert_eq!(
            msgs(&validate_pod_disruption_budget(&pdb(
                json!({"minAvailable": -1})
            ))),
            ["spec.minAvailable: Invalid value: -1: must be greater than or equal to 0"]
        );
        assert_eq!(
            msgs(&validate_pod_disruption_budget(&pdb(
                json!({"unhealthyPodEvictionPolicy": "Foo"})
            ))),
            [
                "spec.unhealthyPodEvictionPolicy: Unsupported value: \"Foo\": supported values: \"AlwaysAllow\", \"IfHealthyBudget\""
            ]
        );
    }

    #[test]
    fn priority_class_messages() {
        let pc = |name: &str, value: i64| json!({"metadata": {"name": name}, "value": value});
        assert!(validate_priority_class(&pc("high", 1000)).is_empty());
        assert!(validate_priority_class(&pc("system-node-critical", 2_000_001_000)).is_empty());
        assert_eq!(
            msgs(&validate_priority_class(&pc("system-foo", 10))),
            [
                "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-foo is not a known system priority class"
            ]
        );
        assert_eq!(
            msgs(&validate_priority_class(&pc("big", 1_000_000_001))),
            ["value: Forbidden: maximum allowed value of a user defined priority is 1000000000"]
        );
        let old = json!({"metadata": {"name": "p", "resourceVersion": "1"}, "value": 5, "preemptionPolicy": "PreemptLowerPriority"});
        let new = json!({"metadata": {"name": "p", "resourceVersion": "1"}, "value": 7, "preemptionPolicy": "Never"});
        assert_eq!(
            msgs(&validate_priority_class_update(&new, &old)),
            [
                "value: Forbidden: may not be changed in an update.",
                "preemptionPolicy: Invalid value: \"Never\": field is immutable",
            ]
        );
    }
}
