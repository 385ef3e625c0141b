//! End-to-end: the controllers inside `ironkube serve`, driven by kubectl.

mod common;

use common::Server;

fn owned_cm(name: &str, owner: &str, uid: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n    name: {owner}\n    uid: {uid}\n    blockOwnerDeletion: true\n"
    )
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn cascading_delete_in_all_three_propagation_modes() {
    let s = Server::start();
    for (mode, dep_survives) in [
        ("background", false),
        ("foreground", false),
        ("orphan", true),
    ] {
        let owner = format!("owner-{mode}");
        let dep = format!("dep-{mode}");
        s.ok(&["create", "configmap", &owner]);
        let uid = s.ok(&["get", "cm", &owner, "-o", "jsonpath={.metadata.uid}"]);
        s.ok_stdin(&["apply", "-f", "-"], &owned_cm(&dep, &owner, &uid));
        s.ok(&["delete", "cm", &owner, &format!("--cascade={mode}")]);
        if dep_survives {
            let refs = s.ok(&[
                "get",
                "cm",
                &dep,
                "-o",
                "jsonpath={.metadata.ownerReferences}",
            ]);
            assert_eq!(refs, "", "orphaned dependents lose the reference");
        } else {
            wait_until(&format!("{dep} to be collected"), || {
                !s.kubectl(&["get", "cm", &dep]).status.success()
            });
        }
    }
    // Dependents of an owner that never existed are removed too.
    s.ok_stdin(
        &["apply", "-f", "-"],
        &owned_cm("stray", "ghost", "00000000-0000-0000-0000-000000000000"),
    );
    wait_until("stray to be collected", || {
        !s.kubectl(&["get", "cm", "stray"]).status.success()
    });
}

#[test]
fn namespaces_get_defaults_and_delete_with_their_content() {
    let s = Server::start();
    s.ok(&["create", "namespace", "team"]);
    wait_until("default service account", || {
        s.kubectl(&["get", "sa", "default", "-n", "team"])
            .status
            .success()
    });
    wait_until("root CA config map", || {
        s.kubectl(&["get", "cm", "kube-root-ca.crt", "-n", "team"])
            .status
            .success()
    });
    let ca = s.ok(&[
        "get",
        "cm",
        "kube-root-ca.crt",
        "-n",
        "team",
        "-o",
        "jsonpath={.data.ca\\.crt}",
    ]);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");
    s.ok(&["create", "configmap", "c1", "-n", "team"]);
    s.ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        "team",
        "--from-literal=a=b",
    ]);
    assert_eq!(
        s.ok(&["delete", "namespace", "team"]).trim(),
        "namespace \"team\" deleted"
    );
    let out = s.kubectl(&["get", "namespace", "team"]);
    assert!(
        !out.status.success(),
        "the namespace is gone once kubectl delete returns"
    );
    assert!(
        s.ok(&["get", "cm,secrets,sa", "-n", "team", "-o", "name"])
            .trim()
            .is_empty()
    );
}

#[test]
fn creating_in_a_terminating_namespace_is_forbidden() {
    let s = Server::start();
    s.ok(&["create", "namespace", "held"]);
    // A finalizer nobody removes keeps the namespace terminating.
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: pin\n  namespace: held\n  finalizers:\n  - example.com/pin\n",
    );
    s.ok(&["delete", "namespace", "held", "--wait=false"]);
    let phase = s.ok(&["get", "namespace", "held", "-o", "jsonpath={.status.phase}"]);
    assert_eq!(phase, "Terminating");
    let out = s.kubectl(&["create", "configmap", "late", "-n", "held"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "unable to create new content in namespace held because it is being terminated"
        ),
        "{err}"
    );
    s.ok(&[
        "patch",
        "cm",
        "pin",
        "-n",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    wait_until("namespace to go", || {
        !s.kubectl(&["get", "namespace", "held"]).status.success()
    });
}
