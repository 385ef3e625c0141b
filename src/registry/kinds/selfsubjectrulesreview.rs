//! authorization.k8s.io/v1 SelfSubjectRulesReview: create-only and never stored (`apiserver::access_reviews`
//! answers it), with the reviews' shared strategy ([`review::Review`]).

use super::review;
use crate::registry::resources::{ResourceHandler, ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = ResourceInfo {
    verbs: &["create"],
    handler: ResourceHandler::SelfSubjectRulesReview,
    ..resource!("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", "selfsubjectrulesreview", false, short: [], cat: [], sub: [], strategy: review::strategy)
};
