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
    /// In etcd (`--etcd-servers`), shared by every replica serving it.
    Etcd,
}

/// Everything `serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: String,
    pub data_dir: PathBuf,
    pub storage: StorageKind,
    /// Where etcd is, for `--storage etcd`.
    pub etcd: crate::storage::etcd::EtcdConfig,
    /// Leader election of the controllers, scheduler and simulated nodes.
    pub leader_election: crate::controllers::shared::leader::Config,
    pub token_auth_file: Option<PathBuf>,
    /// PEM bundle of the CAs client certificates are verified against
    /// (`--client-ca-file`); none: client certificates are not requested.
    pub client_ca_file: Option<PathBuf>,
    /// `--authorization-mode`: the authorizers, tried in order.
    pub authorization_modes: Vec<auth::authorizer::Mode>,
    /// Serve requests without credentials as `system:anonymous`.
    pub anonymous_auth: bool,
    /// Run the controllers (off for a bare API server).
    pub controllers: bool,
    /// The simulated nodes (used when controllers run).
    pub nodes: crate::controllers::nodesim::NodesConfig,
    /// Changes kept for watches and past-revision reads (older: 410 Expired).
    pub watch_history: usize,
    /// Most bytes of object data those changes may hold.
    pub watch_history_bytes: usize,
    /// Request timeout and in-flight limits.
    pub limits: apiserver::filters::Limits,
    /// How long connections may take over their headers or stay idle.
    pub conn: ConnLimits,
}

/// Bounds on a connection, as upstream's `http.Server` settings
/// (`k8s.io/apiserver/pkg/server/secure_serving.go`).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// An HTTP/1 request's headers must arrive within this (upstream's
    /// `ReadHeaderTimeout`, 32 s).
    pub header_read_timeout: Duration,
    /// A connection with no request in progress is closed after this
    /// (upstream's `IdleTimeout`, 90 s), HTTP/1 keep-alive and HTTP/2 alike;
    /// this also closes a connection that never sends a whole request.
    pub idle_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(32),
            idle_timeout: Duration::from_secs(90),
        }
    }
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

/// Creates the data directory (0700: it holds the CA key, the admin token
/// and every Secret), or checks an existing one: a directory that group or
/// other users can write is refused, since they could replace its files.
fn create_private_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create data dir {}", dir.display()))?;
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("cannot read data dir {}", dir.display()))?
            .permissions()
            .mode();
        if mode & 0o022 != 0 {
            bail!(
                "data dir {} is writable by {} (mode {:04o}); it holds the CA key, tokens and \
                 every Secret: make it private with `chmod 700 {}`",
                dir.display(),
                if mode & 0o002 != 0 {
                    "all users"
                } else {
                    "its group"
                },
                mode & 0o7777,
                dir.display()
            );
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    Ok(())
}

/// Creates `path` readable by its owner only (0600) if it does not exist,
/// and takes group and other access away if it does: the database holds
/// every Secret.
fn make_private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mode = f.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))
                .with_context(|| format!("cannot make {} private", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl DataDir {
    /// Loads the CA and admin token from `dir`, creating them on first start.
    pub fn open(dir: &Path) -> Result<Self> {
        create_private_dir(dir)?;
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

fn tls_config(
    cert_pem: &str,
    key_pem: &str,
    client_ca: Option<&auth::x509::ClientCa>,
) -> Result<rustls::ServerConfig> {
    let certs: Vec<_> =
        rustls_pemfile::certs(&mut cert_pem.as_bytes()).collect::<Result<_, _>>()?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_bytes())?
        .ok_or_else(|| anyhow!("no private key in serving key"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => builder.with_client_cert_verifier(ca.tls_verifier()),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(certs, key)?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Objects every cluster starts with: the four system namespaces.
pub async fn bootstrap(store: &Store) -> Result<()> {
    let ns = store
        .registry()
        .by_key("namespaces")
        .ok_or_else(|| anyhow!("namespaces not served"))?;
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        if store.get(&ns, None, name).await.is_ok() {
            continue;
        }
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match store.create(&ns, None, obj, &WriteOptions::default()).await {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            Err(e) => bail!("cannot create namespace {name}: {}", e.message),
        }
    }
    // The `kubernetes` service, as the apiserver's bootstrap controller keeps it.
    let svc = store
        .registry()
        .by_key("services")
        .ok_or_else(|| anyhow!("services not served"))?;
    if store
        .get(&svc, Some("default"), "kubernetes")
        .await
        .is_err()
    {
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": crate::registry::allocator::first_service_ip(),
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                     "sessionAffinity": "None", "type": "ClusterIP"},
        });
        match store
            .create(&svc, Some("default"), obj, &WriteOptions::default())
            .await
        {
            Ok(_) => {}
            Err(e) if e.code == 409 => {}
            // Another replica starting at the same moment made it (and
            // holds its address): nothing to do.
            Err(_) if store.get(&svc, Some("default"), "kubernetes").await.is_ok() => {}
            Err(e) => bail!("cannot create the kubernetes service: {}", e.message),
        }
    }
    Ok(())
}

/// The system PriorityClasses, created if missing at start, as upstream's
/// `scheduling/bootstrap-system-priority-classes` post-start hook
/// (`pkg/registry/scheduling/rest/storage_scheduling.go`) does; they cannot
/// be deleted afterwards (`registry::admission`).
pub async fn bootstrap_priority_classes(store: &Store) -> Result<()> {
    use crate::registry::validation::policy::SYSTEM_PRIORITY_CLASSES;
    let Some(pc) = store.registry().by_key("scheduling.k8s.io/priorityclasses") else {
        return Ok(());
    };
    for (name, value, description) in SYSTEM_PRIORITY_CLASSES {
        if store.get(&pc, None, name).await.is_ok() {
            continue;
        }
        let obj = json!({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": name}, "value": value, "description": description,
        });
        match store.create(&pc, None, obj, &WriteOptions::default()).await {
            Ok(_) => {}
            // Another replica starting at the same moment made it.
            Err(e) if e.code == 409 => {}
            Err(e) => bail!("cannot create PriorityClass {name}: {}", e.message),
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
    bootstrap_priority_classes(&store).await?;
    crate::auth::bootstrap_policy::ensure(&store).await?;
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
    let (authorizer, policy) = start_authorizer(
        &store,
        vec![auth::authorizer::Mode::Node, auth::authorizer::Mode::Rbac],
    )
    .await?;
    // The sender is dropped: the receiver keeps reporting "not shutting down".
    let (_tx, rx) = tokio::sync::watch::channel(false);
    Ok(Arc::new(AppState {
        store,
        auth: authn,
        anonymous: true,
        authorizer,
        policy,
        sa_key: Arc::new(auth::satokens::SigningKey::generate().map_err(|e| anyhow!("{e}"))?),
        openapi,
        server_address: "127.0.0.1:6443".into(),
        shutdown: rx,
    }))
}

/// The authorizer chain, its RBAC policy loaded and a task keeping it
/// current (it ends when the store closes).
async fn start_authorizer(
    store: &Store,
    modes: Vec<auth::authorizer::Mode>,
) -> Result<(
    Arc<auth::authorizer::Authorizer>,
    Arc<apiserver::authz::PolicyFeed>,
)> {
    let authorizer = Arc::new(auth::authorizer::Authorizer::new(modes));
    let feed = apiserver::authz::PolicyFeed::new(authorizer.clone(), store.storage().clone());
    let from = feed
        .load()
        .await
        .map_err(|e| anyhow!("cannot load the RBAC policy: {e}"))?;
    tokio::spawn(feed.clone().run(from));
    Ok((authorizer, feed))
}

/// Opens the configured storage.
pub async fn open_storage(cfg: &ServeConfig) -> Result<Arc<dyn Storage>> {
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
            make_private_file(&path)?;
            let log = RedbLog::open(&path).map_err(|e| {
                anyhow!(
                    "cannot open storage {}: {e} (is another ironkube using this data dir?)",
                    path.display()
                )
            })?;
            let moved = log.migrate_keys(
                crate::storage::embedded::LAYOUT,
                crate::registry::served::upstream_key_from_v1,
            )?;
            if moved > 0 {
                tracing::info!(moved, "storage keys moved to upstream's etcd layout");
            }
            Arc::new(MvccStore::open(log, mvcc_config)?)
        }
        StorageKind::Etcd => {
            let servers = cfg.etcd.servers.join(",");
            // Upstream's apiserver gives up on an etcd it cannot reach at start.
            let store = crate::storage::etcd::EtcdStore::open(
                cfg.etcd.clone(),
                mvcc_config,
                Duration::from_secs(20),
            )
            .await
            .map_err(|e| anyhow!("cannot reach etcd at {servers}: {e}"))?;
            Arc::new(store)
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
    /// Leader-election campaigns: told to stop, they release their Leases.
    electors: Vec<tokio::task::JoinHandle<()>>,
    electors_stop: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// Graceful shutdown: stop accepting, end watches, let requests finish,
    /// close storage.
    pub async fn shutdown(self) {
        for c in &self.controllers {
            c.abort();
        }
        let _ = self.electors_stop.send(true);
        for e in self.electors {
            let abort = e.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), e)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        let _ = self.shutdown_tx.send(true);
        let _ = self.task.await;
    }
}

/// Where replicas sharing one etcd keep the cluster's identity.
const IDENTITY_KEY: &str = "/registry/ironkube.io/cluster-identity";

/// The files of the data dir that make a cluster's identity.
const IDENTITY_FILES: [(&str, &str); 4] = [
    ("caCrt", "ca.crt"),
    ("caKey", "ca.key"),
    ("adminToken", "admin.token"),
    ("serviceAccountKey", "sa.key"),
];

/// Replicas on one etcd are one cluster: one CA (each replica's serving
/// certificate is signed by it), one admin token and one service-account
/// signing key, as upstream's apiservers share `--client-ca-file` and
/// `--service-account-key-file`. The first replica to start stores its own
/// in etcd; the others adopt them, rewriting their data dir's files. True
/// if the files were replaced.
async fn share_identity(storage: &dyn Storage, dir: &Path) -> Result<bool> {
    let mut mine = serde_json::Map::new();
    for (field, file) in IDENTITY_FILES {
        let text = std::fs::read_to_string(dir.join(file))
            .with_context(|| format!("cannot read {file}"))?;
        mine.insert(field.into(), serde_json::Value::String(text));
    }
    let body = bytes::Bytes::from(serde_json::Value::Object(mine.clone()).to_string());
    let stored = match storage.create(IDENTITY_KEY, body).await {
        Ok(_) => return Ok(false),
        Err(crate::storage::StorageError::AlreadyExists(_)) => storage
            .get(IDENTITY_KEY)
            .await
            .map_err(|e| anyhow!("cannot read the cluster identity: {e}"))?
            .ok_or_else(|| anyhow!("the cluster identity vanished"))?,
        Err(e) => return Err(anyhow!("cannot store the cluster identity: {e}")),
    };
    let theirs: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&stored.value)
        .map_err(|e| anyhow!("the stored cluster identity is not JSON: {e}"))?;
    if theirs == mine {
        return Ok(false);
    }
    for (field, file) in IDENTITY_FILES {
        let text = theirs
            .get(field)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| anyhow!("the stored cluster identity has no {field}"))?;
        write_private(&dir.join(file), text)?;
    }
    tracing::info!(
        "joined the cluster stored in etcd: its CA, admin token and service-account key"
    );
    Ok(true)
}

/// Starts the server and returns once it accepts requests and the
/// kubeconfig is written.
pub async fn start(cfg: ServeConfig) -> Result<Running> {
    let mut data = DataDir::open(&cfg.data_dir)?;
    let storage = open_storage(&cfg).await?;
    if cfg.storage == StorageKind::Etcd && share_identity(storage.as_ref(), &cfg.data_dir).await? {
        data = DataDir::open(&cfg.data_dir)?;
    }
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
    if let Some(path) = &cfg.token_auth_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read token auth file {}", path.display()))?;
        authn
            .load_token_file(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    let client_ca = match &cfg.client_ca_file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read client CA file {}", path.display()))?;
            let ca = auth::x509::ClientCa::from_pem(&pem)
                .map_err(|e| anyhow!("client CA file {}: {e}", path.display()))?;
            Some(Arc::new(ca))
        }
        None => None,
    };
    let listener = TcpListener::bind(&cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let openapi = Arc::new(OpenApi::load().map_err(|e| anyhow!("openapi data: {e}"))?);
    let store = Store::new(storage.clone(), openapi.clone());
    bootstrap(&store).await?;
    bootstrap_priority_classes(&store).await?;
    // Upstream's bootstrap RBAC policy, reconciled at start only (as its
    // `rbac/bootstrap-roles` post-start hook), not by `keep_system_objects`.
    crate::auth::bootstrap_policy::ensure(&store).await?;
    // Stored CRDs are served before the first request.
    crate::apiextensions::controller::install_stored(&store).await?;

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
    let tls = Tls {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls_config(
            &cert,
            &key,
            client_ca.as_deref(),
        )?)),
        client_ca,
    };
    let url_host = match addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    let server_address = format!("{url_host}:{}", addr.port());
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    let (authorizer, policy) = start_authorizer(&store, cfg.authorization_modes.clone()).await?;
    let state = Arc::new(AppState {
        store,
        auth: authn,
        anonymous: cfg.anonymous_auth,
        authorizer,
        policy,
        sa_key: data.sa_key.clone(),
        openapi,
        server_address: server_address.clone(),
        shutdown: shutdown_rx.clone(),
    });
    // Upstream's system namespaces controller (and the bootstrap
    // controller's `kubernetes` service) in the API server itself.
    let system_objects = tokio::spawn(keep_system_objects(state.clone()));
    let router = apiserver::app_with(state.clone(), cfg.limits.clone());
    // The apiextensions-apiserver's controllers are part of the API server.
    let crd_controller = tokio::spawn(crate::apiextensions::controller::run(
        crate::controllers::in_process_client_as(
            router.clone(),
            crate::controllers::identity::apiserver(),
            "apiextensions-apiserver",
        ),
        state,
    ));
    let controller_config = crate::controllers::Config {
        ca_cert_pem: data.ca_cert_pem.clone(),
        nodes: cfg.nodes.clone(),
        sa_key: data.sa_key.clone(),
    };
    // With etcd several replicas may serve one cluster: the controllers
    // (with the simulated nodes) and the scheduler run where the
    // kube-controller-manager and kube-scheduler Leases are held. Embedded
    // and memory storage belong to one process, which simply runs them.
    let elect = cfg.leader_election.enabled && cfg.storage == StorageKind::Etcd;
    let mut electors = Vec::new();
    // Campaigns end (and release their Leases) before the server stops
    // serving, so the release still reaches storage.
    let (electors_stop, electors_rx) = tokio::sync::watch::channel(false);
    let mut controllers = Vec::new();
    if cfg.controllers && elect {
        use crate::controllers::{identity, in_process_client_as, shared::leader};
        let id = leader::identity(&cfg.data_dir);
        let (r1, c1, r2) = (router.clone(), controller_config.clone(), router.clone());
        electors.push(leader::campaign(
            in_process_client_as(
                router.clone(),
                identity::controller_manager(),
                "kube-controller-manager/leader-election",
            ),
            "kube-controller-manager",
            &id,
            cfg.leader_election,
            move || crate::controllers::start(r1.clone(), c1.clone(), false),
            electors_rx.clone(),
        ));
        electors.push(leader::campaign(
            in_process_client_as(
                router.clone(),
                identity::scheduler(),
                "kube-scheduler/leader-election",
            ),
            "kube-scheduler",
            &id,
            cfg.leader_election,
            move || crate::controllers::start_scheduler(r2.clone()),
            electors_rx.clone(),
        ));
    } else if cfg.controllers {
        controllers = crate::controllers::start(router.clone(), controller_config, true);
    }
    controllers.push(system_objects);
    controllers.push(crd_controller);
    let task = tokio::spawn(serve_loop(
        listener,
        tls,
        router,
        shutdown_rx,
        storage,
        cfg.conn,
        cfg.limits.request_timeout,
    ));

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
        electors,
        electors_stop,
    })
}

/// The TLS side of every connection.
#[derive(Clone)]
struct Tls {
    acceptor: tokio_rustls::TlsAcceptor,
    /// Client certificates are verified against this, once per connection.
    client_ca: Option<Arc<auth::x509::ClientCa>>,
}

async fn serve_loop(
    listener: TcpListener,
    tls: Tls,
    router: axum::Router,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    storage: Arc<dyn Storage>,
    limits: ConnLimits,
    drain_timeout: Duration,
) {
    // Each connection task holds a clone; `recv` ends once all are gone.
    let (conns_tx, mut conns_rx) = tokio::sync::mpsc::channel::<()>(1);
    let mut backoff = AcceptBackoff::default();
    let conn_shutdown = shutdown.clone();
    loop {
        tokio::select! {
            tcp = accept_with_backoff(|| listener.accept(), &mut backoff) => {
                let _ = tcp.set_nodelay(true);
                let conn = Connection {
                    tls: tls.clone(),
                    router: router.clone(),
                    shutdown: conn_shutdown.clone(),
                    limits,
                    _alive: conns_tx.clone(),
                };
                tokio::spawn(conn.serve(tcp));
            }
            _ = shutdown.wait_for(|s| *s) => break,
        }
    }
    drop(listener);
    drop(conns_tx);
    // Watches end on the shutdown signal; other requests get time to finish,
    // at most their own timeout (upstream waits for non-long-running
    // requests, which its request timeout bounds).
    let _ = tokio::time::timeout(drain_timeout, conns_rx.recv()).await;
    storage.close().await;
}

/// `accept()` with Go's `net/http` back-off: after a failure (out of file
/// descriptors, say) wait 5 ms, doubling up to 1 s, instead of spinning;
/// reset on success.
#[derive(Debug, Default)]
pub struct AcceptBackoff {
    delay: Option<Duration>,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    /// The wait after one more failure.
    pub fn failed(&mut self) -> Duration {
        let d = match self.delay {
            None => Self::FIRST,
            Some(d) => (d * 2).min(Self::MAX),
        };
        self.delay = Some(d);
        d
    }

    pub fn succeeded(&mut self) {
        self.delay = None;
    }
}

/// Accepts one connection, backing off on errors.
pub async fn accept_with_backoff<T, A, F>(mut accept: F, backoff: &mut AcceptBackoff) -> T
where
    F: FnMut() -> A,
    A: std::future::Future<Output = std::io::Result<(T, SocketAddr)>>,
{
    loop {
        match accept().await {
            Ok((conn, _)) => {
                backoff.succeeded();
                return conn;
            }
            Err(e) => {
                let wait = backoff.failed();
                tracing::warn!("accept error: {e}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One client connection.
struct Connection {
    tls: Tls,
    router: axum::Router,
    shutdown: tokio::sync::watch::Receiver<bool>,
    limits: ConnLimits,
    _alive: tokio::sync::mpsc::Sender<()>,
}

/// Requests in progress on a connection, and since when it has been idle.
#[derive(Default)]
struct Activity {
    active: std::sync::atomic::AtomicUsize,
    idle_since: std::sync::Mutex<Option<std::time::Instant>>,
}

/// Counts one request as in progress until dropped (with its response body).
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: &Arc<Activity>) -> Self {
        a.active.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Busy(a.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Ok(mut t) = self.0.idle_since.lock() {
            *t = Some(std::time::Instant::now());
        }
        self.0
            .active
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Activity {
    /// How long no request has been in progress (zero while one is).
    fn idle_for(&self, opened: std::time::Instant) -> Duration {
        if self.active.load(std::sync::atomic::Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let since = self
            .idle_since
            .lock()
            .ok()
            .and_then(|t| *t)
            .unwrap_or(opened);
        since.elapsed()
    }
}

impl Connection {
    async fn serve(mut self, tcp: tokio::net::TcpStream) {
        let opened = std::time::Instant::now();
        let handshake = self.tls.acceptor.accept(tcp);
        let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), handshake).await else {
            return;
        };
        // Who the client certificate names, for each request to see.
        let peer = match (&self.tls.client_ca, tls.get_ref().1.peer_certificates()) {
            (Some(ca), Some(chain)) => ca.authenticate(chain),
            _ => None,
        };
        let activity = Arc::new(Activity::default());
        let router = self.router.clone();
        let tracked = activity.clone();
        let service = tower::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
            let busy = Busy::new(&tracked);
            let router = router.clone();
            if let Some(p) = &peer {
                req.extensions_mut().insert(p.clone());
            }
            async move {
                use tower::ServiceExt;
                let resp = router.oneshot(req.map(axum::body::Body::new)).await?;
                // The request stays in progress until its body is sent.
                Ok::<_, std::convert::Infallible>(resp.map(|b| {
                    use http_body_util::BodyExt;
                    axum::body::Body::new(b.map_frame(move |f| {
                        let _ = &busy;
                        f
                    }))
                }))
            }
        });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.limits.header_read_timeout);
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            // Dead peers are found by ping, as Go's HTTP/2 server does.
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(15));
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
        tokio::pin!(conn);
        let idle = self.limits.idle_timeout;
        let mut tick = tokio::time::interval((idle / 4).max(Duration::from_millis(10)));
        let mut closing = false;
        loop {
            tokio::select! {
                _ = conn.as_mut() => break,
                _ = self.shutdown.wait_for(|s| *s), if !closing => {
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
                _ = tick.tick(), if !closing => {
                    if activity.idle_for(opened) >= idle {
                        conn.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
        }
    }
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
    // A second signal stops waiting for requests to finish.
    tokio::select! {
        _ = running.shutdown() => {}
        _ = wait_for_signal() => tracing::warn!("second signal: exiting without waiting"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backoff_doubles_from_5ms_to_1s_and_resets() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_accept_backs_off_instead_of_spinning() {
        // An accept that fails with EMFILE four times, then succeeds.
        let mut calls = 0;
        let mut backoff = AcceptBackoff::default();
        let started = tokio::time::Instant::now();
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let got = accept_with_backoff(
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n <= 4 {
                        Err(std::io::Error::from_raw_os_error(libc::EMFILE))
                    } else {
                        Ok((n, addr))
                    }
                }
            },
            &mut backoff,
        )
        .await;
        assert_eq!(got, 5);
        // 5 + 10 + 20 + 40 ms of (paused, so exact) waiting, not a spin.
        assert_eq!(started.elapsed(), Duration::from_millis(75));
        // The success reset the back-off.
        assert_eq!(backoff.failed(), Duration::from_millis(5));
    }

    #[cfg(unix)]
    #[test]
    fn data_dir_and_database_are_private_and_a_shared_dir_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("data");
        DataDir::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("ca.key")), 0o600);
        assert_eq!(mode(&dir.join("admin.token")), 0o600);
        assert_eq!(mode(&dir.join("sa.key")), 0o600);

        let cfg = ServeConfig {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.clone(),
            storage: StorageKind::Embedded,
            etcd: Default::default(),
            leader_election: Default::default(),
            token_auth_file: None,
            client_ca_file: None,
            authorization_modes: vec![auth::authorizer::Mode::Node, auth::authorizer::Mode::Rbac],
            anonymous_auth: true,
            controllers: false,
            nodes: crate::controllers::nodesim::NodesConfig {
                count: 0,
                sim: Default::default(),
                lifecycle: Default::default(),
            },
            watch_history: 10,
            watch_history_bytes: 1 << 20,
            limits: Default::default(),
            conn: Default::default(),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let storage = rt.block_on(open_storage(&cfg)).unwrap();
        rt.block_on(storage.close());
        drop(storage);
        assert_eq!(mode(&dir.join("ironkube.redb")), 0o600);
        // A database left readable by an older version is made private.
        std::fs::set_permissions(
            dir.join("ironkube.redb"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let storage = rt.block_on(open_storage(&cfg)).unwrap();
        rt.block_on(storage.close());
        drop(storage);
        assert_eq!(mode(&dir.join("ironkube.redb")), 0o600);

        // An existing 0755 dir is fine (nobody else can write it) ...
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(DataDir::open(&dir).is_ok());
        // ... one that group or others can write is refused, saying why.
        for (m, who) in [(0o775, "its group"), (0o777, "all users")] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(m)).unwrap();
            let e = DataDir::open(&dir).err().expect("refused").to_string();
            assert!(
                e.contains(&format!("is writable by {who} (mode 0{m:o})"))
                    && e.contains("chmod 700"),
                "{e}"
            );
        }
    }
}
