//! `ironkube snapshot save` / `restore` (issue #13): a saved cluster,
//! restored into a new data directory, has every object at the same
//! resourceVersion.

mod common;

use std::process::Command;

use common::Server;

const EVERYTHING: &str = "namespaces,configmaps,secrets,serviceaccounts,deployments,replicasets,pods,nodes,clusterroles,clusterrolebindings";

fn inventory(s: &Server) -> String {
    s.ok(&[
        "get",
        EVERYTHING,
        "-A",
        "-o",
        "jsonpath={range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name}@{.metadata.resourceVersion}{\"\\n\"}{end}",
    ])
}

fn ironkube(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ironkube"))
        .args(args)
        .output()
        .expect("run ironkube");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn a_restored_cluster_has_every_object() {
    let s = Server::with_args(&["--nodes", "2"]);
    s.ok(&["create", "namespace", "team"]);
    s.ok(&[
        "-n",
        "team",
        "create",
        "configmap",
        "settings",
        "--from-literal=a=1",
    ]);
    s.ok(&[
        "-n",
        "team",
        "create",
        "secret",
        "generic",
        "pw",
        "--from-literal=p=x",
    ]);
    s.ok(&[
        "-n",
        "team",
        "create",
        "deployment",
        "web",
        "--image=nginx",
        "--replicas=2",
    ]);
    s.ok(&[
        "-n",
        "team",
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s",
    ]);

    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("cluster.snapshot");
    let file_s = file.to_str().expect("utf-8 path");
    let kubeconfig = s.kubeconfig();
    let (ok, out) = ironkube(&[
        "snapshot",
        "save",
        file_s,
        "--kubeconfig",
        kubeconfig.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "{out}");
    assert!(out.starts_with("Snapshot saved at "), "{out}");
    // What the snapshot must hold (taken after it: a bare server, nothing
    // changes between the two reads but the simulated nodes' heartbeats,
    // which are Leases, not listed here, and node status).
    let before = inventory(&s);
    drop(s);

    let data = tmp.path().join("restored");
    let data_s = data.to_str().expect("utf-8 path");
    let (ok, out) = ironkube(&["snapshot", "restore", file_s, "--data-dir", data_s]);
    assert!(ok, "{out}");
    // Never over an existing store.
    let (ok, out) = ironkube(&["snapshot", "restore", file_s, "--data-dir", data_s]);
    assert!(!ok && out.contains("already holds a store"), "{out}");

    let restored = Server::start_in(&data, &["--disable-controllers"]);
    let after = inventory(&restored);
    let strip_nodes = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| !l.starts_with("Node/"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(strip_nodes(&before), strip_nodes(&after));
    assert_eq!(
        restored.jsonpath(&["-n", "team", "get", "configmap", "settings"], "{.data.a}"),
        "1"
    );
    // Writes go on from the saved revision.
    restored.ok(&["-n", "team", "create", "configmap", "later"]);
}
