//! `authorization.k8s.io/v1` access reviews: SelfSubjectAccessReview
//! (`kubectl auth can-i`), SubjectAccessReview, LocalSubjectAccessReview and
//! SelfSubjectRulesReview (`kubectl auth can-i --list`). Create-only, never
//! stored: each asks the authorizer and answers.
//!
//! Upstream: `pkg/registry/authorization/{selfsubjectaccessreview,
//! subjectaccessreview,localsubjectaccessreview,selfsubjectrulesreview}/rest.go`,
//! `pkg/registry/authorization/util/helpers.go` (the attributes, the
//! selector parse errors of `evaluationError`),
//! `pkg/apis/authorization/validation/validation.go` (the 422s, reported for
//! the kind `""`, as the decoded internal object has no TypeMeta), and the
//! generic create handler around them (`handlers/create.go`): the body is
//! decoded as the v1 Go type (unknown fields dropped, or refused with
//! `fieldValidation=Strict`), the namespace is the request's, the system
//! fields of `metadata` are wiped, and `metadata.managedFields` records the
//! writer's fields. A rules review answers with a fresh object (no spec).

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::apimachinery::status::ApiError;
use crate::apimachinery::validation::{
    FieldError, child, index, invalid_status_message, is_valid_label_value, qualified_kind,
    validate_label_name,
};
use crate::apimachinery::{fieldmanager, fields, labels};
use crate::auth::UserInfo;
use crate::auth::authorizer::Decision;
use crate::auth::rbac::{Attributes, PolicyRule, aggregate_message};
use crate::registry::handler::ResourceHandler;
use crate::registry::store::{FieldValidation, WriteOptions};
use crate::registry::typecheck;

const GROUP: &str = "authorization.k8s.io";
const VERSION: &str = "v1";
const API_VERSION: &str = "authorization.k8s.io/v1";

/// The four reviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Review {
    SelfSubjectAccess,
    SubjectAccess,
    LocalSubjectAccess,
    SelfSubjectRules,
}

impl Review {
    fn of(handler: ResourceHandler) -> Option<Review> {
        match handler {
            ResourceHandler::SelfSubjectAccessReview => Some(Review::SelfSubjectAccess),
            ResourceHandler::SubjectAccessReview => Some(Review::SubjectAccess),
            ResourceHandler::LocalSubjectAccessReview => Some(Review::LocalSubjectAccess),
            ResourceHandler::SelfSubjectRulesReview => Some(Review::SelfSubjectRules),
            ResourceHandler::Store
            | ResourceHandler::TokenReview
            | ResourceHandler::SelfSubjectReview => None,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Review::SelfSubjectAccess => "SelfSubjectAccessReview",
            Review::SubjectAccess => "SubjectAccessReview",
            Review::LocalSubjectAccess => "LocalSubjectAccessReview",
            Review::SelfSubjectRules => "SelfSubjectRulesReview",
        }
    }
}

/// `POST` of a review: the answer (201) or the error, and the warnings of
/// decoding (unknown fields), which upstream sends with either.
pub async fn create(
    state: &AppState,
    handler: ResourceHandler,
    namespace: Option<&str>,
    opts: &WriteOptions,
    body: Value,
    user: &UserInfo,
) -> (Result<Value, ApiError>, Vec<String>) {
    let Some(review) = Review::of(handler) else {
        return (Err(ApiError::internal("not an access review")), Vec::new());
    };
    let mut warnings = Vec::new();
    let out = answer(state, review, namespace, opts, body, user, &mut warnings).await;
    (out, warnings)
}

async fn answer(
    state: &AppState,
    review: Review,
    namespace: Option<&str>,
    opts: &WriteOptions,
    mut obj: Value,
    user: &UserInfo,
    warnings: &mut Vec<String>,
) -> Result<Value, ApiError> {
    let kind = review.kind();
    // Served only under a namespace (upstream registers no cluster-wide
    // route for it).
    if review == Review::LocalSubjectAccess && namespace.is_none() {
        return Err(ApiError::path_not_found());
    }
    *warnings = decode(state, kind, &mut obj, opts.field_validation)?;
    create_handler_meta(review, namespace, &mut obj)?;
    let mut typed = typed_object(review, &obj);
    if review == Review::SelfSubjectRules {
        return rules_review(state, &typed, user).await;
    }
    if !opts.field_manager.is_empty() {
        let schema = state.openapi.schema(GROUP, VERSION, kind);
        let zero = json!({
            "kind": kind,
            "apiVersion": API_VERSION,
            "metadata": {},
            "spec": {},
            "status": {"allowed": false},
        });
        typed = fieldmanager::update(
            Some(&zero),
            &typed,
            &opts.field_manager,
            API_VERSION,
            None,
            &Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            schema.as_ref(),
        );
    }
    let errs = validate(review, &typed);
    if !errs.is_empty() {
        return Err(invalid(&errs));
    }
    let spec = typed.get("spec").cloned().unwrap_or_else(|| json!({}));
    let subject = match review {
        Review::SelfSubjectAccess => user.clone(),
        _ => subject_of(&spec),
    };
    let attrs = attributes(subject, &spec);
    if state.authorizer.uses_policy() {
        state.policy.catch_up().await;
    }
    let (decision, reason) = state.authorizer.authorize_with_reason(&attrs);
    let mut status = Map::new();
    status.insert("allowed".into(), Value::Bool(decision == Decision::Allow));
    if decision == Decision::Deny {
        status.insert("denied".into(), Value::Bool(true));
    }
    if !reason.is_empty() {
        status.insert("reason".into(), Value::String(reason));
    }
    let evaluation_error = selector_errors(&spec);
    if !evaluation_error.is_empty() {
        status.insert("evaluationError".into(), Value::String(evaluation_error));
    }
    if let Some(m) = typed.as_object_mut() {
        m.insert("status".into(), Value::Object(status));
    }
    Ok(typed)
}

/// The body as the create handler decodes it: `kind`/`apiVersion`
/// defaulted from the endpoint, a different kind refused, fields of the
/// wrong type refused as Go's decoder does, unknown fields reported.
fn decode(
    state: &AppState,
    kind: &str,
    obj: &mut Value,
    fv: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON or YAML object",
        ));
    }
    typecheck::default_type_meta(obj, GROUP, VERSION, kind);
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let k = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if av != API_VERSION || k != kind {
        let (g, v) = av.rsplit_once('/').unwrap_or(("", av));
        return Err(ApiError::bad_request(
            if typecheck::schemas(&state.openapi).knows(g, v, k) {
                format!(
                    "{k} in version \"{v}\" cannot be handled as a {kind}: converting ({v}.{k}) to ({}.{kind}): unknown conversion",
                    typecheck::internal_package(GROUP, kind)
                )
            } else {
                format!(
                    "{k} in version \"{v}\" cannot be handled as a {kind}: no kind \"{k}\" is registered for version \"{av}\" in scheme \"pkg/api/legacyscheme/scheme.go:30\""
                )
            },
        ));
    }
    typecheck::check_body(&state.openapi, (GROUP, VERSION, kind), obj)?;
    if fv == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let unknown: Vec<String> = state
        .openapi
        .unknown_fields(GROUP, VERSION, kind, obj)
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    if fv == FieldValidation::Strict && !unknown.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{VERSION}\" cannot be handled as a {kind}: strict decoding error: {}",
            unknown.join(", ")
        )));
    }
    Ok(unknown)
}

/// What the create handler does to `metadata` before the review sees it:
/// the request's namespace (a different one in the body is a 400; a
/// cluster-scoped review has none) and the system fields wiped
/// (`rest.WipeObjectMetaSystemFields`).
fn create_handler_meta(
    review: Review,
    namespace: Option<&str>,
    obj: &mut Value,
) -> Result<(), ApiError> {
    let Some(root) = obj.as_object_mut() else {
        return Ok(());
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let Some(meta) = meta.as_object_mut() else {
        return Ok(());
    };
    let body_ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let want = if review == Review::LocalSubjectAccess {
        namespace.unwrap_or("")
    } else {
        ""
    };
    if !body_ns.is_empty() && !want.is_empty() && body_ns != want {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    meta.insert("namespace".into(), Value::String(want.to_string()));
    for k in [
        "creationTimestamp",
        "uid",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.shift_remove(k);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The v1 Go types: what survives decoding, in Go's field order, zero
// `omitempty` fields dropped (upstream echoes the decoded object).
// ---------------------------------------------------------------------------

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn strings_of(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn put_str(out: &mut Map<String, Value>, k: &str, v: &str) {
    if !v.is_empty() {
        out.insert(k.into(), Value::String(v.to_string()));
    }
}

fn put_strings(out: &mut Map<String, Value>, k: &str, v: Vec<String>) {
    if !v.is_empty() {
        out.insert(k.into(), Value::from(v));
    }
}

/// `metav1.ObjectMeta` as decoded (the wiped fields are gone already).
fn typed_meta(meta: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    for k in ["name", "generateName", "namespace", "resourceVersion"] {
        put_str(&mut out, k, str_of(meta, k));
    }
    if let Some(g) = meta.get("generation").and_then(Value::as_i64)
        && g != 0
    {
        out.insert("generation".into(), Value::from(g));
    }
    for k in ["labels", "annotations"] {
        if let Some(m) = meta.get(k).and_then(Value::as_object)
            && !m.is_empty()
        {
            out.insert(k.into(), Value::Object(m.clone()));
        }
    }
    for k in ["ownerReferences", "finalizers", "managedFields"] {
        if let Some(a) = meta.get(k).and_then(Value::as_array)
            && !a.is_empty()
        {
            out.insert(k.into(), Value::Array(a.clone()));
        }
    }
    out
}

/// `FieldSelectorAttributes` / `LabelSelectorAttributes`: `rawSelector`
/// and `requirements` (each with `key` and `operator` always).
fn typed_selector(v: &Value) -> Value {
    let mut out = Map::new();
    put_str(&mut out, "rawSelector", str_of(v, "rawSelector"));
    if let Some(reqs) = v.get("requirements").and_then(Value::as_array)
        && !reqs.is_empty()
    {
        let reqs: Vec<Value> = reqs
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("key".into(), Value::from(str_of(r, "key")));
                m.insert("operator".into(), Value::from(str_of(r, "operator")));
                put_strings(&mut m, "values", strings_of(r, "values"));
                Value::Object(m)
            })
            .collect();
        out.insert("requirements".into(), Value::Array(reqs));
    }
    Value::Object(out)
}

fn typed_resource_attributes(v: &Value) -> Value {
    let mut out = Map::new();
    for k in [
        "namespace",
        "verb",
        "group",
        "version",
        "resource",
        "subresource",
        "name",
    ] {
        put_str(&mut out, k, str_of(v, k));
    }
    for k in ["fieldSelector", "labelSelector"] {
        if let Some(s) = v.get(k).filter(|s| s.is_object()) {
            out.insert(k.into(), typed_selector(s));
        }
    }
    Value::Object(out)
}

fn typed_non_resource_attributes(v: &Value) -> Value {
    let mut out = Map::new();
    put_str(&mut out, "path", str_of(v, "path"));
    put_str(&mut out, "verb", str_of(v, "verb"));
    Value::Object(out)
}

fn typed_spec(review: Review, spec: &Value) -> Value {
    let mut out = Map::new();
    if review == Review::SelfSubjectRules {
        put_str(&mut out, "namespace", str_of(spec, "namespace"));
        return Value::Object(out);
    }
    if let Some(r) = spec.get("resourceAttributes").filter(|r| r.is_object()) {
        out.insert("resourceAttributes".into(), typed_resource_attributes(r));
    }
    if let Some(n) = spec.get("nonResourceAttributes").filter(|n| n.is_object()) {
        out.insert(
            "nonResourceAttributes".into(),
            typed_non_resource_attributes(n),
        );
    }
    if review == Review::SelfSubjectAccess {
        return Value::Object(out);
    }
    put_str(&mut out, "user", str_of(spec, "user"));
    put_strings(&mut out, "groups", strings_of(spec, "groups"));
    if let Some(extra) = spec.get("extra").and_then(Value::as_object)
        && !extra.is_empty()
    {
        // Go's encoder sorts map keys.
        let mut keys: Vec<&String> = extra.keys().collect();
        keys.sort();
        let mut m = Map::new();
        for k in keys {
            let v = match extra.get(k) {
                Some(Value::Array(a)) => Value::Array(
                    a.iter()
                        .map(|s| Value::from(s.as_str().unwrap_or("")))
                        .collect(),
                ),
                _ => Value::Null,
            };
            m.insert(k.clone(), v);
        }
        out.insert("extra".into(), Value::Object(m));
    }
    put_str(&mut out, "uid", str_of(spec, "uid"));
    Value::Object(out)
}

/// `SubjectAccessReviewStatus` as the client sent it (only its fields
/// count, for `managedFields`: the answer replaces it).
fn typed_status(status: &Value) -> Value {
    let mut out = Map::new();
    out.insert(
        "allowed".into(),
        Value::Bool(
            status
                .get("allowed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
    );
    if status.get("denied").and_then(Value::as_bool) == Some(true) {
        out.insert("denied".into(), Value::Bool(true));
    }
    put_str(&mut out, "reason", str_of(status, "reason"));
    put_str(
        &mut out,
        "evaluationError",
        str_of(status, "evaluationError"),
    );
    Value::Object(out)
}

fn typed_object(review: Review, obj: &Value) -> Value {
    let null = Value::Null;
    let mut out = Map::new();
    out.insert("kind".into(), Value::from(review.kind()));
    out.insert("apiVersion".into(), Value::from(API_VERSION));
    out.insert(
        "metadata".into(),
        Value::Object(typed_meta(obj.get("metadata").unwrap_or(&null))),
    );
    out.insert(
        "spec".into(),
        typed_spec(review, obj.get("spec").unwrap_or(&null)),
    );
    if review != Review::SelfSubjectRules {
        out.insert(
            "status".into(),
            typed_status(obj.get("status").unwrap_or(&null)),
        );
    }
    Value::Object(out)
}

// ---------------------------------------------------------------------------
// Validation (pkg/apis/authorization/validation)
// ---------------------------------------------------------------------------

/// Go's `json.Marshal` of a value: compact, with `<`, `>`, `&`, U+2028 and
/// U+2029 escaped.
fn go_json(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The internal `NonResourceAttributes` as a field error prints it (its Go
/// fields have no JSON names): `{"Path":"/x","Verb":"get"}`.
fn non_resource_repr(n: &Value) -> String {
    go_json(&json!({"Path": str_of(n, "path"), "Verb": str_of(n, "verb")}))
}

fn validate(review: Review, obj: &Value) -> Vec<FieldError> {
    let null = Value::Null;
    let spec = obj.get("spec").unwrap_or(&null);
    let meta = obj.get("metadata").unwrap_or(&null);
    let resource = spec.get("resourceAttributes");
    let non_resource = spec.get("nonResourceAttributes");
    let mut errs = Vec::new();
    // ValidateSubjectAccessReviewSpec / ValidateSelfSubjectAccessReviewSpec.
    match (resource, non_resource) {
        (Some(_), Some(n)) => errs.push(FieldError::invalid_repr(
            "spec.nonResourceAttributes",
            non_resource_repr(n),
            "cannot be specified in combination with resourceAttributes",
        )),
        (None, None) => errs.push(FieldError::invalid(
            "spec.resourceAttributes",
            Value::Null,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )),
        _ => {}
    }
    if review != Review::SelfSubjectAccess
        && str_of(spec, "user").is_empty()
        && strings_of(spec, "groups").is_empty()
    {
        errs.push(FieldError::invalid(
            "spec.user",
            str_of(spec, "user"),
            "at least one of user or group must be specified",
        ));
    }
    if let Some(r) = resource {
        errs.extend(validate_resource_attributes(r));
    }
    // ObjectMeta: empty but for managedFields (and, locally, the namespace).
    let mut rest = meta.as_object().cloned().unwrap_or_default();
    rest.shift_remove("managedFields");
    if review == Review::LocalSubjectAccess {
        rest.shift_remove("namespace");
    }
    if !rest.is_empty() {
        let detail = if review == Review::LocalSubjectAccess {
            "must be empty except for namespace"
        } else {
            "must be empty"
        };
        errs.push(FieldError::invalid_repr("metadata", go_json(meta), detail));
    }
    if review == Review::LocalSubjectAccess {
        if let Some(r) = resource
            && str_of(r, "namespace") != str_of(meta, "namespace")
        {
            errs.push(FieldError::invalid(
                "spec.resourceAttributes.namespace",
                str_of(r, "namespace"),
                "must match metadata.namespace",
            ));
        }
        if let Some(n) = non_resource {
            errs.push(FieldError::invalid_repr(
                "spec.nonResourceAttributes",
                non_resource_repr(n),
                "disallowed on this kind of request",
            ));
        }
    }
    errs
}

/// `validateResourceAttributes`: the field and label selectors.
fn validate_resource_attributes(r: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, label) in [("fieldSelector", false), ("labelSelector", true)] {
        let Some(sel) = r.get(k) else { continue };
        let path = format!("spec.resourceAttributes.{k}");
        let raw = str_of(sel, "rawSelector");
        let reqs = sel
            .get("requirements")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !raw.is_empty() && !reqs.is_empty() {
            errs.push(FieldError::invalid(
                child(&path, "rawSelector"),
                raw,
                "may not specified at the same time as requirements",
            ));
        }
        if raw.is_empty() && reqs.is_empty() {
            errs.push(FieldError::required(
                child(&path, "requirements"),
                format!("when {path} is specified, requirements or rawSelector is required"),
            ));
        }
        for (i, req) in reqs.iter().enumerate() {
            let p = index(&child(&path, "requirements"), i);
            if label {
                errs.extend(validate_label_requirement(req, &p));
            } else {
                errs.extend(validate_field_requirement(req, &p));
            }
        }
    }
    errs
}

/// The operator's value count (`ValidateLabelSelectorRequirement` and
/// `ValidateFieldSelectorRequirement` with unknown operators allowed).
fn operator_values(req: &Value, path: &str) -> Option<FieldError> {
    let values = strings_of(req, "values");
    match str_of(req, "operator") {
        "In" | "NotIn" if values.is_empty() => Some(FieldError::required(
            child(path, "values"),
            "must be specified when `operator` is 'In' or 'NotIn'",
        )),
        "Exists" | "DoesNotExist" if !values.is_empty() => Some(FieldError::forbidden(
            child(path, "values"),
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        )),
        _ => None,
    }
}

/// `metav1validation.ValidateLabelSelectorRequirement`.
fn validate_label_requirement(req: &Value, path: &str) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = operator_values(req, path).into_iter().collect();
    errs.extend(validate_label_name(str_of(req, "key"), &child(path, "key")));
    for (i, v) in strings_of(req, "values").iter().enumerate() {
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(
                index(&child(path, "values"), i),
                v.as_str(),
                msg,
            ));
        }
    }
    errs
}

/// `metav1validation.ValidateFieldSelectorRequirement`.
fn validate_field_requirement(req: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if str_of(req, "key").is_empty() {
        errs.push(FieldError::required(
            child(path, "key"),
            "must be specified",
        ));
    }
    errs.extend(operator_values(req, path));
    errs
}

/// `errors.NewInvalid(authorizationapi.Kind(""), "", errs)`.
fn invalid(errs: &[FieldError]) -> ApiError {
    ApiError {
        code: 422,
        reason: "Invalid",
        message: invalid_status_message(&qualified_kind(GROUP, ""), "", errs),
        details: Some(json!({
            "group": GROUP,
            "causes": errs.iter().map(FieldError::to_cause).collect::<Vec<_>>(),
        })),
    }
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// `AuthorizationAttributesFrom`'s user: the spec's.
fn subject_of(spec: &Value) -> UserInfo {
    let mut extra = std::collections::BTreeMap::new();
    if let Some(m) = spec.get("extra").and_then(Value::as_object) {
        for (k, v) in m {
            let vals = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| s.as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            extra.insert(k.clone(), vals);
        }
    }
    UserInfo {
        name: str_of(spec, "user").to_string(),
        uid: str_of(spec, "uid").to_string(),
        groups: strings_of(spec, "groups"),
        extra,
    }
}

/// `ResourceAttributesFrom` / `NonResourceAttributesFrom`.
fn attributes(user: UserInfo, spec: &Value) -> Attributes {
    if let Some(r) = spec.get("resourceAttributes") {
        let version = str_of(r, "version");
        return Attributes {
            user,
            verb: str_of(r, "verb").to_string(),
            resource_request: true,
            path: String::new(),
            api_group: str_of(r, "group").to_string(),
            // matchAllVersionIfEmpty
            api_version: if version.is_empty() { "*" } else { version }.to_string(),
            resource: str_of(r, "resource").to_string(),
            subresource: str_of(r, "subresource").to_string(),
            namespace: str_of(r, "namespace").to_string(),
            name: str_of(r, "name").to_string(),
        };
    }
    let null = Value::Null;
    let n = spec.get("nonResourceAttributes").unwrap_or(&null);
    Attributes {
        user,
        verb: str_of(n, "verb").to_string(),
        resource_request: false,
        path: str_of(n, "path").to_string(),
        ..Default::default()
    }
}

/// Whether a selector's requirements parse: `None` if no error, else
/// whether some requirement was kept (`Some(true)`: partially ignored).
fn field_selector_parse(sel: &Value) -> Option<bool> {
    let raw = str_of(sel, "rawSelector");
    let reqs = sel
        .get("requirements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !reqs.is_empty() {
        // fieldSelectorAsSelector
        let mut kept = 0;
        let mut failed = false;
        for r in &reqs {
            let n = strings_of(r, "values").len();
            match str_of(r, "operator") {
                "In" | "NotIn" if n == 1 => kept += 1,
                _ => failed = true,
            }
        }
        return failed.then_some(kept > 0);
    }
    if !raw.is_empty() && fields::parse(raw).is_err() {
        return Some(false);
    }
    None
}

fn label_selector_parse(sel: &Value) -> Option<bool> {
    let raw = str_of(sel, "rawSelector");
    let reqs = sel
        .get("requirements")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !reqs.is_empty() {
        // labelSelectorAsSelector
        let mut kept = 0;
        let mut failed = false;
        for r in &reqs {
            let op = match str_of(r, "operator") {
                "In" => labels::Operator::In,
                "NotIn" => labels::Operator::NotIn,
                "Exists" => labels::Operator::Exists,
                "DoesNotExist" => labels::Operator::DoesNotExist,
                _ => {
                    failed = true;
                    continue;
                }
            };
            match labels::Requirement::new(str_of(r, "key"), op, strings_of(r, "values")) {
                Ok(_) => kept += 1,
                Err(_) => failed = true,
            }
        }
        return failed.then_some(kept > 0);
    }
    if !raw.is_empty() && labels::parse(raw).is_err() {
        return Some(false);
    }
    None
}

/// `BuildEvaluationError` without an authorizer error (none of the modes
/// returns one): the selectors that were (partially) ignored.
fn selector_errors(spec: &Value) -> String {
    let Some(r) = spec.get("resourceAttributes") else {
        return String::new();
    };
    let mut out = Vec::new();
    type Parse = fn(&Value) -> Option<bool>;
    let checks: [(&str, Parse); 2] = [
        ("fieldSelector", field_selector_parse),
        ("labelSelector", label_selector_parse),
    ];
    for (k, parse) in checks {
        match r.get(k).and_then(parse) {
            Some(true) => out.push(format!(
                "spec.resourceAttributes.{k} partially ignored due to parse error"
            )),
            Some(false) => out.push(format!(
                "spec.resourceAttributes.{k} ignored due to parse error"
            )),
            None => {}
        }
    }
    out.join("; ")
}

/// A SelfSubjectRulesReview: the requester's rules in `spec.namespace`,
/// split as `RBACAuthorizer.RulesFor` does (a rule naming resources is a
/// resource rule, one naming URLs a non-resource rule).
async fn rules_review(state: &AppState, obj: &Value, user: &UserInfo) -> Result<Value, ApiError> {
    let namespace = obj
        .pointer("/spec/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if namespace.is_empty() {
        return Err(ApiError::bad_request("no namespace on request"));
    }
    if state.authorizer.uses_policy() {
        state.policy.catch_up().await;
    }
    let (rules, errs, incomplete) = state.authorizer.rules_for(user, namespace);
    let list = |v: &[String]| -> Value {
        if v.is_empty() {
            Value::Null
        } else {
            Value::from(v.to_vec())
        }
    };
    let mut resource_rules = Vec::new();
    let mut non_resource_rules = Vec::new();
    for PolicyRule {
        verbs,
        api_groups,
        resources,
        resource_names,
        non_resource_urls,
    } in &rules
    {
        if !resources.is_empty() {
            let mut m = Map::new();
            m.insert("verbs".into(), list(verbs));
            put_strings(&mut m, "apiGroups", api_groups.clone());
            put_strings(&mut m, "resources", resources.clone());
            put_strings(&mut m, "resourceNames", resource_names.clone());
            resource_rules.push(Value::Object(m));
        }
        if !non_resource_urls.is_empty() {
            let mut m = Map::new();
            m.insert("verbs".into(), list(verbs));
            put_strings(&mut m, "nonResourceURLs", non_resource_urls.clone());
            non_resource_rules.push(Value::Object(m));
        }
    }
    let mut status = Map::new();
    status.insert("resourceRules".into(), Value::Array(resource_rules));
    status.insert("nonResourceRules".into(), Value::Array(non_resource_rules));
    status.insert("incomplete".into(), Value::Bool(incomplete));
    put_str(&mut status, "evaluationError", &aggregate_message(&errs));
    Ok(json!({
        "kind": Review::SelfSubjectRules.kind(),
        "apiVersion": API_VERSION,
        "metadata": {},
        "spec": {},
        "status": Value::Object(status),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_form_drops_unknown_and_zero_fields_in_go_order() {
        let obj = json!({
            "metadata": {"labels": {}, "name": "", "generation": 0},
            "spec": {
                "uid": "u", "user": "bob", "groups": [], "extra": {"b": ["2"], "a": null},
                "resourceAttributes": {"name": "n", "verb": "get", "unknown": 1,
                    "fieldSelector": {"requirements": [{"operator": "In"}]}},
                "other": true,
            },
            "status": {"allowed": false, "reason": "r"},
        });
        assert_eq!(
            typed_object(Review::SubjectAccess, &obj).to_string(),
            r#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","metadata":{},"spec":{"resourceAttributes":{"verb":"get","name":"n","fieldSelector":{"requirements":[{"key":"","operator":"In"}]}},"user":"bob","extra":{"a":null,"b":["2"]},"uid":"u"},"status":{"allowed":false,"reason":"r"}}"#
        );
    }

    #[test]
    fn selector_parse_errors_are_upstreams() {
        let spec = |r: Value| json!({"resourceAttributes": r});
        assert_eq!(
            selector_errors(&spec(json!({"fieldSelector": {"rawSelector": "***foo"},
                "labelSelector": {"rawSelector": "***foo"}}))),
            "spec.resourceAttributes.fieldSelector ignored due to parse error; spec.resourceAttributes.labelSelector ignored due to parse error"
        );
        assert_eq!(
            selector_errors(&spec(json!({"fieldSelector": {"requirements": [
                {"key": "a", "operator": "In", "values": ["x"]},
                {"key": "b", "operator": "Exists"}]}}))),
            "spec.resourceAttributes.fieldSelector partially ignored due to parse error"
        );
        assert_eq!(
            selector_errors(&spec(json!({"labelSelector": {"requirements": [
                {"key": "b", "operator": "Fake", "values": ["y"]}]}}))),
            "spec.resourceAttributes.labelSelector ignored due to parse error"
        );
        assert_eq!(
            selector_errors(&spec(
                json!({"fieldSelector": {"rawSelector": "spec.nodeName=n1"},
                "labelSelector": {"rawSelector": "a in (b)"}})
            )),
            ""
        );
    }
}
