//! TEMPORARY STUB — replaced by the validation helper's module.
use serde_json::Value;
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType { Required, Invalid }
impl ErrorType { pub fn reason(&self) -> &'static str { match self { ErrorType::Required => "FieldValueRequired", ErrorType::Invalid => "FieldValueInvalid" } } }
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError { pub error_type: ErrorType, pub field: String, pub bad_value: Option<Value>, pub detail: String }
impl FieldError {
    pub fn message(&self) -> String { self.detail.clone() }
    pub fn invalid(field: &str, value: Value, detail: &str) -> Self { FieldError { error_type: ErrorType::Invalid, field: field.into(), bad_value: Some(value), detail: detail.into() } }
}
pub fn invalid_status_message(kind: &str, name: &str, errs: &[FieldError]) -> String { format!("{kind} \"{name}\" is invalid: {}", errs.iter().map(|e| format!("{}: {}", e.field, e.message())).collect::<Vec<_>>().join(", ")) }
pub fn is_qualified_name(_v: &str) -> Vec<String> { Vec::new() }
pub fn is_valid_label_value(_v: &str) -> Vec<String> { Vec::new() }
