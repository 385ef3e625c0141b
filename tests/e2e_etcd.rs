//! `--storage etcd` end to end (issue #13): several ironkube replicas on
//! one etcd cluster, leader election of the controllers, and etcd faults.
//! etcd is Debian's `etcd-server` (3.4), which the test command installs,
//! on free loopback ports; every process is killed by its PID when dropped.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use ironkube::storage::etcd::testing::TestEtcd;

/// Leases short enough for a test, with upstream's proportions.
const LEASE: [&str; 6] = [
    "--leader-elect-lease-duration",
    "4s",
    "--leader-elect-renew-deadline",
    "3s",
    "--leader-elect-retry-period",
    "1s",
];

fn replica(etcd: &[TestEtcd], extra: &[&str]) -> Server {
    let servers = etcd
        .iter()
        .map(|m| m.client_url.clone())
        .collect::<Vec<_>>()
        .join(",");
    let mut args = vec!["--storage", "etcd", "--etcd-servers", &servers];
    args.extend_from_slice(extra);
    Server::with_args(&args)
}

/// The identity a replica campaigns as (host name, then the id it keeps).
fn identity_suffix(s: &Server) -> String {
    std::fs::read_to_string(s.dir.join("leader-election-id"))
        .expect("leader election id")
        .trim()
        .to_string()
}

fn holder(s: &Server, lease: &str) -> String {
    s.jsonpath(
        &["get", "lease", "-n", "kube-system", lease],
        "{.spec.holderIdentity}",
    )
}

fn names(s: &Server, args: &[&str]) -> Vec<String> {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "name"]);
    let out = s.ok(&a);
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn replicas_share_one_cluster_and_a_new_leader_takes_over() {
    let etcd = TestEtcd::cluster(3);
    // Started at the same moment: both bootstrap the same system objects
    // (namespaces, the `kubernetes` service and its address, RBAC policy).
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| replica(&etcd, &LEASE));
        let b = scope.spawn(|| replica(&etcd, &LEASE));
        (a.join().expect("replica a"), b.join().expect("replica b"))
    });

    // A write through one replica is seen by a watch on the other, at the
    // same resourceVersion.
    // kubectl itself (not under `timeout`), so that killing it closes the pipe.
    let mut watch = std::process::Command::new(common::KUBECTL)
        .arg("--kubeconfig")
        .arg(b.kubeconfig())
        .args([
            "get",
            "configmaps",
            "--field-selector=metadata.name=shared",
            "-w",
            "--output-watch-events",
            "-o",
            "jsonpath={.type} {.object.metadata.resourceVersion}{\"\\n\"}",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl watch");
    std::thread::sleep(Duration::from_millis(1500));
    a.ok(&["create", "configmap", "shared", "--from-literal=k=v"]);
    let rv_a = a.jsonpath(&["get", "cm", "shared"], "{.metadata.resourceVersion}");
    let rv_b = b.jsonpath(&["get", "cm", "shared"], "{.metadata.resourceVersion}");
    assert_eq!(rv_a, rv_b, "both replicas report the same resourceVersion");
    std::thread::sleep(Duration::from_secs(2));
    let _ = watch.kill();
    let out = watch.wait_with_output().expect("watch output");
    let seen = String::from_utf8_lossy(&out.stdout);
    assert!(
        seen.lines().any(|l| l == format!("ADDED {rv_a}")),
        "watch through the other replica: {seen:?}"
    );

    // One cluster identity: a's kubeconfig (CA and admin token) works
    // against b, and a service-account token issued by a verifies at b.
    let through_b = a.kubectl(&[
        "--server",
        &b.url,
        "get",
        "namespace",
        "default",
        "-o",
        "name",
    ]);
    assert!(
        through_b.status.success(),
        "a's kubeconfig against b: {}",
        String::from_utf8_lossy(&through_b.stderr)
    );
    let token = a.ok(&["create", "token", "default"]);
    let who = b.ok(&[
        "auth",
        "whoami",
        "--token",
        token.trim(),
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(who, "system:serviceaccount:default:default");

    // Allocators: services created at once through both replicas never
    // share a cluster IP or a node port (2,768 node ports: 80 random picks
    // would collide more often than not without cross-replica reservations).
    let manifests: Vec<String> = ["x", "y"]
        .iter()
        .map(|p| {
            (0..40)
                .map(|i| format!(r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{p}{i}"}},"spec":{{"type":"NodePort","ports":[{{"port":80}}]}}}}"#))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    std::thread::scope(|scope| {
        let ta = scope.spawn(|| a.ok_stdin(&["create", "-f", "-"], &manifests[0]));
        let tb = scope.spawn(|| b.ok_stdin(&["create", "-f", "-"], &manifests[1]));
        ta.join().expect("creates through a");
        tb.join().expect("creates through b");
    });
    let values = |path: &str| -> Vec<String> {
        let out = a.jsonpath(
            &["get", "services"],
            &format!("{{range .items[*]}}{path}{{\"\\n\"}}{{end}}"),
        );
        out.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    for path in ["{.spec.clusterIP}", "{.spec.ports[0].nodePort}"] {
        let mut v = values(path);
        let n = v.len();
        v.sort();
        v.dedup();
        assert_eq!(v.len(), n, "duplicate {path} across replicas");
    }

    // One replica leads each Lease; a Deployment made through one rolls out
    // as seen through the other.
    b.wait_until("both leases held", || {
        !holder(&b, "kube-controller-manager").is_empty()
            && !holder(&b, "kube-scheduler").is_empty()
    });
    a.ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=3",
    ]);
    b.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);

    // A steady write load through the replica that does not lead, while the
    // leader is killed.
    let leader_id = holder(&a, "kube-controller-manager");
    let (mut leader, survivor) = if leader_id.ends_with(&identity_suffix(&a)) {
        (a, b)
    } else {
        (b, a)
    };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let kubeconfig = survivor.kubeconfig();
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let name = format!("load-{i}");
                let ok = std::process::Command::new("timeout")
                    .args(["30", common::KUBECTL, "--kubeconfig"])
                    .arg(&kubeconfig)
                    .args(["create", "configmap", &name])
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false);
                if ok {
                    acked.push(format!("configmap/{name}"));
                }
                i += 1;
            }
            acked
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    leader.kill9();
    let killed = Instant::now();
    survivor.wait_until("the other replica leads", || {
        holder(&survivor, "kube-controller-manager").ends_with(&identity_suffix(&survivor))
    });
    let takeover = killed.elapsed();
    eprintln!("controller-manager lease taken over after {takeover:?}");
    // The figure goes to docs/PERFORMANCE.md; no test asserts on time.
    survivor.wait_until("the scheduler lease too", || {
        holder(&survivor, "kube-scheduler").ends_with(&identity_suffix(&survivor))
    });
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked = load.join().expect("load thread");
    assert!(!acked.is_empty(), "the load made progress");
    let present = names(&survivor, &["configmaps"]);
    for name in &acked {
        assert!(present.contains(name), "acknowledged {name} is missing");
    }

    // The new leader continues from a fresh list: scaling works, and the
    // ReplicaSet has exactly its replicas (none duplicated).
    survivor.ok(&["scale", "deployment/web", "--replicas=5"]);
    survivor.ok(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    std::thread::sleep(Duration::from_secs(2));
    let pods = names(&survivor, &["pods", "-l", "app=web"]);
    assert_eq!(pods.len(), 5, "pods: {pods:?}");
    let rs_ready = survivor.jsonpath(
        &["get", "rs", "-l", "app=web"],
        "{.items[0].status.replicas}",
    );
    assert_eq!(rs_ready, "5");

    // Restart everything: the state is identical.
    let before = survivor.ok(&["get", "configmaps,deployments,replicasets,pods", "-A", "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.resourceVersion}{\"\\n\"}{end}"]);
    drop(survivor);
    drop(leader);
    let mut etcd = etcd;
    for m in &mut etcd {
        m.kill();
    }
    for m in &mut etcd {
        m.restart();
    }
    let again = replica(&etcd, &["--disable-controllers"]);
    let after = again.ok(&["get", "configmaps,deployments,replicasets,pods", "-A", "-o", "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.resourceVersion}{\"\\n\"}{end}"]);
    assert_eq!(before, after, "state after restarting etcd and ironkube");
}

/// Status code and body of a request through `curl`.
fn curl(s: &Server, method: &str, path: &str, body: Option<&str>) -> (u16, String, Duration) {
    let start = Instant::now();
    let ct = body.map(|_| "application/json");
    let (code, text) = s.curl(method, path, ct, body);
    (code, text, start.elapsed())
}

#[test]
fn etcd_member_loss_and_quorum_loss() {
    let mut etcd = TestEtcd::cluster(3);
    let s = replica(&etcd, &["--disable-controllers"]);
    s.ok(&["create", "configmap", "before"]);

    // One member of three gone: no acknowledged write lost, writes go on.
    etcd[0].kill();
    // If the killed member led, the other two elect a new leader first:
    // a write made meanwhile may time out, as against upstream.
    s.wait_until("writes continue on two members of three", || {
        s.kubectl(&["create", "configmap", "one-down"])
            .status
            .success()
            || s.kubectl(&["get", "configmap", "one-down"])
                .status
                .success()
    });
    assert!(names(&s, &["configmaps"]).contains(&"configmap/one-down".to_string()));

    // Two of three gone: no quorum. Writes fail fast with a Status; reads
    // at resourceVersion=0 keep coming from the cache.
    etcd[1].kill();
    let cm = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"no-quorum"}}"#;
    let (code, body, took) = curl(
        &s,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some(cm),
    );
    eprintln!("write without quorum: {code} after {took:?}: {body}");
    assert_eq!(code, 504, "{body}");
    let status: serde_json::Value = serde_json::from_str(&body).expect("a Status body");
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Timeout");
    assert_eq!(
        status["message"],
        "Timeout: request did not complete within requested timeout - context deadline exceeded"
    );
    // (curl gives up after 30 s: a write that hung would not be a 504.)
    let (code, body, _) = curl(
        &s,
        "GET",
        "/api/v1/namespaces/default/configmaps?resourceVersion=0",
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"one-down\""), "{body}");
    let (code, body, _) = curl(
        &s,
        "GET",
        "/api/v1/namespaces/default/configmaps/before?resourceVersion=0",
        None,
    );
    assert_eq!(
        code, 200,
        "a get at resourceVersion=0 from the cache: {body}"
    );
    let (code, body, _) = curl(&s, "GET", "/readyz?verbose", None);
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("[-]etcd failed: reason withheld"), "{body}");

    // Quorum back: writes resume.
    etcd[0].restart();
    etcd[1].restart();
    s.wait_until("writes resume", || {
        s.kubectl(&["create", "configmap", "after"])
            .status
            .success()
    });
    let all = names(&s, &["configmaps"]);
    for n in ["before", "one-down", "after"] {
        assert!(
            all.contains(&format!("configmap/{n}")),
            "{n} missing: {all:?}"
        );
    }
    // The write that timed out is not asserted either way: as against
    // upstream, a 504 means the outcome is unknown. The lone member may
    // still have led when the proposal reached it, and then the entry sits
    // in its log and commits once quorum is back.
    s.wait_until("/readyz recovers", || {
        curl(&s, "GET", "/readyz", None).0 == 200
    });
}

/// A leader that stops gracefully (SIGTERM) releases its Leases, so the
/// other replica leads after a retry period, not a whole lease duration.
#[test]
fn a_leader_stopping_gracefully_hands_over_at_once() {
    let etcd = vec![TestEtcd::start()];
    let long = [
        "--leader-elect-lease-duration",
        "60s",
        "--leader-elect-renew-deadline",
        "40s",
        "--leader-elect-retry-period",
        "1s",
    ];
    let a = replica(&etcd, &long);
    a.wait_until("a leads", || {
        holder(&a, "kube-controller-manager").ends_with(&identity_suffix(&a))
    });
    a.wait_until("a leads the scheduler too", || {
        holder(&a, "kube-scheduler").ends_with(&identity_suffix(&a))
    });
    let b = replica(&etcd, &long);
    let mut a = a;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &a.child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let _ = a.child.wait();
    // Released, not left to expire: once a has exited, neither 60 s Lease
    // names it (each is free, or b has it already).
    for lease in ["kube-controller-manager", "kube-scheduler"] {
        assert!(
            !holder(&b, lease).ends_with(&identity_suffix(&a)),
            "{lease} still names the stopped replica"
        );
    }
    let exited = Instant::now();
    b.wait_until("b leads", || {
        holder(&b, "kube-controller-manager").ends_with(&identity_suffix(&b))
            && holder(&b, "kube-scheduler").ends_with(&identity_suffix(&b))
    });
    eprintln!("b led {:?} after a exited", exited.elapsed());
}
