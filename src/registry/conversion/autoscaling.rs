//! HorizontalPodAutoscaler autoscaling/v1 ⇄ autoscaling/v2 (the stored
//! version), as upstream's `pkg/apis/autoscaling/v1/conversion.go` converts
//! through the internal type. v1 has one metric, `targetCPUUtilizationPercentage`
//! (a Resource cpu Utilization target) and its status twin; everything else
//! of v2 rides in annotations in v1 (the other metrics and the current ones
//! in v1's own `MetricSpec`/`MetricStatus` shapes, the conditions, and the
//! behavior as the internal type's JSON), and those annotations are dropped
//! again on the way back.

use serde_json::{Map, Value, json};

pub const METRIC_SPECS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/metrics";
pub const METRIC_STATUSES_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
pub const CONDITIONS_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/conditions";
pub const BEHAVIOR_ANNOTATION: &str = "autoscaling.alpha.kubernetes.io/behavior";
const ROUND_TRIP: [&str; 4] = [
    METRIC_SPECS_ANNOTATION,
    METRIC_STATUSES_ANNOTATION,
    CONDITIONS_ANNOTATION,
    BEHAVIOR_ANNOTATION,
];

/// `autoscaling.DefaultCPUUtilization`.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

fn set(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// Inserts `v` at `k` when it is set.
fn put(m: &mut Map<String, Value>, k: &str, v: Option<&Value>) {
    if let Some(v) = set(v) {
        m.insert(k.into(), v.clone());
    }
}

/// A non-pointer `resource.Quantity` of v1: "0" when unset.
fn quantity_or_zero(v: Option<&Value>) -> Value {
    set(v).cloned().unwrap_or_else(|| json!("0"))
}

fn is_cpu_utilization(m: &Value) -> bool {
    m.get("type").and_then(Value::as_str) == Some("Resource")
        && m.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
        && set(m.pointer("/resource/target/averageUtilization")).is_some()
}

fn annotations_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = obj.get_mut("metadata")?.as_object_mut()?;
    let a = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if a.is_null() {
        *a = Value::Object(Map::new());
    }
    a.as_object_mut()
}

fn drop_round_trip_annotations(obj: &mut Value) -> Map<String, Value> {
    let mut taken = Map::new();
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return taken;
    };
    if let Some(a) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        for k in ROUND_TRIP {
            if let Some(v) = a.shift_remove(k) {
                taken.insert(k.into(), v);
            }
        }
        if a.is_empty() {
            meta.shift_remove("annotations");
        }
    }
    taken
}

fn parse_annotation(taken: &Map<String, Value>, key: &str) -> Option<Value> {
    taken
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
}

// ---------------------------------------------------------------------------
// Metric specs and statuses: v2 ⇄ v1's annotation shapes

fn spec_v2_to_v1(m: &Value) -> Value {
    let ty = m.get("type").cloned().unwrap_or(json!(""));
    let mut out = Map::new();
    out.insert("type".into(), ty.clone());
    let t = |src: &str, f: &str| m.pointer(&format!("/{src}/target/{f}"));
    match ty.as_str().unwrap_or("") {
        "Object" => {
            let mut o = Map::new();
            put(&mut o, "target", m.pointer("/object/describedObject"));
            put(&mut o, "metricName", m.pointer("/object/metric/name"));
            o.insert("targetValue".into(), quantity_or_zero(t("object", "value")));
            put(&mut o, "selector", m.pointer("/object/metric/selector"));
            put(&mut o, "averageValue", t("object", "averageValue"));
            out.insert("object".into(), Value::Object(o));
        }
        "Pods" => {
            let mut o = Map::new();
            put(&mut o, "metricName", m.pointer("/pods/metric/name"));
            o.insert(
                "targetAverageValue".into(),
                quantity_or_zero(t("pods", "averageValue")),
            );
            put(&mut o, "selector", m.pointer("/pods/metric/selector"));
            out.insert("pods".into(), Value::Object(o));
        }
        src @ ("Resource" | "ContainerResource") => {
            let key = if src == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let mut o = Map::new();
            put(&mut o, "name", m.pointer(&format!("/{key}/name")));
            put(
                &mut o,
                "targetAverageUtilization",
                t(key, "averageUtilization"),
            );
            put(&mut o, "targetAverageValue", t(key, "averageValue"));
            put(&mut o, "container", m.pointer(&format!("/{key}/container")));
            out.insert(key.into(), Value::Object(o));
        }
        "External" => {
            let mut o = Map::new();
            put(&mut o, "metricName", m.pointer("/external/metric/name"));
            put(
                &mut o,
                "metricSelector",
                m.pointer("/external/metric/selector"),
            );
            put(&mut o, "targetValue", t("external", "value"));
            put(&mut o, "targetAverageValue", t("external", "averageValue"));
            out.insert("external".into(), Value::Object(o));
        }
        _ => {}
    }
    Value::Object(out)
}

fn metric_identifier(name: Option<&Value>, selector: Option<&Value>) -> Value {
    let mut id = Map::new();
    id.insert("name".into(), set(name).cloned().unwrap_or(json!("")));
    put(&mut id, "selector", selector);
    Value::Object(id)
}

fn target(ty: &str, fields: &[(&str, Option<&Value>)]) -> Value {
    let mut t = Map::new();
    t.insert("type".into(), json!(ty));
    for (k, v) in fields {
        put(&mut t, k, *v);
    }
    Value::Object(t)
}

fn spec_v1_to_v2(m: &Value) -> Value {
    let ty = m.get("type").cloned().unwrap_or(json!(""));
    let mut out = Map::new();
    out.insert("type".into(), ty.clone());
    match ty.as_str().unwrap_or("") {
        "Object" => {
            let o = m.get("object").unwrap_or(&Value::Null);
            let avg = set(o.get("averageValue"));
            let ty = if avg.is_none() {
                "Value"
            } else {
                "AverageValue"
            };
            let value = quantity_or_zero(o.get("targetValue"));
            out.insert(
                "object".into(),
                json!({
                    "describedObject": o.get("target").cloned().unwrap_or(json!({})),
                    "target": target(ty, &[("value", Some(&value)), ("averageValue", avg)]),
                    "metric": metric_identifier(o.get("metricName"), o.get("selector")),
                }),
            );
        }
        "Pods" => {
            let o = m.get("pods").unwrap_or(&Value::Null);
            let avg = quantity_or_zero(o.get("targetAverageValue"));
            out.insert(
                "pods".into(),
                json!({
                    "metric": metric_identifier(o.get("metricName"), o.get("selector")),
                    "target": target("AverageValue", &[("averageValue", Some(&avg))]),
                }),
            );
        }
        src @ ("Resource" | "ContainerResource") => {
            let key = if src == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let o = m.get(key).unwrap_or(&Value::Null);
            let util = set(o.get("targetAverageUtilization"));
            let ty = if util.is_none() {
                "AverageValue"
            } else {
                "Utilization"
            };
            let mut r = Map::new();
            r.insert("name".into(), o.get("name").cloned().unwrap_or(json!("")));
            r.insert(
                "target".into(),
                target(
                    ty,
                    &[
                        ("averageUtilization", util),
                        ("averageValue", o.get("targetAverageValue")),
                    ],
                ),
            );
            if key == "containerResource" {
                r.insert(
                    "container".into(),
                    o.get("container").cloned().unwrap_or(json!("")),
                );
            }
            out.insert(key.into(), Value::Object(r));
        }
        "External" => {
            let o = m.get("external").unwrap_or(&Value::Null);
            let avg = set(o.get("targetAverageValue"));
            let ty = if avg.is_none() {
                "Value"
            } else {
                "AverageValue"
            };
            out.insert(
                "external".into(),
                json!({
                    "metric": metric_identifier(o.get("metricName"), o.get("metricSelector")),
                    "target": target(ty, &[("value", o.get("targetValue")), ("averageValue", avg)]),
                }),
            );
        }
        _ => {}
    }
    Value::Object(out)
}

fn status_v2_to_v1(m: &Value) -> Value {
    let ty = m.get("type").cloned().unwrap_or(json!(""));
    let mut out = Map::new();
    out.insert("type".into(), ty.clone());
    let c = |src: &str, f: &str| m.pointer(&format!("/{src}/current/{f}"));
    match ty.as_str().unwrap_or("") {
        "Object" => {
            let mut o = Map::new();
            put(&mut o, "target", m.pointer("/object/describedObject"));
            put(&mut o, "metricName", m.pointer("/object/metric/name"));
            o.insert(
                "currentValue".into(),
                quantity_or_zero(c("object", "value")),
            );
            put(&mut o, "selector", m.pointer("/object/metric/selector"));
            put(&mut o, "averageValue", c("object", "averageValue"));
            out.insert("object".into(), Value::Object(o));
        }
        "Pods" => {
            let mut o = Map::new();
            put(&mut o, "metricName", m.pointer("/pods/metric/name"));
            o.insert(
                "currentAverageValue".into(),
                quantity_or_zero(c("pods", "averageValue")),
            );
            put(&mut o, "selector", m.pointer("/pods/metric/selector"));
            out.insert("pods".into(), Value::Object(o));
        }
        src @ ("Resource" | "ContainerResource") => {
            let key = if src == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let mut o = Map::new();
            put(&mut o, "name", m.pointer(&format!("/{key}/name")));
            put(
                &mut o,
                "currentAverageUtilization",
                c(key, "averageUtilization"),
            );
            o.insert(
                "currentAverageValue".into(),
                quantity_or_zero(c(key, "averageValue")),
            );
            put(&mut o, "container", m.pointer(&format!("/{key}/container")));
            out.insert(key.into(), Value::Object(o));
        }
        "External" => {
            let mut o = Map::new();
            put(&mut o, "metricName", m.pointer("/external/metric/name"));
            put(
                &mut o,
                "metricSelector",
                m.pointer("/external/metric/selector"),
            );
            o.insert(
                "currentValue".into(),
                quantity_or_zero(c("external", "value")),
            );
            put(&mut o, "currentAverageValue", c("external", "averageValue"));
            out.insert("external".into(), Value::Object(o));
        }
        _ => {}
    }
    Value::Object(out)
}

fn current(fields: &[(&str, Option<&Value>)]) -> Value {
    let mut c = Map::new();
    for (k, v) in fields {
        put(&mut c, k, *v);
    }
    Value::Object(c)
}

fn status_v1_to_v2(m: &Value) -> Value {
    let ty = m.get("type").cloned().unwrap_or(json!(""));
    let mut out = Map::new();
    out.insert("type".into(), ty.clone());
    match ty.as_str().unwrap_or("") {
        "Object" => {
            let o = m.get("object").unwrap_or(&Value::Null);
            out.insert(
                "object".into(),
                json!({
                    "metric": metric_identifier(o.get("metricName"), o.get("selector")),
                    "current": current(&[("value", o.get("currentValue")), ("averageValue", o.get("averageValue"))]),
                    "describedObject": o.get("target").cloned().unwrap_or(json!({})),
                }),
            );
        }
        "Pods" => {
            let o = m.get("pods").unwrap_or(&Value::Null);
            out.insert(
                "pods".into(),
                json!({
                    "metric": metric_identifier(o.get("metricName"), o.get("selector")),
                    "current": current(&[("averageValue", o.get("currentAverageValue"))]),
                }),
            );
        }
        src @ ("Resource" | "ContainerResource") => {
            let key = if src == "Resource" {
                "resource"
            } else {
                "containerResource"
            };
            let o = m.get(key).unwrap_or(&Value::Null);
            let mut r = Map::new();
            r.insert("name".into(), o.get("name").cloned().unwrap_or(json!("")));
            if key == "containerResource" {
                r.insert(
                    "container".into(),
                    o.get("container").cloned().unwrap_or(json!("")),
                );
            }
            r.insert(
                "current".into(),
                current(&[
                    ("averageValue", o.get("currentAverageValue")),
                    ("averageUtilization", o.get("currentAverageUtilization")),
                ]),
            );
            out.insert(key.into(), Value::Object(r));
        }
        "External" => {
            let o = m.get("external").unwrap_or(&Value::Null);
            out.insert(
                "external".into(),
                json!({
                    "metric": metric_identifier(o.get("metricName"), o.get("metricSelector")),
                    "current": current(&[("value", o.get("currentValue")), ("averageValue", o.get("currentAverageValue"))]),
                }),
            );
        }
        _ => {}
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// Behavior: the internal type's JSON (Go field names) in the annotation

fn rules_to_internal(r: Option<&Value>) -> Value {
    let Some(r) = set(r) else {
        return Value::Null;
    };
    let policies = match r.get("policies").and_then(Value::as_array) {
        Some(ps) => Value::Array(
            ps.iter()
                .map(|p| {
                    json!({"Type": p.get("type").cloned().unwrap_or(json!("")),
                        "Value": p.get("value").cloned().unwrap_or(json!(0)),
                        "PeriodSeconds": p.get("periodSeconds").cloned().unwrap_or(json!(0))})
                })
                .collect(),
        ),
        None => Value::Null,
    };
    json!({
        "StabilizationWindowSeconds": r.get("stabilizationWindowSeconds").cloned().unwrap_or(Value::Null),
        "SelectPolicy": r.get("selectPolicy").cloned().unwrap_or(Value::Null),
        "Policies": policies,
        "Tolerance": r.get("tolerance").cloned().unwrap_or(Value::Null),
    })
}

fn rules_from_internal(r: Option<&Value>) -> Option<Value> {
    let r = set(r)?;
    let mut out = Map::new();
    put(
        &mut out,
        "stabilizationWindowSeconds",
        r.get("StabilizationWindowSeconds"),
    );
    put(&mut out, "selectPolicy", r.get("SelectPolicy"));
    if let Some(ps) = r.get("Policies").and_then(Value::as_array) {
        out.insert(
            "policies".into(),
            Value::Array(
                ps.iter()
                    .map(|p| {
                        json!({"type": p.get("Type").cloned().unwrap_or(json!("")),
                            "value": p.get("Value").cloned().unwrap_or(json!(0)),
                            "periodSeconds": p.get("PeriodSeconds").cloned().unwrap_or(json!(0))})
                    })
                    .collect(),
            ),
        );
    }
    put(&mut out, "tolerance", r.get("Tolerance"));
    Some(Value::Object(out))
}

// ---------------------------------------------------------------------------
// Whole objects

/// An autoscaling/v1 HorizontalPodAutoscaler into its stored autoscaling/v2
/// form.
pub fn hpa_v1_to_v2(obj: &mut Value) {
    let taken = drop_round_trip_annotations(obj);
    let Some(m) = obj.as_object_mut() else { return };
    let old = std::mem::take(m);
    for (k, v) in old {
        match k.as_str() {
            "apiVersion" => {
                m.insert(k, json!("autoscaling/v2"));
            }
            "spec" => {
                m.insert(k, spec_to_v2(&v, &taken));
            }
            "status" => {
                m.insert(k, status_to_v2(&v, &taken));
            }
            _ => {
                m.insert(k, v);
            }
        }
    }
}

fn spec_to_v2(s: &Value, taken: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    put(&mut out, "scaleTargetRef", s.get("scaleTargetRef"));
    put(&mut out, "minReplicas", s.get("minReplicas"));
    out.insert(
        "maxReplicas".into(),
        s.get("maxReplicas").cloned().unwrap_or(json!(0)),
    );
    let mut metrics: Vec<Value> = parse_annotation(taken, METRIC_SPECS_ANNOTATION)
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(spec_v1_to_v2)
        .collect();
    let cpu = set(s.get("targetCPUUtilizationPercentage"))
        .cloned()
        .or_else(|| metrics.is_empty().then(|| json!(DEFAULT_CPU_UTILIZATION)));
    if let Some(u) = cpu {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": u}}}));
    }
    out.insert("metrics".into(), Value::Array(metrics));
    if let Some(b) = parse_annotation(taken, BEHAVIOR_ANNOTATION).filter(Value::is_object) {
        let mut behavior = Map::new();
        if let Some(up) = rules_from_internal(b.get("ScaleUp")) {
            behavior.insert("scaleUp".into(), up);
        }
        if let Some(down) = rules_from_internal(b.get("ScaleDown")) {
            behavior.insert("scaleDown".into(), down);
        }
        out.insert("behavior".into(), Value::Object(behavior));
    }
    Value::Object(out)
}

fn status_to_v2(s: &Value, taken: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    put(&mut out, "observedGeneration", s.get("observedGeneration"));
    put(&mut out, "lastScaleTime", s.get("lastScaleTime"));
    if let Some(c) = s
        .get("currentReplicas")
        .filter(|c| c.as_i64().is_some_and(|c| c != 0))
    {
        out.insert("currentReplicas".into(), c.clone());
    }
    out.insert(
        "desiredReplicas".into(),
        s.get("desiredReplicas").cloned().unwrap_or(json!(0)),
    );
    let current = match parse_annotation(taken, METRIC_STATUSES_ANNOTATION)
        .and_then(|v| v.as_array().cloned())
    {
        Some(list) => Value::Array(list.iter().map(status_v1_to_v2).collect()),
        None => match set(s.get("currentCPUUtilizationPercentage")) {
            Some(u) => json!([{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": u}}}]),
            None => Value::Null,
        },
    };
    out.insert("currentMetrics".into(), current);
    if let Some(c) = parse_annotation(taken, CONDITIONS_ANNOTATION).filter(Value::is_array) {
        out.insert("conditions".into(), c);
    }
    Value::Object(out)
}

/// A stored autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1.
pub fn hpa_v2_to_v1(obj: &mut Value) {
    // Annotations a client set by hand are not ours to keep.
    drop_round_trip_annotations(obj);
    let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
    let status = obj.get("status").cloned().unwrap_or(Value::Null);
    let metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let currents = status
        .get("currentMetrics")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut notes: Vec<(&str, String)> = Vec::new();
    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| !is_cpu_utilization(m))
        .map(spec_v2_to_v1)
        .collect();
    if !others.is_empty() {
        notes.push((METRIC_SPECS_ANNOTATION, Value::Array(others).to_string()));
    }
    if !currents.is_empty() {
        let list: Vec<Value> = currents.iter().map(status_v2_to_v1).collect();
        notes.push((METRIC_STATUSES_ANNOTATION, Value::Array(list).to_string()));
    }
    if let Some(b) = set(spec.get("behavior")) {
        let internal = json!({"ScaleUp": rules_to_internal(b.get("scaleUp")),
            "ScaleDown": rules_to_internal(b.get("scaleDown"))});
        notes.push((BEHAVIOR_ANNOTATION, internal.to_string()));
    }
    if let Some(c) = status
        .get("conditions")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    {
        notes.push((CONDITIONS_ANNOTATION, Value::Array(c.clone()).to_string()));
    }
    if !notes.is_empty()
        && let Some(a) = annotations_mut(obj)
    {
        for (k, v) in notes {
            a.insert(k.into(), Value::String(v));
        }
    }
    let Some(m) = obj.as_object_mut() else { return };
    let old = std::mem::take(m);
    for (k, v) in old {
        match k.as_str() {
            "apiVersion" => {
                m.insert(k, json!("autoscaling/v1"));
            }
            "spec" => {
                let mut s = Map::new();
                put(&mut s, "scaleTargetRef", v.get("scaleTargetRef"));
                put(&mut s, "minReplicas", v.get("minReplicas"));
                s.insert(
                    "maxReplicas".into(),
                    v.get("maxReplicas").cloned().unwrap_or(json!(0)),
                );
                if let Some(cpu) = metrics.iter().find(|m| is_cpu_utilization(m)) {
                    put(
                        &mut s,
                        "targetCPUUtilizationPercentage",
                        cpu.pointer("/resource/target/averageUtilization"),
                    );
                }
                m.insert(k, Value::Object(s));
            }
            "status" => {
                let mut s = Map::new();
                put(&mut s, "observedGeneration", v.get("observedGeneration"));
                put(&mut s, "lastScaleTime", v.get("lastScaleTime"));
                s.insert(
                    "currentReplicas".into(),
                    v.get("currentReplicas").cloned().unwrap_or(json!(0)),
                );
                s.insert(
                    "desiredReplicas".into(),
                    v.get("desiredReplicas").cloned().unwrap_or(json!(0)),
                );
                let cpu = currents.iter().find_map(|c| {
                    (c.get("type").and_then(Value::as_str) == Some("Resource")
                        && c.pointer("/resource/name").and_then(Value::as_str) == Some("cpu"))
                    .then(|| c.pointer("/resource/current/averageUtilization"))
                    .flatten()
                });
                put(&mut s, "currentCPUUtilizationPercentage", cpu);
                m.insert(k, Value::Object(s));
            }
            _ => {
                m.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_target_maps_both_ways() {
        let mut v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "d"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"},
                "minReplicas": 2, "maxReplicas": 6, "targetCPUUtilizationPercentage": 50},
            "status": {"currentReplicas": 0, "desiredReplicas": 0}});
        let orig = v1.clone();
        hpa_v1_to_v2(&mut v1);
        // As kube-apiserver stores `kubectl autoscale ... --cpu-percent=50`.
        assert_eq!(
            v1,
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "d"},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d", "apiVersion": "apps/v1"},
                    "minReplicas": 2, "maxReplicas": 6,
                    "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
                "status": {"desiredReplicas": 0, "currentMetrics": null}})
        );
        hpa_v2_to_v1(&mut v1);
        assert_eq!(v1, orig);
    }

    #[test]
    fn no_target_is_the_default_cpu_target() {
        let mut v1 = json!({"spec": {"maxReplicas": 3}});
        hpa_v1_to_v2(&mut v1);
        assert_eq!(
            v1["spec"]["metrics"],
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}])
        );
    }

    #[test]
    fn other_metrics_conditions_and_behavior_round_trip() {
        let v2 = json!({"apiVersion": "autoscaling/v2", "metadata": {"name": "h", "annotations": {"keep": "me"}},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "minReplicas": 1, "maxReplicas": 3,
                "metrics": [
                    {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "c", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
                    {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s", "apiVersion": "v1"}, "metric": {"name": "hits"}, "target": {"type": "AverageValue", "averageValue": "2"}}},
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
                "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15}]}}},
            "status": {"currentReplicas": 2, "desiredReplicas": 2,
                "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 40, "averageValue": "40m"}}}],
                "conditions": [{"type": "AbleToScale", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "R", "message": "m"}]}});
        let mut v1 = v2.clone();
        hpa_v2_to_v1(&mut v1);
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 70);
        assert_eq!(v1["status"]["currentCPUUtilizationPercentage"], 40);
        let a = &v1["metadata"]["annotations"];
        assert_eq!(a["keep"], "me");
        // v1's own MetricSpec shape, as upstream writes the annotation.
        assert_eq!(
            a[METRIC_SPECS_ANNOTATION],
            r#"[{"type":"ContainerResource","containerResource":{"name":"memory","targetAverageValue":"100Mi","container":"c"}},{"type":"Object","object":{"target":{"kind":"Service","name":"s","apiVersion":"v1"},"metricName":"hits","targetValue":"0","averageValue":"2"}}]"#
        );
        assert!(a[BEHAVIOR_ANNOTATION].as_str().is_some_and(|b| {
            b.starts_with(r#"{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max""#)
        }));
        let mut back = v1.clone();
        hpa_v1_to_v2(&mut back);
        assert_eq!(back["metadata"], v2["metadata"]);
        assert_eq!(back["status"], v2["status"]);
        assert_eq!(back["spec"]["behavior"], v2["spec"]["behavior"]);
        // The Object target gains upstream's explicit zero `value`.
        assert_eq!(back["spec"]["metrics"][0], v2["spec"]["metrics"][0]);
        assert_eq!(back["spec"]["metrics"][2], v2["spec"]["metrics"][2]);
        assert_eq!(
            back["spec"]["metrics"][1]["object"]["target"],
            json!({"type": "AverageValue", "value": "0", "averageValue": "2"})
        );
    }
}
