//! End-to-end: `ironkube bench` (the built binary) against a real server with
//! simulated nodes and zero kubelet delays. Only correctness is asserted
//! (no failed requests, sane fields), never performance.

mod common;

use std::process::{Command, Output};

use common::Server;
use serde_json::Value;

const NODES: &[&str] = &[
    "--nodes",
    "3",
    "--pod-start-delay",
    "0s",
    "--pod-ready-delay",
    "0s",
    "--pod-delete-delay",
    "0s",
];

/// Runs `ironkube bench ARGS --json` bounded by `timeout`.
fn bench(s: &Server, args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("90")
        .arg(env!("CARGO_BIN_EXE_ironkube"))
        .arg("bench")
        .args(args)
        .arg("--kubeconfig")
        .arg(s.kubeconfig())
        .arg("--server-pid")
        .arg(s.child.id().to_string())
        .arg("--json")
        .output()
        .expect("run ironkube bench")
}

/// The JSON result rows of a successful run.
fn rows(s: &Server, args: &[&str]) -> Vec<Value> {
    let out = bench(s, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench {args:?} failed: {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let rows: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!rows.is_empty(), "no result rows for {args:?}");
    for r in &rows {
        assert_eq!(r["errors"], 0, "{args:?}: {r}");
        assert_eq!(r["errors_by_code"], serde_json::json!({}), "{r}");
        assert!(r["requests"].as_u64().unwrap_or(0) > 0, "{args:?}: {r}");
        let f = |k: &str| {
            r[k].as_f64()
                .unwrap_or_else(|| panic!("{k} missing in {r}"))
        };
        let (p50, p90, p99, max) = (f("p50_ms"), f("p90_ms"), f("p99_ms"), f("max_ms"));
        assert!(0.0 <= p50 && p50 <= p90 && p90 <= p99 && p99 <= max, "{r}");
        assert!(f("throughput_per_s") >= 0.0, "{r}");
        assert!(r["server_rss_peak_kb"].as_u64().unwrap_or(0) > 0, "{r}");
        assert!(r["server_rss_final_kb"].as_u64().unwrap_or(0) > 0, "{r}");
    }
    rows
}

fn scenarios(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["scenario"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn bench_scenarios_run_cleanly_against_ironkube() {
    let s = Server::with_args(NODES);

    let r = rows(&s, &["create-pods", "--count", "200"]);
    assert_eq!(scenarios(&r), ["create-pods"]);
    assert_eq!(r[0]["requests"], 200);

    let r = rows(&s, &["list", "--count", "300", "--repeat", "2"]);
    assert_eq!(scenarios(&r), ["list", "list-rv0", "list-paged"]);
    for row in &r {
        assert_eq!(row["requests"], 2, "{row}");
        assert_eq!(row["items"], 300, "{row}");
    }

    let r = rows(&s, &["watch-latency", "--count", "50"]);
    assert_eq!(scenarios(&r), ["watch-latency"]);
    assert_eq!(r[0]["requests"], 50);
    assert_eq!(r[0]["writes"], 50);

    let r = rows(&s, &["watch-fanout", "--watchers", "50", "--count", "200"]);
    assert_eq!(scenarios(&r), ["watch-fanout"]);
    assert_eq!(r[0]["delivered"], 50 * 200);
    assert_eq!(r[0]["watchers"], 50);

    let r = rows(
        &s,
        &[
            "watch-fanout",
            "--watchers",
            "20",
            "--count",
            "20",
            "--http1",
        ],
    );
    assert_eq!(r[0]["delivered"], 20 * 20);

    let r = rows(&s, &["rollout", "--replicas", "20"]);
    assert_eq!(scenarios(&r), ["rollout-available", "rollout-complete"]);
    for row in &r {
        assert_eq!(row["replicas"], 20);
        assert!(row["seconds"].as_f64().unwrap_or(0.0) > 0.0, "{row}");
    }

    let r = rows(&s, &["mixed", "--duration", "3"]);
    assert_eq!(
        scenarios(&r),
        [
            "mixed-create",
            "mixed-update",
            "mixed-delete",
            "mixed-list",
            "mixed-watch"
        ]
    );
    assert_eq!(r[4]["requests"], r[4]["events_expected"], "{}", r[4]);

    // Every namespace the runs created is gone or being deleted.
    let left = s.jsonpath(
        &["get", "namespaces"],
        "{range .items[*]}{.metadata.name} {.status.phase}{\"\\n\"}{end}",
    );
    assert!(left.contains("default Active"), "{left}");
    for line in left.lines().filter(|l| l.starts_with("bench-")) {
        assert!(line.ends_with(" Terminating"), "not deleted: {line}");
    }

    // A server that refuses the credentials: an error and a non-zero exit.
    let bad = s.dir.join("bad.kubeconfig");
    let text = std::fs::read_to_string(s.kubeconfig()).expect("kubeconfig");
    std::fs::write(&bad, text.replace(&s.token, "not-the-token")).expect("write");
    let out = Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_ironkube"))
        .args(["bench", "create-pods", "--count", "5", "--kubeconfig"])
        .arg(&bad)
        .output()
        .expect("run ironkube bench");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
