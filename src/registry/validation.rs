//! Per-kind validation of objects before they are stored, reproducing the important
//! rules of upstream `pkg/apis/core/validation/validation.go`,
//! `pkg/apis/apps/validation/validation.go`, `pkg/apis/coordination/validation` and
//! `pkg/apis/events` plus the generic store checks of
//! `staging/src/k8s.io/apiserver/pkg/registry/rest/{create,update}.go`.
//!
//! [`validate`] is called after defaulting, on create (`old == None`) and update.
//! A non-empty result becomes a 422 `Invalid` status (see
//! `crate::apimachinery::validation::invalid_status`).

pub mod autoscaling;
pub mod batch;
pub mod policy;
pub mod workloads;

use crate::apimachinery::validation::{
    FIELD_IMMUTABLE_ERROR_MSG, FieldError, IS_NEGATIVE_ERROR_MSG, NameRule, SelectorKind, arr_of,
    child, go_repr, go_string_map_repr, go_string_slice_repr, inclusive_range_error, index, int_of,
    is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_qualified_name,
    is_relaxed_env_var_name, is_valid_label_value, is_valid_percent, is_valid_port_name,
    is_valid_port_num, key, label_selector_repr, selector_kind, selector_matches, semantic_eq,
    str_of, validate_annotations, validate_label_name, validate_label_selector, validate_labels,
    validate_name, validate_nonnegative, validate_object_meta, validate_object_meta_update,
    value_as_plain_string,
};
use serde_json::Value;

use crate::registry::kind::Kind;
use std::cmp::Ordering;
use std::collections::BTreeSet;

const MAX_INT32: i64 = i32::MAX as i64;
/// Quantities with a larger decimal exponent magnitude are not interpreted.
const MAX_QUANTITY_EXP: i32 = 1000;
/// Upstream `core.MaxSecretSize` (1 MiB), also the ConfigMap limit.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;
const IMMUTABLE_WHEN_SET: &str = "field is immutable when `immutable` is set";

/// Validates `obj` of `kind` (see the crate conventions), on create when
/// `old` is `None` and on update otherwise.
///
/// Create follows upstream `rest.BeforeCreate`: the kind's own rules first, and only
/// if they pass, the generic metadata check (path-segment name rule). Update follows
/// `rest.BeforeUpdate`: generic metadata checks followed by the kind's update rules
/// (upstream may report the same metadata cause twice; so do we).
pub fn validate(
    kind: &dyn Kind,
    namespaced: bool,
    obj: &Value,
    old: Option<&Value>,
) -> Vec<FieldError> {
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    match old {
        None => {
            let errs = kind.validate_create(obj);
            if !errs.is_empty() {
                return errs;
            }
            validate_object_meta(meta, namespaced, NameRule::PathSegment)
        }
        Some(old) => {
            let old_meta = old.get("metadata").unwrap_or(&Value::Null);
            let mut errs = validate_object_meta(meta, namespaced, NameRule::PathSegment);
            errs.extend(validate_object_meta_update(meta, old_meta));
            errs.extend(kind.validate_update(obj, old));
            errs
        }
    }
}

fn meta_of(obj: &Value) -> &Value {
    obj.get("metadata").unwrap_or(&Value::Null)
}

fn spec_of(obj: &Value) -> &Value {
    obj.get("spec").unwrap_or(&Value::Null)
}

/// ServiceAccount create (`ValidateServiceAccount`).
pub fn validate_service_account(obj: &Value) -> Vec<FieldError> {
    core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain)
}

/// core/v1 Event create and update (`ValidateEventCreate`/`Update` of the
/// legacy API).
pub fn validate_core_event(obj: &Value) -> Vec<FieldError> {
    legacy_validate_event(obj, false)
}

pub fn validate_deployment_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_deployment_spec(spec_of(obj), "spec"));
    errs.extend(validate_selector_immutable(spec_of(obj), spec_of(old)));
    errs
}

pub fn validate_replica_set_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_replica_set_spec(spec_of(obj), "spec"));
    errs.extend(validate_selector_immutable(spec_of(obj), spec_of(old)));
    errs
}

pub fn validate_namespace_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_namespace(obj);
    errs.extend(core_object_meta_update(meta_of(obj), meta_of(old)));
    errs
}

pub fn validate_config_map_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_immutable_data(obj, old, &["data", "binaryData"]));
    errs.extend(validate_config_map(obj));
    errs
}

pub fn validate_secret_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    let (nt, ot) = (str_of(obj, "type"), str_of(old, "type"));
    if nt != ot {
        errs.push(FieldError::invalid("type", nt, FIELD_IMMUTABLE_ERROR_MSG));
    }
    errs.extend(validate_immutable_data(obj, old, &["data"]));
    errs.extend(validate_secret(obj));
    errs
}

pub fn validate_service_account_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let meta = meta_of(obj);
    let mut errs = core_object_meta_update(meta, meta_of(old));
    errs.extend(core_object_meta(meta, true, NameRule::Dns1123Subdomain));
    errs
}

pub fn validate_node_and_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_node(obj);
    errs.extend(validate_node_update(obj, old));
    errs
}

pub fn validate_lease_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_lease_spec(spec_of(obj), "spec"));
    errs
}

pub fn validate_events_v1_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = legacy_validate_event(obj, true);
    errs.extend(core_object_meta_update(meta_of(obj), meta_of(old)));
    for f in [
        "regarding",
        "reason",
        "note",
        "reportingController",
        "reportingInstance",
        "action",
        "type",
        "eventTime",
    ] {
        if !semantic_eq(obj.get(f), old.get(f)) {
            errs.push(FieldError::invalid(
                event_field_path(f),
                obj.get(f).cloned().unwrap_or(Value::Null),
                FIELD_IMMUTABLE_ERROR_MSG,
            ));
        }
    }
    errs
}

pub fn validate_service_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_cluster_ips_update(spec_of(obj), spec_of(old)));
    errs.extend(validate_service_fields(obj));
    errs
}

// ---------------------------------------------------------------------------
// Core ObjectMeta wrappers (core validation adds the legacy finalizer-name rule)
// ---------------------------------------------------------------------------

fn validate_kube_finalizer_name(name: &str, path: &str) -> Vec<FieldError> {
    if !name.contains('/') && !["kubernetes", "orphan", "foregroundDeletion"].contains(&name) {
        vec![FieldError::invalid(
            path,
            name,
            "name is neither a standard finalizer name nor is it fully qualified",
        )]
    } else {
        Vec::new()
    }
}

fn kube_finalizer_names(meta: &Value) -> Vec<FieldError> {
    arr_of(meta, "finalizers")
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            validate_kube_finalizer_name(
                &value_as_plain_string(f),
                &index("metadata.finalizers", i),
            )
        })
        .collect()
}

/// Core `ValidateObjectMeta`: generic checks plus legacy finalizer names.
pub(crate) fn core_object_meta(meta: &Value, namespaced: bool, rule: NameRule) -> Vec<FieldError> {
    let mut errs = validate_object_meta(meta, namespaced, rule);
    errs.extend(kube_finalizer_names(meta));
    errs
}

/// Core `ValidateObjectMetaUpdate`.
pub(crate) fn core_object_meta_update(new: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = validate_object_meta_update(new, old);
    errs.extend(kube_finalizer_names(new));
    errs
}

// ---------------------------------------------------------------------------
// Quantities (just enough of apimachinery resource.Quantity: parse, compare, String)
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QFormat {
    DecimalSi,
    BinarySi,
    DecimalExponent,
}

/// An exact decimal quantity `mantissa * 10^exp` with the format it was written in.
#[derive(Debug, Clone, Copy)]
struct Quantity {
    mantissa: i128,
    exp: i32,
    format: QFormat,
}

impl Quantity {
    fn parse(s: &str) -> Option<Quantity> {
        let s = s.trim();
        let num_end = s
            .char_indices()
            .find(|(i, c)| {
                !(c.is_ascii_digit() || *c == '.' || ((*c == '+' || *c == '-') && *i == 0))
            })
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        let (num, suffix) = s.split_at(num_end);
        let (neg, digits) = match num.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, num.strip_prefix('+').unwrap_or(num)),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return None;
        }
        let mut mantissa: i128 = 0;
        for c in int_part.bytes().chain(frac_part.bytes()) {
            if !c.is_ascii_digit() {
                return None;
            }
            mantissa = mantissa
                .checked_mul(10)?
                .checked_add(i128::from(c - b'0'))?;
        }
        let mut exp = -i32::try_from(frac_part.len()).ok()?;
        let (format, exp10, exp2) = match suffix {
            "" => (QFormat::DecimalSi, 0, 0),
            "n" => (QFormat::DecimalSi, -9, 0),
            "u" => (QFormat::DecimalSi, -6, 0),
            "m" => (QFormat::DecimalSi, -3, 0),
            "k" => (QFormat::DecimalSi, 3, 0),
            "M" => (QFormat::DecimalSi, 6, 0),
            "G" => (QFormat::DecimalSi, 9, 0),
            "T" => (QFormat::DecimalSi, 12, 0),
            "P" => (QFormat::DecimalSi, 15, 0),
            "E" => (QFormat::DecimalSi, 18, 0),
            "Ki" => (QFormat::BinarySi, 0, 10),
            "Mi" => (QFormat::BinarySi, 0, 20),
            "Gi" => (QFormat::BinarySi, 0, 30),
            "Ti" => (QFormat::BinarySi, 0, 40),
            "Pi" => (QFormat::BinarySi, 0, 50),
            "Ei" => (QFormat::BinarySi, 0, 60),
            other => {
                let e = other.strip_prefix(['e', 'E'])?;
                (QFormat::DecimalExponent, e.parse::<i32>().ok()?, 0)
            }
        };
        exp = exp.checked_add(exp10)?;
        // Out-of-range exponents are treated as unparseable (left to the decoder).
        if !(-MAX_QUANTITY_EXP..=MAX_QUANTITY_EXP).contains(&exp) {
            return None;
        }
        mantissa = mantissa.checked_mul(1i128.checked_shl(exp2)?)?;
        if neg {
            mantissa = -mantissa;
        }
        // Quantities keep at most nano precision, rounding up.
        while exp < -9 {
            let rem = mantissa % 10;
            mantissa /= 10;
            if rem > 0 {
                mantissa += 1;
            }
            exp += 1;
        }
        Some(Quantity {
            mantissa,
            exp,
            format,
        })
    }

    fn cmp(&self, other: &Quantity) -> Ordering {
        let e = self.exp.min(other.exp);
        let scale = |q: &Quantity| -> Option<i128> {
            let d = u32::try_from(q.exp.checked_sub(e)?).ok()?;
            q.mantissa.checked_mul(10i128.checked_pow(d)?)
        };
        match (scale(self), scale(other)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => {
                let f = |q: &Quantity| q.mantissa as f64 * 10f64.powi(q.exp);
                f(self).partial_cmp(&f(other)).unwrap_or(Ordering::Equal)
            }
        }
    }

    fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// Exact integer value, if the quantity is whole and fits.
    fn as_integer(&self) -> Option<i128> {
        if self.exp >= 0 {
            return self
                .mantissa
                .checked_mul(10i128.checked_pow(u32::try_from(self.exp).ok()?)?);
        }
        let d = 10i128.checked_pow(u32::try_from(-self.exp).ok()?)?;
        (self.mantissa % d == 0).then_some(self.mantissa / d)
    }

    /// Canonical form, as upstream `Quantity.String()`.
    fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".to_string();
        }
        let mut format = self.format;
        if format == QFormat::BinarySi {
            let small = self.cmp(&Quantity {
                mantissa: 1024,
                exp: 0,
                format,
            }) == Ordering::Less
                && self.cmp(&Quantity {
                    mantissa: -1024,
                    exp: 0,
                    format,
                }) == Ordering::Greater;
            if small || self.as_integer().is_none() {
                format = QFormat::DecimalSi;
            }
        }
        if format == QFormat::BinarySi
            && let Some(mut v) = self.as_integer()
        {
            let mut e = 0;
            while e < 6 && v % 1024 == 0 {
                v /= 1024;
                e += 1;
            }
            let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
                .get(e)
                .copied()
                .unwrap_or("");
            return format!("{v}{suffix}");
        }
        let (mut m, mut e) = (self.mantissa, self.exp);
        while m % 10 == 0 {
            m /= 10;
            e += 1;
        }
        let shift = e.rem_euclid(3);
        if let Some(scaled) = m.checked_mul(10i128.pow(shift.unsigned_abs())) {
            m = scaled;
            e -= shift;
        }
        let suffix = if format == QFormat::DecimalExponent {
            if e == 0 {
                String::new()
            } else {
                format!("e{e}")
            }
        } else {
            match e {
                -9 => "n".to_string(),
                -6 => "u".to_string(),
                -3 => "m".to_string(),
                0 => String::new(),
                3 => "k".to_string(),
                6 => "M".to_string(),
                9 => "G".to_string(),
                12 => "T".to_string(),
                15 => "P".to_string(),
                18 => "E".to_string(),
                other => format!("e{other}"),
            }
        };
        format!("{m}{suffix}")
    }
}

/// A quantity as upstream's `Quantity.String()` prints it (`None` when it
/// does not parse); for Table cells.
pub(crate) fn canonical_quantity(v: &Value) -> Option<String> {
    quantity_of(v).map(|q| q.canonical())
}

fn quantity_of(v: &Value) -> Option<Quantity> {
    match v {
        Value::String(s) => Quantity::parse(s),
        Value::Number(n) => Quantity::parse(&n.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Pods
// ---------------------------------------------------------------------------

fn is_native_resource(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_extended_resource_name(name: &str) -> bool {
    if is_native_resource(name) || name.starts_with("requests.") {
        return false;
    }
    is_qualified_name(&format!("requests.{name}")).is_empty()
}

fn is_overcommit_allowed(name: &str) -> bool {
    is_native_resource(name) && !name.starts_with("hugepages-")
}

fn validate_container_resource_name(name: &str, path: &str) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = is_qualified_name(name)
        .into_iter()
        .map(|m| FieldError::invalid(path, name, m))
        .collect();
    // core.ResourceName implements fmt.Stringer, so upstream prints it unquoted.
    if !name.contains('/') {
        if !["cpu", "memory", "ephemeral-storage"].contains(&name)
            && !name.starts_with("hugepages-")
        {
            errs.push(FieldError::invalid_repr(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native_resource(name) && !is_extended_resource_name(name) {
        errs.push(FieldError::invalid_repr(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
    errs
}

fn validate_quantity_value(name: &str, q: &Quantity, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if q.is_negative() {
        errs.push(FieldError::invalid(
            path,
            q.canonical(),
            IS_NEGATIVE_ERROR_MSG,
        ));
    }
    if is_extended_resource_name(name) && q.as_integer().is_none() {
        errs.push(FieldError::invalid(
            path,
            q.canonical(),
            "must be an integer",
        ));
    }
    errs
}

/// `ValidateResourceRequirements` (names, non-negative quantities, requests ≤ limits).
fn validate_resource_requirements(res: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let lim_path = child(path, "limits");
    let req_path = child(path, "requests");
    let limits = res.get("limits").and_then(Value::as_object);
    for (name, v) in limits.into_iter().flatten() {
        let p = key(&lim_path, name);
        errs.extend(validate_container_resource_name(name, &p));
        if let Some(q) = quantity_of(v) {
            errs.extend(validate_quantity_value(name, &q, &p));
        }
    }
    for (name, v) in res
        .get("requests")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let p = key(&req_path, name);
        errs.extend(validate_container_resource_name(name, &p));
        let Some(q) = quantity_of(v) else { continue };
        errs.extend(validate_quantity_value(name, &q, &p));
        match limits.and_then(|l| l.get(name)).and_then(quantity_of) {
            Some(limit) => {
                let ord = q.cmp(&limit);
                if ord != Ordering::Equal && !is_overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        req_path.as_str(),
                        q.canonical(),
                        format!("must be equal to {name} limit of {}", limit.canonical()),
                    ));
                } else if ord == Ordering::Greater {
                    errs.push(FieldError::invalid(
                        req_path.as_str(),
                        q.canonical(),
                        format!(
                            "must be less than or equal to {name} limit of {}",
                            limit.canonical()
                        ),
                    ));
                }
            }
            None if !is_overcommit_allowed(name) => {
                errs.push(FieldError::required(
                    lim_path.as_str(),
                    "Limit must be set for non overcommitable resources",
                ));
            }
            None => {}
        }
    }
    errs
}

const SUPPORTED_PORT_PROTOCOLS: [&str; 3] = ["SCTP", "TCP", "UDP"];

fn validate_container_ports(ports: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names = BTreeSet::new();
    for (i, port) in ports.iter().enumerate() {
        let p = index(path, i);
        let name = str_of(port, "name");
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(
                    msgs.into_iter()
                        .map(|m| FieldError::invalid(child(&p, "name"), name, m)),
                );
            } else if !names.insert(name) {
                errs.push(FieldError::duplicate(child(&p, "name"), name));
            }
        }
        let cp = int_of(port, "containerPort").unwrap_or(0);
        if cp == 0 {
            errs.push(FieldError::required(child(&p, "containerPort"), ""));
        } else {
            errs.extend(
                is_valid_port_num(cp)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(&p, "containerPort"), cp, m)),
            );
        }
        let hp = int_of(port, "hostPort").unwrap_or(0);
        if hp != 0 {
            errs.extend(
                is_valid_port_num(hp)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(&p, "hostPort"), hp, m)),
            );
        }
        errs.extend(validate_protocol(
            str_of(port, "protocol"),
            &child(&p, "protocol"),
        ));
    }
    errs
}

fn validate_protocol(proto: &str, path: &str) -> Vec<FieldError> {
    if proto.is_empty() {
        vec![FieldError::required(path, "")]
    } else if !SUPPORTED_PORT_PROTOCOLS.contains(&proto) {
        vec![FieldError::not_supported(
            path,
            proto,
            &SUPPORTED_PORT_PROTOCOLS,
        )]
    } else {
        Vec::new()
    }
}

fn validate_env(vars: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = index(path, i);
        let name = str_of(ev, "name");
        if name.is_empty() {
            errs.push(FieldError::required(child(&p, "name"), ""));
        }
        errs.extend(
            is_relaxed_env_var_name(name)
                .into_iter()
                .map(|m| FieldError::invalid(child(&p, "name"), name, m)),
        );
        if let Some(vf) = ev.get("valueFrom").filter(|v| v.is_object()) {
            let vp = child(&p, "valueFrom");
            let n = [
                "fieldRef",
                "resourceFieldRef",
                "configMapKeyRef",
                "secretKeyRef",
            ]
            .iter()
            .filter(|k| vf.get(**k).is_some_and(|v| !v.is_null()))
            .count();
            if n == 0 {
                errs.push(FieldError::invalid(
                    vp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                ));
            } else if !str_of(ev, "value").is_empty() {
                errs.push(FieldError::invalid(
                    vp,
                    "",
                    "may not be specified when `value` is not empty",
                ));
            } else if n > 1 {
                errs.push(FieldError::invalid(
                    vp,
                    "",
                    "may not have more than one field specified at a time",
                ));
            }
        }
    }
    errs
}

fn validate_env_from(vars: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, ev) in vars.iter().enumerate() {
        let p = index(path, i);
        let prefix = str_of(ev, "prefix");
        if !prefix.is_empty() {
            errs.extend(
                is_relaxed_env_var_name(prefix)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(&p, "prefix"), prefix, m)),
            );
        }
        let mut n = 0;
        for src in ["configMapRef", "secretRef"] {
            if let Some(r) = ev.get(src).filter(|v| !v.is_null()) {
                n += 1;
                let name = str_of(r, "name");
                let np = child(&child(&p, src), "name");
                if name.is_empty() {
                    errs.push(FieldError::required(np, ""));
                } else {
                    errs.extend(
                        is_dns1123_subdomain(name)
                            .into_iter()
                            .map(|m| FieldError::invalid(np.as_str(), name, m)),
                    );
                }
            }
        }
        if n == 0 {
            errs.push(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
    errs
}

fn validate_volume_mounts(
    mounts: &[Value],
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut points = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let p = index(path, i);
        let name = str_of(m, "name");
        if name.is_empty() {
            errs.push(FieldError::required(child(&p, "name"), ""));
        }
        if !volumes.contains(name) {
            errs.push(FieldError::not_found(child(&p, "name"), name));
        }
        let mp = str_of(m, "mountPath");
        if mp.is_empty() {
            errs.push(FieldError::required(child(&p, "mountPath"), ""));
        }
        if !points.insert(mp) {
            errs.push(FieldError::invalid(
                child(&p, "mountPath"),
                mp,
                "must be unique",
            ));
        }
    }
    errs
}

fn validate_pull_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "Always" | "IfNotPresent" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["Always", "IfNotPresent", "Never"],
        )],
    }
}

/// `validateContainerCommon`.
fn validate_container_common(
    ctr: &Value,
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = str_of(ctr, "name");
    let np = child(path, "name");
    if name.is_empty() {
        errs.push(FieldError::required(np, ""));
    } else {
        errs.extend(
            is_dns1123_label(name)
                .into_iter()
                .map(|m| FieldError::invalid(np.as_str(), name, m)),
        );
    }
    if str_of(ctr, "image").is_empty() {
        errs.push(FieldError::required(child(path, "image"), ""));
    }
    match str_of(ctr, "terminationMessagePolicy") {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            child(path, "terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            child(path, "terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_container_ports(
        arr_of(ctr, "ports"),
        &child(path, "ports"),
    ));
    errs.extend(validate_env(arr_of(ctr, "env"), &child(path, "env")));
    errs.extend(validate_env_from(
        arr_of(ctr, "envFrom"),
        &child(path, "envFrom"),
    ));
    errs.extend(validate_volume_mounts(
        arr_of(ctr, "volumeMounts"),
        volumes,
        &child(path, "volumeMounts"),
    ));
    errs.extend(validate_pull_policy(
        str_of(ctr, "imagePullPolicy"),
        &child(path, "imagePullPolicy"),
    ));
    if let Some(res) = ctr.get("resources") {
        errs.extend(validate_resource_requirements(
            res,
            &child(path, "resources"),
        ));
    }
    errs
}

/// `checkHostPortConflicts`: `protocol/hostIP/hostPort` must be unique.
fn check_host_port_conflicts(containers: &[(usize, &Value)], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen = BTreeSet::new();
    for (ci, c) in containers {
        for (pi, port) in arr_of(c, "ports").iter().enumerate() {
            let hp = int_of(port, "hostPort").unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let s = format!(
                "{}/{}/{}",
                str_of(port, "protocol"),
                str_of(port, "hostIP"),
                hp
            );
            if !seen.insert(s.clone()) {
                let p = child(&index(&child(&index(path, *ci), "ports"), pi), "hostPort");
                errs.push(FieldError::duplicate(p, s));
            }
        }
    }
    errs
}

fn validate_containers(
    containers: &[Value],
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if containers.is_empty() {
        errs.push(FieldError::required(path, ""));
    }
    let mut names = BTreeSet::new();
    for (i, c) in containers.iter().enumerate() {
        let p = index(path, i);
        errs.extend(validate_container_common(c, volumes, &p));
        let name = str_of(c, "name");
        if !names.insert(name) {
            errs.push(FieldError::duplicate(child(&p, "name"), name));
        }
        if c.get("restartPolicy").is_some_and(|v| !v.is_null()) {
            errs.push(FieldError::forbidden(
                child(&p, "restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    let all: Vec<(usize, &Value)> = containers.iter().enumerate().collect();
    errs.extend(check_host_port_conflicts(&all, path));
    errs
}

fn validate_init_containers(
    inits: &[Value],
    regular: &[Value],
    volumes: &BTreeSet<String>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut names: BTreeSet<&str> = regular.iter().map(|c| str_of(c, "name")).collect();
    for (i, c) in inits.iter().enumerate() {
        let p = index(path, i);
        errs.extend(validate_container_common(c, volumes, &p));
        let mut restart_always = false;
        if let Some(rp) = c.get("restartPolicy").filter(|v| !v.is_null()) {
            let rp = value_as_plain_string(rp);
            if rp == "Always" {
                restart_always = true;
            } else {
                errs.push(FieldError::not_supported(
                    child(&p, "restartPolicy"),
                    rp,
                    &["Always"],
                ));
            }
        }
        let name = str_of(c, "name");
        if names.contains(name) {
            errs.push(FieldError::duplicate(child(&p, "name"), name));
        } else if !name.is_empty() {
            names.insert(name);
        }
        errs.extend(check_host_port_conflicts(&[(i, c)], path));
        if !restart_always {
            for f in [
                "lifecycle",
                "livenessProbe",
                "readinessProbe",
                "startupProbe",
            ] {
                if c.get(f).is_some_and(|v| !v.is_null()) {
                    errs.push(FieldError::forbidden(
                        child(&p, f),
                        "may not be set for init containers without restartPolicy=Always",
                    ));
                }
            }
        }
    }
    errs
}

const VOLUME_SOURCES: [&str; 30] = [
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

/// `ValidateVolumes`: returns the names of the valid volumes and the errors.
fn validate_volumes(volumes: &[Value], path: &str) -> (BTreeSet<String>, Vec<FieldError>) {
    let mut names = BTreeSet::new();
    let mut errs = Vec::new();
    for (i, vol) in volumes.iter().enumerate() {
        let p = index(path, i);
        let mut el = Vec::new();
        let mut count = 0;
        for src in VOLUME_SOURCES {
            let Some(s) = vol.get(src).filter(|v| !v.is_null()) else {
                continue;
            };
            count += 1;
            if count > 1 {
                el.push(FieldError::forbidden(
                    child(&p, src),
                    "may not specify more than 1 volume type",
                ));
                continue;
            }
            let required = match src {
                "configMap" => Some("name"),
                "secret" => Some("secretName"),
                "persistentVolumeClaim" => Some("claimName"),
                _ => None,
            };
            if let Some(f) = required
                && str_of(s, f).is_empty()
            {
                el.push(FieldError::required(child(&child(&p, src), f), ""));
            }
        }
        if count == 0 {
            el.push(FieldError::required(
                p.as_str(),
                "must specify a volume type",
            ));
        }
        let name = str_of(vol, "name");
        let np = child(&p, "name");
        if name.is_empty() {
            el.push(FieldError::required(np.as_str(), ""));
        } else {
            el.extend(
                is_dns1123_label(name)
                    .into_iter()
                    .map(|m| FieldError::invalid(np.as_str(), name, m)),
            );
        }
        if names.contains(name) {
            el.push(FieldError::duplicate(np, name));
        }
        if el.is_empty() {
            names.insert(name.to_string());
        } else {
            errs.extend(el);
        }
    }
    (names, errs)
}

fn validate_taint_effect(effect: &str, allow_empty: bool, path: &str) -> Vec<FieldError> {
    if !allow_empty && effect.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        other => vec![FieldError::not_supported(
            path,
            other,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        )],
    }
}

fn toleration_repr(t: &Value) -> String {
    let secs = match int_of(t, "tolerationSeconds") {
        Some(_) => "(*int64)(0xc000000000)".to_string(),
        None => "(*int64)(nil)".to_string(),
    };
    format!(
        "core.Toleration{{Key:{}, Operator:{}, Value:{}, Effect:{}, TolerationSeconds:{}}}",
        crate::apimachinery::validation::go_quote(str_of(t, "key")),
        crate::apimachinery::validation::go_quote(str_of(t, "operator")),
        crate::apimachinery::validation::go_quote(str_of(t, "value")),
        crate::apimachinery::validation::go_quote(str_of(t, "effect")),
        secs
    )
}

/// `ValidateTolerations`.
fn validate_tolerations(tolerations: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = index(path, i);
        let k = str_of(t, "key");
        let op = str_of(t, "operator");
        let effect = str_of(t, "effect");
        if !k.is_empty() {
            errs.extend(validate_label_name(k, &child(&p, "key")));
        }
        if k.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(
                child(&p, "operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.get("tolerationSeconds").is_some_and(|v| !v.is_null()) && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                child(&p, "effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        let value = str_of(t, "value");
        match op {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(FieldError::invalid(
                        child(&p, "operator"),
                        value,
                        msgs.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid_repr(
                        child(&p, "operator"),
                        toleration_repr(t),
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                child(&p, "operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, true, &child(&p, "effect")));
        }
    }
    errs
}

fn validate_restart_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "Always" | "OnFailure" | "Never" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["Always", "OnFailure", "Never"],
        )],
    }
}

fn validate_dns_policy(policy: &str, path: &str) -> Vec<FieldError> {
    match policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => Vec::new(),
        "" => vec![FieldError::required(path, "")],
        other => vec![FieldError::not_supported(
            path,
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )],
    }
}

fn name_msgs(rule: NameRule, value: &str, path: &str) -> Vec<FieldError> {
    validate_name(rule, value, false)
        .into_iter()
        .map(|m| FieldError::invalid(path, value, m))
        .collect()
}

/// `ValidatePodSpec` (subset; see the module report for what is left out).
pub fn validate_pod_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if spec
        .get("terminationGracePeriodSeconds")
        .is_none_or(Value::is_null)
    {
        errs.push(FieldError::required(
            child(path, "terminationGracePeriodSeconds"),
            "",
        ));
    }
    let (vols, verrs) = validate_volumes(arr_of(spec, "volumes"), &child(path, "volumes"));
    errs.extend(verrs);
    let containers = arr_of(spec, "containers");
    errs.extend(validate_containers(
        containers,
        &vols,
        &child(path, "containers"),
    ));
    errs.extend(validate_init_containers(
        arr_of(spec, "initContainers"),
        containers,
        &vols,
        &child(path, "initContainers"),
    ));
    errs.extend(validate_restart_policy(
        str_of(spec, "restartPolicy"),
        &child(path, "restartPolicy"),
    ));
    errs.extend(validate_dns_policy(
        str_of(spec, "dnsPolicy"),
        &child(path, "dnsPolicy"),
    ));
    errs.extend(validate_labels(
        spec.get("nodeSelector"),
        &child(path, "nodeSelector"),
    ));
    for (field, rule) in [
        ("serviceAccountName", NameRule::Dns1123Subdomain),
        ("nodeName", NameRule::Dns1123Subdomain),
    ] {
        let v = str_of(spec, field);
        if !v.is_empty() {
            errs.extend(name_msgs(rule, v, &child(path, field)));
        }
    }
    if let Some(ads) = int_of(spec, "activeDeadlineSeconds")
        && !(1..=MAX_INT32).contains(&ads)
    {
        errs.push(FieldError::invalid(
            child(path, "activeDeadlineSeconds"),
            ads,
            inclusive_range_error(1, MAX_INT32),
        ));
    }
    for field in ["hostname", "subdomain"] {
        let v = str_of(spec, field);
        if !v.is_empty() {
            errs.extend(
                is_dns1123_label(v)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(path, field), v, m)),
            );
        }
    }
    errs.extend(validate_tolerations(
        arr_of(spec, "tolerations"),
        &child(path, "tolerations"),
    ));
    let pc = str_of(spec, "priorityClassName");
    if !pc.is_empty() {
        errs.extend(name_msgs(
            NameRule::Dns1123Subdomain,
            pc,
            &child(path, "priorityClassName"),
        ));
    }
    errs
}

pub fn validate_pod_create(obj: &Value) -> Vec<FieldError> {
    let mut errs = validate_pod_metadata_and_spec(obj);
    let spec = spec_of(obj);
    if !arr_of(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            "spec.ephemeralContainers",
            "cannot be set on create",
        ));
    }
    if !str_of(spec, "nodeName").is_empty() && !arr_of(spec, "schedulingGates").is_empty() {
        errs.push(FieldError::forbidden(
            "spec.nodeName",
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

fn validate_pod_metadata_and_spec(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pod_spec(spec_of(obj), "spec"));
    errs
}

/// The upstream forbidden-update message (the trailing diff is simplified).
pub const POD_UPDATE_FORBIDDEN_MSG: &str = "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

fn validate_container_updates(new: &[Value], old: &[Value], path: &str) -> (Vec<FieldError>, bool) {
    if new.len() != old.len() {
        return (
            vec![FieldError::forbidden(
                path,
                "pod updates may not add or remove containers",
            )],
            true,
        );
    }
    let mut errs = Vec::new();
    for (i, c) in new.iter().enumerate() {
        let image = str_of(c, "image");
        let p = child(&index(path, i), "image");
        if image.is_empty() {
            errs.push(FieldError::required(p.as_str(), ""));
        }
        if image.trim() != image {
            errs.push(FieldError::invalid(
                p,
                image,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    (errs, false)
}

fn validate_only_added_tolerations(new: &[Value], old: &[Value], path: &str) -> Vec<FieldError> {
    for o in old {
        let found = new.iter().any(|n| {
            let mut oc = o.clone();
            if let Some(m) = oc.as_object_mut() {
                match n.get("tolerationSeconds") {
                    Some(ts) => {
                        m.insert("tolerationSeconds".into(), ts.clone());
                    }
                    None => {
                        m.remove("tolerationSeconds");
                    }
                }
            }
            semantic_eq(Some(&oc), Some(n))
        });
        if !found {
            return vec![FieldError::forbidden(
                path,
                "existing toleration can not be modified except its tolerationSeconds",
            )];
        }
    }
    validate_tolerations(new, path)
}

fn go_field_name(json_name: &str) -> String {
    let mut c = json_name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Simplified stand-in for upstream's `cmp.Diff(oldPod.Spec, mungedPodSpec)`:
/// one `-`/`+` pair per differing top-level spec field, values as JSON.
fn spec_diff(old: &Value, new: &Value) -> String {
    let mut keys: Vec<&String> = Vec::new();
    for m in [old.as_object(), new.as_object()].into_iter().flatten() {
        for k in m.keys() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let mut s = String::from("  core.PodSpec{\n");
    for k in keys {
        let (o, n) = (old.get(k), new.get(k));
        if !semantic_eq(o, n) {
            let show =
                |v: Option<&Value>| v.map(Value::to_string).unwrap_or_else(|| "nil".to_string());
            s.push_str(&format!(
                "- \t{}: {},\n+ \t{}: {},\n",
                go_field_name(k),
                show(o),
                go_field_name(k),
                show(n)
            ));
        }
    }
    s.push_str("  }\n");
    s
}

/// `ValidatePodUpdate` (the Pod QoS check is not reproduced).
pub fn validate_pod_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_pod_metadata_and_spec(obj));
    let (new_spec, old_spec) = (spec_of(obj), spec_of(old));
    for f in ["containers", "initContainers"] {
        let (e, stop) =
            validate_container_updates(arr_of(new_spec, f), arr_of(old_spec, f), &child("spec", f));
        errs.extend(e);
        if stop {
            return errs;
        }
    }
    let ads_path = "spec.activeDeadlineSeconds";
    match (
        int_of(new_spec, "activeDeadlineSeconds"),
        int_of(old_spec, "activeDeadlineSeconds"),
    ) {
        (Some(n), old_ads) => {
            if !(0..=MAX_INT32).contains(&n) {
                errs.push(FieldError::invalid(
                    ads_path,
                    n,
                    inclusive_range_error(0, MAX_INT32),
                ));
                return errs;
            }
            if old_ads.is_some_and(|o| o < n) {
                errs.push(FieldError::invalid(
                    ads_path,
                    n,
                    "must be less than or equal to previous value",
                ));
                return errs;
            }
        }
        (None, Some(_)) => {
            errs.push(FieldError::invalid(
                ads_path,
                Value::Null,
                "must not update from a positive integer to nil value",
            ));
        }
        (None, None) => {}
    }
    errs.extend(validate_only_added_tolerations(
        arr_of(new_spec, "tolerations"),
        arr_of(old_spec, "tolerations"),
        "spec.tolerations",
    ));
    if semantic_eq(Some(new_spec), Some(old_spec)) {
        return errs;
    }
    // Munge the updatable fields back to their old values, then compare.
    let mut munged = new_spec.clone();
    if let Some(m) = munged.as_object_mut() {
        for f in ["containers", "initContainers"] {
            if let Some(list) = m.get_mut(f).and_then(Value::as_array_mut) {
                for (i, c) in list.iter_mut().enumerate() {
                    let old_image = arr_of(old_spec, f)
                        .get(i)
                        .and_then(|o| o.get("image"))
                        .cloned();
                    if let (Some(cm), Some(img)) = (c.as_object_mut(), old_image) {
                        cm.insert("image".into(), img);
                    }
                }
            }
        }
        for f in ["activeDeadlineSeconds", "schedulingGates", "tolerations"] {
            match old_spec.get(f) {
                Some(v) => {
                    m.insert(f.into(), v.clone());
                }
                None => {
                    m.remove(f);
                }
            }
        }
        let old_tgps = int_of(old_spec, "terminationGracePeriodSeconds");
        if old_tgps.is_some_and(|v| v < 0)
            && int_of(new_spec, "terminationGracePeriodSeconds") == Some(1)
        {
            m.insert(
                "terminationGracePeriodSeconds".into(),
                old_spec["terminationGracePeriodSeconds"].clone(),
            );
        }
    }
    if !semantic_eq(Some(&munged), Some(old_spec)) {
        errs.push(FieldError::forbidden(
            "spec",
            format!(
                "{POD_UPDATE_FORBIDDEN_MSG}\n{}",
                spec_diff(old_spec, &munged)
            ),
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// apps: Deployments and ReplicaSets
// ---------------------------------------------------------------------------

/// `ValidatePodTemplateSpec`: the template's labels and annotations, its pod
/// spec, and no ephemeral containers.
pub fn validate_pod_template_spec(template: &Value, path: &str) -> Vec<FieldError> {
    let tmeta = meta_of(template);
    let mut errs = validate_labels(tmeta.get("labels"), &child(path, "labels"));
    errs.extend(validate_annotations(
        tmeta.get("annotations"),
        &child(path, "annotations"),
    ));
    let spec = spec_of(template);
    let spec_path = child(path, "spec");
    errs.extend(validate_pod_spec(spec, &spec_path));
    if !arr_of(spec, "ephemeralContainers").is_empty() {
        errs.push(FieldError::forbidden(
            child(&spec_path, "ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// `ValidatePodTemplate` (core/v1 PodTemplate create).
pub fn validate_pod_template(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_pod_template_spec(
        obj.get("template").unwrap_or(&Value::Null),
        "template",
    ));
    errs
}

/// `ValidatePodTemplateUpdate`.
pub fn validate_pod_template_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    errs.extend(validate_pod_template_spec(
        obj.get("template").unwrap_or(&Value::Null),
        "template",
    ));
    errs
}

/// `ValidatePodTemplateSpec` + the ReplicaSet/Deployment template rules.
pub fn validate_pod_template_for_replica_set(
    template: &Value,
    selector: Option<&Value>,
    path: &str,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let tmeta = meta_of(template);
    if selector_kind(selector) != SelectorKind::Everything
        && !selector_matches(selector, tmeta.get("labels"))
    {
        errs.push(FieldError::invalid_repr(
            child(&child(path, "metadata"), "labels"),
            go_string_map_repr(tmeta.get("labels")),
            "`selector` does not match template `labels`",
        ));
    }
    errs.extend(validate_pod_template_spec(template, path));
    let spec = spec_of(template);
    let spec_path = child(path, "spec");
    let rp = str_of(spec, "restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(
            child(&spec_path, "restartPolicy"),
            rp,
            &["Always"],
        ));
    }
    if let Some(ads) = spec.get("activeDeadlineSeconds").filter(|v| !v.is_null()) {
        errs.push(FieldError::invalid(
            child(&spec_path, "activeDeadlineSeconds"),
            ads.clone(),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
    errs
}

/// Selector presence/format plus the template checks shared by Deployments and ReplicaSets.
fn validate_selector_and_template(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let sel_path = child(path, "selector");
    let selector = spec.get("selector").filter(|v| !v.is_null());
    match selector {
        None => errs.push(FieldError::required(sel_path.as_str(), "")),
        Some(sel) => {
            errs.extend(validate_label_selector(Some(sel), &sel_path));
            if selector_kind(Some(sel)) == SelectorKind::Everything {
                errs.push(FieldError::invalid_repr(
                    sel_path.as_str(),
                    label_selector_repr(Some(sel)),
                    "empty selector is invalid for deployment",
                ));
            }
        }
    }
    if selector_kind(selector) == SelectorKind::Error {
        errs.push(FieldError::invalid_repr(
            sel_path,
            label_selector_repr(selector),
            "invalid label selector",
        ));
    } else {
        let template = spec.get("template").unwrap_or(&Value::Null);
        errs.extend(validate_pod_template_for_replica_set(
            template,
            selector,
            &child(path, "template"),
        ));
    }
    errs
}

/// IntOrString as JSON: `(is_string, string form, int value)`.
fn int_or_string(v: Option<&Value>) -> (bool, String, i64) {
    match v {
        Some(Value::String(s)) => (true, s.clone(), s.parse::<i64>().unwrap_or(0)),
        Some(Value::Number(n)) => (false, n.to_string(), n.as_i64().unwrap_or(0)),
        _ => (false, "0".to_string(), 0),
    }
}

fn percent_value(v: Option<&Value>) -> Option<i64> {
    let (is_str, s, _) = int_or_string(v);
    if !is_str || !is_valid_percent(&s).is_empty() {
        return None;
    }
    s.trim_end_matches('%').parse::<i64>().ok()
}

fn validate_positive_int_or_percent(v: Option<&Value>, path: &str) -> Vec<FieldError> {
    let (is_str, s, i) = int_or_string(v);
    if is_str {
        // IntOrString implements fmt.Stringer: printed unquoted.
        is_valid_percent(&s)
            .into_iter()
            .map(|m| FieldError::invalid_repr(path, s.as_str(), m))
            .collect()
    } else {
        validate_nonnegative(i, path)
    }
}

fn validate_deployment_strategy(strategy: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ru = strategy.get("rollingUpdate").filter(|v| !v.is_null());
    match str_of(strategy, "type") {
        "Recreate" => {
            if ru.is_some() {
                errs.push(FieldError::forbidden(
                    child(path, "rollingUpdate"),
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => match ru {
            None => errs.push(FieldError::required(
                child(path, "rollingUpdate"),
                "this should be defaulted and never be nil",
            )),
            Some(ru) => {
                let rp = child(path, "rollingUpdate");
                let mu_path = child(&rp, "maxUnavailable");
                let (mu, ms) = (ru.get("maxUnavailable"), ru.get("maxSurge"));
                errs.extend(validate_positive_int_or_percent(mu, &mu_path));
                errs.extend(validate_positive_int_or_percent(
                    ms,
                    &child(&rp, "maxSurge"),
                ));
                let value = |v| percent_value(v).unwrap_or_else(|| int_or_string(v).2);
                if value(mu) == 0 && value(ms) == 0 {
                    errs.push(FieldError::invalid_repr(
                        mu_path.as_str(),
                        int_or_string(mu).1,
                        "may not be 0 when `maxSurge` is 0",
                    ));
                }
                if percent_value(mu).is_some_and(|p| p > 100) {
                    errs.push(FieldError::invalid_repr(
                        mu_path,
                        int_or_string(mu).1,
                        "must not be greater than 100%",
                    ));
                }
            }
        },
        other => {
            let ru_repr = if ru.is_some() {
                "(*apps.RollingUpdateDeployment)(0xc000000000)"
            } else {
                "(*apps.RollingUpdateDeployment)(nil)"
            };
            let repr = format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:{ru_repr}}}",
                crate::apimachinery::validation::go_quote(other)
            );
            errs.push(FieldError::not_supported(
                path,
                go_repr(repr),
                &["Recreate", "RollingUpdate"],
            ));
        }
    }
    errs
}

/// `ValidateDeploymentSpec`.
fn validate_deployment_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_nonnegative(
        int_of(spec, "replicas").unwrap_or(0),
        &child(path, "replicas"),
    );
    errs.extend(validate_selector_and_template(spec, path));
    errs.extend(validate_deployment_strategy(
        spec.get("strategy").unwrap_or(&Value::Null),
        &child(path, "strategy"),
    ));
    let min_ready = int_of(spec, "minReadySeconds").unwrap_or(0);
    errs.extend(validate_nonnegative(
        min_ready,
        &child(path, "minReadySeconds"),
    ));
    if let Some(rhl) = int_of(spec, "revisionHistoryLimit") {
        errs.extend(validate_nonnegative(
            rhl,
            &child(path, "revisionHistoryLimit"),
        ));
    }
    if let Some(pds) = int_of(spec, "progressDeadlineSeconds") {
        let p = child(path, "progressDeadlineSeconds");
        errs.extend(validate_nonnegative(pds, &p));
        if pds <= min_ready {
            errs.push(FieldError::invalid(
                p,
                pds,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

pub fn validate_deployment(obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_deployment_spec(spec_of(obj), "spec"));
    errs
}

/// `ValidateReplicaSetSpec`.
fn validate_replica_set_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = validate_nonnegative(
        int_of(spec, "replicas").unwrap_or(0),
        &child(path, "replicas"),
    );
    errs.extend(validate_nonnegative(
        int_of(spec, "minReadySeconds").unwrap_or(0),
        &child(path, "minReadySeconds"),
    ));
    errs.extend(validate_selector_and_template(spec, path));
    errs
}

pub fn validate_replica_set(obj: &Value, _old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_replica_set_spec(spec_of(obj), "spec"));
    errs
}

fn validate_selector_immutable(new_spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    let (n, o) = (new_spec.get("selector"), old_spec.get("selector"));
    if semantic_eq(n, o) {
        Vec::new()
    } else {
        vec![FieldError::invalid_repr(
            "spec.selector",
            label_selector_repr(n),
            FIELD_IMMUTABLE_ERROR_MSG,
        )]
    }
}

// ---------------------------------------------------------------------------
// Namespaces, ConfigMaps, Secrets, Nodes, Leases
// ---------------------------------------------------------------------------

pub fn validate_namespace(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), false, NameRule::Dns1123Label);
    for f in arr_of(spec_of(obj), "finalizers") {
        let f = value_as_plain_string(f);
        errs.extend(
            is_qualified_name(&f)
                .into_iter()
                .map(|m| FieldError::invalid("spec.finalizers", f.as_str(), m)),
        );
        errs.extend(validate_kube_finalizer_name(&f, "spec.finalizers"));
    }
    errs
}

/// Decoded length of a base64 string (as stored for `[]byte` fields).
fn base64_decoded_len(s: &str) -> usize {
    let trimmed = s.trim_end_matches('=');
    trimmed.len() * 3 / 4
}

pub fn validate_config_map(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    let mut total = 0usize;
    let binary = obj.get("binaryData").and_then(Value::as_object);
    for (k, v) in obj
        .get("data")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let p = key("data", k);
        errs.extend(
            is_config_map_key(k)
                .into_iter()
                .map(|m| FieldError::invalid(p.as_str(), k.as_str(), m)),
        );
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(FieldError::invalid(
                p,
                k.as_str(),
                "duplicate of key present in binaryData",
            ));
        }
        total += value_as_plain_string(v).len();
    }
    for (k, v) in binary.into_iter().flatten() {
        let p = key("binaryData", k);
        errs.extend(
            is_config_map_key(k)
                .into_iter()
                .map(|m| FieldError::invalid(p.as_str(), k.as_str(), m)),
        );
        total += base64_decoded_len(&value_as_plain_string(v));
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
    errs
}

fn validate_immutable_data(obj: &Value, old: &Value, fields: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if old.get("immutable").and_then(Value::as_bool) == Some(true) {
        if obj.get("immutable").and_then(Value::as_bool) != Some(true) {
            errs.push(FieldError::forbidden("immutable", IMMUTABLE_WHEN_SET));
        }
        for f in fields {
            if !semantic_eq(obj.get(*f), old.get(*f)) {
                errs.push(FieldError::forbidden(*f, IMMUTABLE_WHEN_SET));
            }
        }
    }
    errs
}

pub fn validate_secret(obj: &Value) -> Vec<FieldError> {
    let meta = meta_of(obj);
    let mut errs = core_object_meta(meta, true, NameRule::Dns1123Subdomain);
    // stringData is merged into data by conversion before validation upstream.
    let data = obj.get("data").and_then(Value::as_object);
    let string_data = obj.get("stringData").and_then(Value::as_object);
    let mut keys: Vec<&String> = data.into_iter().flat_map(|d| d.keys()).collect();
    for k in string_data.into_iter().flat_map(|d| d.keys()) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut total = 0usize;
    for k in &keys {
        let p = key("data", k);
        errs.extend(
            is_config_map_key(k)
                .into_iter()
                .map(|m| FieldError::invalid(p.as_str(), k.as_str(), m)),
        );
        total += match string_data.and_then(|s| s.get(*k)) {
            Some(v) => value_as_plain_string(v).len(),
            None => data
                .and_then(|d| d.get(*k))
                .map(|v| base64_decoded_len(&value_as_plain_string(v)))
                .unwrap_or(0),
        };
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("data", MAX_SECRET_SIZE));
    }
    let has = |k: &str| keys.iter().any(|x| x.as_str() == k);
    match str_of(obj, "type") {
        "kubernetes.io/service-account-token" => {
            let ann = meta
                .get("annotations")
                .and_then(|a| a.get("kubernetes.io/service-account.name"));
            if ann
                .map(value_as_plain_string)
                .unwrap_or_default()
                .is_empty()
            {
                errs.push(FieldError::required(
                    key("metadata.annotations", "kubernetes.io/service-account.name"),
                    "",
                ));
            }
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => {
            errs.push(FieldError::required(key("data", ".dockercfg"), ""));
        }
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            errs.push(FieldError::required(key("data", ".dockerconfigjson"), ""));
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(FieldError::required(key("data", "username"), ""));
            errs.push(FieldError::required(key("data", "password"), ""));
        }
        "kubernetes.io/ssh-auth" => {
            let empty = match string_data.and_then(|s| s.get("ssh-privatekey")) {
                Some(v) => value_as_plain_string(v).is_empty(),
                None => data
                    .and_then(|d| d.get("ssh-privatekey"))
                    .map(value_as_plain_string)
                    .unwrap_or_default()
                    .is_empty(),
            };
            if empty {
                errs.push(FieldError::required(key("data", "ssh-privatekey"), ""));
            }
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.push(FieldError::required(key("data", k), ""));
                }
            }
        }
        _ => {}
    }
    errs
}

fn taint_repr(t: &Value) -> String {
    let added = if t.get("timeAdded").is_some_and(|v| !v.is_null()) {
        "(*v1.Time)(0xc000000000)"
    } else {
        "(*v1.Time)(nil)"
    };
    let q = crate::apimachinery::validation::go_quote;
    format!(
        "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:{added}}}",
        q(str_of(t, "key")),
        q(str_of(t, "value")),
        q(str_of(t, "effect"))
    )
}

/// `validateNodeTaints` (upstream reports these under `metadata.taints`).
fn validate_node_taints(taints: &[Value], path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut unique: BTreeSet<(String, String)> = BTreeSet::new();
    for (i, t) in taints.iter().enumerate() {
        let p = index(path, i);
        let k = str_of(t, "key");
        errs.extend(validate_label_name(k, &child(&p, "key")));
        let v = str_of(t, "value");
        let msgs = is_valid_label_value(v);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(child(&p, "value"), v, msgs.join(";")));
        }
        let effect = str_of(t, "effect");
        errs.extend(validate_taint_effect(effect, false, &child(&p, "effect")));
        if !unique.insert((effect.to_string(), k.to_string())) {
            let mut e = FieldError::duplicate(p.as_str(), go_repr(taint_repr(t)));
            e.detail = "taints must be unique by key and effect pair".to_string();
            errs.push(e);
        }
    }
    errs
}

pub fn validate_node(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), false, NameRule::Dns1123Subdomain);
    let taints = arr_of(spec_of(obj), "taints");
    if !taints.is_empty() {
        errs.extend(validate_node_taints(taints, "metadata.taints"));
    }
    errs
}

fn validate_node_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta_update(meta_of(obj), meta_of(old));
    let (ns, os) = (spec_of(obj), spec_of(old));
    let old_cidrs = arr_of(os, "podCIDRs");
    if !old_cidrs.is_empty() && old_cidrs != arr_of(ns, "podCIDRs") {
        errs.push(FieldError::forbidden(
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ));
    }
    let old_pid = str_of(os, "providerID");
    if !old_pid.is_empty() && old_pid != str_of(ns, "providerID") {
        errs.push(FieldError::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs
}

fn validate_lease_spec(spec: &Value, path: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(d) = int_of(spec, "leaseDurationSeconds")
        && d <= 0
    {
        errs.push(FieldError::invalid(
            child(path, "leaseDurationSeconds"),
            d,
            "must be greater than 0",
        ));
    }
    if let Some(t) = int_of(spec, "leaseTransitions")
        && t < 0
    {
        errs.push(FieldError::invalid(
            child(path, "leaseTransitions"),
            t,
            IS_NEGATIVE_ERROR_MSG,
        ));
    }
    if !str_of(spec, "preferredHolder").is_empty() && str_of(spec, "strategy").is_empty() {
        errs.push(FieldError::forbidden(
            child(path, "preferredHolder"),
            "may only be specified if `strategy` is defined",
        ));
    }
    errs
}

pub fn validate_lease(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1123Subdomain);
    errs.extend(validate_lease_spec(spec_of(obj), "spec"));
    errs
}

// ---------------------------------------------------------------------------
// Events (core/v1 legacy rules; events.k8s.io/v1 strict rules)
// ---------------------------------------------------------------------------

const REPORTING_INSTANCE_LENGTH_LIMIT: usize = 128;
const ACTION_LENGTH_LIMIT: usize = 128;
const REASON_LENGTH_LIMIT: usize = 128;
const NOTE_LENGTH_LIMIT: usize = 1024;

/// Upstream reports events.k8s.io errors with the internal (core) field names.
fn event_field_path(v1_field: &str) -> &str {
    match v1_field {
        "regarding" => "involvedObject",
        "note" => "message",
        other => other,
    }
}

fn non_empty(v: Option<&Value>) -> bool {
    v.is_some_and(|v| !v.is_null() && v.as_str() != Some(""))
}

/// `legacyValidateEvent`; `events_v1` selects the events.k8s.io/v1 field names.
fn legacy_validate_event(obj: &Value, events_v1: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = str_of(meta_of(obj), "namespace");
    let involved = obj
        .get(if events_v1 {
            "regarding"
        } else {
            "involvedObject"
        })
        .unwrap_or(&Value::Null);
    let involved_ns = str_of(involved, "namespace");
    let mismatch = || {
        FieldError::invalid(
            "involvedObject.namespace",
            involved_ns,
            "does not match event.namespace",
        )
    };
    if !non_empty(obj.get("eventTime")) {
        if involved_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let (rc_json, rc_path) = if events_v1 {
            ("reportingController", "reportingController")
        } else {
            ("reportingComponent", "source")
        };
        let rc = str_of(obj, rc_json);
        if rc.is_empty() {
            errs.push(FieldError::required(rc_path, ""));
        }
        errs.extend(
            is_qualified_name(rc)
                .into_iter()
                .map(|m| FieldError::invalid(rc_path, rc, m)),
        );
        errs.extend(event_length_checks(
            obj,
            &[
                ("reportingInstance", REPORTING_INSTANCE_LENGTH_LIMIT),
                ("action", ACTION_LENGTH_LIMIT),
            ],
        ));
    }
    errs.extend(
        is_dns1123_subdomain(ns)
            .into_iter()
            .map(|m| FieldError::invalid("namespace", ns, m)),
    );
    errs
}

fn event_length_checks(obj: &Value, fields: &[(&str, usize)]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (f, limit) in fields {
        let v = str_of(obj, f);
        if v.is_empty() {
            errs.push(FieldError::required(*f, ""));
        }
        if v.len() > *limit {
            errs.push(FieldError::invalid(
                *f,
                "",
                format!("can have at most {limit} characters"),
            ));
        }
    }
    errs
}

/// `ValidateEventCreate` for events.k8s.io/v1 (strict rules).
pub fn validate_events_v1(obj: &Value) -> Vec<FieldError> {
    let mut errs = legacy_validate_event(obj, true);
    errs.extend(core_object_meta(
        meta_of(obj),
        true,
        NameRule::Dns1123Subdomain,
    ));
    if let Some(series) = obj.get("series").filter(|v| !v.is_null()) {
        if int_of(series, "count").unwrap_or(0) < 2 {
            errs.push(FieldError::invalid(
                "series.count",
                "",
                "should be at least 2",
            ));
        }
        if !non_empty(series.get("lastObservedTime")) {
            errs.push(FieldError::required("series.lastObservedTime", ""));
        }
    }
    if !non_empty(obj.get("eventTime")) {
        errs.push(FieldError::required("eventTime", ""));
    }
    let t = str_of(obj, "type");
    if t != "Normal" && t != "Warning" {
        errs.push(FieldError::invalid(
            "type",
            "",
            format!("has invalid value: {t}"),
        ));
    }
    for (json_field, path) in [
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
    ] {
        if non_empty(obj.get(json_field)) {
            errs.push(FieldError::invalid(path, "", "needs to be unset"));
        }
    }
    if int_of(obj, "deprecatedCount").unwrap_or(0) != 0 {
        errs.push(FieldError::invalid("count", "", "needs to be unset"));
    }
    let src = obj.get("deprecatedSource").unwrap_or(&Value::Null);
    if !str_of(src, "component").is_empty() || !str_of(src, "host").is_empty() {
        errs.push(FieldError::invalid("source", "", "needs to be unset"));
    }
    let rc = str_of(obj, "reportingController");
    if rc.is_empty() {
        errs.push(FieldError::required("reportingController", ""));
    }
    errs.extend(
        is_qualified_name(rc)
            .into_iter()
            .map(|m| FieldError::invalid("reportingController", rc, m)),
    );
    errs.extend(event_length_checks(
        obj,
        &[
            ("reportingInstance", REPORTING_INSTANCE_LENGTH_LIMIT),
            ("action", ACTION_LENGTH_LIMIT),
            ("reason", REASON_LENGTH_LIMIT),
        ],
    ));
    if str_of(obj, "note").len() > NOTE_LENGTH_LIMIT {
        errs.push(FieldError::invalid(
            "note",
            "",
            format!("can have at most {NOTE_LENGTH_LIMIT} characters"),
        ));
    }
    errs
}

// ---------------------------------------------------------------------------
// Services (subset)
// ---------------------------------------------------------------------------

const SERVICE_TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

fn cluster_ips(spec: &Value) -> Vec<String> {
    let ips: Vec<String> = arr_of(spec, "clusterIPs")
        .iter()
        .map(value_as_plain_string)
        .collect();
    if ips.is_empty() {
        let ip = str_of(spec, "clusterIP");
        if !ip.is_empty() {
            return vec![ip.to_string()];
        }
    }
    ips
}

fn validate_service_fields(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let spec = spec_of(obj);
    let stype = str_of(spec, "type");
    let headless = str_of(spec, "clusterIP") == "None";
    let ports = arr_of(spec, "ports");
    if ports.is_empty() && !headless && stype != "ExternalName" {
        errs.push(FieldError::required("spec.ports", ""));
    }
    if stype == "ExternalName" {
        if !arr_of(spec, "clusterIPs").is_empty() {
            errs.push(FieldError::forbidden(
                "spec.clusterIPs",
                "may not be set for ExternalName services",
            ));
        }
        let cname = str_of(spec, "externalName");
        let cname = cname.strip_suffix('.').unwrap_or(cname);
        if cname.is_empty() {
            errs.push(FieldError::required("spec.externalName", ""));
        } else {
            errs.extend(
                is_dns1123_subdomain(cname)
                    .into_iter()
                    .map(|m| FieldError::invalid("spec.externalName", cname, m)),
            );
        }
    }
    let require_name = ports.len() > 1;
    let mut names = BTreeSet::new();
    for (i, sp) in ports.iter().enumerate() {
        let p = index("spec.ports", i);
        let name = str_of(sp, "name");
        if require_name && name.is_empty() {
            errs.push(FieldError::required(child(&p, "name"), ""));
        } else if !name.is_empty() {
            errs.extend(
                is_dns1123_label(name)
                    .into_iter()
                    .map(|m| FieldError::invalid(child(&p, "name"), name, m)),
            );
            if !names.insert(name) {
                errs.push(FieldError::duplicate(child(&p, "name"), name));
            }
        }
        let port = int_of(sp, "port").unwrap_or(0);
        errs.extend(
            is_valid_port_num(port)
                .into_iter()
                .map(|m| FieldError::invalid(child(&p, "port"), port, m)),
        );
        errs.extend(validate_protocol(
            str_of(sp, "protocol"),
            &child(&p, "protocol"),
        ));
        let tp = child(&p, "targetPort");
        match sp.get("targetPort") {
            Some(Value::String(s)) => {
                errs.extend(
                    is_valid_port_name(s)
                        .into_iter()
                        .map(|m| FieldError::invalid(tp.as_str(), s.as_str(), m)),
                );
            }
            other => {
                let n = other.and_then(Value::as_i64).unwrap_or(0);
                errs.extend(
                    is_valid_port_num(n)
                        .into_iter()
                        .map(|m| FieldError::invalid(tp.as_str(), n, m)),
                );
            }
        }
        if let Some(ap) = sp.get("appProtocol").and_then(Value::as_str) {
            errs.extend(validate_label_name(ap, &child(&p, "appProtocol")));
        }
        if stype == "ClusterIP" && int_of(sp, "nodePort").unwrap_or(0) != 0 {
            errs.push(FieldError::forbidden(
                child(&p, "nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
    }
    errs.extend(validate_labels(spec.get("selector"), "spec.selector"));
    match str_of(spec, "sessionAffinity") {
        "ClientIP" | "None" => {}
        "" => errs.push(FieldError::required("spec.sessionAffinity", "")),
        other => errs.push(FieldError::not_supported(
            "spec.sessionAffinity",
            other,
            &["ClientIP", "None"],
        )),
    }
    if !SERVICE_TYPES.contains(&stype) {
        errs.push(FieldError::not_supported(
            "spec.type",
            stype,
            &SERVICE_TYPES,
        ));
    }
    errs
}

pub fn validate_service(obj: &Value) -> Vec<FieldError> {
    let mut errs = core_object_meta(meta_of(obj), true, NameRule::Dns1035Label);
    errs.extend(validate_service_fields(obj));
    errs
}

/// `validateUpgradeDowngradeClusterIPs` (primary cluster IP may not change).
fn validate_cluster_ips_update(new_spec: &Value, old_spec: &Value) -> Vec<FieldError> {
    if str_of(new_spec, "type") == "ExternalName" || str_of(old_spec, "type") == "ExternalName" {
        return Vec::new();
    }
    let headless = |s: &Value| str_of(s, "clusterIP") == "None";
    if headless(new_spec) && headless(old_spec) {
        return Vec::new();
    }
    let (n, o) = (cluster_ips(new_spec), cluster_ips(old_spec));
    let p = "spec.clusterIPs[0]";
    let repr = || go_repr(go_string_slice_repr(&n));
    let mut errs = Vec::new();
    if n.len() == o.len() {
        for (a, b) in o.iter().zip(&n) {
            if a != b {
                errs.push(FieldError::invalid(p, repr(), "may not change once set"));
            }
        }
    } else if o.len() > n.len() {
        if n.is_empty() {
            errs.push(FieldError::invalid(
                p,
                repr(),
                "primary clusterIP can not be unset",
            ));
        }
        if let (Some(a), Some(b)) = (o.first(), n.first())
            && a != b
        {
            errs.push(FieldError::invalid(p, repr(), "may not change once set"));
        }
    } else if let (Some(a), Some(b)) = (o.first(), n.first())
        && a != b
    {
        errs.push(FieldError::invalid(p, repr(), "may not change once set"));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apimachinery::validation::invalid_status_message;
    use serde_json::json;

    /// Validates as the served kind `key` does (unknown keys: no kind
    /// rules, namespaced if the object names a namespace).
    fn validate(key: &str, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        match crate::registry::served::Registry::builtin().by_key(key) {
            Some(r) => super::validate(&*r.strategy, r.namespaced, obj, old),
            None => {
                let namespaced = !str_of(meta_of(obj), "namespace").is_empty();
                super::validate(&crate::registry::kind::Unstructured, namespaced, obj, old)
            }
        }
    }

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    fn pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "resourceVersion": "1"},
            "spec": {
                "containers": [{"name": "c", "image": "nginx", "terminationMessagePolicy": "File", "imagePullPolicy": "Always"}],
                "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30
            }
        })
    }

    fn deployment() -> Value {
        let mut tpl = pod();
        let spec = tpl["spec"].take();
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "resourceVersion": "1"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": spec},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600
            }
        })
    }

    #[test]
    fn valid_objects_pass() {
        assert!(validate("pods", &pod(), None).is_empty());
        assert!(validate("apps/deployments", &deployment(), None).is_empty());
        assert!(validate("pods", &pod(), Some(&pod())).is_empty());
        assert!(validate("apps/deployments", &deployment(), Some(&deployment())).is_empty());
    }

    #[test]
    fn pod_containers() {
        let mut p = pod();
        p["spec"]["containers"] = json!([]);
        assert_eq!(
            msgs(&validate("pods", &p, None)),
            vec!["spec.containers: Required value"]
        );

        let mut p = pod();
        p["spec"]["containers"][0]["image"] = json!("");
        let errs = validate("pods", &p, None);
        assert_eq!(
            invalid_status_message("Pod", "p", &errs),
            "Pod \"p\" is invalid: spec.containers[0].image: Required value"
        );

        let mut p = pod();
        let c = p["spec"]["containers"][0].clone();
        p["spec"]["initContainers"] = json!([c.clone()]);
        p["spec"]["containers"] = json!([c.clone(), c]);
        p["spec"]["containers"][1]["name"] = json!("C_1");
        assert_eq!(
            msgs(&validate("pods", &p, None)),
            vec![
                "spec.containers[1].name: Invalid value: \"C_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                "spec.initContainers[0].name: Duplicate value: \"c\"",
            ]
        );
    }

    #[test]
    fn pod_ports_policies_env() {
        let mut p = pod();
        p["spec"]["containers"][0]["ports"] = json!([
            {"containerPort": 0, "protocol": "TCP"},
            {"containerPort": 70000, "protocol": "HTTP", "name": "web"},
            {"containerPort": 80, "protocol": "TCP", "name": "web", "hostPort": 80},
            {"containerPort": 81, "protocol": "TCP", "hostPort": 80}
        ]);
        p["spec"]["restartPolicy"] = json!("Sometimes");
        p["spec"]["dnsPolicy"] = json!("Foo");
        p["spec"]["containers"][0]["env"] = json!([{"name": "A=B"}, {"name": "X", "value": "v", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]);
        assert_eq!(
            msgs(&validate("pods", &p, None)),
            vec![
                "spec.containers[0].ports[0].containerPort: Required value",
                "spec.containers[0].ports[1].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.containers[0].ports[1].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                "spec.containers[0].ports[2].name: Duplicate value: \"web\"",
                "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
                "spec.containers[0].env[1].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty",
                "spec.containers[0].ports[3].hostPort: Duplicate value: \"TCP//80\"",
                "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
                "spec.dnsPolicy: Unsupported value: \"Foo\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
            ]
        );
    }

    #[test]
    fn pod_resources() {
        let mut p = pod();
        p["spec"]["containers"][0]["resources"] = json!({
            "limits": {"cpu": "500m", "memory": "1Gi", "example.com/gpu": "1"},
            "requests": {"cpu": "1", "memory": "512Mi", "example.com/gpu": "2", "disk": "1"}
        });
        assert_eq!(
            msgs(&validate("pods", &p, None)),
            vec![
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
                "spec.containers[0].resources.requests: Invalid value: \"2\": must be equal to example.com/gpu limit of 1",
                "spec.containers[0].resources.requests[disk]: Invalid value: disk: must be a standard resource for containers",
            ]
        );
        let mut p = pod();
        p["spec"]["containers"][0]["resources"] = json!({"requests": {"memory": "-1Gi"}});
        assert_eq!(
            msgs(&validate("pods", &p, None)),
            vec![
                "spec.containers[0].resources.requests[memory]: Invalid value: \"-1Gi\": must be greater than or equal to 0"
            ]
        );
    }

    #[test]
    fn quantities() {
        let c = |s: &str| Quantity::parse(s).map(|q| q.canonical());
        assert_eq!(c("1000m").as_deref(), Some("1"));
        assert_eq!(c("0.5").as_deref(), Some("500m"));
        assert_eq!(c("2000").as_deref(), Some("2k"));
        assert_eq!(c("1024Mi").as_deref(), Some("1Gi"));
        assert_eq!(c("512").as_deref(), Some("512"));
        assert_eq!(c("1.5Ki").as_deref(), Some("1536"));
        assert_eq!(c("1e3").as_deref(), Some("1e3"));
        assert_eq!(c("0m").as_deref(), Some("0"));
        assert_eq!(c("1x"), None);
        assert_eq!(c("1e-5000"), None);
        assert_eq!(c("1e-900").as_deref(), Some("1e-9"));
        assert_eq!(c("0.0000000001").as_deref(), Some("1n"));
        assert_eq!(c("9".repeat(60).as_str()), None);
        assert_eq!(c("1.5").as_deref(), Some("1500m"));
        let a = Quantity::parse("1Gi");
        let b = Quantity::parse("1073741824");
        assert_eq!(a.zip(b).map(|(a, b)| a.cmp(&b)), Some(Ordering::Equal));
    }

    #[test]
    fn pod_volumes() {
        let mut p = pod();
        p["spec"]["volumes"] = json!([
            {"name": "data", "emptyDir": {}},
            {"name": "data", "emptyDir": {}},
            {"name": "both", "emptyDir": {}, "configMap": {"name": "x"}},
            {"name": "none"}
        ]);
        p["spec"]["containers"][0]["volumeMounts"] =
            json!([{"name": "data", "mountPath": "/d"}, {"name": "nope", "mountPath": "/d"}]);
        assert_eq!(
            msgs(&validate("pods", &p, None)),
            vec![
                "spec.volumes[1].name: Duplicate value: \"data\"",
                "spec.volumes[2].configMap: Forbidden: may not specify more than 1 volume type",
                "spec.volumes[3]: Required value: must specify a volume type",
                "spec.containers[0].volumeMounts[1].name: Not found: \"nope\"",
                "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/d\": must be unique",
            ]
        );
    }

    #[test]
    fn pod_update_rules() {
        let old = pod();
        let mut new = pod();
        new["spec"]["containers"][0]["image"] = json!("nginx:2");
        new["spec"]["activeDeadlineSeconds"] = json!(100);
        new["spec"]["tolerations"] =
            json!([{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]);
        assert!(validate("pods", &new, Some(&old)).is_empty());

        let mut new = pod();
        new["spec"]["restartPolicy"] = json!("Never");
        let errs = validate("pods", &new, Some(&old));
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].message(),
            format!(
                "Forbidden: {POD_UPDATE_FORBIDDEN_MSG}\n  core.PodSpec{{\n- \tRestartPolicy: \"Always\",\n+ \tRestartPolicy: \"Never\",\n  }}\n"
            )
        );
        assert!(errs[0].to_string().starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"));

        let mut new = pod();
        new["spec"]["containers"] = json!([]);
        let m = msgs(&validate("pods", &new, Some(&old)));
        assert_eq!(
            m,
            vec![
                "spec.containers: Required value",
                "spec.containers: Forbidden: pod updates may not add or remove containers"
            ]
        );

        let mut with_ads = pod();
        with_ads["spec"]["activeDeadlineSeconds"] = json!(10);
        let mut new = pod();
        new["spec"]["activeDeadlineSeconds"] = json!(20);
        assert_eq!(
            msgs(&validate("pods", &new, Some(&with_ads))),
            vec![
                "spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value"
            ]
        );
        let mut old_t = pod();
        old_t["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
        assert_eq!(
            msgs(&validate("pods", &pod(), Some(&old_t))),
            vec![
                "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
            ]
        );
        let mut negative = pod();
        negative["spec"]["terminationGracePeriodSeconds"] = json!(-5);
        let mut one = pod();
        one["spec"]["terminationGracePeriodSeconds"] = json!(1);
        assert!(validate("pods", &one, Some(&negative)).is_empty());
    }

    #[test]
    fn deployment_rules() {
        let mut d = deployment();
        d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
        d["spec"]["replicas"] = json!(-1);
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": "other"});
        let errs = validate("apps/deployments", &d, None);
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
                "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
            ]
        );
        assert!(
            invalid_status_message("Deployment.apps", "web", &errs)
                .starts_with("Deployment.apps \"web\" is invalid: [spec.replicas: ")
        );

        let mut d = deployment();
        d["spec"]["selector"] = json!({});
        assert_eq!(
            msgs(&validate("apps/deployments", &d, None)),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
            ]
        );
        let mut d = deployment();
        d["spec"].as_object_mut().map(|m| m.remove("selector"));
        assert_eq!(
            msgs(&validate("apps/deployments", &d, None)),
            vec![
                "spec.selector: Required value",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
            ]
        );

        let mut d = deployment();
        d["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": 0, "maxSurge": "0%"});
        d["spec"]["minReadySeconds"] = json!(700);
        d["spec"]["revisionHistoryLimit"] = json!(-2);
        assert_eq!(
            msgs(&validate("apps/deployments", &d, None)),
            vec![
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
                "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
                "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
            ]
        );
        let mut d = deployment();
        d["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": "150%", "maxSurge": "x"});
        assert_eq!(
            msgs(&validate("apps/deployments", &d, None)),
            vec![
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: x: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 150%: must not be greater than 100%",
            ]
        );
        let mut d = deployment();
        d["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {}});
        assert_eq!(
            msgs(&validate("apps/deployments", &d, None)),
            vec![
                "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
            ]
        );
        let mut d = deployment();
        d["spec"]["strategy"] = json!({"type": "Foo"});
        assert_eq!(
            msgs(&validate("apps/deployments", &d, None)),
            vec![
                "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"Foo\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""
            ]
        );
    }

    #[test]
    fn deployment_and_replicaset_update() {
        let old = deployment();
        let mut new = deployment();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "v": "2"}});
        new["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "v": "2"});
        assert_eq!(
            msgs(&validate("apps/deployments", &new, Some(&old))),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
            ]
        );
        let mut rs = deployment();
        rs["kind"] = json!("ReplicaSet");
        rs["spec"].as_object_mut().map(|m| m.remove("strategy"));
        assert!(validate("apps/replicasets", &rs, None).is_empty());
        let mut rs2 = rs.clone();
        rs2["spec"]["minReadySeconds"] = json!(-1);
        rs2["spec"]["template"]["spec"]["activeDeadlineSeconds"] = json!(5);
        assert_eq!(
            msgs(&validate("apps/replicasets", &rs2, Some(&rs))),
            vec![
                "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.spec.activeDeadlineSeconds: Invalid value: 5: activeDeadlineSeconds in ReplicaSet is not Supported",
            ]
        );
    }

    #[test]
    fn namespaces_and_meta() {
        let ns =
            json!({"metadata": {"name": "a.b"}, "spec": {"finalizers": ["kubernetes", "custom"]}});
        assert_eq!(
            msgs(&validate("namespaces", &ns, None)),
            vec![
                "metadata.name: Invalid value: \"a.b\": must not contain dots",
                "spec.finalizers: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
            ]
        );
        let ns = json!({"metadata": {"name": "ok", "finalizers": ["bad"]}});
        assert_eq!(
            msgs(&validate("namespaces", &ns, None)),
            vec![
                "metadata.finalizers[0]: Invalid value: \"bad\": name is neither a standard finalizer name nor is it fully qualified"
            ]
        );
        let cm = json!({"metadata": {"name": "x"}});
        assert_eq!(
            msgs(&validate("configmaps", &cm, None)),
            vec!["metadata.namespace: Required value"]
        );
        let old = json!({"metadata": {"name": "ok", "resourceVersion": "1"}});
        let new = json!({"metadata": {"name": "other", "resourceVersion": "1"}});
        assert_eq!(
            msgs(&validate("namespaces", &new, Some(&old))),
            vec![
                "metadata.name: Invalid value: \"other\": field is immutable",
                "metadata.name: Invalid value: \"other\": field is immutable"
            ]
        );
    }

    #[test]
    fn config_maps_and_secrets() {
        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a b": "1", "k": "v"}, "binaryData": {"k": "AAAA"}});
        assert_eq!(
            msgs(&validate("configmaps", &cm, None)),
            vec![
                "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                "data[k]: Invalid value: \"k\": duplicate of key present in binaryData",
            ]
        );
        let big = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "x".repeat(MAX_SECRET_SIZE + 1)}});
        assert_eq!(
            msgs(&validate("configmaps", &big, None)),
            vec![": Too long: must have at most 1048576 bytes"]
        );
        let old = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "immutable": true, "data": {"k": "v"}});
        let new = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "data": {"k": "w"}});
        assert_eq!(
            msgs(&validate("configmaps", &new, Some(&old))),
            vec![
                "immutable: Forbidden: field is immutable when `immutable` is set",
                "data: Forbidden: field is immutable when `immutable` is set",
            ]
        );
        let s_old = json!({"metadata": {"name": "s", "namespace": "d", "resourceVersion": "1"}, "type": "Opaque"});
        let s_new = json!({"metadata": {"name": "s", "namespace": "d", "resourceVersion": "1"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "AA=="}});
        assert_eq!(
            msgs(&validate("secrets", &s_new, Some(&s_old))),
            vec![
                "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
                "data[tls.key]: Required value",
            ]
        );
        let sa = json!({"metadata": {"name": "t", "namespace": "d"}, "type": "kubernetes.io/service-account-token"});
        assert_eq!(
            msgs(&validate("secrets", &sa, None)),
            vec!["metadata.annotations[kubernetes.io/service-account.name]: Required value"]
        );
        let ok = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/basic-auth", "stringData": {"username": "u"}});
        assert!(validate("secrets", &ok, None).is_empty());
    }

    #[test]
    fn nodes_leases_serviceaccounts() {
        let node = json!({"metadata": {"name": "n1"}, "spec": {"taints": [
            {"key": "k", "effect": "NoSchedule"}, {"key": "k", "effect": "NoSchedule"}, {"key": "j", "effect": "Bad"}
        ]}});
        assert_eq!(
            msgs(&validate("nodes", &node, None)),
            vec![
                "metadata.taints[1]: Duplicate value: core.Taint{Key:\"k\", Value:\"\", Effect:\"NoSchedule\", TimeAdded:(*v1.Time)(nil)}: taints must be unique by key and effect pair",
                "metadata.taints[2].effect: Unsupported value: \"Bad\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            ]
        );
        let old = json!({"metadata": {"name": "n1", "resourceVersion": "1"}, "spec": {"podCIDRs": ["10.0.0.0/24"], "providerID": "a"}});
        let new = json!({"metadata": {"name": "n1", "resourceVersion": "1"}, "spec": {"podCIDRs": ["10.0.1.0/24"], "providerID": "b"}});
        assert_eq!(
            msgs(&validate("nodes", &new, Some(&old))),
            vec![
                "spec.podCIDRs: Forbidden: node updates may not change podCIDR except from \"\" to valid",
                "spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid",
            ]
        );
        let lease = json!({"metadata": {"name": "l", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0, "leaseTransitions": -1, "preferredHolder": "x"}});
        assert_eq!(
            msgs(&validate("coordination.k8s.io/leases", &lease, None)),
            vec![
                "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
                "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
                "spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined",
            ]
        );
        let sa = json!({"metadata": {"name": "Bad", "namespace": "d"}});
        assert_eq!(validate("serviceaccounts", &sa, None).len(), 1);
    }

    #[test]
    fn events() {
        let ev = json!({"metadata": {"name": "e", "namespace": "ns1"}, "involvedObject": {"kind": "Pod", "namespace": "ns2"}});
        assert_eq!(
            msgs(&validate("events", &ev, None)),
            vec![
                "involvedObject.namespace: Invalid value: \"ns2\": does not match event.namespace"
            ]
        );
        let ok = json!({"metadata": {"name": "e.123", "namespace": "ns1"}, "involvedObject": {"kind": "Pod", "namespace": "ns1"}});
        assert!(validate("events", &ok, None).is_empty());
        let ev = json!({"metadata": {"name": "e", "namespace": "ns1"}, "eventTime": "2024-01-01T00:00:00.000000Z",
            "regarding": {"namespace": "ns1"}, "reportingController": "a.io/c", "reportingInstance": "i", "action": "A", "reason": "R", "type": "Odd"});
        assert_eq!(
            msgs(&validate("events.k8s.io/events", &ev, None)),
            vec!["type: Invalid value: \"\": has invalid value: Odd"]
        );
        let ev = json!({"metadata": {"name": "e", "namespace": "ns1"}, "regarding": {"namespace": "ns1"}, "type": "Normal"});
        assert_eq!(
            msgs(&validate("events.k8s.io/events", &ev, None)),
            vec![
                "eventTime: Required value",
                "reportingController: Required value",
                "reportingController: Invalid value: \"\": name part must be non-empty",
                "reportingController: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                "reportingInstance: Required value",
                "action: Required value",
                "reason: Required value",
            ]
        );
    }

    #[test]
    fn services() {
        let svc = json!({"metadata": {"name": "1svc", "namespace": "d"}, "spec": {"type": "Weird", "sessionAffinity": "None",
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}, {"port": 0, "protocol": "TCP", "targetPort": "Http", "name": "b", "nodePort": 3}]}});
        assert_eq!(
            msgs(&validate("services", &svc, None)),
            vec![
                "metadata.name: Invalid value: \"1svc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                "spec.ports[0].name: Required value",
                "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[1].targetPort: Invalid value: \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "spec.type: Unsupported value: \"Weird\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
            ]
        );
        let old = json!({"metadata": {"name": "s", "namespace": "d", "resourceVersion": "1"}, "spec": {"type": "ClusterIP", "sessionAffinity": "None",
            "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}});
        let mut new = old.clone();
        new["spec"]["clusterIP"] = json!("10.0.0.2");
        new["spec"]["clusterIPs"] = json!(["10.0.0.2"]);
        assert_eq!(
            msgs(&validate("services", &new, Some(&old))),
            vec![
                "spec.clusterIPs[0]: Invalid value: []string{\"10.0.0.2\"}: may not change once set"
            ]
        );
        assert!(validate("services", &old, None).is_empty());
    }

    #[test]
    fn generic_create_fallback() {
        let obj = json!({"metadata": {"name": "a/b", "namespace": "d"}});
        assert_eq!(
            msgs(&validate("example.com/widgets", &obj, None)),
            vec!["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
        );
        let ev = json!({"metadata": {"name": "x%y", "namespace": "ns1"}, "involvedObject": {"namespace": "ns1"}});
        assert_eq!(
            msgs(&validate("events", &ev, None)),
            vec!["metadata.name: Invalid value: \"x%y\": may not contain '%'"]
        );
    }
}
