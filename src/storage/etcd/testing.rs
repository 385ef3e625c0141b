//! A throwaway etcd for tests: `/usr/bin/etcd` (Debian's `etcd-server`,
//! which the test command installs) on free loopback ports with its data in
//! a temporary directory; killed when dropped.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One etcd member, or one of a cluster's members.
pub struct TestEtcd {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    pub dir: PathBuf,
    cluster: String,
    state: &'static str,
    child: Option<Child>,
    /// The cluster's directory, removed with the member holding it.
    root: Option<PathBuf>,
}

/// The etcd binary: `$IRONKUBE_ETCD`, else `/usr/bin/etcd`.
pub fn etcd_binary() -> PathBuf {
    std::env::var_os("IRONKUBE_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl TestEtcd {
    /// A single-member etcd, started and answering.
    pub fn start() -> TestEtcd {
        let mut c = TestEtcd::cluster(1);
        c.pop().expect("one member")
    }

    /// `n` members of one new cluster, started and answering.
    pub fn cluster(n: usize) -> Vec<TestEtcd> {
        let tmp = std::env::temp_dir().join(format!(
            "ironkube-etcd-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&tmp).expect("etcd test directory");
        let members: Vec<(String, u16, u16)> = (0..n)
            .map(|i| (format!("m{i}"), free_port(), free_port()))
            .collect();
        let cluster = members
            .iter()
            .map(|(name, _, peer)| format!("{name}=http://127.0.0.1:{peer}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut out: Vec<TestEtcd> = members
            .into_iter()
            .map(|(name, client, peer)| TestEtcd {
                dir: tmp.join(&name),
                name,
                client_url: format!("http://127.0.0.1:{client}"),
                peer_url: format!("http://127.0.0.1:{peer}"),
                cluster: cluster.clone(),
                state: "new",
                child: None,
                root: None,
            })
            .collect();
        for m in &mut out {
            m.spawn();
        }
        for m in &mut out {
            m.wait_ready();
            m.state = "existing";
        }
        if let Some(first) = out.first_mut() {
            first.root = Some(tmp);
        }
        out
    }

    fn spawn(&mut self) {
        let bin = etcd_binary();
        let log = std::fs::File::create(self.dir.with_extension("log")).ok();
        let mut cmd = Command::new(&bin);
        cmd.arg("--name")
            .arg(&self.name)
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("--listen-client-urls")
            .arg(&self.client_url)
            .arg("--advertise-client-urls")
            .arg(&self.client_url)
            .arg("--listen-peer-urls")
            .arg(&self.peer_url)
            .arg("--initial-advertise-peer-urls")
            .arg(&self.peer_url)
            .arg("--initial-cluster")
            .arg(&self.cluster)
            .arg("--initial-cluster-state")
            .arg(self.state)
            .arg("--initial-cluster-token")
            .arg("ironkube-test")
            .stdin(Stdio::null());
        match log {
            Some(f) => {
                let f2 = f.try_clone().ok();
                cmd.stdout(Stdio::from(f));
                match f2 {
                    Some(f2) => cmd.stderr(Stdio::from(f2)),
                    None => cmd.stderr(Stdio::null()),
                };
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}): install Debian's etcd-server (hack/test.sh does)",
                bin.display()
            )
        });
        self.child = Some(child);
    }

    /// Waits until the member answers on its client port.
    fn wait_ready(&self) {
        let addr = self
            .client_url
            .trim_start_matches("http://")
            .parse::<std::net::SocketAddr>()
            .expect("loopback address");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // The port opens a moment before the member serves.
                std::thread::sleep(Duration::from_millis(100));
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("etcd {} did not start", self.name);
    }

    /// Kills the member (SIGKILL), keeping its data.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts a killed member again on the same ports and data.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_ready();
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
}

impl Drop for TestEtcd {
    fn drop(&mut self) {
        self.kill();
        if let Some(root) = self.root.take() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}
