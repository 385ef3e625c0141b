//! Table columns and cells of the workload kinds and their neighbours
//! (`pkg/printers/internalversion/printers.go`: `printJob`, `printCronJob`,
//! `printStatefulSet`, `printDaemonSet`, `printControllerRevision`,
//! `printReplicationController`, `printPodDisruptionBudget`,
//! `printPriorityClass`, `printHorizontalPodAutoscaler`). Column
//! descriptions are the ones kube-apiserver serves.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    DESC_CONTAINERS, DESC_IMAGES, age, age_col, arr_at, at, col, format_label_selector,
    format_labels, human_duration, i64_at, layout_container_cells, name, name_col, parse_time,
    since, str_at,
};

/// Table columns of job objects.
pub fn job_columns() -> Vec<Value> {
    vec![
        name_col(),
        col("Status", "string", "", "Status of the job.", 0),
        col(
            "Completions",
            "string",
            "",
            "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
            0,
        ),
        col(
            "Duration",
            "string",
            "",
            "Time required to complete the job.",
            0,
        ),
        age_col(),
        col("Containers", "string", "", DESC_CONTAINERS, 1),
        col("Images", "string", "", DESC_IMAGES, 1),
        col(
            "Selector",
            "string",
            "",
            "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
            1,
        ),
    ]
}

/// Table columns of cron job objects.
pub fn cron_job_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Schedule",
            "string",
            "",
            "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
            0,
        ),
        col(
            "Timezone",
            "string",
            "",
            "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones",
            0,
        ),
        col(
            "Suspend",
            "boolean",
            "",
            "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
            0,
        ),
        col(
            "Active",
            "integer",
            "",
            "A list of pointers to currently running jobs.",
            0,
        ),
        col(
            "Last Schedule",
            "string",
            "",
            "Information when was the last time the job was successfully scheduled.",
            0,
        ),
        age_col(),
        col("Containers", "string", "", DESC_CONTAINERS, 1),
        col("Images", "string", "", DESC_IMAGES, 1),
        col(
            "Selector",
            "string",
            "",
            "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
            1,
        ),
    ]
}

/// Table columns of stateful set objects.
pub fn stateful_set_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Ready",
            "string",
            "",
            "Number of the pod with ready state",
            0,
        ),
        age_col(),
        col("Containers", "string", "", DESC_CONTAINERS, 1),
        col("Images", "string", "", DESC_IMAGES, 1),
    ]
}

/// Table columns of daemon set objects.
pub fn daemon_set_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Desired",
            "integer",
            "",
            "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
            0,
        ),
        col(
            "Current",
            "integer",
            "",
            "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/",
            0,
        ),
        col(
            "Ready",
            "integer",
            "",
            "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
            0,
        ),
        col(
            "Up-to-date",
            "integer",
            "",
            "The total number of nodes that are running updated daemon pod",
            0,
        ),
        col(
            "Available",
            "integer",
            "",
            "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)",
            0,
        ),
        col(
            "Node Selector",
            "string",
            "",
            "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/",
            0,
        ),
        age_col(),
        col("Containers", "string", "", DESC_CONTAINERS, 1),
        col("Images", "string", "", DESC_IMAGES, 1),
        col(
            "Selector",
            "string",
            "",
            "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
            1,
        ),
    ]
}

/// Table columns of controller revision objects.
pub fn controller_revision_columns() -> Vec<Value> {
    vec![
        name_col(),
        col("Controller", "string", "", "Controller of the object", 0),
        col(
            "Revision",
            "string",
            "",
            "Revision indicates the revision of the state represented by Data.",
            0,
        ),
        age_col(),
    ]
}

/// Table columns of replication controller objects.
pub fn replication_controller_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Desired",
            "integer",
            "",
            "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
            0,
        ),
        col(
            "Current",
            "integer",
            "",
            "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller",
            0,
        ),
        col(
            "Ready",
            "integer",
            "",
            "The number of ready replicas for this replication controller.",
            0,
        ),
        age_col(),
        col("Containers", "string", "", DESC_CONTAINERS, 1),
        col("Images", "string", "", DESC_IMAGES, 1),
        col(
            "Selector",
            "string",
            "",
            "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
            1,
        ),
    ]
}

/// Table columns of pod disruption budget objects.
pub fn pod_disruption_budget_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Min Available",
            "string",
            "",
            "The minimum number of pods that must be available.",
            0,
        ),
        col(
            "Max Unavailable",
            "string",
            "",
            "The maximum number of pods that may be unavailable.",
            0,
        ),
        col(
            "Allowed Disruptions",
            "integer",
            "",
            "Calculated number of pods that may be disrupted at this time.",
            0,
        ),
        age_col(),
    ]
}

/// Table columns of priority class objects.
pub fn priority_class_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Value",
            "integer",
            "",
            "value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.",
            0,
        ),
        col(
            "Global-Default",
            "boolean",
            "",
            "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`. However, if more than one PriorityClasses exists with their `globalDefault` field set to true, the smallest value of such global default PriorityClasses will be used as the default priority.",
            0,
        ),
        age_col(),
        col(
            "PreemptionPolicy",
            "string",
            "",
            "preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset.",
            0,
        ),
    ]
}

/// Table columns of hpa objects.
pub fn hpa_columns() -> Vec<Value> {
    vec![
        name_col(),
        col(
            "Reference",
            "string",
            "",
            "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.",
            0,
        ),
        col(
            "Targets",
            "string",
            "",
            "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).  The desired replica count is calculated multiplying the ratio between the target value and the current value by the current number of pods.  Ergo, metrics used must decrease as the pod count is increased, and vice-versa.  See the individual metric source types for more information about how each type of metric must respond. If not set, the default metric will be set to 80% average CPU utilization.",
            0,
        ),
        col(
            "MinPods",
            "string",
            "",
            "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature gate HPAScaleToZero is enabled and at least one Object or External metric is configured.  Scaling is active as long as at least one metric value is available.",
            0,
        ),
        col(
            "MaxPods",
            "string",
            "",
            "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up. It cannot be less that minReplicas.",
            0,
        ),
        col(
            "Replicas",
            "string",
            "",
            "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.",
            0,
        ),
        age_col(),
    ]
}

/// Table columns of autoscaling/v1 HorizontalPodAutoscalers (the same).
pub fn hpa_v1_columns() -> Vec<Value> {
    hpa_columns()
}

// ---------------------------------------------------------------------------------------------
// Cells

/// The status of a condition of type `t`, if present (`hasJobCondition`:
/// the first of that type decides).
fn condition_true(obj: &Value, t: &str) -> bool {
    arr_at(obj, &["status", "conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == t)
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// `printJob`.
pub fn job_cells(job: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let succeeded = i64_at(job, &["status", "succeeded"]);
    let completions = match at(job, &["spec", "completions"]).and_then(Value::as_i64) {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = i64_at(job, &["spec", "parallelism"]);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    };
    let start = parse_time(at(job, &["status", "startTime"]));
    let end = parse_time(at(job, &["status", "completionTime"]));
    let duration = match (start, end) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now.signed_duration_since(s)),
        (Some(s), Some(e)) => human_duration(e.signed_duration_since(s)),
    };
    let deleting = at(job, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    let status = if condition_true(job, "Complete") {
        "Complete"
    } else if condition_true(job, "Failed") {
        "Failed"
    } else if deleting {
        "Terminating"
    } else if condition_true(job, "Suspended") {
        "Suspended"
    } else if condition_true(job, "FailureTarget") {
        "FailureTarget"
    } else if condition_true(job, "SuccessCriteriaMet") {
        "SuccessCriteriaMet"
    } else {
        "Running"
    };
    let (names, images) =
        layout_container_cells(arr_at(job, &["spec", "template", "spec", "containers"]));
    vec![
        json!(name(job)),
        json!(status),
        json!(completions),
        json!(duration),
        json!(age(job, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

/// `printBoolPtr`.
fn bool_ptr(v: Option<&Value>) -> &'static str {
    match v.and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    }
}

/// `printCronJob`.
pub fn cron_job_cells(cj: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let last = match parse_time(at(cj, &["status", "lastScheduleTime"])) {
        Some(t) => since(Some(t), now),
        None => "<none>".to_string(),
    };
    let tz = at(cj, &["spec", "timeZone"])
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let template = &[
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "spec",
        "containers",
    ];
    let (names, images) = layout_container_cells(arr_at(cj, template));
    vec![
        json!(name(cj)),
        json!(str_at(cj, &["spec", "schedule"])),
        json!(tz),
        json!(bool_ptr(at(cj, &["spec", "suspend"]))),
        json!(arr_at(cj, &["status", "active"]).len()),
        json!(last),
        json!(age(cj, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(
            cj,
            &["spec", "jobTemplate", "spec", "selector"]
        ))),
    ]
}

/// `printStatefulSet`.
pub fn stateful_set_cells(ss: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) =
        layout_container_cells(arr_at(ss, &["spec", "template", "spec", "containers"]));
    vec![
        json!(name(ss)),
        json!(format!(
            "{}/{}",
            i64_at(ss, &["status", "readyReplicas"]),
            i64_at(ss, &["spec", "replicas"])
        )),
        json!(age(ss, now)),
        json!(names),
        json!(images),
    ]
}

/// `printDaemonSet`.
pub fn daemon_set_cells(ds: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) =
        layout_container_cells(arr_at(ds, &["spec", "template", "spec", "containers"]));
    let status = |f: &str| json!(i64_at(ds, &["status", f]));
    vec![
        json!(name(ds)),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        json!(format_labels(at(
            ds,
            &["spec", "template", "spec", "nodeSelector"]
        ))),
        json!(age(ds, now)),
        json!(names),
        json!(images),
        json!(format_label_selector(at(ds, &["spec", "selector"]))),
    ]
}

/// `printControllerRevision`: the controller as `<kind>.<group>/<name>`
/// in lower case (`formatResourceName`).
pub fn controller_revision_cells(cr: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let controller = arr_at(cr, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| at(r, &["controller"]).and_then(Value::as_bool) == Some(true))
        .map_or_else(
            || "<none>".to_string(),
            |r| {
                let api_version = str_at(r, &["apiVersion"]);
                let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
                let kind = str_at(r, &["kind"]);
                let gk = if group.is_empty() {
                    kind.to_string()
                } else {
                    format!("{kind}.{group}")
                };
                if gk.is_empty() {
                    str_at(r, &["name"]).to_string()
                } else {
                    format!("{}/{}", gk.to_lowercase(), str_at(r, &["name"]))
                }
            },
        );
    vec![
        json!(name(cr)),
        json!(controller),
        json!(i64_at(cr, &["revision"])),
        json!(age(cr, now)),
    ]
}

/// `printReplicationController`.
pub fn replication_controller_cells(rc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let (names, images) =
        layout_container_cells(arr_at(rc, &["spec", "template", "spec", "containers"]));
    vec![
        json!(name(rc)),
        json!(i64_at(rc, &["spec", "replicas"])),
        json!(i64_at(rc, &["status", "replicas"])),
        json!(i64_at(rc, &["status", "readyReplicas"])),
        json!(age(rc, now)),
        json!(names),
        json!(images),
        json!(format_labels(at(rc, &["spec", "selector"]))),
    ]
}

/// An IntOrString as `IntOrString.String()` prints it.
fn int_or_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `printPodDisruptionBudget`.
pub fn pod_disruption_budget_cells(pdb: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let or_na = |f: &str| int_or_string(at(pdb, &["spec", f])).unwrap_or_else(|| "N/A".into());
    vec![
        json!(name(pdb)),
        json!(or_na("minAvailable")),
        json!(or_na("maxUnavailable")),
        json!(i64_at(pdb, &["status", "disruptionsAllowed"])),
        json!(age(pdb, now)),
    ]
}

/// `printPriorityClass`.
pub fn priority_class_cells(pc: &Value, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        json!(name(pc)),
        json!(i64_at(pc, &["value"])),
        json!(
            at(pc, &["globalDefault"])
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
        json!(age(pc, now)),
        json!(str_at(pc, &["preemptionPolicy"])),
    ]
}

/// A quantity as `Quantity.String()` prints it.
fn quantity(v: Option<&Value>) -> String {
    v.and_then(crate::registry::validation::canonical_quantity)
        .unwrap_or_else(|| "0".to_string())
}

fn set(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null())
}

/// `formatHPAMetrics` on autoscaling/v2: at most two targets as
/// `current/target`, then `+ N more...`.
fn format_hpa_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let status = |i: usize, source: &str| {
        statuses
            .get(i)
            .and_then(|s| s.get(source))
            .filter(|s| !s.is_null())
    };
    let unknown = || "<unknown>".to_string();
    let mut list: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let entry = match str_at(spec, &["type"]) {
            "External" | "Object" => {
                let source = if str_at(spec, &["type"]) == "External" {
                    "external"
                } else {
                    "object"
                };
                let target = at(spec, &[source, "target"]);
                let cur = status(i, source).and_then(|s| s.get("current"));
                if set(target.and_then(|t| t.get("averageValue"))) {
                    let current = cur
                        .and_then(|c| c.get("averageValue"))
                        .filter(|v| !v.is_null())
                        .map_or_else(unknown, |v| quantity(Some(v)));
                    format!(
                        "{current}/{} (avg)",
                        quantity(target.and_then(|t| t.get("averageValue")))
                    )
                } else {
                    let current = if status(i, source).is_some() {
                        quantity(cur.and_then(|c| c.get("value")))
                    } else {
                        unknown()
                    };
                    format!(
                        "{current}/{}",
                        quantity(target.and_then(|t| t.get("value")))
                    )
                }
            }
            "Pods" => {
                let current = status(i, "pods")
                    .map_or_else(unknown, |s| quantity(at(s, &["current", "averageValue"])));
                format!(
                    "{current}/{}",
                    quantity(at(spec, &["pods", "target", "averageValue"]))
                )
            }
            t @ ("Resource" | "ContainerResource") => {
                let source = if t == "Resource" {
                    "resource"
                } else {
                    "containerResource"
                };
                let target = at(spec, &[source, "target"]);
                let resource = str_at(spec, &[source, "name"]);
                if set(target.and_then(|t| t.get("averageValue"))) {
                    let current = status(i, source)
                        .map_or_else(unknown, |s| quantity(at(s, &["current", "averageValue"])));
                    format!(
                        "{resource}: {current}/{}",
                        quantity(target.and_then(|t| t.get("averageValue")))
                    )
                } else {
                    let current = status(i, source)
                        .and_then(|s| at(s, &["current", "averageUtilization"]))
                        .and_then(Value::as_i64)
                        .map_or_else(unknown, |u| format!("{u}%"));
                    let target = target
                        .and_then(|t| t.get("averageUtilization"))
                        .and_then(Value::as_i64)
                        .map_or_else(|| "<auto>".to_string(), |u| format!("{u}%"));
                    format!("{resource}: {current}/{target}")
                }
            }
            _ => "<unknown type>".to_string(),
        };
        list.push(entry);
    }
    let count = list.len();
    if count > 2 {
        list.truncate(2);
        return format!("{} + {} more...", list.join(", "), count - 2);
    }
    list.join(", ")
}

/// `printHorizontalPodAutoscaler` on the autoscaling/v2 form.
pub fn hpa_cells(hpa: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        str_at(hpa, &["spec", "scaleTargetRef", "kind"]),
        str_at(hpa, &["spec", "scaleTargetRef", "name"])
    );
    let min = at(hpa, &["spec", "minReplicas"])
        .and_then(Value::as_i64)
        .map_or_else(|| "<unset>".to_string(), |m| m.to_string());
    vec![
        json!(name(hpa)),
        json!(reference),
        json!(format_hpa_metrics(
            arr_at(hpa, &["spec", "metrics"]),
            arr_at(hpa, &["status", "currentMetrics"])
        )),
        json!(min),
        json!(i64_at(hpa, &["spec", "maxReplicas"])),
        json!(i64_at(hpa, &["status", "currentReplicas"])),
        json!(age(hpa, now)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-01-10T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    const CREATED: &str = "2024-01-10T11:48:00Z";

    #[test]
    fn rows_are_upstreams() {
        // As kube-apiserver printed the same objects.
        let job = json!({"metadata": {"name": "j", "creationTimestamp": CREATED}, "spec": {"completions": 1, "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}},
            "template": {"spec": {"containers": [{"name": "j", "image": "busybox"}]}}},
            "status": {"startTime": CREATED}});
        assert_eq!(
            job_cells(&job, now()),
            [
                json!("j"),
                json!("Running"),
                json!("0/1"),
                json!("12m"),
                json!("12m"),
                json!("j"),
                json!("busybox"),
                json!("batch.kubernetes.io/controller-uid=u")
            ]
        );
        let cj = json!({"metadata": {"name": "c", "creationTimestamp": CREATED}, "spec": {"schedule": "*/5 * * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}}, "status": {}});
        assert_eq!(
            cron_job_cells(&cj, now()),
            [
                json!("c"),
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(0),
                json!("<none>"),
                json!("12m"),
                json!("c"),
                json!("busybox"),
                json!("<none>")
            ]
        );
        let ds = json!({"metadata": {"name": "ds", "creationTimestamp": CREATED}, "spec": {"selector": {"matchLabels": {"app": "ds"}},
            "template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}, "status": {}});
        assert_eq!(
            daemon_set_cells(&ds, now()),
            [
                json!("ds"),
                json!(0),
                json!(0),
                json!(0),
                json!(0),
                json!(0),
                json!("<none>"),
                json!("12m"),
                json!("c"),
                json!("busybox"),
                json!("app=ds")
            ]
        );
        let cr = json!({"metadata": {"name": "web-1", "creationTimestamp": CREATED, "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": "u", "controller": true}]}, "revision": 1});
        assert_eq!(
            controller_revision_cells(&cr, now()),
            [
                json!("web-1"),
                json!("statefulset.apps/web"),
                json!(1),
                json!("12m")
            ]
        );
        let pdb = json!({"metadata": {"name": "pdb", "creationTimestamp": CREATED}, "spec": {"minAvailable": 2}, "status": {"disruptionsAllowed": 0}});
        assert_eq!(
            pod_disruption_budget_cells(&pdb, now()),
            [
                json!("pdb"),
                json!("2"),
                json!("N/A"),
                json!(0),
                json!("12m")
            ]
        );
        let hpa = |metrics: Value| {
            json!({"metadata": {"name": "h", "creationTimestamp": CREATED},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "minReplicas": 1, "maxReplicas": 3, "metrics": metrics},
            "status": {"currentReplicas": 2}})
        };
        assert_eq!(
            hpa_cells(
                &hpa(
                    json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}])
                ),
                now()
            ),
            [
                json!("h"),
                json!("Deployment/d"),
                json!("cpu: <unknown>/50%"),
                json!("1"),
                json!(3),
                json!(2),
                json!("12m")
            ]
        );
        let many = hpa(json!([
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Object", "object": {"metric": {"name": "hits"}, "target": {"type": "Value", "value": "2k"}}},
            {"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "AverageValue", "averageValue": "30"}}}]));
        assert_eq!(
            hpa_cells(&many, now())[2],
            json!("<unknown>/10, <unknown>/2k + 1 more...")
        );
        let two = hpa(json!([
            {"type": "ContainerResource", "containerResource": {"name": "memory", "container": "c", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
            {"type": "Object", "object": {"metric": {"name": "hits"}, "target": {"type": "AverageValue", "averageValue": "2"}}}]));
        assert_eq!(
            hpa_cells(&two, now())[2],
            json!("memory: <unknown>/100Mi, <unknown>/2 (avg)")
        );
    }
}
