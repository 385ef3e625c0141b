//! The generic filters every request passes, as upstream's handler chain
//! (`k8s.io/apiserver/pkg/server/filters`, `.../endpoints/filters`):
//!
//! - panic recovery (`wrap.go`, `WithPanicRecovery`): a handler that panics
//!   answers 500 for its request only;
//! - the request deadline and timeout (`endpoints/filters/request_deadline.go`
//!   and `server/filters/timeout.go`): a request that is not long-running
//!   (watch, exec, attach, log, port-forward, proxy) ends after
//!   `--request-timeout` (or its `?timeout=`, if shorter) with a 504; its body
//!   is read inside that bound, so a client trickling a body cannot hold a
//!   request for longer;
//! - max-in-flight load shedding (`maxinflight.go`, the filter upstream runs
//!   when API Priority and Fairness is off): over `--max-requests-inflight`
//!   reads or `--max-mutating-requests-inflight` writes a request gets 429
//!   with `Retry-After: 1`; long-running requests are not counted;
//! - response compression (`endpoints/handlers/responsewriters/writers.go`):
//!   a response body over 128 KiB is gzipped when the client accepts gzip.
//!
//! The answers are upstream's byte for byte, including where upstream writes
//! plain text rather than a `Status` (429, panic) and where its timeout
//! writer sends a `Status` without `kind`/`apiVersion` as `text/plain`.

use std::future::Future;
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::response::Response;
use futures::FutureExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::BodyExt;

use super::request::{Route, Verb};
use super::{error_response, text};
use crate::apimachinery::status::ApiError;
use crate::auth::UserInfo;

/// The limits the filters enforce (`ironkube serve` flags).
#[derive(Debug, Clone)]
pub struct Limits {
    /// `--request-timeout`: how long a request that is not long-running may
    /// take, reading its body included (upstream: 60 s).
    pub request_timeout: Duration,
    /// `--max-requests-inflight`: concurrent reads (get, list; 0 = no limit;
    /// upstream: 400).
    pub max_requests_inflight: usize,
    /// `--max-mutating-requests-inflight`: concurrent writes (0 = no limit;
    /// upstream: 200).
    pub max_mutating_requests_inflight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(60),
            max_requests_inflight: 400,
            max_mutating_requests_inflight: 200,
        }
    }
}

/// The filters' state: the limits and the requests in flight.
#[derive(Debug, Default)]
pub struct Filters {
    limits: Limits,
    reads: AtomicUsize,
    writes: AtomicUsize,
}

/// What the filters need to know of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// Watches and streaming subresources: no timeout, not counted in flight.
    pub long_running: bool,
    /// Counted against the mutating limit (any verb but get, list, watch).
    pub mutating: bool,
}

impl Class {
    /// Upstream's `BasicLongRunningRequestCheck(watch, proxy; attach, exec,
    /// proxy, log, portforward)` and `nonMutatingRequestVerbs`.
    pub fn of(route: &Route, method: &http::Method) -> Class {
        match route {
            Route::Resource(rr) => Class {
                long_running: rr.verb == Verb::Watch
                    || rr
                        .subresource
                        .is_some_and(crate::registry::handler::SubresourceHandler::long_running),
                mutating: !matches!(rr.verb, Verb::Get | Verb::List | Verb::Watch),
            },
            // Non-resource requests: the verb is the method.
            _ => Class {
                long_running: false,
                mutating: method != http::Method::GET,
            },
        }
    }
}

/// An admitted request: runs its handler within its deadline, holding its
/// in-flight slot until then.
pub struct Admitted<'a> {
    deadline: Option<Duration>,
    _slot: InFlight<'a>,
}

impl Admitted<'_> {
    /// Runs `handler` on `req` within the request's deadline. A `heavy` one
    /// (see [`is_heavy`]) has its body read first and then runs with its
    /// worker thread handed over to the blocking pool, so that on a runtime
    /// with as many workers as cores (two, here) a few CPU-bound requests
    /// cannot stall every other request, `/readyz` and the shutdown signal
    /// included (Go's scheduler preempts goroutines; tokio's cannot preempt a
    /// task). The body is read before, because over HTTP/1 the connection's
    /// own task feeds it.
    pub async fn run<H, F>(self, heavy: bool, req: Request, handler: H) -> Response
    where
        H: FnOnce(Request) -> F,
        F: Future<Output = Response>,
    {
        let handle = tokio::runtime::Handle::current();
        let offload =
            heavy && handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread;
        let work = async move {
            if !offload {
                return handler(req).await;
            }
            let req = buffered(req).await;
            tokio::task::block_in_place(move || handle.block_on(handler(req)))
        };
        match self.deadline {
            None => work.await,
            Some(d) => match tokio::time::timeout(d, work).await {
                Ok(r) => r,
                Err(_) => timeout_response(),
            },
        }
    }
}

/// `req` with its body read into memory (a read error is passed on as the
/// body's error, for the handler to answer as usual).
async fn buffered(req: Request) -> Request {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(c) => Body::from(c.to_bytes()),
        Err(e) => Body::from_stream(futures::stream::once(
            async move { Err::<bytes::Bytes, _>(e) },
        )),
    };
    Request::from_parts(parts, body)
}

/// Request bodies larger than this may take long to decode, patch and
/// validate (a strategic merge patch of thousands of containers).
pub const HEAVY_BODY: u64 = 16 * 1024;

/// Whether a request announces a body over [`HEAVY_BODY`] (and within the
/// size handlers accept, so that reading it first is harmless); small
/// writes, the hot path, are never handed over.
pub fn is_heavy(class: Class, headers: &HeaderMap) -> bool {
    class.mutating
        && headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > HEAVY_BODY && n <= super::negotiate::MAX_BODY as u64)
}

/// Holds one in-flight slot until dropped.
pub struct InFlight<'a>(Option<&'a AtomicUsize>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.0 {
            c.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Filters {
    pub fn new(limits: Limits) -> Self {
        Filters {
            limits,
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Admits a request of `class` by `user` (with `?timeout=` `timeout`):
    /// its deadline and in-flight slot, or the answer that refuses it.
    pub fn admit_request(
        &self,
        class: Class,
        user: &UserInfo,
        timeout: Option<&str>,
    ) -> Result<Admitted<'_>, Box<Response>> {
        if class.long_running {
            return Ok(Admitted {
                deadline: None,
                _slot: InFlight(None),
            });
        }
        let deadline = request_deadline(timeout, self.limits.request_timeout)
            .map_err(|e| Box::new(error_response(&e)))?;
        let slot = self
            .admit(class.mutating, user)
            .ok_or_else(|| Box::new(too_many_requests()))?;
        Ok(Admitted {
            deadline: Some(deadline),
            _slot: slot,
        })
    }

    /// Takes a slot of the read or write budget; `None` when it is spent
    /// and `user` is not exempt.
    pub fn admit(&self, mutating: bool, user: &UserInfo) -> Option<InFlight<'_>> {
        let (counter, limit) = if mutating {
            (&self.writes, self.limits.max_mutating_requests_inflight)
        } else {
            (&self.reads, self.limits.max_requests_inflight)
        };
        if limit == 0 {
            return Some(InFlight(None));
        }
        if counter.fetch_add(1, Ordering::AcqRel) < limit {
            return Some(InFlight(Some(counter)));
        }
        counter.fetch_sub(1, Ordering::AcqRel);
        exempt(user).then_some(InFlight(None))
    }
}

/// Who is never shed. Upstream's max-in-flight filter lets `system:masters`
/// through (a super-admin or loopback client "should always get an
/// answer"). With API Priority and Fairness (upstream's default), the control
/// plane's own identities have their own priority levels (`system` for
/// `system:nodes`, `workload-high` for the controller manager and the
/// scheduler), so a flood of other clients cannot starve them; without
/// priority levels the equivalent is to exempt them. The in-process
/// controllers act as `system:kube-controller-manager` and as service
/// accounts in `kube-system` (upstream's `kube-system-service-accounts`
/// flow schema, `workload-high`), the simulated kubelets as nodes.
pub fn exempt(user: &UserInfo) -> bool {
    matches!(
        user.name.as_str(),
        "system:kube-controller-manager" | "system:kube-scheduler"
    ) || user.groups.iter().any(|g| {
        g == "system:masters" || g == "system:nodes" || g == "system:serviceaccounts:kube-system"
    })
}

/// The deadline of a request: `--request-timeout`, or the `timeout` query
/// parameter when it is shorter and positive (upstream's
/// `WithRequestDeadline`); an unparsable one is a 400.
pub fn request_deadline(param: Option<&str>, max: Duration) -> Result<Duration, ApiError> {
    let Some(p) = param.filter(|p| !p.is_empty()) else {
        return Ok(max);
    };
    match parse_signed_duration(p) {
        Ok(Some(d)) if !d.is_zero() && d < max => Ok(d),
        Ok(_) => Ok(max),
        Err(e) => Err(ApiError::bad_request(format!(
            "invalid timeout specified in the request URL - {e}"
        ))),
    }
}

/// Go's `time.ParseDuration`: `Ok(None)` for a negative duration, the Go
/// error text otherwise.
fn parse_signed_duration(s: &str) -> Result<Option<Duration>, String> {
    let quoted = go_quote(s);
    let (negative, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if let Some(d) = crate::controllers::nodesim::logic::parse_go_duration(body)
        && !body.starts_with(['+', '-'])
        && body.trim() == body
    {
        return Ok(if negative {
            None
        } else {
            d.to_std().ok().or(Some(Duration::MAX))
        });
    }
    // Which of Go's errors: a number with no unit, an unknown unit, or
    // anything else.
    let num_len = body
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(body.len());
    if num_len > 0 && body[..num_len].chars().any(|c| c.is_ascii_digit()) {
        let rest = &body[num_len..];
        if rest.is_empty() {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        if !matches!(unit, "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h") {
            return Err(format!(
                "time: unknown unit {} in duration {quoted}",
                go_quote(unit)
            ));
        }
    }
    Err(format!("time: invalid duration {quoted}"))
}

/// Go's `strconv.Quote` for the printable strings durations are made of.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Upstream's answer when the in-flight budget is spent (`tooManyRequests`:
/// `http.Error`, so plain text).
pub fn too_many_requests() -> Response {
    let mut r = text(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests, please try again later.\n",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// Upstream's timeout writer: `NewTimeoutError(..., 0)`'s `Status` (no
/// `kind`/`apiVersion`) JSON-encoded with a newline, with no content type
/// set, which Go's server sniffs as text.
pub fn timeout_response() -> Response {
    let mut r = Response::new(Body::from(
        "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Timeout: request did not complete within the allotted timeout\",\"reason\":\"Timeout\",\"details\":{},\"code\":504}\n",
    ));
    *r.status_mut() = StatusCode::GATEWAY_TIMEOUT;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Upstream's `WithPanicRecovery` answer.
pub fn panic_response() -> Response {
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "This request caused apiserver to panic. Look in the logs for details.\n",
    )
}

/// Runs `handler`; a panic becomes a 500 for this request only (the panic
/// message is logged by the panic hook).
pub async fn recover<F>(method: &http::Method, uri: &http::Uri, handler: F) -> Response
where
    F: Future<Output = Response>,
{
    match AssertUnwindSafe(handler).catch_unwind().await {
        Ok(r) => r,
        Err(_) => {
            tracing::error!(%method, %uri, "apiserver panicked");
            panic_response()
        }
    }
}

/// Responses whose first write upstream compresses: larger than this.
pub const GZIP_THRESHOLD: usize = 128 * 1024;

/// Whether `Accept-Encoding` lists `gzip` (upstream's
/// `negotiateContentEncoding`: a comma-separated token equal to `gzip`;
/// `gzip;q=...` is not recognised there either).
pub fn accepts_gzip(h: &HeaderMap) -> bool {
    h.get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "gzip")
}

/// Gzips a complete response body over [`GZIP_THRESHOLD`] (level 1, as
/// upstream) and sets `Content-Encoding: gzip` and `Vary: Accept-Encoding`.
/// Streaming bodies (watches) have no known length and pass unchanged.
/// Compression runs on a blocking thread so that a large list does not hold
/// a runtime worker.
pub async fn compress(resp: Response) -> Response {
    let len = resp.body().size_hint().exact();
    if len.is_none_or(|l| l <= GZIP_THRESHOLD as u64)
        || resp.headers().contains_key(header::CONTENT_ENCODING)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(collected) = body.collect().await else {
        return panic_response();
    };
    let plain = collected.to_bytes();
    let gz = tokio::task::spawn_blocking(move || gzip(&plain)).await;
    let Ok(Ok(gz)) = gz else {
        return error_response(&ApiError::internal("cannot compress the response"));
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Response::from_parts(parts, Body::from(gz))
}

fn gzip(plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(plain.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(plain)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn deadlines_follow_request_deadline_go() {
        let max = Duration::from_secs(60);
        assert_eq!(request_deadline(None, max), Ok(max));
        assert_eq!(request_deadline(Some(""), max), Ok(max));
        assert_eq!(
            request_deadline(Some("2s"), max),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            request_deadline(Some("1m30s"), Duration::from_secs(120)),
            Ok(Duration::from_secs(90))
        );
        // Longer than the server's, zero or negative: the server's.
        assert_eq!(request_deadline(Some("100h"), max), Ok(max));
        assert_eq!(request_deadline(Some("0s"), max), Ok(max));
        assert_eq!(request_deadline(Some("0"), max), Ok(max));
        assert_eq!(request_deadline(Some("-1s"), max), Ok(max));
        let msg = |p| request_deadline(Some(p), max).unwrap_err().message;
        // Upstream's answers (v1.36).
        assert_eq!(
            msg("bogus"),
            "invalid timeout specified in the request URL - time: invalid duration \"bogus\""
        );
        assert_eq!(
            msg("5"),
            "invalid timeout specified in the request URL - time: missing unit in duration \"5\""
        );
        assert_eq!(
            msg("5x"),
            "invalid timeout specified in the request URL - time: unknown unit \"x\" in duration \"5x\""
        );
        assert_eq!(request_deadline(Some("x"), max).unwrap_err().code, 400);
    }

    #[test]
    fn in_flight_budget_sheds_all_but_the_control_plane() {
        let f = Filters::new(Limits {
            request_timeout: Duration::from_secs(1),
            max_requests_inflight: 1,
            max_mutating_requests_inflight: 2,
        });
        let alice = user("alice", &["system:authenticated"]);
        let a = f.admit(false, &alice);
        assert!(a.is_some());
        assert!(f.admit(false, &alice).is_none());
        // Writes have their own budget.
        let w1 = f.admit(true, &alice);
        let w2 = f.admit(true, &alice);
        assert!(w1.is_some() && w2.is_some());
        assert!(f.admit(true, &alice).is_none());
        // Exempt identities always get through, without using the budget.
        assert!(
            f.admit(false, &user("admin", &["system:masters"]))
                .is_some()
        );
        assert!(
            f.admit(true, &user("system:kube-controller-manager", &[]))
                .is_some()
        );
        assert!(
            f.admit(true, &user("system:node:n1", &["system:nodes"]))
                .is_some()
        );
        assert!(!exempt(&user(
            "system:serviceaccount:a:b",
            &["system:serviceaccounts"]
        )));
        // A slot comes back when its request ends.
        drop(a);
        assert!(f.admit(false, &alice).is_some());
        drop((w1, w2));
        assert_eq!(f.writes.load(Ordering::Acquire), 0);
        // 0 is no limit.
        let unlimited = Filters::new(Limits {
            max_requests_inflight: 0,
            ..Limits::default()
        });
        let held: Vec<_> = (0..1000).map(|_| unlimited.admit(false, &alice)).collect();
        assert!(held.iter().all(Option::is_some));
    }

    #[test]
    fn only_large_writes_are_heavy() {
        let write = Class {
            long_running: false,
            mutating: true,
        };
        let read = Class {
            long_running: false,
            mutating: false,
        };
        let len = |n: u64| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
            h
        };
        assert!(is_heavy(write, &len(HEAVY_BODY + 1)));
        assert!(!is_heavy(write, &len(HEAVY_BODY)));
        assert!(!is_heavy(write, &HeaderMap::new()));
        assert!(!is_heavy(read, &len(HEAVY_BODY + 1)));
        // Too large: answered 413 at once, nothing to read first.
        assert!(!is_heavy(write, &len(50 << 20)));
    }

    #[test]
    fn long_running_and_mutating_as_upstream() {
        use super::super::request::parse;
        let reg = crate::registry::served::Registry::builtin();
        let served = reg.snapshot();
        let class = |m: http::Method, p: &str, watch: bool| {
            Class::of(&parse(&m, p, watch, &served).unwrap(), &m)
        };
        let get = http::Method::GET;
        let c = class(get.clone(), "/api/v1/namespaces/a/pods", true);
        assert!(c.long_running && !c.mutating);
        let c = class(get.clone(), "/api/v1/watch/namespaces/a/pods", false);
        assert!(c.long_running);
        let c = class(get.clone(), "/api/v1/namespaces/a/pods", false);
        assert!(!c.long_running && !c.mutating);
        let c = class(http::Method::PATCH, "/api/v1/namespaces/a/pods/p", false);
        assert!(!c.long_running && c.mutating);
        let c = class(http::Method::DELETE, "/api/v1/namespaces/a/pods", false);
        assert!(c.mutating);
        let c = class(get, "/apis", false);
        assert!(!c.long_running && !c.mutating);
    }

    #[test]
    fn gzip_is_negotiated_as_upstream() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            accepts_gzip(&m)
        };
        assert!(h("gzip"));
        assert!(h("deflate, gzip"));
        assert!(h(" gzip ,br"));
        assert!(!h("gzip;q=1.0"));
        assert!(!h("x-gzip"));
        assert!(!h("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[tokio::test]
    async fn large_bodies_are_gzipped_small_and_streaming_ones_are_not() {
        use std::io::Read;
        let big: Vec<u8> = (0..GZIP_THRESHOLD + 1)
            .map(|i| b'a' + (i % 7) as u8)
            .collect();
        let r = compress(super::super::bytes_response(
            StatusCode::OK,
            big.clone(),
            "application/json",
        ))
        .await;
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(r.headers()[header::VARY], "Accept-Encoding");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let gz = r.into_body().collect().await.unwrap().to_bytes();
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(plain, big);
        // Exactly the threshold: not compressed (upstream compresses `> 128 KiB`).
        let r = compress(super::super::bytes_response(
            StatusCode::OK,
            vec![b'a'; GZIP_THRESHOLD],
            "application/json",
        ))
        .await;
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        // A stream (a watch) has no known length.
        let stream = futures::stream::iter(vec![Ok::<_, std::convert::Infallible>(
            bytes::Bytes::from(vec![b'a'; GZIP_THRESHOLD * 2]),
        )]);
        let r = compress(Response::new(Body::from_stream(stream))).await;
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500() {
        let uri: http::Uri = "/x".parse().unwrap();
        let r = recover(&http::Method::GET, &uri, async {
            if uri.path() == "/x" {
                panic!("boom");
            }
            panic_response()
        })
        .await;
        assert_eq!(r.status(), 500);
        assert_eq!(
            r.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            b"This request caused apiserver to panic. Look in the logs for details.\n"
        );
    }

    #[tokio::test]
    async fn a_panic_in_dispatch_is_a_500_and_the_next_request_works() {
        use tower::ServiceExt;
        let state = crate::server::memory_state("t").await.unwrap();
        let router = super::super::app(state);
        let req = |uri: &str| {
            http::Request::builder()
                .uri(uri)
                .header("authorization", "Bearer t")
                .body(Body::empty())
                .unwrap()
        };
        let r = router.clone().oneshot(req("/__test/panic")).await.unwrap();
        assert_eq!(r.status(), 500);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            &body[..],
            b"This request caused apiserver to panic. Look in the logs for details.\n"
        );
        let r = router
            .oneshot(req("/api/v1/namespaces/default"))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}
