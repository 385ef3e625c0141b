//! One handler per verb (upstream: `apiserver/pkg/endpoints/handlers/`):
//! decode the request, call the registry store, encode the answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;

use super::negotiate::{self, MAX_BODY, Output};
use super::request::{ResourceRequest, Route, Verb};
use super::{AppState, Query, bytes_response, discovery, error_response, json_response};
use crate::apimachinery::status::ApiError;
use crate::auth::UserInfo;
use crate::registry::handler::{ResourceHandler, SubresourceHandler};
use crate::registry::store::{
    DeleteOptions, FieldValidation, ListParams, PatchType, WatchEvent, WatchOptions, WriteCheck,
    WriteOptions, WriteResult,
};

pub async fn handle(
    state: Arc<AppState>,
    route: Route,
    query: Query,
    user: UserInfo,
    req: Request,
) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(e) = discovery_not_acceptable(&route, accept.as_deref()) {
        return error_response(&e);
    }
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match route {
        Route::LegacyGroups => match discovery::aggregated_version(accept.as_deref()) {
            Some(v) => aggregated(
                discovery::aggregated(&state.store.registry().snapshot(), true, v),
                v,
                if_none_match.as_deref(),
            ),
            None => json_response(
                StatusCode::OK,
                &discovery::api_versions(&state.server_address),
            ),
        },
        Route::Groups => match discovery::aggregated_version(accept.as_deref()) {
            Some(v) => aggregated(
                discovery::aggregated(&state.store.registry().snapshot(), false, v),
                v,
                if_none_match.as_deref(),
            ),
            None => json_response(
                StatusCode::OK,
                &discovery::api_group_list(&state.store.registry().snapshot()),
            ),
        },
        Route::Group(g) => match discovery::api_group(&state.store.registry().snapshot(), &g) {
            Some(doc) => json_response(StatusCode::OK, &doc),
            None => error_response(&ApiError::path_not_found()),
        },
        Route::GroupVersion(g, v) => {
            match discovery::api_resource_list(&state.store.registry().snapshot(), &g, &v) {
                Some(doc) => json_response(StatusCode::OK, &doc),
                None => error_response(&ApiError::path_not_found()),
            }
        }
        Route::Resource(rr) => match resource(state, rr, query, accept, req, &user).await {
            Ok(r) => r,
            Err(e) => error_response(&e),
        },
    }
}

/// Discovery answers JSON, YAML or protobuf; anything else is 406, in the
/// older message form for `/apis` and `/apis/<group>` as upstream.
fn discovery_not_acceptable(route: &Route, accept: Option<&str>) -> Option<ApiError> {
    const TYPES: [&str; 3] = [
        "application/json",
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
    ];
    if matches!(route, Route::Resource(_)) || negotiate::accepts_any(accept, &TYPES) {
        return None;
    }
    Some(match route {
        Route::Groups | Route::Group(_) => {
            ApiError::not_acceptable_media_types(negotiate::REPRESENTATIONS)
        }
        _ => ApiError::not_acceptable(negotiate::REPRESENTATIONS),
    })
}

/// Aggregated discovery with upstream's caching headers: the `ETag` is the
/// quoted upper-case hex SHA-512 of the document, and a matching
/// `If-None-Match` is answered 304 (`endpoints/discovery/aggregated/etag.go`),
/// so clients that poll (the garbage collector every 2 s) move no body.
fn aggregated(doc: Value, v: &str, if_none_match: Option<&str>) -> Response {
    let body = serde_json::to_vec(&doc).unwrap_or_default();
    let etag = format!("\"{}\"", crate::openapi::sha512_hex_upper(&body));
    let mut r = if if_none_match == Some(etag.as_str()) {
        let mut r = bytes_response(StatusCode::NOT_MODIFIED, Vec::new(), "");
        r.headers_mut().remove(header::CONTENT_TYPE);
        r
    } else {
        bytes_response(StatusCode::OK, body, &discovery::aggregated_content_type(v))
    };
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public"));
    if let Ok(e) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, e);
    }
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    r
}

async fn read_body(req: Request) -> Result<(Option<String>, Bytes), ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY
    {
        return Err(ApiError::too_large(MAX_BODY));
    }
    let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    match limited.collect().await {
        Ok(c) => Ok((ct, c.to_bytes())),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(ApiError::too_large(MAX_BODY))
            } else {
                Err(ApiError::bad_request(format!(
                    "error reading the request body: {e}"
                )))
            }
        }
    }
}

fn write_options(q: &Query, user_agent: Option<&str>) -> Result<WriteOptions, ApiError> {
    let dry_run = match q.get("dryRun") {
        None | Some("") => false,
        Some("All") => true,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dry run value: {v}: supported values: \"All\""
            )));
        }
    };
    let field_validation = match q.get("fieldValidation") {
        None | Some("") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some("Warn") => FieldValidation::Warn,
        Some("Strict") => FieldValidation::Strict,
        Some(v) => {
            return Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{v}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            )));
        }
    };
    // Upstream's default manager: the User-Agent up to its first `/`.
    let field_manager = match q.get("fieldManager").filter(|m| !m.is_empty()) {
        Some(m) => {
            if m.len() > 128 || m.chars().any(|c| c.is_control()) {
                return Err(ApiError::invalid_patch(&format!(
                    "fieldManager: Invalid value: \"{m}\": must be at most 128 printable characters"
                )));
            }
            m.to_string()
        }
        None => user_agent
            .and_then(|ua| ua.split('/').next())
            .map(|p| p.chars().take(128).collect::<String>())
            .unwrap_or_default(),
    };
    Ok(WriteOptions {
        dry_run,
        field_validation,
        field_manager,
        force: q.flag("force"),
        applying: false,
        escalation: None,
    })
}

/// RBAC escalation prevention for a write of a role or binding (upstream's
/// `policybased` storages): what the store must check, or `None` when the
/// resource is not guarded, the user is in `system:masters`, or (for a
/// role) may `escalate` it.
async fn escalation_check(
    state: &AppState,
    rr: &ResourceRequest,
    user: &UserInfo,
) -> Option<Arc<dyn WriteCheck>> {
    use crate::auth::escalation::{self, Guarded};
    if rr.subresource.is_some() || rr.res.custom.is_some() {
        return None;
    }
    let guarded = Guarded::of(&rr.res.group, &rr.res.plural)?;
    if escalation::escalation_allowed(user) || state.authorizer.always_allows() {
        return None;
    }
    // The user's rules and grants are read from the policy: it must have
    // seen every write made before this one.
    state.policy.catch_up().await;
    let ns = if rr.res.namespaced {
        rr.namespace.as_deref().unwrap_or("default")
    } else {
        ""
    };
    let name = rr.name.as_deref().unwrap_or("");
    if escalation::role_escalation_authorized(&state.authorizer, user, guarded, ns, name) {
        return None;
    }
    Some(Arc::new(escalation::Check::new(
        state.authorizer.clone(),
        user.clone(),
        guarded,
        ns,
    )))
}

fn list_params(q: &Query) -> Result<ListParams, ApiError> {
    let limit = match q.get("limit") {
        None | Some("") => 0,
        Some(l) => l.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!(
                "limit: Invalid value: \"{l}\": must be a non-negative integer"
            ))
        })?,
    };
    Ok(ListParams {
        label_selector: q.get("labelSelector").map(str::to_string),
        field_selector: q.get("fieldSelector").map(str::to_string),
        limit: limit.max(0) as usize,
        continue_token: q
            .get("continue")
            .filter(|c| !c.is_empty())
            .map(str::to_string),
        resource_version: q.get("resourceVersion").map(str::to_string),
        resource_version_match: q
            .get("resourceVersionMatch")
            .filter(|m| !m.is_empty())
            .map(str::to_string),
    })
}

/// Sends an object back in the negotiated encoding.
fn respond(
    status: StatusCode,
    obj: &Value,
    output: Output,
    rr: &ResourceRequest,
    warnings: &[String],
) -> Response {
    let converted;
    let body = match output {
        Output::Table(inc) if rr.subresource.is_none() => {
            converted = negotiate::to_table(&rr.res, std::slice::from_ref(obj), None, inc);
            &converted
        }
        Output::Metadata | Output::MetadataList if rr.subresource.is_none() => {
            if let Some(e) = negotiate::metadata_mismatch(output, &rr.res, false) {
                return error_response(&e);
            }
            converted = negotiate::to_partial(obj);
            &converted
        }
        // Encoded as it is: no copy.
        _ => obj,
    };
    let (bytes, ct) = negotiate::encode(body, output);
    let mut r = bytes_response(status, bytes, ct);
    add_warnings(&mut r, warnings);
    r
}

fn add_warnings(r: &mut Response, warnings: &[String]) {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            r.headers_mut().append("warning", v);
        }
    }
}

async fn resource(
    state: Arc<AppState>,
    rr: ResourceRequest,
    q: Query,
    accept: Option<String>,
    req: Request,
    user: &UserInfo,
) -> Result<Response, ApiError> {
    let store = &state.store;
    let ns = rr.namespace.clone();
    let ns = ns.as_deref();
    let name = rr.name.clone().unwrap_or_default();
    let sub = rr.subresource;
    let table_ok = matches!(rr.verb, Verb::Get | Verb::List | Verb::Watch) && sub.is_none();
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let watchable = matches!(rr.verb, Verb::List | Verb::Watch);
    let output = negotiate::negotiate(accept.as_deref(), q.get("includeObject"), table_ok, watchable).inspect_err(|_| {
        tracing::debug!(accept = ?accept, resource = rr.res.plural.as_str(), verb = rr.verb.as_str(), "not acceptable");
    })?;
    // Resources that are not stored are served by their own handler.
    match rr.res.handler {
        ResourceHandler::Store => {}
        ResourceHandler::TokenReview
        | ResourceHandler::SelfSubjectReview
        | ResourceHandler::LocalSubjectAccessReview
        | ResourceHandler::SelfSubjectAccessReview
        | ResourceHandler::SelfSubjectRulesReview
        | ResourceHandler::SubjectAccessReview => {
            return review(&state, &rr, &q, user_agent.as_deref(), req, user, output).await;
        }
    }
    match rr.verb {
        Verb::Get => {
            // A get "not older than" a future revision waits for it.
            if let Some(r) = q
                .get("resourceVersion")
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|r| *r > 0)
            {
                store.wait_for_revision(r).await?;
            }
            let recent = q
                .get("resourceVersion")
                .is_some_and(|v| v.parse::<u64>().is_ok());
            let obj = store.get_with(&rr.res, ns, &name, recent).await?;
            let obj = match sub {
                None | Some(SubresourceHandler::Status) => obj,
                // A merge patch with no change returns the Scale view.
                Some(SubresourceHandler::Scale) => {
                    store
                        .patch(
                            &rr.res,
                            ns,
                            &name,
                            sub,
                            PatchType::Merge,
                            b"{}",
                            &WriteOptions::default(),
                        )
                        .await?
                        .object
                }
                // Not readable (routing serves them no get).
                Some(
                    SubresourceHandler::Binding
                    | SubresourceHandler::Token
                    | SubresourceHandler::Eviction
                    | SubresourceHandler::Finalize,
                ) => return Err(ApiError::method_not_allowed()),
            };
            Ok(respond(
                StatusCode::OK,
                &with_type(obj, &rr),
                output,
                &rr,
                &[],
            ))
        }
        Verb::List => {
            let raw = store.list_raw(&rr.res, ns, &list_params(&q)?).await?;
            if output == Output::Json {
                return Ok(bytes_response(
                    StatusCode::OK,
                    raw.to_json(),
                    "application/json",
                ));
            }
            let list = raw.to_value()?;
            let body = match output {
                Output::Table(inc) => {
                    let items = list
                        .get("items")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    negotiate::to_table(&rr.res, &items, list.get("metadata"), inc)
                }
                Output::Metadata | Output::MetadataList => {
                    if let Some(e) = negotiate::metadata_mismatch(output, &rr.res, true) {
                        return Err(e);
                    }
                    negotiate::to_partial_list(&list)
                }
                _ => list,
            };
            let (bytes, ct) = negotiate::encode(&body, output);
            Ok(bytes_response(StatusCode::OK, bytes, ct))
        }
        Verb::Watch => watch(state.clone(), rr, q, output).await,
        Verb::Create => {
            let opts = write_options(&q, user_agent.as_deref())?;
            let (ct, body) = read_body(req).await?;
            if sub == Some(SubresourceHandler::Eviction) {
                let obj = decode_object("Eviction", ct.as_deref(), &body)?;
                let request =
                    crate::registry::eviction::decode(&obj, ns, &name, opts.dry_run, |v| {
                        let o = delete_options(v)?;
                        validate_propagation_policy(o.propagation_policy.as_deref())?;
                        Ok(o)
                    })?;
                let status =
                    crate::registry::eviction::evict(store, ns, &name, &request, &opts).await?;
                return Ok(json_response(StatusCode::CREATED, &status));
            }
            let obj = decode_object(&rr.res.kind, ct.as_deref(), &body)?;
            match sub {
                None => {}
                // Served above.
                Some(SubresourceHandler::Eviction) => {}
                Some(SubresourceHandler::Token) => {
                    let out =
                        super::authn::token_request(&state, ns.unwrap_or("default"), &name, &obj)
                            .await?;
                    return Ok(json_response(StatusCode::CREATED, &out));
                }
                Some(SubresourceHandler::Binding) => {
                    let status = store.bind(ns, &name, &obj, &opts).await?;
                    return Ok(json_response(StatusCode::CREATED, &status));
                }
                // Nothing is created through them (routing serves them no create).
                Some(
                    SubresourceHandler::Status
                    | SubresourceHandler::Scale
                    | SubresourceHandler::Finalize,
                ) => return Err(ApiError::method_not_allowed()),
            }
            let WriteResult {
                object, warnings, ..
            } = {
                let dups = duplicates(&rr, &opts, ct.as_deref(), &body)?;
                let opts = WriteOptions {
                    escalation: escalation_check(&state, &rr, user).await,
                    ..opts
                };
                let mut r = store.create(&rr.res, ns, obj, &opts).await?;
                r.warnings.extend(dups);
                r
            };
            Ok(respond(
                StatusCode::CREATED,
                &object,
                output,
                &rr,
                &warnings,
            ))
        }
        Verb::Update => {
            let opts = write_options(&q, user_agent.as_deref())?;
            let (ct, body) = read_body(req).await?;
            let obj = decode_object(&rr.res.kind, ct.as_deref(), &body)?;
            let dups = duplicates(&rr, &opts, ct.as_deref(), &body)?;
            let opts = WriteOptions {
                escalation: escalation_check(&state, &rr, user).await,
                ..opts
            };
            let mut res = store.update(&rr.res, ns, &name, sub, obj, &opts).await?;
            res.warnings.extend(dups);
            let code = if res.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(respond(code, &res.object, output, &rr, &res.warnings))
        }
        Verb::Patch => {
            let opts = write_options(&q, user_agent.as_deref())?;
            let (ct, body) = read_body(req).await?;
            let opts = WriteOptions {
                escalation: escalation_check(&state, &rr, user).await,
                ..opts
            };
            let essence = negotiate::content_type_essence(ct.as_deref());
            if essence == "application/apply-patch+yaml" {
                if q.get("fieldManager").is_none_or(str::is_empty) {
                    return Err(ApiError::invalid_patch(
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    ));
                }
                let applied = negotiate::decode_yaml(&body)?;
                let res = store.apply(&rr.res, ns, &name, sub, applied, &opts).await?;
                let code = if res.created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                return Ok(respond(
                    code,
                    &with_type(res.object, &rr),
                    output,
                    &rr,
                    &res.warnings,
                ));
            }
            if opts.force {
                return Err(ApiError::invalid_patch(
                    "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
                ));
            }
            let patch_type = match essence.as_str() {
                "application/json-patch+json" => PatchType::Json,
                "application/merge-patch+json" => PatchType::Merge,
                "application/strategic-merge-patch+json" => PatchType::StrategicMerge,
                _ => {
                    return Err(ApiError::unsupported_media_type(&[
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/strategic-merge-patch+json",
                    ]));
                }
            };
            // Patches may be written in YAML too (YAML is a superset of JSON).
            let body = if serde_json::from_slice::<Value>(&body).is_err() {
                match negotiate::decode_yaml(&body) {
                    Ok(v) => Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
                    Err(_) => body,
                }
            } else {
                body
            };
            let res = store
                .patch(&rr.res, ns, &name, sub, patch_type, &body, &opts)
                .await?;
            Ok(respond(
                StatusCode::OK,
                &with_type(res.object, &rr),
                output,
                &rr,
                &res.warnings,
            ))
        }
        Verb::Delete | Verb::DeleteCollection => {
            let (ct, body) = read_body(req).await?;
            let mut opts = DeleteOptions::default();
            if !body.is_empty() {
                let v = negotiate::decode_body(ct.as_deref(), &body)?;
                opts = delete_options(&v)?;
            }
            if let Some(p) = q.get("propagationPolicy") {
                opts.propagation_policy = Some(p.to_string());
            }
            validate_propagation_policy(opts.propagation_policy.as_deref())?;
            if let Some(g) = q.get("gracePeriodSeconds") {
                opts.grace_period_seconds = Some(g.parse().map_err(|_| {
                    ApiError::bad_request(format!("gracePeriodSeconds: Invalid value: \"{g}\""))
                })?);
            }
            opts.dry_run |= write_options(&q, user_agent.as_deref())?.dry_run;
            let out = if rr.verb == Verb::Delete {
                store.delete(&rr.res, ns, &name, &opts).await?
            } else {
                store
                    .delete_collection(&rr.res, ns, &list_params(&q)?, &opts)
                    .await?
            };
            let out = if out.get("kind").and_then(Value::as_str) == Some("Status") {
                out
            } else {
                with_type(out, &rr)
            };
            let is_status = out.get("kind").and_then(Value::as_str) == Some("Status");
            let (out, output) = match output {
                Output::Yaml => (out, Output::Yaml),
                Output::Metadata | Output::MetadataList if !is_status => {
                    let is_list = rr.verb == Verb::DeleteCollection;
                    if let Some(e) = negotiate::metadata_mismatch(output, &rr.res, is_list) {
                        return Err(e);
                    }
                    let partial = if is_list {
                        negotiate::to_partial_list(&out)
                    } else {
                        negotiate::to_partial(&out)
                    };
                    (partial, Output::Json)
                }
                _ => (out, Output::Json),
            };
            let (bytes, ct) = negotiate::encode(&out, output);
            Ok(bytes_response(StatusCode::OK, bytes, ct))
        }
    }
}

/// A `DeleteOptions` body (of a DELETE, or an Eviction's `deleteOptions`)
/// as the store takes it.
fn delete_options(v: &Value) -> Result<DeleteOptions, ApiError> {
    let mut opts = DeleteOptions {
        grace_period_seconds: v.get("gracePeriodSeconds").and_then(Value::as_i64),
        ..DeleteOptions::default()
    };
    opts.precondition_uid = v
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        .map(str::to_string);
    opts.precondition_resource_version = v
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string);
    opts.propagation_policy = v
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string);
    if opts.propagation_policy.is_none() {
        // The deprecated `orphanDependents`.
        match v.get("orphanDependents").and_then(Value::as_bool) {
            Some(true) => opts.propagation_policy = Some("Orphan".into()),
            Some(false) => opts.propagation_policy = Some("Background".into()),
            None => {}
        }
    }
    if v.get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|d| d.iter().any(|x| x == "All"))
    {
        opts.dry_run = true;
    }
    Ok(opts)
}

/// A resource that is not stored (`authentication.k8s.io` and
/// `authorization.k8s.io` reviews): create is answered by its handler and
/// nothing is kept (upstream's
/// `pkg/registry/authentication/{tokenreview,selfsubjectreview}/storage`,
/// `pkg/registry/authorization/*/rest.go`).
async fn review(
    state: &Arc<AppState>,
    rr: &ResourceRequest,
    q: &Query,
    user_agent: Option<&str>,
    req: Request,
    user: &UserInfo,
    output: Output,
) -> Result<Response, ApiError> {
    if rr.verb != Verb::Create || rr.subresource.is_some() {
        return Err(ApiError::method_not_allowed());
    }
    let opts = write_options(q, user_agent)?;
    let (ct, body) = read_body(req).await?;
    let obj = decode_object(&rr.res.kind, ct.as_deref(), &body)?;
    let out = match rr.res.handler {
        ResourceHandler::TokenReview => super::authn::token_review(state, &obj).await?,
        ResourceHandler::SelfSubjectReview => super::authn::self_subject_review(user),
        ResourceHandler::LocalSubjectAccessReview
        | ResourceHandler::SelfSubjectAccessReview
        | ResourceHandler::SelfSubjectRulesReview
        | ResourceHandler::SubjectAccessReview => {
            let ns = rr.namespace.as_deref();
            let (out, warnings) =
                super::access_reviews::create(state, rr.res.handler, ns, &opts, obj, user).await;
            let mut r = match out {
                Ok(out) => {
                    let (bytes, ct) = negotiate::encode(&out, output);
                    bytes_response(StatusCode::CREATED, bytes, ct)
                }
                Err(e) => error_response(&e),
            };
            add_warnings(&mut r, &warnings);
            return Ok(r);
        }
        ResourceHandler::Store => return Err(ApiError::internal("stored resource in review")),
    };
    let (bytes, ct) = negotiate::encode(&out, output);
    Ok(bytes_response(StatusCode::CREATED, bytes, ct))
}

/// Decodes a create or update body. A body that is not an object, or whose
/// `apiVersion`/`kind` are not strings, fails as upstream's
/// `transformDecodeError` (`handlers/rest.go`) says: `the object provided is
/// unrecognized (must be of type Namespace): <error> (<summary>)`.
fn decode_object(kind: &str, content_type: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let unrecognized = |base: &str| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {kind}): {base} ({})",
            summarize_body(body)
        ))
    };
    let json_error = |e: &str| format!("couldn't get version/kind; json parse error: {e}");
    let v = match negotiate::content_type_essence(content_type).as_str() {
        "application/json" | "" => serde_json::from_slice::<Value>(body)
            .map_err(|e| unrecognized(&json_error(&go_syntax_error(body, &e))))?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => {
            negotiate::decode_yaml(body).map_err(|e| unrecognized(&e.message))?
        }
        _ => return negotiate::decode_body(content_type, body),
    };
    const TYPE_META: &str = "struct { APIVersion string \"json:\\\"apiVersion,omitempty\\\"\"; Kind string \"json:\\\"kind,omitempty\\\"\" }";
    let kind_of = |v: &Value| match v {
        Value::Array(_) => "array",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::Object(_) => "object",
        _ => "string",
    };
    match &v {
        Value::Object(m) => {
            for (k, f) in m {
                if (k == "apiVersion" || k == "kind") && !f.is_string() && !f.is_null() {
                    return Err(unrecognized(&json_error(&format!(
                        "json: cannot unmarshal {} into Go struct field .{k} of type string",
                        kind_of(f)
                    ))));
                }
            }
        }
        Value::Null => {}
        other => {
            return Err(unrecognized(&json_error(&format!(
                "json: cannot unmarshal {} into Go value of type {TYPE_META}",
                kind_of(other)
            ))));
        }
    }
    Ok(v)
}

/// Go's `encoding/json` syntax error for what serde_json failed on, as far
/// as it can be told: an empty or truncated body, or a bad first character.
fn go_syntax_error(body: &[u8], e: &serde_json::Error) -> String {
    if e.is_eof() || body.iter().all(u8::is_ascii_whitespace) {
        return "unexpected end of JSON input".into();
    }
    if let Some(&c) = body.iter().find(|c| !c.is_ascii_whitespace())
        && !matches!(
            c,
            b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n'
        )
    {
        let shown = match c {
            b'\'' => "'\\''".to_string(),
            b'"' => "'\"'".to_string(),
            c if c.is_ascii_graphic() || c == b' ' => format!("'{}'", c as char),
            c => format!("'\\x{c:02x}'"),
        };
        return format!("invalid character {shown} looking for beginning of value");
    }
    e.to_string()
}

/// `summarizeData(body, 30)` of `handlers/rest.go`: an object's first 30
/// bytes as text, anything else in hex.
fn summarize_body(body: &[u8]) -> String {
    const MAX: usize = 30;
    let cut = &body[..body.len().min(MAX)];
    let more = if body.len() > MAX { " ..." } else { "" };
    match body.first() {
        None => "<empty>".into(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(cut)),
        Some(_) => {
            let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
            format!("{hex}{more}")
        }
    }
}

/// `DeleteOptions.propagationPolicy` must be one of upstream's three
/// (`apimachinery/pkg/apis/meta/v1/validation` ValidateDeleteOptions), from
/// the body or the query.
fn validate_propagation_policy(p: Option<&str>) -> Result<(), ApiError> {
    match p {
        None | Some("Foreground" | "Background" | "Orphan") => Ok(()),
        Some(other) => Err(ApiError::invalid(
            "meta.k8s.io",
            "DeleteOptions",
            "",
            &[crate::apimachinery::validation::FieldError::not_supported(
                "propagationPolicy",
                other,
                &["Foreground", "Background", "Orphan", "nil"],
            )],
        )),
    }
}

/// Duplicate fields in a JSON body: an error for `fieldValidation=Strict`,
/// warnings for `Warn` (`handlers/rest.go`, strict JSON decoding).
fn duplicates(
    rr: &ResourceRequest,
    opts: &WriteOptions,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<String>, ApiError> {
    if opts.field_validation == FieldValidation::Ignore
        || !matches!(
            negotiate::content_type_essence(content_type).as_str(),
            "application/json" | ""
        )
    {
        return Ok(Vec::new());
    }
    let msgs: Vec<String> = negotiate::duplicate_fields(body)
        .into_iter()
        .map(|f| format!("duplicate field \"{f}\""))
        .collect();
    if msgs.is_empty() || opts.field_validation != FieldValidation::Strict {
        return Ok(msgs);
    }
    Err(ApiError::bad_request(format!(
        "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
        msgs.join(", "),
        kind = rr.res.kind,
        v = rr.res.version
    )))
}

/// Makes sure a single object carries its `apiVersion` and `kind`.
fn with_type(mut obj: Value, rr: &ResourceRequest) -> Value {
    if obj.get("kind").is_some() {
        return obj;
    }
    if let Some(m) = obj.as_object_mut() {
        let mut ordered = serde_json::Map::new();
        ordered.insert("kind".into(), Value::String(rr.res.kind.to_string()));
        ordered.insert(
            "apiVersion".into(),
            Value::String(rr.res.api_version().to_string()),
        );
        for (k, v) in std::mem::take(m) {
            ordered.insert(k, v);
        }
        *m = ordered;
    }
    obj
}

/// A watch: a chunked stream of `{"type": ..., "object": ...}` lines that
/// ends at `timeoutSeconds` or at shutdown.
async fn watch(
    state: Arc<AppState>,
    rr: ResourceRequest,
    q: Query,
    output: Output,
) -> Result<Response, ApiError> {
    let mut params = list_params(&q)?;
    if let Some(name) = &rr.name {
        // `GET .../pods/x?watch=1` (and the deprecated /watch/ form) watch one object.
        let sel = format!(
            "metadata.name={}",
            crate::apimachinery::fields::escape_value(name)
        );
        params.field_selector = Some(match params.field_selector.take() {
            Some(f) if !f.is_empty() => format!("{f},{sel}"),
            _ => sel,
        });
    }
    let timeout = match q.get("timeoutSeconds") {
        Some(t) => Duration::from_secs(t.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("timeoutSeconds: Invalid value: \"{t}\""))
        })?),
        // Upstream picks a random time between 30 and 60 minutes.
        None => Duration::from_secs(1800 + rand::random_range(0..1800)),
    };
    let wopts = WatchOptions {
        allow_bookmarks: q.flag("allowWatchBookmarks"),
        send_initial_events: match q.get("sendInitialEvents") {
            None | Some("") => None,
            Some("true") | Some("1") => Some(true),
            Some("false") | Some("0") => Some(false),
            Some(v) => {
                return Err(ApiError::bad_request(format!(
                    "sendInitialEvents: Invalid value: \"{v}\": must be true or false"
                )));
            }
        },
        ..WatchOptions::default()
    };
    let events = state
        .store
        .watch(&rr.res, rr.namespace.as_deref(), &params, &wopts)
        .await?;
    let res = rr.res;
    let mut shutdown = state.shutdown.clone();
    let deadline = tokio::time::sleep(timeout);
    let stop = async move {
        tokio::select! {
            _ = deadline => {},
            _ = async {
                // A dropped sender means "never shutting down".
                if shutdown.wait_for(|s| *s).await.is_err() {
                    std::future::pending::<()>().await;
                }
            } => {},
        }
    };
    let encode = move |ev: WatchEvent| -> Result<Bytes, Infallible> {
        if output == Output::Json
            && let Some(raw) = &ev.raw
        {
            // The object is JSON already: frame it.
            let mut line = Vec::with_capacity(raw.len() + 32);
            line.extend_from_slice(b"{\"type\":\"");
            line.extend_from_slice(ev.event_type.as_bytes());
            line.extend_from_slice(b"\",\"object\":");
            line.extend_from_slice(raw);
            line.extend_from_slice(b"}\n");
            return Ok(Bytes::from(line));
        }
        let event_type = ev.event_type;
        let object = ev.into_object();
        let object = match output {
            Output::Table(inc) if event_type != "ERROR" && event_type != "BOOKMARK" => {
                negotiate::to_table(&res, std::slice::from_ref(&object), None, inc)
            }
            Output::Metadata | Output::MetadataList if event_type != "ERROR" => {
                negotiate::to_partial(&object)
            }
            _ => with_kind(object, &res),
        };
        let mut line =
            serde_json::to_vec(&serde_json::json!({"type": event_type, "object": object}))
                .unwrap_or_default();
        line.push(b'\n');
        Ok(Bytes::from(line))
    };
    let stream = events.take_until(Box::pin(stop)).map(encode);
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}

fn with_kind(mut obj: Value, res: &crate::registry::served::Resource) -> Value {
    if obj.get("kind").is_none()
        && let Some(m) = obj.as_object_mut()
    {
        m.insert("kind".into(), Value::String(res.kind.to_string()));
        m.insert(
            "apiVersion".into(),
            Value::String(res.api_version().to_string()),
        );
    }
    obj
}
