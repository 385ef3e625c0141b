//! TEMPORARY STUB — replaced by the validation helper's module.
use crate::apimachinery::validation::FieldError;
pub fn validate(_key: &str, _obj: &serde_json::Value, _old: Option<&serde_json::Value>) -> Vec<FieldError> { Vec::new() }
