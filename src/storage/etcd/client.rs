//! A small etcd v3 client: unary KV calls, the Watch stream and
//! Maintenance.Status, over tonic channels to each endpoint.
//!
//! One lazily connected channel per endpoint; calls go to the endpoint that
//! last answered and move to the next one when it cannot be reached, as
//! etcd's own client fails over. Reads are retried on every endpoint; a write
//! is retried only when it was never sent (the connection could not be made),
//! because a write whose answer was lost may have been applied (etcd's
//! `clientv3/retry_interceptor.go` draws the same line).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::uri::PathAndQuery;
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};

use super::proto::*;

/// How to reach etcd (`--etcd-servers` and friends).
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// Endpoint URLs (`http://` or `https://`).
    pub servers: Vec<String>,
    /// The key prefix everything is stored under (`--etcd-prefix`).
    pub prefix: String,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Longest time one etcd call may take before the request fails.
    pub request_timeout: Duration,
    /// Longest time a connection attempt may take.
    pub dial_timeout: Duration,
    /// How often etcd's history is compacted (`--etcd-compaction-interval`;
    /// zero: never, left to etcd's own `--auto-compaction-*`).
    pub compaction_interval: Duration,
}

impl Default for EtcdConfig {
    fn default() -> Self {
        EtcdConfig {
            servers: vec!["http://127.0.0.1:2379".into()],
            prefix: "/registry".into(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            request_timeout: Duration::from_secs(10),
            dial_timeout: Duration::from_secs(2),
            compaction_interval: Duration::from_secs(300),
        }
    }
}

#[derive(Clone)]
pub struct Client {
    channels: Arc<Vec<(String, Channel)>>,
    current: Arc<AtomicUsize>,
    timeout: Duration,
}

/// Whether a call failed before anything was sent (safe to send elsewhere).
fn never_sent(s: &Status) -> bool {
    s.code() == Code::Unavailable && {
        let m = s.message().to_ascii_lowercase();
        let src = std::error::Error::source(s)
            .map(|e| format!("{e:?}").to_ascii_lowercase())
            .unwrap_or_default();
        m.contains("connect") || src.contains("connect") || src.contains("refused")
    }
}

/// Whether an endpoint looks unreachable (try another one).
fn unreachable(s: &Status) -> bool {
    matches!(s.code(), Code::Unavailable | Code::DeadlineExceeded)
}

impl Client {
    /// Channels to every endpoint; nothing is dialled until the first call.
    pub fn new(cfg: &EtcdConfig) -> Result<Client, String> {
        if cfg.servers.is_empty() {
            return Err("--etcd-servers must name at least one endpoint".into());
        }
        let tls = tls_config(cfg)?;
        let mut channels = Vec::new();
        for url in &cfg.servers {
            let mut ep = Endpoint::from_shared(url.clone())
                .map_err(|e| format!("invalid etcd server {url:?}: {e}"))?
                .connect_timeout(cfg.dial_timeout)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(10))
                .keep_alive_timeout(Duration::from_secs(5))
                .keep_alive_while_idle(true);
            if url.starts_with("https://") {
                let tls = tls.clone().unwrap_or_else(ClientTlsConfig::new);
                ep = ep
                    .tls_config(tls)
                    .map_err(|e| format!("etcd TLS for {url}: {e}"))?;
            } else if !url.starts_with("http://") {
                return Err(format!(
                    "invalid etcd server {url:?}: expected http:// or https://"
                ));
            }
            channels.push((url.clone(), ep.connect_lazy()));
        }
        Ok(Client {
            channels: Arc::new(channels),
            current: Arc::new(AtomicUsize::new(0)),
            timeout: cfg.request_timeout,
        })
    }

    fn channel(&self, offset: usize) -> (usize, Channel) {
        let i = (self.current.load(Ordering::Relaxed) + offset) % self.channels.len();
        (i, self.channels[i].1.clone())
    }

    async fn call_once<Req, Resp>(
        &self,
        channel: Channel,
        path: &'static str,
        req: Req,
    ) -> Result<Resp, Status>
    where
        Req: prost::Message + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = grpc(channel);
        let call = async {
            ready(&mut grpc).await?;
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            grpc.unary(Request::new(req), PathAndQuery::from_static(path), codec)
                .await
                .map(|r| r.into_inner())
        };
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(Status::deadline_exceeded("context deadline exceeded")),
        }
    }

    /// One call, moved to the next endpoint when this one is unreachable.
    async fn call<Req, Resp>(
        &self,
        path: &'static str,
        req: Req,
        write: bool,
    ) -> Result<Resp, Status>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let mut last = None;
        for offset in 0..self.channels.len() {
            let (i, ch) = self.channel(offset);
            match self.call_once(ch, path, req.clone()).await {
                Ok(r) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok(r);
                }
                Err(s) if (write && never_sent(&s)) || (!write && unreachable(&s)) => {
                    last = Some(s)
                }
                Err(s) => return Err(s),
            }
        }
        Err(last.unwrap_or_else(|| Status::unavailable("no etcd endpoint")))
    }

    pub async fn range(&self, req: RangeRequest) -> Result<RangeResponse, Status> {
        self.call("/etcdserverpb.KV/Range", req, false).await
    }

    pub async fn put(&self, req: PutRequest) -> Result<PutResponse, Status> {
        self.call("/etcdserverpb.KV/Put", req, true).await
    }

    pub async fn txn(&self, req: TxnRequest) -> Result<TxnResponse, Status> {
        self.call("/etcdserverpb.KV/Txn", req, true).await
    }

    pub async fn compact(&self, revision: i64) -> Result<CompactionResponse, Status> {
        let req = CompactionRequest {
            revision,
            physical: false,
        };
        self.call("/etcdserverpb.KV/Compact", req, true).await
    }

    pub async fn status(&self) -> Result<StatusResponse, Status> {
        self.call("/etcdserverpb.Maintenance/Status", StatusRequest {}, false)
            .await
    }

    /// Opens a watch stream: the sender takes further requests (progress
    /// requests), the stream yields responses until it fails or ends.
    pub async fn watch(
        &self,
        create: WatchCreateRequest,
    ) -> Result<(mpsc::Sender<WatchRequest>, tonic::Streaming<WatchResponse>), Status> {
        let mut last = None;
        for offset in 0..self.channels.len() {
            let (i, ch) = self.channel(offset);
            let (tx, rx) = mpsc::channel(16);
            let first = WatchRequest {
                request_union: Some(watch_request::RequestUnion::CreateRequest(create.clone())),
            };
            if tx.send(first).await.is_err() {
                return Err(Status::internal("watch request channel closed"));
            }
            let mut grpc = grpc(ch);
            let open = async {
                ready(&mut grpc).await?;
                let codec = tonic_prost::ProstCodec::<WatchRequest, WatchResponse>::default();
                let reqs = tokio_stream_from(rx);
                grpc.streaming(
                    Request::new(reqs),
                    PathAndQuery::from_static("/etcdserverpb.Watch/Watch"),
                    codec,
                )
                .await
                .map(|r| r.into_inner())
            };
            match tokio::time::timeout(self.timeout, open).await {
                Ok(Ok(stream)) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok((tx, stream));
                }
                Ok(Err(s)) if unreachable(&s) => last = Some(s),
                Ok(Err(s)) => return Err(s),
                Err(_) => last = Some(Status::deadline_exceeded("context deadline exceeded")),
            }
        }
        Err(last.unwrap_or_else(|| Status::unavailable("no etcd endpoint")))
    }

    /// Streams a snapshot of the endpoint's backend database.
    pub async fn snapshot(&self) -> Result<tonic::Streaming<SnapshotResponse>, Status> {
        let (_, ch) = self.channel(0);
        let mut grpc = grpc(ch);
        ready(&mut grpc).await?;
        let codec = tonic_prost::ProstCodec::<SnapshotRequest, SnapshotResponse>::default();
        grpc.server_streaming(
            Request::new(SnapshotRequest {}),
            PathAndQuery::from_static("/etcdserverpb.Maintenance/Snapshot"),
            codec,
        )
        .await
        .map(|r| r.into_inner())
    }
}

/// A gRPC client without tonic's 4 MiB bound on answers: a range over a
/// large prefix is bigger (etcd's own client allows up to 2 GiB).
fn grpc(ch: Channel) -> tonic::client::Grpc<Channel> {
    tonic::client::Grpc::new(ch)
        .max_decoding_message_size(i32::MAX as usize)
        .max_encoding_message_size(i32::MAX as usize)
}

/// Waits for a connection; failing to make one is `Unavailable` with
/// "connect" in its message (see [`never_sent`]).
async fn ready(grpc: &mut tonic::client::Grpc<Channel>) -> Result<(), Status> {
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("connect: {e}")))
}

fn tokio_stream_from(
    mut rx: mpsc::Receiver<WatchRequest>,
) -> impl futures::Stream<Item = WatchRequest> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn tls_config(cfg: &EtcdConfig) -> Result<Option<ClientTlsConfig>, String> {
    let read =
        |p: &PathBuf| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    if cfg.ca_file.is_none() && cfg.cert_file.is_none() && cfg.key_file.is_none() {
        return Ok(None);
    }
    let mut tls = ClientTlsConfig::new();
    if let Some(ca) = &cfg.ca_file {
        tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
    }
    match (&cfg.cert_file, &cfg.key_file) {
        (Some(c), Some(k)) => tls = tls.identity(Identity::from_pem(read(c)?, read(k)?)),
        (None, None) => {}
        _ => return Err("--etcd-certfile and --etcd-keyfile go together".into()),
    }
    Ok(Some(tls))
}

/// The end of the range of keys starting with `prefix` (etcd's
/// `clientv3.GetPrefixRangeEnd`).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte 0xff: the whole key space after it.
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/registry/"), b"/registry0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff"), vec![0]);
    }
}
