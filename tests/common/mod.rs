//! End-to-end harness: a real `ironkube serve` process on a free port, and
//! helpers that drive it with `/usr/bin/kubectl`, `curl` and the `kube` crate.
//! Every wait is bounded; the server is killed (by its PID) when dropped.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const KUBECTL: &str = "/usr/bin/kubectl";

pub struct Server {
    pub child: Child,
    pub dir: PathBuf,
    pub url: String,
    pub token: String,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts a server with embedded storage in a fresh data dir.
    pub fn start() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, &[]);
        s._tmp = Some(tmp);
        s
    }

    /// A server in a fresh data dir with extra flags.
    pub fn with_args(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, extra);
        s._tmp = Some(tmp);
        s
    }

    /// Polls `f` every 100 ms for up to 60 s.
    pub fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `kubectl get ... -o jsonpath=...` output (empty on failure).
    pub fn jsonpath(&self, args: &[&str], path: &str) -> String {
        let mut a: Vec<&str> = args.to_vec();
        let p = format!("jsonpath={path}");
        a.push("-o");
        a.push(&p);
        let out = self.kubectl(&a);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A bare API server (no controllers) with embedded storage in a fresh data dir.
    pub fn bare() -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut s = Server::start_in(&dir, &["--disable-controllers"]);
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on `dir` (which may hold data from an earlier run).
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        let kubeconfig = dir.join("admin.kubeconfig");
        let _ = std::fs::remove_file(&kubeconfig);
        let log = std::fs::File::create(dir.with_extension("log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_ironkube"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("IRONKUBE_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn ironkube");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !kubeconfig.exists() {
            assert!(
                Instant::now() < deadline,
                "server did not write its kubeconfig in time"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(&kubeconfig).expect("kubeconfig");
        let url = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .expect("server line")
            .to_string();
        let token = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .expect("token line")
            .to_string();
        Server {
            child,
            dir: dir.to_path_buf(),
            url,
            token,
            _tmp: None,
        }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// Runs kubectl with this server's kubeconfig, bounded in time.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None)
    }

    pub fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.arg("60")
            .arg(KUBECTL)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.join("home"))
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn kubectl");
        if let Some(input) = stdin {
            use std::io::Write;
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(input.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("kubectl output")
    }

    /// kubectl that must succeed; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        if !out.status.success() {
            // What the cluster looked like, to diagnose the failure.
            let state = self.kubectl(&["get", "deploy,rs,pods", "-o", "yaml"]);
            panic!(
                "kubectl {args:?} failed: {}\n{}\n--- cluster state ---\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&state.stdout)
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn ok_stdin(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(args, Some(stdin));
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// curl with the admin bearer token; returns (status code, body).
    pub fn curl(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-k", "--max-time", "30", "-X", method])
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", self.token))
            .args(["-w", "\n%{http_code}"]);
        if let Some(ct) = content_type {
            cmd.arg("-H").arg(format!("Content-Type: {ct}"));
        }
        if let Some(b) = body {
            cmd.args(["--data-binary", b]);
        }
        cmd.arg(format!("{}{path}", self.url));
        let out = cmd.output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// A `kube` client for this server.
    pub async fn client(&self) -> kube::Client {
        let kc = kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("read kubeconfig");
        let cfg =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .expect("config");
        kube::Client::try_from(cfg).expect("client")
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Watches a server while a hostile request runs: polls `/readyz` (each
/// answer bounded by 1 s) and samples the process's resident memory, so a
/// test can assert the server stayed responsive and within a memory limit.
pub struct Watchdog {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<WatchdogReport>>,
}

#[derive(Debug, Default)]
pub struct WatchdogReport {
    /// `/readyz` probes made, and those not answered `ok` within 1 s.
    pub probes: usize,
    pub missed: usize,
    /// Highest resident set seen, in bytes.
    pub peak_rss: u64,
}

/// Resident memory at which the watchdog kills the server outright.
pub const WATCHDOG_KILL_RSS: u64 = 2 << 30;

impl Watchdog {
    pub fn start(server: &Server) -> Watchdog {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let url = format!("{}/readyz", server.url);
        let pid = server.child.id();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut report = WatchdogReport::default();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let out = Command::new("curl")
                    .args(["-sk", "--max-time", "1", &url])
                    .output();
                report.probes += 1;
                if !out.is_ok_and(|o| o.stdout == b"ok") {
                    report.missed += 1;
                }
                report.peak_rss = report.peak_rss.max(rss_bytes(pid));
                if report.peak_rss > WATCHDOG_KILL_RSS {
                    // A runaway server must not take the machine with it.
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            report
        });
        Watchdog {
            stop,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> WatchdogReport {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

/// A process's resident set in bytes (0 if it is gone).
pub fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
