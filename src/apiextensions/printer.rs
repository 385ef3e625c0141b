//! Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) for custom resources:
//! the `additionalPrinterColumns` of one CRD version turned into `meta.k8s.io/v1` column
//! definitions and row cells, as upstream's
//! `staging/src/k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor/tableconvertor.go`.
//!
//! * The implicit `Name` column comes first, then the declared columns in order. A version
//!   without columns gets upstream's implicit `Age` column (`type: date`,
//!   `.metadata.creationTimestamp`, see `customresource_handler.go`), rendered server-side as a
//!   human duration.
//! * Each column's JSONPath is compiled once with the grammar of client-go's
//!   `util/jsonpath/parser.go` (wrapped in `{...}` as upstream does). Upstream only requires
//!   "starts with `.`" at CRD validation; a path that then fails to parse makes upstream log
//!   `unrecognized column definition "<path>"` and serve only the columns before it. [`compile`]
//!   does the same and reports the message through [`Columns::error`].
//! * A cell is the first value the path finds (`nil` when none, or on an evaluation error such
//!   as an index out of bounds), converted by column type as upstream's `cellForJSONValue`;
//!   `string` columns print any value (maps and lists as Go's `json.Marshal` text, `null` as
//!   `<no value>`), `date` columns print the age of an RFC 3339 timestamp.
//! * Filters (`[?(@.type=="Ready")]`, `[?(@.name)]`) compare as client-go's forked
//!   text/template functions: values of different kinds (integer vs float, number vs string,
//!   `null`, maps) are an evaluation error, so the cell is `nil`.
//! * Identifiers other than `true`/`false` (e.g. `range`, `end`) parse but make the cell `nil`.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

/// `metav1.ObjectMeta{}.SwaggerDoc()["name"]`.
const DESC_NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
/// `metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]`.
const DESC_CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Longest JSONPath compiled (CRD fields are bounded by the request size anyway; this keeps
/// the parser's work trivially bounded).
const MAX_PATH_LEN: usize = 4096;
/// Nesting of `[...]` unions / dict keys re-parsed as sub-paths.
const MAX_PARSE_DEPTH: usize = 8;
/// Upper bound on intermediate values one evaluation may hold (recursive descent over a huge
/// object); beyond it the cell is `nil`.
const MAX_EVAL_VALUES: usize = 100_000;
/// Upper bound on the work of one cell (values visited, filter evaluations); beyond it the
/// cell is `nil`.
const MAX_EVAL_STEPS: usize = 500_000;

/// The compiled printer columns of one CRD version.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Column definitions, `Name` first, exactly as upstream serialises them.
    defs: Vec<Value>,
    /// One compiled path and cell type per column after `Name`.
    cols: Vec<Column>,
    /// `unrecognized column definition "<path>"` when a path failed to parse.
    error: Option<String>,
}

#[derive(Debug, Clone)]
struct Column {
    kind: CellType,
    path: Vec<Node>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CellType {
    Integer,
    Number,
    Boolean,
    String,
    Date,
    /// Any other type string (CRD validation rejects them): always `nil`.
    Other,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// `.name` (map key).
    Field(String),
    /// `.*` or `[*]`-less wildcard over map values / list items.
    Wildcard,
    /// `..`: the value and every descendant container.
    Recursive,
    /// `[a]`, `[a:b]`, `[a:b:c]`, `[*]`.
    Array(Slice),
    /// `[x,y]`: each alternative applied to the same input, results concatenated.
    Union(Vec<Vec<Node>>),
    /// `[?(left op right)]` or `[?(path)]` (exists).
    Filter(Box<Filter>),
    /// A quoted string: one value whatever the input (`evalText`... `TextNode`).
    Text(Value),
    /// An integer or `true`/`false` literal: one value per input.
    Literal(Value),
    /// A `float64` literal (`1.5`, `2.0`): one value per input; compares as a float.
    FloatLiteral(Value),
    /// Identifiers other than `true`/`false` (`range`, `end`, anything else): evaluating them
    /// outside a template fails, so the cell has no value.
    Unsupported,
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Vec<Node>,
    /// `None` for the exists form.
    op: Option<String>,
    right: Vec<Node>,
}

impl Filter {
    /// Whether a side is a lone float literal (its value may look integral, e.g. `2.0`).
    fn float_side(side: &[Node]) -> bool {
        matches!(side, [Node::FloatLiteral(_)])
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    /// `[n]`: the end is `start + 1` after normalising a negative start.
    derived_end: bool,
    cap: Option<i64>,
}

/// Compiles the printer columns of one entry of `spec.versions` (never fails: a path that does
/// not parse ends the column list there, as upstream, and is reported by [`Columns::error`]).
pub fn compile(version: &Value) -> Columns {
    let mut out = Columns {
        defs: vec![json!({
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": DESC_NAME,
            "priority": 0,
        })],
        cols: Vec::new(),
        error: None,
    };
    let declared = version
        .get("additionalPrinterColumns")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty());
    let Some(declared) = declared else {
        // customresource_handler.go: a version without columns gets the Age column.
        out.defs.push(json!({
            "name": "Age",
            "type": "date",
            "format": "",
            "description": DESC_CREATION_TIMESTAMP,
            "priority": 0,
        }));
        out.cols.push(Column {
            kind: CellType::Date,
            path: vec![
                Node::Field("metadata".into()),
                Node::Field("creationTimestamp".into()),
            ],
        });
        return out;
    };
    for col in declared {
        let s = |k: &str| col.get(k).and_then(Value::as_str).unwrap_or("");
        let json_path = s("jsonPath");
        let path = match parse_column_path(json_path) {
            Ok(p) => p,
            Err(_) => {
                out.error = Some(format!(
                    "unrecognized column definition {}",
                    go_quote(json_path)
                ));
                break;
            }
        };
        let description = match s("description") {
            "" => format!("Custom resource definition column (in JSONPath format): {json_path}"),
            d => d.to_string(),
        };
        let typ = s("type");
        out.defs.push(json!({
            "name": s("name"),
            "type": typ,
            "format": s("format"),
            "description": description,
            "priority": col.get("priority").and_then(Value::as_i64).unwrap_or(0),
        }));
        let kind = match typ {
            "integer" => CellType::Integer,
            "number" => CellType::Number,
            "boolean" => CellType::Boolean,
            "string" => CellType::String,
            "date" => CellType::Date,
            _ => CellType::Other,
        };
        out.cols.push(Column { kind, path });
    }
    out
}

impl Columns {
    /// `columnDefinitions` of the Table (`Name` first).
    pub fn definitions(&self) -> Vec<Value> {
        self.defs.clone()
    }

    /// The parse error upstream would log for this version's columns, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// One row's cells for a custom resource (`Name` first); `now` renders `date` columns.
    pub fn cells(&self, obj: &Value, now: DateTime<Utc>) -> Vec<Value> {
        let mut cells = Vec::with_capacity(1 + self.cols.len());
        let name = obj
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        cells.push(Value::String(name.to_string()));
        for col in &self.cols {
            let cell = match first_result(&col.path, obj) {
                Some(v) => cell_for(col.kind, v, now),
                None => Value::Null,
            };
            cells.push(cell);
        }
        cells
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing (client-go util/jsonpath/parser.go grammar, for the text `{<path>}`)
// ---------------------------------------------------------------------------------------------

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Parses a column's path as upstream parses `{<path>}` and returns the nodes of the first
/// action (the only one whose results make the cell).
fn parse_column_path(path: &str) -> Result<Vec<Node>, String> {
    if path.len() > MAX_PATH_LEN {
        return Err("path too long".into());
    }
    let mut p = Parser {
        s: path.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let nodes = p.action()?;
    // After the first `}`, upstream keeps parsing plain text and further `{...}` actions; only
    // their syntax matters.
    while p.pos < p.s.len() {
        if p.s.get(p.pos) == Some(&b'{') {
            p.pos += 1;
            p.action()?;
        } else {
            p.pos += 1;
        }
    }
    Ok(nodes)
}

fn sub_parse(text: &str, depth: usize) -> Result<Vec<Node>, String> {
    if depth > MAX_PARSE_DEPTH {
        return Err("nested too deeply".into());
    }
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth,
    };
    p.action()
}

fn is_terminator(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'[' | b']' | b'$' | b'@' | b'{' | b'}'
    )
}

impl Parser<'_> {
    fn rest(&self) -> &[u8] {
        self.s.get(self.pos..).unwrap_or(&[])
    }

    /// Parses one action body up to its closing `}` (or the end of input, which closes the
    /// implicit `{` around a column path).
    fn action(&mut self) -> Result<Vec<Node>, String> {
        let mut nodes = Vec::new();
        loop {
            let rest = self.rest();
            if rest.is_empty() {
                // The column path was wrapped as `{path}`: end of text is the closing brace.
                return Ok(nodes);
            }
            if rest.starts_with(b"}") {
                self.pos += 1;
                return Ok(nodes);
            }
            if rest.starts_with(b"[?(") {
                nodes.push(self.filter()?);
                continue;
            }
            if rest.starts_with(b"..") {
                if nodes.last() == Some(&Node::Recursive) {
                    return Err("invalid multiple recursive descent".into());
                }
                self.pos += 2;
                nodes.push(Node::Recursive);
                if self
                    .rest()
                    .first()
                    .is_some_and(|c| is_alnum_start(self.rest(), *c))
                {
                    nodes.push(self.field());
                }
                continue;
            }
            let c = rest[0];
            match c {
                b'\r' | b'\n' => return Err("unclosed action".into()),
                b' ' | b'@' | b'$' => self.pos += 1,
                b'[' => {
                    let n = self.array()?;
                    nodes.extend(n);
                }
                b'"' | b'\'' => {
                    let text = self.quote(c)?;
                    nodes.push(Node::Text(Value::String(text)));
                }
                b'.' => {
                    self.pos += 1;
                    nodes.push(self.field());
                }
                b'+' | b'-' | b'0'..=b'9' => {
                    nodes.push(self.number()?);
                }
                _ if is_alnum_start(rest, c) => {
                    let start = self.pos;
                    while self.rest().first().is_some_and(|c| !is_terminator(*c)) {
                        self.pos += 1;
                    }
                    nodes.push(match self.s.get(start..self.pos) {
                        Some(b"true") => Node::Literal(Value::Bool(true)),
                        Some(b"false") => Node::Literal(Value::Bool(false)),
                        _ => Node::Unsupported,
                    });
                }
                _ => {
                    return Err(format!(
                        "unrecognized character in action: {}",
                        String::from_utf8_lossy(&rest[..1])
                    ));
                }
            }
        }
    }

    /// `.name` up to the next unescaped terminator; backslashes are then dropped.
    fn field(&mut self) -> Node {
        let start = self.pos;
        while let Some(&c) = self.s.get(self.pos) {
            if c == b'\\' {
                self.pos += 2;
                continue;
            }
            if is_terminator(c) {
                break;
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.s.len());
        self.pos = end;
        let raw = String::from_utf8_lossy(self.s.get(start..end).unwrap_or(&[]));
        if raw == "*" {
            Node::Wildcard
        } else {
            Node::Field(raw.replace('\\', ""))
        }
    }

    /// `parseNumber`: an optional sign, then digits and dots; an `int` or else a `float64`.
    fn number(&mut self) -> Result<Node, String> {
        let start = self.pos;
        if matches!(self.rest().first(), Some(b'+' | b'-')) {
            self.pos += 1;
        }
        while matches!(self.rest().first(), Some(b'.' | b'0'..=b'9')) {
            self.pos += 1;
        }
        let text = String::from_utf8_lossy(self.s.get(start..self.pos).unwrap_or(&[]));
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Node::Literal(json!(i)));
        }
        // Go's ParseFloat accepts forms Rust's does too for digits-and-dots input.
        match text.parse::<f64>() {
            Ok(f) => Ok(Node::FloatLiteral(
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            )),
            _ => Err(format!("cannot parse number {text}")),
        }
    }

    /// `parseQuote`: up to the next unescaped quote, then `UnquoteExtend`.
    fn quote(&mut self, q: u8) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.s.get(self.pos) {
                None | Some(b'\n') => return Err("unterminated quoted string".into()),
                Some(&c) if c == q && self.s.get(self.pos - 1) != Some(&b'\\') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let inner = self.s.get(start + 1..self.pos - 1).unwrap_or(&[]);
        let inner = std::str::from_utf8(inner).map_err(|_| "invalid syntax".to_string())?;
        unquote(inner, q as char).ok_or_else(|| "invalid syntax".to_string())
    }

    /// `parseFilter`: the text up to the `)` that closes the filter (quotes balanced), then
    /// `left op right` or, without an operator, an existence test.
    fn filter(&mut self) -> Result<Node, String> {
        self.pos += 3;
        let start = self.pos;
        let mut begin = false;
        let mut end = false;
        let mut pair = 0u8;
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err("unterminated filter".into());
            };
            self.pos += 1;
            match c {
                b'\n' => return Err("unterminated filter".into()),
                b'"' | b'\'' => {
                    if !begin {
                        begin = true;
                        pair = c;
                    } else if c == pair && self.s.get(self.pos.wrapping_sub(2)) != Some(&b'\\') {
                        end = true;
                    }
                }
                b')' if begin == end => break,
                _ => {}
            }
        }
        if self.s.get(self.pos) != Some(&b']') {
            return Err("unclosed array expect ]".into());
        }
        self.pos += 1;
        let text =
            String::from_utf8_lossy(self.s.get(start..self.pos - 2).unwrap_or(&[])).into_owned();
        // `^([^!<>=]+)([!<>=]+)(.+?)$`
        let is_op = |c: char| matches!(c, '!' | '<' | '>' | '=');
        let split = text.find(is_op).and_then(|i| {
            let op_len = text[i..].find(|c: char| !is_op(c))?;
            let (left, rest) = text.split_at(i);
            let (op, right) = rest.split_at(op_len);
            (!left.is_empty() && !right.is_empty()).then_some((left, op, right))
        });
        let filter = match split {
            Some((left, op, right)) => Filter {
                left: sub_parse(left, self.depth + 1)?,
                op: Some(op.to_string()),
                right: sub_parse(right, self.depth + 1)?,
            },
            None => Filter {
                left: sub_parse(&text, self.depth + 1)?,
                op: None,
                right: Vec::new(),
            },
        };
        Ok(Node::Filter(Box::new(filter)))
    }

    /// `[...]`: union, `'key'`, slice/index or `*`.
    fn array(&mut self) -> Result<Vec<Node>, String> {
        let start = self.pos + 1;
        let Some(close) = self.rest().iter().position(|&c| c == b']' || c == b'\n') else {
            return Err("unterminated array".into());
        };
        let close = self.pos + close;
        if self.s.get(close) == Some(&b'\n') {
            return Err("unterminated array".into());
        }
        let text = String::from_utf8_lossy(self.s.get(start..close).unwrap_or(&[])).into_owned();
        self.pos = close + 1;
        let text = if text == "*" { ":".to_string() } else { text };
        if text.contains(',') {
            let mut alts = Vec::new();
            for part in text.split(',') {
                let part = part.trim_matches(' ');
                alts.push(sub_parse(&format!("[{part}]"), self.depth + 1)?);
            }
            return Ok(vec![Node::Union(alts)]);
        }
        if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
            let inner = &text[1..text.len() - 1];
            if !inner.contains('\'') {
                return sub_parse(&format!(".{inner}"), self.depth + 1);
            }
        }
        Ok(vec![Node::Array(parse_slice(&text)?)])
    }
}

fn is_alnum_start(rest: &[u8], c: u8) -> bool {
    if c == b'_' || c.is_ascii_alphanumeric() {
        return true;
    }
    if c < 0x80 {
        return false;
    }
    // Decode just the first character (Go's unicode.IsLetter / IsDigit).
    (1..=4)
        .find_map(|n| std::str::from_utf8(rest.get(..n)?).ok())
        .and_then(|s| s.chars().next())
        .is_some_and(|ch| ch.is_alphabetic() || ch.is_numeric())
}

/// `UnquoteExtend` / `strconv.UnquoteChar` for the text between the quotes.
fn unquote(s: &str, quote: char) -> Option<String> {
    if !s.contains('\\') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Option<u32> {
            let digits: String = chars.by_ref().take(n).collect();
            if digits.len() != n {
                return None;
            }
            u32::from_str_radix(&digits, 16).ok()
        };
        match e {
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '\'' | '"' if e == quote => out.push(e),
            'x' => out.push(char::from_u32(hex(&mut chars, 2)?)?),
            'u' => out.push(char::from_u32(hex(&mut chars, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut chars, 8)?)?),
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let v = u32::from_str_radix(&format!("{e}{rest}"), 8).ok()?;
                if rest.len() != 2 || v > 255 {
                    return None;
                }
                out.push(char::from_u32(v)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// `^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$` and the parameter rules of `parseArray`.
fn parse_slice(text: &str) -> Result<Slice, String> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return Err(format!("invalid array index {text}"));
    }
    for p in &parts {
        let digits = p.strip_prefix('-').unwrap_or(p);
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid array index {text}"));
        }
    }
    let num = |s: &str| -> Result<i64, String> {
        s.parse::<i64>()
            .map_err(|_| format!("array index {s} is not a number"))
    };
    let start = match parts.first().copied().unwrap_or("") {
        "" => None,
        s => Some(num(s)?),
    };
    let (end, derived_end) = match parts.get(1) {
        None => (None, true),
        Some(&"") => (None, false),
        Some(s) => (Some(num(s)?), false),
    };
    let cap = match parts.get(2) {
        None | Some(&"") => None,
        Some(s) => Some(num(s)?),
    };
    // `[]` (empty text) is index "" with derived end: upstream's Atoi("") fails only when the
    // first part is non-empty, so `[]` selects index 0.
    Ok(Slice {
        start,
        end,
        derived_end,
        cap,
    })
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// The first value the path yields, or `None` when there is none or evaluation fails.
fn first_result<'a>(path: &'a [Node], obj: &'a Value) -> Option<&'a Value> {
    let mut budget = MAX_EVAL_STEPS;
    let out = eval(path, vec![obj], &mut budget).ok()?;
    out.into_iter().next()
}

/// Charges `n` steps to the evaluation budget.
fn charge(budget: &mut usize, n: usize) -> Result<(), ()> {
    match budget.checked_sub(n) {
        Some(b) => {
            *budget = b;
            Ok(())
        }
        None => {
            *budget = 0;
            Err(())
        }
    }
}

fn eval<'a>(
    path: &'a [Node],
    mut cur: Vec<&'a Value>,
    budget: &mut usize,
) -> Result<Vec<&'a Value>, ()> {
    for node in path {
        let mut next: Vec<&'a Value> = Vec::new();
        charge(budget, cur.len().max(1))?;
        match node {
            Node::Field(name) => {
                for v in &cur {
                    if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                        next.push(x);
                    }
                }
            }
            Node::Wildcard => {
                for v in &cur {
                    match v {
                        Value::Object(m) => {
                            charge(budget, m.len())?;
                            next.extend(m.values());
                        }
                        Value::Array(a) => {
                            charge(budget, a.len())?;
                            next.extend(a.iter());
                        }
                        _ => {}
                    }
                    bounded(&next)?;
                }
            }
            Node::Recursive => {
                for v in &cur {
                    recursive(v, &mut next, budget)?;
                }
            }
            Node::Array(sl) => {
                for v in &cur {
                    match v {
                        Value::Null => continue,
                        Value::Array(a) => {
                            let part = slice(a, sl)?;
                            charge(budget, part.len())?;
                            next.extend(part);
                        }
                        _ => return Err(()),
                    }
                    bounded(&next)?;
                }
            }
            Node::Union(alts) => {
                for alt in alts {
                    next.extend(eval(alt, cur.clone(), budget)?);
                    bounded(&next)?;
                }
            }
            Node::Text(v) => next.push(v),
            Node::Literal(v) | Node::FloatLiteral(v) => next.extend(cur.iter().map(|_| v)),
            Node::Filter(f) => {
                for v in &cur {
                    let Value::Array(items) = v else {
                        return Err(());
                    };
                    for item in items {
                        if filter_keeps(f, item, budget)? {
                            next.push(item);
                        }
                    }
                    bounded(&next)?;
                }
            }
            Node::Unsupported => return Err(()),
        }
        bounded(&next)?;
        cur = next;
    }
    Ok(cur)
}

fn bounded(v: &[&Value]) -> Result<(), ()> {
    if v.len() > MAX_EVAL_VALUES {
        Err(())
    } else {
        Ok(())
    }
}

/// `evalFilter` for one list element: errors (a comparison of incompatible kinds, several
/// values on one side) fail the whole evaluation, as upstream.
fn filter_keeps(f: &Filter, item: &Value, budget: &mut usize) -> Result<bool, ()> {
    let lefts = eval(&f.left, vec![item], budget);
    if *budget == 0 {
        return Err(());
    }
    let Some(op) = &f.op else {
        return Ok(lefts.is_ok_and(|l| !l.is_empty()));
    };
    let lefts = lefts?;
    let left = match lefts.as_slice() {
        [] => return Ok(false),
        [one] => *one,
        _ => return Err(()),
    };
    let rights = eval(&f.right, vec![item], budget)?;
    let right = match rights.as_slice() {
        [] => return Ok(false),
        [one] => *one,
        _ => return Err(()),
    };
    compare(
        op,
        basic(left, Filter::float_side(&f.left))?,
        basic(right, Filter::float_side(&f.right))?,
    )
}

/// A value as the forked text/template comparison functions classify it.
#[derive(PartialEq, PartialOrd)]
enum Basic<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

fn basic(v: &Value, float_literal: bool) -> Result<Basic<'_>, ()> {
    match v {
        Value::Number(n) if float_literal => n.as_f64().map(Basic::Float).ok_or(()),
        Value::Bool(b) => Ok(Basic::Bool(*b)),
        Value::String(s) => Ok(Basic::Str(s)),
        Value::Number(_) => match num(v) {
            Some(Num::Int(i)) => Ok(Basic::Int(i)),
            Some(Num::Float(f)) => Ok(Basic::Float(f)),
            None => Err(()),
        },
        _ => Err(()),
    }
}

/// `template.Equal` / `Less` and friends (client-go `third_party/forked/golang/template`):
/// different kinds cannot be compared; booleans only for (in)equality.
fn compare(op: &str, l: Basic<'_>, r: Basic<'_>) -> Result<bool, ()> {
    if std::mem::discriminant(&l) != std::mem::discriminant(&r) {
        return Err(());
    }
    let eq = l == r;
    let lt = || -> Result<bool, ()> {
        match (&l, &r) {
            (Basic::Bool(_), _) => Err(()),
            _ => Ok(l < r),
        }
    };
    match op {
        "==" => Ok(eq),
        "!=" => Ok(!eq),
        "<" => lt(),
        "<=" => Ok(lt()? || eq),
        ">" => Ok(!(lt()? || eq)),
        ">=" => Ok(!lt()?),
        _ => Err(()),
    }
}

/// `evalRecursive`: every container that has children, in pre-order, starting with `v`.
fn recursive<'a>(v: &'a Value, out: &mut Vec<&'a Value>, budget: &mut usize) -> Result<(), ()> {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        charge(budget, 1)?;
        let children: Vec<&Value> = match v {
            Value::Object(m) => m.values().collect(),
            Value::Array(a) => a.iter().collect(),
            _ => continue,
        };
        if children.is_empty() {
            continue;
        }
        out.push(v);
        if out.len() > MAX_EVAL_VALUES {
            return Err(());
        }
        stack.extend(children.into_iter().rev());
    }
    Ok(())
}

/// `evalArray` on one list: bounds errors fail the evaluation (cell `nil`).
fn slice<'a>(a: &'a [Value], sl: &Slice) -> Result<&'a [Value], ()> {
    let len = a.len() as i64;
    let mut start = sl.start.unwrap_or(0);
    if start < 0 {
        start += len;
    }
    let mut end = if sl.derived_end {
        start + 1
    } else {
        sl.end.unwrap_or(len)
    };
    if end < 0 {
        end += len;
    }
    if end != start && (start >= len || end > len) {
        return Err(());
    }
    if sl.cap.is_some_and(|cap| cap < end || cap > len) {
        return Err(());
    }
    if start < 0 || end < start {
        return Err(());
    }
    a.get(start as usize..end as usize).ok_or(())
}

// ---------------------------------------------------------------------------------------------
// Cells (cellForJSONValue and jsonpath's text printing)
// ---------------------------------------------------------------------------------------------

/// A JSON number as upstream holds it after a storage round trip: an integer when Go would
/// encode it as an integer literal that fits `int64`, else a `float64`.
enum Num {
    Int(i64),
    Float(f64),
}

fn num(v: &Value) -> Option<Num> {
    let n = match v {
        Value::Number(n) => n,
        _ => return None,
    };
    if let Some(i) = n.as_i64() {
        return Some(Num::Int(i));
    }
    let f = n.as_f64()?;
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        // Go's encoding/json writes shortest digits padded with zeros; decoding that
        // literal as int64 is what upstream stores.
        if let Ok(i) = format!("{f}").parse::<i64>() {
            return Some(Num::Int(i));
        }
    }
    Some(Num::Float(f))
}

fn cell_for(kind: CellType, v: &Value, now: DateTime<Utc>) -> Value {
    match kind {
        CellType::String => Value::String(print_text(v)),
        CellType::Integer => match num(v) {
            Some(Num::Int(i)) => json!(i),
            Some(Num::Float(f)) => json!(go_f64_to_i64(f)),
            None => Value::Null,
        },
        CellType::Number => match num(v) {
            Some(Num::Int(i)) => number_value(i as f64),
            Some(Num::Float(f)) => number_value(f),
            None => Value::Null,
        },
        CellType::Boolean => match v {
            Value::Bool(b) => Value::Bool(*b),
            _ => Value::Null,
        },
        CellType::Date => match v {
            Value::String(s) => Value::String(date_cell(s, now)),
            _ => Value::Null,
        },
        CellType::Other => Value::Null,
    }
}

/// Go's `int64(f)` on amd64: out-of-range and NaN give the minimum int64.
fn go_f64_to_i64(f: f64) -> i64 {
    // 2^63 as f64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f.trunc() as i64
    }
}

/// A float cell as a JSON value that serialises like Go's encoding/json: integral values in
/// `'f'` form become integer literals (serde would write `2.0`).
fn number_value(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        let s = format!("{f}");
        let s = s
            .strip_prefix('-')
            .filter(|r| *r == "0")
            .map_or(s.as_str(), |_| "0");
        if let Ok(i) = s.parse::<i64>() {
            return json!(i);
        }
        if let Ok(u) = s.parse::<u64>() {
            return json!(u);
        }
    }
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// `metav1.Time.UnmarshalQueryParameter` then `ConvertToHumanReadableDateType`.
fn date_cell(s: &str, now: DateTime<Utc>) -> String {
    if s.is_empty() || s == "null" {
        return "<unknown>".into();
    }
    let Some(t) = parse_go_rfc3339(s) else {
        return "<invalid>".into();
    };
    if t.timestamp() == -62_135_596_800 && t.timestamp_subsec_nanos() == 0 {
        return "<unknown>".into();
    }
    human_duration(now.signed_duration_since(t))
}

/// Go's `time.Parse(time.RFC3339, s)`: `YYYY-MM-DDTHH:MM:SS`, optional `.` or `,` fraction,
/// then `Z` or `±hh:mm` (offset hours up to 24, minutes up to 60, as Go accepts). Stricter
/// than chrono's RFC 3339 parser, which also takes `t`, `z`, a space and leap seconds.
fn parse_go_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        let part = b.get(from..to)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, min, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let mut rest = b.get(19..)?;
    let mut nanos = 0u32;
    if rest.len() >= 2 && matches!(rest[0], b'.' | b',') && rest[1].is_ascii_digit() {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        for (i, d) in rest[1..=digits].iter().take(9).enumerate() {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &rest[1 + digits..];
    }
    let offset_secs: i64 = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Option<i64> {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    .then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if h > 24 || m > 60 {
                return None;
            }
            let off = (h * 60 + m) * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let naive = date.and_hms_nano_opt(hour, min, sec, nanos)?;
    Some(naive.and_utc() - Duration::seconds(offset_secs))
}

/// `duration.HumanDuration` (`k8s.io/apimachinery/pkg/util/duration`).
fn human_duration(d: Duration) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = d.num_minutes();
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = d.num_hours();
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{}h", hours / 24, h)
        }
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{}d", hours / 24 / 365, dy)
        }
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// jsonpath's text for one value: strings raw, scalars as Go's `fmt.Fprint`, maps and lists
/// as Go's `json.Marshal`, `null` as `<no value>`.
fn print_text(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(_) => match num(v) {
            Some(Num::Int(i)) => i.to_string(),
            Some(Num::Float(f)) => go_fmt_float(f),
            None => String::new(),
        },
        Value::Array(_) | Value::Object(_) => {
            let mut out = String::new();
            go_json(v, &mut out);
            out
        }
    }
}

/// Shortest digits and decimal exponent of a finite, non-zero float (`d.ddd × 10^exp`).
fn digits_exp(f: f64) -> (String, i32) {
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    (mant.replace('.', ""), exp.parse().unwrap_or(0))
}

/// `d.ddde±XX` with at least two exponent digits (strconv `'e'`, shortest).
fn go_exp_form(f: f64) -> String {
    let (digits, exp) = digits_exp(f);
    let mut s = String::new();
    if f.is_sign_negative() {
        s.push('-');
    }
    let mut chars = digits.chars();
    if let Some(first) = chars.next() {
        s.push(first);
    }
    let tail: String = chars.collect();
    if !tail.is_empty() {
        s.push('.');
        s.push_str(&tail);
    }
    s.push('e');
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.unsigned_abs()));
    s
}

/// Go's `fmt.Fprint(float64)`: strconv `'g'` with the shortest precision, which switches to
/// the exponent form when the decimal exponent is < -4 or >= 6 (upstream prints
/// `1.23456789125e+08` and `1e-05` in string columns).
fn go_fmt_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (_, exp) = digits_exp(f);
    if !(-4..6).contains(&exp) {
        return go_exp_form(f);
    }
    format!("{f}")
}

/// Go's `encoding/json` float: `'f'` unless < 1e-6 or >= 1e21, then `'e'` with `e-07` → `e-7`.
fn go_json_float(f: f64) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = go_exp_form(f);
        // "e-07" -> "e-7", "e+21" stays.
        if let Some(idx) = s.find("e-0") {
            let mut t = s[..idx + 2].to_string();
            t.push_str(&s[idx + 3..]);
            return t;
        }
        return s;
    }
    format!("{f}")
}

/// Go's `json.Marshal` of an unstructured value: map keys sorted, HTML-safe escaping.
fn go_json(v: &Value, out: &mut String) {
    // Iterative to stay safe on deep input; frames hold the remaining children.
    enum Frame<'a> {
        Arr(std::slice::Iter<'a, Value>, bool),
        Obj(std::vec::IntoIter<(&'a String, &'a Value)>, bool),
    }
    fn open<'a>(v: &'a Value, out: &mut String, stack: &mut Vec<Frame<'a>>) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::String(s) => go_json_string(s, out),
            Value::Number(_) => match num(v) {
                Some(Num::Int(i)) => out.push_str(&i.to_string()),
                Some(Num::Float(f)) => out.push_str(&go_json_float(f)),
                None => out.push_str("null"),
            },
            Value::Array(a) => {
                out.push('[');
                stack.push(Frame::Arr(a.iter(), true));
            }
            Value::Object(m) => {
                out.push('{');
                stack.push(Frame::Obj(sorted(m).into_iter(), true));
            }
        }
    }
    fn sorted(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
        let mut e: Vec<_> = m.iter().collect();
        e.sort_by(|a, b| a.0.cmp(b.0));
        e
    }
    let mut stack: Vec<Frame> = Vec::new();
    open(v, out, &mut stack);
    while let Some(top) = stack.last_mut() {
        match top {
            Frame::Arr(it, first) => match it.next() {
                Some(child) => {
                    if !*first {
                        out.push(',');
                    }
                    *first = false;
                    open(child, out, &mut stack);
                }
                None => {
                    out.push(']');
                    stack.pop();
                }
            },
            Frame::Obj(it, first) => match it.next() {
                Some((k, child)) => {
                    if !*first {
                        out.push(',');
                    }
                    *first = false;
                    go_json_string(k, out);
                    out.push(':');
                    open(child, out, &mut stack);
                }
                None => {
                    out.push('}');
                    stack.pop();
                }
            },
        }
    }
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `%q` of a string (ASCII printable kept, common escapes, others `\u`/`\x`).
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-03T13:30:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    /// The CRD version used against upstream v1.36 (crontabs.crview.example.com).
    fn version() -> Value {
        json!({"name": "v1", "additionalPrinterColumns": [
            {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec", "description": "the cron spec"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
            {"name": "Ratio", "type": "number", "format": "float", "jsonPath": ".spec.ratio", "priority": 1},
            {"name": "On", "type": "boolean", "jsonPath": ".spec.on"},
            {"name": "When", "type": "date", "jsonPath": ".spec.when"},
            {"name": "Cond", "type": "string", "jsonPath": ".status.conditions[0].type", "priority": 1},
            {"name": "Names", "type": "string", "jsonPath": ".spec.items[*].name"},
            {"name": "Lbl", "type": "string", "jsonPath": ".metadata.labels.app"},
            {"name": "Obj", "type": "string", "jsonPath": ".spec.obj"},
            {"name": "I2", "type": "integer", "jsonPath": ".spec.i2"},
            {"name": "N2", "type": "number", "jsonPath": ".spec.n2"},
            {"name": "S2", "type": "string", "jsonPath": ".spec.s2"},
            {"name": "Esc", "type": "string", "jsonPath": ".metadata.annotations.a\\.b/c"}
        ]})
    }

    fn cr(name: &str, spec: Value) -> Value {
        json!({"metadata": {"name": name, "creationTimestamp": "2026-12-03T13:24:49Z"}, "spec": spec})
    }

    /// Cells serialised as JSON text, as the Table body carries them.
    fn row(cols: &Columns, obj: &Value) -> String {
        serde_json::to_string(&cols.cells(obj, now())).unwrap_or_default()
    }

    #[test]
    fn definitions_match_upstream() {
        let cols = compile(&version());
        assert!(cols.error().is_none());
        let defs = cols.definitions();
        assert_eq!(defs.len(), 14);
        assert_eq!(
            defs[0],
            json!({"name": "Name", "type": "string", "format": "name", "description": DESC_NAME, "priority": 0})
        );
        assert_eq!(
            defs[1],
            json!({"name": "Spec", "type": "string", "format": "", "description": "the cron spec", "priority": 0})
        );
        assert_eq!(
            defs[3],
            json!({"name": "Ratio", "type": "number", "format": "float",
                   "description": "Custom resource definition column (in JSONPath format): .spec.ratio", "priority": 1})
        );
        assert_eq!(
            defs[13]["description"],
            "Custom resource definition column (in JSONPath format): .metadata.annotations.a\\.b/c"
        );
        let keys: Vec<&String> = defs[5]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["name", "type", "format", "description", "priority"]);
    }

    #[test]
    fn no_columns_gives_age() {
        let cols = compile(&json!({"name": "v2"}));
        let defs = cols.definitions();
        assert_eq!(defs.len(), 2);
        assert_eq!(
            defs[1],
            json!({"name": "Age", "type": "date", "format": "", "description": DESC_CREATION_TIMESTAMP, "priority": 0})
        );
        assert_eq!(row(&cols, &cr("empty", json!({}))), r#"["empty","5m11s"]"#);
        // Empty list: same as absent.
        assert_eq!(
            compile(&json!({"additionalPrinterColumns": []}))
                .definitions()
                .len(),
            2
        );
    }

    #[test]
    fn cells_match_upstream() {
        let cols = compile(&version());
        let mut full = cr(
            "full",
            json!({"cronSpec": "* * * * */5", "replicas": 3, "ratio": 1.5, "on": true,
                   "when": "2024-01-02T03:04:05Z", "items": [{"name": "a"}, {"name": "b"}],
                   "obj": {"x": 1, "true": [1, 2]}, "i2": 9, "n2": 2, "s2": "s"}),
        );
        full["metadata"]["labels"] = json!({"app": "web"});
        full["metadata"]["annotations"] = json!({"a.b/c": "escaped"});
        full["status"] = json!({"conditions": [{"type": "Ready"}]});
        assert_eq!(
            row(&cols, &full),
            r#"["full","* * * * */5",3,1.5,true,"2y336d","Ready","a","web","{\"true\":[1,2],\"x\":1}",9,2,"s","escaped"]"#
        );
        assert_eq!(
            row(&cols, &cr("empty", json!({}))),
            r#"["empty",null,null,null,null,null,null,null,null,null,null,null,null,null]"#
        );
        let mut wrong = cr(
            "wrong",
            json!({"i2": "7", "n2": "x", "s2": 42, "on": "yes", "when": 12,
                   "items": [{"name": 1}], "obj": "str"}),
        );
        wrong["status"] = json!({"conditions": [{"type": 5}]});
        assert_eq!(
            row(&cols, &wrong),
            r#"["wrong",null,null,null,null,null,"5","1",null,"str",null,null,"42",null]"#
        );
    }

    /// (spec, expected When, I2, N2, S2 cells) from upstream rows t1..t19.
    #[test]
    fn scalar_conversions_match_upstream() {
        let cols = compile(&version());
        let cases: &[(&str, &str)] = &[
            (
                r#"{"s2":null,"when":"bad","i2":2.7,"n2":true}"#,
                r#""<invalid>",2,null,"<no value>""#,
            ),
            (
                r#"{"s2":1.5,"when":"","i2":-3,"n2":1e300}"#,
                r#""<unknown>",-3,1e+300,"1.5""#,
            ),
            (
                r#"{"s2":1e21,"when":"2099-01-01T00:00:00Z","i2":9007199254740993,"n2":0.1}"#,
                r#""<invalid>",9007199254740993,0.1,"1e+21""#,
            ),
            (
                r#"{"s2":true,"when":"2024-01-02T03:04:05.123+02:00","i2":1e3,"n2":-0.0}"#,
                r#""2y336d",1000,0,"true""#,
            ),
            (
                r#"{"s2":[1,"a",{"b":null}],"when":null,"i2":"x","n2":12345678901234567890}"#,
                r#"null,null,12345678901234567000,"[1,\"a\",{\"b\":null}]""#,
            ),
            (
                r#"{"s2":"","when":"2024-01-02","n2":1e21,"i2":1.5e300}"#,
                r#""<invalid>",-9223372036854775808,1e+21,"""#,
            ),
            (
                r#"{"s2":{"z":1,"a":"<&>"},"when":"null","n2":1e-7}"#,
                r#""<unknown>",null,1e-7,"{\"a\":\"\\u003c\\u0026\\u003e\",\"z\":1}""#,
            ),
            (
                r#"{"s2":100000000000000000000,"n2":123456789.125}"#,
                r#"null,null,123456789.125,"1e+20""#,
            ),
            // Upstream writes the number cell as `0.000001`; serde_json's float formatting gives
            // `1e-6` for magnitudes in [1e-6, 1e-4) (known deviation: the Table body is
            // serialised by serde_json, which has no Go-compatible float writer).
            (r#"{"s2":"é\"x","n2":0.000001}"#, r#"null,null,1e-6,"é\"x""#),
            (
                r#"{"s2":123456789.125}"#,
                r#"null,null,null,"1.23456789125e+08""#,
            ),
            (r#"{"s2":1234567.0}"#, r#"null,null,null,"1234567""#),
            (r#"{"s2":0.0001}"#, r#"null,null,null,"0.0001""#),
            (r#"{"s2":0.00001}"#, r#"null,null,null,"1e-05""#),
            (r#"{"s2":-0.0}"#, r#"null,null,null,"0""#),
            (
                r#"{"s2":{"k":1.5,"u":"\u2028\n\u0001"}}"#,
                r#"null,null,null,"{\"k\":1.5,\"u\":\"\\u2028\\n\\u0001\"}""#,
            ),
            (r#"{"s2":[]}"#, r#"null,null,null,"[]""#),
            (r#"{"s2":{}}"#, r#"null,null,null,"{}""#),
        ];
        for (spec, want) in cases {
            let spec: Value = serde_json::from_str(spec).unwrap_or_default();
            let cells = cols.cells(&cr("t", spec.clone()), now());
            let got = [&cells[5], &cells[10], &cells[11], &cells[12]]
                .iter()
                .map(|c| serde_json::to_string(c).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(",");
            assert_eq!(&got, want, "spec {spec}");
        }
    }

    /// Date cells for timestamps upstream parses or rejects (rows d31..d40, now 2026-12-03).
    #[test]
    fn date_parsing_matches_upstream() {
        let cols = compile(&version());
        for (when, want) in [
            ("2024-01-02 03:04:05Z", "<invalid>"),
            ("2024-01-02t03:04:05Z", "<invalid>"),
            ("2024-01-02T03:04:05z", "<invalid>"),
            ("2024-01-02T03:04:05+0200", "<invalid>"),
            ("2024-01-02T03:04:05.123456789123Z", "2y336d"),
            ("2024-01-02T03:04:60Z", "<invalid>"),
            ("2024-1-02T03:04:05Z", "<invalid>"),
            ("2024-01-02T03:04:05+24:00", "2y337d"),
            ("0001-01-01T00:00:00Z", "<unknown>"),
            ("2024-01-02T03:04:05-00:00", "2y336d"),
        ] {
            let cells = cols.cells(&cr("d", json!({"when": when})), now());
            assert_eq!(cells[5], json!(want), "{when}");
        }
    }

    #[test]
    fn path_forms_match_upstream() {
        let v = json!({"additionalPrinterColumns": [
            {"name": "A", "type": "string", "jsonPath": ".spec.items[-1].name"},
            {"name": "B", "type": "string", "jsonPath": ".spec['a.b']"},
            {"name": "C", "type": "string", "jsonPath": ".spec.items[5]"},
            {"name": "D", "type": "string", "jsonPath": ".spec.items[1:3].name"},
            {"name": "E", "type": "string", "jsonPath": ".spec.items[*]"},
            {"name": "F", "type": "string", "jsonPath": ".spec.items[0,2].name"},
            {"name": "G", "type": "string", "jsonPath": ".spec.a.b"},
            {"name": "H", "type": "string", "jsonPath": ".spec.items[-5]"},
            {"name": "I", "type": "string", "jsonPath": ".spec..name"},
            {"name": "J", "type": "integer", "jsonPath": ".spec.a[0]"},
            {"name": "L", "type": "string", "jsonPath": ".spec.items[]"}
        ]});
        let cols = compile(&v);
        assert!(cols.error().is_none());
        let obj = json!({"metadata": {"name": "b2"}, "spec": {"a": {"b": "ab"},
            "items": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}});
        assert_eq!(
            row(&cols, &obj),
            r#"["b2","c","ab",null,"b","{\"name\":\"a\"}","a","ab",null,"a",null,"{\"name\":\"a\"}"]"#
        );
        assert_eq!(
            row(&cols, &json!({"metadata": {"name": "b1"}})),
            r#"["b1",null,null,null,null,null,null,null,null,null,null,null]"#
        );
    }

    /// Filter columns and literals, against upstream v1.36 rows f1..f3.
    #[test]
    fn filters_match_upstream() {
        let v = json!({"additionalPrinterColumns": [
            {"name": "A", "type": "string", "jsonPath": ".spec.conditions[?(@.type==\"Ready\")].status"},
            {"name": "B", "type": "string", "jsonPath": ".spec.conditions[?(@.type=='Ready')].reason"},
            {"name": "C", "type": "string", "jsonPath": ".spec.items[?(@.n>1)].name"},
            {"name": "D", "type": "string", "jsonPath": ".spec.items[?(@.n==2.0)].name"},
            {"name": "E", "type": "string", "jsonPath": ".spec.items[?(@.x)].name"},
            {"name": "F", "type": "string", "jsonPath": ".spec.items[?(@.flag==true)].name"},
            {"name": "G", "type": "string", "jsonPath": ".spec.items[?(@.n<\"x\")].name"},
            {"name": "H", "type": "string", "jsonPath": ".spec.items[?(@.name!=\"a\")].name"},
            {"name": "I", "type": "string", "jsonPath": ".spec \"lit\""},
            {"name": "J", "type": "string", "jsonPath": ".spec.items[?(@.n >= 1.5)].name"},
            {"name": "K", "type": "string", "jsonPath": ".spec.items[?(@.x.y=='q')].name"},
            {"name": "L", "type": "string", "jsonPath": ".spec.cond[?(@.type==\"Ready\")].status"},
            {"name": "M", "type": "integer", "jsonPath": ".spec.items[?(@.name=='c')].n"},
            {"name": "NN", "type": "string", "jsonPath": ".spec.items[?(@.flag<true)].name"},
            {"name": "O", "type": "string", "jsonPath": ".spec.items[?(@.n==2)]"},
            {"name": "P", "type": "string", "jsonPath": ".spec.items[?(@.q=='\\x41')].name"}
        ]});
        let cols = compile(&v);
        assert!(cols.error().is_none(), "{:?}", cols.error());
        let cases = [
            (
                json!({"conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True", "reason": "Fine"}],
                       "items": [{"name": "a", "n": 1, "flag": true}, {"name": "b", "n": 2, "x": {"y": "q"}, "q": "A"}, {"name": "c", "n": 3}],
                       "cond": {"type": "Ready"}}),
                r#"["f","True","Fine","b",null,"b","a",null,"b","lit",null,"b",null,3,null,"{\"n\":2,\"name\":\"b\",\"q\":\"A\",\"x\":{\"y\":\"q\"}}","b"]"#,
            ),
            (
                json!({"items": [{"name": "a", "n": "s"}, {"name": "b", "n": 2.5, "flag": false}, {"name": "c", "n": null}]}),
                r#"["f",null,null,null,null,null,null,null,"b","lit",null,null,null,null,null,null,null]"#,
            ),
            (
                json!({"conditions": [{"type": "Ready"}, {"type": "Ready", "status": "x"}],
                       "items": [{"name": "a", "n": 1.5}, {"name": "b", "n": 2}]}),
                r#"["f","x",null,null,null,null,null,null,"b","lit",null,null,null,null,null,null,null]"#,
            ),
        ];
        for (spec, want) in cases {
            let obj = json!({"metadata": {"name": "f"}, "spec": spec});
            assert_eq!(row(&cols, &obj), want, "spec {spec}");
        }
    }

    #[test]
    fn unparsable_path_truncates_columns() {
        // Upstream serves Name and A only, and logs the error.
        let v = json!({"additionalPrinterColumns": [
            {"name": "A", "type": "string", "jsonPath": ".spec.a"},
            {"name": "B", "type": "string", "jsonPath": ".spec["},
            {"name": "C", "type": "string", "jsonPath": ".spec.c"}
        ]});
        let cols = compile(&v);
        assert_eq!(
            cols.error(),
            Some("unrecognized column definition \".spec[\"")
        );
        assert_eq!(cols.definitions().len(), 2);
        let obj = json!({"metadata": {"name": "b1"}, "spec": {"a": "x", "c": "y"}});
        assert_eq!(row(&cols, &obj), r#"["b1","x"]"#);
    }

    #[test]
    fn parse_errors_and_accepted_forms() {
        for bad in [
            ".spec[",
            ".spec.{x}",
            ".a[x]",
            ".a[1:2:3:4]",
            "....a",
            ".a\n",
            ".a['b'",
        ] {
            assert!(parse_column_path(bad).is_err(), "{bad:?} should fail");
        }
        for ok in [
            ".",
            "..spec",
            ".spec.x y",
            ".spec[-1]",
            ".spec.a-b",
            ".spec.range",
            ".spec.items[?(@.a==1)].b",
            ".spec[*]",
            ".a}",
            ".a}{.b}",
            ".é.ü",
        ] {
            assert!(parse_column_path(ok).is_ok(), "{ok:?} should parse");
        }
        assert_eq!(
            parse_column_path(".a\\.b.c"),
            Ok(vec![Node::Field("a.b".into()), Node::Field("c".into())])
        );
    }

    #[test]
    fn hostile_input_is_bounded() {
        let long = ".a".repeat(10_000);
        assert!(
            compile(&json!({"additionalPrinterColumns": [
            {"name": "X", "type": "string", "jsonPath": long}]}))
            .error()
            .is_some()
        );
        let nested = format!(".a[{}]", "[".repeat(50));
        let _ = parse_column_path(&nested);
        // Recursive descent over a wide object stays bounded.
        let wide: Vec<Value> = (0..110_000).map(|i| json!([i])).collect();
        let cols = compile(&json!({"additionalPrinterColumns": [
            {"name": "X", "type": "string", "jsonPath": "..x"}]}));
        let cells = cols.cells(&json!({"metadata": {"name": "w"}, "spec": wide}), now());
        assert_eq!(cells[1], Value::Null);
        // Duplicated inputs times a filter over a long list stop at the work budget.
        let alts = vec!["'items'"; 400].join(",");
        let cols = compile(&json!({"additionalPrinterColumns": [
            {"name": "X", "type": "string", "jsonPath": format!(".spec[{alts}][?(@.a==\"z\")].a")}]}));
        assert!(cols.error().is_none());
        let items: Vec<Value> = (0..20_000).map(|i| json!({"a": i.to_string()})).collect();
        let obj = json!({"metadata": {"name": "w"}, "spec": {"items": items}});
        assert_eq!(cols.cells(&obj, now())[1], Value::Null);
        // Deep JSON for a string column.
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let cols = compile(&json!({"additionalPrinterColumns": [
            {"name": "X", "type": "string", "jsonPath": ".spec"}]}));
        let cells = cols.cells(&json!({"metadata": {"name": "d"}, "spec": deep}), now());
        assert_eq!(cells[1].as_str().map(str::len), Some(201));
    }
}
