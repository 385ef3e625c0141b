//! `apiextensions.k8s.io`: CustomResourceDefinitions and the custom
//! resources they define (upstream's apiextensions-apiserver).
//!
//! Pure logic, no I/O:
//! - `crd` — the CustomResourceDefinition object itself: defaults, strategy,
//!   validation with upstream's paths (schemas hoisted to `spec.validation`
//!   as the internal version does), and the naming, establishing and
//!   finalizer controllers' decisions.
//! - `cel` — `x-kubernetes-validations` rules compiled with the `cel` crate,
//!   with upstream's cost estimate, messages and transition rules.
//! - `custom_kind` — a served custom version as a `Kind` (generation,
//!   status reset, Table, field selectors, storage version), as upstream's
//!   customresource strategy.
//! - `printer` — `additionalPrinterColumns` as Table columns and cells
//!   (client-go's JSONPath grammar, typed cells, ages).
//! - `openapi` — the OpenAPI v3 document of a custom group-version and the
//!   Swagger 2.0 definitions of a custom kind, as upstream builds them.
//! - `schema` — structural schemas: the checks of a CRD's schema, and a
//!   custom resource's validation, defaulting and pruning against it
//!   (kube-openapi's messages), plus the `PatchSchema` view for apply.

pub mod cel;
pub mod controller;
pub mod crd;
pub mod custom_kind;
pub mod customresource;
pub mod openapi;
pub mod printer;
pub mod schema;
pub mod strategy;
