//! HorizontalPodAutoscaler validation (`pkg/apis/autoscaling/validation/
//! validation.go`) on the autoscaling/v2 form (autoscaling/v1 objects are
//! converted first, as upstream validates the internal form).

use serde_json::Value;

use super::{
    FieldError, NameRule, child, core_object_meta, core_object_meta_update, index, int_of, meta_of,
    quantity_of, spec_of, str_of, validate_container_resource_name,
};
use crate::apimachinery::validation::{go_repr, is_valid_path_segment_name};

/// `ValidateHorizontalPodAutoscaler` (create).
pub fn validate_hpa(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_hpa_spec(spec_of(obj), "spec"));
    errs
}

/// `ValidateHorizontalPodAutoscalerUpdate`.
pub fn validate_hpa_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_hpa_spec(spec_of(obj), "spec"));
    errs
}

fn validate_hpa_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let min = int_of(spec, "minReplicas");
    let max = int_of(spec, "maxReplicas").unwrap_or(0);
    // The HPAScaleToZero gate is off: at least 1.
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(FieldError::invalid(
            child(path, "minReplicas"),
            m,
            "must be greater than or equal to 1",
        ));
    }
    if max < 1 {
        errs.push(FieldError::invalid(
            child(path, "maxReplicas"),
            max,
            "must be greater than 0",
        ));
    }
    if let Some(m) = min
        && max < m
    {
        errs.push(FieldError::invalid(
            child(path, "maxReplicas"),
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errs.extend(validate_cross_version_ref(
        spec.get("scaleTargetRef").unwrap_or(&Value::Null),
        &child(path, "scaleTargetRef"),
    ));
    let metrics_path = child(path, "metrics");
    let metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut object_or_external = false;
    for (i, m) in metrics.iter().enumerate() {
        errs.extend(validate_metric_spec(m, &index(&metrics_path, i)));
        object_or_external |= matches!(str_of(m, "type"), "Object" | "External");
    }
    if min == Some(0) && !object_or_external {
        errs.push(FieldError::forbidden(
            metrics_path,
            "must specify at least one Object or External metric to support scaling to zero replicas",
        ));
    }
    if let Some(b) = spec.get("behavior").filter(|b| !b.is_null()) {
        let bp = child(path, "behavior");
        for dir in ["scaleUp", "scaleDown"] {
            if let Some(rules) = b.get(dir).filter(|r| !r.is_null()) {
                errs.extend(validate_scaling_rules(rules, &child(&bp, dir)));
            }
        }
    }
    errs
}

/// `ValidateCrossVersionObjectReference`.
fn validate_cross_version_ref(r: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for field in ["kind", "name"] {
        let v = str_of(r, field);
        let p = child(path, field);
        if v.is_empty() {
            errs.push(FieldError::required(p, ""));
        } else {
            for m in is_valid_path_segment_name(v, false) {
                errs.push(FieldError::invalid(p.as_str(), v, m));
            }
        }
    }
    errs
}

const METRIC_TYPES: &[&str] = &[
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];

/// `validateMetricSpec`: a known type with exactly its own source.
fn validate_metric_spec(m: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = str_of(m, "type");
    if ty.is_empty() {
        errs.push(FieldError::required(
            child(path, "type"),
            "must specify a metric source type",
        ));
    }
    if !METRIC_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(
            child(path, "type"),
            ty,
            METRIC_TYPES,
        ));
    }
    let sources = [
        ("object", "Object"),
        ("pods", "Pods"),
        ("resource", "Resource"),
        ("external", "External"),
        ("containerResource", "ContainerResource"),
    ];
    let present: Vec<&str> = sources
        .iter()
        .filter(|(f, _)| m.get(*f).is_some_and(|v| !v.is_null()))
        .map(|(f, _)| *f)
        .collect();
    if let Some(first) = present.first()
        && let Some(src) = m.get(*first)
    {
        let p = child(path, first);
        errs.extend(match *first {
            "object" => validate_object_source(src, &p),
            "pods" => validate_pods_source(src, &p),
            "resource" => validate_resource_source(src, &p),
            "external" => validate_external_source(src, &p),
            _ => validate_container_resource_source(src, &p),
        });
    }
    let expected = sources.iter().find(|(_, t)| *t == ty).map(|(f, _)| *f);
    match expected {
        Some(f) if !present.contains(&f) => errs.push(FieldError::required(
            child(path, f),
            "must populate information for the given metric source",
        )),
        Some(_) => {}
        None => errs.push(FieldError::not_supported(
            child(path, "type"),
            ty,
            METRIC_TYPES,
        )),
    }
    if present.len() != 1 {
        let mut extra: Vec<&str> = present
            .iter()
            .copied()
            .filter(|f| Some(*f) != expected)
            .collect();
        extra.sort_unstable();
        for f in extra {
            errs.push(FieldError::forbidden(
                child(path, f),
                "must populate the given metric source only",
            ));
        }
    }
    errs
}

fn positive_quantity(v: Option<&Value>) -> Option<bool> {
    let v = v.filter(|v| !v.is_null())?;
    Some(quantity_of(v).is_some_and(|q| !q.is_negative() && q.mantissa != 0))
}

/// `validateMetricTarget`.
fn validate_metric_target(t: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = str_of(t, "type");
    if ty.is_empty() {
        errs.push(FieldError::required(
            child(path, "type"),
            "must specify a metric target type",
        ));
    }
    if !matches!(ty, "Utilization" | "Value" | "AverageValue") {
        errs.push(FieldError::invalid_repr(
            child(path, "type"),
            ty,
            "must be either Utilization, Value, or AverageValue",
        ));
    }
    for field in ["value", "averageValue"] {
        if positive_quantity(t.get(field)) == Some(false) {
            let shown = t
                .get(field)
                .map(crate::apimachinery::validation::value_as_plain_string);
            errs.push(FieldError::invalid(
                child(path, field),
                go_repr(shown.unwrap_or_default()),
                "must be positive",
            ));
        }
    }
    if let Some(u) = int_of(t, "averageUtilization").filter(|u| *u < 1) {
        errs.push(FieldError::invalid(
            child(path, "averageUtilization"),
            u,
            "must be greater than 0",
        ));
    }
    errs
}

fn target(src: &Value) -> &Value {
    src.get("target").unwrap_or(&Value::Null)
}

fn has(t: &Value, field: &str) -> bool {
    t.get(field).is_some_and(|v| !v.is_null())
}

fn validate_metric_identifier(src: &Value, path: &str) -> Vec<FieldError> {
    let metric = src.get("metric").unwrap_or(&Value::Null);
    let mp = child(path, "metric");
    let mut errs = Vec::new();
    let name = str_of(metric, "name");
    if name.is_empty() {
        errs.push(FieldError::required(
            child(&mp, "name"),
            "must specify a metric name",
        ));
    } else {
        for m in is_valid_path_segment_name(name, false) {
            errs.push(FieldError::invalid(child(&mp, "name"), name, m));
        }
    }
    if let Some(sel) = metric.get("selector").filter(|s| !s.is_null()) {
        errs.extend(super::validate_label_selector(
            Some(sel),
            &child(&mp, "selector"),
        ));
    }
    errs
}

fn validate_object_source(src: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_cross_version_ref(
        src.get("describedObject").unwrap_or(&Value::Null),
        &child(path, "describedObject"),
    );
    errs.extend(validate_metric_identifier(src, path));
    let t = target(src);
    let tp = child(path, "target");
    errs.extend(validate_metric_target(t, &tp));
    if !has(t, "value") && !has(t, "averageValue") {
        errs.push(FieldError::required(
            child(&tp, "averageValue"),
            "must set either a target value or averageValue",
        ));
    }
    errs
}

fn validate_external_source(src: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_metric_identifier(src, path);
    let t = target(src);
    let tp = child(path, "target");
    errs.extend(validate_metric_target(t, &tp));
    if !has(t, "value") && !has(t, "averageValue") {
        errs.push(FieldError::required(
            child(&tp, "averageValue"),
            "must set either a target value for metric or a per-pod target",
        ));
    }
    if has(t, "value") && has(t, "averageValue") {
        errs.push(FieldError::forbidden(
            child(&tp, "value"),
            "may not set both a target value for metric and a per-pod target",
        ));
    }
    errs
}

fn validate_pods_source(src: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_metric_identifier(src, path);
    let t = target(src);
    let tp = child(path, "target");
    errs.extend(validate_metric_target(t, &tp));
    if !has(t, "averageValue") {
        errs.push(FieldError::required(
            child(&tp, "averageValue"),
            "must specify a positive target averageValue",
        ));
    }
    errs
}

fn resource_target_rules(src: &Value, path: &str) -> Vec<FieldError> {
    let t = target(src);
    let tp = child(path, "target");
    let mut errs = validate_metric_target(t, &tp);
    if !has(t, "averageUtilization") && !has(t, "averageValue") {
        errs.push(FieldError::required(
            child(&tp, "averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if has(t, "averageUtilization") && has(t, "averageValue") {
        errs.push(FieldError::forbidden(
            child(&tp, "averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
    errs
}

fn validate_resource_name(src: &Value, path: &str) -> Vec<FieldError> {
    let name = str_of(src, "name");
    if name.is_empty() {
        vec![FieldError::required(
            child(path, "name"),
            "must specify a resource name",
        )]
    } else {
        validate_container_resource_name(name, &child(path, "name"))
    }
}

fn validate_resource_source(src: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_resource_name(src, path);
    errs.extend(resource_target_rules(src, path));
    errs
}

fn validate_container_resource_source(src: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_resource_name(src, path);
    if str_of(src, "container").is_empty() {
        errs.push(FieldError::required(
            child(path, "container"),
            "must specify a container",
        ));
    }
    errs.extend(resource_target_rules(src, path));
    errs
}

const MAX_PERIOD_SECONDS: i64 = 1800;
const MAX_STABILIZATION_WINDOW_SECONDS: i64 = 3600;

/// `validateScalingRules`.
fn validate_scaling_rules(rules: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(w) = int_of(rules, "stabilizationWindowSeconds") {
        let p = child(path, "stabilizationWindowSeconds");
        if w < 0 {
            errs.push(FieldError::invalid(
                p,
                w,
                "must be greater than or equal to zero",
            ));
        } else if w > MAX_STABILIZATION_WINDOW_SECONDS {
            errs.push(FieldError::invalid(
                p,
                w,
                format!("must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"),
            ));
        }
    }
    if let Some(sp) = rules.get("selectPolicy").and_then(Value::as_str)
        && !matches!(sp, "Max" | "Min" | "Disabled")
    {
        errs.push(FieldError::not_supported(
            child(path, "selectPolicy"),
            sp,
            &["Disabled", "Max", "Min"],
        ));
    }
    let policies = rules
        .get("policies")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let pp = child(path, "policies");
    if policies.is_empty() {
        errs.push(FieldError::required(
            pp.as_str(),
            "must specify at least one Policy",
        ));
    }
    for (i, p) in policies.iter().enumerate() {
        let ip = index(&pp, i);
        let ty = str_of(p, "type");
        if !matches!(ty, "Pods" | "Percent") {
            errs.push(FieldError::not_supported(
                child(&ip, "type"),
                ty,
                &["Percent", "Pods"],
            ));
        }
        let v = int_of(p, "value").unwrap_or(0);
        if v <= 0 {
            errs.push(FieldError::invalid(
                child(&ip, "value"),
                v,
                "must be greater than zero",
            ));
        }
        let period = int_of(p, "periodSeconds").unwrap_or(0);
        let per = child(&ip, "periodSeconds");
        if period <= 0 {
            errs.push(FieldError::invalid(
                per,
                period,
                "must be greater than zero",
            ));
        } else if period > MAX_PERIOD_SECONDS {
            errs.push(FieldError::invalid(
                per,
                period,
                format!("must be less than or equal to {MAX_PERIOD_SECONDS}"),
            ));
        }
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

    fn hpa(spec: Value) -> Value {
        json!({"metadata": {"name": "h", "namespace": "d"}, "spec": spec})
    }

    #[test]
    fn hpa_messages() {
        let cpu = json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]);
        let ok = hpa(json!({"minReplicas": 1, "maxReplicas": 3, "metrics": cpu,
            "scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"}}));
        assert!(validate_hpa(&ok).is_empty());
        assert_eq!(
            msgs(&validate_hpa(&hpa(
                json!({"minReplicas": 5, "maxReplicas": 2,
                "scaleTargetRef": {"kind": "", "name": ""}})
            ))),
            [
                "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
                "spec.scaleTargetRef.kind: Required value",
                "spec.scaleTargetRef.name: Required value",
            ]
        );
        assert_eq!(
            msgs(&validate_hpa(&hpa(
                json!({"minReplicas": 0, "maxReplicas": 0,
                "scaleTargetRef": {"kind": "Deployment", "name": "d"}})
            ))),
            [
                "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
                "spec.maxReplicas: Invalid value: 0: must be greater than 0",
                "spec.metrics: Forbidden: must specify at least one Object or External metric to support scaling to zero replicas",
            ]
        );
        assert_eq!(
            msgs(&validate_hpa(&hpa(json!({"maxReplicas": 3,
                "scaleTargetRef": {"kind": "Deployment", "name": "d"},
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]})))),
            [
                "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization"
            ]
        );
    }
}
