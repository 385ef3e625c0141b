//! Generic API validation, reproducing upstream Kubernetes apimachinery:
//! string format checks (`k8s.io/apimachinery/pkg/util/validation/validation.go` and
//! `.../api/validate/content`), field errors (`.../util/validation/field/errors.go`),
//! the `Invalid` status message (`.../api/errors/errors.go` `NewInvalid`), label and
//! selector checks (`.../apis/meta/v1/validation/validation.go`) and object metadata
//! checks (`.../api/validation/objectmeta.go`).
//!
//! Objects are raw `serde_json::Value`s; every accessor tolerates missing or
//! mistyped fields (the decoding layer is responsible for rejecting wrong types).

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::fmt;

// ---------------------------------------------------------------------------
// Message helpers (upstream util/validation)
// ---------------------------------------------------------------------------

/// `MaxLenError`: "must be no more than N characters".
pub fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} characters")
}

/// `RegexError`: explanation of a failed format check, with examples.
pub fn regex_error(msg: &str, fmt: &str, examples: &[&str]) -> String {
    if examples.is_empty() {
        return format!("{msg} (regex used for validation is '{fmt}')");
    }
    let mut s = format!("{msg} (e.g. ");
    for (i, ex) in examples.iter().enumerate() {
        if i > 0 {
            s.push_str(" or ");
        }
        s.push('\'');
        s.push_str(ex);
        s.push_str("', ");
    }
    s.push_str("regex used for validation is '");
    s.push_str(fmt);
    s.push_str("')");
    s
}

/// `EmptyError`: "must be non-empty".
pub fn empty_error() -> String {
    "must be non-empty".to_string()
}

/// `InclusiveRangeError`: "must be between lo and hi, inclusive".
pub fn inclusive_range_error(lo: i64, hi: i64) -> String {
    format!("must be between {lo} and {hi}, inclusive")
}

/// Upstream `IsNegativeErrorMsg`.
pub const IS_NEGATIVE_ERROR_MSG: &str = "must be greater than or equal to 0";
/// Upstream `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE_ERROR_MSG: &str = "field is immutable";
/// Upstream `TotalAnnotationSizeLimitB` (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT_B: usize = 256 * 1024;

const DNS1123_LABEL_FMT: &str = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_ERR_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT: &str =
    "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1035_LABEL_FMT: &str = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_ERR_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";
const QUALIFIED_NAME_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const C_IDENTIFIER_FMT: &str = "[A-Za-z_][A-Za-z0-9_]*";
const C_IDENTIFIER_ERR_MSG: &str = "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_'";
const CONFIG_MAP_KEY_FMT: &str = "[-._a-zA-Z0-9]+";
const CONFIG_MAP_KEY_ERR_MSG: &str =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'";
const ENV_VAR_NAME_FMT: &str = "[-._a-zA-Z][-._a-zA-Z0-9]*";
const ENV_VAR_NAME_ERR_MSG: &str = "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";
const RELAXED_ENV_VAR_NAME_ERR_MSG: &str = "a valid environment variable name must consist only of printable ASCII characters other than '='";
const PERCENT_FMT: &str = "[0-9]+%";
const PERCENT_ERR_MSG: &str =
    "a valid percent string must be a numeric string followed by an ending '%'";

/// Max length of a DNS-1123 / DNS-1035 label.
pub const DNS1123_LABEL_MAX_LENGTH: usize = 63;
/// Max length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;
/// Max length of a label value and of the name part of a qualified name.
pub const LABEL_VALUE_MAX_LENGTH: usize = 63;

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// Matches `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (no length check).
fn matches_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            is_lower_alnum(f)
                && is_lower_alnum(l)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

fn matches_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(matches_dns1123_label)
}

fn matches_dns1035_label(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            f.is_ascii_lowercase()
                && is_lower_alnum(l)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// Matches `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
fn matches_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.')
        }
        _ => false,
    }
}

/// Upstream `IsDNS1123Label`.
pub fn is_dns1123_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1123_label(value) {
        if matches_dns1123_subdomain(value) {
            errs.push("must not contain dots".to_string());
        } else {
            errs.push(regex_error(
                DNS1123_LABEL_ERR_MSG,
                DNS1123_LABEL_FMT,
                &["my-name", "123-abc"],
            ));
        }
    }
    errs
}

/// Upstream `IsDNS1123Subdomain`.
pub fn is_dns1123_subdomain(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !matches_dns1123_subdomain(value) {
        errs.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errs
}

/// Upstream `IsDNS1035Label`.
pub fn is_dns1035_label(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_LABEL_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_LABEL_MAX_LENGTH));
    }
    if !matches_dns1035_label(value) {
        errs.push(regex_error(
            DNS1035_LABEL_ERR_MSG,
            DNS1035_LABEL_FMT,
            &["my-name", "abc-123"],
        ));
    }
    errs
}

/// Upstream `IsQualifiedName` (label keys, annotation keys, finalizers), with the
/// 1.32/1.33 wording ("a qualified name ...").
pub fn is_qualified_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = value.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push(format!("prefix part {}", empty_error()));
            } else {
                for msg in is_dns1123_subdomain(prefix) {
                    errs.push(format!("prefix part {msg}"));
                }
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(
                    QUALIFIED_NAME_ERR_MSG,
                    QUALIFIED_NAME_FMT,
                    &["MyName", "my.name", "123-abc"]
                )
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push(format!("name part {}", empty_error()));
    } else if name.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(format!(
            "name part {}",
            max_len_error(LABEL_VALUE_MAX_LENGTH)
        ));
    }
    if !matches_qualified_name_part(name) {
        errs.push(format!(
            "name part {}",
            regex_error(
                QUALIFIED_NAME_ERR_MSG,
                QUALIFIED_NAME_FMT,
                &["MyName", "my.name", "123-abc"]
            )
        ));
    }
    errs
}

/// Upstream `IsValidLabelValue`.
pub fn is_valid_label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errs.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !(value.is_empty() || matches_qualified_name_part(value)) {
        errs.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            &["MyValue", "my_value", "12345"],
        ));
    }
    errs
}

/// Upstream `IsCIdentifier`.
pub fn is_c_identifier(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let ok = match b.first() {
        Some(&f) => {
            (f.is_ascii_alphabetic() || f == b'_')
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        None => false,
    };
    if ok {
        Vec::new()
    } else {
        vec![regex_error(
            C_IDENTIFIER_ERR_MSG,
            C_IDENTIFIER_FMT,
            &["my_name", "MY_NAME", "MyName"],
        )]
    }
}

fn has_chdir_prefix(value: &str) -> Vec<String> {
    if value == "." {
        vec!["must not be '.'".to_string()]
    } else if value == ".." {
        vec!["must not be '..'".to_string()]
    } else if value.starts_with("..") {
        vec!["must not start with '..'".to_string()]
    } else {
        Vec::new()
    }
}

/// Upstream `IsConfigMapKey` (also used for Secret keys).
pub fn is_config_map_key(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errs.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_');
    if !ok {
        errs.push(regex_error(
            CONFIG_MAP_KEY_ERR_MSG,
            CONFIG_MAP_KEY_FMT,
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    errs.extend(has_chdir_prefix(value));
    errs
}

/// Upstream `IsEnvVarName` (strict form).
pub fn is_env_var_name(value: &str) -> Vec<String> {
    let b = value.as_bytes();
    let ok = match b.first() {
        Some(&f) => {
            (f.is_ascii_alphabetic() || f == b'-' || f == b'.' || f == b'_')
                && b.iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_')
        }
        None => false,
    };
    let mut errs = Vec::new();
    if !ok {
        errs.push(regex_error(
            ENV_VAR_NAME_ERR_MSG,
            ENV_VAR_NAME_FMT,
            &["my.env-name", "MY_ENV.NAME", "MyEnvName1"],
        ));
    }
    errs.extend(has_chdir_prefix(value));
    errs
}

/// Upstream `IsRelaxedEnvVarName` (RelaxedEnvironmentVariableValidation, on by default in 1.32).
pub fn is_relaxed_env_var_name(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.is_empty() {
        errs.push(format!("environment variable name {}", empty_error()));
    }
    if value
        .chars()
        .any(|c| !c.is_ascii() || !(' '..='~').contains(&c) || c == '=')
    {
        errs.push(RELAXED_ENV_VAR_NAME_ERR_MSG.to_string());
    }
    errs
}

/// Upstream `IsValidPortNum`: 1..=65535.
pub fn is_valid_port_num(port: i64) -> Vec<String> {
    if (1..=65535).contains(&port) {
        Vec::new()
    } else {
        vec![inclusive_range_error(1, 65535)]
    }
}

/// Upstream `IsValidPortName` (IANA service name).
pub fn is_valid_port_name(port: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if port.len() > 15 {
        errs.push(max_len_error(15));
    }
    if port.is_empty() || !port.bytes().all(|c| is_lower_alnum(c) || c == b'-') {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_string(),
        );
    }
    if !port.bytes().any(|c| c.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_string());
    }
    if port.contains("--") {
        errs.push("must not contain consecutive hyphens".to_string());
    }
    if port.starts_with('-') || port.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_string());
    }
    errs
}

/// Upstream `IsValidPercent`.
pub fn is_valid_percent(percent: &str) -> Vec<String> {
    let ok = percent
        .strip_suffix('%')
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()));
    if ok {
        Vec::new()
    } else {
        vec![regex_error(PERCENT_ERR_MSG, PERCENT_FMT, &["1%", "93%"])]
    }
}

/// Upstream `path.IsValidPathSegmentName` / `IsValidPathSegmentPrefix`.
pub fn is_valid_path_segment_name(name: &str, prefix: bool) -> Vec<String> {
    if !prefix {
        for illegal in [".", ".."] {
            if name == illegal {
                return vec![format!("may not be '{illegal}'")];
            }
        }
    }
    ["/", "%"]
        .iter()
        .filter(|c| name.contains(**c))
        .map(|c| format!("may not contain '{c}'"))
        .collect()
}

// ---------------------------------------------------------------------------
// Name rules (upstream ValidateNameFunc implementations)
// ---------------------------------------------------------------------------

/// How `metadata.name` (and `generateName`) of a kind is validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// `NameIsDNSSubdomain` (most kinds).
    Dns1123Subdomain,
    /// `NameIsDNSLabel` (namespaces).
    Dns1123Label,
    /// `NameIsDNS1035Label` (services).
    Dns1035Label,
    /// `path.ValidatePathSegmentName` (generic store check, events).
    PathSegment,
    /// No name format check (name still required).
    Any,
}

/// Upstream `maskTrailingDash`: for generateName prefixes, a trailing '-' is
/// replaced, like upstream, by cutting the last two bytes and appending 'a'.
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        let bytes = name.as_bytes();
        let cut = bytes.get(..bytes.len() - 2).unwrap_or_default();
        let mut s = String::from_utf8_lossy(cut).into_owned();
        s.push('a');
        s
    } else {
        name.to_string()
    }
}

/// Validates a name (or a generateName prefix when `prefix` is true) by rule.
pub fn validate_name(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    match rule {
        NameRule::Dns1123Subdomain => {
            let n = if prefix {
                mask_trailing_dash(name)
            } else {
                name.to_string()
            };
            is_dns1123_subdomain(&n)
        }
        NameRule::Dns1123Label => {
            let n = if prefix {
                mask_trailing_dash(name)
            } else {
                name.to_string()
            };
            is_dns1123_label(&n)
        }
        NameRule::Dns1035Label => {
            let n = if prefix {
                mask_trailing_dash(name)
            } else {
                name.to_string()
            };
            is_dns1035_label(&n)
        }
        NameRule::PathSegment => is_valid_path_segment_name(name, prefix),
        NameRule::Any => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Field errors (upstream field/errors.go)
// ---------------------------------------------------------------------------

/// Machine-readable reason of a field error (`metav1.CauseType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    Required,
    Invalid,
    Duplicate,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
    TypeInvalid,
    NotFound,
}

impl ErrorType {
    /// The wire reason (`StatusCause.reason`), e.g. `FieldValueRequired`.
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
            ErrorType::TypeInvalid => "FieldValueTypeInvalid",
            ErrorType::NotFound => "FieldValueNotFound",
        }
    }

    /// The human message (`ErrorType.String()`), e.g. `Required value`.
    pub fn message(&self) -> &'static str {
        match self {
            ErrorType::Required => "Required value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
            ErrorType::TypeInvalid => "Invalid value",
            ErrorType::NotFound => "Not found",
        }
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Key of a one-entry JSON object used as `bad_value` to carry a value already
/// rendered the way Go's `fmt` renders it (structs, `fmt.Stringer`s); see
/// [`FieldError::invalid_repr`].
pub const GO_REPR_KEY: &str = "$goRepr";

/// One field-level validation error (upstream `field.Error`).
///
/// `bad_value == None` means "omit the value" (upstream `omitValue`);
/// `Some(Value::Null)` prints `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub error_type: ErrorType,
    pub field: String,
    pub bad_value: Option<Value>,
    pub detail: String,
}

impl FieldError {
    fn new(
        error_type: ErrorType,
        field: impl Into<String>,
        bad_value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            error_type,
            field: field.into(),
            bad_value,
            detail: detail.into(),
        }
    }

    /// `field.Required`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            ErrorType::Required,
            field,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.Invalid`.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(ErrorType::Invalid, field, Some(value.into()), detail)
    }

    /// `field.Invalid` whose bad value is printed verbatim (already rendered as Go would,
    /// e.g. a struct `v1.LabelSelector{...}` or a `fmt.Stringer` such as an IntOrString).
    pub fn invalid_repr(
        field: impl Into<String>,
        repr: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(ErrorType::Invalid, field, Some(go_repr(repr)), detail)
    }

    /// `field.NotSupported`: detail lists the quoted valid values.
    pub fn not_supported(
        field: impl Into<String>,
        value: impl Into<Value>,
        valid: &[&str],
    ) -> Self {
        let detail = if valid.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = valid.iter().map(|v| go_quote(v)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(ErrorType::NotSupported, field, Some(value.into()), detail)
    }

    /// `field.Forbidden`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            ErrorType::Forbidden,
            field,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.Duplicate`.
    pub fn duplicate(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::Duplicate, field, Some(value.into()), "")
    }

    /// `field.NotFound`.
    pub fn not_found(field: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::new(ErrorType::NotFound, field, Some(value.into()), "")
    }

    /// `field.TooLong`: "must have at most N bytes" (the value is never printed).
    pub fn too_long(field: impl Into<String>, max_length: usize) -> Self {
        Self::new(
            ErrorType::TooLong,
            field,
            Some(Value::String(String::new())),
            format!("must have at most {max_length} bytes"),
        )
    }

    /// `field.TooLongMaxLength`: "may not be longer than N" (or "value is too long").
    pub fn too_long_max_length(field: impl Into<String>, max_length: Option<usize>) -> Self {
        let detail = match max_length {
            Some(m) => format!("may not be longer than {m}"),
            None => "value is too long".to_string(),
        };
        Self::new(
            ErrorType::TooLong,
            field,
            Some(Value::String(String::new())),
            detail,
        )
    }

    /// `field.TooMany`.
    pub fn too_many(field: impl Into<String>, actual: Option<usize>, max: Option<usize>) -> Self {
        let detail = match max {
            Some(m) => format!("must have at most {m} items"),
            None => "has too many items".to_string(),
        };
        Self::new(ErrorType::TooMany, field, actual.map(Value::from), detail)
    }

    /// `field.InternalError`.
    pub fn internal(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, field, Some(Value::Null), detail)
    }

    /// `field.TypeInvalid`.
    pub fn type_invalid(
        field: impl Into<String>,
        value: impl Into<Value>,
        detail: impl Into<String>,
    ) -> Self {
        Self::new(ErrorType::TypeInvalid, field, Some(value.into()), detail)
    }

    /// Upstream `ErrorBody`: the message without the field path.
    pub fn message(&self) -> String {
        let mut s = match self.error_type {
            ErrorType::Required
            | ErrorType::Forbidden
            | ErrorType::TooLong
            | ErrorType::Internal => self.error_type.message().to_string(),
            _ => match &self.bad_value {
                None => self.error_type.message().to_string(),
                Some(v) => format!("{}: {}", self.error_type.message(), format_go_value(v)),
            },
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }

    /// The `StatusCause` JSON object: `{"reason", "message", "field"}`.
    pub fn to_cause(&self) -> Value {
        json!({
            "reason": self.error_type.reason(),
            "message": self.message(),
            "field": self.field,
        })
    }
}

impl fmt::Display for FieldError {
    /// Upstream `Error()`: `field: body`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// Wraps an already-rendered Go representation as a `bad_value`.
pub fn go_repr(repr: impl Into<String>) -> Value {
    let mut m = Map::new();
    m.insert(GO_REPR_KEY.to_string(), Value::String(repr.into()));
    Value::Object(m)
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub fn go_quote_list(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `strconv.Quote` (as used by `%q`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => {
                let n = c as u32;
                if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go `%#v` of a `map[string]string` (keys sorted, like Go's fmt).
pub fn go_string_map_repr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_object) {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let mut entries: Vec<(&String, String)> = m
                .iter()
                .map(|(k, v)| (k, value_as_plain_string(v)))
                .collect();
            entries.sort();
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
                .collect();
            format!("map[string]string{{{}}}", parts.join(", "))
        }
    }
}

/// Go `%#v` of a `[]string`.
pub fn go_string_slice_repr(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[]string{{{}}}", parts.join(", "))
}

/// A JSON scalar as the plain string Go would have after decoding into a string field.
pub fn value_as_plain_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Renders a bad value the way upstream `ErrorBody` does for the Go type it would
/// have: strings quoted (`%q`), numbers and booleans plain, `null` for nil,
/// string maps/slices in `%#v` form, pre-rendered values verbatim, anything else as JSON.
fn format_go_value(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Object(m) => {
            if m.len() == 1
                && let Some(Value::String(r)) = m.get(GO_REPR_KEY)
            {
                return r.clone();
            }
            if m.values().all(Value::is_string) {
                go_string_map_repr(Some(v))
            } else {
                v.to_string()
            }
        }
        Value::Array(a) => {
            if a.iter().all(Value::is_string) {
                let items: Vec<String> = a.iter().map(value_as_plain_string).collect();
                go_string_slice_repr(&items)
            } else {
                v.to_string()
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Status message (upstream api/errors NewInvalid + util/errors aggregate)
// ---------------------------------------------------------------------------

/// `schema.GroupKind.String()`: `Kind` for the core group, `Kind.group` otherwise.
pub fn qualified_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// Message of upstream `errors.NewInvalid`. `kind` is the qualified kind
/// (`Pod`, `Deployment.apps`, see [`qualified_kind`]). Several errors are joined as
/// `[a, b]` after removing duplicate messages, like `ErrorList.ToAggregate().Error()`.
pub fn invalid_status_message(kind: &str, name: &str, errs: &[FieldError]) -> String {
    let mut seen = BTreeSet::new();
    let mut msgs: Vec<String> = Vec::new();
    for e in errs {
        let m = e.to_string();
        if seen.insert(m.clone()) {
            msgs.push(m);
        }
    }
    let quoted = go_quote(name);
    match msgs.as_slice() {
        [] => format!("{kind} {quoted} is invalid"),
        [one] => format!("{kind} {quoted} is invalid: {one}"),
        many => format!("{kind} {quoted} is invalid: [{}]", many.join(", ")),
    }
}

/// The complete 422 `Status` object of upstream `errors.NewInvalid`.
pub fn invalid_status(group: &str, kind: &str, name: &str, errs: &[FieldError]) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), Value::String(name.to_string()));
    if !group.is_empty() {
        details.insert("group".into(), Value::String(group.to_string()));
    }
    details.insert("kind".into(), Value::String(kind.to_string()));
    details.insert(
        "causes".into(),
        Value::Array(errs.iter().map(FieldError::to_cause).collect()),
    );
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": invalid_status_message(&qualified_kind(group, kind), name, errs),
        "reason": "Invalid",
        "details": Value::Object(details),
        "code": 422,
    })
}

// ---------------------------------------------------------------------------
// Path and JSON helpers
// ---------------------------------------------------------------------------

/// `Path.Child`: `parent.name` (or `name` at the root).
pub fn child(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// `Path.Index`: `parent[i]`.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// `Path.Key`: `parent[key]`.
pub fn key(parent: &str, k: &str) -> String {
    format!("{parent}[{k}]")
}

/// String field of an object (`""` if missing or not a string).
pub fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Array field of an object (empty if missing or not an array).
pub fn arr_of<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Integer field of an object (`None` if missing or not an integer).
pub fn int_of(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

/// `ValidateNonnegativeField`.
pub fn validate_nonnegative(value: i64, path: &str) -> Vec<FieldError> {
    if value < 0 {
        vec![FieldError::invalid(path, value, IS_NEGATIVE_ERROR_MSG)]
    } else {
        Vec::new()
    }
}

/// Go semantic equality approximated on JSON: `null`, a missing key and an empty
/// list/map compare equal (upstream's `Semantic.DeepEqual` treats nil and empty alike).
pub fn semantic_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn empty(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(o)) => o.is_empty(),
            _ => false,
        }
    }
    if empty(a) && empty(b) {
        return true;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            x.iter().all(|(k, v)| semantic_eq(Some(v), y.get(k)))
                && y.iter()
                    .all(|(k, v)| x.contains_key(k) || semantic_eq(None, Some(v)))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| semantic_eq(Some(p), Some(q)))
        }
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// `ValidateImmutableField` for a plain value (`field is immutable`, bad value = new).
pub fn validate_immutable(new: Option<&Value>, old: Option<&Value>, path: &str) -> Vec<FieldError> {
    if semantic_eq(new, old) {
        Vec::new()
    } else {
        vec![FieldError::invalid(
            path,
            new.cloned().unwrap_or(Value::Null),
            FIELD_IMMUTABLE_ERROR_MSG,
        )]
    }
}

// ---------------------------------------------------------------------------
// Labels, annotations, selectors (meta/v1/validation)
// ---------------------------------------------------------------------------

/// `ValidateLabelName`.
pub fn validate_label_name(name: &str, path: &str) -> Vec<FieldError> {
    is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect()
}

/// `ValidateLabels` (errors are reported on the map's path, not per key).
pub fn validate_labels(labels: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(m) = labels.and_then(Value::as_object) {
        for (k, v) in m {
            errs.extend(validate_label_name(k, path));
            let v = value_as_plain_string(v);
            for msg in is_valid_label_value(&v) {
                errs.push(FieldError::invalid(path, v.as_str(), msg));
            }
        }
    }
    errs
}

/// `ValidateAnnotations`: keys are case-insensitive qualified names, total size ≤ 256 KiB.
pub fn validate_annotations(annotations: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(m) = annotations.and_then(Value::as_object) {
        let mut total = 0usize;
        for (k, v) in m {
            for msg in is_qualified_name(&k.to_lowercase()) {
                errs.push(FieldError::invalid(path, k.as_str(), msg));
            }
            total += k.len() + value_as_plain_string(v).len();
        }
        if total > TOTAL_ANNOTATION_SIZE_LIMIT_B {
            errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_B));
        }
    }
    errs
}

/// `ValidateLabelSelector` (strict label values).
pub fn validate_label_selector(selector: Option<&Value>, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let Some(sel) = selector.filter(|s| s.is_object()) else {
        return errs;
    };
    errs.extend(validate_labels(
        sel.get("matchLabels"),
        &child(path, "matchLabels"),
    ));
    for (i, expr) in arr_of(sel, "matchExpressions").iter().enumerate() {
        let p = index(&child(path, "matchExpressions"), i);
        let values = arr_of(expr, "values");
        let op = str_of(expr, "operator");
        match op {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        child(&p, "values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        child(&p, "values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            _ => errs.push(FieldError::invalid(
                child(&p, "operator"),
                op,
                "not a valid selector operator",
            )),
        }
        errs.extend(validate_label_name(str_of(expr, "key"), &child(&p, "key")));
        for (vi, v) in values.iter().enumerate() {
            let v = value_as_plain_string(v);
            for msg in is_valid_label_value(&v) {
                errs.push(FieldError::invalid(
                    index(&child(&p, "values"), vi),
                    v.as_str(),
                    msg,
                ));
            }
        }
    }
    errs
}

/// Result of upstream `metav1.LabelSelectorAsSelector`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorKind {
    /// nil selector: matches nothing (`labels.Nothing()`).
    Nothing,
    /// empty selector: matches everything (`labels.Everything()`).
    Everything,
    /// a non-empty, valid selector.
    Some,
    /// conversion failed (invalid operator, key or value).
    Error,
}

/// Classifies a label selector like `LabelSelectorAsSelector` would.
pub fn selector_kind(selector: Option<&Value>) -> SelectorKind {
    let Some(sel) = selector.filter(|s| s.is_object()) else {
        return SelectorKind::Nothing;
    };
    let labels = sel.get("matchLabels").and_then(Value::as_object);
    let exprs = arr_of(sel, "matchExpressions");
    if labels.is_none_or(Map::is_empty) && exprs.is_empty() {
        return SelectorKind::Everything;
    }
    for (k, v) in labels.into_iter().flatten() {
        if !is_qualified_name(k).is_empty()
            || !is_valid_label_value(&value_as_plain_string(v)).is_empty()
        {
            return SelectorKind::Error;
        }
    }
    for e in exprs {
        let values = arr_of(e, "values");
        let ok_op = match str_of(e, "operator") {
            "In" | "NotIn" => !values.is_empty(),
            "Exists" | "DoesNotExist" => values.is_empty(),
            _ => false,
        };
        if !ok_op
            || !is_qualified_name(str_of(e, "key")).is_empty()
            || values
                .iter()
                .any(|v| !is_valid_label_value(&value_as_plain_string(v)).is_empty())
        {
            return SelectorKind::Error;
        }
    }
    SelectorKind::Some
}

/// Whether a (valid) label selector matches a label set.
pub fn selector_matches(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(sel) = selector.filter(|s| s.is_object()) else {
        return false;
    };
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(value_as_plain_string);
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            if get(k) != Some(value_as_plain_string(v)) {
                return false;
            }
        }
    }
    for e in arr_of(sel, "matchExpressions") {
        let have = get(str_of(e, "key"));
        let values: Vec<String> = arr_of(e, "values")
            .iter()
            .map(value_as_plain_string)
            .collect();
        let ok = match str_of(e, "operator") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Go `%#v` of a `*metav1.LabelSelector` as printed in upstream errors
/// (e.g. `v1.LabelSelector{MatchLabels:map[string]string{"app":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}`).
pub fn label_selector_repr(selector: Option<&Value>) -> String {
    let Some(sel) = selector.filter(|s| s.is_object()) else {
        return "null".to_string();
    };
    let exprs = match sel.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|e| {
                    let vals = match e.get("values").and_then(Value::as_array) {
                        None => "[]string(nil)".to_string(),
                        Some(v) => go_string_slice_repr(
                            &v.iter().map(value_as_plain_string).collect::<Vec<_>>(),
                        ),
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(str_of(e, "key")),
                        go_quote(str_of(e, "operator")),
                        vals
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{}}}",
        go_string_map_repr(sel.get("matchLabels")),
        exprs
    )
}

// ---------------------------------------------------------------------------
// Object metadata (api/validation/objectmeta.go)
// ---------------------------------------------------------------------------

/// Parses an `apiVersion` like `schema.ParseGroupVersion`: `(group, version)`,
/// or `None` when it has more than one '/'.
fn parse_group_version(api_version: &str) -> Option<(&str, &str)> {
    if api_version.is_empty() {
        return Some(("", ""));
    }
    let parts: Vec<&str> = api_version.split('/').collect();
    match parts.as_slice() {
        [v] => Some(("", v)),
        [g, v] => Some((g, v)),
        _ => None,
    }
}

fn bool_ptr_repr(v: Option<&Value>) -> String {
    match v.and_then(Value::as_bool) {
        None => "(*bool)(nil)".to_string(),
        // Go prints the pointer address; a stable placeholder stands in for it.
        Some(_) => "(*bool)(0xc000000000)".to_string(),
    }
}

fn owner_reference_repr(r: &Value) -> String {
    format!(
        "v1.OwnerReference{{APIVersion:{}, Kind:{}, Name:{}, UID:{}, Controller:{}, BlockOwnerDeletion:{}}}",
        go_quote(str_of(r, "apiVersion")),
        go_quote(str_of(r, "kind")),
        go_quote(str_of(r, "name")),
        go_quote(str_of(r, "uid")),
        bool_ptr_repr(r.get("controller")),
        bool_ptr_repr(r.get("blockOwnerDeletion")),
    )
}

/// `ValidateOwnerReferences`.
pub fn validate_owner_references(refs: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let api_version = str_of(r, "apiVersion");
        let kind = str_of(r, "kind");
        let (group, version) = parse_group_version(api_version).unwrap_or(("", ""));
        if version.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "apiVersion"),
                api_version,
                "version must not be empty",
            ));
        }
        if kind.is_empty() {
            errs.push(FieldError::invalid(
                child(path, "kind"),
                kind,
                "must not be empty",
            ));
        }
        if str_of(r, "name").is_empty() {
            errs.push(FieldError::invalid(
                child(path, "name"),
                str_of(r, "name"),
                "must not be empty",
            ));
        }
        if str_of(r, "uid").is_empty() {
            errs.push(FieldError::invalid(
                child(path, "uid"),
                str_of(r, "uid"),
                "must not be empty",
            ));
        }
        if group.is_empty() && version == "v1" && kind == "Event" {
            errs.push(FieldError::invalid_repr(
                path,
                owner_reference_repr(r),
                format!("{group}/{version}, Kind={kind} is disallowed from being an owner"),
            ));
        }
        if r.get("controller").and_then(Value::as_bool) == Some(true) {
            let cur = format!("{}/{}", kind, str_of(r, "name"));
            match &first_controller {
                Some(first) => {
                    let list: Vec<String> = refs.iter().map(owner_reference_repr).collect();
                    errs.push(FieldError::invalid_repr(
                        path,
                        format!("[]v1.OwnerReference{{{}}}", list.join(", ")),
                        format!(
                            "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {cur}"
                        ),
                    ));
                }
                None => first_controller = Some(cur),
            }
        }
    }
    errs
}

/// `ValidateFinalizers`: each a qualified name; `orphan` and `foregroundDeletion` exclusive.
pub fn validate_finalizers(finalizers: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let names: Vec<String> = finalizers.iter().map(value_as_plain_string).collect();
    for f in &names {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path, f.as_str(), msg));
        }
    }
    if names.iter().any(|f| f == "orphan") && names.iter().any(|f| f == "foregroundDeletion") {
        errs.push(FieldError::invalid_repr(
            path,
            go_string_slice_repr(&names),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    errs
}

fn meta_common(meta: &Value, namespaced: bool, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = str_of(meta, "namespace");
    if namespaced {
        if ns.is_empty() {
            errs.push(FieldError::required(child(path, "namespace"), ""));
        } else {
            for msg in validate_name(NameRule::Dns1123Label, ns, false) {
                errs.push(FieldError::invalid(child(path, "namespace"), ns, msg));
            }
        }
    } else if !ns.is_empty() {
        errs.push(FieldError::forbidden(
            child(path, "namespace"),
            "not allowed on this type",
        ));
    }
    errs.extend(validate_nonnegative(
        int_of(meta, "generation").unwrap_or(0),
        &child(path, "generation"),
    ));
    errs.extend(validate_labels(meta.get("labels"), &child(path, "labels")));
    errs.extend(validate_annotations(
        meta.get("annotations"),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        arr_of(meta, "ownerReferences"),
        &child(path, "ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        arr_of(meta, "finalizers"),
        &child(path, "finalizers"),
    ));
    errs
}

/// Upstream `ValidateObjectMeta` on creation (expects name generation already done).
/// `meta` is the `metadata` object; paths start with `metadata.`.
pub fn validate_object_meta(
    meta: &Value,
    namespaced: bool,
    name_rule: NameRule,
) -> Vec<FieldError> {
    let path = "metadata";
    let mut errs = Vec::new();
    let generate_name = str_of(meta, "generateName");
    if !generate_name.is_empty() {
        for msg in validate_name(name_rule, generate_name, true) {
            errs.push(FieldError::invalid(
                child(path, "generateName"),
                generate_name,
                msg,
            ));
        }
    }
    let name = str_of(meta, "name");
    if name.is_empty() {
        errs.push(FieldError::required(
            child(path, "name"),
            "name or generateName is required",
        ));
    } else {
        for msg in validate_name(name_rule, name, false) {
            errs.push(FieldError::invalid(child(path, "name"), name, msg));
        }
    }
    errs.extend(meta_common(meta, namespaced, path));
    errs
}

/// RFC 3339 timestamp rendered like Go's `time.Time.String()` (UTC only).
fn go_time_repr(v: Option<&Value>) -> String {
    let s = v.and_then(Value::as_str).unwrap_or("");
    if s.is_empty() {
        return "0001-01-01 00:00:00 +0000 UTC".to_string();
    }
    match s.strip_suffix('Z').and_then(|t| t.split_once('T')) {
        Some((d, t)) => format!("{d} {t} +0000 UTC"),
        None => s.to_string(),
    }
}

/// Upstream `ValidateObjectMetaUpdate`. Like upstream, `generateName` is not
/// checked for immutability. The caller must have copied `resourceVersion` for
/// unconditional updates and preserved creationTimestamp etc. as upstream's
/// `rest.BeforeUpdate` does.
pub fn validate_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let path = "metadata";
    let mut errs = Vec::new();
    if old.get("deletionTimestamp").is_some_and(|v| !v.is_null()) {
        let old_f: BTreeSet<String> = arr_of(old, "finalizers")
            .iter()
            .map(value_as_plain_string)
            .collect();
        let extra: BTreeSet<String> = arr_of(new, "finalizers")
            .iter()
            .map(value_as_plain_string)
            .filter(|f| !old_f.contains(f))
            .collect();
        if !extra.is_empty() {
            let list: Vec<String> = extra.into_iter().collect();
            errs.push(FieldError::forbidden(
                child(path, "finalizers"),
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {}",
                    go_string_slice_repr(&list)
                ),
            ));
        }
    }
    let rv = str_of(new, "resourceVersion");
    if rv.is_empty() {
        errs.push(FieldError::invalid(
            child(path, "resourceVersion"),
            rv,
            "must be specified for an update",
        ));
    }
    let new_gen = int_of(new, "generation").unwrap_or(0);
    if new_gen < int_of(old, "generation").unwrap_or(0) {
        errs.push(FieldError::invalid(
            child(path, "generation"),
            new_gen,
            "must not be decremented",
        ));
    }
    for f in ["name", "namespace", "uid"] {
        let (n, o) = (str_of(new, f), str_of(old, f));
        if n != o {
            errs.push(FieldError::invalid(
                child(path, f),
                n,
                FIELD_IMMUTABLE_ERROR_MSG,
            ));
        }
    }
    let (nc, oc) = (
        str_of(new, "creationTimestamp"),
        str_of(old, "creationTimestamp"),
    );
    if nc != oc {
        errs.push(FieldError::invalid_repr(
            child(path, "creationTimestamp"),
            go_time_repr(new.get("creationTimestamp")),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    let (nd, od) = (new.get("deletionTimestamp"), old.get("deletionTimestamp"));
    if !semantic_eq(nd, od) {
        let repr = if nd.is_none_or(Value::is_null) {
            "null".to_string()
        } else {
            go_time_repr(nd)
        };
        errs.push(FieldError::invalid_repr(
            child(path, "deletionTimestamp"),
            repr,
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    let (ng, og) = (
        new.get("deletionGracePeriodSeconds"),
        old.get("deletionGracePeriodSeconds"),
    );
    if !semantic_eq(ng, og) {
        errs.push(FieldError::invalid(
            child(path, "deletionGracePeriodSeconds"),
            ng.cloned().unwrap_or(Value::Null),
            FIELD_IMMUTABLE_ERROR_MSG,
        ));
    }
    errs.extend(validate_labels(new.get("labels"), &child(path, "labels")));
    errs.extend(validate_annotations(
        new.get("annotations"),
        &child(path, "annotations"),
    ));
    errs.extend(validate_owner_references(
        arr_of(new, "ownerReferences"),
        &child(path, "ownerReferences"),
    ));
    errs.extend(validate_finalizers(
        arr_of(new, "finalizers"),
        &child(path, "finalizers"),
    ));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL_RE_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

    #[test]
    fn dns1123_label() {
        assert!(is_dns1123_label("my-name").is_empty());
        assert!(is_dns1123_label("a").is_empty());
        assert_eq!(is_dns1123_label("a.b"), vec!["must not contain dots"]);
        assert_eq!(is_dns1123_label("My_Name"), vec![LABEL_RE_MSG]);
        let long = "a".repeat(64);
        assert_eq!(
            is_dns1123_label(&long),
            vec!["must be no more than 63 characters"]
        );
        assert_eq!(is_dns1123_label("").len(), 1);
        assert_eq!(is_dns1123_label("-a").len(), 1);
    }

    #[test]
    fn dns1123_subdomain() {
        assert!(is_dns1123_subdomain("example.com").is_empty());
        assert_eq!(
            is_dns1123_subdomain("Foo"),
            vec![
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
            ]
        );
        assert!(!is_dns1123_subdomain("a..b").is_empty());
        assert_eq!(
            is_dns1123_subdomain(&"a".repeat(254)),
            vec!["must be no more than 253 characters"]
        );
    }

    #[test]
    fn dns1035_label() {
        assert!(is_dns1035_label("svc-1").is_empty());
        assert_eq!(
            is_dns1035_label("1svc"),
            vec![
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
            ]
        );
    }

    #[test]
    fn qualified_names() {
        assert!(is_qualified_name("app").is_empty());
        assert!(is_qualified_name("example.com/MyName").is_empty());
        assert_eq!(
            is_qualified_name("-bad"),
            vec![
                "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
            ]
        );
        assert_eq!(
            is_qualified_name("/a"),
            vec!["prefix part must be non-empty"]
        );
        let errs = is_qualified_name("a/");
        assert_eq!(errs[0], "name part must be non-empty");
        assert_eq!(errs.len(), 2);
        assert_eq!(
            is_qualified_name("a/b/c"),
            vec![
                "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ]
        );
        assert_eq!(
            is_qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters"]
        );
        assert!(
            is_qualified_name("Foo.com/x")[0]
                .starts_with("prefix part a lowercase RFC 1123 subdomain")
        );
    }

    #[test]
    fn label_values_and_keys() {
        assert!(is_valid_label_value("").is_empty());
        assert!(is_valid_label_value("my_value").is_empty());
        assert_eq!(
            is_valid_label_value("bad value"),
            vec![
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ]
        );
        assert_eq!(
            is_config_map_key("a b"),
            vec![
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
            ]
        );
        assert_eq!(is_config_map_key(".."), vec!["must not be '..'"]);
        assert_eq!(is_config_map_key("..a"), vec!["must not start with '..'"]);
        assert_eq!(
            is_c_identifier("1a"),
            vec![
                "a valid C identifier must start with alphabetic character or '_', followed by a string of alphanumeric characters or '_' (e.g. 'my_name',  or 'MY_NAME',  or 'MyName', regex used for validation is '[A-Za-z_][A-Za-z0-9_]*')"
            ]
        );
        assert!(is_c_identifier("_ok1").is_empty());
        assert!(is_relaxed_env_var_name("1A-b.c").is_empty());
        assert_eq!(
            is_relaxed_env_var_name("A=B"),
            vec![
                "a valid environment variable name must consist only of printable ASCII characters other than '='"
            ]
        );
        assert_eq!(is_relaxed_env_var_name("").len(), 1);
        assert_eq!(is_env_var_name("1a").len(), 1);
        assert_eq!(
            is_valid_port_num(0),
            vec!["must be between 1 and 65535, inclusive"]
        );
        assert_eq!(
            is_valid_port_name("Http--"),
            vec![
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "must not contain consecutive hyphens",
                "must not begin or end with a hyphen"
            ]
        );
        assert!(is_valid_percent("25%").is_empty());
        assert_eq!(
            is_valid_percent("x%"),
            vec![
                "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
            ]
        );
    }

    #[test]
    fn regex_error_format() {
        assert_eq!(
            regex_error("m", "f", &[]),
            "m (regex used for validation is 'f')"
        );
        assert_eq!(
            regex_error("m", "f", &["a", "b"]),
            "m (e.g. 'a',  or 'b', regex used for validation is 'f')"
        );
    }

    #[test]
    fn error_types() {
        assert_eq!(ErrorType::Required.reason(), "FieldValueRequired");
        assert_eq!(ErrorType::NotSupported.reason(), "FieldValueNotSupported");
        assert_eq!(ErrorType::Internal.reason(), "InternalError");
        assert_eq!(ErrorType::TypeInvalid.message(), "Invalid value");
        assert_eq!(ErrorType::NotFound.message(), "Not found");
        assert_eq!(ErrorType::TooMany.reason(), "FieldValueTooMany");
    }

    #[test]
    fn error_bodies() {
        let e = FieldError::invalid("spec.replicas", -1, IS_NEGATIVE_ERROR_MSG);
        assert_eq!(
            e.message(),
            "Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            e.to_string(),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            FieldError::required("spec.containers[0].image", "").message(),
            "Required value"
        );
        assert_eq!(
            FieldError::required("metadata.name", "name or generateName is required").to_string(),
            "metadata.name: Required value: name or generateName is required"
        );
        assert_eq!(
            FieldError::not_supported(
                "spec.restartPolicy",
                "Sometimes",
                &["Always", "OnFailure", "Never"]
            )
            .message(),
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""
        );
        assert_eq!(
            FieldError::forbidden("spec", "nope").message(),
            "Forbidden: nope"
        );
        assert_eq!(
            FieldError::duplicate("a", "x").message(),
            "Duplicate value: \"x\""
        );
        assert_eq!(
            FieldError::not_found("a", "vol").message(),
            "Not found: \"vol\""
        );
        assert_eq!(
            FieldError::too_long("data", 1048576).message(),
            "Too long: must have at most 1048576 bytes"
        );
        assert_eq!(
            FieldError::too_long_max_length("x", Some(5)).message(),
            "Too long: may not be longer than 5"
        );
        assert_eq!(
            FieldError::too_many("x", Some(3), Some(2)).message(),
            "Too many: 3: must have at most 2 items"
        );
        assert_eq!(
            FieldError::too_many("x", None, None).message(),
            "Too many: has too many items"
        );
        assert_eq!(
            FieldError::internal("x", "boom").message(),
            "Internal error: boom"
        );
        assert_eq!(
            FieldError::invalid("x", Value::Null, "d").message(),
            "Invalid value: null: d"
        );
        assert_eq!(
            FieldError::invalid("x", true, "d").message(),
            "Invalid value: true: d"
        );
        assert_eq!(
            FieldError::invalid("x", "a\"b\n", "d").message(),
            "Invalid value: \"a\\\"b\\n\": d"
        );
        assert_eq!(
            FieldError::invalid_repr("x", "0%", "d").message(),
            "Invalid value: 0%: d"
        );
        assert_eq!(
            FieldError::invalid("x", json!({"b": "2", "a": "1"}), "d").message(),
            "Invalid value: map[string]string{\"a\":\"1\", \"b\":\"2\"}: d"
        );
        assert_eq!(
            FieldError::invalid("x", json!(["a", "b"]), "d").message(),
            "Invalid value: []string{\"a\", \"b\"}: d"
        );
        assert_eq!(
            FieldError::required("a", "").to_cause(),
            json!({"reason": "FieldValueRequired", "message": "Required value", "field": "a"})
        );
    }

    #[test]
    fn status_messages() {
        let one = vec![FieldError::required("spec.containers[0].image", "")];
        assert_eq!(
            invalid_status_message("Pod", "x", &one),
            "Pod \"x\" is invalid: spec.containers[0].image: Required value"
        );
        let two = vec![
            FieldError::required("spec.containers[0].image", ""),
            FieldError::invalid("spec.replicas", -1, IS_NEGATIVE_ERROR_MSG),
            FieldError::required("spec.containers[0].image", ""),
        ];
        assert_eq!(
            invalid_status_message("Deployment.apps", "web", &two),
            "Deployment.apps \"web\" is invalid: [spec.containers[0].image: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]"
        );
        assert_eq!(
            invalid_status_message("Pod", "x", &[]),
            "Pod \"x\" is invalid"
        );
        let st = invalid_status("apps", "Deployment", "web", &one);
        assert_eq!(st["code"], 422);
        assert_eq!(st["reason"], "Invalid");
        assert_eq!(st["details"]["group"], "apps");
        assert_eq!(st["details"]["causes"][0]["reason"], "FieldValueRequired");
        assert_eq!(
            st["message"],
            "Deployment.apps \"web\" is invalid: spec.containers[0].image: Required value"
        );
        assert!(
            invalid_status("", "Pod", "p", &one)["details"]
                .get("group")
                .is_none()
        );
    }

    #[test]
    fn object_meta_create() {
        let errs = validate_object_meta(&json!({}), true, NameRule::Dns1123Subdomain);
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            msgs,
            vec![
                "metadata.name: Required value: name or generateName is required",
                "metadata.namespace: Required value"
            ]
        );
        let errs = validate_object_meta(
            &json!({"name": "a", "namespace": "x"}),
            false,
            NameRule::Dns1123Subdomain,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.namespace: Forbidden: not allowed on this type"
        );
        let errs = validate_object_meta(
            &json!({"name": "A_b", "namespace": "d"}),
            true,
            NameRule::Dns1123Subdomain,
        );
        assert!(
            errs[0].to_string().starts_with(
                "metadata.name: Invalid value: \"A_b\": a lowercase RFC 1123 subdomain"
            )
        );
        // generateName with trailing dash is masked
        assert!(
            validate_object_meta(
                &json!({"name": "web-abcde", "generateName": "web-", "namespace": "d"}),
                true,
                NameRule::Dns1123Subdomain
            )
            .is_empty()
        );
        let errs = validate_object_meta(
            &json!({"name": "a", "namespace": "d", "labels": {"app": "bad value"}, "generation": -1}),
            true,
            NameRule::Dns1123Subdomain,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.generation: Invalid value: -1: must be greater than or equal to 0"
        );
        assert!(
            errs[1].to_string().starts_with(
                "metadata.labels: Invalid value: \"bad value\": a valid label must be"
            )
        );
        let big = "x".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_B);
        let errs = validate_object_meta(
            &json!({"name": "a", "annotations": {"k": big}}),
            false,
            NameRule::Any,
        );
        assert_eq!(
            errs[0].to_string(),
            "metadata.annotations: Too long: must have at most 262144 bytes"
        );
        let errs = validate_object_meta(
            &json!({"name": "a", "annotations": {"Example.COM/Key": "v"}}),
            false,
            NameRule::Any,
        );
        assert!(errs.is_empty());
        let errs = validate_object_meta(&json!({"name": "a/b"}), false, NameRule::PathSegment);
        assert_eq!(
            errs[0].to_string(),
            "metadata.name: Invalid value: \"a/b\": may not contain '/'"
        );
        let errs = validate_object_meta(&json!({"name": ".."}), false, NameRule::PathSegment);
        assert_eq!(errs[0].message(), "Invalid value: \"..\": may not be '..'");
    }

    #[test]
    fn owner_refs_and_finalizers() {
        let meta = json!({"name": "a", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": true},
            {"apiVersion": "", "kind": "", "name": "", "uid": "", "controller": true}
        ]});
        let msgs: Vec<String> = validate_object_meta(&meta, false, NameRule::Any)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            msgs[0],
            "metadata.ownerReferences.apiVersion: Invalid value: \"\": version must not be empty"
        );
        assert_eq!(
            msgs[1],
            "metadata.ownerReferences.kind: Invalid value: \"\": must not be empty"
        );
        assert_eq!(
            msgs[2],
            "metadata.ownerReferences.name: Invalid value: \"\": must not be empty"
        );
        assert_eq!(
            msgs[3],
            "metadata.ownerReferences.uid: Invalid value: \"\": must not be empty"
        );
        assert!(msgs[4].ends_with(": Only one reference can have Controller set to true. Found \"true\" in references for ReplicaSet/rs and /"));
        let meta = json!({"name": "a", "ownerReferences": [{"apiVersion": "v1", "kind": "Event", "name": "e", "uid": "u"}]});
        let errs = validate_object_meta(&meta, false, NameRule::Any);
        assert_eq!(
            errs[0].to_string(),
            "metadata.ownerReferences: Invalid value: v1.OwnerReference{APIVersion:\"v1\", Kind:\"Event\", Name:\"e\", UID:\"u\", Controller:(*bool)(nil), BlockOwnerDeletion:(*bool)(nil)}: /v1, Kind=Event is disallowed from being an owner"
        );
        let meta = json!({"name": "a", "finalizers": ["orphan", "foregroundDeletion", "bad/x/y"]});
        let msgs: Vec<String> = validate_object_meta(&meta, false, NameRule::Any)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(msgs[0].starts_with(
            "metadata.finalizers: Invalid value: \"bad/x/y\": a qualified name must consist"
        ));
        assert_eq!(
            msgs[1],
            "metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\", \"bad/x/y\"}: finalizer orphan and foregroundDeletion cannot be both set"
        );
    }

    #[test]
    fn object_meta_update() {
        let old = json!({"name": "a", "namespace": "d", "uid": "1", "resourceVersion": "5", "generation": 3,
            "creationTimestamp": "2024-01-01T00:00:00Z", "deletionTimestamp": "2024-01-02T00:00:00Z", "finalizers": ["a.io/x"]});
        let new = json!({"name": "b", "namespace": "d", "uid": "2", "generation": 2,
            "creationTimestamp": "2024-05-01T10:00:00Z", "deletionTimestamp": "2024-01-02T00:00:00Z", "finalizers": ["a.io/x", "b.io/y"]});
        let msgs: Vec<String> = validate_object_meta_update(&new, &old)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{\"b.io/y\"}",
                "metadata.resourceVersion: Invalid value: \"\": must be specified for an update",
                "metadata.generation: Invalid value: 2: must not be decremented",
                "metadata.name: Invalid value: \"b\": field is immutable",
                "metadata.uid: Invalid value: \"2\": field is immutable",
                "metadata.creationTimestamp: Invalid value: 2024-05-01 10:00:00 +0000 UTC: field is immutable",
            ]
        );
        let same = json!({"name": "a", "resourceVersion": "1", "labels": {}});
        assert!(
            validate_object_meta_update(&same, &json!({"name": "a", "resourceVersion": "1"}))
                .is_empty()
        );
    }

    #[test]
    fn selectors() {
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]});
        assert_eq!(selector_kind(Some(&sel)), SelectorKind::Some);
        assert!(selector_matches(
            Some(&sel),
            Some(&json!({"app": "web", "tier": "a"}))
        ));
        assert!(!selector_matches(Some(&sel), Some(&json!({"app": "web"}))));
        assert_eq!(selector_kind(None), SelectorKind::Nothing);
        assert_eq!(selector_kind(Some(&json!({}))), SelectorKind::Everything);
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]});
        assert_eq!(selector_kind(Some(&bad)), SelectorKind::Error);
        let msgs: Vec<String> = validate_label_selector(Some(&bad), "spec.selector")
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "spec.selector.matchExpressions[0].operator: Invalid value: \"Foo\": not a valid selector operator"
            ]
        );
        let bad = json!({"matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Exists", "values": ["x"]}]});
        let msgs: Vec<String> = validate_label_selector(Some(&bad), "s")
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            msgs,
            vec![
                "s.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
                "s.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            ]
        );
        assert_eq!(
            label_selector_repr(Some(&json!({"matchLabels": {"app": "x", "a": "b"}}))),
            "v1.LabelSelector{MatchLabels:map[string]string{\"a\":\"b\", \"app\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
    }

    #[test]
    fn semantic_equality() {
        assert!(semantic_eq(None, Some(&json!([]))));
        assert!(semantic_eq(Some(&json!({"a": null})), Some(&json!({}))));
        assert!(!semantic_eq(Some(&json!({"a": 1})), Some(&json!({}))));
        assert!(!semantic_eq(Some(&json!([1])), Some(&json!([2]))));
    }
}
