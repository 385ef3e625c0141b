//! The custom-resource scenarios:
//!
//! - `custom-resources`: one CustomResourceDefinition with a schema of a few
//!   dozen fields and two CEL rules, then creates of ConfigMaps and of custom
//!   resources of about the same size, in the same run, and their ratio;
//! - `crds`: --count CRDs installed at once: time until all are
//!   `Established`, aggregated and legacy discovery, `/openapi/v3`, RSS, and
//!   the time until they are all gone again.
//!
//! Everything is created under groups ending in `.bench.ironkube.dev` with the
//! run id in them, and labelled `ironkube-bench=<run id>`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use super::client::{Client, Response};
use super::report::{BenchResult, Progress};
use super::scenarios::{IMAGE, cm_path, parallel};
use super::stats::Stats;
use super::{Ctx, LABEL, read_rss_kb};

/// Where CRDs live.
pub const CRD_PATH: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
/// The `Accept` of a client asking for aggregated discovery
/// (upstream: staging/src/k8s.io/client-go/discovery/discovery_client.go,
/// `AcceptV2`).
pub const AGGREGATED_ACCEPT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
/// The version every bench CRD serves.
pub const VERSION: &str = "v1";
/// How often state is polled (CRD conditions, lists, discovery).
const POLL: Duration = Duration::from_millis(100);

/// Names of one CRD.
#[derive(Clone, Debug, PartialEq)]
pub struct CrdNames {
    pub group: String,
    pub plural: String,
    pub kind: String,
}

impl CrdNames {
    /// `<plural>.<group>`, the CRD's own name.
    pub fn crd_name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }

    /// The collection path of its custom resources.
    pub fn collection(&self, ns: Option<&str>) -> String {
        match ns {
            Some(ns) => format!(
                "/apis/{}/{VERSION}/namespaces/{ns}/{}",
                self.group, self.plural
            ),
            None => format!("/apis/{}/{VERSION}/{}", self.group, self.plural),
        }
    }
}

/// The CRD of the `custom-resources` scenario.
pub fn widget_names(run_id: &str) -> CrdNames {
    CrdNames {
        group: format!("cr.{run_id}.bench.ironkube.dev"),
        plural: "benchwidgets".into(),
        kind: "BenchWidget".into(),
    }
}

/// The `i`-th CRD of the `crds` scenario.
pub fn gadget_names(run_id: &str, i: usize) -> CrdNames {
    CrdNames {
        group: format!("g{i}.{run_id}.bench.ironkube.dev"),
        plural: "gadgets".into(),
        kind: "Gadget".into(),
    }
}

fn int(min: i64, max: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max})
}

fn int_default(min: i64, max: i64, default: i64) -> Value {
    json!({"type": "integer", "minimum": min, "maximum": max, "default": default})
}

fn string(max_len: u64) -> Value {
    json!({"type": "string", "maxLength": max_len})
}

fn enum_of(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

/// The `custom-resources` CRD: namespaced, status subresource, 41 fields over
/// spec and status (patterns, enums, bounded integers, nested objects, a
/// `map` list and a `set` list, int-or-string, defaults) and two CEL rules.
pub fn widget_crd(run_id: &str, n: &CrdNames) -> Value {
    let spec = json!({
        "type": "object",
        "required": ["name", "image"],
        "x-kubernetes-validations": [
            {"rule": "self.minReplicas <= self.maxReplicas",
             "message": "minReplicas must not exceed maxReplicas"},
            {"rule": "self.name.startsWith('bench-')",
             "message": "name must start with bench-"}
        ],
        "properties": {
            "name": {"type": "string", "maxLength": 63,
                     "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "image": {"type": "string", "minLength": 1, "maxLength": 256},
            "mode": {"type": "string", "enum": ["Fast", "Safe", "Balanced"], "default": "Balanced"},
            "minReplicas": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 1000,
                            "default": 1},
            "maxReplicas": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 1000,
                            "default": 10},
            "paused": {"type": "boolean", "default": false},
            "priority": int(-100, 100),
            "owner": string(128),
            "selector": {"type": "object", "maxProperties": 16,
                         "additionalProperties": string(63)},
            "resources": {"type": "object", "properties": {
                "cpu": {"type": "string", "pattern": "^[0-9]+m?$"},
                "memory": {"type": "string", "pattern": "^[0-9]+(Ki|Mi|Gi)?$"},
                "gpus": int_default(0, 8, 0)
            }},
            "template": {"type": "object", "properties": {
                "tier": enum_of(&["frontend", "backend", "batch"]),
                "zone": string(32),
                "timeoutSeconds": int_default(1, 3600, 30),
                "retries": int_default(0, 10, 3),
                "strategy": {"type": "object", "properties": {
                    "type": {"type": "string", "enum": ["Recreate", "RollingUpdate"],
                             "default": "RollingUpdate"},
                    "maxSurge": {"x-kubernetes-int-or-string": true},
                    "maxUnavailable": {"x-kubernetes-int-or-string": true}
                }}
            }},
            "ports": {
                "type": "array", "maxItems": 16,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "required": ["name", "port"], "properties": {
                    "name": string(15),
                    "port": int(1, 65535),
                    "protocol": {"type": "string", "enum": ["TCP", "UDP", "SCTP"], "default": "TCP"}
                }}
            },
            "tags": {"type": "array", "maxItems": 32, "x-kubernetes-list-type": "set",
                     "items": string(64)}
        }
    });
    let status = json!({
        "type": "object",
        "properties": {
            "phase": enum_of(&["Pending", "Running", "Failed"]),
            "replicas": int(0, 1000),
            "readyReplicas": int(0, 1000),
            "observedGeneration": {"type": "integer", "format": "int64"},
            "message": string(1024),
            "conditions": {
                "type": "array", "maxItems": 8,
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
                "items": {"type": "object", "required": ["type", "status"], "properties": {
                    "type": string(64),
                    "status": enum_of(&["True", "False", "Unknown"]),
                    "reason": string(128),
                    "message": string(1024),
                    "lastTransitionTime": {"type": "string", "format": "date-time"}
                }}
            }
        }
    });
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": n.crd_name(), "labels": {LABEL: run_id}},
        "spec": {
            "group": n.group,
            "scope": "Namespaced",
            "names": {"plural": n.plural, "singular": n.kind.to_lowercase(), "kind": n.kind,
                      "listKind": format!("{}List", n.kind), "shortNames": ["bw"],
                      "categories": ["bench-ironkube"]},
            "versions": [{
                "name": VERSION, "served": true, "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Mode", "type": "string", "jsonPath": ".spec.mode"},
                    {"name": "Max", "type": "integer", "jsonPath": ".spec.maxReplicas"},
                    {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": spec,
                        "status": status
                    }
                }}
            }]
        }
    })
}

/// The `i`-th custom resource of the `custom-resources` scenario: valid
/// against [`widget_crd`], every spec field set.
pub fn widget_value(run_id: &str, n: &CrdNames, i: usize) -> Value {
    json!({
        "apiVersion": format!("{}/{VERSION}", n.group),
        "kind": n.kind,
        "metadata": {"name": format!("bench-cr-{i}"), "labels": {LABEL: run_id}},
        "spec": {
            "name": format!("bench-{i}"),
            "image": IMAGE,
            "mode": "Fast",
            "minReplicas": 1,
            "maxReplicas": 5 + (i % 10),
            "paused": false,
            "priority": (i % 100) as i64 - 50,
            "owner": "team-bench",
            "selector": {"app": "bench", "tier": "backend"},
            "resources": {"cpu": "250m", "memory": "64Mi", "gpus": 0},
            "template": {"tier": "backend", "zone": "zone-a", "timeoutSeconds": 30, "retries": 3,
                         "strategy": {"type": "RollingUpdate", "maxSurge": "25%",
                                      "maxUnavailable": 1}},
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                      {"name": "metrics", "port": 9090}],
            "tags": ["bench", "ironkube"]
        }
    })
}

pub fn widget_body(run_id: &str, n: &CrdNames, i: usize) -> Bytes {
    Bytes::from(widget_value(run_id, n, i).to_string())
}

/// A custom resource breaking both CEL rules (and nothing else).
pub fn widget_breaking_rules(run_id: &str, n: &CrdNames) -> Bytes {
    let mut v = widget_value(run_id, n, 0);
    v["metadata"]["name"] = json!("bench-cr-invalid");
    v["spec"]["name"] = json!("other-0");
    v["spec"]["minReplicas"] = json!(7);
    v["spec"]["maxReplicas"] = json!(3);
    Bytes::from(v.to_string())
}

/// A ConfigMap whose JSON body is `len` bytes long (or as short as it can be).
pub fn configmap_sized(run_id: &str, name: &str, len: usize) -> Bytes {
    let make = |pad: usize| {
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {LABEL: run_id}},
            "data": {"payload": "x".repeat(pad)}
        })
        .to_string()
    };
    let base = make(0).len();
    Bytes::from(make(len.saturating_sub(base)))
}

/// The `i`-th CRD of the `crds` scenario: a handful of fields; every third
/// has status and scale subresources, every other one printer columns,
/// every fourth is cluster-scoped.
pub fn gadget_crd(run_id: &str, i: usize) -> Value {
    let n = gadget_names(run_id, i);
    let mut version = json!({
        "name": VERSION, "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "replicas": int(0, 1000),
                "image": string(256),
                "size": enum_of(&["S", "M", "L"]),
                "enabled": {"type": "boolean", "default": true},
                "note": string(256)
            }},
            "status": {"type": "object", "properties": {
                "replicas": int(0, 1000),
                "selector": string(256),
                "phase": string(32)
            }}
        }}}
    });
    if i.is_multiple_of(3) {
        version["subresources"] = json!({
            "status": {},
            "scale": {"specReplicasPath": ".spec.replicas",
                      "statusReplicasPath": ".status.replicas",
                      "labelSelectorPath": ".status.selector"}
        });
    }
    if i.is_multiple_of(2) {
        version["additionalPrinterColumns"] = json!([
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Size", "type": "string", "jsonPath": ".spec.size"},
            {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1}
        ]);
    }
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": n.crd_name(), "labels": {LABEL: run_id}},
        "spec": {
            "group": n.group,
            "scope": if i % 4 == 3 { "Cluster" } else { "Namespaced" },
            "names": {"plural": n.plural, "singular": "gadget", "kind": n.kind,
                      "categories": ["bench-ironkube"]},
            "versions": [version]
        }
    })
}

/// The `status` of condition `ty` in `obj.status.conditions`.
pub fn condition_status<'a>(obj: &'a Value, ty: &str) -> Option<&'a str> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))?
        .get("status")?
        .as_str()
}

/// `reason: message` of condition `ty`, for error reports.
pub fn condition_text(obj: &Value, ty: &str) -> String {
    let c = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
        });
    let field = |k: &str| {
        c.and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!("{}: {}", field("reason"), field("message"))
}

/// In a CRD list: (items, items `Established=True`, names of items whose
/// `NamesAccepted` is False).
pub fn count_established(list: &Value) -> (usize, usize, Vec<String>) {
    let items = list
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let established = items
        .iter()
        .filter(|c| condition_status(c, "Established") == Some("True"))
        .count();
    let rejected = items
        .iter()
        .filter(|c| condition_status(c, "NamesAccepted") == Some("False"))
        .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    (items.len(), established, rejected)
}

/// Group names in an aggregated (`APIGroupDiscoveryList`: `items[].metadata.name`)
/// or legacy (`APIGroupList`: `groups[].name`) discovery document.
pub fn discovery_groups(doc: &Value) -> HashSet<String> {
    let pick = |list: &str, ptr: &str| -> Vec<String> {
        doc.get(list)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|g| g.pointer(ptr).and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    match doc.get("kind").and_then(Value::as_str) {
        Some("APIGroupDiscoveryList") => pick("items", "/metadata/name"),
        _ => pick("groups", "/name"),
    }
    .into_iter()
    .collect()
}

/// Paths (`apis/<group>/<version>`) listed in the `/openapi/v3` index.
pub fn openapi_paths(index: &Value) -> HashSet<String> {
    index
        .get("paths")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn body_text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).chars().take(300).collect()
}

/// POSTs a CRD; a 404 means the server does not serve CRDs at all.
async fn post_crd(client: &Client, crd: &Value) -> Result<()> {
    let r = client
        .send_json(Method::POST, CRD_PATH, Bytes::from(crd.to_string()))
        .await?;
    match r.status {
        s if (200..300).contains(&s) => Ok(()),
        404 => bail!(
            "this server does not serve apiextensions.k8s.io/v1 CustomResourceDefinitions \
             (POST {CRD_PATH}: HTTP 404)"
        ),
        s => bail!("POST {CRD_PATH}: HTTP {s}: {}", body_text(&r)),
    }
}

/// Polls one CRD until it is `Established`; fails at once on `NamesAccepted=False`.
async fn wait_established(ctx: &Ctx, name: &str) -> Result<u64> {
    let path = format!("{CRD_PATH}/{name}");
    let deadline = Instant::now() + ctx.timeout;
    let mut polls = 0u64;
    loop {
        polls += 1;
        let r = ctx.client.get(&path).await?;
        if r.ok() {
            let crd: Value = serde_json::from_slice(&r.body).context("decoding the CRD")?;
            if condition_status(&crd, "Established") == Some("True") {
                return Ok(polls);
            }
            if condition_status(&crd, "NamesAccepted") == Some("False") {
                bail!(
                    "CRD {name}: NamesAccepted=False ({})",
                    condition_text(&crd, "NamesAccepted")
                );
            }
        } else if r.status != 404 {
            bail!("GET {path}: HTTP {}: {}", r.status, body_text(&r));
        }
        if Instant::now() > deadline {
            bail!("CRD {name} not Established after {:?}", ctx.timeout);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls GET `path` until it answers 200 (a new resource may lag its condition).
async fn wait_ok(ctx: &Ctx, path: &str) -> Result<()> {
    let deadline = Instant::now() + ctx.timeout;
    loop {
        let r = ctx.client.get(path).await?;
        if r.ok() {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "GET {path}: still HTTP {} after {:?}",
                r.status,
                ctx.timeout
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// DELETEs a CRD, then polls until it is gone (its custom resources are
/// deleted first, by the `customresourcecleanup` finalizer).
async fn delete_crd(ctx: &Ctx, name: &str) -> Result<()> {
    let path = format!("{CRD_PATH}/{name}");
    let r = ctx
        .client
        .request(Method::DELETE, &path, None, Bytes::new())
        .await?;
    if !r.ok() && r.status != 404 {
        bail!("DELETE {path}: HTTP {}: {}", r.status, body_text(&r));
    }
    let deadline = Instant::now() + ctx.timeout;
    loop {
        let r = ctx.client.get(&path).await?;
        if r.status == 404 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("CRD {name} still exists after {:?}", ctx.timeout);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// POSTs `count` bodies to `path` at --concurrency.
async fn create_many(
    ctx: &Ctx,
    label: &str,
    path: String,
    body: impl Fn(usize) -> Bytes + Send + Sync + 'static,
) -> (Stats, Duration) {
    let n = ctx.sizes.cr_count;
    let progress = Progress::start(label, n as u64);
    let client = ctx.client.clone();
    let path = Arc::new(path);
    let t0 = Instant::now();
    let stats = parallel(
        n,
        ctx.sizes.concurrency,
        Some(progress.counter()),
        move |i| {
            let (c, path, b) = (client.clone(), path.clone(), body(i));
            async move { c.send_json(Method::POST, &path, b).await }
        },
    )
    .await;
    let elapsed = t0.elapsed();
    progress.finish().await;
    (stats, elapsed)
}

pub async fn custom_resources(ctx: &Ctx, ns: &str) -> Result<Vec<BenchResult>> {
    let names = widget_names(&ctx.run_id);
    let crd = widget_crd(&ctx.run_id, &names);
    let t0 = Instant::now();
    post_crd(&ctx.client, &crd).await?;
    let result = custom_resources_inner(ctx, ns, &names, t0).await;
    if ctx.keep {
        eprintln!("kept CRD {}", names.crd_name());
        return result;
    }
    let t = Instant::now();
    let deleted = delete_crd(ctx, &names.crd_name()).await;
    let mut rows = result?;
    deleted.with_context(|| format!("deleting CRD {}", names.crd_name()))?;
    let d = t.elapsed();
    let mut s = Stats::default();
    s.ok(d);
    rows.push(
        BenchResult::from_stats("cr-crd-delete", &s, d)
            .extra("custom_resources", ctx.sizes.cr_count)
            .extra("seconds", d.as_secs_f64()),
    );
    Ok(rows)
}

async fn custom_resources_inner(
    ctx: &Ctx,
    ns: &str,
    names: &CrdNames,
    t0: Instant,
) -> Result<Vec<BenchResult>> {
    let polls = wait_established(ctx, &names.crd_name()).await?;
    let established = t0.elapsed();
    let cr_path = names.collection(Some(ns));
    wait_ok(ctx, &format!("{cr_path}?limit=1")).await?;
    let served = t0.elapsed();
    let mut s = Stats::default();
    s.ok(established);
    let mut rows = vec![
        BenchResult::from_stats("cr-crd-established", &s, established)
            .extra("seconds", established.as_secs_f64())
            .extra("served_s", served.as_secs_f64())
            .extra("polls", polls),
    ];
    // The server must enforce the CEL rules, or the comparison is unfair.
    let bad = ctx
        .client
        .send_json(
            Method::POST,
            &cr_path,
            widget_breaking_rules(&ctx.run_id, names),
        )
        .await?;
    let run = ctx.run_id.clone();
    let body_len = widget_body(&run, names, 0).len();
    let (cm, cm_elapsed) = {
        let run = run.clone();
        create_many(ctx, "custom-resources: configmaps", cm_path(ns), move |i| {
            configmap_sized(&run, &format!("bench-cm-{i}"), body_len)
        })
        .await
    };
    let (cr, cr_elapsed) = {
        let names = names.clone();
        create_many(ctx, "custom-resources: custom", cr_path, move |i| {
            widget_body(&run, &names, i)
        })
        .await
    };
    let conc = ctx.sizes.concurrency;
    let cm_row = BenchResult::from_stats("cr-configmap-create", &cm, cm_elapsed)
        .extra("concurrency", conc)
        .extra("body_bytes", body_len);
    let cr_row = BenchResult::from_stats("cr-custom-create", &cr, cr_elapsed)
        .extra("concurrency", conc)
        .extra("body_bytes", body_len)
        .extra("cel_rules", 2)
        .extra("invalid_status", bad.status);
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let r = BenchResult {
        scenario: "cr-ratio".into(),
        ..BenchResult::default()
    }
    .extra(
        "throughput",
        ratio(cr_row.throughput_per_s, cm_row.throughput_per_s),
    )
    .extra("p50", ratio(cr_row.p50_ms, cm_row.p50_ms))
    .extra("p99", ratio(cr_row.p99_ms, cm_row.p99_ms));
    if bad.status != 422 {
        eprintln!(
            "warning: a custom resource breaking both CEL rules got HTTP {} (expected 422): {}",
            bad.status,
            body_text(&bad)
        );
    }
    rows.extend([cm_row, cr_row, r]);
    Ok(rows)
}

/// Lists this run's CRDs: (items, established, names rejected).
async fn list_crds(ctx: &Ctx) -> Result<((usize, usize, Vec<String>), usize)> {
    let path = format!("{CRD_PATH}?labelSelector={LABEL}%3D{}", ctx.run_id);
    let r = ctx.client.get(&path).await?;
    if !r.ok() {
        bail!("GET {path}: HTTP {}: {}", r.status, body_text(&r));
    }
    let v: Value = serde_json::from_slice(&r.body).context("decoding the CRD list")?;
    Ok((count_established(&v), r.body.len()))
}

/// Median of a histogram in ms and the first sample.
fn timed_row(scenario: &str, samples: &[(Duration, bool)], bytes: usize) -> BenchResult {
    let mut s = Stats::default();
    let mut total = Duration::ZERO;
    for (d, ok) in samples {
        total += *d;
        if *ok { s.ok(*d) } else { s.fail(*d, "status") }
    }
    let first = samples.first().map(|(d, _)| d.as_secs_f64() * 1000.0);
    BenchResult::from_stats(scenario, &s, total)
        .extra("first_ms", first.unwrap_or(0.0))
        .extra("kb", bytes as f64 / 1024.0)
}

/// `repeat` timed GETs of `path`; (samples, last body).
async fn time_gets(
    ctx: &Ctx,
    path: &str,
    accept: &'static str,
) -> Result<(Vec<(Duration, bool)>, Response)> {
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..ctx.sizes.repeat {
        let t = Instant::now();
        let r = ctx
            .client
            .request_accept(Method::GET, path, accept, None, Bytes::new())
            .await?;
        samples.push((t.elapsed(), r.ok()));
        last = Some(r);
    }
    let last = last.context("no request made")?;
    if !last.ok() {
        bail!("GET {path}: HTTP {}: {}", last.status, body_text(&last));
    }
    Ok((samples, last))
}

fn mb(kb: Option<u64>) -> Value {
    kb.map(|k| json!((k as f64 / 1024.0 * 10.0).round() / 10.0))
        .unwrap_or(Value::Null)
}

pub async fn crds(ctx: &Ctx) -> Result<Vec<BenchResult>> {
    let n = ctx.sizes.crd_count;
    let rss_before = ctx.server_pid.and_then(read_rss_kb);
    let t0 = Instant::now();
    // The first alone, so that a server without CRDs says so clearly.
    post_crd(&ctx.client, &gadget_crd(&ctx.run_id, 0)).await?;
    let result = crds_inner(ctx, n, t0, rss_before).await;
    if ctx.keep {
        eprintln!("kept {n} CRDs labelled {LABEL}={}", ctx.run_id);
        return result;
    }
    let deleted = delete_crds(ctx, n).await;
    let mut rows = result?;
    let mut row = deleted?;
    let rss_after = ctx.server_pid.and_then(read_rss_kb);
    row = row.extra("rss_after_mb", mb(rss_after));
    rows.push(row);
    Ok(rows)
}

async fn crds_inner(
    ctx: &Ctx,
    n: usize,
    t0: Instant,
    rss_before: Option<u64>,
) -> Result<Vec<BenchResult>> {
    let progress = Progress::start("crds: creating", n as u64);
    progress.inc();
    let (client, run) = (ctx.client.clone(), ctx.run_id.clone());
    let creates = parallel(
        n - 1,
        ctx.sizes.concurrency,
        Some(progress.counter()),
        move |i| {
            let c = client.clone();
            let body = Bytes::from(gadget_crd(&run, i + 1).to_string());
            async move { c.send_json(Method::POST, CRD_PATH, body).await }
        },
    )
    .await;
    let created = t0.elapsed();
    progress.finish().await;
    if creates.error_count() > 0 {
        bail!(
            "creating {n} CRDs: {} failed ({:?})",
            creates.error_count(),
            creates.errors
        );
    }
    // Until every one is Established.
    let progress = Progress::start("crds: established", n as u64);
    let deadline = Instant::now() + ctx.timeout;
    let mut list_polls = Stats::default();
    let mut list_bytes;
    loop {
        let t = Instant::now();
        let ((items, est, rejected), bytes) = list_crds(ctx).await?;
        list_polls.ok(t.elapsed());
        list_bytes = bytes;
        progress
            .counter()
            .store(est as u64, std::sync::atomic::Ordering::Relaxed);
        if let Some(name) = rejected.first() {
            bail!("CRD {name}: NamesAccepted=False");
        }
        if items >= n && est >= n {
            break;
        }
        if Instant::now() > deadline {
            bail!("{est} of {n} CRDs Established after {:?}", ctx.timeout);
        }
        tokio::time::sleep(POLL).await;
    }
    progress.finish().await;
    let established = t0.elapsed();
    let rss_established = ctx.server_pid.and_then(read_rss_kb);
    let mut s = Stats::default();
    s.ok(established);
    let mut rows = vec![
        BenchResult::from_stats("crds-create", &creates, created).extra("crds", n),
        BenchResult::from_stats("crds-established", &s, established)
            .extra("crds", n)
            .extra("seconds", established.as_secs_f64())
            .extra("list_polls", list_polls.requests)
            .extra(
                "list_p50_ms",
                list_polls.latency.percentile_us(0.5) as f64 / 1000.0,
            )
            .extra("list_mb", list_bytes as f64 / 1e6)
            .extra("rss_before_mb", mb(rss_before))
            .extra("rss_established_mb", mb(rss_established)),
    ];
    let groups: HashSet<String> = (0..n).map(|i| gadget_names(&ctx.run_id, i).group).collect();
    // Until aggregated discovery lists every group (upstream serves it
    // within a second or so of Established).
    let t1 = Instant::now();
    let mut polls = 0u64;
    loop {
        polls += 1;
        let r = ctx
            .client
            .request_accept(Method::GET, "/apis", AGGREGATED_ACCEPT, None, Bytes::new())
            .await?;
        if !r.ok() {
            bail!(
                "GET /apis (aggregated): HTTP {}: {}",
                r.status,
                body_text(&r)
            );
        }
        let doc: Value = serde_json::from_slice(&r.body).context("decoding /apis")?;
        let seen = discovery_groups(&doc);
        if groups.is_subset(&seen) {
            break;
        }
        if Instant::now() > deadline + ctx.timeout {
            bail!(
                "{} of {n} groups in aggregated discovery after {:?}",
                groups.intersection(&seen).count(),
                t1.elapsed()
            );
        }
        tokio::time::sleep(POLL).await;
    }
    let d = t1.elapsed();
    let mut s = Stats::default();
    s.ok(d);
    rows.push(
        BenchResult::from_stats("crds-in-discovery", &s, d)
            .extra("after_established_s", d.as_secs_f64())
            .extra("polls", polls),
    );
    let one = gadget_names(&ctx.run_id, n / 2).group;
    for (scenario, path, accept) in [
        (
            "crds-discovery-aggregated",
            "/apis".to_string(),
            AGGREGATED_ACCEPT,
        ),
        (
            "crds-discovery-legacy",
            "/apis".to_string(),
            "application/json",
        ),
        (
            "crds-openapi-v3",
            "/openapi/v3".to_string(),
            "application/json",
        ),
        (
            "crds-openapi-v3-group",
            format!("/openapi/v3/apis/{one}/{VERSION}"),
            "application/json",
        ),
    ] {
        let (samples, last) = time_gets(ctx, &path, accept).await?;
        let doc: Value =
            serde_json::from_slice(&last.body).with_context(|| format!("decoding GET {path}"))?;
        let mut row = timed_row(scenario, &samples, last.body.len());
        row = match scenario {
            "crds-discovery-aggregated" | "crds-discovery-legacy" => {
                let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
                row.extra("groups", discovery_groups(&doc).len())
                    .extra("kind", kind)
            }
            "crds-openapi-v3" => {
                let paths = openapi_paths(&doc);
                let ours = groups
                    .iter()
                    .filter(|g| paths.contains(&format!("apis/{g}/{VERSION}")))
                    .count();
                row.extra("paths", paths.len()).extra("ours", ours)
            }
            _ => row.extra(
                "schemas",
                doc.pointer("/components/schemas")
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len()),
            ),
        };
        rows.push(row.extra("repeat", ctx.sizes.repeat));
    }
    Ok(rows)
}

/// DELETEs every CRD of the run, then polls the LIST until none is left.
async fn delete_crds(ctx: &Ctx, n: usize) -> Result<BenchResult> {
    let progress = Progress::start("crds: deleting", n as u64);
    let (client, run) = (ctx.client.clone(), ctx.run_id.clone());
    let t0 = Instant::now();
    let mut deletes = parallel(
        n,
        ctx.sizes.concurrency,
        Some(progress.counter()),
        move |i| {
            let c = client.clone();
            let path = format!("{CRD_PATH}/{}", gadget_names(&run, i).crd_name());
            async move {
                let r = c.request(Method::DELETE, &path, None, Bytes::new()).await;
                // One that was never created (a failed run) is not an error.
                match r {
                    Ok(resp) if resp.status == 404 => Ok(Response {
                        status: 200,
                        body: resp.body,
                    }),
                    other => other,
                }
            }
        },
    )
    .await;
    let deleted = t0.elapsed();
    progress.finish().await;
    let deadline = Instant::now() + ctx.timeout;
    loop {
        let ((left, _, _), _) = list_crds(ctx)
            .await
            .context("listing CRDs after deleting them")?;
        if left == 0 {
            break;
        }
        if Instant::now() > deadline {
            deletes.error_only("still-listed", left as u64);
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let gone = t0.elapsed();
    Ok(BenchResult::from_stats("crds-delete", &deletes, deleted)
        .extra("crds", n)
        .extra("all_gone_s", gone.as_secs_f64()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        let w = widget_names("r1");
        assert_eq!(w.crd_name(), "benchwidgets.cr.r1.bench.ironkube.dev");
        assert_eq!(
            w.collection(Some("ns")),
            "/apis/cr.r1.bench.ironkube.dev/v1/namespaces/ns/benchwidgets"
        );
        let g = gadget_names("r1", 7);
        assert_eq!(g.crd_name(), "gadgets.g7.r1.bench.ironkube.dev");
        assert_eq!(
            g.collection(None),
            "/apis/g7.r1.bench.ironkube.dev/v1/gadgets"
        );
    }

    /// Counts the properties of a schema, recursively.
    fn fields(schema: &Value) -> usize {
        let mut n = 0;
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for p in props.values() {
                n += 1 + fields(p);
            }
        }
        if let Some(items) = schema.get("items") {
            n += fields(items);
        }
        n
    }

    #[test]
    fn widget_crd_has_a_few_dozen_fields_and_two_rules() {
        let n = widget_names("r1");
        let crd = widget_crd("r1", &n);
        assert_eq!(crd["metadata"]["name"], n.crd_name());
        assert_eq!(crd["metadata"]["labels"][LABEL], "r1");
        let v = &crd["spec"]["versions"][0];
        assert_eq!(v["subresources"], json!({"status": {}}));
        let root = &v["schema"]["openAPIV3Schema"];
        let count = fields(&root["properties"]["spec"]) + fields(&root["properties"]["status"]);
        assert!((30..=60).contains(&count), "{count} fields");
        let rules = root["properties"]["spec"]["x-kubernetes-validations"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(rules, 2);
    }

    #[test]
    fn widget_bodies_and_a_configmap_of_the_same_size() {
        let n = widget_names("r1");
        let w: Value = serde_json::from_slice(&widget_body("r1", &n, 12)).expect("json");
        assert_eq!(w["apiVersion"], "cr.r1.bench.ironkube.dev/v1");
        assert_eq!(w["kind"], "BenchWidget");
        assert_eq!(w["metadata"]["name"], "bench-cr-12");
        assert_eq!(w["spec"]["name"], "bench-12");
        assert!(w["spec"]["minReplicas"].as_i64() <= w["spec"]["maxReplicas"].as_i64());
        let bad: Value = serde_json::from_slice(&widget_breaking_rules("r1", &n)).expect("json");
        assert!(bad["spec"]["minReplicas"].as_i64() > bad["spec"]["maxReplicas"].as_i64());
        assert!(
            !bad["spec"]["name"]
                .as_str()
                .is_some_and(|s| s.starts_with("bench-"))
        );
        let len = widget_body("r1", &n, 12).len();
        let cm = configmap_sized("r1", "bench-cm-12", len);
        assert_eq!(cm.len(), len);
        let cm: Value = serde_json::from_slice(&cm).expect("json");
        assert_eq!(cm["kind"], "ConfigMap");
        // Too small a target gives the smallest body.
        assert!(configmap_sized("r1", "c", 3).len() > 3);
    }

    #[test]
    fn gadget_variety() {
        let c0 = gadget_crd("r1", 0);
        let v0 = &c0["spec"]["versions"][0];
        assert_eq!(
            v0["subresources"]["scale"]["specReplicasPath"],
            ".spec.replicas"
        );
        assert!(v0["additionalPrinterColumns"].is_array());
        assert_eq!(c0["spec"]["group"], "g0.r1.bench.ironkube.dev");
        let c1 = gadget_crd("r1", 1);
        assert!(c1["spec"]["versions"][0].get("subresources").is_none());
        assert!(
            c1["spec"]["versions"][0]
                .get("additionalPrinterColumns")
                .is_none()
        );
        assert_eq!(gadget_crd("r1", 3)["spec"]["scope"], "Cluster");
        assert_eq!(gadget_crd("r1", 2)["spec"]["scope"], "Namespaced");
    }

    #[test]
    fn conditions() {
        let crd = json!({"status": {"conditions": [
            {"type": "NamesAccepted", "status": "False", "reason": "ListKindConflict",
             "message": "\"GadgetList\" is already in use"},
            {"type": "Established", "status": "True"}
        ]}});
        assert_eq!(condition_status(&crd, "Established"), Some("True"));
        assert_eq!(condition_status(&crd, "NamesAccepted"), Some("False"));
        assert_eq!(condition_status(&crd, "Terminating"), None);
        assert_eq!(condition_status(&json!({}), "Established"), None);
        assert_eq!(
            condition_status(&json!({"status": {"conditions": {}}}), "Established"),
            None
        );
        assert_eq!(
            condition_text(&crd, "NamesAccepted"),
            "ListKindConflict: \"GadgetList\" is already in use"
        );
        assert_eq!(condition_text(&crd, "Nope"), ": ");
        let list = json!({"items": [
            crd,
            {"metadata": {"name": "b"}, "status": {"conditions": [
                {"type": "Established", "status": "False"}]}},
            {"metadata": {"name": "c"}}
        ]});
        let mut l = list.clone();
        l["items"][0]["metadata"] = json!({"name": "a"});
        assert_eq!(count_established(&l), (3, 1, vec!["a".to_string()]));
        assert_eq!(count_established(&json!({"items": null})), (0, 0, vec![]));
    }

    #[test]
    fn discovery_documents() {
        let agg = json!({"kind": "APIGroupDiscoveryList", "items": [
            {"metadata": {"name": "apps"}}, {"metadata": {"name": "g1.x"}}, {"metadata": {}}]});
        let groups = discovery_groups(&agg);
        assert_eq!(groups.len(), 2);
        assert!(groups.contains("g1.x"));
        let legacy = json!({"kind": "APIGroupList", "groups": [{"name": "apps"}]});
        assert_eq!(discovery_groups(&legacy).len(), 1);
        assert!(discovery_groups(&json!([])).is_empty());
        let idx = json!({"paths": {"api/v1": {}, "apis/g1.x/v1": {}}});
        assert!(openapi_paths(&idx).contains("apis/g1.x/v1"));
        assert!(openapi_paths(&json!({})).is_empty());
    }
}
