//! `ironkube serve`: wiring of storage, registry and HTTP; TLS; the data
//! directory (CA, serving certificate, admin token, kubeconfig); bootstrap
//! objects; graceful shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use serde_json::json;
use tokio::net::TcpListener;

use crate::apiserver::{self, AppState};
use crate::auth;
use crate::openapi::OpenApi;
use crate::registry::resources;
use crate::registry::store::{Store, WriteOptions};
use crate::storage::Storage;
use crate::storage::embedded::RedbLog;
use crate::storage::mvcc::{Config as MvccConfig, MvccStore};

/// Which storage backend to run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StorageKind {
    /// Durable, on disk in the data directory.
    Embedded,
    /// In memory only (for tests).
    Memory,
}

/// Everything `serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    pub storage: StorageKind,
    pub token_auth_file: Option<PathBuf>,
    /// Run the controllers (off for a bare API server).
    pub controllers: bool,
    /// The simulated nodes (used when controllers run).
    pub nodes: crate::controllers::nodesim::NodesConfig,
    /// Changes kept for watches and past-revision reads (older: 410 Expired).
    pub watch_history: usize,
    /// Most bytes of object data those changes may hold.
    pub watch_history_bytes: usize,
}

/// Files kept in the data directory.
pub struct DataDir {
    pub ca_cert_pem: String,
    ca_key: KeyPair,
    pub admin_token: String,
    /// Signs service-account tokens (`sa.key`).
    pub sa_key: Arc<auth::satokens::SigningKey>,
}

const ADMIN_USER: &str = "ironkube-admin";

fn ca_params() -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "ironkube-ca");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = rcgen::date_time_ymd(2024, 1, 1);
    p.not_after = rcgen::date_time_ymd(2124, 1, 1);
    Ok(p)
}

fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

impl DataDir {
    /// Loads the CA and admin token from `dir`, creating them on first start.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data dir {}", dir.display()))?;
        std::fs::read_dir(dir)
            .with_context(|| format!("cannot read data dir {}", dir.display()))?;
        let cert_path = dir.join("ca.crt");
        let key_path = dir.join("ca.key");
        let (ca_cert_pem, ca_key) = if cert_path.exists() && key_path.exists() {
            let cert = std::fs::read_to_string(&cert_path)
                .with_context(|| format!("cannot read {}", cert_path.display()))?;
            let key_pem = std::fs::read_to_string(&key_path)
                .with_context(|| format!("cannot read {}", key_path.display()))?;
            let key = KeyPair::from_pem(&key_pem)
                .with_context(|| format!("cannot parse {}", key_path.display()))?;
            (cert, key)
        } else {
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            write_private(&key_path, &key.serialize_pem())?;
            write_private(&cert_path, &cert.pem())?;
            (cert.pem(), key)
        };
        let token_path = dir.join("admin.token");
        let admin_token = match std::fs::read_to_string(&token_path) {
            Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => {
                let mut raw = [0u8; 32];
                rand::fill(&mut raw);
                let t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
                write_private(&token_path, &format!("{t}\n"))?;
                t
            }
        };
        let sa_path = dir.join("sa.key");
        let sa_key = match std::fs::read_to_string(&sa_path) {
            Ok(pem) => auth::satokens::SigningKey::from_pem(&pem)
                .map_err(|e| anyhow!("cannot parse {}: {e}", sa_path.display()))?,
            Err(_) => {
                let key = auth::satokens::SigningKey::generate().map_err(|e| anyhow!("{e}"))?;
                write_private(&sa_path, &key.to_pkcs8_pem())?;
                key
            }
        };
        Ok(DataDir {
            ca_cert_pem,
            ca_key,
            admin_token,
            sa_key: Arc::new(sa_key),
        })
    }

    /// A fresh serving certificate for `hosts`, signed by the CA.
    pub fn serving_cert(&self, hosts: &[String]) -> Result<(String, String)> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "ironkube-apiserver");
        params.distinguished_name = dn;
        let mut sans = Vec::new();
        for h in hosts {
            let h = h.trim_matches(|c| c == '[' || c == ']');
            let san = match h.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(h.to_string().try_into()?),
            };
            if !sans.contains(&san) {
                sans.push(san);
            }
        }
        params.subject_alt_names = sans;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2124, 1, 1);
        let key = KeyPair::generate()?;
        let issuer = Issuer::new(ca_params()?, &self.ca_key);
        let cert = params.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// The admin kubeconfig.
pub fn kubeconfig(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: ironkube\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {ADMIN_USER}\n  user:\n    token: {token}\ncontexts:\n- name: ironkube\n  context:\n    cluster: ironkube\n    user: {ADMIN_USER}\n    namespace: default\ncurrent-context: ironkube\npreferences: {{}}\n"
    )
}

fn tls_config(cert_pem: &str, key_pem: &str) -> Result<rustls::ServerConfig> {
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<_, _>>()?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())?
        .ok_or_else(|| anyhow!("no private key in serving key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Objects every cluster starts with: the four system namespaces.
pub async fn bootstrap(store: &Store) -> Result<()> {
    let ns = resources::by_key("namespaces").ok_or_else(|| anyhow!("namespaces not served"))?;
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        if store.get(ns, None, name).await.is_ok() {
            continue;
        }
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match store.create(ns, None, obj, &WriteOptions::default()).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => bail!("cannot create namespace {name}: {}", e.message),
        }
    }
    // The `kubernetes` service, as the apiserver's bootstrap controller keeps it.
    let svc = resources::by_key("services").ok_or_else(|| anyhow!("services not served"))?;
    if store.get(svc, Some("default"), "kubernetes").await.is_err() {
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": crate::registry::allocator::first_service_ip(),
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                     "sessionAffinity": "None", "type": "ClusterIP"},
        });
        match store
            .create(svc, Some("default"), obj, &WriteOptions::default())
            .await
        {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => bail!("cannot create the kubernetes service: {}", e.message),
        }
    }
    Ok(())
}

/// Re-creates the system namespaces (and the `kubernetes` service) if they
/// vanish, once a minute, as upstream's system namespaces controller
/// (`pkg/controlplane/controller/systemnamespaces`, 1 minute interval).
async fn keep_system_objects(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = bootstrap(&state.store).await {
            tracing::warn!("cannot re-create system objects: {e}");
        }
    }
}

/// A bootstrapped in-memory API with one admin token: what in-process
/// tests drive through [`apiserver::app`].
pub async fn memory_state(admin_token: &str) -> Result<Arc<AppState>> {
    memory_state_with(admin_token, MvccConfig::default()).await
}

/// [`memory_state`] with a given storage configuration (e.g. a tiny history
/// window, to see `410 Expired`).
pub async fn memory_state_with(admin_token: &str, config: MvccConfig) -> Result<Arc<AppState>> {
    let storage: Arc<dyn Storage> = Arc::new(MvccStore::open(
        crate::storage::mvcc::NoPersistence,
        config,
    )?);
    let openapi = Arc::new(OpenApi::load().map_err(|e| anyhow!("openapi data: {e}"))?);
    let store = Store::new(storage, openapi.clone());
    bootstrap(&store).await?;
    let mut authn = auth::Authenticator::new();
    authn.add(
        admin_token,
        auth::UserInfo {
            name: ADMIN_USER.into(),
            uid: String::new(),
            groups: vec!["system:masters".into()],
            ..Default::default()
        },
    );
    // The sender is dropped: the receiver keeps reporting "not shutting down".
    let (_tx, rx) = tokio::sync::watch::channel(false);
    Ok(Arc::new(AppState {
        store,
        auth: authn,
        sa_key: Arc::new(auth::satokens::SigningKey::generate().map_err(|e| anyhow!("{e}"))?),
        openapi,
        server_address: "127.0.0.1:6443".into(),
        shutdown: rx,
    }))
}

/// Opens the configured storage.
pub fn open_storage(cfg: &ServeConfig) -> Result<Arc<dyn Storage>> {
    let mvcc_config = MvccConfig {
        history: cfg.watch_history.max(1),
        history_bytes: cfg.watch_history_bytes,
        ..MvccConfig::default()
    };
    Ok(match cfg.storage {
        StorageKind::Memory => Arc::new(MvccStore::open(
            crate::storage::mvcc::NoPersistence,
            mvcc_config,
        )?),
        StorageKind::Embedded => {
            let path = cfg.data_dir.join("ironkube.redb");
            let log = RedbLog::open(&path).map_err(|e| {
                anyhow!(
                    "cannot open storage {}: {e} (is another ironkube using this data dir?)",
                    path.display()
                )
            })?;
            Arc::new(MvccStore::open(log, mvcc_config)?)
        }
    })
}

/// A running server, for tests and the CLI.
pub struct Running {
    pub addr: SocketAddr,
    pub kubeconfig_path: PathBuf,
    pub admin_token: String,
    pub ca_cert_pem: String,
    shutdown_tx: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    controllers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Graceful shutdown: stop accepting, end watches, let requests finish,
    /// close storage.
    pub async fn shutdown(self) {
        for c in &self.controllers {
            c.abort();
        }
        let _ = self.shutdown_tx.send(true);
        let _ = self.task.await;
    }
}

/// Starts the server and returns once it accepts requests and the
/// kubeconfig is written.
pub async fn start(cfg: ServeConfig) -> Result<Running> {
    let data = DataDir::open(&cfg.data_dir)?;
    let mut authn = auth::Authenticator::new();
    authn.add(
        &data.admin_token,
        auth::UserInfo {
            name: ADMIN_USER.into(),
            uid: String::new(),
            groups: vec!["system:masters".into()],
            ..Default::default()
        },
    );
    // The controllers' own identity, valid for this process only.
    let controller_token = {
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    };
    authn.add(
        &controller_token,
        auth::UserInfo {
            name: "system:kube-controller-manager".into(),
            uid: String::new(),
            groups: vec![],
            ..Default::default()
        },
    );
    if let Some(path) = &cfg.token_auth_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read token auth file {}", path.display()))?;
        authn
            .load_token_file(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let storage = open_storage(&cfg)?;
    let openapi = Arc::new(OpenApi::load().map_err(|e| anyhow!("openapi data: {e}"))?);
    let store = Store::new(storage.clone(), openapi.clone());
    bootstrap(&store).await?;

    let listen_host = cfg
        .listen
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or_else(|| "127.0.0.1".into());
    let mut hosts = vec![
        "127.0.0.1".to_string(),
        "::1".to_string(),
        "localhost".to_string(),
    ];
    if !listen_host.is_empty() && listen_host != "0.0.0.0" && listen_host != "[::]" {
        hosts.push(listen_host.clone());
    }
    let (cert, key) = data.serving_cert(&hosts)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(&cert, &key)?));
    let url_host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let server_address = format!("{url_host}:{}", addr.port());
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState {
        store,
        auth: authn,
        sa_key: data.sa_key.clone(),
        openapi,
        server_address: server_address.clone(),
        shutdown: shutdown_rx.clone(),
    });
    // Upstream's system namespaces controller (and the bootstrap
    // controller's `kubernetes` service) in the API server itself.
    let system_objects = tokio::spawn(keep_system_objects(state.clone()));
    let router = apiserver::app(state);
    let mut controllers = if cfg.controllers {
        crate::controllers::start(
            router.clone(),
            &controller_token,
            crate::controllers::Config {
                ca_cert_pem: data.ca_cert_pem.clone(),
                nodes: cfg.nodes.clone(),
                sa_key: data.sa_key.clone(),
            },
        )
    } else {
        Vec::new()
    };
    controllers.push(system_objects);
    let task = tokio::spawn(serve_loop(listener, acceptor, router, shutdown_rx, storage));

    let url = format!("https://{server_address}");
    let kubeconfig_path = cfg.data_dir.join("admin.kubeconfig");
    write_private(
        &kubeconfig_path,
        &kubeconfig(&url, &data.ca_cert_pem, &data.admin_token),
    )?;
    Ok(Running {
        addr,
        kubeconfig_path,
        admin_token: data.admin_token.clone(),
        ca_cert_pem: data.ca_cert_pem.clone(),
        shutdown_tx,
        task,
        controllers,
    })
}

async fn serve_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    storage: Arc<dyn Storage>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _peer)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                let acceptor = acceptor.clone();
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await else {
                        return;
                    };
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                });
            }
            _ = shutdown.wait_for(|s| *s) => break,
        }
    }
    drop(listener);
    // Watches end on the shutdown signal; other requests get time to finish.
    let _ = tokio::time::timeout(Duration::from_secs(15), graceful.shutdown()).await;
    storage.close().await;
}

/// Runs until SIGTERM or SIGINT.
pub async fn run(cfg: ServeConfig) -> Result<()> {
    let started = std::time::Instant::now();
    let running = start(cfg).await?;
    tracing::info!(
        "ironkube is serving at https://{} (ready in {:?}); kubeconfig: {}",
        running.addr,
        started.elapsed(),
        running.kubeconfig_path.display()
    );
    wait_for_signal().await;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {},
            _ = tokio::signal::ctrl_c() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
