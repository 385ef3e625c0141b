//! End-to-end: `kubectl cordon`, `drain` and `uncordon` against a real
//! `ironkube serve` with two simulated nodes, the disruption controller
//! keeping a PodDisruptionBudget's status and `pods/eviction` enforcing it.
//! kubectl drain cordons the node (a patch of `spec.unschedulable`), lists
//! its pods, and POSTs an Eviction for each, retrying 429s every 5 s.

mod common;

use common::Server;

const FAST: &[&str] = &[
    "--nodes",
    "2",
    "--pod-ready-delay",
    "200ms",
    "--pod-delete-delay",
    "200ms",
];

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.7.9
";

const DAEMONSET: &str = "apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      containers:
      - name: agent
        image: busybox
";

/// `node` of every Running, Ready pod labelled `app=web`.
fn ready_web_pods(s: &Server) -> Vec<String> {
    s.jsonpath(
        &["get", "pods", "-l", "app=web"],
        "{range .items[*]}{.spec.nodeName} {.status.phase} {.status.conditions[?(@.type==\"Ready\")].status} {.metadata.deletionTimestamp}{\"\\n\"}{end}",
    )
    .lines()
    .filter_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() == 3 && f[1] == "Running" && f[2] == "True").then(|| f[0].to_string())
    })
    .collect()
}

fn pdb_status(s: &Server) -> String {
    s.jsonpath(
        &["get", "pdb", "web"],
        "{.status.observedGeneration} {.status.expectedPods} {.status.currentHealthy} {.status.desiredHealthy} {.status.disruptionsAllowed}",
    )
}

#[test]
fn drain_waits_for_the_disruption_budget_then_moves_the_pods() {
    let s = Server::with_args(FAST);
    s.wait_until("two ready nodes", || {
        s.jsonpath(
            &["get", "nodes"],
            "{range .items[*]}{.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}",
        )
        .lines()
        .filter(|l| *l == "True")
        .count()
            == 2
    });
    // Every web pod on node-0: node-1 is cordoned while they are placed.
    assert_eq!(s.ok(&["cordon", "node-1"]).trim(), "node/node-1 cordoned");
    s.ok_stdin(&["apply", "-f", "-"], DEPLOYMENT);
    s.ok_stdin(&["apply", "-f", "-"], DAEMONSET);
    s.wait_until("3 ready web pods on node-0", || {
        ready_web_pods(&s) == ["node-0", "node-0", "node-0"]
    });
    assert_eq!(
        s.ok(&["uncordon", "node-1"]).trim(),
        "node/node-1 uncordoned"
    );
    s.wait_until("a daemon pod on each node", || {
        s.jsonpath(
            &["get", "pods", "-l", "app=agent"],
            "{range .items[*]}{.status.phase}{\"\\n\"}{end}",
        )
        .lines()
        .filter(|l| *l == "Running")
        .count()
            == 2
    });

    s.ok(&[
        "create",
        "pdb",
        "web",
        "--selector=app=web",
        "--min-available=3",
    ]);
    s.wait_until("the budget observed", || pdb_status(&s) == "1 3 3 3 0");
    let cond = s.jsonpath(
        &["get", "pdb", "web"],
        "{.status.conditions[0].type} {.status.conditions[0].status} {.status.conditions[0].reason}",
    );
    assert_eq!(cond, "DisruptionAllowed False InsufficientPods");

    // DaemonSet pods stop a drain without --ignore-daemonsets (kubectl's
    // own check, reading the DaemonSet).
    let out = s.kubectl(&["drain", "node-0", "--timeout=5s"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("node/node-0 cordoned"), "{stdout}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"),
        "{err}"
    );

    // The budget allows no disruption: the drain times out.
    let out = s.kubectl(&["drain", "node-0", "--ignore-daemonsets", "--timeout=8s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("node/node-0 already cordoned"), "{stdout}");
    assert!(
        stderr.contains("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget."),
        "{stderr}"
    );
    assert!(stderr.contains("global timeout reached: 8s"), "{stderr}");
    assert!(
        stderr.contains("error: unable to drain node \"node-0\" due to error"),
        "{stderr}"
    );
    assert_eq!(ready_web_pods(&s), ["node-0", "node-0", "node-0"]);
    let nodes = s.ok(&["get", "nodes"]);
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("node-0 ") && l.contains("Ready,SchedulingDisabled")),
        "{nodes}"
    );

    // One disruption at a time: the drain completes, each pod replaced on
    // node-1 before the next is evicted.
    s.ok(&[
        "patch",
        "pdb",
        "web",
        "--type=merge",
        "-p",
        "{\"spec\":{\"minAvailable\":2}}",
    ]);
    s.wait_until("the new budget observed", || pdb_status(&s) == "2 3 3 2 1");
    let out = s.ok(&["drain", "node-0", "--ignore-daemonsets", "--timeout=50s"]);
    assert!(out.contains("node/node-0 already cordoned"), "{out}");
    assert!(out.contains("evicting pod default/web-"), "{out}");
    assert!(out.trim_end().ends_with("node/node-0 drained"), "{out}");
    s.wait_until("3 ready web pods on node-1", || {
        ready_web_pods(&s) == ["node-1", "node-1", "node-1"]
    });
    s.wait_until("the budget healthy again", || pdb_status(&s) == "2 3 3 2 1");
    let nodes = s.ok(&["get", "nodes"]);
    assert!(
        nodes
            .lines()
            .any(|l| l.starts_with("node-0 ") && l.contains("Ready,SchedulingDisabled")),
        "{nodes}"
    );

    // A percentage of maxUnavailable counts the Deployment's replicas
    // (34% of 3 rounds up to 2 unavailable), which follow its scale.
    s.ok(&[
        "patch",
        "pdb",
        "web",
        "--type=merge",
        "-p",
        "{\"spec\":{\"minAvailable\":null,\"maxUnavailable\":\"34%\"}}",
    ]);
    s.wait_until("maxUnavailable observed", || pdb_status(&s) == "3 3 3 1 2");

    assert_eq!(
        s.ok(&["uncordon", "node-0"]).trim(),
        "node/node-0 uncordoned"
    );
    assert_eq!(
        s.jsonpath(&["get", "node", "node-0"], "{.spec.unschedulable}"),
        ""
    );
    s.ok(&["scale", "deployment", "web", "--replicas=6"]);
    s.wait_until("the budget scaled", || pdb_status(&s) == "3 6 6 3 3");
}
