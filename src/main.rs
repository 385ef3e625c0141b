//! The `ironkube` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ironkube::controllers::nodesim::{NodesConfig, SimConfig};
use ironkube::controllers::nodesim_logic::parse_go_duration;
use ironkube::server::{self, ServeConfig, StorageKind};

fn duration(s: &str) -> Result<chrono::TimeDelta, String> {
    parse_go_duration(s).ok_or_else(|| format!("invalid duration {s:?} (use e.g. 0s, 500ms, 2s)"))
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
        /// Static token file (kube-apiserver's CSV format: token,user,uid,"group1,group2").
        #[arg(long)]
        token_auth_file: Option<PathBuf>,
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
        /// Changes kept for watches and consistent paging; older resourceVersions get 410 Expired.
        #[arg(long, default_value_t = 100_000)]
        watch_history: usize,
    },
    /// Load-test any Kubernetes API server reached through a kubeconfig.
    Bench(ironkube::bench::BenchArgs),
}

fn main() -> ExitCode {
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
            token_auth_file,
            disable_controllers,
            nodes,
            pod_start_delay,
            pod_ready_delay,
            pod_delete_delay,
            watch_history,
        } => runtime.block_on(server::run(ServeConfig {
            listen,
            data_dir,
            storage,
            token_auth_file,
            controllers: !disable_controllers,
            watch_history,
            nodes: NodesConfig {
                count: nodes,
                sim: SimConfig {
                    pod_start_delay,
                    pod_ready_delay,
                    pod_delete_delay,
                    ..SimConfig::default()
                },
            },
        })),
        Command::Bench(args) => match runtime.block_on(ironkube::bench::run(args)) {
            Ok(true) => Ok(()),
            Ok(false) => {
                eprintln!("error: some requests failed");
                return ExitCode::FAILURE;
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
