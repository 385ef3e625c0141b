//! authentication.k8s.io/v1 TokenReview: create-only and never stored (`apiserver::authn`
//! answers it), with the reviews' shared strategy ([`review::Review`]).

use super::review;
use crate::registry::resources::{ResourceHandler, ResourceInfo, resource};

/// What discovery serves.
pub const INFO: ResourceInfo = ResourceInfo {
    verbs: &["create"],
    handler: ResourceHandler::TokenReview,
    ..resource!("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", false, short: [], cat: [], sub: [], strategy: review::strategy)
};
