//! A lean HTTP client for the load generator, on hyper's connection-level API:
//! HTTP/2 over TLS (ALPN `h2`) multiplexing up to `streams_per_conn` requests
//! per connection, or a pool of HTTP/1.1 keep-alive connections (one request
//! each at a time). Bodies are raw bytes; nothing is typed.

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderValue, Method, Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::kubeconfig::Target;

/// How long one request (headers and whole body) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type H1 = http1::SendRequest<Full<Bytes>>;
type H2 = http2::SendRequest<Full<Bytes>>;

struct H2Conn {
    sender: H2,
    active: Arc<AtomicUsize>,
}

struct Inner {
    tls: Option<tokio_rustls::TlsConnector>,
    server_name: ServerName<'static>,
    /// `host:port` to connect to.
    addr: String,
    /// `scheme://authority` for HTTP/2 request URIs.
    origin: String,
    authority: HeaderValue,
    /// Path prefix of the server URL (usually empty).
    prefix: String,
    auth: Option<HeaderValue>,
    streams_per_conn: usize,
    idle_h1: Mutex<Vec<H1>>,
    h2: Mutex<Vec<H2Conn>>,
    dial_lock: tokio::sync::Mutex<()>,
    connections: AtomicUsize,
}

/// A cheap-to-clone handle on the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A complete response.
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Response {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

enum Lease {
    H1 {
        sender: H1,
        reusable: bool,
    },
    H2 {
        sender: H2,
        active: Arc<AtomicUsize>,
    },
}

struct LeaseGuard {
    lease: Option<Lease>,
    inner: Arc<Inner>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        match self.lease.take() {
            Some(Lease::H1 { sender, reusable }) => {
                if reusable
                    && !sender.is_closed()
                    && let Ok(mut idle) = self.inner.idle_h1.lock()
                {
                    idle.push(sender);
                }
            }
            Some(Lease::H2 { active, .. }) => {
                active.fetch_sub(1, Ordering::Relaxed);
            }
            None => {}
        }
    }
}

enum Dialed {
    H1(H1),
    H2(H2),
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_config(target: &Target, http1_only: bool) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS versions")?;
    let builder = if target.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let pem = target.ca_pem.as_deref().ok_or_else(|| {
            anyhow!(
                "kubeconfig has no certificate-authority(-data) and no insecure-skip-tls-verify"
            )
        })?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            roots
                .add(cert.context("reading certificate-authority PEM")?)
                .context("adding certificate-authority")?;
        }
        if roots.is_empty() {
            bail!("certificate-authority holds no PEM certificate");
        }
        builder.with_root_certificates(roots)
    };
    let mut cfg = match (&target.client_cert_pem, &target.client_key_pem) {
        (Some(cert), Some(key)) => {
            let certs = rustls_pemfile::certs(&mut &cert[..])
                .collect::<std::result::Result<Vec<_>, _>>()
                .context("reading client-certificate PEM")?;
            let key = rustls_pemfile::private_key(&mut &key[..])
                .context("reading client-key PEM")?
                .ok_or_else(|| anyhow!("client-key holds no private key"))?;
            builder
                .with_client_auth_cert(certs, key)
                .context("client certificate")?
        }
        _ => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = if http1_only {
        vec![b"http/1.1".to_vec()]
    } else {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    };
    Ok(cfg)
}

impl Client {
    pub fn new(target: &Target, http1_only: bool, streams_per_conn: usize) -> Result<Client> {
        let uri: Uri = target
            .server
            .parse()
            .with_context(|| format!("server URL {:?}", target.server))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => bail!("server URL {:?} must be https:// or http://", target.server),
        };
        let host = uri
            .host()
            .ok_or_else(|| anyhow!("server URL {:?} has no host", target.server))?;
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let bare_host = host.trim_start_matches('[').trim_end_matches(']');
        let addr = if bare_host.contains(':') {
            format!("[{bare_host}]:{port}")
        } else {
            format!("{bare_host}:{port}")
        };
        let name_host = target.tls_server_name.as_deref().unwrap_or(bare_host);
        let server_name = match name_host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(name_host.to_string())
                .with_context(|| format!("TLS server name {name_host:?}"))?,
        };
        let tls = if https {
            Some(tokio_rustls::TlsConnector::from(Arc::new(tls_config(
                target, http1_only,
            )?)))
        } else {
            None
        };
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| addr.clone());
        let auth = match &target.token {
            Some(t) => Some(
                HeaderValue::from_str(&format!("Bearer {t}"))
                    .context("token is not a valid header value")?,
            ),
            None => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                tls,
                server_name,
                addr,
                origin: format!("{}://{authority}", if https { "https" } else { "http" }),
                authority: HeaderValue::from_str(&authority).context("server authority")?,
                prefix: uri.path().trim_end_matches('/').to_string(),
                auth,
                streams_per_conn: streams_per_conn.max(1),
                idle_h1: Mutex::new(Vec::new()),
                h2: Mutex::new(Vec::new()),
                dial_lock: tokio::sync::Mutex::new(()),
                connections: AtomicUsize::new(0),
            }),
        })
    }

    /// Connections opened so far.
    pub fn connections(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    async fn dial(&self) -> Result<Dialed> {
        let inner = &self.inner;
        let tcp = TcpStream::connect(&inner.addr)
            .await
            .with_context(|| format!("connecting to {}", inner.addr))?;
        tcp.set_nodelay(true).context("TCP_NODELAY")?;
        let (io, h2): (Box<dyn Io>, bool) = match &inner.tls {
            Some(tls) => {
                let stream = tls
                    .connect(inner.server_name.clone(), tcp)
                    .await
                    .with_context(|| format!("TLS handshake with {}", inner.addr))?;
                let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                (Box::new(stream), h2)
            }
            None => (Box::new(tcp), false),
        };
        let io = TokioIo::new(io);
        inner.connections.fetch_add(1, Ordering::Relaxed);
        if h2 {
            let (sender, conn) = http2::Builder::new(TokioExecutor::new())
                .initial_stream_window_size(4 << 20)
                .initial_connection_window_size(16 << 20)
                .max_frame_size(1 << 20)
                .handshake(io)
                .await
                .context("HTTP/2 handshake")?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Dialed::H2(sender))
        } else {
            let (sender, conn) = http1::Builder::new()
                .handshake(io)
                .await
                .context("HTTP/1.1 handshake")?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Dialed::H1(sender))
        }
    }

    /// A connection with room for one more request.
    async fn lease(&self, reusable: bool) -> Result<LeaseGuard> {
        let inner = &self.inner;
        let guard = |lease| LeaseGuard {
            lease: Some(lease),
            inner: inner.clone(),
        };
        // Idle HTTP/1.1 connections first.
        loop {
            let next = inner.idle_h1.lock().ok().and_then(|mut v| v.pop());
            let Some(mut sender) = next else { break };
            if sender.ready().await.is_ok() {
                return Ok(guard(Lease::H1 { sender, reusable }));
            }
        }
        if let Some(l) = self.h2_slot() {
            return Ok(guard(l));
        }
        // One dial at a time, so a burst of requests shares the new HTTP/2
        // connection instead of each opening its own.
        let _dialing = inner.dial_lock.lock().await;
        if let Some(l) = self.h2_slot() {
            return Ok(guard(l));
        }
        match self.dial().await? {
            Dialed::H1(mut sender) => {
                sender.ready().await.context("HTTP/1.1 connection closed")?;
                Ok(guard(Lease::H1 { sender, reusable }))
            }
            Dialed::H2(sender) => {
                let active = Arc::new(AtomicUsize::new(1));
                if let Ok(mut conns) = inner.h2.lock() {
                    conns.push(H2Conn {
                        sender: sender.clone(),
                        active: active.clone(),
                    });
                }
                Ok(guard(Lease::H2 { sender, active }))
            }
        }
    }

    fn h2_slot(&self) -> Option<Lease> {
        let mut conns = self.inner.h2.lock().ok()?;
        conns.retain(|c| !c.sender.is_closed());
        let cap = self.inner.streams_per_conn;
        let best = conns
            .iter()
            .filter(|c| c.active.load(Ordering::Relaxed) < cap)
            .min_by_key(|c| c.active.load(Ordering::Relaxed))?;
        best.active.fetch_add(1, Ordering::Relaxed);
        Some(Lease::H2 {
            sender: best.sender.clone(),
            active: best.active.clone(),
        })
    }

    fn build(
        &self,
        h2: bool,
        method: &Method,
        path: &str,
        accept: &'static str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>> {
        let inner = &self.inner;
        let uri = if h2 {
            format!("{}{}{path}", inner.origin, inner.prefix)
        } else {
            format!("{}{path}", inner.prefix)
        };
        let mut b = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::ACCEPT, accept)
            .header(header::USER_AGENT, "ironkube-bench");
        if !h2 {
            b = b.header(header::HOST, inner.authority.clone());
        }
        if let Some(a) = &inner.auth {
            b = b.header(header::AUTHORIZATION, a.clone());
        }
        if let Some(ct) = content_type {
            b = b.header(header::CONTENT_TYPE, ct);
        }
        b.body(Full::new(body)).context("building request")
    }

    async fn send_on(
        &self,
        lease: &mut LeaseGuard,
        method: &Method,
        path: &str,
        accept: &'static str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<http::Response<Incoming>> {
        match lease.lease.as_mut() {
            Some(Lease::H1 { sender, .. }) => {
                let req = self.build(false, method, path, accept, content_type, body)?;
                Ok(sender.send_request(req).await?)
            }
            Some(Lease::H2 { sender, .. }) => {
                let req = self.build(true, method, path, accept, content_type, body)?;
                Ok(sender.send_request(req).await?)
            }
            None => bail!("connection lease already released"),
        }
    }

    /// One request; the whole body is read. Transport failures and the
    /// request timeout are errors; HTTP error statuses are not.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<Response> {
        self.request_accept(method, path, "application/json", content_type, body)
            .await
    }

    /// [`Client::request`] with another `Accept` header (aggregated discovery).
    pub async fn request_accept(
        &self,
        method: Method,
        path: &str,
        accept: &'static str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<Response> {
        let fut = async {
            let mut lease = self.lease(true).await?;
            let resp = self
                .send_on(&mut lease, &method, path, accept, content_type, body)
                .await
                .with_context(|| format!("{method} {path}"))?;
            let status = resp.status().as_u16();
            let body = resp
                .into_body()
                .collect()
                .await
                .with_context(|| format!("reading body of {method} {path}"))?
                .to_bytes();
            drop(lease);
            Ok(Response { status, body })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
            Ok(r) => r,
            Err(_) => Err(anyhow!(Timeout)).with_context(|| format!("{method} {path}")),
        }
    }

    pub async fn get(&self, path: &str) -> Result<Response> {
        self.request(Method::GET, path, None, Bytes::new()).await
    }

    pub async fn send_json(&self, method: Method, path: &str, body: Bytes) -> Result<Response> {
        self.request(method, path, Some("application/json"), body)
            .await
    }

    /// Opens a watch (or any streaming GET); fails unless the status is 200.
    pub async fn stream(&self, path: &str) -> Result<LineStream> {
        let fut = async {
            let mut lease = self.lease(false).await?;
            let resp = self
                .send_on(
                    &mut lease,
                    &Method::GET,
                    path,
                    "application/json",
                    None,
                    Bytes::new(),
                )
                .await
                .with_context(|| format!("GET {path}"))?;
            if resp.status() != http::StatusCode::OK {
                let status = resp.status().as_u16();
                let body = resp.into_body().collect().await.map(|b| b.to_bytes());
                let text = body
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                return Err(anyhow!(HttpStatus(status))).context(format!("GET {path}: {text}"));
            }
            Ok(LineStream {
                body: resp.into_body(),
                buf: BytesMut::new(),
                _lease: lease,
            })
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, fut).await {
            Ok(r) => r,
            Err(_) => Err(anyhow!(Timeout)).with_context(|| format!("GET {path}")),
        }
    }
}

/// The request timed out.
#[derive(Debug)]
pub struct Timeout;

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "timed out after {REQUEST_TIMEOUT:?}")
    }
}

impl std::error::Error for Timeout {}

/// A non-200 answer to a streaming request.
#[derive(Debug)]
pub struct HttpStatus(pub u16);

impl std::fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}", self.0)
    }
}

impl std::error::Error for HttpStatus {}

/// The error-table key for a failed request: the HTTP code, `timeout` or `transport`.
pub fn error_key(e: &anyhow::Error) -> String {
    if let Some(s) = e.downcast_ref::<HttpStatus>() {
        s.0.to_string()
    } else if e.downcast_ref::<Timeout>().is_some() {
        "timeout".into()
    } else {
        "transport".into()
    }
}

/// A response body read as newline-delimited chunks (watch events).
pub struct LineStream {
    body: Incoming,
    buf: BytesMut,
    _lease: LeaseGuard,
}

impl LineStream {
    /// The next non-empty line, or `None` when the server ended the stream.
    pub async fn next_line(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(pos + 1).freeze();
                let line = line.slice(..pos);
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                return Ok(Some(line));
            }
            match self.body.frame().await {
                None => {
                    if self.buf.iter().all(|b| b.is_ascii_whitespace()) {
                        return Ok(None);
                    }
                    let rest = self.buf.split().freeze();
                    return Ok(Some(rest));
                }
                Some(frame) => {
                    let frame = frame.context("reading watch stream")?;
                    if let Ok(mut data) = frame.into_data() {
                        while data.has_remaining() {
                            let chunk = data.chunk();
                            self.buf.extend_from_slice(chunk);
                            let n = chunk.len();
                            data.advance(n);
                        }
                    }
                }
            }
        }
    }
}
