//! End-to-end: ReplicaSets, Deployments, the scheduler and simulated nodes,
//! driven by kubectl as the seed document describes.

mod common;

use common::Server;

const FAST: &[&str] = &["--pod-ready-delay", "200ms", "--pod-delete-delay", "200ms"];

const RS: &str = "apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: nginx-replicaset
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

fn deployment(name: &str, replicas: u32, strategy: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  strategy:
    type: {strategy}
  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: web
        image: nginx:1.7.9
"
    )
}

fn running(s: &Server, selector: &str) -> usize {
    s.jsonpath(
        &["get", "pods", "-l", selector],
        "{range .items[*]}{.status.phase}{\"\\n\"}{end}",
    )
    .lines()
    .filter(|l| *l == "Running")
    .count()
}

fn pod_names(s: &Server, selector: &str) -> Vec<String> {
    s.jsonpath(
        &["get", "pods", "-l", selector],
        "{range .items[*]}{.metadata.name}{\"\\n\"}{end}",
    )
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn replicaset_keeps_its_pods_running_and_replaces_lost_ones() {
    let s = Server::with_args(FAST);
    s.ok_stdin(&["apply", "-f", "-"], RS);
    s.wait_until("3 running pods", || running(&s, "app=nginx") == 3);
    let out = s.ok(&["get", "rs", "nginx-replicaset"]);
    let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["nginx-replicaset", "3", "3", "3"], "{out}");
    // Pods carry the controller reference and a generated name.
    let names = pod_names(&s, "app=nginx");
    assert!(names.iter().all(|n| n.starts_with("nginx-replicaset-") && n.len() == "nginx-replicaset-".len() + 5));
    let owner = s.jsonpath(
        &["get", "pod", &names[0]],
        "{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}",
    );
    assert_eq!(owner, "ReplicaSet/true");
    // Pods are spread over the simulated nodes, with IPs.
    let nodes = s.jsonpath(
        &["get", "pods", "-l", "app=nginx"],
        "{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}",
    );
    let mut distinct: Vec<&str> = nodes.lines().collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{nodes}");
    // A deleted pod is replaced.
    s.ok(&["delete", "pod", &names[0]]);
    s.wait_until("a replacement", || {
        let now = pod_names(&s, "app=nginx");
        now.len() == 3 && !now.contains(&names[0]) && running(&s, "app=nginx") == 3
    });
    // A failed pod is not counted and is replaced.
    let victim = pod_names(&s, "app=nginx")[0].clone();
    s.ok(&[
        "patch",
        "pod",
        &victim,
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"phase":"Failed"}}"#,
    ]);
    s.wait_until("3 running besides the failed one", || {
        running(&s, "app=nginx") == 3
    });
    // Scale up and down through /scale.
    s.ok(&["scale", "rs", "nginx-replicaset", "--replicas=5"]);
    s.wait_until("5 running", || running(&s, "app=nginx") == 5);
    s.ok(&["scale", "rs", "nginx-replicaset", "--replicas=2"]);
    s.wait_until("2 running", || running(&s, "app=nginx") == 2);
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=nginx-replicaset",
    ]);
    assert!(
        events.contains("SuccessfulCreate") && events.contains("SuccessfulDelete"),
        "{events}"
    );
    // Deleting the ReplicaSet deletes its pods (background cascade).
    s.ok(&["delete", "rs", "nginx-replicaset"]);
    s.wait_until("pods gone", || {
        pod_names(&s, "app=nginx").iter().all(|n| n == &victim)
    });
}

#[test]
fn deployment_rolls_out_rolls_back_pauses_and_restarts() {
    let s = Server::with_args(FAST);
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("web", 3, "RollingUpdate"),
    );
    let st = s.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    assert!(
        st.contains("deployment \"web\" successfully rolled out"),
        "{st}"
    );
    let out = s.ok(&["get", "deploy", "web"]);
    assert_eq!(
        &out.lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()[..4],
        ["web", "3/3", "3", "3"]
    );
    let rs1 = s.jsonpath(&["get", "rs", "-l", "app=web"], "{.items[0].metadata.name}");
    let hash = s.jsonpath(&["get", "rs", &rs1], "{.metadata.labels.pod-template-hash}");
    assert_eq!(rs1, format!("web-{hash}"));
    assert_eq!(
        s.jsonpath(
            &["get", "deploy", "web"],
            "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
        ),
        "1"
    );
    let conds = s.jsonpath(
        &["get", "deploy", "web"],
        "{range .status.conditions[*]}{.type}={.status}/{.reason};{end}",
    );
    assert!(
        conds.contains("Available=True/MinimumReplicasAvailable"),
        "{conds}"
    );
    assert!(
        conds.contains("Progressing=True/NewReplicaSetAvailable"),
        "{conds}"
    );

    // Image update: a second ReplicaSet takes over.
    s.ok(&["set", "image", "deploy/web", "web=nginx:1.9"]);
    s.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    assert_eq!(s.jsonpath(&["get", "rs", &rs1], "{.spec.replicas}"), "0");
    let hist = s.ok(&["rollout", "history", "deploy/web"]);
    assert!(
        hist.contains("1         <none>") && hist.contains("2         <none>"),
        "{hist}"
    );
    // Undo goes back to the first template (as revision 3).
    s.ok(&["rollout", "undo", "deploy/web"]);
    s.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    assert_eq!(
        s.jsonpath(
            &["get", "deploy", "web"],
            "{.spec.template.spec.containers[0].image}"
        ),
        "nginx:1.7.9"
    );
    assert_eq!(s.jsonpath(&["get", "rs", &rs1], "{.spec.replicas}"), "3");
    assert_eq!(
        s.jsonpath(
            &["get", "rs", &rs1],
            "{.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
        ),
        "3"
    );

    // Paused: template changes do not roll out until resumed.
    s.ok(&["rollout", "pause", "deploy/web"]);
    s.ok(&["set", "image", "deploy/web", "web=nginx:1.10"]);
    std::thread::sleep(std::time::Duration::from_millis(1000));
    assert_eq!(
        s.jsonpath(
            &["get", "rs", "-l", "app=web"],
            "{range .items[*]}{.metadata.name}{\"\\n\"}{end}"
        )
        .lines()
        .count(),
        2
    );
    s.ok(&["rollout", "resume", "deploy/web"]);
    s.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    assert_eq!(
        s.jsonpath(
            &["get", "rs", "-l", "app=web"],
            "{range .items[*]}{.metadata.name}{\"\\n\"}{end}"
        )
        .lines()
        .count(),
        3
    );

    // Restart: a new ReplicaSet with the restartedAt annotation.
    s.ok(&["rollout", "restart", "deploy/web"]);
    s.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    let restarted = s.jsonpath(
        &["get", "deploy", "web"],
        "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
    );
    assert!(!restarted.is_empty());

    // Scale during a rollout ends with the new size, all on the new template.
    s.ok(&["set", "image", "deploy/web", "web=nginx:1.11"]);
    s.ok(&["scale", "deploy/web", "--replicas=6"]);
    s.ok(&["rollout", "status", "deploy/web", "--timeout=120s"]);
    s.wait_until("6 running pods of the new image", || {
        s.jsonpath(
            &["get", "pods", "-l", "app=web"],
            "{range .items[*]}{.status.phase}/{.spec.containers[0].image}{\"\\n\"}{end}",
        )
        .lines()
        .filter(|l| *l == "Running/nginx:1.11")
        .count()
            == 6
            && running(&s, "app=web") == 6
    });
    let events = s.ok(&["describe", "deploy", "web"]);
    assert!(events.contains("ScalingReplicaSet"), "{events}");
    // Deleting the deployment removes its ReplicaSets and pods.
    s.ok(&["delete", "deploy", "web"]);
    s.wait_until("everything gone", || {
        s.ok(&["get", "rs,pods", "-l", "app=web", "-o", "name"])
            .trim()
            .is_empty()
    });
}

#[test]
fn recreate_strategy_replaces_all_pods_at_once() {
    let s = Server::with_args(FAST);
    s.ok_stdin(&["apply", "-f", "-"], &deployment("batch", 2, "Recreate"));
    s.ok(&["rollout", "status", "deploy/batch", "--timeout=120s"]);
    s.ok(&["set", "image", "deploy/batch", "web=nginx:2"]);
    s.ok(&["rollout", "status", "deploy/batch", "--timeout=120s"]);
    let images = s.jsonpath(
        &["get", "pods", "-l", "app=batch"],
        "{range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}",
    );
    assert_eq!(
        images.lines().filter(|l| *l == "nginx:2").count(),
        2,
        "{images}"
    );
    let events = s.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=batch",
    ]);
    assert!(
        events.contains("Scaled down replica set") && events.contains("to 0"),
        "{events}"
    );
}

#[test]
fn simulated_crashes_exits_and_unschedulable_pods() {
    let s = Server::with_args(FAST);
    s.ok(&[
        "run",
        "crashy",
        "--image=busybox",
        "--annotations=sim.ironkube.io/crash-after=500ms",
    ]);
    s.ok(&[
        "run",
        "done",
        "--image=busybox",
        "--restart=Never",
        "--annotations=sim.ironkube.io/exit-after=500ms",
    ]);
    s.ok(&[
        "run",
        "big",
        "--image=busybox",
        "--overrides",
        r#"{"spec":{"nodeSelector":{"disk":"ssd"}}}"#,
    ]);
    s.wait_until("crash loop", || {
        s.ok(&["get", "pod", "crashy"]).contains("CrashLoopBackOff")
    });
    s.wait_until("completion", || {
        s.jsonpath(&["get", "pod", "done"], "{.status.phase}") == "Succeeded"
    });
    assert!(s.ok(&["get", "pod", "done"]).contains("Completed"));
    s.wait_until("unschedulable condition", || {
        s.jsonpath(
            &["get", "pod", "big"],
            "{.status.conditions[?(@.type==\"PodScheduled\")].reason}",
        ) == "Unschedulable"
    });
    let msg = s.jsonpath(
        &["get", "pod", "big"],
        "{.status.conditions[?(@.type==\"PodScheduled\")].message}",
    );
    assert!(
        msg.starts_with(
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
        ),
        "{msg}"
    );
}

#[test]
fn a_node_marked_not_ready_has_its_pods_replaced_elsewhere() {
    let s = Server::with_args(FAST);
    let d = deployment("spread", 3, "RollingUpdate").replace(
        "      containers:",
        "      tolerations:\n      - key: node.kubernetes.io/unreachable\n        operator: Exists\n        effect: NoExecute\n        tolerationSeconds: 1\n      containers:",
    );
    s.ok_stdin(&["apply", "-f", "-"], &d);
    s.ok(&["rollout", "status", "deploy/spread", "--timeout=120s"]);
    s.ok(&[
        "annotate",
        "node",
        "node-0",
        "sim.ironkube.io/not-ready=true",
    ]);
    s.wait_until("node NotReady", || {
        s.ok(&["get", "node", "node-0"]).contains("NotReady")
    });
    s.wait_until("3 running pods off node-0", || {
        let rows = s.jsonpath(&["get", "pods", "-l", "app=spread"], "{range .items[*]}{.status.phase}/{.spec.nodeName}/{.metadata.deletionTimestamp}{\"\\n\"}{end}");
        rows.lines().filter(|l| l.starts_with("Running/") && !l.contains("/node-0/") && l.ends_with('/')).count() == 3
    });
}

#[test]
fn service_account_tokens_authenticate() {
    let s = Server::with_args(FAST);
    let who = s.ok(&["auth", "whoami"]);
    assert!(who.contains("ironkube-admin"), "{who}");
    s.ok(&["create", "serviceaccount", "robot"]);
    // Reading pods takes a binding (RBAC); `view` grants it.
    s.ok(&[
        "create",
        "rolebinding",
        "robot-view",
        "--clusterrole=view",
        "--serviceaccount=default:robot",
    ]);
    let token = s.ok(&["create", "token", "robot"]).trim().to_string();
    let curl = |t: &str| {
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
            ])
            .arg(format!("Authorization: Bearer {t}"))
            .arg(format!("{}/api/v1/namespaces/default/pods", s.url))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl(&token), "200");
    let whoami = s.ok(&["--token", &token, "auth", "whoami"]);
    assert!(
        whoami.contains("system:serviceaccount:default:robot"),
        "{whoami}"
    );
    s.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: robot-token\n  annotations:\n    kubernetes.io/service-account.name: robot\ntype: kubernetes.io/service-account-token\n",
    );
    s.wait_until("token filled in", || {
        !s.jsonpath(&["get", "secret", "robot-token"], "{.data.token}")
            .is_empty()
    });
    let out = s.ok(&["get", "secrets"]);
    assert!(
        out.contains("robot-token") && out.contains("kubernetes.io/service-account-token"),
        "{out}"
    );
    let b64 = s.jsonpath(&["get", "secret", "robot-token"], "{.data.token}");
    use base64::Engine;
    let legacy = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(curl(&legacy), "200");
    assert_eq!(curl("not-a-token"), "401");
    // Deleting the account revokes both.
    s.ok(&["delete", "serviceaccount", "robot"]);
    s.wait_until("token secret deleted", || {
        !s.kubectl(&["get", "secret", "robot-token"])
            .status
            .success()
    });
    assert_eq!(curl(&legacy), "401");
    assert_eq!(curl(&token), "401");
}

#[test]
fn a_replication_controller_keeps_its_pods_and_scales() {
    let s = Server::with_args(FAST);
    let rc = "apiVersion: v1
kind: ReplicationController
metadata:
  name: legacy
spec:
  replicas: 3
  template:
    metadata:
      labels:
        app: legacy
    spec:
      containers:
      - name: web
        image: nginx:1.7.9
";
    s.ok_stdin(&["apply", "-f", "-"], rc);
    s.wait_until("3 running pods", || running(&s, "app=legacy") == 3);
    // Owned by the RC, as upstream's replication manager writes it.
    assert_eq!(
        s.jsonpath(
            &["get", "pods", "-l", "app=legacy"],
            "{.items[0].metadata.ownerReferences[0].apiVersion}/{.items[0].metadata.ownerReferences[0].kind}"
        ),
        "v1/ReplicationController"
    );
    s.wait_until("status counts 3 ready", || {
        s.jsonpath(&["get", "rc", "legacy"], "{.status.readyReplicas}") == "3"
    });
    s.ok(&["scale", "rc", "legacy", "--replicas=1"]);
    s.wait_until("1 running pod", || running(&s, "app=legacy") == 1);
    let table = s.ok(&["get", "rc", "legacy"]);
    assert!(
        table.starts_with("NAME     DESIRED   CURRENT   READY   AGE"),
        "{table}"
    );
    // A deleted pod is replaced.
    let name = pod_names(&s, "app=legacy").pop().unwrap_or_default();
    s.ok(&["delete", "pod", &name, "--wait=false"]);
    s.wait_until("a replacement", || {
        let names = pod_names(&s, "app=legacy");
        names.len() == 1 && !names.contains(&name) && running(&s, "app=legacy") == 1
    });
}
