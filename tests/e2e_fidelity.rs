//! End-to-end: answers that must match upstream kube-apiserver v1.36, seen
//! through the real `kubectl` and `curl`.

mod common;

use std::process::Command;

use common::Server;
use serde_json::Value;

#[test]
fn delete_namespace_all_spares_the_immortal_namespaces() {
    let s = Server::bare();
    s.ok(&["create", "namespace", "fidelity-a"]);
    let out = s.kubectl(&["delete", "namespace", "--all", "--wait=false"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for ns in ["default", "kube-system", "kube-public"] {
        assert!(
            stderr.contains(&format!(
                "namespaces \"{ns}\" is forbidden: this namespace may not be deleted"
            )),
            "{stderr}"
        );
        assert_eq!(
            s.jsonpath(&["get", "namespace", ns], "{.status.phase}"),
            "Active"
        );
    }
    // The others go (kube-node-lease too, as upstream).
    assert_eq!(
        s.jsonpath(&["get", "namespace", "fidelity-a"], "{.status.phase}"),
        "Terminating"
    );
}

#[test]
fn kubectl_replace_of_a_pod_manifest_and_of_its_yaml() {
    let s = Server::bare();
    let manifest = "apiVersion: v1
kind: Pod
metadata:
  name: rp
  labels: {a: b}
spec:
  containers:
  - name: c
    image: nginx
";
    s.ok_stdin(&["create", "-f", "-"], manifest);
    let out = s.ok_stdin(&["replace", "-f", "-"], manifest);
    assert!(out.contains("pod/rp replaced"), "{out}");
    let yaml = s.ok(&["get", "pod", "rp", "-o", "yaml"]);
    let out = s.ok_stdin(&["replace", "-f", "-"], &yaml);
    assert!(out.contains("pod/rp replaced"), "{out}");
    assert_eq!(
        s.jsonpath(
            &["get", "pod", "rp"],
            "{.spec.priority} {.spec.preemptionPolicy}"
        ),
        "0 PreemptLowerPriority"
    );
}

#[test]
fn http2_requests_to_unserved_paths_get_a_404_not_a_reset() {
    let s = Server::bare();
    let body = format!("{{\"a\":\"{}\"}}", "x".repeat(200_000));
    let file = s.dir.join("big.json");
    std::fs::write(&file, body).unwrap();
    for version in ["--http2", "--http1.1"] {
        let out = Command::new("curl")
            .args(["-sS", "-k", "--max-time", "30", version, "-X", "POST"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {}", s.token))
            .args([
                "-H",
                "Content-Type: application/json",
                "-w",
                "\n%{http_code}",
            ])
            .arg("--data-binary")
            .arg(format!("@{}", file.display()))
            .arg(format!(
                "{}/apis/nope.example.com/v1/namespaces/default/things",
                s.url
            ))
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "{version}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert_eq!(code, "404", "{version}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["reason"], "NotFound");
    }
}

#[test]
fn a_node_that_stops_heartbeating_is_marked_unknown() {
    let s = Server::with_args(&[
        "--nodes",
        "0",
        "--node-monitor-grace-period",
        "2s",
        "--node-startup-grace-period",
        "2s",
    ]);
    s.ok_stdin(
        &["create", "-f", "-"],
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: hand-made\n",
    );
    s.wait_until("the node to be marked Unknown", || {
        s.jsonpath(
            &["get", "node", "hand-made"],
            "{.status.conditions[?(@.type==\"Ready\")].status}",
        ) == "Unknown"
    });
    assert_eq!(
        s.jsonpath(
            &["get", "node", "hand-made"],
            "{.status.conditions[?(@.type==\"Ready\")].reason}",
        ),
        "NodeStatusNeverUpdated"
    );
    s.wait_until("the unreachable taint", || {
        s.jsonpath(
            &["get", "node", "hand-made"],
            "{.spec.taints[*].key}/{.spec.taints[*].effect}",
        ) == "node.kubernetes.io/unreachable/NoSchedule"
    });
    // A heartbeat brings it back: Ready, and the taint goes.
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    s.ok(&[
        "patch",
        "node",
        "hand-made",
        "--subresource=status",
        "--type=merge",
        "-p",
        &format!(
            "{{\"status\":{{\"conditions\":[{{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"message\":\"kubelet is posting ready status\",\"lastHeartbeatTime\":\"{now}\",\"lastTransitionTime\":\"{now}\"}}]}}}}"
        ),
    ]);
    s.wait_until("the taint to go", || {
        s.jsonpath(&["get", "node", "hand-made"], "{.spec.taints}")
            .is_empty()
    });
    // ...until that heartbeat is overdue too.
    s.wait_until("NodeStatusUnknown", || {
        s.jsonpath(
            &["get", "node", "hand-made"],
            "{.status.conditions[?(@.type==\"Ready\")].reason}",
        ) == "NodeStatusUnknown"
    });
    assert_eq!(
        s.jsonpath(
            &["get", "node", "hand-made"],
            "{.status.conditions[?(@.type==\"Ready\")].message}",
        ),
        "Kubelet stopped posting node status."
    );
}
