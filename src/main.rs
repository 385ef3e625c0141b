//! The `ironkube` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ironkube::server::{self, ServeConfig, StorageKind};

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
    },
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
        } => runtime.block_on(server::run(ServeConfig {
            listen,
            data_dir,
            storage,
            token_auth_file,
            controllers: !disable_controllers,
        })),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
