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
    /// Serving certificate, key and client CA: clients must use TLS and
    /// present a certificate the CA signed.
    tls: Option<Tls>,
}

/// PEM files of a TLS-serving etcd and of a client it accepts.
#[derive(Clone)]
pub struct Tls {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// The etcd binary: `$IRONKUBE_ETCD`, else `/usr/bin/etcd`.
pub fn etcd_binary() -> PathBuf {
    std::env::var_os("IRONKUBE_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/etcd"))
}

/// A CA, a serving certificate for 127.0.0.1 and a client certificate.
fn make_tls(dir: &std::path::Path) -> Result<Tls, rcgen::Error> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, &ca_key);
    let mut server = CertificateParams::new(vec!["localhost".to_string()])?;
    server
        .subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let server_key = KeyPair::generate()?;
    let server_cert = server.signed_by(&server_key, &issuer)?;
    let client = CertificateParams::new(vec!["ironkube".to_string()])?;
    let client_key = KeyPair::generate()?;
    let client_cert = client.signed_by(&client_key, &issuer)?;
    let tls = Tls {
        ca: dir.join("ca.crt"),
        server_cert: dir.join("server.crt"),
        server_key: dir.join("server.key"),
        client_cert: dir.join("client.crt"),
        client_key: dir.join("client.key"),
    };
    let write = |p: &PathBuf, s: String| std::fs::write(p, s).expect("write test certificate");
    write(&tls.ca, ca_cert.pem());
    write(&tls.server_cert, server_cert.pem());
    write(&tls.server_key, server_key.serialize_pem());
    write(&tls.client_cert, client_cert.pem());
    write(&tls.client_key, client_key.serialize_pem());
    Ok(tls)
}

/// How often a member or cluster is started on new ports before giving up.
const START_ATTEMPTS: usize = 5;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl TestEtcd {
    /// A single-member etcd serving clients over TLS only, requiring client
    /// certificates (files in its directory: see [`Tls`]).
    pub fn start_tls() -> TestEtcd {
        // A port picked free may be taken before etcd binds it (parallel
        // tests open connections too): then etcd exits and new ports are
        // tried.
        for _ in 0..START_ATTEMPTS {
            let tmp = std::env::temp_dir().join(format!(
                "ironkube-etcd-tls-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&tmp).expect("etcd test directory");
            let tls = make_tls(&tmp).expect("test certificates");
            let client = free_port();
            let peer = free_port();
            let mut m = TestEtcd {
                name: "tls".into(),
                client_url: format!("https://127.0.0.1:{client}"),
                peer_url: format!("http://127.0.0.1:{peer}"),
                dir: tmp.join("member"),
                cluster: format!("tls=http://127.0.0.1:{peer}"),
                state: "new",
                child: None,
                root: Some(tmp),
                tls: Some(tls),
            };
            m.spawn();
            if m.ready() {
                m.state = "existing";
                return m;
            }
        }
        panic!("etcd (tls) did not start in {START_ATTEMPTS} attempts");
    }

    pub fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref()
    }

    /// A single-member etcd, started and answering.
    pub fn start() -> TestEtcd {
        let mut c = TestEtcd::cluster(1);
        c.pop().expect("one member")
    }

    /// `n` members of one new cluster, started and answering.
    pub fn cluster(n: usize) -> Vec<TestEtcd> {
        // As in `start_tls`: ports taken between picking and binding make
        // a member exit, and the cluster is started again on new ports.
        for _ in 0..START_ATTEMPTS {
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
                    tls: None,
                })
                .collect();
            if let Some(first) = out.first_mut() {
                first.root = Some(tmp);
            }
            for m in &mut out {
                m.spawn();
            }
            let mut all = true;
            for m in &mut out {
                all &= m.ready();
                m.state = "existing";
            }
            if all {
                return out;
            }
        }
        panic!("an etcd cluster of {n} did not start in {START_ATTEMPTS} attempts");
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
        if let Some(t) = &self.tls {
            cmd.arg("--cert-file")
                .arg(&t.server_cert)
                .arg("--key-file")
                .arg(&t.server_key)
                .arg("--trusted-ca-file")
                .arg(&t.ca)
                .arg("--client-cert-auth");
        }
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

    /// Waits until the member answers on its client port; false if it
    /// exited (e.g. its port was taken) or did not answer in 30 s.
    fn ready(&mut self) -> bool {
        let addr = self
            .client_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .parse::<std::net::SocketAddr>()
            .expect("loopback address");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut()
                && matches!(c.try_wait(), Ok(Some(_)))
            {
                self.child = None;
                return false;
            }
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // The port opens a moment before the member serves; and
                // what answered may be another process holding the port,
                // with this member about to exit.
                std::thread::sleep(Duration::from_millis(300));
                let exited = self
                    .child
                    .as_mut()
                    .is_none_or(|c| matches!(c.try_wait(), Ok(Some(_))));
                if exited {
                    self.child = None;
                }
                return !exited;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
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
        if !self.ready() {
            panic!("etcd {} did not start again", self.name);
        }
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
