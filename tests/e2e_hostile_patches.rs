//! Hostile patches against a real server process (issue #10): the 30
//! doubling copies, 50,000 operations and a 4,000-container strategic merge
//! patch are answered as upstream answers them, while `/readyz` keeps being
//! answered and the server's memory stays bounded throughout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use common::Server;

/// The server's resident set size in KiB (Linux).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn write_body(dir: &std::path::Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, v.to_string()).expect("write body");
    format!("@{}", path.display())
}

#[test]
fn hostile_patches_leave_the_server_answering() {
    let server = Server::bare();
    let tmp = tempfile::tempdir().expect("tempdir");
    let cm = "/api/v1/namespaces/default/configmaps";
    let (code, body) = server.curl(
        "POST",
        cm,
        Some("application/json"),
        Some(r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"h"}}"#),
    );
    assert_eq!(code, 201, "{body}");

    // Probe /readyz and sample memory while the patches run.
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let stop = stop.clone();
        let url = server.url.clone();
        let pid = server.child.id();
        std::thread::spawn(move || {
            let (mut failures, mut probes, mut peak) = (Vec::new(), 0u32, 0u64);
            while !stop.load(Ordering::Relaxed) {
                // The timeout only bounds a stall (issue #10: readyz stopped
                // answering for the length of the patch).
                let out = std::process::Command::new("curl")
                    .args([
                        "-sk",
                        "--max-time",
                        "5",
                        "-o",
                        "/dev/null",
                        "-w",
                        "%{http_code}",
                    ])
                    .arg(format!("{url}/readyz"))
                    .output();
                let code = out
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if code != "200" {
                    failures.push(code);
                }
                probes += 1;
                peak = peak.max(rss_kib(pid));
                std::thread::sleep(Duration::from_millis(100));
            }
            (failures, probes, peak)
        })
    };

    // 30 doubling copies: refused (upstream's generic 422).
    let mut ops = vec![
        json!({"op": "add", "path": "/metadata/annotations", "value": {"a": "x".repeat(100)}}),
    ];
    for i in 0..30 {
        ops.push(json!({"op": "copy", "from": "/metadata/annotations",
            "path": format!("/metadata/annotations/k{i}")}));
    }
    let body = write_body(tmp.path(), "double.json", &Value::Array(ops));
    let (code, text) = server.curl(
        "PATCH",
        &format!("{cm}/h"),
        Some("application/json-patch+json"),
        Some(&body),
    );
    assert_eq!(code, 422, "{text}");

    // 50,000 operations: 413.
    let test_op = json!({"op": "test", "path": "/metadata/name", "value": "h"});
    let body = write_body(tmp.path(), "ops.json", &Value::Array(vec![test_op; 50_000]));
    let (code, text) = server.curl(
        "PATCH",
        &format!("{cm}/h"),
        Some("application/json-patch+json"),
        Some(&body),
    );
    assert_eq!(code, 413, "{text}");
    let status: Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(
        status["message"],
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 50000"
    );

    // A Deployment with 4,000 containers, patched with every container.
    let n = 4_000;
    let containers: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:1"}))
        .collect();
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "big"},
        "spec": {"selector": {"matchLabels": {"app": "big"}},
            "template": {"metadata": {"labels": {"app": "big"}},
                "spec": {"containers": containers}}}});
    let body = write_body(tmp.path(), "deploy.json", &deploy);
    let deployments = "/apis/apps/v1/namespaces/default/deployments";
    let (code, text) = server.curl("POST", deployments, Some("application/json"), Some(&body));
    assert_eq!(code, 201, "{}", &text[..text.len().min(500)]);
    let order: Vec<Value> = (0..n)
        .rev()
        .map(|i| json!({"name": format!("c{i}")}))
        .collect();
    let patched: Vec<Value> = (0..n)
        .rev()
        .map(|i| json!({"name": format!("c{i}"), "image": "nginx:2"}))
        .collect();
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": order, "containers": patched}}}});
    let body = write_body(tmp.path(), "smp.json", &patch);
    let (code, text) = server.curl(
        "PATCH",
        &format!("{deployments}/big"),
        Some("application/strategic-merge-patch+json"),
        Some(&body),
    );
    assert_eq!(code, 200, "{}", &text[..text.len().min(500)]);
    let got: Value = serde_json::from_str(&text).unwrap_or_default();
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["name"],
        format!("c{}", n - 1)
    );

    stop.store(true, Ordering::Relaxed);
    let (failures, probes, peak_kib) = probe.join().expect("probe thread");
    eprintln!("{probes} /readyz probes, peak RSS {peak_kib} KiB");
    assert!(probes > 0);
    assert!(failures.is_empty(), "/readyz failed: {failures:?}");
    // A bound on memory, not a measurement: the doubling patch alone grew
    // the server to 22 GB before.
    assert!(peak_kib < 1024 * 1024, "RSS peaked at {peak_kib} KiB");
}
