//! The `ironkube` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ironkube::apiserver::filters::Limits;
use ironkube::controllers::nodelifecycle::logic::LifecycleConfig;
use ironkube::controllers::nodesim::logic::parse_go_duration;
use ironkube::controllers::nodesim::{NodesConfig, SimConfig};
use ironkube::server::{self, ConnLimits, ServeConfig, StorageKind};

fn duration(s: &str) -> Result<chrono::TimeDelta, String> {
    parse_go_duration(s).ok_or_else(|| format!("invalid duration {s:?} (use e.g. 0s, 500ms, 2s)"))
}

/// A positive Go duration as a `std` one (for timeouts).
fn timeout(s: &str) -> Result<std::time::Duration, String> {
    duration(s)?
        .to_std()
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("invalid timeout {s:?}: must be positive"))
}

/// A size in bytes: a number with an optional `Ki`, `Mi` or `Gi` suffix.
fn byte_size(s: &str) -> Result<usize, String> {
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let shift = match unit {
        "" => 0,
        "Ki" => 10,
        "Mi" => 20,
        "Gi" => 30,
        _ => return Err(format!("invalid size {s:?} (use e.g. 64Mi, 1Gi, 1048576)")),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("invalid size {s:?} (use e.g. 64Mi, 1Gi, 1048576)"))
}

#[derive(Parser)]
#[command(
    name = "ironkube",
    version,
    about = "A Kubernetes control plane in one small binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the Kubernetes API server.
    Serve {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:6443")]
        listen: String,
        /// Directory for data, certificates and the admin kubeconfig.
        #[arg(long, default_value = "./ironkube-data")]
        data_dir: PathBuf,
        /// Storage backend.
        #[arg(long, value_enum, default_value_t = StorageKind::Embedded)]
        storage: StorageKind,
        /// etcd endpoints for `--storage etcd` (comma-separated URLs).
        #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:2379")]
        etcd_servers: Vec<String>,
        /// The etcd key prefix everything is stored under.
        #[arg(long, default_value = "/registry")]
        etcd_prefix: String,
        /// CA bundle (PEM) verifying etcd's serving certificate.
        #[arg(long)]
        etcd_cafile: Option<PathBuf>,
        /// Client certificate (PEM) presented to etcd.
        #[arg(long)]
        etcd_certfile: Option<PathBuf>,
        /// Key (PEM) of `--etcd-certfile`.
        #[arg(long)]
        etcd_keyfile: Option<PathBuf>,
        /// How often etcd's old revisions are compacted (0s: never).
        #[arg(long, default_value = "5m", value_parser = duration)]
        etcd_compaction_interval: chrono::TimeDelta,
        /// Run the controllers, scheduler and simulated nodes only while
        /// this replica holds the `kube-system/kube-controller-manager` and
        /// `kube-system/kube-scheduler` Leases (needed when several replicas
        /// serve one etcd).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        leader_elect: bool,
        /// How long a leader's Lease holds without renewal before another
        /// replica may take it.
        #[arg(long, default_value = "15s", value_parser = timeout)]
        leader_elect_lease_duration: std::time::Duration,
        /// How long a leader keeps trying to renew before it steps down.
        #[arg(long, default_value = "10s", value_parser = timeout)]
        leader_elect_renew_deadline: std::time::Duration,
        /// How often candidates try to acquire, and leaders renew.
        #[arg(long, default_value = "2s", value_parser = timeout)]
        leader_elect_retry_period: std::time::Duration,
        /// Static token file (kube-apiserver's CSV format: token,user,uid,"group1,group2").
        #[arg(long)]
        token_auth_file: Option<PathBuf>,
        /// CA bundle (PEM) for client certificates: a client certificate
        /// signed by one of these CAs authenticates as its subject's
        /// CommonName, with its Organizations as groups. Unset: client
        /// certificates are not requested.
        #[arg(long)]
        client_ca_file: Option<PathBuf>,
        /// Authorizers, tried in order (upstream's union): RBAC, Node,
        /// AlwaysAllow, AlwaysDeny. `Node` gives a simulated node
        /// (`system:node:<name>`) what the `system:node` role allows.
        #[arg(long, default_value = "Node,RBAC", value_parser = authorization_modes)]
        authorization_mode: ironkube::auth::authorizer::ModeList,
        /// Serve requests without credentials as `system:anonymous` (group
        /// `system:unauthenticated`), allowed what RBAC allows them; `false`
        /// answers them 401.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        anonymous_auth: bool,
        /// Run without controllers, scheduler and simulated nodes (a bare API server).
        #[arg(long)]
        disable_controllers: bool,
        /// Number of simulated nodes (0 for none).
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Simulated kubelet: from scheduling to `ContainerCreating` (Go duration, e.g. 0s, 500ms).
        #[arg(long, default_value = "0s", value_parser = duration)]
        pod_start_delay: chrono::TimeDelta,
        /// Simulated kubelet: from `ContainerCreating` to Running and Ready.
        #[arg(long, default_value = "1s", value_parser = duration)]
        pod_ready_delay: chrono::TimeDelta,
        /// Simulated kubelet: longest graceful-termination wait of a deleted pod.
        #[arg(long, default_value = "1s", value_parser = duration)]
        pod_delete_delay: chrono::TimeDelta,
        /// Node lifecycle: how long a node may go without a heartbeat (Ready
        /// condition or Lease renewal) before it is marked Unknown.
        #[arg(long, default_value = "50s", value_parser = duration)]
        node_monitor_grace_period: chrono::TimeDelta,
        /// Node lifecycle: the same for a node that never posted its status.
        #[arg(long, default_value = "1m", value_parser = duration)]
        node_startup_grace_period: chrono::TimeDelta,
        /// Changes kept for watches and consistent paging; older resourceVersions get 410 Expired.
        #[arg(long, default_value_t = 100_000)]
        watch_history: usize,
        /// Most bytes of object data those changes may hold (the oldest go
        /// first, but the last 1000 changes are always kept).
        #[arg(long, default_value = "16Mi", value_parser = byte_size)]
        watch_history_bytes: usize,
        /// Longest time a request other than a watch may take, reading its
        /// body included; then 504 (Go duration).
        #[arg(long, default_value = "60s", value_parser = timeout)]
        request_timeout: std::time::Duration,
        /// Most reads (get, list) in progress at once; more get 429 (0: no limit).
        /// Watches are not counted; system:masters and the controllers are never refused.
        #[arg(long, default_value_t = 400)]
        max_requests_inflight: usize,
        /// Most writes in progress at once; more get 429 (0: no limit).
        #[arg(long, default_value_t = 200)]
        max_mutating_requests_inflight: usize,
        /// An HTTP/1 request's headers must arrive within this (upstream: 32s, fixed).
        #[arg(long, default_value = "32s", value_parser = timeout, hide = true)]
        read_header_timeout: std::time::Duration,
        /// A connection with no request in progress is closed after this (upstream: 90s, fixed).
        #[arg(long, default_value = "90s", value_parser = timeout, hide = true)]
        idle_connection_timeout: std::time::Duration,
    },
    /// Load-test any Kubernetes API server reached through a kubeconfig.
    Bench(ironkube::bench::BenchArgs),
    /// Back up a running cluster to one file, or make a data directory from one.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

#[derive(Subcommand)]
enum SnapshotCommand {
    /// Save every object of the server the kubeconfig points at (any
    /// storage) to FILE, an embedded store at one revision.
    Save {
        file: PathBuf,
        /// Admin kubeconfig of the server (system:masters).
        #[arg(long, default_value = "./ironkube-data/admin.kubeconfig")]
        kubeconfig: PathBuf,
    },
    /// Make a new data directory whose store is FILE (then `serve --data-dir` it).
    Restore {
        file: PathBuf,
        /// The data directory to create (it must hold no store yet).
        #[arg(long, default_value = "./ironkube-data")]
        data_dir: PathBuf,
    },
}

/// `--authorization-mode`, as one comma-separated list.
fn authorization_modes(s: &str) -> Result<ironkube::auth::authorizer::ModeList, String> {
    ironkube::auth::authorizer::Mode::parse_list(s).map(ironkube::auth::authorizer::ModeList)
}

fn main() -> ExitCode {
    tune_allocator();
    raise_open_file_limit();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve {
            listen,
            data_dir,
            storage,
            etcd_servers,
            etcd_prefix,
            etcd_cafile,
            etcd_certfile,
            etcd_keyfile,
            etcd_compaction_interval,
            leader_elect,
            leader_elect_lease_duration,
            leader_elect_renew_deadline,
            leader_elect_retry_period,
            token_auth_file,
            client_ca_file,
            authorization_mode,
            anonymous_auth,
            disable_controllers,
            nodes,
            pod_start_delay,
            pod_ready_delay,
            pod_delete_delay,
            node_monitor_grace_period,
            node_startup_grace_period,
            watch_history,
            watch_history_bytes,
            request_timeout,
            max_requests_inflight,
            max_mutating_requests_inflight,
            read_header_timeout,
            idle_connection_timeout,
        } => runtime.block_on(server::run(ServeConfig {
            listen,
            data_dir,
            storage,
            etcd: ironkube::storage::etcd::EtcdConfig {
                servers: etcd_servers,
                prefix: etcd_prefix,
                ca_file: etcd_cafile,
                cert_file: etcd_certfile,
                key_file: etcd_keyfile,
                compaction_interval: etcd_compaction_interval.to_std().unwrap_or_default(),
                ..Default::default()
            },
            leader_election: ironkube::controllers::shared::leader::Config {
                enabled: leader_elect,
                lease_duration: leader_elect_lease_duration,
                renew_deadline: leader_elect_renew_deadline,
                retry_period: leader_elect_retry_period,
            },
            token_auth_file,
            client_ca_file,
            authorization_modes: authorization_mode.0,
            anonymous_auth,
            controllers: !disable_controllers,
            watch_history,
            watch_history_bytes,
            limits: Limits {
                request_timeout,
                max_requests_inflight,
                max_mutating_requests_inflight,
            },
            conn: ConnLimits {
                header_read_timeout: read_header_timeout,
                idle_timeout: idle_connection_timeout,
            },
            nodes: NodesConfig {
                count: nodes,
                sim: SimConfig {
                    pod_start_delay,
                    pod_ready_delay,
                    pod_delete_delay,
                    ..SimConfig::default()
                },
                lifecycle: LifecycleConfig {
                    monitor_grace: node_monitor_grace_period,
                    startup_grace: node_startup_grace_period,
                },
            },
        })),
        Command::Snapshot(SnapshotCommand::Save { file, kubeconfig }) => {
            runtime.block_on(ironkube::snapshot::save(&file, &kubeconfig))
        }
        Command::Snapshot(SnapshotCommand::Restore { file, data_dir }) => {
            ironkube::snapshot::restore(&file, &data_dir)
        }
        Command::Bench(args) => match runtime.block_on(ironkube::bench::run(args)) {
            Ok(true) => Ok(()),
            Ok(false) => {
                eprintln!("error: some requests failed");
                return ExitCode::FAILURE;
            }
            Err(e) => Err(e),
        },
    };
    // Work still running on a worker or blocking thread (a request that
    // outlived the drain) must not hold the exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold each time a large mmapped block is freed
/// (up to 32 MiB), so after a big list response later large buffers come from
/// the heap and stay resident once freed: three full lists of 24,000 pods left
/// the process 60 MB larger. A fixed threshold keeps buffers of 256 KiB and
/// more in their own mappings, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn tune_allocator() {
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

/// Raises the soft limit on open files to the hard limit, as Go programs
/// (kube-apiserver among them) do at start since Go 1.19: every connection
/// and watch is a descriptor, and the usual soft limit of 1024 is low for a
/// server.
#[cfg(unix)]
#[allow(unsafe_code)]
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the `rlimit`
    // struct passed by pointer, which lives on this stack frame for both
    // calls; RLIMIT_NOFILE is a valid resource on every Unix.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            // Failure (e.g. macOS's OPEN_MAX cap) leaves the soft limit as it was.
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[cfg(not(unix))]
fn raise_open_file_limit() {}

#[cfg(test)]
mod tests {
    use super::byte_size;

    #[test]
    fn byte_sizes() {
        assert_eq!(byte_size("1048576"), Ok(1 << 20));
        assert_eq!(byte_size("64Mi"), Ok(64 << 20));
        assert_eq!(byte_size("2Ki"), Ok(2048));
        assert_eq!(byte_size("1Gi"), Ok(1 << 30));
        assert!(byte_size("64MB").is_err());
        assert!(byte_size("Mi").is_err());
        assert!(byte_size("").is_err());
    }

    #[test]
    fn timeouts() {
        use super::timeout;
        use std::time::Duration;
        assert_eq!(timeout("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(timeout("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(timeout("500ms"), Ok(Duration::from_millis(500)));
        assert!(timeout("0s").is_err());
        assert!(timeout("60").is_err());
    }
}
