//! A Job's `podFailurePolicy`, as upstream's
//! `pkg/controller/job/pod_failure_policy.go`: the first rule that matches a
//! failed pod decides whether the Job fails at once (`FailJob`), the failure
//! is not counted against `backoffLimit` (`Ignore`), counted (`Count`), or
//! fails the pod's index (`FailIndex`).

use k8s_openapi::api::batch::v1::PodFailurePolicy;

use crate::controllers::shared::cached_pod::{ContainerStatus, Pod};

/// What the matching rule says about one failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The Job's failure message when a `FailJob` rule matched.
    pub fail_job_message: Option<String>,
    /// Whether the failure counts against `backoffLimit`.
    pub count_failed: bool,
    /// The action of the matching rule, if any.
    pub action: Option<String>,
}

fn terminated_exit_code(c: &ContainerStatus) -> Option<i32> {
    c.state.as_ref()?.terminated.as_ref().map(|t| t.exit_code)
}

/// Upstream `matchPodFailurePolicy`.
pub fn match_policy(policy: &PodFailurePolicy, pod: &Pod) -> Outcome {
    let ns = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    for (index, rule) in policy.rules.iter().enumerate() {
        let action = rule.action.as_str();
        if let Some(on_codes) = &rule.on_exit_codes {
            if let Some((container, code)) = matching_container(pod, on_codes) {
                return decide(action, || {
                    format!(
                        "Container {container} for pod {ns}/{name} failed with exit code {code} matching {action} rule at index {index}"
                    )
                });
            }
        } else if let Some(on_conditions) = &rule.on_pod_conditions {
            let conditions = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_deref())
                .unwrap_or_default();
            for pattern in on_conditions {
                // The API server defaults an empty status to True.
                let want_status = if pattern.status.is_empty() {
                    "True"
                } else {
                    pattern.status.as_str()
                };
                if conditions
                    .iter()
                    .any(|c| c.type_ == pattern.type_ && c.status == want_status)
                {
                    let cond = pattern.type_.clone();
                    return decide(action, || {
                        format!(
                            "Pod {ns}/{name} has condition {cond} matching {action} rule at index {index}"
                        )
                    });
                }
            }
        }
    }
    Outcome {
        fail_job_message: None,
        count_failed: true,
        action: None,
    }
}

fn decide(action: &str, message: impl FnOnce() -> String) -> Outcome {
    let (fail_job_message, count_failed) = match action {
        "FailJob" => (Some(message()), true),
        "Ignore" => (None, false),
        // Count, FailIndex (and anything newer: counted, as a failure).
        _ => (None, true),
    };
    Outcome {
        fail_job_message,
        count_failed,
        action: Some(action.to_string()),
    }
}

/// The first container (app containers, then init containers, as upstream
/// `getMatchingContainerFromList`) that terminated with a non-zero exit code
/// matching the requirement.
fn matching_container(
    pod: &Pod,
    req: &k8s_openapi::api::batch::v1::PodFailurePolicyOnExitCodesRequirement,
) -> Option<(String, i32)> {
    let status = pod.status.as_ref()?;
    let init = status
        .rare
        .as_ref()
        .and_then(|r| r.init_container_statuses.as_deref())
        .unwrap_or_default();
    let app = status.container_statuses.as_deref().unwrap_or_default();
    for c in app.iter().chain(init) {
        if let Some(want) = &req.container_name
            && want != &c.name
        {
            continue;
        }
        let Some(code) = terminated_exit_code(c) else {
            continue;
        };
        if code == 0 {
            continue;
        }
        let listed = req.values.contains(&code);
        let matches = match req.operator.as_str() {
            "In" => listed,
            "NotIn" => !listed,
            _ => false,
        };
        if matches {
            return Some((c.name.clone(), code));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicyOnExitCodesRequirement, PodFailurePolicyOnPodConditionsPattern,
        PodFailurePolicyRule,
    };
    use serde_json::json;

    fn failed_pod(exit_code: i32, conditions: serde_json::Value) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "status": {
                "phase": "Failed",
                "conditions": conditions,
                "containerStatuses": [
                    {"name": "main-container", "image": "i", "imageID": "", "ready": false,
                     "restartCount": 0,
                     "state": {"terminated": {"exitCode": exit_code}}}
                ]
            }
        }))
        .expect("a pod")
    }

    fn on_codes(action: &str, op: &str, values: &[i32]) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.into(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: None,
                operator: op.into(),
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    // pod_failure_policy_test.go: "FailJob rule; matching exit code".
    #[test]
    fn fail_job_on_exit_code() {
        let policy = PodFailurePolicy {
            rules: vec![on_codes("FailJob", "In", &[1, 2, 3])],
        };
        let out = match_policy(&policy, &failed_pod(2, json!([])));
        assert_eq!(
            out.fail_job_message.as_deref(),
            Some(
                "Container main-container for pod ns/p failed with exit code 2 matching FailJob rule at index 0"
            )
        );
        assert!(out.count_failed);
        // NotIn, and exit code 0 never matches.
        let out = match_policy(&policy, &failed_pod(4, json!([])));
        assert_eq!(out.fail_job_message, None);
        assert_eq!(out.action, None);
        let policy = PodFailurePolicy {
            rules: vec![on_codes("FailJob", "NotIn", &[5])],
        };
        assert!(
            match_policy(&policy, &failed_pod(0, json!([])))
                .fail_job_message
                .is_none()
        );
        assert!(
            match_policy(&policy, &failed_pod(6, json!([])))
                .fail_job_message
                .is_some()
        );
    }

    // "Ignore rule on DisruptionTarget condition": not counted.
    #[test]
    fn ignore_on_condition_then_first_rule_wins() {
        let policy = PodFailurePolicy {
            rules: vec![
                PodFailurePolicyRule {
                    action: "Ignore".into(),
                    on_exit_codes: None,
                    on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                        type_: "DisruptionTarget".into(),
                        status: "True".into(),
                    }]),
                },
                on_codes("FailJob", "In", &[42]),
            ],
        };
        let pod = failed_pod(42, json!([{"type": "DisruptionTarget", "status": "True"}]));
        let out = match_policy(&policy, &pod);
        assert!(!out.count_failed);
        assert_eq!(out.action.as_deref(), Some("Ignore"));
        let pod = failed_pod(42, json!([{"type": "DisruptionTarget", "status": "False"}]));
        let out = match_policy(&policy, &pod);
        assert_eq!(out.action.as_deref(), Some("FailJob"));
        // Count: counted, no message.
        let policy = PodFailurePolicy {
            rules: vec![on_codes("Count", "In", &[42])],
        };
        let out = match_policy(&policy, &pod);
        assert!(out.count_failed && out.fail_job_message.is_none());
    }
}
