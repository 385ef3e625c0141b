//! CRD validation rules (`x-kubernetes-validations`) in CEL.
//!
//! Upstream: `staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/`
//! (`compilation.go`, `validation.go`, `model/`), the CRD checks in
//! `pkg/apis/apiextensions/validation/validation.go` (`validateCELRules`-ish code around
//! `x-kubernetes-validations`), and `k8s.io/apiserver/pkg/cel/{common,library}`.
//!
//! The expression language itself is the `cel` crate (a parser and interpreter without a
//! static type checker). What the crate lacks is approximated here:
//! - a light static check at compile time (undeclared identifiers, undefined fields of
//!   schema objects, message expressions that are plainly not strings),
//! - a static cost estimate with upstream's limits (per-rule `PerCallLimit` and the total
//!   `StaticEstimatedCRDCostLimit`), computed from `maxItems`/`maxLength`/`maxProperties`
//!   or, where absent, from the request size limit, as upstream's estimator does. Rules whose
//!   estimate exceeds the budget are refused at CRD creation, which bounds evaluation time.
//!
//! Values are built from JSON using the schema (`model/` + `common/values.go`): integer →
//! int, number → double, `format: date-time`/`date` → timestamp, `format: duration` →
//! duration, objects with properties → maps whose keys are the escaped property names,
//! `additionalProperties` → maps, `x-kubernetes-int-or-string` and schemaless
//! `x-kubernetes-preserve-unknown-fields` → dynamic values.

use crate::apimachinery::validation::{ErrorType, FieldError};
use cel::common::ast::{EntryExpr, Expr};
use cel::extractors::This;
use cel::objects::{Key, Map as CelMap, OptionalValue};
use cel::{Context, Env, ExecutionError, IdedExpr, Program, Value as CelValue};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Upstream `StaticEstimatedCostLimit` (apiextensions validation.go): per expression.
pub const STATIC_COST_LIMIT: f64 = 10_000_000.0;
/// Upstream `StaticEstimatedCRDCostLimit`: all rules of a schema, each multiplied by the
/// number of times its node can occur.
pub const CRD_COST_LIMIT: f64 = 100_000_000.0;
/// Upstream max request size used to bound unbounded lists/strings (3 MiB).
const MAX_REQUEST_BYTES: f64 = 3.0 * 1024.0 * 1024.0;
/// Upstream `MaxEvaluatedMessageExpressionSizeBytes`.
const MAX_MESSAGE_BYTES: usize = 5 * 1024;
/// Stack of the compilation thread.
const COMPILE_STACK: usize = 256 << 20;
/// Longest expression accepted (bounds the AST the parser builds).
pub const MAX_EXPRESSION_BYTES: usize = 32 * 1024;
/// Deepest AST accepted: evaluation is recursive and runs on the caller's thread, and about
/// 32 levels are what a 2 MiB stack holds in a debug build.
pub const MAX_AST_DEPTH: usize = 32;
/// Schema nesting beyond this is not walked (serde_json already caps JSON depth at 128).
const MAX_DEPTH: usize = 128;

const SCHEMA_COST_HINT: &str = "(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)";

// ---------------------------------------------------------------------------
// Schema shape (what CEL sees of a schema node)
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
    IntOrString,
    Any,
}

#[derive(Debug, Clone)]
struct Shape {
    kind: Kind,
    /// The schema's `type` as written (upstream `sts.Type`), used in error values.
    ty: String,
    format: String,
    /// (JSON name, CEL name if escapable, shape).
    props: Vec<(String, Option<String>, Arc<Shape>)>,
    additional: Option<Arc<Shape>>,
    items: Option<Arc<Shape>>,
    preserve_unknown: bool,
    embedded: bool,
    max_items: Option<f64>,
    max_len: Option<f64>,
    max_props: Option<f64>,
    list_type: String,
    list_keys: Vec<String>,
    map_type: String,
}

fn num(v: &Value, k: &str) -> Option<f64> {
    v.get(k).and_then(Value::as_f64)
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn build_shape(s: &Value, depth: usize) -> Arc<Shape> {
    let ty = text(s, "type").to_string();
    let int_or_string = s.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve_unknown =
        s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let embedded = s.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
    let kind = if int_or_string {
        Kind::IntOrString
    } else {
        match ty.as_str() {
            "object" => Kind::Object,
            "array" => Kind::Array,
            "string" => Kind::String,
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            "boolean" => Kind::Boolean,
            _ => Kind::Any,
        }
    };
    let mut props = Vec::new();
    let mut additional = None;
    let mut items = None;
    if depth < MAX_DEPTH {
        if let Some(Value::Object(p)) = s.get("properties") {
            for (name, sub) in p {
                props.push((name.clone(), escape(name), build_shape(sub, depth + 1)));
            }
        }
        if let Some(ap @ Value::Object(_)) = s.get("additionalProperties") {
            additional = Some(build_shape(ap, depth + 1));
        }
        if let Some(it @ Value::Object(_)) = s.get("items") {
            items = Some(build_shape(it, depth + 1));
        }
    }
    Arc::new(Shape {
        kind,
        ty,
        format: text(s, "format").to_string(),
        props,
        additional,
        items,
        preserve_unknown,
        embedded,
        max_items: num(s, "maxItems"),
        max_len: num(s, "maxLength"),
        max_props: num(s, "maxProperties"),
        list_type: text(s, "x-kubernetes-list-type").to_string(),
        list_keys: s
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
        map_type: text(s, "x-kubernetes-map-type").to_string(),
    })
}

fn string_shape() -> Shape {
    Shape {
        kind: Kind::String,
        ty: "string".into(),
        format: String::new(),
        props: Vec::new(),
        additional: None,
        items: None,
        preserve_unknown: false,
        embedded: false,
        max_items: None,
        max_len: None,
        max_props: None,
        list_type: String::new(),
        list_keys: Vec::new(),
        map_type: String::new(),
    }
}

/// Upstream `model.WithTypeAndObjectMeta`: a resource root sees `apiVersion`, `kind` and
/// `metadata.{name,generateName}` whatever its schema declares for them.
fn with_type_and_meta(shape: &Arc<Shape>) -> Arc<Shape> {
    let mut s = (**shape).clone();
    s.props
        .retain(|(n, _, _)| !matches!(n.as_str(), "apiVersion" | "kind" | "metadata"));
    let st = Arc::new(string_shape());
    let mut meta = string_shape();
    meta.kind = Kind::Object;
    meta.ty = "object".into();
    meta.props = vec![
        ("name".into(), Some("name".into()), st.clone()),
        (
            "generateName".into(),
            Some("generateName".into()),
            st.clone(),
        ),
    ];
    s.props
        .push(("apiVersion".into(), Some("apiVersion".into()), st.clone()));
    s.props.push(("kind".into(), Some("kind".into()), st));
    s.props
        .push(("metadata".into(), Some("metadata".into()), Arc::new(meta)));
    Arc::new(s)
}

impl Shape {
    /// The CEL type name of values of this shape, when not dynamic.
    fn cel_type(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Integer => Some("int"),
            Kind::Number => Some("double"),
            Kind::Boolean => Some("bool"),
            Kind::String => match self.format.as_str() {
                "date-time" | "datetime" | "date" => Some("google.protobuf.Timestamp"),
                "duration" => Some("google.protobuf.Duration"),
                _ => Some("string"),
            },
            Kind::Array => Some("list"),
            Kind::Object if self.props.is_empty() && !self.preserve_unknown => Some("map"),
            _ => None,
        }
    }

    fn prop(&self, cel_name: &str) -> Option<&Arc<Shape>> {
        self.props
            .iter()
            .find(|(_, esc, _)| esc.as_deref() == Some(cel_name))
            .map(|(_, _, s)| s)
    }

    /// True when `self.x` on this node can be checked statically (an object with declared
    /// properties only).
    fn closed_object(&self) -> bool {
        self.kind == Kind::Object
            && !self.preserve_unknown
            && self.additional.is_none()
            && !self.embedded
    }

    /// Minimal serialized size of a value of this shape (upstream `estimateMinSizeJSON`).
    fn min_size(&self) -> f64 {
        match self.kind {
            Kind::String => 2.0 + self.format_min(),
            Kind::Boolean => 4.0,
            Kind::Object | Kind::Array => 2.0,
            _ => 1.0,
        }
    }

    fn format_min(&self) -> f64 {
        match self.format.as_str() {
            "date-time" => 20.0,
            "date" => 10.0,
            "duration" => 2.0,
            _ => 0.0,
        }
    }

    /// Maximum number of elements (arrays, maps) or characters (strings).
    fn max_size(&self) -> f64 {
        match self.kind {
            Kind::Array => self.max_items.unwrap_or_else(|| {
                let elem = self.items.as_ref().map(|i| i.min_size()).unwrap_or(1.0);
                ((MAX_REQUEST_BYTES - 2.0) / (elem + 1.0)).floor()
            }),
            Kind::Object => self.max_props.unwrap_or_else(|| {
                let elem = self
                    .additional
                    .as_ref()
                    .map(|i| i.min_size())
                    .unwrap_or(1.0);
                // `"k":v,` is at least 4 bytes plus the value.
                ((MAX_REQUEST_BYTES - 2.0) / (elem + 4.0)).floor()
            }),
            Kind::String | Kind::IntOrString | Kind::Any => {
                self.max_len.unwrap_or(MAX_REQUEST_BYTES - 2.0)
            }
            _ => 1.0,
        }
    }
}

// ---------------------------------------------------------------------------
// Property name escaping (k8s.io/apiserver/pkg/cel/escaping.go)
// ---------------------------------------------------------------------------

const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Escapes a property name for CEL (`__dash__`, `__dot__`, `__slash__`, `__underscores__`,
/// `__{keyword}__`); `None` if the name cannot be accessed from CEL.
pub fn escape(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let first = name.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '_') {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("__") {
            out.push_str("__underscores__");
            rest = r;
            continue;
        }
        let c = rest.chars().next()?;
        match c {
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => return None,
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------

fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Upstream's base environment includes cel-go's strings extension.
        let _ = env.add_extension(cel::extensions::strings);
        Arc::new(env)
    })
}

/// Kubernetes library functions the crate lacks (k8s.io/apiserver/pkg/cel/library):
/// `isSorted`, `sum` (lists.go) and `find`/`findAll` (regex.go).
fn root_context() -> &'static Context<'static, 'static> {
    static CTX: OnceLock<Context<'static, 'static>> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut ctx = Context::with_env(env().clone());
        let _ = ctx.add_function("isSorted", is_sorted);
        let _ = ctx.add_function("sum", sum);
        let _ = ctx.add_function("find", find);
        let _ = ctx.add_function("findAll", find_all);
        ctx
    })
}

fn is_sorted(This(list): This<Arc<Vec<CelValue>>>) -> Result<bool, ExecutionError> {
    for w in list.windows(2) {
        match w[0].partial_cmp(&w[1]) {
            Some(std::cmp::Ordering::Greater) => return Ok(false),
            Some(_) => {}
            None => {
                return Err(ExecutionError::function_error(
                    "isSorted",
                    "no such overload",
                ));
            }
        }
    }
    Ok(true)
}

fn sum(This(list): This<Arc<Vec<CelValue>>>) -> Result<CelValue, ExecutionError> {
    let mut int: i64 = 0;
    let mut float: f64 = 0.0;
    let mut is_float = false;
    for v in list.iter() {
        match v {
            CelValue::Int(i) => {
                int = int
                    .checked_add(*i)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?
            }
            CelValue::Float(f) => {
                is_float = true;
                float += f
            }
            _ => return Err(ExecutionError::function_error("sum", "no such overload")),
        }
    }
    Ok(if is_float {
        CelValue::Float(float + int as f64)
    } else {
        CelValue::Int(int)
    })
}

fn compile_regex(pattern: &str) -> Result<regex::Regex, ExecutionError> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ExecutionError::function_error("find", e))
}

fn find(This(s): This<Arc<String>>, pattern: Arc<String>) -> Result<CelValue, ExecutionError> {
    let re = compile_regex(&pattern)?;
    let found = re
        .find(&s)
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    Ok(CelValue::String(Arc::new(found)))
}

fn find_all(This(s): This<Arc<String>>, pattern: Arc<String>) -> Result<CelValue, ExecutionError> {
    let re = compile_regex(&pattern)?;
    let all = re
        .find_iter(&s)
        .map(|m| CelValue::String(Arc::new(m.as_str().to_string())))
        .collect();
    Ok(CelValue::List(Arc::new(all)))
}

// ---------------------------------------------------------------------------
// Compiled validator
// ---------------------------------------------------------------------------

struct Rule {
    program: Program,
    rule: String,
    message: String,
    message_expression: Option<(Program, String)>,
    reason: Option<ErrorType>,
    /// Normalized `fieldPath` (upstream `NormalizedRuleFieldPath`), appended to the node path.
    field_path: String,
    uses_old_self: bool,
    optional_old_self: bool,
}

struct Node {
    shape: Arc<Shape>,
    rules: Vec<Rule>,
    props: Vec<(String, Node)>,
    items: Option<Box<Node>>,
    additional: Option<Box<Node>>,
    resource_root: bool,
    /// The only fields of `self`/`oldSelf` the rules read, when they never use them whole.
    fields: Option<Vec<String>>,
}

/// The compiled `x-kubernetes-validations` of one CRD version's schema.
pub struct Validator {
    root: Option<Node>,
}

/// Compile state shared across the walk.
struct Compiler {
    /// Errors in the rules' fields (reason, fieldPath, message, empty rule). Upstream
    /// compiles no rule of the schema when there are any, and reports only these.
    field_errors: Vec<FieldError>,
    /// Compilation and cost errors.
    errors: Vec<FieldError>,
    /// (rule path, total cost = cost × cardinality) for the total-cost check.
    costs: Vec<(String, f64)>,
}

/// Walks a CRD version's `openAPIV3Schema` (JSONSchemaProps) and compiles every
/// `x-kubernetes-validations` rule at every node (properties, items, additionalProperties),
/// with `self` typed per node (and `oldSelf`). `base` is the schema's field path, e.g.
/// `spec.versions[0].schema.openAPIV3Schema`. Errors are upstream's CRD validation errors.
pub fn compile(schema: &Value, base: &str) -> Result<Validator, Vec<FieldError>> {
    if !has_rules(schema, 0) {
        return Ok(Validator { root: None });
    }
    // The crate's ANTLR parser and its recursive AST walks need far more stack than a
    // server thread has (about 15 nested parentheses overflow 2 MiB in a debug build): run
    // compilation on a thread of its own with a large (lazily committed) stack.
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("cel-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn_scoped(scope, || compile_inline(schema, base))
            .map_err(|e| vec![FieldError::internal(base, format!("CEL compilation: {e}"))])
            .and_then(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(vec![FieldError::internal(base, "CEL compilation failed")])
                })
            })
    })
}

/// Whether any node of the schema carries `x-kubernetes-validations`.
fn has_rules(s: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let Value::Object(m) = s else { return false };
    if m.contains_key("x-kubernetes-validations") {
        return true;
    }
    m.get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| p.values().any(|v| has_rules(v, depth + 1)))
        || ["items", "additionalProperties"]
            .iter()
            .any(|k| m.get(*k).is_some_and(|v| has_rules(v, depth + 1)))
}

fn compile_inline(schema: &Value, base: &str) -> Result<Validator, Vec<FieldError>> {
    let shape = build_shape(schema, 0);
    let mut c = Compiler {
        field_errors: Vec::new(),
        errors: Vec::new(),
        costs: Vec::new(),
    };
    let root = compile_node(&mut c, schema, &shape, base, true, None, 1.0, 0);
    let total: f64 = c.costs.iter().map(|(_, v)| *v).sum();
    if total > CRD_COST_LIMIT {
        let mut sorted = c.costs.clone();
        sorted.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        // Upstream names the (up to) four most expensive rules.
        for (path, _) in sorted.iter().take(4) {
            c.errors.push(FieldError::forbidden(
                path.clone(),
                "contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema",
            ));
        }
        c.errors.push(FieldError::forbidden(
            base,
            format!(
                "x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of {} {SCHEMA_COST_HINT}",
                factor(total, CRD_COST_LIMIT)
            ),
        ));
    }
    if !c.field_errors.is_empty() {
        Err(c.field_errors)
    } else if c.errors.is_empty() {
        Ok(Validator { root })
    } else {
        Err(c.errors)
    }
}

/// Upstream `getCostErrorMessage`'s factor.
fn factor(cost: f64, limit: f64) -> String {
    let f = cost / limit;
    if f > 100.0 {
        "more than 100x".to_string()
    } else if f < 1.5 {
        format!("{f:.6}x")
    } else {
        format!("{f:.1}x")
    }
}

#[allow(clippy::too_many_arguments)]
fn compile_node(
    c: &mut Compiler,
    schema: &Value,
    shape: &Arc<Shape>,
    path: &str,
    resource_root: bool,
    uncorrelatable: Option<&str>,
    cardinality: f64,
    depth: usize,
) -> Option<Node> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut rules = Vec::new();
    if let Some(Value::Array(list)) = schema.get("x-kubernetes-validations") {
        for (i, r) in list.iter().enumerate() {
            let rpath = format!("{path}.x-kubernetes-validations[{i}]");
            if let Some(rule) = compile_rule(
                c,
                r,
                shape,
                &rpath,
                resource_root,
                uncorrelatable,
                cardinality,
            ) {
                rules.push(rule);
            }
        }
    }
    let mut props = Vec::new();
    if let Some(Value::Object(p)) = schema.get("properties") {
        for (name, sub) in p {
            let Some(sub_shape) = shape
                .props
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, s)| s.clone())
            else {
                continue;
            };
            let sub_path = format!("{path}.properties[{name}]");
            let embedded = sub_shape.embedded;
            if let Some(n) = compile_node(
                c,
                sub,
                &sub_shape,
                &sub_path,
                embedded,
                uncorrelatable,
                cardinality,
                depth + 1,
            ) {
                props.push((name.clone(), n));
            }
        }
    }
    let mut items = None;
    if let (Some(sub @ Value::Object(_)), Some(sub_shape)) = (schema.get("items"), &shape.items) {
        let sub_path = format!("{path}.items");
        // Only map-type lists correlate items with the old object (validation.go makeMapList).
        let unc = if uncorrelatable.is_none() && shape.list_type != "map" {
            Some(path.to_string())
        } else {
            uncorrelatable.map(str::to_string)
        };
        items = compile_node(
            c,
            sub,
            sub_shape,
            &sub_path,
            sub_shape.embedded,
            unc.as_deref(),
            cardinality * shape.max_size(),
            depth + 1,
        )
        .map(Box::new);
    }
    let mut additional = None;
    if let (Some(sub @ Value::Object(_)), Some(sub_shape)) =
        (schema.get("additionalProperties"), &shape.additional)
    {
        let sub_path = format!("{path}.additionalProperties");
        let unc = if uncorrelatable.is_none() && shape.map_type == "atomic" {
            Some(path.to_string())
        } else {
            uncorrelatable.map(str::to_string)
        };
        additional = compile_node(
            c,
            sub,
            sub_shape,
            &sub_path,
            sub_shape.embedded,
            unc.as_deref(),
            cardinality * shape.max_size(),
            depth + 1,
        )
        .map(Box::new);
    }
    if rules.is_empty() && props.is_empty() && items.is_none() && additional.is_none() {
        return None;
    }
    let mut fields = Vec::new();
    let selective = rules.iter().all(|r| {
        self_fields(r.program.expression(), &mut fields)
            && r.message_expression
                .as_ref()
                .is_none_or(|(p, _)| self_fields(p.expression(), &mut fields))
    });
    Some(Node {
        shape: shape.clone(),
        fields: selective.then_some(fields),
        rules,
        props,
        items,
        additional,
        resource_root,
    })
}

/// Upstream renders the offending `ValidationRule` struct with `json.Marshal` of its Go
/// field names (HTML-escaped), e.g. `{"Rule":"self.a \u003e","Message":"",...}`.
fn rule_repr(r: &Value) -> String {
    fn s(v: &Value, k: &str) -> Value {
        Value::String(text(v, k).to_string())
    }
    let reason = match r.get("reason") {
        Some(Value::String(x)) => Value::String(x.clone()),
        _ => Value::Null,
    };
    let opt = match r.get("optionalOldSelf") {
        Some(Value::Bool(b)) => Value::Bool(*b),
        _ => Value::Null,
    };
    let parts = [
        ("Rule", s(r, "rule")),
        ("Message", s(r, "message")),
        ("MessageExpression", s(r, "messageExpression")),
        ("Reason", reason),
        ("FieldPath", s(r, "fieldPath")),
        ("OptionalOldSelf", opt),
    ];
    let mut out = String::from("{");
    for (i, (k, v)) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!("\"{k}\":{}", html_escape(&v.to_string())));
    }
    out.push('}');
    out
}

/// Go's `json.Marshal` HTML escaping of `<`, `>`, `&`.
fn html_escape(s: &str) -> String {
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const REASONS: &[&str] = &[
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueRequired",
];

fn compile_rule(
    c: &mut Compiler,
    r: &Value,
    shape: &Arc<Shape>,
    rpath: &str,
    resource_root: bool,
    uncorrelatable: Option<&str>,
    cardinality: f64,
) -> Option<Rule> {
    let rule_src = text(r, "rule");
    let message = text(r, "message");
    let msg_expr_src = text(r, "messageExpression");
    let field_path_src = text(r, "fieldPath");
    let before = c.field_errors.len();

    // Field-level checks (apiextensions validation.go).
    let reason = match r.get("reason") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let s = v.as_str().unwrap_or("");
            match s {
                "FieldValueInvalid" => Some(ErrorType::Invalid),
                "FieldValueForbidden" => Some(ErrorType::Forbidden),
                "FieldValueRequired" => Some(ErrorType::Required),
                "FieldValueDuplicate" => Some(ErrorType::Duplicate),
                _ => {
                    c.field_errors.push(FieldError::not_supported(
                        format!("{rpath}.reason"),
                        s,
                        REASONS,
                    ));
                    None
                }
            }
        }
    };
    let mut field_path = String::new();
    if !field_path_src.is_empty() {
        match valid_field_path(field_path_src, shape) {
            Ok(p) => field_path = p,
            Err(_) => c.field_errors.push(FieldError::invalid(
                format!("{rpath}.fieldPath"),
                field_path_src,
                "must be a valid path",
            )),
        }
    }
    if message.contains('\n') {
        c.field_errors.push(FieldError::invalid(
            format!("{rpath}.message"),
            message,
            "must not contain line breaks",
        ));
    }
    if rule_src.trim().is_empty() {
        c.field_errors.push(FieldError::required(
            format!("{rpath}.rule"),
            "rule is not specified",
        ));
    }
    if !message.is_empty() && message.trim().is_empty() {
        c.field_errors.push(FieldError::invalid(
            format!("{rpath}.message"),
            message,
            "must be non-empty if specified",
        ));
    }
    if !msg_expr_src.is_empty() && msg_expr_src.trim().is_empty() {
        c.field_errors.push(FieldError::required(
            format!("{rpath}.messageExpression"),
            "messageExpression must be non-empty if specified",
        ));
    }
    if c.field_errors.len() > before {
        return None;
    }
    let before = c.errors.len();

    let repr = rule_repr(r);
    let mut scope = Scope::new(shape, resource_root);
    let program = match compile_checked(rule_src, &mut scope) {
        Ok(p) => p,
        Err(msg) => {
            c.errors.push(FieldError::invalid_repr(
                format!("{rpath}.rule"),
                repr,
                format!("compilation failed: {msg}"),
            ));
            return None;
        }
    };
    if scope.result_type.is_some_and(|t| t != "bool") {
        c.errors.push(FieldError::invalid_repr(
            format!("{rpath}.rule"),
            repr,
            "cel expression must evaluate to a bool",
        ));
        return None;
    }
    let uses_old_self = scope.used_old_self;
    let cost = scope.cost;
    let optional_old_self = r.get("optionalOldSelf") == Some(&Value::Bool(true));

    let mut message_expression = None;
    if !msg_expr_src.trim().is_empty() {
        let mut mscope = Scope::new(shape, resource_root);
        match compile_checked(msg_expr_src, &mut mscope) {
            Ok(p) => {
                if mscope.result_type.is_some_and(|t| t != "string") {
                    c.errors.push(FieldError::invalid_repr(
                        format!("{rpath}.messageExpression"),
                        repr.clone(),
                        "messageExpression must evaluate to a string",
                    ));
                } else if mscope.cost > STATIC_COST_LIMIT {
                    c.errors.push(FieldError::forbidden(
                        format!("{rpath}.messageExpression"),
                        format!(
                            "estimated messageExpression cost exceeds budget by factor of {} {SCHEMA_COST_HINT}",
                            factor(mscope.cost, STATIC_COST_LIMIT)
                        ),
                    ));
                } else {
                    message_expression = Some((p, msg_expr_src.to_string()));
                }
            }
            Err(msg) => c.errors.push(FieldError::invalid_repr(
                format!("{rpath}.messageExpression"),
                repr.clone(),
                format!("messageExpression compilation failed: {msg}"),
            )),
        }
    }
    if cost > STATIC_COST_LIMIT {
        c.errors.push(FieldError::forbidden(
            format!("{rpath}.rule"),
            format!(
                "estimated rule cost exceeds budget by factor of {} {SCHEMA_COST_HINT}",
                factor(cost, STATIC_COST_LIMIT)
            ),
        ));
    }
    // A free rule under an unbounded cardinality contributes nothing (not NaN).
    let total = cost * cardinality;
    c.costs.push((
        format!("{rpath}.rule"),
        if total.is_nan() { 0.0 } else { total },
    ));
    if uses_old_self {
        if let Some(unc) = uncorrelatable {
            c.errors.push(FieldError::invalid(
                format!("{rpath}.rule"),
                rule_src,
                format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {unc}"),
            ));
        }
    } else if let Some(b) = r.get("optionalOldSelf").and_then(Value::as_bool) {
        c.errors.push(FieldError::invalid(
            format!("{rpath}.optionalOldSelf"),
            b,
            "may not be set if oldSelf is not used in rule",
        ));
    }
    if c.errors.len() > before {
        return None;
    }
    Some(Rule {
        program,
        rule: rule_src.to_string(),
        message: message.to_string(),
        message_expression,
        reason,
        field_path,
        uses_old_self,
        optional_old_self,
    })
}

/// Upstream `ValidFieldPath`: `.name`, `['name']` (properties) or map keys; returns the
/// rendered `field.Path` suffix (e.g. `a.b[key]`).
fn valid_field_path(path: &str, shape: &Arc<Shape>) -> Result<String, String> {
    let mut out = String::new();
    let mut cur = shape.clone();
    let bytes = path.as_bytes();
    let mut i = 0usize;
    let step = |name: &str, out: &mut String, cur: &mut Arc<Shape>| -> Result<(), String> {
        if !cur.props.is_empty() {
            let next = cur
                .props
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, s)| s.clone())
                .ok_or_else(|| "does not refer to a valid field".to_string())?;
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(name);
            *cur = next;
        } else if let Some(ap) = cur.additional.clone() {
            out.push('[');
            out.push_str(name);
            out.push(']');
            *cur = ap;
        } else {
            return Err("does not refer to a valid field".into());
        }
        Ok(())
    };
    if path.is_empty() {
        return Err("empty".into());
    }
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'.') => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && !matches!(bytes[j], b'.' | b'[' | b']') {
                    j += 1;
                }
                let name = path.get(start..j).ok_or("bad path")?;
                if name.is_empty() {
                    return Err("unexpected end of JSON path".into());
                }
                step(name, &mut out, &mut cur)?;
                i = j;
            }
            Some(b'[') => {
                if bytes.get(i + 1) != Some(&b'\'') {
                    return Err("expected single quoted string".into());
                }
                let start = i + 2;
                let mut j = start;
                while j < bytes.len() && !(bytes[j] == b'\'' && bytes[j - 1] != b'\\') {
                    j += 1;
                }
                let raw = path.get(start..j).ok_or("bad path")?;
                let name = unescape_single_quote(raw)?;
                if bytes.get(j + 1) != Some(&b']') {
                    return Err("expected ]".into());
                }
                step(&name, &mut out, &mut cur)?;
                i = j + 2;
            }
            _ => return Err("expected [ or .".into()),
        }
    }
    Ok(out)
}

fn unescape_single_quote(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('v') => out.push('\u{b}'),
            Some('\'') => out.push('\''),
            Some('\\') => out.push('\\'),
            other => return Err(format!("invalid escape char \\{}", other.unwrap_or(' '))),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Static check and cost estimate
// ---------------------------------------------------------------------------

/// What the estimator knows of an expression's value.
#[derive(Clone)]
struct Est {
    shape: Option<Arc<Shape>>,
    /// Max size (elements or characters).
    size: f64,
    /// The CEL type name when statically known (`bool`, `int`, `string`, `list`, ...).
    ty: Option<&'static str>,
    /// Element of a list built by the expression (list literals, `map`, `filter`).
    elem: Option<Arc<Est>>,
}

/// Size assumed for values of unknown size (upstream: bounded only by the request size).
const UNBOUNDED: f64 = MAX_REQUEST_BYTES;

impl Est {
    fn sized(size: f64, ty: Option<&'static str>) -> Est {
        Est {
            shape: None,
            size,
            ty,
            elem: None,
        }
    }
    fn unknown() -> Est {
        Est::sized(UNBOUNDED, None)
    }
    fn of(shape: &Arc<Shape>) -> Est {
        Est {
            size: shape.max_size(),
            ty: shape.cel_type(),
            shape: Some(shape.clone()),
            elem: None,
        }
    }
    fn scalar(ty: &'static str) -> Est {
        Est::sized(1.0, Some(ty))
    }
    fn elem(&self) -> Est {
        match &self.shape {
            Some(s) => match (&s.items, &s.additional) {
                (Some(i), _) if s.kind == Kind::Array => Est::of(i),
                (_, Some(a)) if s.kind == Kind::Object => Est::of(a),
                _ => Est::unknown(),
            },
            None => match &self.elem {
                Some(e) => (**e).clone(),
                None => Est::unknown(),
            },
        }
    }
}

struct Scope {
    vars: Vec<(String, Est)>,
    source: String,
    used_old_self: bool,
    cost: f64,
    result_type: Option<&'static str>,
    error: Option<(u64, String)>,
}

impl Scope {
    fn new(shape: &Arc<Shape>, resource_root: bool) -> Scope {
        let typed;
        let shape = if resource_root && shape.kind == Kind::Object {
            typed = with_type_and_meta(shape);
            &typed
        } else {
            shape
        };
        Scope {
            vars: vec![
                ("self".to_string(), Est::of(shape)),
                ("oldSelf".to_string(), Est::of(shape)),
            ],
            source: String::new(),
            used_old_self: false,
            cost: 0.0,
            result_type: None,
            error: None,
        }
    }
}

/// Parses `src`, checks identifiers and fields against the scope, and estimates its cost.
/// Errors are rendered as cel-go does: `ERROR: <input>:L:C: msg\n | src\n | ...^`.
fn compile_checked(src: &str, scope: &mut Scope) -> Result<Program, String> {
    if src.len() > MAX_EXPRESSION_BYTES {
        return Err(format!(
            "ERROR: <input>:1:1: expression size of {} bytes exceeds the limit of {MAX_EXPRESSION_BYTES}",
            src.len()
        ));
    }
    let program = env().compile(src).map_err(|errs| {
        let mut out = Vec::new();
        for e in errs.errors.iter() {
            // The crate's positions are 1-based line and column, as cel-go prints them.
            let (line, col) = (e.pos.0.max(1) as usize, e.pos.1.max(1) as usize);
            out.push(render_error(src, line, col, &e.msg));
        }
        out.join("\n")
    })?;
    if ast_depth(program.expression(), 0) > MAX_AST_DEPTH {
        return Err(format!(
            "ERROR: <input>:1:1: expression nesting exceeds {MAX_AST_DEPTH} levels"
        ));
    }
    scope.source = src.to_string();
    let (cost, est) = estimate(program.expression(), scope, 0);
    scope.cost = cost;
    scope.result_type = est.ty;
    if let Some((id, msg)) = scope.error.take() {
        let (line, col) = program
            .source_info()
            .offset_for(id)
            .map(|(start, _)| line_col(src, start as usize))
            .unwrap_or((1, 1));
        return Err(render_error(src, line, col, &msg));
    }
    Ok(program)
}

/// Collects the fields selected directly on `self`/`oldSelf` (`self.x`, `has(self.x)`);
/// false when either is used whole (then every field is needed).
fn self_fields(e: &IdedExpr, out: &mut Vec<String>) -> bool {
    let mut all = |it: &mut dyn Iterator<Item = &IdedExpr>| {
        for x in it {
            if !self_fields(x, out) {
                return false;
            }
        }
        true
    };
    match &e.expr {
        Expr::Ident(n) => n != "self" && n != "oldSelf",
        Expr::Select(sel) => match &sel.operand.expr {
            Expr::Ident(n) if n == "self" || n == "oldSelf" => {
                if !out.contains(&sel.field) {
                    out.push(sel.field.clone());
                }
                true
            }
            _ => self_fields(&sel.operand, out),
        },
        Expr::Call(c) => all(&mut c.target.iter().map(|b| b.as_ref()).chain(c.args.iter())),
        Expr::Comprehension(c) => all(&mut [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()),
        Expr::List(l) => all(&mut l.elements.iter()),
        Expr::Map(m) => all(&mut m.entries.iter().flat_map(|en| match &en.expr {
            EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })),
        Expr::Struct(st) => all(&mut st.entries.iter().flat_map(|en| match &en.expr {
            EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })),
        Expr::Literal(_) | Expr::Unspecified => true,
    }
}

/// Depth of the AST (stops counting past the limit).
fn ast_depth(e: &IdedExpr, depth: usize) -> usize {
    if depth > MAX_AST_DEPTH {
        return depth;
    }
    let d = depth + 1;
    let max = |it: &mut dyn Iterator<Item = &IdedExpr>| it.map(|x| ast_depth(x, d)).max();
    match &e.expr {
        Expr::Call(c) => max(&mut c.target.iter().map(|b| b.as_ref()).chain(c.args.iter())),
        Expr::Comprehension(c) => max(&mut [
            &c.iter_range,
            &c.accu_init,
            &c.loop_cond,
            &c.loop_step,
            &c.result,
        ]
        .into_iter()),
        Expr::List(l) => max(&mut l.elements.iter()),
        Expr::Map(m) => max(&mut m.entries.iter().flat_map(|en| match &en.expr {
            EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })),
        Expr::Struct(st) => max(&mut st.entries.iter().flat_map(|en| match &en.expr {
            EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })),
        Expr::Select(sel) => Some(ast_depth(&sel.operand, d)),
        _ => None,
    }
    .unwrap_or(d)
}

/// (1-based line, 1-based column) of a character offset.
fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, c) in src.chars().enumerate() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

fn render_error(src: &str, line: usize, col: usize, msg: &str) -> String {
    let mut out = format!("ERROR: <input>:{line}:{col}: {msg}");
    if let Some(text) = src.lines().nth(line.saturating_sub(1)) {
        out.push_str(&format!(
            "\n | {text}\n | {}^",
            ".".repeat(col.saturating_sub(1))
        ));
    }
    out
}

const MAX_COST: f64 = 1e18;

fn estimate(e: &IdedExpr, scope: &mut Scope, depth: usize) -> (f64, Est) {
    if depth > 256 {
        return (MAX_COST, Est::unknown());
    }
    match &e.expr {
        Expr::Literal(l) => {
            use cel::common::ast::LiteralValue as L;
            let est = match l {
                L::String(s) => Est::sized(s.len() as f64, Some("string")),
                L::Boolean(_) => Est::scalar("bool"),
                L::Bytes(_) => Est::scalar("bytes"),
                L::Double(_) => Est::scalar("double"),
                L::Int(_) => Est::scalar("int"),
                L::UInt(_) => Est::scalar("uint"),
                L::Null => Est::scalar("null_type"),
            };
            (0.0, est)
        }
        Expr::Ident(name) => {
            if name == "oldSelf" {
                scope.used_old_self = true;
            }
            match scope.vars.iter().rev().find(|(n, _)| n == name) {
                Some((_, est)) => (1.0, est.clone()),
                None => {
                    if scope.error.is_none() {
                        scope.error = Some((
                            e.id,
                            format!("undeclared reference to '{name}' (in container '')"),
                        ));
                    }
                    (1.0, Est::unknown())
                }
            }
        }
        Expr::Select(sel) => {
            let (c, operand) = estimate(&sel.operand, scope, depth + 1);
            if sel.test {
                return (c + 1.0, Est::scalar("bool"));
            }
            if let Some(t) = operand.ty
                && matches!(t, "int" | "double" | "bool" | "string" | "uint")
            {
                if scope.error.is_none() {
                    scope.error =
                        Some((e.id, format!("type '{t}' does not support field selection")));
                }
                return (c + 1.0, Est::unknown());
            }
            let est = match &operand.shape {
                Some(s) if s.kind == Kind::Object => {
                    if let Some(p) = s.prop(&sel.field) {
                        Est::of(p)
                    } else if let Some(a) = &s.additional {
                        Est::of(a)
                    } else if s.closed_object() && !s.props.is_empty() {
                        if scope.error.is_none() {
                            scope.error = Some((e.id, format!("undefined field '{}'", sel.field)));
                        }
                        Est::unknown()
                    } else {
                        Est::unknown()
                    }
                }
                _ => Est::unknown(),
            };
            (c + 1.0, est)
        }
        Expr::List(l) => {
            let mut c = 0.0;
            let mut elem: Option<Est> = None;
            for el in &l.elements {
                let (ec, ee) = estimate(el, scope, depth + 1);
                c += ec;
                if elem.as_ref().is_none_or(|cur| ee.size > cur.size) {
                    elem = Some(ee);
                }
            }
            let mut est = Est::sized(l.elements.len() as f64, Some("list"));
            est.elem = elem.map(Arc::new);
            (c + 10.0, est)
        }
        Expr::Map(m) => {
            let mut c = 0.0;
            for en in &m.entries {
                if let EntryExpr::MapEntry(me) = &en.expr {
                    c += estimate(&me.key, scope, depth + 1).0;
                    c += estimate(&me.value, scope, depth + 1).0;
                }
            }
            (c + 30.0, Est::scalar("map"))
        }
        Expr::Struct(s) => {
            let mut c = 0.0;
            for en in &s.entries {
                if let EntryExpr::StructField(f) = &en.expr {
                    c += estimate(&f.value, scope, depth + 1).0;
                }
            }
            (c + 40.0, Est::unknown())
        }
        Expr::Comprehension(comp) => {
            let (rc, range) = estimate(&comp.iter_range, scope, depth + 1);
            let (ic, init) = estimate(&comp.accu_init, scope, depth + 1);
            let elem = match &range.shape {
                Some(s) if s.kind == Kind::Object => Est::sized(63.0, Some("string")),
                _ => range.elem(),
            };
            let n = scope.vars.len();
            scope.vars.push((comp.iter_var.clone(), elem.clone()));
            if let Some(v2) = &comp.iter_var2 {
                scope.vars.push((v2.clone(), elem));
            }
            scope.vars.push((comp.accu_var.clone(), init.clone()));
            let (cc, _) = estimate(&comp.loop_cond, scope, depth + 1);
            let (sc, step) = estimate(&comp.loop_step, scope, depth + 1);
            let (resc, res) = estimate(&comp.result, scope, depth + 1);
            scope.vars.truncate(n);
            let iterations = range.size.max(1.0);
            let _ = init;
            let result = if res.ty == Some("list") {
                // map/filter build lists of at most `iterations` elements.
                let mut est = Est::sized(iterations, Some("list"));
                est.elem = step.elem.clone();
                est
            } else {
                res
            };
            let cost = rc + ic + resc + iterations * (cc + sc);
            (cost.min(MAX_COST), result)
        }
        Expr::Call(call) => {
            // Logical operators and the ternary cost only their arguments (cel-go cost.go).
            let mut c = match call.func_name.as_str() {
                "_&&_" | "_||_" | "!_" | "@not_strictly_false" | "_?_:_" => 0.0,
                _ => 1.0,
            };
            let mut args = Vec::with_capacity(call.args.len() + 1);
            if let Some(t) = &call.target {
                let (tc, te) = estimate(t, scope, depth + 1);
                c += tc;
                args.push(te);
            }
            for a in &call.args {
                let (ac, ae) = estimate(a, scope, depth + 1);
                c += ac;
                args.push(ae);
            }
            let first = args.first().map(|a| a.size).unwrap_or(1.0);
            let second = args.get(1).map(|a| a.size).unwrap_or(1.0);
            let fname = call.func_name.as_str();
            let traversal = 0.1 * first;
            let (extra, est) = match fname {
                "_==_" | "_!=_" => (0.1 * first.min(second), Est::scalar("bool")),
                "_<_"
                | "_<=_"
                | "_>_"
                | "_>=_"
                | "_&&_"
                | "_||_"
                | "!_"
                | "@in"
                | "@not_strictly_false" => (0.0, Est::scalar("bool")),
                "_+_" => {
                    let ty = args.first().and_then(|a| a.ty);
                    let mut est = Est::sized(first + second, ty);
                    if ty == Some("list") {
                        est.elem = args.get(1).map(|a| Arc::new(a.elem()));
                    }
                    (0.1 * (first + second), est)
                }
                "contains" | "startsWith" | "endsWith" => (traversal, Est::scalar("bool")),
                "matches" | "find" | "findAll" => {
                    let ty = match fname {
                        "matches" => "bool",
                        "find" => "string",
                        _ => "list",
                    };
                    (traversal * (0.25 * second).max(1.0), Est::scalar(ty))
                }
                "size" | "getSeconds" | "getMinutes" | "getHours" | "getDate" | "getMonth"
                | "getFullYear" | "getDayOfWeek" | "getDayOfYear" | "getDayOfMonth"
                | "getMilliseconds" | "int" => (0.0, Est::scalar("int")),
                "uint" => (0.0, Est::scalar("uint")),
                "double" => (0.0, Est::scalar("double")),
                "bool" => (0.0, Est::scalar("bool")),
                "duration" => (0.0, Est::scalar("google.protobuf.Duration")),
                "timestamp" => (0.0, Est::scalar("google.protobuf.Timestamp")),
                "_-_" | "_*_" | "_/_" | "_%_" | "-_" => {
                    (0.0, Est::sized(1.0, args.first().and_then(|a| a.ty)))
                }
                "isSorted" => (first, Est::scalar("bool")),
                "sum" => (first, Est::sized(1.0, None)),
                // cel-go does not bound the size of `string(x)`: concatenating it is
                // estimated as unbounded (upstream refuses `'a' + string(self.i)`).
                "string" => (traversal, Est::sized(u64::MAX as f64, Some("string"))),
                "_[_]" => {
                    let el = args.first().map(|a| a.elem()).unwrap_or_else(Est::unknown);
                    (0.0, el)
                }
                "_?_:_" => (0.0, args.get(1).cloned().unwrap_or_else(Est::unknown)),
                _ => (traversal, Est::sized(first, None)),
            };
            ((c + extra).min(MAX_COST), est)
        }
        Expr::Unspecified => (0.0, Est::unknown()),
    }
}

// ---------------------------------------------------------------------------
// JSON → CEL values
// ---------------------------------------------------------------------------

fn json_any(v: &Value) -> CelValue {
    match v {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => CelValue::Int(i),
            None => CelValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => CelValue::String(Arc::new(s.clone())),
        Value::Array(a) => CelValue::List(Arc::new(a.iter().map(json_any).collect())),
        Value::Object(o) => {
            let mut m = HashMap::with_capacity(o.len());
            for (k, v) in o {
                m.insert(Key::String(Arc::new(k.clone())), json_any(v));
            }
            CelValue::Map(CelMap { map: Arc::new(m) })
        }
    }
}

fn to_cel(v: &Value, shape: &Shape, resource_root: bool) -> CelValue {
    to_cel_only(v, shape, resource_root, None)
}

/// Like [`to_cel`], converting only the named (escaped) top-level fields of an object when
/// `only` is given: rules that read `self.a` and `self.b` need nothing else of `self`.
fn to_cel_only(v: &Value, shape: &Shape, resource_root: bool, only: Option<&[String]>) -> CelValue {
    let wanted = |name: &str| only.is_none_or(|f| f.iter().any(|x| x == name));
    match (shape.kind, v) {
        (_, Value::Null) => CelValue::Null,
        (Kind::Integer, Value::Number(n)) => match n.as_i64() {
            Some(i) => CelValue::Int(i),
            None => CelValue::Float(n.as_f64().unwrap_or(0.0)),
        },
        (Kind::Number, Value::Number(n)) => CelValue::Float(n.as_f64().unwrap_or(0.0)),
        (Kind::String, Value::String(s)) => match shape.format.as_str() {
            "date-time" | "datetime" => chrono::DateTime::parse_from_rfc3339(s)
                .map(CelValue::Timestamp)
                .unwrap_or_else(|_| CelValue::String(Arc::new(s.clone()))),
            "date" => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| CelValue::Timestamp(d.and_utc().fixed_offset()))
                .unwrap_or_else(|| CelValue::String(Arc::new(s.clone()))),
            "duration" => parse_go_duration(s)
                .map(CelValue::Duration)
                .unwrap_or_else(|| CelValue::String(Arc::new(s.clone()))),
            _ => CelValue::String(Arc::new(s.clone())),
        },
        (Kind::Array, Value::Array(a)) => match &shape.items {
            Some(items) => CelValue::List(Arc::new(
                a.iter().map(|x| to_cel(x, items, items.embedded)).collect(),
            )),
            None => json_any(v),
        },
        (Kind::Object, Value::Object(o)) => {
            if !shape.props.is_empty() || resource_root || shape.embedded {
                let mut m = HashMap::with_capacity(o.len());
                for (name, esc, sub) in &shape.props {
                    if let (Some(esc), Some(val)) = (esc, o.get(name)) {
                        if !wanted(esc) {
                            continue;
                        }
                        m.insert(
                            Key::String(Arc::new(esc.clone())),
                            to_cel(val, sub, sub.embedded),
                        );
                    }
                }
                if resource_root || shape.embedded {
                    // model.WithTypeAndObjectMeta: apiVersion, kind, metadata.{name,generateName}.
                    for k in ["apiVersion", "kind"] {
                        if let Some(Value::String(s)) = o.get(k).filter(|_| wanted(k)) {
                            m.insert(
                                Key::String(Arc::new(k.into())),
                                CelValue::String(Arc::new(s.clone())),
                            );
                        }
                    }
                    if let Some(Value::Object(meta)) =
                        o.get("metadata").filter(|_| wanted("metadata"))
                    {
                        let mut mm = HashMap::new();
                        for k in ["name", "generateName"] {
                            if let Some(Value::String(s)) = meta.get(k) {
                                mm.insert(
                                    Key::String(Arc::new(k.into())),
                                    CelValue::String(Arc::new(s.clone())),
                                );
                            }
                        }
                        m.insert(
                            Key::String(Arc::new("metadata".into())),
                            CelValue::Map(CelMap { map: Arc::new(mm) }),
                        );
                    }
                }
                if shape.preserve_unknown && shape.props.is_empty() && !resource_root {
                    return json_any(v);
                }
                CelValue::Map(CelMap { map: Arc::new(m) })
            } else if let Some(ap) = &shape.additional {
                let mut m = HashMap::with_capacity(o.len());
                for (k, val) in o {
                    m.insert(
                        Key::String(Arc::new(k.clone())),
                        to_cel(val, ap, ap.embedded),
                    );
                }
                CelValue::Map(CelMap { map: Arc::new(m) })
            } else {
                json_any(v)
            }
        }
        _ => json_any(v),
    }
}

/// Go's `time.ParseDuration` (units ns, us, µs, ms, s, m, h; optional sign; decimals).
fn parse_go_duration(s: &str) -> Option<chrono::Duration> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(chrono::Duration::zero());
    }
    if rest.is_empty() {
        return None;
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest.get(..num_end)?.parse().ok()?;
        rest = rest.get(num_end..)?;
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_end)?;
        rest = rest.get(unit_end..)?;
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total_ns += n * mult;
    }
    if total_ns > i64::MAX as f64 {
        return None;
    }
    let d = chrono::Duration::nanoseconds(total_ns as i64);
    Some(if neg { -d } else { d })
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

fn child_path(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

fn display_path(p: &str) -> String {
    if p.is_empty() {
        "<nil>".to_string()
    } else {
        p.to_string()
    }
}

/// The value `field.Invalid` prints for a failed rule: scalars are printed, objects and
/// lists are omitted (as the live upstream server renders them).
fn bad_value(v: &Value) -> Option<Value> {
    match v {
        Value::Object(_) | Value::Array(_) => None,
        other => Some(other.clone()),
    }
}

fn error_for_reason(
    reason: Option<ErrorType>,
    path: String,
    v: &Value,
    detail: String,
) -> FieldError {
    let mut e = match reason {
        Some(ErrorType::Forbidden) => FieldError::forbidden(path, detail),
        Some(ErrorType::Required) => FieldError::required(path, detail),
        Some(ErrorType::Duplicate) => FieldError::duplicate(path, Value::Null),
        _ => FieldError::invalid(path, Value::Null, detail),
    };
    if matches!(e.error_type, ErrorType::Invalid | ErrorType::Duplicate) {
        e.bad_value = bad_value(v);
    }
    e
}

/// cel-go's wording of evaluation errors.
fn runtime_error_text(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("no such key: {k}"),
        ExecutionError::DivisionByZero(_) => "division by zero".to_string(),
        ExecutionError::RemainderByZero(_) => "modulus by zero".to_string(),
        ExecutionError::Overflow(..) => "integer overflow".to_string(),
        ExecutionError::NoSuchOverload(_)
        | ExecutionError::UnsupportedBinaryOperator(..)
        | ExecutionError::ValuesNotComparable(..)
        | ExecutionError::UnexpectedType { .. } => "no such overload".to_string(),
        other => other.to_string(),
    }
}

impl Validator {
    /// True when the schema has no validation rules at all.
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }

    /// Evaluates the rules against a custom resource (and the old one on update). Transition
    /// rules (using `oldSelf`) run only where an old value correlates at that path (object
    /// properties, granular maps, `x-kubernetes-list-type: map` items). Field paths are
    /// relative to the object root (the root itself renders as `<nil>`, as upstream).
    pub fn validate(&self, new: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.validate_with_warnings(new, old).0
    }

    /// [`Validator::validate`], also returning the warnings of ratcheted errors: on update,
    /// a failing rule that does not use `oldSelf`, on a value equal to its old value (or
    /// under an unchanged nearest correlatable ancestor), is a warning rather than an
    /// error (upstream `CRDValidationRatcheting`, GA in 1.33: validation.go
    /// `shouldRatchetError`). Warnings are the errors' `field: message` texts.
    pub fn validate_with_warnings(
        &self,
        new: &Value,
        old: Option<&Value>,
    ) -> (Vec<FieldError>, Vec<String>) {
        let mut out = Out::default();
        if let Some(root) = &self.root {
            let ratchet = old.is_some_and(|o| o == new);
            root.validate("", new, old, ratchet, &mut out);
        }
        (out.errs, out.warnings)
    }
}

#[derive(Default)]
struct Out {
    errs: Vec<FieldError>,
    warnings: Vec<String>,
}

impl Node {
    /// `ratchet`: this value equals its correlated old value (or, uncorrelated, its nearest
    /// correlatable ancestor is unchanged).
    fn validate(&self, path: &str, v: &Value, old: Option<&Value>, ratchet: bool, out: &mut Out) {
        // Upstream validates only non-null values (validation.go validateExpressions).
        if v.is_null() {
            return;
        }
        let old = old.filter(|o| !o.is_null());
        self.eval_rules(path, v, old, ratchet, out);
        let child_ratchet = |ov: Option<&Value>, val: &Value| match ov {
            Some(o) => o == val,
            None => ratchet,
        };
        match v {
            Value::Array(items) => {
                if let Some(node) = &self.items {
                    // Only map-type lists correlate items with the old list (makeMapList).
                    let map_keys = list_map_keys(&self.shape);
                    for (i, item) in items.iter().enumerate() {
                        let old_item = match (map_keys, old) {
                            (Some(ks), Some(Value::Array(olds))) => olds
                                .iter()
                                .find(|o| ks.iter().all(|k| o.get(k) == item.get(k))),
                            _ => None,
                        };
                        let p = format!("{}[{i}]", display_path(path));
                        let r = child_ratchet(old_item, item);
                        node.validate(&p, item, old_item, r, out);
                    }
                }
            }
            Value::Object(o) => {
                let correlatable = self.shape.map_type != "atomic";
                if let Some(node) = &self.additional {
                    for (k, val) in o {
                        let ov = old.filter(|_| correlatable).and_then(|x| x.get(k));
                        let p = format!("{}[{k}]", display_path(path));
                        node.validate(&p, val, ov, child_ratchet(ov, val), out);
                    }
                }
                for (name, node) in &self.props {
                    if let Some(val) = o.get(name) {
                        let ov = old.filter(|_| correlatable).and_then(|x| x.get(name));
                        let r = child_ratchet(ov, val);
                        node.validate(&child_path(path, name), val, ov, r, out);
                    }
                }
            }
            _ => {}
        }
    }

    fn eval_rules(&self, path: &str, v: &Value, old: Option<&Value>, ratchet: bool, out: &mut Out) {
        let errs = &mut out.errs;
        if self.rules.is_empty() {
            return;
        }
        let ty = self.shape.ty.clone();
        let invalid = |detail: String| FieldError::invalid(display_path(path), ty.clone(), detail);
        let only = self.fields.as_deref();
        let self_val = to_cel_only(v, &self.shape, self.resource_root, only);
        // oldSelf is built only when a rule of this node reads it.
        let old_val = old
            .filter(|_| self.rules.iter().any(|r| r.uses_old_self))
            .map(|o| to_cel_only(o, &self.shape, self.resource_root, only));
        // One activation for the node's rules (the crate converts bound values once per
        // binding), and one with an optional oldSelf for `optionalOldSelf` rules.
        let mut plain = root_context().new_inner_scope();
        plain.add_variable_from_value("self", self_val.clone());
        if let Some(o) = &old_val {
            plain.add_variable_from_value("oldSelf", o.clone());
        }
        let mut optional = None;
        for rule in &self.rules {
            if rule.uses_old_self && old_val.is_none() && !rule.optional_old_self {
                continue;
            }
            let ctx = if rule.optional_old_self {
                optional.get_or_insert_with(|| {
                    let mut ctx = root_context().new_inner_scope();
                    ctx.add_variable_from_value("self", self_val.clone());
                    let opt = match &old_val {
                        Some(o) => OptionalValue::of(o.clone()),
                        None => OptionalValue::none(),
                    };
                    ctx.add_variable_from_value("oldSelf", CelValue::Opaque(Arc::new(opt)));
                    ctx
                })
            } else {
                &plain
            };
            let rule_text = if rule.message.trim().is_empty() {
                rule.rule.trim().to_string()
            } else {
                rule.message.trim().to_string()
            };
            match rule.program.execute(ctx) {
                Ok(CelValue::Bool(true)) => continue,
                Ok(CelValue::Bool(false)) => {}
                Ok(_) => {
                    errs.push(invalid(format!(
                        "'no such overload': call arguments did not match a supported operator, function or macro signature for rule: {rule_text}"
                    )));
                    continue;
                }
                Err(e) => {
                    let t = runtime_error_text(&e);
                    let detail = if t == "no such overload" {
                        format!(
                            "'{t}': call arguments did not match a supported operator, function or macro signature for rule: {rule_text}"
                        )
                    } else {
                        format!("{t} evaluating rule: {rule_text}")
                    };
                    errs.push(invalid(detail));
                    continue;
                }
            }
            let err_path = if rule.field_path.is_empty() {
                display_path(path)
            } else {
                child_path(path, &rule.field_path)
            };
            let mut detail = None;
            // A message expression that fails, is empty, too long or multi-line falls back
            // to the message (upstream logs the failure).
            if let Some((prog, _)) = &rule.message_expression
                && let Ok(CelValue::String(s)) = prog.execute(&plain)
            {
                let t = s.trim();
                if !t.is_empty() && t.len() <= MAX_MESSAGE_BYTES && !t.contains('\n') {
                    detail = Some(t.to_string());
                }
            }
            let detail = detail.unwrap_or_else(|| {
                if rule.message.is_empty() {
                    format!("failed rule: {}", rule.rule.trim())
                } else {
                    rule.message.trim().to_string()
                }
            });
            let e = error_for_reason(rule.reason, err_path, v, detail);
            if ratchet && !rule.uses_old_self {
                out.warnings.push(e.to_string());
            } else {
                errs.push(e);
            }
        }
    }
}

fn list_map_keys(shape: &Shape) -> Option<&[String]> {
    if shape.list_type != "map" {
        return None;
    }
    Some(&shape.list_keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    const BASE: &str = "spec.validation.openAPIV3Schema";

    fn compile_errs(schema: Value) -> Vec<String> {
        match compile(&schema, BASE) {
            Ok(_) => vec![],
            Err(e) => msgs(&e),
        }
    }

    fn spec_rules(rules: Value) -> Value {
        json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "x-kubernetes-validations": rules,
            "properties": {"a": {"type": "integer"}, "name": {"type": "string", "maxLength": 20},
                           "m": {"type": "object", "additionalProperties": {"type": "string"}}}
        }}})
    }

    fn r(rule: &str) -> String {
        format!(
            "{{\"Rule\":{},\"Message\":\"\",\"MessageExpression\":\"\",\"Reason\":null,\"FieldPath\":\"\",\"OptionalOldSelf\":null}}",
            html_escape(&Value::String(rule.to_string()).to_string())
        )
    }

    const P: &str = "spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations";
    const EXPECTING: &str = "Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}";
    const HINT: &str = "(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)";

    // Strings below come from CRD creates against a live kube-apiserver v1.36.2.
    #[test]
    fn compile_errors_match_upstream() {
        assert_eq!(
            compile_errs(spec_rules(json!([{"rule": "self.a >"}]))),
            vec![format!(
                "{P}[0].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:9: {EXPECTING}\n | self.a >\n | ........^",
                r("self.a >")
            )]
        );
        assert_eq!(
            compile_errs(spec_rules(json!([{"rule": "self.a == 1 ||"}]))),
            vec![format!(
                "{P}[0].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:15: {EXPECTING}\n | self.a == 1 ||\n | ..............^",
                r("self.a == 1 ||")
            )]
        );
        assert_eq!(
            compile_errs(spec_rules(json!([{"rule": "self.nope == 1"}]))),
            vec![format!(
                "{P}[0].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:5: undefined field 'nope'\n | self.nope == 1\n | ....^",
                r("self.nope == 1")
            )]
        );
        assert_eq!(
            compile_errs(spec_rules(json!([{"rule": "undefinedVar == 1"}]))),
            vec![format!(
                "{P}[0].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:1: undeclared reference to 'undefinedVar' (in container '')\n | undefinedVar == 1\n | ^",
                r("undefinedVar == 1")
            )]
        );
        let me = "{\"Rule\":\"self.a == 1\",\"Message\":\"\",\"MessageExpression\":\"self.a +\",\"Reason\":null,\"FieldPath\":\"\",\"OptionalOldSelf\":null}";
        assert_eq!(
            compile_errs(spec_rules(
                json!([{"rule": "self.a == 1", "messageExpression": "self.a +"}])
            )),
            vec![format!(
                "{P}[0].messageExpression: Invalid value: {me}: messageExpression compilation failed: ERROR: <input>:1:9: {EXPECTING}\n | self.a +\n | ........^"
            )]
        );
        assert_eq!(
            compile_errs(spec_rules(
                json!([{"rule": "self.a == 1", "messageExpression": "1"}])
            )),
            vec![format!(
                "{P}[0].messageExpression: Invalid value: {{\"Rule\":\"self.a == 1\",\"Message\":\"\",\"MessageExpression\":\"1\",\"Reason\":null,\"FieldPath\":\"\",\"OptionalOldSelf\":null}}: messageExpression must evaluate to a string"
            )]
        );
    }

    #[test]
    fn type_errors_match_upstream() {
        let errs = compile_errs(spec_rules(json!([
            {"rule": "1"}, {"rule": "'x'"}, {"rule": "self.a.foo == 1"},
            {"rule": "self.name.foo == 1"}, {"rule": "self.a + 1"}, {"rule": "self.name"},
        ])));
        let bool_err = |i: usize, rule: &str| {
            format!(
                "{P}[{i}].rule: Invalid value: {}: cel expression must evaluate to a bool",
                r(rule)
            )
        };
        assert_eq!(
            errs,
            vec![
                bool_err(0, "1"),
                bool_err(1, "'x'"),
                format!(
                    "{P}[2].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:7: type 'int' does not support field selection\n | self.a.foo == 1\n | ......^",
                    r("self.a.foo == 1")
                ),
                format!(
                    "{P}[3].rule: Invalid value: {}: compilation failed: ERROR: <input>:1:10: type 'string' does not support field selection\n | self.name.foo == 1\n | .........^",
                    r("self.name.foo == 1")
                ),
                bool_err(4, "self.a + 1"),
                bool_err(5, "self.name"),
            ]
        );
    }

    #[test]
    fn rule_field_errors_match_upstream() {
        let errs = compile_errs(spec_rules(json!([
            {"rule": "self.a == 1", "reason": "Bogus"},
            {"rule": "self.a == 1", "fieldPath": ".nope"},
            {"rule": "self.a == 1", "fieldPath": "a"},
            {"rule": "self.a == 1", "message": "a\nb"},
            {"rule": ""},
            {"rule": "self.a == 1", "fieldPath": ".a", "reason": "FieldValueForbidden"},
            {"rule": "self.a == 1", "fieldPath": ".m['x']"},
        ])));
        assert_eq!(
            errs,
            vec![
                format!(
                    "{P}[0].reason: Unsupported value: \"Bogus\": supported values: \"FieldValueDuplicate\", \"FieldValueForbidden\", \"FieldValueInvalid\", \"FieldValueRequired\""
                ),
                format!("{P}[1].fieldPath: Invalid value: \".nope\": must be a valid path"),
                format!("{P}[2].fieldPath: Invalid value: \"a\": must be a valid path"),
                format!("{P}[3].message: Invalid value: \"a\\nb\": must not contain line breaks"),
                format!("{P}[4].rule: Required value: rule is not specified"),
            ]
        );
        // Any such error anywhere suppresses every compilation error.
        let errs = compile_errs(spec_rules(json!([
            {"rule": "self.a == 1", "message": "   "},
            {"rule": "self.a == 1", "messageExpression": "   "},
            {"rule": "   "},
            {"rule": "self.a ==", "fieldPath": ".a"},
        ])));
        assert_eq!(
            errs,
            vec![
                format!("{P}[0].message: Invalid value: \"   \": must be non-empty if specified"),
                format!(
                    "{P}[1].messageExpression: Required value: messageExpression must be non-empty if specified"
                ),
                format!("{P}[2].rule: Required value: rule is not specified"),
            ]
        );
    }

    #[test]
    fn cost_limits_match_upstream() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "list": {"type": "array", "items": {"type": "string"}, "x-kubernetes-validations": [
            {"rule": "self.all(x, self.all(y, self.all(z, x == y && y == z)))"}
        ]}}}}});
        let lp = "spec.validation.openAPIV3Schema.properties[spec].properties[list].x-kubernetes-validations[0].rule";
        assert_eq!(
            compile_errs(schema),
            vec![
                format!(
                    "{lp}: Forbidden: estimated rule cost exceeds budget by factor of more than 100x {HINT}"
                ),
                format!(
                    "{lp}: Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"
                ),
                format!(
                    "spec.validation.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x {HINT}"
                ),
            ]
        );
        // A single comprehension over an unbounded list is accepted upstream.
        let ok = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "list": {"type": "array", "items": {"type": "string"}, "x-kubernetes-validations": [
                {"rule": "self.all(x, x.size() > 0)"}]},
            "e": {"type": "string", "x-kubernetes-validations": [
                {"rule": "self.size() < 10"}, {"rule": "self.matches('^a.*$')"}]}}}}});
        assert_eq!(compile_errs(ok), Vec::<String>::new());
        // `string(int)` has no size bound for cel-go, so concatenating it is refused.
        let mp = format!("{P}[0].messageExpression");
        assert_eq!(
            compile_errs(spec_rules(
                json!([{"rule": "self.a != 6", "messageExpression": "'a is ' + string(self.a)"}])
            )),
            vec![format!(
                "{mp}: Forbidden: estimated messageExpression cost exceeds budget by factor of more than 100x {HINT}"
            ),]
        );
        assert_eq!(
            compile_errs(spec_rules(
                json!([{"rule": "self.a != 6", "messageExpression": "'a is bad for ' + self.name"}])
            )),
            Vec::<String>::new()
        );
    }

    #[test]
    fn transition_rules_need_correlatable_nodes() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "s": {"type": "array", "maxItems": 5, "x-kubernetes-list-type": "set",
                  "items": {"type": "string", "maxLength": 5, "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}},
            "l": {"type": "array", "maxItems": 5, "items": {"type": "object", "properties": {
                  "x": {"type": "string", "maxLength": 5, "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}
        }}}});
        let b = "spec.validation.openAPIV3Schema.properties[spec]";
        assert_eq!(
            compile_errs(schema),
            vec![
                format!(
                    "{b}.properties[s].items.x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within {b}.properties[s]"
                ),
                format!(
                    "{b}.properties[l].items.properties[x].x-kubernetes-validations[0].rule: Invalid value: \"self == oldSelf\": oldSelf cannot be used on the uncorrelatable portion of the schema within {b}.properties[l]"
                ),
            ]
        );
        assert_eq!(
            compile_errs(spec_rules(
                json!([{"rule": "self.a == 1", "optionalOldSelf": true}])
            )),
            vec![format!(
                "{P}[0].optionalOldSelf: Invalid value: true: may not be set if oldSelf is not used in rule"
            )]
        );
    }

    fn widget_schema() -> Value {
        json!({"type": "object",
        "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('w')", "message": "name must start with w"}],
        "properties": {"spec": {"type": "object",
          "x-kubernetes-validations": [
            {"rule": "self.a <= 10"},
            {"rule": "self.a != 5", "message": "  a must not be five  "},
            {"rule": "self.a != 6", "messageExpression": "'a is bad for ' + self.name"},
            {"rule": "self.a != 7", "messageExpression": "''", "message": "fallback"},
            {"rule": "self.a != 8", "fieldPath": ".a", "reason": "FieldValueForbidden"},
            {"rule": "self.a != 9", "reason": "FieldValueRequired"},
            {"rule": "self.a != 3", "reason": "FieldValueDuplicate"},
            {"rule": "self.name == oldSelf.name", "message": "name is immutable"},
            {"rule": "self.a != 4 || self.m['k'] == 'v'"},
            {"rule": "self.a != 2 || 1 / (self.a - 2) == 0"}
          ],
          "properties": {
            "a": {"type": "integer"},
            "name": {"type": "string", "maxLength": 20},
            "m": {"type": "object", "additionalProperties": {"type": "string"}},
            "ios": {"x-kubernetes-int-or-string": true, "x-kubernetes-validations": [{"rule": "self == 1"}]},
            "items": {"type": "array", "maxItems": 10, "x-kubernetes-list-type": "map",
              "x-kubernetes-list-map-keys": ["k"],
              "items": {"type": "object", "required": ["k"],
                "properties": {"k": {"type": "string", "maxLength": 10}, "v": {"type": "integer"}},
                "x-kubernetes-validations": [
                  {"rule": "self.v >= oldSelf.v", "message": "v may not decrease"},
                  {"rule": "self.v >= 0"}]}}
          }}}})
    }

    fn widget(name: &str, spec: Value) -> Value {
        json!({"apiVersion": "cel.example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
    }

    #[test]
    fn create_errors_match_upstream() {
        let v = match compile(&widget_schema(), BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        assert!(!v.is_empty());
        let check = |name: &str, a: i64, want: &[&str]| {
            let errs = v.validate(&widget(name, json!({"a": a, "name": "nm", "m": {}})), None);
            assert_eq!(msgs(&errs), want, "a={a}");
        };
        assert_eq!(
            msgs(&v.validate(&widget("x1", json!({"a": 11, "name": "n"})), None)),
            vec![
                "<nil>: Invalid value: name must start with w",
                "spec: Invalid value: failed rule: self.a <= 10"
            ]
        );
        check("w1", 1, &[]);
        check("w5", 5, &["spec: Invalid value: a must not be five"]);
        check("w6", 6, &["spec: Invalid value: a is bad for nm"]);
        check("w7", 7, &["spec: Invalid value: fallback"]);
        check("w8", 8, &["spec.a: Forbidden: failed rule: self.a != 8"]);
        check("w9", 9, &["spec: Required value: failed rule: self.a != 9"]);
        check("w3", 3, &["spec: Duplicate value"]);
        check(
            "w4",
            4,
            &[
                "spec: Invalid value: \"object\": no such key: k evaluating rule: self.a != 4 || self.m['k'] == 'v'",
            ],
        );
        check(
            "w2",
            2,
            &[
                "spec: Invalid value: \"object\": division by zero evaluating rule: self.a != 2 || 1 / (self.a - 2) == 0",
            ],
        );
        let errs = v.validate(
            &widget(
                "wios",
                json!({"a": 1, "ios": "x", "items": [{"k": "a", "v": -1}]}),
            ),
            None,
        );
        assert_eq!(
            msgs(&errs),
            vec![
                "spec.ios: Invalid value: \"x\": failed rule: self == 1",
                "spec.items[0]: Invalid value: failed rule: self.v >= 0"
            ]
        );
        assert_eq!(errs[0].to_cause()["reason"], "FieldValueInvalid");
    }

    #[test]
    fn update_runs_transition_rules_on_correlated_values() {
        let v = match compile(&widget_schema(), BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        let old = widget(
            "wt",
            json!({"a": 1, "name": "nm", "items": [{"k": "a", "v": 5}, {"k": "b", "v": 5}]}),
        );
        assert!(v.validate(&old, None).is_empty());
        let new = widget(
            "wt",
            json!({"a": 1, "name": "other", "items": [{"k": "b", "v": 4}, {"k": "c", "v": 1}, {"k": "a", "v": 6}]}),
        );
        assert_eq!(
            msgs(&v.validate(&new, Some(&old))),
            vec![
                "spec: Invalid value: name is immutable",
                "spec.items[0]: Invalid value: v may not decrease"
            ]
        );
        let new = widget("wt", json!({"a": 1, "items": [{"k": "b", "v": 4}]}));
        assert_eq!(
            msgs(&v.validate(&new, Some(&old))),
            vec![
                "spec: Invalid value: \"object\": no such key: name evaluating rule: name is immutable",
                "spec.items[0]: Invalid value: v may not decrease"
            ]
        );
    }

    #[test]
    fn scalar_values_and_formats_match_upstream() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "s": {"type": "string", "maxLength": 10, "x-kubernetes-validations": [
                {"rule": "self.startsWith('a')"}, {"rule": "self != 'dup'", "reason": "FieldValueDuplicate"}]},
            "i": {"type": "integer", "x-kubernetes-validations": [{"rule": "self < 5"}, {"rule": "self != 3", "reason": "FieldValueDuplicate"}]},
            "b": {"type": "boolean", "x-kubernetes-validations": [{"rule": "self"}]},
            "l": {"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 5}, "x-kubernetes-validations": [{"rule": "self.size() < 2"}]},
            "t": {"type": "string", "format": "date-time", "x-kubernetes-validations": [{"rule": "self < timestamp('2020-01-01T00:00:00Z')"}]},
            "d": {"type": "string", "format": "duration", "x-kubernetes-validations": [{"rule": "self < duration('1h')"}]},
            "nm": {"type": "object", "x-kubernetes-validations": [{"rule": "self.dash__dash__x == 'y'"}],
                   "properties": {"dash-x": {"type": "string", "maxLength": 10}}}
        }}}});
        let v = match compile(&schema, BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        let obj = json!({"spec": {"s": "bq\"", "i": 7, "b": false, "l": ["a", "b"],
            "t": "2021-01-01T00:00:00Z", "d": "2h", "nm": {"dash-x": "z"}}});
        assert_eq!(
            msgs(&v.validate(&obj, None)),
            vec![
                "spec.s: Invalid value: \"bq\\\"\": failed rule: self.startsWith('a')",
                "spec.i: Invalid value: 7: failed rule: self < 5",
                "spec.b: Invalid value: false: failed rule: self",
                "spec.l: Invalid value: failed rule: self.size() < 2",
                "spec.t: Invalid value: \"2021-01-01T00:00:00Z\": failed rule: self < timestamp('2020-01-01T00:00:00Z')",
                "spec.d: Invalid value: \"2h\": failed rule: self < duration('1h')",
                "spec.nm: Invalid value: failed rule: self.dash__dash__x == 'y'",
            ]
        );
        let obj = json!({"spec": {"s": "dup", "i": 3}});
        assert_eq!(
            msgs(&v.validate(&obj, None)),
            vec![
                "spec.s: Invalid value: \"dup\": failed rule: self.startsWith('a')",
                "spec.s: Duplicate value: \"dup\"",
                "spec.i: Duplicate value: 3",
            ]
        );
        let ok = json!({"spec": {"s": "abc", "i": 1, "b": true, "l": ["a"], "t": "2019-01-01T00:00:00Z", "d": "30m", "nm": {"dash-x": "y"}}});
        assert!(v.validate(&ok, None).is_empty());
    }

    #[test]
    fn schema_without_rules_is_empty() {
        let v = compile(
            &json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
            BASE,
        );
        assert!(v.map(|v| v.is_empty()).unwrap_or(false));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape("foo-bar").as_deref(), Some("foo__dash__bar"));
        assert_eq!(escape("a.b/c").as_deref(), Some("a__dot__b__slash__c"));
        assert_eq!(escape("__x").as_deref(), Some("__underscores__x"));
        assert_eq!(escape("namespace").as_deref(), Some("__namespace__"));
        assert_eq!(escape("1a"), None);
        assert_eq!(escape("a b"), None);
    }

    #[test]
    fn library_functions() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.l.isSorted()", "message": "sorted"},
                {"rule": "self.l.sum() < 10", "message": "sum"},
                {"rule": "self.s.lowerAscii() == self.s", "message": "lower"},
                {"rule": "self.s.find('[0-9]+') == '' || self.s.findAll('[0-9]').size() < 3", "message": "digits"},
                {"rule": "self.s.split('-').size() < 3", "message": "split"}],
            "properties": {
                "l": {"type": "array", "maxItems": 10, "items": {"type": "integer"}},
                "s": {"type": "string", "maxLength": 20}}}}});
        let v = match compile(&schema, BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        assert!(
            v.validate(&json!({"spec": {"l": [1, 2, 3], "s": "ab-c1"}}), None)
                .is_empty()
        );
        assert_eq!(
            msgs(&v.validate(&json!({"spec": {"l": [3, 2, 9], "s": "A-b-c-123"}}), None)),
            vec![
                "spec: Invalid value: sorted",
                "spec: Invalid value: sum",
                "spec: Invalid value: lower",
                "spec: Invalid value: digits",
                "spec: Invalid value: split"
            ]
        );
    }

    #[test]
    fn hostile_input_does_not_panic() {
        // Deeply nested expression: the parser's recursion limit answers with an error.
        for deep in [
            format!("{}1{}", "(".repeat(500), ")".repeat(500)),
            format!("{}1{}", "[".repeat(60), "]".repeat(60)),
            format!("{}true{}", "!(".repeat(60), ")".repeat(60)),
            vec!["1"; 5000].join(" + "),
            "1 + ".repeat(100_000),
        ] {
            assert!(!compile_errs(spec_rules(json!([{"rule": deep}]))).is_empty());
        }
        // Within the limits, evaluation fits a 2 MiB stack (the test thread's).
        let ok = format!("self.a == {}1", "-".repeat(30));
        assert!(compile(&spec_rules(json!([{"rule": ok}])), BASE).is_ok());
        // Nested comprehensions over a bounded but large list are refused by the estimate.
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "l": {"type": "array", "maxItems": 100000, "items": {"type": "integer"},
                  "x-kubernetes-validations": [{"rule": "self.all(x, self.all(y, x != y || x == y))"}]}}}}});
        assert!(!compile_errs(schema).is_empty());
        // Iterating lists built by `map` is costed by what they hold.
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "l": {"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 10},
                  "x-kubernetes-validations": [{"rule": "self.map(x, self).all(y, y.all(z, y.all(w, z == w)))"}]}}}}});
        assert!(!compile_errs(schema).is_empty());
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "l": {"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 10},
                  "x-kubernetes-validations": [{"rule": "self.map(x, self).all(y, y.all(z, z != ''))"}]}}}}});
        assert_eq!(compile_errs(schema), Vec::<String>::new());
        // Bad regex at run time is an evaluation error, not a panic.
        let schema = spec_rules(json!([{"rule": "self.name.matches('(')"}]));
        let v = match compile(&schema, BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        assert_eq!(v.validate(&json!({"spec": {"name": "x"}}), None).len(), 1);
        // Wrongly typed values never panic.
        let v = match compile(&widget_schema(), BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        let _ = v.validate(
            &json!({"spec": {"a": "x", "items": "y", "m": [1]}, "metadata": 3}),
            Some(&json!(null)),
        );
        let _ = v.validate(&json!([1, 2]), Some(&json!({"spec": 1})));
    }

    #[test]
    fn optional_old_self_maps_lists_and_runtime_overloads() {
        let schema = json!({"type": "object",
          "x-kubernetes-validations": [{"rule": "has(self.spec)", "message": "spec required"}],
          "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
              {"rule": "self.c != 1", "messageExpression": "self.mm['zz']"},
              {"rule": "!oldSelf.hasValue() || self.c >= oldSelf.value().c", "optionalOldSelf": true, "message": "c may not decrease"},
              {"rule": "oldSelf.orValue(self).c < 100", "optionalOldSelf": true, "message": "c was 100"}],
            "properties": {
              "c": {"type": "integer"},
              "ios": {"x-kubernetes-int-or-string": true, "x-kubernetes-validations": [{"rule": "self > 1"}]},
              "mm": {"type": "object", "maxProperties": 5, "additionalProperties": {"type": "string", "maxLength": 5,
                     "x-kubernetes-validations": [{"rule": "self != 'bad'"}]}},
              "l": {"type": "array", "maxItems": 5, "items": {"type": "string", "maxLength": 5,
                    "x-kubernetes-validations": [{"rule": "self != 'bad'"}]}}}}}});
        let v = match compile(&schema, BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        let bolt = |spec: Option<Value>| {
            let mut o = json!({"apiVersion": "cel.example.com/v1", "kind": "Bolt", "metadata": {"name": "b"}});
            if let (Some(spec), Some(m)) = (spec, o.as_object_mut()) {
                m.insert("spec".into(), spec);
            }
            o
        };
        assert_eq!(
            msgs(&v.validate(&bolt(None), None)),
            vec!["<nil>: Invalid value: spec required"]
        );
        assert_eq!(
            msgs(&v.validate(
                &bolt(Some(
                    json!({"c": 1, "ios": "x", "mm": {"a": "bad"}, "l": ["ok", "bad"]})
                )),
                None
            )),
            vec![
                "spec: Invalid value: failed rule: self.c != 1",
                "spec.ios: Invalid value: \"\": 'no such overload': call arguments did not match a supported operator, function or macro signature for rule: self > 1",
                "spec.mm[a]: Invalid value: \"bad\": failed rule: self != 'bad'",
                "spec.l[1]: Invalid value: \"bad\": failed rule: self != 'bad'",
            ]
        );
        assert_eq!(
            msgs(&v.validate(&bolt(Some(json!({"c": 100}))), None)),
            vec!["spec: Invalid value: c was 100"]
        );
        let old = bolt(Some(json!({"c": 5})));
        assert!(v.validate(&old, None).is_empty());
        assert_eq!(
            msgs(&v.validate(&bolt(Some(json!({"c": 4}))), Some(&old))),
            vec!["spec: Invalid value: c may not decrease"]
        );
    }

    #[test]
    fn cost_total_matches_upstream() {
        // Upstream refuses this schema because of rule [5] and names it first among the four
        // most expensive rules; it accepts the schema without rule [5].
        let mut schema: Value = serde_json::from_str(r#"{"type": "object", "x-kubernetes-validations": [{"rule": "self.metadata.name.size() <= 63"}], "properties": {"spec": {"type": "object", "x-kubernetes-validations": [{"rule": "self.replicas <= self.maxReplicas"}, {"rule": "has(self.a) == has(self.b)"}, {"rule": "self.objs.all(x, x.name.size() > 0)"}, {"rule": "self.objs.exists_one(x, x.name == 'main')"}, {"rule": "self.labels.all(k, k.matches('^[a-z]+$'))"}, {"rule": "self.objs.all(x, self.objs.exists(y, y.name == x.name))"}], "properties": {"replicas": {"type": "integer"}, "maxReplicas": {"type": "integer"}, "a": {"type": "string"}, "b": {"type": "string"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}, "objs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}}, "l": {"type": "array", "maxItems": 1000, "items": {"type": "string", "maxLength": 10}, "x-kubernetes-validations": [{"rule": "self.map(x, self).all(y, y.all(z, z != ''))"}]}}}}}"#).unwrap_or_default();
        let errs = compile_errs(schema.clone());
        let r5 = format!("{P}[5].rule");
        assert_eq!(errs.len(), 6, "{errs:?}");
        assert_eq!(
            errs[0],
            format!(
                "{r5}: Forbidden: estimated rule cost exceeds budget by factor of more than 100x {HINT}"
            )
        );
        assert_eq!(
            errs[1],
            format!(
                "{r5}: Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"
            )
        );
        assert_eq!(
            errs[5],
            format!(
                "spec.validation.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x {HINT}"
            )
        );
        if let Some(Value::Array(rules)) =
            schema.pointer_mut("/properties/spec/x-kubernetes-validations")
        {
            rules.truncate(5);
        }
        assert_eq!(compile_errs(schema), Vec::<String>::new());
    }

    #[test]
    fn rules_reading_self_whole_see_every_field() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.a == 1", "message": "a"},
                {"rule": "self.all(k, k != 'c')", "message": "no c"},
                {"rule": "self == oldSelf", "message": "immutable"}],
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {"type": "integer"}}}}});
        let v = match compile(&schema, BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        assert!(
            v.validate(&json!({"spec": {"a": 1, "b": 2}}), None)
                .is_empty()
        );
        assert_eq!(
            msgs(&v.validate(
                &json!({"spec": {"a": 1, "c": 2}}),
                Some(&json!({"spec": {"a": 1, "c": 3}}))
            )),
            vec![
                "spec: Invalid value: no c",
                "spec: Invalid value: immutable"
            ]
        );
        let mut fields = Vec::new();
        let p = env().compile("self.a == 1 && has(self.b) && [1].all(x, x > 0)");
        assert!(p.is_ok_and(|p| self_fields(p.expression(), &mut fields)));
        assert_eq!(fields, vec!["a", "b"]);
    }

    #[test]
    fn unchanged_values_ratchet_to_warnings() {
        // Live upstream: CR stored before the rules were added, then updated.
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [{"rule": "self.a <= 10"}],
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"},
                "c": {"type": "object", "properties": {"x": {"type": "integer"}},
                      "x-kubernetes-validations": [{"rule": "self.x <= 10"}]}}}}});
        let v = match compile(&schema, BASE) {
            Ok(v) => v,
            Err(e) => panic!("{:?}", msgs(&e)),
        };
        let cog = |b: i64, labels: bool| {
            let mut o = json!({"apiVersion": "cel.example.com/v1", "kind": "Cog",
                "metadata": {"name": "c1"}, "spec": {"a": 11, "b": b, "c": {"x": 11}}});
            if labels {
                o["metadata"]["labels"] = json!({"l": "v"});
            }
            o
        };
        let old = cog(1, false);
        let (errs, warnings) = v.validate_with_warnings(&cog(2, false), Some(&old));
        assert_eq!(
            msgs(&errs),
            vec!["spec: Invalid value: failed rule: self.a <= 10"]
        );
        assert_eq!(
            warnings,
            vec!["spec.c: Invalid value: failed rule: self.x <= 10"]
        );
        let (errs, warnings) = v.validate_with_warnings(&cog(1, true), Some(&old));
        assert!(errs.is_empty());
        assert_eq!(
            warnings,
            vec![
                "spec: Invalid value: failed rule: self.a <= 10",
                "spec.c: Invalid value: failed rule: self.x <= 10"
            ]
        );
        // On create nothing ratchets.
        assert_eq!(v.validate(&cog(1, false), None).len(), 2);
    }

    #[test]
    fn validator_is_shareable() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Validator>();
    }

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("1h30m"),
            Some(chrono::Duration::minutes(90))
        );
        assert_eq!(
            parse_go_duration("-1.5s"),
            Some(chrono::Duration::milliseconds(-1500))
        );
        assert_eq!(parse_go_duration("0"), Some(chrono::Duration::zero()));
        assert_eq!(parse_go_duration("1x"), None);
        assert_eq!(parse_go_duration(""), None);
    }
}
