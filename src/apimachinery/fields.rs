//! Kubernetes field selectors: the `?fieldSelector=` syntax
//! (staging/src/k8s.io/apimachinery/pkg/fields/selector.go), which field labels each
//! resource accepts (the `AddFieldLabelConversionFunc` registrations in
//! pkg/apis/*/v1/conversion.go, else `runtime.DefaultMetaV1FieldSelectorConversion`),
//! and the values of an object's selectable fields (the registries' `ToSelectableFields`
//! in pkg/registry/*/*/strategy.go), computed from the wire JSON.

use std::fmt;

use serde_json::Value;

use crate::apimachinery::labels::go_quote;
use crate::registry::kind::Kind;

/// A field selector operator. `==` parses to [`FieldOp::Equals`], as upstream's
/// `hasTerm` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldOp {
    /// `=` or `==`
    Equals,
    /// `!=`
    NotEquals,
}

/// One `field op value` term, with the value unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

/// A parsed field selector: the AND of its requirements (none = everything).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The requirements, in upstream's order (terms sorted as raw strings).
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether every requirement holds; `get` returns a field's value, and a field it
    /// does not know (None) compares as "" (upstream `fields.Set.Get`).
    pub fn matches(&self, get: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let have = get(&r.field).unwrap_or_default();
            match r.op {
                FieldOp::Equals => have == r.value,
                FieldOp::NotEquals => have != r.value,
            }
        })
    }

    /// True when the selector has no requirements (selects everything).
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

impl fmt::Display for FieldSelector {
    /// Upstream `String()`: `field=value` / `field!=value` joined by `,`, values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = match r.op {
                FieldOp::Equals => "=",
                FieldOp::NotEquals => "!=",
            };
            write!(f, "{}{op}{}", r.field, escape_value(&r.value))?;
        }
        Ok(())
    }
}

/// Escapes `\`, `,` and `=` in a value (upstream `fields.EscapeValue`).
pub fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Parses a field selector (upstream `fields.ParseSelector`).
pub fn parse(s: &str) -> Result<FieldSelector, String> {
    let mut terms = split_terms(s);
    terms.sort_unstable();
    let mut requirements = Vec::with_capacity(terms.len());
    for term in terms {
        if term.is_empty() {
            continue;
        }
        let Some((lhs, op, rhs)) = split_term(term) else {
            return Err(format!(
                "invalid selector: '{s}'; can't understand '{term}'"
            ));
        };
        requirements.push(FieldRequirement {
            field: lhs.to_string(),
            op,
            value: unescape_value(rhs)?,
        });
    }
    Ok(FieldSelector { requirements })
}

/// Comma-separated terms; a backslash-escaped comma stays inside its term.
fn split_terms(s: &str) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in s.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(s.get(start..i).unwrap_or_default());
            start = i + 1;
        }
    }
    terms.push(s.get(start..).unwrap_or_default());
    terms
}

/// Splits at the first operator occurrence, trying `!=`, `==`, `=` at each position.
fn split_term(term: &str) -> Option<(&str, FieldOp, &str)> {
    for (i, _) in term.char_indices() {
        let rest = term.get(i..)?;
        for (tok, op) in [
            ("!=", FieldOp::NotEquals),
            ("==", FieldOp::Equals),
            ("=", FieldOp::Equals),
        ] {
            if rest.starts_with(tok) {
                return Some((term.get(..i)?, op, rest.get(tok.len()..)?));
            }
        }
    }
    None
}

/// Upstream `fields.UnescapeValue`, with its error messages (`%v` of a rune prints
/// its code point).
fn unescape_value(s: &str) -> Result<String, String> {
    if !s.contains(['\\', ',', '=']) {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut in_slash = false;
    for c in s.chars() {
        if in_slash {
            if matches!(c, '\\' | ',' | '=') {
                out.push(c);
            } else {
                return Err(format!(
                    "invalid field selector: invalid escape sequence: \\{c}"
                ));
            }
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => {
                return Err(format!(
                    "invalid field selector: unescaped character in value: {}",
                    c as u32
                ));
            }
            _ => out.push(c),
        }
    }
    if in_slash {
        return Err("invalid field selector: invalid escape sequence: \\".to_string());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Which field labels each resource accepts

pub const POD_LABELS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
    // legacy alias of spec.nodeName
    "spec.host",
];
pub const NODE_LABELS: &[&str] = &["metadata.name", "spec.unschedulable"];
pub const RC_LABELS: &[&str] = &["metadata.name", "metadata.namespace", "status.replicas"];
pub const EVENT_LABELS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    "metadata.namespace",
    "metadata.name",
];
pub const NAMESPACE_LABELS: &[&str] = &["status.phase", "metadata.name"];
pub const SECRET_LABELS: &[&str] = &["type", "metadata.namespace", "metadata.name"];
pub const SERVICE_LABELS: &[&str] = &[
    "metadata.namespace",
    "metadata.name",
    "spec.clusterIP",
    "spec.type",
];
// pkg/apis/events/v1/conversion.go: these map onto the core Event's field set.
pub const EVENTS_V1_LABELS: &[&str] = &[
    "reason",
    "regarding.kind",
    "regarding.namespace",
    "regarding.name",
    "regarding.uid",
    "regarding.apiVersion",
    "regarding.resourceVersion",
    "regarding.fieldPath",
    "reportingController",
    "type",
    "metadata.namespace",
    "metadata.name",
];
pub const JOB_LABELS: &[&str] = &["metadata.name", "metadata.namespace", "status.successful"];
pub const CSR_LABELS: &[&str] = &["metadata.name", "spec.signerName"];

/// Checks every field label of `sel` against what upstream's field label conversion
/// for the kind accepts ([`Kind::check_field_label`]); the error is the first
/// rejection, worded as upstream. Kinds without a registered conversion (configmaps,
/// every `apps/*` resource, leases, ...) accept only `metadata.name` and
/// `metadata.namespace` ([`check_metadata_only`]).
pub fn check_kind_supported(kind: &dyn Kind, sel: &FieldSelector) -> Result<(), String> {
    for r in &sel.requirements {
        kind.check_field_label(&r.field)?;
    }
    Ok(())
}

/// [`check_kind_supported`] for the built-in resource `resource_key` (`"pods"`,
/// `"apps/deployments"`), found in the registration list; other keys accept only
/// the metadata fields. For tools and tests: the store calls the kind directly.
pub fn check_supported(resource_key: &str, sel: &FieldSelector) -> Result<(), String> {
    match crate::registry::kinds::by_key(resource_key) {
        Some(k) => check_kind_supported(&*k, sel),
        None => check_kind_supported(&crate::registry::kind::Unstructured, sel),
    }
}

/// A kind's registered field label conversion: `label` must be in `list`.
pub fn check_label_in(list: &[&str], label: &str) -> Result<(), String> {
    if list.contains(&label) {
        Ok(())
    } else {
        Err(format!("field label not supported: {label}"))
    }
}

/// batch/v1 Job's conversion (its own wording).
pub fn check_job_label(label: &str) -> Result<(), String> {
    if JOB_LABELS.contains(&label) {
        Ok(())
    } else {
        Err(format!(
            "field label {} not supported for batchv1.Job",
            go_quote(label)
        ))
    }
}

/// No registered conversion: only `metadata.name` and `metadata.namespace`.
pub fn check_metadata_only(label: &str) -> Result<(), String> {
    match label {
        "metadata.name" | "metadata.namespace" => Ok(()),
        _ => Err(format!(
            "{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
            go_quote(label)
        )),
    }
}

// ---------------------------------------------------------------------------
// Values of selectable fields

fn path<'a>(obj: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(obj, |v, k| v.get(k))
}

fn str_at(obj: &Value, dotted: &str) -> String {
    path(obj, dotted)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn first_non_empty(obj: &Value, paths: &[&str]) -> String {
    paths
        .iter()
        .map(|p| str_at(obj, p))
        .find(|s| !s.is_empty())
        .unwrap_or_default()
}

fn bool_at(obj: &Value, dotted: &str) -> String {
    let b = path(obj, dotted).and_then(Value::as_bool).unwrap_or(false);
    b.to_string()
}

fn int_at(obj: &Value, dotted: &str) -> String {
    let v = path(obj, dotted);
    if let Some(i) = v.and_then(Value::as_i64) {
        i.to_string()
    } else if let Some(u) = v.and_then(Value::as_u64) {
        u.to_string()
    } else {
        "0".to_string()
    }
}

/// The value of a selectable field of `obj` (wire JSON of the kind) as upstream's
/// `ToSelectableFields` computes it; None for a field outside that set (which
/// [`FieldSelector::matches`] treats as ""). `metadata.name` and `metadata.namespace`
/// are every kind's; the rest is [`Kind::field_value`]. Accepted aliases
/// (`spec.host`, events.k8s.io's `regarding.*` and `reportingController`) resolve
/// to their target.
pub fn kind_field_value(kind: &dyn Kind, obj: &Value, field: &str) -> Option<String> {
    match field {
        "metadata.name" => Some(str_at(obj, "metadata.name")),
        "metadata.namespace" => Some(str_at(obj, "metadata.namespace")),
        _ => kind.field_value(obj, field),
    }
}

/// [`kind_field_value`] for the built-in resource `resource_key`, found in the
/// registration list (other keys: the metadata fields only). For tools and tests.
pub fn field_value(resource_key: &str, obj: &Value, field: &str) -> Option<String> {
    match crate::registry::kinds::by_key(resource_key) {
        Some(k) => kind_field_value(&*k, obj, field),
        None => kind_field_value(&crate::registry::kind::Unstructured, obj, field),
    }
}

/// No selectable fields beyond the metadata ones.
pub fn no_field(_obj: &Value, _field: &str) -> Option<String> {
    None
}

/// pkg/registry/core/pod/strategy.go ToSelectableFields
pub fn pod_field(obj: &Value, field: &str) -> Option<String> {
    Some(match field {
        "spec.nodeName" | "spec.host" => str_at(obj, "spec.nodeName"),
        "spec.restartPolicy" => str_at(obj, "spec.restartPolicy"),
        "spec.schedulerName" => str_at(obj, "spec.schedulerName"),
        // v1's deprecated serviceAccount is an alias of serviceAccountName
        "spec.serviceAccountName" => {
            first_non_empty(obj, &["spec.serviceAccountName", "spec.serviceAccount"])
        }
        "spec.hostNetwork" => bool_at(obj, "spec.hostNetwork"),
        "status.phase" => str_at(obj, "status.phase"),
        // internally PodIPs[0].IP; v1 conversion makes a set podIP authoritative
        "status.podIP" => {
            let ip = str_at(obj, "status.podIP");
            if ip.is_empty() {
                path(obj, "status.podIPs")
                    .and_then(|a| a.get(0))
                    .and_then(|e| e.get("ip"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            } else {
                ip
            }
        }
        "status.nominatedNodeName" => str_at(obj, "status.nominatedNodeName"),
        _ => return None,
    })
}

/// pkg/registry/core/node/strategy.go
pub fn node_field(obj: &Value, field: &str) -> Option<String> {
    (field == "spec.unschedulable").then(|| bool_at(obj, "spec.unschedulable"))
}

/// pkg/registry/core/namespace/strategy.go (also sets a bare "name")
pub fn namespace_field(obj: &Value, field: &str) -> Option<String> {
    match field {
        "status.phase" => Some(str_at(obj, "status.phase")),
        "name" => Some(str_at(obj, "metadata.name")),
        _ => None,
    }
}

/// pkg/registry/core/secret/strategy.go
pub fn secret_field(obj: &Value, field: &str) -> Option<String> {
    (field == "type").then(|| str_at(obj, "type"))
}

/// pkg/registry/core/service/strategy.go
pub fn service_field(obj: &Value, field: &str) -> Option<String> {
    match field {
        "spec.clusterIP" => Some(str_at(obj, "spec.clusterIP")),
        "spec.type" => Some(str_at(obj, "spec.type")),
        _ => None,
    }
}

/// pkg/registry/core/replicationcontroller and apps/replicaset strategies
pub fn replicas_field(obj: &Value, field: &str) -> Option<String> {
    (field == "status.replicas").then(|| int_at(obj, "status.replicas"))
}

/// pkg/registry/batch/job/strategy.go
pub fn job_field(obj: &Value, field: &str) -> Option<String> {
    (field == "status.successful").then(|| int_at(obj, "status.succeeded"))
}

/// pkg/registry/certificates/certificates/strategy.go
pub fn csr_field(obj: &Value, field: &str) -> Option<String> {
    (field == "spec.signerName").then(|| str_at(obj, "spec.signerName"))
}

/// pkg/registry/core/event/strategy.go, on the core/v1 wire form
pub fn core_event_field(obj: &Value, f: &str) -> Option<String> {
    Some(match f.strip_prefix("involvedObject.") {
        Some(
            sub @ ("kind" | "namespace" | "name" | "uid" | "apiVersion" | "resourceVersion"
            | "fieldPath"),
        ) => str_at(obj, &format!("involvedObject.{sub}")),
        Some(_) => return None,
        None => match f {
            "reason" => str_at(obj, "reason"),
            "reportingComponent" => str_at(obj, "reportingComponent"),
            "source" => first_non_empty(obj, &["source.component", "reportingComponent"]),
            "type" => str_at(obj, "type"),
            _ => return None,
        },
    })
}

/// The core Event's field set, on the events.k8s.io/v1 wire form
pub fn events_v1_field(obj: &Value, f: &str) -> Option<String> {
    let sub = f
        .strip_prefix("involvedObject.")
        .or_else(|| f.strip_prefix("regarding."));
    Some(match sub {
        Some(
            sub @ ("kind" | "namespace" | "name" | "uid" | "apiVersion" | "resourceVersion"
            | "fieldPath"),
        ) => str_at(obj, &format!("regarding.{sub}")),
        Some(_) => return None,
        None => match f {
            "reason" => str_at(obj, "reason"),
            "reportingComponent" | "reportingController" => str_at(obj, "reportingController"),
            "source" => {
                first_non_empty(obj, &["deprecatedSource.component", "reportingController"])
            }
            "type" => str_at(obj, "type"),
            _ => return None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Field label conversion and values of `key`: a served kind, or one of
    /// the not yet served kinds whose field sets are already here.
    fn kind(key: &str) -> std::sync::Arc<dyn Kind> {
        crate::registry::kinds::by_key(key).unwrap_or_else(|| {
            crate::registry::kinds::by_key("configmaps").unwrap_or_else(|| unreachable!())
        })
    }

    fn check_supported(key: &str, sel: &FieldSelector) -> Result<(), String> {
        for r in &sel.requirements {
            match key {
                "replicationcontrollers" => check_label_in(RC_LABELS, &r.field)?,
                "batch/jobs" => check_job_label(&r.field)?,
                "certificates.k8s.io/certificatesigningrequests" => {
                    check_label_in(CSR_LABELS, &r.field)?
                }
                _ => kind(key).check_field_label(&r.field)?,
            }
        }
        Ok(())
    }

    fn field_value(key: &str, obj: &Value, f: &str) -> Option<String> {
        let unserved: fn(&Value, &str) -> Option<String> = match key {
            "replicationcontrollers" => replicas_field,
            "batch/jobs" => job_field,
            "certificates.k8s.io/certificatesigningrequests" => csr_field,
            _ => return kind_field_value(&*kind(key), obj, f),
        };
        match f {
            "metadata.name" | "metadata.namespace" => kind_field_value(&*kind(key), obj, f),
            _ => unserved(obj, f),
        }
    }

    fn req(field: &str, op: FieldOp, value: &str) -> FieldRequirement {
        FieldRequirement {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    fn reqs(s: &str) -> Result<Vec<FieldRequirement>, String> {
        parse(s).map(|sel| sel.requirements().to_vec())
    }

    #[test]
    fn parse_operators() {
        assert_eq!(reqs("a=b"), Ok(vec![req("a", FieldOp::Equals, "b")]));
        assert_eq!(reqs("a==b"), Ok(vec![req("a", FieldOp::Equals, "b")]));
        assert_eq!(reqs("a!=b"), Ok(vec![req("a", FieldOp::NotEquals, "b")]));
        assert_eq!(reqs("a="), Ok(vec![req("a", FieldOp::Equals, "")]));
        assert_eq!(reqs("=b"), Ok(vec![req("", FieldOp::Equals, "b")]));
        assert_eq!(reqs("a!="), Ok(vec![req("a", FieldOp::NotEquals, "")]));
        // the first operator wins; "!" alone is no operator
        assert_eq!(reqs("a=!b"), Ok(vec![req("a", FieldOp::Equals, "!b")]));
        assert_eq!(reqs("a!b=c"), Ok(vec![req("a!b", FieldOp::Equals, "c")]));
        // no trimming
        assert_eq!(
            reqs(" a = b "),
            Ok(vec![req(" a ", FieldOp::Equals, " b ")])
        );
    }

    #[test]
    fn parse_sorts_terms_and_skips_empty_ones() {
        assert_eq!(
            reqs("z=1,,a!=2,m==3,"),
            Ok(vec![
                req("a", FieldOp::NotEquals, "2"),
                req("m", FieldOp::Equals, "3"),
                req("z", FieldOp::Equals, "1"),
            ])
        );
        assert_eq!(reqs(""), Ok(vec![]));
        assert_eq!(reqs(","), Ok(vec![]));
        assert!(parse("").map(|s| s.is_empty()).unwrap_or(false));
        assert!(!parse("a=b").map(|s| s.is_empty()).unwrap_or(true));
    }

    #[test]
    fn escaping() {
        assert_eq!(reqs(r"a=x\,y"), Ok(vec![req("a", FieldOp::Equals, "x,y")]));
        assert_eq!(reqs(r"a=x\=y"), Ok(vec![req("a", FieldOp::Equals, "x=y")]));
        assert_eq!(reqs(r"a=x\\y"), Ok(vec![req("a", FieldOp::Equals, r"x\y")]));
        assert_eq!(reqs(r"a=x\\,b=c").map(|r| r.len()), Ok(2));
        assert_eq!(
            reqs(r"b=1,a=x\,y"),
            Ok(vec![
                req("a", FieldOp::Equals, "x,y"),
                req("b", FieldOp::Equals, "1")
            ])
        );
        assert_eq!(escape_value(r"a\b,c=d!e"), r"a\\b\,c\=d!e");
        // the field name is never unescaped
        assert_eq!(
            reqs(r"a\,b=c"),
            Ok(vec![req(r"a\,b", FieldOp::Equals, "c")])
        );
        let sel = parse(r"b!=x\=y,a=p\,q\\r").unwrap_or_default();
        assert_eq!(sel.to_string(), r"a=p\,q\\r,b!=x\=y");
        assert_eq!(parse(&sel.to_string()), Ok(sel));
        assert_eq!(
            parse("b==1,a=2").map(|s| s.to_string()),
            Ok("a=2,b=1".to_string())
        );
    }

    #[test]
    fn parse_errors() {
        let cases = [
            ("a", "invalid selector: 'a'; can't understand 'a'"),
            ("x=1,b", "invalid selector: 'x=1,b'; can't understand 'b'"),
            // terms are checked in sorted order
            ("z,a", "invalid selector: 'z,a'; can't understand 'a'"),
            ("a!b", "invalid selector: 'a!b'; can't understand 'a!b'"),
            (
                "a=b=c",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                "a!==b",
                "invalid field selector: unescaped character in value: 61",
            ),
            (
                r"a=x\!y",
                r"invalid field selector: invalid escape sequence: \!",
            ),
            (
                r"a=x\n",
                r"invalid field selector: invalid escape sequence: \n",
            ),
            (
                r"a=x\",
                r"invalid field selector: invalid escape sequence: \",
            ),
            (
                r"a=x\\\",
                r"invalid field selector: invalid escape sequence: \",
            ),
            (
                r"a=b\,c=d",
                "invalid field selector: unescaped character in value: 61",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Err(want.to_string()), "input {input:?}");
        }
    }

    #[test]
    fn matching() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"nodeName": "n1"},
            "status": {"phase": "Running"}
        });
        let m = |s: &str| {
            parse(s)
                .map(|sel| sel.matches(|f| field_value("pods", &pod, f)))
                .unwrap_or(false)
        };
        assert!(m(""));
        assert!(m("spec.nodeName=n1"));
        assert!(m("spec.nodeName==n1"));
        assert!(m("spec.host=n1"));
        assert!(!m("spec.nodeName=n2"));
        assert!(m("spec.nodeName!=n2"));
        assert!(m(
            "status.phase=Running,metadata.namespace=ns,metadata.name=p"
        ));
        assert!(!m("status.phase=Running,metadata.namespace=other"));
        assert!(m("spec.hostNetwork=false"));
        assert!(m("status.podIP="));
        assert!(m("status.podIPs="));
        assert!(!m("status.podIPs=10.0.0.1"));
        assert!(m("spec.unknown="));
        assert!(m("spec.unknown!=x"));
    }

    #[test]
    fn supported_labels_per_resource() {
        let check = |key: &str, s: &str| parse(s).and_then(|sel| check_supported(key, &sel));
        let ok = Ok(());
        for f in [
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
            "spec.host",
        ] {
            assert_eq!(check("pods", &format!("{f}=x")), ok, "{f}");
        }
        assert_eq!(
            check("pods", "spec.foo=x"),
            Err("field label not supported: spec.foo".to_string())
        );
        // the first unsupported label in sorted order is reported
        assert_eq!(
            check("pods", "spec.zz=1,spec.aa=2,status.phase=Running"),
            Err("field label not supported: spec.aa".to_string())
        );
        assert_eq!(
            check("nodes", "metadata.name=a,spec.unschedulable=true"),
            ok
        );
        assert_eq!(
            check("nodes", "metadata.namespace=a"),
            Err("field label not supported: metadata.namespace".to_string())
        );
        assert_eq!(
            check("namespaces", "metadata.name=a,status.phase=Active"),
            ok
        );
        assert_eq!(
            check("namespaces", "metadata.namespace=a"),
            Err("field label not supported: metadata.namespace".to_string())
        );
        assert_eq!(
            check("namespaces", "name=a"),
            Err("field label not supported: name".to_string())
        );
        assert_eq!(
            check(
                "secrets",
                "type=Opaque,metadata.namespace=a,metadata.name=b"
            ),
            ok
        );
        assert_eq!(
            check("secrets", "data=x"),
            Err("field label not supported: data".to_string())
        );
        assert_eq!(
            check("services", "spec.clusterIP=None,spec.type=ClusterIP"),
            ok
        );
        assert_eq!(
            check("services", "spec.ports=x"),
            Err("field label not supported: spec.ports".to_string())
        );
        assert_eq!(check("replicationcontrollers", "status.replicas=1"), ok);
        for f in [
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ] {
            assert_eq!(check("events", &format!("{f}=x")), ok, "{f}");
        }
        assert_eq!(
            check("events", "regarding.kind=Pod"),
            Err("field label not supported: regarding.kind".to_string())
        );
        for f in [
            "regarding.kind",
            "regarding.namespace",
            "regarding.name",
            "regarding.uid",
            "regarding.apiVersion",
            "regarding.resourceVersion",
            "regarding.fieldPath",
            "reason",
            "reportingController",
            "type",
            "metadata.namespace",
            "metadata.name",
        ] {
            assert_eq!(check("events.k8s.io/events", &format!("{f}=x")), ok, "{f}");
        }
        for f in [
            "involvedObject.kind",
            "source",
            "reportingComponent",
            "note",
        ] {
            assert_eq!(
                check("events.k8s.io/events", &format!("{f}=x")),
                Err(format!("field label not supported: {f}")),
                "{f}"
            );
        }
        // kinds without a conversion func: metadata only, with the default wording
        let default_err = |f: &str| {
            Err(format!(
                "\"{f}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
            ))
        };
        for key in [
            "configmaps",
            "serviceaccounts",
            "apps/deployments",
            "apps/replicasets",
            "apps/statefulsets",
            "coordination.k8s.io/leases",
        ] {
            assert_eq!(
                check(key, "metadata.name=a,metadata.namespace=b"),
                ok,
                "{key}"
            );
            assert_eq!(check(key, "spec.foo=1"), default_err("spec.foo"), "{key}");
        }
        // upstream's apps/v1 registers no conversion, so ReplicaSet rejects its own field
        assert_eq!(
            check("apps/replicasets", "status.replicas=0"),
            default_err("status.replicas")
        );
        assert_eq!(check("batch/jobs", "status.successful=1"), ok);
        assert_eq!(
            check("batch/jobs", "status.succeeded=1"),
            Err("field label \"status.succeeded\" not supported for batchv1.Job".to_string())
        );
        assert_eq!(
            check(
                "certificates.k8s.io/certificatesigningrequests",
                "spec.signerName=x"
            ),
            ok
        );
        assert_eq!(
            check(
                "certificates.k8s.io/certificatesigningrequests",
                "metadata.namespace=x"
            ),
            Err("field label not supported: metadata.namespace".to_string())
        );
        assert_eq!(check("pods", ""), ok);
    }

    #[test]
    fn pod_field_values() {
        let pod = json!({
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "nodeName": "n1",
                "restartPolicy": "Always",
                "schedulerName": "default-scheduler",
                "serviceAccountName": "sa",
                "hostNetwork": true
            },
            "status": {
                "phase": "Running",
                "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
                "nominatedNodeName": "n2"
            }
        });
        let v = |f: &str| field_value("pods", &pod, f);
        assert_eq!(v("metadata.name").as_deref(), Some("p"));
        assert_eq!(v("metadata.namespace").as_deref(), Some("ns"));
        assert_eq!(v("spec.nodeName").as_deref(), Some("n1"));
        assert_eq!(v("spec.host").as_deref(), Some("n1"));
        assert_eq!(v("spec.restartPolicy").as_deref(), Some("Always"));
        assert_eq!(
            v("spec.schedulerName").as_deref(),
            Some("default-scheduler")
        );
        assert_eq!(v("spec.serviceAccountName").as_deref(), Some("sa"));
        assert_eq!(v("spec.hostNetwork").as_deref(), Some("true"));
        assert_eq!(v("status.phase").as_deref(), Some("Running"));
        assert_eq!(v("status.podIP").as_deref(), Some("10.0.0.1"));
        assert_eq!(v("status.nominatedNodeName").as_deref(), Some("n2"));
        assert_eq!(v("status.podIPs"), None);
        assert_eq!(v("spec.containers"), None);

        let bare = json!({"metadata": {"name": "q"}});
        let v = |f: &str| field_value("pods", &bare, f);
        assert_eq!(v("metadata.namespace").as_deref(), Some(""));
        assert_eq!(v("spec.nodeName").as_deref(), Some(""));
        assert_eq!(v("spec.hostNetwork").as_deref(), Some("false"));
        assert_eq!(v("status.podIP").as_deref(), Some(""));
        assert_eq!(v("status.phase").as_deref(), Some(""));

        let legacy = json!({"spec": {"serviceAccount": "old"}, "status": {"podIP": "10.1.1.1"}});
        assert_eq!(
            field_value("pods", &legacy, "spec.serviceAccountName").as_deref(),
            Some("old")
        );
        assert_eq!(
            field_value("pods", &legacy, "status.podIP").as_deref(),
            Some("10.1.1.1")
        );
    }

    #[test]
    fn other_field_values() {
        let node = json!({"metadata": {"name": "n"}, "spec": {"unschedulable": true}});
        assert_eq!(
            field_value("nodes", &node, "spec.unschedulable").as_deref(),
            Some("true")
        );
        assert_eq!(
            field_value("nodes", &json!({}), "spec.unschedulable").as_deref(),
            Some("false")
        );
        assert_eq!(
            field_value("nodes", &node, "metadata.namespace").as_deref(),
            Some("")
        );

        let ns = json!({"metadata": {"name": "kube-system"}, "status": {"phase": "Active"}});
        assert_eq!(
            field_value("namespaces", &ns, "status.phase").as_deref(),
            Some("Active")
        );
        assert_eq!(
            field_value("namespaces", &ns, "name").as_deref(),
            Some("kube-system")
        );

        let secret = json!({"type": "kubernetes.io/tls"});
        assert_eq!(
            field_value("secrets", &secret, "type").as_deref(),
            Some("kubernetes.io/tls")
        );
        assert_eq!(
            field_value("secrets", &json!({}), "type").as_deref(),
            Some("")
        );

        let svc = json!({"spec": {"clusterIP": "None", "type": "ClusterIP"}});
        assert_eq!(
            field_value("services", &svc, "spec.clusterIP").as_deref(),
            Some("None")
        );
        assert_eq!(
            field_value("services", &svc, "spec.type").as_deref(),
            Some("ClusterIP")
        );

        let rs = json!({"status": {"replicas": 3}});
        assert_eq!(
            field_value("apps/replicasets", &rs, "status.replicas").as_deref(),
            Some("3")
        );
        assert_eq!(
            field_value("apps/replicasets", &json!({}), "status.replicas").as_deref(),
            Some("0")
        );
        assert_eq!(
            field_value("replicationcontrollers", &rs, "status.replicas").as_deref(),
            Some("3")
        );
        assert_eq!(
            field_value("apps/deployments", &rs, "status.replicas"),
            None
        );

        let job = json!({"status": {"succeeded": 2}});
        assert_eq!(
            field_value("batch/jobs", &job, "status.successful").as_deref(),
            Some("2")
        );

        let csr = json!({"spec": {"signerName": "kubernetes.io/kubelet-serving"}});
        assert_eq!(
            field_value(
                "certificates.k8s.io/certificatesigningrequests",
                &csr,
                "spec.signerName"
            )
            .as_deref(),
            Some("kubernetes.io/kubelet-serving")
        );

        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "v"}});
        assert_eq!(
            field_value("configmaps", &cm, "metadata.name").as_deref(),
            Some("c")
        );
        assert_eq!(field_value("configmaps", &cm, "data.k"), None);
    }

    #[test]
    fn event_field_values() {
        let ev = json!({
            "metadata": {"name": "e", "namespace": "ns"},
            "involvedObject": {
                "kind": "Pod", "namespace": "ns", "name": "p", "uid": "u1",
                "apiVersion": "v1", "resourceVersion": "42", "fieldPath": "spec.containers{c}"
            },
            "reason": "Started",
            "reportingComponent": "kubelet",
            "source": {"component": "kubelet-src"},
            "type": "Normal"
        });
        let v = |f: &str| field_value("events", &ev, f);
        assert_eq!(v("involvedObject.kind").as_deref(), Some("Pod"));
        assert_eq!(v("involvedObject.namespace").as_deref(), Some("ns"));
        assert_eq!(v("involvedObject.name").as_deref(), Some("p"));
        assert_eq!(v("involvedObject.uid").as_deref(), Some("u1"));
        assert_eq!(v("involvedObject.apiVersion").as_deref(), Some("v1"));
        assert_eq!(v("involvedObject.resourceVersion").as_deref(), Some("42"));
        assert_eq!(
            v("involvedObject.fieldPath").as_deref(),
            Some("spec.containers{c}")
        );
        assert_eq!(v("reason").as_deref(), Some("Started"));
        assert_eq!(v("reportingComponent").as_deref(), Some("kubelet"));
        assert_eq!(v("source").as_deref(), Some("kubelet-src"));
        assert_eq!(v("type").as_deref(), Some("Normal"));
        assert_eq!(v("involvedObject.other"), None);
        assert_eq!(v("message"), None);
        // source falls back to reportingComponent
        let ev2 = json!({"reportingComponent": "ctrl"});
        assert_eq!(
            field_value("events", &ev2, "source").as_deref(),
            Some("ctrl")
        );
        assert_eq!(
            field_value("events", &json!({}), "source").as_deref(),
            Some("")
        );

        let ev1 = json!({
            "metadata": {"name": "e", "namespace": "ns"},
            "regarding": {"kind": "Node", "name": "n1", "uid": "u2"},
            "reason": "Rebooted",
            "reportingController": "kubelet",
            "type": "Warning"
        });
        let v = |f: &str| field_value("events.k8s.io/events", &ev1, f);
        assert_eq!(v("regarding.kind").as_deref(), Some("Node"));
        assert_eq!(v("involvedObject.kind").as_deref(), Some("Node"));
        assert_eq!(v("regarding.name").as_deref(), Some("n1"));
        assert_eq!(v("regarding.uid").as_deref(), Some("u2"));
        assert_eq!(v("regarding.namespace").as_deref(), Some(""));
        assert_eq!(v("reportingController").as_deref(), Some("kubelet"));
        assert_eq!(v("reportingComponent").as_deref(), Some("kubelet"));
        assert_eq!(v("reason").as_deref(), Some("Rebooted"));
        assert_eq!(v("type").as_deref(), Some("Warning"));
        assert_eq!(v("note"), None);

        let sel = parse("regarding.kind=Node,reportingController=kubelet,type!=Normal")
            .unwrap_or_default();
        assert_eq!(check_supported("events.k8s.io/events", &sel), Ok(()));
        assert!(sel.matches(|f| field_value("events.k8s.io/events", &ev1, f)));
        let sel = parse("involvedObject.kind=Pod,source=kubelet-src").unwrap_or_default();
        assert!(sel.matches(|f| field_value("events", &ev, f)));
    }
}
