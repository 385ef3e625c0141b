//! `pattern` compilation (Go RE2 error texts) and the string formats of
//! kube-openapi's default registry (`pkg/validation/strfmt/{default,date,time,duration}.go`).

use regex::{Regex, RegexBuilder};
use std::sync::OnceLock;

/// Compile-size bound for client patterns (RE2 has a similar program limit).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles a schema `pattern`. The error is Go's `regexp.Compile` text
/// (`error parsing regexp: <code>: `<expr>``) where the kinds map; otherwise
/// the closest RE2 code.
pub(crate) fn compile_pattern(p: &str) -> Result<Regex, String> {
    match regex_syntax::ast::parse::Parser::new().parse(p) {
        Err(e) => return Err(go_regex_error(p, &e)),
        Ok(ast) => {
            if let Some(expr) = nested_repetition(&ast, p) {
                return Err(format!(
                    "error parsing regexp: invalid nested repetition operator: `{expr}`"
                ));
            }
        }
    }
    RegexBuilder::new(p)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                format!("error parsing regexp: expression too large: `{p}`")
            }
            _ => format!("error parsing regexp: invalid or unsupported Perl syntax: `{p}`"),
        })
}

/// RE2 rejects a repetition applied directly to a repetition (`a**`,
/// `a+{2}`); Rust's parser accepts it. Returns Go's offending text.
fn nested_repetition(ast: &regex_syntax::ast::Ast, p: &str) -> Option<String> {
    use regex_syntax::ast::Ast;
    match ast {
        Ast::Repetition(r) => {
            if let Ast::Repetition(inner) = &*r.ast {
                return Some(
                    p.get(inner.op.span.start.offset..r.op.span.end.offset)
                        .unwrap_or("")
                        .to_string(),
                );
            }
            nested_repetition(&r.ast, p)
        }
        Ast::Group(g) => nested_repetition(&g.ast, p),
        Ast::Alternation(a) => a.asts.iter().find_map(|x| nested_repetition(x, p)),
        Ast::Concat(c) => c.asts.iter().find_map(|x| nested_repetition(x, p)),
        _ => None,
    }
}

fn go_regex_error(p: &str, e: &regex_syntax::ast::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let span = e.span();
    let from = |start: usize| p.get(start..).unwrap_or(p).to_string();
    let at = p
        .get(span.start.offset..span.end.offset)
        .unwrap_or("")
        .to_string();
    let (code, expr) = match e.kind() {
        K::ClassUnclosed => ("missing closing ]", from(span.start.offset)),
        K::GroupUnclosed => ("missing closing )", p.to_string()),
        K::GroupUnopened => ("unexpected )", p.to_string()),
        K::RepetitionMissing => {
            // Go: `**` for a nested repetition, the operator alone otherwise
            let start = span.start.offset;
            let prev = start.checked_sub(1).and_then(|i| p.get(i..start));
            match prev {
                Some("*" | "+" | "?") => (
                    "invalid nested repetition operator",
                    format!("{}{at}", prev.unwrap_or("")),
                ),
                _ => ("missing argument to repetition operator", at),
            }
        }
        K::RepetitionCountInvalid | K::RepetitionCountUnclosed | K::RepetitionCountDecimalEmpty => {
            ("invalid repeat count", at)
        }
        K::ClassRangeInvalid => ("invalid character class range", at),
        K::EscapeUnexpectedEof => ("trailing backslash at end of expression", String::new()),
        K::EscapeUnrecognized
        | K::EscapeHexEmpty
        | K::EscapeHexInvalid
        | K::EscapeHexInvalidDigit => ("invalid escape sequence", at),
        K::ClassEscapeInvalid => ("invalid escape sequence", at),
        K::UnsupportedBackreference => ("invalid escape sequence", at),
        _ => ("invalid or unsupported Perl syntax", at),
    };
    format!("error parsing regexp: {code}: `{expr}`")
}

fn re(cell: &'static OnceLock<Option<Regex>>, p: &str) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(p).ok()).as_ref()
}

/// Whether `s` is valid for `format`. Formats the registry does not know
/// are not checked (as upstream).
pub(crate) fn check(format: &str, s: &str) -> bool {
    static HOSTNAME: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID3: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID4: OnceLock<Option<Regex>> = OnceLock::new();
    static UUID5: OnceLock<Option<Regex>> = OnceLock::new();
    static EMAIL: OnceLock<Option<Regex>> = OnceLock::new();
    static HEX: OnceLock<Option<Regex>> = OnceLock::new();
    static RGB: OnceLock<Option<Regex>> = OnceLock::new();
    static DATE_TIME: OnceLock<Option<Regex>> = OnceLock::new();
    static DURATION: OnceLock<Option<Regex>> = OnceLock::new();
    let m = |cell, p| re(cell, p).is_none_or(|r| r.is_match(s));
    match format {
        "hostname" => m(
            &HOSTNAME,
            r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$",
        ),
        "uuid" => m(
            &UUID,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
        ),
        "uuid3" => m(
            &UUID3,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$",
        ),
        "uuid4" => m(
            &UUID4,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
        ),
        "uuid5" => m(
            &UUID5,
            r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$",
        ),
        "email" => m(&EMAIL, r"^[^@\s]+@[^@\s]+$"),
        "hexcolor" => m(&HEX, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"),
        "rgbcolor" => m(
            &RGB,
            r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$",
        ),
        "ipv4" => is_ipv4(s),
        "ipv6" => s.contains(':') && s.parse::<std::net::Ipv6Addr>().is_ok(),
        "cidr" => is_cidr(s),
        "mac" => is_mac(s),
        "byte" => is_base64(s),
        "date" => is_date(s),
        "date-time" => {
            m(
                &DATE_TIME,
                r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$",
            ) && s.get(..10).is_some_and(is_date)
        }
        "duration" => m(
            &DURATION,
            r"^(-?\d+(\.\d+)?\s*(ns|us|µs|ms|s|m|h|d|w|nanoseconds?|microseconds?|milliseconds?|seconds?|minutes?|hours?|days?|weeks?)\s*)+$",
        ),
        "uri" => is_request_uri(s),
        _ => true,
    }
}

fn is_ipv4(s: &str) -> bool {
    // Go's net.ParseIP accepts dotted quads without leading zeros only
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let Ok(bits) = bits.parse::<u8>() else {
        return false;
    };
    if ip.parse::<std::net::Ipv4Addr>().is_ok() {
        bits <= 32
    } else {
        ip.parse::<std::net::Ipv6Addr>().is_ok() && bits <= 128
    }
}

fn is_mac(s: &str) -> bool {
    // net.ParseMAC: 6, 8 or 20 groups of two hex digits separated by ':' or
    // '-', or groups of four separated by '.'
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit());
    for sep in [':', '-'] {
        let groups: Vec<&str> = s.split(sep).collect();
        if matches!(groups.len(), 6 | 8 | 20) && groups.iter().all(|g| hex(g, 2)) {
            return true;
        }
    }
    let groups: Vec<&str> = s.split('.').collect();
    matches!(groups.len(), 3 | 4 | 10) && groups.iter().all(|g| hex(g, 4))
}

fn is_base64(s: &str) -> bool {
    if !s.len().is_multiple_of(4) {
        return false;
    }
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (Some(y), Some(mo), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

fn is_request_uri(s: &str) -> bool {
    // url.ParseRequestURI: an absolute URI (scheme:...) or an absolute path
    if s.starts_with('/') {
        return !s.contains(char::is_whitespace);
    }
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && !rest.contains(' ')
}
