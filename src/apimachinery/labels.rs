//! Kubernetes label selectors: the `?labelSelector=` query-string syntax
//! (staging/src/k8s.io/apimachinery/pkg/labels/selector.go) and the conversion of a
//! `metav1.LabelSelector` JSON object (`LabelSelectorAsSelector` in
//! staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go), with upstream's
//! lexer behaviour, error messages, matching rules and canonical string form.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use crate::apimachinery::validation::{is_qualified_name, is_valid_label_value};

/// A selection operator (upstream `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `=`
    Equals,
    /// `==`
    DoubleEquals,
    /// `!=`
    NotEquals,
    /// `in`
    In,
    /// `notin`
    NotIn,
    /// `exists` (a bare key in the query syntax)
    Exists,
    /// `!` (a `!key` in the query syntax)
    DoesNotExist,
    /// `gt` (written `>` in the query syntax)
    GreaterThan,
    /// `lt` (written `<` in the query syntax)
    LessThan,
}

impl Operator {
    /// Upstream's string value of the operator (`selection.Operator`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One requirement of a selector: a key, an operator and (for binary operators) values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    pub values: Vec<String>,
}

impl Requirement {
    /// Upstream `NewRequirement` (with no field path option): validates the key as a
    /// qualified name, the value count for the operator, integer values for `gt`/`lt`
    /// and every value as a label value. The error is upstream's aggregated
    /// `field.ErrorList` message.
    pub fn new(key: &str, operator: Operator, values: Vec<String>) -> Result<Self, String> {
        let mut errs: Vec<String> = Vec::new();
        if let Some(e) = validate_label_key(key, "key") {
            errs.push(e);
        }
        match operator {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(invalid(
                        "values",
                        &go_string_slice(&values),
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &go_string_slice(&values),
                        "exact-match compatibility requires one single value",
                    ));
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(invalid(
                        "values",
                        &go_string_slice(&values),
                        "values set must be empty for exists and does not exist",
                    ));
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(invalid(
                        "values",
                        &go_string_slice(&values),
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(invalid(
                            &format!("values[{i}]"),
                            &go_quote(v),
                            "for 'Gt', 'Lt' operators, the value must be an integer",
                        ));
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let msgs = is_valid_label_value(v);
            if !msgs.is_empty() {
                // upstream: field.Invalid(valuePath.Index(i).Key(key), ...)
                errs.push(invalid(
                    &format!("values[{i}][{key}]"),
                    &go_quote(v),
                    &msgs.join("; "),
                ));
            }
        }
        if errs.is_empty() {
            Ok(Requirement {
                key: key.to_string(),
                operator,
                values,
            })
        } else {
            Err(aggregate(errs))
        }
    }

    /// Upstream `Requirement.Matches` against an object's `metadata.labels`.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let lookup = |k: &str| -> Option<&str> {
            labels
                .and_then(|m| m.get(k))
                .map(|v| v.as_str().unwrap_or(""))
        };
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                lookup(&self.key).is_some_and(|v| self.values.iter().any(|x| x == v))
            }
            Operator::NotIn | Operator::NotEquals => {
                lookup(&self.key).is_none_or(|v| !self.values.iter().any(|x| x == v))
            }
            Operator::Exists => lookup(&self.key).is_some(),
            Operator::DoesNotExist => lookup(&self.key).is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = lookup(&self.key).and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// Upstream `Requirement.String`: values sorted when there are several.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (op, set) = match self.operator {
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
            Operator::Equals => ("=", false),
            Operator::DoubleEquals => ("==", false),
            Operator::NotEquals => ("!=", false),
            Operator::In => (" in ", true),
            Operator::NotIn => (" notin ", true),
            Operator::GreaterThan => (">", false),
            Operator::LessThan => ("<", false),
        };
        f.write_str(op)?;
        if set {
            f.write_str("(")?;
        }
        if let [only] = self.values.as_slice() {
            f.write_str(only)?;
        } else {
            let mut sorted: Vec<&str> = self.values.iter().map(String::as_str).collect();
            sorted.sort_unstable();
            f.write_str(&sorted.join(","))?;
        }
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// A label selector: the AND of its requirements, or the "nothing" selector that
/// matches no object (what a null `metav1.LabelSelector` converts to).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl Selector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Selector::default()
    }

    /// The selector that matches no object.
    pub fn nothing() -> Self {
        Selector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// True when the selector does not restrict anything (upstream `Empty()`);
    /// false for [`Selector::nothing`].
    pub fn is_everything(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for the "nothing" selector.
    pub fn is_nothing(&self) -> bool {
        self.nothing
    }

    /// Whether an object with these `metadata.labels` (None = no labels) is selected.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The requirements, sorted by key (empty for both everything and nothing).
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        // upstream sorts by key (sort.Sort(ByKey)); a stable sort keeps input order
        // for equal keys, as Go's insertion sort does for small inputs.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Selector {
            requirements,
            nothing: false,
        }
    }
}

impl fmt::Display for Selector {
    /// Upstream `String()`: requirements joined with `,`; the nothing selector prints "".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// Parses the `labelSelector` query syntax (upstream `labels.Parse`).
pub fn parse(s: &str) -> Result<Selector, String> {
    let mut p = Parser::new(s);
    let reqs = p.parse()?;
    Ok(Selector::from_requirements(reqs))
}

/// Converts a `metav1.LabelSelector` JSON value (upstream `LabelSelectorAsSelector`):
/// absent or null selects nothing, `{}` selects everything.
pub fn from_label_selector(v: Option<&Value>) -> Result<Selector, String> {
    let obj = match v {
        None | Some(Value::Null) => return Ok(Selector::nothing()),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(unmarshal_error(other, "Go value", "v1.LabelSelector")),
    };
    let empty_map = Map::new();
    let match_labels = match obj.get("matchLabels") {
        None | Some(Value::Null) => &empty_map,
        Some(Value::Object(m)) => m,
        Some(other) => {
            return Err(unmarshal_error(
                other,
                "Go struct field LabelSelector.matchLabels",
                "map[string]string",
            ));
        }
    };
    let empty_vec = Vec::new();
    let match_expressions = match obj.get("matchExpressions") {
        None | Some(Value::Null) => &empty_vec,
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(unmarshal_error(
                other,
                "Go struct field LabelSelector.matchExpressions",
                "[]v1.LabelSelectorRequirement",
            ));
        }
    };
    if match_labels.is_empty() && match_expressions.is_empty() {
        return Ok(Selector::everything());
    }
    let mut reqs = Vec::with_capacity(match_labels.len() + match_expressions.len());
    for (k, v) in match_labels {
        let v = json_string(v, "Go struct field LabelSelector.matchLabels")?;
        reqs.push(Requirement::new(k, Operator::Equals, vec![v])?);
    }
    for expr in match_expressions {
        let expr = match expr {
            Value::Object(o) => o,
            Value::Null => &empty_map,
            other => {
                return Err(unmarshal_error(
                    other,
                    "Go struct field LabelSelector.matchExpressions",
                    "v1.LabelSelectorRequirement",
                ));
            }
        };
        let field = |name: &str| -> Result<String, String> {
            match expr.get(name) {
                None => Ok(String::new()),
                Some(v) => json_string(
                    v,
                    &format!("Go struct field LabelSelectorRequirement.matchExpressions.{name}"),
                ),
            }
        };
        let key = field("key")?;
        let operator = field("operator")?;
        let values = match expr.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    json_string(
                        v,
                        "Go struct field LabelSelectorRequirement.matchExpressions.values",
                    )
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(unmarshal_error(
                    other,
                    "Go struct field LabelSelectorRequirement.matchExpressions.values",
                    "[]string",
                ));
            }
        };
        let op = match operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            _ => {
                return Err(format!(
                    "{} is not a valid pod selector operator",
                    go_quote(&operator)
                ));
            }
        };
        reqs.push(Requirement::new(&key, op, values)?);
    }
    Ok(Selector::from_requirements(reqs))
}

// ---------------------------------------------------------------------------
// Error formatting (staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go)

/// `field.Invalid(path, value, detail).Error()`; `value` is already Go-formatted.
fn invalid(path: &str, value: &str, detail: &str) -> String {
    format!("{path}: Invalid value: {value}: {detail}")
}

/// `ErrorList.ToAggregate().Error()`: duplicates dropped, one message bare,
/// several as `[a, b]`.
fn aggregate(errs: Vec<String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in errs {
        if !seen.contains(&e) {
            seen.push(e);
        }
    }
    if seen.len() == 1 {
        seen.pop().unwrap_or_default()
    } else {
        format!("[{}]", seen.join(", "))
    }
}

fn validate_label_key(key: &str, path: &str) -> Option<String> {
    let msgs = is_qualified_name(key);
    if msgs.is_empty() {
        None
    } else {
        Some(invalid(path, &go_quote(key), &msgs.join("; ")))
    }
}

/// Go's `%#v` of a `[]string` (an empty one is always upstream's nil slice here).
fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

pub(crate) use crate::apimachinery::validation::go_quote;

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Approximation of encoding/json's `UnmarshalTypeError` message.
fn unmarshal_error(v: &Value, place: &str, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into {place} of type {go_type}",
        json_type_name(v)
    )
}

/// A JSON string as Go would decode it into a `string` (null leaves it empty).
fn json_string(v: &Value, place: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        other => Err(unmarshal_error(other, place, "string")),
    }
}

// ---------------------------------------------------------------------------
// Lexer and parser (mirrors upstream's byte-oriented lexer exactly)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn literal_token(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(ch: u8) -> bool {
    matches!(ch, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special_symbol(ch: u8) -> bool {
    matches!(ch, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// The byte at the current position (0 past the end), advancing only when in range.
    fn read(&mut self) -> u8 {
        match self.s.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                b
            }
            None => 0,
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn scan_id_or_keyword(&mut self) -> (Token, String) {
        let mut buf = Vec::new();
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special_symbol(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
            buf.push(ch);
        }
        let tok = literal_token(&buf).unwrap_or(Token::Identifier);
        (tok, String::from_utf8_lossy(&buf).into_owned())
    }

    fn scan_special_symbol(&mut self) -> (Token, String) {
        let mut last: Option<(Token, usize)> = None;
        let mut buf = Vec::new();
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if !is_special_symbol(ch) {
                self.unread();
                break;
            }
            buf.push(ch);
            if let Some(tok) = literal_token(&buf) {
                last = Some((tok, buf.len()));
            } else if last.is_some() {
                self.unread();
                break;
            }
        }
        match last {
            Some((tok, len)) => {
                let lit = buf.get(..len).unwrap_or_default();
                (tok, String::from_utf8_lossy(lit).into_owned())
            }
            None => (
                Token::Error,
                format!(
                    "error expected: keyword found '{}'",
                    String::from_utf8_lossy(&buf)
                ),
            ),
        }
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special_symbol(ch) {
            self.scan_special_symbol()
        } else {
            self.scan_id_or_keyword()
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser {
    fn new(s: &str) -> Self {
        let mut lexer = Lexer {
            s: s.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let (tok, lit) = lexer.lex();
            items.push((tok, lit));
            if tok == Token::EndOfString {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    fn item(&self, idx: usize, ctx: Context) -> (Token, String) {
        let (tok, lit) = self
            .items
            .get(idx)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        let tok = match (ctx, tok) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            _ => tok,
        };
        (tok, lit)
    }

    fn lookahead(&self, ctx: Context) -> (Token, String) {
        self.item(self.position, ctx)
    }

    fn consume(&mut self, ctx: Context) -> (Token, String) {
        self.position += 1;
        self.item(self.position - 1, ctx)
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .parse_requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    reqs.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(reqs),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => {
                            return Err(format!("found '{l}', expected: ',' or 'end of string'"));
                        }
                    }
                }
                Token::EndOfString => return Ok(reqs),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, String> {
        let (key, operator) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = operator {
            return Requirement::new(&key, op, Vec::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(&key, op, values.into_iter().collect())
    }

    fn parse_key_and_infer_operator(&mut self) -> Result<(String, Option<Operator>), String> {
        let mut operator = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            operator = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(format!("found '{lit}', expected: identifier"));
        }
        // upstream validates with the parser's (nil) field path here
        if let Some(e) = validate_label_key(&lit, "<nil>") {
            return Err(e);
        }
        let (next, _) = self.lookahead(Context::Values);
        if (next == Token::EndOfString || next == Token::Comma)
            && operator != Some(Operator::DoesNotExist)
        {
            operator = Some(Operator::Exists);
        }
        Ok((lit, operator))
    }

    fn parse_operator(&mut self) -> Result<Operator, String> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => return Err(format!("found '{lit}', expected: {BINARY_OPERATORS}")),
        })
    }

    fn parse_values(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let s = self.parse_identifiers_list()?;
                let (tok, _) = self.consume(Context::Values);
                if tok != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(s)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, String> {
        let mut s = BTreeSet::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    s.insert(lit);
                    let (tok2, lit2) = self.lookahead(Context::Values);
                    match tok2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(s),
                        _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if s.is_empty() {
                        s.insert(String::new());
                    }
                    let (tok2, _) = self.lookahead(Context::Values);
                    if tok2 == Token::ClosedPar {
                        s.insert(String::new());
                        return Ok(s);
                    }
                    if tok2 == Token::Comma {
                        s.insert(String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, String> {
        let (tok, _) = self.lookahead(Context::Values);
        if tok == Token::EndOfString || tok == Token::Comma {
            return Ok(BTreeSet::from([String::new()]));
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            Ok(BTreeSet::from([lit]))
        } else {
            Err(format!("found '{lit}', expected: identifier"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn roundtrip(input: &str) -> String {
        match parse(input) {
            Ok(s) => s.to_string(),
            Err(e) => format!("ERR {e}"),
        }
    }

    fn key_err(key: &str) -> String {
        is_qualified_name(key).join("; ")
    }

    fn value_err(v: &str) -> String {
        is_valid_label_value(v).join("; ")
    }

    #[test]
    fn parse_round_trips_to_canonical_form() {
        let cases = [
            ("", ""),
            ("x=a", "x=a"),
            ("x==a", "x==a"),
            ("x!=a", "x!=a"),
            ("x=a,y=b,z=c", "x=a,y=b,z=c"),
            ("z=c,y=b,x=a", "x=a,y=b,z=c"),
            ("x in (a)", "x in (a)"),
            ("x in (c,b,a)", "x in (a,b,c)"),
            ("x in (a,a,b)", "x in (a,b)"),
            ("x notin (b,a)", "x notin (a,b)"),
            ("x", "x"),
            ("!x", "!x"),
            ("x>1", "x>1"),
            ("x<1", "x<1"),
            ("x in ()", "x in ()"),
            ("x in (,a)", "x in (,a)"),
            ("x in (a,)", "x in (,a)"),
            ("x in (a,,b)", "x in (,a,b)"),
            ("x=", "x="),
            ("x=,z= ", "x=,z="),
            ("  x  =  a  ,  y  ", "x=a,y"),
            ("\tx\n=\ra", "x=a"),
            ("x in(a)", "x in (a)"),
            ("x notin(a)", "x notin (a)"),
            ("in in (in)", "in in (in)"),
            ("notin notin (notin)", "notin notin (notin)"),
            ("x=in,y=notin", "x=in,y=notin"),
            ("example.com/x=a", "example.com/x=a"),
            (
                "b,!a,c in (x),d notin (y),e=1,f!=2,g>3,h<4",
                "!a,b,c in (x),d notin (y),e=1,f!=2,g>3,h<4",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(roundtrip(input), want, "input {input:?}");
        }
        // the canonical form parses back to the same selector
        for input in [
            "x in (c,b,a),!y,z>5",
            "a=b,c!=d,e in (x,y),f notin (z),g,!h",
        ] {
            let once = parse(input).unwrap_or_default();
            let twice = parse(&once.to_string()).unwrap_or_default();
            assert_eq!(once, twice);
        }
    }

    #[test]
    fn parse_operators_and_values() {
        let s = parse("a=b,c!=d,e in (y,x),f notin (z),g,!h,i==j,k>5,l<7").unwrap_or_default();
        let got: Vec<(String, Operator, Vec<String>)> = s
            .requirements()
            .iter()
            .map(|r| (r.key.clone(), r.operator, r.values.clone()))
            .collect();
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                ("a".into(), Operator::Equals, v(&["b"])),
                ("c".into(), Operator::NotEquals, v(&["d"])),
                ("e".into(), Operator::In, v(&["x", "y"])),
                ("f".into(), Operator::NotIn, v(&["z"])),
                ("g".into(), Operator::Exists, v(&[])),
                ("h".into(), Operator::DoesNotExist, v(&[])),
                ("i".into(), Operator::DoubleEquals, v(&["j"])),
                ("k".into(), Operator::GreaterThan, v(&["5"])),
                ("l".into(), Operator::LessThan, v(&["7"])),
            ]
        );
        let ops: Vec<&str> = got.iter().map(|g| g.1.as_str()).collect();
        assert_eq!(
            ops,
            ["=", "!=", "in", "notin", "exists", "!", "==", "gt", "lt"]
        );
    }

    #[test]
    fn parse_syntax_errors() {
        let cases = [
            ("x=a,", "found '', expected: identifier after ','"),
            (
                ",x",
                "found ',', expected: !, identifier, or 'end of string'",
            ),
            (
                "=a",
                "found '=', expected: !, identifier, or 'end of string'",
            ),
            ("x=a,,y", "found ',', expected: identifier after ','"),
            ("x=a y", "found 'y', expected: ',' or 'end of string'"),
            ("x=a)", "found ')', expected: ',' or 'end of string'"),
            ("!x=a", "found '=', expected: ',' or 'end of string'"),
            (
                "x y",
                "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "x!a",
                "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "x(a)",
                "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "!!x",
                "unable to parse requirement: found '!', expected: identifier",
            ),
            (
                "x in a",
                "unable to parse requirement: found 'a' expected: '('",
            ),
            (
                "x in",
                "unable to parse requirement: found '' expected: '('",
            ),
            (
                "x in (a",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "x in (a b)",
                "unable to parse requirement: found 'b', expected: ',' or ')'",
            ),
            (
                "x in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            (
                "x in (,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier",
            ),
            (
                "x in (",
                "unable to parse requirement: found '', expected: ',', ')' or identifier",
            ),
            (
                "x==!",
                "unable to parse requirement: found '!', expected: identifier",
            ),
            (
                "x=(a)",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            ("x=a=b", "found '=', expected: ',' or 'end of string'"),
            // "===" lexes as "==" then "="
            (
                "x===a",
                "unable to parse requirement: found '=', expected: identifier",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input), Err(want.to_string()), "input {input:?}");
        }
    }

    #[test]
    fn parse_validation_errors() {
        assert_eq!(
            parse("a_=b"),
            Err(format!(
                "unable to parse requirement: <nil>: Invalid value: \"a_\": {}",
                key_err("a_")
            ))
        );
        assert_eq!(
            parse("x,!-y"),
            Err(format!(
                "unable to parse requirement: <nil>: Invalid value: \"-y\": {}",
                key_err("-y")
            ))
        );
        assert_eq!(
            parse("a/b/c"),
            Err(format!(
                "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": {}",
                key_err("a/b/c")
            ))
        );
        assert_eq!(
            parse("x=a_"),
            Err(format!(
                "unable to parse requirement: values[0][x]: Invalid value: \"a_\": {}",
                value_err("a_")
            ))
        );
        assert_eq!(
            parse("x in (a,bad_)"),
            Err(format!(
                "unable to parse requirement: values[1][x]: Invalid value: \"bad_\": {}",
                value_err("bad_")
            ))
        );
        assert_eq!(
            parse("x>a"),
            Err("unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".to_string())
        );
        assert_eq!(
            parse("x<"),
            Err("unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".to_string())
        );
        // two errors for one value are aggregated in brackets
        assert_eq!(
            parse("x>-"),
            Err(format!(
                "unable to parse requirement: [values[0]: Invalid value: \"-\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"-\": {}]",
                value_err("-")
            ))
        );
        // key validation is the qualified-name check used upstream
        assert!(
            is_qualified_name("a_")
                .iter()
                .any(|m| m.starts_with("name part "))
        );
        assert!(parse(&"k".repeat(64)).is_err());
        assert!(parse(&format!("x={}", "v".repeat(64))).is_err());
        assert!(parse(&format!("x={}", "v".repeat(63))).is_ok());
    }

    #[test]
    fn nul_byte_handling_like_upstream() {
        assert_eq!(
            roundtrip("x=a\0y=b"),
            "ERR found 'y', expected: ',' or 'end of string'"
        );
        assert_eq!(
            roundtrip("x=a,\0"),
            "ERR found '', expected: identifier after ','"
        );
    }

    #[test]
    fn matching() {
        let ls = labels(json!({"app": "web", "tier": "front", "n": "5", "empty": ""}));
        let m = |sel: &str| parse(sel).map(|s| s.matches(Some(&ls))).unwrap_or(false);
        assert!(m(""));
        assert!(m("app=web"));
        assert!(m("app==web"));
        assert!(!m("app=db"));
        assert!(m("app!=db"));
        assert!(!m("app!=web"));
        assert!(m("missing!=x"));
        assert!(m("app in (db,web)"));
        assert!(!m("app in (db)"));
        assert!(!m("missing in (db)"));
        assert!(m("app notin (db)"));
        assert!(!m("app notin (web)"));
        assert!(m("missing notin (web)"));
        assert!(m("app"));
        assert!(!m("missing"));
        assert!(m("!missing"));
        assert!(!m("!app"));
        assert!(m("n>4"));
        assert!(!m("n>5"));
        assert!(m("n<6"));
        assert!(!m("n<5"));
        assert!(!m("app>1"));
        assert!(!m("missing>1"));
        assert!(m("empty="));
        assert!(m("empty in ()"));
        assert!(!m("missing="));
        assert!(!m("missing=x"));
        assert!(m("app=web,tier=front"));
        assert!(!m("app=web,tier=back"));
        // no labels at all
        let s = parse("!a,b notin (c),d!=e").unwrap_or_default();
        assert!(s.matches(None));
        assert!(!parse("a").unwrap_or_default().matches(None));
    }

    #[test]
    fn everything_and_nothing() {
        let e = Selector::everything();
        assert!(e.is_everything());
        assert!(e.matches(None));
        assert_eq!(e.to_string(), "");
        let n = Selector::nothing();
        assert!(!n.is_everything());
        assert!(n.is_nothing());
        assert!(!n.matches(None));
        assert!(!n.matches(Some(&Map::new())));
        assert_eq!(n.to_string(), "");
        assert!(n.requirements().is_empty());
        assert!(parse("").unwrap_or_default().is_everything());
        assert!(!parse("a").unwrap_or_default().is_everything());
    }

    #[test]
    fn label_selector_conversion() {
        assert_eq!(from_label_selector(None), Ok(Selector::nothing()));
        assert_eq!(
            from_label_selector(Some(&Value::Null)),
            Ok(Selector::nothing())
        );
        assert_eq!(
            from_label_selector(Some(&json!({}))),
            Ok(Selector::everything())
        );
        assert_eq!(
            from_label_selector(Some(&json!({"matchLabels": {}, "matchExpressions": []}))),
            Ok(Selector::everything())
        );
        assert_eq!(
            from_label_selector(Some(
                &json!({"matchLabels": null, "matchExpressions": null})
            )),
            Ok(Selector::everything())
        );
        let sel = from_label_selector(Some(&json!({
            "matchLabels": {"z": "1", "app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                {"key": "gpu", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist", "values": []}
            ]
        })))
        .unwrap_or_default();
        assert_eq!(
            sel.to_string(),
            "app=web,env notin (prod),gpu,!legacy,tier in (a,b),z=1"
        );
        // values keep input order internally; only printing sorts them
        let tier = sel.requirements().iter().find(|r| r.key == "tier");
        assert_eq!(
            tier.map(|r| r.values.clone()),
            Some(vec!["b".into(), "a".into()])
        );
        let ls = labels(json!({"app": "web", "z": "1", "tier": "a", "gpu": ""}));
        assert!(sel.matches(Some(&ls)));
        let ls = labels(json!({"app": "web", "z": "1", "tier": "a", "gpu": "", "legacy": "y"}));
        assert!(!sel.matches(Some(&ls)));
    }

    #[test]
    fn label_selector_conversion_errors() {
        let conv = |v: Value| from_label_selector(Some(&v)).map(|s| s.to_string());
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})),
            Err("\"Gt\" is not a valid pod selector operator".to_string())
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a", "operator": "in"}]})),
            Err("\"in\" is not a valid pod selector operator".to_string())
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a"}]})),
            Err("\"\" is not a valid pod selector operator".to_string())
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})),
            Err("values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty".to_string())
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a", "operator": "NotIn"}]})),
            Err("values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty".to_string())
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x", "y"]}]})),
            Err("values: Invalid value: []string{\"x\", \"y\"}: values set must be empty for exists and does not exist".to_string())
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]})),
            Err("values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist".to_string())
        );
        assert_eq!(
            conv(json!({"matchLabels": {"bad key": "v"}})),
            Err(format!(
                "key: Invalid value: \"bad key\": {}",
                key_err("bad key")
            ))
        );
        assert_eq!(
            conv(json!({"matchLabels": {"k": "bad value"}})),
            Err(format!(
                "values[0][k]: Invalid value: \"bad value\": {}",
                value_err("bad value")
            ))
        );
        assert_eq!(
            conv(json!({"matchExpressions": [{"key": "", "operator": "Exists"}]})),
            Err(format!("key: Invalid value: \"\": {}", key_err("")))
        );
        assert_eq!(
            conv(
                json!({"matchExpressions": [{"key": "k_", "operator": "In", "values": ["a", "b_"]}]})
            ),
            Err(format!(
                "[key: Invalid value: \"k_\": {}, values[1][k_]: Invalid value: \"b_\": {}]",
                key_err("k_"),
                value_err("b_")
            ))
        );
        assert_eq!(
            conv(json!("app=web")),
            Err("json: cannot unmarshal string into Go value of type v1.LabelSelector".to_string())
        );
        assert_eq!(
            conv(json!({"matchLabels": {"a": 1}})),
            Err("json: cannot unmarshal number into Go struct field LabelSelector.matchLabels of type string".to_string())
        );
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(go_quote("a\nb\u{1}"), "\"a\\nb\\x01\"");
        assert_eq!(go_quote("é"), "\"é\"");
        assert_eq!(
            go_string_slice(&["a".into(), "b".into()]),
            "[]string{\"a\", \"b\"}"
        );
        assert_eq!(aggregate(vec!["x".into(), "x".into()]), "x");
        assert_eq!(
            aggregate(vec!["x".into(), "y".into(), "x".into()]),
            "[x, y]"
        );
    }

    #[test]
    fn requirement_display_sorts_multiple_values_only() {
        let r = Requirement {
            key: "k".into(),
            operator: Operator::NotIn,
            values: vec!["b".into(), "a".into(), "b".into()],
        };
        assert_eq!(r.to_string(), "k notin (a,b,b)");
        let r = Requirement {
            key: "k".into(),
            operator: Operator::GreaterThan,
            values: vec!["3".into()],
        };
        assert_eq!(r.to_string(), "k>3");
        assert_eq!(Operator::DoesNotExist.to_string(), "!");
    }
}
