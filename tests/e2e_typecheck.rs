//! End-to-end: what kubectl sees of the schema type check, against a real
//! `ironkube serve` (no controllers).

mod common;

use common::Server;

const POD_YAML: &str = "apiVersion: v1
kind: Pod
metadata:
  name: valid-pod
  labels:
    name: valid-pod
spec:
  containers:
  - name: kubernetes-serve-hostname
    image: registry.k8s.io/serve_hostname
";

#[test]
fn kubectl_sees_upstreams_decode_errors() {
    let s = Server::with_args(&["--disable-controllers"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let pod = dir.path().join("valid-pod.yaml");
    std::fs::write(&pod, POD_YAML).expect("write");
    let pod = pod.to_string_lossy().into_owned();

    // test/cmd/create.sh: posting a pod to namespaces fails.
    let out = s.kubectl(&["create", "--raw", "/api/v1/namespaces", "-f", &pod]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the object provided is unrecognized (must be of type Namespace)"),
        "{err}"
    );

    // A mistyped field is refused, and nothing is stored.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typed\ndata:\n  a: 1\n";
    let out = s.kubectl_stdin(&["create", "-f", "-", "--validate=false"], Some(cm));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"
        ),
        "{err}"
    );
    assert!(!s.kubectl(&["get", "configmap", "typed"]).status.success());

    // A patch that would store a mistyped object is refused.
    s.ok(&["create", "configmap", "typed", "--from-literal=a=b"]);
    let out = s.kubectl(&[
        "patch",
        "configmap",
        "typed",
        "--type=merge",
        "-p",
        r#"{"data":[1]}"#,
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("of type map[string]string"), "{err}");
    let out = s.kubectl(&[
        "patch",
        "configmap",
        "typed",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/kind","value":"Secret"}]"#,
    ]);
    assert!(!out.status.success());
    assert_eq!(
        s.jsonpath(&["get", "configmap", "typed"], "{.kind}/{.data.a}"),
        "ConfigMap/b"
    );

    // A body without kind and apiVersion (as the Python client's models send) is created.
    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        Some(r#"{"metadata":{"name":"nokind"},"data":{"a":"b"}}"#),
    );
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        s.jsonpath(&["get", "configmap", "nokind"], "{.kind}"),
        "ConfigMap"
    );
}
