//! The server cannot be exhausted at the connection and request layer:
//! request timeouts, slow clients, idle connections, max-in-flight load
//! shedding, compression of large responses, bounded shutdown. In-process
//! through `apiserver::app_with`, and over real sockets through
//! `server::start`. Waits only bound hangs; nothing asserts a duration.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use ironkube::apiserver::filters::Limits;
use ironkube::apiserver::{AppState, app_with};
use ironkube::auth::UserInfo;

const ADMIN: &str = "admin-token";
const ALICE: &str = "alice-token";
const CONTROLLERS: &str = "controller-token";

/// Upstream's timeout answer (v1.36.2, `?timeout=2s` on a request whose
/// body never arrives): a `Status` without kind/apiVersion, as text.
const TIMEOUT_BODY: &str = "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Timeout: request did not complete within the allotted timeout\",\"reason\":\"Timeout\",\"details\":{},\"code\":504}\n";

/// An in-memory API with an admin (`system:masters`), a plain user and the
/// in-process controllers' identity.
async fn state() -> Arc<AppState> {
    let mut st = ironkube::server::memory_state(ADMIN).await.expect("state");
    let s = Arc::get_mut(&mut st).expect("sole owner");
    // These tests are about limits, not authorization: alice may do anything.
    s.authorizer = Arc::new(ironkube::auth::authorizer::Authorizer::new(vec![
        ironkube::auth::authorizer::Mode::AlwaysAllow,
    ]));
    s.auth.add(
        ALICE,
        UserInfo {
            name: "alice".into(),
            groups: vec!["system:authenticated".into()],
            ..Default::default()
        },
    );
    s.auth.add(
        CONTROLLERS,
        UserInfo {
            name: "system:kube-controller-manager".into(),
            ..Default::default()
        },
    );
    st
}

fn req(method: Method, uri: &str, token: &str, body: Body) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

/// A body that sends `{` and then nothing until the sender is dropped.
fn held_body() -> (futures::channel::mpsc::UnboundedSender<()>, Body) {
    let (tx, rx) = futures::channel::mpsc::unbounded::<()>();
    let first = futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"{")) });
    use futures::StreamExt;
    let rest = rx.map(|_| Ok::<_, std::io::Error>(Bytes::new()));
    (tx, Body::from_stream(first.chain(rest)))
}

async fn send(router: &axum::Router, r: Request<Body>) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let resp = tokio::time::timeout(Duration::from_secs(30), router.clone().oneshot(r))
        .await
        .expect("answered")
        .unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, body)
}

fn cm(name: &str) -> Body {
    Body::from(json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":name}}).to_string())
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_ends_with_upstreams_504() {
    let router = app_with(
        state().await,
        Limits {
            request_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
    );
    for uri in [
        // The server's --request-timeout.
        "/api/v1/namespaces/default/configmaps",
        // A shorter ?timeout= (client-go sends one).
        "/api/v1/namespaces/default/configmaps?timeout=500ms",
    ] {
        let (_tx, body) = held_body();
        let (status, headers, body) = send(&router, req(Method::POST, uri, ALICE, body)).await;
        assert_eq!(status, 504, "{uri}");
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
        assert_eq!(String::from_utf8_lossy(&body), TIMEOUT_BODY);
    }
    // A bad ?timeout= is upstream's 400.
    let (status, _, body) = send(
        &router,
        req(
            Method::GET,
            "/api/v1/namespaces?timeout=bogus",
            ALICE,
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(status, 400);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["message"],
        "invalid timeout specified in the request URL - time: invalid duration \"bogus\""
    );
    // A watch is long-running: it outlives the timeout (it ends with its
    // own timeoutSeconds).
    let (status, _, _) = send(
        &router,
        req(
            Method::GET,
            "/api/v1/namespaces?watch=1&timeoutSeconds=2",
            ALICE,
            Body::empty(),
        ),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn over_the_in_flight_limit_requests_get_429_except_the_control_plane() {
    let router = app_with(
        state().await,
        Limits {
            request_timeout: Duration::from_secs(60),
            max_requests_inflight: 1,
            max_mutating_requests_inflight: 1,
        },
    );
    // One write in progress (its body is still coming) fills the budget.
    let (tx, body) = held_body();
    let held = tokio::spawn({
        let router = router.clone();
        let r = req(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            ALICE,
            body,
        );
        async move { send(&router, r).await }
    });
    // (This test runs on one thread: the held request runs until it waits
    // for its body, having taken its slot.)
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!held.is_finished());
    let r = req(
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        ALICE,
        cm("second"),
    );
    let (status, headers, body) = send(&router, r).await;
    assert_eq!(status, 429);
    // Upstream's tooManyRequests: http.Error text and Retry-After: 1.
    assert_eq!(
        String::from_utf8_lossy(&body),
        "Too many requests, please try again later.\n"
    );
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // system:masters and the in-process controllers are never shed.
    for (token, name) in [(ADMIN, "by-admin"), (CONTROLLERS, "by-controllers")] {
        let r = req(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            token,
            cm(name),
        );
        assert_eq!(send(&router, r).await.0, 201);
    }
    // Reads have their own budget, and watches are not counted.
    let r = req(Method::GET, "/api/v1/namespaces", ALICE, Body::empty());
    assert_eq!(send(&router, r).await.0, 200);

    // When the held request ends, its slot is free again.
    drop(tx);
    let (status, _, _) = held.await.unwrap();
    assert_eq!(status, 400);
    let r = req(
        Method::POST,
        "/api/v1/namespaces/default/configmaps",
        ALICE,
        cm("third"),
    );
    assert_eq!(send(&router, r).await.0, 201);
}

#[tokio::test]
async fn lists_over_128k_are_gzipped_when_asked_and_watches_never() {
    use std::io::Read;
    let router = app_with(state().await, Limits::default());
    let data = "x".repeat(4000);
    for i in 0..40 {
        let body = json!({"apiVersion":"v1","kind":"ConfigMap",
            "metadata":{"name":format!("c{i}")},"data":{"k":data}});
        let r = req(
            Method::POST,
            "/api/v1/namespaces/default/configmaps",
            ADMIN,
            Body::from(body.to_string()),
        );
        assert_eq!(send(&router, r).await.0, 201);
    }
    let list = |enc: Option<&str>| {
        let mut r = req(
            Method::GET,
            "/api/v1/namespaces/default/configmaps",
            ADMIN,
            Body::empty(),
        );
        if let Some(e) = enc {
            r.headers_mut()
                .insert("accept-encoding", e.parse().unwrap());
        }
        send(&router, r)
    };
    let (status, headers, plain) = list(None).await;
    assert_eq!(status, 200);
    assert!(plain.len() > 128 * 1024);
    assert!(headers.get("content-encoding").is_none());

    let (status, headers, gz) = list(Some("gzip, deflate")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["vary"], "Accept-Encoding");
    assert_eq!(headers["content-type"], "application/json");
    assert!(gz.len() < plain.len() / 10);
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain);

    // A small response is never compressed.
    let mut r = req(
        Method::GET,
        "/api/v1/namespaces/default",
        ADMIN,
        Body::empty(),
    );
    r.headers_mut()
        .insert("accept-encoding", "gzip".parse().unwrap());
    assert!(send(&router, r).await.1.get("content-encoding").is_none());

    // A watch (its initial events are more than 128 KiB) is not compressed.
    let mut r = req(
        Method::GET,
        "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1",
        ADMIN,
        Body::empty(),
    );
    r.headers_mut()
        .insert("accept-encoding", "gzip".parse().unwrap());
    let (status, headers, body) = send(&router, r).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-encoding").is_none());
    assert!(body.len() > 128 * 1024 && body.starts_with(b"{\"type\":\"ADDED\""));
}

// ---- over real sockets ----

struct Live {
    running: ironkube::server::Running,
    tls: tokio_rustls::TlsConnector,
    _dir: tempfile::TempDir,
}

async fn live(limits: Limits, conn: ironkube::server::ConnLimits) -> Live {
    let dir = tempfile::tempdir().unwrap();
    let running = ironkube::server::start(ironkube::server::ServeConfig {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        storage: ironkube::server::StorageKind::Memory,
        etcd: Default::default(),
        leader_election: Default::default(),
        token_auth_file: None,
        client_ca_file: None,
        authorization_modes: vec![
            ironkube::auth::authorizer::Mode::Node,
            ironkube::auth::authorizer::Mode::Rbac,
        ],
        anonymous_auth: true,
        controllers: false,
        nodes: ironkube::controllers::nodesim::NodesConfig {
            count: 0,
            sim: Default::default(),
            lifecycle: Default::default(),
        },
        watch_history: 1000,
        watch_history_bytes: 1 << 20,
        limits,
        conn,
    })
    .await
    .expect("server starts");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut running.ca_cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Live {
        running,
        tls: tokio_rustls::TlsConnector::from(Arc::new(cfg)),
        _dir: dir,
    }
}

impl Live {
    async fn connect(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(self.running.addr)
            .await
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        self.tls.connect(name, tcp).await.unwrap()
    }
}

/// Reads until the server closes the connection (bounded: a hang fails).
async fn read_until_closed(s: &mut (impl AsyncReadExt + Unpin)) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .expect("the server closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

fn short_conn() -> ironkube::server::ConnLimits {
    ironkube::server::ConnLimits {
        header_read_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(2),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_do_not_hold_connections() {
    let srv = live(
        Limits {
            request_timeout: Duration::from_secs(2),
            ..Limits::default()
        },
        short_conn(),
    )
    .await;
    let token = srv.running.admin_token.clone();

    // Headers that never finish: closed (upstream's ReadHeaderTimeout).
    let mut s = srv.connect().await;
    s.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    read_until_closed(&mut s).await;

    // A connection that never sends a request: closed when idle.
    let mut s = srv.connect().await;
    assert_eq!(read_until_closed(&mut s).await, "");

    // A body that never arrives: upstream's 504 at the request timeout,
    // then the connection is closed.
    let mut s = srv.connect().await;
    let head = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut s).await;
    assert!(
        answer.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with(TIMEOUT_BODY), "{answer}");

    // A keep-alive connection is closed once idle after its request.
    let mut s = srv.connect().await;
    s.write_all(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    // A large write (run off the runtime's workers) is answered as usual.
    let body = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"large"},
        "data":{"k":"x".repeat(20_000)}})
    .to_string();
    let mut s = srv.connect().await;
    let head = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut s).await;
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");

    // The server still answers.
    let mut s = srv.connect().await;
    s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(read_until_closed(&mut s).await.ends_with("\r\n\r\nok"));
    srv.running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_stuck_request_beyond_the_request_timeout() {
    let srv = live(
        Limits {
            request_timeout: Duration::from_secs(2),
            ..Limits::default()
        },
        ironkube::server::ConnLimits::default(),
    )
    .await;
    let token = srv.running.admin_token.clone();
    let mut s = srv.connect().await;
    let head = format!(
        "POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: 100\r\n\r\n{{"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // A watch too, which ends on shutdown.
    let mut w = srv.connect().await;
    let head = format!(
        "GET /api/v1/namespaces?watch=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    w.write_all(head.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    w.read_exact(&mut first).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), srv.running.shutdown())
        .await
        .expect("shutdown finishes");
}
