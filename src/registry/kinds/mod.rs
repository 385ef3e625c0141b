//! The built-in kinds, one file each (upstream's `pkg/registry/<group>/<kind>`):
//! its [`ResourceInfo`] (what discovery serves) and its [`Kind`] strategy.
//! Adding a built-in kind is one file here plus one line in [`RESOURCES`]
//! (and its `mod` line); see `ARCHITECTURE.md`.

use std::sync::Arc;

use super::kind::Kind;
use super::resources::ResourceInfo;

pub mod clusterrole;
pub mod clusterrolebinding;
pub mod configmap;
pub mod controllerrevision;
pub mod cronjob;
pub mod customresourcedefinition;
pub mod daemonset;
pub mod deployment;
pub mod endpoints;
pub mod event;
pub mod events_event;
pub mod horizontalpodautoscaler;
pub mod horizontalpodautoscaler_v1;
pub mod job;
pub mod lease;
pub mod localsubjectaccessreview;
pub mod namespace;
pub mod node;
pub mod pod;
pub mod poddisruptionbudget;
pub mod podtemplate;
pub mod priorityclass;
pub mod replicaset;
pub mod replicationcontroller;
pub mod review;
pub mod role;
pub mod rolebinding;
pub mod secret;
pub mod selfsubjectaccessreview;
pub mod selfsubjectreview;
pub mod selfsubjectrulesreview;
pub mod service;
pub mod serviceaccount;
pub mod statefulset;
pub mod subjectaccessreview;
pub mod tokenreview;

/// THE registration list: every built-in resource, grouped by group-version
/// in discovery order.
pub static RESOURCES: &[ResourceInfo] = &[
    configmap::INFO,
    endpoints::INFO,
    event::INFO,
    namespace::INFO,
    node::INFO,
    pod::INFO,
    podtemplate::INFO,
    replicationcontroller::INFO,
    secret::INFO,
    serviceaccount::INFO,
    service::INFO,
    deployment::INFO,
    replicaset::INFO,
    statefulset::INFO,
    daemonset::INFO,
    controllerrevision::INFO,
    events_event::INFO,
    selfsubjectreview::INFO,
    tokenreview::INFO,
    localsubjectaccessreview::INFO,
    selfsubjectaccessreview::INFO,
    selfsubjectrulesreview::INFO,
    subjectaccessreview::INFO,
    horizontalpodautoscaler::INFO,
    horizontalpodautoscaler_v1::INFO,
    cronjob::INFO,
    job::INFO,
    poddisruptionbudget::INFO,
    clusterrolebinding::INFO,
    clusterrole::INFO,
    rolebinding::INFO,
    role::INFO,
    customresourcedefinition::INFO,
    priorityclass::INFO,
    lease::INFO,
];

/// The strategy of the built-in resource `key` (`"pods"`,
/// `"apps/deployments"`).
pub fn by_key(key: &str) -> Option<Arc<dyn Kind>> {
    let (group, plural) = key.rsplit_once('/').unwrap_or(("", key));
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .map(|r| (r.strategy)())
}
