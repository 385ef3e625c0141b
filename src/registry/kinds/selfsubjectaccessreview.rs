//! authorization.k8s.io/v1 SelfSubjectAccessReview: create-only and never stored (`apiserver::access_reviews`
//! answers it), with the reviews' shared strategy ([`review::Review`]).

use super::review;
use crate::registry::resources::{ResourceHandler, ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = ResourceInfo {
    verbs: &["create"],
    handler: ResourceHandler::SelfSubjectAccessReview,
    ..resource!("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview", false, short: [], cat: [], sub: [], strategy: review::strategy)
};
