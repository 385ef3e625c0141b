//! The CustomResourceDefinition kind's strategy glue: `crd`'s validation
//! with the schema checks of `schema` (structural rules, defaults) and `cel`
//! (rule compilation and cost) at each schema site, as upstream's
//! `ValidateCustomResourceDefinition` calls
//! `ValidateCustomResourceDefinitionOpenAPISchema` and the CEL compiler.

use serde_json::Value;

use super::crd::{self, SchemaSite};
use crate::apimachinery::validation::FieldError;

/// The storage key of CRDs.
pub const CRD_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";

fn schema_errors(site: &SchemaSite<'_>) -> Vec<FieldError> {
    let base = format!("{}.openAPIV3Schema", site.path);
    match super::schema::compile(site.schema, &base) {
        Err(errs) => errs,
        // Rules compile only on a structural schema (upstream skips them
        // otherwise).
        Ok(_) => match super::cel::compile(site.schema, &base) {
            Ok(_) => Vec::new(),
            Err(errs) => errs,
        },
    }
}

/// Create (`old == None`) or update validation of a CRD.
pub fn validate(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    match old {
        None => crd::validate_crd(obj, &mut |site: &SchemaSite<'_>| schema_errors(site)),
        // A schema the update leaves as it was was checked when it was
        // written: not compiling it again keeps status writes (the naming
        // and establishing controllers', two per CRD) cheap.
        Some(old) => crd::validate_crd_update(obj, old, &mut |site: &SchemaSite<'_>| {
            if site.old_schema == Some(site.schema) {
                Vec::new()
            } else {
                schema_errors(site)
            }
        }),
    }
}
