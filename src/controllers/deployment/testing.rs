//! Fixtures of the Deployment controller's unit tests, mirroring upstream's.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::sync::*;
use super::util::*;
use chrono::TimeZone;
use k8s_openapi::api::apps::v1::{ReplicaSetStatus, RollingUpdateDeployment};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

pub(super) fn int(i: i32) -> IntOrString {
    IntOrString::Int(i)
}
pub(super) fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.to_string())
}
pub(super) fn labels(sel: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    (!sel.is_empty()).then(|| {
        sel.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    })
}
pub(super) fn template(sel: &[(&str, &str)]) -> PodTemplateSpec {
    serde_json::from_value(json!({
        "metadata": {"labels": labels(sel)},
        "spec": {"containers": [{"name": "", "image": "foo/bar"}]}
    }))
    .unwrap()
}
pub(super) fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2016, 5, 20, h, m, s).unwrap()
}
pub(super) fn t(h: u32) -> Option<Time> {
    Some(to_time(at(h, 0, 0)))
}

/// deployment_controller_test.go `newDeployment`: maxSurge/maxUnavailable default to 0.
pub(super) fn new_deployment(
    name: &str,
    replicas: i32,
    rhl: Option<i32>,
    max_surge: Option<IntOrString>,
    max_unavailable: Option<IntOrString>,
    sel: &[(&str, &str)],
) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("default".to_string()),
            uid: Some(format!("{name}-uid")),
            annotations: Some(BTreeMap::new()),
            ..Default::default()
        },
        spec: Some(k8s_openapi::api::apps::v1::DeploymentSpec {
            replicas: Some(replicas),
            revision_history_limit: rhl,
            selector: LabelSelector {
                match_labels: labels(sel),
                match_expressions: None,
            },
            strategy: Some(k8s_openapi::api::apps::v1::DeploymentStrategy {
                type_: Some("RollingUpdate".to_string()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(max_surge.unwrap_or(int(0))),
                    max_unavailable: Some(max_unavailable.unwrap_or(int(0))),
                }),
            }),
            template: template(sel),
            ..Default::default()
        }),
        status: None,
    }
}

/// deployment_controller_test.go `rs`.
pub(super) fn rs(name: &str, replicas: i32, sel: &[(&str, &str)], ts: Option<Time>) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some("default".to_string()),
            uid: Some(format!("{name}-uid")),
            creation_timestamp: ts,
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: labels(sel),
                match_expressions: None,
            },
            template: Some(template(sel)),
            min_ready_seconds: None,
        }),
        status: Some(ReplicaSetStatus::default()),
    }
}

pub(super) fn with_available(mut r: ReplicaSet, n: i32) -> ReplicaSet {
    r.status
        .get_or_insert_with(Default::default)
        .available_replicas = Some(n);
    r
}

pub(super) fn with_status_replicas(mut r: ReplicaSet, n: i32) -> ReplicaSet {
    r.status.get_or_insert_with(Default::default).replicas = n;
    r
}

impl Work {
    pub(super) fn unsorted(rss: Vec<ReplicaSet>) -> Self {
        let orig = rss.iter().cloned().map(Some).collect();
        Work {
            rss,
            orig,
            ops: Vec::new(),
        }
    }
    pub(super) fn deletions(&self) -> Vec<String> {
        self.ops
            .iter()
            .filter_map(|o| match o {
                Op::Delete(i) => self.rss.get(*i).map(|r| rs_name(r).to_string()),
                _ => None,
            })
            .collect()
    }
    pub(super) fn touched(&self) -> usize {
        self.ops
            .iter()
            .filter(|o| matches!(o, Op::Touch(_)))
            .count()
    }
}
