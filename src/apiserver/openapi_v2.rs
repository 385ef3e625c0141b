//! `GET /openapi/v2`, served as kube-openapi's v2 handler serves it
//! (`RegisterOpenAPIVersionedService` in `k8s.io/kube-openapi/pkg/handler/handler.go`):
//!
//! - The `Accept` header (`*/*` when absent) is parsed and sorted as
//!   `github.com/munnerz/goautoneg` does; the first clause that matches
//!   `application/json`, `application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
//!   (kubectl's) or `application/com.github.proto-openapi.spec.v2.v1.0+protobuf`
//!   picks the form. Both protobuf types answer with the second as `Content-Type`.
//!   Nothing matching: `406` with an empty body.
//! - `Vary: Accept`, `ETag` (the SHA-512 of the JSON, the same for both forms)
//!   and `Last-Modified` on every answer; then Go's `http.ServeContent` rules:
//!   `If-Match`/`If-Unmodified-Since` (412), `If-None-Match` (304 for GET and
//!   HEAD, 412 otherwise), `If-Modified-Since` (304), a single byte `Range`
//!   (206/416), `Accept-Ranges: bytes`, no body for HEAD. Any method is served.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::openapi::OpenApi;
use crate::registry::served::MergedV2;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// What kubectl (client-go's `OpenAPISchema`) sends.
const PROTOBUF_DEPRECATED_SUBTYPE: &str = "com.github.proto-openapi.spec.v2@v1.0+protobuf";
const PROTOBUF_SUBTYPE: &str = "com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The response to a request for `/openapi/v2`: the built-in document, or
/// `merged` when custom resources are served (their definitions and paths
/// added, as upstream's aggregated spec has them).
pub fn serve(
    api: &OpenApi,
    merged: Option<&MergedV2>,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    // Only the first `Accept` header counts (Go's `Header.Get`).
    let accept = headers
        .get(header::ACCEPT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "*/*".to_string());
    let mut vary = HeaderMap::new();
    vary.insert(header::VARY, HeaderValue::from_static("Accept"));
    let Some(protobuf) = negotiate(&accept) else {
        return bare(StatusCode::NOT_ACCEPTABLE, vary);
    };
    let encoded = match merged {
        Some(m) if protobuf => m.protobuf(),
        None if protobuf => api.v2_protobuf(),
        _ => Ok(&[][..]),
    };
    let (body, content_type): (&[u8], &str) = match (encoded, merged) {
        (Err(e), _) => {
            tracing::error!("Error in OpenAPI handler: {e}");
            return bare(StatusCode::SERVICE_UNAVAILABLE, vary);
        }
        (Ok(b), _) if protobuf => (b, PROTOBUF),
        (Ok(_), Some(m)) => (m.json.as_bytes(), JSON),
        (Ok(_), None) => (api.v2_document().as_bytes(), JSON),
    };
    let etag = format!("\"{}\"", merged.map_or(api.v2_etag(), |m| m.hash.as_str()));
    serve_content(method, headers, body, content_type, &etag, api.loaded_at())
}

/// `true` for protobuf, `false` for JSON, `None` if nothing acceptable.
fn negotiate(accept: &str) -> Option<bool> {
    for (ty, sub) in parse_accept(accept) {
        if ty != "application" && ty != "*" {
            continue;
        }
        if sub == "json" || sub == "*" {
            return Some(false);
        }
        if sub == PROTOBUF_DEPRECATED_SUBTYPE || sub == PROTOBUF_SUBTYPE {
            return Some(true);
        }
    }
    None
}

/// goautoneg's `ParseAccept`: the clauses of an `Accept` header as
/// `(type, subtype)`, sorted by its comparison (higher `q` first, then
/// concrete types before wildcards) with the insertion sort Go's `sort.Sort`
/// uses for short lists. A clause without a `/` (other than `*`) is dropped;
/// a `q` that does not parse is 0.
fn parse_accept(header: &str) -> Vec<(String, String)> {
    struct Clause {
        ty: String,
        sub: String,
        q: f32,
    }
    let mut clauses: Vec<Clause> = Vec::new();
    for part in header.split(',') {
        let part = part.trim_matches(' ');
        let mut params = part.split(';');
        let range = params.next().unwrap_or("");
        let sp: Vec<&str> = range.split('/').collect();
        let ty = sp.first().copied().unwrap_or("").trim_matches(' ');
        let sub = match sp.len() {
            1 if ty == "*" => "*",
            2 => sp.get(1).copied().unwrap_or("").trim_matches(' '),
            _ => continue,
        };
        let mut q = 1.0f32;
        for param in params {
            if let Some((k, v)) = param.split_once('=')
                && k.trim_matches(' ') == "q"
            {
                q = parse_go_float(v).unwrap_or(0.0);
            }
        }
        clauses.push(Clause {
            ty: ty.to_string(),
            sub: sub.to_string(),
            q,
        });
    }
    let less = |a: &Clause, b: &Clause| {
        a.q > b.q || (a.ty != "*" && b.ty == "*") || (a.sub != "*" && b.sub == "*")
    };
    for i in 1..clauses.len() {
        let mut j = i;
        while j > 0 && less(&clauses[j], &clauses[j - 1]) {
            clauses.swap(j, j - 1);
            j -= 1;
        }
    }
    clauses.into_iter().map(|c| (c.ty, c.sub)).collect()
}

/// A float as Go's `strconv.ParseFloat` reads it (no surrounding spaces;
/// Rust also refuses Go's hex and underscore forms, which nobody sends here).
fn parse_go_float(s: &str) -> Option<f32> {
    if s.is_empty() || s.starts_with(['+', '-']) && s.len() == 1 {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.trim_start_matches(['+', '-']),
        "inf" | "infinity" | "nan"
    ) || lower
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.e".contains(&b))
    {
        return s.parse::<f32>().ok();
    }
    None
}

/// Go's `http.ServeContent` for an in-memory body.
fn serve_content(
    method: &Method,
    req: &HeaderMap,
    body: &[u8],
    content_type: &str,
    etag: &str,
    modified: std::time::SystemTime,
) -> Response {
    let modified_secs = modified
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let last_modified = chrono::DateTime::from_timestamp(modified_secs, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut h = HeaderMap::new();
    h.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        h.insert(header::LAST_MODIFIED, v);
    }
    let get_or_head = method == Method::GET || method == Method::HEAD;
    let req_str = |name: header::HeaderName| {
        req.get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    // checkPreconditions.
    let if_match = req_str(header::IF_MATCH);
    let precondition_failed = match &if_match {
        Some(im) => !etag_list_matches(im, etag, false),
        None => req_str(header::IF_UNMODIFIED_SINCE)
            .and_then(|t| parse_http_date(&t))
            .is_some_and(|t| modified_secs > t),
    };
    if precondition_failed {
        return bare(StatusCode::PRECONDITION_FAILED, h);
    }
    let if_none_match = req_str(header::IF_NONE_MATCH);
    let not_modified = match &if_none_match {
        Some(inm) => etag_list_matches(inm, etag, true),
        None => {
            get_or_head
                && req_str(header::IF_MODIFIED_SINCE)
                    .and_then(|t| parse_http_date(&t))
                    .is_some_and(|t| modified_secs <= t)
        }
    };
    if not_modified {
        if !get_or_head {
            return bare(StatusCode::PRECONDITION_FAILED, h);
        }
        // writeNotModified: no Content-Type, and no Last-Modified beside an ETag.
        h.remove(header::CONTENT_TYPE);
        h.remove(header::LAST_MODIFIED);
        return bare(StatusCode::NOT_MODIFIED, h);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let size = body.len() as u64;
    let mut status = StatusCode::OK;
    let mut slice = body;
    let range = req_str(header::RANGE).filter(|_| {
        // checkIfRange: a Range applies only if If-Range (when sent) still matches.
        match req_str(header::IF_RANGE) {
            None => true,
            Some(ir) if ir.starts_with('"') || ir.starts_with("W/") => ir == etag,
            Some(ir) => parse_http_date(&ir) == Some(modified_secs),
        }
    });
    if let Some(r) = range {
        match parse_range(&r, size) {
            RangeSpec::All => {}
            RangeSpec::One(start, end) => {
                status = StatusCode::PARTIAL_CONTENT;
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", end - 1)) {
                    h.insert(header::CONTENT_RANGE, v);
                }
                slice = body.get(start as usize..end as usize).unwrap_or(body);
            }
            RangeSpec::Unsatisfiable => {
                let mut h416 = HeaderMap::new();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    h416.insert(header::CONTENT_RANGE, v);
                }
                h416.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                h416.insert(
                    "x-content-type-options",
                    HeaderValue::from_static("nosniff"),
                );
                // Go's serveError drops ETag and Last-Modified.
                h416.insert(header::VARY, HeaderValue::from_static("Accept"));
                let msg = "invalid range: failed to overlap\n";
                let mut resp = Response::new(Body::from(msg));
                *resp.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
                *resp.headers_mut() = h416;
                return resp;
            }
        }
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(slice.len()));
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(slice.to_vec())
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = h;
    resp
}

/// A response with no body: `Content-Length: 0`, except a 304, which has no
/// length at all (a body of unknown size keeps hyper from adding one).
fn bare(status: StatusCode, mut h: HeaderMap) -> Response {
    let body = if status == StatusCode::NOT_MODIFIED {
        Body::from_stream(futures::stream::empty::<Result<Vec<u8>, std::io::Error>>())
    } else {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        Body::empty()
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = h;
    resp
}

/// Whether an `If-Match` (strong comparison) or `If-None-Match` (weak) list
/// names the ETag, or is `*`.
fn etag_list_matches(list: &str, etag: &str, weak: bool) -> bool {
    let bare_tag = etag.trim_start_matches("W/");
    list.split(',').map(str::trim).any(|t| {
        t == "*"
            || if weak {
                t.trim_start_matches("W/") == bare_tag
            } else {
                !t.starts_with("W/") && t == etag
            }
    })
}

/// An HTTP date (RFC 1123, RFC 850 or asctime) as Unix seconds.
fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    for fmt in [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp());
        }
    }
    None
}

enum RangeSpec {
    /// Serve everything (no usable range, or several ranges, which this
    /// server answers in full rather than as `multipart/byteranges`).
    All,
    /// `[start, end)`.
    One(u64, u64),
    Unsatisfiable,
}

/// Go's `parseRange` for one `bytes=` range.
fn parse_range(s: &str, size: u64) -> RangeSpec {
    let Some(spec) = s.strip_prefix("bytes=") else {
        return RangeSpec::All;
    };
    if spec.contains(',') {
        return RangeSpec::All;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::All;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix: the last b bytes.
        let Ok(n) = b.parse::<u64>() else {
            return RangeSpec::All;
        };
        if n == 0 || size == 0 {
            return RangeSpec::Unsatisfiable;
        }
        return RangeSpec::One(size.saturating_sub(n), size);
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeSpec::All;
    };
    if start >= size {
        return RangeSpec::Unsatisfiable;
    }
    let end = if b.is_empty() {
        size
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.saturating_add(1).min(size),
            _ => return RangeSpec::All,
        }
    };
    RangeSpec::One(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation_as_goautoneg() {
        let kubectl = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
        assert_eq!(negotiate(kubectl), Some(true));
        assert_eq!(
            negotiate(&format!("application/{PROTOBUF_SUBTYPE}")),
            Some(true)
        );
        for json in [
            "*/*",
            "*",
            "application/*",
            "application/json",
            "application/json;q=0",
            "application/json, text/html",
            "application/json;as=Table;v=v1;g=meta.k8s.io",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf;q=0.5, application/json",
        ] {
            assert_eq!(negotiate(json), Some(false), "{json}");
        }
        assert_eq!(
            negotiate(
                "application/json;q=0.5, application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
            ),
            Some(true)
        );
        for none in [
            "text/html",
            "garbage",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
            "APPLICATION/JSON",
            "",
        ] {
            assert_eq!(negotiate(none), None, "{none}");
        }
    }

    #[test]
    fn ranges() {
        assert!(matches!(
            parse_range("bytes=0-9", 100),
            RangeSpec::One(0, 10)
        ));
        assert!(matches!(
            parse_range("bytes=90-", 100),
            RangeSpec::One(90, 100)
        ));
        assert!(matches!(
            parse_range("bytes=-5", 100),
            RangeSpec::One(95, 100)
        ));
        assert!(matches!(
            parse_range("bytes=5-500", 100),
            RangeSpec::One(5, 100)
        ));
        assert!(matches!(
            parse_range("bytes=100-", 100),
            RangeSpec::Unsatisfiable
        ));
        assert!(matches!(parse_range("bytes=0-1,5-6", 100), RangeSpec::All));
        assert!(matches!(parse_range("items=0-1", 100), RangeSpec::All));
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            parse_http_date("Thu, 03 Dec 2026 09:28:48 GMT"),
            Some(1_796_290_128)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }
}
