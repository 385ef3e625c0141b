//! End-to-end: the real `kubectl` and `curl` against a real `ironkube serve`
//! running as a bare API server (`--disable-controllers`).

mod common;

use common::Server;
use serde_json::{Value, json};

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.7.9
        ports:
        - containerPort: 80
";

fn header(out: &str) -> Vec<String> {
    out.lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

fn row<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in:\n{out}"))
        .split_whitespace()
        .collect()
}

#[test]
fn kubectl_discovery_version_and_get() {
    let s = Server::bare();
    let v = s.ok(&["version"]);
    assert!(v.contains("Server Version: v1.33.0"), "{v}");
    let ar = s.ok(&["api-resources"]);
    assert_eq!(
        header(&ar),
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    );
    assert_eq!(
        row(&ar, "deployments"),
        ["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(
        row(&ar, "namespaces"),
        ["namespaces", "ns", "v1", "false", "Namespace"]
    );
    let av = s.ok(&["api-versions"]);
    assert!(av.lines().any(|l| l == "apps/v1"), "{av}");
    assert!(av.lines().any(|l| l == "v1"), "{av}");
    let ns = s.ok(&["get", "ns"]);
    assert_eq!(header(&ns), ["NAME", "STATUS", "AGE"]);
    for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert_eq!(&row(&ns, n)[..2], [n, "Active"]);
    }
    let explain = s.ok(&["explain", "deployment.spec.replicas"]);
    assert!(explain.contains("FIELD: replicas <integer>"), "{explain}");
    assert!(explain.contains("Number of desired pods"), "{explain}");
}

#[test]
fn kubectl_apply_patch_scale_label_delete() {
    let s = Server::bare();
    assert_eq!(
        s.ok_stdin(&["apply", "-f", "-"], DEPLOY).trim(),
        "deployment.apps/nginx-deployment created"
    );
    assert_eq!(
        s.ok_stdin(&["apply", "-f", "-"], DEPLOY).trim(),
        "deployment.apps/nginx-deployment unchanged"
    );
    let changed = DEPLOY.replace("replicas: 3", "replicas: 4");
    assert_eq!(
        s.ok_stdin(&["apply", "-f", "-"], &changed).trim(),
        "deployment.apps/nginx-deployment configured"
    );
    let out = s.ok(&["get", "deploy"]);
    assert_eq!(
        header(&out),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(
        &row(&out, "nginx-deployment")[..4],
        ["nginx-deployment", "0/4", "0", "0"]
    );
    let generation = s.ok(&[
        "get",
        "deploy",
        "nginx-deployment",
        "-o",
        "jsonpath={.metadata.generation}",
    ]);
    assert_eq!(generation, "2");

    assert_eq!(
        s.ok(&["scale", "deploy/nginx-deployment", "--replicas=2"])
            .trim(),
        "deployment.apps/nginx-deployment scaled"
    );
    assert_eq!(
        s.ok(&["label", "deploy/nginx-deployment", "tier=web"])
            .trim(),
        "deployment.apps/nginx-deployment labeled"
    );
    assert_eq!(
        s.ok(&["annotate", "deploy/nginx-deployment", "note=hi"])
            .trim(),
        "deployment.apps/nginx-deployment annotated"
    );
    s.ok(&[
        "patch",
        "deploy/nginx-deployment",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":5}]"#,
    ]);
    s.ok(&[
        "patch",
        "deploy/nginx-deployment",
        "--type=merge",
        "-p",
        r#"{"spec":{"minReadySeconds":1}}"#,
    ]);
    s.ok(&[
        "patch",
        "deploy/nginx-deployment",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.9"}]}}}}"#,
    ]);
    let got: Value =
        serde_json::from_str(&s.ok(&["get", "deploy/nginx-deployment", "-o", "json"])).unwrap();
    assert_eq!(got["spec"]["replicas"], 5);
    assert_eq!(got["spec"]["minReadySeconds"], 1);
    assert_eq!(
        got["metadata"]["labels"],
        json!({"app": "nginx", "tier": "web"})
    );
    assert_eq!(got["metadata"]["annotations"]["note"], "hi");
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.9"
    );
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );

    // edit and replace.
    let edit = s.kubectl_with_editor(
        &["edit", "deploy/nginx-deployment"],
        "sed -i s/nginx:1.9/nginx:1.10/",
    );
    assert!(edit.contains("edited"), "{edit}");
    let yaml = s
        .ok(&["get", "deploy/nginx-deployment", "-o", "yaml"])
        .replace("nginx:1.10", "nginx:1.11");
    assert!(
        s.ok_stdin(&["replace", "-f", "-"], &yaml)
            .contains("replaced")
    );
    assert_eq!(
        s.ok(&[
            "get",
            "deploy/nginx-deployment",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}"
        ]),
        "nginx:1.11"
    );

    let wide = s.ok(&["get", "deploy", "-o", "wide", "--show-labels"]);
    assert_eq!(
        header(&wide),
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
            "LABELS"
        ]
    );
    assert!(
        s.ok_stdin(&["delete", "-f", "-"], DEPLOY)
            .contains("deployment.apps \"nginx-deployment\" deleted")
    );
    let out = s.kubectl(&["get", "deploy"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("No resources found in default namespace.")
    );
}

#[test]
fn kubectl_selectors_chunks_and_delete_all() {
    let s = Server::bare();
    for i in 0..6 {
        let cm = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm{i}\n  labels:\n    idx: \"{i}\"\n    parity: {}\ndata:\n  k: v\n",
            if i % 2 == 0 { "even" } else { "odd" }
        );
        s.ok_stdin(&["apply", "-f", "-"], &cm);
    }
    let names = |out: &str| -> Vec<String> {
        out.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        names(&s.ok(&["get", "cm", "-l", "parity=even"])),
        ["cm0", "cm2", "cm4"]
    );
    assert_eq!(
        names(&s.ok(&["get", "cm", "-l", "idx in (1,5),parity!=even"])),
        ["cm1", "cm5"]
    );
    assert_eq!(
        names(&s.ok(&["get", "cm", "--field-selector", "metadata.name=cm3"])),
        ["cm3"]
    );
    assert_eq!(names(&s.ok(&["get", "cm", "--chunk-size=2"])).len(), 6);
    let bad = s.kubectl(&["get", "cm", "--field-selector", "spec.nope=1"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("\"spec.nope\" is not a known field selector")
    );
    let out = s.ok(&["delete", "cm", "--all"]);
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(names(&s.ok(&["get", "cm", "-A"])).is_empty());
}

#[test]
fn kubectl_watch_prints_changes() {
    let s = Server::bare();
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n",
    );
    let mut watch = std::process::Command::new("timeout")
        .args([
            "6",
            common::KUBECTL,
            "get",
            "cm",
            "--watch",
            "--output-watch-events",
        ])
        .env("KUBECONFIG", s.kubeconfig())
        .env("HOME", s.dir.join("home"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n",
    );
    s.ok(&["delete", "cm", "first"]);
    let out = watch.wait_with_output_bounded();
    let events: Vec<(String, String)> = out
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect();
    assert_eq!(
        events,
        [
            ("ADDED".to_string(), "first".to_string()),
            ("ADDED".to_string(), "second".to_string()),
            ("DELETED".to_string(), "first".to_string())
        ],
        "{out}"
    );
}

trait BoundedOutput {
    fn wait_with_output_bounded(&mut self) -> String;
}

impl BoundedOutput for std::process::Child {
    fn wait_with_output_bounded(&mut self) -> String {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut o) = self.stdout.take() {
            let _ = o.read_to_string(&mut s);
        }
        let _ = self.wait();
        s
    }
}

trait Editor {
    fn kubectl_with_editor(&self, args: &[&str], editor: &str) -> String;
}

impl Editor for Server {
    fn kubectl_with_editor(&self, args: &[&str], editor: &str) -> String {
        let out = std::process::Command::new("timeout")
            .arg("60")
            .arg(common::KUBECTL)
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.join("home"))
            .env("KUBE_EDITOR", editor)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[test]
fn seed_document_with_curl_and_a_bearer_token() {
    let s = Server::bare();
    let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"nginx-pod","labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx:1.7.9","ports":[{"containerPort":80}]}]}}"#;
    let (code, body) = s.curl(
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        Some(pod),
    );
    assert_eq!(code, 201, "{body}");
    let (code, body) = s.curl("GET", "/api/v1/namespaces/default/pods", None, None);
    assert_eq!(code, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["items"][0]["metadata"]["name"], "nginx-pod");
    let (code, _) = s.curl(
        "GET",
        "/api/v1/namespaces/default/pods/nginx-pod",
        None,
        None,
    );
    assert_eq!(code, 200);

    // ReplicaSet and Deployment as YAML bodies, then PUT, PATCH (JSON and YAML) and DELETE.
    for (path, kind) in [("replicasets", "ReplicaSet"), ("deployments", "Deployment")] {
        let name = format!("nginx-{}", kind.to_lowercase());
        let yaml = DEPLOY
            .replace("kind: Deployment", &format!("kind: {kind}"))
            .replace("nginx-deployment", &name);
        let base = format!("/apis/apps/v1/namespaces/default/{path}");
        let (code, body) = s.curl("POST", &base, Some("application/yaml"), Some(&yaml));
        assert_eq!(code, 201, "{body}");
        let (code, body) = s.curl("GET", &format!("{base}/{name}"), None, None);
        assert_eq!(code, 200);
        let obj: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(obj["kind"], kind);
        let put = yaml.replace("replicas: 3", "replicas: 2");
        let (code, body) = s.curl(
            "PUT",
            &format!("{base}/{name}"),
            Some("application/yaml"),
            Some(&put),
        );
        assert_eq!(code, 200, "{body}");
        let (code, body) = s.curl(
            "PATCH",
            &format!("{base}/{name}"),
            Some("application/merge-patch+json"),
            Some(r#"{"spec":{"replicas":4}}"#),
        );
        assert_eq!(code, 200, "{body}");
        let (code, body) = s.curl(
            "PATCH",
            &format!("{base}/{name}"),
            Some("application/strategic-merge-patch+json"),
            Some("spec:\n  template:\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.9\n"),
        );
        assert_eq!(code, 200, "{body}");
        let obj: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(obj["spec"]["replicas"], 4);
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:1.9"
        );
        let (code, body) = s.curl("DELETE", &format!("{base}/{name}"), None, None);
        assert_eq!(code, 200, "{body}");
        let (code, _) = s.curl("GET", &format!("{base}/{name}"), None, None);
        assert_eq!(code, 404);
    }
    let (code, _) = s.curl(
        "DELETE",
        "/api/v1/namespaces/default/pods/nginx-pod",
        None,
        None,
    );
    assert_eq!(code, 200);

    // No token: system:anonymous, 403 with a Status body; a wrong token: 401.
    let out = std::process::Command::new("curl")
        .args(["-sk", "--max-time", "10"])
        .arg(format!("{}/api/v1/namespaces/default/pods", s.url))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], 403);
    assert_eq!(v["reason"], "Forbidden");
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-H",
            "Authorization: Bearer wrong",
        ])
        .arg(format!("{}/api/v1/namespaces/default/pods", s.url))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code"], 401);
    assert_eq!(v["reason"], "Unauthorized");
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let mut s = Server::start_in(tmp.path(), &["--disable-controllers"]);
    let token = s.token.clone();
    for i in 0..20 {
        s.ok_stdin(
            &["apply", "-f", "-"],
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\ndata:\n  i: \"{i}\"\n"
            ),
        );
    }
    s.kill9();
    drop(s);
    let s = Server::start_in(tmp.path(), &["--disable-controllers"]);
    assert_eq!(s.token, token, "the admin token is reused");
    let out = s.ok(&["get", "cm", "-o", "name"]);
    assert_eq!(out.lines().count(), 20, "{out}");
    assert_eq!(
        s.ok(&["get", "cm", "c19", "-o", "jsonpath={.data.i}"]),
        "19"
    );
}

#[test]
fn cli_reports_bad_flags_and_busy_ports() {
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_ironkube"))
        .args(["serve", "--storage", "floppy"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let s = Server::bare();
    let port = s.url.rsplit(':').next().unwrap().to_string();
    let tmp = tempfile::tempdir().unwrap();
    let busy = std::process::Command::new("timeout")
        .args([
            "20",
            env!("CARGO_BIN_EXE_ironkube"),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(busy.status.code(), Some(1));
    let err = String::from_utf8_lossy(&busy.stderr);
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
fn sigterm_ends_watches_and_exits_cleanly() {
    let mut s = Server::bare();
    let mut watch = std::process::Command::new("curl")
        .args(["-sk", "--max-time", "60", "-H"])
        .arg(format!("Authorization: Bearer {}", s.token))
        .arg(format!(
            "{}/api/v1/namespaces/default/configmaps?watch=1",
            s.url
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let pid = s.child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not exit after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let curl = watch.wait().unwrap();
    assert!(curl.success(), "the watch ended cleanly: {curl:?}");
}

#[test]
fn token_auth_file_users_authenticate() {
    let tmp = tempfile::tempdir().unwrap();
    let tokens = tmp.path().join("tokens.csv");
    std::fs::write(&tokens, "alice-token,alice,1001,\"dev,ops\"\n").unwrap();
    let data = tmp.path().join("data");
    let s = Server::start_in(&data, &["--token-auth-file", tokens.to_str().unwrap()]);
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Authorization: Bearer alice-token",
        ])
        // Discovery: every authenticated user may read it (system:discovery).
        .arg(format!("{}/apis", s.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Authorization: Bearer wrong",
        ])
        .arg(format!("{}/api/v1/namespaces", s.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "401");
}

#[test]
fn kubectl_create_sends_protobuf_and_it_works() {
    let s = Server::bare();
    assert_eq!(
        s.ok(&["create", "namespace", "team"]).trim(),
        "namespace/team created"
    );
    assert_eq!(
        s.ok(&[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=a=b",
            "-n",
            "team"
        ])
        .trim(),
        "secret/s1 created"
    );
    assert_eq!(
        s.ok(&[
            "create",
            "configmap",
            "c1",
            "--from-literal=x=y",
            "-n",
            "team"
        ])
        .trim(),
        "configmap/c1 created"
    );
    assert_eq!(
        s.ok(&["create", "serviceaccount", "robot", "-n", "team"])
            .trim(),
        "serviceaccount/robot created"
    );
    assert_eq!(
        s.ok(&[
            "create",
            "deployment",
            "web",
            "--image=nginx:1.25",
            "--replicas=2",
            "-n",
            "team"
        ])
        .trim(),
        "deployment.apps/web created"
    );
    let secret: Value =
        serde_json::from_str(&s.ok(&["get", "secret", "s1", "-n", "team", "-o", "json"])).unwrap();
    assert_eq!(secret["data"]["a"], "Yg==");
    assert_eq!(secret["type"], "Opaque");
    let d: Value =
        serde_json::from_str(&s.ok(&["get", "deploy", "web", "-n", "team", "-o", "json"])).unwrap();
    assert_eq!(d["spec"]["replicas"], 2);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
    let out = s.ok(&["get", "secrets,cm,sa", "-n", "team"]);
    assert!(
        out.contains("secret/s1")
            && out.contains("configmap/c1")
            && out.contains("serviceaccount/robot"),
        "{out}"
    );
}

#[test]
fn kubectl_server_side_apply_conflicts_force_and_diff() {
    let s = Server::bare();
    assert_eq!(
        s.ok_stdin(&["apply", "--server-side", "-f", "-"], DEPLOY)
            .trim(),
        "deployment.apps/nginx-deployment serverside-applied"
    );
    assert_eq!(
        s.ok_stdin(&["apply", "--server-side", "-f", "-"], DEPLOY)
            .trim(),
        "deployment.apps/nginx-deployment serverside-applied"
    );
    let six = DEPLOY.replace("replicas: 3", "replicas: 6");
    let out = s.kubectl_stdin(
        &["apply", "--server-side", "--field-manager=other", "-f", "-"],
        Some(&six),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"),
        "{err}"
    );
    s.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &six,
    );
    assert_eq!(
        s.ok(&[
            "get",
            "deploy",
            "nginx-deployment",
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "6"
    );
    let managers = s.ok(&[
        "get",
        "deploy",
        "nginx-deployment",
        "--show-managed-fields",
        "-o",
        "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}",
    ]);
    assert!(
        managers.contains("kubectl/Apply") && managers.contains("other/Apply"),
        "{managers}"
    );
    // kubectl diff shows what a server-side dry run would change (exit 1: differences).
    let diff = s.kubectl_stdin(&["diff", "-f", "-"], Some(DEPLOY));
    assert_eq!(
        diff.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(String::from_utf8_lossy(&diff.stdout).contains("-  replicas: 6"));
}

#[test]
fn kubectl_migrates_from_client_side_to_server_side_apply() {
    let s = Server::bare();
    s.ok_stdin(&["apply", "-f", "-"], DEPLOY);
    let managers = |s: &Server| {
        s.ok(&[
            "get",
            "deploy",
            "nginx-deployment",
            "--show-managed-fields",
            "-o",
            "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation} {end}",
        ])
    };
    assert_eq!(managers(&s).trim(), "kubectl-client-side-apply/Update");
    s.ok_stdin(&["apply", "--server-side", "-f", "-"], DEPLOY);
    let after = managers(&s);
    assert!(
        after.contains("kubectl/Apply") && !after.contains("kubectl-client-side-apply"),
        "{after}"
    );
    // Fields the applier no longer sets are removed: it owns them now.
    let without_ports: String = DEPLOY
        .lines()
        .filter(|l| !l.contains("ports:") && !l.contains("containerPort"))
        .map(|l| format!("{l}\n"))
        .collect();
    s.ok_stdin(&["apply", "--server-side", "-f", "-"], &without_ports);
    let ports = s.ok(&[
        "get",
        "deploy",
        "nginx-deployment",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].ports}",
    ]);
    assert_eq!(ports, "");
}

/// A `kind: List` is not in OpenAPI v3, so kubectl validates it with the v2
/// document, fetched as protobuf. The server answered that request 406 and
/// kubectl failed with "the server was unable to respond with a content type
/// that the client supports"; now every line is upstream's (kubectl 1.32
/// against kube-apiserver 1.36).
#[test]
fn kubectl_validates_a_list_with_the_v2_protobuf_document() {
    let s = Server::start();
    const LIST: &str = "apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: cm1
  data:
    a: \"1\"
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: dep1
  spec:
    replicas: 1
    selector:
      matchLabels: {app: dep1}
    template:
      metadata:
        labels: {app: dep1}
      spec:
        containers:
        - name: c
          image: nginx
";
    let out = s.ok_stdin(&["apply", "-f", "-"], LIST);
    assert_eq!(out, "configmap/cm1 created\ndeployment.apps/dep1 created\n");
    let out = s.ok_stdin(
        &[
            "create",
            "--validate=strict",
            "-n",
            "kube-public",
            "-f",
            "-",
        ],
        LIST,
    );
    assert_eq!(out, "configmap/cm1 created\ndeployment.apps/dep1 created\n");

    let misspelled = LIST
        .replace("  data:", "  dataa:")
        .replace("replicas: 1", "replicass: 1")
        .replace("image: nginx", "image: nginx\n          imagee: x");
    for args in [
        &["apply", "-f", "-"][..],
        &["create", "--validate=true", "-f", "-"][..],
        &["create", "--validate=strict", "-f", "-"][..],
    ] {
        let out = s.kubectl_stdin(args, Some(&misspelled));
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "error: error validating \"STDIN\": error validating data: [\
             ValidationError(ConfigMap): unknown field \"dataa\" in io.k8s.api.core.v1.ConfigMap, \
             ValidationError(Deployment.spec): unknown field \"replicass\" in io.k8s.api.apps.v1.DeploymentSpec, \
             ValidationError(Deployment.spec.template.spec.containers[0]): unknown field \"imagee\" in io.k8s.api.core.v1.Container]; \
             if you choose to ignore these errors, turn validation off with --validate=false\n",
            "{args:?}"
        );
    }

    // A kind the server does not serve, alone and in a List.
    let foo = "apiVersion: example.com/v1\nkind: Foo\nmetadata:\n  name: foo1\n";
    let out = s.kubectl_stdin(&["apply", "-f", "-"], Some(foo));
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: resource mapping not found for name: \"foo1\" namespace: \"\" from \"STDIN\": \
         no matches for kind \"Foo\" in version \"example.com/v1\"\nensure CRDs are installed first\n"
    );
    let foo_list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}",
        foo.replace('\n', "\n  ")
    );
    let out = s.kubectl_stdin(&["create", "--validate=strict", "-f", "-"], Some(&foo_list));
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "unable to recognize no matches for kind \"Foo\" in version \"example.com/v1\"\n"
    );
}
