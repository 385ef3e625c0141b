//! Value validation of a custom resource against a compiled schema, with
//! kube-openapi's messages (`pkg/validation/validate`, `pkg/validation/errors`)
//! turned into field errors the way the apiextensions apiserver does
//! (`pkg/apiserver/validation/validation.go`, `kubeOpenAPIResultToFieldErrors`),
//! plus `listtype/validation.go` and the embedded-resource checks of
//! `objectmeta/validation.go`.

use super::{Additional, MAX_SCHEMA_DEPTH, Node, bad_value, go_float, too_long};
use crate::apimachinery::validation::{
    FieldError, go_quote, validate_annotations, validate_labels,
};
use serde_json::Value;

/// A path in the object, rendered only when an error is reported.
pub(crate) enum Seg<'a> {
    /// The object root (kube-openapi's empty name).
    Root,
    /// A field path the rendering starts from (list-type / embedded checks of
    /// a `default`).
    Base(&'a str),
    Key(&'a Seg<'a>, &'a str),
    Index(&'a Seg<'a>, usize),
}

impl Seg<'_> {
    fn render_into(&self, out: &mut String) {
        match self {
            Seg::Root => {}
            Seg::Base(b) => out.push_str(b),
            Seg::Key(p, k) => {
                p.render_into(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(p, i) => {
                p.render_into(out);
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        self.render_into(&mut s);
        s
    }
    fn depth(&self) -> usize {
        match self {
            Seg::Root | Seg::Base(_) => 0,
            Seg::Key(p, _) | Seg::Index(p, _) => 1 + p.depth(),
        }
    }
}

/// Where a kube-openapi error named `name` lands (`errPath`).
fn err_path(base: Option<&str>, name: &str) -> String {
    match (base, name.is_empty()) {
        (Some(b), true) => b.to_string(),
        (Some(b), false) => format!("{b}.{name}"),
        (None, false) => name.to_string(),
        // a nil *field.Path prints as "<nil>"
        (None, true) => "<nil>".to_string(),
    }
}

/// Field of an error that is not a kube-openapi `*Validation` (composite
/// errors): the base path itself.
fn plain_path(base: Option<&str>) -> String {
    base.map_or_else(|| "<nil>".to_string(), str::to_string)
}

pub(crate) fn json_type(x: &Value) -> &'static str {
    match x {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(types: &str, x: &Value) -> bool {
    let actual = json_type(x);
    types.split(',').any(|t| {
        t == actual
            || (t == "integer" && actual == "number" && x.as_f64().is_some_and(|f| f == f.trunc()))
            || (t == "number" && actual == "integer")
    })
}

fn in_body(name: &str) -> String {
    format!("{name} in body")
}

fn push_invalid(
    errs: &mut Vec<FieldError>,
    base: Option<&str>,
    name: &str,
    v: Value,
    detail: String,
) {
    errs.push(FieldError::invalid(
        err_path(base, name),
        bad_value(&v),
        detail,
    ));
}

/// Validates `x` against `s` (one kube-openapi `SchemaValidator.Validate`).
/// Returns whether no error was added.
pub(crate) fn validate_node(
    s: &Node,
    x: &Value,
    seg: &Seg<'_>,
    base: Option<&str>,
    errs: &mut Vec<FieldError>,
) -> bool {
    let before = errs.len();
    if seg.depth() > MAX_SCHEMA_DEPTH {
        return true;
    }
    let name = || seg.render();

    // type
    if let Some(types) = s.type_names() {
        if x.is_null() {
            if !s.nullable {
                let n = name();
                errs.push(FieldError::type_invalid(
                    err_path(base, &n),
                    "null",
                    format!("{} must be of type {types}: \"null\"", in_body(&n)),
                ));
            }
        } else if !type_ok(types, x) {
            let n = name();
            let actual = json_type(x);
            errs.push(FieldError::type_invalid(
                err_path(base, &n),
                actual,
                format!(
                    "{} must be of type {types}: {}",
                    in_body(&n),
                    go_quote(actual)
                ),
            ));
        }
    }
    if x.is_null() {
        // a null on a nullable schema is not checked against enum (upstream
        // v1.36.2 accepts `null` for `nullable: true, enum: [a]`)
        if !s.nullable
            && let Some(v) = &s.v
        {
            check_enum(v.enum_.as_deref(), x, seg, base, errs);
        }
        return errs.len() == before;
    }

    if let Some(v) = &s.v {
        // schemaPropsValidator: anyOf, oneOf, allOf, not
        if !v.any_of.is_empty() {
            let mut best: Option<Vec<FieldError>> = None;
            let mut ok = false;
            for alt in &v.any_of {
                let mut e = Vec::new();
                if validate_node(alt, x, seg, base, &mut e) {
                    ok = true;
                    break;
                }
                if best.as_ref().is_none_or(|b| e.len() < b.len()) {
                    best = Some(e);
                }
            }
            if !ok {
                errs.push(FieldError::invalid(
                    plain_path(base),
                    "",
                    format!(
                        "{} must validate at least one schema (anyOf)",
                        go_quote(&name())
                    ),
                ));
                errs.extend(best.unwrap_or_default());
            }
        }
        if !v.one_of.is_empty() {
            let mut best: Option<Vec<FieldError>> = None;
            let mut valid = 0usize;
            for alt in &v.one_of {
                let mut e = Vec::new();
                if validate_node(alt, x, seg, base, &mut e) {
                    valid += 1;
                } else if valid == 0 && best.as_ref().is_none_or(|b| e.len() < b.len()) {
                    best = Some(e);
                }
            }
            if valid != 1 {
                let extra = if valid == 0 {
                    "Found none valid".to_string()
                } else {
                    format!("Found {valid} valid alternatives")
                };
                errs.push(FieldError::invalid(
                    plain_path(base),
                    "",
                    format!(
                        "{} must validate one and only one schema (oneOf). {extra}",
                        go_quote(&name())
                    ),
                ));
                if valid == 0 {
                    errs.extend(best.unwrap_or_default());
                }
            }
        }
        if !v.all_of.is_empty() {
            let mut validated = 0usize;
            for alt in &v.all_of {
                if validate_node(alt, x, seg, base, errs) {
                    validated += 1;
                }
            }
            if validated != v.all_of.len() {
                let extra = if validated == 0 {
                    ". None validated"
                } else {
                    ""
                };
                errs.push(FieldError::invalid(
                    plain_path(base),
                    "",
                    format!(
                        "{} must validate all the schemas (allOf){extra}",
                        go_quote(&name())
                    ),
                ));
            }
        }
        if let Some(not) = &v.not {
            let mut e = Vec::new();
            if validate_node(not, x, seg, base, &mut e) {
                errs.push(FieldError::invalid(
                    plain_path(base),
                    "",
                    format!("{} must not validate the schema (not)", go_quote(&name())),
                ));
            }
        }
    }

    match x {
        Value::String(st) => {
            if let Some(v) = &s.v {
                // kube-openapi's stringValidator stops at its first failure
                let chars = || st.chars().count() as u64;
                if let Some(max) = v.max_length
                    && st.len() as u64 > max
                    && chars() > max
                {
                    errs.push(too_long(
                        err_path(base, &name()),
                        i64::try_from(max).unwrap_or(i64::MAX),
                    ));
                } else if let Some(min) = v.min_length
                    && chars() < min
                {
                    let n = name();
                    push_invalid(
                        errs,
                        base,
                        &n,
                        x.clone(),
                        format!("{} should be at least {min} chars long", in_body(&n)),
                    );
                } else if let Some((p, Some(re))) = &v.pattern
                    && !re.is_match(st)
                {
                    let n = name();
                    push_invalid(
                        errs,
                        base,
                        &n,
                        x.clone(),
                        format!("{} should match '{p}'", in_body(&n)),
                    );
                }
            }
            if !s.format.is_empty() && !super::formats::check(&s.format, st) {
                let n = name();
                errs.push(FieldError::type_invalid(
                    err_path(base, &n),
                    st.clone(),
                    format!(
                        "{} must be of type {}: {}",
                        in_body(&n),
                        s.format,
                        go_quote(st)
                    ),
                ));
            }
            if let Some(v) = &s.v {
                check_enum(v.enum_.as_deref(), x, seg, base, errs);
            }
        }
        Value::Array(a) => {
            if let Some(v) = &s.v {
                check_enum(v.enum_.as_deref(), x, seg, base, errs);
                if let Some(min) = v.min_items
                    && (a.len() as u64) < min
                {
                    let n = name();
                    push_invalid(
                        errs,
                        base,
                        &n,
                        Value::from(a.len()),
                        format!("{} should have at least {min} items", in_body(&n)),
                    );
                }
                if let Some(max) = v.max_items
                    && a.len() as u64 > max
                {
                    errs.push(FieldError::too_many(
                        err_path(base, &name()),
                        Some(a.len()),
                        Some(usize::try_from(max).unwrap_or(usize::MAX)),
                    ));
                }
                if v.unique_items && has_duplicates(a) {
                    let n = name();
                    push_invalid(
                        errs,
                        base,
                        &n,
                        x.clone(),
                        format!("{} shouldn't contain duplicates", in_body(&n)),
                    );
                }
            }
            if let Some(items) = &s.items {
                for (i, item) in a.iter().enumerate() {
                    validate_node(items, item, &Seg::Index(seg, i), base, errs);
                }
            }
        }
        Value::Number(num) => {
            if let Some(v) = &s.v {
                check_enum(v.enum_.as_deref(), x, seg, base, errs);
                let f = num.as_f64().unwrap_or(0.0);
                if let Some(m) = v.multiple_of {
                    if m <= 0.0 {
                        let n = name();
                        push_invalid(
                            errs,
                            base,
                            &n,
                            x.clone(),
                            format!(
                                "factor MultipleOf declared for {n} must be positive: {}",
                                go_float(m)
                            ),
                        );
                    } else {
                        // kube-openapi MultipleOf: 1/factor*data for factors
                        // below 1, then swag.IsFloat64AJSONInteger
                        let q = if m < 1.0 { (1.0 / m) * f } else { f / m };
                        if !is_json_integer(q) {
                            let n = name();
                            push_invalid(
                                errs,
                                base,
                                &n,
                                x.clone(),
                                format!("{} should be a multiple of {}", in_body(&n), go_float(m)),
                            );
                        }
                    }
                }
                if let Some(max) = v.maximum {
                    let bad = if v.exclusive_maximum {
                        f >= max
                    } else {
                        f > max
                    };
                    if bad {
                        let n = name();
                        let op = if v.exclusive_maximum {
                            "less than"
                        } else {
                            "less than or equal to"
                        };
                        push_invalid(
                            errs,
                            base,
                            &n,
                            x.clone(),
                            format!("{} should be {op} {}", in_body(&n), go_float(max)),
                        );
                    }
                }
                if let Some(min) = v.minimum {
                    let bad = if v.exclusive_minimum {
                        f <= min
                    } else {
                        f < min
                    };
                    if bad {
                        let n = name();
                        let op = if v.exclusive_minimum {
                            "greater than"
                        } else {
                            "greater than or equal to"
                        };
                        push_invalid(
                            errs,
                            base,
                            &n,
                            x.clone(),
                            format!("{} should be {op} {}", in_body(&n), go_float(min)),
                        );
                    }
                }
            }
            if s.format == "int32"
                && s.type_names() == Some("integer")
                && let Some(i) = num.as_i64().or_else(|| num.as_u64().map(|_| i64::MAX))
                && i32::try_from(i).is_err()
            {
                errs.push(FieldError::invalid(
                    plain_path(base),
                    "",
                    format!(
                        "Checked value must be of type integer with format int32 in {}",
                        name()
                    ),
                ));
            }
        }
        Value::Bool(_) => {
            if let Some(v) = &s.v {
                check_enum(v.enum_.as_deref(), x, seg, base, errs);
            }
        }
        Value::Object(m) => {
            if let Some(v) = &s.v {
                check_enum(v.enum_.as_deref(), x, seg, base, errs);
                if let Some(max) = v.max_properties
                    && m.len() as u64 > max
                {
                    errs.push(FieldError::too_many(
                        err_path(base, &name()),
                        Some(m.len()),
                        Some(usize::try_from(max).unwrap_or(usize::MAX)),
                    ));
                }
                if let Some(min) = v.min_properties
                    && (m.len() as u64) < min
                {
                    let n = name();
                    push_invalid(
                        errs,
                        base,
                        &n,
                        Value::from(m.len()),
                        format!("{} should have at least {min} properties", in_body(&n)),
                    );
                }
                for r in &v.required {
                    if !m.contains_key(r) {
                        let mut p = name();
                        if !p.is_empty() {
                            p.push('.');
                        }
                        p.push_str(r);
                        errs.push(FieldError::required(err_path(base, &p), ""));
                    }
                }
            }
            for (k, val) in m {
                let sub = match s.properties.get(k) {
                    Some(p) => Some(p),
                    None => match &s.additional {
                        Additional::Schema(ap) => Some(&**ap),
                        _ => None,
                    },
                };
                if let Some(p) = sub {
                    validate_node(p, val, &Seg::Key(seg, k), base, errs);
                }
            }
        }
        Value::Null => {}
    }
    errs.len() == before
}

/// swag.IsFloat64AJSONInteger: integral within a relative 1e-9.
fn is_json_integer(f: f64) -> bool {
    const MAX_JSON: f64 = 9007199254740991.0; // 2^53 - 1
    if !f.is_finite() || !(-MAX_JSON..=MAX_JSON).contains(&f) {
        return false;
    }
    let g = f.trunc();
    if f == g {
        return true;
    }
    let diff = (f - g).abs();
    diff / (f.abs() + g.abs()) < 1e-9
}

fn has_duplicates(a: &[Value]) -> bool {
    a.iter().enumerate().any(|(i, x)| a[..i].contains(x))
}

fn check_enum(
    en: Option<&[Value]>,
    x: &Value,
    seg: &Seg<'_>,
    base: Option<&str>,
    errs: &mut Vec<FieldError>,
) {
    let Some(en) = en else { return };
    if en.is_empty() || en.iter().any(|e| e == x) {
        return;
    }
    let values: Vec<String> = en
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    errs.push(FieldError::not_supported(
        err_path(base, &seg.render()),
        bad_value(x),
        &refs,
    ));
}

// ---------------------------------------------------------------------------
// list types (listtype/validation.go)
// ---------------------------------------------------------------------------

pub(crate) fn validate_list_types(s: &Node, x: &Value, seg: &Seg<'_>, errs: &mut Vec<FieldError>) {
    if seg.depth() > MAX_SCHEMA_DEPTH {
        return;
    }
    match x {
        Value::Array(a) => {
            match s.list_type.as_deref() {
                Some("set") => {
                    for (i, item) in a.iter().enumerate() {
                        if a.iter().take(i).any(|p| p == item) {
                            errs.push(FieldError::duplicate(
                                Seg::Index(seg, i).render(),
                                bad_value(item),
                            ));
                        }
                    }
                }
                Some("map") if !s.list_map_keys.is_empty() => {
                    let key_of = |item: &Value| -> Option<serde_json::Map<String, Value>> {
                        let o = item.as_object()?;
                        let mut k = serde_json::Map::new();
                        for name in &s.list_map_keys {
                            if let Some(v) = o.get(name) {
                                k.insert(name.clone(), v.clone());
                            }
                        }
                        Some(k)
                    };
                    let keys: Vec<_> = a.iter().map(key_of).collect();
                    for (i, k) in keys.iter().enumerate() {
                        let Some(k) = k else { continue };
                        if keys.iter().take(i).any(|p| p.as_ref() == Some(k)) {
                            errs.push(FieldError::duplicate(
                                Seg::Index(seg, i).render(),
                                bad_value(&Value::Object(k.clone())),
                            ));
                        }
                    }
                }
                _ => {}
            }
            if let Some(items) = &s.items {
                for (i, item) in a.iter().enumerate() {
                    validate_list_types(items, item, &Seg::Index(seg, i), errs);
                }
            }
        }
        Value::Object(m) => {
            for (k, v) in m {
                let sub = s.properties.get(k).or(s.additional.schema());
                if let Some(p) = sub {
                    validate_list_types(p, v, &Seg::Key(seg, k), errs);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// embedded resources (objectmeta/validation.go)
// ---------------------------------------------------------------------------

pub(crate) fn validate_embedded(
    s: &Node,
    x: &Value,
    seg: &Seg<'_>,
    is_resource_root: bool,
    errs: &mut Vec<FieldError>,
) {
    if seg.depth() > MAX_SCHEMA_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            if s.embedded && !is_resource_root_at_top(seg, is_resource_root) {
                for k in ["apiVersion", "kind"] {
                    match m.get(k) {
                        None => errs.push(FieldError::required(Seg::Key(seg, k).render(), "")),
                        Some(Value::String(_)) => {}
                        Some(other) => errs.push(FieldError::invalid(
                            Seg::Key(seg, k).render(),
                            bad_value(other),
                            "must be a string",
                        )),
                    }
                }
                // objectmeta.Validate: the embedded object's metadata is
                // checked as ObjectMeta without the name rules.
                if let Some(md) = m.get("metadata") {
                    let mpath = Seg::Key(seg, "metadata").render();
                    errs.extend(validate_labels(
                        md.get("labels"),
                        &format!("{mpath}.labels"),
                    ));
                    errs.extend(validate_annotations(
                        md.get("annotations"),
                        &format!("{mpath}.annotations"),
                    ));
                }
            }
            for (k, v) in m {
                if let Some(p) = s.properties.get(k).or(s.additional.schema()) {
                    validate_embedded(p, v, &Seg::Key(seg, k), false, errs);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = &s.items {
                for (i, item) in a.iter().enumerate() {
                    validate_embedded(items, item, &Seg::Index(seg, i), false, errs);
                }
            }
        }
        _ => {}
    }
}

/// The object root's apiVersion/kind are checked by the handler, not here.
fn is_resource_root_at_top(seg: &Seg<'_>, is_resource_root: bool) -> bool {
    is_resource_root && matches!(seg, Seg::Root)
}
