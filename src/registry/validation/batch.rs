//! batch/v1 Job and CronJob validation (`pkg/apis/batch/validation/
//! validation.go`), with upstream's field paths, order and messages.

use serde_json::Value;

use super::{
    FIELD_IMMUTABLE_ERROR_MSG, FieldError, NameRule, SelectorKind, child, core_object_meta,
    core_object_meta_update, int_of, is_dns1123_label, label_selector_repr, meta_of, semantic_eq,
    spec_of, str_of, validate_label_selector, validate_nonnegative, validate_pod_template_spec,
};
use crate::apimachinery::validation::{go_string_map_repr, selector_kind, selector_matches};

/// `batch.kubernetes.io/controller-uid`: the label a generated selector selects.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// `batch.kubernetes.io/job-name`.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The unprefixed labels still set for older clients.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";

const MAX_PARALLELISM_FOR_INDEXED_JOB: i64 = 100_000;
const COMPLETIONS_SOFT_LIMIT: i64 = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS: i64 = 10_000;
const MAX_FAILED_INDEXES_LIMIT: i64 = 100_000;
/// A CronJob's name leaves room for the 11-character suffix of its Jobs.
const MAX_CRONJOB_NAME_LENGTH: usize = 52;

fn manual_selector(spec: &Value) -> bool {
    spec.get("manualSelector").and_then(Value::as_bool) == Some(true)
}

/// `ValidateJob` (create): metadata, the generated selector, the spec, and
/// the pod hostnames an Indexed Job will need.
pub fn validate_job(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_generated_selector(obj));
    let spec = spec_of(obj);
    errs.extend(validate_job_spec_with_selector(spec, "spec"));
    if str_of(spec, "completionMode") == "Indexed"
        && let Some(c) = int_of(spec, "completions").filter(|c| *c > 0)
    {
        let name = str_of(meta_of(obj), "name");
        let hostname = format!("{name}-{}", c - 1);
        if !is_dns1123_label(&hostname).is_empty() {
            errs.push(FieldError::invalid(
                "metadata.name",
                name,
                format!("will not able to create pod with invalid DNS label: {hostname}"),
            ));
        }
    }
    errs
}

/// `ValidateJob` of the new object plus `ValidateJobUpdate`: what may change
/// after create (`ValidateJobSpecUpdate`).
pub fn validate_job_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_job(obj);
    errs.extend(core_object_meta_update(meta_of(obj), meta_of(old)));
    let (spec, old_spec) = (spec_of(obj), spec_of(old));
    // ValidateJobSpecUpdate checks the selector against the template again.
    errs.extend(selector_matches_template(spec, "spec"));
    let elastic = str_of(spec, "completionMode") == "Indexed"
        && int_of(spec, "completions") == int_of(spec, "parallelism")
        && int_of(old_spec, "completions") == int_of(old_spec, "parallelism");
    if !elastic {
        errs.extend(immutable(spec, old_spec, "completions"));
    }
    if !semantic_eq(spec.get("selector"), old_spec.get("selector")) {
        errs.push(FieldError::invalid_repr(
            "spec.selector",
            label_selector_repr(spec.get("selector")),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    errs.extend(validate_template_update(obj, old));
    for field in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        errs.extend(immutable(spec, old_spec, field));
    }
    errs
}

fn immutable(spec: &Value, old_spec: &Value, field: &str) -> Vec<FieldError> {
    if semantic_eq(spec.get(field), old_spec.get(field)) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            child("spec", field),
            spec.get(field).cloned().unwrap_or(Value::Null),
            FIELD_IMMUTABLE_ERROR_MSG,
        )]
    }
}

/// `validatePodTemplateUpdate`: the template is immutable, except that a
/// suspended Job that never started may change its scheduling directives
/// (node affinity, node selector, tolerations, scheduling gates) and the
/// template's labels and annotations.
fn validate_template_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let new_t = obj
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(Value::Null);
    let mut old_t = old
        .pointer("/spec/template")
        .cloned()
        .unwrap_or(Value::Null);
    let suspended = old.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    let not_started = old.pointer("/status/startTime").is_none_or(Value::is_null);
    if suspended && not_started {
        let take = |old_t: &mut Value, pointer: &str, parent: &str, key: &str| {
            let v = new_t.pointer(pointer).cloned();
            if let Some(p) = old_t.pointer_mut(parent).and_then(Value::as_object_mut) {
                match v {
                    Some(v) => {
                        p.insert(key.into(), v);
                    }
                    None => {
                        p.shift_remove(key);
                    }
                }
            }
        };
        take(&mut old_t, "/metadata/labels", "/metadata", "labels");
        take(
            &mut old_t,
            "/metadata/annotations",
            "/metadata",
            "annotations",
        );
        take(&mut old_t, "/spec/nodeSelector", "/spec", "nodeSelector");
        take(&mut old_t, "/spec/tolerations", "/spec", "tolerations");
        take(
            &mut old_t,
            "/spec/schedulingGates",
            "/spec",
            "schedulingGates",
        );
        // Only the node affinity may change; an affinity left with nothing
        // else may be dropped.
        let new_aff = new_t.pointer("/spec/affinity").filter(|v| !v.is_null());
        match new_aff {
            None => {
                if let Some(a) = old_t
                    .pointer_mut("/spec/affinity")
                    .and_then(Value::as_object_mut)
                {
                    a.shift_remove("nodeAffinity");
                    if a.values().all(Value::is_null) {
                        take(&mut old_t, "/spec/affinity", "/spec", "affinity");
                    }
                }
            }
            Some(na) => {
                let node = na.get("nodeAffinity").cloned();
                if let Some(spec) = old_t.get_mut("spec").and_then(Value::as_object_mut) {
                    let aff = spec
                        .entry("affinity")
                        .or_insert_with(|| Value::Object(Default::default()));
                    if let Some(a) = aff.as_object_mut() {
                        match node {
                            Some(n) => {
                                a.insert("nodeAffinity".into(), n);
                            }
                            None => {
                                a.shift_remove("nodeAffinity");
                            }
                        }
                    } else {
                        *aff = na.clone();
                    }
                }
            }
        }
        if old_t.pointer("/metadata").is_none()
            && let Some(m) = old_t.as_object_mut()
        {
            m.insert("metadata".into(), Value::Object(Default::default()));
        }
    }
    if semantic_eq(Some(&new_t), Some(&old_t)) {
        return Vec::new();
    }
    // Upstream prints the internal PodTemplateSpec with Go's field names; the
    // wire form stands in for it.
    vec![FieldError::invalid(
        "spec.template",
        new_t,
        FIELD_IMMUTABLE_ERROR_MSG,
    )]
}

/// `validateGeneratedSelector`: a generated selector selects the Job's uid,
/// and the template carries the labels generation put there.
fn validate_generated_selector(obj: &Value) -> Vec<FieldError> {
    let spec = spec_of(obj);
    if manual_selector(spec) {
        return Vec::new();
    }
    let Some(selector) = spec.get("selector").filter(|s| s.is_object()) else {
        return Vec::new();
    };
    let meta = meta_of(obj);
    let uid = str_of(meta, "uid");
    let mut errs = Vec::new();
    if uid.is_empty() {
        errs.push(FieldError::required("metadata.uid", ""));
    }
    let labels = obj.pointer("/spec/template/metadata/labels");
    let name = str_of(meta, "name");
    for (key, want) in [
        (LEGACY_CONTROLLER_UID_LABEL, uid),
        (LEGACY_JOB_NAME_LABEL, name),
        (CONTROLLER_UID_LABEL, uid),
        (JOB_NAME_LABEL, name),
    ] {
        // `ValidateHasLabel`.
        let path = format!("spec.template.metadata.labels[{key}]");
        match labels.and_then(|l| l.get(key)).and_then(Value::as_str) {
            None => errs.push(FieldError::required(path, format!("must be '{want}'"))),
            Some(have) if have != want => errs.push(FieldError::invalid_repr(
                path,
                go_string_map_repr(labels),
                format!("must be '{want}'"),
            )),
            Some(_) => {}
        }
    }
    let expected = serde_json::json!({ CONTROLLER_UID_LABEL: uid });
    if selector_kind(Some(selector)) != SelectorKind::Error
        && !selector_matches(Some(selector), Some(&expected))
    {
        errs.push(FieldError::invalid_repr(
            "spec.selector",
            label_selector_repr(Some(selector)),
            "`selector` not auto-generated",
        ));
    }
    errs
}

/// `ValidateJobSpec`: the spec rules, the selector's presence and format,
/// and that it selects the template's labels.
fn validate_job_spec_with_selector(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_job_spec(spec, path);
    let sel_path = child(path, "selector");
    match spec.get("selector").filter(|s| !s.is_null()) {
        None => errs.push(FieldError::required(sel_path, "")),
        Some(sel) => errs.extend(validate_label_selector(Some(sel), &sel_path)),
    }
    errs.extend(selector_matches_template(spec, path));
    errs
}

fn selector_matches_template(spec: &Value, path: &str) -> Vec<FieldError> {
    let selector = spec.get("selector").filter(|s| !s.is_null());
    if selector_kind(selector) == SelectorKind::Error {
        return Vec::new();
    }
    let labels = spec.pointer("/template/metadata/labels");
    let matches = match selector_kind(selector) {
        SelectorKind::Everything => true,
        _ => selector_matches(selector, labels),
    };
    if matches {
        Vec::new()
    } else {
        vec![FieldError::invalid_repr(
            format!("{path}.template.metadata.labels"),
            go_string_map_repr(labels),
            "`selector` does not match template `labels`",
        )]
    }
}

/// `validateJobSpec`: counts, limits, completion mode, pod replacement, the
/// pod template and its restart policy.
fn validate_job_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for field in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
    ] {
        if let Some(v) = int_of(spec, field) {
            errs.extend(validate_nonnegative(v, &child(path, field)));
        }
    }
    let per_index = int_of(spec, "backoffLimitPerIndex");
    let max_failed = int_of(spec, "maxFailedIndexes");
    if let Some(m) = max_failed {
        errs.extend(validate_nonnegative(m, &child(path, "maxFailedIndexes")));
        if per_index.is_none() {
            errs.push(FieldError::required(
                child(path, "backoffLimitPerIndex"),
                "when maxFailedIndexes is specified",
            ));
        }
    }
    if let Some(m) = spec.get("managedBy").and_then(Value::as_str) {
        errs.extend(validate_managed_by(m, &child(path, "managedBy")));
    }
    let completions = int_of(spec, "completions");
    let parallelism = int_of(spec, "parallelism");
    let mode = spec.get("completionMode").and_then(Value::as_str);
    if let Some(mode) = mode {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(
                child(path, "completionMode"),
                mode,
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" {
            if completions.is_none() {
                errs.push(FieldError::required(
                    child(path, "completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(p) = parallelism.filter(|p| *p > MAX_PARALLELISM_FOR_INDEXED_JOB) {
                errs.push(FieldError::invalid(
                    child(path, "parallelism"),
                    p,
                    format!(
                        "must be less than or equal to {MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed"
                    ),
                ));
            }
            if let (Some(c), Some(m)) = (completions, max_failed)
                && m > c
            {
                errs.push(FieldError::invalid(
                    child(path, "maxFailedIndexes"),
                    m,
                    "must be less than or equal to completions",
                ));
            }
            if let Some(m) = max_failed.filter(|m| *m > MAX_FAILED_INDEXES_LIMIT) {
                errs.push(FieldError::invalid(
                    child(path, "maxFailedIndexes"),
                    m,
                    format!("must be less than or equal to {MAX_FAILED_INDEXES_LIMIT}"),
                ));
            }
            if completions.is_some_and(|c| c > COMPLETIONS_SOFT_LIMIT) && per_index.is_some() {
                if max_failed.is_none() {
                    errs.push(FieldError::required(
                        child(path, "maxFailedIndexes"),
                        format!(
                            "must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}"
                        ),
                    ));
                }
                if let Some(p) = parallelism.filter(|p| *p > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS)
                {
                    errs.push(FieldError::invalid(
                        child(path, "parallelism"),
                        p,
                        format!(
                            "must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
                        ),
                    ));
                }
            }
        }
    }
    if mode.is_none_or(|m| m == "NonIndexed") {
        if let Some(b) = per_index {
            errs.push(FieldError::invalid(
                child(path, "backoffLimitPerIndex"),
                b,
                "requires indexed completion mode",
            ));
        }
        if let Some(m) = max_failed {
            errs.push(FieldError::invalid(
                child(path, "maxFailedIndexes"),
                m,
                "requires indexed completion mode",
            ));
        }
    }
    let pod_failure_policy = spec.get("podFailurePolicy").filter(|p| !p.is_null());
    if let Some(policy) = spec.get("podReplacementPolicy").and_then(Value::as_str) {
        let rp = child(path, "podReplacementPolicy");
        if pod_failure_policy.is_some() {
            if policy != "Failed" {
                errs.push(FieldError::not_supported(rp, policy, &["Failed"]));
            }
        } else if policy != "Failed" && policy != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                rp,
                policy,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let template = spec.get("template").unwrap_or(&Value::Null);
    let tpath = child(path, "template");
    errs.extend(validate_pod_template_spec(template, &tpath));
    // SetDefaults_PodSpec defaults an unset restart policy to Always, so
    // both mean "not chosen".
    let rp_path = format!("{tpath}.spec.restartPolicy");
    match str_of(spec_of(template), "restartPolicy") {
        "" | "Always" => errs.push(FieldError::required(
            rp_path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" if pod_failure_policy.is_some() => errs.push(FieldError::invalid(
            rp_path,
            "OnFailure",
            "only \"Never\" is supported when podFailurePolicy is specified",
        )),
        "OnFailure" | "Never" => {}
        other => errs.push(FieldError::not_supported(
            rp_path,
            other,
            &["OnFailure", "Never"],
        )),
    }
    errs
}

/// `validateManagedBy`: a domain-prefixed path of at most 63 characters.
fn validate_managed_by(value: &str, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push(FieldError::too_long_max_length(path, Some(63)));
    }
    let ok = value.split_once('/').is_some_and(|(domain, rest)| {
        !domain.is_empty()
            && !rest.is_empty()
            && super::is_dns1123_subdomain(domain).is_empty()
            && rest
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'/'))
    });
    if !ok {
        errs.push(FieldError::invalid(
            path,
            value,
            "must be a domain-prefixed path (such as \"acme.io/foo\")",
        ));
    }
    errs
}

/// `ValidateJobTemplateSpec`: a CronJob's job template (the selector is
/// always generated, so none may be given).
fn validate_job_template_spec(jt: &Value, path: &str) -> Vec<FieldError> {
    let spec = spec_of(jt);
    let spec_path = child(path, "spec");
    let mut errs = validate_job_spec(spec, &spec_path);
    if let Some(sel) = spec.get("selector").filter(|s| !s.is_null()) {
        errs.push(FieldError::invalid_repr(
            child(&spec_path, "selector"),
            label_selector_repr(Some(sel)),
            "`selector` will be auto-generated",
        ));
    }
    if manual_selector(spec) {
        errs.push(FieldError::not_supported(
            child(&spec_path, "manualSelector"),
            super::go_repr("(*bool)(0xc000000000)"),
            &["nil", "false"],
        ));
    }
    errs
}

/// `ValidateCronJobCreate`.
pub fn validate_cron_job(obj: &Value) -> Vec<FieldError> {
    let meta = meta_of(obj);
    let mut errs = core_object_meta(meta, true, NameRule::Dns1123Subdomain);
    errs.extend(validate_cron_job_spec(spec_of(obj), None));
    let name = str_of(meta, "name");
    if name.len() > MAX_CRONJOB_NAME_LENGTH {
        errs.push(FieldError::invalid(
            "metadata.name",
            name,
            format!("must be no more than {MAX_CRONJOB_NAME_LENGTH} characters"),
        ));
    }
    errs
}

/// `ValidateCronJobUpdate` (no name length limit: old long names may still
/// be updated and deleted).
pub fn validate_cron_job_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_cron_job_spec(spec_of(obj), Some(spec_of(old))));
    errs
}

fn validate_cron_job_spec(spec: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let schedule = str_of(spec, "schedule");
    let time_zone = spec.get("timeZone").and_then(Value::as_str);
    if schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else {
        // An object already stored with TZ in its schedule may keep it.
        let allow_tz = old.is_some_and(|o| str_of(o, "schedule").contains("TZ"));
        errs.extend(validate_schedule(schedule, allow_tz, time_zone.is_some()));
    }
    if let Some(s) = int_of(spec, "startingDeadlineSeconds") {
        errs.extend(validate_nonnegative(s, "spec.startingDeadlineSeconds"));
    }
    let tz_changed = old.is_none_or(|o| o.get("timeZone") != spec.get("timeZone"));
    if tz_changed && let Some(tz) = time_zone {
        errs.extend(validate_time_zone(tz, "spec.timeZone"));
    }
    match str_of(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    errs.extend(validate_job_template_spec(
        spec.get("jobTemplate").unwrap_or(&Value::Null),
        "spec.jobTemplate",
    ));
    for field in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        if let Some(v) = int_of(spec, field) {
            errs.extend(validate_nonnegative(v, &child("spec", field)));
        }
    }
    errs
}

/// `validateScheduleFormat`: the schedule parses as a standard cron
/// schedule, and names no time zone (that is `timeZone`'s job).
pub fn validate_schedule(schedule: &str, allow_tz: bool, has_time_zone: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Err(e) = crate::apimachinery::cron::parse_standard(schedule) {
        errs.push(FieldError::invalid("spec.schedule", schedule, e));
    }
    if schedule.contains("TZ") {
        if !allow_tz {
            errs.push(FieldError::invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        } else if has_time_zone {
            errs.push(FieldError::invalid(
                "spec.schedule",
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        }
    }
    errs
}

/// `validateTimeZone`: an explicit IANA name that `time.LoadLocation` finds.
pub fn validate_time_zone(tz: &str, path: &str) -> Vec<FieldError> {
    if tz.is_empty() {
        return vec![FieldError::invalid(
            path,
            tz,
            "timeZone must be nil or non-empty string",
        )];
    }
    let part_ok = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
    };
    if !tz.split('/').all(part_ok) {
        return vec![FieldError::invalid(
            path,
            tz,
            format!("unknown time zone {tz}"),
        )];
    }
    let mut errs = Vec::new();
    if tz.eq_ignore_ascii_case("Local") {
        errs.push(FieldError::invalid(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    }
    // `time.LoadLocation("Local")` succeeds; any other unknown name fails.
    if tz != "Local" && !crate::apimachinery::tznames::is_known(tz) {
        errs.push(FieldError::invalid(
            path,
            tz,
            format!("unknown time zone {tz}"),
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

    fn job(spec: Value) -> Value {
        let uid = "u1";
        let mut spec = spec;
        if let Some(m) = spec.as_object_mut() {
            m.entry("selector")
                .or_insert(json!({"matchLabels": {CONTROLLER_UID_LABEL: uid}}));
            let t = m
                .entry("template")
                .or_insert(json!({"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}], "restartPolicy": "Never", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}}));
            t["metadata"] = json!({"labels": {CONTROLLER_UID_LABEL: uid, LEGACY_CONTROLLER_UID_LABEL: uid, JOB_NAME_LABEL: "j", LEGACY_JOB_NAME_LABEL: "j"}});
        }
        json!({"metadata": {"name": "j", "namespace": "d", "uid": uid, "resourceVersion": "1"}, "spec": spec})
    }

    #[test]
    fn job_messages() {
        assert!(validate_job(&job(json!({}))).is_empty());
        assert_eq!(
            msgs(&validate_job(&job(
                json!({"completionMode": "Indexed", "parallelism": 2})
            ))),
            ["spec.completions: Required value: when completion mode is Indexed"]
        );
        assert_eq!(
            msgs(&validate_job(&job(
                json!({"parallelism": -2, "completions": -1, "backoffLimit": -1})
            ))),
            [
                "spec.parallelism: Invalid value: -2: must be greater than or equal to 0",
                "spec.completions: Invalid value: -1: must be greater than or equal to 0",
                "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        assert_eq!(
            msgs(&validate_job(&job(
                json!({"completionMode": "Indexed", "completions": 200000, "parallelism": 1, "backoffLimitPerIndex": 1})
            ))),
            [
                "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000"
            ]
        );
        assert_eq!(
            msgs(&validate_job(&job(json!({"backoffLimitPerIndex": 1})))),
            ["spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"]
        );
        let mut always = job(json!({}));
        always["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        assert_eq!(
            msgs(&validate_job(&always)),
            [
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
            ]
        );
        let mut foreign = job(json!({}));
        foreign["spec"]["selector"]["matchLabels"]["a"] = json!("b");
        foreign["spec"]["template"]["metadata"]["labels"]["a"] = json!("b");
        assert_eq!(
            msgs(&validate_job(&foreign)),
            [
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\", \"batch.kubernetes.io/controller-uid\":\"u1\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated"
            ]
        );
    }

    #[test]
    fn job_update_immutables() {
        let old = job(json!({"completions": 1, "parallelism": 1, "completionMode": "NonIndexed"}));
        let mut new = old.clone();
        new["spec"]["parallelism"] = json!(5);
        assert!(validate_job_update(&new, &old).is_empty());
        new["spec"]["completions"] = json!(3);
        new["spec"]["completionMode"] = json!("Indexed");
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("other");
        let m = msgs(&validate_job_update(&new, &old));
        assert_eq!(
            m[0],
            "spec.completions: Invalid value: 3: field is immutable"
        );
        assert!(m[1].starts_with("spec.template: Invalid value: "), "{m:?}");
        assert!(m[1].ends_with(": field is immutable"));
        assert_eq!(
            m[2],
            "spec.completionMode: Invalid value: \"Indexed\": field is immutable"
        );
        // A suspended Job not yet started may change its node selector.
        let mut old = old;
        old["spec"]["suspend"] = json!(true);
        let mut new = old.clone();
        new["spec"]["template"]["spec"]["nodeSelector"] = json!({"zone": "a"});
        assert!(validate_job_update(&new, &old).is_empty());
    }

    fn cron(schedule: &str, extra: Value) -> Value {
        let mut spec = json!({"schedule": schedule, "concurrencyPolicy": "Allow",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicy": "Always", "terminationMessagePolicy": "File"}], "restartPolicy": "OnFailure", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30}}}}});
        if let (Some(m), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "spec": spec})
    }

    #[test]
    fn cron_job_messages() {
        assert!(validate_cron_job(&cron("*/5 * * * *", json!({}))).is_empty());
        assert_eq!(
            msgs(&validate_cron_job(&cron("* * *", json!({})))),
            [
                "spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"
            ]
        );
        assert_eq!(
            msgs(&validate_cron_job(&cron("TZ=UTC 0 * * * *", json!({})))),
            [
                "spec.schedule: Invalid value: \"TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
            ]
        );
        assert_eq!(
            msgs(&validate_cron_job(&cron(
                "0 * * * *",
                json!({"timeZone": "Mars/Olympus"})
            ))),
            ["spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"]
        );
        assert_eq!(
            msgs(&validate_cron_job(&cron(
                "0 * * * *",
                json!({"timeZone": "Local"})
            ))),
            [
                "spec.timeZone: Invalid value: \"Local\": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
            ]
        );
        assert_eq!(
            msgs(&validate_cron_job(&cron(
                "0 * * * *",
                json!({"timeZone": ""})
            ))),
            ["spec.timeZone: Invalid value: \"\": timeZone must be nil or non-empty string"]
        );
        assert!(
            validate_cron_job(&cron("0 * * * *", json!({"timeZone": "America/New_York"})))
                .is_empty()
        );
        assert_eq!(
            msgs(&validate_cron_job(&cron(
                "0 * * * *",
                json!({"concurrencyPolicy": "Foo", "startingDeadlineSeconds": -1, "successfulJobsHistoryLimit": -1})
            ))),
            [
                "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.concurrencyPolicy: Unsupported value: \"Foo\": supported values: \"Allow\", \"Forbid\", \"Replace\"",
                "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
            ]
        );
        let mut long = cron("0 * * * *", json!({}));
        long["metadata"]["name"] = json!("a".repeat(53));
        assert_eq!(
            msgs(&validate_cron_job(&long)),
            [format!(
                "metadata.name: Invalid value: \"{}\": must be no more than 52 characters",
                "a".repeat(53)
            )]
        );
        // An update may keep a TZ= schedule stored before the rule.
        let old = cron("TZ=UTC 0 * * * *", json!({}));
        assert!(validate_cron_job_update(&old, &old).is_empty());
    }
}
